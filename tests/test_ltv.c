/*
 * tests/test_ltv.c - long-term validation (issue #20): RFC 3161 tokens
 * (verify/tsp.c) and CAdES signature timestamps as proof of existence
 * (ETSI EN 319 102-1 5.6.2.4, past signature validation).
 *
 * The signatures and tokens are made here, with OpenSSL, from the test PKI
 * (tests/pki/mkpki.sh: the TSA block): a CMS signature with a chosen
 * signingTime, and a token from a TSA whose clock is a callback, so genTime
 * is any instant we name.  Every instant is taken from the PKI itself (the
 * revocation date in pref-ca.crl, citizen-expired's notAfter, the CRL's
 * thisUpdate), and the validation time is injected: nothing rots and
 * nothing sleeps.
 *
 * `test_ltv --emit DIR` writes the signatures and the validation time for
 * tests/test_cli.sh instead of testing.
 */
#include <time.h>
#include <unistd.h>

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/ts.h>

#include "internal.h"
#include "testlib.h"

static const char *pki;
static char cfgdir[PATH_MAX];

#define CRLS "\"crls\": [\"@PKI@/pref-ca.crl\", \"@PKI@/pref-ca2.crl\", \"@PKI@/jpki-bca.crl\"," \
             " \"@PKI@/gpki-bca.crl\", \"@PKI@/ministry-ca.crl\"]"
static const t_config configs[] = {
    /* Revocation required, from the CAs' current CRLs; TSAs under tsa-ca. */
    {"ltv", "{\"trust_anchors\": [\"@PKI@/anchors\"], \"intermediates\": [\"@PKI@/intermediates\"], " CRLS ","
            " \"accept_policies\": [\"1.2.392.200149.8.5.1.1.20\"], \"timestamp_anchors\": [\"@PKI@/tsa-ca.pem\"]}"},
    /* The same without timestamp_anchors: no TSA is trusted. */
    {"ltv-noanchors", "{\"trust_anchors\": [\"@PKI@/anchors\"], \"intermediates\": [\"@PKI@/intermediates\"], " CRLS
                      ", \"accept_policies\": [\"1.2.392.200149.8.5.1.1.20\"]}"},
    /* The signing anchors as timestamp anchors: the TSA does not chain. */
    {"ltv-wronganchor", "{\"trust_anchors\": [\"@PKI@/anchors\"], \"intermediates\": [\"@PKI@/intermediates\"], " CRLS
                        ", \"accept_policies\": [\"1.2.392.200149.8.5.1.1.20\"],"
                        " \"timestamp_anchors\": [\"@PKI@/anchors\"]}"},
};

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

/* The token `openssl ts -reply` made over doc.txt (mkpki.sh), directly. */
static void test_tsp_direct(void)
{
    uint8_t *tok = NULL, *txt = NULL, *bad = NULL;
    size_t toklen = 0, txtlen = 0, badlen = 0;
    CHECK(t_read(pki, "ts-doc.tst", &tok, &toklen) && t_read(pki, "doc.txt", &txt, &txtlen) &&
              t_read(pki, "doc-tampered.txt", &bad, &badlen),
          "fixtures");
    static const struct {
        const char *config;
        int tampered;
        long at_offset;
        ks_indication ind;
        ks_subindication sub;
        int imprint_ok;
    } cases[] = {
        {"ltv", 0, 0, KS_TOTAL_PASSED, KS_SUB_NONE, 1},
        {"ltv", 1, 0, KS_TOTAL_FAILED, KS_SUB_HASH_FAILURE, 0},
        {"ltv-noanchors", 0, 0, KS_INDETERMINATE, KS_SUB_NO_CERTIFICATE_CHAIN_FOUND, 1},
        {"ltv-wronganchor", 0, 0, KS_INDETERMINATE, KS_SUB_NO_CERTIFICATE_CHAIN_FOUND, 1},
        /* Asked about a time before the token existed. */
        {"ltv", 0, -86400, KS_INDETERMINATE, KS_SUB_NOT_YET_VALID, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ks_ctx *ctx = t_load_config(cfgdir, cases[i].config);
        ks_blob data = {.data = cases[i].tampered ? bad : txt, .len = cases[i].tampered ? badlen : txtlen};
        ks_tsp_result t;
        ks_tsp_verify(ctx, tok, toklen, &data, 1, ks_ctx_now(ctx) + cases[i].at_offset, &t);
        CHECK(t.indication == cases[i].ind && t.sub == cases[i].sub, "case %zu: %s/%s (%s)", i,
              ks_indication_name(t.indication), t_str(ks_subindication_name(t.sub)), t.detail);
        CHECK(t.imprint_ok == cases[i].imprint_ok, "case %zu: imprint_ok %d", i, t.imprint_ok);
        CHECK(t.has_time && strstr(t.tsa, "Synthetic TSA 1") != NULL, "case %zu: time and TSA (%s)", i, t.tsa);
        ks_ctx_unref(ctx);
    }
    /* Not a token: a whole signature, a truncated token, trailing bytes. */
    uint8_t *sig = NULL;
    size_t siglen = 0;
    CHECK(t_read(pki, "sig-attached-rsa.p7m", &sig, &siglen), "fixture");
    ks_ctx *ctx = t_load_config(cfgdir, "ltv");
    ks_blob data = {.data = txt, .len = txtlen};
    ks_tsp_result t;
    ks_tsp_verify(ctx, sig, siglen, &data, 1, ks_ctx_now(ctx), &t);
    CHECK(t.indication == KS_TOTAL_FAILED && t.sub == KS_SUB_FORMAT_FAILURE, "a signature is no token: %s", t.detail);
    ks_tsp_verify(ctx, tok, toklen - 1, &data, 1, ks_ctx_now(ctx), &t);
    CHECK(t.indication == KS_TOTAL_FAILED && t.sub == KS_SUB_FORMAT_FAILURE, "truncated: %s", t.detail);
    uint8_t *longer = malloc(toklen + 1);
    CHECK(longer != NULL, "malloc");
    if (longer != NULL) {
        memcpy(longer, tok, toklen);
        longer[toklen] = 0;
        ks_tsp_verify(ctx, longer, toklen + 1, &data, 1, ks_ctx_now(ctx), &t);
        CHECK(t.indication == KS_TOTAL_FAILED && t.sub == KS_SUB_FORMAT_FAILURE, "trailing byte: %s", t.detail);
    }
    free(longer);
    ks_ctx_unref(ctx);
    free(sig);
    free(tok);
    free(txt);
    free(bad);
}

int main(void)
{
    pki = t_env("PKI", "build/pki");
    instants();
    t_write_configs("cfg-ltv", configs, sizeof configs / sizeof configs[0], pki, cfgdir);
    test_tsp_direct();
    return t_done("test_ltv");
}
