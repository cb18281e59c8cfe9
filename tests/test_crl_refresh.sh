#!/usr/bin/env bash
# tests/test_crl_refresh.sh - kensho-fcgi's background CRL refresher (issue
# 22, item 6), black-box on 127.0.0.1 with the CRL peer
# (tests/revocation/peer.py static) and CRLs issued here by the demo PKI's
# prefecture CA (openssl ca on a copy of build/pki's CA database):
#   the CRL named by URL under revocation_sources is in the cache before the
#   first request (which then needs no fetch); a newer CRL is fetched before
#   the cached one's nextUpdate, and after that nextUpdate requests are
#   still answered from memory, with the newer CRL;
#   a refreshed CRL that is garbage, or older than the one held (a lower
#   crlNumber: RFC 5280 5.2.3), never replaces it: counted as failed, logged,
#   and verdicts keep using the good one.
# Rows name the verdict (indication, subindication, where depth 0's CRL came
# from) and the CRL's crlNumber.  Bounded: every wait is capped; about 45 s.
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
ks_test_dir crlrefresh ks_kill_peers
ks_rundir "$T"

# The prefecture CA's database, copied: CRLs issued here never touch build/pki.
cp -r "$P/pref-ca-db" "$T/ca-db"
sed "s|^dir *=.*|dir = $T/ca-db|" "$P/work/pref-ca.cnf" >"$T/ca.cnf"
# gencrl OUT LAST_OFFSET_S NEXT_OFFSET_S: a CRL from now+LAST to now+NEXT (DER)
gencrl() {
    local last next
    last=$(date -u -d "@$(($(date +%s) + $2))" +%Y%m%d%H%M%SZ)
    next=$(date -u -d "@$(($(date +%s) + $3))" +%Y%m%d%H%M%SZ)
    openssl ca -config "$T/ca.cnf" -batch -utf8 -gencrl -cert "$P/pref-ca-self.pem" -keyfile "$P/pref-ca.key" \
        -crl_lastupdate "$last" -crl_nextupdate "$next" -out "$T/$1.pem" >/dev/null 2>&1 &&
        openssl crl -in "$T/$1.pem" -outform DER -out "$T/$1"
}
crlnum() { openssl crl -inform DER -in "$T/$1" -noout -crlnumber | sed 's/.*=//; s/^0x//'; }
serve() { cp "$T/$1" "$T/crls/pref.crl.tmp" && mv "$T/crls/pref.crl.tmp" "$T/crls/pref.crl"; }

mkdir -p "$T/crls"
gencrl A.der -30 30
A_NEXT=$(($(date +%s) + 30))
# Issued after A and before B, valid for an hour: current, correctly
# signed, but with a lower crlNumber and an earlier thisUpdate than B.
gencrl OLD.der -20 3600
serve A.der
"$PY" "$HERE/revocation/peer.py" "$T/crl.port" static "$T/crls" &
pids+=($!)
ks_wait_for 10 test -s "$T/crl.port"
CRL_PORT=$(cat "$T/crl.port")
requests() { cat "$T/crl.port.count" 2>/dev/null || echo 0; }

cfg() { # cfg CRL_REFRESH_S
    cat >"$T/k.json.tmp" <<JSON
{"trust_anchors": ["$P/anchors"], "intermediates": ["$P/intermediates"],
 "accept_policies": ["1.2.392.200149.8.5.1.1.20"],
 "crls": ["$P/ministry-ca.crl", "$P/gpki-bca.crl", "$P/jpki-bca.crl"],
 "revocation": {"mode": "require", "prefer": "crl", "timeout_ms": 3000, "crl_refresh_s": $1,
                "allow_urls": ["http://127.0.0.1:$CRL_PORT/"]},
 "revocation_sources": [{"issuer": "$P/pref-ca-self.pem", "crl": ["http://127.0.0.1:$CRL_PORT/pref.crl"]}],
 "service": {"threads": 2}, "audit": {"path": "$T/audit.log", "fsync": "never"}}
JSON
    mv "$T/k.json.tmp" "$T/k.json"
}
n=0
# get PATH CONTENT_TYPE FILE METHOD: one FastCGI request, the body on stdout
get() {
    n=$((n + 1))
    timeout 30 "$PY" "$HERE/fcgi/fcgi_client.py" "$T/k.sock" "$4" "$1" "$2" "$3" "$T/ready.$n" 0 2>/dev/null |
        tr -d '\r' | sed '1,/^$/d'
}
# verdict SIGNATURE: "INDICATION SUB FROM CRLNUMBER" of depth 0
verdict() {
    get /api/v1/verify application/pkcs7-mime "$P/$1" POST | "$PY" -c '
import json, sys
v = json.load(sys.stdin)
r0 = (v.get("revocation") or [{}])[0]
print(v.get("indication"), v.get("subindication"), r0.get("from"), int(r0.get("crl_number", "-1"), 16))' 2>/dev/null ||
        echo "no-verdict"
}
: >"$T/empty"
metric() { # metric RESULT: kensho_crl_refreshes_total{result=RESULT}
    get /metrics text/plain "$T/empty" GET | awk -v k="kensho_crl_refreshes_total{result=\"$1\"}" '$1 == k {print $2}'
}
at_least() { [ "$(metric "$1")" -ge "$2" ] 2>/dev/null; }

