# language.mk - language identification and the multilingual model: the
# trainer's feature dumper (tools/dump-language.c, from the analyser's own
# language_scan.c and features.c) and the evaluation program the trainer
# runs on the built library (tools/eval-multilingual.c).

DUMP_LANG_SRCS := language_scan.c ml_lexicon.c features.c tokenize.c sentiment.c lexicon.c text.c $(GENERATED)
dump-language: $(SA_REPO_ROOT)/tools/dump-language.c $(DUMP_LANG_SRCS) analyzer.h $(wildcard *_internal.h)
	$(CC) $(CFLAGS) $(CPPFLAGS) -o $@ $< $(DUMP_LANG_SRCS) $(LDLIBS)

eval-multilingual: $(SA_REPO_ROOT)/tools/eval-multilingual.c $(LIB)
	$(CC) $(CFLAGS) $(CPPFLAGS) -o $@ $< $(LIB) $(LDLIBS)
