/* SPDX-License-Identifier: MIT */
/*
 * dim buildzimage: the blades' boot image, two routes.  The distribution's
 * kernel and an initramfs with the linuxrc as /init and the modules the boot
 * needs, for firmware that loads kernel and initrd separately (and, with
 * --ipxe, a script for PXE firmware that fetches both).  Or --zimage: a
 * kernel built from kernel-config/ fragments with every driver built in and
 * the initramfs linked in, one file firmware fetches by TFTP (zImage.of for
 * SLOF, bzImage for PXE).  --publish puts the result into the TFTP tree of
 * the image servers, under the names dim dhcp gives the blades (tftp.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <glob.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <dirent.h>
#include <stdbool.h>

#include "cmd.h"
#include "context.h"
#include "cpio.h"
#include "fsutil.h"
#include "initramfs.h"
#include "kbuild.h"
#include "sync.h"
#include "tftp.h"

#define NAME "buildzimage"

static const char usage[] =
	"usage: dim buildzimage [options] -o OUTDIR\n"
	"       dim buildzimage --zimage -a ARCH [options] -o OUTDIR\n"
	"       dim buildzimage [--zimage] [options] [-o OUTDIR] --publish IMAGE [--servers RANGE]\n"
	"\n"
	"Build a blade's boot image.  First form: the kernel, and an initramfs holding\n"
	"the linuxrc as /init and the kernel modules the network boot needs.\n"
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
	"      --ipxe             also write OUTDIR/boot.ipxe: an iPXE script that fetches OUTDIR's kernel and\n"
	"                         initrd.img from where it came from and boots them (PXE firmware, x86_64)\n"
	"      --append ARGS      the kernel command line in boot.ipxe (default: console=ttyS0 on x86_64,\n"
	"                         console=hvc0 on ppc64le)\n"
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
	"Second form, --zimage (-z): build the kernel too, from the fragments\n"
	"common.config and ARCH.config applied on top of allnoconfig, every driver built\n"
	"in and the initramfs (-r, -b, -f as above; no module list: the linuxrc says\n"
	"\"drivers built in\") linked in.  Writes OUTDIR/zImage.of (ppc64le: the Open\n"
	"Firmware image SLOF fetches by TFTP) or OUTDIR/bzImage (x86_64).  A setting of\n"
	"a fragment that does not read the same in the resulting .config (Kconfig drops\n"
	"a symbol whose dependencies are off, silently) is an error naming it.  The\n"
	"build directory is kept: a rebuild after changing only the initramfs relinks\n"
	"in seconds, and with nothing changed make only checks that nothing is to do.\n"
	"\n"
	"      --kernel-source PATH   a kernel source tarball, unpacked once into the build directory, or a\n"
	"                         source tree (default: the one /usr/src/linux-source-*.tar.xz, Debian's\n"
	"                         linux-source package)\n"
	"      --kernel-config DIR    the fragments (default: ../../kernel-config next to the dim binary's\n"
	"                         directory, then ../share/dim/kernel-config)\n"
	"      --kernel-build DIR     the kept build directory (default /var/cache/dim/kernel): src/ holds the\n"
	"                         unpacked source, ARCH/ the objects, ARCH/dim-build.log the kernel's make output\n"
	"  -j, --jobs N           parallel compile jobs (default: one per CPU)\n"
	"\n"
	"Publishing, either form: after the build, the boot files go into the TFTP tree of\n"
	"the image servers, STORAGE/tftp/IMAGE/, under the names dim dhcp gives the blades\n"
	"of IMAGE: the file field is IMAGE/KERNEL, KERNEL being the image's kernel\n"
	"attribute.  --zimage: the image as KERNEL.  First form: the kernel as KERNEL and\n"
	"initrd.img; with --ipxe (KERNEL must end in .ipxe) the script as KERNEL, fetching\n"
	"tftp://${next-server}/IMAGE/kernel and .../initrd.img, published beside it.  Each\n"
	"server is reached as the sync commands reach it (its sync=: rsync over ssh, or its\n"
	"rsync daemon's module \"dim\"), or on this host with --local; every file is written\n"
	"under a temporary name, fsynced and renamed (firmware never fetches half a file);\n"
	"other files there stay.  One line per server; a failing one is named, the others\n"
	"still get the files, and the exit status is 1.\n"
	"\n"
	"      --publish IMAGE    publish for this image of the cluster definition\n"
	"      --servers RANGE    only these image servers (s01,s03) or the servers of these\n"
	"                         blades [every image server with a blade booting IMAGE]\n"
	"      --local            write into each server's STORAGE/tftp/IMAGE on this host\n"
	"                         (the management node is the image server, or shares its storage)\n"
	DIM_CTX_USAGE
	"Environment: DIM_SSH, the ssh command for rsync [ssh].\n"
	"\n"
	"Exit status: 0 done, 1 failed (nothing written; with --publish: a server failed),\n"
	"2 usage error.\n";

enum {
	OPT_NO_DEFAULT = 256,
	OPT_IPXE,
	OPT_APPEND,
	OPT_KSOURCE,
	OPT_KCONFIG,
	OPT_KBUILD,
	OPT_PUBLISH,
	OPT_SERVERS,
	OPT_LOCAL,
};

#define DEFAULT_KERNEL_BUILD	"/var/cache/dim/kernel"
#define DEFAULT_KERNEL_SOURCE	"/usr/src/linux-source-*.tar.xz"

/* The console each architecture's blades have, for a command line dim writes. */
static const struct {
	const char *arch, *cmdline;
} default_append[] = {
	{ "ppc64le", "console=hvc0" },
	{ "x86_64", "console=ttyS0" },
};

