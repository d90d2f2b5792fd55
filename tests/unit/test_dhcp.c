// SPDX-License-Identifier: MIT
/*
 * DHCP messages and their framing: linuxrc/dhcp.c.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dhcp.h"
#include "dhcp_test.h"

static struct dhcp_lease lease;	/* large; one is enough */

static int parse(const struct t_msg *m)
{
	return dhcp_parse(m->b, m->len, T_XID, t_mac, &lease);
}

static bool rejected(uint8_t code, int err)
{
	unsigned i;

	for (i = 0; i < lease.n_rejects; i++)
		if (lease.rejects[i].code == code && lease.rejects[i].err == err)
			return true;
	return false;
}

static void assert_ip(struct in_addr a, const char *want)
{
	char buf[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &a, buf, sizeof(buf));
	assert_string_equal(buf, want);
}

/* A full ACK as ISC dhcpd writes one for a blade. */
static void good_ack(struct t_msg *m)
{
	static const uint8_t dns[12] = { 10, 0, 0, 2, 10, 0, 0, 3, 10, 0, 0, 4 };
	static const uint8_t servers[8] = { 10, 0, 0, 7, 10, 0, 0, 8 };

	t_reply(m, DHCPACK, T_XID, t_mac, "10.0.0.5");
	t_opt_ip(m, 54, "10.0.0.1");
	t_opt_u32(m, 51, 3600);
	t_opt_ip(m, 1, "255.255.255.0");
	t_opt_ip(m, 3, "10.0.0.254");
	t_opt(m, 6, dns, sizeof(dns));
	t_opt_str(m, 12, "s01c1b07");
	t_opt_str(m, 15, "cluster.example");
	t_opt_str(m, 17, "10.0.0.1:/var/lib/dim/sles/ro");
	t_opt_ip(m, 28, "10.0.0.255");
	t_opt_str(m, 67, "pxelinux.0");
	t_opt_str(m, DIM_OPT_RW, "10.0.0.1:/var/lib/dim/sles/s01c1b07");
	t_opt_str(m, DIM_OPT_MODE, "overlay");
	t_opt(m, DIM_OPT_SERVERS, servers, sizeof(servers));
	t_opt_str(m, DIM_OPT_NFS, "4.1");
	t_end(m);
}

/* ---------------------------------------------------------------- building */

static void check_request_common(const uint8_t *b, ssize_t n, uint8_t type)
{
	static const uint8_t want_params[] = { 1,   3,   6,   12,  15,  17,  28,  51,  54, 58,
					       59,  66,  67,  224, 225, 226, 227, 228, 229 };
	const uint8_t *d;
	uint8_t len;
	size_t i, j;

	assert_true(n >= 300);
	assert_int_equal(b[0], 1);			/* BOOTREQUEST */
	assert_int_equal(b[1], 1);			/* Ethernet */
	assert_int_equal(b[2], 6);
	assert_int_equal(b[3], 0);			/* hops */
	assert_int_equal(t_get32(b + 4), T_XID);
	assert_int_equal(b[8] << 8 | b[9], 7);		/* secs */
	assert_int_equal(b[10] << 8 | b[11], 0x8000);	/* broadcast flag */
	for (i = 12; i < 28; i++)			/* ciaddr yiaddr siaddr giaddr */
		assert_int_equal(b[i], 0);
	assert_memory_equal(b + 28, t_mac, 6);
	for (i = 34; i < 236; i++)			/* chaddr padding, sname, file */
		assert_int_equal(b[i], 0);
	assert_int_equal(b[236], 99);
	assert_int_equal(b[237], 130);
	assert_int_equal(b[238], 83);
	assert_int_equal(b[239], 99);

	assert_true(t_find_opt(b, (size_t)n, 53, &d, &len));
	assert_int_equal(len, 1);
	assert_int_equal(d[0], type);
	assert_true(t_find_opt(b, (size_t)n, 57, &d, &len));
	assert_int_equal(len, 2);
	assert_int_equal(d[0] << 8 | d[1], 1500);
	assert_true(t_find_opt(b, (size_t)n, 60, &d, &len));
	assert_int_equal(len, strlen(DIM_VENDOR_CLASS_PREFIX "ppc64le"));
	assert_memory_equal(d, DIM_VENDOR_CLASS_PREFIX "ppc64le", len);
	assert_true(t_find_opt(b, (size_t)n, 55, &d, &len));
	for (i = 0; i < sizeof(want_params); i++) {
		for (j = 0; j < len && d[j] != want_params[i]; j++)
			;
		assert_true(j < len);
	}

	/* an end option, and nothing but padding after it */
	for (i = 240; i < (size_t)n && b[i] != 255; i += b[i] ? 2u + b[i + 1] : 1u)
		;
	assert_true(i < (size_t)n);
	for (i++; i < (size_t)n; i++)
		assert_int_equal(b[i], 0);
}

static void test_build_discover(void **state)
{
	struct dhcp_request req = {
		.msg_type = DHCPDISCOVER,
		.xid = T_XID,
		.secs = 7,
		.vendor_class = DIM_VENDOR_CLASS_PREFIX "ppc64le",
	};
	uint8_t b[DHCP_PACKET_MAX];
	const uint8_t *d;
	uint8_t len;
	ssize_t n;

	(void)state;
	memcpy(req.chaddr, t_mac, 6);
	n = dhcp_build(&req, b, sizeof(b));
	check_request_common(b, n, DHCPDISCOVER);
	assert_int_equal(n, 300);
	assert_false(t_find_opt(b, (size_t)n, 50, &d, &len));
	assert_false(t_find_opt(b, (size_t)n, 54, &d, &len));

	/* without a vendor class */
	req.vendor_class = NULL;
	n = dhcp_build(&req, b, sizeof(b));
	assert_int_equal(n, 300);
	assert_false(t_find_opt(b, (size_t)n, 60, &d, &len));
}

