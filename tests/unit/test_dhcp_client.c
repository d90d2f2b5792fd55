// SPDX-License-Identifier: MIT
/*
 * The DHCP state machine, linuxrc/dhcp_client.c, driven through a fake
 * struct dhcp_io: a scripted server answers what the client sends, and a
 * virtual clock moves only when the client waits in recv() (by the whole
 * timeout when nothing is due, else up to the next reply).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "dhcp.h"
#include "dhcp_test.h"
#include "log.h"

#define T_START_MS	5000	/* the clock at dhcp_run(), as if 5 s after boot */

struct sent {
	uint64_t at;
	uint8_t type;
	uint32_t xid;
	uint16_t secs;
	uint16_t flags;
	struct in_addr requested, server_id;
};

struct pending {
	uint64_t at;
	uint8_t pkt[DHCP_PACKET_MAX + 64];
	size_t len;
	bool unverified;
};

enum rng_mode {
	RNG_MID,	/* jitter 0 */
	RNG_LOW,	/* jitter -1 s */
	RNG_HIGH,	/* jitter +1 s */
	RNG_LCG,	/* anything */
};

struct fake;
typedef void server_fn(struct fake *f, const struct sent *s);

struct fake {
	uint64_t now;
	enum rng_mode rng;
	uint32_t rng_state;
	struct sent sent[64];
	unsigned n_sent;
	struct pending q[32];
	unsigned n_q;
	server_fn *server;
	unsigned recv_calls;
	int send_err;		/* returned by the next send */
	int recv_err;		/* returned by every recv */
	unsigned naks;		/* for servers that NAK a number of times */
};

static struct dhcp_lease lease;

/* ---------------------------------------------------------------- the fake I/O */

static int fake_send(void *ctx, const uint8_t *pkt, size_t len)
{
	struct fake *f = ctx;
	const uint8_t *msg, *d;
	struct sent *s;
	size_t mlen;
	uint8_t olen;
	int err;

	/* what the client sends must be well-formed IPv4/UDP to port 67 */
	assert_int_equal(ipudp_parse(pkt, len, DHCP_SERVER_PORT, false, &msg, &mlen), 0);
	assert_int_equal(pkt[12] | pkt[13] | pkt[14] | pkt[15], 0);		/* from 0.0.0.0 */
	assert_int_equal(pkt[16] & pkt[17] & pkt[18] & pkt[19], 255);	/* to broadcast */
	assert_int_equal(pkt[20] << 8 | pkt[21], DHCP_CLIENT_PORT);
	assert_true(mlen >= 300);
	assert_int_equal(msg[0], 1);
	assert_memory_equal(msg + 28, t_mac, 6);

	assert_true(f->n_sent < sizeof(f->sent) / sizeof(f->sent[0]));
	s = &f->sent[f->n_sent++];
	memset(s, 0, sizeof(*s));
	s->at = f->now;
	s->xid = t_get32(msg + 4);
	s->secs = (uint16_t)(msg[8] << 8 | msg[9]);
	s->flags = (uint16_t)(msg[10] << 8 | msg[11]);
	assert_true(t_find_opt(msg, mlen, 53, &d, &olen));
	assert_int_equal(olen, 1);
	s->type = d[0];
	if (t_find_opt(msg, mlen, 50, &d, &olen)) {
		assert_int_equal(olen, 4);
		memcpy(&s->requested, d, 4);
	}
	if (t_find_opt(msg, mlen, 54, &d, &olen)) {
		assert_int_equal(olen, 4);
		memcpy(&s->server_id, d, 4);
	}

	err = f->send_err;
	f->send_err = 0;
	if (!err && f->server)
		f->server(f, s);
	return err;
}

