/*
 * emotion.c - Ekman emotion (plus neutral) of a text from the trained
 * linear model models/emotion.samodel (tools/train_models.py).
 *
 * The features are features.c's (words and word pairs with negation scope,
 * word affixes, VADER's scores in bins, "!" and "?"); the model is one
 * linear function per class (since version 3 trained as one-vs-rest NB-LR,
 * before as a softmax regression; scored the same way).  The label is the
 * arg max (lowest class on ties, as the trainer), the score the softmax of
 * the seven logits at it, calibrated (since version 4) by the model's
 * top-label map (sa_model_top_score) so that a score of 0.8 is right about
 * 80% of the time.  Classes are in sa_emotion order in the file (checked
 * at build time).
 */
#include <math.h>
#include <string.h>

#include "model_internal.h"

_Static_assert(SA_EMOTION_COUNT == 7, "the model file has these seven classes");

static const char *const emotion_names[SA_EMOTION_COUNT] = {
	[SA_EMOTION_NEUTRAL] = "neutral",
	[SA_EMOTION_ANGER] = "anger",
	[SA_EMOTION_DISGUST] = "disgust",
	[SA_EMOTION_FEAR] = "fear",
	[SA_EMOTION_JOY] = "joy",
	[SA_EMOTION_SADNESS] = "sadness",
	[SA_EMOTION_SURPRISE] = "surprise",
};

const char *
sa_emotion_name(sa_emotion emotion)
{
	if (emotion == SA_EMOTION_NONE)
		return "none";
	if ((int) emotion < 0 || emotion >= SA_EMOTION_COUNT)
		return "unknown";
	return emotion_names[emotion];
}

sa_error
sa_emotion_classify(sa_scratch *sc, const char *text, size_t len,
					const sa_sentiment *vader, sa_emotion *label, double *score)
{
	sa_feat_layout layout = sa_model_layout(&sa_model_emotion_data);
	sa_error	err;

	if (sc->ntoks == 0)
	{
		/* Nothing to judge; certain there is no emotion to report. */
		*label = SA_EMOTION_NEUTRAL;
		*score = 1.0;
		return SA_OK;
	}
	err = sa_features(sc, &layout, text, len, vader, false);
	if (err == SA_OK)
		sa_emotion_of_rows(sc->feats, sc->nfeats, label, score);
	return err;
}

void
sa_emotion_of_rows(const uint32_t *feats, size_t n, sa_emotion *label, double *score)
{
	const sa_model_data *m = &sa_model_emotion_data;
	double		z[SA_MODEL_MAX_CLASSES];
	int			best;

	sa_model_logits(m, feats, n, z);
	best = 0;
	for (int c = 1; c < SA_EMOTION_COUNT; c++)
		if (z[c] > z[best])
			best = c;

	/*
	 * Every exponent is <= 0, so the softmax probability of the winner is
	 * in [1/7, 1] and its calibrated map in (0, 1]: never NaN.
	 */
	*label = (sa_emotion) best;
	*score = sa_model_top_score(m, z, SA_EMOTION_COUNT, best);
}
