#!/usr/bin/env bash
# tests/test_www.sh - the citizens' page (www/) end to end in real headless
# Chromium: kensho-fcgi and nginx on 127.0.0.1 (free ports, started and
# stopped here with tests/fcgi/stack.sh, as `make run` does) with the demo
# PKI and offline revocation (local CRLs), then tests/www/e2e.mjs drives
# Debian's chromium through playwright-core.  Screenshots (and a printed
# PDF) go to build/www-artifacts/.
#
# The service signs verdicts (verdict_signing, a key made here) and trusts
# the test PKI's TSA (timestamp_anchors): the page shows PDFs' signature
# fields (build/pki/pdf, tests/pki/mkpdf.sh), long-term signatures (made by
# $OUT/tests/test_ltv --emit) and downloads the signed result, which
# bin/kensho verify-verdict must accept.
#
# Chromium, node or npm missing: the test FAILS, loudly (CI installs them
# with tests/install-deps.sh).  KS_SKIP_BROWSER=1 skips it on a developer
# machine, saying so (not in CI: CI=true ignores it).  playwright-core comes from tests/www/package-lock.json
# (npm ci, never a browser download).  Bounded: npm ci 300 s, the browser
# run 300 s, every wait in stack.sh is capped.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
K=${KENSHO:-$ROOT/bin/kensho}
P=${PKI:-$ROOT/build/pki}
FCGI=$(dirname "$K")/kensho-fcgi
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
ART=${KS_WWW_ARTIFACTS:-$ROOT/build/www-artifacts}
# shellcheck source=tests/fcgi/stack.sh
. "$HERE/fcgi/stack.sh"
# shellcheck source=tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if [ "${KS_SKIP_BROWSER:-}" = 1 ] && [ "${CI:-}" = true ]; then
    echo "test_www: KS_SKIP_BROWSER=1 is ignored in CI (CI=true)" >&2
elif [ "${KS_SKIP_BROWSER:-}" = 1 ]; then
    echo "test_www: SKIPPED: KS_SKIP_BROWSER=1 - the page was NOT tested in a browser" >&2
    echo "0 passed, 0 failed"
    exit 0
fi
missing=()
for tool in node npm nginx curl python3 envsubst; do
    command -v "$tool" >/dev/null || missing+=("$tool")
