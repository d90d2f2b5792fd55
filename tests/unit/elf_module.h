/* SPDX-License-Identifier: MIT */
/*
 * Synthetic kernel modules for the tests: the smallest ELF files with a
 * .modinfo section, in either class and byte order.  Layout:
 *
 *   ELF header | 3 section headers (null, .modinfo, .shstrtab) | .shstrtab | .modinfo
 *
 * .modinfo comes last, so cutting the file short cuts the section.
 */
#ifndef DIM_TEST_ELF_MODULE_H
#define DIM_TEST_ELF_MODULE_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define EM_X86_64_	62
#define EM_PPC64_	21
#define EM_386_		3

struct elf_module {
	unsigned char *p;
	size_t len;
	size_t shoff;		/* section header table */
	size_t shentsize;
	size_t modinfo_off;	/* .modinfo data */
};

static inline void elfm_put(unsigned char *p, uint64_t v, size_t width, int be)
{
	size_t i;

	for (i = 0; i < width; i++)
		p[be ? width - 1 - i : i] = (unsigned char)(v >> (8 * i));
}

/*
 * secname is normally ".modinfo"; mi/mi_len the section's bytes (a run of
 * "key=value\0" strings).
 */
static inline struct elf_module elfm_build(int is64, int be, unsigned int machine,
					   const char *secname, const void *mi, size_t mi_len)
{
	static const char shstr_tail[] = ".shstrtab";
	struct elf_module m;
	size_t ehsize = is64 ? 64 : 52, shentsize = is64 ? 64 : 40, word = is64 ? 8 : 4;
	size_t name_len = strlen(secname), shstr_len = 1 + name_len + 1 + sizeof(shstr_tail);
	size_t shstr_off, i;
	unsigned char *sh;

	m.shoff = ehsize;
	m.shentsize = shentsize;
	shstr_off = ehsize + 3 * shentsize;
	m.modinfo_off = shstr_off + shstr_len;
	m.len = m.modinfo_off + mi_len;
	m.p = calloc(1, m.len);
	if (!m.p)
		abort();

	memcpy(m.p, "\177ELF", 4);
	m.p[4] = is64 ? 2 : 1;		/* EI_CLASS */
	m.p[5] = be ? 2 : 1;		/* EI_DATA */
	m.p[6] = 1;			/* EI_VERSION */
	elfm_put(m.p + 16, 1, 2, be);	/* e_type ET_REL */
	elfm_put(m.p + 18, machine, 2, be);
	elfm_put(m.p + 20, 1, 4, be);	/* e_version */
	elfm_put(m.p + (is64 ? 40 : 32), m.shoff, word, be);
	elfm_put(m.p + (is64 ? 52 : 40), ehsize, 2, be);
	elfm_put(m.p + (is64 ? 58 : 46), shentsize, 2, be);
	elfm_put(m.p + (is64 ? 60 : 48), 3, 2, be);	/* e_shnum */
	elfm_put(m.p + (is64 ? 62 : 50), 2, 2, be);	/* e_shstrndx */

	/* .shstrtab: "\0<secname>\0.shstrtab\0" */
	memcpy(m.p + shstr_off + 1, secname, name_len);
	memcpy(m.p + shstr_off + 1 + name_len + 1, shstr_tail, sizeof(shstr_tail));
	memcpy(m.p + m.modinfo_off, mi, mi_len);

	for (i = 1; i < 3; i++) {
		sh = m.p + m.shoff + i * shentsize;
		elfm_put(sh + 0, i == 1 ? 1 : 1 + name_len + 1, 4, be);	/* sh_name */
		elfm_put(sh + 4, i == 1 ? 1 : 3, 4, be);	/* PROGBITS, STRTAB */
		elfm_put(sh + (is64 ? 24 : 16), i == 1 ? m.modinfo_off : shstr_off, word, be);
		elfm_put(sh + (is64 ? 32 : 20), i == 1 ? mi_len : shstr_len, word, be);
	}
	return m;
}

/* The usual case: a little-endian x86_64 module. */
static inline struct elf_module elfm_module(const char *mi, size_t mi_len)
{
	return elfm_build(1, 0, EM_X86_64_, ".modinfo", mi, mi_len);
}

/* Overwrite a field of section header i (offset in the 64-bit layout). */
static inline void elfm_patch64(struct elf_module *m, size_t i, size_t field, uint64_t v,
				size_t width)
{
	elfm_put(m->p + m->shoff + i * m->shentsize + field, v, width, m->p[5] == 2);
}

#endif /* DIM_TEST_ELF_MODULE_H */
