/* SPDX-License-Identifier: MIT */
/*
 * config/dim-cluster.rng, compiled into dim by the Makefile (gen/schema.c),
 * so a definition is always checked against the schema of the binary that
 * reads it.  NUL-terminated.
 */
#ifndef DIM_SCHEMA_H
#define DIM_SCHEMA_H

extern const char dim_schema_rng[];

#endif /* DIM_SCHEMA_H */
