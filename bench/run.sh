#!/usr/bin/env bash
# bench/run.sh - `make bench`: the filing season on one machine.
#
# Starts memcached, the demo OCSP responder and CRL server
# (tests/revocation/peer.py), kensho-fcgi and nginx on 127.0.0.1 (free
# ports, tests/fcgi/stack.sh), drives them with wrk (bench/wrk.lua) and
# writes bench/results.json.  Scenarios (README "Throughput"):
#   floor   the same bodies to POST /api/v1/echo-bench (service.bench_routes)
#   hot     10,000 distinct signed filings, 200 signers, revocation cached
#           (audit fsync "always", the default, and "never")
#   threads the hot load against other thread counts and two processes
#   naive   the same filings through plain CMS_verify, one process per core
#   library the same filings through ks_verify_signature in one process
#           (bench/loop, one thread per core, the stack's memcached and
#           responder, no HTTP, no audit): the like-for-like with naive
#   mixed   1 MiB detached CMS + XML Signature filings + certificate checks
#   cold    BENCH_COLD distinct signers, empty caches, responder +50 ms
#   crl     a 1,000,000-entry CRL (bench/crl_bench.c)
#   batch   the hot filings 100 per POST /api/v1/verify/batch (issue #23):
#           verifications per second, next to hot
#   pdf     signed PDFs of 2 KiB, 1 MiB and 20 MiB of page content, made at
#           bench time by tests/pki/mkpdf.py --bench (issue #19, Speed):
#           bench/pdf_bench times the library's verification against
#           SHA-256 over the same bytes, and `openssl speed -evp sha256`
#           runs beside it; bin/kensho verify's peak RSS per file
#           (getrusage of the child) against the file size
# Knobs: BENCH_SECONDS (per scenario, default 20), BENCH_HOT_SECONDS (the
# main figure and the RSS check, default 60), BENCH_CONNS (64),
# BENCH_WRK_THREADS (2), BENCH_DOCS (10000), BENCH_SIGNERS (200),
# BENCH_COLD (10000), BENCH_FCGI_THREADS (8), BENCH_BATCH_CONNS (16),
# BENCH_PDF_RUNS (15), BENCH_ONLY (scenario names separated by spaces or
# commas, e.g. BENCH_ONLY=pdf,batch; BENCH_SCENARIOS is the same), BENCH_OUT
# (default bench/results.json for the whole run; a run of some scenarios
# only writes build/bench/results-partial.json instead, so that it never
# replaces the committed figures with a part of them).
# Environment from the Makefile: KENSHO, PKI, BENCH_BIN.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
K=${KENSHO:-$ROOT/bin/kensho}
FCGI=$(dirname "$K")/kensho-fcgi
P=$(cd "${PKI:-$ROOT/build/pki}" && pwd)
BB=${BENCH_BIN:-$ROOT/build/rel/bench}
SECS=${BENCH_SECONDS:-20}
HOT_SECS=${BENCH_HOT_SECONDS:-60}
CONNS=${BENCH_CONNS:-64}
WT=${BENCH_WRK_THREADS:-2}
DOCS=${BENCH_DOCS:-10000}
NSIGNERS=${BENCH_SIGNERS:-200}
NCOLD=${BENCH_COLD:-10000}
FT=${BENCH_FCGI_THREADS:-8}
ALL_SCENARIOS="floor hot fsync threads naive library mixed batch cold crl pdf"
ONLY=${BENCH_ONLY:-${BENCH_SCENARIOS:-$ALL_SCENARIOS}}
ONLY=${ONLY//,/ }
for s in $ONLY; do
    [[ " $ALL_SCENARIOS " == *" $s "* ]] || { echo "bench: unknown scenario '$s' (scenarios: $ALL_SCENARIOS)" >&2; exit 64; }
done
if [ -n "${BENCH_ONLY:-${BENCH_SCENARIOS:-}}" ]; then
    OUTJSON=${BENCH_OUT:-$ROOT/build/bench/results-partial.json}
else
    OUTJSON=${BENCH_OUT:-$HERE/results.json}
fi
BATCH_CONNS=${BENCH_BATCH_CONNS:-16}
PDF_RUNS=${BENCH_PDF_RUNS:-15}
RUN=$ROOT/build/bench/run
FX=$ROOT/build/bench/fx
. "$ROOT/tests/fcgi/stack.sh"
for tool in nginx memcached wrk openssl xmlsec1 curl envsubst; do
    command -v "$tool" >/dev/null || { echo "bench: $tool missing: run tests/install-deps.sh as root" >&2; exit 1; }
done
"$PY" -c "import cryptography" 2>/dev/null ||
    { echo "bench: python3-cryptography missing: run tests/install-deps.sh as root" >&2; exit 1; }
want() { [[ " $ONLY " == *" $1 "* ]]; }
say() { printf 'bench: %s\n' "$*" >&2; }
T_START=$(date +%s)

# ------------------------------------------------------------- results ---
# BENCH_RESULTS_ONLY=1 rewrites results.json from build/bench/run/res.
write_results() {
"$PY" - "$RUN/res" "$OUTJSON" "$SECS" "$HOT_SECS" "$CONNS" "$WT" "$DOCS" "$NSIGNERS" "$NCOLD" "$FT" "$T_START" <<'EOF'
import json, os, platform, subprocess, sys, time
res, out, secs, hot_secs, conns, wt, docs, nsigners, ncold, ft, t_start = sys.argv[1:]
def load(n):
    try:
        return json.load(open(os.path.join(res, n + ".json")))
    except Exception:
        return None
names = ["floor", "hot", "hot_fsync_never", "hot_threads_1", "hot_threads_4", "hot_threads_16", "hot_2procs",
         "naive", "library", "mixed", "batch", "cold", "crl", "pdf"]
sc = {n: load(n) for n in names if load(n) is not None}
def rps(n):
    s = sc.get(n) or {}
    return s.get("requests_per_s") or s.get("per_second")
summary = {}
if rps("hot") and rps("floor"):
    summary["hot_over_floor"] = round(rps("hot") / rps("floor"), 3)
if rps("hot") and rps("naive"):
    summary["hot_over_naive"] = round(rps("hot") / rps("naive"), 2)
if rps("library") and rps("naive"):
    summary["library_over_naive"] = round(rps("library") / rps("naive"), 2)
for n in ("hot", "hot_fsync_never", "hot_threads_1", "hot_threads_4", "hot_threads_16", "hot_2procs"):
    if rps(n):
        summary.setdefault("variants", {})[n] = {
            "requests_per_s": rps(n),
            "p99_ms": sc[n]["latency_ms"]["p99"],
            "over_floor": round(rps(n) / rps("floor"), 3) if rps("floor") else None,
            "over_naive": round(rps(n) / rps("naive"), 2) if rps("naive") else None,
            "kensho_cpu_us_per_request": sc[n]["kensho_fcgi"]["cpu_us_per_request"],
        }
h = sc.get("hot")
if h:
    summary["targets"] = {
        "hot_at_least_5000_per_s": rps("hot") >= 5000,
        "hot_at_least_half_floor": bool(rps("floor")) and rps("hot") >= 0.5 * rps("floor"),
        "hot_at_least_3x_naive": bool(rps("naive")) and rps("hot") >= 3 * rps("naive"),
        "hot_p99_below_20ms": h["latency_ms"]["p99"] < 20,
        "hot_zero_errors": sum(h["errors"].values()) == 0,
    }
    k = h.get("kensho_fcgi", {})
    if k.get("rss_kb_first"):
        summary["targets"]["rss_growth_kb_over_hot_run"] = k["rss_kb_last"] - k["rss_kb_first"]
b = sc.get("batch")
if b and b.get("verifications_per_s"):
    summary["batch_verifications_per_s"] = b["verifications_per_s"]
    if rps("hot"):
        summary["batch_over_hot"] = round(b["verifications_per_s"] / rps("hot"), 2)
pdf = sc.get("pdf")
if pdf and pdf.get("targets"):
    summary.setdefault("targets", {}).update(pdf["targets"])
c = sc.get("cold")
if c:
    # The responder counts requests and the distinct certificates they ask
    # about: every request beyond one per certificate is a repeated fetch.
    summary.setdefault("targets", {})["cold_at_most_one_fetch_per_certificate"] = \
        c.get("ocsp_repeated_requests", 1) == 0
chain = load("audit_chain")
if chain is not None:
    summary["audit_chain_intact"] = chain.get("intact") is True
    summary["audit_chain_lines"] = chain.get("lines")
def ver(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=5).stdout.strip().splitlines()[0]
    except Exception:
        return None
doc = {
    "command": "make bench",
    "generated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    "wall_seconds": int(time.time()) - int(t_start),
    "machine": {"cpus": os.cpu_count(), "kernel": platform.release(),
                "load_average_at_end": os.getloadavg()[0],
                "openssl": ver(["openssl", "version"]), "nginx_workers": 1},
    "settings": {"seconds_per_scenario": int(secs), "hot_seconds": int(hot_secs), "connections": int(conns),
                 "wrk_threads": int(wt), "documents": int(docs), "signers": int(nsigners),
                 "cold_signers": int(ncold), "kensho_fcgi_threads": int(ft)},
    "summary": summary,
    "scenarios": sc,
}
with open(out, "w") as f:
    json.dump(doc, f, indent=2)
    f.write("\n")
print(json.dumps(summary, indent=2))
EOF
}
if [ "${BENCH_RESULTS_ONLY:-}" = 1 ]; then
    write_results
    exit 0
fi

# ------------------------------------------------------------ fixtures ---
# Generated once per PKI and counts (a C generator: 10,000 CLI runs would take
# minutes); XML filings with xmlsec1 like tests/pki/mkxml.sh.
STAMP="$NSIGNERS $DOCS $NCOLD $(stat -c %Y "$P/.done" 2>/dev/null || echo 0)"
if [ "$(cat "$FX/.stamp" 2>/dev/null)" != "$STAMP" ]; then
    say "generating $NSIGNERS signers, $DOCS filings, $NCOLD cold signers (once)"
    rm -rf "$FX"
    mkdir -p "$FX/xml"
    t0=$(date +%s)
    "$BB/mkfilings" "$P" "$FX" "$NSIGNERS" "$DOCS" "$NCOLD" 16
    ETAX_NS=http://xml.e-tax.nta.go.jp/XSD/shotoku
    for i in $(seq 0 39); do
        s=$(printf 's%04d' $((i % NSIGNERS)))
        alg=http://www.w3.org/2001/04/xmldsig-more#rsa-sha256
        [ $((i % 2)) -eq 1 ] && alg=http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256
        cat >"$FX/xml/t$i.xml" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<DATA xmlns="$ETAX_NS" id="DATA">
  <!-- SYNTHETIC TEST FILING No. $i: not a real tax return -->
  <SHINKOKU VR="1.0" id="SHINKOKU">
    <NOZEISHA_NM>合成　太郎 $i</NOZEISHA_NM>
    <NENDO>令和7年分</NENDO>
    <SHOTOKU_KINGAKU>$((1000000 + i * 7919))</SHOTOKU_KINGAKU>
  </SHINKOKU>
  <Signature xmlns="http://www.w3.org/2000/09/xmldsig#" Id="ETAX-SIG">
    <SignedInfo>
      <CanonicalizationMethod Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315"/>
      <SignatureMethod Algorithm="$alg"/>
      <Reference URI="">
        <Transforms><Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/></Transforms>
        <DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/>
        <DigestValue/>
      </Reference>
    </SignedInfo>
    <SignatureValue/>
    <KeyInfo><X509Data><X509Certificate/></X509Data></KeyInfo>
  </Signature>
</DATA>
EOF
        xmlsec1 --sign --privkey-pem "$FX/signers/$s.key,$FX/signers/$s.pem" --id-attr:id "$ETAX_NS:DATA" \
            --output "$FX/xml/f$i.xtx" "$FX/xml/t$i.xml" >/dev/null 2>&1 ||
            { echo "bench: xmlsec1 --sign failed for $s" >&2; exit 1; }
    done
    # mixed.pack: per 10 requests 1 CMS over 1 MiB (detached), 4 XML, 5 certificates.
    "$PY" - "$FX" <<'EOF'
import os, sys
fx = sys.argv[1]
def read(name):
    out, f = [], open(os.path.join(fx, name), "rb")
    while True:
        h = f.readline()
        if not h:
            return out
        out.append(h + f.read(int(h.split(b" ")[0])))
big, certs = read("big.pack"), read("cert.pack")
xml = []
for i in range(40):
    b = open(os.path.join(fx, "xml", "f%d.xtx" % i), "rb").read()
    xml.append(b"%d /api/v1/verify application/xml\n" % len(b) + b)
with open(os.path.join(fx, "mixed.pack"), "wb") as o:
    for k in range(160):
        o.write(big[k % len(big)])
        for j in range(4):
            o.write(xml[(4 * k + j) % len(xml)])
        for j in range(5):
            o.write(certs[(5 * k + j) % len(certs)])
EOF
    echo "$STAMP" >"$FX/.stamp"
    say "fixtures ready in $(($(date +%s) - t0)) s"
fi

# The batch bodies: the hot filings, 100 per request (limits.max_batch's
# default), 40 requests (4,000 filings) per pack.
if want batch && { [ ! -s "$FX/batch.pack" ] || [ "$FX/hot.pack" -nt "$FX/batch.pack" ]; }; then
    "$PY" - "$FX" <<'EOF'
import base64, json, os, sys
fx = sys.argv[1]
recs, f = [], open(os.path.join(fx, "hot.pack"), "rb")
while len(recs) < 4000:
    h = f.readline()
    if not h:
        break
    recs.append(f.read(int(h.split(b" ")[0])))
with open(os.path.join(fx, "batch.pack"), "wb") as o:
    for k in range(len(recs) // 100):
        items = [{"id": "f%d" % (100 * k + j), "signature": base64.b64encode(recs[100 * k + j]).decode()}
                 for j in range(100)]
        body = json.dumps({"items": items}, separators=(",", ":")).encode()
        o.write(b"%d /api/v1/verify/batch application/json\n" % len(body) + body)
EOF
fi
# The signed PDFs, made with the project's own fixture writer (the test
# PKI's citizen-rsa signs), again whenever the writer or the PKI changes.
PDF_SIZES="2048 1048576 20971520"
if want pdf; then
    for n in $PDF_SIZES; do
        if [ ! -s "$FX/pdf/bench-$n.pdf" ] || [ "$ROOT/tests/pki/mkpdf.py" -nt "$FX/pdf/bench-$n.pdf" ] ||
            [ "$P/.done" -nt "$FX/pdf/bench-$n.pdf" ]; then
            say "writing signed PDFs of $PDF_SIZES bytes of page content"
            rm -rf "$FX/pdf"
            mkdir -p "$FX/pdf"
            "$PY" "$ROOT/tests/pki/mkpdf.py" "$P" --bench "$FX/pdf" $PDF_SIZES
            break
        fi
    done
fi

# --------------------------------------------------------------- stack ---
PIDS=()
stop_all() {
    trap - INT TERM EXIT
    local i
    for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
        [ -n "${PIDS[$i]}" ] && { ks_stop "${PIDS[$i]}" 10 || true; }
    done
    return 0
}
trap stop_all EXIT
trap 'exit 130' INT TERM
forget() { # forget PID: remove from PIDS after ks_stop
    local i
    for i in "${!PIDS[@]}"; do [ "${PIDS[$i]}" = "$1" ] && PIDS[$i]=""; done
    return 0
}

rm -rf "$RUN"
mkdir -p "$RUN/crl" "$RUN/ocsp" "$RUN/res"
cp "$P"/*.crl "$P"/*.crl.der "$RUN/crl/"
cat "$P/pref-ca-db/index.txt" "$FX/ocsp-index.txt" >"$RUN/ocsp/index.txt"
cp "$P/pref-ca-db/index.txt.attr" "$RUN/ocsp/" 2>/dev/null || true
cp "$P/pref-ca-self.pem" "$P/ocsp-responder.pem" "$P/ocsp-responder.key" "$RUN/ocsp/"
ks_rundir "$RUN"
chmod 0755 "$RUN" "$RUN/crl"

start_memcached() {
    MC_PORT=$(ks_free_port)
    ks_exec_service memcached -l 127.0.0.1 -p "$MC_PORT" -U 0 -m 256 -c 1024 -t 1 2>>"$RUN/memcached.log" &
    MC_PID=$!
    PIDS+=("$MC_PID")
}
# The demo responder signs in process (peer.py ocsp-fast): with a process
# per answer (`openssl ocsp`) the responder, not kensho, bounded the cold
# scenario and took the CPU from the hot requests beside it.
start_ocsp() { # start_ocsp DELAY_MS
    rm -f "$RUN/ocsp.port" "$RUN/ocsp.port.count" "$RUN/ocsp.port.certs"
    KS_PEER_DELAY_MS=$1 KS_PEER_PORT=$(ks_free_port) ks_exec_service "$PY" "$ROOT/tests/revocation/peer.py" \
        "$RUN/ocsp.port" ocsp-fast "$RUN/ocsp/index.txt" "$RUN/ocsp/pref-ca-self.pem" "$RUN/ocsp/ocsp-responder.pem" \
        "$RUN/ocsp/ocsp-responder.key" 60 2>>"$RUN/ocsp.log" &
    OCSP_PID=$!
    PIDS+=("$OCSP_PID")
    ks_wait_for 20 test -s "$RUN/ocsp.port" || { say "OCSP responder did not start"; exit 1; }
    OCSP_PORT=$(cat "$RUN/ocsp.port")
}
ocsp_count() { cat "$RUN/ocsp.port.count" 2>/dev/null || echo 0; }
ocsp_certs() { cat "$RUN/ocsp.port.certs" 2>/dev/null || echo 0; } # distinct certificates asked about
start_memcached
start_ocsp 0
CRL_PORT=$(ks_free_port)
KS_PEER_PORT=$CRL_PORT ks_exec_service "$PY" "$ROOT/tests/revocation/peer.py" "$RUN/crl.port" static "$RUN/crl" \
    >>"$RUN/crl.log" 2>&1 &
PIDS+=("$!")

ks_cache_key "$RUN/cache.key"
write_config() { # write_config FILE FSYNC
    cat >"$1" <<JSON
{
$(ks_demo_trust_json "$P" "$OCSP_PORT" "$CRL_PORT" "$MC_PORT" 5000 "$RUN/cache.key" '"max_entries": 50000, "wait_ms": 20000'),
  "limits": {"max_body_bytes": 20971520, "request_timeout_ms": 60000},
  "service": {"threads": $FT, "bench_routes": true},
  "audit": {"path": "$RUN/audit.log", "required": true, "fsync": "$2"}
}
JSON
    chmod 0644 "$1"
}
CONF=$RUN/bench.json
write_config "$CONF" always

SOCK=$RUN/kensho-fcgi.sock
FCGI_PID=
start_fcgi() { # start_fcgi THREADS [SOCKET] ; sets FCGI_PID
    local sock=${2:-$SOCK}
    ks_start_fcgi "$FCGI" "$CONF" "$sock" "$RUN/kensho-fcgi.log" "$1"
    PIDS+=("$FCGI_PID")
}
stop_fcgi() { # stop_fcgi PID
    ks_stop "$1" 20 || true
    forget "$1"
}
start_fcgi "$FT"
FCGI_PIDS=("$FCGI_PID")
PORT=$(ks_free_port)
# No per-client rate limit for the load generator (the template's limit_req).
ks_start_nginx "$RUN/nginx" "$PORT" "$ROOT/www" "$SOCK" 21m 1000000 1000000 || exit 1
PIDS+=("$NGINX_PID")
URL=http://127.0.0.1:$PORT
# Pools several kensho-fcgi sockets behind one nginx upstream (SIGHUP: nginx rereads).
nginx_upstream() { # nginx_upstream SOCKET...
    local conf=$RUN/nginx/nginx.conf servers="" s
    for s in "$@"; do servers="$servers server unix:$s;"; done
    sed -i -e '/^    upstream kensho_pool/d' -e "s|fastcgi_pass [^;]*;|fastcgi_pass kensho_pool;|" "$conf"
    sed -i "s|^http {|http {\n    upstream kensho_pool {$servers }|" "$conf"
    kill -HUP "$NGINX_PID"
    sleep 1
}
nginx_upstream "$SOCK"

# ------------------------------------------------------------ measuring ---
CLK=$(getconf CLK_TCK)
cpu_ticks() { # total utime+stime of the given pids
    local t=0 p
    for p in "$@"; do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0))); done
    echo "$t"
}
rss_kb() { local t=0 p; for p in "$@"; do t=$((t + $(awk '/^VmRSS/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0))); done; echo "$t"; }

# "RECORDS SYNCS" from kensho-fcgi's /metrics; "0 0" when unavailable or
# when several processes share the upstream (each answer is one's own).
audit_counts() {
    [ ${#FCGI_PIDS[@]} -eq 1 ] || { echo 0 0; return; }
    curl -s --max-time 5 "$URL/metrics" 2>/dev/null |
        awk '/^kensho_audit_records_total /{r=$2} /^kensho_audit_syncs_total /{s=$2} END{print r+0, s+0}'
}

# run_wrk NAME PACK SECONDS [KS_PATH] [KS_MODE] [KS_EXPECT] [CONNS]
run_wrk() {
    local name=$1 pack=$2 secs=$3 path=${4:-} mode=${5:-spread} expect=${6:-'"indication":"TOTAL_PASSED"'} conns=${7:-$CONNS}
    local out=$RUN/res/$name.wrk.json rssf=$RUN/res/$name.rss
    local c0 c1 t0 t1 m0 m1
    : >"$rssf"
    m0=$(audit_counts)
    c0=$(cpu_ticks "${FCGI_PIDS[@]}")
    t0=$(date +%s.%N)
    ( while :; do rss_kb "${FCGI_PIDS[@]}" >>"$rssf"; sleep 1; done ) &
    local sampler=$!
    KS_PACK=$pack KS_PATH=$path KS_MODE=$mode KS_EXPECT=$expect KS_OUT=$out KS_THREADS=$WT \
        wrk -t"$WT" -c"$conns" -d"${secs}s" --timeout 30s -s "$HERE/wrk.lua" "$URL/" >"$RUN/res/$name.wrk.txt" 2>&1 || true
    t1=$(date +%s.%N)
    kill "$sampler" 2>/dev/null; wait "$sampler" 2>/dev/null || true
    c1=$(cpu_ticks "${FCGI_PIDS[@]}")
    m1=$(audit_counts)
    [ -s "$out" ] || { say "$name: wrk wrote nothing:"; tail -n 5 "$RUN/res/$name.wrk.txt" >&2; echo '{}' >"$out"; }
    "$PY" - "$out" "$rssf" "$c0" "$c1" "$CLK" "$t0" "$t1" "$conns" "${#FCGI_PIDS[@]}" "$m0" "$m1" <<'EOF' >"$RUN/res/$name.json"
import json, sys
out, rssf, c0, c1, clk, t0, t1, conns, nproc, m0, m1 = sys.argv[1:]
r = json.load(open(out))
rss = [int(x) for x in open(rssf).read().split() if x.strip()]
secs = float(t1) - float(t0)
cpu = (int(c1) - int(c0)) / int(clk)
r["connections"] = int(conns)
r["kensho_fcgi"] = {
    "processes": int(nproc),
    "cpu_cores_used": round(cpu / secs, 2) if secs > 0 else None,
    "cpu_us_per_request": round(cpu * 1e6 / r["requests"], 1) if r.get("requests") else None,
    "rss_kb_first": rss[0] if rss else None,
    "rss_kb_last": rss[-1] if rss else None,
    "rss_kb_peak": max(rss) if rss else None,
}
# Audit group commit: records written per fdatasync (absent with several
# processes, or when a reload reset the counters).
(r0, s0), (r1, s1) = [[int(x) for x in m.split()] for m in (m0, m1)]
if r1 > r0 and s1 >= s0:
    r["audit"] = {"records": r1 - r0, "fdatasyncs": s1 - s0,
                  "records_per_fdatasync": round((r1 - r0) / (s1 - s0), 2) if s1 > s0 else None}
print(json.dumps(r))
EOF
    say "$name: $(cat "$RUN/res/$name.json")"
}

warm() { # warm SECONDS: every signer asked for at least once
    run_wrk warmup "$FX/hot.pack" "$1" >/dev/null
    say "warm-up: OCSP requests so far $(ocsp_count)"
}

if want floor || want hot || want fsync || want threads || want batch; then
    warm 10
fi
want floor && run_wrk floor "$FX/hot.pack" "$SECS" /api/v1/echo-bench spread '"status":"ok"'
want hot && run_wrk hot "$FX/hot.pack" "$HOT_SECS"

if want threads; then
    for n in 1 4 16; do
        stop_fcgi "$FCGI_PID"
        start_fcgi "$n"
        FCGI_PIDS=("$FCGI_PID")
        run_wrk "warm_threads_$n" "$FX/hot.pack" 5 >/dev/null
        run_wrk "hot_threads_$n" "$FX/hot.pack" "$SECS"
    done
    # Two processes of FT/2 threads each behind one upstream.
    stop_fcgi "$FCGI_PID"
    half=$(((FT + 1) / 2))
    start_fcgi "$half" "$RUN/k1.sock"
    p1=$FCGI_PID
    start_fcgi "$half" "$RUN/k2.sock"
    p2=$FCGI_PID
    FCGI_PIDS=("$p1" "$p2")
    nginx_upstream "$RUN/k1.sock" "$RUN/k2.sock"
    run_wrk warm_procs "$FX/hot.pack" 5 >/dev/null
    run_wrk hot_2procs "$FX/hot.pack" "$SECS"
    stop_fcgi "$p1"
    stop_fcgi "$p2"
    start_fcgi "$FT"
    FCGI_PIDS=("$FCGI_PID")
    nginx_upstream "$SOCK"
    run_wrk warm_back "$FX/hot.pack" 5 >/dev/null
fi

if want fsync; then
    write_config "$CONF" never
    kill -HUP "$FCGI_PID"  # a reload: new context, empty in-process tier, memcached still warm
    sleep 1
    run_wrk warm_never "$FX/hot.pack" 5 >/dev/null
    run_wrk hot_fsync_never "$FX/hot.pack" "$SECS"
    write_config "$CONF" always
    kill -HUP "$FCGI_PID"
    sleep 1
fi

if want naive; then
    "$BB/naive" "$P" "$FX/hot.pack" "$SECS" "$(nproc)" >"$RUN/res/naive.json"
    say "naive: $(cat "$RUN/res/naive.json")"
fi

if want library; then
    "$BB/loop" "$CONF" "$FX/hot.pack" "$SECS" "$(nproc)" >"$RUN/res/library.json" 2>>"$RUN/loop.log" ||
        say "library: bench/loop failed (see $RUN/loop.log)"
    say "library: $(cat "$RUN/res/library.json")"
fi

want mixed && run_wrk mixed "$FX/mixed.pack" "$SECS" "" spread '"indication":"TOTAL_PASSED"' 16

if want batch; then
    # Every answer: 100 items answered 200, none failed or refused.
    KS_EXPECT_N=100 KS_REJECT='"indication":"TOTAL_FAILED"|"indication":"INDETERMINATE"|"problem"' \
        run_wrk batch "$FX/batch.pack" "$SECS" "" spread '"status":200' "$BATCH_CONNS"
    "$PY" - "$RUN/res/batch.json" "$RUN/res/warmup.json" <<'EOF' >"$RUN/res/batch2.json"
import json, sys
r = json.load(open(sys.argv[1]))
r["items_per_request"] = 100
try:  # the hot filings one per request in this very run (the warm-up: first OCSP fetches included)
    w = json.load(open(sys.argv[2]))
    r["warmup_same_run"] = {"requests_per_s": w.get("requests_per_s"),
                            "cpu_us_per_request": w.get("kensho_fcgi", {}).get("cpu_us_per_request")}
except Exception:
    pass
if r.get("requests_per_s") is not None:
    r["verifications_per_s"] = round(r["requests_per_s"] * 100, 1)
k = r.get("kensho_fcgi", {})
if k.get("cpu_us_per_request"):
    k["cpu_us_per_verification"] = round(k["cpu_us_per_request"] / 100, 1)
print(json.dumps(r))
EOF
    mv "$RUN/res/batch2.json" "$RUN/res/batch.json"
    say "batch, per verification: $("$PY" -c 'import json, sys; r = json.load(open(sys.argv[1])); print(r.get("verifications_per_s"), "verifications/s,", r.get("kensho_fcgi", {}).get("cpu_us_per_verification"), "us CPU each")' "$RUN/res/batch.json")"
fi

if want cold; then
    # Empty caches everywhere: a new memcached, a new kensho-fcgi, and a
    # responder 50 ms slower.  Hot filings keep coming meanwhile (8
    # connections) to see whether cached signers keep their latency.
    stop_fcgi "$FCGI_PID"
    ks_stop "$OCSP_PID" 10 || true; forget "$OCSP_PID"
    ks_stop "$MC_PID" 10 || true; forget "$MC_PID"
    start_memcached
    start_ocsp 50
    write_config "$CONF" always
    CT=${BENCH_COLD_THREADS:-64}
    start_fcgi "$CT"
    FCGI_PIDS=("$FCGI_PID")
    # The hot side needs its 200 signers cached first (they are not cold signers).
    run_wrk warm_cold "$FX/hot.pack" 10 >/dev/null
    base=$(ocsp_count) base_certs=$(ocsp_certs)
    ( KS_PACK=$FX/hot.pack KS_OUT=$RUN/res/cold_side_hot.wrk.json KS_THREADS=1 \
        wrk -t1 -c8 -d"${SECS}s" --timeout 30s -s "$HERE/wrk.lua" "$URL/" >"$RUN/res/cold_side_hot.txt" 2>&1 || true ) &
    side=$!
    run_wrk cold "$FX/cold.pack" "$SECS" "" cold '"indication":"TOTAL_PASSED"' "$CONNS"
    wait "$side" || true
    sleep 1
    fetched=$(($(ocsp_count) - base)) certs=$(($(ocsp_certs) - base_certs))
    "$PY" - "$RUN/res/cold.json" "$RUN/res/cold_side_hot.wrk.json" "$fetched" "$NCOLD" "$certs" <<'EOF' >"$RUN/res/cold2.json"
import json, sys
r = json.load(open(sys.argv[1]))
try:
    side = json.load(open(sys.argv[2]))
except Exception:
    side = None
fetched, ncold, certs = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
# Thread t sent records 2i + t%2 for i < max_index: the cold signers reached.
distinct = min(r.get("max_index_per_thread", 0), ncold)
r["cold_signers_generated"] = ncold
r["distinct_cold_certificates_requested"] = distinct  # issued, some still in flight at the end
r["ocsp_requests_at_responder"] = fetched
r["ocsp_requests_per_distinct_certificate"] = round(fetched / distinct, 3) if distinct else None
r["ocsp_certificates_at_responder"] = certs  # distinct (issuer key hash, serial) asked about
r["ocsp_repeated_requests"] = fetched - certs  # more than one fetch for a certificate
r["responder_added_latency_ms"] = 50
r["hot_alongside_8_connections"] = side
print(json.dumps(r))
EOF
    mv "$RUN/res/cold2.json" "$RUN/res/cold.json"
    say "cold: $(cat "$RUN/res/cold.json")"
fi

if want crl; then
    "$BB/crl_bench" 1000000 "$ROOT/build/bench-crl.der" >"$RUN/res/crl.json"
    say "crl: $(cat "$RUN/res/crl.json")"
fi

if want pdf; then
    # The bench configuration with room for a 20 MiB file (limits.max_input_bytes).
    "$PY" -c 'import json, sys; c = json.load(open(sys.argv[1])); c.setdefault("limits", {})["max_input_bytes"] = 64 << 20
json.dump(c, open(sys.argv[2], "w"))' "$CONF" "$RUN/pdf.json"
    files=()
    for n in $PDF_SIZES; do files+=("$FX/pdf/bench-$n.pdf"); done
    speed=$(openssl speed -mr -evp sha256 -seconds 3 -bytes 16384 2>/dev/null | awk -F: '/^\+F:/ {print $4}')
    "$BB/pdf_bench" "$RUN/pdf.json" "$PDF_RUNS" "${files[@]}" >"$RUN/res/pdf_bench.json" 2>>"$RUN/pdf.log" ||
        say "pdf: bench/pdf_bench failed (see $RUN/pdf.log)"
    "$PY" - "$RUN/res/pdf_bench.json" "${speed:-0}" "$K" "$RUN/pdf.json" "${files[@]}" <<'EOF' >"$RUN/res/pdf.json"
import json, os, sys
bench, speed, kensho, conf, files = sys.argv[1], float(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5:]
try:
    r = json.load(open(bench))
except Exception:
    r = {"files": []}
# Peak RSS of bin/kensho verify per file: the child's own getrusage.
for f, path in zip(r["files"], files):
    pid = os.fork()
    if pid == 0:
        fd = os.open(os.devnull, os.O_WRONLY)
        os.dup2(fd, 1)
        os.execv(kensho, [kensho, "verify", "--config", conf, "--signature", path])
    _, status, ru = os.wait4(pid, 0)
    f["cli_exit"] = os.waitstatus_to_exitcode(status)
    f["cli_peak_rss_kb"] = ru.ru_maxrss
    f["cli_rss_over_file_size"] = round(ru.ru_maxrss * 1024 / f["bytes"], 2)
fs = sorted(r["files"], key=lambda f: f["bytes"])
if len(fs) >= 2:
    small, big = fs[0], fs[-1]
    extra = big["bytes"] - small["bytes"]
    verify_bps = extra / (big["verify_cpu_s"] - small["verify_cpu_s"])
    sha_bps = big["bytes"] / big["sha256_cpu_s"]
    # The largest file's bytes beyond the smallest's, over the CPU time they added.
    r["verify_bytes_per_s"] = round(verify_bps)
    r["sha256_in_process_bytes_per_s"] = round(sha_bps)  # EVP SHA-256 over the largest file, same process
    r["openssl_speed_sha256_16k_bytes_per_s"] = round(speed) if speed else None
    r["verify_over_openssl_speed"] = round(verify_bps / speed, 3) if speed else None
    r["verify_over_sha256_in_process"] = round(verify_bps / sha_bps, 3)
    # The RSS a larger file adds per byte it adds (the libraries and the trust store left out).
    r["cli_rss_added_over_bytes_added"] = round((big["cli_peak_rss_kb"] - small["cli_peak_rss_kb"]) * 1024 / extra, 2)
    r["targets"] = {
        "pdf_verify_at_least_70pct_of_openssl_speed": bool(speed) and verify_bps >= 0.7 * speed,
        "pdf_peak_rss_at_most_3x_file": big["cli_rss_over_file_size"] <= 3,
        "pdf_all_passed": all(f.get("cli_exit") == 0 for f in fs),
    }
print(json.dumps(r))
EOF
    say "pdf: $(cat "$RUN/res/pdf.json")"
fi

stop_all
# Every scenario appended to one audit log (two processes, reloads, group
# commits of every size): its chain must still be intact.
"$K" audit-verify "$RUN/audit.log" >"$RUN/res/audit_chain.json" 2>/dev/null || true
write_results
say "wrote $OUTJSON in $(($(date +%s) - T_START)) s"
