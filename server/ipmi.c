/* SPDX-License-Identifier: MIT */
/*
 * IPMI: rack nodes, each with its own BMC (<blades><bmc> in the definition),
 * through ipmitool (IPMI over LAN, lanplus by default) run from an argv array
 * by the runner.  The password goes to ipmitool in its environment
 * (IPMI_PASSWORD with -E, ipmitool(1)), set only in the worker process that
 * runs it: it never appears on a command line (ps shows argv to every user;
 * /proc/PID/environ only to the owner and root).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "power.h"
#include "runner.h"

#define OUT_MAX	8192

int ipmi_argv(const struct power_creds *cr, const char *host, unsigned timeout_ms,
	      unsigned retries, const char *const *cmd, const char **argv, size_t max,
	      char *bufs, size_t bufsize)
{
	size_t n = 0, used = 0;
	int w;

	/*
	 * -N: seconds per try (lan, lanplus), -R: tries; the password from
	 * $IPMI_PASSWORD (-E).  -C 3 (RAKP-HMAC-SHA1, AES-CBC-128: IPMI 2.0's
	 * table 22-20 suite every BMC has) saves asking the BMC for its list.
	 */
	bool plus = !strcmp(cr->interface, "lanplus");
	const char *head[] = { "ipmitool", "-I", cr->interface, "-H", host, "-p", NULL,
			       "-U", cr->user, "-E", "-N", NULL, "-R", NULL,
			       plus ? "-C" : NULL, "3" };

	w = snprintf(bufs, bufsize, "%u", cr->port);
	if (w < 0 || (size_t)w >= bufsize)
		return -ENOSPC;
	head[6] = bufs;
	used = (size_t)w + 1;
	w = snprintf(bufs + used, bufsize - used, "%u", (timeout_ms + 999) / 1000);
	if (w < 0 || (size_t)w >= bufsize - used)
		return -ENOSPC;
	head[11] = bufs + used;
	used += (size_t)w + 1;
	w = snprintf(bufs + used, bufsize - used, "%u", retries + 1);
	if (w < 0 || (size_t)w >= bufsize - used)
		return -ENOSPC;
	head[13] = bufs + used;
	for (size_t i = 0; i < sizeof(head) / sizeof(*head) && head[i]; i++) {
		if (n + 1 >= max)
			return -ENOSPC;
		argv[n++] = head[i];
	}
	for (; *cmd; cmd++) {
		if (n + 1 >= max)
			return -ENOSPC;
		argv[n++] = *cmd;
	}
	argv[n] = NULL;
	return 0;
}

/* Run ipmitool with cmd for the BMC at host; its output (stdout and stderr) into out. */
static int ipmi_run(struct power_worker *w, const char *host, const char *const *cmd,
		    char *out, size_t size, struct dim_err *err)
{
	const char *argv[32];
	char bufs[64];
	struct runner_opts ro = { .null_stdin = 1, .out_fd = -1 };
	ssize_t n;
	size_t len = 0;
	int fd, rc, status = 0;

	rc = ipmi_argv(w->cr, host, w->timeout_ms, w->retries, cmd, argv, 32, bufs, sizeof(bufs));
	if (rc < 0)
		return dim_err_set(err, rc, "ipmitool: arguments too long");
	fd = memfd_create("ipmitool", MFD_CLOEXEC);
	if (fd < 0)
		return dim_err_set(err, -errno, "memfd_create: %s", strerror(errno));
	ro.out_fd = fd;
	rc = runner_run(argv, &ro, &status, err);
	out[0] = '\0';
	if (lseek(fd, 0, SEEK_SET) == 0) {
		while (len + 1 < size && (n = read(fd, out + len, size - 1 - len)) > 0)
			len += (size_t)n;
		out[len] = '\0';
	}
	close(fd);
	if (rc < 0) {
		/* The last line ipmitool said is the reason ("Unable to establish IPMI v2 / RMCP+ session"). */
		char *end = out + len, *line;

		while (end > out && (end[-1] == '\n' || end[-1] == ' '))
			*--end = '\0';
		line = strrchr(out, '\n');
		line = line ? line + 1 : out;
		if (*line)
			dim_err_set(err, rc, "BMC %s: %.200s (ipmitool exit %d)", host, line, status);
		else
			dim_err_prefix(err, "BMC %s", host);
	}
	return rc;
}

/* "Chassis Power is on" */
static int ipmi_power(struct power_worker *w, const char *host, struct dim_err *err)
{
	static const char *const cmd[] = { "chassis", "power", "status", NULL };
	char out[OUT_MAX];
	int rc = ipmi_run(w, host, cmd, out, sizeof(out), err);

	if (rc < 0)
		return rc;
	if (strstr(out, "Chassis Power is on"))
		return POWER_S_ON;
	if (strstr(out, "Chassis Power is off"))
		return POWER_S_OFF;
	return dim_err_set(err, -EIO, "BMC %s: cannot read the power state from ipmitool", host);
}

static int ipmi_chassis_cmd(struct power_worker *w, const char *host, const char *what,
			    struct dim_err *err)
{
	const char *cmd[] = { "chassis", "power", what, NULL };
	char out[OUT_MAX];

	return ipmi_run(w, host, cmd, out, sizeof(out), err);
}

