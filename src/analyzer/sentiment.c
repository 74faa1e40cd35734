/*
 * sentiment.c - VADER 3.3.2 sentiment scores, reproduced exactly as
 * ../shared/VADER.md states the procedure (Hutto & Gilbert, ICWSM 2014).
 *
 * One text is scored in a few linear passes over workspace buffers:
 *   1. emoji code points are replaced by their descriptions, and invalid
 *      UTF-8 by U+FFFD, in a copy of the text (skipped when there is
 *      neither; the map has no ASCII entries, which the generator checks);
 *   2. the text is split on Python white space into tokens; each token is
 *      punctuation-stripped, lower-cased and looked up once, keeping only
 *      what the rules need (valence, negation/booster flags, word id);
 *   3. one valence per token from a window of at most three tokens back and
 *      two ahead;
 *   4. the "but" rule, the punctuation amplifier and the final scores.
 * The arithmetic is done in the same order as the reference so that the
 * doubles, and so the rounded scores, come out identical.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer.h"
#include "lexicon_internal.h"
#include "text_internal.h"
#include "workspace_internal.h"

#define B_INCR		0.293
#define B_DECR		(-0.293)
#define C_INCR		0.733
#define N_SCALAR	(-0.74)
#define ALPHA		15.0

#define NO_POS		UINT32_MAX
/* up to this many tokens the "but" rule runs as a literal list walk */
#define SA_BUT_LITERAL_MAX 48

/* ---------- errors and labels ---------- */

const char *
sa_strerror(sa_error err)
{
	switch (err)
	{
		case SA_OK:
			return "success";
		case SA_ERR_NOMEM:
			return "out of memory";
		case SA_ERR_TOO_LONG:
			return "text longer than the analyser's input limit";
		case SA_ERR_ARGUMENT:
			return "invalid argument";
		case SA_ERR_SYNTAX:
			return "malformed lexicon, override or dictionary entry";
	}
	return "unknown error";
}

const char *
sa_label_name(sa_label label)
{
	switch (label)
	{
		case SA_LABEL_NEGATIVE:
			return "negative";
		case SA_LABEL_NEUTRAL:
			return "neutral";
		case SA_LABEL_POSITIVE:
			return "positive";
	}
	return "unknown";
}

/* ---------- workspace ---------- */

sa_error
sa_workspace_create(sa_workspace **out)
{
	if (out == NULL)
		return SA_ERR_ARGUMENT;
	*out = calloc(1, sizeof(sa_workspace));
	return *out == NULL ? SA_ERR_NOMEM : SA_OK;
}

static void
free_all(sa_workspace *ws)
{
	sa_buf_free(&ws->text);
	sa_buf_free(&ws->lower);
	sa_buf_free(&ws->scratch);
	sa_buf_free(&ws->toks);
	sa_buf_free(&ws->vals);
	sa_buf_free(&ws->but);
	sa_buf_free(&ws->butcls);
	sa_buf_free(&ws->lexpos);
	ws->ntok = 0;
	ws->nlex = 0;
}

void
sa_workspace_destroy(sa_workspace *ws)
{
	if (ws == NULL)
		return;
	free_all(ws);
	for (int i = 0; i < SA_WS_EXT_COUNT; i++)
		sa_buf_free(&ws->ext[i]);
	if (ws->analysis != NULL && ws->analysis_free != NULL)
		ws->analysis_free(ws->analysis);
	if (ws->model_scratch != NULL && ws->model_scratch_free != NULL)
		ws->model_scratch_free(ws->model_scratch);
	free(ws);
}

void
sa_workspace_trim(sa_workspace *ws)
{
	size_t		total = ws->text.cap + ws->lower.cap + ws->scratch.cap +
		ws->toks.cap + ws->vals.cap + ws->but.cap + ws->butcls.cap + ws->lexpos.cap;

	if (total > SA_WS_KEEP_BYTES)
		free_all(ws);
}

/* ---------- step 1: emoji ---------- */

/*
 * Offset of the first code point step 1 would change: a mapped emoji or an
 * ill-formed sequence (to become U+FFFD); len when there is none, and the
 * text can be tokenised in place.
 */
static size_t
first_rewrite(const char *text, size_t len)
{
	const unsigned char *p = (const unsigned char *) text;
	size_t		pos = 0;

	while (pos < len)
	{
		size_t		start = pos;
		uint32_t	cp;
		size_t		dlen;

		if (p[pos] < 0x80)
		{
			pos++;
			continue;
		}
		cp = sa_utf8_next(p, len, &pos);
		if ((cp == SA_REPLACEMENT_CHAR && pos - start != 3) ||
			sa_emoji_description(cp, &dlen) != NULL)
			return start;
	}
	return len;
}

/*
 * Copy text into ws->text with each mapped code point replaced by its
 * description: a space goes before it unless the previous output character
 * was an ASCII space, nothing after it.  Invalid UTF-8 becomes U+FFFD here,
 * so everything downstream sees valid UTF-8.  from is where the first
 * change is (first_rewrite()); the bytes before it are copied as they are.
 */
