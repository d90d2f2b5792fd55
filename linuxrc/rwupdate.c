/* SPDX-License-Identifier: MIT */
/*
 * Installing a staged RW update (rwupdate.h).  Everything is done relative to
 * directory descriptors opened with O_NOFOLLOW, so a symbolic link in the
 * blade's own tree (etc -> /somewhere) is never followed out of it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "rwupdate.h"

#define TMP_NAME ".dim-new"	/* the temporary name, in the target directory */

struct ctx {
	struct rwupdate_result *res;
	char *why;
	size_t size;
	char path[1200];	/* the relative path being worked on, for messages */
};

static int fail(struct ctx *c, const char *what, int rc)
{
	snprintf(c->why, c->size, "%s %s: %s", what, c->path[0] ? c->path : ".", strerror(-rc));
	return rc;
}

/* Append "/name" to the path in the context; returns the old length to restore. */
static size_t path_push(struct ctx *c, const char *name)
{
	size_t len = strlen(c->path);

	snprintf(c->path + len, sizeof(c->path) - len, "%s%s", len ? "/" : "", name);
	return len;
}

static int open_dir_at(int parent, const char *name)
{
	int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

/* Remove name in dirfd, a directory with everything below it. */
static int remove_at(int parent, const char *name)
{
	struct stat st;
	struct dirent *de;
	DIR *d;
	int fd, rc = 0;

	if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISDIR(st.st_mode))
		return unlinkat(parent, name, 0) < 0 && errno != ENOENT ? -errno : 0;
	fd = open_dir_at(parent, name);
	if (fd < 0)
		return fd;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	while ((de = readdir(d)) && !rc) {
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			rc = remove_at(dirfd(d), de->d_name);
	}
	closedir(d);
	if (!rc && unlinkat(parent, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		rc = -errno;
	return rc;
}

static int copy_data(int in, int out)
{
	char buf[65536];

	for (;;) {
		ssize_t n = read(in, buf, sizeof(buf)), done = 0;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return 0;
		while (done < n) {
			ssize_t w = write(out, buf + done, (size_t)(n - done));

			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				return w < 0 ? -errno : -EIO;
			done += w;
		}
	}
}

/* Create the staged non-directory entry name of src under TMP_NAME in dst. */
static int make_tmp(struct ctx *c, int src, int dst, const char *name, const struct stat *st)
{
	char target[4096];
	ssize_t n;
	int in, out, rc;

	unlinkat(dst, TMP_NAME, 0);
	if (S_ISLNK(st->st_mode)) {
		n = readlinkat(src, name, target, sizeof(target) - 1);
		if (n < 0)
			return fail(c, "read link", -errno);
		target[n] = '\0';
		if (symlinkat(target, dst, TMP_NAME) < 0)
			return fail(c, "create link", -errno);
		return 0;
	}
	if (!S_ISREG(st->st_mode)) {
		if (mknodat(dst, TMP_NAME, st->st_mode, st->st_rdev) < 0)
			return fail(c, "create node", -errno);
		return 0;
	}
	in = openat(src, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (in < 0)
		return fail(c, "read", -errno);
	out = openat(dst, TMP_NAME, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (out < 0) {
		rc = -errno;
		close(in);
		return fail(c, "install", rc);
	}
	rc = copy_data(in, out);
	close(in);
	if (close(out) < 0 && !rc)
		rc = -errno;
	if (rc) {
		unlinkat(dst, TMP_NAME, 0);
		return fail(c, "install", rc);
	}
	return 0;
}

/* Owner, mode and times of name in dst as st says (never through a link). */
static int set_attrs(struct ctx *c, int dst, const char *name, const struct stat *st)
{
	struct timespec times[2] = { st->st_atim, st->st_mtim };

	if (fchownat(dst, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) < 0)
		return fail(c, "chown", -errno);
	/* Linux has no lchmod: links have no mode of their own. */
	if (!S_ISLNK(st->st_mode) && fchmodat(dst, name, st->st_mode & 07777, 0) < 0)
		return fail(c, "chmod", -errno);
	if (utimensat(dst, name, times, AT_SYMLINK_NOFOLLOW) < 0)
		return fail(c, "set times of", -errno);
	return 0;
}

static int install_dir(struct ctx *c, int src, int dst, int top);

static int install_entry(struct ctx *c, int src, int dst, const char *name)
{
	struct stat st, old;
	int have, rc;

	if (fstatat(src, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return fail(c, "stat staged", -errno);
	if (S_ISSOCK(st.st_mode))
		return 0;
	have = fstatat(dst, name, &old, AT_SYMLINK_NOFOLLOW) == 0;
	if (S_ISDIR(st.st_mode)) {
		int s, d;

		if (have && !S_ISDIR(old.st_mode) && unlinkat(dst, name, 0) < 0)
			return fail(c, "replace", -errno);
		if ((!have || !S_ISDIR(old.st_mode)) && mkdirat(dst, name, 0700) < 0)
			return fail(c, "mkdir", -errno);
		s = open_dir_at(src, name);
		if (s < 0)
			return fail(c, "open staged", s);
		d = open_dir_at(dst, name);
		if (d < 0) {
			close(s);
			return fail(c, "open", d);
		}
		rc = install_dir(c, s, d, 0);
		close(s);
		close(d);
		if (rc)
			return rc;
		c->res->dirs++;
		return set_attrs(c, dst, name, &st);
	}
	if (have && S_ISDIR(old.st_mode))
		return fail(c, "install (a directory is in the way of)", -EISDIR);
	rc = make_tmp(c, src, dst, name, &st);
	if (rc)
		return rc;
	rc = set_attrs(c, dst, TMP_NAME, &st);
	if (rc == 0 && renameat(dst, TMP_NAME, dst, name) < 0)
		rc = fail(c, "rename into place", -errno);
	if (rc) {
		unlinkat(dst, TMP_NAME, 0);
		return rc;
	}
	c->res->files++;
	return 0;
}

static int install_dir(struct ctx *c, int src, int dst, int top)
{
	struct dirent *de;
	DIR *d;
	int fd, rc = 0;

	fd = dup(src);
	if (fd < 0 || !(d = fdopendir(fd))) {
		rc = -errno;
		if (fd >= 0)
			close(fd);
		return fail(c, "read staged", rc);
	}
	rewinddir(d);
	while (!rc && (de = readdir(d))) {
		size_t len;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (top && !strcmp(de->d_name, RWUPDATE_REMOVE))
			continue;
		if (!strcmp(de->d_name, TMP_NAME))
			continue;
		len = path_push(c, de->d_name);
		rc = install_entry(c, src, dst, de->d_name);
		if (!rc)
			c->path[len] = '\0';
	}
	closedir(d);
	return rc;
}

int rwupdate_check_path(const char *path)
{
	const char *p = path;

	if (path[0] != '/' || !path[1])
		return -EINVAL;
	while (*p) {
		const char *name = ++p;
		size_t len = strcspn(name, "/");

		if (len == 0 || (len == 1 && name[0] == '.') ||
		    (len == 2 && name[0] == '.' && name[1] == '.'))
			return -EINVAL;
		p = name + len;
	}
	return 0;
}

/* Remove one absolute path inside root, walking it without following links. */
static int remove_path(struct ctx *c, int root, const char *path)
{
	char buf[1024], *name, *slash;
	int dir, rc;

	if (rwupdate_check_path(path) < 0 || strlen(path) >= sizeof(buf))
		return fail(c, "bad path in " RWUPDATE_REMOVE ":", -EINVAL);
	strcpy(buf, path + 1);
	dir = dup(root);
	if (dir < 0)
		return fail(c, "remove", -errno);
	for (name = buf; (slash = strchr(name, '/')); name = slash + 1) {
		int next;

		*slash = '\0';
		next = open_dir_at(dir, name);
		close(dir);
		/* Already gone, or behind a link: nothing of the blade's tree to remove. */
		if (next == -ENOENT || next == -ENOTDIR || next == -ELOOP)
			return 0;
		if (next < 0)
			return fail(c, "remove", next);
		dir = next;
	}
	rc = remove_at(dir, name);
	close(dir);
	if (rc)
		return fail(c, "remove", rc);
	c->res->removed++;
	return 0;
}

static int apply_removals(struct ctx *c, int src, int root)
{
	char line[1100];
	FILE *f;
	int fd, rc = 0;

	fd = openat(src, RWUPDATE_REMOVE, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : fail(c, "read " RWUPDATE_REMOVE " of", -errno);
	f = fdopen(fd, "r");
	if (!f) {
		close(fd);
		return fail(c, "read " RWUPDATE_REMOVE " of", -errno);
	}
	while (!rc && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (!line[0] || line[0] == '#')
			continue;
		snprintf(c->path, sizeof(c->path), "%s", line);
		rc = remove_path(c, root, line);
	}
	fclose(f);
	return rc;
}

/* Apply rwdir/pending.applying to root, then delete it. */
static int apply_claimed(struct ctx *c, int rw, int root)
{
	int src, rc;

	src = open_dir_at(rw, RWUPDATE_APPLYING);
	if (src == -ENOENT)
		return 0;
	if (src < 0)
		return fail(c, "open", src);
	c->path[0] = '\0';
	rc = apply_removals(c, src, root);
	if (!rc) {
		c->path[0] = '\0';
		rc = install_dir(c, src, root, 1);
	}
	close(src);
	if (rc)
		return rc;
	if (syncfs(root) < 0)
		return fail(c, "sync the RW image after", -errno);
	/* Applied: out of the way at once, then deleted (a crash here only costs the delete). */
	remove_at(rw, RWUPDATE_PENDING ".done");
	if (renameat(rw, RWUPDATE_APPLYING, rw, RWUPDATE_PENDING ".done") < 0)
		return fail(c, "retire", -errno);
	remove_at(rw, RWUPDATE_PENDING ".done");
	return 0;
}

int rwupdate_apply(const char *rwdir, const char *root, struct rwupdate_result *res, char *why,
		   size_t size)
{
	struct ctx c = { .res = res, .why = why, .size = size };
	int rw, rootfd, rc;

	memset(res, 0, sizeof(*res));
	rw = open(rwdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rw < 0)
		return fail(&c, "open the RW directory", -errno);
	rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0) {
		rc = -errno;
		close(rw);
		return fail(&c, "open the blade's root", rc);
	}
	/* What a crashed boot left half done, first: it is older than pending. */
	rc = apply_claimed(&c, rw, rootfd);
	if (!rc) {
		if (renameat(rw, RWUPDATE_PENDING, rw, RWUPDATE_APPLYING) == 0)
			rc = apply_claimed(&c, rw, rootfd);
		else if (errno != ENOENT)
			rc = fail(&c, "claim " RWUPDATE_PENDING " in", -errno);
	}
	close(rootfd);
	close(rw);
	return rc;
}
