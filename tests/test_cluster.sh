#!/usr/bin/env bash
# tests/test_cluster.sh - many nodes, no lost verdicts (issue 22 item 7;
# make test-cluster, and part of make test).  On 127.0.0.1:
#   two kensho-fcgi nodes (own configurations, sockets and audit directories,
#   audit rotation by size), two memcached, nginx with an upstream over both
#   nodes, the demo OCSP responder (counting distinct certificates) and CRL
#   server; wrk drives a bounded mix of good, revoked and tampered filings.
# During the load: kill -9 node A and restart it, kill memcached 2, SIGHUP
# node B twice, SIGTERM node A and start its replacement on the same socket;
# the audit logs rotate by size all along.
# Asserts: 0 wrong verdicts (every audit record's indication is the one the
# CLI gives for that filing, and wrk saw no other); no 5xx but around the
# kill -9 (counted and printed); per node, audit records = 200s (give or
# take the requests in flight at the kill and those wrk abandoned at its
# end) and `kensho audit-verify DIR` intact across the rotated files; OCSP
# requests at the responder <= distinct certificates x (1 + node restarts +
# memcached deaths); node B's RSS flat.  Prints the figures.
# Bounded: CLUSTER_SECONDS of load (default 60), every wait capped.
set -u
K=${KENSHO:?}
P=${PKI:?}
HERE=$(cd "$(dirname "$0")" && pwd)
FCGI=$(dirname "$K")/kensho-fcgi
SECS=${CLUSTER_SECONDS:-60}
SLACK_MB=${CLUSTER_RSS_SLACK_MB:-8}
# shellcheck source=tests/fcgi/stack.sh
. "$HERE/fcgi/stack.sh"
# shellcheck source=tests/lib.sh
. "$HERE/lib.sh"

ks_require_tools curl nginx wrk memcached jq openssl
"$PY" -c 'import cryptography' 2>/dev/null || ks_give_up "python3-cryptography missing"
declare -A PID=()
stop_all() {
    local k
    for k in nginx a b mc1 mc2 ocsp crl; do
        [ -n "${PID[$k]:-}" ] && ks_stop "${PID[$k]}" 10
    done
}
ks_test_dir cluster stop_all
ks_rundir "$T"
ks_cache_key "$T/cache.key"

