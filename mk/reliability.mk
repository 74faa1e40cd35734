# mk/reliability.mk - the reliability suite, included by the Makefile (which
# defines REGRESS, PROVE_TESTS and the PGXS rules these targets call).
#
# make torture                 test/t/090_torture.pl at TORTURE_ROWS (1000000)
# make installcheck-valgrind   the regression suite with the temporary
#                              instance's postgres under valgrind (slow)
# make installcheck-tap-valgrind [PROVE_TESTS=...]
#                              the TAP tests (all by default) with every
#                              node's postgres under valgrind (very slow)
# Both build, install and, as root, run as user postgres on a copy of the tree
# (scripts/as-postgres.sh).
TORTURE_ROWS ?= 1000000
.PHONY: torture torture-run installcheck-valgrind installcheck-valgrind-run
torture:
	scripts/as-postgres.sh torture-run TORTURE_ROWS=$(TORTURE_ROWS)
torture-run:
	SP_TORTURE_ROWS=$(TORTURE_ROWS) $(MAKE) installcheck-tap PROVE_TESTS=test/t/090_torture.pl PROVE_FLAGS=--verbose

installcheck-valgrind:
	scripts/as-postgres.sh installcheck-valgrind-run
installcheck-valgrind-run:
	test/valgrind.sh $(REGRESS)

.PHONY: installcheck-tap-valgrind installcheck-tap-valgrind-run
installcheck-tap-valgrind:
	scripts/as-postgres.sh installcheck-tap-valgrind-run PROVE_TESTS="$(PROVE_TESTS)"
installcheck-tap-valgrind-run:
	PROVE_FLAGS="$(PROVE_FLAGS)" test/valgrind.sh --tap $(PROVE_TESTS)

# The regression tests in order, for test/valgrind.sh.
.PHONY: print-regress
print-regress:
	@echo $(REGRESS)
