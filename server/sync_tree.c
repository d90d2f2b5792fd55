/* SPDX-License-Identifier: MIT */
/*
 * Mirroring, scanning and comparing trees on an image server; see
 * sync_tree.h.  Every replacement is a temporary name in the same
 * directory and a rename(2), so readers never see a partial entry.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <unistd.h>

#include "fsutil.h"
#include "mac.h"
#include "sync_tree.h"

#define TMP_PREFIX	".dim-tmp."

bool tree_is_temp_name(const char *name)
{
	/* ours, and the directories rsync --delay-updates keeps its new files in */
	return !strncmp(name, TMP_PREFIX, sizeof(TMP_PREFIX) - 1) || !strcmp(name, ".~tmp~");
}

/* ---------------------------------------------------------------- filters */

static size_t first_len(const char *rel)
{
	return strcspn(rel, "/");
}

static bool is_shared(const struct tree_filter *f, const char *rel)
{
	size_t n = first_len(rel);
	unsigned i;

	for (i = 0; i < f->n_shared; i++)
		if (strlen(f->shared[i]) == n && !strncmp(f->shared[i], rel, n))
			return true;
	return false;
}

int tree_in_scope(const struct tree_filter *f, const char *rel)
{
	size_t n;

	if (!f || !f->prefix || !f->prefix[0])
		return 1;
	n = strlen(f->prefix);
	if (!strncmp(rel, f->prefix, n) && (rel[n] == '\0' || rel[n] == '/'))
		return 1;
	n = strlen(rel);
	if (!n || (!strncmp(f->prefix, rel, n) && f->prefix[n] == '/'))
		return 2;
	return 0;
}

bool tree_wanted(const struct tree_filter *f, const char *rel, bool is_dir)
{
	char abs[PATH_MAX];
	unsigned i;

	if (!f || !rel[0])
		return true;
	switch (f->part) {
	case TREE_ALL:
		break;
	case TREE_SHARED:
		if (!is_shared(f, rel))
			return false;
		break;
	case TREE_RW:
		/* the shared directories stay as empty mount points */
		if (is_shared(f, rel))
			return is_dir && !strchr(rel, '/');
		break;
	}
	if (snprintf(abs, sizeof(abs), "/%s", rel) >= (int)sizeof(abs))
		return false;
	for (i = 0; i < f->n_skip; i++)
		if (!fnmatch(f->skip[i], abs, FNM_PATHNAME))
			return false;
	return true;
}

/* ---------------------------------------------------------------- helpers */

