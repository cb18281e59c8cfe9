#!/usr/bin/env bash
# tests/test_readme.sh - the README's commands, typed as a newcomer types
# them, in a fresh clone in a directory only its owner may enter:
#   1. `git clone` of this checkout's HEAD into a mktemp -d directory (mode
#      0700: as root, the case where the services' user, nobody, cannot
#      enter the clone, as in root's home); the build and the test PKI are
#      copied in and made newer than the sources, so make rebuilds nothing
#      and only the place is new;
#   2. every command of the README (indented lines starting with "$ ", with
#      their continuation lines) that needs no running stack, after make pki:
#      exit status as the README's "Command line" section says, and the
#      indication the README shows under it;
#   3. `make run PORT=<free port>` in the background, in its own process
#      group; /readyz answers 200 within 120 s; every README command that
#      needs the stack (127.0.0.1:8080 -> the port, build/run), exit 0 and
#      the indication shown; a SIGHUP reload works and the service still
#      verifies; as root, kensho-fcgi ran as nobody and build/run points
#      outside the clone;
#   4. SIGINT to the process group (Ctrl-C) stops everything within 30 s;
#   5. as root, CONFIG= a file nobody cannot read: refused, naming nobody.
# Bounded: about a minute with the build copied.
set -u
K=${KENSHO:?}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
# shellcheck source=tests/fcgi/stack.sh
. "$HERE/fcgi/stack.sh"
# shellcheck source=tests/lib.sh
. "$HERE/lib.sh"

D=$(mktemp -d /tmp/kensho-readme.XXXXXX)
C=$D/kensho
PGID=
cleanup() {
    if [ -n "$PGID" ]; then
        kill -KILL -- "-$PGID" 2>/dev/null
        wait "$PGID" 2>/dev/null
    fi
    if [ -L "$C/build/run" ]; then
        case $(readlink "$C/build/run") in /tmp/kensho-run.*) rm -rf "$(readlink "$C/build/run")" ;; esac
    fi
    rm -rf "$D"
}
trap cleanup EXIT
check "the clone's parent is 0700" [ "$(stat -c %a "$D")" = 700 ]

# A newcomer's make: the release build, whatever this run's (make test
# SAN=1 passes SAN=1 down through MAKEFLAGS, and its binaries live in
# build/san, where the README's bin/kensho is not).
NEWCOMER=(env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u SAN)
newcomer() { "${NEWCOMER[@]}" "$@"; }
[ -x "$ROOT/bin/kensho" ] && [ -x "$ROOT/bin/kensho-fcgi" ] ||
    newcomer make -C "$ROOT" --no-print-directory all >"$D/build.log" 2>&1

# ---- 1. the clone, with this checkout's build ----
git clone -q "$ROOT" "$C" 2>"$D/clone.err"
check "git clone of HEAD" [ -f "$C/Makefile" ]
mkdir -p "$C/build"
[ -d "$ROOT/bin" ] && cp -a "$ROOT/bin" "$C/"
[ -d "$ROOT/build/rel" ] && cp -a "$ROOT/build/rel" "$C/build/"
cp -a "$ROOT/build/pki" "$C/build/"
find "$C/bin" "$C/build" -exec touch -h {} + 2>/dev/null

# The README's commands: "$ " lines with their "\" continuations, each
# followed by the output the README shows (until the next command or the
# end of the block), from which the expected indication is taken.
extract() {
    awk '
        function flush() { if (cmd != "") { print cmd "\t" ind; cmd = ""; ind = "" } }
        /^    \$ / { flush(); line = substr($0, 7); cont = (line ~ /\\$/); sub(/\\$/, "", line); cmd = line; next }
        cont && /^    / { line = $0; sub(/^ +/, "", line); cont = (line ~ /\\$/); sub(/\\$/, "", line); cmd = cmd " " line; next }
        /^    / && cmd != "" { if (match($0, /"indication":"[A-Z_]+"/)) ind = substr($0, RSTART + 14, RLENGTH - 15); next }
        { flush() }
        END { flush() }
    ' "$C/README.md"
}
extract >"$D/commands"
n_cmds=$(wc -l <"$D/commands")
check "the README has commands ($n_cmds)" [ "$n_cmds" -ge 4 ]

