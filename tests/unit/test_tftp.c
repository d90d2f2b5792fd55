/* SPDX-License-Identifier: MIT */
/*
 * tftp.c on a model built by hand: the boot file names DHCP gives
 * (IMAGE/KERNEL, only relative plain paths, BOOTP's 127 bytes), the
 * tftpd-hpa defaults file to the byte and sourced by a real sh, its
 * refusal of values that would change what sh reads, the staging
 * directory of dim buildzimage --publish, and the rsync command line per
 * transport.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "fsutil.h"
#include "tftp.h"

struct model {
	struct cluster c;
	struct cl_server s;
	struct cl_image img;
};

static void model_init(struct model *m)
{
	memset(m, 0, sizeof(*m));
	snprintf(m->c.name, sizeof(m->c.name), "unit");
	snprintf(m->s.name, sizeof(m->s.name), "s01");
	inet_pton(AF_INET, "10.77.0.1", &m->s.addr);
	snprintf(m->s.storage, sizeof(m->s.storage), "/var/lib/dim");
	snprintf(m->s.sync, sizeof(m->s.sync), "ssh");
	snprintf(m->img.name, sizeof(m->img.name), "master");
	snprintf(m->img.kernel, sizeof(m->img.kernel), "zImage.of");
	m->c.servers = &m->s;
	m->c.n_servers = 1;
	m->c.images = &m->img;
	m->c.n_images = 1;
}

/* ---------------------------------------------------------------- boot file names */

static void test_boot_file(void **state)
{
	static const struct {
		const char *kernel;
		int rc;
		const char *want;	/* the name, or a part of why */
	} cases[] = {
		{ "zImage.of", 0, "master/zImage.of" },
		{ "boot.ipxe", 0, "master/boot.ipxe" },
		{ "boot/vmlinux-6.1", 0, "master/boot/vmlinux-6.1" },
		{ "/boot/vmlinux", -EINVAL, "absolute" },
		{ "../x", -EINVAL, "starts with '.'" },
		{ "a/../x", -EINVAL, "starts with '.'" },
		{ ".hidden", -EINVAL, "starts with '.'" },
		{ "a//b", -EINVAL, "empty component" },
		{ "a/", -EINVAL, "empty component" },
		{ "", -EINVAL, "empty" },
		{ "vm linux", -EINVAL, "a character" },
		{ "vm\"linux", -EINVAL, "a character" },
		{ "vm$x", -EINVAL, "a character" },
	};
	char buf[256];
	struct model m;
	const char *why;
	size_t i;

	(void)state;
	model_init(&m);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc;

		snprintf(m.img.kernel, sizeof(m.img.kernel), "%s", cases[i].kernel);
		why = NULL;
		rc = tftp_boot_file(&m.img, buf, sizeof(buf), &why);
		if (rc != cases[i].rc)
			fail_msg("\"%s\": %d, not %d", cases[i].kernel, rc, cases[i].rc);
		if (!rc)
			assert_string_equal(buf, cases[i].want);
		else if (!why || !strstr(why, cases[i].want))
			fail_msg("\"%s\": \"%s\" not in \"%s\"", cases[i].kernel, cases[i].want,
				 why ? why : "(null)");
	}

	/* 127 bytes fit BOOTP's file field; 128 do not. */
	memset(m.img.kernel, 'k', 120);
	m.img.kernel[120] = '\0';
	assert_int_equal(tftp_boot_file(&m.img, buf, sizeof(buf), &why), 0);
	assert_int_equal(strlen(buf), 127);
	m.img.kernel[120] = 'k';
	m.img.kernel[121] = '\0';
	assert_int_equal(tftp_boot_file(&m.img, buf, sizeof(buf), &why), -ENAMETOOLONG);
}

static void test_is_ipxe(void **state)
{
	(void)state;
	assert_true(tftp_kernel_is_ipxe("boot.ipxe"));
	assert_true(tftp_kernel_is_ipxe("x/menu.ipxe"));
	assert_false(tftp_kernel_is_ipxe(".ipxe"));
	assert_false(tftp_kernel_is_ipxe("boot.ipxe.old"));
	assert_false(tftp_kernel_is_ipxe("zImage.of"));
	assert_false(tftp_kernel_is_ipxe("ipxe"));
}

/* ---------------------------------------------------------------- tftpd-hpa */

static char *defaults(const struct model *m, const char *user, const char *options, int *rc,
		      struct dim_err *err)
{
	struct tftp_defaults d;
	char *text = NULL;

