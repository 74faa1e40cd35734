/*
 * ml_lexicon.c - small hand-written lists of clear sentiment words for the
 * multilingual model's languages (written for this project, no outside
 * source).  The model does not take their polarity as given: with
 * SA_FEAT_MLLEX a listed word adds one "positive word" or "negative word"
 * feature, whose weight per language is learnt from the training tweets
 * like any other.  So a word the 1,839 training tweets of a language never
 * show ("ausgezeichnet") still carries what its listed kin taught.
 * Tokens are as the tokeniser gives them: lower case, accents kept.
 */
#include <string.h>

#include "language_internal.h"

typedef struct ml_word
{
	const char *w;
	uint8_t		len;
	int8_t		polarity;
} ml_word;

/* Generated lists: sorted by (byte length, bytes); test_language checks the order. */
static const ml_word lex_de[] = {
	{"gut", 3, 1}, {"top", 3, 1}, {"cool", 4, 1}, {"dank", 4, 1}, {"doof", 4, -1}, {"dumm", 4, -1},
	{"geil", 4, 1}, {"gern", 4, 1}, {"gute", 4, 1}, {"hass", 4, -1}, {"juhu", 4, 1},
	{"mist", 4, -1}, {"toll", 4, 1}, {"angst", 5, -1}, {"beste", 5, 1}, {"blöd", 5, -1},
	{"bravo", 5, 1}, {"danke", 5, 1}, {"dumme", 5, -1}, {"freue", 5, 1}, {"freut", 5, 1},
	{"gerne", 5, 1}, {"guten", 5, 1}, {"hasse", 5, -1}, {"kacke", 5, -1}, {"liebe", 5, 1},
	{"liebt", 5, 1}, {"lüge", 5, -1}, {"müll", 5, -1}, {"nervt", 5, -1}, {"prima", 5, 1},
	{"sauer", 5, -1}, {"spaß", 5, 1}, {"super", 5, 1}, {"tolle", 5, 1}, {"übel", 5, -1},
	{"besten", 6, 1}, {"bester", 6, 1}, {"blöde", 6, -1}, {"freude", 6, 1}, {"genial", 6, 1},
	{"klasse", 6, 1}, {"lecker", 6, 1}, {"leider", 6, -1}, {"lieben", 6, 1}, {"lustig", 6, 1},
	{"lügen", 6, -1}, {"nervig", 6, -1}, {"schade", 6, -1}, {"schön", 6, 1}, {"spitze", 6, 1},
	{"tollen", 6, 1}, {"grausam", 7, -1}, {"lügner", 7, -1}, {"perfekt", 7, 1}, {"scheiß", 7, -1},
	{"schlimm", 7, -1}, {"schöne", 7, 1}, {"traurig", 7, -1}, {"versagt", 7, -1},
	{"wütend", 7, -1}, {"armselig", 8, -1}, {"ekelhaft", 8, -1}, {"grandios", 8, 1},
	{"herrlich", 8, 1}, {"peinlich", 8, -1}, {"scheiße", 8, -1}, {"schlecht", 8, -1},
	{"schönen", 8, 1}, {"schöner", 8, 1}, {"unfähig", 8, -1}, {"furchtbar", 9, -1},
	{"schlechte", 9, -1}, {"schlimmer", 9, -1}, {"traumhaft", 9, 1}, {"widerlich", 9, -1},
	{"wunderbar", 9, 1}, {"zufrieden", 9, 1}, {"glücklich", 10, 1}, {"großartig", 10, 1},
	{"langweilig", 10, -1}, {"schlechten", 10, -1}, {"schlechter", 10, -1}, {"ärgerlich", 10, -1},
	{"enttäuscht", 11, -1}, {"fantastisch", 11, 1}, {"katastrophe", 11, -1},
	{"schrecklich", 11, -1}, {"glückwunsch", 12, 1}, {"hervorragend", 12, 1},
	{"unverschämt", 12, -1}, {"wunderschön", 12, 1}, {"ausgezeichnet", 13, 1},
	{"enttäuschend", 13, -1}, {"fürchterlich", 13, -1}, {"empfehlenswert", 14, 1},
};
static const ml_word lex_es[] = {
	{"amo", 3, 1}, {"mal", 3, -1}, {"amor", 4, 1}, {"asco", 4, -1}, {"bien", 4, 1},
	{"mala", 4, -1}, {"malo", 4, -1}, {"odio", 4, -1}, {"pena", 4, -1}, {"peor", 4, -1},
	{"robo", 4, -1}, {"buena", 5, 1}, {"bueno", 5, 1}, {"culpa", 5, -1}, {"dolor", 5, -1},
	{"fatal", 5, -1}, {"feliz", 5, 1}, {"guapa", 5, 1}, {"guapo", 5, 1}, {"gusta", 5, 1},
	{"harto", 5, -1}, {"malas", 5, -1}, {"malos", 5, -1}, {"mejor", 5, 1}, {"miedo", 5, -1},
	{"rabia", 5, -1}, {"basura", 6, -1}, {"bonita", 6, 1}, {"bonito", 6, 1}, {"brutal", 6, 1},
	{"buenas", 6, 1}, {"buenos", 6, 1}, {"genial", 6, 1}, {"gustó", 6, 1}, {"hartos", 6, -1},
	{"idiota", 6, -1}, {"llorar", 6, -1}, {"mierda", 6, -1}, {"muerte", 6, -1}, {"muerto", 6, -1},
	{"triste", 6, -1}, {"ánimo", 6, 1}, {"éxito", 6, 1}, {"encanta", 7, 1}, {"felices", 7, 1},
	{"gracias", 7, 1}, {"hermosa", 7, 1}, {"hermoso", 7, 1}, {"mejores", 7, 1}, {"mentira", 7, -1},
	{"pésima", 7, -1}, {"pésimo", 7, -1}, {"aburrido", 8, -1}, {"alegría", 8, 1},
	{"corrupto", 8, -1}, {"desastre", 8, -1}, {"encantó", 8, 1}, {"horrible", 8, -1},
	{"ladrones", 8, -1}, {"perfecta", 8, 1}, {"perfecto", 8, 1}, {"preciosa", 8, 1},
	{"precioso", 8, 1}, {"terrible", 8, -1}, {"tristeza", 8, -1}, {"asqueroso", 9, -1},
	{"divertido", 9, 1}, {"estupendo", 9, 1}, {"estúpido", 9, -1}, {"excelente", 9, 1},
	{"mentiroso", 9, -1}, {"orgullosa", 9, 1}, {"orgulloso", 9, 1}, {"ridículo", 9, -1},
	{"decepción", 10, -1}, {"increíble", 10, 1}, {"lamentable", 10, -1}, {"vergüenza", 10, -1},
	{"corrupción", 11, -1}, {"enhorabuena", 11, 1}, {"fantástico", 11, 1}, {"felicidades", 11, 1},
	{"maravillosa", 11, 1}, {"maravilloso", 11, 1}, {"decepcionado", 12, -1},
};
static const ml_word lex_fr[] = {
	{"bon", 3, 1}, {"con", 3, -1}, {"mal", 3, -1}, {"nul", 3, -1}, {"top", 3, 1}, {"aime", 4, 1},
	{"beau", 4, 1}, {"bien", 4, 1}, {"bons", 4, 1}, {"cool", 4, 1}, {"joli", 4, 1},
	{"nuls", 4, -1}, {"peur", 4, -1}, {"pire", 4, -1}, {"ravi", 4, 1}, {"adore", 5, 1},
	{"aimer", 5, 1}, {"amour", 5, 1}, {"beaux", 5, 1}, {"belle", 5, 1}, {"bonne", 5, 1},
	{"bravo", 5, 1}, {"haine", 5, -1}, {"honte", 5, -1}, {"jolie", 5, 1}, {"marre", 5, -1},
	{"merci", 5, 1}, {"merde", 5, -1}, {"nulle", 5, -1}, {"panne", 5, -1}, {"ravie", 5, 1},
	{"super", 5, 1}, {"sympa", 5, 1}, {"chiant", 6, -1}, {"déçu", 6, -1}, {"pourri", 6, -1},
	{"triste", 6, -1}, {"affreux", 7, -1}, {"arnaque", 7, -1}, {"chiante", 7, -1},
	{"colère", 7, -1}, {"connard", 7, -1}, {"content", 7, 1}, {"dommage", 7, -1},
	{"débile", 7, -1}, {"déçue", 7, -1}, {"galère", 7, -1}, {"génial", 7, 1}, {"heureux", 7, 1},
	{"honteux", 7, -1}, {"mauvais", 7, -1}, {"parfait", 7, 1}, {"plaisir", 7, 1}, {"réussi", 7, 1},
	{"chouette", 8, 1}, {"contente", 8, 1}, {"déteste", 8, -1}, {"géniale", 8, 1},
	{"heureuse", 8, 1}, {"horrible", 8, -1}, {"mauvaise", 8, -1}, {"meilleur", 8, 1},
	{"parfaite", 8, 1}, {"ridicule", 8, -1}, {"scandale", 8, -1}, {"terrible", 8, -1},
	{"énervé", 8, -1}, {"agréable", 9, 1}, {"décevant", 9, -1}, {"excellent", 9, 1},
	{"meilleure", 9, 1}, {"meilleurs", 9, 1}, {"problème", 9, -1}, {"réussite", 9, 1},
	{"décevante", 10, -1}, {"excellente", 10, 1}, {"formidable", 10, 1}, {"incroyable", 10, 1},
	{"lamentable", 10, -1}, {"magnifique", 10, 1}, {"problèmes", 10, -1}, {"scandaleux", 10, -1},
	{"catastrophe", 11, -1}, {"fantastique", 11, 1}, {"merveilleux", 11, 1},
	{"inacceptable", 12, -1}, {"inadmissible", 12, -1}, {"insupportable", 13, -1},
	{"félicitations", 14, 1},
};
static const ml_word lex_hi[] = {
	{"bad", 3, -1}, {"sad", 3, -1}, {"wah", 3, 1}, {"acha", 4, 1}, {"achi", 4, 1}, {"best", 4, 1},
	{"bura", 4, -1}, {"buri", 4, -1}, {"chor", 4, -1}, {"dukh", 4, -1}, {"fail", 4, -1},
	{"fake", 4, -1}, {"good", 4, 1}, {"hate", 4, -1}, {"loot", 4, -1}, {"love", 4, 1},
	{"maja", 4, 1}, {"mast", 4, 1}, {"maza", 4, 1}, {"nice", 4, 1}, {"poor", 4, -1},
	{"pyar", 4, 1}, {"waah", 4, 1}, {"accha", 5, 1}, {"acchi", 5, 1}, {"achha", 5, 1},
	{"achhi", 5, 1}, {"bekar", 5, -1}, {"dukhi", 5, -1}, {"galat", 5, -1}, {"ganda", 5, -1},
	{"gandi", 5, -1}, {"great", 5, 1}, {"gussa", 5, -1}, {"happy", 5, 1}, {"jhoot", 5, -1},
	{"khush", 5, 1}, {"majaa", 5, 1}, {"mazaa", 5, 1}, {"pagal", 5, -1}, {"pyaar", 5, 1},
	{"pyara", 5, 1}, {"pyari", 5, 1}, {"shame", 5, -1}, {"sharm", 5, -1}, {"super", 5, 1},
	{"worst", 5, -1}, {"badhai", 6, 1}, {"badiya", 6, 1}, {"bakwas", 6, -1}, {"bekaar", 6, -1},
	{"boring", 6, -1}, {"jhooth", 6, -1}, {"kamina", 6, -1}, {"kamine", 6, -1}, {"khushi", 6, 1},
	{"nafrat", 6, -1}, {"sharam", 6, -1}, {"sundar", 6, 1}, {"superb", 6, 1}, {"thanks", 6, 1},
	{"awesome", 7, 1}, {"badhiya", 7, 1}, {"bakwaas", 7, -1}, {"bewkoof", 7, -1},
	{"corrupt", 7, -1}, {"ghatiya", 7, -1}, {"ghotala", 7, -1}, {"ghotale", 7, -1},
	{"shandar", 7, 1}, {"bewakoof", 8, -1}, {"shandaar", 8, 1}, {"shukriya", 8, 1},
	{"dhanyavad", 9, 1}, {"jabardast", 9, 1}, {"zabardast", 9, 1}, {"congratulations", 15, 1},
};
static const ml_word lex_it[] = {
	{"amo", 3, 1}, {"top", 3, 1}, {"bene", 4, 1}, {"male", 4, -1}, {"noia", 4, -1},
	{"odio", 4, -1}, {"adoro", 5, 1}, {"amore", 5, 1}, {"bella", 5, 1}, {"belle", 5, 1},
	{"belli", 5, 1}, {"bello", 5, 1}, {"brava", 5, 1}, {"bravi", 5, 1}, {"bravo", 5, 1},
	{"bugia", 5, -1}, {"bugie", 5, -1}, {"buona", 5, 1}, {"buono", 5, 1}, {"falso", 5, -1},
	{"gioia", 5, 1}, {"ladri", 5, -1}, {"ladro", 5, -1}, {"merda", 5, -1}, {"morte", 5, -1},
	{"morti", 5, -1}, {"paura", 5, -1}, {"piace", 5, 1}, {"auguri", 6, 1}, {"brutta", 6, -1},
	{"brutto", 6, -1}, {"delusa", 6, -1}, {"deluso", 6, -1}, {"evviva", 6, 1}, {"felice", 6, 1},
	{"felici", 6, 1}, {"grazie", 6, 1}, {"idiota", 6, -1}, {"noioso", 6, -1}, {"ottima", 6, 1},
	{"ottimo", 6, 1}, {"peggio", 6, -1}, {"rabbia", 6, -1}, {"schifo", 6, -1}, {"triste", 6, -1},
	{"geniale", 7, 1}, {"inutile", 7, -1}, {"pessima", 7, -1}, {"pessimo", 7, -1},
	{"stupida", 7, -1}, {"stupido", 7, -1}, {"contenta", 8, 1}, {"contento", 8, 1},
	{"disastro", 8, -1}, {"favoloso", 8, 1}, {"incapace", 8, -1}, {"incapaci", 8, -1},
	{"migliore", 8, 1}, {"migliori", 8, 1}, {"orribile", 8, -1}, {"peggiore", 8, -1},
	{"perfetta", 8, 1}, {"perfetto", 8, 1}, {"piaciuto", 8, 1}, {"ridicola", 8, -1},
	{"ridicolo", 8, -1}, {"schifoso", 8, -1}, {"stupenda", 8, 1}, {"stupendo", 8, 1},
	{"vergogna", 8, -1}, {"vittoria", 8, 1}, {"delusione", 9, -1}, {"purtroppo", 9, -1},
	{"splendida", 9, 1}, {"splendido", 9, 1}, {"terribile", 9, -1}, {"tristezza", 9, -1},
	{"divertente", 10, 1}, {"eccellente", 10, 1}, {"fallimento", 10, -1}, {"fantastica", 10, 1},
	{"fantastico", 10, 1}, {"vergognoso", 10, -1}, {"complimenti", 11, 1}, {"meravigliosa", 12, 1},
	{"meraviglioso", 12, 1},
};
static const ml_word lex_pt[] = {
	{"amo", 3, 1}, {"bem", 3, 1}, {"boa", 3, 1}, {"bom", 3, 1}, {"dor", 3, -1}, {"mal", 3, -1},
	{"mau", 3, -1}, {"top", 3, 1}, {"amei", 4, 1}, {"amor", 4, 1}, {"boas", 4, 1}, {"bons", 4, 1},
	{"fofa", 4, 1}, {"fofo", 4, 1}, {"lixo", 4, -1}, {"medo", 4, -1}, {"nojo", 4, -1},
	{"pena", 4, -1}, {"pior", 4, -1}, {"ruim", 4, -1}, {"show", 4, 1}, {"adoro", 5, 1},
	{"burro", 5, -1}, {"chata", 5, -1}, {"chato", 5, -1}, {"droga", 5, -1}, {"feliz", 5, 1},
	{"legal", 5, 1}, {"linda", 5, 1}, {"lindo", 5, 1}, {"massa", 5, 1}, {"merda", 5, -1},
	{"morte", 5, -1}, {"odeio", 5, -1}, {"otima", 5, 1}, {"otimo", 5, 1}, {"raiva", 5, -1},
	{"ruins", 5, -1}, {"ódio", 5, -1}, {"adorei", 6, 1}, {"bonita", 6, 1}, {"bonito", 6, 1},
	{"chorar", 6, -1}, {"demais", 6, 1}, {"gostei", 6, 1}, {"idiota", 6, -1}, {"lindos", 6, 1},
	{"melhor", 6, 1}, {"piores", 6, -1}, {"triste", 6, -1}, {"ótima", 6, 1}, {"ótimo", 6, 1},
	{"absurdo", 7, -1}, {"alegria", 7, 1}, {"cansada", 7, -1}, {"cansado", 7, -1},
	{"felizes", 7, 1}, {"mentira", 7, -1}, {"orgulho", 7, 1}, {"sucesso", 7, 1},
	{"corrupto", 8, -1}, {"delícia", 8, 1}, {"melhores", 8, 1}, {"obrigada", 8, 1},
	{"obrigado", 8, 1}, {"perfeita", 8, 1}, {"perfeito", 8, 1}, {"péssima", 8, -1},
	{"péssimo", 8, -1}, {"tristeza", 8, -1}, {"vergonha", 8, -1}, {"delicioso", 9, 1},
	{"divertido", 9, 1}, {"excelente", 9, 1}, {"horrível", 9, -1}, {"incrível", 9, 1},
	{"mentiroso", 9, -1}, {"parabéns", 9, 1}, {"ridícula", 9, -1}, {"ridículo", 9, -1},
	{"terrível", 9, -1}, {"decepção", 10, -1}, {"sofrimento", 10, -1}, {"corrupção", 11, -1},
	{"maravilhosa", 11, 1}, {"maravilhoso", 11, 1}, {"sensacional", 11, 1},
	{"decepcionado", 12, -1}, {"infelizmente", 12, -1},
};
static const ml_word lex_ar[] = {
	{"حب", 4, 1}, {"أحب", 6, 1}, {"احب", 6, 1}, {"جيد", 6, 1}, {"حزن", 6, -1}, {"حلو", 6, 1},
	{"خير", 6, 1}, {"زفت", 6, -1}, {"سيء", 6, -1}, {"سيئ", 6, -1}, {"ظلم", 6, -1}, {"غبي", 6, -1},
	{"فرح", 6, 1}, {"فشل", 6, -1}, {"قتل", 6, -1}, {"قرف", 6, -1}, {"كذب", 6, -1}, {"كره", 6, -1},
	{"موت", 6, -1}, {"أسوأ", 8, -1}, {"أفضل", 8, 1}, {"أكره", 8, -1}, {"اسوأ", 8, -1},
	{"افضل", 8, 1}, {"اكره", 8, -1}, {"تافه", 8, -1}, {"تحفة", 8, 1}, {"جميل", 8, 1},
	{"جيدة", 8, 1}, {"حرام", 8, -1}, {"حزين", 8, -1}, {"حلوة", 8, 1}, {"خراب", 8, -1},
	{"رائع", 8, 1}, {"روعة", 8, 1}, {"سعيد", 8, 1}, {"سيئة", 8, -1}, {"سيئه", 8, -1},
	{"شكرا", 8, 1}, {"عظيم", 8, 1}, {"فاشل", 8, -1}, {"فساد", 8, -1}, {"كذاب", 8, -1},
	{"مبدع", 8, 1}, {"مقرف", 8, -1}, {"نجاح", 8, 1}, {"إرهاب", 10, -1}, {"ابداع", 10, 1},
	{"ارهاب", 10, -1}, {"الحمد", 10, 1}, {"جميلة", 10, 1}, {"حزينة", 10, -1}, {"خيانة", 10, -1},
	{"رائعة", 10, 1}, {"زبالة", 10, -1}, {"زباله", 10, -1}, {"سعادة", 10, 1}, {"سعيدة", 10, 1},
	{"فاشلة", 10, -1}, {"للأسف", 10, -1}, {"للاسف", 10, -1}, {"مبروك", 10, 1}, {"مشاكل", 10, -1},
	{"مشكلة", 10, -1}, {"ممتاز", 10, 1}, {"ممتازة", 12, 1}, {"بالتوفيق", 16, 1},
};

