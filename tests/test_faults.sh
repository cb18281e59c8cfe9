#!/usr/bin/env bash
# tests/test_faults.sh - fault injection through the real service (nginx ->
# kensho-fcgi, started with tests/fcgi/stack.sh) and misbehaving peers
# (tests/revocation/peer.py), all on 127.0.0.1 and free ports.  After each
# fault: a defined verdict or error, and the service still answering.
#   - OCSP responder slower than timeout_ms: TRY_LATER within the timeout,
#     while cached requests keep their latency (p50 compared, 4 threads);
#   - OCSP garbage, 500, truncated body, 100 MB body (with and without
#     Content-Length: refused by max_response_bytes without reading it all),
#     a slow-loris drip;
#   - CRL server: truncated CRL, 100 MB CRL;
#   - memcached killed and restarted under load: no failed request;
#   - kensho-fcgi killed behind nginx: 502/503 meanwhile, then recovery;
#   - the audit log's disk full (a 64 KiB tmpfs; /dev/full when mounting is
#     not allowed): 503 with audit.required, then recovery.
# Bounded: every curl has --max-time, every wait is capped; ~60 s in all.
set -u
K=${KENSHO:?}
P=${PKI:?}
HERE=$(cd "$(dirname "$0")" && pwd)
FCGI=${KS_FAULTS_FCGI:-$(dirname "$K")/kensho-fcgi}
# shellcheck source=tests/fcgi/stack.sh
. "$HERE/fcgi/stack.sh"
# shellcheck source=tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ks_require_tools curl nginx memcached envsubst jq
[ -x "$FCGI" ] || ks_give_up "no $FCGI"

MC_PID=
PEERS=()
AUDIT_MNT=
stop_peers() { # after the stack: memcached, the peers, the audit tmpfs
    [ -n "$MC_PID" ] && ks_stop "$MC_PID" 5
    for p in "${PEERS[@]}"; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    [ -n "$AUDIT_MNT" ] && umount "$AUDIT_MNT" 2>/dev/null
}
ks_test_dir faults stop_peers
ks_rundir "$T"
ks_cache_key "$T/cache.key" # memcached needs the nodes' shared key

# peer NAME MODE ARGS...: a tests/revocation/peer.py, sets NAME_PORT.
# Environment for the peer (KS_PEER_*) is passed through by the caller.
peer() {
    local name=$1
    shift
    "$PY" "$HERE/revocation/peer.py" "$T/$name.port" "$@" 2>>"$T/peers.log" &
    PEERS+=($!)
    ks_wait_for 10 test -s "$T/$name.port"
    printf -v "${name}_PORT" '%s' "$(cat "$T/$name.port")"
}
sent() { cat "$T/$1.port.sent" 2>/dev/null || echo 0; }

cp "$P/pref-ca-db/index.txt" "$T/index.txt"
cp "$P/pref-ca-db/index.txt.attr" "$T/index.txt.attr" 2>/dev/null || true
cp "$P/pref-ca.crl.der" "$T/pref-ca.crl.der"
# a valid OCSP response to drip (about citizen-rsa)
openssl ocsp -issuer "$P/pref-ca-self.pem" -cert "$P/citizen-rsa.pem" -reqout "$T/rsa.req" -no_nonce >/dev/null 2>&1
openssl ocsp -index "$T/index.txt" -CA "$P/pref-ca-self.pem" -rsigner "$P/ocsp-responder.pem" \
    -rkey "$P/ocsp-responder.key" -reqin "$T/rsa.req" -respout "$T/rsa.resp" -nmin 60 >/dev/null 2>&1

OCSP_ARGS=(ocsp "$T/index.txt" "$P/pref-ca-self.pem" "$P/ocsp-responder.pem" "$P/ocsp-responder.key" 10)
peer good "${OCSP_ARGS[@]}"
KS_PEER_DELAY_MS=5000 KS_PEER_SLOW_AFTER=1 peer slow "${OCSP_ARGS[@]}"
peer garbage fault garbage
peer e500 fault 500
peer trunc fault truncated "$T/rsa.resp"
peer huge fault huge
peer hugenolen fault huge-nolen
KS_PEER_DRIP_MS=300 peer drip fault drip "$T/rsa.resp"
peer crltrunc fault truncated "$T/pref-ca.crl.der"
peer crlhuge fault huge
MC_PORT=$(ks_free_port)
LOG=$T/fcgi.log
CFG=$T/kensho.json
TIMEOUT_MS=1000
MAXRESP=65536

ALLOW=""
for n in good slow garbage e500 trunc huge hugenolen drip crltrunc crlhuge; do
    v=${n}_PORT
    ALLOW="$ALLOW${ALLOW:+, }\"http://127.0.0.1:${!v}/\""
