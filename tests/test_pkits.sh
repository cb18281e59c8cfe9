#!/usr/bin/env bash
# tests/test_pkits.sh - NIST PKITS through bin/kensho, for `make test`.
#
# Every row of $PKITS_DIR/tests.tsv (default ../shared/pkits beside the repository) must agree with its expected result,
# except the rows listed in tests/conformance/pkits-known-failures.txt for
# the revocation mode in use; a listed row that agrees fails the test too,
# so the list stays exact.  Revocation mode: KS_PKITS_REVOCATION (require or
# off), else require when it works for row 4.1.1, else off (and said so).
# Then a few derived cases that PKITS lacks: DSA parameter inheritance must
# not forgive a bad signature (RFC 3279 2.3.2, verify/path.c).
set -u
K=${KENSHO:?}
here=$(cd "$(dirname "$0")" && pwd)
D=${PKITS_DIR:-${SHARED:-$here/../../shared}/pkits}
if [ ! -f "$D/tests.tsv" ]; then
    echo "test_pkits: no PKITS at $D (set PKITS_DIR)" >&2
    echo "0 passed, 1 failed"
    exit 1
fi
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

out=$(KENSHO=$K PKITS_DIR=$D timeout 900 python3 "$here/conformance/pkits.py" \
    --known "$here/conformance/pkits-known-failures.txt")
rc=$?
printf '%s\n' "$out" | grep -E '^(FAIL|NOTE|PKITS)' >&2
line=$(printf '%s\n' "$out" | tail -n 1)
pass=$(echo "$line" | sed -nE 's/^([0-9]+) passed, ([0-9]+) failed$/\1/p')
fail=$(echo "$line" | sed -nE 's/^([0-9]+) passed, ([0-9]+) failed$/\2/p')
if [ -z "$pass" ]; then
    echo "test_pkits: pkits.py gave no result line (exit $rc)" >&2
    pass=0
    fail=1
elif [ "$rc" -ne 0 ] && [ "$fail" -eq 0 ]; then
    fail=1
fi

# Derived DSA cases: the 4.1.5 path with one signature byte flipped.
C=$D/certs
flip() { python3 -c 'import sys; b = bytearray(open(sys.argv[1], "rb").read()); b[-3] ^= 1; open(sys.argv[2], "wb").write(b)' "$1" "$2"; }
flip "$C/ValidDSAParameterInheritanceTest5EE.crt" "$T/bad-ee.der"
flip "$C/DSAParametersInheritedCACert.crt" "$T/bad-ca.der"
cfg() {
    cat >"$1" <<JSON
{"trust_anchors": ["$C/TrustAnchorRootCertificate.crt"], "intermediates": ["$C/DSACACert.crt", "$2"],
 "accept_policies": ["2.5.29.32.0"], "revocation": {"mode": "off"},
 "algorithms": {"min_rsa_bits": 1024, "min_dsa_bits": 1024, "allow_sha1": true}}
JSON
}
cfg "$T/good.json" "$C/DSAParametersInheritedCACert.crt"
cfg "$T/bad-ca.json" "$T/bad-ca.der"
# expect EXIT CONFIG CERT WHAT
expect() {
    "$K" cert --config "$2" --cert "$3" --at 2011-04-15T00:00:00Z >"$T/out.json" 2>/dev/null
    local rc=$?
    if [ "$rc" = "$1" ]; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1))
        echo "FAIL: $4: exit $rc, want $1: $(head -c 300 "$T/out.json")" >&2
    fi
}
expect 0 "$T/good.json" "$C/ValidDSAParameterInheritanceTest5EE.crt" "DSA inheritance, intact path (4.1.5, mode off)"
expect 2 "$T/good.json" "$T/bad-ee.der" "DSA inheritance, EE signature broken"
expect 2 "$T/bad-ca.json" "$C/ValidDSAParameterInheritanceTest5EE.crt" "DSA inheritance, CA signature broken"

echo "${pass} passed, ${fail} failed"
[ "$fail" -eq 0 ]
