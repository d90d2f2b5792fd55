/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>

#include "log.h"
#include "nfsmount.h"

int nfs_versions(const char *setting, const char *vers[NFS_MAX_VERSIONS])
{
	if (!strcmp(setting, "auto")) {
		vers[0] = "4.1";
		vers[1] = "3";
		return 2;
	}
	if (!strcmp(setting, "4")) {
		vers[0] = "4.1";
		vers[1] = "4.0";
		return 2;
	}
	vers[0] = setting;
	return 1;
}

int nfs_options(char *buf, size_t size, const char *vers, const char *server,
		const char *clientaddr, bool ro)
{
	int n, m;

	if (!vers[0] || !server[0])
		return -EINVAL;
	/*
	 * timeo is in tenths of a second: 60 s per try, as nfs(5) advises for
	 * TCP.  hard: a blade whose root vanishes for a while must wait, not
	 * see I/O errors in its system files.
	 */
	if (vers[0] == '3')
		n = snprintf(buf, size,
			     "vers=3,addr=%s,proto=tcp,mountproto=tcp,nolock,hard,timeo=600,"
			     "retrans=2,sec=sys",
			     server);
	else
		n = snprintf(buf, size,
			     "vers=%s,addr=%s%s%s,proto=tcp,hard,timeo=600,retrans=2,sec=sys", vers,
			     server, clientaddr && clientaddr[0] ? ",clientaddr=" : "",
			     clientaddr && clientaddr[0] ? clientaddr : "");
	if (n < 0 || (size_t)n >= size)
		return -ENOSPC;
	if (!ro)
		return n;
	/*
	 * The RO tree changes under running blades (dim sync_image renames new
	 * entries into place).  A file replaced by rename is seen at the next
	 * open() anyway (NFSv4 OPEN by name, v3 close-to-open); a new name, a
	 * removed one and a directory listing are seen when the blade next
	 * revalidates the directory, acdirmin..acdirmax seconds after it last
	 * did (30..60 by default).  NFS_RO_ACDIR bounds that; the price is at
	 * most one GETATTR per directory in use per NFS_RO_ACDIR seconds and
	 * blade.  File attributes keep their default cache: the RO tree's
	 * files never change in place.  dim-linuxrc(7), RO TREE FRESHNESS.
	 */
	m = snprintf(buf + n, size - (size_t)n, ",acdirmin=%d,acdirmax=%d", NFS_RO_ACDIR,
		     NFS_RO_ACDIR);
	if (m < 0 || (size_t)m >= size - (size_t)n)
		return -ENOSPC;
	return n + m;
}

int nfs_source(char *buf, size_t size, const char *server, const char *path)
{
	int n = snprintf(buf, size, "%s:%s", server, path);

	if (n < 0 || (size_t)n >= size)
		return -ENOSPC;
	return n;
}

int nfs_mount(const char *server, const char *path, const char *target, const char *setting,
	      bool ro, const char *clientaddr, char *used_vers, size_t used_size, char *why,
	      size_t why_size)
{
	const char *vers[NFS_MAX_VERSIONS];
	char opts[256], source[320];
	size_t used = 0;
	int i, n, rc = -EINVAL;

	n = nfs_versions(setting, vers);
	if (nfs_source(source, sizeof(source), server, path) < 0)
		return -ENAMETOOLONG;
	why[0] = '\0';
	for (i = 0; i < n; i++) {
		int len;

		rc = nfs_options(opts, sizeof(opts), vers[i], server, clientaddr, ro);
		if (rc < 0)
			return rc;
		log_debug(ro ? STEP_RO : STEP_RW, "mount -t nfs -o %s%s %s %s", ro ? "ro," : "",
			  opts, source, target);
		if (mount(source, target, "nfs", ro ? MS_RDONLY : 0, opts) == 0) {
			snprintf(used_vers, used_size, "%s", vers[i]);
			return 0;
		}
		rc = -errno;
		len = snprintf(why + used, why_size - used, "%svers=%s: %s", i ? ", " : "",
			       vers[i], strerror(-rc));
		if (len > 0 && (size_t)len < why_size - used)
			used += (size_t)len;
	}
	return rc;
}
