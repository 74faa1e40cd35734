/*
 * test_emotion.c - emotion labels and scores through sa_analyze().
 *
 * The model is learned, so the texts here are ones whose emotion is not in
 * doubt to a reader; the checks are that the model agrees, that negation
 * and punctuation features act, that the score is a probability (and a
 * calibrated one: not near-certain where the model is often wrong), and
 * that results are deterministic.
 */
#include <stdlib.h>
#include <string.h>

#include "analyzer.h"
#include "check.h"

static sa_lexicon *lex;
static sa_workspace *ws;

static sa_analysis *
run(const char *text)
{
	static sa_analysis a;
	sa_error	err = sa_analyze(lex, NULL, ws, text, strlen(text), &a);

	CHECK_MSG(err == SA_OK, "sa_analyze(\"%s\") = %d", text, (int) err);
	return &a;
}

static void
expect(const char *text, sa_emotion want)
{
	sa_analysis *a = run(text);

	CHECK_MSG(a->emotion == want, "\"%s\": %s (%.3f), expected %s", text,
			  sa_emotion_name(a->emotion), a->emotion_score, sa_emotion_name(want));
	CHECK_MSG(a->emotion_score > 0.0 && a->emotion_score <= 1.0,
			  "\"%s\": score %g outside (0, 1]", text, a->emotion_score);
}

int
main(void)
{
	sa_analysis *a;
	sa_emotion	e1;
	double		s1;

	if (sa_lexicon_create(&lex) != SA_OK || sa_workspace_create(&ws) != SA_OK)
	{
		fprintf(stderr, "setup failed\n");
		return 1;
	}

	/* Names: the documented set, in enum order; out of range is "unknown". */
	CHECK(strcmp(sa_emotion_name(SA_EMOTION_NEUTRAL), "neutral") == 0);
	CHECK(strcmp(sa_emotion_name(SA_EMOTION_ANGER), "anger") == 0);
	CHECK(strcmp(sa_emotion_name(SA_EMOTION_DISGUST), "disgust") == 0);
	CHECK(strcmp(sa_emotion_name(SA_EMOTION_FEAR), "fear") == 0);
	CHECK(strcmp(sa_emotion_name(SA_EMOTION_JOY), "joy") == 0);
	CHECK(strcmp(sa_emotion_name(SA_EMOTION_SADNESS), "sadness") == 0);
	CHECK(strcmp(sa_emotion_name(SA_EMOTION_SURPRISE), "surprise") == 0);
	CHECK(strcmp(sa_emotion_name(SA_EMOTION_COUNT), "unknown") == 0);
	CHECK(strcmp(sa_emotion_name(SA_EMOTION_NONE), "none") == 0);
	CHECK(strcmp(sa_emotion_name((sa_emotion) -2), "unknown") == 0);

	/* Unambiguous texts. */
	expect("Thank you so much, I love this!", SA_EMOTION_JOY);
	expect("This is disgusting, gross", SA_EMOTION_DISGUST);
	expect("I'm terrified of spiders", SA_EMOTION_FEAR);
	expect("I miss her so much, I'm heartbroken", SA_EMOTION_SADNESS);
	expect("Wow, I had no idea that was possible!", SA_EMOTION_SURPRISE);
	expect("I am so angry at you", SA_EMOTION_ANGER);
	expect("The meeting is at 3pm.", SA_EMOTION_NEUTRAL);
	/* Case and the curly apostrophe do not change the reading. */
	expect("THANK YOU SO MUCH, I LOVE THIS!", SA_EMOTION_JOY);
	expect("I\xE2\x80\x99m terrified of spiders", SA_EMOTION_FEAR);

	/* Nothing to read: neutral, certain. */
	a = run("");
	CHECK(a->emotion == SA_EMOTION_NEUTRAL && a->emotion_score == 1.0);
	a = run("   \t ... !!! ???");
	CHECK(a->emotion == SA_EMOTION_NEUTRAL && a->emotion_score == 1.0);

	/* Negation: "not happy" is not read as joy, "happy" is. */
	expect("I am happy", SA_EMOTION_JOY);
	a = run("I am not happy");
	CHECK_MSG(a->emotion != SA_EMOTION_JOY, "not happy -> %s", sa_emotion_name(a->emotion));
	/* ... but a clause break ends the negation's reach. */
	a = run("I am not sure. Happy happy joy!");
	CHECK(a->emotion == SA_EMOTION_JOY);

	/*
	 * Calibrated confidence.  A mixed review that the model misreads (the
	 * affixes of "terrible" are those of "terrified") scored fear 0.90
	 * before version 4; the calibrated map puts such a margin where the
	 * model is right about 80% of the time, so no text whose emotion is in
	 * doubt gets 0.9.  The clear texts above keep a confident score.
	 */
	a = run("The breakfast was terrible but the room was lovely");
	CHECK_MSG(a->emotion_score < 0.85, "mixed review: %s %.3f, expected a score below 0.85",
			  sa_emotion_name(a->emotion), a->emotion_score);
	{
		double		clear = run("Thank you so much, I love this!")->emotion_score;
		double		happy = run("I am happy")->emotion_score;

		CHECK_MSG(clear > 0.85 && clear <= 1.0, "clear joy: score %.3f", clear);
		CHECK_MSG(happy > 1.0 / SA_EMOTION_COUNT, "happy: score %.3f", happy);
	}

	/* Deterministic: the same text twice, with other texts between. */
	a = run("Ugh, why would anyone do that? So annoying.");
	e1 = a->emotion;
	s1 = a->emotion_score;
	(void) run("Something completely different and happy!");
	a = run("Ugh, why would anyone do that? So annoying.");
	CHECK(a->emotion == e1 && a->emotion_score == s1);

	/* Long and odd input: a label in range, a finite score. */
	{
		size_t		n = 200000;
		char	   *big = malloc(n + 1);

		for (size_t i = 0; i < n; i++)
			big[i] = "sad angry wow!\xFF\xE2\x80 "[i % 20];
		big[n] = '\0';
		a = run(big);
		CHECK(a->emotion < SA_EMOTION_COUNT && isfinite(a->emotion_score) &&
			  a->emotion_score > 0.0 && a->emotion_score <= 1.0);
		free(big);
	}

	sa_workspace_destroy(ws);
	sa_lexicon_destroy(lex);
	return check_report("test_emotion");
}
