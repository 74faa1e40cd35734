/*
 * analysis_bench.c - speed and quality of the full analysis (sa_analyze).
 *
 * Speed: texts/s on one core for sa_analyze() over a generated corpus of
 * short social-media mentions (words, hashtags, emoji, punctuation, a topic
 * dictionary of 60 entries), against the target of 300,000/s; the
 * sentiment-only rate (sa_sentiment_score) on the same corpus in the same
 * run is the baseline the full analysis is compared with.
 *
 * The same for the social sentiment model (SA_MODEL_SOCIAL): sentiment
 * alone (target 500,000/s) and the full analysis with it (target
 * 250,000/s), measured in the same run as VADER's.
 *
 * Quality (needs <repo>/../shared/data or $SP_SHARED_DATA; skipped, saying
 * so, when absent):
 *   - sentiment on TweetEval sentiment val (2,000 tweets): macro-averaged
 *     recall and accuracy of VADER (label by the compound thresholds) and of
 *     the social model (arg max), side by side.  Target 0.65 for social.
 *   - emotion macro-F1 on GoEmotions-Ekman dev (7 classes).  Rows with
 *     several gold labels are scored strictly: the one predicted label is a
 *     true positive if it is among them, else a false positive, and every
 *     other gold label of the row is a false negative of its class (the
 *     same rule as tools/train_models.py).  Target 0.58.
 *   - emotion macro-F1 on TweetEval emotion val, gold optimism mapped to
 *     joy, averaged over the three classes it has (anger, joy, sadness);
 *     predictions of other labels count as misses.  No target.
 *   - expected calibration error (15 equal-width bins of the label's
 *     probability or score, |accuracy - confidence| weighted by the bins'
 *     shares) of the social model on TweetEval sentiment val and of the
 *     emotion score on GoEmotions-Ekman dev.  Target 0.05.
 *   - Spearman correlation between embedding cosine and the human score on
 *     sts_dev.tsv.  Target 0.65.
 *
 *   make -C bench            builds bench/analysis_bench (and the library)
 *   bench/analysis_bench     [seconds per speed measurement, default 2]
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analyzer.h"

#ifndef SA_REPO_ROOT
#define SA_REPO_ROOT ".."
#endif

#define TARGET_FULL_RATE	300000.0
#define TARGET_SOCIAL_RATE	500000.0
#define TARGET_SOCIAL_FULL_RATE 250000.0
#define TARGET_SOCIAL_RECALL 0.65
#define TARGET_EMOTION_F1	0.58
#define TARGET_STS			0.65
#define TARGET_ECE			0.05
#define ECE_BINS			15
#define CORPUS_TEXTS		20000

/*
 * Rates are texts per second of this thread's CPU time: the throughput of
 * one core, which other processes on a busy machine do not distort (they
 * take the core away, they do not make our instructions slower).  The
 * wall-clock rate is printed beside it for reference.
 */
static double
cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double
wall_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---------- generated corpus ---------- */

static uint32_t rng_state = 12345;

static uint32_t
rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return rng_state;
}

static const char *const words[] = {
	"the", "a", "is", "this", "my", "new", "phone", "app", "update", "service",
	"love", "hate", "great", "terrible", "really", "not", "very", "so", "but",
	"slow", "fast", "battery", "camera", "support", "team", "today", "again",
	"why", "does", "it", "keep", "crashing", "amazing", "awful", "thanks",
	"worst", "best", "ever", "I", "you", "can't", "believe", "wow", "sad",
	"happy", "angry", "scared", "price", "delivery", "late", "finally", "works",
	"customer", "never", "buying", "recommend", "LOL", "ok", "meh", "fine",
};
static const char *const tails[] = {
	"", "!", "!!!", ".", "?", " :)", " :(", " \xF0\x9F\x98\x82", " \xE2\x9D\xA4\xEF\xB8\x8F",
	" \xF0\x9F\x98\xA1", " #fail", " #love", " #TechNews", " @support",
};

