/*
 * check.h - a minimal unit-test harness for the analyser tests.
 *
 * Each test binary ends with one line "NAME: N passed, N failed" and exits
 * non-zero when anything failed, so make and the test script can count.
 */
#ifndef SA_CHECK_H
#define SA_CHECK_H

#include <math.h>
#include <stdio.h>
#include <string.h>

static int	check_passed;
static int	check_failed;

#define CHECK(cond) \
	do { \
		if (cond) check_passed++; \
		else { check_failed++; \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); } \
	} while (0)

#define CHECK_MSG(cond, ...) \
	do { \
		if (cond) check_passed++; \
		else { check_failed++; \
			fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond); \
			fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); } \
	} while (0)

#define CHECK_NEAR(a, b, eps) \
	CHECK_MSG(fabs((double) (a) - (double) (b)) <= (eps), "%s = %.6f, expected %.6f", #a, (double) (a), (double) (b))

/* Call at the end of main(). */
static inline int
check_report(const char *suite)
{
	printf("%s: %d passed, %d failed\n", suite, check_passed, check_failed);
	return check_failed == 0 ? 0 : 1;
}

#endif
