/*
 * text_internal.h - Unicode text helpers shared inside the analyser.
 *
 * Not part of the public API (analyzer.h); every module of src/analyzer may
 * use it.  The helpers reproduce Python 3 str semantics because the VADER
 * reference vectors were produced by Python (see ../shared/VADER.md):
 *
 *   sa_utf8_next()       decode one code point; an ill-formed sequence is read
 *                        as one U+FFFD per maximal subpart (what Python's
 *                        errors="replace" and the Unicode standard do), so any
 *                        byte string is accepted and decoding always advances.
 *   sa_utf8_put()        encode one code point (1-4 bytes, no checks beyond
 *                        surrogates/out-of-range becoming U+FFFD).
 *   sa_is_space()        Python's str.isspace() for one code point: general
 *                        category Zs or bidi class WS, B or S.  str.split()
 *                        with no argument splits on runs of these.
 *   sa_is_ascii_punct()  one of the 32 characters of Python's
 *                        string.punctuation.
 *   sa_text_lower()      Python's str.lower(): full case mapping (U+0130 ->
 *                        "i" U+0307), final sigma decided within the given
 *                        string only.  ASCII strings take a table fast path,
 *                        anything else goes through ICU's root-locale
 *                        u_strToLower().  Appends to an sa_buf.
 *   sa_text_isupper()    Python's str.isupper(): at least one cased character
 *                        with the Uppercase property and none with Lowercase
 *                        or of category Lt.
 *   sa_text_is_ascii()   true when no byte has the high bit set (the fast
 *                        paths key on this).
 *
 * sa_buf is a growable byte buffer owned by its user (normally a field of
 * the workspace, so its memory is reused from call to call):
 *
 *   sa_buf b = {0};
 *   if (sa_buf_reserve(&b, n) != 0) return SA_ERR_NOMEM;   // room for n more
 *   memcpy(b.data + b.len, src, n); b.len += n;
 *   b.len = 0;          // reuse for the next text, keeping the memory
 *   sa_buf_free(&b);    // at workspace destruction
 *
 * Example, lower-casing a token as VADER does:
 *
 *   out->len = 0;
 *   if (sa_text_lower(out, tok, toklen, &scratch) != 0) return SA_ERR_NOMEM;
 *   // out->data[0 .. out->len) is the lower-cased UTF-8
 *
 * Strings passed in may contain invalid UTF-8; output is always valid UTF-8.
 * Nothing here allocates except sa_buf_reserve(), which reports failure
 * instead of aborting.
 */
#ifndef SA_TEXT_INTERNAL_H
#define SA_TEXT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SA_REPLACEMENT_CHAR 0xFFFD

typedef struct sa_buf
{
	char	   *data;
	size_t		len;			/* bytes in use */
	size_t		cap;			/* bytes allocated */
} sa_buf;

/* Out-of-line part of sa_buf_reserve(). */
extern int	sa_buf_grow(sa_buf *buf, size_t extra);

/* Make room for extra more bytes after len; 0 on success, -1 on ENOMEM. */
static inline int
sa_buf_reserve(sa_buf *buf, size_t extra)
{
	if (extra <= buf->cap - buf->len)
		return 0;
	return sa_buf_grow(buf, extra);
}
extern void sa_buf_free(sa_buf *buf);

/* Out-of-line part of sa_utf8_next() for non-ASCII lead bytes. */
extern uint32_t sa_utf8_next_slow(const unsigned char *s, size_t len, size_t *pos);

/*
 * Decode the code point at s[*pos] (requires *pos < len) and advance *pos
 * past it.
 */
static inline uint32_t
sa_utf8_next(const unsigned char *s, size_t len, size_t *pos)
{
	unsigned char c = s[*pos];

	if (c < 0x80)
	{
		(*pos)++;
		return c;
	}
	return sa_utf8_next_slow(s, len, pos);
}

/* Encode cp at dst (room for 4 bytes needed); returns the byte count. */
static inline size_t
sa_utf8_put(char *dst, uint32_t cp)
{
	unsigned char *d = (unsigned char *) dst;

	if (cp < 0x80)
	{
		d[0] = (unsigned char) cp;
		return 1;
	}
	if (cp < 0x800)
	{
		d[0] = (unsigned char) (0xC0 | (cp >> 6));
		d[1] = (unsigned char) (0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		cp = SA_REPLACEMENT_CHAR;
	if (cp < 0x10000)
	{
		d[0] = (unsigned char) (0xE0 | (cp >> 12));
		d[1] = (unsigned char) (0x80 | ((cp >> 6) & 0x3F));
		d[2] = (unsigned char) (0x80 | (cp & 0x3F));
		return 3;
	}
	d[0] = (unsigned char) (0xF0 | (cp >> 18));
	d[1] = (unsigned char) (0x80 | ((cp >> 12) & 0x3F));
	d[2] = (unsigned char) (0x80 | ((cp >> 6) & 0x3F));
	d[3] = (unsigned char) (0x80 | (cp & 0x3F));
	return 4;
}

/*
 * Python's str.isspace() for one code point.  The set is small and has been
 * stable since Unicode 6.3 (when U+180E stopped being a space), so it is
 * spelled out; tests/test_text.c checks it against ICU's properties.
 */
static inline bool
sa_is_space(uint32_t cp)
{
	if (cp <= 0x20)
		return cp == 0x20 || (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x1F);
	if (cp < 0x85)
		return false;
	switch (cp)
	{
		case 0x85:
		case 0xA0:
		case 0x1680:
		case 0x2028:
		case 0x2029:
		case 0x202F:
		case 0x205F:
		case 0x3000:
			return true;
		default:
			return cp >= 0x2000 && cp <= 0x200A;
	}
}

/* One of Python's string.punctuation: !"#$%&'()*+,-./:;<=>?@[\]^_`{|}~ */
static inline bool
sa_is_ascii_punct(uint32_t cp)
{
	return (cp >= 0x21 && cp <= 0x2F) || (cp >= 0x3A && cp <= 0x40) ||
		(cp >= 0x5B && cp <= 0x60) || (cp >= 0x7B && cp <= 0x7E);
}

extern bool sa_text_is_ascii(const char *s, size_t len);

/*
 * Append Python's s.lower() to out.  scratch is working memory (its
 * contents are clobbered; keep it in the workspace for reuse).  Returns 0,
 * or -1 when memory could not be allocated (out is then unchanged in len).
 */
extern int	sa_text_lower(sa_buf *out, const char *s, size_t len, sa_buf *scratch);

/* Python's s.isupper() on UTF-8 text. */
extern bool sa_text_isupper(const char *s, size_t len);

/* Number of code points (invalid sequences count as one U+FFFD each). */
extern size_t sa_text_cplen(const char *s, size_t len);

#endif							/* SA_TEXT_INTERNAL_H */
