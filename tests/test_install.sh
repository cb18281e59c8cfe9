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
#      load and nothing to build with, a non-root user;
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
cleanup() {
    ks_stop_stack
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
user_line=$(printf '%s\n' "$final" | grep -E '^USER ' | tail -n 1)
check "Dockerfile: the image runs as a non-root user ($user_line)" \
    bash -c "[ -n '$user_line' ] && ! printf '%s\n' '$user_line' | grep -qE '^USER (root|0)(:|$)'"
# Every library the binaries load comes from a package the image installs,
# or from one every Debian image has: the C library, or Priority: required.
missing=
for lib in $(for b in "$K" "$FCGI"; do readelf -dW "$b" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'; done | sort -u); do
    case "$lib" in libasan* | libubsan*) continue ;; esac # SAN=1 builds
    path=$(ldconfig -p | awk -v l="$lib" '$1 == l && /x86-64|x32|AArch64/ {print $NF; exit}')
    [ -n "$path" ] || path=$(ldconfig -p | awk -v l="$lib" '$1 == l {print $NF; exit}')
    pkg=$(dpkg -S "$(readlink -f "$path")" 2>/dev/null | head -n 1 | cut -d: -f1)
    [ -n "$pkg" ] || pkg=$(dpkg -S "$path" 2>/dev/null | head -n 1 | cut -d: -f1)
    if [ -z "$pkg" ]; then
        missing="$missing $lib(no package)"
    elif [ "$pkg" != libc6 ] && ! printf '%s\n' "$runtime_pkgs" | grep -qx "$pkg" &&
        [ "$(dpkg-query -W -f '${Priority}' "$pkg" 2>/dev/null)" != required ]; then
        missing="$missing $lib($pkg)"
    fi
done
check "Dockerfile: the image has every library kensho and kensho-fcgi load (missing:$missing)" test -z "$missing"
for src in $(awk '/^COPY / && !/--from/ {for (i = 2; i < NF; i++) print $i}' "$DF"); do
    check "Dockerfile: COPY $src exists and the build context lets it in" \
        bash -c "[ -e '$ROOT/$src' ] && grep -qx '!${src%/}/\\{0,1\\}' '$DF.dockerignore'"
done

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
