/* SPDX-License-Identifier: MIT */
/*
 * One sync of an image at a time, per host: an flock(2) on a lock file
 * (the management node: STORAGE/masters/.IMAGE.lock; an image server:
 * STORAGE/images/IMAGE/.lock) that records who holds it, so the second
 * command fails at once, naming the first: "image master: dim sync_server
 * (pid 1234, user root) has held it since 10:02:03".  The kernel drops the
 * lock when the holder dies, kill -9 included: no stale locks.
 */
#ifndef DIM_SYNC_LOCK_H
#define DIM_SYNC_LOCK_H

#include "err.h"

struct sync_lock {
	int fd;
};

/* Take the lock at path for what ("dim sync_image"); -EBUSY with the holder named if held. */
int sync_lock_take(struct sync_lock *l, const char *path, const char *what, struct dim_err *e);
void sync_lock_release(struct sync_lock *l);

#endif /* DIM_SYNC_LOCK_H */
