/* SPDX-License-Identifier: MIT */
/*
 * The initramfs contents (boot contract layout, module list, notes, errors)
 * and writing kernel + initrd atomically, on a synthetic module tree.
 */
#include <dirent.h>
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
#include <cmocka.h>

#include "contract.h"
#include "elf_module.h"
#include "initramfs.h"

#define MI(lit) (lit), (sizeof(lit) - 1)

static char dir[64];

static void path_of(char *out, size_t len, const char *rel)
{
	snprintf(out, len, "%s/%s", dir, rel);
}

static void put_file(const char *rel, const void *data, size_t len)
{
	char path[256], *slash;
	int fd;

	path_of(path, sizeof(path), rel);
	for (slash = strchr(path + strlen(dir) + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		mkdir(path, 0755);
		*slash = '/';
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static void put_elf(const char *rel, unsigned int machine, const char *mi, size_t mi_len)
{
	struct elf_module m = elfm_build(1, 0, machine, ".modinfo", mi, mi_len);

	put_file(rel, m.p, m.len);
	free(m.p);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/test_initramfs.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	put_elf("mods/kernel/fs/ext4.ko", EM_X86_64_,
		MI("depends=jbd2\0softdep=pre: crypto-crc32c\0"));
	put_elf("mods/kernel/fs/jbd2.ko", EM_X86_64_, MI("depends=\0"));
	put_elf("mods/kernel/crypto/crc32c_generic.ko", EM_X86_64_, MI("alias=crypto-crc32c\0"));
	put_elf("mods/kernel/drivers/loop.ko", EM_X86_64_, MI("depends=\0"));
	put_elf("mods/kernel/drivers/e1000.ko", EM_X86_64_, MI("depends=\0"));
	put_elf("mods/kernel/drivers/extra-nic.ko", EM_X86_64_, MI("depends=\0"));
	put_elf("linuxrc", EM_X86_64_, MI("x=y\0"));
	put_elf("linuxrc.ppc", EM_PPC64_, MI("x=y\0"));
	put_file("busybox", "#!/bin/sh\n", 10);	/* not ELF: not checked */
	put_file("kernel", "KERNEL", 6);
	put_file("motd", "hello\n", 6);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

struct paths {
	char mods[128], linuxrc[128], linuxrc_ppc[128], busybox[128], kernel[128], motd[128],
		out[128];
};

static void paths(struct paths *p)
{
	path_of(p->mods, sizeof(p->mods), "mods");
	path_of(p->linuxrc, sizeof(p->linuxrc), "linuxrc");
	path_of(p->linuxrc_ppc, sizeof(p->linuxrc_ppc), "linuxrc.ppc");
	path_of(p->busybox, sizeof(p->busybox), "busybox");
	path_of(p->kernel, sizeof(p->kernel), "kernel");
	path_of(p->motd, sizeof(p->motd), "motd");
	path_of(p->out, sizeof(p->out), "out/boot");
}

static void test_kernel_arch(void **state)
{
	struct elf_module ppc = elfm_build(1, 0, EM_PPC64_, ".modinfo", MI("a=b\0"));
	unsigned char bz[0x400] = { 0 };

	(void)state;
	assert_string_equal(initramfs_kernel_arch(ppc.p, 64), "ppc64le");
	free(ppc.p);
	memcpy(bz + 0x202, "HdrS", 4);
	bz[0x206] = 0x0f;	/* protocol 2.15 */
	bz[0x207] = 0x02;
	bz[0x236] = 0x01;	/* XLF_KERNEL_64 */
	assert_string_equal(initramfs_kernel_arch(bz, sizeof(bz)), "x86_64");
	bz[0x236] = 0;
	assert_string_equal(initramfs_kernel_arch(bz, sizeof(bz)), "i386");
	assert_null(initramfs_kernel_arch(bz, 0x210));
	assert_null(initramfs_kernel_arch("garbage", 7));
	assert_true(initramfs_arch_supported("ppc64le"));
	assert_true(initramfs_arch_supported("x86_64"));
	assert_false(initramfs_arch_supported("ppc64"));
}

static void test_build_defaults(void **state)
{
	static const char *const extra[] = { "extra_nic" };
	const struct cpio_entry *e;
	struct initramfs ir;
	struct initramfs_spec spec = { .arch = "x86_64", .default_modules = 1,
				       .modules = extra, .n_modules = 1 };
	struct initramfs_file files[] = { { .dst = "/etc/motd" } };
	static const char order[] = "e1000.ko\nloop.ko\ncrc32c_generic.ko\njbd2.ko\next4.ko\n"
				    "extra-nic.ko\n";
	struct paths p;
	size_t i, missing = 0;

	(void)state;
	paths(&p);
	files[0].src = p.motd;
	spec.files = files;
	spec.n_files = 1;
	spec.linuxrc = p.linuxrc;
	spec.busybox = p.busybox;
	spec.moddir = p.mods;
	assert_int_equal(initramfs_build(&ir, &spec), 0);

	e = cpio_lookup(&ir.cpio, DIM_INITRAMFS_MODULES);
	assert_non_null(e);
	/* Defaults in their order, each after its softdep pre: and depends, then -M. */
	assert_int_equal(e->size, strlen(order));
	assert_memory_equal(e->data, order, e->size);
	assert_non_null(cpio_lookup(&ir.cpio, "/lib/modules/extra-nic.ko"));
	assert_int_equal(ir.plan.n, 6);

	e = cpio_lookup(&ir.cpio, "/dev/console");
	assert_non_null(e);
	assert_int_equal(e->mode, 020600);
	assert_int_equal(e->rmajor, 5);
	assert_int_equal(e->rminor, 1);
	assert_int_equal(cpio_lookup(&ir.cpio, "/init")->mode, 0100755);
	assert_int_equal(cpio_lookup(&ir.cpio, "/bin/sh")->mode, 0120777);
	assert_int_equal(cpio_lookup(&ir.cpio, "/tmp")->mode, 041777);
	assert_non_null(cpio_lookup(&ir.cpio, "/proc"));
	assert_non_null(cpio_lookup(&ir.cpio, "/sys"));
	assert_non_null(cpio_lookup(&ir.cpio, "/run"));
	assert_memory_equal(cpio_lookup(&ir.cpio, "/etc/motd")->data, "hello\n", 6);

	/* Every default the tree lacks is one note. */
	for (i = 0; i < ir.notes.n; i++)
		if (strstr(ir.notes.v[i], "is not in"))
			missing++;
	assert_int_equal(missing, initramfs_n_default_modules - 3);
	initramfs_free(&ir);
}

static void expect_build_error(const struct initramfs_spec *spec, int rc, const char *msg)
{
	struct initramfs ir;

	assert_int_equal(initramfs_build(&ir, spec), rc);
	if (!strstr(initramfs_error(&ir), msg))
		fail_msg("\"%s\" does not say \"%s\"", initramfs_error(&ir), msg);
	initramfs_free(&ir);
}

static void test_build_errors(void **state)
{
	static const char *const ghost[] = { "ghost" };
	struct initramfs_file files[] = { { .dst = "/init" } };
	struct initramfs_spec spec = { .arch = "x86_64" };
	struct paths p;

	(void)state;
	paths(&p);
	files[0].src = p.motd;
	spec.linuxrc = p.linuxrc_ppc;
	expect_build_error(&spec, -ENOEXEC, "linuxrc.ppc: is a program for ppc64le, not x86_64");
	spec.linuxrc = "/nonexistent/linuxrc";
	expect_build_error(&spec, -ENOENT, "/nonexistent/linuxrc: No such file");
	spec.linuxrc = p.linuxrc;
	spec.moddir = p.mods;
	spec.modules = ghost;
	spec.n_modules = 1;
	expect_build_error(&spec, -ENOENT, "module ghost not found in");
	spec.n_modules = 0;
	spec.files = files;
	spec.n_files = 1;
	expect_build_error(&spec, -EEXIST, "motd: /init is already in the initramfs");
	files[0].dst = "/x/../y";
	expect_build_error(&spec, -EINVAL, "is not a usable path");
	spec.arch = "ppc64le";
	spec.linuxrc = p.linuxrc_ppc;
	spec.n_files = 0;
	spec.default_modules = 1;
	expect_build_error(&spec, -ENOEXEC, "module is for x86_64, not ppc64le");
	spec.arch = "sparc";
	expect_build_error(&spec, -EINVAL, "architecture sparc");
}

static int count_entries(const char *path)
{
	struct dirent *d;
	DIR *dp = opendir(path);
	int n = 0;

	if (!dp)
		return -1;
	while ((d = readdir(dp)))
		if (d->d_name[0] != '.')
			n++;
	closedir(dp);
	return n;
}

static void test_write(void **state)
{
	struct initramfs_spec spec = { .arch = "x86_64" };
	struct initramfs_output out;
	struct initramfs ir;
	struct paths p;
	struct stat st;

	(void)state;
	paths(&p);
	spec.linuxrc = p.linuxrc;
	assert_int_equal(initramfs_build(&ir, &spec), 0);
	/* A kernel that cannot be read: nothing may be left in the output directory. */
	assert_int_equal(initramfs_write(&ir, "/nonexistent/vmlinux", p.out, 0, &out), -ENOENT);
	assert_non_null(strstr(initramfs_error(&ir), "/nonexistent/vmlinux"));
	assert_int_equal(count_entries(p.out), 0);

	assert_int_equal(initramfs_write(&ir, p.kernel, p.out, 0, &out), 0);
	assert_int_equal(count_entries(p.out), 2);
	assert_int_equal(out.kernel_size, 6);
	assert_int_equal(stat(out.initrd, &st), 0);
	assert_int_equal((uint64_t)st.st_size, out.cpio.out_size);
	assert_int_equal(stat(out.kernel, &st), 0);
	assert_int_equal(st.st_size, 6);
	initramfs_output_free(&out);

	/* Without a kernel only the initrd is (re)written. */
	assert_int_equal(initramfs_write(&ir, NULL, p.out, 0, &out), 0);
	assert_null(out.kernel);
	assert_int_equal(count_entries(p.out), 2);
	initramfs_output_free(&out);
	initramfs_free(&ir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kernel_arch),
		cmocka_unit_test(test_build_defaults),
		cmocka_unit_test(test_build_errors),
		cmocka_unit_test(test_write),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
