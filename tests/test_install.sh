#!/usr/bin/env bash
# tests/test_install.sh - kensho deployed as an operator deploys it (issue #21).
#   1. make run's nginx (nginx/kensho.conf.template): a burst over the
#      per-client rate of /api/ gets 429 as RFC 9457 problem+json with
#      Retry-After and X-Request-Id, and nothing in the error log;
#   2. `make install DESTDIR=...` as a packager runs it: every file in its
#      place with its mode, no placeholder left, the unit, the example
#      configuration and the nginx site agreeing on the socket, the audit
#      directory and the writable paths; an upgrade keeps kensho.json;
#   3. the container image: built where a docker daemon answers, else
#      (no Dockerfile linter in Debian) checked for what it must be: Debian
#      12, two stages, runtime packages covering every library the binaries
#      load and nothing to build with, the build stage with every -dev
#      package of tests/install-deps.sh, its make (dry run) over exactly
#      the files it copies compiling every source this tree does, a
#      non-root user;
#   4. as root, in a private mount namespace where the DESTDIR's /usr/local
#      is /usr/local (nothing is written outside the test's directory):
#      systemd-analyze verify and security on the installed unit; the
#      kensho account made by systemd-sysusers from the installed
#      sysusers.d file and /run/kensho by systemd-tmpfiles; kensho-fcgi
#      started with the unit's ExecStart, User, Group, UMask and
#      NoNewPrivileges (traced with strace), the operator's kensho.json made
#      from the installed example; nginx (master root, workers www-data)
#      with the installed site edited only where it says EDIT, TLS with a
#      certificate made now: a signature verified over HTTPS (curl
#      --cacert), the rate limit's 429 problem+json, real_ip (the limit
#      follows X-Forwarded-For from the trusted balancer only), no client
#      address in either log, ExecReload, a clean stop, and every system
#      call the service made allowed by the unit's SystemCallFilter.
#      Skipped, and said so, when not root or without unshare.
# Everything listens on 127.0.0.1 only, on free ports; clients also speak
# from 127.0.0.2-4 (loopback) to stand for distinct addresses.  Every wait
# is bounded; the trap stops what the test started and removes its files.
set -u
# Section 4 needs its own mount namespace: the whole test runs in one, so
# its mounts vanish with it.
if [ "$(id -u)" -eq 0 ] && [ -z "${KS_INSTALL_NS:-}" ] && command -v unshare >/dev/null &&
    unshare --mount --propagation private true 2>/dev/null; then
    KS_INSTALL_NS=1 exec unshare --mount --propagation private bash "$0" "$@"
fi
K=${KENSHO:?}
P=${PKI:?}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
FCGI=$(dirname "$K")/kensho-fcgi
# shellcheck source=tests/fcgi/stack.sh
. "$HERE/fcgi/stack.sh"
# shellcheck source=tests/lib.sh
. "$HERE/lib.sh"
# shellcheck source=tests/install/ratelimit.sh
. "$HERE/install/ratelimit.sh"
# shellcheck source=tests/install/unit.sh
. "$HERE/install/unit.sh"

T=$(mktemp -d /tmp/kensho-install.XXXXXX)
chmod 0755 "$T"
NGINX_PID=
FCGI_PID=
KPID=
STRACE_PID=
cleanup() {
    ks_stop_stack
    [ -n "$KPID" ] && kill -TERM "$KPID" 2>/dev/null
    [ -n "$STRACE_PID" ] && ks_stop "$STRACE_PID" 10
    rm -rf "$T"
}
trap cleanup EXIT

# ---- 1. make run's nginx: the rate limit's answer ----
mkdir -p "$T/run1/audit"
ks_rundir "$T/run1"
cat >"$T/run1/kensho.json" <<JSON
{"trust_anchors": ["$P/anchors"], "intermediates": ["$P/intermediates"], "revocation": {"mode": "off"},
 "audit": {"path": "$T/run1/audit/audit.log", "required": true}}
JSON
ks_rundir "$T/run1"
PORT=$(ks_free_port)
if ks_start_fcgi "$FCGI" "$T/run1/kensho.json" "$T/run1/fcgi.sock" "$T/run1/fcgi.log" 2 &&
    ks_start_nginx "$T/run1/nginx" "$PORT" "$ROOT/www" "$T/run1/fcgi.sock" 1m 2 2; then
    # 2 r/s with a burst of 2: of 12 requests in a row, at least 9 are over.
    ks_rl_burst 12 "$T/run1/burst" -H 'Content-Type: application/pkcs7-mime' \
        --data-binary "@$P/sig-attached-rsa.p7m" "http://127.0.0.1:$PORT/api/v1/verify"
    ks_rl_check "make run's nginx" "$T/run1/burst"
    check "make run's nginx: a request under the limit still reaches kensho (200)" grep -qx 200 "$T/run1/burst/codes"
    sleep 0.2 # the error log is written by the worker as it happens; give it a moment
    check "make run's nginx: rejections are not logged at warn or above (error.log: $(grep -c limiting "$T/run1/nginx/error.log" 2>/dev/null) lines)" \
        bash -c "! grep -q 'limiting requests' '$T/run1/nginx/error.log'"
