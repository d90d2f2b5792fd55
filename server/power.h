/* SPDX-License-Identifier: MIT */
/*
 * Blade power and inventory: one interface, backends in a table.
 *
 *   snmp  a BladeCenter management module (bc_snmp.c, the net-snmp library):
 *         SNMPv1/v2c communities, SNMPv3 authPriv (SHA with AES or DES);
 *   ipmi  rack nodes, each with its own BMC (ipmi.c, ipmitool through the
 *         runner, the password in its environment, never on a command line).
 *
 * The backend of a chassis is the type of its credentials in the cluster
 * definition (<chassis credentials=...>, <use nodes=... credentials=...>); the
 * credentials file holds the secrets (format in dim-cluster(5) and below).
 *
 * A job runs every selected chassis in its own worker process, at most
 * opts.parallel at once, and the bays of one chassis in order within it:
 * net-snmp's SNMPv3 code is not thread-safe, and a process per module keeps a
 * dead module from holding up the others.  Workers send one fixed-size
 * struct power_result per bay back through a pipe; the caller's callback
 * sees them as they come, in the calling process.
 */
#ifndef DIM_POWER_H
#define DIM_POWER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cluster.h"
#include "err.h"

enum power_op {
	POWER_STATE,
	POWER_ON,
	POWER_OFF,
	POWER_SOFTOFF,		/* the OS shuts down, then the blade powers off */
	POWER_CYCLE,		/* off, opts.cycle_ms, on (on only if it was off) */
	POWER_RESET,		/* a running blade restarts; an off blade is an error */
	POWER_MACS,
	POWER_INVENTORY,
	POWER_DISCOVER,		/* MACs, once the module says its inventory is ready */
	POWER_LIST,		/* per bay: present, power, health, name (dim bcadmin list) */
	POWER_N_OPS
};

/* By name ("on", "softoff" ...); -1 if none.  And back. */
int power_op_find(const char *name);
const char *power_op_name(enum power_op op);

/* bladePowerState's values (BLADE-MIB), and ours for "could not tell". */
enum power_state {
	POWER_S_OFF = 0,
	POWER_S_ON = 1,
	POWER_S_STANDBY = 3,
	POWER_S_HIBERNATE = 4,
	POWER_S_UNKNOWN = 255,
};
const char *power_state_name(int state);

#define POWER_PARALLEL		32	/* management modules worked on at once */
#define POWER_MAX_PARALLEL	512
#define POWER_STAGGER_MS	2000	/* dim bcadmin power on: between two bays */
#define POWER_CYCLE_MS		5000	/* cycle: how long a blade stays off */
#define POWER_READY_MS		120000	/* discover: the longest wait for the inventory */
#define POWER_MAX_TIMEOUT_MS	60000
#define POWER_MAX_RETRIES	10

struct power_opts {
	unsigned timeout_ms;	/* per try; 0: the credentials' (default 1000) */
	int retries;		/* -1: the credentials' (default 1) */
	unsigned parallel;	/* workers (modules) at once; 0: POWER_PARALLEL */
	unsigned stagger_ms;	/* between two blades powered on in one chassis */
	unsigned cycle_ms;
	unsigned ready_ms;
};

/*
 * What to do.  sel selects blades (bctool), or chassis when whole_chassis is
 * set (bcadmin): then every bay of each chassis is worked on, and an empty
 * bay is a result (empty set) rather than a failure.
 */
struct power_job {
	enum power_op op;
	const struct cl_selection *sel;
	bool whole_chassis;
	struct power_opts opts;
};

#define POWER_MAX_MACS	8

/*
 * One bay's outcome (blade != CL_NONE), or a chassis line (bcadmin list and
 * inventory: blade == CL_NONE).  Fixed size, so a worker writes it to its
 * pipe in one write(2) (smaller than PIPE_BUF: never interleaved).
 */
struct power_result {
	unsigned chassis;	/* index in cluster->chassis */
	unsigned bay;		/* 1-based; 0 for a chassis line */
	unsigned blade;		/* index in cluster->blades, CL_NONE for a chassis line */
	int rc;			/* 0, or -errno: failed, text says why */
	bool empty;		/* the bay holds no blade */
	int state;		/* enum power_state after the operation */
	unsigned n_macs;
	uint8_t macs[POWER_MAX_MACS][6];	/* real MACs, in the module's order */
	uint8_t mac_nic[POWER_MAX_MACS];	/* the onboard NIC (1..8) each came from */
	char text[400];		/* what was done or seen; never a secret */
};

/*
 * Run job on the cluster; fn is called for every result as it arrives (a
 * non-zero return stops waiting for more, and kills no one: the workers
 * finish).  Every selected blade (every bay, for whole_chassis) gets exactly
 * one result, failed ones included.  Returns the number of failed results
 * (>= 0), or -errno + err when the job could not start (a credentials file
 * refused, no backend for a type ...).
 */
int power_run(const struct cluster *c, const struct power_job *job,
	      int (*fn)(const struct power_result *r, void *arg), void *arg, struct dim_err *err);

/* ---------------------------------------------------------------- credentials */

/*
 * A credentials file: key=value lines, '#' comments, blank lines; blanks
 * around key and value trimmed.  Keys (an unknown one is an error naming
 * FILE:LINE and the key, never a value):
 *   snmp: version (1, 2c, 3), community, user, auth (SHA, MD5), auth-password,
 *         priv (AES, DES), priv-password, port, timeout (ms), retries
 *   ipmi: user, password, interface (lanplus, lan), port, timeout, retries
 * The file must not be readable, writable or executable by group or others.
 */
