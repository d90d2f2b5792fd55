/* SPDX-License-Identifier: MIT */
/*
 * dim sync_master, dim sync_server, dim sync_image: the three steps of the
 * update hierarchy (sync.h).  The work is in sync.c, sync_tree.c and
 * sync_fanout.c; these parse, lock, run and print one line per server.
 * dim image is here too: from the management node it is a push (as
 * sync_server) and a remote build on each server (as sync_image --remote);
 * on a server (--server) it calls image_build() (image.c).
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "context.h"
#include "fsutil.h"
#include "image.h"
#include "sync.h"
#include "sync_lock.h"

#define COMMON_USAGE \
	"  -i, --image IMAGE      the image [the only one, or the only one with a master]\n" \
	"  -j, --jobs N           servers at once [8]\n" \
	"  -t, --timeout S        rsync --timeout: give up after S seconds without I/O [120]\n" \
	"  -n, --dry-run          say what would be transferred, change nothing\n" \
	"  -q, --quiet            failures and the summary only\n" \
	DIM_CTX_USAGE \
	"  -h, --help\n"

static const char usage_master[] =
	"usage: dim sync_master [PATH] [-i IMAGE] [-n] [--checksum]\n"
	"\n"
	"Pull the master blade's tree (the image's master=, rsync over ssh or an rsync\n"
	"daemon) into the management node's copy, MGMT/masters/IMAGE (MGMT: <management\n"
	"storage=...>, /var/lib/dim).  The image's keep-out list is never copied (and is\n"
	"deleted from the copy).  PATH (/etc/ssh) limits the pull to that subtree.\n"
	"\n"
	"      --checksum         compare file contents, not size and time\n"
	COMMON_USAGE
	"\n"
	"Environment: DIM_SSH, the ssh command for rsync [ssh].\n"
	"Exit status: 0 done, 1 failed, 2 usage error.\n";

static const char usage_server[] =
	"usage: dim sync_server [PATH] [-i IMAGE] [--servers RANGE] [-j N] [-n]\n"
	"\n"
	"Push the management node's copy of the image to the master copy of every image\n"
	"server with blades of the image (STORAGE/images/IMAGE/master), at most N at once.\n"
	"One line per server; the servers that fail are named, the others complete, and\n"
	"the exit status is 1 if any failed.  Blades see nothing of this yet: dim\n"
	"sync_image applies it on each server.\n"
	"\n"
	"      --servers RANGE    only the servers of these blades or servers (s01,s03)\n"
	COMMON_USAGE
	"\n"
	"Each server's sync= says how: ssh (rsync over ssh to ADDRESS:STORAGE) or rsyncd\n"
	"(its rsync daemon's module \"dim\", the storage root).\n"
	"Environment: DIM_SSH, the ssh command for rsync [ssh].\n"
	"Exit status: 0 done, 1 a server failed, 2 usage error.\n";

static const char usage_image[] =
	"usage: dim sync_image [PATH] [RANGE] [-i IMAGE] --server NAME\n"
	"       dim sync_image [PATH] [RANGE] [-i IMAGE] --remote [--servers RANGE] [-j N]\n"
	"\n"
	"On image server NAME: apply its master copy of the image to the RO tree the\n"
	"blades mount (each file replaced by a rename: running blades see the new file at\n"
	"once, never a half-written one), and stage the changes to the image's RW part\n"
	"for every blade (of RANGE) that has an RW image: a new pending/ next to its\n"
	"rw.img, which the blade installs at its next boot.  Keep-out paths, per-blade\n"
	"files, /etc/hostname and /etc/hosts are never staged.  Overlay images stage\n"
	"nothing: their RO tree is the whole root.\n"
	"With --remote, from the management node: the same on every image server of the\n"
	"image over ssh (DIM_SSH), one line per server.\n"
	"\n"
	"      --server NAME      this image server [the host name, if it is a server's]\n"
	"      --remote           run it on each image server through ssh\n"
	"      --servers RANGE    with --remote: only these servers\n"
	COMMON_USAGE
	"\n"
	"Environment: DIM_SSH [ssh], DIM_REMOTE_DIM, the dim on the servers [dim].\n"
	"Exit status: 0 done, 1 failed, 2 usage error.\n";

static const char usage_mkimage[] =
	"usage: dim image IMAGE [RANGE] [--recreate] [-j N] [--servers RANGE] [--no-push]\n"
	"       dim image IMAGE [RANGE] --server NAME [--recreate] [-j N]\n"
	"\n"
	"Create IMAGE on its image servers from the management node's copy of the master\n"
	"(MGMT/masters/IMAGE, see dim sync_master): push it to each server's master copy,\n"
	"then on each server, over ssh: the RO tree (bind: the shared directories;\n"
	"overlay: the whole tree) and for every blade of RANGE that boots IMAGE its RW\n"
	"image, STORAGE/images/IMAGE/blades/BLADE/rw.img: ext4, sparse, rw-size, made by\n"
	"mke2fs -d from the master's RW part (no root, no loop device) with the blade's\n"
	"own /etc/hostname and /etc/hosts.  Each image is built under a temporary name and\n"
	"renamed into place.  An existing rw.img holds a blade's data: it is kept unless\n"
	"--recreate, which must only be used while those blades are off (a running blade\n"
	"would go on writing to the old, deleted image and lose it at its next boot).\n"
	"With --server NAME, the second half only, on that server itself.\n"
	"\n"
	"      --recreate         replace existing RW images (blades off!)\n"
	"      --server NAME      build on this image server, from its master copy\n"
	"      --servers RANGE    from the management node: only these servers\n"
	"      --no-push          from the management node: do not push the master first\n"
	"  -j, --jobs N           mke2fs at once on a server [2]; servers at once [8]\n"
	"  -q, --quiet            failures and the summary only\n"
	DIM_CTX_USAGE
	"  -h, --help\n"
	"\n"
	"Environment: DIM_SSH [ssh], DIM_REMOTE_DIM, the dim on the servers [dim].\n"
	"Exit status: 0 done, 1 failed (a blade or a server), 2 usage error.\n";

static int master_run(int argc, char **argv);
static int mkimage_run(int argc, char **argv);
static int server_run(int argc, char **argv);
static int image_run(int argc, char **argv);

const struct dim_cmd cmd_image = {
	"image", "create an image on its image servers", usage_mkimage, mkimage_run,
};
const struct dim_cmd cmd_sync_master = {
	"sync_master", "pull changes from the master blade", usage_master, master_run,
};
const struct dim_cmd cmd_sync_server = {
	"sync_server", "push changes to the image servers", usage_server, server_run,
};
const struct dim_cmd cmd_sync_image = {
	"sync_image", "apply changes inside an image server", usage_image, image_run,
};

enum {
	OPT_SERVERS = 256,
	OPT_SERVER,
	OPT_REMOTE,
	OPT_CHECKSUM,
	OPT_RECREATE,
	OPT_NO_PUSH,
};

static const struct option options[] = {
	{ "image", required_argument, NULL, 'i' },
	{ "jobs", required_argument, NULL, 'j' },
	{ "timeout", required_argument, NULL, 't' },
	{ "dry-run", no_argument, NULL, 'n' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "servers", required_argument, NULL, OPT_SERVERS },
	{ "server", required_argument, NULL, OPT_SERVER },
	{ "remote", no_argument, NULL, OPT_REMOTE },
	{ "checksum", no_argument, NULL, OPT_CHECKSUM },
	{ "recreate", no_argument, NULL, OPT_RECREATE },
	{ "no-push", no_argument, NULL, OPT_NO_PUSH },
	{ "help", no_argument, NULL, 'h' },
	DIM_CTX_OPTIONS,
	{ NULL, 0, NULL, 0 },
};

struct args {
	const struct dim_cmd *cmd;
	struct dim_ctx ctx;
	const char *image;
	unsigned jobs, timeout_s;
	bool dry_run, quiet, remote, checksum, recreate, no_push, jobs_given;
	const char *servers;
	const char *server;
	char path[PATH_MAX];
	const char *range;
	const char *range2;	/* dim image IMAGE RANGE: the RANGE */
};

