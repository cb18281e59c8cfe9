/*
 * fuzz/fuzz_xades_sign.c - XAdES SignedProperties past the signature (issue
 * #25): the input is a recipe (a fixed layout of bytes) for the signed
 * properties of an enveloped e-Tax style XML signature, which the harness
 * builds as text, signs with xmlsec as citizen-rsa (the test PKI's citizen
 * key, trusted through the configured anchors) and hands to
 * ks_verify_signature (verify/xml.c, verify/xml_xades.c), revocation off.
 * Every input verifies cryptographically, so what is fuzzed is what comes
 * after: which SignedProperties count as signed, the SigningCertificate(V2)
 * binding (ETSI EN 319 132-1 5.2.2; XAdES 1.3.2 7.2.2), the SigningTime
 * (5.2.1), KeyInfo certificates for the same key under other names.
 *
 * The recipe picks:
 *   b0: the properties: bits 0-1 none, SigningCertificate, ...V2, both;
 *       bit 2 their CertDigest over the alias certificate (the same key as
 *       citizen-rsa under another name, made at init) instead of
 *       citizen-rsa; bit 3 a second Cert naming the CA; bit 4 the CA's Cert
 *       first; bits 5-6 IssuerSerial(V2): absent, right, serial + 1,
 *       another issuer; bit 7 one byte of the digest flipped;
 *   b1: bits 0-1 the CertDigest algorithm (SHA-256, SHA-1, SHA-512,
 *       SHA-384); bits 2-3 KeyInfo: citizen-rsa, the alias, alias then
 *       citizen-rsa, citizen-rsa then alias; bits 4-5 SigningTime: absent,
 *       one, two (the second a day later), not a time; bit 6 an unknown
 *       xades element in SignedSignatureProperties; bit 7 an element of
 *       another namespace in SignedProperties;
 *   b2: the wiring: bits 0-1 the SignedProperties Reference with the XAdES
 *       Type, without Type, with another Type, absent; bit 2
 *       SignedSignatureProperties twice; bit 3 a second, unreferenced
 *       SignedProperties naming the alias; bit 4 QualifyingProperties
 *       targeting another signature; bit 5 the Reference digested with
 *       SHA-1; bit 6 the QualifyingProperties moved out of the Signature
 *       into the document (and then covered by the enveloped Reference too);
 *       bit 7 the second SignedProperties (bit 3 implied) with the same Id
 *       "SP" (the document then has two elements with one ID);
 *   b3-b4: the SigningTime, in hours from now (signed 16 bits);
 *   b5: how the IssuerSerial's X509IssuerName is written (RFC 4514): as
 *       OpenSSL prints it, lower-case attribute types, a space after each
 *       comma, dotted OIDs as types, the RDNs in reverse order (another
 *       name), the CN as #hex of its BER (2.4).
 *
 * Oracle (computed here, from the recipe and the certificates, not from
 * kensho's reading of the XML): when the verdict is TOTAL_PASSED,
 *   - the reported signer is citizen-rsa or the alias (the key that
 *     signed);
 *   - if the signed SignedProperties (referenced, inside this Signature)
 *     carry SigningCertificate(V2) properties, every one of them has a Cert
 *     whose digest, computed here over the reported signer's DER, is the
 *     one written and whose IssuerSerial, when present, names it; and
 *     signing_certificate_bound is then true, and false otherwise;
 *   - signing_time is reported only from the signed SignedProperties and
 *     is the first SigningTime written there.
 * Deliberate strictness of kensho, not judged here: a SHA-1 CertDigest is
 * refused by the algorithm policy (allow_sha1 is false), and a malformed
 * IssuerSerial fails the binding.  Not judged either: the Type attribute
 * of the SignedProperties Reference (XAdES 1.3.2 6.3.1 says it SHOULD be
 * present; kensho decides "signed" by what the Reference covers, and so
 * does this oracle), and a SigningTime outside the certificate's validity
 * (a claim, never a fact: README "Long-term validation").
 * A disagreement aborts with the rule that failed.
 */
