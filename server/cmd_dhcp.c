/* SPDX-License-Identifier: MIT */
/*
 * dim dhcp: each image server's DHCP configuration.  write (the management
 * node's set), install (on an image server: check, replace, reload), assign
 * (move blades to another image), mac (record a MAC by hand), show.  The
 * work is in dhcp_gen.c (generators) and dhcp_apply.c (check, install, reload).
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "context.h"
#include "dhcp_apply.h"
#include "mac.h"

#define NAME "dhcp"
#define LOCK_TIMEOUT_MS		30000	/* another dim writing the same directory */
#define STATE_TIMEOUT_MS	30000	/* another command holding the state's lock */
#define RELOAD_TIMEOUT_MS	30000	/* Kea's answer on its control socket */
#define MAX_RELOAD_WORDS	64

static const char usage[] =
	"usage: dim dhcp [write] [RANGE] [-b BACKEND] [-o DIR] [--no-check]\n"
	"       dim dhcp install [SERVER] [-b BACKEND] [-d DIR] [-m MAIN] [--no-check]\n"
	"                        [--reload 'COMMAND ARGS' | --pidfile FILE | --control-socket PATH]\n"
	"       dim dhcp assign IMAGE RANGE [-o DIR] [--no-check]\n"
	"       dim dhcp mac BLADE MAC [--force] [-o DIR] [--no-check]\n"
	"       dim dhcp show BLADE [-b BACKEND]\n"
	"\n"
	"Each image server's DHCP configuration, from the cluster definition and dim's\n"
	"state: one host entry per blade whose MAC is known, with its fixed address,\n"
	"host name (the hierarchical name; the linear name is a comment), next-server\n"
	"and boot file (IMAGE/KERNEL in the image server's TFTP root STORAGE/tftp,\n"
	"KERNEL the image's kernel attribute; iPXE scripts, *.ipxe, also with iPXE's\n"
	"no-pxedhcp), root-path (option 17) and the boot contract's options 224-229\n"
	"(dim-linuxrc(7)); and the server's boot network, without a dynamic pool, so\n"
	"that a MAC without a host entry gets no answer.\n"
	"Blades without a MAC or an image get no entry and are named in a warning.\n"
	"\n"
	"Every file is written under a temporary name next to its target, checked by\n"
	"the DHCP server's own check (dhcpd -t, kea-dhcp4 -t, dnsmasq --test) and only\n"
	"then renamed into place; a rejected file is kept as FILE.rejected, the live\n"
	"one stays as it was.\n"
	"\n"
	"  write     the management node's set: DIR/SERVER/FILE for every image server\n"
	"            of RANGE (image servers or nodes; default: all), each checked; all\n"
	"            or nothing\n"
	"  install   on an image server (default: this host's name): its file in the\n"
	"            live directory, checked as the daemon reads it, then the daemon\n"
	"            told to reload\n"
	"  assign    boot IMAGE on the blades of RANGE (one state transaction), then\n"
	"            write their image servers' files again (-o)\n"
	"  mac       record BLADE's boot MAC by hand, then write its image server's file\n"
	"  show      the host entry BLADE gets\n"
	"\n"
	"  -b, --backend NAME     isc, kea or dnsmasq, for every server [the definition's dhcp=]\n"
	"  -o, --out DIR          the management node's set [" DHCP_OUT_DIR "]\n"
	"  -d, --dir DIR          install: the live directory [" DHCP_LIVE_DIR "]\n"
	"  -m, --main FILE        install: the daemon's main configuration, which includes\n"
	"                         the file; checked as a whole with the new file in place\n"
	"                         [a minimal one holding only the include]\n"
	"      --reload 'CMD ARGS'  install: run this to make the daemon read the file\n"
	"                         (words split at spaces, no shell), e.g. 'systemctl\n"
	"                         restart isc-dhcp-server': dhcpd and dnsmasq read it\n"
	"                         only when they start\n"
	"      --pidfile FILE     install: SIGHUP to the daemon in FILE (kea)\n"
	"      --control-socket PATH  install: Kea's control socket, config-reload\n"
	"      --no-check         write without running the daemon's check\n"
	"  -f, --force            mac: take the MAC from the blade that has it\n"
	DIM_CTX_USAGE
	"  -h, --help             this text\n"
	"\n"
	"Backends, their file and the line the daemon's main configuration needs:\n"
	"  isc      dim-dhcpd.conf       dhcpd.conf: include \"DIR/dim-dhcpd.conf\";\n"
	"  kea      dim-kea-dhcp4.json   kea-dhcp4.conf, as the last entry of \"Dhcp4\":\n"
	"                                  <?include \"DIR/dim-kea-dhcp4.json\"?>\n"
	"  dnsmasq  dim-dnsmasq.conf     dnsmasq.conf: conf-file=DIR/dim-dnsmasq.conf\n"
	"\n"
	"Exit status: 0 done, 1 failed (live files unchanged), 2 usage error.\n";