static char **
make_corpus(size_t n, size_t *total_bytes)
{
	char	  **texts = malloc(n * sizeof(char *));

	*total_bytes = 0;
	for (size_t i = 0; texts != NULL && i < n; i++)
	{
		char		buf[256];
		size_t		len = 0;
		int			nw = 5 + (int) (rng() % 12);

		for (int w = 0; w < nw; w++)
		{
			const char *s = words[rng() % (sizeof(words) / sizeof(words[0]))];

			if (rng() % 9 == 0)
				len += (size_t) snprintf(buf + len, sizeof(buf) - len, "%s#%s",
										 w ? " " : "", s);
			else
				len += (size_t) snprintf(buf + len, sizeof(buf) - len, "%s%s",
										 w ? " " : "", s);
		}
		len += (size_t) snprintf(buf + len, sizeof(buf) - len, "%s",
								 tails[rng() % (sizeof(tails) / sizeof(tails[0]))]);
		texts[i] = strdup(buf);
		if (texts[i] == NULL)
			exit(1);
		*total_bytes += len;
	}
	return texts;
}

static void
fill_topics(sa_topics *tp)
{
	static const char *const entries[][2] = {
		{"hardware", "phone"}, {"hardware", "battery"}, {"hardware", "camera"},
		{"software", "app"}, {"software", "update"}, {"software", "keeps crashing"},
		{"service", "customer support"}, {"service", "support team"},
		{"service", "delivery"}, {"pricing", "price"}, {"pricing", "too expensive"},
		{"praise", "love"}, {"praise", "best ever"}, {"complaint", "worst"},
		{"complaint", "never buying"}, {"complaint", "why does it"},
	};

	for (size_t i = 0; i < sizeof(entries) / sizeof(entries[0]); i++)
		(void) sa_topics_add(tp, entries[i][0], strlen(entries[i][0]),
							 entries[i][1], strlen(entries[i][1]), 1.0);
	/* filler entries that never match, so the tables have a realistic size */
	for (int i = 0; i < 44; i++)
	{
		char		key[32],
					phrase[64];

		snprintf(key, sizeof(key), "brand%d", i);
		snprintf(phrase, sizeof(phrase), "brandname%d model x%d", i, i);
		(void) sa_topics_add(tp, key, strlen(key), phrase, strlen(phrase), 1.5);
	}
}

/* ---------- data files ---------- */

static char data_dir[4096];

static bool
find_data_dir(void)
{
	const char *env = getenv("SP_SHARED_DATA");
	char		probe[4200];
	FILE	   *f;

	if (env != NULL && env[0] != '\0')
		snprintf(data_dir, sizeof(data_dir), "%s", env);
	else
		snprintf(data_dir, sizeof(data_dir), "%s/../shared/data", SA_REPO_ROOT);
	snprintf(probe, sizeof(probe), "%s/sts_dev.tsv", data_dir);
	f = fopen(probe, "rb");
	if (f == NULL)
		return false;
	fclose(f);
	return true;
}

/* Read a whole file; NULL when missing. */
static char *
slurp(const char *rel, size_t *len)
{
	char		path[4400];
	FILE	   *f;
	char	   *buf;
	long		n;

	snprintf(path, sizeof(path), "%s/%s", data_dir, rel);
	f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t) n + 1);
	if (buf == NULL || fread(buf, 1, (size_t) n, f) != (size_t) n)
	{
		fclose(f);
		free(buf);
		return NULL;
	}
	fclose(f);
	buf[n] = '\0';
	*len = (size_t) n;
	return buf;
}

/*
 * Split the next LF-terminated record off *p into up to maxf TAB fields
 * (the last field keeps any further TABs).  Returns the field count, 0 at
 * the end.
 */
static int
next_record(char **p, char **fields, int maxf)
{
	char	   *s = *p;
	char	   *nl;
	int			n = 0;

	if (*s == '\0')
		return 0;
	nl = strchr(s, '\n');
	if (nl != NULL)
	{
		*nl = '\0';
		*p = nl + 1;
	}
	else
		*p = s + strlen(s);
	fields[n++] = s;
	while (n < maxf)
	{
		char	   *tab = strchr(fields[n - 1], '\t');

		if (tab == NULL)
			break;
		*tab = '\0';
		fields[n++] = tab + 1;
	}
	return n;
}

static int
emotion_of(const char *name)
{
	if (strcmp(name, "optimism") == 0)
		return SA_EMOTION_JOY;	/* TweetEval's extra class, our mapping */
	for (int c = 0; c < SA_EMOTION_COUNT; c++)
		if (strcmp(name, sa_emotion_name((sa_emotion) c)) == 0)
			return c;
	return -1;
}

/* Top-label reliability of a model on a file: per confidence bin, rows,
 * confidence and hits. */
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

	b = b < 0 ? 0 : b >= ECE_BINS ? ECE_BINS - 1 : b;
	r->n[b] += 1;
	r->conf[b] += conf;
	r->hit[b] += right;
}

