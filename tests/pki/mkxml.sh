#!/usr/bin/env bash
# mkxml.sh PKIDIR -- XML Signature fixtures (e-Tax filings, e-Gov application
# packages) signed with the xmlsec1 command line from the test PKI that
# mkpki.sh built in PKIDIR.  Writes PKIDIR/xml/ (wiped and rebuilt each run).
# Needs bash, xmlsec1 (OpenSSL) and python3 (ZIP packages, text surgery).
#
# Everything here is SYNTHETIC TEST DATA: no real filing, person or office.
#
#   etax-*.xtx       e-Tax-like filings, enveloped signature over <DATA id="DATA">
#   egov/            an e-Gov-like package: kousei.xml (構成情報 + detached
#                    References to form1.xml and form2.pdf) and its files
#   egov-altered/    form1.xml changed after signing
#   egov-*.zip       the package as a ZIP, intact and broken in various ways
#   egov-wrap-*.xml  signature wrapping attempts
#   egov-c14n.xml    egov/kousei.xml with form1.xml canonicalized before digesting
#   xxe-*.xml, bomb-*.xml   DTD attacks (the verifier must refuse them unread)
#   xades-*.xtx      XAdES SigningCertificate(V2) bound, mismatched, unsigned;
#                    alias.pem: a second certificate for citizen-rsa's key
#   egov-xades/      the e-Gov package signed as XAdES by three citizens, for
#                    the long-term validation tests (tests/test_xades.c)
#   etax-two*.xtx    two signatures (taxpayer and tax accountant), one damaged
#   egov-nfc/, egov-nfd/, egov-nfc*.zip, egov-nfd*.zip  attachment names in
#                    NFC and NFD; egov-liar.zip: an entry lying about its size
# See tests/test_xml.c for what each one is expected to give.
set -euo pipefail

