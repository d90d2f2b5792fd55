/* SPDX-License-Identifier: MIT */
/*
 * Running other programs: from an argv array, never through a shell (no
 * system(), no popen()), with the outcome as -errno plus one message that
 * names the program and how it ended.
 */
#ifndef DIM_RUNNER_H
#define DIM_RUNNER_H

#include "err.h"

struct runner_opts {
	const char *cwd;		/* NULL: the caller's */
	int out_fd;			/* the child's stdout and stderr; -1: the caller's */
	int null_stdin;			/* stdin from /dev/null */
	const char *const *unset_env;	/* names removed from the child's environment */
	unsigned timeout_ms;		/* 0: wait as long as it takes; else TERM, then KILL */
};

/*
 * Run argv[0] (looked up in PATH) with argv and wait for it.  0 when it
 * exited with status 0.  Otherwise -errno with a message in e:
 *   -ENOENT/-EACCES/...  it could not be started ("make: cannot run: ...")
 *   -ECHILD              it exited with a status other than 0 ("make exited with status 2")
 *   -EINTR               a signal ended it ("make was killed by signal 9")
 *   -ETIMEDOUT           it ran past timeout_ms and was stopped ("make did not finish in 5 s")
 * *status (if not NULL) gets the exit status, or 128 + the signal.
 */
int runner_run(const char *const argv[], const struct runner_opts *opts, int *status,
	       struct dim_err *e);

#endif /* DIM_RUNNER_H */
