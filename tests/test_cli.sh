#!/usr/bin/env bash
# tests/test_cli.sh - bin/kensho as other tools call it: exit statuses, one
# JSON document on stdout for every outcome, input forms, malformed input.
set -u
K=${KENSHO:?}
P=${PKI:?}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
pass=0
fail=0
cat >"$T/off.json" <<JSON
{"trust_anchors": ["$P/anchors"], "intermediates": ["$P/intermediates"], "revocation": {"mode": "off"},
 "accept_policies": ["1.2.392.200149.8.5.1.1.20"]}
JSON
cat >"$T/require.json" <<JSON
{"trust_anchors": ["$P/anchors"], "intermediates": ["$P/intermediates"]}
JSON
cat >"$T/anypolicy.json" <<JSON
{"trust_anchors": ["$P/anchors"], "intermediates": ["$P/intermediates"], "revocation": {"mode": "off"}}
JSON
echo '{"trust_anchors": ["/nonexistent"]}' >"$T/bad.json"
echo "{\"trust_anchors\": [\"$P/anchors\"], \"signer_ekus\": [\"emailProtection\"]}" >"$T/bad-eku.json"
head -c 50000000 /dev/zero >"$T/big.bin"
printf '\x30\x82' >"$T/trunc.der"
# bytes that are no encoding at all, the same every run (0x7f first: not DER, PEM, XML or ZIP)
python3 -c 'import sys; sys.stdout.buffer.write(bytes([0x7f] + [(i * 7919 + 13) % 256 for i in range(2999)]))' >"$T/random.bin"
: >"$T/empty"

# expect EXIT JQ_EXPR EXPECTED -- ARGS...: exit status, and one JSON value
# picked out of stdout (python3 reads the JSON; the expression is a key path).
expect() {
    local want_rc=$1 path=$2 want=$3
    shift 4
    local out rc got
    out=$("$K" "$@" 2>/dev/null)
    rc=$?
    got=$(printf '%s' "$out" | python3 -c '
import json, sys
path = sys.argv[1]
try:
    v = json.load(sys.stdin)
except Exception as e:
    print("NOT-JSON"); sys.exit()
for k in path.split("."):
    if k == "":
        continue
    v = v[int(k)] if isinstance(v, list) else (v.get(k) if isinstance(v, dict) else None)
print(v)' "$path")
    if [ "$rc" = "$want_rc" ] && [ "$got" = "$want" ]; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1))
        echo "FAIL: kensho $*: exit $rc (want $want_rc), $path=$got (want $want)" >&2
    fi
}

