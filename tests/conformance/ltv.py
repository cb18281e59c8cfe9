#!/usr/bin/env python3
"""tests/conformance/ltv.py - long-term validation (issue #20) through `bin/kensho verify`.

The inputs are made by tests/test_ltv.c (`test_ltv --emit DIR`: CAdES
signatures from the test PKI's TSA with an injected clock, ES-X-L and ES-A
forms (archive-time-stamp v2 and v3), SHA-1 signatures) and the times it
names (validation times, sunset dates), by tests/test_xades.c (`test_xades
--emit DIR`: XAdES-T and XAdES-A e-Gov packages, xades-<row>.xml, and
xades-at.txt) and by the fixture scripts
(tests/pki/mkxml.sh: $PKI/xml/egov-xades/kousei-t.xml and kousei-xl.xml;
tests/pki/mkpdf.sh: $PKI/pdf/doc-ts*.pdf, sig-ts.pdf, b-lta.pdf,
dss-evidence.pdf, dss-vri*.pdf); nothing is fetched from elsewhere.  Each row names the
signature, the configuration, the validation time and the expected
indication and subindication; a row agrees when bin/kensho answers exactly
that (exit 0 for TOTAL_PASSED, 1 TOTAL_FAILED, 2 INDETERMINATE).

Configurations (written here, from $PKI):
  ltv       the test PKI's anchors, intermediates and CRLs (the TSA CA's
            too), revocation require, timestamp_anchors the test TSA's root;
  offline   no CRL files, every responder down (127.0.0.1:9, the TSA CA's
            too), revocation require: only what the signature carries can help;
  tsa-down  ltv with the signing CAs' CRLs only and the TSA CA's responder
            down: no TSA path has a status;
  sunset-later / sunset-earlier   ltv with algorithms.sunset.sha1 a day
            after / before the SHA-1 signatures' timestamp;
  offline-sunset-later / -earlier   offline with the same sunsets (the
            SHA-1 evidence rows: their archive timestamp lies between);
  noanchors ltv without timestamp_anchors (no TSA trusted);
  xl        anchors only, no intermediates, no CRL files, revocation
            require (prefer crl): an XAdES-X-L package's own values only;
  ts / off  revocation off, with / without timestamp_anchors (the PDF rows
            of tests/test_pdf.c).
Validation times: a file an --emit run wrote (its name without .txt), "now" (the current time:
the fixtures' timestamps are from the time they were made) or "expired"
(a day after citizen-rsa's notAfter, as tests/test_pdf.c's AT_EXPIRED).
The last line is "N passed, M failed".
"""
import datetime
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import one_line, parallel, run_kensho, write_config  # noqa: E402

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
PKI = os.path.abspath(os.environ.get("PKI", os.path.join(ROOT, "build", "pki")))
OUTDIR = os.path.join(ROOT, os.environ.get("OUT", "build/rel"), "tests")
TEST_LTV = os.environ.get("TEST_LTV", os.path.join(OUTDIR, "test_ltv"))
TEST_XADES = os.environ.get("TEST_XADES", os.path.join(OUTDIR, "test_xades"))

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
    # ES-C complete references beside the values: informational (a
    # mismatch is a warning), never a rescue for values that fail
    ("ltv-xl-refs", "offline", "at-xl", "TOTAL_PASSED", None),
    ("ltv-xl-refs-mismatch", "offline", "at-xl", "TOTAL_PASSED", None),
    ("ltv-xl-stale-refs", "offline", "at-xl", "INDETERMINATE", "TRY_LATER"),
    # the TSA's path has a status only from the values: without its answer
    # (responder down) the timestamp proves nothing (issue #20)
    ("ltv-xl-no-tsa", "offline", "at-xl", "INDETERMINATE", "TRY_LATER"),
    # revocation of TSA certificates (issue #20): revoked after genTime with
    # nothing newer, covered by an archive timestamp made before the
    # revocation, and a good TSA whose responder is down (require)
    ("ltv-tsa-revoked", "ltv", "at", "INDETERMINATE", "REVOKED_NO_POE"),
    ("ltv-tsa-revoked-covered", "ltv", "at", "TOTAL_PASSED", None),
    ("ltv-tsa-good", "ltv", "at", "TOTAL_PASSED", None),
    ("ltv-tsa-good", "tsa-down", "at", "INDETERMINATE", "REVOKED_NO_POE"),
    # ES-A: the first TSA's certificate has expired since
    ("ltv-esa-none", "ltv", "at", "INDETERMINATE", "OUT_OF_BOUNDS_NO_POE"),
    ("ltv-esa", "ltv", "at", "TOTAL_PASSED", None),
    ("ltv-esa-imprint", "ltv", "at", "INDETERMINATE", "OUT_OF_BOUNDS_NO_POE"),
    ("ltv-esa-twice", "ltv", "at", "TOTAL_PASSED", None),
    ("ltv-esa-twice-late", "ltv", "at", "INDETERMINATE", "OUT_OF_BOUNDS_NO_POE"),
    ("ltv-esa-v221", "ltv", "at", "TOTAL_PASSED", None),
    # ES-A v3 (archive-time-stamp-v3 with its ats-hash-index-v3): the same
    # signer and TSAs; a hostile index fails the archive timestamp, not the
    # signature, which is then judged without its proof
    ("ltv-esa3", "ltv", "at", "TOTAL_PASSED", None),
    ("ltv-esa3-index-tampered", "ltv", "at", "INDETERMINATE", "OUT_OF_BOUNDS_NO_POE"),
    ("ltv-esa3-index-extra", "ltv", "at", "INDETERMINATE", "OUT_OF_BOUNDS_NO_POE"),
    ("ltv-esa3-index-missing", "ltv", "at", "INDETERMINATE", "OUT_OF_BOUNDS_NO_POE"),
    ("ltv-esa3-index-malformed", "ltv", "at", "INDETERMINATE", "OUT_OF_BOUNDS_NO_POE"),
    ("ltv-esa3-index-alg", "ltv", "at", "INDETERMINATE", "OUT_OF_BOUNDS_NO_POE"),
    ("ltv-esa3-imprint", "ltv", "at", "INDETERMINATE", "OUT_OF_BOUNDS_NO_POE"),
    ("ltv-esa3-rogue", "ltv", "at", "INDETERMINATE", "OUT_OF_BOUNDS_NO_POE"),
    ("ltv-esa3-added-ts", "ltv", "at", "INDETERMINATE", "OUT_OF_BOUNDS_NO_POE"),
    ("ltv-esa3-added-values", "ltv", "at", "TOTAL_PASSED", None),
    ("ltv-esa3-twice", "ltv", "at", "TOTAL_PASSED", None),
    ("ltv-esa3-twice-late", "ltv", "at", "INDETERMINATE", "OUT_OF_BOUNDS_NO_POE"),
    ("ltv-esa3-after-v2", "ltv", "at", "TOTAL_PASSED", None),
    ("ltv-esa3-two-values", "ltv", "at", "INDETERMINATE", "OUT_OF_BOUNDS_NO_POE"),
    # algorithms.sunset
    ("ltv-sha1-ts", "sunset-later", "at", "TOTAL_PASSED", None),
    ("ltv-sha1-ts", "sunset-earlier", "at", "INDETERMINATE", "CRYPTO_CONSTRAINTS_FAILURE"),
    ("ltv-sha1-ts", "ltv", "at", "INDETERMINATE", "CRYPTO_CONSTRAINTS_FAILURE"),
    ("ltv-sha1-nots", "sunset-later", "at", "INDETERMINATE", "CRYPTO_CONSTRAINTS_FAILURE"),
    # evidence signed with SHA-1 (ES-X-L, every responder down): used at the
    # POE only when an archive timestamp over those very values proves them
    # older than the sunset; a signature timestamp covers no evidence
    ("ltv-ev-ocsp-v2", "offline-sunset-later", "at-xl", "TOTAL_PASSED", None),
    ("ltv-ev-ocsp-v3", "offline-sunset-later", "at-xl", "TOTAL_PASSED", None),
    ("ltv-ev-crl-v2", "offline-sunset-later", "at-xl", "TOTAL_PASSED", None),
    ("ltv-ev-ocsp-v2", "offline-sunset-earlier", "at-xl", "INDETERMINATE", "TRY_LATER"),
    ("ltv-ev-crl-v2", "offline-sunset-earlier", "at-xl", "INDETERMINATE", "TRY_LATER"),
    ("ltv-ev-ocsp-added-after-v3", "offline-sunset-later", "at-xl", "INDETERMINATE", "TRY_LATER"),
    ("ltv-ev-ocsp-ts-only", "offline-sunset-later", "at-xl", "INDETERMINATE", "TRY_LATER"),
    ("ltv-ev-ocsp-v2", "offline", "at-xl", "INDETERMINATE", "TRY_LATER"),
]
ROWS = [("ltv/%s.p7m" % sig, cfg, "ltv/ltv-" + at, ind, sub) for sig, cfg, at, ind, sub in ROWS]