enum {
	OPT_RELOAD = 256,
	OPT_PIDFILE,
	OPT_SOCKET,
	OPT_NO_CHECK,
};

static const struct option options[] = {
	{ "backend", required_argument, NULL, 'b' },
	{ "out", required_argument, NULL, 'o' },
	{ "dir", required_argument, NULL, 'd' },
	{ "main", required_argument, NULL, 'm' },
	{ "reload", required_argument, NULL, OPT_RELOAD },
	{ "pidfile", required_argument, NULL, OPT_PIDFILE },
	{ "control-socket", required_argument, NULL, OPT_SOCKET },
	{ "no-check", no_argument, NULL, OPT_NO_CHECK },
	{ "force", no_argument, NULL, 'f' },
	{ "help", no_argument, NULL, 'h' },
	DIM_CTX_OPTIONS,
	{ NULL, 0, NULL, 0 },
};

struct args {
	struct dim_ctx ctx;
	const struct dhcp_backend *backend;	/* NULL: each server's own */
	const char *out, *dir, *main;
	const char *reload_cmd, *pidfile, *socket;
	bool no_check, force;
	unsigned given;		/* bit per option letter class, to refuse misplaced ones */
	char **pos;		/* positional arguments */
	int n_pos;
};

/* Options each subcommand takes (bits of struct args.given). */
enum {
	G_BACKEND = 1 << 0,
	G_OUT = 1 << 1,
	G_DIR = 1 << 2,
	G_MAIN = 1 << 3,
	G_RELOAD = 1 << 4,
	G_NOCHECK = 1 << 5,
	G_FORCE = 1 << 6,
};

static const char *const given_names[] = {
	"--backend", "--out", "--dir", "--main",
	"--reload/--pidfile/--control-socket", "--no-check", "--force",
};

#define usage_error(...) cmd_usage_error(NAME, __VA_ARGS__)

/* ---------------------------------------------------------------- writing */

/* One image server's new files, staged and checked, not yet in place. */
struct pending {
	const struct cl_server *server;
	struct dhcp_conf conf;
	struct dhcp_stage *stage;
};

static void warn_left_out(const struct cluster *c, const struct dhcp_conf *conf)
{
	char list[512];

	if (conf->n_no_mac) {
		dhcp_blade_list(c, conf->no_mac, conf->n_no_mac, list, sizeof(list));
		fprintf(stderr,
			"dim " NAME ": warning: %s: no MAC known for %u blade%s, no host entry: %s "
			"(dim dhcp mac BLADE MAC)\n",
			conf->server->name, conf->n_no_mac, conf->n_no_mac == 1 ? "" : "s", list);
	}
	if (conf->n_no_image) {
		dhcp_blade_list(c, conf->no_image, conf->n_no_image, list, sizeof(list));
		fprintf(stderr,
			"dim " NAME ": warning: %s: no image assigned to %u blade%s, no host entry: "
			"%s (dim dhcp assign IMAGE RANGE)\n",
			conf->server->name, conf->n_no_image, conf->n_no_image == 1 ? "" : "s",
			list);
	}
}

static void pending_free(struct pending *p, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		dhcp_stage_abort(p[i].stage);
		dhcp_conf_free(&p[i].conf);
	}
	free(p);
}

/*
 * Generate, write and check the files of every server marked in want (by
 * index), into base/SERVER/ (per_server) or base/ itself.  Nothing is in
 * place until commit_all().
 */
static int stage_all(const struct cluster *c, const bool *want, const struct args *a,
		     const char *base, bool per_server, const char *live_dir,
		     struct pending **out, unsigned *n_out, struct dim_err *err)
{
	struct pending *p;
	unsigned i, n = 0;
	int rc;

