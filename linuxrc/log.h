/* SPDX-License-Identifier: MIT */
/*
 * Boot steps and messages.  Every message names the step it is about and
 * carries the time since boot, so a console log reads as a timeline:
 *
 *   dim[   4.213] dhcp: bound 10.77.0.11/24 from 10.77.0.1 (lease 3600 s)
 */
#ifndef DIM_LOG_H
#define DIM_LOG_H

#include <stdarg.h>
#include <stdint.h>

/* The boot steps, in order.  step_name() gives the word used in messages. */
enum step {
	STEP_CONSOLE,	/* console and early mounts */
	STEP_CMDLINE,	/* kernel command line */
	STEP_MODULES,	/* kernel modules */
	STEP_LINK,	/* link up */
	STEP_DHCP,	/* DHCP */
	STEP_NETCONF,	/* network configuration */
	STEP_RO,	/* RO mount */
	STEP_RW,	/* RW mount: NFS directory, then loop image */
	STEP_RWUPDATE,	/* RW update staged by the image server */
	STEP_ROOT,	/* root assembly */
	STEP_SWITCH,	/* switch root */
	STEP_INIT,	/* exec init */
	STEP_RESCUE,	/* rescue shell (not a boot step, but named the same way) */
	STEP_COUNT
};

/* Syslog levels, as /dev/kmsg takes them. */
enum log_level {
	LOG_LVL_ERR = 3,
	LOG_LVL_WARN = 4,
	LOG_LVL_NOTICE = 5,
	LOG_LVL_INFO = 6,
	LOG_LVL_DEBUG = 7,
};

const char *step_name(enum step step);

/*
 * Open the console and /dev/kmsg once devtmpfs is mounted.  Before that, and
 * in host builds (unit tests), messages go to stderr.
 */
void log_open(void);
void log_set_debug(int on);
void log_close(void);

/* Milliseconds since boot on CLOCK_MONOTONIC. */
uint64_t log_now_ms(void);

__attribute__((format(printf, 3, 4)))
void log_msg(enum step step, enum log_level level, const char *fmt, ...);
void log_vmsg(enum step step, enum log_level level, const char *fmt, va_list ap);

#define log_err(step, ...)	log_msg(step, LOG_LVL_ERR, __VA_ARGS__)
#define log_warn(step, ...)	log_msg(step, LOG_LVL_WARN, __VA_ARGS__)
#define log_info(step, ...)	log_msg(step, LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(step, ...)	log_msg(step, LOG_LVL_DEBUG, __VA_ARGS__)

#endif /* DIM_LOG_H */
