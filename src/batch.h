/*
 * batch.h - the units of one processing batch, shared among them.
 *
 * A batch of one source goes through three phases in one transaction:
 *   claim    (batch_claim.c)    queued requests, due retries, pending rows,
 *                               locked with SKIP LOCKED;
 *   analyse  (batch_analyse.c)  every claimed row in C, no database access;
 *   record   (batch_record.c)   results, statuses and side rows written
 *                               set-based, failing rows found and blamed
 *                               one by one, the rest left for a later batch.
 * The statements each phase runs are prepared once per backend and source
 * (batch_plans.c); batch.c runs the phases for every source in fair shares.
 */
#ifndef SP_BATCH_H
#define SP_BATCH_H

#include "postgres.h"

#include "executor/spi.h"

#include "sentiment_proc.h"

/* One row of the registry. */
typedef struct SpSource
{
	Oid			relid;			/* the table processed: the source, or a shard of it */
	Oid			logical;		/* the attached table */
	int64		shardid;		/* Citus shard relid is, 0: not a shard */
	Oid			topics;
	Oid			embeddings;
	char	   *id_column;
	char	   *text_column;
	sa_model	model;			/* the sentiment model the source uses */
	char	   *model_name;		/* not yet resolved into model (NULL: resolved);
								 * resolved in the source's own subtransaction */
	double		foreign_grace_s;	/* its own grace for foreign claims, -1: none */
	bool		external;		/* processor 'external': left to sentiment_claim */
} SpSource;

/* Prepared statements of one source, kept for the life of the backend. */
typedef struct SpPlans
{
	Oid			relid;
	char	   *key;			/* the names they were built from */
	int			shape;			/* its columns' version (SpShape, result_row.h) */
	SPIPlanPtr	claim;
	SPIPlanPtr	queue_take;		/* queue requests (run as the extension owner) */
	SPIPlanPtr	exists;			/* which of some ids still exist */
	SPIPlanPtr	update;
	SPIPlanPtr	delete_topics;
	SPIPlanPtr	delete_embeddings;
	SPIPlanPtr	insert_topics;
	SPIPlanPtr	insert_embeddings;
	struct SpPlans *next;
} SpPlans;

/* Columns of the claim statements, in this order. */
enum
{
	CLAIM_ID = 1,
	CLAIM_TEXT,
	CLAIM_FOLLOWERS,
	CLAIM_LIKES,
	CLAIM_SHARES,
	CLAIM_REPLIES,
	CLAIM_REDO,
	CLAIM_ATTEMPTS
};

/*
 * The analysis's values of a row, an array each in SpBatch.results; each
 * is the value of one SP_FROM_RESULT column of the result row
 * (result_row.c, which checks that every slot has its column).
 */
typedef enum SpResultSlot
{
	SP_R_NONE,					/* (not a slot: a column the analysis does not give) */
	SP_R_LABEL,
	SP_R_SCORE,
	SP_R_EMOTION,				/* (Datum) 0: not judged, the text is not English */
	SP_R_EMOTION_SCORE,
	SP_R_INFLUENCE,
	SP_R_LANGUAGE,				/* ISO 639-1 code or und */
	SP_NRESULT_SLOTS
} SpResultSlot;

/* What became of a claimed row. */
typedef enum SpRowFate
{
	SP_ROW_OPEN,				/* not written yet */
	SP_ROW_WRITTEN,				/* its result (or its failure) is written */
	SP_ROW_RELEASED				/* left as it was for a later batch */
} SpRowFate;

/* The rows of one batch and what became of them, indexed by claim order. */
typedef struct SpBatch
{
	const SpSource *src;
	SpPlans    *plans;
	int			n;

	/* claim: the rows, and the queue requests they came from */
	SPITupleTable *claimed;		/* queued rows, then due retries and pending */
	Datum	   *ids;
	int64	   *request;		/* queue request, 0 if none */
	int			nrequests;		/* requests taken, and of those: */
	int64	   *gone;			/* requests whose row no longer exists */
	int			ngone;
	int		   *attempts;		/* before this batch */
	bool	   *redo;			/* had results: old topics and embedding go */

	/* analyse: results, or the row's failure */
	bool	   *failed;
	Datum	   *results[SP_NRESULT_SLOTS];	/* results[slot][i]: row i's value */
	char	  **error;			/* failed rows */
	char	  **code;			/* their SQLSTATE */
	TimestampTz *retry;			/* their next attempt, 0: none */
	int		   *t_first;		/* topics of row i: [t_first[i], t_first[i + 1]) */
	Datum	   *t_keys, *t_weights, *t_sentiments;
	float	   *e_values;		/* embedding of row i, a completed row */

	/* record */
	SpRowFate  *fate;
	bool	   *shared;			/* its id is held by another row too (a time-partitioned source) */
	int			budget;			/* subtransactions left for finding culprits */
	int			nreleased;

	TimestampTz started;
	TimestampTz finished;
	Datum		status_completed, status_failed;
} SpBatch;

/*
 * source_xact.c: run one source's work in a subtransaction with
 * sentiment_proc.source_timeout armed; NULL, or the error that belongs to
 * the source (any class; an interrupt of the batch itself is raised again).
 */
extern ErrorData *sp_in_source_subtransaction(void (*step) (void *), void *arg);
extern void sp_refuse_in_source(const char *what);

/* batch_plans.c */
extern SpSource *sp_load_sources(Oid only, int *count);
extern SpPlans *sp_source_plans(const SpSource *src);
extern const char *sp_registry_schema(void);

/* batch_claim.c: the claim statement; claim up to limit rows into b, returns how many */
extern char *sp_claim_sql(const char *cols, const char *rel, const char *id, const char *n,
						  const char *queued, bool retries);
extern int	sp_batch_claim(SpBatch *b, int limit);
extern SpSource *sp_server_sources(SpSource *sources, int *count, Oid only);
/* ... and the one take of queue requests, for batches and claims */
extern bool sp_queue_has_claims(const char *schema);
extern SPIPlanPtr sp_queue_take_plan(const char *schema, bool lease);
extern int	sp_queue_take(SPIPlanPtr plan, Oid relid, int limit, Datum lease, int64 **req, int64 **ent);

/* batch_analyse.c: analyse the claimed rows, then free the claim's tuples */
extern void sp_batch_analyse(SpBatch *b);

/*
 * The failure of a row whose id another row holds too (a time-partitioned
 * source, docs/usage.md): the id, the table.  The batch (batch_record.c) and
 * sentiment_claim (source_sql.c) fail such rows with it.
 */
#define SP_SHARED_ID_ERROR "entry id %s is held by more than one row of %s"

/* batch_record.c: write what the analysis found; returns rows written */
extern int64 sp_batch_record(SpBatch *b, int64 *ncompleted, int64 *nfailed);

/* citus.c: distributed sources, processed shard by shard where they are */
extern SpSource *sp_citus_sources(SpSource *sources, int *count, Oid only);
extern bool sp_citus_hold_shard(int64 shardid);
extern char *sp_citus_shard_model(Oid shard);
extern int64 sp_citus_process_on_workers(char *(*command) (int share, void *arg), void *arg,
										 int batch_size);
extern int64 sp_citus_reset_on_workers(Oid source, bool force);
extern void sp_citus_wake_nodes(Oid source);
extern int64 sp_citus_requeue(Oid source, Datum ids, bool ids_null);
extern bool sp_citus_any_distributed(Oid only);

/* queue.c: queue requests finished by a batch */
extern void sp_queue_finish(SpBatch *b);

#endif							/* SP_BATCH_H */
