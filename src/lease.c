/*
 * lease.c - claims held outside a transaction (the two-phase API) and the
 * reaper that returns abandoned ones.
 *
 * - Claimants: "pid:start" where start is the backend's start time in
 *   microseconds, so a pid reused by a later backend is not taken for the
 *   claimant.  A claim is abandoned when its lease expired or no backend
 *   with its claimant's identity is alive.
 * - The reaper: abandoned claims ('processing' rows) go back to 'pending'
 *   (or to 'failed' once they used up their attempts).  Called by the
 *   workers' upkeep (at start-up and every sentiment_proc.upkeep_interval)
 *   and by sentiment_reset_stuck().  It writes each source as its owner.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/procarray.h"
#include "utils/backend_status.h"
#include "utils/builtins.h"

#include "sentiment_proc.h"

PG_FUNCTION_INFO_V1(sentiment_claimant);
PG_FUNCTION_INFO_V1(sentiment_claimant_alive);
PG_FUNCTION_INFO_V1(sentiment_reset_stuck);

/* ---- claimants ---- */

/* This backend's claimant identity, "pid:start". */
char *
sp_my_claimant(void)
{
	return psprintf("%d:" INT64_FORMAT, MyProcPid, (int64) MyStartTimestamp);
}

Datum
sentiment_claimant(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(sp_my_claimant()));
}

/*
 * Is the backend that made a claim still there?  An unparsable claimant
 * counts as gone.  A live pid whose start time we cannot see (a backend
 * newer than this transaction's view of backend activity) counts as alive:
 * the lease still bounds such a claim.
 */
bool
sp_claimant_alive(const char *claimant)
{
	int			pid;
	int64		started;
	char		tail;
	int			n;

	if (sscanf(claimant, "%d:" INT64_FORMAT "%c", &pid, &started, &tail) != 2)
		return false;
	if (pid == MyProcPid)
		return started == (int64) MyStartTimestamp;
	if (pid <= 0 || BackendPidGetProc(pid) == NULL)
		return false;
	n = pgstat_fetch_stat_numbackends();
	for (int i = 1; i <= n; i++)
	{
		LocalPgBackendStatus *l = pgstat_fetch_stat_local_beentry(i);

		if (l != NULL && l->backendStatus.st_procpid == pid)
			return (int64) l->backendStatus.st_proc_start_timestamp == started;
	}
	return true;
}

Datum
sentiment_claimant_alive(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(sp_claimant_alive(text_to_cstring(PG_GETARG_TEXT_PP(0))));
}

/* ---- the reaper ---- */

/* One source's share of the reaper's work (see reap_source). */
typedef struct ReapStep
{
	Oid			relid;
	Oid			topics;
	Oid			embeddings;
	const char *table;			/* quoted, qualified */
	const char *id;				/* the key column, quoted */
	const char *schema;			/* the extension's, quoted */
	bool		force;
	int64		returned;
} ReapStep;

/*
 * Return the abandoned claims of one source, as its owner (identity.c): the
 * UPDATE fires the owner's triggers, which must not run with our rights.
 */
static void
reap_source(void *arg)
{
	ReapStep   *st = (ReapStep *) arg;
	Oid			types[3] = {INT4OID, BOOLOID, INT4OID};
	Datum		vals[3] = {Int32GetDatum(sp_max_attempts_setting()), BoolGetDatum(st->force),
	Int32GetDatum(sp_error_history_setting())};
	SpOwnerSwitch sw;
	char	   *sql;
	int			ret;

	sql = psprintf(
		"UPDATE %s AS s SET "
		" processing_status = CASE WHEN s.processing_attempts OPERATOR(pg_catalog.>=) $1 "
		"   THEN 'failed' ELSE 'pending' END, "
		" processing_error = CASE WHEN s.processing_attempts OPERATOR(pg_catalog.>=) $1 "
		"   THEN 'claim abandoned: ' OPERATOR(pg_catalog.||) r.why ELSE s.processing_error END, "
		" processing_completed_at = CASE WHEN s.processing_attempts OPERATOR(pg_catalog.>=) $1 "
		"   THEN pg_catalog.now() ELSE s.processing_completed_at END, "
		" processing_error_history = %s.sentiment_error_history_add(s.processing_error_history, "
		"   s.processing_attempts::pg_catalog.int4, NULL, 'claim abandoned: ' OPERATOR(pg_catalog.||) r.why, $3), "
		" processing_lease_until = NULL, processing_claimed_by = NULL, processing_retry_at = NULL "
		"FROM (SELECT c.%s AS id, CASE "
		"        WHEN $2 THEN 'reset by sentiment_reset_stuck' "
		"        WHEN c.processing_claimed_by IS NULL OR c.processing_lease_until IS NULL THEN 'no claimant or lease' "
		"        WHEN NOT %s.sentiment_claimant_alive(c.processing_claimed_by) THEN 'claimant ' "
		"             OPERATOR(pg_catalog.||) c.processing_claimed_by OPERATOR(pg_catalog.||) ' is gone' "
		"        WHEN c.processing_lease_until OPERATOR(pg_catalog.<) pg_catalog.now() THEN 'lease expired' "
		"        END AS why "
		"      FROM %s AS c WHERE c.processing_status OPERATOR(pg_catalog.=) 'processing' "
		"      FOR NO KEY UPDATE OF c SKIP LOCKED) AS r "
		"WHERE s.%s OPERATOR(pg_catalog.=) r.id AND r.why IS NOT NULL",
		st->table, st->schema, st->id, st->schema, st->table, st->id);

	sp_as_table_owner(st->relid, &sw);
	sp_check_source_tables(st->relid, st->topics, st->embeddings);
	ret = SPI_execute_with_args(sql, 3, types, vals, NULL, false, 0);
	if (ret != SPI_OK_UPDATE)
		elog(ERROR, "could not return abandoned claims of %s: %s",
			 st->table, SPI_result_code_string(ret));
	st->returned = (int64) SPI_processed;
	sp_restore_user(&sw);
}

