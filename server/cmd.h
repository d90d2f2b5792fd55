/* SPDX-License-Identifier: MIT */
/*
 * The dim commands.  Each lives in its own file (cmd_<name>.c) with its usage
 * text, parses its arguments, calls the library and prints.  dim.c holds the
 * one table that registers them.
 */
#ifndef DIM_CMD_H
#define DIM_CMD_H

#include <stdbool.h>

struct dim_cmd {
	const char *name;
	const char *summary;	/* one line for "dim --help" */
	const char *usage;	/* the whole --help text */
	int (*run)(int argc, char **argv);	/* argv[0] is the command name */
};

extern const struct dim_cmd cmd_bcadmin;
extern const struct dim_cmd cmd_bctool;
extern const struct dim_cmd cmd_buildzimage;
extern const struct dim_cmd cmd_dhcp;
extern const struct dim_cmd cmd_list;
extern const struct dim_cmd cmd_nfs;
extern const struct dim_cmd cmd_image;
extern const struct dim_cmd cmd_sync_master;
extern const struct dim_cmd cmd_sync_server;
extern const struct dim_cmd cmd_sync_image;
extern const struct dim_cmd cmd_tftp;

/* Print "dim NAME: message" to stderr; returns 1, the usual failure status. */
__attribute__((format(printf, 2, 3)))
int cmd_error(const char *name, const char *fmt, ...);

/* Print the usage to stdout (on --help) or stderr (on a usage error). */
int cmd_usage(const struct dim_cmd *cmd, int to_stderr);

/* "dim NAME: message" and a pointer to --help on stderr; returns 2. */
__attribute__((format(printf, 2, 3)))
int cmd_usage_error(const char *name, const char *fmt, ...);

/* A decimal option value from min to max; false for anything else. */
bool cmd_uint(const char *s, unsigned min, unsigned max, unsigned *out);

struct cluster;
struct cl_server;

/*
 * The image server this host is: its host name up to the first dot, looked
 * up in the definition.  On failure prints a usage error naming the host and
 * returns 2; 0 with *s set otherwise.
 */
int cmd_this_server(const char *name, const struct cluster *c, const struct cl_server **s);

/* "systemctl restart tftpd-hpa" into argv words at spaces and tabs, in place:
 * no quoting, no shell.  The word count, or -E2BIG past max - 1 words. */
int cmd_split_words(char *s, char **argv, int max);

#endif /* DIM_CMD_H */