	*rc = tftp_defaults_make(&m->c, &m->s, user, options, &d, err);
	if (*rc == 0)
		*rc = tftp_defaults_text(&m->c, &m->s, &d, &text, err);
	return text;
}

static void test_defaults_text(void **state)
{
	struct dim_err err = { 0 };
	struct model m;
	char *text;
	int rc;

	(void)state;
	model_init(&m);
	text = defaults(&m, "tftp", NULL, &rc, &err);
	assert_int_equal(rc, 0);
	assert_string_equal(
		text,
		"# tftpd-hpa for image server s01 (cluster unit), written by dim tftp install\n"
		"# from the cluster definition; do not edit: dim tftp install writes it again.\n"
		"# Boot files are under IMAGE/ in the TFTP root (dim buildzimage --publish);\n"
		"# DHCP names IMAGE/KERNEL.  Without systemd, start the daemon from it as\n"
		"#   . THIS_FILE; in.tftpd --foreground --listen --user \"$TFTP_USERNAME\" \\\n"
		"#     --address \"$TFTP_ADDRESS\" $TFTP_OPTIONS \"$TFTP_DIRECTORY\"\n"
		"\n"
		"TFTP_USERNAME=\"tftp\"\n"
		"TFTP_DIRECTORY=\"/var/lib/dim/tftp\"\n"
		"TFTP_ADDRESS=\"10.77.0.1:69\"\n"
		"TFTP_OPTIONS=\"--secure --blocksize=1468\"\n");
	free(text);

	/* The default user: tftp where it exists, else nobody; never root. */
	text = defaults(&m, NULL, "--secure -v", &rc, &err);
	assert_int_equal(rc, 0);
	assert_true(strstr(text, "TFTP_USERNAME=\"tftp\"\n") ||
		    strstr(text, "TFTP_USERNAME=\"nobody\"\n"));
	assert_non_null(strstr(text, "TFTP_OPTIONS=\"--secure -v\"\n"));
	free(text);
}

