/* SPDX-License-Identifier: MIT */
/*
 * Blade power and inventory (power.h): the job runner (a worker process per
 * chassis, bounded), credentials files, what management modules report, and
 * the judging of discovered MACs.  The backends are bc_snmp.c and ipmi.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"
#include "mac.h"
#include "power.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---------------------------------------------------------------- names */

static const char *const op_names[POWER_N_OPS] = {
	[POWER_STATE] = "state",
	[POWER_ON] = "on",
	[POWER_OFF] = "off",
	[POWER_SOFTOFF] = "softoff",
	[POWER_CYCLE] = "cycle",
	[POWER_RESET] = "reset",
	[POWER_MACS] = "macs",
	[POWER_INVENTORY] = "inventory",
	[POWER_DISCOVER] = "discover",
	[POWER_LIST] = "list",
};

int power_op_find(const char *name)
{
	unsigned i;

	for (i = 0; i < POWER_N_OPS; i++)
		if (!strcmp(op_names[i], name))
			return (int)i;
	return -1;
}

const char *power_op_name(enum power_op op)
{
	return (unsigned)op < POWER_N_OPS ? op_names[op] : "?";
}

const char *power_state_name(int state)
{
	switch (state) {
	case POWER_S_OFF:
		return "off";
	case POWER_S_ON:
		return "on";
	case POWER_S_STANDBY:
		return "standby";
	case POWER_S_HIBERNATE:
		return "hibernate";
	}
	return "unknown";
}

static const struct power_backend *const backends[] = {
	&power_bc_snmp,
	&power_ipmi,
};

const struct power_backend *power_backend_find(const char *type)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(backends); i++)
		if (!strcmp(backends[i]->type, type))
			return backends[i];
	return NULL;
}

/* ---------------------------------------------------------------- credentials */

enum ckey { K_VERSION, K_COMMUNITY, K_USER, K_AUTH, K_AUTHPASS, K_PRIV, K_PRIVPASS,
	    K_PASSWORD, K_INTERFACE, K_PORT, K_TIMEOUT, K_RETRIES };

static const struct cred_key {
	const char *name;
	enum ckey key;
	bool snmp, ipmi;
} cred_keys[] = {
	{ "version", K_VERSION, true, false },
	{ "community", K_COMMUNITY, true, false },
	{ "user", K_USER, true, true },
	{ "auth", K_AUTH, true, false },
	{ "auth-password", K_AUTHPASS, true, false },
	{ "priv", K_PRIV, true, false },
	{ "priv-password", K_PRIVPASS, true, false },
	{ "password", K_PASSWORD, false, true },
	{ "interface", K_INTERFACE, false, true },
	{ "port", K_PORT, true, true },
	{ "timeout", K_TIMEOUT, true, true },
	{ "retries", K_RETRIES, true, true },
};

static const char *const choice_version[] = { "1", "2c", "3", NULL };
static const char *const choice_auth[] = { "SHA", "MD5", NULL };
static const char *const choice_priv[] = { "AES", "DES", NULL };
static const char *const choice_iface[] = { "lanplus", "lan", NULL };

static bool in_choices(const char *v, const char *const *choices)
{
	for (; *choices; choices++)
		if (!strcmp(v, *choices))
			return true;
	return false;
}

/* A decimal in [min, max]; false otherwise. */
static bool parse_uint(const char *v, unsigned min, unsigned max, unsigned *out)
{
	unsigned long x = 0;

	if (!*v || strlen(v) > 9)
		return false;
	for (; *v; v++) {
		if (*v < '0' || *v > '9')
			return false;
		x = x * 10 + (unsigned)(*v - '0');
	}
	if (x < min || x > max)
		return false;
	*out = (unsigned)x;
	return true;
}

/* Copy a value; a value too long or with control characters is refused (without showing it). */
static bool set_str(char *dst, size_t size, const char *v)
{
	size_t n = strlen(v), i;

	if (n >= size)
		return false;
	for (i = 0; i < n; i++)
		if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
			return false;
	memcpy(dst, v, n + 1);
	return true;
}