static ssize_t fake_recv(void *ctx, uint8_t *buf, size_t size, int timeout_ms,
			 bool *csum_unverified)
{
	struct fake *f = ctx;
	unsigned i, best = 0;
	struct pending *p;
	ssize_t n;

	/* a client that spins on recv() would show up here */
	assert_true(++f->recv_calls < 1000);
	assert_true(timeout_ms > 0);
	if (f->recv_err)
		return f->recv_err;
	for (i = 1; i < f->n_q; i++)
		if (f->q[i].at < f->q[best].at)
			best = i;
	if (!f->n_q || f->q[best].at > f->now + (uint64_t)timeout_ms) {
		f->now += (uint64_t)timeout_ms;
		return 0;
	}
	p = &f->q[best];
	if (p->at > f->now)
		f->now = p->at;
	assert_true(p->len <= size);
	memcpy(buf, p->pkt, p->len);
	*csum_unverified = p->unverified;
	n = (ssize_t)p->len;
	f->q[best] = f->q[--f->n_q];
	return n;
}

static uint64_t fake_now(void *ctx)
{
	const struct fake *f = ctx;

	return f->now;
}

/* jitter = random % 2001 - 1000 for retransmissions */
static uint32_t fake_random(void *ctx)
{
	struct fake *f = ctx;

	switch (f->rng) {
	case RNG_MID:
		return 1000 + 2001u * (f->rng_state++);
	case RNG_LOW:
		return 2001u * (f->rng_state++);
	case RNG_HIGH:
		return 2000 + 2001u * (f->rng_state++);
	case RNG_LCG:
		break;
	}
	f->rng_state = f->rng_state * 1103515245u + 12345u;
	return f->rng_state >> 1;
}

static void fake_init(struct fake *f, struct dhcp_io *io, server_fn *server, enum rng_mode rng)
{
	memset(f, 0, sizeof(*f));
	f->now = T_START_MS;
	f->server = server;
	f->rng = rng;
	f->rng_state = 1;
	io->ctx = f;
	io->send = fake_send;
	io->recv = fake_recv;
	io->now_ms = fake_now;
	io->random = fake_random;
}

static const struct dhcp_config t_cfg = {
	.mac = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 },
	.ifname = "eth0",
	.vendor_class = DIM_VENDOR_CLASS_PREFIX "x86_64",
	.max_discovers = 4,
};

static struct pending *queue_raw(struct fake *f, uint64_t delay_ms)
{
	struct pending *p;

	assert_true(f->n_q < sizeof(f->q) / sizeof(f->q[0]));
	p = &f->q[f->n_q++];
	memset(p, 0, sizeof(*p));
	p->at = f->now + delay_ms;
	return p;
}

static void queue_msg(struct fake *f, uint64_t delay_ms, const struct t_msg *m)
{
	struct pending *p = queue_raw(f, delay_ms);

	p->len = t_frame(m, p->pkt, sizeof(p->pkt));
	assert_true(p->len > 0);
}

static void reply(struct t_msg *m, uint8_t type, uint32_t xid, const char *yiaddr,
		  const char *server)
{
	t_reply(m, type, xid, t_mac, yiaddr);
	t_opt_ip(m, 54, server);
	if (type != DHCPNAK) {
		t_opt_u32(m, 51, 3600);
		t_opt_ip(m, 1, "255.255.255.0");
	}
}

static void queue_reply(struct fake *f, uint64_t delay_ms, uint8_t type, uint32_t xid,
			const char *yiaddr, const char *server)
{
	struct t_msg m;

	reply(&m, type, xid, yiaddr, server);
	t_end(&m);
	queue_msg(f, delay_ms, &m);
}

/* ---------------------------------------------------------------- log capture */

static int saved_stderr = -1;
static FILE *capture;
static char captured[16384];

static void capture_begin(void)
{
	fflush(stderr);
	capture = tmpfile();
	assert_non_null(capture);
	saved_stderr = dup(2);
	assert_true(saved_stderr >= 0);
	assert_true(dup2(fileno(capture), 2) >= 0);
}

static const char *capture_end(void)
{
	size_t n;

	fflush(stderr);
	dup2(saved_stderr, 2);
	close(saved_stderr);
	saved_stderr = -1;
	rewind(capture);
	n = fread(captured, 1, sizeof(captured) - 1, capture);
	captured[n] = '\0';
	fclose(capture);
	return captured;
}