#include <stdarg.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include <xmlsec/crypto.h>
#include <xmlsec/xmldsig.h>
#include <xmlsec/xmlsec.h>
#include <xmlsec/xmltree.h>

#define FZ_SMALL_QUARANTINE /* fuzz.h: each input builds and signs a document */
#include "fuzz.h"
#include "internal.h"

#define FZ_XADES "http://uri.etsi.org/01903/v1.3.2#"
#define FZ_DS "http://www.w3.org/2000/09/xmldsig#"
#define FZ_C14N "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"

static ks_ctx *ctx; /* revocation off */
static X509 *leaf, *alias, *ca;
static xmlSecKeyPtr signkey;

/* A growing string (the document being written). */
typedef struct {
    char *p;
    size_t n, cap;
} fz_str;

__attribute__((format(printf, 2, 3))) static void fz_cat(fz_str *s, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        va_start(ap, fmt);
        int k = vsnprintf(s->p ? s->p + s->n : NULL, s->p ? s->cap - s->n : 0, fmt, ap);
        va_end(ap);
        if (k < 0)
            fz_die("fz_cat", "format");
        if (s->p != NULL && s->n + (size_t)k < s->cap) {
            s->n += (size_t)k;
            return;
        }
        size_t cap = (s->cap + (size_t)k + 1) * 2;
        char *q = realloc(s->p, cap);
        if (q == NULL)
            fz_die("fz_cat", "out of memory");
        if (s->p == NULL)
            q[0] = '\0';
        s->p = q;
        s->cap = cap;
    }
}

static char *fz_b64(const unsigned char *p, size_t n)
{
    char *out = malloc(4 * ((n + 2) / 3) + 1);
    if (out == NULL || EVP_EncodeBlock((unsigned char *)out, p, (int)n) < 0)
        fz_die("base64", "out of memory");
    return out;
}

static char *fz_cert_b64(X509 *x)
{
    unsigned char *der = NULL;
    int len = i2d_X509(x, &der);
    if (len <= 0)
        fz_die("i2d_X509", "failed");
    char *b = fz_b64(der, (size_t)len);
    OPENSSL_free(der);
    return b;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    ctx = fz_ctx_load("{\"mode\": \"off\"}", "");
    leaf = fz_read_pem("citizen-rsa.pem");
    ca = fz_read_pem("pref-ca-self.pem");
    EVP_PKEY *cakey = fz_read_key("pref-ca.key");
    /* The alias: citizen-rsa's certificate under another name and serial,
     * re-signed by the same CA (the binding attack of mkxml.sh's
     * alias.pem): the key that signs is the same. */
    X509_NAME *n = X509_NAME_new();
    if ((alias = X509_dup(leaf)) == NULL || n == NULL ||
        X509_NAME_add_entry_by_txt(n, "C", MBSTRING_ASC, (const unsigned char *)"JP", -1, -1, 0) != 1 ||
        X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"SYNTH0001-FUZZ-ALIAS", -1, -1, 0) != 1 ||
        X509_set_subject_name(alias, n) != 1 || ASN1_INTEGER_set(X509_get_serialNumber(alias), 4998) != 1 ||
        X509_sign(alias, cakey, EVP_sha256()) <= 0)
        fz_die("alias", "cannot make it");
    X509_NAME_free(n);
    EVP_PKEY_free(cakey);
    /* xmlsec as the library sets it up (a first verification), then the
     * signing key, from the PKI's PEM. */
    static const char tiny[] = "<a/>";
    ks_request req = {.signature = {.data = (const uint8_t *)tiny, .len = sizeof tiny - 1}};
    cJSON *v = NULL;
    (void)ks_verify_signature(ctx, &req, &v);
    cJSON_Delete(v);
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/citizen-rsa.key", fz_pki_dir());
    if ((signkey = xmlSecCryptoAppKeyLoad(path, xmlSecKeyDataFormatPem, NULL, NULL, NULL)) == NULL)
        fz_die("xmlsec key", path);
    ERR_clear_error();
    return 0;
}

/* ---------------- the recipe ---------------- */