static int cred_set(struct power_creds *cr, const struct cred_key *k, const char *v,
		    const char *where, struct dim_err *err)
{
	const char *what = NULL;
	unsigned u;

	switch (k->key) {
	case K_VERSION:
		if (!in_choices(v, choice_version))
			what = "1, 2c or 3";
		else
			cr->version = v[0] - '0';
		break;
	case K_COMMUNITY:
		if (!set_str(cr->community, sizeof(cr->community), v) || !*v)
			what = "1 to 127 printable characters";
		break;
	case K_USER:
		if (!set_str(cr->user, sizeof(cr->user), v) || !*v)
			what = "1 to 63 printable characters";
		break;
	case K_AUTH:
		if (!in_choices(v, choice_auth))
			what = "SHA or MD5";
		else
			set_str(cr->auth, sizeof(cr->auth), v);
		break;
	case K_AUTHPASS:
		/* RFC 3414 11.2: a passphrase of at least 8 characters. */
		if (!set_str(cr->auth_pass, sizeof(cr->auth_pass), v) || strlen(v) < 8)
			what = "8 to 127 printable characters";
		break;
	case K_PRIV:
		if (!in_choices(v, choice_priv))
			what = "AES or DES";
		else
			set_str(cr->priv, sizeof(cr->priv), v);
		break;
	case K_PRIVPASS:
		if (!set_str(cr->priv_pass, sizeof(cr->priv_pass), v) || strlen(v) < 8)
			what = "8 to 127 printable characters";
		break;
	case K_PASSWORD:
		if (!set_str(cr->password, sizeof(cr->password), v) || !*v)
			what = "1 to 127 printable characters";
		break;
	case K_INTERFACE:
		if (!in_choices(v, choice_iface))
			what = "lanplus or lan";
		else
			set_str(cr->interface, sizeof(cr->interface), v);
		break;
	case K_PORT:
		if (!parse_uint(v, 1, 65535, &u))
			what = "a port number, 1 to 65535";
		else
			cr->port = u;
		break;
	case K_TIMEOUT:
		if (!parse_uint(v, 1, POWER_MAX_TIMEOUT_MS, &u))
			what = "milliseconds, 1 to 60000";
		else
			cr->timeout_ms = u;
		break;
	case K_RETRIES:
		if (!parse_uint(v, 0, POWER_MAX_RETRIES, &u))
			what = "0 to 10";
		else
			cr->retries = u;
		break;
	}
	if (what)
		return dim_err_set(err, -EINVAL, "%s: %s: wants %s (value not shown)", where,
				   k->name, what);
	return 0;
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

int power_creds_parse(const char *text, size_t len, const char *file, const char *type,
		      struct power_creds *cr, struct dim_err *err)
{
	bool snmp = !strcmp(type, "snmp"), seen_version = false;
	char line[512], where[320];
	unsigned lineno = 0;
	size_t pos = 0;
	int rc = 0;

	memset(cr, 0, sizeof(*cr));
	snprintf(cr->file, sizeof(cr->file), "%s", file);
	snprintf(cr->type, sizeof(cr->type), "%s", type);
	if (!snmp && strcmp(type, "ipmi"))
		return dim_err_set(err, -EINVAL, "%s: credentials of unknown type %s", file, type);
	cr->timeout_ms = 1000;
	cr->retries = 1;
	cr->port = snmp ? 161 : 623;
	snprintf(cr->auth, sizeof(cr->auth), "SHA");
	snprintf(cr->priv, sizeof(cr->priv), "AES");
	snprintf(cr->interface, sizeof(cr->interface), "lanplus");

	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
		char *key, *val, *eq;
		size_t i;

		lineno++;
		snprintf(where, sizeof(where), "%s:%u", file, lineno);
		if (n >= sizeof(line)) {
			rc = dim_err_set(err, -EINVAL, "%s: line too long", where);
			goto out;
		}
		memcpy(line, text + pos, n);
		line[n] = '\0';
		pos += n + (nl ? 1 : 0);
		if (memchr(line, '\0', n)) {
			rc = dim_err_set(err, -EINVAL, "%s: a NUL byte", where);
			goto out;
		}
		key = trim(line);
		if (!*key || *key == '#')
			continue;
		eq = strchr(key, '=');
		if (!eq) {
			rc = dim_err_set(err, -EINVAL, "%s: not key=value", where);
			goto out;
		}
		*eq = '\0';
		val = trim(eq + 1);
		key = trim(key);
		for (i = 0; i < ARRAY_SIZE(cred_keys); i++)
			if (!strcmp(cred_keys[i].name, key))
				break;
		if (i == ARRAY_SIZE(cred_keys) || !(snmp ? cred_keys[i].snmp : cred_keys[i].ipmi)) {
			char q[40];

			/* Name the key (cut, printable only): never the value. */
			for (n = 0; key[n] && n < sizeof(q) - 1; n++)
				q[n] = (key[n] >= 0x20 && key[n] < 0x7f) ? key[n] : '?';
			q[n] = '\0';
			rc = dim_err_set(err, -EINVAL, "%s: unknown key \"%s\" for %s credentials",
					 where, q, type);
			goto out;
		}
		if (cred_keys[i].key == K_VERSION)
			seen_version = true;
		rc = cred_set(cr, &cred_keys[i], val, where, err);
		if (rc < 0)
			goto out;
	}
	explicit_bzero(line, sizeof(line));

	if (snmp) {
		if (!seen_version)
			cr->version = cr->user[0] ? 3 : 2;
		if (cr->version == 3) {
			if (!cr->user[0] || !cr->auth_pass[0]) {
				rc = dim_err_set(err, -EINVAL,
						 "%s: SNMPv3 (authPriv) needs user and auth-password",
						 file);
				goto out;
			}
			/* The management module's own SNMPv3 users use one password for both. */
			if (!cr->priv_pass[0])
				memcpy(cr->priv_pass, cr->auth_pass, sizeof(cr->priv_pass));
		} else if (!cr->community[0]) {
			rc = dim_err_set(err, -EINVAL, "%s: SNMPv%s needs community", file,
					 cr->version == 1 ? "1" : "2c");
			goto out;
		}
	} else if (!cr->user[0] || !cr->password[0]) {
		rc = dim_err_set(err, -EINVAL, "%s: IPMI needs user and password", file);
		goto out;
	}
	return 0;

out:
	explicit_bzero(line, sizeof(line));
	power_creds_wipe(cr);
	return rc;
}

