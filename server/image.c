/* SPDX-License-Identifier: MIT */
/* dim image on an image server; see image.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "image.h"
#include "sync.h"
#include "sync_lock.h"

/* snprintf for paths: -ENAMETOOLONG rather than a cut path. */
__attribute__((format(printf, 3, 4)))
static int pathf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

static void addr_str(struct in_addr a, char *buf)
{
	inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN);
}

int image_hosts(const struct cluster *c, const struct cl_blade *b, const char *master_hosts,
		char **out)
{
	const struct cl_server *s = &c->servers[b->server];
	char ba[INET_ADDRSTRLEN], sa[INET_ADDRSTRLEN], ma[INET_ADDRSTRLEN];
	size_t len = 0;
	FILE *f;

	*out = NULL;
	f = open_memstream(out, &len);
	if (!f)
		return -ENOMEM;
	addr_str(b->addr, ba);
	addr_str(s->addr, sa);
	addr_str(c->mgmt_addr, ma);
	if (master_hosts && master_hosts[0]) {
		fputs(master_hosts, f);
		if (master_hosts[strlen(master_hosts) - 1] != '\n')
			fputc('\n', f);
	} else {
		fputs("127.0.0.1\tlocalhost\n", f);
	}
	fprintf(f, "# dim: this blade, its image server, the management node\n");
	fprintf(f, "%s\t%s %s\n%s\t%s\n%s\t%s\n", ba, b->name, b->linear, sa, s->name, ma,
		c->mgmt_name);
	if (fclose(f) != 0) {
		free(*out);
		*out = NULL;
		return -ENOMEM;
	}
	return 0;
}

static int write_small(const char *path, const char *text, mode_t mode)
{
	struct atomic_file af;
	int rc;

	rc = atomic_open(&af, path, mode);
	if (rc)
		return rc;
	rc = write_full(af.fd, text, strlen(text));
	if (rc) {
		atomic_abort(&af);
		return rc;
	}
	/* the staging tree is private and thrown away: no fsync needed, but cheap here */
	return atomic_commit(&af);
}

