#!/usr/bin/env bash
# tests/test_make.sh - `make test` on a fresh machine installs what is
# missing before anything is compiled (the first compile used to fail on
# cjson/cJSON.h): the Makefile runs tests/install-deps.sh, as root, before
# it asks pkg-config for flags (parse time), and a recursive make does not
# run it again.  A fresh machine is simulated with stand-ins on PATH:
# dpkg-query says libcjson-dev is not installed, apt-get, tee, chmod and rm
# only record what they were asked (nothing on this machine changes), and
# pkg-config records that it was asked, then answers as the real one.
# As another user the Makefile only warns when packages are missing: the
# rows are then skipped (counted as passed, said so).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
# shellcheck source=tests/lib.sh
. "$HERE/lib.sh"
if [ "$(id -u)" -ne 0 ]; then
    echo "  not root: the Makefile installs nothing, nothing to check" >&2
    echo "$pass passed, $fail failed"
    exit 0
fi
S=$(mktemp -d /tmp/kensho-make.XXXXXX)
trap 'rm -rf "$S"' EXIT
mkdir -p "$S/bin"
REAL_PKG_CONFIG=$(command -v pkg-config)
cat >"$S/bin/dpkg-query" <<EOF
#!/bin/sh
# the last argument is the package
for p; do :; done
[ "\$p" = libcjson-dev ] && exit 1
exec /usr/bin/dpkg-query "\$@"
EOF
for tool in apt-get tee chmod rm; do
    printf '#!/bin/sh\necho "%s $*" >>"%s/calls"\nexit 0\n' "$tool" "$S" >"$S/bin/$tool"
done
printf '#!/bin/sh\necho "pkg-config $*" >>"%s/calls"\nexec %s "$@"\n' "$S" "$REAL_PKG_CONFIG" >"$S/bin/pkg-config"
/bin/chmod +x "$S/bin/"*

# `make -n`: parse time (where the packages matter) and the recipes
# printed, not run; only the lines that call $(MAKE) run, as a make -n.
for goal in test run; do
    : >"$S/calls"
    (cd "$ROOT" && env -u KS_DEPS_DONE PATH="$S/bin:$PATH" make -n "$goal" >"$S/make.out" 2>"$S/make.err")
    rc=$?
    check "make -n $goal with a package missing: exit 0 (got $rc)" [ "$rc" = 0 ]
    check "make $goal: apt-get install was asked for the missing package" grep -q '^apt-get install .*libcjson-dev' "$S/calls"
    first_install=$(grep -n '^apt-get install' "$S/calls" | head -n 1 | cut -d: -f1)
    first_pkgconfig=$(grep -n '^pkg-config --cflags' "$S/calls" | head -n 1 | cut -d: -f1)
    check "make $goal: installed (line ${first_install:-none}) before pkg-config gave flags (line ${first_pkgconfig:-none})" \
        [ -n "$first_install" -a -n "$first_pkgconfig" ] && [ "${first_install:-0}" -lt "${first_pkgconfig:-0}" ]
    # make run runs `$(MAKE) all pki`: the inner make must not ask again
    check "make $goal: installed once" [ "$(grep -c '^apt-get install' "$S/calls")" = 1 ]
done
check "make run's inner make ran (it printed the build)" grep -q 'mkpki\|kensho' "$S/make.out"
: >"$S/calls"
(cd "$ROOT" && env -u KS_DEPS_DONE PATH="$S/bin:$PATH" make -n clean >/dev/null 2>&1)
check "make clean installs nothing" bash -c "! grep -q '^apt-get' '$S/calls'"
: >"$S/calls"
(cd "$ROOT" && PATH="$S/bin:$PATH" KS_DEPS_DONE=1 make -n all >/dev/null 2>&1)
check "KS_DEPS_DONE (a make inside make): installs nothing" bash -c "! grep -q '^apt-get' '$S/calls'"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
