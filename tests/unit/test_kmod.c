/* SPDX-License-Identifier: MIT */
/*
 * .modinfo parsing on synthetic ELF files, and module resolution on a
 * synthetic module tree written to a temporary directory: depends, softdep
 * pre/post, aliases (also wildcards and built-ins), '-' == '_', cycles,
 * missing and broken modules.
 */
#define ZLIB_CONST
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <cmocka.h>

#include "elf_module.h"
#include "kmod.h"

/* A modinfo literal with explicit NULs: MI("a=b\0c=d\0"). */
#define MI(lit) (lit), (sizeof(lit) - 1)

/* ---------------------------------------------------------------- .modinfo */

static void test_parse_le64(void **state)
{
	struct elf_module m = elfm_module(MI("license=GPL\0\0\0name=ext4\0depends=jbd2,mbcache,crc16\0"
					     "softdep=pre: crypto-crc32c\0alias=fs-ext4\0"
					     "softdep=post: after-a  after_b\0alias=ext3\0"
					     "vermagic=6.1.0 SMP mod_unload\0"));
	struct modinfo mi;
	const char *why = NULL;

	(void)state;
	assert_int_equal(modinfo_parse(&mi, m.p, m.len, &why), 0);
	assert_string_equal(mi.name, "ext4");
	assert_int_equal(mi.depends.n, 3);
	assert_string_equal(mi.depends.v[0], "jbd2");
	assert_string_equal(mi.depends.v[2], "crc16");
	assert_int_equal(mi.pre.n, 1);
	assert_string_equal(mi.pre.v[0], "crypto-crc32c");
	assert_int_equal(mi.post.n, 2);
	assert_string_equal(mi.post.v[0], "after-a");
	assert_string_equal(mi.post.v[1], "after_b");
	assert_int_equal(mi.aliases.n, 2);
	assert_string_equal(mi.aliases.v[1], "ext3");
	assert_string_equal(mi.arch, "x86_64");
	modinfo_free(&mi);
	free(m.p);
}

/* The same module in both byte orders and both classes reads the same. */
static void test_parse_classes_and_orders(void **state)
{
	static const struct {
		int is64, be;
		unsigned int machine;
		const char *arch;
	} cases[] = {
		{ 1, 0, EM_PPC64_, "ppc64le" },
		{ 1, 1, EM_PPC64_, "ppc64" },
		{ 1, 0, EM_X86_64_, "x86_64" },
		{ 0, 0, EM_386_, "i386" },
		{ 0, 1, 4242, NULL },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct elf_module m = elfm_build(cases[i].is64, cases[i].be, cases[i].machine,
						 ".modinfo", MI("depends=a,b\0softdep=pre: c post: d\0"));
		struct modinfo mi;
		const char *why = NULL;

		assert_int_equal(modinfo_parse(&mi, m.p, m.len, &why), 0);
		assert_int_equal(mi.depends.n, 2);
		assert_string_equal(mi.depends.v[1], "b");
		assert_int_equal(mi.pre.n, 1);
		assert_string_equal(mi.pre.v[0], "c");
		assert_int_equal(mi.post.n, 1);
		assert_string_equal(mi.post.v[0], "d");
		if (cases[i].arch)
			assert_string_equal(mi.arch, cases[i].arch);
		else
			assert_null(mi.arch);
		modinfo_free(&mi);
		free(m.p);
	}
}

static void expect_error(const unsigned char *p, size_t len, int rc, const char *why_part)
{
	struct modinfo mi;
	const char *why = NULL;

	assert_int_equal(modinfo_parse(&mi, p, len, &why), rc);
	assert_non_null(why);
	if (!strstr(why, why_part))
		fail_msg("\"%s\" does not say \"%s\"", why, why_part);
	assert_null(mi.name);
	assert_int_equal(mi.depends.n, 0);
}

