/*
 * fuzz/fuzz_tsp_sign.c - RFC 3161 time-stamp tokens past the signature: the
 * input is a recipe (a fixed layout of bytes read through a cursor) for a
 * TSTInfo, which the harness builds with OpenSSL's encoders (TS_TST_INFO_*)
 * and SIGNS as the test PKI's TSA (tsa.key, under tsa-ca.pem, the harness's
 * only timestamp_anchors), so every input reaches what ks_tsp_verify checks
 * after the signature: contentType, the ESS binding of the TSA certificate,
 * its extendedKeyUsage, the digests, the messageImprint, genTime against the
 * TSA's validity and the validation time, and the TSA's path.
 *
 * The recipe picks: the TSA certificate the SignerIdentifier names and the
 * certificates the token carries, among tsa.pem and "twins" generated at
 * init for the same key under tsa-ca (another name and serial, critical
 * timeStamping: a valid alternative; timeStamping not critical;
 * timeStamping with emailProtection; a validity of a month around now); the
 * ESS attributes (signingCertificateV2, signingCertificate, both or none)
 * and the certificate they name, with or without issuerSerial, with tsa-ca
 * as a second ESSCertID; the signed attributes' digest; contentType right,
 * wrong or absent; a TSTInfo changed after signing; and the TSTInfo fields:
 * version, policy, the imprint's algorithm (SHA-256, SHA-512, SHA-1, MD5)
 * and value (right, flipped, short, over other data), serialNumber, genTime
 * (minutes around the validation time), accuracy, ordering, nonce, the tsa
 * name (absent, the signer's, tsa-ca's, another) and a critical unknown
 * extension.
 *
 * Differential oracle (issue #25: kensho may be stricter, never looser):
 * whenever ks_tsp_verify says TOTAL_PASSED,
 *   - OpenSSL's TS_RESP_verify_token with TS_VFY_SIGNATURE (the signature,
 *     the ESS binding of every ESSCertID, the path to the same anchor at the
 *     same validation time with the timestamping purpose: the critical
 *     id-kp-timeStamping EKU), TS_VFY_DATA over the same data, TS_VFY_VERSION
 *     and TS_VFY_SIGNER (the tsa field, when present, names the TSA
 *     certificate, RFC 3161 2.4.2) accepts the token too;
 *   - the TSA kensho reports is the subject of the certificate the
 *     SignerIdentifier names;
 *   - genTime is inside that certificate's validity and not later than the
 *     validation time plus clock_skew_s (kensho's rules; OpenSSL checks
 *     neither).
 * Deliberately stricter, so not judged: kensho's digest and key policy, the
 * contentType attribute's value, exactly one ESS attribute of each kind.
 * Stricter and not meant to be (left open, seed good-both-serial-ca): an
 * ESS attribute that lists tsa-ca after the TSA certificate, as `openssl
 * ts` writes with ess_cert_id_chain = yes, is refused: verify/tsp.c hands
 * OSSL_ESS_check_signing_certs the TSA certificate alone, which wants every
 * ESSCertID found there, although its comment says only the first must be.
 * A disagreement aborts with the rule that failed.
 */
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/ess.h>
#include <openssl/evp.h>
#include <openssl/pkcs7.h>
#include <openssl/ts.h>
#include <openssl/x509v3.h>

#define FZ_SMALL_QUARANTINE /* fuzz.h: LeakSanitizer's walk stays short */
#include "fuzz.h"
#include "internal.h"

/* ---------------- the world ---------------- */

static const char fz_doc[] = "kensho fuzz: the time-stamped data\n";
static const char fz_other[] = "kensho fuzz: other data\n";

enum { FZ_REAL, FZ_TWIN, FZ_NONCRIT, FZ_TWO_EKU, FZ_SHORT, FZ_NCERTS };
static const char *const fz_cert_names[FZ_NCERTS] = {
    "tsa.pem", "twin (same key, critical timeStamping)", "twin (timeStamping not critical)",
    "twin (timeStamping and emailProtection)", "twin (valid for a month around now)"};
static ks_ctx *ctx;
static X509 *certs[FZ_NCERTS], *tsa_ca;
static EVP_PKEY *key;
static X509_STORE *store;
static int skew_s = 300; /* revocation.clock_skew_s's default, the harness's configuration */

