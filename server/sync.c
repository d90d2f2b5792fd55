/* SPDX-License-Identifier: MIT */
/*
 * The update hierarchy's steps: rsync command lines for the management
 * node (sync.h), and what sync_image does inside an image server: the RO
 * tree from the master copy, the RW part staged per blade.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "sync.h"
#include "sync_lock.h"

/* ---------------------------------------------------------------- argv */

int sync_argv_add(struct sync_argv *a, const char *s)
{
	char *d;

	if (a->n + 2 > a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 16;
		char **v = realloc(a->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		a->v = v;
		a->cap = cap;
	}
	d = strdup(s);
	if (!d)
		return -ENOMEM;
	a->v[a->n++] = d;
	a->v[a->n] = NULL;
	return 0;
}

int sync_argv_addf(struct sync_argv *a, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int rc;

	va_start(ap, fmt);
	rc = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (rc < 0)
		return -ENOMEM;
	rc = sync_argv_add(a, s);
	free(s);
	return rc;
}

int sync_argv_add_words(struct sync_argv *a, const char *words)
{
	const char *p = words;
	char w[512];
	int rc;

	while (*p) {
		size_t n = strspn(p, " \t");

		p += n;
		n = strcspn(p, " \t");
		if (!n)
			break;
		if (n >= sizeof(w))
			return -ENAMETOOLONG;
		memcpy(w, p, n);
		w[n] = '\0';
		rc = sync_argv_add(a, w);
		if (rc)
			return rc;
		p += n;
	}
	return 0;
}

void sync_argv_free(struct sync_argv *a)
{
	size_t i;

	for (i = 0; i < a->n; i++)
		free(a->v[i]);
	free(a->v);
	memset(a, 0, sizeof(*a));
}

/* ---------------------------------------------------------------- names and paths */

int sync_path_norm(const char *in, char *out, size_t size, struct dim_err *e)
{
	const char *p = in;
	size_t o = 0;

	while (*p == '/')
		p++;
	while (*p) {
		size_t n = strcspn(p, "/"), i;

		if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return dim_err_set(e, -EINVAL, "PATH %s: no \".\" or \"..\" components", in);
		for (i = 0; i < n; i++) {
			char c = p[i];

			if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			      strchr("._+-@,=:", c)))
				return dim_err_set(e, -EINVAL,
						   "PATH %s: only letters, digits and ._+-@,=: (it travels on remote command lines)",
						   in);
		}
		if (o + n + 2 > size)
			return dim_err_set(e, -ENAMETOOLONG, "PATH %s: too long", in);
		if (o)
			out[o++] = '/';
		memcpy(out + o, p, n);
		o += n;
		p += n;
		while (*p == '/')
			p++;
	}
	out[o] = '\0';
	return 0;
}

int sync_pick_image(const struct cluster *c, const char *name, bool need_master, unsigned *out,
		    struct dim_err *e)
{
	unsigned i, found = CL_NONE, n = 0;

	if (name) {
		i = cluster_find_image(c, name);
		if (i == CL_NONE)
			return dim_err_set(e, -ENOENT, "%s: no image %s", c->file, name);
		if (need_master && !c->images[i].master[0])
			return dim_err_set(e, -EINVAL,
					   "%s: image %s has no master=\"HOST:/PATH\" or \"rsync://HOST/MODULE\" to pull from",
					   c->file, name);
		*out = i;
		return 0;
	}
	/* the only image with a master is the one the sync commands mean */
	for (i = 0; i < c->n_images; i++)
		if (c->images[i].master[0]) {
			found = i;
			n++;
		}
	if (n == 1 || (!need_master && c->n_images == 1)) {
		*out = n == 1 ? found : 0;
		return 0;
	}
	return dim_err_set(e, -EINVAL, "%s: %u images%s; say which with --image", c->file,
			   need_master ? n : c->n_images, need_master ? " with a master" : "");
}

