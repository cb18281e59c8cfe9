#!/usr/bin/env bash
# tests/demo.sh KENSHO PKI - verifies the demo signatures with bin/kensho.
# (Until the service lands, this is what `make run` shows a newcomer.)
set -euo pipefail
K=$1
P=$(cd "$2" && pwd)
cfg="$P/demo.json"
cat >"$cfg" <<JSON
{"trust_anchors": ["$P/anchors"], "intermediates": ["$P/intermediates"],
 "crls": ["$P/pref-ca.crl", "$P/ministry-ca.crl", "$P/gpki-bca.crl", "$P/jpki-bca.crl"],
 "revocation": {"mode": "require"},
 "accept_policies": ["1.2.392.200149.8.5.1.1.20"]}
JSON
for s in rsa expired revoked tampered-content; do
    echo "== sig-attached-$s.p7m"
    "$K" verify --config "$cfg" --signature "$P/sig-attached-$s.p7m" | python3 -m json.tool --no-ensure-ascii | head -n 30 || true
done
