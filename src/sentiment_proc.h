/*
 * sentiment_proc.h - shared declarations of the server glue.
 *
 * Units of the server glue, one concern a file, from the bottom up: what
 * each file owns, and after "->" the files it may call, all of them listed
 * above it, so the glue has no cycle.  tools/call-graph.pl, run by the test
 * command, reads this list and fails when a file is missing from it or
 * calls a file its entry does not name.  The analyser itself is the pure C
 * library in src/analyzer/, below them all.
 *
 *   spi_util.c        statements prepared and kept, parameter arrays, a step
 *                     run in a subtransaction; integer settings defined
 *                     from a table
 *   analyzer_glue.c   the analyser's models by name and version, its
 *                     failures raised as errors
 *   identity.c        the extension's identity (schema, owner, ready);
 *                     whose rights code runs with: the owner switches, who
 *                     may process a table, sp_am_worker; a claim's node
 *   retry.c           attempts, backoff and error history of failed rows
 *                     -> spi_util
 *   stats.c           statistics and batches in flight in shared memory
 *   wakeup.c          the workers' slots in shared memory; wake-ups at
 *                     commit (the wake-up trigger, sentiment_wake_workers)
 *   launcher.c        the workers' settings; the launcher that starts and
 *                     stops them
 *                     -> spi_util wakeup
 *   citus.c           Citus metadata, read without linking against Citus:
 *                     shards processed where they are, batches fanned out
 *                     from the coordinator with the statement the caller
 *                     gives, resets, re-queues and wake-ups on the nodes
 *                     -> identity spi_util wakeup
 *   lane_lookup.c     the lane of an embeddings table, found by name
 *                     -> identity
 *   source_xact.c     a source's work in a subtransaction under
 *                     sentiment_proc.source_timeout; processing refused
 *                     inside a source's own code
 *                     -> identity spi_util
 *   dictionary.c      the user's lexicon overrides and topic dictionary
 *                     -> analyzer_glue identity
 *   partitions.c      the wake-up trigger on partitions added later
 *                     -> identity
 *   result_row.c      the result row: its columns described once, and what
 *                     is built from them (attach's column list, the batch's
 *                     result UPDATE and its arguments, sentiment_complete's
 *                     SET list, a table's shape)
 *                     -> analyzer_glue spi_util
 *   registry.c        the registry of attached tables: registrations
 *                     written (sentiment_register, sentiment_unregister,
 *                     sentiment_register_grace, sentiment_set_processor;
 *                     the event trigger
 *                     sentiment_forget_dropped deletes those of dropped
 *                     tables in SQL), and whether a table is attached
 *                     -> analyzer_glue citus identity stats wakeup
 *   analyze.c         the analyser in a backend; sentiment_analyze, _scores
 *                     and the other SQL functions that call it directly
 *                     -> analyzer_glue dictionary spi_util
 *   batch_claim.c     the claim: its one statement (queued requests, due
 *                     retries, pending rows) for batches and sentiment_claim,
 *                     the one take of queue requests, the claim phase
 *                     (batch.h)
 *                     -> identity spi_util
 *   batch_plans.c     the registry read, and the statements a batch runs,
 *                     prepared once per source (batch.h)
 *                     -> analyzer_glue batch_claim citus identity lane_lookup
 *                        result_row spi_util
 *   source_sql.c      the SQL functions' statements on attached tables, run
 *                     as the table's owner, and the checks made before
 *                     -> batch_claim citus identity lane_lookup
 *                        result_row retry source_xact
 *   two_phase.c       sentiment_complete, sentiment_fail, sentiment_renew and
 *                     sentiment_release: checked as the caller, written as
 *                     the table's owner, finished rows counted as external
 *                     work
 *                     -> identity result_row source_sql stats
 *   similar.c         cosine of embeddings; sentiment_similar's search,
 *                     read as the table's owner
 *                     -> analyze analyzer_glue identity lane_lookup
 *                        source_sql
 *   batch_record.c    the record phase: results and side rows written,
 *                     failing rows found and blamed (batch.h)
 *                     -> analyzer_glue result_row retry spi_util
 *   batch_analyse.c   the analyse phase: every claimed row in C (batch.h)
 *                     -> analyze analyzer_glue
 *   edit_trigger.c    a changed text re-queues its row; a deleted row of a
 *                     time-partitioned source takes its side rows along
 *                     -> identity lane_lookup registry spi_util
 *   script_guard.c    the extension's scripts write users' tables as their
 *                     owners
 *                     -> identity source_sql
 *   embedding_lane.c  embeddings staged apart from an HNSW index, drained
 *                     -> batch_plans identity lane_lookup spi_util
 *   lease.c           two-phase claims and the reaper of abandoned ones
 *                     -> batch_plans citus identity retry source_xact wakeup
 *   queue.c           the processing queue: enqueue, take, finish, prune
 *                     -> batch_claim batch_plans citus identity registry
 *                        source_sql spi_util wakeup
 *   batch.c           batches over every source in fair shares, each
 *                     source's claim, analysis and record in its own
 *                     subtransaction; sentiment_process_batch
 *                     -> analyzer_glue batch_analyse batch_claim batch_plans
 *                        batch_record citus identity queue registry
 *                        source_xact stats
 *   worker.c          a background worker's loop and upkeep;
 *                     _sentiment_worker_status (worker.h: with wakeup.c and
 *                     launcher.c)
 *                     -> batch embedding_lane identity launcher lease queue
 *                        wakeup
 *   sentiment_proc.c  module entry point (_PG_init): every unit's settings
 *                     -> identity launcher lease queue retry script_guard
 *                        stats
 */
