/*
 * tests/test_xades.c - long-term validation of XAdES signatures (issue #20):
 * XAdES-T, a SignatureTimeStamp as proof of existence (ETSI EN 319 132-1
 * 5.3), and XAdES-X-L, CertificateValues and RevocationValues as evidence
 * (5.5.1, 5.5.2), over the e-Gov packages tests/pki/mkxml.sh signs as XAdES
 * ($PKI/xml/egov-xades).
 *
 * The unsigned properties are added here, after signing (they are unsigned):
 * tokens from a TSA whose clock is injected (tests/ltvlib.h), over the
 * SignatureValue element canonicalized the way XMLDSig names a node set,
 * with an XPath node-set (not the verifier's code path), and the PKI's own
 * certificates and CRLs.  Every row names its expected indication.
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libxml/c14n.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "internal.h"
#include "testlib.h"

#include "ltvlib.h"

static char cfgdir[PATH_MAX];

#define XADES_NS "http://uri.etsi.org/01903/v1.3.2#"
#define XADES141_NS "http://uri.etsi.org/01903/v1.4.1#"
#define DS_NS "http://www.w3.org/2000/09/xmldsig#"
#define C14N "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
#define EXC "http://www.w3.org/2001/10/xml-exc-c14n#"

/* The signing CAs' CRLs and the TSA CA's (tsa-ca.crl: TSA paths are
 * checked for revocation too). */
#define CRLS "\"crls\": [\"@PKI@/pref-ca.crl\", \"@PKI@/pref-ca2.crl\", \"@PKI@/jpki-bca.crl\"," \
             " \"@PKI@/gpki-bca.crl\", \"@PKI@/ministry-ca.crl\", \"@PKI@/tsa-ca.crl\"]"
static const t_config configs[] = {
    /* As tests/test_ltv.c: CRL files, revocation required, TSAs under tsa-ca. */
    {"ltv", "{\"trust_anchors\": [\"@PKI@/anchors\"], \"intermediates\": [\"@PKI@/intermediates\"], " CRLS ","
            " \"accept_policies\": [\"1.2.392.200149.8.5.1.1.20\"], \"timestamp_anchors\": [\"@PKI@/tsa-ca.pem\"]}"},
    {"ltv-noanchors", "{\"trust_anchors\": [\"@PKI@/anchors\"], \"intermediates\": [\"@PKI@/intermediates\"], " CRLS
                      ", \"accept_policies\": [\"1.2.392.200149.8.5.1.1.20\"]}"},
};

/* ---------------- building the unsigned properties ---------------- */

static char *b64(const uint8_t *p, size_t n)
{
    char *out = malloc(4 * ((n + 2) / 3) + 1);
    if (out == NULL || EVP_EncodeBlock((unsigned char *)out, p, (int)n) < 0)
        exit(2);
    return out;
}

static uint8_t *read_pki(const char *rel, size_t *len)
{
    uint8_t *buf = NULL;
    if (!t_read(pki, rel, &buf, len)) {
        fprintf(stderr, "cannot read %s/%s\n", pki, rel);
        exit(2);
    }
    return buf;
}

/* XMLDSig 4.3.3.3 / 6.6.3: the node set of the SignatureValue element
 * (the element, its attributes and namespaces, its content), canonicalized
 * by libxml2 with `mode` (XML_C14N_1_0, XML_C14N_EXCLUSIVE_1_0). */
static uint8_t *c14n_sigvalue(const char *xml, int mode, size_t *len)
{
    xmlDocPtr doc = xmlReadMemory(xml, (int)strlen(xml), NULL, NULL, XML_PARSE_NONET);
    xmlXPathContextPtr xc = doc ? xmlXPathNewContext(doc) : NULL;
    xmlXPathObjectPtr set = NULL;
    xmlChar *out = NULL;
    int n = -1;
    if (xc != NULL && xmlXPathRegisterNs(xc, BAD_CAST "ds", BAD_CAST DS_NS) == 0)
        set = xmlXPathEvalExpression(
            BAD_CAST "(//. | //@* | //namespace::*)[ancestor-or-self::ds:SignatureValue]", xc);
    if (set != NULL && set->nodesetval != NULL)
        n = xmlC14NDocDumpMemory(doc, set->nodesetval, mode, NULL, 0, &out);
    xmlXPathFreeObject(set);
    xmlXPathFreeContext(xc);
    xmlFreeDoc(doc);
    if (n <= 0) {
        fprintf(stderr, "cannot canonicalize the SignatureValue\n");
        exit(2);
    }
    *len = (size_t)n;
    return out;
}

/* xml with `add` inserted before the first `before`: takes `xml` (freed)
 * and gives the new document. */
static char *insert_into(char *xml, const char *before, const char *add)
{
    const char *at = strstr(xml, before);
    if (at == NULL)
        exit(2);
    size_t a = (size_t)(at - xml), n = strlen(xml), k = strlen(add);
    char *out = malloc(n + k + 1);
    if (out == NULL)
        exit(2);
    memcpy(out, xml, a);
    memcpy(out + a, add, k);
    memcpy(out + a + k, at, n - a + 1);
    free(xml);
    return out;
}

/* Appends printf output to a malloc'd string. */
__attribute__((format(printf, 2, 3))) static void cat(char **s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *more = NULL;
    if (vasprintf(&more, fmt, ap) < 0)
        exit(2);
    va_end(ap);
    size_t a = *s ? strlen(*s) : 0, b = strlen(more);
    char *n = realloc(*s, a + b + 1);
    if (n == NULL)
        exit(2);
    memcpy(n + a, more, b + 1);
    *s = n;
    free(more);
}

/* ---------------- the timestamps ---------------- */

typedef enum {
    TS_NONE,
    TS_GOOD,        /* by tsa, over the SignatureValue canonicalized as declared */
    TS_ROGUE,       /* by tsa-rogue (not under timestamp_anchors) */
    TS_TAMPERED,    /* the token's signature broken */
    TS_OTHER_DATA,  /* over the SignatureValue's base64 text, not the element */
    TS_WRONG_C14N,  /* over the other canonical form than the one declared */
    TS_BAD_METHOD,  /* a CanonicalizationMethod that is not a canonicalization */
    TS_TWO_LATER_BAD, /* a good token and, an hour later, a tampered one */
    TS_OLD            /* by tsa-old, whose certificate has expired since */
} ts_kind;

/* The SignatureTimeStamp element(s) for `kind`; `method` the declared
 * CanonicalizationMethod (NULL: none, the default inclusive C14N 1.0). */
static char *make_sts(const char *xml, ts_kind kind, const char *method, time_t gen)
{
    char *out = NULL;
    int exc = method != NULL && strcmp(method, EXC) == 0;
    if (kind == TS_WRONG_C14N)
        exc = !exc;
    size_t clen = 0;
    uint8_t *canon = c14n_sigvalue(xml, exc ? XML_C14N_EXCLUSIVE_1_0 : XML_C14N_1_0, &clen);
    const uint8_t *data = canon;
    size_t dlen = clen;
    const char *sv = strstr(xml, "<SignatureValue>");
    if (kind == TS_OTHER_DATA && sv != NULL) {
        data = (const uint8_t *)sv + strlen("<SignatureValue>");
        dlen = (size_t)(strstr((const char *)data, "</SignatureValue>") - (const char *)data);
    }
    for (int i = 0; i < (kind == TS_TWO_LATER_BAD ? 2 : 1); i++) {
        size_t toklen = 0;
        uint8_t *tok = make_token(kind == TS_ROGUE ? "tsa-rogue" : kind == TS_OLD ? "tsa-old" : "tsa", data, dlen,
                                  gen + i * 3600, &toklen);
        if (kind == TS_TAMPERED || i == 1)
            tok[toklen - 1] ^= 0x01; /* the last byte is the token's signature's */
        char *t64 = b64(tok, toklen);
        cat(&out, "<xades:SignatureTimeStamp Id=\"TS%d\">", i + 1);
        if (kind == TS_BAD_METHOD)
            cat(&out, "<ds:CanonicalizationMethod xmlns:ds=\"%s\" Algorithm=\"%s\"/>", DS_NS,
                "http://www.w3.org/TR/1999/REC-xslt-19991116");
        else if (method != NULL)
            cat(&out, "<ds:CanonicalizationMethod xmlns:ds=\"%s\" Algorithm=\"%s\"/>", DS_NS, method);
        cat(&out, "<xades:EncapsulatedTimeStamp>%s</xades:EncapsulatedTimeStamp></xades:SignatureTimeStamp>", t64);
        free(t64);
        OPENSSL_free(tok);
    }
    xmlFree(canon);
    return out;
}

/* ---------------- XAdES-X-L values ---------------- */

typedef enum {
    XL_NONE,
    XL_FULL,       /* the path's CA certificates and every CA's current CRL */
    XL_CERTS_ONLY, /* certificates, no revocation values */
    XL_FORGED_CRL, /* pref-ca.crl re-signed by another key */
    XL_STALE_CRL,  /* pref-ca-stale.crl, genuine but past its nextUpdate */
    XL_GARBAGE_CRL, /* an EncapsulatedCRLValue that is not a CRL */
    XL_OCSP,        /* certificates, the signer's status by OCSP, the CAs' by CRL (no pref-ca.crl) */
    XL_OCSP_STALE,  /* the same with an OCSP answer past its nextUpdate */
    XL_OCSP_FORGED, /* ... signed by a certificate that is no responder of pref-ca */
    XL_OCSP_GARBAGE, /* an EncapsulatedOCSPValue that is not an OCSP response */
    XL_TSVD,         /* XL_FULL's values inside an xadesv141:TimeStampValidationData */
    XL_TSVD_GARBAGE  /* the same with XL_GARBAGE_CRL's unreadable CRL */
} xl_kind;

