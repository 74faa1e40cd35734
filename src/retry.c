/*
 * retry.c - how failed rows come back: attempts, backoff, error history.
 *
 * A row whose write fails (batch_record.c) or whose two-phase claim is
 * abandoned (lease.c) is retried after a delay that doubles with every
 * attempt: min(retry_max_delay, retry_delay * 2^(attempt-1)), times a random
 * factor in [0.5, 1] so that rows failed together do not all come back in
 * the same instant.  After sentiment_proc.max_attempts it stays failed until
 * sentiment_retry_failed() re-queues it.  Each failure is kept in the row's
 * bounded processing_error_history.
 */
#include "postgres.h"

#include <limits.h>
#include <math.h>

#include "common/pg_prng.h"
#include "fmgr.h"
#include "utils/guc.h"
#include "utils/timestamp.h"

#include "sentiment_proc.h"

PG_FUNCTION_INFO_V1(sentiment_retry_delay);

static int	sp_max_attempts = 5;
static int	sp_retry_delay_ms = 10000;
static int	sp_retry_max_delay_ms = 3600 * 1000;
static int	sp_error_history = 10;

/* The settings, in the order they are defined. */
static const SpIntSetting retry_settings[] = {
	{"sentiment_proc.max_attempts",
		"Attempts after which a failed row is no longer retried automatically.",
		"Past it the row stays failed until sentiment_retry_failed() re-queues it.",
		&sp_max_attempts, 5, 1, 1000, PGC_SUSET, 0},
	{"sentiment_proc.retry_delay",
		"Delay before the first retry of a failed row; it doubles with every attempt.", NULL,
		&sp_retry_delay_ms, 10000, 0, 24 * 3600 * 1000, PGC_SUSET, GUC_UNIT_MS},
	{"sentiment_proc.retry_max_delay",
		"Longest delay between two attempts of a failed row.", NULL,
		&sp_retry_max_delay_ms, 3600 * 1000, 0, INT_MAX, PGC_SUSET, GUC_UNIT_MS},
	{"sentiment_proc.error_history",
		"Errors kept per row in processing_error_history (the latest ones).", NULL,
		&sp_error_history, 10, 0, 1000, PGC_SUSET, 0},
};

void
sp_retry_init(void)
{
	sp_define_int_settings(retry_settings, lengthof(retry_settings));
}

/* sentiment_proc.max_attempts */
int
sp_max_attempts_setting(void)
{
	return sp_max_attempts;
}

/* sentiment_proc.error_history */
int
sp_error_history_setting(void)
{
	return sp_error_history;
}

/*
 * Time of the next attempt of a row that failed its attempt'th attempt, or 0
 * when it is not retried automatically.
 */
TimestampTz
sp_retry_at(int attempt, TimestampTz now)
{
	double		delay;

	if (attempt >= sp_max_attempts)
		return 0;
	delay = (double) sp_retry_delay_ms * pow(2.0, (double) Max(attempt - 1, 0));
	delay = Min(delay, (double) sp_retry_max_delay_ms);
	delay *= 0.5 + 0.5 * pg_prng_double(&pg_global_prng_state);
	return now + (TimestampTz) (delay * 1000.0);
}

/* sentiment_retry_delay(attempt): the delay after that attempt, NULL if none */
Datum
sentiment_retry_delay(PG_FUNCTION_ARGS)
{
	int32		attempt = PG_GETARG_INT32(0);
	TimestampTz now = GetCurrentTimestamp();
	TimestampTz at = sp_retry_at(attempt, now);
	Interval   *iv;

	if (at == 0)
		PG_RETURN_NULL();
	iv = palloc0(sizeof(Interval));
	iv->time = at - now;
	PG_RETURN_INTERVAL_P(iv);
}
