#!/usr/bin/env python3
"""tests/conformance/limbo.py - x509-limbo test cases through `bin/kensho cert`.

Each test case becomes PEM files (trusted roots, untrusted intermediates,
the peer certificate, CRLs) and a kensho configuration; `kensho cert --at
<validation_time>` must answer TOTAL_PASSED exactly when the case expects
SUCCESS.  kensho validates signing certificates, not TLS peers, so cases
whose outcome rests on checks it does not model are skipped, by category:

  eku       extended key usage for TLS (serverAuth/clientAuth, CLIENT cases)
  hostname  the peer name: SAN/CN matching, wildcards, public suffixes
  crl       CRL cases while the revocation checker is not in place
            (KS_LIMBO_REVOCATION=require|off overrides the probe)

Everything else runs with kensho's own defaults (algorithm policy, signer
keyUsage), except that `signer_ekus` names the purpose these SERVER cases
validate for (serverAuth, and anyExtendedKeyUsage); disagreements are
printed with their subindication.  The last
line is "N passed, M failed"; skips are reported on the line before.
"""
import json
import os
import sys
import tempfile
from collections import Counter

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import SHARED, one_line, parallel, run_kensho, write_config  # noqa: E402

LIMBO = os.environ.get("LIMBO_JSON", os.path.join(SHARED, "x509-limbo", "limbo-local.json"))
EXPLAINED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "limbo-disagreements.txt")


def load_explained():
    out = {}
    with open(EXPLAINED) as f:
        for line in f:
            if line.strip() and not line.startswith("#"):
                tid, cat, why = line.rstrip("\n").split("\t", 2)
                out[tid] = (cat, why)
    return out


def skip_reason(tc, crl_ok):
    tid = tc["id"]
    if tc["validation_kind"] != "SERVER" or tc["extended_key_usage"] or "::eku::" in tid or \
            "pedantic-webpki-eku" in tc["features"]:
        return "eku"
    if tid.startswith(("webpki::san::", "webpki::cn::")) or "pedantic-public-suffix-wildcard" in tc["features"] \
            or tid == "rfc5280::ca-as-leaf-wrong-san":
        return "hostname"
    if (tc["crls"] or "has-crl" in tc["features"]) and not crl_ok:
        return "crl"
    return None


def write_pems(path, pems):
    with open(path, "w") as f:
        f.write("".join(p if p.endswith("\n") else p + "\n" for p in pems))


def run_case(tmp, tc, rev_mode):
    d = os.path.join(tmp, tc["id"].replace("::", "__").replace("/", "_"))
    os.makedirs(d, exist_ok=True)
    write_pems(os.path.join(d, "roots.pem"), tc["trusted_certs"])
    write_pems(os.path.join(d, "peer.pem"), [tc["peer_certificate"]])
    cfg = {"trust_anchors": [os.path.join(d, "roots.pem")], "revocation": {"mode": "off"},
           "signer_ekus": ["1.3.6.1.5.5.7.3.1", "2.5.29.37.0"]}
    if tc["untrusted_intermediates"]:
        write_pems(os.path.join(d, "inter.pem"), tc["untrusted_intermediates"])
        cfg["intermediates"] = [os.path.join(d, "inter.pem")]
    if tc["crls"]:
        names = []
        for i, c in enumerate(tc["crls"]):
            names.append(os.path.join(d, "crl%d.pem" % i))
            write_pems(names[-1], [c])
        cfg["crls"] = names
        cfg["revocation"] = {"mode": rev_mode}
    if tc["max_chain_depth"] is not None:
        # limbo counts intermediates; kensho counts the whole path.
        cfg["limits"] = {"max_path_length": max(2, min(64, tc["max_chain_depth"] + 2))}
    write_config(os.path.join(d, "config.json"), cfg)
    at = tc["validation_time"] or "2024-01-01T00:00:00Z"
    return run_kensho(["cert", "--cert", os.path.join(d, "peer.pem"), "--at", at], os.path.join(d, "config.json"))


def probe_revocation(tmp, cases):
    mode = os.environ.get("KS_LIMBO_REVOCATION", "")
    if mode in ("require", "off"):
        return mode == "require"
    # The CRL case that expects SUCCESS tells whether CRL checking works.
    for tc in cases:
        if tc["id"] == "crl::certificate-not-on-crl":
            return run_case(tmp, tc, "require").passed
    return False


def main():
    cases = json.load(open(LIMBO))["testcases"]
    if sys.argv[1:]:
        cases = [t for t in cases if t["id"] in sys.argv[1:]]
    with tempfile.TemporaryDirectory(prefix="ks-limbo-") as tmp:
        crl_ok = probe_revocation(tmp, json.load(open(LIMBO))["testcases"])
        skips = Counter()
        todo = []
        for tc in cases:
            r = skip_reason(tc, crl_ok)
            if r:
                skips[r] += 1
            else:
                todo.append(tc)
        outs = parallel(lambda t: run_case(tmp, t, "require"), todo)
    explained = load_explained()
    passed = failed = 0
    cats = Counter()
    for tc, out in zip(todo, outs):
        want = tc["expected_result"] == "SUCCESS"
        # A "failure" must be a verdict: a crash or a sanitizer abort is not.
        if out.passed == want and (want or (out.rc in (1, 2) and out.indication in ("TOTAL_FAILED", "INDETERMINATE"))):
            passed += 1
            if tc["id"] in explained:
                print("NOTE: %s agrees now; delete it from limbo-disagreements.txt" % tc["id"])
            continue
        failed += 1
        cat, why = explained.get(tc["id"], ("unexplained", "-"))
        cats[cat] += 1
        print("FAIL: %s: expected %s, got %s %s [%s: %s]" % (
            tc["id"], tc["expected_result"], out.describe(), one_line(out.detail, 100), cat, why))
    print("limbo: %d cases, %d run, %d skipped (%s)" % (
        len(cases), len(todo), sum(skips.values()),
        ", ".join("%s %d" % kv for kv in sorted(skips.items())) or "none"))
    print("limbo agreement: %d of %d run; disagreements by category: %s" % (
        passed, len(todo), ", ".join("%s %d" % kv for kv in sorted(cats.items())) or "none"))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
