/* SPDX-License-Identifier: MIT */
/*
 * Putting a generated DHCP configuration in place: written next to its
 * target under a temporary name, checked by the daemon's own check as the
 * daemon would read it, renamed into place only then, and the daemon told.
 *
 * The check reads the new file through a wrapper: the admin's main config
 * (--main) with the path of the included file replaced by the temporary
 * one, line for line (so the daemon's complaints about the main config
 * keep their line numbers), or a minimal main config holding only the
 * include.  The complaint is shown with the scratch names replaced by the
 * names the admin knows.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "dhcp_apply.h"
#include "fsutil.h"
#include "runner.h"

#define LOCK_NAME	".dim-dhcp.lock"
#define REJECTED	".rejected"
#define OUTPUT_MAX	(64 * 1024)	/* of a check's or a reload's output, kept for messages */

struct dhcp_stage {
	const struct dhcp_backend *b;
	struct atomic_file f;		/* the new file under its temporary name */
	char live[PATH_MAX];		/* its final name */
	bool changed;			/* its content differs from the live file's */
	bool checked;
};

/* ---------------------------------------------------------------- small helpers */

static void msleep(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static unsigned long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000 + (unsigned long long)ts.tv_nsec / 1000000;
}

/* Replace every occurrence of from in text by to; a new string, or NULL. */
static char *replace_all(const char *text, const char *from, const char *to)
{
	size_t nf = strlen(from);
	struct dhcp_buf b = { 0 };
	const char *p, *q;

	dhcp_buf_puts(&b, "");
	for (p = text; nf && (q = strstr(p, from)); p = q + nf) {
		dhcp_buf_putn(&b, p, (size_t)(q - p));
		dhcp_buf_puts(&b, to);
	}
	dhcp_buf_puts(&b, p);
	if (b.rc) {
		dhcp_buf_free(&b);
		return NULL;
	}
	return b.data;
}

