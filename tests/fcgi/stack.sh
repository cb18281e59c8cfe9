# tests/fcgi/stack.sh - sourced by the shell tests (tests/test_*.sh),
# tests/run-stack.sh and bench/run.sh: start and stop kensho-fcgi and nginx
# on 127.0.0.1 in a run directory; the tests' common preamble (tools, a
# scratch directory, the stack) and their request helpers.
#
# Everything listens on 127.0.0.1 only, on free ports.  When run as root,
# the services run as nobody (setpriv), so nginx's master is not root either
# and needs no "user" directive; the run directory is handed to nobody.
# Every wait is bounded.

# The Python the helpers run under: Debian's own when there is one (its
# python3-cryptography is what peer.py ocsp-fast imports), else the first
# python3 on PATH.
PY=$(command -v /usr/bin/python3 || command -v python3)

# Prints a free TCP port on 127.0.0.1 (the kernel picks it).
ks_free_port() {
    "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# ks_cache_key FILE: a fresh memcached HMAC key (32 random bytes as hex) in
# FILE, readable by the service user only.  Every node that shares a
# memcached must be given the same file (README "Scaling out").
ks_cache_key() {
    (umask 077 && openssl rand -hex 32 >"$1")
    [ "$(id -u)" -eq 0 ] && chown nobody:nogroup "$1"
    return 0
}

# ks_demo_trust_json PKI OCSP_PORT CRL_PORT MC_PORT TIMEOUT_MS KEY_FILE [CACHE_MEMBERS]:
# the demo PKI's anchors, its TSA as timestamp_anchors (with the TSA CA's CRL:
# TSA certificates are revocation-checked), CRLs, revocation sources, memcached and the cache
# (its HMAC key from KEY_FILE, plus CACHE_MEMBERS) as configuration members
# (no braces), shared by `make run` and `make bench` so the bench measures
# the configuration people run.
ks_demo_trust_json() {
    local p=$1 ocsp=http://127.0.0.1:$2/ crl=http://127.0.0.1:$3/
    cat <<JSON
  "trust_anchors": ["$p/anchors"],
  "intermediates": ["$p/intermediates"],
  "timestamp_anchors": ["$p/tsa-ca.pem"],
  "crls": ["$p/pref-ca.crl", "$p/pref-ca2.crl", "$p/jpki-bca.crl", "$p/gpki-bca.crl", "$p/ministry-ca.crl", "$p/tsa-ca.crl"],
  "revocation": {"mode": "require", "timeout_ms": $5, "allow_urls": ["$ocsp", "$crl"]},
  "revocation_sources": [{"issuer": "$p/pref-ca-self.pem", "ocsp": "$ocsp", "crl": ["${crl}pref-ca.crl"]}],
  "accept_policies": ["1.2.392.200149.8.5.1.1.20"],
  "memcached": ["127.0.0.1:$4"],
  "cache": {"hmac_key_file": "$6"${7:+, $7}}
JSON
}

# Replaces the (background) subshell with CMD run as the service user
# (nobody when we are root), so $! is the service's own pid.
ks_exec_service() {
    if [ "$(id -u)" -eq 0 ]; then
        exec setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$@"
    else
        exec "$@"
    fi
}

# ks_rundir DIR: makes DIR usable by the service user.
ks_rundir() {
    mkdir -p "$1/tmp"
    if [ "$(id -u)" -eq 0 ]; then
        chown -R nobody:nogroup "$1"
        chmod 0750 "$1"
    fi
}

# ks_wait_for TIMEOUT_S CMD...: retries CMD every 0.1 s until it succeeds.
ks_wait_for() {
    local deadline=$(($(date +%s) + $1))
    shift
    until "$@" 2>/dev/null; do
        [ "$(date +%s)" -ge "$deadline" ] && return 1
        sleep 0.1
    done
}

# ks_start_fcgi BIN CONFIG SOCKET LOG [THREADS]: sets FCGI_PID.
ks_start_fcgi() {
    local bin=$1 cfg=$2 sock=$3 log=$4 threads=${5:-4}
    ks_exec_service "$bin" --config "$cfg" --socket "$sock" --threads "$threads" 2>>"$log" &
    FCGI_PID=$!
    if ! ks_wait_for 20 test -S "$sock"; then
        echo "kensho-fcgi did not create $sock; log:" >&2
        tail -n 20 "$log" >&2
        return 1
    fi
}

# ks_start_nginx RUN_DIR PORT WWW_DIR SOCKET MAX_BODY API_RATE API_BURST: sets NGINX_PID.
ks_start_nginx() {
    local dir=$1 root
    root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
    mkdir -p "$dir"
    RUN_DIR=$1 PORT=$2 WWW_DIR=$3 FCGI_SOCKET=$4 MAX_BODY=$5 API_RATE=$6 API_BURST=$7 \
        envsubst '${RUN_DIR} ${PORT} ${WWW_DIR} ${FCGI_SOCKET} ${MAX_BODY} ${API_RATE} ${API_BURST}' \
        <"$root/nginx/kensho.conf.template" >"$dir/nginx.conf"
    cp "$root/nginx/fastcgi.params" "$dir/fastcgi.params"
    ks_rundir "$dir"
    ks_exec_service nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" &
    NGINX_PID=$!
    if ! ks_wait_for 20 curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$2/"; then
        echo "nginx did not answer on 127.0.0.1:$2; error.log:" >&2
        tail -n 20 "$dir/error.log" >&2
        return 1
    fi
}

# ks_running PID: 1 while PID exists and is not a zombie.
ks_running() {
    [ -r "/proc/$1/stat" ] && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]
}

