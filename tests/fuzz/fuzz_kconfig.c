/* SPDX-License-Identifier: MIT */
/*
 * Kernel configuration fragments and .config files are read by dim
 * buildzimage --zimage: any bytes must parse or give an error, never a read
 * outside the buffer.  What parses must survive a round trip: formatting
 * the result and parsing that again gives the same symbols and values, and
 * checking a configuration against itself finds nothing.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kconfig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = malloc(size ? size : 1), *text = NULL;
	struct kconfig kc, again;
	struct kconfig_mismatch *m = NULL;
	struct dim_err e = { 0 };
	size_t i, len, n;

	if (!copy || size > 1 << 16)	/* lookups are linear: keep runs fast */
		goto out_copy;
	memcpy(copy, data, size);
	kconfig_init(&kc);
	kconfig_init(&again);
	if (kconfig_parse(&kc, copy, size, "fuzz", &e))
		goto out;
	if (kconfig_format(&kc, &text, &len))
		goto out;
	if (kconfig_parse(&again, text, len, "again", &e))
		abort();	/* what dim writes, dim must read */
	if (again.n != kc.n)
		abort();
	for (i = 0; i < kc.n; i++) {
		const struct kconfig_sym *s = kconfig_get(&again, kc.v[i].name);

		if (!s || strcmp(s->value, kc.v[i].value) || s->is_string != kc.v[i].is_string)
			abort();
	}
	if (kconfig_check(&kc, &again, &m, &n) || n)
		abort();
out:
	free(m);
	free(text);
	kconfig_free(&again);
	kconfig_free(&kc);
out_copy:
	free(copy);
	return 0;
}