static sa_error
replace_emoji(sa_workspace *ws, const char *text, size_t len, size_t from)
{
	const unsigned char *p = (const unsigned char *) text;
	sa_buf	   *out = &ws->text;
	size_t		pos = from;
	bool		prev_space = (from == 0 || text[from - 1] == ' ');

	out->len = 0;
	/* An ill-formed byte can become 3 bytes (U+FFFD). */
	if (sa_buf_reserve(out, 3 * len + 8) != 0)
		return SA_ERR_NOMEM;
	memcpy(out->data, text, from);
	out->len = from;
	while (pos < len)
	{
		uint32_t	cp = sa_utf8_next(p, len, &pos);
		const char *desc;
		size_t		dlen;

		if (cp >= 0x80 && (desc = sa_emoji_description(cp, &dlen)) != NULL)
		{
			if (sa_buf_reserve(out, dlen + 1 + 3 * (len - pos) + 8) != 0)
				return SA_ERR_NOMEM;
			if (!prev_space)
				out->data[out->len++] = ' ';
			memcpy(out->data + out->len, desc, dlen);
			out->len += dlen;
			prev_space = false;
		}
		else
		{
			out->len += sa_utf8_put(out->data + out->len, cp);
			prev_space = (cp == ' ');
		}
	}
	return SA_OK;
}

/* ---------- step 2: tokens ---------- */

typedef struct scan_state
{
	size_t		n_upper;		/* tokens with isupper() */
	size_t		but_index;		/* first "but", or SIZE_MAX */
	size_t		n_excl;			/* '!' in the text */
	size_t		n_quest;		/* '?' in the text */
} scan_state;

/* Byte classes for the scanner. */
#define BC_WORD		0			/* any other ASCII byte */
#define BC_SPACE	1			/* Python white space: \t-\r, 0x1C-0x1F, ' ' */
#define BC_EXCL		2			/* '!' */
#define BC_QUEST	3			/* '?' */
#define BC_HIGH		4			/* >= 0x80: decode to decide */

static const uint8_t byte_class[256] = {
	['\t'] = BC_SPACE,['\n'] = BC_SPACE,['\v'] = BC_SPACE,['\f'] = BC_SPACE,
	['\r'] = BC_SPACE,[0x1C] = BC_SPACE,[0x1D] = BC_SPACE,[0x1E] = BC_SPACE,
	[0x1F] = BC_SPACE,[' '] = BC_SPACE,['!'] = BC_EXCL,['?'] = BC_QUEST,
#define H4(b) [b] = BC_HIGH,[b + 1] = BC_HIGH,[b + 2] = BC_HIGH,[b + 3] = BC_HIGH
#define H16(b) H4(b), H4(b + 4), H4(b + 8), H4(b + 12)
	H16(0x80), H16(0x90), H16(0xA0), H16(0xB0), H16(0xC0), H16(0xD0), H16(0xE0), H16(0xF0),
#undef H16
#undef H4
};

/* string.punctuation membership for every byte (none >= 0x80). */
static const bool punct_byte[256] = {
	['!'] = 1,['"'] = 1,['#'] = 1,['$'] = 1,['%'] = 1,['&'] = 1,['\''] = 1,['('] = 1,
	[')'] = 1,['*'] = 1,['+'] = 1,[','] = 1,['-'] = 1,['.'] = 1,['/'] = 1,[':'] = 1,
	[';'] = 1,['<'] = 1,['='] = 1,['>'] = 1,['?'] = 1,['@'] = 1,['['] = 1,['\\'] = 1,
	[']'] = 1,['^'] = 1,['_'] = 1,['`'] = 1,['{'] = 1,['|'] = 1,['}'] = 1,['~'] = 1,
};

/* Room for one more token (and its slot in the lexicon-token list). */
static inline int
reserve_token(sa_workspace *ws)
{
	if (ws->toks.len + sizeof(sa_vtoken) > ws->toks.cap &&
		sa_buf_reserve(&ws->toks, sizeof(sa_vtoken)) != 0)
		return -1;
	if ((ws->ntok + 1) * sizeof(uint32_t) > ws->lexpos.cap &&
		sa_buf_reserve(&ws->lexpos, (ws->ntok + 1) * sizeof(uint32_t)) != 0)
		return -1;
	return 0;
}

/*
 * Append a token whose lower-cased text is ws->lower.data[off .. off+len)
 * with the given hash; room for it must be reserved.
 */
static inline void
push_token(const sa_lexicon *lex, sa_workspace *ws, scan_state *st,
		   size_t off, size_t len, uint32_t hash, uint8_t flags)
{
	sa_vtoken  *tok = (sa_vtoken *) ws->toks.data + ws->ntok;
	const sa_lexentry *e = sa_lexicon_find(lex, ws->lower.data + off, len, hash);

	tok->off = (uint32_t) off;
	tok->len = (uint32_t) len;
	tok->lexval = 0.0;
	tok->wid = SA_WID_NONE;
	if (e != NULL)
	{
		flags |= e->flags;
		tok->wid = e->wid;
		tok->lexval = e->valence;
		if (e->wid == SA_WID_BUT && st->but_index == SIZE_MAX)
			st->but_index = ws->ntok;
	}
	tok->flags = flags;
	if (flags & SA_T_UPPER)
		st->n_upper++;
	/* only lexicon words can get a valence: list them, without a branch */
	((uint32_t *) ws->lexpos.data)[ws->nlex] = (uint32_t) ws->ntok;
	ws->nlex += (flags & SA_W_LEX) != 0;
	ws->ntok++;
	ws->toks.len += sizeof(sa_vtoken);
}

