# tests/lib.sh - sourced by the shell tests: counting checks, and the
# closing line "N passed, M failed" that tests/run.sh adds up.
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { # bad WHAT...: a failed check, said on stderr
    fail=$((fail + 1))
    echo "FAIL: $*" >&2
}
check() { # check DESCRIPTION CMD...
    local what=$1
    shift
    if "$@"; then ok; else bad "$what"; fi
}
