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
#include <stdint.h>

#include "cluster.h"
#include "err.h"

struct dim_state;

/* Open (creating if needed) the state database; readonly for commands that only look. */
int state_open(const char *path, bool readonly, struct dim_state **st, struct dim_err *err);
void state_close(struct dim_state *st);

/*
 * A write transaction: state_begin() takes the write lock (waiting up to
 * timeout_ms for another command to finish), state_commit() makes every
 * change since durable at once, state_rollback() drops them.  A process that
 * dies inside a transaction leaves nothing of it.  what names the command
 * for the message another waiting command shows ("dim dhcp assign").
 */
int state_begin(struct dim_state *st, const char *what, unsigned timeout_ms,
		struct dim_err *err);
int state_commit(struct dim_state *st, struct dim_err *err);
void state_rollback(struct dim_state *st);

/*
 * Record a blade's boot MAC.  A MAC already recorded for another blade is
 * -EEXIST with a message naming both (a blade moved, or a typo): never
 * silently overwritten unless force.  source says where it came from
 * ("manual", "bctool discover").
 */
int state_set_mac(struct dim_state *st, const char *blade, const uint8_t mac[6],
		  const char *source, bool force, struct dim_err *err);
int state_clear_mac(struct dim_state *st, const char *blade, struct dim_err *err);

/* Assign an image to a blade (replacing the definition's <boot> rule for it). */
int state_assign(struct dim_state *st, const char *blade, const char *image,
		 struct dim_err *err);

/*
 * Lay the state over a loaded definition: recorded MACs and assignments win
 * over the definition's.  Entries for blades or images the definition no
 * longer has are reported in err as a warning (returns their count, >= 0)
 * and skipped; a MAC the state gives a blade that the definition gives
 * another blade is -EEXIST.
 */
int state_apply(struct dim_state *st, struct cluster *c, struct dim_err *err);

/* Append a line to the history ("2026-11-21T10:00:00Z dhcp assign b1-b4 -> sles10"). */
int state_log(struct dim_state *st, const char *what, struct dim_err *err);

#endif /* DIM_STATE_H */