/* dir/name into buf; -ENAMETOOLONG if it does not fit. */
static int path_join(char *buf, size_t size, const char *dir, const char *name,
		     const char *suffix)
{
	int n = snprintf(buf, size, "%s/%s%s", dir, name, suffix);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int dhcp_abs_dir(const char *dir, char *buf, size_t size)
{
	size_t n = strlen(dir);
	char cwd[PATH_MAX];
	int w;

	/*
	 * As given when absolute, symbolic links and all: the main config names
	 * the file by the path the admin knows, which realpath() might not give.
	 */
	while (n > 1 && dir[n - 1] == '/')
		n--;
	if (dir[0] == '/')
		w = snprintf(buf, size, "%.*s", (int)n, dir);
	else if (getcwd(cwd, sizeof(cwd)))
		w = snprintf(buf, size, "%s/%.*s", cwd, (int)n, dir);
	else
		return -errno;
	return w < 0 || (size_t)w >= size ? -ENAMETOOLONG : 0;
}

/* A file's content differs from text (or the file does not exist). */
static bool differs(const char *path, const struct dhcp_buf *text)
{
	size_t len;
	char *old;
	bool d;

	if (read_file(path, &old, &len) < 0)
		return true;
	d = len != text->len || memcmp(old, text->data ? text->data : "", len);
	free(old);
	return d;
}

/*
 * Run argv with its output captured (stdout and stderr, at most OUTPUT_MAX
 * bytes).  A check or reload that hangs is stopped after RUN_TIMEOUT_MS.
 */
#define RUN_TIMEOUT_MS 60000
static int run_captured(const char *const argv[], char **out, int *status, struct dim_err *err)
{
	struct runner_opts o = { .out_fd = -1, .null_stdin = 1, .timeout_ms = RUN_TIMEOUT_MS };
	char *buf;
	ssize_t n;
	size_t len = 0;
	int fd, rc;

	*out = NULL;
	fd = memfd_create("dim-dhcp-output", MFD_CLOEXEC);
	if (fd < 0)
		return dim_err_set(err, -errno, "memfd_create: %s", strerror(errno));
	o.out_fd = fd;
	rc = runner_run(argv, &o, status, err);
	buf = malloc(OUTPUT_MAX + 1);
	if (!buf) {
		close(fd);
		return dim_err_set(err, -ENOMEM, "out of memory");
	}
	if (lseek(fd, 0, SEEK_SET) == 0) {
		while (len < OUTPUT_MAX && (n = read(fd, buf + len, OUTPUT_MAX - len)) > 0)
			len += (size_t)n;
	}
	buf[len] = '\0';
	close(fd);
	*out = buf;
	return rc;
}

/* The daemon's complaint for a message: noise and blank lines dropped. */
static void tidy_output(char *out, const char *const *noise)
{
	char *src = out, *dst = out;

	while (*src) {
		char *eol = strchr(src, '\n');
		size_t len = eol ? (size_t)(eol - src) + 1 : strlen(src);
		bool drop = len <= 1 || (len == 2 && src[0] == '\r');
		unsigned i;

		for (i = 0; noise && noise[i] && !drop; i++) {
			char save = src[len - 1];

			src[len - 1] = '\0';
			drop = strstr(src, noise[i]) != NULL;
			src[len - 1] = save;
		}
		if (!drop) {
			memmove(dst, src, len);
			dst += len;
		}
		src += len;
	}
	while (dst > out && (dst[-1] == '\n' || dst[-1] == ' '))
		dst--;
	*dst = '\0';
}

/* ---------------------------------------------------------------- the directory lock */

int dhcp_lock_dir(const char *dir, unsigned timeout_ms, struct dim_err *err)
{
	unsigned long long deadline = now_ms() + timeout_ms;
	char path[PATH_MAX], holder[128] = "";
	ssize_t n;
	int fd, rc;

	rc = mkdir_p(dir, 0755);
	if (rc < 0)
		return dim_err_set(err, rc, "%s: cannot create: %s", dir, strerror(-rc));
	if (snprintf(path, sizeof(path), "%s/%s", dir, LOCK_NAME) >= (int)sizeof(path))
		return dim_err_set(err, -ENAMETOOLONG, "%s: path too long", dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return dim_err_set(err, -errno, "%s: %s", path, strerror(errno));
	while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EINTR)
			continue;
		if (errno != EWOULDBLOCK) {
			rc = -errno;
			close(fd);
			return dim_err_set(err, rc, "%s: flock: %s", path, strerror(-rc));
		}
		if (now_ms() >= deadline) {
			n = pread(fd, holder, sizeof(holder) - 1, 0);
			holder[n > 0 ? n : 0] = '\0';
			holder[strcspn(holder, "\n")] = '\0';
			close(fd);
			return dim_err_set(err, -EBUSY,
					   "%s: another dim is writing here (%s); gave up after %.1f s",
					   dir, holder[0] ? holder : "lock " LOCK_NAME,
					   timeout_ms / 1000.0);
		}
		msleep(50);
	}
	/* Who holds it, for the message a waiting command shows. */
	n = snprintf(holder, sizeof(holder), "pid %d\n", (int)getpid());
	if (ftruncate(fd, 0) == 0 && pwrite(fd, holder, (size_t)n, 0) < 0) {
		/* Only the message of a waiting command would be poorer. */
	}
	return fd;
}

/* ---------------------------------------------------------------- staging */

const char *dhcp_stage_path(const struct dhcp_stage *st)
{
	return st->live;
}

bool dhcp_stage_changed(const struct dhcp_stage *st)
{
	return st->changed;
}

bool dhcp_stage_checked(const struct dhcp_stage *st)
{
	return st->checked;
}

void dhcp_stage_abort(struct dhcp_stage *st)
{
	if (!st)
		return;
	if (st->f.tmp)
		atomic_abort(&st->f);
	free(st);
}

int dhcp_stage_commit(struct dhcp_stage *st, struct dim_err *err)
{
	int rc = atomic_commit(&st->f);

	if (rc < 0)
		dim_err_set(err, rc, "%s: cannot replace it: %s", st->live, strerror(-rc));
	dhcp_stage_abort(st);
	return rc;
}

/* The wrapper's text: the main config with the new file in the live one's place. */
static int wrapper_text(const struct dhcp_stage *st, const struct dhcp_target *t,
			struct dhcp_buf *w, struct dim_err *err)
{
	const struct dhcp_backend *b = st->b;
	char *main_text = NULL, *swapped;
	int rc;

