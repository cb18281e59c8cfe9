#!/usr/bin/env bash
# tests/test_api.sh - the integrator's API (issue #23) through the real nginx
# and kensho-fcgi on 127.0.0.1 (free ports), both started and stopped here:
#   GET /api/v1/openapi.json is OpenAPI 3.1 whose enums are the codes the
#   sources can emit; every answer of this test (verdicts of each format and
#   input form, every error status) validates against it with Debian's
#   python3-jsonschema (tests/api/validate.py);
#   api_version in every verdict; signed PDFs of every fixture validate too;
# Bounded: every curl has --max-time; waits are capped.
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

ks_require_tools curl nginx jq openssl
"$PY" -c 'import jsonschema' 2>/dev/null || ks_give_up "python3-jsonschema missing (tests/install-deps.sh)"
[ -x "$FCGI" ] || ks_give_up "no $FCGI"

ks_test_dir api-test
A=$T/answers # every answer, for the schema check
KS_ANSWERS=$A # where req, code_is and header (tests/fcgi/stack.sh) keep them
mkdir -p "$A"

AT=$(date -u +%Y-%m-%dT%H:%M:%SZ)
CFG=$T/kensho.json
write_config() { # write_config FILE [EXTRA_TOP_LEVEL_JSON]
    cat >"$1" <<JSON
{"trust_anchors": ["$P/anchors"], "intermediates": ["$P/intermediates"],
 "revocation": {"mode": "off"}, "accept_policies": ["1.2.392.200149.8.5.1.1.20"],
 "crls": ["${CRL_FILE:-$P/pref-ca.crl}"], "timestamp_anchors": ["$P/tsa-ca.pem"],
 "limits": {"max_body_bytes": 262144, "max_parts": 8, "max_json_depth": 8, "request_timeout_ms": 10000, "max_batch": 6},
 "service": {"threads": 2},
 "audit": {"path": "$T/audit.log", "required": true, "fsync": "always"}${2:-}}
JSON
}
write_config "$CFG"
# The gateway's verdict-signing keys (ES256, PS256) and a stranger's.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/vs-ec.key" -out "$T/vs-ec.pem" \
    -subj /CN=kensho-verdicts-ec -days 30 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/vs-rsa.key" -out "$T/vs-rsa.pem" -subj /CN=kensho-verdicts-rsa \
    -days 30 2>/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/other.key" -out "$T/other.pem" \
    -subj /CN=someone-else -days 30 2>/dev/null
ks_test_stack "$T" "$CFG" 2

