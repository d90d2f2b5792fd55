/* SPDX-License-Identifier: MIT */
/* Helpers every command uses to speak to the user. */
#include <stdarg.h>
#include <stdio.h>

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
