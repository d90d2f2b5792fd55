/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "fsutil.h"
#include "kbuild.h"
#include "runner.h"

/*
 * What each blade architecture builds.  SLOF cannot boot the plain zImage
 * (linked at address 0: "E3402: Aborting boot"); kernel-config/ppc64le.config
 * sets CONFIG_EXTRA_TARGETS="zImage.of", so "make zImage" also writes the
 * Open Firmware wrapper SLOF fetches by TFTP.
 */
static const struct kbuild_arch arches[] = {
	{ "ppc64le", "powerpc", "ppc64le", "powerpc64le-linux-gnu-", "zImage",
	  "arch/powerpc/boot/zImage.of", "zImage.of" },
	{ "x86_64", "x86_64", "x86_64", "x86_64-linux-gnu-", "bzImage",
	  "arch/x86/boot/bzImage", "bzImage" },
};

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/*
 * A make the caller runs us from (make zimage) passes its own variables and
 * job server down through the environment; the kernel's make is not its
 * sub-make and must see none of them, nor stray ARCH/O settings.
 */
static const char *const make_env_unset[] = {
	"MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEFILES", "MAKEOVERRIDES", "GNUMAKEFLAGS",
	"ARCH", "SUBARCH", "CROSS_COMPILE", "O", "KBUILD_OUTPUT", "KCONFIG_CONFIG",
	"KCONFIG_ALLCONFIG", "LOCALVERSION", NULL,
};

static const char *const tar_suffixes[] = { ".tar.xz", ".tar.gz", ".tar.bz2", ".tgz", ".tar" };

const struct kbuild_arch *kbuild_arch(const char *arch)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(arches); i++)
		if (!strcmp(arches[i].arch, arch))
			return &arches[i];
	return NULL;
}

static int oom(struct kbuild *kb)
{
	return dim_err_set(&kb->err, -ENOMEM, "out of memory");
}

/*
 * flock DIR/dim.lock: waiting for it, or failing with -EBUSY if another
 * process holds it (two builds in one object tree would corrupt it).
 */
static int lock(struct kbuild *kb, const char *dir, int wait, int *fdp)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/dim.lock", dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return dim_err_set(&kb->err, -errno, "%s: %s", path, strerror(errno));
	while (flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB)) < 0) {
		int err = errno;

		if (err == EINTR)
			continue;
		close(fd);
		if (err == EWOULDBLOCK)
			return dim_err_set(&kb->err, -EBUSY, "%s: another dim buildzimage is "
					   "building there now (it holds %s)", dir, path);
		return dim_err_set(&kb->err, -err, "%s: %s", path, strerror(err));
	}
	*fdp = fd;
	return 0;
}