static const struct
{
	const ml_word *words;
	size_t		n;
}			lexicons[SA_LANG_AR + 1] = {
#define L(x) {x, sizeof(x) / sizeof(x[0])}
	[SA_LANG_DE] = L(lex_de), [SA_LANG_ES] = L(lex_es), [SA_LANG_FR] = L(lex_fr),
	[SA_LANG_HI] = L(lex_hi), [SA_LANG_IT] = L(lex_it), [SA_LANG_PT] = L(lex_pt),
	[SA_LANG_AR] = L(lex_ar),
#undef L
};

/* Order of the lists: byte length, then bytes. */
static int
cmp_word(const char *a, size_t al, const ml_word *b)
{
	if (al != b->len)
		return al < b->len ? -1 : 1;
	return memcmp(a, b->w, al);
}

int
sa_ml_polarity(sa_lang lang, const char *w, size_t len)
{
	size_t		lo = 0,
				hi;

	if ((int) lang < 0 || lang > SA_LANG_AR || lexicons[lang].words == NULL)
		return 0;
	hi = lexicons[lang].n;
	while (lo < hi)
	{
		size_t		mid = (lo + hi) / 2;
		int			c = cmp_word(w, len, &lexicons[lang].words[mid]);

		if (c == 0)
			return lexicons[lang].words[mid].polarity;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return 0;
}

bool
sa_ml_lexicon_sorted(void)
{
	for (int l = 0; l <= SA_LANG_AR; l++)
		for (size_t i = 1; i < lexicons[l].n; i++)
		{
			const ml_word *a = &lexicons[l].words[i - 1];

			if (a->len != strlen(a->w) || cmp_word(a->w, a->len, &lexicons[l].words[i]) >= 0)
				return false;
		}
	return true;
}
