#!/usr/bin/env bash
# tests/test_reload_cache.sh - kensho-fcgi's revocation state across SIGHUP
# (issue 22, item 5): a reload with the same revocation configuration keeps
# the in-process cache (0 new requests at the responder), a reload that
# changes something relevant drops what the change could affect (a URL no
# longer allowed is neither fetched nor answered from memory; new trust
# rules fetch again); a refused reload keeps it.  (That rollback protection
# survives a reload: tests/test_revcache.c.)  Black-box on
# 127.0.0.1: a real `openssl ocsp` responder (tests/revocation/peer.py) and
# kensho-fcgi on a unix socket, driven by tests/fcgi/fcgi_client.py.
# Each row: what the reload changed, the verdict's indication and
# subindication, where depth 0's evidence came from, and how many requests
# the responder saw in all.  Bounded: every wait is capped.
set -u
K=${KENSHO:?}
P=${PKI:?}
HERE=$(cd "$(dirname "$0")" && pwd)
FCGI=$(dirname "$K")/kensho-fcgi
# shellcheck source=tests/fcgi/stack.sh
. "$HERE/fcgi/stack.sh"
# shellcheck source=tests/lib.sh
. "$HERE/lib.sh"

pids=()
ks_test_dir reload ks_kill_peers
ks_rundir "$T"

# start NAME MODE ARGS...: a revocation peer; sets NAME_PORT
start() {
    local name=$1
    shift
    "$PY" "$HERE/revocation/peer.py" "$T/$name.port" "$@" &
    pids+=($!)
    ks_wait_for 10 test -s "$T/$name.port"
    printf -v "${name}_PORT" '%s' "$(cat "$T/$name.port")"
}
requests() { cat "$T/$1.port.count" 2>/dev/null || echo 0; }
start ocsp ocsp "$P/pref-ca-db/index.txt" "$P/pref-ca-self.pem" "$P/ocsp-responder.pem" "$P/ocsp-responder.key"
OCSP="http://127.0.0.1:$ocsp_PORT/"

# cfg ALLOW_URLS EXTRA_REVOCATION EXTRA_TOP: the configuration file (rewritten in place for each reload)
cfg() {
    cat >"$T/k.json.tmp" <<JSON
{"trust_anchors": ["$P/anchors"], "intermediates": ["$P/intermediates"],
 "accept_policies": ["1.2.392.200149.8.5.1.1.20"],
 "crls": ["$P/ministry-ca.crl", "$P/gpki-bca.crl", "$P/jpki-bca.crl"],
 "revocation": {"mode": "require", "timeout_ms": 3000, "allow_urls": [$1] ${2:-}},
 "revocation_sources": [{"issuer": "$P/pref-ca-self.pem", "ocsp": "${OCSP}ocsp"}],
 "service": {"threads": 2}, "audit": {"path": "$T/audit.log", "fsync": "never"} ${3:-}}
JSON
    mv "$T/k.json.tmp" "$T/k.json"
}
n=0
# verify NAME SIGNATURE: one verdict through FastCGI; prints "INDICATION SUB FROM"
verify() {
    n=$((n + 1))
    timeout 30 "$PY" "$HERE/fcgi/fcgi_client.py" "$T/k.sock" POST /api/v1/verify application/pkcs7-mime \
        "$P/$2" "$T/ready.$n" 0 >"$T/$1.out" 2>/dev/null
    sed -n '/^{/,$p' "$T/$1.out" | "$PY" -c '
import json, sys
v = json.load(sys.stdin)
r0 = (v.get("revocation") or [{}])[0]
print(v.get("indication"), v.get("subindication"), r0.get("from"))' 2>/dev/null || echo "no-verdict"
}
reloads=0
# reload: SIGHUP, then wait for the reload's log line
reload() {
    reloads=$((reloads + 1))
    kill -HUP "$FCGI_PID"
    ks_wait_for 15 bash -c "[ \$(grep -c 'configuration reloaded' '$T/fcgi.log') -ge $reloads ]" ||
        bad "reload $reloads not logged"
}
# row WHAT SIGNATURE WANT_VERDICT WANT_REQUESTS
row() {
    local got
    got=$(verify "row$n" "$2")
    check "$1: verdict '$got' (want '$3')" [ "$got" = "$3" ]
    check "$1: responder requests $(requests ocsp) (want $4)" [ "$(requests ocsp)" = "$4" ]
}

