/* SPDX-License-Identifier: MIT */
/*
 * Drives dim's state store from separate processes for tests/e2e/test_state.py:
 * writers that hold the lock, wait for it, race each other, get killed in
 * the middle of a large transaction or run out of disk.  Built by that test
 * from server/state.c; not installed.
 *
 *   state_driver DB init N              N blades at generation 0
 *   state_driver DB bump N              one transaction: every blade to generation g+1
 *   state_driver DB check N             the state is one whole generation (exit 0) or not
 *   state_driver DB hold MS WHAT        take the lock, change a row, keep it MS, commit
 *   state_driver DB wait TIMEOUT WHAT   wait up to TIMEOUT ms for the lock, change a row
 *   state_driver DB get BLADE           print a blade's image (a reader)
 *   state_driver DB incr BLADE K        K read-modify-write transactions on one counter
 *   state_driver DB assign BLADE IMAGE  one assignment
 *   state_driver DB mac BLADE MAC       one MAC (xx:xx:xx:xx:xx:xx)
 *
 * Generation g: blade i has MAC 02:00:gg:gg:ii:ii and image "gen-g", and the
 * history has g + 1 lines.  Progress lines on stdout are flushed at once so
 * a test that kills the process knows how far it got; "stamp" values are
 * CLOCK_MONOTONIC milliseconds.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "state.h"

static struct dim_err err;

static long long stamp(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fflush(stdout);
}

static int fail(int rc)
{
	fprintf(stderr, "state_driver: %s\n", err.msg);
	return rc < 0 ? 1 : rc;
}

static void blade_name(unsigned i, char *buf, size_t size)
{
	snprintf(buf, size, "s01c1b%04u", i);
}

static void gen_mac(unsigned gen, unsigned i, uint8_t mac[6])
{
	mac[0] = 0x02;
	mac[1] = 0x00;
	mac[2] = (uint8_t)(gen >> 8);
	mac[3] = (uint8_t)gen;
	mac[4] = (uint8_t)(i >> 8);
	mac[5] = (uint8_t)i;
}

/* Every blade to generation gen, inside the open transaction. */
static int write_gen(struct dim_state *st, unsigned n, unsigned gen)
{
	char name[32], image[32], line[64];
	uint8_t mac[6];
	unsigned i;
	int rc;

	snprintf(image, sizeof(image), "gen-%u", gen);
	for (i = 0; i < n; i++) {
		blade_name(i, name, sizeof(name));
		gen_mac(gen, i, mac);
		rc = state_set_mac(st, name, mac, "state_driver", false, &err);
		if (!rc)
			rc = state_assign(st, name, image, &err);
		if (rc)
			return rc;
	}
	snprintf(line, sizeof(line), "state_driver: all %u blades to %s", n, image);
	return state_log(st, line, &err);
}

static int cmd_init(struct dim_state *st, unsigned n)
{
	int rc = state_begin(st, "state_driver init", 10000, &err);

	if (!rc)
		rc = write_gen(st, n, 0);
	if (!rc)
		rc = state_commit(st, &err);
	return rc;
}

static int cmd_bump(struct dim_state *st, unsigned n)
{
	char image[CL_NAME_MAX];
	unsigned gen;
	int rc;

	rc = state_begin(st, "state_driver bump", 10000, &err);
	if (rc)
		return rc;
	rc = state_get_assignment(st, "s01c1b0000", image, sizeof(image), &err);
	if (rc != 1 || sscanf(image, "gen-%u", &gen) != 1) {
		if (rc >= 0)
			snprintf(err.msg, sizeof(err.msg), "no generation recorded (init first)");
		return -EINVAL;
	}
	say("begun %u %lld\n", gen, stamp());
	rc = write_gen(st, n, gen + 1);
	if (rc)
		return rc;
	say("commit %lld\n", stamp());
	rc = state_commit(st, &err);
	if (rc)
		return rc;
	say("committed %u %lld\n", gen + 1, stamp());
	return 0;
}

struct tally {
	unsigned n, bad, first;
	long long gen;	/* -1: none seen yet, -2: mixed */
};

static void see(struct tally *t, long long gen)
{
	if (t->gen == -1)
		t->gen = gen;
	else if (t->gen != gen)
		t->gen = -2;
}

static int tally_mac(const struct state_mac *m, void *arg)
{
	struct tally *t = arg;
	unsigned i;

	t->n++;
	if (!m->mac_ok || sscanf(m->blade, "s01c1b%u", &i) != 1 || m->mac[4] != (uint8_t)(i >> 8) ||
	    m->mac[5] != (uint8_t)i) {
		t->bad++;
		return 0;
	}
	see(t, m->mac[2] << 8 | m->mac[3]);
	return 0;
}

static int tally_assignment(const struct state_assignment *a, void *arg)
{
	struct tally *t = arg;
	unsigned gen;

	t->n++;
	if (sscanf(a->image, "gen-%u", &gen) != 1)
		t->bad++;
	else
		see(t, gen);
	return 0;
}

static int tally_history(const struct state_history *h, void *arg)
{
	(void)h;
	((struct tally *)arg)->n++;
	return 0;
}

