#!/usr/bin/env python3
"""tests/conformance/pkits.py - NIST PKITS (2011 edition) through bin/kensho.

Each row of ../shared/pkits/tests.tsv becomes one kensho configuration
(trust anchor, the row's intermediates and CRLs, the RFC 5280 6.1.1 inputs)
and one `kensho cert --at 2011-04-15T00:00:00Z` of the end-entity
certificate.  Exit 0 counts as "valid", exit 1 or 2 as "invalid"; anything
else (a usage or configuration error) is a failure whatever was expected.

Revocation mode (KS_PKITS_REVOCATION=require|off): "require" is the real
test.  Unset, the runner probes row 4.1.1 under "require" and falls back to
"off" (and says so) while the revocation checker is not in place.

  pkits.py [--known FILE] [ID...]

--known FILE: rows listed there (id, mode, reason; tab separated) are
expected to fail in that mode; a listed row that passes is itself a
failure, so the list cannot go stale.  The last line is "N passed, M failed".
"""
import argparse
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import OLD_ALGORITHMS, SHARED, one_line, parallel, run_kensho, write_config  # noqa: E402

PKITS = os.environ.get("PKITS_DIR", os.path.join(SHARED, "pkits"))
AT = "2011-04-15T00:00:00Z"
ANY_POLICY = "2.5.29.32.0"


def load_rows():
    rows = []
    with open(os.path.join(PKITS, "tests.tsv")) as f:
        header = f.readline().rstrip("\n").split("\t")
        for line in f:
            if line.strip():
                rows.append(dict(zip(header, line.rstrip("\n").split("\t"))))
    return rows


def config_for(row, mode):
    certs = [os.path.join(PKITS, c) for c in row["certs"].split(",") if c]
    crls = [os.path.join(PKITS, c) for c in row["crls"].split(",") if c]
    return certs[-1], {
        "trust_anchors": certs[:1],
        "intermediates": certs[1:-1],
        "crls": crls,
        # OpenSSL needs anyPolicy spelled out; kensho passes the set as is.
        "accept_policies": [p for p in row["initial_policy_set"].split(",") if p] or [ANY_POLICY],
        "require_explicit_policy": row["initial_explicit_policy"] == "1",
        "inhibit_policy_mapping": row["initial_policy_mapping_inhibit"] == "1",
        "inhibit_any_policy": row["initial_inhibit_any_policy"] == "1",
        "revocation": {"mode": mode},
        "algorithms": OLD_ALGORITHMS,
    }


def run_row(tmp, row, mode):
    ee, cfg = config_for(row, mode)
    path = os.path.join(tmp, "pkits-%s-%s.json" % (row["id"], mode))
    write_config(path, cfg)
    out = run_kensho(["cert", "--cert", ee, "--at", AT], path)
    if out.rc == 0 and out.indication == "TOTAL_PASSED":
        got = "valid"
    elif out.rc in (1, 2) and out.indication in ("TOTAL_FAILED", "INDETERMINATE"):
        got = "invalid"
    else:
        got = "error"
    return got, out


def choose_mode(tmp, rows):
    mode = os.environ.get("KS_PKITS_REVOCATION", "")
    if mode in ("require", "off"):
        return mode, None
    if mode:
        sys.exit("pkits.py: KS_PKITS_REVOCATION must be require or off, not %r" % mode)
    probe = [r for r in rows if r["id"] == "4.1.1"][0]
    got, out = run_row(tmp, probe, "require")
    if got == "valid":
        return "require", None
    return "off", "revocation mode require does not validate 4.1.1 (%s: %s); ran with mode off" % (
        out.describe(), one_line(out.detail, 80))


def load_known(path, mode):
    known = {}
    if not path:
        return known
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            parts = line.split("\t")
            if len(parts) < 3 or parts[1] not in ("off", "require", "any"):
                sys.exit("pkits.py: %s: bad line (want id<TAB>off|require|any<TAB>reason): %r" % (path, line))
            if parts[1] in (mode, "any"):
                known[parts[0]] = parts[2]
    return known


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--known")
    ap.add_argument("ids", nargs="*")
    a = ap.parse_args()
    rows = load_rows()
    if a.ids:
        rows = [r for r in rows if r["id"] in a.ids]
    with tempfile.TemporaryDirectory(prefix="ks-pkits-") as tmp:
        mode, note = choose_mode(tmp, load_rows())
        known = load_known(a.known, mode)
        results = parallel(lambda r: run_row(tmp, r, mode), rows)
    print("PKITS: %d rows, revocation mode %s" % (len(rows), mode))
    if note:
        print("NOTE: " + note)
    passed = failed = known_failed = 0
    for row, (got, out) in zip(rows, results):
        ok = got == row["expected"]
        line = "%s %s: expected %s, got %s (%s) %s" % (
            row["id"], row["name"], row["expected"], got, out.describe(), one_line(out.detail))
        if row["id"] in known:
            if ok:
                failed += 1
                print("FAIL (listed as a known failure but now agrees; remove it): " + line)
            else:
                known_failed += 1
                print("known: " + line + " -- " + known[row["id"]])
        elif ok:
            passed += 1
        else:
            failed += 1
            print("FAIL: " + line)
    agree = sum(1 for row, (got, _) in zip(rows, results) if got == row["expected"])
    print("PKITS agreement: %d of %d rows (mode %s); %d known failures" % (agree, len(rows), mode, known_failed))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
