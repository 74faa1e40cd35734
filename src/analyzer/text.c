/*
 * text.c - UTF-8 decoding and Python-compatible case helpers (see
 * text_internal.h for the contract).  ASCII input never reaches ICU.
 */
#include <stdlib.h>
#include <string.h>

#include <unicode/uchar.h>
#include <unicode/ustring.h>

#include "text_internal.h"

int
sa_buf_grow(sa_buf *buf, size_t extra)
{
	size_t		need;
	size_t		cap;
	char	   *p;

	if (extra > SIZE_MAX - buf->len)
		return -1;
	need = buf->len + extra;
	if (need <= buf->cap)
		return 0;
	cap = buf->cap ? buf->cap : 256;
	while (cap < need)
	{
		if (cap > SIZE_MAX / 2)
		{
			cap = need;
			break;
		}
		cap *= 2;
	}
	p = realloc(buf->data, cap);
	if (p == NULL)
		return -1;
	buf->data = p;
	buf->cap = cap;
	return 0;
}

void
sa_buf_free(sa_buf *buf)
{
	free(buf->data);
	buf->data = NULL;
	buf->len = buf->cap = 0;
}

/*
 * Decode a multi-byte sequence.  Follows the Unicode "maximal subpart"
 * practice: the longest prefix that could start a well-formed sequence is
 * replaced by a single U+FFFD and decoding resumes at the first byte that
 * broke it, which is what Python's decoder does with errors="replace".
 */
uint32_t
sa_utf8_next_slow(const unsigned char *s, size_t len, size_t *pos)
{
	size_t		i = *pos;
	unsigned char c = s[i];
	int			need;
	unsigned char lo = 0x80,
				hi = 0xBF;
	uint32_t	cp;

	if (c >= 0xC2 && c <= 0xDF)
	{
		need = 1;
		cp = c & 0x1F;
	}
	else if (c >= 0xE0 && c <= 0xEF)
	{
		need = 2;
		cp = c & 0x0F;
		if (c == 0xE0)
			lo = 0xA0;			/* no overlong forms */
		else if (c == 0xED)
			hi = 0x9F;			/* no surrogates */
	}
	else if (c >= 0xF0 && c <= 0xF4)
	{
		need = 3;
		cp = c & 0x07;
		if (c == 0xF0)
			lo = 0x90;
		else if (c == 0xF4)
			hi = 0x8F;			/* nothing above U+10FFFF */
	}
	else
	{
		*pos = i + 1;			/* stray continuation or invalid lead */
		return SA_REPLACEMENT_CHAR;
	}

	i++;
	while (need > 0)
	{
		if (i >= len || s[i] < lo || s[i] > hi)
		{
			*pos = i;
			return SA_REPLACEMENT_CHAR;
		}
		cp = (cp << 6) | (s[i] & 0x3F);
		lo = 0x80;
		hi = 0xBF;
		i++;
		need--;
	}
	*pos = i;
	return cp;
}

bool
sa_text_is_ascii(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *) s;
	unsigned char acc = 0;
	size_t		i;

	/* No early exit: the loop vectorises and texts are short. */
	for (i = 0; i < len; i++)
		acc |= p[i];
	return (acc & 0x80) == 0;
}

size_t
sa_text_cplen(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *) s;
	size_t		pos = 0;
	size_t		n = 0;

	while (pos < len)
	{
		(void) sa_utf8_next(p, len, &pos);
		n++;
	}
	return n;
}

/*
 * Non-ASCII lower(): UTF-8 -> UTF-16 -> u_strToLower(root) -> UTF-8.  The
 * root locale ("") matters: NULL would pick up the process locale and turn
 * on Turkish or Lithuanian rules.  ICU applies the final-sigma context
 * within the string, exactly as Python does.
 */
static int
lower_icu(sa_buf *out, const char *s, size_t len, sa_buf *scratch)
{
	const unsigned char *p = (const unsigned char *) s;
	size_t		units = 0;
	size_t		pos = 0;
	UChar	   *src;
	UChar	   *dst;
	int32_t		dst_cap;
	int32_t		n;
	UErrorCode	status = U_ZERO_ERROR;

	if (len > INT32_MAX / 8)
		return -1;

	/* Worst case 2 UTF-16 units per byte in, lower() at most doubles it. */
	scratch->len = 0;
	if (sa_buf_reserve(scratch, (len * 2 + len * 4 + 16) * sizeof(UChar)) != 0)
		return -1;
	src = (UChar *) scratch->data;
	while (pos < len)
	{
		uint32_t	cp = sa_utf8_next(p, len, &pos);

		if (cp >= 0x10000)
		{
			src[units++] = (UChar) (0xD7C0 + (cp >> 10));
			src[units++] = (UChar) (0xDC00 | (cp & 0x3FF));
		}
		else
			src[units++] = (UChar) cp;
	}
	dst = src + units;
	dst_cap = (int32_t) (units * 2 + 16);
	n = u_strToLower(dst, dst_cap, src, (int32_t) units, "", &status);
	if (U_FAILURE(status) || n > dst_cap)
		return -1;

	/* Each UTF-16 unit becomes at most 3 UTF-8 bytes. */
	if (sa_buf_reserve(out, (size_t) n * 3) != 0)
		return -1;
	for (int32_t i = 0; i < n; i++)
	{
		uint32_t	cp = dst[i];

		if (cp >= 0xD800 && cp <= 0xDBFF && i + 1 < n &&
			dst[i + 1] >= 0xDC00 && dst[i + 1] <= 0xDFFF)
		{
			cp = 0x10000 + ((cp - 0xD800) << 10) + (dst[i + 1] - 0xDC00);
			i++;
		}
		out->len += sa_utf8_put(out->data + out->len, cp);
	}
	return 0;
}

int
sa_text_lower(sa_buf *out, const char *s, size_t len, sa_buf *scratch)
{
	char	   *d;

	if (!sa_text_is_ascii(s, len))
		return lower_icu(out, s, len, scratch);
	if (sa_buf_reserve(out, len) != 0)
		return -1;
	d = out->data + out->len;
	for (size_t i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) s[i];

		d[i] = (char) ((c >= 'A' && c <= 'Z') ? c + 32 : c);
	}
	out->len += len;
	return 0;
}

bool
sa_text_isupper(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *) s;
	size_t		pos = 0;
	bool		cased = false;

	while (pos < len)
	{
		uint32_t	cp = sa_utf8_next(p, len, &pos);

		if (cp < 0x80)
		{
			if (cp >= 'a' && cp <= 'z')
				return false;
			if (cp >= 'A' && cp <= 'Z')
				cased = true;
			continue;
		}
		/* Python uses the derived Lowercase/Uppercase properties plus Lt. */
		if (u_hasBinaryProperty((UChar32) cp, UCHAR_LOWERCASE) ||
			u_charType((UChar32) cp) == U_TITLECASE_LETTER)
			return false;
		if (u_hasBinaryProperty((UChar32) cp, UCHAR_UPPERCASE))
			cased = true;
	}
	return cased;
}
