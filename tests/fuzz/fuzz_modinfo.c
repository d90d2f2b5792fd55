/* SPDX-License-Identifier: MIT */
/*
 * Kernel module files are untrusted input to dim buildzimage: any bytes must
 * give a result or an error, never a read outside the buffer.  The input is
 * copied to a buffer of its exact size so ASAN sees every overrun.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "elfread.h"
#include "kmod.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char *copy = malloc(size ? size : 1);
	struct modinfo mi;
	const char *why = NULL;
	size_t i;

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	if (modinfo_parse(&mi, copy, size, &why) == 0) {
		/* Touch every string: each must be NUL-terminated and valid. */
		size_t total = mi.name ? strlen(mi.name) : 0;

		for (i = 0; i < mi.depends.n; i++)
			total += strlen(mi.depends.v[i]);
		for (i = 0; i < mi.pre.n; i++)
			total += strlen(mi.pre.v[i]);
		for (i = 0; i < mi.post.n; i++)
			total += strlen(mi.post.v[i]);
		for (i = 0; i < mi.aliases.n; i++)
			total += strlen(mi.aliases.v[i]);
		if (total > size)
			abort();	/* every string came out of the input */
		modinfo_free(&mi);
	} else if (!why) {
		abort();	/* every parse error says why */
	}
	(void)elf_arch_of(copy, size);
	free(copy);
	return 0;
}