/* Pick "Key : value" lines of ipmitool fru print into text. */
static void fru_fields(const char *out, char *text, size_t size)
{
	static const char *const keys[][2] = {
		{ "Product Manufacturer", "vendor" }, { "Product Name", "product" },
		{ "Product Serial", "serial" }, { "Board Serial", "board-serial" },
	};
	size_t off = 0;

	text[0] = '\0';
	for (size_t i = 0; i < sizeof(keys) / sizeof(*keys); i++) {
		const char *p = strstr(out, keys[i][0]), *colon, *end;

		if (!p || !(colon = strchr(p, ':')))
			continue;
		colon++;
		while (*colon == ' ')
			colon++;
		end = strchr(colon, '\n');
		if (!end)
			end = colon + strlen(colon);
		off += (size_t)snprintf(text + off, size - off, "%s%s %.*s", off ? " " : "",
					keys[i][1], (int)(end - colon > 60 ? 60 : end - colon), colon);
		if (off >= size)
			break;
	}
	if (!text[0])
		snprintf(text, size, "no FRU product data");
}

static int ipmi_node(struct power_worker *w, const struct cl_blade *b, bool *powered_on,
		     struct power_result *r, struct dim_err *err)
{
	const struct power_job *job = w->job;
	char host[INET_ADDRSTRLEN];
	int power, rc;

	inet_ntop(AF_INET, &b->bmc_addr, host, sizeof(host));
	if (job->op == POWER_MACS || job->op == POWER_DISCOVER)
		return dim_err_set(err, -ENOTSUP,
				   "BMC %s: IPMI reports no MAC addresses (dim dhcp mac %s MAC)", host,
				   b->name);
	if (job->op == POWER_INVENTORY || job->op == POWER_LIST) {
		static const char *const cmd[] = { "fru", "print", "0", NULL };
		char out[OUT_MAX];

		rc = ipmi_run(w, host, cmd, out, sizeof(out), err);
		if (rc < 0)
			return rc;
		fru_fields(out, r->text, sizeof(r->text));
		return 0;
	}
	power = ipmi_power(w, host, err);
	if (power < 0)
		return power;
	r->state = power;
	switch (job->op) {
	case POWER_STATE:
		snprintf(r->text, sizeof(r->text), "%s", power_state_name(power));
		return 0;
	case POWER_ON:
		if (power == POWER_S_ON) {
			snprintf(r->text, sizeof(r->text), "on (was on)");
			return 0;
		}
		if (*powered_on && job->opts.stagger_ms)
			power_sleep_ms(job->opts.stagger_ms);
		rc = ipmi_chassis_cmd(w, host, "on", err);
		*powered_on = true;
		break;
	case POWER_OFF:
	case POWER_SOFTOFF:
		if (power == POWER_S_OFF) {
			snprintf(r->text, sizeof(r->text), "off (was off)");
			return 0;
		}
		rc = ipmi_chassis_cmd(w, host, job->op == POWER_OFF ? "off" : "soft", err);
		break;
	case POWER_RESET:
		if (power != POWER_S_ON)
			return dim_err_set(err, -EINVAL, "%s, not reset (dim bctool %s on)",
					   power_state_name(power), b->name);
		rc = ipmi_chassis_cmd(w, host, "reset", err);
		if (rc == 0)
			snprintf(r->text, sizeof(r->text), "reset");
		return rc;
	case POWER_CYCLE:
		rc = ipmi_chassis_cmd(w, host, power == POWER_S_ON ? "cycle" : "on", err);
		break;
	default:
		return dim_err_set(err, -ENOTSUP, "not an IPMI operation");
	}
	if (rc < 0)
		return rc;
	power = ipmi_power(w, host, err);
	if (power < 0)
		return power;
	r->state = power;
	if (job->op == POWER_CYCLE)
		snprintf(r->text, sizeof(r->text), "cycled, now %s", power_state_name(power));
	else if (job->op == POWER_SOFTOFF && power != POWER_S_OFF)
		snprintf(r->text, sizeof(r->text), "soft off sent, now %s (the OS shuts down)",
			 power_state_name(power));
	else
		snprintf(r->text, sizeof(r->text), "%s (was %s)", power_state_name(power),
			 job->op == POWER_ON ? "off" : "on");
	return 0;
}

static void ipmi_chassis(struct power_worker *w)
{
	const struct cl_chassis *ch = w->ch;
	bool powered_on = false;
	unsigned bay;

	/* This worker's environment only: ipmitool -E reads it; never argv. */
	if (setenv("IPMI_PASSWORD", w->cr->password, 1) < 0) {
		for (bay = 1; bay <= ch->n_bays; bay++)
			if (w->want[bay - 1])
				power_fail(w, bay, -ENOMEM, "out of memory");
		return;
	}
	for (bay = 1; bay <= ch->n_bays; bay++) {
		const struct cl_blade *b = &w->c->blades[ch->first_blade + bay - 1];
		struct power_result r = { .bay = bay, .state = POWER_S_UNKNOWN };
		struct dim_err err = { 0 };
		int rc;

		if (!w->want[bay - 1])
			continue;
		if (b->absent) {
			r.empty = true;
			if (w->job->whole_chassis) {
				snprintf(r.text, sizeof(r.text), "empty (<absent> in the definition)");
			} else {
				r.rc = -ENODEV;
				snprintf(r.text, sizeof(r.text), "%s is absent (<absent>)", b->name);
			}
			power_emit(w, &r);
			continue;
		}
		if (!b->has_bmc) {
			power_fail(w, bay, -EINVAL, "%s: no BMC address (<blades><bmc>)", b->name);
			continue;
		}
		rc = ipmi_node(w, b, &powered_on, &r, &err);
		if (rc < 0) {
			r.rc = rc;
			snprintf(r.text, sizeof(r.text), "%.390s", err.msg);
		}
		power_emit(w, &r);
	}
	unsetenv("IPMI_PASSWORD");
}

const struct power_backend power_ipmi = {
	.type = "ipmi",
	.what = "IPMI BMC (ipmitool)",
	.init = NULL,
	.chassis = ipmi_chassis,
};
