/* SPDX-License-Identifier: MIT */
/* Placeholder: dim list lands here. */
#include "cmd.h"

static int list_run(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cmd_error("list", "not written yet");
}

const struct dim_cmd cmd_list = {
	.name = "list",
	.summary = "list blades with their names, addresses, MACs, servers and images",
	.usage = "usage: dim list ...\n",
	.run = list_run,
};