# ks_stop_stack: stops nginx, then kensho-fcgi (NGINX_PID and FCGI_PID, when
# set): the tests' exit traps.
ks_stop_stack() {
    [ -n "${NGINX_PID:-}" ] && ks_stop "$NGINX_PID" 5
    [ -n "${FCGI_PID:-}" ] && ks_stop "$FCGI_PID" 5
    return 0
}

# ks_stop PID [TIMEOUT_S]: SIGTERM, wait (SIGKILL after the timeout).
# Sets KS_STOP_RC to the exit status.  PID must be a child of this shell,
# so do not call it inside $(...).  Safe under set -e: a service that dies
# of the SIGTERM (status 143, as the Python peers do) must not end the
# caller's cleanup half way (make run's Ctrl-C left the rest running).
ks_stop() {
    local pid=$1 t=${2:-10}
    KS_STOP_RC=0
    [ -n "$pid" ] || return 0
    kill -TERM "$pid" 2>/dev/null || return 0
    if ! ks_wait_for "$t" eval "! ks_running $pid"; then
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || KS_STOP_RC=$?
}

# ---- the shell tests' preamble ----
# A test that cannot run says why on stderr and ends with the closing line of
# one failed check, so tests/run.sh counts it as failed.

# ks_give_up WHY...: the test cannot go on: the checks so far and one
# failed more (tests/lib.sh's counts; "0 passed, 1 failed" before any).
ks_give_up() {
    echo "$(basename "$0" .sh): $*" >&2
    echo "${pass:-0} passed, $((${fail:-0} + 1)) failed"
    exit 1
}

# ks_require_tools TOOL...: every TOOL is on PATH, else ks_give_up.
ks_require_tools() {
    local tool
    for tool in "$@"; do
        command -v "$tool" >/dev/null || ks_give_up "$tool missing (tests/install-deps.sh)"
    done
}

# ks_test_dir NAME [CLEANUP_FN]: a scratch directory /tmp/kensho-NAME.XXXXXX
# in $T; at exit the stack stops (ks_stop_stack), then CLEANUP_FN runs (the
# test's own peers, mounts...), then $T goes (kept when KEEP is set).
ks_test_dir() {
    T=$(mktemp -d "/tmp/kensho-$1.XXXXXX")
    FCGI_PID=
    NGINX_PID=
    KS_TEST_CLEANUP=${2:-}
    trap ks_test_cleanup EXIT
}
# ks_kill_peers: a ks_test_dir cleanup for tests whose own background
# helpers (revocation peers, sinks) are in the array `pids`.
ks_kill_peers() {
    local p
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    return 0
}
ks_test_cleanup() {
    ks_stop_stack
    [ -n "$KS_TEST_CLEANUP" ] && "$KS_TEST_CLEANUP"
    [ -n "${KEEP:-}" ] || rm -rf "$T"
}

# ks_test_stack DIR CONFIG THREADS [MAX_BODY API_RATE API_BURST]: kensho-fcgi
# ($FCGI, socket DIR/fcgi.sock, log DIR/fcgi.log) behind nginx (DIR/nginx,
# the project's www/, a free port); sets SOCK, PORT and B (the base URL).
# Either one not starting ends the test (ks_give_up).
ks_test_stack() {
    local dir=$1 cfg=$2 threads=$3 root
    root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
    SOCK=$dir/fcgi.sock
    PORT=$(ks_free_port)
    # shellcheck disable=SC2034 # the tests' base URL
    B=http://127.0.0.1:$PORT
    ks_rundir "$dir"
    if ! ks_start_fcgi "$FCGI" "$cfg" "$SOCK" "$dir/fcgi.log" "$threads" ||
        ! ks_start_nginx "$dir/nginx" "$PORT" "$root/www" "$SOCK" "${4:-2m}" "${5:-100000}" "${6:-100000}"; then
        ks_give_up "the stack did not start"
    fi
}

# ---- request helpers: every answer kept in $KS_ANSWERS (default $T) ----
# req NAME CURL_ARGS...: body in NAME.body, headers in NAME.hdr, status in
# NAME.code, "METHOD URL" in NAME.req (for the OpenAPI schema check).
req() {
    local name=$1 d=${KS_ANSWERS:-$T} w
    shift
    w=$(curl -s --max-time 20 -o "$d/$name.body" -D "$d/$name.hdr" -w '%{http_code} %{method} %{url_effective}' "$@")
    echo "${w%% *}" >"$d/$name.code"
    echo "${w#* }" >"$d/$name.req"
}
# code_is NAME STATUS: the answer's HTTP status.
code_is() { [ "$(cat "${KS_ANSWERS:-$T}/$1.code")" = "$2" ]; }
# header NAME FIELD: the answer's first FIELD header, its value only.
header() { grep -i "^$2:" "${KS_ANSWERS:-$T}/$1.hdr" | head -n 1 | sed -E 's/^[^:]+:[ ]*//; s/\r$//'; }
# jget NAME|FILE KEY.PATH: the value as jq -r prints it (NOT-JSON when it is
# not JSON) in the answer NAME's body, or in FILE (a path: it has a slash).
jget() {
    local f=$1
    case $f in */*) ;; *) f=${KS_ANSWERS:-$T}/$1.body ;; esac
    jq -r ".$2" "$f" 2>/dev/null || echo NOT-JSON
}
