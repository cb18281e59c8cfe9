#!/usr/bin/env bash
# tests/run-stack.sh - what `make run` starts, in the foreground, on 127.0.0.1:
#   memcached (free port), a demo OCSP responder for the prefecture CA and a
#   CRL server (tests/revocation/peer.py, free ports), kensho-fcgi and nginx
#   on PORT (default 8080).  Ctrl-C stops everything it started.
#
# Environment: KENSHO (bin/kensho; kensho-fcgi sits next to it), PKI (the
# demo PKI, tests/pki/mkpki.sh), PORT (default 8080), CONFIG (a configuration
# file to use instead of the generated demo one), API_RATE and API_BURST
# (nginx's per-client rate limit of /api/ in requests/s and the burst
# answered at once: default 500 and 1000, as in production; "off" for none).
# The run directory is
# build/run: logs, the audit log, sockets, nginx's prefix.
#
# As root the services run as nobody, who may not be able to enter the
# clone at all (root's home is 0700, so is a mktemp -d directory).  Then
# everything they read (kensho-fcgi, the demo PKI's trust files and CRLs,
# www/, the peer) is copied into a run directory under /tmp that nobody
# owns, and build/run is a symbolic link to it: the paths in the README
# stay the same, and a SIGHUP reload reads what the first load read.  A
# CONFIG= file that nobody cannot read is refused up front, naming the user.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
K=${KENSHO:-$ROOT/bin/kensho}
FCGI=$(dirname "$K")/kensho-fcgi
P=$(cd "${PKI:-$ROOT/build/pki}" && pwd)
PORT=${PORT:-8080}
CONFIG=${CONFIG:-}
API_RATE=${API_RATE:-500}
API_BURST=${API_BURST:-1000}
if [ "$API_RATE" = off ]; then
    API_RATE=1000000
    API_BURST=1000000
fi
[[ "$API_RATE" =~ ^[1-9][0-9]*$ && "$API_BURST" =~ ^[1-9][0-9]*$ ]] ||
    { echo "run-stack: API_RATE and API_BURST are whole numbers (requests/s, requests) or API_RATE=off" >&2; exit 1; }
RUN=$ROOT/build/run
# shellcheck source=tests/fcgi/stack.sh
. "$HERE/fcgi/stack.sh"
# The services run as nobody when we are root: a python3 under /root (pyenv
# shims) is out of their reach, so prefer the system one.

for tool in nginx memcached openssl python3 curl envsubst; do
    command -v "$tool" >/dev/null || { echo "run-stack: $tool missing: run tests/install-deps.sh as root" >&2; exit 1; }
done
[ -x "$FCGI" ] || { echo "run-stack: no $FCGI (make)" >&2; exit 1; }
if curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$PORT/"; then
    echo "run-stack: something already answers on 127.0.0.1:$PORT; try PORT=8081 make run" >&2
    exit 1
fi

PIDS=()
NAMES=()
stop_all() {
    trap - INT TERM EXIT
    local i
    for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
        ks_stop "${PIDS[$i]}" 10
        echo "run-stack: stopped ${NAMES[$i]} (exit $KS_STOP_RC)" >&2
    done
}
trap stop_all EXIT
trap 'exit 130' INT TERM
started() { # started NAME PID
    NAMES+=("$1")
    PIDS+=("$2")
}

SVC_USER=$(if [ "$(id -u)" -eq 0 ]; then echo nobody; else id -un; fi)
# svc_can CHECKS...: every `test` expression holds for the service user.
svc_can() { (ks_exec_service sh -c 'for c in "$@"; do eval "test $c" || exit 1; done' sh "$@") 2>/dev/null; }
# The previous run's directory under /tmp, when build/run pointed there.
if [ -L "$RUN" ]; then
    old=$(readlink "$RUN")
    case $old in /tmp/kensho-run.*) rm -rf "$old" ;; esac