cfg "\"$OCSP\""
ks_exec_service "$FCGI" --config "$T/k.json" --socket "$T/k.sock" 2>>"$T/fcgi.log" &
FCGI_PID=$!
ks_wait_for 20 test -S "$T/k.sock" || bad "kensho-fcgi did not start"

row "cold" sig-attached-rsa.p7m "TOTAL_PASSED None network" 1
row "warm" sig-attached-rsa.p7m "TOTAL_PASSED None memory" 1
row "revoked, cold" sig-attached-revoked.p7m "TOTAL_FAILED REVOKED network" 2

# ---- the same configuration: nothing is fetched again ----
reload
row "HUP, same file" sig-attached-rsa.p7m "TOTAL_PASSED None memory" 2
row "HUP, same file (revoked)" sig-attached-revoked.p7m "TOTAL_FAILED REVOKED memory" 2
check "the reload says the cache was kept" grep -q 'revocation cache kept all' "$T/fcgi.log"
cfg "\"$OCSP\"" ', "mode": "require", "timeout_ms": 2500' ', "limits": {"max_parts": 8}'
reload
row "HUP, other limits and timeout" sig-attached-rsa.p7m "TOTAL_PASSED None memory" 2
# an allow_urls change that still allows the responder keeps its answers
cfg "\"$OCSP\", \"http://127.0.0.1:9/\""
reload
row "HUP, allow_urls widened" sig-attached-rsa.p7m "TOTAL_PASSED None memory" 2
check "the reload names allow_urls" grep -q 'dropped 0 of .* entries (allow_urls changed)' "$T/fcgi.log"

# ---- allow_urls no longer allows the responder: its answers are gone ----
cfg "\"http://127.0.0.1:9/\""
reload
row "HUP, responder no longer allowed" sig-attached-rsa.p7m "INDETERMINATE TRY_LATER None" 2
row "HUP, responder no longer allowed (revoked)" sig-attached-revoked.p7m "INDETERMINATE TRY_LATER None" 2
# allowed again: fetched again (the entries were dropped, not hidden)
cfg "\"$OCSP\""
reload
row "HUP, allowed again" sig-attached-rsa.p7m "TOTAL_PASSED None network" 3

# ---- a relevant rule changes: everything is dropped and fetched again ----
cfg "\"$OCSP\"" ', "ocsp_max_age_s": 7200'
reload
check "the reload says everything was dropped" grep -q 'revocation cache dropped all' "$T/fcgi.log"
row "HUP, ocsp_max_age_s changed" sig-attached-rsa.p7m "TOTAL_PASSED None network" 4
row "HUP, ocsp_max_age_s changed (revoked)" sig-attached-revoked.p7m "TOTAL_FAILED REVOKED network" 5
row "then warm again" sig-attached-rsa.p7m "TOTAL_PASSED None memory" 5

# ---- a refused reload keeps the cache as it was ----
cp "$T/k.json" "$T/k.json.good"
echo '{"trust_anchors": [' >"$T/k.json"
kill -HUP "$FCGI_PID"
ks_wait_for 15 grep -q 'reload refused' "$T/fcgi.log" || bad "refused reload not logged"
row "refused reload" sig-attached-rsa.p7m "TOTAL_PASSED None memory" 5
mv "$T/k.json.good" "$T/k.json"

check "the service still runs" ks_running "$FCGI_PID"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