int power_creds_load(const char *file, const char *type, struct power_creds *cr,
		     struct dim_err *err)
{
	char buf[8192];
	struct stat st;
	ssize_t n;
	size_t len = 0;
	int fd, rc;

	fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return dim_err_set(err, -errno, "%s: %s", file, strerror(errno));
	if (fstat(fd, &st) < 0) {
		rc = dim_err_set(err, -errno, "%s: %s", file, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = dim_err_set(err, -EINVAL, "%s: not a regular file", file);
		goto out;
	}
	/* As ssh does with private keys: secrets others can read are no secrets. */
	if (st.st_mode & 077) {
		rc = dim_err_set(err, -EACCES,
				 "%s: group or others may use it (mode %04o): refused, chmod 600 %s",
				 file, (unsigned)(st.st_mode & 07777), file);
		goto out;
	}
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		rc = dim_err_set(err, -EACCES, "%s: owned by uid %u, neither root nor us: refused",
				 file, (unsigned)st.st_uid);
		goto out;
	}
	for (;;) {
		n = read(fd, buf + len, sizeof(buf) - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = dim_err_set(err, -errno, "%s: %s", file, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len == sizeof(buf)) {
			rc = dim_err_set(err, -EFBIG, "%s: too big for a credentials file", file);
			goto out;
		}
	}
	rc = power_creds_parse(buf, len, file, type, cr, err);
out:
	explicit_bzero(buf, sizeof(buf));
	close(fd);
	return rc;
}

void power_creds_wipe(struct power_creds *cr)
{
	explicit_bzero(cr->community, sizeof(cr->community));
	explicit_bzero(cr->auth_pass, sizeof(cr->auth_pass));
	explicit_bzero(cr->priv_pass, sizeof(cr->priv_pass));
	explicit_bzero(cr->password, sizeof(cr->password));
}

/* ---------------------------------------------------------------- MACs */

int power_parse_mac(const char *text, size_t len, uint8_t mac[6])
{
	size_t i = 0, k;

	/* Modules pad some values with blanks; a range "A -> B" starts with A. */
	while (i < len && text[i] == ' ')
		i++;
	for (k = 0; k < 6; k++) {
		int hi, lo;

		if (len - i < 2)
			return 0;
		hi = hex_digit(text[i]);
		lo = hex_digit(text[i + 1]);
		if (hi < 0 || lo < 0)
			return 0;
		mac[k] = (uint8_t)(hi << 4 | lo);
		i += 2;
		if (k < 5) {
			if (i >= len || (text[i] != ':' && text[i] != '-'))
				return 0;
			i++;
		}
	}
	/* What may follow: nothing, blanks, or " -> " and the range's end. */
	while (i < len && text[i] == ' ')
		i++;
	if (i < len && !(len - i >= 2 && text[i] == '-' && text[i + 1] == '>'))
		return 0;
	return 1;
}

/* ---------------------------------------------------------------- discovery */

bool power_boot_mac(const struct power_result *r, unsigned nic, uint8_t mac[6])
{
	if (r->rc < 0 || r->empty || !r->n_macs)
		return false;
	for (unsigned i = 0; i < r->n_macs && i < POWER_MAX_MACS; i++)
		if (!nic || r->mac_nic[i] == nic) {
			memcpy(mac, r->macs[i], 6);
			return true;
		}
	return false;
}

static const char *const verdict_names[] = {
	[PV_NEW] = "new",
	[PV_SAME] = "unchanged",
	[PV_CHANGED] = "changed",
	[PV_MOVED] = "moved",
	[PV_DEFINED] = "defined for another blade",
	[PV_DUPLICATE] = "duplicate",
	[PV_NO_MAC] = "no MAC",
};

const char *power_verdict_name(enum power_verdict v)
{
	return (unsigned)v < ARRAY_SIZE(verdict_names) ? verdict_names[v] : "?";
}

static unsigned owner_of(const struct cluster *c, const uint8_t mac[6], unsigned except)
{
	unsigned i;

	for (i = 0; i < c->n_blades; i++)
		if (i != except && c->blades[i].has_mac && !memcmp(c->blades[i].mac, mac, 6))
			return i;
	return CL_NONE;
}

unsigned power_discover_judge(const struct cluster *def, const struct cluster *cur,
			      struct power_found *found, unsigned n, bool force)
{
	unsigned i, j, stops = 0;