# ---- peers ----
start_mc() { # start_mc NAME PORT
    ks_exec_service memcached -l 127.0.0.1 -p "$2" -U 0 -m 64 -c 1024 2>>"$T/$1.log" &
    PID[$1]=$!
    ks_wait_for 10 bash -c "echo >/dev/tcp/127.0.0.1/$2"
}
MC1=$(ks_free_port)
MC2=$(ks_free_port)
start_mc mc1 "$MC1"
start_mc mc2 "$MC2"
mkdir -p "$T/crl" "$T/ocsp"
cp "$P"/*.crl "$T/crl/"
cp "$P/pref-ca-db/index.txt" "$P/pref-ca-self.pem" "$P/ocsp-responder.pem" "$P/ocsp-responder.key" "$T/ocsp/"
ks_rundir "$T"
# answers valid for 10 hours: nothing expires during the run, so every
# request at the responder is a cache miss somewhere
ks_exec_service "$PY" "$HERE/revocation/peer.py" "$T/ocsp.port" ocsp-fast "$T/ocsp/index.txt" \
    "$T/ocsp/pref-ca-self.pem" "$T/ocsp/ocsp-responder.pem" "$T/ocsp/ocsp-responder.key" 600 2>>"$T/ocsp.log" &
PID[ocsp]=$!
ks_exec_service "$PY" "$HERE/revocation/peer.py" "$T/crl.port" static "$T/crl" >>"$T/crl.log" 2>&1 &
PID[crl]=$!
ks_wait_for 10 test -s "$T/ocsp.port" && ks_wait_for 10 test -s "$T/crl.port"
OCSP_PORT=$(cat "$T/ocsp.port")
CRL_PORT=$(cat "$T/crl.port")

# ---- the nodes ----
node_config() { # node_config NAME
    mkdir -p "$T/$1/audit"
    cat >"$T/$1/kensho.json" <<JSON
{
$(ks_demo_trust_json "$P" "$OCSP_PORT" "$CRL_PORT" "$MC1" 3000 "$T/cache.key"),
  "limits": {"max_body_bytes": 1048576},
  "service": {"threads": 4, "drain_ms": 1500},
  "audit": {"path": "$T/$1/audit/audit.log", "required": true, "fsync": "always", "rotate_bytes": 65536}
}
JSON
    # both memcached servers, in the same order on both nodes
    sed -i "s|\"memcached\": \\[\"127.0.0.1:$MC1\"\\]|\"memcached\": [\"127.0.0.1:$MC1\", \"127.0.0.1:$MC2\"]|" "$T/$1/kensho.json"
}
start_node() { # start_node NAME: (re)starts it on its socket, sets PID[NAME]
    ks_rundir "$T/$1"
    ks_exec_service "$FCGI" --config "$T/$1/kensho.json" --socket "$T/$1/fcgi.sock" --threads 4 2>>"$T/$1/fcgi.log" &
    PID[$1]=$!
}
node_ready() { # node_ready NAME: its log says ready since the last start
    [ "$(grep -c 'kensho-fcgi ready' "$T/$1/fcgi.log")" -ge "$2" ]
}
node_config a
node_config b
start_node a
start_node b
ks_wait_for 20 node_ready a 1 && ks_wait_for 20 node_ready b 1 || {
    tail -n 5 "$T"/a/fcgi.log "$T"/b/fcgi.log >&2
    ks_give_up "the nodes are not ready"
}

# ---- nginx: one upstream over both nodes ----
PORT=$(ks_free_port)
mkdir -p "$T/nginx/tmp"
cat >"$T/nginx/nginx.conf" <<NGINX
daemon off;
worker_processes 1;
pid $T/nginx/nginx.pid;
error_log $T/nginx/error.log warn;
events { worker_connections 1024; }
http {
    log_format cluster '\$msec \$status \$uri "\$upstream_addr"';
    access_log $T/nginx/access.log cluster buffer=64k flush=1s;
    client_body_temp_path $T/nginx/tmp/body;
    fastcgi_temp_path $T/nginx/tmp/fastcgi;
    proxy_temp_path $T/nginx/tmp/proxy;
    uwsgi_temp_path $T/nginx/tmp/uwsgi;
    scgi_temp_path $T/nginx/tmp/scgi;
    client_max_body_size 2m;
    upstream kensho {
        server unix:$T/a/fcgi.sock max_fails=0;
        server unix:$T/b/fcgi.sock max_fails=0;
    }
    server {
        listen 127.0.0.1:$PORT;
        location / {
            include $HERE/../nginx/fastcgi.params;
            fastcgi_pass kensho;
        }
    }
}
NGINX
ks_rundir "$T/nginx"
ks_exec_service nginx -p "$T/nginx" -c "$T/nginx/nginx.conf" -e "$T/nginx/error.log" &
PID[nginx]=$!
ks_wait_for 20 curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$PORT/healthz"
URL=http://127.0.0.1:$PORT

# ---- the filings and the verdict each must get (the CLI's, same config) ----
# without memcached: the nodes must start cold, so the responder's count
# below measures their fetches
jq 'del(.memcached, .cache, .audit, .service)' "$T/a/kensho.json" >"$T/cli.json"
: >"$T/bodies"
: >"$T/expected"
for f in sig-attached-rsa sig-attached-ec sig-attached-revoked sig-attached-moved \
    sig-attached-tampered-sig sig-attached-tampered-content; do
    [ -f "$P/$f.p7m" ] || continue
    cp "$P/$f.p7m" "$T/$f.p7m"
    v=$("$K" verify --config "$T/cli.json" --signature "$P/$f.p7m" 2>/dev/null | jq -r '"\(.indication) \(.subindication)"')
    echo "$f.p7m ${v% *}" >>"$T/bodies"
    echo "$(sha256sum "$P/$f.p7m" | cut -c1-64) $v $f" >>"$T/expected"
done
classes=$(awk '{printf "%s=%s/%s ", $4, $2, $3}' "$T/expected")
want() { awk -v f="$1" -v c="$2" -v v="$3" '$4 == f && $c == v {ok = 1} END {exit !ok}' "$T/expected"; }
check "the mix has good, revoked and tampered filings ($classes)" \
    eval "want sig-attached-rsa 2 TOTAL_PASSED && want sig-attached-revoked 3 REVOKED && want sig-attached-tampered-sig 2 TOTAL_FAILED"
echo "  cluster: filings $classes" >&2
OCSP_BEFORE=$(cat "$T/ocsp.port.count" 2>/dev/null || echo 0) # the CLI's own fetches

# ---- load, and the timeline of faults beside it ----
T0=$(date +%s.%N)
at() { # at SECONDS: sleeps until that many seconds after T0
    sleep "$(awk -v t0="$T0" -v s="$1" -v now="$(date +%s.%N)" 'BEGIN {d = t0 + s - now; print (d > 0 ? d : 0)}')"
}
mark() { echo "$(date +%s.%N) $*" >>"$T/timeline"; }
KS_CLUSTER_DIR=$T timeout $((SECS + 60)) wrk -t 2 -c 16 -d "${SECS}s" --timeout 20s -s "$HERE/cluster/mix.lua" "$URL" \
    >"$T/wrk.out" 2>&1 &
WRK=$!
BPID=${PID[b]}
( # node B's RSS once a second (node B is never restarted)
    for ((i = 0; i < SECS; i++)); do
        sleep 1
        awk '$1 == "VmRSS:" {print $2}' "/proc/$BPID/status" 2>/dev/null
    done
) >"$T/rss" &
SAMPLER=$!
at $((SECS / 6)); mark kill9 a; kill -KILL "${PID[a]}"; wait "${PID[a]}" 2>/dev/null
start_node a; mark restart a
at $((SECS * 2 / 6)); mark kill mc2; kill -KILL "${PID[mc2]}"; wait "${PID[mc2]}" 2>/dev/null; PID[mc2]=
at $((SECS * 5 / 12)); mark hup b; kill -HUP "${PID[b]}"
at $((SECS * 7 / 12)); mark hup b; kill -HUP "${PID[b]}"
at $((SECS * 9 / 12)); mark term a; old=${PID[a]}; kill -TERM "$old"
sleep 0.3; start_node a; mark restart a
ks_wait_for 30 eval "! ks_running $old"
wait "$old"
rc_term=$?
wait "$WRK"
wait "$SAMPLER"
sleep 1.5 # nginx's buffered log
ks_stop "${PID[nginx]}" 10
PID[nginx]=
ks_stop "${PID[a]}" 20
rc_a=$KS_STOP_RC
ks_stop "${PID[b]}" 20
rc_b=$KS_STOP_RC
PID[a]=
PID[b]=
check "node A drained under load exits 0 on SIGTERM (got $rc_term)" [ "$rc_term" = 0 ]
check "node A (restarted twice) exits 0 on SIGTERM (got $rc_a)" [ "$rc_a" = 0 ]
check "node B (reloaded twice) exits 0 on SIGTERM (got $rc_b)" [ "$rc_b" = 0 ]
check "both reloads of node B took" [ "$(grep -c 'configuration reloaded' "$T/b/fcgi.log")" = 2 ]
# The same configuration each time: node B kept its revocation cache (and
# its record of evidence seen) instead of going back to memcached and the
# responders (issue 22 item 5; tests/test_reload_cache.sh counts that).
check "both reloads of node B kept the revocation cache" \
    [ "$(grep -c 'revocation cache kept all' "$T/b/fcgi.log")" = 2 ]
check "the timeline ran (kill -9, memcached, 2 HUP, TERM)" [ "$(wc -l <"$T/timeline")" = 7 ]

# ---- figures ----
line=$(grep '^KS_CLUSTER' "$T/wrk.out")
total=$(awk '/requests in/ {print $1}' "$T/wrk.out")
odd=$(sed -E 's/.* odd=([0-9]+).*/\1/' <<<"$line")
kill9=$(awk '$2 == "kill9" {print $1}' "$T/timeline")
ACC=$T/nginx/access.log
n5=$(awk '$2 >= 500 && $3 ~ /verify/' "$ACC" | wc -l)
# a 5xx counts as in flight at the kill -9 when it was logged within 3 s of it
n5kill=$(awk -v k="$kill9" '$2 >= 500 && $3 ~ /verify/ && $1 >= k - 0.5 && $1 <= k + 3' "$ACC" | wc -l)
echo "  cluster: $total requests in ${SECS}s; wrk ${line#KS_CLUSTER }; 5xx $n5 (in flight at the kill -9: $n5kill)" >&2
check "load ran (${total:-0} requests)" [ "${total:-0}" -gt "$SECS" ]
check "wrk saw no indication outside the mix's ($odd)" [ "${odd:-1}" = 0 ]
check "no 5xx except in flight at the kill -9 ($n5 5xx, $n5kill of them then)" [ "$n5" = "$n5kill" ]
check "no socket errors" bash -c "! grep -q 'Socket errors' '$T/wrk.out'"

