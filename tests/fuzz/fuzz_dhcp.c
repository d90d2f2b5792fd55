// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for what the DHCP client reads from the wire: an IPv4/UDP
 * packet through ipudp_parse() and its payload through dhcp_parse(), and the
 * same bytes straight into dhcp_parse() so that mutations need not keep
 * checksums right to reach the option parser.
 *
 * xid and chaddr are taken from the message itself, otherwise almost every
 * input would stop at the -ESRCH check.  A parsed lease is checked against
 * the promises of dhcp.h (NUL-terminated printable text, bounded counts).
 * The payload is copied to a buffer of exactly its length, so ASAN catches a
 * parser that reads past the UDP length.
 *
 * Seeds: tests/fuzz/corpus/fuzz_dhcp/, written by gen_corpus_dhcp.py.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dhcp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct dhcp_lease lease;

static void check_text(const char *s, size_t size)
{
	const char *nul = memchr(s, '\0', size);
	const char *p;

	if (!nul)
		__builtin_trap();
	for (p = s; p < nul; p++)
		if (*p < 0x20 || *p > 0x7e)
			__builtin_trap();
}

#define CHECK_TEXT(field) check_text(field, sizeof(field))

static void check_lease(const struct dhcp_lease *l)
{
	char name[32];
	unsigned i;

	if (l->msg_type != DHCPOFFER && l->msg_type != DHCPACK && l->msg_type != DHCPNAK)
		__builtin_trap();
	CHECK_TEXT(l->hostname);
	CHECK_TEXT(l->domain);
	CHECK_TEXT(l->root_path);
	CHECK_TEXT(l->sname);
	CHECK_TEXT(l->bootfile);
	CHECK_TEXT(l->message);
	if (strlen(l->hostname) > 63 || l->n_dns > DHCP_MAX_DNS ||
	    l->n_rejects > DHCP_MAX_REJECTS)
		__builtin_trap();
	for (i = 0; i <= DIM_OPT_LAST - DIM_OPT_FIRST; i++)
		if (l->site[i].len > DHCP_SITE_MAX || (!l->site[i].present && l->site[i].len))
			__builtin_trap();
	for (i = 0; i < l->n_rejects; i++)
		if (!dhcp_option_name(l->rejects[i].code, name, sizeof(name))[0])
			__builtin_trap();
}

static void parse_message(const uint8_t *msg, size_t len)
{
	uint8_t chaddr[6] = { 0 };
	uint32_t xid = 0;
	uint8_t *copy;

	if (len >= 34) {
		xid = (uint32_t)msg[4] << 24 | (uint32_t)msg[5] << 16 | (uint32_t)msg[6] << 8 |
		      msg[7];
		memcpy(chaddr, msg + 28, 6);
	}
	copy = malloc(len ? len : 1);
	if (!copy)
		return;
	memcpy(copy, msg, len);
	if (dhcp_parse(copy, len, xid, chaddr, &lease) == 0)
		check_lease(&lease);
	free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *payload;
	size_t plen;

	if (ipudp_parse(data, size, DHCP_CLIENT_PORT, false, &payload, &plen) == 0) {
		if (payload < data || payload + plen > data + size)
			__builtin_trap();
		parse_message(payload, plen);
	} else if (ipudp_parse(data, size, DHCP_CLIENT_PORT, true, &payload, &plen) == 0) {
		parse_message(payload, plen);
	}
	parse_message(data, size);
	return 0;
}
