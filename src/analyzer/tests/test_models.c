/*
 * test_models.c - the trained models and the model-aware API: model names
 * and versions, the linked-in files' checksums, the social model's
 * probabilities and labels, determinism, sa_analyze_model() and its topic
 * sentiment, sa_explain() on known texts (VADER's valences after its rules;
 * the social model's contributions adding up to its log-odds), bad input
 * through every new function, and dev-set floors for both trained models
 * (skipped, saying so, when ../shared/data is absent); one pass of the
 * features for two models giving each exactly its own features.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "model_internal.h"
#include "check.h"

#ifndef SA_REPO_ROOT
#define SA_REPO_ROOT ".."
#endif

#define EMOTION_FLOOR 0.575		/* measured 0.5796 when committed (version 4) */
#define ECE_BINS	15
#define ECE_GOAL	0.05		/* expected calibration error on the dev sets */

/* Top-label reliability: per equal-width confidence bin, rows, confidence, hits. */
typedef struct reliability
{
	double		n[ECE_BINS],
				conf[ECE_BINS],
				hit[ECE_BINS];
} reliability;

static void
rel_add(reliability *r, double conf, bool right)
{
	int			b = (int) (conf * ECE_BINS);

	if (b >= ECE_BINS)
		b = ECE_BINS - 1;
	if (b < 0)
		b = 0;
	r->n[b] += 1;
	r->conf[b] += conf;
	r->hit[b] += right;
}

/* Expected calibration error: sum over bins of |hits - confidence| / rows. */
static double
rel_ece(const reliability *r)
{
	double		e = 0,
				n = 0;

	for (int b = 0; b < ECE_BINS; b++)
	{
		e += fabs(r->hit[b] - r->conf[b]);
		n += r->n[b];
	}
	return n > 0 ? e / n : 1.0;
}

static sa_lexicon *lex;
static sa_workspace *ws;

static sa_sentiment
social(const char *text)
{
	sa_sentiment s;
	sa_error	err = sa_sentiment_score_model(lex, ws, SA_MODEL_SOCIAL, text, strlen(text), &s);

	CHECK_MSG(err == SA_OK, "social(\"%s\") = %d", text, (int) err);
	CHECK_MSG(s.neg >= 0 && s.neu >= 0 && s.pos >= 0 &&
			  fabs(s.neg + s.neu + s.pos - 1.0) < 1e-12 &&
			  s.compound == s.pos - s.neg,
			  "\"%s\": probabilities %f %f %f compound %f", text, s.neg, s.neu, s.pos, s.compound);
	/* the label is the most probable class */
	CHECK_MSG((s.label == SA_LABEL_NEGATIVE && s.neg >= s.neu && s.neg >= s.pos) ||
			  (s.label == SA_LABEL_NEUTRAL && s.neu >= s.neg && s.neu >= s.pos) ||
			  (s.label == SA_LABEL_POSITIVE && s.pos >= s.neg && s.pos >= s.neu),
			  "\"%s\": label %d for %f %f %f", text, (int) s.label, s.neg, s.neu, s.pos);
	return s;
}

static void
expect_social(const char *text, sa_label want)
{
	sa_sentiment s = social(text);

	CHECK_MSG(s.label == want, "\"%s\": social label %s (%.3f %.3f %.3f), expected %s", text,
			  sa_label_name(s.label), s.neg, s.neu, s.pos, sa_label_name(want));
}

static bool
same(const sa_sentiment *x, const sa_sentiment *y)
{
	return x->compound == y->compound && x->pos == y->pos && x->neu == y->neu &&
		x->neg == y->neg && x->label == y->label;
}