#define POWER_SECRET_MAX	128

struct power_creds {
	char file[256];
	char type[16];		/* "snmp", "ipmi" */
	int version;		/* SNMP 1, 2 (2c) or 3 */
	char community[POWER_SECRET_MAX];
	char user[64];
	char auth[8];		/* "SHA", "MD5" */
	char auth_pass[POWER_SECRET_MAX];
	char priv[8];		/* "AES", "DES" */
	char priv_pass[POWER_SECRET_MAX];
	char password[POWER_SECRET_MAX];	/* ipmi */
	char interface[16];	/* ipmi: "lanplus", "lan" */
	unsigned port;
	unsigned timeout_ms;
	unsigned retries;
};

/* Parse text (len bytes) read from file; pure.  0 or -EINVAL + err. */
int power_creds_parse(const char *text, size_t len, const char *file, const char *type,
		      struct power_creds *cr, struct dim_err *err);
/* Read and parse file, refusing one group or others may use (-EACCES). */
int power_creds_load(const char *file, const char *type, struct power_creds *cr,
		     struct dim_err *err);
/* Overwrite the secrets in memory. */
void power_creds_wipe(struct power_creds *cr);

/* ---------------------------------------------------------------- what modules report */

/*
 * A MAC as a management module reports it: "00:11:25:75:00:C2" (either case,
 * ':' or '-'), or on POWER blades a range "A -> B" (the first is taken).
 * 1 and mac filled in; 0 for anything else ("Not Installed", "Not Available").
 */
int power_parse_mac(const char *text, size_t len, uint8_t mac[6]);

/* ---------------------------------------------------------------- discovery */

enum power_verdict {
	PV_NEW,			/* no MAC known for the blade: record it */
	PV_SAME,		/* the blade has this MAC already */
	PV_CHANGED,		/* the blade had another MAC (a new blade in the bay): --force */
	PV_MOVED,		/* the MAC is recorded for another blade (a blade moved): --force */
	PV_DEFINED,		/* the definition gives the MAC to another blade: never */
	PV_DUPLICATE,		/* the same MAC read from two bays: never */
	PV_NO_MAC,		/* the module reported no usable MAC for the boot NIC */
};

struct power_found {
	unsigned blade;		/* index in cluster->blades */
	bool has_mac;
	uint8_t mac[6];		/* the boot NIC's MAC */
	enum power_verdict verdict;
	unsigned other;		/* PV_MOVED, PV_DEFINED, PV_DUPLICATE: the other blade */
	uint8_t old[6];		/* PV_CHANGED: the MAC it had */
};

/*
 * The boot NIC's MAC of a discovered blade: onboard NIC nic (1-based) of the
 * MACs the module reported, or the first real one when nic is 0.
 */
bool power_boot_mac(const struct power_result *r, unsigned nic, uint8_t mac[6]);

/*
 * Judge found[0..n) against the definition alone (def) and the definition
 * with the state laid over it (cur).  Returns how many blades are not
 * recorded for a reason the user must see: PV_NO_MAC, PV_DEFINED and
 * PV_DUPLICATE always, PV_CHANGED and PV_MOVED unless force.
 */
unsigned power_discover_judge(const struct cluster *def, const struct cluster *cur,
			      struct power_found *found, unsigned n, bool force);
const char *power_verdict_name(enum power_verdict v);

/* ---------------------------------------------------------------- backends */

/* What a backend's worker gets: one chassis, the bays to work on, a way to report. */
struct power_worker {
	const struct cluster *c;
	const struct cl_chassis *ch;
	const struct power_creds *cr;
	const struct power_job *job;
	const bool *want;	/* [bay - 1]: work on this bay */
	unsigned timeout_ms;	/* effective, from opts or the credentials */
	unsigned retries;
	int fd;			/* the pipe to the parent */
};

/* Send one result (bay's blade filled in from w); from a worker only. */
void power_emit(struct power_worker *w, struct power_result *r);
/* Fill r for bay as failed with a message; then power_emit it. */
__attribute__((format(printf, 4, 5)))
void power_fail(struct power_worker *w, unsigned bay, int rc, const char *fmt, ...);
/* Sleep ms milliseconds (interrupted sleeps resumed). */
void power_sleep_ms(unsigned ms);

struct power_backend {
	const char *type;	/* the credentials' type */
	const char *what;	/* for messages */
	/* Once in the parent before any worker starts; NULL if nothing to do. */
	int (*init)(struct dim_err *err);
	/* In a worker: every wanted bay gets exactly one power_emit(). */
	void (*chassis)(struct power_worker *w);
};

extern const struct power_backend power_bc_snmp;
extern const struct power_backend power_ipmi;

/* The backend for credentials of type type; NULL if none. */
const struct power_backend *power_backend_find(const char *type);

/* ipmi.c: the ipmitool argv for op on a BMC (no password in it); NULL-terminated. */
int ipmi_argv(const struct power_creds *cr, const char *host, unsigned timeout_ms,
	      unsigned retries, const char *const *cmd, const char **argv, size_t max,
	      char *bufs, size_t bufsize);

#endif /* DIM_POWER_H */
