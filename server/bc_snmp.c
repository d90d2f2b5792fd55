/* SPDX-License-Identifier: MIT */
/*
 * The BladeCenter management module over SNMP, through the net-snmp library
 * (the Single Session API: one session per worker process).
 *
 * Objects (IBM BLADE-MIB, numeric OIDs under 1.3.6.1.4.1.2.3.51.2; the MIB
 * text is not ours to ship): bladeSystemStatusTable (22.1.5.1.1.<col>.<bay>:
 * 3 bladeExists, 4 bladePowerState, 5 bladeHealthState, 6 bladeName,
 * 52 bladeInventoryReady), bladePowerRestartTable (22.1.6.1.1.<col>.<bay>:
 * SET 7 powerOnOffBlade 0 off 1 on 2 softoff, 8 restartBlade 1), the MAC
 * VPD (2.21.4.2.1.<n+1>.<bay> = bladeMACAddress<n>Vpd), the blade VPD
 * (2.21.4.1.1.<col>.<bay>: 6 serial, 7 machine type, 8 UUID, 12 model) and
 * the chassis (22.4.3.0 name, 22.4.25.0 installed bays, 2.21.1.1.<n>.0 VPD).
 *
 * As xCAT does, bladeExists is read before anything is done to a bay: an
 * empty bay is refused, never sent a SET.  A module that stops answering
 * fails the bays not yet done at once instead of timing out once per bay.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>

#include "mac.h"
#include "power.h"

#define BC_OID		1, 3, 6, 1, 4, 1, 2, 3, 51, 2
#define BC_LEN		10
#define MAX_VARS	24	/* varbinds per request: well inside one UDP datagram */
#define READY_POLL_MS	1000

enum bc_obj {
	O_EXISTS, O_POWER, O_HEALTH, O_NAME, O_READY,
	O_SET_POWER, O_SET_RESTART,
	O_MAC1,			/* .. O_MAC1 + 7 */
	O_SERIAL = O_MAC1 + 8, O_TYPE, O_UUID, O_MODEL,
	O_CH_NAME, O_CH_BAYS, O_CH_INSTALLED, O_CH_MTYPE, O_CH_MODEL, O_CH_SERIAL,
	O_N
};

/* The OID of each object after the IBM prefix; per-bay ones get the bay appended. */
static const struct bc_oid {
	oid sub[6];
	unsigned len;
	bool per_bay;
	const char *name;
} objs[O_N] = {
	[O_EXISTS] = { { 22, 1, 5, 1, 1, 3 }, 6, true, "bladeExists" },
	[O_POWER] = { { 22, 1, 5, 1, 1, 4 }, 6, true, "bladePowerState" },
	[O_HEALTH] = { { 22, 1, 5, 1, 1, 5 }, 6, true, "bladeHealthState" },
	[O_NAME] = { { 22, 1, 5, 1, 1, 6 }, 6, true, "bladeName" },
	[O_READY] = { { 22, 1, 5, 1, 1, 52 }, 6, true, "bladeInventoryReady" },
	[O_SET_POWER] = { { 22, 1, 6, 1, 1, 7 }, 6, true, "powerOnOffBlade" },
	[O_SET_RESTART] = { { 22, 1, 6, 1, 1, 8 }, 6, true, "restartBlade" },
	[O_MAC1 + 0] = { { 2, 21, 4, 2, 1, 2 }, 6, true, "bladeMACAddress1Vpd" },
	[O_MAC1 + 1] = { { 2, 21, 4, 2, 1, 3 }, 6, true, "bladeMACAddress2Vpd" },
	[O_MAC1 + 2] = { { 2, 21, 4, 2, 1, 4 }, 6, true, "bladeMACAddress3Vpd" },
	[O_MAC1 + 3] = { { 2, 21, 4, 2, 1, 5 }, 6, true, "bladeMACAddress4Vpd" },
	[O_MAC1 + 4] = { { 2, 21, 4, 2, 1, 6 }, 6, true, "bladeMACAddress5Vpd" },
	[O_MAC1 + 5] = { { 2, 21, 4, 2, 1, 7 }, 6, true, "bladeMACAddress6Vpd" },
	[O_MAC1 + 6] = { { 2, 21, 4, 2, 1, 8 }, 6, true, "bladeMACAddress7Vpd" },
	[O_MAC1 + 7] = { { 2, 21, 4, 2, 1, 9 }, 6, true, "bladeMACAddress8Vpd" },
	[O_SERIAL] = { { 2, 21, 4, 1, 1, 6 }, 6, true, "bladeSerialNumberVpd" },
	[O_TYPE] = { { 2, 21, 4, 1, 1, 7 }, 6, true, "bladeMachineTypeVpd" },
	[O_UUID] = { { 2, 21, 4, 1, 1, 8 }, 6, true, "bladeUUIDVpd" },
	[O_MODEL] = { { 2, 21, 4, 1, 1, 12 }, 6, true, "bladeModelVpd" },
	[O_CH_NAME] = { { 22, 4, 3, 0 }, 4, false, "chassisName" },
	[O_CH_BAYS] = { { 22, 4, 19, 0 }, 4, false, "chassisNoOfPBsSupported" },
	[O_CH_INSTALLED] = { { 22, 4, 25, 0 }, 4, false, "chassisPBsInstalled" },
	[O_CH_MTYPE] = { { 2, 21, 1, 1, 1, 0 }, 6, false, "bladeCenterVpdMachineType" },
	[O_CH_MODEL] = { { 2, 21, 1, 1, 2, 0 }, 6, false, "bladeCenterVpdMachineModel" },
	[O_CH_SERIAL] = { { 2, 21, 1, 1, 3, 0 }, 6, false, "bladeCenterSerialNumber" },
};