done
# config FILE SOURCE_JSON [AUDIT_PATH] [EXTRA]: the service's configuration.
config() {
    cat >"$1.tmp" <<JSON
{"trust_anchors": ["$P/anchors"], "intermediates": ["$P/intermediates"],
 "accept_policies": ["1.2.392.200149.8.5.1.1.20"],
 "crls": ["$P/ministry-ca.crl", "$P/gpki-bca.crl", "$P/jpki-bca.crl"],
 "revocation": {"mode": "require", "allow_urls": [$ALLOW], "timeout_ms": $TIMEOUT_MS,
                "max_response_bytes": $MAXRESP},
 "revocation_sources": [$2],
 "cache": {"negative_ttl_s": 0, "refresh_ahead_s": 0, "max_entries": 1, "hmac_key_file": "$T/cache.key"},
 "memcached": ["127.0.0.1:$MC_PORT"],
 "limits": {"max_body_bytes": 1048576},
 "service": {"threads": 4},
 "audit": {"path": "${3:-$T/audit.log}", "required": true, "fsync": "never"}${4:-}}
JSON
    mv "$1.tmp" "$1"
}
src_ocsp() { echo "{\"issuer\": \"$P/pref-ca-self.pem\", \"ocsp\": \"http://127.0.0.1:$1/ocsp\"}"; }
src_crl() { echo "{\"issuer\": \"$P/pref-ca-self.pem\", \"crl\": [\"http://127.0.0.1:$1/pref-ca.crl.der\"]}"; }

ks_exec_service memcached -l 127.0.0.1 -p "$MC_PORT" -U 0 -m 16 -c 256 2>>"$T/memcached.log" &
MC_PID=$!
config "$CFG" "$(src_ocsp "$good_PORT")"
ks_test_stack "$T" "$CFG" 4

metric() { curl -s --max-time 5 "$B/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
# reload SOURCE_JSON [AUDIT_PATH] [EXTRA]: a new configuration through SIGHUP,
# returns once the service counts the reload.
reload() {
    local before
    before=$(metric 'kensho_config_reloads_total{result="ok"}')
    config "$CFG" "$@"
    kill -HUP "$FCGI_PID"
    ks_wait_for 10 bash -c "[ \"\$(curl -s --max-time 5 $B/metrics | awk '\$1 == \"kensho_config_reloads_total{result=\\\"ok\\\"}\" {print \$2}')\" = $((${before:-0} + 1)) ]"
}
# cert NAME CITIZEN: POST the certificate; $T/NAME.{body,code,time}
cert() {
    curl -s --max-time 30 -o "$T/$1.body" -w '%{http_code} %{time_total}' -H 'Content-Type: application/x-pem-file' \
        --data-binary "@$P/$2.pem" "$B/api/v1/certificate" >"$T/$1.out"
    cut -d' ' -f1 <"$T/$1.out" >"$T/$1.code"
    cut -d' ' -f2 <"$T/$1.out" >"$T/$1.time"
}
code_is() { [ "$(cat "$T/$1.code")" = "$2" ]; }
verdict_is() { # verdict_is NAME INDICATION SUBINDICATION
    code_is "$1" 200 && [ "$(jq -r '.indication + " " + (.subindication // "null")' "$T/$1.body" 2>/dev/null)" = "$2 $3" ]
}
took_under() { awk -v t="$(cat "$T/$1.time")" -v m="$2" 'BEGIN {exit !(t < m)}'; }
errors_mention() { jq -r '.revocation[0].errors[]?' "$T/$1.body" 2>/dev/null | grep -qi -- "$2"; }
alive() { [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$B/healthz")" = 200 ]; }
LIMIT_S=$(awk -v t=$TIMEOUT_MS 'BEGIN {print int((t + 999) / 1000) + 2}') # OSSL_HTTP counts whole seconds

# ---- a good responder first: the verdict the faults must not change into ----
cert good citizen-rsa
check "good responder: TOTAL_PASSED" verdict_is good TOTAL_PASSED null
verdict_is good TOTAL_PASSED null || {
    echo "  good responder: HTTP $(cat "$T/good.code"), $(jq -c '{indication, subindication, code, detail,
        revocation: [.revocation[]? | {status, errors}]}' "$T/good.body" 2>/dev/null)"
    tail -n 5 "$LOG"
} >&2

