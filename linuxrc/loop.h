/* SPDX-License-Identifier: MIT */
/* Loop devices: the blade's RW image file becomes a block device. */
#ifndef DIM_LOOP_H
#define DIM_LOOP_H

#include <stddef.h>

/*
 * Attach file (read-write) to a free loop device, with autoclear so the
 * device goes away with its last user.  Writes "/dev/loopN" to dev and
 * returns the open device: keep it open until the mount holds the device,
 * then close it (closing it unmounted detaches the file).  -errno on
 * failure, with *what naming the operation that failed.
 */
int loop_attach(const char *file, char *dev, size_t size, const char **what);
int loop_detach(const char *dev);

#endif /* DIM_LOOP_H */