	p = calloc(c->n_servers ? c->n_servers : 1, sizeof(*p));
	if (!p)
		return dim_err_set(err, -ENOMEM, "out of memory");
	for (i = 0; i < c->n_servers; i++) {
		const struct cl_server *s = &c->servers[i];
		struct dhcp_target t = { .main = a->main, .no_check = a->no_check };
		char dir[4096];

		if (!want[i])
			continue;
		if (per_server)
			snprintf(dir, sizeof(dir), "%s/%s", base, s->name);
		else
			snprintf(dir, sizeof(dir), "%s", base);
		t.dir = dir;
		p[n].server = s;
		rc = dhcp_generate(c, s, a->backend, live_dir, &p[n].conf, err);
		if (rc < 0)
			goto err_free;
		n++;
		warn_left_out(c, &p[n - 1].conf);
		rc = dhcp_stage(&p[n - 1].conf, &t, &p[n - 1].stage, err);
		if (rc < 0)
			goto err_free;
	}
	*out = p;
	*n_out = n;
	return 0;

err_free:
	pending_free(p, n);
	return rc;
}

/* Put every staged server's files in place and say so, one line per server. */
static int commit_all(struct pending *p, unsigned n, const char *how_checked,
		      struct dim_err *err)
{
	unsigned i;
	int rc;

	for (i = 0; i < n; i++) {
		const struct dhcp_backend *b = p[i].conf.backend;
		bool checked = dhcp_stage_checked(p[i].stage);
		bool changed = dhcp_stage_changed(p[i].stage);
		char path[4096];

		snprintf(path, sizeof(path), "%s", dhcp_stage_path(p[i].stage));
		rc = dhcp_stage_commit(p[i].stage, err);
		p[i].stage = NULL;
		if (rc < 0)
			return rc;
		printf("%s: %s, %u host%s: %s (%s%s%s)\n", p[i].server->name, b->name,
		       p[i].conf.n_hosts, p[i].conf.n_hosts == 1 ? "" : "s", path,
		       changed ? "" : "unchanged, ", checked ? "checked by " : "not checked",
		       checked ? how_checked ? how_checked : b->daemon : "");
	}
	return 0;
}

/* ---------------------------------------------------------------- write */

static int do_write(struct args *a)
{
	const char *range = a->n_pos ? a->pos[0] : NULL;
	const char *out = a->out ? a->out : DHCP_OUT_DIR;
	struct cl_selection sel = { 0 };
	struct pending *p = NULL;
	struct dim_err err = { 0 };
	struct cluster *c;
	unsigned i, n = 0;
	bool *want = NULL;
	int lock, rc;

	if (a->n_pos > 1)
		return usage_error("write takes one RANGE (a comma list selects more)");
	/* Whoever writes after us sees our state; we see theirs. */
	lock = dhcp_lock_dir(out, LOCK_TIMEOUT_MS, &err);
	if (lock < 0)
		return cmd_error(NAME, "%s", err.msg);
	rc = ctx_open(&a->ctx, false, &err);
	if (rc < 0)
		goto err_msg;
	if (a->ctx.state_warnings)
		fprintf(stderr, "dim " NAME ": warning: %s\n", err.msg);
	c = a->ctx.cluster;
	want = calloc(c->n_servers ? c->n_servers : 1, sizeof(*want));
	if (!want) {
		rc = dim_err_set(&err, -ENOMEM, "out of memory");
		goto err_msg;
	}
	if (range) {
		rc = cluster_select_blades(c, range, &sel, &err);
		if (rc < 0)
			goto err_msg;
		for (i = 0; i < c->n_blades; i++)
			if (cl_selected(&sel, i))
				want[c->blades[i].server] = true;
	} else {
		for (i = 0; i < c->n_servers; i++)
			want[i] = true;
	}
	rc = stage_all(c, want, a, out, true, DHCP_LIVE_DIR, &p, &n, &err);
	if (rc < 0)
		goto err_msg;
	rc = commit_all(p, n, NULL, &err);
	pending_free(p, n);
	if (rc < 0)
		goto err_msg;
	cl_selection_free(&sel);
	free(want);
	ctx_close(&a->ctx);
	close(lock);
	return 0;

err_msg:
	cl_selection_free(&sel);
	free(want);
	ctx_close(&a->ctx);
	close(lock);
	return cmd_error(NAME, "%s", err.msg);
}

