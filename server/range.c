/* SPDX-License-Identifier: MIT */
/*
 * Node ranges: the one syntax every command selects blades or chassis with
 * (dim-cluster(5), "NODE RANGES").
 *
 *   range   := item { "," item }
 *   item    := "all" | name "-" name | pattern
 *   pattern := { word ( digits | "[" set "]" ) } [ word ]
 *   set     := n [ "-" m ] { "," n [ "-" m ] }
 *   word    := letters
 *
 * A name is a pattern without brackets.  Hierarchical names give a word
 * (the level's prefix) and a number per level, from the top, as deep as
 * wanted: "s01" is a whole image server, "s01c2" a whole chassis, "s01c2b07"
 * one blade; a chassis name followed by the management module suffix
 * ("s01c2mm") is that chassis too.  Linear names are one word and a number:
 * "b28" (blade-linear), "mm90" (chassis-linear).  Numbers compare by value,
 * so padding is optional ("s1c2b7" = "s01c2b07").  A number that does not
 * exist at its level is an error, never silently dropped: a typo in a range
 * must not quietly select fewer blades.  Absent bays are never selected; an
 * item that selects only absent bays is an error.
 *
 * Every selection is a list of runs of flat indices at one depth
 * (cluster_int.h), which are runs of blades or chassis; the cost of an item
 * is the number of nodes it selects, never the size of the cluster squared.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster_int.h"

/* ---------------------------------------------------------------- the tree */

unsigned long cl_nodes_at(const struct cluster *c, unsigned depth)
{
	unsigned long n = 1;
	unsigned l;

	for (l = 0; l < depth && l < c->n_levels; l++)
		n *= c->levels[l].count;
	return n;
}

unsigned long cl_span(const struct cluster *c, unsigned depth)
{
	unsigned long n = 1;
	unsigned l;

	for (l = depth; l < c->n_levels; l++)
		n *= c->levels[l].count;
	return n;
}

static unsigned chassis_depth(const struct cluster *c)
{
	return c->chassis_level + 1;
}

/* ---------------------------------------------------------------- messages */

/* An item of user input, quoted for a message: cut, control bytes escaped. */
static const char *quote(char *buf, size_t size, const char *s, size_t len)
{
	size_t o = 0, i;

	for (i = 0; i < len && o + 8 < size; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch >= 0x20 && ch < 0x7f && ch != '"')
			buf[o++] = (char)ch;
		else
			o += (size_t)snprintf(buf + o, size - o, "\\x%02x", ch);
	}
	if (i < len && o + 4 <= size) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
	return buf;
}

/* "s01" .. : a level's number as the definition writes it. */
static void level_num(const struct cluster *c, unsigned l, unsigned long num, char *buf,
		      size_t size)
{
	snprintf(buf, size, "%s%0*lu", c->levels[l].prefix, (int)c->levels[l].pad, num);
}

/* ---------------------------------------------------------------- syntax */

struct tok {
	const char *word;	/* letters */
	size_t wlen;
	const char *num;	/* digits, or the inside of [...]; NULL: a bare word */
	size_t nlen;
	bool bracket;
};

struct pattern {
	struct tok t[CL_MAX_LEVELS + 1];
	unsigned n;
	bool brackets;
};

