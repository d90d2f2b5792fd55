/* SPDX-License-Identifier: MIT */
/*
 * dim bctool: per-blade power, inventory and MAC discovery through the
 * chassis management modules (or the nodes' BMCs).  The work is in power.c
 * (jobs, credentials, discovery verdicts), bc_snmp.c and ipmi.c; discover
 * records MACs in the state and, with --update-dhcp, rewrites the image
 * servers' DHCP files through dhcp_gen.c / dhcp_apply.c, as dim dhcp does.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "context.h"
#include "dhcp_apply.h"
#include "mac.h"
#include "power.h"

#define NAME "bctool"
#define STATE_TIMEOUT_MS	30000
#define LOCK_TIMEOUT_MS		30000

static const char usage[] =
	"usage: dim bctool RANGE on|off|softoff|cycle|reset|state|macs|inventory [OPTIONS]\n"
	"       dim bctool RANGE discover [--update-dhcp] [--force] [--nic N] [--wait SECONDS]\n"
	"\n"
	"Per-blade hardware operations through each chassis' management module\n"
	"(BladeCenter, SNMP) or each node's BMC (IPMI), as the cluster definition's\n"
	"credentials say (dim-cluster(5)).  Management modules are worked on in\n"
	"parallel, the blades of one chassis in order; bladeExists is read first and\n"
	"an empty bay is refused.  One line per blade, then a summary.\n"
	"\n"
	"  on, off      power on or off (a blade already so is left alone)\n"
	"  softoff      ask the OS to shut down, then power off\n"
	"  cycle        off, --cycle-wait, on (an off blade is just powered on)\n"
	"  reset        restart a running blade (an off blade is an error)\n"
	"  state        the power state\n"
	"  macs         the MAC addresses the module reports\n"
	"  inventory    machine type, model, serial number, UUID, health\n"
	"  discover     wait for the module's inventory (bladeInventoryReady), read each\n"
	"               blade's MACs, record the boot NIC's MAC in dim's state: the first\n"
	"               onboard MAC, or onboard NIC --nic N.  A MAC seen on two bays, or\n"
	"               the definition's MAC of another blade, is refused; a blade moved\n"
	"               (its MAC recorded for another blade) or replaced (another MAC\n"
	"               recorded for it) is refused unless --force.  The others are\n"
	"               recorded.\n"
	"\n"
	"  -j, --parallel N       management modules at once [32]\n"
	"  -t, --timeout MS       per try of a request [the credentials', else 1000]\n"
	"  -r, --retries N        tries after the first [the credentials', else 1]\n"
	"      --stagger MS       on: pause between two blades of one chassis [0]\n"
	"      --cycle-wait MS    cycle: how long a blade stays off [5000]\n"
	"      --wait SECONDS     discover: the longest wait for the inventory [120]\n"
	"      --nic N            discover: the boot NIC is onboard NIC N (1-8)\n"
	"      --update-dhcp      discover: write the affected image servers' DHCP files\n"
	"                         at once (as dim dhcp write; then dim dhcp install there)\n"
	"  -o, --out DIR          with --update-dhcp: the management node's set\n"
	"                         [" DHCP_OUT_DIR "]\n"
	"      --no-check         with --update-dhcp: skip the DHCP server's check\n"
	"  -f, --force            discover: accept moved and replaced blades\n"
	"  -q, --quiet            only failures and the summary\n"
	DIM_CTX_USAGE
	"  -h, --help             this text\n"
	"\n"
	"A dead module fails its blades after (retries + 1) x timeout (twice that for\n"
	"SNMPv3, whose session starts with an engine ID probe).  Secrets come from the\n"
	"credentials file only and are never printed.\n"
	"\n"
	"Exit status: 0 every blade done, 1 any failed (or a conflict), 2 usage error.\n";

enum {
	OPT_STAGGER = 256,
	OPT_CYCLE,
	OPT_WAIT,
	OPT_NIC,
	OPT_UPDATE_DHCP,
	OPT_NO_CHECK,
};

static const struct option options[] = {
	{ "parallel", required_argument, NULL, 'j' },
	{ "timeout", required_argument, NULL, 't' },
	{ "retries", required_argument, NULL, 'r' },
	{ "stagger", required_argument, NULL, OPT_STAGGER },
	{ "cycle-wait", required_argument, NULL, OPT_CYCLE },
	{ "wait", required_argument, NULL, OPT_WAIT },
	{ "nic", required_argument, NULL, OPT_NIC },
	{ "update-dhcp", no_argument, NULL, OPT_UPDATE_DHCP },
	{ "out", required_argument, NULL, 'o' },
	{ "no-check", no_argument, NULL, OPT_NO_CHECK },
	{ "force", no_argument, NULL, 'f' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	DIM_CTX_OPTIONS,
	{ NULL, 0, NULL, 0 },
};

struct args {
	struct dim_ctx ctx;
	struct power_job job;
	unsigned nic;
	bool update_dhcp, no_check, force, quiet;
	const char *out;
};

#define usage_error(...) cmd_usage_error(NAME, __VA_ARGS__)


/* ---------------------------------------------------------------- results */