/* Lower is better here, unlike print_figure's figures. */
static void
print_ece(const char *what, double ece)
{
	printf("%-44s %12.4f          goal  <= %.4f        %s\n", what, ece, TARGET_ECE,
		   ece <= TARGET_ECE ? "MET" : "ABOVE GOAL");
}

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
	return n > 0 ? e / n : 0.0;
}

/*
 * Strict multi-label macro-F1 (see the header comment) over the classes
 * with use[c] set.  Returns -1 when the file is missing.
 */
static double
emotion_f1(const sa_lexicon *lex, sa_workspace *ws, const char *rel,
		   const bool *use, double *per_class, size_t *rows, double *ece)
{
	reliability rl;

	size_t		len;
	char	   *buf = slurp(rel, &len);
	char	   *p;
	char	   *f[2];
	long		tp[SA_EMOTION_COUNT] = {0},
				fp[SA_EMOTION_COUNT] = {0},
				fn[SA_EMOTION_COUNT] = {0};
	double		sum = 0.0;
	int			nc = 0;

	if (buf == NULL)
		return -1.0;
	memset(&rl, 0, sizeof(rl));
	p = buf;
	*rows = 0;
	(void) next_record(&p, f, 2);	/* header */
	while (next_record(&p, f, 2) == 2)
	{
		bool		gold[SA_EMOTION_COUNT] = {false};
		char	   *lab = f[0];
		sa_analysis a;

		for (char *tok = strtok(lab, ","); tok != NULL; tok = strtok(NULL, ","))
		{
			int			c = emotion_of(tok);

			if (c >= 0)
				gold[c] = true;
		}
		if (sa_analyze(lex, NULL, ws, f[1], strlen(f[1]), &a) != SA_OK)
			continue;
		(*rows)++;
		rel_add(&rl, a.emotion_score, gold[a.emotion]);
		if (gold[a.emotion])
			tp[a.emotion]++;
		else
			fp[a.emotion]++;
		for (int c = 0; c < SA_EMOTION_COUNT; c++)
			if (gold[c] && c != (int) a.emotion)
				fn[c]++;
	}
	free(buf);
	for (int c = 0; c < SA_EMOTION_COUNT; c++)
	{
		double		prec = tp[c] + fp[c] ? (double) tp[c] / (tp[c] + fp[c]) : 0.0;
		double		rec = tp[c] + fn[c] ? (double) tp[c] / (tp[c] + fn[c]) : 0.0;
		double		f1 = prec + rec > 0 ? 2 * prec * rec / (prec + rec) : 0.0;

		per_class[c] = f1;
		if (use[c])
		{
			sum += f1;
			nc++;
		}
	}
	*ece = rel_ece(&rl);
	return nc ? sum / nc : 0.0;
}

/*
 * Macro-averaged recall (negative, neutral, positive) and accuracy of a
 * sentiment model on a labelled file; -1 when the file is missing.
 */
static double
sentiment_recall(const sa_lexicon *lex, sa_workspace *ws, sa_model model, const char *rel,
				 double *accuracy, size_t *rows, double *ece)
{
	reliability rl;

	size_t		len;
	char	   *buf = slurp(rel, &len);
	char	   *p;
	char	   *f[2];
	long		hit[3] = {0},
				tot[3] = {0};
	double		sum = 0.0;

	if (buf == NULL)
		return -1.0;
	memset(&rl, 0, sizeof(rl));
	p = buf;
	*rows = 0;
	(void) next_record(&p, f, 2);
	while (next_record(&p, f, 2) == 2)
	{
		int			gold = strcmp(f[0], "negative") == 0 ? 0 :
			strcmp(f[0], "neutral") == 0 ? 1 : strcmp(f[0], "positive") == 0 ? 2 : -1;
		sa_sentiment s;

		if (gold < 0 ||
			sa_sentiment_score_model(lex, ws, model, f[1], strlen(f[1]), &s) != SA_OK)
			continue;
		(*rows)++;
		tot[gold]++;
		if ((int) s.label + 1 == gold)
			hit[gold]++;
		rel_add(&rl, fmax(s.neg, fmax(s.neu, s.pos)), (int) s.label + 1 == gold);
	}
	free(buf);
	for (int c = 0; c < 3; c++)
		sum += tot[c] ? (double) hit[c] / tot[c] : 0.0;
	*accuracy = *rows ? (double) (hit[0] + hit[1] + hit[2]) / *rows : 0.0;
	*ece = rel_ece(&rl);
	return sum / 3;
}

