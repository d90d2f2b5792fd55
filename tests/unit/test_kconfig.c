/* SPDX-License-Identifier: MIT */
/*
 * Kernel configuration fragments: parsing (every form confdata.c writes,
 * and the lines it would not read), merging (a later fragment wins), the
 * KCONFIG_ALLCONFIG text, and the check that catches a symbol Kconfig
 * dropped (VIRTIO_NET=y without NET_CORE).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "kconfig.h"

#define TXT(lit) (lit), (sizeof(lit) - 1)

static void parse_ok(struct kconfig *kc, const char *text, size_t len, const char *file)
{
	struct dim_err e = { 0 };

	if (kconfig_parse(kc, text, len, file, &e))
		fail_msg("parse failed: %s", e.msg);
}

static void expect_sym(const struct kconfig *kc, const char *name, const char *value,
			 int is_string)
{
	const struct kconfig_sym *s = kconfig_get(kc, name);

	if (!s)
		fail_msg("%s is missing", name);
	assert_string_equal(s->value, value);
	assert_int_equal(s->is_string, is_string);
}

static void test_parse_forms(void **state)
{
	static const char text[] =
		"#\n"
		"# Automatically generated file; DO NOT EDIT.\n"
		"#\n"
		"CONFIG_NET=y\n"
		"CONFIG_NFS_FS=m\n"
		"# CONFIG_VT is not set\n"
		"CONFIG_NR_CPUS=2048\n"
		"CONFIG_NEG=-1\n"
		"CONFIG_PHYS=0x0000000002000000\n"
		"CONFIG_CMDLINE=\"console=ttyS0 quote=\\\" slash=\\\\\"\n"
		"CONFIG_EMPTY=\"\"\n"
		"\n"
		"   \n"
		"CONFIG_TRAILING=y  \r\n"
		"#CONFIG_NOT_AN_ASSIGNMENT is not set\n"
		"# CONFIG_LOOKS_LIKE is not set, really\n"
		"CONFIG_LAST=n";
	struct kconfig kc;

	(void)state;
	kconfig_init(&kc);
	parse_ok(&kc, text, sizeof(text) - 1, "a.config");
	assert_int_equal(kc.n, 10);
	expect_sym(&kc, "CONFIG_NET", "y", 0);
	expect_sym(&kc, "CONFIG_NFS_FS", "m", 0);
	expect_sym(&kc, "CONFIG_VT", "n", 0);
	expect_sym(&kc, "CONFIG_NR_CPUS", "2048", 0);
	expect_sym(&kc, "CONFIG_NEG", "-1", 0);
	expect_sym(&kc, "CONFIG_PHYS", "0x0000000002000000", 0);
	expect_sym(&kc, "CONFIG_CMDLINE", "console=ttyS0 quote=\" slash=\\", 1);
	expect_sym(&kc, "CONFIG_EMPTY", "", 1);
	expect_sym(&kc, "CONFIG_TRAILING", "y", 0);
	expect_sym(&kc, "CONFIG_LAST", "n", 0);
	assert_null(kconfig_get(&kc, "CONFIG_NOT_AN_ASSIGNMENT"));
	assert_null(kconfig_get(&kc, "CONFIG_LOOKS_LIKE"));
	assert_null(kconfig_get(&kc, "CONFIG_NE"));	/* a prefix of CONFIG_NET is not it */
	assert_string_equal(kconfig_get(&kc, "CONFIG_VT")->file, "a.config");
	assert_int_equal(kconfig_get(&kc, "CONFIG_VT")->line, 6);
	assert_int_equal(kconfig_get(&kc, "CONFIG_LAST")->line, 17);
	kconfig_free(&kc);
}

static void expect_parse_error(const char *text, size_t len, const char *msg)
{
	struct dim_err e = { 0 };
	struct kconfig kc;

	kconfig_init(&kc);
	assert_int_equal(kconfig_parse(&kc, text, len, "f.config", &e), -EINVAL);
	if (strcmp(e.msg, msg))
		fail_msg("got \"%s\", want \"%s\"", e.msg, msg);
	kconfig_free(&kc);
}

