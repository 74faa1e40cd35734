/*
 * dictionary.c - the user's lexicon overrides and topic dictionary inside a
 * backend, and the SQL functions that guard them.
 *
 * The tables sentiment_lexicon_overrides and sentiment_topic_keywords are
 * read into the analyser's own objects (a lexicon with the overrides
 * applied, a topic trie) once per backend and kept until they change.  A
 * change is announced the way catalogue changes are: the tables' statement
 * trigger sends a relcache invalidation for the table, which other backends
 * receive at their next transaction start (or lock acquisition) after the
 * change committed, and the writing backend at its next command, and again
 * when it rolls back.  The invalidation callback only clears a flag, so the
 * check per batch or per call is one bool test; nothing queries the tables
 * unless they changed.  This works with or without shared_preload_libraries.
 *
 * The tables are read with a fresh snapshot, like a catalogue: a change
 * applies to batches and statements that start after it committed, whatever
 * the caller's isolation level.
 */
#include "postgres.h"

#include <math.h>

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/indexing.h"
#include "catalog/pg_extension.h"
#include "commands/extension.h"
#include "commands/trigger.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "storage/proc.h"
#include "storage/sinval.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "sentiment_proc.h"

PG_FUNCTION_INFO_V1(sentiment_dictionary_changed);
PG_FUNCTION_INFO_V1(sentiment_lexicon_entry_check);
PG_FUNCTION_INFO_V1(sentiment_topic_entry_check);

#define OVERRIDES_TABLE "sentiment_lexicon_overrides"
#define TOPICS_TABLE "sentiment_topic_keywords"

/* The analyser's own limits (lexicon.c, topics.c), for precise messages. */
#define TERM_MAX_BYTES 1024
#define VALENCE_MAX 1000.0
#define TOPIC_KEY_MAX_BYTES 128
#define PHRASE_MAX_BYTES 512
#define WEIGHT_MAX 1000.0

/* false: read the tables again before the next analysis */
static bool dict_valid = false;
static bool callback_registered = false;
static uint64 inval_count = 0;	/* invalidations seen, to spot one mid-read */
/* the tables last read (InvalidOid: not there) */
static Oid	overrides_relid = InvalidOid;
static Oid	topics_relid = InvalidOid;
/* built with an older snapshot (parallel mode): read again next transaction */
static LocalTransactionId built_in_lxid = InvalidLocalTransactionId;
/* the lexicon carries overrides, so a clean one must be built to drop them */
static bool lexicon_overridden = false;
static sa_topics *dict_topics = NULL;

/* scratch objects the validators apply entries to (writers only) */
static sa_lexicon *check_lexicon = NULL;

typedef struct DictEntry
{
	char	   *a;				/* term, or topic key */
	int			alen;
	char	   *b;				/* phrase (topics) */
	int			blen;
	double		value;			/* valence or weight */
	bool		remove;			/* override with NULL valence */
} DictEntry;

/* Relcache callback: a change to either dictionary table makes this backend read them again. */
static void
dictionary_invalidate(Datum arg, Oid relid)
{
	/*
	 * InvalidOid is a reset of the whole cache.  While a table is missing
	 * any relation may be the one being created (CREATE/ALTER EXTENSION), so
	 * look again; that only happens on installations without the tables.
	 */
	if (relid == InvalidOid || relid == overrides_relid || relid == topics_relid ||
		!OidIsValid(overrides_relid) || !OidIsValid(topics_relid))
	{
		dict_valid = false;
		inval_count++;
	}
}

/* Attribute number of a column of the given type, or 0 with a warning. */
static AttrNumber
column_of(Relation rel, const char *name, Oid type)
{
	TupleDesc	desc = RelationGetDescr(rel);

	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (!att->attisdropped && strcmp(NameStr(att->attname), name) == 0 &&
			att->atttypid == type)
			return att->attnum;
	}
	ereport(WARNING,
			(errcode(ERRCODE_INVALID_TABLE_DEFINITION),
			 errmsg("table \"%s\" has no column \"%s\" of type %s, its entries are ignored",
					RelationGetRelationName(rel), name, format_type_be(type)),
			 errhint("Reinstall the extension's table, or restore the column.")));
	return 0;
}

