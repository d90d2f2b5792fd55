/* SPDX-License-Identifier: MIT */
/*
 * dim nfs: the exports of the image servers (write), put in place on one of
 * them (install), and checked as an NFS client (check).  The work is in
 * nfs.c (text), nfs_apply.c (install) and nfs_check.c (libnfs).
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "context.h"
#include "fsutil.h"
#include "nfs.h"

#define NAME "nfs"

static const char usage[] =
	"usage: dim nfs [write] [SERVER...] [--backend B] [--out DIR] [--ro-squash]\n"
	"       dim nfs install SERVER [--backend B] [--file FILE] [--no-check] [--no-reload]\n"
	"       dim nfs check [RANGE] [--timeout S] [--jobs N] [--nfs 3|4] [--init PATH]\n"
	"\n"
	"Export each image's RO tree read-only to its image server's boot network, and each\n"
	"blade's RW directory read-write to that blade alone; both also read-only to the\n"
	"management node, so that it can check them.\n"
	"\n"
	"  write     the exports of the image servers (all, or those named) on stdout, or with\n"
	"            --out one directory per server: DIR/SERVER/dim.exports (kernel), or\n"
	"            DIR/SERVER/dim-exports.conf and a ganesha.conf to start from (ganesha)\n"
	"  install   on image server SERVER itself: its exports into the live file, first\n"
	"            checked by the real server (exportfs -ra, or a throwaway ganesha.nfsd, in\n"
	"            namespaces of their own), then the server reloads (exportfs -ra; SIGHUP).\n"
	"            Directories that do not exist yet are left out, each named.\n"
	"  check     mount each selected blade's RO tree and RW directory as an NFS client\n"
	"            (libnfs) and look inside: an executable init, rw.img of the image's\n"
	"            rw-size.  One line per blade; exit status 1 if any failed.\n"
	"\n"
	"  -b, --backend kernel|ganesha  the NFS server [each image server's nfs= in the definition]\n"
	"  -o, --out DIR          write: into DIR/SERVER/ (created; all files renamed into place\n"
	"                         together, after one sync)\n"
	"      --ro-squash        write, install: root_squash on the RO trees [no_root_squash]\n"
	"  -f, --file FILE        install: the live file [kernel /etc/exports.d/dim.exports,\n"
	"                         ganesha /etc/ganesha/dim-exports.conf]; write: the file the\n"
	"                         ganesha.conf written includes\n"
	"      --no-check         install: skip the real server's check\n"
	"      --no-reload        install: do not tell the server\n"
	"      --keep-missing     install: export directories that do not exist too\n"
	"      --pid-file FILE    install: ganesha's pid file [/run/ganesha/ganesha.pid]\n"
	"      --ganesha-conf FILE  install: the ganesha.conf to look at for the include and the\n"
	"                         NFSv4 numeric owners blades need [/etc/ganesha/ganesha.conf]\n"
	"  -t, --timeout S        check: seconds per mount attempt [5]; install: for the check [20]\n"
	"  -j, --jobs N           check: NFS connections at once [32]\n"
	"      --nfs 3|4          check: only this NFS version [the image's; auto: 4, then 3]\n"
	"      --init PATH        check: the init the RO tree must hold [/sbin/init]\n"
	"  -q, --quiet            check: print failed blades and the summary only\n"
	DIM_CTX_USAGE
	"  -h, --help\n"
	"\n"
	"RANGE: s01c1b01-s01c1b14, b1-b28, s[01-42]c[1-4]b[01-14], s01, s01c2, lists with\n"
	"commas, all (the default).  See dim(8), section dim nfs.\n"
	"\n"
	"Exit status: 0 done, 1 failed, 2 usage error.\n";

enum {
	OPT_RO_SQUASH = 256,
	OPT_NO_CHECK,
	OPT_NO_RELOAD,
	OPT_KEEP_MISSING,
	OPT_PID_FILE,
	OPT_GANESHA_CONF,
	OPT_NFS,
	OPT_INIT,
};

static const struct option options[] = {
	{ "backend", required_argument, NULL, 'b' },
	{ "out", required_argument, NULL, 'o' },
	{ "ro-squash", no_argument, NULL, OPT_RO_SQUASH },
	{ "file", required_argument, NULL, 'f' },
	{ "no-check", no_argument, NULL, OPT_NO_CHECK },
	{ "no-reload", no_argument, NULL, OPT_NO_RELOAD },
	{ "keep-missing", no_argument, NULL, OPT_KEEP_MISSING },
	{ "pid-file", required_argument, NULL, OPT_PID_FILE },
	{ "ganesha-conf", required_argument, NULL, OPT_GANESHA_CONF },
	{ "timeout", required_argument, NULL, 't' },
	{ "jobs", required_argument, NULL, 'j' },
	{ "nfs", required_argument, NULL, OPT_NFS },
	{ "init", required_argument, NULL, OPT_INIT },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	DIM_CTX_OPTIONS,
	{ NULL, 0, NULL, 0 },
};

enum action { ACT_WRITE, ACT_INSTALL, ACT_CHECK };

static const struct {
	const char *word;
	enum action action;
} actions[] = {
	{ "write", ACT_WRITE },
	{ "install", ACT_INSTALL },
	{ "check", ACT_CHECK },
};

struct args {
	enum action action;
	struct dim_ctx ctx;
	bool have_backend;
	enum nfs_backend backend;
	const char *out;
	bool ro_squash;
	struct nfs_install_opts install;
	struct nfs_check_opts check;
	unsigned timeout_s;
	bool quiet;
	char **names;		/* SERVER... or RANGE */
	int n_names;
};