static X509 *fz_twin(EVP_PKEY *cakey, const char *cn, long serial, const char *eku, long from_days, long to_days)
{
    X509 *x = X509_new();
    X509_NAME *n = X509_NAME_new();
    X509V3_CTX v3;
    int ok = x != NULL && n != NULL && X509_set_version(x, 2) == 1 &&
             X509_NAME_add_entry_by_txt(n, "C", MBSTRING_ASC, (const unsigned char *)"JP", -1, -1, 0) == 1 &&
             X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC, (const unsigned char *)"Synthetic Test TSA", -1, -1,
                                        0) == 1 &&
             X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0) == 1 &&
             ASN1_INTEGER_set(X509_get_serialNumber(x), serial) == 1 && X509_set_subject_name(x, n) == 1 &&
             X509_set_issuer_name(x, X509_get_subject_name(tsa_ca)) == 1 &&
             X509_time_adj_ex(X509_getm_notBefore(x), (int)from_days, 0, &fz_now) != NULL &&
             X509_time_adj_ex(X509_getm_notAfter(x), (int)to_days, 0, &fz_now) != NULL &&
             X509_set_pubkey(x, X509_get0_pubkey(certs[FZ_REAL])) == 1;
    X509_NAME_free(n);
    X509V3_set_ctx(&v3, tsa_ca, x, NULL, NULL, 0);
    const struct {
        int nid;
        const char *v;
    } ext[] = {{NID_key_usage, "critical,digitalSignature,nonRepudiation"},
               {NID_ext_key_usage, eku},
               {NID_subject_key_identifier, "hash"},
               {NID_authority_key_identifier, "keyid:always"}};
    for (size_t i = 0; ok && i < sizeof ext / sizeof ext[0]; i++) {
        X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &v3, ext[i].nid, ext[i].v);
        ok = e != NULL && X509_add_ext(x, e, -1) == 1;
        X509_EXTENSION_free(e);
    }
    if (!ok || X509_sign(x, cakey, EVP_sha256()) <= 0)
        fz_die("init", cn);
    return x;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    char extra[PATH_MAX + 64];
    snprintf(extra, sizeof extra, ", \"timestamp_anchors\": [\"%s/tsa-ca.pem\"]", fz_pki_dir());
    ctx = fz_ctx_load("{\"mode\": \"off\"}", extra);
    certs[FZ_REAL] = fz_read_pem("tsa.pem");
    tsa_ca = fz_read_pem("tsa-ca.pem");
    key = fz_read_key("tsa.key");
    EVP_PKEY *cakey = fz_read_key("tsa-ca.key");
    certs[FZ_TWIN] = fz_twin(cakey, "Fuzz TSA twin", 9001, "critical,timeStamping", -365, 365);
    certs[FZ_NONCRIT] = fz_twin(cakey, "Fuzz TSA non-critical", 9002, "timeStamping", -365, 365);
    certs[FZ_TWO_EKU] = fz_twin(cakey, "Fuzz TSA two EKU", 9003, "critical,timeStamping,emailProtection", -365, 365);
    certs[FZ_SHORT] = fz_twin(cakey, "Fuzz TSA short", 9004, "critical,timeStamping", -30, 30);
    EVP_PKEY_free(cakey);
    if ((store = X509_STORE_new()) == NULL || X509_STORE_add_cert(store, tsa_ca) != 1)
        fz_die("store", "out of memory");
    ERR_clear_error();
    return 0;
}

/* ---------------- building a token from the recipe ---------------- */

typedef struct {
    int signer;      /* the certificate the SignerIdentifier names */
    unsigned embed;  /* bit i: certs[i] in the token */
    int ess;         /* 0 none, 1 v2, 2 v1, 3 both */
    int ess_names;   /* the certificate the ESS attributes name */
    int ess_serial;  /* with issuerSerial */
    int ess_ca;      /* tsa-ca as a second ESSCertID */
    int sig_md;      /* 0 SHA-256, 1 SHA-384, 2 SHA-1 */
    int ctype;       /* 0 right, 1 wrong, 2 absent */
    int tamper;      /* the TSTInfo changed after signing */
    int version;     /* 1, 2 or 0 */
    int policy;      /* which of three OIDs */
    int imp_alg;     /* 0 SHA-256, 1 SHA-512, 2 SHA-1, 3 MD5 */
    int imp_val;     /* 0 right, 1 flipped, 2 short, 3 over other data */
    int nonce, ordering, accuracy, tsa_name, crit_ext;
    long serial;
    time_t at, gen;
} fz_recipe;