typedef struct {
    int props;       /* bit 0 v1, bit 1 v2 */
    int target;      /* 0 citizen-rsa, 1 the alias */
    int ca_cert, ca_first, is_mode, flip;
    int md;          /* 0-3: sha256, sha1, sha512, sha384 */
    int keyinfo;     /* 0-3 */
    int st_mode;     /* 0-3 */
    int unknown_xades, foreign;
    int ref_mode;    /* 0 Type, 1 no Type, 2 other Type, 3 absent */
    int dup_ssp, second_sp, bad_target, ref_sha1, moved, same_id;
    time_t signing;
    int name_form;   /* 0-5: fz_name */
} fz_recipe;

static const struct {
    const char *uri;
    const EVP_MD *(*md)(void);
} fz_md[4] = {{"http://www.w3.org/2001/04/xmlenc#sha256", EVP_sha256},
              {"http://www.w3.org/2000/09/xmldsig#sha1", EVP_sha1},
              {"http://www.w3.org/2001/04/xmlenc#sha512", EVP_sha512},
              {"http://www.w3.org/2001/04/xmldsig-more#sha384", EVP_sha384}};

static void fz_read(fz_in *in, fz_recipe *r)
{
    unsigned b0 = fz_u8(in), b1 = fz_u8(in), b2 = fz_u8(in);
    memset(r, 0, sizeof *r);
    r->props = (int)(b0 & 3);
    r->target = (b0 >> 2) & 1;
    r->ca_cert = (b0 >> 3) & 1;
    r->ca_first = (b0 >> 4) & 1;
    r->is_mode = (int)((b0 >> 5) & 3);
    r->flip = (b0 >> 7) & 1;
    r->md = (int)(b1 & 3);
    r->keyinfo = (int)((b1 >> 2) & 3);
    r->st_mode = (int)((b1 >> 4) & 3);
    r->unknown_xades = (b1 >> 6) & 1;
    r->foreign = (b1 >> 7) & 1;
    r->ref_mode = (int)(b2 & 3);
    r->dup_ssp = (b2 >> 2) & 1;
    r->second_sp = (b2 >> 3) & 1;
    r->bad_target = (b2 >> 4) & 1;
    r->ref_sha1 = (b2 >> 5) & 1;
    r->moved = (b2 >> 6) & 1;
    r->same_id = (b2 >> 7) & 1;
    r->second_sp |= r->same_id;
    r->signing = fz_now + fz_s16(in) * 3600L;
    r->name_form = (int)(fz_u8(in) % 6);
}

/* RFC 4514 text of a name (2.1: the last RDN first), XML-escaped, in one
 * of the forms of the recipe (b5).  The names of the test PKI have one
 * attribute per RDN and nothing RFC 4514 2.4 would escape but what is
 * escaped here. */
static void fz_name(fz_str *s, const X509_NAME *name, int form)
{
    int n = X509_NAME_entry_count(name);
    for (int k = 0; k < n; k++) {
        const X509_NAME_ENTRY *e = X509_NAME_get_entry(name, form == 4 ? k : n - 1 - k);
        const ASN1_OBJECT *o = X509_NAME_ENTRY_get_object(e);
        const ASN1_STRING *v = X509_NAME_ENTRY_get_data(e);
        int nid = OBJ_obj2nid(o);
        char type[80];
        if (form == 3 || nid == NID_undef || OBJ_nid2sn(nid) == NULL)
            OBJ_obj2txt(type, sizeof type, o, 1);
        else
            snprintf(type, sizeof type, "%s", OBJ_nid2sn(nid));
        if (form == 1)
            for (char *c = type; *c; c++)
                *c = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
        fz_cat(s, "%s%s=", k == 0 ? "" : form == 2 ? ", " : ",", type);
        if (form == 5 && nid == NID_commonName) {
            /* RFC 4514 2.4: '#' and the hex of the value's BER */
            ASN1_TYPE *t = ASN1_TYPE_new();
            ASN1_STRING *dup = ASN1_STRING_dup(v);
            unsigned char *der = NULL;
            int len = -1;
            if (t != NULL && dup != NULL) {
                ASN1_TYPE_set(t, ASN1_STRING_type(v), dup);
                dup = NULL;
                len = i2d_ASN1_TYPE(t, &der);
            }
            if (len <= 0)
                fz_die("name", "cannot encode a value");
            fz_cat(s, "#");
            for (int b = 0; b < len; b++)
                fz_cat(s, "%02x", der[b]);
            OPENSSL_free(der);
            ASN1_STRING_free(dup);
            ASN1_TYPE_free(t);
            continue;
        }
        const unsigned char *d = ASN1_STRING_get0_data(v);
        int len = ASN1_STRING_length(v);
        for (int b = 0; b < len; b++) {
            unsigned char c = d[b];
            if (c == '&')
                fz_cat(s, "&amp;");
            else if (c == '<')
                fz_cat(s, "&lt;");
            else if (strchr(",+\"\\;>=", c) != NULL || (c == '#' && b == 0) ||
                     (c == ' ' && (b == 0 || b == len - 1)))
                fz_cat(s, "\\%c", c);
            else
                fz_cat(s, "%c", c);
        }
    }
}

