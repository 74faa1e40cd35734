/*
 * dump-language.c - features of the language and multilingual models for
 * their trainer (tools/train_multilingual.py), from the analyser's own code
 * (src/analyzer/language_scan.c, features.c), so training and scoring see
 * the same rows.  Built by `make -C src/analyzer dump-language` from the
 * analyser's sources, before any of these models exists.
 *
 *   dump-language language BITS NMIN NMAX < in.tsv > out.bin
 *   dump-language multilingual FLAGS BITS NEG_SCOPE CHAR_MIN CHAR_MAX < in.tsv > out.bin
 *
 * Input: "language TAB label TAB text" rows after one header line (the
 * multilingual data set's TSV; LF records, no quoting).  Output per row,
 * little-endian uint32: for "language" the scan's verdict (an sa_lang, 7
 * when the model decides), then the number of rows and the rows; for
 * "multilingual" the number of rows and the rows, the text's features in
 * the slice of its data set language.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "language_internal.h"

static const char *const codes[] = {"de", "en", "es", "fr", "hi", "it", "pt", "ar"};

int
main(int argc, char **argv)
{
	bool		ml;
	sa_feat_layout layout = {0};
	sa_lang_layout ll = {0};
	sa_lexicon *lex;
	sa_workspace *ws;
	sa_scratch *sc;
	uint32_t   *rows = NULL;
	size_t		rows_cap = 0;
	char	   *line = NULL;
	size_t		cap = 0;
	ssize_t		n;
	long		row = 0;

	ml = argc == 7 && strcmp(argv[1], "multilingual") == 0;
	if (!ml && !(argc == 5 && strcmp(argv[1], "language") == 0))
	{
		fprintf(stderr, "usage: %s language BITS NMIN NMAX | multilingual FLAGS BITS NEG CMIN CMAX\n", argv[0]);
		return 2;
	}
	if (ml)
	{
		layout.flags = (uint32_t) strtoul(argv[2], NULL, 0);
		layout.bits = (uint32_t) strtoul(argv[3], NULL, 0);
		layout.neg_scope = (uint32_t) strtoul(argv[4], NULL, 0);
		layout.char_min = (uint32_t) strtoul(argv[5], NULL, 0);
		layout.char_max = (uint32_t) strtoul(argv[6], NULL, 0);
	}
	else
	{
		ll.bits = (uint32_t) strtoul(argv[2], NULL, 0);
		ll.nmin = (uint32_t) strtoul(argv[3], NULL, 0);
		ll.nmax = (uint32_t) strtoul(argv[4], NULL, 0);
	}
	if (sa_lexicon_create(&lex) != SA_OK || sa_workspace_create(&ws) != SA_OK ||
		sa_scratch_create(&sc) != SA_OK)
	{
		fprintf(stderr, "dump-language: cannot set up the analyser\n");
		return 1;
	}
	while ((n = getline(&line, &cap, stdin)) >= 0)
	{
		char	   *label,
				   *text;
		size_t		len;
		uint32_t	count;

		if (row++ == 0)
			continue;			/* header */
		if (n > 0 && line[n - 1] == '\n')
			line[--n] = '\0';
		if (n == 0)
			continue;
		label = strchr(line, '\t');
		text = label ? strchr(label + 1, '\t') : NULL;
		if (text == NULL)
		{
			fprintf(stderr, "dump-language: row %ld: expected three fields\n", row);
			return 1;
		}
		text++;
		len = (size_t) (line + n - text);
		if (ml)
		{
			sa_sentiment v;
			int			lang = -1;
			sa_error	err;

			for (int i = 0; i < 8; i++)
				if ((size_t) (label - line) == strlen(codes[i]) && memcmp(line, codes[i], 2) == 0)
					lang = i;
			if (lang < 0)
			{
				fprintf(stderr, "dump-language: row %ld: unknown language\n", row);
				return 1;
			}
			err = sa_sentiment_score(lex, ws, text, len, &v);
			if (err == SA_OK)
				err = sa_tokenize(sc, text, len);
			if (err == SA_OK)
				err = sa_ml_features(sc, &layout, (sa_lang) lang, text, len, &v, false);
			if (err != SA_OK)
			{
				fprintf(stderr, "dump-language: row %ld: %s\n", row, sa_strerror(err));
				return 1;
			}
			count = (uint32_t) sc->nfeats;
			fwrite(&count, sizeof(count), 1, stdout);
			fwrite(sc->feats, sizeof(uint32_t), sc->nfeats, stdout);
		}
		else
		{
			size_t		nr;
			uint32_t	verdict;

			if (sa_lang_max_rows(len) > rows_cap)
			{
				rows_cap = sa_lang_max_rows(len);
				rows = realloc(rows, rows_cap * sizeof(uint32_t));
				if (rows == NULL)
					return 1;
			}
			verdict = (uint32_t) sa_lang_scan(text, len, &ll, rows, &nr, NULL);
			count = (uint32_t) nr;
			fwrite(&verdict, sizeof(verdict), 1, stdout);
			fwrite(&count, sizeof(count), 1, stdout);
			fwrite(rows, sizeof(uint32_t), nr, stdout);
		}
	}
	free(rows);
	free(line);
	sa_scratch_destroy(sc);
	sa_workspace_destroy(ws);
	sa_lexicon_destroy(lex);
	return ferror(stdout) ? 1 : 0;
}
