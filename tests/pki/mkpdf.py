#!/usr/bin/env python3
"""mkpdf.py PKIDIR - signed PDF fixtures (PAdES) from the test PKI.
   mkpdf.py PKIDIR --bench OUTDIR SIZE... - one signed PDF per SIZE
   (bench-SIZE.pdf: a page showing one raw 8-bit image of SIZE bytes, like a
   scanned page; the file is about 18 KB more), for `make bench`
   (bench/run.sh, scenario pdf).

Called by mkpdf.sh.  Writes PKIDIR/pdf/ (wiped and rebuilt by mkpdf.sh).
Python 3 standard library only: the PDFs are written byte by byte here so
that the attack files can place every byte where the attack needs it; the
CMS is made by the openssl CLI (`openssl cms -sign -binary -outform DER`,
with `-cades` for ETSI.CAdES.detached) over the ByteRange bytes.

Everything here is SYNTHETIC TEST DATA.  See tests/test_pdf.c for what each
file is expected to give.
"""
import hashlib
import os
import random
import re
import struct
import subprocess
import sys
import zlib

P = os.path.abspath(sys.argv[1])
OUT = os.path.join(P, "pdf")
WORK = os.path.join(OUT, "work")
HEXLEN = 16384           # hex digits reserved for /Contents (8 KiB of DER)
BR_PLACEHOLDER = b"/ByteRange [0 0000000000 0000000000 0000000000]"


def pdf_str(s):
    return b"(" + s.encode("ascii") + b")"


def stream(data, extra=b""):
    return b"<< /Length %d%s >>\nstream\n" % (len(data), extra) + data + b"\nendstream"


class Doc:
    """A PDF under construction: a first revision, then incremental updates."""

    def __init__(self):
        self.data = b""
        self.startxref = None
        self.size = 0

    def write_revision(self, objs, root, info=None, extra_trailer=b""):
        """Appends one revision: objs {num: body}; returns nothing.  The
        first call writes the header and a full xref; later calls write an
        incremental update with /Prev."""
        out = bytearray()
        first = self.startxref is None
        if first:
            out += b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
        base = len(self.data)
        offsets = {}
        for num in sorted(objs):
            if first and num == 0:
                continue
            offsets[num] = base + len(out)
            out += b"%d 0 obj\n" % num + objs[num] + b"\nendobj\n"
        xref_at = base + len(out)
        self.size = max(self.size, max(objs) + 1)
        out += b"xref\n"
        if first:
            out += b"0 %d\n" % self.size
            out += b"0000000000 65535 f \n"
            for n in range(1, self.size):
                if n in offsets:
                    out += b"%010d 00000 n \n" % offsets[n]
                else:
                    out += b"0000000000 00000 f \n"
        else:
            for n in sorted(offsets):
                out += b"%d 1\n%010d 00000 n \n" % (n, offsets[n])
        out += b"trailer\n<< /Size %d /Root %s" % (self.size, root)
        if info:
            out += b" /Info " + info
        if not first:
            out += b" /Prev %d" % self.startxref
        out += extra_trailer + b" >>\nstartxref\n%d\n%%%%EOF\n" % xref_at
        self.data += bytes(out)
        self.startxref = xref_at


def run(args, **kw):
    r = subprocess.run(args, capture_output=True, **kw)
    if r.returncode != 0:
        sys.stderr.write("mkpdf: command failed: %s\n%s" % (" ".join(args), r.stderr.decode(errors="replace")))
        sys.exit(1)
    return r.stdout


def cms_sign(signed, who, cades=False, noattr=False):
    """Detached CMS SignedData over `signed` by PKIDIR/who.{pem,key}."""
    tmp = os.path.join(WORK, "tbs.bin")
    with open(tmp, "wb") as f:
        f.write(signed)
    args = ["openssl", "cms", "-sign", "-binary", "-outform", "DER", "-md", "sha256",
            "-in", tmp, "-signer", os.path.join(P, who + ".pem"), "-inkey", os.path.join(P, who + ".key")]
    if cades:
        args.append("-cades")
    if noattr:
        args.append("-noattr")
    return run(args)


def sig_dict(sub_filter=b"adbe.pkcs7.detached", typ=b"Sig", reason="Synthetic test signature",
             extra=b"", contents=None, byterange=BR_PLACEHOLDER):
    if contents is None:
        contents = b"/Contents <" + b"0" * HEXLEN + b">"
    return (b"<< /Type /" + typ + b" /Filter /Adobe.PPKLite /SubFilter /" + sub_filter + b" " + byterange + b" " +
            contents + b" /M (D:20260101090000+09'00') /Reason " + pdf_str(reason) +
            b" /Location (Matsumoto) /ContactInfo (synthetic@example.invalid)" + extra + b" >>")


def fill_signature(data, who, cades=False, noattr=False, gap=None, ranges=None, make=None):
    """Finds the last ByteRange placeholder, writes the ranges around the
    /Contents hex string that follows it, signs the covered bytes and writes
    the hex into the gap.  gap=(start, end) or ranges=[o1 l1 o2 l2]
    override what is declared (attack files); the CMS always signs what the
    declared ranges cover, so only the layout is wrong.  make(signed), when
    given, makes the value instead (a time-stamp token, a CMS with a
    signature timestamp)."""
    data = bytearray(data)
    br = data.rfind(BR_PLACEHOLDER)
    assert br >= 0
    lt = data.index(b"<", data.index(b"/Contents", br))
    gt = data.index(b">", lt)
    gs, ge = gap if gap else (lt, gt + 1)
    rng = ranges if ranges else [0, gs, ge, len(data) - ge]
    text = (b"/ByteRange [%d %d %d %d" % tuple(rng)).ljust(len(BR_PLACEHOLDER) - 1) + b"]"
    assert len(text) == len(BR_PLACEHOLDER)
    data[br:br + len(text)] = text
    signed = bytes(data[rng[0]:rng[0] + rng[1]] + data[rng[2]:rng[2] + rng[3]])
    der = make(signed) if make else cms_sign(signed, who, cades, noattr)
    hx = der.hex().encode()
    assert len(hx) <= HEXLEN
    data[lt + 1:lt + 1 + len(hx)] = hx
    return bytes(data)


