#!/usr/bin/env bash
# tests/install-deps.sh - installs the Debian 12 packages kensho needs that
# this machine lacks (nothing when all are there).  Used by .ci/run and
# `make run`; needs root (or sudo) only when something is missing.
set -euo pipefail
pkgs=(
    build-essential pkg-config openssl python3
    libssl-dev libcjson-dev libfcgi-dev libmemcached-dev
    libxml2-dev libxmlsec1-dev xmlsec1 libzip-dev libunistring-dev
    libqpdf-dev zlib1g-dev qpdf poppler-utils  # PDF signatures: libqpdf parses; the qpdf CLI encrypts and pdfsig cross-checks test fixtures
    memcached nginx wrk clang
    curl jq gettext-base
    python3-jsonschema  # tests/test_api.sh, test_fcgi.sh: answers validated against /api/v1/openapi.json
    python3-cryptography  # make bench: the OCSP responder signs in process (tests/revocation/peer.py ocsp-fast)
    chromium fonts-ipafont-gothic  # tests/test_www.sh: the browser, a Japanese font for screenshots
)
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "install-deps: installing ${missing[*]}" >&2
SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
# Packaged daemons must not start on install: the tests start their own on 127.0.0.1.
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod +x /usr/sbin/policy-rc.d
    trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
fi
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
