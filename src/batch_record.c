/*
 * batch_record.c - the record phase of a batch: write what the analysis
 * found, and find the rows whose write fails.
 *
 * Results, statuses, timestamps and attempt counts go in one UPDATE ...
 * FROM unnest(arrays), topics and embeddings in one INSERT ... SELECT FROM
 * unnest(arrays) ON CONFLICT each: never a statement per row.  The writes
 * run in a subtransaction.  When they fail (a user's trigger raises for one
 * row, a constraint), only the rows that cause an error are blamed, each
 * with its own error: the failing part is split in halves, each written in
 * its own subtransaction, down to the single rows that fail (adaptive
 * group testing: when one half goes through, the other is known to fail and
 * is split without being tried, so k bad rows in n cost about k * log2(n)
 * subtransactions).  Rows a batch's budget of subtransactions cannot
 * resolve are released: left as they were, no attempt counted, for a later
 * batch.  The culprits are then recorded as 'failed' with their SQLSTATE,
 * message and a retry time (exponential backoff, retry.c) in the batch's own
 * transaction.
 */
#include "postgres.h"

#include <math.h>

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/timestamp.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/resowner.h"

#include "batch.h"
#include "result_row.h"


/* A real[] straight from a float buffer, without a Datum per element. */
static Datum
float4_array_datum(const float *values, int n)
{
	Size		nbytes = ARR_OVERHEAD_NONULLS(1) + sizeof(float4) * (Size) n;
	ArrayType  *a = palloc0(nbytes);

	SET_VARSIZE(a, nbytes);
	a->ndim = 1;
	a->dataoffset = 0;
	a->elemtype = FLOAT4OID;
	*ARR_DIMS(a) = n;
	*ARR_LBOUND(a) = 1;
	memcpy(ARR_DATA_PTR(a), values, sizeof(float4) * (Size) n);
	return PointerGetDatum(a);
}

/* Run a kept statement that must report the expected SPI code. */
static void
execute(SPIPlanPtr plan, Datum *args, int expected)
{
	int			ret = SPI_execute_plan(plan, args, NULL, false, 0);

	if (ret != expected)
		elog(ERROR, "sentiment_proc write failed: %s", SPI_result_code_string(ret));
}

/* Run a kept INSERT of side rows, whose four arguments are arrays. */
static void
insert_side_rows(SPIPlanPtr plan, Datum a1, Datum a2, Datum a3, Datum a4)
{
	Datum		args[4] = {a1, a2, a3, a4};

	execute(plan, args, SPI_OK_INSERT);
}

static int
cmp_int64(const void *a, const void *b)
{
	int64		x = *(const int64 *) a;
	int64		y = *(const int64 *) b;

	return x < y ? -1 : x > y ? 1 : 0;
}

/* How often v is in the sorted a[0..n). */
static int
count_sorted(const int64 *a, int n, int64 v)
{
	int			lo = 0;
	int			hi = n;
	int			c = 0;

	while (lo < hi)
	{
		int			mid = lo + (hi - lo) / 2;

		if (a[mid] < v)
			lo = mid + 1;
		else
			hi = mid;
	}
	while (lo + c < n && a[lo + c] == v)
		c++;
	return c;
}

/*
 * Rows are written by their id, which on a time-partitioned source only a
 * contract keeps unique (docs/usage.md): a write that names an id twice, or
 * whose id reached more than one row (the UPDATE's RETURNING), would give
 * a row another row's result.  Such rows are marked shared and the write
 * refused (23505, which isolate() narrows down to each of them; blame()
 * fails them).  A write of shared rows all failed already may reach every
 * row of their id: each of those is failed so too.
 */
