/* SPDX-License-Identifier: MIT */
/*
 * What dim's sync commands parse of bytes they do not control:
 *
 *   0  a manifest (STORAGE/images/IMAGE/rw.manifest): parsed, or refused
 *      with -EINVAL; what parses formats back to text that parses to the
 *      same entries (so a manifest dim wrote always reads back);
 *   1  a blade's pending/.dim-remove (its RW directory is writable by the
 *      blade): absolute paths, never "/", never an embedded NUL or newline;
 *   2  the output of a child (an rsync or ssh on another host): the reason
 *      picked for a failure line is a line of it, with no control
 *      characters left for the admin's terminal; rsync --stats numbers
 *      never overflow;
 *   3  a PATH argument: normalised or refused; a normalised path
 *      normalises to itself and holds no "." or ".." component;
 *   4  the path escaping of manifests: unescape(escape(x)) == x.
 *
 * The first byte picks the parser.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sync.h"
#include "sync_fanout.h"
#include "sync_tree.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void same_lists(const struct tree_list *a, const struct tree_list *b)
{
	size_t i;

	if (a->n != b->n)
		abort();
	for (i = 0; i < a->n; i++) {
		const struct tree_entry *x = &a->e[i], *y = &b->e[i];

		if (strcmp(x->rel, y->rel) || x->type != y->type || x->mode != y->mode ||
		    x->uid != y->uid || x->gid != y->gid || x->size != y->size ||
		    x->mtime_ns != y->mtime_ns || x->ino != y->ino || !x->target != !y->target ||
		    (x->target && strcmp(x->target, y->target)))
			abort();
	}
}

static void manifest(const char *buf, size_t len)
{
	struct tree_list l, again;
	struct dim_err e = { 0 };
	char *text;
	size_t tlen, i;
	int rc;

	rc = tree_list_parse(buf, len, "fuzz", &l, &e);
	if (rc) {
		if (rc != -EINVAL && rc != -ENOMEM)
			abort();
		if (!e.msg[0])
			abort();
		return;
	}
	for (i = 0; i < l.n; i++) {
		if (!l.e[i].rel[0] || l.e[i].rel[0] == '/' || l.e[i].mode > 07777 ||
		    !strchr("fdln", l.e[i].type) || (l.e[i].type == 'l') != !!l.e[i].target)
			abort();
		if (i && strcmp(l.e[i - 1].rel, l.e[i].rel) >= 0)
			abort();
	}
	if (tree_list_format(&l, &text, &tlen, &e) == 0) {
		if (tree_list_parse(text, tlen, "fuzz-again", &again, &e) != 0)
			abort();
		same_lists(&l, &again);
		tree_list_free(&again);
		free(text);
	}
	tree_list_free(&l);
}

static void removals(const char *buf, size_t len)
{
	char **v;
	size_t n, i;

	if (stage_removals_parse(buf, len, &v, &n) < 0)
		return;
	for (i = 0; i < n; i++) {
		size_t k = strlen(v[i]);

		if (v[i][0] != '/' || k < 2 || k >= PATH_MAX || strchr(v[i], '\n'))
			abort();
		free(v[i]);
	}
	free(v);
}

static void child_output(const char *buf, size_t len)
{
	static struct fan_job j;
	char why[512];
	long long files, bytes;
	const char *p;

	if (len >= sizeof(j.out))
		len = sizeof(j.out) - 1;
	memcpy(j.out, buf, len);
	j.out[len] = '\0';
	j.out_len = strlen(j.out);
	fanout_reason(&j, why, sizeof(why));
	for (p = why; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			abort();
	sync_rsync_stats(j.out, &files, &bytes);
	if (files < -1 || bytes < -1)
		abort();
}

static void path_arg(const char *buf, size_t len)
{
	char in[512], out[PATH_MAX], again[PATH_MAX];
	struct dim_err e = { 0 };
	const char *p;

	if (len >= sizeof(in))
		len = sizeof(in) - 1;
	memcpy(in, buf, len);
	in[len] = '\0';
	if (sync_path_norm(in, out, sizeof(out), &e) < 0)
		return;
	if (out[0] == '/' || strstr(out, "//"))
		abort();
	for (p = out; *p; p += strcspn(p, "/"), p += *p == '/') {
		size_t k = strcspn(p, "/");

		if ((k == 1 && p[0] == '.') || (k == 2 && p[0] == '.' && p[1] == '.'))
			abort();
	}
	if (sync_path_norm(out, again, sizeof(again), &e) < 0 || strcmp(out, again))
		abort();
}

static void escaping(const char *buf, size_t len)
{
	char in[256], esc[3 * sizeof(in)], back[sizeof(in)];

	if (len >= sizeof(in))
		len = sizeof(in) - 1;
	memcpy(in, buf, len);
	in[len] = '\0';
	if (tree_escape(in, esc, sizeof(esc)) < 0)
		abort();
	if (strpbrk(esc, " \n\t"))
		abort();
	if (tree_unescape(esc, back, sizeof(back)) < 0 || strcmp(in, back))
		abort();
	/* arbitrary text as escaped text: refused or a string without NUL inside */
	(void)tree_unescape(in, back, sizeof(back));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data + 1;

	if (!size)
		return 0;
	switch (data[0] % 5) {
	case 0:
		manifest(buf, size - 1);
		break;
	case 1:
		removals(buf, size - 1);
		break;
	case 2:
		child_output(buf, size - 1);
		break;
	case 3:
		path_arg(buf, size - 1);
		break;
	default:
		escaping(buf, size - 1);
		break;
	}
	return 0;
}
