# model.mk - the trained models (models/NAME.samodel) linked into the library.
#
# tools/gen-model.c (built with the host compiler) checks each file's
# header, layout and checksum and refuses a corrupt or mismatched one,
# stopping the build; it then writes generated/model_NAME.c (the parsed
# header) and generated/model_NAME_file.S (the file's bytes, .incbin).
# The classes and lanes below are what the C code expects of each model.

MODELS_DIR := $(SA_REPO_ROOT)/models
GEN_MODEL  := generated/gen-model
HOST_CC    ?= $(CC)
MODEL_NAMES := social emotion language multilingual
CLASSES_social  := negative,neutral,positive
LANES_social    := 4
CLASSES_emotion := neutral,anger,disgust,fear,joy,sadness,surprise
LANES_emotion   := 8
CLASSES_language := de,en,es,fr,hi,it,pt
LANES_language   := 8
CLASSES_multilingual := negative,neutral,positive
LANES_multilingual   := 4

MODEL_SRCS := $(foreach m,$(MODEL_NAMES),generated/model_$(m).c generated/model_$(m)_file.S)

$(GEN_MODEL): $(SA_REPO_ROOT)/tools/gen-model.c
	@mkdir -p generated
	$(HOST_CC) -O1 -g -std=gnu11 -Wall -Wextra -Werror -o $@ $<

generated/model_%.c generated/model_%_file.S: $(MODELS_DIR)/%.samodel $(GEN_MODEL)
	$(GEN_MODEL) $< $* "$(CLASSES_$*)" $(LANES_$*) generated/model_$*.c generated/model_$*_file.S

generated/model_%_file.o: generated/model_%_file.S $(MODELS_DIR)/%.samodel
	$(CC) -c -o $@ $<

generated/model_%.o: model_internal.h analysis_internal.h analyzer.h

models: $(MODEL_SRCS)

# The checker must refuse damaged files (tests/model_refusal.sh).
model-refusal: $(GEN_MODEL)
	@sh tests/model_refusal.sh $(GEN_MODEL) $(MODELS_DIR)

# Retrain into a scratch directory and compare with the committed files, byte
# for byte (needs the training packages, see README.md; not part of check).
models-reproduce:
	@tmp=$$(mktemp -d) && cd $(SA_REPO_ROOT) && \
	  /usr/bin/python3 tools/train_models.py --out-dir $$tmp && \
	  /usr/bin/python3 tools/train_multilingual.py --out-dir $$tmp --no-report && \
	  for m in $(MODEL_NAMES); do cmp $$tmp/$$m.samodel models/$$m.samodel || exit 1; done && \
	  rm -rf $$tmp && echo "models-reproduce: the trainer rewrites the committed models byte for byte"
