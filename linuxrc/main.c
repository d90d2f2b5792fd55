/* SPDX-License-Identifier: MIT */
#include "log.h"

int main(void)
{
	log_open();
	log_info(STEP_CONSOLE, "placeholder");
	for (;;)
		;
}
