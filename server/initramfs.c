/* SPDX-License-Identifier: MIT */
/*
 * What goes into the blade's initramfs, and writing it next to the kernel.
 * The layout is the boot contract's (linuxrc/contract.h): /init, the modules
 * flat in DIM_INITRAMFS_MODDIR, their load order in DIM_INITRAMFS_MODULES.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "contract.h"
#include "elfread.h"
#include "fsutil.h"
#include "initramfs.h"

const char *const initramfs_default_modules[] = {
	"ibmveth",	/* PowerVM / QEMU pseries virtual ethernet (spapr-vlan) */
	"virtio_net",	/* QEMU virtio-net ... */
	"virtio_pci",	/* ... on PCI */
	"e1000",	/* QEMU's default x86 NIC */
	"e1000e",	/* Intel NICs of real x86 blades, QEMU e1000e */
	"nfsv4",	/* the RW tree: NFSv4.1 by default */
	"nfsv3",	/* the RO tree on servers without v4 */
	"nfs",
	"loop",		/* the blade's RW image file */
	"ext4",		/* ... holds an ext4 file system */
	"overlay",	/* dim.mode=overlay */
};
const size_t initramfs_n_default_modules =
	sizeof(initramfs_default_modules) / sizeof(initramfs_default_modules[0]);

/*
 * The directories the linuxrc and the kernel expect before /init runs.
 * /dev/console must exist in the archive: the kernel opens it for /init's
 * stdin/stdout/stderr before any devtmpfs is mounted (init/main.c,
 * console_on_rootfs()).
 */
static const struct {
	const char *name;
	mode_t mode;
} base_dirs[] = {
	{ "/bin", 0755 },
	{ "/dev", 0755 },
	{ "/etc", 0755 },
	{ "/etc/dim", 0755 },
	{ "/lib", 0755 },
	{ DIM_INITRAMFS_MODDIR, 0755 },
	{ "/proc", 0555 },
	{ "/run", 0755 },
	{ "/sys", 0555 },
	{ "/tmp", 01777 },
};

#define CONSOLE_MAJOR	5	/* Documentation/admin-guide/devices.txt: 5,1 /dev/console */
#define CONSOLE_MINOR	1

static const char *const supported_arches[] = { "ppc64le", "x86_64" };

int initramfs_arch_supported(const char *arch)
{
	size_t i;

	for (i = 0; i < sizeof(supported_arches) / sizeof(supported_arches[0]); i++)
		if (!strcmp(arch, supported_arches[i]))
			return 1;
	return 0;
}

/* Linux boot protocol (Documentation/arch/x86/boot.rst): the real-mode header. */
#define X86_HDRS_OFF		0x202	/* "HdrS" */
#define X86_VERSION_OFF		0x206	/* boot protocol version, LE 16 bit */
#define X86_XLOADFLAGS_OFF	0x236	/* since 2.12 */
#define X86_XLF_KERNEL_64	0x1

const char *initramfs_kernel_arch(const void *buf, size_t len)
{
	const unsigned char *p = buf;
	const char *arch = elf_arch_of(buf, len);
	unsigned int version, xlf;

	if (arch)
		return arch;
	if (len < X86_XLOADFLAGS_OFF + 2 || memcmp(p + X86_HDRS_OFF, "HdrS", 4))
		return NULL;
	version = p[X86_VERSION_OFF] | (unsigned int)p[X86_VERSION_OFF + 1] << 8;
	xlf = p[X86_XLOADFLAGS_OFF] | (unsigned int)p[X86_XLOADFLAGS_OFF + 1] << 8;
	/* A protocol older than 2.12 does not say; such kernels predate 64-bit-only doubts. */
	if (version >= 0x020c && !(xlf & X86_XLF_KERNEL_64))
		return "i386";
	return "x86_64";
}

__attribute__((format(printf, 3, 4)))
static int fail(struct initramfs *ir, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(ir->err, sizeof(ir->err), fmt, ap);
	va_end(ap);
	return rc;
}

const char *initramfs_error(const struct initramfs *ir)
{
	return ir->err;
}

