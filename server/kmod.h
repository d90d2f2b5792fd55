/* SPDX-License-Identifier: MIT */
/*
 * Kernel module resolution without modules.dep (Debian's kernel packages ship
 * none): index a module tree (.../lib/modules/VERSION), read each needed
 * module's .modinfo for depends= and softdep=, resolve names the way modprobe
 * does (module file name first, then alias= patterns of the modules, then
 * what is built into the kernel) and produce a load order in which every
 * module comes after its depends and its softdep "pre:" modules.
 *
 * Module names compare with '-' and '_' equal, as kmod does.
 * Library code: nothing is printed; errors are -errno with a message in
 * kmod_error() naming the file and what is wrong.
 */
#ifndef DIM_KMOD_H
#define DIM_KMOD_H

#include <stddef.h>
#include <stdint.h>

/* A growable list of malloc'ed strings. */
struct kmod_names {
	char **v;
	size_t n, cap;
};

int kmod_names_add(struct kmod_names *l, const char *s);
__attribute__((format(printf, 2, 3)))
int kmod_names_addf(struct kmod_names *l, const char *fmt, ...);
void kmod_names_free(struct kmod_names *l);

/* What a module's .modinfo section says (see the kernel's include/linux/module.h). */
struct modinfo {
	char *name;			/* name=, or NULL */
	struct kmod_names depends;	/* depends=a,b */
	struct kmod_names pre;		/* softdep=pre: a b */
	struct kmod_names post;		/* softdep=post: c */
	struct kmod_names aliases;	/* alias= (may be fnmatch patterns) */
	const char *arch;		/* of the ELF file, elf_arch(); NULL if unknown */
};

/*
 * Parse a module file's bytes (untrusted).  0, or -ENOEXEC / -EBADMSG with
 * *why set to a static text (".modinfo section runs past end of file"), or
 * -ENOMEM.  mi is filled on success and empty on failure.
 */
int modinfo_parse(struct modinfo *mi, const void *buf, size_t len, const char **why);
void modinfo_free(struct modinfo *mi);

enum kmod_comp { KMOD_PLAIN, KMOD_GZ, KMOD_XZ, KMOD_ZST };

struct kmod_module {
	char *name;		/* normalised, '_' for '-' */
	char *path;		/* the file in the tree */
	char *file;		/* its base name without compression suffix: "crc32c-vpmsum.ko" */
	enum kmod_comp comp;
	/* Filled when the module is needed (kmod_resolve): */
	int loaded;
	struct modinfo info;
	void *data;		/* the uncompressed module */
	size_t size;
	int state;		/* of the depth-first walk */
};

struct kmod_alias;

struct kmod_tree {
	char *dir;
	char *arch;			/* every needed module must be for it; NULL: any */
	struct kmod_module *mods;	/* sorted by name */
	size_t n_mods;
	struct kmod_names builtin;	/* names built into the kernel, normalised, sorted */
	struct kmod_alias *aliases;	/* read on first need */
	size_t n_aliases, cap_aliases;
	int aliases_read;
	char err[1024];
};

/*
 * Index the modules under dir (*.ko, and *.ko.gz, *.ko.xz, *.ko.zst by
 * name; only .gz is read, the others fail with -EOPNOTSUPP when needed) and
 * modules.builtin(.modinfo).  arch: "ppc64le", "x86_64", ... or NULL.
 */
int kmod_tree_open(struct kmod_tree *t, const char *dir, const char *arch);
void kmod_tree_free(struct kmod_tree *t);
/* The message of the last failure: "/x/ext4.ko: .modinfo section runs past end of file". */
const char *kmod_error(const struct kmod_tree *t);

enum kmod_found {
	KMOD_MISSING = 0,
	KMOD_FOUND_MODULE,	/* a module file of that name */
	KMOD_FOUND_ALIAS,	/* modules whose alias= matches */
	KMOD_FOUND_BUILTIN,	/* built into the kernel */
};

/* How name resolves: an enum kmod_found, or -errno (with kmod_error()). */
int kmod_lookup(struct kmod_tree *t, const char *name);

struct kmod_plan {
	struct kmod_module **order;	/* load order; the modules belong to the tree */
	size_t n, cap;
	uint64_t total_size;		/* sum of the modules' uncompressed sizes */
	struct kmod_names notes;	/* for the user: built-in or missing softdeps */
};

/*
 * The load order for names and everything they need.  Each name must resolve
 * (-ENOENT otherwise); a missing softdep is only a note, as for modprobe.
 * -ELOOP for a dependency cycle, the message listing it.  The plan's modules
 * have their data loaded.  Free the plan before the tree.
 */
int kmod_resolve(struct kmod_tree *t, const char *const *names, size_t n_names,
		 struct kmod_plan *plan);
void kmod_plan_free(struct kmod_plan *plan);

#endif /* DIM_KMOD_H */