/* After a failed assertion inside dhcp_run(): stderr back, and show the log. */
static int restore_stderr(void **state)
{
	(void)state;
	log_set_debug(0);
	if (saved_stderr >= 0)
		fprintf(stderr, "--- log of the failed run ---\n%s", capture_end());
	return 0;
}

static int run(struct dhcp_io *io, const struct dhcp_config *cfg, const char **log)
{
	const char *text;
	int rc;

	capture_begin();
	rc = dhcp_run(io, cfg, &lease);
	text = capture_end();
	if (getenv("DIM_TEST_LOG"))	/* to read what an admin would see */
		fputs(text, stderr);
	if (log)
		*log = text;
	return rc;
}

/* ---------------------------------------------------------------- servers */

/* Answers everything at once (5 ms). */
static void server_dora(struct fake *f, const struct sent *s)
{
	if (s->type == DHCPDISCOVER)
		queue_reply(f, 5, DHCPOFFER, s->xid, "10.0.0.5", "10.0.0.1");
	else if (s->type == DHCPREQUEST)
		queue_reply(f, 5, DHCPACK, s->xid, "10.0.0.5", "10.0.0.1");
}

/* The first two DISCOVERs are lost. */
static void server_lose_two(struct fake *f, const struct sent *s)
{
	if (s->type == DHCPDISCOVER && f->n_sent <= 2)
		return;
	server_dora(f, s);
}

/* NAKs the first REQUEST, with a reason. */
static void server_nak_once(struct fake *f, const struct sent *s)
{
	struct t_msg m;

	if (s->type == DHCPREQUEST && f->naks == 0) {
		f->naks++;
		reply(&m, DHCPNAK, s->xid, "0.0.0.0", "10.0.0.1");
		t_opt_str(&m, 56, "address 10.0.0.5 in use");
		t_end(&m);
		queue_msg(f, 5, &m);
		return;
	}
	server_dora(f, s);
}

/* Offers, then NAKs every REQUEST. */
static void server_nak_always(struct fake *f, const struct sent *s)
{
	if (s->type == DHCPREQUEST) {
		queue_reply(f, 5, DHCPNAK, s->xid, "0.0.0.0", "10.0.0.1");
		return;
	}
	server_dora(f, s);
}

/* Another blade's OFFER and one for an old xid come first. */
static void server_other_xid(struct fake *f, const struct sent *s)
{
	static const uint8_t other_mac[6] = { 0x52, 0x54, 0x00, 0x99, 0x99, 0x99 };
	struct t_msg m;

	if (s->type == DHCPDISCOVER) {
		queue_reply(f, 1, DHCPOFFER, s->xid + 1, "10.0.0.99", "10.0.0.1");
		t_reply(&m, DHCPOFFER, s->xid, other_mac, "10.0.0.98");
		t_opt_ip(&m, 54, "10.0.0.1");
		t_end(&m);
		queue_msg(f, 2, &m);
		queue_reply(f, 20, DHCPOFFER, s->xid, "10.0.0.5", "10.0.0.1");
		return;
	}
	server_dora(f, s);
}

