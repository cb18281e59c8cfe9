#!/usr/bin/env bash
# mkpki.sh OUTDIR -- generate a synthetic JPKI-like test PKI (2004 bridge model),
# CRLs, an OpenSSL CA database usable by `openssl ocsp -index`, and signed CMS
# test documents.  Needs only bash, coreutils and the openssl CLI (3.0.x).
#
# Everything here is SYNTHETIC TEST DATA.  No real person, authority or key.
#
# Dates are relative to "now", so the fixtures never rot:
#   CAs            now-3y .. now+15y
#   citizens       now-1y .. now+4y   (expired: now-6y..now-2y, notyet: now+2y..now+5y)
#
# Environment (optional):
#   OCSP_URL   AIA OCSP URL in citizen-url.pem   (default http://127.0.0.1:18880/ocsp)
#   CRL_URL    CRL DP URI in citizen-url.pem     (default http://127.0.0.1:18881/pref-ca.crl)
#   ROGUE_URL  base URL for rogue-citizen.pem    (default http://127.0.0.1:18999)
#
# See tests/pki/README.md for what each output file is for.
set -euo pipefail

prog=${0##*/}
die() { echo "$prog: $*" >&2; exit 1; }

[[ $# -eq 1 && -n $1 ]] || die "usage: $prog OUTDIR"
command -v openssl >/dev/null 2>&1 || die "openssl not found"

T0=$(date +%s%N)

# ---------------------------------------------------------------- OUTDIR ---
# Idempotent: wipe and recreate.  Refuse to wipe a non-empty directory that
# was not created by this script (guards against `mkpki.sh .` or `mkpki.sh ~`).
OUTDIR=$1
MARK=.mkpki-outdir
if [[ -e $OUTDIR ]]; then
    [[ -d $OUTDIR ]] || die "$OUTDIR exists and is not a directory"
    if [[ -n $(ls -A -- "$OUTDIR") && ! -e $OUTDIR/$MARK ]]; then
        die "$OUTDIR is not empty and was not made by $prog; refusing to wipe it"
    fi
fi
rm -rf -- "$OUTDIR"
mkdir -p -- "$OUTDIR"
OUT=$(cd -- "$OUTDIR" && pwd -P)
[[ $OUT != / ]] || die "refusing to use /"
cd -- "$OUT"
: >"$MARK"
mkdir -p work intermediates anchors

LOG=$OUT/work/last-command.log
# run CMD...: run quietly; on failure show the command and its output.
run() {
    if ! "$@" >"$LOG" 2>&1; then
        echo "$prog: command failed: $*" >&2
        cat "$LOG" >&2
        exit 1
    fi
}

# ----------------------------------------------------------------- dates ---
NOW_STR=$(date -u '+%Y-%m-%d %H:%M:%S UTC')
# at 'RELATIVE' -> YYYYMMDDHHMMSSZ, relative to the single NOW_STR instant.
at() { date -u -d "$NOW_STR $1" '+%Y%m%d%H%M%SZ'; }
CA_START=$(at '3 years ago');  CA_END=$(at '15 years')
EE_START=$(at '1 year ago');   EE_END=$(at '4 years')
EXP_START=$(at '6 years ago'); EXP_END=$(at '2 years ago')
NYT_START=$(at '2 years');     NYT_END=$(at '5 years')
CRL_LAST=$(at '1 hour ago');   CRL_NEXT=$(at '1 day')
STALE_LAST=$(at '2 days ago'); STALE_NEXT=$(at '1 day ago')

# ------------------------------------------------------------------- URLs ---
OCSP_URL=${OCSP_URL:-http://127.0.0.1:18880/ocsp}
CRL_URL=${CRL_URL:-http://127.0.0.1:18881/pref-ca.crl}
ROGUE_URL=${ROGUE_URL:-http://127.0.0.1:18999}
ROGUE_OCSP_URL=$ROGUE_URL/ocsp
ROGUE_CRL_URL=$ROGUE_URL/rogue.crl

# cnfval STR: escape a value for an OpenSSL config file.
cnfval() {
    local s=$1
    s=${s//\\/\\\\}; s=${s//\$/\\\$}; s=${s//#/\\#}; s=${s//\"/\\\"}; s=${s//\'/\\\'}
    printf '%s' "$s"
}

# ------------------------------------------------------------ demo values ---
# The basic four items (1.2.392.200149.8.5.5.N), UTF-8.  Name: family U+3000 given.
V_NAME='検証　花子'
V_NAME_FLAGS='00000'                 # one flag per character of V_NAME (5)
V_SEX='2'
V_BIRTH='319700102'                  # Showa 45-01-02 = 1970-01-02
V_ADDR='長野県松本市丸の内３番７号'
V_ADDR_FLAGS='0000000000000'         # one flag per character of V_ADDR (13)

# --------------------------------------------------------------------- DNs ---
DN_MINISTRY='/C=JP/O=Synthetic Test Government/OU=Ministry of Synthetic Affairs/CN=Ministry CA (synthetic test)'
DN_GPKI='/C=JP/O=Synthetic Test Government/OU=GPKI/CN=GPKI Bridge CA (synthetic test)'
DN_JPKI='/C=JP/O=Synthetic Test JPKI/OU=JPKI/CN=JPKI Bridge CA (synthetic test)'
DN_PREF='/C=JP/O=Synthetic Test JPKI/OU=Nagano-ken/CN=Nagano Prefecture CA (synthetic test)'
DN_ROGUE='/C=JP/O=Synthetic Test Rogue/CN=Rogue CA (untrusted synthetic test)'
DN_OCSP='/C=JP/O=Synthetic Test JPKI/OU=Nagano-ken/CN=OCSP Responder (synthetic test)'
DN_OCSP_BAD='/C=JP/O=Synthetic Test JPKI/OU=Nagano-ken/CN=Unauthorised OCSP Responder (synthetic test)'
citizen_dn() { printf '/C=JP/L=Nagano-ken/L=Matsumoto-shi/CN=%s' "$1"; }

# ----------------------------------------------------------------- configs ---
cat >work/req.cnf <<'EOF'
# minimal config for `openssl req` (subject always comes from -subj)
[ req ]
distinguished_name = req_dn
string_mask = utf8only
utf8 = yes
prompt = no
[ req_dn ]
CN = unused
EOF
# keep the system openssl.cnf out of the picture
export OPENSSL_CONF=$OUT/work/req.cnf

# Extension sections shared by all CA configs.
write_ext_sections() {
    cat <<EOF

# ---- CA certificates (self-signed and cross) ----
[ v3_ca ]
basicConstraints       = critical, CA:TRUE
keyUsage               = critical, keyCertSign, cRLSign
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always
certificatePolicies    = 2.5.29.32.0

# ---- citizen signing certificate (署名用電子証明書) ----
[ usr_sign ]
keyUsage               = critical, digitalSignature, nonRepudiation
certificatePolicies    = critical, 1.2.392.200149.8.5.1.1.20
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always
crlDistributionPoints  = @cdp_dir
subjectAltName         = @san_citizen

[ usr_sign_url ]
keyUsage               = critical, digitalSignature, nonRepudiation
certificatePolicies    = critical, 1.2.392.200149.8.5.1.1.20
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always
crlDistributionPoints  = @cdp_url
authorityInfoAccess    = @aia_url
subjectAltName         = @san_citizen

[ usr_badku ]
keyUsage               = critical, keyEncipherment
certificatePolicies    = critical, 1.2.392.200149.8.5.1.1.20
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always
crlDistributionPoints  = @cdp_dir
subjectAltName         = @san_citizen

[ usr_otherpol ]
keyUsage               = critical, digitalSignature, nonRepudiation
certificatePolicies    = critical, 1.2.392.200149.8.5.1.3.30
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always
crlDistributionPoints  = @cdp_dir
subjectAltName         = @san_citizen

# policyConstraints without certificatePolicies: OpenSSL 3.0 leaks on it, so
# kensho never policy-processes it (path.c ks_policy_cache_unsafe).
[ usr_pcons ]
keyUsage               = critical, digitalSignature, nonRepudiation
policyConstraints      = critical, inhibitPolicyMapping:0
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always
crlDistributionPoints  = @cdp_dir
subjectAltName         = @san_citizen

[ usr_noname ]
keyUsage               = critical, digitalSignature, nonRepudiation
certificatePolicies    = critical, 1.2.392.200149.8.5.1.1.20
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always
crlDistributionPoints  = @cdp_dir

[ usr_rogue ]
keyUsage               = critical, digitalSignature, nonRepudiation
certificatePolicies    = critical, 1.2.392.200149.8.5.1.1.20
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always
crlDistributionPoints  = @cdp_rogue
authorityInfoAccess    = @aia_rogue
subjectAltName         = @san_citizen

# ---- delegated OCSP responders ----
[ ocsp_resp ]
keyUsage               = critical, digitalSignature
extendedKeyUsage       = OCSPSigning
noCheck                = ignored
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always

[ ocsp_unauth ]
keyUsage               = critical, digitalSignature
noCheck                = ignored
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always

# ---- pieces ----
# The basic four items, in the order real cards carry them (.1 .4 .3 .5 .2 .6).
# FORMAT:UTF8 matters: with the bare "UTF8:" form OpenSSL reads the value as
# Latin-1 and double-encodes every non-ASCII byte.
[ san_citizen ]
otherName.1 = 1.2.392.200149.8.5.5.1;FORMAT:UTF8,UTF8:$V_NAME
otherName.2 = 1.2.392.200149.8.5.5.4;FORMAT:UTF8,UTF8:$V_BIRTH
otherName.3 = 1.2.392.200149.8.5.5.3;FORMAT:UTF8,UTF8:$V_SEX
otherName.4 = 1.2.392.200149.8.5.5.5;FORMAT:UTF8,UTF8:$V_ADDR
otherName.5 = 1.2.392.200149.8.5.5.2;FORMAT:UTF8,UTF8:$V_NAME_FLAGS
otherName.6 = 1.2.392.200149.8.5.5.6;FORMAT:UTF8,UTF8:$V_ADDR_FLAGS

[ cdp_dir ]
dirName.1 = cdp_dn

[ cdp_url ]
dirName.1 = cdp_dn
URI.2     = $(cnfval "$CRL_URL")

[ cdp_rogue ]
dirName.1 = cdp_dn
URI.2     = $(cnfval "$ROGUE_CRL_URL")

[ cdp_dn ]
C    = JP
O    = Synthetic Test JPKI
1.OU = CRL Distribution Point
2.OU = Matsumoto-shi

[ aia_url ]
OCSP;URI.1 = $(cnfval "$OCSP_URL")

[ aia_rogue ]
OCSP;URI.1 = $(cnfval "$ROGUE_OCSP_URL")

[ crl_ext ]
authorityKeyIdentifier = keyid:always
EOF
}

# mkca NAME CERT KEY SERIAL: database NAME-db/ and config work/NAME.cnf
mkca() {
    local name=$1 cert=$2 key=$3 serial=$4 db=$OUT/$1-db
    mkdir -p "$db/newcerts"
    : >"$db/index.txt"
    echo "$serial" >"$db/serial"
    echo 01 >"$db/crlnumber"
    {
        cat <<EOF
# openssl ca config for $name (synthetic test PKI), generated by $prog
[ ca ]
default_ca = CA_default

[ CA_default ]
dir              = $(cnfval "$db")
database         = \$dir/index.txt
new_certs_dir    = \$dir/newcerts
serial           = \$dir/serial
crlnumber        = \$dir/crlnumber
certificate      = $(cnfval "$OUT/$cert")
private_key      = $(cnfval "$OUT/$key")
default_md       = sha256
default_days     = 365
default_crl_days = 1
policy           = policy_any
preserve         = yes
unique_subject   = no
email_in_dn      = no
copy_extensions  = none
crl_extensions   = crl_ext

[ policy_any ]
countryName            = optional
localityName           = optional
organizationName       = optional
organizationalUnitName = optional
commonName             = optional
EOF
        write_ext_sections
    } >"work/$name.cnf"
}

# CA name         cert file          key file       first serial
mkca ministry-ca  ministry-ca.pem    ministry-ca.key  1001
mkca gpki-bca     gpki-bca-self.pem  gpki-bca.key     2001
mkca jpki-bca     jpki-bca-self.pem  jpki-bca.key     3001
mkca pref-ca      pref-ca-self.pem   pref-ca.key      4001
mkca pref-ca2     pref-ca2-self.pem  pref-ca2.key     5001
mkca rogue-ca     rogue-ca.pem       rogue-ca.key     6001

# -------------------------------------------------------------------- keys ---
# One key per role, generated in parallel (RSA keygen dominates run time).
RSA_KEYS=(ministry-ca gpki-bca jpki-bca pref-ca pref-ca2 rogue-ca
          citizen-rsa citizen-gen2 citizen-expired citizen-notyet citizen-badku
          citizen-otherpol citizen-url citizen-revoked citizen-moved citizen-noname
          ocsp-responder ocsp-unauthorised rogue-citizen)
pids=()
for k in "${RSA_KEYS[@]}"; do
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$k.key" 2>"work/$k.keygen.log" &
    pids+=($!)
done
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out citizen-legacy.key 2>work/citizen-legacy.keygen.log &
pids+=($!)
for k in citizen-ec citizen-pcons; do
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -pkeyopt ec_param_enc:named_curve \
        -out "$k.key" 2>"work/$k.keygen.log" &
    pids+=($!)
done
for p in "${pids[@]}"; do
    wait "$p" || { cat work/*.keygen.log >&2; die "key generation failed"; }
done
rm -f work/*.keygen.log

# ------------------------------------------------------------ certificates ---
# csr KEYBASE SUBJ -> work/KEYBASE.csr
csr() {
    run openssl req -new -config work/req.cnf -utf8 -key "$1.key" -subj "$2" -out "work/$1.csr"
}
# selfsign CA KEYBASE OUTCERT START END
selfsign() {
    run openssl ca -config "work/$1.cnf" -batch -notext -utf8 -selfsign -keyfile "$2.key" \
        -startdate "$4" -enddate "$5" -extensions v3_ca -in "work/$2.csr" -out "$3"
}
# issue CA CACERT CAKEY CSRBASE OUTCERT EXT START END [MD]
issue() {
    run openssl ca -config "work/$1.cnf" -batch -notext -utf8 -cert "$2" -keyfile "$3" \
        -md "${9:-sha256}" -startdate "$7" -enddate "$8" -extensions "$6" \
        -in "work/$4.csr" -out "$5"
}

csr ministry-ca "$DN_MINISTRY"
csr gpki-bca    "$DN_GPKI"
csr jpki-bca    "$DN_JPKI"
csr pref-ca     "$DN_PREF"
csr pref-ca2    "$DN_PREF"          # generation 2: same DN, new key
csr rogue-ca    "$DN_ROGUE"

selfsign ministry-ca ministry-ca ministry-ca.pem   "$CA_START" "$CA_END"
selfsign gpki-bca    gpki-bca    gpki-bca-self.pem "$CA_START" "$CA_END"
selfsign jpki-bca    jpki-bca    jpki-bca-self.pem "$CA_START" "$CA_END"
selfsign pref-ca     pref-ca     pref-ca-self.pem  "$CA_START" "$CA_END"
selfsign pref-ca2    pref-ca2    pref-ca2-self.pem "$CA_START" "$CA_END"
selfsign rogue-ca    rogue-ca    rogue-ca.pem      "$CA_START" "$CA_END"

issue ministry-ca ministry-ca.pem   ministry-ca.key gpki-bca cross-ministry-to-gpki.pem v3_ca "$CA_START" "$CA_END"
issue gpki-bca    gpki-bca-self.pem gpki-bca.key    jpki-bca cross-gpki-to-jpki.pem     v3_ca "$CA_START" "$CA_END"
issue jpki-bca    jpki-bca-self.pem jpki-bca.key    pref-ca  cross-jpki-to-pref.pem     v3_ca "$CA_START" "$CA_END"
issue jpki-bca    jpki-bca-self.pem jpki-bca.key    pref-ca2 cross-jpki-to-pref2.pem    v3_ca "$CA_START" "$CA_END"

# citizen NAME CN EXT START END [CA] [MD]  (CA: pref-ca | pref-ca2 | rogue-ca)
citizen() {
    local name=$1 cn=$2 ext=$3 start=$4 end=$5 ca=${6:-pref-ca} md=${7:-sha256} cacert
    case $ca in
        pref-ca)  cacert=pref-ca-self.pem ;;
        pref-ca2) cacert=pref-ca2-self.pem ;;
        rogue-ca) cacert=rogue-ca.pem ;;
        *) die "unknown CA $ca" ;;
    esac
    csr "$name" "$(citizen_dn "$cn")"
    issue "$ca" "$cacert" "$ca.key" "$name" "$name.pem" "$ext" "$start" "$end" "$md"
}

citizen citizen-rsa      SYNTH0001 usr_sign     "$EE_START"  "$EE_END"
citizen citizen-ec       SYNTH0002 usr_sign     "$EE_START"  "$EE_END"
citizen citizen-gen2     SYNTH0003 usr_sign     "$EE_START"  "$EE_END"  pref-ca2
citizen citizen-expired  SYNTH0004 usr_sign     "$EXP_START" "$EXP_END"
citizen citizen-notyet   SYNTH0005 usr_sign     "$NYT_START" "$NYT_END"
citizen citizen-badku    SYNTH0006 usr_badku    "$EE_START"  "$EE_END"
citizen citizen-otherpol SYNTH0007 usr_otherpol "$EE_START"  "$EE_END"
citizen citizen-legacy   SYNTH0008 usr_sign     "$EE_START"  "$EE_END"  pref-ca  sha1
citizen citizen-url      SYNTH0009 usr_sign_url "$EE_START"  "$EE_END"
citizen citizen-revoked  SYNTH0010 usr_sign     "$EE_START"  "$EE_END"
citizen citizen-moved    SYNTH0011 usr_sign     "$EE_START"  "$EE_END"
citizen citizen-noname   SYNTH0012 usr_noname   "$EE_START"  "$EE_END"
citizen citizen-pcons    SYNTH0013 usr_pcons    "$EE_START"  "$EE_END"
citizen rogue-citizen    SYNTH9999 usr_rogue    "$EE_START"  "$EE_END"  rogue-ca

csr ocsp-responder    "$DN_OCSP"
csr ocsp-unauthorised "$DN_OCSP_BAD"
issue pref-ca pref-ca-self.pem pref-ca.key ocsp-responder    ocsp-responder.pem    ocsp_resp   "$EE_START" "$EE_END"
issue pref-ca pref-ca-self.pem pref-ca.key ocsp-unauthorised ocsp-unauthorised.pem ocsp_unauth "$EE_START" "$EE_END"

rm -f work/*.csr

# Trust anchor and the untrusted pool (self-signed bridge/prefecture certs are
# dead-end candidates for path builders).  The rogue CA is deliberately absent.
cp ministry-ca.pem anchors/ministry-ca.pem
for f in gpki-bca-self cross-ministry-to-gpki jpki-bca-self cross-gpki-to-jpki \
         pref-ca-self cross-jpki-to-pref pref-ca2-self cross-jpki-to-pref2; do
    cp "$f.pem" "intermediates/$f.pem"
done
# Bundles of the cross certificates of one path (for -untrusted / -certfile).
cat cross-ministry-to-gpki.pem cross-gpki-to-jpki.pem cross-jpki-to-pref.pem  >chain-gen1.pem
cat cross-ministry-to-gpki.pem cross-gpki-to-jpki.pem cross-jpki-to-pref2.pem >chain-gen2.pem

# -------------------------------------------------------- revocation, CRLs ---
# gencrl CA CACERT CAKEY OUT LAST NEXT
gencrl() {
    run openssl ca -config "work/$1.cnf" -batch -utf8 -gencrl -cert "$2" -keyfile "$3" \
        -crl_lastupdate "$5" -crl_nextupdate "$6" -out "$4"
    run openssl crl -in "$4" -outform DER -out "$4.der"
}
# Stale CRL first (lower crlNumber; issued "before" the revocations, so empty).
gencrl pref-ca pref-ca-self.pem pref-ca.key pref-ca-stale.crl "$STALE_LAST" "$STALE_NEXT"

run openssl ca -config work/pref-ca.cnf -batch -utf8 -cert pref-ca-self.pem -keyfile pref-ca.key \
    -revoke citizen-revoked.pem -crl_reason keyCompromise
run openssl ca -config work/pref-ca.cnf -batch -utf8 -cert pref-ca-self.pem -keyfile pref-ca.key \
    -revoke citizen-moved.pem -crl_reason affiliationChanged

gencrl pref-ca     pref-ca-self.pem  pref-ca.key     pref-ca.crl     "$CRL_LAST" "$CRL_NEXT"
gencrl pref-ca2    pref-ca2-self.pem pref-ca2.key    pref-ca2.crl    "$CRL_LAST" "$CRL_NEXT"
gencrl ministry-ca ministry-ca.pem   ministry-ca.key ministry-ca.crl "$CRL_LAST" "$CRL_NEXT"
gencrl gpki-bca    gpki-bca-self.pem gpki-bca.key    gpki-bca.crl    "$CRL_LAST" "$CRL_NEXT"
gencrl jpki-bca    jpki-bca-self.pem jpki-bca.key    jpki-bca.crl    "$CRL_LAST" "$CRL_NEXT"

# ---------------------------------------------------------- demo values file ---
{
    echo "name=$V_NAME"
    echo "name_flags=$V_NAME_FLAGS"
    echo "sex=$V_SEX"
    echo "birth=$V_BIRTH"
    echo "address=$V_ADDR"
    echo "address_flags=$V_ADDR_FLAGS"
    echo "cn.citizen-rsa=SYNTH0001"
    echo "cn.citizen-ec=SYNTH0002"
    echo "cn.citizen-gen2=SYNTH0003"
    echo "cn.citizen-expired=SYNTH0004"
    echo "cn.citizen-notyet=SYNTH0005"
    echo "cn.citizen-badku=SYNTH0006"
    echo "cn.citizen-otherpol=SYNTH0007"
    echo "cn.citizen-legacy=SYNTH0008"
    echo "cn.citizen-url=SYNTH0009"
    echo "cn.citizen-revoked=SYNTH0010"
    echo "cn.citizen-moved=SYNTH0011"
    echo "cn.citizen-noname=SYNTH0012"
    echo "cn.citizen-pcons=SYNTH0013"
    echo "cn.rogue-citizen=SYNTH9999"
    echo "ocsp_url=$OCSP_URL"
    echo "crl_url=$CRL_URL"
    echo "rogue_ocsp_url=$ROGUE_OCSP_URL"
    echo "rogue_crl_url=$ROGUE_CRL_URL"
} >citizen-values.txt

# ------------------------------------------------------------------ doc.txt ---
{
    printf 'SYNTHETIC TEST FILING -- NOT A REAL DOCUMENT\n'
    printf 'Form: Synthetic Application for Test Purposes (form code SYN-0001)\n'
    printf 'Filer id: SYNTH0001\n'
    printf 'Submitted to: Ministry of Synthetic Affairs (synthetic test)\n'
    printf 'Fiscal year: 2099\n'
    printf 'Declared amount: 1234567 JPY\n\n'
    i=1
    while ((i <= 60)); do
        printf 'Line %03d: This line is synthetic filler text for signature tests.\n' "$i"
        i=$((i + 1))
    done
} >doc.txt
# Not `| head -c 2047`: head exits after 2047 bytes and the writer, still
# printing, dies of SIGPIPE, which pipefail turns into exit 141 at random.
truncate -s 2047 doc.txt
printf '\n' >>doc.txt
[[ $(stat -c %s doc.txt) -eq 2048 ]] || die "doc.txt is not 2048 bytes"

# flip_byte FILE OFFSET: XOR one byte with 0x01 in place.
flip_byte() {
    local f=$1 off=$2 b
    b=$(od -An -tu1 -j "$off" -N1 -- "$f" | tr -d ' \n')
    [[ -n $b ]] || die "flip_byte: offset $off beyond end of $f"
    printf '%b' "\\x$(printf '%02x' $((b ^ 1)))" | dd of="$f" bs=1 seek="$off" count=1 conv=notrunc status=none
}

# The tampered text: the first digit of "1234567" becomes "0".
cp doc.txt doc-tampered.txt
pre=$(head -n 6 doc.txt | head -c 1000)
pre=${pre%%1234567*}
flip_byte doc-tampered.txt "${#pre}"
cmp -s doc.txt doc-tampered.txt && die "doc-tampered.txt equals doc.txt"

# ---------------------------------------------------------------- signatures ---
# sign OUT SIGNERBASE MD [extra cms args...]  (attached, DER, signer cert only)
sign() {
    local out=$1 who=$2 md=$3
    shift 3
    run openssl cms -sign -binary -nodetach -md "$md" -in doc.txt \
        -signer "$who.pem" -inkey "$who.key" -outform DER -out "$out" "$@"
}
sign sig-attached-rsa.p7m      citizen-rsa sha256
sign sig-attached-ec.p7m       citizen-ec sha256
sign sig-attached-gen2.p7m     citizen-gen2 sha256
sign sig-attached-expired.p7m  citizen-expired sha256
sign sig-attached-notyet.p7m   citizen-notyet sha256
sign sig-attached-badku.p7m    citizen-badku sha256
sign sig-attached-otherpol.p7m citizen-otherpol sha256
sign sig-attached-legacy.p7m   citizen-legacy sha1
sign sig-attached-revoked.p7m  citizen-revoked sha256
sign sig-attached-moved.p7m    citizen-moved sha256
sign sig-attached-url.p7m      citizen-url sha256
sign sig-attached-noname.p7m   citizen-noname sha256
sign sig-attached-pcons.p7m    citizen-pcons sha256
sign sig-attached-rogue.p7m    rogue-citizen sha256
sign sig-two-signers.p7m       citizen-rsa sha256 -signer citizen-ec.pem -inkey citizen-ec.key
cat chain-gen1.pem ministry-ca.pem >work/chain-with-root.pem
sign sig-with-chain.p7m        citizen-rsa sha256 -certfile work/chain-with-root.pem
sign sig-rogue-with-root.p7m   rogue-citizen sha256 -certfile rogue-ca.pem
rm -f work/chain-with-root.pem

run openssl cms -sign -binary -md sha256 -in doc.txt -signer citizen-rsa.pem -inkey citizen-rsa.key \
    -outform DER -out sig-detached-rsa.p7s

run openssl cms -cmsout -in sig-attached-rsa.p7m -inform DER -outform PEM -out sig-attached-rsa.pem
base64 -w 0 sig-attached-rsa.p7m >sig-attached-rsa.b64     # no armor, no line breaks, no final newline

run openssl crl2pkcs7 -nocrl -certfile citizen-rsa.pem -outform DER -out certs-only.p7b

# Tampered signature value: the last byte of the DER is the last byte of the
# signer's signature (no unsigned attributes, no CRLs) -- check that first.
size=$(stat -c %s sig-attached-rsa.p7m)
last=''
while IFS= read -r line; do last=$line; done < <(openssl asn1parse -inform DER -in sig-attached-rsa.p7m)
re='^ *([0-9]+):d=[0-9]+ +hl=([0-9]+) +l= *([0-9]+) +prim: +OCTET STRING'
[[ $last =~ $re ]] || die "unexpected last ASN.1 element in sig-attached-rsa.p7m: $last"
(( BASH_REMATCH[1] + BASH_REMATCH[2] + BASH_REMATCH[3] == size )) \
    || die "signature value does not end the DER of sig-attached-rsa.p7m"
cp sig-attached-rsa.p7m sig-attached-tampered-sig.p7m
flip_byte sig-attached-tampered-sig.p7m $((size - 1))

# Tampered content: find the encapsulated content (a primitive OCTET STRING of
# exactly doc.txt's length) and flip a byte inside it.
doclen=$(stat -c %s doc.txt)
coff=''
while IFS= read -r line; do
    if [[ $line =~ $re ]] && (( BASH_REMATCH[3] == doclen )); then
        coff=$((BASH_REMATCH[1] + BASH_REMATCH[2])); break
    fi
done < <(openssl asn1parse -inform DER -in sig-attached-rsa.p7m)
[[ -n $coff ]] || die "could not find the encapsulated content in sig-attached-rsa.p7m"
cmp -s <(dd if=sig-attached-rsa.p7m bs=1 skip="$coff" count="$doclen" status=none) doc.txt \
    || die "encapsulated content at offset $coff does not match doc.txt"
cp sig-attached-rsa.p7m sig-attached-tampered-content.p7m
flip_byte sig-attached-tampered-content.p7m $((coff + 100))

# ---------------------------------------------------------------- self-check ---
# must_fail DESC CMD...: CMD must fail; its combined output is left in $LOG.
must_fail() {
    local desc=$1; shift
    if "$@" >"$LOG" 2>&1; then die "self-check: $desc unexpectedly succeeded"; fi
}
POL=1.2.392.200149.8.5.1.1.20
run openssl verify -x509_strict -policy_check -explicit_policy -policy "$POL" \
    -CAfile anchors/ministry-ca.pem -untrusted chain-gen1.pem citizen-rsa.pem
run openssl verify -x509_strict -policy_check -explicit_policy -policy "$POL" \
    -CAfile anchors/ministry-ca.pem -untrusted chain-gen2.pem citizen-gen2.pem
# OpenSSL 3.0's CMS_verify() uses -certfile only to find signer certificates,
# not as untrusted intermediates (that came with openssl/openssl PR #18916, in
# a later release), so with only the signer embedded, `-certfile chain-gen1.pem`
# fails with "unable to get local issuer certificate".  Put the cross certs in
# the store next to the anchor instead: without -partial_chain the chain must
# still end at the self-signed Ministry CA, so this checks the same path.
cat anchors/ministry-ca.pem chain-gen1.pem >work/selfcheck-store.pem
run openssl cms -verify -CAfile work/selfcheck-store.pem -certfile chain-gen1.pem -purpose any \
    -in sig-attached-rsa.p7m -inform DER -out /dev/null
run openssl cms -verify -CAfile work/selfcheck-store.pem -purpose any \
    -in sig-detached-rsa.p7s -inform DER -content doc.txt -binary -out /dev/null
rm -f work/selfcheck-store.pem
# The embedded chain alone is enough for sig-with-chain.p7m.
run openssl cms -verify -CAfile anchors/ministry-ca.pem -purpose any \
    -in sig-with-chain.p7m -inform DER -out /dev/null
must_fail "detached signature over doc-tampered.txt" \
    openssl cms -verify -noverify -in sig-detached-rsa.p7s -inform DER -content doc-tampered.txt -binary -out /dev/null
# Tampered signature value: the signature check itself fails (CMS_SignerInfo_verify).
must_fail "sig-attached-tampered-sig.p7m" \
    openssl cms -verify -noverify -in sig-attached-tampered-sig.p7m -inform DER -out /dev/null
[[ $(<"$LOG") == *CMS_SignerInfo_verify:* ]] \
    || { cat "$LOG" >&2; die "self-check: tampered signature did not fail in the signature check"; }
# Tampered content: the signature over the signed attributes is fine, the
# messageDigest attribute does not match ("content verify error" in 3.0).
must_fail "sig-attached-tampered-content.p7m" \
    openssl cms -verify -noverify -in sig-attached-tampered-content.p7m -inform DER -out /dev/null
[[ $(<"$LOG") == *"content verify error"* && $(<"$LOG") != *CMS_SignerInfo_verify:* ]] \
    || { cat "$LOG" >&2; die "self-check: tampered content did not fail with a digest (content) error"; }
# subjectAltName must be exactly the six otherNames, in order .1 .4 .3 .5 .2 .6,
# each [0] { OID, [0] EXPLICIT UTF8String } with the values UTF-8 encoded once.
tlv() {   # tlv TAGHEX VALUEHEX -> DER TLV in hex (lengths < 65536)
    local n=$((${#2} / 2))
    if ((n < 128)); then printf '%s%02x%s' "$1" "$n" "$2"
    elif ((n < 256)); then printf '%s81%02x%s' "$1" "$n" "$2"
    else printf '%s82%04x%s' "$1" "$n" "$2"; fi
}
hexof() { printf '%s' "$1" | od -An -tx1 -v | tr -d ' \n'; }
want=''
for item in "1=$V_NAME" "4=$V_BIRTH" "3=$V_SEX" "5=$V_ADDR" "2=$V_NAME_FLAGS" "6=$V_ADDR_FLAGS"; do
    oid=$(tlv 06 "2a83088c9b550805050$(printf '%x' "${item%%=*}")")
    want+=$(tlv a0 "$oid$(tlv a0 "$(tlv 0c "$(hexof "${item#*=}")")")")
done
want=$(tlv 30 "$want")
for c in citizen-rsa citizen-ec citizen-gen2 citizen-url rogue-citizen; do
    san_off='' prev=''
    while IFS= read -r line; do
        if [[ $prev == *'X509v3 Subject Alternative Name'* ]]; then san_off=${line%%:*}; break; fi
        prev=$line
    done < <(openssl asn1parse -in "$c.pem")
    [[ -n $san_off ]] || die "self-check: no subjectAltName in $c.pem"
    run openssl asn1parse -in "$c.pem" -strparse "${san_off// /}" -noout -out work/san.der
    [[ $(od -An -tx1 -v work/san.der | tr -d ' \n') == "$want" ]] \
        || die "self-check: subjectAltName of $c.pem is not the expected DER"
done
rm -f work/san.der
# The rogue citizen must not chain to the anchor.
must_fail "rogue-citizen.pem chaining to the anchor" \
    openssl verify -CAfile anchors/ministry-ca.pem -untrusted rogue-ca.pem rogue-citizen.pem
# The OCSP index must know the two revocations.
n=0
while IFS=$'\t' read -r st _; do
    [[ $st == R ]] && n=$((n + 1))
done <pref-ca-db/index.txt
((n == 2)) || die "self-check: expected 2 revoked entries in pref-ca-db/index.txt, found $n"
rm -f "$LOG"

# ============================================================================
# Issue #18, CMS (items 4-7 and several signers): attack inputs and their
# controls, for tests/test_verify.c and tests/test_cli.sh.  Other blocks may
# follow; this one only adds files.
# ============================================================================
ISS_RE='^ *([0-9]+):d=[0-9]+ +hl=([0-9]+) +l= *([0-9]+) +prim: +OCTET STRING'
# econtent_off P7M LEN: offset of the encapsulated content (the first
# primitive OCTET STRING of exactly LEN bytes).
econtent_off() {
    local line
    while IFS= read -r line; do
        if [[ $line =~ $ISS_RE ]] && (( BASH_REMATCH[3] == $2 )); then
            echo $((BASH_REMATCH[1] + BASH_REMATCH[2])); return
        fi
    done < <(openssl asn1parse -inform DER -in "$1")
    die "no encapsulated content of $2 bytes in $1"
}

# --- 4. multipart/signed around an ATTACHED signature.  OpenSSL hands the
# first MIME part over in canonical form (CRLF line ends, the one before the
# boundary dropped), so the signed text is written in that form.
printf 'SYNTHETIC TEST FILING -- NOT A REAL DOCUMENT\r\nFiler id: SYNTH0001\r\nDeclared amount: 1234567 JPY' \
    >smime-doc.txt
run openssl cms -sign -binary -nodetach -md sha256 -in smime-doc.txt -signer citizen-rsa.pem \
    -inkey citizen-rsa.key -outform DER -out sig-smime-attached.p7m
run openssl cms -sign -binary -md sha256 -in smime-doc.txt -signer citizen-rsa.pem \
    -inkey citizen-rsa.key -outform DER -out work/smime-detached.p7s
# The eContent's amount changed (1234567 -> 0234567): HASH_FAILURE alone.
slen=$(stat -c %s smime-doc.txt)
pre=$(<smime-doc.txt)
pre=${pre%%1234567*}
off=$(econtent_off sig-smime-attached.p7m "$slen")
cp sig-smime-attached.p7m sig-smime-attached-tampered.p7m
flip_byte sig-smime-attached-tampered.p7m $((off + ${#pre}))
# smime_wrap FIRSTPART P7 OUT: RFC 8551 3.5 multipart/signed.
smime_wrap() {
    local b='----=_kensho_synthetic_boundary'
    {
        printf 'MIME-Version: 1.0\r\n'
        printf 'Content-Type: multipart/signed; protocol="application/pkcs7-signature"; micalg=sha-256;'
        printf ' boundary="%s"\r\n\r\n' "$b"
        printf 'This is an S/MIME signed message\r\n\r\n--%s\r\n' "$b"
        cat -- "$1"
        printf '\r\n--%s\r\n' "$b"
        printf 'Content-Type: application/pkcs7-signature; name="smime.p7s"\r\n'
        printf 'Content-Transfer-Encoding: base64\r\n'
        printf 'Content-Disposition: attachment; filename="smime.p7s"\r\n\r\n'
        base64 -w 64 -- "$2" | sed 's/$/\r/'
        printf '\r\n--%s--\r\n' "$b"
    } >"$3"
}
smime_wrap smime-doc.txt work/smime-detached.p7s smime-detached.eml            # control: valid
smime_wrap smime-doc.txt sig-smime-attached.p7m smime-wrapped-attached.eml     # refused
smime_wrap smime-doc.txt sig-smime-attached-tampered.p7m smime-wrapped-tampered.eml  # the attack
rm -f work/smime-detached.p7s
run openssl cms -verify -noverify -in smime-detached.eml -out /dev/null
must_fail "sig-smime-attached-tampered.p7m" \
    openssl cms -verify -noverify -binary -in sig-smime-attached-tampered.p7m -inform DER -out /dev/null

# --- 5. A second certificate for citizen-rsa's key, under another name and
# address (same key, so the same subjectKeyIdentifier).
cat >work/iss18-ext.cnf <<EOF
[ usr_sign_other ]
keyUsage               = critical, digitalSignature, nonRepudiation
certificatePolicies    = critical, 1.2.392.200149.8.5.1.1.20
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always
crlDistributionPoints  = @cdp_dir
subjectAltName         = @san_other
[ usr_eku_email ]
keyUsage               = critical, digitalSignature, nonRepudiation
extendedKeyUsage       = emailProtection
certificatePolicies    = critical, 1.2.392.200149.8.5.1.1.20
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always
crlDistributionPoints  = @cdp_dir
[ usr_eku_docsign ]
keyUsage               = critical, digitalSignature, nonRepudiation
extendedKeyUsage       = 1.3.6.1.5.5.7.3.36
certificatePolicies    = critical, 1.2.392.200149.8.5.1.1.20
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always
crlDistributionPoints  = @cdp_dir
[ usr_eku_adobe ]
keyUsage               = critical, digitalSignature, nonRepudiation
extendedKeyUsage       = 1.2.840.113583.1.1.5
certificatePolicies    = critical, 1.2.392.200149.8.5.1.1.20
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always
crlDistributionPoints  = @cdp_dir
[ usr_eku_server ]
keyUsage               = critical, digitalSignature, nonRepudiation
extendedKeyUsage       = serverAuth, clientAuth
certificatePolicies    = critical, 1.2.392.200149.8.5.1.1.20
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always
crlDistributionPoints  = @cdp_dir
[ san_other ]
otherName.1 = 1.2.392.200149.8.5.5.1;FORMAT:UTF8,UTF8:偽名　次郎
otherName.2 = 1.2.392.200149.8.5.5.4;FORMAT:UTF8,UTF8:319700102
otherName.3 = 1.2.392.200149.8.5.5.3;FORMAT:UTF8,UTF8:1
otherName.4 = 1.2.392.200149.8.5.5.5;FORMAT:UTF8,UTF8:東京都千代田区
otherName.5 = 1.2.392.200149.8.5.5.2;FORMAT:UTF8,UTF8:00000
otherName.6 = 1.2.392.200149.8.5.5.6;FORMAT:UTF8,UTF8:0000000
[ cdp_dir ]
dirName.1 = cdp_dn
[ cdp_dn ]
C    = JP
O    = Synthetic Test JPKI
1.OU = CRL Distribution Point
2.OU = Matsumoto-shi
EOF
# iss18_issue KEYBASE SUBJ EXT OUT: issued by pref-ca with work/iss18-ext.cnf.
iss18_issue() {
    run openssl req -new -config work/req.cnf -utf8 -key "$1.key" -subj "$2" -out work/iss18.csr
    run openssl ca -config work/pref-ca.cnf -batch -notext -utf8 -cert pref-ca-self.pem -keyfile pref-ca.key \
        -md sha256 -startdate "$EE_START" -enddate "$EE_END" -extfile work/iss18-ext.cnf -extensions "$3" \
        -in work/iss18.csr -out "$4"
    rm -f work/iss18.csr
}
iss18_issue citizen-rsa '/C=JP/L=Tokyo-to/CN=SYNTH0101' usr_sign_other citizen-rsa-other.pem
# sign_cades OUT MD [args]: attached, signingCertificate(V2) naming citizen-rsa.pem.
sign_cades() {
    local out=$1 md=$2
    shift 2
    run openssl cms -sign -cades -binary -nodetach -md "$md" -in doc.txt -signer citizen-rsa.pem \
        -inkey citizen-rsa.key -outform DER -out "$out" "$@"
}
sign_cades sig-cades.p7m sha256                                             # control: bound
# The attack: signer identified by key identifier, only the other
# certificate embedded (openssl cms -verify -cades: "ess cert id not found").
sign_cades sig-ess-other-only.p7m sha256 -keyid -nocerts -certfile citizen-rsa-other.pem
sign_cades sig-ess-v1-other-only.p7m sha1 -keyid -nocerts -certfile citizen-rsa-other.pem  # ESS v1
# Both embedded: the bound one must be used, whichever comes first.
sign_cades sig-ess-both.p7m sha256 -keyid -certfile citizen-rsa-other.pem

# --- 6. Extended key usage.  EC keys (fast); the OCSP responder's key signs too.
for k in citizen-eku-email citizen-eku-docsign citizen-eku-adobe citizen-eku-server; do
    run openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -pkeyopt ec_param_enc:named_curve \
        -out "$k.key"
done
iss18_issue citizen-eku-email   "$(citizen_dn SYNTH0102)" usr_eku_email   citizen-eku-email.pem
iss18_issue citizen-eku-docsign "$(citizen_dn SYNTH0103)" usr_eku_docsign citizen-eku-docsign.pem
iss18_issue citizen-eku-adobe   "$(citizen_dn SYNTH0104)" usr_eku_adobe   citizen-eku-adobe.pem
iss18_issue citizen-eku-server  "$(citizen_dn SYNTH0105)" usr_eku_server  citizen-eku-server.pem
rm -f work/iss18-ext.cnf
sign sig-ocsp-signer.p7m      ocsp-responder sha256
sign sig-eku-email.p7m        citizen-eku-email sha256
sign sig-eku-docsign.p7m      citizen-eku-docsign sha256
sign sig-eku-adobe.p7m        citizen-eku-adobe sha256
sign sig-eku-server.p7m       citizen-eku-server sha256

# --- Several signers, one not passing (the SignerInfos are a DER SET OF,
# so their order is the encoding's; the test checks which comes first).
sign sig-two-signers-expired.p7m citizen-rsa sha256 -signer citizen-expired.pem -inkey citizen-expired.key
sign sig-two-signers-badku.p7m   citizen-rsa sha256 -signer citizen-badku.pem -inkey citizen-badku.key
sign sig-three-signers.p7m       citizen-rsa sha256 -signer citizen-badku.pem -inkey citizen-badku.key \
    -signer citizen-expired.pem -inkey citizen-expired.key
rm -f "$LOG"

# ============================================================================
# Issue #20, long-term validation: a time-stamping authority (RFC 3161) for
# tests/test_ltv.c and tests/test_cli.sh.  Its own CA, kept apart from the
# signing anchors (timestamp_anchors in the configuration), and a TSA under
# the rogue CA, which no configuration trusts.  This block only adds files.
# ============================================================================
cat >work/tsa-ext.cnf <<EOF
[ tsa_ca ]
basicConstraints       = critical, CA:TRUE
keyUsage               = critical, keyCertSign, cRLSign
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always
# RFC 3161 2.3: the one purpose, critical.
[ tsa ]
keyUsage               = critical, digitalSignature, nonRepudiation
extendedKeyUsage       = critical, timeStamping
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always
EOF
for k in tsa-ca tsa tsa-rogue tsa-old tsa-short tsa-revoked; do
    run openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -pkeyopt ec_param_enc:named_curve \
        -out "$k.key"
done
# Dates as the CAs have them (now-3y .. now+15y): a genTime may lie years back.
mkca tsa-ca tsa-ca.pem tsa-ca.key 7001
run openssl req -new -config work/req.cnf -utf8 -key tsa-ca.key \
    -subj '/C=JP/O=Synthetic Test TSA/CN=Synthetic Test TSA Root' -out work/tsa-ca.csr
run openssl ca -config work/tsa-ca.cnf -batch -notext -utf8 -selfsign -keyfile tsa-ca.key -startdate "$CA_START" \
    -enddate "$CA_END" -extfile work/tsa-ext.cnf -extensions tsa_ca -in work/tsa-ca.csr -out tsa-ca.pem
rm -f work/tsa-ca.csr
# tsa_issue CA CACERT KEYBASE CN EXT [START END]
tsa_issue() {
    run openssl req -new -config work/req.cnf -utf8 -key "$3.key" -subj "/C=JP/O=Synthetic Test TSA/CN=$4" \
        -out work/tsa.csr
    run openssl ca -config "work/$1.cnf" -batch -notext -utf8 -cert "$2" -keyfile "$1.key" -md sha256 \
        -startdate "${6:-$CA_START}" -enddate "${7:-$CA_END}" -extfile work/tsa-ext.cnf -extensions "$5" \
        -in work/tsa.csr -out "$3.pem"
    rm -f work/tsa.csr
}
tsa_issue tsa-ca   tsa-ca.pem   tsa         'Synthetic TSA 1'       tsa
tsa_issue rogue-ca rogue-ca.pem tsa-rogue   'Synthetic rogue TSA'   tsa
# A TSA whose certificate expired 100 days ago: its tokens prove something
# only under an archive timestamp made while it was valid (ES-A).
tsa_issue tsa-ca   tsa-ca.pem   tsa-old     'Synthetic TSA 0 (expired)' tsa "$CA_START" "$(at '100 days ago')"
# A TSA whose certificate ends with the citizens' (EE_END): its tokens
# verify later only at the time a newer timestamp proves (PDF B-LTA,
# tests/test_pdf.c).
tsa_issue tsa-ca   tsa-ca.pem   tsa-short   'Synthetic TSA 2 (short-lived)' tsa "$EE_START" "$EE_END"
# A TSA whose certificate its CA revoked (keyCompromise, now): its tokens
# prove nothing unless a newer timestamp made before the revocation covers
# them (tests/test_ltv.c, issue #20: revocation of TSA certificates).
tsa_issue tsa-ca   tsa-ca.pem   tsa-revoked 'Synthetic TSA 3 (revoked)' tsa
rm -f work/tsa-ext.cnf
run openssl ca -config work/tsa-ca.cnf -batch -utf8 -cert tsa-ca.pem -keyfile tsa-ca.key \
    -revoke tsa-revoked.pem -crl_reason keyCompromise
# tsa-ca.crl: the TSA certificates' status (configurations list it in
# "crls" beside the signing CAs' CRLs; with revocation "require" a TSA path
# without status proves nothing).
gencrl tsa-ca tsa-ca.pem tsa-ca.key tsa-ca.crl "$CRL_LAST" "$CRL_NEXT"
# `openssl ts -reply` as the TSA: a token over doc.txt (RFC 3161 2.4.2,
# with the TSA certificate: -cert), which OpenSSL itself verifies first.
cat >work/tsa.cnf <<EOF
[ tsa ]
default_tsa = tsa_config1
[ tsa_config1 ]
dir               = $(cnfval "$OUT")
serial            = \$dir/work/tsa-serial
crypto_device     = builtin
signer_cert       = \$dir/tsa.pem
certs             = \$dir/tsa-ca.pem
signer_key        = \$dir/tsa.key
signer_digest     = sha256
default_policy    = 1.2.392.200149.8.5.99.1
digests           = sha256, sha384, sha512
accuracy          = secs:1
ordering          = no
tsa_name          = yes
ess_cert_id_chain = no
ess_cert_id_alg   = sha256
EOF
echo 01 >work/tsa-serial
run openssl ts -query -data doc.txt -sha256 -cert -out work/doc.tsq
run openssl ts -reply -config work/tsa.cnf -queryfile work/doc.tsq -out work/doc.tsr
run openssl ts -reply -in work/doc.tsr -token_out -out ts-doc.tst
run openssl ts -verify -data doc.txt -in ts-doc.tst -token_in -CAfile tsa-ca.pem
must_fail "ts-doc.tst over doc-tampered.txt" \
    openssl ts -verify -data doc-tampered.txt -in ts-doc.tst -token_in -CAfile tsa-ca.pem
rm -f work/doc.tsq work/doc.tsr work/tsa-serial "$LOG"

T1=$(date +%s%N)
nfiles=$(find . -type f ! -name "$MARK" | wc -l)
printf '%s: %d files in %s (%d.%03d s); chain + policy + CMS self-check OK\n' \
    "$prog" "$nfiles" "$OUT" $(((T1 - T0) / 1000000000)) $((((T1 - T0) / 1000000) % 1000))
