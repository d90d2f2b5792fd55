// SPDX-License-Identifier: MIT
/*
 * The DHCP client's state machine: INIT -> SELECTING -> REQUESTING -> BOUND,
 * the part of RFC 2131 figure 5 a diskless boot needs (it never renews: the
 * real system's own client takes over the lease).
 *
 * One enum, one name table, two transition functions (a reply arrived, the
 * current timeout ran out), all time read from io->now_ms, a monotonic clock.
 * The I/O is a struct dhcp_io, so the unit tests drive the machine with a
 * scripted server and a virtual clock.
 *
 * Retransmission (RFC 2131 section 4.1): the first retransmission follows
 * after 2 s, then 4, 8, 16, 32 and 64 s, where it stays; each delay moves by
 * a uniform random -1..+1 s.  The RFC's first delay is 4 s, chosen for a
 * client that may send before its link is up.  The linuxrc starts DHCP only
 * once the link reports carrier, so the first DISCOVER does go out and a
 * reply normally comes within milliseconds; 4 s would only lengthen the boot
 * whenever that one packet is lost (Debian's initramfs loses up to 11 s this
 * way).  The jitter keeps hundreds of blades powered on together from
 * retransmitting in step.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include <arpa/inet.h>

#include "dhcp.h"
#include "log.h"

#define DHCP_RETRANS_FIRST_MS	2000
#define DHCP_RETRANS_MAX_MS	64000
#define DHCP_JITTER_MS		1000	/* RFC 2131 section 4.1: uniform -1..+1 s */
#define DHCP_REQUEST_RETRANS	4	/* REQUEST retransmissions before INIT again */
#define DHCP_NAK_PAUSE_MS	1000	/* before INIT again after a NAK ... */
#define DHCP_NAK_JITTER_MS	500	/* ... +-500 ms, so NAKed blades spread out */

enum dhcp_state {
	DHCP_INIT,
	DHCP_SELECTING,
	DHCP_REQUESTING,
	DHCP_BOUND,
	DHCP_STATE_COUNT
};

static const char *const dhcp_state_names[DHCP_STATE_COUNT] = {
	[DHCP_INIT] = "INIT",
	[DHCP_SELECTING] = "SELECTING",
	[DHCP_REQUESTING] = "REQUESTING",
	[DHCP_BOUND] = "BOUND",
};

struct dhcp_client {
	const struct dhcp_io *io;
	const struct dhcp_config *cfg;
	struct dhcp_lease *lease;	/* every reply is parsed here; the ACK stays */
	enum dhcp_state state;
	uint32_t xid;			/* one per pass through INIT */
	uint64_t start_ms;		/* when dhcp_run() began, for secs */
	uint64_t deadline_ms;		/* end of the current wait */
	uint16_t secs;			/* of the last DISCOVER; REQUEST repeats it */
	unsigned tries;			/* transmissions in the current state */
	unsigned discovers, offers, naks;
	struct in_addr offered;		/* yiaddr of the OFFER taken */
	struct in_addr server;		/* its server identifier */
	uint8_t pkt[DHCP_PACKET_MAX];
};

static uint64_t now_ms(const struct dhcp_client *c)
{
	return c->io->now_ms(c->io->ctx);
}

/* A uniform value in -range..+range. */
static int jitter_ms(const struct dhcp_client *c, unsigned range)
{
	return (int)(c->io->random(c->io->ctx) % (2 * range + 1)) - (int)range;
}

/* The wait after the tries-th transmission in a state (counting from 0). */
static uint64_t backoff_ms(const struct dhcp_client *c, unsigned tries)
{
	uint64_t base = DHCP_RETRANS_MAX_MS;

	if (tries < 16 && ((uint64_t)DHCP_RETRANS_FIRST_MS << tries) < base)
		base = (uint64_t)DHCP_RETRANS_FIRST_MS << tries;
	return (uint64_t)((int64_t)base + jitter_ms(c, DHCP_JITTER_MS));
}