/* RFC 5035 IssuerSerial: SEQUENCE { GeneralNames (directoryName), serial } */
static char *fz_issuer_serial_v2(const X509_NAME *issuer, const ASN1_INTEGER *serial)
{
    GENERAL_NAMES *gns = sk_GENERAL_NAME_new_null();
    GENERAL_NAME *gn = GENERAL_NAME_new();
    X509_NAME *nm = X509_NAME_dup(issuer);
    unsigned char *g = NULL, *sr = NULL, *out = NULL;
    if (gns == NULL || gn == NULL || nm == NULL)
        fz_die("IssuerSerialV2", "out of memory");
    GENERAL_NAME_set0_value(gn, GEN_DIRNAME, nm);
    if (!sk_GENERAL_NAME_push(gns, gn))
        fz_die("IssuerSerialV2", "out of memory");
    int gl = i2d_GENERAL_NAMES(gns, &g), sl = i2d_ASN1_INTEGER(serial, &sr);
    if (gl <= 0 || sl <= 0)
        fz_die("IssuerSerialV2", "cannot encode");
    int total = ASN1_object_size(1, gl + sl, V_ASN1_SEQUENCE);
    if ((out = OPENSSL_malloc((size_t)total)) == NULL)
        fz_die("IssuerSerialV2", "out of memory");
    unsigned char *w = out;
    ASN1_put_object(&w, 1, gl + sl, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL);
    memcpy(w, g, (size_t)gl);
    memcpy(w + gl, sr, (size_t)sl);
    char *b = fz_b64(out, (size_t)total);
    OPENSSL_free(out);
    OPENSSL_free(g);
    OPENSSL_free(sr);
    GENERAL_NAMES_free(gns);
    return b;
}

/* One xades:Cert naming x, with the recipe's tweaks when `tweak`. */
static void fz_cert(fz_str *s, const fz_recipe *r, X509 *x, int v2, int tweak)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (X509_digest(x, fz_md[r->md].md(), md, &mdlen) != 1)
        fz_die("X509_digest", "failed");
    if (tweak && r->flip)
        md[mdlen / 2] ^= 0x01;
    char *dv = fz_b64(md, mdlen);
    fz_cat(s, "<xades:Cert><xades:CertDigest><ds:DigestMethod Algorithm=\"%s\"/><ds:DigestValue>%s</ds:DigestValue>"
              "</xades:CertDigest>",
           fz_md[r->md].uri, dv);
    free(dv);
    int mode = tweak ? r->is_mode : 1;
    if (mode != 0) {
        ASN1_INTEGER *serial = ASN1_INTEGER_dup(X509_get0_serialNumber(x));
        const X509_NAME *issuer = mode == 3 ? X509_get_subject_name(x) : X509_get_issuer_name(x);
        if (serial == NULL)
            fz_die("serial", "out of memory");
        if (mode == 2) {
            BIGNUM *bn = ASN1_INTEGER_to_BN(serial, NULL);
            if (bn == NULL || BN_add_word(bn, 1) != 1 || BN_to_ASN1_INTEGER(bn, serial) == NULL)
                fz_die("serial", "out of memory");
            BN_free(bn);
        }
        if (v2) {
            char *b = fz_issuer_serial_v2(issuer, serial);
            fz_cat(s, "<xades:IssuerSerialV2>%s</xades:IssuerSerialV2>", b);
            free(b);
        } else {
            BIGNUM *bn = ASN1_INTEGER_to_BN(serial, NULL);
            char *dec = bn ? BN_bn2dec(bn) : NULL;
            if (dec == NULL)
                fz_die("serial", "out of memory");
            fz_cat(s, "<xades:IssuerSerial><ds:X509IssuerName>");
            fz_name(s, issuer, r->name_form);
            fz_cat(s, "</ds:X509IssuerName><ds:X509SerialNumber>%s</ds:X509SerialNumber></xades:IssuerSerial>", dec);
            OPENSSL_free(dec);
            BN_free(bn);
        }
        ASN1_INTEGER_free(serial);
    }
    fz_cat(s, "</xades:Cert>");
}

