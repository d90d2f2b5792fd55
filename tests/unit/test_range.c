/* SPDX-License-Identifier: MIT */
/*
 * Node ranges: every form selects exactly the blades (or chassis) it names,
 * in hierarchical order, never an empty bay; every bad range is -EINVAL with
 * a message naming the item.
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

static struct cluster *small, *mn;

static int setup(void **state)
{
	(void)state;
	small = load_ok(SMALL_XML);
	mn = load_ok(MARENOSTRUM_XML);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	cluster_free(small);
	cluster_free(mn);
	return 0;
}

/* The linear names a range selects, comma-separated ("b1,b3"). */
static void selected(const struct cluster *c, const char *range, bool chassis, char *out,
		     size_t size)
{
	struct cl_selection sel = { 0 };
	struct dim_err err = { 0 };
	unsigned i, n = 0;
	size_t o = 0;
	int rc;

	rc = chassis ? cluster_select_chassis(c, range, &sel, &err) :
		       cluster_select_blades(c, range, &sel, &err);
	if (rc < 0)
		fprintf(stderr, "%s: %s\n", range, err.msg);
	assert_int_equal(rc, 0);
	assert_int_equal(sel.n, chassis ? c->n_chassis : c->n_blades);
	out[0] = '\0';
	for (i = 0; i < sel.n; i++) {
		if (!cl_selected(&sel, i))
			continue;
		n++;
		o += (size_t)snprintf(out + o, size - o, "%s%s", o ? "," : "",
				      chassis ? c->chassis[i].linear : c->blades[i].linear);
		assert_true(o < size);
	}
	assert_int_equal(n, sel.count);
	assert_false(cl_selected(&sel, sel.n));
	cl_selection_free(&sel);
	assert_null(sel.bits);
	assert_int_equal(sel.count, 0);
}

static void expect(const struct cluster *c, const char *range, const char *want)
{
	char got[512];

	selected(c, range, false, got, sizeof(got));
	if (strcmp(got, want))
		fprintf(stderr, "range \"%s\": got %s, want %s\n", range ? range : "(null)", got, want);
	assert_string_equal(got, want);
}

static void expect_chassis(const struct cluster *c, const char *range, const char *want)
{
	char got[512];

	selected(c, range, true, got, sizeof(got));
	if (strcmp(got, want))
		fprintf(stderr, "chassis range \"%s\": got %s, want %s\n", range, got, want);
	assert_string_equal(got, want);
}

static unsigned count(const struct cluster *c, const char *range, unsigned *first,
		      unsigned *last)
{
	struct cl_selection sel;
	struct dim_err err = { 0 };
	unsigned i, n;

	if (cluster_select_blades(c, range, &sel, &err) < 0)
		fprintf(stderr, "%s: %s\n", range, err.msg);
	assert_non_null(sel.bits);
	*first = *last = CL_NONE;
	for (i = 0; i < sel.n; i++)
		if (cl_selected(&sel, i)) {
			if (*first == CL_NONE)
				*first = i;
			*last = i;
		}
	n = sel.count;
	cl_selection_free(&sel);
	return n;
}

static void expect_error(const struct cluster *c, const char *range, bool chassis,
			 const char *want)
{
	struct cl_selection sel = { .bits = (uint64_t *)&sel };	/* must be cleared */
	struct dim_err err = { 0 };
	int rc;

	rc = chassis ? cluster_select_chassis(c, range, &sel, &err) :
		       cluster_select_blades(c, range, &sel, &err);
	fprintf(stderr, "  %-24s %s\n", range, rc ? err.msg : "(selected)");
	assert_int_equal(rc, -EINVAL);
	assert_null(sel.bits);
	assert_int_equal(sel.count, 0);
	if (!strstr(err.msg, want)) {
		fprintf(stderr, "    wanted: %s\n", want);
		fail();
	}
}

/* ---------------------------------------------------------------- forms */

