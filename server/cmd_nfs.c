/* SPDX-License-Identifier: MIT */
/* Placeholder: dim nfs lands here. */
#include "cmd.h"

static int nfs_run(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cmd_error("nfs", "not written yet");
}

const struct dim_cmd cmd_nfs = {
	.name = "nfs",
	.summary = "export the RO tree and each blade's RW image; check the exports",
	.usage = "usage: dim nfs ...\n",
	.run = nfs_run,
};
