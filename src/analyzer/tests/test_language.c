/*
 * test_language.c - language identification and the multilingual model:
 * codes of known texts in every language and script the identifier
 * places, "und" for texts with nothing to go on, social-media noise that
 * must not sway it, code-switching, bad input; the multilingual model's
 * probabilities, its routing (English exactly as the social model), the
 * issue's examples, no emotion for other languages, topics and explain in
 * other languages, the vader and social paths unchanged; and floors on the
 * UMSAB val split (skipped, saying so, when ../shared/data is absent).
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "language_internal.h"
#include "check.h"

#ifndef SA_REPO_ROOT
#define SA_REPO_ROOT ".."
#endif

/* measured when committed: the other seven languages 0.98 and above */
#define LANG_FLOOR 0.97

static sa_lexicon *lex;
static sa_workspace *ws;

static void
expect_lang(const char *text, const char *want)
{
	const char *code = NULL;
	sa_error	err = sa_language_identify(text, strlen(text), &code);

	CHECK_MSG(err == SA_OK && code != NULL && strcmp(code, want) == 0,
			  "\"%s\": language %s, expected %s", text, code ? code : "(null)", want);
}

static sa_sentiment
ml(const char *text)
{
	sa_sentiment s;
	sa_error	err = sa_sentiment_score_model(lex, ws, SA_MODEL_MULTILINGUAL, text, strlen(text), &s);

	CHECK_MSG(err == SA_OK, "multilingual(\"%s\") = %d", text, (int) err);
	CHECK_MSG(s.neg >= 0 && s.neu >= 0 && s.pos >= 0 &&
			  fabs(s.neg + s.neu + s.pos - 1.0) < 1e-12 && s.compound == s.pos - s.neg,
			  "\"%s\": probabilities %f %f %f compound %f", text, s.neg, s.neu, s.pos, s.compound);
	return s;
}

static void
expect_ml(const char *text, sa_label want)
{
	sa_sentiment s = ml(text);

	CHECK_MSG(s.label == want, "\"%s\": multilingual label %s (%.3f %.3f %.3f), expected %s", text,
			  sa_label_name(s.label), s.neg, s.neu, s.pos, sa_label_name(want));
}

static void
test_codes(void)
{
	/* the model's languages */
	expect_lang("Das Essen war wirklich ausgezeichnet", "de");
	expect_lang("El servicio fue terrible, nunca más", "es");
	expect_lang("The food was really excellent, thank you", "en");
	expect_lang("Le service était vraiment nul, je ne reviendrai pas", "fr");
	expect_lang("Il servizio era davvero pessimo, non tornerò più", "it");
	expect_lang("O atendimento foi muito ruim, não volto mais", "pt");
	expect_lang("yaar ye movie bahut acchi thi, maza aa gaya", "hi");
	/* decided by script */
	expect_lang("الخدمة كانت سيئة جدا", "ar");
	expect_lang("यह फिल्म बहुत अच्छी थी", "hi");
	expect_lang("Το φαγητό ήταν εξαιρετικό", "el");
	expect_lang("השירות היה נורא", "he");
	expect_lang("食べ物はとても美味しかった", "ja");
	expect_lang("这个服务太差了", "zh");
	expect_lang("음식이 정말 맛있었어요", "ko");
	expect_lang("อาหารอร่อยมาก", "th");
	/* a script with several languages and no data: not placed */
	expect_lang("Еда была отличной", "und");
}

static void
test_und_and_noise(void)
{
	const char *code = "x";

	expect_lang("", "und");
	expect_lang("   ", "und");
	expect_lang("😀😀😀 👍", "und");
	expect_lang("ok", "und");
	expect_lang("12345 !!! ??? :-) <3", "und");
	expect_lang("@someone_english_name https://example.com/the/english/words #", "und");
	expect_lang("RT @user: http", "und");
	CHECK(sa_language_identify(NULL, 0, &code) == SA_OK && strcmp(code, "und") == 0);

	/* names, links and emoji do not sway it; hashtags' words count */
	expect_lang("@the_best_english_speaker https://www.example.com/the-best-english-words "
				"Das ist wirklich gut so, danke schön 😀😀", "de");
	expect_lang("RT @user: ¡Qué día tan bonito hoy! #FelizDomingo http", "es");
	expect_lang("#BonneJournée à tous les amis, c'est génial", "fr");
	expect_lang("soooo happy today, best day ever!!!!", "en");
	/* English without tweet markers (review sentences) */
	expect_lang("Would not go back.", "en");
	expect_lang("The battery died after two days, very disappointed.", "en");
	expect_lang("Great product, works as described.", "en");
	/* code-switching: the majority */
	expect_lang("Ich finde das Konzert heute Abend wirklich super, so cool", "de");
	expect_lang("I really love this new phone, c'est la vie", "en");
	expect_lang("Muy buena la película, the best", "es");
	/* mixed scripts: the majority script */
	expect_lang("مرحبا بكم جميعا في المباراة today", "ar");

	/* bad input */
	CHECK(sa_language_identify("x", 1, NULL) == SA_ERR_ARGUMENT);
	CHECK(sa_language_identify(NULL, 3, &code) == SA_ERR_ARGUMENT);
	CHECK(sa_language_identify("x", SA_MAX_INPUT_BYTES + 1, &code) == SA_ERR_TOO_LONG);
	/* invalid UTF-8 is read, never rejected */
	expect_lang("\xff\xfe\xc3 das ist wirklich sehr gut \xe2\x82", "de");
}

