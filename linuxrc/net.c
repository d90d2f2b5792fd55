/* SPDX-License-Identifier: MIT */
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <net/if.h>
#include <net/route.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dhcp.h"
#include "net.h"
#include "util.h"

static int read_sys(const char *iface, const char *attr, char *buf, size_t size)
{
	char path[384];
	ssize_t n;

	if (snprintf(path, sizeof(path), "/sys/class/net/%s/%s", iface, attr) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	n = util_read(path, buf, size);
	if (n < 0)
		return (int)n;
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

int net_find_iface(const char *want, const char *bootif, char *name, size_t size, char *have,
		   size_t have_size)
{
	char mac[18] = "", addr[32];
	size_t used = 0;
	struct dirent *de;
	DIR *d;
	int rc = -ENODEV;

	/* BOOTIF=01-52-54-00-12-34-56 -> 52:54:00:12:34:56 */
	if (bootif && strlen(bootif) == 20) {
		int i;

		for (i = 0; i < 17; i++)
			mac[i] = bootif[3 + i] == '-' ? ':' : (char)tolower((unsigned char)bootif[3 + i]);
		mac[17] = '\0';
	}
	have[0] = '\0';
	d = opendir("/sys/class/net");
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		int n;

		if (de->d_name[0] == '.')
			continue;
		n = snprintf(have + used, have_size - used, "%s%s", used ? " " : "", de->d_name);
		if (n > 0 && (size_t)n < have_size - used)
			used += (size_t)n;
		if (rc == 0)
			continue;
		if (mac[0]) {
			if (read_sys(de->d_name, "address", addr, sizeof(addr)) == 0 &&
			    !strcasecmp(addr, mac))
				rc = 0;
		} else if (!strcmp(de->d_name, want)) {
			rc = 0;
		}
		if (rc == 0)
			snprintf(name, size, "%s", de->d_name);
	}
	closedir(d);
	return rc;
}

/* A socket for interface ioctls, and ifr naming the interface. */
static int ifreq_socket(const char *name, struct ifreq *ifr)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	memset(ifr, 0, sizeof(*ifr));
	snprintf(ifr->ifr_name, sizeof(ifr->ifr_name), "%s", name);
	return fd;
}

int net_link_up(const char *name, uint32_t timeout_ms, uint32_t *waited_ms)
{
	struct ifreq ifr;
	char carrier[8];
	uint32_t waited = 0;
	int fd, rc = 0;

	*waited_ms = 0;
	fd = ifreq_socket(name, &ifr);
	if (fd < 0)
		return fd;
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0) {
		rc = -errno;
		goto out;
	}
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0) {
		rc = -errno;
		goto out;
	}
	/*
	 * Wait for carrier before the first DHCP packet: a DISCOVER sent
	 * while the link is still down is lost and costs a retransmission
	 * timeout (measured: 1 to 11 s with initramfs-tools).
	 */
	for (;;) {
		if (read_sys(name, "carrier", carrier, sizeof(carrier)) == 0 && carrier[0] == '1')
			break;
		if (waited >= timeout_ms) {
			rc = -ENOLINK;
			break;
		}
		util_sleep_ms(20);
		waited += 20;
	}
out:
	*waited_ms = waited;
	close(fd);
	return rc;
}

int net_hwaddr(const char *name, uint8_t mac[6], int *ifindex)
{
	struct ifreq ifr;
	int fd, rc = 0;

	fd = ifreq_socket(name, &ifr);
	if (fd < 0)
		return fd;
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) {
		rc = -errno;
		goto out;
	}
	memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	if (ioctl(fd, SIOCGIFINDEX, &ifr) < 0) {
		rc = -errno;
		goto out;
	}
	*ifindex = ifr.ifr_ifindex;
out:
	close(fd);
	return rc;
}

static void set_sin(struct sockaddr *sa, struct in_addr a)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr = a };

	memcpy(sa, &sin, sizeof(sin));
}