static int fsync_path(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

/* One blade's staging tree: the shared one linked, its own hostname and hosts. */
static int blade_stage(const struct cluster *c, const struct cl_blade *b, const char *rwstage,
		       const char *stage, const char *master_hosts, struct dim_err *e)
{
	char p[PATH_MAX], *hosts = NULL, line[CL_NAME_MAX + 2];
	int rc;

	rc = tree_mirror(rwstage, stage, NULL, TREE_LINK, NULL, e);
	if (rc)
		return rc;
	rc = pathf(p, sizeof(p), "%s/etc", stage);
	if (!rc)
		rc = mkdir_p(p, 0755);
	if (rc)
		return dim_err_set(e, rc, "mkdir %s: %s", p, strerror(-rc));
	snprintf(line, sizeof(line), "%s\n", b->name);
	rc = pathf(p, sizeof(p), "%s/etc/hostname", stage);
	if (!rc)
		rc = write_small(p, line, 0644);
	if (!rc) {
		rc = image_hosts(c, b, master_hosts, &hosts);
		if (!rc)
			rc = pathf(p, sizeof(p), "%s/etc/hosts", stage);
		if (!rc)
			rc = write_small(p, hosts, 0644);
		free(hosts);
	}
	return rc ? dim_err_set(e, rc, "write %s: %s", p, strerror(-rc)) : 0;
}

struct job_ctx {
	struct sync_argv argv;
	char stage[PATH_MAX];
	char tmp[PATH_MAX];
	char img[PATH_MAX];
	unsigned slot;		/* index into r->blades */
};

int image_build(const struct cluster *c, const struct cl_server *s, const struct cl_image *img,
		const struct cl_selection *sel, const struct image_opts *o, struct image_result *r,
		struct dim_err *e)
{
	char master[PATH_MAX], ro[PATH_MAX], top[PATH_MAX], lockp[PATH_MAX], manifest[PATH_MAX];
	char rwstage[PATH_MAX], rwdir[PATH_MAX], p[PATH_MAX];
	char *master_hosts = NULL, **skip = NULL;
	struct job_ctx *jc = NULL;
	struct fan_job *jobs = NULL;
	unsigned img_idx = (unsigned)(img - c->images), k, nj = 0, i;
	struct sync_lock lock = { -1 };
	struct dim_err ignore;
	struct tree_filter f;
	struct stat st;
	size_t hl;
	int rc;

	memset(r, 0, sizeof(*r));
	if (sync_image_dir(s, img, NULL, top, sizeof(top)) ||
	    sync_image_dir(s, img, "master", master, sizeof(master)) ||
	    sync_image_dir(s, img, "ro", ro, sizeof(ro)) ||
	    sync_image_dir(s, img, ".lock", lockp, sizeof(lockp)) ||
	    sync_image_dir(s, img, "rw.manifest", manifest, sizeof(manifest)) ||
	    sync_image_dir(s, img, ".dim-tmp.rwstage", rwstage, sizeof(rwstage)))
		return dim_err_set(e, -ENAMETOOLONG, "%s: storage path too long", s->name);
	if (stat(master, &st) < 0 || !S_ISDIR(st.st_mode))
		return dim_err_set(e, -ENOENT, "%s: no master copy of image %s here (dim sync_server puts it there)",
				   master, img->name);
	rc = sync_lock_take(&lock, lockp, "dim image", e);
	if (rc)
		return rc;

	/* the RO tree */
	sync_filter_ro(img, "", &f);
	rc = tree_mirror(master, ro, &f, TREE_LINK, &r->ro, e);
	if (rc) {
		dim_err_prefix(e, "RO tree %s", ro);
		goto out;
	}

	/* the RW part every blade starts from: per-blade files included, keep-out not */
	f.part = TREE_RW;
	f.prefix = "";
	tree_remove(rwstage, &ignore);
	rc = tree_mirror(master, rwstage, &f, TREE_LINK, NULL, e);
	if (rc)
		goto out;
	if (pathf(p, sizeof(p), "%s/etc/hosts", master) < 0 || read_file(p, &master_hosts, &hl) < 0)
		master_hosts = NULL;

	r->blades = calloc(s->n_blades ? s->n_blades : 1, sizeof(*r->blades));
	jc = calloc(s->n_blades ? s->n_blades : 1, sizeof(*jc));
	jobs = calloc(s->n_blades ? s->n_blades : 1, sizeof(*jobs));
	if (!r->blades || !jc || !jobs) {
		rc = dim_err_set(e, -ENOMEM, "out of memory");
		goto out;
	}
	for (k = 0; k < s->n_blades; k++) {
		const struct cl_blade *b = &c->blades[s->first_blade + k];
		struct image_blade *ib;
		struct job_ctx *j;

		if (b->absent || b->image != img_idx || (sel && !cl_selected(sel, b->index)))
			continue;
		ib = &r->blades[r->n_blades++];
		ib->blade = b->index;
		if (cluster_rw_dir(c, b, img, rwdir, sizeof(rwdir)) < 0) {
			rc = dim_err_set(e, -ENAMETOOLONG, "%s: RW directory path too long", b->name);
			goto out;
		}
		/* dim nfs check wants the RW directory searchable by the export's users */
		rc = mkdir_p(rwdir, 0711);
		if (!rc && chmod(rwdir, 0711) < 0)
			rc = -errno;
		if (rc) {
			ib->state = IMG_FAILED;
			snprintf(ib->why, sizeof(ib->why), "mkdir: %s", strerror(-rc));
			r->failed++;
			rc = 0;
			continue;
		}
		j = &jc[nj];
		if (pathf(j->img, sizeof(j->img), "%s/rw.img", rwdir) < 0 ||
		    pathf(j->tmp, sizeof(j->tmp), "%s/.dim-tmp.rw.img", rwdir) < 0) {
			rc = dim_err_set(e, -ENAMETOOLONG, "%s: path too long", b->name);
			goto out;
		}
		if (access(j->img, F_OK) == 0 && !o->recreate) {
			ib->state = IMG_KEPT;
			r->kept++;
			continue;
		}
		if (pathf(j->stage, sizeof(j->stage), "%s/.dim-tmp.stage-%s", top, b->name) < 0) {
			rc = dim_err_set(e, -ENAMETOOLONG, "%s: path too long", b->name);
			goto out;
		}
		unlink(j->tmp);
		tree_remove(j->stage, &ignore);
		rc = blade_stage(c, b, rwstage, j->stage, master_hosts, e);
		if (rc) {
			ib->state = IMG_FAILED;
			snprintf(ib->why, sizeof(ib->why), "%.200s", e->msg);
			r->failed++;
			tree_remove(j->stage, &ignore);
			rc = 0;
			continue;
		}
		j->slot = r->n_blades - 1;
		rc = sync_argv_add(&j->argv, o->mke2fs ? o->mke2fs : "mke2fs");
		if (!rc)
			rc = sync_argv_add_words(&j->argv, "-q -F -t ext4 -E root_owner=0:0 -L");
		if (!rc)
			rc = sync_argv_addf(&j->argv, "%.16s", b->name);
		if (!rc)
			rc = sync_argv_add(&j->argv, "-d");
		if (!rc)
			rc = sync_argv_add(&j->argv, j->stage);
		if (!rc)
			rc = sync_argv_add(&j->argv, j->tmp);
		if (!rc)
			rc = sync_argv_addf(&j->argv, "%lluk",
					    (unsigned long long)(img->rw_size / 1024));
		if (rc) {
			rc = dim_err_set(e, -ENOMEM, "out of memory");
			goto out;
		}
		jobs[nj].label = c->blades[ib->blade].name;
		jobs[nj].argv = (const char *const *)j->argv.v;
		nj++;
	}

	/* mke2fs in parallel; then each image synced and renamed into place */
	rc = fanout_run(jobs, nj, o->jobs ? o->jobs : 2, 0, o->progress, o->arg, e);
	if (rc < 0)
		goto out;
	rc = 0;
	for (i = 0; i < nj; i++) {
		struct image_blade *ib = &r->blades[jc[i].slot];
		int x = 0;

		if (jobs[i].status != 0) {
			char why[200];

			fanout_reason(&jobs[i], why, sizeof(why));
			snprintf(ib->why, sizeof(ib->why), "mke2fs failed: %s",
				 why[0] ? why : "no message");
			x = -EIO;
		} else if ((x = fsync_path(jc[i].tmp)) < 0 || chmod(jc[i].tmp, 0600) < 0 ||
			   rename(jc[i].tmp, jc[i].img) < 0) {
			if (!x)
				x = -errno;
			snprintf(ib->why, sizeof(ib->why), "rw.img: %s", strerror(-x));
		} else {
			char *slash = strrchr(jc[i].img, '/');

			*slash = '\0';
			x = fsync_path(jc[i].img);	/* the directory: the rename is durable */
			*slash = '/';
			if (x)
				snprintf(ib->why, sizeof(ib->why), "fsync: %s", strerror(-x));
		}
		if (x) {
			unlink(jc[i].tmp);
			ib->state = IMG_FAILED;
			r->failed++;
		} else {
			ib->state = IMG_CREATED;
			r->created++;
		}
	}

	/* what the blades were given, for sync_image; an existing one stays (older images may lag) */
	if (access(manifest, F_OK) < 0 && strcmp(img->mode, "overlay")) {
		struct tree_list now;

		skip = calloc(img->n_keep_out + img->n_per_blade + 2, sizeof(*skip));
		if (!skip) {
			rc = dim_err_set(e, -ENOMEM, "out of memory");
			goto out;
		}
		sync_filter_rw(img, "", skip, &f);
		rc = tree_scan(master, &f, &now, e);
		if (!rc) {
			rc = tree_list_write(manifest, &now, e);
			tree_list_free(&now);
		}
	}
out:
	for (i = 0; jc && i < nj + 1 && i < (s->n_blades ? s->n_blades : 1); i++) {
		if (jc[i].stage[0])
			tree_remove(jc[i].stage, &ignore);
		sync_argv_free(&jc[i].argv);
	}
	tree_remove(rwstage, &ignore);
	free(jc);
	free(jobs);
	free(skip);
	free(master_hosts);
	sync_lock_release(&lock);
	return rc;
}