# XAdES-T and -A (tests/test_xades.c's T and A rows) and XAdES-X-L (mkxml.sh); the
# packages' attachments are $PKI/xml/egov-xades/form1.xml and form2.pdf.
XADES_ROWS = [
    ("xades/xades-revoked-nots.xml", "ltv", "xades/xades-at", "INDETERMINATE", "REVOKED_NO_POE"),
    ("xades/xades-expired-nots.xml", "ltv", "xades/xades-at", "INDETERMINATE", "OUT_OF_BOUNDS_NO_POE"),
    ("xades/xades-expired-since-ts.xml", "ltv", "xades/xades-at", "TOTAL_PASSED", None),
    ("xades/xades-expired-after-ts-exc.xml", "ltv", "xades/xades-at", "TOTAL_PASSED", None),
    ("xades/xades-expired-after-ts-c14n.xml", "ltv", "xades/xades-at", "TOTAL_PASSED", None),
    ("xades/xades-expired-before-ts.xml", "ltv", "xades/xades-at", "INDETERMINATE", "OUT_OF_BOUNDS_NO_POE"),
    ("xades/xades-revoked-after-ts.xml", "ltv", "xades/xades-at", "TOTAL_PASSED", None),
    ("xades/xades-revoked-before-ts.xml", "ltv", "xades/xades-at", "TOTAL_FAILED", "REVOKED"),
    ("xades/xades-expired-rogue-ts.xml", "ltv", "xades/xades-at", "INDETERMINATE", "OUT_OF_BOUNDS_NO_POE"),
    ("xades/xades-revoked-rogue-ts.xml", "ltv", "xades/xades-at", "INDETERMINATE", "REVOKED_NO_POE"),
    ("xades/xades-revoked-noanchors.xml", "noanchors", "xades/xades-at", "INDETERMINATE", "REVOKED_NO_POE"),
    ("xades/xades-expired-tampered-ts.xml", "ltv", "xades/xades-at", "INDETERMINATE", "OUT_OF_BOUNDS_NO_POE"),
    ("xades/xades-revoked-tampered-ts.xml", "ltv", "xades/xades-at", "INDETERMINATE", "REVOKED_NO_POE"),
    ("xades/xades-revoked-imprint-text.xml", "ltv", "xades/xades-at", "INDETERMINATE", "REVOKED_NO_POE"),
    ("xades/xades-revoked-imprint-exc-declared-c14n.xml", "ltv", "xades/xades-at", "INDETERMINATE", "REVOKED_NO_POE"),
    ("xades/xades-revoked-imprint-c14n-declared-exc.xml", "ltv", "xades/xades-at", "INDETERMINATE", "REVOKED_NO_POE"),
    ("xades/xades-revoked-imprint-default-is-c14n.xml", "ltv", "xades/xades-at", "INDETERMINATE", "REVOKED_NO_POE"),
    ("xades/xades-revoked-bad-method.xml", "ltv", "xades/xades-at", "INDETERMINATE", "REVOKED_NO_POE"),
    ("xades/xades-revoked-two-ts.xml", "ltv", "xades/xades-at", "TOTAL_PASSED", None),
    # XAdES-A (tests/test_xades.c's A rows): tsa-old timestamped the
    # signature and has expired since; an xadesv141:ArchiveTimeStamp made
    # while it was valid keeps that proof, a bad or late one does not.
    ("xades/xades-a-none.xml", "ltv", "xades/xades-at", "INDETERMINATE", "OUT_OF_BOUNDS_NO_POE"),
    ("xades/xades-a-good.xml", "ltv", "xades/xades-at", "TOTAL_PASSED", None),
    ("xades/xades-a-good-exc.xml", "ltv", "xades/xades-at", "TOTAL_PASSED", None),
    ("xades/xades-a-ref-altered.xml", "ltv", "xades/xades-at", "INDETERMINATE", "OUT_OF_BOUNDS_NO_POE"),
    ("xades/xades-a-inserted.xml", "ltv", "xades/xades-at", "INDETERMINATE", "OUT_OF_BOUNDS_NO_POE"),
    ("xades/xades-a-tampered.xml", "ltv", "xades/xades-at", "INDETERMINATE", "OUT_OF_BOUNDS_NO_POE"),
    ("xades/xades-a-rogue.xml", "ltv", "xades/xades-at", "INDETERMINATE", "OUT_OF_BOUNDS_NO_POE"),
    ("xades/xades-a-good.xml", "noanchors", "xades/xades-at", "INDETERMINATE", "OUT_OF_BOUNDS_NO_POE"),
    ("xades/xades-a-late.xml", "ltv", "xades/xades-at", "INDETERMINATE", "OUT_OF_BOUNDS_NO_POE"),
    ("xades/xades-a-sts-after.xml", "ltv", "xades/xades-at", "INDETERMINATE", "OUT_OF_BOUNDS_NO_POE"),
    ("xades/xades-a-twice.xml", "ltv", "xades/xades-at", "TOTAL_PASSED", None),
    ("xades/xades-a-twice-late.xml", "ltv", "xades/xades-at", "INDETERMINATE", "OUT_OF_BOUNDS_NO_POE"),
    ("xades/xades-a-object.xml", "ltv", "xades/xades-at", "TOTAL_PASSED", None),
    ("xades/xades-a-object-added.xml", "ltv", "xades/xades-at", "INDETERMINATE", "OUT_OF_BOUNDS_NO_POE"),
    ("xades/xades-a-later-prop.xml", "ltv", "xades/xades-at", "TOTAL_PASSED", None),
    # X-L: its own certificates and CRLs complete the path; the -T form
    # without them has no path (no intermediates configured).
    ("pki/xml/egov-xades/kousei-xl.xml", "xl", "now", "TOTAL_PASSED", None),
    ("pki/xml/egov-xades/kousei-t.xml", "xl", "now", "INDETERMINATE", "NO_CERTIFICATE_CHAIN_FOUND"),
]

