/*
 * verify/xml_xades.c - the XAdES signing certificate binding (ETSI EN
 * 319 132-1 5.2.2; XAdES 1.3.2 7.2.2): which certificate the signer signed
 * for.
 *
 * KeyInfo is not signed.  Without a binding, anyone holding a second
 * certificate for the same key (issued under another name, by the same or
 * another CA) can put it in KeyInfo and the signature still verifies, now
 * in that certificate's name.  A SigningCertificate or SigningCertificateV2
 * inside a SignedProperties that a verified Reference covers names the
 * certificate by digest (CertDigest) and, optionally, by issuer and serial
 * (IssuerSerial: an RFC 4514 name and a decimal number; IssuerSerialV2: the
 * DER IssuerSerial of RFC 5035).  ETSI EN 319 102-1 5.2.3.4 (identification
 * of the signing certificate): a certificate the property does not name is
 * not the signer's.
 *
 * The unsigned properties are read here too (ks_xades_unsigned): the
 * signature timestamps of XAdES-T, the certificate and revocation values
 * of XAdES-X-L (also inside a TimeStampValidationData) and the archive
 * timestamps of XAdES-A (ETSI EN 319 132-1 5.3, 5.5, 5.7; JIS X 5093).
 * They are unsigned by design, so nothing in them is believed for being
 * there: a timestamp proves a time only when tsp.c verifies it over the
 * data it must cover (this SignatureValue; for an archive timestamp, the
 * signature, its References' data and the properties before it), a
 * certificate is a path candidate like KeyInfo's, and a CRL is evidence only
 * when revoke.c finds it signed by the issuing CA and current.
 *
 * Everything read here is untrusted text from the document: lengths are
 * capped, base64 and DER are decoded with their exact lengths.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/x509v3.h>

#include <libxml/c14n.h>
#include <libxml/xmlIO.h>

#include <xmlsec/base64.h>

#include "xml_int.h"

#define KS_XADES_MAX_B64 8192   /* characters of a DigestValue or IssuerSerialV2 */
#define KS_XADES_MAX_DN 4096    /* bytes of an X509IssuerName */
#define KS_XADES_MAX_AVAS 64    /* attribute values in one name */
#define KS_XADES_MAX_SERIAL 256 /* digits of an X509SerialNumber */
#define KS_XADES_MAX_CERTS 64   /* Cert elements of one property */

/* What one Cert element (or a whole property) says about a certificate. */
typedef enum { KS_XB_MATCH, KS_XB_OTHER, KS_XB_FORMAT, KS_XB_ALG, KS_XB_NOMEM } ks_xb;

/* An element's text, NULL-safe, trimmed of XML white space; NULL when
 * absent, empty or longer than max. */
static char *ks_xades_text(xmlNodePtr n, size_t max)
{
    xmlChar *raw = n != NULL ? xmlNodeGetContent(n) : NULL;
    char *out = NULL;
    if (raw == NULL)
        return NULL;
    const char *s = (const char *)raw;
    size_t len = strlen(s);
    while (len > 0 && strchr(" \t\r\n", s[len - 1]) != NULL)
        len--;
    while (len > 0 && strchr(" \t\r\n", *s) != NULL) {
        s++;
        len--;
    }
    if (len > 0 && len <= max)
        out = strndup(s, len);
    xmlFree(raw);
    return out;
}

/* Base64 element text of at most max characters -> bytes (xmlsec's
 * decoder skips white space). */
static ks_xb ks_xades_b64_max(xmlNodePtr n, size_t max, uint8_t **out, size_t *outlen)
{
    char *s = ks_xades_text(n, max);
    xmlSecSize w = 0;
    *out = NULL;
    if (s == NULL)
        return KS_XB_FORMAT;
    size_t cap = strlen(s);
    if ((*out = malloc(cap)) == NULL) {
        free(s);
        return KS_XB_NOMEM;
    }
    int rc = xmlSecBase64Decode_ex(BAD_CAST s, *out, (xmlSecSize)cap, &w);
    free(s);
    if (rc < 0 || w == 0) {
        free(*out);
        *out = NULL;
        return KS_XB_FORMAT;
    }
    *outlen = w;
    return KS_XB_MATCH;
}

static ks_xb ks_xades_b64(xmlNodePtr n, uint8_t **out, size_t *outlen)
{
    return ks_xades_b64_max(n, KS_XADES_MAX_B64, out, outlen);
}

/* ---------------------------------------------------------------- */
/* RFC 4514 names (XMLDSig 4.4.4: X509IssuerName).                  */
/* ---------------------------------------------------------------- */

typedef struct {
    int nid;
    int type;     /* MBSTRING_UTF8, or the ASN.1 string type of a #hex value */
    uint8_t *val; /* malloc'd */
    size_t len;
    int joined; /* '+' before it: the same RDN as the previous value */
} ks_ava;

