/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "kabi.h"
#include "root.h"

static struct mount_op *plan_add(struct mount_plan *p, enum mop_kind kind)
{
	struct mount_op *op;

	if (p->n >= PLAN_MAX)
		return NULL;
	op = &p->op[p->n++];
	memset(op, 0, sizeof(*op));
	op->kind = kind;
	return op;
}

static int fmt(char *buf, size_t size, const char *a, const char *b)
{
	int n = snprintf(buf, size, "%s%s%s", a, b[0] && b[0] != '/' ? "/" : "", b);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int root_plan_bind(struct mount_plan *p, const char *ro, const char *newroot, const char *dirs)
{
	char list[512], *tok, *save = NULL;
	struct mount_op *op;

	if (strlen(dirs) >= sizeof(list))
		return -ENAMETOOLONG;
	strcpy(list, dirs);
	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (!(op = plan_add(p, MOP_MKDIR)) || fmt(op->target, sizeof(op->target), newroot, tok))
			return -ENOSPC;
		if (!(op = plan_add(p, MOP_MOUNT)) || fmt(op->src, sizeof(op->src), ro, tok) ||
		    fmt(op->target, sizeof(op->target), newroot, tok))
			return -ENOSPC;
		op->flags = MS_BIND;
		/*
		 * A bind mount keeps the flags of the mount it was made from
		 * only for the superblock; the new mount itself is writable
		 * until remounted read-only (mount(8), "bind mount operation").
		 */
		if (!(op = plan_add(p, MOP_MOUNT)) ||
		    fmt(op->target, sizeof(op->target), newroot, tok))
			return -ENOSPC;
		op->flags = MS_REMOUNT | MS_BIND | MS_RDONLY;
	}
	return 0;
}

int root_plan_overlay(struct mount_plan *p, const char *ro, const char *image, const char *newroot)
{
	struct mount_op *op;
	int n;

	if (!(op = plan_add(p, MOP_MKDIR)) || fmt(op->target, sizeof(op->target), image, "upper"))
		return -ENOSPC;
	if (!(op = plan_add(p, MOP_MKDIR)) || fmt(op->target, sizeof(op->target), image, "work"))
		return -ENOSPC;
	if (!(op = plan_add(p, MOP_MOUNT)))
		return -ENOSPC;
	snprintf(op->src, sizeof(op->src), "overlay");
	if (fmt(op->target, sizeof(op->target), newroot, ""))
		return -ENAMETOOLONG;
	op->fstype = "overlay";
	/* Documentation/filesystems/overlayfs.rst */
	n = snprintf(op->data, sizeof(op->data), "lowerdir=%s,upperdir=%s/upper,workdir=%s/work",
		     ro, image, image);
	if (n < 0 || (size_t)n >= sizeof(op->data))
		return -ENAMETOOLONG;
	return 0;
}

int root_plan_moves(struct mount_plan *p, const char *newroot)
{
	static const char *const api[] = { "/dev", "/proc", "/sys", "/run" };
	struct mount_op *op;
	size_t i;

	for (i = 0; i < sizeof(api) / sizeof(api[0]); i++) {
		if (!(op = plan_add(p, MOP_MKDIR)) ||
		    fmt(op->target, sizeof(op->target), newroot, api[i] + 1))
			return -ENOSPC;
		if (!(op = plan_add(p, MOP_MOVE)) ||
		    fmt(op->target, sizeof(op->target), newroot, api[i] + 1))
			return -ENOSPC;
		snprintf(op->src, sizeof(op->src), "%s", api[i]);
	}
	return 0;
}

static void list_add(char *buf, size_t size, const char *name)
{
	size_t used = strlen(buf);

	snprintf(buf + used, size - used, "%s%s", used ? "," : "", name);
}

int root_select_dirs(const char *wanted, const char *ro, const char *newroot, char *out,
		     size_t out_size, char *skipped, size_t skipped_size)
{
	char list[512], path[PATH_MAX], *tok, *save = NULL;
	struct stat st;

	if (strlen(wanted) >= sizeof(list))
		return -ENAMETOOLONG;
	strcpy(list, wanted);
	out[0] = skipped[0] = '\0';
	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		snprintf(path, sizeof(path), "%s/%s", ro, tok);
		if (lstat(path, &st) < 0 || !S_ISDIR(st.st_mode))
			continue;	/* not in this distribution, or a link (merged /usr) */
		snprintf(path, sizeof(path), "%s/%s", newroot, tok);
		if (lstat(path, &st) == 0 && !S_ISDIR(st.st_mode)) {
			list_add(skipped, skipped_size, tok);
			continue;
		}
		list_add(out, out_size, tok);
	}
	return 0;
}

int plan_apply(const struct mount_plan *p, unsigned *done)
{
	unsigned i;

	for (i = 0; i < p->n; i++) {
		const struct mount_op *op = &p->op[i];
		int rc = 0;

		switch (op->kind) {
		case MOP_MKDIR:
			if (mkdir(op->target, 0755) < 0 && errno != EEXIST)
				rc = -errno;
			break;
		case MOP_MOUNT:
			if (mount(op->src[0] ? op->src : NULL, op->target, op->fstype, op->flags,
				  op->data[0] ? op->data : NULL) < 0)
				rc = -errno;
			break;
		case MOP_MOVE:
			if (mount(op->src, op->target, NULL, MS_MOVE, NULL) < 0)
				rc = -errno;
			break;
		}
		if (rc) {
			*done = i;
			return rc;
		}
	}
	*done = p->n;
	return 0;
}

