/*
 * fuzz_sentiment.c - libFuzzer target: any byte string is scored without
 * crashing (ASan/UBSan catch memory and UB errors), within the documented
 * ranges; scoring it again on the reused workspace gives the same result;
 * the ASCII fast path yields exactly the tokens and scores of the general
 * UTF-8 path; and the tokens equal those of a plain code-point-by-code-point
 * rendering of VADER.md steps 1 and 2 written here (no byte tricks).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer.h"
#include "lexicon_internal.h"
#include "text_internal.h"
#include "workspace_internal.h"

static sa_lexicon *lex;
static sa_workspace *ws;
static sa_workspace *ws_general;

static int
in_unit(double x)
{
	return isfinite(x) && x >= 0.0 && x <= 1.0;
}

/* Steps 1 and 2 on code points; returns 0 when ws's tokens differ. */
static int
same_as_plain_tokens(const uint8_t *data, size_t size, sa_workspace *w)
{
	/* a code point becomes at most a 40-character description and a space */
	static uint32_t fixed[4096 * 48 + 16];
	uint32_t   *cps = size <= 4096 ? fixed : malloc((size * 48 + 16) * sizeof(uint32_t));
	size_t		n = 0,
				pos = 0,
				tok = 0;
	int			prev_space = 1,
				ok = 1;
	sa_buf		enc = {0},
				low = {0},
				scratch = {0};

	if (cps == NULL)
		abort();
	while (pos < size)
	{
		uint32_t	cp = sa_utf8_next(data, size, &pos);
		const char *d;
		size_t		dlen,
					dpos = 0;

		if (cp >= 0x80 && (d = sa_emoji_description(cp, &dlen)) != NULL)
		{
			if (!prev_space)
				cps[n++] = ' ';
			while (dpos < dlen)
				cps[n++] = sa_utf8_next((const unsigned char *) d, dlen, &dpos);
			prev_space = 0;
		}
		else
		{
			cps[n++] = cp;
			prev_space = cp == ' ';
		}
	}
	for (size_t i = 0; i < n && ok;)
	{
		size_t		start,
					end,
					a,
					b;

		if (sa_is_space(cps[i]))
		{
			i++;
			continue;
		}
		start = i;
		while (i < n && !sa_is_space(cps[i]))
			i++;
		end = i;
		a = start;
		b = end;
		while (a < b && sa_is_ascii_punct(cps[a]))
			a++;
		while (b > a && sa_is_ascii_punct(cps[b - 1]))
			b--;
		if (b - a <= 2)
		{
			a = start;
			b = end;
		}
		enc.len = low.len = 0;
		if (sa_buf_reserve(&enc, (b - a) * 4) != 0)
			abort();
		for (size_t k = a; k < b; k++)
			enc.len += sa_utf8_put(enc.data + enc.len, cps[k]);
		if (sa_text_lower(&low, enc.data, enc.len, &scratch) != 0)
			abort();
		if (tok >= w->ntok)
			ok = 0;
		else
		{
			const sa_vtoken *t = sa_ws_tokens(w) + tok;

			ok = t->len == low.len && memcmp(w->lower.data + t->off, low.data, low.len) == 0 &&
				((t->flags & SA_T_UPPER) != 0) == sa_text_isupper(enc.data, enc.len);
		}
		tok++;
	}
	if (tok != w->ntok)
		ok = 0;
	if (cps != fixed)
		free(cps);
	sa_buf_free(&enc);
	sa_buf_free(&low);
	sa_buf_free(&scratch);
	return ok;
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

	if (!same_as_plain_tokens(data, size, ws))
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
