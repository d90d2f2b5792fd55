/* SPDX-License-Identifier: MIT */
/*
 * Module resolution.  The .modinfo section is a run of NUL-terminated
 * "key=value" strings (MODULE_INFO() in include/linux/moduleparam.h), padded
 * with NULs; modpost writes depends= from the symbols a module uses, the
 * module itself softdep= (MODULE_SOFTDEP) and alias= (MODULE_ALIAS, device
 * tables).  Name lookup follows libkmod's kmod_module_new_from_lookup():
 * module name, then module aliases, then built-ins; an alias matching several
 * modules loads them all, as modprobe does (crypto-crc32c: the generic and
 * the accelerated crc32c).
 */
#define ZLIB_CONST
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "elfread.h"
#include "fsutil.h"
#include "kmod.h"

#define KMOD_MAX_DEPTH		16		/* directory levels walked */
#define KMOD_MAX_MODULE		(1u << 30)	/* uncompressed module size cap */

enum { ST_NEW, ST_ACTIVE, ST_DONE };

struct kmod_alias {
	char *pattern;		/* normalised */
	long mod;		/* index in mods; -1: built into the kernel */
};

/* ---------------------------------------------------------------- name lists */

static int names_add_owned(struct kmod_names *l, char *s)
{
	if (!s)
		return -ENOMEM;
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 8;
		char **v = reallocarray(l->v, cap, sizeof(*v));

		if (!v) {
			free(s);
			return -ENOMEM;
		}
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = s;
	return 0;
}

int kmod_names_add(struct kmod_names *l, const char *s)
{
	return names_add_owned(l, strdup(s));
}

int kmod_names_addf(struct kmod_names *l, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	return names_add_owned(l, n < 0 ? NULL : s);
}

