/*
 * analyzer.h - public API of the sentiment_proc text analyser.
 *
 * A pure C library: no PostgreSQL headers, no global mutable state, no
 * aborts or longjmps.  Every entry point that can fail returns an sa_error.
 * Objects are created once per process (lexicon, topic dictionary) and a
 * workspace is reused across calls so the hot path does not allocate.
 *
 * Text is UTF-8; invalid byte sequences are read as U+FFFD, never rejected.
 * Inputs longer than SA_MAX_INPUT_BYTES are rejected with SA_ERR_TOO_LONG.
 */
#ifndef SENTIMENT_ANALYZER_H
#define SENTIMENT_ANALYZER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Largest text analysed; longer input is rejected (the row becomes failed). */
#define SA_MAX_INPUT_BYTES ((size_t) 4 * 1024 * 1024)
#define SA_EMBEDDING_DIMS 256
#define SA_MAX_TOPICS 32

typedef enum sa_error
{
	SA_OK = 0,
	SA_ERR_NOMEM,				/* an allocation failed */
	SA_ERR_TOO_LONG,			/* input above SA_MAX_INPUT_BYTES */
	SA_ERR_ARGUMENT,			/* NULL pointer or invalid argument */
	SA_ERR_SYNTAX				/* malformed lexicon/override/dictionary entry */
} sa_error;

/* Static, human-readable message for an error code. */
const char *sa_strerror(sa_error err);

/* ---------- Lexicon (VADER word valences + emoji descriptions) ---------- */

typedef struct sa_lexicon sa_lexicon;

/* Build the lexicon from the compiled-in VADER 3.3.2 tables. */
sa_error	sa_lexicon_create(sa_lexicon **out);
void		sa_lexicon_destroy(sa_lexicon *lex);
/*
 * User overrides: term is matched after lower-casing, as VADER does.  A
 * term is one token: empty or over 1024 bytes gives SA_ERR_ARGUMENT; white
 * space, invalid UTF-8 or leading/trailing punctuation that tokens always
 * lose ("sick!") gives SA_ERR_SYNTAX; valence must be finite with
 * |valence| <= 1000 (SA_ERR_ARGUMENT).  Removing an absent term is SA_OK.
 * Not thread-safe against concurrent scoring with the same lexicon.
 */
sa_error	sa_lexicon_set(sa_lexicon *lex, const char *term, size_t len, double valence);
sa_error	sa_lexicon_remove(sa_lexicon *lex, const char *term, size_t len);
/* 1 and *valence set when term (already lower case) is present, else 0. */
int			sa_lexicon_lookup(const sa_lexicon *lex, const char *term, size_t len, double *valence);
size_t		sa_lexicon_size(const sa_lexicon *lex);

/* ---------- Workspace (reusable scratch memory, one per thread) ---------- */

typedef struct sa_workspace sa_workspace;

sa_error	sa_workspace_create(sa_workspace **out);
void		sa_workspace_destroy(sa_workspace *ws);

/* ---------- Sentiment (VADER) ---------- */

typedef enum sa_label
{
	SA_LABEL_NEGATIVE = -1,
	SA_LABEL_NEUTRAL = 0,
	SA_LABEL_POSITIVE = 1
} sa_label;

typedef struct sa_sentiment
{
	double		compound;		/* rounded to 4 decimals as Python's round() */
	double		pos;			/* rounded to 3 decimals */
	double		neu;
	double		neg;
	sa_label	label;			/* >= 0.05 positive, <= -0.05 negative */
} sa_sentiment;

const char *sa_label_name(sa_label label);

sa_error	sa_sentiment_score(const sa_lexicon *lex, sa_workspace *ws,
							   const char *text, size_t len, sa_sentiment *out);

/* ---------- Sentiment models ---------- */

/*
 * SA_MODEL_VADER is VADER 3.3.2, exact (sa_sentiment_score()).
 * SA_MODEL_SOCIAL is a trained three-class linear model for short
 * social-media text (models/social.samodel): hashed words and word pairs
 * (negation scope marked) after normalising user names, links, digits and
 * elongated words, "!" and "?", plus VADER's four scores (so lexicon
 * overrides reach it too).  Its sa_sentiment holds probabilities: neg, neu, pos are
 * P(negative), P(neutral), P(positive) (they sum to 1, not rounded),
 * compound = pos - neg in [-1, 1], label = the most probable class.
 */
