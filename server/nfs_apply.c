/* SPDX-License-Identifier: MIT */
/*
 * dim nfs install: put an image server's exports in place, checked by the
 * real server first, and have the server reload them.
 *
 * Checks.  Neither server has a "check this file" mode, so each is run for
 * real on the candidate, in mount and network namespaces of its own, where
 * the running server and its clients see nothing of it:
 *  - kernel: exportfs -ra with a tmpfs on /var/lib/nfs (its etab), the
 *    candidate as the only file of /etc/exports.d (a tmpfs) and /etc/exports
 *    empty.  exportfs needs no nfsd for this: it parses every line, refuses
 *    unknown options, bad addresses, incompatible duplicates and paths that
 *    do not exist, and writes the etab it would hand the kernel.  In a new
 *    network namespace its cache flushes reach no running nfsd.
 *  - ganesha: ganesha.nfsd itself, NFSv4 only (so no rpcbind), with a main
 *    configuration that includes the candidate, until it says "NFS SERVER
 *    INITIALIZED"; any error its configuration parser logs ("Config File
 *    (FILE:LINE): ...", a syntax error, an export it could not create) fails
 *    the check.  ganesha 4.3 was seen to segfault at start on a syntax error,
 *    and on SIGHUP it logs errors and goes on with whatever part of the
 *    exports it could read: the live server must never be the first to read
 *    a file.
 *
 * Reload: exportfs -ra; for ganesha, SIGHUP (ganesha 4 re-reads, adds and
 * removes EXPORT blocks on it; ganesha-export-config(8), measured here) to the
 * PID in its pid file, after making sure that PID is a ganesha.nfsd.
 *
 * Programs are started from argv arrays: exportfs -ra by runner_run(), the
 * checks by a small spawn() of this file, since they need a step between fork
 * and exec (unshare, mounts) and a time limit, which the runner does not offer.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"
#include "nfs.h"
#include "runner.h"

#define DEFAULT_TIMEOUT_MS	20000
#define GANESHA_PID_FILE	"/run/ganesha/ganesha.pid"
#define GANESHA_MAIN		"/etc/ganesha/ganesha.conf"

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---------------------------------------------------------------- runner */

/*
 * fork, run setup() in the child, exec argv[0] from PATH with its output on
 * out_fd.  A failure before exec comes back through a close-on-exec pipe as
 * (step, errno), so the caller can tell "could not start" from "failed".
 */
struct spawn_fail {
	int step;	/* index into setup's own step names, or -1: exec */
	int err;
};

typedef int (*setup_fn)(const void *arg, int *step);

static void child_fail(int fd, int step, int err)
{
	struct spawn_fail f = { step, err };

	if (write(fd, &f, sizeof(f)) < 0) {
		/* nothing left to tell anyone */
	}
	_exit(127);
}

static int spawn(const char *const argv[], setup_fn setup, const void *arg, int out_fd, pid_t *pid,
		 struct spawn_fail *fail)
{
	int pfd[2], null_fd, rc = 0;
	ssize_t n;

	fail->step = 0;
	fail->err = 0;
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -errno;
	*pid = fork();
	if (*pid < 0) {
		rc = -errno;
		close(pfd[0]);
		close(pfd[1]);
		return rc;
	}
	if (*pid == 0) {
		int step = -1;

		close(pfd[0]);
		null_fd = open("/dev/null", O_RDONLY);
		if (null_fd >= 0)
			dup2(null_fd, 0);
		if (out_fd >= 0) {
			dup2(out_fd, 1);
			dup2(out_fd, 2);
		}
		if (setup && setup(arg, &step) < 0)
			child_fail(pfd[1], step, errno);
		{
			/* execvp() does not change argv; its prototype predates const. */
			union {
				const char *const *c;
				char *const *v;
			} u = { .c = argv };

			execvp(argv[0], u.v);
		}
		child_fail(pfd[1], -1, errno);
	}
	close(pfd[1]);
	do
		n = read(pfd[0], fail, sizeof(*fail));
	while (n < 0 && errno == EINTR);
	close(pfd[0]);
	if (n == (ssize_t)sizeof(*fail)) {
		waitpid(*pid, NULL, 0);
		*pid = -1;
		return fail->err ? -fail->err : -EIO;
	}
	return 0;
}

