# shellcheck shell=bash
# tests/install/ratelimit.sh - sourced by tests/test_install.sh: the checks
# on nginx's answers over the per-client rate limit of /api/ (issue #21).
# Needs tests/lib.sh (check, ok, bad) and curl.

# ks_rl_burst N OUT_DIR CURL_ARGS... URL: N requests in one curl (one
# connection, no wait between them); the headers of request i go to
# OUT_DIR/h.i, its body to OUT_DIR/b.i, the statuses one a line to
# OUT_DIR/codes.  Bounded by --max-time.
ks_rl_burst() {
    local n=$1 out=$2 i
    shift 2
    local url=${*: -1}
    local args=(-s --max-time 20 "${@:1:$#-1}")
    local cmd=()
    mkdir -p "$out"
    for ((i = 1; i <= n; i++)); do
        cmd+=(-D "$out/h.$i" -o "$out/b.$i" -w '%{http_code}\n' "$url")
        [ "$i" -lt "$n" ] && cmd+=(--next "${args[@]}")
    done
    curl "${args[@]}" "${cmd[@]}" >"$out/codes" 2>/dev/null
}

# ks_rl_header FILE NAME: the value of header NAME (case-insensitive, CR dropped).
ks_rl_header() {
    tr -d '\r' <"$1" | awk -v n="$2" -F': ' 'tolower($1) == tolower(n) {print $2; exit}'
}

# ks_rl_check WHAT OUT_DIR: at least one request of the burst was refused
# with 429, and each 429 is RFC 9457 problem+json with Retry-After and an
# X-Request-Id that the body's request_id repeats.
ks_rl_check() {
    local what=$1 out=$2 i n429=0 nok=0 bad_one=
    local total
    total=$(grep -c . "$out/codes" 2>/dev/null)
    for ((i = 1; i <= total; i++)); do
        [ "$(sed -n "${i}p" "$out/codes")" = 429 ] || continue
        n429=$((n429 + 1))
        local ct ra rid
        ct=$(ks_rl_header "$out/h.$i" Content-Type)
        ra=$(ks_rl_header "$out/h.$i" Retry-After)
        rid=$(ks_rl_header "$out/h.$i" X-Request-Id)
        if [ "$ct" = application/problem+json ] && [[ "$ra" =~ ^[1-9][0-9]*$ ]] && [[ "$rid" =~ ^[0-9a-f]{32}$ ]] &&
            "$PY" - "$out/b.$i" "$rid" <<'PY'; then
import json, sys
d = json.load(open(sys.argv[1]))
ok = (d.get("status") == 429 and d.get("type") == "about:blank" and d.get("title") == "Too Many Requests"
      and d.get("code") == "HTTP_TOO_MANY_REQUESTS" and d.get("request_id") == sys.argv[2])
sys.exit(0 if ok else 1)
PY
            nok=$((nok + 1))
        else
            [ -z "$bad_one" ] && bad_one="request $i: Content-Type '$ct', Retry-After '$ra', X-Request-Id '$rid', body $(head -c 200 "$out/b.$i" | tr '\n' ' ')"
        fi
    done
    check "$what: a burst over the limit is refused with 429 ($n429 of $total)" [ "$n429" -gt 0 ]
    check "$what: every 429 is problem+json with Retry-After and X-Request-Id ($nok of $n429) ${bad_one}" \
        test "$n429" -gt 0 -a "$nok" -eq "$n429"
}