	if (!t->main) {
		dhcp_buf_printf(w, "%s%s%s", b->wrapper[0], st->f.tmp, b->wrapper[1]);
		return w->rc ? dim_err_set(err, w->rc, "out of memory") : 0;
	}
	rc = read_file(t->main, &main_text, NULL);
	if (rc < 0)
		return dim_err_set(err, rc, "%s: %s", t->main, strerror(-rc));
	if (!strstr(main_text, st->live)) {
		free(main_text);
		return dim_err_set(err, -EINVAL, "%s does not include %s: add %s%s%s", t->main,
				   st->live, b->include[0], st->live, b->include[1]);
	}
	swapped = replace_all(main_text, st->live, st->f.tmp);
	free(main_text);
	if (!swapped)
		return dim_err_set(err, -ENOMEM, "out of memory");
	dhcp_buf_puts(w, swapped);
	free(swapped);
	return w->rc ? dim_err_set(err, w->rc, "out of memory") : 0;
}

/* The check's argv: "%s" in an argument becomes the wrapper's path. */
static int check_argv(const struct dhcp_backend *b, const char *wrapper, char **argv, size_t max)
{
	size_t i;

	for (i = 0; i < max - 1 && b->check_argv[i]; i++) {
		argv[i] = replace_all(b->check_argv[i], "%s", wrapper);
		if (!argv[i])
			return -ENOMEM;
	}
	argv[i] = NULL;
	return 0;
}

static void free_argv(char **argv)
{
	for (; *argv; argv++)
		free(*argv);
}

/*
 * Keep what the check rejected as TARGET.rejected, and name the files in the
 * daemon's complaint as the admin knows them: the rejected file, the main
 * config (the wrapper has its lines, the include's path aside).
 */
static char *keep_rejected(struct dhcp_stage *st, const char *wrapper,
			   const struct dhcp_target *t, char *out)
{
	char rej[PATH_MAX], *o2;
	const char *name = rej;
	int n = snprintf(rej, sizeof(rej), "%s%s", st->live, REJECTED);

	/* Not kept: the complaint names the live file it was meant to replace. */
	if (n < 0 || (size_t)n >= sizeof(rej) || rename(st->f.tmp, rej) < 0)
		name = st->live;
	o2 = replace_all(out, st->f.tmp, name);
	free(out);
	if (!o2)
		return NULL;
	out = replace_all(o2, wrapper, t->main ? t->main : "(the check's wrapper)");
	free(o2);
	return out;
}

static int run_check(struct dhcp_stage *st, const struct dhcp_conf *conf,
		     const struct dhcp_target *t, struct dim_err *err)
{
	const struct dhcp_backend *b = st->b;
	const char *tmpdir = getenv("TMPDIR");
	char wrapper[PATH_MAX], *argv[8] = { NULL }, *out = NULL, cmd[64];
	struct dim_err rerr = { 0 };
	struct dhcp_buf w = { 0 };
	int fd, rc, status = -1;

	rc = wrapper_text(st, t, &w, err);
	if (rc < 0)
		return rc;
	rc = path_join(wrapper, sizeof(wrapper), tmpdir && *tmpdir ? tmpdir : "/tmp",
		       "dim-dhcp-check-XXXXXX", "");
	if (rc < 0) {
		dhcp_buf_free(&w);
		return dim_err_set(err, rc, "$TMPDIR is too long");
	}
	fd = mkostemp(wrapper, O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		dhcp_buf_free(&w);
		return dim_err_set(err, rc, "%s: %s", wrapper, strerror(-rc));
	}
	rc = write_full(fd, w.data, w.len);
	close(fd);
	dhcp_buf_free(&w);
	if (rc < 0) {
		dim_err_set(err, rc, "%s: %s", wrapper, strerror(-rc));
		goto out;
	}
	rc = check_argv(b, wrapper, argv, sizeof(argv) / sizeof(argv[0]));
	if (rc < 0) {
		dim_err_set(err, rc, "out of memory");
		goto out;
	}
	rc = run_captured((const char *const *)argv, &out, &status, &rerr);
	if (rc < 0 && status < 0) {
		/* It could not be started. */
		dim_err_set(err, rc,
			    "image server %s: cannot check the configuration: %s (is %s installed? "
			    "--no-check writes without the check)",
			    conf->server->name, rerr.msg, b->daemon);
		goto out;
	}
	st->checked = true;
	if (status != 0) {
		snprintf(cmd, sizeof(cmd), "%s %s", argv[0], argv[1] ? argv[1] : "");
		out = out ? keep_rejected(st, wrapper, t, out) : NULL;
		if (out)
			tidy_output(out, b->noise);
		rc = dim_err_set(err, -EINVAL,
				 "image server %s: %s rejects the new configuration (%s); %s is "
				 "unchanged, the rejected file is kept as %s%s:\n%s",
				 conf->server->name, cmd, rerr.msg, st->live, b->file, REJECTED,
				 out && *out ? out : "(no output)");
		goto out;
	}
	rc = 0;
out:
	free(out);
	free_argv(argv);
	unlink(wrapper);
	return rc;
}