int kbuild_init(struct kbuild *kb, const char *arch, const char *build, int jobs)
{
	char real[PATH_MAX];
	long cpus;
	int rc, fd;

	memset(kb, 0, sizeof(*kb));
	kb->lock_fd = -1;
	kconfig_init(&kb->want);
	kconfig_init(&kb->have);
	kb->a = kbuild_arch(arch);
	if (!kb->a)
		return dim_err_set(&kb->err, -EINVAL, "no kernel configuration for architecture %s",
				   arch);
	cpus = sysconf(_SC_NPROCESSORS_ONLN);
	kb->jobs = jobs > 0 ? jobs : cpus > 0 ? (int)cpus : 1;
	rc = mkdir_p(build, 0755);
	if (rc)
		return dim_err_set(&kb->err, rc, "%s: %s", build, strerror(-rc));
	/* The kernel's make runs in the source tree: every path it gets is absolute. */
	if (!realpath(build, real))
		return dim_err_set(&kb->err, -errno, "%s: %s", build, strerror(errno));
	kb->build = strdup(real);
	if (!kb->build || asprintf(&kb->tree, "%s/%s", real, arch) < 0) {
		kb->tree = NULL;
		return oom(kb);
	}
	if (asprintf(&kb->allconfig, "%s/dim-allconfig", kb->tree) < 0 ||
	    asprintf(&kb->cpio, "%s/dim-initramfs.cpio", kb->tree) < 0 ||
	    asprintf(&kb->log, "%s/dim-build.log", kb->tree) < 0)
		return oom(kb);
	rc = mkdir_p(kb->tree, 0755);
	if (rc)
		return dim_err_set(&kb->err, rc, "%s: %s", kb->tree, strerror(-rc));
	rc = lock(kb, kb->tree, 0, &kb->lock_fd);
	if (rc)
		return rc;
	/* A new log for every run. */
	fd = open(kb->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return dim_err_set(&kb->err, -errno, "%s: %s", kb->log, strerror(errno));
	close(fd);
	return 0;
}

void kbuild_free(struct kbuild *kb)
{
	unsigned i;

	free(kb->build);
	free(kb->source);
	free(kb->tree);
	free(kb->allconfig);
	free(kb->cpio);
	free(kb->log);
	for (i = 0; i < kb->n_fragments; i++)
		free(kb->fragments[i]);
	free(kb->fragments);
	free(kb->mismatch);
	kconfig_free(&kb->want);
	kconfig_free(&kb->have);
	kb->build = kb->source = kb->tree = kb->allconfig = kb->cpio = kb->log = NULL;
	kb->fragments = NULL;
	kb->mismatch = NULL;
	kb->n_fragments = 0;
	kb->n_mismatch = 0;
	if (kb->lock_fd >= 0)
		close(kb->lock_fd);	/* releases the flock */
	kb->lock_fd = -1;
}

/* Run argv with its output appended to the build log. */
static int run_logged(struct kbuild *kb, const char *const argv[], const char *what)
{
	struct runner_opts o = { .out_fd = -1, .null_stdin = 1, .unset_env = make_env_unset };
	struct dim_err e = { 0 };
	int fd, rc;

	fd = open(kb->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0)
		return dim_err_set(&kb->err, -errno, "%s: %s", kb->log, strerror(errno));
	o.out_fd = fd;
	rc = runner_run(argv, &o, NULL, &e);
	close(fd);
	if (rc == -ECHILD || rc == -EINTR)
		return dim_err_set(&kb->err, rc, "%s: %s; the end of %s says why", what, e.msg,
				   kb->log);
	if (rc)
		return dim_err_set(&kb->err, rc, "%s: %s", what, e.msg);
	return 0;
}

/* rm -rf of a directory this code made (a failed or replaced unpacking). */
static void remove_tree(const char *path)
{
	const char *const argv[] = { "rm", "-rf", "--", path, NULL };
	struct runner_opts o = { .out_fd = -1, .null_stdin = 1 };

	runner_run(argv, &o, NULL, NULL);
}

static int write_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
	struct atomic_file f = { .fd = -1 };
	int rc;

	rc = atomic_open(&f, path, mode);
	if (rc)
		return rc;
	rc = write_full(f.fd, data, len);
	if (rc) {
		atomic_abort(&f);
		return rc;
	}
	return atomic_commit(&f);
}

static int holds(const char *path, const char *text, size_t len)
{
	char *old;
	size_t old_len;
	int same;

	if (read_file(path, &old, &old_len))
		return 0;
	same = old_len == len && !memcmp(old, text, len);
	free(old);
	return same;
}

/* ---------------------------------------------------------------- the source */

/* A tarball's name without .tar.*: the directory it is unpacked to. */
static char *tarball_name(const char *path)
{
	const char *base = strrchr(path, '/');
	size_t i, len, slen;

	base = base ? base + 1 : path;
	len = strlen(base);
	for (i = 0; i < ARRAY_SIZE(tar_suffixes); i++) {
		slen = strlen(tar_suffixes[i]);
		if (len > slen && !strcmp(base + len - slen, tar_suffixes[i]))
			return strndup(base, len - slen);
	}
	return NULL;
}

struct unpacked {
	char *name, *dest, *stamp;
	char stamp_text[64];
};

static void unpacked_free(struct unpacked *u)
{
	free(u->name);
	free(u->dest);
	free(u->stamp);
}

/* Where source (a regular file) goes, and the stamp that says it went there. */
static int unpacked_paths(struct kbuild *kb, const char *source, const struct stat *st,
			  struct unpacked *u)
{
	memset(u, 0, sizeof(*u));
	u->name = tarball_name(source);
	if (!u->name)
		return dim_err_set(&kb->err, -EINVAL, "%s: neither a kernel source directory nor "
				   "a tarball (.tar.xz, .tar.gz, .tar.bz2, .tar)", source);
	if (asprintf(&u->dest, "%s/src/%s", kb->build, u->name) < 0) {
		u->dest = NULL;
		return oom(kb);
	}
	if (asprintf(&u->stamp, "%s.stamp", u->dest) < 0) {
		u->stamp = NULL;
		return oom(kb);
	}
	snprintf(u->stamp_text, sizeof(u->stamp_text), "%lld %lld\n", (long long)st->st_size,
		 (long long)st->st_mtime);
	return 0;
}

