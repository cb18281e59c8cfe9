#!/usr/bin/env bash
# tests/test_fcgi.sh - kensho-fcgi black-box, through the real nginx on
# 127.0.0.1 (free ports), both started and stopped here:
#   every route; multipart, raw and JSON give the verdict bin/kensho gives;
#   every error status; X-Request-Id end to end; SIGHUP reloads under load
#   without a failed request, a bad configuration refused; SIGTERM drains a
#   request in flight; the audit chain intact, and broken when a line is
#   altered; no personal data in any log.
# Bounded: every curl has --max-time, load runs 3 s, waits are capped.
set -u
K=${KENSHO:?}
P=${PKI:?}
HERE=$(cd "$(dirname "$0")" && pwd)
FCGI=$(dirname "$K")/kensho-fcgi
# shellcheck source=tests/fcgi/stack.sh
. "$HERE/fcgi/stack.sh"
# shellcheck source=tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ks_require_tools curl nginx python3 envsubst jq
[ -x "$FCGI" ] || ks_give_up "no $FCGI"

ks_test_dir fcgi-test

AT=$(date -u +%Y-%m-%dT%H:%M:%SZ)
write_config() { # write_config FILE AUDIT_PATH REQUIRED [EXTRA_TOP_LEVEL_JSON]
    cat >"$1" <<JSON
{"trust_anchors": ["$P/anchors"], "intermediates": ["$P/intermediates"],
 "revocation": {"mode": "off"}, "accept_policies": ["1.2.392.200149.8.5.1.1.20"],
 "crls": ["${CRL_FILE:-$P/pref-ca.crl}"],
 "limits": {"max_body_bytes": 262144, "max_parts": 8, "max_json_depth": 8, "request_timeout_ms": 10000},
 "service": {"threads": 4},
 "audit": {"path": "$2", "required": $3, "fsync": "always"}${4:-}}
JSON
}
CFG=$T/kensho.json
write_config "$T/good.json" "$T/audit.log" true
cp "$T/good.json" "$CFG"
LOG=$T/fcgi.log
ks_test_stack "$T" "$CFG" 4
# req, code_is, header, jget: tests/fcgi/stack.sh; the answers in $T.
problem_is() { # problem_is NAME STATUS CODE: status, media type, code, request_id = X-Request-Id
    code_is "$1" "$2" &&
        header "$1" Content-Type | grep -q '^application/problem+json' &&
        [ "$(jget "$T/$1.body" code)" = "$3" ] &&
        [ "$(jget "$T/$1.body" status)" = "$2" ] &&
        [ "$(jget "$T/$1.body" request_id)" = "$(header "$1" X-Request-Id)" ]
}
same_json() { # same_json A B: equal as JSON values
    [ "$(jq -n --slurpfile a "$1" --slurpfile b "$2" '$a == $b' 2>/dev/null)" = true ]
}

# ---- routes ----
req healthz "$B/healthz"
check "healthz 200" code_is healthz 200
check "healthz body" [ "$(jget "$T/healthz.body" status)" = ok ]
req readyz "$B/readyz"
check "readyz 200" code_is readyz 200
check "readyz trust store" [ "$(jget "$T/readyz.body" checks.trust_store.ok)" = true ]
check "readyz memcached" [ "$(jget "$T/readyz.body" checks.memcached.ok)" = true ]
check "readyz crls" [ "$(jget "$T/readyz.body" checks.crls.ok)" = true ]
check "readyz status ready, not draining" \
    [ "$(jget "$T/readyz.body" status) $(jget "$T/readyz.body" checks.draining.ok)" = "ready true" ]
