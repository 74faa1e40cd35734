/*
 * sentiment_proc.h - shared declarations of the server glue.
 *
 * Each concern lives in its own file: module init and settings
 * (sentiment_proc.c), batch processing (batch.c), SQL-callable analysis
 * (analyze.c), background workers (worker.c), statistics (stats.c).
 */
#ifndef SENTIMENT_PROC_H
#define SENTIMENT_PROC_H

#include "postgres.h"

#include "analyzer.h"
#include "datatype/timestamp.h"

/*
 * Largest batch one call may claim.  It bounds the memory a batch holds
 * (results, topic and embedding arrays: about 1.5 kB a row besides the text)
 * and the time its locks are held.
 */
#define SP_MAX_BATCH_SIZE 10000

/*
 * Process up to batch_size pending rows of one source (InvalidOid: every
 * attached source, in registry order) in the caller's transaction.  The
 * caller has an active snapshot; SPI is connected and finished inside.
 * Returns the number of rows this call completed or failed.
 */
extern int64 sp_process_batch(Oid source, int batch_size);

/*
 * In an all-sources batch a broken source is skipped with a WARNING; the
 * message of the last one skipped by the latest call is kept here (empty
 * when none) so workers can show it in sentiment_workers.last_error.
 */
#define SP_SKIPPED_ERROR_LEN 256
extern char sp_skipped_source_error[SP_SKIPPED_ERROR_LEN];

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

/*
 * Run step(arg) in a subtransaction.  On an error that catch_it() accepts,
 * roll the subtransaction back and return the error; other errors are raised
 * again.  Returns NULL when the step succeeded (batch.c).
 */
extern ErrorData *sp_in_subtransaction(void (*step) (void *), void *arg,
									   bool (*catch_it) (int sqlerrcode));

/* Raise the error matching an analyser failure that is not the row's fault. */
extern void sp_analyzer_error(sa_error err, const char *what);

/*
 * Bring lexicon and topics up to date with the user's dictionary tables
 * (dictionary.c); one flag test unless they changed since the last call.
 */
extern void sp_dictionary_refresh(SpAnalyzer *an);

/* ---- background workers (worker.c) ---- */

/* From _PG_init: worker settings; shared memory and launcher when preloaded. */
extern void sp_worker_init(void);

/* Wake an idle worker of this database when the current transaction commits. */
extern void sp_wakeup_at_commit(void);

/* The same for every idle worker of this database. */
extern void sp_wake_all_at_commit(void);

/*
 * Start-up recovery and periodic upkeep: return rows left committed as
 * 'processing' by a two-phase claimant that is gone (or whose lease expired)
 * to 'pending' (sp_reap_claims in claim.c); source InvalidOid means every
 * attached source.  Runs in the caller's transaction with a snapshot.
 * Returns the number of rows returned.
 */
extern int64 sp_reset_orphaned_claims(Oid source);

/* ---- retries, two-phase claims, queue upkeep (claim.c) ---- */

/* settings (sentiment_proc.max_attempts, ...) */
extern int	sp_max_attempts;
extern int	sp_error_history;
extern int	sp_upkeep_interval_ms;

/* From _PG_init: the settings. */
extern void sp_claim_init(void);

/* Next attempt of a row that failed attempt number attempt; 0: none. */
extern TimestampTz sp_retry_at(int attempt, TimestampTz now);

/* This backend's claimant identity ("pid:start"), and whether one lives. */
extern char *sp_my_claimant(void);
extern bool sp_claimant_alive(const char *claimant);

/*
 * Return claims whose lease expired or whose claimant is gone (with force:
 * all claims) of one source or all (InvalidOid) to 'pending'.  Needs a
 * transaction and a snapshot; returns the rows returned.
 */
extern int64 sp_reap_claims(Oid source, bool force);

/* Delete finished queue requests past sentiment_proc.queue_retention. */
extern int64 sp_prune_queue(void);

/* ---- the extension's identity, and whose rights code runs with (identity.c) ---- */

/* From _PG_init: the setting. */
extern void sp_identity_init(void);

/* Schema and owner of the extension with OID ext (false: not found). */
extern bool sp_extension_info(Oid ext, Oid *nsp, Oid *owner);

/* Installed here and not being created by this very backend? */
extern bool sp_extension_ready(void);

/* The extension's schema name: an error when not installed / NULL. */
extern char *sp_extension_schema(void);
extern char *sp_extension_schema_name(void);

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

/* Source and side tables are tables, side tables of the source's owner. */
extern void sp_check_source_tables(Oid relid, Oid topics, Oid embeddings);

/* May the current user have this source processed?  (UPDATE on it) */
extern bool sp_may_process(Oid relid);
extern void sp_check_may_process(Oid relid);

/* An attached source, or a partition of one? */
extern bool sp_is_attached(Oid relid);

/* True in sentiment_proc's own background workers (worker.c). */
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
/* a source's registration went: drop its counters at commit */
extern void sp_stats_forget_at_commit(Oid relid);

#endif							/* SENTIMENT_PROC_H */