prog=${0##*/}
die() { echo "$prog: $*" >&2; exit 1; }
[[ $# -eq 1 && -d $1 ]] || die "usage: $prog PKIDIR (made by mkpki.sh)"
command -v xmlsec1 >/dev/null || die "xmlsec1 not found (apt-get install xmlsec1)"
command -v python3 >/dev/null || die "python3 not found"
P=$(cd -- "$1" && pwd -P)
[[ -f $P/.mkpki-outdir && -f $P/citizen-rsa.pem ]] || die "$P is not a PKI made by mkpki.sh"
X=$P/xml
rm -rf -- "$X"
mkdir -p "$X/work" "$X/egov" "$X/egov-altered"
cd -- "$X"
LOG=$X/work/last-command.log
run() {
    if ! "$@" >"$LOG" 2>&1; then
        echo "$prog: command failed: $*" >&2
        cat "$LOG" >&2
        exit 1
    fi
}

ETAX_NS=http://xml.e-tax.nta.go.jp/XSD/shotoku
C14N=http://www.w3.org/TR/2001/REC-xml-c14n-20010315
C14N_C=http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments
EXC=http://www.w3.org/2001/10/xml-exc-c14n#
ENV=http://www.w3.org/2000/09/xmldsig#enveloped-signature
RSA256=http://www.w3.org/2001/04/xmldsig-more#rsa-sha256
RSA1=http://www.w3.org/2000/09/xmldsig#rsa-sha1
ECDSA256=http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256
SHA1=http://www.w3.org/2000/09/xmldsig#sha1
SHA256=http://www.w3.org/2001/04/xmlenc#sha256
SHA384=http://www.w3.org/2001/04/xmldsig-more#sha384
SHA512=http://www.w3.org/2001/04/xmlenc#sha512
XADES=http://uri.etsi.org/01903/v1.3.2#

# ------------------------------------------------------------------ e-Tax ---
# etax_tmpl C14N SIGALG URI DIGEST KEYINFO [OBJECT]: an unsigned filing.
etax_tmpl() {
    local xref='' xobj=''
    if [[ -n ${6:-} ]]; then
        xref="
      <Reference URI=\"#SP\" Type=\"http://uri.etsi.org/01903#SignedProperties\">
        <Transforms><Transform Algorithm=\"$C14N\"/></Transforms>
        <DigestMethod Algorithm=\"$SHA256\"/>
        <DigestValue/>
      </Reference>"
        xobj="
    <Object>$6</Object>"
    fi
    cat <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<DATA xmlns="$ETAX_NS" id="DATA">
  <!-- SYNTHETIC TEST FILING: not a real tax return -->
  <SHINKOKU VR="1.0" id="SHINKOKU">
    <NOZEISHA_NM>合成　太郎</NOZEISHA_NM>
    <NENDO>令和7年分</NENDO>
    <SHOTOKU_KINGAKU>1234567</SHOTOKU_KINGAKU>
    <NOTE>synthetic &amp; fictitious</NOTE>
  </SHINKOKU>
  <Signature xmlns="http://www.w3.org/2000/09/xmldsig#" Id="ETAX-SIG">
    <SignedInfo>
      <CanonicalizationMethod Algorithm="$1"/>
      <SignatureMethod Algorithm="$2"/>
      <Reference URI="$3">
        <Transforms><Transform Algorithm="$ENV"/><Transform Algorithm="$1"/></Transforms>
        <DigestMethod Algorithm="$4"/>
        <DigestValue/>
      </Reference>$xref
    </SignedInfo>
    <SignatureValue/>
    <KeyInfo>$5</KeyInfo>$xobj
  </Signature>
</DATA>
EOF
}

# sign OUT TEMPLATE KEYSPEC [ID-ATTR-ARGS...]
sign() {
    local out=$1 tmpl=$2 keys=$3
    shift 3
    run xmlsec1 --sign --privkey-pem "$keys" "$@" --output "$out" "$tmpl"
}

# egov_sign DIR OUT TEMPLATE [WHO [XMLSEC1-ARGS...]]: an e-Gov package's
# signature over 構成情報 by WHO (default citizen-rsa); xmlsec1 runs in DIR,
# as it resolves the detached References relative to its working directory.
egov_sign() {
    local dir=$1 out=$2 tmpl=$3 who=${4:-citizen-rsa}
    shift 4 || shift 3
    (cd "$dir" && sign "$out" "$tmpl" "$P/$who.key,$P/$who.pem" --id-attr:ID 構成情報 "$@")
}

CERT_ONLY='<X509Data><X509Certificate/></X509Data>'
ALL_CERTS='<X509Data/>'
ETAX_ID=(--id-attr:id "$ETAX_NS:DATA")

etax() { # etax NAME CITIZEN C14N SIGALG URI DIGEST [KEYINFO]
    local name=$1 who=$2
    etax_tmpl "$3" "$4" "$5" "$6" "${7:-$CERT_ONLY}" >work/$name.tmpl
    sign "$name" work/$name.tmpl "$P/$who.key,$P/$who.pem" "${ETAX_ID[@]}"
}

etax etax-rsa.xtx citizen-rsa "$C14N" "$RSA256" "" "$SHA256"
etax etax-id.xtx citizen-rsa "$EXC" "$RSA256" "#DATA" "$SHA512"
etax etax-ec.xtx citizen-ec "$C14N_C" "$ECDSA256" "" "$SHA384"
etax etax-revoked.xtx citizen-revoked "$C14N" "$RSA256" "" "$SHA256"
etax etax-expired.xtx citizen-expired "$C14N" "$RSA256" "" "$SHA256"
etax etax-rogue.xtx rogue-citizen "$C14N" "$RSA256" "" "$SHA256"
etax etax-sha1.xtx citizen-rsa "$C14N" "$RSA1" "" "$SHA1"
etax etax-badku.xtx citizen-badku "$C14N" "$RSA256" "" "$SHA256"
etax etax-keyvalue.xtx citizen-rsa "$C14N" "$RSA256" "" "$SHA256" '<KeyValue/>'
# The signer plus the three cross certificates of its path, in KeyInfo.
etax_tmpl "$C14N" "$RSA256" "" "$SHA256" "$ALL_CERTS" >work/etax-chain.tmpl
sign etax-chain.xtx work/etax-chain.tmpl "$P/citizen-rsa.key,$P/citizen-rsa.pem,$P/cross-ministry-to-gpki.pem,$P/cross-gpki-to-jpki.pem,$P/cross-jpki-to-pref.pem" "${ETAX_ID[@]}"

# XAdES SigningTime inside a signed SignedProperties.
xades_obj() {
    printf '<xades:QualifyingProperties xmlns:xades="%s" Target="#ETAX-SIG"><xades:SignedProperties Id="SP"><xades:SignedSignatureProperties><xades:SigningTime>%s</xades:SigningTime></xades:SignedSignatureProperties></xades:SignedProperties></xades:QualifyingProperties>' "$XADES" "$1"
}
NOW_T=$(date -u '+%Y-%m-%dT%H:%M:%SZ')
XADES_ID=(--id-attr:id "$ETAX_NS:DATA" --id-attr:Id "$XADES:SignedProperties")
etax_tmpl "$C14N" "$RSA256" "" "$SHA256" "$CERT_ONLY" "$(xades_obj "$NOW_T")" >work/etax-xades.tmpl
sign etax-xades.xtx work/etax-xades.tmpl "$P/citizen-rsa.key,$P/citizen-rsa.pem" "${XADES_ID[@]}"
# An expired signer that claims to have signed now, after its notAfter.
etax_tmpl "$C14N" "$RSA256" "" "$SHA256" "$CERT_ONLY" "$(xades_obj "$NOW_T")" >work/etax-xades-expired.tmpl
sign etax-xades-expired.xtx work/etax-xades-expired.tmpl "$P/citizen-expired.key,$P/citizen-expired.pem" "${XADES_ID[@]}"

# XAdES SigningCertificate(V2) (ETSI EN 319 132-1 5.2.2): the signed
# property that binds the certificate to the signature.  alias.pem is a second
# certificate for citizen-rsa's key under another name, issued by the same CA
# (the binding attack: KeyInfo carries it while SigningCertificate names the
# real one).
run openssl req -new -config "$P/work/req.cnf" -utf8 -key "$P/citizen-rsa.key" \
    -subj '/C=JP/L=Nagano-ken/L=Matsumoto-shi/CN=SYNTH0001-ALIAS' -out work/alias.csr
run openssl x509 -req -in work/alias.csr -CA "$P/pref-ca-self.pem" -CAkey "$P/pref-ca.key" -set_serial 4999 \
    -days 365 -sha256 -extfile "$P/work/pref-ca.cnf" -extensions usr_sign -out alias.pem
# sigcert V1|V2 CERT [TWEAK]: the SigningCertificate element naming CERT.
# TWEAK: badserial (serial + 1), badissuer (another issuer name), spaced (the
# issuer name written with spaces and lower-case attribute types), hexcn (its
# CN as #hex BER, RFC 4514 2.4), escaped (escapes in it), sha1 (a SHA-1
# CertDigest), garbage (an IssuerSerialV2 that is not DER).
sigcert() {
    python3 - "$@" <<'PYEOF'
import base64, hashlib, sys
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
ver, pem, tweak = sys.argv[1], sys.argv[2], (sys.argv[3] if len(sys.argv) > 3 else "")
c = x509.load_pem_x509_certificate(open(pem, "rb").read())
alg = "sha1" if tweak == "sha1" else "sha256"
dig = base64.b64encode(hashlib.new(alg, c.public_bytes(Encoding.DER)).digest()).decode()
alg_uri = "http://www.w3.org/2000/09/xmldsig#sha1" if alg == "sha1" else "http://www.w3.org/2001/04/xmlenc#sha256"
serial = c.serial_number + (1 if tweak == "badserial" else 0)
def der(tag, body):
    n = len(body)
    if n < 128:
        return bytes([tag, n]) + body
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(b)]) + b + body
ds = 'xmlns:ds="http://www.w3.org/2000/09/xmldsig#"'
cd = ('<xades:CertDigest><ds:DigestMethod %s Algorithm="%s"/>'
      '<ds:DigestValue %s>%s</ds:DigestValue></xades:CertDigest>' % (ds, alg_uri, ds, dig))
if ver == "V2":
    # RFC 5035 IssuerSerial: SEQUENCE { GeneralNames { [4] directoryName }, serial }
    sb = serial.to_bytes((serial.bit_length() + 8) // 8, "big")
    iss = der(0x30, der(0xA4, c.issuer.public_bytes())) + der(0x02, sb)
    is2 = base64.b64encode(der(0x30, iss) if tweak != "garbage" else b"not DER at all").decode()
    print('<xades:SigningCertificateV2><xades:Cert>%s<xades:IssuerSerialV2>%s</xades:IssuerSerialV2>'
          '</xades:Cert></xades:SigningCertificateV2>' % (cd, is2), end="")
else:
    name = c.issuer.rfc4514_string()
    if tweak == "badissuer":
        name = "CN=Another CA,O=Synthetic Test JPKI,C=JP"
    if tweak == "hexcn":
        cn = c.issuer.rfc4514_string().split(",", 1)
        val = cn[0].split("=", 1)[1].encode()
        name = "CN=#" + der(0x0C, val).hex().upper() + "," + cn[1]
    if tweak == "escaped":  # "N" as \4E, a space as "\ " (RFC 4514 2.4)
        name = "CN=\\4Eagano\\ Prefecture" + name.split("Nagano Prefecture", 1)[1]
    if tweak == "spaced":
        name = ", ".join(p.split("=", 1)[0].lower() + " = " + p.split("=", 1)[1] for p in name.split(","))
    print('<xades:SigningCertificate><xades:Cert>%s<xades:IssuerSerial><ds:X509IssuerName %s>%s</ds:X509IssuerName>'
          '<ds:X509SerialNumber %s>%d</ds:X509SerialNumber></xades:IssuerSerial></xades:Cert>'
          '</xades:SigningCertificate>' % (cd, ds, name, ds, serial), end="")
PYEOF
}
# xades_sc NAME KEYCERT SIGCERT-ARGS...: an e-Tax filing with SigningTime and
# SigningCertificate(V2) in a signed SignedProperties, signed with
# citizen-rsa's key, KEYCERT in KeyInfo.
xades_sc() {
    local name=$1 keycert=$2 sp
    shift 2
    sp=$(printf '<xades:QualifyingProperties xmlns:xades="%s" Target="#ETAX-SIG"><xades:SignedProperties Id="SP"><xades:SignedSignatureProperties><xades:SigningTime>%s</xades:SigningTime>%s</xades:SignedSignatureProperties></xades:SignedProperties></xades:QualifyingProperties>' "$XADES" "$NOW_T" "$(sigcert "$@")")
    etax_tmpl "$C14N" "$RSA256" "" "$SHA256" "$CERT_ONLY" "$sp" >work/$name.tmpl
    sign "$name" work/$name.tmpl "$P/citizen-rsa.key,$keycert" "${XADES_ID[@]}"
}
xades_sc xades-v2.xtx "$P/citizen-rsa.pem" V2 "$P/citizen-rsa.pem"
xades_sc xades-v1.xtx "$P/citizen-rsa.pem" V1 "$P/citizen-rsa.pem"
xades_sc xades-v1-spaced.xtx "$P/citizen-rsa.pem" V1 "$P/citizen-rsa.pem" spaced
xades_sc xades-alias-v2.xtx "$X/alias.pem" V2 "$P/citizen-rsa.pem"
xades_sc xades-alias-v1.xtx "$X/alias.pem" V1 "$P/citizen-rsa.pem"
xades_sc xades-v2-badserial.xtx "$P/citizen-rsa.pem" V2 "$P/citizen-rsa.pem" badserial
xades_sc xades-v1-badserial.xtx "$P/citizen-rsa.pem" V1 "$P/citizen-rsa.pem" badserial
xades_sc xades-v1-badissuer.xtx "$P/citizen-rsa.pem" V1 "$P/citizen-rsa.pem" badissuer
xades_sc xades-v1-hexcn.xtx "$P/citizen-rsa.pem" V1 "$P/citizen-rsa.pem" hexcn
xades_sc xades-v1-escaped.xtx "$P/citizen-rsa.pem" V1 "$P/citizen-rsa.pem" escaped
xades_sc xades-v2-sha1.xtx "$P/citizen-rsa.pem" V2 "$P/citizen-rsa.pem" sha1
xades_sc xades-v2-garbage.xtx "$P/citizen-rsa.pem" V2 "$P/citizen-rsa.pem" garbage
# Both certificates for the key in KeyInfo, the alias first: the one the
# signed property names is the signer.
xades_sc xades-both.xtx "$X/alias.pem,$P/citizen-rsa.pem" V2 "$P/citizen-rsa.pem"
# SigningCertificateV2 naming the real certificate, alias in KeyInfo, and no
# Reference to SignedProperties: it binds nothing.
sp=$(printf '<xades:QualifyingProperties xmlns:xades="%s" Target="#ETAX-SIG"><xades:SignedProperties Id="SP"><xades:SignedSignatureProperties>%s</xades:SignedSignatureProperties></xades:SignedProperties></xades:QualifyingProperties>' "$XADES" "$(sigcert V2 "$P/citizen-rsa.pem")")
etax_tmpl "$C14N" "$RSA256" "" "$SHA256" "$CERT_ONLY" "$sp" | python3 -c '
import re, sys
s = sys.stdin.read()
print(re.sub(r"\s*<Reference URI=\"#SP\".*?</Reference>", "", s, count=1, flags=re.S), end="")' >work/xades-uncovered.tmpl
sign xades-uncovered.xtx work/xades-uncovered.tmpl "$P/citizen-rsa.key,$X/alias.pem" "${XADES_ID[@]}"

# Two signatures in one filing (a 税理士 signs next to the taxpayer): the
# taxpayer's over SHINKOKU, then the tax accountant's over the whole filing,
# the first signature included (enveloped: only its own Signature is left out).
two_tmpl() {
    cat <<TMPL
<?xml version="1.0" encoding="UTF-8"?>
<DATA xmlns="$ETAX_NS" id="DATA">
  <!-- SYNTHETIC TEST FILING: not a real tax return -->
  <SHINKOKU VR="1.0" id="SHINKOKU">
    <NOZEISHA_NM>合成　太郎</NOZEISHA_NM>
    <SHOTOKU_KINGAKU>1234567</SHOTOKU_KINGAKU>
  </SHINKOKU>
  <Signature xmlns="http://www.w3.org/2000/09/xmldsig#" Id="SIG-TAXPAYER">
    <SignedInfo>
      <CanonicalizationMethod Algorithm="$C14N"/>
      <SignatureMethod Algorithm="$RSA256"/>
      <Reference URI="#SHINKOKU">
        <Transforms><Transform Algorithm="$C14N"/></Transforms>
        <DigestMethod Algorithm="$SHA256"/>
        <DigestValue/>
      </Reference>
    </SignedInfo>
    <SignatureValue/>
    <KeyInfo>$CERT_ONLY</KeyInfo>
  </Signature>
  <Signature xmlns="http://www.w3.org/2000/09/xmldsig#" Id="SIG-ACCOUNTANT">
    <SignedInfo>
      <CanonicalizationMethod Algorithm="$C14N"/>
      <SignatureMethod Algorithm="$ECDSA256"/>
      <Reference URI="">
        <Transforms><Transform Algorithm="$ENV"/><Transform Algorithm="$C14N"/></Transforms>
        <DigestMethod Algorithm="$SHA256"/>
        <DigestValue/>
      </Reference>
    </SignedInfo>
    <SignatureValue/>
    <KeyInfo>$CERT_ONLY</KeyInfo>
  </Signature>
</DATA>
TMPL
}
two_tmpl >work/etax-two.tmpl
TWO_ID=(--id-attr:id "$ETAX_NS:DATA" --id-attr:id "$ETAX_NS:SHINKOKU" --id-attr:Id "http://www.w3.org/2000/09/xmldsig#:Signature")
sign work/etax-two.half work/etax-two.tmpl "$P/citizen-rsa.key,$P/citizen-rsa.pem" "${TWO_ID[@]}" --node-id SIG-TAXPAYER
sign etax-two.xtx work/etax-two.half "$P/citizen-ec.key,$P/citizen-ec.pem" "${TWO_ID[@]}" --node-id SIG-ACCOUNTANT

# ---------------------------------------------------------------- e-Gov ---
printf '<?xml version="1.0" encoding="UTF-8"?>\n<!-- SYNTHETIC TEST FORM -->\n<申請書 様式="form1"><申請者>合成　花子</申請者><住所>架空県架空市１－２－３</住所><申請内容>synthetic</申請内容></申請書>\n' >egov/form1.xml
{ printf '%%PDF-1.4\n%% SYNTHETIC TEST ATTACHMENT, not a real document\n'; head -c 4096 /dev/zero | tr '\0' 'x'; printf '\n%%%%EOF\n'; } >egov/form2.pdf
sed 's/synthetic/SYNTHETIC-CHANGED/' egov/form1.xml >egov-altered/form1.xml
cp egov/form2.pdf egov-altered/form2.pdf

cat >work/kousei.tmpl <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<構成>
  <!-- SYNTHETIC TEST PACKAGE: not a real application -->
  <構成情報 ID="構成情報">
    <手続ID>900A000000000001</手続ID>
    <申請書属性情報><申請書様式ID>form1</申請書様式ID><申請書ファイル名>form1.xml</申請書ファイル名></申請書属性情報>
    <添付書類属性情報><添付書類名称>添付資料</添付書類名称><添付書類ファイル名>form2.pdf</添付書類ファイル名></添付書類属性情報>
  </構成情報>
  <署名情報>
    <Signature xmlns="http://www.w3.org/2000/09/xmldsig#">
      <SignedInfo>
        <CanonicalizationMethod Algorithm="$C14N"/>
        <SignatureMethod Algorithm="$RSA256"/>
        <Reference URI="#構成情報">
          <Transforms><Transform Algorithm="$C14N"/></Transforms>
          <DigestMethod Algorithm="$SHA256"/>
          <DigestValue/>
        </Reference>
        <Reference URI="form1.xml"><DigestMethod Algorithm="$SHA256"/><DigestValue/></Reference>
        <Reference URI="form%32.pdf"><DigestMethod Algorithm="$SHA256"/><DigestValue/></Reference>
      </SignedInfo>
      <SignatureValue/>
      <KeyInfo>$CERT_ONLY</KeyInfo>
    </Signature>
  </署名情報>
</構成>
EOF
egov_sign egov kousei.xml ../work/kousei.tmpl

# The same package with the form1.xml Reference canonicalized before it is
# digested: a digest of the file cannot stand in for it (hash-only refused).
sed "s|<Reference URI=\"form1.xml\"><DigestMethod|<Reference URI=\"form1.xml\"><Transforms><Transform Algorithm=\"$C14N\"/></Transforms><DigestMethod|" \
    work/kousei.tmpl >work/kousei-c14n.tmpl
grep -q '"form1.xml"><Transforms>' work/kousei-c14n.tmpl || die "kousei-c14n.tmpl: no transform inserted"
egov_sign egov ../egov-c14n.xml ../work/kousei-c14n.tmpl

# Attachment names in Unicode NFC and NFD (ZIP tools on some systems store
# names in NFD).  egov-nfc/ signs a Reference naming "データ.xml" in NFC (raw
# UTF-8), egov-nfd/ one naming it in NFD, percent-encoded; each directory holds
# the file under the name its own Reference uses.
NFC_NAME=$(printf '\xe3\x83\x87\xe3\x83\xbc\xe3\x82\xbf.xml')
NFD_NAME=$(printf '\xe3\x83\x86\xe3\x82\x99\xe3\x83\xbc\xe3\x82\xbf.xml')
NFD_URI='%E3%83%86%E3%82%99%E3%83%BC%E3%82%BF.xml'
mkdir -p egov-nfc egov-nfd
cp egov/form1.xml "egov-nfc/$NFC_NAME"
cp egov/form1.xml "egov-nfd/$NFD_NAME"
nfc_tmpl() {
    cat <<TMPL
<?xml version="1.0" encoding="UTF-8"?>
<構成>
  <!-- SYNTHETIC TEST PACKAGE: not a real application -->
  <構成情報 ID="構成情報">
    <手続ID>900A000000000002</手続ID>
    <申請書属性情報><申請書様式ID>form1</申請書様式ID><申請書ファイル名>データ.xml</申請書ファイル名></申請書属性情報>
  </構成情報>
  <署名情報>
    <Signature xmlns="http://www.w3.org/2000/09/xmldsig#">
      <SignedInfo>
        <CanonicalizationMethod Algorithm="$C14N"/>
        <SignatureMethod Algorithm="$RSA256"/>
        <Reference URI="#構成情報">
          <Transforms><Transform Algorithm="$C14N"/></Transforms>
          <DigestMethod Algorithm="$SHA256"/>
          <DigestValue/>
        </Reference>
        <Reference URI="$1"><DigestMethod Algorithm="$SHA256"/><DigestValue/></Reference>
      </SignedInfo>
      <SignatureValue/>
      <KeyInfo>$CERT_ONLY</KeyInfo>
    </Signature>
  </署名情報>
</構成>
TMPL
}
nfc_tmpl "$NFC_NAME" >work/kousei-nfc.tmpl
nfc_tmpl "$NFD_URI" >work/kousei-nfd.tmpl
for f in nfc nfd; do
    egov_sign egov-$f kousei.xml ../work/kousei-$f.tmpl
done

# Text surgery on signed files (python3: byte-exact, UTF-8).
python3 - "$X" <<'PYEOF'
import os, re, sys, zipfile
X = sys.argv[1]
os.chdir(X)
def rd(p): return open(p, encoding="utf-8").read()
def wr(p, s): open(p, "w", encoding="utf-8").write(s)
def once(s, old, new):
    assert s.count(old) == 1, (old, s.count(old))
    return s.replace(old, new)

k = rd("egov/kousei.xml")
kousei_el = re.search(r"  <構成情報 ID=\"構成情報\">.*?</構成情報>\n", k, re.S).group(0)
fake = kousei_el.replace("900A000000000001", "900A999999999999").replace(' ID="構成情報"', "")

# 構成情報 changed after signing.
wr("egov/kousei-altered.xml", once(k, "<手続ID>900A000000000001", "<手続ID>900A000000000002"))
# Wrapping 1: the signed 構成情報 moved under 署名情報, an unsigned one in its place.
w = once(k, kousei_el, fake)
w = once(w, "  <署名情報>\n", "  <署名情報>\n  " + kousei_el.strip() + "\n")
wr("egov-wrap-moved.xml", w)
# Wrapping 2: a second element carrying the same ID, before the signed one.
wr("egov-wrap-dup.xml", once(k, kousei_el, fake.replace("<構成情報>", '<構成情報 ID="構成情報">') + kousei_el))
# Wrapping 3: an unsigned twin (no ID) next to the signed one.
wr("egov-wrap-twin.xml", once(k, kousei_el, kousei_el + fake))
# Detached References that are not plain file names (signature broken on
# purpose: they must be refused before any cryptography).
for name, uri in [("egov-ref-dotdot.xml", "../form1.xml"), ("egov-ref-abs.xml", "/etc/passwd"),
                  ("egov-ref-file.xml", "file:///etc/passwd"), ("egov-ref-subdir.xml", "sub/form1.xml"),
                  ("egov-ref-xpointer.xml", "#xpointer(id('構成情報'))")]:
    wr(name, once(k, 'URI="form1.xml"', 'URI="%s"' % uri.replace("'", "&apos;")))

# e-Tax wrapping: the signed DATA (Reference "#DATA") wrapped in a new DATA root.
e = rd("etax-id.xtx")
body = e.split("?>", 1)[1].strip()
wr("etax-wrap.xtx", '<?xml version="1.0" encoding="UTF-8"?>\n<DATA xmlns="http://xml.e-tax.nta.go.jp/XSD/shotoku">'
   '<SHINKOKU VR="1.0"><SHOTOKU_KINGAKU>1</SHOTOKU_KINGAKU></SHINKOKU>' + body + "</DATA>\n")
# e-Tax changed after signing; signature value damaged.
wr("etax-tampered.xtx", once(rd("etax-rsa.xtx"), "<SHOTOKU_KINGAKU>1234567<", "<SHOTOKU_KINGAKU>9234567<"))
s = rd("etax-rsa.xtx")
m = re.search(r"<SignatureValue>(.)", s)
c = m.group(1)
wr("etax-badsig.xtx", s[:m.start(1)] + ("B" if c != "B" else "C") + s[m.end(1):])
# Two signatures, the tax accountant's (the second) damaged.
t = rd("etax-two.xtx")
m = re.compile(r"<SignatureValue>(.)").search(t, t.index('Id="SIG-ACCOUNTANT"'))
c = m.group(1)
wr("etax-two-bad2.xtx", t[:m.start(1)] + ("B" if c != "B" else "C") + t[m.end(1):])

# DTD attacks: each would read /etc/passwd or blow up if the parser let it.
sig = "<Signature xmlns=\"http://www.w3.org/2000/09/xmldsig#\"/>"
wr("xxe-file.xml", '<?xml version="1.0"?>\n<!DOCTYPE DATA [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
   "<DATA>&x;" + sig + "</DATA>\n")
wr("xxe-param.xml", '<?xml version="1.0"?>\n<!DOCTYPE DATA [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]>\n'
   "<DATA>" + sig + "</DATA>\n")
lol = ['<!ENTITY lol0 "lollollollollollollollollollol">']
for i in range(1, 10):
    lol.append('<!ENTITY lol%d "%s">' % (i, ("&lol%d;" % (i - 1)) * 10))
wr("bomb-laughs.xml", '<?xml version="1.0"?>\n<!DOCTYPE DATA [' + "".join(lol) + "]>\n<DATA>&lol9;" + sig + "</DATA>\n")

# ZIP packages.
def mkzip(name, files, compress=zipfile.ZIP_DEFLATED):
    with zipfile.ZipFile(name, "w", compress) as z:
        for arc, data in files:
            z.writestr(zipfile.ZipInfo(arc, (2025, 1, 1, 0, 0, 0)), data, compress_type=compress)
def b(p): return open(p, "rb").read()
D = "900A000000000001/"
good = [(D + "kousei.xml", b("egov/kousei.xml")), (D + "form1.xml", b("egov/form1.xml")),
        (D + "form2.pdf", b("egov/form2.pdf"))]
mkzip("egov.zip", good)
mkzip("egov-flat.zip", [(a[len(D):], d) for a, d in good], zipfile.ZIP_STORED)
mkzip("egov-altered.zip", [good[0], (D + "form1.xml", b("egov-altered/form1.xml")), good[2]])
mkzip("egov-missing.zip", good[:2])
mkzip("egov-extra.zip", good + [(D + "note.txt", b"SYNTHETIC unsigned note\n")])
mkzip("egov-traversal.zip", good + [("../evil.txt", b"x")])
mkzip("egov-twosigned.zip", good + [(D + "copy.xml", b("egov/kousei.xml"))])
mkzip("egov-bomb.zip", good + [(D + "bomb.bin", bytes(32 * 1024 * 1024))])
mkzip("egov-unsigned.zip", good[1:])
# NFC and NFD entry names (see egov-nfc/, egov-nfd/ above).
import unicodedata
NFC = "データ.xml"
NFD = unicodedata.normalize("NFD", NFC)
assert NFC != NFD and unicodedata.normalize("NFC", NFD) == NFC
kn, kd, f1 = b("egov-nfc/kousei.xml"), b("egov-nfd/kousei.xml"), b("egov/form1.xml")
mkzip("egov-nfcref-nfdentry.zip", [(D + "kousei.xml", kn), (D + NFD, f1)])
mkzip("egov-nfdref-nfcentry.zip", [(D + "kousei.xml", kd), (D + NFC, f1)])
mkzip("egov-nfc-both.zip", [(D + "kousei.xml", kn), (D + NFC, f1), (D + NFD, f1)])

# A lying header: form1.xml declares 15,000,000 bytes (local header and
# central directory agree) while its data inflates to a few hundred.
import struct
mkzip("egov-liar.zip", good)
z = bytearray(b("egov-liar.zip"))
eocd = z.rfind(b"PK\x05\x06")
n_ent, cd_off = struct.unpack_from("<H", z, eocd + 10)[0], struct.unpack_from("<I", z, eocd + 16)[0]
p = cd_off
for _ in range(n_ent):
    nl, xl, cl = struct.unpack_from("<HHH", z, p + 28)
    name = bytes(z[p + 46:p + 46 + nl]).decode()
    if name == D + "form1.xml":
        struct.pack_into("<I", z, p + 24, 15000000)
        lh = struct.unpack_from("<I", z, p + 42)[0]
        struct.pack_into("<I", z, lh + 22, 15000000)
    p += 46 + nl + xl + cl
open("egov-liar.zip", "wb").write(bytes(z))
PYEOF

# ---------------------------------------------------- e-Gov XAdES (ES-T, X-L) ---
# egov-xades/: the e-Gov package of egov/ signed as XAdES (ETSI EN 319 132-1)
# by citizen-rsa, citizen-revoked and citizen-expired: a Signature with an Id,
# xades declared on it (so inclusive and exclusive canonicalization of its
# SignatureValue differ), SigningTime and SigningCertificateV2 in a signed
# SignedProperties.  The unsigned properties (SignatureTimeStamp,
# CertificateValues, RevocationValues) are added by tests/test_xades.c, which
# makes the timestamps with an injected TSA clock.  The SigningTime claims are
# the PKI's own instants: a day and a minute before citizen-revoked's
# revocation, thirty days and a minute before citizen-expired's notAfter.
mkdir -p egov-xades
cp egov/form1.xml egov/form2.pdf egov-xades/
claim() { # claim revoked|expired|now -> xsd:dateTime
    python3 - "$P" "$1" <<'PYEOF'
import datetime, sys
from cryptography import x509
P, what = sys.argv[1], sys.argv[2]
def cert(n): return x509.load_pem_x509_certificate(open("%s/%s.pem" % (P, n), "rb").read())
if what == "revoked":
    crl = x509.load_pem_x509_crl(open(P + "/pref-ca.crl", "rb").read())
    r = crl.get_revoked_certificate_by_serial_number(cert("citizen-revoked").serial_number)
    t = getattr(r, "revocation_date_utc", None) or r.revocation_date
    t -= datetime.timedelta(days=1, seconds=60)
elif what == "expired":
    c = cert("citizen-expired")
    t = (getattr(c, "not_valid_after_utc", None) or c.not_valid_after) - datetime.timedelta(days=30, seconds=60)
else:
    t = datetime.datetime.utcnow()
print(t.strftime("%Y-%m-%dT%H:%M:%SZ"), end="")
PYEOF
}
egov_xades() { # egov_xades WHO CLAIM
    local who=$1
    sed -e "s|<Signature xmlns=\"http://www.w3.org/2000/09/xmldsig#\">|<Signature xmlns=\"http://www.w3.org/2000/09/xmldsig#\" xmlns:xades=\"$XADES\" Id=\"SIG\">|" \
        -e "s|<Reference URI=\"form%32.pdf\"><DigestMethod Algorithm=\"$SHA256\"/><DigestValue/></Reference>|&\n        <Reference URI=\"#SP\" Type=\"http://uri.etsi.org/01903#SignedProperties\"><Transforms><Transform Algorithm=\"$C14N\"/></Transforms><DigestMethod Algorithm=\"$SHA256\"/><DigestValue/></Reference>|" \
        -e "s|<KeyInfo>$CERT_ONLY</KeyInfo>|&\n      <Object><xades:QualifyingProperties Target=\"#SIG\"><xades:SignedProperties Id=\"SP\"><xades:SignedSignatureProperties><xades:SigningTime>$(claim "$2")</xades:SigningTime>$(sigcert V2 "$P/$who.pem")</xades:SignedSignatureProperties></xades:SignedProperties></xades:QualifyingProperties></Object>|" \
        work/kousei.tmpl >work/kousei-$who.tmpl
    grep -q 'Id="SP"' work/kousei-$who.tmpl && grep -q 'URI="#SP"' work/kousei-$who.tmpl && grep -q 'Id="SIG"' work/kousei-$who.tmpl ||
        die "egov_xades: template surgery failed"
    egov_sign egov-xades kousei-$who.xml ../work/kousei-$who.tmpl "$who" --id-attr:Id "$XADES:SignedProperties"
    (cd egov-xades && run xmlsec1 --verify --insecure --id-attr:ID 構成情報 \
        --id-attr:Id "$XADES:SignedProperties" kousei-$who.xml)
}
egov_xades citizen-rsa now
egov_xades citizen-revoked revoked
egov_xades citizen-expired expired
# kousei-t.xml and kousei-xl.xml: citizen-rsa's package as XAdES-T (a
# SignatureTimeStamp from `openssl ts -reply`, genTime now, over the
# SignatureValue element in inclusive C14N 1.0: the element with the two
# namespace declarations in scope and its text, written out here for this
# simple element without attributes) and as XAdES-X-L (the same, plus the
# cross certificates of the path in CertificateValues and every CA's
# current CRL in RevocationValues).  For the CLI and HTTP API tests and the
# fuzz seeds; tests/test_xades.c covers the rows.
cat >work/tsa.cnf <<TSACNF
[ tsa ]
default_tsa = tsa_config1
[ tsa_config1 ]
serial            = $X/work/tsa-serial
crypto_device     = builtin
signer_cert       = $P/tsa.pem
certs             = $P/tsa-ca.pem
signer_key        = $P/tsa.key
signer_digest     = sha256
default_policy    = 1.2.392.200149.8.5.99.1
digests           = sha256
accuracy          = secs:1
ordering          = no
tsa_name          = yes
ess_cert_id_chain = no
ess_cert_id_alg   = sha256
TSACNF
echo 01 >work/tsa-serial
python3 - egov-xades/kousei-citizen-rsa.xml work/sv.c14n <<'PYEOF'
import re, sys
s = open(sys.argv[1], encoding="utf-8").read()
v = re.search(r"<SignatureValue>([A-Za-z0-9+/=\n]*)</SignatureValue>", s).group(1)
open(sys.argv[2], "w", encoding="utf-8", newline="").write(
    '<SignatureValue xmlns="http://www.w3.org/2000/09/xmldsig#" xmlns:xades="http://uri.etsi.org/01903/v1.3.2#">'
    + v + "</SignatureValue>")
PYEOF
run openssl ts -query -data work/sv.c14n -sha256 -cert -out work/sv.tsq
run openssl ts -reply -config work/tsa.cnf -queryfile work/sv.tsq -token_out -out work/sv.tst
run openssl ts -verify -data work/sv.c14n -in work/sv.tst -token_in -CAfile "$P/tsa-ca.pem"
b64der() { # b64der x509|crl FILE
    openssl "$1" -in "$2" -outform DER | base64 -w 0
}
XL_CERTS='' XL_CRLS=''
for c in cross-jpki-to-pref cross-gpki-to-jpki cross-ministry-to-gpki; do
    XL_CERTS+="<xades:EncapsulatedX509Certificate>$(b64der x509 "$P/$c.pem")</xades:EncapsulatedX509Certificate>"
done
for c in pref-ca pref-ca2 jpki-bca gpki-bca ministry-ca tsa-ca; do  # tsa-ca: the TSA path too (issue #20)
    XL_CRLS+="<xades:EncapsulatedCRLValue>$(b64der crl "$P/$c.crl")</xades:EncapsulatedCRLValue>"
done
STS="<xades:SignatureTimeStamp Id=\"TS1\"><xades:EncapsulatedTimeStamp>$(base64 -w 0 work/sv.tst)</xades:EncapsulatedTimeStamp></xades:SignatureTimeStamp>"
unsigned() { # unsigned CONTENT: the package with UnsignedSignatureProperties CONTENT
    python3 - egov-xades/kousei-citizen-rsa.xml "$1" <<'PYEOF'
import sys
s = open(sys.argv[1], encoding="utf-8").read()
end = "</xades:QualifyingProperties>"
assert s.count(end) == 1
u = "<xades:UnsignedProperties><xades:UnsignedSignatureProperties>%s</xades:UnsignedSignatureProperties></xades:UnsignedProperties>"
sys.stdout.write(s.replace(end, u % sys.argv[2] + end))
PYEOF
}
unsigned "$STS" >egov-xades/kousei-t.xml
unsigned "$STS<xades:CertificateValues>$XL_CERTS</xades:CertificateValues><xades:RevocationValues><xades:CRLValues>$XL_CRLS</xades:CRLValues></xades:RevocationValues>" >egov-xades/kousei-xl.xml
for f in kousei-t kousei-xl; do
    (cd egov-xades && run xmlsec1 --verify --insecure --id-attr:ID 構成情報 \
        --id-attr:Id "$XADES:SignedProperties" $f.xml)
done
rm -f work/tsa-serial work/sv.tsq

# Self-check: what must verify with xmlsec1 itself does (trust aside).
for f in etax-rsa.xtx etax-id.xtx etax-ec.xtx etax-sha1.xtx etax-chain.xtx; do
    run xmlsec1 --verify --insecure "${ETAX_ID[@]}" "$f"
done
run xmlsec1 --verify --insecure "${XADES_ID[@]}" etax-xades.xtx
for f in xades-v2.xtx xades-v1.xtx xades-alias-v2.xtx; do
    run xmlsec1 --verify --insecure "${XADES_ID[@]}" "$f"
done
for id in SIG-TAXPAYER SIG-ACCOUNTANT; do
    run xmlsec1 --verify --insecure "${TWO_ID[@]}" --node-id "$id" etax-two.xtx
done
if xmlsec1 --verify --insecure "${TWO_ID[@]}" --node-id SIG-ACCOUNTANT etax-two-bad2.xtx >"$LOG" 2>&1; then
    die "etax-two-bad2.xtx still verifies"
fi
for f in nfc nfd; do
    (cd egov-$f && run xmlsec1 --verify --insecure --id-attr:ID 構成情報 kousei.xml)
done
(cd egov && run xmlsec1 --verify --insecure --id-attr:ID 構成情報 kousei.xml)
if (cd egov-altered && cp ../egov/kousei.xml . && xmlsec1 --verify --insecure --id-attr:ID 構成情報 kousei.xml) >"$LOG" 2>&1; then
    die "egov-altered/form1.xml still verifies"
fi
rm -f egov-altered/kousei.xml
if xmlsec1 --verify --insecure "${ETAX_ID[@]}" etax-tampered.xtx >"$LOG" 2>&1; then
    die "etax-tampered.xtx still verifies"
fi
rm -f "$LOG"
echo "$prog: $(ls "$X" | wc -l) entries in $X"
