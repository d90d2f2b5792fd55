/* SPDX-License-Identifier: MIT */
/* Placeholder: the initramfs builder lands here. */
#include "cmd.h"

static int buildzimage_run(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cmd_error("buildzimage", "not written yet");
}

const struct dim_cmd cmd_buildzimage = {
	.name = "buildzimage",
	.summary = "build the blades' boot image: kernel + linuxrc initramfs",
	.usage = "usage: dim buildzimage ...\n",
	.run = buildzimage_run,
};