/* Noise during the first DISCOVER's wait, an answer only to the second. */
static void server_garbage(struct fake *f, const struct sent *s)
{
	struct pending *p;
	struct t_msg m;
	unsigned i;

	if (s->type != DHCPDISCOVER || f->n_sent > 1) {
		server_dora(f, s);
		return;
	}
	/* random bytes */
	p = queue_raw(f, 100);
	for (i = 0; i < 400; i++)
		p->pkt[i] = (uint8_t)(i * 37 + 11);
	p->len = 400;
	/* an empty packet */
	queue_raw(f, 150)->len = 1;
	/* a good OFFER with a broken IP checksum */
	reply(&m, DHCPOFFER, s->xid, "10.0.0.66", "10.0.0.1");
	t_end(&m);
	queue_msg(f, 200, &m);
	f->q[f->n_q - 1].pkt[10] ^= 0xff;
	/* a good OFFER cut short (as if the UDP length lied) */
	queue_msg(f, 300, &m);
	f->q[f->n_q - 1].len -= 50;
	/* the client's own DISCOVER echoed back (to port 67) */
	p = queue_raw(f, 400);
	p->len = t_frame(&m, p->pkt, sizeof(p->pkt));
	p->pkt[23] = DHCP_SERVER_PORT;
	/* an OFFER without server identifier (RFC 2131 says MUST) */
	t_reply(&m, DHCPOFFER, s->xid, t_mac, "10.0.0.67");
	t_end(&m);
	queue_msg(f, 500, &m);
	/* an OFFER without option 53 */
	t_reply(&m, 0, s->xid, t_mac, "10.0.0.68");
	t_opt_ip(&m, 54, "10.0.0.1");
	t_end(&m);
	queue_msg(f, 600, &m);
	/* an ACK while selecting */
	queue_reply(f, 700, DHCPACK, s->xid, "10.0.0.69", "10.0.0.1");
	/* a BOOTREQUEST, as another client's would be */
	reply(&m, DHCPOFFER, s->xid, "10.0.0.70", "10.0.0.1");
	t_end(&m);
	m.b[0] = 1;
	queue_msg(f, 800, &m);
}

/* Offers, but never acknowledges the first xid's REQUESTs. */
static void server_no_ack(struct fake *f, const struct sent *s)
{
	if (s->type == DHCPREQUEST && s->xid == f->sent[0].xid)
		return;
	server_dora(f, s);
}

/* A bogus ACK and another server's answers come before ours. */
static void server_two_acks(struct fake *f, const struct sent *s)
{
	if (s->type == DHCPDISCOVER) {
		queue_reply(f, 5, DHCPOFFER, s->xid, "10.0.0.5", "10.0.0.1");
		queue_reply(f, 6, DHCPOFFER, s->xid, "10.0.1.5", "10.0.1.1");
		return;
	}
	queue_reply(f, 4, DHCPACK, s->xid, "0.0.0.0", "10.0.0.1");	/* no address: bogus */
	queue_reply(f, 5, DHCPNAK, s->xid, "0.0.0.0", "10.0.1.1");
	queue_reply(f, 6, DHCPACK, s->xid, "10.0.1.5", "10.0.1.1");
	queue_reply(f, 7, DHCPACK, s->xid, "10.0.0.5", "10.0.0.1");
}

/* Replies arrive with their UDP checksum not filled in (a local veth peer). */
static void server_csum_partial(struct fake *f, const struct sent *s)
{
	struct pending *p;

	server_dora(f, s);
	p = &f->q[f->n_q - 1];
	p->pkt[26] ^= 0x5a;	/* what is there is a partial sum, not the checksum */
	p->unverified = true;
}

/* ---------------------------------------------------------------- tests */

static void test_dora(void **state)
{
	struct dhcp_io io;
	struct fake f;
	const char *log;

	(void)state;
	log_set_debug(1);
	fake_init(&f, &io, server_dora, RNG_LCG);
	assert_int_equal(run(&io, &t_cfg, &log), 0);
	assert_int_equal(lease.msg_type, DHCPACK);
	assert_int_equal(lease.yiaddr.s_addr, t_ip("10.0.0.5").s_addr);
	assert_int_equal(lease.lease_secs, 3600);
	assert_int_equal(f.n_sent, 2);
	assert_int_equal(f.sent[0].type, DHCPDISCOVER);
	assert_int_equal(f.sent[0].at, T_START_MS);	/* at once */
	assert_int_equal(f.sent[0].secs, 0);
	assert_int_equal(f.sent[0].flags, 0x8000);
	assert_int_equal(f.sent[0].requested.s_addr, 0);
	assert_int_equal(f.sent[0].server_id.s_addr, 0);
	assert_int_equal(f.sent[1].type, DHCPREQUEST);
	assert_int_equal(f.sent[1].xid, f.sent[0].xid);
	assert_int_equal(f.sent[1].requested.s_addr, t_ip("10.0.0.5").s_addr);
	assert_int_equal(f.sent[1].server_id.s_addr, t_ip("10.0.0.1").s_addr);
	assert_int_equal(f.now, T_START_MS + 10);
	assert_non_null(strstr(log, "DHCPDISCOVER on eth0"));
	assert_non_null(strstr(log, "DHCPOFFER of 10.0.0.5 from 10.0.0.1"));
	assert_non_null(strstr(log, "DHCPREQUEST for 10.0.0.5 to 10.0.0.1"));
	log_set_debug(0);
}