O="$T/off.json"
expect 0 indication TOTAL_PASSED -- verify --config "$O" --signature "$P/sig-attached-rsa.p7m"
expect 0 signer.jpki.sex female -- verify --config "$O" --signature "$P/sig-attached-rsa.p7m"
expect 0 indication TOTAL_PASSED -- verify --config "$O" --signature "$P/sig-attached-rsa.pem"
expect 0 indication TOTAL_PASSED -- verify --config "$O" --signature "$P/sig-attached-rsa.b64"
expect 0 indication TOTAL_PASSED -- verify --config "$O" --signature "$P/sig-detached-rsa.p7s" --content "$P/doc.txt"
expect 1 subindication HASH_FAILURE -- verify --config "$O" --signature "$P/sig-detached-rsa.p7s" --content "$P/doc-tampered.txt"
expect 2 subindication SIGNED_DATA_NOT_FOUND -- verify --config "$O" --signature "$P/sig-detached-rsa.p7s"
expect 1 subindication EXPIRED -- verify --config "$O" --signature "$P/sig-attached-expired.p7m"
expect 1 subindication SIG_CRYPTO_FAILURE -- verify --config "$O" --signature "$P/sig-attached-tampered-sig.p7m"
expect 2 subindication NO_CERTIFICATE_CHAIN_FOUND -- verify --config "$O" --signature "$P/sig-attached-rogue.p7m"
expect 2 subindication NO_CERTIFICATE_CHAIN_FOUND -- verify --config "$O" --signature "$P/sig-rogue-with-root.p7m"
expect 2 subindication TRY_LATER -- verify --config "$T/require.json" --signature "$P/sig-attached-rsa.p7m"
# --at: RFC 3339, with an offset; long before the PKI existed
expect 1 subindication NOT_YET_VALID -- verify --config "$O" --signature "$P/sig-attached-rsa.p7m" --at 2001-01-01T09:00:00+09:00
expect 1 validation_time 2001-01-01T00:00:00Z -- verify --config "$O" --signature "$P/sig-attached-rsa.p7m" --at 2001-01-01T09:00:00+09:00
expect 64 error.code KS_E_BAD_TIME -- verify --config "$O" --signature "$P/sig-attached-rsa.p7m" --at yesterday
# issue #18.4: S/MIME multipart/signed around an attached signature whose
# eContent was changed: its first part never stands in for the eContent
expect 0 indication TOTAL_PASSED -- verify --config "$O" --signature "$P/smime-detached.eml"
expect 1 subindication HASH_FAILURE -- verify --config "$O" --signature "$P/sig-smime-attached-tampered.p7m"
expect 65 error.code KS_E_CONTENT_CONFLICT -- verify --config "$O" --signature "$P/smime-wrapped-tampered.eml"
expect 65 error.code KS_E_CONTENT_CONFLICT -- verify --config "$O" --signature "$P/smime-wrapped-attached.eml"
# issue #18.5: ESS signingCertificateV2 names the real certificate; the message
# carries another one for the same key (another name and address)
expect 0 signers.0.signing_certificate_bound True -- verify --config "$O" --signature "$P/sig-cades.p7m"
expect 0 signers.0.signing_certificate_bound False -- verify --config "$O" --signature "$P/sig-attached-rsa.p7m"
expect 1 subindication SIG_CONSTRAINTS_FAILURE -- verify --config "$O" --signature "$P/sig-ess-other-only.p7m"
expect 1 indication TOTAL_FAILED -- verify --config "$O" --signature "$P/sig-ess-other-only.p7m"
expect 0 signer.subject CN=SYNTH0001,L=Matsumoto-shi,L=Nagano-ken,C=JP -- verify --config "$O" --signature "$P/sig-ess-both.p7m"
# issue #18.6: extendedKeyUsage without a document-signing purpose
expect 1 subindication CHAIN_CONSTRAINTS_FAILURE -- verify --config "$T/anypolicy.json" --signature "$P/sig-ocsp-signer.p7m"
expect 1 subindication CHAIN_CONSTRAINTS_FAILURE -- cert --config "$T/anypolicy.json" --cert "$P/ocsp-responder.pem"
expect 0 indication TOTAL_PASSED -- cert --config "$O" --cert "$P/citizen-eku-email.pem"
expect 78 error.code KS_E_CONFIG -- verify --config "$T/bad-eku.json" --signature "$P/sig-attached-rsa.p7m"
# several signers: the top level is the signer that decided the indication
expect 1 signer.subject CN=SYNTH0004,L=Matsumoto-shi,L=Nagano-ken,C=JP -- verify --config "$O" --signature "$P/sig-two-signers-expired.p7m"
# certificates
expect 0 indication TOTAL_PASSED -- cert --config "$O" --cert "$P/citizen-rsa.pem"
expect 0 format certificate -- cert --config "$O" --cert "$P/citizen-ec.pem"
expect 1 subindication EXPIRED -- cert --config "$O" --cert "$P/citizen-expired.pem"
expect 65 error.code KS_E_NOT_CERTIFICATE -- cert --config "$O" --cert "$P/sig-attached-rsa.p7m"
# malformed input: exit 65 and a JSON error, never a crash
expect 65 error.code KS_E_EMPTY -- verify --config "$O" --signature "$T/empty"
expect 65 error.code KS_E_NOT_SIGNATURE -- verify --config "$O" --signature "$T/trunc.der"
expect 65 error.code KS_E_ENCODING -- verify --config "$O" --signature "$T/random.bin"
expect 65 error.code KS_E_TOO_LARGE -- verify --config "$O" --signature "$T/big.bin"
expect 65 error.code KS_E_NO_SIGNERS -- verify --config "$O" --signature "$P/certs-only.p7b"
expect 65 error.code KS_E_ENCODING -- verify --config "$O" --signature "$P/citizen-rsa.pem"
# usage and configuration
expect 64 error.code KS_E_USAGE -- verify --config "$O"
expect 64 error.code KS_E_USAGE -- frobnicate
expect 64 error.code KS_E_USAGE -- verify --config "$O" --signature "$P/sig-attached-rsa.p7m" --bogus x
expect 78 error.code KS_E_CONFIG -- verify --config "$T/bad.json" --signature "$P/sig-attached-rsa.p7m"
expect 78 error.code KS_E_CONFIG -- verify --config "$T/none.json" --signature "$P/sig-attached-rsa.p7m"
expect 66 error.code KS_E_IO -- verify --config "$O" --signature "$T/does-not-exist"