static int is_kernel_tree(const char *dir)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/Makefile", dir);
	if (access(path, R_OK))
		return 0;
	snprintf(path, sizeof(path), "%s/Kconfig", dir);
	return access(path, R_OK) == 0;
}

static int unpacked_before(const struct unpacked *u)
{
	return is_kernel_tree(u->dest) && holds(u->stamp, u->stamp_text, strlen(u->stamp_text));
}

int kbuild_needs_unpack(struct kbuild *kb, const char *source)
{
	struct unpacked u;
	struct stat st;
	int rc;

	if (stat(source, &st) < 0 || !S_ISREG(st.st_mode))
		return 0;
	if (unpacked_paths(kb, source, &st, &u)) {
		unpacked_free(&u);
		return 0;
	}
	rc = !unpacked_before(&u);
	unpacked_free(&u);
	return rc;
}

/* The one directory tar made in tmp (a kernel tarball holds linux-x.y/ and nothing else). */
static int only_dir(struct kbuild *kb, const char *tarball, const char *tmp, char **top)
{
	struct dirent *d;
	char *found = NULL;
	int n = 0;
	DIR *dp;

	dp = opendir(tmp);
	if (!dp)
		return dim_err_set(&kb->err, -errno, "%s: %s", tmp, strerror(errno));
	while ((d = readdir(dp))) {
		if (!strcmp(d->d_name, ".") || !strcmp(d->d_name, ".."))
			continue;
		n++;
		if (!found && asprintf(&found, "%s/%s", tmp, d->d_name) < 0)
			found = NULL;
	}
	closedir(dp);
	if (n != 1 || !found || !is_kernel_tree(found)) {
		free(found);
		return dim_err_set(&kb->err, -EINVAL, "%s: not a kernel source tarball (want one "
				   "top-level directory with the kernel's Makefile and Kconfig)",
				   tarball);
	}
	*top = found;
	return 0;
}

static int unpack(struct kbuild *kb, const char *tarball, const struct unpacked *u)
{
	char *srcdir = NULL, *tmp = NULL, *stale = NULL, *top = NULL;
	int rc;

	if (asprintf(&srcdir, "%s/src", kb->build) < 0)
		return oom(kb);
	rc = mkdir_p(srcdir, 0755);
	if (rc) {
		dim_err_set(&kb->err, rc, "%s: %s", srcdir, strerror(-rc));
		goto out;
	}
	if (asprintf(&tmp, "%s/.unpack-XXXXXX", srcdir) < 0 ||
	    asprintf(&stale, "%s/.stale-XXXXXX", srcdir) < 0) {
		rc = oom(kb);
		goto out;
	}
	if (!mkdtemp(tmp)) {
		rc = dim_err_set(&kb->err, -errno, "%s: %s", tmp, strerror(errno));
		free(tmp);
		tmp = NULL;
		goto out;
	}
	{
		/*
		 * --touch: every file is as new as the unpacking, so objects
		 * built from an older unpacking are rebuilt (with the archive's
		 * dates, an updated linux-source would look older than them).
		 */
		const char *const argv[] = { "tar", "-xf", tarball, "-C", tmp, "--no-same-owner",
					     "--touch", NULL };

		rc = run_logged(kb, argv, "unpacking the kernel source");
	}
	if (rc)
		goto out;
	rc = only_dir(kb, tarball, tmp, &top);
	if (rc)
		goto out;
	/* An older unpacking (another tarball of the same name) moves aside first. */
	if (access(u->dest, F_OK) == 0) {
		if (!mkdtemp(stale) || rename(u->dest, stale) < 0) {
			rc = dim_err_set(&kb->err, -errno, "%s: cannot move it aside: %s", u->dest,
					 strerror(errno));
			goto out;
		}
		remove_tree(stale);
	}
	if (rename(top, u->dest) < 0) {
		rc = dim_err_set(&kb->err, -errno, "%s: %s", u->dest, strerror(errno));
		goto out;
	}
	rc = write_atomic(u->stamp, u->stamp_text, strlen(u->stamp_text), 0644);
	if (rc)
		dim_err_set(&kb->err, rc, "%s: %s", u->stamp, strerror(-rc));
out:
	if (tmp)
		remove_tree(tmp);
	free(top);
	free(stale);
	free(tmp);
	free(srcdir);
	return rc;
}

