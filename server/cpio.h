/* SPDX-License-Identifier: MIT */
/*
 * A newc ("070701") cpio writer for initramfs images, needing no root and no
 * files on disk for device nodes: entries are collected in memory, then
 * written sorted by name (a directory before what it holds), with uid/gid 0,
 * one fixed mtime and inode numbers counted in that order, so the same input
 * gives the same bytes.  Optionally streamed through gzip (zlib) with the
 * same mtime in the gzip header.
 *
 * Format: the kernel's Documentation/driver-api/early-userspace/buffer-format.rst
 * and cpio(5) "New ASCII Format".
 */
#ifndef DIM_CPIO_H
#define DIM_CPIO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct cpio_entry {
	char *name;		/* normalised: no leading '/', no "." or ".." */
	unsigned int mode;	/* file type and permission bits */
	unsigned int rmajor, rminor;	/* device nodes */
	unsigned char *data;	/* file contents or symlink target */
	size_t size;
	int implicit;		/* a parent directory nobody added yet */
};

struct cpio_archive {
	struct cpio_entry *entries;	/* sorted by name */
	size_t count, cap;
};

struct cpio_opts {
	uint32_t mtime;		/* every entry's mtime and the gzip header's */
	int gzip_level;		/* 0: no compression; 1..9: gzip at that level */
};

struct cpio_stats {
	uint64_t raw_size;	/* the cpio archive's length */
	uint64_t out_size;	/* bytes handed to the output (compressed if gzip) */
	size_t entries;		/* without the trailer */
};

/* Output function: 0 or -errno. */
typedef int (*cpio_out_fn)(void *ctx, const void *buf, size_t len);

void cpio_init(struct cpio_archive *a);
void cpio_free(struct cpio_archive *a);

/*
 * Add an entry.  Names are archive paths ("/etc/dim/modules" or
 * "etc/dim/modules"); missing parent directories are added with mode 0755
 * (a later cpio_add_dir() of the same name sets its mode).  All return 0, or
 * -EINVAL for a bad name or mode, -EEXIST if the name is taken, -ENOTDIR if a
 * parent is not a directory, -EFBIG for a file of 4 GiB or more, -ENOMEM.
 */
int cpio_add_dir(struct cpio_archive *a, const char *name, mode_t perm);
int cpio_add_file(struct cpio_archive *a, const char *name, mode_t perm, const void *data,
		  size_t size);
/* As cpio_add_file(), taking ownership of a malloc'ed buffer (freed on failure too). */
int cpio_add_file_owned(struct cpio_archive *a, const char *name, mode_t perm, void *data,
			size_t size);
/* A regular file's contents read from path now; -errno of the read too. */
int cpio_add_path(struct cpio_archive *a, const char *name, mode_t perm, const char *path);
int cpio_add_symlink(struct cpio_archive *a, const char *name, const char *target);
int cpio_add_chardev(struct cpio_archive *a, const char *name, mode_t perm, unsigned int major,
		     unsigned int minor);

/* The entry called name (any spelling cpio_add_*() takes), or NULL. */
const struct cpio_entry *cpio_lookup(const struct cpio_archive *a, const char *name);

/* Write the archive, trailer and padding to out.  0 or -errno (of out, or of zlib). */
int cpio_write(const struct cpio_archive *a, const struct cpio_opts *opts, cpio_out_fn out,
	       void *ctx, struct cpio_stats *stats);

/* out function for a file descriptor: ctx points to the int fd. */
int cpio_out_fd(void *ctx, const void *buf, size_t len);

/*
 * The mtime reproducible builds ask for: SOURCE_DATE_EPOCH if set
 * (https://reproducible-builds.org/specs/source-date-epoch/), else 0.
 * -EINVAL if it is set but not a decimal number, -ERANGE if it does not fit
 * the 32-bit cpio field.
 */
int cpio_source_date(uint32_t *mtime);

#endif /* DIM_CPIO_H */
