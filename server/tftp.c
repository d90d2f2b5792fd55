/* SPDX-License-Identifier: MIT */
/*
 * TFTP on the image servers (tftp.h): boot file names, tftpd-hpa's defaults
 * file, and the staging and rsync command lines of dim buildzimage --publish.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "tftp.h"

/* ---------------------------------------------------------------- boot file names */

bool tftp_kernel_is_ipxe(const char *kernel)
{
	size_t n = strlen(kernel), k = strlen(TFTP_IPXE_SUFFIX);

	return n > k && !strcmp(kernel + n - k, TFTP_IPXE_SUFFIX);
}

static bool name_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       ch == '.' || ch == '_' || ch == '+' || ch == '-';
}

/*
 * A path relative to a directory that cannot leave it: components of
 * letters, digits and "._+-", none empty, none "." or "..", none starting
 * with '.' (rsync's temporary files are ".NAME.XXXXXX").
 */
static const char *relative_path_problem(const char *p)
{
	const char *c;

	if (!*p)
		return "it is empty";
	if (*p == '/')
		return "it is absolute; it names a file under IMAGE/ in the TFTP root";
	for (c = p; *c; c++) {
		if (*c == '/') {
			if (c[1] == '/' || !c[1])
				return "it has an empty component";
			continue;
		}
		if (!name_char(*c))
			return "it holds a character other than letters, digits, \"._+-\" and '/'";
		if (*c == '.' && (c == p || c[-1] == '/'))
			return "a component starts with '.'";
	}
	return NULL;
}

int tftp_boot_file(const struct cl_image *img, char *buf, size_t size, const char **why)
{
	const char *bad = relative_path_problem(img->kernel);
	int n;

	if (!bad)
		bad = relative_path_problem(img->name);
	if (bad) {
		*why = bad;
		return -EINVAL;
	}
	n = snprintf(buf, size, "%s/%s", img->name, img->kernel);
	if (n < 0 || (size_t)n >= size || n > TFTP_BOOT_FILE_MAX) {
		*why = "IMAGE/KERNEL is longer than the 127 bytes of BOOTP's file field";
		return -ENAMETOOLONG;
	}
	return 0;
}

/* ---------------------------------------------------------------- tftpd-hpa */

/* v for a one-line message: control and non-ASCII bytes as \xNN, cut at 120. */
static const char *shown(const char *v, char *buf, size_t size)
{
	size_t o = 0;

	for (; *v && o + 8 < size && o < 120; v++) {
		unsigned char ch = (unsigned char)*v;

		if (ch < 0x20 || ch >= 0x7f)
			o += (size_t)snprintf(buf + o, size - o, "\\x%02x", ch);
		else
			buf[o++] = (char)ch;
	}
	snprintf(buf + o, size - o, "%s", *v ? "..." : "");
	return buf;
}

const char *tftp_default_user(void)
{
	return getpwnam("tftp") ? "tftp" : "nobody";
}

/*
 * The characters each value may hold.  The file is sourced by sh and every
 * value is double-quoted there, so '"', '\\', '$' and '`' would change what
 * sh reads; the sets below leave out those and every other character a
 * shell or tftpd's option parser gives a meaning.
 */
static bool user_ok(const char *v)
{
	const char *c;

	if (!*v || strlen(v) > 32 || *v == '-')
		return false;
	for (c = v; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_' ||
		      *c == '-'))
			return false;
	return true;
}

static bool dir_ok(const char *v)
{
	const char *c;

	if (v[0] != '/')
		return false;
	for (c = v; *c; c++)
		if (!name_char(*c) && *c != '/')
			return false;
	return true;
}

/* Options: words starting with '-', "--name" or "--name=value", one space apart. */
static const char *options_problem(const char *v)
{
	const char *c;

	for (c = v; *c; c++) {
		if (*c == ' ') {
			if (c[1] == ' ' || !c[1])
				return "two spaces in a row or a space at the end";
			continue;
		}
		if ((c == v || c[-1] == ' ') && *c != '-')
			return "a word that is not an option (it would be served as a directory)";
		if (!name_char(*c) && *c != '=' && *c != '/' && *c != ':' && *c != ',')
			return "a character other than letters, digits, \"._+-=/:,\" and spaces";
	}
	return NULL;
}