/* Text datum as UTF-8 bytes (the analyser's encoding) in palloc'd memory. */
static char *
utf8_of(Datum d, int *len)
{
	text	   *t = DatumGetTextPP(d);
	int			n = VARSIZE_ANY_EXHDR(t);
	char	   *s = pg_server_to_any(VARDATA_ANY(t), n, PG_UTF8);

	if (s == VARDATA_ANY(t))
		s = pnstrdup(s, n);
	else
		n = strlen(s);
	*len = n;
	return s;
}

/*
 * Read one table: overrides (term, valence) or topics (topic_key, phrase,
 * weight).  Returns the entries in palloc'd memory.
 */
static DictEntry *
read_table(Oid relid, bool topics, Snapshot snap, int *nentries)
{
	Relation	rel;
	TableScanDesc scan;
	TupleTableSlot *slot;
	AttrNumber	col_a,
				col_b = 0,
				col_v;
	DictEntry  *out = NULL;
	int			n = 0,
				cap = 0;

	*nentries = 0;
	rel = table_open(relid, AccessShareLock);
	col_a = column_of(rel, topics ? "topic_key" : "term", TEXTOID);
	if (topics)
		col_b = column_of(rel, "phrase", TEXTOID);
	col_v = column_of(rel, topics ? "weight" : "valence", FLOAT8OID);
	if (col_a == 0 || col_v == 0 || (topics && col_b == 0))
	{
		table_close(rel, AccessShareLock);
		return NULL;
	}

	slot = table_slot_create(rel, NULL);
	scan = table_beginscan(rel, snap, 0, NULL);
	while (table_scan_getnextslot(scan, ForwardScanDirection, slot))
	{
		bool		isnull;
		Datum		a,
					b = (Datum) 0,
					v;
		DictEntry  *e;

		CHECK_FOR_INTERRUPTS();
		a = slot_getattr(slot, col_a, &isnull);
		if (isnull)
			continue;
		if (topics)
		{
			b = slot_getattr(slot, col_b, &isnull);
			if (isnull)
				continue;
		}
		v = slot_getattr(slot, col_v, &isnull);
		if (isnull && topics)
			continue;
		if (n == cap)
		{
			cap = cap ? cap * 2 : 64;
			out = out ? repalloc(out, sizeof(DictEntry) * cap) : palloc(sizeof(DictEntry) * cap);
		}
		e = &out[n++];
		e->a = utf8_of(a, &e->alen);
		if (topics)
			e->b = utf8_of(b, &e->blen);
		else
		{
			e->b = NULL;
			e->blen = 0;
		}
		e->remove = isnull;
		e->value = isnull ? 0.0 : DatumGetFloat8(v);
	}
	table_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	table_close(rel, AccessShareLock);
	*nentries = n;
	return out;
}

/* memcmp order of two byte strings, the shorter first on a tie. */
static int
bytes_cmp(const char *a, int alen, const char *b, int blen)
{
	int			c = memcmp(a, b, Min(alen, blen));

	return c != 0 ? c : (alen > blen) - (alen < blen);
}

/* Byte order, so terms equal after lower-casing apply in a fixed order. */
static int
entry_cmp(const void *x, const void *y)
{
	const DictEntry *a = x;
	const DictEntry *b = y;
	int			c = bytes_cmp(a->a, a->alen, b->a, b->alen);

	if (c == 0 && a->b != NULL && b->b != NULL)
		c = bytes_cmp(a->b, a->blen, b->b, b->blen);
	return c;
}

/* The first entry the analyser refused, for the warning. */
typedef struct BadEntry
{
	int			n;
	const char *table;
	char	   *entry;
	sa_error	err;
} BadEntry;

static void
note_bad_entry(BadEntry *bad, const char *table, char *entry, sa_error err)
{
	if (bad->n++ > 0)
		return;
	bad->table = table;
	bad->entry = entry;
	bad->err = err;
}

/*
 * Read both tables (sorted, so the objects are built the same way every
 * time) with a fresh snapshot; in parallel mode, which allows none, with the
 * statement's, reading again in the next transaction.
 */