static int fmt(char *buf, size_t size, const char *f, ...) __attribute__((format(printf, 3, 4)));
static int fmt(char *buf, size_t size, const char *f, ...)
{
	va_list ap;
	int n;

	va_start(ap, f);
	n = vsnprintf(buf, size, f, ap);
	va_end(ap);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int sync_mgmt_master(const struct cluster *c, const struct cl_image *img, char *buf, size_t size)
{
	return fmt(buf, size, "%s/masters/%s", c->mgmt_storage[0] ? c->mgmt_storage : "/var/lib/dim",
		   img->name);
}

int sync_image_dir(const struct cl_server *s, const struct cl_image *img, const char *what,
		   char *buf, size_t size)
{
	return fmt(buf, size, "%s/images/%s%s%s", s->storage, img->name, what ? "/" : "",
		   what ? what : "");
}

/* ---------------------------------------------------------------- rsync */

int sync_rsync_common(struct sync_argv *a, const struct cl_image *img, const struct sync_opts *o,
		      bool remote_shell)
{
	static const char *const opts[] = {
		"rsync", "-aHS", "--numeric-ids", "--delete", "--delete-delay", "--delete-excluded",
		"--delay-updates", "--mkpath", "--stats",
	};
	unsigned i;
	int rc = 0;

	for (i = 0; !rc && i < sizeof(opts) / sizeof(opts[0]); i++)
		rc = sync_argv_add(a, opts[i]);
	if (!rc)
		rc = sync_argv_addf(a, "--timeout=%u", o->timeout_s ? o->timeout_s : SYNC_RSYNC_TIMEOUT);
	if (!rc && o->dry_run)
		rc = sync_argv_add(a, "--dry-run");
	if (!rc && o->checksum)
		rc = sync_argv_add(a, "--checksum");
	/* not for rsync://: with a remote shell rsync would tunnel the daemon protocol through it */
	if (!rc && o->rsh && remote_shell)
		rc = sync_argv_addf(a, "--rsh=%s", o->rsh);
	/* keep-out: "/var/log/STAR" is anchored at the transfer's root, as rsync reads it */
	for (i = 0; !rc && i < img->n_keep_out; i++)
		rc = sync_argv_addf(a, "--exclude=%s", img->keep_out[i]);
	return rc;
}

/* SRC + "/" for the whole tree, or SRC + "/./" + PATH with -R for a subtree. */
static int add_source(struct sync_argv *a, const char *base, const char *path)
{
	size_t n = strlen(base);
	int rc;

	while (n > 1 && base[n - 1] == '/')
		n--;
	/* "host:/" -> "host:" + "/" */
	if (n && base[n - 1] == '/')
		n--;
	if (!path[0])
		return sync_argv_addf(a, "%.*s/", (int)n, base);
	rc = sync_argv_add(a, "--relative");
	if (!rc)
		rc = sync_argv_addf(a, "%.*s/./%s", (int)n, base, path);
	return rc;
}

int sync_master_argv(const struct cluster *c, const struct cl_image *img, const struct sync_opts *o,
		     struct sync_argv *a, struct dim_err *e)
{
	char dst[PATH_MAX];
	int rc;

	if (!img->master[0])
		return dim_err_set(e, -EINVAL, "image %s has no master= to pull from", img->name);
	if (sync_mgmt_master(c, img, dst, sizeof(dst)))
		return dim_err_set(e, -ENAMETOOLONG, "image %s: master copy path too long", img->name);
	rc = sync_rsync_common(a, img, o, strncmp(img->master, "rsync://", 8) != 0);
	if (!rc)
		rc = add_source(a, img->master, o->path);
	if (!rc)
		rc = sync_argv_addf(a, "%s/", dst);
	return rc ? dim_err_set(e, rc, "out of memory") : 0;
}

int sync_server_argv(const struct cluster *c, const struct cl_server *s, const struct cl_image *img,
		     const struct sync_opts *o, struct sync_argv *a, struct dim_err *e)
{
	char src[PATH_MAX], addr[16];
	int rc;

	if (sync_mgmt_master(c, img, src, sizeof(src)))
		return dim_err_set(e, -ENAMETOOLONG, "image %s: master copy path too long", img->name);
	snprintf(addr, sizeof(addr), "%u.%u.%u.%u", ntohl(s->addr.s_addr) >> 24,
		 (ntohl(s->addr.s_addr) >> 16) & 255, (ntohl(s->addr.s_addr) >> 8) & 255,
		 ntohl(s->addr.s_addr) & 255);
	rc = sync_rsync_common(a, img, o, strcmp(s->sync, "rsyncd") != 0);
	if (!rc)
		rc = add_source(a, src, o->path);
	if (!rc && !strcmp(s->sync, "rsyncd"))
		rc = sync_argv_addf(a, "rsync://%s/dim/images/%s/master/", addr, img->name);
	else if (!rc)
		rc = sync_argv_addf(a, "%s:%s/images/%s/master/", addr, s->storage, img->name);
	return rc ? dim_err_set(e, rc, "out of memory") : 0;
}

int sync_remote_argv(const struct cl_server *s, const char *rsh, const char *remote_dim,
		     const char *const *args, struct sync_argv *a, struct dim_err *e)
{
	char addr[16];
	int rc;
	size_t i;

	snprintf(addr, sizeof(addr), "%u.%u.%u.%u", ntohl(s->addr.s_addr) >> 24,
		 (ntohl(s->addr.s_addr) >> 16) & 255, (ntohl(s->addr.s_addr) >> 8) & 255,
		 ntohl(s->addr.s_addr) & 255);
	rc = sync_argv_add_words(a, rsh && rsh[0] ? rsh : "ssh");
	if (!rc && (!rsh || !rsh[0]))
		rc = sync_argv_add(a, "-oBatchMode=yes");
	if (!rc)
		rc = sync_argv_add(a, addr);
	if (!rc)
		rc = sync_argv_add_words(a, remote_dim && remote_dim[0] ? remote_dim : "dim");
	for (i = 0; !rc && args[i]; i++) {
		/* the remote shell splits the command line again: only plain words */
		if (strpbrk(args[i], " \t\n'\"\\$`;&|<>*?()[]{}~#!"))
			return dim_err_set(e, -EINVAL, "%s: not passed to a remote shell", args[i]);
		rc = sync_argv_add(a, args[i]);
	}
	return rc ? dim_err_set(e, rc, "out of memory") : 0;
}

/* ---------------------------------------------------------------- filters */

static bool is_overlay(const struct cl_image *img)
{
	return !strcmp(img->mode, "overlay");
}

void sync_filter_ro(const struct cl_image *img, const char *path, struct tree_filter *f)
{
	memset(f, 0, sizeof(*f));
	/* overlay: the RO tree is the whole root; bind: the shared directories only */
	f->part = is_overlay(img) ? TREE_ALL : TREE_SHARED;
	f->shared = img->shared;
	f->n_shared = img->n_shared;
	f->skip = img->keep_out;
	f->n_skip = img->n_keep_out;
	f->prefix = path;
}

void sync_filter_rw(const struct cl_image *img, const char *path, char **skip,
		    struct tree_filter *f)
{
	unsigned n = 0, i;

	for (i = 0; i < img->n_keep_out; i++)
		skip[n++] = img->keep_out[i];
	for (i = 0; i < img->n_per_blade; i++)
		skip[n++] = img->per_blade[i];
	skip[n++] = (char *)(uintptr_t)"/etc/hostname";
	skip[n++] = (char *)(uintptr_t)"/etc/hosts";
	memset(f, 0, sizeof(*f));
	f->part = TREE_RW;
	f->shared = img->shared;
	f->n_shared = img->n_shared;
	f->skip = skip;
	f->n_skip = n;
	f->prefix = path;
}

/* ---------------------------------------------------------------- staging */

static int join3(char *buf, size_t size, const char *a, const char *b)
{
	return fmt(buf, size, "%s/%s", a, b);
}

/* Make the directories above rel in tmp, each as the master has it. */
static int stage_parents(const char *tmp, const char *master, const char *rel, struct dim_err *e)
{
	char part[PATH_MAX], d[PATH_MAX], s[PATH_MAX];
	const char *p = rel;
	struct stat st;
	int rc;

	while ((p = strchr(p, '/'))) {
		snprintf(part, sizeof(part), "%.*s", (int)(p - rel), rel);
		p++;
		if (join3(d, sizeof(d), tmp, part) || join3(s, sizeof(s), master, part))
			return dim_err_set(e, -ENAMETOOLONG, "%s: path too long", rel);
		if (lstat(d, &st) == 0) {
			if (S_ISDIR(st.st_mode))
				continue;
			rc = tree_remove(d, e);
			if (rc)
				return rc;
		}
		rc = tree_copy_entry(s, d, e);
		if (rc == -ENOENT)
			rc = mkdir(d, 0755) < 0 ? dim_err_set(e, -errno, "mkdir %s: %m", d) : 0;
		if (rc)
			return rc;
	}
	return 0;
}

struct strset {
	char **v;
	size_t n, cap;
};

static int strset_add(struct strset *s, const char *x)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		char **v = realloc(s->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n] = strdup(x);
	if (!s->v[s->n])
		return -ENOMEM;
	s->n++;
	return 0;
}