static void
check_shared_ids(SpBatch *b, const int *rows, int nrows)
{
	int			ngot = (int) SPI_processed;
	int64	   *named = palloc(sizeof(int64) * (nrows + 1));
	int64	   *got = palloc(sizeof(int64) * (ngot + 1));
	int			refused = -1;

	for (int k = 0; k < nrows; k++)
		named[k] = DatumGetInt64(b->ids[rows[k]]);
	for (int k = 0; k < ngot; k++)
	{
		bool		isnull;

		got[k] = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[k], SPI_tuptable->tupdesc, 1, &isnull));
	}
	qsort(named, nrows, sizeof(int64), cmp_int64);
	qsort(got, ngot, sizeof(int64), cmp_int64);
	for (int k = 0; k < nrows; k++)
	{
		int			i = rows[k];
		int64		id = DatumGetInt64(b->ids[i]);

		if (count_sorted(named, nrows, id) <= 1 && count_sorted(got, ngot, id) <= 1)
			continue;
		if (b->shared[i] && b->failed[i])
			continue;
		b->shared[i] = true;
		if (refused < 0)
			refused = i;
		/* (a failure for another reason is a failure for the shared id now) */
		if (b->failed[i])
		{
			b->error[i] = psprintf(SP_SHARED_ID_ERROR, psprintf(INT64_FORMAT, id),
								   DatumGetCString(DirectFunctionCall1(regclassout,
																	   ObjectIdGetDatum(b->src->logical))));
			b->code[i] = pstrdup("23505");
			b->retry[i] = 0;
		}
	}
	SPI_freetuptable(SPI_tuptable);
	if (refused >= 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNIQUE_VIOLATION),
				 errmsg(SP_SHARED_ID_ERROR, psprintf(INT64_FORMAT, DatumGetInt64(b->ids[refused])),
						DatumGetCString(DirectFunctionCall1(regclassout, ObjectIdGetDatum(b->src->logical)))),
				 errdetail("sentiment_proc finds a row by its id alone: it analyses no row whose id another row holds."),
				 errhint("Give each row its own id, then run sentiment_retry_failed on the table.")));
}

/* The results, statuses and errors of the listed rows: one UPDATE (result_row.c). */
static void
write_results(SpBatch *b, const int *rows, int nrows)
{
	Datum		args[32];

	Assert(sp_nresult_columns < lengthof(args));
	sp_result_update_args(b, (SpShape) b->plans->shape, rows, nrows, args);
	if (SPI_execute_plan(b->plans->update, args, NULL, false, 0) != SPI_OK_UPDATE_RETURNING)
		elog(ERROR, "could not write results of %s", get_rel_name(b->plans->relid));
	check_shared_ids(b, rows, nrows);
}

/* The topics of the listed rows that completed: one INSERT. */
static void
write_topics(SpBatch *b, const int *rows, int nrows)
{
	int			cap = 0;
	int			n = 0;
	Datum	   *ids, *keys, *weights, *sentiments;

	for (int k = 0; k < nrows; k++)
		if (!b->failed[rows[k]])
			cap += b->t_first[rows[k] + 1] - b->t_first[rows[k]];
	if (cap == 0)
		return;
	ids = palloc(sizeof(Datum) * cap);
	keys = palloc(sizeof(Datum) * cap);
	weights = palloc(sizeof(Datum) * cap);
	sentiments = palloc(sizeof(Datum) * cap);
	for (int k = 0; k < nrows; k++)
	{
		int			i = rows[k];

		if (b->failed[i])
			continue;
		for (int t = b->t_first[i]; t < b->t_first[i + 1]; t++)
		{
			ids[n] = b->ids[i];
			keys[n] = b->t_keys[t];
			weights[n] = b->t_weights[t];
			sentiments[n] = b->t_sentiments[t];
			n++;
		}
	}
	insert_side_rows(b->plans->insert_topics,
					 sp_array_datum(ids, NULL, n, INT8OID),
					 sp_array_datum(keys, NULL, n, TEXTOID),
					 sp_array_datum(weights, NULL, n, FLOAT4OID),
					 sp_array_datum(sentiments, NULL, n, FLOAT4OID));
}

/*
 * The embeddings of the listed rows that completed: one INSERT, with every
 * embedding end to end in one real[] and each row's slice bounds.
 */
static void
write_embeddings(SpBatch *b, const int *rows, int nrows)
{
	Datum	   *ids = palloc(sizeof(Datum) * nrows);
	Datum	   *lo = palloc(sizeof(Datum) * nrows);
	Datum	   *hi = palloc(sizeof(Datum) * nrows);
	float	   *values = palloc(sizeof(float) * SA_EMBEDDING_DIMS * (Size) nrows);
	int			n = 0;

	for (int k = 0; k < nrows; k++)
	{
		int			i = rows[k];

		if (b->failed[i])
			continue;
		memcpy(values + (Size) n * SA_EMBEDDING_DIMS, b->e_values + (Size) i * SA_EMBEDDING_DIMS,
			   sizeof(float) * SA_EMBEDDING_DIMS);
		ids[n] = b->ids[i];
		lo[n] = Int32GetDatum(n * SA_EMBEDDING_DIMS + 1);
		hi[n] = Int32GetDatum((n + 1) * SA_EMBEDDING_DIMS);
		n++;
	}
	if (n == 0)
		return;
	insert_side_rows(b->plans->insert_embeddings,
					 sp_array_datum(ids, NULL, n, INT8OID),
					 float4_array_datum(values, n * SA_EMBEDDING_DIMS),
					 sp_array_datum(lo, NULL, n, INT4OID),
					 sp_array_datum(hi, NULL, n, INT4OID));
}