# PDF (tests/test_pdf.c's rows): document timestamps, a signature
# timestamp, B-LTA and the DSS as revocation evidence.
PDF_ROWS = [
    ("pki/pdf/doc-ts.pdf", "ts", "now", "TOTAL_PASSED", None),
    ("pki/pdf/doc-ts.pdf", "ts", "expired", "TOTAL_PASSED", None),
    ("pki/pdf/good-rsa.pdf", "ts", "expired", "INDETERMINATE", "OUT_OF_BOUNDS_NO_POE"),
    ("pki/pdf/doc-ts.pdf", "off", "now", "INDETERMINATE", "NO_CERTIFICATE_CHAIN_FOUND"),
    ("pki/pdf/doc-ts-rogue.pdf", "ts", "now", "INDETERMINATE", "NO_CERTIFICATE_CHAIN_FOUND"),
    ("pki/pdf/doc-ts-rogue.pdf", "ts", "expired", "INDETERMINATE", "OUT_OF_BOUNDS_NO_POE"),
    ("pki/pdf/doc-ts-tampered.pdf", "ts", "now", "TOTAL_FAILED", "SIG_CRYPTO_FAILURE"),
    ("pki/pdf/doc-ts-imprint.pdf", "ts", "now", "TOTAL_FAILED", "HASH_FAILURE"),
    ("pki/pdf/doc-ts-wrong-subfilter.pdf", "ts", "now", "INDETERMINATE", "FORMAT_FAILURE"),
    ("pki/pdf/doc-ts-wrong-subfilter.pdf", "ts", "expired", "INDETERMINATE", "OUT_OF_BOUNDS_NO_POE"),
    ("pki/pdf/sig-ts.pdf", "ts", "now", "TOTAL_PASSED", None),
    ("pki/pdf/sig-ts.pdf", "ts", "expired", "TOTAL_PASSED", None),
    ("pki/pdf/sig-ts.pdf", "off", "expired", "INDETERMINATE", "OUT_OF_BOUNDS_NO_POE"),
    ("pki/pdf/b-lta.pdf", "ts", "expired", "TOTAL_PASSED", None),
    ("pki/pdf/b-lta.pdf", "ts", "now", "TOTAL_PASSED", None),
    ("pki/pdf/dss-evidence.pdf", "offline", "now", "TOTAL_PASSED", None),
    # a day after the signer's certificate expired the document timestamp's
    # TSA needs a status for then, and the DSS's CRL of the TSA CA is stale:
    # no proof with the responders down (issue #20)
    ("pki/pdf/dss-evidence.pdf", "offline", "expired", "INDETERMINATE", "OUT_OF_BOUNDS_NO_POE"),
    # the DSS VRI index: the signer's evidence only in its VRI entry, or in
    # another signature's entry
    ("pki/pdf/dss-vri.pdf", "offline", "now", "TOTAL_PASSED", None),
    ("pki/pdf/dss-vri-other.pdf", "offline", "now", "INDETERMINATE", "TRY_LATER"),
    ("pki/pdf/b-lta.pdf", "offline", "now", "INDETERMINATE", "TRY_LATER"),
]

