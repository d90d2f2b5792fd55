/* SPDX-License-Identifier: MIT */
/*
 * dim buildzimage: the blades' boot image.  First form: the distribution's
 * kernel and an initramfs with the linuxrc as /init and the modules the boot
 * needs, for firmware or QEMU that loads kernel and initrd separately.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "cpio.h"
#include "initramfs.h"

#define NAME "buildzimage"

static const char usage[] =
	"usage: dim buildzimage [options] -o OUTDIR\n"
	"\n"
	"Build a blade's boot image: the kernel, and an initramfs holding the linuxrc\n"
	"as /init and the kernel modules the network boot needs.\n"
	"\n"
	"  -k, --kernel FILE      the kernel image to boot (vmlinux, vmlinuz, bzImage); copied to OUTDIR/kernel\n"
	"  -m, --modules DIR      the kernel's module tree (.../lib/modules/VERSION)\n"
	"  -a, --arch ARCH        ppc64le or x86_64 (default: from the kernel image: ELF e_machine, or the x86 boot header \"HdrS\")\n"
	"  -r, --linuxrc FILE     the linuxrc to use as /init (default: ../ARCH/linuxrc next to the dim binary's\n"
	"                         directory, then ../lib/dim/ARCH/linuxrc)\n"
	"  -b, --busybox FILE     add a static busybox as /bin/busybox with /bin/sh -> busybox (rescue shell)\n"
	"  -M, --module NAME      add a module (repeatable); it and its dependencies are loaded at boot\n"
	"      --no-default-modules   only the -M modules\n"
	"  -f, --file SRC:DST     add a file (repeatable)\n"
	"  -o, --output DIR       write DIR/kernel and DIR/initrd.img (created if missing; each file written atomically)\n"
	"  -q, --quiet\n"
	"  -h, --help\n"
	"\n"
	"Default modules (those the module tree has, with their dependencies and softdeps):\n"
	"  ibmveth virtio_net virtio_pci e1000 e1000e nfsv4 nfsv3 nfs loop ext4 overlay\n"
	"Modules go to /lib/modules/NAME.ko, their load order to /etc/dim/modules.\n"
	"Without -k only OUTDIR/initrd.img is written, and -a is needed.\n"
	"The archive is reproducible: every time stamp is $SOURCE_DATE_EPOCH, or 0.\n"
	"\n"
	"Exit status: 0 done, 1 failed (nothing written), 2 usage error.\n";

enum { OPT_NO_DEFAULT = 256 };

static const struct option options[] = {
	{ "kernel", required_argument, NULL, 'k' },
	{ "modules", required_argument, NULL, 'm' },
	{ "arch", required_argument, NULL, 'a' },
	{ "linuxrc", required_argument, NULL, 'r' },
	{ "busybox", required_argument, NULL, 'b' },
	{ "module", required_argument, NULL, 'M' },
	{ "no-default-modules", no_argument, NULL, OPT_NO_DEFAULT },
	{ "file", required_argument, NULL, 'f' },
	{ "output", required_argument, NULL, 'o' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

struct args {
	const char *kernel, *outdir, *arch;
	int quiet;
	struct initramfs_spec spec;
	const char **modules;
	struct initramfs_file *files;
};

__attribute__((format(printf, 1, 2)))
static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "dim " NAME ": ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n(dim " NAME " --help shows the options)\n");
	return 2;
}

/* SRC:DST, split at the last ":/" so SRC may hold colons; DST is absolute. */
static int parse_file_arg(char *arg, struct initramfs_file *f)
{
	char *sep = NULL, *p;

	for (p = strstr(arg, ":/"); p; p = strstr(p + 1, ":/"))
		sep = p;
	if (!sep || sep == arg)
		return -1;
	*sep = '\0';
	f->src = arg;
	f->dst = sep + 1;
	return 0;
}