static const struct option options[] = {
	{ "kernel", required_argument, NULL, 'k' },
	{ "modules", required_argument, NULL, 'm' },
	{ "arch", required_argument, NULL, 'a' },
	{ "linuxrc", required_argument, NULL, 'r' },
	{ "busybox", required_argument, NULL, 'b' },
	{ "module", required_argument, NULL, 'M' },
	{ "no-default-modules", no_argument, NULL, OPT_NO_DEFAULT },
	{ "file", required_argument, NULL, 'f' },
	{ "ipxe", no_argument, NULL, OPT_IPXE },
	{ "append", required_argument, NULL, OPT_APPEND },
	{ "zimage", no_argument, NULL, 'z' },
	{ "kernel-source", required_argument, NULL, OPT_KSOURCE },
	{ "kernel-config", required_argument, NULL, OPT_KCONFIG },
	{ "kernel-build", required_argument, NULL, OPT_KBUILD },
	{ "jobs", required_argument, NULL, 'j' },
	{ "output", required_argument, NULL, 'o' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ "publish", required_argument, NULL, OPT_PUBLISH },
	{ "servers", required_argument, NULL, OPT_SERVERS },
	{ "local", no_argument, NULL, OPT_LOCAL },
	DIM_CTX_OPTIONS,
	{ NULL, 0, NULL, 0 },
};

struct args {
	const char *kernel, *outdir, *arch;
	int quiet;
	int ipxe;
	const char *append;
	int zimage;
	const char *ksource, *kconfig, *kbuild;
	int jobs;
	struct initramfs_spec spec;
	const char **modules;
	struct initramfs_file *files;
	/* --publish */
	struct dim_ctx ctx;
	const char *publish, *servers;
	bool local;
};