#ifndef SENTIMENT_PROC_H
#define SENTIMENT_PROC_H

#include "postgres.h"

#include "compat.h"

#include "analyzer.h"
#include "datatype/timestamp.h"
#include "executor/spi.h"
#include "utils/guc.h"

/*
 * Largest batch one call may claim.  It bounds the memory a batch holds
 * (results, topic and embedding arrays: about 1.5 kB a row besides the text)
 * and the time its locks are held.
 */
#define SP_MAX_BATCH_SIZE 10000

/*
 * Process up to batch_size pending rows of one source (InvalidOid: every
 * attached source the caller may process, in fair shares) in the caller's
 * transaction (batch.c).  The caller has an active snapshot.  A source
 * skipped as broken or locked is described in skipped (a buffer of
 * SP_SKIPPED_ERROR_LEN bytes, or NULL).  Returns the rows completed or
 * failed.
 */
#define SP_SKIPPED_ERROR_LEN 256
extern int64 sp_process_batch(Oid source, int batch_size, char *skipped);

/*
 * The analyser objects of this backend, built on first use and kept for the
 * life of the process (analyze.c).  Raises an error when they cannot be
 * built.  topics is NULL while no topic dictionary is loaded (hashtags only).
 */
typedef struct SpAnalyzer
{
	sa_lexicon *lexicon;
	sa_workspace *workspace;
	const sa_topics *topics;
} SpAnalyzer;

extern SpAnalyzer *sp_analyzer(void);

/* ---- the analyser's names and failures (analyzer_glue.c) ---- */

/* A sentiment model by name (an error for unknown ones), and its version string. */
extern sa_model sp_model_by_name(const char *name);
extern const char *sp_model_version(sa_model model);

/* Raise the error matching an analyser failure that is not the row's fault. */
extern void sp_analyzer_error(sa_error err, const char *what);

/* ---- statements and subtransactions (spi_util.c) ---- */

/*
 * Run step(arg) in a subtransaction.  On an error that catch_it() accepts,
 * roll the subtransaction back and return the error; other errors are raised
 * again.  Returns NULL when the step succeeded.
 */
extern ErrorData *sp_in_subtransaction(void (*step) (void *), void *arg,
									   bool (*catch_it) (int sqlerrcode));

/* A statement prepared with a generic plan and kept for the backend's life. */
extern SPIPlanPtr sp_prepare_kept(const char *sql, int nargs, Oid *argtypes);

/* A one-dimensional array of n values of elemtype. */
extern Datum sp_array_datum(Datum *values, bool *nulls, int n, Oid elemtype);

