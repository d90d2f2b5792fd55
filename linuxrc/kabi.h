/* SPDX-License-Identifier: MIT */
/*
 * The few pieces of the kernel's user ABI the linuxrc needs that musl's
 * headers do not carry.  Numbers and layouts from the kernel's uapi headers
 * (named beside each); prefixed so they never clash with a libc that has them.
 */
#ifndef DIM_KABI_H
#define DIM_KABI_H

#include <stdint.h>

/* include/uapi/linux/loop.h */
#define DIM_LOOP_SET_FD		0x4C00
#define DIM_LOOP_CLR_FD		0x4C01
#define DIM_LOOP_SET_STATUS64	0x4C04
#define DIM_LOOP_CONFIGURE	0x4C0A	/* Linux 5.8 */
#define DIM_LOOP_CTL_GET_FREE	0x4C82
#define DIM_LO_FLAGS_READ_ONLY	1
#define DIM_LO_FLAGS_AUTOCLEAR	4
#define DIM_LO_NAME_SIZE	64

struct dim_loop_info64 {
	uint64_t lo_device;
	uint64_t lo_inode;
	uint64_t lo_rdevice;
	uint64_t lo_offset;
	uint64_t lo_sizelimit;
	uint32_t lo_number;
	uint32_t lo_encrypt_type;
	uint32_t lo_encrypt_key_size;
	uint32_t lo_flags;
	uint8_t lo_file_name[DIM_LO_NAME_SIZE];
	uint8_t lo_crypt_name[DIM_LO_NAME_SIZE];
	uint8_t lo_encrypt_key[32];
	uint64_t lo_init[2];
};

struct dim_loop_config {
	uint32_t fd;
	uint32_t block_size;
	struct dim_loop_info64 info;
	uint64_t reserved[8];
};

/* include/uapi/linux/magic.h: what / is while the initramfs is still root */
#define DIM_RAMFS_MAGIC		0x858458f6
#define DIM_TMPFS_MAGIC		0x01021994

#endif /* DIM_KABI_H */
