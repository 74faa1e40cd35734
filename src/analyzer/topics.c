/*
 * topics.c - the user topic dictionary and topic matching.
 *
 * A dictionary maps topic keys to keywords and multi-word phrases.  Phrases
 * are tokenised with the analyser's own tokeniser (so "Postgres 15!" is the
 * token sequence postgres, 15) and stored in a trie whose edges are tokens;
 * the edges live in one open-addressing table keyed by (parent, token).
 *
 * Matching walks the token stream once, left to right, carrying the set of
 * trie nodes reached by the phrases still open; a phrase has at most
 * SA_TOPIC_MAX_TOKENS tokens, so that set is small and the walk is linear
 * in the text.  Phrases never match across . , ; : ! ? (a new sentence or
 * list item is a new context), so a phrase with such a character between
 * its words is refused.  Every hashtag is a topic of its own too,
 * keyed by the lower-cased tag without '#', weight 1, and its word also
 * takes part in phrase matching ("#Postgres" matches the keyword postgres).
 *
 * Each match carries the VADER compound of its clause (see
 * analysis_internal.h for the clause rule).  Matches of the same key are
 * merged: weights add up, the sentiment is their weight-averaged compound.
 * At most SA_MAX_TOPICS distinct keys are kept, first matched first.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "models_internal.h"

/* Limits on dictionary entries, so a bad row cannot bloat every worker. */
#define SA_TOPIC_KEY_MAX		128 /* bytes */
#define SA_TOPIC_PHRASE_MAX		512 /* bytes */
#define SA_TOPIC_MAX_TOKENS		16
#define SA_TOPIC_WEIGHT_MAX		1000.0
#define HASHTAG_WEIGHT			1.0

typedef struct trie_node
{
	uint32_t	parent;
	uint32_t	hash;			/* token hash of the edge into this node */
	uint32_t	label_off;		/* token bytes in topics->labels */
	uint32_t	label_len;
	uint32_t	first_out;		/* 1-based index into outs, 0 = none */
} trie_node;

typedef struct trie_out
{
	uint32_t	key;			/* index into keys */
	uint32_t	next;			/* 1-based, 0 = end */
	double		weight;
} trie_out;

typedef struct topic_key
{
	char	   *str;			/* own allocation: never moves, so matches may
								 * point at it */
	uint32_t	len;
	uint32_t	hash;
} topic_key;

struct sa_topics
{
	topic_key  *keys;
	size_t		nkeys;
	size_t		keys_cap;
	uint32_t   *key_slots;		/* open addressing, key index + 1 */
	size_t		key_slots_cap;	/* power of two (or 0) */

	trie_node  *nodes;			/* nodes[0] is the root */
	size_t		nnodes;
	size_t		nodes_cap;
	uint32_t   *edge_slots;		/* open addressing, child node index (root
								 * is never a child, so 0 = empty) */
	size_t		edge_slots_cap;
	trie_out   *outs;
	size_t		nouts;
	size_t		outs_cap;
	sa_buf		labels;

	/*
	 * Bit (hash & 4095) is set for the first token of every phrase: most
	 * tokens start no phrase, and this rejects them without a probe.
	 */
	uint64_t	first_token[64];

	sa_scratch *scratch;		/* tokenises phrases at add time */
};

sa_error
sa_topics_create(sa_topics **out)
{
	sa_topics  *t;

	if (out == NULL)
		return SA_ERR_ARGUMENT;
	*out = NULL;
	t = calloc(1, sizeof(sa_topics));
	if (t == NULL)
		return SA_ERR_NOMEM;
	if (sa_scratch_create(&t->scratch) != SA_OK ||
		sa_grow_array((void **) &t->nodes, &t->nodes_cap, 1, sizeof(trie_node)) != 0)
	{
		sa_topics_destroy(t);
		return SA_ERR_NOMEM;
	}
	memset(&t->nodes[0], 0, sizeof(trie_node));
	t->nnodes = 1;
	*out = t;
	return SA_OK;
}

void
sa_topics_destroy(sa_topics *topics)
{
	if (topics == NULL)
		return;
	for (size_t i = 0; i < topics->nkeys; i++)
		free(topics->keys[i].str);
	free(topics->keys);
	free(topics->key_slots);
	free(topics->nodes);
	free(topics->edge_slots);
	free(topics->outs);
	sa_buf_free(&topics->labels);
	sa_scratch_destroy(topics->scratch);
	free(topics);
}

