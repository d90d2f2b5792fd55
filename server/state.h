/* SPDX-License-Identifier: MIT */
/*
 * dim's state: what commands change and the cluster definition does not say.
 * Learned MACs (by hand, or discovered through the management modules), image
 * assignments (dim dhcp assign), and a history of changes.  One SQLite
 * database on the management node (default /var/lib/dim/state.db; DIM_STATE or
 * --state): crash-safe (a kill -9 at any moment leaves the old or the new
 * state, never a mix) and locked, so two administrators' commands cannot
 * corrupt it: a writer takes the lock for its whole read-check-write, and a
 * second writer waits a bounded time, then fails with a message naming the
 * holder (pid, command) rather than corrupting or hanging.
 */
#ifndef DIM_STATE_H
#define DIM_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cluster.h"
#include "err.h"

struct dim_state;

/*
 * Open (creating if needed) the state database; readonly for commands that
 * only look.  The directory must exist; a new database is created mode 0640
 * (less if the umask says so), in WAL journal mode with synchronous=FULL:
 * every commit is one fsync'd append to state.db-wal, and a process killed at
 * any moment leaves the last committed state (see state.c for why).  A
 * read-only open of a database no writer has set up yet is an empty state.
 * Errors: -ENOENT/-ENOTDIR (no such directory or file), -EINVAL (not a dim
 * state database), -ENOTSUP (schema written by a newer dim), -EBUSY (locked
 * while the schema had to be set up), -ENOSPC, -EACCES, -EIO.
 */
int state_open(const char *path, bool readonly, struct dim_state **st, struct dim_err *err);
/* Rolls back an open transaction. */
void state_close(struct dim_state *st);

/*
 * A write transaction: state_begin() takes the write lock (waiting up to
 * timeout_ms for another command to finish), state_commit() makes every
 * change since durable at once, state_rollback() drops them.  A process that
 * dies inside a transaction leaves nothing of it.  what names the command
 * for the message another waiting command shows ("dim dhcp assign").
 *
 * The lock is a flock(2) on PATH.lock that records pid, user, command and
 * time; a writer that still waits after timeout_ms fails with -EBUSY and
 * "PATH: database is locked by pid 1234 (dim dhcp assign, user root) since
 * 10:02:03; gave up after 5.0 s, try again".  Readers take no lock and see
 * only committed transactions.  Every write below (state_set_mac ...
 * state_log) must happen inside state_begin/state_commit (else -EINVAL); a
 * write that fails leaves the transaction to be rolled back.
 * state_commit() failing (-ENOSPC "PATH: commit: disk full") has kept
 * nothing and released the lock; state_begin on a read-only handle is -EROFS.
 */
int state_begin(struct dim_state *st, const char *what, unsigned timeout_ms,
		struct dim_err *err);
int state_commit(struct dim_state *st, struct dim_err *err);
void state_rollback(struct dim_state *st);

/*
 * Record a blade's boot MAC.  A MAC already recorded for another blade is
 * -EEXIST with a message naming both (a blade moved, or a typo): never
 * silently overwritten unless force.  source says where it came from
 * ("manual", "bctool discover").  With force the other blade loses the MAC
 * and the move is written to the history.  Only unicast MACs (-EINVAL for
 * multicast, broadcast or all zeros).  Blade and image names are the
 * definition's hierarchical names ("s01c1b07", not "b7"): printable, no
 * spaces, shorter than CL_NAME_MAX; the state does not know the cluster,
 * state_apply() checks names against it.
 */
int state_set_mac(struct dim_state *st, const char *blade, const uint8_t mac[6],
		  const char *source, bool force, struct dim_err *err);
/* Forget a blade's MAC: 1 if there was one, 0 if not, or -errno. */
int state_clear_mac(struct dim_state *st, const char *blade, struct dim_err *err);
/* A blade's recorded MAC: 1 (mac filled in), 0 if none, or -errno. */
int state_get_mac(struct dim_state *st, const char *blade, uint8_t mac[6], struct dim_err *err);

/* Assign an image to a blade (replacing the definition's <boot> rule for it). */
int state_assign(struct dim_state *st, const char *blade, const char *image,
		 struct dim_err *err);
/* Back to the definition's <boot> rule: 1 if there was an assignment, 0 if not, or -errno. */
int state_unassign(struct dim_state *st, const char *blade, struct dim_err *err);
/* A blade's assigned image: 1 (image filled in), 0 if none, or -errno (-ENAMETOOLONG). */
int state_get_assignment(struct dim_state *st, const char *blade, char *image, size_t size,
			 struct dim_err *err);

/*
 * Lay the state over a loaded definition: recorded MACs and assignments win
 * over the definition's.  Entries for blades or images the definition no
 * longer has are reported in err as a warning (returns their count, >= 0)
 * and skipped; a MAC the state gives a blade that the definition gives
 * another blade is -EEXIST (and c is left unchanged).  Reads one snapshot;
 * called inside a write transaction it sees that transaction's changes, so a
 * writer that must see what another writer committed before it took the lock
 * applies (to a freshly loaded definition) after state_begin().
 */
int state_apply(struct dim_state *st, struct cluster *c, struct dim_err *err);

/*
 * Append a line to the history ("2026-11-21T10:00:00Z dhcp assign b1-b4 -> sles10"):
 * the time (UTC, ISO 8601), the user (getuid(); "root (sudo alice)" under
 * sudo) and the text, control characters replaced by spaces.
 */
int state_log(struct dim_state *st, const char *what, struct dim_err *err);

/*
 * Listing, each in one consistent snapshot (only committed data, or the
 * caller's own open transaction).  The callback's strings live until it
 * returns; a non-zero return stops the walk and is returned.  Otherwise the
 * number of entries visited, or -errno + err.
 */
struct state_mac {
	const char *blade;
	const char *mac_text;	/* as stored, "52:54:00:00:01:01" */
	uint8_t mac[6];
	bool mac_ok;		/* false: mac_text is not a MAC (edited by hand) */
	const char *source;	/* "manual", "bctool discover" ... */
	const char *time;	/* when it was recorded, UTC ISO 8601 */
};
struct state_assignment {
	const char *blade;
	const char *image;
	const char *time;
};
struct state_history {
	int64_t id;		/* increasing */
	const char *time;
	const char *user;
	const char *text;
};
int state_list_macs(struct dim_state *st, int (*fn)(const struct state_mac *m, void *arg),
		    void *arg, struct dim_err *err);		/* by blade name */
int state_list_assignments(struct dim_state *st,
			   int (*fn)(const struct state_assignment *a, void *arg), void *arg,
			   struct dim_err *err);		/* by blade name */
/* The last n lines (0: all), oldest first. */
int state_list_history(struct dim_state *st, unsigned last,
		       int (*fn)(const struct state_history *h, void *arg), void *arg,
		       struct dim_err *err);

#endif /* DIM_STATE_H */
