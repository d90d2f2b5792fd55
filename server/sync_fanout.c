/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fsutil.h"
#include "sync_fanout.h"

static double since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t0->tv_sec) + (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

static void child(struct fan_job *j, int out, pid_t parent)
{
	char msg[512];
	int fd, n;

	/* die with dim; and if dim is gone already, do not start */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent)
		_exit(127);
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || dup2(fd, STDIN_FILENO) < 0 || dup2(out, STDOUT_FILENO) < 0 ||
	    dup2(out, STDERR_FILENO) < 0)
		_exit(127);
	signal(SIGPIPE, SIG_DFL);
	{
		union {
			const char *const *c;
			char *const *v;
		} a = { .c = j->argv };

		execvp(j->argv[0], a.v);
	}
	n = snprintf(msg, sizeof(msg), "%s: cannot run: %s\n", j->argv[0], strerror(errno));
	if (n > 0 && write(STDOUT_FILENO, msg, (size_t)n) < 0)
		_exit(127);
	_exit(127);
}

static int start(struct fan_job *j)
{
	int p[2];
	pid_t pid, self = getpid();

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	j->log_fd = -1;
	if (j->out_path)
		j->log_fd = open(j->out_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	clock_gettime(CLOCK_MONOTONIC, &j->t0);
	pid = fork();
	if (pid < 0) {
		int rc = -errno;

		close(p[0]);
		close(p[1]);
		if (j->log_fd >= 0)
			close(j->log_fd);
		return rc;
	}
	if (pid == 0)
		child(j, p[1], self);
	close(p[1]);
	j->pid = pid;
	j->fd = p[0];
	j->started = 1;
	return 0;
}

static void keep_tail(struct fan_job *j, const char *buf, size_t n)
{
	if (n >= sizeof(j->out) - 1) {
		buf += n - (sizeof(j->out) - 1);
		n = sizeof(j->out) - 1;
	}
	if (j->out_len + n > sizeof(j->out) - 1) {
		size_t drop = j->out_len + n - (sizeof(j->out) - 1);

		memmove(j->out, j->out + drop, j->out_len - drop);
		j->out_len -= drop;
	}
	memcpy(j->out + j->out_len, buf, n);
	j->out_len += n;
	j->out[j->out_len] = '\0';
}

static void finish(struct fan_job *j)
{
	int st;

	close(j->fd);
	j->fd = -1;
	if (j->log_fd >= 0)
		close(j->log_fd);
	j->log_fd = -1;
	while (waitpid(j->pid, &st, 0) < 0 && errno == EINTR)
		;
	j->status = WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
	j->seconds = since(&j->t0);
	j->pid = 0;
}

int fanout_run(struct fan_job *jobs, size_t n, unsigned parallel, unsigned timeout_s,
	       fan_progress_fn progress, void *arg, struct dim_err *e)
{
	struct fan_counts c = { .total = n };
	struct pollfd *pfd;
	size_t *idx, next = 0, i;
	struct timespec last;
	int rc = 0;

	if (!parallel)
		parallel = 1;
	pfd = calloc(parallel, sizeof(*pfd));
	idx = calloc(parallel, sizeof(*idx));
	if (!pfd || !idx) {
		free(pfd);
		free(idx);
		return dim_err_set(e, -ENOMEM, "out of memory");
	}
	for (i = 0; i < n; i++) {
		jobs[i].status = -1;
		jobs[i].started = 0;
		jobs[i].out_len = 0;
		jobs[i].out[0] = '\0';
		jobs[i].fd = -1;
		jobs[i].pid = 0;
	}
	clock_gettime(CLOCK_MONOTONIC, &last);
	while (c.done < n) {
		size_t np = 0;

		while (!rc && next < n && c.running < parallel) {
			int r = start(&jobs[next]);

			if (r < 0) {
				rc = dim_err_set(e, r, "cannot start %s: %s", jobs[next].argv[0],
						 strerror(-r));
				break;
			}
			next++;
			c.running++;
		}
		if (rc) {
			/* count the jobs never started as done and failed */
			c.done += n - next;
			c.failed += n - next;
			next = n;
		}
		for (i = 0; i < next; i++)
			if (jobs[i].fd >= 0) {
				pfd[np].fd = jobs[i].fd;
				pfd[np].events = POLLIN;
				idx[np++] = i;
			}
		if (!np)
			break;
		if (poll(pfd, np, 500) < 0 && errno != EINTR) {
			rc = dim_err_set(e, -errno, "poll: %s", strerror(errno));
			continue;
		}
		for (i = 0; i < np; i++) {
			struct fan_job *j = &jobs[idx[i]];
			char buf[8192];
			ssize_t r;

			if (!pfd[i].revents)
				goto check_time;
			r = read(j->fd, buf, sizeof(buf));
			if (r < 0 && errno == EINTR)
				continue;
			if (r > 0) {
				keep_tail(j, buf, (size_t)r);
				if (j->log_fd >= 0 && write_full(j->log_fd, buf, (size_t)r) < 0) {
					close(j->log_fd);
					j->log_fd = -1;
				}
				goto check_time;
			}
			finish(j);
			c.running--;
			c.done++;
			if (j->status != 0)
				c.failed++;
			if (progress)
				progress(&c, j, arg);
			continue;
check_time:
			if (timeout_s && since(&j->t0) > timeout_s) {
				/* TERM, and KILL if it is still there 5 s later */
				kill(j->pid, since(&j->t0) > timeout_s + 5 ? SIGKILL : SIGTERM);
			}
		}
		if (progress && since(&last) >= 0.5) {
			clock_gettime(CLOCK_MONOTONIC, &last);
			progress(&c, NULL, arg);
		}
	}
	free(pfd);
	free(idx);
	return rc ? rc : (int)c.failed;
}

/* How much a line of rsync's output says about what failed. */
static int reason_score(const char *line, size_t len)
{
	/* the receiving side's own error ("write failed on ...: No space left") says most */
	if (memmem(line, len, "[receiver]", 10) || memmem(line, len, "[generator]", 11))
		return 3;
	/* the summary, and the sender seeing the pipe close, say least */
	if (!strncmp(line, "rsync error:", 12) || memmem(line, len, "connection unexpectedly", 23) ||
	    memmem(line, len, "Broken pipe", 11))
		return 1;
	return 2;
}

void fanout_reason(const struct fan_job *j, char *buf, size_t size)
{
	const char *p = j->out, *best = NULL;
	char *q;
	size_t best_len = 0;
	int best_score = 0;

	if (!size)
		return;

	while (*p) {
		const char *line = p;
		size_t len = strcspn(p, "\n");
		int sc;

		p += len + (p[len] == '\n');
		while (len && (line[len - 1] == '\r' || line[len - 1] == ' '))
			len--;
		if (!len)
			continue;
		sc = reason_score(line, len);
		if (sc >= best_score) {
			best = line;
			best_len = len;
			best_score = sc;
		}
	}
	snprintf(buf, size, "%.*s", best ? (int)best_len : 0, best ? best : "");
	/* another host's words go to the admin's terminal: no control characters */
	for (q = buf; *q; q++)
		if ((unsigned char)*q < 0x20 || *q == 0x7f)
			*q = '?';
}