static void
test_registry(void)
{
	sa_model	m;
	sa_model_info info;

	CHECK(strcmp(sa_model_name(SA_MODEL_VADER), "vader") == 0);
	CHECK(strcmp(sa_model_name(SA_MODEL_SOCIAL), "social") == 0);
	CHECK(strcmp(sa_model_name(SA_MODEL_COUNT), "unknown") == 0);
	CHECK(strcmp(sa_model_name((sa_model) -1), "unknown") == 0);
	CHECK(sa_model_from_name("social", 6, &m) == SA_OK && m == SA_MODEL_SOCIAL);
	CHECK(sa_model_from_name("vader", 5, &m) == SA_OK && m == SA_MODEL_VADER);
	CHECK(sa_model_from_name("Social", 6, &m) == SA_ERR_ARGUMENT);
	CHECK(sa_model_from_name("soc", 3, &m) == SA_ERR_ARGUMENT);
	CHECK(sa_model_from_name("socialx", 7, &m) == SA_ERR_ARGUMENT);
	CHECK(sa_model_from_name(NULL, 0, &m) == SA_ERR_ARGUMENT);
	CHECK(sa_model_from_name("vader", 5, NULL) == SA_ERR_ARGUMENT);

	CHECK(sa_model_get_info(SA_MODEL_VADER, &info) == SA_OK &&
		  strcmp(info.version_string, "vader-3.3.2") == 0 && info.file_bytes == 0);
	CHECK(sa_model_get_info(SA_MODEL_SOCIAL, &info) == SA_OK &&
		  strcmp(info.name, "social") == 0 && info.version >= 1 &&
		  strncmp(info.version_string, "social-", 7) == 0 &&
		  info.checksum == sa_model_social_data.checksum &&
		  info.file_bytes > SA_MODEL_HEADER_BYTES && info.file_bytes < 2000000);
	CHECK(sa_emotion_model_info(&info) == SA_OK && strcmp(info.name, "emotion") == 0 &&
		  strncmp(info.version_string, "emotion-", 8) == 0 && info.file_bytes < 2000000);
	CHECK(sa_model_get_info(SA_MODEL_COUNT, &info) == SA_ERR_ARGUMENT);
	CHECK(sa_model_get_info(SA_MODEL_SOCIAL, NULL) == SA_ERR_ARGUMENT);
	CHECK(sa_emotion_model_info(NULL) == SA_ERR_ARGUMENT);

	/* the listing (sentiment_models()): each sentiment model, then emotion */
	for (int i = 0; i < SA_MODEL_COUNT; i++)
	{
		sa_model_info one;

		/* a constant without its row would have no name */
		CHECK(sa_model_list((size_t) i, &info) == SA_OK && sa_model_get_info((sa_model) i, &one) == SA_OK &&
			  info.name != NULL && info.kind != NULL && info.version_string != NULL &&
			  strcmp(info.name, sa_model_name((sa_model) i)) == 0 && strcmp(info.name, one.name) == 0 &&
			  strcmp(info.kind, "sentiment") == 0 && strcmp(info.version_string, one.version_string) == 0 &&
			  info.is_default == (i == SA_MODEL_VADER));
	}
	CHECK(sa_model_list(SA_MODEL_COUNT, &info) == SA_OK && strcmp(info.name, "emotion") == 0 &&
		  strcmp(info.kind, "emotion") == 0 && !info.is_default &&
		  strncmp(info.version_string, "emotion-", 8) == 0);
	CHECK(sa_model_list(SA_MODEL_COUNT + 1, &info) == SA_ERR_ARGUMENT);
	CHECK(sa_model_list(0, NULL) == SA_ERR_ARGUMENT);
	/* the hint naming the models, and a buffer too small for it */
	{
		char		buf[64];

		CHECK(sa_model_names_text(buf, sizeof(buf)) == strlen(buf) &&
			  strcmp(buf, "vader (the default), social and multilingual") == 0);
		CHECK(sa_model_names_text(buf, 10) == 0 && buf[0] == '\0');
		CHECK(sa_model_names_text(NULL, 10) == 0);
	}

	/* the linked-in bytes are the checked file */
	CHECK(sa_model_verify(SA_MODEL_SOCIAL) == SA_OK);
	CHECK(sa_model_verify(SA_MODEL_VADER) == SA_OK);
	CHECK(sa_emotion_model_verify() == SA_OK);
	CHECK(sa_model_verify((sa_model) 9) == SA_ERR_ARGUMENT);
	CHECK(memcmp(sa_model_social_data.file, "SAMODEL", 8) == 0);
	CHECK(sa_model_social_data.table == (const int8_t *) sa_model_social_data.file + SA_MODEL_HEADER_BYTES);
	CHECK(sa_model_social_data.file_len ==
		  SA_MODEL_HEADER_BYTES + ((size_t) 1 << sa_model_social_data.bits) * sa_model_social_data.lanes);
	/* the checksum covers the table: one changed byte changes it */
	{
		size_t		n = sa_model_social_data.file_len;
		unsigned char *copy = malloc(n);

		CHECK(copy != NULL);
		if (copy != NULL)
		{
			memcpy(copy, sa_model_social_data.file, n);
			CHECK(sa_model_file_checksum(copy, n) == sa_model_social_data.checksum);
			copy[n / 2] ^= 1;
			CHECK(sa_model_file_checksum(copy, n) != sa_model_social_data.checksum);
			free(copy);
		}
	}
}

