/* SPDX-License-Identifier: MIT */
/* Placeholder until the state store lands. */
#include <errno.h>
#include <stdlib.h>

#include "state.h"

int state_open(const char *path, bool readonly, struct dim_state **st, struct dim_err *err)
{
	(void)readonly;
	*st = NULL;
	return dim_err_set(err, -ENOSYS, "%s: the state store is not written yet", path);
}

void state_close(struct dim_state *st)
{
	(void)st;
}

int state_apply(struct dim_state *st, struct cluster *c, struct dim_err *err)
{
	(void)st;
	(void)c;
	(void)err;
	return -ENOSYS;
}