/*
 * Write the listed rows: results and statuses, then side rows (the old ones
 * of rows analysed again go first).  Never a statement per row.  May raise.
 */
static void
write_rows(SpBatch *b, const int *rows, int nrows)
{
	Datum	   *redo = palloc(sizeof(Datum) * nrows);
	int			nredo = 0;

	write_results(b, rows, nrows);
	for (int k = 0; k < nrows; k++)
		if (b->redo[rows[k]])
			redo[nredo++] = b->ids[rows[k]];
	if (nredo > 0)
	{
		Datum		a = sp_array_datum(redo, NULL, nredo, INT8OID);

		execute(b->plans->delete_topics, &a, SPI_OK_DELETE);
		execute(b->plans->delete_embeddings, &a, SPI_OK_DELETE);
	}
	write_topics(b, rows, nrows);
	write_embeddings(b, rows, nrows);
}


/*
 * Errors a row's data can cause (a trigger's RAISE, a constraint, a bad
 * value): worth isolating.  Anything else (cancel, shutdown, out of memory,
 * deadlock, serialization failure, missing privileges, internal errors)
 * concerns the whole batch and is raised again.
 */
static bool
isolatable(int sqlerrcode)
{
	switch (ERRCODE_TO_CATEGORY(sqlerrcode))
	{
		case ERRCODE_DATA_EXCEPTION:
		case ERRCODE_INTEGRITY_CONSTRAINT_VIOLATION:
		case ERRCODE_PLPGSQL_ERROR:
		case ERRCODE_TRIGGERED_ACTION_EXCEPTION:
		case ERRCODE_TRIGGERED_DATA_CHANGE_VIOLATION:
		case ERRCODE_SQL_ROUTINE_EXCEPTION:
		case ERRCODE_EXTERNAL_ROUTINE_EXCEPTION:
		case ERRCODE_EXTERNAL_ROUTINE_INVOCATION_EXCEPTION:
		case ERRCODE_WITH_CHECK_OPTION_VIOLATION:
			return true;
		default:
			return false;
	}
}

typedef struct WriteStep
{
	SpBatch    *b;
	const int  *rows;
	int			nrows;
} WriteStep;

static void
write_step(void *arg)
{
	WriteStep  *w = (WriteStep *) arg;

	write_rows(w->b, w->rows, w->nrows);
}

/*
 * Try to write the rows in a subtransaction, spending one of the budget.
 * On an isolatable error, roll it back and return the error; other errors
 * are raised again.
 */
static ErrorData *
try_write(SpBatch *b, const int *rows, int nrows)
{
	WriteStep	w = {b, rows, nrows};

	b->budget--;
	return sp_in_subtransaction(write_step, &w, isolatable);
}

/* Mark what became of the listed rows. */
static void
set_fate(SpBatch *b, const int *rows, int n, SpRowFate fate)
{
	for (int k = 0; k < n; k++)
		b->fate[rows[k]] = fate;
	if (fate == SP_ROW_RELEASED)
		b->nreleased += n;
}

/* A row whose own write failed: retried after a backoff until the attempts run out. */
static void
blame(SpBatch *b, int i, ErrorData *edata)
{
	b->failed[i] = true;
	b->error[i] = pstrdup(edata->message ? edata->message : "unknown error");
	b->code[i] = pstrdup(unpack_sql_state(edata->sqlerrcode));
	b->retry[i] = sp_retry_at(b->attempts[i] + 1, b->finished);
	/* (a shared id: not again until the ids are made unique) */
	if (b->shared[i])
		b->retry[i] = 0;
}

/*
 * Write rows[0..n).  A part that fails is split in halves, each written on
 * its own, down to the single rows that fail: those are blamed with their
 * own error and listed in culprits.  known_failing: the part is known to
 * fail (its sibling just went through, so the parent's failure is in it),
 * so it is split without being tried first.  With the budget spent, a part
 * not yet resolved is released.  Returns whether the part was written in
 * one go.
 */