typedef enum sa_model
{
	SA_MODEL_VADER = 0,
	SA_MODEL_SOCIAL = 1,
	SA_MODEL_MULTILINGUAL = 2,	/* language first: English (and und) to social,
								 * ar de es fr hi it pt to the multilingual
								 * model's slice for it (see sa_language_identify) */
	SA_MODEL_COUNT
} sa_model;

/* "vader", "social", "multilingual"; "unknown" out of range. */
const char *sa_model_name(sa_model model);
/* Model by name (exact, lower case); SA_ERR_ARGUMENT when unknown. */
sa_error	sa_model_from_name(const char *name, size_t len, sa_model *out);
/*
 * The sentiment models' names for a message, from the table of models:
 * "vader (the default), social and multilingual".  Written NUL-terminated
 * into buf; returns its length, 0 (and "") when cap is too small.
 */
size_t		sa_model_names_text(char *buf, size_t cap);

typedef struct sa_model_info
{
	const char *name;			/* "vader", "social", "emotion" */
	const char *kind;			/* "sentiment" or "emotion" */
	int			is_default;		/* 1 for the default sentiment model (VADER) */
	uint32_t	version;		/* model version (trained models: file header) */
	const char *version_string; /* e.g. "social-1-3f2a9c1d": name, version,
								 * first 8 hex digits of the file checksum;
								 * "vader-3.3.2" for VADER */
	uint64_t	checksum;		/* FNV-1a 64 of the model file; 0 for VADER */
	size_t		file_bytes;		/* model file size; 0 for VADER */
} sa_model_info;

sa_error	sa_model_get_info(sa_model model, sa_model_info *out);
/*
 * Every model of the library by index, for listings: the sentiment models
 * in sa_model order, then the emotion model; SA_ERR_ARGUMENT past the end.
 */
sa_error	sa_model_list(size_t i, sa_model_info *out);
sa_error	sa_emotion_model_info(sa_model_info *out);
/*
 * Recompute the checksum of the linked-in model file and compare it with
 * its header (the build already checked it; this is for tests and
 * start-up self-checks).  SA_OK, or SA_ERR_SYNTAX when they differ.
 */
sa_error	sa_model_verify(sa_model model);
sa_error	sa_emotion_model_verify(void);

/* Sentiment of text with the chosen model (VADER: sa_sentiment_score()). */
sa_error	sa_sentiment_score_model(const sa_lexicon *lex, sa_workspace *ws, sa_model model,
									 const char *text, size_t len, sa_sentiment *out);

/* ---------- Explain ---------- */

/*
 * The terms that moved a text's sentiment most, strongest first (by
 * absolute contribution; ties in text order).  VADER: each lexicon token
 * with its valence after all rules (negation, boosters, caps, "but", ...),
 * before the punctuation emphasis and normalisation.  Social: per word the
 * sum of its features' contributions, per word pair ("not happy") its
 * pair feature, and the VADER-score and punctuation inputs as
 * "[vader compound]", "[vader pos]", "[vader neu]", "[vader neg]", "[!]",
 * "[?]"; a contribution is the term's share of log(P(pos) / P(neg)), and
 * all terms plus the model's constant add up to it exactly.  Terms are
 * lower-cased words as the tokeniser splits them, user names as "@user"
 * and links as "<url>"; not NUL-terminated; they point into the workspace
 * and stay valid until its next call.  k may be 0 (nothing written) up to
 * SA_EXPLAIN_MAX_ITEMS; at most k items are written, *n_items gets the
 * count.  SA_ERR_ARGUMENT for NULL lex/ws/n_items, items NULL with k > 0,
 * text NULL with len > 0, k too large or an unknown model.
 */
typedef struct sa_explain_item
{
	const char *term;
	size_t		term_len;
	double		contribution;
} sa_explain_item;

#define SA_EXPLAIN_MAX_ITEMS 256

sa_error	sa_explain(const sa_lexicon *lex, sa_workspace *ws, sa_model model,
					   const char *text, size_t len,
					   sa_explain_item *items, size_t k, size_t *n_items);

