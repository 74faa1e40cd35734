# lexicon.mk - generated/lexicon_data.c from the pinned npm packages.
#
# tools/lexicon.deps pins vader-sentiment (the VADER word lexicon) and
# unicode-emoji (emoji descriptions) by version and sha512 integrity.
# tools/gen-lexicon.mjs downloads a missing tarball with `npm pack` into
# $(SP_CACHE_DIR), verifies it against the pin, and writes the C tables.
# With a warm cache no network is used.  Nothing downloaded is committed.

SA_REPO_ROOT := $(abspath $(dir $(lastword $(MAKEFILE_LIST)))../..)
# Without a HOME (some service accounts), keep the cache in the checkout.
SP_CACHE_DIR ?= $(if $(HOME),$(HOME)/.cache/sentiment_proc,$(SA_REPO_ROOT)/.cache/sentiment_proc)
LEXICON_DEPS := $(SA_REPO_ROOT)/tools/lexicon.deps
LEXICON_GEN  := $(SA_REPO_ROOT)/tools/gen-lexicon.mjs
NODE         ?= node

generated/lexicon_data.c: $(LEXICON_DEPS) $(LEXICON_GEN)
	@command -v $(NODE) >/dev/null || { echo "lexicon: node is required (scripts/deps.sh installs it)" >&2; exit 1; }
	@mkdir -p generated
	$(NODE) $(LEXICON_GEN) --deps $(LEXICON_DEPS) --cache $(SP_CACHE_DIR) --out $@

generated/lexicon_data.o: lexicon_internal.h analyzer.h

lexicon: generated/lexicon_data.c
