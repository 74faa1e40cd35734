/*
 * language_scan.c - language identification's pass over a text: the
 * script counts and the trained model's features (language.c scores them).
 *
 * One pass over the bytes, no allocation, no workspace.  Social-media noise
 * is dropped first: user names (@name), links (http://, https://, www.,
 * and the bare "http" the data sets leave of a link), "RT", the '#' of a
 * hashtag (its word is kept), digits, punctuation and emoji.  What remains
 * are letters, counted per script:
 *
 *   - a script that one language (or one language above all) writes
 *     decides alone: Arabic -> ar, Devanagari -> hi, Greek -> el, Hebrew ->
 *     he, Thai -> th, Hangul -> ko, kana (with or without Han) -> ja, Han
 *     alone -> zh, Georgian, Armenian and the Indic, Ethiopic, Lao, Khmer,
 *     Myanmar and Sinhala scripts;
 *   - Latin letters go to the trained model (models/language.samodel):
 *     hashed byte n-grams (char_min..char_max bytes) of the lower-cased
 *     words, spaces between them included, and the words themselves, summed
 *     in a linear model of seven classes (de en es fr hi it pt; hi is
 *     romanised Hindi).  A text mixing languages goes to the one with the
 *     most evidence, which is the majority of its words in practice;
 *   - other scripts (Cyrillic, ...) and texts with fewer than
 *     SA_LANG_MIN_LETTERS letters are "und".
 *
 * The majority script by letter count wins (Latin on a tie).  The scoring is
 * the models' usual integer sums (model_internal.h), accumulated while
 * scanning, so a short text costs one table row per n-gram.
 * tools/dump-language.c prints the same rows for the trainer
 * (tools/train_multilingual.py), so training and scoring share this code;
 * this file needs no model, so the dumper builds before there is one.
 */
#include <math.h>
#include <string.h>

#include "language_internal.h"

_Static_assert(SA_LANG_MODEL_COUNT == 7, "models/language.samodel has seven classes");

static const char *const lang_codes[SA_LANG_COUNT] = {
	[SA_LANG_DE] = "de", [SA_LANG_EN] = "en", [SA_LANG_ES] = "es", [SA_LANG_FR] = "fr",
	[SA_LANG_HI] = "hi", [SA_LANG_IT] = "it", [SA_LANG_PT] = "pt",
	[SA_LANG_AR] = "ar", [SA_LANG_HI_DEVA] = "hi", [SA_LANG_EL] = "el", [SA_LANG_HE] = "he",
	[SA_LANG_TH] = "th", [SA_LANG_KO] = "ko", [SA_LANG_JA] = "ja", [SA_LANG_ZH] = "zh",
	[SA_LANG_KA] = "ka", [SA_LANG_HY] = "hy", [SA_LANG_BN] = "bn", [SA_LANG_PA] = "pa",
	[SA_LANG_GU] = "gu", [SA_LANG_TA] = "ta", [SA_LANG_TE] = "te", [SA_LANG_KN] = "kn",
	[SA_LANG_ML] = "ml", [SA_LANG_SI] = "si", [SA_LANG_LO] = "lo", [SA_LANG_MY] = "my",
	[SA_LANG_AM] = "am", [SA_LANG_KM] = "km", [SA_LANG_UND] = "und",
};

const char *
sa_lang_code(sa_lang lang)
{
	if ((int) lang < 0 || lang >= SA_LANG_COUNT)
		return "und";
	return lang_codes[lang];
}

sa_lang
sa_lang_from_code(const char *code)
{
	if (code != NULL)
		for (int i = 0; i < SA_LANG_COUNT; i++)
			if (strcmp(code, lang_codes[i]) == 0)
				return (sa_lang) i;
	return SA_LANG_UND;
}

