# tests/soak/soak.mk - `make soak [SOAK_SECONDS=60] [SOAK_SAN_SECONDS=20]`:
# tests/soak/soak.sh, wrk at 64 connections against the release
# kensho-fcgi (zero 5xx, stable RSS), then the same traffic at a lower rate
# against the SAN=1 build under LeakSanitizer.  Not part of `make test`
# (tests/test_soak.sh runs a 5-second version of the first part there).
SOAK_SECONDS ?= 60
.PHONY: soak
soak: $(BINS) build/pki/.done build/pki/xml/.done
	$(MAKE) --no-print-directory SAN=1 build/san/bin/kensho-fcgi
	KENSHO=$(abspath $(BIN)/kensho) PKI=$(abspath build/pki) SOAK_SECONDS=$(SOAK_SECONDS) \
	    SOAK_SAN_FCGI=$(abspath build/san/bin/kensho-fcgi) bash tests/soak/soak.sh
