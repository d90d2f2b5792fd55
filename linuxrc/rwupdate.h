/* SPDX-License-Identifier: MIT */
/*
 * RW updates staged by the image server (dim sync_image) for a blade's next
 * boot.  A blade's RW image is loop-mounted on the blade, so the server never
 * writes into it; it stages the change next to it instead:
 *
 *   RWDIR/pending/            a tree: relative paths are paths in the blade's
 *                             root, with the modes, owners, times and links
 *                             they should end up with
 *   RWDIR/pending/.dim-remove absolute paths to delete, one a line (optional)
 *
 * The linuxrc claims it by renaming pending to pending.applying (so a newer
 * pending the server stages meanwhile waits for the next boot), installs every
 * entry into the blade's writable root atomically (temporary name, rename),
 * never following a symbolic link of the blade's own tree, applies the
 * removals, syncs, and deletes pending.applying.  A crash midway leaves
 * pending.applying, which the next boot applies again first: installing is
 * idempotent.
 */
#ifndef DIM_RWUPDATE_H
#define DIM_RWUPDATE_H

#include <stddef.h>

#define RWUPDATE_PENDING	"pending"
#define RWUPDATE_APPLYING	"pending.applying"
#define RWUPDATE_REMOVE		".dim-remove"

struct rwupdate_result {
	unsigned files;		/* regular files, links and nodes installed */
	unsigned dirs;		/* directories created or updated */
	unsigned removed;
};

/*
 * Apply what rwdir holds for the blade (pending.applying first, then
 * pending) to root.  0 with nothing or everything applied; -errno and why
 * ("install etc/foo: No space left on device") on the first failure, with
 * the rest left for the next attempt.
 */
int rwupdate_apply(const char *rwdir, const char *root, struct rwupdate_result *res, char *why,
		   size_t size);

/* Check one line of .dim-remove: an absolute path, no "." or ".." component. */
int rwupdate_check_path(const char *path);

#endif /* DIM_RWUPDATE_H */