/* What a cpio_add_*() error means for an archive path the user chose. */
static int fail_add(struct initramfs *ir, int rc, const char *dst, const char *src)
{
	switch (rc) {
	case -EEXIST:
		return fail(ir, rc, "%s: %s is already in the initramfs", src, dst);
	case -EINVAL:
		return fail(ir, rc, "%s: \"%s\" is not a usable path in the initramfs", src, dst);
	case -ENOTDIR:
		return fail(ir, rc, "%s: a parent of %s in the initramfs is not a directory", src,
			    dst);
	case -EFBIG:
		return fail(ir, rc, "%s: too big for a cpio archive (4 GiB)", src);
	default:
		return fail(ir, rc, "%s: %s", src, strerror(-rc));
	}
}

/*
 * A program for the blade: read it, and if it is ELF, insist it is for the
 * blade's architecture (a host busybox would die with ENOEXEC at boot).
 */
static int add_program(struct initramfs *ir, const char *arch, const char *src, const char *dst,
		       uint64_t *size)
{
	const char *got;
	char *data;
	size_t len;
	int rc;

	rc = read_file(src, &data, &len);
	if (rc)
		return fail(ir, rc, "%s: %s", src, strerror(-rc));
	got = elf_arch_of(data, len);
	if (len >= 4 && !memcmp(data, "\177ELF", 4) && (!got || strcmp(got, arch))) {
		free(data);
		return fail(ir, -ENOEXEC, "%s: is a program for %s, not %s", src,
			    got ? got : "an unknown architecture", arch);
	}
	*size = len;
	rc = cpio_add_file_owned(&ir->cpio, dst, 0755, data, len);
	if (rc)
		return fail_add(ir, rc, dst, src);
	return 0;
}

static int add_base(struct initramfs *ir)
{
	size_t i;
	int rc;

	for (i = 0; i < sizeof(base_dirs) / sizeof(base_dirs[0]); i++) {
		rc = cpio_add_dir(&ir->cpio, base_dirs[i].name, base_dirs[i].mode);
		if (rc)
			return fail(ir, rc, "%s: %s", base_dirs[i].name, strerror(-rc));
	}
	rc = cpio_add_chardev(&ir->cpio, "/dev/console", 0600, CONSOLE_MAJOR, CONSOLE_MINOR);
	if (rc)
		return fail(ir, rc, "/dev/console: %s", strerror(-rc));
	return 0;
}

/* The names to resolve: the defaults the tree has, then what was asked for. */
static int module_names(struct initramfs *ir, const struct initramfs_spec *spec,
			const char ***names, size_t *n)
{
	const char **v;
	size_t i, k = 0;
	int rc;

	v = calloc(initramfs_n_default_modules + spec->n_modules + 1, sizeof(*v));
	if (!v)
		return fail(ir, -ENOMEM, "out of memory");
	for (i = 0; spec->default_modules && i < initramfs_n_default_modules; i++) {
		rc = kmod_lookup(&ir->tree, initramfs_default_modules[i]);
		if (rc < 0) {
			free(v);
			return fail(ir, rc, "%s", kmod_error(&ir->tree));
		}
		if (rc == KMOD_MISSING) {
			rc = kmod_names_addf(&ir->notes, "default module %s is not in %s, skipped",
					     initramfs_default_modules[i], spec->moddir);
			if (rc) {
				free(v);
				return fail(ir, rc, "out of memory");
			}
			continue;
		}
		v[k++] = initramfs_default_modules[i];
	}
	for (i = 0; i < spec->n_modules; i++)
		v[k++] = spec->modules[i];
	*names = v;
	*n = k;
	return 0;
}

