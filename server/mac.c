/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>

#include "mac.h"

int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int mac_parse(const char *s, bool dash, uint8_t mac[6])
{
	int i, hi, lo;

	if (!s)
		return -EINVAL;
	for (i = 0; i < 6; i++, s += 3) {
		hi = hex_digit(s[0]);
		lo = hi < 0 ? -1 : hex_digit(s[1]);
		if (lo < 0)
			return -EINVAL;
		if (i < 5 ? !(s[2] == ':' || (dash && s[2] == '-')) : s[2] != '\0')
			return -EINVAL;
		mac[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

void mac_format(const uint8_t mac[6], char buf[MAC_TEXT_LEN + 1])
{
	snprintf(buf, MAC_TEXT_LEN + 1, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2],
		 mac[3], mac[4], mac[5]);
}
