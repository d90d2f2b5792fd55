/* SPDX-License-Identifier: MIT */
/*
 * dim nfs check: mount every export a blade needs as an NFS client (libnfs)
 * and look inside, from wherever dim runs (the management node, whose
 * address every export names).
 *
 * One event loop drives libnfs's asynchronous calls for many exports at once
 * (a context per mount, so per TCP connection), bounded by our own deadline
 * on CLOCK_MONOTONIC: libnfs's synchronous calls wait forever for a server
 * that drops packets, its own timeout notwithstanding (measured with 4.0).
 *
 * Per image server, in this order:
 *  1. a probe: the MOUNT protocol's export list (what showmount -e shows, as
 *     this host may see it).  It tells "not exported (to us)" from "refused",
 *     and a server that does not answer at all fails its blades at once
 *     instead of one timeout each.  A server with no rpcbind (NFSv4 only)
 *     refuses the connection: that is an answer, the checks go on.
 *  2. the RO tree of each image its selected blades boot, once per server:
 *     the init (default /sbin/init) is looked up component by component, and
 *     symbolic links are followed here, inside the export, absolute ones from
 *     the export's root as the blade sees them.  libnfs cannot: it refuses
 *     absolute links over NFSv3 and resolves them wrongly over NFSv4.
 *  3. each selected blade's RW directory: rw.img is a regular file of the
 *     image's rw-size (st_size, a sparse file is fine).
 * Servers are interleaved, at most PER_SERVER connections to one at a time.
 *
 * NFS version: the image's (dim.nfs), "auto" trying 4, then 3, as the
 * linuxrc does; the version that worked is tried first for the server's
 * next exports.  No UMNT is sent: it costs a connection to mountd and only
 * tidies the server's rmtab.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <nfsc/libnfs.h>
#include <nfsc/libnfs-raw.h>
#include <nfsc/libnfs-raw-mount.h>

#include "contract.h"
#include "nfs.h"

#define DEFAULT_TIMEOUT_MS	5000
#define DEFAULT_JOBS		32
#define PER_SERVER		8	/* connections to one server at once */
#define MAX_LINKS		40	/* symbolic links in one lookup, as Linux's */
#define MSG_MAX			320

enum job_kind { JOB_PROBE, JOB_RO, JOB_RW };
enum job_state { J_QUEUED, J_ACTIVE, J_DONE };
/* How an attempt failed: the server answered no, or there was no answer. */
enum fail_class { F_NONE, F_ANSWER, F_TRANSPORT };

struct walk {
	char todo[1024];	/* what is left to look up, relative */
	char resolved[1024];	/* looked up so far, "" = the export's root */
	char cand[1024];	/* the path being looked at now */
	size_t link_len;	/* the size lstat gave the link being read */
	unsigned links;
};

struct server {
	const struct cl_server *s;
	char addr[INET_ADDRSTRLEN];
	enum { S_PROBING, S_UP, S_DOWN } state;
	char down[MSG_MAX];		/* why it is down */
	char **exports;			/* its export list as we may see it */
	unsigned n_exports;
	bool have_list;
	int pref;			/* version that worked last, 0: none yet */
	unsigned active;
	unsigned *queue, n_queue, next;	/* its jobs, in order */
};

struct checker;

struct job {
	struct checker *ck;
	enum job_kind kind;
	enum job_state state;
	unsigned server;		/* index into ck->servers */
	const struct cl_image *image;
	const struct cl_blade *blade;	/* JOB_RW */
	char path[NFS_PATH_MAX];	/* the export */
	bool no_init;			/* JOB_RO: the init is in the RW image, not here */

	/* the running attempt */
	struct nfs_context *nfs;
	struct rpc_context *rpc;	/* JOB_PROBE */
	int version;
	unsigned tried;			/* bit v: version v tried */
	long long deadline;
	bool over;			/* the attempt is over (callbacks ignored from now) */
	enum fail_class fail;
	int err;			/* the failure's errno, when the server gave one */
	bool timed_out;			/* no answer before the deadline */
	bool at_mount;			/* it was the mount that failed */
	char msg[MSG_MAX];
	struct walk *walk;

	/* the outcome */
	bool ok;
	int ok_version;
	char found[MSG_MAX];		/* RO: the init it found */
	enum fail_class first_fail;	/* the first attempt's failure, kept on fallback */
	int first_version, first_err;
	bool first_at_mount;
	char first_msg[MSG_MAX];
};