void plan_undo(const struct mount_plan *p, unsigned done)
{
	while (done-- > 0) {
		const struct mount_op *op = &p->op[done];

		if (op->kind == MOP_MOVE)
			mount(op->target, op->src, NULL, MS_MOVE, NULL);
		else if (op->kind == MOP_MOUNT && !(op->flags & MS_REMOUNT))
			umount2(op->target, MNT_DETACH);
	}
}

int plan_describe(const struct mount_op *op, char *buf, size_t size)
{
	int n = 0;

	switch (op->kind) {
	case MOP_MKDIR:
		n = snprintf(buf, size, "mkdir %s", op->target);
		break;
	case MOP_MOVE:
		n = snprintf(buf, size, "mount --move %s %s", op->src, op->target);
		break;
	case MOP_MOUNT:
		if (op->flags & MS_REMOUNT)
			n = snprintf(buf, size, "mount -o remount,bind,ro %s", op->target);
		else if (op->flags & MS_BIND)
			n = snprintf(buf, size, "mount --bind %s %s", op->src, op->target);
		else
			n = snprintf(buf, size, "mount -t %s%s%s %s %s", op->fstype ? op->fstype : "?",
				     op->data[0] ? " -o " : "", op->data, op->src, op->target);
		break;
	}
	return n < 0 || (size_t)n >= size ? -ENOSPC : n;
}

int root_resolve(const char *root, const char *path, char *out, size_t size)
{
	char rest[PATH_MAX], cur[PATH_MAX], link[PATH_MAX], tmp[PATH_MAX];
	int hops = 0;

	if (strlen(path) >= sizeof(rest))
		return -ENAMETOOLONG;
	strcpy(rest, path);
	cur[0] = '\0';	/* the resolved part, relative to root, "" or "/a/b" */
	for (;;) {
		char *p = rest, *name;
		struct stat st;
		ssize_t n;

		while (*p == '/')
			p++;
		if (!*p)
			break;
		name = p;
		p += strcspn(p, "/");
		if (*p)
			*p++ = '\0';
		if (!strcmp(name, ".")) {
			memmove(rest, p, strlen(p) + 1);
			continue;
		}
		if (!strcmp(name, "..")) {
			char *slash = strrchr(cur, '/');

			if (slash)
				*slash = '\0';
			memmove(rest, p, strlen(p) + 1);
			continue;
		}
		if (strlen(cur) + 1 + strlen(name) >= sizeof(cur))
			return -ENAMETOOLONG;
		strcat(cur, "/");
		strcat(cur, name);
		memmove(rest, p, strlen(p) + 1);
		if (snprintf(tmp, sizeof(tmp), "%s%s", root, cur) >= (int)sizeof(tmp))
			return -ENAMETOOLONG;
		if (lstat(tmp, &st) < 0)
			return -errno;
		if (!S_ISLNK(st.st_mode))
			continue;
		if (++hops > 40)
			return -ELOOP;
		n = readlink(tmp, link, sizeof(link) - 1);
		if (n < 0)
			return -errno;
		link[n] = '\0';
		/* The link's target, then what was left of the path. */
		if (snprintf(tmp, sizeof(tmp), "%s/%s", link, rest) >= (int)sizeof(tmp))
			return -ENAMETOOLONG;
		strcpy(rest, tmp);
		if (link[0] == '/')
			cur[0] = '\0';
		else
			*strrchr(cur, '/') = '\0';
	}
	if (snprintf(out, size, "%s%s", root, cur[0] ? cur : "/") >= (int)size)
		return -ENAMETOOLONG;
	return 0;
}

int rootfs_clean(const char *dir, const char *spare)
{
	struct stat rootst;
	struct dirent *de;
	DIR *d;
	int fd, rc = 0;

	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &rootst) < 0) {
		close(fd);
		return -errno;
	}
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	while ((de = readdir(d))) {
		struct stat st;
		char path[PATH_MAX];

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (spare && !strcmp(de->d_name, spare))
			continue;
		if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		/* Another file system mounted here (the new root, /dev...): leave it. */
		if (st.st_dev != rootst.st_dev)
			continue;
		if (S_ISDIR(st.st_mode)) {
			snprintf(path, sizeof(path), "%s/%s", strcmp(dir, "/") ? dir : "", de->d_name);
			rootfs_clean(path, NULL);
			if (unlinkat(fd, de->d_name, AT_REMOVEDIR) < 0 && errno != EBUSY)
				rc = -errno;
		} else if (unlinkat(fd, de->d_name, 0) < 0) {
			rc = -errno;
		}
	}
	closedir(d);
	return rc;
}

int switch_root(const char *newroot, const char **what)
{
	struct statfs sfs;
	const char *spare = newroot[0] == '/' ? newroot + 1 : newroot;

	/* Only ever empty an initramfs: never a real disk by mistake. */
	if (statfs("/", &sfs) < 0) {
		*what = "statfs /";
		return -errno;
	}
	if ((unsigned long)sfs.f_type != DIM_RAMFS_MAGIC &&
	    (unsigned long)sfs.f_type != DIM_TMPFS_MAGIC) {
		*what = "check that / is the initramfs";
		return -EINVAL;
	}
	if (chdir(newroot) < 0) {
		*what = "chdir to the new root";
		return -errno;
	}
	/* Errors here only cost memory: the switch goes on. */
	rootfs_clean("/", strchr(spare, '/') ? NULL : spare);
	if (mount(".", "/", NULL, MS_MOVE, NULL) < 0) {
		*what = "move the new root onto /";
		return -errno;
	}
	if (chroot(".") < 0) {
		*what = "chroot";
		return -errno;
	}
	if (chdir("/") < 0) {
		*what = "chdir /";
		return -errno;
	}
	return 0;
}