# ---- real inputs (RFC 7468 2: text outside the PEM boundaries), reason wording,
# ---- the certificate a validity failure names (kensho issue #18)
# holds EXIT PYEXPR -- ARGS...: exit status, and a python expression over the
# verdict v that must be true
holds() {
    local want_rc=$1 expr=$2
    shift 3
    local out rc got
    out=$("$K" "$@" 2>/dev/null)
    rc=$?
    got=$(printf '%s' "$out" | python3 -c '
import json, sys
try:
    v = json.load(sys.stdin)
    print(bool(eval(sys.argv[1], {"v": v})))
except Exception as e:
    print("ERROR", e)' "$expr")
    if [ "$rc" = "$want_rc" ] && [ "$got" = True ]; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1))
        echo "FAIL: kensho $*: exit $rc (want $want_rc), $expr: $got" >&2
    fi
}
cat >"$T/anchors-off.json" <<JSON
{"trust_anchors": ["$P/anchors"], "revocation": {"mode": "off"}}
JSON
cat >"$T/crls.json" <<JSON
{"trust_anchors": ["$P/anchors"], "intermediates": ["$P/intermediates"],
 "crls": ["$P/pref-ca.crl", "$P/pref-ca2.crl", "$P/jpki-bca.crl", "$P/gpki-bca.crl", "$P/ministry-ca.crl"]}
JSON
A="$T/anchors-off.json"
# as openssl pkcs12 prints an export: "Bag Attributes" before each block
openssl pkcs12 -export -in "$P/citizen-rsa.pem" -inkey "$P/citizen-rsa.key" -passout pass:t -out "$T/leaf.p12"
openssl pkcs12 -in "$T/leaf.p12" -passin pass:t -nokeys -out "$T/exported.pem"
openssl pkcs12 -export -in "$P/citizen-rsa.pem" -inkey "$P/citizen-rsa.key" -certfile "$P/chain-gen1.pem" \
    -passout pass:t -out "$T/chain.p12"
openssl pkcs12 -in "$T/chain.p12" -passin pass:t -nodes -out "$T/exported-chain.pem"
cat "$P/citizen-rsa.pem" "$P/chain-gen1.pem" >"$T/bundle.pem"
{ echo "My certificate for the filing:"; cat "$P/citizen-rsa.pem"; } >"$T/text-before.pem"
{ echo "Signature follows"; cat "$P/sig-attached-rsa.pem"; echo "-- end"; } >"$T/sig-text.pem"
cat "$P/sig-attached-rsa.pem" "$P/sig-attached-rsa.pem" >"$T/two-sigs.pem"
if [ "$(head -c 14 "$T/exported.pem")" = "Bag Attributes" ]; then pass=$((pass + 1)); else
    fail=$((fail + 1)); echo "FAIL: the pkcs12 export has no Bag Attributes before its block" >&2; fi
expect 0 indication TOTAL_PASSED -- cert --config "$O" --cert "$T/exported.pem"
expect 0 chain.1.source input -- cert --config "$A" --cert "$T/exported-chain.pem"
expect 0 indication TOTAL_PASSED -- cert --config "$A" --cert "$T/bundle.pem"
holds 0 '[c["source"] for c in v["chain"]] == ["submitted", "input", "input", "input", "anchor"]' -- \
    cert --config "$A" --cert "$T/bundle.pem"
expect 0 indication TOTAL_PASSED -- cert --config "$O" --cert "$T/text-before.pem"
expect 2 subindication NO_CERTIFICATE_CHAIN_FOUND -- cert --config "$A" --cert "$P/citizen-rsa.pem"
expect 2 subindication NO_CERTIFICATE_CHAIN_FOUND -- cert --config "$A" --cert <(cat "$P/rogue-citizen.pem" "$P/rogue-ca.pem")
expect 0 indication TOTAL_PASSED -- verify --config "$O" --signature "$T/sig-text.pem"
expect 65 error.code KS_E_NOT_SIGNATURE -- verify --config "$O" --signature "$T/two-sigs.pem"
# a valid verdict claims "not revoked" only on evidence, and a certificate has no document
NOREV='not any(s in r["en"] for s in ("not revoked", "not been revoked")) and "失効していません" not in r["ja"]'
holds 0 "all(($NOREV) for r in [v['reasons'][0]] + [s['reasons'][0] for s in v['signers']])" -- \
    verify --config "$O" --signature "$P/sig-attached-rsa.p7m"
holds 0 "(lambda r: ($NOREV) and 'document' not in r['en'] and '文書' not in r['ja'])(v['reasons'][0])" -- \
    cert --config "$O" --cert "$P/citizen-rsa.pem"
holds 0 "(lambda r: 'not been revoked' in r['en'] and 'document' not in r['en'])(v['reasons'][0])" -- \
    cert --config "$T/crls.json" --cert "$P/citizen-rsa.pem"