int net_configure(const char *name, struct in_addr addr, struct in_addr mask,
		  struct in_addr bcast, struct in_addr gw, const char **failed_op)
{
	static const struct {
		unsigned long req;
		const char *what;
	} steps[] = {
		{ SIOCSIFADDR, "set address" },
		{ SIOCSIFNETMASK, "set netmask" },
		{ SIOCSIFBRDADDR, "set broadcast" },
	};
	struct in_addr vals[3] = { addr, mask, bcast };
	struct ifreq ifr;
	size_t i;
	int fd, rc = 0;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	for (i = 0; i < ARRAY_SIZE(steps); i++) {
		memset(&ifr, 0, sizeof(ifr));
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
		set_sin(&ifr.ifr_addr, vals[i]);
		if (ioctl(fd, steps[i].req, &ifr) < 0) {
			rc = -errno;
			*failed_op = steps[i].what;
			goto out;
		}
	}
	if (gw.s_addr) {
		struct rtentry rt;
		char dev[IFNAMSIZ];

		memset(&rt, 0, sizeof(rt));
		snprintf(dev, sizeof(dev), "%s", name);
		set_sin(&rt.rt_dst, (struct in_addr){ 0 });
		set_sin(&rt.rt_genmask, (struct in_addr){ 0 });
		set_sin(&rt.rt_gateway, gw);
		rt.rt_flags = RTF_UP | RTF_GATEWAY;
		rt.rt_dev = dev;
		if (ioctl(fd, SIOCADDRT, &rt) < 0 && errno != EEXIST) {
			rc = -errno;
			*failed_op = "add default route";
		}
	}
out:
	close(fd);
	return rc;
}

struct in_addr net_lease_mask(const struct dhcp_lease *lease)
{
	uint32_t a = ntohl(lease->yiaddr.s_addr);
	struct in_addr m;

	if (lease->netmask.s_addr)
		return lease->netmask;
	/* No option 1: the classful mask (RFC 950 predates CIDR, servers that omit it do too). */
	if ((a >> 31) == 0)
		m.s_addr = htonl(0xff000000u);
	else if ((a >> 30) == 2)
		m.s_addr = htonl(0xffff0000u);
	else
		m.s_addr = htonl(0xffffff00u);
	return m;
}

struct in_addr net_lease_broadcast(const struct dhcp_lease *lease)
{
	struct in_addr b;

	if (lease->broadcast.s_addr)
		return lease->broadcast;
	b.s_addr = lease->yiaddr.s_addr | ~net_lease_mask(lease).s_addr;
	return b;
}

struct in_addr net_lease_server(const struct dhcp_lease *lease)
{
	return lease->siaddr.s_addr ? lease->siaddr : lease->server_id;
}

int net_shell_safe(const char *s)
{
	for (; *s; s++)
		if (!isprint((unsigned char)*s) || strchr("'\\`$\"", *s))
			return 0;
	return 1;
}

static const char *safe(const char *s)
{
	return net_shell_safe(s) ? s : "";
}

int net_format_conf(char *buf, size_t size, const char *iface, const struct dhcp_lease *lease,
		    const char *rootserver, const char *rootpath, unsigned long uptime_s)
{
	char addr[16], mask[16], bcast[16], gw[16], dns0[16], dns1[16];
	struct in_addr m = net_lease_mask(lease), b = net_lease_broadcast(lease);
	struct in_addr zero = { 0 };
	int n;

	inet_ntop(AF_INET, &lease->yiaddr, addr, sizeof(addr));
	inet_ntop(AF_INET, &m, mask, sizeof(mask));
	inet_ntop(AF_INET, &b, bcast, sizeof(bcast));
	inet_ntop(AF_INET, &lease->router, gw, sizeof(gw));
	inet_ntop(AF_INET, lease->n_dns > 0 ? &lease->dns[0] : &zero, dns0, sizeof(dns0));
	inet_ntop(AF_INET, lease->n_dns > 1 ? &lease->dns[1] : &zero, dns1, sizeof(dns1));
	n = snprintf(buf, size,
		     "DEVICE='%s'\nPROTO='dhcp'\nIPV4ADDR='%s'\nIPV4BROADCAST='%s'\n"
		     "IPV4NETMASK='%s'\nIPV4GATEWAY='%s'\nIPV4DNS0='%s'\nIPV4DNS1='%s'\n"
		     "HOSTNAME='%s'\nDNSDOMAIN='%s'\nNISDOMAIN=''\nROOTSERVER='%s'\n"
		     "ROOTPATH='%s'\nfilename='%s'\nUPTIME='%lu'\nDHCPLEASETIME='%u'\n"
		     "DOMAINSEARCH=''\n",
		     safe(iface), addr, bcast, mask, gw, dns0, dns1, safe(lease->hostname),
		     safe(lease->domain), safe(rootserver), safe(rootpath), safe(lease->bootfile),
		     uptime_s, lease->lease_secs);
	if (n < 0 || (size_t)n >= size)
		return -ENOSPC;
	return n;
}