/* Options, then [PATH] [RANGE]: a PATH starts with '/', a RANGE never does. */
static int parse_args(int argc, char **argv, struct args *a, bool takes_range)
{
	struct dim_err err = { 0 };
	const char *path = NULL;
	int c, i;

	a->jobs = 8;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":i:j:t:nqhc:", options, NULL)) != -1) {
		if (ctx_option(&a->ctx, c, optarg))
			continue;
		switch (c) {
		case 'i':
			a->image = optarg;
			break;
		case 'j':
			if (!cmd_uint(optarg, 1, 1024, &a->jobs))
				return cmd_usage_error(a->cmd->name, "--jobs %s: 1 to 1024", optarg);
			a->jobs_given = true;
			break;
		case 't':
			if (!cmd_uint(optarg, 1, 86400, &a->timeout_s))
				return cmd_usage_error(a->cmd->name, "--timeout %s: seconds, 1 to 86400", optarg);
			break;
		case 'n':
			a->dry_run = true;
			break;
		case 'q':
			a->quiet = true;
			break;
		case OPT_SERVERS:
			a->servers = optarg;
			break;
		case OPT_SERVER:
			a->server = optarg;
			break;
		case OPT_REMOTE:
			a->remote = true;
			break;
		case OPT_CHECKSUM:
			a->checksum = true;
			break;
		case OPT_RECREATE:
			a->recreate = true;
			break;
		case OPT_NO_PUSH:
			a->no_push = true;
			break;
		case 'h':
			return cmd_usage(a->cmd, 0) - 1;	/* -1: done, exit 0 */
		case ':':
			return cmd_usage_error(a->cmd->name, "%s needs a value", argv[optind - 1]);
		default:
			return cmd_usage_error(a->cmd->name, "unknown option %s", argv[optind - 1]);
		}
	}
	for (i = optind; i < argc; i++) {
		if (argv[i][0] == '/' && !path)
			path = argv[i];
		else if (argv[i][0] != '/' && takes_range && !a->range)
			a->range = argv[i];
		else if (argv[i][0] != '/' && a->cmd == &cmd_image && !a->range2)
			a->range2 = argv[i];
		else
			return cmd_usage_error(a->cmd->name, "unexpected argument %s", argv[i]);
	}
	if (sync_path_norm(path ? path : "", a->path, sizeof(a->path), &err) < 0)
		return cmd_usage_error(a->cmd->name, "%s", err.msg);
	return 0;
}