struct collect {
	const struct cluster *c;
	struct power_result *by_blade;	/* [blade] */
	bool *have;
	unsigned n, failed;
};

static int collect_one(const struct power_result *r, void *arg)
{
	struct collect *k = arg;

	if (r->blade == CL_NONE || r->blade >= k->c->n_blades)
		return 0;
	k->by_blade[r->blade] = *r;
	if (!k->have[r->blade]) {
		k->have[r->blade] = true;
		k->n++;
		k->failed += r->rc < 0;
	}
	return 0;
}

static void print_results(const struct collect *k, bool quiet)
{
	unsigned i;

	for (i = 0; i < k->c->n_blades; i++) {
		const struct power_result *r = &k->by_blade[i];

		if (!k->have[i] || (quiet && r->rc >= 0))
			continue;
		printf("%s: %s%s\n", k->c->blades[i].name, r->rc < 0 ? "failed: " : "", r->text);
	}
}

static double elapsed(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

static unsigned count_chassis(const struct cluster *c, const struct cl_selection *sel)
{
	unsigned i, n = 0, last = CL_NONE;

	for (i = 0; i < c->n_blades; i++)
		if (cl_selected(sel, i) && c->blades[i].chassis != last) {
			last = c->blades[i].chassis;
			n++;
		}
	return n;
}

/* ---------------------------------------------------------------- discover */

struct dhcp_out {
	const struct cl_server *server;
	struct dhcp_conf conf;
	struct dhcp_stage *stage;
};

static void dhcp_out_free(struct dhcp_out *d, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		dhcp_stage_abort(d[i].stage);
		dhcp_conf_free(&d[i].conf);
	}
	free(d);
}

/* Generate and check the files of the servers in want; nothing in place yet. */
static int dhcp_prepare(const struct cluster *c, const bool *want, const struct args *a,
			struct dhcp_out **out, unsigned *n_out, struct dim_err *err)
{
	const char *base = a->out ? a->out : DHCP_OUT_DIR;
	struct dhcp_out *d = calloc(c->n_servers ? c->n_servers : 1, sizeof(*d));
	unsigned i, n = 0;
	int rc;

	if (!d)
		return dim_err_set(err, -ENOMEM, "out of memory");
	for (i = 0; i < c->n_servers; i++) {
		struct dhcp_target t = { .no_check = a->no_check };
		char dir[4096];

		if (!want[i])
			continue;
		snprintf(dir, sizeof(dir), "%s/%s", base, c->servers[i].name);
		t.dir = dir;
		d[n].server = &c->servers[i];
		rc = dhcp_generate(c, &c->servers[i], NULL, DHCP_LIVE_DIR, &d[n].conf, err);
		if (rc < 0)
			goto err;
		n++;
		rc = dhcp_stage(&d[n - 1].conf, &t, &d[n - 1].stage, err);
		if (rc < 0)
			goto err;
	}
	*out = d;
	*n_out = n;
	return 0;
err:
	dhcp_out_free(d, n);
	return rc;
}