# ---- RFC 3161 time-stamp tokens from the test PKI's TSAs (mkpki.sh) ----------
def tsa_cnf():
    cnf = os.path.join(WORK, "tsa.cnf")
    if not os.path.exists(cnf):
        with open(os.path.join(WORK, "tsa-serial"), "w") as f:
            f.write("01\n")
        with open(cnf, "w") as f:
            f.write("[ tsa ]\ndefault_tsa = tsa_config1\n[ tsa_config1 ]\n"
                    "serial = %s\ncrypto_device = builtin\nsigner_digest = sha256\n"
                    "default_policy = 1.2.392.200149.8.5.99.1\ndigests = sha256, sha384, sha512\n"
                    "accuracy = secs:1\nordering = no\ntsa_name = yes\ness_cert_id_chain = no\n"
                    "ess_cert_id_alg = sha256\n" % os.path.join(WORK, "tsa-serial"))
    return cnf


def ts_token(data, tsa="tsa", mode=None):
    """A TimeStampToken (DER, with the TSA certificate) over `data` by
    PKIDIR/tsa.{pem,key}, genTime now (`openssl ts -reply`).  mode:
    "imprint" stamps other bytes, "tampered" flips the token's last byte
    (its signature value: no unsigned attributes follow)."""
    tbs, q, tok = (os.path.join(WORK, n) for n in ("ts.bin", "ts.tsq", "ts.tst"))
    with open(tbs, "wb") as f:
        f.write(data + (b"x" if mode == "imprint" else b""))
    ca = "rogue-ca.pem" if tsa == "tsa-rogue" else "tsa-ca.pem"
    run(["openssl", "ts", "-query", "-data", tbs, "-sha256", "-cert", "-no_nonce", "-out", q])
    run(["openssl", "ts", "-reply", "-config", tsa_cnf(), "-queryfile", q, "-signer", os.path.join(P, tsa + ".pem"),
         "-inkey", os.path.join(P, tsa + ".key"), "-chain", os.path.join(P, ca), "-token_out", "-out", tok])
    with open(tok, "rb") as f:
        der = bytearray(f.read())
    if mode == "tampered":
        der[-1] ^= 0x01
    return bytes(der)


def der_len(n):
    if n < 0x80:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(b)]) + b


def add_signature_timestamp(cms, tsa="tsa"):
    """The CMS SignedData `cms` (one signer, no unsigned attributes) with an
    unsigned id-aa-signatureTimeStampToken over its signature value (RFC
    3161 Appendix A).  The offsets come from `openssl asn1parse`; the
    SignerInfo is the last element of each enclosing structure, so the
    attribute is appended and the enclosing lengths rewritten."""
    der_path = os.path.join(WORK, "cms.der")
    with open(der_path, "wb") as f:
        f.write(cms)
    els = []
    for line in run(["openssl", "asn1parse", "-inform", "DER", "-in", der_path]).decode().splitlines():
        m = re.match(r"\s*(\d+):d=(\d+)\s+hl=(\d+)\s+l=\s*(\d+)", line)
        if m:
            els.append(tuple(int(x) for x in m.groups()))
    # Enclosing path: ContentInfo (d0), [0] (d1), SignedData (d2),
    # signerInfos SET (d3), SignerInfo (d4): the last element of each depth
    # that ends at the end of the DER.
    path = []
    for d in range(5):
        cand = [e for e in els if e[1] == d and e[0] + e[2] + e[3] == len(cms)]
        assert cand, "no element at depth %d ends the CMS" % d
        path.append(cand[-1])
    sv = [e for e in els if e[1] == 5 and e[0] + e[2] + e[3] == len(cms)][-1]  # signature OCTET STRING
    sigval = cms[sv[0] + sv[2]:sv[0] + sv[2] + sv[3]]
    tok = ts_token(sigval, tsa)
    oid = bytes.fromhex("060b2a864886f70d010910020e")  # 1.2.840.113549.1.9.16.2.14
    attr_set = b"\x31" + der_len(len(tok)) + tok
    attr = b"\x30" + der_len(len(oid) + len(attr_set)) + oid + attr_set
    unsigned = b"\xa1" + der_len(len(attr)) + attr  # [1] IMPLICIT SET OF Attribute
    off, _, hl, _ = path[4]
    body = cms[off + hl:] + unsigned
    node = bytes([cms[off]]) + der_len(len(body)) + body
    for off, _, hl, _ in reversed(path[:4]):
        child = [e for e in path if e[0] > off][0]
        body = cms[off + hl:child[0]] + node
        node = bytes([cms[off]]) + der_len(len(body)) + body
    return node


def doc_ts_dict(sub_filter=b"ETSI.RFC3161"):
    """A document timestamp's dictionary (ISO 32000-2 12.8.5, PAdES)."""
    return (b"<< /Type /DocTimeStamp /Filter /Adobe.PPKLite /SubFilter /" + sub_filter + b" " + BR_PLACEHOLDER +
            b" /Contents <" + b"0" * HEXLEN + b"> >>")


def add_doc_ts(d, fields, tsa="tsa", mode=None, catalog_extra=b"", sub_filter=b"ETSI.RFC3161"):
    """An incremental update with a document timestamp in a new field
    (the next two object numbers), signed over the whole file so far;
    `fields` are the field objects already there."""
    f, v = d.size, d.size + 1
    refs = b" ".join(b"%d 0 R" % n for n in fields + [f])
    d.write_revision({
        1: b"<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [" + refs + b"] /SigFlags 3 >>" + catalog_extra +
           b" >>",
        3: b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R"
           b" /Resources << /Font << /F1 6 0 R >> >> /Annots [" + refs + b"] >>",
        f: b"<< /FT /Sig /T (DocTimeStamp%d) /V %d 0 R /Type /Annot /Subtype /Widget /Rect [0 0 0 0] /F 132"
           b" /P 3 0 R >>" % (len(fields), v),
        v: doc_ts_dict(sub_filter),
    }, b"1 0 R", b"8 0 R")
    d.data = fill_signature(d.data, None, make=lambda signed: ts_token(signed, tsa, mode))
    return f


