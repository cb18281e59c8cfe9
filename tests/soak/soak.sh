#!/usr/bin/env bash
# tests/soak/soak.sh - load and soak through the real stack on 127.0.0.1
# (nginx -> kensho-fcgi, memcached, an OCSP responder: tests/fcgi/stack.sh,
# tests/revocation/peer.py), driven by wrk with tests/soak/mix.lua: valid,
# invalid and malformed requests in turn.
#
#   1. load: wrk, 64 connections, SOAK_SECONDS (default 60) against the
#      binary next to $KENSHO.  Zero 5xx (wrk's count and nginx's access
#      log).  RSS of kensho-fcgi sampled every second; after the warm-up
#      (the first quarter, at least 3 s) the median of the last quarter of
#      the samples may exceed the median of the first post-warm-up quarter
#      by at most SOAK_RSS_SLACK_MB (default 8).  Why 8: per-thread malloc
#      arenas and the bounded in-process cache settle during warm-up, after
#      which a 60 s run here moved RSS by 12 kB over ~80,000 requests; 8 MiB
#      over those requests is a leak of ~100 bytes per request, which
#      therefore fails, while allocator noise stays far below it.  Not
#      asserted for a sanitizer build (ASan's quarantine grows by design).
#   2. leaks: the same traffic at a lower rate (wrk, 4 connections,
#      SOAK_SAN_SECONDS, default 20) against SOAK_SAN_FCGI (default
#      build/san/bin/kensho-fcgi; SOAK_SAN=0 skips it), stopped with
#      SIGTERM: LeakSanitizer reports at exit, its stderr must be clean.
#
# Prints "N passed, M failed" last; exit 1 on a failure.  Bounded: wrk runs
# for the given durations, every wait is capped.
set -u
K=${KENSHO:?}
P=${PKI:?}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
FCGI=$(dirname "$K")/kensho-fcgi
SECS=${SOAK_SECONDS:-60}
SAN_SECS=${SOAK_SAN_SECONDS:-20}
SAN_FCGI=${SOAK_SAN_FCGI:-$ROOT/build/san/bin/kensho-fcgi}
SLACK_MB=${SOAK_RSS_SLACK_MB:-8}
# shellcheck source=tests/fcgi/stack.sh
. "$ROOT/tests/fcgi/stack.sh"
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
# shellcheck source=tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
for tool in wrk nginx memcached curl envsubst; do
    command -v "$tool" >/dev/null || { echo "soak: $tool missing (tests/install-deps.sh)" >&2; echo "0 passed, 1 failed"; exit 1; }
done