/* ---------------------------------------------------------------- progress and results */

struct progress {
	const char *name;
	bool tty, quiet;
	const char *what;	/* "servers", "blades" */
};

static void progress_line(const struct fan_counts *c, const struct fan_job *job, void *arg)
{
	struct progress *p = arg;

	(void)job;
	if (!p->tty)
		return;
	fprintf(stderr, "\r\033[Kdim %s: %zu/%zu %s done, %zu running, %zu failed", p->name, c->done,
		c->total, p->what, c->running, c->failed);
	fflush(stderr);
}

static void progress_end(struct progress *p)
{
	if (p->tty) {
		fprintf(stderr, "\r\033[K");
		fflush(stderr);
	}
}

static void human(long long bytes, char *buf, size_t size)
{
	static const char *const unit[] = { "B", "kB", "MB", "GB", "TB" };
	double v = (double)bytes;
	unsigned u = 0;

	while (v >= 1000 && u < 4) {
		v /= 1000;
		u++;
	}
	snprintf(buf, size, u ? "%.1f %s" : "%.0f %s", v, unit[u]);
}

/* One line for an rsync run: "ok  12 files, 3.4 MB, 1.2 s" or "FAILED  why". */
static void rsync_result(const char *label, const struct fan_job *j, bool quiet)
{
	long long files, bytes;
	char why[512], b[32];

	if (j->status != 0) {
		fanout_reason(j, why, sizeof(why));
		printf("%-10s FAILED  %s (rsync exit %d)\n", label, why[0] ? why : "no message",
		       j->status);
		return;
	}
	if (quiet)
		return;
	sync_rsync_stats(j->out, &files, &bytes);
	human(bytes < 0 ? 0 : bytes, b, sizeof(b));
	printf("%-10s ok      %lld file%s, %s, %.1f s\n", label, files < 0 ? 0 : files,
	       files == 1 ? "" : "s", b, j->seconds);
}

