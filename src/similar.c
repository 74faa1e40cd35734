/*
 * similar.c - cosine similarity of embeddings, the inner loop of
 * sentiment_similar().
 *
 * Embeddings are L2-normalised, so their cosine is their dot product; the
 * function still divides by the norms so that it is right for any vectors
 * (the three sums cost no more than the one: the loop is memory-bound).
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/array.h"

#include "sentiment_proc.h"

PG_FUNCTION_INFO_V1(sentiment_cosine);
PG_FUNCTION_INFO_V1(sentiment_embedding_dims);

/*
 * sentiment_embedding_dims(): the length of the analyser's embeddings, the
 * one length sentiment_complete accepts and sentiment_similar compares.
 */
Datum
sentiment_embedding_dims(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(SA_EMBEDDING_DIMS);
}

/* The elements of a one-dimensional real[] without NULLs. */
static const float4 *
vector_of(ArrayType *a, const char *which, int *n)
{
	if (ARR_ELEMTYPE(a) != FLOAT4OID)
		elog(ERROR, "sentiment_cosine: %s is not a real[]", which);
	if (ARR_NDIM(a) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("%s embedding has %d dimensions, not one", which, ARR_NDIM(a)),
				 errhint("Pass a flat real[] such as sentiment_analyze(text).embedding.")));
	if (ARR_HASNULL(a) && array_contains_nulls(a))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s embedding contains null elements", which),
				 errhint("Every element of an embedding must be a number.")));
	*n = ARR_NDIM(a) == 0 ? 0 : ARR_DIMS(a)[0];
	return (const float4 *) ARR_DATA_PTR(a);
}

/*
 * sentiment_cosine(a real[], b real[]) -> double precision in [-1, 1];
 * NULL when either vector is all zeros (no direction).
 */
Datum
sentiment_cosine(PG_FUNCTION_ARGS)
{
	ArrayType  *a = PG_GETARG_ARRAYTYPE_P(0);
	ArrayType  *b = PG_GETARG_ARRAYTYPE_P(1);
	int			na,
				nb;
	const float4 *x = vector_of(a, "first", &na);
	const float4 *y = vector_of(b, "second", &nb);
	double		dot = 0.0,
				xx = 0.0,
				yy = 0.0;
	double		r;

	if (na != nb)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("embeddings have different dimensions %d and %d", na, nb),
				 errhint("Compare embeddings made by the same analyser (%d dimensions).",
						 SA_EMBEDDING_DIMS)));

	for (int i = 0; i < na; i++)
	{
		dot += (double) x[i] * y[i];
		xx += (double) x[i] * x[i];
		yy += (double) y[i] * y[i];
	}
	if (xx == 0.0 || yy == 0.0)
		PG_RETURN_NULL();
	r = dot / (sqrt(xx) * sqrt(yy));
	if (!isfinite(r))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("embedding values out of range"),
				 errhint("Embedding elements must be finite numbers.")));
	/* rounding can step just past the bounds */
	PG_RETURN_FLOAT8(Max(-1.0, Min(1.0, r)));
}
