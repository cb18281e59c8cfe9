# shellcheck shell=bash
# tests/install/ratelimit.sh - sourced by tests/test_install.sh: the checks
# on nginx's answers over the per-client rate limit of /api/ (issue #21).
# Needs tests/lib.sh (check, ok, bad) and curl.

# ks_rl_burst N OUT_DIR CURL_ARGS... URL: N requests in one curl (one
# connection, no wait between them); "{i}" in CURL_ARGS becomes the
# request's number (1..N); the headers of request i go to OUT_DIR/h.i, its
# body to OUT_DIR/b.i, the statuses one a line to OUT_DIR/codes.  Bounded
# by --max-time.
ks_rl_burst() {
    local n=$1 out=$2 i
    shift 2
    local url=${*: -1}
    local args=(-s --max-time 20 "${@:1:$#-1}")
    local cmd=()
    mkdir -p "$out"
    for ((i = 1; i <= n; i++)); do
        [ "$i" -gt 1 ] && cmd+=(--next)
        cmd+=("${args[@]//\{i\}/$i}" -D "$out/h.$i" -o "$out/b.$i" -w '%{http_code}\n' "$url")
    done
    curl "${cmd[@]}" >"$out/codes" 2>/dev/null
}

# ks_rl_count OUT_DIR CODE: how many requests of a burst got CODE.
ks_rl_count() {
    grep -cx "$2" "$1/codes" 2>/dev/null
}

# ks_rl_check WHAT OUT_DIR: at least one request of the burst was refused
# with 429, and each 429 is RFC 9457 problem+json with Retry-After and an
# X-Request-Id that the body's request_id repeats.
ks_rl_check() {
    local what=$1 out=$2 res n429 nok bad_one
    res=$("$PY" - "$out" <<'PY'
import json, os, re, sys
out = sys.argv[1]
codes = open(os.path.join(out, "codes")).read().split()
n429 = nok = 0
bad = ""
for i, code in enumerate(codes, 1):
    if code != "429":
        continue
    n429 += 1
    h = {}
    for line in open(os.path.join(out, "h.%d" % i), encoding="latin-1"):
        k, sep, v = line.rstrip("\r\n").partition(": ")
        if sep:
            h[k.lower()] = v
    ct, ra, rid = h.get("content-type", ""), h.get("retry-after", ""), h.get("x-request-id", "")
    body = open(os.path.join(out, "b.%d" % i), "rb").read()
    try:
        d = json.loads(body)
    except ValueError:
        d = {}
    if (ct == "application/problem+json" and re.fullmatch(r"[1-9][0-9]*", ra) and re.fullmatch(r"[0-9a-f]{32}", rid)
            and d.get("status") == 429 and d.get("type") == "about:blank" and d.get("title") == "Too Many Requests"
            and d.get("code") == "HTTP_TOO_MANY_REQUESTS" and d.get("request_id") == rid):
        nok += 1
    elif not bad:
        bad = "request %d: Content-Type %r, Retry-After %r, X-Request-Id %r, body %r" % (i, ct, ra, rid, body[:160])
print(len(codes), n429, nok, bad)
PY
)
    read -r total n429 nok bad_one <<<"$res"
    check "$what: a burst over the limit is refused with 429 (${n429:-?} of ${total:-?})" test "${n429:-0}" -gt 0
    check "$what: every 429 is problem+json with Retry-After and X-Request-Id (${nok:-?} of ${n429:-?}) ${bad_one:-}" \
        test "${n429:-0}" -gt 0 -a "${nok:-0}" = "${n429:-0}"
}