static const char *const xl_certs[] = {"cross-jpki-to-pref.pem", "cross-gpki-to-jpki.pem",
                                       "cross-ministry-to-gpki.pem"};
static const char *const xl_crls[] = {"pref-ca.crl", "pref-ca2.crl", "jpki-bca.crl", "gpki-bca.crl",
                                      "ministry-ca.crl"};

static char *der_b64_of(const char *rel, int crl, int forge)
{
    size_t len = 0;
    uint8_t *pem = read_pki(rel, &len);
    BIO *b = BIO_new_mem_buf(pem, (int)len);
    unsigned char *der = NULL;
    int n = -1;
    if (crl) {
        X509_CRL *c = PEM_read_bio_X509_CRL(b, NULL, NULL, NULL);
        if (c != NULL && forge) { /* the same CRL, the issuer's name, another key */
            EVP_PKEY *k = load_key("rogue-ca");
            if (X509_CRL_sign(c, k, EVP_sha256()) <= 0)
                exit(2);
            EVP_PKEY_free(k);
        }
        n = c ? i2d_X509_CRL(c, &der) : -1;
        X509_CRL_free(c);
    } else {
        X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
        n = x ? i2d_X509(x, &der) : -1;
        X509_free(x);
    }
    BIO_free(b);
    free(pem);
    if (n <= 0)
        exit(2);
    char *out = b64(der, (size_t)n);
    OPENSSL_free(der);
    return out;
}

/* An OCSP response about `who` from pref-ca's side, by `signer`, current
 * for half an hour before the validation time (or two days stale). */
static char *ocsp_b64(const char *who, const char *signer, int stale)
{
    X509 *cert = load_cert(who);
    time_t tu = stale ? t_at - 3 * 86400 : t_at - 1800;
    size_t len = 0;
    uint8_t *der = make_ocsp(signer, "pref-ca-self", cert, V_OCSP_CERTSTATUS_GOOD, 0, tu, tu + 86400, &len);
    char *out = b64(der, len);
    OPENSSL_free(der);
    X509_free(cert);
    return out;
}

static char *make_xl(const char *who, xl_kind kind)
{
    char *out = NULL;
    int ocsp = kind >= XL_OCSP && kind <= XL_OCSP_GARBAGE;
    if (kind == XL_NONE)
        return NULL;
    if (kind == XL_TSVD || kind == XL_TSVD_GARBAGE) { /* EN 319 132-1 5.7.1: the same values, in another wrapper */
        char *in = make_xl(who, kind == XL_TSVD ? XL_FULL : XL_GARBAGE_CRL);
        cat(&out, "<xadesv141:TimeStampValidationData xmlns:xadesv141=\"" XADES141_NS "\">%s"
                  "</xadesv141:TimeStampValidationData>", in);
        free(in);
        return out;
    }
    cat(&out, "<xades:CertificateValues>");
    for (size_t i = 0; i < sizeof xl_certs / sizeof xl_certs[0]; i++) {
        char *c = der_b64_of(xl_certs[i], 0, 0);
        cat(&out, "<xades:EncapsulatedX509Certificate>%s</xades:EncapsulatedX509Certificate>", c);
        free(c);
    }
    cat(&out, "</xades:CertificateValues>");
    if (kind == XL_CERTS_ONLY)
        return out;
    cat(&out, "<xades:RevocationValues><xades:CRLValues>");
    for (size_t i = 0; i < sizeof xl_crls / sizeof xl_crls[0]; i++) {
        int pref = i == 0;
        char *c = NULL;
        if (pref && ocsp)
            continue; /* the signer's status comes by OCSP */
        if (pref && kind == XL_GARBAGE_CRL)
            c = strdup("bm90IGEgQ1JMIGF0IGFsbA==");
        else
            c = der_b64_of(pref && kind == XL_STALE_CRL ? "pref-ca-stale.crl" : xl_crls[i], 1,
                           pref && kind == XL_FORGED_CRL);
        cat(&out, "<xades:EncapsulatedCRLValue>%s</xades:EncapsulatedCRLValue>", c);
        free(c);
    }
    cat(&out, "</xades:CRLValues>");
    if (ocsp) {
        char *o = kind == XL_OCSP_GARBAGE ? strdup("bm90IGFuIE9DU1AgcmVzcG9uc2U=")
                                          : ocsp_b64(who, kind == XL_OCSP_FORGED ? "rogue-citizen" : "ocsp-responder",
                                                     kind == XL_OCSP_STALE);
        cat(&out, "<xades:OCSPValues><xades:EncapsulatedOCSPValue>%s</xades:EncapsulatedOCSPValue></xades:OCSPValues>",
            o);
        free(o);
    }
    cat(&out, "</xades:RevocationValues>");
    return out;
}

/* The signed package of `who` with the unsigned properties of a row. */
static char *make_doc(const char *who, ts_kind ts, const char *method, time_t gen, xl_kind xl)
{
    char rel[128];
    size_t len = 0;
    snprintf(rel, sizeof rel, "xml/egov-xades/kousei-%s.xml", who);
    uint8_t *raw = read_pki(rel, &len);
    char *xml = strndup((const char *)raw, len);
    free(raw);
    char *sts = ts != TS_NONE ? make_sts(xml, ts, method, gen) : NULL;
    char *vals = make_xl(who, xl);
    if (sts == NULL && vals == NULL)
        return xml;
    char *usp = NULL;
    cat(&usp, "<xades:UnsignedProperties><xades:UnsignedSignatureProperties>%s%s"
              "</xades:UnsignedSignatureProperties></xades:UnsignedProperties>",
        sts ? sts : "", vals ? vals : "");
    xml = insert_into(xml, "</xades:QualifyingProperties>", usp);
    free(usp);
    free(sts);
    free(vals);
    return xml;
}

static ks_result verify_doc(ks_ctx *ctx, const char *xml, time_t at, cJSON **v)
{
    uint8_t *f1 = NULL, *f2 = NULL;
    size_t l1 = 0, l2 = 0;
    f1 = read_pki("xml/egov-xades/form1.xml", &l1);
    f2 = read_pki("xml/egov-xades/form2.pdf", &l2);
    ks_blob atts[2] = {{.name = "form1.xml", .data = f1, .len = l1}, {.name = "form2.pdf", .data = f2, .len = l2}};
    ks_request req = {.signature = {.name = "kousei.xml", .data = (const uint8_t *)xml, .len = strlen(xml)},
                      .contents = atts,
                      .n_contents = 2,
                      .at = at,
                      .has_at = 1};
    ks_result r = ks_verify_signature(ctx, &req, v);
    free(f1);
    free(f2);
    if (*v != NULL)
        *v = t_printed(*v);
    return r;
}

/* ---------------- verdict readers ---------------- */

static const char *str_at(const cJSON *o, const char *k)
{
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, k));
}

static const cJSON *signer0(const cJSON *v)
{
    return cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(v, "signers"), 0);
}

static int has_code(const cJSON *arr, const char *code)
{
    const cJSON *r;
    cJSON_ArrayForEach(r, arr)
    {
        if (t_str_eq(str_at(r, "code"), code))
            return 1;
    }
    return 0;
}

/* ---------------- XAdES-T ---------------- */

typedef enum { B_REVOKED, B_EXPIRED } base;