static void fz_sigcert(fz_str *s, const fz_recipe *r, int v2, X509 *named)
{
    fz_cat(s, "<xades:SigningCertificate%s>", v2 ? "V2" : "");
    if (r->ca_cert && r->ca_first)
        fz_cert(s, r, ca, v2, 0);
    fz_cert(s, r, named, v2, 1);
    if (r->ca_cert && !r->ca_first)
        fz_cert(s, r, ca, v2, 0);
    fz_cat(s, "</xades:SigningCertificate%s>", v2 ? "V2" : "");
}

static void fz_ssp(fz_str *s, const fz_recipe *r)
{
    char t[64];
    fz_cat(s, "<xades:SignedSignatureProperties>");
    if (r->st_mode == 3) {
        fz_cat(s, "<xades:SigningTime>yesterday</xades:SigningTime>");
    } else {
        for (int i = 0; i < r->st_mode; i++) {
            ks_time_format(r->signing + i * 86400L, t, sizeof t);
            fz_cat(s, "<xades:SigningTime>%s</xades:SigningTime>", t);
        }
    }
    X509 *named = r->target ? alias : leaf;
    if (r->props & 1)
        fz_sigcert(s, r, 0, named);
    if (r->props & 2)
        fz_sigcert(s, r, 1, named);
    if (r->unknown_xades)
        fz_cat(s, "<xades:SignaturePolicyImplied/><xades:FuzzUnknown>x</xades:FuzzUnknown>");
    fz_cat(s, "</xades:SignedSignatureProperties>");
}

/* The QualifyingProperties: the SignedProperties "SP" the Reference names,
 * and maybe a second one nobody references, naming the alias. */
static void fz_qp(fz_str *s, const fz_recipe *r)
{
    fz_cat(s, "<xades:QualifyingProperties xmlns:xades=\"%s\" xmlns:ds=\"%s\" Target=\"#%s\">", FZ_XADES, FZ_DS,
           r->bad_target ? "OTHER-SIG" : "SIG");
    fz_cat(s, "<xades:SignedProperties Id=\"SP\">");
    fz_ssp(s, r);
    if (r->dup_ssp)
        fz_ssp(s, r);
    if (r->foreign)
        fz_cat(s, "<f:Extra xmlns:f=\"urn:fuzz\">1</f:Extra>");
    fz_cat(s, "</xades:SignedProperties>");
    if (r->second_sp) {
        fz_recipe other = *r;
        other.target = 1;
        other.flip = 0;
        other.is_mode = 0;
        other.props = 3;
        other.st_mode = 1;
        other.signing = r->signing - 30 * 86400L;
        fz_cat(s, "<xades:SignedProperties Id=\"%s\">", r->same_id ? "SP" : "SP2");
        fz_ssp(s, &other);
        fz_cat(s, "</xades:SignedProperties>");
    }
    fz_cat(s, "</xades:QualifyingProperties>");
}