	for (i = 0; i < n; i++) {
		struct power_found *f = &found[i];
		const struct cl_blade *b = &cur->blades[f->blade];

		f->other = CL_NONE;
		if (!f->has_mac) {
			f->verdict = PV_NO_MAC;
			stops++;
			continue;
		}
		f->verdict = PV_NEW;
		for (j = 0; j < n; j++)
			if (j != i && found[j].has_mac && !memcmp(found[j].mac, f->mac, 6)) {
				f->verdict = PV_DUPLICATE;
				f->other = found[j].blade;
				break;
			}
		if (f->verdict == PV_DUPLICATE)
			goto judged;
		f->other = owner_of(def, f->mac, f->blade);
		if (f->other != CL_NONE) {
			f->verdict = PV_DEFINED;
			goto judged;
		}
		f->other = owner_of(cur, f->mac, f->blade);
		if (f->other != CL_NONE) {
			f->verdict = PV_MOVED;
			goto judged;
		}
		if (b->has_mac && !memcmp(b->mac, f->mac, 6)) {
			f->verdict = PV_SAME;
		} else if (b->has_mac) {
			f->verdict = PV_CHANGED;
			memcpy(f->old, b->mac, 6);
		}
judged:
		if (f->verdict == PV_DEFINED || f->verdict == PV_DUPLICATE ||
		    (!force && (f->verdict == PV_CHANGED || f->verdict == PV_MOVED)))
			stops++;
	}
	return stops;
}

/* ---------------------------------------------------------------- workers */

void power_sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

void power_emit(struct power_worker *w, struct power_result *r)
{
	r->chassis = w->ch->index;
	if (r->bay) {
		const struct cl_blade *b = &w->c->blades[w->ch->first_blade + r->bay - 1];

		r->blade = b->index;
	} else {
		r->blade = CL_NONE;
	}
	/* One record, smaller than PIPE_BUF: one write. A dead parent is no worker's concern. */
	if (write_full(w->fd, r, sizeof(*r)) < 0)
		_exit(3);
}

void power_fail(struct power_worker *w, unsigned bay, int rc, const char *fmt, ...)
{
	struct power_result r = { .bay = bay, .rc = rc, .state = POWER_S_UNKNOWN };
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r.text, sizeof(r.text), fmt, ap);
	va_end(ap);
	power_emit(w, &r);
}

struct task {
	unsigned chassis;
	bool *want;		/* per bay */
	unsigned n_want;
	bool *got;		/* per bay: a result arrived */
	pid_t pid;
	int fd;
	struct power_result buf;
	size_t have;
	bool done;
};

struct runner {
	const struct cluster *c;
	const struct power_job *job;
	struct power_creds *creds;	/* per c->creds entry, loaded when used */
	bool *loaded;
	struct task *tasks;
	unsigned n_tasks;
	int (*fn)(const struct power_result *r, void *arg);
	void *arg;
	bool stop;
	int failed;
};

