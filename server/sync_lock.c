/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"
#include "sync_lock.h"

int sync_lock_take(struct sync_lock *l, const char *path, const char *what, struct dim_err *e)
{
	char holder[256], when[32];
	struct passwd *pw;
	struct tm tm;
	time_t now;
	ssize_t n;
	int fd, len;

	l->fd = -1;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return dim_err_set(e, -errno, "%s: %s", path, strerror(errno));
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int rc = errno == EWOULDBLOCK ? -EBUSY : -errno;

		n = pread(fd, holder, sizeof(holder) - 1, 0);
		close(fd);
		holder[n > 0 ? n : 0] = '\0';
		holder[strcspn(holder, "\n")] = '\0';
		if (rc != -EBUSY)
			return dim_err_set(e, rc, "%s: lock: %s", path, strerror(-rc));
		return dim_err_set(e, -EBUSY, "%s is held by %s; try again when it is done", path,
				   holder[0] ? holder : "another command");
	}
	now = time(NULL);
	localtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	pw = getpwuid(getuid());
	len = snprintf(holder, sizeof(holder), "%s (pid %ld, user %s) since %s\n", what,
		       (long)getpid(), pw ? pw->pw_name : "?", when);
	if (ftruncate(fd, 0) < 0 || pwrite(fd, holder, (size_t)len, 0) != len) {
		int rc = -errno;

		close(fd);
		return dim_err_set(e, rc ? rc : -EIO, "%s: %s", path, strerror(rc ? -rc : EIO));
	}
	l->fd = fd;
	return 0;
}

void sync_lock_release(struct sync_lock *l)
{
	if (l->fd >= 0) {
		/* the file stays: removing it would race with a new holder's open */
		if (ftruncate(l->fd, 0) < 0) {
			/* nothing to do: the lock goes with the descriptor anyway */
		}
		close(l->fd);
	}
	l->fd = -1;
}