/* Texts/s of CPU time of one sentiment model or full analysis over the corpus. */
static double
rate_of(const sa_lexicon *lex, const sa_topics *tp, sa_workspace *ws, sa_model model,
		bool full, char **texts, const size_t *lens, double secs, double *wall)
{
	size_t		done = 0;
	double		t0 = cpu_now(),
				w0 = wall_now(),
				el;
	volatile double sink = 0;

	do
	{
		for (size_t i = 0; i < CORPUS_TEXTS; i++)
		{
			if (full)
			{
				sa_analysis a;

				(void) sa_analyze_model(lex, tp, ws, model, texts[i], lens[i], &a);
				sink += a.emotion_score + a.embedding[0] + (double) a.n_topics;
			}
			else
			{
				sa_sentiment s;

				(void) sa_sentiment_score_model(lex, ws, model, texts[i], lens[i], &s);
				sink += s.compound;
			}
		}
		done += CORPUS_TEXTS;
		el = cpu_now() - t0;
	} while (el < secs);
	(void) sink;
	*wall = done / (wall_now() - w0);
	return done / el;
}

/* Average ranks (ties share the mean rank). */
static const double *rank_values;

static int
cmp_idx(const void *a, const void *b)
{
	const double *v = rank_values;
	double		x = v[*(const size_t *) a],
				y = v[*(const size_t *) b];

	return (x > y) - (x < y);
}

static void
ranks(const double *v, size_t n, double *r)
{
	size_t	   *idx = malloc(n * sizeof(size_t));

	if (idx == NULL)
		exit(1);
	for (size_t i = 0; i < n; i++)
		idx[i] = i;
	rank_values = v;
	qsort(idx, n, sizeof(size_t), cmp_idx);
	for (size_t i = 0; i < n;)
	{
		size_t		j = i;

		while (j + 1 < n && v[idx[j + 1]] == v[idx[i]])
			j++;
		for (size_t k = i; k <= j; k++)
			r[idx[k]] = (i + j) / 2.0;
		i = j + 1;
	}
	free(idx);
}

static double
spearman(const double *a, const double *b, size_t n)
{
	double	   *ra = malloc(n * sizeof(double)),
			   *rb = malloc(n * sizeof(double));
	double		ma = 0,
				mb = 0,
				cov = 0,
				va = 0,
				vb = 0;

	if (ra == NULL || rb == NULL)
		exit(1);
	ranks(a, n, ra);
	ranks(b, n, rb);
	for (size_t i = 0; i < n; i++)
	{
		ma += ra[i];
		mb += rb[i];
	}
	ma /= n;
	mb /= n;
	for (size_t i = 0; i < n; i++)
	{
		cov += (ra[i] - ma) * (rb[i] - mb);
		va += (ra[i] - ma) * (ra[i] - ma);
		vb += (rb[i] - mb) * (rb[i] - mb);
	}
	free(ra);
	free(rb);
	return cov / sqrt(va * vb);
}

static double
sts_spearman(const sa_lexicon *lex, sa_workspace *ws, size_t *pairs)
{
	size_t		len;
	char	   *buf = slurp("sts_dev.tsv", &len);
	char	   *p;
	char	   *f[3];
	double	   *gold,
			   *cos;
	size_t		n = 0;
	double		rho;
	static sa_analysis a,
				b;

	if (buf == NULL)
		return -2.0;
	gold = malloc(len * sizeof(double) / 8 + 8);
	cos = malloc(len * sizeof(double) / 8 + 8);
	if (gold == NULL || cos == NULL)
		exit(1);
	p = buf;
	(void) next_record(&p, f, 3);
	while (next_record(&p, f, 3) == 3)
	{
		double		dot = 0.0;

		if (sa_analyze(lex, NULL, ws, f[1], strlen(f[1]), &a) != SA_OK ||
			sa_analyze(lex, NULL, ws, f[2], strlen(f[2]), &b) != SA_OK)
			continue;
		for (int d = 0; d < SA_EMBEDDING_DIMS; d++)
			dot += (double) a.embedding[d] * b.embedding[d];
		gold[n] = atof(f[0]);
		cos[n] = dot;
		n++;
	}
	rho = spearman(gold, cos, n);
	*pairs = n;
	free(gold);
	free(cos);
	free(buf);
	return rho;
}

static void
print_figure(const char *what, double figure, double target, const char *unit)
{
	printf("%-44s %12.4f %-8s target %10.4f  ratio %.2f  %s\n", what, figure, unit,
		   target, figure / target, figure >= target ? "MET" : "BELOW TARGET");
}