/* ---------------------------------------------------------------- install */

static int do_install(struct args *a)
{
	const char *dir = a->dir ? a->dir : DHCP_LIVE_DIR;
	struct dhcp_reload r = { .how = DHCP_RELOAD_NONE, .timeout_ms = RELOAD_TIMEOUT_MS };
	char *words[MAX_RELOAD_WORDS], *reload_copy = NULL, live[4096], done[256] = "", how[4200];
	const struct dhcp_backend *b;
	const struct cl_server *s;
	struct pending *p = NULL;
	struct dim_err err = { 0 };
	unsigned n = 0;
	bool *want = NULL;
	int lock, rc, how_many = (a->reload_cmd != NULL) + (a->pidfile != NULL) +
				 (a->socket != NULL);

	if (a->n_pos > 1)
		return usage_error("install takes one image server");
	if (how_many > 1)
		return usage_error("--reload, --pidfile and --control-socket exclude each other");
	if (a->reload_cmd) {
		reload_copy = strdup(a->reload_cmd);
		if (!reload_copy || cmd_split_words(reload_copy, words, MAX_RELOAD_WORDS) <= 0) {
			free(reload_copy);
			return usage_error("--reload wants a command and its arguments");
		}
		r.how = DHCP_RELOAD_ARGV;
		r.argv = (const char *const *)words;
	} else if (a->pidfile) {
		r.how = DHCP_RELOAD_PIDFILE;
		r.path = a->pidfile;
	} else if (a->socket) {
		r.how = DHCP_RELOAD_SOCKET;
		r.path = a->socket;
	}

	lock = dhcp_lock_dir(dir, LOCK_TIMEOUT_MS, &err);
	if (lock < 0) {
		free(reload_copy);
		return cmd_error(NAME, "%s", err.msg);
	}
	rc = ctx_open(&a->ctx, false, &err);
	if (rc < 0)
		goto err_msg;
	if (a->ctx.state_warnings)
		fprintf(stderr, "dim " NAME ": warning: %s\n", err.msg);
	if (a->n_pos) {
		s = cluster_find_server(a->ctx.cluster, a->pos[0]);
		if (!s) {
			rc = dim_err_set(&err, -ENOENT, "%s: no image server %s", a->ctx.cluster->name,
					 a->pos[0]);
			goto err_msg;
		}
	} else if (cmd_this_server(NAME, a->ctx.cluster, &s)) {
		rc = 2;
		goto err_usage;
	}
	b = a->backend ? a->backend : dhcp_backend_of(a->ctx.cluster, s, &err);
	if (!b || dhcp_reload_supported(b, r.how, &err) < 0) {
		rc = -EINVAL;
		goto err_msg;
	}
	/* The files name each other by the path the daemon reads them from. */
	rc = dhcp_abs_dir(dir, live, sizeof(live));
	if (rc < 0) {
		dim_err_set(&err, rc, "%s: %s", dir, strerror(-rc));
		goto err_msg;
	}
	want = calloc(a->ctx.cluster->n_servers, sizeof(*want));
	if (!want) {
		rc = dim_err_set(&err, -ENOMEM, "out of memory");
		goto err_msg;
	}
	want[s - a->ctx.cluster->servers] = true;
	a->backend = b;
	rc = stage_all(a->ctx.cluster, want, a, live, false, live, &p, &n, &err);
	if (rc < 0)
		goto err_msg;
	if (a->main)
		snprintf(how, sizeof(how), "%s, with %s", b->daemon, a->main);
	rc = commit_all(p, n, a->main ? how : NULL, &err);
	if (rc < 0)
		goto err_pending;
	rc = dhcp_reload(b, &r, &err);
	if (rc < 0) {
		dim_err_prefix(&err, "%s: installed, but %s was not reloaded", s->name, b->daemon);
		goto err_pending;
	}
	switch (r.how) {
	case DHCP_RELOAD_NONE:
		fprintf(stderr,
			"dim " NAME ": note: %s was not told (--reload, --pidfile or "
			"--control-socket)\n",
			b->daemon);
		break;
	case DHCP_RELOAD_ARGV:
		snprintf(done, sizeof(done), "ran %s", a->reload_cmd);
		break;
	case DHCP_RELOAD_PIDFILE:
		snprintf(done, sizeof(done), "SIGHUP to %s", b->daemon);
		break;
	case DHCP_RELOAD_SOCKET:
		snprintf(done, sizeof(done), "config-reload on %s", r.path);
		break;
	}
	if (done[0])
		printf("%s: reloaded: %s\n", s->name, done);
	pending_free(p, n);
	free(want);
	free(reload_copy);
	ctx_close(&a->ctx);
	close(lock);
	return 0;

err_pending:
	pending_free(p, n);
err_msg:
	rc = cmd_error(NAME, "%s", err.msg);
err_usage:
	free(want);
	free(reload_copy);
	ctx_close(&a->ctx);
	close(lock);
	return rc;
}