/*
 * Look up, classify and append the token s[0 .. len).  The caller has
 * reserved room for one more token and, for ASCII tokens, len more bytes
 * of lower-cased text.
 */
static inline sa_error
add_token(const sa_lexicon *lex, sa_workspace *ws, scan_state *st,
		  const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *) s;
	size_t		a = 0,
				b = len;
	const char *t;
	size_t		tl;
	size_t		off = ws->lower.len;
	uint32_t	hash = SA_HASH_INIT;
	uint8_t		flags = 0;
	const char *low;

	/* Strip ASCII punctuation, unless that leaves 2 code points or fewer. */
	while (a < b && punct_byte[u[a]])
		a++;
	while (b > a && punct_byte[u[b - 1]])
		b--;
	if (b - a <= 2 || (b - a <= 8 && sa_text_cplen(s + a, b - a) <= 2))
	{
		a = 0;
		b = len;
	}
	t = s + a;
	tl = b - a;

	for (size_t i = 0; i < tl; i++)
		if (u[a + i] >= 0x80)
			goto non_ascii;

	/*
	 * ASCII: lower-case, hash and isupper() in one branch-free pass; "n't"
	 * is looked for only when the token has an apostrophe at all.
	 */
	{
		unsigned	any_upper = 0,
					any_lower = 0,
					any_apos = 0;
		char	   *d = ws->lower.data + off;

		for (size_t i = 0; i < tl; i++)
		{
			unsigned	c = (unsigned char) t[i];
			unsigned	up = (c - 'A') < 26u;

			any_upper |= up;
			any_lower |= (c - 'a') < 26u;
			any_apos |= c == '\'';
			c += up << 5;
			d[i] = (char) c;
			hash = SA_HASH_STEP(hash, c);
		}
		if (any_apos)
			for (size_t i = 2; i < tl; i++)
				if (d[i] == 't' && d[i - 1] == '\'' && d[i - 2] == 'n')
				{
					flags |= SA_T_NT;
					break;
				}
		ws->lower.len += tl;
		if (any_upper && !any_lower)
			flags |= SA_T_UPPER;
		goto lookup;
	}

non_ascii:
	if (sa_text_lower(&ws->lower, t, tl, &ws->scratch) != 0)
		return SA_ERR_NOMEM;
	if (ws->lower.len > UINT32_MAX)
		return SA_ERR_TOO_LONG;
	low = ws->lower.data + off;
	tl = ws->lower.len - off;
	hash = sa_lex_hash(low, tl);
	for (size_t i = 0; i + 3 <= tl; i++)
		if (low[i] == 'n' && low[i + 1] == '\'' && low[i + 2] == 't')
		{
			flags |= SA_T_NT;
			break;
		}
	if (sa_text_isupper(s + a, b - a))
		flags |= SA_T_UPPER;

lookup:
	push_token(lex, ws, st, off, tl, hash, flags);
	return SA_OK;
}

/*
 * Is the code point starting at p[pos] (a byte >= 0x80) white space?  *next
 * gets the position after it.  Non-ASCII white space starts with C2, E1, E2
 * or E3, so other bytes are passed one at a time without decoding (the text
 * is valid UTF-8 here, and a continuation byte is never one of those four).
 */
static inline bool
high_space(const unsigned char *p, size_t len, size_t pos, size_t *next)
{
	unsigned char c = p[pos];

	if (c != 0xC2 && (c < 0xE1 || c > 0xE3))
	{
		*next = pos + 1;
		return false;
	}
	*next = pos;
	return sa_is_space(sa_utf8_next(p, len, next));
}

/*
 * Push the ASCII token [start, end), lower-cased in lower, hashed whole
 * (h_full) and from its first to its last non-punctuation byte (first,
 * last, h_last; first SIZE_MAX when it has none): stripped unless that
 * leaves 2 characters or fewer, as VADER does.
 */
static inline __attribute__((always_inline)) void
push_ascii_token(const sa_lexicon *lex, sa_workspace *ws, scan_state *st, const char *lower,
				 size_t start, size_t end, size_t first, size_t last,
				 uint32_t h_full, uint32_t h_last, unsigned any_apos, bool upper_only)
{
	uint8_t		flags = 0;
	size_t		off,
				tl;
	uint32_t	hash;

	if (first == SIZE_MAX || last + 1 - first <= 2)
	{
		off = start;
		tl = end - start;
		hash = h_full;
	}
	else
	{
		off = first;
		tl = last + 1 - first;
		hash = h_last;
	}
	if (any_apos)
		for (size_t i = off + 2; i < off + tl; i++)
			if (lower[i] == 't' && lower[i - 1] == '\'' && lower[i - 2] == 'n')
			{
				flags |= SA_T_NT;
				break;
			}
	if (upper_only)
		flags |= SA_T_UPPER;
	push_token(lex, ws, st, off, tl, hash, flags);
}