struct checker {
	const struct cluster *c;
	const struct nfs_check_opts *o;
	const char *init;
	unsigned timeout_ms;
	struct server *servers;
	unsigned n_servers;
	struct job *jobs;
	unsigned n_jobs, n_done, rr;
	unsigned *act, n_act;		/* the active jobs */
	unsigned mounts;
	unsigned *ro_job;		/* [server * n_images + image] + 1, 0: none */
	unsigned *rw_job;		/* [blade] + 1 */
	unsigned *server_of;		/* cluster server index -> ck server + 1 */
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---------------------------------------------------------------- attempts */

/* Messages are cut to their buffer; a path of hundreds of characters may lose its end. */
__attribute__((format(printf, 3, 4)))
static void say(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, size, fmt, ap);
	va_end(ap);
}

__attribute__((format(printf, 3, 4)))
static void attempt_fail(struct job *j, enum fail_class fail, const char *fmt, ...)
{
	va_list ap;

	if (j->over)
		return;
	j->over = true;
	j->ok = false;
	j->fail = fail;
	va_start(ap, fmt);
	vsnprintf(j->msg, sizeof(j->msg), fmt, ap);
	va_end(ap);
}

static void attempt_ok(struct job *j)
{
	if (j->over)
		return;
	j->over = true;
	j->ok = true;
	j->ok_version = j->version;
	j->fail = F_NONE;
}

/* libnfs's message without its "mount_cb: " style prefixes. */
static const char *lib_msg(const void *data)
{
	const char *m = data ? data : "unknown error";

	for (;;) {
		const char *colon = strstr(m, ": ");

		if (!colon || colon - m > 24 || memchr(m, ' ', (size_t)(colon - m)))
			return m;
		m = colon + 2;
	}
}

/* libnfs says "Socket failed with POLLHUP" for a refused connection, among others. */
static const char *transport_msg(const char *m)
{
	if (!m || !*m)
		return "connection failed";
	if (strstr(m, "POLLHUP"))
		return "connection refused or closed";
	return m;
}

static bool answer_errno(int err)
{
	return err == -EACCES || err == -EPERM || err == -ENOENT || err == -ENOTDIR ||
	       err == -ELOOP || err == -EINVAL || err == -ESTALE;
}

static void walk_step(struct job *j);

static void readlink_cb(int err, struct nfs_context *nfs, void *data, void *priv)
{
	struct job *j = priv;
	struct walk *w = j->walk;
	char next[sizeof(w->todo)];
	const char *target = data;
	size_t len;

	(void)nfs;
	if (j->over)
		return;
	if (err < 0) {
		attempt_fail(j, F_ANSWER, "init: readlink /%s: %s", w->cand, lib_msg(data));
		return;
	}
	/*
	 * libnfs 4.0 hands NFSv4 link targets over without their NUL: the
	 * link's size, from its lstat, says where the target ends.
	 */
	len = strnlen(target, w->link_len);
	if (!len) {
		attempt_fail(j, F_ANSWER, "init: /%s is an empty symbolic link", w->cand);
		return;
	}
	/* An absolute target starts again from the export's root, the blade's "/". */
	if (target[0] == '/')
		w->resolved[0] = '\0';
	if ((size_t)snprintf(next, sizeof(next), "%.*s/%s", (int)len, target, w->todo) >=
	    sizeof(next)) {
		attempt_fail(j, F_ANSWER, "init: /%s: link target too long", w->cand);
		return;
	}
	memcpy(w->todo, next, sizeof(next));
	walk_step(j);
}

static void walk_stat_cb(int err, struct nfs_context *nfs, void *data, void *priv)
{
	struct job *j = priv;
	struct walk *w = j->walk;
	const struct nfs_stat_64 *st = data;
	bool last;

	if (j->over)
		return;
	if (err < 0) {
		if (err == -ENOENT)
			attempt_fail(j, F_ANSWER, "no %s in the RO tree (/%s is missing)", j->ck->init,
				     w->cand);
		else
			attempt_fail(j, F_ANSWER, "init: /%s: %s", w->cand, lib_msg(data));
		return;
	}
	if (S_ISLNK(st->nfs_mode)) {
		w->link_len = st->nfs_size < sizeof(w->todo) ? (size_t)st->nfs_size : sizeof(w->todo);
		if (++w->links > MAX_LINKS) {
			attempt_fail(j, F_ANSWER, "init %s: too many symbolic links", j->ck->init);
			return;
		}
		if (nfs_readlink_async(nfs, w->cand[0] ? w->cand : "/", readlink_cb, j) < 0)
			attempt_fail(j, F_TRANSPORT, "init: readlink: %s", nfs_get_error(nfs));
		return;
	}
	last = w->todo[strspn(w->todo, "/")] == '\0';
	if (!last && !S_ISDIR(st->nfs_mode)) {
		attempt_fail(j, F_ANSWER, "init %s: /%s is not a directory", j->ck->init, w->cand);
		return;
	}
	memcpy(w->resolved, w->cand, sizeof(w->resolved));
	if (!last) {
		walk_step(j);
		return;
	}
	if (!S_ISREG(st->nfs_mode)) {
		attempt_fail(j, F_ANSWER, "init %s (/%s) is not a regular file", j->ck->init,
			     w->resolved);
		return;
	}
	if (!(st->nfs_mode & 0111)) {
		attempt_fail(j, F_ANSWER, "init %s (/%s) is not executable (mode %04o)", j->ck->init,
			     w->resolved, (unsigned)(st->nfs_mode & 07777));
		return;
	}
	say(j->found, sizeof(j->found), "/%s", w->resolved);
	attempt_ok(j);
}

