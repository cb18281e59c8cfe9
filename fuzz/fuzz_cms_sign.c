/*
 * fuzz/fuzz_cms_sign.c - CMS past the signature: the input is a recipe (a
 * fixed layout of bytes read through a cursor) for a SignedData over a fixed
 * content, which the harness builds with OpenSSL's encoders
 * (CMS_add1_signer with CMS_PARTIAL), whose signed attributes it then
 * rewrites and SIGNS with citizen-rsa's key, so every input reaches what
 * comes after the signature: contentType, messageDigest, signingTime, the
 * ESS signingCertificate(V2) binding and the choice of the signer's
 * certificate among several for the same key.
 *
 * The recipe picks: the SignerIdentifier (issuerAndSerialNumber or
 * subjectKeyIdentifier); the embedded certificates and their order (the real
 * one, citizen-rsa-other: the same key under another name and serial, and a
 * "twin" generated at init: the same key, issuer and serial under another
 * name, as a CA that issues twice would); contentType right, wrong, absent
 * or twice; messageDigest right or wrong; signingTime absent or at a chosen
 * time; ESS signingCertificateV2 and/or signingCertificate naming the real
 * certificate, the other, the twin, or none, with or without issuerSerial,
 * once or twice; the validation time.
 *
 * Differential oracle (issue #25: kensho may be stricter, never looser):
 * whenever ks_verify_signature (revocation off) says TOTAL_PASSED,
 *   - the signer certificate kensho reports matches the SignerIdentifier
 *     and, when ESS is there, is the certificate the ESS attribute names
 *     (deliberate: kensho picks the ESS-named one among the certificates the
 *     SignerIdentifier matches; OpenSSL takes the first match and would
 *     fail the CAdES check on another, so the oracle hands OpenSSL kensho's
 *     choice before asking);
 *   - CMS_verify (CMS_CADES when ESS is there, as OpenSSL requires ESS
 *     under that flag; not when the ESS attribute names further
 *     certificates, see fz_second_opinion) with the same anchor, the
 *     same intermediates and the same validation time succeeds;
 *   - contentType is there exactly once and says id-data (RFC 5652 11.1,
 *     kensho's rule; OpenSSL checks only that it is there once).
 * A disagreement aborts with the rule that failed.
 */
#include <dirent.h>
#include <strings.h>

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/ess.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "fuzz.h"
#include "internal.h"

/* ---------------- the world ---------------- */

static const char fz_content[] = "kensho fuzz: the signed document\n";

enum { FZ_REAL, FZ_OTHER, FZ_TWIN, FZ_NCERTS };
static const char *const fz_cert_names[FZ_NCERTS] = {"citizen-rsa", "citizen-rsa-other (same key)",
                                                     "twin (same key, issuer and serial)"};
static ks_ctx *ctx;
static X509 *certs[FZ_NCERTS];
static char fps[FZ_NCERTS][65];
static EVP_PKEY *key;
static X509_STORE *store;
static STACK_OF(X509) *intermediates;
static char inter_fps[16][65];