static int open_ctx(struct args *a, unsigned *img, bool need_master)
{
	struct dim_err err = { 0 };

	if (ctx_open(&a->ctx, false, &err) < 0)
		return cmd_error(a->cmd->name, "%s", err.msg);
	if (sync_pick_image(a->ctx.cluster, a->image, need_master, img, &err) < 0) {
		ctx_close(&a->ctx);
		return cmd_error(a->cmd->name, "%s", err.msg);
	}
	return 0;
}

static const char *rsh(void)
{
	const char *s = getenv("DIM_SSH");

	return s && s[0] ? s : NULL;
}

static int mgmt_lock(struct args *a, const struct cl_image *img, struct sync_lock *l)
{
	char dir[PATH_MAX], path[PATH_MAX + 80];
	struct dim_err err = { 0 };
	char what[64];
	int rc;

	snprintf(dir, sizeof(dir), "%s/masters",
		 a->ctx.cluster->mgmt_storage[0] ? a->ctx.cluster->mgmt_storage : "/var/lib/dim");
	rc = mkdir_p(dir, 0755);
	if (rc)
		return cmd_error(a->cmd->name, "mkdir %s: %s", dir, strerror(-rc));
	snprintf(path, sizeof(path), "%s/.%s.lock", dir, img->name);
	snprintf(what, sizeof(what), "dim %s", a->cmd->name);
	if (sync_lock_take(l, path, what, &err) < 0)
		return cmd_error(a->cmd->name, "image %s: %s", img->name, err.msg);
	return 0;
}

/* ---------------------------------------------------------------- sync_master */

static int master_run(int argc, char **argv)
{
	struct args a = { .cmd = &cmd_sync_master };
	struct sync_opts o = { 0 };
	struct sync_argv av = { 0 };
	struct dim_err err = { 0 };
	struct sync_lock lock = { -1 };
	struct fan_job job = { 0 };
	const struct cl_image *img;
	unsigned ii;
	int rc;

	rc = parse_args(argc, argv, &a, false);
	if (rc)
		return rc < 0 ? 0 : rc;
	if (a.servers || a.server || a.remote)
		return cmd_usage_error(a.cmd->name, "--servers, --server and --remote are not for sync_master");
	if (open_ctx(&a, &ii, true))
		return 1;
	img = &a.ctx.cluster->images[ii];
	rc = mgmt_lock(&a, img, &lock);
	if (rc)
		goto out;
	o.path = a.path;
	o.rsh = rsh();
	o.timeout_s = a.timeout_s;
	o.dry_run = a.dry_run;
	o.checksum = a.checksum;
	if (sync_master_argv(a.ctx.cluster, img, &o, &av, &err) < 0) {
		rc = cmd_error(a.cmd->name, "%s", err.msg);
		goto out;
	}
	job.label = img->master;
	job.argv = (const char *const *)av.v;
	if (fanout_run(&job, 1, 1, 0, NULL, NULL, &err) < 0) {
		rc = cmd_error(a.cmd->name, "%s", err.msg);
		goto out;
	}
	if (job.status != 0) {
		char why[512];

		fanout_reason(&job, why, sizeof(why));
		rc = cmd_error(a.cmd->name, "image %s: pull from %s failed: %s (rsync exit %d)",
			       img->name, img->master, why[0] ? why : "no message", job.status);
		goto out;
	}
	rsync_result(img->name, &job, a.quiet);
	rc = 0;
out:
	sync_argv_free(&av);
	sync_lock_release(&lock);
	ctx_close(&a.ctx);
	return rc;
}

/* ---------------------------------------------------------------- sync_server */

/*
 * What sync_server and image (from the management node) do first: lock the
 * image, find its master copy, pick the image servers with its blades in
 * RANGE (all without one).  0, or the exit status after the message.
 */
