#!/usr/bin/env bash
# tests/test_limits.sh - every ceiling at its value and one past it, with
# inputs generated here (openssl CLI):
#   bin/kensho:   limits.max_certs (a CMS with max_certs and max_certs+1
#                 embedded certificates), limits.max_path_length (the
#                 5-certificate bridge path at 5 and 4), limits.max_paths
#                 (K complete paths that fail policy ahead of the good one:
#                 K+1 paths allowed passes, K does not);
#   kensho-fcgi:  limits.max_body_bytes, limits.max_parts,
#                 limits.max_json_depth, straight over its FastCGI socket
#                 (tests/fcgi/fcgi_client.py).
# Bounded: a handful of openssl calls and one service start (20 s cap).
set -u
K=${KENSHO:?}
P=${PKI:?}
HERE=$(cd "$(dirname "$0")" && pwd)
FCGI=$(dirname "$K")/kensho-fcgi
# shellcheck source=tests/fcgi/stack.sh
. "$HERE/fcgi/stack.sh"
# shellcheck source=tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ks_test_dir limits
POL=1.2.392.200149.8.5.1.1.20

# cfg FILE INTERMEDIATES_JSON LIMITS_JSON
cfg() {
    cat >"$1" <<JSON
{"trust_anchors": ["$P/anchors"], "intermediates": $2, "revocation": {"mode": "off"},
 "accept_policies": ["$POL"], "limits": $3}
JSON
}
# run NAME CONFIG SIGNATURE: the verdict or error in $T/NAME.json
run() { "$K" verify --config "$2" --signature "$3" >"$T/$1.json" 2>/dev/null; }
ind() { jq -r '.indication // ("error " + .error.code)' "$T/$1.json" 2>/dev/null; }

# ---- max_certs: the signer plus N-1 unrelated certificates ----
for i in $(seq 1 9); do
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/x$i.key" \
        -subj "/CN=Unrelated $i (synthetic test)" -days 30 -out "$T/x$i.pem" 2>/dev/null
done
sign_with() { # sign_with OUT N_EXTRA
    cat $(seq -f "$T/x%g.pem" 1 "$2") >"$T/extra.pem"
    openssl cms -sign -binary -nodetach -outform DER -in "$P/doc.txt" -signer "$P/citizen-rsa.pem" \
        -inkey "$P/citizen-rsa.key" -certfile "$T/extra.pem" -out "$1" 2>/dev/null
}
sign_with "$T/certs8.p7m" 7
sign_with "$T/certs9.p7m" 8
ncerts() { openssl cms -cmsout -inform DER -in "$1" -print 2>/dev/null | grep -c 'cert_info'; }
check "the generated CMS embed 8 and 9 certificates ($(ncerts "$T/certs8.p7m"), $(ncerts "$T/certs9.p7m"))" \
    [ "$(ncerts "$T/certs8.p7m")/$(ncerts "$T/certs9.p7m")" = 8/9 ]
INT="[\"$P/intermediates\"]"
cfg "$T/certs.cfg" "$INT" '{"max_certs": 8}'
run certs8 "$T/certs.cfg" "$T/certs8.p7m"
check "max_certs 8, 8 certificates: verified ($(ind certs8))" [ "$(ind certs8)" = TOTAL_PASSED ]
run certs9 "$T/certs.cfg" "$T/certs9.p7m"
check "max_certs 8, 9 certificates: KS_E_LIMIT ($(ind certs9))" [ "$(ind certs9)" = "error KS_E_LIMIT" ]

# ---- max_path_length: leaf, 3 cross certificates, anchor ----
for n in 5 4; do
    cfg "$T/len$n.cfg" "$INT" "{\"max_path_length\": $n}"
    run "len$n" "$T/len$n.cfg" "$P/sig-attached-rsa.p7m"
done
check "max_path_length 5 (the path's length): verified ($(ind len5))" [ "$(ind len5)" = TOTAL_PASSED ]
check "max_path_length 4: no chain ($(ind len4) $(jq -r .subindication "$T/len4.json"))" \
    [ "$(ind len4) $(jq -r .subindication "$T/len4.json")" = "INDETERMINATE NO_CERTIFICATE_CHAIN_FOUND" ]

# ---- max_paths: KA alternative prefecture CA certificates (same name and
# key, issued by the JPKI bridge) that assert another policy, listed ahead of
# the real one: each makes a complete path that fails policy processing. ----
KA=3
SUBJ="/C=JP/O=Synthetic Test JPKI/OU=Nagano-ken/CN=Nagano Prefecture CA (synthetic test)"
openssl req -new -key "$P/pref-ca.key" -subj "$SUBJ" -out "$T/pref.csr" 2>/dev/null
printf 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\ncertificatePolicies=1.2.3.4.5\n' >"$T/alt.ext"
alts=""
for i in $(seq 1 $KA); do
    openssl x509 -req -in "$T/pref.csr" -CA "$P/jpki-bca-self.pem" -CAkey "$P/jpki-bca.key" -set_serial $((7000 + i)) \
        -days 30 -extfile "$T/alt.ext" -out "$T/alt$i.pem" 2>/dev/null
    alts="$alts\"$T/alt$i.pem\", "