/* Look up the next component of todo below resolved (lstat: links are ours to follow). */
static void walk_step(struct job *j)
{
	struct walk *w = j->walk;
	char *comp, *rest;
	size_t len;

	for (;;) {
		comp = w->todo + strspn(w->todo, "/");
		if (!*comp) {
			/* Only "/" or "." was asked for: the root is no init. */
			attempt_fail(j, F_ANSWER, "init %s names a directory", j->ck->init);
			return;
		}
		len = strcspn(comp, "/");
		rest = comp + len;
		if (len == 1 && comp[0] == '.') {
			memmove(w->todo, rest, strlen(rest) + 1);
			continue;
		}
		if (len == 2 && comp[0] == '.' && comp[1] == '.') {
			/* Never above the root, as on the blade. */
			char *slash = strrchr(w->resolved, '/');

			if (slash)
				*slash = '\0';
			else
				w->resolved[0] = '\0';
			memmove(w->todo, rest, strlen(rest) + 1);
			continue;
		}
		break;
	}
	if ((size_t)snprintf(w->cand, sizeof(w->cand), "%s%s%.*s", w->resolved,
			     w->resolved[0] ? "/" : "", (int)len, comp) >= sizeof(w->cand)) {
		attempt_fail(j, F_ANSWER, "init %s: path too long", j->ck->init);
		return;
	}
	memmove(w->todo, rest, strlen(rest) + 1);
	{
		char path[sizeof(w->cand) + 1];

		say(path, sizeof(path), "/%s", w->cand);
		if (nfs_lstat64_async(j->nfs, path, walk_stat_cb, j) < 0)
			attempt_fail(j, F_TRANSPORT, "init: lstat: %s", nfs_get_error(j->nfs));
	}
}

static void rw_stat_cb(int err, struct nfs_context *nfs, void *data, void *priv)
{
	struct job *j = priv;
	const struct nfs_stat_64 *st = data;
	char want[32], have[32];

	(void)nfs;
	if (j->over)
		return;
	if (err < 0) {
		if (err == -ENOENT)
			attempt_fail(j, F_ANSWER, "no %s in it", DIM_DEFAULT_RWIMG);
		else
			attempt_fail(j, F_ANSWER, "%s: %s", DIM_DEFAULT_RWIMG, lib_msg(data));
		return;
	}
	if (!S_ISREG(st->nfs_mode)) {
		attempt_fail(j, F_ANSWER, "%s is not a regular file", DIM_DEFAULT_RWIMG);
		return;
	}
	nfs_size_str(st->nfs_size, have, sizeof(have));
	nfs_size_str(j->image->rw_size, want, sizeof(want));
	if (j->image->rw_size && st->nfs_size != j->image->rw_size) {
		attempt_fail(j, F_ANSWER, "%s is %s%s instead of %s", DIM_DEFAULT_RWIMG, have,
			     st->nfs_size < 1024 ? " bytes" : "", want);
		return;
	}
	say(j->found, sizeof(j->found), "%s %s", DIM_DEFAULT_RWIMG, have);
	attempt_ok(j);
}

static void mount_cb(int err, struct nfs_context *nfs, void *data, void *priv)
{
	struct job *j = priv;

	if (j->over)
		return;
	if (err < 0) {
		const char *why = data && *(const char *)data ? lib_msg(data) : nfs_get_error(nfs);

		if (answer_errno(err))
			attempt_fail(j, F_ANSWER, "%s", why && *why ? why : strerror(-err));
		else
			attempt_fail(j, F_TRANSPORT, "%s", transport_msg(why));
		j->err = err;
		j->at_mount = true;
		return;
	}
	if (j->kind == JOB_RO && j->no_init) {
		attempt_ok(j);
	} else if (j->kind == JOB_RO) {
		struct walk *w = j->walk;

		say(w->todo, sizeof(w->todo), "%s", j->ck->init);
		w->resolved[0] = '\0';
		w->links = 0;
		walk_step(j);
	} else if (nfs_lstat64_async(j->nfs, "/" DIM_DEFAULT_RWIMG, rw_stat_cb, j) < 0) {
		attempt_fail(j, F_TRANSPORT, "stat: %s", nfs_get_error(j->nfs));
	}
}

