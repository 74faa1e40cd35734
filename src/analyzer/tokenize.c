/*
 * tokenize.c - the word/emoji tokeniser shared by the trained models
 * (features.c), topics and the embedding (rules in analysis_internal.h;
 * tools/train_emotion.py has the same rules in Python for the idf trainer).
 * The trained models read their features off these tokens: a change here
 * means retraining them (tools/train_models.py).
 */
#include <stdlib.h>
#include <string.h>

#include <unicode/uchar.h>

#include "analysis_internal.h"

sa_error
sa_scratch_create(sa_scratch **out)
{
	sa_scratch *sc;

	if (out == NULL)
		return SA_ERR_ARGUMENT;
	sc = calloc(1, sizeof(sa_scratch));
	if (sc == NULL)
		return SA_ERR_NOMEM;
	*out = sc;
	return SA_OK;
}

void
sa_scratch_destroy(sa_scratch *sc)
{
	if (sc == NULL)
		return;
	sa_buf_free(&sc->lower);
	free(sc->toks);
	free(sc->clauses);
	free(sc->cps);
	free(sc->feats);
	free(sc->forigin);
	free(sc->feats2);
	sa_buf_free(&sc->norm);
	free(sc);
}

/*
 * Give back buffers a huge text made grow (as sa_workspace_trim does for
 * VADER's), so one 4 MB row does not pin its memory in a worker for good.
 */
void
sa_scratch_trim(sa_scratch *sc)
{
	size_t		total = sc->lower.cap +
		sc->toks_cap * sizeof(sa_token) + sc->clauses_cap * sizeof(sa_clause) +
		sc->cps_cap * sizeof(uint32_t) + sc->norm.cap +
		(sc->feats_cap + sc->forigin_cap + sc->feats2_cap) * sizeof(uint32_t);

	if (total <= SA_SCRATCH_KEEP_BYTES)
		return;
	sa_buf_free(&sc->lower);
	free(sc->toks);
	free(sc->clauses);
	free(sc->cps);
	free(sc->feats);
	free(sc->forigin);
	free(sc->feats2);
	sa_buf_free(&sc->norm);
	sc->toks = NULL;
	sc->clauses = NULL;
	sc->cps = NULL;
	sc->feats = NULL;
	sc->forigin = NULL;
	sc->feats2 = NULL;
	sc->toks_cap = sc->clauses_cap = sc->cps_cap = 0;
	sc->feats_cap = sc->forigin_cap = sc->feats2_cap = 0;
	sc->ntoks = sc->nclauses = sc->nfeats = sc->nfeats2 = 0;
}

/* Grow an array of elem-sized items to hold at least need; 0 or -1. */
int
sa_grow_array(void **arr, size_t *cap, size_t need, size_t elem)
{
	size_t		ncap = *cap ? *cap : 64;
	void	   *p;

	if (need <= *cap)
		return 0;
	while (ncap < need)
	{
		if (ncap > SIZE_MAX / 2 / elem)
			return -1;
		ncap *= 2;
	}
	p = realloc(*arr, ncap * elem);
	if (p == NULL)
		return -1;
	*arr = p;
	*cap = ncap;
	return 0;
}

/* Character classes of the ASCII range, by table (the common case). */
#define C_SEP	0
#define C_WORD	1				/* letter or digit */
#define C_APOS	2
#define C_BREAK 3				/* , : (break only) */
#define C_END	4				/* ! ? ; (break and clause end) */
#define C_DOT	5				/* break; clause end before white space */

static const unsigned char ascii_class[128] = {
	['0'] = C_WORD, ['1'] = C_WORD, ['2'] = C_WORD, ['3'] = C_WORD,
	['4'] = C_WORD, ['5'] = C_WORD, ['6'] = C_WORD, ['7'] = C_WORD,
	['8'] = C_WORD, ['9'] = C_WORD,
	['A'] = C_WORD, ['B'] = C_WORD, ['C'] = C_WORD, ['D'] = C_WORD,
	['E'] = C_WORD, ['F'] = C_WORD, ['G'] = C_WORD, ['H'] = C_WORD,
	['I'] = C_WORD, ['J'] = C_WORD, ['K'] = C_WORD, ['L'] = C_WORD,
	['M'] = C_WORD, ['N'] = C_WORD, ['O'] = C_WORD, ['P'] = C_WORD,
	['Q'] = C_WORD, ['R'] = C_WORD, ['S'] = C_WORD, ['T'] = C_WORD,
	['U'] = C_WORD, ['V'] = C_WORD, ['W'] = C_WORD, ['X'] = C_WORD,
	['Y'] = C_WORD, ['Z'] = C_WORD,
	['a'] = C_WORD, ['b'] = C_WORD, ['c'] = C_WORD, ['d'] = C_WORD,
	['e'] = C_WORD, ['f'] = C_WORD, ['g'] = C_WORD, ['h'] = C_WORD,
	['i'] = C_WORD, ['j'] = C_WORD, ['k'] = C_WORD, ['l'] = C_WORD,
	['m'] = C_WORD, ['n'] = C_WORD, ['o'] = C_WORD, ['p'] = C_WORD,
	['q'] = C_WORD, ['r'] = C_WORD, ['s'] = C_WORD, ['t'] = C_WORD,
	['u'] = C_WORD, ['v'] = C_WORD, ['w'] = C_WORD, ['x'] = C_WORD,
	['y'] = C_WORD, ['z'] = C_WORD,
	['\''] = C_APOS,
	[','] = C_BREAK, [':'] = C_BREAK,
	['!'] = C_END, ['?'] = C_END, [';'] = C_END,
	['.'] = C_DOT,
};

