/*
 * fuzz_sentiment.c - libFuzzer target: any byte string is scored without
 * crashing (ASan/UBSan catch memory and UB errors), within the documented
 * ranges; scoring it again on the reused workspace gives the same result;
 * and the ASCII fast path yields exactly the tokens and scores of the
 * general UTF-8 path.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer.h"
#include "workspace_internal.h"

static sa_lexicon *lex;
static sa_workspace *ws;
static sa_workspace *ws_general;

static int
in_unit(double x)
{
	return isfinite(x) && x >= 0.0 && x <= 1.0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sa_sentiment a,
				b;
	sa_error	err;

	if (lex == NULL)
	{
		if (sa_lexicon_create(&lex) != SA_OK || sa_workspace_create(&ws) != SA_OK ||
			sa_workspace_create(&ws_general) != SA_OK)
			abort();
		ws_general->no_fast_path = true;
	}
	err = sa_sentiment_score(lex, ws, (const char *) data, size, &a);
	if (err != SA_OK)
		abort();				/* fuzz inputs are far below the cap */
	if (!isfinite(a.compound) || a.compound < -1.0 || a.compound > 1.0)
		abort();
	if (!in_unit(a.pos) || !in_unit(a.neu) || !in_unit(a.neg))
		abort();
	/* the three shares are rounded ratios of one total */
	if (a.pos + a.neu + a.neg != 0.0 && fabs(a.pos + a.neu + a.neg - 1.0) > 0.0021)
		abort();
	if ((a.label == SA_LABEL_POSITIVE) != (a.compound >= 0.05) ||
		(a.label == SA_LABEL_NEGATIVE) != (a.compound <= -0.05))
		abort();
	err = sa_sentiment_score(lex, ws, (const char *) data, size, &b);
	if (err != SA_OK || a.compound != b.compound || a.pos != b.pos || a.neu != b.neu ||
		a.neg != b.neg || a.label != b.label)
		abort();

	/* the general tokeniser must agree token by token */
	err = sa_sentiment_score(lex, ws_general, (const char *) data, size, &b);
	if (err != SA_OK || a.compound != b.compound || a.pos != b.pos || a.neu != b.neu ||
		a.neg != b.neg || a.label != b.label || ws->ntok != ws_general->ntok)
		abort();
	for (size_t i = 0; i < ws->ntok; i++)
	{
		const sa_vtoken *x = sa_ws_tokens(ws) + i;
		const sa_vtoken *y = sa_ws_tokens(ws_general) + i;

		if (x->len != y->len || x->flags != y->flags || x->wid != y->wid ||
			x->lexval != y->lexval ||
			memcmp(ws->lower.data + x->off, ws_general->lower.data + y->off, x->len) != 0)
			abort();
	}
	return 0;
}
