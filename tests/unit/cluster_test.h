/* SPDX-License-Identifier: MIT */
/*
 * Helpers of the cluster tests (test_cluster.c, test_range.c, test_list.c):
 * load the shipped definitions, and variants of small.xml with a few words
 * replaced.  The tests run from the top of the tree (make test-unit does).
 */
#ifndef DIM_CLUSTER_TEST_H
#define DIM_CLUSTER_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"
#include "fsutil.h"

#define SMALL_XML	"config/small.xml"
#define MARENOSTRUM_XML	"config/marenostrum.xml"

static inline struct cluster *load_ok(const char *path)
{
	struct dim_err err = { 0 };
	struct cluster *c = NULL;
	int rc = cluster_load(path, &c, &err);

	if (rc < 0)
		fprintf(stderr, "%s\n", err.msg);
	assert_int_equal(rc, 0);
	assert_non_null(c);
	return c;
}

__attribute__((noinline, unused)) static char *slurp(const char *path)
{
	char *data;
	size_t len;

	assert_int_equal(read_file(path, &data, &len), 0);
	return data;
}

/* text with the first occurrence of from replaced by to (from must be there). */
static inline char *replace(const char *text, const char *from, const char *to)
{
	const char *at = strstr(text, from);
	size_t head, flen = strlen(from), tlen = strlen(to);
	char *out;

	if (!at)
		fprintf(stderr, "replace: \"%s\" is not in the text\n", from);
	assert_non_null(at);
	head = (size_t)(at - text);
	out = malloc(strlen(text) - flen + tlen + 1);
	assert_non_null(out);
	memcpy(out, text, head);
	memcpy(out + head, to, tlen);
	strcpy(out + head + tlen, at + flen);
	return out;
}

/* The line number of the first occurrence of needle. */
static inline unsigned line_at(const char *text, const char *needle)
{
	const char *at = strstr(text, needle), *p;
	unsigned line = 1;

	assert_non_null(at);
	for (p = text; p < at; p++)
		line += *p == '\n';
	return line;
}

static inline struct cluster *load_text_ok(const char *text)
{
	struct dim_err err = { 0 };
	struct cluster *c = NULL;
	int rc = cluster_load_buffer(text, strlen(text), "t.xml", &c, &err);

	if (rc < 0)
		fprintf(stderr, "%s\n", err.msg);
	assert_int_equal(rc, 0);
	return c;
}

#endif /* DIM_CLUSTER_TEST_H */
