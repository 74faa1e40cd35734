/*
 * result_row.h - the result row: one description of the columns
 * sentiment_attach adds to a table, their SQL types, the version that
 * brought each, and where each one's value comes from.
 *
 * Built from it: attach's column list (sentiment_status_columns(), which
 * sql/objects/20_attach.sql and source_sql.c's checks read), the batch's
 * result UPDATE and its arguments (batch_plans.c, batch_record.c), the
 * two-phase complete and fail statements' SET lists (source_sql.c) and the
 * record complete reads its results as (two_phase.c), and a table's shape
 * (sp_table_shape), the one version check of a source's columns.  The
 * batch's result arrays (SpBatch.results, batch.h) are checked against it.
 * Adding a result column: docs/development.md, "Adding a result column".
 */
#ifndef SP_RESULT_ROW_H
#define SP_RESULT_ROW_H

#include "postgres.h"

#include "batch.h"

/* A table's shape: which version's columns it has (1.0 .. 1.3). */
typedef enum SpShape
{
	SP_SHAPE_1_0 = 10,			/* results and status only */
	SP_SHAPE_1_1 = 11,			/* retries, leases, the error history */
	SP_SHAPE_1_2 = 12,			/* the model that wrote a result */
	SP_SHAPE_1_3 = 13			/* the text's language */
} SpShape;

/* Where a column's value comes from. */
typedef enum SpResultFrom
{
	SP_FROM_INPUT,				/* the row's own data: no result writes it */
	SP_FROM_RESULT,				/* the analysis of the row (NULL when it failed) */
	SP_FROM_STATUS,				/* completed or failed */
	SP_FROM_FAILURE,			/* a failed row's error (NULL when it completed) */
	SP_FROM_WRITE,				/* one value for the whole write: its times, the model */
	SP_FROM_ROW,				/* computed from the row itself as it is written */
	SP_FROM_CLAIM				/* the claim's and the edits' bookkeeping */
} SpResultFrom;

typedef struct SpResultColumn
{
	const char *name;
	const char *type;			/* the SQL type attach adds it with */
	const char *add_clause;		/* what attach adds after the type */
	const char *kind;			/* the kind of type attach accepts (sentiment_column_type_ok) */
	SpShape		since;			/* the shape that brought it */
	SpResultFrom from;
	Oid			arg_elem;		/* the batch UPDATE's argument: one of this type per row
								 * (an array), or one for the write (SP_FROM_WRITE);
								 * InvalidOid: none */
	const char *batch_value;	/* its value in the batch UPDATE (NULL: not set); u.NAME
								 * is the row's argument, $ the write's, {ext} the
								 * extension's schema */
	const char *complete_value; /* its value in sentiment_complete (NULL: not set); r.NAME
								 * is the result's field of that name and type */
	/* the argument's value for row i of a batch (i -1: the write's) */
	Datum		(*value) (const struct SpResultColumn *c, const SpBatch *b, int i, bool *isnull);
	/* last, left out where unused: */
	SpResultSlot slot;			/* SP_FROM_RESULT: its array in SpBatch.results */
	const char *fail_value;		/* its value in sentiment_fail (NULL: not set, or set by
								 * the fail statement itself); an SP_FROM_RESULT column
								 * sentiment_complete writes is set to NULL */
} SpResultColumn;

extern const SpResultColumn sp_result_columns[];
extern const int sp_nresult_columns;

/* The shape of a table's columns (needs no SPI). */
extern SpShape sp_table_shape(Oid relid);

/*
 * The batch's result UPDATE for a table of that shape ($1: the ids, then an
 * argument per column that has one, in the order above).
 */
extern char *sp_result_update_sql(const char *rel, const char *id, const char *ext, SpShape shape,
								  int *nargs, Oid **argtypes);

/* The arguments of that UPDATE for the listed rows of a batch. */
extern void sp_result_update_args(SpBatch *b, SpShape shape, const int *rows, int nrows, Datum *args);

/*
 * sentiment_complete's SET list and its results' record definition
 * (source_sql.c, two_phase.c), and sentiment_fail's SET list
 */
extern char *sp_result_complete_set(void);
extern char *sp_result_complete_record(bool with_side);
extern char *sp_result_fail_set(void);

#endif							/* SP_RESULT_ROW_H */