/* Pseudo-scripts beside the languages' own: Latin, and letters of others. */
#define SC_LATIN	SA_LANG_COUNT
#define SC_OTHER	(SA_LANG_COUNT + 1)
#define SC_NONE		(SA_LANG_COUNT + 2)
#define SC_MARK		(SA_LANG_COUNT + 3)	/* combining mark: inside a word */
#define SC_COUNT	(SA_LANG_COUNT + 4)

typedef struct script_range
{
	uint32_t	lo,
				hi;
	uint16_t	script;
} script_range;

/* Non-ASCII letters by script, sorted; what is not listed is no letter. */
static const script_range scripts[] = {
	{0x00AA, 0x00AA, SC_LATIN}, {0x00BA, 0x00BA, SC_LATIN},
	{0x00C0, 0x00D6, SC_LATIN}, {0x00D8, 0x00F6, SC_LATIN}, {0x00F8, 0x024F, SC_LATIN},
	{0x0250, 0x02AF, SC_LATIN}, {0x0300, 0x036F, SC_MARK},
	{0x0370, 0x03FF, SA_LANG_EL}, {0x0400, 0x052F, SC_OTHER},
	{0x0530, 0x058F, SA_LANG_HY}, {0x0590, 0x05FF, SA_LANG_HE},
	{0x0600, 0x06FF, SA_LANG_AR}, {0x0700, 0x074F, SC_OTHER}, {0x0750, 0x077F, SA_LANG_AR},
	{0x0780, 0x07FF, SC_OTHER}, {0x08A0, 0x08FF, SA_LANG_AR},
	{0x0900, 0x097F, SA_LANG_HI_DEVA}, {0x0980, 0x09FF, SA_LANG_BN},
	{0x0A00, 0x0A7F, SA_LANG_PA}, {0x0A80, 0x0AFF, SA_LANG_GU}, {0x0B00, 0x0B7F, SC_OTHER},
	{0x0B80, 0x0BFF, SA_LANG_TA}, {0x0C00, 0x0C7F, SA_LANG_TE}, {0x0C80, 0x0CFF, SA_LANG_KN},
	{0x0D00, 0x0D7F, SA_LANG_ML}, {0x0D80, 0x0DFF, SA_LANG_SI}, {0x0E00, 0x0E7F, SA_LANG_TH},
	{0x0E80, 0x0EFF, SA_LANG_LO}, {0x0F00, 0x0FFF, SC_OTHER}, {0x1000, 0x109F, SA_LANG_MY},
	{0x10A0, 0x10FF, SA_LANG_KA}, {0x1100, 0x11FF, SA_LANG_KO}, {0x1200, 0x139F, SA_LANG_AM},
	{0x13A0, 0x177F, SC_OTHER}, {0x1780, 0x17FF, SA_LANG_KM}, {0x1800, 0x1DBF, SC_OTHER},
	{0x1DC0, 0x1DFF, SC_MARK}, {0x1E00, 0x1EFF, SC_LATIN}, {0x1F00, 0x1FFF, SA_LANG_EL},
	{0x2C00, 0x2DFF, SC_OTHER}, {0x3040, 0x30FF, SA_LANG_JA}, {0x3130, 0x318F, SA_LANG_KO},
	{0x31F0, 0x31FF, SA_LANG_JA}, {0x3400, 0x4DBF, SA_LANG_ZH}, {0x4E00, 0x9FFF, SA_LANG_ZH},
	{0xA000, 0xA4CF, SC_OTHER}, {0xA640, 0xA69F, SC_OTHER}, {0xA720, 0xA7FF, SC_LATIN},
	{0xAC00, 0xD7AF, SA_LANG_KO}, {0xF900, 0xFAFF, SA_LANG_ZH}, {0xFB50, 0xFDFF, SA_LANG_AR},
	{0xFE70, 0xFEFF, SA_LANG_AR}, {0xFF21, 0xFF3A, SC_LATIN}, {0xFF41, 0xFF5A, SC_LATIN},
	{0xFF66, 0xFF9F, SA_LANG_JA},
};