static inline uint32_t
edge_hash(uint32_t parent, uint32_t tokhash)
{
	return sa_fmix32(parent * 0x9E3779B1u + tokhash);
}

/* Child of parent along token (hash h, bytes s/len), or 0 when none. */
static uint32_t
find_child(const sa_topics *t, uint32_t parent, uint32_t h, const char *s, size_t len)
{
	size_t		mask;
	size_t		slot;

	if (t->edge_slots_cap == 0)
		return 0;
	mask = t->edge_slots_cap - 1;
	slot = edge_hash(parent, h) & mask;
	for (;;)
	{
		uint32_t	c = t->edge_slots[slot];
		const trie_node *n;

		if (c == 0)
			return 0;
		n = &t->nodes[c];
		if (n->parent == parent && n->hash == h && n->label_len == len &&
			memcmp(t->labels.data + n->label_off, s, len) == 0)
			return c;
		slot = (slot + 1) & mask;
	}
}

static void
edge_insert(uint32_t *slots, size_t cap, const trie_node *nodes, uint32_t child)
{
	size_t		mask = cap - 1;
	size_t		slot = edge_hash(nodes[child].parent, nodes[child].hash) & mask;

	while (slots[slot] != 0)
		slot = (slot + 1) & mask;
	slots[slot] = child;
}

/* Keep the edge table at most half full. */
static int
edge_reserve(sa_topics *t, size_t edges)
{
	size_t		cap = t->edge_slots_cap ? t->edge_slots_cap : 64;
	uint32_t   *slots;

	if (edges * 2 <= t->edge_slots_cap)
		return 0;
	while (cap < edges * 2)
	{
		if (cap > SIZE_MAX / 2 / sizeof(uint32_t))
			return -1;
		cap *= 2;
	}
	slots = calloc(cap, sizeof(uint32_t));
	if (slots == NULL)
		return -1;
	for (size_t i = 1; i < t->nnodes; i++)
		edge_insert(slots, cap, t->nodes, (uint32_t) i);
	free(t->edge_slots);
	t->edge_slots = slots;
	t->edge_slots_cap = cap;
	return 0;
}

static uint32_t
add_child(sa_topics *t, uint32_t parent, uint32_t h, const char *s, size_t len)
{
	trie_node  *n;
	uint32_t	id;

	if (t->nnodes >= UINT32_MAX - 1 || t->labels.len + len > UINT32_MAX ||
		edge_reserve(t, t->nnodes) != 0 ||
		sa_grow_array((void **) &t->nodes, &t->nodes_cap, t->nnodes + 1,
					  sizeof(trie_node)) != 0 ||
		sa_buf_reserve(&t->labels, len) != 0)
		return 0;
	id = (uint32_t) t->nnodes++;
	n = &t->nodes[id];
	n->parent = parent;
	n->hash = h;
	n->label_off = (uint32_t) t->labels.len;
	n->label_len = (uint32_t) len;
	n->first_out = 0;
	memcpy(t->labels.data + t->labels.len, s, len);
	t->labels.len += len;
	edge_insert(t->edge_slots, t->edge_slots_cap, t->nodes, id);
	return id;
}

/* Index of key (interned on first use), or -1 on out of memory. */
static int64_t
intern_key(sa_topics *t, const char *key, size_t len)
{
	uint32_t	h = sa_fnv1a(key, len);
	size_t		mask;
	size_t		slot;
	topic_key  *k;

	/* Grow the key table at half load, rehashing every key. */
	if ((t->nkeys + 1) * 2 > t->key_slots_cap)
	{
		size_t		cap = t->key_slots_cap ? t->key_slots_cap * 2 : 64;
		uint32_t   *slots = calloc(cap, sizeof(uint32_t));

		if (slots == NULL)
			return -1;
		for (size_t i = 0; i < t->nkeys; i++)
		{
			slot = t->keys[i].hash & (cap - 1);
			while (slots[slot] != 0)
				slot = (slot + 1) & (cap - 1);
			slots[slot] = (uint32_t) i + 1;
		}
		free(t->key_slots);
		t->key_slots = slots;
		t->key_slots_cap = cap;
	}
	mask = t->key_slots_cap - 1;
	slot = h & mask;
	while (t->key_slots[slot] != 0)
	{
		k = &t->keys[t->key_slots[slot] - 1];
		if (k->hash == h && k->len == len && memcmp(k->str, key, len) == 0)
			return t->key_slots[slot] - 1;
		slot = (slot + 1) & mask;
	}
	if (t->nkeys >= UINT32_MAX - 1 ||
		sa_grow_array((void **) &t->keys, &t->keys_cap, t->nkeys + 1,
					  sizeof(topic_key)) != 0)
		return -1;
	k = &t->keys[t->nkeys];
	k->str = malloc(len + 1);
	if (k->str == NULL)
		return -1;
	memcpy(k->str, key, len);
	k->str[len] = '\0';
	k->len = (uint32_t) len;
	k->hash = h;
	t->key_slots[slot] = (uint32_t) ++t->nkeys;
	return (int64_t) t->nkeys - 1;
}

