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
	Datum		vals[3] = {Int32GetDatum(sp_max_attempts), BoolGetDatum(st->force),
	Int32GetDatum(sp_error_history)};
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
	/* rows back to pending: the wake-up trigger fires only for new text */
	if (total > 0)
		sp_wakeup_at_commit();
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
 * Refuse a column (attnum, 0: absent, fine) whose type is not of the kind
 * ("string" or "integer") the trigger reads and writes it as.
 */
static void
check_column_type(Relation rel, int attnum, const char *kind)
{
	Form_pg_attribute att;
	Oid			t;
	bool		ok;

	if (attnum == 0)
		return;
	att = TupleDescAttr(RelationGetDescr(rel), attnum - 1);
	t = att->atttypid;
	ok = strcmp(kind, "string") == 0 ? (t == TEXTOID || t == VARCHAROID || t == BPCHAROID) :
		(t == INT2OID || t == INT4OID || t == INT8OID);
	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("column \"%s\" of \"%s\" has type %s, which sentiment_text_edit_trigger cannot use",
						NameStr(att->attname), RelationGetRelationName(rel), format_type_be(t)),
				 errhint("Attach the table again with sentiment_attach() after changing the column's type to %s.",
						 strcmp(kind, "string") == 0 ? "text" : "integer")));
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

	/*
	 * The columns are read and written as the types attach gives them; a
	 * table of another shape (or one never attached) is refused before any
	 * of its values is touched.
	 */
	if (!sp_is_attached(RelationGetRelid(td->tg_relation)))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("sentiment_text_edit_trigger fired on \"%s\", which is not attached to sentiment_proc",
						RelationGetRelationName(td->tg_relation)),
				 errhint("sentiment_attach() creates this trigger; drop it from tables that are not attached.")));
	check_column_type(td->tg_relation, textcol, "string");
	check_column_type(td->tg_relation, attnum_of(desc, "version"), "integer");
	check_column_type(td->tg_relation, attnum_of(desc, "processing_status"), "string");
	check_column_type(td->tg_relation, attnum_of(desc, "processing_attempts"), "integer");

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