static void
read_dictionaries(DictEntry **over, int *nover, DictEntry **top, int *ntop)
{
	Snapshot	snap;
	bool		registered = false;

	*nover = *ntop = 0;
	if (!OidIsValid(overrides_relid) && !OidIsValid(topics_relid))
		return;
	if (IsInParallelMode())
	{
		snap = GetActiveSnapshot();
		built_in_lxid = SP_MY_LXID;
	}
	else
	{
		snap = RegisterSnapshot(GetLatestSnapshot());
		registered = true;
	}
	if (OidIsValid(overrides_relid))
		*over = read_table(overrides_relid, false, snap, nover);
	if (OidIsValid(topics_relid))
		*top = read_table(topics_relid, true, snap, ntop);
	if (registered)
		UnregisterSnapshot(snap);
	if (*nover > 1)
		qsort(*over, *nover, sizeof(DictEntry), entry_cmp);
	if (*ntop > 1)
		qsort(*top, *ntop, sizeof(DictEntry), entry_cmp);
}

/*
 * A lexicon with the overrides applied, built by the analyser alone (plain
 * malloc, no ereport), so nothing can escape half-built.  Entries it refuses
 * (written past the table's check) are skipped and noted.
 */
static sa_error
build_lexicon(const DictEntry *over, int nover, sa_lexicon **lex, BadEntry *bad)
{
	sa_error	err = sa_lexicon_create(lex);

	for (int i = 0; err == SA_OK && i < nover; i++)
	{
		sa_error	e = over[i].remove
			? sa_lexicon_remove(*lex, over[i].a, over[i].alen)
			: sa_lexicon_set(*lex, over[i].a, over[i].alen, over[i].value);

		if (e == SA_ERR_NOMEM)
			err = e;
		else if (e != SA_OK)
			note_bad_entry(bad, OVERRIDES_TABLE, pnstrdup(over[i].a, over[i].alen), e);
	}
	return err;
}

/* The topic dictionary, the same way. */
static sa_error
build_topics(const DictEntry *top, int ntop, sa_topics **topics, BadEntry *bad)
{
	sa_error	err = sa_topics_create(topics);

	for (int i = 0; err == SA_OK && i < ntop; i++)
	{
		sa_error	e = sa_topics_add(*topics, top[i].a, top[i].alen,
									  top[i].b, top[i].blen, top[i].value);

		if (e == SA_ERR_NOMEM)
			err = e;
		else if (e != SA_OK)
			note_bad_entry(bad, TOPICS_TABLE,
						   psprintf("%.*s: %.*s", top[i].alen, top[i].a, top[i].blen, top[i].b), e);
	}
	return err;
}

/*
 * Take the dictionary tables' locks without waiting; false (naming the
 * table in *locked) when another session holds a conflicting one.
 */
static bool
lock_dictionaries(Oid *locked)
{
	Oid			rels[2] = {overrides_relid, topics_relid};

	for (int i = 0; i < lengthof(rels); i++)
		if (OidIsValid(rels[i]) && !ConditionalLockRelationOid(rels[i], AccessShareLock))
		{
			*locked = rels[i];
			return false;
		}
	return true;
}

/* The start of the transaction that last warned of a locked dictionary table. */
static TimestampTz locked_warned_xact = 0;