static uint32_t
script_of(uint32_t cp)
{
	size_t		lo = 0,
				hi = sizeof(scripts) / sizeof(scripts[0]);

	while (lo < hi)
	{
		size_t		mid = (lo + hi) / 2;

		if (cp < scripts[mid].lo)
			hi = mid;
		else if (cp > scripts[mid].hi)
			lo = mid + 1;
		else
			return scripts[mid].script;
	}
	return SC_NONE;
}

/* Simple lower case of the common Latin letters (the rest stay as they are). */
static uint32_t
latin_lower(uint32_t cp)
{
	if (cp >= 0xC0 && cp <= 0xDE)
		return cp + 0x20;
	if (cp >= 0xFF21 && cp <= 0xFF3A)
		return cp - 0xFF21 + 'a';	/* full-width to ASCII */
	if (cp >= 0xFF41 && cp <= 0xFF5A)
		return cp - 0xFF41 + 'a';
	if (((cp >= 0x100 && cp <= 0x137) || (cp >= 0x14A && cp <= 0x177) ||
		 (cp >= 0x1E00 && cp <= 0x1EFF)) && (cp & 1) == 0)
		return cp + 1;
	if (((cp >= 0x139 && cp <= 0x148) || (cp >= 0x179 && cp <= 0x17E)) && (cp & 1) == 1)
		return cp + 1;
	if (cp == 0x178)
		return 0xFF;
	return cp;
}

#define K_WORD 9				/* n-grams are kinds 1..8 */

/* Multiply-shift hashing of (kind, key): one 64-bit multiply. */
static inline uint32_t
lang_row(uint32_t key, uint32_t kind, uint32_t bits)
{
	return (uint32_t) ((((uint64_t) kind << 32 | key) * 0x9E3779B97F4A7C15ull) >> (64 - bits));
}

static inline bool
ascii_alpha(unsigned char c)
{
	return (unsigned) ((c | 0x20) - 'a') < 26u;
}

static inline bool
name_char(unsigned char c)
{
	return ascii_alpha(c) || (unsigned) (c - '0') < 10u || c == '_';
}

/* A table row and the sums: one vector each (GCC and clang extensions). */
typedef int8_t v8qi __attribute__((vector_size(8)));
typedef int16_t v8hi __attribute__((vector_size(16)));
typedef int32_t v8si __attribute__((vector_size(32)));

/* The scan's state: the n-gram window, the word's hash, the sums. */
typedef struct lang_scan
{
	const int8_t *table;
	uint32_t	bits;
	uint32_t	nmin,
				nmax;
	uint32_t	win;			/* the last four bytes, newest lowest */
	uint32_t	fill;			/* bytes pushed (capped) */
	uint32_t	word;			/* FNV-1a of the current word */
	bool		in_word;
	uint32_t   *rows;			/* dump: the rows instead of sums */
	size_t		n;
	v8si		z;
	v8hi		z16;			/* the last rows' sums, one vector */
	uint32_t	pending;		/* rows in z16 (|sum| <= 127 * 256 fits) */
} lang_scan;

static inline __attribute__((always_inline)) void
flush_sums(lang_scan *s)
{
	s->z += __builtin_convertvector(s->z16, v8si);
	s->z16 = (v8hi) {0};
	s->pending = 0;
}

static inline __attribute__((always_inline)) void
add_row(lang_scan *s, uint32_t row)
{
	if (s->rows != NULL)
		s->rows[s->n] = row;
	else
	{
		v8qi		w;

		memcpy(&w, s->table + (size_t) row * 8, 8);
		s->z16 += __builtin_convertvector(w, v8hi);
		if (++s->pending == 256)
			flush_sums(s);
	}
	s->n++;
}

