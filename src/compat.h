/*
 * compat.h - the differences between the supported PostgreSQL majors.
 *
 * sentiment_proc supports PostgreSQL 15, 16, 17 and 18 from one source tree.
 * The code is written against the newest API (18); each guard below maps one
 * newer name onto an older major's and names the release that changed it.
 * This is the only file that tests PG_VERSION_NUM: everything else calls the
 * names defined here.  Included by sentiment_proc.h, right after postgres.h.
 *
 * The rest of what the module uses is the same from 15 to 18 (checked by
 * building against 18 with -Werror): shmem_request_hook and
 * shmem_startup_hook, named LWLock tranches, ShmemInitStruct/ShmemInitHash,
 * background worker registration and BackgroundWorkerInitializeConnection*,
 * WaitLatch with PG_WAIT_EXTENSION, transaction callbacks,
 * GetUserIdAndSecContext, SearchSysCache1, table_open, heap_form_tuple and
 * AllocSetContextCreate.  The module installs no executor or utility hooks.
 */
#ifndef SP_COMPAT_H
#define SP_COMPAT_H

#include "postgres.h"

#if PG_VERSION_NUM < 150000 || PG_VERSION_NUM >= 190000
#error "sentiment_proc supports PostgreSQL 15, 16, 17 and 18 only: point PG_CONFIG at one of them"
#endif

/*
 * 16 moved the varlena macros (VARDATA, VARSIZE, SET_VARSIZE, ...) out of
 * postgres.h into varatt.h.
 */
#if PG_VERSION_NUM >= 160000
#include "varatt.h"
#endif

/*
 * 16 replaced the per-object-kind ACL checks (pg_proc_aclcheck,
 * pg_class_ownercheck, ...) with object_aclcheck and object_ownercheck, which
 * take the catalogue's OID.  Before 16, map the kinds this module uses onto
 * the old functions.
 */
#if PG_VERSION_NUM < 160000
#include "catalog/pg_class_d.h"
#include "catalog/pg_proc_d.h"
#include "utils/acl.h"

static inline AclResult
object_aclcheck(Oid classid, Oid objectid, Oid roleid, AclMode mode)
{
	if (classid == ProcedureRelationId)
		return pg_proc_aclcheck(objectid, roleid, mode);
	elog(ERROR, "object_aclcheck: catalogue %u is not mapped before PostgreSQL 16", classid);
	return ACLCHECK_NO_PRIV;	/* keep the compiler quiet */
}

static inline bool
object_ownercheck(Oid classid, Oid objectid, Oid roleid)
{
	if (classid == RelationRelationId)
		return pg_class_ownercheck(objectid, roleid);
	elog(ERROR, "object_ownercheck: catalogue %u is not mapped before PostgreSQL 16", classid);
	return false;				/* keep the compiler quiet */
}
#endif

/*
 * 16 renamed pgstat_fetch_stat_local_beentry to
 * pgstat_get_local_beentry_by_index; both take a 1-based index into the
 * backend's local snapshot of the backend statuses.
 */
#if PG_VERSION_NUM < 160000
#include "utils/backend_status.h"
#define pgstat_get_local_beentry_by_index(idx) pgstat_fetch_stat_local_beentry(idx)
#endif

/*
 * 17 replaced BackendId (1 to MaxBackends, storage/backendid.h) with
 * ProcNumber (0-based, storage/procnumber.h): MyBackendId became
 * MyProcNumber.  A regular backend's or background worker's number is below
 * MaxBackends in both.
 */
#if PG_VERSION_NUM >= 170000
#include "storage/procnumber.h"
#else
#include "storage/backendid.h"
#define MyProcNumber (MyBackendId - 1)
#endif

/*
 * 17 moved PGPROC's lxid into its vxid (with the ProcNumber): the local
 * transaction id of this backend's current transaction.  Needs
 * storage/proc.h where used.
 */
#if PG_VERSION_NUM >= 170000
#define SP_MY_LXID (MyProc->vxid.lxid)
#else
#define SP_MY_LXID (MyProc->lxid)
#endif

/*
 * 18 removed pg_attribute_noreturn(), which followed the declarator, for the
 * C11-style pg_noreturn that precedes the declaration.  GCC and Clang accept
 * the attribute in front, so before 18 pg_noreturn is that attribute.
 */
#if PG_VERSION_NUM < 180000
#define pg_noreturn pg_attribute_noreturn()
#endif

#endif							/* SP_COMPAT_H */
