/* SPDX-License-Identifier: MIT */
/* Tests of mac.c: the MAC text the definition, the state and dim dhcp mac read. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "mac.h"

static void test_hex_digit(void **state)
{
	(void)state;
	assert_int_equal(hex_digit('0'), 0);
	assert_int_equal(hex_digit('9'), 9);
	assert_int_equal(hex_digit('a'), 10);
	assert_int_equal(hex_digit('F'), 15);
	assert_int_equal(hex_digit('g'), -1);
	assert_int_equal(hex_digit('\0'), -1);
	assert_int_equal(hex_digit(':'), -1);
	assert_int_equal(hex_digit((char)0xc3), -1);
}

static void test_mac_parse(void **state)
{
	static const struct {
		const char *in;
		bool dash;
		int rc;
	} cases[] = {
		{ "52:54:00:00:01:01", false, 0 },
		{ "52:54:00:AB:cd:Ef", false, 0 },
		{ "52-54-00-ab-cd-ef", true, 0 },
		{ "52:54-00:ab-cd:ef", true, 0 },
		{ "52-54-00-ab-cd-ef", false, -EINVAL },	/* the definition: ':' only */
		{ "52:54:00:00:01", false, -EINVAL },		/* five bytes */
		{ "52:54:00:00:01:", false, -EINVAL },
		{ "52:54:00:00:01:01:", false, -EINVAL },	/* something after */
		{ "52:54:00:00:01:011", false, -EINVAL },
		{ "52:54:00:00:01:01 ", true, -EINVAL },
		{ "5:54:00:00:01:01", false, -EINVAL },		/* one digit */
		{ "52:54:00:00:01:0g", false, -EINVAL },
		{ "52;54;00;00;01;01", true, -EINVAL },
		{ "", false, -EINVAL },
	};
	uint8_t mac[6];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = mac_parse(cases[i].in, cases[i].dash, mac);

		if (rc != cases[i].rc)
			fail_msg("mac_parse(\"%s\", %d) = %d, want %d", cases[i].in, cases[i].dash,
				 rc, cases[i].rc);
	}
	assert_int_equal(mac_parse(NULL, true, mac), -EINVAL);
	assert_int_equal(mac_parse("52:54:00:AB:cd:Ef", false, mac), 0);
	assert_memory_equal(mac, ((const uint8_t[]){ 0x52, 0x54, 0x00, 0xab, 0xcd, 0xef }), 6);
}

static void test_mac_format_round_trip(void **state)
{
	const uint8_t in[6] = { 0x52, 0x54, 0x00, 0xab, 0x01, 0xff };
	char text[MAC_TEXT_LEN + 1];
	uint8_t out[6];

	(void)state;
	memset(text, 'x', sizeof(text));
	mac_format(in, text);
	assert_string_equal(text, "52:54:00:ab:01:ff");
	assert_int_equal(mac_parse(text, false, out), 0);
	assert_memory_equal(in, out, 6);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hex_digit),
		cmocka_unit_test(test_mac_parse),
		cmocka_unit_test(test_mac_format_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