done
PATHS_INT="[$alts\"$P/cross-jpki-to-pref.pem\", \"$P/cross-gpki-to-jpki.pem\", \"$P/cross-ministry-to-gpki.pem\"]"
for n in $((KA + 1)) $KA; do
    cfg "$T/paths$n.cfg" "$PATHS_INT" "{\"max_paths\": $n}"
    run "paths$n" "$T/paths$n.cfg" "$P/sig-attached-rsa.p7m"
done
check "max_paths $((KA + 1)) with $KA failing paths first: verified ($(ind paths$((KA + 1))))" \
    [ "$(ind paths$((KA + 1)))" = TOTAL_PASSED ]
check "max_paths $KA: not verified ($(ind paths$KA) $(jq -r .subindication "$T/paths$KA.json"))" \
    [ "$(ind paths$KA)" = INDETERMINATE ] || [ "$(ind paths$KA)" = TOTAL_FAILED ]

# ---- the service's own ceilings, over its socket ----
MAXB=65536
cat >"$T/svc.json" <<JSON
{"trust_anchors": ["$P/anchors"], "intermediates": ["$P/intermediates"], "revocation": {"mode": "off"},
 "limits": {"max_body_bytes": $MAXB, "max_parts": 4, "max_json_depth": 4},
 "service": {"threads": 2}, "audit": {"required": false}}
JSON
ks_rundir "$T"
chmod 0755 "$T"
ks_start_fcgi "$FCGI" "$T/svc.json" "$T/fcgi.sock" "$T/fcgi.log" 2 || ks_give_up "kensho-fcgi did not start"
# post NAME CONTENT_TYPE FILE: "STATUS CODE" of the answer
post() {
    "$PY" "$HERE/fcgi/fcgi_client.py" "$T/fcgi.sock" POST /api/v1/verify "$2" "$3" "$T/ready" 0 >"$T/$1.out" 2>/dev/null
    local st code
    st=$(sed -n 's/^Status: \([0-9]*\).*/\1/p' "$T/$1.out" | head -n 1)
    code=$(sed '1,/^\r$/d' "$T/$1.out" | jq -r '.code // .indication' 2>/dev/null)
    echo "$st $code"
}
head -c $MAXB /dev/zero | tr '\0' 'A' >"$T/body-at"
head -c $((MAXB + 1)) /dev/zero | tr '\0' 'A' >"$T/body-past"
r=$(post body-at application/octet-stream "$T/body-at")
check "max_body_bytes: a body of exactly $MAXB bytes is read and judged ($r)" [ "${r%% *}" = 400 ]
r=$(post body-past application/octet-stream "$T/body-past")
check "max_body_bytes: one byte more is 413 ($r)" [ "$r" = "413 KS_E_TOO_LARGE" ]

mp() { # mp FILE NPARTS: a signature part and NPARTS-1 file parts
    {
        printf -- '--BB\r\nContent-Disposition: form-data; name="signature"; filename="s.p7m"\r\n\r\n'
        cat "$P/sig-attached-rsa.p7m"
        for i in $(seq 2 "$2"); do
            printf -- '\r\n--BB\r\nContent-Disposition: form-data; name="a%s"; filename="a%s.txt"\r\n\r\nx' "$i" "$i"
        done
        printf -- '\r\n--BB--\r\n'
    } >"$1"
}
mp "$T/mp4" 4
mp "$T/mp5" 5
r=$(post mp4 'multipart/form-data; boundary=BB' "$T/mp4")
check "max_parts 4: 4 parts are parsed ($r)" bash -c "[ '${r%% *}' != 413 ] && [ -n '${r%% *}' ]"
r=$(post mp5 'multipart/form-data; boundary=BB' "$T/mp5")
check "max_parts 4: 5 parts are 413 ($r)" [ "$r" = "413 KS_E_LIMIT" ]

printf '{"signature": "%s", "x": [[[1]]]}' "$(base64 -w 0 "$P/sig-attached-rsa.p7m")" >"$T/depth4.json"
printf '{"signature": "%s", "x": [[[[1]]]]}' "$(base64 -w 0 "$P/sig-attached-rsa.p7m")" >"$T/depth5.json"
r=$(post depth4 application/json "$T/depth4.json")
check "max_json_depth 4: depth 4 is parsed (then refused for its member: $r)" [ "$r" = "400 KS_E_BAD_REQUEST" ]
r=$(post depth5 application/json "$T/depth5.json")
check "max_json_depth 4: depth 5 is 413 ($r)" [ "$r" = "413 KS_E_LIMIT" ]
check "no sanitizer report" bash -c "! grep -qE 'Sanitizer|runtime error' '$T/fcgi.log'"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
