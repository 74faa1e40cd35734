# mk/packaging.mk - Debian package and PGXN release, included by the Makefile
# (which defines EXTENSION and EXTVERSION).
#
# make deb        Debian source package and postgresql-15-sentiment-proc .deb in
#                 build/deb/: dpkg-buildpackage (pg_buildext) on a git archive of
#                 HEAD; the lexicon comes from the build cache (DEB_CACHE, by
#                 default SP_CACHE_DIR or ~/.cache/sentiment_proc), fetched with
#                 npm when missing; DEB_CACHE= fetches afresh (docs/packaging.md)
# make dist       sentiment_proc-$(EXTVERSION).zip for PGXN: git archive of HEAD
# make distcheck  make dist, then check META.json and the archive
DEB_DIR      = build/deb
DEB_CACHE   := $(if $(SP_CACHE_DIR),$(SP_CACHE_DIR),$(HOME)/.cache/sentiment_proc)
DIST_ZIP     = $(EXTENSION)-$(EXTVERSION).zip

.PHONY: deb dist distcheck
deb:
	@v=$$(dpkg-parsechangelog -S Version) && case "$$v" in $(EXTVERSION)-*) ;; \
	  *) echo "deb: debian/changelog is at $$v, the control file at $(EXTVERSION)" >&2; exit 1;; esac
	rm -rf $(DEB_DIR)
	mkdir -p $(DEB_DIR)
	git archive --format=tar.gz --prefix=sentiment-proc-$(EXTVERSION)/ \
	  -o $(DEB_DIR)/sentiment-proc_$(EXTVERSION).orig.tar.gz HEAD
	tar -C $(DEB_DIR) -xzf $(DEB_DIR)/sentiment-proc_$(EXTVERSION).orig.tar.gz
	cd $(DEB_DIR)/sentiment-proc-$(EXTVERSION) && \
	  env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u MAKEOVERRIDES -u PG_CONFIG -u SP_CACHE_DIR \
	  $(if $(DEB_CACHE),SP_CACHE_DIR='$(DEB_CACHE)') dpkg-buildpackage -us -uc
	rm -rf $(DEB_DIR)/sentiment-proc-$(EXTVERSION)
	@ls -1 $(DEB_DIR)/*.deb

dist:
	git archive --format=zip --prefix=$(EXTENSION)-$(EXTVERSION)/ -o $(DIST_ZIP) HEAD
	@echo "dist: $(DIST_ZIP)"

distcheck: dist
	perl contrib/pgxn/check_dist.pl META.json $(EXTENSION).control $(DIST_ZIP)