static int cmd_check(struct dim_state *st, unsigned n)
{
	struct tally macs = { .gen = -1 }, assigns = { .gen = -1 }, hist = { .gen = -1 };
	int rc, ok;

	rc = state_list_macs(st, tally_mac, &macs, &err);
	if (rc >= 0)
		rc = state_list_assignments(st, tally_assignment, &assigns, &err);
	if (rc >= 0)
		rc = state_list_history(st, 0, tally_history, &hist, &err);
	if (rc < 0)
		return rc;
	ok = macs.n == n && assigns.n == n && !macs.bad && !assigns.bad && macs.gen >= 0 &&
	     macs.gen == assigns.gen && hist.n == macs.gen + 1;
	say("gen=%lld macs=%u assignments=%u history=%u bad=%u consistent=%d\n", macs.gen, macs.n,
	    assigns.n, hist.n, macs.bad + assigns.bad, ok);
	return ok ? 0 : 3;
}

static int cmd_hold(struct dim_state *st, unsigned ms, const char *what)
{
	int rc = state_begin(st, what, 0, &err);

	if (!rc)
		rc = state_assign(st, "s01c1b0000", "held", &err);
	if (rc)
		return rc;
	say("locked %ld %lld\n", (long)getpid(), stamp());
	usleep(ms * 1000);
	say("releasing %lld\n", stamp());
	return state_commit(st, &err);
}

static int cmd_wait(struct dim_state *st, unsigned timeout, const char *what)
{
	long long t0 = stamp();
	int rc = state_begin(st, what, timeout, &err);

	if (rc)
		return rc;
	say("got %lld %lld\n", stamp(), stamp() - t0);
	rc = state_assign(st, "s01c1b0000", "waiter", &err);
	if (!rc)
		rc = state_log(st, what, &err);
	return rc ? rc : state_commit(st, &err);
}

static int cmd_get(struct dim_state *st, const char *blade)
{
	char image[CL_NAME_MAX];
	int rc = state_get_assignment(st, blade, image, sizeof(image), &err);

	if (rc < 0)
		return rc;
	say("image %s %lld\n", rc ? image : "-", stamp());
	return 0;
}

static int cmd_incr(struct dim_state *st, const char *blade, unsigned k)
{
	char image[CL_NAME_MAX], next[32];
	unsigned i, v;
	int rc;

	for (i = 0; i < k; i++) {
		rc = state_begin(st, "state_driver incr", 60000, &err);
		if (rc)
			return rc;
		rc = state_get_assignment(st, blade, image, sizeof(image), &err);
		if (rc < 0)
			return rc;
		v = 0;
		if (rc == 1 && sscanf(image, "n-%u", &v) != 1)
			v = 0;
		snprintf(next, sizeof(next), "n-%u", v + 1);
		rc = state_assign(st, blade, next, &err);
		if (!rc)
			rc = state_log(st, next, &err);
		if (!rc)
			rc = state_commit(st, &err);
		if (rc)
			return rc;
	}
	return 0;
}

static int cmd_assign(struct dim_state *st, const char *blade, const char *image)
{
	int rc = state_begin(st, "state_driver assign", 10000, &err);

	if (!rc)
		rc = state_assign(st, blade, image, &err);
	return rc ? rc : state_commit(st, &err);
}

static int cmd_mac(struct dim_state *st, const char *blade, const char *text)
{
	unsigned v[6], i;
	uint8_t mac[6];
	int rc;

	if (sscanf(text, "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6)
		return 2;
	for (i = 0; i < 6; i++)
		mac[i] = (uint8_t)v[i];
	rc = state_begin(st, "state_driver mac", 10000, &err);
	if (!rc)
		rc = state_set_mac(st, blade, mac, "manual", false, &err);
	return rc ? rc : state_commit(st, &err);
}

int main(int argc, char **argv)
{
	static const char *const readers[] = { "check", "get" };
	struct dim_state *st;
	bool readonly = false;
	const char *cmd;
	size_t i;
	int rc;

	if (argc < 3) {
		fprintf(stderr, "usage: state_driver DB init|bump|check|hold|wait|get|incr ARGS\n");
		return 2;
	}
	cmd = argv[2];
	for (i = 0; i < sizeof(readers) / sizeof(readers[0]); i++)
		readonly |= !strcmp(cmd, readers[i]);
	rc = state_open(argv[1], readonly, &st, &err);
	if (rc)
		return fail(rc);
	say("open %lld\n", stamp());
	if (!strcmp(cmd, "init") && argc == 4)
		rc = cmd_init(st, (unsigned)atoi(argv[3]));
	else if (!strcmp(cmd, "bump") && argc == 4)
		rc = cmd_bump(st, (unsigned)atoi(argv[3]));
	else if (!strcmp(cmd, "check") && argc == 4)
		rc = cmd_check(st, (unsigned)atoi(argv[3]));
	else if (!strcmp(cmd, "hold") && argc == 5)
		rc = cmd_hold(st, (unsigned)atoi(argv[3]), argv[4]);
	else if (!strcmp(cmd, "wait") && argc == 5)
		rc = cmd_wait(st, (unsigned)atoi(argv[3]), argv[4]);
	else if (!strcmp(cmd, "get") && argc == 4)
		rc = cmd_get(st, argv[3]);
	else if (!strcmp(cmd, "incr") && argc == 5)
		rc = cmd_incr(st, argv[3], (unsigned)atoi(argv[4]));
	else if (!strcmp(cmd, "assign") && argc == 5)
		rc = cmd_assign(st, argv[3], argv[4]);
	else if (!strcmp(cmd, "mac") && argc == 5)
		rc = cmd_mac(st, argv[3], argv[4]);
	else
		rc = 2;
	if (rc == 2) {
		fprintf(stderr, "state_driver: bad arguments for %s\n", cmd);
		state_close(st);
		return 2;
	}
	if (rc == 3) {
		state_close(st);
		return 3;
	}
	if (rc)
		rc = fail(rc);
	state_close(st);
	say("closed %lld\n", stamp());
	return rc;
}
