# shellcheck shell=bash
# tests/install/unit.sh - sourced by tests/test_install.sh: reading an
# installed systemd unit, and what its SystemCallFilter allows.

# ks_unit_get FILE KEY: the values of KEY in the [Service] section, one a
# line, in order (a key may repeat, e.g. SystemCallFilter).
ks_unit_get() {
    awk -v k="$2" '
        /^\[/ { sect = $0; next }
        sect == "[Service]" && index($0, k "=") == 1 { print substr($0, length(k) + 2) }
    ' "$1"
}

# ks_syscall_group NAME: the system calls of one name or @group, nested
# groups expanded (systemd-analyze syscall-filter lists a group's members,
# nested groups by name).
ks_syscall_group() {
    case "$1" in
    @*)
        local m
        systemd-analyze syscall-filter "$1" 2>/dev/null | awk 'NR > 1 && $1 !~ /^#/ && NF == 1 {print $1}' |
            while read -r m; do
                ks_syscall_group "$m"
            done
        ;;
    *) echo "$1" ;;
    esac
}

# ks_syscall_allowed UNIT: the system calls UNIT's SystemCallFilter= lines
# allow, one a line, sorted: systemd starts from the first line's allow
# list and takes away each "~" line's calls (systemd.exec(5)).
ks_syscall_allowed() {
    local line w allow deny
    allow=$(mktemp)
    deny=$(mktemp)
    while IFS= read -r line; do
        if [ "${line:0:1}" = "~" ]; then
            for w in ${line:1}; do ks_syscall_group "$w"; done >>"$deny"
        else
            for w in $line; do ks_syscall_group "$w"; done >>"$allow"
        fi
    done < <(ks_unit_get "$1" SystemCallFilter)
    sort -u "$allow" | comm -23 - <(sort -u "$deny")
    rm -f "$allow" "$deny"
}

# ks_syscalls_made STRACE_LOG BINARY: the system calls made after BINARY was
# executed (strace -f -o output), one a line, sorted.
ks_syscalls_made() {
    awk -v bin="execve(\"$2\"" '
        index($0, bin) > 0 { on = 1; next }
        on && match($0, /^[0-9]+ +[a-z0-9_]+\(/) {
            s = substr($0, RSTART, RLENGTH - 1)
            sub(/^[0-9]+ +/, "", s)
            print s
        }
        on && match($0, /^[0-9]+ +<\.\.\. [a-z0-9_]+ resumed/) {
            s = substr($0, RSTART, RLENGTH)
            sub(/^[0-9]+ +<\.\.\. /, "", s); sub(/ resumed$/, "", s)
            print s
        }
    ' "$1" | sort -u
}