/* ---------------------------------------------------------------- assign, mac */

/*
 * A change to the state and the files it touches, together: the state is
 * changed in a transaction, the definition loaded again and the state laid
 * over it inside that transaction (so it includes what another command
 * committed before we took the lock), the files of the servers in want
 * staged and checked; only then the state is committed and the files put in
 * place.  A failed check leaves both as they were.
 */
struct change {
	const char *what;	/* for the lock's holder and the history */
	int (*apply)(struct dim_state *st, struct cluster *c, void *arg, bool *want,
		     struct dim_err *err);
	void *arg;
};

static int change_state(struct args *a, const struct change *ch)
{
	const char *out = a->out ? a->out : DHCP_OUT_DIR;
	struct cluster *fresh = NULL;
	struct pending *p = NULL;
	struct dim_err err = { 0 };
	bool *want = NULL, in_tx = false;
	unsigned n = 0;
	int lock = -1, rc;

	rc = ctx_open(&a->ctx, true, &err);
	if (rc < 0)
		goto err_msg;
	lock = dhcp_lock_dir(out, LOCK_TIMEOUT_MS, &err);
	if (lock < 0) {
		rc = lock;
		goto err_msg;
	}
	rc = state_begin(a->ctx.state, ch->what, STATE_TIMEOUT_MS, &err);
	if (rc < 0)
		goto err_msg;
	in_tx = true;
	rc = cluster_load(a->ctx.cluster_path, &fresh, &err);
	if (rc < 0)
		goto err_msg;
	want = calloc(fresh->n_servers ? fresh->n_servers : 1, sizeof(*want));
	if (!want) {
		rc = dim_err_set(&err, -ENOMEM, "out of memory");
		goto err_msg;
	}
	rc = ch->apply(a->ctx.state, fresh, ch->arg, want, &err);
	if (rc < 0)
		goto err_msg;
	rc = state_apply(a->ctx.state, fresh, &err);
	if (rc < 0)
		goto err_msg;
	rc = stage_all(fresh, want, a, out, true, DHCP_LIVE_DIR, &p, &n, &err);
	if (rc < 0)
		goto err_msg;
	rc = state_commit(a->ctx.state, &err);
	in_tx = false;
	if (rc < 0)
		goto err_pending;
	rc = commit_all(p, n, NULL, &err);
	if (rc < 0) {
		dim_err_prefix(&err, "the state is changed, but not every file");
		goto err_pending;
	}
	pending_free(p, n);
	free(want);
	cluster_free(fresh);
	ctx_close(&a->ctx);
	close(lock);
	return 0;

err_pending:
	pending_free(p, n);
err_msg:
	if (in_tx)
		state_rollback(a->ctx.state);
	free(want);
	if (fresh)
		cluster_free(fresh);
	ctx_close(&a->ctx);
	if (lock >= 0)
		close(lock);
	return cmd_error(NAME, "%s", err.msg);
}

struct assign_arg {
	const char *image, *range;
	unsigned count;
};

static int assign_apply(struct dim_state *st, struct cluster *c, void *arg, bool *want,
			struct dim_err *err)
{
	struct assign_arg *aa = arg;
	struct cl_selection sel = { 0 };
	char line[512];
	unsigned i;
	int rc;

