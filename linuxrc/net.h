/* SPDX-License-Identifier: MIT */
/* The blade's network interface: find it, bring it up, configure it. */
#ifndef DIM_NET_H
#define DIM_NET_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

struct dhcp_lease;

/*
 * The interface to boot from: the one whose MAC is bootif ("01-aa-bb-..."),
 * if given, else the one named want.  On -ENODEV, have lists the interfaces
 * there are, for the message.
 */
int net_find_iface(const char *want, const char *bootif, char *name, size_t size, char *have,
		   size_t have_size);

/* Set IFF_UP and wait up to timeout_ms for carrier.  0, -ENOLINK or -errno. */
int net_link_up(const char *name, uint32_t timeout_ms, uint32_t *waited_ms);

int net_hwaddr(const char *name, uint8_t mac[6], int *ifindex);

/* Address, mask, broadcast and, when gw is not 0.0.0.0, the default route. */
int net_configure(const char *name, struct in_addr addr, struct in_addr mask,
		  struct in_addr bcast, struct in_addr gw, const char **failed_op);

/* The netmask a lease implies (option 1, else the address class, RFC 950). */
struct in_addr net_lease_mask(const struct dhcp_lease *lease);
struct in_addr net_lease_broadcast(const struct dhcp_lease *lease);
/* The NFS server a lease implies: next-server, else the DHCP server. */
struct in_addr net_lease_server(const struct dhcp_lease *lease);

/* A value fit for a single-quoted shell assignment. */
int net_shell_safe(const char *s);

/*
 * /run/net-IFACE.conf in the format of klibc's ipconfig, which
 * initramfs-tools and scripts of the real system read.  Values that are not
 * shell-safe are left empty.  Returns the length or -ENOSPC.
 */
int net_format_conf(char *buf, size_t size, const char *iface, const struct dhcp_lease *lease,
		    const char *rootserver, const char *rootpath, unsigned long uptime_s);

#endif /* DIM_NET_H */