/* Wait for pid until deadline (CLOCK_MONOTONIC ms); -ETIMEDOUT if it runs on. */
static int wait_until(pid_t pid, long long deadline, int *status)
{
	for (;;) {
		pid_t r = waitpid(pid, status, WNOHANG);

		if (r == pid)
			return 0;
		if (r < 0 && errno != EINTR)
			return -errno;
		if (now_ms() >= deadline)
			return -ETIMEDOUT;
		usleep(10000);
	}
}

/* Stop a child we started: TERM, a grace period, KILL; always reaped. */
static void stop_child(pid_t pid, unsigned grace_ms)
{
	int status;

	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	if (wait_until(pid, now_ms() + grace_ms, &status) == 0)
		return;
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
}

static void describe_status(int status, char *buf, size_t size)
{
	if (WIFEXITED(status))
		snprintf(buf, size, "exited with status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, size, "was killed by signal %d (%s)", WTERMSIG(status),
			 strsignal(WTERMSIG(status)));
	else
		snprintf(buf, size, "ended with wait status 0x%x", status);
}

/* An unlinked temporary file for a child's output. */
static int output_file(void)
{
	const char *dir = getenv("TMPDIR");
	int fd = -1;

	if (dir && *dir)
		fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0)
		fd = open("/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	return fd < 0 ? -errno : fd;
}

static char *read_fd(int fd)
{
	struct stat st;
	char *buf;
	ssize_t n;

	if (fstat(fd, &st) < 0 || st.st_size > 16 << 20)
		return NULL;
	buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		return NULL;
	n = pread(fd, buf, (size_t)st.st_size, 0);
	if (n < 0) {
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	return buf;
}

/* ---------------------------------------------------------------- namespaces */

/* A private copy of the mount table, and a network of our own (lo only). */
static int private_namespaces(void)
{
	if (unshare(CLONE_NEWNS | CLONE_NEWNET) < 0)
		return -1;
	/* Nothing mounted from here on may propagate back to the host. */
	return mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
}

static int lo_up(void)
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc;

	if (fd < 0)
		return -1;
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "lo");
	rc = ioctl(fd, SIOCGIFFLAGS, &ifr);
	if (rc == 0) {
		ifr.ifr_flags |= IFF_UP;
		rc = ioctl(fd, SIOCSIFFLAGS, &ifr);
	}
	close(fd);
	return rc;
}

static bool is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool exists(const char *path)
{
	return access(path, F_OK) == 0;
}

/* ---------------------------------------------------------------- kernel check */

#define EXPORTS_DIR	"/etc/exports.d"
#define EXPORTS_FILE	"/etc/exports"
#define EXPORTS_CHECKED	EXPORTS_DIR "/dim.exports"

static const char *const kernel_steps[] = {
	"open the candidate file",
	"unshare the mount and network namespaces",
	"mount a tmpfs on /var/lib/nfs",
	"mount a tmpfs on " EXPORTS_DIR,
	"hide " EXPORTS_FILE,
	"write the candidate in the namespace",
};

/* Copy the open file in to path (created); -1 with errno on failure. */
static int copy_in(int in, const char *path)
{
	char buf[65536];
	int out = open(path, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
	ssize_t n;

	if (out < 0)
		return -1;
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write_full(out, buf, (size_t)n) < 0)
			break;
	if (n != 0) {
		close(out);
		return -1;
	}
	return close(out);
}

/*
 * In the child: the candidate becomes the only exports table exportfs
 * reads.  It lives in /etc/exports.d, which the tmpfs is about to hide:
 * opened first, copied in after.
 */
