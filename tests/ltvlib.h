/*
 * tests/ltvlib.h - what the long-term validation tests share: the test PKI's
 * own instants (tests/pki/mkpki.sh) and an RFC 3161 TSA whose clock is
 * injected, so genTime is any instant a row names.  Include after testlib.h
 * and internal.h; the including file defines `pki` (the PKI directory).
 */
#ifndef KENSHO_TESTS_LTVLIB_H
#define KENSHO_TESTS_LTVLIB_H

#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/ts.h>

static const char *pki;

/* ---------------- the PKI's own instants ---------------- */

static X509 *load_cert(const char *base)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s.pem", pki, base);
    FILE *f = fopen(path, "r");
    X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
    if (f)
        fclose(f);
    if (x == NULL) {
        fprintf(stderr, "cannot read %s\n", path);
        exit(2);
    }
    return x;
}

static EVP_PKEY *load_key(const char *base)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s.key", pki, base);
    FILE *f = fopen(path, "r");
    EVP_PKEY *k = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
    if (f)
        fclose(f);
    if (k == NULL) {
        fprintf(stderr, "cannot read %s\n", path);
        exit(2);
    }
    return k;
}

static time_t t_revoked;  /* citizen-revoked's revocationDate in pref-ca.crl */
static time_t t_crl;      /* pref-ca.crl's thisUpdate */
static time_t t_expired;  /* citizen-expired's notAfter */
static time_t t_at;       /* the validation time of every row: the CRLs are current */

static void instants(void)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/pref-ca.crl", pki);
    FILE *f = fopen(path, "r");
    X509_CRL *crl = f ? PEM_read_X509_CRL(f, NULL, NULL, NULL) : NULL;
    if (f)
        fclose(f);
    X509 *rev = load_cert("citizen-revoked"), *exp = load_cert("citizen-expired");
    X509_REVOKED *r = NULL;
    if (crl == NULL || X509_CRL_get0_by_cert(crl, &r, rev) != 1 ||
        !ks_asn1_time_to_time_t(X509_REVOKED_get0_revocationDate(r), &t_revoked) ||
        !ks_asn1_time_to_time_t(X509_CRL_get0_lastUpdate(crl), &t_crl) ||
        !ks_asn1_time_to_time_t(X509_get0_notAfter(exp), &t_expired)) {
        fprintf(stderr, "cannot read the PKI's instants\n");
        exit(2);
    }
    /* thisUpdate is an hour before the revocations (mkpki.sh CRL_LAST),
     * nextUpdate a day after them. */
    t_at = t_crl + 2 * 3600;
    X509_CRL_free(crl);
    X509_free(rev);
    X509_free(exp);
}

/* ---------------- a TSA with an injected clock ---------------- */

static int tsa_clock(TS_RESP_CTX *c, void *arg, long *sec, long *usec)
{
    (void)c;
    *sec = (long)*(const time_t *)arg;
    *usec = 0;
    return 1;
}