int kbuild_source(struct kbuild *kb, const char *source)
{
	char real[PATH_MAX];
	struct unpacked u;
	struct stat st;
	int rc;

	if (stat(source, &st) < 0)
		return dim_err_set(&kb->err, -errno, "kernel source %s: %s", source,
				   strerror(errno));
	if (S_ISDIR(st.st_mode)) {
		if (!is_kernel_tree(source))
			return dim_err_set(&kb->err, -EINVAL, "%s: not a kernel source tree (no "
					   "Makefile and Kconfig)", source);
		if (!realpath(source, real))
			return dim_err_set(&kb->err, -errno, "%s: %s", source, strerror(errno));
		kb->source = strdup(real);
		return kb->source ? 0 : oom(kb);
	}
	if (!S_ISREG(st.st_mode))
		return dim_err_set(&kb->err, -EINVAL, "%s: neither a directory nor a tarball",
				   source);
	rc = unpacked_paths(kb, source, &st, &u);
	if (!rc && !unpacked_before(&u)) {
		char *srcdir = NULL;
		int fd = -1;

		/* One unpacking at a time; who waited finds it done. */
		if (asprintf(&srcdir, "%s/src", kb->build) < 0) {
			srcdir = NULL;
			rc = oom(kb);
		}
		if (!rc) {
			rc = mkdir_p(srcdir, 0755);
			if (rc)
				dim_err_set(&kb->err, rc, "%s: %s", srcdir, strerror(-rc));
		}
		if (!rc)
			rc = lock(kb, srcdir, 1, &fd);
		if (!rc && !unpacked_before(&u))
			rc = unpack(kb, source, &u);
		if (fd >= 0)
			close(fd);
		free(srcdir);
	}
	if (!rc) {
		kb->source = u.dest;
		u.dest = NULL;
	}
	unpacked_free(&u);
	return rc;
}

/* ---------------------------------------------------------------- configuration */

int kbuild_fragments(struct kbuild *kb, const char *config_dir)
{
	const char *const names[] = { "common", kb->a->arch };
	size_t i, k;
	int rc;

	kb->fragments = calloc(ARRAY_SIZE(names), sizeof(*kb->fragments));
	if (!kb->fragments)
		return oom(kb);
	for (i = 0; i < ARRAY_SIZE(names); i++) {
		char *path, *text;
		size_t len;

		if (asprintf(&path, "%s/%s.config", config_dir, names[i]) < 0)
			return oom(kb);
		kb->fragments[kb->n_fragments++] = path;
		rc = read_file(path, &text, &len);
		if (rc)
			return dim_err_set(&kb->err, rc, "kernel configuration fragment %s: %s",
					   path, strerror(-rc));
		rc = kconfig_parse(&kb->want, text, len, path, &kb->err);
		free(text);
		if (rc)
			return rc;
	}
	/* Everything is built in: the initramfs carries no modules. */
	for (k = 0; k < kb->want.n; k++) {
		const struct kconfig_sym *s = &kb->want.v[k];

		if (!s->is_string && !strcmp(s->value, "m"))
			return dim_err_set(&kb->err, -EINVAL, "%s:%u: %s=m: a netboot kernel "
					   "has no modules; build it in (=y)", s->file, s->line,
					   s->name);
	}
	return kconfig_set(&kb->want, "CONFIG_INITRAMFS_SOURCE", kb->cpio, 1,
			   "dim buildzimage", 0, &kb->err);
}

static int check_config(struct kbuild *kb)
{
	char *path = NULL, *text;
	size_t len;
	int rc;

	free(kb->mismatch);
	kb->mismatch = NULL;
	kb->n_mismatch = 0;
	kconfig_free(&kb->have);
	if (asprintf(&path, "%s/.config", kb->tree) < 0)
		return oom(kb);
	rc = read_file(path, &text, &len);
	if (rc) {
		dim_err_set(&kb->err, rc, "%s: %s", path, strerror(-rc));
		goto out;
	}
	rc = kconfig_parse(&kb->have, text, len, path, &kb->err);
	free(text);
	if (rc)
		goto out;
	rc = kconfig_check(&kb->want, &kb->have, &kb->mismatch, &kb->n_mismatch);
	if (rc) {
		oom(kb);
		goto out;
	}
	if (kb->n_mismatch)
		rc = dim_err_set(&kb->err, -EINVAL, "%zu setting%s of the fragments did not take "
				 "effect in %s", kb->n_mismatch, kb->n_mismatch == 1 ? "" : "s",
				 path);
out:
	free(path);
	return rc;
}