/* Read both tables again and swap the new objects into an. */
static void
dictionary_rebuild(SpAnalyzer *an)
{
	Oid			nsp;
	DictEntry  *over = NULL,
			   *top = NULL;
	int			nover,
				ntop;
	sa_lexicon *lex = NULL;
	sa_topics  *topics = NULL;
	sa_error	err = SA_OK;
	BadEntry	bad = {0};
	MemoryContext cxt,
				old;
	uint64		seen;

	if (!callback_registered)
	{
		CacheRegisterRelcacheCallback(dictionary_invalidate, (Datum) 0);
		callback_registered = true;
	}

	/* An invalidation arriving while we read means: read again. */
	seen = inval_count;
	built_in_lxid = InvalidLocalTransactionId;

	/* not during our own CREATE EXTENSION: the tables are half-made */
	nsp = sp_extension_ready() ? sp_extension_namespace() : InvalidOid;
	overrides_relid = OidIsValid(nsp) ? get_relname_relid(OVERRIDES_TABLE, nsp) : InvalidOid;
	topics_relid = OidIsValid(nsp) ? get_relname_relid(TOPICS_TABLE, nsp) : InvalidOid;

	/*
	 * A dictionary table that someone keeps locked (LOCK TABLE, a long
	 * ALTER TABLE) must not hang every analysis and every batch behind it:
	 * the last loaded dictionary (the built-in lexicon in a new backend)
	 * stays in use, and the tables are read again at the next call.  One
	 * warning per transaction.
	 */
	{
		Oid			locked = InvalidOid;

		if (!lock_dictionaries(&locked))
		{
			dict_valid = false;
			if (locked_warned_xact != GetCurrentTransactionStartTimestamp())
			{
				locked_warned_xact = GetCurrentTransactionStartTimestamp();
				ereport(WARNING,
						(errcode(ERRCODE_LOCK_NOT_AVAILABLE),
						 errmsg("table %s is locked by another session: the last loaded lexicon overrides and topic dictionary are used",
								get_rel_name(locked) ? get_rel_name(locked) : "?"),
						 errdetail("Changes to the dictionary tables apply once the lock is released."),
						 errhint("Release the lock: end the transaction that holds it.")));
			}
			return;
		}
	}

	cxt = AllocSetContextCreate(CurrentMemoryContext, "sentiment_proc dictionary",
								ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(cxt);
	read_dictionaries(&over, &nover, &top, &ntop);

	if (nover > 0 || lexicon_overridden || an->lexicon == NULL)
		err = build_lexicon(over, nover, &lex, &bad);
	if (err == SA_OK && ntop > 0)
		err = build_topics(top, ntop, &topics, &bad);
	if (err != SA_OK)
	{
		sa_lexicon_destroy(lex);
		sa_topics_destroy(topics);
		MemoryContextSwitchTo(old);
		MemoryContextDelete(cxt);
		sp_analyzer_error(err, "loading the lexicon overrides and topic dictionary");
	}

	if (lex != NULL)
	{
		sa_lexicon_destroy(an->lexicon);
		an->lexicon = lex;
		lexicon_overridden = nover > 0;
	}
	sa_topics_destroy(dict_topics);
	dict_topics = topics;
	an->topics = topics;
	dict_valid = (inval_count == seen);

	if (bad.n > 0)
		ereport(WARNING,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%d invalid dictionary entries ignored", bad.n),
				 errdetail("The first is \"%s\" in table %s: %s.", bad.entry, bad.table,
						   sa_strerror(bad.err)),
				 errhint("Correct or delete the entry; the tables' checks refuse such entries.")));
	MemoryContextSwitchTo(old);
	MemoryContextDelete(cxt);
}

/*
 * Make an's lexicon and topics reflect the dictionary tables: a flag test
 * unless they changed.  Needs a transaction to read them; outside one (never
 * the case for our callers) the objects stay as they are.
 */
void
sp_dictionary_refresh(SpAnalyzer *an)
{
	if (dict_valid && an->lexicon != NULL &&
		(built_in_lxid == InvalidLocalTransactionId || built_in_lxid == SP_MY_LXID))
		return;
	if (!IsTransactionState())
		return;
	if (IsInParallelMode() && !ActiveSnapshotSet())
		return;
	dictionary_rebuild(an);
}

/* ---- SQL-callable ---- */

/* dictionary tables this transaction changed, for the early message */
static Oid	changed_relids[2];
static int	nchanged = 0;
static bool xact_callback_registered = false;

/*
 * The transactional invalidation goes out after the commit became visible,
 * and after the commit woke the workers (wakeup.c, at XACT_EVENT_COMMIT): a
 * worker could claim a row inserted together with a dictionary change
 * before hearing of the change.  So one more message goes out just before
 * the commit: whoever sees the commit has received it, and whoever reads
 * the tables too early on its account gets the regular one afterwards.
 */