static int push_prepare(struct args *a, unsigned ii, const char *range, struct sync_lock *lock,
			char *src, size_t srclen, bool **want, struct sync_server_job **jobs)
{
	const struct cluster *c = a->ctx.cluster;
	const struct cl_image *img = &c->images[ii];
	struct dim_err err = { 0 };
	int rc;

	rc = mgmt_lock(a, img, lock);
	if (rc)
		return rc;
	if (sync_mgmt_master(c, img, src, srclen) < 0 || access(src, F_OK) < 0)
		return cmd_error(a->cmd->name, "%s: no master copy of image %s (dim sync_master makes it)",
				 src, img->name);
	*want = calloc(c->n_servers, sizeof(**want));
	*jobs = calloc(c->n_servers, sizeof(**jobs));
	if (!*want || !*jobs)
		return cmd_error(a->cmd->name, "out of memory");
	rc = sync_pick_servers(c, ii, range, *want, &err);
	if (rc < 0)
		return cmd_error(a->cmd->name, "%s: %s", range, err.msg);
	if (rc == 0)
		return cmd_error(a->cmd->name, "no image server has blades of image %s%s%s", img->name,
				 range ? " in " : "", range ? range : "");
	return 0;
}

/* Push the image to every wanted server, in parallel; *n jobs made.  0, or the exit status. */
static int push_run(struct args *a, const struct cl_image *img, const struct sync_opts *o,
		    const bool *want, struct sync_server_job *jobs, size_t *n, struct progress *pr)
{
	const struct cluster *c = a->ctx.cluster;
	struct dim_err err = { 0 };
	unsigned i;
	int rc;

	for (i = 0; i < c->n_servers; i++) {
		if (!want[i])
			continue;
		jobs[*n].s = &c->servers[i];
		if (sync_server_argv(c, &c->servers[i], img, o, &jobs[*n].argv, &err) < 0)
			return cmd_error(a->cmd->name, "%s: %s", c->servers[i].name, err.msg);
		(*n)++;
	}
	pr->tty = isatty(STDERR_FILENO);
	rc = sync_fan_servers(jobs, *n, a->jobs, 0, progress_line, pr, &err);
	progress_end(pr);
	if (rc < 0)
		return cmd_error(a->cmd->name, "%s", err.msg);
	return 0;
}

static int server_run(int argc, char **argv)
{
	struct args a = { .cmd = &cmd_sync_server };
	struct progress pr = { .name = "sync_server", .what = "servers" };
	struct sync_server_job *jobs = NULL;
	struct sync_opts o = { 0 };
	struct sync_lock lock = { -1 };
	const struct cl_image *img;
	const struct cluster *c;
	char src[PATH_MAX];
	bool *want = NULL;
	unsigned ii, i, failed = 0;
	size_t n = 0;
	int rc;

	rc = parse_args(argc, argv, &a, false);
	if (rc)
		return rc < 0 ? 0 : rc;
	if (a.server || a.remote)
		return cmd_usage_error(a.cmd->name, "--server and --remote are not for sync_server");
	if (open_ctx(&a, &ii, false))
		return 1;
	c = a.ctx.cluster;
	img = &c->images[ii];
	rc = push_prepare(&a, ii, a.servers, &lock, src, sizeof(src), &want, &jobs);
	if (rc)
		goto out;
	o.path = a.path;
	o.rsh = rsh();
	o.timeout_s = a.timeout_s;
	o.dry_run = a.dry_run;
	o.checksum = a.checksum;
	pr.quiet = a.quiet;
	rc = push_run(&a, img, &o, want, jobs, &n, &pr);
	if (rc)
		goto out;
	for (i = 0; i < n; i++) {
		rsync_result(jobs[i].s->name, &jobs[i].job, a.quiet);
		if (jobs[i].job.status != 0)
			failed++;
	}
	fflush(stdout);
	if (failed) {
		char names[1024] = "";
		size_t len = 0;

		for (i = 0; i < n && len < sizeof(names) - 80; i++)
			if (jobs[i].job.status != 0)
				len += (size_t)snprintf(names + len, sizeof(names) - len, "%s%s",
							len ? ", " : "", jobs[i].s->name);
		rc = cmd_error(a.cmd->name, "image %s: %u of %zu servers failed: %s", img->name, failed,
			       n, names);
	} else {
		rc = 0;
		if (!a.quiet)
			printf("image %s: %zu server%s up to date%s\n", img->name, n, n == 1 ? "" : "s",
			       a.dry_run ? " (dry run)" : "");
	}
out:
	sync_server_jobs_free(jobs, jobs ? n : 0);
	free(want);
	sync_lock_release(&lock);
	ctx_close(&a.ctx);
	return rc;
}