static const char *const health_names[] = {
	"unknown", "good", "warning", "critical", "kernelMode", "discovering", "commError",
	"noPower", "flashing", "initFailure", "insufficientPower", "powerDenied",
};

/* A value read: an integer, or a string (cut to fit). */
struct bc_val {
	bool have;
	long i;
	char s[128];
};

struct bc {
	struct power_worker *w;
	void *sess;
	char peer[80];		/* "mm1 s01c1mm 10.78.0.10" for messages */
	bool dead;		/* stopped answering: the bays not done fail at once */
	char dead_msg[300];
};

static size_t make_oid(enum bc_obj o, unsigned bay, oid *out)
{
	static const oid bc[] = { BC_OID };
	size_t n = BC_LEN;

	memcpy(out, bc, sizeof(bc));
	memcpy(out + n, objs[o].sub, objs[o].len * sizeof(oid));
	n += objs[o].len;
	if (objs[o].per_bay)
		out[n++] = bay;
	return n;
}

/* ---------------------------------------------------------------- library setup */

static int bc_init(struct dim_err *err)
{
	static bool done;

	(void)err;
	if (done)
		return 0;
	/*
	 * No snmp.conf, no persistent files (engine boots, users): dim's
	 * sessions are all from its own credentials.  No logging to stderr
	 * either: a library prints nothing, errors come back as messages.
	 */
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DONT_READ_CONFIGS, 1);
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DISABLE_PERSISTENT_LOAD, 1);
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DISABLE_PERSISTENT_SAVE, 1);
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DONT_PERSIST_STATE, 1);
	netsnmp_ds_set_int(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_MIB_WARNINGS, 0);
	snmp_disable_log();
	setenv("MIBS", "", 1);
	init_snmp("dim");
	done = true;
	return 0;
}

/* ---------------------------------------------------------------- sessions */

static const char *lib_error(void *sess, char *buf, size_t size)
{
	int liberr = 0, syserr = 0;
	char *msg = NULL;

	snmp_sess_error(sess, &liberr, &syserr, &msg);
	snprintf(buf, size, "%s", msg ? msg : "unknown SNMP error");
	free(msg);
	return buf;
}

