/*
 * features.c - the hashed features of the trained models (social sentiment,
 * emotion), read off the shared tokeniser's tokens (tokenize.c).
 *
 * This is the only implementation of the features: the trainer
 * (tools/train_models.py) gets them from this code through
 * tools/dump-features.c, so training and scoring cannot drift apart.
 * Each feature is a row of the model's 2^bits-row table, chosen by hashing
 * the feature's bytes with its kind; collisions are shared by training and
 * scoring alike (the hashing trick).  Families, as the layout's flags ask:
 *
 *   word    each token; with SA_FEAT_SOCIAL a user name (@x) becomes
 *           "@user", a link one "<url>" token, digits 0, and a letter run
 *           of 3+ is cut to 2 ("soooo" -> "soo") plus an "elongated" feature;
 *           with SA_FEAT_NEG a token in a negation scope (the neg_scope
 *           tokens after a negation word, cut at clause punctuation) is a
 *           different feature from the same token outside one.
 *   bigram  two adjacent tokens with no clause punctuation between.
 *   char    byte n-grams (char_min..char_max bytes) of "\2word\3".
 *   affix   the first 4 and 5 and the last 3 bytes of a word longer than
 *           the affix (a cheap stem and ending: "annoy"ed, "annoy"ing).
 *   vader   VADER compound in 21 bins of 0.1, pos, neu and neg in 11 each.
 *   punct   the text contains "!"; contains "?".
 *
 * A feature's key is one 32-bit hash; a model's row is its top bits, so
 * the full analysis extracts the social and emotion models' features in
 * one pass (sa_features_pair), each model taking the families it reads.
 */
#include <string.h>

#include "model_internal.h"

#define K_WORD		1
#define K_NEGWORD	2
#define K_BIGRAM	3
#define K_CHAR		4			/* + n */
#define K_VADER		16			/* + which */
#define K_PUNCT		24			/* + which */
#define K_ELONG		28
#define K_PREFIX	32			/* + n */
#define K_SUFFIX	40			/* + n */

#define BOW			0x02		/* begin and end of word in char n-grams */
#define EOW			0x03

/* A feature's 32-bit key; a table of 2^bits rows reads its top bits. */
static inline uint32_t
key_of(uint32_t h, uint32_t kind)
{
	return sa_fmix32(h * 0x9E3779B1u + kind * 0x7F4A7C15u);
}

/*
 * VADER's negation words plus "no", and any word containing "n't".  Called
 * for every token, so the list is grouped by length and most words are
 * rejected by that alone.
 */
static bool
is_negation(const char *w, size_t len)
{
	static const char *const by_len[10] = {
		[2] = "no",
		[3] = "nornot",
		[4] = "aintcantdontisntnonenopeuhuhwont",
		[5] = "arentdidnthadnthasntnevershantwasnt",
		[6] = "cannotdarentdoesnthaventmustntneedntrarelyseldomwerent",
		[7] = "couldntdespitemightntneithernothingnowhereoughtntwithoutwouldnt",
		[8] = "shouldnt",
	};
	const char *list;

	for (size_t i = 0; i + 2 < len; i++)
		if (w[i] == 'n' && w[i + 1] == '\'' && w[i + 2] == 't')
			return true;
	if (len < 2 || len > 8 || (list = by_len[len]) == NULL)
		return false;
	for (; *list != '\0'; list += len)
		if (list[0] == w[0] && memcmp(list + 1, w + 1, len - 1) == 0)
			return true;
	return false;
}

/* "http://", "https://" or "www." starts at text[pos]? */
bool
sa_link_at(const char *text, size_t len, size_t pos)
{
	const char *p = text + pos;
	size_t		left = len - pos;

	return (left >= 7 && memcmp(p, "http://", 7) == 0) ||
		(left >= 8 && memcmp(p, "https://", 8) == 0) ||
		(left >= 4 && memcmp(p, "www.", 4) == 0);
}

/*
 * One model's output, in locals so the hot loop keeps it in registers: its
 * rows (the key's top bits), the feature families it reads.
 */
typedef struct feat_out
{
	uint32_t   *feats;
	uint32_t   *origin;			/* NULL unless asked for */
	size_t		n;
	uint32_t	flags;
	uint32_t	shift;			/* 32 - bits */
} feat_out;

