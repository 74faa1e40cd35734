#!/usr/bin/env bash
# check-function-length.sh - no function over 120 lines in src/ (C, the
# analyser included) and sql/objects/ (SQL and PL/pgSQL function bodies).
#
#   tools/check-function-length.sh            check the tree (the test command runs this)
#   tools/check-function-length.sh FILE...    check these files (.c/.h or .sql)
#
# A function's length is the line of its end minus the line of its name:
# in C from the line starting with its name (pgindent style, the type on the
# line above) to its closing brace in column 0; in SQL from CREATE FUNCTION
# (or PROCEDURE) to the dollar quote that closes its body.  Prints each
# function over the limit as FILE:LINE: NAME is N lines, and ends with
# "function-length: N passed, N failed"; exits 1 when one is over.  Before
# the tree it checks itself on generated files (a function one line over
# the limit must fail, one at it pass), so a broken checker cannot pass
# everything.
set -uo pipefail
cd "$(dirname "$0")/.."

MAX=120

# Known exceptions, by function name: long functions that other work splits
# (issue #23 split the last ones). They are reported but do not fail the
# check; one within the limit again fails it, so that this list only
# shrinks.
KNOWN_LONG=""

# Print "FILE LINE NAME LENGTH" for every function of the files given.
lengths() {
	awk '
	FNR == 1 { name = ""; infn = 0; insql = 0 }
	# ---- C: the name at column 0, no ";" before a column-0 "{" ----
	FILENAME ~ /\.[ch]$/ {
		if (infn) {
			if ($0 ~ /^}/) { print FILENAME, start, name, FNR - start; infn = 0; name = "" }
			next
		}
		if (match($0, /^[A-Za-z_][A-Za-z0-9_]*\(/)) {
			name = substr($0, 1, RLENGTH - 1); start = FNR
			if ($0 ~ /;/) name = ""
			next
		}
		if (name != "" && $0 ~ /^\{/) { infn = 1; next }
		if (name != "" && $0 ~ /;/) name = ""
		next
	}
	# ---- SQL: CREATE FUNCTION name ... AS $tag$ ... $tag$ ----
	FILENAME ~ /\.sql$/ {
		line = $0
		if (!insql && match(line, /^[ \t]*CREATE[ \t]+(OR[ \t]+REPLACE[ \t]+)?(FUNCTION|PROCEDURE)[ \t]+/)) {
			rest = substr(line, RLENGTH + 1)
			sub(/\(.*/, "", rest); sub(/^@extschema@\./, "", rest)
			name = rest; start = FNR; insql = 1; tag = ""
		}
		if (!insql) next
		if (tag == "") {
			# the body opens at the first dollar quote after the name
			if (!match(line, /\$[A-Za-z_]*\$/)) {
				if (line ~ /;[ \t]*$/) insql = 0	# a body in quotes (C functions)
				next
			}
			tag = substr(line, RSTART, RLENGTH)
			line = substr(line, RSTART + RLENGTH)
		}
		if (index(line, tag)) { print FILENAME, start, name, FNR - start; insql = 0 }
	}' "$@"
}

# Check files: report, count, return 1 when one is over the limit.
check() {
	lengths "$@" | awk -v max="$MAX" -v known="$KNOWN_LONG" '
	BEGIN { n = split(known, k, " "); for (i = 1; i <= n; i++) exc[k[i]] = 1 }
	{
		if ($3 in exc) {
			if ($4 > max) { printf "%s:%d: %s is %d lines (known exception)\n", $1, $2, $3, $4; skipped++; next }
		}
		if ($4 > max) { printf "%s:%d: %s is %d lines, at most %d\n", $1, $2, $3, $4, max; failed++ }
		else passed++
	}
	END {
		printf "function-length: %d passed, %d failed", passed, failed
		if (skipped) printf " (%d known exceptions in tools/check-function-length.sh)", skipped
		printf "\n"
		exit failed > 0
	}'
}

# Known exceptions within the limit again: say so and fail (the list shrinks).
stale() {
	local status=0 f
	for f in $KNOWN_LONG; do
		if ! lengths "$@" | awk -v f="$f" -v max="$MAX" '$3 == f && $4 > max { found = 1 } END { exit !found }'; then
			echo "tools/check-function-length.sh: $f is no longer over $MAX lines: remove it from KNOWN_LONG"
			status=1
		fi
	done
	return $status
}

self_test() {
	local dir ok=0
	dir=$(mktemp -d) || return 1
	{
		printf 'static int\nlong_fn(int a,\n\t\tint b)\n{\n'
		for i in $(seq 1 $((MAX - 3))); do printf '\ta += %d;\n' "$i"; done
		printf '\treturn a;\n}\n\nint\nfine_fn(void)\n{\n\treturn 0;\n}\n'
		printf 'static const int table[] = {\n\t1, 2,\n};\n'
	} >"$dir/a.c"
	{
		printf 'CREATE OR REPLACE FUNCTION @extschema@.long_sql(a int)\nRETURNS int\n'
		printf 'LANGUAGE plpgsql\nAS $body$\nBEGIN\n\tPERFORM format($$x$$);\n'
		for i in $(seq 1 $((MAX - 8))); do printf '\ta := a + %d;\n' "$i"; done
		printf '\tRETURN a;\nEND\n$body$;\n'
		printf "CREATE FUNCTION c_fn() RETURNS int\nLANGUAGE C\nAS 'MODULE_PATHNAME', 'c_fn';\n"
		printf 'CREATE FUNCTION short_sql() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;\n'
	} >"$dir/b.sql"
	# long_fn is one line over the limit, long_sql at it
	[ "$(lengths "$dir/a.c" "$dir/b.sql" | awk '{ printf "%s=%s ", $3, $4 }')" = \
		"long_fn=$((MAX + 1)) fine_fn=3 long_sql=$MAX short_sql=0 " ] || ok=1
	check "$dir/a.c" >/dev/null 2>&1 && ok=1
	check "$dir/b.sql" >/dev/null 2>&1 || ok=1
	rm -rf "$dir"
	[ $ok = 0 ] || echo "tools/check-function-length.sh: the self-test failed (the checker is broken)"
	return $ok
}

if [ $# -gt 0 ]; then
	check "$@"
	exit
fi
self_test || { echo "function-length: 0 passed, 1 failed"; exit 1; }
mapfile -t files < <(find src sql/objects -name '*.[ch]' -o -name '*.sql' | grep -v '/generated/' | sort)
status=0
check "${files[@]}" || status=1
stale "${files[@]}" || status=1
exit $status
