/*
 * test_influence.c - sa_influence_weight(): bounds, defaults, monotonicity,
 * extreme inputs, and values worked out by hand from the documented formula
 *   s = 1 + log10(1 + F) + 2 log10(1 + L + 2R + 3S),  w = s / (s + 10).
 */
#include <stdint.h>

#include "analyzer.h"
#include "check.h"

static double
w4(int64_t f, int64_t l, int64_t s, int64_t r)
{
	sa_engagement e = {f, l, s, r};

	return sa_influence_weight(&e);
}

int
main(void)
{
	const int64_t probes[] = {-1, 0, 1, 2, 9, 10, 99, 1000, 123456, 10000000,
		(int64_t) 1 << 40, INT64_MAX / 4, INT64_MAX};
	const int	np = (int) (sizeof(probes) / sizeof(probes[0]));
	double		w;

	/* Nothing known: s = 1, w = 1/11.  NULL means the same. */
	CHECK_NEAR(w4(-1, -1, -1, -1), 1.0 / 11.0, 1e-12);
	CHECK_NEAR(sa_influence_weight(NULL), 1.0 / 11.0, 1e-12);
	/* Unknown counts as 0, whatever the negative value. */
	CHECK(w4(INT64_MIN, -5, -7, INT64_MIN) == w4(0, 0, 0, 0));
	CHECK(w4(-1, 10, -1, -1) == w4(0, 10, 0, 0));

	/* Hand-computed: 9 followers -> s = 2, w = 2/12. */
	CHECK_NEAR(w4(9, 0, 0, 0), 2.0 / 12.0, 1e-12);
	/* 99 likes -> s = 1 + 2*2 = 5, w = 5/15. */
	CHECK_NEAR(w4(0, 99, 0, 0), 1.0 / 3.0, 1e-12);
	/* 33 shares count as 99 likes; 49.5 replies would too: 3 likes + 48 replies = 99. */
	CHECK_NEAR(w4(0, 0, 33, 0), 1.0 / 3.0, 1e-12);
	CHECK_NEAR(w4(0, 3, 0, 48), 1.0 / 3.0, 1e-12);
	/* 999 followers, 9 likes: s = 1 + 3 + 2 = 6, w = 6/16. */
	CHECK_NEAR(w4(999, 9, 0, 0), 6.0 / 16.0, 1e-12);
	/* Weights of the engagement kinds: share > reply > like. */
	CHECK(w4(0, 0, 1, 0) > w4(0, 0, 0, 1));
	CHECK(w4(0, 0, 0, 1) > w4(0, 1, 0, 0));

	/* Bounds and finiteness over a grid including the extremes. */
	for (int a = 0; a < np; a++)
		for (int b = 0; b < np; b++)
			for (int c = 0; c < np; c++)
				for (int d = 0; d < np; d++)
				{
					w = w4(probes[a], probes[b], probes[c], probes[d]);
					CHECK_MSG(isfinite(w) && w >= 1.0 / 11.0 - 1e-15 && w < 1.0,
							  "w(%lld,%lld,%lld,%lld) = %g", (long long) probes[a],
							  (long long) probes[b], (long long) probes[c],
							  (long long) probes[d], w);
				}
	/* All at INT64_MAX: still below 1 (s is about 1 + 19 + 2*19.8). */
	w = w4(INT64_MAX, INT64_MAX, INT64_MAX, INT64_MAX);
	CHECK(isfinite(w) && w > 0.8 && w < 1.0);

	/* Monotone (non-decreasing) in each input, others fixed at a few values. */
	for (int field = 0; field < 4; field++)
		for (int o = 0; o < np; o += 3)
		{
			double		prev = -1.0;

			for (int a = 0; a < np; a++)
			{
				int64_t		v[4] = {probes[o], probes[o], probes[o], probes[o]};

				v[field] = probes[a];
				w = w4(v[0], v[1], v[2], v[3]);
				CHECK_MSG(w >= prev, "field %d not monotone at %lld", field, (long long) probes[a]);
				prev = w;
			}
		}
	/* Strictly increasing where doubles can tell the inputs apart. */
	CHECK(w4(1000, 0, 0, 0) < w4(1001, 0, 0, 0));
	CHECK(w4(0, 1000, 0, 0) < w4(0, 1001, 0, 0));
	CHECK(w4(0, 0, 1000, 0) < w4(0, 0, 1001, 0));
	CHECK(w4(0, 0, 0, 1000) < w4(0, 0, 0, 1001));

	return check_report("test_influence");
}