#define usage_error(...) cmd_usage_error(NAME, __VA_ARGS__)

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
	while ((c = getopt_long(argc, argv, ":k:m:a:r:b:M:f:o:zj:qhc:", options, NULL)) != -1) {
		if (ctx_option(&a->ctx, c, optarg))
			continue;
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
		case OPT_IPXE:
			a->ipxe = 1;
			break;
		case OPT_APPEND:
			a->append = optarg;
			break;
		case 'z':
			a->zimage = 1;
			break;
		case OPT_KSOURCE:
			a->ksource = optarg;
			break;
		case OPT_KCONFIG:
			a->kconfig = optarg;
			break;
		case OPT_KBUILD:
			a->kbuild = optarg;
			break;
		case 'j': {
			char *end;
			long n;

			errno = 0;
			n = strtol(optarg, &end, 10);
			if (errno || end == optarg || *end || n < 1 || n > 1024)
				return usage_error("-j %s: a number of jobs, 1 to 1024", optarg);
			a->jobs = (int)n;
			break;
		}
		case 'o':
			a->outdir = optarg;
			break;
		case OPT_PUBLISH:
			a->publish = optarg;
			break;
		case OPT_SERVERS:
			a->servers = optarg;
			break;
		case OPT_LOCAL:
			a->local = true;
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
	if (!a->outdir && !a->publish)
		return usage_error("no output directory (-o) and nothing to publish (--publish)");
	if ((a->servers || a->local) && !a->publish)
		return usage_error("--servers and --local go with --publish");
	if (a->publish && !a->zimage && !a->kernel)
		return usage_error("--publish needs the kernel the blades boot (-k), or --zimage");
	if (!a->kernel && !a->arch)
		return usage_error("neither a kernel (-k) nor an architecture (-a)");
	if (a->spec.n_modules && !a->spec.moddir)
		return usage_error("-M needs the module tree (-m)");
	if (a->zimage) {
		if (a->kernel || a->spec.moddir || !a->spec.default_modules)
			return usage_error("--zimage builds its own kernel with its drivers built in: "
					   "no -k, -m, -M or --no-default-modules");
		if (a->ipxe)
			return usage_error("--ipxe is for the first form; PXE firmware boots the "
					   "--zimage image itself");
	} else if (a->ksource || a->kconfig || a->kbuild || a->jobs) {
		return usage_error("--kernel-source, --kernel-config, --kernel-build and -j "
				   "go with --zimage");
	}
	if (a->ipxe && !a->kernel)
		return usage_error("--ipxe needs the kernel it boots (-k)");
	if (a->append && !a->ipxe)
		return usage_error("--append goes with --ipxe");
	if (a->append) {
		const unsigned char *p;

		for (p = (const unsigned char *)a->append; *p; p++)
			if (*p < 0x20 || *p == 0x7f)
				return usage_error("--append: a control character would end the "
						   "iPXE script's line");
	}
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
 * A file that comes with dim, found from where the dim binary is: dir/REL/tail
 * for each REL of where (the build tree first, then the installed layout).
 */
static int near_binary(const char *const where[2], const char *tail, char **path,
		       char *tried[2])
{
	char exe[PATH_MAX], *dir;
	ssize_t n;
	size_t i;

	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n < 0)
		return -errno;
	exe[n] = '\0';
	dir = dirname(exe);
	for (i = 0; i < 2; i++) {
		if (asprintf(&tried[i], "%s/%s/%s", dir, where[i], tail) < 0) {
			tried[i] = NULL;
			return -ENOMEM;
		}
		if (access(tried[i], R_OK) == 0) {
			*path = tried[i];
			tried[i] = NULL;
			return 0;
		}
	}
	return -ENOENT;
}

/*
 * The linuxrc built for arch: <bindir>/../ARCH/linuxrc in the build tree
 * (build/bin/dim, build/ppc64le/linuxrc), <bindir>/../lib/dim/ARCH/linuxrc
 * when installed.
 */
static int default_linuxrc(const char *arch, char **path)
{
	static const char *const where[2] = { "..", "../lib/dim" };
	char *tried[2] = { NULL, NULL }, *tail = NULL;
	int rc;

	if (asprintf(&tail, "%s/linuxrc", arch) < 0)
		return cmd_error(NAME, "out of memory");
	rc = near_binary(where, tail, path, tried);
	if (rc == -ENOENT)
		rc = cmd_error(NAME, "no linuxrc for %s in %s or %s (build it, or give one with -r)",
			       arch, tried[0], tried[1]);
	else if (rc)
		rc = cmd_error(NAME, "cannot find the linuxrc: %s (give it with -r)",
			       strerror(-rc));
	free(tail);
	free(tried[0]);
	free(tried[1]);
	return rc;
}

/*
 * The kernel configuration fragments: <bindir>/../../kernel-config in the
 * source tree (build/bin/dim), <bindir>/../share/dim/kernel-config installed.
 */
static int default_kernel_config(char **path)
{
	static const char *const where[2] = { "../..", "../share/dim" };
	char *tried[2] = { NULL, NULL };
	int rc;

	rc = near_binary(where, "kernel-config", path, tried);
	if (rc == -ENOENT)
		rc = cmd_error(NAME, "no kernel-config directory in %s or %s (give it with "
			       "--kernel-config)", tried[0], tried[1]);
	else if (rc)
		rc = cmd_error(NAME, "cannot find kernel-config: %s (give it with "
			       "--kernel-config)", strerror(-rc));
	free(tried[0]);
	free(tried[1]);
	return rc;
}