# ---- the document ----
req openapi "$B/api/v1/openapi.json"
check "openapi.json 200" code_is openapi 200
cp "$A/openapi.body" "$T/openapi.json"
check "OpenAPI 3.1" [ "$(jget openapi openapi)" = 3.1.0 ]
check "info.version is the verdicts' api_version" [ "$(jget openapi info.version)" = "$(grep -o 'KS_API_VERSION "[0-9.]*"' "$ROOT/verify/verify.h" | cut -d'"' -f2)" ]
for route in /api/v1/verify /api/v1/verify/batch /api/v1/certificate /api/v1/openapi.json /healthz /readyz /metrics; do
    check "route $route documented" [ "$(jq -r --arg r "$route" '.paths[$r] | keys | length' "$T/openapi.json")" -ge 1 ]
done
check "no enum left unfilled" [ "$(grep -c x-kensho-enum "$T/openapi.json")" = 0 ]
enum() { jq -r ".components.schemas.$1" "$T/openapi.json"; }
# The enums are the sources' own vocabulary (filled from the tables at run
# time; checked here against the sources so neither side can drift).
subs=$(sed -n '/define KS_SUBINDICATIONS/,/^$/p' "$ROOT/verify/verify.h" | grep -o 'X([A-Z_]*)' | sed 's/X(//; s/)//' | grep -v '^NONE$' | sort)
check "subindication enum = KS_SUBINDICATIONS" [ "$(enum 'Verdict.properties.subindication.oneOf[1].enum[]' | sort)" = "$subs" ]
results=$(grep -o 'X(KS_E_[A-Z_]*' "$ROOT/cache/base.h" | sed 's/X(//' | sort)
check "problem code enum has every KS_RESULTS error" [ -z "$(comm -23 <(echo "$results") <(enum 'Problem.properties.code.enum[]' | sort))" ]
warns=$(grep -ho 'ks_verdict_warn([a-z]*, "[A-Z_]*"' "$ROOT"/verify/*.c | grep -o '"[A-Z_]*"' | tr -d '"' | sort -u)
check "warning codes in the sources are found" [ -n "$warns" ]
check "warning code enum has every code the sources emit" [ -z "$(comm -23 <(echo "$warns") <(enum 'Warning.properties.code.enum[]' | sort))" ]
check "reason code enum has VALID and every subindication" [ -z "$(comm -23 <(printf 'VALID\n%s\n' "$subs" | sort) <(enum 'Reason.properties.code.enum[]' | sort))" ]
check "reason code enum has the CRL reasons" bash -c "jq -e '.components.schemas.Reason.properties.code.enum | index(\"keyCompromise\")' '$T/openapi.json' >/dev/null"

# ---- answers of every kind ----
req healthz "$B/healthz"
req readyz "$B/readyz"
req metrics "$B/metrics"
for s in rsa expired tampered-sig rogue revoked ec; do
    req "raw-$s" -H 'Content-Type: application/pkcs7-mime' --data-binary "@$P/sig-attached-$s.p7m" "$B/api/v1/verify?at=$AT"
done
req three -H 'Content-Type: application/pkcs7-mime' --data-binary "@$P/sig-three-signers.p7m" "$B/api/v1/verify"
req mp-doc -F "signature=@$P/sig-detached-rsa.p7s" -F "content=@$P/doc.txt" "$B/api/v1/verify"
req mp-tampered -F "signature=@$P/sig-detached-rsa.p7s" -F "content=@$P/doc-tampered.txt" "$B/api/v1/verify"
req detached-alone -H 'Content-Type: application/pkcs7-signature' --data-binary "@$P/sig-detached-rsa.p7s" "$B/api/v1/verify"
jq -n --arg s "$(base64 -w 0 "$P/sig-detached-rsa.p7s")" --arg c "$(base64 -w 0 "$P/doc.txt")" '{signature: $s, content: $c}' >"$T/req.json"
req json-doc -H 'Content-Type: application/json' --data-binary "@$T/req.json" "$B/api/v1/verify"
X=$P/xml
req xml-etax -H 'Content-Type: application/xml' --data-binary "@$X/etax-rsa.xtx" "$B/api/v1/verify"
req xml-etax-tampered -H 'Content-Type: application/xml' --data-binary "@$X/etax-tampered.xtx" "$B/api/v1/verify"
req xml-zip -H 'Content-Type: application/zip' --data-binary "@$X/egov.zip" "$B/api/v1/verify"
req xml-unsigned -H 'Content-Type: application/zip' --data-binary "@$X/egov-unsigned.zip" "$B/api/v1/verify"
req xml-mp -F "signature=@$X/egov/kousei.xml" -F "attachment=@$X/egov/form1.xml" -F "attachment=@$X/egov/form2.pdf" "$B/api/v1/verify"
# XAdES-T and -X-L (issue #20): timestamps, poe and validation_model in the document
XG=$X/egov-xades
for f in t xl; do
    req "xades-$f" -F "signature=@$XG/kousei-$f.xml" -F "attachment=@$XG/form1.xml" -F "attachment=@$XG/form2.pdf" \
        "$B/api/v1/verify"
    check "xades-$f: TOTAL_PASSED with a POE from its SignatureTimeStamp" \
        [ "$(jget "xades-$f" indication) $(jget "xades-$f" poe.source) $(jget "xades-$f" 'timestamps[0].type')" = \
            "TOTAL_PASSED signature_timestamp signature" ]
done
# Long-term validation (issue #20): ES-A (archive timestamps), ES-X-L and
# ES-T signatures made by tests/test_ltv.c, at the validation time it names.
mkdir -p "$T/ltv"
if PKI=$P "${OUT:-build/rel}/tests/test_ltv" --emit "$T/ltv" >/dev/null 2>&1; then
    LAT=$(cat "$T/ltv/ltv-at.txt")
    for f in esa esa-twice esa-none revoked-after-ts xl; do
        req "ltv-$f" -H 'Content-Type: application/pkcs7-mime' --data-binary "@$T/ltv/ltv-$f.p7m" "$B/api/v1/verify?at=$LAT"
    done
fi
check "ES-A through the API: TOTAL_PASSED" [ "$(jget ltv-esa indication 2>/dev/null)" = TOTAL_PASSED ]
check "ES-A: the archive timestamp is reported, and passed" \
    [ "$(jq -r '[.signers[0].timestamps[] | select(.type == "archive") | .indication] | join(",")' "$A/ltv-esa.body" 2>/dev/null)" = TOTAL_PASSED ]
check "ES-A without its archive timestamp: OUT_OF_BOUNDS_NO_POE" [ "$(jget ltv-esa-none subindication 2>/dev/null)" = OUT_OF_BOUNDS_NO_POE ]
for f in "$P"/pdf/*.pdf; do # signed PDFs, of each outcome the PKI makes (format "pdf")
    req "pdf-$(basename "$f" .pdf)" -H 'Content-Type: application/pdf' --data-binary "@$f" "$B/api/v1/verify"
done
req cert-raw -H 'Content-Type: application/x-pem-file' --data-binary "@$P/citizen-rsa.pem" "$B/api/v1/certificate"
req cert-revoked -H 'Content-Type: application/x-pem-file' --data-binary "@$P/citizen-revoked.pem" "$B/api/v1/certificate"
jq -Rs '{certificate: .}' "$P/citizen-expired.pem" >"$T/cert.json"
req cert-json -H 'Content-Type: application/json' --data-binary "@$T/cert.json" "$B/api/v1/certificate"
for n in raw-rsa raw-revoked three mp-doc detached-alone xml-zip xml-etax-tampered cert-raw; do
    check "$n: api_version" [ "$(jget "$n" api_version)" = "$(jget openapi info.version)" ]
done
check "detached alone is SIGNED_DATA_NOT_FOUND" [ "$(jget detached-alone subindication)" = SIGNED_DATA_NOT_FOUND ]
# hash-only (content_digests): the content's digest, another's, XML, and beside content
dig() { jq -n --arg s "$(base64 -w 0 "$1")" --arg d "$(openssl dgst -sha256 -binary "$2" | base64 -w 0)" \
    "{signature: \$s, content_digests: [{algorithm: \"sha256\", value: \$d}]${3:-}}"; }
dig "$P/sig-detached-rsa.p7s" "$P/doc.txt" >"$T/h1.json"
req hash-good -H 'Content-Type: application/json' --data-binary "@$T/h1.json" "$B/api/v1/verify"
check "hash-only: TOTAL_PASSED" [ "$(jget hash-good indication)" = TOTAL_PASSED ]
check "hash-only: content_checked digest" [ "$(jget hash-good content_checked)" = digest ]
dig "$P/sig-detached-rsa.p7s" "$P/doc-tampered.txt" >"$T/h2.json"
req hash-other -H 'Content-Type: application/json' --data-binary "@$T/h2.json" "$B/api/v1/verify"
check "hash-only, another content's digest: HASH_FAILURE" [ "$(jget hash-other subindication)" = HASH_FAILURE ]
dig "$P/xml/etax-rsa.xtx" "$P/doc.txt" >"$T/h3.json"
req hash-xml -H 'Content-Type: application/json' --data-binary "@$T/h3.json" "$B/api/v1/verify"
check "hash-only XML, the digest unnamed: 400 KS_E_BAD_REQUEST" [ "$(cat "$A/hash-xml.code") $(jget hash-xml code)" = "400 KS_E_BAD_REQUEST" ]
# hash-only for an e-Gov package: the signed XML (or a ZIP) and named digests
# instead of its attachments: xdig SIG NAME=ALG:FILE...
xdig() {
    local sig=$1 ds='[]' spec name alg file
    shift
    for spec in "$@"; do
        name=${spec%%=*} alg=${spec#*=} file=${alg#*:} alg=${alg%%:*}
        ds=$(jq -c --arg n "$name" --arg a "$alg" --arg v "$(openssl dgst "-$alg" -binary "$X/$file" | base64 -w 0)" \
            '. + [{name: $n, algorithm: $a, value: $v}]' <<<"$ds")
    done
    jq -n --arg s "$(base64 -w 0 "$X/$sig")" --argjson d "$ds" '{signature: $s, content_digests: $d}'
}
xreq() { # xreq NAME SIG SPEC...
    local n=$1
    shift
    xdig "$@" >"$T/$n.json"
    req "$n" -H 'Content-Type: application/json' --data-binary "@$T/$n.json" "$B/api/v1/verify"
}
verdict_is() { [ "$(jq -r '[.indication, (.subindication // "-"), (.content_checked // "-")] | join(" ")' "$A/$1.body")" = "$2" ]; }
F1=form1.xml=sha256:egov/form1.xml F2=form2.pdf=sha256:egov/form2.pdf
xreq xh-good egov/kousei.xml "$F1" "$F2"
check "XML hash-only: TOTAL_PASSED, content_checked digest" verdict_is xh-good "TOTAL_PASSED - digest"
check "XML hash-only: both attachments checked by digest" [ "$(jq '[.signers[0].references[] | select(.content_checked == "digest")] | length' "$A/xh-good.body")" = 2 ]
xreq xh-wrong egov/kousei.xml form1.xml=sha256:egov-altered/form1.xml "$F2"
check "XML hash-only, a wrong digest: HASH_FAILURE" verdict_is xh-wrong "TOTAL_FAILED HASH_FAILURE digest"
xreq xh-swapped egov/kousei.xml form1.xml=sha256:egov/form2.pdf form2.pdf=sha256:egov/form1.xml
check "XML hash-only, digests swapped between References: HASH_FAILURE" verdict_is xh-swapped "TOTAL_FAILED HASH_FAILURE digest"
xreq xh-alg egov/kousei.xml form1.xml=sha384:egov/form1.xml "$F2"
check "XML hash-only, not the Reference's algorithm: SIGNED_DATA_NOT_FOUND" verdict_is xh-alg "INDETERMINATE SIGNED_DATA_NOT_FOUND digest"
xreq xh-fewer egov/kousei.xml "$F1"
check "XML hash-only, fewer digests than References: SIGNED_DATA_NOT_FOUND" verdict_is xh-fewer "INDETERMINATE SIGNED_DATA_NOT_FOUND digest"
xreq xh-more egov/kousei.xml "$F1" "$F2" note.txt=sha256:egov/form1.xml
check "XML hash-only, more digests than References: passes, the extra one unsigned" [ "$(jq -r '[.indication, .unsigned_attachments[0], (.warnings | map(.code) | index("ATTACHMENT_NOT_SIGNED") != null | tostring)] | join(" ")' "$A/xh-more.body")" = "TOTAL_PASSED note.txt true" ]
xreq xh-both egov.zip "$F1"
check "XML hash-only, a ZIP entry and its digest: KS_E_CONTENT_CONFLICT" [ "$(jget xh-both code)" = KS_E_CONTENT_CONFLICT ]
xreq xh-c14n egov-c14n.xml "$F1" "$F2"
check "XML hash-only, a Reference that transforms its file: SIGNED_DATA_NOT_FOUND" verdict_is xh-c14n "INDETERMINATE SIGNED_DATA_NOT_FOUND digest"
jq '.content_digests[0] += {name: "doc.txt"}' "$T/h1.json" >"$T/h5.json"
req hash-cms-named -H 'Content-Type: application/json' --data-binary "@$T/h5.json" "$B/api/v1/verify"
check "CMS hash-only with a named digest: 400 KS_E_BAD_REQUEST" [ "$(jget hash-cms-named code)" = KS_E_BAD_REQUEST ]
"$K" verify --config "$CFG" --signature "$X/egov/kousei.xml" --content-digest "sha256:$(sha256sum "$X/egov/form1.xml" | cut -c1-64):form1.xml" \
    --content-digest "sha256:$(sha256sum "$X/egov/form2.pdf" | cut -c1-64):form2.pdf" >"$T/cli-xh.json"
check "CLI --content-digest ALG:HEX:NAME (XML): TOTAL_PASSED, exit 0" [ "$? $(jq -r '.indication + " " + .content_checked' "$T/cli-xh.json")" = "0 TOTAL_PASSED digest" ]
"$K" verify --config "$CFG" --signature "$X/egov/kousei.xml" --content-digest "sha256:$(sha256sum "$X/egov-altered/form1.xml" | cut -c1-64):form1.xml" \
    --content-digest "sha256:$(sha256sum "$X/egov/form2.pdf" | cut -c1-64):form2.pdf" >"$T/cli-xh2.json"
check "CLI --content-digest (XML) of a changed file: exit 1 HASH_FAILURE" [ "$? $(jq -r .subindication "$T/cli-xh2.json")" = "1 HASH_FAILURE" ]
dig "$P/sig-detached-rsa.p7s" "$P/doc.txt" ", content: \"$(base64 -w 0 "$P/doc.txt")\"" >"$T/h4.json"
req hash-and-content -H 'Content-Type: application/json' --data-binary "@$T/h4.json" "$B/api/v1/verify"
check "digest beside content: 400 KS_E_CONTENT_CONFLICT" [ "$(jget hash-and-content code)" = KS_E_CONTENT_CONFLICT ]
req hash-bad -H 'Content-Type: application/json' --data-binary '{"signature": "AAAA", "content_digests": [{"algorithm": "sha256"}]}' "$B/api/v1/verify"
check "a digest without value: 400" [ "$(jget hash-bad code)" = KS_E_BAD_REQUEST ]
"$K" verify --config "$CFG" --signature "$P/sig-detached-rsa.p7s" --content-digest "sha256:$(sha256sum "$P/doc.txt" | cut -c1-64)" >"$T/cli-hash.json"
check "CLI --content-digest: TOTAL_PASSED, exit 0" [ "$? $(jq -r '.indication + " " + .content_checked' "$T/cli-hash.json")" = "0 TOTAL_PASSED digest" ]
"$K" verify --config "$CFG" --signature "$P/sig-detached-rsa.p7s" --content-digest "sha256:$(sha256sum "$P/doc-tampered.txt" | cut -c1-64)" >"$T/cli-hash2.json"
check "CLI --content-digest of another content: exit 1 HASH_FAILURE" [ "$? $(jq -r .subindication "$T/cli-hash2.json")" = "1 HASH_FAILURE" ]
# errors
req e400 -H 'Content-Type: application/octet-stream' --data-binary 'hello, not a signature' "$B/api/v1/verify"
req e400json -H 'Content-Type: application/json' --data-binary '{"signature": "AAAA", "colour": "red"}' "$B/api/v1/verify"
req e400at -H 'Content-Type: application/pkcs7-mime' --data-binary "@$P/sig-attached-rsa.p7m" "$B/api/v1/verify?at=yesterday"
req e400nosig -H 'Content-Type: application/pkcs7-mime' --data-binary "@$P/certs-only.p7b" "$B/api/v1/verify"
req e404 "$B/api/v1/nothing"
req e405 "$B/api/v1/verify"
req e405b -X POST --data x "$B/api/v1/openapi.json"
head -c 300000 /dev/zero >"$T/big.bin"
req e413 -H 'Content-Type: application/octet-stream' --data-binary "@$T/big.bin" "$B/api/v1/verify"
req e415 -H 'Content-Type: text/plain' --data-binary x "$B/api/v1/verify"
req e400empty -H 'Content-Type: application/octet-stream' --data-binary '' "$B/api/v1/verify"
check "errors are problems" [ "$(jget e415 code)" = KS_E_UNSUPPORTED ]

# ---- batch: good, bad and malformed items, in order, one audit record per verdict ----
b64() { base64 -w 0 "$1"; }
jq -n --arg good "$(b64 "$P/sig-attached-rsa.p7m")" --arg bad "$(b64 "$P/sig-attached-tampered-sig.p7m")" \
    --arg det "$(b64 "$P/sig-detached-rsa.p7s")" \
    --arg dig "$(openssl dgst -sha256 -binary "$P/doc.txt" | base64 -w 0)" '{items: [
    {id: "good", signature: $good},
    {id: "bad", signature: $bad},
    {id: "not-base64", signature: "%%%"},
    {id: "not-a-signature", signature: "aGVsbG8="},
    {signature: $good},
    {id: "hash-only", signature: $det, content_digests: [{algorithm: "sha256", value: $dig}]}]}' >"$T/batch.json"
before=$(wc -l <"$T/audit.log")
req batch -H 'Content-Type: application/json' --data-binary "@$T/batch.json" "$B/api/v1/verify/batch"
check "batch: 200" code_is batch 200
check "batch: results in order with their ids" [ "$(jq -r '[.results[].id] | map(. // "null") | join(",")' "$A/batch.body")" = "good,bad,not-base64,not-a-signature,null,hash-only" ]
check "batch: statuses per item" [ "$(jq -r '[.results[].status] | map(tostring) | join(",")' "$A/batch.body")" = "200,200,400,400,400,200" ]
check "batch: good passes, bad fails" [ "$(jq -r '[.results[0,1,5].verdict.indication] | join(",")' "$A/batch.body")" = "TOTAL_PASSED,TOTAL_FAILED,TOTAL_PASSED" ]
check "batch: bad is SIG_CRYPTO_FAILURE" [ "$(jq -r '.results[1].verdict.subindication' "$A/batch.body")" = SIG_CRYPTO_FAILURE ]
check "batch: malformed items are problems" [ "$(jq -r "[.results[2,3,4].problem.code] | join(\",\")" "$A/batch.body")" = "KS_E_ENCODING,KS_E_ENCODING,KS_E_BAD_REQUEST" ]
check "batch: hash-only item says so" [ "$(jq -r '.results[5].verdict.content_checked' "$A/batch.body")" = digest ]
check "batch: one audit record per verdict (3)" [ $(($(wc -l <"$T/audit.log") - before)) = 3 ]
check "batch: audit chain intact" "$K" audit-verify "$T/audit.log"
jq '.items += [.items[0]]' "$T/batch.json" >"$T/batch7.json"
req batch-big -H 'Content-Type: application/json' --data-binary "@$T/batch7.json" "$B/api/v1/verify/batch"
check "batch over limits.max_batch: 413 KS_E_LIMIT" [ "$(cat "$A/batch-big.code") $(jget batch-big code)" = "413 KS_E_LIMIT" ]
req batch-empty -H 'Content-Type: application/json' --data-binary '{"items": []}' "$B/api/v1/verify/batch"
check "empty batch: 400" [ "$(jget batch-empty code)" = KS_E_BAD_REQUEST ]
req batch-sign -H 'Content-Type: application/json' --data-binary "@$T/batch.json" "$B/api/v1/verify/batch?sign=1"
check "batch ?sign=1: 400 (not signed)" [ "$(jget batch-sign code)" = KS_E_BAD_REQUEST ]
req batch-multipart -F "signature=@$P/sig-attached-rsa.p7m" "$B/api/v1/verify/batch"
check "batch as multipart: 415" [ "$(jget batch-multipart code)" = KS_E_UNSUPPORTED ]

# ---- signed verdicts ----
req sign-off -H 'Content-Type: application/pkcs7-mime' --data-binary "@$P/sig-attached-rsa.p7m" "$B/api/v1/verify?sign=1"
check "?sign=1 without verdict_signing: 400" [ "$(cat "$A/sign-off.code") $(jget sign-off code)" = "400 KS_E_BAD_REQUEST" ]
# /readyz names a verdict_signing check exactly when the service can sign
# (the citizens' page offers the signed result's download only then).
check "no verdict_signing: /readyz names no verdict_signing check" [ "$(jget readyz checks.verdict_signing)" = null ]
req sign-bad -H 'Content-Type: application/pkcs7-mime' --data-binary "@$P/sig-attached-rsa.p7m" "$B/api/v1/verify?sign=yes"
check "?sign=yes: 400" [ "$(jget sign-bad code)" = KS_E_BAD_REQUEST ]
reload_with() { # reload_with EXTRA_JSON: SIGHUP with it, wait until ?sign=1 is served
    write_config "$CFG" "$1"
    kill -HUP "$FCGI_PID"
    ks_wait_for 10 bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -H 'Content-Type: application/x-pem-file' --data-binary @'$P/citizen-rsa.pem' '$B/api/v1/certificate?sign=1')\" = 200 ]"
}
check "reload with verdict_signing (ES256)" reload_with ", \"verdict_signing\": {\"key_file\": \"$T/vs-ec.key\", \"cert_file\": \"$T/vs-ec.pem\"}"
sign_check() { # sign_check NAME CERT: the answer is a JWS that verify-verdict accepts with CERT
    "$K" verify-verdict --cert "$2" "$A/$1.body" >"$T/$1.vv" 2>/dev/null
}
for alg in ec rsa; do
    [ "$alg" = rsa ] && check "reload with verdict_signing (PS256)" reload_with ", \"verdict_signing\": {\"key_file\": \"$T/vs-rsa.key\", \"cert_file\": \"$T/vs-rsa.pem\"}"
    n=signed-$alg
    req "readyz-$n" "$B/readyz"
    check "$n: /readyz names verdict_signing, ok, with its algorithm" \
        [ "$(jget "readyz-$n" checks.verdict_signing.ok) $(jget "readyz-$n" checks.verdict_signing.detail | cut -d: -f1)" = "true $([ $alg = ec ] && echo ES256 || echo PS256)" ]
    req "$n" -F "signature=@$P/sig-detached-rsa.p7s" -F "content=@$P/doc.txt" "$B/api/v1/verify?sign=1&at=$AT"
    check "$n: 200 application/jose" [ "$(cat "$A/$n.code") $(grep -i '^content-type:' "$A/$n.hdr" | tr -d '\r' | cut -d' ' -f2)" = "200 application/jose" ]
    check "$n: verify-verdict accepts it" sign_check "$n" "$T/vs-$alg.pem"
    hdr_alg=$(cut -d. -f1 "$A/$n.body" | tr '_-' '/+' | base64 -d 2>/dev/null | jq -r .alg 2>/dev/null)
    check "$n: alg $([ $alg = ec ] && echo ES256 || echo PS256)" [ "$hdr_alg" = "$([ $alg = ec ] && echo ES256 || echo PS256)" ]
    pl() { jq -r ".payload.$1" "$T/$n.vv"; }
    check "$n: payload verdict" [ "$(pl verdict.indication) $(pl verdict.api_version)" = "TOTAL_PASSED $(jget openapi info.version)" ]
    check "$n: payload has the signature's SHA-256" [ "$(pl 'inputs[0].role') $(pl 'inputs[0].sha256')" = "signature $(sha256sum <"$P/sig-detached-rsa.p7s" | cut -c1-64)" ]
    check "$n: payload has the content's SHA-256" [ "$(pl 'inputs[1].sha256')" = "$(sha256sum <"$P/doc.txt" | cut -c1-64)" ]
    check "$n: payload has the time" [ "$(pl signed_at | cut -c1-4)" = "$(date -u +%Y)" ]
    seq=$(pl audit.seq)
    line=$(jq -c --argjson s "$seq" 'select(.seq == $s)' "$T/audit.log" 2>/dev/null | head -n 1)
    check "$n: the audit record it names is in the log" [ -n "$line" ]
    check "$n: audit.record_sha256 is that line's hash" [ "$(grep -m1 "\"seq\":$seq," "$T/audit.log" | tr -d '\n' | sha256sum | cut -c1-64)" = "$(pl audit.record_sha256)" ]
    check "$n: not accepted with another certificate" bash -c "! '$K' verify-verdict --cert '$T/other.pem' '$A/$n.body' >/dev/null 2>&1"
done
# tampering: a payload byte changed, the signature cut, alg switched to none or HS256
body=$(cat "$A/signed-rsa.body")
h=${body%%.*}; rest=${body#*.}; p=${rest%%.*}; sg=${rest#*.}
tp=$(printf '%s' "$p" | tr '_-' '/+' | base64 -d 2>/dev/null | sed 's/TOTAL_PASSED/TOTAL_FAILED/' | base64 -w0 | tr '/+' '_-' | tr -d '=')
printf '%s.%s.%s' "$h" "$tp" "$sg" >"$T/tampered.jws"
check "a JWS with its payload altered fails" bash -c "! '$K' verify-verdict --cert '$T/vs-rsa.pem' '$T/tampered.jws' >/dev/null"
printf '%s.%s.' "$h" "$p" >"$T/nosig.jws"
check "a JWS without its signature fails" bash -c "! '$K' verify-verdict --cert '$T/vs-rsa.pem' '$T/nosig.jws' >/dev/null"
for a2 in none HS256 ES256; do
    h2=$(printf '{"alg":"%s"}' "$a2" | base64 -w0 | tr '/+' '_-' | tr -d '=')
    printf '%s.%s.%s' "$h2" "$p" "$sg" >"$T/alg.jws"
    check "a JWS whose header says alg $a2 fails with the RSA certificate" bash -c "! '$K' verify-verdict --cert '$T/vs-rsa.pem' '$T/alg.jws' >/dev/null"
done
"$K" verify-verdict --cert "$T/vs-rsa.pem" "$T/tampered.jws" >"$T/tampered.vv"
check "verify-verdict says why (exit 1, valid false)" [ "$? $(jq -r .valid "$T/tampered.vv")" = "1 false" ]
req signed-cert -H 'Content-Type: application/x-pem-file' --data-binary "@$P/citizen-revoked.pem" "$B/api/v1/certificate?sign=1"
check "certificate route signs too" sign_check signed-cert "$T/vs-rsa.pem"
check "... with the certificate's SHA-256" [ "$(jq -r '.payload.inputs[0].role' "$T/signed-cert.vv")" = certificate ]
req signed-hash -H 'Content-Type: application/json' --data-binary "@$T/h1.json" "$B/api/v1/verify?sign=1"
check "hash-only signed verdict carries the digests" [ "$(sign_check signed-hash "$T/vs-rsa.pem" && jq -r '.payload.content_digests[0].value_hex' "$T/signed-hash.vv")" = "$(sha256sum <"$P/doc.txt" | cut -c1-64)" ]
check "reload with verdict_signing.sign true" reload_with ", \"verdict_signing\": {\"key_file\": \"$T/vs-ec.key\", \"cert_file\": \"$T/vs-ec.pem\", \"sign\": true}"
req signed-default -H 'Content-Type: application/pkcs7-mime' --data-binary "@$P/sig-attached-rsa.p7m" "$B/api/v1/verify"
check "sign: true signs without ?sign=1" sign_check signed-default "$T/vs-ec.pem"
req signed-zero -H 'Content-Type: application/pkcs7-mime' --data-binary "@$P/sig-attached-rsa.p7m" "$B/api/v1/verify?sign=0"
check "?sign=0 answers the plain verdict" [ "$(jget signed-zero indication)" = TOTAL_PASSED ]
check "the audit chain is intact" "$K" audit-verify "$T/audit.log"

# ---- a degraded node: a configured CRL past its nextUpdate ----
# /readyz answers 200 "degraded" (OCSP or a fresher CRL still gives right
# verdicts); the document must allow that status too.
CRL_FILE=$P/pref-ca-stale.crl write_config "$CFG"
kill -HUP "$FCGI_PID"
check "stale CRL: /readyz 200 degraded" ks_wait_for 10 bash -c \
    "curl -s --max-time 5 -o '$T/deg.body' -w '%{http_code}' '$B/readyz' | grep -qx 200 && jq -e '.status == \"degraded\"' '$T/deg.body' >/dev/null"
req readyz-degraded "$B/readyz"

# ---- every answer above against the document ----
check "every answer validates against openapi.json" "$PY" "$HERE/api/validate.py" "$T/openapi.json" "$A"
# ... and the validator does reject: a verdict with an unknown code fails.
mkdir -p "$T/neg"
for f in code hdr req; do cp "$A/raw-rsa.$f" "$T/neg/x.$f"; done
jq '.subindication = "NOT_A_CODE" | .indication = "TOTAL_FAILED"' "$A/raw-rsa.body" >"$T/neg/x.body"
check "a verdict with an unknown subindication is rejected" bash -c "! '$PY' '$HERE/api/validate.py' '$T/openapi.json' '$T/neg' >/dev/null"
jq 'del(.api_version)' "$A/raw-rsa.body" >"$T/neg/x.body"
check "a verdict without api_version is rejected" bash -c "! '$PY' '$HERE/api/validate.py' '$T/openapi.json' '$T/neg' >/dev/null"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