/* SHA-256 of the DER in hex, as the verdict's "sha256" says it. */
static int fz_fp(X509 *x, char fp[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (X509_digest(x, EVP_sha256(), md, &len) != 1 || len != 32)
        return 0;
    for (unsigned i = 0; i < len; i++)
        snprintf(fp + 2 * i, 3, "%02x", md[i]);
    return 1;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    ctx = fz_ctx_load("{\"mode\": \"off\"}", "");
    certs[FZ_REAL] = fz_read_pem("citizen-rsa.pem");
    certs[FZ_OTHER] = fz_read_pem("citizen-rsa-other.pem");
    key = fz_read_key("citizen-rsa.key");
    /* The twin: citizen-rsa with another subject, issued again by the same
     * CA under the same serial number. */
    EVP_PKEY *cakey = fz_read_key("pref-ca.key");
    X509_NAME *n = X509_NAME_new();
    if ((certs[FZ_TWIN] = X509_dup(certs[FZ_REAL])) == NULL || n == NULL ||
        X509_NAME_add_entry_by_txt(n, "C", MBSTRING_ASC, (const unsigned char *)"JP", -1, -1, 0) != 1 ||
        X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"SYNTH-TWIN", -1, -1, 0) != 1 ||
        X509_set_subject_name(certs[FZ_TWIN], n) != 1 || X509_sign(certs[FZ_TWIN], cakey, EVP_sha256()) <= 0)
        fz_die("init", "cannot make the twin certificate");
    X509_NAME_free(n);
    EVP_PKEY_free(cakey);
    for (int i = 0; i < FZ_NCERTS; i++)
        if (!fz_fp(certs[i], fps[i]))
            fz_die("init", "fingerprint");
    /* The second opinion's trust: the configured anchor and intermediates. */
    char dir[PATH_MAX + 64];
    snprintf(dir, sizeof dir, "%s/intermediates", fz_pki_dir());
    X509 *anchor = fz_read_pem("anchors/ministry-ca.pem");
    if ((store = X509_STORE_new()) == NULL || X509_STORE_add_cert(store, anchor) != 1 ||
        (intermediates = sk_X509_new_null()) == NULL)
        fz_die("store", "out of memory");
    X509_free(anchor);
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d != NULL && (de = readdir(d)) != NULL) {
        char name[NAME_MAX + 32];
        if (strstr(de->d_name, ".pem") == NULL)
            continue;
        snprintf(name, sizeof name, "intermediates/%s", de->d_name);
        if (!sk_X509_push(intermediates, fz_read_pem(name)))
            fz_die("intermediates", "out of memory");
    }
    if (d != NULL)
        closedir(d);
    if (sk_X509_num(intermediates) == 0 || sk_X509_num(intermediates) > 16)
        fz_die("intermediates", dir);
    for (int i = 0; i < sk_X509_num(intermediates); i++)
        if (!fz_fp(sk_X509_value(intermediates, i), inter_fps[i]))
            fz_die("init", "fingerprint");
    ERR_clear_error();
    return 0;
}

/* ---------------- building a SignedData from the recipe ---------------- */

typedef struct {
    int keyid;
    int embed[3], n_embed;
    int ctype;      /* 0 right, 1 wrong, 2 absent, 3 twice */
    int md_wrong;
    int stime;      /* signingTime present */
    time_t signing_time, at;
    int ess;        /* 0 none, else 1 + which certificate it names */
    int ess_v1;     /* signingCertificate (v1) too */
    int ess_serial; /* with issuerSerial */
    int ess_twice;
    int ess_extra;  /* a second ESSCertID naming another certificate */
} fz_recipe;

static void fz_read_recipe(fz_in *in, fz_recipe *rc)
{
    unsigned f1 = fz_u8(in), f2 = fz_u8(in), f3 = fz_u8(in);
    memset(rc, 0, sizeof *rc);
    rc->keyid = f1 & 1;
    rc->n_embed = (int)((f1 >> 1) & 3); /* 0-3 certificates */
    for (int i = 0; i < rc->n_embed; i++)
        rc->embed[i] = (int)(((f3 >> (2 * i)) & 3) % FZ_NCERTS);
    rc->ess = (int)((f1 >> 3) & 3);
    rc->ess_v1 = (f1 & 0x20) != 0;
    rc->ess_serial = (f1 & 0x40) != 0;
    rc->ess_twice = (f1 & 0x80) != 0;
    rc->ctype = (int)(f2 & 3);
    rc->md_wrong = (f2 & 4) != 0;
    rc->stime = (f2 & 8) != 0;
    rc->ess_extra = (f2 & 0x10) != 0;
    /* validation and signing times around now, in ten-minute steps (the
     * certificates are valid from a year ago for four years ahead) */
    rc->at = fz_now + fz_s16(in) * 600;
    rc->signing_time = rc->at + fz_s16(in) * 600;
}

static int fz_add_ess(CMS_SignerInfo *si, const fz_recipe *rc)
{
    X509 *named = certs[rc->ess - 1];
    STACK_OF(X509) *more = sk_X509_new_null();
    unsigned char *der = NULL;
    int len = -1, ok = 0;
    /* OSSL_ESS_signing_cert*_new_init lists signcert, then `certs`. */
    if (more == NULL || (rc->ess_extra && !sk_X509_push(more, certs[(rc->ess) % FZ_NCERTS])))
        goto done;
    if (rc->ess_v1) {
        ESS_SIGNING_CERT *v1 = OSSL_ESS_signing_cert_new_init(named, more, rc->ess_serial);
        len = v1 ? i2d_ESS_SIGNING_CERT(v1, &der) : -1;
        ESS_SIGNING_CERT_free(v1);
        if (len <= 0 || CMS_signed_add1_attr_by_NID(si, NID_id_smime_aa_signingCertificate, V_ASN1_SEQUENCE, der,
                                                    len) != 1)
            goto done;
        OPENSSL_free(der);
        der = NULL;
    }
    ESS_SIGNING_CERT_V2 *v2 = OSSL_ESS_signing_cert_v2_new_init(EVP_sha256(), named, more, rc->ess_serial);
    len = v2 ? i2d_ESS_SIGNING_CERT_V2(v2, &der) : -1;
    ESS_SIGNING_CERT_V2_free(v2);
    ok = len > 0 &&
         CMS_signed_add1_attr_by_NID(si, NID_id_smime_aa_signingCertificateV2, V_ASN1_SEQUENCE, der, len) == 1 &&
         (!rc->ess_twice ||
          CMS_signed_add1_attr_by_NID(si, NID_id_smime_aa_signingCertificateV2, V_ASN1_SEQUENCE, der, len) == 1);
done:
    OPENSSL_free(der);
    sk_X509_free(more);
    return ok;
}