/* The feature key of family fam to each output reading that family. */
static inline __attribute__((always_inline)) void
put(feat_out *out, int nout, uint32_t fam, uint32_t key, uint32_t kind, uint32_t index)
{
	for (int k = 0; k < nout; k++)
	{
		feat_out   *o = &out[k];

		if (!(o->flags & fam))
			continue;
		o->feats[o->n] = key >> o->shift;
		if (o->origin)
			o->origin[o->n] = (kind << SA_FO_SHIFT) | (index & SA_FO_MASK);
		o->n++;
	}
}

static inline uint32_t
bin_of(double x, double lo, int nbins)
{
	int			b = (int) ((x - lo) * 10.0 + 1e-9);

	if (b < 0)
		b = 0;
	if (b >= nbins)
		b = nbins - 1;
	return (uint32_t) b;
}

/*
 * Room for the features of the tokens in sc: per token a word, a bigram
 * and an elongation feature, three affixes, per byte of "\2word\3" one
 * n-gram of each length; 8 fixed ones.
 */
static size_t
features_bound(const sa_scratch *sc, const sa_feat_layout *layout)
{
	size_t		need = sc->ntoks * 6 + 8;

	if (layout->flags & SA_FEAT_CHAR)
		need += (sc->lower.len + 2 * sc->ntoks) * (layout->char_max - layout->char_min + 1);
	return need;
}

static bool
layout_valid(const sa_feat_layout *l)
{
	return l->bits >= 8 && l->bits <= 24 &&
		(!(l->flags & SA_FEAT_CHAR) || (l->char_min >= 1 && l->char_max >= l->char_min &&
										l->char_max <= 8));
}

/* A token as the features read it. */
typedef struct feat_word
{
	const unsigned char *wb;	/* the word after normalising */
	size_t		wl;
	size_t		nl;				/* nb holds "\2word\3" when nl > 0 */
	uint32_t	h;
	bool		elongated;
	bool		chars;			/* char n-grams of it wanted */
} feat_word;

/*
 * SA_FEAT_SOCIAL's normalising of token t (lower-cased bytes w) into fw,
 * nb the scratch for its normalised bytes: a link is one "<url>" token
 * (*link_end the end of the link), a user name "@user", digits 0 and runs
 * of one byte cut to two.  False for a token inside a link: no features.
 */
static inline bool
social_word(const sa_token *t, const unsigned char *w, unsigned char *nb,
			const char *text, size_t len, size_t *link_end, feat_word *fw)
{
	size_t		j;

	/* the tokens of a link are one "<url>" token */
	if (t->src < *link_end)
		return false;
	if ((t->flags & SA_TOK_ASCII) && t->src < len && sa_link_at(text, len, t->src))
	{
		size_t		e = t->src;

		while (e < len && !sa_is_space((unsigned char) text[e]) && text[e] != '\n')
			e++;
		*link_end = e;
		fw->h = sa_fnv1a("<url>", 5);
		fw->chars = false;
		fw->wl = 0;
		return true;
	}
	if (t->flags & SA_TOK_MENTION)
	{
		fw->h = sa_fnv1a("@user", 5);
		fw->chars = false;
		fw->wl = 0;
		return true;
	}
	/* most words have no digit and no run of 3: nothing to do */
	for (j = 0; j < t->len; j++)
	{
		unsigned char c = w[j];

		if ((unsigned) (c - '0') < 10u || (j >= 2 && c == w[j - 1] && c == w[j - 2]))
			break;
	}
	if (j < t->len)
	{
		size_t		nl = 0;

		/* digits to 0, runs of one byte cut to two */
		nb[nl++] = BOW;
		for (j = 0; j < t->len; j++)
		{
			unsigned char c = w[j];

			if (c >= '0' && c <= '9')
				c = '0';
			if (nl >= 3 && nb[nl - 1] == c && nb[nl - 2] == c)
			{
				fw->elongated = true;
				continue;
			}
			nb[nl++] = c;
		}
		nb[nl++] = EOW;
		fw->nl = nl;
		fw->wb = nb + 1;
		fw->wl = nl - 2;
		fw->h = sa_fnv1a(fw->wb, fw->wl);
	}
	return true;
}