req index "$B/"
check "static page 200" code_is index 200
check "CSP header" [ "$(header index Content-Security-Policy)" = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'" ]
check "nosniff" [ "$(header index X-Content-Type-Options)" = nosniff ]
check "no referrer" [ "$(header index Referrer-Policy)" = no-referrer ]
req notfound "$B/api/v1/nothing"
check "404 problem" problem_is notfound 404 HTTP_NOT_FOUND
req wrongmethod "$B/api/v1/verify"
check "405 problem" problem_is wrongmethod 405 HTTP_METHOD_NOT_ALLOWED
check "405 Allow: POST" [ "$(header wrongmethod Allow)" = POST ]
req wrongmethod2 -X POST --data x "$B/healthz"
check "405 on healthz" problem_is wrongmethod2 405 HTTP_METHOD_NOT_ALLOWED

# ---- the same verdict as bin/kensho, for every input form ----
cli() { "$K" "$@" --config "$CFG" --at "$AT" >"$T/cli.json" 2>/dev/null; }
same_as_cli() { # same_as_cli NAME: the HTTP verdict equals $T/cli.json
    code_is "$1" 200 && header "$1" Content-Type | grep -q '^application/json' && same_json "$T/$1.body" "$T/cli.json"
}
for s in rsa expired tampered-sig rogue; do
    cli verify --signature "$P/sig-attached-$s.p7m"
    req "raw-$s" -H 'Content-Type: application/pkcs7-mime' --data-binary "@$P/sig-attached-$s.p7m" "$B/api/v1/verify?at=$AT"
    check "raw sig-attached-$s = cli" same_as_cli "raw-$s"
done
check "raw rsa passes" [ "$(jget "$T/raw-rsa.body" indication)" = TOTAL_PASSED ]
cli verify --signature "$P/sig-attached-rsa.pem"
req raw-pem -H 'Content-Type: application/octet-stream' --data-binary "@$P/sig-attached-rsa.pem" "$B/api/v1/verify?at=$AT"
check "raw PEM = cli" same_as_cli raw-pem
for d in doc doc-tampered; do
    cli verify --signature "$P/sig-detached-rsa.p7s" --content "$P/$d.txt"
    req "mp-$d" -F "signature=@$P/sig-detached-rsa.p7s" -F "content=@$P/$d.txt" "$B/api/v1/verify?at=$AT"
    check "multipart detached + $d = cli" same_as_cli "mp-$d"
    # the content with line breaks (base64 -w 76 as MIME writes it), escaped by jq
    jq -n --arg s "$(base64 -w 0 "$P/sig-detached-rsa.p7s")" --arg c "$(base64 -w 76 "$P/$d.txt")" \
        '{signature: $s, content: $c}' >"$T/req.json"
    req "json-$d" -H 'Content-Type: application/json' --data-binary "@$T/req.json" "$B/api/v1/verify?at=$AT"
    check "JSON detached + $d = cli" same_as_cli "json-$d"
done
check "multipart passes" [ "$(jget "$T/mp-doc.body" indication)" = TOTAL_PASSED ]
check "tampered content fails" [ "$(jget "$T/mp-doc-tampered.body" subindication)" = HASH_FAILURE ]
# XML Signature filings: an e-Tax .xtx as application/xml, an e-Gov package
# as application/zip, and the e-Gov signature with its forms as multipart.
X=$P/xml
cli verify --signature "$X/etax-rsa.xtx"
req xml-etax -H 'Content-Type: application/xml' --data-binary "@$X/etax-rsa.xtx" "$B/api/v1/verify?at=$AT"
check "application/xml e-Tax = cli" same_as_cli xml-etax
cli verify --signature "$X/egov.zip"
req xml-zip -H 'Content-Type: application/zip' --data-binary "@$X/egov.zip" "$B/api/v1/verify?at=$AT"
check "application/zip e-Gov = cli" same_as_cli xml-zip
check "e-Gov package verifies" [ "$(jget "$T/xml-zip.body" format)" = xmldsig ]
cli verify --signature "$X/egov/kousei.xml" --content "$X/egov/form1.xml" --content "$X/egov/form2.pdf"
req xml-mp -F "signature=@$X/egov/kousei.xml" -F "attachment=@$X/egov/form1.xml" -F "attachment=@$X/egov/form2.pdf" \
    "$B/api/v1/verify?at=$AT"
check "multipart e-Gov with its forms = cli" same_as_cli xml-mp
check "multipart e-Gov passes" [ "$(jget "$T/xml-mp.body" indication)" = TOTAL_PASSED ]

# Every file part besides "signature" is content or an attachment (XML
# signatures name theirs by file name), as --content is on the command line.
cli verify --signature "$P/sig-detached-rsa.p7s" --content "$P/doc.txt"
req mp-attachment -F "signature=@$P/sig-detached-rsa.p7s" -F "extra=@$P/doc.txt;filename=attachment.xml" "$B/api/v1/verify?at=$AT"
check "multipart with an attachment part = cli" same_as_cli mp-attachment
cli cert --cert "$P/citizen-rsa.pem"
req cert-raw -H 'Content-Type: application/x-pem-file' --data-binary "@$P/citizen-rsa.pem" "$B/api/v1/certificate?at=$AT"
check "certificate raw PEM = cli" same_as_cli cert-raw
jq -Rs '{certificate: .}' "$P/citizen-rsa.pem" >"$T/cert.json"
req cert-json -H 'Content-Type: application/json' --data-binary "@$T/cert.json" "$B/api/v1/certificate?at=$AT"
check "certificate JSON = cli" same_as_cli cert-json
openssl x509 -in "$P/citizen-expired.pem" -outform DER -out "$T/expired.der"
cli cert --cert "$T/expired.der"
req cert-der -H 'Content-Type: application/pkix-cert' --data-binary "@$T/expired.der" "$B/api/v1/certificate?at=$AT"
check "certificate DER = cli" same_as_cli cert-der
req at-old -H 'Content-Type: application/pkcs7-mime' --data-binary "@$P/sig-attached-rsa.p7m" "$B/api/v1/verify?at=2001-01-01T09:00:00%2B09:00"
check "?at= reaches the verifier" [ "$(jget "$T/at-old.body" validation_time)" = 2001-01-01T00:00:00Z ]

# ---- error statuses ----
req e400 -H 'Content-Type: application/octet-stream' --data-binary 'hello, not a signature' "$B/api/v1/verify"
check "400 not a signature" problem_is e400 400 KS_E_ENCODING
req e400b -H 'Content-Type: application/pkcs7-mime' --data-binary "@$P/certs-only.p7b" "$B/api/v1/verify"
check "400 certificates only" problem_is e400b 400 KS_E_NO_SIGNERS
printf -- '--XX\r\nContent-Disposition: form-data; name="signature"\r\n\r\nabc' >"$T/mp-bad"
req e400c -H 'Content-Type: multipart/form-data; boundary=XX' --data-binary "@$T/mp-bad" "$B/api/v1/verify"
check "400 unterminated multipart" problem_is e400c 400 KS_E_BAD_REQUEST
req e400d -F "content=@$P/doc.txt" "$B/api/v1/verify"
check "400 multipart without signature" problem_is e400d 400 KS_E_BAD_REQUEST
req e400e -H 'Content-Type: application/json' --data-binary '{"signature": "AAAA", "colour": "red"}' "$B/api/v1/verify"
check "400 unknown JSON member" problem_is e400e 400 KS_E_BAD_REQUEST
req e400f -H 'Content-Type: application/pkcs7-mime' --data-binary "@$P/sig-attached-rsa.p7m" "$B/api/v1/verify?at=yesterday"
check "400 bad at" problem_is e400f 400 KS_E_BAD_TIME
printf '[%.0s' $(seq 50) >"$T/deep.json"
printf ']%.0s' $(seq 50) >>"$T/deep.json"
req e413j -H 'Content-Type: application/json' --data-binary "@$T/deep.json" "$B/api/v1/verify"
check "413 JSON too deep" problem_is e413j 413 KS_E_LIMIT
head -c 1900000 /dev/zero >"$T/big.bin" # under nginx's 2m, over kensho's 256 KiB
req e413 -H 'Content-Type: application/octet-stream' --data-binary "@$T/big.bin" "$B/api/v1/verify"
check "413 over max_body_bytes" problem_is e413 413 KS_E_TOO_LARGE
req e415 -H 'Content-Type: text/plain' --data-binary "@$P/sig-attached-rsa.p7m" "$B/api/v1/verify"
check "415 text/plain" problem_is e415 415 KS_E_UNSUPPORTED
req e415b --data-binary "@$P/citizen-rsa.pem" -H 'Content-Type: image/png' "$B/api/v1/certificate"
check "415 certificate as image/png" problem_is e415b 415 KS_E_UNSUPPORTED

# ---- X-Request-Id end to end ----
rid=$(header raw-rsa X-Request-Id)
rid_sane() { [[ "$1" =~ ^[A-Za-z0-9-]{1,64}$ ]]; }
check "request id is sane" rid_sane "$rid"
check "request id in the access log (buffered: flushed within 1 s)" ks_wait_for 5 grep -q "$rid" "$T/nginx/access.log"
# The service log (log.format "json", the default): one object per line; the
# request's line has its id, route, status, indication and duration.
log_line_ok() { # log_line_ok RID INDICATION
    jq -c --arg rid "$1" --arg ind "$2" 'select(.request_id == $rid) |
        select(.msg == "request" and .level == "info" and .route == "verify" and .status == 200 and
               .indication == $ind and (.duration_ms | type) == "number" and
               (.timestamp | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$")))' "$LOG" | grep -q .
}
check "request id in the service log, as a JSON line with its fields" log_line_ok "$rid" TOTAL_PASSED
check "request id in the audit record" grep -q "\"request_id\":\"$rid\"" "$T/audit.log"
check "request ids differ" [ "$rid" != "$(header raw-expired X-Request-Id)" ]

# ---- metrics ----
req metrics "$B/metrics"
check "metrics 200" code_is metrics 200
check "metrics text format" grep -q '^# TYPE kensho_http_requests_total counter' "$T/metrics.body"
check "metrics by indication" grep -q 'kensho_http_requests_total{route="verify",status="200",indication="TOTAL_PASSED"}' "$T/metrics.body"
check "metrics histogram" grep -q 'kensho_http_request_duration_seconds_bucket{route="verify",le="+Inf"}' "$T/metrics.body"
check "metrics in flight" grep -q '^kensho_http_requests_in_flight 1$' "$T/metrics.body"
check "metrics cache per tier" grep -q '^kensho_cache_lookups_total{tier="memory",result="hit"} ' "$T/metrics.body"
check "metrics audit records" grep -Eq '^kensho_audit_records_total [1-9][0-9]*$' "$T/metrics.body"
audit_records=$(awk '/^kensho_audit_records_total /{print $2}' "$T/metrics.body")
audit_syncs=$(awk '/^kensho_audit_syncs_total /{print $2}' "$T/metrics.body")
check "metrics audit syncs: between 1 and one per record ($audit_syncs for $audit_records)" \
    [ "${audit_syncs:-0}" -ge 1 -a "${audit_syncs:-0}" -le "${audit_records:-0}" ]
check "metrics memcached" grep -q '^kensho_memcached_up [01]$' "$T/metrics.body"
check "metrics CRL age" grep -q '^kensho_crl_age_seconds{issuer=".*",file=".*",fresh="true"} [0-9]' "$T/metrics.body"
ver=$("$FCGI" --version | awk '{print $2}')
check "kensho-fcgi --version ($ver) and kensho --version agree" [ -n "$ver" -a "$("$K" --version | awk '{print $2}')" = "$ver" ]
check "metrics build_info names the version, OpenSSL and libxmlsec1" \
    bash -c "grep -F 'kensho_build_info{version=\"$ver\",openssl=\"' '$T/metrics.body' | grep -Eq 'libxmlsec1=\"[0-9][^\"]*\"\} 1\$'"

# ---- every answer so far, verdicts, problems (the 503s and reloads below
# are the service's and nginx's), against the API's own OpenAPI document
# (tests/api/validate.py, Debian's python3-jsonschema) ----
req openapi "$B/api/v1/openapi.json"
check "every answer validates against /api/v1/openapi.json" "$PY" "$HERE/api/validate.py" "$T/openapi.body" "$T"

# ---- SIGHUP under load: no failed request ----
metric() { curl -s --max-time 10 "$B/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
reloads_before=$(metric 'kensho_config_reloads_total{result="ok"}')
cat >"$T/load.lua" <<LUA
local f = io.open("$P/sig-attached-rsa.p7m", "rb")
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/pkcs7-mime"
LUA
if command -v wrk >/dev/null; then
    timeout 20 wrk -t 2 -c 4 -d 3s -s "$T/load.lua" "$B/api/v1/verify" >"$T/wrk.out" 2>&1 &
    loadpid=$!
else # bounded curl loops
    (for _ in $(seq 150); do curl -s --max-time 10 -o /dev/null -w '%{http_code}\n' \
        -H 'Content-Type: application/pkcs7-mime' --data-binary "@$P/sig-attached-rsa.p7m" "$B/api/v1/verify"; done) >"$T/curl.codes" &
    loadpid=$!
fi
for _ in 1 2 3 4 5; do
    sleep 0.4
    kill -HUP "$FCGI_PID"
done
wait "$loadpid"
if [ -f "$T/wrk.out" ]; then
    requests=$(awk '/requests in/ {print $1}' "$T/wrk.out")
    check "load ran ($requests requests)" [ "${requests:-0}" -gt 20 ]
    check "no non-2xx under reload" bash -c "! grep -q 'Non-2xx' '$T/wrk.out'"
    check "no socket errors under reload" bash -c "! grep -q 'Socket errors' '$T/wrk.out'"
    echo "  load: $(grep -E 'Requests/sec|Latency' "$T/wrk.out" | tr -s ' ' | tr '\n' ';')" >&2
else
    check "no failed request under reload" bash -c "[ \$(grep -vc '^200$' '$T/curl.codes') -eq 0 ]"
fi
ks_wait_for 5 bash -c "[ \"\$(curl -s --max-time 5 $B/metrics | awk '\$1 == \"kensho_config_reloads_total{result=\\\"ok\\\"}\" {print \$2}')\" = $((reloads_before + 5)) ]"
check "5 reloads counted" [ "$(metric 'kensho_config_reloads_total{result="ok"}')" = $((reloads_before + 5)) ]

# ---- a bad configuration on reload is refused, the old one kept ----
write_config "$CFG" "$T/audit.log" true ', "service": {"colour": 1}'
sed -i 's/"service": {"threads": 4},//' "$CFG"
kill -HUP "$FCGI_PID"
ks_wait_for 5 grep -q 'reload refused' "$LOG"
check "bad config refused, naming the key" grep -q 'reload refused.*service.colour' "$LOG"
check "failed reload counted" [ "$(metric 'kensho_config_reloads_total{result="failed"}')" = 1 ]
req after-bad -H 'Content-Type: application/pkcs7-mime' --data-binary "@$P/sig-attached-rsa.p7m" "$B/api/v1/verify"
check "old config still serves" [ "$(jget "$T/after-bad.body" indication)" = TOTAL_PASSED ]

# ---- 503 when the audit record cannot be written ----
write_config "$CFG" /nonexistent-dir/audit.log true
kill -HUP "$FCGI_PID"
ks_wait_for 5 bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 $B/readyz)\" = 503 ]"
req e503 -H 'Content-Type: application/pkcs7-mime' --data-binary "@$P/sig-attached-rsa.p7m" "$B/api/v1/verify"
check "503 without an audit log" problem_is e503 503 KS_E_UNAVAILABLE
req ready503 "$B/readyz"
check "readyz 503" code_is ready503 503
check "readyz names the audit log" [ "$(jget "$T/ready503.body" checks.audit_log.ok)" = false ]
fails_before=$(metric kensho_audit_write_failures_total)
write_config "$CFG" /nonexistent-dir/audit.log false
kill -HUP "$FCGI_PID"
ks_wait_for 5 bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 $B/readyz)\" = 200 ]"
req noaudit -H 'Content-Type: application/pkcs7-mime' --data-binary "@$P/sig-attached-rsa.p7m" "$B/api/v1/verify"
check "audit.required false: verified anyway" [ "$(jget "$T/noaudit.body" indication)" = TOTAL_PASSED ]
check "audit failure counted" [ "$(metric kensho_audit_write_failures_total)" -gt "${fails_before:-0}" ]
cp "$T/good.json" "$CFG"
kill -HUP "$FCGI_PID"
ks_wait_for 5 bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 $B/readyz)\" = 200 ]"
req back -H 'Content-Type: application/pkcs7-mime' --data-binary "@$P/sig-attached-rsa.p7m" "$B/api/v1/verify"
check "audit back after reload" code_is back 200

# ---- log.format and log.level, changed by a reload ----
reload_wait() { # SIGHUP, then wait until the log says how it went
    local n
    n=$(grep -c 'configuration reloaded\|reload refused' "$LOG")
    kill -HUP "$FCGI_PID"
    ks_wait_for 5 bash -c "[ \$(grep -c 'configuration reloaded\|reload refused' '$LOG') -gt $n ]"
}
cp "$LOG" "$T/fcgi-json.log" # everything so far was logged as JSON
write_config "$CFG" "$T/audit.log" true ', "log": {"format": "text"}'
reload_wait
req logtext -H 'Content-Type: application/pkcs7-mime' --data-binary "@$P/sig-attached-rsa.p7m" "$B/api/v1/verify"
rid_text=$(header logtext X-Request-Id)
check "log.format text: the request's line" \
    grep -q "^kensho: info: request request_id=$rid_text method=POST route=verify status=200 indication=TOTAL_PASSED code=- duration_ms=" "$LOG"
write_config "$CFG" "$T/audit.log" true ', "log": {"format": "json", "level": "warn"}'
reload_wait
req logwarn -H 'Content-Type: application/pkcs7-mime' --data-binary "@$P/sig-attached-rsa.p7m" "$B/api/v1/verify"
check "log.level warn: answered" code_is logwarn 200
sleep 0.3
check "log.level warn: no request line" bash -c "! grep -q '$(header logwarn X-Request-Id)' '$LOG'"
write_config "$CFG" "$T/audit.log" true ', "log": {"format": "xml"}'
reload_wait
check "log.format xml refused on reload, naming the key" grep -q 'reload refused.*log\.format' "$LOG"
cp "$T/good.json" "$CFG"
kill -HUP "$FCGI_PID"
ks_wait_for 5 bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 $B/readyz)\" = 200 ]"

