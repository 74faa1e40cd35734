/*
 * sentiment_proc.c - module entry point.
 *
 * The SQL-callable functions need nothing at load time: the analyser is
 * built lazily by the first backend call that needs it (analyze.c), so the
 * module also works when loaded on demand rather than preloaded.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/indexing.h"
#include "catalog/pg_extension.h"
#include "fmgr.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"

#include "sentiment_proc.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

void
_PG_init(void)
{
	/* background workers: settings; shared memory and launcher if preloaded */
	sp_worker_init();

	/* retries, two-phase claims, queue upkeep (claim.c): settings */
	sp_claim_init();

	/* statistics and progress (stats.c): setting; shared memory if preloaded */
	sp_stats_init();

	/*
	 * Define settings and register workers above this line: reserving the
	 * prefix removes placeholders and warns about any sentiment_proc.*
	 * setting not defined by then.
	 */
	MarkGUCPrefixReserved("sentiment_proc");
}

/*
 * Schema and owner of the extension with OID ext; false when it is gone.
 * (PostgreSQL 15 exports no function for either.)
 */
bool
sp_extension_info(Oid ext, Oid *nsp, Oid *owner)
{
	Relation	rel;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	bool		found = false;

	rel = table_open(ExtensionRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_extension_oid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(ext));
	scan = systable_beginscan(rel, ExtensionOidIndexId, true, NULL, 1, &key);
	tup = systable_getnext(scan);
	if (HeapTupleIsValid(tup))
	{
		Form_pg_extension e = (Form_pg_extension) GETSTRUCT(tup);

		if (nsp)
			*nsp = e->extnamespace;
		if (owner)
			*owner = e->extowner;
		found = true;
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return found;
}