static void probe_cb(struct rpc_context *rpc, int status, void *data, void *priv)
{
	struct job *j = priv;
	struct server *sv = &j->ck->servers[j->server];
	struct exportnode *e;
	unsigned n = 0;

	if (j->over)
		return;
	if (status != RPC_STATUS_SUCCESS) {
		/* A failed connect comes as a cancel; the context keeps why. */
		const char *why = status == RPC_STATUS_ERROR ? lib_msg(data)
							     : transport_msg(rpc_get_error(rpc));

		attempt_fail(j, F_TRANSPORT, "%s", why && *why ? why :
			     status == RPC_STATUS_TIMEOUT ? "timed out" : "cancelled");
		return;
	}
	for (e = *(exports *)data; e; e = e->ex_next)
		n++;
	sv->exports = calloc(n ? n : 1, sizeof(*sv->exports));
	if (!sv->exports) {
		attempt_fail(j, F_ANSWER, "out of memory");
		return;
	}
	for (e = *(exports *)data; e; e = e->ex_next)
		if (e->ex_dir && (sv->exports[sv->n_exports] = strdup(e->ex_dir)))
			sv->n_exports++;
	sv->have_list = true;
	attempt_ok(j);
}

/* The version to try first, and whether the other is worth a try after it. */
static int first_version(const struct checker *ck, const struct job *j, bool *fallback)
{
	const struct server *sv = &ck->servers[j->server];
	const char *v = j->image->nfs;

	*fallback = false;
	if (ck->o->version)
		return ck->o->version;
	if (!strcmp(v, "3"))
		return 3;
	if (v[0] == '4')
		return 4;
	*fallback = true;	/* "auto" (or unknown): as the linuxrc, 4 then 3 */
	return sv->pref ? sv->pref : 4;
}

static void start_attempt(struct checker *ck, struct job *j, int version)
{
	struct server *sv = &ck->servers[j->server];
	int rc;

	j->over = false;
	j->ok = false;
	j->fail = F_NONE;
	j->err = 0;
	j->timed_out = false;
	j->at_mount = false;
	j->msg[0] = '\0';
	j->version = version;
	j->tried |= 1u << version;
	j->deadline = now_ms() + ck->timeout_ms;
	if (j->kind == JOB_PROBE) {
		j->rpc = rpc_init_context();
		if (!j->rpc) {
			attempt_fail(j, F_ANSWER, "out of memory");
			return;
		}
		if (mount_getexports_async(j->rpc, sv->addr, probe_cb, j) < 0)
			attempt_fail(j, F_TRANSPORT, "%s", rpc_get_error(j->rpc));
		return;
	}
	j->nfs = nfs_init_context();
	if (!j->nfs) {
		attempt_fail(j, F_ANSWER, "out of memory");
		return;
	}
	/* A lost connection fails the attempt; our deadline bounds the rest. */
	nfs_set_autoreconnect(j->nfs, 0);
	nfs_set_version(j->nfs, version);
	/*
	 * NFSv4 knows a client by its name: libnfs names every context of a
	 * process alike, and the server then takes each new connection's
	 * SETCLIENTID for a restart of the last one (RFC 7530, 16.33.5).
	 */
	{
		char name[96];

		say(name, sizeof(name), "dim-nfs-check.%ld.%u.%u", (long)getpid(),
		    (unsigned)(j - ck->jobs), ck->mounts);
		nfs4_set_client_name(j->nfs, name);
	}
	ck->mounts++;
	rc = nfs_mount_async(j->nfs, sv->addr, j->path, mount_cb, j);
	if (rc < 0)
		attempt_fail(j, F_TRANSPORT, "%s", nfs_get_error(j->nfs));
}

static void end_attempt(struct job *j)
{
	/* Destroying cancels what is in flight; its callbacks see j->over. */
	if (j->nfs)
		nfs_destroy_context(j->nfs);
	if (j->rpc)
		rpc_destroy_context(j->rpc);
	j->nfs = NULL;
	j->rpc = NULL;
}

/* ---------------------------------------------------------------- scheduling */

