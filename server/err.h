/* SPDX-License-Identifier: MIT */
/*
 * Errors of the toolkit's libraries: a negative errno for the program and one
 * message for the user, written by the code that knows the context
 * ("cluster.xml:42: blade s01c1b07: MAC 52:54:00:00:00:07 already used by
 * s01c1b03").  Libraries never print; commands print err->msg once.
 */
#ifndef DIM_ERR_H
#define DIM_ERR_H

struct dim_err {
	int rc;			/* the negative errno returned with it */
	char msg[1024];
};

/* Set the message (printf-style) and return rc, so "return dim_err_set(e, -EINVAL, ...)". */
__attribute__((format(printf, 3, 4)))
int dim_err_set(struct dim_err *e, int rc, const char *fmt, ...);

/* Put "what: " in front of the message already there (adds context on the way up). */
__attribute__((format(printf, 2, 3)))
void dim_err_prefix(struct dim_err *e, const char *fmt, ...);

#endif /* DIM_ERR_H */