int
main(int argc, char **argv)
{
	double		secs = argc > 1 ? atof(argv[1]) : 2.0;
	sa_lexicon *lex;
	sa_workspace *ws;
	sa_topics  *tp;
	size_t		bytes;
	char	  **texts;
	size_t	   *lens;
	double		t0,
				w0,
				el,
				rate_sent,
				rate_full,
				wall_sent,
				wall_full;
	size_t		done;
	volatile double sink = 0;

	if (sa_lexicon_create(&lex) != SA_OK || sa_workspace_create(&ws) != SA_OK ||
		sa_topics_create(&tp) != SA_OK)
	{
		fprintf(stderr, "analysis_bench: cannot set up the analyser\n");
		return 1;
	}
	fill_topics(tp);
	texts = make_corpus(CORPUS_TEXTS, &bytes);
	lens = malloc(CORPUS_TEXTS * sizeof(size_t));
	if (texts == NULL || lens == NULL)
		return 1;
	for (size_t i = 0; i < CORPUS_TEXTS; i++)
		lens[i] = strlen(texts[i]);
	printf("corpus: %d generated mentions, mean %.1f bytes; e.g. \"%s\"\n",
		   CORPUS_TEXTS, (double) bytes / CORPUS_TEXTS, texts[0]);

	/* warm up: buffers reach their steady size */
	for (size_t i = 0; i < CORPUS_TEXTS; i++)
	{
		sa_analysis a;

		(void) sa_analyze(lex, tp, ws, texts[i], lens[i], &a);
	}

	/* baseline: sentiment only */
	done = 0;
	t0 = cpu_now();
	w0 = wall_now();
	do
	{
		for (size_t i = 0; i < CORPUS_TEXTS; i++)
		{
			sa_sentiment s;

			(void) sa_sentiment_score(lex, ws, texts[i], lens[i], &s);
			sink += s.compound;
		}
		done += CORPUS_TEXTS;
		el = cpu_now() - t0;
	} while (el < secs);
	rate_sent = done / el;
	wall_sent = done / (wall_now() - w0);

	/* full analysis */
	done = 0;
	t0 = cpu_now();
	w0 = wall_now();
	do
	{
		for (size_t i = 0; i < CORPUS_TEXTS; i++)
		{
			sa_analysis a;

			(void) sa_analyze(lex, tp, ws, texts[i], lens[i], &a);
			sink += a.emotion_score + a.embedding[0] + (double) a.n_topics;
		}
		done += CORPUS_TEXTS;
		el = cpu_now() - t0;
	} while (el < secs);
	rate_full = done / el;
	wall_full = done / (wall_now() - w0);

	printf("\n== speed (one core; texts per second of CPU time) ==\n");
	{
		/* Other busy processes slow both rates; say so next to the figures. */
		FILE	   *f = fopen("/proc/loadavg", "r");
		double		load;

		if (f != NULL)
		{
			if (fscanf(f, "%lf", &load) == 1 && load > 1.5)
				printf("note: load average %.2f while measuring: other processes share the cores "
					   "(CPU-time rates are little affected, wall-clock rates are)\n", load);
			fclose(f);
		}
	}
	printf("%-44s %12.0f texts/s (baseline, same run; wall clock %.0f/s)\n",
		   "sentiment only (sa_sentiment_score)", rate_sent, wall_sent);
	print_figure("full analysis (sa_analyze), texts/s", rate_full, TARGET_FULL_RATE, "");
	printf("%-44s %12.0f texts/s (wall clock, for reference)\n", "", wall_full);
	printf("%-44s %12.2f (full analysis rate / sentiment-only rate)\n", "full / sentiment-only", rate_full / rate_sent);
	{
		double		w,
					r;
		sa_model_info mi;

		(void) sa_model_get_info(SA_MODEL_SOCIAL, &mi);
		printf("social model %s, %zu bytes\n", mi.version_string, mi.file_bytes);
		(void) sa_emotion_model_info(&mi);
		printf("emotion model %s, %zu bytes\n", mi.version_string, mi.file_bytes);
		/* VADER again, so both are measured under the same load */
		r = rate_of(lex, tp, ws, SA_MODEL_VADER, false, texts, lens, secs, &w);
		printf("%-44s %12.0f texts/s (wall clock %.0f/s)\n", "VADER sentiment (sa_sentiment_score_model)", r, w);
		r = rate_of(lex, tp, ws, SA_MODEL_SOCIAL, false, texts, lens, secs, &w);
		print_figure("social sentiment, texts/s", r, TARGET_SOCIAL_RATE, "");
		printf("%-44s %12.0f texts/s (wall clock, for reference)\n", "", w);
		r = rate_of(lex, tp, ws, SA_MODEL_SOCIAL, true, texts, lens, secs, &w);
		print_figure("full analysis with social, texts/s", r, TARGET_SOCIAL_FULL_RATE, "");
		printf("%-44s %12.0f texts/s (wall clock, for reference)\n", "", w);
	}

	printf("\n== quality ==\n");
	if (!find_data_dir())
	{
		printf("SKIP: quality figures need %s (or SP_SHARED_DATA), not found\n", data_dir);
	}
	else
	{
		bool		all[SA_EMOTION_COUNT],
					tweet[SA_EMOTION_COUNT] = {false};
		double		per[SA_EMOTION_COUNT];
		size_t		rows = 0;
		double		f1,
					ece = 0;
		double		rho;

		for (int c = 0; c < SA_EMOTION_COUNT; c++)
			all[c] = true;
		{
			double		acc_v = 0,
						acc_s = 0,
						ece_v,
						ece_s = 0,
						mr_v,
						mr_s;
			size_t		nv = 0,
						ns = 0;

			mr_v = sentiment_recall(lex, ws, SA_MODEL_VADER, "sentiment_dev/tweeteval_sentiment_val.tsv", &acc_v, &nv,
								    &ece_v);
			mr_s = sentiment_recall(lex, ws, SA_MODEL_SOCIAL, "sentiment_dev/tweeteval_sentiment_val.tsv", &acc_s, &ns,
								    &ece_s);
			if (mr_v < 0)
				printf("SKIP: sentiment_dev/tweeteval_sentiment_val.tsv not found\n");
			else
			{
				printf("%-44s %12.4f (accuracy %.4f; %zu rows; no target)\n",
					   "VADER macro-recall, TweetEval sentiment val", mr_v, acc_v, nv);
				print_figure("social macro-recall, TweetEval sentiment val", mr_s, TARGET_SOCIAL_RECALL, "");
				printf("  accuracy %.4f; %zu rows\n", acc_s, ns);
				print_ece("social ECE (calibration), TweetEval val", ece_s);
			}
		}
		f1 = emotion_f1(lex, ws, "emotion_dev/goemotions_ekman_dev.tsv", all, per, &rows, &ece);
		if (f1 < 0)
			printf("SKIP: emotion_dev/goemotions_ekman_dev.tsv not found\n");
		else
		{
			print_figure("emotion macro-F1, GoEmotions-Ekman dev", f1, TARGET_EMOTION_F1, "");
			printf("  %zu rows; per class:", rows);
			for (int c = 0; c < SA_EMOTION_COUNT; c++)
				printf(" %s %.3f", sa_emotion_name((sa_emotion) c), per[c]);
			printf("\n");
			print_ece("emotion ECE (calibration), GoEmotions dev", ece);
		}
		tweet[SA_EMOTION_ANGER] = tweet[SA_EMOTION_JOY] = tweet[SA_EMOTION_SADNESS] = true;
		f1 = emotion_f1(lex, ws, "emotion_dev/tweeteval_emotion_val.tsv", tweet, per, &rows, &ece);
		if (f1 < 0)
			printf("SKIP: emotion_dev/tweeteval_emotion_val.tsv not found\n");
		else
			printf("%-44s %12.4f (no target; %zu rows, optimism->joy, over anger/joy/sadness: %.3f %.3f %.3f)\n",
				   "emotion macro-F1, TweetEval emotion val", f1, rows,
				   per[SA_EMOTION_ANGER], per[SA_EMOTION_JOY], per[SA_EMOTION_SADNESS]);

		rows = 0;
		rho = sts_spearman(lex, ws, &rows);
		if (rho < -1.5)
			printf("SKIP: sts_dev.tsv not found\n");
		else
		{
			print_figure("embedding STS Spearman, sts_dev", rho, TARGET_STS, "");
			printf("  %zu pairs\n", rows);
		}
	}

	if (sink == 12345.678)
		printf(" ");
	sa_topics_destroy(tp);
	sa_workspace_destroy(ws);
	sa_lexicon_destroy(lex);
	for (size_t i = 0; i < CORPUS_TEXTS; i++)
		free(texts[i]);
	free(texts);
	free(lens);
	return 0;
}