static const struct trow {
    const char *name;
    const char *who;
    ts_kind ts;
    const char *method; /* the timestamp's CanonicalizationMethod, NULL none */
    base gen_base;
    long gen_offset;
    const char *config;
    const char *indication, *sub;
    const char *ts_indication, *ts_sub; /* timestamps[0]; NULL: none */
    int imprint_ok;
    int poe;
    const char *reason;
} trows[] = {
    /* Without a timestamp: the signed SigningTime is a claim only. */
    {"revoked-nots", "citizen-revoked", TS_NONE, NULL, B_REVOKED, -86400, "ltv", "INDETERMINATE", "REVOKED_NO_POE",
     NULL, NULL, 0, 0, NULL},
    {"expired-nots", "citizen-expired", TS_NONE, NULL, B_EXPIRED, -30 * 86400L, "ltv", "INDETERMINATE",
     "OUT_OF_BOUNDS_NO_POE", NULL, NULL, 0, 0, NULL},
    /* Expired since the timestamp: passes, and says why. */
    {"expired-since-ts", "citizen-expired", TS_GOOD, NULL, B_EXPIRED, -30 * 86400L, "ltv", "TOTAL_PASSED", NULL,
     "TOTAL_PASSED", NULL, 1, 1, "EXPIRED_AFTER_POE"},
    {"expired-after-ts-exc", "citizen-expired", TS_GOOD, EXC, B_EXPIRED, -30 * 86400L, "ltv", "TOTAL_PASSED", NULL,
     "TOTAL_PASSED", NULL, 1, 1, "EXPIRED_AFTER_POE"},
    {"expired-after-ts-c14n", "citizen-expired", TS_GOOD, C14N, B_EXPIRED, -30 * 86400L, "ltv", "TOTAL_PASSED", NULL,
     "TOTAL_PASSED", NULL, 1, 1, "EXPIRED_AFTER_POE"},
    /* Timestamped after it expired: the proof comes too late, and the
     * signed SigningTime (before notAfter) is only a claim (EN 319 102-1
     * 5.6.2.4: no POE before the expiry). */
    {"expired-before-ts", "citizen-expired", TS_GOOD, NULL, B_EXPIRED, 86400, "ltv", "INDETERMINATE",
     "OUT_OF_BOUNDS_NO_POE", "TOTAL_PASSED", NULL, 1, 1, NULL},
    /* Revoked after the timestamp: passes; before it: fails. */
    {"revoked-after-ts", "citizen-revoked", TS_GOOD, NULL, B_REVOKED, -86400, "ltv", "TOTAL_PASSED", NULL,
     "TOTAL_PASSED", NULL, 1, 1, "REVOKED_AFTER_POE"},
    {"revoked-before-ts", "citizen-revoked", TS_GOOD, NULL, B_REVOKED, 60, "ltv", "TOTAL_FAILED", "REVOKED",
     "TOTAL_PASSED", NULL, 1, 1, NULL},
    /* An untrusted TSA, or none trusted: judged without POE. */
    {"expired-rogue-ts", "citizen-expired", TS_ROGUE, NULL, B_EXPIRED, -30 * 86400L, "ltv", "INDETERMINATE",
     "OUT_OF_BOUNDS_NO_POE", "INDETERMINATE", "NO_CERTIFICATE_CHAIN_FOUND", 1, 0, NULL},
    {"revoked-rogue-ts", "citizen-revoked", TS_ROGUE, NULL, B_REVOKED, -86400, "ltv", "INDETERMINATE",
     "REVOKED_NO_POE", "INDETERMINATE", "NO_CERTIFICATE_CHAIN_FOUND", 1, 0, NULL},
    {"revoked-noanchors", "citizen-revoked", TS_GOOD, NULL, B_REVOKED, -86400, "ltv-noanchors", "INDETERMINATE",
     "REVOKED_NO_POE", "INDETERMINATE", "NO_CERTIFICATE_CHAIN_FOUND", 1, 0, NULL},
    /* A tampered token: reported, no POE. */
    {"expired-tampered-ts", "citizen-expired", TS_TAMPERED, NULL, B_EXPIRED, -30 * 86400L, "ltv", "INDETERMINATE",
     "OUT_OF_BOUNDS_NO_POE", "TOTAL_FAILED", "SIG_CRYPTO_FAILURE", 1, 0, NULL},
    {"revoked-tampered-ts", "citizen-revoked", TS_TAMPERED, NULL, B_REVOKED, -86400, "ltv", "INDETERMINATE",
     "REVOKED_NO_POE", "TOTAL_FAILED", "SIG_CRYPTO_FAILURE", 1, 0, NULL},
    /* Message imprints over something else: the base64 text, or the
     * element canonicalized otherwise than the timestamp declares. */
    {"revoked-imprint-text", "citizen-revoked", TS_OTHER_DATA, NULL, B_REVOKED, -86400, "ltv", "INDETERMINATE",
     "REVOKED_NO_POE", "TOTAL_FAILED", "HASH_FAILURE", 0, 0, NULL},
    {"revoked-imprint-exc-declared-c14n", "citizen-revoked", TS_WRONG_C14N, C14N, B_REVOKED, -86400, "ltv",
     "INDETERMINATE", "REVOKED_NO_POE", "TOTAL_FAILED", "HASH_FAILURE", 0, 0, NULL},
    {"revoked-imprint-c14n-declared-exc", "citizen-revoked", TS_WRONG_C14N, EXC, B_REVOKED, -86400, "ltv",
     "INDETERMINATE", "REVOKED_NO_POE", "TOTAL_FAILED", "HASH_FAILURE", 0, 0, NULL},
    {"revoked-imprint-default-is-c14n", "citizen-revoked", TS_WRONG_C14N, NULL, B_REVOKED, -86400, "ltv",
     "INDETERMINATE", "REVOKED_NO_POE", "TOTAL_FAILED", "HASH_FAILURE", 0, 0, NULL},
    /* A CanonicalizationMethod that is not on the allow-list (XSLT). */
    {"revoked-bad-method", "citizen-revoked", TS_BAD_METHOD, NULL, B_REVOKED, -86400, "ltv", "INDETERMINATE",
     "REVOKED_NO_POE", "TOTAL_FAILED", "FORMAT_FAILURE", 0, 0, NULL},
    /* A good token and a later broken one: the good one is the POE. */
    {"revoked-two-ts", "citizen-revoked", TS_TWO_LATER_BAD, NULL, B_REVOKED, -86400, "ltv", "TOTAL_PASSED", NULL,
     "TOTAL_PASSED", NULL, 1, 1, "REVOKED_AFTER_POE"},
};

static time_t row_gen(base b, long off)
{
    return (b == B_REVOKED ? t_revoked : t_expired) + off;
}

static void test_t_rows(void)
{
    for (size_t i = 0; i < sizeof trows / sizeof trows[0]; i++) {
        const struct trow *r = &trows[i];
        time_t gen = row_gen(r->gen_base, r->gen_offset);
        char *xml = make_doc(r->who, r->ts, r->method, gen, XL_NONE);
        ks_ctx *ctx = t_load_config(cfgdir, r->config);
        cJSON *v = NULL;
        ks_result res = verify_doc(ctx, xml, t_at, &v);
        CHECK(res == KS_OK && v != NULL, "%s: %s", r->name, ks_result_name(res));
        const cJSON *s = signer0(v);
        CHECK_STR(str_at(v, "indication"), r->indication, "%s", r->name);
        CHECK_STR(str_at(v, "subindication"), r->sub, "%s (%s)", r->name, t_str(str_at(v, "detail")));
        const cJSON *tss = cJSON_GetObjectItemCaseSensitive(s, "timestamps");
        CHECK(cJSON_IsArray(tss), "%s: timestamps[]", r->name);
        const cJSON *ts = cJSON_GetArrayItem(tss, 0);
        CHECK_STR(ts ? str_at(ts, "indication") : NULL, r->ts_indication, "%s timestamps[0] (%s)", r->name,
                  t_str(ts ? str_at(ts, "detail") : NULL));
        if (ts != NULL) {
            CHECK_STR(str_at(ts, "subindication"), r->ts_sub, "%s timestamps[0]", r->name);
            CHECK(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ts, "message_imprint_ok")) == r->imprint_ok,
                  "%s: message_imprint_ok", r->name);
            CHECK_STR(str_at(ts, "type"), "signature", "%s", r->name);
        }
        if (r->ts == TS_TWO_LATER_BAD) {
            const cJSON *t2 = cJSON_GetArrayItem(tss, 1);
            CHECK(cJSON_GetArraySize(tss) == 2, "%s: two timestamps", r->name);
            CHECK_STR(t2 ? str_at(t2, "indication") : NULL, "TOTAL_FAILED", "%s: the broken token", r->name);
        } else {
            CHECK(cJSON_GetArraySize(tss) == (r->ts == TS_NONE ? 0 : 1), "%s: %d timestamps", r->name,
                  cJSON_GetArraySize(tss));
        }
        char want[32];
        ks_time_format(gen, want, sizeof want);
        CHECK_STR(str_at(s, "best_signature_time"), r->poe ? want : NULL, "%s", r->name);
        CHECK_STR(str_at(v, "best_signature_time"), r->poe ? want : NULL, "%s: top level", r->name);
        const cJSON *poe = cJSON_GetObjectItemCaseSensitive(s, "poe");
        CHECK(r->poe ? cJSON_IsObject(poe) : cJSON_IsNull(poe), "%s: poe", r->name);
        if (r->poe) {
            CHECK_STR(str_at(poe, "source"), "signature_timestamp", "%s", r->name);
            CHECK(str_at(poe, "tsa") != NULL && strstr(str_at(poe, "tsa"), "Synthetic TSA 1") != NULL, "%s: poe.tsa",
                  r->name);
        }
        const cJSON *vm = cJSON_GetObjectItemCaseSensitive(s, "validation_model");
        CHECK_STR(vm ? str_at(vm, "basis") : NULL, r->poe ? "best_signature_time" : "validation_time", "%s",
                  r->name);
        if (r->reason != NULL)
            CHECK(has_code(cJSON_GetObjectItemCaseSensitive(v, "reasons"), r->reason), "%s: reason %s", r->name,
                  r->reason);
        cJSON_Delete(v);
        ks_ctx_unref(ctx);
        free(xml);
    }
}

/* The two canonical forms the rows rely on do differ: xades is declared
 * on ds:Signature, so inclusive C14N carries it and exclusive does not. */