static int kernel_setup(const void *arg, int *step)
{
	const char *candidate = arg;
	int fd;

	*step = 0;
	fd = open(candidate, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	*step = 1;
	if (private_namespaces() < 0)
		return -1;
	*step = 2;
	if (mount("dim-check", "/var/lib/nfs", "tmpfs", 0, "mode=0755,size=64m") < 0)
		return -1;
	/* The running nfsd's control files: nothing here may reach them. */
	if (is_dir("/proc/fs/nfsd"))
		mount("dim-check", "/proc/fs/nfsd", "tmpfs", MS_RDONLY, "size=4k");
	if (is_dir(EXPORTS_DIR)) {
		*step = 3;
		if (mount("dim-check", EXPORTS_DIR, "tmpfs", 0, "mode=0755,size=64m") < 0)
			return -1;
		*step = 4;
		if (exists(EXPORTS_FILE) && mount("/dev/null", EXPORTS_FILE, NULL, MS_BIND, NULL) < 0)
			return -1;
		*step = 5;
		return copy_in(fd, EXPORTS_CHECKED);
	}
	/* No exports.d: the candidate stands in for /etc/exports itself. */
	*step = 3;
	if (mount("dim-check", "/tmp", "tmpfs", 0, "mode=0700,size=64m") < 0)
		return -1;
	*step = 5;
	if (copy_in(fd, "/tmp/dim.exports") < 0)
		return -1;
	return mount("/tmp/dim.exports", EXPORTS_FILE, NULL, MS_BIND, NULL);
}

/* "...dim.exports:12: ..." or "...dim.exports [12]: ...": the line, else 0. */
static unsigned message_line(const char *msg, const char *file)
{
	const char *p = strstr(msg, file);
	unsigned long line;

	if (!p)
		return 0;
	p += strlen(file);
	while (*p == ' ' || *p == ':' || *p == '[' || *p == '(')
		p++;
	if (!isdigit((unsigned char)*p))
		return 0;
	line = strtoul(p, NULL, 10);
	return line > 1000000 ? 0 : (unsigned)line;
}

/* Name the export a checker's message is about: by line, else by its path. */
static void blame(const struct nfs_plan *p, const char *msg, const char *file, char *buf,
		  size_t size)
{
	const struct nfs_export *e = NULL;
	unsigned i, line;

	buf[0] = '\0';
	if (!p)
		return;
	line = file ? message_line(msg, file) : 0;
	if (line)
		e = nfs_plan_at_line(p, line);
	for (i = 0; !e && i < p->n; i++) {
		const char *hit = strstr(msg, p->ex[i].path);

		/* The whole path, not a prefix of a longer one. */
		if (hit && !isalnum((unsigned char)hit[strlen(p->ex[i].path)]) &&
		    hit[strlen(p->ex[i].path)] != '/')
			e = &p->ex[i];
	}
	if (e) {
		char what[160];

		nfs_export_describe(e, what, sizeof(what));
		snprintf(buf, size, "%s: ", what);
	}
}

/* The first line of text that is not blank, trimmed, in buf. */
static void first_line(const char *text, char *buf, size_t size)
{
	const char *end;
	size_t len;

	while (*text == '\n' || *text == ' ')
		text++;
	end = strchrnul(text, '\n');
	len = (size_t)(end - text);
	if (len >= size)
		len = size - 1;
	memcpy(buf, text, len);
	buf[len] = '\0';
}

static int check_kernel(const char *file, const struct nfs_plan *p, unsigned timeout_ms,
			struct dim_err *err)
{
	static const char *const argv[] = { "exportfs", "-ra", NULL };
	struct spawn_fail fail;
	char *out = NULL, how[96], line[400], who[200];
	int fd, rc, status = 0;
	pid_t pid;

	fd = output_file();
	if (fd < 0)
		return dim_err_set(err, fd, "exportfs check: temporary file: %s", strerror(-fd));
	rc = spawn(argv, kernel_setup, file, fd, &pid, &fail);
	if (rc < 0) {
		if (fail.step >= 0 && (size_t)fail.step < sizeof(kernel_steps) / sizeof(*kernel_steps))
			dim_err_set(err, rc, "exportfs check: cannot %s: %s%s", kernel_steps[fail.step],
				    strerror(-rc), rc == -EPERM ? " (the check needs root; "
				    "--no-check skips it)" : "");
		else
			dim_err_set(err, rc, "cannot run exportfs: %s (is nfs-kernel-server "
				    "installed?)", strerror(-rc));
		goto out;
	}
	rc = wait_until(pid, now_ms() + timeout_ms, &status);
	if (rc < 0) {
		stop_child(pid, 1000);
		dim_err_set(err, rc, "exportfs -ra did not finish in %u s", timeout_ms / 1000);
		goto out;
	}
	out = read_fd(fd);
	/*
	 * Anything exportfs says is a problem: on what dim writes it is silent
	 * (every export names its options, no_subtree_check among them).
	 */
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || (out && out[strspn(out, " \n")])) {
		describe_status(status, how, sizeof(how));
		first_line(out ? out : "", line, sizeof(line));
		blame(p, line, "dim.exports", who, sizeof(who));
		rc = dim_err_set(err, -EINVAL, "exportfs -ra refuses it: %s%s (exportfs %s)", who,
				 line[0] ? line : "no message", how);
	}
out:
	free(out);
	close(fd);
	return rc;
}