static int join(char *buf, size_t size, const char *a, const char *b)
{
	int n = b[0] ? snprintf(buf, size, "%s/%s", a, b) : snprintf(buf, size, "%s", a);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

static int fail(struct dim_err *e, int rc, const char *what, const char *path)
{
	return dim_err_set(e, rc, "%s %s: %s", what, path, strerror(-rc));
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names of a directory, without . and .. and temporary names. */
static int list_dir(const char *path, char ***names, size_t *n)
{
	DIR *d = opendir(path);
	struct dirent *de;
	char **v = NULL, **nv;
	size_t cnt = 0, cap = 0;
	int rc = 0;

	*names = NULL;
	*n = 0;
	if (!d)
		return -errno;
	while ((errno = 0, de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
		    tree_is_temp_name(de->d_name))
			continue;
		if (cnt == cap) {
			cap = cap ? cap * 2 : 32;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				rc = -ENOMEM;
				break;
			}
			v = nv;
		}
		v[cnt] = strdup(de->d_name);
		if (!v[cnt]) {
			rc = -ENOMEM;
			break;
		}
		cnt++;
	}
	if (!rc && errno)
		rc = -errno;
	closedir(d);
	if (rc) {
		while (cnt)
			free(v[--cnt]);
		free(v);
		return rc;
	}
	if (cnt)
		qsort(v, cnt, sizeof(*v), cmp_names);
	*names = v;
	*n = cnt;
	return 0;
}

static void names_free(char **v, size_t n)
{
	while (n)
		free(v[--n]);
	free(v);
}

static bool has_name(char **v, size_t n, const char *name)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(v[mid], name);

		if (!c)
			return true;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

int tree_remove(const char *path, struct dim_err *e)
{
	struct stat st;
	char sub[PATH_MAX];
	int rc;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : fail(e, -errno, "remove", path);
	if (!S_ISDIR(st.st_mode)) {
		if (unlink(path) < 0 && errno != ENOENT)
			return fail(e, -errno, "remove", path);
		return 0;
	}
	/* temporary names too: everything goes */
	{
		DIR *d = opendir(path);
		struct dirent *de;

		if (!d)
			return fail(e, -errno, "remove", path);
		rc = 0;
		while (!rc && (de = readdir(d))) {
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			if (join(sub, sizeof(sub), path, de->d_name) < 0)
				rc = fail(e, -ENAMETOOLONG, "remove", path);
			else
				rc = tree_remove(sub, e);
		}
		closedir(d);
		if (rc)
			return rc;
	}
	if (rmdir(path) < 0 && errno != ENOENT)
		return fail(e, -errno, "remove", path);
	return 0;
}

static int copy_data(int in, int out)
{
	char buf[65536];
	ssize_t n;
	int rc;

	for (;;) {
		ssize_t c = copy_file_range(in, NULL, out, NULL, 1 << 30, 0);

		if (c == 0)
			return 0;
		if (c > 0)
			continue;
		if (errno != EXDEV && errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
			return -errno;
		break;
	}
	while ((n = read(in, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		rc = write_full(out, buf, (size_t)n);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int set_times(const char *path, const struct stat *st)
{
	struct timespec ts[2] = { st->st_atim, st->st_mtim };

	return utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
}

/* Create at tmp what src is (no directory contents), owner, mode and times included. */
static int make_entry(const char *src, const struct stat *st, const char *tmp, bool link_ok,
		      bool *linked)
{
	char target[PATH_MAX];
	ssize_t len;
	int in, out, rc = 0;

	*linked = false;
	if (S_ISREG(st->st_mode) && link_ok) {
		if (link(src, tmp) == 0) {
			*linked = true;
			return 0;
		}
		if (errno != EXDEV && errno != EPERM && errno != EMLINK)
			return -errno;
	}
	if (S_ISREG(st->st_mode)) {
		in = open(src, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (in < 0)
			return -errno;
		out = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (out < 0) {
			rc = -errno;
			close(in);
			return rc;
		}
		rc = copy_data(in, out);
		if (!rc && fchown(out, st->st_uid, st->st_gid) < 0 && errno != EPERM)
			rc = -errno;
		if (!rc && fchmod(out, st->st_mode & 07777) < 0)
			rc = -errno;
		close(in);
		if (close(out) < 0 && !rc)
			rc = -errno;
	} else if (S_ISLNK(st->st_mode)) {
		len = readlink(src, target, sizeof(target) - 1);
		if (len < 0)
			return -errno;
		target[len] = '\0';
		if (symlink(target, tmp) < 0)
			return -errno;
		if (lchown(tmp, st->st_uid, st->st_gid) < 0 && errno != EPERM)
			rc = -errno;
	} else if (S_ISDIR(st->st_mode)) {
		if (mkdir(tmp, 0700) < 0)
			return -errno;
		if (lchown(tmp, st->st_uid, st->st_gid) < 0 && errno != EPERM)
			rc = -errno;
		if (!rc && chmod(tmp, st->st_mode & 07777) < 0)
			rc = -errno;
	} else {
		if (mknod(tmp, st->st_mode, st->st_rdev) < 0)
			return -errno;
		if (lchown(tmp, st->st_uid, st->st_gid) < 0 && errno != EPERM)
			rc = -errno;
		if (!rc && chmod(tmp, st->st_mode & 07777) < 0)
			rc = -errno;
	}
	if (!rc)
		rc = set_times(tmp, st);
	return rc;
}

int tree_copy_entry(const char *src, const char *dst, struct dim_err *e)
{
	struct stat st;
	bool linked;
	int rc;

	if (lstat(src, &st) < 0)
		return fail(e, -errno, "read", src);
	rc = make_entry(src, &st, dst, false, &linked);
	return rc ? fail(e, rc, "write", dst) : 0;
}

/* ---------------------------------------------------------------- mirror */

struct mirror {
	const struct tree_filter *f;
	unsigned flags;
	struct tree_stats *st;
	struct dim_err *e;
	char src[PATH_MAX], dst[PATH_MAX];
};

static bool same_attrs(const struct stat *a, const struct stat *b)
{
	return a->st_uid == b->st_uid && a->st_gid == b->st_gid &&
	       (a->st_mode & 07777) == (b->st_mode & 07777);
}

static bool same_entry(const char *src, const struct stat *s, const char *dst, const struct stat *d,
		       unsigned flags)
{
	char t1[PATH_MAX], t2[PATH_MAX];
	ssize_t n1, n2;

	if ((s->st_mode & S_IFMT) != (d->st_mode & S_IFMT))
		return false;
	if (S_ISREG(s->st_mode)) {
		if (flags & TREE_LINK)
			return s->st_dev == d->st_dev && s->st_ino == d->st_ino;
		return s->st_size == d->st_size && s->st_mtim.tv_sec == d->st_mtim.tv_sec &&
		       s->st_mtim.tv_nsec == d->st_mtim.tv_nsec && same_attrs(s, d);
	}
	if (S_ISLNK(s->st_mode)) {
		n1 = readlink(src, t1, sizeof(t1));
		n2 = readlink(dst, t2, sizeof(t2));
		return n1 >= 0 && n1 == n2 && !memcmp(t1, t2, (size_t)n1) &&
		       s->st_uid == d->st_uid && s->st_gid == d->st_gid;
	}
	if (S_ISDIR(s->st_mode))
		return true;	/* attributes are set after the contents */
	return s->st_rdev == d->st_rdev && same_attrs(s, d);
}

/* Put the entry src (stat s) at dst, replacing what is there. */
static int replace_entry(struct mirror *m, const char *src, const struct stat *s, const char *dst,
			 bool exists, bool dst_is_dir)
{
	char tmp[PATH_MAX];
	const char *slash = strrchr(dst, '/');
	bool linked;
	int rc, n;

	n = snprintf(tmp, sizeof(tmp), "%.*s/" TMP_PREFIX "%s", (int)(slash - dst), dst, slash + 1);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return fail(m->e, -ENAMETOOLONG, "write", dst);
	/* a leftover of an interrupted run */
	rc = tree_remove(tmp, m->e);
	if (rc)
		return rc;
	rc = make_entry(src, s, tmp, m->flags & TREE_LINK, &linked);
	if (rc) {
		tree_remove(tmp, m->e);
		return fail(m->e, rc, "write", dst);
	}
	if (exists && dst_is_dir) {
		/* a directory became something else: no atomic way; the new entry first */
		rc = tree_remove(dst, m->e);
		if (rc)
			return rc;
	}
	if (rename(tmp, dst) < 0) {
		rc = -errno;
		tree_remove(tmp, m->e);
		return fail(m->e, rc, "rename into", dst);
	}
	m->st->files++;
	return 0;
}

static int set_dir_attrs(struct mirror *m, const char *dst, const struct stat *s)
{
	struct stat d;

	if (lstat(dst, &d) < 0)
		return fail(m->e, -errno, "stat", dst);
	if (d.st_uid != s->st_uid || d.st_gid != s->st_gid) {
		if (lchown(dst, s->st_uid, s->st_gid) < 0 && errno != EPERM)
			return fail(m->e, -errno, "chown", dst);
	}
	if ((d.st_mode & 07777) != (s->st_mode & 07777) && chmod(dst, s->st_mode & 07777) < 0)
		return fail(m->e, -errno, "chmod", dst);
	if (d.st_mtim.tv_sec != s->st_mtim.tv_sec || d.st_mtim.tv_nsec != s->st_mtim.tv_nsec) {
		int rc = set_times(dst, s);

		if (rc)
			return fail(m->e, rc, "set the times of", dst);
	}
	return 0;
}

static int mirror_dir(struct mirror *m, size_t slen, size_t dlen, const char *rel);

static int mirror_child(struct mirror *m, size_t slen, size_t dlen, const char *rel,
			const char *name)
{
	char crel[PATH_MAX];
	struct stat s, d;
	bool exists;
	int scope, rc, n;

	n = rel[0] ? snprintf(crel, sizeof(crel), "%s/%s", rel, name)
		   : snprintf(crel, sizeof(crel), "%s", name);
	if (n < 0 || (size_t)n >= sizeof(crel) ||
	    slen + strlen(name) + 2 > sizeof(m->src) || dlen + strlen(name) + 2 > sizeof(m->dst))
		return fail(m->e, -ENAMETOOLONG, "read", m->src);
	scope = tree_in_scope(m->f, crel);
	if (!scope)
		return 0;
	sprintf(m->src + slen, "/%s", name);
	sprintf(m->dst + dlen, "/%s", name);
	if (lstat(m->src, &s) < 0) {
		if (errno == ENOENT)
			return 0;	/* gone meanwhile */
		return fail(m->e, -errno, "stat", m->src);
	}
	if (!tree_wanted(m->f, crel, S_ISDIR(s.st_mode)))
		return 0;
	exists = lstat(m->dst, &d) == 0;
	if (!exists && errno != ENOENT)
		return fail(m->e, -errno, "stat", m->dst);
	if (scope == 2 && !S_ISDIR(s.st_mode))
		return 0;
	if (S_ISDIR(s.st_mode)) {
		if (exists && !S_ISDIR(d.st_mode)) {
			rc = tree_remove(m->dst, m->e);
			if (rc)
				return rc;
			exists = false;
		}
		if (!exists) {
			if (mkdir(m->dst, 0700) < 0)
				return fail(m->e, -errno, "mkdir", m->dst);
			m->st->dirs++;
		}
		rc = mirror_dir(m, slen + 1 + strlen(name), dlen + 1 + strlen(name), crel);
		if (rc)
			return rc;
		m->src[slen + 1 + strlen(name)] = '\0';
		m->dst[dlen + 1 + strlen(name)] = '\0';
		return set_dir_attrs(m, m->dst, &s);
	}
	if (exists && same_entry(m->src, &s, m->dst, &d, m->flags)) {
		m->st->same++;
		return 0;
	}
	return replace_entry(m, m->src, &s, m->dst, exists, exists && S_ISDIR(d.st_mode));
}

/* m->src and m->dst hold the directories (lengths slen, dlen) of rel. */
static int mirror_dir(struct mirror *m, size_t slen, size_t dlen, const char *rel)
{
	char **sn = NULL, **dn = NULL;
	size_t ns = 0, nd = 0, i;
	char crel[PATH_MAX];
	int rc, n;

	rc = list_dir(m->src, &sn, &ns);
	if (rc)
		return fail(m->e, rc, "read", m->src);
	rc = list_dir(m->dst, &dn, &nd);
	if (rc) {
		names_free(sn, ns);
		return fail(m->e, rc, "read", m->dst);
	}
	for (i = 0; i < ns && !rc; i++) {
		rc = mirror_child(m, slen, dlen, rel, sn[i]);
		m->src[slen] = '\0';
		m->dst[dlen] = '\0';
	}
	/* removals last: what the source lacks, and what the filter does not take */
	for (i = 0; i < nd && !rc; i++) {
		struct stat s;
		bool keep;

		n = rel[0] ? snprintf(crel, sizeof(crel), "%s/%s", rel, dn[i])
			   : snprintf(crel, sizeof(crel), "%s", dn[i]);
		if (n < 0 || (size_t)n >= sizeof(crel) || tree_in_scope(m->f, crel) != 1)
			continue;
		keep = false;
		if (has_name(sn, ns, dn[i])) {
			snprintf(m->src + slen, sizeof(m->src) - slen, "/%s", dn[i]);
			keep = lstat(m->src, &s) == 0 && tree_wanted(m->f, crel, S_ISDIR(s.st_mode));
			m->src[slen] = '\0';
		}
		if (keep)
			continue;
		snprintf(m->dst + dlen, sizeof(m->dst) - dlen, "/%s", dn[i]);
		rc = tree_remove(m->dst, m->e);
		m->dst[dlen] = '\0';
		if (!rc)
			m->st->removed++;
	}
	names_free(sn, ns);
	names_free(dn, nd);
	return rc;
}

int tree_mirror(const char *src, const char *dst, const struct tree_filter *f, unsigned flags,
		struct tree_stats *st, struct dim_err *e)
{
	struct tree_stats dummy;
	struct mirror m = { .f = f, .flags = flags, .st = st ? st : &dummy, .e = e };
	struct stat s;
	int rc;

	memset(m.st, 0, sizeof(*m.st));
	if (strlen(src) >= sizeof(m.src) - 2 || strlen(dst) >= sizeof(m.dst) - 2)
		return dim_err_set(e, -ENAMETOOLONG, "%s: path too long", src);
	if (stat(src, &s) < 0)
		return fail(e, -errno, "read", src);
	if (!S_ISDIR(s.st_mode))
		return fail(e, -ENOTDIR, "read", src);
	rc = mkdir_p(dst, 0755);
	if (rc)
		return fail(e, rc, "mkdir", dst);
	strcpy(m.src, src);
	strcpy(m.dst, dst);
	rc = mirror_dir(&m, strlen(src), strlen(dst), "");
	if (rc)
		return rc;
	return set_dir_attrs(&m, dst, &s);
}

/* ---------------------------------------------------------------- scan */

static int list_add(struct tree_list *l, struct tree_entry *ent)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 256;
		struct tree_entry *v = realloc(l->e, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		l->e = v;
		l->cap = cap;
	}
	l->e[l->n++] = *ent;
	return 0;
}

static void entry_free(struct tree_entry *ent)
{
	free(ent->rel);
	free(ent->target);
}

void tree_list_free(struct tree_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		entry_free(&l->e[i]);
	free(l->e);
	memset(l, 0, sizeof(*l));
}

static char type_of(mode_t m)
{
	return S_ISREG(m) ? 'f' : S_ISDIR(m) ? 'd' : S_ISLNK(m) ? 'l' : 'n';
}

struct scan {
	const struct tree_filter *f;
	struct tree_list *out;
	struct dim_err *e;
	char path[PATH_MAX];
};

static int scan_dir(struct scan *sc, size_t plen, const char *rel)
{
	char **names;
	size_t n, i;
	int rc;

	rc = list_dir(sc->path, &names, &n);
	if (rc)
		return fail(sc->e, rc, "read", sc->path);
	for (i = 0; i < n && !rc; i++) {
		struct tree_entry ent = { 0 };
		char crel[PATH_MAX], target[PATH_MAX];
		struct stat st;
		int scope, k;

		k = rel[0] ? snprintf(crel, sizeof(crel), "%s/%s", rel, names[i])
			   : snprintf(crel, sizeof(crel), "%s", names[i]);
		if (k < 0 || (size_t)k >= sizeof(crel) ||
		    plen + strlen(names[i]) + 2 > sizeof(sc->path)) {
			rc = fail(sc->e, -ENAMETOOLONG, "read", sc->path);
			break;
		}
		scope = tree_in_scope(sc->f, crel);
		if (!scope)
			continue;
		sprintf(sc->path + plen, "/%s", names[i]);
		if (lstat(sc->path, &st) < 0) {
			rc = errno == ENOENT ? 0 : fail(sc->e, -errno, "stat", sc->path);
			sc->path[plen] = '\0';
			continue;
		}
		if (!tree_wanted(sc->f, crel, S_ISDIR(st.st_mode)) ||
		    (scope == 2 && !S_ISDIR(st.st_mode))) {
			sc->path[plen] = '\0';
			continue;
		}
		if (scope == 1) {
			ent.type = type_of(st.st_mode);
			ent.mode = st.st_mode & 07777;
			ent.uid = st.st_uid;
			ent.gid = st.st_gid;
			ent.size = S_ISDIR(st.st_mode) ? 0 : (uint64_t)st.st_size;
			ent.mtime_ns = S_ISDIR(st.st_mode) ? 0 :
				       (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
			ent.ino = S_ISREG(st.st_mode) ? (uint64_t)st.st_ino : 0;
			if (S_ISLNK(st.st_mode)) {
				ssize_t len = readlink(sc->path, target, sizeof(target) - 1);

				if (len < 0) {
					rc = fail(sc->e, -errno, "readlink", sc->path);
					break;
				}
				target[len] = '\0';
				ent.target = strdup(target);
			}
			ent.rel = strdup(crel);
			if (!ent.rel || (S_ISLNK(st.st_mode) && !ent.target) ||
			    list_add(sc->out, &ent) < 0) {
				entry_free(&ent);
				rc = dim_err_set(sc->e, -ENOMEM, "out of memory");
				break;
			}
		}
		if (S_ISDIR(st.st_mode))
			rc = scan_dir(sc, plen + 1 + strlen(names[i]), crel);
		sc->path[plen] = '\0';
	}
	names_free(names, n);
	return rc;
}

static int cmp_entries(const void *a, const void *b)
{
	return strcmp(((const struct tree_entry *)a)->rel, ((const struct tree_entry *)b)->rel);
}

int tree_scan(const char *root, const struct tree_filter *f, struct tree_list *out,
	      struct dim_err *e)
{
	struct scan sc = { .f = f, .out = out, .e = e };
	int rc;

	memset(out, 0, sizeof(*out));
	if (strlen(root) >= sizeof(sc.path) - 2)
		return dim_err_set(e, -ENAMETOOLONG, "%s: path too long", root);
	strcpy(sc.path, root);
	rc = scan_dir(&sc, strlen(root), "");
	if (rc) {
		tree_list_free(out);
		return rc;
	}
	/* directory order is not strcmp order ("a/b" vs "a.b"): sort once */
	if (out->n)
		qsort(out->e, out->n, sizeof(*out->e), cmp_entries);
	return 0;
}

/* ---------------------------------------------------------------- manifests */

int tree_escape(const char *in, char *out, size_t size)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	for (; *in; in++) {
		unsigned char c = (unsigned char)*in;

		if (c <= ' ' || c == '%' || c >= 0x7f) {
			if (o + 3 >= size)
				return -ENAMETOOLONG;
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		} else {
			if (o + 1 >= size)
				return -ENAMETOOLONG;
			out[o++] = (char)c;
		}
	}
	if (o >= size)
		return -ENAMETOOLONG;
	out[o] = '\0';
	return 0;
}

int tree_unescape(const char *in, char *out, size_t size)
{
	size_t o = 0;

	for (; *in; in++) {
		char c = *in;

		if (c == '%') {
			int h = hex_digit(in[1]), l = h < 0 ? -1 : hex_digit(in[2]);

			if (h < 0 || l < 0)
				return -EINVAL;
			c = (char)(h << 4 | l);
			if (!c)
				return -EINVAL;
			in += 2;
		}
		if (o + 1 >= size)
			return -ENAMETOOLONG;
		out[o++] = c;
	}
	out[o] = '\0';
	return 0;
}

#define MANIFEST_HEADER "# dim manifest 1: type mode uid gid size mtime_ns ino path [target]\n"

int tree_list_format(const struct tree_list *l, char **out, size_t *out_len, struct dim_err *e)
{
	char p[3 * PATH_MAX + 1], t[3 * PATH_MAX + 1];
	char *buf = NULL;
	size_t len = 0;
	FILE *mem;
	size_t i;

	*out = NULL;
	*out_len = 0;
	mem = open_memstream(&buf, &len);
	if (!mem)
		return dim_err_set(e, -ENOMEM, "out of memory");
	fputs(MANIFEST_HEADER, mem);
	for (i = 0; i < l->n; i++) {
		const struct tree_entry *x = &l->e[i];

		if (tree_escape(x->rel, p, sizeof(p)) < 0 ||
		    tree_escape(x->target ? x->target : "", t, sizeof(t)) < 0) {
			fclose(mem);
			free(buf);
			return dim_err_set(e, -ENAMETOOLONG, "%s: path too long", x->rel);
		}
		fprintf(mem, "%c %04o %u %u %llu %lld %llu %s%s%s\n", x->type, (unsigned)x->mode,
			(unsigned)x->uid, (unsigned)x->gid, (unsigned long long)x->size,
			(long long)x->mtime_ns, (unsigned long long)x->ino, p, x->target ? " " : "", t);
	}
	if (fclose(mem) != 0) {
		free(buf);
		return dim_err_set(e, -ENOMEM, "out of memory");
	}
	*out = buf;
	*out_len = len;
	return 0;
}

int tree_list_write(const char *path, const struct tree_list *l, struct dim_err *e)
{
	struct atomic_file af;
	char *buf;
	size_t len;
	int rc;

	rc = tree_list_format(l, &buf, &len, e);
	if (rc)
		return rc;
	rc = atomic_open(&af, path, 0644);
	if (rc) {
		free(buf);
		return fail(e, rc, "write", path);
	}
	rc = write_full(af.fd, buf, len);
	free(buf);
	if (rc) {
		atomic_abort(&af);
		return fail(e, rc, "write", path);
	}
	rc = atomic_commit(&af);
	return rc ? fail(e, rc, "write", path) : 0;
}

/* A whole field of decimal (base 10) or octal (base 8) digits, no sign, no overflow. */
static int field_num(const char *s, int base, unsigned long long max, unsigned long long *v)
{
	unsigned long long n = 0;
	const char *p;

	if (!*s)
		return -EINVAL;
	for (p = s; *p; p++) {
		unsigned d = (unsigned)(*p - '0');

		if (*p < '0' || d >= (unsigned)base || n > (max - d) / (unsigned)base)
			return -EINVAL;
		n = n * (unsigned)base + d;
	}
	*v = n;
	return 0;
}

static int field_mtime(const char *s, long long *v)
{
	unsigned long long n;

	if (s[0] == '-') {
		if (field_num(s + 1, 10, (unsigned long long)LLONG_MAX, &n) < 0)
			return -EINVAL;
		*v = -(long long)n;
		return 0;
	}
	if (field_num(s, 10, (unsigned long long)LLONG_MAX, &n) < 0)
		return -EINVAL;
	*v = (long long)n;
	return 0;
}

/*
 * One manifest line, as tree_list_format() writes it:
 *   TYPE MODE UID GID SIZE MTIME_NS INO PATH [TARGET]
 * TYPE one of f d l n; MODE octal, at most 07777; the numbers decimal,
 * unsigned but MTIME_NS; PATH and TARGET escaped (tree_escape()), PATH
 * relative and not empty, TARGET for a symbolic link only; fields
 * separated by spaces.  Anything else is refused: the manifest decides what
 * every blade is sent, and a damaged one must not half-work.
 */
static int parse_line(char *line, struct tree_entry *x)
{
	char type, p[PATH_MAX], t[PATH_MAX], *fields[9];
	unsigned long long mode, uid, gid, size, ino;
	long long mtime;
	int n = 0;
	char *save = NULL, *tok;

	for (tok = strtok_r(line, " ", &save); tok && n < 9; tok = strtok_r(NULL, " ", &save))
		fields[n++] = tok;
	if (n < 8 || strlen(fields[0]) != 1 || tok)
		return -EINVAL;
	type = fields[0][0];
	if (!strchr("fdln", type) || field_num(fields[1], 8, 07777, &mode) < 0 ||
	    field_num(fields[2], 10, UINT32_MAX, &uid) < 0 ||
	    field_num(fields[3], 10, UINT32_MAX, &gid) < 0 ||
	    field_num(fields[4], 10, UINT64_MAX, &size) < 0 || field_mtime(fields[5], &mtime) < 0 ||
	    field_num(fields[6], 10, UINT64_MAX, &ino) < 0)
		return -EINVAL;
	if (tree_unescape(fields[7], p, sizeof(p)) < 0 || !p[0] || p[0] == '/')
		return -EINVAL;
	if ((type == 'l') != (n == 9))
		return -EINVAL;
	if (n == 9 && tree_unescape(fields[8], t, sizeof(t)) < 0)
		return -EINVAL;
	memset(x, 0, sizeof(*x));
	x->type = type;
	x->mode = (mode_t)mode;
	x->uid = (uid_t)uid;
	x->gid = (gid_t)gid;
	x->size = size;
	x->mtime_ns = mtime;
	x->ino = ino;
	x->rel = strdup(p);
	x->target = n == 9 ? strdup(t) : NULL;
	if (!x->rel || (n == 9 && !x->target)) {
		entry_free(x);
		return -ENOMEM;
	}
	return 0;
}

int tree_list_parse(const char *buf, size_t len, const char *name, struct tree_list *out,
		    struct dim_err *e)
{
	char line[4 * 3 * PATH_MAX];
	unsigned lineno = 0;
	size_t pos = 0;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	while (pos < len) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (buf + pos)) : len - pos;
		struct tree_entry x;

		lineno++;
		/* a line longer than any we write, a NUL inside one, or no newline at the end */
		if (!nl || n >= sizeof(line) || memchr(buf + pos, '\0', n)) {
			rc = -EINVAL;
		} else if (n && buf[pos] != '#') {
			memcpy(line, buf + pos, n);
			line[n] = '\0';
			rc = parse_line(line, &x);
			if (!rc && out->n && strcmp(out->e[out->n - 1].rel, x.rel) >= 0) {
				entry_free(&x);
				rc = -EINVAL;
			}
			if (!rc && list_add(out, &x) < 0) {
				entry_free(&x);
				rc = -ENOMEM;
			}
		}
		if (rc) {
			if (rc == -ENOMEM)
				dim_err_set(e, rc, "out of memory");
			else
				dim_err_set(e, rc, "%s:%u: not a dim manifest line (remove the file to restage everything)",
					    name, lineno);
			break;
		}
		pos += n + 1;
	}
	if (rc)
		tree_list_free(out);
	return rc;
}

int tree_list_read(const char *path, bool missing_ok, struct tree_list *out, struct dim_err *e)
{
	char *buf;
	size_t len;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = read_file(path, &buf, &len);
	if (rc == -ENOENT && missing_ok)
		return 0;
	if (rc)
		return fail(e, rc, "read", path);
	rc = tree_list_parse(buf, len, path, out, e);
	free(buf);
	return rc;
}

static bool entry_same(const struct tree_entry *a, const struct tree_entry *b)
{
	return a->type == b->type && a->mode == b->mode && a->uid == b->uid && a->gid == b->gid &&
	       a->size == b->size && a->mtime_ns == b->mtime_ns && a->ino == b->ino &&
	       !strcmp(a->target ? a->target : "", b->target ? b->target : "");
}

static int ptr_push(const struct tree_entry ***v, size_t *n, const struct tree_entry *x)
{
	const struct tree_entry **nv;

	/* grow at powers of two */
	if (!(*n & (*n - 1)) || !*n) {
		nv = realloc((void *)*v, (*n ? *n * 2 : 16) * sizeof(**v));
		if (!nv)
			return -ENOMEM;
		*v = nv;
	}
	(*v)[(*n)++] = x;
	return 0;
}

static int entry_dup(struct tree_list *l, const struct tree_entry *x)
{
	struct tree_entry c = *x;

	c.rel = strdup(x->rel);
	c.target = x->target ? strdup(x->target) : NULL;
	if (!c.rel || (x->target && !c.target) || list_add(l, &c) < 0) {
		entry_free(&c);
		return -ENOMEM;
	}
	return 0;
}

int tree_diff(const struct tree_list *old, const struct tree_list *now, const char *prefix,
	      struct tree_diff *d, struct tree_list *merged)
{
	struct tree_filter scope = { .prefix = prefix };
	size_t i = 0, j = 0;
	int rc = 0;

	memset(d, 0, sizeof(*d));
	if (merged)
		memset(merged, 0, sizeof(*merged));
	while (!rc && (i < old->n || j < now->n)) {
		int c = i == old->n ? 1 : j == now->n ? -1 : strcmp(old->e[i].rel, now->e[j].rel);

		if (c < 0) {
			/* only in the manifest: gone, if inside the prefix */
			if (tree_in_scope(&scope, old->e[i].rel) == 1)
				rc = ptr_push(&d->removed, &d->n_removed, &old->e[i]);
			else if (merged)
				rc = entry_dup(merged, &old->e[i]);
			i++;
		} else if (c > 0) {
			rc = ptr_push(&d->changed, &d->n_changed, &now->e[j]);
			if (!rc && merged)
				rc = entry_dup(merged, &now->e[j]);
			j++;
		} else {
			if (!entry_same(&old->e[i], &now->e[j]))
				rc = ptr_push(&d->changed, &d->n_changed, &now->e[j]);
			if (!rc && merged)
				rc = entry_dup(merged, &now->e[j]);
			i++;
			j++;
		}
	}
	if (rc) {
		tree_diff_free(d);
		if (merged)
			tree_list_free(merged);
	}
	return rc;
}

void tree_diff_free(struct tree_diff *d)
{
	free((void *)d->changed);
	free((void *)d->removed);
	memset(d, 0, sizeof(*d));
}