static void test_c14n_forms(void)
{
    size_t len = 0, a = 0, b = 0;
    uint8_t *raw = read_pki("xml/egov-xades/kousei-citizen-revoked.xml", &len);
    char *xml = strndup((const char *)raw, len);
    uint8_t *inc = c14n_sigvalue(xml, XML_C14N_1_0, &a), *exc = c14n_sigvalue(xml, XML_C14N_EXCLUSIVE_1_0, &b);
    static const char want_inc[] = "<SignatureValue xmlns=\"" DS_NS "\" xmlns:xades=\"" XADES_NS "\">",
                      want_exc[] = "<SignatureValue xmlns=\"" DS_NS "\">";
    CHECK(strncmp((const char *)inc, want_inc, sizeof want_inc - 1) == 0, "inclusive: %.100s", (const char *)inc);
    CHECK(strncmp((const char *)exc, want_exc, sizeof want_exc - 1) == 0, "exclusive: %.80s", (const char *)exc);
    xmlFree(inc);
    xmlFree(exc);
    free(xml);
    free(raw);
}

/* A signature that does not verify: its timestamps prove nothing and are
 * not looked at. */
static void test_broken_signature(void)
{
    char *xml = make_doc("citizen-revoked", TS_GOOD, NULL, t_revoked - 86400, XL_NONE);
    char *p = strstr(xml, "<手続ID>900A000000000001");
    CHECK(p != NULL, "fixture");
    if (p != NULL)
        p[strlen("<手続ID>900A00000000000")] = '9';
    ks_ctx *ctx = t_load_config(cfgdir, "ltv");
    cJSON *v = NULL;
    CHECK(verify_doc(ctx, xml, t_at, &v) == KS_OK && v != NULL, "verdict");
    const cJSON *s = signer0(v);
    CHECK_STR(str_at(v, "indication"), "TOTAL_FAILED", "altered package");
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(s, "timestamps")) == 0, "no timestamps checked");
    CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(s, "best_signature_time")), "no POE");
    cJSON_Delete(v);
    ks_ctx_unref(ctx);
    free(xml);
}

/* ---------------- all or nothing under allocation failure ---------------- */

/* ltv_oom_run (ltvlib.h) over an XAdES-T package whose signer was revoked
 * after its good timestamp (a tampered one follows an hour later). */
/* The all-or-nothing allocation-failure run (ltvlib.h) over `xml` with the
 * e-Gov attachments; takes `xml`. */
static void oom_run_doc(char *xml, const char *label, const char *want)
{
    ks_ctx *ctx = t_load_config(cfgdir, "ltv");
    uint8_t *f1 = NULL, *f2 = NULL;
    size_t l1 = 0, l2 = 0;
    f1 = read_pki("xml/egov-xades/form1.xml", &l1);
    f2 = read_pki("xml/egov-xades/form2.pdf", &l2);
    ks_blob atts[2] = {{.name = "form1.xml", .data = f1, .len = l1}, {.name = "form2.pdf", .data = f2, .len = l2}};
    ks_request req = {.signature = {.name = "kousei.xml", .data = (const uint8_t *)xml, .len = strlen(xml)},
                      .contents = atts,
                      .n_contents = 2,
                      .at = t_at,
                      .has_at = 1};
    ltv_oom_run(ctx, &req, label, want);
    free(f1);
    free(f2);
    ks_ctx_unref(ctx);
    free(xml);
}

static void test_oom(void)
{
    oom_run_doc(make_doc("citizen-revoked", TS_TWO_LATER_BAD, NULL, t_revoked - 86400, XL_NONE), "oom",
                "\"REVOKED_AFTER_POE\"");
}

/* ---------------- unsigned properties in hostile shapes ---------------- */

/* s with the first `from` replaced by `to` (a new string). */
static char *replace1(const char *s, const char *from, const char *to)
{
    const char *at = strstr(s, from);
    if (at == NULL)
        exit(2);
    char *out = NULL;
    cat(&out, "%.*s%s%s", (int)(at - s), s, to, at + strlen(from));
    return out;
}

static void test_hostile(void)
{
    static const struct {
        const char *name;
        const char *from, *to; /* applied to a good revoked-after-ts package */
        int copies;            /* SignatureTimeStamp elements (0: one) */
        const char *sub;       /* expected subindication */
        int ntimestamps;
        const char *ts_sub; /* timestamps[0].subindication */
        const char *warning;
    } cases[] = {
        /* Properties whose Target names another signature: not this one's. */
        {"target-other", "Target=\"#SIG\"", "Target=\"#OTHER\"", 0, "REVOKED_NO_POE", 0, NULL, NULL},
        /* Two sets of qualifying properties: which one counts?  Neither. */
        {"two-qualifying", "</Object>",
         "</Object><Object><xades:QualifyingProperties Target=\"#SIG\"><xades:UnsignedProperties>"
         "<xades:UnsignedSignatureProperties/></xades:UnsignedProperties></xades:QualifyingProperties></Object>",
         0, "REVOKED_NO_POE", 0, NULL, "XADES_PROPERTIES_AMBIGUOUS"},
        /* A token in an encoding other than DER. */
        {"ber-encoding", "<xades:EncapsulatedTimeStamp>",
         "<xades:EncapsulatedTimeStamp Encoding=\"http://uri.etsi.org/01903/v1.2.2#BER\">", 0, "REVOKED_NO_POE", 1,
         "FORMAT_FAILURE", NULL},
        /* An XMLTimeStamp, which is not supported. */
        {"xml-timestamp", "<xades:EncapsulatedTimeStamp>", "<xades:XMLTimeStamp/><xades:EncapsulatedTimeStamp>", 0,
         "REVOKED_NO_POE", 1, "FORMAT_FAILURE", NULL},
        /* A canonicalization method with an InclusiveNamespaces child. */
        {"c14n-with-child", "<xades:EncapsulatedTimeStamp>",
         "<ds:CanonicalizationMethod xmlns:ds=\"" DS_NS "\" Algorithm=\"" EXC "\"><ec:InclusiveNamespaces "
         "xmlns:ec=\"" EXC "\" PrefixList=\"xades\"/></ds:CanonicalizationMethod><xades:EncapsulatedTimeStamp>",
         0, "REVOKED_NO_POE", 1, "FORMAT_FAILURE", NULL},
        /* Twelve timestamps: eight are verified, the rest said so. */
        {"twelve", NULL, NULL, 12, NULL, 8, NULL, "TIMESTAMPS_NOT_CHECKED"},
    };
    ks_ctx *ctx = t_load_config(cfgdir, "ltv");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *xml = make_doc("citizen-revoked", TS_GOOD, NULL, t_revoked - 86400, XL_NONE);
        if (cases[i].from != NULL) {
            char *x2 = replace1(xml, cases[i].from, cases[i].to);
            free(xml);
            xml = x2;
        }
        for (int k = 1; k < cases[i].copies; k++) { /* the first SignatureTimeStamp, again */
            const char *a = strstr(xml, "<xades:SignatureTimeStamp"), *b = strstr(xml, "</xades:SignatureTimeStamp>");
            char *one = NULL;
            cat(&one, "%.*s</xades:SignatureTimeStamp>", (int)(b - a), a);
            char *id = strstr(one, " Id=\"TS1\"");
            if (id != NULL)
                memcpy(id, "         ", 9); /* IDs stay unique */
            xml = insert_into(xml, "<xades:SignatureTimeStamp", one);
            free(one);
        }
        cJSON *v = NULL;
        CHECK(verify_doc(ctx, xml, t_at, &v) == KS_OK && v != NULL, "%s: verdict", cases[i].name);
        const cJSON *s = signer0(v), *tss = cJSON_GetObjectItemCaseSensitive(s, "timestamps");
        CHECK_STR(str_at(v, "subindication"), cases[i].sub, "%s", cases[i].name);
        CHECK(cJSON_GetArraySize(tss) == cases[i].ntimestamps, "%s: %d timestamps", cases[i].name,
              cJSON_GetArraySize(tss));
        if (cases[i].ts_sub != NULL)
            CHECK_STR(str_at(cJSON_GetArrayItem(tss, 0), "subindication"), cases[i].ts_sub, "%s", cases[i].name);
        if (cases[i].warning != NULL)
            CHECK(has_code(cJSON_GetObjectItemCaseSensitive(s, "warnings"), cases[i].warning), "%s: warning %s",
                  cases[i].name, cases[i].warning);
        if (cases[i].sub != NULL)
            CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(s, "poe")), "%s: no POE", cases[i].name);
        cJSON_Delete(v);
        free(xml);
    }
    ks_ctx_unref(ctx);
}

/* ---------------- XAdES-X-L: every responder down ---------------- */

static atomic_int hits;
static atomic_int stop;

static void *listener_main(void *arg)
{
    int fd = *(int *)arg;
    while (!atomic_load(&stop)) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 50) > 0) {
            int c = accept(fd, NULL, NULL);
            if (c >= 0) {
                atomic_fetch_add(&hits, 1);
                close(c); /* "down": every fetch fails */
            }
        }
    }
    return NULL;
}