/* Debian's linux-source-X.Y package: /usr/src/linux-source-X.Y.tar.xz, if there is exactly one. */
static int default_kernel_source(char **path)
{
	glob_t g;
	int rc;

	rc = glob(DEFAULT_KERNEL_SOURCE, 0, NULL, &g);
	if (rc == GLOB_NOMATCH)
		return cmd_error(NAME, "no kernel source: no %s (apt-get install linux-source-6.1, "
				 "or give one with --kernel-source)", DEFAULT_KERNEL_SOURCE);
	if (rc)
		return cmd_error(NAME, "%s: cannot list", DEFAULT_KERNEL_SOURCE);
	if (g.gl_pathc != 1) {
		rc = cmd_error(NAME, "%zu kernel sources match %s: choose one with --kernel-source",
			       g.gl_pathc, DEFAULT_KERNEL_SOURCE);
		globfree(&g);
		return rc;
	}
	*path = strdup(g.gl_pathv[0]);
	globfree(&g);
	return *path ? 0 : cmd_error(NAME, "out of memory");
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

static double seconds_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* The last lines of the kernel's build log, where make says what failed. */
static void log_tail(const char *path, unsigned lines)
{
	char *text = NULL, *p, *start;
	unsigned n = 0;
	size_t len = 0;

	if (read_file(path, &text, &len))
		return;
	if (!len) {
		free(text);
		return;
	}
	start = text;
	for (p = text + len - 1; p > text; p--)
		if (*p == '\n' && p != text + len - 1 && ++n == lines) {
			start = p + 1;
			break;
		}
	fprintf(stderr, "---- the end of %s:\n%s%s----\n", path, start,
		text[len - 1] == '\n' ? "" : "\n");
	free(text);
}

static void progress(const struct args *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void progress(const struct args *a, const char *fmt, ...)
{
	va_list ap;

	if (a->quiet)
		return;
	fprintf(stderr, "dim " NAME ": ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void zimage_summary(const struct args *a, const struct initramfs *ir,
			   const struct kbuild *kb, const char *ksource, int cpio_changed,
			   const struct cpio_stats *cs, const char *image, uint64_t image_size,
			   double total, double make_s)
{
	unsigned i;

	printf("arch      %s\n", a->spec.arch);
	printf("linuxrc   %s (%llu bytes)\n", a->spec.linuxrc,
	       (unsigned long long)ir->linuxrc_size);
	if (a->spec.busybox)
		printf("busybox   %s (%llu bytes)\n", a->spec.busybox,
		       (unsigned long long)ir->busybox_size);
	printf("modules   none: the kernel has its drivers built in\n");
	if (a->spec.n_files)
		printf("files     %zu added\n", a->spec.n_files);
	if (strcmp(ksource, kb->source))
		printf("source    %s (from %s)\n", kb->source, ksource);
	else
		printf("source    %s\n", kb->source);
	printf("config   ");
	for (i = 0; i < kb->n_fragments; i++)
		printf(" %s", kb->fragments[i]);
	printf(": %zu settings, all in %s/.config\n", kb->want.n, kb->tree);
	printf("initramfs %s (%llu bytes, %s)\n", kb->cpio, (unsigned long long)cs->raw_size,
	       cpio_changed ? "new" : "unchanged");
	printf("image     %s (%llu bytes, %.1f MiB)\n", image, (unsigned long long)image_size,
	       mib(image_size));
	printf("time      %.1f s (make %s %.1f s)\n", total, kb->a->target, make_s);
}

/* --zimage: the initramfs, then the kernel around it. */
static int zimage_route(struct args *a, uint32_t mtime, char **image_out)
{
	struct timespec t0, tm;
	struct initramfs ir;
	struct kbuild kb;
	struct cpio_stats cs;
	char *ksource = NULL, *kconfig = NULL, *image = NULL;
	uint64_t image_size = 0;
	int rc, changed = 0, ran = 0, show_log = 0;
	double make_s;
	size_t i;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	a->spec.builtin_drivers = 1;
	rc = initramfs_build(&ir, &a->spec);
	if (rc) {
		rc = cmd_error(NAME, "%s", initramfs_error(&ir));
		initramfs_free(&ir);
		return rc;
	}
	rc = kbuild_init(&kb, a->arch, a->kbuild ? a->kbuild : DEFAULT_KERNEL_BUILD, a->jobs);
	if (rc)
		goto err_kb;
	if (a->ksource) {
		ksource = strdup(a->ksource);
		if (!ksource) {
			rc = cmd_error(NAME, "out of memory");
			goto out;
		}
	} else {
		rc = default_kernel_source(&ksource);
		if (rc)
			goto out;
	}
	if (a->kconfig) {
		kconfig = strdup(a->kconfig);
		if (!kconfig) {
			rc = cmd_error(NAME, "out of memory");
			goto out;
		}
	} else {
		rc = default_kernel_config(&kconfig);
		if (rc)
			goto out;
	}
	rc = kbuild_fragments(&kb, kconfig);
	if (rc)
		goto err_kb;
	if (kbuild_needs_unpack(&kb, ksource))
		progress(a, "unpacking %s into %s/src (once)", ksource, kb.build);
	rc = kbuild_source(&kb, ksource);
	if (rc)
		goto err_kb;
	rc = initramfs_write_cpio(&ir, kb.cpio, mtime, &cs, &changed);
	if (rc) {
		rc = cmd_error(NAME, "%s", initramfs_error(&ir));
		goto out;
	}
	rc = kbuild_configure(&kb, &ran);
	if (rc)
		goto err_kb;
	progress(a, "%s: make %s in %s (-j%d; its output goes to %s)",
		 ran ? "configured" : "configuration unchanged", kb.a->target, kb.tree, kb.jobs,
		 kb.log);
	clock_gettime(CLOCK_MONOTONIC, &tm);
	rc = kbuild_make(&kb);
	make_s = seconds_since(&tm);
	if (rc) {
		show_log = rc == -ECHILD;
		goto err_kb;
	}
	rc = kbuild_install(&kb, a->outdir, &image, &image_size);
	if (rc)
		goto err_kb;
	if (!a->quiet) {
		for (i = 0; i < ir.notes.n; i++)
			fprintf(stderr, "dim " NAME ": note: %s\n", ir.notes.v[i]);
		zimage_summary(a, &ir, &kb, ksource, changed, &cs, image, image_size,
			       seconds_since(&t0), make_s);
	}
	*image_out = image;
	image = NULL;
	goto out;

err_kb:
	rc = cmd_error(NAME, "%s", kb.err.msg);
	for (i = 0; i < kb.n_mismatch; i++) {
		char line[1024];

		kconfig_describe(&kb.mismatch[i], line, sizeof(line));
		fprintf(stderr, "  %s\n", line);
	}
	if (show_log)
		log_tail(kb.log, 25);
out:
	free(image);
	free(kconfig);
	free(ksource);
	kbuild_free(&kb);
	initramfs_free(&ir);
	return rc;
}

static const char *append_for(const char *arch)
{
	size_t i;

	for (i = 0; i < sizeof(default_append) / sizeof(default_append[0]); i++)
		if (!strcmp(default_append[i].arch, arch))
			return default_append[i].cmdline;
	return "";
}

/* ---------------------------------------------------------------- --publish */

struct publish {
	const struct cluster *c;
	const struct cl_image *img;
	bool *want;		/* per image server */
	unsigned n_want;
	char boot_file[TFTP_BOOT_FILE_MAX + 1];
	char *tmpdir;		/* the build's output without -o */
};

/* Before the build: the image, its servers, and whether this build fits its kernel attribute. */
static int publish_prepare(struct args *a, struct publish *p)
{
	struct dim_err err = { 0 };
	const char *why;
	unsigned ii;
	int n;

	if (ctx_open(&a->ctx, false, &err) < 0)
		return cmd_error(NAME, "%s", err.msg);
	p->c = a->ctx.cluster;
	ii = cluster_find_image(p->c, a->publish);
	if (ii == CL_NONE)
		return cmd_error(NAME, "--publish %s: no image of that name in %s", a->publish,
				 p->c->file);
	p->img = &p->c->images[ii];
	if (tftp_boot_file(p->img, p->boot_file, sizeof(p->boot_file), &why) < 0)
		return cmd_error(NAME, "image %s: kernel \"%s\": %s", p->img->name, p->img->kernel,
				 why);
	if (tftp_kernel_is_ipxe(p->img->kernel) && !a->ipxe)
		return cmd_error(NAME, "image %s boots an iPXE script (kernel=\"%s\"): build it "
				 "with --ipxe (and -k)", p->img->name, p->img->kernel);
	if (a->ipxe && !tftp_kernel_is_ipxe(p->img->kernel))
		return cmd_error(NAME, "--ipxe: image %s's blades are given \"%s\", not a script: "
				 "its kernel attribute must end in " TFTP_IPXE_SUFFIX
				 " (e.g. boot.ipxe)", p->img->name, p->boot_file);
	if (!a->zimage && !strcmp(p->img->kernel, "initrd.img"))
		return cmd_error(NAME, "image %s: kernel \"initrd.img\" is the initramfs's name "
				 "beside it; name the kernel otherwise", p->img->name);
	p->want = calloc(p->c->n_servers ? p->c->n_servers : 1, sizeof(*p->want));
	if (!p->want)
		return cmd_error(NAME, "out of memory");
	n = sync_pick_servers(p->c, ii, a->servers, p->want, &err);
	if (n < 0)
		return cmd_error(NAME, "--servers %s: %s", a->servers, err.msg);
	if (n == 0)
		return cmd_error(NAME, "no image server has a blade booting image %s%s%s",
				 p->img->name, a->servers ? " among " : "",
				 a->servers ? a->servers : "");
	p->n_want = (unsigned)n;
	/* Without -o the build goes to a directory of its own, removed afterwards. */
	if (!a->outdir) {
		const char *tmp = getenv("TMPDIR");

		if (asprintf(&p->tmpdir, "%s/dim-buildzimage.XXXXXX",
			     tmp && tmp[0] == '/' ? tmp : "/tmp") < 0) {
			p->tmpdir = NULL;
			return cmd_error(NAME, "out of memory");
		}
		if (!mkdtemp(p->tmpdir)) {
			int e = errno;

			free(p->tmpdir);
			p->tmpdir = NULL;
			return cmd_error(NAME, "a temporary directory: %s", strerror(e));
		}
		a->outdir = p->tmpdir;
	}
	return 0;
}

static void publish_free(struct publish *p)
{
	if (p->tmpdir) {
		DIR *d = opendir(p->tmpdir);
		struct dirent *de;

		/* only the build's files are in it */
		while (d && (de = readdir(d)))
			if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
				unlinkat(dirfd(d), de->d_name, 0);
		if (d)
			closedir(d);
		rmdir(p->tmpdir);
		free(p->tmpdir);
	}
	free(p->want);
}

static void human(uint64_t bytes, char *buf, size_t size)
{
	static const char *const unit[] = { "B", "kB", "MB", "GB" };
	double v = (double)bytes;
	unsigned u = 0;

	while (v >= 1000 && u < 3) {
		v /= 1000;
		u++;
	}
	snprintf(buf, size, u ? "%.1f %s" : "%.0f %s", v, unit[u]);
}

/*
 * After the build: stage the files under their published names, one rsync
 * per server (at most 8 at once), one line per server.
 */
static int publish_run(struct args *a, struct publish *p, const char *kernel, const char *initrd,
		       const char *image)
{
	struct tftp_file files[3];
	struct sync_server_job *jobs = NULL;
	struct dim_err err = { 0 };
	char *stage = NULL, *script = NULL, base[PATH_MAX], names[1024] = "", sz[32];
	const char *rsh = getenv("DIM_SSH");
	size_t n = 0, nj = 0, i;
	unsigned failed = 0;
	int rc;

	if (image) {
		files[n++] = (struct tftp_file){ .src = image, .name = p->img->kernel };
	} else if (a->ipxe) {
		snprintf(base, sizeof(base), "tftp://${next-server}/%s/", p->img->name);
		if (initramfs_ipxe_text(a->append ? a->append : append_for(a->arch), base,
					&script) < 0)
			return cmd_error(NAME, "out of memory");
		files[n++] = (struct tftp_file){ .src = kernel, .name = "kernel" };
		files[n++] = (struct tftp_file){ .src = initrd, .name = "initrd.img" };
		files[n++] = (struct tftp_file){ .text = script, .name = p->img->kernel };
	} else {
		files[n++] = (struct tftp_file){ .src = kernel, .name = p->img->kernel };
		files[n++] = (struct tftp_file){ .src = initrd, .name = "initrd.img" };
	}
	if (tftp_stage(files, n, &stage, &err) < 0) {
		rc = cmd_error(NAME, "%s", err.msg);
		goto out;
	}
	jobs = calloc(p->n_want, sizeof(*jobs));
	if (!jobs) {
		rc = cmd_error(NAME, "out of memory");
		goto out;
	}
	for (i = 0; i < p->c->n_servers; i++) {
		if (!p->want[i])
			continue;
		jobs[nj].s = &p->c->servers[i];
		if (tftp_publish_argv(p->c, jobs[nj].s, p->img, stage, a->local,
				      rsh && rsh[0] ? rsh : NULL, 0, &jobs[nj].argv, &err) < 0) {
			nj++;
			rc = cmd_error(NAME, "%s", err.msg);
			goto out;
		}
		nj++;
	}
	if (!a->quiet)
		printf("bootfile  %s (what dim dhcp names for image %s)\n", p->boot_file,
		       p->img->name);
	fflush(stdout);
	if (sync_fan_servers(jobs, nj, 8, 0, NULL, NULL, &err) < 0) {
		rc = cmd_error(NAME, "%s", err.msg);
		goto out;
	}
	for (i = 0; i < nj; i++) {
		const struct fan_job *j = &jobs[i].job;
		long long files_n, bytes;
		char why[512];

		if (j->status != 0) {
			fanout_reason(j, why, sizeof(why));
			printf("publish   %s FAILED: %s (rsync exit %d)\n", jobs[i].s->name,
			       why[0] ? why : "no message", j->status);
			failed++;
			if (strlen(names) + strlen(jobs[i].s->name) + 8 < sizeof(names))
				snprintf(names + strlen(names), sizeof(names) - strlen(names),
					 "%s%s", failed > 1 ? ", " : "", jobs[i].s->name);
			continue;
		}
		if (a->quiet)
			continue;
		sync_rsync_stats(j->out, &files_n, &bytes);
		human(bytes < 0 ? 0 : (uint64_t)bytes, sz, sizeof(sz));
		printf("publish   %s ok: %zu files, %lld new (%s), %.1f s\n", jobs[i].s->name, n,
		       files_n < 0 ? 0 : files_n, sz, j->seconds);
	}
	rc = failed ? cmd_error(NAME, "--publish %s: %u of %zu image servers failed: %s",
				p->img->name, failed, nj, names)
		    : 0;
out:
	sync_server_jobs_free(jobs, nj);
	tftp_stage_remove(stage, files, n);
	free(script);
	return rc;
}

static int buildzimage_run(int argc, char **argv)
{
	struct args a = { 0 };
	struct publish pub = { 0 };
	struct initramfs ir;
	struct initramfs_output out;
	char *linuxrc = NULL, *ipxe = NULL, *image = NULL;
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
	/* A wrong image or range is said before minutes of building. */
	if (a.publish) {
		rc = publish_prepare(&a, &pub);
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
	if (a.zimage) {
		rc = zimage_route(&a, mtime, &image);
		if (!rc && a.publish)
			rc = publish_run(&a, &pub, NULL, NULL, image);
		goto out_args;
	}

	rc = initramfs_build(&ir, &a.spec);
	if (!rc)
		rc = initramfs_write(&ir, a.kernel, a.outdir, mtime, &out);
	if (rc) {
		rc = cmd_error(NAME, "%s", initramfs_error(&ir));
		goto out_ir;
	}
	if (a.ipxe) {
		rc = initramfs_write_ipxe(&ir, a.outdir, a.append ? a.append : append_for(a.arch),
					  &ipxe);
		if (rc) {
			rc = cmd_error(NAME, "%s", initramfs_error(&ir));
			goto out_out;
		}
	}
	if (!a.quiet) {
		for (i = 0; i < ir.notes.n; i++)
			fprintf(stderr, "dim " NAME ": note: %s\n", ir.notes.v[i]);
		summary(&a, &ir, &out);
		if (ipxe && !pub.tmpdir)
			printf("ipxe      %s\n", ipxe);
	}
	if (a.publish)
		rc = publish_run(&a, &pub, out.kernel, out.initrd, NULL);
out_out:
	initramfs_output_free(&out);
out_ir:
	initramfs_free(&ir);
out_args:
	publish_free(&pub);
	ctx_close(&a.ctx);
	free(image);
	free(ipxe);
	free(linuxrc);
	free(a.modules);
	free(a.files);
	return rc;
}

const struct dim_cmd cmd_buildzimage = {
	.name = NAME,
	.summary = "build the blades' boot image: kernel + linuxrc initramfs, or a netboot zImage",
	.usage = usage,
	.run = buildzimage_run,
};
