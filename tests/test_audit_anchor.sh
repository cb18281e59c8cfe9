#!/usr/bin/env bash
# tests/test_audit_anchor.sh - audit.anchor_url (issue 22, item 1, optional
# part), black-box on 127.0.0.1: each audit file the chain moves on from has
# its final chain head POSTed to a URL under revocation.allow_urls (a sink
# peer, tests/revocation/peer.py), by kensho-fcgi's background thread.
# Rows: the configuration refused at start (exit 78) when the URL is not
# under allow_urls; the heads received equal the ones the next files'
# "rotation" records commit to (file by file); a failing endpoint (the
# first answer 503) is retried, counted and logged, and verdicts go on
# meanwhile; the body names no person.  Bounded: every wait is capped.
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
ks_test_dir anchor ks_kill_peers
ks_rundir "$T"
mkdir -p "$T/audit"
ks_rundir "$T/audit"

KS_PEER_FAIL_FIRST=1 "$PY" "$HERE/revocation/peer.py" "$T/sink.port" sink &
pids+=($!)
ks_wait_for 10 test -s "$T/sink.port"
SINK="http://127.0.0.1:$(cat "$T/sink.port")/"

cfg() { # cfg FILE ALLOW_URL
    cat >"$1" <<JSON
{"trust_anchors": ["$P/anchors"], "intermediates": ["$P/intermediates"],
 "accept_policies": ["1.2.392.200149.8.5.1.1.20"],
 "revocation": {"mode": "off", "allow_urls": ["$2"], "timeout_ms": 2000},
 "service": {"threads": 2},
 "audit": {"path": "$T/audit/audit.log", "fsync": "never", "rotate_seconds": 1, "anchor_url": "${SINK}anchor"}}
JSON
}

# ---- not under allow_urls: refused at start ----
cfg "$T/bad.json" "http://127.0.0.1:9/"
timeout 20 "$FCGI" --config "$T/bad.json" --socket "$T/bad.sock" 2>"$T/bad.log"
rc=$?
check "anchor_url outside allow_urls: exit 78 (got $rc)" [ "$rc" = 78 ]
check "... naming the key" grep -q 'audit.anchor_url' "$T/bad.log"

cfg "$T/k.json" "$SINK"
ks_exec_service "$FCGI" --config "$T/k.json" --socket "$T/k.sock" 2>>"$T/fcgi.log" &
FCGI_PID=$!
ks_wait_for 20 test -S "$T/k.sock" || bad "kensho-fcgi did not start"
n=0
verify() {
    n=$((n + 1))
    timeout 30 "$PY" "$HERE/fcgi/fcgi_client.py" "$T/k.sock" POST /api/v1/verify application/pkcs7-mime \
        "$P/sig-attached-rsa.p7m" "$T/ready.$n" 0 2>/dev/null | grep -c '"indication":"TOTAL_PASSED"'
}
# Three files closed by age (rotate_seconds 1): a verdict, a second later another.
ok_verdicts=0
for _ in 1 2 3 4; do
    [ "$(verify)" = 1 ] && ok_verdicts=$((ok_verdicts + 1))
    sleep 1.2
done
check "verdicts answered while the anchor endpoint fails ($ok_verdicts of 4)" [ "$ok_verdicts" = 4 ]
ks_wait_for 40 bash -c "[ \$(cat '$T/sink.port.bodies' 2>/dev/null | wc -l) -ge 3 ]" || bad "fewer than 3 heads arrived"

# What the rotation records commit to, "file_seq head" per closed file.
cat "$T"/audit/audit.log* | "$PY" -c '
import json, sys
for line in sys.stdin:
    try:
        o = json.loads(line)
    except ValueError:
        continue
    if o.get("kind") == "rotation":
        print(o["previous"]["file_seq"], o["previous"]["head"])' | sort -n >"$T/committed"
"$PY" -c '
import json, sys
for line in open(sys.argv[1]):
    o = json.loads(line)
    assert set(o) == {"file", "file_seq", "last_seq", "records", "head"}, o
    print(o["file_seq"], o["head"])' "$T/sink.port.bodies" | sort -n >"$T/sent"
check "heads sent: $(wc -l <"$T/sent") (at least 3)" [ "$(wc -l <"$T/sent")" -ge 3 ]
check "every head sent is the one the next file commits to" \
    bash -c "[ -s '$T/sent' ] && [ -z \"\$(comm -23 '$T/sent' '$T/committed')\" ]"
check "each closed file's head sent once" bash -c "[ -z \"\$(cut -d' ' -f1 '$T/sent' | uniq -d)\" ]"
check "the body has only the chain's fields (no person, no address)" \
    bash -c "! grep -qiE 'subject|name|address|birth' '$T/sink.port.bodies'"
check "the failed POST is logged" grep -q 'audit anchor: file 1.s head not sent (try 1 of 3)' "$T/fcgi.log"
metric() {
    n=$((n + 1))
    : >"$T/empty"
    timeout 30 "$PY" "$HERE/fcgi/fcgi_client.py" "$T/k.sock" GET /metrics text/plain "$T/empty" "$T/ready.$n" 0 \
        2>/dev/null | tr -d '\r' | awk -v k="kensho_audit_anchor_posts_total{result=\"$1\"}" '$1 == k {print $2}'
}
check "failed POSTs counted: $(metric failed)" [ "$(metric failed)" = 1 ]
check "sent POSTs counted: $(metric ok)" [ "$(metric ok)" -ge 3 ]
check "audit-verify: the chain across files is intact" bash -c "'$K' audit-verify '$T/audit' >/dev/null"
check "the service still runs" ks_running "$FCGI_PID"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
