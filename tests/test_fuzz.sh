#!/usr/bin/env bash
# tests/test_fuzz.sh - the libFuzzer harnesses of fuzz/ as part of make test:
#   1. every input under fuzz/regress/<harness>/ (each once a crash) is
#      replayed and must run clean;
#   2. each harness runs briefly over its seeds (build/fuzz/seeds/<h>, made
#      from the test PKI): FUZZ_TEST_SECONDS each (default 4), at most
#      FUZZ_TEST_RUNS inputs (default 20000), in a scratch corpus.
# Longer runs: make fuzz FUZZ_SECONDS=N, make fuzz-long.  Bounded: ~17 x 5 s.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 1
F=build/fuzz
SECS=${FUZZ_TEST_SECONDS:-4}
RUNS=${FUZZ_TEST_RUNS:-20000}
export KS_FUZZ_PKI=${PKI:-$ROOT/build/pki}
# The harnesses carry their own sanitizer options; a SAN=1 run's must not leak in.
unset ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS
pass=0
fail=0
T=$(mktemp -d /tmp/kensho-fuzz-test.XXXXXX)
trap 'rm -rf "$T"' EXIT
names=$(sed -n 's/^FUZZ_NAMES *:= *//p' fuzz/fuzz.mk)
for h in $names; do
    bin=$F/fuzz_$h
    if [ ! -x "$bin" ]; then
        echo "FAIL: $bin not built (make fuzz-build)" >&2
        fail=$((fail + 1))
        continue
    fi
    # 1. regressions
    if [ -d "fuzz/regress/$h" ] && [ -n "$(ls -A "fuzz/regress/$h")" ]; then
        n=$(ls "fuzz/regress/$h" | wc -l)
        if timeout 120 "$bin" -close_fd_mask=2 -timeout=20 "fuzz/regress/$h"/* >"$T/$h.regress.log" 2>&1; then
            pass=$((pass + 1))
        else
            fail=$((fail + 1))
            echo "FAIL: fuzz_$h: a regression input crashes again ($n inputs):" >&2
            grep -E 'ERROR|runtime error|SUMMARY|fuzz:' "$T/$h.regress.log" | head -n 5 >&2
        fi
    fi
    # 2. a short run over the seeds
    mkdir -p "$T/corpus-$h" "$T/art-$h"
    if timeout $((SECS + 60)) "$bin" -max_total_time="$SECS" -runs="$RUNS" -timeout=20 -rss_limit_mb=4096 \
        -max_len=262144 -close_fd_mask=2 -artifact_prefix="$T/art-$h/" "$T/corpus-$h" "$F/seeds/$h" \
        >"$T/$h.log" 2>&1; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1))
        mkdir -p "$F/artifacts/$h"
        cp "$T/art-$h"/* "$F/artifacts/$h/" 2>/dev/null
        echo "FAIL: fuzz_$h found a crash (kept in $F/artifacts/$h/):" >&2
        grep -E 'ERROR|runtime error|SUMMARY|fuzz:' "$T/$h.log" | head -n 5 >&2
    fi
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