static int bc_open(struct bc *b, struct dim_err *err)
{
	const struct power_creds *cr = b->w->cr;
	const struct cl_chassis *ch = b->w->ch;
	netsnmp_session s;
	char addr[INET_ADDRSTRLEN], peer[64], why[256];
	/* The library's session wants writable strings; these copies are wiped below. */
	char user[sizeof(cr->user)], community[sizeof(cr->community)];

	inet_ntop(AF_INET, &ch->mm_addr, addr, sizeof(addr));
	snprintf(b->peer, sizeof(b->peer), "%s %s", ch->mm_name, addr);
	snprintf(peer, sizeof(peer), "udp:%s:%u", addr, cr->port);
	snmp_sess_init(&s);
	s.peername = peer;
	s.timeout = (long)b->w->timeout_ms * 1000L;	/* microseconds */
	s.retries = (int)b->w->retries;
	if (cr->version == 3) {
		bool md5 = !strcmp(cr->auth, "MD5");
		bool des = !strcmp(cr->priv, "DES");

		s.version = SNMP_VERSION_3;
		memcpy(user, cr->user, sizeof(user));
		s.securityName = user;
		s.securityNameLen = strlen(cr->user);
		s.securityLevel = SNMP_SEC_LEVEL_AUTHPRIV;
		s.securityAuthProto = md5 ? usmHMACMD5AuthProtocol : usmHMACSHA1AuthProtocol;
		s.securityAuthProtoLen = USM_AUTH_PROTO_SHA_LEN;
		s.securityAuthKeyLen = USM_AUTH_KU_LEN;
		if (generate_Ku(s.securityAuthProto, (u_int)s.securityAuthProtoLen,
				(const u_char *)cr->auth_pass, strlen(cr->auth_pass),
				s.securityAuthKey, &s.securityAuthKeyLen) != SNMPERR_SUCCESS)
			return dim_err_set(err, -EINVAL, "%s: cannot make the SNMPv3 auth key",
					   b->peer);
		s.securityPrivProto = des ? usmDESPrivProtocol : usmAESPrivProtocol;
		s.securityPrivProtoLen = USM_PRIV_PROTO_AES_LEN;
		s.securityPrivKeyLen = USM_PRIV_KU_LEN;
		if (generate_Ku(s.securityAuthProto, (u_int)s.securityAuthProtoLen,
				(const u_char *)cr->priv_pass, strlen(cr->priv_pass),
				s.securityPrivKey, &s.securityPrivKeyLen) != SNMPERR_SUCCESS) {
			explicit_bzero(s.securityAuthKey, sizeof(s.securityAuthKey));
			return dim_err_set(err, -EINVAL, "%s: cannot make the SNMPv3 priv key",
					   b->peer);
		}
	} else {
		s.version = cr->version == 1 ? SNMP_VERSION_1 : SNMP_VERSION_2c;
		memcpy(community, cr->community, sizeof(community));
		s.community = (u_char *)community;
		s.community_len = strlen(cr->community);
	}
	/* SNMPv3 opens with the engine ID probe: the first exchange with the module. */
	b->sess = snmp_sess_open(&s);
	explicit_bzero(community, sizeof(community));
	explicit_bzero(s.securityAuthKey, sizeof(s.securityAuthKey));
	explicit_bzero(s.securityPrivKey, sizeof(s.securityPrivKey));
	if (!b->sess) {
		int liberr = 0, syserr = 0;
		char *msg = NULL;

		snmp_error(&s, &liberr, &syserr, &msg);
		snprintf(why, sizeof(why), "%s", msg ? msg : "cannot open a session");
		free(msg);
		if (liberr == SNMPERR_TIMEOUT || (cr->version == 3 && strstr(why, "engine")))
			return dim_err_set(err, -ETIMEDOUT,
					   "%s: no answer to the SNMPv3 engine probe after %u tr%s of %u ms (%s)",
					   b->peer, b->w->retries + 1, b->w->retries ? "ies" : "y",
					   b->w->timeout_ms, why);
		return dim_err_set(err, -EIO, "%s: %s", b->peer, why);
	}
	return 0;
}

/* What a failed exchange means, for the user; sets b->dead when it is worth giving up. */
static int bc_status(struct bc *b, int status, netsnmp_pdu *resp, const char *what,
		     struct dim_err *err)
{
	const struct power_creds *cr = b->w->cr;
	char why[256];
	int rc;

