/* SPDX-License-Identifier: MIT */
/*
 * Messages to the console and to the kernel log.
 *
 * A line written to /dev/kmsg reaches the console by itself when its level is
 * below the console log level; it is written to the console directly only
 * otherwise, so each message shows once.  /dev/kmsg rate-limits writers
 * (printk.devkmsg=ratelimit, ten lines per five seconds), which would eat the
 * boot timeline: the linuxrc turns that off while it runs (main.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static const char *const step_names[STEP_COUNT] = {
	[STEP_CONSOLE] = "console",
	[STEP_CMDLINE] = "cmdline",
	[STEP_MODULES] = "modules",
	[STEP_LINK] = "link",
	[STEP_DHCP] = "dhcp",
	[STEP_NETCONF] = "netconf",
	[STEP_RO] = "ro-mount",
	[STEP_RW] = "rw-mount",
	[STEP_RWUPDATE] = "rw-update",
	[STEP_ROOT] = "root",
	[STEP_SWITCH] = "switch-root",
	[STEP_INIT] = "init",
	[STEP_RESCUE] = "rescue",
};

static int console_fd = 2;
static int kmsg_fd = -1;
static int console_level = 8;	/* everything, until /proc tells otherwise */
static int debug;

const char *step_name(enum step step)
{
	if ((unsigned)step >= STEP_COUNT)
		return "?";
	return step_names[step];
}

uint64_t log_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int read_console_level(void)
{
	char buf[32], *end;
	int fd, n;
	long level;

	fd = open("/proc/sys/kernel/printk", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 8;
	n = (int)read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 8;
	buf[n] = '\0';
	level = strtol(buf, &end, 10);
	if (end == buf || level < 0 || level > 15)
		return 8;
	return (int)level;
}

void log_open(void)
{
	int fd;

	fd = open("/dev/console", O_WRONLY | O_NOCTTY | O_CLOEXEC);
	if (fd >= 0) {
		if (console_fd > 2)
			close(console_fd);
		console_fd = fd;
	}
	if (kmsg_fd < 0)
		kmsg_fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
	console_level = kmsg_fd >= 0 ? read_console_level() : 8;
}

void log_close(void)
{
	if (kmsg_fd >= 0)
		close(kmsg_fd);
	kmsg_fd = -1;
	if (console_fd > 2)
		close(console_fd);
	console_fd = 2;
}

void log_set_debug(int on)
{
	debug = on;
}

static void write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		buf += n;
		len -= (size_t)n;
	}
}

void log_vmsg(enum step step, enum log_level level, const char *fmt, va_list ap)
{
	char line[1024];
	uint64_t ms = log_now_ms();
	int head, len;

	if (level == LOG_LVL_DEBUG && !debug)
		return;

	/* "<6>" first: /dev/kmsg takes the level from it; the console gets the rest. */
	head = snprintf(line, sizeof(line), "<%d>dim[%5llu.%03llu] %s: ", (int)level,
			(unsigned long long)(ms / 1000), (unsigned long long)(ms % 1000),
			step_name(step));
	len = head + vsnprintf(line + head, sizeof(line) - (size_t)head, fmt, ap);
	if (len > (int)sizeof(line) - 2)
		len = (int)sizeof(line) - 2;
	line[len++] = '\n';
	line[len] = '\0';

	if (kmsg_fd >= 0)
		write_all(kmsg_fd, line, (size_t)len);
	if (kmsg_fd < 0 || (int)level >= console_level) {
		const char *text = strchr(line, '>') + 1;

		write_all(console_fd, text, (size_t)len - (size_t)(text - line));
	}
}

void log_msg(enum step step, enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(step, level, fmt, ap);
	va_end(ap);
}