def lzw_bomb(head, blocks, tail):
    """PDF LZW (ISO 32000-1 7.4.4, EarlyChange 1) of head + a run of spaces
    + tail: each block after a clear-table code is the codes 258, 259, ...
    each one byte longer than the last (the decoder's KwKwK case), up to a
    full table: about 7 MB from 5.6 KB."""
    out, acc, nbits = bytearray(), 0, 0
    state = {"width": 9, "size": 0, "last": 256}

    def emit(code):
        nonlocal acc, nbits
        acc = (acc << state["width"]) | code
        nbits += state["width"]
        while nbits >= 8:
            nbits -= 8
            out.append((acc >> nbits) & 0xFF)
        acc &= (1 << nbits) - 1
        # The decoder's table and code width after this code.
        if code == 256:
            state.update(width=9, size=0)
        elif code != 257 and state["last"] != 256:
            change = 258 + state["size"] + 1
            state["size"] += 1
            state["width"] = {511: 10, 1023: 11, 2047: 12}.get(change, state["width"])
        state["last"] = code

    def literals(bs):
        emit(256)
        for b in bs:
            emit(b)
    literals(head)
    for _ in range(blocks):
        emit(256)
        emit(0x20)
        while 258 + state["size"] < 4096:
            emit(258 + state["size"])
    literals(tail)
    emit(257)
    if nbits:
        out.append((acc << (8 - nbits)) & 0xFF)
    return bytes(out)