int tftp_defaults_make(const struct cluster *c, const struct cl_server *s, const char *user,
		       const char *options, struct tftp_defaults *d, struct dim_err *e)
{
	char addr[INET_ADDRSTRLEN], buf[160];
	const char *bad;
	int rc;

	memset(d, 0, sizeof(*d));
	if (!user)
		user = tftp_default_user();
	if (!options)
		options = TFTP_DEFAULT_OPTIONS;
	if (!user_ok(user))
		return dim_err_set(e, -EINVAL,
				   "user \"%s\": a user name of lower-case letters, digits, '_' "
				   "and '-' (TFTP_USERNAME)", shown(user, buf, sizeof(buf)));
	snprintf(d->username, sizeof(d->username), "%s", user);
	rc = cluster_tftp_dir(c, s, d->directory, sizeof(d->directory));
	if (rc)
		return dim_err_set(e, rc, "image server %s: storage \"%s\": too long", s->name,
				   shown(s->storage, buf, sizeof(buf)));
	if (!dir_ok(d->directory))
		return dim_err_set(e, -EINVAL,
				   "image server %s: TFTP root \"%s\": an absolute path of "
				   "letters, digits and \"._+-/\" (TFTP_DIRECTORY)",
				   s->name, shown(d->directory, buf, sizeof(buf)));
	inet_ntop(AF_INET, &s->addr, addr, sizeof(addr));
	snprintf(d->address, sizeof(d->address), "%s:69", addr);
	bad = options_problem(options);
	if (bad)
		return dim_err_set(e, -EINVAL, "options \"%s\": %s (TFTP_OPTIONS)",
				   shown(options, buf, sizeof(buf)), bad);
	if (strlen(options) >= sizeof(d->options))
		return dim_err_set(e, -ENAMETOOLONG, "options: longer than %zu bytes (TFTP_OPTIONS)",
				   sizeof(d->options) - 1);
	snprintf(d->options, sizeof(d->options), "%s", options);
	return 0;
}

int tftp_defaults_text(const struct cluster *c, const struct cl_server *s,
		       const struct tftp_defaults *d, char **text, struct dim_err *e)
{
	if (asprintf(text,
		     "# tftpd-hpa for image server %s (cluster %s), written by dim tftp install\n"
		     "# from the cluster definition; do not edit: dim tftp install writes it again.\n"
		     "# Boot files are under IMAGE/ in the TFTP root (dim buildzimage --publish);\n"
		     "# DHCP names IMAGE/KERNEL.  Without systemd, start the daemon from it as\n"
		     "#   . THIS_FILE; in.tftpd --foreground --listen --user \"$TFTP_USERNAME\" \\\n"
		     "#     --address \"$TFTP_ADDRESS\" $TFTP_OPTIONS \"$TFTP_DIRECTORY\"\n"
		     "\n"
		     "TFTP_USERNAME=\"%s\"\n"
		     "TFTP_DIRECTORY=\"%s\"\n"
		     "TFTP_ADDRESS=\"%s\"\n"
		     "TFTP_OPTIONS=\"%s\"\n",
		     s->name, c->name, d->username, d->directory, d->address, d->options) < 0) {
		*text = NULL;
		return dim_err_set(e, -ENOMEM, "out of memory");
	}
	return 0;
}

int tftp_defaults_install(const char *path, const char *text, const struct tftp_defaults *d,
			  bool *unchanged, struct dim_err *e)
{
	struct atomic_file f = { .fd = -1 };
	char *old = NULL, *dir, *slash;
	size_t len = 0, n = strlen(text);
	int rc;

	*unchanged = false;
	rc = mkdir_p(d->directory, 0755);
	if (rc)
		return dim_err_set(e, rc, "TFTP root %s: %s", d->directory, strerror(-rc));
	if (read_file(path, &old, &len) == 0 && len == n && !memcmp(old, text, n)) {
		free(old);
		*unchanged = true;
		return 0;
	}
	free(old);
	/* The file's directory (/etc/default) is the system's: only created when missing. */
	dir = strdup(path);
	if (!dir)
		return dim_err_set(e, -ENOMEM, "out of memory");
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		rc = mkdir_p(dir, 0755);
	}
	free(dir);
	if (rc)
		return dim_err_set(e, rc, "%s: its directory: %s", path, strerror(-rc));
	rc = atomic_open(&f, path, 0644);
	if (rc)
		return dim_err_set(e, rc, "%s: %s", path, strerror(-rc));
	rc = write_full(f.fd, text, n);
	if (rc) {
		atomic_abort(&f);
		return dim_err_set(e, rc, "%s: %s", path, strerror(-rc));
	}
	rc = atomic_commit(&f);
	if (rc)
		return dim_err_set(e, rc, "%s: %s", path, strerror(-rc));
	return 0;
}

/* ---------------------------------------------------------------- publishing */

/* dir/name's parent directories, for a name with components. */
static int stage_parents(const char *dir, const char *name)
{
	char path[PATH_MAX], *slash;
	int n = snprintf(path, sizeof(path), "%s/%s", dir, name);

	if (n < 0 || (size_t)n >= sizeof(path))
		return -ENAMETOOLONG;
	slash = strrchr(path, '/');
	*slash = '\0';
	return mkdir_p(path, 0755);
}