int dhcp_stage(const struct dhcp_conf *conf, const struct dhcp_target *t,
	       struct dhcp_stage **out, struct dim_err *err)
{
	const struct dhcp_backend *b = conf->backend;
	const struct dhcp_buf *text = &conf->text;
	char dir[PATH_MAX], rej[PATH_MAX];
	struct dhcp_stage *st;
	int rc;

	*out = NULL;
	rc = mkdir_p(t->dir, 0755);
	if (rc < 0)
		return dim_err_set(err, rc, "%s: cannot create: %s", t->dir, strerror(-rc));
	/* The main config names the file by its absolute path. */
	rc = dhcp_abs_dir(t->dir, dir, sizeof(dir));
	if (rc < 0)
		return dim_err_set(err, rc, "%s: %s", t->dir, strerror(-rc));
	st = calloc(1, sizeof(*st));
	if (!st)
		return dim_err_set(err, -ENOMEM, "out of memory");
	st->b = b;
	st->f.fd = -1;
	if (path_join(st->live, sizeof(st->live), dir, b->file, "") < 0 ||
	    path_join(rej, sizeof(rej), dir, b->file, REJECTED) < 0) {
		rc = dim_err_set(err, -ENAMETOOLONG, "%s: path too long", dir);
		goto err_abort;
	}
	st->changed = differs(st->live, text);
	rc = atomic_open(&st->f, st->live, 0644);
	if (rc < 0) {
		dim_err_set(err, rc, "%s: cannot write next to it: %s", st->live, strerror(-rc));
		goto err_abort;
	}
	rc = write_full(st->f.fd, text->data ? text->data : "", text->len);
	if (rc < 0) {
		dim_err_set(err, rc, "%s: %s", st->f.tmp, strerror(-rc));
		goto err_abort;
	}
	if (!t->no_check) {
		rc = run_check(st, conf, t, err);
		if (rc < 0)
			goto err_abort;
	}
	/* The last rejected version is history now. */
	unlink(rej);
	*out = st;
	return 0;

err_abort:
	dhcp_stage_abort(st);
	return rc;
}

/* ---------------------------------------------------------------- reloading */

int dhcp_reload_supported(const struct dhcp_backend *b, enum dhcp_reload_how how,
			  struct dim_err *err)
{
	switch (how) {
	case DHCP_RELOAD_NONE:
	case DHCP_RELOAD_ARGV:
		return 0;
	case DHCP_RELOAD_PIDFILE:
		if (b->hup_reloads)
			return 0;
		return dim_err_set(err, -EINVAL,
				   "%s cannot reload its configuration on a signal; restart it with "
				   "--reload 'COMMAND ARGS' (e.g. 'systemctl restart isc-dhcp-server')",
				   b->daemon);
	case DHCP_RELOAD_SOCKET:
		if (b->control_socket)
			return 0;
		return dim_err_set(err, -EINVAL, "%s has no control socket (only Kea has)",
				   b->daemon);
	}
	return dim_err_set(err, -EINVAL, "unknown way to reload");
}

static int reload_argv(const struct dhcp_reload *r, struct dim_err *err)
{
	struct dim_err rerr = { 0 };
	char *out = NULL;
	int rc, status = -1;

	rc = run_captured(r->argv, &out, &status, &rerr);
	if (rc < 0) {
		if (out)
			tidy_output(out, NULL);
		dim_err_set(err, rc, "reload: %s%s%s", rerr.msg, out && *out ? ":\n" : "",
			    out ? out : "");
	}
	free(out);
	return rc;
}