/* What sh reads from the file is exactly what was written between the quotes. */
static void test_defaults_sourced_by_sh(void **state)
{
	char dir[] = "/tmp/dim-unit-tftp.XXXXXX", file[PATH_MAX], out[PATH_MAX], cmd[PATH_MAX * 3];
	struct dim_err err = { 0 };
	struct model m;
	char *text, *got = NULL;
	size_t len;
	int rc;

	(void)state;
	model_init(&m);
	snprintf(m.s.storage, sizeof(m.s.storage), "/srv/dim-a_b+c.d");
	assert_non_null(mkdtemp(dir));
	text = defaults(&m, "tftp", "--secure --blocksize=1468 -v", &rc, &err);
	assert_int_equal(rc, 0);
	snprintf(file, sizeof(file), "%s/tftpd-hpa", dir);
	snprintf(out, sizeof(out), "%s/out", dir);
	{
		FILE *f = fopen(file, "w");

		assert_non_null(f);
		fputs(text, f);
		fclose(f);
	}
	/* The start line the file's comment gives, with printf in place of in.tftpd. */
	snprintf(cmd, sizeof(cmd),
		 ". %s && printf '[%%s]' \"$TFTP_USERNAME\" \"$TFTP_ADDRESS\" $TFTP_OPTIONS "
		 "\"$TFTP_DIRECTORY\" > %s", file, out);
	{
		pid_t pid = fork();
		int status;

		assert_true(pid >= 0);
		if (pid == 0) {
			execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
			_exit(127);
		}
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	assert_int_equal(read_file(out, &got, &len), 0);
	assert_string_equal(got, "[tftp][10.77.0.1:69][--secure][--blocksize=1468][-v]"
				 "[/srv/dim-a_b+c.d/tftp]");
	free(got);
	free(text);
	unlink(out);
	unlink(file);
	rmdir(dir);
}

static void test_defaults_refused(void **state)
{
	static const struct {
		const char *storage, *user, *options;
		const char *want;
	} cases[] = {
		{ "/srv/$(reboot)", "tftp", NULL, "TFTP_DIRECTORY" },
		{ "/srv/d\"im", "tftp", NULL, "TFTP_DIRECTORY" },
		{ "/srv/d`x`", "tftp", NULL, "TFTP_DIRECTORY" },
		{ "/srv/d\\im", "tftp", NULL, "TFTP_DIRECTORY" },
		{ "/srv/d im", "tftp", NULL, "TFTP_DIRECTORY" },
		{ "/srv/d\nim", "tftp", NULL, "TFTP_DIRECTORY" },
		{ "srv/dim", "tftp", NULL, "TFTP_DIRECTORY" },
		{ "/srv/dim", "tf\"tp", NULL, "TFTP_USERNAME" },
		{ "/srv/dim", "-root", NULL, "TFTP_USERNAME" },
		{ "/srv/dim", "", NULL, "TFTP_USERNAME" },
		{ "/srv/dim", "tftp", "--secure /etc", "served as a directory" },
		{ "/srv/dim", "tftp", "--secure $X", "served as a directory" },
		{ "/srv/dim", "tftp", "--secure;reboot", "a character" },
		{ "/srv/dim", "tftp", "--map-file=\"x\"", "a character" },
		{ "/srv/dim", "tftp", "--secure  -v", "two spaces" },
		{ "/srv/dim", "tftp", "--secure ", "two spaces" },
		{ "/srv/dim", "tftp", "-v\t-s", "a character" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct dim_err err = { 0 };
		struct model m;
		char *text;
		int rc;

		model_init(&m);
		snprintf(m.s.storage, sizeof(m.s.storage), "%s", cases[i].storage);
		text = defaults(&m, cases[i].user, cases[i].options, &rc, &err);
		if (rc != -EINVAL)
			fail_msg("case %zu: %d, not -EINVAL", i, rc);
		assert_null(text);
		if (!strstr(err.msg, cases[i].want))
			fail_msg("case %zu: \"%s\" not in \"%s\"", i, cases[i].want, err.msg);
		assert_null(strchr(err.msg, '\n'));
	}
}

/* Atomic install: the TFTP root made, unchanged text leaves the file alone. */
static void test_defaults_install(void **state)
{
	char dir[] = "/tmp/dim-unit-tftp.XXXXXX", file[PATH_MAX], root[PATH_MAX];
	struct dim_err err = { 0 };
	struct tftp_defaults d;
	struct model m;
	struct stat st, st2;
	bool unchanged;
	char *text, *got = NULL;
	size_t len;

	(void)state;
	model_init(&m);
	assert_non_null(mkdtemp(dir));
	snprintf(m.s.storage, sizeof(m.s.storage), "%s/storage", dir);
	snprintf(file, sizeof(file), "%s/etc/default/tftpd-hpa", dir);
	assert_int_equal(tftp_defaults_make(&m.c, &m.s, "tftp", NULL, &d, &err), 0);
	assert_int_equal(tftp_defaults_text(&m.c, &m.s, &d, &text, &err), 0);
	assert_int_equal(tftp_defaults_install(file, text, &d, &unchanged, &err), 0);
	assert_false(unchanged);
	snprintf(root, sizeof(root), "%s/storage/tftp", dir);
	assert_int_equal(stat(root, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(read_file(file, &got, &len), 0);
	assert_string_equal(got, text);
	free(got);
	assert_int_equal(stat(file, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	assert_int_equal(tftp_defaults_install(file, text, &d, &unchanged, &err), 0);
	assert_true(unchanged);
	assert_int_equal(stat(file, &st2), 0);
	assert_int_equal(st.st_ino, st2.st_ino);
	free(text);

	/* A directory where the file should be: an error naming it, nothing else. */
	unlink(file);
	assert_int_equal(mkdir(file, 0755), 0);
	assert_int_equal(tftp_defaults_make(&m.c, &m.s, "tftp", "-v", &d, &err), 0);
	assert_int_equal(tftp_defaults_text(&m.c, &m.s, &d, &text, &err), 0);
	assert_true(tftp_defaults_install(file, text, &d, &unchanged, &err) < 0);
	assert_non_null(strstr(err.msg, file));
	free(text);
	rmdir(file);
	snprintf(root, sizeof(root), "%s/etc/default", dir);
	rmdir(root);
	snprintf(root, sizeof(root), "%s/etc", dir);
	rmdir(root);
	snprintf(root, sizeof(root), "%s/storage/tftp", dir);
	rmdir(root);
	snprintf(root, sizeof(root), "%s/storage", dir);
	rmdir(root);
	assert_int_equal(rmdir(dir), 0);
}

/* ---------------------------------------------------------------- publishing */

static void test_stage(void **state)
{
	char src[] = "/tmp/dim-unit-tftp-src.XXXXXX", kernel[PATH_MAX], path[PATH_MAX],
	     link[PATH_MAX];
	struct dim_err err = { 0 };
	struct tftp_file files[3];
	char *stage = NULL, *got = NULL;
	struct stat st;
	ssize_t n;
	size_t len;

	(void)state;
	assert_non_null(mkdtemp(src));
	snprintf(kernel, sizeof(kernel), "%s/vmlinuz", src);
	{
		FILE *f = fopen(kernel, "w");

		assert_non_null(f);
		fputs("kernel bytes", f);
		fclose(f);
	}
	files[0] = (struct tftp_file){ .src = kernel, .name = "kernel" };
	files[1] = (struct tftp_file){ .text = "#!ipxe\n", .name = "boot.ipxe" };
	files[2] = (struct tftp_file){ .src = kernel, .name = "sub/dir/zImage" };
	assert_int_equal(tftp_stage(files, 3, &stage, &err), 0);
	assert_non_null(stage);

	snprintf(path, sizeof(path), "%s/kernel", stage);
	n = readlink(path, link, sizeof(link) - 1);
	assert_true(n > 0);
	link[n] = '\0';
	assert_string_equal(link, kernel);
	snprintf(path, sizeof(path), "%s/boot.ipxe", stage);
	assert_int_equal(read_file(path, &got, &len), 0);
	assert_string_equal(got, "#!ipxe\n");
	free(got);
	snprintf(path, sizeof(path), "%s/sub/dir/zImage", stage);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISLNK(st.st_mode));

	snprintf(path, sizeof(path), "%s", stage);
	tftp_stage_remove(stage, files, 3);
	assert_int_equal(stat(path, &st), -1);

	/* A name that leaves the directory, and a missing source. */
	files[0].name = "../kernel";
	assert_int_equal(tftp_stage(files, 1, &stage, &err), -EINVAL);
	assert_null(stage);
	assert_non_null(strstr(err.msg, "\"../kernel\""));
	files[0] = (struct tftp_file){ .src = "/nonexistent/vmlinuz", .name = "kernel" };
	assert_int_equal(tftp_stage(files, 1, &stage, &err), -ENOENT);
	assert_null(stage);
	assert_non_null(strstr(err.msg, "/nonexistent/vmlinuz"));

	unlink(kernel);
	assert_int_equal(rmdir(src), 0);
}

static char *joined(const struct sync_argv *a)
{
	size_t i, n = 1;
	char *s;

	for (i = 0; i < a->n; i++)
		n += strlen(a->v[i]) + 1;
	s = calloc(1, n);
	assert_non_null(s);
	for (i = 0; i < a->n; i++) {
		if (i)
			strcat(s, " ");
		strcat(s, a->v[i]);
	}
	return s;
}

static void test_publish_argv(void **state)
{
	static const struct {
		const char *sync;
		bool local;
		const char *rsh;
		const char *tail;
	} cases[] = {
		{ "ssh", false, NULL, " /tmp/st/ 10.77.0.1:/var/lib/dim/tftp/master/" },
		{ "ssh", false, "ssh -F cfg", " --rsh=ssh -F cfg /tmp/st/ "
					       "10.77.0.1:/var/lib/dim/tftp/master/" },
		{ "rsyncd", false, "ssh -F cfg", " /tmp/st/ rsync://10.77.0.1/dim/tftp/master/" },
		{ "ssh", true, "ssh -F cfg", " /tmp/st/ /var/lib/dim/tftp/master/" },
	};
	struct dim_err err = { 0 };
	struct model m;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sync_argv a = { 0 };
		char *s;
		size_t n;

		model_init(&m);
		snprintf(m.s.sync, sizeof(m.s.sync), "%s", cases[i].sync);
		assert_int_equal(tftp_publish_argv(&m.c, &m.s, &m.img, "/tmp/st", cases[i].local,
						   cases[i].rsh, 0, &a, &err),
				 0);
		s = joined(&a);
		/* Never --delete: other files of the image's directory stay. */
		assert_null(strstr(s, "--delete"));
		assert_non_null(strstr(s, "rsync -rtL --checksum --fsync --mkpath "
					  "--chmod=D755,F644 --stats --timeout=120"));
		n = strlen(s);
		if (n < strlen(cases[i].tail) ||
		    strcmp(s + n - strlen(cases[i].tail), cases[i].tail))
			fail_msg("case %zu: \"%s\" does not end in \"%s\"", i, s, cases[i].tail);
		free(s);
		sync_argv_free(&a);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_boot_file),
		cmocka_unit_test(test_is_ipxe),
		cmocka_unit_test(test_defaults_text),
		cmocka_unit_test(test_defaults_sourced_by_sh),
		cmocka_unit_test(test_defaults_refused),
		cmocka_unit_test(test_defaults_install),
		cmocka_unit_test(test_stage),
		cmocka_unit_test(test_publish_argv),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