static void set_state(struct dhcp_client *c, enum dhcp_state state)
{
	log_debug(STEP_DHCP, "%s -> %s", dhcp_state_names[c->state], dhcp_state_names[state]);
	c->state = state;
	c->tries = 0;
}

static const char *ip_str(struct in_addr a, char *buf)
{
	return inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN);
}

/* RFC 2132 section 9.6, as the log names them */
static const char *const dhcp_msg_names[] = {
	[DHCPDISCOVER] = "DHCPDISCOVER",
	[DHCPOFFER] = "DHCPOFFER",
	[DHCPREQUEST] = "DHCPREQUEST",
	[DHCPDECLINE] = "DHCPDECLINE",
	[DHCPACK] = "DHCPACK",
	[DHCPNAK] = "DHCPNAK",
	[DHCPRELEASE] = "DHCPRELEASE",
	[DHCPINFORM] = "DHCPINFORM",
};

static const char *msg_name(uint8_t type)
{
	if (type < sizeof(dhcp_msg_names) / sizeof(dhcp_msg_names[0]) && dhcp_msg_names[type])
		return dhcp_msg_names[type];
	return "DHCP message";
}

/*
 * Broadcast one message and arm the retransmission timer.  A send that fails
 * for lack of buffers is treated as a lost packet; retransmission covers it.
 */
static int dhcp_send(struct dhcp_client *c, uint8_t type)
{
	struct dhcp_request req = {
		.msg_type = type,
		.xid = c->xid,
		.secs = c->secs,
		.vendor_class = c->cfg->vendor_class,
	};
	struct in_addr any = { htonl(INADDR_ANY) }, bcast = { htonl(INADDR_BROADCAST) };
	uint8_t msg[DHCP_PACKET_MAX - 28];
	uint64_t wait;
	ssize_t n;
	int rc;

	memcpy(req.chaddr, c->cfg->mac, sizeof(req.chaddr));
	if (type == DHCPREQUEST) {
		/* RFC 2131 section 4.3.2, table 5: SELECTING sets 50 and 54 */
		req.requested = c->offered;
		req.server_id = c->server;
	}
	n = dhcp_build(&req, msg, sizeof(msg));
	if (n >= 0)
		n = ipudp_build(c->pkt, sizeof(c->pkt), any, bcast, DHCP_CLIENT_PORT,
				DHCP_SERVER_PORT, msg, (size_t)n);
	if (n < 0) {
		log_err(STEP_DHCP, "cannot build %s: %s", msg_name(type), strerror((int)-n));
		return (int)n;
	}
	rc = c->io->send(c->io->ctx, c->pkt, (size_t)n);
	if (rc == -ENOBUFS || rc == -EAGAIN || rc == -EINTR) {
		log_debug(STEP_DHCP, "%s on %s not sent: %s", msg_name(type), c->cfg->ifname,
			  strerror(-rc));
	} else if (rc < 0) {
		log_err(STEP_DHCP, "cannot send %s on %s: %s", msg_name(type), c->cfg->ifname,
			strerror(-rc));
		return rc;
	}
	wait = backoff_ms(c, c->tries);
	c->deadline_ms = now_ms(c) + wait;
	c->tries++;
	log_debug(STEP_DHCP, "%s sent, xid 0x%08x, secs %u, next in %llu ms", msg_name(type),
		  c->xid, c->secs, (unsigned long long)wait);
	return 0;
}

