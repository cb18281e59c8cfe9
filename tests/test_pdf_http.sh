#!/usr/bin/env bash
# tests/test_pdf_http.sh - signed PDFs through the real service: kensho-fcgi
# behind nginx on 127.0.0.1 (a free port), both started and stopped here.
# POST /api/v1/verify with application/pdf, a multipart "signature" part and
# JSON base64 gives the verdict bin/kensho gives for the same file; an
# encrypted PDF is a 415 problem, one without a signature a 400 problem.
# Fixtures: tests/pki/mkpdf.sh ($PKI/pdf).  Bounded: every curl has --max-time.
set -u
K=${KENSHO:?}
P=${PKI:?}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
FCGI=$(dirname "$K")/kensho-fcgi
# shellcheck source=tests/fcgi/stack.sh
. "$HERE/fcgi/stack.sh"
# shellcheck source=tests/lib.sh
. "$HERE/lib.sh"

ks_require_tools curl nginx jq
[ -x "$FCGI" ] || ks_give_up "no $FCGI"
[ -f "$P/pdf/good-rsa.pdf" ] || ks_give_up "no $P/pdf (tests/pki/mkpdf.sh)"

ks_test_dir pdf-http

AT=$(date -u +%Y-%m-%dT%H:%M:%SZ)
CFG=$T/kensho.json
cat >"$CFG" <<JSON
{"trust_anchors": ["$P/anchors"], "intermediates": ["$P/intermediates"],
 "revocation": {"mode": "off"}, "accept_policies": ["1.2.392.200149.8.5.1.1.20"],
 "timestamp_anchors": ["$P/tsa-ca.pem"],
 "limits": {"max_body_bytes": 262144, "max_parts": 8, "max_json_depth": 8, "request_timeout_ms": 10000},
 "service": {"threads": 2},
 "audit": {"path": "$T/audit.log", "required": true, "fsync": "never"}}
JSON
ks_test_stack "$T" "$CFG" 2
cli() { "$K" verify --config "$CFG" --at "$AT" --signature "$1" >"$T/cli.json" 2>/dev/null; }
same_as_cli() { # the HTTP verdict equals bin/kensho's
    code_is "$1" 200 &&
        [ "$(jq -n --slurpfile a "$T/$1.body" --slurpfile b "$T/cli.json" '$a == $b' 2>/dev/null)" = true ]
}
ind() { jq -r '.indication' "$T/$1.body" 2>/dev/null; }

for f in good-rsa two-sigs isa-content shadow-replace usf-zero-range doc-ts doc-ts-tampered fieldmdp-include-locked; do
    cli "$P/pdf/$f.pdf"
    req "raw-$f" -H 'Content-Type: application/pdf' --data-binary "@$P/pdf/$f.pdf" "$B/api/v1/verify?at=$AT"
    check "application/pdf $f = cli" same_as_cli "raw-$f"
done
check "good-rsa passes over HTTP" [ "$(ind raw-good-rsa)" = TOTAL_PASSED ]
check "isa-content fails over HTTP" [ "$(ind raw-isa-content)" = TOTAL_FAILED ]
check "format pdf" [ "$(jq -r .format "$T/raw-good-rsa.body")" = pdf ]
# Document timestamps and FieldMDP (issue 19): the same verdicts over HTTP.
check "doc-ts passes over HTTP" [ "$(ind raw-doc-ts)" = TOTAL_PASSED ]
check "doc-ts: its token in timestamps[] (type document)" \
    [ "$(jq -r '.signers[1].timestamps[0].type + " " + .signers[1].timestamps[0].indication' "$T/raw-doc-ts.body")" = "document TOTAL_PASSED" ]
check "doc-ts-tampered fails over HTTP" [ "$(ind raw-doc-ts-tampered)" = TOTAL_FAILED ]
check "fieldmdp-include-locked fails over HTTP" [ "$(ind raw-fieldmdp-include-locked)" = TOTAL_FAILED ]
# B-LTA a day after the signer's certificate (and the older TSA's) expired:
# passes on the document timestamps' proof of existence.
EXP=$(date -u -d "$(openssl x509 -noout -enddate -in "$P/citizen-rsa.pem" | cut -d= -f2) + 1 day" +%Y-%m-%dT%H:%M:%SZ)
"$K" verify --config "$CFG" --at "$EXP" --signature "$P/pdf/b-lta.pdf" >"$T/cli.json" 2>/dev/null
req blta -H 'Content-Type: application/pdf' --data-binary "@$P/pdf/b-lta.pdf" "$B/api/v1/verify?at=$EXP"
check "b-lta after expiry = cli" same_as_cli blta
check "b-lta after expiry passes, POE from a document timestamp" \
    [ "$(jq -r '.indication + " " + .signers[0].poe.source' "$T/blta.body")" = "TOTAL_PASSED document_timestamp" ]
cli "$P/pdf/good-cades-ec.pdf"
req mp -F "signature=@$P/pdf/good-cades-ec.pdf;type=application/pdf" "$B/api/v1/verify?at=$AT"
check "multipart signature part = cli" same_as_cli mp
jq -n --arg s "$(base64 -w 0 "$P/pdf/good-cades-ec.pdf")" '{signature: $s}' >"$T/req.json"
req json -H 'Content-Type: application/json' --data-binary "@$T/req.json" "$B/api/v1/verify?at=$AT"
check "JSON base64 = cli" same_as_cli json
req enc -H 'Content-Type: application/pdf' --data-binary "@$P/pdf/encrypted.pdf" "$B/api/v1/verify"
check "encrypted: 415 KS_E_PDF_ENCRYPTED" bash -c "[ \"\$(cat '$T/enc.code')\" = 415 ] && [ \"\$(jq -r .code '$T/enc.body')\" = KS_E_PDF_ENCRYPTED ]"
req unsigned -H 'Content-Type: application/pdf' --data-binary "@$P/pdf/unsigned.pdf" "$B/api/v1/verify"
check "unsigned: 400 KS_E_PDF_UNSIGNED" bash -c "[ \"\$(cat '$T/unsigned.code')\" = 400 ] && [ \"\$(jq -r .code '$T/unsigned.body')\" = KS_E_PDF_UNSIGNED ]"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
