# tests/www/www.mk - `make test-www`: the citizens' page (www/) end to end in
# headless Chromium against kensho-fcgi + nginx on 127.0.0.1
# (tests/test_www.sh; screenshots in build/www-artifacts/).  `make test`
# runs the same script through tests/run.sh.  KS_SKIP_BROWSER=1 skips it.
.PHONY: test-www
test-www: $(BINS) build/pki/.done
	KENSHO=$(abspath $(BIN)/kensho) PKI=$(abspath build/pki) OUT=$(OUT) bash tests/test_www.sh
