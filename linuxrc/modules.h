/* SPDX-License-Identifier: MIT */
#ifndef DIM_MODULES_H
#define DIM_MODULES_H

#include <stddef.h>

struct modules_result {
	unsigned loaded;	/* newly loaded */
	unsigned present;	/* already there (built in or loaded) */
	unsigned nodev;		/* drivers for hardware this blade lacks (ENODEV) */
	unsigned failed;
	char failures[256];	/* "ibmveth.ko: No such device, ..." */
};

/*
 * Parse one line of the initramfs module list: "name.ko [params]".  Comments
 * (#) and blank lines give 0; a usable line 1 with name and params set
 * (pointing into line, which is modified); -EINVAL for a bad name.
 */
int modules_parse_line(char *line, char **name, char **params);

/*
 * Load every module the list names, in its order, with finit_module(2).  A
 * module that fails is noted and skipped: the step that needs it says what is
 * missing.  Returns the number of lines read or -errno if the list itself
 * could not be read.
 */
int modules_load(const char *list, const char *dir, struct modules_result *res);

#endif /* DIM_MODULES_H */