/*
 * The tokeniser, fused with the per-token work for the common case.  s is
 * valid UTF-8 (step 1 made sure).  Each byte is read once: ASCII bytes are
 * lower-cased into ws->lower at the same offset and hashed twice, over the
 * whole token and from its first non-punctuation byte on (snapshotted at
 * every non-punctuation byte), so the stripped token's hash is known when
 * the token ends.  Case and "n't" need no stripping: punctuation has no
 * case, and an "n't" (letters at both ends) always lies inside the stripped
 * part.  A token with non-ASCII bytes is handed to add_token(), which
 * appends its ICU-lowered text after the mirrored region.
 */
static sa_error
tokenize_fast(const sa_lexicon *lex, sa_workspace *ws, scan_state *st,
			  const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *) s;
	char	   *lower;
	size_t		pos = 0;
	size_t		n_excl = 0,
				n_quest = 0;
	sa_error	err;

	if (sa_buf_reserve(&ws->lower, len + 16) != 0 ||
		sa_buf_reserve(&ws->toks, 64 * sizeof(sa_vtoken)) != 0)
		return SA_ERR_NOMEM;
	lower = ws->lower.data;
	/* [0, len) mirrors the text; non-ASCII tokens go after it */
	ws->lower.len = len;

	while (pos < len)
	{
		size_t		start,
					first = SIZE_MAX,
					last = 0,
					next;
		uint32_t	h_full = SA_HASH_INIT,
					h_strip = SA_HASH_INIT,
					h_last = SA_HASH_INIT;
		unsigned	any_upper = 0,
					any_lower = 0,
					any_apos = 0,
					any_high = 0;
		int			k = byte_class[p[pos]];

		if (k == BC_SPACE)
		{
			pos++;
			continue;
		}
		if (k == BC_HIGH && high_space(p, len, pos, &next))
		{
			pos = next;
			continue;
		}
		start = pos;
		do
		{
			unsigned	c = p[pos];
			unsigned	up = (c - 'A') < 26u;
			unsigned	lc = c + (up << 5);

			k = byte_class[c];
			if (k == BC_SPACE)
				break;
			if (k == BC_HIGH)
			{
				if (high_space(p, len, pos, &next))
					break;
				any_high = 1;
				pos = next;
				continue;
			}
			n_excl += k == BC_EXCL;
			n_quest += k == BC_QUEST;
			any_upper |= up;
			any_lower |= (c - 'a') < 26u;
			any_apos |= c == '\'';
			lower[pos] = (char) lc;
			h_full = SA_HASH_STEP(h_full, lc);
			if (!punct_byte[c])
			{
				if (first == SIZE_MAX)
					first = pos;
				last = pos;
			}
			if (first != SIZE_MAX)
			{
				h_strip = SA_HASH_STEP(h_strip, lc);
				if (last == pos)
					h_last = h_strip;
			}
			pos++;
		} while (pos < len);

		if (reserve_token(ws) != 0)
			return SA_ERR_NOMEM;
		if (any_high)
		{
			if (sa_buf_reserve(&ws->lower, pos - start) != 0)
				return SA_ERR_NOMEM;
			err = add_token(lex, ws, st, s + start, pos - start);
			if (err != SA_OK)
				return err;
			lower = ws->lower.data;	/* may have moved */
			continue;
		}

		push_ascii_token(lex, ws, st, lower, start, pos, first, last, h_full, h_last, any_apos,
						 any_upper && !any_lower);
	}
	st->n_excl += n_excl;
	st->n_quest += n_quest;
	return SA_OK;
}

/*
 * The plain tokeniser: split s (valid UTF-8) on Python white space and hand
 * each token to add_token(), counting '!' and '?' on the way (they are never
 * white space, so they all sit inside tokens).  tokenize_fast() does the
 * same in one pass; this one is kept as its reference (ws->no_fast_path),
 * which the parity test and the fuzzer compare it with.
 */
static sa_error
tokenize(const sa_lexicon *lex, sa_workspace *ws, scan_state *st,
		 const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *) s;
	size_t		pos = 0;
	size_t		next;
	sa_error	err;

	/*
	 * ASCII tokens lower to the same length, so one reservation covers
	 * them all (non-ASCII ones grow the buffer themselves).  The token
	 * array grows as needed: reserving for the worst case (a token every
	 * two bytes) would make long texts touch far more memory than they use.
	 */
	if (sa_buf_reserve(&ws->lower, len + 16) != 0 ||
		sa_buf_reserve(&ws->toks, 64 * sizeof(sa_vtoken)) != 0)
		return SA_ERR_NOMEM;

	for (;;)
	{
		size_t		start;

		/* white space */
		while (pos < len)
		{
			int			k = byte_class[p[pos]];

			if (k == BC_SPACE)
				pos++;
			else if (k == BC_HIGH && high_space(p, len, pos, &next))
				pos = next;
			else
				break;
		}
		if (pos >= len)
			break;

		/* a token */
		start = pos;
		while (pos < len)
		{
			int			k = byte_class[p[pos]];

			if (k == BC_WORD)
				pos++;
			else if (k == BC_SPACE)
				break;
			else if (k == BC_EXCL)
			{
				st->n_excl++;
				pos++;
			}
			else if (k == BC_QUEST)
			{
				st->n_quest++;
				pos++;
			}
			else if (high_space(p, len, pos, &next))
				break;
			else
				pos = next;
		}
		/* non-ASCII tokens may have moved ws->lower; ASCII ones fit */
		if (ws->lower.len + (pos - start) > ws->lower.cap &&
			sa_buf_reserve(&ws->lower, pos - start) != 0)
			return SA_ERR_NOMEM;
		if (reserve_token(ws) != 0)
			return SA_ERR_NOMEM;
		err = add_token(lex, ws, st, s + start, pos - start);
		if (err != SA_OK)
			return err;
	}
	return SA_OK;
}