/* Byte n-grams (nmin..nmax) of "\2word\3", built in nb unless there. */
static inline __attribute__((always_inline)) void
emit_chars(feat_out *out, int nout, const feat_word *fw, unsigned char *nb, uint32_t nmin,
		   uint32_t nmax, uint32_t i)
{
	size_t		nl = fw->nl;

	if (nl == 0)
	{
		nb[nl++] = BOW;
		memcpy(nb + nl, fw->wb, fw->wl);
		nl += fw->wl;
		nb[nl++] = EOW;
	}
	for (size_t p = 0; p + nmin <= nl; p++)
	{
		uint32_t	ch = SA_FNV_SEED;

		for (uint32_t n = 1; n <= nmax && p + n <= nl; n++)
		{
			ch = (ch ^ nb[p + n - 1]) * 0x01000193u;
			if (n >= nmin)
				put(out, nout, SA_FEAT_CHAR, key_of(ch, K_CHAR + n), SA_FO_CHAR, i);
		}
	}
}

/* The text's own features: VADER's scores in bins, "!" and "?". */
static inline __attribute__((always_inline)) void
emit_text(feat_out *out, int nout, uint32_t flags, const char *text, size_t len,
		  const sa_sentiment *vader)
{
	if ((flags & SA_FEAT_VADER) && vader != NULL)
	{
		put(out, nout, SA_FEAT_VADER, key_of(bin_of(vader->compound, -1.0, 21), K_VADER + 0),
			SA_FO_VADER, 0);
		put(out, nout, SA_FEAT_VADER, key_of(bin_of(vader->pos, 0.0, 11), K_VADER + 1),
			SA_FO_VADER, 1);
		put(out, nout, SA_FEAT_VADER, key_of(bin_of(vader->neu, 0.0, 11), K_VADER + 2),
			SA_FO_VADER, 2);
		put(out, nout, SA_FEAT_VADER, key_of(bin_of(vader->neg, 0.0, 11), K_VADER + 3),
			SA_FO_VADER, 3);
	}
	if (flags & SA_FEAT_PUNCT)
	{
		if (memchr(text, '!', len) != NULL)
			put(out, nout, SA_FEAT_PUNCT, key_of(0, K_PUNCT + 0), SA_FO_PUNCT, 0);
		if (memchr(text, '?', len) != NULL)
			put(out, nout, SA_FEAT_PUNCT, key_of(0, K_PUNCT + 1), SA_FO_PUNCT, 1);
	}
}

/*
 * The pass over the tokens for nout outputs (1 or 2, a constant once
 * inlined).  lay is the first output's layout; the families that change a
 * word's own feature (word, negation scope, the social normalising) and the
 * n-gram lengths are the same for all (sa_features_shareable), the others
 * each output reads or not (out[k].flags); flags is their union.
 */
static inline __attribute__((always_inline)) void
extract(sa_scratch *sc, feat_out *out, int nout, const sa_feat_layout *lay, uint32_t flags,
		const char *text, size_t len, const sa_sentiment *vader)
{
	uint32_t	nmin = lay->char_min,
				nmax = lay->char_max;
	size_t		link_end = 0;
	uint32_t	prev_h = 0;
	bool		have_prev = false;
	uint32_t	neg = 0;

	for (size_t i = 0; i < sc->ntoks; i++)
	{
		const sa_token *t = &sc->toks[i];
		const unsigned char *w = (const unsigned char *) sc->lower.data + t->off;
		unsigned char *nb = (unsigned char *) sc->norm.data;
		feat_word	fw = {.wb = w, .wl = t->len, .h = t->hash,
		.chars = (flags & SA_FEAT_CHAR) && !(t->flags & SA_TOK_SYMBOL)};

		if (t->flags & SA_TOK_BREAK)
		{
			neg = 0;
			have_prev = false;
		}
		if ((flags & SA_FEAT_SOCIAL) && !social_word(t, w, nb, text, len, &link_end, &fw))
			continue;

		if (flags & SA_FEAT_WORD)
			put(out, nout, SA_FEAT_WORD,
				key_of(fw.h, (neg > 0 && (flags & SA_FEAT_NEG)) ? K_NEGWORD : K_WORD),
				SA_FO_WORD, (uint32_t) i);
		if (fw.elongated)
			put(out, nout, SA_FEAT_SOCIAL, key_of(0, K_ELONG), SA_FO_WORD, (uint32_t) i);
		if ((flags & SA_FEAT_BIGRAM) && have_prev)
			put(out, nout, SA_FEAT_BIGRAM, key_of(prev_h * 0x01000193u ^ fw.h, K_BIGRAM),
				SA_FO_BIGRAM, (uint32_t) i);
		if ((flags & SA_FEAT_AFFIX) && !(t->flags & SA_TOK_SYMBOL) && fw.wl > 4)
		{
			uint32_t	h4 = sa_fnv1a(fw.wb, 4);

			put(out, nout, SA_FEAT_AFFIX, key_of(h4, K_PREFIX + 4), SA_FO_CHAR, (uint32_t) i);
			if (fw.wl > 5)
				put(out, nout, SA_FEAT_AFFIX, key_of(sa_fnv1a_update(h4, fw.wb + 4, 1), K_PREFIX + 5),
					SA_FO_CHAR, (uint32_t) i);
			put(out, nout, SA_FEAT_AFFIX, key_of(sa_fnv1a(fw.wb + fw.wl - 3, 3), K_SUFFIX + 3),
				SA_FO_CHAR, (uint32_t) i);
		}
		if (fw.chars)
			emit_chars(out, nout, &fw, nb, nmin, nmax, (uint32_t) i);
		prev_h = fw.h;
		have_prev = true;
		if (neg > 0)
			neg--;
		if ((flags & SA_FEAT_NEG) && is_negation((const char *) w, t->len))
			neg = lay->neg_scope;
	}
	emit_text(out, nout, flags, text, len, vader);
}