static void strset_free(struct strset *s)
{
	while (s->n)
		free(s->v[--s->n]);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

static int cmp_rev(const void *a, const void *b)
{
	return -strcmp(*(char *const *)a, *(char *const *)b);
}

/* Is abs ("/etc/x") one of the changed entries?  changed is sorted by rel. */
static bool in_changed(const struct tree_diff *d, const char *abs)
{
	size_t lo = 0, hi = d->n_changed;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(d->changed[mid]->rel, abs + 1);

		if (!c)
			return true;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

static int write_removals(const char *tmp, struct strset *rm, const struct tree_diff *d,
			  struct dim_err *e)
{
	char path[PATH_MAX];
	struct atomic_file af;
	size_t i;
	int rc = 0;

	if (join3(path, sizeof(path), tmp, ".dim-remove"))
		return dim_err_set(e, -ENAMETOOLONG, "%s: path too long", tmp);
	unlink(path);
	/* deepest first; a path staged again is no longer removed; no duplicates */
	qsort(rm->v, rm->n, sizeof(*rm->v), cmp_rev);
	rc = atomic_open(&af, path, 0600);
	if (rc)
		return dim_err_set(e, rc, "write %s: %s", path, strerror(-rc));
	for (i = 0; !rc && i < rm->n; i++) {
		if ((i && !strcmp(rm->v[i], rm->v[i - 1])) || in_changed(d, rm->v[i]) ||
		    strchr(rm->v[i], '\n'))
			continue;
		rc = write_full(af.fd, rm->v[i], strlen(rm->v[i]));
		if (!rc)
			rc = write_full(af.fd, "\n", 1);
	}
	if (rc) {
		atomic_abort(&af);
		return dim_err_set(e, rc, "write %s: %s", path, strerror(-rc));
	}
	rc = atomic_commit(&af);
	return rc ? dim_err_set(e, rc, "write %s: %s", path, strerror(-rc)) : 0;
}

int stage_removals_parse(const char *buf, size_t len, char ***paths, size_t *n)
{
	struct strset s = { 0 };
	char line[PATH_MAX];
	size_t pos = 0;
	int rc = 0;

	*paths = NULL;
	*n = 0;
	while (!rc && pos < len) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t k = nl ? (size_t)(nl - (buf + pos)) : len - pos;

		/* absolute, not "/" alone, no NUL, short enough to be a path */
		if (k > 1 && k < sizeof(line) && buf[pos] == '/' && !memchr(buf + pos, '\0', k)) {
			memcpy(line, buf + pos, k);
			line[k] = '\0';
			rc = strset_add(&s, line);
		}
		pos += k + 1;
	}
	if (rc) {
		strset_free(&s);
		return rc;
	}
	*paths = s.v;
	*n = s.n;
	return 0;
}

/* pending/.dim-remove's paths, added to rm.  The blade can write the file. */
static int read_removals(const char *pending, struct strset *rm)
{
	char path[PATH_MAX], *buf, **v;
	size_t len, n, i;
	int rc;

	if (join3(path, sizeof(path), pending, ".dim-remove"))
		return -ENAMETOOLONG;
	rc = read_file(path, &buf, &len);
	if (rc)
		return rc == -ENOENT ? 0 : rc;
	rc = stage_removals_parse(buf, len, &v, &n);
	free(buf);
	for (i = 0; i < n; i++) {
		if (!rc)
			rc = strset_add(rm, v[i]);
		free(v[i]);
	}
	free(v);
	return rc;
}

int stage_prepare(const char *rwdir, const char *master, const struct tree_diff *d, char **tmp_out,
		  struct dim_err *e)
{
	char pending[PATH_MAX], tmp[PATH_MAX], s[PATH_MAX], t[PATH_MAX], abs[PATH_MAX];
	struct strset rm = { 0 };
	struct stat st;
	size_t i;
	int rc;

	*tmp_out = NULL;
	if (join3(pending, sizeof(pending), rwdir, "pending") ||
	    join3(tmp, sizeof(tmp), rwdir, ".dim-tmp.pending-XXXXXX"))
		return dim_err_set(e, -ENAMETOOLONG, "%s: path too long", rwdir);
	if (!mkdtemp(tmp))
		return dim_err_set(e, -errno, "mkdir in %s: %m", rwdir);
	rc = 0;
	if (lstat(pending, &st) == 0 && S_ISDIR(st.st_mode)) {
		/* the blade's own earlier pending: its entries, linked (never modified) */
		rc = tree_mirror(pending, tmp, NULL, TREE_LINK, NULL, e);
		if (!rc && read_removals(pending, &rm) < 0)
			rc = dim_err_set(e, -EIO, "read %s/.dim-remove: %m", pending);
	}
	for (i = 0; !rc && i < d->n_changed; i++) {
		const struct tree_entry *x = d->changed[i];

		if (join3(s, sizeof(s), master, x->rel) || join3(t, sizeof(t), tmp, x->rel)) {
			rc = dim_err_set(e, -ENAMETOOLONG, "%s: path too long", x->rel);
			break;
		}
		rc = stage_parents(tmp, master, x->rel, e);
		if (rc)
			break;
		if (lstat(t, &st) == 0) {
			if (x->type == 'd' && S_ISDIR(st.st_mode)) {
				/* a directory staged before: its contents stay, its attributes update */
				if (lstat(s, &st) == 0 &&
				    (lchown(t, st.st_uid, st.st_gid) < 0 || chmod(t, st.st_mode & 07777) < 0))
					rc = dim_err_set(e, -errno, "set attributes of %s: %m", t);
				continue;
			}
			rc = tree_remove(t, e);
			if (rc)
				break;
		}
		rc = tree_copy_entry(s, t, e);
		if (rc == -ENOENT && access(s, F_OK) < 0) {
			/* gone from the master since the scan: the next sync stages that */
			rc = 0;
		}
	}
	for (i = 0; !rc && i < d->n_removed; i++) {
		const struct tree_entry *x = d->removed[i];

		if (fmt(abs, sizeof(abs), "/%s", x->rel) || join3(t, sizeof(t), tmp, x->rel)) {
			rc = dim_err_set(e, -ENAMETOOLONG, "%s: path too long", x->rel);
			break;
		}
		rc = tree_remove(t, e);
		if (!rc && strset_add(&rm, abs) < 0)
			rc = dim_err_set(e, -ENOMEM, "out of memory");
	}
	if (!rc && rm.n)
		rc = write_removals(tmp, &rm, d, e);
	strset_free(&rm);
	if (rc) {
		struct dim_err ignore;

		tree_remove(tmp, &ignore);
		return rc;
	}
	*tmp_out = strdup(tmp);
	if (!*tmp_out) {
		struct dim_err ignore;

		tree_remove(tmp, &ignore);
		return dim_err_set(e, -ENOMEM, "out of memory");
	}
	return 0;
}

int stage_commit(const char *rwdir, char *tmp, struct dim_err *e)
{
	char pending[PATH_MAX];
	int rc;

	if (join3(pending, sizeof(pending), rwdir, "pending"))
		return dim_err_set(e, -ENAMETOOLONG, "%s: path too long", rwdir);
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, pending, RENAME_EXCHANGE) == 0) {
		/* tmp now holds the old pending */
		rc = tree_remove(tmp, e);
		return rc;
	}
	if (errno != ENOENT)
		return dim_err_set(e, -errno, "rename %s to %s: %m", tmp, pending);
	/* no pending (or the booting blade just claimed it): ours is the new one */
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, pending, RENAME_NOREPLACE) < 0)
		return dim_err_set(e, -errno, "rename %s to %s: %m", tmp, pending);
	return 0;
}