static void test_parse_errors(void **state)
{
	(void)state;
	expect_parse_error(TXT("CONFIG_A=y\nVIRTIO_NET=y\n"),
			   "f.config:2: want CONFIG_NAME=VALUE or \"# CONFIG_NAME is not set\"");
	expect_parse_error(TXT("CONFIG_=y\n"),
			   "f.config:1: want CONFIG_NAME=VALUE or \"# CONFIG_NAME is not set\"");
	expect_parse_error(TXT("CONFIG_A\n"),
			   "f.config:1: want CONFIG_NAME=VALUE or \"# CONFIG_NAME is not set\"");
	expect_parse_error(TXT("CONFIG_A y\n"),
			   "f.config:1: want CONFIG_NAME=VALUE or \"# CONFIG_NAME is not set\"");
	expect_parse_error(TXT(" CONFIG_A=y\n"),
			   "f.config:1: want CONFIG_NAME=VALUE or \"# CONFIG_NAME is not set\"");
	expect_parse_error(TXT("CONFIG_A=yes\n"),
			   "f.config:1: CONFIG_A: the value must be y, m, n, a number or a \"string\"");
	expect_parse_error(TXT("CONFIG_A=\n"),
			   "f.config:1: CONFIG_A: the value must be y, m, n, a number or a \"string\"");
	expect_parse_error(TXT("CONFIG_A=y # built in\n"),
			   "f.config:1: CONFIG_A: the value must be y, m, n, a number or a \"string\"");
	expect_parse_error(TXT("CONFIG_A=0x\n"),
			   "f.config:1: CONFIG_A: the value must be y, m, n, a number or a \"string\"");
	expect_parse_error(TXT("CONFIG_A=-\n"),
			   "f.config:1: CONFIG_A: the value must be y, m, n, a number or a \"string\"");
	expect_parse_error(TXT("\n\nCONFIG_S=\"open\n"),
			   "f.config:3: CONFIG_S: the string has no closing quote");
	expect_parse_error(TXT("CONFIG_S=\"a\\\"\n"),
			   "f.config:1: CONFIG_S: the string has no closing quote");
	expect_parse_error(TXT("CONFIG_S=\"a\" b\n"),
			   "f.config:1: CONFIG_S: text after the closing quote");
	expect_parse_error(TXT("CONFIG_S=\"a\0b\"\n"),
			   "f.config:1: CONFIG_S: a NUL byte in the string");
}

static void test_merge_and_format(void **state)
{
	static const char common[] = "CONFIG_NET=y\nCONFIG_VIRTIO_NET=y\n# CONFIG_VT is not set\n";
	static const char arch[] = "CONFIG_PPC64=y\nCONFIG_VIRTIO_NET=n\nCONFIG_EXTRA=\"zImage.of\"\n";
	struct dim_err e = { 0 };
	struct kconfig kc, again;
	char *text;
	size_t len;

	(void)state;
	kconfig_init(&kc);
	parse_ok(&kc, TXT(common), "common.config");
	parse_ok(&kc, TXT(arch), "ppc64le.config");
	/* The later fragment wins, and says where it was set; the order stays the first one. */
	expect_sym(&kc, "CONFIG_VIRTIO_NET", "n", 0);
	assert_string_equal(kconfig_get(&kc, "CONFIG_VIRTIO_NET")->file, "ppc64le.config");
	assert_int_equal(kconfig_get(&kc, "CONFIG_VIRTIO_NET")->line, 2);
	assert_int_equal(kc.n_files, 2);
	assert_int_equal(kconfig_set(&kc, "CONFIG_INITRAMFS_SOURCE", "/b/a \"q\".cpio", 1, "dim",
				     0, &e), 0);
	assert_int_equal(kconfig_set(&kc, "INITRAMFS_SOURCE", "x", 1, "dim", 0, &e), -EINVAL);
	assert_int_equal(kconfig_set(&kc, "CONFIG_X", "maybe", 0, "dim", 0, &e), -EINVAL);

	assert_int_equal(kconfig_format(&kc, &text, &len), 0);
	assert_string_equal(text, "CONFIG_NET=y\n"
				  "# CONFIG_VIRTIO_NET is not set\n"
				  "# CONFIG_VT is not set\n"
				  "CONFIG_PPC64=y\n"
				  "CONFIG_EXTRA=\"zImage.of\"\n"
				  "CONFIG_INITRAMFS_SOURCE=\"/b/a \\\"q\\\".cpio\"\n");
	assert_int_equal(len, strlen(text));
	/* What it writes, it reads back the same. */
	kconfig_init(&again);
	parse_ok(&again, text, len, "allconfig");
	assert_int_equal(again.n, kc.n);
	expect_sym(&again, "CONFIG_INITRAMFS_SOURCE", "/b/a \"q\".cpio", 1);
	free(text);
	kconfig_free(&again);
	kconfig_free(&kc);
}

