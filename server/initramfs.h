/* SPDX-License-Identifier: MIT */
/*
 * The blade's boot image, first form: the distribution's kernel plus an
 * initramfs holding the linuxrc as /init, the kernel modules the boot needs
 * (flat in DIM_INITRAMFS_MODDIR, their load order in DIM_INITRAMFS_MODULES,
 * see linuxrc/contract.h) and optionally busybox as a rescue shell.
 *
 * Library code: nothing printed, nothing exits; errors are -errno with the
 * message in initramfs_error(), notes for the user in ir->notes.
 */
#ifndef DIM_INITRAMFS_H
#define DIM_INITRAMFS_H

#include <stddef.h>
#include <stdint.h>

#include "cpio.h"
#include "kmod.h"

/* The modules a netboot needs: the NICs of QEMU and real blades, NFS, loop, ext4, overlay. */
extern const char *const initramfs_default_modules[];
extern const size_t initramfs_n_default_modules;

struct initramfs_file {
	const char *src;	/* a regular file on this host */
	const char *dst;	/* its path in the archive */
};

struct initramfs_spec {
	const char *arch;		/* "ppc64le" or "x86_64" */
	const char *linuxrc;		/* becomes /init */
	const char *busybox;		/* NULL: no rescue shell */
	const char *moddir;		/* .../lib/modules/VERSION; NULL: no modules */
	const char *const *modules;	/* asked for by name: must exist */
	size_t n_modules;
	int default_modules;		/* also initramfs_default_modules, where present */
	const struct initramfs_file *files;
	size_t n_files;
	/*
	 * For a kernel with its drivers built in (dim buildzimage --zimage): no
	 * module list at all, so the linuxrc's module step says "drivers built
	 * in".  moddir must be NULL.
	 */
	int builtin_drivers;
};

struct initramfs {
	struct cpio_archive cpio;
	struct kmod_tree tree;
	int have_tree;
	struct kmod_plan plan;		/* the modules, in load order */
	struct kmod_names notes;	/* one line each, for the user */
	uint64_t linuxrc_size, busybox_size;
	char err[1280];
};

struct initramfs_output {
	char *kernel;			/* OUTDIR/kernel, NULL if no kernel was given */
	char *initrd;			/* OUTDIR/initrd.img */
	uint64_t kernel_size;
	struct cpio_stats cpio;		/* out_size: the initrd's size on disk */
};

/* Is arch one dim builds blades for? */
int initramfs_arch_supported(const char *arch);

/*
 * The architecture of a kernel image from its first bytes: an ELF vmlinux
 * (e_machine, byte order) or an x86 bzImage ("HdrS" at 0x202, Linux
 * Documentation/arch/x86/boot.rst).  A name as elf_arch() gives, or NULL.
 */
const char *initramfs_kernel_arch(const void *buf, size_t len);

/* Collect the archive's contents.  0 or -errno; free with initramfs_free() either way. */
int initramfs_build(struct initramfs *ir, const struct initramfs_spec *spec);

/*
 * Write outdir/kernel (a copy of kernel, unless NULL) and outdir/initrd.img
 * (gzip'd newc with mtime), creating outdir.  Both are written to temporary
 * names first and renamed into place only when both are complete.
 */
int initramfs_write(struct initramfs *ir, const char *kernel, const char *outdir,
		    uint32_t mtime, struct initramfs_output *out);
void initramfs_output_free(struct initramfs_output *out);

/*
 * The archive uncompressed at path, for a kernel that links it in: the
 * kernel's CONFIG_INITRAMFS_SOURCE takes a file ending in .cpio as it is,
 * and the kernel image is compressed as a whole, once.  Written atomically,
 * and left alone (*changed = 0) when it holds these bytes already, so the
 * kernel build finds nothing to relink.
 */
int initramfs_write_cpio(struct initramfs *ir, const char *path, uint32_t mtime,
			 struct cpio_stats *stats, int *changed);

/*
 * outdir/boot.ipxe: an iPXE script that fetches outdir's kernel and
 * initrd.img from where the script itself came from (iPXE resolves relative
 * names against the script's URI) and boots the kernel with cmdline.  PXE
 * firmware (QEMU's iPXE ROM) runs it when DHCP names it as the boot file.
 * -EINVAL for a command line with a line break or another control character
 * (it would end the script's line).  *path is malloc'ed.
 */
int initramfs_write_ipxe(struct initramfs *ir, const char *outdir, const char *cmdline,
			 char **path);
/*
 * The script's text, malloc'ed into *text: its length, or -EINVAL (a control
 * character in cmdline), -ENOMEM.  base NULL: kernel and initrd.img relative
 * to the script; else their URI prefix ("tftp://${next-server}/IMAGE/").
 */
int initramfs_ipxe_text(const char *cmdline, const char *base, char **text);

void initramfs_free(struct initramfs *ir);
const char *initramfs_error(const struct initramfs *ir);

#endif /* DIM_INITRAMFS_H */
