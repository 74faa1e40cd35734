/*
 * model_internal.h - the trained linear models (social sentiment, emotion):
 * their compiled-in data, the model file layout and the feature extractor
 * they share.  Not part of the public API.
 *
 * A model file (models/NAME.samodel, written by tools/train_models.py) is a
 * 256-byte little-endian header followed by the weight table:
 *
 *   0   8  magic "SAMODEL\0"
 *   8   4  format version (SA_MODEL_FORMAT)
 *   12  4  header size (256)
 *   16  16 model name, NUL padded ("social", "emotion")
 *   32  4  model version (raised by the trainer when the model changes)
 *   36  4  number of classes (<= 8)
 *   40  4  lanes per table row (4, 7 or 8, >= classes)
 *   44  4  hash bits B (the table has 2^B rows)
 *   48  4  feature flags (SA_FEAT_*)
 *   52  4  negation scope in tokens
 *   56  4  shortest character n-gram (bytes)
 *   60  4  longest character n-gram (bytes)
 *   64  64 per-class weight scale, 8 x float64
 *   128 64 per-class bias, 8 x float64 (the class offsets and, since
 *          format 2, the temperature folded in: scale and bias of a class
 *          are divided by it)
 *   192 4  table bytes (2^B * lanes)
 *   196 4  weight type (1 = int8)
 *   200 48 class names, comma separated, NUL padded
 *   248 8  FNV-1a 64 of bytes 0..247 and the table
 *
 * Format 2 (emotion 4 and later) gives the eighth scale and bias a meaning
 * when a model has at most 7 classes: the top-label calibration a =
 * scale[7], c = bias[7] of the score of the arg max (cal_a, cal_c below;
 * see sa_model_top_score).  A format 1 file has none (a = 0: the softmax
 * probability as it is); the trainer writes format 1 for such models.
 *
 * tools/gen-model.c checks a file against this layout at build time and
 * refuses a corrupt or mismatched one; the file's bytes are then linked in
 * as they are (.incbin), so nothing is parsed at run time.
 *
 * Logit of class c for a text: bias[c] + scale[c] * S[c], S[c] the sum over
 * the text's features f (with repeats) of table[f][c], divided by the
 * square root of the number of features when SA_FEAT_NORM is set.  The
 * sums are integers and the rest is the same IEEE operations in the same
 * order, so C and the trainer's quantised evaluation agree exactly.
 */
#ifndef SA_MODEL_INTERNAL_H
#define SA_MODEL_INTERNAL_H

#include <stdint.h>

#include "analysis_internal.h"

#define SA_MODEL_FORMAT			2	/* the newest; 1 is read too */
#define SA_MODEL_HEADER_BYTES	256
#define SA_MODEL_MAX_CLASSES	8

/* Feature families (header field "feature flags"). */
#define SA_FEAT_WORD	0x0001	/* normalised word (or emoji) unigrams */
#define SA_FEAT_BIGRAM	0x0002	/* adjacent word pairs inside a clause */
#define SA_FEAT_NEG		0x0004	/* words in a negation scope kept apart */
#define SA_FEAT_CHAR	0x0008	/* byte n-grams of "<word>" */
#define SA_FEAT_VADER	0x0010	/* VADER compound, pos, neu, neg in bins */
#define SA_FEAT_PUNCT	0x0020	/* "!" and "?" present */
#define SA_FEAT_SOCIAL	0x0040	/* @user, links, elongation, digits */
#define SA_FEAT_NORM	0x0080	/* sums divided by sqrt(number of features) */
#define SA_FEAT_AFFIX	0x0100	/* first 4 and 5, last 3 bytes of longer words */
#define SA_FEAT_ALL		0x01ff