void kmod_names_free(struct kmod_names *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

/* '-' and '_' are the same in module names (kmod's modname_normalize()). */
static char *name_normalize(const char *s)
{
	char *n = strdup(s), *p;

	if (n)
		for (p = n; *p; p++)
			if (*p == '-')
				*p = '_';
	return n;
}

/* The same for an alias pattern, leaving "[a-z]" ranges alone (kmod's alias_normalize()). */
static char *alias_normalize(const char *s)
{
	char *n = strdup(s), *p;
	int in_brackets = 0;

	if (!n)
		return NULL;
	for (p = n; *p; p++) {
		if (*p == '[')
			in_brackets = 1;
		else if (*p == ']')
			in_brackets = 0;
		else if (*p == '-' && !in_brackets)
			*p = '_';
	}
	return n;
}

static int names_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* ---------------------------------------------------------------- .modinfo */

/* A module name or alias as it may appear in depends= or softdep=. */
static int valid_name(const char *s, size_t len)
{
	size_t i;

	if (len == 0)
		return 0;
	for (i = 0; i < len; i++)
		if (s[i] <= ' ' || s[i] > '~' || s[i] == '/')
			return 0;
	return 1;
}

/* depends=a,b,c; empty for a module that needs nothing. */
static int parse_depends(struct modinfo *mi, const char *v, const char **why)
{
	while (*v) {
		size_t n = strcspn(v, ",");
		int rc;

		if (n > 0) {
			if (!valid_name(v, n)) {
				*why = "bad module name in depends=";
				return -EBADMSG;
			}
			rc = names_add_owned(&mi->depends, strndup(v, n));
			if (rc)
				return rc;
		}
		v += n;
		if (*v == ',')
			v++;
	}
	return 0;
}

/*
 * softdep=pre: a b post: c (modprobe.d(5) "softdep").  Words before any
 * "pre:"/"post:", and after another "word:" (newer kernels' "platform:"),
 * are not load-order constraints dim knows and are skipped.
 */
static int parse_softdep(struct modinfo *mi, const char *v, const char **why)
{
	struct kmod_names *into = NULL;

	for (;;) {
		size_t n;
		int rc;

		v += strspn(v, " \t");
		n = strcspn(v, " \t");
		if (n == 0)
			return 0;
		if (n == 4 && !strncmp(v, "pre:", 4)) {
			into = &mi->pre;
		} else if (n == 5 && !strncmp(v, "post:", 5)) {
			into = &mi->post;
		} else if (v[n - 1] == ':') {
			into = NULL;
		} else if (into) {
			if (!valid_name(v, n)) {
				*why = "bad module name in softdep=";
				return -EBADMSG;
			}
			rc = names_add_owned(into, strndup(v, n));
			if (rc)
				return rc;
		}
		v += n;
	}
}

static int parse_string(struct modinfo *mi, const char *s, const char **why)
{
	const char *eq = strchr(s, '=');
	size_t klen;

	if (!eq)
		return 0;	/* not key=value: nothing dim reads */
	klen = (size_t)(eq - s);
	if (klen == 4 && !strncmp(s, "name", 4)) {
		if (mi->name)
			return 0;
		mi->name = strdup(eq + 1);
		return mi->name ? 0 : -ENOMEM;
	}
	if (klen == 7 && !strncmp(s, "depends", 7))
		return parse_depends(mi, eq + 1, why);
	if (klen == 7 && !strncmp(s, "softdep", 7))
		return parse_softdep(mi, eq + 1, why);
	if (klen == 5 && !strncmp(s, "alias", 5) && eq[1])
		return kmod_names_add(&mi->aliases, eq + 1);
	return 0;
}

void modinfo_free(struct modinfo *mi)
{
	free(mi->name);
	kmod_names_free(&mi->depends);
	kmod_names_free(&mi->pre);
	kmod_names_free(&mi->post);
	kmod_names_free(&mi->aliases);
	memset(mi, 0, sizeof(*mi));
}

int modinfo_parse(struct modinfo *mi, const void *buf, size_t len, const char **why)
{
	struct elf_image e;
	struct elf_section s;
	const char *p, *end;
	int rc;

	memset(mi, 0, sizeof(*mi));
	rc = elf_open(&e, buf, len, why);
	if (rc)
		return rc;
	rc = elf_find_section(&e, ".modinfo", &s, why);
	if (rc == -ENOENT) {
		*why = "no .modinfo section (not a kernel module?)";
		return -ENOEXEC;
	}
	if (rc)
		return rc;
	if (s.type == 8 /* SHT_NOBITS */) {
		*why = ".modinfo section has no data in the file";
		return -ENOEXEC;
	}
	if (s.offset > len || s.size > len - s.offset) {
		*why = ".modinfo section runs past end of file";
		return -ENOEXEC;
	}
	p = (const char *)e.buf + s.offset;
	end = p + s.size;
	/* Every string ends inside the section: then strchr() and friends stay in it. */
	if (s.size > 0 && end[-1] != '\0') {
		*why = ".modinfo section does not end with a NUL byte";
		return -EBADMSG;
	}
	while (p < end) {
		size_t n = strlen(p);

		if (n > 0) {
			rc = parse_string(mi, p, why);
			if (rc) {
				if (rc == -ENOMEM)
					*why = "out of memory";
				modinfo_free(mi);
				return rc;
			}
		}
		p += n + 1;
	}
	mi->arch = elf_arch(&e);
	return 0;
}

/* ---------------------------------------------------------------- the tree */

__attribute__((format(printf, 3, 4)))
static int fail(struct kmod_tree *t, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(t->err, sizeof(t->err), fmt, ap);
	va_end(ap);
	return rc;
}

const char *kmod_error(const struct kmod_tree *t)
{
	return t->err;
}

static const struct {
	const char *suffix;
	enum kmod_comp comp;
} suffixes[] = {
	{ ".ko", KMOD_PLAIN },
	{ ".ko.gz", KMOD_GZ },
	{ ".ko.xz", KMOD_XZ },
	{ ".ko.zst", KMOD_ZST },
};

/*
 * A file name that can go into DIM_INITRAMFS_MODULES as it is: the list is
 * "file.ko [params]" per line, and the linuxrc refuses names starting with
 * '.'.  Kernel module names are C-identifier-like; anything else is skipped.
 */
static int usable_file_name(const char *base)
{
	const char *p;

	if (base[0] == '.')
		return 0;
	for (p = base; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_' || *p == '-' || *p == '.' || *p == '+'))
			return 0;
	return 1;
}

static int add_module(struct kmod_tree *t, const char *path, const char *base, size_t *cap)
{
	size_t blen = strlen(base), i;

	if (!usable_file_name(base))
		return 0;

	for (i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		size_t slen = strlen(suffixes[i].suffix);
		struct kmod_module *m;
		char *stem;

		if (blen <= slen || strcmp(base + blen - slen, suffixes[i].suffix))
			continue;
		if (t->n_mods == *cap) {
			size_t ncap = *cap ? 2 * *cap : 256;

			m = reallocarray(t->mods, ncap, sizeof(*m));
			if (!m)
				return -ENOMEM;
			t->mods = m;
			*cap = ncap;
		}
		m = &t->mods[t->n_mods];
		memset(m, 0, sizeof(*m));
		m->comp = suffixes[i].comp;
		stem = strndup(base, blen - slen);
		m->name = stem ? name_normalize(stem) : NULL;
		free(stem);
		m->file = strndup(base, blen - slen + 3);	/* keep ".ko" */
		m->path = strdup(path);
		if (!m->name || !m->file || !m->path) {
			free(m->name);
			free(m->file);
			free(m->path);
			return -ENOMEM;
		}
		t->n_mods++;
		return 0;
	}
	return 0;
}

static int dirent_cmp(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);	/* not alphasort: no locale */
}

/* Walk dir for modules, in name order; symlinked directories (build, source) are not followed. */
static int walk(struct kmod_tree *t, const char *dir, int depth, size_t *cap)
{
	struct dirent **ents;
	int n, i, rc = 0;

	n = scandir(dir, &ents, NULL, dirent_cmp);
	if (n < 0)
		return fail(t, -errno, "%s: %s", dir, strerror(errno));
	for (i = 0; i < n; i++) {
		const char *base = ents[i]->d_name;
		struct stat st;
		char *path;

		if (rc || !strcmp(base, ".") || !strcmp(base, ".."))
			continue;
		if (asprintf(&path, "%s/%s", dir, base) < 0) {
			rc = -ENOMEM;
			continue;
		}
		if (lstat(path, &st) < 0) {
			rc = fail(t, -errno, "%s: %s", path, strerror(errno));
		} else if (S_ISDIR(st.st_mode)) {
			if (depth < KMOD_MAX_DEPTH)
				rc = walk(t, path, depth + 1, cap);
		} else if (S_ISREG(st.st_mode) || (S_ISLNK(st.st_mode) && !stat(path, &st) &&
						   S_ISREG(st.st_mode))) {
			rc = add_module(t, path, base, cap);
		}
		free(path);
	}
	for (i = 0; i < n; i++)
		free(ents[i]);
	free(ents);
	return rc;
}

static int has_kernel_files(const char *dir)
{
	static const char *const marks[] = { "modules.order", "modules.builtin" };
	char path[4096];
	size_t i;

	for (i = 0; i < sizeof(marks) / sizeof(marks[0]); i++) {
		int n = snprintf(path, sizeof(path), "%s/%s", dir, marks[i]);

		if (n > 0 && (size_t)n < sizeof(path) && access(path, F_OK) == 0)
			return 1;
	}
	return 0;
}

/*
 * A lib/modules holding several kernels' trees given instead of one
 * lib/modules/VERSION: their modules would be mixed.  Refuse it, naming them.
 */
static int check_one_kernel(struct kmod_tree *t)
{
	struct dirent **ents;
	char sub[4096], first[256] = "", second[256] = "";
	int n, i, found = 0;

	if (has_kernel_files(t->dir))
		return 0;
	n = scandir(t->dir, &ents, NULL, dirent_cmp);
	if (n < 0)
		return fail(t, -errno, "%s: %s", t->dir, strerror(errno));
	for (i = 0; i < n; i++) {
		const char *name = ents[i]->d_name;
		int len = snprintf(sub, sizeof(sub), "%s/%s", t->dir, name);

		if (name[0] == '.' || len < 0 || (size_t)len >= sizeof(sub) || !has_kernel_files(sub))
			continue;
		if (found < 2 && snprintf(found ? second : first, sizeof(first), "%s", name) < 0)
			continue;
		found++;
	}
	for (i = 0; i < n; i++)
		free(ents[i]);
	free(ents);
	if (found < 2)
		return 0;
	return fail(t, -EINVAL, "%s holds the modules of %d kernels (%s, %s%s); give one: %s/%s",
		    t->dir, found, first, second, found > 2 ? ", ..." : "", t->dir, first);
}

static int module_cmp(const void *a, const void *b)
{
	const struct kmod_module *x = a, *y = b;

	return strcmp(x->name, y->name);
}

static void module_free(struct kmod_module *m)
{
	free(m->name);
	free(m->path);
	free(m->file);
	free(m->data);
	modinfo_free(&m->info);
}

/*
 * Two files of one name (kernel/ and updates/, or "a-b.ko" and "a_b.ko"):
 * depmod's default search order puts updates/ first; otherwise the first path.
 */
static int module_wins(const struct kmod_tree *t, const struct kmod_module *a,
		       const struct kmod_module *b)
{
	size_t dl = strlen(t->dir);
	int ua = !strncmp(a->path + dl, "/updates/", 9);
	int ub = !strncmp(b->path + dl, "/updates/", 9);

	if (ua != ub)
		return ua;
	return strcmp(a->path, b->path) < 0;
}

static void dedupe(struct kmod_tree *t)
{
	size_t i, out = 0;

	for (i = 0; i < t->n_mods; i++) {
		if (out > 0 && !strcmp(t->mods[out - 1].name, t->mods[i].name)) {
			if (module_wins(t, &t->mods[i], &t->mods[out - 1])) {
				module_free(&t->mods[out - 1]);
				t->mods[out - 1] = t->mods[i];
			} else {
				module_free(&t->mods[i]);
			}
			continue;
		}
		t->mods[out++] = t->mods[i];
	}
	t->n_mods = out;
}

static int alias_add(struct kmod_tree *t, const char *pattern, long mod)
{
	struct kmod_alias *a;

	if (t->n_aliases == t->cap_aliases) {
		size_t cap = t->cap_aliases ? 2 * t->cap_aliases : 1024;

		a = reallocarray(t->aliases, cap, sizeof(*a));
		if (!a)
			return -ENOMEM;
		t->aliases = a;
		t->cap_aliases = cap;
	}
	a = &t->aliases[t->n_aliases];
	a->pattern = alias_normalize(pattern);
	if (!a->pattern)
		return -ENOMEM;
	a->mod = mod;
	t->n_aliases++;
	return 0;
}

/*
 * modules.builtin.modinfo: the .modinfo strings of built-in code, each
 * prefixed "module.", e.g. "crc32c_generic.alias=crypto-crc32c".  A broken
 * or missing file only means less is known to be built in.
 */
static int read_builtin_modinfo(struct kmod_tree *t)
{
	char *path, *data, *p, *end;
	size_t len;
	int rc;

	if (asprintf(&path, "%s/modules.builtin.modinfo", t->dir) < 0)
		return -ENOMEM;
	rc = read_file(path, &data, &len);
	free(path);
	if (rc)
		return rc == -ENOMEM ? rc : 0;
	for (p = data, end = data + len; p < end && !rc; p += strlen(p) + 1) {
		char *dot = strchr(p, '.'), *eq;

		/* read_file() NUL-terminates, so the last string ends too. */
		if (!dot || dot == p)
			continue;
		*dot = '\0';
		rc = names_add_owned(&t->builtin, name_normalize(p));
		eq = strchr(dot + 1, '=');
		if (!rc && eq && eq - (dot + 1) == 5 && !strncmp(dot + 1, "alias", 5) && eq[1])
			rc = alias_add(t, eq + 1, -1);
		*dot = '.';
	}
	free(data);
	return rc;
}

/* modules.builtin: "kernel/fs/ext4/ext4.ko" per line. */
static int read_builtin_list(struct kmod_tree *t)
{
	char *path, *data, *line, *save = NULL;
	int rc;

	if (asprintf(&path, "%s/modules.builtin", t->dir) < 0)
		return -ENOMEM;
	rc = read_file(path, &data, NULL);
	free(path);
	if (rc)
		return rc == -ENOMEM ? rc : 0;
	for (line = strtok_r(data, "\n", &save); line && !rc; line = strtok_r(NULL, "\n", &save)) {
		char *base = strrchr(line, '/');
		size_t n;

		base = base ? base + 1 : line;
		n = strlen(base);
		if (n > 3 && !strcmp(base + n - 3, ".ko")) {
			base[n - 3] = '\0';
			rc = names_add_owned(&t->builtin, name_normalize(base));
		}
	}
	free(data);
	return rc;
}

static void builtin_sort(struct kmod_tree *t)
{
	size_t i, out = 0;

	if (t->builtin.n == 0)
		return;	/* qsort() wants a base even for no elements */
	qsort(t->builtin.v, t->builtin.n, sizeof(char *), names_cmp);
	for (i = 0; i < t->builtin.n; i++) {
		if (out > 0 && !strcmp(t->builtin.v[out - 1], t->builtin.v[i])) {
			free(t->builtin.v[i]);
			continue;
		}
		t->builtin.v[out++] = t->builtin.v[i];
	}
	t->builtin.n = out;
}

void kmod_tree_free(struct kmod_tree *t)
{
	size_t i;

	for (i = 0; i < t->n_mods; i++)
		module_free(&t->mods[i]);
	free(t->mods);
	for (i = 0; i < t->n_aliases; i++)
		free(t->aliases[i].pattern);
	free(t->aliases);
	kmod_names_free(&t->builtin);
	free(t->dir);
	free(t->arch);
	t->mods = NULL;
	t->aliases = NULL;
	t->dir = t->arch = NULL;
	t->n_mods = t->n_aliases = t->cap_aliases = 0;
}

int kmod_tree_open(struct kmod_tree *t, const char *dir, const char *arch)
{
	size_t cap = 0, len;
	struct stat st;
	int rc;

	memset(t, 0, sizeof(*t));
	if (stat(dir, &st) < 0)
		return fail(t, -errno, "%s: %s", dir, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return fail(t, -ENOTDIR, "%s: not a directory", dir);
	t->dir = strdup(dir);
	t->arch = arch ? strdup(arch) : NULL;
	if (!t->dir || (arch && !t->arch)) {
		rc = -ENOMEM;
		goto err_free;
	}
	len = strlen(t->dir);
	while (len > 1 && t->dir[len - 1] == '/')
		t->dir[--len] = '\0';
	rc = check_one_kernel(t);
	if (rc)
		goto err_free;
	rc = walk(t, t->dir, 0, &cap);
	if (rc)
		goto err_free;
	if (t->n_mods == 0) {
		rc = fail(t, -ENOENT, "%s: no kernel modules (*.ko) in it", dir);
		goto err_free;
	}
	qsort(t->mods, t->n_mods, sizeof(*t->mods), module_cmp);
	dedupe(t);
	rc = read_builtin_modinfo(t);
	if (!rc)
		rc = read_builtin_list(t);
	if (rc)
		goto err_free;
	builtin_sort(t);
	return 0;

err_free:
	if (rc == -ENOMEM)
		fail(t, rc, "out of memory");
	kmod_tree_free(t);
	return rc;
}

/* ---------------------------------------------------------------- reading modules */

/* RFC 1952 gzip (or zlib) to memory, capped at KMOD_MAX_MODULE. */
static int gunzip(const void *in, size_t in_len, void **out, size_t *out_len)
{
	z_stream z = { 0 };
	size_t cap = in_len < (1u << 20) ? (1u << 20) : 4 * in_len;
	unsigned char *buf = NULL;
	int zr, rc;

	if (in_len > UINT32_MAX)
		return -EFBIG;
	if (inflateInit2(&z, 15 + 32) != Z_OK)	/* +32: gzip or zlib header */
		return -ENOMEM;
	z.next_in = in;
	z.avail_in = (uInt)in_len;
	do {
		if (!buf || z.avail_out == 0) {
			unsigned char *n;

			if (buf)
				cap *= 2;
			if (cap > KMOD_MAX_MODULE) {
				rc = -EFBIG;
				goto err;
			}
			n = realloc(buf, cap);
			if (!n) {
				rc = -ENOMEM;
				goto err;
			}
			buf = n;
			z.next_out = buf + z.total_out;
			z.avail_out = (uInt)(cap - z.total_out);
		}
		zr = inflate(&z, Z_NO_FLUSH);
		if (zr == Z_BUF_ERROR && z.avail_in == 0 && z.avail_out != 0)
			zr = Z_DATA_ERROR;	/* truncated: no input left, room for output */
	} while (zr == Z_OK || (zr == Z_BUF_ERROR && z.avail_out == 0));
	if (zr != Z_STREAM_END) {
		rc = zr == Z_MEM_ERROR ? -ENOMEM : -EBADMSG;
		goto err;
	}
	*out = buf;
	*out_len = z.total_out;
	inflateEnd(&z);
	return 0;

err:
	inflateEnd(&z);
	free(buf);
	return rc;
}

static const char *comp_name(enum kmod_comp c)
{
	static const char *const names[] = { "", ".gz", ".xz", ".zst" };

	return names[c];
}

/* The uncompressed bytes of m's file. */
static int read_module(struct kmod_tree *t, const struct kmod_module *m, void **data,
		       size_t *size)
{
	char *raw;
	size_t len;
	int rc;

	if (m->comp == KMOD_XZ || m->comp == KMOD_ZST)
		return fail(t, -EOPNOTSUPP,
			    "%s: %s-compressed modules are not supported; decompress the tree "
			    "(Debian bookworm ships plain .ko)", m->path, comp_name(m->comp) + 1);
	rc = read_file(m->path, &raw, &len);
	if (rc)
		return fail(t, rc, "%s: %s", m->path, strerror(-rc));
	if (m->comp == KMOD_PLAIN) {
		*data = raw;
		*size = len;
		return 0;
	}
	rc = gunzip(raw, len, data, size);
	free(raw);
	if (rc == -EBADMSG)
		return fail(t, rc, "%s: broken gzip data", m->path);
	if (rc)
		return fail(t, rc, "%s: %s", m->path, strerror(-rc));
	return 0;
}

static int load_module(struct kmod_tree *t, struct kmod_module *m)
{
	const char *why = NULL;
	int rc;

	if (m->loaded)
		return 0;
	rc = read_module(t, m, &m->data, &m->size);
	if (rc)
		return rc;
	rc = modinfo_parse(&m->info, m->data, m->size, &why);
	if (rc)
		goto err_data;
	if (t->arch && (!m->info.arch || strcmp(m->info.arch, t->arch))) {
		rc = -ENOEXEC;
		why = NULL;
		fail(t, rc, "%s: module is for %s, not %s", m->path,
		     m->info.arch ? m->info.arch : "an unknown architecture", t->arch);
		modinfo_free(&m->info);
		goto err_data;
	}
	m->loaded = 1;
	return 0;

err_data:
	if (why)
		fail(t, rc, "%s: %s", m->path, why);
	free(m->data);
	m->data = NULL;
	m->size = 0;
	return rc;
}

/*
 * Read alias= of every module once.  A module that cannot be read is left
 * out silently here: it is an error only if it is needed, and then it is
 * reported by load_module().
 */
static int read_aliases(struct kmod_tree *t)
{
	size_t i, j;
	int rc = 0;

	if (t->aliases_read)
		return 0;
	for (i = 0; i < t->n_mods && !rc; i++) {
		struct kmod_module *m = &t->mods[i];
		struct modinfo mi;
		const char *why;
		void *data = NULL;
		size_t size = 0;
		int mapped = 0, fd;

		if (m->loaded) {
			for (j = 0; j < m->info.aliases.n && !rc; j++)
				rc = alias_add(t, m->info.aliases.v[j], (long)i);
			continue;
		}
		if (m->comp == KMOD_GZ) {
			if (read_module(t, m, &data, &size))
				continue;
		} else if (m->comp == KMOD_PLAIN) {
			struct stat st;

			/* mmap: only the headers and .modinfo are paged in. */
			fd = open(m->path, O_RDONLY | O_CLOEXEC);
			if (fd < 0)
				continue;
			if (fstat(fd, &st) == 0 && st.st_size > 0) {
				data = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
				if (data == MAP_FAILED)
					data = NULL;
				size = (size_t)st.st_size;
				mapped = 1;
			}
			close(fd);
			if (!data)
				continue;
		} else {
			continue;
		}
		rc = modinfo_parse(&mi, data, size, &why);
		if (rc == 0) {
			for (j = 0; j < mi.aliases.n && !rc; j++)
				rc = alias_add(t, mi.aliases.v[j], (long)i);
			modinfo_free(&mi);
		} else if (rc != -ENOMEM) {
			rc = 0;
		}
		if (mapped)
			munmap(data, size);
		else
			free(data);
	}
	t->err[0] = '\0';
	if (rc)
		return fail(t, rc, "out of memory");
	t->aliases_read = 1;
	return 0;
}

static struct kmod_module *find_module(const struct kmod_tree *t, const char *norm)
{
	struct kmod_module key = { .name = (char *)(uintptr_t)norm };

	return bsearch(&key, t->mods, t->n_mods, sizeof(*t->mods), module_cmp);
}

static int is_builtin(const struct kmod_tree *t, const char *norm)
{
	if (t->builtin.n == 0)
		return 0;
	return bsearch(&norm, t->builtin.v, t->builtin.n, sizeof(char *), names_cmp) != NULL;
}

/* One name's modules, sorted by name; returns an enum kmod_found or -errno. */
struct matches {
	struct kmod_module **v;
	size_t n;
};

static int match_cmp(const void *a, const void *b)
{
	const struct kmod_module *x = *(struct kmod_module *const *)a;
	const struct kmod_module *y = *(struct kmod_module *const *)b;

	return strcmp(x->name, y->name);
}

static int resolve_name(struct kmod_tree *t, const char *name, struct matches *out)
{
	char *norm = name_normalize(name);
	struct kmod_module *m;
	int builtin_alias = 0, rc;
	size_t i;

	out->v = NULL;
	out->n = 0;
	if (!norm)
		return fail(t, -ENOMEM, "out of memory");
	m = find_module(t, norm);
	if (m) {
		out->v = malloc(sizeof(*out->v));
		rc = out->v ? KMOD_FOUND_MODULE : fail(t, -ENOMEM, "out of memory");
		if (out->v)
			out->v[out->n++] = m;
		goto out;
	}
	rc = read_aliases(t);
	if (rc)
		goto out;
	for (i = 0; i < t->n_aliases; i++) {
		const struct kmod_alias *a = &t->aliases[i];
		struct kmod_module **v;
		size_t j;

		if (fnmatch(a->pattern, norm, 0))
			continue;
		if (a->mod < 0) {
			builtin_alias = 1;
			continue;
		}
		m = &t->mods[a->mod];
		for (j = 0; j < out->n && out->v[j] != m; j++)
			;
		if (j < out->n)
			continue;
		v = reallocarray(out->v, out->n + 1, sizeof(*v));
		if (!v) {
			rc = fail(t, -ENOMEM, "out of memory");
			goto out;
		}
		out->v = v;
		out->v[out->n++] = m;
	}
	if (out->n) {
		qsort(out->v, out->n, sizeof(*out->v), match_cmp);
		rc = KMOD_FOUND_ALIAS;
	} else if (builtin_alias || is_builtin(t, norm)) {
		rc = KMOD_FOUND_BUILTIN;
	} else {
		rc = KMOD_MISSING;
	}
out:
	if (rc < 0) {
		free(out->v);
		out->v = NULL;
		out->n = 0;
	}
	free(norm);
	return rc;
}

int kmod_lookup(struct kmod_tree *t, const char *name)
{
	struct matches mt;
	int rc = resolve_name(t, name, &mt);

	free(mt.v);
	return rc;
}

/* ---------------------------------------------------------------- load order */

struct deferred {
	char *name;
	const struct kmod_module *by;
};

struct walk {
	struct kmod_tree *t;
	struct kmod_plan *plan;
	struct kmod_module **stack;	/* the modules being visited, for cycle messages */
	size_t depth;
	struct deferred *post;		/* softdep post: modules, loaded after the rest */
	size_t n_post, cap_post;
};

static int cycle(struct walk *w, const struct kmod_module *m)
{
	size_t i = w->depth, off;
	char *msg = w->t->err;

	while (i > 0 && w->stack[i - 1] != m)
		i--;
	off = (size_t)snprintf(msg, sizeof(w->t->err), "module dependency cycle:");
	for (i = i ? i - 1 : 0; i < w->depth && off < sizeof(w->t->err); i++)
		off += (size_t)snprintf(msg + off, sizeof(w->t->err) - off, " %s ->",
					w->stack[i]->name);
	if (off < sizeof(w->t->err))
		snprintf(msg + off, sizeof(w->t->err) - off, " %s", m->name);
	return -ELOOP;
}

static int plan_add(struct kmod_plan *p, struct kmod_module *m)
{
	if (p->n == p->cap) {
		size_t cap = p->cap ? 2 * p->cap : 32;
		struct kmod_module **v = reallocarray(p->order, cap, sizeof(*v));

		if (!v)
			return -ENOMEM;
		p->order = v;
		p->cap = cap;
	}
	p->order[p->n++] = m;
	p->total_size += m->size;
	return 0;
}

static int defer(struct walk *w, const char *name, const struct kmod_module *by)
{
	if (w->n_post == w->cap_post) {
		size_t cap = w->cap_post ? 2 * w->cap_post : 16;
		struct deferred *d = reallocarray(w->post, cap, sizeof(*d));

		if (!d)
			return -ENOMEM;
		w->post = d;
		w->cap_post = cap;
	}
	w->post[w->n_post].name = strdup(name);
	if (!w->post[w->n_post].name)
		return -ENOMEM;
	w->post[w->n_post++].by = by;
	return 0;
}

enum need { NEED_ROOT, NEED_DEPENDS, NEED_SOFTDEP };

static int visit_name(struct walk *w, const char *name, const struct kmod_module *by,
		      enum need need);

static int visit(struct walk *w, struct kmod_module *m)
{
	size_t i;
	int rc;

	if (m->state == ST_DONE)
		return 0;
	if (m->state == ST_ACTIVE)
		return cycle(w, m);
	rc = load_module(w->t, m);
	if (rc)
		return rc;
	m->state = ST_ACTIVE;
	w->stack[w->depth++] = m;
	for (i = 0; i < m->info.pre.n && !rc; i++)
		rc = visit_name(w, m->info.pre.v[i], m, NEED_SOFTDEP);
	for (i = 0; i < m->info.depends.n && !rc; i++)
		rc = visit_name(w, m->info.depends.v[i], m, NEED_DEPENDS);
	if (rc)
		return rc;
	w->depth--;
	m->state = ST_DONE;
	rc = plan_add(w->plan, m);
	for (i = 0; i < m->info.post.n && !rc; i++)
		rc = defer(w, m->info.post.v[i], m);
	if (rc == -ENOMEM)
		fail(w->t, rc, "out of memory");
	return rc;
}

static int visit_name(struct walk *w, const char *name, const struct kmod_module *by,
		      enum need need)
{
	struct kmod_tree *t = w->t;
	struct matches mt = { 0 };
	int found, rc = 0;
	size_t i;

	if (need == NEED_DEPENDS) {
		/* depends= names modules (modpost), never aliases. */
		char *norm = name_normalize(name);

		if (!norm)
			return fail(t, -ENOMEM, "out of memory");
		mt.v = malloc(sizeof(*mt.v));
		if (mt.v)
			mt.v[0] = find_module(t, norm);
		found = !mt.v ? -ENOMEM : mt.v[0] ? KMOD_FOUND_MODULE :
			is_builtin(t, norm) ? KMOD_FOUND_BUILTIN : KMOD_MISSING;
		mt.n = found == KMOD_FOUND_MODULE;
		free(norm);
		if (found == -ENOMEM)
			return fail(t, -ENOMEM, "out of memory");
	} else {
		found = resolve_name(t, name, &mt);
		if (found < 0)
			return found;
	}

	switch (found) {
	case KMOD_MISSING:
		if (need == NEED_ROOT)
			rc = fail(t, -ENOENT, "module %s not found in %s", name, t->dir);
		else if (need == NEED_DEPENDS)
			rc = fail(t, -ENOENT, "%s: needs module %s, which is not in %s", by->path,
				  name, t->dir);
		else
			rc = kmod_names_addf(&w->plan->notes,
					     "softdep %s of %s is not in the module tree, skipped",
					     name, by->name);
		break;
	case KMOD_FOUND_BUILTIN:
		if (need == NEED_ROOT)
			rc = kmod_names_addf(&w->plan->notes, "%s is built into the kernel", name);
		break;
	default:
		for (i = 0; i < mt.n && !rc; i++)
			rc = visit(w, mt.v[i]);
		break;
	}
	free(mt.v);
	if (rc == -ENOMEM)
		fail(t, rc, "out of memory");
	return rc;
}

void kmod_plan_free(struct kmod_plan *p)
{
	free(p->order);
	kmod_names_free(&p->notes);
	memset(p, 0, sizeof(*p));
}

int kmod_resolve(struct kmod_tree *t, const char *const *names, size_t n_names,
		 struct kmod_plan *plan)
{
	struct walk w = { .t = t, .plan = plan };
	size_t i;
	int rc = 0;

	memset(plan, 0, sizeof(*plan));
	for (i = 0; i < t->n_mods; i++)
		t->mods[i].state = ST_NEW;
	w.stack = calloc(t->n_mods + 1, sizeof(*w.stack));
	if (!w.stack)
		return fail(t, -ENOMEM, "out of memory");
	for (i = 0; i < n_names && !rc; i++)
		rc = visit_name(&w, names[i], NULL, NEED_ROOT);
	/* softdep post: after the module that asked; may ask for more. */
	for (i = 0; i < w.n_post && !rc; i++)
		rc = visit_name(&w, w.post[i].name, w.post[i].by, NEED_SOFTDEP);
	for (i = 0; i < w.n_post; i++)
		free(w.post[i].name);
	free(w.post);
	free(w.stack);
	if (rc)
		kmod_plan_free(plan);
	return rc;
}
