/* SPDX-License-Identifier: MIT */
/*
 * dim's linuxrc: PID 1 of a diskless blade's initramfs.
 *
 * main() is the boot sequence, one call per step.  A step that fails says
 * which step, what it tried and why, then is retried with capped, jittered
 * backoff; after dim.timeout seconds of failing the rescue shell runs (if the
 * initramfs has one), and when it exits the retries go on.  PID 1 never exits.
 *
 * Run as anything but PID 1 it only explains itself: --help lists the kernel
 * command line keys, --check "CMDLINE" shows what it would make of them.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "contract.h"
#include "dhcp.h"
#include "log.h"
#include "loop.h"
#include "modules.h"
#include "net.h"
#include "nfsmount.h"
#include "rescue.h"
#include "rwupdate.h"
#include "root.h"
#include "util.h"

#define DIM_LINUXRC_VERSION "0.1"
#define NEWROOT "/newroot"
#define LINK_TIMEOUT_MS 10000
#define RETRY_BASE_MS 1000
#define RETRY_CAP_MS 30000

#ifndef DIM_ARCH
#define DIM_ARCH "unknown"
#endif

struct boot {
	struct config cfg;
	struct dhcp_lease lease;
	char iface[16];
	uint8_t mac[6];
	int ifindex;
	char addr[16];
	char ro_server[16];
	char ro_path[256];
	char nfs_vers[8];
	char rw_server[16];
	char rw_path[256];
	char loopdev[32];
	char devkmsg[32];	/* printk_devkmsg as the kernel had it */
	uint64_t start_ms;	/* kernel start to linuxrc start */
	uint64_t step_ms[STEP_COUNT];
	uint64_t fail_since;	/* first failure since the last success or shell */
	char **argv;
	char **envp;
};

typedef int (*step_fn)(struct boot *b, char *why, size_t size);

/* ------------------------------------------------------------ the steps */

static int mount_api(const char *src, const char *target, const char *type, unsigned long flags,
		     const char *data)
{
	mkdir(target, 0755);
	if (mount(src, target, type, flags, data) < 0 && errno != EBUSY)
		return -errno;
	return 0;
}

