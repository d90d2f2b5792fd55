/* SPDX-License-Identifier: MIT */
/*
 * Just enough ELF to find a named section in untrusted bytes (a kernel
 * module's .modinfo) and to tell which architecture a binary is for.
 * Both classes (ELF32, ELF64) and both byte orders; every offset and size is
 * checked against the buffer before it is used.  See elf(5).
 */
#ifndef DIM_ELFREAD_H
#define DIM_ELFREAD_H

#include <stddef.h>
#include <stdint.h>

struct elf_image {
	const unsigned char *buf;
	size_t len;
	int is64;		/* ELFCLASS64 */
	int big_endian;		/* ELFDATA2MSB */
	unsigned int machine;	/* e_machine */
	uint64_t shoff;		/* section header table, bounds checked */
	uint64_t shentsize;
	uint64_t shnum;		/* after extended numbering (e_shnum == 0) */
	uint64_t shstrndx;	/* after SHN_XINDEX */
};

struct elf_section {
	uint32_t type;		/* sh_type */
	uint64_t offset;	/* sh_offset, NOT checked against the file */
	uint64_t size;		/* sh_size, NOT checked against the file */
};

/*
 * Check the ELF header and the section header table.  0, or -ENOEXEC with
 * *why set to a static text saying what is wrong.  A file with no section
 * headers at all is accepted (shnum == 0): enough to ask for its machine.
 */
int elf_open(struct elf_image *e, const void *buf, size_t len, const char **why);

/*
 * Find the first section called name.  0; -ENOENT if there is none;
 * -ENOEXEC (with *why) if the section name table is broken.
 */
int elf_find_section(const struct elf_image *e, const char *name, struct elf_section *s,
		     const char **why);

/* The dim name of the image's architecture ("ppc64le", "x86_64", ...), or NULL. */
const char *elf_arch(const struct elf_image *e);

/* The same from the ELF header alone (the first 64 bytes suffice); NULL if not ELF. */
const char *elf_arch_of(const void *buf, size_t len);

#endif /* DIM_ELFREAD_H */