holds 0 "'not revoked' in v['reasons'][0]['en']" -- verify --config "$T/crls.json" --signature "$P/sig-attached-rsa.p7m"
# an anchor valid for 30 days above a CA and a leaf that outlive it (synthetic)
mkdir "$T/short"
printf '[ca]\nbasicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n[ee]\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n' >"$T/short/ext.cnf"
(
    cd "$T/short" || exit 1
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout root.key -days 30 \
        -subj "/CN=Short-lived Anchor (synthetic test)" -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" -out root.pem
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key \
        -subj "/CN=Sub CA (synthetic test)" -out ca.csr
    openssl x509 -req -in ca.csr -CA root.pem -CAkey root.key -CAcreateserial -days 300 \
        -extfile ext.cnf -extensions ca -out ca.pem
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ee.key \
        -subj "/CN=SYNTH-EE (synthetic test)" -out ee.csr
    openssl x509 -req -in ee.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 200 \
        -extfile ext.cnf -extensions ee -out ee.pem
) >/dev/null 2>&1
echo "{\"trust_anchors\": [\"$T/short/root.pem\"], \"intermediates\": [\"$T/short/ca.pem\"], \"revocation\": {\"mode\": \"off\"}}" >"$T/short.json"
AT60=$(date -u -d '+60 days' +%Y-%m-%dT%H:%M:%SZ)
AT250=$(date -u -d '+250 days' +%Y-%m-%dT%H:%M:%SZ)
expect 1 detail "certificate has expired (at depth 2: the trust anchor CN=Short-lived Anchor (synthetic test))" -- \
    cert --config "$T/short.json" --cert "$T/short/ee.pem" --at "$AT60"
expect 1 detail "certificate has expired (at depth 0: the end-entity certificate)" -- \
    cert --config "$T/short.json" --cert "$T/short/ee.pem" --at "$AT250"
expect 0 indication TOTAL_PASSED -- cert --config "$T/short.json" --cert "$T/short/ee.pem"

# Issue #20, long-term validation through bin/kensho: the signatures and the
# validation time come from tests/test_ltv.c (a TSA with an injected clock;
# every instant taken from the test PKI, so nothing rots).
mkdir "$T/ltv"
if "${OUT:-build/rel}/tests/test_ltv" --emit "$T/ltv"; then
    cat >"$T/ltv.json" <<JSON
{"trust_anchors": ["$P/anchors"], "intermediates": ["$P/intermediates"],
 "crls": ["$P/pref-ca.crl", "$P/pref-ca2.crl", "$P/jpki-bca.crl", "$P/gpki-bca.crl", "$P/ministry-ca.crl",
          "$P/tsa-ca.crl"],
 "timestamp_anchors": ["$P/tsa-ca.pem"]}
JSON
    L="$T/ltv.json"
    LAT=$(cat "$T/ltv/ltv-at.txt")
    expect 0 indication TOTAL_PASSED -- verify --config "$L" --signature "$T/ltv/ltv-revoked-after-ts.p7m" --at "$LAT"
    holds 0 "v['reasons'][0]['ja'] == '署名時刻より後に失効していますが、失効前に署名されたことがタイムスタンプで証明されています' and v['revocation'][0]['status'] == 'revoked'" -- \
        verify --config "$L" --signature "$T/ltv/ltv-revoked-after-ts.p7m" --at "$LAT"
    expect 0 indication TOTAL_PASSED -- verify --config "$L" --signature "$T/ltv/ltv-expired-since-ts.p7m" --at "$LAT"
    holds 0 "v['validation_model']['basis'] == 'best_signature_time' and v['best_signature_time'] == v['poe']['time'] == v['timestamps'][0]['time'] == v['validation_model']['time']" -- \
        verify --config "$L" --signature "$T/ltv/ltv-expired-since-ts.p7m" --at "$LAT"
    expect 1 subindication REVOKED -- verify --config "$L" --signature "$T/ltv/ltv-revoked-before-ts.p7m" --at "$LAT"
    expect 2 subindication OUT_OF_BOUNDS_NO_POE -- verify --config "$L" --signature "$T/ltv/ltv-expired-rogue-ts.p7m" --at "$LAT"
    holds 2 "v['timestamps'][0]['indication'] == 'INDETERMINATE' and v['poe'] is None and v['validation_model']['basis'] == 'validation_time'" -- \
        verify --config "$L" --signature "$T/ltv/ltv-expired-rogue-ts.p7m" --at "$LAT"
    holds 2 "v['subindication'] == 'OUT_OF_BOUNDS_NO_POE' and v['timestamps'][0]['subindication'] == 'SIG_CRYPTO_FAILURE'" -- \
        verify --config "$L" --signature "$T/ltv/ltv-expired-tampered-ts.p7m" --at "$LAT"
    holds 2 "v['subindication'] == 'REVOKED_NO_POE' and v['timestamps'][0]['message_imprint_ok'] is False" -- \
        verify --config "$L" --signature "$T/ltv/ltv-revoked-imprint-ts.p7m" --at "$LAT"
    # no timestamp_anchors: no TSA is trusted, the token is reported all the same
    holds 2 "v['subindication'] == 'REVOKED_NO_POE' and v['timestamps'][0]['subindication'] == 'NO_CERTIFICATE_CHAIN_FOUND'" -- \
        verify --config "$T/crls.json" --signature "$T/ltv/ltv-revoked-after-ts.p7m" --at "$LAT"