# ---- a configured CRL past its nextUpdate: degraded, still ready ----
# (issue 22: one stale CRL made every node answer 503 at once, although
# OCSP or a fresher CRL still gives correct verdicts)
cp "$P/pref-ca-stale.crl" "$T/live.crl"
CRL_FILE=$T/live.crl write_config "$CFG" "$T/audit.log" true
kill -HUP "$FCGI_PID"
ks_wait_for 5 bash -c "curl -s --max-time 5 $B/readyz | grep -q degraded"
req stale "$B/readyz"
check "readyz 200 for a stale CRL" code_is stale 200
check "readyz says degraded" [ "$(jget "$T/stale.body" status)" = degraded ]
check "readyz names the CRLs" [ "$(jget "$T/stale.body" checks.crls.degraded)" = true ]
check "metrics show the stale CRL" grep -q 'fresh="false"' <(curl -s --max-time 5 "$B/metrics")
# a fresh CRL put in its place is used without a SIGHUP (mtime watched)
reloads=$(grep -c 'configuration reloaded' "$LOG")
sleep 1.1 # a new mtime even on coarse clocks
cp "$P/pref-ca.crl" "$T/live.crl.tmp" && mv "$T/live.crl.tmp" "$T/live.crl"
ks_wait_for 10 bash -c "[ \"\$(curl -s --max-time 5 $B/readyz | jq -r .status)\" = ready ]"
check "a replaced CRL file is re-read without SIGHUP (readyz ready again)" \
    [ "$(curl -s --max-time 5 "$B/readyz" | jq -r .status)" = ready ]
