/*
 * batch_analyse.c - the analysis phase of a batch: pure C, no database
 * access between the claim and the writes.
 *
 * Every claimed row gets its sentiment, emotion, influence, topics and
 * embedding from the analyser (src/analyzer), or a failure of its own: a
 * NULL text, a text the analyser refuses (too long, invalid).  Such
 * failures are deterministic and not retried automatically.  Running out
 * of memory is not the row's fault: it raises, and the batch rolls back.
 */
#include "postgres.h"

#include "executor/spi.h"
#include "utils/timestamp.h"
#include "miscadmin.h"
#include "utils/builtins.h"

#include "batch.h"

/* A row the analyser cannot take: failed for good, with its own error. */
static void
set_analysis_failure(SpBatch *b, int i, const char *why, const char *code)
{
	b->failed[i] = true;
	b->error[i] = pstrdup(why);
	b->code[i] = pstrdup(code);
	b->retry[i] = 0;
}

/* An engagement column: -1 (unknown) when NULL, as the formula expects. */
static int64
engagement(HeapTuple tup, TupleDesc desc, int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(tup, desc, col, &isnull);

	return isnull ? -1 : DatumGetInt64(d);
}

/* Room for one more topic in the batch's topic arrays. */
static void
reserve_topic(SpBatch *b, int ntopics, int *topic_cap)
{
	if (ntopics < *topic_cap)
		return;
	*topic_cap *= 2;
	b->t_keys = repalloc(b->t_keys, sizeof(Datum) * *topic_cap);
	b->t_weights = repalloc(b->t_weights, sizeof(Datum) * *topic_cap);
	b->t_sentiments = repalloc(b->t_sentiments, sizeof(Datum) * *topic_cap);
}

/*
 * Analyse row i of the batch, whose text is t (UTF-8, len bytes), with the
 * backend's analyser an, into the batch's result arrays; topics are
 * appended from *ntopics on.
 */
static void
analyse_row(SpBatch *b, SpAnalyzer *an, int i, HeapTuple tup, TupleDesc desc, const char *t, size_t len,
			sa_analysis *res, int *ntopics, int *topic_cap,
			const Datum *label_names, const Datum *emotion_names)
{
	sa_engagement eng;
	sa_error	err;

	err = sa_analyze_model(an->lexicon, an->topics, an->workspace, b->src->model, t, len, res);
	if (err == SA_ERR_NOMEM)
		sp_analyzer_error(err, "analysing a batch");
	if (err != SA_OK)
	{
		set_analysis_failure(b, i, sa_strerror(err), err == SA_ERR_TOO_LONG ? "54000" : "22023");
		return;
	}

	eng.followers = engagement(tup, desc, CLAIM_FOLLOWERS);
	eng.likes = engagement(tup, desc, CLAIM_LIKES);
	eng.shares = engagement(tup, desc, CLAIM_SHARES);
	eng.replies = engagement(tup, desc, CLAIM_REPLIES);

	b->results[SP_R_LABEL][i] = label_names[(int) res->sentiment.label + 1];
	b->results[SP_R_SCORE][i] = Float8GetDatum(res->sentiment.compound);
	/* no emotion for other languages (multilingual): NULL, see result_row.c */
	b->results[SP_R_EMOTION][i] = res->emotion == SA_EMOTION_NONE ? (Datum) 0 : emotion_names[res->emotion];
	b->results[SP_R_EMOTION_SCORE][i] = Float8GetDatum(res->emotion_score);
	b->results[SP_R_INFLUENCE][i] = Float8GetDatum(sa_influence_weight(&eng));
	b->results[SP_R_LANGUAGE][i] = CStringGetTextDatum(res->language);

	/* Topics: one row per distinct key (ON CONFLICT cannot see one twice). */
	for (size_t k = 0; k < res->n_topics; k++)
	{
		const sa_topic_match *m = &res->topics[k];
		bool		dup = false;

		for (size_t j = 0; j < k && !dup; j++)
			dup = (res->topics[j].key_len == m->key_len &&
				   memcmp(res->topics[j].key, m->key, m->key_len) == 0);
		if (dup)
			continue;
		reserve_topic(b, *ntopics, topic_cap);
		b->t_keys[*ntopics] = sp_text_from_utf8(m->key, m->key_len);
		if (b->t_keys[*ntopics] == (Datum) 0)
			continue;			/* not storable in this database */
		b->t_weights[*ntopics] = Float4GetDatum((float4) m->weight);
		b->t_sentiments[*ntopics] = Float4GetDatum((float4) m->sentiment);
		(*ntopics)++;
	}

	memcpy(b->e_values + (Size) i * SA_EMBEDDING_DIMS, res->embedding,
		   sizeof(float) * SA_EMBEDDING_DIMS);
}

