/*
 * lease.c - claims held outside a transaction (the two-phase API) and the
 * reaper that returns abandoned ones.
 *
 * - Claimants: "pid:start:role" where start is the backend's start time in
 *   microseconds, so a pid reused by a later backend is not taken for the
 *   claimant, and role the user that claimed, so that only that role can
 *   use the claim (_sentiment_own_claim).  A claim is abandoned when its lease expired or no backend
 *   with its claimant's identity is alive.  A claim made through a Citus
 *   coordinator ends in "@" and that node's system identifier
 *   (sp_claim_node_suffix): other nodes cannot see its backend, so there
 *   only its lease bounds it.
 * - The reaper: abandoned claims ('processing' rows) go back to 'pending'
 *   (or to 'failed' once they used up their attempts).  Called by the
 *   workers' upkeep (at start-up and every sentiment_proc.upkeep_interval)
 *   and by sentiment_reset_stuck().  It writes each source as its owner.
 * - Foreign claims: a 'processing' row without a claimant of ours was
 *   claimed by another system (a pipeline being migrated).  It is left to
 *   that system for a grace period from its processing_started_at
 *   (sentiment_proc.foreign_claim_grace, or the source's own in the
 *   registry), and only then returned like an abandoned claim, the abandoned
 *   claim counting as an attempt.  A start time that is missing, or not
 *   later than the row's last completion (a worker that never sets it), is
 *   unknown: the reaper stamps the time it first sees the claim.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/procarray.h"
#include "utils/acl.h"
#include "utils/backend_status.h"
#include "utils/builtins.h"

#include "utils/guc.h"
#include "utils/lsyscache.h"

#include "batch.h"

PG_FUNCTION_INFO_V1(sentiment_claimant);
PG_FUNCTION_INFO_V1(sentiment_claimant_alive);
PG_FUNCTION_INFO_V1(sentiment_own_claim);
PG_FUNCTION_INFO_V1(sentiment_reset_stuck);

/* How long a row claimed outside sentiment_proc is left to its claimant (s). */
static int	foreign_claim_grace_s = 10 * 60;

void
sp_lease_init(void)
{
	DefineCustomIntVariable("sentiment_proc.foreign_claim_grace",
							"How long a row claimed outside sentiment_proc is left to its claimant.",
							"Counted from the row's processing_started_at; past it the row returns to pending. "
							"sentiment_set_foreign_grace() overrides it per table.",
							&foreign_claim_grace_s, 10 * 60, 0, 7 * 24 * 3600,
							PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
}

/* ---- claimants ---- */

/*
 * This backend's claimant identity as the current user, "pid:start:role".
 * The role binds a claim to whoever made it: the claim string is no bearer
 * token another role could complete, fail, renew or release with.
 */
char *
sp_my_claimant(void)
{
	return psprintf("%d:" INT64_FORMAT ":%u", MyProcPid, (int64) MyStartTimestamp, GetUserId());
}

Datum
sentiment_claimant(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(sp_my_claimant()));
}

/*
 * Split a claimant into its backend and role ("pid:start:role", or before
 * 1.3 "pid:start" with no role: *role InvalidOid).  false: unparsable.
 */
static bool
parse_claimant(const char *claimant, int *pid, int64 *started, Oid *role)
{
	char		tail;
	unsigned int r;
	const char *at = strchr(claimant, '@');

	/* a claim made through a Citus coordinator: "pid:start:role@node" */
	if (at != NULL)
		claimant = pnstrdup(claimant, at - claimant);
	if (sscanf(claimant, "%d:" INT64_FORMAT ":%u%c", pid, started, &r, &tail) == 3 &&
		strchr(claimant, '-') == NULL)
	{
		*role = (Oid) r;
		return true;
	}
	*role = InvalidOid;
	return sscanf(claimant, "%d:" INT64_FORMAT "%c", pid, started, &tail) == 2;
}

/*
 * _sentiment_own_claim(claim text): the claim the caller acts on in
 * sentiment_complete, sentiment_fail, sentiment_renew and sentiment_release.
 * NULL: the caller's own (sentiment_claimant()).  A claim passed explicitly
 * (from another session of the same analyser) must have been made by the
 * current user or a role whose privileges it has; a claim of another role
 * is refused.  One without a role (made before 1.3) or no claim at all is
 * passed on as it is: it matches no claim made since.
 */
Datum
sentiment_own_claim(PG_FUNCTION_ARGS)
{
	char	   *claim;
	int			pid;
	int64		started;
	Oid			role;

	if (PG_ARGISNULL(0))
		PG_RETURN_TEXT_P(cstring_to_text(sp_my_claimant()));
	claim = text_to_cstring(PG_GETARG_TEXT_PP(0));
	if (parse_claimant(claim, &pid, &started, &role) && OidIsValid(role) &&
		!has_privs_of_role(GetUserId(), role))
	{
		const char *maker = GetUserNameFromId(role, true);
		const char *me = GetUserNameFromId(GetUserId(), true);

		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("a claim of role \"%s\" cannot be used by role \"%s\"",
						maker ? maker : "?", me ? me : "?"),
				 errdetail("A claim can be used only by the role that made it (or a role with its privileges)."),
				 errhint("Complete, fail, renew or release the rows as the role that claimed them.")));
	}
	PG_RETURN_TEXT_P(cstring_to_text(claim));
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
	Oid			role;
	int			n;

	if (!parse_claimant(claimant, &pid, &started, &role))
		return false;
	/* made on another node (a coordinator's session): only its lease bounds it */
	if (strchr(claimant, '@') != NULL && strcmp(strchr(claimant, '@'), sp_claim_node_suffix()) != 0)
		return true;
	if (pid == MyProcPid)
		return started == (int64) MyStartTimestamp;
	if (pid <= 0 || BackendPidGetProc(pid) == NULL)
		return false;
	n = pgstat_fetch_stat_numbackends();
	for (int i = 1; i <= n; i++)
	{
		LocalPgBackendStatus *l = pgstat_get_local_beentry_by_index(i);

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
	const SpSource *src;
	const char *table;			/* quoted, qualified */
	const char *schema;			/* the extension's, quoted */
	bool		force;
	int64		returned;
} ReapStep;