static bool path_listed(const struct server *sv, const char *path)
{
	unsigned i;

	for (i = 0; i < sv->n_exports; i++)
		if (!strcmp(sv->exports[i], path))
			return true;
	return false;
}

/* Mark a server unreachable; its queued jobs fail without trying. */
static void server_down(struct server *sv, const char *why)
{
	if (sv->state == S_DOWN)
		return;
	sv->state = S_DOWN;
	say(sv->down, sizeof(sv->down), "image server %s (%s) unreachable: %s", sv->s->name,
		 sv->addr, why);
}

static void job_done(struct checker *ck, struct job *j)
{
	struct server *sv = &ck->servers[j->server];

	j->state = J_DONE;
	ck->n_done++;
	if (j->kind == JOB_PROBE) {
		if (j->ok) {
			sv->state = S_UP;
		} else if (j->timed_out) {
			server_down(sv, j->msg);
		} else {
			/*
			 * No rpcbind (an NFSv4-only server), no MOUNT, a refused
			 * connection: the mounts will tell.
			 */
			sv->state = S_UP;
		}
		free(j->walk);
		j->walk = NULL;
		return;
	}
	if (j->ok) {
		sv->pref = j->ok_version;
	} else if (j->fail == F_TRANSPORT && (j->first_fail == F_NONE || j->first_fail == F_TRANSPORT)) {
		server_down(sv, j->msg);
	}
	free(j->walk);
	j->walk = NULL;
}

/* An attempt is over: try the other version, or settle the job. */
static void attempt_over(struct checker *ck, struct job *j)
{
	bool fallback;

	end_attempt(j);
	/* Only a failed mount is worth the other version: what is inside is the same. */
	if (!j->ok && j->kind != JOB_PROBE && (j->at_mount || j->fail == F_TRANSPORT)) {
		first_version(ck, j, &fallback);
		if (fallback && !(j->tried & (1u << 3) && j->tried & (1u << 4))) {
			j->first_fail = j->fail;
			j->first_version = j->version;
			j->first_err = j->err;
			j->first_at_mount = j->at_mount;
			memcpy(j->first_msg, j->msg, sizeof(j->msg));
			start_attempt(ck, j, j->version == 4 ? 3 : 4);
			return;
		}
	}
	ck->servers[j->server].active--;
	job_done(ck, j);
}

static void fail_queued(struct checker *ck, struct job *j, const char *why)
{
	j->ok = false;
	j->fail = F_TRANSPORT;
	say(j->msg, sizeof(j->msg), "%s", why);
	job_done(ck, j);
}

/* Start jobs until the limits are reached: servers in turn, probes first. */
static void schedule(struct checker *ck)
{
	unsigned limit = ck->o->jobs ? ck->o->jobs : DEFAULT_JOBS;
	unsigned tries = 0;

	while (ck->n_act < limit && tries < ck->n_servers) {
		struct server *sv = &ck->servers[ck->rr];
		struct job *j;

		ck->rr = (ck->rr + 1) % ck->n_servers;
		if (sv->next >= sv->n_queue) {
			tries++;
			continue;
		}
		j = &ck->jobs[sv->queue[sv->next]];
		if (sv->state == S_DOWN) {
			/* Everything left of this server fails at once. */
			while (sv->next < sv->n_queue)
				fail_queued(ck, &ck->jobs[sv->queue[sv->next++]], sv->down);
			tries = 0;
			continue;
		}
		if ((sv->state == S_PROBING && j->kind != JOB_PROBE) || sv->active >= PER_SERVER) {
			tries++;
			continue;
		}
		tries = 0;
		sv->next++;
		sv->active++;
		ck->act[ck->n_act++] = (unsigned)(j - ck->jobs);
		j->state = J_ACTIVE;
		if (j->kind == JOB_PROBE) {
			start_attempt(ck, j, 3);
		} else {
			bool fallback;

			if (j->kind == JOB_RO && !(j->walk = calloc(1, sizeof(*j->walk)))) {
				j->version = 0;
				attempt_fail(j, F_ANSWER, "out of memory");
				continue;
			}
			start_attempt(ck, j, first_version(ck, j, &fallback));
		}
	}
}

/* Move attempts that are over on: the other version, or done (then off the list). */
static void settle(struct checker *ck)
{
	unsigned i = 0;

	while (i < ck->n_act) {
		struct job *j = &ck->jobs[ck->act[i]];

		while (j->state == J_ACTIVE && j->over)
			attempt_over(ck, j);
		if (j->state == J_DONE)
			ck->act[i] = ck->act[--ck->n_act];
		else
			i++;
	}
}