RC = {"TOTAL_PASSED": 0, "TOTAL_FAILED": 1, "INDETERMINATE": 2}


def pki(*p):
    return os.path.join(PKI, *p)


def configs(tmp, d):
    signing_crls = [pki(c + ".crl") for c in ("pref-ca", "pref-ca2", "jpki-bca", "gpki-bca", "ministry-ca")]
    crls = signing_crls + [pki("tsa-ca.crl")]  # TSA paths are checked for revocation too
    base = {"trust_anchors": [pki("anchors")], "intermediates": [pki("intermediates")],
            "accept_policies": ["1.2.392.200149.8.5.1.1.20"], "timestamp_anchors": [pki("tsa-ca.pem")]}
    dead = "http://127.0.0.1:9"
    cfgs = {
        "ltv": dict(base, crls=crls),
        "noanchors": {k: v for k, v in dict(base, crls=crls).items() if k != "timestamp_anchors"},
        "xl": {"trust_anchors": [pki("anchors")], "timestamp_anchors": [pki("tsa-ca.pem")],
               "accept_policies": base["accept_policies"], "revocation": {"mode": "require", "prefer": "crl"}},
        "ts": dict(base, revocation={"mode": "off"}),
        "off": {k: v for k, v in base.items() if k != "timestamp_anchors"} | {"revocation": {"mode": "off"}},
        "offline": dict(base, revocation={"mode": "require", "allow_urls": [dead + "/"], "timeout_ms": 500},
                        revocation_sources=[
                            {"issuer": pki("pref-ca-self.pem"), "ocsp": dead + "/ocsp", "crl": [dead + "/pref-ca.crl"]},
                            {"issuer": pki("jpki-bca-self.pem"), "crl": [dead + "/jpki-bca.crl"]},
                            {"issuer": pki("gpki-bca-self.pem"), "crl": [dead + "/gpki-bca.crl"]},
                            {"issuer": pki("ministry-ca.pem"), "crl": [dead + "/ministry-ca.crl"]},
                            {"issuer": pki("tsa-ca.pem"), "ocsp": dead + "/ocsp"}]),
        "tsa-down": dict(base, crls=signing_crls,
                         revocation={"mode": "require", "allow_urls": [dead + "/"], "timeout_ms": 500},
                         revocation_sources=[{"issuer": pki("tsa-ca.pem"), "ocsp": dead + "/ocsp"}]),
    }
    for which in ("later", "earlier"):
        cfgs["sunset-" + which] = dict(base, crls=crls,
                                       algorithms={"sunset": {"sha1": read(d, "ltv/ltv-sunset-%s.txt" % which)}})
        cfgs["offline-sunset-" + which] = dict(cfgs["offline"],
                                               algorithms={"sunset": {"sha1": read(d, "ltv/ltv-sunset-%s.txt" % which)}})
    paths = {}
    for name, cfg in cfgs.items():
        paths[name] = os.path.join(tmp, name + ".json")
        write_config(paths[name], cfg)
    return paths