static int step_console(struct boot *b, char *why, size_t size)
{
	static const struct {
		const char *src, *target, *type;
		unsigned long flags;
		const char *data;
	} api[] = {
		{ "devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755" },
		{ "proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL },
		{ "sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL },
		{ "tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755" },
	};
	size_t i;
	int rc;

	for (i = 0; i < ARRAY_SIZE(api); i++) {
		rc = mount_api(api[i].src, api[i].target, api[i].type, api[i].flags, api[i].data);
		if (rc < 0) {
			snprintf(why, size, "mount %s on %s: %s", api[i].type, api[i].target,
				 strerror(-rc));
			return rc;
		}
	}
	log_open();
	/*
	 * /dev/kmsg drops lines of a chatty writer (printk.devkmsg=ratelimit);
	 * the boot timeline must not lose any.  Restored before exec of init.
	 */
	if (util_read("/proc/sys/kernel/printk_devkmsg", b->devkmsg, sizeof(b->devkmsg)) > 0)
		util_write_proc("/proc/sys/kernel/printk_devkmsg", "on\n");
	util_mkdir_p(DIM_RUN_DIR, 0755);
	mkdir(NEWROOT, 0755);
	log_info(STEP_CONSOLE, "dim linuxrc %s (%s), boot contract %d", DIM_LINUXRC_VERSION,
		 DIM_ARCH, DIM_CONTRACT_VERSION);
	return 0;
}

static int step_cmdline(struct boot *b, char *why, size_t size)
{
	char cmdline[4096], shown[512] = "";
	size_t used = 0;
	int k;

	(void)why;
	(void)size;
	config_init(&b->cfg);
	if (util_read("/proc/cmdline", cmdline, sizeof(cmdline)) < 0)
		cmdline[0] = '\0';
	config_parse_cmdline(&b->cfg, cmdline);
	log_set_debug(config_num(&b->cfg, CFG_DEBUG) != 0);
	for (k = 0; k < CFG_COUNT; k++) {
		int n;

		if (b->cfg.v[k].src != SRC_CMDLINE)
			continue;
		n = snprintf(shown + used, sizeof(shown) - used, " %s=%s", cfg_keys[k].key,
			     config_get(&b->cfg, (enum cfg_key)k));
		if (n > 0 && (size_t)n < sizeof(shown) - used)
			used += (size_t)n;
	}
	log_info(STEP_CMDLINE, "%s", used ? shown + 1 : "no dim.* keys; DHCP and defaults decide");
	return 0;
}

static int step_modules(struct boot *b, char *why, size_t size)
{
	struct modules_result res;
	int n;

	(void)b;
	(void)why;
	(void)size;
	n = modules_load(DIM_INITRAMFS_MODULES, DIM_INITRAMFS_MODDIR, &res);
	if (n == -ENOENT) {
		log_info(STEP_MODULES, "no %s: the kernel has its drivers built in",
			 DIM_INITRAMFS_MODULES);
		return 0;
	}
	if (n < 0) {
		log_warn(STEP_MODULES, "%s: %s", DIM_INITRAMFS_MODULES, strerror(-n));
		return 0;
	}
	log_info(STEP_MODULES, "%u loaded, %u present, %u for absent hardware, %u failed%s%s",
		 res.loaded, res.present, res.nodev, res.failed, res.failed ? ": " : "",
		 res.failures);
	return 0;
}

static int step_link(struct boot *b, char *why, size_t size)
{
	const char *bootif = config_isset(&b->cfg, CFG_BOOTIF) ? config_get(&b->cfg, CFG_BOOTIF)
							       : NULL;
	char have[256];
	uint32_t waited;
	int rc;

	rc = net_find_iface(config_get(&b->cfg, CFG_IFACE), bootif, b->iface, sizeof(b->iface),
			    have, sizeof(have));
	if (rc < 0) {
		if (bootif)
			snprintf(why, size, "no interface with the MAC of BOOTIF=%s (there are: %s)",
				 bootif, have[0] ? have : "none");
		else
			snprintf(why, size, "no interface %s (there are: %s)",
				 config_get(&b->cfg, CFG_IFACE), have[0] ? have : "none");
		return rc;
	}
	rc = net_hwaddr(b->iface, b->mac, &b->ifindex);
	if (rc < 0) {
		snprintf(why, size, "%s: read its MAC address: %s", b->iface, strerror(-rc));
		return rc;
	}
	rnd_seed(b->mac, sizeof(b->mac));
	rc = net_link_up(b->iface, LINK_TIMEOUT_MS, &waited);
	if (rc == -ENOLINK) {
		snprintf(why, size, "%s: no carrier after %u s (cable, switch port?)", b->iface,
			 LINK_TIMEOUT_MS / 1000);
		return rc;
	}
	if (rc < 0) {
		snprintf(why, size, "%s: set it up: %s", b->iface, strerror(-rc));
		return rc;
	}
	log_info(STEP_LINK, "%s %02x:%02x:%02x:%02x:%02x:%02x up, carrier after %u ms", b->iface,
		 b->mac[0], b->mac[1], b->mac[2], b->mac[3], b->mac[4], b->mac[5], waited);
	return 0;
}

static int step_dhcp(struct boot *b, char *why, size_t size)
{
	char vendor[64], name[32], server[16], mask[16];
	struct dhcp_config dc = { .ifname = b->iface, .vendor_class = vendor, .max_discovers = 3 };
	struct dhcp_io io;
	struct in_addr m;
	unsigned i;
	int rc;

	memcpy(dc.mac, b->mac, sizeof(dc.mac));
	snprintf(vendor, sizeof(vendor), "%s%s", DIM_VENDOR_CLASS_PREFIX, DIM_ARCH);
	rc = dhcp_io_packet_open(&io, b->ifindex);
	if (rc < 0) {
		snprintf(why, size, "open a packet socket on %s: %s", b->iface, strerror(-rc));
		return rc;
	}
	rc = dhcp_run(&io, &dc, &b->lease);
	dhcp_io_packet_close(&io);
	if (rc == -ETIMEDOUT) {
		snprintf(why, size, "no answer from a DHCP server on %s", b->iface);
		return rc;
	}
	if (rc < 0) {
		snprintf(why, size, "DHCP on %s: %s", b->iface, strerror(-rc));
		return rc;
	}
	for (i = 0; i < b->lease.n_rejects; i++)
		log_warn(STEP_DHCP, "option %s refused: %s",
			 dhcp_option_name(b->lease.rejects[i].code, name, sizeof(name)),
			 b->lease.rejects[i].err == -EBADMSG ? "bad length" : "bad content");
	inet_ntop(AF_INET, &b->lease.yiaddr, b->addr, sizeof(b->addr));
	inet_ntop(AF_INET, &b->lease.server_id, server, sizeof(server));
	m = net_lease_mask(&b->lease);
	inet_ntop(AF_INET, &m, mask, sizeof(mask));
	log_info(STEP_DHCP, "bound %s/%s from %s, lease %u s%s%s", b->addr, mask, server,
		 b->lease.lease_secs, b->lease.hostname[0] ? ", host name " : "",
		 b->lease.hostname);

	config_merge_dhcp(&b->cfg, &b->lease);
	if (!config_isset(&b->cfg, CFG_RO)) {
		snprintf(why, size, "the reply from %s has no root-path (option 17) for the RO "
			 "tree, and the command line has no dim.ro", server);
		return -ENOENT;
	}
	if (!config_isset(&b->cfg, CFG_RW)) {
		snprintf(why, size, "the reply from %s has no dim-rw (option %d) for the RW "
			 "directory, and the command line has no dim.rw", server, DIM_OPT_RW);
		return -ENOENT;
	}
	return 0;
}

static int step_netconf(struct boot *b, char *why, size_t size)
{
	struct in_addr mask = net_lease_mask(&b->lease), bcast = net_lease_broadcast(&b->lease);
	struct in_addr gw = b->lease.router;
	char path[64], conf[1024], gws[16] = "none";
	const char *op = "";
	int rc, n;

	/* A router outside the subnet cannot be reached: leave the route out. */
	if (gw.s_addr && (gw.s_addr & mask.s_addr) != (b->lease.yiaddr.s_addr & mask.s_addr)) {
		log_warn(STEP_NETCONF, "router %s is outside %s's subnet; no default route",
			 inet_ntoa(gw), b->addr);
		gw.s_addr = 0;
	}
	rc = net_configure(b->iface, b->lease.yiaddr, mask, bcast, gw, &op);
	if (rc < 0) {
		snprintf(why, size, "%s: %s: %s", b->iface, op, strerror(-rc));
		return rc;
	}
	if (gw.s_addr)
		inet_ntop(AF_INET, &gw, gws, sizeof(gws));
	if (b->lease.hostname[0] && sethostname(b->lease.hostname, strlen(b->lease.hostname)) < 0)
		log_warn(STEP_NETCONF, "set host name %s: %s", b->lease.hostname, strerror(errno));
	snprintf(path, sizeof(path), DIM_NET_CONF_FMT, b->iface);
	n = net_format_conf(conf, sizeof(conf), b->iface, &b->lease, "", "",
			    (unsigned long)(log_now_ms() / 1000));
	if (n > 0 && (rc = util_write(path, conf, (size_t)n, 0644)) < 0)
		log_warn(STEP_NETCONF, "write %s: %s", path, strerror(-rc));
	log_info(STEP_NETCONF, "%s %s/%s router %s host name %s", b->iface, b->addr,
		 inet_ntoa(mask), gws, b->lease.hostname[0] ? b->lease.hostname : "(none)");
	return 0;
}

/* Copy a validated dotted quad into a 16-byte buffer. */
static int copy_ipv4(char server[16], const char *src)
{
	size_t len = strlen(src);

	if (len >= 16)
		return -EINVAL;
	memcpy(server, src, len + 1);
	return 0;
}

/* The server of a location: its own "server:", else dim.server, else DHCP's. */
static int location_server(struct boot *b, enum cfg_key key, char server[16], char path[256])
{
	char own[64];
	struct in_addr s;

	if (config_split_location(config_get(&b->cfg, key), own, sizeof(own), path, 256) < 0)
		return -EINVAL;
	if (own[0])
		return copy_ipv4(server, own);
	if (config_isset(&b->cfg, CFG_SERVER))
		return copy_ipv4(server, config_get(&b->cfg, CFG_SERVER));
	s = net_lease_server(&b->lease);
	if (!s.s_addr)
		return -ENOENT;
	inet_ntop(AF_INET, &s, server, 16);
	return 0;
}

static int step_ro(struct boot *b, char *why, size_t size)
{
	char servers[5][16], list[CFG_VALUE_MAX], attempt[512], *tok, *save = NULL;
	int n = 1, i, rc, len;
	size_t used = 0;

	if (location_server(b, CFG_RO, servers[0], b->ro_path) < 0) {
		snprintf(why, size, "RO tree %s names no server, and neither dim.server nor DHCP "
			 "gives one", config_get(&b->cfg, CFG_RO));
		return -EINVAL;
	}
	/* The RO tree is the same on every server of the image: backups may serve it. */
	if (config_isset(&b->cfg, CFG_SERVERS)) {
		snprintf(list, sizeof(list), "%s", config_get(&b->cfg, CFG_SERVERS));
		for (tok = strtok_r(list, ",", &save); tok && n < 5; tok = strtok_r(NULL, ",", &save))
			if (copy_ipv4(servers[n], tok) == 0)
				n++;
	}
	util_mkdir_p(DIM_RUN_RO, 0755);
	for (i = 0, rc = -EINVAL; i < n; i++) {
		rc = nfs_mount(servers[i], b->ro_path, DIM_RUN_RO, config_get(&b->cfg, CFG_NFS), true,
			       b->addr, b->nfs_vers, sizeof(b->nfs_vers), attempt, sizeof(attempt));
		if (rc == 0) {
			memcpy(b->ro_server, servers[i], sizeof(b->ro_server));
			log_info(STEP_RO, "%s:%s on %s (NFS %s, read-only)", servers[i], b->ro_path,
				 DIM_RUN_RO, b->nfs_vers);
			return 0;
		}
		len = snprintf(why + used, size - used, "%smount %s:%s on %s: %s",
			       i ? "; " : "", servers[i], b->ro_path, DIM_RUN_RO, attempt);
		if (len > 0 && (size_t)len < size - used)
			used += (size_t)len;
	}
	return rc;
}

static int step_rw(struct boot *b, char *why, size_t size)
{
	const char *mode = config_get(&b->cfg, CFG_MODE), *what = "", *vers;
	const char *target = strcmp(mode, "overlay") ? NEWROOT : DIM_RUN_IMAGE;
	char image[512], attempt[512], used_vers[8];
	int rc, lfd;

	if (location_server(b, CFG_RW, b->rw_server, b->rw_path) < 0) {
		snprintf(why, size, "RW directory %s names no server, and neither dim.server nor "
			 "DHCP gives one", config_get(&b->cfg, CFG_RW));
		return -EINVAL;
	}
	/* The version that worked for the RO tree works for the same server. */
	vers = !strcmp(b->rw_server, b->ro_server) ? b->nfs_vers : config_get(&b->cfg, CFG_NFS);
	util_mkdir_p(DIM_RUN_RW, 0755);
	rc = nfs_mount(b->rw_server, b->rw_path, DIM_RUN_RW, vers, false, b->addr, used_vers,
		       sizeof(used_vers), attempt, sizeof(attempt));
	if (rc < 0) {
		snprintf(why, size, "mount %s:%s on %s: %s", b->rw_server, b->rw_path, DIM_RUN_RW,
			 attempt);
		return rc;
	}
	snprintf(image, sizeof(image), "%s/%s", DIM_RUN_RW, config_get(&b->cfg, CFG_RWIMG));
	lfd = loop_attach(image, b->loopdev, sizeof(b->loopdev), &what);
	if (lfd < 0) {
		rc = lfd;
		snprintf(why, size, "%s (%s:%s/%s): %s: %s", image, b->rw_server, b->rw_path,
			 config_get(&b->cfg, CFG_RWIMG), what, strerror(-rc));
		goto err_umount;
	}
	util_mkdir_p(target, 0755);
	/*
	 * noinit_itable: no background zeroing of the image's inode tables.
	 * They are zero already (the image file is sparse), and the zeroing
	 * asks the loop device for WRITE_ZEROES, which an NFS file below
	 * refuses with a kernel error message in the middle of the console.
	 */
	if (mount(b->loopdev, target, "ext4", 0, "noinit_itable") < 0) {
		rc = -errno;
		snprintf(why, size, "mount %s (%s) as ext4 on %s: %s%s", b->loopdev, image, target,
			 strerror(-rc), rc == -EINVAL ? " (not an ext4 image?)" : "");
		close(lfd);	/* autoclear detaches it */
		goto err_umount;
	}
	close(lfd);
	log_info(STEP_RW, "%s:%s on %s (NFS %s); %s on %s as ext4 at %s", b->rw_server, b->rw_path,
		 DIM_RUN_RW, used_vers, config_get(&b->cfg, CFG_RWIMG), b->loopdev, target);
	return 0;

err_umount:
	umount2(DIM_RUN_RW, MNT_DETACH);
	return rc;
}

/* What the image server staged for this blade since its last boot (rwupdate.h). */
static int step_rwupdate(struct boot *b, char *why, size_t size)
{
	const char *root = strcmp(config_get(&b->cfg, CFG_MODE), "overlay") ? NEWROOT
									  : DIM_RUN_IMAGE "/upper";
	struct rwupdate_result res;
	int rc;

	mkdir(root, 0755);
	rc = rwupdate_apply(DIM_RUN_RW, root, &res, why, size);
	if (rc < 0)
		return rc;
	if (res.files || res.dirs || res.removed)
		log_info(STEP_RWUPDATE, "installed %u files and %u directories, removed %u paths "
			 "staged by the image server", res.files, res.dirs, res.removed);
	return 0;
}

static int check_init(struct boot *b, char *why, size_t size)
{
	char path[512];
	struct stat st;
	int rc;

	rc = root_resolve(NEWROOT, config_get(&b->cfg, CFG_INIT), path, sizeof(path));
	if (rc == 0 && (stat(path, &st) < 0 || !S_ISREG(st.st_mode) || !(st.st_mode & 0111)))
		rc = -ENOEXEC;
	if (rc < 0)
		snprintf(why, size, "%s in the assembled root (RO %s:%s, RW %s:%s): %s",
			 config_get(&b->cfg, CFG_INIT), b->ro_server, b->ro_path, b->rw_server,
			 b->rw_path, rc == -ENOEXEC ? "not an executable file" : strerror(-rc));
	return rc;
}

static struct mount_plan plan;

/* Apply the plan; on failure name the operation, undo what was done. */
static int apply_plan(char *why, size_t size)
{
	char op[700];
	unsigned done;
	int rc;

	rc = plan_apply(&plan, &done);
	if (rc < 0) {
		plan_describe(&plan.op[done], op, sizeof(op));
		snprintf(why, size, "%s: %s", op, strerror(-rc));
		plan_undo(&plan, done);
	}
	return rc;
}

static int step_root(struct boot *b, char *why, size_t size)
{
	const char *mode = config_get(&b->cfg, CFG_MODE);
	char dirs[256] = "", skipped[256] = "", op[700];
	unsigned i;
	int rc;

	memset(&plan, 0, sizeof(plan));
	if (!strcmp(mode, "overlay")) {
		rc = root_plan_overlay(&plan, DIM_RUN_RO, DIM_RUN_IMAGE, NEWROOT);
	} else {
		root_select_dirs(config_get(&b->cfg, CFG_RODIRS), DIM_RUN_RO, NEWROOT, dirs,
				 sizeof(dirs), skipped, sizeof(skipped));
		rc = root_plan_bind(&plan, DIM_RUN_RO, NEWROOT, dirs);
	}
	if (rc < 0) {
		snprintf(why, size, "plan the %s root: %s", mode, strerror(-rc));
		return rc;
	}
	for (i = 0; i < plan.n; i++)
		if (plan_describe(&plan.op[i], op, sizeof(op)) > 0)
			log_debug(STEP_ROOT, "%s", op);
	rc = apply_plan(why, size);
	if (rc < 0)
		return rc;
	rc = check_init(b, why, size);
	if (rc < 0) {
		plan_undo(&plan, plan.n);
		return rc;
	}
	if (!strcmp(mode, "overlay"))
		log_info(STEP_ROOT, "overlay: %s over %s/upper", DIM_RUN_RO, DIM_RUN_IMAGE);
	else
		log_info(STEP_ROOT, "bind: the RW image is /, read-only from %s: %s%s%s", DIM_RUN_RO,
			 dirs[0] ? dirs : "(none)", skipped[0] ? "; links kept: " : "", skipped);
	return 0;
}

static void write_boot_conf(struct boot *b)
{
	char buf[4096];
	int n = config_format(&b->cfg, buf, sizeof(buf)), m;

	if (n < 0)
		return;
	m = snprintf(buf + n, sizeof(buf) - (size_t)n,
		     "DIM_ACTIVE_IFACE='%s'\nDIM_ACTIVE_ADDR='%s'\nDIM_ACTIVE_RO='%s:%s'\n"
		     "DIM_ACTIVE_RW='%s:%s'\nDIM_ACTIVE_NFS='%s'\nDIM_ACTIVE_LOOP='%s'\n",
		     b->iface, b->addr, b->ro_server, b->ro_path, b->rw_server, b->rw_path,
		     b->nfs_vers, b->loopdev);
	if (m > 0 && (size_t)m < sizeof(buf) - (size_t)n)
		util_write(DIM_RUN_CONF, buf, (size_t)(n + m), 0644);
}

static int step_switch(struct boot *b, char *why, size_t size)
{
	const char *what = "";
	int rc;

	write_boot_conf(b);
	memset(&plan, 0, sizeof(plan));
	rc = root_plan_moves(&plan, NEWROOT);
	if (rc < 0) {
		snprintf(why, size, "plan the moves into the new root: %s", strerror(-rc));
		return rc;
	}
	rc = apply_plan(why, size);
	if (rc < 0)
		return rc;
	log_close();	/* /dev moved: reopen below, inside the new root */
	rc = switch_root(NEWROOT, &what);
	log_open();
	if (rc < 0) {
		snprintf(why, size, "%s: %s", what, strerror(-rc));
		return rc;
	}
	log_info(STEP_SWITCH, "/ is the assembled root");
	return 0;
}

/* ------------------------------------------------------------ the sequence */

static void print_timeline(struct boot *b)
{
	char line[512];
	size_t used;
	int s;

	used = (size_t)snprintf(line, sizeof(line), "timeline kernel=%llu.%03llu",
				(unsigned long long)(b->start_ms / 1000),
				(unsigned long long)(b->start_ms % 1000));
	for (s = STEP_CONSOLE; s <= STEP_SWITCH && used < sizeof(line); s++)
		used += (size_t)snprintf(line + used, sizeof(line) - used, " %s=%llu.%03llu",
					 step_name((enum step)s),
					 (unsigned long long)(b->step_ms[s] / 1000),
					 (unsigned long long)(b->step_ms[s] % 1000));
	if (used < sizeof(line))
		snprintf(line + used, sizeof(line) - used, " total=%llu.%03llu",
			 (unsigned long long)(log_now_ms() / 1000),
			 (unsigned long long)(log_now_ms() % 1000));
	log_info(STEP_INIT, "%s", line);
}

static void wait_ms(uint32_t ms)
{
	uint64_t end = log_now_ms() + ms;

	for (;;) {
		uint64_t now = log_now_ms();

		reap_children();
		if (now >= end)
			return;
		util_sleep_ms((uint32_t)(end - now > 200 ? 200 : end - now));
	}
}

static void maybe_rescue(struct boot *b, enum step step)
{
	long timeout = config_num(&b->cfg, CFG_TIMEOUT);
	uint64_t now = log_now_ms();
	int rc;

	if (!b->fail_since)
		b->fail_since = now;
	if (now - b->fail_since < (uint64_t)timeout * 1000)
		return;
	b->fail_since = 0;
	if (!config_num(&b->cfg, CFG_RESCUE)) {
		log_err(STEP_RESCUE, "%s has failed for %ld s; dim.rescue=0: retrying without a shell",
			step_name(step), timeout);
		return;
	}
	log_err(STEP_RESCUE, "%s has failed for %ld s (dim.timeout); starting %s on the console, "
		"exit it to retry", step_name(step), timeout, DIM_RESCUE_SHELL);
	rc = rescue_shell(DIM_RESCUE_SHELL);
	if (rc == -ENOENT)
		log_err(STEP_RESCUE, "no %s in the initramfs (dim buildzimage --busybox adds one); "
			"retrying", DIM_RESCUE_SHELL);
	else if (rc < 0)
		log_err(STEP_RESCUE, "%s: %s; retrying", DIM_RESCUE_SHELL, strerror(-rc));
	else
		log_info(STEP_RESCUE, "shell exited; retrying %s", step_name(step));
}

static void run_step(struct boot *b, enum step step, step_fn fn)
{
	uint64_t t0 = log_now_ms();
	unsigned attempt = 0;
	char why[1024];

	for (;;) {
		uint32_t delay;
		int rc;

		why[0] = '\0';
		rc = fn(b, why, sizeof(why));
		if (rc == 0)
			break;
		if (!why[0])
			snprintf(why, sizeof(why), "%s", strerror(-rc));
		delay = backoff_ms(attempt++, RETRY_BASE_MS, RETRY_CAP_MS, rnd_next());
		log_err(step, "failed: %s; retry %u in %u.%u s", why, attempt, delay / 1000,
			delay % 1000 / 100);
		maybe_rescue(b, step);
		wait_ms(delay);
	}
	b->step_ms[step] = log_now_ms() - t0;
	b->fail_since = 0;
}

static void exec_init(struct boot *b)
{
	static const char *const fallbacks[] = { "/sbin/init", "/etc/init", "/bin/init", "/bin/sh" };
	static char init[CFG_VALUE_MAX];
	size_t i;

	snprintf(init, sizeof(init), "%s", config_get(&b->cfg, CFG_INIT));
	if (b->devkmsg[0])
		util_write_proc("/proc/sys/kernel/printk_devkmsg", b->devkmsg);
	print_timeline(b);
	log_info(STEP_INIT, "exec %s", init);
	log_close();
	b->argv[0] = init;
	execve(init, b->argv, b->envp);
	log_open();
	log_err(STEP_INIT, "failed: exec %s: %s", init, strerror(errno));
	for (i = 0; i < ARRAY_SIZE(fallbacks); i++) {
		if (!strcmp(fallbacks[i], init))
			continue;
		log_err(STEP_INIT, "trying %s", fallbacks[i]);
		snprintf(init, sizeof(init), "%s", fallbacks[i]);
		execve(init, b->argv, b->envp);
	}
	/* PID 1 must not exit: the kernel would panic and the reason scroll away. */
	for (;;) {
		log_err(STEP_INIT, "failed: no init could be executed in the new root; waiting");
		wait_ms(600000);
	}
}

static int usage(void)
{
	int k;

	printf("dim linuxrc %s: PID 1 of a dim blade's initramfs.\n\n"
	       "Kernel command line keys (precedence: default < DHCP < command line):\n",
	       DIM_LINUXRC_VERSION);
	for (k = 0; k < CFG_COUNT; k++) {
		char opt[16] = "";

		if (cfg_keys[k].dhcp)
			snprintf(opt, sizeof(opt), "option %d", cfg_keys[k].dhcp);
		printf("  %-12s %-10s %s%s%s%s\n", cfg_keys[k].key, opt, cfg_keys[k].help,
		       cfg_keys[k].def ? " [" : "", cfg_keys[k].def ? cfg_keys[k].def : "",
		       cfg_keys[k].def ? "]" : "");
	}
	printf("\nNot PID 1: --help, or --check \"CMDLINE\" to see the settings it gives.\n");
	return 0;
}

/* --check: parse a command line as the boot would and print the result. */
static int check_cmdline(const char *cmdline)
{
	static struct config cfg;
	char buf[4096];
	int problems, n;

	config_init(&cfg);
	problems = config_parse_cmdline(&cfg, cmdline);
	n = config_format(&cfg, buf, sizeof(buf));
	if (n > 0)
		fwrite(buf, 1, (size_t)n, stdout);
	return problems ? 1 : 0;
}

int main(int argc, char **argv, char **envp)
{
	static struct boot b;

	if (getpid() != 1) {
		if (argc == 3 && !strcmp(argv[1], "--check"))
			return check_cmdline(argv[2]);
		if (argc == 2 && !strcmp(argv[1], "--version")) {
			printf("dim linuxrc %s (%s)\n", DIM_LINUXRC_VERSION, DIM_ARCH);
			return 0;
		}
		usage();
		return argc == 2 && !strcmp(argv[1], "--help") ? 0 : 2;
	}
	(void)argc;
	b.argv = argv;
	b.envp = envp;
	b.start_ms = log_now_ms();

	run_step(&b, STEP_CONSOLE, step_console);
	run_step(&b, STEP_CMDLINE, step_cmdline);
	run_step(&b, STEP_MODULES, step_modules);
	run_step(&b, STEP_LINK, step_link);
	run_step(&b, STEP_DHCP, step_dhcp);
	run_step(&b, STEP_NETCONF, step_netconf);
	run_step(&b, STEP_RO, step_ro);
	run_step(&b, STEP_RW, step_rw);
	run_step(&b, STEP_RWUPDATE, step_rwupdate);
	run_step(&b, STEP_ROOT, step_root);
	run_step(&b, STEP_SWITCH, step_switch);
	exec_init(&b);
	return 0;
}
