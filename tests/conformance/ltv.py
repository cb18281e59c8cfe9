#!/usr/bin/env python3
"""tests/conformance/ltv.py - long-term validation (issue #20) through `bin/kensho verify`.

The inputs are made by tests/test_ltv.c (`test_ltv --emit DIR`: CAdES
signatures from the test PKI's TSA with an injected clock, ES-X-L and ES-A
forms, SHA-1 signatures) and the times it names (validation times, sunset
dates); nothing is fetched from elsewhere.  Each row names the signature,
the configuration, the validation time and the expected indication and
subindication; a row agrees when bin/kensho answers exactly that (exit 0
for TOTAL_PASSED, 1 TOTAL_FAILED, 2 INDETERMINATE).

Configurations (written here, from $PKI):
  ltv       the test PKI's anchors, intermediates and CRLs, revocation
            require, timestamp_anchors the test TSA's root;
  offline   no CRL files, every responder down (127.0.0.1:9), revocation
            require: only what the signature carries can help;
  sunset-later / sunset-earlier   ltv with algorithms.sunset.sha1 a day
            after / before the SHA-1 signatures' timestamp.
The last line is "N passed, M failed".
"""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import one_line, parallel, run_kensho, write_config  # noqa: E402

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
PKI = os.path.abspath(os.environ.get("PKI", os.path.join(ROOT, "build", "pki")))
TEST_LTV = os.environ.get("TEST_LTV", os.path.join(ROOT, os.environ.get("OUT", "build/rel"), "tests", "test_ltv"))

# (signature, configuration, validation time file, indication, subindication)
ROWS = [
    # ES-T: signature timestamps as proof of existence (past signature validation)
    ("ltv-revoked-nots", "ltv", "at", "INDETERMINATE", "REVOKED_NO_POE"),
    ("ltv-expired-nots", "ltv", "at", "INDETERMINATE", "OUT_OF_BOUNDS_NO_POE"),
    ("ltv-revoked-after-ts", "ltv", "at", "TOTAL_PASSED", None),
    ("ltv-revoked-before-ts", "ltv", "at", "TOTAL_FAILED", "REVOKED"),
    ("ltv-expired-since-ts", "ltv", "at", "TOTAL_PASSED", None),
    ("ltv-expired-before-ts", "ltv", "at", "TOTAL_FAILED", "EXPIRED"),
    ("ltv-expired-rogue-ts", "ltv", "at", "INDETERMINATE", "OUT_OF_BOUNDS_NO_POE"),
    ("ltv-revoked-tampered-ts", "ltv", "at", "INDETERMINATE", "REVOKED_NO_POE"),
    ("ltv-revoked-imprint-ts", "ltv", "at", "INDETERMINATE", "REVOKED_NO_POE"),
    ("ltv-revoked-two-ts", "ltv", "at", "TOTAL_PASSED", None),
    # ES-X-L with every responder down, revocation require
    ("ltv-xl", "offline", "at-xl", "TOTAL_PASSED", None),
    ("ltv-xl-none", "offline", "at-xl", "INDETERMINATE", "TRY_LATER"),
    ("ltv-xl-stale", "offline", "at-xl", "INDETERMINATE", "TRY_LATER"),
    ("ltv-xl-forged", "offline", "at-xl", "INDETERMINATE", "TRY_LATER"),
    # ES-A: the first TSA's certificate has expired since
    ("ltv-esa-none", "ltv", "at", "INDETERMINATE", "OUT_OF_BOUNDS_NO_POE"),
    ("ltv-esa", "ltv", "at", "TOTAL_PASSED", None),
    ("ltv-esa-imprint", "ltv", "at", "INDETERMINATE", "OUT_OF_BOUNDS_NO_POE"),
    ("ltv-esa-twice", "ltv", "at", "TOTAL_PASSED", None),
    ("ltv-esa-twice-late", "ltv", "at", "INDETERMINATE", "OUT_OF_BOUNDS_NO_POE"),
    # algorithms.sunset
    ("ltv-sha1-ts", "sunset-later", "at", "TOTAL_PASSED", None),
    ("ltv-sha1-ts", "sunset-earlier", "at", "INDETERMINATE", "CRYPTO_CONSTRAINTS_FAILURE"),
    ("ltv-sha1-ts", "ltv", "at", "INDETERMINATE", "CRYPTO_CONSTRAINTS_FAILURE"),
    ("ltv-sha1-nots", "sunset-later", "at", "INDETERMINATE", "CRYPTO_CONSTRAINTS_FAILURE"),
]