static int service(struct job *j, int revents)
{
	if (j->rpc)
		return rpc_service(j->rpc, revents);
	if (j->nfs)
		return nfs_service(j->nfs, revents);
	return 0;
}

static int run(struct checker *ck)
{
	unsigned limit = ck->o->jobs ? ck->o->jobs : DEFAULT_JOBS;
	struct pollfd *pfd = calloc(limit, sizeof(*pfd));
	unsigned *map = calloc(limit, sizeof(*map));
	int rc = 0;

	ck->act = calloc(limit, sizeof(*ck->act));
	if (!pfd || !map || !ck->act) {
		rc = -ENOMEM;
		goto out;
	}
	while (ck->n_done < ck->n_jobs) {
		long long now, wait = 100;
		unsigned i, n = 0;

		schedule(ck);
		settle(ck);
		if (ck->n_done == ck->n_jobs)
			break;
		now = now_ms();
		for (i = 0; i < ck->n_act; i++) {
			struct job *j = &ck->jobs[ck->act[i]];
			int fd;

			if (j->deadline - now < wait)
				wait = j->deadline - now < 0 ? 0 : j->deadline - now;
			fd = j->rpc ? rpc_get_fd(j->rpc) : j->nfs ? nfs_get_fd(j->nfs) : -1;
			if (fd < 0)
				continue;
			pfd[n].fd = fd;
			pfd[n].events = (short)(j->rpc ? rpc_which_events(j->rpc)
						       : nfs_which_events(j->nfs));
			pfd[n].revents = 0;
			map[n++] = ck->act[i];
		}
		if (poll(pfd, n, (int)wait) < 0 && errno != EINTR) {
			rc = -errno;
			goto out;
		}
		for (i = 0; i < n; i++) {
			struct job *j = &ck->jobs[map[i]];

			if (!pfd[i].revents || j->over)
				continue;
			if (service(j, pfd[i].revents) < 0)
				attempt_fail(j, F_TRANSPORT, "%s",
					     transport_msg(j->rpc ? rpc_get_error(j->rpc)
								  : nfs_get_error(j->nfs)));
		}
		now = now_ms();
		for (i = 0; i < ck->n_act; i++) {
			struct job *j = &ck->jobs[ck->act[i]];

			if (!j->over && now >= j->deadline) {
				attempt_fail(j, F_TRANSPORT, "no answer in %u s",
					     (ck->timeout_ms + 999) / 1000);
				j->timed_out = true;
			}
		}
		settle(ck);
	}
out:
	free(pfd);
	free(map);
	return rc;
}

/* ---------------------------------------------------------------- the report */

/* What a failed RO or RW job says, with the server's export list to tell cases apart. */
static void job_failure(const struct checker *ck, const struct job *j, char *buf, size_t size)
{
	const struct server *sv = &ck->servers[j->server];
	const char *msg = j->msg;
	enum fail_class fail = j->fail;
	int version = j->version, err = j->err;
	bool at_mount = j->at_mount;
	bool refused;

	/* Of two attempts, an answer says more than silence, and v3's more than v4's. */
	if (j->first_fail == F_ANSWER && (fail != F_ANSWER || j->first_version == 3)) {
		msg = j->first_msg;
		fail = j->first_fail;
		version = j->first_version;
		err = j->first_err;
		at_mount = j->first_at_mount;
	}
	refused = fail == F_ANSWER && at_mount && (err == -EACCES || err == -EPERM || err == -ENOENT);
	if (refused && sv->have_list && !path_listed(sv, j->path))
		say(buf, size, "%s:%s: not exported to this host (not in its export list)",
			 sv->addr, j->path);
	else if (refused && err != -ENOENT)
		say(buf, size, "%s:%s: permission denied (NFS %d: %s)", sv->addr, j->path,
			 version, msg);
	else if (refused)
		say(buf, size, "%s:%s: not exported%s (NFS %d: %s)", sv->addr, j->path,
			 sv->have_list ? "" : ", or not to this host", version, msg);
	else if (fail == F_TRANSPORT && !strncmp(msg, "image server ", 13))
		say(buf, size, "%s", msg);
	else if (fail == F_TRANSPORT)
		say(buf, size, "%s:%s: image server %s: %s", sv->addr, j->path, sv->s->name,
			 msg);
	else
		say(buf, size, "%s:%s: %s", sv->addr, j->path, msg);
}

static void report_blade(const struct checker *ck, const struct cl_blade *b,
			 struct nfs_check_blade *out)
{
	unsigned si = ck->server_of[b->server] - 1;
	const struct job *ro = &ck->jobs[ck->ro_job[si * ck->c->n_images + b->image] - 1];
	const struct job *rw = &ck->jobs[ck->rw_job[b->index] - 1];
	const struct server *sv = &ck->servers[si];
	char ro_text[400], rw_text[400];

