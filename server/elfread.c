/* SPDX-License-Identifier: MIT */
/*
 * ELF section lookup over untrusted bytes.  Layouts from elf(5) and the
 * System V ABI "gABI" chapter 4; the numbers are the field offsets of the
 * two classes, kept in one table so the parsing code has no class if-chains.
 */
#include <elf.h>
#include <errno.h>
#include <string.h>

#include "elfread.h"

struct elf_layout {
	size_t ehsize;		/* sizeof(ElfN_Ehdr) */
	size_t e_shoff, e_shentsize, e_shnum, e_shstrndx;
	size_t shsize;		/* sizeof(ElfN_Shdr): the smallest usable e_shentsize */
	size_t sh_name, sh_type, sh_offset, sh_size, sh_link;
	size_t word;		/* width of addresses and offsets: 4 or 8 */
};

static const struct elf_layout layouts[2] = {
	{	/* ELFCLASS32: Elf32_Ehdr, Elf32_Shdr */
		.ehsize = 52, .e_shoff = 32, .e_shentsize = 46, .e_shnum = 48, .e_shstrndx = 50,
		.shsize = 40, .sh_name = 0, .sh_type = 4, .sh_offset = 16, .sh_size = 20,
		.sh_link = 24, .word = 4,
	},
	{	/* ELFCLASS64: Elf64_Ehdr, Elf64_Shdr */
		.ehsize = 64, .e_shoff = 40, .e_shentsize = 58, .e_shnum = 60, .e_shstrndx = 62,
		.shsize = 64, .sh_name = 0, .sh_type = 4, .sh_offset = 24, .sh_size = 32,
		.sh_link = 40, .word = 8,
	},
};

static uint64_t rd(const struct elf_image *e, size_t off, size_t width)
{
	const unsigned char *p = e->buf + off;
	uint64_t v = 0;
	size_t i;

	/* Callers checked off + width <= e->len. */
	for (i = 0; i < width; i++) {
		if (e->big_endian)
			v = (v << 8) | p[i];
		else
			v |= (uint64_t)p[i] << (8 * i);
	}
	return v;
}

static const struct elf_layout *layout(const struct elf_image *e)
{
	return &layouts[e->is64 ? 1 : 0];
}

/* The offset of section header i, which elf_open() proved to lie in the buffer. */
static size_t shdr(const struct elf_image *e, uint64_t i)
{
	return (size_t)(e->shoff + i * e->shentsize);
}

/* e_ident and e_machine: all that is needed to name the architecture. */
static int read_header(struct elf_image *e, const void *buf, size_t len, const char **why)
{
	const unsigned char *p = buf;

	memset(e, 0, sizeof(*e));
	e->buf = p;
	e->len = len;
	if (len < EI_NIDENT || memcmp(p, ELFMAG, SELFMAG)) {
		*why = "not an ELF file";
		return -ENOEXEC;
	}
	switch (p[EI_CLASS]) {
	case ELFCLASS32:
		e->is64 = 0;
		break;
	case ELFCLASS64:
		e->is64 = 1;
		break;
	default:
		*why = "unknown ELF class";
		return -ENOEXEC;
	}
	switch (p[EI_DATA]) {
	case ELFDATA2LSB:
		e->big_endian = 0;
		break;
	case ELFDATA2MSB:
		e->big_endian = 1;
		break;
	default:
		*why = "unknown ELF byte order";
		return -ENOEXEC;
	}
	if (len < layout(e)->ehsize) {
		*why = "ELF header runs past end of file";
		return -ENOEXEC;
	}
	e->machine = (unsigned int)rd(e, 18, 2);
	return 0;
}