static void fz_read_recipe(fz_in *in, fz_recipe *rc)
{
    unsigned f1 = fz_u8(in), f2 = fz_u8(in), f3 = fz_u8(in), f4 = fz_u8(in), f5 = fz_u8(in);
    memset(rc, 0, sizeof *rc);
    rc->signer = (int)((f1 & 7) % FZ_NCERTS);
    rc->embed = (f1 >> 3) & 0x1f;
    rc->ess = (int)(f2 & 3);
    rc->ess_names = (int)(((f2 >> 2) & 7) % FZ_NCERTS);
    rc->ess_serial = (f2 & 0x20) != 0;
    rc->ess_ca = (f2 & 0x40) != 0;
    rc->tamper = (f2 & 0x80) != 0;
    rc->sig_md = (int)((f3 & 3) % 3);
    rc->ctype = (int)(((f3 >> 2) & 3) % 3);
    rc->version = (f3 & 0x10) ? ((f3 & 0x20) ? 2 : 0) : 1;
    rc->policy = (int)(((f3 >> 6) & 3) % 3);
    rc->imp_alg = (int)(f4 & 3);
    rc->imp_val = (int)((f4 >> 2) & 3);
    rc->nonce = (f4 & 0x10) != 0;
    rc->ordering = (f4 & 0x20) != 0;
    rc->accuracy = (int)((f4 >> 6) & 3);
    rc->tsa_name = (int)(f5 & 3);
    rc->crit_ext = (f5 & 4) != 0;
    rc->serial = (long)(f5 >> 3);
    /* The validation time in ten-minute steps around now (tsa.pem is valid
     * for years, the short twin for a month), genTime in minutes around it. */
    rc->at = fz_now + fz_s16(in) * 600;
    rc->gen = rc->at + fz_s16(in) * 60;
}

static const EVP_MD *fz_md(int which)
{
    switch (which) {
    case 1:
        return EVP_sha512();
    case 2:
        return EVP_sha1();
    case 3:
        return EVP_md5();
    default:
        return EVP_sha256();
    }
}

static int fz_imprint(TS_TST_INFO *tst, const fz_recipe *rc)
{
    const EVP_MD *md = fz_md(rc->imp_alg);
    unsigned char h[EVP_MAX_MD_SIZE];
    unsigned int hl = 0;
    const char *over = rc->imp_val == 3 ? fz_other : fz_doc;
    TS_MSG_IMPRINT *mi = TS_MSG_IMPRINT_new();
    X509_ALGOR *alg = X509_ALGOR_new();
    int ok = mi != NULL && alg != NULL && EVP_Digest(over, strlen(over), h, &hl, md, NULL) == 1;
    if (ok) {
        if (rc->imp_val == 1)
            h[hl / 2] ^= 0x80;
        if (rc->imp_val == 2)
            hl--;
        X509_ALGOR_set_md(alg, md);
        ok = TS_MSG_IMPRINT_set_algo(mi, alg) == 1 && TS_MSG_IMPRINT_set_msg(mi, h, (int)hl) == 1 &&
             TS_TST_INFO_set_msg_imprint(tst, mi) == 1;
    }
    X509_ALGOR_free(alg);
    TS_MSG_IMPRINT_free(mi);
    return ok;
}

static int fz_tsa_name(TS_TST_INFO *tst, const fz_recipe *rc)
{
    if (rc->tsa_name == 0)
        return 1;
    GENERAL_NAME *g = GENERAL_NAME_new();
    X509_NAME *n = NULL;
    if (rc->tsa_name == 1)
        n = X509_NAME_dup(X509_get_subject_name(certs[rc->signer]));
    else if (rc->tsa_name == 2)
        n = X509_NAME_dup(X509_get_subject_name(tsa_ca));
    else if ((n = X509_NAME_new()) != NULL &&
             X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"Someone Else", -1, -1, 0) != 1) {
        X509_NAME_free(n);
        n = NULL;
    }
    if (g == NULL || n == NULL) {
        GENERAL_NAME_free(g);
        X509_NAME_free(n);
        return 0;
    }
    GENERAL_NAME_set0_value(g, GEN_DIRNAME, n);
    int ok = TS_TST_INFO_set_tsa(tst, g) == 1;
    GENERAL_NAME_free(g);
    return ok;
}