/* The reaper skips a source it cannot work on now and tries again later. */
static bool
reap_skippable(int sqlerrcode)
{
	return ERRCODE_TO_CATEGORY(sqlerrcode) != ERRCODE_OPERATOR_INTERVENTION &&
		ERRCODE_TO_CATEGORY(sqlerrcode) != ERRCODE_INSUFFICIENT_RESOURCES;
}

/*
 * Return abandoned claims of one source (InvalidOid: every attached source
 * the caller may process) to 'pending'; with force, every claim.  A claim
 * that has used up its attempts becomes 'failed' instead (an analyser that
 * dies on a row would otherwise take it forever).  Runs in the caller's
 * transaction with a snapshot; returns the rows returned.  With every
 * source, one that cannot be worked on now (locked, broken) is skipped
 * with a warning.
 */
int64
sp_reap_claims(Oid source, bool force)
{
	char	   *schema;
	int64		total = 0;
	int			ret;
	uint64		nsources;
	ReapStep   *steps;
	Oid			argtypes[1] = {OIDOID};
	Datum		args[1] = {ObjectIdGetDatum(source)};

	schema = sp_extension_schema_name();
	if (schema == NULL)
		return 0;
	if (OidIsValid(source))
		sp_check_may_process(source);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	{
		char	   *sql = psprintf(
			"SELECT pg_catalog.format('%%I.%%I', n.nspname, c.relname), s.id_column::pg_catalog.text, "
			"       s.source_table::pg_catalog.oid, s.topics_table::pg_catalog.oid, s.embeddings_table::pg_catalog.oid "
			"  FROM %s.sentiment_sources s "
			"  JOIN pg_catalog.pg_class c ON c.oid = s.source_table "
			"  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
			" WHERE ($1 OPERATOR(pg_catalog.=) 0 OR s.source_table OPERATOR(pg_catalog.=) $1) "
			/* a source not yet upgraded from 1.0 has no claims to reap */
			"   AND EXISTS (SELECT FROM pg_catalog.pg_attribute a WHERE a.attrelid OPERATOR(pg_catalog.=) s.source_table "
			"               AND a.attname OPERATOR(pg_catalog.=) 'processing_lease_until' AND NOT a.attisdropped) "
			" ORDER BY s.source_table",
			quote_identifier(schema));

		ret = SPI_execute_with_args(sql, 1, argtypes, args, NULL, true, 0);
		if (ret != SPI_OK_SELECT)
			elog(ERROR, "could not read the sentiment_proc source registry: %s",
				 SPI_result_code_string(ret));
	}
	nsources = SPI_processed;
	steps = palloc0(sizeof(ReapStep) * (nsources + 1));
	for (uint64 i = 0; i < nsources; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;

		steps[i].table = SPI_getvalue(tup, desc, 1);
		steps[i].id = quote_identifier(SPI_getvalue(tup, desc, 2));
		steps[i].relid = DatumGetObjectId(SPI_getbinval(tup, desc, 3, &isnull));
		steps[i].topics = DatumGetObjectId(SPI_getbinval(tup, desc, 4, &isnull));
		steps[i].embeddings = DatumGetObjectId(SPI_getbinval(tup, desc, 5, &isnull));
		steps[i].schema = quote_identifier(schema);
		steps[i].force = force;
	}

	for (uint64 i = 0; i < nsources; i++)
	{
		ErrorData  *edata;

		if (OidIsValid(source))
		{
			reap_source(&steps[i]);
			total += steps[i].returned;
			continue;
		}
		if (!sp_may_process(steps[i].relid))
			continue;
		edata = sp_in_subtransaction(reap_source, &steps[i], reap_skippable);
		if (edata == NULL)
		{
			total += steps[i].returned;
			continue;
		}
		ereport(edata->sqlerrcode == ERRCODE_LOCK_NOT_AVAILABLE ? NOTICE : WARNING,
				(errcode(edata->sqlerrcode),
				 errmsg("sentiment_proc could not return abandoned claims of %s: %s",
						steps[i].table, edata->message ? edata->message : "unknown error"),
				 errhint("They are returned by a later pass.")));
		FreeErrorData(edata);
	}
	SPI_finish();
	return total;
}

/* sentiment_reset_stuck(source regclass DEFAULT NULL, force boolean DEFAULT false) */
Datum
sentiment_reset_stuck(PG_FUNCTION_ARGS)
{
	Oid			source = PG_ARGISNULL(0) ? InvalidOid : PG_GETARG_OID(0);
	bool		force = PG_ARGISNULL(1) ? false : PG_GETARG_BOOL(1);

	PG_RETURN_INT64(sp_reap_claims(source, force));
}

