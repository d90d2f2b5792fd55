// SPDX-License-Identifier: MIT
/*
 * The DHCP client's real I/O: a packet socket on one interface.
 *
 * A client without an address cannot use a UDP socket portably (the kernel
 * drops unicast replies to an address it does not have, and some servers
 * unicast the OFFER despite the broadcast flag), so it speaks IPv4/UDP
 * itself over AF_PACKET/SOCK_DGRAM: the kernel adds and strips the Ethernet
 * header, dhcp.c frames the rest.  Every socket call of the client is in this
 * file, so the state machine and its tests never see one (sd-dhcp's split).
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <net/ethernet.h>
#include <netpacket/packet.h>
#include <sys/random.h>
#include <sys/socket.h>

#include "dhcp.h"
#include "log.h"

/*
 * PACKET_AUXDATA control message, struct tpacket_auxdata of
 * linux/if_packet.h.  musl has no definition (and glibc only through the
 * kernel headers), so the ABI is spelt out here under a name of our own.
 */
struct dim_tpacket_auxdata {
	uint32_t tp_status;
	uint32_t tp_len;
	uint32_t tp_snaplen;
	uint16_t tp_mac;
	uint16_t tp_net;
	uint16_t tp_vlan_tci;
	uint16_t tp_vlan_tpid;
};

#ifndef PACKET_AUXDATA
#define PACKET_AUXDATA 8
#endif
#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif
/* linux/if_packet.h: the checksum is left for hardware that will not compute it */
#define DIM_TP_STATUS_CSUMNOTREADY (1u << 3)

struct dhcp_packet_io {
	int fd;
	int ifindex;
	uint64_t rng;		/* fallback generator when getrandom() has nothing */
};

static int packet_send(void *ctx, const uint8_t *pkt, size_t len)
{
	struct dhcp_packet_io *p = ctx;
	struct sockaddr_ll to = {
		.sll_family = AF_PACKET,
		.sll_protocol = htons(ETH_P_IP),
		.sll_ifindex = p->ifindex,
		.sll_halen = ETH_ALEN,
		.sll_addr = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
	};
	ssize_t n;

	do
		n = sendto(p->fd, pkt, len, 0, (struct sockaddr *)&to, sizeof(to));
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

/*
 * One packet, or 0 when timeout_ms passed.  -EAGAIN for a packet that is no
 * use (our own, or cut short): the caller goes on waiting.
 */
static ssize_t packet_recv(void *ctx, uint8_t *buf, size_t size, int timeout_ms,
			   bool *csum_unverified)
{
	struct dhcp_packet_io *p = ctx;
	struct pollfd pfd = { .fd = p->fd, .events = POLLIN };
	union {
		struct cmsghdr align;
		uint8_t buf[CMSG_SPACE(sizeof(struct dim_tpacket_auxdata))];
	} control;
	struct sockaddr_ll from;
	struct iovec iov = { .iov_base = buf, .iov_len = size };
	struct msghdr msg = {
		.msg_name = &from,
		.msg_namelen = sizeof(from),
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = &control,
		.msg_controllen = sizeof(control),
	};
	struct cmsghdr *cmsg;
	ssize_t n;
	int rc;

	*csum_unverified = false;
	rc = poll(&pfd, 1, timeout_ms);
	if (rc < 0)
		return -errno;
	if (rc == 0)
		return 0;
	n = recvmsg(p->fd, &msg, MSG_DONTWAIT);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	if (msg.msg_flags & MSG_TRUNC)
		return -EAGAIN;		/* larger than any reply we accept */
	if (from.sll_pkttype == PACKET_OUTGOING)
		return -EAGAIN;		/* our own, on kernels without PACKET_IGNORE_OUTGOING */
	for (cmsg = CMSG_FIRSTHDR(&msg); cmsg; cmsg = CMSG_NXTHDR(&msg, cmsg)) {
		struct dim_tpacket_auxdata aux;

		if (cmsg->cmsg_level != SOL_PACKET || cmsg->cmsg_type != PACKET_AUXDATA ||
		    cmsg->cmsg_len < CMSG_LEN(sizeof(aux)))
			continue;
		memcpy(&aux, CMSG_DATA(cmsg), sizeof(aux));
		if (aux.tp_status & DIM_TP_STATUS_CSUMNOTREADY)
			*csum_unverified = true;
	}
	return n;
}

static uint64_t packet_now_ms(void *ctx)
{
	(void)ctx;
	return log_now_ms();
}

/* splitmix64: only used to stir the fallback seed */
static uint64_t mix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/*
 * xids and jitter need not be secret, but must differ between blades that
 * power on in the same second.  getrandom() is used when the kernel's pool is
 * ready; otherwise a generator seeded with the MAC address and the clock.
 */
static uint32_t packet_random(void *ctx)
{
	struct dhcp_packet_io *p = ctx;
	uint32_t v;

	if (getrandom(&v, sizeof(v), GRND_NONBLOCK) == (ssize_t)sizeof(v))
		return v;
	return (uint32_t)(mix64(&p->rng) >> 32);
}

static void packet_seed(struct dhcp_packet_io *p)
{
	struct sockaddr_ll self;
	socklen_t len = sizeof(self);
	struct timespec ts;
	unsigned i;

	p->rng = (uint64_t)p->ifindex;
	/* a bound packet socket's name carries the interface's hardware address */
	if (!getsockname(p->fd, (struct sockaddr *)&self, &len))
		for (i = 0; i < self.sll_halen && i < sizeof(self.sll_addr); i++)
			p->rng = p->rng << 8 ^ self.sll_addr[i] ^ p->rng >> 56;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	p->rng ^= (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	mix64(&p->rng);
}

int dhcp_io_packet_open(struct dhcp_io *io, int ifindex)
{
	struct sockaddr_ll addr = {
		.sll_family = AF_PACKET,
		.sll_protocol = htons(ETH_P_IP),
		.sll_ifindex = ifindex,
	};
	struct dhcp_packet_io *p;
	int one = 1, rc;

	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->ifindex = ifindex;
	/*
	 * Protocol 0 receives nothing until bind() names the protocol and the
	 * interface together (packet(7)), so no other interface's packet is
	 * queued in between.
	 */
	p->fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (p->fd < 0) {
		rc = -errno;
		goto err_free;
	}
	if (bind(p->fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		rc = -errno;
		goto err_close;
	}
	if (setsockopt(p->fd, SOL_PACKET, PACKET_AUXDATA, &one, sizeof(one)) < 0) {
		rc = -errno;
		goto err_close;
	}
	/* Linux 4.20; older kernels loop our packets back and recv drops them. */
	(void)setsockopt(p->fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one));
	packet_seed(p);

	memset(io, 0, sizeof(*io));
	io->ctx = p;
	io->send = packet_send;
	io->recv = packet_recv;
	io->now_ms = packet_now_ms;
	io->random = packet_random;
	return 0;

err_close:
	close(p->fd);
err_free:
	free(p);
	return rc;
}

void dhcp_io_packet_close(struct dhcp_io *io)
{
	struct dhcp_packet_io *p = io->ctx;

	if (p) {
		close(p->fd);
		free(p);
	}
	memset(io, 0, sizeof(*io));
}