int tftp_stage(const struct tftp_file *files, size_t n, char **dir, struct dim_err *e)
{
	const char *tmp = getenv("TMPDIR");
	char path[PATH_MAX], src[PATH_MAX];
	const char *bad;
	size_t i;
	int rc;

	*dir = NULL;
	for (i = 0; i < n; i++) {
		bad = relative_path_problem(files[i].name);
		if (bad)
			return dim_err_set(e, -EINVAL, "boot file name \"%.200s\": %s", files[i].name,
					   bad);
	}
	if (asprintf(dir, "%s/dim-publish.XXXXXX", tmp && tmp[0] == '/' ? tmp : "/tmp") < 0) {
		*dir = NULL;
		return dim_err_set(e, -ENOMEM, "out of memory");
	}
	if (!mkdtemp(*dir)) {
		rc = -errno;
		dim_err_set(e, rc, "%s: %s", *dir, strerror(-rc));
		free(*dir);
		*dir = NULL;
		return rc;
	}
	for (i = 0; i < n; i++) {
		rc = stage_parents(*dir, files[i].name);
		if (rc)
			goto err;
		snprintf(path, sizeof(path), "%s/%s", *dir, files[i].name);
		if (files[i].src) {
			/* rsync -L copies what the link points to: no copy here. */
			if (!realpath(files[i].src, src)) {
				rc = -errno;
				dim_err_set(e, rc, "%s: %s", files[i].src, strerror(-rc));
				goto err_named;
			}
			if (symlink(src, path) < 0) {
				rc = -errno;
				goto err;
			}
		} else {
			int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);

			if (fd < 0) {
				rc = -errno;
				goto err;
			}
			rc = write_full(fd, files[i].text, strlen(files[i].text));
			if (close(fd) < 0 && !rc)
				rc = -errno;
			if (rc)
				goto err;
		}
	}
	return 0;

err:
	dim_err_set(e, rc, "staging %s in %s: %s", files[i].name, *dir, strerror(-rc));
err_named:
	tftp_stage_remove(*dir, files, n);
	*dir = NULL;
	return rc;
}

void tftp_stage_remove(char *dir, const struct tftp_file *files, size_t n)
{
	char path[PATH_MAX], *slash;
	size_t i;

	if (!dir)
		return;
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i].name);
		unlink(path);
		/* the name's own directories, innermost first; a non-empty one stays */
		while ((slash = strrchr(path, '/')) && (size_t)(slash - path) > strlen(dir)) {
			*slash = '\0';
			if (rmdir(path) < 0)
				break;
		}
	}
	rmdir(dir);
	free(dir);
}

int tftp_publish_argv(const struct cluster *c, const struct cl_server *s,
		      const struct cl_image *img, const char *stage, bool local, const char *rsh,
		      unsigned timeout_s, struct sync_argv *a, struct dim_err *e)
{
	static const char *const opts[] = {
		/*
		 * -L: the staged links' targets; -r: names with directories;
		 * -t and --checksum: an unchanged file is left alone, a changed
		 * one replaced even when size and time agree; --fsync, then
		 * rsync's rename of its temporary file: never half a file.
		 */
		"rsync", "-rtL", "--checksum", "--fsync", "--mkpath", "--chmod=D755,F644",
		"--stats",
	};
	char addr[INET_ADDRSTRLEN], tftp[PATH_MAX];
	bool rsyncd = !strcmp(s->sync, "rsyncd");
	unsigned i;
	int rc = 0;

	if (relative_path_problem(img->name))
		return dim_err_set(e, -EINVAL, "image \"%.64s\": not a directory name", img->name);
	if (cluster_tftp_dir(c, s, tftp, sizeof(tftp)))
		return dim_err_set(e, -ENAMETOOLONG, "image server %s: storage path too long",
				   s->name);
	inet_ntop(AF_INET, &s->addr, addr, sizeof(addr));
	for (i = 0; !rc && i < sizeof(opts) / sizeof(opts[0]); i++)
		rc = sync_argv_add(a, opts[i]);
	if (!rc)
		rc = sync_argv_addf(a, "--timeout=%u", timeout_s ? timeout_s : SYNC_RSYNC_TIMEOUT);
	if (!rc && !local && !rsyncd && rsh)
		rc = sync_argv_addf(a, "--rsh=%s", rsh);
	if (!rc)
		rc = sync_argv_addf(a, "%s/", stage);
	if (!rc && local)
		rc = sync_argv_addf(a, "%s/%s/", tftp, img->name);
	else if (!rc && rsyncd)
		rc = sync_argv_addf(a, "rsync://%s/dim/tftp/%s/", addr, img->name);
	else if (!rc)
		rc = sync_argv_addf(a, "%s:%s/%s/", addr, tftp, img->name);
	return rc ? dim_err_set(e, rc, "out of memory") : 0;
}