/*
 * First retransmission after 2 s, the next after 4 s, each -1..+1 s
 * (RFC 2131 section 4.1); the xid stays for the attempt, secs counts up and
 * the REQUEST repeats the secs of the DISCOVER answered.
 */
static void test_lost_discovers(void **state)
{
	static const enum rng_mode modes[] = { RNG_MID, RNG_LOW, RNG_HIGH, RNG_LCG };
	struct dhcp_io io;
	struct fake f;
	unsigned i, seed;

	(void)state;
	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		for (seed = 1; seed < (modes[i] == RNG_LCG ? 50u : 2u); seed++) {
			uint64_t d1, d2;

			fake_init(&f, &io, server_lose_two, modes[i]);
			f.rng_state = seed;
			assert_int_equal(run(&io, &t_cfg, NULL), 0);
			assert_int_equal(f.n_sent, 4);
			assert_int_equal(f.sent[2].type, DHCPDISCOVER);
			assert_int_equal(f.sent[3].type, DHCPREQUEST);
			d1 = f.sent[1].at - f.sent[0].at;
			d2 = f.sent[2].at - f.sent[1].at;
			assert_in_range(d1, 1000, 3000);
			assert_in_range(d2, 3000, 5000);
			if (modes[i] == RNG_MID) {
				assert_int_equal(d1, 2000);
				assert_int_equal(d2, 4000);
			} else if (modes[i] == RNG_LOW) {
				assert_int_equal(d1, 1000);
				assert_int_equal(d2, 3000);
			} else if (modes[i] == RNG_HIGH) {
				assert_int_equal(d1, 3000);
				assert_int_equal(d2, 5000);
			}
			assert_int_equal(f.sent[1].xid, f.sent[0].xid);
			assert_int_equal(f.sent[2].xid, f.sent[0].xid);
			assert_int_equal(f.sent[1].secs, d1 / 1000);
			assert_int_equal(f.sent[2].secs, (d1 + d2) / 1000);
			assert_int_equal(f.sent[3].secs, f.sent[2].secs);
		}
	}
}

/* Nobody answers: max_discovers DISCOVERs, then -ETIMEDOUT after the last wait. */
static void test_no_server(void **state)
{
	static const struct {
		enum rng_mode rng;
		uint64_t total_ms;
		const char *line;
	} cases[] = {
		{ RNG_MID, 2000 + 4000 + 8000 + 16000, "after 4 DISCOVERs in 30 s" },
		{ RNG_LOW, 1000 + 3000 + 7000 + 15000, "after 4 DISCOVERs in 26 s" },
		{ RNG_HIGH, 3000 + 5000 + 9000 + 17000, "after 4 DISCOVERs in 34 s" },
	};
	struct dhcp_io io;
	struct fake f;
	const char *log;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fake_init(&f, &io, NULL, cases[i].rng);
		assert_int_equal(run(&io, &t_cfg, &log), -ETIMEDOUT);
		assert_int_equal(f.n_sent, 4);
		assert_int_equal(f.now - T_START_MS, cases[i].total_ms);
		assert_non_null(strstr(log, "no DHCPOFFER on eth0"));
		assert_non_null(strstr(log, cases[i].line));
		assert_int_equal(lease.msg_type, 0);	/* nothing half-read left behind */
	}
}

/* The backoff doubles up to 64 s and stays there. */
static void test_backoff_cap(void **state)
{
	static const uint64_t want[] = { 2000, 4000, 8000, 16000, 32000, 64000, 64000, 64000 };
	struct dhcp_config cfg = t_cfg;
	struct dhcp_io io;
	struct fake f;
	unsigned i;

	(void)state;
	cfg.max_discovers = 9;
	fake_init(&f, &io, NULL, RNG_MID);
	assert_int_equal(run(&io, &cfg, NULL), -ETIMEDOUT);
	assert_int_equal(f.n_sent, 9);
	for (i = 0; i < 8; i++)
		assert_int_equal(f.sent[i + 1].at - f.sent[i].at, want[i]);
	assert_int_equal(f.now - f.sent[8].at, 64000);
}