RC = {"TOTAL_PASSED": 0, "TOTAL_FAILED": 1, "INDETERMINATE": 2}


def pki(*p):
    return os.path.join(PKI, *p)


def configs(tmp, d):
    crls = [pki(c + ".crl") for c in ("pref-ca", "pref-ca2", "jpki-bca", "gpki-bca", "ministry-ca")]
    base = {"trust_anchors": [pki("anchors")], "intermediates": [pki("intermediates")],
            "accept_policies": ["1.2.392.200149.8.5.1.1.20"], "timestamp_anchors": [pki("tsa-ca.pem")]}
    dead = "http://127.0.0.1:9"
    cfgs = {
        "ltv": dict(base, crls=crls),
        "offline": dict(base, revocation={"mode": "require", "allow_urls": [dead + "/"], "timeout_ms": 500},
                        revocation_sources=[
                            {"issuer": pki("pref-ca-self.pem"), "ocsp": dead + "/ocsp", "crl": [dead + "/pref-ca.crl"]},
                            {"issuer": pki("jpki-bca-self.pem"), "crl": [dead + "/jpki-bca.crl"]},
                            {"issuer": pki("gpki-bca-self.pem"), "crl": [dead + "/gpki-bca.crl"]},
                            {"issuer": pki("ministry-ca.pem"), "crl": [dead + "/ministry-ca.crl"]}]),
    }
    for which in ("later", "earlier"):
        cfgs["sunset-" + which] = dict(base, crls=crls,
                                       algorithms={"sunset": {"sha1": read(d, "ltv-sunset-%s.txt" % which)}})
    paths = {}
    for name, cfg in cfgs.items():
        paths[name] = os.path.join(tmp, name + ".json")
        write_config(paths[name], cfg)
    return paths


def read(d, name):
    with open(os.path.join(d, name)) as f:
        return f.read().strip()


def main():
    with tempfile.TemporaryDirectory(prefix="ks-ltv-") as tmp:
        d = os.path.join(tmp, "in")
        os.mkdir(d)
        env = dict(os.environ, PKI=PKI)
        p = subprocess.run([TEST_LTV, "--emit", d], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=300)
        if p.returncode != 0:
            print("FAIL: %s --emit: %s" % (TEST_LTV, one_line(p.stderr.decode("utf-8", "replace"))))
            print("0 passed, %d failed" % len(ROWS))
            return 1
        paths = configs(tmp, d)

        def one(row):
            sig, cfg, atf, ind, sub = row
            out = run_kensho(["verify", "--signature", os.path.join(d, sig + ".p7m"),
                              "--at", read(d, "ltv-%s.txt" % atf)], paths[cfg])
            ok = out.rc == RC[ind] and out.indication == ind and out.sub == sub
            return ok, "%s [%s]: want %s/%s, got %s (%s)" % (sig, cfg, ind, sub, out.describe(), one_line(out.detail))

        results = parallel(one, ROWS)
    failed = [msg for ok, msg in results if not ok]
    for msg in failed:
        print("DISAGREE " + msg)
    passed = len(ROWS) - len(failed)
    print("LTV agreement: %d / %d" % (passed, len(ROWS)))
    print("%d passed, %d failed" % (passed, len(failed)))
    return 0 if not failed else 1


if __name__ == "__main__":
    sys.exit(main())
