/*
 * claim.c - retries, claims held outside a transaction, and their upkeep.
 *
 * - Settings for retries (attempts, backoff), the error history cap, the
 *   processing queue's retention and the workers' upkeep interval.
 * - The backoff: delay = min(retry_max_delay, retry_delay * 2^(attempt-1)),
 *   times a random factor in [0.5, 1] so that rows failed together do not
 *   all come back in the same instant.
 * - Claimants of the two-phase path: "pid:start" where start is the
 *   backend's start time in microseconds, so a pid reused by a later backend
 *   is not taken for the claimant.  A claim is orphaned when no backend with
 *   that identity is alive.
 * - The reaper: claims ('processing' rows) whose lease expired or whose
 *   claimant is gone go back to 'pending' (or to 'failed' once they used up
 *   their attempts).  Called by the workers at start-up and periodically,
 *   and by sentiment_reset_stuck().
 * - Foreign claims: a 'processing' row without a claimant of ours was
 *   claimed by another system (a pipeline being migrated).  It is left to
 *   that system for a grace period from its processing_started_at
 *   (sentiment_proc.foreign_claim_grace, or the source's own in the
 *   registry), and only then returned like an abandoned claim, the abandoned
 *   claim counting as an attempt.  A start time that is missing, or not
 *   later than the row's last completion (a worker that never sets it), is
 *   unknown: the reaper stamps the time it first sees the claim.
 * - The text edit trigger: a changed text bumps version and re-queues the
 *   row, so a result computed for the old text can never be stored.
 */
#include "postgres.h"

#include <math.h>

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "commands/trigger.h"
#include "common/pg_prng.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/procarray.h"
#include "utils/backend_status.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "sentiment_proc.h"

PG_FUNCTION_INFO_V1(sentiment_retry_delay);
PG_FUNCTION_INFO_V1(sentiment_claimant);
PG_FUNCTION_INFO_V1(sentiment_claimant_alive);
PG_FUNCTION_INFO_V1(sentiment_text_edit_trigger);
PG_FUNCTION_INFO_V1(sentiment_reset_stuck);
PG_FUNCTION_INFO_V1(sentiment_prune_queue);

/* settings */
int			sp_max_attempts = 5;
int			sp_retry_delay_ms = 10000;
int			sp_retry_max_delay_ms = 3600 * 1000;
int			sp_error_history = 10;
int			sp_queue_retention_s = 7 * 24 * 3600;
int			sp_upkeep_interval_ms = 10000;
static int	foreign_claim_grace_s = 10 * 60;