/* The TSTInfo's DER (RFC 3161 2.4.2), or NULL. */
static unsigned char *fz_tstinfo(const fz_recipe *rc, int *len)
{
    static const char *const policies[3] = {"1.2.392.200149.8.5.99.1", "1.2.3.4", "2.5.29.32.0"};
    TS_TST_INFO *tst = TS_TST_INFO_new();
    ASN1_OBJECT *pol = OBJ_txt2obj(policies[rc->policy], 1);
    ASN1_INTEGER *serial = ASN1_INTEGER_new(), *nonce = ASN1_INTEGER_new();
    ASN1_GENERALIZEDTIME *gt = ASN1_GENERALIZEDTIME_set(NULL, rc->gen);
    TS_ACCURACY *acc = TS_ACCURACY_new();
    ASN1_INTEGER *one = ASN1_INTEGER_new();
    unsigned char *der = NULL;
    int ok = tst != NULL && pol != NULL && serial != NULL && nonce != NULL && gt != NULL && acc != NULL &&
             one != NULL && ASN1_INTEGER_set(one, 1) == 1 && TS_TST_INFO_set_version(tst, rc->version) == 1 &&
             TS_TST_INFO_set_policy_id(tst, pol) == 1 && fz_imprint(tst, rc) &&
             ASN1_INTEGER_set(serial, rc->serial) == 1 && TS_TST_INFO_set_serial(tst, serial) == 1 &&
             TS_TST_INFO_set_time(tst, gt) == 1 && fz_tsa_name(tst, rc);
    if (ok && rc->accuracy != 0)
        ok = (rc->accuracy == 1   ? TS_ACCURACY_set_seconds(acc, one)
              : rc->accuracy == 2 ? TS_ACCURACY_set_millis(acc, one)
                                  : TS_ACCURACY_set_micros(acc, one)) == 1 &&
             TS_TST_INFO_set_accuracy(tst, acc) == 1;
    if (ok && rc->ordering)
        ok = TS_TST_INFO_set_ordering(tst, 1) == 1;
    if (ok && rc->nonce)
        ok = ASN1_INTEGER_set(nonce, 0x5eed) == 1 && TS_TST_INFO_set_nonce(tst, nonce) == 1;
    if (ok && rc->crit_ext) {
        /* an extension nobody knows, critical: RFC 3161 2.4.2 defines none,
         * so kensho refuses it (stricter than OpenSSL, which accepts it) */
        ASN1_OBJECT *o = OBJ_txt2obj("1.3.6.1.4.1.99999.1", 1);
        ASN1_OCTET_STRING *v = ASN1_OCTET_STRING_new();
        X509_EXTENSION *e = o && v && ASN1_OCTET_STRING_set(v, (const unsigned char *)"\x05\x00", 2) == 1
                                ? X509_EXTENSION_create_by_OBJ(NULL, o, 1, v)
                                : NULL;
        ok = e != NULL && TS_TST_INFO_add_ext(tst, e, -1) == 1;
        X509_EXTENSION_free(e);
        ASN1_OCTET_STRING_free(v);
        ASN1_OBJECT_free(o);
    }
    if (!ok || (*len = i2d_TS_TST_INFO(tst, &der)) <= 0) {
        OPENSSL_free(der);
        der = NULL;
    }
    ASN1_INTEGER_free(one);
    TS_ACCURACY_free(acc);
    ASN1_GENERALIZEDTIME_free(gt);
    ASN1_INTEGER_free(nonce);
    ASN1_INTEGER_free(serial);
    ASN1_OBJECT_free(pol);
    TS_TST_INFO_free(tst);
    return der;
}

