#!/usr/bin/env bash
# tests/run.sh TEST_BINARY... - runs every C test binary and every
# tests/test_*.sh, adds up their "N passed, M failed" lines and ends with the
# total on a line of its own.  Exit status 1 if anything failed.
set -u
total_pass=0
total_fail=0
broken=0
run_one() {
    local name=$1; shift
    local out rc
    out=$("$@" 2> >(sed "s/^/  [$name] /" >&2))
    rc=$?
    local line
    line=$(printf '%s\n' "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed' | tail -n 1)
    if [ -z "$line" ]; then
        echo "$name: no result line (exit $rc)"
        broken=$((broken + 1))
        return
    fi
    local p f
    p=$(echo "$line" | sed -E 's/^([0-9]+) passed.*/\1/')
    f=$(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')
    total_pass=$((total_pass + p))
    total_fail=$((total_fail + f))
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        echo "$name: exit $rc with no failed check"
        broken=$((broken + 1))
    fi
    echo "$name: $line"
}
for t in "$@"; do
    run_one "$(basename "$t")" "$t"
done
for t in tests/test_*.sh; do
    [ -f "$t" ] || continue
    run_one "$(basename "$t")" bash "$t"
done
total_fail=$((total_fail + broken))
echo "${total_pass} passed, ${total_fail} failed"
[ "$total_fail" -eq 0 ]
