/*
 * embedding.c - a 256-dimensional text vector by signed feature hashing.
 *
 * Each token contributes its whole word (weight 2) and every character
 * 3-, 4- and 5-gram of the word padded as "<word>" (weight 1), all scaled by
 * the word's idf (embedding_idf.c).  A feature's hash picks the dimension
 * and a sign; signs make colliding features cancel on average instead of
 * piling up.  The n-grams give partial credit to inflections and typos
 * ("measures" / "measuring"), the whole word gives exact matches more, and
 * idf keeps "the", "a", "is" from dominating.  The vector is L2-normalised,
 * so the dot product of two embeddings is their cosine; an input without
 * tokens gives the zero vector.
 *
 * n-grams are hashed over code points (so "é" is one character, whatever
 * its bytes) as a sum of code point x position constant: the 4-gram's sum
 * extends the 3-gram's, so one start costs five multiplications for three
 * features, and an xor-shift plus a multiplication spreads the sum before
 * its top bits are taken.  This is the hot loop of the whole analysis.
 */
#include <math.h>
#include <string.h>

#include "analysis_internal.h"

#define WORD_SALT	0x5BD1E995u
#define WORD_WEIGHT 2.0f

/* Arbitrary odd 64-bit constants (digits of pi and e, made odd). */
static const uint64_t pos_mult[5] = {
	0x243F6A8885A308D3ull, 0x13198A2E03707345ull, 0xA4093822299F31D1ull,
	0x082EFA98EC4E6C89ull, 0x452821E638D01377ull,
};
#define LEN_SALT	0xBE5466CF34E90C6Dull
#define FINAL_MULT	0xB7E151628AED2A6Bull

/*
 * Add +-w at the dimension and sign chosen by the top bits of a mixed h.
 * pm = {-w, +w}: indexing by the sign bit instead of branching on it,
 * because that branch is a coin flip the CPU mispredicts half the time.
 */
static inline void
add_gram(float *v, uint64_t h, const float *pm)
{
	uint64_t	x = (h ^ (h >> 29)) * FINAL_MULT;

	v[x >> 56] += pm[(x >> 55) & 1];
}

/* The whole word, from the tokeniser's 32-bit FNV-1a hash. */
static inline void
add_word(float *v, uint32_t h, float w)
{
	h = sa_fmix32(h ^ WORD_SALT);
	v[h & (SA_EMBEDDING_DIMS - 1)] += (h & 0x100) ? w : -w;
}

static float
idf_of(uint32_t key)
{
	uint32_t	mask = (1u << sa_idf_bits) - 1;
	uint32_t	slot;

	if (key == 0)
		key = 1;
	slot = (key * 0x9E3779B1u) >> (32 - sa_idf_bits);
	for (;;)
	{
		if (sa_idf_keys[slot] == key)
			return sa_idf_values[slot] / 16.0f;
		if (sa_idf_keys[slot] == 0)
			return sa_idf_default / 16.0f;
		slot = (slot + 1) & mask;
	}
}

/* The 3-, 4- and 5-grams of c[0..n) (the padded word) into v. */
static void
add_ngrams(float *v, const uint32_t *c, size_t n, float w)
{
	const float pm[2] = {-w, w};

	for (size_t i = 0; i + 3 <= n; i++)
	{
		uint64_t	h = c[i] * pos_mult[0] + c[i + 1] * pos_mult[1] +
			c[i + 2] * pos_mult[2];

		add_gram(v, h + 3 * LEN_SALT, pm);
		if (i + 4 > n)
			continue;
		h += c[i + 3] * pos_mult[3];
		add_gram(v, h + 4 * LEN_SALT, pm);
		if (i + 5 > n)
			continue;
		h += c[i + 4] * pos_mult[4];
		add_gram(v, h + 5 * LEN_SALT, pm);
	}
}

sa_error
sa_embed(sa_scratch *sc, float *vec)
{
	float		v[SA_EMBEDDING_DIMS];
	float		lane[8] = {0};
	double		norm = 0.0;

	memset(v, 0, sizeof(v));
	for (size_t i = 0; i < sc->ntoks; i++)
	{
		const sa_token *t = &sc->toks[i];
		const unsigned char *w = (const unsigned char *) sc->lower.data + t->off;
		float		idf = idf_of(t->hash);
		size_t		n = 0;

		add_word(v, t->hash, WORD_WEIGHT * idf);

		/* "<" + code points + ">" */
		if ((size_t) t->len + 2 > sc->cps_cap &&
			sa_grow_array((void **) &sc->cps, &sc->cps_cap, (size_t) t->len + 2,
						  sizeof(uint32_t)) != 0)
			return SA_ERR_NOMEM;
		sc->cps[n++] = '<';
		if (t->flags & SA_TOK_ASCII)
		{
			for (size_t k = 0; k < t->len; k++)
				sc->cps[n++] = w[k];
		}
		else
		{
			size_t		pos = 0;

			while (pos < t->len)
				sc->cps[n++] = sa_utf8_next(w, t->len, &pos);
		}
		sc->cps[n++] = '>';
		add_ngrams(v, sc->cps, n, idf);
	}

	/* eight float lanes, so the compiler can vectorise the sum */
	for (int d = 0; d < SA_EMBEDDING_DIMS; d += 8)
		for (int k = 0; k < 8; k++)
			lane[k] += v[d + k] * v[d + k];
	for (int k = 0; k < 8; k++)
		norm += lane[k];
	if (norm > 0.0 && isfinite(norm))
	{
		float		inv = (float) (1.0 / sqrt(norm));

		for (int d = 0; d < SA_EMBEDDING_DIMS; d++)
			vec[d] = v[d] * inv;
	}
	else
		memset(vec, 0, sizeof(float) * SA_EMBEDDING_DIMS);
	return SA_OK;
}
