/* SPDX-License-Identifier: MIT */
/*
 * What dim list prints: the table and the JSON of small.xml exactly, JSON
 * string escaping, and a write error reported rather than ignored.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cluster_test.h"
#include "list.h"

static char *capture_blades(const struct cluster *c, const char *range, bool chassis, bool json)
{
	struct cl_selection sel;
	struct dim_err err = { 0 };
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	assert_int_equal(chassis ? cluster_select_chassis(c, range, &sel, &err) :
				   cluster_select_blades(c, range, &sel, &err),
			 0);
	f = open_memstream(&buf, &len);
	assert_non_null(f);
	assert_int_equal(chassis ? list_chassis(f, c, &sel, json) : list_blades(f, c, &sel, json),
			 0);
	assert_int_equal(fclose(f), 0);
	cl_selection_free(&sel);
	return buf;
}

static void test_table(void **state)
{
	struct cluster *c = load_ok(SMALL_XML);
	char *out;

	(void)state;
	out = capture_blades(c, "b1,s02", false, false);
	assert_string_equal(out,
		"NAME      LINEAR  ADDRESS     MAC                SERVER  IMAGE\n"
		"s01c1b01  b1      10.77.0.11  52:54:00:00:01:01  s01     master\n"
		"s02c1b01  b5      10.77.1.11  52:54:00:00:02:01  s02     master\n"
		"s02c1b02  b6      10.77.1.12  52:54:00:00:02:02  s02     master\n"
		"s02c1b03  b7      10.77.1.13  -                  s02     other\n");
	free(out);
	out = capture_blades(c, "all", true, false);
	assert_string_equal(out,
		"NAME   LINEAR  MM       MM-ADDRESS  SERVER\n"
		"s01c1  mm1     s01c1mm  10.78.0.10  s01\n"
		"s02c1  mm2     s02c1mm  10.78.1.10  s02\n");
	free(out);
	cluster_free(c);
}

static void test_json(void **state)
{
	struct cluster *c = load_ok(SMALL_XML);
	char *out;

	(void)state;
	out = capture_blades(c, "b1,b7", false, true);
	assert_string_equal(out,
		"[\n"
		"  {\"name\": \"s01c1b01\", \"linear\": \"b1\", \"address\": \"10.77.0.11\", "
		"\"mac\": \"52:54:00:00:01:01\", \"server\": \"s01\", \"image\": \"master\"},\n"
		"  {\"name\": \"s02c1b03\", \"linear\": \"b7\", \"address\": \"10.77.1.13\", "
		"\"mac\": null, \"server\": \"s02\", \"image\": \"other\"}\n"
		"]\n");
	free(out);
	out = capture_blades(c, "mm2", true, true);
	assert_string_equal(out,
		"[\n"
		"  {\"name\": \"s02c1\", \"linear\": \"mm2\", \"mm\": \"s02c1mm\", "
		"\"mm_address\": \"10.78.1.10\", \"server\": \"s02\"}\n"
		"]\n");
	free(out);
	/* No image assigned: null, and "-" in the table. */
	c->blades[0].image = CL_NONE;
	out = capture_blades(c, "b1", false, true);
	assert_non_null(strstr(out, "\"image\": null}"));
	free(out);
	out = capture_blades(c, "b1", false, false);
	assert_non_null(strstr(out, "s01     -\n"));
	free(out);
	cluster_free(c);
}

static void test_json_string(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "", "\"\"" },
		{ "s01c1b01", "\"s01c1b01\"" },
		{ "a\"b", "\"a\\\"b\"" },
		{ "a\\b", "\"a\\\\b\"" },
		{ "line\nnext\ttab", "\"line\\nnext\\ttab\"" },
		{ "\x01\x1f\x7f", "\"\\u0001\\u001f\\u007f\"" },
		{ "/</>", "\"/</>\"" },
		{ "\xc3\xa9", "\"\xc3\xa9\"" },	/* UTF-8 passes through */
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *buf = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&buf, &len);

		assert_non_null(f);
		json_string(f, cases[i].in);
		assert_int_equal(fclose(f), 0);
		assert_string_equal(buf, cases[i].out);
		free(buf);
	}
}

/* A full disk (or a closed pipe) is an error, not a silently short list. */
static void test_write_error(void **state)
{
	struct cluster *c = load_ok(SMALL_XML);
	struct cl_selection sel;
	struct dim_err err = { 0 };
	FILE *f = fopen("/dev/full", "w");

	(void)state;
	assert_non_null(f);
	setvbuf(f, NULL, _IONBF, 0);
	assert_int_equal(cluster_select_blades(c, "all", &sel, &err), 0);
	assert_int_equal(list_blades(f, c, &sel, false), -EIO);
	assert_int_equal(list_blades(f, c, &sel, true), -EIO);
	fclose(f);
	cl_selection_free(&sel);
	cluster_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_json_string),
		cmocka_unit_test(test_write_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
