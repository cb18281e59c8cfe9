#!/usr/bin/env bash
# fuzz/run.sh SECONDS HARNESS... - `make fuzz`: runs each harness
# (build/fuzz/fuzz_<h>) for SECONDS over its kept corpus and its seeds,
# FUZZ_JOBS (default: the number of CPUs) at a time.  Logs in
# build/fuzz/logs/<h>.log, crashes in build/fuzz/artifacts/<h>/.  Exit 1 if
# any harness found something: copy the artifact to fuzz/regress/<h>/ once
# fixed, and tests/test_fuzz.sh replays it forever after.
# Each harness's line says the edges it reached (libFuzzer's "cov:"); at the
# end they are listed again, sorted, and appended with the date and the
# seconds to build/fuzz/edges.tsv, so coverage growth between runs shows.
set -u
SECONDS_EACH=$1
shift
F=build/fuzz
JOBS=${FUZZ_JOBS:-$(nproc)}
mkdir -p "$F/logs"
run_one() {
    local h=$1
    mkdir -p "$F/corpus/$h" "$F/artifacts/$h"
    local regress=()
    [ -d "fuzz/regress/$h" ] && regress=("fuzz/regress/$h")
    # -close_fd_mask=2: the library logs every refusal to stderr; libFuzzer
    # keeps its own copy of stderr for its reports.
    KS_FUZZ_PKI=${KS_FUZZ_PKI:-build/pki} "$F/fuzz_$h" -max_total_time="$SECONDS_EACH" -timeout=20 \
        -rss_limit_mb=4096 -max_len=262144 -close_fd_mask=2 -print_final_stats=1 \
        -artifact_prefix="$F/artifacts/$h/" "$F/corpus/$h" "$F/seeds/$h" "${regress[@]}" >"$F/logs/$h.log" 2>&1
    local rc=$?
    local execs cov
    execs=$(grep -E '^stat::number_of_executed_units' "$F/logs/$h.log" | awk '{print $2}')
    cov=$(grep -E '#[0-9]+.*cov:' "$F/logs/$h.log" | tail -n 1 | sed -E 's/.*cov: ([0-9]+).*/\1/')
    printf '%-12s %s  %8s execs  cov %6s  corpus %5s files\n' "$h" "$([ $rc -eq 0 ] && echo ok || echo "FOUND (exit $rc)")" \
        "${execs:-?}" "${cov:-?}" "$(ls "$F/corpus/$h" | wc -l)"
    printf '%s\t%s\t%s\t%s\t%s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$h" "$SECONDS_EACH" "${cov:-?}" "${execs:-?}" \
        >>"$F/edges.tsv"
    return $rc
}
fail=0
pids=()
names=()
for h in "$@"; do
    run_one "$h" &
    pids+=($!)
    names+=("$h")
    if [ ${#pids[@]} -ge "$JOBS" ]; then
        wait "${pids[0]}" || fail=1
        pids=("${pids[@]:1}")
    fi
done
for p in "${pids[@]}"; do wait "$p" || fail=1; done
echo "edges reached (libFuzzer cov:) in ${SECONDS_EACH} s each:"
for h in "$@"; do
    c=$(grep -E '#[0-9]+.*cov:' "$F/logs/$h.log" 2>/dev/null | tail -n 1 | sed -E 's/.*cov: ([0-9]+).*/\1/')
    printf '  %-12s %6s\n' "$h" "${c:-?}"
done
[ $fail -eq 0 ] || echo "fuzz: something was found; see build/fuzz/logs and build/fuzz/artifacts" >&2
exit $fail