static void
test_social(void)
{
	sa_sentiment a,
				b,
				v;
	sa_workspace *ws2;
	static char big[600000];

	expect_social("I love this so much, best day ever!", SA_LABEL_POSITIVE);
	expect_social("Thanks @john for the great show tonight :)", SA_LABEL_POSITIVE);
	expect_social("This is the worst service, I hate it", SA_LABEL_NEGATIVE);
	expect_social("so disappointed with the update, totally broken", SA_LABEL_NEGATIVE);
	expect_social("The meeting is on Tuesday at 3pm in room 4", SA_LABEL_NEUTRAL);
	expect_social("", SA_LABEL_NEUTRAL);
	expect_social("   ", SA_LABEL_NEUTRAL);
	/* normalisation: user names, links and elongation do not break it */
	expect_social("@someone sooooo happy with this!!! http://t.co/abc", SA_LABEL_POSITIVE);

	/* determinism: repeated, interleaved and in a fresh workspace */
	a = social("not bad at all, actually pretty good");
	(void) social("something else entirely #monday");
	b = social("not bad at all, actually pretty good");
	CHECK(same(&a, &b));
	CHECK(sa_workspace_create(&ws2) == SA_OK);
	CHECK(sa_sentiment_score_model(lex, ws2, SA_MODEL_SOCIAL, "not bad at all, actually pretty good",
								   36, &b) == SA_OK && same(&a, &b));
	sa_workspace_destroy(ws2);

	/* VADER through the model API is VADER, bit for bit */
	CHECK(sa_sentiment_score_model(lex, ws, SA_MODEL_VADER, "Great, but slow :(", 18, &a) == SA_OK);
	CHECK(sa_sentiment_score(lex, ws, "Great, but slow :(", 18, &v) == SA_OK && same(&a, &v));

	/* a big text scores (linear time; one feature row per few bytes) */
	for (size_t i = 0; i + 1 < sizeof(big); i++)
		big[i] = "good bad meh "[i % 13];
	CHECK(sa_sentiment_score_model(lex, ws, SA_MODEL_SOCIAL, big, sizeof(big) - 1, &a) == SA_OK &&
		  fabs(a.neg + a.neu + a.pos - 1.0) < 1e-9);
}

