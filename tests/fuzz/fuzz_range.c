/* SPDX-License-Identifier: MIT */
/*
 * Node ranges come from the command line and from definitions: any string
 * selects a set of present blades (or chassis) or fails with -EINVAL and a
 * message, never crashes, and never costs more than the nodes it names.
 * The first byte picks one of two clusters: three levels with an empty bay,
 * or four with a grouping level, numbers from 0 and other linear words.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const defs[] = {
	"<cluster xmlns='urn:dim:cluster:1' name='small'>"
	"<management name='mn' address='10.77.255.1'/>"
	"<naming><level name='server' prefix='s' count='3' pad='2'/>"
	"<level name='chassis' prefix='c' count='2'/><level name='blade' prefix='b' count='14' pad='2'/></naming>"
	"<imageservers><network base='10.77.0.0' prefix='24' strides='server:0.0.1.0'/>"
	"<address base='10.77.0.1' strides='server:0.0.1.0'/></imageservers>"
	"<chassis><address base='10.78.0.10' strides='server:0.0.1.0 chassis:1'/></chassis>"
	"<blades><address base='10.77.0.11' strides='server:0.0.1.0 chassis:14 blade:1'/></blades>"
	"<absent nodes='s02c2b[10-14],b1'/></cluster>",

	"<cluster xmlns='urn:dim:cluster:1' name='racks'>"
	"<management name='admin' address='10.9.0.1'/>"
	"<naming blade-linear='n' chassis-linear='enc' mm-suffix='cmm'>"
	"<level name='row' prefix='r' count='2'/><level name='server' prefix='s' count='3' role='server'/>"
	"<level name='chassis' prefix='e' count='2' first='0'/><level name='node' prefix='n' count='10' pad='3'/></naming>"
	"<imageservers><network base='10.20.0.0' prefix='25' strides='row:0.0.2.0 server:0.0.0.128'/>"
	"<address base='10.20.0.126' strides='row:0.0.2.0 server:128'/></imageservers>"
	"<chassis><address base='10.9.1.1' strides='row:16 server:4 chassis:1'/></chassis>"
	"<blades><address base='10.20.0.1' strides='row:0.0.2.0 server:128 chassis:10 node:1'/></blades>"
	"</cluster>",
};

static struct cluster *clusters[2];

static unsigned popcount(const struct cl_selection *s)
{
	unsigned i, n = 0;

	for (i = 0; i < s->n; i++)
		n += cl_selected(s, i);
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cl_selection sel;
	struct dim_err err;
	const struct cluster *c;
	char *range;
	unsigned i;
	int rc;

	if (!size)
		return 0;
	if (!clusters[0]) {
		for (i = 0; i < 2; i++)
			if (cluster_load_buffer(defs[i], strlen(defs[i]), "fuzz.xml", &clusters[i], &err) < 0)
				abort();
	}
	c = clusters[data[0] & 1];
	range = malloc(size);
	if (!range)
		return 0;
	memcpy(range, data + 1, size - 1);
	range[size - 1] = '\0';

	rc = cluster_select_blades(c, range, &sel, &err);
	if (rc == 0) {
		if (!sel.count || sel.count != popcount(&sel) || sel.n != c->n_blades)
			abort();
		for (i = 0; i < sel.n; i++)
			if (cl_selected(&sel, i) && c->blades[i].absent)
				abort();
		cl_selection_free(&sel);
	} else if ((rc != -EINVAL && rc != -ENOMEM) || !err.msg[0] || sel.bits) {
		abort();
	}
	rc = cluster_select_chassis(c, range, &sel, &err);
	if (rc == 0) {
		if (!sel.count || sel.count != popcount(&sel) || sel.n != c->n_chassis)
			abort();
		cl_selection_free(&sel);
	} else if ((rc != -EINVAL && rc != -ENOMEM) || !err.msg[0] || sel.bits) {
		abort();
	}
	/* A single name resolves to the node that carries it. */
	{
		const struct cl_blade *b = cluster_find_blade(c, range);

		if (b && cluster_find_blade(c, b->name) != b)
			abort();
	}
	free(range);
	return 0;
}
