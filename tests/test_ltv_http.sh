#!/usr/bin/env bash
# tests/test_ltv_http.sh - long-term validation (issue #20) through the real
# service: kensho-fcgi behind nginx on 127.0.0.1 (a free port), both started
# and stopped here.  A table of the LTV cases goes through POST
# /api/v1/verify (CAdES raw application/pkcs7-mime, XAdES as a multipart
# "signature" with its "attachment"s, PDF raw application/pdf) with the
# validation time as ?at= (the injected clock of tests/test_ltv.c and
# tests/test_xades.c); each answer must carry the row's indication and
# subindication, the same as bin/kensho gives for the same input, config and
# --at, and every answer validates against GET /api/v1/openapi.json
# (tests/api/validate.py).  Each configuration is its own kensho-fcgi on the
# same socket (nginx stays up).
# Inputs: test_ltv --emit, test_xades --emit, $PKI/xml/egov-xades (mkxml.sh),
# $PKI/pdf (mkpdf.sh).  Bounded: every curl has --max-time.
set -u
K=${KENSHO:?}
P=${PKI:?}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
FCGI=$(dirname "$K")/kensho-fcgi
TESTS=${OUT:-build/rel}/tests
# shellcheck source=tests/fcgi/stack.sh
. "$HERE/fcgi/stack.sh"
# shellcheck source=tests/lib.sh
. "$HERE/lib.sh"

die() { echo "test_ltv_http: $*" >&2; echo "0 passed, 1 failed"; exit 1; }
for tool in curl nginx jq openssl; do
    command -v "$tool" >/dev/null || die "$tool missing (tests/install-deps.sh)"
done
"$PY" -c 'import jsonschema' 2>/dev/null || die "python3-jsonschema missing (tests/install-deps.sh)"
[ -x "$FCGI" ] || die "no $FCGI"
[ -f "$P/pdf/b-lta.pdf" ] || die "no $P/pdf (make build/pki/pdf/.done)"
[ -f "$P/xml/egov-xades/kousei-xl.xml" ] || die "no $P/xml (make build/pki/xml/.done)"

T=$(mktemp -d /tmp/kensho-ltv-http.XXXXXX)
A=$T/answers # every answer, for the schema check
mkdir -p "$A" "$T/ltv" "$T/xades"
FCGI_PID=
NGINX_PID=
cleanup() {
    ks_stop_stack
    rm -rf "$T"
}
trap cleanup EXIT

PKI=$P "$TESTS/test_ltv" --emit "$T/ltv" >/dev/null 2>&1 || die "$TESTS/test_ltv --emit failed"
PKI=$P "$TESTS/test_xades" --emit "$T/xades" >/dev/null 2>&1 || die "$TESTS/test_xades --emit failed"
LAT=$(cat "$T/ltv/ltv-at.txt")
LATXL=$(cat "$T/ltv/ltv-at-xl.txt")
XAT=$(cat "$T/xades/xades-at.txt")
# A day after citizen-rsa's notAfter (tests/test_pdf.c's AT_EXPIRED).
EXP=$(date -u -d "$(openssl x509 -noout -enddate -in "$P/citizen-rsa.pem" | cut -d= -f2) + 1 day" +%Y-%m-%dT%H:%M:%SZ)
XG=$P/xml/egov-xades

# The configurations of tests/conformance/ltv.py.
CRLS="\"$P/pref-ca.crl\", \"$P/pref-ca2.crl\", \"$P/jpki-bca.crl\", \"$P/gpki-bca.crl\", \"$P/ministry-ca.crl\", \"$P/tsa-ca.crl\""
BASE="\"trust_anchors\": [\"$P/anchors\"], \"intermediates\": [\"$P/intermediates\"],
 \"accept_policies\": [\"1.2.392.200149.8.5.1.1.20\"], \"timestamp_anchors\": [\"$P/tsa-ca.pem\"]"
SERVICE="\"limits\": {\"max_body_bytes\": 4194304, \"request_timeout_ms\": 20000}, \"service\": {\"threads\": 2},
 \"audit\": {\"path\": \"$T/audit.log\", \"required\": true, \"fsync\": \"never\"}"
