/*
 * lexicon_internal.h - the lexicon's hash table and the generated tables it
 * is built from.  Internal to src/analyzer.
 *
 * One open-addressing table maps a lower-cased token to everything the
 * VADER rules need to know about it, so scoring does one look-up per token:
 * its valence (when it is a lexicon word), whether it is a negation, a
 * booster or a dampener, and a small word id for the words the rules test
 * by name ("no", "but", "least", the special-phrase words, ...).  User
 * overrides change only the valence part; the rule words are fixed.
 */
#ifndef SA_LEXICON_INTERNAL_H
#define SA_LEXICON_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "analyzer.h"

/* Tables written by tools/gen-lexicon.mjs into generated/lexicon_data.c. */
extern const size_t sa_lexdata_nwords;
extern const char sa_lexdata_words[];	/* NUL-separated, byte order */
extern const uint32_t sa_lexdata_word_off[];
extern const double sa_lexdata_valence[];
extern const size_t sa_lexdata_nemoji;
extern const uint32_t sa_lexdata_emoji_cp[];	/* ascending */
extern const uint32_t sa_lexdata_emoji_off[];
extern const char sa_lexdata_emoji_text[];	/* NUL-separated */
extern const size_t sa_lexdata_emoji_nbits;	/* 64-bit words in the bitmap */
extern const uint64_t sa_lexdata_emoji_bits[];	/* bit cp set: cp is mapped */
extern const uint16_t sa_lexdata_emoji_base[];	/* index of the word's first */

/* Entry flags (also reused as token flags by the scorer). */
#define SA_W_LEX		0x01	/* has a valence */
#define SA_W_NEG		0x02	/* in VADER's negation list */
#define SA_W_BOOST		0x04	/* booster, +B_INCR */
#define SA_W_DAMP		0x08	/* dampener, B_DECR */

/* Words the rules refer to by name. */
typedef enum sa_word_id
{
	SA_WID_NONE = 0,
	SA_WID_NO, SA_WID_OR, SA_WID_NOR, SA_WID_BUT, SA_WID_KIND, SA_WID_OF,
	SA_WID_LEAST, SA_WID_AT, SA_WID_VERY, SA_WID_NEVER, SA_WID_SO, SA_WID_THIS,
	SA_WID_WITHOUT, SA_WID_DOUBT,
	/* words of the special phrases and multi-word dampeners */
	SA_WID_THE, SA_WID_SHIT, SA_WID_BOMB, SA_WID_BAD, SA_WID_ASS, SA_WID_BUS,
	SA_WID_STOP, SA_WID_YEAH, SA_WID_RIGHT, SA_WID_KISS, SA_WID_DEATH,
	SA_WID_TO, SA_WID_DIE, SA_WID_FOR, SA_WID_BEATING, SA_WID_HEART,
	SA_WID_BROKEN, SA_WID_JUST, SA_WID_ENOUGH, SA_WID_SORT
} sa_word_id;

typedef struct sa_lexentry
{
	const char *key;			/* not NUL-terminated */
	double		valence;		/* meaningful when flags & SA_W_LEX */
	uint32_t	hash;
	uint32_t	len;
	uint8_t		flags;
	uint8_t		wid;			/* sa_word_id */
	uint8_t		owned;			/* key was malloc'ed by an override */
	uint8_t		used;			/* slot occupied */
} sa_lexentry;

struct sa_lexicon
{
	/*
	 * tags[i] is 0 for an empty slot, else the slot's hash with the low bit
	 * set.  Most tokens are not in the table, and probing this 4-byte array
	 * instead of the 32-byte entries keeps those misses in cache.
	 */
	uint32_t   *tags;
	sa_lexentry *slots;
	size_t		mask;			/* capacity - 1, capacity a power of two */
	size_t		nused;			/* occupied slots */
	size_t		nwords;			/* entries with SA_W_LEX */
};

/* Hash used for keys; scorers may compute it while lower-casing. */
#define SA_HASH_INIT	2166136261u
#define SA_HASH_STEP(h, c)	(((h) ^ (uint8_t) (c)) * 16777619u)

static inline uint32_t
sa_lex_hash(const char *s, size_t len)
{
	uint32_t	h = SA_HASH_INIT;

	for (size_t i = 0; i < len; i++)
		h = SA_HASH_STEP(h, s[i]);
	return h;
}

/* The entry for a lower-cased key, or NULL (inline: once per token). */
#define SA_LEX_TAG(hash) ((hash) | 1u)

static inline const sa_lexentry *
sa_lexicon_find(const sa_lexicon *lex, const char *key, size_t len, uint32_t hash)
{
	size_t		i = hash & lex->mask;
	uint32_t	tag = SA_LEX_TAG(hash);

	for (;;)
	{
		uint32_t	t = lex->tags[i];

		if (t == 0)
			return NULL;
		if (t == tag)
		{
			const sa_lexentry *e = &lex->slots[i];

			if (e->hash == hash && e->len == len)
			{
				size_t		k = 0;

				/* keys are short: a plain loop beats a memcmp call */
				while (k < len && e->key[k] == key[k])
					k++;
				if (k == len)
					return e;
			}
		}
		i = (i + 1) & lex->mask;
	}
}

/* Emoji description for a code point, or NULL; *len gets its length. */
extern const char *sa_emoji_description(uint32_t cp, size_t *len);

/* VADER's largest accepted user valence in absolute value (see lexicon.c). */
#define SA_MAX_USER_VALENCE 1000.0

#endif							/* SA_LEXICON_INTERNAL_H */