#define usage_error(...) cmd_usage_error(NAME, __VA_ARGS__)

static const char *plural(unsigned n)
{
	return n == 1 ? "" : "s";
}


static int parse_args(int argc, char **argv, struct args *a)
{
	unsigned v;
	size_t i;
	int c;

	optind = 1;
	opterr = 0;	/* the messages below name the command */
	while ((c = getopt_long(argc, argv, ":b:o:f:t:j:qhc:", options, NULL)) != -1) {
		if (ctx_option(&a->ctx, c, optarg))
			continue;
		switch (c) {
		case 'b':
			if (nfs_backend_parse(optarg, &a->backend) < 0)
				return usage_error("--backend %s: kernel or ganesha", optarg);
			a->have_backend = true;
			break;
		case 'o':
			a->out = optarg;
			break;
		case OPT_RO_SQUASH:
			a->ro_squash = true;
			break;
		case 'f':
			a->install.file = optarg;
			break;
		case OPT_NO_CHECK:
			a->install.no_check = true;
			break;
		case OPT_NO_RELOAD:
			a->install.no_reload = true;
			break;
		case OPT_KEEP_MISSING:
			a->install.keep_missing = true;
			break;
		case OPT_PID_FILE:
			a->install.pid_file = optarg;
			break;
		case OPT_GANESHA_CONF:
			a->install.ganesha_main = optarg;
			break;
		case 't':
			if (!cmd_uint(optarg, 1, 3600, &a->timeout_s))
				return usage_error("--timeout %s: seconds, 1 to 3600", optarg);
			break;
		case 'j':
			if (!cmd_uint(optarg, 1, 4096, &v))
				return usage_error("--jobs %s: 1 to 4096", optarg);
			a->check.jobs = v;
			break;
		case OPT_NFS:
			if (strcmp(optarg, "3") && strcmp(optarg, "4"))
				return usage_error("--nfs %s: 3 or 4", optarg);
			a->check.version = optarg[0] - '0';
			break;
		case OPT_INIT:
			if (optarg[0] != '/')
				return usage_error("--init %s: an absolute path", optarg);
			a->check.init = optarg;
			break;
		case 'q':
			a->quiet = true;
			break;
		case 'h':
			return cmd_usage(&cmd_nfs, 0) - 1;
		case ':':
			return usage_error("%s needs a value", argv[optind - 1]);
		default:
			return usage_error("unknown option %s", argv[optind - 1]);
		}
	}
	a->names = argv + optind;
	a->n_names = argc - optind;
	a->action = ACT_WRITE;
	for (i = 0; a->n_names > 0 && i < sizeof(actions) / sizeof(*actions); i++)
		if (!strcmp(a->names[0], actions[i].word)) {
			a->action = actions[i].action;
			a->names++;
			a->n_names--;
			break;
		}
	if (a->action == ACT_INSTALL && a->n_names != 1)
		return usage_error("install wants one image server");
	if (a->action == ACT_CHECK && a->n_names > 1)
		return usage_error("check wants one RANGE (use commas for more)");
	if (a->out && a->action != ACT_WRITE)
		return usage_error("--out is for write");
	return 0;
}

/* The backend of server s: --backend, else the definition's nfs=. */
static int server_backend(const struct args *a, const struct cl_server *s, enum nfs_backend *b)
{
	if (a->have_backend) {
		*b = a->backend;
		return 0;
	}
	if (nfs_backend_parse(s->nfs, b) < 0)
		return cmd_error(NAME, "image server %s: nfs=\"%s\" is neither kernel nor ganesha "
				 "(--backend chooses)", s->name, s->nfs);
	return 0;
}