# run_cmd CMD INDICATION: in the clone, as the README has it.
exit_for() { case $1 in TOTAL_PASSED) echo 0 ;; TOTAL_FAILED) echo 1 ;; INDETERMINATE) echo 2 ;; *) echo 0 ;; esac; }
run_cmd() {
    local cmd=$1 want=$2 rc got want_rc=0
    (cd "$C" && newcomer timeout 60 bash -c "$cmd") >"$D/out" 2>"$D/err"
    rc=$?
    case $cmd in bin/kensho\ verify* | bin/kensho\ cert*) want_rc=$(exit_for "$want") ;; esac
    check "README: $cmd: exit $rc (want $want_rc)" [ "$rc" = "$want_rc" ]
    if [ -n "$want" ]; then
        got=$(jq -r .indication "$D/out" 2>/dev/null)
        check "README: $cmd: indication $got (want $want)" [ "$got" = "$want" ]
    fi
    [ "$rc" = "$want_rc" ] || head -c 400 "$D/err" >&2
}

# ---- 2. the commands that need no stack ----
while IFS=$'\t' read -r cmd want; do
    case $cmd in *127.0.0.1:8080* | *build/run/*) continue ;; esac
    run_cmd "$cmd" "$want"
done <"$D/commands"

# ---- 3. make run from the clone ----
PORT=$(ks_free_port)
# Not through the function: $! must be setsid's own pid, the new group's.
"${NEWCOMER[@]}" setsid make -C "$C" --no-print-directory run PORT="$PORT" >"$D/run.log" 2>&1 </dev/null &
PGID=$!
ready() { [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$PORT/readyz")" = 200 ]; }
if ks_wait_for 120 ready; then
    ok
    while IFS=$'\t' read -r cmd want; do
        case $cmd in *127.0.0.1:8080* | *build/run/*) ;; *) continue ;; esac
        run_cmd "${cmd//127.0.0.1:8080/127.0.0.1:$PORT}" "$want"
    done <"$D/commands"
    # A reload reads what the first load read, as the service's user.
    fpid=$(pgrep -g "$PGID" -x kensho-fcgi | head -n 1)
    [ -n "$fpid" ] && kill -HUP "$fpid" 2>/dev/null # never "kill 0": that is this test's own group
    check "SIGHUP: kensho-fcgi reloads its configuration" \
        ks_wait_for 10 grep -q '"configuration reloaded' "$C/build/run/kensho-fcgi.log"
    check "SIGHUP: still verifies" bash -c "curl -s --max-time 20 -F signature=@'$C/build/pki/sig-attached-rsa.p7m' \
        http://127.0.0.1:$PORT/api/v1/verify | jq -e '.indication == \"TOTAL_PASSED\"' >/dev/null"
    if [ "$(id -u)" -eq 0 ]; then
        check "as root: kensho-fcgi runs as nobody" \
            [ "$(awk '$1 == "Uid:" {print $2}' "/proc/${fpid:-0}/status" 2>/dev/null)" = "$(id -u nobody)" ]
        check "as root: build/run is laid out where nobody can read it ($(readlink "$C/build/run"))" \
            bash -c "readlink '$C/build/run' | grep -q '^/tmp/kensho-run\.'"
    fi
else
    bad "make run from a 0700 clone: /readyz within 120 s"
    tail -n 30 "$D/run.log" >&2
fi

# ---- 4. Ctrl-C stops everything ----
kill -INT -- "-$PGID" 2>/dev/null
gone() { ! pgrep -g "$PGID" >/dev/null; }
check "SIGINT to make run's process group: everything stopped within 30 s" ks_wait_for 30 gone
if gone; then
    wait "$PGID" 2>/dev/null
    PGID=
fi

# ---- 5. a CONFIG= file the service user cannot read ----
if [ "$(id -u)" -eq 0 ]; then
    cp "$C/build/pki/demo.json" "$C/mine.json"
    (cd "$C" && newcomer timeout 60 make --no-print-directory run PORT="$(ks_free_port)" CONFIG=mine.json) >"$D/cfg.log" 2>&1 </dev/null
    rc=$?
    check "CONFIG= in a 0700 clone: refused (exit $rc)" [ "$rc" -ne 0 ]
    check "CONFIG= in a 0700 clone: the error names nobody" grep -q 'not readable by nobody' "$D/cfg.log"
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