static void test_check(void **state)
{
	/* What a fragment asks for ... */
	static const char want_text[] =
		"CONFIG_NET=y\n"
		"CONFIG_VIRTIO_NET=y\n"		/* dropped: NET_CORE off */
		"# CONFIG_VT is not set\n"	/* absent counts as not set */
		"CONFIG_MODULES=n\n"		/* "not set" is n */
		"CONFIG_HZ=250\n"		/* number differs */
		"CONFIG_NO_SUCH=y\n"		/* unknown to the kernel */
		"CONFIG_EXTRA_TARGETS=\"zImage.of\"\n"
		"CONFIG_NR_CPUS=\"64\"\n"	/* a string is not the number */
		"CONFIG_SMP=y\n";		/* we got m */
	/* ... and what Kconfig made of it. */
	static const char have_text[] =
		"CONFIG_NET=y\n"
		"# CONFIG_VIRTIO_NET is not set\n"
		"# CONFIG_MODULES is not set\n"
		"CONFIG_HZ=100\n"
		"CONFIG_EXTRA_TARGETS=\"zImage.of\"\n"
		"CONFIG_NR_CPUS=64\n"
		"CONFIG_SMP=m\n";
	struct kconfig want, have;
	struct kconfig_mismatch *m;
	char line[512];
	size_t n;

	(void)state;
	kconfig_init(&want);
	kconfig_init(&have);
	parse_ok(&want, TXT(want_text), "kernel-config/common.config");
	parse_ok(&have, TXT(have_text), "build/.config");
	assert_int_equal(kconfig_check(&want, &have, &m, &n), 0);
	assert_int_equal(n, 5);
	kconfig_describe(&m[0], line, sizeof(line));
	assert_string_equal(line, "kernel-config/common.config:2: CONFIG_VIRTIO_NET=y, but the "
				  ".config has it not set (a dependency is off)");
	kconfig_describe(&m[1], line, sizeof(line));
	assert_string_equal(line, "kernel-config/common.config:5: CONFIG_HZ=250, but the .config "
				  "has 100");
	kconfig_describe(&m[2], line, sizeof(line));
	assert_string_equal(line, "kernel-config/common.config:6: CONFIG_NO_SUCH=y, but the "
				  ".config does not have it (its menu or a dependency is off, "
				  "or this kernel has no such symbol)");
	kconfig_describe(&m[3], line, sizeof(line));
	assert_string_equal(line, "kernel-config/common.config:8: CONFIG_NR_CPUS=\"64\", but the "
				  ".config has 64");
	kconfig_describe(&m[4], line, sizeof(line));
	assert_string_equal(line, "kernel-config/common.config:9: CONFIG_SMP=y, but the .config "
				  "has m");
	free(m);

	/* A setting made by a program (line 0) names no line. */
	assert_int_equal(kconfig_set(&want, "CONFIG_INITRAMFS_SOURCE", "/x.cpio", 1,
				     "dim buildzimage", 0, NULL), 0);
	assert_int_equal(kconfig_check(&want, &have, &m, &n), 0);
	assert_int_equal(n, 6);
	kconfig_describe(&m[5], line, sizeof(line));
	assert_string_equal(line, "dim buildzimage: CONFIG_INITRAMFS_SOURCE=\"/x.cpio\", but the "
				  ".config does not have it (its menu or a dependency is off, or "
				  "this kernel has no such symbol)");
	free(m);

	/* All met: no array at all. */
	kconfig_free(&want);
	kconfig_init(&want);
	parse_ok(&want, TXT("CONFIG_NET=y\n# CONFIG_GONE is not set\n"), "w");
	assert_int_equal(kconfig_check(&want, &have, &m, &n), 0);
	assert_int_equal(n, 0);
	assert_null(m);
	kconfig_free(&want);
	kconfig_free(&have);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_forms),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_merge_and_format),
		cmocka_unit_test(test_check),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
