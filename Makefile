# sentiment_proc: PGXS build of the server extension.
#
#   make                  build the analyser library, then the module
#   make install          install module and SQL scripts (as root or sudo)
#   make installcheck     regression, isolation and TAP suites, each on its own
#                         temporary instance preloaded with test/sentiment_proc.conf
#   make installcheck-regress | installcheck-isolation | installcheck-tap
#   make next-version NEXT=X.Y   start the next SQL version's parts
#
# Beside the build: mk/reliability.mk (make torture, installcheck-valgrind,
# installcheck-tap-valgrind) and mk/packaging.mk (make deb, dist, distcheck).
#
# The install script is built by concatenating sql/objects/*.sql in name
# order, so each part of the extension owns its own numbered file.

EXTENSION  = sentiment_proc
EXTVERSION := $(shell sed -n "s/^default_version *= *'\([^']*\)'.*/\1/p" $(EXTENSION).control)

MODULE_big = $(EXTENSION)
OBJS       = $(patsubst %.c,%.o,$(sort $(wildcard src/*.c)))
PGFILEDESC = "sentiment_proc - in-database sentiment processing"

ANALYZER_DIR = src/analyzer
ANALYZER_LIB = $(ANALYZER_DIR)/libsaanalyzer.a
ICU_LIBS    := $(shell pkg-config --libs icu-uc 2>/dev/null || echo -licuuc -licudata)

PG_CPPFLAGS = -I$(srcdir)/src -I$(srcdir)/$(ANALYZER_DIR)
PG_CFLAGS   = -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers -Wno-sign-compare
# WERROR=1 turns warnings into errors (the test scripts build this way on every
# major; a user's build against a newer compiler should not stop on a warning).
ifeq ($(WERROR),1)
PG_CFLAGS  += -Werror
endif
SHLIB_LINK  = $(ANALYZER_LIB) $(ICU_LIBS) -lm

# Versions (the upgrade path is walked by test/sql/upgrade.sql):
# - the current version's install script is built from sql/objects/*.sql;
# - released versions are frozen, committed scripts (sql/sentiment_proc--1.0.sql,
#   --1.1.sql, --1.2.sql, --1.0--1.1.sql and --1.1--1.2.sql); PostgreSQL chains
#   1.0 -> 1.1 -> 1.2 -> current;
# - the upgrade script from the previous version is built from its hand-written
#   part, sql/upgrade/PREV--CUR.sql (changes to objects PREV already had: ALTER,
#   CREATE OR REPLACE, DROP), followed by the object files new since PREV
#   (NEW_OBJECTS).  Changing an object file that PREV already had needs a
#   matching line in the hand-written part, or the upgrade test fails; for a
#   changed function that line is "-- replace function: NAME" (for a view
#   "-- replace view: NAME"), which tools/upgrade-script.awk expands into
#   its current definition.
PREV_VERSION   = 1.2
NEW_OBJECTS    = sql/objects/42_language.sql sql/objects/67_embedding_lane.sql sql/objects/85_languages.sql
EXT_SCRIPT     = sql/$(EXTENSION)--$(EXTVERSION).sql
UPGRADE_SCRIPT = sql/$(EXTENSION)--$(PREV_VERSION)--$(EXTVERSION).sql
UPGRADE_PART   = sql/upgrade/$(PREV_VERSION)--$(EXTVERSION).sql
DATA_built     = $(EXT_SCRIPT) $(UPGRADE_SCRIPT)
DATA           = $(filter-out $(DATA_built),$(wildcard sql/$(EXTENSION)--*.sql))
SQL_OBJECTS    = $(sort $(wildcard sql/objects/*.sql))

# Each suite runs on its own temporary instance (initdb refuses root: run
# these as an unprivileged user, see scripts/test-server.sh).
TEST_CONF      = --temp-config=$(srcdir)/test/$(EXTENSION).conf
# Regression tests by feature, in the order they run: they share one database,
# so install (creates the extension) comes first and attach (creates
# sentiment_data, used by process, errors, privileges and similar) second;
# monitoring, security, security_superuser and upgrade make databases of their own.  Shared helpers are in
# test/sql/helpers/ (loaded with \i).
REGRESS        = install attach adopt process errors analyze privileges hostile_names \
                 bad_input dictionary_input roles retry blame claim claim_lease claim_queue foreign_claims partitioned queue dictionary similar models multilingual \
                 monitoring registry_cleanup dba security security_view security_tenants security_superuser security_partd security_claim upgrade
REGRESS_OPTS   = --inputdir=test --outputdir=test --temp-instance=test/tmp_check_regress $(TEST_CONF)
ISOLATION      = $(basename $(notdir $(sort $(wildcard test/specs/*.spec))))
ISOLATION_OPTS = --inputdir=test --outputdir=test/output_iso --temp-instance=test/tmp_check_iso $(TEST_CONF)
TAP_TESTS      = 1
PROVE_TESTS    = $(sort $(wildcard test/t/*.pl))
EXTRA_CLEAN    = test/tmp_check_regress test/tmp_check_iso test/output_iso test/results \
                 test/regression.diffs test/regression.out

PG_CONFIG ?= pg_config
# Supported majors: 15 to 18 (their API differences are in src/compat.h).
# Stop at once, with one message, on any other.
PG_MAJOR := $(shell $(PG_CONFIG) --version | sed -n 's/^PostgreSQL \([0-9]*\).*/\1/p')
ifeq ($(filter 15 16 17 18,$(PG_MAJOR)),)
$(error sentiment_proc supports PostgreSQL 15, 16, 17 and 18; $(PG_CONFIG) is $(shell $(PG_CONFIG) --version))
endif
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

$(EXT_SCRIPT): $(SQL_OBJECTS) $(EXTENSION).control
	cat $(SQL_OBJECTS) > $@

$(UPGRADE_SCRIPT): $(UPGRADE_PART) $(NEW_OBJECTS) $(SQL_OBJECTS) tools/upgrade-script.awk $(EXTENSION).control
	{ awk -v part=$(UPGRADE_PART) -f tools/upgrade-script.awk $(SQL_OBJECTS) $(UPGRADE_PART) && \
	  cat $(NEW_OBJECTS) /dev/null; } > $@.tmp && mv $@.tmp $@

# The analyser is its own project with its own Makefile; always ask it
# whether it is up to date, and relink the module when it changed.
.PHONY: analyzer
analyzer:
	$(MAKE) -C $(ANALYZER_DIR) lib

$(ANALYZER_LIB): analyzer
$(OBJS): $(srcdir)/src/sentiment_proc.h $(srcdir)/src/compat.h $(ANALYZER_DIR)/analyzer.h | analyzer
$(shlib): $(ANALYZER_LIB)

# Start the next SQL version: make next-version NEXT=X.Y (docs/development.md,
# "Cutting a version").
.PHONY: next-version
next-version:
	tools/new-version.sh $(NEXT)

.PHONY: installcheck-regress installcheck-isolation installcheck-tap
installcheck-regress: submake $(REGRESS_PREP)
	$(pg_regress_installcheck) $(REGRESS_OPTS) $(REGRESS)

installcheck-isolation: submake
	$(pg_isolation_regress_installcheck) $(ISOLATION_OPTS) $(ISOLATION)

installcheck-tap:
	$(prove_installcheck)

# Beside the build, in included makefiles: the reliability suite (make
# torture, installcheck-valgrind, installcheck-tap-valgrind, print-regress)
# and packaging (make deb, dist, distcheck).  -include: scripts/test-deb.sh
# runs the regression suite from a copy holding this Makefile alone.
-include mk/reliability.mk mk/packaging.mk
