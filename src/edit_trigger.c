/*
 * edit_trigger.c - edits win over stale results.
 *
 * sentiment_text_edit_trigger is the BEFORE UPDATE OF <text> row trigger
 * sentiment_attach puts on every source: a text that really changed bumps
 * version and puts the row back to 'pending', so a result computed for the
 * old text can never be stored (a batch holding the row's lock makes the
 * update wait and then applies on top; a two-phase claimant's later
 * sentiment_complete() finds another version and writes nothing).
 */
#include "postgres.h"

#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "sentiment_proc.h"

PG_FUNCTION_INFO_V1(sentiment_text_edit_trigger);
PG_FUNCTION_INFO_V1(sentiment_side_rows_delete_trigger);

/* The attribute number of a live column by name, 0 when there is none. */
static int
attnum_of(TupleDesc desc, const char *name)
{
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute a = TupleDescAttr(desc, i);

		if (!a->attisdropped && strcmp(NameStr(a->attname), name) == 0)
			return i + 1;
	}
	return 0;
}

/*
 * Refuse a column (attnum, 0: absent, fine) whose type is not of the kind
 * ("string" or "integer") the trigger reads and writes it as.
 */
static void
check_column_type(Relation rel, int attnum, const char *kind)
{
	Form_pg_attribute att;
	Oid			t;
	bool		ok;

	if (attnum == 0)
		return;
	att = TupleDescAttr(RelationGetDescr(rel), attnum - 1);
	t = att->atttypid;
	ok = strcmp(kind, "string") == 0 ? (t == TEXTOID || t == VARCHAROID || t == BPCHAROID) :
		(t == INT2OID || t == INT4OID || t == INT8OID);
	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("column \"%s\" of \"%s\" has type %s, which sentiment_text_edit_trigger cannot use",
						NameStr(att->attname), RelationGetRelationName(rel), format_type_be(t)),
				 errhint("Attach the table again with sentiment_attach() after changing the column's type to %s.",
						 strcmp(kind, "string") == 0 ? "text" : "integer")));
}

/*
 * BEFORE UPDATE OF <text column> FOR EACH ROW, argument: the text column.
 * When the text really changed: version + 1, status 'pending', attempts,
 * error, retry time and claim cleared.  A batch holding the row's lock makes
 * this update wait and then apply on top of its result; a two-phase
 * claimant's later sentiment_complete() finds another version and writes
 * nothing.
 */
Datum
sentiment_text_edit_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	TupleDesc	desc;
	HeapTuple	oldtup;
	HeapTuple	newtup;
	int			textcol;
	int			cols[7];
	Datum		vals[7];
	bool		nulls[7];
	int			ncols = 0;
	bool		oldnull;
	bool		newnull;
	Datum		oldv;
	Datum		newv;
	int			a;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_BEFORE(td->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(td->tg_event) || !TRIGGER_FIRED_BY_UPDATE(td->tg_event) ||
		(td->tg_trigger->tgnargs != 1 && td->tg_trigger->tgnargs != 5))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("sentiment_text_edit_trigger must be a BEFORE UPDATE row trigger with the text column as argument"),
				 errhint("sentiment_attach() creates it.")));

	desc = RelationGetDescr(td->tg_relation);
	oldtup = td->tg_trigtuple;
	newtup = td->tg_newtuple;
	textcol = attnum_of(desc, td->tg_trigger->tgargs[0]);
	if (textcol == 0)
		return PointerGetDatum(newtup);

	/*
	 * The columns are read and written as the types attach gives them; a
	 * table of another shape (or one never attached) is refused before any
	 * of its values is touched.
	 */
	if (!sp_is_attached(RelationGetRelid(td->tg_relation)))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("sentiment_text_edit_trigger fired on \"%s\", which is not attached to sentiment_proc",
						RelationGetRelationName(td->tg_relation)),
				 errhint("sentiment_attach() creates this trigger; drop it from tables that are not attached.")));
	check_column_type(td->tg_relation, textcol, "string");
	check_column_type(td->tg_relation, attnum_of(desc, "version"), "integer");
	check_column_type(td->tg_relation, attnum_of(desc, "processing_status"), "string");
	check_column_type(td->tg_relation, attnum_of(desc, "processing_attempts"), "integer");

	oldv = heap_getattr(oldtup, textcol, desc, &oldnull);
	newv = heap_getattr(newtup, textcol, desc, &newnull);
	if (oldnull == newnull &&
		(oldnull || DatumGetBool(DirectFunctionCall2Coll(texteq, DEFAULT_COLLATION_OID, oldv, newv))))
		return PointerGetDatum(newtup);

	/* version + 1, in whatever integer type the column has */
	if ((a = attnum_of(desc, "version")) != 0)
	{
		bool		isnull;
		Datum		v = heap_getattr(oldtup, a, desc, &isnull);
		Oid			t = TupleDescAttr(desc, a - 1)->atttypid;
		int64		next = 1;

		if (!isnull)
			next = (t == INT2OID ? DatumGetInt16(v) : t == INT4OID ? DatumGetInt32(v) : DatumGetInt64(v)) + 1;
		if (t == INT2OID && next > PG_INT16_MAX)
			next = 1;
		else if (t == INT4OID && next > PG_INT32_MAX)
			next = 1;
		cols[ncols] = a;
		vals[ncols] = t == INT2OID ? Int16GetDatum((int16) next) :
			t == INT4OID ? Int32GetDatum((int32) next) : Int64GetDatum(next);
		nulls[ncols++] = false;
	}
	if ((a = attnum_of(desc, "processing_status")) != 0)
	{
		cols[ncols] = a;
		vals[ncols] = CStringGetTextDatum("pending");
		nulls[ncols++] = false;
	}
	if ((a = attnum_of(desc, "processing_attempts")) != 0)
	{
		Oid			t = TupleDescAttr(desc, a - 1)->atttypid;

		cols[ncols] = a;
		vals[ncols] = t == INT2OID ? Int16GetDatum(0) : t == INT4OID ? Int32GetDatum(0) : Int64GetDatum(0);
		nulls[ncols++] = false;
	}
	{
		const char *cleared[] = {"processing_error", "processing_retry_at",
		"processing_lease_until", "processing_claimed_by"};

		for (int i = 0; i < lengthof(cleared); i++)
			if ((a = attnum_of(desc, cleared[i])) != 0)
			{
				cols[ncols] = a;
				vals[ncols] = (Datum) 0;
				nulls[ncols++] = true;
			}
	}
	return PointerGetDatum(heap_modify_tuple_by_cols(newtup, desc, ncols, cols, vals, nulls));
}