/* An array (rows or origins) room for layout's features. */
static bool
reserve(const sa_scratch *sc, uint32_t **arr, size_t *cap, const sa_feat_layout *layout)
{
	return sa_grow_array((void **) arr, cap, features_bound(sc, layout), sizeof(uint32_t)) == 0;
}

/* sc->norm: one normalised "\2word\3" of the longest token. */
static bool
reserve_norm(sa_scratch *sc)
{
	return sa_buf_reserve(&sc->norm, sc->lower.len + 2) == 0;
}

static feat_out
output(uint32_t *feats, uint32_t *origin, const sa_feat_layout *layout)
{
	feat_out	o = {feats, origin, 0, layout->flags, 32 - layout->bits};

	return o;
}

sa_error
sa_features(sa_scratch *sc, const sa_feat_layout *layout,
			const char *text, size_t len, const sa_sentiment *vader,
			bool want_origin)
{
	feat_out	o;

	sc->nfeats = 0;
	if (!layout_valid(layout))
		return SA_ERR_ARGUMENT;
	if (!reserve(sc, &sc->feats, &sc->feats_cap, layout) || !reserve_norm(sc) ||
		(want_origin && !reserve(sc, &sc->forigin, &sc->forigin_cap, layout)))
		return SA_ERR_NOMEM;
	o = output(sc->feats, want_origin ? sc->forigin : NULL, layout);
	extract(sc, &o, 1, layout, layout->flags, text, len, vader);
	sc->nfeats = o.n;
	return SA_OK;
}

/* What makes a word's own feature, and the n-gram lengths when both read them. */
#define SHARED_FLAGS (SA_FEAT_WORD | SA_FEAT_NEG | SA_FEAT_SOCIAL)

bool
sa_features_shareable(const sa_feat_layout *a, const sa_feat_layout *b)
{
	return (a->flags & SHARED_FLAGS) == (b->flags & SHARED_FLAGS) &&
		(!(a->flags & SA_FEAT_NEG) || a->neg_scope == b->neg_scope) &&
		(!(a->flags & b->flags & SA_FEAT_CHAR) ||
		 (a->char_min == b->char_min && a->char_max == b->char_max));
}

sa_error
sa_features_pair(sa_scratch *sc, const sa_feat_layout *a, const sa_feat_layout *b,
				 const char *text, size_t len, const sa_sentiment *vader)
{
	feat_out	o[2];
	sa_feat_layout lay = *a;

	sc->nfeats = sc->nfeats2 = 0;
	if (!layout_valid(a) || !layout_valid(b) || !sa_features_shareable(a, b))
		return SA_ERR_ARGUMENT;
	if (!reserve(sc, &sc->feats, &sc->feats_cap, a) || !reserve(sc, &sc->feats2, &sc->feats2_cap, b) ||
		!reserve_norm(sc))
		return SA_ERR_NOMEM;
	/* the n-gram lengths of whichever reads them */
	if (!(a->flags & SA_FEAT_CHAR))
	{
		lay.char_min = b->char_min;
		lay.char_max = b->char_max;
	}
	o[0] = output(sc->feats, NULL, a);
	o[1] = output(sc->feats2, NULL, b);
	extract(sc, o, 2, &lay, a->flags | b->flags, text, len, vader);
	sc->nfeats = o[0].n;
	sc->nfeats2 = o[1].n;
	return SA_OK;
}