static void test_nak_then_ack(void **state)
{
	struct dhcp_io io;
	struct fake f;
	const char *log;
	uint64_t pause;

	(void)state;
	fake_init(&f, &io, server_nak_once, RNG_LCG);
	assert_int_equal(run(&io, &t_cfg, &log), 0);
	assert_int_equal(lease.msg_type, DHCPACK);
	assert_int_equal(f.n_sent, 4);
	assert_int_equal(f.sent[0].type, DHCPDISCOVER);
	assert_int_equal(f.sent[1].type, DHCPREQUEST);
	assert_int_equal(f.sent[2].type, DHCPDISCOVER);
	assert_int_equal(f.sent[3].type, DHCPREQUEST);
	assert_int_not_equal(f.sent[2].xid, f.sent[0].xid);	/* a new attempt */
	assert_int_equal(f.sent[3].xid, f.sent[2].xid);
	pause = f.sent[2].at - (f.sent[1].at + 5);
	assert_in_range(pause, 500, 1500);
	assert_non_null(strstr(log, "DHCPNAK from 10.0.0.1 for 10.0.0.5: address 10.0.0.5 in use"));
}

/* A server that always NAKs ends the run too, with its own message. */
static void test_nak_always(void **state)
{
	struct dhcp_io io;
	struct fake f;
	const char *log;

	(void)state;
	fake_init(&f, &io, server_nak_always, RNG_LCG);
	assert_int_equal(run(&io, &t_cfg, &log), -ETIMEDOUT);
	assert_int_equal(f.n_sent, 8);
	assert_non_null(strstr(log, "no DHCPACK on eth0 after 4 DISCOVERs"));
	assert_non_null(strstr(log, "4 offers, 4 NAKs"));
}

static void test_other_xid(void **state)
{
	struct dhcp_io io;
	struct fake f;

	(void)state;
	fake_init(&f, &io, server_other_xid, RNG_LCG);
	assert_int_equal(run(&io, &t_cfg, NULL), 0);
	assert_int_equal(f.n_sent, 2);
	assert_int_equal(f.sent[1].requested.s_addr, t_ip("10.0.0.5").s_addr);
	assert_int_equal(f.sent[1].at, T_START_MS + 20);
	assert_int_equal(lease.yiaddr.s_addr, t_ip("10.0.0.5").s_addr);
}

/*
 * Garbage is passed over and the wait goes on for what is left of it: the
 * retransmission comes exactly 2 s after the first DISCOVER, and the client
 * called recv() once per packet, not in a loop.
 */
static void test_garbage(void **state)
{
	struct dhcp_io io;
	struct fake f;

	(void)state;
	log_set_debug(1);
	fake_init(&f, &io, server_garbage, RNG_MID);
	assert_int_equal(run(&io, &t_cfg, NULL), 0);
	assert_int_equal(f.n_sent, 3);
	assert_int_equal(f.sent[1].type, DHCPDISCOVER);
	assert_int_equal(f.sent[1].at - f.sent[0].at, 2000);
	assert_int_equal(f.sent[2].requested.s_addr, t_ip("10.0.0.5").s_addr);
	assert_true(f.recv_calls <= 9 + 1 + 2);
	log_set_debug(0);
}