/* ---------------------------------------------------------------- ganesha check */

struct ganesha_check {
	char dir[256];		/* the throwaway server's directory */
	char conf[300], log[300];
};

static const char *const ganesha_steps[] = {
	"unshare the mount and network namespaces",
	"mount a tmpfs on /run",
	"bring up lo",
};

static int ganesha_setup(const void *arg, int *step)
{
	(void)arg;
	*step = 0;
	if (private_namespaces() < 0)
		return -1;
	*step = 1;
	if (mount("dim-check", "/run", "tmpfs", 0, "mode=0755,size=16m") < 0)
		return -1;
	*step = 2;
	return lo_up();
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

static void rm_tree(const char *dir)
{
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Lines of ganesha's log that say the configuration is wrong. */
static bool ganesha_bad_line(const char *line, size_t len)
{
	static const char *const bad[] = {
		"config_errs_to_log", ":CONFIG :CRIT", ":CONFIG :MAJ", ":CONFIG :FATAL",
		"ganesha_yyerror",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		const char *hit = memmem(line, len, bad[i], strlen(bad[i]));

		if (hit)
			return true;
	}
	return false;
}

/* The message part of a ganesha log line: after " :COMPONENT :LEVEL :". */
static void ganesha_message(const char *line, size_t len, char *buf, size_t size)
{
	const char *p = memmem(line, len, ":CONFIG :", 9), *end = line + len;

	if (p) {
		p = memchr(p + 9, ':', (size_t)(end - p - 9));
		p = p ? p + 1 : line;
	} else {
		p = line;
	}
	len = (size_t)(end - p);
	if (len >= size)
		len = size - 1;
	memcpy(buf, p, len);
	buf[len] = '\0';
}

static int check_ganesha(const char *file, const struct nfs_plan *p, unsigned timeout_ms,
			 struct dim_err *err)
{
	struct ganesha_check g;
	struct spawn_fail fail;
	const char *tmp = getenv("TMPDIR"), *argv[12];
	char *log = NULL, msg[400], who[200], how[96];
	bool ready = false, exited = false;
	long long deadline;
	int rc, status = 0, fd = -1;
	pid_t pid = -1;
	FILE *f;

	/* Paths go into ganesha's configuration between quotes. */
	if (!tmp || !*tmp || strpbrk(tmp, "\"\\\n ;{}#") || strlen(tmp) > 200)
		tmp = "/tmp";
	snprintf(g.dir, sizeof(g.dir), "%s/dim-nfs-check.XXXXXX", tmp);
	if (!mkdtemp(g.dir))
		return dim_err_set(err, -errno, "ganesha check: %s: %s", g.dir, strerror(errno));
	snprintf(g.conf, sizeof(g.conf), "%s/ganesha.conf", g.dir);
	snprintf(g.log, sizeof(g.log), "%s/ganesha.log", g.dir);

	f = fopen(g.conf, "we");
	if (!f) {
		rc = dim_err_set(err, -errno, "ganesha check: %s: %s", g.conf, strerror(errno));
		goto out;
	}
	/*
	 * NFSv4 only: v3 would need an rpcbind in the namespace.  The exports
	 * ask for 3 and 4; ganesha notes that it "fixes up" the protocol list,
	 * a warning, not an error.
	 */
	fprintf(f,
		"NFS_CORE_PARAM { Protocols = 4; NFS_Port = 2049; Enable_NLM = false; "
		"Enable_RQUOTA = false; }\n"
		"NFSV4 { Graceless = true; RecoveryRoot = \"%s/recovery\"; "
		"Allow_Numeric_Owners = true; Only_Numeric_Owners = true; }\n"
		"NFS_KRB5 { Active_krb5 = false; }\n"
		"LOG { Default_Log_Level = EVENT; Components { DBUS = FATAL; } }\n"
		"%%include \"%s\"\n",
		g.dir, file);
	if (fclose(f) != 0) {
		rc = dim_err_set(err, -errno, "ganesha check: %s: %s", g.conf, strerror(errno));
		goto out;
	}
	fd = output_file();
	if (fd < 0) {
		rc = dim_err_set(err, fd, "ganesha check: temporary file: %s", strerror(-fd));
		goto out;
	}
	argv[0] = "ganesha.nfsd";
	argv[1] = "-F";
	argv[2] = "-L";
	argv[3] = g.log;
	argv[4] = "-f";
	argv[5] = g.conf;
	argv[6] = "-p";
	argv[7] = "/run/ganesha-check.pid";
	argv[8] = "-N";
	argv[9] = "NIV_EVENT";
	argv[10] = NULL;
	rc = spawn(argv, ganesha_setup, NULL, fd, &pid, &fail);
	if (rc < 0) {
		if (fail.step >= 0 && (size_t)fail.step < sizeof(ganesha_steps) / sizeof(*ganesha_steps))
			dim_err_set(err, rc, "ganesha check: cannot %s: %s%s", ganesha_steps[fail.step],
				    strerror(-rc), rc == -EPERM ? " (the check needs root; "
				    "--no-check skips it)" : "");
		else
			dim_err_set(err, rc, "cannot run ganesha.nfsd: %s (is nfs-ganesha installed?)",
				    strerror(-rc));
		goto out;
	}
	deadline = now_ms() + timeout_ms;
	while (!ready && !exited && now_ms() < deadline) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid) {
			exited = true;
			pid = -1;
		}
		free(log);
		log = NULL;
		if (read_file(g.log, &log, NULL) == 0 && strstr(log, "NFS SERVER INITIALIZED"))
			ready = true;
		if (!ready && !exited)
			usleep(20000);
	}
	stop_child(pid, 5000);
	free(log);
	log = NULL;
	read_file(g.log, &log, NULL);

	rc = 0;
	msg[0] = '\0';
	if (log) {
		const char *line = log;

		while (*line) {
			const char *end = strchrnul(line, '\n');

			if (ganesha_bad_line(line, (size_t)(end - line))) {
				ganesha_message(line, (size_t)(end - line), msg, sizeof(msg));
				break;
			}
			line = *end ? end + 1 : end;
		}
	}
	if (msg[0]) {
		blame(p, msg, file, who, sizeof(who));
		rc = dim_err_set(err, -EINVAL, "ganesha.nfsd refuses it: %s%s", who, msg);
	} else if (!ready) {
		if (exited)
			describe_status(status, how, sizeof(how));
		else
			snprintf(how, sizeof(how), "was not serving after %u s", timeout_ms / 1000);
		rc = dim_err_set(err, -EINVAL, "ganesha.nfsd %s while loading it (its log: %s)", how,
				 g.log);
		/* Keep the log the message points to. */
		g.dir[0] = '\0';
	}
out:
	if (fd >= 0)
		close(fd);
	free(log);
	if (g.dir[0])
		rm_tree(g.dir);
	return rc;
}