static int add_modules(struct initramfs *ir, const struct initramfs_spec *spec)
{
	const char **names = NULL;
	char *list = NULL;
	size_t n = 0, list_len = 0, i;
	FILE *f;
	int rc;

	rc = kmod_tree_open(&ir->tree, spec->moddir, spec->arch);
	if (rc)
		return fail(ir, rc, "%s", kmod_error(&ir->tree));
	ir->have_tree = 1;
	rc = module_names(ir, spec, &names, &n);
	if (rc)
		return rc;
	rc = kmod_resolve(&ir->tree, names, n, &ir->plan);
	free(names);
	if (rc)
		return fail(ir, rc, "%s", kmod_error(&ir->tree));
	for (i = 0; i < ir->plan.notes.n; i++) {
		rc = kmod_names_add(&ir->notes, ir->plan.notes.v[i]);
		if (rc)
			return fail(ir, rc, "out of memory");
	}

	/* DIM_INITRAMFS_MODULES: "file.ko" per line, in load order. */
	f = open_memstream(&list, &list_len);
	if (!f)
		return fail(ir, -ENOMEM, "out of memory");
	for (i = 0; i < ir->plan.n; i++) {
		const struct kmod_module *m = ir->plan.order[i];
		char *dst;

		fprintf(f, "%s\n", m->file);
		if (asprintf(&dst, "%s/%s", DIM_INITRAMFS_MODDIR, m->file) < 0) {
			rc = -ENOMEM;
			break;
		}
		rc = cpio_add_file(&ir->cpio, dst, 0644, m->data, m->size);
		if (rc)
			fail_add(ir, rc, dst, m->path);
		free(dst);
		if (rc)
			break;
	}
	if (fclose(f) != 0 && !rc)
		rc = -ENOMEM;
	if (!rc) {
		rc = cpio_add_file_owned(&ir->cpio, DIM_INITRAMFS_MODULES, 0644, list, list_len);
		list = NULL;
		if (rc)
			fail(ir, rc, "%s: %s", DIM_INITRAMFS_MODULES, strerror(-rc));
	}
	free(list);
	if (rc == -ENOMEM)
		fail(ir, rc, "out of memory");
	return rc;
}

static int add_user_files(struct initramfs *ir, const struct initramfs_spec *spec)
{
	size_t i;
	int rc;

	for (i = 0; i < spec->n_files; i++) {
		const struct initramfs_file *uf = &spec->files[i];
		struct stat st;

		if (stat(uf->src, &st) < 0)
			return fail(ir, -errno, "%s: %s", uf->src, strerror(errno));
		if (!S_ISREG(st.st_mode))
			return fail(ir, -EINVAL, "%s: not a regular file", uf->src);
		rc = cpio_add_path(&ir->cpio, uf->dst, st.st_mode & 07777, uf->src);
		if (rc)
			return fail_add(ir, rc, uf->dst, uf->src);
	}
	return 0;
}

int initramfs_build(struct initramfs *ir, const struct initramfs_spec *spec)
{
	int rc;

	memset(ir, 0, sizeof(*ir));
	cpio_init(&ir->cpio);
	if (!initramfs_arch_supported(spec->arch))
		return fail(ir, -EINVAL, "architecture %s is not one dim boots (ppc64le, x86_64)",
			    spec->arch);
	rc = add_base(ir);
	if (rc)
		return rc;
	rc = add_program(ir, spec->arch, spec->linuxrc, "/init", &ir->linuxrc_size);
	if (rc)
		return rc;
	if (spec->busybox) {
		rc = add_program(ir, spec->arch, spec->busybox, "/bin/busybox", &ir->busybox_size);
		if (rc)
			return rc;
		rc = cpio_add_symlink(&ir->cpio, DIM_RESCUE_SHELL, "busybox");
		if (rc)
			return fail_add(ir, rc, DIM_RESCUE_SHELL, spec->busybox);
	}
	if (spec->builtin_drivers) {
		if (spec->moddir)
			return fail(ir, -EINVAL, "a kernel with its drivers built in takes no "
				    "modules (%s)", spec->moddir);
		/* No DIM_INITRAMFS_MODULES: the linuxrc says "drivers built in". */
		rc = 0;
	} else if (spec->moddir) {
		rc = add_modules(ir, spec);
	} else {
		/* No modules: the linuxrc still finds its (empty) list. */
		rc = cpio_add_file(&ir->cpio, DIM_INITRAMFS_MODULES, 0644, NULL, 0);
		if (rc)
			fail(ir, rc, "%s: %s", DIM_INITRAMFS_MODULES, strerror(-rc));
	}
	if (rc)
		return rc;
	return add_user_files(ir, spec);
}

void initramfs_free(struct initramfs *ir)
{
	cpio_free(&ir->cpio);
	kmod_plan_free(&ir->plan);
	if (ir->have_tree)
		kmod_tree_free(&ir->tree);
	ir->have_tree = 0;
	kmod_names_free(&ir->notes);
}