void
sp_claim_init(void)
{
	DefineCustomIntVariable("sentiment_proc.max_attempts",
							"Attempts after which a failed row is no longer retried automatically.",
							"Past it the row stays failed until sentiment_retry_failed() re-queues it.",
							&sp_max_attempts, 5, 1, 1000,
							PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("sentiment_proc.retry_delay",
							"Delay before the first retry of a failed row; it doubles with every attempt.",
							NULL,
							&sp_retry_delay_ms, 10000, 0, 24 * 3600 * 1000,
							PGC_SUSET, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("sentiment_proc.retry_max_delay",
							"Longest delay between two attempts of a failed row.",
							NULL,
							&sp_retry_max_delay_ms, 3600 * 1000, 0, INT_MAX,
							PGC_SUSET, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("sentiment_proc.error_history",
							"Errors kept per row in processing_error_history (the latest ones).",
							NULL,
							&sp_error_history, 10, 0, 1000,
							PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("sentiment_proc.queue_retention",
							"How long finished requests stay in sentiment_processing_queue.",
							NULL,
							&sp_queue_retention_s, 7 * 24 * 3600, 0, INT_MAX,
							PGC_SUSET, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("sentiment_proc.upkeep_interval",
							"How often a worker returns abandoned claims and prunes the queue.",
							NULL,
							&sp_upkeep_interval_ms, 10000, 100, 24 * 3600 * 1000,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("sentiment_proc.foreign_claim_grace",
							"How long a row claimed outside sentiment_proc is left to its claimant.",
							"Counted from the row's processing_started_at; past it the row returns to pending. "
							"sentiment_set_foreign_grace() overrides it per table.",
							&foreign_claim_grace_s, 10 * 60, 0, 7 * 24 * 3600,
							PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
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

/* ---- claimants ---- */

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

/* ---- the extension's own schema and owner ---- */

static bool
extension_info(Oid *nsp, Oid *owner)
{
	Oid			ext = get_extension_oid("sentiment_proc", true);

	return OidIsValid(ext) && sp_extension_info(ext, nsp, owner);
}

/*
 * Run statements on the extension's private tables (the processing queue) as
 * the extension's owner, as a SECURITY DEFINER function would: callers of
 * sentiment_process_batch need no privilege on them.
 */
void
sp_as_extension_owner(SpOwnerSwitch *sw)
{
	Oid			nsp;
	Oid			owner;

	if (!extension_info(&nsp, &owner))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("extension \"sentiment_proc\" is not installed in this database"),
				 errhint("Run CREATE EXTENSION sentiment_proc;")));
	GetUserIdAndSecContext(&sw->saved_user, &sw->saved_context);
	SetUserIdAndSecContext(owner, sw->saved_context | SECURITY_LOCAL_USERID_CHANGE);
}

void
sp_restore_user(SpOwnerSwitch *sw)
{
	SetUserIdAndSecContext(sw->saved_user, sw->saved_context);
}

char *
sp_extension_schema_name(void)
{
	Oid			nsp;
	Oid			owner;

	if (!extension_info(&nsp, &owner))
		return NULL;
	return get_namespace_name(nsp);
}

/* ---- the reaper ---- */

/*
 * Return abandoned claims of one source (InvalidOid: every attached source)
 * to 'pending'; with force, every claim.  A claim that has used up its
 * attempts becomes 'failed' instead (an analyser that dies on a row would
 * otherwise take it forever).  Claims made outside sentiment_proc (no
 * claimant) are returned only once their grace period is over.  Runs in the
 * caller's transaction with a snapshot; returns the rows returned.
 */
int64
sp_reap_claims(Oid source, bool force)
{
	char	   *schema;
	int64		total = 0;
	int			ret;
	uint64		nsources;
	char	  **tables;
	char	  **ids;
	double	   *graces;
	const char *grace_col;
	Oid			argtypes[2] = {OIDOID, FLOAT8OID};
	Datum		args[2] = {ObjectIdGetDatum(source), Float8GetDatum((double) foreign_claim_grace_s)};

	schema = sp_extension_schema_name();
	if (schema == NULL)
		return 0;

	/* the registry's per-table grace is new in 1.2: not there before the update */
	grace_col = get_attnum(get_relname_relid("sentiment_sources", get_namespace_oid(schema, false)),
						   "foreign_claim_grace") != InvalidAttrNumber ?
		"pg_catalog.date_part('epoch', s.foreign_claim_grace)" : "NULL";

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	{
		char	   *sql = psprintf(
			"SELECT pg_catalog.format('%%I.%%I', n.nspname, c.relname), s.id_column::pg_catalog.text, "
			"       COALESCE(%s, $2)::pg_catalog.float8 "
			"  FROM %s.sentiment_sources s "
			"  JOIN pg_catalog.pg_class c ON c.oid = s.source_table "
			"  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
			" WHERE ($1 OPERATOR(pg_catalog.=) 0 OR s.source_table OPERATOR(pg_catalog.=) $1) "
			/* a source not yet upgraded from 1.0 has no claims to reap */
			"   AND EXISTS (SELECT FROM pg_catalog.pg_attribute a WHERE a.attrelid OPERATOR(pg_catalog.=) s.source_table "
			"               AND a.attname OPERATOR(pg_catalog.=) 'processing_lease_until' AND NOT a.attisdropped) "
			" ORDER BY s.source_table",
			grace_col, quote_identifier(schema));

		ret = SPI_execute_with_args(sql, 2, argtypes, args, NULL, true, 0);
		if (ret != SPI_OK_SELECT)
			elog(ERROR, "could not read the sentiment_proc source registry: %s",
				 SPI_result_code_string(ret));
	}
	nsources = SPI_processed;
	tables = palloc(sizeof(char *) * (nsources + 1));
	ids = palloc(sizeof(char *) * (nsources + 1));
	graces = palloc(sizeof(double) * (nsources + 1));
	for (uint64 i = 0; i < nsources; i++)
	{
		bool		isnull;

		tables[i] = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
		ids[i] = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2);
		graces[i] = DatumGetFloat8(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 3, &isnull));
	}

	for (uint64 i = 0; i < nsources; i++)
	{
		Oid			types[4] = {INT4OID, BOOLOID, INT4OID, FLOAT8OID};
		Datum		vals[4] = {Int32GetDatum(sp_max_attempts), BoolGetDatum(force),
			Int32GetDatum(sp_error_history), Float8GetDatum(graces[i])};
		const char *q = quote_identifier(schema);
		const char *id = quote_identifier(ids[i]);
		char	   *why;
		char	   *sql;

		/*
		 * Foreign claims whose start is unknown get one: now.  Rows of ours
		 * in 'processing' always carry a claimant.
		 */
		if (!force)
		{
			sql = psprintf(
				"UPDATE %s AS s SET processing_started_at = pg_catalog.now() "
				"FROM (SELECT c.%s AS id FROM %s AS c "
				"      WHERE c.processing_status OPERATOR(pg_catalog.=) 'processing' "
				"        AND c.processing_claimed_by IS NULL "
				"        AND (c.processing_started_at IS NULL "
				"             OR c.processing_started_at OPERATOR(pg_catalog.<=) c.processing_completed_at) "
				"      FOR NO KEY UPDATE OF c SKIP LOCKED) AS r "
				"WHERE s.%s OPERATOR(pg_catalog.=) r.id",
				tables[i], id, tables[i], id);
			ret = SPI_execute(sql, false, 0);
			if (ret != SPI_OK_UPDATE)
				elog(ERROR, "could not date the foreign claims of %s: %s",
					 tables[i], SPI_result_code_string(ret));
		}

		/* why a claim is abandoned; NULL: it is not */
		why = psprintf(
			"CASE "
			" WHEN $2 THEN 'reset by sentiment_reset_stuck' "
			" WHEN c.processing_claimed_by IS NULL THEN CASE "
			"   WHEN c.processing_started_at OPERATOR(pg_catalog.<) "
			"        (pg_catalog.now() OPERATOR(pg_catalog.-) pg_catalog.make_interval(secs => $4)) "
			"    AND (c.processing_completed_at IS NULL "
			"         OR c.processing_started_at OPERATOR(pg_catalog.>) c.processing_completed_at) "
			"   THEN 'claimed outside sentiment_proc and not finished within ' "
			"        OPERATOR(pg_catalog.||) pg_catalog.make_interval(secs => $4)::pg_catalog.text END "
			" WHEN c.processing_lease_until IS NULL THEN 'no claimant or lease' "
			" WHEN NOT %s.sentiment_claimant_alive(c.processing_claimed_by) THEN 'claimant ' "
			"      OPERATOR(pg_catalog.||) c.processing_claimed_by OPERATOR(pg_catalog.||) ' is gone' "
			" WHEN c.processing_lease_until OPERATOR(pg_catalog.<) pg_catalog.now() THEN 'lease expired' "
			"END",
			q);

		/*
		 * A foreign claim did not count its attempt (r.add): the reaper
		 * counts it, so a row that keeps failing over there ends up failed.
		 */
		sql = psprintf(
			"UPDATE %1$s AS s SET "
			" processing_attempts = s.processing_attempts OPERATOR(pg_catalog.+) r.add, "
			" processing_status = CASE WHEN (s.processing_attempts OPERATOR(pg_catalog.+) r.add) OPERATOR(pg_catalog.>=) $1 "
			"   THEN 'failed' ELSE 'pending' END, "
			" processing_error = CASE WHEN (s.processing_attempts OPERATOR(pg_catalog.+) r.add) OPERATOR(pg_catalog.>=) $1 "
			"   THEN 'claim abandoned: ' OPERATOR(pg_catalog.||) r.why ELSE s.processing_error END, "
			" processing_completed_at = CASE WHEN (s.processing_attempts OPERATOR(pg_catalog.+) r.add) OPERATOR(pg_catalog.>=) $1 "
			"   THEN pg_catalog.now() ELSE s.processing_completed_at END, "
			" processing_error_history = %2$s.sentiment_error_history_add(s.processing_error_history, "
			"   (s.processing_attempts OPERATOR(pg_catalog.+) r.add)::pg_catalog.int4, NULL, "
			"   'claim abandoned: ' OPERATOR(pg_catalog.||) r.why, $3), "
			" processing_lease_until = NULL, processing_claimed_by = NULL, processing_retry_at = NULL "
			"FROM (SELECT c.%3$s AS id, %4$s AS why, "
			"        CASE WHEN c.processing_claimed_by IS NULL THEN 1 ELSE 0 END AS add "
			"      FROM %1$s AS c WHERE c.processing_status OPERATOR(pg_catalog.=) 'processing' "
			"       AND (%4$s) IS NOT NULL "
			"      FOR NO KEY UPDATE OF c SKIP LOCKED) AS r "
			"WHERE s.%3$s OPERATOR(pg_catalog.=) r.id",
			tables[i], q, id, why);

		ret = SPI_execute_with_args(sql, 4, types, vals, NULL, false, 0);
		if (ret != SPI_OK_UPDATE)
			elog(ERROR, "could not return abandoned claims of %s: %s",
				 tables[i], SPI_result_code_string(ret));
		total += SPI_processed;
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

/* ---- the processing queue's retention ---- */

int64
sp_prune_queue(void)
{
	char	   *schema = sp_extension_schema_name();
	SpOwnerSwitch sw;
	volatile int64 n = 0;
	int			ret;
	Oid			types[1] = {INT4OID};
	Datum		vals[1] = {Int32GetDatum(sp_queue_retention_s)};

	if (schema == NULL ||
		!OidIsValid(get_relname_relid("sentiment_processing_queue", get_namespace_oid(schema, false))))
		return 0;				/* not there before 1.1 */
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	sp_as_extension_owner(&sw);
	PG_TRY();
	{
		/*
		 * Finished requests past the retention, and requests of tables no
		 * longer attached, a bounded number at a time.
		 */
		char	   *sql = psprintf(
			"DELETE FROM %1$s.sentiment_processing_queue WHERE request_id OPERATOR(pg_catalog.=) ANY (ARRAY("
			" SELECT q.request_id FROM %1$s.sentiment_processing_queue q "
			"  WHERE (q.status OPERATOR(pg_catalog.<>) 'queued' AND q.completed_at OPERATOR(pg_catalog.<) "
			"         (pg_catalog.now() OPERATOR(pg_catalog.-) pg_catalog.make_interval(secs => $1))) "
			"     OR NOT EXISTS (SELECT FROM %1$s.sentiment_sources s WHERE s.source_table OPERATOR(pg_catalog.=) q.source_table) "
			"  LIMIT 10000))",
			quote_identifier(schema));

		ret = SPI_execute_with_args(sql, 1, types, vals, NULL, false, 0);
		if (ret != SPI_OK_DELETE)
			elog(ERROR, "could not prune the processing queue: %s", SPI_result_code_string(ret));
		n = (int64) SPI_processed;
	}
	PG_FINALLY();
	{
		sp_restore_user(&sw);
	}
	PG_END_TRY();
	SPI_finish();
	return n;
}

Datum
sentiment_prune_queue(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64(sp_prune_queue());
}

/* ---- edits win over stale results ---- */

static int
attnum_of(TupleDesc desc, const char *name)
{
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute a = TupleDescAttr(desc, i);

		if (!a->attisdropped && strcmp(NameStr(a->attname), name) == 0)
			return i + 1;
	}
	return 0;
}

/*
 * BEFORE UPDATE OF <text column> FOR EACH ROW, argument: the text column.
 * When the text really changed: version + 1, status 'pending', attempts,
 * error, retry time and claim cleared.  A batch holding the row's lock makes
 * this update wait and then apply on top of its result; a two-phase
 * claimant's later sentiment_complete() finds another version and writes
 * nothing.
 */
Datum
sentiment_text_edit_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	TupleDesc	desc;
	HeapTuple	oldtup;
	HeapTuple	newtup;
	int			textcol;
	int			cols[7];
	Datum		vals[7];
	bool		nulls[7];
	int			ncols = 0;
	bool		oldnull;
	bool		newnull;
	Datum		oldv;
	Datum		newv;
	int			a;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_BEFORE(td->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(td->tg_event) || !TRIGGER_FIRED_BY_UPDATE(td->tg_event) ||
		td->tg_trigger->tgnargs != 1)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("sentiment_text_edit_trigger must be a BEFORE UPDATE row trigger with the text column as argument"),
				 errhint("sentiment_attach() creates it.")));

	desc = RelationGetDescr(td->tg_relation);
	oldtup = td->tg_trigtuple;
	newtup = td->tg_newtuple;
	textcol = attnum_of(desc, td->tg_trigger->tgargs[0]);
	if (textcol == 0)
		return PointerGetDatum(newtup);

	oldv = heap_getattr(oldtup, textcol, desc, &oldnull);
	newv = heap_getattr(newtup, textcol, desc, &newnull);
	if (oldnull == newnull &&
		(oldnull || DatumGetBool(DirectFunctionCall2Coll(texteq, DEFAULT_COLLATION_OID, oldv, newv))))
		return PointerGetDatum(newtup);

	/* version + 1, in whatever integer type the column has */
	if ((a = attnum_of(desc, "version")) != 0)
	{
		bool		isnull;
		Datum		v = heap_getattr(oldtup, a, desc, &isnull);
		Oid			t = TupleDescAttr(desc, a - 1)->atttypid;
		int64		next = 1;

		if (!isnull)
			next = (t == INT2OID ? DatumGetInt16(v) : t == INT4OID ? DatumGetInt32(v) : DatumGetInt64(v)) + 1;
		if (t == INT2OID && next > PG_INT16_MAX)
			next = 1;
		else if (t == INT4OID && next > PG_INT32_MAX)
			next = 1;
		cols[ncols] = a;
		vals[ncols] = t == INT2OID ? Int16GetDatum((int16) next) :
			t == INT4OID ? Int32GetDatum((int32) next) : Int64GetDatum(next);
		nulls[ncols++] = false;
	}
	if ((a = attnum_of(desc, "processing_status")) != 0)
	{
		cols[ncols] = a;
		vals[ncols] = CStringGetTextDatum("pending");
		nulls[ncols++] = false;
	}
	if ((a = attnum_of(desc, "processing_attempts")) != 0)
	{
		Oid			t = TupleDescAttr(desc, a - 1)->atttypid;

		cols[ncols] = a;
		vals[ncols] = t == INT2OID ? Int16GetDatum(0) : t == INT4OID ? Int32GetDatum(0) : Int64GetDatum(0);
		nulls[ncols++] = false;
	}
	{
		const char *cleared[] = {"processing_error", "processing_retry_at",
		"processing_lease_until", "processing_claimed_by"};

		for (int i = 0; i < lengthof(cleared); i++)
			if ((a = attnum_of(desc, cleared[i])) != 0)
			{
				cols[ncols] = a;
				vals[ncols] = (Datum) 0;
				nulls[ncols++] = true;
			}
	}
	return PointerGetDatum(heap_modify_tuple_by_cols(newtup, desc, ncols, cols, vals, nulls));
}
