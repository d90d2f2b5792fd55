/* SPDX-License-Identifier: MIT */
/*
 * Kernel configuration fragments and .config files: parse them, merge the
 * fragments (a later assignment wins, as merge_config.sh does), write the
 * merged set for KCONFIG_ALLCONFIG, and check that every symbol the
 * fragments ask for reads so in the .config Kconfig made of them.  Kconfig
 * silently drops a symbol whose dependencies are off (CONFIG_VIRTIO_NET=y
 * without CONFIG_NET_CORE=y gives no VIRTIO_NET and no message); the check
 * is what turns that into an error naming fragment, line and symbol.
 *
 * Syntax (the kernel's scripts/kconfig/confdata.c, conf_read_simple()):
 *   CONFIG_NAME=y | m | n | DECIMAL | 0xHEX | "STRING" (\" and \\ escaped)
 *   # CONFIG_NAME is not set          (the same as =n)
 *   # any other comment, blank lines
 *
 * Pure code: no files, no output.  0 or -errno; messages in a struct dim_err.
 */
#ifndef DIM_KCONFIG_H
#define DIM_KCONFIG_H

#include <stddef.h>

#include "err.h"

struct kconfig_sym {
	char *name;		/* "CONFIG_VIRTIO_NET" */
	char *value;		/* "y", "m", "n", "0x100", or a string's contents, unescaped */
	int is_string;
	const char *file;	/* where it was set: one of struct kconfig's names */
	unsigned line;
};

struct kconfig {
	struct kconfig_sym *v;	/* in the order first set */
	size_t n, cap;
	char **files;		/* the names passed to kconfig_parse(), owned */
	size_t n_files;
};

struct kconfig_mismatch {
	const struct kconfig_sym *want;	/* what a fragment asked for */
	const struct kconfig_sym *have;	/* what the .config says; NULL: not there at all */
};

void kconfig_init(struct kconfig *kc);
void kconfig_free(struct kconfig *kc);

/*
 * Add the assignments of text (len bytes, need not be NUL-terminated) to kc;
 * a symbol set again takes the later value.  file names the text in messages
 * ("kernel-config/common.config:12: ...").  -EINVAL for a line that is not
 * one of the forms above, -ENOMEM.
 */
int kconfig_parse(struct kconfig *kc, const char *text, size_t len, const char *file,
		  struct dim_err *e);

/* Set one symbol as if a line of file said so (value unescaped). */
int kconfig_set(struct kconfig *kc, const char *name, const char *value, int is_string,
		const char *file, unsigned line, struct dim_err *e);

/* The symbol called name ("CONFIG_X"), or NULL. */
const struct kconfig_sym *kconfig_get(const struct kconfig *kc, const char *name);

/* kc in .config syntax, one line a symbol, in kc's order (malloc'ed, NUL-terminated). */
int kconfig_format(const struct kconfig *kc, char **out, size_t *len);

/*
 * Every symbol of want that have does not give the same value: =n is met by
 * "not set" and by absence, anything else only by the same value.  *out is a
 * malloc'ed array of *n mismatches (pointing into want and have), NULL if
 * there are none.  0 or -ENOMEM.
 */
int kconfig_check(const struct kconfig *want, const struct kconfig *have,
		  struct kconfig_mismatch **out, size_t *n);

/*
 * One line for the user: "common.config:70: CONFIG_VIRTIO_NET=y, but the
 * .config has it not set (a dependency is off)".
 */
void kconfig_describe(const struct kconfig_mismatch *m, char *buf, size_t size);

#endif /* DIM_KCONFIG_H */