static int fz_add_ess(CMS_SignerInfo *si, const fz_recipe *rc)
{
    X509 *named = certs[rc->ess_names];
    STACK_OF(X509) *more = sk_X509_new_null();
    unsigned char *der = NULL;
    int len, ok = 0;
    if (more == NULL || (rc->ess_ca && !sk_X509_push(more, tsa_ca)))
        goto done;
    if (rc->ess & 2) {
        ESS_SIGNING_CERT *v1 = OSSL_ESS_signing_cert_new_init(named, more, rc->ess_serial);
        len = v1 ? i2d_ESS_SIGNING_CERT(v1, &der) : -1;
        ESS_SIGNING_CERT_free(v1);
        if (len <= 0 || CMS_signed_add1_attr_by_NID(si, NID_id_smime_aa_signingCertificate, V_ASN1_SEQUENCE, der,
                                                    len) != 1)
            goto done;
        OPENSSL_free(der);
        der = NULL;
    }
    if (rc->ess & 1) {
        ESS_SIGNING_CERT_V2 *v2 = OSSL_ESS_signing_cert_v2_new_init(EVP_sha256(), named, more, rc->ess_serial);
        len = v2 ? i2d_ESS_SIGNING_CERT_V2(v2, &der) : -1;
        ESS_SIGNING_CERT_V2_free(v2);
        if (len <= 0 || CMS_signed_add1_attr_by_NID(si, NID_id_smime_aa_signingCertificateV2, V_ASN1_SEQUENCE, der,
                                                    len) != 1)
            goto done;
    }
    ok = 1;
done:
    OPENSSL_free(der);
    sk_X509_free(more);
    return ok;
}

/* The TimeStampToken's DER (RFC 3161 2.4.2: a SignedData over the TSTInfo),
 * or NULL when OpenSSL refused to build it. */
static unsigned char *fz_build(const fz_recipe *rc, int *len)
{
    static const int mds[3] = {NID_sha256, NID_sha384, NID_sha1};
    int tlen = 0;
    unsigned char *tst = fz_tstinfo(rc, &tlen), *der = NULL;
    CMS_ContentInfo *cms = CMS_sign(NULL, NULL, NULL, NULL, CMS_PARTIAL | CMS_BINARY);
    BIO *content = tst ? BIO_new_mem_buf(tst, tlen) : NULL;
    CMS_SignerInfo *si = NULL;
    if (cms == NULL || content == NULL ||
        CMS_set1_eContentType(cms, OBJ_nid2obj(NID_id_smime_ct_TSTInfo)) != 1)
        goto done;
    for (int i = 0; i < FZ_NCERTS; i++)
        if ((rc->embed & (1u << i)) && CMS_add1_cert(cms, certs[i]) != 1)
            goto done;
    si = CMS_add1_signer(cms, certs[rc->signer], key, EVP_get_digestbynid(mds[rc->sig_md]),
                         CMS_PARTIAL | CMS_NOCERTS | CMS_NOSMIMECAP | CMS_NOSMIMECAP);
    if (si == NULL)
        goto done;
    /* CMS_SignerInfo_sign adds contentType = eContentType only when absent. */
    if (rc->ctype == 1 &&
        CMS_signed_add1_attr_by_NID(si, NID_pkcs9_contentType, V_ASN1_OBJECT, OBJ_nid2obj(NID_pkcs7_data), -1) != 1)
        goto done;
    if (rc->ess != 0 && !fz_add_ess(si, rc))
        goto done;
    if (CMS_final(cms, content, NULL, CMS_BINARY) != 1)
        goto done;
    if (rc->ctype == 2) {
        /* contentType removed after signing: the signature no longer holds
         * either, but the attribute check comes first in some readers */
        int i = CMS_signed_get_attr_by_NID(si, NID_pkcs9_contentType, -1);
        if (i >= 0)
            X509_ATTRIBUTE_free(CMS_signed_delete_attr(si, i));
    }
    if (rc->tamper) {
        ASN1_OCTET_STRING **pos = CMS_get0_content(cms);
        if (pos == NULL || *pos == NULL || ASN1_STRING_length(*pos) < 8)
            goto done;
        /* the last byte: inside the last field of the TSTInfo, so it
         * still decodes */
        unsigned char *b = (unsigned char *)ASN1_STRING_get0_data(*pos);
        b[ASN1_STRING_length(*pos) - 1] ^= 1;
    }
    if ((*len = i2d_CMS_ContentInfo(cms, &der)) <= 0) {
        OPENSSL_free(der);
        der = NULL;
    }
done:
    ERR_clear_error();
    BIO_free(content);
    CMS_ContentInfo_free(cms);
    OPENSSL_free(tst);
    return der;
}