static void test_parse_errors(void **state)
{
	struct elf_module m;

	(void)state;
	/* A truncated file: the section's end is cut off. */
	m = elfm_module(MI("depends=a\0"));
	expect_error(m.p, m.len - 3, -ENOEXEC, ".modinfo section runs past end of file");
	/* The section's offset past the end of the file (sh_offset of section 1). */
	elfm_patch64(&m, 1, 24, m.len + 100, 8);
	expect_error(m.p, m.len, -ENOEXEC, ".modinfo section runs past end of file");
	/* An offset + size that wraps around. */
	elfm_patch64(&m, 1, 24, 8, 8);
	elfm_patch64(&m, 1, 32, UINT64_MAX - 4, 8);
	expect_error(m.p, m.len, -ENOEXEC, ".modinfo section runs past end of file");
	free(m.p);

	m = elfm_build(1, 0, EM_X86_64_, ".notinfo", MI("depends=a\0"));
	expect_error(m.p, m.len, -ENOEXEC, "no .modinfo section");
	free(m.p);

	/* The last string has no NUL. */
	m = elfm_module(MI("depends=a\0alias=x"));
	expect_error(m.p, m.len, -EBADMSG, "does not end with a NUL");
	free(m.p);

	m = elfm_module(MI("depends=a/b\0"));
	expect_error(m.p, m.len, -EBADMSG, "bad module name in depends=");
	free(m.p);

	m = elfm_module(MI("softdep=pre: x\ty\001\0"));
	expect_error(m.p, m.len, -EBADMSG, "bad module name in softdep=");
	free(m.p);

	m = elfm_module(MI("depends=\0"));
	{
		struct modinfo mi;
		const char *why;

		/* An empty depends= is a module that needs nothing. */
		assert_int_equal(modinfo_parse(&mi, m.p, m.len, &why), 0);
		assert_int_equal(mi.depends.n, 0);
		modinfo_free(&mi);
	}

	/* Header damage. */
	expect_error((const unsigned char *)"\177ELF", 4, -ENOEXEC, "not an ELF file");
	m.p[4] = 3;
	expect_error(m.p, m.len, -ENOEXEC, "class");
	m.p[4] = 2;
	m.p[5] = 0;
	expect_error(m.p, m.len, -ENOEXEC, "byte order");
	m.p[5] = 1;
	expect_error(m.p, 40, -ENOEXEC, "ELF header runs past end");
	elfm_put(m.p + 62, 7, 2, 0);	/* e_shstrndx */
	expect_error(m.p, m.len, -ENOEXEC, "section name table index");
	elfm_put(m.p + 62, 2, 2, 0);
	elfm_put(m.p + 58, 12, 2, 0);	/* e_shentsize */
	expect_error(m.p, m.len, -ENOEXEC, "too small");
	elfm_put(m.p + 58, 64, 2, 0);
	elfm_put(m.p + 60, 0x7fff, 2, 0);	/* e_shnum */
	expect_error(m.p, m.len, -ENOEXEC, "section header table runs past");
	elfm_put(m.p + 60, 3, 2, 0);
	elfm_patch64(&m, 1, 0, 0x10000, 4);	/* sh_name */
	expect_error(m.p, m.len, -ENOEXEC, "section name offset");
	free(m.p);
}

/* Extended numbering (gABI): e_shnum 0 and e_shstrndx SHN_XINDEX, the real values in header 0. */
static void test_parse_extended_numbering(void **state)
{
	struct elf_module m = elfm_module(MI("depends=a\0"));
	struct modinfo mi;
	const char *why;

	(void)state;
	elfm_put(m.p + 60, 0, 2, 0);
	elfm_put(m.p + 62, 0xffff, 2, 0);
	elfm_patch64(&m, 0, 32, 3, 8);	/* sh_size of header 0: the count */
	elfm_patch64(&m, 0, 40, 2, 4);	/* sh_link of header 0: the name table */
	assert_int_equal(modinfo_parse(&mi, m.p, m.len, &why), 0);
	assert_int_equal(mi.depends.n, 1);
	modinfo_free(&mi);
	free(m.p);
}

/* Every prefix of a valid module: an error or a result, never a crash (ASAN watches). */
static void test_parse_every_prefix(void **state)
{
	struct elf_module m = elfm_module(MI("name=x\0depends=a,b\0softdep=pre: c\0alias=d\0"));
	size_t len;

	(void)state;
	for (len = 0; len <= m.len; len++) {
		unsigned char *copy = malloc(len ? len : 1);
		struct modinfo mi;
		const char *why;

		memcpy(copy, m.p, len);
		if (modinfo_parse(&mi, copy, len, &why) == 0) {
			assert_int_equal(len, m.len);
			modinfo_free(&mi);
		}
		free(copy);
	}
	free(m.p);
}

/* ---------------------------------------------------------------- a module tree */

static char tree[64];