static void test_build_request(void **state)
{
	struct dhcp_request req = {
		.msg_type = DHCPREQUEST,
		.xid = T_XID,
		.secs = 7,
		.requested = t_ip("10.0.0.5"),
		.server_id = t_ip("10.0.0.1"),
		.vendor_class = DIM_VENDOR_CLASS_PREFIX "ppc64le",
	};
	uint8_t b[DHCP_PACKET_MAX];
	const uint8_t *d;
	uint8_t len;
	ssize_t n;

	(void)state;
	memcpy(req.chaddr, t_mac, 6);
	n = dhcp_build(&req, b, sizeof(b));
	check_request_common(b, n, DHCPREQUEST);
	assert_true(t_find_opt(b, (size_t)n, 50, &d, &len));
	assert_int_equal(len, 4);
	assert_memory_equal(d, &req.requested, 4);
	assert_true(t_find_opt(b, (size_t)n, 54, &d, &len));
	assert_int_equal(len, 4);
	assert_memory_equal(d, &req.server_id, 4);
}

static void test_build_nospace(void **state)
{
	static char long_class[300];
	struct dhcp_request req = { .msg_type = DHCPDISCOVER, .vendor_class = "dim:1:linuxrc:x" };
	uint8_t b[DHCP_PACKET_MAX];
	size_t size;

	(void)state;
	for (size = 0; size < 300; size++)
		assert_int_equal(dhcp_build(&req, b, size), -ENOSPC);
	assert_int_equal(dhcp_build(&req, b, 300), 300);

	memset(long_class, 'a', sizeof(long_class) - 1);
	req.vendor_class = long_class;
	assert_int_equal(dhcp_build(&req, b, sizeof(b)), -EINVAL);
	req.vendor_class = "";
	assert_int_equal(dhcp_build(&req, b, sizeof(b)), -EINVAL);
	req.vendor_class = NULL;
	req.msg_type = 0;
	assert_int_equal(dhcp_build(&req, b, sizeof(b)), -EINVAL);
}

/* ---------------------------------------------------------------- parsing */

static void test_parse_offer(void **state)
{
	struct t_msg m;

	(void)state;
	t_reply(&m, DHCPOFFER, T_XID, t_mac, "10.0.0.5");
	t_opt_ip(&m, 54, "10.0.0.1");
	t_opt_u32(&m, 51, 600);
	t_end(&m);
	memcpy(m.b + T_OFF_SNAME, "boot-server", 12);
	memcpy(m.b + T_OFF_FILE, "/tftp/zImage.of", 16);
	assert_int_equal(parse(&m), 0);
	assert_int_equal(lease.msg_type, DHCPOFFER);
	assert_int_equal(lease.xid, T_XID);
	assert_ip(lease.yiaddr, "10.0.0.5");
	assert_ip(lease.siaddr, "10.0.0.1");
	assert_ip(lease.server_id, "10.0.0.1");
	assert_int_equal(lease.lease_secs, 600);
	assert_string_equal(lease.sname, "boot-server");
	assert_string_equal(lease.bootfile, "/tftp/zImage.of");
	assert_ip(lease.netmask, "0.0.0.0");
	assert_string_equal(lease.hostname, "");
	assert_int_equal(lease.n_rejects, 0);
}

static void test_parse_ack(void **state)
{
	const struct dhcp_blob *b;
	struct t_msg m;
	unsigned i;

	(void)state;
	good_ack(&m);
	memcpy(m.b + T_OFF_FILE, "ignored-as-option-67-is-set", 28);
	assert_int_equal(parse(&m), 0);
	assert_int_equal(lease.msg_type, DHCPACK);
	assert_ip(lease.yiaddr, "10.0.0.5");
	assert_ip(lease.server_id, "10.0.0.1");
	assert_ip(lease.netmask, "255.255.255.0");
	assert_ip(lease.router, "10.0.0.254");
	assert_ip(lease.broadcast, "10.0.0.255");
	assert_int_equal(lease.n_dns, 3);
	assert_ip(lease.dns[0], "10.0.0.2");
	assert_ip(lease.dns[2], "10.0.0.4");
	assert_int_equal(lease.lease_secs, 3600);
	assert_string_equal(lease.hostname, "s01c1b07");
	assert_string_equal(lease.domain, "cluster.example");
	assert_string_equal(lease.root_path, "10.0.0.1:/var/lib/dim/sles/ro");
	assert_string_equal(lease.bootfile, "pxelinux.0");
	assert_string_equal(lease.message, "");
	assert_int_equal(lease.n_rejects, 0);

	b = &lease.site[DIM_OPT_RW - DIM_OPT_FIRST];
	assert_true(b->present);
	assert_int_equal(b->len, strlen("10.0.0.1:/var/lib/dim/sles/s01c1b07"));
	assert_string_equal((const char *)b->data, "10.0.0.1:/var/lib/dim/sles/s01c1b07");
	b = &lease.site[DIM_OPT_MODE - DIM_OPT_FIRST];
	assert_true(b->present);
	assert_string_equal((const char *)b->data, "overlay");
	b = &lease.site[DIM_OPT_SERVERS - DIM_OPT_FIRST];
	assert_true(b->present);
	assert_int_equal(b->len, 8);
	assert_int_equal(b->data[3], 7);
	assert_int_equal(b->data[7], 8);
	assert_false(lease.site[DIM_OPT_RWIMG - DIM_OPT_FIRST].present);
	assert_true(lease.site[DIM_OPT_NFS - DIM_OPT_FIRST].present);
	for (i = DIM_OPT_RODIRS + 1; i <= DIM_OPT_LAST; i++)
		assert_false(lease.site[i - DIM_OPT_FIRST].present);
}