# per node: 200s answered (the last upstream nginx tried answered) against records
per_node() { # per_node NAME STATUS: requests of that final status answered by NAME's socket
    awk -F'"' -v s="$T/$1/fcgi.sock" -v st="$2" '{ split($1, f, " ") }
        f[2] == st && f[3] ~ /verify/ { n = split($2, a, ", "); if (a[n] == "unix:" s) c++ } END {print c + 0}' "$ACC"
}
wrong=0
for n in a b; do
    ok200=$(per_node "$n" 200)
    cut499=$(per_node "$n" 499)
    # verdict records only (not the rotation records that link the files)
    cat "$T/$n"/audit/audit.log* | jq -c 'select(.indication != null) | [.signature_sha256, .indication, .subindication]' \
        >"$T/$n.records"
    recs=$(wc -l <"$T/$n.records")
    files=$(ls "$T/$n"/audit/ | wc -l)
    bad=$(jq -r '.[0] + " " + .[1] + " " + (.[2] // "null")' "$T/$n.records" |
        awk 'NR == FNR {want[$1] = $2 " " $3; next} !($1 in want) || want[$1] != $2 " " $3 {w++} END {print w + 0}' \
            "$T/expected" -)
    wrong=$((wrong + bad))
    slack=$cut499
    [ "$n" = a ] && slack=$((slack + n5kill))
    echo "  cluster node $n: $ok200 answered 200, $recs verdict records in $files audit files, $cut499 abandoned by wrk at its end, $bad wrong" >&2
    check "node $n: every 200 has its record ($recs records, $ok200 200s, slack $slack)" \
        [ "$recs" -ge "$ok200" -a "$recs" -le $((ok200 + slack)) ]
    check "node $n: the audit log rotated ($files files)" [ "$files" -ge 3 ]
    "$K" audit-verify "$T/$n/audit" >"$T/$n.av" 2>&1
    check "node $n: audit-verify DIR intact across its files ($(jq -c '{intact, files, lines, problems: (.problems // [] | length)}' "$T/$n.av" 2>/dev/null))" \
        [ "$(jq -r .intact "$T/$n.av" 2>/dev/null)" = true ]