/* ---------- Emotion ---------- */

typedef enum sa_emotion
{
	SA_EMOTION_NEUTRAL = 0,
	SA_EMOTION_ANGER,
	SA_EMOTION_DISGUST,
	SA_EMOTION_FEAR,
	SA_EMOTION_JOY,
	SA_EMOTION_SADNESS,
	SA_EMOTION_SURPRISE,
	SA_EMOTION_COUNT,
	SA_EMOTION_NONE = -1		/* not judged: the emotion model reads English
								 * only, and the multilingual model found
								 * another language (emotion_score 0) */
} sa_emotion;

const char *sa_emotion_name(sa_emotion emotion);

/* ---------- Language ---------- */

/*
 * The language of a text: an ISO 639-1 code ("de", "en", ...), or "und"
 * when there is nothing to go on (empty, emoji or punctuation only, fewer
 * than three letters once user names, links, "RT" and digits are left out,
 * or a script the analyser does not place, such as Cyrillic).  Latin-script
 * texts go to a trained model of de, en, es, fr, hi (romanised Hindi), it
 * and pt (models/language.samodel); other scripts decide alone (ar, hi in
 * Devanagari, el, he, th, ko, ja, zh, ka, hy, bn, pa, gu, ta, te, kn, ml,
 * si, lo, my, am, km).  A text mixing scripts goes to its majority script,
 * mixing Latin-script languages to the one with most evidence.  *code is a
 * static string.  SA_ERR_ARGUMENT for a NULL code or text NULL with len > 0;
 * SA_ERR_TOO_LONG above SA_MAX_INPUT_BYTES.  No workspace: thread-safe.
 */
sa_error	sa_language_identify(const char *text, size_t len, const char **code);
sa_error	sa_language_model_info(sa_model_info *out);

/* ---------- Topics ---------- */

typedef struct sa_topics sa_topics;	/* user topic dictionary */

sa_error	sa_topics_create(sa_topics **out);
void		sa_topics_destroy(sa_topics *topics);
/* Add a keyword or phrase for topic_key; weight scales the match. */
sa_error	sa_topics_add(sa_topics *topics, const char *topic_key, size_t key_len,
						  const char *phrase, size_t phrase_len, double weight);

typedef struct sa_topic_match
{
	const char *key;			/* valid until the workspace's next call or
								 * the dictionary is destroyed */
	size_t		key_len;
	double		weight;
	double		sentiment;		/* compound of the clause around the match */
} sa_topic_match;

/* ---------- Influence ---------- */

typedef struct sa_engagement
{
	int64_t		followers;		/* negative means unknown */
	int64_t		likes;
	int64_t		shares;
	int64_t		replies;
} sa_engagement;

double		sa_influence_weight(const sa_engagement *eng);

/* ---------- Full analysis ---------- */

typedef struct sa_analysis
{
	sa_sentiment sentiment;
	sa_emotion	emotion;
	double		emotion_score;	/* probability of that emotion, 0..1 */
	size_t		n_topics;
	sa_topic_match topics[SA_MAX_TOPICS];
	float		embedding[SA_EMBEDDING_DIMS];	/* L2-normalised */
	const char *language;		/* sa_language_identify()'s code (static) */
} sa_analysis;

/* topics may be NULL (hashtags only).  Sentiment by VADER. */
sa_error	sa_analyze(const sa_lexicon *lex, const sa_topics *topics, sa_workspace *ws,
					   const char *text, size_t len, sa_analysis *out);

/*
 * The same with the sentiment model chosen: out->sentiment and each topic's
 * clause sentiment come from that model (social: compound = P(pos) -
 * P(neg), see sa_model).  With SA_MODEL_MULTILINGUAL the emotion is only
 * judged for English and "und" texts, else it is SA_EMOTION_NONE with
 * emotion_score 0; the clauses of topics are scored in the text's language.
 */
sa_error	sa_analyze_model(const sa_lexicon *lex, const sa_topics *topics, sa_workspace *ws,
							 sa_model model, const char *text, size_t len, sa_analysis *out);

#ifdef __cplusplus
}
#endif

#endif							/* SENTIMENT_ANALYZER_H */
