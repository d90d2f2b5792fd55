/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kconfig.h"

#define PREFIX		"CONFIG_"
#define PREFIX_LEN	(sizeof(PREFIX) - 1)
#define NOT_SET		" is not set"
#define NOT_SET_LEN	(sizeof(NOT_SET) - 1)

void kconfig_init(struct kconfig *kc)
{
	memset(kc, 0, sizeof(*kc));
}

void kconfig_free(struct kconfig *kc)
{
	size_t i;

	for (i = 0; i < kc->n; i++) {
		free(kc->v[i].name);
		free(kc->v[i].value);
	}
	free(kc->v);
	for (i = 0; i < kc->n_files; i++)
		free(kc->files[i]);
	free(kc->files);
	kconfig_init(kc);
}

/* The stored copy of a file name, added once. */
static const char *file_name(struct kconfig *kc, const char *file)
{
	char **grown;
	size_t i;

	for (i = 0; i < kc->n_files; i++)
		if (!strcmp(kc->files[i], file))
			return kc->files[i];
	grown = realloc(kc->files, (kc->n_files + 1) * sizeof(*grown));
	if (!grown)
		return NULL;
	kc->files = grown;
	kc->files[kc->n_files] = strdup(file);
	if (!kc->files[kc->n_files])
		return NULL;
	return kc->files[kc->n_files++];
}

static struct kconfig_sym *find(const struct kconfig *kc, const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < kc->n; i++)
		if (!strncmp(kc->v[i].name, name, len) && kc->v[i].name[len] == '\0')
			return &kc->v[i];
	return NULL;
}

const struct kconfig_sym *kconfig_get(const struct kconfig *kc, const char *name)
{
	return find(kc, name, strlen(name));
}

/* Store name (len bytes) = value (vlen bytes), replacing an earlier value. */
static int store(struct kconfig *kc, const char *name, size_t len, const char *value,
		 size_t vlen, int is_string, const char *file, unsigned line)
{
	struct kconfig_sym *s = find(kc, name, len);
	char *v;

	file = file_name(kc, file);
	v = strndup(value, vlen);
	if (!file || !v) {
		free(v);
		return -ENOMEM;
	}
	if (!s) {
		if (kc->n == kc->cap) {
			size_t cap = kc->cap ? kc->cap * 2 : 64;
			struct kconfig_sym *grown = realloc(kc->v, cap * sizeof(*grown));

			if (!grown) {
				free(v);
				return -ENOMEM;
			}
			kc->v = grown;
			kc->cap = cap;
		}
		s = &kc->v[kc->n];
		s->name = strndup(name, len);
		if (!s->name) {
			free(v);
			return -ENOMEM;
		}
		kc->n++;
	} else {
		free(s->value);
	}
	s->value = v;
	s->is_string = is_string;
	s->file = file;
	s->line = line;
	return 0;
}

static int name_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '_';
}

/* Length of the symbol name at p ("CONFIG_" and at least one name character), or 0. */
static size_t name_len(const char *p, size_t left)
{
	size_t n;

	if (left <= PREFIX_LEN || memcmp(p, PREFIX, PREFIX_LEN))
		return 0;
	for (n = PREFIX_LEN; n < left && name_char(p[n]); n++)
		;
	return n > PREFIX_LEN ? n : 0;
}

static int is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* y, m, n, a decimal (optionally negative) or 0x hex number: what bool, tristate, int and hex symbols hold. */
static int plain_value(const char *p, size_t len)
{
	size_t i = 0;

	if (len == 1 && (*p == 'y' || *p == 'm' || *p == 'n'))
		return 1;
	if (len > 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		for (i = 2; i < len; i++)
			if (!is_hex(p[i]))
				return 0;
		return 1;
	}
	if (len > 1 && p[0] == '-')
		i = 1;
	if (i == len)
		return 0;
	for (; i < len; i++)
		if (p[i] < '0' || p[i] > '9')
			return 0;
	return 1;
}

/*
 * A quoted string at p (p[0] == '"'), len bytes to the end of the line: its
 * contents unescaped into a new buffer.  A backslash takes the next byte
 * literally, as confdata.c reads it.  Only blanks may follow the closing quote.
 */
static int string_value(const char *p, size_t len, char **out, size_t *out_len,
			const char **why)
{
	char *buf = malloc(len), *w = buf;
	size_t i;

	if (!buf)
		return -ENOMEM;
	for (i = 1; i < len && p[i] != '"'; i++) {
		if (p[i] == '\\' && i + 1 < len)
			i++;
		if (p[i] == '\0') {
			*why = "a NUL byte in the string";
			goto bad;
		}
		*w++ = p[i];
	}
	if (i >= len) {
		*why = "the string has no closing quote";
		goto bad;
	}
	for (i++; i < len; i++)
		if (p[i] != ' ' && p[i] != '\t') {
			*why = "text after the closing quote";
			goto bad;
		}
	*out = buf;
	*out_len = (size_t)(w - buf);
	return 0;
bad:
	free(buf);
	return -EINVAL;
}

