/*
 * explain.c - sa_explain(): which words moved a text's sentiment, and by
 * how much, for VADER, the social model and the multilingual model (the
 * social model for English, else the slice of the text's language).
 *
 * VADER's valences after its rules are left in the workspace by
 * sa_sentiment_score() (ws->vals, one per VADER token); the social model's
 * contributions are recomputed feature by feature from the same table the
 * scorer sums, with each feature's origin kept by the extractor.  Only
 * workspace memory is used; the top k are picked by insertion into the
 * caller's array, O(terms * k), so k is capped (SA_EXPLAIN_MAX_ITEMS).
 */
#include <math.h>
#include <string.h>

#include "models_internal.h"
#include "workspace_internal.h"

/* Insert (term, c) into the top-k list items[0..*n), by |c|, stable. */
static void
offer(sa_explain_item *items, size_t k, size_t *n, const char *term, size_t len, double c)
{
	size_t		pos;

	if (c == 0.0 || k == 0)
		return;
	if (*n == k && fabs(c) <= fabs(items[k - 1].contribution))
		return;
	pos = *n < k ? (*n)++ : k - 1;
	while (pos > 0 && fabs(items[pos - 1].contribution) < fabs(c))
	{
		items[pos] = items[pos - 1];
		pos--;
	}
	items[pos].term = term;
	items[pos].term_len = len;
	items[pos].contribution = c;
}

static sa_error
explain_vader(const sa_lexicon *lex, sa_workspace *ws, const char *text, size_t len,
			  sa_explain_item *items, size_t k, size_t *n)
{
	sa_sentiment s;
	sa_error	err = sa_sentiment_score(lex, ws, text, len, &s);
	const sa_vtoken *toks = sa_ws_tokens(ws);
	const double *val = (const double *) ws->vals.data;

	if (err != SA_OK)
		return err;
	for (size_t i = 0; i < ws->ntok; i++)
		offer(items, k, n, ws->lower.data + toks[i].off, toks[i].len, val[i]);
	return SA_OK;
}

/* How the social model sees token i (as features.c does): its term. */
#define T_RAW	0
#define T_USER	1
#define T_URL	2
#define T_SKIP	3				/* inside a link */

static void
term_of(const sa_scratch *sc, const uint32_t *info, size_t i, const char **term, size_t *len)
{
	switch (info[i] & 3)
	{
		case T_USER:
			*term = "@user";
			*len = 5;
			break;
		case T_URL:
			*term = "<url>";
			*len = 5;
			break;
		default:
			*term = sc->lower.data + sc->toks[i].off;
			*len = sc->toks[i].len;
			break;
	}
}

static const char *const fixed_terms[] = {
	"[vader compound]", "[vader pos]", "[vader neu]", "[vader neg]", "[!]", "[?]",
};

/* Per token i: its previous kept token << 2 | how the model sees it (T_*). */
static void
token_kinds(const sa_scratch *sc, const sa_feat_layout *layout, const char *text, size_t len,
			uint32_t *info)
{
	size_t		link_end = 0,
				prev = 0;

	for (size_t i = 0; i < sc->ntoks; i++)
	{
		const sa_token *t = &sc->toks[i];
		uint32_t	kind = T_RAW;

		if ((layout->flags & SA_FEAT_SOCIAL) && t->src < link_end)
			kind = T_SKIP;
		else if ((layout->flags & SA_FEAT_SOCIAL) && (t->flags & SA_TOK_ASCII) &&
				 t->src < len && sa_link_at(text, len, t->src))
		{
			kind = T_URL;
			for (link_end = t->src; link_end < len && !sa_is_space((unsigned char) text[link_end]);
				 link_end++)
				;
		}
		else if ((layout->flags & SA_FEAT_SOCIAL) && (t->flags & SA_TOK_MENTION))
			kind = T_USER;
		info[i] = (uint32_t) (prev << 2) | kind;
		if (kind != T_SKIP)
			prev = i;
	}
}

/*
 * Each feature's share of logit(positive) - logit(negative), added to the
 * slot of its origin: word i at i, bigram ending at token i at nt + i, the
 * fixed inputs after them.
 */
static void
sum_contributions(const sa_model_data *m, const sa_scratch *sc, size_t nt, double *sum)
{
	double		root = (m->flags & SA_FEAT_NORM) && sc->nfeats > 0 ? sqrt((double) sc->nfeats) : 1.0;

	for (size_t f = 0; f < sc->nfeats; f++)
	{
		const int8_t *w = m->table + (size_t) sc->feats[f] * m->lanes;
		double		c = (m->scale[2] * w[2] - m->scale[0] * w[0]) / root;
		uint32_t	kind = sc->forigin[f] >> SA_FO_SHIFT;
		uint32_t	idx = sc->forigin[f] & SA_FO_MASK;

		switch (kind)
		{
			case SA_FO_WORD:
			case SA_FO_CHAR:
				sum[idx] += c;
				break;
			case SA_FO_BIGRAM:
				sum[nt + idx] += c;
				break;
			case SA_FO_VADER:
				sum[2 * nt + idx] += c;
				break;
			case SA_FO_LANG:
				break;			/* the language's constant */
			default:
				sum[2 * nt + 4 + idx] += c;
				break;
		}
	}
}