static int write_server(const struct args *a, const struct cluster *c, const struct cl_server *s,
			struct nfs_batch *batch)
{
	struct nfs_opts o = { .ro_squash = a->ro_squash };
	struct nfs_text t = { 0 }, main_conf = { 0 };
	struct dim_err err = { 0 };
	struct nfs_plan p;
	char dir[PATH_MAX - 32], path[PATH_MAX];
	unsigned i, n_ro = 0;
	int rc;

	if (server_backend(a, s, &o.backend))
		return 1;
	if (nfs_plan(c, s, &p, &err) < 0)
		return cmd_error(NAME, "%s", err.msg);
	rc = nfs_render(&p, &o, &t, &err);
	if (rc < 0) {
		nfs_plan_free(&p);
		return cmd_error(NAME, "%s", err.msg);
	}
	for (i = 0; i < p.n; i++)
		n_ro += !p.ex[i].blade;
	if (!a->out) {
		rc = fwrite(t.buf, 1, t.len, stdout) == t.len ? 0 : cmd_error(NAME, "stdout: %s",
									       strerror(errno));
		goto out;
	}
	if ((size_t)snprintf(dir, sizeof(dir), "%s/%s", a->out, s->name) >= sizeof(dir)) {
		rc = cmd_error(NAME, "%s: path too long", a->out);
		goto out;
	}
	rc = mkdir_p(dir, 0755);
	if (rc < 0) {
		rc = cmd_error(NAME, "%s: %s", dir, strerror(-rc));
		goto out;
	}
	snprintf(path, sizeof(path), "%s/%s", dir,
		 o.backend == NFS_BACKEND_KERNEL ? "dim.exports" : "dim-exports.conf");
	rc = nfs_batch_add(batch, path, t.buf, t.len, &err);
	if (rc < 0) {
		rc = cmd_error(NAME, "%s", err.msg);
		goto out;
	}
	printf("%s: %s: %u export%s (%u RO tree%s, %u RW director%s)\n", s->name, path, p.n,
	       plural(p.n), n_ro, plural(n_ro), p.n - n_ro, p.n - n_ro == 1 ? "y" : "ies");
	if (o.backend == NFS_BACKEND_GANESHA) {
		rc = nfs_render_ganesha_main(a->install.file ? a->install.file
							     : nfs_backend_default_file(o.backend),
					     &main_conf, &err);
		if (rc < 0) {
			rc = cmd_error(NAME, "%s", err.msg);
			goto out;
		}
		snprintf(path, sizeof(path), "%s/ganesha.conf", dir);
		rc = nfs_batch_add(batch, path, main_conf.buf, main_conf.len, &err);
		if (rc < 0)
			rc = cmd_error(NAME, "%s", err.msg);
		else
			printf("%s: %s: a ganesha.conf to start from (numeric NFSv4 owners)\n",
			       s->name, path);
	}
out:
	nfs_text_free(&t);
	nfs_text_free(&main_conf);
	nfs_plan_free(&p);
	return rc ? 1 : 0;
}

/*
 * SERVER... may be names or comma lists of names; none: every image server.
 * With --out the files of all of them are renamed into place together, and
 * only if every one was made.
 */
static int do_write(struct args *a, const struct cluster *c)
{
	struct nfs_batch batch = { 0 };
	struct dim_err err = { 0 };
	unsigned i;
	int k, rc = 0;

	if (!a->n_names) {
		for (i = 0; i < c->n_servers && !rc; i++)
			rc = write_server(a, c, &c->servers[i], &batch);
	}
	for (k = 0; k < a->n_names && !rc; k++) {
		char *list = a->names[k], *save = NULL, *name;

		for (name = strtok_r(list, ",", &save); name && !rc;
		     name = strtok_r(NULL, ",", &save)) {
			const struct cl_server *s = cluster_find_server(c, name);

			if (!s)
				rc = cmd_error(NAME, "%s: no image server of that name in %s", name,
					       c->file);
			else
				rc = write_server(a, c, s, &batch);
		}
	}
	if (rc) {
		nfs_batch_abort(&batch);
		return rc;
	}
	if (nfs_batch_commit(&batch, &err) < 0)
		return cmd_error(NAME, "%s", err.msg);
	return 0;
}

static void print_note(void *arg, const char *msg)
{
	(void)arg;
	fprintf(stderr, "dim " NAME ": %s\n", msg);
}

