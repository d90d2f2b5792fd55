/* SPDX-License-Identifier: MIT */
/*
 * MAC addresses as text, "52:54:00:00:01:01", and the hex digits they are
 * made of.  One parser for the definition, the state and the command line;
 * what management modules print is read by power_parse_mac() (power.h).
 */
#ifndef DIM_MAC_H
#define DIM_MAC_H

#include <stdbool.h>
#include <stdint.h>

#define MAC_TEXT_LEN 17	/* "52:54:00:00:01:01" */

/* 0..15 for 0-9, a-f, A-F; -1 for anything else. */
int hex_digit(char c);

/*
 * Exactly six two-digit hex bytes, either case, separated by ':' (and by
 * '-' too when dash is true, as admins type them), nothing after.
 * 0, or -EINVAL with mac unspecified.
 */
int mac_parse(const char *s, bool dash, uint8_t mac[6]);

/* Lower case with ':'. */
void mac_format(const uint8_t mac[6], char buf[MAC_TEXT_LEN + 1]);

#endif /* DIM_MAC_H */
