#!/usr/bin/env bash
# tests/test_hardening.sh - what the binaries are built with, and who
# kensho-fcgi runs as.
#   1. bin/kensho and bin/kensho-fcgi (next to $KENSHO): PIE, full RELRO
#      (GNU_RELRO + BIND_NOW), a non-executable stack, the stack protector
#      (__stack_chk_fail), FORTIFY_SOURCE (__*_chk; release builds only:
#      the SAN=1 build leaves it out, ASan replaces those functions);
#   2. nginx passes the service only the parameters of nginx/fastcgi.params,
#      no client header (a FastCGI probe in its place records them);
#   3. started as root, kensho-fcgi drops to service.user (default nobody)
#      after binding: every uid, gid and supplementary group of the process,
#      the socket owner; it still answers; "user": "root" and an unknown
#      user are refused; its log lines are JSON with the request fields and
#      nothing personal; a configuration nobody cannot read is refused with
#      an error naming nobody.  Skipped (counted as passed, said so) when
#      not root.
# Bounded: each service start waits at most 20 s.
set -u
K=${KENSHO:?}
P=${PKI:?}
HERE=$(cd "$(dirname "$0")" && pwd)
FCGI=$(dirname "$K")/kensho-fcgi
# shellcheck source=tests/fcgi/stack.sh
. "$HERE/fcgi/stack.sh"
# shellcheck source=tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ks_require_tools readelf

# ---- 1. the binaries ----
for b in "$K" "$FCGI"; do
    n=$(basename "$b")
    [ -x "$b" ] || { check "$n exists" false; continue; }
    readelf -hW "$b" >"/tmp/ks-hard.$$.h" 2>/dev/null
    readelf -lW "$b" >"/tmp/ks-hard.$$.l" 2>/dev/null
    readelf -dW "$b" >"/tmp/ks-hard.$$.d" 2>/dev/null
    readelf --dyn-syms -W "$b" >"/tmp/ks-hard.$$.s" 2>/dev/null
    check "$n: PIE (ELF type DYN)" grep -qE 'Type:[[:space:]]+DYN' "/tmp/ks-hard.$$.h"
    check "$n: PIE (FLAGS_1 PIE)" grep -qE 'FLAGS_1.*PIE' "/tmp/ks-hard.$$.d"
    check "$n: RELRO segment" grep -q 'GNU_RELRO' "/tmp/ks-hard.$$.l"
    check "$n: full RELRO (BIND_NOW)" grep -qE 'BIND_NOW|FLAGS_1.*NOW' "/tmp/ks-hard.$$.d"
    check "$n: non-executable stack" bash -c "grep 'GNU_STACK' '/tmp/ks-hard.$$.l' | grep -qv 'RWE'"
    check "$n: stack protector" grep -q '__stack_chk_fail' "/tmp/ks-hard.$$.s"
    if grep -q '__asan_init' "/tmp/ks-hard.$$.s"; then
        echo "  $n: sanitizer build, FORTIFY_SOURCE not expected" >&2
    else
        check "$n: FORTIFY_SOURCE (__*_chk calls)" grep -qE '__[a-z0-9_]+_chk' "/tmp/ks-hard.$$.s"
    fi
    check "$n: no RPATH/RUNPATH" bash -c "! grep -qE 'RPATH|RUNPATH' '/tmp/ks-hard.$$.d'"
    rm -f /tmp/ks-hard.$$.*
done

# ---- 2. what nginx passes to the service ----
# nginx/fastcgi.params names every parameter kensho-fcgi reads, and nginx
# would add each client header as an HTTP_* parameter unless told not to.
# A FastCGI probe in kensho-fcgi's place records what arrives.
PT=$(mktemp -d /tmp/kensho-params.XXXXXX)
chmod 0755 "$PT"
NGINX_PID=
"$PY" "$HERE/fcgi/params_probe.py" "$PT/probe.sock" "$PT/names" 2>"$PT/probe.log" &
PROBE_PID=$!
probe_cleanup() {
    ks_stop_stack
    kill "$PROBE_PID" 2>/dev/null
    wait "$PROBE_PID" 2>/dev/null
    rm -rf "$PT"
}
trap probe_cleanup EXIT
ks_wait_for 10 test -S "$PT/probe.sock"
chmod 0666 "$PT/probe.sock" # nginx's workers run as nobody when started as root
PPORT=$(ks_free_port)
if ks_start_nginx "$PT/nginx" "$PPORT" "$HERE/../www" "$PT/probe.sock" 1m 100000 100000; then
    curl -s -o /dev/null --max-time 10 -H 'X-Probe: 1' -H 'Cookie: session=1' \
        -H 'Content-Type: application/pkcs7-mime' --data-binary "@$P/sig-attached-rsa.p7m" \
        "http://127.0.0.1:$PPORT/api/v1/verify"
    want=$(awk '$1 == "fastcgi_param" {print $2}' "$HERE/../nginx/fastcgi.params" | sort | tr '\n' ' ')
    got=$(sort "$PT/names" 2>/dev/null | tr '\n' ' ')
    check "nginx passes exactly the parameters of nginx/fastcgi.params (got: $got)" [ "$got" = "$want" ]
    check "no client header reaches the service as HTTP_*" \
        bash -c "[ -s '$PT/names' ] && ! grep -q '^HTTP_' '$PT/names'"
else
    check "nginx in front of the parameter probe starts" false
fi
probe_cleanup
trap - EXIT
NGINX_PID=