/* The side-row DELETE of the last source, kept while its tables keep their names. */
static SPIPlanPtr side_delete_plan = NULL;
static char *side_delete_sql = NULL;

/*
 * AFTER DELETE FOR EACH ROW on a time-partitioned source (cloned to every
 * partition, those added later too), argument: the id column.  The deleted
 * row's topics and embedding (and a staged one, embedding_lane.c) are
 * deleted as the owner of the source, who owns the side tables, as a
 * foreign key's cascade would.  A table no longer attached: nothing.
 */
Datum
sentiment_side_rows_delete_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	TupleDesc	desc;
	int			idcol;
	Oid			type;
	Oid			source;
	Oid			topics = InvalidOid;
	Oid			embeddings = InvalidOid;
	Oid			lane;
	Datum		v;
	bool		isnull;
	int64		id;
	char	   *sql;
	Oid			argtypes[1] = {INT8OID};
	SpOwnerSwitch sw;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_AFTER(td->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(td->tg_event) || !TRIGGER_FIRED_BY_DELETE(td->tg_event) ||
		td->tg_trigger->tgnargs != 1)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("sentiment_side_rows_delete_trigger must be an AFTER DELETE row trigger with the id column as argument"),
				 errhint("sentiment_attach() creates it.")));
	desc = RelationGetDescr(td->tg_relation);
	idcol = attnum_of(desc, td->tg_trigger->tgargs[0]);
	source = sp_attached_source(RelationGetRelid(td->tg_relation), &topics, &embeddings);
	if (idcol == 0 || !OidIsValid(source) || get_rel_name(topics) == NULL || get_rel_name(embeddings) == NULL)
		return PointerGetDatum(NULL);
	check_column_type(td->tg_relation, idcol, "integer");
	v = heap_getattr(td->tg_trigtuple, idcol, desc, &isnull);
	if (isnull)
		return PointerGetDatum(NULL);
	type = TupleDescAttr(desc, idcol - 1)->atttypid;
	id = type == INT2OID ? DatumGetInt16(v) : type == INT4OID ? DatumGetInt32(v) : DatumGetInt64(v);

	lane = sp_embedding_lane(embeddings);
	sql = psprintf("WITH t AS (DELETE FROM %s WHERE mention_id OPERATOR(pg_catalog.=) $1)%s "
				   "DELETE FROM %s WHERE entry_id OPERATOR(pg_catalog.=) $1",
				   sp_qualified_name(topics),
				   OidIsValid(lane) ? psprintf(", l AS (DELETE FROM %s WHERE entry_id OPERATOR(pg_catalog.=) $1)",
											   sp_qualified_name(lane)) : "",
				   sp_qualified_name(embeddings));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (side_delete_sql == NULL || strcmp(side_delete_sql, sql) != 0)
	{
		if (side_delete_plan != NULL)
			SPI_freeplan(side_delete_plan);
		side_delete_plan = NULL;
		if (side_delete_sql != NULL)
			pfree(side_delete_sql);
		side_delete_sql = NULL;
		side_delete_plan = sp_prepare_kept(sql, 1, argtypes);
		side_delete_sql = MemoryContextStrdup(TopMemoryContext, sql);
	}
	v = Int64GetDatum(id);
	sp_as_table_owner(source, &sw);
	if (SPI_execute_plan(side_delete_plan, &v, NULL, false, 0) != SPI_OK_DELETE)
		elog(ERROR, "could not delete the side rows of a deleted row of %s", get_rel_name(source));
	sp_restore_user(&sw);
	SPI_finish();
	return PointerGetDatum(NULL);
}
