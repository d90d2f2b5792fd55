/* SPDX-License-Identifier: MIT */
/*
 * What dim reads that others write: credentials files (key=value, secrets)
 * and the MAC strings a management module reports.  Any bytes parse or fail
 * with -EINVAL and a message that never holds a value, never crash, and leave
 * no secret behind on failure.  The first byte picks the parser.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mac.h"
#include "power.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct power_creds cr;
	struct dim_err err = { 0 };
	uint8_t mac[6];
	char text[18];
	int rc;

	if (!size)
		return 0;
	switch (data[0] % 3) {
	case 0:
	case 1:
		rc = power_creds_parse((const char *)data + 1, size - 1, "fuzz", data[0] % 3 ? "ipmi" : "snmp",
				       &cr, &err);
		if (rc < 0) {
			if (rc != -EINVAL || !err.msg[0] || cr.community[0] || cr.auth_pass[0] ||
			    cr.priv_pass[0] || cr.password[0])
				abort();
		} else if (memchr(cr.community, '\0', sizeof(cr.community)) == NULL ||
			   cr.port == 0 || cr.timeout_ms == 0 || cr.timeout_ms > POWER_MAX_TIMEOUT_MS) {
			abort();
		}
		power_creds_wipe(&cr);
		break;
	case 2:
		if (power_parse_mac((const char *)data + 1, size - 1, mac)) {
			mac_format(mac, text);
			/* what we print parses back to the same MAC */
			uint8_t again[6];

			if (!power_parse_mac(text, 17, again) || memcmp(mac, again, 6))
				abort();
		}
		break;
	}
	return 0;
}
