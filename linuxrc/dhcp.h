/* SPDX-License-Identifier: MIT */
/*
 * The linuxrc's DHCP client (RFC 2131, options RFC 2132).
 *
 * Three layers, each testable on the host:
 *   dhcp_build()/dhcp_parse()     pure: BOOTP message <-> struct (dhcp.c)
 *   ipudp_build()/ipudp_parse()   pure: IPv4+UDP framing for a packet socket (dhcp.c)
 *   dhcp_run()                    the state machine, over a struct dhcp_io (dhcp_client.c)
 *   dhcp_io_packet_open()         the real I/O: AF_PACKET socket on one interface (dhcp_socket.c)
 *
 * Errors are negative errno values; -EBADMSG for a malformed message.
 */
#ifndef DIM_DHCP_H
#define DIM_DHCP_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "contract.h"

/* RFC 2132 section 9.6 */
enum dhcp_msg_type {
	DHCPDISCOVER = 1,
	DHCPOFFER = 2,
	DHCPREQUEST = 3,
	DHCPDECLINE = 4,
	DHCPACK = 5,
	DHCPNAK = 6,
	DHCPRELEASE = 7,
	DHCPINFORM = 8,
};

#define DHCP_CLIENT_PORT	68
#define DHCP_SERVER_PORT	67
#define DHCP_MAX_DNS		3
#define DHCP_MAX_SERVERS	4
#define DHCP_SITE_MAX		512	/* bytes kept per site-local option (RFC 3396 concatenated) */
#define DHCP_MAX_REJECTS	16
#define DHCP_PACKET_MAX		1500	/* largest IPv4 packet sent or accepted */

/* The raw value of one site-local option (DIM_OPT_FIRST..DIM_OPT_LAST). */
struct dhcp_blob {
	uint16_t len;
	bool present;
	uint8_t data[DHCP_SITE_MAX];
};

/* An option the parser saw but refused, and why, so the caller can say so. */
struct dhcp_reject {
	uint8_t code;
	int err;		/* -EBADMSG: bad length; -EINVAL: bad content */
};

/*
 * A parsed OFFER, ACK or NAK.  Text fields are NUL-terminated and hold only
 * printable ASCII; a field is "" when its option was absent or refused.
 * Addresses are 0.0.0.0 when absent.
 */
struct dhcp_lease {
	uint8_t msg_type;		/* option 53 */
	uint32_t xid;
	struct in_addr yiaddr;		/* your address */
	struct in_addr siaddr;		/* next server (BOOTP header) */
	struct in_addr server_id;	/* option 54 */
	struct in_addr netmask;		/* option 1 */
	struct in_addr router;		/* option 3, the first one */
	struct in_addr broadcast;	/* option 28 */
	struct in_addr dns[DHCP_MAX_DNS];	/* option 6 */
	unsigned n_dns;
	uint32_t lease_secs;		/* option 51; 0 when absent */
	char hostname[64];		/* option 12, RFC 1123 name; refused otherwise */
	char domain[256];		/* option 15 */
	char root_path[256];		/* option 17 */
	char sname[65];			/* BOOTP sname, unless overloaded with options */
	char bootfile[256];		/* option 67, else BOOTP file unless overloaded */
	char message[256];		/* option 56, e.g. the reason of a NAK */
	struct dhcp_blob site[DIM_OPT_LAST - DIM_OPT_FIRST + 1];
	struct dhcp_reject rejects[DHCP_MAX_REJECTS];
	unsigned n_rejects;
};

/* What the client puts in a DISCOVER or REQUEST. */
struct dhcp_request {
	uint8_t msg_type;		/* DHCPDISCOVER or DHCPREQUEST */
	uint32_t xid;
	uint16_t secs;			/* seconds since the client began (RFC 2131 table 5) */
	uint8_t chaddr[6];
	struct in_addr requested;	/* option 50; REQUEST only, 0 to omit */
	struct in_addr server_id;	/* option 54; REQUEST in SELECTING, 0 to omit */
	const char *vendor_class;	/* option 60; NULL to omit */
};

