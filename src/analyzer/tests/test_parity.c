/*
 * test_parity.c - scores of every row of ../shared/data/vader_reference_dev.tsv
 * must equal the reference's to the printed decimals, and the emoji map the
 * build derived must equal data/emoji_map.tsv.
 *
 * The data folder is <repo root>/../shared/data, or $SP_SHARED_DATA.  When it
 * is absent the test says SKIP and counts nothing as failed.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer.h"
#include "check.h"
#include "lexicon_internal.h"
#include "workspace_internal.h"

#ifndef SA_REPO_ROOT
#define SA_REPO_ROOT "../.."
#endif

static char *
read_file(const char *path, size_t *len)
{
	FILE	   *f = fopen(path, "rb");
	char	   *buf;
	long		n;

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

/* Split buf in place into TAB fields of one LF-terminated line. */
static int
split_fields(char *line, char **fields, int max)
{
	int			n = 0;

	fields[n++] = line;
	for (char *p = line; *p; p++)
		if (*p == '\t' && n < max)
		{
			*p = '\0';
			fields[n++] = p + 1;
		}
	return n;
}

/* Same double and same sign of zero as the printed reference value. */
static int
same(double got, const char *want)
{
	double		w = strtod(want, NULL);

	return got == w && signbit(got) == signbit(w);
}

static void
check_reference(const char *dir, sa_lexicon *lex, sa_workspace *ws, const char *label)
{
	char		path[4200];
	size_t		len;
	char	   *buf;
	char	   *line;
	int			rows = 0,
				mismatches = 0;

	snprintf(path, sizeof(path), "%s/vader_reference_dev.tsv", dir);
	buf = read_file(path, &len);
	CHECK_MSG(buf != NULL, "cannot read %s", path);
	if (buf == NULL)
		return;
	line = strchr(buf, '\n');	/* skip the header */
	line = line ? line + 1 : buf + len;
	while (line < buf + len)
	{
		char	   *end = strchr(line, '\n');
		char	   *f[6];
		sa_sentiment s;
		sa_error	err;

		if (end == NULL)
			end = buf + len;
		*end = '\0';
		if (split_fields(line, f, 6) != 6)
		{
			CHECK_MSG(0, "malformed row: %.60s", line);
			line = end + 1;
			continue;
		}
		rows++;
		err = sa_sentiment_score(lex, ws, f[5], strlen(f[5]), &s);
		if (err != SA_OK || !same(s.compound, f[1]) || !same(s.pos, f[2]) ||
			!same(s.neu, f[3]) || !same(s.neg, f[4]))
		{
			mismatches++;
			if (mismatches <= 20)
				fprintf(stderr, "mismatch %s: want %s %s %s %s, got %.17g %.17g %.17g %.17g (%s): %.80s\n",
						f[0], f[1], f[2], f[3], f[4], s.compound, s.pos, s.neu, s.neg,
						sa_strerror(err), f[5]);
		}
		line = end + 1;
	}
	printf("parity%s: %d rows, %d mismatches\n", label, rows, mismatches);
	CHECK(rows == 9425);
	CHECK(mismatches == 0);
	free(buf);
}

static void
check_emoji_map(const char *dir)
{
	char		path[4200];
	size_t		len;
	char	   *buf;
	char	   *line;
	int			rows = 0,
				bad = 0;

	snprintf(path, sizeof(path), "%s/emoji_map.tsv", dir);
	buf = read_file(path, &len);
	CHECK_MSG(buf != NULL, "cannot read %s", path);
	if (buf == NULL)
		return;
	for (line = buf; line < buf + len;)
	{
		char	   *end = strchr(line, '\n');
		char	   *f[2];
		const unsigned char *u = (const unsigned char *) line;
		uint32_t	cp;
		const char *d;
		size_t		dlen = 0;

		if (end == NULL)
			end = buf + len;
		*end = '\0';
		if (split_fields(line, f, 2) != 2)
		{
			bad++;
			line = end + 1;
			continue;
		}
		/* the emoji column is one code point (2 to 4 bytes) */
		if (u[0] >= 0xF0)
			cp = ((u[0] & 7u) << 18) | ((u[1] & 63u) << 12) | ((u[2] & 63u) << 6) | (u[3] & 63u);
		else if (u[0] >= 0xE0)
			cp = ((u[0] & 15u) << 12) | ((u[1] & 63u) << 6) | (u[2] & 63u);
		else
			cp = ((u[0] & 31u) << 6) | (u[1] & 63u);
		d = sa_emoji_description(cp, &dlen);
		if (d == NULL || dlen != strlen(f[1]) || memcmp(d, f[1], dlen) != 0)
		{
			if (bad < 10)
				fprintf(stderr, "emoji U+%04X: want \"%s\", got \"%.*s\"\n", cp, f[1],
						(int) dlen, d ? d : "");
			bad++;
		}
		rows++;
		line = end + 1;
	}
	printf("emoji map: %d rows, %d differ, generated map has %zu\n", rows, bad,
		   sa_lexdata_nemoji);
	CHECK(rows == 1400);
	CHECK(bad == 0);
	CHECK(sa_lexdata_nemoji == (size_t) rows);
	free(buf);
}

int
main(void)
{
	const char *env = getenv("SP_SHARED_DATA");
	char		dir[4096];
	char		probe[4200];
	FILE	   *f;
	sa_lexicon *lex;
	sa_workspace *ws;

	if (env != NULL && *env)
		snprintf(dir, sizeof(dir), "%s", env);
	else
		snprintf(dir, sizeof(dir), "%s/../shared/data", SA_REPO_ROOT);
	snprintf(probe, sizeof(probe), "%s/vader_reference_dev.tsv", dir);
	f = fopen(probe, "rb");
	if (f == NULL)
	{
		printf("SKIP parity: %s not found (%s); set SP_SHARED_DATA to the data folder\n",
			   probe, strerror(errno));
		printf("parity: 0 passed, 0 failed (skipped)\n");
		return 0;
	}
	fclose(f);

	CHECK(sa_lexicon_create(&lex) == SA_OK);
	CHECK(sa_workspace_create(&ws) == SA_OK);
	check_emoji_map(dir);
	check_reference(dir, lex, ws, "");
	/* again with ASCII texts taking the general UTF-8 tokeniser */
	ws->no_fast_path = true;
	check_reference(dir, lex, ws, " (general tokeniser)");
	sa_workspace_destroy(ws);
	sa_lexicon_destroy(lex);
	return check_report("parity");
}