/* ---------------------------------------------------------------- output */

static int copy_into(const char *src, int out, uint64_t *size)
{
	const size_t bufsize = 1 << 20;
	struct stat st;
	char *buf;
	int fd, rc = 0;

	*size = 0;
	fd = open(src, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	buf = malloc(bufsize);
	if (!buf) {
		rc = -ENOMEM;
		goto done;
	}
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		goto done;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
		goto done;
	}
	for (;;) {
		ssize_t n = read(fd, buf, bufsize);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			break;
		}
		if (n == 0)
			break;
		rc = write_full(out, buf, (size_t)n);
		if (rc)
			break;
		*size += (uint64_t)n;
	}
done:
	free(buf);
	close(fd);
	return rc;
}

void initramfs_output_free(struct initramfs_output *out)
{
	free(out->kernel);
	free(out->initrd);
	out->kernel = out->initrd = NULL;
}

int initramfs_write(struct initramfs *ir, const char *kernel, const char *outdir,
		    uint32_t mtime, struct initramfs_output *out)
{
	struct atomic_file kf = { .fd = -1 }, rf = { .fd = -1 };
	/* Level 6, not 9: modules take 9 eight times as long for 1% less. */
	struct cpio_opts opts = { .mtime = mtime, .gzip_level = 6 };
	int rc;

	memset(out, 0, sizeof(*out));
	rc = mkdir_p(outdir, 0755);
	if (rc)
		return fail(ir, rc, "%s: %s", outdir, strerror(-rc));
	if (asprintf(&out->initrd, "%s/initrd.img", outdir) < 0) {
		out->initrd = NULL;
		return fail(ir, -ENOMEM, "out of memory");
	}
	if (kernel && asprintf(&out->kernel, "%s/kernel", outdir) < 0) {
		out->kernel = NULL;
		rc = fail(ir, -ENOMEM, "out of memory");
		goto err_names;
	}

	if (kernel) {
		rc = atomic_open(&kf, out->kernel, 0644);
		if (rc) {
			fail(ir, rc, "%s: %s", out->kernel, strerror(-rc));
			goto err_names;
		}
		rc = copy_into(kernel, kf.fd, &out->kernel_size);
		if (rc) {
			/* -EIO and -ENOSPC are the output's; the rest the input's. */
			fail(ir, rc, "%s: %s", rc == -ENOSPC || rc == -EDQUOT ? out->kernel : kernel,
			     strerror(-rc));
			goto err_kernel;
		}
	}
	rc = atomic_open(&rf, out->initrd, 0644);
	if (rc) {
		fail(ir, rc, "%s: %s", out->initrd, strerror(-rc));
		goto err_kernel;
	}
	rc = cpio_write(&ir->cpio, &opts, cpio_out_fd, &rf.fd, &out->cpio);
	if (rc) {
		fail(ir, rc, "%s: %s", out->initrd, strerror(-rc));
		goto err_initrd;
	}
	/* Both complete: now rename them into place, the kernel first. */
	if (kernel) {
		rc = atomic_commit(&kf);
		if (rc) {
			fail(ir, rc, "%s: %s", out->kernel, strerror(-rc));
			goto err_initrd;
		}
	}
	rc = atomic_commit(&rf);
	if (rc) {
		fail(ir, rc, "%s: %s", out->initrd, strerror(-rc));
		goto err_names;
	}
	return 0;

err_initrd:
	atomic_abort(&rf);
err_kernel:
	if (kernel)
		atomic_abort(&kf);
err_names:
	initramfs_output_free(out);
	return rc;
}

/* ---------------------------------------------------------------- linked-in cpio, iPXE script */

struct membuf {
	char *p;
	size_t len, cap;
};

static int out_mem(void *ctx, const void *buf, size_t len)
{
	struct membuf *m = ctx;

	if (len > m->cap - m->len) {
		size_t cap = m->cap ? m->cap : 1 << 20;
		char *grown;

		while (len > cap - m->len) {
			if (cap > SIZE_MAX / 2)
				return -ENOMEM;
			cap *= 2;
		}
		grown = realloc(m->p, cap);
		if (!grown)
			return -ENOMEM;
		m->p = grown;
		m->cap = cap;
	}
	memcpy(m->p + m->len, buf, len);
	m->len += len;
	return 0;
}

