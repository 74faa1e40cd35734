/*
 * test_text.c - the Unicode helpers of text_internal.h against Python 3
 * semantics (expected values from the Unicode rules Python applies).
 */
#include <string.h>

#include <unicode/uchar.h>

#include "check.h"
#include "text_internal.h"

static sa_buf out,
			scratch;

static int
lower_is(const char *in, size_t len, const char *want)
{
	out.len = 0;
	if (sa_text_lower(&out, in, len, &scratch) != 0)
		return 0;
	return out.len == strlen(want) && memcmp(out.data, want, out.len) == 0;
}

#define LOWER_IS(in, want) CHECK_MSG(lower_is(in, strlen(in), want), "lower(\"%s\") = \"%.*s\"", in, (int) out.len, out.data)

static void
test_space(void)
{
	int			bad = 0;

	/* Python: str.isspace() is Zs or bidi WS, B, S. */
	for (UChar32 c = 0; c <= 0x10FFFF; c++)
	{
		UCharDirection d = u_charDirection(c);
		bool		py = u_charType(c) == U_SPACE_SEPARATOR ||
			d == U_WHITE_SPACE_NEUTRAL || d == U_BLOCK_SEPARATOR || d == U_SEGMENT_SEPARATOR;

		if (py != sa_is_space((uint32_t) c))
			bad++;
	}
	CHECK_MSG(bad == 0, "%d code points disagree with ICU", bad);
	CHECK(sa_is_space(0x85) && sa_is_space(0xA0) && sa_is_space(0x3000) && sa_is_space(0x1F));
	CHECK(!sa_is_space(0x200B) && !sa_is_space(0xFEFF) && !sa_is_space(0x180E));
}

static void
test_punct(void)
{
	const char *py = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
	int			n = 0;

	for (uint32_t c = 0; c < 0x110000; c++)
		if (sa_is_ascii_punct(c))
		{
			n++;
			CHECK_MSG(c < 0x80 && strchr(py, (int) c) != NULL, "U+%04X", c);
		}
	CHECK(n == 32);
}

static void
test_utf8(void)
{
	/* maximal subparts: each ill-formed piece is one U+FFFD */
	static const struct
	{
		const char *s;
		size_t		len;
		uint32_t	cps[8];
		int			n;
	}			cases[] = {
		{"a\xc3\xa9", 3, {'a', 0xE9}, 2},
		{"\xf0\x9f\x98\x80", 4, {0x1F600}, 1},
		{"\xff", 1, {0xFFFD}, 1},
		{"\x80\x80", 2, {0xFFFD, 0xFFFD}, 2},
		{"\xe2\x82x", 3, {0xFFFD, 'x'}, 2},	/* truncated 3-byte */
		{"\xc0\xaf", 2, {0xFFFD, 0xFFFD}, 2},	/* overlong */
		{"\xed\xa0\x80", 3, {0xFFFD, 0xFFFD, 0xFFFD}, 3},	/* surrogate */
		{"\xf4\x90\x80\x80", 4, {0xFFFD, 0xFFFD, 0xFFFD, 0xFFFD}, 4},	/* > U+10FFFF */
		{"\xf0\x9f\x98", 3, {0xFFFD}, 1},	/* truncated at end */
		{"\xef\xbf\xbd", 3, {0xFFFD}, 1},	/* a real U+FFFD */
	};

	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++)
	{
		size_t		pos = 0;
		int			n = 0,
					ok = 1;

		while (pos < cases[k].len && n < 8)
		{
			uint32_t	cp = sa_utf8_next((const unsigned char *) cases[k].s, cases[k].len, &pos);

			ok &= n < cases[k].n && cp == cases[k].cps[n];
			n++;
		}
		CHECK_MSG(ok && n == cases[k].n && pos == cases[k].len, "case %zu", k);
	}
	CHECK(sa_text_cplen("a\xc3\xa9\xff", 4) == 3);
	CHECK(sa_text_is_ascii("abc", 3) && !sa_text_is_ascii("ab\xc3\xa9", 4));
	{
		char		b[4];

		CHECK(sa_utf8_put(b, 0x1F600) == 4 && memcmp(b, "\xf0\x9f\x98\x80", 4) == 0);
		CHECK(sa_utf8_put(b, 0xD800) == 3 && memcmp(b, "\xef\xbf\xbd", 3) == 0);
	}
}