	if (status == STAT_TIMEOUT) {
		rc = dim_err_set(err, -ETIMEDOUT, "%s: no answer to %s after %u tr%s of %u ms%s",
				 b->peer, what, b->w->retries + 1, b->w->retries ? "ies" : "y",
				 b->w->timeout_ms,
				 cr->version == 3 ?
				 " (a module does not answer a wrong SNMPv3 priv password either)" :
				 " (a module does not answer a wrong community either)");
		b->dead = true;
		snprintf(b->dead_msg, sizeof(b->dead_msg), "%.290s", err->msg);
		return rc;
	}
	if (status != STAT_SUCCESS) {
		lib_error(b->sess, why, sizeof(why));
		rc = dim_err_set(err, -EACCES, "%s: %s: %s%s", b->peer, what, why,
				 cr->version == 3 ? " (check the SNMPv3 user and passwords)" : "");
		b->dead = true;
		snprintf(b->dead_msg, sizeof(b->dead_msg), "%.290s", err->msg);
		return rc;
	}
	if (resp->errstat != SNMP_ERR_NOERROR)
		return dim_err_set(err, -EIO, "%s: %s: the module says %s", b->peer, what,
				   snmp_errstring((int)resp->errstat));
	return 0;
}

/* GET n objects (o[i] of bay[i]) into v[i]; an object the module lacks is left !have. */
static int bc_get(struct bc *b, const enum bc_obj *o, const unsigned *bay, struct bc_val *v,
		  unsigned n, const char *what, struct dim_err *err)
{
	unsigned done = 0;

	while (done < n) {
		unsigned k, m = n - done < MAX_VARS ? n - done : MAX_VARS;
		netsnmp_pdu *pdu = snmp_pdu_create(SNMP_MSG_GET), *resp = NULL;
		netsnmp_variable_list *vb;
		int status, rc;

		if (!pdu)
			return dim_err_set(err, -ENOMEM, "out of memory");
		for (k = 0; k < m; k++) {
			oid name[MAX_OID_LEN];
			size_t len = make_oid(o[done + k], bay[done + k], name);

			snmp_add_null_var(pdu, name, len);
		}
		status = snmp_sess_synch_response(b->sess, pdu, &resp);
		rc = bc_status(b, status, resp, what, err);
		if (rc < 0) {
			if (resp)
				snmp_free_pdu(resp);
			return rc;
		}
		for (k = 0, vb = resp->variables; k < m && vb; k++, vb = vb->next_variable) {
			struct bc_val *x = &v[done + k];

			memset(x, 0, sizeof(*x));
			switch (vb->type) {
			case ASN_INTEGER:
			case ASN_GAUGE:
			case ASN_COUNTER:
				x->have = vb->val.integer != NULL;
				x->i = x->have ? *vb->val.integer : 0;
				break;
			case ASN_OCTET_STR: {
				size_t l = vb->val_len < sizeof(x->s) - 1 ? vb->val_len : sizeof(x->s) - 1;

				memcpy(x->s, vb->val.string, l);
				x->s[l] = '\0';
				/* Values reach the terminal and the state: nothing but printable bytes. */
				for (size_t i = 0; i < l; i++)
					if ((unsigned char)x->s[i] < 0x20 || (unsigned char)x->s[i] > 0x7e)
						x->s[i] = '?';
				x->have = true;
				break;
			}
			default:	/* noSuchObject, noSuchInstance (v2c/v3) */
				break;
			}
		}
		snmp_free_pdu(resp);
		done += m;
	}
	return 0;
}

static int bc_get1(struct bc *b, enum bc_obj o, unsigned bay, struct bc_val *v, const char *what,
		   struct dim_err *err)
{
	return bc_get(b, &o, &bay, v, 1, what, err);
}

static int bc_set(struct bc *b, enum bc_obj o, unsigned bay, long value, const char *what,
		  struct dim_err *err)
{
	netsnmp_pdu *pdu = snmp_pdu_create(SNMP_MSG_SET), *resp = NULL;
	oid name[MAX_OID_LEN];
	size_t len = make_oid(o, bay, name);
	int status, rc;

