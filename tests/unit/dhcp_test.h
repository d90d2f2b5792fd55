/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the DHCP unit tests: a tiny server-side message writer
 * and an option finder for the client's requests.  Written from RFC 2131
 * figure 1 independently of linuxrc/dhcp.c, so that a wrong offset there is
 * not repeated here.
 */
#ifndef DIM_TEST_DHCP_H
#define DIM_TEST_DHCP_H

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "dhcp.h"

#define T_XID		0x1234abcdu
#define T_OFF_OPTIONS	240
#define T_OFF_SNAME	44
#define T_OFF_FILE	108

static const uint8_t t_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };

struct t_msg {
	uint8_t b[2048];
	size_t len;
};

static inline struct in_addr t_ip(const char *s)
{
	struct in_addr a;

	inet_pton(AF_INET, s, &a);
	return a;
}

static inline void t_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* A BOOTREPLY header with magic cookie and, unless type is 0, option 53. */
static inline void t_reply(struct t_msg *m, uint8_t type, uint32_t xid, const uint8_t *mac,
			   const char *yiaddr)
{
	struct in_addr y = t_ip(yiaddr), s = t_ip("10.0.0.1");

	memset(m, 0, sizeof(*m));
	m->b[0] = 2;
	m->b[1] = 1;
	m->b[2] = 6;
	t_put32(m->b + 4, xid);
	memcpy(m->b + 16, &y, 4);
	memcpy(m->b + 20, &s, 4);
	memcpy(m->b + 28, mac, 6);
	m->b[236] = 99;
	m->b[237] = 130;
	m->b[238] = 83;
	m->b[239] = 99;
	m->len = T_OFF_OPTIONS;
	if (type) {
		m->b[m->len++] = 53;
		m->b[m->len++] = 1;
		m->b[m->len++] = type;
	}
}

static inline void t_opt(struct t_msg *m, uint8_t code, const void *data, uint8_t len)
{
	m->b[m->len++] = code;
	m->b[m->len++] = len;
	memcpy(m->b + m->len, data, len);
	m->len += len;
}

static inline void t_opt_str(struct t_msg *m, uint8_t code, const char *s)
{
	t_opt(m, code, s, (uint8_t)strlen(s));
}

static inline void t_opt_ip(struct t_msg *m, uint8_t code, const char *ip)
{
	struct in_addr a = t_ip(ip);

	t_opt(m, code, &a, 4);
}

static inline void t_opt_u32(struct t_msg *m, uint8_t code, uint32_t v)
{
	uint8_t b[4];

	t_put32(b, v);
	t_opt(m, code, b, 4);
}

/* End option, then pad to the BOOTP minimum as servers do. */
static inline void t_end(struct t_msg *m)
{
	m->b[m->len++] = 255;
	if (m->len < 300)
		m->len = 300;
}

/* Frame as an IPv4/UDP packet from the server to the client port. */
static inline size_t t_frame(const struct t_msg *m, uint8_t *pkt, size_t size)
{
	ssize_t n = ipudp_build(pkt, size, t_ip("10.0.0.1"), t_ip("255.255.255.255"),
				DHCP_SERVER_PORT, DHCP_CLIENT_PORT, m->b, m->len);

	return n < 0 ? 0 : (size_t)n;
}

/* Find an option in the options field of a message (a request the client built). */
static inline bool t_find_opt(const uint8_t *msg, size_t len, uint8_t code, const uint8_t **data,
			      uint8_t *olen)
{
	size_t i = T_OFF_OPTIONS;

	while (i < len) {
		uint8_t c = msg[i++];

		if (c == 255)
			return false;
		if (c == 0)
			continue;
		if (i >= len || i + 1 + msg[i] > len)
			return false;
		if (c == code) {
			*olen = msg[i];
			*data = msg + i + 1;
			return true;
		}
		i += 1 + (size_t)msg[i];
	}
	return false;
}

static inline uint32_t t_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

#endif /* DIM_TEST_DHCP_H */
