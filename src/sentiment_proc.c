/*
 * sentiment_proc.c - module entry point.
 *
 * The SQL-callable functions need nothing at load time: the analyser is
 * built lazily by the first backend call that needs it (analyze.c), so the
 * module also works when loaded on demand rather than preloaded.
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/guc.h"

#include "sentiment_proc.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

void
_PG_init(void)
{
	/* background workers: settings; shared memory and launcher if preloaded */
	sp_worker_init();

	/* retries and backoff (retry.c), the queue's retention (queue.c) */
	sp_retry_init();
	sp_queue_init();

	/* two-phase claims and foreign claims (lease.c): setting */
	sp_lease_init();

	/* statistics and progress (stats.c): setting; shared memory if preloaded */
	sp_stats_init();

	/* whose rights processing runs with (identity.c): setting */
	sp_identity_init();

	/* the extension's own scripts write users' tables as their owners */
	sp_script_guard_init();

	/*
	 * Define settings and register workers above this line: reserving the
	 * prefix removes placeholders and warns about any sentiment_proc.*
	 * setting not defined by then.
	 */
	MarkGUCPrefixReserved("sentiment_proc");
}