/* ---------- step 3: valences ---------- */

static inline bool
tok_negated(const sa_vtoken *t)
{
	return (t->flags & (SA_W_NEG | SA_T_NT)) != 0;
}

static inline bool
is_so_this(const sa_vtoken *t)
{
	return t->wid == SA_WID_SO || t->wid == SA_WID_THIS;
}

/* Booster/dampener contribution of word w to a valence v. */
static double
scalar_inc_dec(const sa_vtoken *w, double v, bool cap_diff)
{
	double		s = 0.0;

	if (w->flags & (SA_W_BOOST | SA_W_DAMP))
	{
		s = (w->flags & SA_W_BOOST) ? B_INCR : B_DECR;
		if (v < 0)
			s *= -1;
		if ((w->flags & SA_T_UPPER) && cap_diff)
		{
			if (v > 0)
				s += C_INCR;
			else
				s -= C_INCR;
		}
	}
	return s;
}

/* Special phrases (VADER.md): value of the pair/triple, or false. */
static bool
phrase2(const sa_vtoken *a, const sa_vtoken *b, double *val)
{
	switch (a->wid)
	{
		case SA_WID_THE:
			if (b->wid == SA_WID_SHIT || b->wid == SA_WID_BOMB)
			{
				*val = 3.0;
				return true;
			}
			break;
		case SA_WID_BAD:
			if (b->wid == SA_WID_ASS)
			{
				*val = 1.5;
				return true;
			}
			break;
		case SA_WID_BUS:
			if (b->wid == SA_WID_STOP)
			{
				*val = 0.0;
				return true;
			}
			break;
		case SA_WID_YEAH:
			if (b->wid == SA_WID_RIGHT)
			{
				*val = -2.0;
				return true;
			}
			break;
		case SA_WID_BEATING:
			if (b->wid == SA_WID_HEART)
			{
				*val = 3.1;
				return true;
			}
			break;
		case SA_WID_BROKEN:
			if (b->wid == SA_WID_HEART)
			{
				*val = -2.9;
				return true;
			}
			break;
		default:
			break;
	}
	return false;
}

static bool
phrase3(const sa_vtoken *a, const sa_vtoken *b, const sa_vtoken *c, double *val)
{
	if (a->wid == SA_WID_KISS && b->wid == SA_WID_OF && c->wid == SA_WID_DEATH)
	{
		*val = -1.5;
		return true;
	}
	if (a->wid == SA_WID_TO && b->wid == SA_WID_DIE && c->wid == SA_WID_FOR)
	{
		*val = 3.0;
		return true;
	}
	return false;
}

/* The multi-word dampeners "just enough", "kind of", "sort of". */
static bool
damp2(const sa_vtoken *a, const sa_vtoken *b)
{
	return (a->wid == SA_WID_JUST && b->wid == SA_WID_ENOUGH) ||
		((a->wid == SA_WID_KIND || a->wid == SA_WID_SORT) && b->wid == SA_WID_OF);
}

/* VADER.md step 4d at k = 2 (i >= 3): special phrases and dampener pairs. */
static double
idioms(const sa_vtoken *t, size_t n, size_t i, double v)
{
	double		x;

	if (phrase2(&t[i - 1], &t[i], &x) ||
		phrase3(&t[i - 2], &t[i - 1], &t[i], &x) ||
		phrase2(&t[i - 2], &t[i - 1], &x) ||
		phrase3(&t[i - 3], &t[i - 2], &t[i - 1], &x) ||
		phrase2(&t[i - 3], &t[i - 2], &x))
		v = x;
	if (n - 1 > i && phrase2(&t[i], &t[i + 1], &x))
		v = x;
	if (n - 1 > i + 1 && phrase3(&t[i], &t[i + 1], &t[i + 2], &x))
		v = x;
	/* No three-word booster exists, so only the pairs can add. */
	if (damp2(&t[i - 3], &t[i - 2]))
		v = v + B_DECR;
	if (damp2(&t[i - 2], &t[i - 1]))
		v = v + B_DECR;
	return v;
}