/* Send a DISCOVER, or give up when max_discovers went out already. */
static int dhcp_discover(struct dhcp_client *c)
{
	uint64_t now = now_ms(c), elapsed = now - c->start_ms;
	unsigned long long secs = (elapsed + 500) / 1000;

	if (c->discovers >= c->cfg->max_discovers) {
		if (!c->offers)
			log_err(STEP_DHCP, "no DHCPOFFER on %s after %u DISCOVERs in %llu s",
				c->cfg->ifname, c->discovers, secs);
		else
			log_err(STEP_DHCP,
				"no DHCPACK on %s after %u DISCOVERs in %llu s (%u offers, %u NAKs)",
				c->cfg->ifname, c->discovers, secs, c->offers, c->naks);
		return -ETIMEDOUT;
	}
	/* RFC 2131 table 5: seconds since the client began acquiring an address */
	c->secs = elapsed / 1000 > UINT16_MAX ? UINT16_MAX : (uint16_t)(elapsed / 1000);
	c->discovers++;
	log_info(STEP_DHCP, "DHCPDISCOVER on %s%s", c->cfg->ifname,
		 c->tries ? " (retransmission)" : "");
	return dhcp_send(c, DHCPDISCOVER);
}

/*
 * RFC 2131 section 4.4.1: the REQUEST carries the OFFER's xid and the same
 * secs as the DISCOVER it answers.
 */
static int dhcp_request(struct dhcp_client *c)
{
	char ip[INET_ADDRSTRLEN], sid[INET_ADDRSTRLEN];

	log_info(STEP_DHCP, "DHCPREQUEST for %s to %s%s", ip_str(c->offered, ip),
		 ip_str(c->server, sid), c->tries ? " (retransmission)" : "");
	return dhcp_send(c, DHCPREQUEST);
}

/* Back to INIT, to DISCOVER again at the deadline with a fresh xid. */
static void dhcp_restart(struct dhcp_client *c, uint64_t pause_ms)
{
	set_state(c, DHCP_INIT);
	c->deadline_ms = now_ms(c) + pause_ms;
}

/* The current wait ran out. */
static int dhcp_on_timeout(struct dhcp_client *c)
{
	char sid[INET_ADDRSTRLEN];

	switch (c->state) {
	case DHCP_INIT:
		c->xid = c->io->random(c->io->ctx);
		set_state(c, DHCP_SELECTING);
		return dhcp_discover(c);
	case DHCP_SELECTING:
		return dhcp_discover(c);
	case DHCP_REQUESTING:
		if (c->tries <= DHCP_REQUEST_RETRANS)
			return dhcp_request(c);
		log_warn(STEP_DHCP, "no DHCPACK from %s after %u DHCPREQUESTs, starting over",
			 ip_str(c->server, sid), c->tries);
		dhcp_restart(c, 0);
		return 0;
	case DHCP_BOUND:
	case DHCP_STATE_COUNT:
		break;
	}
	return 0;
}

static void dhcp_ignore(const struct dhcp_client *c, const char *why)
{
	char sid[INET_ADDRSTRLEN];

	log_debug(STEP_DHCP, "ignored %s from %s in %s: %s", msg_name(c->lease->msg_type),
		  ip_str(c->lease->server_id, sid), dhcp_state_names[c->state], why);
}