	if (cluster_find_image(c, aa->image) == CL_NONE) {
		struct dhcp_buf names = { 0 };

		for (i = 0; i < c->n_images; i++)
			dhcp_buf_printf(&names, "%s%s", i ? ", " : "", c->images[i].name);
		rc = dim_err_set(err, -ENOENT, "%s: no image %s (it has: %s)", c->file, aa->image,
				 names.data ? names.data : "none");
		dhcp_buf_free(&names);
		return rc;
	}
	rc = cluster_select_blades(c, aa->range, &sel, err);
	if (rc < 0)
		return rc;
	for (i = 0; i < c->n_blades; i++) {
		if (!cl_selected(&sel, i))
			continue;
		rc = state_assign(st, c->blades[i].name, aa->image, err);
		if (rc < 0)
			goto out;
		want[c->blades[i].server] = true;
		aa->count++;
	}
	snprintf(line, sizeof(line), "dhcp assign %s -> %s (%u blade%s)", aa->range, aa->image,
		 aa->count, aa->count == 1 ? "" : "s");
	rc = state_log(st, line, err);
out:
	cl_selection_free(&sel);
	return rc < 0 ? rc : 0;
}

static int do_assign(struct args *a)
{
	struct assign_arg aa = { 0 };
	struct change ch = { "dim dhcp assign", assign_apply, &aa };
	int rc;

	if (a->n_pos != 2)
		return usage_error("assign wants IMAGE RANGE");
	aa.image = a->pos[0];
	aa.range = a->pos[1];
	rc = change_state(a, &ch);
	if (rc == 0)
		printf("assigned %s to %u blade%s (%s)\n", aa.image, aa.count,
		       aa.count == 1 ? "" : "s", aa.range);
	return rc;
}

struct mac_arg {
	const char *blade;
	uint8_t mac[6];
	bool force;
	const struct cluster *c;
	bool *want;
};

/* A blade the state gives this MAC: its image server's file changes. */
static int mac_holder(const struct state_mac *m, void *arg)
{
	struct mac_arg *ma = arg;
	const struct cl_blade *b;

	if (!m->mac_ok || memcmp(m->mac, ma->mac, 6))
		return 0;
	b = cluster_find_blade(ma->c, m->blade);
	if (b)
		ma->want[b->server] = true;
	return 0;
}

static int mac_apply(struct dim_state *st, struct cluster *c, void *arg, bool *want,
		     struct dim_err *err)
{
	struct mac_arg *ma = arg;
	const struct cl_blade *b = cluster_find_blade(c, ma->blade);
	char line[256];
	unsigned i;
	int rc;

	if (!b)
		return dim_err_set(err, -ENOENT, "%s: no blade %s", c->file, ma->blade);
	if (b->absent)
		return dim_err_set(err, -EINVAL, "%s: %s is an empty bay (<absent>)", c->file,
				   b->name);
	/*
	 * The blade that has the MAC now loses it (--force), and the blade's old
	 * MAC goes: their servers' files change too.  The definition's MACs are
	 * in c, the state's are not laid over it yet.
	 */
	for (i = 0; i < c->n_blades; i++)
		if (c->blades[i].has_mac && !memcmp(c->blades[i].mac, ma->mac, 6))
			want[c->blades[i].server] = true;
	ma->c = c;
	ma->want = want;
	rc = state_list_macs(st, mac_holder, ma, err);
	if (rc < 0)
		return rc;
	rc = state_set_mac(st, b->name, ma->mac, "manual", ma->force, err);
	if (rc < 0)
		return rc;
	want[b->server] = true;
	snprintf(line, sizeof(line), "dhcp mac %s %02x:%02x:%02x:%02x:%02x:%02x%s", b->name,
		 ma->mac[0], ma->mac[1], ma->mac[2], ma->mac[3], ma->mac[4], ma->mac[5],
		 ma->force ? " (forced)" : "");
	return state_log(st, line, err);
}

static int do_mac(struct args *a)
{
	struct mac_arg ma = { 0 };
	struct change ch = { "dim dhcp mac", mac_apply, &ma };
	int rc;

	if (a->n_pos != 2)
		return usage_error("mac wants BLADE MAC");
	if (mac_parse(a->pos[1], true, ma.mac) < 0)
		return usage_error("%s is not a MAC (52:54:00:00:01:01)", a->pos[1]);
	ma.blade = a->pos[0];
	ma.force = a->force;
	rc = change_state(a, &ch);
	if (rc == 0)
		printf("%s: MAC %s recorded\n", ma.blade, a->pos[1]);
	return rc;
}