/*
 * Build a BOOTREQUEST into buf.  Returns its length (at least 300 bytes, the
 * BOOTP minimum some relays insist on) or -ENOSPC.
 */
ssize_t dhcp_build(const struct dhcp_request *req, uint8_t *buf, size_t size);

/*
 * Parse a BOOTREPLY of len bytes (the UDP payload, already trimmed to the UDP
 * length).  Checks op, htype/hlen, the magic cookie, that xid and chaddr are
 * ours, and every option's length against its RFC rule; honours option
 * overload (52) and concatenates repeated options (RFC 3396).  Returns 0,
 * -EBADMSG for a malformed message, -ESRCH when xid or chaddr are not ours.
 * Bad options that do not make the message unusable are skipped and listed
 * in lease->rejects.
 */
int dhcp_parse(const uint8_t *buf, size_t len, uint32_t xid, const uint8_t chaddr[6],
	       struct dhcp_lease *lease);

/* An option's name for messages ("hostname", "dim-rw", "option 201"). */
const char *dhcp_option_name(uint8_t code, char *buf, size_t size);

/*
 * IPv4 + UDP framing.  ipudp_build() writes header and payload (src 0.0.0.0,
 * dst 255.255.255.255 for a client without an address) with both checksums.
 * ipudp_parse() checks version, IHL, total length, fragmenting, protocol, the
 * destination port and, unless csum_unverified says the kernel left the
 * checksum to hardware, the checksums; it trims the payload to the UDP length
 * so bytes after it (Ethernet padding) never reach dhcp_parse().
 */
ssize_t ipudp_build(uint8_t *buf, size_t size, struct in_addr src, struct in_addr dst,
		    uint16_t sport, uint16_t dport, const uint8_t *payload, size_t plen);
int ipudp_parse(const uint8_t *pkt, size_t len, uint16_t dport, bool csum_unverified,
		const uint8_t **payload, size_t *plen);

/* The I/O the state machine runs on; tests supply their own. */
struct dhcp_io {
	void *ctx;
	/* Broadcast one IPv4 packet on the interface.  0 or -errno. */
	int (*send)(void *ctx, const uint8_t *pkt, size_t len);
	/*
	 * Wait up to timeout_ms for one IPv4 packet.  Returns its length, 0 on
	 * timeout, -errno on error.  *csum_unverified as for ipudp_parse().
	 */
	ssize_t (*recv)(void *ctx, uint8_t *buf, size_t size, int timeout_ms, bool *csum_unverified);
	uint64_t (*now_ms)(void *ctx);	/* CLOCK_MONOTONIC */
	uint32_t (*random)(void *ctx);
};

struct dhcp_config {
	uint8_t mac[6];
	const char *ifname;		/* for messages */
	const char *vendor_class;	/* DIM_VENDOR_CLASS_PREFIX "<arch>" */
	unsigned max_discovers;		/* DISCOVERs in one attempt before giving up */
};

/*
 * Run DISCOVER -> OFFER -> REQUEST -> ACK once (RFC 2131 section 3.1, state
 * machine of figure 5), with retransmission backoff (section 4.1).  A NAK
 * sends the client back to INIT.  Progress goes to the log (step "dhcp").
 * Returns 0 with the ACK in *lease, or -ETIMEDOUT when max_discovers went
 * unanswered, or another -errno from the I/O.
 */
int dhcp_run(const struct dhcp_io *io, const struct dhcp_config *cfg, struct dhcp_lease *lease);

/* The real I/O: an AF_PACKET/SOCK_DGRAM socket bound to ifindex for ETH_P_IP. */
struct dhcp_packet_io;
int dhcp_io_packet_open(struct dhcp_io *io, int ifindex);
void dhcp_io_packet_close(struct dhcp_io *io);

#endif /* DIM_DHCP_H */
