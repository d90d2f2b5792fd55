/* SPDX-License-Identifier: MIT */
/*
 * A netboot kernel from kernel-config/ fragments, with the initramfs linked
 * in: the second route of dim buildzimage.  One build directory keeps the
 * unpacked kernel source and one object tree per architecture, so a rebuild
 * after changing only the initramfs relinks in seconds:
 *
 *   BUILD/src/linux-source-6.1/      the source, unpacked once from its tarball
 *   BUILD/src/linux-source-6.1.stamp the tarball's size and mtime it came from
 *   BUILD/ARCH/                      the kernel's O= tree, .config and objects
 *   BUILD/ARCH/dim-allconfig         the merged fragments (KCONFIG_ALLCONFIG)
 *   BUILD/ARCH/dim-initramfs.cpio    the initramfs (CONFIG_INITRAMFS_SOURCE)
 *   BUILD/ARCH/dim-build.log         everything the kernel's make said
 *   BUILD/ARCH/dim.lock, BUILD/src/dim.lock   flock(2): one build per tree
 *
 * The steps are separate calls so the command can say what is going on
 * (the first build takes minutes).  Library code: nothing printed, errors
 * as -errno with the message in kb->err.
 */
#ifndef DIM_KBUILD_H
#define DIM_KBUILD_H

#include <stdint.h>

#include "err.h"
#include "kconfig.h"

struct kbuild_arch {
	const char *arch;	/* dim's name: "ppc64le" */
	const char *karch;	/* the kernel's ARCH= */
	const char *machine;	/* uname -m of a host that builds it without a cross compiler */
	const char *cross;	/* CROSS_COMPILE= on every other host */
	const char *target;	/* make target */
	const char *image;	/* the file firmware boots, in the object tree */
	const char *name;	/* its name in the output directory */
};

struct kbuild {
	const struct kbuild_arch *a;
	char *build;		/* BUILD */
	char *source;		/* the kernel source tree */
	char *tree;		/* BUILD/ARCH */
	char *allconfig, *cpio, *log;
	int jobs;
	struct kconfig want;	/* the fragments, merged */
	char **fragments;	/* the fragment files read, in order */
	unsigned n_fragments;
	struct kconfig_mismatch *mismatch;	/* after a failed check */
	size_t n_mismatch;
	struct kconfig have;
	int lock_fd;		/* BUILD/ARCH/dim.lock, held from init to free */
	struct dim_err err;
};

/* The table entry for arch, or NULL. */
const struct kbuild_arch *kbuild_arch(const char *arch);

/*
 * Set up for arch in build (created).  jobs 0: one per online CPU.  -EBUSY
 * when another process builds in BUILD/ARCH now (its lock is held until
 * kbuild_free()).
 */
int kbuild_init(struct kbuild *kb, const char *arch, const char *build, int jobs);
void kbuild_free(struct kbuild *kb);

/*
 * Does source (a tarball) still need unpacking into BUILD/src?  0 for a
 * directory, or a tarball unpacked before from the same file (size, mtime).
 */
int kbuild_needs_unpack(struct kbuild *kb, const char *source);

/*
 * The kernel source: a directory holding a kernel tree, used as it is, or a
 * tarball (.tar.xz, .tar.gz, .tar.bz2, .tar) unpacked by tar into
 * BUILD/src/NAME (NAME: its file name without .tar.*) unless it was before.
 * The unpacking goes to a temporary directory renamed into place, under
 * BUILD/src/dim.lock (a build for another architecture may be unpacking the
 * same tarball: this one waits for it and then finds it done).
 */
int kbuild_source(struct kbuild *kb, const char *source);

/*
 * Read config_dir/common.config and config_dir/ARCH.config, merge them and
 * set CONFIG_INITRAMFS_SOURCE to the cpio's path.
 */
int kbuild_fragments(struct kbuild *kb, const char *config_dir);

/*
 * Make the .config: allnoconfig with the merged fragments as
 * KCONFIG_ALLCONFIG, unless the fragments are the same as the last time and
 * a .config exists (*ran says whether Kconfig ran).  Then check it: every
 * symbol the fragments set must read so in the .config; -EINVAL otherwise,
 * with kb->mismatch listing each.
 */
int kbuild_configure(struct kbuild *kb, int *ran);

/* make the image (output to kb->log), then check the .config again. */
int kbuild_make(struct kbuild *kb);

/* Copy the image to outdir/NAME atomically; *path malloc'ed. */
int kbuild_install(struct kbuild *kb, const char *outdir, char **path, uint64_t *size);

#endif /* DIM_KBUILD_H */
