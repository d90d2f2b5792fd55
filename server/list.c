/* SPDX-License-Identifier: MIT */
/*
 * dim list's output.  One row per selected node; the columns of each kind of
 * row are a table (heading, JSON key, how to fill it), and one printer writes
 * any of them as an aligned table or as a JSON array of objects.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "list.h"

#define MAX_COLS 6

struct row {
	char f[MAX_COLS][CL_NAME_MAX];
	bool null[MAX_COLS];	/* nothing there: "-" in a table, null in JSON */
};

struct layout {
	unsigned ncols;
	const char *head[MAX_COLS];
	const char *key[MAX_COLS];
	void (*fill)(const struct cluster *c, unsigned i, struct row *r);
};

static void put(struct row *r, unsigned col, const char *s)
{
	if (!s) {
		r->null[col] = true;
		snprintf(r->f[col], sizeof(r->f[col]), "-");
		return;
	}
	r->null[col] = false;
	snprintf(r->f[col], sizeof(r->f[col]), "%s", s);
}

static void put_addr(struct row *r, unsigned col, struct in_addr a)
{
	char buf[INET_ADDRSTRLEN];

	put(r, col, inet_ntop(AF_INET, &a, buf, sizeof(buf)));
}

static void fill_blade(const struct cluster *c, unsigned i, struct row *r)
{
	const struct cl_blade *b = &c->blades[i];
	char mac[18];

	put(r, 0, b->name);
	put(r, 1, b->linear);
	put_addr(r, 2, b->addr);
	snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", b->mac[0], b->mac[1],
		 b->mac[2], b->mac[3], b->mac[4], b->mac[5]);
	put(r, 3, b->has_mac ? mac : NULL);
	put(r, 4, c->servers[b->server].name);
	put(r, 5, b->image == CL_NONE ? NULL : c->images[b->image].name);
}

static void fill_chassis(const struct cluster *c, unsigned i, struct row *r)
{
	const struct cl_chassis *ch = &c->chassis[i];

	put(r, 0, ch->name);
	put(r, 1, ch->linear);
	put(r, 2, ch->mm_name);
	put_addr(r, 3, ch->mm_addr);
	put(r, 4, c->servers[ch->server].name);
}

static const struct layout blade_layout = {
	6,
	{ "NAME", "LINEAR", "ADDRESS", "MAC", "SERVER", "IMAGE" },
	{ "name", "linear", "address", "mac", "server", "image" },
	fill_blade,
};

static const struct layout chassis_layout = {
	5,
	{ "NAME", "LINEAR", "MM", "MM-ADDRESS", "SERVER" },
	{ "name", "linear", "mm", "mm_address", "server" },
	fill_chassis,
};

void json_string(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		switch (ch) {
		case '"':
			fputs("\\\"", out);
			break;
		case '\\':
			fputs("\\\\", out);
			break;
		case '\n':
			fputs("\\n", out);
			break;
		case '\t':
			fputs("\\t", out);
			break;
		default:
			if (ch < 0x20 || ch == 0x7f)
				fprintf(out, "\\u%04x", ch);
			else
				fputc(ch, out);
		}
	}
	fputc('"', out);
}

/* One table line: columns padded to their width, the last one not. */
static void print_cells(FILE *out, const struct layout *lay, const size_t *width,
			const char *const *cells)
{
	unsigned k;

	for (k = 0; k + 1 < lay->ncols; k++)
		fprintf(out, "%-*s  ", (int)width[k], cells[k]);
	fprintf(out, "%s\n", cells[k]);
}

static int print_rows(FILE *out, const struct cluster *c, const struct cl_selection *sel,
		      const struct layout *lay, bool json)
{
	size_t width[MAX_COLS];
	struct row r;
	unsigned i, k;
	bool first = true;

	for (k = 0; k < lay->ncols; k++)
		width[k] = strlen(lay->head[k]);
	if (!json) {
		for (i = 0; i < sel->n; i++) {
			if (!cl_selected(sel, i))
				continue;
			lay->fill(c, i, &r);
			for (k = 0; k < lay->ncols; k++)
				if (strlen(r.f[k]) > width[k])
					width[k] = strlen(r.f[k]);
		}
		print_cells(out, lay, width, lay->head);
	} else {
		fputc('[', out);
	}
	for (i = 0; i < sel->n; i++) {
		if (!cl_selected(sel, i))
			continue;
		lay->fill(c, i, &r);
		if (!json) {
			const char *cells[MAX_COLS];

			for (k = 0; k < lay->ncols; k++)
				cells[k] = r.f[k];
			print_cells(out, lay, width, cells);
			continue;
		}
		fputs(first ? "\n  {" : ",\n  {", out);
		first = false;
		for (k = 0; k < lay->ncols; k++) {
			if (k)
				fputs(", ", out);
			json_string(out, lay->key[k]);
			fputs(": ", out);
			if (r.null[k])
				fputs("null", out);
			else
				json_string(out, r.f[k]);
		}
		fputc('}', out);
	}
	if (json)
		fputs(first ? "]\n" : "\n]\n", out);
	return ferror(out) ? -EIO : 0;
}

int list_blades(FILE *out, const struct cluster *c, const struct cl_selection *sel, bool json)
{
	return print_rows(out, c, sel, &blade_layout, json);
}

int list_chassis(FILE *out, const struct cluster *c, const struct cl_selection *sel, bool json)
{
	return print_rows(out, c, sel, &chassis_layout, json);
}
