# tests/conformance/conformance.mk - `make conformance`: NIST PKITS, the
# shared CMS vectors, x509-limbo and the long-term validation rows
# (tests/conformance/ltv.py, inputs from tests/test_ltv.c --emit) through
# bin/kensho (tests/conformance/).
# KS_PKITS_REVOCATION / KS_LIMBO_REVOCATION = require|off pin the revocation
# mode (default: require when it works), KS_JOBS the parallelism (default 2).
.PHONY: conformance
conformance: $(BIN)/kensho $(OUT)/tests/test_ltv build/pki/.done
	KENSHO=$(abspath $(BIN)/kensho) PKI=$(abspath build/pki) TEST_LTV=$(abspath $(OUT)/tests/test_ltv) \
	    bash tests/conformance/run.sh