static double
token_valence(const sa_vtoken *t, size_t n, size_t i, bool cap_diff)
{
	const sa_vtoken *w = &t[i];
	double		v;

	if (w->flags & (SA_W_BOOST | SA_W_DAMP))
		return 0.0;
	if (w->wid == SA_WID_KIND && i + 1 < n && t[i + 1].wid == SA_WID_OF)
		return 0.0;
	if (!(w->flags & SA_W_LEX))
		return 0.0;

	v = w->lexval;
	/* "no" before a lexicon word only negates it. */
	if (w->wid == SA_WID_NO && i != n - 1 && (t[i + 1].flags & SA_W_LEX))
		v = 0.0;
	if ((i > 0 && t[i - 1].wid == SA_WID_NO) ||
		(i > 1 && t[i - 2].wid == SA_WID_NO) ||
		(i > 2 && t[i - 3].wid == SA_WID_NO &&
		 (t[i - 1].wid == SA_WID_OR || t[i - 1].wid == SA_WID_NOR)))
		v = w->lexval * N_SCALAR;

	if ((w->flags & SA_T_UPPER) && cap_diff)
	{
		if (v > 0)
			v += C_INCR;
		else
			v -= C_INCR;
	}

	for (size_t k = 0; k < 3; k++)
	{
		const sa_vtoken *prev;
		double		s;

		if (i <= k)
			break;
		prev = &t[i - (k + 1)];
		if (prev->flags & SA_W_LEX)
			continue;
		s = scalar_inc_dec(prev, v, cap_diff);
		if (k == 1 && s != 0)
			s = s * 0.95;
		if (k == 2 && s != 0)
			s = s * 0.9;
		v = v + s;

		if (k == 0)
		{
			if (tok_negated(&t[i - 1]))
				v = v * N_SCALAR;
		}
		else if (k == 1)
		{
			if (t[i - 2].wid == SA_WID_NEVER && is_so_this(&t[i - 1]))
				v = v * 1.25;
			else if (t[i - 2].wid == SA_WID_WITHOUT && t[i - 1].wid == SA_WID_DOUBT)
				 /* unchanged */ ;
			else if (tok_negated(&t[i - 2]))
				v = v * N_SCALAR;
		}
		else
		{
			/* The reference's precedence: (never and so|this) or so|this. */
			if ((t[i - 3].wid == SA_WID_NEVER && is_so_this(&t[i - 2])) ||
				is_so_this(&t[i - 1]))
				v = v * 1.25;
			else if (t[i - 3].wid == SA_WID_WITHOUT &&
					 (t[i - 2].wid == SA_WID_DOUBT || t[i - 1].wid == SA_WID_DOUBT))
				 /* unchanged */ ;
			else if (tok_negated(&t[i - 3]))
				v = v * N_SCALAR;
			v = idioms(t, n, i, v);
		}
	}

	/* "least" negates, except in "at least" and "very least". */
	if (i > 1 && !(t[i - 1].flags & SA_W_LEX) && t[i - 1].wid == SA_WID_LEAST)
	{
		if (t[i - 2].wid != SA_WID_AT && t[i - 2].wid != SA_WID_VERY)
			v = v * N_SCALAR;
	}
	else if (i > 0 && !(t[i - 1].flags & SA_W_LEX) && t[i - 1].wid == SA_WID_LEAST)
		v = v * N_SCALAR;
	return v;
}

/* ---------- step 5: "but" ---------- */

/*
 * The reference walks the list and, for each value x it meets, rescales the
 * FIRST element equal to x (list.index), which differs from rescaling the
 * element itself when equal values occur.  To do the same in linear-ish
 * time, the positions already visited are grouped by their current value
 * (an open-addressing table keyed by the value) and each group is a pairing
 * heap on position, giving "first position holding x" without a scan.
 * Position j itself still holds its original value when visited, so the
 * answer is the group's minimum if the group is not empty, else j.
 * Zeros are skipped: rescaling a zero leaves a zero.
 */
typedef struct but_class
{
	double		key;
	uint32_t	root;			/* heap of positions, NO_POS when empty */
	uint32_t	used;
} but_class;

typedef struct but_ctx
{
	uint32_t   *child;
	uint32_t   *sib;
	sa_buf	   *clsbuf;			/* but_class[mask + 1] */
	but_class  *cls;
	size_t		mask;
	size_t		count;			/* groups in use */
} but_ctx;

static inline uint32_t
ph_meld(but_ctx *c, uint32_t a, uint32_t b)
{
	uint32_t	t;

	if (a == NO_POS)
		return b;
	if (b == NO_POS)
		return a;
	if (b < a)
	{
		t = a;
		a = b;
		b = t;
	}
	c->sib[b] = c->child[a];
	c->child[a] = b;
	return a;
}

/* Remove the root of a heap; two-pass pairing of its children. */
static uint32_t
ph_pop(but_ctx *c, uint32_t root)
{
	uint32_t	x = c->child[root];
	uint32_t	stack = NO_POS;
	uint32_t	r = NO_POS;

	c->child[root] = NO_POS;
	while (x != NO_POS)
	{
		uint32_t	a = x,
					b = c->sib[a],
					m;

		if (b == NO_POS)
		{
			x = NO_POS;
			c->sib[a] = NO_POS;
			m = a;
		}
		else
		{
			x = c->sib[b];
			c->sib[a] = c->sib[b] = NO_POS;
			m = ph_meld(c, a, b);
		}
		c->sib[m] = stack;
		stack = m;
	}
	while (stack != NO_POS)
	{
		uint32_t	next = c->sib[stack];

		c->sib[stack] = NO_POS;
		r = ph_meld(c, r, stack);
		stack = next;
	}
	return r;
}

