/* SPDX-License-Identifier: MIT */
/*
 * Putting a generated DHCP configuration (dhcp_gen.h) in place on disk:
 * written next to its targets under temporary names, checked by the daemon's
 * own check as the daemon would read it, renamed into place only then; and
 * telling the daemon to reload.
 */
#ifndef DIM_DHCP_APPLY_H
#define DIM_DHCP_APPLY_H

#include <stdbool.h>

#include "dhcp_gen.h"
#include "err.h"

/* Where and how a configuration is written. */
struct dhcp_target {
	const char *dir;	/* the file goes to DIR/<the backend's file>; created if missing */
	const char *main;	/* the daemon's main config that includes it: checked with the
				   new file in its place; NULL: a minimal one */
	bool no_check;		/* write without running the daemon's check */
};

/*
 * A configuration written under a temporary name next to its target and
 * checked; nothing live has changed until dhcp_stage_commit().
 */
struct dhcp_stage;

/*
 * Stage conf into t.  A check the daemon fails is -EINVAL with its complaint
 * in err; the rejected file is kept as TARGET.rejected for a look, and the
 * live file is untouched.  A daemon that is not installed is -ENOENT.
 */
int dhcp_stage(const struct dhcp_conf *conf, const struct dhcp_target *t,
	       struct dhcp_stage **st, struct dim_err *err);
/* Rename the file into place; frees st. */
int dhcp_stage_commit(struct dhcp_stage *st, struct dim_err *err);
void dhcp_stage_abort(struct dhcp_stage *st);
/* After staging: the live path, whether its content changes, whether the check ran. */
const char *dhcp_stage_path(const struct dhcp_stage *st);
bool dhcp_stage_changed(const struct dhcp_stage *st);
bool dhcp_stage_checked(const struct dhcp_stage *st);

/* dir as an absolute path (from the current directory; symbolic links kept). */
int dhcp_abs_dir(const char *dir, char *buf, size_t size);

/*
 * Serialize writers of one directory: an exclusive flock(2) on DIR/.dim-dhcp.lock,
 * waiting up to timeout_ms.  Returns the lock's fd (close it to release) or
 * -errno + err (-EBUSY: another dim holds it).
 */
int dhcp_lock_dir(const char *dir, unsigned timeout_ms, struct dim_err *err);

/* How the daemon learns about the new files. */
enum dhcp_reload_how {
	DHCP_RELOAD_NONE,
	DHCP_RELOAD_ARGV,	/* run a command (systemctl restart isc-dhcp-server) */
	DHCP_RELOAD_PIDFILE,	/* SIGHUP to the pid in a pid file (Kea, dnsmasq) */
	DHCP_RELOAD_SOCKET,	/* Kea's control socket: {"command": "config-reload"} */
};

struct dhcp_reload {
	enum dhcp_reload_how how;
	const char *const *argv;	/* DHCP_RELOAD_ARGV */
	const char *path;		/* the pid file or the socket */
	unsigned timeout_ms;		/* for the control socket's answer */
};

/* Whether backend b can be reloaded that way; -EINVAL + err saying why not. */
int dhcp_reload_supported(const struct dhcp_backend *b, enum dhcp_reload_how how,
			  struct dim_err *err);
/* Tell the daemon.  0, or -errno + err. */
int dhcp_reload(const struct dhcp_backend *b, const struct dhcp_reload *r, struct dim_err *err);

#endif /* DIM_DHCP_APPLY_H */
