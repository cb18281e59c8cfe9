#!/usr/bin/env python3
"""tests/conformance/cms.py - the shared CMS vectors through `bin/kensho verify`.

Rows of ../shared/cms/tests.tsv (RFC 4134 examples, two PKITS S/MIME
messages, Bouncy Castle signatures).  The configuration per mode:

  chain    the row's trust anchors, revocation off, the old algorithms
           (DSA/RSA-1024/SHA-1) allowed.
  pkits    the PKITS trust anchor plus the intermediates and CRLs of the
           PKITS row with the same number (pkits-smime-4.4.3 -> 4.4.3),
           revocation as for PKITS (KS_PKITS_REVOCATION, else require).
  sigonly  no anchor for these signers exists (an unrelated one is
           configured, since kensho needs one).  A good signature by an
           untrusted signer is INDETERMINATE/NO_CERTIFICATE_CHAIN_FOUND;
           that is what "valid" means here: every signer got past format,
           digest, signature value and algorithm checks (verify.c runs path
           validation only after those pass) and only trust is missing.
           Any other subindication (HASH_FAILURE, SIG_CRYPTO_FAILURE,
           FORMAT_FAILURE, ...) or an error exit counts as "invalid".

Agreement: valid = exit 0 TOTAL_PASSED (sigonly: as above); invalid = exit
1 or 2 with any other verdict; no-signers = exit 65 with KS_E_NO_SIGNERS.
The last line is "N passed, M failed".
"""
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import OLD_ALGORITHMS, SHARED, one_line, parallel, run_kensho, write_config  # noqa: E402

CMS = os.environ.get("CMS_DIR", os.path.join(SHARED, "cms"))
PKITS = os.environ.get("PKITS_DIR", os.path.join(os.path.dirname(CMS), "pkits"))
SIGONLY_ANCHOR = os.path.join(PKITS, "certs", "TrustAnchorRootCertificate.crt")
# The vectors' signing times: RFC 4134 (1999-2004 certificates) and the
# PKITS messages (2011) are checked at a time inside their validity.
AT = {"chain": "2003-06-01T00:00:00Z", "pkits": "2011-04-15T00:00:00Z", "sigonly": None}


# Why kensho disagrees with a row, where known (printed with the failure).
EXPLAINED = {
    "rfc4134-4.6": "the second signer's DSA key inherits its parameters (RFC 3279 2.3.2); OpenSSL cannot "
                   "decode it, and verify.c does not yet use path.c's parameter completion for the signature",
    "bc-rawsha256-nonull": "deliberately strict: a PKCS#1 v1.5 DigestInfo without NULL parameters is not the "
                           "RFC 8017 9.2 encoding; OpenSSL rejects it and so do we",
    "bc-pkcs7-signed-content": "PKCS#7 v1.5 content that is not an OCTET STRING (RFC 5652 5.2.1 compatibility "
                               "case); OpenSSL's CMS decoder rejects it",
}


def load_tsv(path):
    with open(path) as f:
        header = f.readline().rstrip("\n").split("\t")
        return [dict(zip(header, line.rstrip("\n").split("\t"))) for line in f if line.strip()]


def pkits_row(row_id):
    want = row_id.replace("pkits-smime-", "")
    for r in load_tsv(os.path.join(PKITS, "tests.tsv")):
        if r["id"] == want:
            return r
    return None


def config_for(row):
    mode = row["mode"]
    anchors = [os.path.normpath(os.path.join(CMS, a)) for a in row["trust_anchors"].split(",") if a]
    cfg = {"trust_anchors": anchors, "revocation": {"mode": "off"}, "algorithms": OLD_ALGORITHMS}
    if mode == "pkits":
        pr = pkits_row(row["id"])
        certs = [os.path.join(PKITS, c) for c in pr["certs"].split(",")]
        cfg["intermediates"] = certs[1:-1]
        cfg["crls"] = [os.path.join(PKITS, c) for c in pr["crls"].split(",") if c]
        cfg["accept_policies"] = pr["initial_policy_set"].split(",")
        cfg["revocation"] = {"mode": os.environ.get("KS_PKITS_REVOCATION") or "require"}
    elif mode == "sigonly":
        cfg["trust_anchors"] = [SIGONLY_ANCHOR]
    return cfg


def judge(row, out):
    mode = row["mode"]
    if row["expected"] == "no-signers":
        return "no-signers" if out.rc == 65 and out.error_code == "KS_E_NO_SIGNERS" else "other"
    if out.rc not in (0, 1, 2) or out.error_code:
        return "error"
    if mode == "sigonly":
        signers = out.verdict.get("signers") or []
        subs = [s.get("subindication") for s in signers]
        ok = out.rc == 2 and subs and all(s == "NO_CERTIFICATE_CHAIN_FOUND" for s in subs)
        return "valid" if ok else "invalid"
    return "valid" if out.passed else "invalid"


def run_row(tmp, row):
    cfg = config_for(row)
    path = os.path.join(tmp, "cms-%s.json" % row["id"])
    write_config(path, cfg)
    args = ["verify", "--signature", os.path.join(CMS, row["input"])]
    if row["detached_content"]:
        args += ["--content", os.path.join(CMS, row["detached_content"])]
    at = AT.get(row["mode"])
    if at:
        args += ["--at", at]
    out = run_kensho(args, path)
    return judge(row, out), out, cfg["revocation"]["mode"]


def main():
    rows = load_tsv(os.path.join(CMS, "tests.tsv"))
    if sys.argv[1:]:
        rows = [r for r in rows if r["id"] in sys.argv[1:]]
    with tempfile.TemporaryDirectory(prefix="ks-cms-") as tmp:
        results = parallel(lambda r: run_row(tmp, r), rows)
    passed = failed = 0
    for row, (got, out, rev) in zip(rows, results):
        if got == row["expected"]:
            passed += 1
            continue
        failed += 1
        signers = out.verdict.get("signers") or []
        per = "; ".join("signer %d: %s/%s %s" % (i, s.get("indication"), s.get("subindication"),
                                                  one_line(s.get("detail"), 80))
                        for i, s in enumerate(signers))
        print("FAIL: %s %s [%s, revocation %s]: expected %s, got %s (%s) %s%s" % (
            row["id"], row["name"], row["mode"], rev, row["expected"], got, out.describe(),
            one_line(out.detail), (" | " + per) if len(signers) > 1 else ""))
        if row["id"] in EXPLAINED:
            print("      why: " + EXPLAINED[row["id"]])
    print("CMS agreement: %d of %d rows" % (passed, len(rows)))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