static inline __attribute__((always_inline)) void
push_byte(lang_scan *s, unsigned char b)
{
	static const uint32_t mask[5] = {0, 0xFFu, 0xFFFFu, 0xFFFFFFu, 0xFFFFFFFFu};

	/* a run of one byte is cut to two ("daiiiii" -> "daii") */
	if ((s->win & 0xFFFFu) == b * 0x0101u && s->fill >= 2)
		return;
	s->win = (s->win << 8) | b;
	if (s->fill < 4)
		s->fill++;
	s->word = (s->word ^ b) * 0x01000193u;
	if (s->fill == 4 && s->nmin == 1 && s->nmax == 4)
	{
		/* the usual case, straight */
		add_row(s, lang_row(s->win & 0xFFu, 1, s->bits));
		add_row(s, lang_row(s->win & 0xFFFFu, 2, s->bits));
		add_row(s, lang_row(s->win & 0xFFFFFFu, 3, s->bits));
		add_row(s, lang_row(s->win, 4, s->bits));
		return;
	}
	for (uint32_t n = s->nmin; n <= s->nmax && n <= s->fill; n++)
		add_row(s, lang_row(s->win & mask[n], n, s->bits));
}

static inline __attribute__((always_inline)) void
end_word(lang_scan *s)
{
	if (!s->in_word)
		return;
	s->in_word = false;
	add_row(s, lang_row(s->word, K_WORD, s->bits));
	push_byte(s, ' ');
}

static inline __attribute__((always_inline)) void
start_word(lang_scan *s)
{
	if (!s->in_word)
	{
		s->in_word = true;
		s->word = SA_FNV_SEED;
	}
}

/* Is the ASCII word text[pos..e) noise: "http", "https" (a cut link) or "rt"? */
static inline bool
noise_word(const char *t, size_t pos, size_t e)
{
	size_t		n = e - pos;
	char		w[5];

	if (n != 2 && n != 4 && n != 5)
		return false;
	for (size_t i = 0; i < n; i++)
		w[i] = (char) (t[pos + i] | 0x20);
	return (n == 2 && memcmp(w, "rt", 2) == 0) || (n == 4 && memcmp(w, "http", 4) == 0) ||
		(n == 5 && memcmp(w, "https", 5) == 0);
}

/* One ASCII byte at text[pos] (or the link or user name it starts); the next pos. */
static inline __attribute__((always_inline)) size_t
scan_ascii(const char *text, size_t len, size_t pos, lang_scan *s, uint32_t *letters)
{
	const unsigned char *p = (const unsigned char *) text;
	unsigned char c = p[pos];

	if (ascii_alpha(c))
	{
		if (!s->in_word)
		{
			size_t		e = pos;

			/* a link, to the next white space */
			if (sa_link_at(text, len, pos))
			{
				while (pos < len && !sa_is_space(p[pos]))
					pos++;
				return pos;
			}
			while (e < len && ascii_alpha(p[e]))
				e++;
			if ((e == len || p[e] < 0x80) && noise_word(text, pos, e))
				return e;
			start_word(s);
		}
		letters[SC_LATIN]++;
		push_byte(s, c | 0x20);
		return pos + 1;
	}
	if (c == '@' && pos + 1 < len && name_char(p[pos + 1]))
	{
		/* a user name: left out whole */
		end_word(s);
		pos++;
		while (pos < len && name_char(p[pos]))
			pos++;
		return pos;
	}
	if (c == '\'' && s->in_word && pos + 1 < len && (ascii_alpha(p[pos + 1]) || p[pos + 1] >= 0xC0))
		push_byte(s, '\'');
	else
		end_word(s);
	return pos + 1;
}