	if (ro->ok && rw->ok) {
		char rw_version[16] = "";

		out->status = NFS_CHECK_OK;
		if (rw->ok_version != ro->ok_version)
			say(rw_version, sizeof(rw_version), " (NFS %d)", rw->ok_version);
		say(out->text, sizeof(out->text), "ro %s:%s (NFS %d%s), rw %s%s", sv->addr, ro->path,
		    ro->ok_version, ro->no_init ? "; init in the RW image, not looked at" : "",
		    rw->found, rw_version);
		return;
	}
	out->status = NFS_CHECK_FAILED;
	if (!ro->ok)
		job_failure(ck, ro, ro_text, sizeof(ro_text));
	if (!rw->ok)
		job_failure(ck, rw, rw_text, sizeof(rw_text));
	if (!ro->ok && !rw->ok && ro->fail == F_TRANSPORT && rw->fail == F_TRANSPORT &&
	    ro->first_fail != F_ANSWER && rw->first_fail != F_ANSWER)
		/* Neither could reach the server: say so once. */
		say(out->text, sizeof(out->text), "%s", !strncmp(ro->msg, "image server ", 13) ?
		    ro->msg : !strncmp(rw->msg, "image server ", 13) ? rw->msg : sv->down[0] ?
		    sv->down : ro_text);
	else if (!ro->ok && !rw->ok)
		say(out->text, sizeof(out->text), "ro %s; rw %s", ro_text, rw_text);
	else if (!ro->ok)
		say(out->text, sizeof(out->text), "ro %s; rw ok", ro_text);
	else
		say(out->text, sizeof(out->text), "rw %s; ro ok", rw_text);
}

/* ---------------------------------------------------------------- setup */

/*
 * In bind mode only the shared first-level directories come from the RO
 * tree; an init elsewhere (/sbin not shared) is in the blade's RW image,
 * where NFS cannot look.
 */
static bool init_in_ro(const struct cl_image *img, const char *init)
{
	const char *first = init + strspn(init, "/");
	size_t len = strcspn(first, "/");
	unsigned i;

	if (strcmp(img->mode, "bind"))
		return true;
	for (i = 0; i < img->n_shared; i++)
		if (strlen(img->shared[i]) == len && !strncmp(img->shared[i], first, len))
			return true;
	return false;
}

static int add_job(struct checker *ck, unsigned si, enum job_kind kind,
		   const struct cl_image *img, const struct cl_blade *b, struct dim_err *err)
{
	struct server *sv = &ck->servers[si];
	struct job *j = &ck->jobs[ck->n_jobs];
	int rc = 0;

	j->ck = ck;
	j->kind = kind;
	j->server = si;
	j->image = img;
	j->blade = b;
	if (kind == JOB_RO) {
		rc = cluster_ro_path(ck->c, sv->s, img, j->path, sizeof(j->path));
		j->no_init = !init_in_ro(img, ck->init);
	}
	else if (kind == JOB_RW)
		rc = cluster_rw_dir(ck->c, b, img, j->path, sizeof(j->path));
	if (rc < 0)
		return dim_err_set(err, rc, "%s: path too long", b ? b->name : img->name);
	sv->queue[sv->n_queue++] = ck->n_jobs;
	return (int)ck->n_jobs++;
}

static void checker_free(struct checker *ck)
{
	unsigned i, k;

	for (i = 0; i < ck->n_jobs; i++) {
		end_attempt(&ck->jobs[i]);
		free(ck->jobs[i].walk);
	}
	for (i = 0; i < ck->n_servers; i++) {
		for (k = 0; k < ck->servers[i].n_exports; k++)
			free(ck->servers[i].exports[k]);
		free(ck->servers[i].exports);
		free(ck->servers[i].queue);
	}
	free(ck->servers);
	free(ck->jobs);
	free(ck->ro_job);
	free(ck->rw_job);
	free(ck->server_of);
	free(ck->act);
}

