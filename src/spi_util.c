/*
 * spi_util.c - small helpers for statements and subtransactions, used by
 * every layer of the glue and calling none of it: statements prepared once
 * and kept, arrays built for their parameters, a step run in a
 * subtransaction that catches the errors asked for; integer settings
 * defined from a table.
 */
#include "postgres.h"

#include "access/xact.h"
#include "executor/spi.h"
#include "utils/array.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/guc.h"
#include "utils/resowner.h"

#include "sentiment_proc.h"

/*
 * Generic plans: the same shape for every batch, planned once.  A custom plan
 * would see the batch's arrays as constants and, on a table of moderate size,
 * may prefer hashing the whole table to probing its key once per row; the
 * generic plan's row estimate keeps the index probes.
 */
SPIPlanPtr
sp_prepare_kept(const char *sql, int nargs, Oid *argtypes)
{
	SPIPlanPtr	plan = SPI_prepare_cursor(sql, nargs, argtypes, CURSOR_OPT_GENERIC_PLAN);

	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed (%s) for: %s",
			 SPI_result_code_string(SPI_result), sql);
	if (SPI_keepplan(plan) != 0)
		elog(ERROR, "SPI_keepplan failed");
	return plan;
}

/* A one-dimensional array of n values of elemtype. */
Datum
sp_array_datum(Datum *values, bool *nulls, int n, Oid elemtype)
{
	int			dims[1] = {n};
	int			lbs[1] = {1};
	int16		typlen;
	bool		typbyval;
	char		typalign;

	get_typlenbyvalalign(elemtype, &typlen, &typbyval, &typalign);
	return PointerGetDatum(construct_md_array(values, nulls, 1, dims, lbs,
											  elemtype, typlen, typbyval, typalign));
}

/*
 * Run step(arg) in a subtransaction.  On an error that catch_it() accepts,
 * roll the subtransaction back and return the error; other errors are raised
 * again.  Returns NULL when the step succeeded.
 */
ErrorData *
sp_in_subtransaction(void (*step) (void *), void *arg, bool (*catch_it) (int sqlerrcode))
{
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	ErrorData  *volatile edata = NULL;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		step(arg);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
		if (!catch_it(edata->sqlerrcode))
			ReThrowError(edata);
	}
	PG_END_TRY();
	return edata;
}

/*
 * Define the integer settings of a table: each unit lists its own, none of
 * them with hooks.
 */
void
sp_define_int_settings(const SpIntSetting *settings, int n)
{
	for (int i = 0; i < n; i++)
		DefineCustomIntVariable(settings[i].name, settings[i].short_desc, settings[i].long_desc,
								settings[i].variable, settings[i].boot, settings[i].min, settings[i].max,
								settings[i].context, settings[i].flags, NULL, NULL, NULL);
}