fi
rm -rf "$RUN"
PEER=$HERE/revocation/peer.py
WWW=$ROOT/www
if ! svc_can "-x '$FCGI'" "-r '$WWW/index.html'" "-r '$PEER'" "-r '$P/anchors'" "-x '$P/anchors'" \
    "-x '$P/intermediates'" "-r '$P/pref-ca.crl'" "-x '$(dirname "$RUN")'"; then
    REAL=$(mktemp -d /tmp/kensho-run.XXXXXX)
    ln -s "$REAL" "$RUN"
    echo "run-stack: $SVC_USER cannot read $ROOT: the run directory is $REAL (build/run points to it)" >&2
    mkdir -p "$REAL/bin" "$REAL/pki" "$REAL/peer"
    cp "$FCGI" "$REAL/bin/"
    cp -r "$WWW" "$REAL/www"
    cp "$PEER" "$REAL/peer/"
    cp -r "$P/anchors" "$P/intermediates" "$P"/*.crl "$P/pref-ca-self.pem" "$P/tsa-ca.pem" "$REAL/pki/"
    FCGI=$REAL/bin/kensho-fcgi
    WWW=$REAL/www
    PEER=$REAL/peer/peer.py
    SVC_PKI=$REAL/pki
    RUN=$REAL
else
    SVC_PKI=$P
fi
mkdir -p "$RUN/crl" "$RUN/ocsp"
cp "$P"/*.crl "$P"/*.crl.der "$RUN/crl/"
# The responder's key is readable by root only in the PKI: give the service
# user its own copy inside the run directory.
cp "$P/pref-ca-db/index.txt" "$P/pref-ca-self.pem" "$P/ocsp-responder.pem" "$P/ocsp-responder.key" "$RUN/ocsp/"
[ -f "$P/pref-ca-db/index.txt.attr" ] && cp "$P/pref-ca-db/index.txt.attr" "$RUN/ocsp/"
ks_rundir "$RUN"
chmod 0755 "$RUN" "$RUN/crl" # the CRL server and nginx read below it
[ -d "$RUN/pki" ] && chmod -R go+rX "$RUN/pki" "$RUN/www" "$RUN/peer" "$RUN/bin"

MC_PORT=$(ks_free_port)
ks_exec_service memcached -l 127.0.0.1 -p "$MC_PORT" -U 0 -m 64 -c 256 2>>"$RUN/memcached.log" &
started memcached $!
# The demo OCSP responder and CRL server: tests/revocation/peer.py on 127.0.0.1
# (`openssl ocsp -port` would bind every interface).
OCSP_PORT=$(ks_free_port)
KS_PEER_PORT=$OCSP_PORT ks_exec_service "$PY" "$PEER" "$RUN/ocsp.port" ocsp "$RUN/ocsp/index.txt" \
    "$RUN/ocsp/pref-ca-self.pem" "$RUN/ocsp/ocsp-responder.pem" "$RUN/ocsp/ocsp-responder.key" 2>>"$RUN/ocsp.log" &
started ocsp $!
CRL_PORT=$(ks_free_port)
KS_PEER_PORT=$CRL_PORT ks_exec_service "$PY" "$PEER" "$RUN/crl.port" static "$RUN/crl" \
    >>"$RUN/crl.log" 2>&1 &
started crl $!

VS_CERT=
if [ -z "$CONFIG" ]; then
    ks_cache_key "$RUN/cache.key"
    # The demo's own verdict-signing key (ES256), made fresh for each run, so
    # the page's "download the signed result" works and
    # `bin/kensho verify-verdict --cert build/run/verdict-signing.pem FILE`
    # checks what it saved.  A real deployment keeps its key (README).
    (umask 077 && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -keyout "$RUN/verdict-signing.key" -out "$RUN/verdict-signing.pem" -subj "/CN=kensho demo verdicts" \
        -days 30 2>/dev/null)
    chmod 0644 "$RUN/verdict-signing.pem"
    [ "$(id -u)" -eq 0 ] && chown nobody:nogroup "$RUN/verdict-signing.key"
    VS_CERT=$RUN/verdict-signing.pem
    CONFIG=$RUN/demo.json
    cat >"$CONFIG" <<JSON
{
$(ks_demo_trust_json "$SVC_PKI" "$OCSP_PORT" "$CRL_PORT" "$MC_PORT" 3000 "$RUN/cache.key"),
  "verdict_signing": {"key_file": "$RUN/verdict-signing.key", "cert_file": "$VS_CERT"},
  "limits": {"max_body_bytes": 20971520},
  "service": {"threads": 4},
  "audit": {"path": "$RUN/audit.log", "required": true, "fsync": "always"}
}
JSON
    ks_rundir "$RUN"
fi
CONFIG=$(cd "$(dirname "$CONFIG")" && pwd)/$(basename "$CONFIG")
if ! svc_can "-r '$CONFIG'"; then
    echo "run-stack: $CONFIG: not readable by $SVC_USER, the user kensho-fcgi runs as" \
        "(put it, and the files it names, where $SVC_USER can read them)" >&2
    exit 78
fi

SOCK=$RUN/kensho-fcgi.sock
ks_exec_service "$FCGI" --config "$CONFIG" --socket "$SOCK" 2>>"$RUN/kensho-fcgi.log" &
FCGI_PID=$!
started kensho-fcgi "$FCGI_PID"
ks_wait_for 20 test -S "$SOCK" || { echo "run-stack: kensho-fcgi did not start:" >&2; tail -n 20 "$RUN/kensho-fcgi.log" >&2; exit 1; }
ks_start_nginx "$RUN/nginx" "$PORT" "$WWW" "$SOCK" 21m "$API_RATE" "$API_BURST" || exit 1
started nginx "$NGINX_PID"
ks_wait_for 10 test -s "$RUN/ocsp.port" || true

cat <<EOF

  kensho is running on http://127.0.0.1:$PORT   (Ctrl-C stops everything)

    curl -s -F signature=@$P/sig-attached-rsa.p7m http://127.0.0.1:$PORT/api/v1/verify
    curl -s -F signature=@$P/sig-detached-rsa.p7s -F content=@$P/doc.txt http://127.0.0.1:$PORT/api/v1/verify
    curl -s --data-binary @$P/citizen-rsa.pem -H 'Content-Type: application/x-pem-file' http://127.0.0.1:$PORT/api/v1/certificate
    curl -s http://127.0.0.1:$PORT/readyz ; curl -s http://127.0.0.1:$PORT/metrics
    curl -s -F signature=@$P/sig-attached-rsa.p7m 'http://127.0.0.1:$PORT/api/v1/verify?sign=1' >result.jws
    $K verify-verdict --cert ${VS_CERT:-CERT} result.jws   # also what the page's download saved
    kill -HUP $FCGI_PID   # kensho-fcgi reloads the configuration and trust anchors
    $K audit-verify $RUN/audit.log

  configuration $CONFIG
  memcached 127.0.0.1:$MC_PORT  OCSP http://127.0.0.1:$OCSP_PORT/  CRLs http://127.0.0.1:$CRL_PORT/
  rate limit of /api/: $API_RATE requests/s per client, burst $API_BURST (API_RATE=, API_BURST=)
  logs in $RUN (kensho-fcgi.log, nginx/access.log, nginx/error.log, audit.log)

EOF
# Foreground until Ctrl-C or until one of the services dies.
wait -n "${PIDS[@]}" || true
echo "run-stack: a service exited; stopping the rest" >&2
exit 1