int nfs_check(const struct cluster *c, const struct cl_selection *sel,
	      const struct nfs_check_opts *o, struct nfs_check_report *r, struct dim_err *err)
{
	struct checker ck = { 0 };
	long long t0 = now_ms();
	unsigned i, si, per_server;
	int rc;

	memset(r, 0, sizeof(*r));
	if (o->version && o->version != 3 && o->version != 4)
		return dim_err_set(err, -EINVAL, "NFS version %d: 3 or 4", o->version);
	ck.c = c;
	ck.o = o;
	ck.init = o->init && *o->init ? o->init : DIM_DEFAULT_INIT;
	ck.timeout_ms = o->timeout_ms ? o->timeout_ms : DEFAULT_TIMEOUT_MS;
	r->b = calloc(c->n_blades ? c->n_blades : 1, sizeof(*r->b));
	ck.servers = calloc(c->n_servers ? c->n_servers : 1, sizeof(*ck.servers));
	ck.server_of = calloc(c->n_servers ? c->n_servers : 1, sizeof(*ck.server_of));
	ck.jobs = calloc((size_t)c->n_servers * (c->n_images + 1) + c->n_blades + 1,
			 sizeof(*ck.jobs));
	ck.ro_job = calloc((size_t)c->n_servers * c->n_images + 1, sizeof(*ck.ro_job));
	ck.rw_job = calloc(c->n_blades ? c->n_blades : 1, sizeof(*ck.rw_job));
	if (!r->b || !ck.servers || !ck.server_of || !ck.jobs || !ck.ro_job || !ck.rw_job) {
		rc = dim_err_set(err, -ENOMEM, "out of memory");
		goto out;
	}

	/* Servers with a selected blade that boots an image; their jobs, in order. */
	for (i = 0; i < c->n_blades; i++) {
		const struct cl_blade *b = &c->blades[i];

		if (!cl_selected(sel, i))
			continue;
		if (b->image == CL_NONE || b->image >= c->n_images) {
			r->b[i].status = NFS_CHECK_SKIPPED;
			say(r->b[i].text, sizeof(r->b[i].text),
				 "no image assigned: nothing is exported for it");
			r->n_skipped++;
			continue;
		}
		if (!ck.server_of[b->server]) {
			struct server *sv = &ck.servers[ck.n_servers];
			const struct cl_server *s = &c->servers[b->server];

			sv->s = s;
			inet_ntop(AF_INET, &s->addr, sv->addr, sizeof(sv->addr));
			per_server = 1 + c->n_images + s->n_blades;
			sv->queue = calloc(per_server, sizeof(*sv->queue));
			if (!sv->queue) {
				rc = dim_err_set(err, -ENOMEM, "out of memory");
				goto out;
			}
			ck.server_of[b->server] = ++ck.n_servers;
			/* The export list needs MOUNT (v3); with -4 the first mount probes. */
			if (o->version == 4)
				sv->state = S_UP;
			else if ((rc = add_job(&ck, ck.n_servers - 1, JOB_PROBE, NULL, NULL, err)) < 0)
				goto out;
		}
	}
	/* RO trees, each once per server, before the RW directories. */
	for (i = 0; i < c->n_blades; i++) {
		const struct cl_blade *b = &c->blades[i];
		unsigned *slot;

		if (!cl_selected(sel, i) || r->b[i].status == NFS_CHECK_SKIPPED)
			continue;
		si = ck.server_of[b->server] - 1;
		slot = &ck.ro_job[si * c->n_images + b->image];
		if (*slot)
			continue;
		rc = add_job(&ck, si, JOB_RO, &c->images[b->image], NULL, err);
		if (rc < 0)
			goto out;
		*slot = (unsigned)rc + 1;
	}
	for (i = 0; i < c->n_blades; i++) {
		const struct cl_blade *b = &c->blades[i];

		if (!cl_selected(sel, i) || r->b[i].status == NFS_CHECK_SKIPPED)
			continue;
		si = ck.server_of[b->server] - 1;
		rc = add_job(&ck, si, JOB_RW, &c->images[b->image], b, err);
		if (rc < 0)
			goto out;
		ck.rw_job[i] = (unsigned)rc + 1;
	}

	rc = run(&ck);
	if (rc < 0) {
		dim_err_set(err, rc, "nfs check: %s", strerror(-rc));
		goto out;
	}
	for (i = 0; i < c->n_blades; i++) {
		if (!cl_selected(sel, i) || r->b[i].status == NFS_CHECK_SKIPPED)
			continue;
		report_blade(&ck, &c->blades[i], &r->b[i]);
		if (r->b[i].status == NFS_CHECK_OK)
			r->n_ok++;
		else
			r->n_failed++;
	}
	r->mounts = ck.mounts;
	r->seconds = (double)(now_ms() - t0) / 1000.0;
	rc = 0;
out:
	checker_free(&ck);
	if (rc < 0)
		nfs_check_report_free(r);
	return rc;
}

void nfs_check_report_free(struct nfs_check_report *r)
{
	free(r->b);
	r->b = NULL;
}
