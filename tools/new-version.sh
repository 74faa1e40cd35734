#!/usr/bin/env bash
# Start the next SQL version (make next-version NEXT=X.Y): freeze the current
# version's built scripts, point the control file, the Makefile, META.json,
# debian/changelog and sql/.gitignore at NEXT, and start the hand-written
# upgrade part sql/upgrade/CUR--NEXT.sql.  What it cannot do by itself (the
# upgrade test's walk, expected outputs, the changelog text) it lists at the
# end; docs/development.md has the whole checklist.
set -euo pipefail
cd "$(dirname "$0")/.."
next=${1:?usage: tools/new-version.sh X.Y}
[[ $next =~ ^[0-9]+\.[0-9]+$ ]] || { echo "new-version: '$next' is not of the form X.Y" >&2; exit 1; }
ext=sentiment_proc
cur=$(sed -n "s/^default_version *= *'\([^']*\)'.*/\1/p" $ext.control)
prev=$(sed -n 's/^PREV_VERSION *= *//p' Makefile)
[ "$next" != "$cur" ] || { echo "new-version: $cur is already the current version" >&2; exit 1; }
[ -z "$(git status --porcelain)" ] || { echo "new-version: commit or stash your changes first" >&2; exit 1; }

# The current version is released: its scripts become frozen, committed files.
make -s "sql/$ext--$cur.sql" "sql/$ext--$prev--$cur.sql"
git add -f "sql/$ext--$cur.sql" "sql/$ext--$prev--$cur.sql"
git rm -q "sql/upgrade/$prev--$cur.sql"

sed -i "s/^default_version = '$cur'/default_version = '$next'/" $ext.control
sed -i "s/^PREV_VERSION *= .*/PREV_VERSION   = $cur/; s/^NEW_OBJECTS *=.*/NEW_OBJECTS    =/" Makefile
# continuation lines of the old NEW_OBJECTS list go with it
awk 'prev_cont && /^[ \t]+sql\/objects\// { prev_cont = /\\$/; next } { prev_cont = 0; print }' Makefile >Makefile.tmp &&
	mv Makefile.tmp Makefile
printf '%s\n' "# The current version's install script and its upgrade script from the" \
	"# previous version are built by the Makefile (see the Makefile's Versions" \
	"# note); released versions' scripts are frozen and committed." \
	"/$ext--$next.sql" "/$ext--$cur--$next.sql" >sql/.gitignore
mkdir -p sql/upgrade
cat >"sql/upgrade/$cur--$next.sql" <<PART
-- $ext $cur -> $next, hand-written part.  The Makefile builds
-- sql/$ext--$cur--$next.sql from this file followed by the object
-- files new in $next (NEW_OBJECTS).
--
-- Put here every change to an object that $cur already had (ALTER TABLE,
-- CREATE OR REPLACE FUNCTION, DROP ...), in the order it must run.  A
-- changed function is one line "-- replace function: NAME" that
-- tools/upgrade-script.awk expands into its current definition.

\\echo Use "ALTER EXTENSION $ext UPDATE TO '$next'" to load this file. \\quit
PART
sed -i "s/\"version\": \"$cur.0\"/\"version\": \"$next.0\"/g" META.json
{ printf 'sentiment-proc (%s-1) unstable; urgency=medium\n\n  * Extension version %s (in development).\n\n -- %s  %s\n\n' \
	"$next" "$next" "$(sed -n 's/^ -- \(.*>\)  .*/\1/p' debian/changelog | head -1)" "$(date -R)"
  cat debian/changelog; } >debian/changelog.tmp && mv debian/changelog.tmp debian/changelog
git add -A Makefile $ext.control META.json debian/changelog sql

cat <<DONE
new-version: $cur frozen, $next started (nothing committed yet). Still to do by hand:
  - test/sql/upgrade.sql: walk '$cur' too (walk() call and the VALUES lists of routes);
  - test/expected/install.out and upgrade.out: the new version number and walk;
  - grep -rn "'$cur'" test/t docs: tests and docs that name the current version;
  - CHANGELOG.md: a "$next (unreleased)" heading;
  - run the regression tests install and upgrade, then commit.
DONE