int nfs_check_file(enum nfs_backend b, const char *file, const struct nfs_plan *p,
		   unsigned timeout_ms, struct dim_err *err)
{
	if (!timeout_ms)
		timeout_ms = DEFAULT_TIMEOUT_MS;
	switch (b) {
	case NFS_BACKEND_KERNEL:
		return check_kernel(file, p, timeout_ms, err);
	case NFS_BACKEND_GANESHA:
		return check_ganesha(file, p, timeout_ms, err);
	}
	return dim_err_set(err, -EINVAL, "unknown NFS backend %d", (int)b);
}

/* ---------------------------------------------------------------- reload */

static int reload_kernel(char *what, size_t size, struct dim_err *err)
{
	static const char *const argv[] = { "exportfs", "-ra", NULL };
	struct runner_opts ro = { .out_fd = -1, .null_stdin = 1, .timeout_ms = 60000 };
	char *out = NULL, line[400];
	int rc;

	ro.out_fd = output_file();
	if (ro.out_fd < 0)
		return dim_err_set(err, ro.out_fd, "exportfs: temporary file: %s",
				   strerror(-ro.out_fd));
	rc = runner_run(argv, &ro, NULL, err);
	if (rc == -ECHILD || rc == -EINTR) {
		/* It ran and failed: what it said is the message. */
		out = read_fd(ro.out_fd);
		first_line(out ? out : "", line, sizeof(line));
		if (line[0])
			dim_err_prefix(err, "%s", line);
	} else if (rc == 0) {
		snprintf(what, size, "exportfs -ra");
	}
	free(out);
	close(ro.out_fd);
	return rc;
}