static int parse_args(int argc, char **argv, struct args *a)
{
	int c;

	a->spec.default_modules = 1;
	a->modules = calloc((size_t)argc, sizeof(*a->modules));
	a->files = calloc((size_t)argc, sizeof(*a->files));
	if (!a->modules || !a->files)
		return cmd_error(NAME, "out of memory");
	a->spec.modules = a->modules;
	a->spec.files = a->files;
	optind = 1;
	opterr = 0;	/* the messages below name the command */
	while ((c = getopt_long(argc, argv, ":k:m:a:r:b:M:f:o:qh", options, NULL)) != -1) {
		switch (c) {
		case 'k':
			a->kernel = optarg;
			break;
		case 'm':
			a->spec.moddir = optarg;
			break;
		case 'a':
			if (!initramfs_arch_supported(optarg))
				return usage_error("-a %s: ppc64le or x86_64", optarg);
			a->arch = optarg;
			break;
		case 'r':
			a->spec.linuxrc = optarg;
			break;
		case 'b':
			a->spec.busybox = optarg;
			break;
		case 'M':
			a->modules[a->spec.n_modules++] = optarg;
			break;
		case OPT_NO_DEFAULT:
			a->spec.default_modules = 0;
			break;
		case 'f':
			if (parse_file_arg(optarg, &a->files[a->spec.n_files]))
				return usage_error("-f %s: SRC:DST with DST an absolute path", optarg);
			a->spec.n_files++;
			break;
		case 'o':
			a->outdir = optarg;
			break;
		case 'q':
			a->quiet = 1;
			break;
		case 'h':
			fputs(usage, stdout);
			return -1;
		case ':':
			return usage_error("%s needs an argument", argv[optind - 1]);
		default:
			if (optopt)
				return usage_error("unknown option -%c", optopt);
			return usage_error("unknown option %s", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument \"%s\"", argv[optind]);
	if (!a->outdir)
		return usage_error("no output directory (-o)");
	if (!a->kernel && !a->arch)
		return usage_error("neither a kernel (-k) nor an architecture (-a)");
	if (a->spec.n_modules && !a->spec.moddir)
		return usage_error("-M needs the module tree (-m)");
	return 0;
}

/* The kernel's architecture, checked against -a. */
static int kernel_arch(struct args *a)
{
	unsigned char buf[4096];
	const char *arch;
	ssize_t n;
	int fd;

	fd = open(a->kernel, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return cmd_error(NAME, "%s: %s", a->kernel, strerror(errno));
	n = read(fd, buf, sizeof(buf));
	if (n < 0) {
		int err = errno;

		close(fd);
		return cmd_error(NAME, "%s: %s", a->kernel, strerror(err));
	}
	close(fd);
	arch = initramfs_kernel_arch(buf, (size_t)n);
	if (!arch && !a->arch)
		return cmd_error(NAME, "%s: cannot tell the kernel's architecture (neither ELF nor "
			"an x86 boot image); give it with -a", a->kernel);
	if (arch && a->arch && strcmp(arch, a->arch))
		return cmd_error(NAME, "%s: a kernel for %s, but -a says %s", a->kernel, arch,
				 a->arch);
	if (!a->arch && !initramfs_arch_supported(arch))
		return cmd_error(NAME, "%s: a kernel for %s; dim boots ppc64le and x86_64",
				 a->kernel, arch);
	if (!a->arch)
		a->arch = arch;
	return 0;
}

/*
 * The linuxrc built for arch: <bindir>/../ARCH/linuxrc in the build tree
 * (build/bin/dim, build/ppc64le/linuxrc), <bindir>/../lib/dim/ARCH/linuxrc
 * when installed.
 */
static int default_linuxrc(const char *arch, char **path)
{
	static const char *const where[] = { "..", "../lib/dim" };
	char exe[PATH_MAX], *dir, *tried[2] = { NULL, NULL };
	ssize_t n;
	size_t i;
	int rc = 1;

	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n < 0)
		return cmd_error(NAME, "/proc/self/exe: %s (give the linuxrc with -r)",
				 strerror(errno));
	exe[n] = '\0';
	dir = dirname(exe);
	for (i = 0; i < 2; i++) {
		if (asprintf(&tried[i], "%s/%s/%s/linuxrc", dir, where[i], arch) < 0) {
			tried[i] = NULL;
			rc = cmd_error(NAME, "out of memory");
			goto out;
		}
		if (access(tried[i], R_OK) == 0) {
			*path = tried[i];
			tried[i] = NULL;
			rc = 0;
			goto out;
		}
	}
	rc = cmd_error(NAME, "no linuxrc for %s in %s or %s (build it, or give one with -r)",
		       arch, tried[0], tried[1]);
out:
	free(tried[0]);
	free(tried[1]);
	return rc;
}

static double mib(uint64_t bytes)
{
	return (double)bytes / (1024.0 * 1024.0);
}

static void summary(const struct args *a, const struct initramfs *ir,
		    const struct initramfs_output *out)
{
	size_t i;

	printf("arch      %s\n", a->spec.arch);
	printf("linuxrc   %s (%llu bytes)\n", a->spec.linuxrc,
	       (unsigned long long)ir->linuxrc_size);
	if (a->spec.busybox)
		printf("busybox   %s (%llu bytes)\n", a->spec.busybox,
		       (unsigned long long)ir->busybox_size);
	if (!a->spec.moddir)
		printf("modules   none (no module tree, -m)");
	else
		printf("modules   %zu, %.1f MiB", ir->plan.n, mib(ir->plan.total_size));
	for (i = 0; i < ir->plan.n; i++)
		printf("%s%s", i ? " " : ": ", ir->plan.order[i]->name);
	printf("\n");
	if (a->spec.n_files)
		printf("files     %zu added\n", a->spec.n_files);
	if (out->kernel)
		printf("kernel    %s (%llu bytes)\n", out->kernel,
		       (unsigned long long)out->kernel_size);
	printf("initrd    %s (%llu bytes, %.1f MiB; %.1f MiB uncompressed)\n", out->initrd,
	       (unsigned long long)out->cpio.out_size, mib(out->cpio.out_size),
	       mib(out->cpio.raw_size));
}

static int buildzimage_run(int argc, char **argv)
{
	struct args a = { 0 };
	struct initramfs ir;
	struct initramfs_output out;
	char *linuxrc = NULL;
	uint32_t mtime;
	size_t i;
	int rc;

	rc = parse_args(argc, argv, &a);
	if (rc) {
		rc = rc < 0 ? 0 : rc;	/* --help */
		goto out_args;
	}
	if (cpio_source_date(&mtime)) {
		rc = cmd_error(NAME, "SOURCE_DATE_EPOCH=%s: not a time in seconds (0 to 4294967295)",
			       getenv("SOURCE_DATE_EPOCH"));
		goto out_args;
	}
	if (a.kernel) {
		rc = kernel_arch(&a);
		if (rc)
			goto out_args;
	}
	a.spec.arch = a.arch;
	if (!a.spec.linuxrc) {
		rc = default_linuxrc(a.arch, &linuxrc);
		if (rc)
			goto out_args;
		a.spec.linuxrc = linuxrc;
	}

	rc = initramfs_build(&ir, &a.spec);
	if (!rc)
		rc = initramfs_write(&ir, a.kernel, a.outdir, mtime, &out);
	if (rc) {
		rc = cmd_error(NAME, "%s", initramfs_error(&ir));
		goto out_ir;
	}
	if (!a.quiet) {
		for (i = 0; i < ir.notes.n; i++)
			fprintf(stderr, "dim " NAME ": note: %s\n", ir.notes.v[i]);
		summary(&a, &ir, &out);
	}
	initramfs_output_free(&out);
out_ir:
	initramfs_free(&ir);
out_args:
	free(linuxrc);
	free(a.modules);
	free(a.files);
	return rc;
}

const struct dim_cmd cmd_buildzimage = {
	.name = NAME,
	.summary = "build the blades' boot image: kernel + linuxrc initramfs",
	.usage = usage,
	.run = buildzimage_run,
};