check "... by a reload the service started itself" \
    [ "$(grep -c 'configuration reloaded' "$LOG")" -gt "$reloads" ]
check "... and says why" grep -q 'live.crl changed on disk: reloading' "$LOG"
cp "$T/good.json" "$CFG"
kill -HUP "$FCGI_PID"
ks_wait_for 5 bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 $B/readyz)\" = 200 ]"

# ---- SIGTERM drains a request in flight ----
rm -f "$T/ready"
timeout 30 "$(command -v /usr/bin/python3 || command -v python3)" "$HERE/fcgi/fcgi_client.py" "$SOCK" POST /api/v1/verify application/pkcs7-mime \
    "$P/sig-attached-rsa.p7m" "$T/ready" 1.5 >"$T/drain.out" 2>"$T/drain.err" &
clientpid=$!
ks_wait_for 10 test -f "$T/ready"
sleep 0.2
ks_stop "$FCGI_PID" 20
rc=$KS_STOP_RC
FCGI_PID=
wait "$clientpid"
check "in-flight request completed" [ $? -eq 0 ]
check "in-flight request answered 200" grep -q '^Status: 200' "$T/drain.out"
check "in-flight verdict complete" grep -q '"indication":"TOTAL_PASSED"' "$T/drain.out"
check "SIGTERM exit 0 (got $rc)" [ "$rc" = 0 ]
check "socket removed at exit" [ ! -e "$SOCK" ]
check "no sanitizer report" bash -c "! grep -qE 'Sanitizer|runtime error' '$LOG'"
ks_stop "$NGINX_PID" 10
NGINX_PID=

