#!/usr/bin/env bash
# fuzz/seeds.sh OUT PKI [SHARED] - seed corpora for the harnesses of fuzz/,
# one directory per harness under OUT, from the generated test PKI
# (tests/pki/mkpki.sh, mkxml.sh) and the shared vectors (../shared: cms/,
# ocsp/, pkits/).  Regenerated whenever the PKI is: seeds follow its keys
# and dates, so none are committed.  Needs bash, coreutils, openssl, python3.
set -euo pipefail
OUT=$1
P=$2
S=${3:-}
[ -d "$P" ] || { echo "seeds: no PKI at $P" >&2; exit 1; }
rm -rf "$OUT"
for h in signature certificate xml multipart json config ocsp crl cache pdf; do mkdir -p "$OUT/$h"; done
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
MARK=$'\n--KSFUZZ--\n'
small() { [ -f "$1" ] && [ "$(stat -c %s "$1")" -le 131072 ]; } # seeds stay small

# ---- signature: CMS in every encoding, detached with its content, S/MIME ----
for f in "$P"/*.p7m "$P"/*.p7s "$P"/*.p7b "$P"/sig-attached-rsa.pem "$P"/sig-attached-rsa.b64; do
    cp "$f" "$OUT/signature/"
done
{ cat "$P/sig-detached-rsa.p7s"; printf '%s' "$MARK"; cat "$P/doc.txt"; } >"$OUT/signature/detached-with-content"
{ cat "$P/sig-detached-rsa.p7s"; printf '%s' "$MARK"; cat "$P/doc-tampered.txt"; } >"$OUT/signature/detached-tampered"
openssl cms -sign -in "$P/doc.txt" -signer "$P/citizen-rsa.pem" -inkey "$P/citizen-rsa.key" \
    -out "$OUT/signature/smime-detached.eml" 2>/dev/null || true
openssl cms -sign -nodetach -in "$P/doc.txt" -signer "$P/citizen-ec.pem" -inkey "$P/citizen-ec.key" \
    -certfile "$P/chain-gen1.pem" -out "$OUT/signature/smime-attached-chain.eml" 2>/dev/null || true
openssl cms -sign -binary -nodetach -outform DER -in "$P/doc.txt" -signer "$P/citizen-rsa.pem" \
    -inkey "$P/citizen-rsa.key" -keyopt rsa_padding_mode:pss -out "$OUT/signature/pss.p7m" 2>/dev/null || true
if [ -n "$S" ] && [ -d "$S/cms" ]; then
    find "$S/cms" -type f \( -name '*.p7m' -o -name '*.p7b' -o -name '*.sig' -o -name '*.bin' -o -name '*.eml' \) |
        while read -r f; do small "$f" && cp "$f" "$OUT/signature/shared-$(basename "$(dirname "$f")")-$(basename "$f")"; done
fi

# ---- certificate: every certificate of the PKI as PEM, DER and bare base64 ----
for f in "$P"/*.pem "$P"/intermediates/*.pem; do
    grep -q 'BEGIN CERTIFICATE' "$f" || continue
    b=$(basename "$f" .pem)
    cp "$f" "$OUT/certificate/$b.pem"
    openssl x509 -in "$f" -outform DER -out "$OUT/certificate/$b.der" 2>/dev/null || true
done
openssl x509 -in "$P/citizen-rsa.pem" -outform DER | base64 -w 0 >"$OUT/certificate/citizen-rsa.b64"
if [ -n "$S" ] && [ -d "$S/pkits/certs" ]; then
    ls "$S/pkits/certs" | sort | awk 'NR % 4 == 1' | head -n 100 | while read -r f; do
        cp "$S/pkits/certs/$f" "$OUT/certificate/pkits-$f"
    done
fi

# ---- xml: e-Tax and e-Gov documents, ZIP packages, e-Gov with attachments ----
if [ -d "$P/xml" ]; then
    for f in "$P"/xml/*.xtx "$P"/xml/*.xml "$P"/xml/*.zip; do small "$f" && cp "$f" "$OUT/xml/"; done
    for k in kousei kousei-altered; do
        [ -f "$P/xml/egov/$k.xml" ] || continue
        { cat "$P/xml/egov/$k.xml"
          for a in form1.xml form2.pdf; do printf '%s%s\n' "$MARK" "$a"; cat "$P/xml/egov/$a"; done
        } >"$OUT/xml/egov-$k-with-forms"
    done
    # XAdES-T and -X-L packages: their unsigned properties are not signed,
    # so mutations of them keep the signature valid and reach xml_xades.c.
    for k in kousei-t kousei-xl; do
        [ -f "$P/xml/egov-xades/$k.xml" ] || continue
        { cat "$P/xml/egov-xades/$k.xml"
          for a in form1.xml form2.pdf; do printf '%s%s\n' "$MARK" "$a"; cat "$P/xml/egov-xades/$a"; done
        } >"$OUT/xml/egov-xades-$k-with-forms"
    done
fi

# ---- pdf: the signed PDFs and attack files of mkpdf.sh ----
if [ -d "$P/pdf" ]; then
    for f in "$P"/pdf/*.pdf; do small "$f" && cp "$f" "$OUT/pdf/"; done
fi

# ---- multipart: Content-Type line, then the body (as curl -F writes it) ----
mp() { # mp NAME BOUNDARY: body from stdin
    { printf 'multipart/form-data; boundary=%s\n' "$2"; cat; } >"$OUT/multipart/$1"
}
part() { # part BOUNDARY NAME [FILENAME [TYPE]]: a part header
    printf -- '--%s\r\nContent-Disposition: form-data; name="%s"' "$1" "$2"
    [ -n "${3:-}" ] && printf '; filename="%s"' "$3"
    printf '\r\n'
    [ -n "${4:-}" ] && printf 'Content-Type: %s\r\n' "$4"
    printf '\r\n'
}
B=------------------------d74496d66958873e
{ part $B signature sig.p7s application/octet-stream; cat "$P/sig-detached-rsa.p7s"; printf '\r\n'
  part $B content doc.txt text/plain; cat "$P/doc.txt"; printf '\r\n--%s--\r\n' $B; } | mp detached $B
{ part $B signature; printf 'abc\r\n--%s--\r\n' $B; } | mp field $B
{ part XX signature; printf 'abc'; } | mp unterminated XX
{ part '"quoted"' a; printf 'x\r\n--"quoted"--'; } | mp odd-boundary '"quoted"'
{ for i in $(seq 20); do part q "f$i"; printf '%s\r\n' "$i"; done; printf -- '--q--\r\n'; } | mp many q
{ part b signature 'x.p7m'; printf '\r\n--b--\r\n'; } | mp empty-part b
printf 'multipart/form-data; boundary="a b"; charset=utf-8\n--a b\r\nContent-Disposition: form-data; name=x\r\n\r\n1\r\n--a b--\r\n' \
    >"$OUT/multipart/quoted-param"
printf 'application/json\n{}' >"$OUT/multipart/not-multipart"

# ---- json: selector byte (bit 0: certificate route), then the body ----
b64() { base64 -w 0 "$1"; }
printf '\x00{"signature": "%s"}' "$(b64 "$P/sig-attached-rsa.p7m")" >"$OUT/json/attached"
printf '\x00{"signature": "%s", "content": "%s"}' "$(b64 "$P/sig-detached-rsa.p7s")" "$(base64 -w 76 "$P/doc.txt" | sed 's/$/\\n/' | tr -d '\n')" \
    >"$OUT/json/detached"
printf '\x01{"certificate": "%s"}' "$(b64 "$P/citizen-rsa.pem")" >"$OUT/json/cert-b64"
python3 -c 'import json,sys; sys.stdout.write("\x01" + json.dumps({"certificate": open(sys.argv[1]).read()}))' \
    "$P/citizen-rsa.pem" >"$OUT/json/cert-pem"
printf '\x00{"signature": "AAAA", "colour": "red"}' >"$OUT/json/unknown-member"
printf '\x00[[[[[[[[[[]]]]]]]]]]' >"$OUT/json/deep"
printf '\x00{"signature": "\\u0041\\u0041AA"}' >"$OUT/json/escapes"

# ---- config: what the tests write, with every section ----
A="\"trust_anchors\": [\"@PKI@/anchors\"], \"intermediates\": [\"@PKI@/intermediates\"]"
cat >"$OUT/config/minimal.json" <<JSON
{$A, "revocation": {"mode": "off"}}
JSON
cat >"$OUT/config/service.json" <<JSON
{$A, "revocation": {"mode": "off"}, "accept_policies": ["1.2.392.200149.8.5.1.1.20"],
 "limits": {"max_body_bytes": 262144, "max_parts": 8, "max_json_depth": 8, "request_timeout_ms": 10000,
            "max_input_bytes": 1048576, "max_certs": 8, "max_crls": 2, "max_signers": 2, "max_path_length": 6,
            "max_paths": 4},
 "service": {"threads": 4, "socket": "k.sock", "socket_mode": "0660", "backlog": 16},
 "audit": {"path": "audit.log", "required": true, "fsync": "never"}}
JSON
cat >"$OUT/config/revocation.json" <<JSON
{$A, "crls": ["@PKI@/ministry-ca.crl", "@PKI@/gpki-bca.crl.der"],
 "revocation": {"mode": "require", "allow_urls": ["http://127.0.0.1:9/"], "timeout_ms": 100, "prefer": "crl",
                "max_response_bytes": 65536, "clock_skew_s": 60, "ocsp_max_age_s": 3600, "ocsp_nonce": true,
                "ocsp_certid_hash": "sha256"},
 "revocation_sources": [{"issuer": "@PKI@/pref-ca-self.pem", "ocsp": "http://127.0.0.1:9/ocsp",
                         "crl": ["http://127.0.0.1:9/pref-ca.crl", "@PKI@/pref-ca.crl"]}],
 "require_explicit_policy": true, "inhibit_policy_mapping": true, "inhibit_any_policy": false,
 "algorithms": {"min_rsa_bits": 2048, "allow_sha1": false},
 "cache": {"max_entries": 16, "max_bytes": 65536, "refresh_ahead_s": 0, "negative_ttl_s": 5,
           "hmac_key": "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"},
 "memcached": ["127.0.0.1:9", "[::1]:9"]}
JSON
printf '{"trust_anchors": "x", "colour": 1}' >"$OUT/config/bad-types.json"
printf '{"trust_anchors": ["@PKI@/ministry-ca.pem"], "limits": {"max_certs": 1e308}}' >"$OUT/config/big-number.json"

# ---- ocsp: responses from the PKI's own responder, and the shared vectors ----
ocsp_resp() { # ocsp_resp NAME CERT SIGNER KEY [EXTRA...]
    local name=$1 cert=$2 signer=$3 key=$4
    shift 4
    openssl ocsp -issuer "$P/pref-ca-self.pem" -cert "$P/$cert.pem" "$@" -reqout "$W/$name.req" -no_nonce \
        >/dev/null 2>&1 || return 0
    openssl ocsp -index "$P/pref-ca-db/index.txt" -CA "$P/pref-ca-self.pem" -rsigner "$P/$signer.pem" \
        -rkey "$P/$key.key" -reqin "$W/$name.req" -respout "$OUT/ocsp/$name.der" -ndays 3650 >/dev/null 2>&1 || true
}
ocsp_resp good citizen-rsa ocsp-responder ocsp-responder
ocsp_resp good-sha256 citizen-rsa ocsp-responder ocsp-responder -sha256
ocsp_resp revoked citizen-revoked ocsp-responder ocsp-responder
ocsp_resp moved citizen-moved ocsp-responder ocsp-responder
ocsp_resp unauthorised citizen-rsa ocsp-unauthorised ocsp-unauthorised
ocsp_resp by-ca citizen-rsa pref-ca-self pref-ca
if [ -n "$S" ] && [ -d "$S/ocsp" ]; then
    for f in "$S"/ocsp/openssl-ocsp-tests/*.ors; do
        base64 -d "$f" >"$OUT/ocsp/openssl-$(basename "$f" .ors).der" 2>/dev/null || true
    done
    for f in "$S"/ocsp/chromium-ocsp-unittest/*.pem; do
        sed -n '/-----BEGIN OCSP RESPONSE-----/,/-----END OCSP RESPONSE-----/p' "$f" | grep -v -- '-----' |
            base64 -d >"$OUT/ocsp/chromium-$(basename "$f" .pem).der" 2>/dev/null || true
    done
fi
find "$OUT/ocsp" -type f -empty -delete

# ---- crl: the PKI's CRLs (PEM and DER) and PKITS' ----
cp "$P"/*.crl "$P"/*.crl.der "$OUT/crl/"
if [ -n "$S" ] && [ -d "$S/pkits/crls" ]; then
    ls "$S/pkits/crls" | sort | awk 'NR % 3 == 1' | while read -r f; do cp "$S/pkits/crls/$f" "$OUT/crl/pkits-$f"; done
fi

# ---- tsp: the token `openssl ts -reply` made over doc.txt, with and without
# the data it covers, and a CMS signature that is no token ----
mkdir -p "$OUT/tsp"
cp "$P/ts-doc.tst" "$OUT/tsp/"
{ cat "$P/ts-doc.tst"; printf '%s' "$MARK"; cat "$P/doc.txt"; } >"$OUT/tsp/ts-doc-with-data"
{ cat "$P/ts-doc.tst"; printf '%s' "$MARK"; cat "$P/doc-tampered.txt"; } >"$OUT/tsp/ts-doc-tampered-data"
cp "$P/sig-attached-rsa.p7m" "$OUT/tsp/not-a-token.p7m"

# ---- cache: frames as cache/cache.c writes them for the harness's key ----
python3 - "$OUT/cache" <<'PY'
import hashlib, hmac, struct, sys
out = sys.argv[1]
key = b"ocsp|fuzz|entry"
kh = hashlib.sha256(key).digest()
mckey = b"ks1:" + kh.hex().encode()
hkey = bytes(range(32))
MARK = b"\n--KSFUZZ--\n"
def frame(kind, payload, mac=False, mk=mckey, exp=4102444800):
    f = (b"KSC2" + bytes([kind, 1 if mac else 0]) + b"\0\0" + struct.pack(">q", exp) + struct.pack(">q", 0) + kh +
         struct.pack(">I", len(payload)) + payload)
    if mac:
        f += hmac.new(hkey, struct.pack(">H", len(mk)) + mk + f, hashlib.sha256).digest()
    return f
def w(name, flags, pieces):
    with open(f"{out}/{name}", "wb") as fh:
        fh.write(bytes([flags]) + MARK.join(pieces))
value = b"V" + b"x" * 200
w("value", 0, [frame(1, value)])
w("value-mac", 1, [frame(1, value, True)])
w("value-fix", 2, [frame(1, value)])
w("stale", 0, [frame(1, value, exp=1)])
big = b"V" + bytes(range(256)) * 10  # 2561 bytes: 3 chunks of 1024
gen = bytes(range(16))
def chunked(mac):
    n = (len(big) + 1023) // 1024
    man = struct.pack(">QII", len(big), n, 1024) + gen + hashlib.sha256(big).digest()
    chunks = []
    for i in range(n):
        ck = mckey + b":" + gen.hex().encode() + b":" + str(i).encode()
        chunks.append(frame(3, big[i * 1024:(i + 1) * 1024], mac, ck))
    return [frame(2, man, mac)] + chunks
w("chunked", 0, chunked(False))
w("chunked-mac", 1, chunked(True))
w("chunked-fix", 3, chunked(True))
PY
# ocsp_sign: recipes, not DER (fuzz/fuzz_ocsp_sign.c reads them field by
# field): signer, flags, validation time, producedAt, SingleResponses.
mkdir -p "$OUT/ocsp_sign"
python3 - "$OUT/ocsp_sign" <<'PY'
import struct, sys
out = sys.argv[1]
def recipe(signer, flags, at, produced, singles):
    b = bytes([signer, flags]) + struct.pack(">hh", at, produced) + bytes([len(singles) - 1])
    for variant, status, has_next, reason, this_u, next_u, rev_h in singles:
        b += bytes([variant | (status << 2) | (0 if has_next else 0x80), reason])
        b += struct.pack(">hh", this_u, next_u) + bytes([rev_h])
    return b
good = (0, 0, True, 0, -10, 600, 1)
seeds = {
    "ca-good": recipe(0, 0, 0, 0, [good]),
    "delegated-good": recipe(1, 0, 0, 0, [good]),
    "expired-responder-backdated": recipe(2, 0x80, 0, -20000, [good]),
    "produced-before-this": recipe(1, 0, 0, -60, [good]),
    "stale": recipe(0, 0x20, 0, 0, [(0, 0, True, 0, -3000, -2000, 1)]),
    "no-next-old": recipe(0, 0, 0, 0, [(0, 0, False, 0, -200, 0, 1)]),
    "good-and-revoked": recipe(1, 1, 0, 0, [good, (0, 1, True, 1, -10, 600, 2)]),
    "other-serial": recipe(0, 0, 0, 0, [(1, 0, True, 0, -10, 600, 1)]),
    "crit-ext": recipe(0, 0x10, 0, 0, [good]),
    "no-eku": recipe(5, 0, 0, 0, [good]),
    "other-ca": recipe(6, 0, 0, 0, [good]),
    "no-certs": recipe(1, 4, 0, 0, [good]),
}
# Then the revocation context (ks_revocation_check): c0 route / nonce /
# ocsp_nonce / CertID hash / local CRL, c1 prior answers, 4 bytes each.
def rev(c0, priors=()):
    b = bytes([c0, len(priors)])
    for p0, this_min, span10 in priors:
        b += bytes([p0]) + struct.pack(">h", this_min) + bytes([span10])
    return b
ca = recipe(0, 0, 0, 0, [good])
seeds.update({
    "rev-embedded": ca + rev(0),
    "rev-fetched-echo": ca + rev(1),
    "rev-fetched-no-nonce-require": ca + rev(1 | 1 << 2 | 2 << 4),
    "rev-fetched-no-nonce-no-max-age": recipe(0, 0x60, 0, 0, [good]) + rev(1 | 1 << 2),
    "rev-fetched-wrong-nonce": ca + rev(1 | 2 << 2),
    "rev-fetched-nonce-off": ca + rev(1 | 2 << 2 | 1 << 4 | 0x40),
    "rev-embedded-stale-then-fetched": recipe(0, 0, 0, 0, [(0, 0, True, 0, -3000, 1000, 1)]) + rev(3),
    "rev-poe": recipe(0, 0x40, -600, 0, [good]) + rev(2),
    "rev-nocheck-with-crl": recipe(7, 0, 0, 0, [good]) + rev(0x80),
    "rev-nocheck-without-crl": recipe(7, 0, 0, 0, [good]) + rev(0),
    "rev-prior-newer-good": ca + rev(0, [(0, -5, 60)]),
    "rev-prior-older-good": ca + rev(0, [(0, -30, 60)]),
    "rev-prior-revoked": ca + rev(0, [(1, -20, 60)]),
    "rev-prior-on-hold": ca + rev(0, [(2, -20, 60)]),
    "rev-prior-fetched-then-fetched": ca + rev(1, [(4, -30, 60)]),
    "rev-prior-fetched-revoked-then-embedded": ca + rev(0, [(5, -20, 60), (0, -15, 0)]),
})
for name, b in seeds.items():
    with open(f"{out}/{name}", "wb") as fh:
        fh.write(b)
PY
# crl_sign: recipes (fuzz/fuzz_crl_sign.c): a head byte (how many CRLs, the
# digests), then per CRL: flags, IDP, validation time, thisUpdate,
# nextUpdate, crlNumber, revoked entries.
mkdir -p "$OUT/crl_sign"
python3 - "$OUT/crl_sign" <<'PY'
import struct, sys
out = sys.argv[1]
def crl(f1=0x08, f2=0, at=0, this=-10, nxt=600, num=5, revs=()):
    b = bytes([f1, f2]) + struct.pack(">hhh", at, this, nxt) + bytes([num, len(revs)])
    for e, reason, hours in revs:
        b += bytes([e, reason, hours])
    return b
def seq(*crls, head=0):
    return bytes([head + len(crls) - 1]) + b"".join(crls)
seeds = {
    "good": seq(crl()),
    "good-no-number": seq(crl(f1=0)),
    "revoked-ours": seq(crl(revs=[(0x04, 1, 2)])),
    "revoked-other": seq(crl(revs=[(0x01, 1, 2), (0x02, 0, 1)])),
    "ours-remove-from-crl": seq(crl(revs=[(0x04, 8, 1)])),
    "ours-on-hold": seq(crl(revs=[(0x0c, 6, 1)])),
    "entry-critical": seq(crl(revs=[(0x11, 0, 1)])),
    "delta": seq(crl(f1=0x18)),
    "critical-ext": seq(crl(f1=0x28)),
    "idp-user-leaf-name": seq(crl(f1=0x48, f2=0 | (1 << 3))),
    "idp-ca": seq(crl(f1=0x48, f2=1)),
    "idp-attr": seq(crl(f1=0x48, f2=2)),
    "idp-reasons": seq(crl(f1=0x48, f2=3)),
    "idp-indirect": seq(crl(f1=0x48, f2=4)),
    "idp-other-name": seq(crl(f1=0x48, f2=5 | (2 << 3))),
    "stale": seq(crl(at=100, this=-100, nxt=60)),
    "not-yet": seq(crl(at=0, this=1, nxt=600)),
    "no-next": seq(crl(f1=0x88)),
    "rogue-key": seq(crl(f1=0x09)),
    "rogue-name": seq(crl(f1=0x0a)),
    "rollback-number": seq(crl(num=9, this=-10), crl(num=5, this=-5)),
    "rollback-this": seq(crl(num=5, this=-5), crl(num=6, this=-60)),
    "forward": seq(crl(num=5, this=-60), crl(num=6, this=-5), crl(f1=0, this=-1)),
    "sha1": seq(crl(), head=4),
}
for name, b in seeds.items():
    with open(f"{out}/{name}", "wb") as fh:
        fh.write(b)
PY
# cms_sign: recipes (fuzz/fuzz_cms_sign.c): SignerIdentifier and embedded
# certificates, ESS, attribute flags, certificate order, validation and
# signing times.
mkdir -p "$OUT/cms_sign"
python3 - "$OUT/cms_sign" <<'PY'
import struct, sys
out = sys.argv[1]
def r(f1=0, f2=0, f3=0, at=0, st=0):
    return bytes([f1, f2, f3]) + struct.pack(">hh", at, st)
seeds = {
    "plain-real": r(f1=2),
    "ess-real": r(f1=2 | (1 << 3)),
    "ess-other-embedded-both": r(f1=1 | 4 | (2 << 3), f3=1 << 2),
    "keyid-other-first-ess-real": r(f1=1 | 4 | (1 << 3), f3=1),
    "twin-first-ess-real": r(f1=4 | (1 << 3), f3=2),
    "twin-first-ess-twin": r(f1=4 | (3 << 3), f3=2),
    "ctype-wrong": r(f1=2, f2=1),
    "ctype-absent": r(f1=2, f2=2),
    "ctype-twice": r(f1=2, f2=3),
    "md-wrong": r(f1=2, f2=4),
    "signing-time": r(f1=2, f2=8, st=-6),
    "ess-v1-serial-twice": r(f1=2 | (1 << 3) | 0x20 | 0x40 | 0x80),
    "ess-extra": r(f1=2 | (1 << 3), f2=0x10),
    "no-certs": r(f1=1 << 3),
    "expired-at": r(f1=2, at=-30000),
}
for name, b in seeds.items():
    with open(f"{out}/{name}", "wb") as fh:
        fh.write(b)
PY
# path: recipes (fuzz/fuzz_path.c): chain length, validation time, then per
# certificate below the generated root: notBefore, lifetime, extension flags.
mkdir -p "$OUT/path"
python3 - "$OUT/path" <<'PY'
import struct, sys
out = sys.argv[1]
def cert(nb=-1000, span=20000, f1=0, f2=0):
    return struct.pack(">hh", nb, span) + bytes([f1, f2])
CA = 1 | 2 | 4 | 0x40  # basicConstraints critical cA, keyUsage keyCertSign
LEAF = 1 | 4 | 0x40    # basicConstraints critical, not cA, keyUsage (f2 picks)
NONC = 3 << 4          # no nameConstraints
def chain(*certs, at=0):
    return bytes([len(certs) - 1]) + struct.pack(">h", at) + b"".join(certs)
seeds = {
    "leaf-only": chain(cert(f1=LEAF, f2=2 | NONC)),
    "ca-leaf": chain(cert(f1=CA, f2=NONC), cert(f1=LEAF, f2=2 | NONC)),
    "ca-ca-leaf": chain(cert(f1=CA, f2=NONC), cert(f1=CA, f2=NONC), cert(f1=LEAF, f2=2 | NONC)),
    "pathlen0": chain(cert(f1=CA | 8, f2=NONC), cert(f1=CA, f2=NONC), cert(f1=LEAF, f2=2 | NONC)),
    "nc-permit": chain(cert(f1=CA, f2=0), cert(f1=LEAF, f2=2 | NONC)),
    "nc-other": chain(cert(f1=CA, f2=1 << 4), cert(f1=LEAF, f2=2 | NONC)),
    "nc-exclude": chain(cert(f1=CA, f2=2 << 4), cert(f1=LEAF, f2=2 | NONC)),
    "not-ca": chain(cert(f1=LEAF, f2=NONC), cert(f1=LEAF, f2=2 | NONC)),
    "expired-ca": chain(cert(nb=-2000, span=1000, f1=CA, f2=NONC), cert(f1=LEAF, f2=2 | NONC)),
    "leaf-eku-email": chain(cert(f1=CA, f2=NONC), cert(f1=LEAF | 0x80, f2=2 | NONC)),
    "v1-ca": chain(cert(f2=0x80), cert(f1=LEAF, f2=2 | NONC)),
    "leaf-outlives-ca": chain(cert(nb=-100, span=200, f1=CA, f2=NONC), cert(nb=-50, span=20000, f1=LEAF, f2=2 | NONC)),
}
for name, b in seeds.items():
    with open(f"{out}/{name}", "wb") as fh:
        fh.write(b)
PY
# tsp_sign: recipes (fuzz/fuzz_tsp_sign.c): the TSA certificates, ESS,
# signed attributes, the TSTInfo fields, validation time and genTime.
mkdir -p "$OUT/tsp_sign"
python3 - "$OUT/tsp_sign" <<'PY'
import struct, sys
out = sys.argv[1]
def r(f1=0x08, f2=0x01, f3=0, f4=0, f5=0, at=0, gen=-1):
    return bytes([f1, f2, f3, f4, f5]) + struct.pack(">hh", at, gen)
seeds = {
    "good": r(),
    "good-v1": r(f2=0x02),
    "good-both-serial-ca": r(f2=0x03 | 0x20 | 0x40),
    "no-ess": r(f2=0),
    "ess-names-twin": r(f2=0x01 | (1 << 2)),
    "twin-signer-ess-real": r(f1=1 | 0x08 | 0x10),
    "twin-signer-ess-twin": r(f1=1 | 0x10, f2=0x01 | (1 << 2)),
    "noncrit-eku": r(f1=2 | 0x20, f2=0x01 | (2 << 2)),
    "two-eku": r(f1=3 | 0x40, f2=0x01 | (3 << 2)),
    "short-validity": r(f1=4 | 0x80, f2=0x01 | (4 << 2), at=-100),
    "no-certs": r(f1=0),
    "tampered": r(f2=0x81),
    "sha1-signed": r(f3=2),
    "ctype-absent": r(f3=2 << 2),
    "version-2": r(f3=0x30),
    "policy-other": r(f3=0x40),
    "imprint-sha512": r(f4=1),
    "imprint-md5": r(f4=3),
    "imprint-flipped": r(f4=1 << 2),
    "imprint-short": r(f4=2 << 2),
    "imprint-other-data": r(f4=3 << 2),
    "nonce-ordering-accuracy": r(f4=0x10 | 0x20 | 0x40),
    "tsa-name-signer": r(f5=1),
    "tsa-name-other": r(f5=3),
    "critical-extension": r(f5=4),
    "future": r(gen=30),
    "at-past": r(at=-2000),
}
for name, b in seeds.items():
    with open(f"{out}/{name}", "wb") as fh:
        fh.write(b)
PY
# xades_sign: recipes (fuzz/fuzz_xades_sign.c): the SigningCertificate(V2)
# properties, digest and KeyInfo, SigningTime and extra elements, the
# Reference wiring, the SigningTime in hours from now.
mkdir -p "$OUT/xades_sign"
python3 - "$OUT/xades_sign" <<'PY'
import struct, sys
out = sys.argv[1]
def r(b0=0x22, b1=0x10, b2=0, hours=-2, name=0):
    return bytes([b0, b1, b2]) + struct.pack(">h", hours) + bytes([name])
seeds = {
    "plain": r(b0=0, b1=0),
    "v1": r(b0=0x21),
    "v2": r(),
    "both": r(b0=0x23),
    "no-issuer-serial": r(b0=0x02),
    "alias-named-alias-keyinfo": r(b0=0x26, b1=0x14),
    "leaf-named-alias-keyinfo": r(b1=0x14),
    "leaf-named-alias-then-leaf": r(b1=0x18),
    "alias-named-leaf-then-alias": r(b0=0x26, b1=0x1c),
    "digest-flipped": r(b0=0xa2),
    "v1-serial-plus-one": r(b0=0x41),
    "v1-other-issuer": r(b0=0x61),
    "v2-serial-plus-one": r(b0=0x42),
    "v2-other-issuer": r(b0=0x62),
    "sha1-digest": r(b1=0x11),
    "sha512-digest": r(b1=0x12),
    "sha384-digest": r(b0=0x23, b1=0x13),
    "ca-cert-first": r(b0=0x3a),
    "ca-cert-second": r(b0=0x2a),
    "reference-without-type": r(b2=1),
    "reference-other-type": r(b2=2),
    "unreferenced": r(b2=3),
    "ssp-twice": r(b2=0x04),
    "second-sp-alias": r(b1=0x18, b2=0x08),
    "second-sp-same-id": r(b1=0x18, b2=0x88),
    "other-target": r(b2=0x10),
    "reference-sha1": r(b2=0x20),
    "moved-out": r(b2=0x40),
    "two-signing-times": r(b1=0x20),
    "signing-time-garbage": r(b1=0x30),
    "unknown-elements": r(b1=0xd0),
    "signing-time-future": r(hours=1000),
    "signing-time-before-cert": r(hours=-30000),
    "v1-name-lower-types": r(b0=0x21, name=1),
    "v1-name-spaced": r(b0=0x21, name=2),
    "v1-name-oids": r(b0=0x21, name=3),
    "v1-name-reversed": r(b0=0x21, name=4),
    "v1-name-hex-cn": r(b0=0x21, name=5),
}
for name, b in seeds.items():
    with open(f"{out}/{name}", "wb") as fh:
        fh.write(b)
PY
n=$(find "$OUT" -type f | wc -l)
echo "seeds: $n files in $OUT" >&2