static inline size_t
class_home(const but_ctx *c, double key)
{
	uint64_t	bits;

	memcpy(&bits, &key, sizeof(bits));
	bits ^= bits >> 29;
	bits *= 0xbf58476d1ce4e5b9ULL;
	bits ^= bits >> 32;
	return (size_t) bits & c->mask;
}

/* (Re)size the group table to cap slots, keeping its groups. */
static int
class_resize(but_ctx *c, size_t cap, size_t oldcap)
{
	size_t		bytes = cap * sizeof(but_class);
	but_class  *old;

	/* the old table is moved to the end of the buffer while rehashing */
	if (sa_buf_reserve(c->clsbuf, bytes + oldcap * sizeof(but_class)) != 0)
		return -1;
	old = (but_class *) (c->clsbuf->data + bytes);
	memmove(old, c->clsbuf->data, oldcap * sizeof(but_class));
	c->cls = (but_class *) c->clsbuf->data;
	memset(c->cls, 0, bytes);
	c->mask = cap - 1;
	for (size_t i = 0; i < oldcap; i++)
		if (old[i].used)
		{
			size_t		h = class_home(c, old[i].key);

			while (c->cls[h].used)
				h = (h + 1) & c->mask;
			c->cls[h] = old[i];
		}
	return 0;
}

/* The group of positions holding key, created empty if new; NULL on ENOMEM. */
static but_class *
class_of(but_ctx *c, double key)
{
	size_t		i = class_home(c, key);

	for (;;)
	{
		but_class  *k = &c->cls[i];

		if (!k->used)
		{
			/* distinct values are few: grow only when half full */
			if ((c->count + 1) * 2 > c->mask + 1)
			{
				if (class_resize(c, (c->mask + 1) * 2, c->mask + 1) != 0)
					return NULL;
				return class_of(c, key);
			}
			k->used = 1;
			k->key = key;
			k->root = NO_POS;
			c->count++;
			return k;
		}
		if (k->key == key)
			return k;
		i = (i + 1) & c->mask;
	}
}

sa_error
sa_vader_but_rule(sa_workspace *ws, double *val, size_t n, size_t b)
{
	but_ctx		c;

	/*
	 * Short lists (nearly every social-media text): walk them literally as
	 * the reference does; the scan is bounded by SA_BUT_LITERAL_MAX^2.
	 */
	if (n <= SA_BUT_LITERAL_MAX)
	{
		for (size_t j = 0; j < n; j++)
		{
			double		x = val[j];
			size_t		p = 0;

			if (x == 0)
				continue;
			while (val[p] != x)
				p++;
			if (p < b)
				val[p] = x * 0.5;
			else if (p > b)
				val[p] = x * 1.5;
		}
		return SA_OK;
	}
	ws->but.len = 0;
	if (sa_buf_reserve(&ws->but, n * 2 * sizeof(uint32_t)) != 0)
		return SA_ERR_NOMEM;
	c.child = (uint32_t *) ws->but.data;
	c.sib = c.child + n;
	c.clsbuf = &ws->butcls;
	c.count = 0;
	if (class_resize(&c, 64, 0) != 0)
		return SA_ERR_NOMEM;

	for (size_t j = 0; j < n; j++)
	{
		double		x = val[j];
		but_class  *k;
		uint32_t	p;

		if (x == 0)
			continue;
		/* j enters the heaps now; p < j entered at its own visit */
		c.child[j] = c.sib[j] = NO_POS;
		k = class_of(&c, x);
		if (k == NULL)
			return SA_ERR_NOMEM;
		p = (k->root != NO_POS) ? k->root : (uint32_t) j;
		if (p == b)
		{
			/* the reference leaves the "but" position itself alone */
			k->root = ph_meld(&c, k->root, (uint32_t) j);
			continue;
		}
		if (p != j)
		{
			k->root = ph_pop(&c, p);
			k->root = ph_meld(&c, k->root, (uint32_t) j);
		}
		val[p] = val[p] * (p < b ? 0.5 : 1.5);
		if (val[p] != 0)
		{
			but_class  *dst = class_of(&c, val[p]);

			if (dst == NULL)
				return SA_ERR_NOMEM;
			dst->root = ph_meld(&c, dst->root, p);
		}
	}
	return SA_OK;
}

/* ---------- step 8: rounding ---------- */

/*
 * Python's round(x, digits): the decimal nearest to the exact binary value
 * of x, ties to even, read back as the nearest double.  Scaling and
 * nearbyint() give the same integer unless the scaled value is very close
 * to a half (the scaling itself may round there), so only that case takes
 * the exact route through glibc's printf, which rounds the exact value.
 */
double
sa_vader_round(double x, int digits)
{
	double		scale = (digits == 4) ? 1e4 : 1e3;
	double		y = x * scale;
	double		frac = fabs(y - trunc(y));
	char		buf[64];

	if (fabs(y) < 1e9 && fabs(frac - 0.5) > 1e-6)
		return nearbyint(y) / scale;
	snprintf(buf, sizeof(buf), "%.*f", digits, x);
	return strtod(buf, NULL);
}

/* ---------- steps 6-7: scores ---------- */

