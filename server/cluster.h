/* SPDX-License-Identifier: MIT */
/*
 * The cluster definition: one XML file (config/dim-cluster.rng, man page
 * config/dim-cluster.5) turned into these structs once by cluster_load();
 * no xmlNode escapes the loader.  Everything else in dim works on this model.
 *
 * Geography.  Names are built from levels (config <naming>): the default is
 * s<server>c<chassis>b<blade> with s and b padded to two digits, "s01c1b01".
 * Levels may be any number from 2 to CL_MAX_LEVELS; exactly one level has the
 * role "server" (each of its nodes is an image server), the second-to-last
 * has the role "chassis" (a BladeCenter chassis with its management module),
 * the last is "blade".  Blades are numbered linearly in hierarchical order,
 * b1..bN; chassis mm1..mmN (s1c1b1 = b1, s1c2b14 = b28, s23c2mm = mm90 with 4
 * chassis of 14 blades per server).  A chassis's management module is named
 * <chassis name><mm suffix>, "s23c2mm".
 *
 * Addresses come from rules, not lists: an address rule has a base and, per
 * level, a stride; a node's address is base + sum(index_at_level * stride),
 * indices counting from 0.  Each image server has its own boot network
 * (base + server index * stride, /prefix); its blades' addresses must fall
 * inside it.
 *
 * Arrays are in hierarchical order and indices into them are stable for one
 * load: blade i is linear name b<i+1>.
 */
#ifndef DIM_CLUSTER_H
#define DIM_CLUSTER_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define CL_NAME_MAX	64
#define CL_MAX_LEVELS	8
#define CL_NONE		0xffffffffu	/* "no index" (no image assigned, ...) */

enum cl_role {
	CL_ROLE_NONE,		/* a grouping level only (a row, a rack) */
	CL_ROLE_SERVER,		/* each node is an image server */
	CL_ROLE_CHASSIS,	/* the parent level of the blades */
	CL_ROLE_BLADE,
};

struct cl_level {
	char name[16];		/* "server", "rack", "chassis", "blade" */
	char prefix[16];	/* "s", "r", "c", "b" */
	unsigned count;		/* nodes per parent */
	unsigned pad;		/* digits, zero-padded (0: none) */
	unsigned first;		/* number of the first node, usually 1 */
	enum cl_role role;
};

/* An address rule: base + sum over levels of index * stride[level]. */
struct cl_rule {
	uint32_t base;			/* host byte order */
	uint32_t stride[CL_MAX_LEVELS];	/* host byte order, 0 where not given */
	unsigned line;			/* where it was defined */
};

struct cl_cred {
	char name[CL_NAME_MAX];
	char type[16];		/* "snmp", "ipmi" ... (issue: power backends) */
	char file[256];		/* where the secrets are; never the secrets themselves */
	unsigned line;
};

struct cl_image {
	char name[CL_NAME_MAX];
	char distribution[128];
	char kernel[256];	/* the boot file (kernel image) blades of this image boot */
	char mode[8];		/* root assembly: "bind" or "overlay" */
	char nfs[8];		/* NFS version for the blades: "auto", "3", "4.1" ... */
	uint64_t rw_size;	/* bytes of each blade's RW image */
	char **shared;		/* first-level directories in the RO tree ("usr", ...) */
	unsigned n_shared;
	char **keep_out;	/* paths never copied from the master (globs) */
	unsigned n_keep_out;
	char **per_blade;	/* files that belong to each blade (its logs, its state) */
	unsigned n_per_blade;
	unsigned line;
	/* dim sync_master's source: rsync://HOST[:PORT]/MODULE[/PATH] or [USER@]HOST:/PATH; "" if none */
	char master[256];
};

struct cl_server {
	unsigned index;
	char name[CL_NAME_MAX];		/* hierarchical: "s01"; also its host name */
	struct in_addr addr;		/* its address on its boot network */
	struct in_addr net;		/* its boot network */
	struct in_addr mask;
	unsigned prefix;
	char storage[256];		/* storage root: images live in STORAGE/images/IMAGE */
	char dhcp[16];			/* DHCP backend: "isc", "kea", "dnsmasq" */
	char nfs[16];			/* NFS server: "kernel", "ganesha" */
	unsigned first_chassis, n_chassis;	/* range in cluster->chassis */
	unsigned first_blade, n_blades;		/* range in cluster->blades */
	/* how the management node pushes to it: "ssh" (rsync over ssh to
	 * ADDRESS:STORAGE) or "rsyncd" (rsync daemon module "dim" = STORAGE) */
	char sync[8];
};

struct cl_chassis {
	unsigned index;			/* linear name mm<index+1> */
	char name[CL_NAME_MAX];		/* "s01c1" */
	char mm_name[CL_NAME_MAX];	/* "s01c1mm" */
	char linear[16];		/* "mm1" */
	struct in_addr mm_addr;		/* its management module */
	unsigned cred;			/* index into creds, CL_NONE if none */
	unsigned server;
	unsigned first_blade, n_bays;	/* range in cluster->blades, one per bay */
};