static void
test_bad_input(void)
{
	sa_sentiment s;
	sa_analysis *an = malloc(sizeof(sa_analysis));
	sa_explain_item items[4];
	size_t		n = 99;

	CHECK(sa_sentiment_score_model(NULL, ws, SA_MODEL_SOCIAL, "x", 1, &s) == SA_ERR_ARGUMENT);
	CHECK(s.compound == 0 && s.label == SA_LABEL_NEUTRAL);
	CHECK(sa_sentiment_score_model(lex, NULL, SA_MODEL_SOCIAL, "x", 1, &s) == SA_ERR_ARGUMENT);
	CHECK(sa_sentiment_score_model(lex, ws, SA_MODEL_SOCIAL, "x", 1, NULL) == SA_ERR_ARGUMENT);
	CHECK(sa_sentiment_score_model(lex, ws, SA_MODEL_SOCIAL, NULL, 1, &s) == SA_ERR_ARGUMENT);
	CHECK(sa_sentiment_score_model(lex, ws, SA_MODEL_SOCIAL, NULL, 0, &s) == SA_OK &&
		  s.label == SA_LABEL_NEUTRAL);
	CHECK(sa_sentiment_score_model(lex, ws, (sa_model) 7, "x", 1, &s) == SA_ERR_ARGUMENT);
	CHECK(sa_sentiment_score_model(lex, ws, (sa_model) -1, "x", 1, &s) == SA_ERR_ARGUMENT);
	CHECK(sa_sentiment_score_model(lex, ws, SA_MODEL_SOCIAL, "x", SA_MAX_INPUT_BYTES + 1, &s) ==
		  SA_ERR_TOO_LONG);
	/* NUL bytes, control characters and invalid UTF-8 are just text */
	CHECK(sa_sentiment_score_model(lex, ws, SA_MODEL_SOCIAL, "a\0b\x01\xff\xfe good", 12, &s) == SA_OK);

	CHECK(an != NULL);
	if (an != NULL)
	{
		CHECK(sa_analyze_model(lex, NULL, ws, (sa_model) 5, "x", 1, an) == SA_ERR_ARGUMENT);
		CHECK(sa_analyze_model(lex, NULL, ws, SA_MODEL_SOCIAL, "x", SA_MAX_INPUT_BYTES + 1, an) ==
			  SA_ERR_TOO_LONG);
		CHECK(sa_analyze_model(NULL, NULL, ws, SA_MODEL_SOCIAL, "x", 1, an) == SA_ERR_ARGUMENT);
		CHECK(sa_analyze_model(lex, NULL, ws, SA_MODEL_SOCIAL, "x", 1, NULL) == SA_ERR_ARGUMENT);
		CHECK(sa_analyze_model(lex, NULL, ws, SA_MODEL_SOCIAL, NULL, 0, an) == SA_OK);
		free(an);
	}

	CHECK(sa_explain(NULL, ws, SA_MODEL_VADER, "x", 1, items, 4, &n) == SA_ERR_ARGUMENT && n == 0);
	CHECK(sa_explain(lex, NULL, SA_MODEL_VADER, "x", 1, items, 4, &n) == SA_ERR_ARGUMENT);
	CHECK(sa_explain(lex, ws, SA_MODEL_VADER, "x", 1, items, 4, NULL) == SA_ERR_ARGUMENT);
	CHECK(sa_explain(lex, ws, SA_MODEL_VADER, "x", 1, NULL, 4, &n) == SA_ERR_ARGUMENT);
	CHECK(sa_explain(lex, ws, SA_MODEL_SOCIAL, NULL, 3, items, 4, &n) == SA_ERR_ARGUMENT);
	CHECK(sa_explain(lex, ws, (sa_model) 3, "x", 1, items, 4, &n) == SA_ERR_ARGUMENT);
	CHECK(sa_explain(lex, ws, SA_MODEL_SOCIAL, "x", 1, items, SA_EXPLAIN_MAX_ITEMS + 1, &n) ==
		  SA_ERR_ARGUMENT);
	CHECK(sa_explain(lex, ws, SA_MODEL_SOCIAL, "x", SA_MAX_INPUT_BYTES + 1, items, 4, &n) ==
		  SA_ERR_TOO_LONG && n == 0);
	/* k = 0 and empty text: nothing to say, no error */
	CHECK(sa_explain(lex, ws, SA_MODEL_SOCIAL, "good", 4, NULL, 0, &n) == SA_OK && n == 0);
	CHECK(sa_explain(lex, ws, SA_MODEL_VADER, "", 0, items, 4, &n) == SA_OK && n == 0);
	CHECK(sa_explain(lex, ws, SA_MODEL_VADER, NULL, 0, items, 4, &n) == SA_OK && n == 0);
}

static bool
has_term(const sa_explain_item *it, size_t n, const char *term, double *c)
{
	for (size_t i = 0; i < n; i++)
		if (it[i].term_len == strlen(term) && memcmp(it[i].term, term, it[i].term_len) == 0)
		{
			*c = it[i].contribution;
			return true;
		}
	return false;
}