/* make -C SOURCE O=TREE ARCH=... [CROSS_COMPILE=...] -jN [extra] target */
static int make(struct kbuild *kb, const char *extra, const char *target)
{
	char o[PATH_MAX + 8], karch[64], cross[128], jobs[32];
	const char *argv[10];
	struct utsname u;
	char what[64];
	int n = 0;

	snprintf(o, sizeof(o), "O=%s", kb->tree);
	snprintf(karch, sizeof(karch), "ARCH=%s", kb->a->karch);
	snprintf(jobs, sizeof(jobs), "-j%d", kb->jobs);
	argv[n++] = "make";
	argv[n++] = "-C";
	argv[n++] = kb->source;
	argv[n++] = o;
	argv[n++] = karch;
	if (uname(&u) == 0 && strcmp(u.machine, kb->a->machine)) {
		snprintf(cross, sizeof(cross), "CROSS_COMPILE=%s", kb->a->cross);
		argv[n++] = cross;
	}
	argv[n++] = jobs;
	if (extra)
		argv[n++] = extra;
	argv[n++] = target;
	argv[n] = NULL;
	snprintf(what, sizeof(what), "make %s", target);
	return run_logged(kb, argv, what);
}

int kbuild_configure(struct kbuild *kb, int *ran)
{
	char *text = NULL, *dotconfig = NULL, *kconfig_allconfig = NULL;
	size_t len;
	int rc;

	*ran = 0;
	if (!kb->source)
		return dim_err_set(&kb->err, -EINVAL, "no kernel source");
	if (kconfig_format(&kb->want, &text, &len))
		return oom(kb);
	if (asprintf(&dotconfig, "%s/.config", kb->tree) < 0 ||
	    asprintf(&kconfig_allconfig, "KCONFIG_ALLCONFIG=%s", kb->allconfig) < 0) {
		rc = oom(kb);
		goto out;
	}
	if (!holds(kb->allconfig, text, len) || access(dotconfig, F_OK)) {
		rc = write_atomic(kb->allconfig, text, len, 0644);
		if (rc) {
			dim_err_set(&kb->err, rc, "%s: %s", kb->allconfig, strerror(-rc));
			goto out;
		}
		/*
		 * allnoconfig with KCONFIG_ALLCONFIG: every symbol the file names
		 * takes its value there, every other one is off (what
		 * scripts/kconfig/merge_config.sh -n does).
		 */
		rc = make(kb, kconfig_allconfig, "allnoconfig");
		if (rc)
			goto out;
		*ran = 1;
	}
	rc = check_config(kb);
out:
	free(text);
	free(dotconfig);
	free(kconfig_allconfig);
	return rc;
}

int kbuild_make(struct kbuild *kb)
{
	int rc;

	if (!kb->source)
		return dim_err_set(&kb->err, -EINVAL, "no kernel source");
	rc = make(kb, NULL, kb->a->target);
	if (rc)
		return rc;
	/* The build's syncconfig may have changed the .config (a new source). */
	return check_config(kb);
}

int kbuild_install(struct kbuild *kb, const char *outdir, char **path, uint64_t *size)
{
	char *image = NULL, *data = NULL;
	size_t len;
	int rc;

	*path = NULL;
	if (asprintf(&image, "%s/%s", kb->tree, kb->a->image) < 0 ||
	    asprintf(path, "%s/%s", outdir, kb->a->name) < 0) {
		free(image);
		*path = NULL;
		return oom(kb);
	}
	rc = read_file(image, &data, &len);
	if (rc) {
		dim_err_set(&kb->err, rc, "%s: %s", image, strerror(-rc));
		goto out;
	}
	rc = mkdir_p(outdir, 0755);
	if (rc) {
		dim_err_set(&kb->err, rc, "%s: %s", outdir, strerror(-rc));
		goto out;
	}
	rc = write_atomic(*path, data, len, 0644);
	if (rc) {
		dim_err_set(&kb->err, rc, "%s: %s", *path, strerror(-rc));
		goto out;
	}
	*size = len;
out:
	free(data);
	free(image);
	if (rc) {
		free(*path);
		*path = NULL;
	}
	return rc;
}