static int reload_ganesha(const char *pid_file, char *what, size_t size, struct dim_err *err)
{
	char *text = NULL, path[64], comm[64];
	long pid;
	int rc, fd;
	ssize_t n;

	rc = read_file(pid_file, &text, NULL);
	if (rc < 0)
		return dim_err_set(err, rc, "ganesha pid file %s: %s (is ganesha.nfsd running? "
				   "--pid-file names another)", pid_file, strerror(-rc));
	pid = strtol(text, NULL, 10);
	free(text);
	if (pid <= 1)
		return dim_err_set(err, -EINVAL, "ganesha pid file %s holds no PID", pid_file);
	/* A stale pid file may name another program by now: look first. */
	snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	n = fd >= 0 ? read(fd, comm, sizeof(comm) - 1) : -1;
	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return dim_err_set(err, -ESRCH, "ganesha pid file %s: PID %ld is not running",
				   pid_file, pid);
	comm[n] = '\0';
	comm[strcspn(comm, "\n")] = '\0';
	if (strcmp(comm, "ganesha.nfsd"))
		return dim_err_set(err, -ESRCH, "ganesha pid file %s: PID %ld is %s, not "
				   "ganesha.nfsd", pid_file, pid, comm);
	if (kill((pid_t)pid, SIGHUP) < 0)
		return dim_err_set(err, -errno, "SIGHUP to ganesha.nfsd (PID %ld): %s", pid,
				   strerror(errno));
	snprintf(what, size, "SIGHUP to ganesha.nfsd (PID %ld)", pid);
	return 0;
}

/* ---------------------------------------------------------------- batches of files */

int nfs_batch_add(struct nfs_batch *b, const char *path, const void *data, size_t len,
		  struct dim_err *err)
{
	struct nfs_batch_file *f;
	int fd, rc;

	if (b->n == b->cap) {
		unsigned cap = b->cap ? b->cap * 2 : 16;
		struct nfs_batch_file *nf = realloc(b->f, cap * sizeof(*nf));

		if (!nf)
			return dim_err_set(err, -ENOMEM, "%s: out of memory", path);
		b->f = nf;
		b->cap = cap;
	}
	f = &b->f[b->n];
	f->path = strdup(path);
	if (!f->path || asprintf(&f->tmp, "%s.tmp-XXXXXX", path) < 0) {
		free(f->path);
		return dim_err_set(err, -ENOMEM, "%s: out of memory", path);
	}
	fd = mkostemp(f->tmp, O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		goto err_free;
	}
	rc = fchmod(fd, 0644) < 0 ? -errno : write_full(fd, data, len);
	if (close(fd) < 0 && !rc)
		rc = -errno;
	if (rc < 0) {
		unlink(f->tmp);
		goto err_free;
	}
	b->n++;
	return 0;

err_free:
	dim_err_set(err, rc, "%s: %s", f->tmp, strerror(-rc));
	free(f->path);
	free(f->tmp);
	return rc;
}