static void fz_del_attr(CMS_SignerInfo *si, int nid)
{
    int i;
    while ((i = CMS_signed_get_attr_by_NID(si, nid, -1)) >= 0)
        X509_ATTRIBUTE_free(CMS_signed_delete_attr(si, i));
}

static int fz_der_cmp(const void *a, const void *b)
{
    const ASN1_STRING *x = *(ASN1_STRING *const *)a, *y = *(ASN1_STRING *const *)b;
    int lx = ASN1_STRING_length(x), ly = ASN1_STRING_length(y);
    int c = memcmp(ASN1_STRING_get0_data(x), ASN1_STRING_get0_data(y), (size_t)(lx < ly ? lx : ly));
    return c != 0 ? c : lx - ly;
}

/* Signs the signed attributes as they now stand: their DER as a SET OF
 * (sorted, RFC 5652 5.4), with the signer's key.  CMS_SignerInfo_sign would
 * refuse (or mend) exactly the attribute sets this harness wants to send. */
static int fz_sign_attrs(CMS_SignerInfo *si)
{
    int n = CMS_signed_get_attr_count(si), ok = 0;
    ASN1_STRING **enc = n > 0 ? calloc((size_t)n, sizeof *enc) : NULL;
    unsigned char *set = NULL, *sig = NULL;
    size_t total = 0, siglen = 0;
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    if (enc == NULL || m == NULL)
        goto done;
    for (int i = 0; i < n; i++) {
        unsigned char *der = NULL;
        int len = i2d_X509_ATTRIBUTE(CMS_signed_get_attr(si, i), &der);
        if (len <= 0 || (enc[i] = ASN1_STRING_new()) == NULL) {
            OPENSSL_free(der);
            goto done;
        }
        ASN1_STRING_set0(enc[i], der, len);
        total += (size_t)len;
    }
    qsort(enc, (size_t)n, sizeof *enc, fz_der_cmp);
    int hl = ASN1_object_size(1, (int)total, V_ASN1_SET);
    if (hl <= 0 || (set = OPENSSL_malloc((size_t)hl)) == NULL)
        goto done;
    unsigned char *w = set;
    ASN1_put_object(&w, 1, (int)total, V_ASN1_SET, V_ASN1_UNIVERSAL);
    for (int i = 0; i < n; i++) {
        memcpy(w, ASN1_STRING_get0_data(enc[i]), (size_t)ASN1_STRING_length(enc[i]));
        w += ASN1_STRING_length(enc[i]);
    }
    if (EVP_DigestSignInit(m, NULL, EVP_sha256(), NULL, key) != 1 ||
        EVP_DigestSign(m, NULL, &siglen, set, (size_t)hl) != 1 || (sig = OPENSSL_malloc(siglen)) == NULL ||
        EVP_DigestSign(m, sig, &siglen, set, (size_t)hl) != 1)
        goto done;
    ASN1_STRING_set0(CMS_SignerInfo_get0_signature(si), sig, (int)siglen);
    sig = NULL;
    ok = 1;
done:
    for (int i = 0; enc != NULL && i < n; i++)
        ASN1_STRING_free(enc[i]);
    free(enc);
    OPENSSL_free(set);
    OPENSSL_free(sig);
    EVP_MD_CTX_free(m);
    return ok;
}

