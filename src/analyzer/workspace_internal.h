/*
 * workspace_internal.h - the reusable scratch memory behind sa_workspace.
 *
 * Buffers grow to the largest text seen and are kept, so scoring a stream
 * of texts does not allocate once warmed up (a 1 MB text needs about 10 MB).
 * After a text that needed more than SA_WS_KEEP_BYTES the buffers are released at the start of the next
 * call, so one huge input does not pin tens of megabytes in a long-lived
 * worker.
 *
 * After a successful sa_sentiment_score() the VADER tokens of that text are
 * available to other modules until the next call: ws->ntok sa_vtoken in
 * ws->toks, each pointing into ws->lower (lower-cased UTF-8, not
 * NUL-terminated).  Other modules keep their own scratch memory either in
 * ws->ext[] (growable with sa_buf_reserve(), one slot per module as listed
 * in sa_ws_ext_slot) or behind ws->analysis: a module-owned object created
 * on first use and released by sa_workspace_destroy() through
 * ws->analysis_free (so this file needs no knowledge of its type):
 *
 *   if (ws->analysis == NULL) {
 *       ... create sc ...;
 *       ws->analysis = sc;
 *       ws->analysis_free = my_destroy;   // void my_destroy(void *)
 *   }
 */
#ifndef SA_WORKSPACE_INTERNAL_H
#define SA_WORKSPACE_INTERNAL_H

#include "analyzer.h"
#include "text_internal.h"

#define SA_WS_KEEP_BYTES ((size_t) 24 * 1024 * 1024)

/* Token flags beyond the lexicon's SA_W_* bits (lexicon_internal.h). */
#define SA_T_UPPER		0x10	/* Python isupper() of the token */
#define SA_T_NT			0x20	/* lower-cased token contains "n't" */

typedef struct sa_vtoken
{
	uint32_t	off;			/* lower-cased text at ws->lower.data + off */
	uint32_t	len;
	double		lexval;			/* valence when flags & SA_W_LEX */
	uint8_t		flags;			/* SA_W_* | SA_T_* */
	uint8_t		wid;			/* sa_word_id */
} sa_vtoken;

typedef enum sa_ws_ext_slot
{
	SA_WS_EXT_EMOTION = 0,
	SA_WS_EXT_TOPICS,
	SA_WS_EXT_EMBEDDING,
	SA_WS_EXT_ANALYZE,
	SA_WS_EXT_SPARE1,
	SA_WS_EXT_SPARE2,
	SA_WS_EXT_COUNT
} sa_ws_ext_slot;

struct sa_workspace
{
	sa_buf		text;			/* text after emoji replacement (non-ASCII input) */
	sa_buf		lower;			/* lower-cased tokens, back to back */
	sa_buf		scratch;		/* ICU conversions */
	sa_buf		toks;			/* sa_vtoken[ntok] */
	sa_buf		vals;			/* double[ntok], the valences */
	sa_buf		but;			/* but rule: heap links per position */
	sa_buf		butcls;			/* but rule: positions grouped by value */
	sa_buf		lexpos;			/* uint32_t[nlex]: indexes of lexicon words */
	size_t		ntok;
	size_t		nlex;
	sa_buf		ext[SA_WS_EXT_COUNT];
	bool		no_fast_path;	/* tests: tokenise ASCII the general way */
	void	   *analysis;		/* owned by sa_analyze()'s modules */
	void		(*analysis_free) (void *analysis);
	void	   *model_scratch;	/* trained models' own tokens (model.c), apart
								 * from sa_analyze()'s: topics score clauses
								 * while those are in use */
	void		(*model_scratch_free) (void *scratch);
};

static inline sa_vtoken *
sa_ws_tokens(sa_workspace *ws)
{
	return (sa_vtoken *) ws->toks.data;
}

/*
 * VADER's "but" rule on valences val[0..n) with the first "but" at index b
 * (< n), in place; exposed for the tests and fuzz targets that compare it
 * with a literal list simulation.
 */
extern sa_error sa_vader_but_rule(sa_workspace *ws, double *val, size_t n, size_t b);

/* Python's round(x, digits) for digits 3 or 4 (exposed for the tests). */
extern double sa_vader_round(double x, int digits);

/* Release buffers that grew past SA_WS_KEEP_BYTES (called before each text). */
extern void sa_workspace_trim(sa_workspace *ws);

#endif							/* SA_WORKSPACE_INTERNAL_H */
