/* SPDX-License-Identifier: MIT */
/*
 * Run many programs (one rsync or ssh per image server, one mke2fs per
 * blade) with at most N at once, each from an argv array, collecting each
 * one's outcome and the end of its output; a progress callback hears of
 * every job that ends.  One failing job never stops the others.  The
 * children die with dim (PR_SET_PDEATHSIG): a killed sync leaves no rsync
 * behind to finish half of it unseen.
 */
#ifndef DIM_SYNC_FANOUT_H
#define DIM_SYNC_FANOUT_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "err.h"

#define FAN_OUT_TAIL 4096

struct fan_job {
	const char *label;		/* what the result line names ("s01") */
	const char *const *argv;
	const char *out_path;		/* also append all output here (NULL: none) */
	/* results */
	int started;
	int status;			/* exit status; 128 + signal; -1 if not started */
	char out[FAN_OUT_TAIL];		/* the last bytes of stdout + stderr */
	size_t out_len;
	double seconds;
	/* private */
	pid_t pid;
	int fd, log_fd;
	struct timespec t0;
};

struct fan_counts {
	size_t total, done, running, failed;
};

/* Called each time a job ends (job) and every half second or so while jobs run (job NULL). */
typedef void (*fan_progress_fn)(const struct fan_counts *c, const struct fan_job *job, void *arg);

/*
 * Run all jobs, at most parallel at once (0: 1).  A job that runs longer
 * than timeout_s (0: no limit) gets SIGTERM, then SIGKILL.  Returns the
 * number of jobs that failed (>= 0), or -errno if the machinery itself
 * failed (then e says why; jobs already started are waited for).
 */
int fanout_run(struct fan_job *jobs, size_t n, unsigned parallel, unsigned timeout_s,
	       fan_progress_fn progress, void *arg, struct dim_err *e);

/* The last non-empty line of a job's output that says what went wrong, or "". */
void fanout_reason(const struct fan_job *j, char *buf, size_t size);

#endif /* DIM_SYNC_FANOUT_H */