/*
 * Foreign claims whose start is unknown get one: now.  Rows of ours in
 * 'processing' always carry a claimant.
 */
static void
date_foreign_claims(const char *table, const char *id)
{
	char	   *sql = psprintf(
		"UPDATE %1$s AS s SET processing_started_at = pg_catalog.now() "
		"FROM (SELECT c.%2$s AS id FROM %1$s AS c "
		"      WHERE c.processing_status OPERATOR(pg_catalog.=) 'processing' "
		"        AND c.processing_claimed_by IS NULL "
		"        AND (c.processing_started_at IS NULL "
		"             OR c.processing_started_at OPERATOR(pg_catalog.<=) c.processing_completed_at) "
		"      FOR NO KEY UPDATE OF c SKIP LOCKED) AS r "
		"WHERE s.%2$s OPERATOR(pg_catalog.=) r.id",
		table, id);

	if (SPI_execute(sql, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "could not date the foreign claims of %s", table);
}

/*
 * Return the abandoned claims of one source, as its owner (identity.c): the
 * UPDATE fires the owner's triggers, which must not run with our rights.
 * A foreign claim did not count its attempt (r.add): the reaper counts it,
 * so a row that keeps failing over there ends up failed.
 */
static void
reap_source(void *arg)
{
	ReapStep   *st = (ReapStep *) arg;
	double		grace = st->src->foreign_grace_s >= 0 ? st->src->foreign_grace_s : foreign_claim_grace_s;
	Oid			types[4] = {INT4OID, BOOLOID, INT4OID, FLOAT8OID};
	Datum		vals[4] = {Int32GetDatum(sp_max_attempts_setting()), BoolGetDatum(st->force),
	Int32GetDatum(sp_error_history_setting()), Float8GetDatum(grace)};
	const char *id = quote_identifier(st->src->id_column);
	SpOwnerSwitch sw;
	char	   *why;
	char	   *sql;
	int			ret;

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
		st->schema);
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
		st->table, st->schema, id, why);

	sp_as_table_owner(st->src->relid, &sw);
	sp_check_source_tables(st->src->relid, st->src->topics, st->src->embeddings);
	if (!st->force)
		date_foreign_claims(st->table, id);
	ret = SPI_execute_with_args(sql, 4, types, vals, NULL, false, 0);
	if (ret != SPI_OK_UPDATE)
		elog(ERROR, "could not return abandoned claims of %s: %s",
			 st->table, SPI_result_code_string(ret));
	st->returned = (int64) SPI_processed;
	sp_restore_user(&sw);
}

/*
 * Return abandoned claims of one source (InvalidOid: every attached source
 * the caller may process) to 'pending'; with force, every claim.  A claim
 * that has used up its attempts becomes 'failed' instead (an analyser that
 * dies on a row would otherwise take it forever).  Claims made outside
 * sentiment_proc are returned only once their grace period is over.  Runs in
 * the caller's transaction with a snapshot; returns the rows returned.  With
 * every source, one that cannot be worked on now (locked, broken) is
 * skipped with a warning.
 */
int64
sp_reap_claims(Oid source, bool force)
{
	char	   *schema = sp_extension_schema_name();
	SpSource   *sources;
	int			nsources;
	int64		total = 0;

	if (schema == NULL)
		return 0;
	sp_refuse_in_source("sentiment_reset_stuck()");
	if (OidIsValid(source))
		sp_check_may_process(source);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	sources = sp_load_sources(source, &nsources);

	for (int i = 0; i < nsources; i++)
	{
		const SpSource *src = &sources[i];
		ReapStep	st = {src, NULL, quote_identifier(schema), force, 0};
		ErrorData  *edata;

		/* a source not yet upgraded from 1.0 has no claims to reap */
		if (get_attnum(src->relid, "processing_lease_until") == InvalidAttrNumber ||
			get_rel_name(src->relid) == NULL)
			continue;
		st.table = sp_qualified_name(src->relid);
		if (OidIsValid(source))
		{
			reap_source(&st);
			total += st.returned;
			continue;
		}
		if (!sp_may_process(src->relid))
			continue;
		/* whatever one source raises (its owner's triggers) is that source's */
		edata = sp_in_source_subtransaction(reap_source, &st);
		if (edata == NULL)
		{
			total += st.returned;
			continue;
		}
		ereport(edata->sqlerrcode == ERRCODE_LOCK_NOT_AVAILABLE ? NOTICE : WARNING,
				(errcode(edata->sqlerrcode),
				 errmsg("sentiment_proc could not return abandoned claims of %s: %s",
						st.table, edata->message ? edata->message : "unknown error"),
				 errhint("They are returned by a later pass.")));
		FreeErrorData(edata);
	}
	/* a distributed table's claims are on the worker nodes (which wake their workers) */
	if (!sp_am_worker && sp_citus_present() && sp_citus_is_coordinator() && sp_citus_any_distributed(source))
		total += sp_citus_reset_on_workers(source, force);
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