/* Tokeniser state while walking one text. */
typedef struct tok_state
{
	sa_scratch *sc;
	size_t		word_start;		/* offset in sc->lower of the open word */
	size_t		word_src;		/* byte offset in the text where it began */
	bool		in_word;
	bool		hash_ok;		/* the last '#' did not follow a word */
	bool		at_ok;			/* the last '@' did not follow a word */
	uint32_t	flags;			/* flags for the next token */
	size_t		clause_start;	/* byte offset where the open clause began */
	bool		clause_pending; /* a clause-ending run is in progress */
	size_t		clause_close;	/* ... and ends here */
} tok_state;

static int
close_clause(tok_state *st, size_t end, size_t next_start)
{
	sa_scratch *sc = st->sc;
	sa_clause  *cl;

	if (sa_grow_array((void **) &sc->clauses, &sc->clauses_cap, sc->nclauses + 1,
			 sizeof(sa_clause)) != 0)
		return -1;
	cl = &sc->clauses[sc->nclauses++];
	cl->start = (uint32_t) st->clause_start;
	cl->end = (uint32_t) end;
	cl->scored = false;
	cl->compound = 0.0;
	st->clause_start = next_start;
	return 0;
}

static int
push_token(tok_state *st, size_t off, size_t len, uint32_t flags, size_t src)
{
	sa_scratch *sc = st->sc;
	const unsigned char *p = (const unsigned char *) sc->lower.data + off;
	sa_token   *t;
	uint32_t	h = SA_FNV_SEED;
	unsigned char any = 0;

	if (sa_grow_array((void **) &sc->toks, &sc->toks_cap, sc->ntoks + 1, sizeof(sa_token)) != 0)
		return -1;
	/* the hash and the ASCII test in one pass over the bytes */
	for (size_t i = 0; i < len; i++)
	{
		h = (h ^ p[i]) * 0x01000193u;
		any |= p[i];
	}
	t = &sc->toks[sc->ntoks++];
	t->off = (uint32_t) off;
	t->len = (uint32_t) len;
	t->hash = h;
	t->clause = (uint32_t) sc->nclauses;
	t->flags = flags | ((any & 0x80) ? 0 : SA_TOK_ASCII);
	t->src = (uint32_t) src;
	return 0;
}

/* End the open word (if any) at text offset pos. */
static int
flush_word(tok_state *st, size_t pos)
{
	sa_scratch *sc = st->sc;
	size_t		len;

	if (!st->in_word)
		return 0;
	st->in_word = false;
	while (sc->lower.len > st->word_start && sc->lower.data[sc->lower.len - 1] == '\'')
		sc->lower.len--;
	len = sc->lower.len - st->word_start;

	/*
	 * "but" separates clauses and belongs to neither: close the clause at
	 * its start, open the next after it.
	 */
	if (len == 3 && memcmp(sc->lower.data + st->word_start, "but", 3) == 0)
	{
		if (close_clause(st, st->word_src, pos) != 0)
			return -1;
	}
	if (push_token(st, st->word_start, len, st->flags, st->word_src) != 0)
		return -1;
	st->flags = 0;
	return 0;
}

static inline void
start_word(tok_state *st, size_t src, uint32_t prev)
{
	if (!st->in_word)
	{
		st->in_word = true;
		st->word_start = st->sc->lower.len;
		st->word_src = src;
		if (prev == '#' && st->hash_ok)
			st->flags |= SA_TOK_HASHTAG;
		else if (prev == '@' && st->at_ok)
			st->flags |= SA_TOK_MENTION;
	}
}

/* A '.' ends a clause before white space or the end, not in "3.5". */
static bool
dot_ends_clause(const unsigned char *s, size_t len, size_t pos)
{
	if (pos >= len)
		return true;
	return sa_is_space(sa_utf8_next(s, len, &pos));
}

