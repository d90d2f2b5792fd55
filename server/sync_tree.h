/* SPDX-License-Identifier: MIT */
/*
 * Trees on an image server: the server's copy of the master
 * (STORAGE/images/IMAGE/master, written by rsync), the RO tree the blades
 * mount (STORAGE/images/IMAGE/ro), and the RW part of the master that goes
 * into each blade's RW image.
 *
 * tree_mirror() makes one tree like another, one entry at a time, each
 * entry created under a temporary name in its directory and renamed over
 * the old one: a reader (a blade through NFS) sees the old file or the new
 * one, never a half-written or a missing one.  With TREE_LINK a file is a
 * hard link to the source's inode, so the RO tree costs no disk beyond the
 * master copy (rsync never writes the master copy in place: it writes a new
 * inode and renames, so the RO tree keeps the old content until the next
 * mirror).  Removals come last in each directory.
 *
 * tree_scan() lists a tree (type, mode, owner, size, mtime, inode, link
 * target) and tree_diff() compares two such lists: the manifest of what the
 * blades' RW images were last given against the master as it is now.
 */
#ifndef DIM_SYNC_TREE_H
#define DIM_SYNC_TREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "err.h"

/* Which part of a master tree an operation takes. */
enum tree_part {
	TREE_ALL,	/* everything (overlay mode's RO tree) */
	TREE_SHARED,	/* the shared first-level directories (bind mode's RO tree) */
	TREE_RW,	/* everything else; the shared directories as empty mount points */
};

struct tree_filter {
	enum tree_part part;
	char *const *shared;	/* first-level directory names */
	unsigned n_shared;
	char *const *skip;	/* absolute paths or globs never taken, (keep-out) */
	unsigned n_skip;
	const char *prefix;	/* a relative subtree ("etc/ssh"), NULL or "" for all */
};

/* Is the entry rel ("etc/passwd", "" the root) part of what f takes? */
bool tree_wanted(const struct tree_filter *f, const char *rel, bool is_dir);
/* 1 if rel is inside f's prefix, 2 if it is an ancestor of it, 0 if neither. */
int tree_in_scope(const struct tree_filter *f, const char *rel);

/* Names that belong to the machinery, never mirrored, listed or removed. */
bool tree_is_temp_name(const char *name);

#define TREE_LINK	1u	/* hard-link files from the source (else copy them) */

struct tree_stats {
	unsigned long files;	/* files, links and nodes created or replaced */
	unsigned long dirs;	/* directories created or changed */
	unsigned long removed;	/* entries removed (a directory with its contents counts 1) */
	unsigned long same;	/* entries already right */
};

/*
 * Make dst (created if missing) hold what f takes of src.  0, or -errno
 * with the path and the operation in e (-ENOSPC for a full disk); what was
 * done stays done, a rerun finishes.
 */
int tree_mirror(const char *src, const char *dst, const struct tree_filter *f, unsigned flags,
		struct tree_stats *st, struct dim_err *e);

/* rm -rf; 0 if it did not exist.  Does not follow symbolic links. */
int tree_remove(const char *path, struct dim_err *e);

/* Copy one file, symbolic link, node or directory (not its contents) with mode, owner, times. */
int tree_copy_entry(const char *src, const char *dst, struct dim_err *e);

/* ---------------------------------------------------------------- manifests */

struct tree_entry {
	char *rel;		/* "etc/passwd" */
	char type;		/* 'f' file, 'd' directory, 'l' symbolic link, 'n' node */
	mode_t mode;		/* permission bits (07777) */
	uid_t uid;
	gid_t gid;
	uint64_t size;
	int64_t mtime_ns;
	uint64_t ino;
	char *target;		/* of a symbolic link; NULL else */
};

struct tree_list {
	struct tree_entry *e;
	size_t n, cap;
};

/* What f takes of root, sorted by rel (strcmp). */
int tree_scan(const char *root, const struct tree_filter *f, struct tree_list *out,
	      struct dim_err *e);
void tree_list_free(struct tree_list *l);

/* A manifest file: one entry a line, paths escaped; written atomically. */
int tree_list_write(const char *path, const struct tree_list *l, struct dim_err *e);
/* A missing file is an empty list (returns 0) when missing_ok, else -ENOENT. */
int tree_list_read(const char *path, bool missing_ok, struct tree_list *out, struct dim_err *e);
/* The text of a manifest (malloc'd, *len bytes), as tree_list_write() writes it. */
int tree_list_format(const struct tree_list *l, char **out, size_t *len, struct dim_err *e);
/*
 * Parse a manifest's text, len bytes (no NUL needed; a NUL inside is an
 * error): comments (#) and empty lines skipped, every other line one entry,
 * the entries in strictly increasing strcmp order of their paths, the last
 * line ended by a newline.  -EINVAL naming name:line for anything else.
 */
int tree_list_parse(const char *buf, size_t len, const char *name, struct tree_list *out,
		    struct dim_err *e);

/*
 * old: the manifest; now: a scan limited to prefix.  changed gets the
 * entries of now that old lacks or has otherwise; removed the entries of old
 * inside the prefix that now lacks (pointers into old and now, not copies).
 * merged (if not NULL): old outside the prefix plus now, the next manifest.
 */
struct tree_diff {
	const struct tree_entry **changed;
	size_t n_changed;
	const struct tree_entry **removed;
	size_t n_removed;
};
int tree_diff(const struct tree_list *old, const struct tree_list *now, const char *prefix,
	      struct tree_diff *d, struct tree_list *merged);
void tree_diff_free(struct tree_diff *d);

/* Escape a path for a manifest or .dim-remove line (%XX for controls, space, '%'). */
int tree_escape(const char *in, char *out, size_t size);
int tree_unescape(const char *in, char *out, size_t size);

#endif /* DIM_SYNC_TREE_H */