static void deliver(struct runner *R, struct task *t, const struct power_result *r)
{
	if (r->bay) {
		if (r->bay > R->c->chassis[t->chassis].n_bays || !t->want[r->bay - 1] ||
		    t->got[r->bay - 1])
			return;	/* a confused worker: the bay's result is made up below */
		t->got[r->bay - 1] = true;
	}
	if (r->rc < 0)
		R->failed++;
	if (!R->stop && R->fn(r, R->arg))
		R->stop = true;
}

/* Results for the bays a worker never reported (it died, or was confused). */
static void fill_missing(struct runner *R, struct task *t, const char *why)
{
	const struct cl_chassis *ch = &R->c->chassis[t->chassis];
	unsigned bay;

	for (bay = 1; bay <= ch->n_bays; bay++) {
		struct power_result r = { .chassis = t->chassis, .bay = bay, .rc = -EIO,
					  .state = POWER_S_UNKNOWN };

		if (!t->want[bay - 1] || t->got[bay - 1])
			continue;
		r.blade = ch->first_blade + bay - 1;
		snprintf(r.text, sizeof(r.text), "%s (%s): %s", ch->mm_name, ch->linear, why);
		deliver(R, t, &r);
	}
}

static void worker_main(struct runner *R, struct task *t, int fd)
{
	const struct cl_chassis *ch = &R->c->chassis[t->chassis];
	const struct power_creds *cr = &R->creds[ch->cred];
	const struct power_backend *be = power_backend_find(cr->type);
	struct power_worker w = {
		.c = R->c, .ch = ch, .cr = cr, .job = R->job, .want = t->want, .fd = fd,
		.timeout_ms = R->job->opts.timeout_ms ? R->job->opts.timeout_ms : cr->timeout_ms,
		.retries = R->job->opts.retries >= 0 ? (unsigned)R->job->opts.retries : cr->retries,
	};

	signal(SIGPIPE, SIG_DFL);
	be->chassis(&w);
}

static int task_start(struct runner *R, struct task *t, struct dim_err *err)
{
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return dim_err_set(err, -errno, "pipe: %s", strerror(errno));
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		int rc = -errno;

		close(p[0]);
		close(p[1]);
		return dim_err_set(err, rc, "fork: %s", strerror(-rc));
	}
	if (pid == 0) {
		close(p[0]);
		/* Other tasks' pipes are close-on-exec, not closed: close the read ends we hold. */
		for (unsigned i = 0; i < R->n_tasks; i++)
			if (R->tasks[i].pid > 0 && !R->tasks[i].done)
				close(R->tasks[i].fd);
		worker_main(R, t, p[1]);
		_exit(0);
	}
	close(p[1]);
	t->pid = pid;
	t->fd = p[0];
	return 0;
}

/* Read what a worker sent; at EOF, reap it and make up what it did not send. */
static void task_read(struct runner *R, struct task *t)
{
	ssize_t n = read(t->fd, (char *)&t->buf + t->have, sizeof(t->buf) - t->have);
	int status;

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n > 0) {
		t->have += (size_t)n;
		if (t->have == sizeof(t->buf)) {
			t->buf.text[sizeof(t->buf.text) - 1] = '\0';
			if (t->buf.n_macs > POWER_MAX_MACS)
				t->buf.n_macs = POWER_MAX_MACS;
			deliver(R, t, &t->buf);
			t->have = 0;
		}
		return;
	}
	close(t->fd);
	t->done = true;
	while (waitpid(t->pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFSIGNALED(status)) {
		char why[64];

		snprintf(why, sizeof(why), "its worker was killed by signal %d", WTERMSIG(status));
		fill_missing(R, t, why);
	} else {
		fill_missing(R, t, "its worker ended without an answer for this bay");
	}
}

static int load_creds(struct runner *R, unsigned cred, struct dim_err *err)
{
	const struct cl_cred *cc = &R->c->creds[cred];
	const struct power_backend *be;
	int rc;

	if (R->loaded[cred])
		return 0;
	be = power_backend_find(cc->type);
	if (!be)
		return dim_err_set(err, -ENOTSUP, "%s:%u: credentials %s: no backend for type %s",
				   R->c->file, cc->line, cc->name, cc->type);
	rc = power_creds_load(cc->file, cc->type, &R->creds[cred], err);
	if (rc < 0) {
		dim_err_prefix(err, "credentials %s", cc->name);
		return rc;
	}
	if (be->init) {
		rc = be->init(err);
		if (rc < 0)
			return rc;
	}
	R->loaded[cred] = true;
	return 0;
}