/* ---------------- the second opinion ---------------- */

static const char *fz_second_opinion(const unsigned char *der, int len, const fz_recipe *rc,
                                     const ks_tsp_result *t)
{
    static char msg[300];
    const char *why = NULL;
    X509 *signer = certs[rc->signer];
    const unsigned char *p = der;
    PKCS7 *p7 = d2i_PKCS7(NULL, &p, len);
    TS_VERIFY_CTX *vc = TS_VERIFY_CTX_new();
    STACK_OF(X509) *extra = sk_X509_new_null();
    char *subj = ks_name_string(X509_get_subject_name(signer));
    if (p7 == NULL || vc == NULL || extra == NULL || subj == NULL) {
        why = "OpenSSL cannot decode the token";
        goto done;
    }
    if (strcmp(t->tsa, subj) != 0) {
        snprintf(msg, sizeof msg, "the reported TSA \"%s\" is not the SignerIdentifier's certificate", t->tsa);
        why = msg;
        goto done;
    }
    if (t->time != rc->gen || ASN1_TIME_cmp_time_t(X509_get0_notBefore(signer), rc->gen) > 0 ||
        ASN1_TIME_cmp_time_t(X509_get0_notAfter(signer), rc->gen) < 0) {
        why = "genTime is not the one signed, or outside the TSA certificate's validity";
        goto done;
    }
    if (rc->gen > rc->at + skew_s) {
        why = "genTime is later than the validation time plus clock_skew_s";
        goto done;
    }
    /* The same anchor, at the same time; tsa-ca also as a candidate, as
     * kensho looks for the TSA certificate among timestamp_anchors. */
    X509_VERIFY_PARAM_set_time(X509_STORE_get0_param(store), rc->at);
    if (!X509_STORE_up_ref(store) || TS_VERIFY_CTX_set_store(vc, store) == NULL || !X509_up_ref(tsa_ca) ||
        !sk_X509_push(extra, tsa_ca))
        fz_die("TS_VERIFY_CTX", "out of memory");
    TS_VERIFY_CTX_set_certs(vc, extra);
    extra = NULL;
    BIO *data = BIO_new_mem_buf(fz_doc, (int)strlen(fz_doc));
    if (data == NULL || TS_VERIFY_CTX_set_data(vc, data) == NULL)
        fz_die("TS_VERIFY_CTX", "out of memory");
    TS_VERIFY_CTX_set_flags(vc, TS_VFY_SIGNATURE | TS_VFY_DATA | TS_VFY_VERSION | TS_VFY_SIGNER);
    if (TS_RESP_verify_token(vc, p7) != 1) {
        unsigned long e = ERR_peek_last_error();
        const char *d = NULL;
        ERR_peek_last_error_data(&d, NULL);
        snprintf(msg, sizeof msg, "TS_RESP_verify_token: %s (%s)", e ? ERR_reason_error_string(e) : "?",
                 d ? d : "");
        why = msg;
    }
done:
    ERR_clear_error();
    free(subj);
    sk_X509_pop_free(extra, X509_free);
    TS_VERIFY_CTX_free(vc);
    PKCS7_free(p7);
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
    ks_blob covered = {.data = (const uint8_t *)fz_doc, .len = strlen(fz_doc)};
    ks_tsp_result t;
    ks_tsp_verify(ctx, der, (size_t)len, &covered, 1, rc.at, NULL, &t);
    if (getenv("FZ_VERBOSE") != NULL) /* what each seed reaches */
        fprintf(stderr, "fuzz_tsp_sign: %s/%s %s\n", ks_indication_name(t.indication),
                ks_subindication_name(t.sub) ? ks_subindication_name(t.sub) : "", t.detail);
    if (t.indication == KS_TOTAL_PASSED) {
        const char *why = fz_second_opinion(der, len, &rc, &t);
        if (why != NULL) {
            char m[600];
            snprintf(m, sizeof m, "kensho said TOTAL_PASSED, but: %s (signer %s, ESS %d naming %s)", why,
                     fz_cert_names[rc.signer], rc.ess, fz_cert_names[rc.ess_names]);
            fz_die("differential", m);
        }
    }
    ks_tsp_result_clear(&t);
    OPENSSL_free(der);
    return 0;
}