static void put_file(const char *rel, const void *data, size_t len)
{
	char path[256], *slash;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", tree, rel);
	for (slash = strchr(path + strlen(tree) + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		mkdir(path, 0755);
		*slash = '/';
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static void put_module(const char *rel, const char *mi, size_t mi_len)
{
	struct elf_module m = elfm_module(mi, mi_len);

	put_file(rel, m.p, m.len);
	free(m.p);
}

static void put_gz_module(const char *rel, const char *mi, size_t mi_len)
{
	struct elf_module m = elfm_module(mi, mi_len);
	unsigned char out[4096];
	z_stream z = { 0 };

	assert_int_equal(deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
	z.next_in = m.p;
	z.avail_in = (uInt)m.len;
	z.next_out = out;
	z.avail_out = sizeof(out);
	assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
	put_file(rel, out, sizeof(out) - z.avail_out);
	deflateEnd(&z);
	free(m.p);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int rm_tree(const char *path)
{
	return nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/*
 * top -> mid1, mid2 -> base; top softdep pre: crypto-foo (foo-fast, foo_generic),
 * post: after.  foo-fast needs base.
 */
static int setup_tree(void **state)
{
	static const char built_in[] = "bi.alias=crypto-bar\0bi.license=GPL\0bi2.file=x\0";

	(void)state;
	strcpy(tree, "/tmp/test_kmod.XXXXXX");
	if (!mkdtemp(tree))
		return -1;
	put_module("kernel/top.ko",
		   MI("depends=mid1,mid2\0softdep=pre: crypto-foo post: after\0name=top\0"));
	put_module("kernel/a/mid1.ko", MI("depends=base\0"));
	put_module("kernel/b/mid2.ko", MI("depends=base\0"));
	put_module("kernel/base.ko", MI("depends=\0"));
	put_module("kernel/crypto/foo_generic.ko", MI("alias=crypto-foo\0alias=foo\0"));
	put_module("kernel/arch/foo-fast.ko", MI("alias=crypto-foo\0depends=base\0"));
	put_module("kernel/after.ko", MI("depends=\0"));
	put_module("kernel/my-mod.ko", MI("alias=pci:v00001234d*sv*\0"));
	put_module("kernel/lonely.ko", MI("softdep=pre: nowhere-to-be-found\0"));
	put_module("kernel/usesbi.ko", MI("softdep=pre: crypto-bar bi2\0"));
	/* A cycle c1 -> c2 -> c3 -> c1, and one through a softdep. */
	put_module("kernel/c1.ko", MI("depends=c2\0"));
	put_module("kernel/c2.ko", MI("depends=c3\0"));
	put_module("kernel/c3.ko", MI("depends=c1\0"));
	put_module("kernel/s1.ko", MI("softdep=pre: s2\0"));
	put_module("kernel/s2.ko", MI("depends=s1\0"));
	/* post: softdeps do not make cycles: p1 post: p2, p2 depends on p1. */
	put_module("kernel/p1.ko", MI("softdep=post: p2\0"));
	put_module("kernel/p2.ko", MI("depends=p1\0"));
	put_module("kernel/needsghost.ko", MI("depends=ghost\0"));
	put_gz_module("kernel/zipped.ko.gz", MI("depends=base\0"));
	put_module("kernel/squashed.ko.xz", MI("depends=\0"));	/* named .xz, never read */
	put_file("kernel/broken.ko", "\177ELF\2\1\1\0\0\0\0\0\0\0\0\0\0\0\0\0", 20);
	put_module("kernel/needsbroken.ko", MI("depends=broken\0"));
	/* Same name twice: updates/ wins over kernel/. */
	put_module("kernel/dup.ko", MI("depends=base\0"));
	put_module("updates/dup.ko", MI("depends=\0"));
	put_file("modules.builtin.modinfo", built_in, sizeof(built_in) - 1);
	put_file("modules.builtin", "kernel/fs/bi3.ko\n", 17);
	put_file("README", "not a module", 12);
	put_module("kernel/odd name.ko", MI("alias=crypto-foo\0"));	/* unusable name: skipped */
	put_file("kernel/empty/.keep", "", 0);	/* a directory with no module */
	return 0;
}

static int teardown_tree(void **state)
{
	(void)state;
	return rm_tree(tree);
}

static void order_of(struct kmod_tree *t, const char *const *names, size_t n, char *out,
		     size_t outlen)
{
	struct kmod_plan p;
	size_t i;
	int rc;

	rc = kmod_resolve(t, names, n, &p);
	if (rc)
		fail_msg("kmod_resolve: %d %s", rc, kmod_error(t));
	out[0] = '\0';
	for (i = 0; i < p.n; i++) {
		if (i)
			strncat(out, " ", outlen - strlen(out) - 1);
		strncat(out, p.order[i]->name, outlen - strlen(out) - 1);
	}
	kmod_plan_free(&p);
}

static void test_tree_order(void **state)
{
	static const char *const top[] = { "top" };
	static const char *const two[] = { "mid2", "top", "mid1" };
	struct kmod_tree t;
	char order[512];

	(void)state;
	assert_int_equal(kmod_tree_open(&t, tree, NULL), 0);
	order_of(&t, top, 1, order, sizeof(order));
	/* pre softdeps (all alias matches, sorted), then depends, top, then post. */
	assert_string_equal(order, "base foo_fast foo_generic mid1 mid2 top after");
	order_of(&t, two, 3, order, sizeof(order));
	assert_string_equal(order, "base mid2 foo_fast foo_generic mid1 top after");
	kmod_tree_free(&t);
}

static void test_tree_lookup(void **state)
{
	struct kmod_tree t;

	(void)state;
	assert_int_equal(kmod_tree_open(&t, tree, "x86_64"), 0);
	assert_int_equal(kmod_lookup(&t, "my-mod"), KMOD_FOUND_MODULE);
	assert_int_equal(kmod_lookup(&t, "my_mod"), KMOD_FOUND_MODULE);
	assert_int_equal(kmod_lookup(&t, "foo-fast"), KMOD_FOUND_MODULE);
	assert_int_equal(kmod_lookup(&t, "crypto-foo"), KMOD_FOUND_ALIAS);
	assert_int_equal(kmod_lookup(&t, "crypto_foo"), KMOD_FOUND_ALIAS);
	assert_int_equal(kmod_lookup(&t, "pci:v00001234d00005678sv00000000"), KMOD_FOUND_ALIAS);
	assert_int_equal(kmod_lookup(&t, "pci:v00004321d00005678sv00000000"), KMOD_MISSING);
	assert_int_equal(kmod_lookup(&t, "bi"), KMOD_FOUND_BUILTIN);
	assert_int_equal(kmod_lookup(&t, "crypto-bar"), KMOD_FOUND_BUILTIN);
	assert_int_equal(kmod_lookup(&t, "bi3"), KMOD_FOUND_BUILTIN);
	assert_int_equal(kmod_lookup(&t, "nothere"), KMOD_MISSING);
	assert_int_equal(kmod_lookup(&t, "squashed"), KMOD_FOUND_MODULE);
	kmod_tree_free(&t);
}

static void test_tree_names(void **state)
{
	static const char *const dash[] = { "my-mod", "my_mod" };
	static const char *const alias[] = { "pci:v00001234d00000001sv00000000" };
	static const char *const builtin[] = { "bi", "usesbi" };
	static const char *const lonely[] = { "lonely" };
	static const char *const post[] = { "p1" };
	static const char *const dup[] = { "dup" };
	struct kmod_tree t;
	struct kmod_plan p;
	char order[512];

	(void)state;
	assert_int_equal(kmod_tree_open(&t, tree, NULL), 0);
	order_of(&t, dash, 2, order, sizeof(order));
	assert_string_equal(order, "my_mod");
	order_of(&t, alias, 1, order, sizeof(order));
	assert_string_equal(order, "my_mod");
	order_of(&t, post, 1, order, sizeof(order));
	assert_string_equal(order, "p1 p2");
	order_of(&t, dup, 1, order, sizeof(order));
	assert_string_equal(order, "dup");	/* updates/dup.ko: no base */

	/* Built-ins satisfy names and softdeps; the user hears about the first. */
	assert_int_equal(kmod_resolve(&t, builtin, 2, &p), 0);
	assert_int_equal(p.n, 1);
	assert_string_equal(p.order[0]->name, "usesbi");
	assert_int_equal(p.notes.n, 1);
	assert_string_equal(p.notes.v[0], "bi is built into the kernel");
	kmod_plan_free(&p);

	/* A softdep nowhere is a note, not an error (modprobe skips it too). */
	assert_int_equal(kmod_resolve(&t, lonely, 1, &p), 0);
	assert_int_equal(p.n, 1);
	assert_int_equal(p.notes.n, 1);
	assert_non_null(strstr(p.notes.v[0], "nowhere-to-be-found"));
	kmod_plan_free(&p);
	kmod_tree_free(&t);
}

static void expect_resolve_error(struct kmod_tree *t, const char *name, int rc, const char *msg)
{
	struct kmod_plan p;

	assert_int_equal(kmod_resolve(t, &name, 1, &p), rc);
	if (!strstr(kmod_error(t), msg))
		fail_msg("\"%s\" does not say \"%s\"", kmod_error(t), msg);
	assert_null(p.order);
	assert_int_equal(p.n, 0);
}

static void test_tree_errors(void **state)
{
	struct kmod_tree t;

	(void)state;
	assert_int_equal(kmod_tree_open(&t, tree, NULL), 0);
	expect_resolve_error(&t, "c2", -ELOOP, "module dependency cycle: c2 -> c3 -> c1 -> c2");
	expect_resolve_error(&t, "s1", -ELOOP, "cycle: s1 -> s2 -> s1");
	expect_resolve_error(&t, "nothere", -ENOENT, "module nothere not found in /tmp/test_kmod.");
	expect_resolve_error(&t, "needsghost", -ENOENT, "needsghost.ko: needs module ghost, which is not in");
	expect_resolve_error(&t, "needsbroken", -ENOEXEC, "/kernel/broken.ko: ELF header runs past end of file");
	expect_resolve_error(&t, "squashed", -EOPNOTSUPP, "squashed.ko.xz: xz-compressed modules are not supported");
	kmod_tree_free(&t);

	/* The modules are x86_64: a ppc64le tree refuses them. */
	assert_int_equal(kmod_tree_open(&t, tree, "ppc64le"), 0);
	expect_resolve_error(&t, "base", -ENOEXEC, "base.ko: module is for x86_64, not ppc64le");
	kmod_tree_free(&t);

	/* lib/modules with two kernels instead of lib/modules/VERSION. */
	{
		char two[128];

		put_module("two/6.1.0-a/kernel/x.ko", MI("depends=\0"));
		put_file("two/6.1.0-a/modules.order", "", 0);
		put_module("two/6.1.0-b/kernel/x.ko", MI("depends=\0"));
		put_file("two/6.1.0-b/modules.builtin", "", 0);
		snprintf(two, sizeof(two), "%s/two", tree);
		assert_int_equal(kmod_tree_open(&t, two, NULL), -EINVAL);
		assert_non_null(strstr(kmod_error(&t), "holds the modules of 2 kernels (6.1.0-a, 6.1.0-b)"));
		strcat(two, "/6.1.0-b");
		assert_int_equal(kmod_tree_open(&t, two, NULL), 0);
		kmod_tree_free(&t);
	}

	assert_int_equal(kmod_tree_open(&t, "/nonexistent-dim-tree", NULL), -ENOENT);
	assert_non_null(strstr(kmod_error(&t), "/nonexistent-dim-tree"));
	{
		char empty[128];

		snprintf(empty, sizeof(empty), "%s/kernel/empty", tree);
		assert_int_equal(kmod_tree_open(&t, empty, NULL), -ENOENT);
		assert_non_null(strstr(kmod_error(&t), "no kernel modules"));
	}
}

static void test_tree_gz(void **state)
{
	static const char *const zipped[] = { "zipped" };
	struct kmod_tree t;
	struct kmod_plan p;

	(void)state;
	assert_int_equal(kmod_tree_open(&t, tree, "x86_64"), 0);
	assert_int_equal(kmod_resolve(&t, zipped, 1, &p), 0);
	assert_int_equal(p.n, 2);
	assert_string_equal(p.order[1]->name, "zipped");
	assert_string_equal(p.order[1]->file, "zipped.ko");
	/* The data is the uncompressed module. */
	assert_memory_equal(p.order[1]->data, "\177ELF", 4);
	kmod_plan_free(&p);
	kmod_tree_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_le64),
		cmocka_unit_test(test_parse_classes_and_orders),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_parse_extended_numbering),
		cmocka_unit_test(test_parse_every_prefix),
		cmocka_unit_test_setup_teardown(test_tree_order, setup_tree, teardown_tree),
		cmocka_unit_test_setup_teardown(test_tree_lookup, setup_tree, teardown_tree),
		cmocka_unit_test_setup_teardown(test_tree_names, setup_tree, teardown_tree),
		cmocka_unit_test_setup_teardown(test_tree_errors, setup_tree, teardown_tree),
		cmocka_unit_test_setup_teardown(test_tree_gz, setup_tree, teardown_tree),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
