/* SPDX-License-Identifier: MIT */
/*
 * Root assembly and switch root as plans: a pure function lists the mount
 * operations, another applies them.  The tests check the plans; the QEMU
 * tests check that applying them boots.
 */
#ifndef DIM_ROOT_H
#define DIM_ROOT_H

#include <stddef.h>

enum mop_kind {
	MOP_MKDIR,	/* mkdir target, an existing directory is fine */
	MOP_MOUNT,	/* mount(src, target, fstype, flags, data) */
	MOP_MOVE,	/* mount(src, target, NULL, MS_MOVE, NULL) */
};

struct mount_op {
	enum mop_kind kind;
	char src[256];
	char target[256];
	const char *fstype;
	unsigned long flags;
	char data[512];
};

#define PLAN_MAX 48

struct mount_plan {
	unsigned n;
	struct mount_op op[PLAN_MAX];
};

/*
 * bind mode: the RW image is mounted at newroot; every directory of dirs (a
 * comma list) is bound from the RO tree and made read-only.
 */
int root_plan_bind(struct mount_plan *p, const char *ro, const char *newroot, const char *dirs);

/* overlay mode: lower = the RO tree, upper and work inside the mounted image. */
int root_plan_overlay(struct mount_plan *p, const char *ro, const char *image,
		      const char *newroot);

/* Move /dev, /proc, /sys and /run into the new root before switching. */
int root_plan_moves(struct mount_plan *p, const char *newroot);

/*
 * Of the comma list wanted, the directories to bind: those the RO tree has
 * as real directories and the RW image does not have as something other
 * than a directory (a merged-/usr image has bin -> usr/bin: that link stays).
 * Writes the chosen ones to out, the passed-over ones to skipped.
 */
int root_select_dirs(const char *wanted, const char *ro, const char *newroot, char *out,
		     size_t out_size, char *skipped, size_t skipped_size);

/* Apply ops in order; on failure *done is the index of the failed op. 0 or -errno. */
int plan_apply(const struct mount_plan *p, unsigned *done);
/* Undo the first done ops, in reverse (unmount, move back). */
void plan_undo(const struct mount_plan *p, unsigned done);
/* "mount -t nfs ... src target" style text of one op. */
int plan_describe(const struct mount_op *op, char *buf, size_t size);

/*
 * Resolve path inside root as if root were /, following symlinks (absolute
 * ones relative to root), at most 40 of them.  Writes the host path of the
 * result to out.  0, -ENOENT, -ELOOP or -ENAMETOOLONG.
 */
int root_resolve(const char *root, const char *path, char *out, size_t size);

/*
 * Switch root (klibc's run-init): check / is the initramfs, empty it to free
 * its memory (not crossing into other file systems, sparing newroot), move
 * newroot onto /, chroot into it.  0 or -errno with *what set.
 */
int switch_root(const char *newroot, const char **what);

/* Remove everything below dir on device dev, except the entry named spare. */
int rootfs_clean(const char *dir, const char *spare);

#endif /* DIM_ROOT_H */