struct cl_blade {
	unsigned index;			/* linear name b<index+1> */
	char name[CL_NAME_MAX];		/* "s01c1b01" */
	char linear[16];		/* "b1" */
	unsigned server, chassis;
	unsigned bay;			/* 1-based position in its chassis */
	unsigned num[CL_MAX_LEVELS];	/* its number at each level ("s01c1b07": 1, 1, 7) */
	struct in_addr addr;
	unsigned image;			/* index into images, CL_NONE if none assigned */
	uint8_t mac[6];
	bool has_mac;
	bool absent;			/* an empty bay: no address use, never in a range's result */
	/* its own BMC (<blades><bmc>), for nodes of a chassis with ipmi credentials */
	struct in_addr bmc_addr;
	bool has_bmc;
};

struct cluster {
	char file[512];			/* the definition's path, for messages */
	char name[CL_NAME_MAX];
	char mgmt_name[CL_NAME_MAX];	/* the management node */
	struct in_addr mgmt_addr;
	struct cl_level levels[CL_MAX_LEVELS];
	unsigned n_levels;
	unsigned server_level, chassis_level, blade_level;
	char blade_linear[8];		/* "b" */
	char chassis_linear[8];		/* "mm" */
	char mm_suffix[8];		/* "mm" */
	struct cl_server *servers;
	unsigned n_servers;
	struct cl_chassis *chassis;
	unsigned n_chassis;
	struct cl_blade *blades;	/* absent bays included, flagged */
	unsigned n_blades;
	struct cl_image *images;
	unsigned n_images;
	struct cl_cred *creds;
	unsigned n_creds;
	/* the management node's storage root: master copies in STORAGE/masters/IMAGE */
	char mgmt_storage[256];
};

/*
 * Load and check a definition: XML_PARSE_NONET, never expanding entities,
 * validated against the schema compiled into dim (config/dim-cluster.rng),
 * then checked for meaning: duplicate names,
 * MACs or addresses, an address outside its server's boot network, a rule
 * that overflows, an unknown image or credentials reference, a node range
 * that selects nothing.  On error returns -errno with one message naming
 * file:line and what is wrong.
 */
int cluster_load(const char *path, struct cluster **out, struct dim_err *err);
/* The same from memory (tests, fuzzing); name is used in messages. */
int cluster_load_buffer(const char *buf, size_t len, const char *name, struct cluster **out,
			struct dim_err *err);
void cluster_free(struct cluster *c);

/* By hierarchical or linear name ("s01c1b07", "b7"); NULL if none. */
const struct cl_blade *cluster_find_blade(const struct cluster *c, const char *name);
const struct cl_chassis *cluster_find_chassis(const struct cluster *c, const char *name);
const struct cl_server *cluster_find_server(const struct cluster *c, const char *name);
/* Index of the image of that name, CL_NONE if none. */
unsigned cluster_find_image(const struct cluster *c, const char *name);

/* Where an image server keeps an image and a blade's RW directory (no trailing '/'). */
int cluster_ro_path(const struct cluster *c, const struct cl_server *s, const struct cl_image *img,
		    char *buf, size_t size);
int cluster_rw_dir(const struct cluster *c, const struct cl_blade *b, const struct cl_image *img,
		   char *buf, size_t size);
/*
 * An image server's TFTP root, STORAGE/tftp: the boot files of image IMAGE
 * are STORAGE/tftp/IMAGE/..., and DHCP names IMAGE/KERNEL (the image's
 * kernel attribute) relative to it (tftp.h).
 */
int cluster_tftp_dir(const struct cluster *c, const struct cl_server *s, char *buf, size_t size);

/*
 * Node ranges (range.c): "s01c1b01-s01c1b14", "b1-b28", "s[01-42]c[1-4]b[01-14]",
 * comma lists of these, "mm1-mm4", "s01" (a whole image server) or "s01c2" (a
 * whole chassis), "all".  A selection is a bitmap over the blades (or over
 * the chassis, for chassis commands), in hierarchical order, absent bays
 * never set.  An item that matches nothing is an error naming the item.
 */
struct cl_selection {
	unsigned n;		/* bits: blades or chassis */
	uint64_t *bits;
	unsigned count;		/* bits set */
};

int cluster_select_blades(const struct cluster *c, const char *range, struct cl_selection *sel,
			  struct dim_err *err);
int cluster_select_chassis(const struct cluster *c, const char *range, struct cl_selection *sel,
			   struct dim_err *err);
static inline bool cl_selected(const struct cl_selection *s, unsigned i)
{
	return i < s->n && (s->bits[i / 64] >> (i % 64)) & 1;
}
void cl_selection_free(struct cl_selection *s);

#endif /* DIM_CLUSTER_H */
