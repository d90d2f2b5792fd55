/* SPDX-License-Identifier: MIT */
/*
 * newc cpio writer.  An entry is a 110-byte ASCII header ("070701" and
 * thirteen 8-digit hex fields), the name with its NUL, padding to a multiple
 * of 4 counted from the start of the archive, then the data, padded the same
 * way.  The archive ends with an entry named "TRAILER!!!".  Here also padded
 * to 512 bytes as cpio(1) does; the kernel skips zero padding.
 */
#define ZLIB_CONST
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "cpio.h"
#include "fsutil.h"

#define CPIO_MAGIC	"070701"
#define CPIO_HDR_LEN	110
#define CPIO_TRAILER	"TRAILER!!!"
#define CPIO_BLOCK	512
#define CPIO_FIRST_INO	1	/* 0 would look like the trailer */

void cpio_init(struct cpio_archive *a)
{
	a->entries = NULL;
	a->count = a->cap = 0;
}

void cpio_free(struct cpio_archive *a)
{
	size_t i;

	for (i = 0; i < a->count; i++) {
		free(a->entries[i].name);
		free(a->entries[i].data);
	}
	free(a->entries);
	cpio_init(a);
}

/*
 * "/etc//dim/" is no name; "/etc/dim" and "etc/dim" are "etc/dim".  No "."
 * or ".." components: the kernel's unpacker would follow them.
 */
static int name_normalize(const char *in, char **out)
{
	const char *p, *end;
	size_t len;
	char *name;

	while (*in == '/')
		in++;
	len = strlen(in);
	while (len > 0 && in[len - 1] == '/')
		len--;
	if (len == 0 || len >= PATH_MAX)
		return -EINVAL;
	end = in + len;
	for (p = in; p < end;) {
		const char *slash = memchr(p, '/', (size_t)(end - p));
		size_t n = slash ? (size_t)(slash - p) : (size_t)(end - p);

		if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return -EINVAL;
		p += n + 1;
	}
	name = strndup(in, len);
	if (!name)
		return -ENOMEM;
	*out = name;
	return 0;
}

