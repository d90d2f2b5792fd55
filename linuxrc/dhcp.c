// SPDX-License-Identifier: MIT
/*
 * DHCP messages (RFC 2131, options RFC 2132) and their IPv4/UDP framing.
 *
 * Pure functions: bytes in, struct out, or the other way round.  Nothing here
 * touches a socket, a clock or the log, so the host builds it for the unit
 * tests and the fuzzer.
 *
 * Untrusted bytes are read through a cursor whose remaining length is signed:
 * an overrun shows up as a negative count instead of wrapping round.  Each
 * layer is bounded by its own length field, innermost first: the IP total
 * length trims the frame, the UDP length trims the IP payload, the option
 * length trims nothing but must fit its area.
 *
 * Decisions beyond the RFCs:
 *  - An option area without an end option (255) is accepted when its last
 *    option ends exactly at the area's end.  RFC 2131 section 4.1 asks the
 *    server for an end option, but sd-dhcp, dhcpleased and iPXE all accept its
 *    absence and nothing is lost by doing so: every option is still bounded.
 *    An option that runs past the end of its area, on the other hand, makes
 *    the whole message -EBADMSG: it was truncated or forged, and what went
 *    missing (a router, a lease time) cannot be told.
 *  - Every repeated option is concatenated before its length rule is applied
 *    (RFC 3396 section 5 does not limit this to long options).  A repeated
 *    fixed-size option therefore fails its length check and is refused.
 *  - Text options may carry trailing NUL bytes (some servers terminate them,
 *    against RFC 2132 section 2); those are dropped, any other byte outside
 *    printable ASCII refuses the option.
 *  - Host name (12) and domain name (15) must be RFC 1123 names: they end up
 *    in files the real system reads.
 */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "dhcp.h"

/* RFC 2131 section 2, figure 1: the fixed-format part of a message. */
#define BOOTP_OFF_OP		0
#define BOOTP_OFF_HTYPE		1
#define BOOTP_OFF_HLEN		2
#define BOOTP_OFF_XID		4
#define BOOTP_OFF_SECS		8
#define BOOTP_OFF_FLAGS		10
#define BOOTP_OFF_YIADDR	16
#define BOOTP_OFF_SIADDR	20
#define BOOTP_OFF_CHADDR	28
#define BOOTP_OFF_SNAME		44
#define BOOTP_OFF_FILE		108
#define BOOTP_OFF_COOKIE	236
#define BOOTP_OFF_OPTIONS	240
#define BOOTP_SNAME_LEN		64
#define BOOTP_FILE_LEN		128
#define BOOTP_MIN_LEN		300	/* RFC 1542 section 2.1: relays may drop shorter ones */

#define BOOTREQUEST		1
#define BOOTREPLY		2
#define HTYPE_ETHER		1	/* RFC 1700, "Hardware Type" */
#define HLEN_ETHER		6
#define BOOTP_FLAG_BROADCAST	0x8000	/* RFC 2131 section 4.1: no address yet to unicast to */
#define DHCP_MAX_MSG_SIZE	1500	/* option 57; RFC 2132 section 9.10: at least 576 */

/* RFC 2131 section 3: 99.130.83.99 */
static const uint8_t dhcp_cookie[4] = { 99, 130, 83, 99 };

/* RFC 2132 option codes this file knows by name. */
enum {
	DHO_PAD = 0,
	DHO_SUBNET_MASK = 1,
	DHO_ROUTER = 3,
	DHO_DNS = 6,
	DHO_HOSTNAME = 12,
	DHO_DOMAIN = 15,
	DHO_ROOT_PATH = 17,
	DHO_BROADCAST = 28,
	DHO_REQUESTED_ADDR = 50,
	DHO_LEASE_TIME = 51,
	DHO_OVERLOAD = 52,
	DHO_MSG_TYPE = 53,
	DHO_SERVER_ID = 54,
	DHO_PARAM_LIST = 55,
	DHO_MESSAGE = 56,
	DHO_MAX_MSG_SIZE = 57,
	DHO_RENEWAL_TIME = 58,
	DHO_REBINDING_TIME = 59,
	DHO_VENDOR_CLASS = 60,
	DHO_CLIENT_ID = 61,
	DHO_TFTP_SERVER = 66,
	DHO_BOOTFILE = 67,
	DHO_END = 255,
};