done
[ -x "$CHROMIUM" ] || missing+=("chromium ($CHROMIUM)")
if [ ${#missing[@]} -gt 0 ]; then
    {
        echo "test_www: ******************************************************************"
        echo "test_www: ***  MISSING: ${missing[*]}"
        echo "test_www: ***  the citizens' page cannot be tested in a browser: FAILED."
        echo "test_www: ***  Install with tests/install-deps.sh (as root), or skip on a"
        echo "test_www: ***  developer machine with KS_SKIP_BROWSER=1."
        echo "test_www: ******************************************************************"
    } >&2
    echo "0 passed, 1 failed"
    exit 1
fi
[ -x "$FCGI" ] || ks_give_up "no $FCGI (make)"

# ---- playwright-core, exactly as locked; never a browser download ----
W=$HERE/www
if [ ! -f "$W/node_modules/playwright-core/package.json" ] ||
    [ "$W/package-lock.json" -nt "$W/node_modules/.package-lock.json" ]; then
    echo "test_www: npm ci in tests/www (playwright-core)" >&2
    if ! (cd "$W" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 timeout 300 npm ci --no-audit --no-fund --ignore-scripts >&2); then
        ks_give_up "npm ci failed: playwright-core is not installed"
    fi
fi

# ---- the page's source keeps the CSP rules (the browser checks them too) ----
no_match() { # no_match REGEX FILE...: nothing matches
    ! grep -nE "$@" >&2
}
check "no innerHTML/outerHTML/insertAdjacentHTML/document.write/eval/Function in www/*.js" \
    no_match 'innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function|setTimeout\(["'\'']' "$ROOT"/www/*.js
check "no inline style or script in www/*.html" \
    no_match '<style|\sstyle=|<script>|<script [^>]*>[^<]|\son[a-z]+=' "$ROOT"/www/*.html
no_external() { # nothing but the SVG namespace looks like a URL
    ! grep -rnoE 'https?://[^"'\'' )>]+' "$ROOT/www" | grep -v 'http://www\.w3\.org/2000/svg$' >&2
}
check "no external resource in www/" no_external

# ---- the stack: kensho-fcgi + nginx, as `make run` starts them ----
ks_test_dir www-test
# The service accepts 1 MiB (so a 1.5 MiB upload meets its 413), the page
# checks 20 MiB itself (www/index.html), nginx lets 21 MiB through.
SERVER_MAX=1048576
# The gateway's verdict-signing key (ES256), for the page's download.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/vs.key" -out "$T/vs.pem" \
    -subj /CN=kensho-www-test-verdicts -days 30 2>/dev/null
# Long-term signatures with a TSA whose clock tests/test_ltv.c chose, and
# the validation time they are meant for (the page's requests get ?at=).
mkdir -p "$T/ltv"
if ! "${OUT:-$ROOT/build/rel}/tests/test_ltv" --emit "$T/ltv" || [ ! -s "$T/ltv/ltv-at.txt" ]; then
    ks_give_up "${OUT:-build/rel}/tests/test_ltv --emit did not make the long-term signatures (make)"
fi
[ -f "$P/pdf/two-sigs.pdf" ] || ks_give_up "no $P/pdf (make build/pki/pdf/.done)"
# A TSA whose certificate status nobody can give (no tsa-ca.crl, nothing
# online): bin/kensho's verdicts for ltv-tsa-good.p7m in require mode
# (TRY_LATER) and soft-fail (the timestamp's REVOCATION_UNAVAILABLE), which
# e2e.mjs hands to the page as the service's answer.
mkdir -p "$T/cliv"
for mode in require soft-fail; do
    cat >"$T/cliv/$mode.json" <<JSON
{"trust_anchors": ["$P/anchors"], "intermediates": ["$P/intermediates"],
 "timestamp_anchors": ["$P/tsa-ca.pem"],
 "crls": ["$P/pref-ca.crl", "$P/pref-ca2.crl", "$P/ministry-ca.crl", "$P/gpki-bca.crl", "$P/jpki-bca.crl"],
 "revocation": {"mode": "$mode", "timeout_ms": 3000},
 "accept_policies": ["1.2.392.200149.8.5.1.1.20"]}
JSON
    "$K" verify --config "$T/cliv/$mode.json" --signature "$T/ltv/ltv-tsa-good.p7m" --at "$(cat "$T/ltv/ltv-at.txt")" \
        >"$T/cliv/tsa-down-$mode.json" 2>"$T/cliv/$mode.err"
    [ -s "$T/cliv/tsa-down-$mode.json" ] || ks_give_up "bin/kensho verify ($mode) gave no verdict: $(cat "$T/cliv/$mode.err")"
done
cat >"$T/kensho.json" <<JSON
{"trust_anchors": ["$P/anchors"], "intermediates": ["$P/intermediates"],
 "timestamp_anchors": ["$P/tsa-ca.pem"],
 "verdict_signing": {"key_file": "$T/vs.key", "cert_file": "$T/vs.pem"},
 "crls": ["$P/pref-ca.crl", "$P/pref-ca2.crl", "$P/ministry-ca.crl", "$P/gpki-bca.crl", "$P/jpki-bca.crl",
          "$P/tsa-ca.crl"],
 "revocation": {"mode": "require", "timeout_ms": 3000},
 "accept_policies": ["1.2.392.200149.8.5.1.1.20"],
 "limits": {"max_body_bytes": $SERVER_MAX, "request_timeout_ms": 20000},
 "service": {"threads": 2},
 "audit": {"path": "$T/audit.log", "required": true, "fsync": "never"}}
JSON
ks_test_stack "$T" "$T/kensho.json" 2 21m 1000 1000

# ---- the browser ----
rm -rf "$ART"
mkdir -p "$ART"
BASE=http://127.0.0.1:$PORT PKI=$P ART=$ART CHROMIUM=$CHROMIUM SERVER_MAX=$SERVER_MAX \
    LTV=$T/ltv LAT=$(cat "$T/ltv/ltv-at.txt") DL=$T/dl CLIV=$T/cliv \
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 PLAYWRIGHT_BROWSERS_PATH=0 \
    timeout 300 node "$W/e2e.mjs" >"$T/e2e.out"
rc=$?
line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$T/e2e.out" | tail -n 1)
if [ -z "$line" ]; then
    bad "e2e.mjs gave no result line (exit $rc)"
else
    pass=$((pass + $(echo "$line" | sed -E 's/^([0-9]+) passed.*/\1/')))
    f=$(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')
    fail=$((fail + f))
    [ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && bad "e2e.mjs exit $rc with no failed check"
fi
echo "  screenshots: $(find "$ART" -name '*.png' | wc -l) in $ART" >&2

# ---- the signed result the page saved is one bin/kensho accepts ----
vv() { "$K" verify-verdict --cert "$1" "$2" >"$T/vv.json" 2>"$T/vv.err"; }
check "downloaded result: verify-verdict accepts it" vv "$T/vs.pem" "$T/dl/result.jws"
check "downloaded result: the check shown on the page (request id, verdict)" python3 -c '
import json, sys
v = json.load(open(sys.argv[1]))
p = v.get("payload") or {}
ok = v.get("valid") is True and p.get("request_id") == open(sys.argv[2]).read().strip() != "" \
    and p["verdict"]["indication"] == "TOTAL_PASSED" and p["inputs"][0]["role"] == "signature"
sys.exit(0 if ok else 1)' "$T/vv.json" "$T/dl/result.request-id"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/other.key" -out "$T/other.pem" \
    -subj /CN=someone-else -days 30 2>/dev/null
check "downloaded result: refused with another certificate" bash -c "! '$K' verify-verdict --cert '$T/other.pem' '$T/dl/result.jws' >/dev/null 2>&1"

# ---- what the page sent left no personal data in any log ----
ks_stop "$NGINX_PID" 10
NGINX_PID=
ks_stop "$FCGI_PID" 10
FCGI_PID=
for f in "$T/fcgi.log" "$T/nginx/access.log" "$T/nginx/error.log" "$T/audit.log"; do
    check "no name/address in $(basename "$f")" bash -c "! grep -qE '検証|長野県松本市|丸の内' '$f'"
done
check "verifications were audited" [ "$(grep -c '' "$T/audit.log" 2>/dev/null || echo 0)" -gt 5 ]
check "no sanitizer report" bash -c "! grep -qE 'Sanitizer|runtime error' '$T/fcgi.log'"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