static const struct xrow {
    const char *name;
    const char *who;
    xl_kind xl;
    ts_kind ts;
    long gen_offset; /* from citizen-revoked's revocation */
    const char *indication, *sub;
    int fetches; /* 0: none may be attempted; 1: some must have been */
    const char *reason;
} xrows[] = {
    /* No values: no path (no intermediates configured) . */
    {"xl-none", "citizen-rsa", XL_NONE, TS_NONE, 0, "INDETERMINATE", "NO_CERTIFICATE_CHAIN_FOUND", 0, NULL},
    /* Certificates only: the path builds, revocation needs the network. */
    {"xl-certs-only", "citizen-rsa", XL_CERTS_ONLY, TS_NONE, 0, "INDETERMINATE", "TRY_LATER", 1, NULL},
    /* XAdES-X-L: certificates and CRLs: passes with nothing fetched. */
    {"xl-full", "citizen-rsa", XL_FULL, TS_NONE, 0, "TOTAL_PASSED", NULL, 0, NULL},
    {"xl-full-ts", "citizen-rsa", XL_FULL, TS_GOOD, -3600, "TOTAL_PASSED", NULL, 0, NULL},
    /* Revoked after its timestamp, the embedded CRL saying so. */
    {"xl-revoked-after-ts", "citizen-revoked", XL_FULL, TS_GOOD, -86400, "TOTAL_PASSED", NULL, 0,
     "REVOKED_AFTER_POE"},
    {"xl-revoked-before-ts", "citizen-revoked", XL_FULL, TS_GOOD, 60, "TOTAL_FAILED", "REVOKED", 0, NULL},
    /* A forged or stale embedded CRL is no evidence. */
    {"xl-forged-crl", "citizen-rsa", XL_FORGED_CRL, TS_NONE, 0, "INDETERMINATE", "TRY_LATER", 1, NULL},
    {"xl-stale-crl", "citizen-rsa", XL_STALE_CRL, TS_NONE, 0, "INDETERMINATE", "TRY_LATER", 1, NULL},
    {"xl-garbage-crl", "citizen-rsa", XL_GARBAGE_CRL, TS_NONE, 0, "INDETERMINATE", "TRY_LATER", 1, NULL},
    /* The signer's status by an embedded OCSP response, the CAs' by CRLs. */
    {"xl-ocsp", "citizen-rsa", XL_OCSP, TS_NONE, 0, "TOTAL_PASSED", NULL, 0, NULL},
    {"xl-ocsp-ts", "citizen-rsa", XL_OCSP, TS_GOOD, -3600, "TOTAL_PASSED", NULL, 0, NULL},
    {"xl-ocsp-stale", "citizen-rsa", XL_OCSP_STALE, TS_NONE, 0, "INDETERMINATE", "TRY_LATER", 1, NULL},
    {"xl-ocsp-forged", "citizen-rsa", XL_OCSP_FORGED, TS_NONE, 0, "INDETERMINATE", "TRY_LATER", 1, NULL},
    {"xl-ocsp-garbage", "citizen-rsa", XL_OCSP_GARBAGE, TS_NONE, 0, "INDETERMINATE", "TRY_LATER", 1, NULL},
    /* The same values inside a TimeStampValidationData (XAdES 1.4.1). */
    {"xl-tsvd", "citizen-rsa", XL_TSVD, TS_NONE, 0, "TOTAL_PASSED", NULL, 0, NULL},
    {"xl-tsvd-ts", "citizen-revoked", XL_TSVD, TS_GOOD, -86400, "TOTAL_PASSED", NULL, 0, "REVOKED_AFTER_POE"},
    {"xl-tsvd-garbage", "citizen-rsa", XL_TSVD_GARBAGE, TS_NONE, 0, "INDETERMINATE", "TRY_LATER", 1, NULL},
};

static void test_xl_rows(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 16) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &sl) != 0) {
        CHECK(0, "listener");
        return;
    }
    int port = ntohs(sa.sin_port);
    pthread_t th;
    pthread_create(&th, NULL, listener_main, &fd);
    /* No intermediates, no CRL files; every CA's CRL "published" on the
     * listener, which is down; revocation required. */
    char tmpl[4096], path[PATH_MAX + 64];
    snprintf(tmpl, sizeof tmpl,
             "{\"trust_anchors\": [\"@PKI@/anchors\"], \"accept_policies\": [\"1.2.392.200149.8.5.1.1.20\"],"
             " \"timestamp_anchors\": [\"@PKI@/tsa-ca.pem\"], \"crls\": [\"@PKI@/tsa-ca.crl\"],"
             " \"revocation\": {\"mode\": \"require\", \"timeout_ms\": 500,"
             " \"allow_urls\": [\"http://127.0.0.1:%1$d/\"]},"
             " \"revocation_sources\": ["
             "{\"issuer\": \"@PKI@/pref-ca-self.pem\", \"ocsp\": \"http://127.0.0.1:%1$d/ocsp\","
             " \"crl\": [\"http://127.0.0.1:%1$d/pref-ca.crl\"]},"
             "{\"issuer\": \"@PKI@/jpki-bca-self.pem\", \"crl\": [\"http://127.0.0.1:%1$d/jpki-bca.crl\"]},"
             "{\"issuer\": \"@PKI@/gpki-bca-self.pem\", \"crl\": [\"http://127.0.0.1:%1$d/gpki-bca.crl\"]},"
             "{\"issuer\": \"@PKI@/ministry-ca.pem\", \"crl\": [\"http://127.0.0.1:%1$d/ministry-ca.crl\"]}]}",
             port);
    snprintf(path, sizeof path, "%s/xl.json", cfgdir);
    if (!t_write_template(path, tmpl, pki))
        exit(2);
    for (size_t i = 0; i < sizeof xrows / sizeof xrows[0]; i++) {
        const struct xrow *r = &xrows[i];
        time_t gen = r->ts != TS_NONE ? t_revoked + r->gen_offset : 0;
        char *xml = make_doc(r->who, r->ts, NULL, gen, r->xl);
        ks_ctx *ctx = t_load_ctx(path); /* a fresh context: nothing cached */
        int before = atomic_load(&hits);
        cJSON *v = NULL;
        ks_result res = verify_doc(ctx, xml, t_at, &v);
        int fetched = atomic_load(&hits) - before;
        CHECK(res == KS_OK && v != NULL, "%s: %s", r->name, ks_result_name(res));
        CHECK_STR(str_at(v, "indication"), r->indication, "%s (%s)", r->name, t_str(str_at(v, "detail")));
        CHECK_STR(str_at(v, "subindication"), r->sub, "%s", r->name);
        CHECK(r->fetches ? fetched > 0 : fetched == 0, "%s: %d fetches", r->name, fetched);
        if (r->reason != NULL)
            CHECK(has_code(cJSON_GetObjectItemCaseSensitive(v, "reasons"), r->reason), "%s: reason %s", r->name,
                  r->reason);
        if ((r->xl == XL_FULL || r->xl == XL_OCSP || r->xl == XL_TSVD) && t_str_eq(r->indication, "TOTAL_PASSED")) {
            /* Every depth's status came from the signature's own CRLs. */
            const cJSON *ev, *rev = cJSON_GetObjectItemCaseSensitive(v, "revocation");
            int n = 0;
            cJSON_ArrayForEach(ev, rev)
            {
                n++;
                CHECK(t_str_eq(str_at(ev, "from"), "message"), "%s: depth %d from %s", r->name, n - 1,
                      t_str(str_at(ev, "from")));
            }
            CHECK(n >= 2, "%s: %d revocation entries", r->name, n);
        }
        if (r->xl == XL_OCSP) {
            const cJSON *e0 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(v, "revocation"), 0);
            CHECK_STR(str_at(e0, "source"), "ocsp", "%s: the signer's status", r->name);
        }
        if (r->xl == XL_GARBAGE_CRL || r->xl == XL_OCSP_GARBAGE || r->xl == XL_TSVD_GARBAGE)
            CHECK(has_code(cJSON_GetObjectItemCaseSensitive(signer0(v), "warnings"), "LTV_VALUE_UNREADABLE"),
                  "%s: warning", r->name);
        cJSON_Delete(v);
        ks_ctx_unref(ctx);
        free(xml);
    }
    atomic_store(&stop, 1);
    pthread_join(th, NULL);
    close(fd);
}

/* ---------------- XAdES-A: xadesv141:ArchiveTimeStamp ---------------- */

/* The canonical form of the node set of the one element `sel` selects
 * (XMLDSig 4.3.3.3: the element, its attributes and namespace nodes, its
 * content; an XPath node set, not the verifier's code path), appended to
 * *buf.  Exits when there is not exactly one such element. */
static void c14n_el(xmlDocPtr doc, xmlXPathContextPtr xc, const char *sel, int mode, uint8_t **buf, size_t *len)
{
    char expr[512], one[512];
    snprintf(one, sizeof one, "count(//%s)", sel);
    xmlXPathObjectPtr n = xmlXPathEvalExpression(BAD_CAST one, xc);
    if (n == NULL || n->type != XPATH_NUMBER || n->floatval != 1) {
        fprintf(stderr, "%s: not one element\n", sel);
        exit(2);
    }
    xmlXPathFreeObject(n);
    snprintf(expr, sizeof expr, "(//. | //@* | //namespace::*)[ancestor-or-self::%s]", sel);
    xmlXPathObjectPtr set = xmlXPathEvalExpression(BAD_CAST expr, xc);
    xmlChar *out = NULL;
    int k = set != NULL && set->nodesetval != NULL ? xmlC14NDocDumpMemory(doc, set->nodesetval, mode, NULL, 0, &out)
                                                   : -1;
    xmlXPathFreeObject(set);
    uint8_t *nb = k >= 0 ? realloc(*buf, *len + (size_t)k + 1) : NULL;
    if (nb == NULL) {
        fprintf(stderr, "cannot canonicalize %s\n", sel);
        exit(2);
    }
    memcpy(nb + *len, out, (size_t)k);
    *buf = nb;
    *len += (size_t)k;
    xmlFree(out);
}