/* A reply for our xid and MAC arrived, parsed into c->lease. */
static int dhcp_on_reply(struct dhcp_client *c)
{
	const struct dhcp_lease *l = c->lease;
	char ip[INET_ADDRSTRLEN], sid[INET_ADDRSTRLEN];

	switch (c->state) {
	case DHCP_SELECTING:
		if (l->msg_type != DHCPOFFER)
			break;
		/* RFC 2131 table 3: an OFFER has yiaddr and MUST carry option 54 */
		if (!l->yiaddr.s_addr || !l->server_id.s_addr) {
			dhcp_ignore(c, "no address or no server identifier");
			return 0;
		}
		log_info(STEP_DHCP, "DHCPOFFER of %s from %s", ip_str(l->yiaddr, ip),
			 ip_str(l->server_id, sid));
		c->offers++;
		c->offered = l->yiaddr;
		c->server = l->server_id;
		set_state(c, DHCP_REQUESTING);
		return dhcp_request(c);
	case DHCP_REQUESTING:
		if (l->msg_type == DHCPOFFER)
			break;	/* a slower server: its offer is declined by our REQUEST */
		/* RFC 2131 section 4.3.2: only the server we chose answers */
		if (l->server_id.s_addr && l->server_id.s_addr != c->server.s_addr) {
			dhcp_ignore(c, "not the server requested");
			return 0;
		}
		if (l->msg_type == DHCPACK) {
			if (!l->yiaddr.s_addr) {
				dhcp_ignore(c, "no address");
				return 0;
			}
			log_debug(STEP_DHCP, "DHCPACK of %s from %s", ip_str(l->yiaddr, ip),
				  ip_str(c->server, sid));
			set_state(c, DHCP_BOUND);
			return 0;
		}
		c->naks++;
		log_warn(STEP_DHCP, "DHCPNAK from %s for %s%s%s, starting over",
			 ip_str(c->server, sid), ip_str(c->offered, ip),
			 l->message[0] ? ": " : "", l->message);
		dhcp_restart(c, (uint64_t)(DHCP_NAK_PAUSE_MS +
					   jitter_ms(c, DHCP_NAK_JITTER_MS)));
		return 0;
	case DHCP_INIT:
	case DHCP_BOUND:
	case DHCP_STATE_COUNT:
		break;
	}
	dhcp_ignore(c, "not expected now");
	return 0;
}

/*
 * Wait until the deadline for a reply that is ours: 1 with it in c->lease, 0
 * when the deadline passed, -errno when receiving failed.  Anything else on
 * the wire (other blades' replies, other traffic, garbage) is passed over
 * and the wait goes on for what is left of it.
 */
static int dhcp_wait(struct dhcp_client *c)
{
	const struct dhcp_io *io = c->io;

	for (;;) {
		uint64_t now = now_ms(c), left;
		const uint8_t *payload;
		bool unverified = false;
		size_t plen;
		ssize_t n;
		int rc;

		if (now >= c->deadline_ms)
			return 0;
		left = c->deadline_ms - now;
		n = io->recv(io->ctx, c->pkt, sizeof(c->pkt), left > INT_MAX ? INT_MAX : (int)left,
			     &unverified);
		if (n == 0 || n == -EINTR || n == -EAGAIN)
			continue;
		if (n < 0) {
			log_err(STEP_DHCP, "cannot receive on %s: %s", c->cfg->ifname,
				strerror((int)-n));
			return (int)n;
		}
		rc = ipudp_parse(c->pkt, (size_t)n, DHCP_CLIENT_PORT, unverified, &payload, &plen);
		if (rc) {
			if (rc != -ESRCH)
				log_debug(STEP_DHCP, "ignored a %zd-byte packet: %s", n,
					  strerror(-rc));
			continue;
		}
		rc = dhcp_parse(payload, plen, c->xid, c->cfg->mac, c->lease);
		if (rc == -ESRCH)
			continue;	/* another blade's reply: routine */
		if (rc) {
			log_debug(STEP_DHCP, "ignored a %zu-byte DHCP message: %s", plen,
				  strerror(-rc));
			continue;
		}
		return 1;
	}
}

int dhcp_run(const struct dhcp_io *io, const struct dhcp_config *cfg, struct dhcp_lease *lease)
{
	struct dhcp_client c = {
		.io = io,
		.cfg = cfg,
		.lease = lease,
		.state = DHCP_INIT,
	};
	int rc;

	if (!cfg->max_discovers)
		return -EINVAL;
	c.start_ms = now_ms(&c);
	c.deadline_ms = c.start_ms;	/* the first DISCOVER goes out at once */
	while (c.state != DHCP_BOUND) {
		rc = dhcp_wait(&c);
		if (rc > 0)
			rc = dhcp_on_reply(&c);
		else if (rc == 0)
			rc = dhcp_on_timeout(&c);
		if (rc < 0) {
			memset(lease, 0, sizeof(*lease));	/* no half-read reply */
			return rc;
		}
	}
	return 0;
}