static void
test_multilingual(void)
{
	sa_model	m;
	sa_model_info info;
	sa_sentiment s,
				social;
	sa_analysis *a = malloc(sizeof(sa_analysis));
	sa_topics  *topics;
	sa_explain_item items[10];
	size_t		n = 0;
	const char *en = "can't wait for the weekend, so happy!";
	const char *es = "El servicio fue terrible, nunca más #Fail";

	CHECK(sa_model_from_name("multilingual", 12, &m) == SA_OK && m == SA_MODEL_MULTILINGUAL);
	CHECK(strcmp(sa_model_name(SA_MODEL_MULTILINGUAL), "multilingual") == 0);
	CHECK(sa_model_get_info(SA_MODEL_MULTILINGUAL, &info) == SA_OK &&
		  strncmp(info.version_string, "multilingual-1-", 15) == 0 && info.file_bytes > 256);
	CHECK(sa_model_verify(SA_MODEL_MULTILINGUAL) == SA_OK);
	CHECK(sa_language_model_info(&info) == SA_OK && strncmp(info.version_string, "language-1-", 11) == 0);

	/*
	 * The issue's examples.  "ausgezeichnet" is in no German training
	 * tweet: it counts through the listed sentiment words (ml_lexicon.c).
	 */
	CHECK(sa_ml_lexicon_sorted());
	CHECK(sa_ml_polarity(SA_LANG_DE, "ausgezeichnet", 13) == 1 &&
		  sa_ml_polarity(SA_LANG_ES, "terrible", 8) == -1 && sa_ml_polarity(SA_LANG_EN, "good", 4) == 0 &&
		  sa_ml_polarity(SA_LANG_DE, "ausgezeichne", 12) == 0);
	expect_ml("Das Essen war wirklich ausgezeichnet", SA_LABEL_POSITIVE);
	expect_ml("Das Essen war super lecker, danke!", SA_LABEL_POSITIVE);
	expect_ml("El servicio fue terrible, nunca más", SA_LABEL_NEGATIVE);
	expect_ml("Le service était nul, je suis très déçu", SA_LABEL_NEGATIVE);
	expect_ml("Che bella giornata, sono felicissimo!", SA_LABEL_POSITIVE);
	expect_ml("Adorei o filme, muito bom!", SA_LABEL_POSITIVE);

	/* English (and und) are the social model's, exactly */
	s = ml(en);
	CHECK(sa_sentiment_score_model(lex, ws, SA_MODEL_SOCIAL, en, strlen(en), &social) == SA_OK);
	CHECK(s.compound == social.compound && s.label == social.label && s.pos == social.pos);
	s = ml("👍👍");
	CHECK(sa_sentiment_score_model(lex, ws, SA_MODEL_SOCIAL, "👍👍", 8, &social) == SA_OK);
	CHECK(s.compound == social.compound);

	/* full analysis: language, no emotion for other languages, topics */
	CHECK(sa_topics_create(&topics) == SA_OK);
	CHECK(sa_topics_add(topics, "servicio", 8, "servicio", 8, 1.0) == SA_OK);
	CHECK(sa_topics_add(topics, "essen", 5, "das essen", 9, 1.0) == SA_OK);
	CHECK(sa_analyze_model(lex, topics, ws, SA_MODEL_MULTILINGUAL, es, strlen(es), a) == SA_OK);
	CHECK(strcmp(a->language, "es") == 0);
	CHECK(a->sentiment.label == SA_LABEL_NEGATIVE);
	CHECK(a->emotion == SA_EMOTION_NONE && a->emotion_score == 0.0);
	CHECK(strcmp(sa_emotion_name(a->emotion), "none") == 0);
	{
		bool		tag = false,
					dict = false;

		for (size_t i = 0; i < a->n_topics; i++)
		{
			tag |= a->topics[i].key_len == 4 && memcmp(a->topics[i].key, "fail", 4) == 0;
			dict |= a->topics[i].key_len == 8 && memcmp(a->topics[i].key, "servicio", 8) == 0;
		}
		CHECK_MSG(tag && dict, "topics of \"%s\": hashtag %d, dictionary %d", es, tag, dict);
	}
	CHECK(sa_analyze_model(lex, topics, ws, SA_MODEL_MULTILINGUAL, "Das Essen war super lecker, danke!",
						   34, a) == SA_OK);
	CHECK(strcmp(a->language, "de") == 0 && a->sentiment.label == SA_LABEL_POSITIVE &&
		  a->emotion == SA_EMOTION_NONE && a->n_topics == 1 && a->topics[0].sentiment > 0);
	/* English keeps its emotion; the sentiment is social's */
	CHECK(sa_sentiment_score_model(lex, ws, SA_MODEL_SOCIAL, en, strlen(en), &social) == SA_OK);
	CHECK(sa_analyze_model(lex, NULL, ws, SA_MODEL_MULTILINGUAL, en, strlen(en), a) == SA_OK);
	CHECK(strcmp(a->language, "en") == 0 && a->emotion >= 0 && a->emotion < SA_EMOTION_COUNT &&
		  a->emotion_score > 0 && a->sentiment.compound == social.compound);
	/* vader and social tables analyse as before: emotion for every text */
	CHECK(sa_analyze_model(lex, NULL, ws, SA_MODEL_SOCIAL, es, strlen(es), a) == SA_OK);
	CHECK(a->emotion >= 0 && a->emotion < SA_EMOTION_COUNT && strcmp(a->language, "es") == 0);
	CHECK(sa_analyze_model(lex, NULL, ws, SA_MODEL_VADER, es, strlen(es), a) == SA_OK);
	CHECK(a->emotion >= 0 && a->emotion < SA_EMOTION_COUNT);

	/* explain: the slice's terms, strongest first, including "terrible" */
	CHECK(sa_explain(lex, ws, SA_MODEL_MULTILINGUAL, es, strlen(es), items, 10, &n) == SA_OK);
	CHECK(n > 0);
	{
		bool		found = false;

		for (size_t i = 0; i < n; i++)
		{
			found |= items[i].term_len == 8 && memcmp(items[i].term, "terrible", 8) == 0 &&
				items[i].contribution < 0;
			CHECK(i == 0 || fabs(items[i - 1].contribution) >= fabs(items[i].contribution));
		}
		CHECK_MSG(found, "explain of \"%s\" lacks a negative \"terrible\"", es);
	}
	sa_topics_destroy(topics);
	free(a);
}

