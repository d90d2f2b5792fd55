/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "err.h"

int dim_err_set(struct dim_err *e, int rc, const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return rc;
	e->rc = rc;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return rc;
}

void dim_err_prefix(struct dim_err *e, const char *fmt, ...)
{
	char buf[sizeof(e->msg)];
	size_t used;
	va_list ap;
	int n;

	if (!e)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf) - 2, fmt, ap);
	va_end(ap);
	used = n < 0 ? 0 : (size_t)n < sizeof(buf) - 2 ? (size_t)n : sizeof(buf) - 3;
	memcpy(buf + used, ": ", 3);
	used += 2;
	/* The old message after the new head, cut to fit. */
	n = (int)strnlen(e->msg, sizeof(e->msg) - 1);
	if ((size_t)n > sizeof(buf) - 1 - used)
		n = (int)(sizeof(buf) - 1 - used);
	memcpy(buf + used, e->msg, (size_t)n);
	buf[used + (size_t)n] = '\0';
	memcpy(e->msg, buf, sizeof(buf));
}