static void append(uint8_t **buf, size_t *len, const uint8_t *p, size_t n)
{
    uint8_t *nb = realloc(*buf, *len + n + 1);
    if (nb == NULL)
        exit(2);
    memcpy(nb + *len, p, n);
    *buf = nb;
    *len += n;
}

static double xnum(xmlXPathContextPtr xc, const char *expr)
{
    xmlXPathObjectPtr o = xmlXPathEvalExpression(BAD_CAST expr, xc);
    double v = o != NULL && o->type == XPATH_NUMBER ? o->floatval : -1;
    xmlXPathFreeObject(o);
    return v;
}

/*
 * What an ArchiveTimeStamp appended now to the UnsignedSignatureProperties
 * of `xml` covers, from ETSI EN 319 132-1 5.5.2.2 (XAdES 1.4.1 8.2.1):
 *   1. each ds:Reference's data after its transforms, here the fixture's
 *      four (mkxml.sh): #構成情報 and #SP through inclusive C14N (their one
 *      Transform), form1.xml and form2.pdf as they are (`alter`: form1.xml
 *      with one byte changed, the content as it was when archived);
 *   2. ds:SignedInfo, ds:SignatureValue, ds:KeyInfo;
 *   3. every unsigned signature property already there, in order;
 *   4. the ds:Objects but the QualifyingProperties' one;
 * 2-4 in the canonical form `mode`.
 */
static uint8_t *ats_input(const char *xml, int mode, int alter, size_t *len)
{
    xmlDocPtr doc = xmlReadMemory(xml, (int)strlen(xml), NULL, NULL, XML_PARSE_NONET);
    xmlXPathContextPtr xc = doc ? xmlXPathNewContext(doc) : NULL;
    uint8_t *buf = NULL;
    *len = 0;
    if (xc == NULL || xmlXPathRegisterNs(xc, BAD_CAST "ds", BAD_CAST DS_NS) != 0 ||
        xmlXPathRegisterNs(xc, BAD_CAST "xades", BAD_CAST XADES_NS) != 0)
        exit(2);
    /* The fixture is what this builder assumes. */
    if (xnum(xc, "count(//ds:SignedInfo/ds:Reference)") != 4 ||
        xnum(xc, "count(//ds:Reference[1][@URI='#構成情報'])") != 1 ||
        xnum(xc, "count(//ds:Reference[4][@URI='#SP'])") != 1) {
        fprintf(stderr, "the XAdES fixture changed: update ats_input\n");
        exit(2);
    }
    c14n_el(doc, xc, "*[@ID='構成情報']", XML_C14N_1_0, &buf, len);
    size_t fl = 0;
    uint8_t *f = read_pki("xml/egov-xades/form1.xml", &fl);
    if (alter)
        f[fl / 2] ^= 0x20;
    append(&buf, len, f, fl);
    free(f);
    f = read_pki("xml/egov-xades/form2.pdf", &fl);
    append(&buf, len, f, fl);
    free(f);
    c14n_el(doc, xc, "xades:SignedProperties", XML_C14N_1_0, &buf, len);
    c14n_el(doc, xc, "ds:SignedInfo", mode, &buf, len);
    c14n_el(doc, xc, "ds:SignatureValue", mode, &buf, len);
    c14n_el(doc, xc, "ds:KeyInfo", mode, &buf, len);
    char sel[256];
    int nusp = (int)xnum(xc, "count(//xades:UnsignedSignatureProperties/*)");
    for (int k = 0; k < nusp; k++) {
        snprintf(sel, sizeof sel, "*[parent::xades:UnsignedSignatureProperties][count(preceding-sibling::*)=%d]", k);
        c14n_el(doc, xc, sel, mode, &buf, len);
    }
    int nobj = (int)xnum(xc, "count(//ds:Signature/ds:Object[not(xades:QualifyingProperties)])");
    for (int k = 0; k < nobj; k++) {
        snprintf(sel, sizeof sel, "ds:Object[not(xades:QualifyingProperties)][count(preceding-sibling::ds:Object"
                                  "[not(xades:QualifyingProperties)])=%d]", k);
        c14n_el(doc, xc, sel, mode, &buf, len);
    }
    xmlXPathFreeContext(xc);
    xmlFreeDoc(doc);
    return buf;
}

/* xml with an ArchiveTimeStamp by `tsa` at `gen` appended to its
 * UnsignedSignatureProperties (`method` its CanonicalizationMethod, NULL
 * none: inclusive C14N 1.0). */
static char *add_ats(char *xml, const char *tsa, time_t gen, const char *method, int alter, int tamper, int id)
{
    size_t len = 0, toklen = 0;
    uint8_t *in = ats_input(xml, method != NULL && strcmp(method, EXC) == 0 ? XML_C14N_EXCLUSIVE_1_0 : XML_C14N_1_0,
                            alter, &len);
    uint8_t *tok = make_token(tsa, in, len, gen, &toklen);
    if (tamper)
        tok[toklen - 1] ^= 0x01;
    char *t64 = b64(tok, toklen), *ats = NULL;
    cat(&ats, "<xadesv141:ArchiveTimeStamp xmlns:xadesv141=\"%s\" Id=\"ATS%d\">", XADES141_NS, id);
    if (method != NULL)
        cat(&ats, "<ds:CanonicalizationMethod xmlns:ds=\"%s\" Algorithm=\"%s\"/>", DS_NS, method);
    cat(&ats, "<xades:EncapsulatedTimeStamp>%s</xades:EncapsulatedTimeStamp></xadesv141:ArchiveTimeStamp>", t64);
    xml = insert_into(xml, "</xades:UnsignedSignatureProperties>", ats);
    free(ats);
    free(t64);
    free(in);
    OPENSSL_free(tok);
    return xml;
}

typedef enum {
    A_NONE,        /* XAdES-T only */
    A_GOOD,        /* one archive timestamp by tsa */
    A_EXC,         /* the same, exclusive C14N declared */
    A_REF_ALTERED, /* made over another version of form1.xml */
    A_INSERTED,    /* a CertificateValues slipped in before it afterwards */
    A_TAMPERED,    /* its token's signature broken */
    A_ROGUE,       /* by tsa-rogue */
    A_STS_AFTER,   /* the signature timestamp added after it (not covered) */
    A_TWO,         /* tsa-old's archive timestamp at g2, then tsa's over it */
    A_OBJECT,      /* an unsigned ds:Object there before archiving (covered: 5.5.2.2 step 4) */
    A_OBJECT_ADDED, /* the same ds:Object added after archiving */
    A_LATER_PROP   /* a TimeStampValidationData appended after the archive timestamp */
} a_kind;