T=$(mktemp -d /tmp/kensho-soak.XXXXXX)
FCGI_PID=
NGINX_PID=
MC_PID=
PEER_PID=
cleanup() {
    ks_stop_stack
    [ -n "$MC_PID" ] && ks_stop "$MC_PID" 5
    [ -n "$PEER_PID" ] && kill "$PEER_PID" 2>/dev/null
    wait 2>/dev/null
    [ -n "${KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT
ks_rundir "$T"
ks_cache_key "$T/cache.key" # memcached needs the nodes' shared key
chmod 0755 "$T"

# ---- the bodies mix.lua cycles through ----
B=$T/bodies
mkdir -p "$B"
cp "$P/sig-attached-rsa.p7m" "$B/valid.p7m"
cp "$P/sig-attached-tampered-sig.p7m" "$B/tampered.p7m"
cp "$P/citizen-rsa.pem" "$B/cert.pem"
cp "$P/xml/etax-rsa.xtx" "$B/etax.xtx" 2>/dev/null || cp "$P/sig-attached-ec.p7m" "$B/etax.xtx"
{
    printf -- '--KSB\r\nContent-Disposition: form-data; name="signature"; filename="s.p7s"\r\n\r\n'
    cat "$P/sig-detached-rsa.p7s"
    printf -- '\r\n--KSB\r\nContent-Disposition: form-data; name="content"; filename="doc.txt"\r\n\r\n'
    cat "$P/doc.txt"
    printf -- '\r\n--KSB--\r\n'
} >"$B/detached.mp"
head -c 700 "$B/detached.mp" >"$B/truncated.mp"
printf '{"signature": "%s", "content": "%s"}' "$(base64 -w 0 "$P/sig-detached-rsa.p7s")" "$(base64 -w 0 "$P/doc.txt")" \
    >"$B/detached.json"
printf '{"signature": "AAAA' >"$B/bad.json"
{ printf '['%.0s $(seq 40); printf ']'%.0s $(seq 40); } >"$B/deep.json"
head -c 3000 /dev/urandom >"$B/garbage.bin"
# the valid signature with one byte in its middle flipped (DER damage)
"$PY" -c 'import sys; b = bytearray(open(sys.argv[1], "rb").read()); b[len(b) // 3] ^= 0x5a; open(sys.argv[2], "wb").write(b)' \
    "$P/sig-attached-rsa.p7m" "$B/flipped.p7m"

# ---- memcached, an OCSP responder, the configuration ----
MC_PORT=$(ks_free_port)
ks_exec_service memcached -l 127.0.0.1 -p "$MC_PORT" -U 0 -m 64 -c 1024 2>>"$T/memcached.log" &
MC_PID=$!
cp "$P/pref-ca-db/index.txt" "$T/index.txt"
"$PY" "$ROOT/tests/revocation/peer.py" "$T/ocsp.port" ocsp "$T/index.txt" "$P/pref-ca-self.pem" \
    "$P/ocsp-responder.pem" "$P/ocsp-responder.key" 60 2>>"$T/peer.log" &
PEER_PID=$!
ks_wait_for 10 test -s "$T/ocsp.port"
OCSP=http://127.0.0.1:$(cat "$T/ocsp.port")
cat >"$T/kensho.json" <<JSON
{"trust_anchors": ["$P/anchors"], "intermediates": ["$P/intermediates"],
 "accept_policies": ["1.2.392.200149.8.5.1.1.20"],
 "crls": ["$P/ministry-ca.crl", "$P/gpki-bca.crl", "$P/jpki-bca.crl"],
 "revocation": {"mode": "require", "allow_urls": ["$OCSP/"], "timeout_ms": 3000},
 "revocation_sources": [{"issuer": "$P/pref-ca-self.pem", "ocsp": "$OCSP/ocsp"}],
 "memcached": ["127.0.0.1:$MC_PORT"], "cache": {"hmac_key_file": "$T/cache.key"},
 "limits": {"max_body_bytes": 1048576, "max_json_depth": 16},
 "service": {"threads": 8},
 "audit": {"path": "$T/audit.log", "required": true, "fsync": "never"}}
JSON
PORT=$(ks_free_port)
URL=http://127.0.0.1:$PORT

# phase NAME BINARY CONNECTIONS SECONDS: runs the stack and wrk; leaves the
# service log in $T/NAME.log, wrk's output in $T/NAME.wrk, RSS samples (kB)
# in $T/NAME.rss.
phase() {
    local name=$1 bin=$2 conns=$3 secs=$4
    : >"$T/$name.rss"
    if ! ks_start_fcgi "$bin" "$T/kensho.json" "$T/fcgi.sock" "$T/$name.log" 8 ||
        ! ks_start_nginx "$T/nginx" "$PORT" "$ROOT/www" "$T/fcgi.sock" 2m 1000000 1000000; then
        check "$name: the stack starts" false
        return 1
    fi
    : >"$T/nginx/access.log" # nginx reopens nothing: truncate in place
    # warm the revocation cache, so the load measures the steady state
    curl -s -o /dev/null --max-time 20 -H 'Content-Type: application/x-pem-file' --data-binary "@$P/citizen-rsa.pem" \
        "$URL/api/v1/certificate"
    KS_SOAK_DIR=$B timeout $((secs + 60)) wrk -t 2 -c "$conns" -d "${secs}s" --timeout 20s -s "$HERE/mix.lua" "$URL" \
        >"$T/$name.wrk" 2>&1 &
    local wrkpid=$! i
    for ((i = 0; i < secs; i++)); do
        sleep 1
        awk '$1 == "VmRSS:" {print $2}' "/proc/$FCGI_PID/status" >>"$T/$name.rss" 2>/dev/null
    done
    wait "$wrkpid"
    ks_stop "$NGINX_PID" 10
    NGINX_PID=
    ks_stop "$FCGI_PID" 30
    FCGI_PID=
    check "$name: kensho-fcgi exits 0 on SIGTERM (got $KS_STOP_RC)" [ "$KS_STOP_RC" = 0 ]
    local line n5 total nginx5
    line=$(grep '^KS_SOAK' "$T/$name.wrk")
    total=$(awk '/requests in/ {print $1}' "$T/$name.wrk")
    n5=$(sed -E 's/.* 5xx=([0-9]+).*/\1/' <<<"$line")
    nginx5=$(awk '$(NF-2) >= 500 {n++} END {print n + 0}' "$T/nginx/access.log")
    echo "  soak $name: ${total:-0} requests in ${secs}s with $conns connections; ${line#KS_SOAK }; nginx 5xx: $nginx5" >&2
    check "$name: load ran (${total:-0} requests)" [ "${total:-0}" -gt "$secs" ]
    check "$name: zero 5xx (wrk ${n5:-?}, nginx $nginx5)" [ "${n5:-1}/$nginx5" = 0/0 ]
    check "$name: no socket errors or timeouts" bash -c "! grep -q 'Socket errors' '$T/$name.wrk'"
    check "$name: no sanitizer report" bash -c "! grep -qE 'Sanitizer|runtime error' '$T/$name.log'"
}

# ---- 1. load ----
phase load "$FCGI" 64 "$SECS"
san=0
readelf --dyn-syms -W "$FCGI" 2>/dev/null | grep -q __asan_init && san=1
if [ -s "$T/load.rss" ]; then
    read -r first last max q1 q4 <<<"$(awk -v n="$(wc -l <"$T/load.rss")" '
        function median(a, lo, hi,   m, k, i, j, t) {
            m = 0; for (i = lo; i <= hi; i++) b[++m] = a[i]
            for (i = 2; i <= m; i++) { t = b[i]; for (j = i - 1; j >= 1 && b[j] > t; j--) b[j + 1] = b[j]; b[j + 1] = t }
            return b[int((m + 1) / 2)]
        }
        { v[NR] = $1; if ($1 > mx) mx = $1 }
        END {
            w = int(n / 4); if (w < 3) w = 3; if (w >= n) w = n - 1
            rest = n - w; q = int(rest / 4); if (q < 1) q = 1
            print v[w + 1], v[n], mx, median(v, w + 1, w + q), median(v, n - q + 1, n)
        }' "$T/load.rss")"
    echo "  soak RSS (kB): first after warm-up $first, last $last, max $max; medians first/last quarter $q1 -> $q4" >&2
    if [ "$san" = 1 ]; then
        echo "  soak: sanitizer build, RSS growth not asserted" >&2
    else
        check "RSS stable: last-quarter median within ${SLACK_MB} MiB of the first ($q1 -> $q4 kB)" \
            [ $((q4 - q1)) -le $((SLACK_MB * 1024)) ]
    fi
fi

# ---- 2. leaks, at a lower rate, under LeakSanitizer ----
if [ "${SOAK_SAN:-1}" != 0 ]; then
    if [ -x "$SAN_FCGI" ]; then
        ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 phase lsan "$SAN_FCGI" 4 "$SAN_SECS"
        check "LeakSanitizer: nothing at exit" bash -c "! grep -q 'LeakSanitizer' '$T/lsan.log'"
    else
        check "no $SAN_FCGI for the LeakSanitizer run (make SAN=1)" false
    fi
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