	if (!pdu)
		return dim_err_set(err, -ENOMEM, "out of memory");
	snmp_pdu_add_variable(pdu, name, len, ASN_INTEGER, &value, sizeof(value));
	status = snmp_sess_synch_response(b->sess, pdu, &resp);
	rc = bc_status(b, status, resp, what, err);
	if (resp)
		snmp_free_pdu(resp);
	return rc;
}

/* ---------------------------------------------------------------- per bay */

static long read_power(struct bc *b, unsigned bay, struct dim_err *err)
{
	struct bc_val v;

	if (bc_get1(b, O_POWER, bay, &v, "bladePowerState", err) < 0 || !v.have)
		return POWER_S_UNKNOWN;
	return v.i;
}

static void result_state(struct power_result *r, long state)
{
	r->state = (int)state;
}

/* Read the MACs of a bay into r (text too); 0 or -errno with err. */
static int read_macs(struct bc *b, unsigned bay, struct power_result *r, struct dim_err *err)
{
	enum bc_obj o[8];
	unsigned bays[8], i;
	struct bc_val v[8];
	size_t off = 0;
	int rc;

	for (i = 0; i < 8; i++) {
		o[i] = (enum bc_obj)(O_MAC1 + i);
		bays[i] = bay;
	}
	rc = bc_get(b, o, bays, v, 8, "the MAC addresses", err);
	if (rc < 0)
		return rc;
	r->n_macs = 0;
	for (i = 0; i < 8; i++) {
		uint8_t mac[6];
		char t[18];

		if (!v[i].have || !power_parse_mac(v[i].s, strlen(v[i].s), mac))
			continue;
		memcpy(r->macs[r->n_macs], mac, 6);
		r->mac_nic[r->n_macs] = (uint8_t)(i + 1);
		r->n_macs++;
		mac_format(mac, t);
		off += (size_t)snprintf(r->text + off, sizeof(r->text) - off, "%s%u=%s",
					off ? " " : "", i + 1, t);
		if (off >= sizeof(r->text))
			break;
	}
	if (!r->n_macs)
		snprintf(r->text, sizeof(r->text), "no MAC address reported");
	return 0;
}

static int do_inventory(struct bc *b, unsigned bay, struct power_result *r, struct dim_err *err)
{
	enum { N_INV = 7 };
	static const enum bc_obj o[N_INV] = { O_TYPE, O_MODEL, O_SERIAL, O_UUID, O_NAME,
					       O_HEALTH, O_POWER };
	unsigned bays[N_INV], i;
	struct bc_val v[N_INV];
	long h;
	int rc;

	for (i = 0; i < N_INV; i++)
		bays[i] = bay;
	rc = bc_get(b, o, bays, v, N_INV, "the blade's VPD", err);
	if (rc < 0)
		return rc;
	h = v[5].have ? v[5].i : 0;
	result_state(r, v[6].have ? v[6].i : POWER_S_UNKNOWN);
	snprintf(r->text, sizeof(r->text), "type %.32s model %.32s serial %.40s uuid %.48s name \"%.64s\" health %s",
		 v[0].have && v[0].s[0] ? v[0].s : "-", v[1].have && v[1].s[0] ? v[1].s : "-",
		 v[2].have && v[2].s[0] ? v[2].s : "-", v[3].have && v[3].s[0] ? v[3].s : "-",
		 v[4].have ? v[4].s : "", h >= 0 && (size_t)h < sizeof(health_names) / sizeof(*health_names) ?
		 health_names[h] : "?");
	return 0;
}

/* How long until the module's inventory of bay is ready; 0 or -ETIMEDOUT. */
static int wait_ready(struct bc *b, unsigned bay, const struct timespec *deadline,
		      struct dim_err *err)
{
	for (;;) {
		struct timespec now;
		struct bc_val v;
		int rc = bc_get1(b, O_READY, bay, &v, "bladeInventoryReady", err);

		if (rc < 0)
			return rc;
		/* A module without the object (older firmware) has its VPD ready. */
		if (!v.have || v.i == 1)
			return 0;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec > deadline->tv_sec ||
		    (now.tv_sec == deadline->tv_sec && now.tv_nsec >= deadline->tv_nsec))
			return dim_err_set(err, -ETIMEDOUT,
					   "%s: bay %u: inventory not ready after %u s (bladeInventoryReady 0)",
					   b->peer, bay, b->w->job->opts.ready_ms / 1000);
		power_sleep_ms(READY_POLL_MS);
	}
}