static const struct arow {
    const char *name;
    a_kind kind;
    long last_from_now; /* 0: the last archive timestamp at g2, else at now - this */
    const char *indication, *sub;
    const char *archive_ind, *archive_sub; /* timestamps[0], the newest archive timestamp; NULL none */
    const char *older_ind;                 /* timestamps[1] for A_TWO */
    const char *sig_ind;                   /* the signature timestamp */
    const char *poe_source;                /* NULL: no POE at all */
    const char *reason;
} arows[] = {
    /* tsa-old has expired since it timestamped the signature at g1: alone,
     * its token proves nothing today. */
    {"a-none", A_NONE, 0, "INDETERMINATE", "OUT_OF_BOUNDS_NO_POE", NULL, NULL, NULL, "INDETERMINATE", NULL, NULL},
    /* Archived at g2, while tsa-old was valid: validated then, it proves g1. */
    {"a-good", A_GOOD, 0, "TOTAL_PASSED", NULL, "TOTAL_PASSED", NULL, NULL, "TOTAL_PASSED", "signature_timestamp",
     "EXPIRED_AFTER_POE"},
    {"a-good-exc", A_EXC, 0, "TOTAL_PASSED", NULL, "TOTAL_PASSED", NULL, NULL, "TOTAL_PASSED", "signature_timestamp",
     "EXPIRED_AFTER_POE"},
    /* Hostile: what it covers is not what is there, or it is not good. */
    {"a-ref-altered", A_REF_ALTERED, 0, "INDETERMINATE", "OUT_OF_BOUNDS_NO_POE", "TOTAL_FAILED", "HASH_FAILURE", NULL,
     "INDETERMINATE", NULL, NULL},
    {"a-inserted", A_INSERTED, 0, "INDETERMINATE", "OUT_OF_BOUNDS_NO_POE", "TOTAL_FAILED", "HASH_FAILURE", NULL,
     "INDETERMINATE", NULL, NULL},
    {"a-tampered", A_TAMPERED, 0, "INDETERMINATE", "OUT_OF_BOUNDS_NO_POE", "TOTAL_FAILED", "SIG_CRYPTO_FAILURE", NULL,
     "INDETERMINATE", NULL, NULL},
    {"a-rogue", A_ROGUE, 0, "INDETERMINATE", "OUT_OF_BOUNDS_NO_POE", "INDETERMINATE", "NO_CERTIFICATE_CHAIN_FOUND",
     NULL, "INDETERMINATE", NULL, NULL},
    /* Archived 50 days ago, after tsa-old expired: the archive timestamp
     * is good but its own time is after the signer's expiry. */
    {"a-late", A_GOOD, 50 * 86400L, "INDETERMINATE", "OUT_OF_BOUNDS_NO_POE", "TOTAL_PASSED", NULL, NULL,
     "INDETERMINATE", "archive_timestamp", NULL},
    /* The signature timestamp comes after the archive timestamp: not
     * covered, validated today, and fails. */
    {"a-sts-after", A_STS_AFTER, 0, "INDETERMINATE", "OUT_OF_BOUNDS_NO_POE", "TOTAL_PASSED", NULL, NULL,
     "INDETERMINATE", "archive_timestamp", NULL},
    /* Two archive timestamps: the newer (tsa, 120 days ago, tsa-old still
     * valid) validates the older (tsa-old, g2), which validates g1. */
    {"a-twice", A_TWO, 120 * 86400L, "TOTAL_PASSED", NULL, "TOTAL_PASSED", NULL, "TOTAL_PASSED", "TOTAL_PASSED",
     "signature_timestamp", "EXPIRED_AFTER_POE"},
    {"a-twice-late", A_TWO, 50 * 86400L, "INDETERMINATE", "OUT_OF_BOUNDS_NO_POE", "TOTAL_PASSED", NULL,
     "INDETERMINATE", "INDETERMINATE", "archive_timestamp", NULL},
    /* The other ds:Objects are covered: one there before archiving is
     * fine, one added afterwards breaks the imprint. */
    {"a-object", A_OBJECT, 0, "TOTAL_PASSED", NULL, "TOTAL_PASSED", NULL, NULL, "TOTAL_PASSED", "signature_timestamp",
     "EXPIRED_AFTER_POE"},
    {"a-object-added", A_OBJECT_ADDED, 0, "INDETERMINATE", "OUT_OF_BOUNDS_NO_POE", "TOTAL_FAILED", "HASH_FAILURE",
     NULL, "INDETERMINATE", NULL, NULL},
    /* A property after the archive timestamp is not covered by it, and
     * does not disturb it. */
    {"a-later-prop", A_LATER_PROP, 0, "TOTAL_PASSED", NULL, "TOTAL_PASSED", NULL, NULL, "TOTAL_PASSED",
     "signature_timestamp", "EXPIRED_AFTER_POE"},
};

static time_t a_g1(void)
{
    return t_expired - 30 * 86400L;
}

static time_t a_g2(void)
{
    return t_expired + 365 * 86400L;
}

static time_t a_last(const struct arow *r)
{
    return r->last_from_now ? t_at - r->last_from_now : a_g2();
}

/* citizen-expired's package, its signature timestamped by tsa-old at g1,
 * then archived as the row says. */
static char *make_a(const struct arow *r)
{
    size_t len = 0;
    uint8_t *raw = read_pki("xml/egov-xades/kousei-citizen-expired.xml", &len);
    char *xml = strndup((const char *)raw, len), *usp = NULL;
    free(raw);
    char *sts = make_sts(xml, TS_OLD, NULL, a_g1());
    cat(&usp, "<xades:UnsignedProperties><xades:UnsignedSignatureProperties>%s"
              "</xades:UnsignedSignatureProperties></xades:UnsignedProperties>",
        r->kind == A_STS_AFTER ? "" : sts);
    xml = insert_into(xml, "</xades:QualifyingProperties>", usp);
    free(usp);
    static const char extra[] = "<Object Id=\"EXTRA\"><Memo>unsigned</Memo></Object>";
    if (r->kind == A_OBJECT)
        xml = insert_into(xml, "</Signature>", extra);
    switch (r->kind) {
    case A_NONE:
        break;
    case A_TWO:
        xml = add_ats(xml, "tsa-old", a_g2(), NULL, 0, 0, 1);
        xml = add_ats(xml, "tsa", a_last(r), NULL, 0, 0, 2);
        break;
    default:
        xml = add_ats(xml, r->kind == A_ROGUE ? "tsa-rogue" : "tsa", a_last(r), r->kind == A_EXC ? EXC : NULL,
                      r->kind == A_REF_ALTERED, r->kind == A_TAMPERED, 1);
        break;
    }
    if (r->kind == A_INSERTED) {
        char *cv = NULL, *c = der_b64_of("cross-jpki-to-pref.pem", 0, 0);
        cat(&cv, "<xades:CertificateValues><xades:EncapsulatedX509Certificate>%s</xades:EncapsulatedX509Certificate>"
                 "</xades:CertificateValues>", c);
        xml = insert_into(xml, "<xadesv141:ArchiveTimeStamp", cv);
        free(c);
        free(cv);
    }
    if (r->kind == A_OBJECT_ADDED)
        xml = insert_into(xml, "</Signature>", extra);
    if (r->kind == A_LATER_PROP) {
        char *tsvd = make_xl("citizen-expired", XL_TSVD);
        xml = insert_into(xml, "</xades:UnsignedSignatureProperties>", tsvd);
        free(tsvd);
    }
    if (r->kind == A_STS_AFTER)
        xml = insert_into(xml, "</xades:UnsignedSignatureProperties>", sts);
    free(sts);
    return xml;
}

static const struct arow *arow_named(const char *name)
{
    for (size_t i = 0; i < sizeof arows / sizeof arows[0]; i++)
        if (strcmp(arows[i].name, name) == 0)
            return &arows[i];
    exit(2);
}

static void test_a_rows(void)
{
    ks_ctx *ctx = t_load_config(cfgdir, "ltv");
    for (size_t i = 0; i < sizeof arows / sizeof arows[0]; i++) {
        const struct arow *r = &arows[i];
        char *xml = make_a(r);
        cJSON *v = NULL;
        ks_result res = verify_doc(ctx, xml, t_at, &v);
        CHECK(res == KS_OK && v != NULL, "%s: %s", r->name, ks_result_name(res));
        const cJSON *s = signer0(v), *tss = cJSON_GetObjectItemCaseSensitive(s, "timestamps"), *t;
        CHECK_STR(str_at(v, "indication"), r->indication, "%s (%s)", r->name, t_str(str_at(v, "detail")));
        CHECK_STR(str_at(v, "subindication"), r->sub, "%s", r->name);
        const cJSON *arch[2] = {NULL, NULL}, *sig = NULL;
        int narch = 0, nsig = 0;
        cJSON_ArrayForEach(t, tss)
        {
            if (t_str_eq(str_at(t, "type"), "archive")) {
                CHECK(nsig == 0, "%s: archive timestamps are reported first", r->name);
                if (narch < 2)
                    arch[narch] = t;
                narch++;
            } else if (t_str_eq(str_at(t, "type"), "signature")) {
                sig = t;
                nsig++;
            }
        }
        CHECK(narch == (r->kind == A_NONE ? 0 : r->kind == A_TWO ? 2 : 1), "%s: %d archive timestamps", r->name,
              narch);
        CHECK(nsig == 1, "%s: %d signature timestamps", r->name, nsig);
        CHECK_STR(arch[0] ? str_at(arch[0], "indication") : NULL, r->archive_ind, "%s: the newest archive timestamp (%s)",
                  r->name, t_str(arch[0] ? str_at(arch[0], "detail") : NULL));
        if (arch[0] != NULL) {
            CHECK_STR(str_at(arch[0], "subindication"), r->archive_sub, "%s: archive subindication", r->name);
            char want[32];
            ks_time_format(t_at, want, sizeof want);
            CHECK_STR(str_at(arch[0], "validated_at"), want, "%s: the newest at the validation time", r->name);
        }
        if (r->kind == A_TWO) {
            char want[32];
            ks_time_format(a_last(r), want, sizeof want);
            CHECK_STR(arch[1] ? str_at(arch[1], "indication") : NULL, r->older_ind, "%s: the older one", r->name);
            CHECK_STR(arch[1] ? str_at(arch[1], "validated_at") : NULL, want, "%s: at the newer one's genTime",
                      r->name);
        }
        CHECK_STR(sig ? str_at(sig, "indication") : NULL, r->sig_ind, "%s: the signature timestamp (%s)", r->name,
                  t_str(sig ? str_at(sig, "detail") : NULL));
        const cJSON *poe = cJSON_GetObjectItemCaseSensitive(s, "poe");
        CHECK_STR(cJSON_IsObject(poe) ? str_at(poe, "source") : NULL, r->poe_source, "%s: poe.source", r->name);
        char g1[32];
        ks_time_format(a_g1(), g1, sizeof g1);
        if (t_str_eq(r->poe_source, "signature_timestamp"))
            CHECK_STR(str_at(s, "best_signature_time"), g1, "%s", r->name);
        else
            CHECK(!t_str_eq(str_at(s, "best_signature_time"), g1), "%s: no POE at g1", r->name);
        if (r->reason != NULL)
            CHECK(has_code(cJSON_GetObjectItemCaseSensitive(v, "reasons"), r->reason), "%s: reason %s", r->name,
                  r->reason);
        cJSON_Delete(v);
        free(xml);
    }
    ks_ctx_unref(ctx);
}