static void
final_scores(const double *val, size_t n, const uint32_t *lexpos, size_t nlex,
			 const scan_state *st, sa_sentiment *out)
{
	double		sum_s = 0.0;
	double		amp;
	double		ep,
				qm = 0.0;
	double		compound;
	double		pos_sum = 0.0,
				neg_sum = 0.0,
				total;
	size_t		neu_count = 0;

	if (n == 0)
	{
		out->compound = out->pos = out->neu = out->neg = 0.0;
		out->label = SA_LABEL_NEUTRAL;
		return;
	}
	/*
	 * Only lexicon words can have a non-zero valence, so the sums run over
	 * them alone, still in token order as the reference adds.  Skipping the
	 * zeros changes no sum: each starts at +0.0 and x + 0.0 == x for every
	 * x other than -0.0, which none of them can become.
	 */
	neu_count = n - nlex;
	for (size_t k = 0; k < nlex; k++)
	{
		double		v = val[lexpos[k]];

		sum_s += v;
		if (v > 0)
			pos_sum += v + 1;
		else if (v < 0)
			neg_sum += v - 1;
		else
			neu_count++;
	}

	ep = (double) (st->n_excl > 4 ? 4 : st->n_excl) * 0.292;
	if (st->n_quest > 1)
		qm = (st->n_quest <= 3) ? (double) st->n_quest * 0.18 : 0.96;
	amp = ep + qm;

	if (sum_s > 0)
		sum_s += amp;
	else if (sum_s < 0)
		sum_s -= amp;
	compound = sum_s / sqrt(sum_s * sum_s + ALPHA);
	if (compound < -1.0)
		compound = -1.0;
	else if (compound > 1.0)
		compound = 1.0;

	if (pos_sum > fabs(neg_sum))
		pos_sum += amp;
	else if (pos_sum < fabs(neg_sum))
		neg_sum -= amp;
	total = pos_sum + fabs(neg_sum) + (double) neu_count;

	out->compound = sa_vader_round(compound, 4);
	out->pos = sa_vader_round(fabs(pos_sum / total), 3);
	out->neg = sa_vader_round(fabs(neg_sum / total), 3);
	out->neu = sa_vader_round(fabs((double) neu_count / total), 3);
	if (out->compound >= 0.05)
		out->label = SA_LABEL_POSITIVE;
	else if (out->compound <= -0.05)
		out->label = SA_LABEL_NEGATIVE;
	else
		out->label = SA_LABEL_NEUTRAL;
}

sa_error
sa_sentiment_score(const sa_lexicon *lex, sa_workspace *ws,
				   const char *text, size_t len, sa_sentiment *out)
{
	scan_state	st = {0, SIZE_MAX, 0, 0};
	const char *s = text;
	size_t		slen = len;
	sa_error	err;
	sa_vtoken  *toks;
	double	   *val;
	size_t		n;
	bool		cap_diff;
	bool		ascii;

	if (lex == NULL || ws == NULL || out == NULL || (text == NULL && len > 0))
		return SA_ERR_ARGUMENT;
	if (len > SA_MAX_INPUT_BYTES)
		return SA_ERR_TOO_LONG;

	/* Give back what a huge previous text made the buffers grow to. */
	sa_workspace_trim(ws);
	ws->ntok = 0;
	ws->nlex = 0;
	ws->toks.len = 0;
	ws->lower.len = 0;
	ws->vals.len = 0;

	/*
	 * The emoji map has no ASCII code points: ASCII text skips step 1, and
	 * so does valid UTF-8 without emoji.
	 */
	ascii = sa_text_is_ascii(text, len);
	if (!ascii)
	{
		size_t		from = first_rewrite(text, len);

		if (from < len)
		{
			err = replace_emoji(ws, text, len, from);
			if (err != SA_OK)
				goto fail;
			s = ws->text.data;
			slen = ws->text.len;
		}
	}
	if (!ws->no_fast_path)
		err = tokenize_fast(lex, ws, &st, s, slen);
	else
		err = tokenize(lex, ws, &st, s, slen);
	if (err != SA_OK)
		goto fail;

	n = ws->ntok;
	toks = sa_ws_tokens(ws);
	if (sa_buf_reserve(&ws->vals, n * sizeof(double) + 8) != 0)
	{
		err = SA_ERR_NOMEM;
		goto fail;
	}
	val = (double *) ws->vals.data;
	ws->vals.len = n * sizeof(double);

	/* Caps differential: some, but not all, tokens are upper case. */
	cap_diff = st.n_upper > 0 && st.n_upper < n;
	memset(val, 0, n * sizeof(double));
	for (size_t k = 0; k < ws->nlex; k++)
	{
		size_t		i = ((const uint32_t *) ws->lexpos.data)[k];

		val[i] = token_valence(toks, n, i, cap_diff);
	}
	if (st.but_index != SIZE_MAX)
	{
		err = sa_vader_but_rule(ws, val, n, st.but_index);
		if (err != SA_OK)
			goto fail;
	}
	final_scores(val, n, (const uint32_t *) ws->lexpos.data, ws->nlex, &st, out);
	return SA_OK;

fail:
	ws->ntok = 0;
	ws->toks.len = 0;
	return err;
}