/* A TimeStampToken (DER) by TSA `tsa` over `data`, genTime `gen`. */
static uint8_t *make_token(const char *tsa, const uint8_t *data, size_t len, time_t gen, size_t *outlen)
{
    X509 *cert = load_cert(tsa);
    EVP_PKEY *key = load_key(tsa);
    TS_REQ *req = TS_REQ_new();
    TS_MSG_IMPRINT *mi = TS_MSG_IMPRINT_new();
    X509_ALGOR *alg = X509_ALGOR_new();
    unsigned char md[32];
    BIO *q = BIO_new(BIO_s_mem());
    TS_RESP_CTX *rc = TS_RESP_CTX_new();
    ASN1_OBJECT *pol = OBJ_txt2obj("1.2.392.200149.8.5.99.1", 1);
    TS_RESP *resp = NULL;
    uint8_t *out = NULL;
    int n = 0;

    SHA256(data, len, md);
    if (req == NULL || mi == NULL || alg == NULL || q == NULL || rc == NULL || pol == NULL ||
        X509_ALGOR_set0(alg, OBJ_nid2obj(NID_sha256), V_ASN1_NULL, NULL) != 1 ||
        TS_MSG_IMPRINT_set_algo(mi, alg) != 1 || TS_MSG_IMPRINT_set_msg(mi, md, sizeof md) != 1 ||
        TS_REQ_set_version(req, 1) != 1 || TS_REQ_set_msg_imprint(req, mi) != 1 || TS_REQ_set_cert_req(req, 1) != 1 ||
        i2d_TS_REQ_bio(q, req) != 1 || TS_RESP_CTX_set_signer_cert(rc, cert) != 1 ||
        TS_RESP_CTX_set_signer_key(rc, key) != 1 || TS_RESP_CTX_set_def_policy(rc, pol) != 1 ||
        TS_RESP_CTX_add_md(rc, EVP_sha256()) != 1 || TS_RESP_CTX_set_signer_digest(rc, EVP_sha256()) != 1 ||
        TS_RESP_CTX_set_ess_cert_id_digest(rc, EVP_sha256()) != 1)
        goto done;
    TS_RESP_CTX_set_time_cb(rc, tsa_clock, &gen);
    if ((resp = TS_RESP_create_response(rc, q)) == NULL || TS_RESP_get_token(resp) == NULL ||
        (n = i2d_PKCS7(TS_RESP_get_token(resp), &out)) <= 0)
        goto done;
    *outlen = (size_t)n;
done:
    if (out == NULL) {
        ERR_print_errors_fp(stderr);
        fprintf(stderr, "cannot make a token by %s\n", tsa);
        exit(2);
    }
    TS_RESP_free(resp);
    ASN1_OBJECT_free(pol);
    TS_RESP_CTX_free(rc);
    BIO_free(q);
    X509_ALGOR_free(alg);
    TS_MSG_IMPRINT_free(mi);
    TS_REQ_free(req);
    EVP_PKEY_free(key);
    X509_free(cert);
    return out;
}

/* ---------------- an OCSP responder ---------------- */

/* A DER OCSP response about `cert` (issued by `issuer_base`), signed by
 * `signer_base`, with the stated times.  OCSP_basic_sign stamps producedAt
 * with the wall clock: it is set afterwards and the data signed again. */
/* The digest the next make_ocsp signs with (test_ltv's algorithm sunset
 * rows set it to SHA-1 around one call). */
static const EVP_MD *(*ltv_ocsp_md)(void) = EVP_sha256;