/* sname and file are taken as text only when NUL-terminated and printable. */
static void test_parse_header_strings(void **state)
{
	struct t_msg m;

	(void)state;
	t_reply(&m, DHCPOFFER, T_XID, t_mac, "10.0.0.5");
	t_end(&m);
	memset(m.b + T_OFF_SNAME, 'a', 64);		/* no NUL inside the field */
	memcpy(m.b + T_OFF_FILE, "boot\x01" "file", 10);	/* a control character */
	assert_int_equal(parse(&m), 0);
	assert_string_equal(lease.sname, "");
	assert_string_equal(lease.bootfile, "");

	m.b[T_OFF_SNAME + 63] = '\0';
	memset(m.b + T_OFF_FILE, 'f', 127);
	assert_int_equal(parse(&m), 0);
	assert_int_equal(strlen(lease.sname), 63);
	assert_int_equal(strlen(lease.bootfile), 127);
	assert_int_equal(lease.n_rejects, 0);
}

static void test_parse_nak(void **state)
{
	struct t_msg m;

	(void)state;
	t_reply(&m, DHCPNAK, T_XID, t_mac, "0.0.0.0");
	t_opt_ip(&m, 54, "10.0.0.1");
	t_opt_str(&m, 56, "requested address not available");
	t_end(&m);
	assert_int_equal(parse(&m), 0);
	assert_int_equal(lease.msg_type, DHCPNAK);
	assert_string_equal(lease.message, "requested address not available");
	assert_ip(lease.yiaddr, "0.0.0.0");
}

/* Header checks: -EBADMSG before anything else is read. */
static void test_parse_bad_header(void **state)
{
	static const struct {
		size_t off;
		uint8_t val;
	} cases[] = {
		{ 0, 1 },	/* op BOOTREQUEST */
		{ 0, 3 },
		{ 1, 6 },	/* htype IEEE 802 */
		{ 2, 16 },	/* hlen */
		{ 236, 98 },	/* cookie */
		{ 239, 0 },
	};
	struct t_msg m;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		good_ack(&m);
		m.b[cases[i].off] = cases[i].val;
		assert_int_equal(parse(&m), -EBADMSG);
	}
	good_ack(&m);
	assert_int_equal(dhcp_parse(m.b, 239, T_XID, t_mac, &lease), -EBADMSG);
	assert_int_equal(dhcp_parse(m.b, 0, T_XID, t_mac, &lease), -EBADMSG);
}

static void test_parse_msg_type(void **state)
{
	static const uint8_t two[2] = { DHCPACK, DHCPACK };
	uint8_t type;
	struct t_msg m;

	(void)state;
	/* none */
	t_reply(&m, 0, T_XID, t_mac, "10.0.0.5");
	t_opt_ip(&m, 54, "10.0.0.1");
	t_end(&m);
	assert_int_equal(parse(&m), -EBADMSG);

	/* not a reply type */
	for (type = 0; type < 12; type++) {
		t_reply(&m, type, T_XID, t_mac, "10.0.0.5");
		if (!type)
			t_opt(&m, 53, &type, 1);
		t_end(&m);
		if (type == DHCPOFFER || type == DHCPACK || type == DHCPNAK)
			assert_int_equal(parse(&m), 0);
		else
			assert_int_equal(parse(&m), -EBADMSG);
	}

	/* wrong length */
	t_reply(&m, 0, T_XID, t_mac, "10.0.0.5");
	t_opt(&m, 53, two, 2);
	t_end(&m);
	assert_int_equal(parse(&m), -EBADMSG);

	/* twice: concatenated to length 2 (RFC 3396), so refused */
	t_reply(&m, DHCPACK, T_XID, t_mac, "10.0.0.5");
	t_opt(&m, 53, two, 1);
	t_end(&m);
	assert_int_equal(parse(&m), -EBADMSG);
}

static void test_parse_not_ours(void **state)
{
	static const uint8_t other_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x57 };
	struct t_msg m;

	(void)state;
	good_ack(&m);
	assert_int_equal(dhcp_parse(m.b, m.len, T_XID + 1, t_mac, &lease), -ESRCH);
	assert_int_equal(dhcp_parse(m.b, m.len, T_XID, other_mac, &lease), -ESRCH);
	t_reply(&m, DHCPOFFER, T_XID ^ 0x80000000u, t_mac, "10.0.0.5");
	t_end(&m);
	assert_int_equal(parse(&m), -ESRCH);
	t_reply(&m, DHCPOFFER, T_XID, other_mac, "10.0.0.5");
	t_end(&m);
	assert_int_equal(parse(&m), -ESRCH);
}

/* Every prefix of a good message: an error or a valid lease, never a crash. */
static void test_parse_truncated(void **state)
{
	struct t_msg m;
	uint8_t *copy;
	size_t len, full;
	int rc;

	(void)state;
	good_ack(&m);
	full = m.len;
	for (len = 0; len <= full; len++) {
		/* exactly len bytes on the heap, so ASAN sees any overrun */
		copy = malloc(len ? len : 1);
		assert_non_null(copy);
		memcpy(copy, m.b, len);
		rc = dhcp_parse(copy, len, T_XID, t_mac, &lease);
		free(copy);
		if (len < 240 + 3)
			assert_int_equal(rc, -EBADMSG);	/* no option 53 yet */
		else
			assert_true(rc == 0 || rc == -EBADMSG);
		if (rc == 0)
			assert_int_equal(lease.msg_type, DHCPACK);
	}
	assert_int_equal(rc, 0);
}

static void test_parse_option_overrun(void **state)
{
	struct t_msg m;

	(void)state;
	/* the last option says 10 bytes, 3 follow */
	t_reply(&m, DHCPACK, T_XID, t_mac, "10.0.0.5");
	t_opt_ip(&m, 54, "10.0.0.1");
	m.b[m.len++] = 17;
	m.b[m.len++] = 10;
	memcpy(m.b + m.len, "abc", 3);
	m.len += 3;
	assert_int_equal(parse(&m), -EBADMSG);

	/* a code without its length byte */
	t_reply(&m, DHCPACK, T_XID, t_mac, "10.0.0.5");
	m.b[m.len++] = 17;
	assert_int_equal(parse(&m), -EBADMSG);
}

/*
 * Decision: an area without an end option is accepted when its last option
 * ends exactly at the end of the area (every option still bounded).
 */