# ---- a slow responder: TRY_LATER in time; cached requests unaffected ----
reload "$(src_ocsp "$slow_PORT")"
cert warm citizen-rsa # the responder's first answer is fast: now cached
check "slow responder, first answer: TOTAL_PASSED" verdict_is warm TOTAL_PASSED null
p50() { sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
cached_p50() { # cached_p50 N: p50 of N sequential cached requests
    for _ in $(seq "$1"); do
        curl -s -o /dev/null --max-time 10 -w '%{time_total}\n' -H 'Content-Type: application/x-pem-file' \
            --data-binary "@$P/citizen-rsa.pem" "$B/api/v1/certificate"
    done | p50
}
# max_entries 1: keep citizen-rsa in memory by asking for nothing else first
base=$(cached_p50 30)
slowloop() { # requests for uncached certificates, back to back, for $1 s
    local end=$(($(date +%s) + $1)) i=0
    while [ "$(date +%s)" -lt "$end" ]; do
        cert "slow-$2-$i" "$3"
        i=$((i + 1))
    done
}
slowloop 5 a citizen-ec &
l1=$!
slowloop 5 b citizen-url &
l2=$!
slowloop 5 c citizen-moved &
l3=$!
sleep 0.5
during=$(cached_p50 30)
wait $l1 $l2 $l3
echo "  slow responder: cached p50 ${base}s before, ${during}s with 3 workers waiting on it" >&2
check "cached p50 holds while 3 of 4 workers wait ($base -> $during s)" \
    awk -v a="$base" -v b="$during" 'BEGIN {exit !(b <= a * 3 + 0.05)}'
nslow=$(ls "$T"/slow-*.code | wc -l)
check "slow requests ran ($nslow)" [ "$nslow" -ge 6 ]
slow_ok=0
for f in "$T"/slow-*.code; do
    n=$(basename "$f" .code)
    verdict_is "$n" INDETERMINATE TRY_LATER && took_under "$n" "$LIMIT_S" && slow_ok=$((slow_ok + 1))
done
check "every slow request: TRY_LATER within ${LIMIT_S}s ($slow_ok/$nslow)" [ "$slow_ok" = "$nslow" ]
check "alive after the slow responder" alive

# ---- responders that misbehave ----
# fault NAME PEER_PORT ERROR_WORDS: one request, TRY_LATER in time, alive
fault() {
    reload "$(src_ocsp "$2")"
    cert "$1" citizen-rsa
    check "$1: TRY_LATER" verdict_is "$1" INDETERMINATE TRY_LATER
    check "$1: answered within ${LIMIT_S}s ($(cat "$T/$1.time")s)" took_under "$1" "$LIMIT_S"
    check "$1: the evidence says why ($3)" errors_mention "$1" "$3"
    check "$1: service alive" alive
}
fault garbage "$garbage_PORT" "no valid response"
fault e500 "$e500_PORT" "no valid response"
fault truncated "$trunc_PORT" "no valid response"
fault huge "$huge_PORT" "larger than revocation.max_response_bytes"
check "100 MB OCSP body not read (sent $(sent huge) bytes)" [ "$(sent huge)" -lt 16000000 ]
fault huge-nolen "$hugenolen_PORT" "no valid response"
check "100 MB OCSP body without length not read (sent $(sent hugenolen) bytes)" [ "$(sent hugenolen)" -lt 16000000 ]
fault drip "$drip_PORT" "no valid response"

# ---- CRL servers that misbehave ----
reload "$(src_crl "$crltrunc_PORT")"
cert crltrunc citizen-rsa
check "truncated CRL: TRY_LATER" verdict_is crltrunc INDETERMINATE TRY_LATER
check "truncated CRL: in time" took_under crltrunc "$LIMIT_S"
reload "$(src_crl "$crlhuge_PORT")"
cert crlhuge citizen-rsa
check "100 MB CRL: TRY_LATER" verdict_is crlhuge INDETERMINATE TRY_LATER
check "100 MB CRL: refused by size" errors_mention crlhuge "max_response_bytes"
check "100 MB CRL not read (sent $(sent crlhuge) bytes)" [ "$(sent crlhuge)" -lt 16000000 ]
check "alive after the CRL faults" alive
reload "$(src_ocsp "$good_PORT")"
cert back citizen-rsa
check "good responder again: TOTAL_PASSED" verdict_is back TOTAL_PASSED null

# ---- memcached killed and restarted under load ----
cat >"$T/mix.lua" <<LUA
local names = {"citizen-rsa", "citizen-ec", "citizen-url", "citizen-revoked", "citizen-moved"}
local bodies = {}
for i, n in ipairs(names) do
    local f = io.open("$P/" .. n .. ".pem", "rb")
    bodies[i] = f:read("*a")
    f:close()
end
local i = 0
request = function()
    i = i + 1
    return wrk.format("POST", "/api/v1/certificate", {["Content-Type"] = "application/x-pem-file"},
                      bodies[(i % #bodies) + 1])
end
LUA
for c in citizen-ec citizen-url citizen-revoked citizen-moved; do cert "prime-$c" "$c"; done
timeout 30 wrk -t 2 -c 8 -d 6s -s "$T/mix.lua" "$B" >"$T/wrk-mc.out" 2>&1 &
wrkpid=$!
sleep 1.5
kill -KILL "$MC_PID"
{ wait "$MC_PID"; } 2>/dev/null
MC_PID=
sleep 1.5
ks_exec_service memcached -l 127.0.0.1 -p "$MC_PORT" -U 0 -m 16 -c 256 2>>"$T/memcached.log" &
MC_PID=$!
wait "$wrkpid"
reqs=$(awk '/requests in/ {print $1}' "$T/wrk-mc.out")
echo "  memcached restart under load: $(grep -E 'requests in|Non-2xx|Socket errors' "$T/wrk-mc.out" | tr -s ' ' | tr '\n' ';')" >&2
check "load ran across the memcached restart (${reqs:-0} requests)" [ "${reqs:-0}" -gt 50 ]
check "no non-2xx while memcached died and came back" bash -c "! grep -q 'Non-2xx' '$T/wrk-mc.out'"
check "no socket errors while memcached died and came back" bash -c "! grep -q 'Socket errors' '$T/wrk-mc.out'"
mc_up() {
    cert mcprobe citizen-ec >/dev/null
    cert mcprobe citizen-rsa >/dev/null
    [ "$(curl -s --max-time 5 "$B/readyz" | jq -r '.checks.memcached.detail')" = up ]
}
check "memcached seen up again after its restart" ks_wait_for 15 mc_up

# ---- kensho-fcgi killed behind nginx ----
kill -KILL "$FCGI_PID"
{ wait "$FCGI_PID"; } 2>/dev/null
FCGI_PID=
down=$(curl -s -o "$T/down.body" -w '%{http_code}' --max-time 10 "$B/healthz")
check "nginx answers 502/503 while kensho-fcgi is down (got $down)" bash -c "[ '$down' = 502 ] || [ '$down' = 503 ]"
check "the static page is still served" [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$B/")" = 200 ]
ks_start_fcgi "$FCGI" "$CFG" "$SOCK" "$LOG" 4
check "kensho-fcgi back behind nginx" ks_wait_for 10 alive
cert restarted citizen-rsa
check "verdicts after the restart" verdict_is restarted TOTAL_PASSED null

# ---- the audit log's disk full ----
AD=$T/auditfs
mkdir -p "$AD"
if [ "$(id -u)" -eq 0 ] && mount -t tmpfs -o size=64k,mode=0755 tmpfs "$AD" 2>/dev/null; then
    AUDIT_MNT=$AD
    chown nobody:nogroup "$AD" 2>/dev/null
    reload "$(src_ocsp "$good_PORT")" "$AD/audit.log"
    cert adok citizen-rsa
    check "audit on a small tmpfs: 200" code_is adok 200
    dd if=/dev/zero of="$AD/filler" bs=4k 2>/dev/null # until ENOSPC
    # the log's last page may still hold a record or two
    for i in 1 2 3 4 5 6 7 8; do
        cert adfull citizen-rsa
        code_is adfull 200 || break
    done
    check "audit disk full: 503 (after $((i - 1)) records that still fitted)" code_is adfull 503
    check "audit disk full: the problem says unavailable" [ "$(jq -r .code "$T/adfull.body" 2>/dev/null)" = KS_E_UNAVAILABLE ]
    check "audit disk full: service alive" alive
    rm -f "$AD/filler"
    cert adback citizen-rsa
    check "audit disk has room again: 200" code_is adback 200
    "$K" audit-verify "$AD/audit.log" >"$T/av.json" 2>/dev/null
    check "audit chain intact after the disk-full episode ($(cat "$T/av.json"))" \
        [ "$(jq -r .intact "$T/av.json" 2>/dev/null)" = true ]
else
    # no mount allowed: a log on /dev/full (every write is ENOSPC)
    reload "$(src_ocsp "$good_PORT")" /dev/full
    cert adfull citizen-rsa
    check "audit on /dev/full: 503" code_is adfull 503
    check "audit on /dev/full: service alive" alive
    reload "$(src_ocsp "$good_PORT")"
    cert adback citizen-rsa
    check "audit writable again: 200" code_is adback 200
fi
check "no sanitizer report" bash -c "! grep -qE 'Sanitizer|runtime error' '$LOG'"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