cfg 3600
ks_exec_service "$FCGI" --config "$T/k.json" --socket "$T/k.sock" 2>>"$T/fcgi.log" &
FCGI_PID=$!
ks_wait_for 20 test -S "$T/k.sock" || bad "kensho-fcgi did not start"

# ---- loaded before the first request ----
ks_wait_for 10 at_least ok 1
check "the CRL is loaded in the background at start ($(requests) request)" [ "$(requests)" = 1 ]
A_NUM=$(crlnum A.der)
check "first verdict from memory, CRL A" [ "$(verdict sig-attached-rsa.p7m)" = "TOTAL_PASSED None memory $((16#$A_NUM))" ]
check "revoked, from memory" [ "$(verdict sig-attached-revoked.p7m)" = "TOTAL_FAILED REVOKED memory $((16#$A_NUM))" ]
check "the requests fetched nothing" [ "$(requests)" = 1 ]

# ---- a newer CRL, fetched before A's nextUpdate ----
gencrl B.der -5 3600
B_NUM=$(crlnum B.der)
serve B.der
ks_wait_for 40 at_least ok 2 || bad "no refresh brought CRL B"
check "CRL B fetched before A's nextUpdate ($(date +%s) < $A_NEXT)" [ "$(date +%s)" -lt "$A_NEXT" ]
# (1 more request at the peer, or a few: an attempt that found A again
# before B was put in place counts as "unchanged")
c1=$(requests)
check "B came from the peer ($c1 requests)" [ "$c1" -ge 2 ]
# past A's nextUpdate: still from memory, with B
while [ "$(date +%s)" -le $((A_NEXT + 1)) ]; do sleep 0.5; done
check "after A's nextUpdate: from memory, CRL B" \
    [ "$(verdict sig-attached-rsa.p7m)" = "TOTAL_PASSED None memory $((16#$B_NUM))" ]
check "... revoked too" [ "$(verdict sig-attached-revoked.p7m)" = "TOTAL_FAILED REVOKED memory $((16#$B_NUM))" ]
check "... and no request-path fetch ($(requests), was $c1)" [ "$(requests)" = "$c1" ]

# ---- a bad refresh never replaces the good CRL ----
# crl_refresh_s 2: the refresher tries every few seconds (a reload with the
# same revocation rules keeps the cache and the CRL held).
head -c 3000 /dev/urandom >"$T/garbage.der"
serve garbage.der
cfg 2
kill -HUP "$FCGI_PID"
ks_wait_for 20 at_least failed 1 || bad "garbage was not refused"
check "garbage: verdict still from CRL B" [ "$(verdict sig-attached-rsa.p7m)" = "TOTAL_PASSED None memory $((16#$B_NUM))" ]
check "garbage: the failure is logged" grep -q 'background refresh failed, the cached CRL stays in use' "$T/fcgi.log"
failed=$(metric failed)
serve OLD.der # current and signed, but older than B (RFC 5280 5.2.3)
# (garbage may still be tried once more before OLD is in place: wait for
# OLD's own refusal)
ks_wait_for 20 grep -q 'refresh failed.*CRL older than one already seen' "$T/fcgi.log" ||
    bad "older CRL: not refused as older than one seen"
check "older CRL: counted as failed" at_least failed $((failed + 1))
check "older CRL: verdict still from CRL B" \
    [ "$(verdict sig-attached-revoked.p7m)" = "TOTAL_FAILED REVOKED memory $((16#$B_NUM))" ]
gencrl C.der -1 3600 # newer than B by crlNumber and thisUpdate
C_NUM=$(crlnum C.der)
serve C.der
ks_wait_for 20 at_least ok 3 || bad "a good CRL after the bad ones was not taken"
check "a good CRL after the bad ones replaces B" \
    [ "$(verdict sig-attached-rsa.p7m)" = "TOTAL_PASSED None memory $((16#$C_NUM))" ]
check "the service still runs" ks_running "$FCGI_PID"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
