/*
 * dump-features.c - the trained models' features of each text of a TSV
 * file, for the trainer (tools/train_models.py).
 *
 * The features come from the analyser's own extractor (src/analyzer/
 * features.c) with the layout given on the command line, so the trainer
 * never re-implements them.  Built by `make -C src/analyzer dump-features`
 * from the analyser's sources (not from the library, which needs the
 * trained models first).
 *
 *   dump-features FLAGS BITS NEG_SCOPE CHAR_MIN CHAR_MAX < in.tsv > out.bin
 *
 * Input: the data sets' TSV (one header line, "label TAB text", LF records,
 * no quoting).  Output, per data row, little-endian uint32: the number of
 * features, then the table rows (repeats kept).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_internal.h"

int
main(int argc, char **argv)
{
	sa_feat_layout layout;
	sa_lexicon *lex;
	sa_workspace *ws;
	sa_scratch *sc;
	char	   *line = NULL;
	size_t		cap = 0;
	ssize_t		n;
	long		row = 0;

	if (argc != 6)
	{
		fprintf(stderr, "usage: %s FLAGS BITS NEG_SCOPE CHAR_MIN CHAR_MAX < in.tsv > out.bin\n", argv[0]);
		return 2;
	}
	layout.flags = (uint32_t) strtoul(argv[1], NULL, 0);
	layout.bits = (uint32_t) strtoul(argv[2], NULL, 0);
	layout.neg_scope = (uint32_t) strtoul(argv[3], NULL, 0);
	layout.char_min = (uint32_t) strtoul(argv[4], NULL, 0);
	layout.char_max = (uint32_t) strtoul(argv[5], NULL, 0);
	if (sa_lexicon_create(&lex) != SA_OK || sa_workspace_create(&ws) != SA_OK ||
		sa_scratch_create(&sc) != SA_OK)
	{
		fprintf(stderr, "dump-features: cannot set up the analyser\n");
		return 1;
	}
	while ((n = getline(&line, &cap, stdin)) >= 0)
	{
		char	   *text;
		size_t		len;
		sa_sentiment v;
		sa_error	err;
		uint32_t	count;

		if (row++ == 0)
			continue;			/* header */
		if (n > 0 && line[n - 1] == '\n')
			line[--n] = '\0';
		if (n == 0)
			continue;
		text = strchr(line, '\t');
		text = text ? text + 1 : line + n;
		len = (size_t) (line + n - text);
		err = sa_sentiment_score(lex, ws, text, len, &v);
		if (err == SA_OK)
			err = sa_tokenize(sc, text, len);
		if (err == SA_OK)
			err = sa_features(sc, &layout, text, len, &v, false);
		if (err != SA_OK)
		{
			fprintf(stderr, "dump-features: row %ld: %s\n", row, sa_strerror(err));
			return 1;
		}
		count = (uint32_t) sc->nfeats;
		fwrite(&count, sizeof(count), 1, stdout);
		fwrite(sc->feats, sizeof(uint32_t), sc->nfeats, stdout);
	}
	free(line);
	sa_scratch_destroy(sc);
	sa_workspace_destroy(ws);
	sa_lexicon_destroy(lex);
	return ferror(stdout) ? 1 : 0;
}
