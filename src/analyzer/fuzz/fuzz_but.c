/*
 * fuzz_but.c - libFuzzer target: the linear-time "but" rule must give
 * exactly what a literal simulation of the reference's list walk gives
 * (for each element x in order, rescale the FIRST element equal to x).
 * Values come from a small set closed under x0.5/x1.5 chains so that ties,
 * the list-index quirk, are frequent.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer.h"
#include "workspace_internal.h"

static const double pool[] = {
	0.0, 1.0, -1.0, 2.0, 0.5, 0.25, 1.5, 2.25, 0.75, -0.5, -1.5, 3.0, 4.5, -0.0, 1.125, -2.25
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static sa_workspace *ws;
	double		fast[512],
				slow[512];
	size_t		n,
				b;

	if (size < 2)
		return 0;
	if (ws == NULL && sa_workspace_create(&ws) != SA_OK)
		abort();
	n = size - 1;
	if (n > 512)
		n = 512;
	b = data[0] % n;
	for (size_t i = 0; i < n; i++)
		fast[i] = slow[i] = pool[data[i + 1] % (sizeof(pool) / sizeof(pool[0]))];

	for (size_t j = 0; j < n; j++)
	{
		double		x = slow[j];
		size_t		p = 0;

		while (slow[p] != x)
			p++;
		if (p < b)
			slow[p] = x * 0.5;
		else if (p > b)
			slow[p] = x * 1.5;
	}
	if (sa_vader_but_rule(ws, fast, n, b) != SA_OK)
		abort();
	for (size_t i = 0; i < n; i++)
		if (fast[i] != slow[i])
			abort();
	return 0;
}