# ---- 3. privileges ----
if [ "$(id -u)" -ne 0 ]; then
    echo "  not root: the privilege drop is not exercised" >&2
    echo "$pass passed, $fail failed"
    [ "$fail" -eq 0 ]
    exit
fi
T=$(mktemp -d /tmp/kensho-hardening.XXXXXX)
PID=
cleanup() {
    [ -n "$PID" ] && ks_stop "$PID" 5
    rm -rf "$T"
}
trap cleanup EXIT
chmod 0755 "$T"
mkdir -p "$T/audit"
chown nobody:nogroup "$T/audit"
cfg() { # cfg FILE [SERVICE_EXTRA]
    cat >"$1" <<JSON
{"trust_anchors": ["$P/anchors"], "intermediates": ["$P/intermediates"], "revocation": {"mode": "off"},
 "service": {"threads": 2 $2}, "audit": {"path": "$T/audit/audit.log", "required": true}}
JSON
}
cfg "$T/default.json" ""
"$FCGI" --config "$T/default.json" --socket "$T/fcgi.sock" 2>"$T/fcgi.log" &
PID=$!
ks_wait_for 20 test -S "$T/fcgi.sock"
nobody_uid=$(id -u nobody)
nobody_gid=$(id -g nobody)
ids() { awk -v k="$1:" '$1 == k {print $2, $3, $4, $5}' "/proc/$PID/status"; }
check "started as root: runs as nobody (Uid: $(ids Uid))" [ "$(ids Uid)" = "$nobody_uid $nobody_uid $nobody_uid $nobody_uid" ]
check "started as root: nobody's group (Gid: $(ids Gid))" [ "$(ids Gid)" = "$nobody_gid $nobody_gid $nobody_gid $nobody_gid" ]
check "no supplementary groups" [ -z "$(awk '$1 == "Groups:" {print $2}' "/proc/$PID/status")" ]
check "no capabilities left (CapEff 0)" [ "$(awk '$1 == "CapEff:" {print $2}' "/proc/$PID/status")" = 0000000000000000 ]
check "the socket belongs to nobody" [ "$(stat -c %U "$T/fcgi.sock")" = nobody ]
: >"$T/empty"
"$PY" "$HERE/fcgi/fcgi_client.py" "$T/fcgi.sock" GET /healthz "" "$T/empty" "$T/ready" 0 >"$T/healthz.out" 2>/dev/null
check "answers after the drop" grep -q '^Status: 200' "$T/healthz.out"
"$PY" "$HERE/fcgi/fcgi_client.py" "$T/fcgi.sock" POST /api/v1/verify application/pkcs7-mime \
    "$P/sig-attached-rsa.p7m" "$T/ready" 0 >"$T/verify.out" 2>/dev/null
check "verifies and audits as nobody" grep -q '"indication":"TOTAL_PASSED"' "$T/verify.out"
check "the audit log is nobody's" [ "$(stat -c %U "$T/audit/audit.log" 2>/dev/null)" = nobody ]
kill -HUP "$PID"
sleep 0.5
"$PY" "$HERE/fcgi/fcgi_client.py" "$T/fcgi.sock" POST /api/v1/verify application/pkcs7-mime \
    "$P/sig-attached-rsa.p7m" "$T/ready" 0 >"$T/verify2.out" 2>/dev/null
check "a reload as nobody keeps the audit log" grep -q '"indication":"TOTAL_PASSED"' "$T/verify2.out"
ks_stop "$PID" 10
PID=
# The service's log: JSON lines (the default), and nothing personal in them
# although the verdicts above carried the JPKI name and address.
check "the verdict carries the JPKI name (so the grep means something)" grep -q '検証' "$T/verify.out"
check "log lines are JSON objects with timestamp and level" \
    bash -c "jq -e -s 'length > 0 and all(.[]; (.timestamp | type) == \"string\" and (.level | type) == \"string\")' '$T/fcgi.log' >/dev/null"
check "a request line with request_id, route, status, indication, duration_ms" \
    bash -c "jq -c 'select(.msg == \"request\" and .route == \"verify\" and .status == 200 and .indication == \"TOTAL_PASSED\" and (.request_id | length) > 0 and (.duration_ms | type) == \"number\")' '$T/fcgi.log' | grep -q ."
check "no name, address or subject in the log" bash -c "! grep -qE '検証|長野県|松本市|SYNTH[0-9]' '$T/fcgi.log'"
# A configuration the service user cannot read: refused, naming that user
# (the drop comes before the load, so every reload has the same access).
mkdir -m 0700 "$T/private"
cfg "$T/private/kensho.json" ""
timeout 20 "$FCGI" --config "$T/private/kensho.json" --socket "$T/private.sock" 2>"$T/private.log"
rc=$?
check "configuration in a 0700 directory of root's: exit 78 (got $rc)" [ "$rc" = 78 ]
check "the error names the user it runs as" grep -q 'Permission denied (kensho-fcgi runs as user nobody' "$T/private.log"
for u in root no-such-user-kensho; do
    cfg "$T/$u.json" ", \"user\": \"$u\""
    timeout 20 "$FCGI" --config "$T/$u.json" --socket "$T/$u.sock" 2>"$T/$u.log"
    rc=$?
    check "service.user $u refused (exit $rc)" [ "$rc" -ne 0 ]
    check "service.user $u: says why" grep -qE 'refusing to run as root|no such user' "$T/$u.log"
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