static void test_parse_no_end(void **state)
{
	struct t_msg m;

	(void)state;
	t_reply(&m, DHCPACK, T_XID, t_mac, "10.0.0.5");
	t_opt_ip(&m, 54, "10.0.0.1");
	t_opt_str(&m, 17, "/ro");
	assert_int_equal(parse(&m), 0);
	assert_string_equal(lease.root_path, "/ro");
	assert_ip(lease.server_id, "10.0.0.1");

	/* trailing pad bytes without an end option: also fine */
	m.b[m.len++] = 0;
	m.b[m.len++] = 0;
	assert_int_equal(parse(&m), 0);

	/* and what follows an end option is never read */
	t_reply(&m, DHCPACK, T_XID, t_mac, "10.0.0.5");
	m.b[m.len++] = 255;
	t_opt_str(&m, 12, "after-end");
	m.b[m.len++] = 17;
	m.b[m.len++] = 200;	/* would overrun, if it were read */
	assert_int_equal(parse(&m), 0);
	assert_string_equal(lease.hostname, "");
}

static void test_parse_pad(void **state)
{
	struct t_msg m;

	(void)state;
	t_reply(&m, 0, T_XID, t_mac, "10.0.0.5");
	m.b[m.len++] = 0;
	m.b[m.len++] = 0;
	t_opt(&m, 53, "\x05", 1);
	m.b[m.len++] = 0;
	t_opt_str(&m, 12, "node1");
	t_end(&m);
	assert_int_equal(parse(&m), 0);
	assert_string_equal(lease.hostname, "node1");
}

/* RFC 2131 section 4.1 / RFC 2132 section 9.3: options in file and sname. */
static void test_parse_overload(void **state)
{
	static const char *const sname_text = "sname-as-text";
	uint8_t ov;
	struct t_msg m;

	(void)state;
	for (ov = 1; ov <= 3; ov++) {
		uint8_t *file = NULL, *sname = NULL;

		t_reply(&m, DHCPACK, T_XID, t_mac, "10.0.0.5");
		t_opt(&m, 52, &ov, 1);
		t_opt_str(&m, 17, "srv:");
		t_end(&m);
		if (ov & 1) {
			file = m.b + T_OFF_FILE;
			*file++ = 12;
			*file++ = 5;
			memcpy(file, "node1", 5);
			file += 5;
			*file++ = 17;
			*file++ = 4;
			memcpy(file, "/ro/", 4);
			file += 4;
			*file++ = 255;
		} else {
			memcpy(m.b + T_OFF_FILE, "zImage", 7);
		}
		if (ov & 2) {
			sname = m.b + T_OFF_SNAME;
			*sname++ = 15;
			*sname++ = 7;
			memcpy(sname, "example", 7);
			sname += 7;
			*sname++ = 17;
			*sname++ = 4;
			memcpy(sname, "sles", 4);
			sname += 4;
			/* no end option: the field ends with pad bytes */
		} else {
			memcpy(m.b + T_OFF_SNAME, sname_text, strlen(sname_text) + 1);
		}
		assert_int_equal(parse(&m), 0);
		assert_int_equal(lease.n_rejects, 0);
		if (ov & 1) {
			assert_string_equal(lease.hostname, "node1");
			assert_string_equal(lease.bootfile, "");
		} else {
			assert_string_equal(lease.hostname, "");
			assert_string_equal(lease.bootfile, "zImage");
		}
		if (ov & 2) {
			assert_string_equal(lease.domain, "example");
			assert_string_equal(lease.sname, "");
		} else {
			assert_string_equal(lease.domain, "");
			assert_string_equal(lease.sname, sname_text);
		}
		/* concatenated in the order options, file, sname */
		if (ov == 1)
			assert_string_equal(lease.root_path, "srv:/ro/");
		else if (ov == 2)
			assert_string_equal(lease.root_path, "srv:sles");
		else
			assert_string_equal(lease.root_path, "srv:/ro/sles");
	}
}

static void test_parse_overload_bad(void **state)
{
	uint8_t v;
	struct t_msg m;

	(void)state;
	/* value 4: refused, file and sname stay what they are (not options) */
	t_reply(&m, DHCPACK, T_XID, t_mac, "10.0.0.5");
	v = 4;
	t_opt(&m, 52, &v, 1);
	t_end(&m);
	m.b[T_OFF_FILE] = 12;
	m.b[T_OFF_FILE + 1] = 1;
	m.b[T_OFF_FILE + 2] = 'x';
	assert_int_equal(parse(&m), 0);
	assert_true(rejected(52, -EINVAL));
	assert_string_equal(lease.hostname, "");
	assert_string_equal(lease.bootfile, "");	/* not printable text */

	/* length 2 */
	t_reply(&m, DHCPACK, T_XID, t_mac, "10.0.0.5");
	t_opt(&m, 52, "\x01\x01", 2);
	t_end(&m);
	assert_int_equal(parse(&m), 0);
	assert_true(rejected(52, -EBADMSG));

	/* an overloaded field whose option overruns it spoils the message */
	t_reply(&m, DHCPACK, T_XID, t_mac, "10.0.0.5");
	v = 2;
	t_opt(&m, 52, &v, 1);
	t_end(&m);
	m.b[T_OFF_SNAME + 60] = 12;
	m.b[T_OFF_SNAME + 61] = 8;
	assert_int_equal(parse(&m), -EBADMSG);

	/* option 52 inside the file field means nothing */
	t_reply(&m, DHCPACK, T_XID, t_mac, "10.0.0.5");
	v = 1;
	t_opt(&m, 52, &v, 1);
	t_end(&m);
	m.b[T_OFF_FILE] = 52;
	m.b[T_OFF_FILE + 1] = 1;
	m.b[T_OFF_FILE + 2] = 2;
	m.b[T_OFF_SNAME] = 12;
	m.b[T_OFF_SNAME + 1] = 1;
	m.b[T_OFF_SNAME + 2] = 'x';
	assert_int_equal(parse(&m), 0);
	assert_string_equal(lease.hostname, "");
}