/* ---------------------------------------------------------------- sync_image */

/* Run "dim ARGS --server S" on each wanted server over ssh; one line each. */
static int remote_each(struct args *a, unsigned ii, const char *const *args, size_t nargs,
		       const char *range)
{
	const struct cluster *c = a->ctx.cluster;
	const struct cl_image *img = &c->images[ii];
	struct progress pr = { .name = a->cmd->name, .what = "servers" };
	struct sync_server_job *jobs = NULL;
	struct dim_err err = { 0 };
	const char **full = NULL;
	bool *want = NULL;
	unsigned i, failed = 0;
	size_t n = 0, k;
	int rc;

	want = calloc(c->n_servers, sizeof(*want));
	jobs = calloc(c->n_servers, sizeof(*jobs));
	full = calloc(nargs + 12, sizeof(*full));
	if (!want || !jobs || !full) {
		rc = cmd_error(a->cmd->name, "out of memory");
		goto out;
	}
	rc = sync_pick_servers(c, ii, range, want, &err);
	if (rc <= 0) {
		rc = cmd_error(a->cmd->name, "%s", rc < 0 ? err.msg : "no image server has blades of the image");
		goto out;
	}
	for (i = 0; i < c->n_servers; i++) {
		if (!want[i])
			continue;
		k = 0;
		for (size_t m = 0; m < nargs; m++)
			full[k++] = args[m];
		full[k++] = "--server";
		full[k++] = c->servers[i].name;
		full[k++] = "-i";
		full[k++] = img->name;
		if (a->ctx.cluster_path) {
			full[k++] = "-c";
			full[k++] = a->ctx.cluster_path;
		}
		if (a->ctx.state_path) {
			full[k++] = "--state";
			full[k++] = a->ctx.state_path;
		}
		full[k] = NULL;
		jobs[n].s = &c->servers[i];
		if (sync_remote_argv(&c->servers[i], rsh(), getenv("DIM_REMOTE_DIM"), full, &jobs[n].argv,
				     &err) < 0) {
			rc = cmd_error(a->cmd->name, "%s: %s", c->servers[i].name, err.msg);
			goto out;
		}
		n++;
	}
	pr.tty = isatty(STDERR_FILENO);
	rc = sync_fan_servers(jobs, n, a->jobs, 0, progress_line, &pr, &err);
	progress_end(&pr);
	if (rc < 0) {
		rc = cmd_error(a->cmd->name, "%s", err.msg);
		goto out;
	}
	for (i = 0; i < n; i++) {
		char why[512];

		fanout_reason(&jobs[i].job, why, sizeof(why));
		if (jobs[i].job.status != 0) {
			failed++;
			printf("%-10s FAILED  %s (exit %d)\n", jobs[i].s->name, why[0] ? why : "no message",
			       jobs[i].job.status);
		} else if (!a->quiet) {
			printf("%-10s ok      %s\n", jobs[i].s->name, why);
		}
	}
	fflush(stdout);
	rc = failed ? cmd_error(a->cmd->name, "image %s: %u of %zu servers failed", img->name, failed, n)
		    : 0;
out:
	sync_server_jobs_free(jobs, jobs ? n : 0);
	free(want);
	free(full);
	return rc;
}

/* The server this runs on: --server, else the host name if it is a server's. */
static const struct cl_server *this_server(struct args *a)
{
	char host[256];

	if (a->server)
		return cluster_find_server(a->ctx.cluster, a->server);
	if (gethostname(host, sizeof(host)) < 0)
		return NULL;
	host[strcspn(host, ".")] = '\0';
	return cluster_find_server(a->ctx.cluster, host);
}