/* syncfs() each file system the batch writes to, once. */
static int sync_batch(const struct nfs_batch *b)
{
	dev_t done[8];
	unsigned i, k, n_done = 0;
	int fd, rc = 0;

	for (i = 0; i < b->n; i++) {
		char *dir = strdup(b->f[i].path), *slash;
		struct stat st;

		if (!dir)
			return -ENOMEM;
		slash = strrchr(dir, '/');
		if (slash)
			slash[slash == dir] = '\0';
		else
			strcpy(dir, ".");
		fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		free(dir);
		if (fd < 0)
			return -errno;
		if (fstat(fd, &st) < 0) {
			rc = -errno;
			close(fd);
			return rc;
		}
		for (k = 0; k < n_done && done[k] != st.st_dev; k++)
			;
		if (k == n_done) {
			if (syncfs(fd) < 0)
				rc = -errno;
			else if (n_done < sizeof(done) / sizeof(*done))
				done[n_done++] = st.st_dev;
		}
		close(fd);
		if (rc)
			return rc;
	}
	return 0;
}

int nfs_batch_commit(struct nfs_batch *b, struct dim_err *err)
{
	unsigned i;
	int rc;

	rc = sync_batch(b);
	if (rc < 0) {
		dim_err_set(err, rc, "syncing %s: %s", b->n ? b->f[0].tmp : "", strerror(-rc));
		nfs_batch_abort(b);
		return rc;
	}
	for (i = 0; i < b->n; i++)
		if (rename(b->f[i].tmp, b->f[i].path) < 0) {
			rc = -errno;
			dim_err_set(err, rc, "%s: %s (the files before it are in place)", b->f[i].path,
				    strerror(errno));
			break;
		}
	if (!rc) {
		/* The renames themselves. */
		rc = sync_batch(b);
		if (rc < 0)
			dim_err_set(err, rc, "syncing %s: %s", b->f[0].path, strerror(-rc));
	}
	for (; i < b->n; i++)
		unlink(b->f[i].tmp);
	for (i = 0; i < b->n; i++) {
		free(b->f[i].path);
		free(b->f[i].tmp);
	}
	free(b->f);
	memset(b, 0, sizeof(*b));
	return rc;
}

void nfs_batch_abort(struct nfs_batch *b)
{
	unsigned i;

	for (i = 0; i < b->n; i++) {
		unlink(b->f[i].tmp);
		free(b->f[i].path);
		free(b->f[i].tmp);
	}
	free(b->f);
	memset(b, 0, sizeof(*b));
}

/* ---------------------------------------------------------------- install */

