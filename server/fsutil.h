/* SPDX-License-Identifier: MIT */
/*
 * Files written so that a crash, a full disk or a kill -9 never leaves a
 * half-written one behind: write a temporary name in the same directory,
 * fsync, rename over the target, fsync the directory.
 */
#ifndef DIM_FSUTIL_H
#define DIM_FSUTIL_H

#include <stddef.h>
#include <sys/types.h>

struct atomic_file {
	int fd;
	char *path;	/* the final name */
	char *tmp;	/* the temporary name, in the same directory */
};

/* Create a temporary file next to path.  0 or -errno. */
int atomic_open(struct atomic_file *f, const char *path, mode_t mode);
/* fsync, rename into place, fsync the directory; frees f.  0 or -errno (then nothing changed). */
int atomic_commit(struct atomic_file *f);
/* Remove the temporary file; frees f.  Safe after a failed commit. */
void atomic_abort(struct atomic_file *f);

/* write(2) until done; 0 or -errno (-ENOSPC for a full disk). */
int write_full(int fd, const void *buf, size_t len);

/* Read a whole file into a malloc'ed buffer (NUL-terminated).  0 or -errno. */
int read_file(const char *path, char **data, size_t *len);

/* mkdir -p; 0 or -errno. */
int mkdir_p(const char *path, mode_t mode);

#endif /* DIM_FSUTIL_H */
