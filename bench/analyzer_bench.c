/*
 * analyzer_bench.c - speed of the analyser's VADER sentiment on one core.
 *
 *   make -C src/analyzer bench        (builds with the library's -O2 flags)
 *
 * 1. texts/s over a fixed generated corpus of short mentions (target at
 *    least 1,000,000/s; Python VADER does about 35,000/s on the project's
 *    reference machine, quoted, not measured here);
 * 2. ns/byte for 1 KB, 100 KB and 1 MB texts, which must stay flat (no
 *    superlinear path).
 * Each figure is printed beside its target and against a baseline measured
 * in the same run on the same bytes: a plain pass that decodes UTF-8 and
 * splits on white space, i.e. the least any tokenising scorer must do.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analyzer.h"
#include "text_internal.h"

#define N_MENTIONS 100000

static const char *words[] = {
	"the", "a", "this", "new", "phone", "update", "service", "app", "today", "was",
	"is", "and", "to", "of", "my", "it", "we", "they", "for", "with", "on", "in",
	"good", "great", "love", "bad", "terrible", "hate", "happy", "sad", "nice",
	"awesome", "broken", "slow", "fast", "amazing", "worst", "best", "okay",
	"not", "never", "no", "isn't", "very", "really", "so", "slightly", "kind", "of",
	"but", "least", "at", "GREAT", "LOVE", "lol", ":)", ":(", ":D", "#fail", "#win",
	"@support", "https://example.com/x", "!!", "?", "wow!", "meh...", "\xf0\x9f\x98\x80",
	"\xf0\x9f\x98\xa1", "\xf0\x9f\x91\x8d", "caf\xc3\xa9", "don't", "without", "doubt",
};

static double
now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + ts.tv_nsec * 1e-9;
}

static unsigned int rng = 20261126;

static unsigned int
next_rand(void)
{
	rng = rng * 1103515245u + 12345u;
	return rng >> 8;
}

/* A short mention of 6 to 24 words drawn from the list above. */
static size_t
make_mention(char *buf, size_t cap)
{
	size_t		n = 6 + next_rand() % 19;
	size_t		len = 0;

	for (size_t i = 0; i < n; i++)
	{
		const char *w = words[next_rand() % (sizeof(words) / sizeof(words[0]))];
		size_t		wl = strlen(w);

		if (len + wl + 2 >= cap)
			break;
		if (i > 0)
			buf[len++] = ' ';
		memcpy(buf + len, w, wl);
		len += wl;
	}
	buf[len] = '\0';
	return len;
}

/* The baseline: decode every code point and count white-space-split tokens. */
static size_t
baseline_pass(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *) s;
	size_t		pos = 0,
				ntok = 0;
	int			in_tok = 0;

	while (pos < len)
	{
		uint32_t	cp = sa_utf8_next(p, len, &pos);

		if (sa_is_space(cp))
			in_tok = 0;
		else if (!in_tok)
		{
			in_tok = 1;
			ntok++;
		}
	}
	return ntok;
}

static volatile double sink;
static volatile size_t sink_n;