static int dhcp_commit(struct dhcp_out *d, unsigned n, struct dim_err *err)
{
	unsigned i;
	int rc;

	for (i = 0; i < n; i++) {
		char path[4096];
		bool checked = dhcp_stage_checked(d[i].stage);

		snprintf(path, sizeof(path), "%s", dhcp_stage_path(d[i].stage));
		rc = dhcp_stage_commit(d[i].stage, err);
		d[i].stage = NULL;
		if (rc < 0)
			return rc;
		printf("%s: %s, %u host%s: %s (%s%s)\n", d[i].server->name, d[i].conf.backend->name,
		       d[i].conf.n_hosts, d[i].conf.n_hosts == 1 ? "" : "s", path,
		       checked ? "checked by " : "not checked",
		       checked ? d[i].conf.backend->daemon : "");
	}
	return 0;
}

static int discover_record(struct args *a, const struct collect *k, struct dim_err *err)
{
	const struct cluster *seen = a->ctx.cluster;
	struct cluster *def = NULL, *cur = NULL, *gen = NULL;
	struct power_found *found = NULL;
	struct dhcp_out *dout = NULL;
	unsigned i, n = 0, n_dout = 0, stops, recorded = 0;
	bool *want = NULL, in_tx = false;
	int lock = -1, rc;
	char line[256], mac[18], old[18];

	found = calloc(seen->n_blades ? seen->n_blades : 1, sizeof(*found));
	want = calloc(seen->n_servers ? seen->n_servers : 1, sizeof(*want));
	if (!found || !want) {
		rc = dim_err_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < seen->n_blades; i++) {
		if (!k->have[i] || k->by_blade[i].rc < 0)
			continue;
		found[n].blade = i;
		found[n].has_mac = power_boot_mac(&k->by_blade[i], a->nic, found[n].mac);
		n++;
	}
	if (a->update_dhcp) {
		lock = dhcp_lock_dir(a->out ? a->out : DHCP_OUT_DIR, LOCK_TIMEOUT_MS, err);
		if (lock < 0) {
			rc = lock;
			goto out;
		}
	}
	/* The MACs were read without the lock; what others recorded meanwhile counts. */
	rc = state_begin(a->ctx.state, "dim bctool discover", STATE_TIMEOUT_MS, err);
	if (rc < 0)
		goto out;
	in_tx = true;
	rc = cluster_load(a->ctx.cluster_path, &def, err);
	if (!rc)
		rc = cluster_load(a->ctx.cluster_path, &cur, err);
	if (!rc)
		rc = state_apply(a->ctx.state, cur, err);
	if (rc < 0)
		goto out;
	rc = 0;
	if (def->n_blades != seen->n_blades) {
		rc = dim_err_set(err, -ESTALE, "%s changed while the modules were read; run again",
				 a->ctx.cluster_path);
		goto out;
	}
	stops = power_discover_judge(def, cur, found, n, a->force);

	for (i = 0; i < n; i++) {
		struct power_found *f = &found[i];
		const struct cl_blade *b = &cur->blades[f->blade];
		const char *other = f->other != CL_NONE ? cur->blades[f->other].name : "";
		bool take = false;

		mac_format(f->mac, mac);
		switch (f->verdict) {
		case PV_NEW:
			printf("%s: %s recorded\n", b->name, mac);
			take = true;
			break;
		case PV_SAME:
			if (!a->quiet)
				printf("%s: %s (unchanged)\n", b->name, mac);
			break;
		case PV_CHANGED:
			mac_format(f->old, old);
			if (a->force)
				printf("%s: %s recorded (was %s: a new blade in the bay)\n", b->name, mac,
				       old);
			else
				printf("%s: conflict: the bay reports %s, %s is recorded (a new blade in the bay? --force records it)\n",
				       b->name, mac, old);
			take = a->force;
			break;
		case PV_MOVED:
			if (a->force)
				printf("%s: %s recorded (taken from %s: the blade moved)\n", b->name, mac,
				       other);
			else
				printf("%s: conflict: %s is recorded for %s (the blade moved? --force moves it)\n",
				       b->name, mac, other);
			take = a->force;
			if (take)
				want[cur->blades[f->other].server] = true;
			break;
		case PV_DEFINED:
			printf("%s: conflict: %s is the MAC the definition gives %s (edit %s)\n",
			       b->name, mac, other, a->ctx.cluster_path ? a->ctx.cluster_path : "it");
			break;
		case PV_DUPLICATE:
			printf("%s: conflict: %s is also reported for %s; nothing recorded for either\n",
			       b->name, mac, other);
			break;
		case PV_NO_MAC:
			printf("%s: conflict: no MAC for the boot NIC%s in what the module reports\n",
			       b->name, a->nic ? " (--nic)" : "");
			break;
		}
		if (!take)
			continue;
		rc = state_set_mac(a->ctx.state, b->name, f->mac, "bctool discover", a->force, err);
		if (rc < 0)
			goto out;
		snprintf(line, sizeof(line), "bctool discover %s %s%s", b->name, mac,
			 a->force && f->verdict != PV_NEW ? " (forced)" : "");
		rc = state_log(a->ctx.state, line, err);
		if (rc < 0)
			goto out;
		want[b->server] = true;
		recorded++;
	}
	if (a->update_dhcp && recorded) {
		rc = cluster_load(a->ctx.cluster_path, &gen, err);
		if (!rc)
			rc = state_apply(a->ctx.state, gen, err);
		if (rc < 0)
			goto out;
		rc = dhcp_prepare(gen, want, a, &dout, &n_dout, err);
		if (rc < 0)
			goto out;
	}
	rc = state_commit(a->ctx.state, err);
	in_tx = false;
	if (rc < 0)
		goto out;
	if (dout) {
		rc = dhcp_commit(dout, n_dout, err);
		if (rc < 0) {
			dim_err_prefix(err, "the MACs are recorded, but not every DHCP file is written");
			goto out;
		}
	} else if (recorded) {
		fprintf(stderr, "dim " NAME ": note: %u MAC%s recorded; dim dhcp write (or --update-dhcp) puts %s in the DHCP files\n",
			recorded, recorded == 1 ? "" : "s", recorded == 1 ? "it" : "them");
	}
	rc = (int)stops;
	if (stops)
		dim_err_set(err, -EEXIST, "%u blade%s not recorded (see above)", stops,
			    stops == 1 ? "" : "s");
out:
	if (in_tx)
		state_rollback(a->ctx.state);
	if (dout)
		dhcp_out_free(dout, n_dout);
	if (def)
		cluster_free(def);
	if (cur)
		cluster_free(cur);
	if (gen)
		cluster_free(gen);
	if (lock >= 0)
		close(lock);
	free(found);
	free(want);
	return rc;
}