/* An integer setting without hooks, one line of a unit's table of settings. */
typedef struct SpIntSetting
{
	const char *name;
	const char *short_desc;
	const char *long_desc;		/* or NULL */
	int		   *variable;
	int			boot;
	int			min;
	int			max;
	GucContext	context;
	int			flags;			/* GUC_UNIT_MS and the like */
} SpIntSetting;

/* Define the n integer settings of a table. */
extern void sp_define_int_settings(const SpIntSetting *settings, int n);

/*
 * Texts to and from the analyser's UTF-8 whatever the server encoding
 * (analyze.c).  sp_text_from_utf8 gives (Datum) 0 for a string the server
 * encoding cannot hold.
 */
extern const char *sp_text_to_utf8(text *t, size_t *len);
extern Datum sp_text_from_utf8(const char *s, size_t len);

/* citus.c: Citus metadata, read without linking against Citus */
extern bool sp_citus_present(void);
extern bool sp_citus_is_coordinator(void);
extern bool sp_citus_distributed(Oid relid);
extern Oid	sp_citus_shard_parent(Oid relid);
extern bool sp_citus_attached(Oid relid);

/*
 * Bring lexicon and topics up to date with the user's dictionary tables
 * (dictionary.c); one flag test unless they changed since the last call.
 */
extern void sp_dictionary_refresh(SpAnalyzer *an);

/* ---- background workers: the launcher (launcher.c), the wake-ups (wakeup.c) ---- */

/* From _PG_init: worker settings; shared memory and launcher when preloaded. */
extern void sp_worker_init(void);

/* Wake an idle worker of this database when the current transaction commits. */
extern void sp_wakeup_at_commit(void);

/* The same for every idle worker of this database. */
extern void sp_wake_all_at_commit(void);

/* Start a batch of this database once transaction xid has ended. */
extern void sp_wake_after_xid(TransactionId xid);

/* ---- the embedding lane (embedding_lane.c) ---- */

/* The lane of an embeddings table (InvalidOid: none, written directly; lane_lookup.c). */
extern Oid	sp_embedding_lane(Oid embeddings);

/* Move up to max_rows staged embeddings into their indexed tables. */
extern int64 sp_drain_lanes(Oid source, int max_rows);

/* A worker's drain, in a transaction of its own; returns the rows moved. */
extern int64 sp_worker_drain(int max_rows);

/* ---- retries and backoff (retry.c) ---- */

/* From _PG_init: the settings. */
extern void sp_retry_init(void);

/* sentiment_proc.max_attempts and sentiment_proc.error_history */
extern int	sp_max_attempts_setting(void);
extern int	sp_error_history_setting(void);

/* Next attempt of a row that failed attempt number attempt; 0: none. */
extern TimestampTz sp_retry_at(int attempt, TimestampTz now);

/* ---- two-phase claims and the reaper (lease.c) ---- */

/* From _PG_init: the setting. */
extern void sp_lease_init(void);

/* This backend's claimant identity ("pid:start"), and whether one lives. */
extern char *sp_my_claimant(void);
extern bool sp_claimant_alive(const char *claimant);

/*
 * Return claims whose lease expired or whose claimant is gone, and claims
 * made outside sentiment_proc past their grace period (with force: all
 * claims), of one source or all (InvalidOid) to 'pending'.  Needs a
 * transaction and a snapshot; returns the rows returned.
 */
extern int64 sp_reap_claims(Oid source, bool force);

/* ---- the processing queue (queue.c) ---- */

/* From _PG_init: the setting. */
extern void sp_queue_init(void);

/* Delete finished queue requests past sentiment_proc.queue_retention. */
extern int64 sp_prune_queue(void);

/* ---- the extension's identity, and whose rights code runs with (identity.c) ---- */

/* From _PG_init: the setting. */
extern void sp_identity_init(void);

/* Schema and owner of the extension with OID ext (false: not found). */
extern bool sp_extension_info(Oid ext, Oid *nsp, Oid *owner);

/* Installed here and not being created by this very backend? */
extern bool sp_extension_ready(void);

/* The extension's schema (InvalidOid when not installed). */
extern Oid	sp_extension_namespace(void);