int elf_open(struct elf_image *e, const void *buf, size_t len, const char **why)
{
	const struct elf_layout *l;
	uint64_t shnum, shstrndx;
	int rc;

	rc = read_header(e, buf, len, why);
	if (rc)
		return rc;
	l = layout(e);
	e->shoff = rd(e, l->e_shoff, l->word);
	e->shentsize = rd(e, l->e_shentsize, 2);
	shnum = rd(e, l->e_shnum, 2);
	shstrndx = rd(e, l->e_shstrndx, 2);

	if (e->shoff == 0)
		return 0;	/* no section headers: e_shnum means nothing */
	if (e->shentsize < l->shsize) {
		*why = "section header entries are too small";
		return -ENOEXEC;
	}
	/* Section header 0 must be there to read extended numbering from. */
	if (e->shoff > len || len - e->shoff < e->shentsize) {
		*why = "section header table runs past end of file";
		return -ENOEXEC;
	}
	/* gABI "Extended Section Numbering": counts that do not fit live in header 0. */
	if (shnum == 0)
		shnum = rd(e, shdr(e, 0) + l->sh_size, l->word);
	if (shstrndx == SHN_XINDEX)
		shstrndx = rd(e, shdr(e, 0) + l->sh_link, 4);
	if (shnum > (len - e->shoff) / e->shentsize) {
		*why = "section header table runs past end of file";
		return -ENOEXEC;
	}
	e->shnum = shnum;
	e->shstrndx = shstrndx;
	return 0;
}

static void section_at(const struct elf_image *e, uint64_t i, struct elf_section *s)
{
	const struct elf_layout *l = layout(e);
	size_t h = shdr(e, i);

	s->type = (uint32_t)rd(e, h + l->sh_type, 4);
	s->offset = rd(e, h + l->sh_offset, l->word);
	s->size = rd(e, h + l->sh_size, l->word);
}

int elf_find_section(const struct elf_image *e, const char *name, struct elf_section *s,
		     const char **why)
{
	const struct elf_layout *l = layout(e);
	struct elf_section strtab;
	size_t want = strlen(name) + 1;	/* with the NUL */
	uint64_t i;

	if (e->shnum == 0)
		return -ENOENT;
	if (e->shstrndx == SHN_UNDEF || e->shstrndx >= e->shnum) {
		*why = "section name table index out of range";
		return -ENOEXEC;
	}
	section_at(e, e->shstrndx, &strtab);
	if (strtab.type == SHT_NOBITS || strtab.offset > e->len ||
	    strtab.size > e->len - strtab.offset) {
		*why = "section name table runs past end of file";
		return -ENOEXEC;
	}
	for (i = 1; i < e->shnum; i++) {
		uint64_t off = rd(e, shdr(e, i) + l->sh_name, 4);

		if (off >= strtab.size) {
			*why = "section name offset out of range";
			return -ENOEXEC;
		}
		/* Compare with the NUL, inside the table only. */
		if (strtab.size - off < want ||
		    memcmp(e->buf + strtab.offset + off, name, want))
			continue;
		section_at(e, i, s);
		return 0;
	}
	return -ENOENT;
}

static const struct {
	unsigned int machine;
	int is64;
	int big_endian;
	const char *arch;
} arches[] = {
	{ EM_PPC64, 1, 0, "ppc64le" },
	{ EM_PPC64, 1, 1, "ppc64" },
	{ EM_PPC, 0, 1, "ppc" },
	{ EM_X86_64, 1, 0, "x86_64" },
	{ EM_386, 0, 0, "i386" },
	{ EM_AARCH64, 1, 0, "arm64" },
	{ EM_ARM, 0, 0, "arm" },
	{ EM_S390, 1, 1, "s390x" },
	{ EM_RISCV, 1, 0, "riscv64" },
};

const char *elf_arch(const struct elf_image *e)
{
	size_t i;

	for (i = 0; i < sizeof(arches) / sizeof(arches[0]); i++)
		if (arches[i].machine == e->machine && arches[i].is64 == e->is64 &&
		    arches[i].big_endian == e->big_endian)
			return arches[i].arch;
	return NULL;
}

const char *elf_arch_of(const void *buf, size_t len)
{
	struct elf_image e;
	const char *why;

	if (read_header(&e, buf, len, &why))
		return NULL;
	return elf_arch(&e);
}
