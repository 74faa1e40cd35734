/*
 * analysis_internal.h - shared internals of emotion, topics, embedding and
 * sa_analyze() (not part of the public API).
 *
 * One tokenisation pass (tokenize.c) feeds the three text models, so they
 * agree on what a word is and the text is decoded once.  The tokens are
 * NOT VADER's tokens (those follow Python's str.split() for score parity);
 * they are words and emoji as a reader sees them:
 *
 *   word    a run of letters (L*), decimal digits (Nd) and, inside a word,
 *           combining marks (Mn, Mc) and apostrophes (' and U+2019, stored
 *           as '); trailing apostrophes are dropped; lower-cased per code
 *           point with the simple Unicode mapping (ICU u_tolower).
 *   symbol  one code point of category So (emoji, dingbats), a token alone.
 *
 * Everything else separates tokens; . , ; : ! ? also set SA_TOK_BREAK on
 * the next token (negation scope and phrase matches stop there).  The same
 * rules are written in Python in tools/train_emotion.py (tools/train_idf.py
 * uses them for the embedding's idf table): change both together.
 *
 * Clauses (for the sentiment of a topic match) are byte spans of the
 * original text split after a run of ! ? ; (and of . when it is followed by
 * white space or the end, so "3.5" and "example.com" stay whole) and around
 * the word "but" (which belongs to neither side: VADER already weighs the
 * part after "but" more, and we score each part on its own).
 *
 * The trained models (model_internal.h) read their features off these
 * tokens through features.c; tools/train_models.py gets the very same
 * features from the C extractor (tools/dump-features), so the tokeniser
 * has one implementation for them.
 */
#ifndef SA_ANALYSIS_INTERNAL_H
#define SA_ANALYSIS_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "analyzer.h"
#include "text_internal.h"

#define SA_TOK_BREAK	0x01	/* clause punctuation before this token */
#define SA_TOK_HASHTAG	0x02	/* word directly after '#' */
#define SA_TOK_SYMBOL	0x04	/* single So code point */
#define SA_TOK_ASCII	0x08	/* every byte of the token is ASCII */
#define SA_TOK_MENTION	0x10	/* word directly after '@' (a user name) */

typedef struct sa_token
{
	uint32_t	off;			/* lower-cased bytes in sa_scratch.lower */
	uint32_t	len;
	uint32_t	hash;			/* sa_fnv1a() of those bytes */
	uint32_t	clause;			/* index into sa_scratch.clauses */
	uint32_t	flags;
	uint32_t	src;			/* byte offset of its start in the text */
} sa_token;

typedef struct sa_clause
{
	uint32_t	start;			/* byte span in the original text */
	uint32_t	end;
	double		compound;		/* VADER compound, valid when scored */
	bool		scored;
} sa_clause;

/*
 * Per-workspace scratch memory of sa_analyze(); every array only grows, so
 * after the longest text seen nothing is allocated any more.
 */
typedef struct sa_scratch
{
	sa_buf		lower;			/* token bytes, lower-cased, back to back */
	sa_token   *toks;
	size_t		ntoks;
	size_t		toks_cap;
	sa_clause  *clauses;
	size_t		nclauses;
	size_t		clauses_cap;
	uint32_t   *cps;			/* embedding: code points of one "<word>" */
	size_t		cps_cap;
	uint32_t   *feats;			/* trained models: table rows of the text */
	uint32_t   *forigin;		/* ... and where each came from (explain) */
	size_t		nfeats;
	size_t		feats_cap;
	size_t		forigin_cap;
	uint32_t   *feats2;			/* a second model's rows, same pass (sa_features_pair) */
	size_t		nfeats2;
	size_t		feats2_cap;
	sa_buf		norm;			/* one normalised "<word>" */
} sa_scratch;

#define SA_SCRATCH_KEEP_BYTES ((size_t) 8 * 1024 * 1024)

sa_error	sa_scratch_create(sa_scratch **out);
void		sa_scratch_destroy(sa_scratch *sc);
/* Free the buffers when they exceed SA_SCRATCH_KEEP_BYTES (before a text). */
void		sa_scratch_trim(sa_scratch *sc);

/* Grow *arr (of elem-byte items, *cap of them) to at least need; 0 or -1. */
int			sa_grow_array(void **arr, size_t *cap, size_t need, size_t elem);

/* Tokenise text into sc (tokens, lower-cased bytes, clauses). */
sa_error	sa_tokenize(sa_scratch *sc, const char *text, size_t len);

/* 32-bit FNV-1a, the token hash the trainer uses too. */
static inline uint32_t
sa_fnv1a_update(uint32_t h, const void *data, size_t len)
{
	const unsigned char *p = data;

	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 0x01000193u;
	return h;
}

#define SA_FNV_SEED 0x811C9DC5u

static inline uint32_t
sa_fnv1a(const void *data, size_t len)
{
	return sa_fnv1a_update(SA_FNV_SEED, data, len);
}

/* MurmurHash3's finaliser: spreads FNV's weak low bits over the word. */
static inline uint32_t
sa_fmix32(uint32_t h)
{
	h ^= h >> 16;
	h *= 0x85EBCA6Bu;
	h ^= h >> 13;
	h *= 0xC2B2AE35u;
	h ^= h >> 16;
	return h;
}

/* ---------- emotion (emotion.c, model in models/emotion.samodel) ---------- */

sa_error	sa_emotion_classify(sa_scratch *sc, const char *text, size_t len,
								const sa_sentiment *vader,
								sa_emotion *label, double *score);
/* The same from the emotion model's rows feats[0..n) of a text with tokens. */
void		sa_emotion_of_rows(const uint32_t *feats, size_t n, sa_emotion *label,
							   double *score);

/* ---------- embedding (embedding.c, idf table in embedding_idf.c) ---------- */

extern const int sa_idf_bits;
extern const uint8_t sa_idf_default;
extern const uint32_t sa_idf_keys[];
extern const uint8_t sa_idf_values[];

sa_error	sa_embed(sa_scratch *sc, float *vec);

/* ---------- topics (topics.c) ---------- */

sa_error	sa_topics_match(const sa_topics *topics, sa_scratch *sc,
							const sa_lexicon *lex, sa_workspace *ws, sa_model model,
							const char *text, const sa_sentiment *whole,
							sa_analysis *out);

#endif							/* SA_ANALYSIS_INTERNAL_H */