/* UMSAB val: identification accuracy of the seven non-Hindi languages */
static void
test_val(void)
{
	char		path[4096];
	FILE	   *fh;
	char	   *line = NULL;
	size_t		cap = 0;
	ssize_t		len;
	static const char *const langs[] = {"ar", "de", "en", "es", "fr", "it", "pt"};
	long		total[7] = {0},
				right[7] = {0};

	snprintf(path, sizeof(path), "%s/../shared/data/multilingual/umsab_val.tsv", SA_REPO_ROOT);
	if ((fh = fopen(path, "r")) == NULL)
	{
		printf("SKIP: %s not found\n", path);
		return;
	}
	while ((len = getline(&line, &cap, fh)) > 0)
	{
		char	   *text = strchr(line, '\t');
		const char *code;

		if (line[len - 1] == '\n')
			line[--len] = '\0';
		text = text ? strchr(text + 1, '\t') : NULL;
		if (text == NULL)
			continue;
		text++;
		for (int i = 0; i < 7; i++)
			if (strncmp(line, langs[i], 2) == 0 && line[2] == '\t')
			{
				CHECK(sa_language_identify(text, strlen(text), &code) == SA_OK);
				total[i]++;
				right[i] += strcmp(code, langs[i]) == 0;
			}
	}
	free(line);
	fclose(fh);
	for (int i = 0; i < 7; i++)
		CHECK_MSG(total[i] > 0 && (double) right[i] / total[i] >= LANG_FLOOR,
				  "%s: %ld of %ld identified", langs[i], right[i], total[i]);
}

int
main(void)
{
	if (sa_lexicon_create(&lex) != SA_OK || sa_workspace_create(&ws) != SA_OK)
		return 1;
	test_codes();
	test_und_and_noise();
	test_multilingual();
	test_val();
	sa_workspace_destroy(ws);
	sa_lexicon_destroy(lex);
	return check_report("test_language");
}