static void
dictionary_xact_callback(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_PRE_COMMIT)
	{
		for (int i = 0; i < nchanged; i++)
		{
			SharedInvalidationMessage msg;

			memset(&msg, 0, sizeof(msg));
			msg.rc.id = SHAREDINVALRELCACHE_ID;
			msg.rc.dbId = MyDatabaseId;
			msg.rc.relId = changed_relids[i];
			SendSharedInvalidMessages(&msg, 1);
		}
		nchanged = 0;
	}
	else if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PREPARE ||
			 event == XACT_EVENT_COMMIT)
		nchanged = 0;
}

/*
 * Statement trigger on both tables: tell every backend (and this one, at
 * its next command) to read them again.  The invalidation goes out at
 * commit, so nobody reads a change that may still roll back.
 */
Datum
sentiment_dictionary_changed(PG_FUNCTION_ARGS)
{
	TriggerData *trig = (TriggerData *) fcinfo->context;
	Oid			relid;
	bool		known = false;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("sentiment_dictionary_changed() may only be called as a trigger")));
	relid = RelationGetRelid(trig->tg_relation);
	CacheInvalidateRelcache(trig->tg_relation);

	if (!xact_callback_registered)
	{
		RegisterXactCallback(dictionary_xact_callback, NULL);
		xact_callback_registered = true;
	}
	for (int i = 0; i < nchanged; i++)
		known |= (changed_relids[i] == relid);
	if (!known && nchanged < lengthof(changed_relids))
		changed_relids[nchanged++] = relid;
	return PointerGetDatum(NULL);
}

/* Raise the user-facing error for an entry the analyser refuses. */
static void
check_error(sa_error err, const char *what)
{
	if (err == SA_ERR_NOMEM)
		sp_analyzer_error(err, what);
}

/*
 * CHECK of sentiment_lexicon_overrides: the term must be one the analyser
 * can match (it applies the entry to a scratch lexicon), the valence finite
 * and within +-1000; NULL valence removes the term.  Raises a clear error
 * instead of returning false, so the user learns what is wrong.
 */
Datum
sentiment_lexicon_entry_check(PG_FUNCTION_ARGS)
{
	text	   *term;
	char	   *s;
	int			len;
	double		valence = 0.0;
	sa_error	err;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("term must not be null"),
				 errhint("Give the word the override is for.")));
	term = PG_GETARG_TEXT_PP(0);
	s = pg_server_to_any(VARDATA_ANY(term), VARSIZE_ANY_EXHDR(term), PG_UTF8);
	len = (s == VARDATA_ANY(term)) ? VARSIZE_ANY_EXHDR(term) : (int) strlen(s);

	if (!PG_ARGISNULL(1))
	{
		valence = PG_GETARG_FLOAT8(1);
		if (!isfinite(valence) || fabs(valence) > VALENCE_MAX)
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("valence %g is out of range", valence),
					 errdetail("A valence must be finite and between %g and %g.", -VALENCE_MAX, VALENCE_MAX),
					 errhint("VADER's own words lie between -4 and +4; NULL removes the term.")));
	}
	if (len == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("term must not be empty"),
				 errhint("Give the word the override is for.")));
	if (len > TERM_MAX_BYTES)
		ereport(ERROR,
				(errcode(ERRCODE_STRING_DATA_RIGHT_TRUNCATION),
				 errmsg("term is too long"),
				 errdetail("A term has at most %d bytes; this one has %d.", TERM_MAX_BYTES, len),
				 errhint("Terms are single words or emoticons.")));

	if (check_lexicon == NULL)
	{
		err = sa_lexicon_create(&check_lexicon);
		if (err != SA_OK)
		{
			check_lexicon = NULL;
			sp_analyzer_error(err, "checking a lexicon override");
		}
	}
	/* A removal obeys the same rules: a term no token can match is a typo. */
	err = sa_lexicon_set(check_lexicon, s, len, valence);
	check_error(err, "checking a lexicon override");
	if (err != SA_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("term \"%s\" can never match a word of a text", text_to_cstring(term)),
				 errdetail("A term is one token: valid UTF-8, no white space, and no leading or trailing punctuation, which tokens lose."),
				 errhint("Write the bare word, for example sick rather than \"sick!\"; add one row per word.")));
	/* keep the scratch lexicon from growing with every write */
	(void) sa_lexicon_remove(check_lexicon, s, len);
	PG_RETURN_BOOL(true);
}