/* One bay whose blade is present: the operation; fills r, 0 or -errno with err. */
static int do_bay(struct bc *b, unsigned bay, long power, bool *powered_on,
		  const struct timespec *deadline, struct power_result *r, struct dim_err *err)
{
	const struct power_job *job = b->w->job;
	int rc;

	result_state(r, power);
	switch (job->op) {
	case POWER_STATE:
		snprintf(r->text, sizeof(r->text), "%s", power_state_name((int)power));
		return 0;
	case POWER_LIST:
		return do_inventory(b, bay, r, err);
	case POWER_ON:
		if (power == POWER_S_ON) {
			snprintf(r->text, sizeof(r->text), "on (was on)");
			return 0;
		}
		/* Stagger: the image server must not see every blade of a chassis boot at once. */
		if (*powered_on && job->opts.stagger_ms)
			power_sleep_ms(job->opts.stagger_ms);
		rc = bc_set(b, O_SET_POWER, bay, 1, "powerOnOffBlade on", err);
		if (rc < 0)
			return rc;
		*powered_on = true;
		break;
	case POWER_OFF:
	case POWER_SOFTOFF:
		if (power == POWER_S_OFF) {
			snprintf(r->text, sizeof(r->text), "off (was off)");
			return 0;
		}
		rc = bc_set(b, O_SET_POWER, bay, job->op == POWER_OFF ? 0 : 2,
			    job->op == POWER_OFF ? "powerOnOffBlade off" : "powerOnOffBlade softoff",
			    err);
		if (rc < 0)
			return rc;
		break;
	case POWER_RESET:
		if (power != POWER_S_ON)
			return dim_err_set(err, -EINVAL, "%s, not reset (dim bctool BLADE on)",
					   power_state_name((int)power));
		rc = bc_set(b, O_SET_RESTART, bay, 1, "restartBlade", err);
		if (rc < 0)
			return rc;
		snprintf(r->text, sizeof(r->text), "reset");
		return 0;
	case POWER_CYCLE:
		if (power == POWER_S_ON) {
			rc = bc_set(b, O_SET_POWER, bay, 0, "powerOnOffBlade off", err);
			if (rc < 0)
				return rc;
			power_sleep_ms(job->opts.cycle_ms);
		}
		rc = bc_set(b, O_SET_POWER, bay, 1, "powerOnOffBlade on", err);
		if (rc < 0)
			return rc;
		break;
	case POWER_MACS:
		return read_macs(b, bay, r, err);
	case POWER_DISCOVER:
		rc = wait_ready(b, bay, deadline, err);
		return rc < 0 ? rc : read_macs(b, bay, r, err);
	case POWER_INVENTORY:
		return do_inventory(b, bay, r, err);
	case POWER_N_OPS:
		break;
	}
	/* After a change: what the module says now (powerRestartBladePowerState lags on some). */
	power = read_power(b, bay, err);
	result_state(r, power);
	if (job->op == POWER_CYCLE)
		snprintf(r->text, sizeof(r->text), "cycled, now %s", power_state_name((int)power));
	else if (job->op == POWER_SOFTOFF && power != POWER_S_OFF)
		snprintf(r->text, sizeof(r->text), "softoff sent, now %s (the OS shuts down)",
			 power_state_name((int)power));
	else
		snprintf(r->text, sizeof(r->text), "%s (was %s)", power_state_name((int)power),
			 job->op == POWER_ON ? "off" : "on");
	if (power == POWER_S_UNKNOWN && b->dead)
		return -ETIMEDOUT;
	return 0;
}

