#!/usr/bin/env bash
# mkpdf.sh PKIDIR -- signed PDF fixtures (PAdES: adbe.pkcs7.detached,
# ETSI.CAdES.detached) and the attack files of issue 19 (USF, ByteRange
# gaps, incremental saving, shadow hide / hide-and-replace, signature
# wrapping), made from the test PKI that mkpki.sh built in PKIDIR.  Writes
# PKIDIR/pdf/ (wiped and rebuilt each run).  Needs python3 (standard library
# only: tests/pki/mkpdf.py writes the bytes) and the openssl CLI (the CMS).
# With pdfsig (poppler-utils) it checks that the good files verify there too.
#
# Everything here is SYNTHETIC TEST DATA.  See tests/test_pdf.c for what
# each file is expected to give.
set -euo pipefail
prog=${0##*/}
die() { echo "$prog: $*" >&2; exit 1; }
[[ $# -eq 1 && -d $1 ]] || die "usage: $prog PKIDIR (made by mkpki.sh)"
command -v python3 >/dev/null || die "python3 not found"
P=$(cd -- "$1" && pwd -P)
[[ -f $P/.mkpki-outdir && -f $P/citizen-rsa.pem ]] || die "$P is not a PKI made by mkpki.sh"
rm -rf -- "$P/pdf"
mkdir -p "$P/pdf/work"
python3 "$(dirname -- "$0")/mkpdf.py" "$P"
# Encrypted copies (rule 5: refused with a clear error), made by the qpdf
# CLI: one any reader opens (empty user password), one it cannot.
command -v qpdf >/dev/null || die "qpdf not found (apt-get install qpdf)"
qpdf --encrypt "" owner-synthetic 256 -- "$P/pdf/good-rsa.pdf" "$P/pdf/encrypted-open.pdf"
qpdf --encrypt user-synthetic owner-synthetic 256 -- "$P/pdf/good-rsa.pdf" "$P/pdf/encrypted.pdf"
rm -rf -- "$P/pdf/work"
echo "$prog: $(ls "$P/pdf" | wc -l) files in $P/pdf"
