/* SPDX-License-Identifier: MIT */
/* Placeholder: dim dhcp lands here. */
#include "cmd.h"

static int dhcp_run(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cmd_error("dhcp", "not written yet");
}

const struct dim_cmd cmd_dhcp = {
	.name = "dhcp",
	.summary = "keep each image server's DHCP configuration",
	.usage = "usage: dim dhcp ...\n",
	.run = dhcp_run,
};
