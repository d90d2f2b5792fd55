/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "rescue.h"

void reap_children(void)
{
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

int rescue_shell(const char *shell)
{
	pid_t pid;

	if (access(shell, X_OK) < 0)
		return -ENOENT;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		static char arg0[] = "sh", path[] = "PATH=/sbin:/bin:/usr/sbin:/usr/bin",
			    ps1[] = "PS1=(dim rescue) \\w # ", term[] = "TERM=linux", home[] = "HOME=/";
		char *const argv[] = { arg0, NULL };
		char *const envp[] = { path, ps1, term, home, NULL };
		int fd;

		/* A session and the console as its controlling tty, so ^C works. */
		setsid();
		fd = open("/dev/console", O_RDWR);
		if (fd >= 0) {
			ioctl(fd, TIOCSCTTY, 1);
			dup2(fd, 0);
			dup2(fd, 1);
			dup2(fd, 2);
			if (fd > 2)
				close(fd);
		}
		execve(shell, argv, envp);
		_exit(127);
	}
	for (;;) {
		pid_t r = waitpid(-1, NULL, 0);

		if (r == pid || (r < 0 && errno != EINTR))
			break;
	}
	return 0;
}