/*
 * True when s is well-formed UTF-8 (a decoded U+FFFD must really be the
 * three bytes EF BF BD) and, when no_controls, has no C0/C1 control or DEL.
 */
static bool
valid_text(const char *s, size_t len, bool no_controls)
{
	const unsigned char *p = (const unsigned char *) s;
	size_t		pos = 0;

	while (pos < len)
	{
		size_t		at = pos;
		uint32_t	cp = sa_utf8_next(p, len, &pos);

		if (cp == SA_REPLACEMENT_CHAR &&
			!(pos - at == 3 && p[at] == 0xEF && p[at + 1] == 0xBF && p[at + 2] == 0xBD))
			return false;
		if (no_controls && (cp < 0x20 || (cp >= 0x7F && cp < 0xA0)))
			return false;
	}
	return true;
}

sa_error
sa_topics_add(sa_topics *topics, const char *topic_key, size_t key_len,
			  const char *phrase, size_t phrase_len, double weight)
{
	sa_scratch *sc;
	uint32_t	node = 0;
	int64_t		key;
	sa_error	err;

	if (topics == NULL || (topic_key == NULL && key_len > 0) ||
		(phrase == NULL && phrase_len > 0))
		return SA_ERR_ARGUMENT;
	if (!isfinite(weight) || weight <= 0.0 || weight > SA_TOPIC_WEIGHT_MAX)
		return SA_ERR_ARGUMENT;
	if (key_len == 0 || key_len > SA_TOPIC_KEY_MAX ||
		!valid_text(topic_key, key_len, true))
		return SA_ERR_SYNTAX;
	if (phrase_len == 0 || phrase_len > SA_TOPIC_PHRASE_MAX ||
		!valid_text(phrase, phrase_len, false))
		return SA_ERR_SYNTAX;

	sc = topics->scratch;
	err = sa_tokenize(sc, phrase, phrase_len);
	if (err != SA_OK)
		return err;
	/* Nothing matchable ("!!!"), or longer than the matcher tracks. */
	if (sc->ntoks == 0 || sc->ntoks > SA_TOPIC_MAX_TOKENS)
		return SA_ERR_SYNTAX;
	/* Matches never cross . , ; : ! ? so such a phrase could never match. */
	for (size_t i = 1; i < sc->ntoks; i++)
		if (sc->toks[i].flags & SA_TOK_BREAK)
			return SA_ERR_SYNTAX;

	key = intern_key(topics, topic_key, key_len);
	if (key < 0)
		return SA_ERR_NOMEM;
	topics->first_token[(sc->toks[0].hash >> 6) & 63] |= (uint64_t) 1 << (sc->toks[0].hash & 63);

	for (size_t i = 0; i < sc->ntoks; i++)
	{
		const sa_token *tok = &sc->toks[i];
		const char *s = sc->lower.data + tok->off;
		uint32_t	child = find_child(topics, node, tok->hash, s, tok->len);

		if (child == 0)
			child = add_child(topics, node, tok->hash, s, tok->len);
		if (child == 0)
			return SA_ERR_NOMEM;
		node = child;
	}

	/* The same phrase again for the same key: the new weight replaces. */
	for (uint32_t o = topics->nodes[node].first_out; o != 0; o = topics->outs[o - 1].next)
	{
		if (topics->outs[o - 1].key == (uint32_t) key)
		{
			topics->outs[o - 1].weight = weight;
			return SA_OK;
		}
	}
	if (topics->nouts >= UINT32_MAX - 1 ||
		sa_grow_array((void **) &topics->outs, &topics->outs_cap, topics->nouts + 1,
					  sizeof(trie_out)) != 0)
		return SA_ERR_NOMEM;
	topics->outs[topics->nouts].key = (uint32_t) key;
	topics->outs[topics->nouts].weight = weight;
	topics->outs[topics->nouts].next = topics->nodes[node].first_out;
	topics->nodes[node].first_out = (uint32_t) ++topics->nouts;
	return SA_OK;
}