static int do_install(struct args *a, const struct cluster *c)
{
	const struct cl_server *s = cluster_find_server(c, a->names[0]);
	struct nfs_install_result r;
	struct dim_err err = { 0 };
	const char *file;

	if (!s)
		return cmd_error(NAME, "%s: no image server of that name in %s", a->names[0], c->file);
	if (server_backend(a, s, &a->install.backend))
		return 1;
	a->install.ro_squash = a->ro_squash;
	a->install.timeout_ms = a->timeout_s * 1000;
	a->install.note = print_note;
	file = a->install.file ? a->install.file : nfs_backend_default_file(a->install.backend);
	if (nfs_install(c, s, &a->install, &r, &err) < 0)
		return cmd_error(NAME, "%s", err.msg);
	if (r.unchanged) {
		printf("%s: %s unchanged: %u RO tree%s, %u RW director%s\n", s->name, file, r.n_ro,
		       plural(r.n_ro), r.n_rw, r.n_rw == 1 ? "y" : "ies");
		return 0;
	}
	printf("%s: %s: %u RO tree%s, %u RW director%s exported", s->name, file, r.n_ro,
	       plural(r.n_ro), r.n_rw, r.n_rw == 1 ? "y" : "ies");
	if (r.n_missing)
		printf(", %u not there yet", r.n_missing);
	printf("; %s%s", r.check[0] ? "checked by " : "not checked", r.check);
	printf("; %s%s\n", r.reload[0] ? "reloaded: " : "not reloaded", r.reload);
	return 0;
}

static int do_check(struct args *a, const struct cluster *c)
{
	const char *range = a->n_names ? a->names[0] : "all";
	struct nfs_check_report r;
	struct cl_selection sel = { 0 };
	struct dim_err err = { 0 };
	size_t width = 8;
	unsigned i;

	if (cluster_select_blades(c, range, &sel, &err) < 0)
		return cmd_error(NAME, "%s", err.msg);
	a->check.timeout_ms = a->timeout_s * 1000;
	for (i = 0; i < c->n_blades; i++)
		if (cl_selected(&sel, i) && strlen(c->blades[i].name) > width)
			width = strlen(c->blades[i].name);
	if (nfs_check(c, &sel, &a->check, &r, &err) < 0) {
		cl_selection_free(&sel);
		return cmd_error(NAME, "%s", err.msg);
	}
	for (i = 0; i < c->n_blades; i++) {
		static const char *const word[] = {
			[NFS_CHECK_OK] = "ok", [NFS_CHECK_FAILED] = "FAILED",
			[NFS_CHECK_SKIPPED] = "skipped",
		};
		const struct nfs_check_blade *b = &r.b[i];

		if (b->status == NFS_CHECK_UNSELECTED || (a->quiet && b->status != NFS_CHECK_FAILED))
			continue;
		printf("%-*s  %-6s  %s\n", (int)width, c->blades[i].name, word[b->status], b->text);
	}
	printf("%u blade%s: %u ok, %u failed", r.n_ok + r.n_failed + r.n_skipped,
	       plural(r.n_ok + r.n_failed + r.n_skipped), r.n_ok, r.n_failed);
	if (r.n_skipped)
		printf(", %u skipped", r.n_skipped);
	printf(" (%u mounts in %.2f s)\n", r.mounts, r.seconds);
	nfs_check_report_free(&r);
	cl_selection_free(&sel);
	return r.n_failed ? 1 : 0;
}

static int nfs_run(int argc, char **argv)
{
	struct args a = { 0 };
	struct dim_err err = { 0 };
	int rc;

	rc = parse_args(argc, argv, &a);
	if (rc)
		return rc < 0 ? 0 : rc;
	if (ctx_open(&a.ctx, false, &err) < 0)
		return cmd_error(NAME, "%s", err.msg);
	if (a.ctx.state_warnings > 0)
		fprintf(stderr, "dim " NAME ": warning: %s\n", err.msg);
	switch (a.action) {
	case ACT_WRITE:
		rc = do_write(&a, a.ctx.cluster);
		break;
	case ACT_INSTALL:
		rc = do_install(&a, a.ctx.cluster);
		break;
	case ACT_CHECK:
		rc = do_check(&a, a.ctx.cluster);
		break;
	}
	ctx_close(&a.ctx);
	if (!rc && fflush(stdout) != 0)
		rc = cmd_error(NAME, "stdout: %s", strerror(errno));
	return rc;
}

const struct dim_cmd cmd_nfs = {
	.name = NAME,
	.summary = "export the RO tree and each blade's RW image; check the exports",
	.usage = usage,
	.run = nfs_run,
};
