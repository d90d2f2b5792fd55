/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"

int write_full(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void atomic_free(struct atomic_file *f)
{
	free(f->path);
	free(f->tmp);
	f->path = f->tmp = NULL;
	f->fd = -1;
}

int atomic_open(struct atomic_file *f, const char *path, mode_t mode)
{
	f->fd = -1;
	f->path = strdup(path);
	if (!f->path || asprintf(&f->tmp, "%s.tmp-XXXXXX", path) < 0) {
		free(f->path);
		f->path = NULL;
		f->tmp = NULL;
		return -ENOMEM;
	}
	f->fd = mkostemp(f->tmp, O_CLOEXEC);
	if (f->fd < 0) {
		int rc = -errno;

		atomic_free(f);
		return rc;
	}
	if (fchmod(f->fd, mode) < 0) {
		int rc = -errno;

		atomic_abort(f);
		return rc;
	}
	return 0;
}

static int fsync_dir_of(const char *path)
{
	char *copy = strdup(path);
	int fd, rc = 0;

	if (!copy)
		return -ENOMEM;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		rc = -errno;
	else if (fsync(fd) < 0 && errno != EINVAL)
		rc = -errno;
	if (fd >= 0)
		close(fd);
	free(copy);
	return rc;
}

int atomic_commit(struct atomic_file *f)
{
	int rc = 0;

	if (fsync(f->fd) < 0)
		rc = -errno;
	if (close(f->fd) < 0 && !rc)
		rc = -errno;
	f->fd = -1;
	if (!rc && rename(f->tmp, f->path) < 0)
		rc = -errno;
	if (rc) {
		unlink(f->tmp);
		atomic_free(f);
		return rc;
	}
	rc = fsync_dir_of(f->path);
	atomic_free(f);
	return rc;
}

void atomic_abort(struct atomic_file *f)
{
	if (f->fd >= 0)
		close(f->fd);
	if (f->tmp)
		unlink(f->tmp);
	atomic_free(f);
}

int read_file(const char *path, char **data, size_t *len)
{
	struct stat st;
	char *buf;
	size_t done = 0;
	int fd, rc = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	while (done < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + done, (size_t)st.st_size - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			break;
		}
		if (n == 0)
			break;
		done += (size_t)n;
	}
	close(fd);
	if (rc) {
		free(buf);
		return rc;
	}
	buf[done] = '\0';
	*data = buf;
	if (len)
		*len = done;
	return 0;
}

int mkdir_p(const char *path, mode_t mode)
{
	char *copy = strdup(path), *p;
	int rc = 0;

	if (!copy)
		return -ENOMEM;
	for (p = copy + 1; ; p++) {
		if (*p == '/' || *p == '\0') {
			char c = *p;

			*p = '\0';
			if (mkdir(copy, mode) < 0 && errno != EEXIST) {
				rc = -errno;
				break;
			}
			*p = c;
			if (!c)
				break;
		}
	}
	free(copy);
	return rc;
}
