/* SPDX-License-Identifier: MIT */
/*
 * NFS mounts by text options: the kernel speaks the protocol (rpcbind, MOUNT
 * for v3, the v4 pseudo file system) itself, so the linuxrc needs no RPC code
 * (fs/nfs/fs_context.c documents the options).
 */
#ifndef DIM_NFSMOUNT_H
#define DIM_NFSMOUNT_H

#include <stdbool.h>
#include <stddef.h>

#define NFS_MAX_VERSIONS 4
/* Seconds a blade trusts its cached view of an RO tree directory. */
#define NFS_RO_ACDIR 2

/*
 * The versions to try, in order, for a dim.nfs setting: "auto" is 4.1, then
 * 3; "4" is 4.1 then 4.0; anything else is itself.  Returns the count.
 */
int nfs_versions(const char *setting, const char *vers[NFS_MAX_VERSIONS]);

/*
 * The option string for one mount: vers, addr (no name lookup in the
 * initramfs), TCP, hard, and for v3 nolock (no rpc.statd before the real
 * system runs); for the RO tree (ro) a directory attribute cache of
 * NFS_RO_ACDIR seconds.  Returns the length or -ENOSPC / -EINVAL.
 */
int nfs_options(char *buf, size_t size, const char *vers, const char *server,
		const char *clientaddr, bool ro);

/* The mount source "server:/path".  Returns the length or -ENOSPC. */
int nfs_source(char *buf, size_t size, const char *server, const char *path);

/*
 * Mount server:path at target, trying each version in turn; on success copy
 * the version that worked to used_vers.  On failure, describe every attempt
 * ("vers=4.1: No such file or directory, vers=3: ...") in why.  0 or -errno
 * of the last attempt.
 */
int nfs_mount(const char *server, const char *path, const char *target, const char *setting,
	      bool ro, const char *clientaddr, char *used_vers, size_t used_size, char *why,
	      size_t why_size);

#endif /* DIM_NFSMOUNT_H */