static void
test_explain(void)
{
	sa_explain_item it[SA_EXPLAIN_MAX_ITEMS];
	size_t		n = 0;
	double		c = 0;
	const char *t;

	/* VADER: "but" halves before and adds half after (love 3.2, terrible -2.1) */
	t = "I love it but the service was terrible";
	CHECK(sa_explain(lex, ws, SA_MODEL_VADER, t, strlen(t), it, 8, &n) == SA_OK);
	CHECK_MSG(n == 2, "n = %zu", n);
	CHECK(n >= 2 && it[0].term_len == 8 && memcmp(it[0].term, "terrible", 8) == 0);
	CHECK(n >= 2 && fabs(it[0].contribution - (-2.1 * 1.5)) < 1e-12);
	CHECK(n >= 2 && it[1].term_len == 4 && memcmp(it[1].term, "love", 4) == 0);
	CHECK(n >= 2 && fabs(it[1].contribution - 3.2 * 0.5) < 1e-12);
	/*
	 * negation flips (x -0.74), boosters add (really: 0.293), top-k keeps
	 * the strongest: bad -2.5 before awful -2.0 - 0.293
	 */
	t = "not good, really awful and bad";
	CHECK(sa_explain(lex, ws, SA_MODEL_VADER, t, strlen(t), it, 1, &n) == SA_OK && n == 1);
	CHECK(n == 1 && it[0].term_len == 3 && memcmp(it[0].term, "bad", 3) == 0);
	CHECK(sa_explain(lex, ws, SA_MODEL_VADER, t, strlen(t), it, 8, &n) == SA_OK);
	CHECK(has_term(it, n, "good", &c) && fabs(c - 1.9 * -0.74) < 1e-12);
	/* awful: negated by "not" three tokens back, boosted by "really" */
	CHECK(has_term(it, n, "awful", &c) && fabs(c - (-2.0 - 0.293) * -0.74) < 1e-12);
	/* ordered by |contribution| */
	for (size_t i = 1; i < n; i++)
		CHECK(fabs(it[i - 1].contribution) >= fabs(it[i].contribution));

	/* social: the words that carry the text are among the top terms */
	t = "@dave I absolutely love the new album!";
	CHECK(sa_explain(lex, ws, SA_MODEL_SOCIAL, t, strlen(t), it, 5, &n) == SA_OK && n == 5);
	CHECK(has_term(it, n, "love", &c) && c > 0);
	t = "worst airline ever, lost my bag again";
	CHECK(sa_explain(lex, ws, SA_MODEL_SOCIAL, t, strlen(t), it, 5, &n) == SA_OK && n > 0);
	CHECK(n > 0 && it[0].contribution < 0);

	/*
	 * All terms together are the whole log-odds: their sum plus the bias
	 * difference is log(P(pos) / P(neg)).
	 */
	{
		const char *texts[] = {
			"@dave I absolutely love the new album!",
			"sooo tired of this... not happy at all http://x.co/a #mondays",
			"meh",
		};

		for (size_t j = 0; j < 3; j++)
		{
			sa_sentiment s;
			double		sum = sa_model_social_data.bias[2] - sa_model_social_data.bias[0];

			t = texts[j];
			CHECK(sa_explain(lex, ws, SA_MODEL_SOCIAL, t, strlen(t), it, SA_EXPLAIN_MAX_ITEMS, &n) == SA_OK);
			for (size_t i = 0; i < n; i++)
			{
				CHECK(it[i].term != NULL && it[i].term_len > 0);
				sum += it[i].contribution;
			}
			s = social(t);
			CHECK_MSG(fabs(sum - log(s.pos / s.neg)) < 1e-9, "\"%s\": terms add to %f, log-odds %f",
					  t, sum, log(s.pos / s.neg));
		}
	}
	/* explain leaves the scores alone: same result after it */
	{
		sa_sentiment a = social("fine, whatever"),
					b;

		CHECK(sa_explain(lex, ws, SA_MODEL_SOCIAL, "other text", 10, it, 3, &n) == SA_OK);
		b = social("fine, whatever");
		CHECK(same(&a, &b));
	}
}