/* Compound of the clause, scored once per clause and call. */
static sa_error
clause_compound(sa_scratch *sc, uint32_t ci, const sa_lexicon *lex,
				sa_workspace *ws, sa_model model, const char *language, const char *text,
				const sa_sentiment *whole, size_t text_len, double *compound)
{
	sa_clause  *cl = &sc->clauses[ci];

	if (!cl->scored)
	{
		if (cl->start == 0 && cl->end == text_len)
			cl->compound = whole->compound;	/* one clause: already scored */
		else
		{
			sa_sentiment s;
			/* a model that reads the language: that of the whole text */
			sa_error	err = sa_model_score(lex, ws, model, language, text + cl->start,
											 cl->end - cl->start, &s);

			if (err != SA_OK)
				return err;
			cl->compound = s.compound;
		}
		cl->scored = true;
	}
	*compound = cl->compound;
	return SA_OK;
}

/* Merge one match into out->topics. */
static void
add_match(sa_analysis *out, const char *key, size_t key_len, double weight,
		  double compound)
{
	for (size_t i = 0; i < out->n_topics; i++)
	{
		sa_topic_match *m = &out->topics[i];

		if (m->key_len == key_len && memcmp(m->key, key, key_len) == 0)
		{
			double		w = m->weight + weight;

			m->sentiment = (m->sentiment * m->weight + compound * weight) / w;
			m->weight = w;
			return;
		}
	}
	if (out->n_topics < SA_MAX_TOPICS)
	{
		sa_topic_match *m = &out->topics[out->n_topics++];

		m->key = key;
		m->key_len = key_len;
		m->weight = weight;
		m->sentiment = compound;
	}
}

sa_error
sa_topics_match(const sa_topics *topics, sa_scratch *sc, const sa_lexicon *lex,
				sa_workspace *ws, sa_model model, const char *text, const sa_sentiment *whole,
				sa_analysis *out)
{
	uint32_t	active[SA_TOPIC_MAX_TOKENS + 1];
	uint32_t	next[SA_TOPIC_MAX_TOKENS + 1];
	size_t		nactive = 0;
	size_t		text_len = sc->nclauses ? sc->clauses[sc->nclauses - 1].end : 0;
	bool		have_dict = topics != NULL && topics->nouts > 0;

	out->n_topics = 0;
	for (size_t i = 0; i < sc->ntoks; i++)
	{
		const sa_token *tok = &sc->toks[i];
		const char *s = sc->lower.data + tok->off;
		double		compound;
		sa_error	err;

		if ((tok->flags & SA_TOK_HASHTAG) && tok->len <= SA_TOPIC_KEY_MAX)
		{
			err = clause_compound(sc, tok->clause, lex, ws, model, out->language, text, whole,
								 text_len, &compound);
			if (err != SA_OK)
				return err;
			add_match(out, s, tok->len, HASHTAG_WEIGHT, compound);
		}
		if (!have_dict)
			continue;

		if (tok->flags & SA_TOK_BREAK)
			nactive = 0;
		/* Advance every open phrase, and try a new one from the root. */
		if (topics->first_token[(tok->hash >> 6) & 63] & ((uint64_t) 1 << (tok->hash & 63)))
			active[nactive++] = 0;
		{
			size_t		nnext = 0;

			for (size_t a = 0; a < nactive; a++)
			{
				uint32_t	child = find_child(topics, active[a], tok->hash, s, tok->len);

				if (child == 0)
					continue;
				for (uint32_t o = topics->nodes[child].first_out; o != 0;
					 o = topics->outs[o - 1].next)
				{
					const trie_out *to = &topics->outs[o - 1];
					const topic_key *k = &topics->keys[to->key];

					err = clause_compound(sc, tok->clause, lex, ws, model, out->language, text, whole,
										  text_len, &compound);
					if (err != SA_OK)
						return err;
					add_match(out, k->str, k->len, to->weight, compound);
				}
				/* a node SA_TOPIC_MAX_TOKENS deep has no children */
				if (nnext < SA_TOPIC_MAX_TOKENS)
					next[nnext++] = child;
			}
			memcpy(active, next, nnext * sizeof(uint32_t));
			nactive = nnext;
		}
	}
	return SA_OK;
}