static void test_forms(void **state)
{
	(void)state;
	/* small.xml: b1..b4 on s01, b5..b8 on s02, b8 (s02c1b04) an empty bay. */
	expect(small, "all", "b1,b2,b3,b4,b5,b6,b7");
	expect(small, NULL, "b1,b2,b3,b4,b5,b6,b7");
	expect(small, "s01c1b01-s01c1b03", "b1,b2,b3");
	expect(small, "s1c1b1-s1c1b3", "b1,b2,b3");
	expect(small, "b2-b6", "b2,b3,b4,b5,b6");
	expect(small, "b3-s02c1b02", "b3,b4,b5,b6");
	expect(small, "b6-b8", "b6,b7");
	expect(small, "b2-b2", "b2");
	expect(small, "s02", "b5,b6,b7");
	expect(small, "s2", "b5,b6,b7");
	expect(small, "s01-s02", "b1,b2,b3,b4,b5,b6,b7");
	expect(small, "s02c1", "b5,b6,b7");
	expect(small, "mm2", "b5,b6,b7");
	expect(small, "s02c1mm", "b5,b6,b7");
	expect(small, "mm1-mm2", "b1,b2,b3,b4,b5,b6,b7");
	expect(small, "s01c1mm-mm2", "b1,b2,b3,b4,b5,b6,b7");
	expect(small, "s[01-02]c1b[01,03]", "b1,b3,b5,b7");
	expect(small, "s[1-2]c[1]b[1,3]", "b1,b3,b5,b7");
	expect(small, "b[1,3,5-7]", "b1,b3,b5,b6,b7");
	expect(small, "b[5-7],b1", "b1,b5,b6,b7");
	expect(small, "b[7-8]", "b7");
	expect(small, "b[3-3]", "b3");
	expect(small, "b[4,2,3,2]", "b2,b3,b4");
	expect(small, "s[2]c[1]b[3]", "b7");
	expect(small, "s[1-2]", "b1,b2,b3,b4,b5,b6,b7");
	expect(small, "mm[2]", "b5,b6,b7");
	expect(small, "s02c1b[01-04]", "b5,b6,b7");
	expect(small, "b1,b1,s01c1b01,b01", "b1");
	expect(small, " b1 , b2\t", "b1,b2");
	expect(small, "s02,b1", "b1,b5,b6,b7");
}

static void test_chassis(void **state)
{
	(void)state;
	expect_chassis(small, "all", "mm1,mm2");
	expect_chassis(small, "mm1", "mm1");
	expect_chassis(small, "s02", "mm2");
	expect_chassis(small, "s02c1", "mm2");
	expect_chassis(small, "s01c1mm,mm2", "mm1,mm2");
	expect_chassis(small, "mm1-mm2", "mm1,mm2");
	expect_chassis(small, "s01c1-s02c1", "mm1,mm2");
	expect_chassis(small, "s[1-2]c1", "mm1,mm2");
	expect_chassis(mn, "s23c2mm", "mm90");
	expect_chassis(mn, "mm[1-3],s42c4", "mm1,mm2,mm3,mm168");
	expect_chassis(mn, "s02", "mm5,mm6,mm7,mm8");
	expect_error(small, "b1", true, "\"b1\": names blades, not chassis");
	expect_error(small, "b1-b2", true, "\"b1-b2\": names blades, not chassis");
	expect_error(small, "mm3", true, "\"mm3\": no chassis mm3 (mm1..mm2)");
}

/* The MareNostrum layout of the issue. */
static void test_marenostrum(void **state)
{
	unsigned first, last;
	char big[8192];
	size_t o;
	int i;

	(void)state;
	assert_int_equal(count(mn, "s[01-42]c[1-4]b[01-14]", &first, &last), 2352);
	assert_int_equal(count(mn, "all", &first, &last), 2352);
	assert_int_equal(count(mn, "b1-b28", &first, &last), 28);
	assert_int_equal(first, 0);
	assert_int_equal(last, 27);
	assert_int_equal(count(mn, "s01c1b01-s01c1b14", &first, &last), 14);
	assert_int_equal(last, 13);
	assert_int_equal(count(mn, "mm1-mm4", &first, &last), 56);
	assert_int_equal(count(mn, "s42", &first, &last), 56);
	assert_int_equal(first, 2296);
	assert_int_equal(last, 2351);
	assert_int_equal(count(mn, "mm90", &first, &last), 14);
	assert_int_equal(first, 89 * 14);
	assert_int_equal(count(mn, "s23c2", &first, &last), 14);
	assert_int_equal(first, 89 * 14);
	assert_int_equal(count(mn, "b[1-2352]", &first, &last), 2352);
	assert_int_equal(count(mn, "s[1-42]c[1-4]b[7]", &first, &last), 168);
	assert_int_equal(first, 6);
	expect(mn, "s[1,3]c[2-3]b[7]", "b21,b35,b133,b147");
	expect(mn, "s01c2b14,b28", "b28");

	/* A long list of one value costs what the value costs, not the length of the list. */
	o = (size_t)snprintf(big, sizeof(big), "s[");
	for (i = 0; i < 1000; i++)
		o += (size_t)snprintf(big + o, sizeof(big) - o, "%s1-42", i ? "," : "");
	snprintf(big + o, sizeof(big) - o, "]c[1,1,1,1,1,1,1,1-4]b[1-14,1-14,1-14]");
	assert_int_equal(count(mn, big, &first, &last), 2352);
}