static void
test_lower(void)
{
	LOWER_IS("HeLLo :D", "hello :d");
	LOWER_IS("", "");
	/* U+0130 has a two-code-point lower case: i + U+0307 */
	LOWER_IS("\xc4\xb0", "i\xcc\x87");
	/* final sigma: ΟΔΟΣ -> οδος with ς, Σ alone -> σ */
	LOWER_IS("\xce\x9f\xce\x94\xce\x9f\xce\xa3", "\xce\xbf\xce\xb4\xce\xbf\xcf\x82");
	LOWER_IS("\xce\xa3", "\xcf\x83");
	/* Σ followed by a letter is not final */
	LOWER_IS("\xce\xa3\xce\x91", "\xcf\x83\xce\xb1");
	/* ẞ (U+1E9E) -> ß; ß stays (lower does not fold) */
	LOWER_IS("\xe1\xba\x9e", "\xc3\x9f");
	LOWER_IS("\xc3\x9f", "\xc3\x9f");
	/* Kelvin sign -> k; full-width A -> full-width a; Cyrillic */
	LOWER_IS("\xe2\x84\xaa", "k");
	LOWER_IS("\xef\xbc\xa1", "\xef\xbd\x81");
	LOWER_IS("\xd0\x9f\xd0\xa0\xd0\x98", "\xd0\xbf\xd1\x80\xd0\xb8");
	/* invalid bytes come out as U+FFFD */
	LOWER_IS("A\xff", "a\xef\xbf\xbd");
	/* emoji unchanged, astral plane survives the UTF-16 round trip */
	LOWER_IS("\xf0\x9f\x98\x80X", "\xf0\x9f\x98\x80x");
	/* Deseret capital (astral) -> small */
	LOWER_IS("\xf0\x90\x90\x80", "\xf0\x90\x90\xa8");
}

static void
test_isupper(void)
{
	CHECK(sa_text_isupper("GOOD", 4));
	CHECK(sa_text_isupper("I", 1));
	CHECK(sa_text_isupper(":D", 2));
	CHECK(sa_text_isupper("A1!", 3));
	CHECK(!sa_text_isupper("Good", 4));
	CHECK(!sa_text_isupper("123", 3));
	CHECK(!sa_text_isupper("", 0));
	CHECK(!sa_text_isupper(":)", 2));
	/* ÉTÉ, Cyrillic ПРИ, Greek ΟΔΟΣ */
	CHECK(sa_text_isupper("\xc3\x89T\xc3\x89", 5));
	CHECK(sa_text_isupper("\xd0\x9f\xd0\xa0\xd0\x98", 6));
	CHECK(sa_text_isupper("\xce\x9f\xce\x94\xce\x9f\xce\xa3", 8));
	/* ǅ (U+01C5) is title case: never upper */
	CHECK(!sa_text_isupper("A\xc7\x85", 3));
	/* Ⓜ (U+24C2, So with Other_Uppercase) is upper; ⓜ is lower */
	CHECK(sa_text_isupper("\xe2\x93\x82", 3));
	CHECK(!sa_text_isupper("A\xe2\x93\x9c", 4));
	/* ª (U+00AA) has Other_Lowercase */
	CHECK(!sa_text_isupper("A\xc2\xaa", 3));
	/* CJK has no case */
	CHECK(!sa_text_isupper("\xe4\xb8\xad", 3));
	CHECK(sa_text_isupper("A\xe4\xb8\xad", 4));
}

int
main(void)
{
	test_space();
	test_punct();
	test_utf8();
	test_lower();
	test_isupper();
	sa_buf_free(&out);
	sa_buf_free(&scratch);
	return check_report("text");
}