static int image_run(int argc, char **argv)
{
	struct args a = { .cmd = &cmd_sync_image };
	struct cl_selection sel = { 0 };
	struct sync_image_result r;
	struct dim_err err = { 0 };
	const struct cl_server *s;
	const struct cl_image *img;
	unsigned ii;
	int rc;

	rc = parse_args(argc, argv, &a, true);
	if (rc)
		return rc < 0 ? 0 : rc;
	if (a.remote && a.server)
		return cmd_usage_error(a.cmd->name, "--remote or --server, not both");
	if (a.servers && !a.remote)
		return cmd_usage_error(a.cmd->name, "--servers is for --remote");
	if (a.dry_run)
		return cmd_usage_error(a.cmd->name, "--dry-run is for sync_master and sync_server");
	if (open_ctx(&a, &ii, false))
		return 1;
	img = &a.ctx.cluster->images[ii];
	if (a.remote) {
		const char *args[4];
		char pbuf[PATH_MAX + 1];
		size_t n = 0;

		args[n++] = "sync_image";
		snprintf(pbuf, sizeof(pbuf), "/%.*s", PATH_MAX - 1, a.path);
		if (a.path[0])
			args[n++] = pbuf;
		if (a.range)
			args[n++] = a.range;
		rc = remote_each(&a, ii, args, n, a.servers ? a.servers : a.range);
		ctx_close(&a.ctx);
		return rc;
	}
	s = this_server(&a);
	if (!s) {
		rc = a.server ? cmd_error(a.cmd->name, "%s: no image server %s", a.ctx.cluster->file, a.server)
			      : cmd_usage_error(a.cmd->name, "which image server is this? --server NAME (or --remote)");
		ctx_close(&a.ctx);
		return rc;
	}
	if (a.range && cluster_select_blades(a.ctx.cluster, a.range, &sel, &err) < 0) {
		rc = cmd_error(a.cmd->name, "%s", err.msg);
		ctx_close(&a.ctx);
		return rc;
	}
	rc = sync_image_apply(a.ctx.cluster, s, img, a.range ? &sel : NULL, a.path, &r, &err);
	cl_selection_free(&sel);
	if (rc < 0) {
		rc = cmd_error(a.cmd->name, "%s: image %s: %s", s->name, img->name, err.msg);
	} else {
		printf("%s: image %s: RO tree %lu updated, %lu removed", s->name, img->name,
		       r.ro.files + r.ro.dirs, r.ro.removed);
		if (r.overlay)
			printf("; overlay: nothing to stage\n");
		else
			printf("; RW %zu changed, %zu removed, staged for %u blade%s%s\n", r.changed,
			       r.removed, r.staged, r.staged == 1 ? "" : "s",
			       r.skipped ? " (some without rw.img: dim image makes them)" : "");
		rc = 0;
	}
	ctx_close(&a.ctx);
	return rc;
}

/* ---------------------------------------------------------------- image */

static void blade_progress(const struct fan_counts *c, const struct fan_job *job, void *arg)
{
	struct progress *p = arg;

	if (job && job->status != 0 && !p->tty) {
		/* the line for it comes with the results */
	}
	progress_line(c, job, arg);
}

static int mkimage_local(struct args *a, unsigned ii, const struct cl_server *s)
{
	const struct cluster *c = a->ctx.cluster;
	const struct cl_image *img = &c->images[ii];
	struct progress pr = { .name = "image", .what = "blades" };
	struct image_opts o = { .recreate = a->recreate };
	struct cl_selection sel = { 0 };
	struct image_result r;
	struct dim_err err = { 0 };
	unsigned i;
	int rc;

	if (a->range && cluster_select_blades(c, a->range, &sel, &err) < 0)
		return cmd_error(a->cmd->name, "%s", err.msg);
	pr.tty = isatty(STDERR_FILENO);
	o.jobs = a->jobs_given ? a->jobs : 2;
	o.progress = blade_progress;
	o.arg = &pr;
	rc = image_build(c, s, img, a->range ? &sel : NULL, &o, &r, &err);
	progress_end(&pr);
	cl_selection_free(&sel);
	if (rc < 0) {
		free(r.blades);
		return cmd_error(a->cmd->name, "%s: image %s: %s", s->name, img->name, err.msg);
	}
	for (i = 0; i < r.n_blades; i++) {
		const struct image_blade *b = &r.blades[i];

		if (b->state == IMG_FAILED)
			printf("%-10s FAILED  %s\n", c->blades[b->blade].name, b->why);
		else if (!a->quiet && b->state == IMG_KEPT)
			printf("%-10s kept    rw.img exists (--recreate replaces it)\n",
			       c->blades[b->blade].name);
		else if (!a->quiet && b->state == IMG_CREATED)
			printf("%-10s created rw.img\n", c->blades[b->blade].name);
	}
	printf("%s: image %s: RO tree %lu updated, %lu removed; RW images %u created, %u kept, %u failed\n",
	       s->name, img->name, r.ro.files + r.ro.dirs, r.ro.removed, r.created, r.kept, r.failed);
	free(r.blades);
	if (r.n_blades == 0)
		fprintf(stderr, "dim image: %s: no blade %sboots image %s\n", s->name,
			a->range ? "of the range " : "", img->name);
	return r.failed ? cmd_error(a->cmd->name, "%s: %u RW image%s failed", s->name, r.failed,
				    r.failed == 1 ? "" : "s")
			: 0;
}