def read(d, name):
    with open(os.path.join(d, name)) as f:
        return f.read().strip()


def expired_at():
    """A day after citizen-rsa's notAfter (tests/test_pdf.c's AT_EXPIRED)."""
    p = subprocess.run(["openssl", "x509", "-noout", "-enddate", "-in", pki("citizen-rsa.pem")],
                       stdout=subprocess.PIPE, check=True)
    end = datetime.datetime.strptime(p.stdout.decode().strip().split("=", 1)[1], "%b %d %H:%M:%S %Y %Z")
    return (end + datetime.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")


def emit(tool, d):
    """TOOL --emit D; None when it worked, else why not."""
    os.mkdir(d)
    p = subprocess.run([tool, "--emit", d], env=dict(os.environ, PKI=PKI), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=300)
    if p.returncode != 0:
        return "%s --emit: %s" % (tool, one_line(p.stderr.decode("utf-8", "replace")))
    return None


def main():
    rows = ROWS + XADES_ROWS + PDF_ROWS
    with tempfile.TemporaryDirectory(prefix="ks-ltv-") as tmp:
        for tool, sub in ((TEST_LTV, "ltv"), (TEST_XADES, "xades")):
            why = emit(tool, os.path.join(tmp, sub))
            if why:
                print("FAIL: " + why)
                print("0 passed, %d failed" % len(rows))
                return 1
        os.symlink(PKI, os.path.join(tmp, "pki"))
        paths = configs(tmp, tmp)
        times = {"now": None, "expired": expired_at()}
        xg = pki("xml", "egov-xades")

        def one(row):
            sig, cfg, atf, ind, sub = row
            args = ["verify", "--signature", os.path.join(tmp, sig)]
            if sig.endswith(".xml"):
                args += ["--content", os.path.join(xg, "form1.xml"), "--content", os.path.join(xg, "form2.pdf")]
            at = times[atf] if atf in times else read(tmp, atf + ".txt")
            if at:
                args += ["--at", at]
            out = run_kensho(args, paths[cfg])
            ok = out.rc == RC[ind] and out.indication == ind and out.sub == sub
            return ok, "%s [%s, %s]: want %s/%s, got %s (%s)" % (sig, cfg, atf, ind, sub, out.describe(),
                                                                 one_line(out.detail))

        results = parallel(one, rows)
    failed = [msg for ok, msg in results if not ok]
    for msg in failed:
        print("DISAGREE " + msg)
    passed = len(rows) - len(failed)
    print("LTV agreement: %d / %d" % (passed, len(rows)))
    print("%d passed, %d failed" % (passed, len(failed)))
    return 0 if not failed else 1

if __name__ == "__main__":
    sys.exit(main())
