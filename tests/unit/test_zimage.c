/* SPDX-License-Identifier: MIT */
/*
 * The --zimage route of dim buildzimage without a kernel: the argv runner;
 * the initramfs for a kernel with built-in drivers, written as the plain
 * cpio CONFIG_INITRAMFS_SOURCE links in; the iPXE script; and the kernel
 * build driver run against a stand-in kernel source whose Makefile does
 * what the kernel's would (allnoconfig from KCONFIG_ALLCONFIG, dropping one
 * symbol as Kconfig drops one whose dependencies are off; zImage).
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "contract.h"
#include "elf_module.h"
#include "fsutil.h"
#include "initramfs.h"
#include "kbuild.h"
#include "runner.h"

#define MI(lit) (lit), (sizeof(lit) - 1)

static char dir[64];

static char *path(const char *rel)
{
	static char buf[4][256];
	static int k;

	k = (k + 1) % 4;
	snprintf(buf[k], sizeof(buf[k]), "%s/%s", dir, rel);
	return buf[k];
}

static void put(const char *rel, const char *text)
{
	char *p = path(rel), *slash;
	int fd;

	for (slash = strchr(p + strlen(dir) + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		mkdir(p, 0755);
		*slash = '/';
	}
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static char *slurp(const char *p)
{
	char *data = NULL;
	size_t len;

	if (read_file(p, &data, &len))
		return NULL;
	return data;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

/*
 * The stand-in kernel source.  allnoconfig writes the .config from
 * KCONFIG_ALLCONFIG without CONFIG_DROPPED (Kconfig's silent drop) and notes
 * how it was called; zImage "links" the initramfs into the image; bzImage
 * fails as a broken build does.
 */
static const char fake_makefile[] =
	"allnoconfig:\n"
	"\tgrep -v '^CONFIG_DROPPED=' $(KCONFIG_ALLCONFIG) >$(O)/.config\n"
	"\techo 'ARCH=$(ARCH) FOO=$(origin FOO)' >$(O)/called\n"
	"zImage:\n"
	"\tmkdir -p $(O)/arch/powerpc/boot\n"
	"\t{ echo 'IMAGE ARCH=$(ARCH) FOO=$(origin FOO)'; cat $(O)/dim-initramfs.cpio; } "
	">$(O)/arch/powerpc/boot/zImage.of\n"
	"bzImage:\n"
	"\t@echo 'arch/x86/boot/compressed/misc.c:42: error: it broke' >&2; exit 3\n";