/* ---------------------------------------------------------------- show */

static int do_show(struct args *a)
{
	struct dhcp_buf out = { 0 };
	struct dim_err err = { 0 };
	const struct cl_blade *b;
	int rc;

	if (a->n_pos != 1)
		return usage_error("show wants one BLADE");
	rc = ctx_open(&a->ctx, false, &err);
	if (rc < 0)
		return cmd_error(NAME, "%s", err.msg);
	b = cluster_find_blade(a->ctx.cluster, a->pos[0]);
	if (!b)
		rc = dim_err_set(&err, -ENOENT, "%s: no blade %s", a->ctx.cluster->file, a->pos[0]);
	else
		rc = dhcp_show(a->ctx.cluster, b, a->backend, &out, &err);
	if (rc == 0)
		fputs(out.data, stdout);
	dhcp_buf_free(&out);
	ctx_close(&a->ctx);
	return rc < 0 ? cmd_error(NAME, "%s", err.msg) : 0;
}

/* ---------------------------------------------------------------- dispatch */

static const struct {
	const char *name;
	int (*run)(struct args *a);
	unsigned takes;		/* G_* options it accepts */
} subcommands[] = {
	{ "write", do_write, G_BACKEND | G_OUT | G_NOCHECK },
	{ "install", do_install, G_BACKEND | G_DIR | G_MAIN | G_RELOAD | G_NOCHECK },
	{ "assign", do_assign, G_OUT | G_NOCHECK },
	{ "mac", do_mac, G_OUT | G_NOCHECK | G_FORCE },
	{ "show", do_show, G_BACKEND },
};

static int dhcp_run(int argc, char **argv)
{
	unsigned i, sub = 0;
	struct args a = { 0 };
	int opt;

	/* "dim dhcp RANGE" is "dim dhcp write RANGE". */
	if (argc > 1) {
		for (i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
			if (!strcmp(argv[1], subcommands[i].name))
				break;
		if (i < sizeof(subcommands) / sizeof(subcommands[0])) {
			sub = i;
			argc--;
			argv++;
		}
	}
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":c:b:o:d:m:fh", options, NULL)) != -1) {
		if (ctx_option(&a.ctx, opt, optarg))
			continue;
		switch (opt) {
		case 'b':
			a.backend = dhcp_backend_find(optarg);
			if (!a.backend)
				return usage_error("unknown backend %s (isc, kea or dnsmasq)", optarg);
			a.given |= G_BACKEND;
			break;
		case 'o':
			a.out = optarg;
			a.given |= G_OUT;
			break;
		case 'd':
			a.dir = optarg;
			a.given |= G_DIR;
			break;
		case 'm':
			a.main = optarg;
			a.given |= G_MAIN;
			break;
		case OPT_RELOAD:
			a.reload_cmd = optarg;
			a.given |= G_RELOAD;
			break;
		case OPT_PIDFILE:
			a.pidfile = optarg;
			a.given |= G_RELOAD;
			break;
		case OPT_SOCKET:
			a.socket = optarg;
			a.given |= G_RELOAD;
			break;
		case OPT_NO_CHECK:
			a.no_check = true;
			a.given |= G_NOCHECK;
			break;
		case 'f':
			a.force = true;
			a.given |= G_FORCE;
			break;
		case 'h':
			return cmd_usage(&cmd_dhcp, 0);
		case ':':
			return usage_error("%s wants an argument", argv[optind - 1]);
		default:
			return usage_error("unknown option %s", argv[optind - 1]);
		}
	}
	for (i = 0; i < sizeof(given_names) / sizeof(given_names[0]); i++)
		if (a.given & ~subcommands[sub].takes & (1u << i))
			return usage_error("%s is not an option of dim dhcp %s", given_names[i],
					   subcommands[sub].name);
	a.pos = argv + optind;
	a.n_pos = argc - optind;
	return subcommands[sub].run(&a);
}

const struct dim_cmd cmd_dhcp = {
	.name = "dhcp",
	.summary = "keep each image server's DHCP configuration (ISC dhcpd, Kea, dnsmasq)",
	.usage = usage,
	.run = dhcp_run,
};