/* The SignedData's DER, or NULL when OpenSSL refused to build it. */
static unsigned char *fz_build(const fz_recipe *rc, int *len)
{
    unsigned char *der = NULL;
    CMS_ContentInfo *cms = CMS_sign(NULL, NULL, NULL, NULL, CMS_PARTIAL | CMS_BINARY);
    BIO *content = BIO_new_mem_buf(fz_content, (int)strlen(fz_content));
    CMS_SignerInfo *si = NULL;
    if (cms == NULL || content == NULL)
        goto done;
    for (int i = 0; i < rc->n_embed; i++)
        if (CMS_add1_cert(cms, certs[rc->embed[i]]) != 1)
            ERR_clear_error(); /* the same certificate twice */
    si = CMS_add1_signer(cms, certs[FZ_REAL], key, EVP_sha256(),
                         CMS_PARTIAL | CMS_NOCERTS | CMS_NOSMIMECAP | (rc->keyid ? CMS_USE_KEYID : 0));
    if (si == NULL || CMS_final(cms, content, NULL, CMS_BINARY) != 1)
        goto done;
    /* OpenSSL's attributes (contentType, messageDigest, signingTime), then
     * the recipe's changes. */
    if (rc->ctype == 1 || rc->ctype == 2)
        fz_del_attr(si, NID_pkcs9_contentType);
    if (rc->ctype == 1 &&
        CMS_signed_add1_attr_by_NID(si, NID_pkcs9_contentType, V_ASN1_OBJECT, OBJ_nid2obj(NID_pkcs7_signed), -1) != 1)
        goto done;
    if (rc->ctype == 3 &&
        CMS_signed_add1_attr_by_NID(si, NID_pkcs9_contentType, V_ASN1_OBJECT, OBJ_nid2obj(NID_pkcs7_data), -1) != 1)
        goto done;
    if (rc->md_wrong) {
        int i = CMS_signed_get_attr_by_NID(si, NID_pkcs9_messageDigest, -1);
        ASN1_OCTET_STRING *md = i >= 0 ? X509_ATTRIBUTE_get0_data(CMS_signed_get_attr(si, i), 0,
                                                                    V_ASN1_OCTET_STRING, NULL)
                                       : NULL;
        if (md == NULL || ASN1_STRING_length(md) < 1)
            goto done;
        unsigned char *b = (unsigned char *)ASN1_STRING_get0_data(md);
        b[0] ^= 1;
    }
    fz_del_attr(si, NID_pkcs9_signingTime);
    if (rc->stime) {
        ASN1_TIME *t = ASN1_TIME_set(NULL, rc->signing_time);
        int ok = t != NULL &&
                 CMS_signed_add1_attr_by_NID(si, NID_pkcs9_signingTime, t->type, t, -1) == 1;
        ASN1_TIME_free(t);
        if (!ok)
            goto done;
    }
    if (rc->ess && !fz_add_ess(si, rc))
        goto done;
    if (!fz_sign_attrs(si) || (*len = i2d_CMS_ContentInfo(cms, &der)) <= 0) {
        OPENSSL_free(der);
        der = NULL;
    }
done:
    ERR_clear_error();
    BIO_free(content);
    CMS_ContentInfo_free(cms);
    return der;
}

/* ---------------- the second opinion ---------------- */

/* Deliberate: OpenSSL's builder takes the first issuer by name and never
 * backtracks (the test PKI has a CA under two keys, and self-signed
 * certificates beside the cross certificates), where kensho's searches
 * every candidate.  So OpenSSL gets, of the configured intermediates, those
 * of the path kensho reports (added to its copy of the message, where
 * CMS_verify looks for them): the oracle asks whether that path holds. */
static STACK_OF(X509) *fz_reported_path(const cJSON *chain)
{
    STACK_OF(X509) *sk = sk_X509_new_null();
    const cJSON *c;
    cJSON_ArrayForEach(c, chain)
    {
        /* pre-rendered by the verification cache: cJSON_Raw text */
        cJSON *parsed = cJSON_IsRaw(c) ? cJSON_Parse(c->valuestring) : NULL;
        const char *fp = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(parsed ? parsed : c, "sha256"));
        for (int i = 0; sk != NULL && fp != NULL && i < sk_X509_num(intermediates); i++)
            if (strcasecmp(fp, inter_fps[i]) == 0 && !sk_X509_push(sk, sk_X509_value(intermediates, i))) {
                sk_X509_free(sk);
                sk = NULL;
            }
        cJSON_Delete(parsed);
    }
    return sk;
}

