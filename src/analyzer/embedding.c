/*
 * embedding.c - a 256-dimensional text vector by signed feature hashing.
 *
 * Each token contributes its whole word (weight 2) and every character
 * 3-, 4- and 5-gram of the word padded as "<word>" (weight 1), all scaled by
 * the word's idf (embedding_idf.c).  A feature's 32-bit hash picks the
 * dimension (low 8 bits) and the sign (bit 8); signs make colliding
 * features cancel on average instead of piling up.  The n-grams give
 * partial credit to inflections and typos ("measures" / "measuring"), the
 * whole word gives exact matches more, and idf keeps "the", "a", "is" from
 * dominating.  The vector is L2-normalised, so the dot product of two
 * embeddings is their cosine; an input without tokens gives the zero vector.
 */
#include <math.h>
#include <string.h>

#include "analysis_internal.h"

#define WORD_SALT	0x5BD1E995u
#define WORD_WEIGHT 2.0f

static inline void
add_hashed(float *v, uint32_t h, float w)
{
	h = sa_fmix32(h);
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

/*
 * Hash the 3-, 4- and 5-grams of "<word>" into v.  gram holds the padded
 * bytes and cpoff[i] the byte offset of code point i (cpoff[ncp] = end);
 * one FNV-1a pass from each start yields the three lengths in turn, and the
 * n-gram length is added to the hash so "<a>" as a 3-gram and a 4-gram
 * that happened to share bytes would still differ.
 */
static void
add_ngrams(float *v, const char *gram, const uint32_t *cpoff, size_t ncp, float w)
{
	for (size_t i = 0; i + 3 <= ncp; i++)
	{
		uint32_t	h = sa_fnv1a(gram + cpoff[i], cpoff[i + 3] - cpoff[i]);

		add_hashed(v, h + 3, w);
		if (i + 4 > ncp)
			continue;
		h = sa_fnv1a_update(h, gram + cpoff[i + 3], cpoff[i + 4] - cpoff[i + 3]);
		add_hashed(v, h + 4, w);
		if (i + 5 > ncp)
			continue;
		h = sa_fnv1a_update(h, gram + cpoff[i + 4], cpoff[i + 5] - cpoff[i + 4]);
		add_hashed(v, h + 5, w);
	}
}

/*
 * The same n-grams for an ASCII word, read in place: code points are bytes
 * and the padding is virtual, so nothing is copied (the common case).
 */
static void
add_ngrams_ascii(float *v, const unsigned char *w, size_t len, float wt)
{
	size_t		plen = len + 2;

#define PADDED(j) ((j) == 0 ? '<' : (j) == plen - 1 ? '>' : w[(j) - 1])
	for (size_t i = 0; i + 3 <= plen; i++)
	{
		uint32_t	h = SA_FNV_SEED;

		h = (h ^ PADDED(i)) * 0x01000193u;
		h = (h ^ PADDED(i + 1)) * 0x01000193u;
		h = (h ^ PADDED(i + 2)) * 0x01000193u;
		add_hashed(v, h + 3, wt);
		if (i + 4 > plen)
			continue;
		h = (h ^ PADDED(i + 3)) * 0x01000193u;
		add_hashed(v, h + 4, wt);
		if (i + 5 > plen)
			continue;
		h = (h ^ PADDED(i + 4)) * 0x01000193u;
		add_hashed(v, h + 5, wt);
	}
#undef PADDED
}

sa_error
sa_embed(sa_scratch *sc, float *vec)
{
	float		v[SA_EMBEDDING_DIMS];
	double		norm = 0.0;

	memset(v, 0, sizeof(v));
	for (size_t i = 0; i < sc->ntoks; i++)
	{
		const sa_token *t = &sc->toks[i];
		const unsigned char *w = (const unsigned char *) sc->lower.data + t->off;
		float		idf = idf_of(t->hash);
		size_t		pos;
		size_t		ncp = 0;		/* code points in "<word>" */

		add_hashed(v, t->hash ^ WORD_SALT, WORD_WEIGHT * idf);
		if (sa_text_is_ascii((const char *) w, t->len))
		{
			add_ngrams_ascii(v, w, t->len, idf);
			continue;
		}

		/* "<" + word + ">" and its code point offsets */
		sc->gram.len = 0;
		if (sa_buf_reserve(&sc->gram, (size_t) t->len + 2) != 0 ||
			sa_grow_array((void **) &sc->cpoff, &sc->cpoff_cap,
						  (size_t) t->len + 3, sizeof(uint32_t)) != 0)
			return SA_ERR_NOMEM;
		sc->gram.data[0] = '<';
		memcpy(sc->gram.data + 1, w, t->len);
		sc->gram.data[t->len + 1] = '>';
		sc->gram.len = (size_t) t->len + 2;
		sc->cpoff[ncp++] = 0;		/* '<' */
		sc->cpoff[ncp++] = 1;		/* first code point of the word */
		pos = 1;
		while (pos < (size_t) t->len + 1)
		{
			(void) sa_utf8_next((const unsigned char *) sc->gram.data,
								(size_t) t->len + 1, &pos);
			sc->cpoff[ncp++] = (uint32_t) pos;	/* the last one is '>' */
		}
		sc->cpoff[ncp] = (uint32_t) sc->gram.len;	/* end, not a start */
		add_ngrams(v, sc->gram.data, sc->cpoff, ncp, idf);
	}

	for (int d = 0; d < SA_EMBEDDING_DIMS; d++)
		norm += (double) v[d] * v[d];
	if (norm > 0.0 && isfinite(norm))
	{
		double		inv = 1.0 / sqrt(norm);

		for (int d = 0; d < SA_EMBEDDING_DIMS; d++)
			vec[d] = (float) (v[d] * inv);
	}
	else
		memset(vec, 0, sizeof(float) * SA_EMBEDDING_DIMS);
	return SA_OK;
}