static int plan(struct runner *R, struct dim_err *err)
{
	const struct cluster *c = R->c;
	const struct power_job *job = R->job;
	unsigned i, bay;
	int rc;

	R->tasks = calloc(c->n_chassis ? c->n_chassis : 1, sizeof(*R->tasks));
	if (!R->tasks)
		return dim_err_set(err, -ENOMEM, "out of memory");
	for (i = 0; i < c->n_chassis; i++) {
		const struct cl_chassis *ch = &c->chassis[i];
		struct task *t = &R->tasks[R->n_tasks];

		t->want = calloc(ch->n_bays + 1, sizeof(bool));
		t->got = calloc(ch->n_bays + 1, sizeof(bool));
		t->fd = -1;
		if (!t->want || !t->got) {
			free(t->want);
			free(t->got);
			return dim_err_set(err, -ENOMEM, "out of memory");
		}
		for (bay = 1; bay <= ch->n_bays; bay++) {
			const struct cl_blade *b = &c->blades[ch->first_blade + bay - 1];

			if (job->whole_chassis ? cl_selected(job->sel, i) : cl_selected(job->sel, b->index))
				t->want[bay - 1] = true;
			t->n_want += t->want[bay - 1];
		}
		if (!t->n_want) {
			free(t->want);
			free(t->got);
			continue;
		}
		t->chassis = i;
		R->n_tasks++;
		if (ch->cred == CL_NONE)
			return dim_err_set(err, -EINVAL,
					   "%s: chassis %s has no credentials (<chassis credentials=...>)",
					   c->file, ch->name);
		rc = load_creds(R, ch->cred, err);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int power_run(const struct cluster *c, const struct power_job *job,
	      int (*fn)(const struct power_result *r, void *arg), void *arg, struct dim_err *err)
{
	struct runner R = { .c = c, .job = job, .fn = fn, .arg = arg };
	unsigned parallel = job->opts.parallel ? job->opts.parallel : POWER_PARALLEL;
	unsigned next = 0, running = 0, i;
	struct pollfd *pfd = NULL;
	struct task **pt = NULL;
	void (*old_pipe)(int);
	int rc = 0;

	if ((unsigned)job->op >= POWER_N_OPS)
		return dim_err_set(err, -EINVAL, "unknown power operation %d", job->op);
	if (parallel > POWER_MAX_PARALLEL)
		parallel = POWER_MAX_PARALLEL;
	R.creds = calloc(c->n_creds ? c->n_creds : 1, sizeof(*R.creds));
	R.loaded = calloc(c->n_creds ? c->n_creds : 1, sizeof(*R.loaded));
	if (!R.creds || !R.loaded) {
		rc = dim_err_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	rc = plan(&R, err);
	if (rc < 0)
		goto out;
	pfd = calloc(parallel, sizeof(*pfd));
	pt = calloc(parallel, sizeof(*pt));
	if (!pfd || !pt) {
		rc = dim_err_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	old_pipe = signal(SIGPIPE, SIG_IGN);
	while (next < R.n_tasks || running) {
		unsigned n = 0;

		while (running < parallel && next < R.n_tasks) {
			rc = task_start(&R, &R.tasks[next], err);
			if (rc < 0) {
				/* Those not started fail; those running are waited for. */
				for (i = next; i < R.n_tasks; i++) {
					R.tasks[i].done = true;
					fill_missing(&R, &R.tasks[i], err->msg);
				}
				next = R.n_tasks;
				rc = 0;
				break;
			}
			next++;
			running++;
		}
		for (i = 0; i < next; i++) {
			struct task *t = &R.tasks[i];

			if (t->done || t->pid <= 0)
				continue;
			pfd[n] = (struct pollfd){ .fd = t->fd, .events = POLLIN };
			pt[n++] = t;
		}
		if (!n)
			break;
		if (poll(pfd, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			rc = dim_err_set(err, -errno, "poll: %s", strerror(errno));
			break;
		}
		for (i = 0; i < n; i++) {
			if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			task_read(&R, pt[i]);
			if (pt[i]->done)
				running--;
		}
	}
	signal(SIGPIPE, old_pipe);
	if (!rc)
		rc = R.failed;
out:
	for (i = 0; i < R.n_tasks; i++) {
		free(R.tasks[i].want);
		free(R.tasks[i].got);
	}
	free(R.tasks);
	free(pfd);
	free(pt);
	if (R.creds)
		for (i = 0; i < c->n_creds; i++)
			power_creds_wipe(&R.creds[i]);
	free(R.creds);
	free(R.loaded);
	return rc;
}
