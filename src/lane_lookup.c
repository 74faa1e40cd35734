/*
 * lane_lookup.c - which table is the lane of an embeddings table
 * (embedding_lane.c), found by name beside it.  Below the batch's prepared
 * statements, which write a source's embeddings to its lane, and the lane's
 * drain, which reads the registry through them.
 */
#include "postgres.h"

#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "mb/pg_wchar.h"
#include "utils/lsyscache.h"

#include "sentiment_proc.h"

#define LANE_SUFFIX "_lane"

/*
 * The lane of an embeddings table, InvalidOid when it has none: the table
 * named after it with "_lane" (the name cut to fit) in its schema, a table
 * of the same owner whose embedding column is real[].
 */
Oid
sp_embedding_lane(Oid embeddings)
{
	char	   *name = get_rel_name(embeddings);
	char		lane_name[NAMEDATALEN];
	int			keep;
	Oid			lane;
	AttrNumber	att;

	if (name == NULL)
		return InvalidOid;
	keep = pg_mbcliplen(name, strlen(name), NAMEDATALEN - 1 - strlen(LANE_SUFFIX));
	snprintf(lane_name, sizeof(lane_name), "%.*s%s", keep, name, LANE_SUFFIX);
	lane = get_relname_relid(lane_name, get_rel_namespace(embeddings));
	if (!OidIsValid(lane) || lane == embeddings ||
		get_rel_relkind(lane) != RELKIND_RELATION ||
		sp_relation_owner(lane) != sp_relation_owner(embeddings))
		return InvalidOid;
	att = get_attnum(lane, "embedding");
	if (att == InvalidAttrNumber || get_atttype(lane, att) != FLOAT4ARRAYOID ||
		get_attnum(lane, "entry_id") == InvalidAttrNumber)
		return InvalidOid;
	return lane;
}
