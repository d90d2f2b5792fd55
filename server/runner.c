/* SPDX-License-Identifier: MIT */
/*
 * fork + execvp with a close-on-exec pipe: the child writes its errno into
 * the pipe only when exec fails, so the parent tells "could not start" from
 * "ran and failed" without guessing from exit status 127.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "runner.h"

/* In the child, between fork and exec: only async-signal-safe calls, and unsetenv. */
static void child(const char *const argv[], const struct runner_opts *o, int errfd)
{
	int err, fd;
	size_t i;

	/* Its own process group when it may have to be stopped: its children go too. */
	if (o->timeout_ms && setpgid(0, 0) < 0)
		goto fail;
	if (o->cwd && chdir(o->cwd) < 0)
		goto fail;
	if (o->null_stdin) {
		fd = open("/dev/null", O_RDONLY);
		if (fd < 0 || dup2(fd, STDIN_FILENO) < 0)
			goto fail;
		if (fd != STDIN_FILENO)
			close(fd);
	}
	if (o->out_fd >= 0) {
		if (dup2(o->out_fd, STDOUT_FILENO) < 0 || dup2(o->out_fd, STDERR_FILENO) < 0)
			goto fail;
	}
	for (i = 0; o->unset_env && o->unset_env[i]; i++)
		unsetenv(o->unset_env[i]);
	signal(SIGPIPE, SIG_DFL);
	/* execvp() promises not to change argv; its prototype predates const. */
	{
		union {
			const char *const *c;
			char *const *v;
		} a = { .c = argv };

		execvp(argv[0], a.v);
	}
fail:
	err = errno;
	if (write(errfd, &err, sizeof(err)) < 0)
		_exit(127);
	_exit(127);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * Wait for pid; past timeout_ms (0: never) send SIGTERM, a second later
 * SIGKILL.  0, or -ETIMEDOUT once it had to be stopped (and was reaped).
 */
static int wait_child(pid_t pid, unsigned timeout_ms, int *wst)
{
	uint64_t deadline = timeout_ms ? now_ms() + timeout_ms : 0;
	int stopped = 0;

	for (;;) {
		pid_t r = waitpid(pid, wst, timeout_ms ? WNOHANG : 0);

		if (r == pid)
			return stopped ? -ETIMEDOUT : 0;
		if (r < 0 && errno != EINTR)
			return -errno;
		if (r == 0 && now_ms() >= deadline) {
			kill(-pid, stopped ? SIGKILL : SIGTERM);
			stopped = 1;
			deadline = now_ms() + 1000;
		}
		if (r == 0) {
			struct timespec ts = { 0, 10 * 1000 * 1000 };

			nanosleep(&ts, NULL);
		}
	}
}

int runner_run(const char *const argv[], const struct runner_opts *opts, int *status,
	       struct dim_err *e)
{
	static const struct runner_opts none = { .out_fd = -1 };
	const struct runner_opts *o = opts ? opts : &none;
	int pipefd[2], err = 0, wst, rc;
	ssize_t n;
	pid_t pid;

	if (status)
		*status = -1;
	if (!argv || !argv[0])
		return dim_err_set(e, -EINVAL, "nothing to run");
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return dim_err_set(e, -errno, "%s: cannot run: pipe: %s", argv[0], strerror(errno));
	pid = fork();
	if (pid < 0) {
		rc = -errno;
		close(pipefd[0]);
		close(pipefd[1]);
		return dim_err_set(e, rc, "%s: cannot run: fork: %s", argv[0], strerror(-rc));
	}
	if (pid == 0) {
		close(pipefd[0]);
		child(argv, o, pipefd[1]);
	}
	close(pipefd[1]);
	do
		n = read(pipefd[0], &err, sizeof(err));
	while (n < 0 && errno == EINTR);
	close(pipefd[0]);
	rc = wait_child(pid, o->timeout_ms, &wst);
	if (rc == -ETIMEDOUT)
		return dim_err_set(e, rc, "%s did not finish in %u.%u s and was stopped", argv[0],
				   o->timeout_ms / 1000, o->timeout_ms % 1000 / 100);
	if (rc < 0)
		return dim_err_set(e, rc, "%s: waitpid: %s", argv[0], strerror(-rc));
	if (n == (ssize_t)sizeof(err) && err) {
		if (o->cwd && err == ENOENT && access(o->cwd, X_OK) < 0)
			return dim_err_set(e, -ENOENT, "%s: cannot run in %s: %s", argv[0], o->cwd,
					   strerror(err));
		return dim_err_set(e, -err, "%s: cannot run: %s", argv[0], strerror(err));
	}
	if (WIFSIGNALED(wst)) {
		if (status)
			*status = 128 + WTERMSIG(wst);
		return dim_err_set(e, -EINTR, "%s was killed by signal %d (%s)", argv[0],
				   WTERMSIG(wst), strsignal(WTERMSIG(wst)));
	}
	if (status)
		*status = WEXITSTATUS(wst);
	if (WEXITSTATUS(wst) != 0)
		return dim_err_set(e, -ECHILD, "%s exited with status %d", argv[0],
				   WEXITSTATUS(wst));
	return 0;
}
