# tests/conformance/conformance.mk - `make conformance`: NIST PKITS, the
# shared CMS vectors and x509-limbo through bin/kensho (tests/conformance/).
# KS_PKITS_REVOCATION / KS_LIMBO_REVOCATION = require|off pin the revocation
# mode (default: require when it works), KS_JOBS the parallelism (default 2).
.PHONY: conformance
conformance: $(BIN)/kensho
	KENSHO=$(abspath $(BIN)/kensho) bash tests/conformance/run.sh
