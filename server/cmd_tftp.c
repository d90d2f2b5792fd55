/* SPDX-License-Identifier: MIT */
/*
 * dim tftp: tftpd-hpa's configuration on an image server, from the cluster
 * definition (install), or on stdout (show).  The work is in tftp.c.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "context.h"
#include "runner.h"
#include "tftp.h"

#define NAME "tftp"
#define MAX_RELOAD_WORDS	64
#define RELOAD_TIMEOUT_MS	60000

static const char usage[] =
	"usage: dim tftp install [SERVER] [-f FILE] [--reload 'COMMAND ARGS']\n"
	"                        [-u USER] [--options OPTS]\n"
	"       dim tftp show [SERVER] [-u USER] [--options OPTS]\n"
	"\n"
	"tftpd-hpa on an image server: it serves the server's TFTP root, STORAGE/tftp,\n"
	"where dim buildzimage --publish puts each image's boot files (STORAGE/tftp/IMAGE/)\n"
	"and from which blades fetch the boot file dim dhcp names, IMAGE/KERNEL.\n"
	"\n"
	"  install   on image server SERVER (default: this host's name): write tftpd-hpa's\n"
	"            defaults file (a temporary name, fsync, rename; left alone when it\n"
	"            holds the same text), create the TFTP root, then run the --reload\n"
	"            command if one is given\n"
	"  show      the file install writes, on stdout\n"
	"\n"
	"The file sets, as shell variables tftpd-hpa's service sources:\n"
	"  TFTP_USERNAME   the user in.tftpd runs as after chrooting [tftp if that user\n"
	"                  exists (Debian's tftpd-hpa makes it), else nobody]\n"
	"  TFTP_DIRECTORY  STORAGE/tftp of SERVER\n"
	"  TFTP_ADDRESS    SERVER's address on its boot network, port 69\n"
	"  TFTP_OPTIONS    [" TFTP_DEFAULT_OPTIONS "]: chrooted, read-only, one Ethernet\n"
	"                  frame per block\n"
	"\n"
	"  -f, --file FILE        install: the file [" TFTP_DEFAULTS_FILE "]\n"
	"      --reload 'CMD ARGS'  install: run this after a change (words split at spaces,\n"
	"                         no shell), e.g. 'systemctl restart tftpd-hpa' [none: the\n"
	"                         daemon reads the file when it starts]\n"
	"  -u, --user USER        TFTP_USERNAME\n"
	"      --options OPTS     TFTP_OPTIONS: in.tftpd options, each starting with '-'\n"
	"                         (--name=value for a value)\n"
	DIM_CTX_USAGE
	"  -h, --help\n"
	"\n"
	"Without systemd (a namespace, a container), start the daemon from the file:\n"
	"  . FILE; in.tftpd --foreground --listen --user \"$TFTP_USERNAME\" \\\n"
	"      --address \"$TFTP_ADDRESS\" $TFTP_OPTIONS \"$TFTP_DIRECTORY\"\n"
	"\n"
	"Exit status: 0 done, 1 failed, 2 usage error.\n";

enum {
	OPT_RELOAD = 256,
	OPT_OPTIONS,
};

static const struct option options[] = {
	{ "file", required_argument, NULL, 'f' },
	{ "reload", required_argument, NULL, OPT_RELOAD },
	{ "user", required_argument, NULL, 'u' },
	{ "options", required_argument, NULL, OPT_OPTIONS },
	{ "help", no_argument, NULL, 'h' },
	DIM_CTX_OPTIONS,
	{ NULL, 0, NULL, 0 },
};

enum verb { VERB_INSTALL, VERB_SHOW };

static const struct {
	const char *name;
	enum verb verb;
} verbs[] = {
	{ "install", VERB_INSTALL },
	{ "show", VERB_SHOW },
};

struct args {
	struct dim_ctx ctx;
	enum verb verb;
	const char *server;
	const char *file, *reload, *user, *options;
};

#define usage_error(...) cmd_usage_error(NAME, __VA_ARGS__)

static int parse_args(int argc, char **argv, struct args *a)
{
	size_t i;
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":f:u:hc:", options, NULL)) != -1) {
		if (ctx_option(&a->ctx, c, optarg))
			continue;
		switch (c) {
		case 'f':
			a->file = optarg;
			break;
		case OPT_RELOAD:
			a->reload = optarg;
			break;
		case 'u':
			a->user = optarg;
			break;
		case OPT_OPTIONS:
			a->options = optarg;
			break;
		case 'h':
			fputs(usage, stdout);
			return -1;
		case ':':
			return usage_error("%s needs a value", argv[optind - 1]);
		default:
			return usage_error("unknown option %s", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return usage_error("install or show?");
	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (!strcmp(argv[optind], verbs[i].name))
			break;
	if (i == sizeof(verbs) / sizeof(verbs[0]))
		return usage_error("unknown action \"%s\" (install or show)", argv[optind]);
	a->verb = verbs[i].verb;
	if (optind + 1 < argc)
		a->server = argv[optind + 1];
	if (optind + 2 < argc)
		return usage_error("unexpected argument \"%s\"", argv[optind + 2]);
	if (a->verb == VERB_SHOW && (a->file || a->reload))
		return usage_error("-f and --reload go with install");
	if (a->file && a->file[0] != '/')
		return usage_error("-f %s: an absolute path", a->file);
	return 0;
}

/* The named image server, or the one this host is. */
static int pick_server(const struct args *a, const struct cluster *c, const struct cl_server **s)
{
	if (a->server) {
		*s = cluster_find_server(c, a->server);
		if (!*s)
			return cmd_error(NAME, "%s: no image server of that name in %s", a->server,
					 c->file);
		return 0;
	}
	return cmd_this_server(NAME, c, s);
}