/* ---------------------------------------------------------------- sync_image */

static int sync_fs(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = 0;

	if (fd < 0)
		return -errno;
	if (syncfs(fd) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

int sync_image_apply(const struct cluster *c, const struct cl_server *s, const struct cl_image *img,
		     const struct cl_selection *sel, const char *path, struct sync_image_result *r,
		     struct dim_err *e)
{
	char master[PATH_MAX], ro[PATH_MAX], manifest[PATH_MAX], lockp[PATH_MAX], rwdir[PATH_MAX];
	char rwimg[PATH_MAX + 8];
	char **skip = NULL, **tmps = NULL;
	unsigned *who = NULL, n_tmp = 0, i, k;
	struct tree_list old = { 0 }, now = { 0 }, merged = { 0 };
	struct tree_diff d = { 0 };
	struct tree_filter f;
	struct sync_lock lock = { -1 };
	unsigned img_idx = (unsigned)(img - c->images);
	struct stat st;
	int rc;

	memset(r, 0, sizeof(*r));
	r->overlay = is_overlay(img);
	if (sync_image_dir(s, img, "master", master, sizeof(master)) ||
	    sync_image_dir(s, img, "ro", ro, sizeof(ro)) ||
	    sync_image_dir(s, img, "rw.manifest", manifest, sizeof(manifest)) ||
	    sync_image_dir(s, img, ".lock", lockp, sizeof(lockp)))
		return dim_err_set(e, -ENAMETOOLONG, "%s: storage path too long", s->name);
	if (stat(master, &st) < 0 || !S_ISDIR(st.st_mode))
		return dim_err_set(e, -ENOENT, "%s: no master copy of image %s here (dim sync_server puts it there)",
				   master, img->name);
	rc = sync_lock_take(&lock, lockp, "dim sync_image", e);
	if (rc)
		return rc;

	/* 1. the RO tree: live for the blades, entry by entry */
	sync_filter_ro(img, path, &f);
	rc = tree_mirror(master, ro, &f, TREE_LINK, &r->ro, e);
	if (rc) {
		dim_err_prefix(e, "RO tree %s", ro);
		goto out;
	}
	if (r->overlay)
		goto out;	/* the RO tree is the whole root: nothing to stage */

	/* 2. what changed in the RW part since the blades were last given it */
	skip = calloc(img->n_keep_out + img->n_per_blade + 2, sizeof(*skip));
	if (!skip) {
		rc = dim_err_set(e, -ENOMEM, "out of memory");
		goto out;
	}
	sync_filter_rw(img, path, skip, &f);
	rc = tree_scan(master, &f, &now, e);
	if (!rc)
		rc = tree_list_read(manifest, true, &old, e);
	if (!rc && tree_diff(&old, &now, path, &d, &merged) < 0)
		rc = dim_err_set(e, -ENOMEM, "out of memory");
	if (rc)
		goto out;
	r->changed = d.n_changed;
	r->removed = d.n_removed;
	if (!d.n_changed && !d.n_removed)
		goto out;

	/* 3. a new pending/ per blade, all built, synced, then renamed into place */
	tmps = calloc(s->n_blades ? s->n_blades : 1, sizeof(*tmps));
	who = calloc(s->n_blades ? s->n_blades : 1, sizeof(*who));
	if (!tmps || !who) {
		rc = dim_err_set(e, -ENOMEM, "out of memory");
		goto out;
	}
	for (k = 0; k < s->n_blades && !rc; k++) {
		const struct cl_blade *b = &c->blades[s->first_blade + k];

		if (b->absent || b->image != img_idx || (sel && !cl_selected(sel, b->index)))
			continue;
		if (cluster_rw_dir(c, b, img, rwdir, sizeof(rwdir)) < 0) {
			rc = dim_err_set(e, -ENAMETOOLONG, "%s: RW directory path too long", b->name);
			break;
		}
		snprintf(rwimg, sizeof(rwimg), "%s/rw.img", rwdir);
		if (access(rwimg, F_OK) < 0) {
			r->skipped++;	/* no image yet: dim image builds it from the master as it is */
			continue;
		}
		rc = stage_prepare(rwdir, master, &d, &tmps[n_tmp], e);
		if (rc) {
			dim_err_prefix(e, "blade %s", b->name);
			break;
		}
		who[n_tmp++] = b->index;
	}
	if (!rc && n_tmp && (rc = sync_fs(master)) < 0)
		dim_err_set(e, rc, "%s: syncfs: %s", master, strerror(-rc));
	for (i = 0; !rc && i < n_tmp; i++) {
		if (cluster_rw_dir(c, &c->blades[who[i]], img, rwdir, sizeof(rwdir)) < 0)
			continue;
		rc = stage_commit(rwdir, tmps[i], e);
		if (rc)
			dim_err_prefix(e, "blade %s", c->blades[who[i]].name);
		else
			r->staged++;
		free(tmps[i]);
		tmps[i] = NULL;
	}
	if (!rc && n_tmp && (rc = sync_fs(master)) < 0)
		dim_err_set(e, rc, "%s: syncfs: %s", master, strerror(-rc));
	/*
	 * 4. last: the manifest, so an interrupted run stages the same again.
	 * Not after a RANGE: the other blades have not had these changes yet;
	 * the next sync without one stages them for all (again, for these:
	 * installing is idempotent).
	 */
	if (!rc && !sel)
		rc = tree_list_write(manifest, &merged, e);
out:
	if (tmps) {
		struct dim_err ignore;

		for (i = 0; i < n_tmp; i++)
			if (tmps[i]) {
				tree_remove(tmps[i], &ignore);
				free(tmps[i]);
			}
	}
	free(tmps);
	free(who);
	free(skip);
	tree_diff_free(&d);
	tree_list_free(&old);
	tree_list_free(&now);
	tree_list_free(&merged);
	sync_lock_release(&lock);
	return rc;
}

/* ---------------------------------------------------------------- many servers */

int sync_pick_servers(const struct cluster *c, unsigned img, const char *range, bool *want,
		      struct dim_err *e)
{
	struct cl_selection sel = { 0 };
	unsigned i, n = 0;
	int rc;

	memset(want, 0, c->n_servers * sizeof(*want));
	if (range && strcmp(range, "all")) {
		rc = cluster_select_blades(c, range, &sel, e);
		if (rc)
			return rc;
	}
	for (i = 0; i < c->n_blades; i++) {
		const struct cl_blade *b = &c->blades[i];

		if (b->absent || b->image != img || (sel.bits && !cl_selected(&sel, i)))
			continue;
		if (!want[b->server])
			n++;
		want[b->server] = true;
	}
	cl_selection_free(&sel);
	return (int)n;
}

int sync_fan_servers(struct sync_server_job *jobs, size_t n, unsigned parallel, unsigned timeout_s,
		     fan_progress_fn progress, void *arg, struct dim_err *e)
{
	struct fan_job *fj = calloc(n ? n : 1, sizeof(*fj));
	size_t i;
	int rc;

	if (!fj)
		return dim_err_set(e, -ENOMEM, "out of memory");
	for (i = 0; i < n; i++) {
		fj[i].label = jobs[i].s->name;
		fj[i].argv = (const char *const *)jobs[i].argv.v;
	}
	rc = fanout_run(fj, n, parallel, timeout_s, progress, arg, e);
	for (i = 0; i < n; i++)
		jobs[i].job = fj[i];
	free(fj);
	return rc;
}

void sync_server_jobs_free(struct sync_server_job *jobs, size_t n)
{
	size_t i;

	for (i = 0; jobs && i < n; i++)
		sync_argv_free(&jobs[i].argv);
	free(jobs);
}

static long long stat_number(const char *out, const char *key)
{
	const char *p = strstr(out, key);
	long long v = 0;
	bool any = false;

	if (!p)
		return -1;
	for (p += strlen(key); *p == ' '; p++)
		;
	/* rsync's output, from another host: saturate rather than overflow */
	for (; (*p >= '0' && *p <= '9') || *p == ','; p++)
		if (*p != ',') {
			v = v > (LLONG_MAX - 9) / 10 ? LLONG_MAX : v * 10 + (*p - '0');
			any = true;
		}
	return any ? v : -1;
}

void sync_rsync_stats(const char *out, long long *files, long long *bytes)
{
	*files = stat_number(out, "Number of regular files transferred:");
	*bytes = stat_number(out, "Total transferred file size:");
}
