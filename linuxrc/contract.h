/* SPDX-License-Identifier: MIT */
/*
 * The dim boot contract: what the server toolkit promises a blade and what
 * the linuxrc expects.  Both sides include this header; nothing else may
 * define these keys, option codes or defaults.  The admin-facing description
 * is linuxrc/dim-linuxrc.7 (and the README section "Boot contract").
 *
 * Precedence: built-in default < DHCP option < kernel command line.
 */
#ifndef DIM_CONTRACT_H
#define DIM_CONTRACT_H

/* Bumped when a key or option changes meaning. */
#define DIM_CONTRACT_VERSION 1

/*
 * Vendor class identifier (option 60) the linuxrc sends, so a DHCP server can
 * tell a blade's linuxrc from its firmware: "dim:<version>:linuxrc:<arch>".
 * ISC dhcpd: match if substring(option vendor-class-identifier, 0, 4) = "dim:"
 */
#define DIM_VENDOR_CLASS_PREFIX "dim:1:linuxrc:"

/* DHCP site-local options (RFC 2132 section 2: codes 128-254 are site-specific). */
#define DIM_OPT_RW		224	/* text: [server:]/path of the blade's RW directory */
#define DIM_OPT_MODE		225	/* text: root assembly mode, "bind" or "overlay" */
#define DIM_OPT_SERVERS		226	/* ip-address list: backup NFS servers, in order */
#define DIM_OPT_RWIMG		227	/* text: image file name inside the RW directory */
#define DIM_OPT_NFS		228	/* text: NFS version: auto, 3, 4, 4.0, 4.1, 4.2 */
#define DIM_OPT_RODIRS		229	/* text: comma list of first-level dirs bound RO */
#define DIM_OPT_FIRST		224
#define DIM_OPT_LAST		254

/*
 * Built-in defaults.  The RO tree comes from option 17 (root-path), the NFS
 * server from the root-path's "server:" prefix, else next-server (siaddr),
 * else the DHCP server identifier.
 */
#define DIM_DEFAULT_IFACE	"eth0"
#define DIM_DEFAULT_MODE	"bind"
#define DIM_DEFAULT_NFS		"auto"	/* 4.1, then 3 */
#define DIM_DEFAULT_RWIMG	"rw.img"
#define DIM_DEFAULT_RODIRS	"bin,sbin,lib,lib32,lib64,libx32,usr,opt"
#define DIM_DEFAULT_INIT	"/sbin/init"
#define DIM_DEFAULT_TIMEOUT	120	/* seconds of failing before the rescue shell */

/*
 * Where the linuxrc leaves things for the real system.  /run is a tmpfs the
 * linuxrc mounts and moves into the new root, as initramfs-tools does, so
 * systemd keeps it.
 */
#define DIM_RUN_DIR		"/run/dim"
#define DIM_RUN_RO		"/run/dim/ro"		/* the RO NFS mount */
#define DIM_RUN_RW		"/run/dim/rw"		/* the RW directory NFS mount */
#define DIM_RUN_IMAGE		"/run/dim/image"	/* overlay mode: the loop-mounted image */
#define DIM_RUN_CONF		"/run/dim/boot.conf"	/* effective settings, KEY='value' */
#define DIM_NET_CONF_FMT	"/run/net-%s.conf"	/* klibc ipconfig format */

/* In overlay mode the RW image holds these two directories (created if missing). */
#define DIM_OVERLAY_UPPER	"upper"
#define DIM_OVERLAY_WORK	"work"

/* Files the initramfs builder writes and the linuxrc reads. */
#define DIM_INITRAMFS_MODULES	"/etc/dim/modules"	/* one "file.ko [params]" per line, load order */
#define DIM_INITRAMFS_MODDIR	"/lib/modules"		/* the .ko files, flat */
#define DIM_RESCUE_SHELL	"/bin/sh"

#endif /* DIM_CONTRACT_H */
