/*
 * eval-multilingual.c - figures of the language identifier and of the
 * sentiment models on the multilingual data set, from the built library
 * (what the extension runs), for tools/train_multilingual.py and the docs.
 *
 *   eval-multilingual umsab_val.tsv
 *
 * Input: "language TAB label TAB text" rows after one header line.  Per
 * data set language: the share of texts identified as that language (and
 * what the others were called), and the macro-F1 (negative, neutral,
 * positive) of VADER, social and multilingual; then their means over the
 * languages.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer.h"

#define NL 8
static const char *const langs[NL] = {"ar", "de", "en", "es", "fr", "hi", "it", "pt"};
static const char *const labels[3] = {"negative", "neutral", "positive"};

typedef struct counts
{
	long		conf[3][3];		/* gold x predicted */
} counts;

static double
macro_f1(const counts *c)
{
	double		f = 0;

	for (int k = 0; k < 3; k++)
	{
		long		tp = c->conf[k][k],
					fp = 0,
					fn = 0;

		for (int j = 0; j < 3; j++)
			if (j != k)
			{
				fp += c->conf[j][k];
				fn += c->conf[k][j];
			}
		if (tp > 0)
		{
			double		p = (double) tp / (tp + fp),
						r = (double) tp / (tp + fn);

			f += 2 * p * r / (p + r);
		}
	}
	return f / 3;
}

int
main(int argc, char **argv)
{
	FILE	   *fh;
	sa_lexicon *lex;
	sa_workspace *ws;
	char	   *line = NULL;
	size_t		cap = 0;
	ssize_t		n;
	long		row = 0,
				total[NL] = {0},
				right[NL] = {0},
				und[NL] = {0};
	counts		c[3][NL];
	const sa_model models[3] = {SA_MODEL_VADER, SA_MODEL_SOCIAL, SA_MODEL_MULTILINGUAL};
	double		mean[3] = {0};

	if (argc != 2 || (fh = fopen(argv[1], "r")) == NULL)
	{
		fprintf(stderr, "usage: eval-multilingual umsab_val.tsv\n");
		return 2;
	}
	if (sa_lexicon_create(&lex) != SA_OK || sa_workspace_create(&ws) != SA_OK)
		return 1;
	memset(c, 0, sizeof(c));
	while ((n = getline(&line, &cap, fh)) >= 0)
	{
		char	   *lab,
				   *text;
		int			l = -1,
					g = -1;
		const char *code;

		if (row++ == 0)
			continue;
		if (n > 0 && line[n - 1] == '\n')
			line[--n] = '\0';
		lab = strchr(line, '\t');
		text = lab ? strchr(lab + 1, '\t') : NULL;
		if (text == NULL)
			continue;
		*lab++ = '\0';
		*text++ = '\0';
		for (int i = 0; i < NL; i++)
			if (strcmp(line, langs[i]) == 0)
				l = i;
		for (int i = 0; i < 3; i++)
			if (strcmp(lab, labels[i]) == 0)
				g = i;
		if (l < 0 || g < 0)
			continue;
		if (sa_language_identify(text, strlen(text), &code) != SA_OK)
			return 1;
		total[l]++;
		right[l] += strcmp(code, langs[l]) == 0;
		und[l] += strcmp(code, "und") == 0;
		for (int m = 0; m < 3; m++)
		{
			sa_sentiment s;

			if (sa_sentiment_score_model(lex, ws, models[m], text, strlen(text), &s) != SA_OK)
				return 1;
			c[m][l].conf[g][s.label + 1]++;
		}
	}
	fclose(fh);
	free(line);
	printf("language identification, share identified as the data set's language (und: none given):\n");
	for (int l = 0; l < NL; l++)
		printf("  %s %.4f (%ld of %ld; und %ld)\n", langs[l], (double) right[l] / total[l],
			   right[l], total[l], und[l]);
	printf("sentiment macro-F1 per language:  vader   social  multilingual\n");
	for (int l = 0; l < NL; l++)
	{
		printf("  %s                               ", langs[l]);
		for (int m = 0; m < 3; m++)
		{
			double		f = macro_f1(&c[m][l]);

			mean[m] += f / NL;
			printf(" %.4f ", f);
		}
		printf("\n");
	}
	printf("  mean                             %.4f  %.4f  %.4f\n", mean[0], mean[1], mean[2]);
	sa_workspace_destroy(ws);
	sa_lexicon_destroy(lex);
	return 0;
}
