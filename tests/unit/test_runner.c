/* SPDX-License-Identifier: MIT */
/* Running programs: started or not, exit status, signals, time limits. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "runner.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_outcomes(void **state)
{
	const char *ok[] = { "true", NULL }, *no[] = { "false", NULL },
		   *missing[] = { "dim-no-such-program", NULL },
		   *killed[] = { "sh", "-c", "kill -9 $$", NULL };
	struct dim_err e;
	int status;

	(void)state;
	assert_int_equal(runner_run(ok, NULL, &status, &e), 0);
	assert_int_equal(status, 0);
	assert_int_equal(runner_run(no, NULL, &status, &e), -ECHILD);
	assert_int_equal(status, 1);
	assert_non_null(strstr(e.msg, "false exited with status 1"));
	assert_int_equal(runner_run(missing, NULL, &status, &e), -ENOENT);
	assert_non_null(strstr(e.msg, "dim-no-such-program: cannot run"));
	assert_int_equal(runner_run(killed, NULL, &status, &e), -EINTR);
	assert_int_equal(status, 128 + 9);
}

static void test_timeout(void **state)
{
	const char *slow[] = { "sleep", "30", NULL },
		   *stubborn[] = { "sh", "-c", "trap '' TERM; sleep 30", NULL },
		   *quick[] = { "true", NULL };
	struct runner_opts o = { .out_fd = -1, .timeout_ms = 300 };
	struct dim_err e;
	double t0;

	(void)state;
	t0 = now();
	assert_int_equal(runner_run(slow, &o, NULL, &e), -ETIMEDOUT);
	assert_true(now() - t0 < 3);
	assert_non_null(strstr(e.msg, "sleep did not finish in 0.3 s"));
	/* One that ignores SIGTERM gets SIGKILL a second later. */
	t0 = now();
	assert_int_equal(runner_run(stubborn, &o, NULL, &e), -ETIMEDOUT);
	assert_true(now() - t0 < 5);
	assert_int_equal(runner_run(quick, &o, NULL, &e), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_outcomes),
		cmocka_unit_test(test_timeout),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