else
    check "make run's stack starts" false
fi
ks_stop_stack
NGINX_PID=
FCGI_PID=

# ---- 2. make install into a DESTDIR ----
D=$T/dest
PFX=/usr/local
UNIT=$D$PFX/lib/systemd/system/kensho-fcgi.service
ETC=$D$PFX/etc/kensho
SHR=$D$PFX/share/kensho
# The binaries under test (SAN=1: build/san/bin), not a new build.
if make -s -C "$ROOT" install DESTDIR="$D" INSTALL_FROM="$(dirname "$K")" >"$T/install.log" 2>&1; then
    ok
else
    bad "make install DESTDIR=$D: $(tail -n 5 "$T/install.log")"
fi
mode_is() { [ "$(stat -c %a "$1" 2>/dev/null)" = "$2" ]; }
in_words_line() { # in_words_line KEY=VALUE UNIT: the [Service] section has that line
    local k=${1%%=*}
    ks_unit_get "$2" "$k" | grep -qxF -- "${1#*=}"
}
for f in bin/kensho bin/kensho-fcgi; do
    check "installed $PFX/$f, mode 0755" mode_is "$D$PFX/$f" 755
done
for f in lib/systemd/system/kensho-fcgi.service lib/sysusers.d/kensho.conf lib/tmpfiles.d/kensho.conf \
    etc/kensho/kensho.example.json etc/kensho/kensho.example.md share/kensho/nginx/kensho.conf \
    share/kensho/nginx/fastcgi.params share/doc/kensho/README.md; do
    check "installed $PFX/$f, mode 0644" mode_is "$D$PFX/$f" 644
done
for d in anchors intermediates crls; do
    check "installed the empty directory $PFX/etc/kensho/$d" test -d "$ETC/$d"