int
main(void)
{
	sa_lexicon *lex;
	sa_workspace *ws;
	char	  **texts = malloc(N_MENTIONS * sizeof(char *));
	size_t	   *lens = malloc(N_MENTIONS * sizeof(size_t));
	size_t		total_bytes = 0;
	double		t0,
				t_sent = 0,
				t_base = 0;
	long		rounds = 0;
	static const size_t sizes[] = {1024, 100 * 1024, 1024 * 1024};
	double		per_byte[3];

	if (sa_lexicon_create(&lex) != SA_OK || sa_workspace_create(&ws) != SA_OK || !texts || !lens)
	{
		fprintf(stderr, "analyzer_bench: setup failed\n");
		return 1;
	}
	for (int i = 0; i < N_MENTIONS; i++)
	{
		char		buf[512];

		lens[i] = make_mention(buf, sizeof(buf));
		texts[i] = strdup(buf);
		total_bytes += lens[i];
	}

	printf("analyzer_bench: VADER sentiment, one core, %d generated mentions (avg %.0f bytes)\n",
		   N_MENTIONS, (double) total_bytes / N_MENTIONS);

	/* warm-up, then whole passes until ~2 s */
	for (int i = 0; i < N_MENTIONS; i++)
	{
		sa_sentiment s;

		sa_sentiment_score(lex, ws, texts[i], lens[i], &s);
	}
	t0 = now_sec();
	do
	{
		double		acc = 0;

		for (int i = 0; i < N_MENTIONS; i++)
		{
			sa_sentiment s;

			if (sa_sentiment_score(lex, ws, texts[i], lens[i], &s) != SA_OK)
				return 1;
			acc += s.compound;
		}
		sink = acc;
		rounds++;
		t_sent = now_sec() - t0;
	} while (t_sent < 2.0);
	{
		long		brounds = 0;
		double		tb0 = now_sec();

		do
		{
			size_t		acc = 0;

			for (int i = 0; i < N_MENTIONS; i++)
				acc += baseline_pass(texts[i], lens[i]);
			sink_n = acc;
			brounds++;
			t_base = now_sec() - tb0;
		} while (t_base < 1.0);
		t_base /= brounds;
	}
	t_sent /= rounds;
	{
		double		rate = N_MENTIONS / t_sent;
		double		brate = N_MENTIONS / t_base;

		printf("  short mentions:  %12.0f texts/s   target >= 1,000,000/s  %s\n", rate,
			   rate >= 1e6 ? "(met)" : "(NOT met)");
		printf("                   %12.0f texts/s   baseline (UTF-8 decode + white-space split)\n", brate);
		printf("                   %12.1f x         time relative to the baseline\n", brate / rate);
		printf("                   %12.1f x         faster than Python VADER (~35,000 texts/s on this machine, reference figure)\n",
			   rate / 35000.0);
	}

	/* long texts: concatenated mentions */
	for (int k = 0; k < 3; k++)
	{
		size_t		target = sizes[k];
		char	   *big = malloc(target + 600);
		size_t		len = 0;
		int			i = 0;
		double		t,
					tb;
		long		r = 0;

		while (len < target)
		{
			size_t		l = lens[i % N_MENTIONS];

			if (len + l + 1 > target)
				break;
			memcpy(big + len, texts[i % N_MENTIONS], l);
			len += l;
			big[len++] = ' ';
			i++;
		}
		while (len < target)
			big[len++] = ' ';
		t0 = now_sec();
		do
		{
			sa_sentiment s;

			if (sa_sentiment_score(lex, ws, big, len, &s) != SA_OK)
				return 1;
			sink = s.compound;
			r++;
			t = now_sec() - t0;
		} while (t < 1.0 || r < 3);
		t /= r;
		t0 = now_sec();
		r = 0;
		do
		{
			sink_n = baseline_pass(big, len);
			r++;
			tb = now_sec() - t0;
		} while (tb < 0.5 || r < 3);
		tb /= r;
		per_byte[k] = t * 1e9 / len;
		printf("  %4zu KB text:     %8.2f ns/byte    baseline %.2f ns/byte, %.1f x; target: flat (within 2x of 1 KB)  %s\n",
			   len / 1024, per_byte[k], tb * 1e9 / len, t / tb,
			   per_byte[k] <= 2 * per_byte[0] ? "(met)" : "(NOT met)");
		free(big);
	}
	printf("  1 MB / 1 KB ns/byte ratio: %.2f (1.0 = perfectly linear)\n", per_byte[2] / per_byte[0]);

	for (int i = 0; i < N_MENTIONS; i++)
		free(texts[i]);
	free(texts);
	free(lens);
	sa_workspace_destroy(ws);
	sa_lexicon_destroy(lex);
	return 0;
}