static int ks_hexval(int c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* An attribute type: a descriptor (CN, o, street; case-insensitive) or a
 * numeric OID (RFC 4514 3). */
static int ks_dn_type(const char *s, size_t n)
{
    char t[64];
    if (n == 0 || n >= sizeof t)
        return NID_undef;
    memcpy(t, s, n);
    t[n] = '\0';
    if (strspn(t, "0123456789.") == n) {
        ASN1_OBJECT *o = OBJ_txt2obj(t, 1);
        int nid = o != NULL ? OBJ_obj2nid(o) : NID_undef;
        ASN1_OBJECT_free(o);
        return nid;
    }
    int nid = OBJ_sn2nid(t);
    if (nid == NID_undef)
        nid = OBJ_ln2nid(t);
    for (int pass = 0; nid == NID_undef && pass < 2; pass++) { /* "cn", "STREET" */
        for (size_t i = 0; i < n; i++)
            t[i] = (char)(pass == 0 ? (t[i] >= 'a' && t[i] <= 'z' ? t[i] - 32 : t[i])
                                    : (t[i] >= 'A' && t[i] <= 'Z' ? t[i] + 32 : t[i]));
        nid = OBJ_sn2nid(t);
    }
    return nid;
}

/* One value, from s[*i] to the next unescaped ',' or '+'.  Returns 1, 0 on
 * a malformed value, -1 out of memory. */
static int ks_dn_value(const char *s, size_t n, size_t *i, ks_ava *a)
{
    size_t k = *i;
    a->type = MBSTRING_UTF8;
    if ((a->val = malloc(n - k + 1)) == NULL)
        return -1;
    if (k < n && s[k] == '#') { /* the BER encoding, in hex (RFC 4514 2.4) */
        size_t m = 0;
        for (k++; k + 1 < n && ks_hexval(s[k]) >= 0 && ks_hexval(s[k + 1]) >= 0; k += 2)
            a->val[m++] = (uint8_t)(ks_hexval(s[k]) << 4 | ks_hexval(s[k + 1]));
        const unsigned char *p = a->val;
        ASN1_TYPE *t = d2i_ASN1_TYPE(NULL, &p, (long)m);
        int ok = t != NULL && p == a->val + m &&
                 (t->type == V_ASN1_UTF8STRING || t->type == V_ASN1_PRINTABLESTRING || t->type == V_ASN1_IA5STRING ||
                  t->type == V_ASN1_T61STRING || t->type == V_ASN1_BMPSTRING || t->type == V_ASN1_UNIVERSALSTRING ||
                  t->type == V_ASN1_VISIBLESTRING);
        if (ok) {
            a->type = t->type;
            a->len = (size_t)t->value.asn1_string->length;
            memcpy(a->val, t->value.asn1_string->data, a->len);
        }
        ASN1_TYPE_free(t);
        while (k < n && s[k] == ' ')
            k++;
        *i = k;
        return ok && (k == n || s[k] == ',' || s[k] == '+');
    }
    size_t m = 0, last = 0; /* last: length up to the last escaped or non-space byte */
    while (k < n && s[k] != ',' && s[k] != '+') {
        if (s[k] == '\\') {
            if (k + 2 < n && ks_hexval(s[k + 1]) >= 0 && ks_hexval(s[k + 2]) >= 0) {
                a->val[m++] = (uint8_t)(ks_hexval(s[k + 1]) << 4 | ks_hexval(s[k + 2]));
                k += 3;
            } else if (k + 1 < n && strchr(" \"#+,;<=>\\", s[k + 1]) != NULL) {
                a->val[m++] = (uint8_t)s[k + 1];
                k += 2;
            } else {
                return 0;
            }
            last = m;
            continue;
        }
        if (s[k] == '"' || s[k] == ';' || s[k] == '<' || s[k] == '>' || s[k] == '\0')
            return 0; /* must be escaped (RFC 4514 2.4) */
        a->val[m++] = (uint8_t)s[k++];
        if (a->val[m - 1] != ' ')
            last = m;
    }
    a->len = last;
    *i = k;
    return a->len > 0 && ks_utf8_valid(a->val, a->len);
}

static void ks_avas_free(ks_ava *a, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(a[i].val);
}

/* An RFC 4514 string -> X509_NAME, compared afterwards with X509_NAME_cmp
 * (canonical: case and white space folded).  *name NULL when unreadable. */
static ks_xb ks_dn_parse(const char *s, X509_NAME **name)
{
    ks_ava avas[KS_XADES_MAX_AVAS];
    size_t navas = 0, n = strlen(s), i = 0;
    ks_xb r = KS_XB_FORMAT;
    X509_NAME *nm = NULL;
    int joined = 0;

    *name = NULL;
    for (;;) {
        while (i < n && s[i] == ' ')
            i++;
        size_t t0 = i;
        while (i < n && s[i] != '=')
            i++;
        size_t t1 = i;
        while (t1 > t0 && s[t1 - 1] == ' ')
            t1--;
        if (i == n || navas == KS_XADES_MAX_AVAS)
            goto done;
        ks_ava *a = &avas[navas++];
        memset(a, 0, sizeof *a);
        a->joined = joined;
        if ((a->nid = ks_dn_type(s + t0, t1 - t0)) == NID_undef)
            goto done;
        for (i++; i < n && s[i] == ' ';)
            i++;
        int k = ks_dn_value(s, n, &i, a);
        if (k < 0) {
            r = KS_XB_NOMEM;
            goto done;
        }
        if (k == 0)
            goto done;
        if (i == n)
            break;
        joined = s[i] == '+';
        i++;
    }
    if ((nm = X509_NAME_new()) == NULL) {
        r = KS_XB_NOMEM;
        goto done;
    }
    /* The string lists the RDNs last first (RFC 4514 2.1). */
    size_t end = navas;
    while (end > 0) {
        size_t start = end - 1;
        while (start > 0 && avas[start].joined)
            start--;
        for (size_t j = start; j < end; j++)
            if (X509_NAME_add_entry_by_NID(nm, avas[j].nid, avas[j].type, avas[j].val, (int)avas[j].len, -1,
                                           j == start ? 0 : -1) != 1)
                goto done;
        end = start;
    }
    *name = nm;
    nm = NULL;
    r = KS_XB_MATCH;
done:
    X509_NAME_free(nm);
    ks_avas_free(avas, navas);
    return r;
}

/* ---------------------------------------------------------------- */
/* One Cert element against one certificate.                        */
/* ---------------------------------------------------------------- */

/* XAdES IssuerSerial: ds:X509IssuerName, ds:X509SerialNumber (decimal). */
static ks_xb ks_xades_issuer_serial_v1(xmlNodePtr is, X509 *cert)
{
    xmlNodePtr in = ks_xml_first_el(is->children), sn = ks_xml_next_el(in);
    char *name = NULL, *serial = NULL;
    X509_NAME *parsed = NULL;
    BIGNUM *bn = NULL;
    ASN1_INTEGER *ai = NULL;
    ks_xb r = KS_XB_FORMAT;

    if (!ks_xml_is(in, KS_DSIG_NS, "X509IssuerName") || !ks_xml_is(sn, KS_DSIG_NS, "X509SerialNumber") ||
        ks_xml_next_el(sn) != NULL || (name = ks_xades_text(in, KS_XADES_MAX_DN)) == NULL ||
        (serial = ks_xades_text(sn, KS_XADES_MAX_SERIAL)) == NULL)
        goto done;
    const char *digits = serial[0] == '+' ? serial + 1 : serial;
    if (strspn(digits + (digits[0] == '-'), "0123456789") != strlen(digits + (digits[0] == '-')) ||
        BN_dec2bn(&bn, digits) != (int)strlen(digits))
        goto done;
    if ((ai = BN_to_ASN1_INTEGER(bn, NULL)) == NULL) {
        r = KS_XB_NOMEM;
        goto done;
    }
    if ((r = ks_dn_parse(name, &parsed)) != KS_XB_MATCH)
        goto done;
    r = X509_NAME_cmp(parsed, X509_get_issuer_name(cert)) == 0 &&
                ASN1_INTEGER_cmp(ai, X509_get0_serialNumber(cert)) == 0
            ? KS_XB_MATCH
            : KS_XB_OTHER;
done:
    free(name);
    free(serial);
    X509_NAME_free(parsed);
    BN_free(bn);
    ASN1_INTEGER_free(ai);
    return r;
}

/* XAdES IssuerSerialV2: base64 of the DER IssuerSerial of RFC 5035
 * (SEQUENCE { GeneralNames, CertificateSerialNumber }); the names hold
 * exactly the issuer's directoryName (RFC 2634 5.4.1). */
static ks_xb ks_xades_issuer_serial_v2(xmlNodePtr is, X509 *cert)
{
    uint8_t *der = NULL;
    size_t len = 0;
    GENERAL_NAMES *gns = NULL;
    ASN1_INTEGER *serial = NULL;
    ks_xb r = ks_xades_b64(is, &der, &len);
    if (r != KS_XB_MATCH)
        goto done;
    r = KS_XB_FORMAT;
    const unsigned char *p = der, *end = der + len;
    long slen = 0;
    int tag = 0, cls = 0;
    int ret = ASN1_get_object(&p, &slen, &tag, &cls, (long)len);
    if ((ret & 0x80) != 0 || ret != V_ASN1_CONSTRUCTED || tag != V_ASN1_SEQUENCE || cls != V_ASN1_UNIVERSAL ||
        slen != end - p)
        goto done;
    if ((gns = d2i_GENERAL_NAMES(NULL, &p, end - p)) == NULL || p >= end ||
        (serial = d2i_ASN1_INTEGER(NULL, &p, end - p)) == NULL || p != end)
        goto done;
    GENERAL_NAME *g = sk_GENERAL_NAME_num(gns) == 1 ? sk_GENERAL_NAME_value(gns, 0) : NULL;
    if (g == NULL || g->type != GEN_DIRNAME)
        goto done;
    r = X509_NAME_cmp(g->d.directoryName, X509_get_issuer_name(cert)) == 0 &&
                ASN1_INTEGER_cmp(serial, X509_get0_serialNumber(cert)) == 0
            ? KS_XB_MATCH
            : KS_XB_OTHER;
done:
    free(der);
    GENERAL_NAMES_free(gns);
    ASN1_INTEGER_free(serial);
    return r;
}

/* xades:Cert = CertDigest (ds:DigestMethod, ds:DigestValue), then
 * IssuerSerial (v1) or IssuerSerialV2 (v2), optional here. */
static ks_xb ks_xades_cert(const ks_ctx *ctx, xmlNodePtr c, int v2, X509 *cert)
{
    xmlNodePtr cd = ks_xml_first_el(c->children), is = ks_xml_next_el(cd);
    xmlNodePtr dm = cd != NULL ? ks_xml_first_el(cd->children) : NULL, dv = ks_xml_next_el(dm);
    uint8_t *want = NULL, got[EVP_MAX_MD_SIZE];
    size_t wlen = 0;
    unsigned int glen = 0;
    ks_xb r = KS_XB_FORMAT;

    if (!ks_xml_is_xades(cd, "CertDigest") || !ks_xml_is(dm, KS_DSIG_NS, "DigestMethod") ||
        !ks_xml_is(dv, KS_DSIG_NS, "DigestValue") || ks_xml_next_el(dv) != NULL ||
        (is != NULL && (!ks_xml_is_xades(is, v2 ? "IssuerSerialV2" : "IssuerSerial") || ks_xml_next_el(is) != NULL)))
        goto done;
    int nid = ks_xml_digest_nid(dm);
    const EVP_MD *md = nid != NID_undef ? EVP_get_digestbynid(nid) : NULL;
    if (md == NULL)
        goto done;
    if (!ks_alg_digest_ok(ctx, nid)) {
        r = KS_XB_ALG;
        goto done;
    }
    if ((r = ks_xades_b64(dv, &want, &wlen)) != KS_XB_MATCH)
        goto done;
    r = KS_XB_NOMEM;
    if (X509_digest(cert, md, got, &glen) != 1)
        goto done;
    r = KS_XB_OTHER;
    if (wlen != glen || CRYPTO_memcmp(want, got, glen) != 0)
        goto done;
    r = is == NULL ? KS_XB_MATCH : v2 ? ks_xades_issuer_serial_v2(is, cert) : ks_xades_issuer_serial_v1(is, cert);
done:
    free(want);
    return r;
}

/* A SigningCertificate(V2) element names cert when one of its Cert elements
 * does (the others may name CA certificates of the path). */
static ks_xb ks_xades_property(const ks_ctx *ctx, xmlNodePtr prop, int v2, X509 *cert)
{
    ks_xb r = KS_XB_OTHER;
    int count = 0;
    for (xmlNodePtr c = ks_xml_first_el(prop->children); c != NULL; c = ks_xml_next_el(c)) {
        if (!ks_xml_is_xades(c, "Cert") || ++count > KS_XADES_MAX_CERTS)
            return KS_XB_FORMAT;
        ks_xb k = ks_xades_cert(ctx, c, v2, cert);
        if (k == KS_XB_MATCH)
            r = KS_XB_MATCH; /* keep reading: a malformed sibling is still malformed */
        else if (k != KS_XB_OTHER)
            return k;
    }
    return count == 0 ? KS_XB_FORMAT : r;
}

/* Every signed SigningCertificate(V2) against cert: MATCH when at least one
 * exists and all name it; OTHER when one does not; *found counts them. */
static ks_xb ks_xades_all(const ks_ctx *ctx, xmlNodePtr const *props, size_t n, X509 *cert, int *found)
{
    ks_xb r = KS_XB_MATCH;
    *found = 0;
    for (size_t i = 0; i < n; i++) {
        for (xmlNodePtr ssp = ks_xml_first_el(props[i]->children); ssp != NULL; ssp = ks_xml_next_el(ssp)) {
            if (!ks_xml_is_xades(ssp, "SignedSignatureProperties"))
                continue;
            for (xmlNodePtr p = ks_xml_first_el(ssp->children); p != NULL; p = ks_xml_next_el(p)) {
                int v2 = ks_xml_is_xades(p, "SigningCertificateV2");
                if (!v2 && !ks_xml_is_xades(p, "SigningCertificate"))
                    continue;
                (*found)++;
                ks_xb k = ks_xades_property(ctx, p, v2, cert);
                if (k != KS_XB_MATCH && k != KS_XB_OTHER)
                    return k;
                if (k == KS_XB_OTHER)
                    r = KS_XB_OTHER;
            }
        }
    }
    return r;
}

ks_result ks_xades_bind(const ks_ctx *ctx, xmlNodePtr const *props, size_t n, X509 **signer,
                        STACK_OF(X509) *embedded, int *bound, ks_status *st)
{
    int found = 0;
    *bound = 0;
    if (*signer == NULL)
        return KS_OK;
    ks_xb r = ks_xades_all(ctx, props, n, *signer, &found);
    if (found == 0)
        return KS_OK; /* nothing signed names a certificate: plain XMLDSig */
    /* Another certificate of KeyInfo for the same key may be the one named. */
    EVP_PKEY *key = X509_get0_pubkey(*signer);
    for (int i = 0; r == KS_XB_OTHER && key != NULL && i < sk_X509_num(embedded); i++) {
        X509 *c = sk_X509_value(embedded, i);
        EVP_PKEY *ck = X509_get0_pubkey(c);
        if (c == *signer || X509_cmp(c, *signer) == 0 || ck == NULL || EVP_PKEY_eq(ck, key) != 1)
            continue;
        if ((r = ks_xades_all(ctx, props, n, c, &found)) == KS_XB_MATCH) {
            if (X509_up_ref(c) != 1)
                return KS_E_NOMEM;
            X509_free(*signer);
            *signer = c;
        }
    }
    switch (r) {
    case KS_XB_MATCH:
        *bound = 1;
        return KS_OK;
    case KS_XB_OTHER:
        ks_status_set(st, KS_TOTAL_FAILED, KS_SUB_SIG_CONSTRAINTS_FAILURE,
                      "the signed XAdES SigningCertificate names another certificate than the one in KeyInfo");
        return KS_OK;
    case KS_XB_ALG:
        ks_status_set(st, KS_INDETERMINATE, KS_SUB_CRYPTO_CONSTRAINTS_FAILURE,
                      "the XAdES SigningCertificate uses a digest the policy does not allow");
        return KS_OK;
    case KS_XB_NOMEM:
        return KS_E_NOMEM;
    default:
        ks_status_set(st, KS_INDETERMINATE, KS_SUB_FORMAT_FAILURE,
                      "the XAdES SigningCertificate cannot be read");
        return KS_OK;
    }
}

/* ---------------------------------------------------------------- */
/* Unsigned properties: XAdES-T and XAdES-X-L.                      */
/* ---------------------------------------------------------------- */

#define KS_XADES_ENC_DER "http://uri.etsi.org/01903/v1.2.2#DER"

/* The canonicalization methods of the XMLDSig allow-list (xml.c), as
 * libxml2 modes (XMLDSig 6.5; Exclusive C14N 1.0; C14N 1.1). */
static const struct {
    const char *uri;
    int mode;
    int comments;
} ks_xades_c14n_algs[] = {
    {"http://www.w3.org/TR/2001/REC-xml-c14n-20010315", XML_C14N_1_0, 0},
    {"http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments", XML_C14N_1_0, 1},
    {"http://www.w3.org/2006/12/xml-c14n11", XML_C14N_1_1, 0},
    {"http://www.w3.org/2006/12/xml-c14n11#WithComments", XML_C14N_1_1, 1},
    {"http://www.w3.org/2001/10/xml-exc-c14n#", XML_C14N_EXCLUSIVE_1_0, 0},
    {"http://www.w3.org/2001/10/xml-exc-c14n#WithComments", XML_C14N_EXCLUSIVE_1_0, 1},
};

/* The node set of one element (XMLDSig 4.3.3.3: the element, its
 * attributes and namespace nodes, and its content), as libxml2's C14N asks
 * about it: attributes and namespace nodes come with their element as
 * `parent` (an xmlNs has no parent of its own). */
static int ks_xades_in_subtree(void *top, xmlNodePtr node, xmlNodePtr parent)
{
    const xmlNode *n = node;
    if (node == NULL)
        return 0;
    if (node->type == XML_NAMESPACE_DECL || node->type == XML_ATTRIBUTE_NODE)
        n = parent;
    for (; n != NULL; n = n->parent)
        if (n == top)
            return 1;
    return 0;
}

/* el canonicalized (mode, comments); 1 done, 0 failed, -1 out of memory. */
static int ks_xades_c14n(xmlNodePtr el, int mode, int comments, uint8_t **out, size_t *len)
{
    int ok = 0;
    xmlBufferPtr b = xmlBufferCreate();
    xmlOutputBufferPtr ob = b != NULL ? xmlOutputBufferCreateBuffer(b, NULL) : NULL;
    *out = NULL;
    if (ob == NULL) {
        ok = -1;
        goto done;
    }
    int n = xmlC14NExecute(el->doc, ks_xades_in_subtree, el, mode, NULL, comments, ob);
    if (xmlOutputBufferClose(ob) < 0 || n < 0)
        goto done;
    size_t k = (size_t)xmlBufferLength(b);
    if ((*out = malloc(k > 0 ? k : 1)) == NULL) {
        ok = -1;
        goto done;
    }
    memcpy(*out, xmlBufferContent(b), k);
    *len = k;
    ok = 1;
done:
    xmlBufferFree(b);
    return ok;
}

/* A timestamp's optional ds:CanonicalizationMethod (XAdESTimeStampType,
 * EN 319 132-1 4.5), at *c: the mode to use (inclusive C14N 1.0 when it is
 * absent), and *c moved past it.  0 when it names a method not on the
 * allow-list or has content (an InclusiveNamespaces PrefixList). */
static int ks_xades_c14n_method(xmlNodePtr *c, int *mode, int *comments)
{
    *mode = XML_C14N_1_0;
    *comments = 0;
    if (!ks_xml_is(*c, KS_DSIG_NS, "CanonicalizationMethod"))
        return 1;
    xmlChar *uri = xmlGetProp(*c, BAD_CAST "Algorithm");
    size_t i = 0, n = sizeof ks_xades_c14n_algs / sizeof ks_xades_c14n_algs[0];
    while (uri != NULL && i < n && strcmp((const char *)uri, ks_xades_c14n_algs[i].uri) != 0)
        i++;
    xmlFree(uri);
    if (i == n || ks_xml_first_el((*c)->children) != NULL)
        return 0;
    *mode = ks_xades_c14n_algs[i].mode;
    *comments = ks_xades_c14n_algs[i].comments;
    *c = ks_xml_next_el(*c);
    return 1;
}

/* A timestamp that is not a token's verdict, reported in its place. */
static ks_result ks_xades_ts_fail(ks_poe *poe, const char *detail)
{
    ks_tsp_result t;
    int room = ks_poe_room(poe);
    if (room <= 0)
        return room < 0 ? KS_E_NOMEM : KS_OK;
    ks_tsp_result_fail(&t, KS_SUB_FORMAT_FAILURE, detail);
    return ks_poe_add(poe, &t);
}

/*
 * One xades:SignatureTimeStamp (ETSI EN 319 132-1 5.3, XAdESTimeStampType):
 * ds:CanonicalizationMethod?, then EncapsulatedTimeStamp+.  Its message
 * imprint covers the ds:SignatureValue element canonicalized with that
 * method, inclusive C14N 1.0 when it is absent (4.5).  Include and
 * ReferenceInfo are for other timestamps (5.5.x), XMLTimeStamp is not
 * supported: such a timestamp is reported and proves nothing.
 */
static ks_result ks_xades_sts(const ks_ctx *ctx, xmlNodePtr sigval, xmlNodePtr sts, time_t at, ks_poe *poe)
{
    ks_result r = KS_OK;
    uint8_t *data = NULL, *der = NULL;
    size_t dlen = 0, len = 0;
    int mode = XML_C14N_1_0, comments = 0, tokens = 0;
    xmlNodePtr c = ks_xml_first_el(sts->children);

    if (!ks_xades_c14n_method(&c, &mode, &comments)) {
        r = ks_xades_ts_fail(poe, "the SignatureTimeStamp names a canonicalization method that is not supported");
        goto done;
    }
    for (; c != NULL; c = ks_xml_next_el(c)) {
        if (!ks_xml_is_xades(c, "EncapsulatedTimeStamp")) {
            r = ks_xades_ts_fail(poe, "a SignatureTimeStamp holds only ds:CanonicalizationMethod and "
                                      "EncapsulatedTimeStamp here (Include, ReferenceInfo and XMLTimeStamp are not "
                                      "supported)");
            goto done;
        }
        tokens++;
        int room = ks_poe_room(poe);
        if (room <= 0) {
            r = room < 0 ? KS_E_NOMEM : KS_OK;
            goto done;
        }
        ks_tsp_result t;
        xmlChar *enc = xmlGetProp(c, BAD_CAST "Encoding");
        int der_enc = enc == NULL || strcmp((const char *)enc, KS_XADES_ENC_DER) == 0;
        xmlFree(enc);
        ks_xb k = der_enc ? ks_xades_b64_max(c, ks_ctx_max_input(ctx), &der, &len) : KS_XB_FORMAT;
        if (k == KS_XB_NOMEM) {
            r = KS_E_NOMEM;
            goto done;
        }
        if (k != KS_XB_MATCH) {
            ks_tsp_result_fail(&t, KS_SUB_FORMAT_FAILURE, "the EncapsulatedTimeStamp is not base64 of a DER token");
            r = ks_poe_add(poe, &t);
        } else {
            int cz = data != NULL ? 1 : ks_xades_c14n(sigval, mode, comments, &data, &dlen);
            if (cz < 0) {
                r = KS_E_NOMEM;
                goto done;
            }
            ks_blob covered = {.name = NULL, .data = data, .len = dlen};
            if (cz == 0) {
                ks_tsp_result_fail(&t, KS_SUB_FORMAT_FAILURE, "the SignatureValue cannot be canonicalized");
                r = ks_poe_add(poe, &t);
            } else {
                r = ks_poe_token(ctx, poe, der, len, &covered, 1, at);
            }
        }
        free(der);
        der = NULL;
        if (r != KS_OK)
            goto done;
    }
    if (tokens == 0)
        r = ks_xades_ts_fail(poe, "a SignatureTimeStamp without an EncapsulatedTimeStamp");
done:
    free(data);
    free(der);
    return r;
}

/* The DER of one Encapsulated*Value (default encoding DER, 5.5.1): 1,
 * 0 unreadable, -1 out of memory. */
static int ks_xades_value(const ks_ctx *ctx, xmlNodePtr v, uint8_t **der, size_t *len)
{
    xmlChar *enc = xmlGetProp(v, BAD_CAST "Encoding");
    int ok = enc == NULL || strcmp((const char *)enc, KS_XADES_ENC_DER) == 0;
    xmlFree(enc);
    if (!ok)
        return 0;
    ks_xb k = ks_xades_b64_max(v, ks_ctx_max_input(ctx), der, len);
    return k == KS_XB_MATCH ? 1 : k == KS_XB_NOMEM ? -1 : 0;
}

/* xades:CertificateValues (5.5.1): EncapsulatedX509Certificate elements
 * join the path candidates.  *bad counts what could not be read. */
static ks_result ks_xades_cert_values(const ks_ctx *ctx, xmlNodePtr cv, STACK_OF(X509) *certs, int *bad)
{
    for (xmlNodePtr c = ks_xml_first_el(cv->children); c != NULL; c = ks_xml_next_el(c)) {
        uint8_t *der = NULL;
        size_t len = 0;
        if (!ks_xml_is_xades(c, "EncapsulatedX509Certificate")) {
            (*bad)++; /* OtherCertificate: not supported */
            continue;
        }
        int k = ks_xades_value(ctx, c, &der, &len);
        if (k < 0)
            return KS_E_NOMEM;
        X509 *x = k > 0 ? ks_vcache_x509(ctx->vcache, der, len) : NULL;
        free(der);
        if (x == NULL) {
            (*bad)++;
            continue;
        }
        if (sk_X509_num(certs) >= ctx->limits.max_certs) {
            X509_free(x);
            return KS_E_LIMIT;
        }
        if (!sk_X509_push(certs, x)) {
            X509_free(x);
            return KS_E_NOMEM;
        }
    }
    return KS_OK;
}

void ks_xades_ocsps_free(ks_xades_ocsps *o)
{
    for (size_t i = 0; o != NULL && i < o->n; i++)
        free((void *)o->v[i].data);
    if (o != NULL) {
        free(o->v);
        o->v = NULL;
        o->n = 0;
    }
}

/* OCSPValues (5.5.2): each EncapsulatedOCSPValue, the DER of one
 * OCSPResponse (RFC 6960 4.2.1) with nothing after it, joins *ocsps;
 * revoke.c checks what it says and who signed it. */
static ks_result ks_xades_ocsp_values(const ks_ctx *ctx, xmlNodePtr g, ks_xades_ocsps *ocsps, int *bad)
{
    for (xmlNodePtr c = ks_xml_first_el(g->children); c != NULL; c = ks_xml_next_el(c)) {
        uint8_t *der = NULL;
        size_t len = 0;
        int k = ks_xml_is_xades(c, "EncapsulatedOCSPValue") ? ks_xades_value(ctx, c, &der, &len) : 0;
        if (k < 0)
            return KS_E_NOMEM;
        OCSP_RESPONSE *resp = NULL;
        if (k > 0 && len <= LONG_MAX) {
            const unsigned char *p = der;
            resp = d2i_OCSP_RESPONSE(NULL, &p, (long)len);
            if (resp != NULL && p != der + len)
                k = 0;
        }
        int ok = resp != NULL && k > 0;
        OCSP_RESPONSE_free(resp);
        ks_openssl_drain(__func__);
        if (!ok) {
            free(der);
            (*bad)++;
            continue;
        }
        if (ocsps->n >= (size_t)ctx->limits.max_crls) {
            free(der);
            return KS_E_LIMIT;
        }
        ks_blob *nv = realloc(ocsps->v, (ocsps->n + 1) * sizeof *nv);
        if (nv == NULL) {
            free(der);
            return KS_E_NOMEM;
        }
        ocsps->v = nv;
        ocsps->v[ocsps->n++] = (ks_blob){.name = NULL, .data = der, .len = len};
    }
    return KS_OK;
}

/* xades:RevocationValues (5.5.2): CRLValues/EncapsulatedCRLValue join the
 * CRLs and OCSPValues the OCSP responses the revocation check consults
 * first; OtherValues are not used. */
static ks_result ks_xades_rev_values(const ks_ctx *ctx, xmlNodePtr rv, STACK_OF(X509_CRL) *crls,
                                     ks_xades_ocsps *ocsps, int *bad)
{
    for (xmlNodePtr g = ks_xml_first_el(rv->children); g != NULL; g = ks_xml_next_el(g)) {
        if (ks_xml_is_xades(g, "OCSPValues")) {
            ks_result r = ks_xades_ocsp_values(ctx, g, ocsps, bad);
            if (r != KS_OK)
                return r;
            continue;
        }
        if (!ks_xml_is_xades(g, "CRLValues"))
            continue;
        for (xmlNodePtr c = ks_xml_first_el(g->children); c != NULL; c = ks_xml_next_el(c)) {
            uint8_t *der = NULL;
            size_t len = 0;
            X509_CRL *crl = NULL;
            int k = ks_xml_is_xades(c, "EncapsulatedCRLValue") ? ks_xades_value(ctx, c, &der, &len) : 0;
            if (k < 0)
                return KS_E_NOMEM;
            if (k > 0 && len <= LONG_MAX) {
                const unsigned char *p = der;
                crl = d2i_X509_CRL(NULL, &p, (long)len);
                if (crl != NULL && p != der + len) { /* trailing bytes */
                    X509_CRL_free(crl);
                    crl = NULL;
                }
            }
            free(der);
            ks_openssl_drain(__func__);
            if (crl == NULL) {
                (*bad)++;
                continue;
            }
            if (sk_X509_CRL_num(crls) >= ctx->limits.max_crls) {
                X509_CRL_free(crl);
                return KS_E_LIMIT;
            }
            if (!sk_X509_CRL_push(crls, crl)) {
                X509_CRL_free(crl);
                return KS_E_NOMEM;
            }
        }
    }
    return KS_OK;
}

/* 1 when QualifyingProperties qp belongs to sig: no Target, or Target
 * "#" + the signature's Id (EN 319 132-1 4.3.1). */
static int ks_xades_qp_ours(xmlNodePtr sig, xmlNodePtr qp)
{
    xmlChar *target = xmlGetProp(qp, BAD_CAST "Target"), *id = xmlGetProp(sig, BAD_CAST "Id");
    int ok = target == NULL || (id != NULL && target[0] == '#' && strcmp((const char *)target + 1, (const char *)id) == 0);
    xmlFree(target);
    xmlFree(id);
    return ok;
}

/* The first child of parent named xades:local, and how many there are. */
static xmlNodePtr ks_xades_child(xmlNodePtr parent, const char *local, int *count)
{
    xmlNodePtr found = NULL;
    *count = 0;
    for (xmlNodePtr c = parent != NULL ? ks_xml_first_el(parent->children) : NULL; c != NULL; c = ks_xml_next_el(c))
        if (ks_xml_is_xades(c, local) && (*count)++ == 0)
            found = c;
    return found;
}

/* The UnsignedSignatureProperties of the one QualifyingProperties of sig
 * (in its ds:Object elements), or NULL; *ambiguous when there are several
 * QualifyingProperties, UnsignedProperties or UnsignedSignatureProperties
 * (4.3: one each): which one would the signer's relying parties read? */
static xmlNodePtr ks_xades_usp(xmlNodePtr sig, int *ambiguous)
{
    xmlNodePtr qp = NULL;
    int nqp = 0, nup = 0, nusp = 0;
    for (xmlNodePtr o = ks_xml_first_el(sig->children); o != NULL; o = ks_xml_next_el(o)) {
        if (!ks_xml_is(o, KS_DSIG_NS, "Object"))
            continue;
        for (xmlNodePtr c = ks_xml_first_el(o->children); c != NULL; c = ks_xml_next_el(c))
            if (ks_xml_is_xades(c, "QualifyingProperties") && ks_xades_qp_ours(sig, c) && nqp++ == 0)
                qp = c;
    }
    xmlNodePtr up = nqp == 1 ? ks_xades_child(qp, "UnsignedProperties", &nup) : NULL;
    xmlNodePtr usp = nup == 1 ? ks_xades_child(up, "UnsignedSignatureProperties", &nusp) : NULL;
    *ambiguous = nqp > 1 || nup > 1 || nusp > 1;
    return nusp == 1 ? usp : NULL;
}

int ks_xades_has_archive(xmlNodePtr sig)
{
    int ambiguous = 0;
    xmlNodePtr usp = ks_xades_usp(sig, &ambiguous);
    for (xmlNodePtr p = usp != NULL ? ks_xml_first_el(usp->children) : NULL; p != NULL; p = ks_xml_next_el(p))
        if (ks_xml_is(p, KS_XADES141_NS, "ArchiveTimeStamp"))
            return 1;
    return 0;
}

/* ---------------------------------------------------------------- */
/* XAdES-A: xadesv141:ArchiveTimeStamp (EN 319 132-1 5.5.2).         */
/* ---------------------------------------------------------------- */

/* At most this many ArchiveTimeStamp elements are verified (the last ones
 * in document order: the newest); the unsigned signature properties one
 * of them may cover. */
#define KS_XADES_MAX_ATS 8
#define KS_XADES_MAX_USP 256

/* The octets one archive timestamp covers, in pieces: borrowed (the
 * References' data, xmlsec's) or owned (canonical forms made here). */
typedef struct {
    ks_blob *v;
    uint8_t *owned; /* per piece: 1 when v[i].data is ours to free */
    size_t n, cap;
} ks_xades_input;

static void ks_xades_input_free(ks_xades_input *in)
{
    for (size_t i = 0; i < in->n; i++)
        if (in->owned[i])
            free((void *)in->v[i].data);
    free(in->v);
    free(in->owned);
    memset(in, 0, sizeof *in);
}

static int ks_xades_input_push(ks_xades_input *in, const uint8_t *data, size_t len, int owned)
{
    if (in->n == in->cap) {
        size_t cap = in->cap ? 2 * in->cap : 16;
        ks_blob *v = realloc(in->v, cap * sizeof *v);
        if (v == NULL)
            return 0;
        in->v = v;
        uint8_t *o = realloc(in->owned, cap);
        if (o == NULL)
            return 0;
        in->owned = o;
        in->cap = cap;
    }
    in->v[in->n] = (ks_blob){.name = NULL, .data = data, .len = len};
    in->owned[in->n++] = (uint8_t)owned;
    return 1;
}

/* el canonicalized as one more piece: 1, 0 it cannot be, -1 out of memory. */
static int ks_xades_input_c14n(ks_xades_input *in, xmlNodePtr el, int mode, int comments)
{
    uint8_t *out = NULL;
    size_t len = 0;
    int k = ks_xades_c14n(el, mode, comments, &out, &len);
    if (k != 1)
        return k;
    if (!ks_xades_input_push(in, out, len, 1)) {
        free(out);
        return -1;
    }
    return 1;
}

/* What the chain of one signature's archive timestamps works on. */
typedef struct {
    xmlNodePtr sig, usp;
    xmlNodePtr ats[KS_XADES_MAX_ATS]; /* document order */
    size_t n;
    const ks_xades_refdata *refs;
    const ks_tsp_env *env; /* the TSA paths' revocation (tsp.c) */
} ks_xades_archive;

/*
 * The input of the archive timestamp `ats` (EN 319 132-1 5.5.2.2, the
 * "implicit" mechanism of XAdES 1.4.1 8.2.1), each element canonicalized
 * with the timestamp's method:
 *   1. every ds:Reference's data as its transforms left it, what was
 *      digested (XMLDSig 4.3.3; xmlsec kept it for us);
 *   2. ds:SignedInfo, ds:SignatureValue and ds:KeyInfo (when present);
 *   3. the unsigned signature properties before `ats`, in document order
 *      (signature timestamps, validation values, older archive
 *      timestamps, TimeStampValidationData: whatever they are);
 *   4. the ds:Object elements of the Signature but the one holding the
 *      QualifyingProperties.
 * 1 built, 0 it cannot be (*why says why), -1 out of memory.
 */
static int ks_xades_ats_input(const ks_xades_archive *a, xmlNodePtr ats, int mode, int comments, ks_xades_input *in,
                              const char **why, ks_subindication *sub)
{
    xmlNodePtr qpobj = a->usp->parent != NULL && a->usp->parent->parent != NULL ? a->usp->parent->parent->parent
                                                                                : NULL;
    size_t nprops = 0;
    int k = 1;
    *sub = KS_SUB_FORMAT_FAILURE;
    if (a->refs == NULL || a->refs->missing != NULL) {
        *why = a->refs != NULL ? a->refs->missing : "the References' data was not kept";
        *sub = KS_SUB_SIGNED_DATA_NOT_FOUND;
        return 0;
    }
    /* 5.5.2.2 step 2 b): a Reference's node set is canonicalized with the
     * timestamp's method; what xmlsec digested went through inclusive C14N
     * 1.0, the same octets only under that method (the node set of a
     * same-document Reference holds no comments, so WithComments agrees). */
    if (a->refs->nodeset && mode != XML_C14N_1_0) {
        *why = "a Reference's node set would be canonicalized with the archive timestamp's method, which is not "
               "supported here (only inclusive C14N 1.0)";
        return 0;
    }
    for (size_t i = 0; i < a->refs->n; i++)
        if (!ks_xades_input_push(in, a->refs->v[i].data, a->refs->v[i].len, 0))
            return -1;
    /* SignedInfo, SignatureValue, KeyInfo?: the shape ks_xml_shape checked. */
    xmlNodePtr si = ks_xml_first_el(a->sig->children), sv = ks_xml_next_el(si), ki = ks_xml_next_el(sv);
    if ((k = ks_xades_input_c14n(in, si, mode, comments)) != 1 || (k = ks_xades_input_c14n(in, sv, mode, comments)) != 1 ||
        (ks_xml_is(ki, KS_DSIG_NS, "KeyInfo") && (k = ks_xades_input_c14n(in, ki, mode, comments)) != 1))
        goto cannot;
    for (xmlNodePtr p = ks_xml_first_el(a->usp->children); p != NULL && p != ats; p = ks_xml_next_el(p)) {
        if (++nprops > KS_XADES_MAX_USP) {
            *why = "too many unsigned signature properties before the archive timestamp";
            return 0;
        }
        if ((k = ks_xades_input_c14n(in, p, mode, comments)) != 1)
            goto cannot;
    }
    for (xmlNodePtr o = ks_xml_first_el(a->sig->children); o != NULL; o = ks_xml_next_el(o))
        if (ks_xml_is(o, KS_DSIG_NS, "Object") && o != qpobj && (k = ks_xades_input_c14n(in, o, mode, comments)) != 1)
            goto cannot;
    return 1;
cannot:
    if (k == 0)
        *why = "an element the archive timestamp covers cannot be canonicalized";
    return k;
}

/* Item i of the chain (0: the last ArchiveTimeStamp in the document). */
static ks_result ks_xades_ats_verify(const ks_ctx *ctx, void *arg, size_t i, time_t at, ks_tsp_result *t)
{
    const ks_xades_archive *a = arg;
    xmlNodePtr ats = a->ats[a->n - 1 - i], c = ks_xml_first_el(ats->children), tok = NULL;
    ks_xades_input in = {0};
    uint8_t *der = NULL;
    size_t len = 0;
    int mode = XML_C14N_1_0, comments = 0;
    const char *why = NULL;
    ks_result r = KS_OK;

    /* XAdES 1.3.2's xades:ArchiveTimeStamp (7.7) covers other data
     * (EN 319 132-1 mandates xadesv141's): reported, proves nothing. */
    if (!ks_xml_is(ats, KS_XADES141_NS, "ArchiveTimeStamp")) {
        ks_tsp_result_fail(t, KS_SUB_FORMAT_FAILURE,
                           "an ArchiveTimeStamp of XAdES 1.3.2 or earlier is not supported (only xadesv141's)");
        goto done;
    }
    if (!ks_xades_c14n_method(&c, &mode, &comments)) {
        ks_tsp_result_fail(t, KS_SUB_FORMAT_FAILURE,
                           "the ArchiveTimeStamp names a canonicalization method that is not supported");
        goto done;
    }
    /* One EncapsulatedTimeStamp: two tokens in one element cover the same
     * data and neither covers the other, so the chain could not tell which
     * proves what.  Include/ReferenceInfo (the explicit form) and
     * XMLTimeStamp are not supported. */
    if (!ks_xml_is_xades(c, "EncapsulatedTimeStamp") || ks_xml_next_el(c) != NULL) {
        ks_tsp_result_fail(t, KS_SUB_FORMAT_FAILURE,
                           "an ArchiveTimeStamp holds only ds:CanonicalizationMethod and one EncapsulatedTimeStamp "
                           "here");
        goto done;
    }
    tok = c;
    xmlChar *enc = xmlGetProp(tok, BAD_CAST "Encoding");
    int der_enc = enc == NULL || strcmp((const char *)enc, KS_XADES_ENC_DER) == 0;
    xmlFree(enc);
    ks_xb kb = der_enc ? ks_xades_b64_max(tok, ks_ctx_max_input(ctx), &der, &len) : KS_XB_FORMAT;
    if (kb == KS_XB_NOMEM) {
        r = KS_E_NOMEM;
        goto done;
    }
    if (kb != KS_XB_MATCH) {
        ks_tsp_result_fail(t, KS_SUB_FORMAT_FAILURE, "the EncapsulatedTimeStamp is not base64 of a DER token");
        goto done;
    }
    ks_subindication sub = KS_SUB_FORMAT_FAILURE;
    int k = ks_xades_ats_input(a, ats, mode, comments, &in, &why, &sub);
    if (k < 0) {
        r = KS_E_NOMEM;
        goto done;
    }
    if (k == 0) { /* no input to hash: the token proves nothing */
        ks_tsp_result_fail(t, sub, why);
        t->indication = KS_INDETERMINATE;
        goto done;
    }
    ks_tsp_verify(ctx, der, len, in.v, in.n, at, a->env, t);
done:
    ks_xades_input_free(&in);
    free(der);
    return r;
}

ks_result ks_xades_unsigned(const ks_ctx *ctx, xmlNodePtr sig, const ks_xades_refdata *refs, time_t at, ks_poe *poe,
                            STACK_OF(X509) **certs, STACK_OF(X509_CRL) **crls, ks_xades_ocsps *ocsps, cJSON *sobj)
{
    ks_result r = KS_OK;
    int ambiguous = 0, bad = 0, more = 0;
    xmlNodePtr usp = ks_xades_usp(sig, &ambiguous);
    /* The shape ks_xml_shape checked: SignedInfo, then SignatureValue. */
    xmlNodePtr sigval = ks_xml_next_el(ks_xml_first_el(sig->children));
    ks_xades_archive a = {.sig = sig, .usp = usp, .n = 0, .refs = refs};
    time_t proven[KS_XADES_MAX_ATS];
    ks_cades_archive_result ar;

    if (ambiguous && !ks_verdict_warn(sobj, "XADES_PROPERTIES_AMBIGUOUS",
                                      "The signature carries more than one set of XAdES qualifying properties; none "
                                      "of their timestamps or validation data were used.",
                                      "XAdES の限定プロパティが複数あるため、そのタイムスタンプや検証データは使用していま"
                                      "せん。"))
        return KS_E_NOMEM;
    if (usp == NULL || !ks_xml_is(sigval, KS_DSIG_NS, "SignatureValue"))
        return KS_OK;
    if ((*certs == NULL && (*certs = sk_X509_new_null()) == NULL) ||
        (*crls == NULL && (*crls = sk_X509_CRL_new_null()) == NULL))
        return KS_E_NOMEM;
    /* First the validation data (XAdES-X-L 5.5.1, 5.5.2, and the
     * TimeStampValidationData of 5.7.1, whose CertificateValues and
     * RevocationValues are the same kind of evidence) and the archive
     * timestamps, the last KS_XADES_MAX_ATS of them. */
    for (xmlNodePtr p = ks_xml_first_el(usp->children); p != NULL && r == KS_OK; p = ks_xml_next_el(p)) {
        if (ks_xml_is_xades(p, "CertificateValues"))
            r = ks_xades_cert_values(ctx, p, *certs, &bad);
        else if (ks_xml_is_xades(p, "RevocationValues"))
            r = ks_xades_rev_values(ctx, p, *crls, ocsps, &bad);
        else if (ks_xml_is(p, KS_XADES141_NS, "TimeStampValidationData"))
            for (xmlNodePtr c = ks_xml_first_el(p->children); c != NULL && r == KS_OK; c = ks_xml_next_el(c)) {
                if (ks_xml_is_xades(c, "CertificateValues"))
                    r = ks_xades_cert_values(ctx, c, *certs, &bad);
                else if (ks_xml_is_xades(c, "RevocationValues"))
                    r = ks_xades_rev_values(ctx, c, *crls, ocsps, &bad);
                else
                    bad++;
            }
        else if (ks_xml_is(p, KS_XADES141_NS, "ArchiveTimeStamp") || ks_xml_is_xades(p, "ArchiveTimeStamp")) {
            if (a.n == KS_XADES_MAX_ATS) { /* keep the newest: drop the oldest */
                memmove(a.ats, a.ats + 1, (KS_XADES_MAX_ATS - 1) * sizeof a.ats[0]);
                a.n--;
                more = 1;
            }
            a.ats[a.n++] = p;
        }
    }
    if (r != KS_OK)
        return r;
    /* The TSA paths' revocation (tsp.c, issue #20) uses this evidence too,
     * for the caller's validation time; pin lives in this frame only. */
    ks_path_input pin = {.embedded = *certs, .crls = *crls, .ocsps = ocsps->v, .n_ocsps = ocsps->n};
    ks_tsp_env env = {.vt = poe->env.vt, .pin = &pin}, caller = poe->env;
    a.env = &env;
    poe->env = env;
    /* XAdES-A: the archive timestamps newest (last) first, each older one
     * validated at the time the newer ones proved (verify.c
     * ks_archive_chain, EN 319 102-1 5.6.2.5). */
    if ((r = ks_archive_chain(ctx, a.n, more, ks_xades_ats_verify, NULL, &a, at, sobj, proven, &ar)) != KS_OK) {
        poe->env = caller;
        return r;
    }
    /* XAdES-T: each SignatureTimeStamp at the time proven by the archive
     * timestamps after it (those before it do not cover it): the oldest
     * verified one after it, or the validation time. */
    size_t next = 0; /* a.ats[next]: the first archive timestamp after p */
    for (xmlNodePtr p = ks_xml_first_el(usp->children); p != NULL && r == KS_OK; p = ks_xml_next_el(p)) {
        if (next < a.n && p == a.ats[next]) {
            next++;
            continue;
        }
        if (ks_xml_is_xades(p, "SignatureTimeStamp"))
            r = ks_xades_sts(ctx, sigval, p, next < a.n ? proven[a.n - 1 - next] : at, poe);
    }
    poe->env = caller;
    if (r == KS_OK)
        ks_poe_archive(poe, &ar);
    if (r == KS_OK && bad > 0 &&
        !ks_verdict_warn(sobj, "LTV_VALUE_UNREADABLE",
                         "Some certificate or revocation values in the signature could not be read and were not "
                         "used.",
                         "署名に含まれる証明書または失効情報の一部を読み取れなかったため、使用していません。"))
        r = KS_E_NOMEM;
    return r;
}
