/*
 * test_tokenize.c - the shared tokeniser (tokenize.c): tokens, flags and
 * clause spans.  tools/train_emotion.py states the same rules in Python (the
 * idf trainer uses it); the expected tokens here are what that Python code
 * gives for the same texts, so a change on either side that breaks the
 * agreement fails here.  (The trained models get their tokens from this C
 * code itself, through tools/dump-features.)
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "analysis_internal.h"
#include "check.h"

static sa_scratch *sc;

#define F_MASK (SA_TOK_BREAK | SA_TOK_HASHTAG | SA_TOK_SYMBOL)

/* Tokens of text as "tok/flags tok/flags ..." (flags without SA_TOK_ASCII). */
static const char *
render(const char *text, size_t len)
{
	static char out[4096];
	size_t		n = 0;

	out[0] = '\0';
	CHECK(sa_tokenize(sc, text, len) == SA_OK);
	for (size_t i = 0; i < sc->ntoks && n < sizeof(out) - 64; i++)
		n += (size_t) snprintf(out + n, sizeof(out) - n, "%s%.*s/%u", i ? " " : "",
							   (int) sc->toks[i].len, sc->lower.data + sc->toks[i].off,
							   sc->toks[i].flags & F_MASK);
	return out;
}

static void
expect_tokens(const char *text, const char *want)
{
	const char *got = render(text, strlen(text));

	CHECK_MSG(strcmp(got, want) == 0, "\"%s\": got [%s], expected [%s]", text, got, want);
}

/* Clause spans as "start-end start-end ...". */
static void
expect_clauses(const char *text, const char *want)
{
	char		got[1024];
	size_t		n = 0;

	got[0] = '\0';
	CHECK(sa_tokenize(sc, text, strlen(text)) == SA_OK);
	for (size_t i = 0; i < sc->nclauses && n < sizeof(got) - 32; i++)
		n += (size_t) snprintf(got + n, sizeof(got) - n, "%s%u-%u", i ? " " : "",
							   sc->clauses[i].start, sc->clauses[i].end);
	CHECK_MSG(strcmp(got, want) == 0, "\"%s\": clauses [%s], expected [%s]", text, got, want);
}

int
main(void)
{
	CHECK(sa_scratch_create(&sc) == SA_OK);
	CHECK(sa_scratch_create(NULL) == SA_ERR_ARGUMENT);

	/* Words lower-cased, ’ read as ', trailing apostrophes dropped, emoji
	 * alone (VS16 dropped), hashtags flagged, punctuation sets the break. */
	expect_tokens("Don\xE2\x80\x99t STOP #Believin' caf\xC3\xA9's \xF0\x9F\x98\x82\xE2\x9D\xA4\xEF\xB8\x8F e.g. 3.5",
				  "don't/0 stop/0 believin/2 caf\xC3\xA9's/0 \xF0\x9F\x98\x82/4 \xE2\x9D\xA4/4 e/0 g/1 3/1 5/1");
	/* '#' makes a hashtag only where no word precedes it. */
	expect_tokens("a#b #c ##d x#", "a/0 b/0 c/2 d/2 x/0");
	/* Simple Unicode lower-casing per code point; combining marks stay. */
	expect_tokens("Stra\xC3\x9F" "e \xC4\xB0stanbul \xCE\xA3\xCE\x9F\xCE\xA3 na\xCC\x88ive",
				  "stra\xC3\x9F" "e/0 istanbul/0 \xCF\x83\xCE\xBF\xCF\x83/0 na\xCC\x88ive/0");
	/* Apostrophes only inside words. */
	expect_tokens("''' it's ok'' ", "it's/0 ok/0");
	expect_tokens("wow!!!great,but; but", "wow/0 great/1 but/1 but/1");
	/* Nothing to tokenise. */
	expect_tokens("", "");
	expect_tokens(" \t\n.,;:!?-()[]''", "");
	/* Invalid UTF-8 reads as U+FFFD, a symbol. */
	expect_tokens("ab\xFF" "cd", "ab/0 \xEF\xBF\xBD/4 cd/0");

	/* SA_TOK_ASCII marks exactly the all-ASCII tokens. */
	CHECK(sa_tokenize(sc, "plain caf\xC3\xA9", 11) == SA_OK);
	CHECK(sc->ntoks == 2 && (sc->toks[0].flags & SA_TOK_ASCII) &&
		  !(sc->toks[1].flags & SA_TOK_ASCII));
	/* The hash is FNV-1a of the lower-cased bytes. */
	CHECK(sc->ntoks == 2 && sc->toks[0].hash == sa_fnv1a("plain", 5));

	/* Clauses: after ! ? ; runs, after '.' before white space or the end,
	 * around "but"; never inside "3.5" or "example.com". */
	expect_clauses("Great #phone! Terrible #battery; ok #case", "0-13 13-32 32-41");
	expect_clauses("I love #pg but the docs", "0-11 14-23");
	expect_clauses("Version 3.5 of example.com is bad.", "0-34");
	expect_clauses("wow!!!great", "0-6 6-11");
	expect_clauses("Done. Next", "0-5 5-10");
	expect_clauses("", "0-0");
	/* Tokens know their clause. */
	CHECK(sa_tokenize(sc, "good! bad", 9) == SA_OK);
	CHECK(sc->ntoks == 2 && sc->toks[0].clause == 0 && sc->toks[1].clause == 1);

	/* One long token and many short ones (memory grows, nothing breaks). */
	{
		size_t		n = 300000;
		char	   *big = malloc(n);

		memset(big, 'A', n);
		CHECK(sa_tokenize(sc, big, n) == SA_OK);
		CHECK(sc->ntoks == 1 && sc->toks[0].len == n && sc->lower.data[n - 1] == 'a');
		for (size_t i = 0; i < n; i++)
			big[i] = (i % 2) ? '!' : 'x';
		CHECK(sa_tokenize(sc, big, n) == SA_OK);
		CHECK(sc->ntoks == n / 2 && sc->nclauses == n / 2);
		free(big);
	}

	sa_scratch_destroy(sc);
	return check_report("test_tokenize");
}