done
check "0 wrong verdicts in the audit records ($wrong)" [ "$wrong" = 0 ]

# the responder: at most one request per certificate per cold start
ocsp=$(( $(cat "$T/ocsp.port.count" 2>/dev/null || echo 0) - OCSP_BEFORE ))
certs=$(cat "$T/ocsp.port.certs" 2>/dev/null || echo 0)
restarts=2
mcdeaths=1
bound=$((certs * (1 + restarts + mcdeaths)))
echo "  cluster: OCSP requests $ocsp for $certs distinct certificates (bound $bound: x(1 + $restarts restarts + $mcdeaths memcached death))" >&2
check "OCSP requests at the responder within the bound ($ocsp <= $bound)" [ "$ocsp" -le "$bound" ]

# RSS of node B: last quarter's median within SLACK_MB of the first's after warm-up
n=$(wc -l <"$T/rss")
w=$((n / 4))
q=$(((n - w) / 4))
[ "$q" -ge 1 ] || q=1
median() { sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)] + 0}'; }
q1=$(sed -n "$((w + 1)),$((w + q))p" "$T/rss" | median)
q4=$(tail -n "$q" "$T/rss" | median)
echo "  cluster: node B RSS (kB) medians first/last quarter $q1 -> $q4" >&2
check "node B RSS flat ($q1 -> $q4 kB, slack ${SLACK_MB} MiB)" [ "$q1" -gt 0 -a $((q4 - q1)) -le $((SLACK_MB * 1024)) ]
check "no sanitizer report" bash -c "! grep -qE 'Sanitizer|runtime error' '$T/a/fcgi.log' '$T/b/fcgi.log'"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