static int reload(const struct cl_server *s, const char *cmdline)
{
	struct runner_opts o = { .out_fd = -1, .null_stdin = 1, .timeout_ms = RELOAD_TIMEOUT_MS };
	char *copy = strdup(cmdline), *words[MAX_RELOAD_WORDS];
	struct dim_err err = { 0 };
	int rc;

	if (!copy)
		return cmd_error(NAME, "out of memory");
	if (cmd_split_words(copy, words, MAX_RELOAD_WORDS) <= 0) {
		free(copy);
		return usage_error("--reload wants a command and its arguments");
	}
	/* Its output is the admin's to read: stdout and stderr stay ours. */
	fflush(stdout);
	rc = runner_run((const char *const *)words, &o, NULL, &err);
	free(copy);
	if (rc < 0)
		return cmd_error(NAME, "%s: installed, but the reload failed: %s", s->name, err.msg);
	return 0;
}

static int tftp_run(int argc, char **argv)
{
	struct args a = { 0 };
	struct dim_err err = { 0 };
	struct tftp_defaults d;
	const struct cl_server *s;
	const struct cluster *c;
	const char *file;
	char *text = NULL;
	bool unchanged;
	int rc;

	rc = parse_args(argc, argv, &a);
	if (rc)
		return rc < 0 ? 0 : rc;
	if (a.reload) {
		/* Refused before anything is written. */
		char *copy = strdup(a.reload), *words[MAX_RELOAD_WORDS];
		int n = copy ? cmd_split_words(copy, words, MAX_RELOAD_WORDS) : -ENOMEM;

		free(copy);
		if (n <= 0)
			return usage_error("--reload wants a command and its arguments");
	}
	if (ctx_open(&a.ctx, false, &err) < 0)
		return cmd_error(NAME, "%s", err.msg);
	c = a.ctx.cluster;
	rc = pick_server(&a, c, &s);
	if (rc)
		goto out;
	if (tftp_defaults_make(c, s, a.user, a.options, &d, &err) < 0 ||
	    tftp_defaults_text(c, s, &d, &text, &err) < 0) {
		rc = cmd_error(NAME, "%s", err.msg);
		goto out;
	}
	if (a.verb == VERB_SHOW) {
		fputs(text, stdout);
		rc = fflush(stdout) ? cmd_error(NAME, "stdout: %s", strerror(errno)) : 0;
		goto out;
	}

	file = a.file ? a.file : TFTP_DEFAULTS_FILE;
	if (tftp_defaults_install(file, text, &d, &unchanged, &err) < 0) {
		rc = cmd_error(NAME, "%s", err.msg);
		goto out;
	}
	printf("%s: %s%s: TFTP root %s on %s as %s\n", s->name, file,
	       unchanged ? " unchanged" : "", d.directory, d.address, d.username);
	rc = 0;
	/* With --reload the daemon is told even when nothing changed: an earlier
	 * install may have written the file and failed to reload. */
	if (!a.reload) {
		if (unchanged)
			goto out;
		fprintf(stderr,
			"dim " NAME ": note: tftpd-hpa reads %s when it starts: restart it "
			"(systemctl restart tftpd-hpa), or give --reload\n", file);
		goto out;
	}
	rc = reload(s, a.reload);
	if (!rc)
		printf("%s: reloaded: ran %s\n", s->name, a.reload);
out:
	free(text);
	ctx_close(&a.ctx);
	return rc;
}

const struct dim_cmd cmd_tftp = {
	.name = NAME,
	.summary = "configure tftpd-hpa on an image server to serve its boot files",
	.usage = usage,
	.run = tftp_run,
};