/* One non-ASCII character at text[pos]; the next pos. */
static inline __attribute__((always_inline)) size_t
scan_other(const char *text, size_t len, size_t pos, lang_scan *s, uint32_t *letters)
{
	const unsigned char *p = (const unsigned char *) text;
	uint32_t	cp = sa_utf8_next(p, len, &pos);
	uint32_t	sc;

	if (cp == 0x2019 && s->in_word && pos < len && (ascii_alpha(p[pos]) || p[pos] >= 0xC0))
	{
		push_byte(s, '\'');
		return pos;
	}
	sc = script_of(cp);
	if (sc == SC_LATIN || (sc == SC_MARK && s->in_word))
	{
		char		buf[4];
		size_t		nb;

		if (sc == SC_LATIN)
		{
			letters[SC_LATIN]++;
			cp = latin_lower(cp);
		}
		start_word(s);
		nb = sa_utf8_put(buf, cp);
		for (size_t i = 0; i < nb; i++)
			push_byte(s, (unsigned char) buf[i]);
	}
	else
	{
		end_word(s);
		if (sc < SC_NONE)
			letters[sc]++;
	}
	return pos;
}

/* The verdict from the letters of each script (kana makes Han Japanese). */
static sa_lang
verdict(uint32_t *letters)
{
	uint32_t	total = 0,
				best;

	if (letters[SA_LANG_JA] > 0)
	{
		letters[SA_LANG_JA] += letters[SA_LANG_ZH];
		letters[SA_LANG_ZH] = 0;
	}
	for (uint32_t i = 0; i < SC_NONE; i++)
		total += letters[i];
	if (total < SA_LANG_MIN_LETTERS)
		return SA_LANG_UND;
	best = SC_LATIN;
	for (uint32_t i = SA_LANG_MODEL_COUNT; i < SC_NONE; i++)
		if (letters[i] > letters[best])
			best = i;
	if (best == SC_OTHER)
		return SA_LANG_UND;
	if (best != SC_LATIN)
		return (sa_lang) best;
	return SA_LANG_BY_MODEL;
}

/*
 * The scan, always inlined so that the scoring caller (rows NULL) and the
 * dumping caller each get their own straight code.
 */
static inline __attribute__((always_inline)) sa_lang
scan(const char *text, size_t len, lang_scan *s)
{
	uint32_t	letters[SC_COUNT] = {0};
	size_t		pos = 0;

	s->win = ' ';
	s->fill = 1;
	s->in_word = false;
	s->n = 0;
	s->pending = 0;
	s->z = (v8si) {0};
	s->z16 = (v8hi) {0};

	while (pos < len)
		pos = (unsigned char) text[pos] < 0x80 ? scan_ascii(text, len, pos, s, letters)
			: scan_other(text, len, pos, s, letters);
	end_word(s);
	flush_sums(s);
	return verdict(letters);
}

size_t
sa_lang_max_rows(size_t len)
{
	/* per pushed byte (at most two per text byte) four n-grams, per word one */
	return 10 * len + 16;
}

static sa_lang
scan_sums(const char *text, size_t len, lang_scan *s)
{
	lang_scan	local = *s;		/* in registers */
	sa_lang		lang;

	local.rows = NULL;
	lang = scan(text, len, &local);
	*s = local;
	return lang;
}

static sa_lang
scan_rows(const char *text, size_t len, lang_scan *s)
{
	return scan(text, len, s);
}

sa_lang
sa_lang_scan(const char *text, size_t len, const sa_lang_layout *layout,
			 uint32_t *rows, size_t *nrows, int32_t *z)
{
	lang_scan	s;
	sa_lang		lang;

	s.table = layout->table;
	s.bits = layout->bits;
	s.nmin = layout->nmin < 1 ? 1 : layout->nmin;
	s.nmax = layout->nmax > 4 ? 4 : layout->nmax;
	s.rows = rows;
	lang = rows != NULL ? scan_rows(text, len, &s) : scan_sums(text, len, &s);
	*nrows = lang == SA_LANG_BY_MODEL ? s.n : 0;
	if (z != NULL)
		for (int c = 0; c < 8; c++)
			z[c] = s.z[c];
	return lang;
}