static void note(const struct nfs_install_opts *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void note(const struct nfs_install_opts *o, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (!o->note)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	o->note(o->note_arg, msg);
}

struct keep_arg {
	const struct nfs_install_opts *o;
	const struct cl_server *s;
	unsigned missing;
};

static bool keep_existing(const struct nfs_export *e, void *arg)
{
	struct keep_arg *k = arg;
	char what[160];

	if (is_dir(e->path))
		return true;
	k->missing++;
	nfs_export_describe(e, what, sizeof(what));
	note(k->o, "%s: %s: %s is not there (yet); not exported", k->s->name, what, e->path);
	return false;
}

/* Does a setting "key = true" (or yes) appear outside comments? */
static bool conf_has_true(const char *text, const char *key)
{
	size_t klen = strlen(key);
	const char *line = text;

	while (*line) {
		const char *end = strchrnul(line, '\n'), *p = line;

		while (p < end) {
			const char *hash = memchr(p, '#', (size_t)(end - p));
			const char *stop = hash ? hash : end;

			for (; p + klen <= stop; p++) {
				const char *v;

				if (strncasecmp(p, key, klen) || (p > line && (isalnum((unsigned char)p[-1]) ||
								       p[-1] == '_')))
					continue;
				v = p + klen;
				while (v < stop && (*v == ' ' || *v == '\t'))
					v++;
				if (v >= stop || *v != '=')
					continue;
				v++;
				while (v < stop && (*v == ' ' || *v == '\t'))
					v++;
				if (!strncasecmp(v, "true", 4) || !strncasecmp(v, "yes", 3))
					return true;
			}
			break;
		}
		line = *end ? end + 1 : end;
	}
	return false;
}

/* Tell the admin when ganesha.conf lacks what blades need (not an error: it is theirs). */
static void look_at_ganesha_main(const struct nfs_install_opts *o, const char *live)
{
	const char *main_conf = o->ganesha_main ? o->ganesha_main : GANESHA_MAIN;
	char *text = NULL;
	int rc = read_file(main_conf, &text, NULL);

	if (rc < 0) {
		if (o->ganesha_main || rc != -ENOENT)
			note(o, "warning: %s: %s; cannot see whether it includes %s", main_conf,
			     strerror(-rc), live);
		return;
	}
	if (!strstr(text, live))
		note(o, "warning: %s does not name %s: add %%include \"%s\" (see dim nfs write)",
		     main_conf, live, live);
	if (!conf_has_true(text, "Only_Numeric_Owners") || !conf_has_true(text, "Allow_Numeric_Owners"))
		note(o, "warning: %s does not set NFSV4 { Allow_Numeric_Owners = true; "
		     "Only_Numeric_Owners = true; }: blades see every NFSv4 owner as nobody",
		     main_conf);
	free(text);
}

int nfs_install(const struct cluster *c, const struct cl_server *s,
		const struct nfs_install_opts *o, struct nfs_install_result *r,
		struct dim_err *err)
{
	struct nfs_opts ro = { .backend = o->backend, .ro_squash = o->ro_squash };
	const char *live = o->file ? o->file : nfs_backend_default_file(o->backend);
	unsigned timeout_ms = o->timeout_ms ? o->timeout_ms : DEFAULT_TIMEOUT_MS;
	struct keep_arg keep = { o, s, 0 };
	struct nfs_text t = { 0 };
	struct atomic_file af;
	struct nfs_plan p;
	char *old = NULL;
	size_t old_len = 0;
	unsigned i;
	int rc;

	memset(r, 0, sizeof(*r));
	rc = nfs_plan(c, s, &p, err);
	if (rc < 0)
		return rc;
	if (!o->keep_missing)
		nfs_plan_filter(&p, keep_existing, &keep);
	r->n_missing = keep.missing;
	for (i = 0; i < p.n; i++) {
		if (p.ex[i].blade)
			r->n_rw++;
		else
			r->n_ro++;
	}
	rc = nfs_render(&p, &ro, &t, err);
	if (rc < 0)
		goto out_plan;

	if (read_file(live, &old, &old_len) == 0 && old_len == t.len && !memcmp(old, t.buf, t.len)) {
		r->unchanged = true;
		goto out_text;
	}
	rc = atomic_open(&af, live, 0644);
	if (rc < 0) {
		dim_err_set(err, rc, "%s: %s", live, strerror(-rc));
		goto out_text;
	}
	rc = write_full(af.fd, t.buf, t.len);
	if (rc < 0) {
		dim_err_set(err, rc, "%s: %s", af.tmp, strerror(-rc));
		goto err_abort;
	}
	if (!o->no_check) {
		rc = nfs_check_file(o->backend, af.tmp, &p, timeout_ms, err);
		if (rc < 0) {
			dim_err_prefix(err, "%s: not replaced", live);
			goto err_abort;
		}
		snprintf(r->check, sizeof(r->check), "%s",
			 o->backend == NFS_BACKEND_KERNEL ? "exportfs -ra in private namespaces"
							  : "a throwaway ganesha.nfsd");
	}
	rc = atomic_commit(&af);
	if (rc < 0) {
		dim_err_set(err, rc, "%s: %s", live, strerror(-rc));
		goto out_text;
	}
	if (o->backend == NFS_BACKEND_GANESHA)
		look_at_ganesha_main(o, live);
	if (!o->no_reload) {
		if (o->backend == NFS_BACKEND_KERNEL)
			rc = reload_kernel(r->reload, sizeof(r->reload), err);
		else
			rc = reload_ganesha(o->pid_file ? o->pid_file : GANESHA_PID_FILE, r->reload,
					    sizeof(r->reload), err);
		if (rc < 0)
			dim_err_prefix(err, "%s is in place, but the server was not told", live);
	}
	goto out_text;

err_abort:
	atomic_abort(&af);
out_text:
	free(old);
	nfs_text_free(&t);
out_plan:
	nfs_plan_free(&p);
	return rc;
}