/* Index of name, or where it would go (*found = 0). */
static size_t find(const struct cpio_archive *a, const char *name, int *found)
{
	size_t lo = 0, hi = a->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(a->entries[mid].name, name);

		if (c == 0) {
			*found = 1;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = 0;
	return lo;
}

/* Insert e (owning its name and data) at position i. */
static int insert_at(struct cpio_archive *a, size_t i, const struct cpio_entry *e)
{
	if (a->count == a->cap) {
		size_t cap = a->cap ? 2 * a->cap : 32;
		struct cpio_entry *n = reallocarray(a->entries, cap, sizeof(*n));

		if (!n)
			return -ENOMEM;
		a->entries = n;
		a->cap = cap;
	}
	memmove(&a->entries[i + 1], &a->entries[i], (a->count - i) * sizeof(*e));
	a->entries[i] = *e;
	a->count++;
	return 0;
}

/* Every parent of name (normalised) must be a directory; add those missing. */
static int add_parents(struct cpio_archive *a, const char *name)
{
	const char *slash;

	for (slash = strchr(name, '/'); slash; slash = strchr(slash + 1, '/')) {
		struct cpio_entry e = { .mode = S_IFDIR | 0755, .implicit = 1 };
		size_t i;
		int found, rc;

		e.name = strndup(name, (size_t)(slash - name));
		if (!e.name)
			return -ENOMEM;
		i = find(a, e.name, &found);
		if (found) {
			free(e.name);
			if (!S_ISDIR(a->entries[i].mode))
				return -ENOTDIR;
			continue;
		}
		rc = insert_at(a, i, &e);
		if (rc) {
			free(e.name);
			return rc;
		}
	}
	return 0;
}

/* Add an entry; takes ownership of data in every case. */
static int add(struct cpio_archive *a, const char *name, unsigned int mode, void *data,
	       size_t size, unsigned int rmajor, unsigned int rminor)
{
	struct cpio_entry e = { .mode = mode, .data = data, .size = size,
				.rmajor = rmajor, .rminor = rminor };
	size_t i;
	int found, rc;

	if (size > UINT32_MAX) {
		rc = -EFBIG;	/* c_filesize is 8 hex digits */
		goto err_data;
	}
	rc = name_normalize(name, &e.name);
	if (rc)
		goto err_data;
	rc = add_parents(a, e.name);
	if (rc)
		goto err_name;
	i = find(a, e.name, &found);
	if (found) {
		struct cpio_entry *old = &a->entries[i];

		/* A directory made for a child earlier takes the mode asked for now. */
		if (!old->implicit || !S_ISDIR(mode)) {
			rc = -EEXIST;
			goto err_name;
		}
		old->mode = mode;
		old->implicit = 0;
		free(e.name);
		return 0;
	}
	rc = insert_at(a, i, &e);
	if (rc)
		goto err_name;
	return 0;

err_name:
	free(e.name);
err_data:
	free(data);
	return rc;
}

int cpio_add_dir(struct cpio_archive *a, const char *name, mode_t perm)
{
	if (perm & ~07777u)
		return -EINVAL;
	return add(a, name, S_IFDIR | perm, NULL, 0, 0, 0);
}

int cpio_add_file_owned(struct cpio_archive *a, const char *name, mode_t perm, void *data,
			size_t size)
{
	if (perm & ~07777u) {
		free(data);
		return -EINVAL;
	}
	return add(a, name, S_IFREG | perm, data, size, 0, 0);
}

int cpio_add_file(struct cpio_archive *a, const char *name, mode_t perm, const void *data,
		  size_t size)
{
	void *copy = NULL;

	if (size) {
		copy = malloc(size);
		if (!copy)
			return -ENOMEM;
		memcpy(copy, data, size);
	}
	return cpio_add_file_owned(a, name, perm, copy, size);
}

int cpio_add_path(struct cpio_archive *a, const char *name, mode_t perm, const char *path)
{
	struct stat st;
	char *data;
	size_t size;
	int rc;

	if (stat(path, &st) < 0)
		return -errno;
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	rc = read_file(path, &data, &size);
	if (rc)
		return rc;
	return cpio_add_file_owned(a, name, perm, data, size);
}

int cpio_add_symlink(struct cpio_archive *a, const char *name, const char *target)
{
	size_t len = strlen(target);
	char *copy;

	/* The data is the target without a NUL, as readlink(2) returns it. */
	if (len == 0 || len >= PATH_MAX)
		return -EINVAL;
	copy = strndup(target, len);
	if (!copy)
		return -ENOMEM;
	return add(a, name, S_IFLNK | 0777, copy, len, 0, 0);
}

int cpio_add_chardev(struct cpio_archive *a, const char *name, mode_t perm, unsigned int major,
		     unsigned int minor)
{
	if (perm & ~07777u)
		return -EINVAL;
	return add(a, name, S_IFCHR | perm, NULL, 0, major, minor);
}

const struct cpio_entry *cpio_lookup(const struct cpio_archive *a, const char *name)
{
	char *norm;
	size_t i;
	int found;

	if (name_normalize(name, &norm))
		return NULL;
	i = find(a, norm, &found);
	free(norm);
	return found ? &a->entries[i] : NULL;
}

/* ---------------------------------------------------------------- output */

struct writer {
	cpio_out_fn out;
	void *ctx;
	int gzip;
	z_stream z;
	gz_header gzh;	/* deflate reads it while writing the stream's start */
	uint64_t raw, written;
	unsigned char zbuf[64 * 1024];
};

static int deflate_chunk(struct writer *w, const void *buf, size_t len, int flush)
{
	int zr;

	w->z.next_in = buf;
	w->z.avail_in = (uInt)len;
	do {
		size_t have;
		int rc;

		w->z.next_out = w->zbuf;
		w->z.avail_out = sizeof(w->zbuf);
		zr = deflate(&w->z, flush);
		if (zr == Z_STREAM_ERROR)
			return -EIO;
		have = sizeof(w->zbuf) - w->z.avail_out;
		if (have) {
			rc = w->out(w->ctx, w->zbuf, have);
			if (rc)
				return rc;
			w->written += have;
		}
	} while (w->z.avail_out == 0 || (flush == Z_FINISH && zr != Z_STREAM_END));
	return 0;
}

static int emit(struct writer *w, const void *buf, size_t len)
{
	const unsigned char *p = buf;
	int rc;

	w->raw += len;
	if (!w->gzip) {
		w->written += len;
		return len ? w->out(w->ctx, buf, len) : 0;
	}
	/* avail_in is a uInt: feed big buffers in pieces. */
	while (len > 0) {
		size_t n = len > (1u << 30) ? (1u << 30) : len;

		rc = deflate_chunk(w, p, n, Z_NO_FLUSH);
		if (rc)
			return rc;
		p += n;
		len -= n;
	}
	return 0;
}

static int pad_to(struct writer *w, unsigned int align)
{
	static const unsigned char zeros[CPIO_BLOCK];
	size_t n = (size_t)((align - w->raw % align) % align);

	return emit(w, zeros, n);
}

static int emit_header(struct writer *w, uint32_t ino, const struct cpio_entry *e,
		       unsigned int nlink, uint32_t mtime, const char *name)
{
	char hdr[CPIO_HDR_LEN + 1];
	size_t namesize = strlen(name) + 1;
	int rc;

	snprintf(hdr, sizeof(hdr),
		 "%s%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x", CPIO_MAGIC,
		 ino, e->mode, 0u /* uid */, 0u /* gid */, nlink, mtime, (uint32_t)e->size,
		 0u /* devmajor */, 0u /* devminor */, e->rmajor, e->rminor, (uint32_t)namesize,
		 0u /* check: only for the "070702" crc format */);
	rc = emit(w, hdr, CPIO_HDR_LEN);
	if (!rc)
		rc = emit(w, name, namesize);
	if (!rc)
		rc = pad_to(w, 4);
	return rc;
}

static int write_entries(struct writer *w, const struct cpio_archive *a, uint32_t mtime)
{
	static const struct cpio_entry trailer = { .mode = 0 };
	size_t i;
	int rc;

	for (i = 0; i < a->count; i++) {
		const struct cpio_entry *e = &a->entries[i];

		/* Like gen_init_cpio: directories count "." and their entry in the parent. */
		rc = emit_header(w, (uint32_t)(CPIO_FIRST_INO + i), e, S_ISDIR(e->mode) ? 2 : 1,
				 mtime, e->name);
		if (!rc)
			rc = emit(w, e->data, e->size);
		if (!rc)
			rc = pad_to(w, 4);
		if (rc)
			return rc;
	}
	rc = emit_header(w, 0, &trailer, 1, 0, CPIO_TRAILER);
	if (!rc)
		rc = pad_to(w, CPIO_BLOCK);
	return rc;
}

int cpio_write(const struct cpio_archive *a, const struct cpio_opts *opts, cpio_out_fn out,
	       void *ctx, struct cpio_stats *stats)
{
	struct writer *w;
	int rc;

	if (opts->gzip_level < 0 || opts->gzip_level > 9 || a->count > UINT32_MAX - CPIO_FIRST_INO)
		return -EINVAL;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->out = out;
	w->ctx = ctx;
	w->gzip = opts->gzip_level > 0;
	if (w->gzip) {
		/* windowBits 15 + 16: a gzip wrapper (zlib.h, deflateInit2). */
		if (deflateInit2(&w->z, opts->gzip_level, Z_DEFLATED, 15 + 16, 8,
				 Z_DEFAULT_STRATEGY) != Z_OK) {
			rc = -ENOMEM;
			goto err_free;
		}
		/* RFC 1952 2.3.1: MTIME, and OS 3 (Unix) whatever zlib was built on. */
		w->gzh.time = opts->mtime;
		w->gzh.os = 3;
		if (deflateSetHeader(&w->z, &w->gzh) != Z_OK) {
			rc = -EIO;
			goto err_deflate;
		}
	}
	rc = write_entries(w, a, opts->mtime);
	if (rc)
		goto err_deflate;
	if (w->gzip) {
		rc = deflate_chunk(w, NULL, 0, Z_FINISH);
		if (rc)
			goto err_deflate;
	}
	if (stats) {
		stats->raw_size = w->raw;
		stats->out_size = w->written;
		stats->entries = a->count;
	}
	rc = 0;

err_deflate:
	if (w->gzip)
		deflateEnd(&w->z);
err_free:
	free(w);
	return rc;
}

int cpio_out_fd(void *ctx, const void *buf, size_t len)
{
	return write_full(*(int *)ctx, buf, len);
}

int cpio_source_date(uint32_t *mtime)
{
	const char *s = getenv("SOURCE_DATE_EPOCH");
	unsigned long long v = 0;

	*mtime = 0;
	if (!s || !*s)
		return 0;
	/* The spec: a decimal integer; anything else is an error, not a guess. */
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		v = v * 10 + (unsigned long long)(*s - '0');
		if (v > UINT32_MAX)
			return -ERANGE;
	}
	*mtime = (uint32_t)v;
	return 0;
}