/* ---------------------------------------------------------------- main */

static int bctool_run(int argc, char **argv)
{
	struct args a = { .job = { .opts = { .retries = -1, .cycle_ms = POWER_CYCLE_MS,
					     .ready_ms = POWER_READY_MS } } };
	struct cl_selection sel = { 0 };
	struct dim_err err = { 0 };
	struct collect k = { 0 };
	struct timespec t0;
	unsigned u;
	int opt, op, rc, status = 0;

	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":c:j:t:r:o:fqh", options, NULL)) != -1) {
		if (ctx_option(&a.ctx, opt, optarg))
			continue;
		switch (opt) {
		case 'j':
			if (!cmd_uint(optarg, 1, POWER_MAX_PARALLEL, &a.job.opts.parallel))
				return usage_error("--parallel wants 1 to %d", POWER_MAX_PARALLEL);
			break;
		case 't':
			if (!cmd_uint(optarg, 1, POWER_MAX_TIMEOUT_MS, &a.job.opts.timeout_ms))
				return usage_error("--timeout wants milliseconds, 1 to %d",
						   POWER_MAX_TIMEOUT_MS);
			break;
		case 'r':
			if (!cmd_uint(optarg, 0, POWER_MAX_RETRIES, &u))
				return usage_error("--retries wants 0 to %d", POWER_MAX_RETRIES);
			a.job.opts.retries = (int)u;
			break;
		case OPT_STAGGER:
			if (!cmd_uint(optarg, 0, 600000, &a.job.opts.stagger_ms))
				return usage_error("--stagger wants milliseconds, 0 to 600000");
			break;
		case OPT_CYCLE:
			if (!cmd_uint(optarg, 0, 600000, &a.job.opts.cycle_ms))
				return usage_error("--cycle-wait wants milliseconds, 0 to 600000");
			break;
		case OPT_WAIT:
			if (!cmd_uint(optarg, 0, 3600, &u))
				return usage_error("--wait wants seconds, 0 to 3600");
			a.job.opts.ready_ms = u * 1000;
			break;
		case OPT_NIC:
			if (!cmd_uint(optarg, 1, POWER_MAX_MACS, &a.nic))
				return usage_error("--nic wants 1 to %d", POWER_MAX_MACS);
			break;
		case OPT_UPDATE_DHCP:
			a.update_dhcp = true;
			break;
		case 'o':
			a.out = optarg;
			break;
		case OPT_NO_CHECK:
			a.no_check = true;
			break;
		case 'f':
			a.force = true;
			break;
		case 'q':
			a.quiet = true;
			break;
		case 'h':
			return cmd_usage(&cmd_bctool, 0);
		case ':':
			return usage_error("%s wants an argument", argv[optind - 1]);
		default:
			return usage_error("unknown option %s", argv[optind - 1]);
		}
	}
	if (argc - optind != 2)
		return usage_error("wants RANGE and an operation");
	op = power_op_find(argv[optind + 1]);
	if (op < 0 || op == POWER_LIST)
		return usage_error("unknown operation %s (on, off, softoff, cycle, reset, state, "
				   "macs, inventory, discover)", argv[optind + 1]);
	if (op != POWER_DISCOVER && (a.update_dhcp || a.force || a.nic || a.out || a.no_check))
		return usage_error("--update-dhcp, --force, --nic, --out and --no-check are for discover");
	if ((a.out || a.no_check) && !a.update_dhcp)
		return usage_error("--out and --no-check go with --update-dhcp");
	a.job.op = (enum power_op)op;

	rc = ctx_open(&a.ctx, op == POWER_DISCOVER, &err);
	if (rc < 0)
		return cmd_error(NAME, "%s", err.msg);
	if (a.ctx.state_warnings)
		fprintf(stderr, "dim " NAME ": warning: %s\n", err.msg);
	rc = cluster_select_blades(a.ctx.cluster, argv[optind], &sel, &err);
	if (rc < 0)
		goto err_msg;
	a.job.sel = &sel;
	k.c = a.ctx.cluster;
	k.by_blade = calloc(k.c->n_blades ? k.c->n_blades : 1, sizeof(*k.by_blade));
	k.have = calloc(k.c->n_blades ? k.c->n_blades : 1, sizeof(*k.have));
	if (!k.by_blade || !k.have) {
		rc = dim_err_set(&err, -ENOMEM, "out of memory");
		goto err_msg;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = power_run(a.ctx.cluster, &a.job, collect_one, &k, &err);
	if (rc < 0)
		goto err_msg;
	if (op == POWER_DISCOVER) {
		/* Blades whose MACs could not be read say why; the rest are judged. */
		for (u = 0; u < k.c->n_blades; u++)
			if (k.have[u] && k.by_blade[u].rc < 0)
				printf("%s: failed: %s\n", k.c->blades[u].name, k.by_blade[u].text);
	} else {
		print_results(&k, a.quiet);
	}
	printf("%u blade%s: %u ok, %u failed (%u management module%s, %.2f s)\n", k.n,
	       k.n == 1 ? "" : "s", k.n - k.failed, k.failed, count_chassis(k.c, &sel),
	       count_chassis(k.c, &sel) == 1 ? "" : "s", elapsed(&t0));
	status = k.failed ? 1 : 0;
	if (op == POWER_DISCOVER) {
		fflush(stdout);
		rc = discover_record(&a, &k, &err);
		if (rc < 0)
			goto err_msg;
		if (rc > 0) {
			cmd_error(NAME, "%s", err.msg);
			status = 1;
		}
	}
	free(k.by_blade);
	free(k.have);
	cl_selection_free(&sel);
	ctx_close(&a.ctx);
	return status;

err_msg:
	fflush(stdout);
	free(k.by_blade);
	free(k.have);
	cl_selection_free(&sel);
	ctx_close(&a.ctx);
	return cmd_error(NAME, "%s", err.msg);
}

const struct dim_cmd cmd_bctool = {
	.name = "bctool",
	.summary = "per-blade power, inventory and MAC discovery (management module, IPMI)",
	.usage = usage,
	.run = bctool_run,
};