else
    fail=$((fail + 1))
    echo "FAIL: ${OUT:-build/rel}/tests/test_ltv --emit did not make the long-term validation inputs" >&2
fi

# The same for XAdES (e-Gov packages): XAdES-T rows from tests/test_xades.c,
# and the XAdES-X-L package of mkxml.sh (its own certificates and CRLs: no
# intermediates, no CRL files, revocation required, nothing to fetch from).
mkdir "$T/xades"
XG="$P/xml/egov-xades"
if "${OUT:-build/rel}/tests/test_xades" --emit "$T/xades"; then
    XAT=$(cat "$T/xades/xades-at.txt")
    cat >"$T/xades.json" <<JSON
{"trust_anchors": ["$P/anchors"], "intermediates": ["$P/intermediates"],
 "crls": ["$P/pref-ca.crl", "$P/pref-ca2.crl", "$P/jpki-bca.crl", "$P/gpki-bca.crl", "$P/ministry-ca.crl",
          "$P/tsa-ca.crl"],
 "accept_policies": ["1.2.392.200149.8.5.1.1.20"], "timestamp_anchors": ["$P/tsa-ca.pem"]}
JSON
    xv() { # xv ROW: the arguments verifying that row's package
        echo verify --config "$T/xades.json" --signature "$T/xades/xades-$1.xml" --content "$XG/form1.xml" \
            --content "$XG/form2.pdf" --at "$XAT"
    }
    # shellcheck disable=SC2046
    {
        expect 0 indication TOTAL_PASSED -- $(xv expired-since-ts)
        holds 0 "v['format'] == 'xmldsig' and v['validation_model']['basis'] == 'best_signature_time' and v['best_signature_time'] == v['signers'][0]['timestamps'][0]['time']" -- $(xv expired-since-ts)
        holds 0 "v['reasons'][0]['ja'] == '署名時刻より後に失効していますが、失効前に署名されたことがタイムスタンプで証明されています'" -- $(xv revoked-after-ts)
        expect 1 subindication REVOKED -- $(xv revoked-before-ts)
        holds 2 "v['subindication'] == 'OUT_OF_BOUNDS_NO_POE' and v['timestamps'][0]['subindication'] == 'NO_CERTIFICATE_CHAIN_FOUND' and v['poe'] is None" -- $(xv expired-rogue-ts)
        holds 2 "v['subindication'] == 'REVOKED_NO_POE' and v['timestamps'][0]['subindication'] == 'SIG_CRYPTO_FAILURE'" -- $(xv revoked-tampered-ts)
        holds 2 "v['subindication'] == 'REVOKED_NO_POE' and v['timestamps'][0]['message_imprint_ok'] is False" -- $(xv revoked-imprint-text)
    }
    cat >"$T/xl.json" <<JSON
{"trust_anchors": ["$P/anchors"], "timestamp_anchors": ["$P/tsa-ca.pem"],
 "accept_policies": ["1.2.392.200149.8.5.1.1.20"], "revocation": {"mode": "require", "prefer": "crl"}}
JSON
    holds 0 "v['indication'] == 'TOTAL_PASSED' and all(e['from'] == 'message' for e in v['revocation']) and v['poe']['source'] == 'signature_timestamp'" -- \
        verify --config "$T/xl.json" --signature "$XG/kousei-xl.xml" --content "$XG/form1.xml" --content "$XG/form2.pdf"
    expect 2 subindication NO_CERTIFICATE_CHAIN_FOUND -- \
        verify --config "$T/xl.json" --signature "$XG/kousei-t.xml" --content "$XG/form1.xml" --content "$XG/form2.pdf"
else
    fail=$((fail + 1))
    echo "FAIL: ${OUT:-build/rel}/tests/test_xades --emit did not make the XAdES inputs" >&2
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
