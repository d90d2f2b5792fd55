/* SPDX-License-Identifier: MIT */
/*
 * Shared by the loader (cluster.c) and the node range parser (range.c); not
 * for the rest of dim, which sees only cluster.h.
 *
 * The naming tree.  A node at depth d (1..n_levels) is named by the first d
 * levels ("s01" has depth 1, "s01c1" depth 2, "s01c1b01" depth 3 in the
 * default naming).  Nodes of one depth are numbered 0.. in hierarchical
 * order (their "flat" index); the blades under node f of depth d are the
 * contiguous run [f * span, (f + 1) * span) with span the product of the
 * counts of the levels below d.  Linear names are flat indices plus one:
 * b<i+1> at the blade depth, mm<i+1> at the chassis depth.
 */
#ifndef DIM_CLUSTER_INT_H
#define DIM_CLUSTER_INT_H

#include <stddef.h>

#include "cluster.h"
#include "err.h"

/* At most this many blades (absent bays included) in one definition. */
#define CL_MAX_BLADES	1000000u
/* Level numbers are at most this big (9 digits). */
#define CL_MAX_NUM	999999999u

/* The number of nodes of depth d (the product of the first d counts). */
unsigned long cl_nodes_at(const struct cluster *c, unsigned depth);
/* The blades under one node of depth d. */
unsigned long cl_span(const struct cluster *c, unsigned depth);

struct cl_node {
	unsigned depth;		/* levels named: 1..n_levels */
	unsigned long flat;	/* index among the nodes of that depth */
};

/*
 * Resolve one node name (no brackets, no '-'): hierarchical at any depth
 * ("s01", "s01c2", "s1c2b3": numbers compare by value, padding optional),
 * linear ("b7", "mm3") or a management module ("s01c2mm", which is the
 * chassis).  0, or -EINVAL with a message naming the name.
 */
int cl_resolve(const struct cluster *c, const char *name, size_t len, struct cl_node *node,
	       struct dim_err *err);

#endif /* DIM_CLUSTER_INT_H */