static bool is_alpha(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

static bool is_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

static int pattern_parse(const char *s, size_t len, struct pattern *p, struct dim_err *err)
{
	char q[64], r[32];
	size_t i = 0;

	memset(p, 0, sizeof(*p));
	if (!len)
		return dim_err_set(err, -EINVAL, "empty node name");
	while (i < len) {
		struct tok *t;
		size_t w = i;

		if (p->n == CL_MAX_LEVELS + 1)
			return dim_err_set(err, -EINVAL, "\"%s\": more levels than any naming has",
					   quote(q, sizeof(q), s, len));
		while (i < len && is_alpha(s[i]))
			i++;
		if (i == w)
			return dim_err_set(err, -EINVAL,
					   "\"%s\": expected a letter at \"%s\"",
					   quote(q, sizeof(q), s, len),
					   quote(r, sizeof(r), s + i, len - i));
		t = &p->t[p->n++];
		t->word = s + w;
		t->wlen = i - w;
		if (i == len)
			break;		/* a bare word ends a name (the mm suffix) */
		if (is_digit(s[i])) {
			t->num = s + i;
			while (i < len && is_digit(s[i]))
				i++;
			t->nlen = (size_t)(s + i - t->num);
		} else if (s[i] == '[') {
			const char *end = memchr(s + i, ']', len - i);

			if (!end)
				return dim_err_set(err, -EINVAL, "\"%s\": '[' without ']'",
						   quote(q, sizeof(q), s, len));
			t->num = s + i + 1;
			t->nlen = (size_t)(end - t->num);
			t->bracket = true;
			p->brackets = true;
			i = (size_t)(end - s) + 1;
		} else {
			return dim_err_set(err, -EINVAL, "\"%s\": unexpected '%s'",
					   quote(q, sizeof(q), s, len),
					   quote(r, sizeof(r), s + i, 1));
		}
	}
	return 0;
}

/* A set of numbers: runs [lo, hi] of values, then of 0-based indices. */
struct ivset {
	struct iv {
		unsigned long lo, hi;
	} *iv;
	unsigned n;
};

static void ivset_free(struct ivset *s)
{
	free(s->iv);
	s->iv = NULL;
	s->n = 0;
}

static int parse_number(const char *s, size_t len, unsigned long *v)
{
	size_t i;

	if (!len || len > 9)
		return -EINVAL;
	*v = 0;
	for (i = 0; i < len; i++) {
		if (!is_digit(s[i]))
			return -EINVAL;
		*v = *v * 10 + (unsigned long)(s[i] - '0');
	}
	return 0;
}

/*
 * "07" or (inside brackets) "1-4,7": every value must be in [lo, hi]; the
 * result holds indices (value - lo), sorted and merged, so that walking it
 * costs no more than the nodes it names.
 */
static int cmp_iv(const void *a, const void *b)
{
	const struct iv *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

static int numset_parse(const struct tok *t, unsigned long lo, unsigned long hi,
			struct ivset *set, unsigned long *bad, struct dim_err *err)
{
	const char *s = t->num, *end = t->num + t->nlen;
	char q[64];
	unsigned i, m;

	set->n = 0;
	set->iv = calloc(t->nlen / 2 + 1, sizeof(*set->iv));
	if (!set->iv)
		return -ENOMEM;
	for (;;) {
		const char *comma = t->bracket ? memchr(s, ',', (size_t)(end - s)) : NULL;
		const char *stop = comma ? comma : end;
		const char *dash = t->bracket ? memchr(s, '-', (size_t)(stop - s)) : NULL;
		struct iv *v = &set->iv[set->n];

		if (parse_number(s, (size_t)((dash ? dash : stop) - s), &v->lo) < 0 ||
		    (dash && parse_number(dash + 1, (size_t)(stop - dash - 1), &v->hi) < 0)) {
			quote(q, sizeof(q), s, (size_t)(stop - s));
			ivset_free(set);
			return dim_err_set(err, -EINVAL, "\"%s\" is not a number%s", q,
					   t->bracket ? " or a range of numbers (1-4)" :
					   " (at most 9 digits)");
		}
		if (!dash)
			v->hi = v->lo;
		if (v->hi < v->lo) {
			unsigned long a = v->lo, b = v->hi;

			ivset_free(set);
			return dim_err_set(err, -EINVAL, "%lu-%lu runs backwards", a, b);
		}
		if (v->lo < lo || v->hi > hi) {
			*bad = v->lo < lo ? v->lo : v->hi;
			ivset_free(set);
			return -ENOENT;
		}
		v->lo -= lo;
		v->hi -= lo;
		set->n++;
		if (!comma)
			break;
		s = comma + 1;
	}
	qsort(set->iv, set->n, sizeof(*set->iv), cmp_iv);
	for (i = 1, m = 0; i < set->n; i++) {
		if (set->iv[i].lo <= set->iv[m].hi + 1) {
			if (set->iv[i].hi > set->iv[m].hi)
				set->iv[m].hi = set->iv[i].hi;
		} else {
			set->iv[++m] = set->iv[i];
		}
	}
	set->n = m + 1;
	return 0;
}

/* ---------------------------------------------------------------- meaning */

/*
 * What a pattern names: nodes of one depth, given either per level (a set of
 * indices for each of the first depth levels) or as flat indices (linear
 * names: one set).
 */
struct target {
	unsigned depth;
	bool linear;
	unsigned nsets;
	struct ivset sets[CL_MAX_LEVELS];
};

static void target_free(struct target *t)
{
	unsigned i;

	for (i = 0; i < t->nsets; i++)
		ivset_free(&t->sets[i]);
	t->nsets = 0;
}

static bool word_is(const struct tok *t, const char *w)
{
	return t->wlen == strlen(w) && !memcmp(t->word, w, t->wlen);
}

static int linear_target(const struct cluster *c, const struct tok *tk, const char *s,
			 size_t len, bool blade, struct target *t, struct dim_err *err)
{
	const char *word = blade ? c->blade_linear : c->chassis_linear;
	unsigned long n = blade ? c->n_blades : c->n_chassis;
	unsigned long bad;
	char q[64];
	int rc;

	t->depth = blade ? c->n_levels : chassis_depth(c);
	t->linear = true;
	rc = numset_parse(tk, 1, n, &t->sets[0], &bad, err);
	if (rc == -ENOENT)
		return dim_err_set(err, -EINVAL, "\"%s\": no %s %s%lu (%s1..%s%lu)",
				   quote(q, sizeof(q), s, len), blade ? "blade" : "chassis", word,
				   bad, word, word, n);
	if (rc < 0) {
		dim_err_prefix(err, "\"%s\"", quote(q, sizeof(q), s, len));
		return rc;
	}
	t->nsets = 1;
	return 0;
}

static int pattern_target(const struct cluster *c, const char *s, size_t len, struct target *t,
			  struct dim_err *err)
{
	struct pattern p;
	char q[64], a[CL_NAME_MAX], b[CL_NAME_MAX], x[CL_NAME_MAX];
	unsigned long bad;
	unsigned k, l;
	int rc;

	memset(t, 0, sizeof(*t));
	rc = pattern_parse(s, len, &p, err);
	if (rc < 0)
		return rc;
	quote(q, sizeof(q), s, len);

	if (p.n == 1 && p.t[0].num && word_is(&p.t[0], c->blade_linear))
		return linear_target(c, &p.t[0], s, len, true, t, err);
	if (p.n == 1 && p.t[0].num && word_is(&p.t[0], c->chassis_linear))
		return linear_target(c, &p.t[0], s, len, false, t, err);

	/* Hierarchical: prefix and number per level, from the top. */
	k = p.t[p.n - 1].num ? p.n : p.n - 1;
	if (k > c->n_levels)
		return dim_err_set(err, -EINVAL, "\"%s\": more levels than the naming has (%u)", q,
				   c->n_levels);
	for (l = 0; l < k; l++) {
		const struct cl_level *lv = &c->levels[l];

		if (word_is(&p.t[l], lv->prefix))
			continue;
		if (!l)
			return dim_err_set(err, -EINVAL,
					   "\"%s\": not a node name (names are like %s, %s1, %s1, %smm)",
					   q, c->blades[0].name, c->blade_linear, c->chassis_linear,
					   c->chassis[0].name);
		return dim_err_set(err, -EINVAL, "\"%s\": level %u (%s) is written \"%s\"", q,
				   l + 1, lv->name, lv->prefix);
	}
	if (k < p.n) {
		/* A bare word at the end: the management module suffix of a chassis. */
		if (!k)
			return dim_err_set(err, -EINVAL,
					   "\"%s\": not a node name (names are like %s, %s1, %s1, %smm)",
					   q, c->blades[0].name, c->blade_linear, c->chassis_linear,
					   c->chassis[0].name);
		if (k != chassis_depth(c) || !word_is(&p.t[k], c->mm_suffix))
			return dim_err_set(err, -EINVAL,
					   "\"%s\": only a chassis name may end in a word, its management module suffix \"%s\"",
					   q, c->mm_suffix);
	}
	t->depth = k;
	for (l = 0; l < k; l++) {
		const struct cl_level *lv = &c->levels[l];
		unsigned long last = (unsigned long)lv->first + lv->count - 1;

		rc = numset_parse(&p.t[l], lv->first, last, &t->sets[l], &bad, err);
		if (rc == -ENOENT) {
			level_num(c, l, lv->first, a, sizeof(a));
			level_num(c, l, last, b, sizeof(b));
			level_num(c, l, bad, x, sizeof(x));
			rc = dim_err_set(err, -EINVAL, "\"%s\": no %s %s (%s..%s)", q, lv->name,
					 x, a, b);
		} else if (rc < 0) {
			dim_err_prefix(err, "\"%s\"", q);
		}
		if (rc < 0) {
			target_free(t);
			return rc;
		}
		t->nsets = l + 1;
	}
	return 0;
}

/* Call fn for each run [a, b] of flat indices (at t->depth) the target names. */
typedef int (*run_fn)(void *ctx, unsigned depth, unsigned long a, unsigned long b);

static int walk(const struct cluster *c, const struct target *t, unsigned l, unsigned long base,
		run_fn fn, void *ctx)
{
	const struct ivset *set = &t->sets[l];
	unsigned long n = c->levels[l].count, v;
	unsigned i;
	int rc;

	for (i = 0; i < set->n; i++) {
		if (l + 1 == t->depth) {
			rc = fn(ctx, t->depth, base * n + set->iv[i].lo, base * n + set->iv[i].hi);
			if (rc)
				return rc;
			continue;
		}
		for (v = set->iv[i].lo; v <= set->iv[i].hi; v++) {
			rc = walk(c, t, l + 1, base * n + v, fn, ctx);
			if (rc)
				return rc;
		}
	}
	return 0;
}

static int target_walk(const struct cluster *c, const struct target *t, run_fn fn, void *ctx)
{
	unsigned i;
	int rc;

	if (!t->depth)
		return fn(ctx, 0, 0, 0);
	if (!t->linear)
		return walk(c, t, 0, 0, fn, ctx);
	for (i = 0; i < t->sets[0].n; i++) {
		rc = fn(ctx, t->depth, t->sets[0].iv[i].lo, t->sets[0].iv[i].hi);
		if (rc)
			return rc;
	}
	return 0;
}

int cl_resolve(const struct cluster *c, const char *name, size_t len, struct cl_node *node,
	       struct dim_err *err)
{
	struct target t;
	char q[64];
	unsigned l;
	int rc;

	rc = pattern_target(c, name, len, &t, err);
	if (rc < 0)
		return rc;
	node->depth = t.depth;
	node->flat = 0;
	if (t.linear) {
		if (t.sets[0].n != 1 || t.sets[0].iv[0].lo != t.sets[0].iv[0].hi)
			goto err_pattern;
		node->flat = t.sets[0].iv[0].lo;
	} else {
		for (l = 0; l < t.depth; l++) {
			if (t.sets[l].n != 1 || t.sets[l].iv[0].lo != t.sets[l].iv[0].hi)
				goto err_pattern;
			node->flat = node->flat * c->levels[l].count + t.sets[l].iv[0].lo;
		}
	}
	target_free(&t);
	return 0;

err_pattern:
	target_free(&t);
	return dim_err_set(err, -EINVAL, "\"%s\": one name wanted, not a pattern",
			   quote(q, sizeof(q), name, len));
}

/* ---------------------------------------------------------------- selections */

struct marker {
	const struct cluster *c;
	struct cl_selection *sel;
	bool chassis;		/* bits over chassis, else over blades */
	unsigned long hits;	/* present nodes this item named */
};

static void bit_set(struct cl_selection *s, unsigned long i)
{
	uint64_t m = (uint64_t)1 << (i % 64);

	if (!(s->bits[i / 64] & m)) {
		s->bits[i / 64] |= m;
		s->count++;
	}
}

static int mark_run(void *ctx, unsigned depth, unsigned long a, unsigned long b)
{
	struct marker *m = ctx;
	const struct cluster *c = m->c;
	unsigned long i, first, last, span;

	if (m->chassis) {
		span = cl_nodes_at(c, chassis_depth(c)) / cl_nodes_at(c, depth);
		first = a * span;
		last = (b + 1) * span;
		for (i = first; i < last; i++)
			bit_set(m->sel, i);
		m->hits += last - first;
		return 0;
	}
	span = cl_span(c, depth);
	first = a * span;
	last = (b + 1) * span;
	for (i = first; i < last; i++) {
		if (c->blades[i].absent)
			continue;
		bit_set(m->sel, i);
		m->hits++;
	}
	return 0;
}

/* Find the '-' of "from-to" outside brackets; NULL if there is none. */
static const char *range_dash(const char *s, size_t len)
{
	int depth = 0;
	size_t i;

	for (i = 0; i < len; i++) {
		if (s[i] == '[')
			depth++;
		else if (s[i] == ']')
			depth--;
		else if (s[i] == '-' && !depth)
			return s + i;
	}
	return NULL;
}

static int select_from_to(struct marker *m, const char *s, size_t len, const char *dash,
			  struct dim_err *err)
{
	const struct cluster *c = m->c;
	struct cl_node from, to;
	char q[64];
	int rc;

	quote(q, sizeof(q), s, len);
	if (memchr(s, '[', len))
		return dim_err_set(err, -EINVAL,
				   "\"%s\": the ends of a from-to range are single names (brackets go without '-': s[01-04])",
				   q);
	if (range_dash(dash + 1, (size_t)(s + len - dash - 1)))
		return dim_err_set(err, -EINVAL, "\"%s\": more than one '-'", q);
	rc = cl_resolve(c, s, (size_t)(dash - s), &from, err);
	if (rc < 0)
		return rc;
	rc = cl_resolve(c, dash + 1, (size_t)(s + len - dash - 1), &to, err);
	if (rc < 0)
		return rc;
	if (from.depth != to.depth)
		return dim_err_set(err, -EINVAL,
				   "\"%s\": the two ends name different kinds of node (a blade and a chassis?)",
				   q);
	if (m->chassis && from.depth > chassis_depth(c))
		return dim_err_set(err, -EINVAL, "\"%s\": names blades, not chassis", q);
	if (from.flat > to.flat)
		return dim_err_set(err, -EINVAL, "\"%s\": runs backwards", q);
	return mark_run(m, from.depth, from.flat, to.flat);
}

static int select_item(struct marker *m, const char *s, size_t len, struct dim_err *err)
{
	const char *dash = range_dash(s, len);
	struct target t;
	char q[64];
	int rc;

	m->hits = 0;
	if (len == 3 && !memcmp(s, "all", 3)) {
		memset(&t, 0, sizeof(t));
		rc = target_walk(m->c, &t, mark_run, m);
	} else if (dash) {
		rc = select_from_to(m, s, len, dash, err);
	} else {
		rc = pattern_target(m->c, s, len, &t, err);
		if (rc < 0)
			return rc;
		if (m->chassis && t.depth > chassis_depth(m->c)) {
			target_free(&t);
			return dim_err_set(err, -EINVAL, "\"%s\": names blades, not chassis",
					   quote(q, sizeof(q), s, len));
		}
		rc = target_walk(m->c, &t, mark_run, m);
		target_free(&t);
	}
	if (rc < 0)
		return rc;
	if (!m->hits)
		return dim_err_set(err, -EINVAL, "\"%s\": selects only empty bays (absent)",
				   quote(q, sizeof(q), s, len));
	return 0;
}

static bool is_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

static int select_range(const struct cluster *c, const char *range, bool chassis,
			struct cl_selection *sel, struct dim_err *err)
{
	struct marker m = { .c = c, .sel = sel, .chassis = chassis };
	const char *text = range ? range : "all", *s = text, *end = s + strlen(s);
	char q[64];
	int rc;

	memset(sel, 0, sizeof(*sel));
	sel->n = chassis ? c->n_chassis : c->n_blades;
	sel->bits = calloc(sel->n / 64 + 1, sizeof(*sel->bits));
	if (!sel->bits)
		return dim_err_set(err, -ENOMEM, "out of memory");
	for (;;) {
		const char *a = s, *b;
		int depth = 0;

		/* Up to the next ',' outside brackets. */
		while (s < end && (*s != ',' || depth)) {
			depth += *s == '[' ? 1 : *s == ']' ? -1 : 0;
			s++;
		}
		for (b = s; a < b && is_space(*a); a++)
			;
		while (b > a && is_space(b[-1]))
			b--;
		if (a == b) {
			rc = text[0] ? dim_err_set(err, -EINVAL, "empty item in node range \"%s\"",
						   quote(q, sizeof(q), text, strlen(text))) :
					dim_err_set(err, -EINVAL, "empty node range");
			goto err_sel;
		}
		rc = select_item(&m, a, (size_t)(b - a), err);
		if (rc < 0)
			goto err_sel;
		if (s == end)
			return 0;
		s++;
	}

err_sel:
	cl_selection_free(sel);
	return rc;
}

int cluster_select_blades(const struct cluster *c, const char *range, struct cl_selection *sel,
			  struct dim_err *err)
{
	return select_range(c, range, false, sel, err);
}

int cluster_select_chassis(const struct cluster *c, const char *range, struct cl_selection *sel,
			   struct dim_err *err)
{
	return select_range(c, range, true, sel, err);
}

void cl_selection_free(struct cl_selection *s)
{
	free(s->bits);
	s->bits = NULL;
	s->n = 0;
	s->count = 0;
}