/* RFC 2132 section 9.3 */
#define OVERLOAD_FILE	1
#define OVERLOAD_SNAME	2

/* ---------------------------------------------------------------- bytes */

static uint16_t get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static bool is_print(uint8_t c)
{
	return c >= 0x20 && c <= 0x7e;
}

static bool is_alnum(uint8_t c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* ---------------------------------------------------------------- cursors */

/* Read side: remaining is signed so that a bad length cannot wrap it. */
struct cursor {
	const uint8_t *p;
	ssize_t remaining;
};

static int cur_u8(struct cursor *c, uint8_t *v)
{
	if (c->remaining < 1)
		return -EBADMSG;
	*v = *c->p++;
	c->remaining--;
	return 0;
}

static int cur_take(struct cursor *c, size_t n, const uint8_t **data)
{
	if ((ssize_t)n > c->remaining)
		return -EBADMSG;
	*data = c->p;
	c->p += n;
	c->remaining -= (ssize_t)n;
	return 0;
}

/*
 * Write side: once remaining goes negative nothing more is written and the
 * builder reports -ENOSPC at the end, so the option code reads straight.
 */
struct wcursor {
	uint8_t *p;
	ssize_t remaining;
};

static void wput(struct wcursor *w, const void *data, size_t n)
{
	if (w->remaining < (ssize_t)n) {
		w->remaining = -1;
		return;
	}
	memcpy(w->p, data, n);
	w->p += n;
	w->remaining -= (ssize_t)n;
}

static void wput_zero(struct wcursor *w, size_t n)
{
	if (w->remaining < (ssize_t)n) {
		w->remaining = -1;
		return;
	}
	memset(w->p, 0, n);
	w->p += n;
	w->remaining -= (ssize_t)n;
}

static void wput_opt(struct wcursor *w, uint8_t code, const void *data, uint8_t len)
{
	uint8_t head[2] = { code, len };

	wput(w, head, sizeof(head));
	wput(w, data, len);
}

/* ---------------------------------------------------------------- building */

/*
 * What the linuxrc asks for (RFC 2132 section 9.8).  ISC dhcpd sends a
 * site-local option only when the client lists it, so the DIM codes are here.
 */
static const uint8_t dhcp_param_list[] = {
	DHO_SUBNET_MASK, DHO_ROUTER, DHO_DNS, DHO_HOSTNAME, DHO_DOMAIN, DHO_ROOT_PATH,
	DHO_BROADCAST, DHO_LEASE_TIME, DHO_SERVER_ID, DHO_RENEWAL_TIME, DHO_REBINDING_TIME,
	DHO_TFTP_SERVER, DHO_BOOTFILE,
	DIM_OPT_RW, DIM_OPT_MODE, DIM_OPT_SERVERS, DIM_OPT_RWIMG, DIM_OPT_NFS, DIM_OPT_RODIRS,
};

ssize_t dhcp_build(const struct dhcp_request *req, uint8_t *buf, size_t size)
{
	uint8_t hdr[BOOTP_OFF_OPTIONS] = { 0 };
	uint8_t u8, u16[2], end = DHO_END;
	struct wcursor w = { buf, size > SSIZE_MAX ? SSIZE_MAX : (ssize_t)size };
	size_t vlen = 0, len;

	if (req->msg_type < DHCPDISCOVER || req->msg_type > DHCPINFORM)
		return -EINVAL;
	if (req->vendor_class) {
		vlen = strlen(req->vendor_class);
		if (vlen < 1 || vlen > 255)	/* RFC 2132 section 9.13: length >= 1 */
			return -EINVAL;
	}

	hdr[BOOTP_OFF_OP] = BOOTREQUEST;
	hdr[BOOTP_OFF_HTYPE] = HTYPE_ETHER;
	hdr[BOOTP_OFF_HLEN] = HLEN_ETHER;
	put_be32(hdr + BOOTP_OFF_XID, req->xid);
	put_be16(hdr + BOOTP_OFF_SECS, req->secs);
	put_be16(hdr + BOOTP_OFF_FLAGS, BOOTP_FLAG_BROADCAST);
	memcpy(hdr + BOOTP_OFF_CHADDR, req->chaddr, HLEN_ETHER);
	memcpy(hdr + BOOTP_OFF_COOKIE, dhcp_cookie, sizeof(dhcp_cookie));
	wput(&w, hdr, sizeof(hdr));

	u8 = req->msg_type;
	wput_opt(&w, DHO_MSG_TYPE, &u8, 1);
	if (req->requested.s_addr)
		wput_opt(&w, DHO_REQUESTED_ADDR, &req->requested.s_addr, 4);
	if (req->server_id.s_addr)
		wput_opt(&w, DHO_SERVER_ID, &req->server_id.s_addr, 4);
	put_be16(u16, DHCP_MAX_MSG_SIZE);
	wput_opt(&w, DHO_MAX_MSG_SIZE, u16, 2);
	if (vlen)
		wput_opt(&w, DHO_VENDOR_CLASS, req->vendor_class, (uint8_t)vlen);
	wput_opt(&w, DHO_PARAM_LIST, dhcp_param_list, sizeof(dhcp_param_list));
	wput(&w, &end, 1);

	if (w.remaining < 0)
		return -ENOSPC;
	len = (size_t)(w.p - buf);
	if (len < BOOTP_MIN_LEN)
		wput_zero(&w, BOOTP_MIN_LEN - len);	/* pad options (RFC 2132 section 3.1) */
	if (w.remaining < 0)
		return -ENOSPC;
	return w.p - buf;
}

/* ---------------------------------------------------------------- options */

/* An option area: the options field, or file/sname when overloaded. */
struct opt_area {
	const uint8_t *p;
	size_t len;
};

struct dhcp_opt {
	uint8_t code;
	uint8_t len;
	const uint8_t *data;
};

/*
 * The next option of an area: 1 with *opt filled, 0 at the end option or the
 * end of the area, -EBADMSG when an option's length runs past the area.
 */
static int opt_next(struct cursor *c, struct dhcp_opt *opt)
{
	uint8_t code, len;

	for (;;) {
		if (c->remaining <= 0)
			return 0;	/* no end option: accepted, see the top */
		if (cur_u8(c, &code))
			return -EBADMSG;
		if (code == DHO_END) {
			c->remaining = 0;	/* what follows is padding */
			return 0;
		}
		if (code != DHO_PAD)	/* RFC 2132 section 3.1: pad has no length */
			break;
	}
	if (cur_u8(c, &len) || cur_take(c, len, &opt->data))
		return -EBADMSG;
	opt->code = code;
	opt->len = len;
	return 1;
}

static struct cursor area_cursor(const struct opt_area *a)
{
	struct cursor c = { a->p, (ssize_t)a->len };

	return c;
}

/* Walk an area once to know it is well-formed before anything is taken from it. */
static int area_check(const struct opt_area *a)
{
	struct cursor c = area_cursor(a);
	struct dhcp_opt opt;
	int rc;

	while ((rc = opt_next(&c, &opt)) > 0)
		;
	return rc;
}

/*
 * Gather option code from the areas in the order RFC 2131 section 4.1 gives
 * (options, file, sname), concatenating repeated instances (RFC 3396).  Up to
 * size bytes are copied to out; the return value is the full length, which
 * may be larger, or -ENOENT when the option is absent.
 */
static ssize_t opt_gather(const struct opt_area *areas, unsigned n_areas, uint8_t code,
			  uint8_t *out, size_t size)
{
	struct dhcp_opt opt;
	size_t total = 0;
	bool found = false;
	unsigned i;
	int rc;

	for (i = 0; i < n_areas; i++) {
		struct cursor c = area_cursor(&areas[i]);

		while ((rc = opt_next(&c, &opt)) > 0) {
			if (opt.code != code)
				continue;
			if (total + opt.len <= size)
				memcpy(out + total, opt.data, opt.len);
			total += opt.len;
			found = true;
		}
		if (rc < 0)
			return rc;	/* area_check() ran first; cannot happen */
	}
	return found ? (ssize_t)total : -ENOENT;
}

/* How an option's value is checked and where it is kept. */
enum opt_kind {
	OPT_CHECK,	/* length checked, value not kept */
	OPT_ADDR,	/* one IPv4 address */
	OPT_MASK,	/* a contiguous netmask */
	OPT_ADDR_FIRST,	/* address list, the first one kept */
	OPT_DNS,	/* address list, up to DHCP_MAX_DNS kept */
	OPT_U8,
	OPT_U32,
	OPT_TEXT,	/* printable ASCII */
	OPT_NAME,	/* RFC 1123 host or domain name */
	OPT_SITE_TEXT,	/* site option holding printable text */
	OPT_SITE_ADDRS,	/* site option holding an address list */
	OPT_SITE_RAW,	/* site option of unknown use, kept as it came */
};

/* Valid lengths: min <= len <= max, and len a multiple of step when step is set. */
struct opt_rule {
	uint8_t code;
	uint8_t kind;
	uint16_t min;
	uint16_t max;
	uint8_t step;
	uint16_t field;		/* offsetof(struct dhcp_lease, ...) */
	uint16_t size;		/* sizeof that field */
	const char *name;
};

#define LEASE_FIELD(f) offsetof(struct dhcp_lease, f), sizeof(((struct dhcp_lease *)0)->f)
#define NO_FIELD 0, 0
#define OPT_MAX DHCP_SITE_MAX	/* longest concatenated value looked at */

/*
 * The options a reply is read for, each with its length rule and the section
 * of RFC 2132 (or RFC 2131) that states it.  Text limits are the size of the
 * field that keeps the value, less its NUL.
 */
static const struct opt_rule opt_rules[] = {
	/* 3.3: exactly 4 */
	{ DHO_SUBNET_MASK, OPT_MASK, 4, 4, 0, LEASE_FIELD(netmask), "subnet-mask" },
	/* 3.5: 4 or more, a multiple of 4 */
	{ DHO_ROUTER, OPT_ADDR_FIRST, 4, OPT_MAX, 4, LEASE_FIELD(router), "router" },
	/* 3.8: 4 or more, a multiple of 4 */
	{ DHO_DNS, OPT_DNS, 4, OPT_MAX, 4, LEASE_FIELD(dns), "dns" },
	/* 3.14: 1 or more; RFC 1123 section 2.1 syntax, and it must fit the field */
	{ DHO_HOSTNAME, OPT_NAME, 1, OPT_MAX, 0, LEASE_FIELD(hostname), "hostname" },
	/* 3.17: 1 or more */
	{ DHO_DOMAIN, OPT_NAME, 1, OPT_MAX, 0, LEASE_FIELD(domain), "domain" },
	/* 3.19: 1 or more */
	{ DHO_ROOT_PATH, OPT_TEXT, 1, 255, 0, LEASE_FIELD(root_path), "root-path" },
	/* 5.3: exactly 4 */
	{ DHO_BROADCAST, OPT_ADDR, 4, 4, 0, LEASE_FIELD(broadcast), "broadcast" },
	/* 9.2: exactly 4 */
	{ DHO_LEASE_TIME, OPT_U32, 4, 4, 0, LEASE_FIELD(lease_secs), "lease-time" },
	/* 9.6: exactly 1 */
	{ DHO_MSG_TYPE, OPT_U8, 1, 1, 0, LEASE_FIELD(msg_type), "message-type" },
	/* 9.7: exactly 4 */
	{ DHO_SERVER_ID, OPT_ADDR, 4, 4, 0, LEASE_FIELD(server_id), "server-id" },
	/* 9.9: 1 or more */
	{ DHO_MESSAGE, OPT_TEXT, 1, 255, 0, LEASE_FIELD(message), "message" },
	/* 9.11: exactly 4 */
	{ DHO_RENEWAL_TIME, OPT_CHECK, 4, 4, 0, NO_FIELD, "renewal-time" },
	/* 9.12: exactly 4 */
	{ DHO_REBINDING_TIME, OPT_CHECK, 4, 4, 0, NO_FIELD, "rebinding-time" },
	/* 9.4: 1 or more */
	{ DHO_TFTP_SERVER, OPT_CHECK, 1, 255, 0, NO_FIELD, "tftp-server" },
	/* 9.5: 1 or more */
	{ DHO_BOOTFILE, OPT_TEXT, 1, 255, 0, LEASE_FIELD(bootfile), "bootfile" },
	/* contract.h; text 1 or more, kept NUL-terminated in the blob */
	{ DIM_OPT_RW, OPT_SITE_TEXT, 1, DHCP_SITE_MAX - 1, 0, NO_FIELD, "dim-rw" },
	{ DIM_OPT_MODE, OPT_SITE_TEXT, 1, DHCP_SITE_MAX - 1, 0, NO_FIELD, "dim-mode" },
	/* contract.h; an address list: 4 or more, a multiple of 4 */
	{ DIM_OPT_SERVERS, OPT_SITE_ADDRS, 4, DHCP_SITE_MAX, 4, NO_FIELD, "dim-servers" },
	{ DIM_OPT_RWIMG, OPT_SITE_TEXT, 1, DHCP_SITE_MAX - 1, 0, NO_FIELD, "dim-rwimg" },
	{ DIM_OPT_NFS, OPT_SITE_TEXT, 1, DHCP_SITE_MAX - 1, 0, NO_FIELD, "dim-nfs" },
	{ DIM_OPT_RODIRS, OPT_SITE_TEXT, 1, DHCP_SITE_MAX - 1, 0, NO_FIELD, "dim-rodirs" },
};

/* Site options 230..254 have no meaning yet: any length that fits is kept. */
static const struct opt_rule opt_rule_site = {
	0, OPT_SITE_RAW, 0, DHCP_SITE_MAX, 0, NO_FIELD, NULL
};

/* RFC 2132 section 9.3: exactly 1, value 1..3; read from the options field only. */
static const struct opt_rule opt_rule_overload = {
	DHO_OVERLOAD, OPT_U8, 1, 1, 0, NO_FIELD, "overload"
};

/* Names of options the client sends but does not parse. */
static const struct {
	uint8_t code;
	const char *name;
} opt_names[] = {
	{ DHO_PAD, "pad" },
	{ DHO_REQUESTED_ADDR, "requested-address" },
	{ DHO_OVERLOAD, "overload" },
	{ DHO_PARAM_LIST, "parameter-list" },
	{ DHO_MAX_MSG_SIZE, "max-message-size" },
	{ DHO_VENDOR_CLASS, "vendor-class" },
	{ DHO_CLIENT_ID, "client-id" },
	{ DHO_END, "end" },
};

const char *dhcp_option_name(uint8_t code, char *buf, size_t size)
{
	size_t i;

	for (i = 0; i < sizeof(opt_rules) / sizeof(opt_rules[0]); i++)
		if (opt_rules[i].code == code)
			return opt_rules[i].name;
	for (i = 0; i < sizeof(opt_names) / sizeof(opt_names[0]); i++)
		if (opt_names[i].code == code)
			return opt_names[i].name;
	if (!buf || !size)
		return "option";
	snprintf(buf, size, "option %u", code);
	return buf;
}

static void lease_reject(struct dhcp_lease *lease, uint8_t code, int err)
{
	if (lease->n_rejects < DHCP_MAX_REJECTS) {
		lease->rejects[lease->n_rejects].code = code;
		lease->rejects[lease->n_rejects].err = err;
		lease->n_rejects++;
	}
}

static bool rule_len_ok(const struct opt_rule *r, size_t len)
{
	if (len < r->min || len > r->max)
		return false;
	return !r->step || len % r->step == 0;
}

/* Printable ASCII after dropping trailing NULs; *len is shortened to the text. */
static bool text_ok(const uint8_t *data, size_t *len)
{
	size_t i;

	while (*len > 0 && data[*len - 1] == '\0')
		(*len)--;
	if (*len == 0)
		return false;
	for (i = 0; i < *len; i++)
		if (!is_print(data[i]))
			return false;
	return true;
}

/*
 * RFC 1123 section 2.1 (after RFC 952): labels of letters, digits and '-',
 * 1..63 long, neither starting nor ending with '-', joined by single dots.
 */
static bool name_ok(const uint8_t *s, size_t len)
{
	size_t i, label = 0;

	for (i = 0; i < len; i++) {
		if (s[i] == '.') {
			if (label == 0 || s[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!is_alnum(s[i]) && s[i] != '-')
			return false;
		if (label == 0 && s[i] == '-')
			return false;
		if (++label > 63)
			return false;
	}
	return label > 0 && s[len - 1] != '-';
}

static bool mask_ok(const uint8_t *data)
{
	uint32_t host = ~get_be32(data);

	return (host & (host + 1)) == 0;	/* ones, then zeros */
}

/* Check one gathered value against its rule and keep it.  0 or the reject's error. */
static int opt_apply(const struct opt_rule *r, uint8_t code, const uint8_t *data, size_t len,
		     struct dhcp_lease *lease)
{
	uint8_t *field = (uint8_t *)lease + r->field;
	struct dhcp_blob *blob = NULL;
	size_t i;

	if (!rule_len_ok(r, len))
		return -EBADMSG;
	if (code >= DIM_OPT_FIRST)
		blob = &lease->site[code - DIM_OPT_FIRST];

	switch (r->kind) {
	case OPT_CHECK:
		return 0;
	case OPT_MASK:
	case OPT_ADDR:
	case OPT_ADDR_FIRST:
		if (r->kind == OPT_MASK && !mask_ok(data))
			return -EINVAL;
		memcpy(field, data, 4);
		return 0;
	case OPT_DNS:
		for (i = 0; i < len / 4 && i < DHCP_MAX_DNS; i++)
			memcpy(&lease->dns[i], data + 4 * i, 4);
		lease->n_dns = (unsigned)i;
		return 0;
	case OPT_U8:
		*field = data[0];
		return 0;
	case OPT_U32: {
		uint32_t v = get_be32(data);

		memcpy(field, &v, sizeof(v));
		return 0;
	}
	case OPT_TEXT:
	case OPT_NAME:
		if (!text_ok(data, &len))
			return -EINVAL;
		if (r->kind == OPT_NAME && !name_ok(data, len))
			return -EINVAL;
		if (len >= r->size)
			return r->kind == OPT_NAME ? -EINVAL : -EBADMSG;
		memcpy(field, data, len);
		field[len] = '\0';
		return 0;
	case OPT_SITE_TEXT:
	case OPT_SITE_ADDRS:
	case OPT_SITE_RAW:
		if (!blob || (r->kind == OPT_SITE_TEXT && !text_ok(data, &len)))
			return -EINVAL;
		memcpy(blob->data, data, len);
		blob->len = (uint16_t)len;
		blob->present = true;
		return 0;
	}
	return -EINVAL;
}

static void opt_parse_one(const struct opt_rule *r, uint8_t code, const struct opt_area *areas,
			  unsigned n_areas, struct dhcp_lease *lease)
{
	uint8_t val[OPT_MAX];
	ssize_t len;
	int rc;

	len = opt_gather(areas, n_areas, code, val, sizeof(val));
	if (len == -ENOENT)
		return;
	if (len < 0 || (size_t)len > sizeof(val))
		rc = -EBADMSG;
	else
		rc = opt_apply(r, code, val, (size_t)len, lease);
	if (rc)
		lease_reject(lease, code, rc);
}

/* RFC 2132 section 9.3: which of file and sname hold options.  0 when none. */
static unsigned opt_overload(const struct opt_area *options, struct dhcp_lease *lease)
{
	uint8_t val[OPT_MAX];
	ssize_t len;

	len = opt_gather(options, 1, DHO_OVERLOAD, val, sizeof(val));
	if (len == -ENOENT)
		return 0;
	if (len < 0 || !rule_len_ok(&opt_rule_overload, (size_t)len)) {
		lease_reject(lease, DHO_OVERLOAD, -EBADMSG);
		return 0;
	}
	if (val[0] < 1 || val[0] > 3) {
		lease_reject(lease, DHO_OVERLOAD, -EINVAL);
		return 0;
	}
	return val[0];
}

/*
 * A BOOTP string field (sname, file): taken only when NUL-terminated inside
 * the field and printable, otherwise left "" (it is no option to refuse).
 */
static void header_string(const uint8_t *field, size_t size, char *out, size_t out_size)
{
	const uint8_t *nul = memchr(field, '\0', size);
	size_t len, i;

	if (!nul)
		return;
	len = (size_t)(nul - field);
	if (len >= out_size)
		return;
	for (i = 0; i < len; i++)
		if (!is_print(field[i]))
			return;
	memcpy(out, field, len);
	out[len] = '\0';
}

int dhcp_parse(const uint8_t *buf, size_t len, uint32_t xid, const uint8_t chaddr[6],
	       struct dhcp_lease *lease)
{
	struct opt_area areas[3];
	unsigned n_areas = 0, overload, i;
	int rc;

	memset(lease, 0, sizeof(*lease));
	/* a UDP payload is never longer; keeps every length below in range */
	if (len < BOOTP_OFF_OPTIONS || len > 65535)
		return -EBADMSG;
	if (buf[BOOTP_OFF_OP] != BOOTREPLY || buf[BOOTP_OFF_HTYPE] != HTYPE_ETHER ||
	    buf[BOOTP_OFF_HLEN] != HLEN_ETHER ||
	    memcmp(buf + BOOTP_OFF_COOKIE, dhcp_cookie, sizeof(dhcp_cookie)))
		return -EBADMSG;
	/* Every blade sees every broadcast reply: only ours are read further. */
	lease->xid = get_be32(buf + BOOTP_OFF_XID);
	if (lease->xid != xid || memcmp(buf + BOOTP_OFF_CHADDR, chaddr, HLEN_ETHER))
		return -ESRCH;
	memcpy(&lease->yiaddr, buf + BOOTP_OFF_YIADDR, 4);
	memcpy(&lease->siaddr, buf + BOOTP_OFF_SIADDR, 4);

	/* RFC 2131 section 4.1: options first, then file, then sname if overloaded. */
	areas[n_areas++] = (struct opt_area){ buf + BOOTP_OFF_OPTIONS, len - BOOTP_OFF_OPTIONS };
	rc = area_check(&areas[0]);
	if (rc)
		return rc;
	overload = opt_overload(&areas[0], lease);
	if (overload & OVERLOAD_FILE)
		areas[n_areas++] = (struct opt_area){ buf + BOOTP_OFF_FILE, BOOTP_FILE_LEN };
	if (overload & OVERLOAD_SNAME)
		areas[n_areas++] = (struct opt_area){ buf + BOOTP_OFF_SNAME, BOOTP_SNAME_LEN };
	for (i = 1; i < n_areas; i++) {
		rc = area_check(&areas[i]);
		if (rc)
			return rc;
	}

	for (i = 0; i < sizeof(opt_rules) / sizeof(opt_rules[0]); i++)
		opt_parse_one(&opt_rules[i], opt_rules[i].code, areas, n_areas, lease);
	for (i = DIM_OPT_RODIRS + 1; i <= DIM_OPT_LAST; i++)
		opt_parse_one(&opt_rule_site, (uint8_t)i, areas, n_areas, lease);

	switch (lease->msg_type) {
	case DHCPOFFER:
	case DHCPACK:
	case DHCPNAK:
		break;
	default:
		return -EBADMSG;	/* absent, refused, or not a reply */
	}

	if (!(overload & OVERLOAD_SNAME))
		header_string(buf + BOOTP_OFF_SNAME, BOOTP_SNAME_LEN, lease->sname,
			      sizeof(lease->sname));
	if (!(overload & OVERLOAD_FILE) && !lease->bootfile[0])
		header_string(buf + BOOTP_OFF_FILE, BOOTP_FILE_LEN, lease->bootfile,
			      sizeof(lease->bootfile));
	return 0;
}

/* ---------------------------------------------------------------- IPv4 + UDP */

#define IPV4_HDR_LEN	20
#define UDP_HDR_LEN	8
#define IPV4_PROTO_UDP	17
#define IPV4_MF		0x2000	/* RFC 791 section 3.1: more fragments */
#define IPV4_OFFMASK	0x1fff
#define IPV4_TTL		64	/* RFC 1700 default */

/* RFC 1071 one's complement sum; a trailing odd byte is padded with zero. */
static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	while (len > 1) {
		sum += get_be16(p);
		p += 2;
		len -= 2;
	}
	if (len)
		sum += (uint32_t)p[0] << 8;
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* RFC 768: the sum over the pseudo header and the UDP header and data. */
static uint16_t udp_sum(const uint8_t *ip, const uint8_t *udp, size_t ulen)
{
	uint8_t pseudo[12];

	memcpy(pseudo, ip + 12, 8);	/* source and destination address */
	pseudo[8] = 0;
	pseudo[9] = IPV4_PROTO_UDP;
	put_be16(pseudo + 10, (uint16_t)ulen);
	return csum_fold(csum_add(csum_add(0, pseudo, sizeof(pseudo)), udp, ulen));
}

ssize_t ipudp_build(uint8_t *buf, size_t size, struct in_addr src, struct in_addr dst,
		    uint16_t sport, uint16_t dport, const uint8_t *payload, size_t plen)
{
	size_t total = IPV4_HDR_LEN + UDP_HDR_LEN + plen;
	uint8_t *ip = buf, *udp = buf + IPV4_HDR_LEN;
	uint16_t sum;

	if (plen > 65535 - IPV4_HDR_LEN - UDP_HDR_LEN)
		return -EMSGSIZE;
	if (size < total)
		return -ENOSPC;

	memset(ip, 0, IPV4_HDR_LEN + UDP_HDR_LEN);
	ip[0] = 0x45;		/* version 4, IHL 5 words */
	put_be16(ip + 2, (uint16_t)total);
	ip[8] = IPV4_TTL;
	ip[9] = IPV4_PROTO_UDP;
	memcpy(ip + 12, &src.s_addr, 4);
	memcpy(ip + 16, &dst.s_addr, 4);
	put_be16(ip + 10, (uint16_t)~csum_fold(csum_add(0, ip, IPV4_HDR_LEN)));

	put_be16(udp, sport);
	put_be16(udp + 2, dport);
	put_be16(udp + 4, (uint16_t)(UDP_HDR_LEN + plen));
	memmove(udp + UDP_HDR_LEN, payload, plen);
	sum = (uint16_t)~udp_sum(ip, udp, UDP_HDR_LEN + plen);
	put_be16(udp + 6, sum ? sum : 0xffff);	/* RFC 768: 0 means "no checksum" */
	return (ssize_t)total;
}

/*
 * Returns -EBADMSG for a packet that is malformed or corrupt (checksums), and
 * -ESRCH for a sound one that is simply not UDP to dport: the client drops
 * both, but logs only the first.
 */
int ipudp_parse(const uint8_t *pkt, size_t len, uint16_t dport, bool csum_unverified,
		const uint8_t **payload, size_t *plen)
{
	size_t ihl, total, ulen;
	const uint8_t *udp;

	/* RFC 791 section 3.1 */
	if (len < IPV4_HDR_LEN || pkt[0] >> 4 != 4)
		return -EBADMSG;
	ihl = (size_t)(pkt[0] & 0x0f) * 4;
	total = get_be16(pkt + 2);
	if (ihl < IPV4_HDR_LEN || ihl > len)
		return -EBADMSG;
	if (total < ihl || total > len)
		return -EBADMSG;
	len = total;		/* drop the link layer's padding */
	if (csum_fold(csum_add(0, pkt, ihl)) != 0xffff)
		return -EBADMSG;
	if (get_be16(pkt + 6) & (IPV4_MF | IPV4_OFFMASK))
		return -EBADMSG;	/* a fragment: DHCP replies never need them */
	if (pkt[9] != IPV4_PROTO_UDP)
		return -ESRCH;

	/* RFC 768 */
	udp = pkt + ihl;
	if (len - ihl < UDP_HDR_LEN)
		return -EBADMSG;
	ulen = get_be16(udp + 4);
	if (ulen < UDP_HDR_LEN || ulen > len - ihl)
		return -EBADMSG;
	if (get_be16(udp + 2) != dport)
		return -ESRCH;
	/*
	 * Zero: the sender computed no checksum.  csum_unverified: the packet
	 * came from this host (a veth peer, say) with the checksum left for
	 * hardware that never ran, so the field holds only a partial sum.
	 */
	if (get_be16(udp + 6) && !csum_unverified && udp_sum(pkt, udp, ulen) != 0xffff)
		return -EBADMSG;

	*payload = udp + UDP_HDR_LEN;
	*plen = ulen - UDP_HDR_LEN;
	return 0;
}