# ---- the audit chain ----
lines=$(wc -l <"$T/audit.log")
check "audit records written ($lines)" [ "$lines" -gt 20 ]
"$K" audit-verify "$T/audit.log" >"$T/av.json"
check "audit chain intact (exit 0)" [ $? -eq 0 ]
check "audit-verify reports intact" [ "$(jget "$T/av.json" intact)" = true ]
check "audit-verify counts lines" [ "$(jget "$T/av.json" lines)" = "$lines" ]
check "records carry the signer fingerprint" grep -q '"signer_sha256":"[0-9a-f]\{64\}"' "$T/audit.log"
check "records carry the policy" grep -q '"policy":{' "$T/audit.log"
# line 3: a verdict rewritten (and its time, so the line surely changes)
sed '3s/"time":"2/"time":"1/; 3s/TOTAL_FAILED/TOTAL_PASSED/; 3s/INDETERMINATE/TOTAL_PASSED/' "$T/audit.log" >"$T/audit-altered.log"
"$K" audit-verify "$T/audit-altered.log" >"$T/av2.json"
check "altered audit log: exit 1" [ $? -eq 1 ]
check "altered audit log: names line 4" [ "$(jget "$T/av2.json" line)" = 4 ]
head -c -10 "$T/audit.log" >"$T/audit-torn.log"
"$K" audit-verify "$T/audit-torn.log" >"$T/av3.json"
check "torn audit log: exit 1" [ $? -eq 1 ]

# ---- the service log: JSON lines only ----
bad_lines=$(jq -Rc 'fromjson? // "NOT JSON" | if type == "object" and (.timestamp | type) == "string" and
    (.level | IN("error", "warn", "info", "debug")) and (.msg | type) == "string" then empty else . end' \
    "$T/fcgi-json.log" 2>&1 | head -n 3)
check "every line of the JSON log is an object with timestamp, level and msg ($bad_lines)" \
    [ -z "$bad_lines" -a -s "$T/fcgi-json.log" ]

# ---- no personal data in any log or in the audit file ----
check "the verdict does carry the JPKI name (so the grep means something)" grep -q '検証' "$T/raw-rsa.body"
sleep 1.5 # nginx flushes its buffered access log every second
for f in "$LOG" "$T/nginx/access.log" "$T/nginx/error.log" "$T/audit.log"; do
    check "no name/address/subject in $(basename "$f")" bash -c "! grep -qE '検証|長野県松本市|SYNTH[0-9]' '$f'"
done

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