static void
test_analyze_model(void)
{
	sa_analysis *a = malloc(sizeof(sa_analysis)),
			   *b = malloc(sizeof(sa_analysis));
	const char *t = "#pizza was amazing! #traffic was horrible and I hate it.";
	sa_sentiment s;

	CHECK(a != NULL && b != NULL);
	if (a == NULL || b == NULL)
		return;
	CHECK(sa_analyze_model(lex, NULL, ws, SA_MODEL_SOCIAL, t, strlen(t), a) == SA_OK);
	s = social(t);
	CHECK(same(&a->sentiment, &s));
	CHECK(a->n_topics == 2);
	if (a->n_topics == 2)
	{
		/* each topic: the social compound of its own clause */
		CHECK(a->topics[0].key_len == 5 && memcmp(a->topics[0].key, "pizza", 5) == 0);
		s = social("#pizza was amazing!");
		CHECK_MSG(a->topics[0].sentiment == s.compound, "%f vs %f", a->topics[0].sentiment, s.compound);
		CHECK(a->topics[0].sentiment > 0 && a->topics[1].sentiment < 0);
	}
	/* emotion and embedding do not depend on the sentiment model */
	CHECK(sa_analyze(lex, NULL, ws, t, strlen(t), b) == SA_OK);
	CHECK(a->emotion == b->emotion && a->emotion_score == b->emotion_score);
	CHECK(memcmp(a->embedding, b->embedding, sizeof(a->embedding)) == 0);
	CHECK(sa_analyze_model(lex, NULL, ws, SA_MODEL_VADER, t, strlen(t), a) == SA_OK);
	CHECK(same(&a->sentiment, &b->sentiment));
	free(a);
	free(b);
}

/* ---------- dev-set floors ---------- */

static char *
slurp(const char *rel)
{
	char		path[4096];
	const char *dir = getenv("SP_SHARED_DATA");
	FILE	   *f;
	char	   *buf;
	long		n;

	if (dir != NULL)
		snprintf(path, sizeof(path), "%s/%s", dir, rel);
	else
		snprintf(path, sizeof(path), "%s/../shared/data/%s", SA_REPO_ROOT, rel);
	f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t) n + 1);
	if (buf == NULL || fread(buf, 1, (size_t) n, f) != (size_t) n)
		abort();
	fclose(f);
	buf[n] = '\0';
	return buf;
}

/* Next "label TAB text" record of *p, in place; false at the end. */
static bool
record(char **p, char **label, char **text)
{
	char	   *s = *p,
			   *nl,
			   *tab;

	if (*s == '\0')
		return false;
	nl = strchr(s, '\n');
	if (nl)
	{
		*nl = '\0';
		*p = nl + 1;
	}
	else
		*p = s + strlen(s);
	tab = strchr(s, '\t');
	if (tab == NULL)
		return record(p, label, text);
	*tab = '\0';
	*label = s;
	*text = tab + 1;
	return true;
}