/*
 * A character the ASCII classes do not place (at text offset at), by its
 * Unicode category: a letter or digit is part of a word, a combining mark
 * of the open word, an other symbol (emoji) a token of its own, the rest
 * ends the word.  -1 when out of memory.
 */
static inline int
other_char(tok_state *st, size_t at, uint32_t cp, uint32_t prev)
{
	sa_scratch *sc = st->sc;
	int8_t		cat = u_charType((UChar32) cp);

	if (cat == U_UPPERCASE_LETTER || cat == U_LOWERCASE_LETTER ||
		cat == U_TITLECASE_LETTER || cat == U_MODIFIER_LETTER ||
		cat == U_OTHER_LETTER || cat == U_DECIMAL_DIGIT_NUMBER)
	{
		start_word(st, at, prev);
		sc->lower.len += sa_utf8_put(sc->lower.data + sc->lower.len,
									 (uint32_t) u_tolower((UChar32) cp));
	}
	else if (cat == U_NON_SPACING_MARK || cat == U_COMBINING_SPACING_MARK)
	{
		if (st->in_word)
			sc->lower.len += sa_utf8_put(sc->lower.data + sc->lower.len, cp);
	}
	else
	{
		if (flush_word(st, at) != 0)
			return -1;
		if (cat == U_OTHER_SYMBOL)
		{
			size_t		off = sc->lower.len;

			sc->lower.len += sa_utf8_put(sc->lower.data + off, cp);
			if (push_token(st, off, sc->lower.len - off, st->flags | SA_TOK_SYMBOL, at) != 0)
				return -1;
			st->flags = 0;
		}
	}
	return 0;
}

sa_error
sa_tokenize(sa_scratch *sc, const char *text, size_t len)
{
	const unsigned char *s = (const unsigned char *) text;
	tok_state	st;
	size_t		pos = 0;
	uint32_t	prev = 0;

	sc->ntoks = 0;
	sc->nclauses = 0;
	sc->lower.len = 0;

	/*
	 * Lower-casing one code point grows it by at most half (2 -> 3 bytes),
	 * and an invalid byte becomes U+FFFD (1 -> 3), so 3x always suffices.
	 */
	if (len > (SIZE_MAX - 8) / 3 || len > UINT32_MAX / 3)
		return SA_ERR_TOO_LONG;
	if (sa_buf_reserve(&sc->lower, len * 3 + 8) != 0)
		return SA_ERR_NOMEM;

	memset(&st, 0, sizeof(st));
	st.sc = sc;

	while (pos < len)
	{
		size_t		at = pos;
		uint32_t	cp = sa_utf8_next(s, len, &pos);
		int			cls;

		if (cp < 0x80)
			cls = ascii_class[cp];
		else if (cp == 0x2019)
			cls = C_APOS;
		else
			cls = -1;

		if (st.clause_pending)
		{
			if (cls == C_END || cls == C_DOT)
			{
				st.clause_close = pos;
				prev = cp;
				continue;
			}
			st.clause_pending = false;
			if (close_clause(&st, st.clause_close, st.clause_close) != 0)
				return SA_ERR_NOMEM;
		}

		switch (cls)
		{
			case C_WORD:
				start_word(&st, at, prev);
				sc->lower.data[sc->lower.len++] =
					(char) ((cp >= 'A' && cp <= 'Z') ? cp + 32 : cp);
				/* the rest of an ASCII run of letters and digits, tightly */
				while (pos < len && s[pos] < 0x80 && ascii_class[s[pos]] == C_WORD)
				{
					unsigned char c = s[pos++];

					sc->lower.data[sc->lower.len++] =
						(char) ((c >= 'A' && c <= 'Z') ? c + 32 : c);
					cp = c;
				}
				break;
			case C_APOS:
				if (st.in_word)
					sc->lower.data[sc->lower.len++] = '\'';
				break;
			case C_SEP:
			case C_BREAK:
			case C_END:
			case C_DOT:
				/* "#tag" is a hashtag, "a#b" is not */
				if (cp == '#')
					st.hash_ok = !st.in_word;
				else if (cp == '@')
					st.at_ok = !st.in_word;
				if (flush_word(&st, at) != 0)
					return SA_ERR_NOMEM;
				if (cls != C_SEP)
					st.flags |= SA_TOK_BREAK;
				if (cls == C_END || (cls == C_DOT && dot_ends_clause(s, len, pos)))
				{
					st.clause_pending = true;
					st.clause_close = pos;
				}
				break;
			default:
				if (other_char(&st, at, cp, prev) != 0)
					return SA_ERR_NOMEM;
				break;
		}
		prev = cp;
	}
	if (flush_word(&st, len) != 0 ||
		close_clause(&st, len, len) != 0)
		return SA_ERR_NOMEM;
	return SA_OK;
}