/* The result arrays of an n-row batch. */
static void
allocate_results(SpBatch *b, int n, int topic_cap)
{
	b->failed = palloc0(sizeof(bool) * n);
	b->fate = palloc0(sizeof(SpRowFate) * n);
	for (int slot = SP_R_NONE + 1; slot < SP_NRESULT_SLOTS; slot++)
		b->results[slot] = palloc(sizeof(Datum) * n);
	b->error = palloc0(sizeof(char *) * n);
	b->code = palloc0(sizeof(char *) * n);
	b->retry = palloc0(sizeof(TimestampTz) * n);
	b->t_first = palloc(sizeof(int) * (n + 1));
	b->t_keys = palloc(sizeof(Datum) * topic_cap);
	b->t_weights = palloc(sizeof(Datum) * topic_cap);
	b->t_sentiments = palloc(sizeof(Datum) * topic_cap);
	b->e_values = palloc(sizeof(float) * SA_EMBEDDING_DIMS * (Size) n);
}

/*
 * Analyse every claimed row of b, then free the claimed tuples.  Texts are
 * handed to the analyser as UTF-8 whatever the server encoding.
 */
void
sp_batch_analyse(SpBatch *b)
{
	int			n = b->n;
	int			topic_cap = Max(n * 2, 8);
	int			ntopics = 0;
	Datum		label_names[3];
	Datum		emotion_names[SA_EMOTION_COUNT];
	sa_analysis *res = palloc(sizeof(sa_analysis));
	SpAnalyzer *an = sp_analyzer();	/* once per batch: dictionaries refreshed here */

	allocate_results(b, n, topic_cap);
	for (int i = 0; i < 3; i++)
		label_names[i] = CStringGetTextDatum(sa_label_name((sa_label) (i - 1)));
	for (int i = 0; i < SA_EMOTION_COUNT; i++)
		emotion_names[i] = CStringGetTextDatum(sa_emotion_name((sa_emotion) i));

	for (int i = 0; i < n; i++)
	{
		HeapTuple	tup = b->claimed->vals[i];
		TupleDesc	desc = b->claimed->tupdesc;
		bool		isnull;
		Datum		d;

		CHECK_FOR_INTERRUPTS();
		b->t_first[i] = ntopics;
		d = SPI_getbinval(tup, desc, CLAIM_TEXT, &isnull);
		if (isnull)
			set_analysis_failure(b, i, "text is null", "22004");
		else
		{
			text	   *t = DatumGetTextPP(d);
			size_t		len;
			const char *utf8 = sp_text_to_utf8(t, &len);

			analyse_row(b, an, i, tup, desc, utf8, len, res, &ntopics, &topic_cap,
						label_names, emotion_names);
			if (utf8 != VARDATA_ANY(t))
				pfree((char *) utf8);
			if ((Pointer) t != DatumGetPointer(d))
				pfree(t);
		}
	}
	b->t_first[n] = ntopics;
	b->finished = GetCurrentTimestamp();

	if (b->claimed != NULL)
		SPI_freetuptable(b->claimed);
	b->claimed = NULL;
}