/*
 * CHECK of sentiment_topic_keywords: key and phrase as the analyser accepts
 * them (applied to a scratch dictionary), weight in (0, 1000].
 */
Datum
sentiment_topic_entry_check(PG_FUNCTION_ARGS)
{
	text	   *key_t,
			   *phrase_t;
	char	   *key,
			   *phrase;
	int			key_len,
				phrase_len;
	double		weight;
	sa_topics  *t;
	sa_error	err;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("topic_key, phrase and weight must not be null"),
				 errhint("Leave weight out for 1.")));
	key_t = PG_GETARG_TEXT_PP(0);
	phrase_t = PG_GETARG_TEXT_PP(1);
	weight = PG_GETARG_FLOAT8(2);

	if (!isfinite(weight) || weight <= 0.0 || weight > WEIGHT_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("topic weight %g is out of range", weight),
				 errdetail("A weight must be above 0 and at most %g.", WEIGHT_MAX),
				 errhint("Use 1 for an ordinary keyword, more for a stronger signal; delete the row to drop it.")));

	key = pg_server_to_any(VARDATA_ANY(key_t), VARSIZE_ANY_EXHDR(key_t), PG_UTF8);
	key_len = (key == VARDATA_ANY(key_t)) ? VARSIZE_ANY_EXHDR(key_t) : (int) strlen(key);
	phrase = pg_server_to_any(VARDATA_ANY(phrase_t), VARSIZE_ANY_EXHDR(phrase_t), PG_UTF8);
	phrase_len = (phrase == VARDATA_ANY(phrase_t)) ? VARSIZE_ANY_EXHDR(phrase_t) : (int) strlen(phrase);

	if (key_len == 0 || key_len > TOPIC_KEY_MAX_BYTES)
		ereport(ERROR,
				(errcode(key_len == 0 ? ERRCODE_INVALID_PARAMETER_VALUE : ERRCODE_STRING_DATA_RIGHT_TRUNCATION),
				 errmsg("topic key must have 1 to %d bytes", TOPIC_KEY_MAX_BYTES),
				 errdetail("This one has %d.", key_len),
				 errhint("Use a short name for the topic, such as billing.")));
	if (phrase_len == 0 || phrase_len > PHRASE_MAX_BYTES)
		ereport(ERROR,
				(errcode(phrase_len == 0 ? ERRCODE_INVALID_PARAMETER_VALUE : ERRCODE_STRING_DATA_RIGHT_TRUNCATION),
				 errmsg("topic phrase must have 1 to %d bytes", PHRASE_MAX_BYTES),
				 errdetail("This one has %d.", phrase_len),
				 errhint("Use a keyword or a short phrase of at most 16 words.")));

	err = sa_topics_create(&t);
	if (err != SA_OK)
		sp_analyzer_error(err, "checking a topic entry");
	/* the key alone first, with a phrase that is certainly valid */
	err = sa_topics_add(t, key, key_len, "x", 1, 1.0);
	if (err == SA_OK)
	{
		err = sa_topics_add(t, key, key_len, phrase, phrase_len, weight);
		sa_topics_destroy(t);
		check_error(err, "checking a topic entry");
		if (err != SA_OK)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("topic phrase \"%s\" can never match a text", text_to_cstring(phrase_t)),
					 errdetail("A phrase is valid UTF-8 with 1 to 16 words and no . , ; : ! ? between its words (matches never cross them)."),
					 errhint("Split a phrase with punctuation into separate rows.")));
	}
	else
	{
		sa_topics_destroy(t);
		check_error(err, "checking a topic entry");
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("topic key \"%s\" is not valid", text_to_cstring(key_t)),
				 errdetail("A topic key is valid UTF-8 without control characters."),
				 errhint("Use a short printable name, such as billing.")));
	}
	PG_RETURN_BOOL(true);
}
