/*
 * partitions.c - the wake-up trigger on partitions added later.
 *
 * A statement trigger of a partitioned table does not fire for rows
 * inserted straight into a partition, so sentiment_attach puts the wake-up
 * trigger on every partition too (sentiment_wakeup_install in
 * sql/objects/20_attach.sql).  This event trigger covers partitions created
 * or attached afterwards.  It looks at the statement itself, so that only
 * CREATE TABLE ... PARTITION OF and ALTER TABLE ... ATTACH PARTITION do
 * anything: other ALTER TABLE commands on a partitioned source (a restore
 * adding its constraints, say, before the dump's own CREATE TRIGGER) must
 * not create triggers.  The work is done in SQL by
 * sentiment_wakeup_partitions_added(), as the user of the command.
 */
#include "postgres.h"

#include "commands/event_trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "nodes/parsenodes.h"
#include "utils/builtins.h"

#include "sentiment_proc.h"

PG_FUNCTION_INFO_V1(sentiment_wakeup_new_partitions);

/* Does this statement add a partition to some table? */
static bool
adds_partition(Node *stmt)
{
	ListCell   *lc;

	if (stmt == NULL)
		return false;
	if (IsA(stmt, CreateStmt))
		return ((CreateStmt *) stmt)->partbound != NULL;
	if (!IsA(stmt, AlterTableStmt))
		return false;
	foreach(lc, ((AlterTableStmt *) stmt)->cmds)
	{
		Node	   *cmd = lfirst(lc);

		if (IsA(cmd, AlterTableCmd) && ((AlterTableCmd *) cmd)->subtype == AT_AttachPartition)
			return true;
	}
	return false;
}

/*
 * sentiment_wakeup_new_partitions(): event trigger ON ddl_command_end WHEN
 * TAG IN ('CREATE TABLE', 'ALTER TABLE').
 */
Datum
sentiment_wakeup_new_partitions(PG_FUNCTION_ARGS)
{
	EventTriggerData *trigdata;
	char	   *schema;

	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_EVENT_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("sentiment_wakeup_new_partitions() was not called by the event trigger manager")));
	trigdata = (EventTriggerData *) fcinfo->context;
	if (!adds_partition(trigdata->parsetree))
		PG_RETURN_NULL();
	schema = sp_extension_schema();
	if (schema == NULL)
		PG_RETURN_NULL();

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute(psprintf("SELECT %s.sentiment_wakeup_partitions_added()", quote_identifier(schema)),
					false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not put the wake-up trigger on new partitions");
	SPI_finish();
	PG_RETURN_NULL();
}