static uint8_t *make_ocsp(const char *signer_base, const char *issuer_base, X509 *cert, int status, time_t revoked,
                          time_t this_update, time_t next_update, size_t *len)
{
    X509 *signer = load_cert(signer_base), *issuer = load_cert(issuer_base);
    EVP_PKEY *key = load_key(signer_base);
    OCSP_BASICRESP *bs = OCSP_BASICRESP_new();
    OCSP_CERTID *id = OCSP_cert_to_id(EVP_sha1(), cert, issuer);
    OCSP_RESPONSE *resp = NULL;
    ASN1_TIME *tu = ASN1_GENERALIZEDTIME_set(NULL, this_update), *nu = ASN1_GENERALIZEDTIME_set(NULL, next_update);
    ASN1_TIME *rt = ASN1_GENERALIZEDTIME_set(NULL, revoked);
    int rev = status == V_OCSP_CERTSTATUS_REVOKED;
    unsigned char *der = NULL;
    int n = 0;
    if (bs != NULL && id != NULL && tu != NULL && nu != NULL && rt != NULL &&
        OCSP_basic_add1_status(bs, id, status, rev ? OCSP_REVOKED_STATUS_KEYCOMPROMISE : -1, rev ? rt : NULL, tu, nu) !=
            NULL &&
        OCSP_basic_sign(bs, signer, key, ltv_ocsp_md(), NULL, 0) == 1 &&
        ASN1_GENERALIZEDTIME_set((ASN1_GENERALIZEDTIME *)OCSP_resp_get0_produced_at(bs), this_update) != NULL &&
        ASN1_item_sign(ASN1_ITEM_rptr(OCSP_RESPDATA), (X509_ALGOR *)OCSP_resp_get0_tbs_sigalg(bs), NULL,
                       (ASN1_BIT_STRING *)OCSP_resp_get0_signature(bs), (void *)OCSP_resp_get0_respdata(bs), key,
                       ltv_ocsp_md()) > 0 &&
        (resp = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, bs)) != NULL)
        n = i2d_OCSP_RESPONSE(resp, &der);
    if (n <= 0) {
        ERR_print_errors_fp(stderr);
        fprintf(stderr, "cannot make an OCSP response by %s\n", signer_base);
        exit(2);
    }
    *len = (size_t)n;
    OCSP_RESPONSE_free(resp);
    OCSP_BASICRESP_free(bs);
    OCSP_CERTID_free(id);
    ASN1_TIME_free(tu);
    ASN1_TIME_free(nu);
    ASN1_TIME_free(rt);
    EVP_PKEY_free(key);
    X509_free(signer);
    X509_free(issuer);
    return der;
}

/* ---------------- all or nothing under allocation failure ---------------- */

static long ltv_oom_count, ltv_oom_at;

static void *ltv_oom_malloc(size_t n)
{
    return ++ltv_oom_count == ltv_oom_at ? NULL : malloc(n);
}

/* Prints (with the real allocator) and frees. */
static char *ltv_printed(cJSON *v)
{
    char *s = v != NULL ? cJSON_PrintUnformatted(v) : NULL;
    cJSON_Delete(v);
    return s;
}

/* As tests/test_oom.c: the Nth cJSON allocation of verifying `req` fails,
 * for every N, under the library's hooks (which latch it) and with cJSON's
 * own hooks replaced (which only the checks of every builder call notice).
 * Each run answers KS_E_NOMEM with no verdict or the undisturbed verdict
 * exactly (which holds `must`): a pass without its timestamps, POE or
 * reasons would be the fail-open. */
static void ltv_oom_run(ks_ctx *ctx, const ks_request *req, const char *name, const char *must)
{
    cJSON *v = NULL;
    CHECK(ks_verify_signature(ctx, req, &v) == KS_OK, "%s: undisturbed", name);
    char *want = ltv_printed(v);
    CHECK(want != NULL && strstr(want, must) != NULL, "%s: the undisturbed verdict", name);
    int nomem = 0, same = 0, wrong = 0;
    for (int raw = 0; raw < 2; raw++) {
        for (long n = 1; n < 100000; n++) {
            ltv_oom_count = 0;
            ltv_oom_at = n;
            if (raw) {
                cJSON_Hooks h = {.malloc_fn = ltv_oom_malloc, .free_fn = free};
                cJSON_InitHooks(&h);
            } else {
                ks_json_set_backend(ltv_oom_malloc);
            }
            v = NULL;
            ks_result res = ks_verify_signature(ctx, req, &v);
            long made = ltv_oom_count;
            ks_json_set_backend(NULL);
            char *got = ltv_printed(v);
            if (res == KS_E_NOMEM && got == NULL)
                nomem++;
            else if (res == KS_OK && got != NULL && want != NULL && strcmp(got, want) == 0)
                same++;
            else
                wrong++;
            free(got);
            if (made < n) /* the failure was never reached: every allocation was tried */
                break;
        }
    }
    CHECK(wrong == 0 && nomem > 0, "%s: %d runs neither KS_E_NOMEM nor the verdict (%d NOMEM, %d same)", name,
          wrong, nomem, same);
    free(want);
}

#endif