/* ArchiveTimeStamps in shapes this verifier refuses: each is reported as a
 * failed archive timestamp and proves nothing (the signature timestamp
 * under it is then validated today, and fails). */
static void test_a_hostile(void)
{
    static const struct {
        const char *name;
        const char *from, *to; /* applied to a-good */
        const char *archive_sub;
    } cases[] = {
        /* Two tokens in one element: which would prove what? */
        {"two-tokens", "</xadesv141:ArchiveTimeStamp>",
         "<xades:EncapsulatedTimeStamp>MAA=</xades:EncapsulatedTimeStamp></xadesv141:ArchiveTimeStamp>",
         "FORMAT_FAILURE"},
        /* XAdES 1.3.2's ArchiveTimeStamp covers other data. */
        {"v132", "<xadesv141:ArchiveTimeStamp xmlns:xadesv141=\"" XADES141_NS "\"",
         "<xadesv141:ArchiveTimeStamp xmlns:xadesv141=\"" XADES_NS "\"", "FORMAT_FAILURE"},
        /* The explicit form (Include) is not supported. */
        {"include", "Id=\"ATS1\">", "Id=\"ATS1\"><xades:Include URI=\"#SP\"/>", "FORMAT_FAILURE"},
        /* A method that is not a canonicalization. */
        {"xslt", "Id=\"ATS1\">",
         "Id=\"ATS1\"><ds:CanonicalizationMethod xmlns:ds=\"" DS_NS
         "\" Algorithm=\"http://www.w3.org/TR/1999/REC-xslt-19991116\"/>",
         "FORMAT_FAILURE"},
        /* Not base64 of DER. */
        {"ber", "Id=\"ATS1\"><xades:EncapsulatedTimeStamp>",
         "Id=\"ATS1\"><xades:EncapsulatedTimeStamp Encoding=\"http://uri.etsi.org/01903/v1.2.2#BER\">",
         "FORMAT_FAILURE"},
        /* The signature timestamp's token changed after archiving. */
        {"sts-changed", "<xades:EncapsulatedTimeStamp>",
         "<xades:EncapsulatedTimeStamp Encoding=\"http://uri.etsi.org/01903/v1.2.2#DER\">", "HASH_FAILURE"},
    };
    ks_ctx *ctx = t_load_config(cfgdir, "ltv");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *good = make_a(arow_named("a-good")), *xml = replace1(good, cases[i].from, cases[i].to);
        free(good);
        cJSON *v = NULL;
        CHECK(verify_doc(ctx, xml, t_at, &v) == KS_OK && v != NULL, "%s: verdict", cases[i].name);
        const cJSON *s = signer0(v), *tss = cJSON_GetObjectItemCaseSensitive(s, "timestamps");
        const cJSON *a = cJSON_GetArrayItem(tss, 0), *sig = cJSON_GetArrayItem(tss, 1);
        CHECK_STR(str_at(v, "subindication"), "OUT_OF_BOUNDS_NO_POE", "%s (%s)", cases[i].name,
                  t_str(str_at(v, "detail")));
        CHECK_STR(a ? str_at(a, "type") : NULL, "archive", "%s", cases[i].name);
        CHECK_STR(a ? str_at(a, "indication") : NULL, "TOTAL_FAILED", "%s", cases[i].name);
        CHECK_STR(a ? str_at(a, "subindication") : NULL, cases[i].archive_sub, "%s (%s)", cases[i].name,
                  t_str(a ? str_at(a, "detail") : NULL));
        CHECK_STR(sig ? str_at(sig, "indication") : NULL, "INDETERMINATE", "%s: the signature timestamp", cases[i].name);
        CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(s, "poe")), "%s: no POE", cases[i].name);
        cJSON_Delete(v);
        free(xml);
    }
    ks_ctx_unref(ctx);
}

/* Hash-only (README "Hash-only submission"): form2.pdf sent as its digest.
 * The signature verifies by that digest, but an archive timestamp covers the
 * content itself, which is not there to hash: it proves nothing. */
static void test_a_hash_only(void)
{
    char *xml = make_a(arow_named("a-good"));
    ks_ctx *ctx = t_load_config(cfgdir, "ltv");
    uint8_t *f1 = NULL, *f2 = NULL, md[32];
    size_t l1 = 0, l2 = 0;
    f1 = read_pki("xml/egov-xades/form1.xml", &l1);
    f2 = read_pki("xml/egov-xades/form2.pdf", &l2);
    SHA256(f2, l2, md);
    ks_blob att = {.name = "form1.xml", .data = f1, .len = l1};
    ks_digest dig = {.name = "form2.pdf", .algorithm = "sha256", .value = md, .len = sizeof md};
    ks_request req = {.signature = {.name = "kousei.xml", .data = (const uint8_t *)xml, .len = strlen(xml)},
                      .contents = &att,
                      .n_contents = 1,
                      .digests = &dig,
                      .n_digests = 1,
                      .at = t_at,
                      .has_at = 1};
    cJSON *v = NULL;
    CHECK(ks_verify_signature(ctx, &req, &v) == KS_OK && v != NULL, "hash-only: verdict");
    v = t_printed(v);
    const cJSON *s = signer0(v), *a = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(s, "timestamps"), 0);
    CHECK_STR(str_at(v, "content_checked"), "digest", "hash-only");
    CHECK_STR(str_at(v, "indication"), "INDETERMINATE", "hash-only (%s)", t_str(str_at(v, "detail")));
    CHECK_STR(str_at(v, "subindication"), "OUT_OF_BOUNDS_NO_POE", "hash-only");
    CHECK_STR(a ? str_at(a, "type") : NULL, "archive", "hash-only: timestamps[0]");
    CHECK_STR(a ? str_at(a, "indication") : NULL, "INDETERMINATE", "hash-only: the archive timestamp");
    CHECK_STR(a ? str_at(a, "subindication") : NULL, "SIGNED_DATA_NOT_FOUND", "hash-only: the archive timestamp");
    CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(s, "poe")), "hash-only: no POE");
    cJSON_Delete(v);
    ks_ctx_unref(ctx);
    free(f1);
    free(f2);
    free(xml);
}

/* ltv_oom_run over an XAdES-A with two archive timestamps: every
 * allocation of the chain and of the archive input fails once. */
static void test_a_oom(void)
{
    oom_run_doc(make_a(arow_named("a-twice")), "oom-xades-a", "\"EXPIRED_AFTER_POE\"");
}

/* For tests/test_cli.sh, tests/test_ltv_http.sh and tests/conformance/ltv.py:
 * the XAdES-T rows as files, xades-<name>.xml, the XAdES-A rows as
 * xades-a-<name>.xml, and the validation time (xades-at.txt).  The attachments are those of
 * $PKI/xml/egov-xades. */
static int emit(const char *dir)
{
    char path[PATH_MAX + 64];
    for (size_t i = 0; i < sizeof trows / sizeof trows[0]; i++) {
        const struct trow *r = &trows[i];
        char *xml = make_doc(r->who, r->ts, r->method, row_gen(r->gen_base, r->gen_offset), XL_NONE);
        snprintf(path, sizeof path, "%s/xades-%s.xml", dir, r->name);
        FILE *f = fopen(path, "w");
        int ok = f != NULL && fputs(xml, f) >= 0;
        if (f != NULL && fclose(f) != 0)
            ok = 0;
        free(xml);
        if (!ok)
            return 2;
    }
    for (size_t i = 0; i < sizeof arows / sizeof arows[0]; i++) { /* xades-a-<row>.xml */
        char *xml = make_a(&arows[i]);
        snprintf(path, sizeof path, "%s/xades-%s.xml", dir, arows[i].name);
        FILE *f = fopen(path, "w");
        int ok = f != NULL && fputs(xml, f) >= 0;
        if (f != NULL && fclose(f) != 0)
            ok = 0;
        free(xml);
        if (!ok)
            return 2;
    }
    char at[32];
    ks_time_format(t_at, at, sizeof at);
    snprintf(path, sizeof path, "%s/xades-at.txt", dir);
    FILE *f = fopen(path, "w");
    if (f == NULL || fprintf(f, "%s\n", at) < 0 || fclose(f) != 0)
        return 2;
    return 0;
}

int main(int argc, char **argv)
{
    pki = t_env("PKI", "build/pki");
    /* The listener closes every connection: a request written to it must
     * fail as an error, not kill the test (fcgi/main.c ignores it too). */
    signal(SIGPIPE, SIG_IGN);
    char probe[600];
    snprintf(probe, sizeof probe, "%s/xml/egov-xades/kousei-citizen-rsa.xml", pki);
    if (access(probe, R_OK) != 0) {
        fprintf(stderr, "test_xades: %s missing (make build/pki/xml/.done)\n", probe);
        CHECK(0, "fixtures");
        return t_done("test_xades");
    }
    instants();
    if (argc == 3 && strcmp(argv[1], "--emit") == 0)
        return emit(argv[2]);
    t_write_configs("cfg-xades", configs, sizeof configs / sizeof configs[0], pki, cfgdir);
    test_c14n_forms();
    test_t_rows();
    test_broken_signature();
    test_hostile();
    test_oom();
    test_xl_rows();
    test_a_rows();
    test_a_hostile();
    test_a_hash_only();
    test_a_oom();
    return t_done("test_xades");
}