static void fz_template(fz_str *s, const fz_recipe *r)
{
    static const char *const types[] = {" Type=\"http://uri.etsi.org/01903#SignedProperties\"", "",
                                        " Type=\"http://www.w3.org/2000/09/xmldsig#Object\""};
    fz_cat(s, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
              "<DATA xmlns=\"http://xml.e-tax.nta.go.jp/XSD/shotoku\" id=\"DATA\">"
              "<SHINKOKU VR=\"1.0\" id=\"SHINKOKU\"><NOTE>synthetic fuzz filing</NOTE></SHINKOKU>");
    if (r->moved) {
        fz_cat(s, "<HOLDER>");
        fz_qp(s, r);
        fz_cat(s, "</HOLDER>");
    }
    fz_cat(s,
           "<Signature xmlns=\"%s\" Id=\"SIG\"><SignedInfo>"
           "<CanonicalizationMethod Algorithm=\"%s\"/>"
           "<SignatureMethod Algorithm=\"http://www.w3.org/2001/04/xmldsig-more#rsa-sha256\"/>"
           "<Reference URI=\"\"><Transforms><Transform Algorithm=\"%senveloped-signature\"/>"
           "<Transform Algorithm=\"%s\"/></Transforms><DigestMethod Algorithm=\"%s\"/><DigestValue/></Reference>",
           FZ_DS, FZ_C14N, FZ_DS, FZ_C14N, fz_md[0].uri);
    if (r->ref_mode != 3)
        fz_cat(s,
               "<Reference URI=\"#SP\"%s><Transforms><Transform Algorithm=\"%s\"/></Transforms>"
               "<DigestMethod Algorithm=\"%s\"/><DigestValue/></Reference>",
               types[r->ref_mode], FZ_C14N, fz_md[r->ref_sha1 ? 1 : 0].uri);
    fz_cat(s, "</SignedInfo><SignatureValue/>");
    if (!r->moved) {
        fz_cat(s, "<Object>");
        fz_qp(s, r);
        fz_cat(s, "</Object>");
    }
    fz_cat(s, "</Signature></DATA>\n");
}

/* Registers every Id/id attribute as an ID (as verify/xml.c does), so
 * that xmlsec finds "#SP". */
static void fz_ids(xmlDocPtr doc, xmlNodePtr n)
{
    for (; n != NULL; n = n->next) {
        if (n->type != XML_ELEMENT_NODE)
            continue;
        for (xmlAttrPtr a = n->properties; a != NULL; a = a->next) {
            if (a->ns != NULL || (strcmp((const char *)a->name, "Id") != 0 && strcmp((const char *)a->name, "id") != 0))
                continue;
            xmlChar *v = xmlNodeListGetString(doc, a->children, 1);
            if (v != NULL && xmlGetID(doc, v) == NULL)
                xmlAddID(NULL, doc, v, a);
            xmlFree(v);
        }
        fz_ids(doc, n->children);
    }
}

/* The signed document with KeyInfo (unsigned) inserted after the
 * SignatureValue; NULL when xmlsec would not sign the template. */
static char *fz_sign(const fz_recipe *r, size_t *outlen)
{
    fz_str t = {0};
    fz_template(&t, r);
    xmlDocPtr doc = xmlReadMemory(t.p, (int)t.n, NULL, NULL, XML_PARSE_NONET);
    xmlSecDSigCtxPtr d = NULL;
    xmlChar *out = NULL;
    int olen = 0;
    char *ret = NULL;
    free(t.p);
    if (doc == NULL)
        fz_die("template", "not well-formed");
    fz_ids(doc, xmlDocGetRootElement(doc));
    xmlNodePtr sig = xmlSecFindNode(xmlDocGetRootElement(doc), xmlSecNodeSignature, xmlSecDSigNs);
    if (sig == NULL || (d = xmlSecDSigCtxCreate(NULL)) == NULL || (d->signKey = xmlSecKeyDuplicate(signkey)) == NULL)
        fz_die("xmlsec", "cannot set up");
    if (xmlSecDSigCtxSign(d, sig) < 0)
        goto done;
    xmlDocDumpMemory(doc, &out, &olen);
    const char *mark = out ? strstr((const char *)out, "</SignatureValue>") : NULL;
    if (mark == NULL)
        goto done;
    mark += strlen("</SignatureValue>");
    fz_str s = {0};
    fz_cat(&s, "%.*s<KeyInfo><X509Data>", (int)(mark - (const char *)out), (const char *)out);
    X509 *ki[2] = {r->keyinfo == 1 || r->keyinfo == 2 ? alias : leaf,
                   r->keyinfo == 2 ? leaf : r->keyinfo == 3 ? alias : NULL};
    for (int i = 0; i < 2 && ki[i] != NULL; i++) {
        char *b = fz_cert_b64(ki[i]);
        fz_cat(&s, "<X509Certificate>%s</X509Certificate>", b);
        free(b);
    }
    fz_cat(&s, "</X509Data></KeyInfo>%s", mark);
    ret = s.p;
    *outlen = s.n;
done:
    xmlFree(out);
    xmlSecDSigCtxDestroy(d);
    xmlFreeDoc(doc);
    ERR_clear_error();
    return ret;
}