DEAD=http://127.0.0.1:9
config() { # config NAME: the JSON of that configuration
    case $1 in
    ltv) echo "{$BASE, \"crls\": [$CRLS], $SERVICE}" ;;
    offline) echo "{$BASE, \"revocation\": {\"mode\": \"require\", \"allow_urls\": [\"$DEAD/\"], \"timeout_ms\": 500},
 \"revocation_sources\": [
  {\"issuer\": \"$P/pref-ca-self.pem\", \"ocsp\": \"$DEAD/ocsp\", \"crl\": [\"$DEAD/pref-ca.crl\"]},
  {\"issuer\": \"$P/jpki-bca-self.pem\", \"crl\": [\"$DEAD/jpki-bca.crl\"]},
  {\"issuer\": \"$P/gpki-bca-self.pem\", \"crl\": [\"$DEAD/gpki-bca.crl\"]},
  {\"issuer\": \"$P/ministry-ca.pem\", \"crl\": [\"$DEAD/ministry-ca.crl\"]},
  {\"issuer\": \"$P/tsa-ca.pem\", \"ocsp\": \"$DEAD/ocsp\"}], $SERVICE}" ;;
    sunset-later | sunset-earlier)
        echo "{$BASE, \"crls\": [$CRLS], \"algorithms\": {\"sunset\": {\"sha1\": \"$(cat "$T/ltv/ltv-$1.txt")\"}}, $SERVICE}" ;;
    offline-sunset-later | offline-sunset-earlier) # offline, with the sunsets above
        config offline | sed "s|^{|{\"algorithms\": {\"sunset\": {\"sha1\": \"$(cat "$T/ltv/ltv-${1#offline-}.txt")\"}}, |" ;;
    xl) echo "{\"trust_anchors\": [\"$P/anchors\"], \"timestamp_anchors\": [\"$P/tsa-ca.pem\"],
 \"accept_policies\": [\"1.2.392.200149.8.5.1.1.20\"], \"revocation\": {\"mode\": \"require\", \"prefer\": \"crl\"}, $SERVICE}" ;;
    ts) echo "{$BASE, \"revocation\": {\"mode\": \"off\"}, $SERVICE}" ;;
    esac
}

# config | name | signature | validation time (- none) | indication | subindication (- none)
ROWS="
ltv|cades-expired-since-ts|$T/ltv/ltv-expired-since-ts.p7m|$LAT|TOTAL_PASSED|-
ltv|cades-revoked-after-ts|$T/ltv/ltv-revoked-after-ts.p7m|$LAT|TOTAL_PASSED|-
ltv|cades-revoked-before-ts|$T/ltv/ltv-revoked-before-ts.p7m|$LAT|TOTAL_FAILED|REVOKED
ltv|cades-expired-rogue-ts|$T/ltv/ltv-expired-rogue-ts.p7m|$LAT|INDETERMINATE|OUT_OF_BOUNDS_NO_POE
ltv|cades-revoked-tampered-ts|$T/ltv/ltv-revoked-tampered-ts.p7m|$LAT|INDETERMINATE|REVOKED_NO_POE
ltv|cades-revoked-imprint-ts|$T/ltv/ltv-revoked-imprint-ts.p7m|$LAT|INDETERMINATE|REVOKED_NO_POE
ltv|cades-esa|$T/ltv/ltv-esa.p7m|$LAT|TOTAL_PASSED|-
ltv|cades-esa-none|$T/ltv/ltv-esa-none.p7m|$LAT|INDETERMINATE|OUT_OF_BOUNDS_NO_POE
ltv|cades-esa-twice-late|$T/ltv/ltv-esa-twice-late.p7m|$LAT|INDETERMINATE|OUT_OF_BOUNDS_NO_POE
ltv|cades-esa3|$T/ltv/ltv-esa3.p7m|$LAT|TOTAL_PASSED|-
ltv|cades-esa3-index-tampered|$T/ltv/ltv-esa3-index-tampered.p7m|$LAT|INDETERMINATE|OUT_OF_BOUNDS_NO_POE
ltv|cades-esa3-added-ts|$T/ltv/ltv-esa3-added-ts.p7m|$LAT|INDETERMINATE|OUT_OF_BOUNDS_NO_POE
ltv|cades-sha1-ts-no-sunset|$T/ltv/ltv-sha1-ts.p7m|$LAT|INDETERMINATE|CRYPTO_CONSTRAINTS_FAILURE
ltv|xades-expired-since-ts|$T/xades/xades-expired-since-ts.xml|$XAT|TOTAL_PASSED|-
ltv|xades-revoked-after-ts|$T/xades/xades-revoked-after-ts.xml|$XAT|TOTAL_PASSED|-
ltv|xades-revoked-before-ts|$T/xades/xades-revoked-before-ts.xml|$XAT|TOTAL_FAILED|REVOKED
ltv|xades-expired-rogue-ts|$T/xades/xades-expired-rogue-ts.xml|$XAT|INDETERMINATE|OUT_OF_BOUNDS_NO_POE
ltv|xades-revoked-tampered-ts|$T/xades/xades-revoked-tampered-ts.xml|$XAT|INDETERMINATE|REVOKED_NO_POE
ltv|xades-revoked-imprint-text|$T/xades/xades-revoked-imprint-text.xml|$XAT|INDETERMINATE|REVOKED_NO_POE
ltv|xades-a|$T/xades/xades-a-good.xml|$XAT|TOTAL_PASSED|-
ltv|xades-a-none|$T/xades/xades-a-none.xml|$XAT|INDETERMINATE|OUT_OF_BOUNDS_NO_POE
ltv|xades-a-inserted|$T/xades/xades-a-inserted.xml|$XAT|INDETERMINATE|OUT_OF_BOUNDS_NO_POE
ltv|xades-a-twice|$T/xades/xades-a-twice.xml|$XAT|TOTAL_PASSED|-
ltv|xades-a-twice-late|$T/xades/xades-a-twice-late.xml|$XAT|INDETERMINATE|OUT_OF_BOUNDS_NO_POE
offline|cades-xl-responders-down|$T/ltv/ltv-xl.p7m|$LATXL|TOTAL_PASSED|-
offline|cades-xl-none-responders-down|$T/ltv/ltv-xl-none.p7m|$LATXL|INDETERMINATE|TRY_LATER
offline|cades-xl-stale-responders-down|$T/ltv/ltv-xl-stale.p7m|$LATXL|INDETERMINATE|TRY_LATER
offline|pdf-dss-evidence|$P/pdf/dss-evidence.pdf|-|TOTAL_PASSED|-
offline|cades-xl-no-tsa-responders-down|$T/ltv/ltv-xl-no-tsa.p7m|$LATXL|INDETERMINATE|TRY_LATER
offline|pdf-dss-evidence-expired|$P/pdf/dss-evidence.pdf|$EXP|INDETERMINATE|OUT_OF_BOUNDS_NO_POE
offline|pdf-dss-vri|$P/pdf/dss-vri.pdf|-|TOTAL_PASSED|-
ltv|cades-tsa-revoked|$T/ltv/ltv-tsa-revoked.p7m|$LAT|INDETERMINATE|REVOKED_NO_POE
ltv|cades-tsa-revoked-covered|$T/ltv/ltv-tsa-revoked-covered.p7m|$LAT|TOTAL_PASSED|-
offline|pdf-b-lta-responders-down|$P/pdf/b-lta.pdf|-|INDETERMINATE|TRY_LATER
sunset-later|cades-sha1-ts-before-sunset|$T/ltv/ltv-sha1-ts.p7m|$LAT|TOTAL_PASSED|-
sunset-later|cades-sha1-nots|$T/ltv/ltv-sha1-nots.p7m|$LAT|INDETERMINATE|CRYPTO_CONSTRAINTS_FAILURE
sunset-earlier|cades-sha1-ts-after-sunset|$T/ltv/ltv-sha1-ts.p7m|$LAT|INDETERMINATE|CRYPTO_CONSTRAINTS_FAILURE
offline-sunset-later|cades-sha1-ocsp-under-ats-v2|$T/ltv/ltv-ev-ocsp-v2.p7m|$LATXL|TOTAL_PASSED|-
offline-sunset-later|cades-sha1-crl-under-ats-v2|$T/ltv/ltv-ev-crl-v2.p7m|$LATXL|TOTAL_PASSED|-
offline-sunset-earlier|cades-sha1-ocsp-ats-after-sunset|$T/ltv/ltv-ev-ocsp-v2.p7m|$LATXL|INDETERMINATE|TRY_LATER
offline-sunset-later|cades-sha1-ocsp-added-after-v3|$T/ltv/ltv-ev-ocsp-added-after-v3.p7m|$LATXL|INDETERMINATE|TRY_LATER
offline-sunset-later|cades-sha1-ocsp-ts-only|$T/ltv/ltv-ev-ocsp-ts-only.p7m|$LATXL|INDETERMINATE|TRY_LATER
xl|xades-xl|$XG/kousei-xl.xml|-|TOTAL_PASSED|-
xl|xades-t-no-path|$XG/kousei-t.xml|-|INDETERMINATE|NO_CERTIFICATE_CHAIN_FOUND
ts|pdf-b-lta-expired|$P/pdf/b-lta.pdf|$EXP|TOTAL_PASSED|-
ts|pdf-b-lta|$P/pdf/b-lta.pdf|-|TOTAL_PASSED|-
ts|pdf-doc-ts-expired|$P/pdf/doc-ts.pdf|$EXP|TOTAL_PASSED|-
ts|pdf-doc-ts-tampered|$P/pdf/doc-ts-tampered.pdf|-|TOTAL_FAILED|SIG_CRYPTO_FAILURE
ts|pdf-sig-ts-expired|$P/pdf/sig-ts.pdf|$EXP|TOTAL_PASSED|-
ts|pdf-good-rsa-expired-no-poe|$P/pdf/good-rsa.pdf|$EXP|INDETERMINATE|OUT_OF_BOUNDS_NO_POE
"

SOCK=$T/fcgi.sock
PORT=$(ks_free_port)
B=http://127.0.0.1:$PORT
ks_rundir "$T"
# start CONFIG_NAME: kensho-fcgi on $SOCK with that configuration
start() {
    [ -n "$FCGI_PID" ] && ks_stop "$FCGI_PID" 5
    FCGI_PID=
    rm -f "$SOCK"
    config "$1" >"$T/$1.json"
    ks_rundir "$T"
    ks_start_fcgi "$FCGI" "$T/$1.json" "$SOCK" "$T/fcgi.log" 2
}
start ltv || die "kensho-fcgi did not start"
ks_start_nginx "$T/nginx" "$PORT" "$ROOT/www" "$SOCK" 4m 100000 100000 || die "nginx did not start"

# req NAME CURL_ARGS...: body, headers, status and "METHOD URL" of the answer in $A.
req() {
    local name=$1 w
    shift
    w=$(curl -s --max-time 30 -o "$A/$name.body" -D "$A/$name.hdr" -w '%{http_code} %{method} %{url_effective}' "$@")
    echo "${w%% *}" >"$A/$name.code"
    echo "${w#* }" >"$A/$name.req"
}
req openapi "$B/api/v1/openapi.json"
cp "$A/openapi.body" "$T/openapi.json"
rm -f "$A"/openapi.*
check "openapi.json fetched" jq -e '.openapi' "$T/openapi.json"

said() { jq -r '.indication + "/" + (.subindication // "-")' "$1" 2>/dev/null; }
current=
while IFS='|' read -r cfg name sig at ind sub; do
    [ -n "$cfg" ] || continue
    if [ "$cfg" != "$current" ]; then
        check "kensho-fcgi with config $cfg" start "$cfg" || continue
        current=$cfg
    fi
    q=
    cli_at=()
    if [ "$at" != - ]; then
        q="?at=$at"
        cli_at=(--at "$at")
    fi
    case $sig in
    *.p7m)
        req "$name" -H 'Content-Type: application/pkcs7-mime' --data-binary "@$sig" "$B/api/v1/verify$q"
        cli_in=(--signature "$sig") ;;
    *.xml)
        req "$name" -F "signature=@$sig;type=application/xml" -F "attachment=@$XG/form1.xml" \
            -F "attachment=@$XG/form2.pdf" "$B/api/v1/verify$q"
        cli_in=(--signature "$sig" --content "$XG/form1.xml" --content "$XG/form2.pdf") ;;
    *.pdf)
        req "$name" -H 'Content-Type: application/pdf' --data-binary "@$sig" "$B/api/v1/verify$q"
        cli_in=(--signature "$sig") ;;
    esac
    "$K" verify --config "$T/$cfg.json" "${cli_in[@]}" "${cli_at[@]}" >"$T/$name.cli.json" 2>/dev/null
    check "$name [$cfg]: HTTP 200" [ "$(cat "$A/$name.code")" = 200 ]
    got=$(said "$A/$name.body")
    cli=$(said "$T/$name.cli.json")
    check "$name [$cfg]: HTTP says $ind/$sub (got $got)" [ "$got" = "$ind/$sub" ]
    check "$name [$cfg]: bin/kensho says $ind/$sub (got $cli)" [ "$cli" = "$ind/$sub" ]
done <<<"$ROWS"

# What the verdicts say besides the indication (the same fields as test_cli.sh).
check "cades-expired-since-ts: validated at the timestamp's time" \
    [ "$(jq -r '.validation_model.basis + " " + .poe.source' "$A/cades-expired-since-ts.body")" = \
        "best_signature_time signature_timestamp" ]
check "cades-revoked-imprint-ts: message_imprint_ok false" \
    [ "$(jq -r '.timestamps[0].message_imprint_ok' "$A/cades-revoked-imprint-ts.body")" = false ]
check "cades-xl-responders-down: revocation from the message" \
    [ "$(jq -r '[.revocation[].from] | unique | join(",")' "$A/cades-xl-responders-down.body")" = message ]
check "xades-xl: POE from its SignatureTimeStamp" [ "$(jq -r '.poe.source' "$A/xades-xl.body")" = signature_timestamp ]
check "pdf-b-lta-expired: POE from a document timestamp" \
    [ "$(jq -r '.signers[0].poe.source' "$A/pdf-b-lta-expired.body")" = document_timestamp ]

# Every answer above against the document.
check "every answer validates against openapi.json" "$PY" "$HERE/api/validate.py" "$T/openapi.json" "$A"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