static int setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/test_zimage.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	put("linux-fake/Makefile", fake_makefile);
	put("linux-fake/Kconfig", "");
	put("conf/common.config", "# the common part\nCONFIG_A=y\nCONFIG_DROPPED=y\n");
	put("conf/ppc64le.config", "CONFIG_EXTRA_TARGETS=\"zImage.of\"\n");
	put("conf/x86_64.config", "CONFIG_X=y\n");
	{
		struct elf_module m = elfm_build(1, 0, EM_X86_64_, ".modinfo", MI("x=y\0"));
		int fd = open(path("linuxrc"), O_WRONLY | O_CREAT | O_TRUNC, 0755);

		assert_true(fd >= 0);
		assert_int_equal(write(fd, m.p, m.len), (ssize_t)m.len);
		close(fd);
		free(m.p);
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---------------------------------------------------------------- runner */

static void test_runner(void **state)
{
	const char *const ok[] = { "true", NULL };
	const char *const bad[] = { "false", NULL };
	const char *const none[] = { "/nonexistent/program", NULL };
	const char *const killed[] = { "sh", "-c", "kill -9 $$", NULL };
	const char *const show[] = { "sh", "-c", "pwd; echo ${DIM_TEST_VAR-unset}; echo err >&2",
				     NULL };
	const char *const unset[] = { "DIM_TEST_VAR", NULL };
	struct runner_opts o = { .out_fd = -1, .null_stdin = 1 };
	struct dim_err e = { 0 };
	char *out;
	int status, fd;

	(void)state;
	assert_int_equal(runner_run(ok, NULL, &status, &e), 0);
	assert_int_equal(status, 0);
	assert_int_equal(runner_run(bad, &o, &status, &e), -ECHILD);
	assert_int_equal(status, 1);
	assert_string_equal(e.msg, "false exited with status 1");
	assert_int_equal(runner_run(none, &o, &status, &e), -ENOENT);
	assert_string_equal(e.msg, "/nonexistent/program: cannot run: No such file or directory");
	assert_int_equal(runner_run(killed, &o, &status, &e), -EINTR);
	assert_int_equal(status, 128 + 9);
	assert_string_equal(e.msg, "sh was killed by signal 9 (Killed)");

	/* Output to a file, in another directory, without a variable of ours. */
	setenv("DIM_TEST_VAR", "inherited", 1);
	fd = open(path("runner.out"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	o.out_fd = fd;
	o.cwd = dir;
	assert_int_equal(runner_run(show, &o, NULL, &e), 0);
	o.unset_env = unset;
	assert_int_equal(runner_run(show, &o, NULL, &e), 0);
	close(fd);
	out = slurp(path("runner.out"));
	assert_non_null(out);
	{
		char want[512];

		snprintf(want, sizeof(want), "%s\ninherited\nerr\n%s\nunset\nerr\n", dir, dir);
		assert_string_equal(out, want);
	}
	free(out);
	unsetenv("DIM_TEST_VAR");
	o.cwd = "/nonexistent/dir";
	assert_int_equal(runner_run(ok, &o, NULL, &e), -ENOENT);
	assert_string_equal(e.msg, "true: cannot run in /nonexistent/dir: No such file or directory");
	assert_int_equal(runner_run(NULL, &o, NULL, &e), -EINVAL);
}

/* ---------------------------------------------------------------- initramfs */

static void test_builtin_initramfs(void **state)
{
	struct initramfs_spec spec = { .arch = "x86_64", .builtin_drivers = 1 };
	struct cpio_stats st;
	struct initramfs ir;
	struct stat s1, s2;
	char *data;
	int changed;

	(void)state;
	spec.linuxrc = path("linuxrc");
	assert_int_equal(initramfs_build(&ir, &spec), 0);
	/* No module list at all: the linuxrc says "drivers built in". */
	assert_null(cpio_lookup(&ir.cpio, DIM_INITRAMFS_MODULES));
	assert_non_null(cpio_lookup(&ir.cpio, "/init"));
	assert_non_null(cpio_lookup(&ir.cpio, "/dev/console"));

	/* Plain newc, written once; the same bytes again leave the file alone. */
	assert_int_equal(initramfs_write_cpio(&ir, path("ir.cpio"), 7, &st, &changed), 0);
	assert_int_equal(changed, 1);
	data = slurp(path("ir.cpio"));
	assert_non_null(data);
	assert_memory_equal(data, "070701", 6);
	assert_int_equal(stat(path("ir.cpio"), &s1), 0);
	assert_int_equal((uint64_t)s1.st_size, st.raw_size);
	assert_int_equal(st.raw_size % 512, 0);
	free(data);
	{
		/* An old mtime, so a rewrite would show. */
		struct timeval tv[2] = { { 1000, 0 }, { 1000, 0 } };

		assert_int_equal(utimes(path("ir.cpio"), tv), 0);
	}
	assert_int_equal(initramfs_write_cpio(&ir, path("ir.cpio"), 7, &st, &changed), 0);
	assert_int_equal(changed, 0);
	assert_int_equal(stat(path("ir.cpio"), &s2), 0);
	assert_int_equal(s2.st_mtime, 1000);
	/* Another time stamp is other bytes. */
	assert_int_equal(initramfs_write_cpio(&ir, path("ir.cpio"), 8, &st, &changed), 0);
	assert_int_equal(changed, 1);
	assert_int_equal(initramfs_write_cpio(&ir, "/nonexistent/dir/ir.cpio", 8, &st, &changed),
			 -ENOENT);
	assert_string_equal(initramfs_error(&ir),
			    "/nonexistent/dir/ir.cpio: No such file or directory");
	initramfs_free(&ir);

	/* Built-in drivers and a module tree contradict each other. */
	spec.moddir = dir;
	assert_int_equal(initramfs_build(&ir, &spec), -EINVAL);
	assert_non_null(strstr(initramfs_error(&ir), "drivers built in takes no modules"));
	initramfs_free(&ir);
}

static void test_ipxe_script(void **state)
{
	struct initramfs_spec spec = { .arch = "x86_64" };
	struct initramfs ir;
	char *p, *text;

	(void)state;
	spec.linuxrc = path("linuxrc");
	assert_int_equal(initramfs_build(&ir, &spec), 0);
	assert_int_equal(initramfs_write_ipxe(&ir, path("pxe/out"), "console=ttyS0 dim.mode=overlay",
					      &p), 0);
	assert_string_equal(p, path("pxe/out/boot.ipxe"));
	text = slurp(p);
	assert_non_null(text);
	assert_memory_equal(text, "#!ipxe\n", 7);
	assert_non_null(strstr(text, "\nkernel kernel console=ttyS0 dim.mode=overlay\n"
				     "initrd initrd.img\nboot\n"));
	free(text);
	free(p);
	assert_int_equal(initramfs_write_ipxe(&ir, path("pxe/out"), "", &p), 0);
	text = slurp(p);
	assert_non_null(strstr(text, "\nkernel kernel\ninitrd initrd.img\n"));
	free(text);
	free(p);
	/* A line break would start a new iPXE command. */
	assert_int_equal(initramfs_write_ipxe(&ir, path("pxe/bad"), "quiet\nshell", &p), -EINVAL);
	assert_null(p);
	assert_int_equal(access(path("pxe/bad/boot.ipxe"), F_OK), -1);
	initramfs_free(&ir);
}

/* ---------------------------------------------------------------- kbuild */

static void describe_all(const struct kbuild *kb, char *buf, size_t size)
{
	size_t i, used = 0;

	buf[0] = '\0';
	for (i = 0; i < kb->n_mismatch && used < size; i++) {
		kconfig_describe(&kb->mismatch[i], buf + used, size - used);
		used += strlen(buf + used);
	}
}

static void test_kbuild_flow(void **state)
{
	struct kbuild kb;
	char msg[1024], *text, *image;
	uint64_t size;
	int ran;

	(void)state;
	assert_null(kbuild_arch("sparc"));
	assert_string_equal(kbuild_arch("ppc64le")->karch, "powerpc");
	assert_string_equal(kbuild_arch("x86_64")->name, "bzImage");

	assert_int_equal(kbuild_init(&kb, "ppc64le", path("kb"), 1), 0);
	assert_string_equal(kb.tree, path("kb/ppc64le"));
	{
		/* One build per object tree at a time; another architecture is another tree. */
		struct kbuild other;

		assert_int_equal(kbuild_init(&other, "ppc64le", path("kb"), 1), -EBUSY);
		assert_non_null(strstr(other.err.msg, "another dim buildzimage is building there"));
		kbuild_free(&other);
		assert_int_equal(kbuild_init(&other, "x86_64", path("kb"), 1), 0);
		kbuild_free(&other);
	}
	assert_int_equal(kbuild_fragments(&kb, path("conf")), 0);
	assert_int_equal(kb.n_fragments, 2);
	assert_string_equal(kb.fragments[1], path("conf/ppc64le.config"));
	assert_int_equal(kbuild_needs_unpack(&kb, path("linux-fake")), 0);
	assert_int_equal(kbuild_source(&kb, path("linux-fake")), 0);
	put("kb/ppc64le/dim-initramfs.cpio", "CPIO-1\n");

	/* The fake Kconfig dropped CONFIG_DROPPED: named with fragment and line. */
	assert_int_equal(kbuild_configure(&kb, &ran), -EINVAL);
	assert_int_equal(ran, 1);
	assert_int_equal(kb.n_mismatch, 1);
	describe_all(&kb, msg, sizeof(msg));
	{
		char want[512];

		snprintf(want, sizeof(want), "%s:3: CONFIG_DROPPED=y, but the .config does not have "
			 "it (its menu or a dependency is off, or this kernel has no such symbol)",
			 path("conf/common.config"));
		assert_string_equal(msg, want);
	}
	assert_non_null(strstr(kb.err.msg, "1 setting of the fragments did not take effect in "));
	/* What allnoconfig got: every fragment line and the initramfs. */
	text = slurp(path("kb/ppc64le/dim-allconfig"));
	assert_non_null(text);
	snprintf(msg, sizeof(msg), "CONFIG_A=y\nCONFIG_DROPPED=y\nCONFIG_EXTRA_TARGETS=\"zImage.of\"\n"
		 "CONFIG_INITRAMFS_SOURCE=\"%s\"\n", path("kb/ppc64le/dim-initramfs.cpio"));
	assert_string_equal(text, msg);
	free(text);
	kbuild_free(&kb);

	/* Fixed: configured once, then left alone while the fragments stay the same. */
	put("conf/common.config", "CONFIG_A=y\n");
	setenv("MAKEFLAGS", "FOO=from-a-calling-make", 1);
	setenv("ARCH", "ppc64le", 1);
	assert_int_equal(kbuild_init(&kb, "ppc64le", path("kb"), 0), 0);
	assert_true(kb.jobs >= 1);
	assert_int_equal(kbuild_fragments(&kb, path("conf")), 0);
	assert_int_equal(kbuild_source(&kb, path("linux-fake")), 0);
	assert_int_equal(kbuild_configure(&kb, &ran), 0);
	assert_int_equal(ran, 1);
	text = slurp(path("kb/ppc64le/called"));
	/* The kernel's make sees its own ARCH, and nothing of a make that ran dim. */
	assert_string_equal(text, "ARCH=powerpc FOO=undefined\n");
	free(text);
	assert_int_equal(kbuild_configure(&kb, &ran), 0);
	assert_int_equal(ran, 0);

	assert_int_equal(kbuild_make(&kb), 0);
	assert_int_equal(kbuild_install(&kb, path("out/master"), &image, &size), 0);
	assert_string_equal(image, path("out/master/zImage.of"));
	text = slurp(image);
	assert_string_equal(text, "IMAGE ARCH=powerpc FOO=undefined\nCPIO-1\n");
	assert_int_equal(size, strlen(text));
	free(text);
	free(image);
	unsetenv("MAKEFLAGS");
	unsetenv("ARCH");
	/* The log has what make said. */
	text = slurp(kb.log);
	assert_non_null(strstr(text, "dim-initramfs.cpio"));
	free(text);
	kbuild_free(&kb);

	/* A failing build: the message points at the log, which has make's words. */
	assert_int_equal(kbuild_init(&kb, "x86_64", path("kb"), 1), 0);
	assert_int_equal(kbuild_fragments(&kb, path("conf")), 0);
	assert_int_equal(kbuild_source(&kb, path("linux-fake")), 0);
	assert_int_equal(kbuild_configure(&kb, &ran), 0);
	assert_int_equal(kbuild_make(&kb), -ECHILD);
	snprintf(msg, sizeof(msg), "make bzImage: make exited with status 2; the end of %s says why",
		 kb.log);
	assert_string_equal(kb.err.msg, msg);
	text = slurp(kb.log);
	assert_non_null(strstr(text, "misc.c:42: error: it broke"));
	free(text);
	assert_int_equal(kbuild_install(&kb, path("out/x"), &image, &size), -ENOENT);
	assert_null(image);
	assert_int_equal(access(path("out/x/bzImage"), F_OK), -1);
	kbuild_free(&kb);
}

static void test_kbuild_tarball(void **state)
{
	char tarball[256], two[256];
	/* path() hands out rotating buffers: keep these two in our own. */
	const char *const tar[] = { "tar", "-cJf", tarball, "-C", dir, "linux-fake", NULL };
	const char *const tar2[] = { "tar", "-cf", two, "-C", dir, "linux-fake", "conf", NULL };
	struct timeval tv[2] = { { 2000, 0 }, { 2000, 0 } };
	struct dim_err e = { 0 };
	struct kbuild kb;
	char *text;

	(void)state;
	snprintf(tarball, sizeof(tarball), "%s", path("linux-fake-9.9.tar.xz"));
	snprintf(two, sizeof(two), "%s", path("two.tar"));
	/* An old file in the archive (see --touch below). */
	assert_int_equal(utimes(path("linux-fake/Makefile"), tv), 0);
	assert_int_equal(runner_run(tar, NULL, NULL, &e), 0);
	assert_int_equal(kbuild_init(&kb, "ppc64le", path("kbt"), 1), 0);
	assert_int_equal(kbuild_needs_unpack(&kb, path("linux-fake-9.9.tar.xz")), 1);
	assert_int_equal(kbuild_source(&kb, path("linux-fake-9.9.tar.xz")), 0);
	/* Unpacked under the tarball's name, whatever its top directory is called. */
	assert_string_equal(kb.source, path("kbt/src/linux-fake-9.9"));
	text = slurp(path("kbt/src/linux-fake-9.9/Makefile"));
	assert_string_equal(text, fake_makefile);
	free(text);
	assert_int_equal(kbuild_needs_unpack(&kb, path("linux-fake-9.9.tar.xz")), 0);
	kbuild_free(&kb);

	/* Another tarball of the same name (Debian updated linux-source): unpacked again. */
	put("kbt/src/linux-fake-9.9/stale-file", "old\n");
	tv[0].tv_sec = tv[1].tv_sec = 3000;
	assert_int_equal(utimes(path("linux-fake-9.9.tar.xz"), tv), 0);
	assert_int_equal(kbuild_init(&kb, "ppc64le", path("kbt"), 1), 0);
	assert_int_equal(kbuild_needs_unpack(&kb, path("linux-fake-9.9.tar.xz")), 1);
	assert_int_equal(kbuild_source(&kb, path("linux-fake-9.9.tar.xz")), 0);
	assert_int_equal(access(path("kbt/src/linux-fake-9.9/stale-file"), F_OK), -1);
	assert_int_equal(access(path("kbt/src/linux-fake-9.9/Kconfig"), F_OK), 0);
	{
		/* Files as new as the unpacking, not as old as the archive says. */
		struct stat st;

		assert_int_equal(stat(path("kbt/src/linux-fake-9.9/Makefile"), &st), 0);
		assert_true(st.st_mtime > time(NULL) - 600);
	}
	kbuild_free(&kb);

	/* Not a kernel tarball; not a tarball; not there. */
	assert_int_equal(runner_run(tar2, NULL, NULL, &e), 0);
	assert_int_equal(kbuild_init(&kb, "ppc64le", path("kbt"), 1), 0);
	assert_int_equal(kbuild_source(&kb, path("two.tar")), -EINVAL);
	assert_non_null(strstr(kb.err.msg, "two.tar: not a kernel source tarball"));
	assert_int_equal(access(path("kbt/src/two"), F_OK), -1);
	assert_int_equal(kbuild_source(&kb, path("conf/common.config")), -EINVAL);
	assert_non_null(strstr(kb.err.msg, "neither a kernel source directory nor a tarball"));
	assert_int_equal(kbuild_source(&kb, path("conf")), -EINVAL);
	assert_non_null(strstr(kb.err.msg, "not a kernel source tree"));
	assert_int_equal(kbuild_source(&kb, path("nothing.tar.xz")), -ENOENT);
	kbuild_free(&kb);
}

static void test_kbuild_fragment_errors(void **state)
{
	struct kbuild kb;

	(void)state;
	assert_int_equal(kbuild_init(&kb, "sparc", path("kbe"), 1), -EINVAL);
	assert_string_equal(kb.err.msg, "no kernel configuration for architecture sparc");
	kbuild_free(&kb);

	put("conf-m/common.config", "CONFIG_A=y\n\nCONFIG_EXT4_FS=m\n");
	put("conf-m/ppc64le.config", "");
	assert_int_equal(kbuild_init(&kb, "ppc64le", path("kbe"), 1), 0);
	assert_int_equal(kbuild_fragments(&kb, path("conf-m")), -EINVAL);
	{
		char want[512];

		snprintf(want, sizeof(want), "%s:3: CONFIG_EXT4_FS=m: a netboot kernel has no "
			 "modules; build it in (=y)", path("conf-m/common.config"));
		assert_string_equal(kb.err.msg, want);
	}
	kbuild_free(&kb);

	put("conf-bad/common.config", "CONFIG_A=y\nVIRTIO_NET=y\n");
	put("conf-bad/ppc64le.config", "");
	assert_int_equal(kbuild_init(&kb, "ppc64le", path("kbe"), 1), 0);
	assert_int_equal(kbuild_fragments(&kb, path("conf-bad")), -EINVAL);
	assert_non_null(strstr(kb.err.msg, "conf-bad/common.config:2: want CONFIG_NAME=VALUE"));
	kbuild_free(&kb);

	put("conf-noarch/common.config", "CONFIG_A=y\n");
	assert_int_equal(kbuild_init(&kb, "x86_64", path("kbe"), 1), 0);
	assert_int_equal(kbuild_fragments(&kb, path("conf-noarch")), -ENOENT);
	assert_non_null(strstr(kb.err.msg, "kernel configuration fragment "));
	assert_non_null(strstr(kb.err.msg, "conf-noarch/x86_64.config: No such file"));
	/* Steps out of order say so instead of crashing. */
	{
		int ran;

		assert_int_equal(kbuild_configure(&kb, &ran), -EINVAL);
		assert_int_equal(kbuild_make(&kb), -EINVAL);
	}
	kbuild_free(&kb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_runner),
		cmocka_unit_test(test_builtin_initramfs),
		cmocka_unit_test(test_ipxe_script),
		cmocka_unit_test(test_kbuild_flow),
		cmocka_unit_test(test_kbuild_tarball),
		cmocka_unit_test(test_kbuild_fragment_errors),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
