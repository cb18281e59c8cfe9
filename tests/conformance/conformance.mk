# tests/conformance/conformance.mk - `make conformance`: NIST PKITS, the
# shared CMS vectors, x509-limbo and the long-term validation rows
# (tests/conformance/ltv.py: CAdES from tests/test_ltv.c --emit, XAdES-T and -A
# from tests/test_xades.c --emit, XAdES-X-L and PDF document timestamps,
# B-LTA and DSS from build/pki/xml and build/pki/pdf) through bin/kensho
# (tests/conformance/).
# KS_PKITS_REVOCATION / KS_LIMBO_REVOCATION = require|off pin the revocation
# mode (default: require when it works), KS_JOBS the parallelism (default 2).
.PHONY: conformance
conformance: $(BIN)/kensho $(OUT)/tests/test_ltv $(OUT)/tests/test_xades build/pki/.done build/pki/xml/.done \
    build/pki/pdf/.done
	KENSHO=$(abspath $(BIN)/kensho) PKI=$(abspath build/pki) TEST_LTV=$(abspath $(OUT)/tests/test_ltv) \
	    TEST_XADES=$(abspath $(OUT)/tests/test_xades) \
	    bash tests/conformance/run.sh