/* Does path hold exactly len bytes equal to data?  Any error reads as no. */
static int same_contents(const char *path, const void *data, size_t len)
{
	char *old;
	size_t old_len;
	int same;

	if (read_file(path, &old, &old_len))
		return 0;
	same = old_len == len && !memcmp(old, data, len);
	free(old);
	return same;
}

int initramfs_write_cpio(struct initramfs *ir, const char *path, uint32_t mtime,
			 struct cpio_stats *stats, int *changed)
{
	struct cpio_opts opts = { .mtime = mtime, .gzip_level = 0 };
	struct atomic_file f = { .fd = -1 };
	struct membuf m = { 0 };
	int rc;

	*changed = 0;
	rc = cpio_write(&ir->cpio, &opts, out_mem, &m, stats);
	if (rc) {
		fail(ir, rc, "%s: %s", path, strerror(-rc));
		goto out;
	}
	if (same_contents(path, m.p, m.len))
		goto out;
	rc = atomic_open(&f, path, 0644);
	if (rc) {
		fail(ir, rc, "%s: %s", path, strerror(-rc));
		goto out;
	}
	rc = write_full(f.fd, m.p, m.len);
	if (!rc)
		rc = atomic_commit(&f);
	else
		atomic_abort(&f);
	if (rc) {
		fail(ir, rc, "%s: %s", path, strerror(-rc));
		goto out;
	}
	*changed = 1;
out:
	free(m.p);
	return rc;
}

int initramfs_ipxe_text(const char *cmdline, const char *base, char **text)
{
	const unsigned char *c;
	int n;

	*text = NULL;
	for (c = (const unsigned char *)cmdline; *c; c++)
		if (*c < 0x20 || *c == 0x7f)
			return -EINVAL;
	/*
	 * iPXE commands (https://ipxe.org/cmd): "kernel" downloads the image and
	 * takes the rest of the line as its command line, "initrd" adds the
	 * initramfs, "boot" starts it.  Relative names are fetched from where
	 * the script came from; base makes them absolute URIs (iPXE expands
	 * ${next-server}, the DHCP server's siaddr, https://ipxe.org/cfg).
	 */
	if (base)
		n = asprintf(text, "#!ipxe\n"
			     "# Written by dim buildzimage --publish: the kernel and dim's initramfs\n"
			     "# from the TFTP server that DHCP named.\n"
			     "kernel %skernel%s%s\n"
			     "initrd %sinitrd.img\n"
			     "boot\n", base, *cmdline ? " " : "", cmdline, base);
	else
		n = asprintf(text, "#!ipxe\n"
			     "# Written by dim buildzimage: the kernel and dim's initramfs, fetched\n"
			     "# from the directory this script came from.\n"
			     "kernel kernel%s%s\n"
			     "initrd initrd.img\n"
			     "boot\n", *cmdline ? " " : "", cmdline);
	if (n < 0) {
		*text = NULL;
		return -ENOMEM;
	}
	return n;
}

int initramfs_write_ipxe(struct initramfs *ir, const char *outdir, const char *cmdline,
			 char **path)
{
	struct atomic_file f = { .fd = -1 };
	char *text = NULL;
	int rc, n;

	*path = NULL;
	n = initramfs_ipxe_text(cmdline, NULL, &text);
	if (n == -EINVAL)
		return fail(ir, -EINVAL, "kernel command line \"%s\": a control character "
			    "(a line break would end the iPXE script's line)", cmdline);
	if (n < 0 || asprintf(path, "%s/boot.ipxe", outdir) < 0) {
		free(text);
		*path = NULL;
		return fail(ir, -ENOMEM, "out of memory");
	}
	rc = mkdir_p(outdir, 0755);
	if (!rc)
		rc = atomic_open(&f, *path, 0644);
	if (!rc) {
		rc = write_full(f.fd, text, (size_t)n);
		if (!rc)
			rc = atomic_commit(&f);
		else
			atomic_abort(&f);
	}
	free(text);
	if (rc) {
		fail(ir, rc, "%s: %s", *path, strerror(-rc));
		free(*path);
		*path = NULL;
	}
	return rc;
}
