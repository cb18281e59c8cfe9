#!/usr/bin/env bash
# tests/test_install.sh - kensho deployed as an operator deploys it (issue #21).
#   1. make run's nginx (nginx/kensho.conf.template): a burst over the
#      per-client rate of /api/ gets 429 as RFC 9457 problem+json with
#      Retry-After and X-Request-Id, and nothing in the error log;
#PLACEHOLDER
# Everything listens on 127.0.0.1 only, on free ports; every wait is
# bounded; the trap stops what the test started and removes its files.
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
# shellcheck source=tests/install/ratelimit.sh
. "$HERE/install/ratelimit.sh"

T=$(mktemp -d /tmp/kensho-install.XXXXXX)
chmod 0755 "$T"
NGINX_PID=
FCGI_PID=
cleanup() {
    ks_stop_stack
    rm -rf "$T"
}
trap cleanup EXIT

# ---- 1. make run's nginx: the rate limit's answer ----
mkdir -p "$T/run1/audit"
ks_rundir "$T/run1"
cat >"$T/run1/kensho.json" <<JSON
{"trust_anchors": ["$P/anchors"], "intermediates": ["$P/intermediates"], "revocation": {"mode": "off"},
 "audit": {"path": "$T/run1/audit/audit.log", "required": true}}
JSON
ks_rundir "$T/run1"
PORT=$(ks_free_port)
if ks_start_fcgi "$FCGI" "$T/run1/kensho.json" "$T/run1/fcgi.sock" "$T/run1/fcgi.log" 2 &&
    ks_start_nginx "$T/run1/nginx" "$PORT" "$ROOT/www" "$T/run1/fcgi.sock" 1m 2 2; then
    # 2 r/s with a burst of 2: of 12 requests in a row, at least 9 are over.
    ks_rl_burst 12 "$T/run1/burst" -H 'Content-Type: application/pkcs7-mime' \
        --data-binary "@$P/sig-attached-rsa.p7m" "http://127.0.0.1:$PORT/api/v1/verify"
    ks_rl_check "make run's nginx" "$T/run1/burst"
    check "make run's nginx: a request under the limit still reaches kensho (200)" grep -qx 200 "$T/run1/burst/codes"
    sleep 0.2 # the error log is written by the worker as it happens; give it a moment
    check "make run's nginx: rejections are not logged at warn or above (error.log: $(grep -c limiting "$T/run1/nginx/error.log" 2>/dev/null) lines)" \
        bash -c "! grep -q 'limiting requests' '$T/run1/nginx/error.log'"
else
    check "make run's stack starts" false
fi
ks_stop_stack
NGINX_PID=
FCGI_PID=

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
