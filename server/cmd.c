/* SPDX-License-Identifier: MIT */
/* Helpers every command uses to speak to the user. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cluster.h"
#include "cmd.h"

int cmd_error(const char *name, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "dim %s: ", name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

int cmd_usage(const struct dim_cmd *cmd, int to_stderr)
{
	fputs(cmd->usage, to_stderr ? stderr : stdout);
	return to_stderr ? 2 : 0;
}

int cmd_usage_error(const char *name, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "dim %s: ", name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n(dim %s --help shows the options)\n", name);
	return 2;
}

bool cmd_uint(const char *s, unsigned min, unsigned max, unsigned *out)
{
	unsigned long v;
	char *end;

	if (!s || *s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return false;
	*out = (unsigned)v;
	return true;
}

int cmd_this_server(const char *name, const struct cluster *c, const struct cl_server **s)
{
	char host[256];

	if (gethostname(host, sizeof(host)) < 0)
		return cmd_usage_error(name, "name the image server (gethostname: %s)",
				       strerror(errno));
	host[sizeof(host) - 1] = '\0';
	host[strcspn(host, ".")] = '\0';
	*s = cluster_find_server(c, host);
	if (!*s)
		return cmd_usage_error(name, "name the image server: this host, %s, is none of %s's",
				       host, c->name);
	return 0;
}

int cmd_split_words(char *s, char **argv, int max)
{
	char *save = NULL, *w;
	int n = 0;

	for (w = strtok_r(s, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
		if (n == max - 1)
			return -E2BIG;
		argv[n++] = w;
	}
	argv[n] = NULL;
	return n;
}
