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

/* Schema and owner of the extension with OID ext (false: not found). */
extern bool sp_extension_info(Oid ext, Oid *nsp, Oid *owner);

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
 * Return claims whose lease expired or whose claimant is gone, and claims
 * made outside sentiment_proc past their grace period (with force: all
 * claims), of one source or all (InvalidOid) to 'pending'.  Needs a
 * transaction and a snapshot; returns the rows returned.
 */
extern int64 sp_reap_claims(Oid source, bool force);

/* Delete finished queue requests past sentiment_proc.queue_retention. */
extern int64 sp_prune_queue(void);

/* Run as the extension's owner (its private tables), and back. */
typedef struct SpOwnerSwitch
{
	Oid			saved_user;
	int			saved_context;
} SpOwnerSwitch;
extern void sp_as_extension_owner(SpOwnerSwitch *sw);
extern void sp_restore_user(SpOwnerSwitch *sw);
extern char *sp_extension_schema_name(void);

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

#endif							/* SENTIMENT_PROC_H */