static bool
isolate(SpBatch *b, const int *rows, int n, bool known_failing, int *culprits, int *nculprits)
{
	int			half = n / 2;
	bool		left_clean;

	if (n == 0)
		return true;
	if (!known_failing || n == 1)
	{
		ErrorData  *edata;

		if (b->budget <= 0)
		{
			set_fate(b, rows, n, SP_ROW_RELEASED);
			return false;
		}
		edata = try_write(b, rows, n);
		if (edata == NULL)
		{
			set_fate(b, rows, n, SP_ROW_WRITTEN);
			return true;
		}
		if (n == 1)
		{
			blame(b, rows[0], edata);
			culprits[(*nculprits)++] = rows[0];
			FreeErrorData(edata);
			return false;
		}
		FreeErrorData(edata);
	}
	left_clean = isolate(b, rows, half, false, culprits, nculprits);
	(void) isolate(b, rows + half, n - half, left_clean, culprits, nculprits);
	return false;
}

/*
 * Subtransactions a batch of n rows may spend finding culprits: enough for
 * a handful of bad rows at once (each costs about log2(n)); more are found
 * by later batches, as released rows come back.
 */
static int
isolation_budget(int n)
{
	return 16 * (int) ceil(log2((double) n + 1));
}

/*
 * Culprits whose failure was refused because it reached another row of
 * their id are failed for that now (blame): their failure, which may reach
 * every row of the id, is written once more, so that such a row is not left
 * pending to fail the same way at every batch.  Returns how many of
 * unrecorded[0..n) are still unrecorded, compacted.
 */
static int
record_shared_again(SpBatch *b, int *unrecorded, int n)
{
	int		   *shared = palloc(sizeof(int) * (n + 1));
	int		   *again = palloc(sizeof(int) * (n + 1));
	int			nshared = 0;
	int			nagain = 0;
	int			left = 0;

	for (int k = 0; k < n; k++)
	{
		if (b->shared[unrecorded[k]])
			shared[nshared++] = unrecorded[k];
		else
			unrecorded[left++] = unrecorded[k];
	}
	if (nshared == 0)
		return n;
	b->budget = Max(b->budget, 0) + isolation_budget(nshared);
	(void) isolate(b, shared, nshared, false, again, &nagain);
	for (int k = 0; k < nagain; k++)
		unrecorded[left++] = again[k];
	return left;
}

/*
 * Write the batch: every row whose write goes through, the culprits of
 * failing writes as 'failed' with their own errors, the rest released.
 * Returns the rows written; *ncompleted and *nfailed split them.
 */
int64
sp_batch_record(SpBatch *b, int64 *ncompleted, int64 *nfailed)
{
	int		   *rows = palloc(sizeof(int) * b->n);
	int		   *culprits = palloc(sizeof(int) * b->n);
	int		   *unrecorded = palloc(sizeof(int) * b->n);
	int			nculprits = 0;
	int			nunrecorded = 0;
	int64		written = 0;

	b->shared = palloc0(sizeof(bool) * (b->n + 1));
	for (int i = 0; i < b->n; i++)
		rows[i] = i;
	b->budget = isolation_budget(b->n);
	(void) isolate(b, rows, b->n, false, culprits, &nculprits);

	/*
	 * The culprits, now failed with their own errors, recorded as such (their
	 * failed writes were rolled back); one whose failure is refused too is
	 * released, with a warning.
	 */
	if (nculprits > 0)
	{
		b->budget = Max(b->budget, 0) + isolation_budget(nculprits);
		(void) isolate(b, culprits, nculprits, false, unrecorded, &nunrecorded);
		nunrecorded = record_shared_again(b, unrecorded, nunrecorded);
		if (nunrecorded > 0)
		{
			set_fate(b, unrecorded, nunrecorded, SP_ROW_RELEASED);
			ereport(WARNING,
					(errcode(ERRCODE_TRIGGERED_ACTION_EXCEPTION),
					 errmsg("could not record %d failed rows of %s: %s",
							nunrecorded, get_rel_name(b->src->relid), b->error[unrecorded[0]]),
					 errhint("A trigger or constraint on the table refuses the failed state; those rows stay as they were.")));
		}
	}

	*ncompleted = *nfailed = 0;
	for (int i = 0; i < b->n; i++)
	{
		if (b->fate[i] != SP_ROW_WRITTEN)
			continue;
		written++;
		if (b->failed[i])
			(*nfailed)++;
		else
			(*ncompleted)++;
	}
	return written;
}
