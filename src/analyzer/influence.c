/*
 * influence.c - how much weight one mention deserves when aggregating,
 * from its engagement metadata.
 *
 *   s = 1 + log10(1 + followers) + 2 * log10(1 + likes + 2 * replies + 3 * shares)
 *   weight = s / (s + 10)
 *
 * Why this shape: audience and engagement both span many orders of
 * magnitude, so they count by their logarithm (10 followers -> 100 adds as
 * much as 1,000 -> 10,000).  Engagement counts twice as much as followers
 * because it measures what this mention actually reached rather than what
 * its author could reach; among engagement kinds a share carries the
 * mention to a new audience (3), a reply is a conversation (2), a like is
 * the cheapest signal (1).  The constant 1 gives every mention, even one
 * with nothing known, a non-zero weight, so weighted averages never divide
 * by zero.  s / (s + 10) maps [1, inf) onto [1/11, 1): bounded, and a
 * mention with 1,000 followers and 10 likes (s about 6.1) sits near 0.38.
 *
 * Unknown values (negative, or eng == NULL) count as 0: no evidence of
 * reach.  The weight never decreases when any input grows (with the
 * caveat that values above 2^53 are rounded to the nearest double), all
 * arithmetic is in double so INT64_MAX cannot overflow, and no input
 * gives NaN.
 */
#include <math.h>

#include "analyzer.h"

#define W_FOLLOWERS		1.0
#define W_ENGAGEMENT	2.0
#define W_LIKE			1.0
#define W_REPLY			2.0
#define W_SHARE			3.0
#define BASE			1.0
#define HALF_POINT		10.0	/* s at which the weight is 0.5 */

static inline double
known(int64_t v)
{
	return v < 0 ? 0.0 : (double) v;
}

double
sa_influence_weight(const sa_engagement *eng)
{
	double		followers = 0.0,
				engagement = 0.0,
				s;

	if (eng != NULL)
	{
		followers = known(eng->followers);
		engagement = W_LIKE * known(eng->likes) + W_REPLY * known(eng->replies) +
			W_SHARE * known(eng->shares);
	}
	/* log1p keeps precision for small counts; both terms are >= 0, finite */
	s = BASE + W_FOLLOWERS * log1p(followers) / M_LN10 +
		W_ENGAGEMENT * log1p(engagement) / M_LN10;
	/*
	 * s / (s + 10) written as 1 - 10 / (s + 10): each correctly rounded step
	 * is then monotone in s, so rounding cannot make the weight dip by an
	 * ulp when an input grows (the quotient form can).
	 */
	return 1.0 - HALF_POINT / (s + HALF_POINT);
}