def objstm_bomb(filt, data):
    """A file whose catalog sits in an object stream `data` (filter
    `filt`) that expands to hundreds of MiB, with an xref stream."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offs = {}
    objs = {
        2: b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        3: b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
        4: b"<< /Type /ObjStm /N 1 /First 4 /Filter %s /Length %d >>\nstream\n" % (filt, len(data)) + data +
           b"\nendstream",
    }
    for n in sorted(objs):
        offs[n] = len(out)
        out += b"%d 0 obj\n" % n + objs[n] + b"\nendobj\n"
    xref_at = len(out)
    rows = [struct.pack(">BIH", 0, 0, 65535), struct.pack(">BIH", 2, 4, 0)]
    rows += [struct.pack(">BIH", 1, offs[n], 0) for n in (2, 3, 4)]
    rows.append(struct.pack(">BIH", 1, xref_at, 0))
    xs = b"".join(rows)
    out += (b"5 0 obj\n<< /Type /XRef /Size 6 /W [1 4 2] /Root 1 0 R /Length %d >>\nstream\n" % len(xs) + xs +
            b"\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n" % xref_at)
    return bytes(out)


PAGE_TEXT = b"BT /F1 18 Tf 72 760 Td (SYNTHETIC TEST DOCUMENT: pay 1000 yen) Tj ET"


def base_objects(sig_field=True, sub_filter=b"adbe.pkcs7.detached", catalog_extra=b"", page_extra=b"",
                 content=PAGE_TEXT, sig_extra=b"", fields_extra=b""):
    """The first revision: one page, one signature field whose /V is object 7."""
    objs = {
        1: b"<< /Type /Catalog /Pages 2 0 R" +
           (b" /AcroForm << /Fields [5 0 R" + fields_extra + b"] /SigFlags 3 >>" if sig_field else b"") +
           catalog_extra + b" >>",
        2: b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        3: b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R"
           b" /Resources << /Font << /F1 6 0 R >> >>" + (b" /Annots [5 0 R]" if sig_field else b"") +
           page_extra + b" >>",
        4: stream(content),
        6: b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        8: b"<< /Producer (kensho mkpdf.py) /Title (Synthetic) >>",
    }
    if sig_field:
        objs[5] = (b"<< /FT /Sig /T (Signature1) /V 7 0 R /Type /Annot /Subtype /Widget"
                   b" /Rect [0 0 0 0] /F 132 /P 3 0 R >>")
        objs[7] = sig_dict(sub_filter, extra=sig_extra)
    return objs


def signed_doc(who="citizen-rsa", sub_filter=b"adbe.pkcs7.detached", cades=False, noattr=False, **kw):
    d = Doc()
    d.write_revision(base_objects(sub_filter=sub_filter, **kw), b"1 0 R", b"8 0 R")
    d.data = fill_signature(d.data, who, cades, noattr)
    return d


def save(name, data):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)


def main():
    os.makedirs(WORK, exist_ok=True)

    # ---- good signatures ------------------------------------------------
    good = signed_doc()
    save("good-rsa.pdf", good.data)
    save("good-ec.pdf", signed_doc("citizen-ec").data)
    save("good-cades-rsa.pdf", signed_doc(sub_filter=b"ETSI.CAdES.detached", cades=True).data)
    save("good-cades-ec.pdf", signed_doc("citizen-ec", sub_filter=b"ETSI.CAdES.detached", cades=True).data)
    save("good-noattr.pdf", signed_doc(noattr=True).data)

    # ETSI.CAdES.detached without the signing-certificate-v2 attribute.
    save("cades-no-ess.pdf", signed_doc(sub_filter=b"ETSI.CAdES.detached").data)
    # A legacy SubFilter (the CMS signs a SHA-1 digest): refused by policy.
    save("legacy-sha1-subfilter.pdf", signed_doc(sub_filter=b"adbe.pkcs7.sha1").data)

    # ---- the DSS added after signing (PAdES B-LT): allowed ----------------
    d = signed_doc()
    with open(os.path.join(P, "pref-ca-self.pem"), "rb") as f:
        pem = f.read()
    der = run(["openssl", "x509", "-outform", "DER"], input=pem)
    d.write_revision({
        1: b"<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [5 0 R] /SigFlags 3 >> /DSS 11 0 R >>",
        11: b"<< /Certs [12 0 R] >>",
        12: stream(der),
    }, b"1 0 R", b"8 0 R")
    save("dss-added.pdf", d.data)

    # ---- signers the path or revocation refuses -------------------------
    save("revoked.pdf", signed_doc("citizen-revoked").data)
    save("expired.pdf", signed_doc("citizen-expired").data)
    save("untrusted.pdf", signed_doc("rogue-citizen").data)

    # ---- no signature at all ------------------------------------------------
    d = Doc()
    d.write_revision(base_objects(sig_field=False), b"1 0 R", b"8 0 R")
    save("unsigned.pdf", d.data)

    # ---- a byte of the page content changed after signing ------------------
    t = bytearray(good.data)
    i = t.index(b"pay 1000 yen")
    t[i + 4] = ord("9")
    save("tampered.pdf", bytes(t))

    # ---- two signatures: the second by an incremental update ----------------
    two = signed_doc()
    two.write_revision({
        1: b"<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [5 0 R 9 0 R] /SigFlags 3 >> >>",
        3: b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R"
           b" /Resources << /Font << /F1 6 0 R >> >> /Annots [5 0 R 9 0 R] >>",
        9: b"<< /FT /Sig /T (Signature2) /V 10 0 R /Type /Annot /Subtype /Widget /Rect [0 0 0 0] /F 132 /P 3 0 R >>",
        10: sig_dict(b"ETSI.CAdES.detached", reason="Second synthetic signature"),
    }, b"1 0 R", b"8 0 R")
    two.data = fill_signature(two.data, "citizen-ec", cades=True)
    save("two-sigs.pdf", two.data)

    # The same with every array and the AcroForm indirect (as some tools
    # write them): the first signature must still allow the second.
    d = Doc()
    objs = base_objects()
    objs[1] = b"<< /Type /Catalog /Pages 2 0 R /AcroForm 20 0 R >>"
    objs[3] = (b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 23 0 R"
               b" /Resources << /Font << /F1 6 0 R >> >> /Annots 22 0 R >>")
    objs[20] = b"<< /Fields 21 0 R /SigFlags 3 >>"
    objs[21] = b"[5 0 R]"
    objs[22] = b"[5 0 R]"
    objs[23] = b"[4 0 R]"
    d.write_revision(objs, b"1 0 R", b"8 0 R")
    d.data = fill_signature(d.data, "citizen-rsa")
    d.write_revision({
        21: b"[5 0 R 9 0 R]",
        22: b"[5 0 R 9 0 R]",
        9: b"<< /FT /Sig /T (Signature2) /V 10 0 R /Type /Annot /Subtype /Widget /Rect [0 0 0 0] /F 132 /P 3 0 R >>",
        10: sig_dict(b"ETSI.CAdES.detached", reason="Second synthetic signature"),
    }, b"1 0 R", b"8 0 R")
    d.data = fill_signature(d.data, "citizen-ec", cades=True)
    save("two-sigs-indirect.pdf", d.data)
    # ... and an update that drops the signed widget from the indirect /Annots.
    d.write_revision({22: b"[9 0 R]"}, b"1 0 R", b"8 0 R")
    save("two-sigs-indirect-dropped.pdf", d.data)

    # ---- rule 1: universal signature forgery -------------------------------
    def usf(name, sig7):
        d = Doc()
        objs = base_objects()
        objs[7] = sig7
        d.write_revision(objs, b"1 0 R", b"8 0 R")
        save(name, d.data)
    usf("usf-no-byterange.pdf", sig_dict(byterange=b""))
    usf("usf-no-contents.pdf", sig_dict(contents=b"").replace(BR_PLACEHOLDER, b"/ByteRange [0 10 20 30]"))
    usf("usf-null-contents.pdf", sig_dict(contents=b"/Contents null").replace(BR_PLACEHOLDER, b"/ByteRange [0 10 20 30]"))
    usf("usf-empty-contents.pdf", sig_dict(contents=b"/Contents <>").replace(BR_PLACEHOLDER, b"/ByteRange [0 10 20 30]"))
    usf("usf-zero-range.pdf", sig_dict().replace(BR_PLACEHOLDER, b"/ByteRange [0 0 0 0]"))
    usf("usf-negative-range.pdf", sig_dict().replace(BR_PLACEHOLDER, b"/ByteRange [0 -1 20 30]"))
    usf("usf-overlap-range.pdf", sig_dict().replace(BR_PLACEHOLDER, b"/ByteRange [0 800 700 100]"))
    usf("usf-real-range.pdf", sig_dict().replace(BR_PLACEHOLDER, b"/ByteRange [0 747.0 17133 463]"))
    # A real signature over ranges that do not start at 0: the header is unsigned.
    d = Doc()
    d.write_revision(base_objects(), b"1 0 R", b"8 0 R")
    lt = d.data.index(b"<", d.data.index(b"/Contents", d.data.rfind(BR_PLACEHOLDER)))
    gt = d.data.index(b">", lt) + 1
    save("usf-range-not-zero.pdf", fill_signature(d.data, "citizen-rsa", ranges=[9, lt - 9, gt, len(d.data) - gt]))

    # ---- rule 2: the gap must be exactly /Contents ---------------------------
    d = Doc()
    d.write_revision(base_objects(), b"1 0 R", b"8 0 R")
    c = d.data.index(b"/Contents", d.data.rfind(BR_PLACEHOLDER))
    gt = d.data.index(b">", c) + 1
    # The gap also swallows "/Contents " (and could hide anything there).
    save("gap-larger.pdf", fill_signature(d.data, "citizen-rsa", gap=(c, gt)))
    # Garbage after %%EOF that is no incremental update.
    save("eof-garbage.pdf", good.data + b"% unsigned trailing bytes\nBT (PAID) Tj ET\n")

    # ---- rule 3: incremental saving and shadow attacks ----------------------
    d = signed_doc()
    d.write_revision({4: stream(b"BT /F1 18 Tf 72 760 Td (SYNTHETIC TEST DOCUMENT: pay 9000 yen) Tj ET")},
                     b"1 0 R", b"8 0 R")
    save("isa-content.pdf", d.data)

    # The page content freed by the update's xref (the page still points
    # at it, and now shows nothing).
    d = signed_doc()
    prev = d.startxref
    xref_at = len(d.data)
    d.data += (b"xref\n4 1\n0000000000 00001 f \ntrailer\n<< /Size %d /Root 1 0 R /Info 8 0 R /Prev %d >>\n"
               b"startxref\n%d\n%%%%EOF\n" % (d.size, prev, xref_at))
    save("isa-free-content.pdf", d.data)

    d = signed_doc()
    d.write_revision({
        2: b"<< /Type /Pages /Kids [3 0 R 11 0 R] /Count 2 >>",
        11: b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 12 0 R"
            b" /Resources << /Font << /F1 6 0 R >> >> >>",
        12: stream(b"BT /F1 18 Tf 72 760 Td (ADDENDUM: the price is 9000 yen) Tj ET"),
    }, b"1 0 R", b"8 0 R")
    save("isa-page.pdf", d.data)

    # An opaque square annotation over the amount, with its own appearance.
    def annot_overlay(d):
        d.write_revision({
            3: b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R"
               b" /Resources << /Font << /F1 6 0 R >> >> /Annots [5 0 R 11 0 R] >>",
            11: b"<< /Type /Annot /Subtype /Square /Rect [300 750 420 780] /F 4 /C [1 1 1] /IC [1 1 1]"
                b" /AP << /N 12 0 R >> >>",
            12: stream(b"1 g 0 0 120 30 re f", b" /Type /XObject /Subtype /Form /BBox [0 0 120 30]"),
        }, b"1 0 R", b"8 0 R")
    d = signed_doc()
    annot_overlay(d)
    save("isa-annot.pdf", d.data)
    # Certified: DocMDP P=3 allows the annotation, P=1 nothing.
    for p in (1, 3):
        d = signed_doc(catalog_extra=b" /Perms << /DocMDP 7 0 R >>",
                       sig_extra=b" /Reference [<< /Type /SigRef /TransformMethod /DocMDP"
                                 b" /TransformParams << /Type /TransformParams /P %d /V /1.2 >> >>]" % p)
        annot_overlay(d)
        save("cert-p%d-annot.pdf" % p, d.data)

    # Form fill-in after an approval signature: allowed.
    d = signed_doc(fields_extra=b" 13 0 R",
                   page_extra=b"")
    d.write_revision({
        13: b"<< /FT /Tx /T (Amount) /V (1000) /Type /Annot /Subtype /Widget /Rect [72 700 200 720] /P 3 0 R >>",
    }, b"1 0 R", b"8 0 R")
    # (the field above was referenced but undefined when signed: a new field
    # under an unchanged reference is not a fill-in; see shadow-late-object)
    save("shadow-late-object.pdf", d.data)

    d = Doc()
    objs = base_objects(fields_extra=b" 13 0 R")
    objs[13] = b"<< /FT /Tx /T (Amount) /Type /Annot /Subtype /Widget /Rect [72 700 200 720] /P 3 0 R >>"
    d.write_revision(objs, b"1 0 R", b"8 0 R")
    d.data = fill_signature(d.data, "citizen-rsa")
    d.write_revision({
        13: b"<< /FT /Tx /T (Amount) /V (1000) /Type /Annot /Subtype /Widget /Rect [72 700 200 720] /P 3 0 R >>",
    }, b"1 0 R", b"8 0 R")
    save("form-fill.pdf", d.data)

    # Shadow hide: the page draws /Cover over the amount; the update empties it.
    d = Doc()
    objs = base_objects(content=PAGE_TEXT + b" q /Cover Do Q")
    objs[3] = objs[3].replace(b"/Font << /F1 6 0 R >>", b"/Font << /F1 6 0 R >> /XObject << /Cover 11 0 R >>")
    objs[11] = stream(b"BT /F1 18 Tf 72 730 Td (Approved by the ministry) Tj ET",
                      b" /Type /XObject /Subtype /Form /BBox [0 0 595 842] /Resources << /Font << /F1 6 0 R >> >>")
    d.write_revision(objs, b"1 0 R", b"8 0 R")
    d.data = fill_signature(d.data, "citizen-rsa")
    d.write_revision({11: stream(b"", b" /Type /XObject /Subtype /Form /BBox [0 0 595 842]")}, b"1 0 R", b"8 0 R")
    save("shadow-hide.pdf", d.data)

    # Shadow hide-and-replace: a second, unreferenced catalog is signed along;
    # the update is only a new xref and trailer whose /Root points at it.
    d = Doc()
    objs = base_objects()
    objs[20] = b"<< /Type /Catalog /Pages 21 0 R /AcroForm << /Fields [5 0 R] /SigFlags 3 >> >>"
    objs[21] = b"<< /Type /Pages /Kids [22 0 R] /Count 1 >>"
    objs[22] = (b"<< /Type /Page /Parent 21 0 R /MediaBox [0 0 595 842] /Contents 23 0 R"
                b" /Resources << /Font << /F1 6 0 R >> >> /Annots [5 0 R] >>")
    objs[23] = stream(b"BT /F1 18 Tf 72 760 Td (SYNTHETIC TEST DOCUMENT: pay 9000 yen) Tj ET")
    d.write_revision(objs, b"1 0 R", b"8 0 R")
    d.data = fill_signature(d.data, "citizen-rsa")
    prev = d.startxref
    xref_at = len(d.data)
    d.data += b"xref\n0 0\ntrailer\n<< /Size %d /Root 20 0 R /Info 8 0 R /Prev %d >>\nstartxref\n%d\n%%%%EOF\n" % (
        d.size, prev, xref_at)
    save("shadow-replace.pdf", d.data)

    # ---- signing an existing document by an incremental update ------------
    # As the signing tools do: the unsigned document (here rewritten by the
    # qpdf CLI with object streams and an xref stream) gets the field, the
    # signature and the changed catalog and page in a classic-xref update.
    base = Doc()
    base.write_revision(base_objects(sig_field=False), b"1 0 R", b"8 0 R")
    plain, packed = os.path.join(WORK, "plain.pdf"), os.path.join(WORK, "packed.pdf")
    with open(plain, "wb") as f:
        f.write(base.data)
    run(["qpdf", "--object-streams=generate", plain, packed])
    trailer = run(["qpdf", "--show-object=trailer", packed])
    root = int(re.search(rb"/Root (\d+) 0 R", trailer).group(1))
    info = int(re.search(rb"/Info (\d+) 0 R", trailer).group(1))
    size = int(re.search(rb"/Size (\d+)", trailer).group(1))
    page = int(re.search(rb"page 1: (\d+) 0 R", run(["qpdf", "--show-pages", packed])).group(1))
    cat = run(["qpdf", "--show-object=%d" % root, packed]).strip()
    pg = run(["qpdf", "--show-object=%d" % page, packed]).strip()
    assert cat.endswith(b">>") and pg.endswith(b">>") and b"/Annots" not in pg

    def incr_signed():
        d = Doc()
        with open(packed, "rb") as f:
            d.data = f.read()
        d.startxref = int(re.findall(rb"startxref\s+(\d+)", d.data)[-1])
        d.size = size
        d.write_revision({
            root: cat[:-2] + b" /AcroForm << /Fields [%d 0 R] /SigFlags 3 >> >>" % size,
            page: pg[:-2] + b" /Annots [%d 0 R] >>" % size,
            size: b"<< /FT /Sig /T (Signature1) /V %d 0 R /Type /Annot /Subtype /Widget /Rect [0 0 0 0] /F 132"
                  b" /P %d 0 R >>" % (size + 1, page),
            size + 1: sig_dict(),
        }, b"%d 0 R" % root, b"%d 0 R" % info)
        d.data = fill_signature(d.data, "citizen-rsa")
        return d
    save("incr-objstm-signed.pdf", incr_signed().data)
    # ... and then a page added behind the signature's back.
    d = incr_signed()
    pages = int(re.search(rb"/Parent (\d+) 0 R", pg).group(1))
    d.write_revision({
        pages: b"<< /Type /Pages /Kids [%d 0 R %d 0 R] /Count 2 >>" % (page, size + 2),
        size + 2: b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 595 842] /Contents %d 0 R >>" % (pages, size + 3),
        size + 3: stream(b"BT /F1 18 Tf 72 760 Td (ADDENDUM) Tj ET"),
    }, b"%d 0 R" % root, b"%d 0 R" % info)
    save("incr-objstm-page.pdf", d.data)

    # ---- rule 5: a decompression bomb ---------------------------------------
    # The catalog sits in an object stream whose Flate data inflates to
    # 512 MiB (of spaces before the object): a reader resolving the
    # catalog decodes it.  Written by hand with an xref stream.
    comp = zlib.compressobj(9)
    head = b"1 0 "
    body = b"<< /Type /Catalog /Pages 2 0 R >>"
    chunks = [comp.compress(head)]
    blank = b" " * (1 << 20)
    for _ in range(512):
        chunks.append(comp.compress(blank))
    chunks.append(comp.compress(body) + comp.flush())
    z = b"".join(chunks)
    first = len(head)  # /First: the objects start after "1 0 "
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offs = {}
    objs = {
        2: b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        3: b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
        4: b"<< /Type /ObjStm /N 1 /First %d /Filter /FlateDecode /Length %d >>\nstream\n" % (first, len(z)) + z +
           b"\nendstream",
    }
    for n in sorted(objs):
        offs[n] = len(out)
        out += b"%d 0 obj\n" % n + objs[n] + b"\nendobj\n"
    xref_at = len(out)
    rows = [struct.pack(">BIH", 0, 0, 65535), struct.pack(">BIH", 2, 4, 0)]
    rows += [struct.pack(">BIH", 1, offs[n], 0) for n in (2, 3, 4)]
    rows.append(struct.pack(">BIH", 1, xref_at, 0))
    xs = b"".join(rows)
    out += (b"5 0 obj\n<< /Type /XRef /Size 6 /W [1 4 2] /Root 1 0 R /Length %d >>\nstream\n" % len(xs) + xs +
            b"\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n" % xref_at)
    save("bomb-objstm.pdf", bytes(out))

    # A dictionary past the comparison's key ceiling (KS_PDF_MAX_KEYS), then
    # an update the signature would allow: the analysis stops, never passes.
    props = b" ".join(b"/P%d %d" % (i, i) for i in range(5000))
    d = signed_doc(page_extra=b" /PieceInfo << " + props + b" >>")
    d.write_revision({
        1: b"<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [5 0 R] /SigFlags 3 >> /DSS 11 0 R >>",
        11: b"<< /Certs [] >>",
    }, b"1 0 R", b"8 0 R")
    save("limit-keys.pdf", d.data)

    # ---- document timestamps (ETSI.RFC3161) and signature timestamps --------
    # A signature, then a document timestamp over the whole file by an
    # incremental update (PAdES B-T / B-LTA style).
    for name, tsa, mode in (("doc-ts.pdf", "tsa", None), ("doc-ts-rogue.pdf", "tsa-rogue", None),
                            ("doc-ts-tampered.pdf", "tsa", "tampered"), ("doc-ts-imprint.pdf", "tsa", "imprint")):
        d = signed_doc()
        add_doc_ts(d, [5], tsa, mode)
        save(name, d.data)
    # A good token in a /DocTimeStamp that does not say ETSI.RFC3161.
    d = signed_doc()
    add_doc_ts(d, [5], sub_filter=b"adbe.pkcs7.detached")
    save("doc-ts-wrong-subfilter.pdf", d.data)
    # A CAdES signature carrying an id-aa-signatureTimeStampToken.
    d = Doc()
    d.write_revision(base_objects(sub_filter=b"ETSI.CAdES.detached"), b"1 0 R", b"8 0 R")
    d.data = fill_signature(d.data, None, make=lambda signed: add_signature_timestamp(
        cms_sign(signed, "citizen-rsa", cades=True)))
    save("sig-ts.pdf", d.data)
    # B-LTA: a signature, the DSS, a document timestamp by the short-lived
    # TSA, then one by the long-lived TSA over all of it.
    d = signed_doc()
    with open(os.path.join(P, "pref-ca-self.pem"), "rb") as f:
        ca_der = run(["openssl", "x509", "-outform", "DER"], input=f.read())
    d.write_revision({
        1: b"<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [5 0 R] /SigFlags 3 >> /DSS 11 0 R >>",
        11: b"<< /Certs [12 0 R] >>",
        12: stream(ca_der),
    }, b"1 0 R", b"8 0 R")
    t1 = add_doc_ts(d, [5], "tsa-short", catalog_extra=b" /DSS 11 0 R")
    add_doc_ts(d, [5, t1], "tsa", catalog_extra=b" /DSS 11 0 R")
    save("b-lta.pdf", d.data)
    # The same with revocation evidence in the DSS (PAdES B-LT): an OCSP
    # answer about the signer by the CA's responder (`openssl ocsp`, as a
    # responder answers; thisUpdate now, before the timestamp), the CAs'
    # CRLs and the TSA CA's (the document timestamp's TSA path is checked
    # too), so that it validates with every responder down.
    d = signed_doc()
    serial = run(["openssl", "x509", "-noout", "-serial", "-in", os.path.join(P, "citizen-rsa.pem")]).decode()
    idx, req, resp = (os.path.join(WORK, n) for n in ("ocsp-index.txt", "ocsp.req", "ocsp.der"))
    with open(idx, "w") as f:
        f.write("V\t491231000000Z\t\t%s\tunknown\t/CN=SYNTH0001\n" % serial.strip().split("=")[1])
    run(["openssl", "ocsp", "-issuer", os.path.join(P, "pref-ca-self.pem"), "-cert", os.path.join(P, "citizen-rsa.pem"),
         "-no_nonce", "-reqout", req])
    run(["openssl", "ocsp", "-index", idx, "-rsigner", os.path.join(P, "ocsp-responder.pem"), "-rkey",
         os.path.join(P, "ocsp-responder.key"), "-CA", os.path.join(P, "pref-ca-self.pem"), "-reqin", req,
         "-respout", resp, "-ndays", "1"])
    with open(resp, "rb") as f:
        ocsp_der = f.read()
    crls = [run(["openssl", "crl", "-outform", "DER", "-in", os.path.join(P, c + ".crl")])
            for c in ("jpki-bca", "gpki-bca", "ministry-ca", "tsa-ca")]
    objs = {
        1: b"<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [5 0 R] /SigFlags 3 >> /DSS 11 0 R >>",
        11: b"<< /Certs [12 0 R] /OCSPs [13 0 R] /CRLs [14 0 R 15 0 R 16 0 R 17 0 R] >>",
        12: stream(ca_der),
        13: stream(zlib.compress(ocsp_der), b" /Filter /FlateDecode"),
    }
    for k, c in enumerate(crls):
        objs[14 + k] = stream(c)
    d.write_revision(objs, b"1 0 R", b"8 0 R")
    add_doc_ts(d, [5], "tsa", catalog_extra=b" /DSS 11 0 R")
    save("dss-evidence.pdf", d.data)

    # The DSS's VRI index (ETSI EN 319 142-1 5.4.2.2): the signer's OCSP
    # answer and the CAs' CRLs only in the signature's VRI entry, keyed by
    # the uppercase hex SHA-1 of its /Contents (padding included); the TSA
    # CA's CRL in the DSS's own /CRLs.  dss-vri-other.pdf: the same entry
    # under another signature's key (not this one's evidence);
    # dss-vri-malformed.pdf: the DSS's arrays hold everything, and the
    # entry's /OCSP is a stream, not an array (a warning, nothing broken).
    def vri_doc(name, key_of=None, malformed=False):
        d = signed_doc()
        m = re.search(rb"/Contents <([0-9A-Fa-f]+)>", d.data)
        key = hashlib.sha1(bytes.fromhex(m.group(1).decode()) if key_of is None else key_of).hexdigest().upper()
        objs = {
            1: b"<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [5 0 R] /SigFlags 3 >> /DSS 11 0 R >>",
            12: stream(ca_der),
            13: stream(zlib.compress(ocsp_der), b" /Filter /FlateDecode"),
        }
        for k, c in enumerate(crls):
            objs[14 + k] = stream(c)
        if malformed:
            objs[11] = (b"<< /Certs [12 0 R] /OCSPs [13 0 R] /CRLs [14 0 R 15 0 R 16 0 R 17 0 R] /VRI << /" +
                        key.encode() + b" << /OCSP 13 0 R /CRL [14 0 R] >> >> >>")
        else:
            objs[11] = (b"<< /Certs [12 0 R] /CRLs [17 0 R] /VRI << /" + key.encode() +
                        b" << /Cert [12 0 R] /OCSP [13 0 R] /CRL [14 0 R 15 0 R 16 0 R] >> >> >>")
        d.write_revision(objs, b"1 0 R", b"8 0 R")
        add_doc_ts(d, [5], "tsa", catalog_extra=b" /DSS 11 0 R")
        save(name, d.data)
    vri_doc("dss-vri.pdf")
    vri_doc("dss-vri-other.pdf", key_of=b"another signature")
    vri_doc("dss-vri-malformed.pdf", malformed=True)

    # ---- FieldMDP and /Lock: form fill-in of locked and unlocked fields -----
    def fieldmdp(name, sig_extra=b"", lock=b""):
        d = Doc()
        objs = base_objects(fields_extra=b" 13 0 R", sig_extra=sig_extra)
        if lock:
            objs[5] = objs[5][:-2] + b"/Lock << /Type /SigFieldLock " + lock + b" >> >>"
        objs[13] = b"<< /FT /Tx /T (Amount) /Type /Annot /Subtype /Widget /Rect [72 700 200 720] /P 3 0 R >>"
        d.write_revision(objs, b"1 0 R", b"8 0 R")
        d.data = fill_signature(d.data, "citizen-rsa")
        d.write_revision({
            13: b"<< /FT /Tx /T (Amount) /V (9000) /Type /Annot /Subtype /Widget /Rect [72 700 200 720] /P 3 0 R >>",
        }, b"1 0 R", b"8 0 R")
        save(name, d.data)

    def fmdp(params):
        return (b" /Reference [<< /Type /SigRef /TransformMethod /FieldMDP"
                b" /TransformParams << /Type /TransformParams " + params + b" /V /1.2 >> >>]")
    fieldmdp("fieldmdp-include-locked.pdf", fmdp(b"/Action /Include /Fields [(Amount)]"))
    fieldmdp("fieldmdp-include-other.pdf", fmdp(b"/Action /Include /Fields [(Remarks)]"))
    fieldmdp("fieldmdp-all.pdf", fmdp(b"/Action /All"))
    fieldmdp("fieldmdp-exclude.pdf", fmdp(b"/Action /Exclude /Fields [(Amount)]"))
    fieldmdp("lock-all.pdf", lock=b"/Action /All")
    fieldmdp("lock-include-locked.pdf", lock=b"/Action /Include /Fields [(Amount)]")
    fieldmdp("lock-exclude.pdf", lock=b"/Action /Exclude /Fields [(Amount)]")
    fieldmdp("lock-bad-action.pdf", lock=b"/Action /Everything")

    # ---- rule 5: LZW and RunLength bombs (qpdf's own decoders) ----------------
    save("bomb-lzw.pdf", objstm_bomb(b"/LZWDecode", lzw_bomb(b"1 0 ", 73, b"<< /Type /Catalog /Pages 2 0 R >>")))
    # RunLength after Flate: 8 MiB of runs (zlib's inflate, within its
    # allowance) that expand to 512 MiB in qpdf's RunLength decoder, in a
    # file of a few KB (an 8 MB file would be stopped at the body limit).
    rl = b"\x81 " * (4 << 20)  # 257 - 0x81 = 128 spaces per two bytes
    save("bomb-runlength.pdf", objstm_bomb(b"[/FlateDecode /RunLengthDecode]", zlib.compress(
        b"\x031 0 " + rl + b"\x20<< /Type /Catalog /Pages 2 0 R >>\x80", 9)))

    # ---- rule 4: signature wrapping -----------------------------------------
    # The gap holds the real CMS, then an attacker's object and xref; the
    # declared ranges are untouched and still verify.
    g = bytearray(good.data)
    lt = g.index(b"<", g.index(b"/Contents", g.rfind(b"/ByteRange")))
    gt = g.index(b">", lt)
    hexend = lt + 1
    while g[hexend:hexend + 2] != b"00" or set(g[hexend:gt]) != {ord("0")}:
        hexend += 2
    # "> >> endobj" closes the signature dictionary early; a strict parser
    # skips the bytes between objects, so the file still parses.
    evil = (b"> >>\nendobj\n4 0 obj\n" + stream(b"BT /F1 18 Tf 72 760 Td (pay 9000 yen) Tj ET") + b"\nendobj\n"
            b"xref\n4 1\n%010d 00000 n \ntrailer\n<< /Size 9 /Root 1 0 R >>\n" % (hexend + 12))
    assert hexend + len(evil) < gt
    g[hexend:hexend + len(evil)] = evil
    g[hexend + len(evil):gt] = b" " * (gt - hexend - len(evil))
    save("swa-gap-xref.pdf", bytes(g))


def bench(outdir, sizes):
    """A signed one-page PDF per size: the page draws an image XObject whose
    raw samples (incompressible, like a scan's) make up the size."""
    global OUT, WORK
    OUT, WORK = outdir, os.path.join(outdir, "work")
    os.makedirs(WORK, exist_ok=True)
    rnd = random.Random(19)  # the same bytes every run
    for size in sizes:
        n = int(size)  # the image; the file is about 18 KB more (8 KiB reserved for the CMS, hex)
        w = 1024 if n >= 1024 else n
        h = max(n // w, 1)
        img = rnd.randbytes(w * h)
        objs = base_objects(content=PAGE_TEXT + b" q 500 0 0 700 50 50 cm /Im1 Do Q",
                            page_extra=b"")
        objs[3] = objs[3].replace(b"/Resources << /Font << /F1 6 0 R >> >>",
                                  b"/Resources << /Font << /F1 6 0 R >> /XObject << /Im1 9 0 R >> >>")
        objs[9] = stream(img, b" /Type /XObject /Subtype /Image /Width %d /Height %d"
                              b" /ColorSpace /DeviceGray /BitsPerComponent 8" % (w, h))
        d = Doc()
        d.write_revision(objs, b"1 0 R", b"8 0 R")
        d.data = fill_signature(d.data, "citizen-rsa")
        save("bench-%s.pdf" % size, d.data)
    for f in os.listdir(WORK):
        os.unlink(os.path.join(WORK, f))
    os.rmdir(WORK)


if __name__ == "__main__":
    if len(sys.argv) > 3 and sys.argv[2] == "--bench":
        bench(os.path.abspath(sys.argv[3]), sys.argv[4:])
    else:
        main()