static void
test_floors(void)
{
	char	   *buf = slurp("sentiment_dev/tweeteval_sentiment_val.tsv");
	char	   *p,
			   *lab,
			   *text;
	long		hit[2][3] = {{0}},
				tot[3] = {0};
	double		mr[2] = {0, 0};
	reliability rs,
				re;

	memset(&rs, 0, sizeof(rs));
	memset(&re, 0, sizeof(re));
	if (buf == NULL)
	{
		printf("test_models: SKIP dev-set floors: ../shared/data (or SP_SHARED_DATA) not found\n");
		return;
	}
	p = buf;
	(void) record(&p, &lab, &text);
	while (record(&p, &lab, &text))
	{
		int			g = strcmp(lab, "negative") == 0 ? 0 : strcmp(lab, "neutral") == 0 ? 1 : 2;

		tot[g]++;
		for (int m = 0; m < 2; m++)
		{
			sa_sentiment s;

			CHECK(sa_sentiment_score_model(lex, ws, (sa_model) m, text, strlen(text), &s) == SA_OK);
			if ((int) s.label + 1 == g)
				hit[m][g]++;
			if (m == SA_MODEL_SOCIAL)
				rel_add(&rs, fmax(s.neg, fmax(s.neu, s.pos)), (int) s.label + 1 == g);
		}
	}
	free(buf);
	for (int m = 0; m < 2; m++)
		for (int c = 0; c < 3; c++)
			mr[m] += (double) hit[m][c] / (double) tot[c] / 3;
	printf("test_models: TweetEval val macro-recall vader %.4f social %.4f\n", mr[0], mr[1]);
	/*
	 * Measured 0.5987 and 0.7344 when the models were committed (social 5,
	 * distilled, no class offsets; social 4 had 0.7342, social 3 0.7318,
	 * social 2 0.7347, social 1 0.7547 with offsets tuned on this very
	 * set; social 2 to 4 fitted theirs on the training data; social 3 and 4
	 * were chosen on out-of-fold figures, social 5 on the 2016 hold-out).
	 */
	CHECK(fabs(mr[0] - 0.5987) < 0.00005);
	CHECK(mr[1] >= 0.73);
	/* calibrated: a probability of 0.8 is right about 80% of the time */
	printf("test_models: TweetEval val social ECE %.4f\n", rel_ece(&rs));
	CHECK(rel_ece(&rs) <= ECE_GOAL);

	buf = slurp("emotion_dev/goemotions_ekman_dev.tsv");
	if (buf == NULL)
		return;
	{
		long		tp[SA_EMOTION_COUNT] = {0},
					fp[SA_EMOTION_COUNT] = {0},
					fn[SA_EMOTION_COUNT] = {0};
		double		f1 = 0;
		sa_analysis *a = malloc(sizeof(sa_analysis));

		p = buf;
		(void) record(&p, &lab, &text);
		while (a != NULL && record(&p, &lab, &text))
		{
			bool		gold[SA_EMOTION_COUNT] = {false};

			for (char *tok = strtok(lab, ","); tok; tok = strtok(NULL, ","))
				for (int c = 0; c < SA_EMOTION_COUNT; c++)
					if (strcmp(tok, sa_emotion_name((sa_emotion) c)) == 0)
						gold[c] = true;
			CHECK(sa_analyze(lex, NULL, ws, text, strlen(text), a) == SA_OK);
			rel_add(&re, a->emotion_score, gold[a->emotion]);
			if (gold[a->emotion])
				tp[a->emotion]++;
			else
				fp[a->emotion]++;
			for (int c = 0; c < SA_EMOTION_COUNT; c++)
				if (gold[c] && c != (int) a->emotion)
					fn[c]++;
		}
		for (int c = 0; c < SA_EMOTION_COUNT; c++)
		{
			double		pr = tp[c] + fp[c] ? (double) tp[c] / (tp[c] + fp[c]) : 0;
			double		rc = tp[c] + fn[c] ? (double) tp[c] / (tp[c] + fn[c]) : 0;

			f1 += (pr + rc > 0 ? 2 * pr * rc / (pr + rc) : 0) / SA_EMOTION_COUNT;
		}
		printf("test_models: GoEmotions-Ekman dev macro-F1 %.4f\n", f1);
		CHECK(f1 >= EMOTION_FLOOR);
		printf("test_models: GoEmotions-Ekman dev emotion ECE %.4f\n", rel_ece(&re));
		CHECK(rel_ece(&re) <= ECE_GOAL);
		free(a);
	}
	free(buf);
}

/* sa_features(sc, l) copied out: n rows into *out (malloc'ed). */
static size_t
features_alone(sa_scratch *sc, const sa_feat_layout *l, const char *text, const sa_sentiment *v,
			   uint32_t **out)
{
	CHECK(sa_features(sc, l, text, strlen(text), v, false) == SA_OK);
	*out = malloc((sc->nfeats + 1) * sizeof(uint32_t));
	if (*out == NULL)
		abort();
	memcpy(*out, sc->feats, sc->nfeats * sizeof(uint32_t));
	return sc->nfeats;
}

static void
expect_pair(sa_scratch *sc, const sa_feat_layout *a, const sa_feat_layout *b, const char *text)
{
	sa_sentiment v;
	uint32_t   *fa,
			   *fb;
	size_t		na,
				nb;

	CHECK(sa_sentiment_score(lex, ws, text, strlen(text), &v) == SA_OK);
	CHECK(sa_tokenize(sc, text, strlen(text)) == SA_OK);
	na = features_alone(sc, a, text, &v, &fa);
	nb = features_alone(sc, b, text, &v, &fb);
	CHECK(sa_features_pair(sc, a, b, text, strlen(text), &v) == SA_OK);
	CHECK_MSG(sc->nfeats == na && memcmp(sc->feats, fa, na * sizeof(uint32_t)) == 0,
			  "\"%s\": first model's features differ in one pass (%zu against %zu)", text,
			  sc->nfeats, na);
	CHECK_MSG(sc->nfeats2 == nb && memcmp(sc->feats2, fb, nb * sizeof(uint32_t)) == 0,
			  "\"%s\": second model's features differ in one pass (%zu against %zu)", text,
			  sc->nfeats2, nb);
	free(fa);
	free(fb);
}