/* SIGHUP to the pid in a pid file, if that pid is the daemon (not a recycled pid). */
static int reload_pidfile(const struct dhcp_backend *b, const char *pidfile, struct dim_err *err)
{
	char *text = NULL, path[64], comm[64] = "";
	long pid;
	char *end;
	FILE *f;
	int rc;

	rc = read_file(pidfile, &text, NULL);
	if (rc < 0)
		return dim_err_set(err, rc, "reload: %s: %s", pidfile, strerror(-rc));
	errno = 0;
	pid = strtol(text, &end, 10);
	if (errno || end == text || (*end && *end != '\n') || pid <= 1 || pid > INT_MAX) {
		free(text);
		return dim_err_set(err, -EINVAL, "reload: %s holds no process id", pidfile);
	}
	free(text);
	snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
	f = fopen(path, "re");
	if (!f)
		return dim_err_set(err, -ESRCH, "reload: %s: process %ld is not running", pidfile,
				   pid);
	if (!fgets(comm, sizeof(comm), f))
		comm[0] = '\0';
	fclose(f);
	comm[strcspn(comm, "\n")] = '\0';
	/* comm is the program name cut to 15 bytes (proc(5)). */
	if (strncmp(comm, b->daemon, 15))
		return dim_err_set(err, -ESRCH, "reload: %s: process %ld is %s, not %s", pidfile,
				   pid, comm, b->daemon);
	if (kill((pid_t)pid, SIGHUP) < 0)
		return dim_err_set(err, -errno, "reload: SIGHUP to %s (pid %ld): %s", b->daemon,
				   pid, strerror(errno));
	return 0;
}

/*
 * Kea's control channel: one JSON command per connection, the answer
 * {"result": 0, "text": "..."} then the server closes (Kea ARM, "Management
 * API").  Result 0 is success.
 */
static int reload_socket(const struct dhcp_reload *r, struct dim_err *err)
{
	static const char cmd[] = "{ \"command\": \"config-reload\" }";
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	unsigned ms = r->timeout_ms ? r->timeout_ms : 30000;
	struct timeval tv = { ms / 1000, (long)(ms % 1000) * 1000 };
	char reply[4096], *p, *text;
	size_t len = 0;
	ssize_t n;
	long result;
	int fd, rc;

	if (strlen(r->path) >= sizeof(sa.sun_path))
		return dim_err_set(err, -ENAMETOOLONG, "reload: %s: path too long for a socket",
				   r->path);
	strcpy(sa.sun_path, r->path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return dim_err_set(err, -errno, "reload: socket: %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		rc = -errno;
		close(fd);
		return dim_err_set(err, rc, "reload: %s: %s (is kea-dhcp4 running with this "
				   "control-socket?)", r->path, strerror(-rc));
	}
	rc = write_full(fd, cmd, sizeof(cmd) - 1);
	if (rc < 0) {
		close(fd);
		return dim_err_set(err, rc, "reload: %s: %s", r->path, strerror(-rc));
	}
	while (len < sizeof(reply) - 1 && (n = read(fd, reply + len, sizeof(reply) - 1 - len)) > 0)
		len += (size_t)n;
	rc = n < 0 && len == 0 ? -errno : 0;
	close(fd);
	reply[len] = '\0';
	if (rc < 0)
		return dim_err_set(err, rc, "reload: %s: no answer: %s", r->path, strerror(-rc));
	p = strstr(reply, "\"result\"");
	if (!p || !(p = strchr(p, ':')))
		return dim_err_set(err, -EPROTO, "reload: %s: unexpected answer: %.200s", r->path,
				   reply);
	result = strtol(p + 1, NULL, 10);
	if (result == 0)
		return 0;
	text = strstr(reply, "\"text\"");
	return dim_err_set(err, -EIO, "reload: kea-dhcp4 refused config-reload (result %ld): %.300s",
			   result, text ? text : reply);
}

int dhcp_reload(const struct dhcp_backend *b, const struct dhcp_reload *r, struct dim_err *err)
{
	int rc = dhcp_reload_supported(b, r->how, err);

	if (rc < 0)
		return rc;
	switch (r->how) {
	case DHCP_RELOAD_NONE:
		return 0;
	case DHCP_RELOAD_ARGV:
		return reload_argv(r, err);
	case DHCP_RELOAD_PIDFILE:
		return reload_pidfile(b, r->path, err);
	case DHCP_RELOAD_SOCKET:
		return reload_socket(r, err);
	}
	return -EINVAL;
}