/* bcadmin list / inventory: the chassis's own line. */
static void chassis_line(struct bc *b)
{
	enum bc_obj o[] = { O_CH_NAME, O_CH_MTYPE, O_CH_MODEL, O_CH_SERIAL, O_CH_BAYS,
			    O_CH_INSTALLED };
	unsigned bays[6] = { 0 };
	struct bc_val v[6];
	struct power_result r = { .bay = 0, .state = POWER_S_UNKNOWN };
	struct dim_err err = { 0 };

	if (bc_get(b, o, bays, v, 6, "the chassis VPD", &err) < 0) {
		r.rc = err.rc;
		snprintf(r.text, sizeof(r.text), "%.390s", err.msg);
	} else {
		snprintf(r.text, sizeof(r.text),
			 "%s: name \"%.64s\" type %.16s-%.16s serial %.40s, %ld bays, installed %.64s", b->peer,
			 v[0].have ? v[0].s : "", v[1].have ? v[1].s : "-", v[2].have ? v[2].s : "-",
			 v[3].have ? v[3].s : "-", v[4].have ? v[4].i : -1L,
			 v[5].have ? v[5].s : "-");
	}
	power_emit(b->w, &r);
}

static void bc_chassis(struct power_worker *w)
{
	const struct cl_chassis *ch = w->ch;
	const struct power_job *job = w->job;
	struct bc b = { .w = w };
	struct dim_err err = { 0 };
	enum bc_obj o[2 * 64];
	unsigned bays[2 * 64], n = 0, bay, first = 0;
	struct bc_val *v = NULL;
	struct timespec deadline;
	bool powered_on = false;
	int rc;

	rc = bc_open(&b, &err);
	if (rc < 0) {
		for (bay = 1; bay <= ch->n_bays; bay++)
			if (w->want[bay - 1])
				power_fail(w, bay, rc, "%.390s", err.msg);
		return;
	}
	if (job->whole_chassis && (job->op == POWER_LIST || job->op == POWER_INVENTORY))
		chassis_line(&b);
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += job->opts.ready_ms / 1000;
	deadline.tv_nsec += (long)(job->opts.ready_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}

	v = calloc(2 * (size_t)ch->n_bays + 1, sizeof(*v));
	if (!v) {
		for (bay = 1; bay <= ch->n_bays; bay++)
			if (w->want[bay - 1])
				power_fail(w, bay, -ENOMEM, "out of memory");
		goto out;
	}
	/* bladeExists and bladePowerState of every wanted bay, in as few requests as fit. */
	for (bay = 1; bay <= ch->n_bays; bay = first) {
		n = 0;
		for (first = bay; first <= ch->n_bays && n < 2 * 64; first++) {
			if (!w->want[first - 1])
				continue;
			o[n] = O_EXISTS;
			bays[n++] = first;
			o[n] = O_POWER;
			bays[n++] = first;
		}
		rc = n ? bc_get(&b, o, bays, v, n, "bladeExists", &err) : 0;
		for (unsigned k = 0; k < n; k += 2) {
			struct power_result r = { .bay = bays[k], .state = POWER_S_UNKNOWN };
			unsigned at = bays[k];

			if (rc < 0 || b.dead) {
				power_fail(w, at, rc < 0 ? rc : -ETIMEDOUT, "%.390s",
					   rc < 0 ? err.msg : b.dead_msg);
				continue;
			}
			if (!v[k].have || v[k].i != 1) {
				r.empty = true;
				if (job->whole_chassis) {
					snprintf(r.text, sizeof(r.text), "empty bay");
				} else {
					r.rc = -ENODEV;
					snprintf(r.text, sizeof(r.text),
						 "bay %u of %s is empty (bladeExists %s on %s)", at,
						 ch->name, v[k].have ? "0" : "missing", b.peer);
				}
				power_emit(w, &r);
				continue;
			}
			memset(&err, 0, sizeof(err));
			rc = do_bay(&b, at, v[k + 1].have ? v[k + 1].i : POWER_S_UNKNOWN,
				    &powered_on, &deadline, &r, &err);
			if (rc < 0) {
				r.rc = rc;
				snprintf(r.text, sizeof(r.text), "%.390s", err.msg[0] ? err.msg : "failed");
				rc = 0;
			}
			power_emit(w, &r);
		}
	}
out:
	free(v);
	snmp_sess_close(b.sess);
}

const struct power_backend power_bc_snmp = {
	.type = "snmp",
	.what = "BladeCenter management module (SNMP)",
	.init = bc_init,
	.chassis = bc_chassis,
};