/* REQUEST sent 1 + 4 times with backoff, then INIT again with a new xid. */
static void test_request_timeout(void **state)
{
	static const uint64_t want[] = { 2000, 4000, 8000, 16000, 32000 };
	struct dhcp_io io;
	struct fake f;
	const char *log;
	unsigned i;

	(void)state;
	fake_init(&f, &io, server_no_ack, RNG_MID);
	assert_int_equal(run(&io, &t_cfg, &log), 0);
	assert_int_equal(f.n_sent, 1 + 5 + 2);
	for (i = 1; i <= 5; i++) {
		assert_int_equal(f.sent[i].type, DHCPREQUEST);
		assert_int_equal(f.sent[i].xid, f.sent[0].xid);
		if (i < 5)
			assert_int_equal(f.sent[i + 1].at - f.sent[i].at, want[i - 1]);
	}
	assert_int_equal(f.sent[6].type, DHCPDISCOVER);
	assert_int_equal(f.sent[6].at - f.sent[5].at, want[4]);
	assert_int_not_equal(f.sent[6].xid, f.sent[0].xid);
	assert_int_equal(f.sent[7].type, DHCPREQUEST);
	assert_non_null(strstr(log, "no DHCPACK from 10.0.0.1 after 5 DHCPREQUESTs"));
}

/* The first OFFER is taken; answers from the other server are not ours. */
static void test_two_servers(void **state)
{
	struct dhcp_io io;
	struct fake f;

	(void)state;
	fake_init(&f, &io, server_two_acks, RNG_LCG);
	assert_int_equal(run(&io, &t_cfg, NULL), 0);
	assert_int_equal(f.n_sent, 2);
	assert_int_equal(f.sent[1].server_id.s_addr, t_ip("10.0.0.1").s_addr);
	assert_int_equal(lease.yiaddr.s_addr, t_ip("10.0.0.5").s_addr);
	assert_int_equal(lease.server_id.s_addr, t_ip("10.0.0.1").s_addr);
}

static void test_csum_unverified(void **state)
{
	struct dhcp_io io;
	struct fake f;

	(void)state;
	fake_init(&f, &io, server_csum_partial, RNG_LCG);
	assert_int_equal(run(&io, &t_cfg, NULL), 0);
	assert_int_equal(f.n_sent, 2);
}

static void test_io_errors(void **state)
{
	struct dhcp_config cfg = t_cfg;
	struct dhcp_io io;
	struct fake f;
	const char *log;

	(void)state;
	/* the interface went away: reported, not retried here */
	fake_init(&f, &io, server_dora, RNG_MID);
	f.send_err = -ENETDOWN;
	assert_int_equal(run(&io, &t_cfg, &log), -ENETDOWN);
	assert_non_null(strstr(log, "cannot send DHCPDISCOVER on eth0"));

	/* no buffer space: as good as a lost packet */
	fake_init(&f, &io, server_dora, RNG_MID);
	f.send_err = -ENOBUFS;
	assert_int_equal(run(&io, &t_cfg, NULL), 0);
	assert_int_equal(f.n_sent, 3);
	assert_int_equal(f.sent[1].at - f.sent[0].at, 2000);

	fake_init(&f, &io, server_dora, RNG_MID);
	f.recv_err = -EIO;
	assert_int_equal(run(&io, &t_cfg, &log), -EIO);
	assert_non_null(strstr(log, "cannot receive on eth0"));

	fake_init(&f, &io, server_dora, RNG_MID);
	cfg.max_discovers = 0;
	assert_int_equal(run(&io, &cfg, NULL), -EINVAL);
	assert_int_equal(f.n_sent, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_dora, restore_stderr),
		cmocka_unit_test_teardown(test_lost_discovers, restore_stderr),
		cmocka_unit_test_teardown(test_no_server, restore_stderr),
		cmocka_unit_test_teardown(test_backoff_cap, restore_stderr),
		cmocka_unit_test_teardown(test_nak_then_ack, restore_stderr),
		cmocka_unit_test_teardown(test_nak_always, restore_stderr),
		cmocka_unit_test_teardown(test_other_xid, restore_stderr),
		cmocka_unit_test_teardown(test_garbage, restore_stderr),
		cmocka_unit_test_teardown(test_request_timeout, restore_stderr),
		cmocka_unit_test_teardown(test_two_servers, restore_stderr),
		cmocka_unit_test_teardown(test_csum_unverified, restore_stderr),
		cmocka_unit_test_teardown(test_io_errors, restore_stderr),
	};

	return cmocka_run_group_tests_name("dhcp_client", tests, NULL, NULL);
}