/* ---------------- the oracle ---------------- */

/* Why a TOTAL_PASSED verdict is wrong; NULL when it is right. */
static const char *fz_judge(const fz_recipe *r, const cJSON *verdict)
{
    const cJSON *s0 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(verdict, "signers"), 0);
    const cJSON *signer = cJSON_GetObjectItemCaseSensitive(s0, "signer");
    const char *fp = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(signer, "sha256"));
    const char *st = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(s0, "signing_time"));
    int bound = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(s0, "signing_certificate_bound"));
    char lfp[65], afp[65];
    if (!ks_cert_fp(leaf, lfp) || !ks_cert_fp(alias, afp))
        fz_die("fingerprint", "failed");
    if (fp == NULL || (strcasecmp(fp, lfp) != 0 && strcasecmp(fp, afp) != 0))
        return "the reported signer is not a certificate of the key that signed";
    X509 *who = strcasecmp(fp, lfp) == 0 ? leaf : alias;
    /* The SignedProperties "SP" is signed when its Reference is there and
     * it sits inside this Signature (verify/xml.c placement: a moved one
     * is also covered by the enveloped Reference, but it is not this
     * signature's property); SP2 never is. */
    int sp_signed = r->ref_mode != 3 && !r->moved;
    int has_sc = sp_signed && r->props != 0;
    if (has_sc) {
        /* each SigningCertificate(V2) names `who` (the CA's Cert never
         * does): the digest computed here over who's DER is the one
         * written, and the IssuerSerial, when there, is who's */
        X509 *named = r->target ? alias : leaf;
        int names_who = X509_cmp(named, who) == 0 && !r->flip &&
                        (r->is_mode == 0 || (r->is_mode == 1 && (r->name_form != 4 || !(r->props & 1))));
        if (!names_who)
            return "a signed SigningCertificate does not name the reported signer";
        if (!bound)
            return "a signed SigningCertificate names the signer but signing_certificate_bound is false";
    } else if (bound) {
        return "signing_certificate_bound without a signed SigningCertificate";
    }
    if (st != NULL) {
        char want[64];
        if (!sp_signed || r->st_mode == 0 || r->st_mode == 3)
            return "a signing_time that no signed SigningTime gives";
        ks_time_format(r->signing, want, sizeof want);
        if (strcmp(want, st) != 0)
            return "signing_time is not the first signed SigningTime";
    }
    return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_in in = {data, size};
    fz_recipe r;
    size_t len = 0;
    fz_read(&in, &r);
    char *xml = fz_sign(&r, &len);
    if (xml == NULL)
        return 0;
    ks_request req = {.signature = {.data = (const uint8_t *)xml, .len = len}};
    cJSON *verdict = NULL;
    ks_result res = ks_verify_signature(ctx, &req, &verdict);
    if ((res == KS_OK) != (verdict != NULL))
        fz_die("ks_verify_signature (XAdES)", "verdict and result disagree");
    const char *ind = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(verdict, "indication"));
    if (ind != NULL && strcmp(ind, "TOTAL_PASSED") == 0) {
        const char *why = fz_judge(&r, verdict);
        if (why != NULL)
            fz_die("XAdES oracle", why);
    }
    cJSON_Delete(verdict);
    free(xml);
    return 0;
}