static int parse_line(struct kconfig *kc, const char *p, size_t len, const char *file,
		      unsigned line, struct dim_err *e)
{
	const char *why = "want CONFIG_NAME=VALUE or \"# CONFIG_NAME is not set\"";
	const char *v;
	size_t n, vlen;
	int rc;

	/* Trailing blanks (and a CR of a file edited elsewhere) mean nothing. */
	while (len && (p[len - 1] == ' ' || p[len - 1] == '\t' || p[len - 1] == '\r'))
		len--;
	if (len == 0)
		return 0;
	if (p[0] == '#') {
		/* "# CONFIG_X is not set" is an assignment; any other comment is not. */
		if (len > 2 && p[1] == ' ') {
			n = name_len(p + 2, len - 2);
			if (n && len - 2 - n == NOT_SET_LEN && !memcmp(p + 2 + n, NOT_SET, NOT_SET_LEN))
				goto not_set;
		}
		return 0;
	}
	n = name_len(p, len);
	if (!n || n == len || p[n] != '=')
		goto bad;
	v = p + n + 1;
	vlen = len - n - 1;
	if (vlen && v[0] == '"') {
		char *s;
		size_t slen;

		rc = string_value(v, vlen, &s, &slen, &why);
		if (rc == -EINVAL)
			goto bad_value;
		if (rc)
			return dim_err_set(e, rc, "out of memory");
		rc = store(kc, p, n, s, slen, 1, file, line);
		free(s);
	} else if (plain_value(v, vlen)) {
		rc = store(kc, p, n, v, vlen, 0, file, line);
	} else {
		why = "the value must be y, m, n, a number or a \"string\"";
		goto bad_value;
	}
	if (rc)
		return dim_err_set(e, rc, "out of memory");
	return 0;

not_set:
	rc = store(kc, p + 2, n, "n", 1, 0, file, line);
	if (rc)
		return dim_err_set(e, rc, "out of memory");
	return 0;
bad_value:
	return dim_err_set(e, -EINVAL, "%s:%u: %.*s: %s", file, line, (int)n, p, why);
bad:
	return dim_err_set(e, -EINVAL, "%s:%u: %s", file, line, why);
}

int kconfig_parse(struct kconfig *kc, const char *text, size_t len, const char *file,
		  struct dim_err *e)
{
	size_t off = 0;
	unsigned line = 0;
	int rc;

	while (off < len) {
		const char *nl = memchr(text + off, '\n', len - off);
		size_t end = nl ? (size_t)(nl - text) : len;

		line++;
		rc = parse_line(kc, text + off, end - off, file, line, e);
		if (rc)
			return rc;
		off = end + 1;
	}
	return 0;
}

int kconfig_set(struct kconfig *kc, const char *name, const char *value, int is_string,
		const char *file, unsigned line, struct dim_err *e)
{
	size_t n = name_len(name, strlen(name));
	int rc;

	if (!n || name[n])
		return dim_err_set(e, -EINVAL, "%s:%u: \"%s\" is not a CONFIG_ symbol name", file,
				   line, name);
	if (!is_string && !plain_value(value, strlen(value)))
		return dim_err_set(e, -EINVAL, "%s:%u: %s: the value must be y, m, n or a number",
				   file, line, name);
	rc = store(kc, name, n, value, strlen(value), is_string, file, line);
	if (rc)
		return dim_err_set(e, rc, "out of memory");
	return 0;
}

int kconfig_format(const struct kconfig *kc, char **out, size_t *len)
{
	FILE *f;
	size_t i;
	const char *c;

	*out = NULL;
	f = open_memstream(out, len);
	if (!f)
		return -ENOMEM;
	for (i = 0; i < kc->n; i++) {
		const struct kconfig_sym *s = &kc->v[i];

		if (!s->is_string && !strcmp(s->value, "n")) {
			fprintf(f, "# %s is not set\n", s->name);
			continue;
		}
		if (!s->is_string) {
			fprintf(f, "%s=%s\n", s->name, s->value);
			continue;
		}
		fprintf(f, "%s=\"", s->name);
		for (c = s->value; *c; c++) {
			if (*c == '"' || *c == '\\')
				fputc('\\', f);
			fputc(*c, f);
		}
		fputs("\"\n", f);
	}
	if (fclose(f) != 0) {
		free(*out);
		*out = NULL;
		return -ENOMEM;
	}
	return 0;
}

static int same(const struct kconfig_sym *want, const struct kconfig_sym *have)
{
	int want_n = !want->is_string && !strcmp(want->value, "n");

	if (!have)
		return want_n;
	return want->is_string == have->is_string && !strcmp(want->value, have->value);
}

int kconfig_check(const struct kconfig *want, const struct kconfig *have,
		  struct kconfig_mismatch **out, size_t *n)
{
	struct kconfig_mismatch *v = NULL;
	size_t i, k = 0;

	*out = NULL;
	*n = 0;
	for (i = 0; i < want->n; i++) {
		const struct kconfig_sym *h = kconfig_get(have, want->v[i].name);

		if (same(&want->v[i], h))
			continue;
		if (!v) {
			v = calloc(want->n, sizeof(*v));
			if (!v)
				return -ENOMEM;
		}
		v[k].want = &want->v[i];
		v[k].have = h;
		k++;
	}
	*out = v;
	*n = k;
	return 0;
}

void kconfig_describe(const struct kconfig_mismatch *m, char *buf, size_t size)
{
	const struct kconfig_sym *w = m->want, *h = m->have;
	const char *wq = w->is_string ? "\"" : "", *hq;
	char where[512];

	/* Line 0: set by a program, not read from a file. */
	if (w->line)
		snprintf(where, sizeof(where), "%s:%u", w->file, w->line);
	else
		snprintf(where, sizeof(where), "%s", w->file);
	if (!h) {
		snprintf(buf, size, "%s: %s=%s%s%s, but the .config does not have it (its menu "
			 "or a dependency is off, or this kernel has no such symbol)", where, w->name, wq, w->value,
			 wq);
	} else if (!h->is_string && !strcmp(h->value, "n")) {
		snprintf(buf, size, "%s: %s=%s%s%s, but the .config has it not set (a "
			 "dependency is off)", where, w->name, wq, w->value, wq);
	} else {
		hq = h->is_string ? "\"" : "";
		snprintf(buf, size, "%s: %s=%s%s%s, but the .config has %s%s%s", where, w->name,
			 wq, w->value, wq, hq, h->value, hq);
	}
}