static void test_parse_hostname(void **state)
{
	static const char *const bad[] = {
		"evil;rm -rf",
		"a'b",
		"-x",
		"x-",
		"a..b",
		".a",
		"a.",
		"a b",
		"a_b",
		"x.-y",
		"x-.y",
		/* a label of 64 */
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		/* 64 in all, labels short: does not fit char[64] */
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
		"caf\xc3\xa9",
		"a\nb",
	};
	static const char *const good[] = {
		"node1",
		"s01c1b07",
		"1blade",
		"a-b.c-d.e",
		"A",
		/* a label of 63 */
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	};
	struct t_msg m;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		t_reply(&m, DHCPACK, T_XID, t_mac, "10.0.0.5");
		t_opt_str(&m, 12, bad[i]);
		t_opt_ip(&m, 3, "10.0.0.254");
		t_end(&m);
		assert_int_equal(parse(&m), 0);
		assert_string_equal(lease.hostname, "");
		assert_int_equal(lease.n_rejects, 1);
		assert_true(rejected(12, -EINVAL));
		assert_ip(lease.router, "10.0.0.254");	/* the rest still parsed */
	}
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		t_reply(&m, DHCPACK, T_XID, t_mac, "10.0.0.5");
		t_opt_str(&m, 12, good[i]);
		t_end(&m);
		assert_int_equal(parse(&m), 0);
		assert_string_equal(lease.hostname, good[i]);
		assert_int_equal(lease.n_rejects, 0);
	}

	/* empty: a length error */
	t_reply(&m, DHCPACK, T_XID, t_mac, "10.0.0.5");
	t_opt(&m, 12, "", 0);
	t_end(&m);
	assert_int_equal(parse(&m), 0);
	assert_true(rejected(12, -EBADMSG));

	/* the domain follows the same syntax */
	t_reply(&m, DHCPACK, T_XID, t_mac, "10.0.0.5");
	t_opt_str(&m, 15, "example.com; reboot");
	t_end(&m);
	assert_int_equal(parse(&m), 0);
	assert_string_equal(lease.domain, "");
	assert_true(rejected(15, -EINVAL));
}

/* Length rules of RFC 2132, table-driven: (code, length, error). */
static void test_parse_lengths(void **state)
{
	static const struct {
		uint8_t code;
		uint8_t len;
		int err;
	} cases[] = {
		{ 1, 3, -EBADMSG },  { 1, 5, -EBADMSG },  { 1, 0, -EBADMSG },	/* mask: 4 */
		{ 3, 0, -EBADMSG },  { 3, 6, -EBADMSG },  { 3, 8, 0 },		/* router: 4n */
		{ 6, 2, -EBADMSG },  { 6, 16, 0 },				/* dns: 4n */
		{ 28, 2, -EBADMSG }, { 51, 3, -EBADMSG }, { 51, 8, -EBADMSG },	/* 4 */
		{ 54, 5, -EBADMSG }, { 58, 2, -EBADMSG }, { 59, 5, -EBADMSG },
		{ 17, 0, -EBADMSG }, { 56, 0, -EBADMSG }, { 67, 0, -EBADMSG }, /* text: >= 1 */
		{ 66, 0, -EBADMSG }, { 15, 0, -EBADMSG },
		{ 226, 0, -EBADMSG }, { 226, 6, -EBADMSG }, { 226, 12, 0 },	/* dim-servers */
		{ 224, 0, -EBADMSG }, { 229, 0, -EBADMSG },
		{ 240, 0, 0 },							/* raw */
		{ 58, 4, 0 },	     { 59, 4, 0 },	  { 66, 3, 0 },	/* checked, not kept */
	};
	uint8_t data[255];
	struct t_msg m;
	size_t i;

	(void)state;
	memset(data, 10, sizeof(data));
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		t_reply(&m, DHCPACK, T_XID, t_mac, "10.0.0.5");
		t_opt(&m, cases[i].code, data, cases[i].len);
		t_end(&m);
		assert_int_equal(parse(&m), 0);
		if (cases[i].err) {
			assert_int_equal(lease.n_rejects, 1);
			assert_true(rejected(cases[i].code, cases[i].err));
		} else {
			assert_int_equal(lease.n_rejects, 0);
		}
	}
}

static void test_parse_mask(void **state)
{
	static const uint8_t ok[] = { 255, 255, 252, 0 };
	static const uint8_t holes[] = { 255, 0, 255, 0 };
	struct t_msg m;

	(void)state;
	t_reply(&m, DHCPACK, T_XID, t_mac, "10.0.0.5");
	t_opt(&m, 1, ok, 4);
	t_end(&m);
	assert_int_equal(parse(&m), 0);
	assert_ip(lease.netmask, "255.255.252.0");

	t_reply(&m, DHCPACK, T_XID, t_mac, "10.0.0.5");
	t_opt(&m, 1, holes, 4);
	t_end(&m);
	assert_int_equal(parse(&m), 0);
	assert_ip(lease.netmask, "0.0.0.0");
	assert_true(rejected(1, -EINVAL));

	/* a wrong-length mask is refused, the rest of the message stands */
	t_reply(&m, DHCPACK, T_XID, t_mac, "10.0.0.5");
	t_opt(&m, 1, ok, 3);
	t_opt_ip(&m, 54, "10.0.0.1");
	t_end(&m);
	assert_int_equal(parse(&m), 0);
	assert_ip(lease.netmask, "0.0.0.0");
	assert_true(rejected(1, -EBADMSG));
	assert_ip(lease.server_id, "10.0.0.1");

	/* twice: 8 bytes once concatenated */
	t_reply(&m, DHCPACK, T_XID, t_mac, "10.0.0.5");
	t_opt(&m, 1, ok, 4);
	t_opt(&m, 1, ok, 4);
	t_end(&m);
	assert_int_equal(parse(&m), 0);
	assert_true(rejected(1, -EBADMSG));
}