done
for f in "$ROOT"/www/*; do
    check "installed the page's $(basename "$f")" cmp -s "$f" "$SHR/www/$(basename "$f")"
done
check "no kensho.json installed (the operator's, made from the example)" test ! -e "$ETC/kensho.json"
left=$(grep -rIl '@[A-Z_]*@' "$D" 2>/dev/null | tr '\n' ' ')
check "no @PLACEHOLDER@ left in installed files ($left)" test -z "$left"
check "the unit starts $PFX/bin/kensho-fcgi --config $PFX/etc/kensho/kensho.json" \
    test "$(ks_unit_get "$UNIT" ExecStart)" = "$PFX/bin/kensho-fcgi --config $PFX/etc/kensho/kensho.json"
check "the unit runs as kensho, the account of the sysusers.d file" \
    bash -c "[ '$(ks_unit_get "$UNIT" User)' = kensho ] && grep -q '^u kensho ' '$D$PFX/lib/sysusers.d/kensho.conf'"
check "the site's static root is the installed page" grep -q "^ *root $PFX/share/kensho/www;" "$SHR/nginx/kensho.conf"
check "the site includes the installed fastcgi.params" \
    grep -q "include $PFX/share/kensho/nginx/fastcgi.params;" "$SHR/nginx/kensho.conf"
# The unit as issue #21 asks for it (section 4 runs it).
# shellcheck disable=SC2016 # $MAINPID is systemd's, not the shell's
for kv in Type=notify NotifyAccess=main ExecReload='/bin/kill -HUP $MAINPID' ProtectSystem=strict NoNewPrivileges=yes PrivateTmp=yes \
    StandardError=journal CapabilityBoundingSet= UMask=0027; do
    check "the unit sets $kv" in_words_line "$kv" "$UNIT"
done
check "the unit has a SystemCallFilter" test -n "$(ks_unit_get "$UNIT" SystemCallFilter)"
# The example, the unit, tmpfiles.d and nginx must agree on the paths: the
# audit log in the unit's state directory, the socket in a directory the
# unit may write and tmpfiles.d makes for nginx's group, nginx's upstream.
read -r ex_sock ex_mode ex_audit < <("$PY" -c '
import json, sys
c = json.load(open(sys.argv[1]))
print(c["service"]["socket"], c["service"]["socket_mode"], c["audit"]["path"])' "$ETC/kensho.example.json")
state=/var/lib/$(ks_unit_get "$UNIT" StateDirectory)
check "the example's audit.path ($ex_audit) is in the unit's StateDirectory ($state)" \
    test "$(dirname "$ex_audit")" = "$state"
in_words() { # in_words WORD LIST...
    local w=$1 x
    shift
    for x in "$@"; do [ "$x" = "$w" ] && return 0; done
    return 1
}
# shellcheck disable=SC2046 # the unit's list, split on blanks as systemd does
check "the example's socket ($ex_sock) is in the unit's ReadWritePaths" \
    in_words "$(dirname "$ex_sock")" $(ks_unit_get "$UNIT" ReadWritePaths)
check "tmpfiles.d makes the socket directory setgid for nginx's group" \
    grep -qE "^d $(dirname "$ex_sock") 2750 kensho www-data " "$D$PFX/lib/tmpfiles.d/kensho.conf"
check "the example's socket_mode is 0660 (nginx's group only)" test "$ex_mode" = 0660
check "nginx's upstream is the example's socket" grep -q "server unix:$ex_sock;" "$SHR/nginx/kensho.conf"
# An upgrade: make install again over an operator's kensho.json.
echo '{"operator": "edited"}' >"$ETC/kensho.json"
cp "$ETC/kensho.json" "$T/kensho.json.before"
make -s -C "$ROOT" install DESTDIR="$D" INSTALL_FROM="$(dirname "$K")" >>"$T/install.log" 2>&1
check "make install again (an upgrade) leaves the operator's kensho.json alone" cmp -s "$ETC/kensho.json" "$T/kensho.json.before"
rm -f "$ETC/kensho.json"

# ---- 3. the container image ----
DF=$ROOT/fcgi/Dockerfile
if command -v docker >/dev/null && timeout 10 docker info >/dev/null 2>&1; then
    img=kensho-test-$$
    if timeout 900 docker build -q -f "$DF" -t "$img" "$ROOT" >"$T/docker.log" 2>&1; then
        ok
        check "the image runs as a non-root user" \
            bash -c "u=\$(timeout 60 docker run --rm --entrypoint id '$img' -u) && [ -n \"\$u\" ] && [ \"\$u\" != 0 ]"
        timeout 60 docker run --rm "$img" --config /etc/kensho/kensho.example.json >/dev/null 2>&1
        check "the image's kensho-fcgi refuses the example without anchors (78)" test $? -eq 78
        docker rmi -f "$img" >/dev/null 2>&1
    else
        bad "docker build -f fcgi/Dockerfile: $(tail -n 5 "$T/docker.log")"
    fi
else
    echo "  no docker daemon: the image is not built; no Dockerfile linter in Debian (hadolint is not), so its shape is checked here" >&2
fi
# What the image must be, checked on the file itself either way.
stages=$(grep -cE '^FROM ' "$DF")
check "Dockerfile: two stages, both Debian 12" \
    bash -c "[ $stages -eq 2 ] && ! grep -E '^FROM ' '$DF' | grep -qvE '^FROM debian:12(-slim)?( AS [a-z]+)?$'"
final=$(awk '/^FROM /{n++} n == 2' "$DF")
runtime_pkgs=$(printf '%s\n' "$final" | sed -n '/apt-get install/,/rm -rf/p' | tr -s ' \\\t' '\n' |
    grep -E '^[a-z0-9][a-z0-9.+-]+$' | grep -vxE 'apt-get|install|rm|rf' | sort -u)
check "Dockerfile: the image installs nothing to build with ($(echo "$runtime_pkgs" | grep -E -- '-dev$|^gcc|^g\+\+|^make$|^build-essential$|^pkg-config$' | tr '\n' ' '))" \
    bash -c "! printf '%s\n' '$runtime_pkgs' | grep -qE -- '-dev$|^gcc|^g\+\+|^make$|^build-essential$|^pkg-config$'"
# The build stage has every development package tests/install-deps.sh
# names (the project's list of what building needs).
first=$(awk '/^FROM /{n++} n == 1' "$DF")
build_pkgs=$(printf '%s\n' "$first" | sed -n '/apt-get install/,/rm -rf/p' | tr -s ' \\\t' '\n' | sort -u)
lacking=$(grep -oE '\b(lib[a-z0-9.+-]*-dev|build-essential|pkg-config)\b' "$ROOT/tests/install-deps.sh" | sort -u |
    comm -23 - <(printf '%s\n' "$build_pkgs") | tr '\n' ' ')
check "Dockerfile: the build stage installs every development package of tests/install-deps.sh (lacking: $lacking)" \
    test -z "$lacking"
user_line=$(printf '%s\n' "$final" | grep -E '^USER ' | tail -n 1)
check "Dockerfile: the image runs as a non-root user ($user_line)" \
    bash -c "[ -n '$user_line' ] && ! printf '%s\n' '$user_line' | grep -qE '^USER (root|0)(:|$)'"
# Every library the binaries load comes from a package the image installs,
# or from one every Debian image has: the C library, or Priority: required.
missing=
declare -A lib_at=()
for lib in $(for b in "$K" "$FCGI"; do readelf -dW "$b" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'; done | sort -u); do
    case "$lib" in libasan* | libubsan*) continue ;; esac # SAN=1 builds
    path=$(ldconfig -p | awk -v l="$lib" '$1 == l && /x86-64|AArch64/ {print $NF; exit}')
    [ -n "$path" ] || path=$(ldconfig -p | awk -v l="$lib" '$1 == l {print $NF; exit}')
    [ -n "$path" ] || { missing="$missing $lib(not found)"; continue; }
    lib_at[$path]=$lib
    lib_at[$(readlink -f "$path")]=$lib
done
# One dpkg -S for all (about a second each): "package:arch: path" lines.
declare -A pkg_of=()
while IFS= read -r line; do
    pkg_of[${lib_at[${line##*: }]:-?}]=${line%%:*}
done < <(dpkg -S "${!lib_at[@]}" 2>/dev/null)
for lib in $(printf '%s\n' "${lib_at[@]}" | sort -u); do
    pkg=${pkg_of[$lib]:-}
    if [ -z "$pkg" ]; then
        missing="$missing $lib(no package)"
    elif [ "$pkg" != libc6 ] && ! printf '%s\n' "$runtime_pkgs" | grep -qx "$pkg" &&
        [ "$(dpkg-query -W -f '${Priority}' "$pkg" 2>/dev/null)" != required ]; then
        missing="$missing $lib($pkg)"
    fi
done
check "Dockerfile: the image has every library kensho and kensho-fcgi load (missing:$missing)" test -z "$missing"
while read -r src; do
    check "Dockerfile: COPY $src exists and the build context lets it in" \
        bash -c "[ -e '$ROOT/$src' ] && grep -qx '!${src%/}/\\{0,1\\}' '$DF.dockerignore'"
done < <(awk '/^COPY / && !/--from/ {for (i = 2; i < NF; i++) print $i}' "$DF")
# The build stage's make over exactly what it copies (a dry run: no build).
mkdir -p "$T/ctx"
while read -r src; do cp -r "$ROOT/$src" "$T/ctx/" 2>/dev/null; done < <(awk '/^COPY / && !/--from/ {for (i = 2; i < NF; i++) print $i}' "$DF")
# The same sources and -I flags as make all in this tree (a dry run, -B: every command).
ks_ctx_sources() { # ks_ctx_sources DIR: the .c files and -I directories make all would use
    KS_DEPS_DONE=1 make -n -B -C "$1" all 2>/dev/null | tr ' ' '\n' | grep -E '\.c$|^-I' | sort -u
}
ctx_diff=$(diff <(ks_ctx_sources "$ROOT") <(ks_ctx_sources "$T/ctx") | grep '^[<>]' | tr '\n' ' ')
check "Dockerfile: the build stage copies every source make all compiles (differs: $ctx_diff)" \
    test -z "$ctx_diff" -a -n "$(ks_ctx_sources "$T/ctx")"
KS_DEPS_DONE=1 make -n -C "$T/ctx" all install DESTDIR=/out PREFIX=/usr SYSCONFDIR=/etc >"$T/ctx.log" 2>&1
check "Dockerfile: make all install finds every file it needs there ($(grep -m1 -i 'no rule\|error' "$T/ctx.log"))" \
    test $? -eq 0

# ---- 4. the installed unit and site, run as the unit runs them ----
section4() {
    # Only in the test's own mount namespace: every mount below is undone
    # when the test ends, and none reaches the machine.
    [ "$(readlink /proc/self/ns/mnt)" != "$(readlink /proc/1/ns/mnt)" ] || { bad "not in a private mount namespace"; return; }
    local S=$T/sys u
    for u in nginx openssl systemd-sysusers systemd-tmpfiles setpriv; do
        command -v "$u" >/dev/null || { echo "  $u missing: the installed service is not run" >&2; return; }
    done
    # The machine as the packages leave it: the DESTDIR's /usr/local in
    # place, an empty /run, /var/lib and /var/log of the test's own, and
    # copies of the account files for systemd-sysusers to add kensho to.
    mkdir -p "$S/run" "$S/varlib" "$S/varlog/nginx" "$S/etc"
    cp /etc/passwd /etc/group /etc/shadow /etc/gshadow "$S/etc/" 2>/dev/null
    if ! systemd-sysusers --root="$S" "$D$PFX/lib/sysusers.d/kensho.conf" >"$T/sysusers.log" 2>&1; then
        bad "systemd-sysusers on the installed sysusers.d file: $(tail -n 3 "$T/sysusers.log")"
        return
    fi
    if ! { mount --bind "$D$PFX" "$PFX" && mount -t tmpfs -o mode=0755 tmpfs /run &&
        mount --bind "$S/varlib" /var/lib && mount --bind "$S/varlog" /var/log &&
        mount --bind "$S/etc/passwd" /etc/passwd && mount --bind "$S/etc/group" /etc/group; }; then
        bad "mounts of the test's namespace"
        return
    fi
    local U=$PFX/lib/systemd/system/kensho-fcgi.service
    check "systemd-sysusers made the kensho account" bash -c "id -u kensho >/dev/null"
    if systemd-tmpfiles --create "$PFX/lib/tmpfiles.d/kensho.conf" >"$T/tmpfiles.log" 2>&1; then ok; else bad "systemd-tmpfiles: $(cat "$T/tmpfiles.log")"; fi
    check "tmpfiles.d made /run/kensho 2750 kensho:www-data ($(stat -c '%a %U:%G' /run/kensho 2>/dev/null))" \
        test "$(stat -c '%a %U:%G' /run/kensho 2>/dev/null)" = "2750 kensho:www-data"
    systemd-analyze verify "$U" >"$T/verify.log" 2>&1
    check "systemd-analyze verify on the installed unit: clean ($(head -c 300 "$T/verify.log"))" \
        bash -c "[ $? -eq 0 ] && [ ! -s '$T/verify.log' ]"
    systemd-analyze security --offline=true --threshold=20 "$U" >"$T/security.log" 2>&1
    check "systemd-analyze security: exposure at most 2.0 ($(grep -o 'exposure level.*' "$T/security.log"))" test $? -eq 0

    # The operator's part: kensho.json from the example, the trust anchors,
    # intermediates and CRLs in the directories it names.
    local E=$PFX/etc/kensho
    cp "$E/kensho.example.json" "$E/kensho.json"
    cp "$P"/anchors/* "$E/anchors/"
    cp "$P"/intermediates/* "$E/intermediates/"
    cp "$P/pref-ca.crl" "$P/pref-ca2.crl" "$P/jpki-bca.crl" "$P/gpki-bca.crl" "$P/ministry-ca.crl" "$E/crls/"

    # What systemd does with the unit: the state directory, then ExecStart
    # as User/Group with their groups, UMask, NoNewPrivileges and no
    # capabilities, stderr to the journal (here a file).
    local user group umask sd sdm exec_start exec_reload
    user=$(ks_unit_get "$U" User)
    group=$(ks_unit_get "$U" Group)
    umask=$(ks_unit_get "$U" UMask)
    sd=$(ks_unit_get "$U" StateDirectory)
    sdm=$(ks_unit_get "$U" StateDirectoryMode)
    exec_start=$(ks_unit_get "$U" ExecStart)
    exec_reload=$(ks_unit_get "$U" ExecReload)
    install -d -o "$user" -g "$group" -m "${sdm:-0755}" "/var/lib/$sd"
    local -a argv tracer=()
    read -ra argv <<<"$exec_start"
    if command -v strace >/dev/null; then
        tracer=(strace -f -qq -o "$T/strace.log")
    else
        echo "  strace missing: the system calls are not checked against SystemCallFilter" >&2
    fi
    local -a envv=()
    if [ ${#tracer[@]} -gt 0 ] && readelf --dyn-syms -W "${argv[0]}" 2>/dev/null | grep -q __asan_init; then
        echo "  sanitizer build under strace: LeakSanitizer off for this run (it cannot work under ptrace)" >&2
        envv=(env "ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0")
    fi
    (
        umask "$umask"
        exec "${tracer[@]}" "${envv[@]}" setpriv --reuid="$user" --regid="$group" --init-groups --no-new-privs \
            --inh-caps=-all --bounding-set=-all -- "${argv[@]}"
    ) 2>>"$T/journal.log" &
    STRACE_PID=$!
    local sock=/run/kensho/kensho-fcgi.sock
    if ! ks_wait_for 20 test -S "$sock"; then
        bad "the installed kensho-fcgi did not create $sock: $(tail -n 5 "$T/journal.log")"
        return
    fi
    KPID=$STRACE_PID
    [ ${#tracer[@]} -gt 0 ] && KPID=$(awk '{print $1}' "/proc/$STRACE_PID/task/$STRACE_PID/children" 2>/dev/null)
    local st kuid kgid
    st=/proc/$KPID/status
    kuid=$(id -u kensho)
    kgid=$(id -g kensho)
    check "kensho-fcgi runs as kensho ($(awk '$1 == "Uid:" {print $2, $3, $4, $5}' "$st"))" \
        test "$(awk '$1 == "Uid:" {print $2, $3, $4, $5}' "$st")" = "$kuid $kuid $kuid $kuid"
    check "kensho-fcgi's groups: kensho only ($(awk '$1 == "Gid:" {print $2}' "$st") / $(awk '$1 == "Groups:" {$1 = ""; print}' "$st"))" \
        test "$(awk '$1 == "Gid:" {print $2, $3, $4, $5}' "$st")/$(awk '$1 == "Groups:" {$1 = ""; print}' "$st" | tr -d ' ')" = "$kgid $kgid $kgid $kgid/$kgid"
    check "kensho-fcgi: no new privileges, no capabilities" \
        bash -c "grep -qx 'NoNewPrivs:[[:space:]]*1' '$st' && grep -qx 'CapEff:[[:space:]]*0000000000000000' '$st'"
    check "the socket is 0660 kensho:www-data ($(stat -c '%a %U:%G' "$sock"))" \
        test "$(stat -c '%a %U:%G %F' "$sock")" = "660 kensho:www-data socket"

    # TLS: a CA and a certificate for kensho.test, made now.
    local tls=$T/tls
    mkdir -p "$tls"
    if ! {
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=kensho test CA" \
            -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign \
            -keyout "$tls/ca.key" -out "$tls/ca.pem" &&
            openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=kensho.test" \
                -keyout "$tls/privkey.pem" -out "$tls/tls.csr" &&
            printf 'subjectAltName=DNS:kensho.test\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' >"$tls/ext" &&
            openssl x509 -req -in "$tls/tls.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca.key" -CAcreateserial -days 2 \
                -extfile "$tls/ext" -out "$tls/fullchain.pem"
    } >"$tls/openssl.log" 2>&1; then
        bad "test certificate: $(tail -n 3 "$tls/openssl.log")"
        return
    fi
    chmod 0600 "$tls/privkey.pem" "$tls/ca.key"

    # nginx: Debian's layout (a main nginx.conf with user www-data that
    # includes sites-enabled/*), the installed site with the EDIT lines
    # edited as an operator would: 127.0.0.1 and free ports, the host name,
    # the certificate, 127.0.0.1 as the load balancer, 127.0.0.4 as a
    # backend never limited, a low rate (3/s, burst 3: a burst of 12 meets
    # the limit unless it takes over 2.6 s) for a short test.
    local N=$T/nginx HTTPS_PORT HTTP_PORT
    HTTPS_PORT=$(ks_free_port)
    HTTP_PORT=$(ks_free_port)
    mkdir -p "$N/sites-available" "$N/sites-enabled" "$N/tmp"
    sed -e "s|^\( *\)listen 443 ssl http2; .*|\1listen 127.0.0.1:$HTTPS_PORT ssl http2;|" \
        -e "s|^\( *\)listen 80; .*|\1listen 127.0.0.1:$HTTP_PORT;|" \
        -e '/listen \[::\]:/d' \
        -e "s|server_name kensho.example.jp; .*|server_name kensho.test;|" \
        -e "s|ssl_certificate     /etc/ssl/kensho/fullchain.pem; .*|ssl_certificate $tls/fullchain.pem;|" \
        -e "s|ssl_certificate_key /etc/ssl/kensho/privkey.pem; .*|ssl_certificate_key $tls/privkey.pem;|" \
        -e "s|#set_real_ip_from 192.0.2.10; .*|set_real_ip_from 127.0.0.1;|" \
        -e "s|#192.0.2.0/24 1; .*|127.0.0.4 1;|" \
        -e "s|rate=500r/s; .*|rate=3r/s;|" \
        -e "s|burst=1000 nodelay; .*|burst=3 nodelay;|" \
        "$PFX/share/kensho/nginx/kensho.conf" >"$N/sites-available/kensho.conf"
    ln -s ../sites-available/kensho.conf "$N/sites-enabled/kensho.conf"
    check "every EDIT line of the site was edited but the optional extra nodes ($(grep -c '# EDIT:' "$N/sites-available/kensho.conf") left)" \
        test "$(grep -c '# EDIT:' "$N/sites-available/kensho.conf")" -eq 1
    cat >"$N/nginx.conf" <<CONF
user www-data;
worker_processes 1;
daemon off;
pid $N/nginx.pid;
error_log $N/main-error.log warn;
events { worker_connections 256; }
http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    client_body_temp_path $N/tmp/body;
    fastcgi_temp_path $N/tmp/fastcgi;
    proxy_temp_path $N/tmp/proxy;
    uwsgi_temp_path $N/tmp/uwsgi;
    scgi_temp_path $N/tmp/scgi;
    access_log /var/log/nginx/access.log;
    include $N/sites-enabled/*;
}
CONF
    if nginx -t -c "$N/nginx.conf" -e "$N/main-error.log" >"$N/t.log" 2>&1; then ok; else bad "nginx -t: $(tail -n 3 "$N/t.log")"; return; fi
    nginx -c "$N/nginx.conf" -e "$N/main-error.log" 2>>"$N/stderr.log" &
    NGINX_PID=$!
    local URL=https://kensho.test:$HTTPS_PORT
    https() { curl -s --max-time 20 --cacert "$tls/ca.pem" --resolve "kensho.test:$HTTPS_PORT:127.0.0.1" "$@"; }
    if ! ks_wait_for 20 https -o /dev/null "$URL/healthz"; then
        bad "nginx with the installed site did not answer on https://127.0.0.1:$HTTPS_PORT: $(tail -n 5 "$N/main-error.log")"
        return
    fi

    # Verdicts over HTTPS: name, expected indication and subindication.  The
    # client is the backend 127.0.0.4 (never limited).
    local row f ind sub code got
    for row in "sig-attached-rsa.p7m TOTAL_PASSED -" "sig-attached-ec.p7m TOTAL_PASSED -" \
        "sig-attached-revoked.p7m TOTAL_FAILED REVOKED" "sig-attached-expired.p7m TOTAL_FAILED EXPIRED"; do
        read -r f ind sub <<<"$row"
        code=$(https --interface 127.0.0.4 -D "$T/v.h" -o "$T/v.json" -w '%{http_code}' \
            -H 'Content-Type: application/pkcs7-mime' --data-binary "@$P/$f" "$URL/api/v1/verify")
        got=$("$PY" -c 'import json, sys; d = json.load(open(sys.argv[1])); print(d.get("indication"), d.get("subindication") or "-")' "$T/v.json" 2>/dev/null)
        check "over HTTPS (curl --cacert), $f: 200 $ind $sub (got $code $got)" test "$code $got" = "200 $ind $sub"
    done
    check "the verdict's answer carries X-Request-Id and HSTS" \
        bash -c "grep -qi '^x-request-id: [0-9a-f]\{32\}' '$T/v.h' && grep -qi '^strict-transport-security: max-age=' '$T/v.h'"
    code=$(https -D "$T/page.h" -o /dev/null -w '%{http_code} %{content_type}' "$URL/")
    check "the page over HTTPS: 200 text/html with its CSP ($code)" \
        bash -c "[ '$code' = '200 text/html; charset=utf-8' ] && grep -qi '^content-security-policy: ' '$T/page.h'"
    curl -s --max-time 10 --resolve "kensho.test:$HTTPS_PORT:127.0.0.1" -o /dev/null "$URL/healthz"
    check "a client without the test CA is refused (curl exit 60)" test $? -eq 60
    code=$(curl -s --max-time 10 -o /dev/null -w '%{http_code} %{redirect_url}' -H 'Host: kensho.test' "http://127.0.0.1:$HTTP_PORT/x?y")
    check "plain HTTP is sent to HTTPS ($code)" test "$code" = "301 https://kensho.test/x?y"

    # The rate limit through the installed site.  A direct client's own
    # X-Forwarded-For is not believed: 127.0.0.2 claiming 12 addresses is
    # one client over its limit.
    ks_rl_burst 12 "$T/rl-direct" --interface 127.0.0.2 --cacert "$tls/ca.pem" \
        --resolve "kensho.test:$HTTPS_PORT:127.0.0.1" -H 'X-Forwarded-For: 203.0.113.{i}' "$URL/api/v1/verify"
    ks_rl_check "installed site, a direct client" "$T/rl-direct"
    # Through the balancer (127.0.0.1, set_real_ip_from): 12 clients, one
    # request each, none limited; one client, 12 requests, limited.
    ks_rl_burst 12 "$T/rl-lb-many" --cacert "$tls/ca.pem" --resolve "kensho.test:$HTTPS_PORT:127.0.0.1" \
        -H 'X-Forwarded-For: 203.0.113.7, 198.51.100.{i}' "$URL/api/v1/verify"
    check "real_ip: 12 clients behind the balancer, one request each, none refused ($(tr '\n' ' ' <"$T/rl-lb-many/codes"))" \
        test "$(ks_rl_count "$T/rl-lb-many" 405)" -eq 12
    ks_rl_burst 12 "$T/rl-lb-one" --cacert "$tls/ca.pem" --resolve "kensho.test:$HTTPS_PORT:127.0.0.1" \
        -H 'X-Forwarded-For: 198.51.100.200' "$URL/api/v1/verify"
    ks_rl_check "real_ip: one client behind the balancer" "$T/rl-lb-one"
    ks_rl_burst 12 "$T/rl-backend" --interface 127.0.0.4 --cacert "$tls/ca.pem" \
        --resolve "kensho.test:$HTTPS_PORT:127.0.0.1" "$URL/api/v1/verify"
    check "a backend listed in the geo block is never limited ($(tr '\n' ' ' <"$T/rl-backend/codes"))" \
        test "$(ks_rl_count "$T/rl-backend" 405)" -eq 12
    # An error nginx itself logs at error level, naming the client: a body
    # over client_max_body_size.
    truncate -s 22M "$T/big"
    code=$(https -o /dev/null -w '%{http_code}' -H 'Content-Type: application/octet-stream' --data-binary "@$T/big" "$URL/api/v1/verify")
    check "a body over client_max_body_size: 413 ($code)" test "$code" = 413

    # ExecReload, as systemctl reload runs it.
    local -a reload
    read -ra reload <<<"${exec_reload//\$MAINPID/$KPID}"
    "${reload[@]}"
    check "ExecReload (${reload[*]}): kensho-fcgi reloaded its configuration" \
        ks_wait_for 10 grep -q 'configuration reloaded' "$T/journal.log"
    code=$(https -o /dev/null -w '%{http_code}' -H 'Content-Type: application/pkcs7-mime' \
        --data-binary "@$P/sig-attached-rsa.p7m" "$URL/api/v1/verify")
    check "after the reload, a verdict (200, got $code)" test "$code" = 200

    # The audit log: in the state directory, the unit's UMask, a sound chain.
    local audit=/var/lib/$sd/audit.log
    check "the audit log is $audit, 0640 kensho:kensho ($(stat -c '%a %U:%G' "$audit" 2>/dev/null))" \
        test "$(stat -c '%a %U:%G' "$audit" 2>/dev/null)" = "640 kensho:kensho"
    check "the installed kensho audit-verify accepts the chain in the state directory" \
        bash -c "'$PFX/bin/kensho' audit-verify '/var/lib/$sd' >/dev/null"

    # systemctl stop: SIGTERM, requests in flight finish, exit 0.
    kill -TERM "$KPID"
    ks_stop "$STRACE_PID" 20
    check "SIGTERM (systemctl stop): kensho-fcgi exits 0 (got $KS_STOP_RC)" test "$KS_STOP_RC" -eq 0
    KPID=
    STRACE_PID=
    ks_stop "$NGINX_PID" 10 # nginx writes its buffered access log on the way out
    NGINX_PID=
    local logs=/var/log/nginx/kensho-access.log
    check "the site's access log has the requests (and their 429s)" \
        bash -c "grep -q ' 200 ' '$logs' && grep -q ' 429 ' '$logs'"
    check "no client address in the site's logs or kensho-fcgi's journal" \
        bash -c "! grep -rqE '127\.0\.0\.[0-9]|198\.51\.100\.|203\.0\.113\.' /var/log/nginx/kensho-access.log /var/log/nginx/kensho-error.log '$T/journal.log' 2>/dev/null"

    if [ ${#tracer[@]} -gt 0 ]; then
        local made allowed outside
        made=$(ks_syscalls_made "$T/strace.log" "${argv[0]}")
        allowed=$(ks_syscall_allowed "$U")
        outside=$(comm -23 <(printf '%s\n' "$made") <(printf '%s\n' "$allowed") | tr '\n' ' ')
        check "strace saw kensho-fcgi accept, write and sync ($(printf '%s\n' "$made" | grep -c .) distinct calls)" \
            bash -c "printf '%s\n' '$made' | grep -qE '^accept4?$' && printf '%s\n' '$made' | grep -qx fdatasync"
        check "every system call kensho-fcgi made is allowed by the unit's SystemCallFilter (outside: $outside)" \
            test -z "$outside"
    fi
}
if [ -n "${KS_INSTALL_NS:-}" ]; then
    section4
else
    echo "  not root, or no mount namespace (unshare): the installed service is not run (section 4 skipped)" >&2
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
