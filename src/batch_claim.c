/*
 * batch_claim.c - the claim phase of a batch: which rows it takes.
 *
 * In claim order: explicit requests of the processing queue (priority
 * order), then failed rows whose retry time has come, then pending rows,
 * each through its own partial index, all locked with FOR NO KEY UPDATE
 * SKIP LOCKED: concurrent processors take disjoint rows and never wait for
 * each other; inserts and readers are not blocked.  Rows held by a
 * two-phase claimant ('processing') are never taken.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/lsyscache.h"

#include "batch.h"

/* The queued requests of the source and the rows they name. */
static void
claim_queued(SpBatch *b, int limit)
{
	int64	   *q_req = NULL;
	int64	   *q_ent = NULL;
	int			nq = sp_queue_take(b->plans, b->src->relid, limit, &q_req, &q_ent);
	Datum	   *d;
	Datum		a;

	b->nrequests = nq;
	if (nq == 0)
		return;
	d = palloc(sizeof(Datum) * nq);
	for (int i = 0; i < nq; i++)
		d[i] = Int64GetDatum(q_ent[i]);
	a = sp_array_datum(d, NULL, nq, INT8OID);
	if (SPI_execute_plan(b->plans->claim_queued, &a, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not claim queued rows of %s", get_rel_name(b->src->relid));
	b->claimed[0] = SPI_tuptable;
	b->nclaimed[0] = (int) SPI_processed;

	/* requests whose row was deleted fail; locked rows wait their turn */
	if (b->nclaimed[0] < nq)
	{
		if (SPI_execute_plan(b->plans->exists, &a, NULL, true, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not look up queued rows of %s", get_rel_name(b->src->relid));
		b->gone = palloc(sizeof(int64) * nq);
		for (int i = 0; i < nq; i++)
		{
			bool		found = false;

			for (uint64 j = 0; j < SPI_processed && !found; j++)
			{
				bool		isnull;

				found = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[j], SPI_tuptable->tupdesc,
													1, &isnull)) == q_ent[i];
			}
			if (!found)
				b->gone[b->ngone++] = q_req[i];
		}
		SPI_freetuptable(SPI_tuptable);
	}

	/* which request each claimed row came from */
	b->request = palloc0(sizeof(int64) * (b->nclaimed[0] + 1));
	for (int i = 0; i < b->nclaimed[0]; i++)
	{
		bool		isnull;
		int64		id = DatumGetInt64(SPI_getbinval(b->claimed[0]->vals[i], b->claimed[0]->tupdesc,
													 CLAIM_ID, &isnull));

		for (int k = 0; k < nq; k++)
			if (q_ent[k] == id)
				b->request[i] = q_req[k];
	}
}

/* Due retries and pending rows, besides those already claimed. */
static void
claim_due_and_pending(SpBatch *b, int limit)
{
	Datum		args[2];
	Datum	   *d = palloc(sizeof(Datum) * (b->nclaimed[0] + 1));

	for (int i = 0; i < b->nclaimed[0]; i++)
	{
		bool		isnull;

		d[i] = SPI_getbinval(b->claimed[0]->vals[i], b->claimed[0]->tupdesc, CLAIM_ID, &isnull);
	}
	args[0] = Int32GetDatum(limit - b->nclaimed[0]);
	args[1] = sp_array_datum(d, NULL, b->nclaimed[0], INT8OID);
	if (SPI_execute_plan(b->plans->claim, args, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not claim rows of %s", get_rel_name(b->src->relid));
	b->claimed[1] = SPI_tuptable;
	b->nclaimed[1] = (int) SPI_processed;
}

/*
 * Claim up to limit rows of b->src into b: ids, attempts, whether they had
 * results, and the queue requests they answer.  The claimed tuples stay in
 * b->claimed for the analysis.  Returns the number of rows.
 */
int
sp_batch_claim(SpBatch *b, int limit)
{
	int			n;

	if (b->plans->queue_take)
		claim_queued(b, limit);
	if (b->nclaimed[0] < limit)
		claim_due_and_pending(b, limit);

	n = b->n = b->nclaimed[0] + b->nclaimed[1];
	b->ids = palloc(sizeof(Datum) * (n + 1));
	b->attempts = palloc(sizeof(int) * (n + 1));
	b->redo = palloc(sizeof(bool) * (n + 1));
	if (b->request == NULL)
		b->request = palloc0(sizeof(int64) * (n + 1));
	else
		b->request = repalloc(b->request, sizeof(int64) * (n + 1));
	for (int i = b->nclaimed[0]; i < n; i++)
		b->request[i] = 0;

	for (int i = 0; i < n; i++)
	{
		int			part = i < b->nclaimed[0] ? 0 : 1;
		HeapTuple	tup = b->claimed[part]->vals[part == 0 ? i : i - b->nclaimed[0]];
		TupleDesc	desc = b->claimed[part]->tupdesc;
		bool		isnull;

		b->ids[i] = Int64GetDatum(DatumGetInt64(SPI_getbinval(tup, desc, CLAIM_ID, &isnull)));
		b->redo[i] = DatumGetBool(SPI_getbinval(tup, desc, CLAIM_REDO, &isnull));
		b->attempts[i] = DatumGetInt32(SPI_getbinval(tup, desc, CLAIM_ATTEMPTS, &isnull));
	}
	return n;
}
