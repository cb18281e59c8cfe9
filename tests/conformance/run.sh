#!/usr/bin/env bash
# tests/conformance/run.sh - runs the four conformance suites through
# $KENSHO, prints every disagreement, one figure line per suite and, last,
# the total "N passed, M failed" (skipped limbo cases are not in it; they are
# reported on the limbo line).  Exit 1 when any suite disagrees anywhere.
set -u
here=$(cd "$(dirname "$0")" && pwd)
: "${KENSHO:?}"
total_p=0
total_f=0
summary=()
for suite in pkits cms limbo ltv; do
    echo "== $suite"
    out=$(timeout 1200 python3 "$here/$suite.py" 2>&1)
    printf '%s\n' "$out"
    line=$(printf '%s\n' "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -n 1)
    if [ -z "$line" ]; then
        summary+=("$suite: no result")
        total_f=$((total_f + 1))
        continue
    fi
    p=${line%% passed*}
    f=${line#*, }
    f=${f%% failed}
    total_p=$((total_p + p))
    total_f=$((total_f + f))
    summary+=("$(printf '%s\n' "$out" | grep -E '^(PKITS agreement|CMS agreement|limbo:|limbo agreement|LTV agreement)' | tr '\n' ' ')")
done
echo "== summary"
printf '%s\n' "${summary[@]}"
echo "${total_p} passed, ${total_f} failed"
[ "$total_f" -eq 0 ]