/* The extension's schema name: an error when not installed / NULL. */
extern char *sp_extension_schema(void);
/* A coordinator claim's node: "@" and the system identifier. */
extern char *sp_claim_node_suffix(void);
extern char *sp_extension_schema_name(void);

/* sentiment_proc.source_timeout, in ms (0: none); see source_xact.c. */
extern int	sp_source_timeout_ms;

/* An identity switch, undone by sp_restore_user(). */
typedef struct SpOwnerSwitch
{
	Oid			saved_user;
	int			saved_context;
	int			guc_nest;		/* settings nest level, -1: none */
} SpOwnerSwitch;

/* As the extension's owner, for the extension's private tables only. */
extern void sp_as_extension_owner(SpOwnerSwitch *sw);

/*
 * As a source table's owner, in a security-restricted operation with
 * search_path pinned to pg_catalog, pg_temp and the source lock timeout.
 */
extern void sp_as_table_owner(Oid relid, SpOwnerSwitch *sw);
extern void sp_restore_user(SpOwnerSwitch *sw);

/* Owner of a relation (InvalidOid: gone). */
extern Oid	sp_relation_owner(Oid relid);
/* "schema"."name" of a relation, quoted ("relation OID" when it is gone). */
extern char *sp_qualified_name(Oid relid);
extern int	sp_source_lock_timeout(void);

/* Source and side tables are tables, side tables of the source's owner. */
extern void sp_check_source_tables(Oid relid, Oid topics, Oid embeddings);

/* Every partition under relid has relid's owner (an error otherwise). */
extern void sp_check_partition_owners(Oid relid);

/*
 * The checks made as the caller before an attached table is read (or
 * written) as its owner: a table, SELECT (UPDATE) on it, no row-level
 * security for the caller, the columns attach created (source_sql.c).
 */
extern void sp_source_check(Oid source, bool write);

/*
 * Run a fixed statement of source_sql.c on an attached table as its owner,
 * after those checks; args is its $1 jsonb.  Its rows, until SPI_finish.
 */
extern struct SPITupleTable *sp_source_statement(Oid source, const char *name, Datum args, bool args_null,
												 Datum results);

/* Deferrable triggers and constraints of a table (NULL: none); SPI connected. */
extern char *sp_deferred_code(Oid relid);

/* From _PG_init: the extension's scripts write users' tables as their owners (script_guard.c). */
extern void sp_script_guard_init(void);

/* May the current user have this source processed?  (UPDATE on it) */
extern bool sp_may_process(Oid relid);
extern void sp_check_may_process(Oid relid);

/* Raise "table is not attached" with its hint. */
pg_noreturn extern void sp_error_not_attached(Oid relid);

/* An attached source, or a partition of one?  (registry.c) */
extern bool sp_is_attached(Oid relid);
/* ... the attached source itself, with its side tables (InvalidOid: none) */
extern Oid	sp_attached_source(Oid relid, Oid *topics, Oid *embeddings);

/* True in sentiment_proc's own background workers (set by worker.c). */
extern bool sp_am_worker;

/* ---- statistics and progress (stats.c) ---- */

/* From _PG_init: the setting; shared memory when preloaded. */
extern void sp_stats_init(void);

/*
 * The phases of one batch of one source, reported by batch.c: begin before
 * the claim, claimed after it (0 rows ends the batch uncounted), analysed
 * when the analysis is done, end after the writes with the rows completed
 * and failed.  Counted in shared memory when the transaction commits; cheap
 * (clock readings and a slot update) and no-ops when not preloaded.
 */
extern void sp_stats_batch_begin(Oid source, int batch_size);
extern void sp_stats_batch_claimed(int nclaimed);
extern void sp_stats_batch_analysed(void);
extern void sp_stats_batch_end(int64 completed, int64 failed);
/* rows finished by the two-phase API (two_phase.c), counted as external work */
extern void sp_stats_external(Oid source, int64 completed, int64 failed);
/* a source's registration went: drop its counters at commit */
extern void sp_stats_forget_at_commit(Oid relid);

#endif							/* SENTIMENT_PROC_H */