static const char *fz_second_opinion(const unsigned char *der, int len, const fz_recipe *rc, int reported,
                                     const cJSON *chain)
{
    const char *why = NULL;
    STACK_OF(X509) *path = fz_reported_path(chain);
    const unsigned char *p = der;
    CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &p, len);
    CMS_SignerInfo *si = cms ? sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(cms), 0) : NULL;
    X509_VERIFY_PARAM *vp = X509_STORE_get0_param(store);
    if (si == NULL || path == NULL) {
        why = "OpenSSL cannot decode it";
        goto done;
    }
    if (rc->ess && reported != rc->ess - 1) {
        why = "the reported signer is not the certificate the ESS attribute names";
        goto done;
    }
    if (CMS_SignerInfo_cert_cmp(si, certs[reported]) != 0) {
        why = "the reported signer does not match the SignerIdentifier";
        goto done;
    }
    const ASN1_OBJECT *ct = CMS_signed_get0_data_by_OBJ(si, OBJ_nid2obj(NID_pkcs9_contentType), -3, V_ASN1_OBJECT);
    if (ct == NULL || OBJ_obj2nid(ct) != NID_pkcs7_data) {
        why = "contentType is not there exactly once saying id-data (RFC 5652 11.1)";
        goto done;
    }
    /* CMS_verify builds paths from the message's certificates only. */
    for (int i = 0; i < sk_X509_num(path); i++)
        if (CMS_add1_cert(cms, sk_X509_value(path, i)) != 1)
            ERR_clear_error();
    CMS_SignerInfo_set1_signer_cert(si, certs[reported]);
    X509_VERIFY_PARAM_set_time(vp, rc->at);
    /* Deliberate: an ESSCertID after the first (RFC 5035 5.4, RFC 2634 5.4:
     * other certificates, an attribute authority's say) must be a
     * certificate kensho holds; OpenSSL's CAdES check wants each on the
     * signer's validated path.  With one, the binding of the first (the
     * signer) is checked above, and OpenSSL is asked without CMS_CADES. */
    int cades = rc->ess && !rc->ess_extra;
    if (CMS_verify(cms, NULL, store, NULL, NULL, CMS_BINARY | (cades ? CMS_CADES : 0)) != 1) {
        static char msg[200];
        unsigned long e = ERR_peek_error();
        const char *data = NULL;
        ERR_peek_error_data(&data, NULL);
        snprintf(msg, sizeof msg, "CMS_verify%s: %s (%s)", cades ? " with CMS_CADES" : "",
                 e ? ERR_reason_error_string(e) : "?", data ? data : "");
        why = msg;
    }
done:
    ERR_clear_error();
    sk_X509_free(path);
    CMS_ContentInfo_free(cms);
    return why;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_in in = {data, size};
    fz_recipe rc;
    int len = 0;
    fz_read_recipe(&in, &rc);
    unsigned char *der = fz_build(&rc, &len);
    if (der == NULL)
        return 0;
    ks_request req = {.signature = {.name = NULL, .data = der, .len = (size_t)len}, .at = rc.at, .has_at = 1};
    cJSON *verdict = NULL;
    ks_result r = ks_verify_signature(ctx, &req, &verdict);
    if ((r == KS_OK) != (verdict != NULL))
        fz_die("ks_verify_signature", "verdict and result disagree");
    const char *ind = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(verdict, "indication"));
    if (ind != NULL && strcmp(ind, "TOTAL_PASSED") == 0) {
        const cJSON *signer = cJSON_GetObjectItemCaseSensitive(verdict, "signer");
        cJSON *parsed = cJSON_IsRaw(signer) ? cJSON_Parse(signer->valuestring) : NULL;
        const char *fp = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(parsed ? parsed : signer, "sha256"));
        int reported = -1;
        for (int i = 0; fp != NULL && i < FZ_NCERTS; i++)
            if (strcasecmp(fp, fps[i]) == 0)
                reported = i;
        cJSON_Delete(parsed);
        const char *why = reported < 0 ? "the reported signer is none of the certificates for the key"
                                       : fz_second_opinion(der, len, &rc, reported,
                                                           cJSON_GetObjectItemCaseSensitive(verdict, "chain"));
        if (why != NULL) {
            char msg[512];
            snprintf(msg, sizeof msg, "kensho said TOTAL_PASSED, but: %s (signer reported: %s)", why,
                     reported < 0 ? "?" : fz_cert_names[reported]);
            fz_die("differential", msg);
        }
    }
    cJSON_Delete(verdict);
    OPENSSL_free(der);
    return 0;
}