/*
 * Spell out the pairs among the top items (term NULL, term_len the index of
 * their second token): "first second", in workspace memory.
 */
static sa_error
spell_pairs(sa_workspace *ws, const sa_scratch *sc, const uint32_t *info,
			sa_explain_item *items, size_t n)
{
	size_t		bytes = 0;
	char	   *out;

	for (size_t j = 0; j < n; j++)
		if (items[j].term == NULL)
		{
			size_t		i = items[j].term_len;

			bytes += sc->toks[info[i] >> 2].len + 1 + sc->toks[i].len + 10;
		}
	ws->ext[SA_WS_EXT_SPARE2].len = 0;
	if (sa_buf_reserve(&ws->ext[SA_WS_EXT_SPARE2], bytes + 1) != 0)
		return SA_ERR_NOMEM;
	out = ws->ext[SA_WS_EXT_SPARE2].data;
	for (size_t j = 0; j < n; j++)
		if (items[j].term == NULL)
		{
			size_t		i = items[j].term_len;
			const char *a,
					   *b;
			size_t		al,
						bl;

			term_of(sc, info, info[i] >> 2, &a, &al);
			term_of(sc, info, i, &b, &bl);
			items[j].term = out;
			memcpy(out, a, al);
			out[al] = ' ';
			memcpy(out + al + 1, b, bl);
			items[j].term_len = al + 1 + bl;
			out += items[j].term_len;
		}
	return SA_OK;
}

/* A linear model's explanation: per-term sums of its features' shares. */
static sa_error
explain_social(const sa_lexicon *lex, sa_workspace *ws, const char *text, size_t len,
			   sa_explain_item *items, size_t k, size_t *n, sa_scorer scorer)
{
	const sa_model_data *m = scorer.data;
	sa_feat_layout layout = sa_model_layout(m);
	sa_sentiment vader;
	sa_scratch *sc;
	double	   *sum;
	uint32_t   *info;			/* per token: previous kept token << 2 | T_* */
	size_t		nt,
				nslots;
	sa_error	err;

	err = sa_sentiment_score(lex, ws, text, len, &vader);
	if (err == SA_OK)
		err = sa_model_scratch(ws, &sc);
	if (err == SA_OK)
		err = sa_tokenize(sc, text, len);
	if (err == SA_OK)
		err = scorer.slice < 0 ? sa_features(sc, &layout, text, len, &vader, true)
			: sa_ml_features(sc, &layout, (sa_lang) scorer.slice, text, len, &vader, true);
	if (err != SA_OK)
		return err;

	nt = sc->ntoks;
	nslots = 2 * nt + 6;
	ws->ext[SA_WS_EXT_SPARE1].len = 0;
	if (nt >= (size_t) 1 << 30 ||
		sa_buf_reserve(&ws->ext[SA_WS_EXT_SPARE1],
					   nslots * sizeof(double) + nt * sizeof(uint32_t)) != 0)
		return SA_ERR_NOMEM;
	sum = (double *) ws->ext[SA_WS_EXT_SPARE1].data;
	info = (uint32_t *) (sum + nslots);
	memset(sum, 0, nslots * sizeof(double));
	token_kinds(sc, &layout, text, len, info);
	sum_contributions(m, sc, nt, sum);

	/* words and the pairs ending at them, in text order, then the inputs */
	for (size_t i = 0; i < nt; i++)
	{
		const char *term;
		size_t		tl;

		term_of(sc, info, i, &term, &tl);
		offer(items, k, n, term, tl, sum[i]);
		/* a pair's term is made below, once it is among the top k */
		offer(items, k, n, NULL, i, sum[nt + i]);
	}
	for (size_t j = 0; j < 6; j++)
		offer(items, k, n, fixed_terms[j], strlen(fixed_terms[j]), sum[2 * nt + j]);
	return spell_pairs(ws, sc, info, items, *n);
}

sa_error
sa_explain(const sa_lexicon *lex, sa_workspace *ws, sa_model model,
		   const char *text, size_t len,
		   sa_explain_item *items, size_t k, size_t *n_items)
{
	const sa_model_def *def = sa_model_def_of(model);
	sa_error	err;

	if (n_items != NULL)
		*n_items = 0;
	if (lex == NULL || ws == NULL || n_items == NULL || (items == NULL && k > 0) ||
		(text == NULL && len > 0) || k > SA_EXPLAIN_MAX_ITEMS)
		return SA_ERR_ARGUMENT;
	if (len > SA_MAX_INPUT_BYTES)
		return SA_ERR_TOO_LONG;
	if (def == NULL)
		return SA_ERR_ARGUMENT;
	if (text == NULL)
		text = "";
	if (def->data == NULL)
		err = explain_vader(lex, ws, text, len, items, k, n_items);
	else
		err = explain_social(lex, ws, text, len, items, k, n_items,
							 sa_model_scorer(def, def->route != NULL
											 ? sa_lang_identify(text, len) : SA_LANG_UND));
	if (err != SA_OK)
		*n_items = 0;
	return err;
}
