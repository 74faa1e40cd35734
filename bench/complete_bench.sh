#!/usr/bin/env bash
# The two-phase write: sentiment_complete of 1,000 claimed rows (each with a
# topic and an embedding) and sentiment_fail of 1,000 claimed rows, on a
# table whose statistics were taken while no row was 'processing' (as after
# an ANALYZE between claims: the planner then expects next to no claimed
# rows).  Each call is timed in the server (clock_timestamp around it), REPS
# times; the median, the fastest and the slowest are printed (on a shared
# machine the fastest is the least disturbed).  On a private temporary
# instance (scripts/lib/tempdb.sh), built from this checkout.
#
#   bench/complete_bench.sh [ROWS [REPS]]   (ROWS in the table: default 200000; REPS: default 5)
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${1:-200000}
REPS=${2:-5}
BATCH=1000
[ "$ROWS" -ge $((2 * REPS * BATCH)) ] || { echo "ROWS must be at least $((2 * REPS * BATCH))" >&2; exit 2; }

. scripts/lib/tempdb.sh
trap 'tempdb_stop' EXIT

echo "== PostgreSQL $(pg_major) ($PG_CONFIG): build and install"
use_build_dir
build_and_install
tempdb_start "autovacuum = off"

echo "== load $ROWS rows, statistics with none 'processing'"
psql_q -v rows="$ROWS" <<'SQL' >/dev/null
CREATE EXTENSION sentiment_proc;
CREATE TABLE bench_t (entry_id bigint PRIMARY KEY, text text NOT NULL);
SELECT sentiment_attach('bench_t', topics_table => 'bench_t_topics', embeddings_table => 'bench_t_embeddings');
INSERT INTO bench_t (entry_id, text) SELECT g, 'mention ' || g || ' #tech' FROM generate_series(1::bigint, :rows) g;
VACUUM ANALYZE bench_t;
SQL

# one timed call per repetition, in the server
psql_v -q -v reps="$REPS" -v batch="$BATCH" <<'SQL' >"$TEMPDB_DIR/times"
SET bench.reps = :'reps';
SET bench.batch = :'batch';
CREATE TEMP TABLE times (what text, ms float8);
DO $$
DECLARE
	v_results jsonb;
	v_ids bigint[];
	v_t0 timestamptz;
	v_n bigint;
	v_emb jsonb := (SELECT jsonb_agg(0.0625) FROM generate_series(1, sentiment_embedding_dims()));
BEGIN
	FOR i IN 1 .. current_setting('bench.reps')::int LOOP
		SELECT jsonb_agg(jsonb_build_object('id', c.id, 'version', c.version, 'sentiment_label', 'positive',
				'sentiment_score', 0.5, 'emotion_label', 'joy', 'emotion_score', 0.5, 'influence_weight', 1,
				'topics', jsonb_build_array('tech'), 'embedding', v_emb))
		  INTO v_results
		  FROM sentiment_claim(current_setting('bench.batch')::int, '10 minutes', 'bench_t') c;
		v_t0 := clock_timestamp();
		SELECT count(*) FILTER (WHERE completed) INTO v_n FROM sentiment_complete('bench_t', v_results);
		INSERT INTO times VALUES ('complete', 1000 * extract(epoch FROM clock_timestamp() - v_t0));
		IF v_n <> current_setting('bench.batch')::int THEN
			RAISE EXCEPTION 'completed % rows, not %', v_n, current_setting('bench.batch');
		END IF;

		SELECT array_agg(c.id) INTO v_ids
		  FROM sentiment_claim(current_setting('bench.batch')::int, '10 minutes', 'bench_t') c;
		v_t0 := clock_timestamp();
		v_n := sentiment_fail('bench_t', v_ids, 'bench failure', retry => false);
		INSERT INTO times VALUES ('fail', 1000 * extract(epoch FROM clock_timestamp() - v_t0));
		IF v_n <> current_setting('bench.batch')::int THEN
			RAISE EXCEPTION 'failed % rows, not %', v_n, current_setting('bench.batch');
		END IF;
	END LOOP;
END
$$;
SELECT what, round(percentile_disc(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 1),
	   round(min(ms)::numeric, 1), round(max(ms)::numeric, 1) FROM times GROUP BY what ORDER BY what;
SQL
echo "   load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs"
echo "== $REPS calls of $BATCH rows each, milliseconds per call (median, fastest, slowest)"
tr '|' ' ' <"$TEMPDB_DIR/times" |
	awk '{ printf "sentiment_%-9s %d rows: median %8.1f ms, fastest %8.1f ms, slowest %8.1f ms\n", $1, '"$BATCH"', $2, $3, $4 }'