static int mkimage_run(int argc, char **argv)
{
	struct args a = { .cmd = &cmd_image };
	struct sync_server_job *jobs = NULL;
	struct progress pr = { .name = "image", .what = "servers" };
	struct sync_opts o = { 0 };
	struct sync_lock lock = { -1 };
	const struct cluster *c;
	const struct cl_image *img;
	const struct cl_server *s;
	char src[PATH_MAX], failed_names[1024] = "";
	const char *args[4];
	bool *want = NULL;
	unsigned ii, i, failed = 0;
	size_t n = 0, nargs = 0, len = 0;
	int rc;

	rc = parse_args(argc, argv, &a, true);
	if (rc)
		return rc < 0 ? 0 : rc;
	if (!a.range)
		return cmd_usage_error(a.cmd->name, "which image? dim image IMAGE [RANGE]");
	if (a.path[0] || a.dry_run || a.checksum || a.remote)
		return cmd_usage_error(a.cmd->name, "dim image takes IMAGE [RANGE], no PATH, -n, --checksum or --remote");
	a.image = a.range;
	a.range = a.range2;
	if (open_ctx(&a, &ii, false))
		return 1;
	c = a.ctx.cluster;
	img = &c->images[ii];
	if (a.server) {
		s = cluster_find_server(c, a.server);
		rc = s ? mkimage_local(&a, ii, s)
		       : cmd_error(a.cmd->name, "%s: no image server %s", c->file, a.server);
		goto out;
	}

	/* from the management node: push, then build on each server */
	rc = push_prepare(&a, ii, a.servers ? a.servers : a.range, &lock, src, sizeof(src), &want,
			  &jobs);
	if (rc)
		goto out;
	o.path = "";
	o.rsh = rsh();
	pr.tty = isatty(STDERR_FILENO);
	if (!a.no_push) {
		rc = push_run(&a, img, &o, want, jobs, &n, &pr);
		if (rc)
			goto out;
		for (i = 0; i < n; i++) {
			if (jobs[i].job.status == 0)
				continue;
			rsync_result(jobs[i].s->name, &jobs[i].job, a.quiet);
			want[jobs[i].s->index] = false;
			failed++;
			len += (size_t)snprintf(failed_names + len, sizeof(failed_names) - len, "%s%s",
						len ? ", " : "", jobs[i].s->name);
			if (len >= sizeof(failed_names) - 80)
				break;
		}
	}
	/* the build, on the servers whose push worked */
	{
		char list[4096] = "";
		size_t l = 0;

		for (i = 0; i < c->n_servers && l < sizeof(list) - CL_NAME_MAX - 2; i++)
			if (want[i])
				l += (size_t)snprintf(list + l, sizeof(list) - l, "%s%s", l ? "," : "",
						      c->servers[i].name);
		if (l) {
			args[nargs++] = "image";
			args[nargs++] = img->name;
			if (a.range)
				args[nargs++] = a.range;
			if (a.recreate)
				args[nargs++] = "--recreate";
			a.cmd = &cmd_image;
			rc = remote_each(&a, ii, args, nargs, list);
			if (rc)
				failed++;
		}
	}
	if (failed && failed_names[0])
		rc = cmd_error(a.cmd->name, "image %s: push failed on %s", img->name, failed_names);
	else
		rc = failed ? 1 : 0;
out:
	sync_server_jobs_free(jobs, jobs ? n : 0);
	free(want);
	sync_lock_release(&lock);
	ctx_close(&a.ctx);
	return rc;
}
