/*
 * analyze.c - sa_analyze(): sentiment, emotion, topics and embedding of one
 * text in one call.
 *
 * VADER runs first on its own tokens (sentiment.c, exact parity with the
 * reference): it is the sentiment, or with SA_MODEL_SOCIAL an input of the
 * social model, and always an input of the emotion model.  The social
 * model, emotion, topics and embedding share one pass of our tokeniser
 * (tokenize.c), and the social and emotion models one pass of the features
 * (features.c).  The language (language.c, no memory of its own) is
 * identified for every text; a model that reads it (multilingual) picks
 * the scorer of that language (the table of models, model.c).
 * All memory is scratch kept in the workspace, so once the
 * buffers have grown to the texts seen, a call allocates nothing.  Every
 * step is linear in the text.  On any error the result is cleared to a
 * defined empty value (neutral, no topics, zero vector) and the error
 * returned: the caller marks that row failed and carries on.
 */
#include <string.h>

#include "models_internal.h"
#include "workspace_internal.h"

static void
scratch_free(void *p)
{
	sa_scratch_destroy((sa_scratch *) p);
}

static void
clear_result(sa_analysis *out)
{
	memset(out, 0, sizeof(sa_analysis));
	out->sentiment.label = SA_LABEL_NEUTRAL;
	out->emotion = SA_EMOTION_NEUTRAL;
	out->emotion_score = 0.0;
	out->language = "und";
}

/*
 * Sentiment by the linear model m (slice < 0) and the emotion from one
 * pass of the features, when their layouts share it (as shipped: the
 * emotion model reads social's families plus affixes).  False, nothing
 * done, when they do not.
 */
static bool
classify_together(sa_scratch *sc, const sa_model_data *m, const char *text, size_t len,
				  const sa_sentiment *vader, sa_analysis *out, sa_error *err)
{
	sa_feat_layout ls = sa_model_layout(m),
				le = sa_model_layout(&sa_model_emotion_data);

	if (sc->ntoks == 0 || !sa_features_shareable(&ls, &le))
		return false;
	*err = sa_features_pair(sc, &ls, &le, text, len, vader);
	if (*err == SA_OK)
	{
		sa_linear_of_rows(m, sc->feats, sc->nfeats, &out->sentiment);
		sa_emotion_of_rows(sc->feats2, sc->nfeats2, &out->emotion, &out->emotion_score);
	}
	return true;
}

/* The sentiment of scorer, then the emotion (SA_EMOTION_NONE unless wanted). */
static sa_error
classify_apart(sa_scratch *sc, sa_scorer scorer, bool want_emotion, const char *text, size_t len,
			   const sa_sentiment *vader, sa_analysis *out)
{
	sa_error	err = SA_OK;

	if (scorer.data != NULL)
		err = sa_linear_classify(sc, scorer, text, len, vader, false, &out->sentiment);
	else
		out->sentiment = *vader;
	if (err != SA_OK)
		return err;
	if (!want_emotion)
	{
		out->emotion = SA_EMOTION_NONE;
		out->emotion_score = 0.0;
		return SA_OK;
	}
	return sa_emotion_classify(sc, text, len, vader, &out->emotion, &out->emotion_score);
}

sa_error
sa_analyze(const sa_lexicon *lex, const sa_topics *topics, sa_workspace *ws,
		   const char *text, size_t len, sa_analysis *out)
{
	return sa_analyze_model(lex, topics, ws, SA_MODEL_VADER, text, len, out);
}

sa_error
sa_analyze_model(const sa_lexicon *lex, const sa_topics *topics, sa_workspace *ws,
				 sa_model model, const char *text, size_t len, sa_analysis *out)
{
	const sa_model_def *def = sa_model_def_of(model);
	sa_scratch *sc;
	sa_sentiment vader;
	sa_scorer	scorer;
	sa_lang		lang;
	bool		want_emotion;
	sa_error	err;

	if (out == NULL)
		return SA_ERR_ARGUMENT;
	clear_result(out);
	if (lex == NULL || ws == NULL || (text == NULL && len > 0) || def == NULL)
		return SA_ERR_ARGUMENT;
	if (len > SA_MAX_INPUT_BYTES)
		return SA_ERR_TOO_LONG;
	if (text == NULL)
		text = "";

	/* VADER always: it is the result or an input of the other models */
	err = sa_sentiment_score(lex, ws, text, len, &vader);
	if (err != SA_OK)
		goto fail;

	/* Our scratch hangs off the workspace, created on first use. */
	if (ws->analysis == NULL)
	{
		err = sa_scratch_create(&sc);
		if (err != SA_OK)
			goto fail;
		ws->analysis = sc;
		ws->analysis_free = scratch_free;
	}
	sc = (sa_scratch *) ws->analysis;
	sa_scratch_trim(sc);

	err = sa_tokenize(sc, text, len);
	if (err != SA_OK)
		goto fail;
	lang = sa_lang_identify(text, len);
	out->language = sa_lang_code(lang);
	scorer = sa_model_scorer(def, lang);
	/* the emotion model reads English: no guess for other languages */
	want_emotion = def->route == NULL || lang == SA_LANG_EN || lang == SA_LANG_UND;
	if (!(want_emotion && scorer.data != NULL && scorer.slice < 0 &&
		  classify_together(sc, scorer.data, text, len, &vader, out, &err)))
		err = classify_apart(sc, scorer, want_emotion, text, len, &vader, out);
	if (err != SA_OK)
		goto fail;
	err = sa_topics_match(topics, sc, lex, ws, model, text, &out->sentiment, out);
	if (err != SA_OK)
		goto fail;
	err = sa_embed(sc, out->embedding);
	if (err != SA_OK)
		goto fail;
	return SA_OK;

fail:
	clear_result(out);
	return err;
}