/* Absent bays: skipped inside ranges, an error when they are all an item names. */
static void test_absent(void **state)
{
	(void)state;
	expect(small, "s02c1b03-s02c1b04", "b7");
	expect_error(small, "s02c1b04", false, "\"s02c1b04\": selects only empty bays");
	expect_error(small, "b8", false, "\"b8\": selects only empty bays");
	expect_error(small, "b1,b[8]", false, "\"b[8]\": selects only empty bays");
}

static void test_errors(void **state)
{
	(void)state;
	expect_error(small, "b9", false, "\"b9\": no blade b9 (b1..b8)");
	expect_error(small, "b0", false, "\"b0\": no blade b0 (b1..b8)");
	expect_error(small, "s03", false, "\"s03\": no server s03 (s01..s02)");
	expect_error(small, "s3c1", false, "\"s3c1\": no server s03 (s01..s02)");
	expect_error(small, "s01c2", false, "\"s01c2\": no chassis c2 (c1..c1)");
	expect_error(small, "s01c1b05", false, "\"s01c1b05\": no blade b05 (b01..b04)");
	expect_error(small, "b[1-9]", false, "\"b[1-9]\": no blade b9 (b1..b8)");
	expect_error(small, "s[01-03]c1", false, "\"s[01-03]c1\": no server s03");
	expect_error(small, "b1,b2,b99", false, "\"b99\": no blade b99");
	expect_error(small, "b[3-1]", false, "\"b[3-1]\": 3-1 runs backwards");
	expect_error(small, "b6-b2", false, "\"b6-b2\": runs backwards");
	expect_error(small, "x1", false, "\"x1\": not a node name (names are like s01c1b01, b1, mm1, s01c1mm)");
	expect_error(small, "ALL", false, "\"ALL\": not a node name");
	expect_error(small, "S01", false, "\"S01\": not a node name");
	expect_error(small, "s01x1", false, "\"s01x1\": level 2 (chassis) is written \"c\"");
	expect_error(small, "s01c1b01-mm2", false, "\"s01c1b01-mm2\": the two ends name different kinds");
	expect_error(small, "s01-b3", false, "the two ends name different kinds");
	expect_error(small, "b1-b2-b3", false, "\"b1-b2-b3\": more than one '-'");
	expect_error(small, "b[1-2]-b5", false, "the ends of a from-to range are single names");
	expect_error(small, "b1-b[5]", false, "the ends of a from-to range are single names");
	expect_error(small, "b[1-", false, "\"b[1-\": '[' without ']'");
	expect_error(small, "b[1,2", false, "'[' without ']'");
	expect_error(small, "b[]", false, "\"\" is not a number or a range of numbers");
	expect_error(small, "b[a]", false, "\"a\" is not a number or a range of numbers");
	expect_error(small, "b[1-]", false, "\"1-\" is not a number");
	expect_error(small, "b[-1]", false, "\"-1\" is not a number");
	expect_error(small, "b[1,,2]", false, "\"\" is not a number");
	expect_error(small, "b1]", false, "\"b1]\": expected a letter at \"]\"");
	expect_error(small, "", false, "empty node range");
	expect_error(small, "b1,,b2", false, "empty item in node range \"b1,,b2\"");
	expect_error(small, "b1,", false, "empty item in node range \"b1,\"");
	expect_error(small, " ", false, "empty item");
	expect_error(small, "s01mm", false, "\"s01mm\": only a chassis name may end in a word");
	expect_error(small, "s01c1b01mm", false, "only a chassis name may end in a word");
	expect_error(small, "s01c1xx", false, "only a chassis name may end in a word, its management module suffix \"mm\"");
	expect_error(small, "1", false, "\"1\": expected a letter at \"1\"");
	expect_error(small, "b1;", false, "\"b1;\": expected a letter at \";\"");
	expect_error(small, "b;", false, "\"b;\": unexpected ';'");
	expect_error(small, "b1 b2", false, "\"b1 b2\": expected a letter at \" b2\"");
	expect_error(small, "b1234567890", false, "\"1234567890\" is not a number (at most 9 digits)");
	expect_error(small, "s01c1b01c1", false, "more levels than the naming has (3)");
	expect_error(small, "s1c1b1x1y1z1u1v1w1t1", false, "more levels than any naming has");
	expect_error(small, "-b1", false, "empty node name");
	expect_error(small, "b1-", false, "empty node name");
	expect_error(small, "b\x01", false, "\"b\\x01\": unexpected '\\x01'");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_forms),
		cmocka_unit_test(test_chassis),
		cmocka_unit_test(test_marenostrum),
		cmocka_unit_test(test_absent),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