/*
 * The full analysis reads the social and emotion models' features in one
 * pass (sa_features_pair): each must get exactly what sa_features() gives
 * it alone, and the analysis the same sentiment and emotion as apart.
 */
static void
test_shared_features(void)
{
	static const char *const texts[] = {
		"", "!!!", "I don't love it, not at all... @bob http://x.co/y sooooo good 2024!?",
		"The breakfast was terrible but the room was lovely",
		"never ever again :( #fail wwwwwwww www.example.com", "caf\xc3\xa9 na\xc3\xafve \xf0\x9f\x98\x80 ok",
		"RT @user: can't wait!!! 10/10 would recommend", "no", "a b c d e f g h i j k l m n o p",
	};
	sa_feat_layout model = sa_model_layout(&sa_model_social_data),
				social = model,
				emotion = sa_model_layout(&sa_model_emotion_data),
				chars = social,
				chars35 = emotion,
				other;
	sa_scratch *sc;

	CHECK(sa_scratch_create(&sc) == SA_OK);
	/* as shipped: the analysis reads both in one pass */
	CHECK(sa_features_shareable(&social, &emotion));
	social.flags &= ~SA_FEAT_CHAR;
	chars.flags |= SA_FEAT_CHAR;
	chars.char_min = chars.char_max = 4;
	chars.bits = 17;
	chars35.flags |= SA_FEAT_CHAR;
	chars35.char_min = 3;
	chars35.char_max = 5;
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
	{
		sa_analysis with,
					alone;
		sa_sentiment s;

		expect_pair(sc, &model, &emotion, texts[i]);
		expect_pair(sc, &social, &emotion, texts[i]);
		expect_pair(sc, &emotion, &social, texts[i]);
		expect_pair(sc, &chars, &emotion, texts[i]);
		expect_pair(sc, &emotion, &chars, texts[i]);
		expect_pair(sc, &chars35, &social, texts[i]);

		CHECK(sa_analyze_model(lex, NULL, ws, SA_MODEL_SOCIAL, texts[i], strlen(texts[i]), &with) == SA_OK);
		CHECK(sa_analyze_model(lex, NULL, ws, SA_MODEL_VADER, texts[i], strlen(texts[i]), &alone) == SA_OK);
		CHECK(sa_sentiment_score_model(lex, ws, SA_MODEL_SOCIAL, texts[i], strlen(texts[i]), &s) == SA_OK);
		CHECK_MSG(with.emotion == alone.emotion && with.emotion_score == alone.emotion_score,
				  "\"%s\": emotion %d %.17g with social, %d %.17g with vader", texts[i],
				  (int) with.emotion, with.emotion_score, (int) alone.emotion, alone.emotion_score);
		CHECK_MSG(same(&with.sentiment, &s), "\"%s\": social differs in the analysis", texts[i]);
	}

	/* layouts that change a word's own feature cannot share a pass */
	other = emotion;
	other.neg_scope = emotion.neg_scope + 1;
	CHECK(!sa_features_shareable(&social, &other));
	CHECK(sa_features_pair(sc, &social, &other, "x", 1, NULL) == SA_ERR_ARGUMENT);
	other = emotion;
	other.flags &= ~SA_FEAT_SOCIAL;
	CHECK(!sa_features_shareable(&social, &other));
	other = chars;
	other.char_max = 5;
	CHECK(!sa_features_shareable(&chars, &other));
	other.flags &= ~SA_FEAT_CHAR;
	CHECK(sa_features_shareable(&chars, &other));
	other = emotion;
	other.bits = 30;
	CHECK(sa_features_pair(sc, &social, &other, "x", 1, NULL) == SA_ERR_ARGUMENT);
	sa_scratch_destroy(sc);
}

int
main(void)
{
	if (sa_lexicon_create(&lex) != SA_OK || sa_workspace_create(&ws) != SA_OK)
	{
		fprintf(stderr, "setup failed\n");
		return 1;
	}
	test_registry();
	test_social();
	test_bad_input();
	test_explain();
	test_analyze_model();
	test_shared_features();
	test_floors();
	sa_workspace_destroy(ws);
	sa_lexicon_destroy(lex);
	return check_report("test_models");
}