typedef struct sa_model_data
{
	const char *name;
	uint32_t	version;
	uint32_t	n_classes;
	uint32_t	lanes;
	uint32_t	bits;
	uint32_t	flags;
	uint32_t	neg_scope;
	uint32_t	char_min;
	uint32_t	char_max;
	double		scale[SA_MODEL_MAX_CLASSES];
	double		bias[SA_MODEL_MAX_CLASSES];
	double		cal_a;			/* top-label calibration (format 2), 0: none */
	double		cal_c;
	uint64_t	checksum;
	const char *version_string;	/* "NAME-VERSION-CHECKSUM8" */
	const unsigned char *file;	/* the whole model file, as linked in */
	size_t		file_len;
	const int8_t *table;		/* file + SA_MODEL_HEADER_BYTES */
} sa_model_data;

/* Generated from models/ at build time (generated/model_*.c). */
extern const sa_model_data sa_model_social_data;
extern const sa_model_data sa_model_emotion_data;

/* FNV-1a 64 of the header (checksum field excluded) and the table. */
uint64_t	sa_model_file_checksum(const unsigned char *file, size_t len);

/* What the extractor needs to know of a model. */
typedef struct sa_feat_layout
{
	uint32_t	flags;
	uint32_t	bits;
	uint32_t	neg_scope;
	uint32_t	char_min;
	uint32_t	char_max;
} sa_feat_layout;

/* Where a feature came from (for explain): kind << 28 | token index. */
#define SA_FO_WORD		0u
#define SA_FO_BIGRAM	1u		/* tokens index-1 and index */
#define SA_FO_CHAR		2u
#define SA_FO_VADER		3u		/* index: 0 compound, 1 pos, 2 neu, 3 neg */
#define SA_FO_PUNCT		4u		/* index: 0 "!", 1 "?" */
#define SA_FO_SHIFT		28
#define SA_FO_MASK		((1u << SA_FO_SHIFT) - 1)

/*
 * Extract the features of the text tokenised in sc (and of its VADER
 * scores when the layout asks for them) into sc->feats[0..sc->nfeats):
 * table rows, with sc->forigin[] beside them when want_origin.  Linear in
 * the text; grows sc's arrays only.
 */
sa_error	sa_features(sa_scratch *sc, const sa_feat_layout *layout,
						const char *text, size_t len, const sa_sentiment *vader,
						bool want_origin);

/*
 * Two models' features in one pass over the tokens: a's rows into
 * sc->feats[0..sc->nfeats), b's into sc->feats2[0..sc->nfeats2), each
 * exactly what sa_features() gives for it.  Only for layouts that
 * sa_features_shareable() accepts (else SA_ERR_ARGUMENT): the same word,
 * negation and social-normalising flags, the same negation scope and, when
 * both read character n-grams, the same lengths.  The full analysis uses
 * it for the social and emotion models.
 */
bool		sa_features_shareable(const sa_feat_layout *a, const sa_feat_layout *b);
sa_error	sa_features_pair(sa_scratch *sc, const sa_feat_layout *a, const sa_feat_layout *b,
							 const char *text, size_t len, const sa_sentiment *vader);

/* A link ("http://", "https://", "www.") starts at text[pos]; it runs to
 * the next white space and counts as one "<url>" token. */
bool		sa_link_at(const char *text, size_t len, size_t pos);

static inline sa_feat_layout
sa_model_layout(const sa_model_data *m)
{
	sa_feat_layout l = {m->flags, m->bits, m->neg_scope, m->char_min, m->char_max};

	return l;
}

/*
 * Integer class sums of the n rows feats of model m into z[0..lanes),
 * then logits[c] = bias[c] + scale[c] * z[c] for c < n_classes.
 */
void		sa_model_logits(const sa_model_data *m, const uint32_t *feats, size_t n,
							double *logits);

/*
 * Calibrated score of the arg max best of the logits z (n classes): the
 * softmax probability p = 1 / s, s = sum of exp(z[c] - z[best]), or with
 * the model's top-label calibration (a, c), 1 / (1 + ((1 - p) / p)^a e^-c),
 * fitted on out-of-fold logits of the training data.  In (0, 1].
 */
double		sa_model_top_score(const sa_model_data *m, const double *z, int n, int best);

/* The model's scratch hung off a workspace (created on first use). */
sa_error	sa_model_scratch(sa_workspace *ws, sa_scratch **out);

#endif							/* SA_MODEL_INTERNAL_H */