static void test_parse_text(void **state)
{
	char big[201];
	struct t_msg m;

	(void)state;
	/* not printable */
	t_reply(&m, DHCPACK, T_XID, t_mac, "10.0.0.5");
	t_opt_str(&m, 17, "/ro\nrm -rf /");
	t_opt(&m, 56, "a\0b", 3);
	t_opt(&m, 67, "\x7f", 1);
	t_end(&m);
	assert_int_equal(parse(&m), 0);
	assert_string_equal(lease.root_path, "");
	assert_string_equal(lease.message, "");
	assert_string_equal(lease.bootfile, "");
	assert_true(rejected(17, -EINVAL));
	assert_true(rejected(56, -EINVAL));
	assert_true(rejected(67, -EINVAL));

	/* trailing NULs, as some servers send, are dropped; only NULs is nothing */
	t_reply(&m, DHCPACK, T_XID, t_mac, "10.0.0.5");
	t_opt(&m, 17, "/ro\0\0", 5);
	t_opt(&m, 56, "\0", 1);
	t_end(&m);
	assert_int_equal(parse(&m), 0);
	assert_string_equal(lease.root_path, "/ro");
	assert_true(rejected(56, -EINVAL));

	/* too long for the field once concatenated */
	memset(big, 'p', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	t_reply(&m, DHCPACK, T_XID, t_mac, "10.0.0.5");
	t_opt_str(&m, 17, big);
	t_opt_str(&m, 17, big);
	t_end(&m);
	assert_int_equal(parse(&m), 0);
	assert_string_equal(lease.root_path, "");
	assert_true(rejected(17, -EBADMSG));
}

/* RFC 3396: the values of repeated options are joined in order. */
static void test_parse_concat(void **state)
{
	static const uint8_t dns1[4] = { 10, 0, 0, 2 }, dns2[8] = { 10, 0, 0, 3, 10, 0, 0, 4 };
	struct t_msg m;

	(void)state;
	t_reply(&m, DHCPACK, T_XID, t_mac, "10.0.0.5");
	t_opt_str(&m, 17, "10.0.0.1:");
	t_opt(&m, 6, dns1, 4);
	t_opt_str(&m, DIM_OPT_RW, "10.0.0.1:/var/lib/");
	t_opt_str(&m, 17, "/var/lib/dim/ro");
	t_opt(&m, 6, dns2, 8);
	t_opt_str(&m, DIM_OPT_RW, "dim/b1");
	t_end(&m);
	assert_int_equal(parse(&m), 0);
	assert_string_equal(lease.root_path, "10.0.0.1:/var/lib/dim/ro");
	assert_int_equal(lease.n_dns, 3);
	assert_ip(lease.dns[0], "10.0.0.2");
	assert_ip(lease.dns[1], "10.0.0.3");
	assert_ip(lease.dns[2], "10.0.0.4");
	assert_string_equal((const char *)lease.site[0].data, "10.0.0.1:/var/lib/dim/b1");
	assert_int_equal(lease.site[0].len, 24);
}

static void test_parse_site(void **state)
{
	static const uint8_t raw[5] = { 0, 1, 2, 0xff, 0 };
	uint8_t big[255];
	struct t_msg m;
	const struct dhcp_blob *b;

	(void)state;
	t_reply(&m, DHCPACK, T_XID, t_mac, "10.0.0.5");
	t_opt_str(&m, DIM_OPT_RWIMG, "rw.img");
	t_opt_str(&m, DIM_OPT_RODIRS, "bin,sbin,usr");
	t_opt_str(&m, DIM_OPT_MODE, "bind\x1b[2J");	/* an escape sequence */
	t_opt(&m, 240, raw, sizeof(raw));
	t_opt(&m, 254, raw, 1);
	t_opt_str(&m, 200, "not site-local to DIM");
	t_end(&m);
	assert_int_equal(parse(&m), 0);
	b = &lease.site[DIM_OPT_RWIMG - DIM_OPT_FIRST];
	assert_true(b->present);
	assert_int_equal(b->len, 6);
	assert_string_equal((const char *)b->data, "rw.img");
	assert_string_equal((const char *)lease.site[DIM_OPT_RODIRS - DIM_OPT_FIRST].data,
			    "bin,sbin,usr");
	assert_false(lease.site[DIM_OPT_MODE - DIM_OPT_FIRST].present);
	assert_true(rejected(DIM_OPT_MODE, -EINVAL));
	b = &lease.site[240 - DIM_OPT_FIRST];
	assert_true(b->present);
	assert_int_equal(b->len, 5);
	assert_memory_equal(b->data, raw, 5);
	assert_int_equal(lease.site[254 - DIM_OPT_FIRST].len, 1);
	assert_int_equal(lease.n_rejects, 1);

	/* RFC 3396 up to DHCP_SITE_MAX; one byte more is refused */
	memset(big, 'x', sizeof(big));
	t_reply(&m, DHCPACK, T_XID, t_mac, "10.0.0.5");
	t_opt(&m, 250, big, 255);
	t_opt(&m, 250, big, 255);
	t_opt(&m, 250, big, 2);
	t_opt(&m, DIM_OPT_RW, big, 255);
	t_opt(&m, DIM_OPT_RW, big, 255);
	t_opt(&m, DIM_OPT_RW, big, 2);	/* 512: no room for the NUL */
	t_end(&m);
	assert_int_equal(parse(&m), 0);
	assert_int_equal(lease.site[250 - DIM_OPT_FIRST].len, DHCP_SITE_MAX);
	assert_true(rejected(DIM_OPT_RW, -EBADMSG));
	t_opt(&m, 250, big, 1);
	m.b[m.len - 4] = 0;	/* the old end option, now a pad */
	assert_int_equal(parse(&m), 0);
	assert_false(lease.site[250 - DIM_OPT_FIRST].present);
	assert_true(rejected(250, -EBADMSG));
}

static void test_parse_reject_overflow(void **state)
{
	struct t_msg m;
	unsigned code;

	(void)state;
	t_reply(&m, DHCPACK, T_XID, t_mac, "10.0.0.5");
	for (code = 1; code <= 60; code++)
		if (code != 52 && code != 53)
			t_opt(&m, (uint8_t)code, "\x01\x02\x03", 3);
	for (code = 224; code <= 229; code++)
		t_opt(&m, (uint8_t)code, "\x01\x02\x03", 3);
	t_end(&m);
	assert_int_equal(parse(&m), 0);
	assert_int_equal(lease.n_rejects, DHCP_MAX_REJECTS);
}

static void test_option_name(void **state)
{
	char buf[32];

	(void)state;
	assert_string_equal(dhcp_option_name(12, buf, sizeof(buf)), "hostname");
	assert_string_equal(dhcp_option_name(DIM_OPT_RW, buf, sizeof(buf)), "dim-rw");
	assert_string_equal(dhcp_option_name(DIM_OPT_SERVERS, buf, sizeof(buf)), "dim-servers");
	assert_string_equal(dhcp_option_name(52, buf, sizeof(buf)), "overload");
	assert_string_equal(dhcp_option_name(201, buf, sizeof(buf)), "option 201");
	assert_string_equal(dhcp_option_name(240, buf, sizeof(buf)), "option 240");
	assert_non_null(dhcp_option_name(201, NULL, 0));
}

/* ---------------------------------------------------------------- IPv4 + UDP */

static size_t frame_ack(uint8_t *pkt, size_t size)
{
	struct t_msg m;
	size_t n;

	good_ack(&m);
	n = t_frame(&m, pkt, size);
	assert_int_equal(n, 28 + m.len);
	return n;
}

/* Redo the IP header checksum after a header field was changed. */
static void fix_ip_csum(uint8_t *pkt)
{
	size_t ihl = (size_t)(pkt[0] & 15) * 4, i;
	uint32_t sum = 0;

	pkt[10] = pkt[11] = 0;
	for (i = 0; i < ihl; i += 2)
		sum += (uint32_t)(pkt[i] << 8 | pkt[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	pkt[10] = (uint8_t)(~sum >> 8);
	pkt[11] = (uint8_t)~sum;
}

static void test_ipudp_roundtrip(void **state)
{
	uint8_t pkt[DHCP_PACKET_MAX];
	const uint8_t *payload;
	size_t n, plen;

	(void)state;
	n = frame_ack(pkt, sizeof(pkt));
	assert_int_equal(pkt[0], 0x45);
	assert_int_equal(pkt[9], 17);
	assert_int_equal(pkt[2] << 8 | pkt[3], n);
	assert_int_equal(ipudp_parse(pkt, n, DHCP_CLIENT_PORT, false, &payload, &plen), 0);
	assert_ptr_equal(payload, pkt + 28);
	assert_int_equal(plen, n - 28);
	assert_int_equal(dhcp_parse(payload, plen, T_XID, t_mac, &lease), 0);

	/* odd payload length: the checksum pads with a zero byte */
	n = (size_t)ipudp_build(pkt, sizeof(pkt), t_ip("10.0.0.1"), t_ip("10.0.0.5"), 67, 68,
				(const uint8_t *)"abc", 3);
	assert_int_equal(n, 31);
	assert_int_equal(ipudp_parse(pkt, n, 68, false, &payload, &plen), 0);
	assert_int_equal(plen, 3);
	assert_memory_equal(payload, "abc", 3);

	assert_int_equal(ipudp_build(pkt, 30, t_ip("0.0.0.0"), t_ip("255.255.255.255"), 68, 67,
				     (const uint8_t *)"abc", 3),
			 -ENOSPC);
}

static void test_ipudp_truncated(void **state)
{
	uint8_t pkt[DHCP_PACKET_MAX], *copy;
	const uint8_t *payload;
	size_t n, len, plen;

	(void)state;
	n = frame_ack(pkt, sizeof(pkt));
	for (len = 0; len < n; len++) {
		copy = malloc(len ? len : 1);
		assert_non_null(copy);
		memcpy(copy, pkt, len);
		assert_int_equal(ipudp_parse(copy, len, 68, false, &payload, &plen), -EBADMSG);
		free(copy);
	}
}

static void test_ipudp_bad(void **state)
{
	uint8_t pkt[DHCP_PACKET_MAX];
	const uint8_t *payload;
	size_t n, plen;

	(void)state;
#define PARSE(unverified) ipudp_parse(pkt, n, DHCP_CLIENT_PORT, unverified, &payload, &plen)
	/* version 6 */
	n = frame_ack(pkt, sizeof(pkt));
	pkt[0] = 0x65;
	fix_ip_csum(pkt);
	assert_int_equal(PARSE(false), -EBADMSG);

	/* IHL below 5, and beyond the packet */
	n = frame_ack(pkt, sizeof(pkt));
	pkt[0] = 0x44;
	assert_int_equal(PARSE(false), -EBADMSG);
	assert_int_equal(ipudp_parse(pkt, 20, 68, false, &payload, &plen), -EBADMSG);
	pkt[0] = 0x46;
	assert_int_equal(ipudp_parse(pkt, 20, 68, false, &payload, &plen), -EBADMSG);

	/* IP header checksum, checked even when the kernel says "unverified" */
	n = frame_ack(pkt, sizeof(pkt));
	pkt[11] ^= 1;
	assert_int_equal(PARSE(false), -EBADMSG);
	assert_int_equal(PARSE(true), -EBADMSG);

	/* UDP checksum: checked unless unverified or zero */
	n = frame_ack(pkt, sizeof(pkt));
	pkt[28 + 100] ^= 0x40;
	assert_int_equal(PARSE(false), -EBADMSG);
	assert_int_equal(PARSE(true), 0);
	pkt[26] = pkt[27] = 0;
	assert_int_equal(PARSE(false), 0);

	/* fragments: MF, an offset; DF is fine */
	n = frame_ack(pkt, sizeof(pkt));
	pkt[6] = 0x20;
	fix_ip_csum(pkt);
	assert_int_equal(PARSE(false), -EBADMSG);
	pkt[6] = 0x00;
	pkt[7] = 0x01;
	fix_ip_csum(pkt);
	assert_int_equal(PARSE(false), -EBADMSG);
	pkt[6] = 0x40;
	pkt[7] = 0x00;
	fix_ip_csum(pkt);
	assert_int_equal(PARSE(false), 0);

	/* not UDP, or not to our port: not for us */
	n = frame_ack(pkt, sizeof(pkt));
	pkt[9] = 6;
	fix_ip_csum(pkt);
	assert_int_equal(PARSE(false), -ESRCH);
	n = frame_ack(pkt, sizeof(pkt));
	assert_int_equal(ipudp_parse(pkt, n, 67, false, &payload, &plen), -ESRCH);

	/* IP total length beyond the packet, or below the header */
	n = frame_ack(pkt, sizeof(pkt));
	pkt[2] = (uint8_t)((n + 1) >> 8);
	pkt[3] = (uint8_t)(n + 1);
	fix_ip_csum(pkt);
	assert_int_equal(PARSE(false), -EBADMSG);
	pkt[2] = 0;
	pkt[3] = 19;
	fix_ip_csum(pkt);
	assert_int_equal(PARSE(false), -EBADMSG);
	pkt[3] = 24;	/* room for no UDP header */
	fix_ip_csum(pkt);
	assert_int_equal(PARSE(false), -EBADMSG);

	/* UDP length larger than the IP payload, or below the UDP header */
	n = frame_ack(pkt, sizeof(pkt));
	pkt[24] = (uint8_t)((n - 20 + 1) >> 8);
	pkt[25] = (uint8_t)(n - 20 + 1);
	assert_int_equal(PARSE(true), -EBADMSG);
	pkt[24] = 0;
	pkt[25] = 7;
	assert_int_equal(PARSE(true), -EBADMSG);

	/* IP options (IHL 6) are skipped */
	{
		uint8_t opt_pkt[DHCP_PACKET_MAX];

		n = frame_ack(pkt, sizeof(pkt));
		memcpy(opt_pkt, pkt, 20);
		memset(opt_pkt + 20, 1, 4);	/* four NOP options */
		memcpy(opt_pkt + 24, pkt + 20, n - 20);
		opt_pkt[0] = 0x46;
		opt_pkt[2] = (uint8_t)((n + 4) >> 8);
		opt_pkt[3] = (uint8_t)(n + 4);
		fix_ip_csum(opt_pkt);
		assert_int_equal(ipudp_parse(opt_pkt, n + 4, 68, false, &payload, &plen), 0);
		assert_ptr_equal(payload, opt_pkt + 32);
		assert_int_equal(plen, n - 28);
	}
#undef PARSE
}

/*
 * Bytes after the UDP datagram never reach dhcp_parse(): neither Ethernet
 * padding after the IP total length nor anything between the UDP length and
 * the IP total length.  The message has no end option, so a parser that read
 * on would find the hostname.
 */
static void test_ipudp_trailing(void **state)
{
	static const uint8_t fake[] = { 12, 4, 'e', 'v', 'i', 'l' };
	uint8_t pkt[DHCP_PACKET_MAX];
	const uint8_t *payload;
	struct t_msg m;
	size_t n, plen, ulen;

	(void)state;
	t_reply(&m, DHCPACK, T_XID, t_mac, "10.0.0.5");
	t_opt_ip(&m, 54, "10.0.0.1");
	n = t_frame(&m, pkt, sizeof(pkt));

	/* Ethernet padding after the IP packet */
	memcpy(pkt + n, fake, sizeof(fake));
	assert_int_equal(ipudp_parse(pkt, n + sizeof(fake), 68, false, &payload, &plen), 0);
	assert_int_equal(plen, m.len);
	assert_int_equal(dhcp_parse(payload, plen, T_XID, t_mac, &lease), 0);
	assert_string_equal(lease.hostname, "");

	/* inside the IP packet, after the UDP length */
	n += sizeof(fake);
	pkt[2] = (uint8_t)(n >> 8);
	pkt[3] = (uint8_t)n;
	fix_ip_csum(pkt);
	ulen = (size_t)(pkt[24] << 8 | pkt[25]);
	assert_int_equal(ulen, 8 + m.len);
	assert_int_equal(ipudp_parse(pkt, n, 68, false, &payload, &plen), 0);
	assert_int_equal(plen, m.len);
	assert_int_equal(dhcp_parse(payload, plen, T_XID, t_mac, &lease), 0);
	assert_string_equal(lease.hostname, "");
	assert_ip(lease.server_id, "10.0.0.1");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build_discover),
		cmocka_unit_test(test_build_request),
		cmocka_unit_test(test_build_nospace),
		cmocka_unit_test(test_parse_offer),
		cmocka_unit_test(test_parse_ack),
		cmocka_unit_test(test_parse_nak),
		cmocka_unit_test(test_parse_header_strings),
		cmocka_unit_test(test_parse_bad_header),
		cmocka_unit_test(test_parse_msg_type),
		cmocka_unit_test(test_parse_not_ours),
		cmocka_unit_test(test_parse_truncated),
		cmocka_unit_test(test_parse_option_overrun),
		cmocka_unit_test(test_parse_no_end),
		cmocka_unit_test(test_parse_pad),
		cmocka_unit_test(test_parse_overload),
		cmocka_unit_test(test_parse_overload_bad),
		cmocka_unit_test(test_parse_hostname),
		cmocka_unit_test(test_parse_lengths),
		cmocka_unit_test(test_parse_mask),
		cmocka_unit_test(test_parse_text),
		cmocka_unit_test(test_parse_concat),
		cmocka_unit_test(test_parse_site),
		cmocka_unit_test(test_parse_reject_overflow),
		cmocka_unit_test(test_option_name),
		cmocka_unit_test(test_ipudp_roundtrip),
		cmocka_unit_test(test_ipudp_truncated),
		cmocka_unit_test(test_ipudp_bad),
		cmocka_unit_test(test_ipudp_trailing),
	};

	return cmocka_run_group_tests_name("dhcp", tests, NULL, NULL);
}
