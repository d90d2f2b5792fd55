/* SPDX-License-Identifier: MIT */
/*
 * What dim list prints: blades or chassis of a selection as a table or as
 * JSON, written to a stream the caller gives (the command passes stdout,
 * the tests a memory stream).
 */
#ifndef DIM_LIST_H
#define DIM_LIST_H

#include <stdbool.h>
#include <stdio.h>

#include "cluster.h"

/* name, linear, address, MAC, image server, image; "-" (JSON: null) where there is none. */
int list_blades(FILE *out, const struct cluster *c, const struct cl_selection *sel, bool json);
/* name, linear, management module, its address, image server. */
int list_chassis(FILE *out, const struct cluster *c, const struct cl_selection *sel, bool json);
/* s as a JSON string, quotes included (RFC 8259 section 7). */
void json_string(FILE *out, const char *s);

#endif /* DIM_LIST_H */
