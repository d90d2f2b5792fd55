/* SPDX-License-Identifier: MIT */
/*
 * Cluster definitions are input written by people and copied around: any
 * bytes must load into a model that keeps the format's promises, or fail
 * with one message -- never crash, hang or let a character through that
 * could break a DHCP or NFS configuration file.
 */
#include <arpa/inet.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What the writers rely on: names and paths of these characters only. */
static void safe(const char *s, const char *extra)
{
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || strchr(extra, *s)))
			abort();
}

static void check_model(const struct cluster *c)
{
	struct cl_selection sel;
	struct dim_err err;
	unsigned i, k;

	safe(c->name, "._-");
	safe(c->mgmt_name, ".-");
	for (i = 0; i < c->n_servers; i++) {
		const struct cl_server *s = &c->servers[i];

		safe(s->name, "");
		safe(s->storage, "/._+-");
		if (s->storage[0] != '/' || strstr(s->storage, "/../") || strstr(s->storage, "//"))
			abort();
		if ((s->addr.s_addr & s->mask.s_addr) != s->net.s_addr)
			abort();
		if (s->first_blade + s->n_blades > c->n_blades)
			abort();
		if (cluster_find_server(c, s->name) != s)
			abort();
	}
	for (i = 0; i < c->n_chassis; i++) {
		const struct cl_chassis *ch = &c->chassis[i];

		safe(ch->mm_name, "");
		if (ch->server >= c->n_servers || (ch->cred != CL_NONE && ch->cred >= c->n_creds))
			abort();
		if (cluster_find_chassis(c, ch->mm_name) != ch || cluster_find_chassis(c, ch->linear) != ch)
			abort();
	}
	for (i = 0; i < c->n_blades; i++) {
		const struct cl_blade *b = &c->blades[i];
		const struct cl_server *s;

		safe(b->name, "");
		safe(b->linear, "");
		if (b->index != i || b->server >= c->n_servers || b->chassis >= c->n_chassis)
			abort();
		if (b->image != CL_NONE && (b->image >= c->n_images || b->absent))
			abort();
		s = &c->servers[b->server];
		if (!b->absent && (b->addr.s_addr & s->mask.s_addr) != s->net.s_addr)
			abort();
		if (cluster_find_blade(c, b->name) != b || cluster_find_blade(c, b->linear) != b)
			abort();
	}
	for (i = 0; i < c->n_images; i++) {
		const struct cl_image *img = &c->images[i];

		safe(img->name, "._-");
		safe(img->kernel, "/._+-");
		if (strstr(img->kernel, ".."))
			abort();
		if (strcmp(img->mode, "bind") && strcmp(img->mode, "overlay"))
			abort();
		if (strpbrk(img->distribution, "\"'\\;#{}$`\n"))
			abort();
		for (k = 0; k < img->n_shared; k++)
			safe(img->shared[k], "._+-");
		for (k = 0; k < img->n_keep_out; k++)
			safe(img->keep_out[k], "/._+-*?[]");
		for (k = 0; k < img->n_per_blade; k++)
			safe(img->per_blade[k], "/._+-");
	}
	if (cluster_select_blades(c, "all", &sel, &err) == 0)
		cl_selection_free(&sel);
	if (cluster_select_chassis(c, "all", &sel, &err) < 0)
		abort();
	cl_selection_free(&sel);
}

/*
 * Input that does not start with '<' fills the values of a template, one
 * per line, escaped so that the document stays well-formed: the fuzzer then
 * spends its time on the naming, rules, ranges and checks rather than on
 * XML syntax.
 */
static const char *const tmpl[] = {
	"<cluster xmlns='urn:dim:cluster:1' name='", "c",
	"'>\n<management name='", "mn", "' address='", "10.77.255.1",
	"'/>\n<naming blade-linear='", "b", "' chassis-linear='", "mm", "' mm-suffix='", "mm",
	"'>\n<level name='server' prefix='", "s", "' count='", "2", "' pad='", "2", "' role='", "server",
	"'/>\n<level name='", "chassis", "' prefix='c' count='", "1", "' first='", "1",
	"'/>\n<level name='blade' prefix='", "b", "' count='", "4", "' pad='", "2",
	"'/>\n</naming>\n<imageservers storage='", "/var/lib/dim", "' dhcp='", "isc",
	"'>\n<network base='", "10.77.0.0", "' prefix='", "24", "' strides='", "server:0.0.1.0",
	"'/>\n<address base='", "10.77.0.1", "' strides='", "server:0.0.1.0",
	"'/>\n<imageserver name='", "s02", "' storage='", "/srv/dim",
	"'/>\n</imageservers>\n<chassis credentials='", "bc", "'><address base='", "10.78.0.10",
	"' strides='", "server:0.0.1.0 chassis:1",
	"'/></chassis>\n<blades><address base='", "10.77.0.11", "' strides='", "server:0.0.1.0 chassis:14 blade:1",
	"'/></blades>\n<credentials name='bc' type='snmp' file='", "/etc/dim/bc",
	"'/>\n<image name='", "master", "' distribution='", "test", "' kernel='", "vmlinux",
	"' mode='", "bind", "' nfs='", "auto", "' rw-size='", "64M", "'><shared>", "bin usr",
	"</shared><keep-out>", "/tmp/*", "</keep-out></image>\n<boot image='", "master", "' nodes='", "all",
	"'/>\n<absent nodes='", "s02c1b04", "'/>\n<mac node='", "s01c1b01", "' address='", "52:54:00:00:01:01",
	"'/>\n<mac node='", "b2", "' address='", "52:54:00:00:01:02", "'/>\n</cluster>\n",
};

static char *from_template(const uint8_t *data, size_t size, size_t *len)
{
	size_t cap = 8192 + size * 6, o = 0, i, k;
	char *out = malloc(cap);

	if (!out)
		return NULL;
	for (k = 0; k < sizeof(tmpl) / sizeof(tmpl[0]); k++) {
		const char *v = tmpl[k];
		size_t vlen = strlen(v);

		if (k % 2 && size) {
			/* A value: the next line of the input, escaped. */
			const uint8_t *nl = memchr(data, '\n', size);

			v = (const char *)data;
			vlen = nl ? (size_t)(nl - data) : size;
			data += vlen + !!nl;
			size -= vlen + !!nl;
			for (i = 0; i < vlen; i++) {
				const char *esc = v[i] == '<' ? "&lt;" : v[i] == '&' ? "&amp;" :
						  v[i] == '\'' ? "&apos;" : v[i] == '\0' ? "" : NULL;

				if (esc) {
					memcpy(out + o, esc, strlen(esc));
					o += strlen(esc);
				} else {
					out[o++] = v[i];
				}
			}
			continue;
		}
		memcpy(out + o, v, vlen);
		o += vlen;
	}
	*len = o;
	return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dim_err err = { 0 };
	struct cluster *c = NULL;
	char *doc = NULL;
	int rc;

	if (size && data[0] != '<') {
		doc = from_template(data + 1, size - 1, &size);
		if (!doc)
			return 0;
		data = (const uint8_t *)doc;
	}
	rc = cluster_load_buffer((const char *)data, size, "fuzz.xml", &c, &err);
	free(doc);
	if (rc < 0) {
		if (c || !err.msg[0] || strchr(err.msg, '\n') || strncmp(err.msg, "fuzz.xml", 8))
			abort();
		return 0;
	}
	check_model(c);
	cluster_free(c);
	return 0;
}
