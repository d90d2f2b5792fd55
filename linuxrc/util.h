/* SPDX-License-Identifier: MIT */
/* Small helpers of the linuxrc: files, sleeping, randomness, backoff. */
#ifndef DIM_UTIL_H
#define DIM_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* mkdir -p; 0 or -errno. */
int util_mkdir_p(const char *path, mode_t mode);
/* Read up to size-1 bytes and NUL-terminate; the length or -errno. */
ssize_t util_read(const char *path, char *buf, size_t size);
/* Write a whole file through a temporary name and rename; 0 or -errno. */
int util_write(const char *path, const char *data, size_t len, mode_t mode);
/* Write a value to a file that exists, in place (/proc, /sys); 0 or -errno. */
int util_write_proc(const char *path, const char *data);
void util_sleep_ms(uint32_t ms);

/*
 * Randomness for xids and jitter.  Seeded from getrandom() when the kernel
 * has entropy, mixed with the MAC and the clock, so blades that power on in
 * the same second still pick different xids and delays.
 */
void rnd_seed(const uint8_t *data, size_t len);
uint32_t rnd_next(void);

/*
 * Capped exponential backoff with jitter: base * 2^attempt, at most cap,
 * then scaled by a factor from 0.75 to 1.25 so that hundreds of blades that
 * failed together do not retry together.
 */
uint32_t backoff_ms(unsigned attempt, uint32_t base_ms, uint32_t cap_ms, uint32_t rnd);

#endif /* DIM_UTIL_H */
