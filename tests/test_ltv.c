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
#include <openssl/ess.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/ts.h>

#include "internal.h"
#include "testlib.h"

#include "ltvlib.h"

static char cfgdir[PATH_MAX];

/* The signing CAs' CRLs and the TSA CA's (tsa-ca.crl: TSA paths are
 * checked for revocation too). */
#define CRLS "\"crls\": [\"@PKI@/pref-ca.crl\", \"@PKI@/pref-ca2.crl\", \"@PKI@/jpki-bca.crl\"," \
             " \"@PKI@/gpki-bca.crl\", \"@PKI@/ministry-ca.crl\", \"@PKI@/tsa-ca.crl\"]"
#define CRLS_SIGNING "\"crls\": [\"@PKI@/pref-ca.crl\", \"@PKI@/pref-ca2.crl\", \"@PKI@/jpki-bca.crl\"," \
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
    /* Revocation required, every responder down (nothing listens on port
     * 9; the TSA CA's too), no local CRLs: only what the signature carries
     * can help. */
    {"ltv-offline", "{\"trust_anchors\": [\"@PKI@/anchors\"], \"intermediates\": [\"@PKI@/intermediates\"],"
                    " \"accept_policies\": [\"1.2.392.200149.8.5.1.1.20\"], \"timestamp_anchors\": [\"@PKI@/tsa-ca.pem\"],"
                    " \"revocation\": {\"mode\": \"require\", \"allow_urls\": [\"http://127.0.0.1:9/\"], \"timeout_ms\": 500},"
                    " \"revocation_sources\": ["
                    "{\"issuer\": \"@PKI@/pref-ca-self.pem\", \"ocsp\": \"http://127.0.0.1:9/ocsp\","
                    " \"crl\": [\"http://127.0.0.1:9/pref-ca.crl\"]},"
                    "{\"issuer\": \"@PKI@/jpki-bca-self.pem\", \"crl\": [\"http://127.0.0.1:9/jpki-bca.crl\"]},"
                    "{\"issuer\": \"@PKI@/gpki-bca-self.pem\", \"crl\": [\"http://127.0.0.1:9/gpki-bca.crl\"]},"
                    "{\"issuer\": \"@PKI@/ministry-ca.pem\", \"crl\": [\"http://127.0.0.1:9/ministry-ca.crl\"]},"
                    "{\"issuer\": \"@PKI@/tsa-ca.pem\", \"ocsp\": \"http://127.0.0.1:9/ocsp\","
                    " \"crl\": [\"http://127.0.0.1:9/tsa-ca.crl\"]}]}"},
    /* The signing CAs' CRL files, and the TSA CA's responder down: the
     * TSA paths have no status (require, then soft-fail). */
    {"ltv-tsa-down", "{\"trust_anchors\": [\"@PKI@/anchors\"], \"intermediates\": [\"@PKI@/intermediates\"], " CRLS_SIGNING
                     ", \"accept_policies\": [\"1.2.392.200149.8.5.1.1.20\"], \"timestamp_anchors\": [\"@PKI@/tsa-ca.pem\"],"
                     " \"revocation\": {\"mode\": \"require\", \"allow_urls\": [\"http://127.0.0.1:9/\"], \"timeout_ms\": 500},"
                     " \"revocation_sources\": [{\"issuer\": \"@PKI@/tsa-ca.pem\", \"ocsp\": \"http://127.0.0.1:9/ocsp\"}]}"},
    {"ltv-tsa-down-soft", "{\"trust_anchors\": [\"@PKI@/anchors\"], \"intermediates\": [\"@PKI@/intermediates\"], " CRLS_SIGNING
                          ", \"accept_policies\": [\"1.2.392.200149.8.5.1.1.20\"], \"timestamp_anchors\": [\"@PKI@/tsa-ca.pem\"],"
                          " \"revocation\": {\"mode\": \"soft-fail\", \"allow_urls\": [\"http://127.0.0.1:9/\"], \"timeout_ms\": 500},"
                          " \"revocation_sources\": [{\"issuer\": \"@PKI@/tsa-ca.pem\", \"ocsp\": \"http://127.0.0.1:9/ocsp\"}]}"},
};


/* ---------------- CAdES signatures with a signature timestamp ---------------- */

typedef enum { TS_NONE, TS_GOOD, TS_ROGUE, TS_TAMPERED, TS_OTHER_DATA, TS_TWICE_LATER_BAD, TS_REVOKED_TSA } ts_kind;

static const uint8_t doc[] = "SYNTHETIC TEST FILING -- NOT A REAL DOCUMENT\nlong-term validation\n";
static const char *sign_md = "SHA256"; /* the signer's digest (test_sunset: SHA1) */

/* doc signed (attached) by `who` with `md` and signingTime `signing`, with
 * `crl` in SignedData.crls when not NULL; *si its SignerInfo.  Exits when
 * that fails, as the builders below do. */
static CMS_ContentInfo *sign_doc(const char *who, const EVP_MD *md, time_t signing, X509_CRL *crl,
                                 CMS_SignerInfo **si)
{
    X509 *cert = load_cert(who);
    EVP_PKEY *key = load_key(who);
    BIO *in = BIO_new_mem_buf(doc, (int)sizeof doc - 1);
    unsigned int fl = CMS_BINARY | CMS_PARTIAL;
    CMS_ContentInfo *cms = CMS_sign(NULL, NULL, NULL, NULL, fl);
    ASN1_TIME *st = ASN1_TIME_set(NULL, signing);
    *si = cms ? CMS_add1_signer(cms, cert, key, md, fl) : NULL;
    if (*si == NULL || st == NULL || CMS_signed_add1_attr_by_NID(*si, NID_pkcs9_signingTime, st->type, st, -1) != 1 ||
        (crl != NULL && CMS_add1_crl(cms, crl) != 1) || CMS_final(cms, in, NULL, CMS_BINARY) != 1) {
        ERR_print_errors_fp(stderr);
        fprintf(stderr, "cannot sign as %s\n", who);
        exit(2);
    }
    ASN1_TIME_free(st);
    BIO_free(in);
    EVP_PKEY_free(key);
    X509_free(cert);
    return cms;
}

/* An attached signature of doc by `who`, signingTime `signing`, with the
 * signature timestamp `kind` at genTime `gen`; DER in *out. */
static size_t make_sig(const char *who, time_t signing, ts_kind kind, time_t gen, uint8_t **out)
{
    CMS_SignerInfo *si = NULL;
    CMS_ContentInfo *cms = sign_doc(who, EVP_get_digestbyname(sign_md), signing, NULL, &si);
    uint8_t *tok = NULL;
    size_t toklen = 0;
    int n = 0;
    *out = NULL;
    ASN1_OCTET_STRING *sv = CMS_SignerInfo_get0_signature(si);
    const uint8_t *svp = ASN1_STRING_get0_data(sv);
    size_t svlen = (size_t)ASN1_STRING_length(sv);
    for (int i = 0; kind != TS_NONE && i < (kind == TS_TWICE_LATER_BAD ? 2 : 1); i++) {
        if (kind == TS_OTHER_DATA)
            tok = make_token("tsa", doc, sizeof doc - 1, gen, &toklen); /* the content, not the signature */
        else
            tok = make_token(kind == TS_ROGUE ? "tsa-rogue" : kind == TS_REVOKED_TSA ? "tsa-revoked" : "tsa", svp, svlen,
                             i == 0 ? gen : gen + 3600, &toklen);
        /* The last byte of a token without unsigned attributes is its
         * signature's: the signature no longer verifies. */
        if (kind == TS_TAMPERED || (kind == TS_TWICE_LATER_BAD && i == 1))
            tok[toklen - 1] ^= 0x01;
        if (CMS_unsigned_add1_attr_by_NID(si, NID_id_smime_aa_timeStampToken, V_ASN1_SEQUENCE, tok, (int)toklen) !=
            1)
            goto done;
        OPENSSL_free(tok);
        tok = NULL;
    }
    n = i2d_CMS_ContentInfo(cms, out);
done:
    if (n <= 0) {
        ERR_print_errors_fp(stderr);
        fprintf(stderr, "cannot make a signature by %s\n", who);
        exit(2);
    }
    OPENSSL_free(tok);
    CMS_ContentInfo_free(cms);
    return (size_t)n;
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

static int has_reason(const cJSON *v, const char *code)
{
    const cJSON *r;
    cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(v, "reasons"))
    {
        if (t_str_eq(str_at(r, "code"), code))
            return 1;
    }
    return 0;
}

/* ---------------- the table ---------------- */

typedef enum { B_REVOKED, B_EXPIRED } base;

static const struct row {
    const char *name;   /* also the emitted file, ltv-<name>.p7m */
    const char *signer; /* its .pem/.key in the PKI */
    ts_kind ts;
    base gen_base;      /* genTime = base + gen_offset; signingTime a minute before */
    long gen_offset;
    const char *config;
    const char *indication, *sub;
    const char *ts_indication; /* timestamps[0].indication; NULL: no timestamp */
    int imprint_ok;            /* timestamps[0].message_imprint_ok */
    int poe;                   /* a best_signature_time is reported */
    const char *reason;        /* a reason code the verdict must carry, or NULL */
} rows[] = {
    /* Controls without a timestamp: the honest, useless verdicts of today. */
    {"revoked-nots", "citizen-revoked", TS_NONE, B_REVOKED, -86400, "ltv", "INDETERMINATE", "REVOKED_NO_POE", NULL, 0,
     0, NULL},
    {"expired-nots", "citizen-expired", TS_NONE, B_EXPIRED, -30 * 86400L, "ltv", "INDETERMINATE",
     "OUT_OF_BOUNDS_NO_POE", NULL, 0, 0, NULL},
    /* Timestamped a day before the revocation: passes, and says why. */
    {"revoked-after-ts", "citizen-revoked", TS_GOOD, B_REVOKED, -86400, "ltv", "TOTAL_PASSED", NULL, "TOTAL_PASSED", 1,
     1, "REVOKED_AFTER_POE"},
    /* Timestamped a minute after the revocation: the proof shows it was
     * made too late, whatever the signingTime claims. */
    {"revoked-before-ts", "citizen-revoked", TS_GOOD, B_REVOKED, 60, "ltv", "TOTAL_FAILED", "REVOKED", "TOTAL_PASSED",
     1, 1, NULL},
    /* Timestamped a month before the certificate expired. */
    {"expired-since-ts", "citizen-expired", TS_GOOD, B_EXPIRED, -30 * 86400L, "ltv", "TOTAL_PASSED", NULL,
     "TOTAL_PASSED", 1, 1, "EXPIRED_AFTER_POE"},
    /* Timestamped after it expired: no rescue. */
    {"expired-before-ts", "citizen-expired", TS_GOOD, B_EXPIRED, 86400, "ltv", "TOTAL_FAILED", "EXPIRED",
     "TOTAL_PASSED", 1, 1, NULL},
    /* A TSA nobody trusts: reported, and judged without POE. */
    {"expired-rogue-ts", "citizen-expired", TS_ROGUE, B_EXPIRED, -30 * 86400L, "ltv", "INDETERMINATE",
     "OUT_OF_BOUNDS_NO_POE", "INDETERMINATE", 1, 0, NULL},
    {"revoked-rogue-ts", "citizen-revoked", TS_ROGUE, B_REVOKED, -86400, "ltv", "INDETERMINATE", "REVOKED_NO_POE",
     "INDETERMINATE", 1, 0, NULL},
    /* No timestamp_anchors at all, or the signing anchors: no TSA trusted. */
    {"revoked-after-ts", "citizen-revoked", TS_GOOD, B_REVOKED, -86400, "ltv-noanchors", "INDETERMINATE",
     "REVOKED_NO_POE", "INDETERMINATE", 1, 0, NULL},
    {"revoked-after-ts", "citizen-revoked", TS_GOOD, B_REVOKED, -86400, "ltv-wronganchor", "INDETERMINATE",
     "REVOKED_NO_POE", "INDETERMINATE", 1, 0, NULL},
    /* A tampered token: reported as failing, no POE. */
    {"expired-tampered-ts", "citizen-expired", TS_TAMPERED, B_EXPIRED, -30 * 86400L, "ltv", "INDETERMINATE",
     "OUT_OF_BOUNDS_NO_POE", "TOTAL_FAILED", 1, 0, NULL},
    {"revoked-tampered-ts", "citizen-revoked", TS_TAMPERED, B_REVOKED, -86400, "ltv", "INDETERMINATE",
     "REVOKED_NO_POE", "TOTAL_FAILED", 1, 0, NULL},
    /* A good token over other data (the content, not the signature value). */
    {"revoked-imprint-ts", "citizen-revoked", TS_OTHER_DATA, B_REVOKED, -86400, "ltv", "INDETERMINATE",
     "REVOKED_NO_POE", "TOTAL_FAILED", 0, 0, NULL},
    /* A good token and a later broken one: the good one is the POE, the
     * broken one is still reported. */
    {"revoked-two-ts", "citizen-revoked", TS_TWICE_LATER_BAD, B_REVOKED, -86400, "ltv", "TOTAL_PASSED", NULL,
     "TOTAL_PASSED", 1, 1, "REVOKED_AFTER_POE"},
};

static time_t row_gen(const struct row *r)
{
    return (r->gen_base == B_REVOKED ? t_revoked : t_expired) + r->gen_offset;
}

static void test_rows(void)
{
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const struct row *r = &rows[i];
        time_t gen = row_gen(r);
        uint8_t *sig = NULL;
        size_t len = make_sig(r->signer, gen - 60, r->ts, gen, &sig);
        ks_ctx *ctx = t_load_config(cfgdir, r->config);
        ks_request req = {.signature = {.name = r->name, .data = sig, .len = len}, .at = t_at, .has_at = 1};
        cJSON *v = NULL;
        ks_result res = ks_verify_signature(ctx, &req, &v);
        CHECK(res == KS_OK && v != NULL, "%s [%s]: %s", r->name, r->config, ks_result_name(res));
        v = t_printed(v);
        const cJSON *s = signer0(v);
        CHECK_STR(str_at(v, "indication"), r->indication, "%s [%s]", r->name, r->config);
        CHECK_STR(str_at(v, "subindication"), r->sub, "%s [%s]", r->name, r->config);
        const cJSON *tss = cJSON_GetObjectItemCaseSensitive(s, "timestamps");
        /* The attributes are a DER SET OF: their order is the encoding's. */
        const cJSON *ts = cJSON_GetArrayItem(tss, 0);
        if (r->ts == TS_TWICE_LATER_BAD && ts != NULL && t_str_eq(str_at(ts, "indication"), "TOTAL_FAILED"))
            ts = cJSON_GetArrayItem(tss, 1);
        CHECK(cJSON_IsArray(tss), "%s: timestamps[]", r->name);
        CHECK_STR(ts ? str_at(ts, "indication") : NULL, r->ts_indication, "%s [%s] timestamps[0]", r->name, r->config);
        if (ts != NULL) {
            CHECK(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ts, "message_imprint_ok")) == r->imprint_ok,
                  "%s [%s]: message_imprint_ok", r->name, r->config);
            CHECK_STR(str_at(ts, "type"), "signature", "%s", r->name);
        }
        char want[32];
        ks_time_format(gen, want, sizeof want);
        CHECK_STR(str_at(s, "best_signature_time"), r->poe ? want : NULL, "%s [%s]", r->name, r->config);
        const cJSON *vm = cJSON_GetObjectItemCaseSensitive(s, "validation_model");
        if (vm != NULL) /* present once the signature itself verified: always here */
            CHECK_STR(str_at(vm, "basis"), r->poe ? "best_signature_time" : "validation_time", "%s", r->name);
        CHECK(vm != NULL, "%s: validation_model", r->name);
        if (r->poe)
            CHECK_STR(str_at(cJSON_GetObjectItemCaseSensitive(s, "poe"), "source"), "signature_timestamp", "%s",
                      r->name);
        if (r->reason != NULL)
            CHECK(has_reason(v, r->reason), "%s [%s]: reason %s", r->name, r->config, r->reason);
        if (r->ts == TS_TWICE_LATER_BAD) { /* the broken one is reported too */
            const cJSON *t2 = cJSON_GetArrayItem(tss, ts == cJSON_GetArrayItem(tss, 0) ? 1 : 0);
            CHECK(cJSON_GetArraySize(tss) == 2, "%s: two timestamps", r->name);
            CHECK_STR(t2 ? str_at(t2, "indication") : NULL, "TOTAL_FAILED", "%s: the broken token", r->name);
        }
        cJSON_Delete(v);
        ks_ctx_unref(ctx);
        free(sig);
    }
}

/* ---------------- embedded revocation evidence ---------------- */

static X509_CRL *load_crl(const char *file)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s.crl", pki, file);
    FILE *f = fopen(path, "r");
    X509_CRL *crl = f ? PEM_read_X509_CRL(f, NULL, NULL, NULL) : NULL;
    if (f)
        fclose(f);
    if (crl == NULL) {
        fprintf(stderr, "cannot read %s\n", path);
        exit(2);
    }
    return crl;
}

/* A CRL in the name of CA `name_of` (its subject), current over the same
 * period as its real one, but signed with the rogue CA's key: a forgery. */
static X509_CRL *forge_crl(const char *name_of, const char *real)
{
    X509 *ca = load_cert(name_of);
    X509_CRL *orig = load_crl(real), *crl = X509_CRL_new();
    EVP_PKEY *key = load_key("rogue-ca");
    if (crl == NULL || X509_CRL_set_version(crl, X509_CRL_VERSION_2) != 1 ||
        X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca)) != 1 ||
        X509_CRL_set1_lastUpdate(crl, X509_CRL_get0_lastUpdate(orig)) != 1 ||
        X509_CRL_set1_nextUpdate(crl, X509_CRL_get0_nextUpdate(orig)) != 1 || X509_CRL_sign(crl, key, EVP_sha256()) <= 0) {
        ERR_print_errors_fp(stderr);
        fprintf(stderr, "cannot forge a CRL\n");
        exit(2);
    }
    EVP_PKEY_free(key);
    X509_CRL_free(orig);
    X509_free(ca);
    return crl;
}

/* Requests made to the dead responders (port 9) so far. */
static double dead_fetches(void)
{
    cJSON *a = ks_fetch_stats_json(), *o;
    double n = 0;
    cJSON_ArrayForEach(o, a)
    {
        if (t_str_eq(str_at(o, "authority"), "http://127.0.0.1:9"))
            n += cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(o, "requests"));
    }
    cJSON_Delete(a);
    return n;
}

static time_t fixed_clock(void *arg)
{
    return *(const time_t *)arg;
}

typedef enum { O_NONE, O_GOOD, O_STALE, O_UNAUTHORISED, O_ROGUE, O_REVOKED } emb_ocsp;
typedef enum { C_NONE, C_CAS, C_ALL, C_FORGED } emb_crls;

/*
 * Issue #20 item 3: the path input's embedded OCSP responses and CRLs (the
 * fields CAdES revocation-values, PDF DSS and XAdES RevocationValues fill)
 * are consulted before any fetch and verified like fetched ones.  The
 * signer's path is citizen -> pref-ca -> jpki-bca -> gpki-bca -> ministry
 * (anchor): an OCSP answer for the citizen and the three CA CRLs cover it.
 * The POE is half an hour after the CRLs' thisUpdate; the validation time
 * a month later, when nothing embedded is current any more: only evidence
 * of the POE's time can pass a signature then.
 */
static void test_embedded(void)
{
    static const struct {
        const char *name;
        const char *signer;
        emb_ocsp ocsp;
        emb_crls crls;
        int with_poe;      /* 0: no POE, validated a minute after the OCSP answer */
        const char *indication, *sub;
        int fetches;       /* 0: nothing may be fetched; 1: something must have been tried */
        const char *ev0;   /* revocation[0].status, or NULL */
        int at_poe;        /* revocation[0].at_poe */
        const char *error; /* a substring of revocation[0].errors, or NULL */
    } erows[] = {
        {"ocsp+crls at the POE", "citizen-rsa", O_GOOD, C_CAS, 1, "TOTAL_PASSED", NULL, 0, "good", 1, NULL},
        {"ocsp+crls now", "citizen-rsa", O_GOOD, C_CAS, 0, "TOTAL_PASSED", NULL, 0, "good", 0, NULL},
        {"crls only at the POE", "citizen-rsa", O_NONE, C_ALL, 1, "TOTAL_PASSED", NULL, 0, "good", 1, NULL},
        /* Control: nothing embedded, responders down. */
        {"nothing embedded", "citizen-rsa", O_NONE, C_NONE, 1, "INDETERMINATE", "TRY_LATER", 1, "unavailable", 0, NULL},
        /* Stale at the POE (and now): not used, so fetched, and down. */
        {"stale ocsp", "citizen-rsa", O_STALE, C_CAS, 1, "INDETERMINATE", "TRY_LATER", 1, "unavailable", 0, "stale"},
        /* Signed by a certificate of the CA without id-kp-OCSPSigning. */
        {"unauthorised responder", "citizen-rsa", O_UNAUTHORISED, C_CAS, 1, "INDETERMINATE", "TRY_LATER", 1,
         "unavailable", 0, "not authorised"},
        /* Signed by another CA's subscriber. */
        {"rogue responder", "citizen-rsa", O_ROGUE, C_CAS, 1, "INDETERMINATE", "TRY_LATER", 1, "unavailable", 0,
         "responder"},
        /* jpki-bca's CRL forged with the rogue CA's key. */
        {"forged crl", "citizen-rsa", O_GOOD, C_FORGED, 1, "INDETERMINATE", "TRY_LATER", 1, "good", 1, NULL},
        /* An answer of the POE's time showing a revocation before it. */
        {"revoked before the POE", "citizen-revoked", O_REVOKED, C_CAS, 1, "TOTAL_FAILED", "REVOKED", 0, "revoked", 1,
         NULL},
        /* The same certificate, proven to exist before its revocation,
         * with an answer of that time: good then. */
        {"good at a POE before the revocation", "citizen-revoked", O_GOOD, C_CAS, 1, "TOTAL_PASSED", NULL, 0, "good", 1,
         NULL},
    };
    for (size_t i = 0; i < sizeof erows / sizeof erows[0]; i++) {
        int revoked_signer = strcmp(erows[i].signer, "citizen-revoked") == 0;
        /* Revoked signer: POE 10 min after the revocation, or half an hour
         * before it (the CRLs, an hour older than the revocation, are current). */
        time_t poe = !revoked_signer ? t_crl + 1800
                     : erows[i].ocsp == O_REVOKED ? t_revoked + 600 : t_revoked - 1800;
        time_t tu = poe + 60; /* the answer was fetched a minute after the timestamp */
        time_t at = erows[i].with_poe ? poe + 30 * 86400L : tu + 60;
        X509 *cert = load_cert(erows[i].signer);
        ks_blob ob = {0};
        uint8_t *ocsp = NULL;
        size_t olen = 0;
        switch (erows[i].ocsp) {
        case O_GOOD:
            ocsp = make_ocsp("ocsp-responder", "pref-ca-self", cert, V_OCSP_CERTSTATUS_GOOD, 0, tu, tu + 86400, &olen);
            break;
        case O_STALE:
            ocsp = make_ocsp("ocsp-responder", "pref-ca-self", cert, V_OCSP_CERTSTATUS_GOOD, 0, poe - 2 * 86400,
                             poe - 86400, &olen);
            break;
        case O_UNAUTHORISED:
            ocsp = make_ocsp("ocsp-unauthorised", "pref-ca-self", cert, V_OCSP_CERTSTATUS_GOOD, 0, tu, tu + 86400,
                             &olen);
            break;
        case O_ROGUE:
            ocsp = make_ocsp("rogue-citizen", "pref-ca-self", cert, V_OCSP_CERTSTATUS_GOOD, 0, tu, tu + 86400, &olen);
            break;
        case O_REVOKED:
            ocsp = make_ocsp("ocsp-responder", "pref-ca-self", cert, V_OCSP_CERTSTATUS_REVOKED, t_revoked, tu,
                             tu + 86400, &olen);
            break;
        case O_NONE:
        default:
            break;
        }
        ob.data = ocsp;
        ob.len = olen;
        STACK_OF(X509_CRL) *crls = sk_X509_CRL_new_null();
        static const char *const cas[] = {"jpki-bca", "gpki-bca", "ministry-ca", "pref-ca"};
        for (int k = 0; erows[i].crls != C_NONE && k < (erows[i].crls == C_ALL ? 4 : 3); k++)
            sk_X509_CRL_push(crls, erows[i].crls == C_FORGED && k == 0 ? forge_crl("jpki-bca-self", "jpki-bca")
                                                                        : load_crl(cas[k]));
        ks_path_input pin = {.crls = crls, .ocsps = ocsp ? &ob : NULL, .n_ocsps = ocsp ? 1 : 0};
        ks_ctx *ctx = t_load_config(cfgdir, "ltv-offline");
        ks_ctx_set_clock(ctx, fixed_clock, &at);
        double before = dead_fetches();
        /* Twice: the second time an answer used now comes from the cache. */
        for (int round = 0; round < (erows[i].with_poe ? 1 : 2); round++) {
            ks_status st;
            cJSON *obj = cJSON_CreateObject();
            ks_status_set(&st, KS_TOTAL_FAILED, KS_SUB_NONE, NULL);
            ks_result r = ks_check_signing_cert_poe(ctx, cert, &pin, at, NULL, erows[i].with_poe ? &poe : NULL, obj, &st);
            CHECK(r == KS_OK, "%s: %s", erows[i].name, ks_result_name(r));
            CHECK_STR(ks_indication_name(st.indication), erows[i].indication, "%s: %s", erows[i].name, st.detail);
            CHECK_STR(ks_subindication_name(st.sub), erows[i].sub, "%s: %s", erows[i].name, st.detail);
            const cJSON *ev0 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(obj, "revocation"), 0);
            CHECK_STR(str_at(ev0, "status"), erows[i].ev0, "%s: revocation[0].status", erows[i].name);
            if (erows[i].ev0 != NULL && strcmp(erows[i].ev0, "unavailable") != 0) {
                CHECK_STR(str_at(ev0, "from"), "message", "%s: revocation[0].from", erows[i].name);
                CHECK(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ev0, "at_poe")) == erows[i].at_poe,
                      "%s: revocation[0].at_poe", erows[i].name);
            }
            if (round == 1)
                CHECK_STR(str_at(ev0, "cached"), "memory", "%s: the second use comes from the cache", erows[i].name);
            if (erows[i].error != NULL) {
                char *errs = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(ev0, "errors"));
                CHECK(errs != NULL && strstr(errs, erows[i].error) != NULL, "%s: errors %s lack \"%s\"", erows[i].name,
                      errs ? errs : "(none)", erows[i].error);
                free(errs);
            }
            cJSON_Delete(obj);
        }
        double fetched = dead_fetches() - before;
        CHECK(erows[i].fetches ? fetched > 0 : fetched == 0, "%s: %.0f fetches", erows[i].name, fetched);
        ks_ctx_unref(ctx);
        sk_X509_CRL_pop_free(crls, X509_CRL_free);
        OPENSSL_free(ocsp);
        X509_free(cert);
    }
}

/* ---------------- CAdES ES-X-L (RFC 5126 6.3.3, 6.3.4) ---------------- */

/* DER building blocks, written here with OpenSSL's header writer and not
 * with the decoder's templates, so a mistake in one is caught by the
 * other: TLV(tag, class, the concatenated DER of `parts`). */
static uint8_t *tlv(int tag, int xclass, const uint8_t *const *parts, const size_t *lens, size_t n, size_t *outlen)
{
    size_t body = 0;
    for (size_t i = 0; i < n; i++)
        body += lens[i];
    int hl = ASN1_object_size(1, (int)body, tag) - (int)body;
    uint8_t *out = malloc(body + (size_t)hl), *p = out;
    if (out == NULL)
        exit(2);
    ASN1_put_object(&p, 1, (int)body, tag, xclass);
    for (size_t i = 0; i < n; i++) {
        memcpy(p, parts[i], lens[i]);
        p += lens[i];
    }
    *outlen = (size_t)(p - out);
    return out;
}

static uint8_t *der_crl(X509_CRL *c, size_t *len)
{
    uint8_t *d = NULL;
    int n = i2d_X509_CRL(c, &d);
    if (n <= 0)
        exit(2);
    *len = (size_t)n;
    return d;
}

/* The BasicOCSPResponse inside a DER OCSPResponse. */
static uint8_t *der_basic(const uint8_t *resp, size_t rlen, size_t *len)
{
    const unsigned char *p = resp;
    OCSP_RESPONSE *r = d2i_OCSP_RESPONSE(NULL, &p, (long)rlen);
    OCSP_BASICRESP *bs = r ? OCSP_response_get1_basic(r) : NULL;
    uint8_t *d = NULL;
    int n = bs ? i2d_OCSP_BASICRESP(bs, &d) : -1;
    if (n <= 0)
        exit(2);
    OCSP_BASICRESP_free(bs);
    OCSP_RESPONSE_free(r);
    *len = (size_t)n;
    return d;
}

static void put(uint8_t **buf, size_t *len, const uint8_t *p, size_t n);
static void put_hash_octets(uint8_t **buf, size_t *len, const uint8_t *p, size_t n);
static X509_CRL *load_crl(const char *file);

/* ES-C complete references (RFC 5126 6.2.1, 6.2.2) made by make_xl when
 * xl_refs is not R_NONE, from the values it carries: R_GOOD each
 * certificate, CRL and the OCSP answer by SHA-256 hash (certificates with
 * issuerSerial, CRLs with crlIdentifier, the answer with its
 * OcspIdentifier); R_MISMATCH the first certificate's hash altered (its
 * issuerSerial still names it) and a reference to pref-ca's CRL, which is
 * not carried; R_MALFORMED complete-revocation-references as
 * SEQUENCE { INTEGER 5 }. */
typedef enum { R_NONE, R_GOOD, R_MISMATCH, R_MALFORMED } refs_kind;
static refs_kind xl_refs = R_NONE;

/* OtherHashAlgAndValue { sha256, SHA-256(p) } (flip: one bit of it changed). */
static uint8_t *other_hash(const uint8_t *p, size_t n, int flip, size_t *outlen)
{
    uint8_t *alg = NULL, *buf = NULL;
    size_t bl = 0;
    X509_ALGOR *a = X509_ALGOR_new();
    int al = a != NULL && X509_ALGOR_set0(a, OBJ_nid2obj(NID_sha256), V_ASN1_UNDEF, NULL) == 1 ? i2d_X509_ALGOR(a, &alg)
                                                                                                : -1;
    if (al <= 0)
        exit(2);
    put(&buf, &bl, alg, (size_t)al);
    put_hash_octets(&buf, &bl, p, n);
    if (flip)
        buf[bl - 1] ^= 0x01;
    const uint8_t *parts[1] = {buf};
    uint8_t *out = tlv(V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL, parts, &bl, 1, outlen);
    free(buf);
    OPENSSL_free(alg);
    X509_ALGOR_free(a);
    return out;
}

/* DER of an OpenSSL object through its i2d, into the growing buffer. */
#define PUT_I2D(buf, len, fn, obj)                                                                                     \
    do {                                                                                                               \
        uint8_t *d_ = NULL;                                                                                            \
        int n_ = fn(obj, &d_);                                                                                         \
        if (n_ <= 0)                                                                                                   \
            exit(2);                                                                                                   \
        put(buf, len, d_, (size_t)n_);                                                                                 \
        OPENSSL_free(d_);                                                                                              \
    } while (0)

/* Wraps buf[len] in tag (constructed), replacing it. */
static void wrap(uint8_t **buf, size_t *len, int tag, int xclass)
{
    size_t l = 0;
    const uint8_t *parts[1] = {*buf != NULL ? *buf : (const uint8_t *)""};
    uint8_t *w = tlv(tag, xclass, parts, len, 1, &l);
    free(*buf);
    *buf = w;
    *len = l;
}

static void make_refs(uint8_t *const *cd, const size_t *cl, uint8_t *const *rd, const size_t *rl, const uint8_t *basic,
                      size_t blen, uint8_t **certrefs, size_t *crlen, uint8_t **revrefs, size_t *rrlen)
{
    uint8_t *seq = NULL;
    size_t sl = 0;
    *certrefs = *revrefs = NULL;
    *crlen = *rrlen = 0;
    /* CompleteCertificateRefs ::= SEQUENCE OF OtherCertID { otherCertHash, issuerSerial } */
    for (int i = 0; i < 3; i++) {
        const unsigned char *p = cd[i];
        X509 *x = d2i_X509(NULL, &p, (long)cl[i]);
        GENERAL_NAMES *gns = GENERAL_NAMES_new();
        GENERAL_NAME *g = GENERAL_NAME_new();
        X509_NAME *nm = x != NULL ? X509_NAME_dup(X509_get_issuer_name(x)) : NULL;
        if (x == NULL || gns == NULL || g == NULL || nm == NULL)
            exit(2);
        GENERAL_NAME_set0_value(g, GEN_DIRNAME, nm);
        sk_GENERAL_NAME_push(gns, g);
        uint8_t *id = NULL, *is = NULL;
        size_t il = 0, isl = 0, hl = 0;
        PUT_I2D(&is, &isl, i2d_GENERAL_NAMES, gns);
        PUT_I2D(&is, &isl, i2d_ASN1_INTEGER, X509_get0_serialNumber(x));
        wrap(&is, &isl, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL);
        uint8_t *h = other_hash(cd[i], cl[i], xl_refs == R_MISMATCH && i == 0, &hl);
        put(&id, &il, h, hl);
        put(&id, &il, is, isl);
        wrap(&id, &il, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL);
        put(certrefs, crlen, id, il);
        free(id);
        free(is);
        free(h);
        GENERAL_NAMES_free(gns);
        X509_free(x);
    }
    wrap(certrefs, crlen, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL);
    /* CRLListID ::= SEQUENCE { crls SEQUENCE OF CrlValidatedID { crlHash, crlIdentifier } } */
    X509_CRL *extra = xl_refs == R_MISMATCH ? load_crl("pref-ca") : NULL;
    for (int i = 0; i < (extra != NULL ? 4 : 3); i++) {
        uint8_t *der = NULL;
        size_t dl = 0;
        if (i < 3)
            put(&der, &dl, rd[i], rl[i]);
        else
            PUT_I2D(&der, &dl, i2d_X509_CRL, extra);
        const unsigned char *p = der;
        X509_CRL *c = d2i_X509_CRL(NULL, &p, (long)dl);
        uint8_t *v = NULL, *ident = NULL;
        size_t vl = 0, idl = 0, hl = 0;
        ASN1_UTCTIME *ut = c != NULL ? ASN1_UTCTIME_new() : NULL;
        time_t lu = 0;
        if (ut == NULL || !ks_asn1_time_to_time_t(X509_CRL_get0_lastUpdate(c), &lu) || ASN1_UTCTIME_set(ut, lu) == NULL)
            exit(2);
        PUT_I2D(&ident, &idl, i2d_X509_NAME, X509_CRL_get_issuer(c));
        PUT_I2D(&ident, &idl, i2d_ASN1_UTCTIME, ut);
        wrap(&ident, &idl, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL);
        uint8_t *h = other_hash(der, dl, 0, &hl);
        put(&v, &vl, h, hl);
        put(&v, &vl, ident, idl);
        wrap(&v, &vl, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL);
        put(&seq, &sl, v, vl);
        free(v);
        free(ident);
        free(h);
        free(der);
        ASN1_UTCTIME_free(ut);
        X509_CRL_free(c);
    }
    X509_CRL_free(extra);
    wrap(&seq, &sl, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL); /* SEQUENCE OF */
    wrap(&seq, &sl, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL); /* CRLListID */
    wrap(&seq, &sl, 0, V_ASN1_CONTEXT_SPECIFIC);         /* crlids [0] EXPLICIT */
    /* OcspListID ::= SEQUENCE { SEQUENCE OF OcspResponsesID { OcspIdentifier
     * { ResponderID, producedAt }, ocspRepHash } } */
    const unsigned char *p = basic;
    OCSP_BASICRESP *bs = d2i_OCSP_BASICRESP(NULL, &p, (long)blen);
    const ASN1_OCTET_STRING *keyid = NULL;
    const X509_NAME *rname = NULL;
    uint8_t *o = NULL, *rid = NULL, *oi = NULL;
    size_t ol = 0, ridl = 0, oil = 0, hl = 0;
    if (bs == NULL || OCSP_resp_get0_id(bs, &keyid, &rname) != 1)
        exit(2);
    if (rname != NULL) { /* byName [1] EXPLICIT Name */
        PUT_I2D(&rid, &ridl, i2d_X509_NAME, (X509_NAME *)rname);
        wrap(&rid, &ridl, 1, V_ASN1_CONTEXT_SPECIFIC);
    } else { /* byKey [2] EXPLICIT KeyHash (OCTET STRING) */
        PUT_I2D(&rid, &ridl, i2d_ASN1_OCTET_STRING, keyid);
        wrap(&rid, &ridl, 2, V_ASN1_CONTEXT_SPECIFIC);
    }
    put(&oi, &oil, rid, ridl);
    PUT_I2D(&oi, &oil, i2d_ASN1_GENERALIZEDTIME, OCSP_resp_get0_produced_at(bs));
    wrap(&oi, &oil, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL);
    uint8_t *h = other_hash(basic, blen, 0, &hl);
    put(&o, &ol, oi, oil);
    put(&o, &ol, h, hl);
    wrap(&o, &ol, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL); /* OcspResponsesID */
    wrap(&o, &ol, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL); /* SEQUENCE OF */
    wrap(&o, &ol, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL); /* OcspListID */
    wrap(&o, &ol, 1, V_ASN1_CONTEXT_SPECIFIC);         /* ocspids [1] EXPLICIT */
    put(&seq, &sl, o, ol);
    wrap(&seq, &sl, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL); /* CrlOcspRef */
    wrap(&seq, &sl, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL); /* CompleteRevocationRefs */
    *revrefs = seq;
    *rrlen = sl;
    if (xl_refs == R_MALFORMED) {
        static const uint8_t bad[] = {0x30, 0x03, 0x02, 0x01, 0x05};
        memcpy(*revrefs, bad, sizeof bad);
        *rrlen = sizeof bad;
    }
    free(h);
    free(o);
    free(oi);
    free(rid);
    OCSP_BASICRESP_free(bs);
}

typedef enum { XL_NONE, XL_GOOD, XL_STALE, XL_FORGED, XL_MALFORMED, XL_CRL_ONLY } xl_kind;

/* When not 0: make_xl adds an answer from tsa-ca about the TSA's
 * certificate with this thisUpdate (the TSA path is judged at the
 * validation time, issue #20). */
static time_t xl_tsa_ocsp;
/* Algorithm sunset of evidence (test_evsunset): the signer's OCSP answer
 * signed with SHA-1; a second answer about the TSA's certificate (for the
 * time an archive timestamp proves); and a hook make_xl calls with the
 * CMS just before (0) and just after (1) adding the values (archive
 * timestamps over them, or not). */
static int xl_sha1_ocsp;
static int xl_sha1_crl; /* jpki-bca's CRL in the values signed again with SHA-1 */
static time_t xl_tsa_ocsp2;
static int (*xl_hook)(CMS_ContentInfo *cms, CMS_SignerInfo *si, int after_values);

/* An ES-T by citizen-rsa (signature timestamp at `gen` by tsa), plus the
 * ES-X-L values `kind`: certificate-values with the path's CA
 * certificates, revocation-values with the CA CRLs and an OCSP answer
 * about the signer a minute after `gen` (stale: of two days before), and
 * the TSA's (xl_tsa_ocsp). */
static size_t make_xl(xl_kind kind, time_t gen, uint8_t **out)
{
    X509 *cert = load_cert("citizen-rsa"); /* the OCSP answers speak of it */
    CMS_SignerInfo *si = NULL;
    CMS_ContentInfo *cms = sign_doc("citizen-rsa", EVP_sha256(), gen - 60, NULL, &si);
    int n = 0;
    *out = NULL;
    ASN1_OCTET_STRING *sv = CMS_SignerInfo_get0_signature(si);
    size_t toklen = 0;
    uint8_t *tok = make_token("tsa", ASN1_STRING_get0_data(sv), (size_t)ASN1_STRING_length(sv), gen, &toklen);
    if (CMS_unsigned_add1_attr_by_NID(si, NID_id_smime_aa_timeStampToken, V_ASN1_SEQUENCE, tok, (int)toklen) != 1)
        goto done;
    OPENSSL_free(tok);
    if (xl_hook != NULL && !xl_hook(cms, si, 0))
        goto done;
    if (kind != XL_NONE) {
        /* certificate-values: SEQUENCE OF Certificate */
        static const char *const cas[] = {"cross-jpki-to-pref", "cross-gpki-to-jpki", "cross-ministry-to-gpki"};
        uint8_t *cd[3];
        size_t cl[3], cvlen = 0, rvlen = 0;
        for (int i = 0; i < 3; i++) {
            X509 *x = load_cert(cas[i]);
            cd[i] = NULL;
            int k = i2d_X509(x, &cd[i]);
            if (k <= 0)
                goto done;
            cl[i] = (size_t)k;
            X509_free(x);
        }
        uint8_t *cv = tlv(V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL, (const uint8_t *const *)cd, cl, 3, &cvlen);
        /* revocation-values: SEQUENCE { [0] EXPLICIT SEQUENCE OF CRL, [1] EXPLICIT SEQUENCE OF BasicOCSPResponse } */
        static const char *const crlf[] = {"jpki-bca", "gpki-bca", "ministry-ca"};
        uint8_t *rd[3], *od[3] = {NULL, NULL, NULL}, *parts[2];
        size_t rl[3], ol[3], pl[2], l0 = 0, l1 = 0, nod = 1;
        for (int i = 0; i < 3; i++) {
            X509_CRL *c = kind == XL_FORGED && i == 0 ? forge_crl("jpki-bca-self", "jpki-bca") : load_crl(crlf[i]);
            if (xl_sha1_crl && i == 0) {
                EVP_PKEY *ck = load_key("jpki-bca");
                int ok = X509_CRL_sign(c, ck, EVP_sha1()) > 0;
                EVP_PKEY_free(ck);
                if (!ok)
                    goto done;
            }
            rd[i] = der_crl(c, &rl[i]);
            X509_CRL_free(c);
        }
        size_t olen = 0;
        ltv_ocsp_md = xl_sha1_ocsp ? EVP_sha1 : EVP_sha256;
        uint8_t *resp = kind == XL_STALE
                            ? make_ocsp("ocsp-responder", "pref-ca-self", cert, V_OCSP_CERTSTATUS_GOOD, 0,
                                        gen - 2 * 86400, gen - 86400, &olen)
                            : make_ocsp("ocsp-responder", "pref-ca-self", cert, V_OCSP_CERTSTATUS_GOOD, 0, gen + 60,
                                        gen + 86400, &olen);
        ltv_ocsp_md = EVP_sha256;
        od[0] = der_basic(resp, olen, &ol[0]);
        OPENSSL_free(resp);
        if (xl_tsa_ocsp != 0) { /* the TSA's status, from its CA (RFC 6960 4.2.2.2) */
            X509 *tc = load_cert("tsa");
            resp = make_ocsp("tsa-ca", "tsa-ca", tc, V_OCSP_CERTSTATUS_GOOD, 0, xl_tsa_ocsp, xl_tsa_ocsp + 86400, &olen);
            od[nod] = der_basic(resp, olen, &ol[nod]);
            nod++;
            OPENSSL_free(resp);
            X509_free(tc);
        }
        if (xl_tsa_ocsp2 != 0) { /* the TSA's status at an archive timestamp's genTime */
            X509 *tc = load_cert("tsa");
            resp = make_ocsp("tsa-ca", "tsa-ca", tc, V_OCSP_CERTSTATUS_GOOD, 0, xl_tsa_ocsp2, xl_tsa_ocsp2 + 86400,
                             &olen);
            od[nod] = der_basic(resp, olen, &ol[nod]);
            nod++;
            OPENSSL_free(resp);
            X509_free(tc);
        }
        uint8_t *seq0 = tlv(V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL, (const uint8_t *const *)rd, rl, 3, &l0);
        uint8_t *seq1 = tlv(V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL, (const uint8_t *const *)od, ol, nod, &l1);
        parts[0] = tlv(0, V_ASN1_CONTEXT_SPECIFIC, (const uint8_t *const *)&seq0, &l0, 1, &pl[0]);
        parts[1] = tlv(1, V_ASN1_CONTEXT_SPECIFIC, (const uint8_t *const *)&seq1, &l1, 1, &pl[1]);
        uint8_t *rv = tlv(V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL, (const uint8_t *const *)parts, pl,
                          kind == XL_CRL_ONLY ? 1 : 2, &rvlen);
        if (kind == XL_MALFORMED) { /* SEQUENCE { INTEGER 5 }: DER, but no RevocationValues */
            static const uint8_t bad[] = {0x30, 0x03, 0x02, 0x01, 0x05};
            memcpy(rv, bad, sizeof bad);
            rvlen = sizeof bad;
        }
        if (CMS_unsigned_add1_attr_by_NID(si, NID_id_smime_aa_ets_certValues, V_ASN1_SEQUENCE, cv, (int)cvlen) != 1 ||
            CMS_unsigned_add1_attr_by_NID(si, NID_id_smime_aa_ets_revocationValues, V_ASN1_SEQUENCE, rv,
                                          (int)rvlen) != 1)
            goto done;
        if (xl_refs != R_NONE) {
            uint8_t *cr = NULL, *rr = NULL;
            size_t crl = 0, rrl = 0;
            make_refs(cd, cl, rd, rl, od[0], ol[0], &cr, &crl, &rr, &rrl);
            int ok = CMS_unsigned_add1_attr_by_NID(si, NID_id_smime_aa_ets_CertificateRefs, V_ASN1_SEQUENCE, cr,
                                                   (int)crl) == 1 &&
                     CMS_unsigned_add1_attr_by_NID(si, NID_id_smime_aa_ets_RevocationRefs, V_ASN1_SEQUENCE, rr,
                                                   (int)rrl) == 1;
            free(cr);
            free(rr);
            if (!ok)
                goto done;
        }
        for (int i = 0; i < 3; i++) {
            OPENSSL_free(cd[i]);
            OPENSSL_free(rd[i]);
        }
        OPENSSL_free(od[0]);
        OPENSSL_free(od[1]);
        OPENSSL_free(od[2]);
        free(seq0);
        free(seq1);
        free(parts[0]);
        free(parts[1]);
        free(cv);
        free(rv);
    }
    if (xl_hook != NULL && !xl_hook(cms, si, 1))
        goto done;
    n = i2d_CMS_ContentInfo(cms, out);
done:
    if (n <= 0) {
        ERR_print_errors_fp(stderr);
        fprintf(stderr, "cannot make an ES-X-L\n");
        exit(2);
    }
    CMS_ContentInfo_free(cms);
    X509_free(cert);
    return (size_t)n;
}

/* Issue #20: ES-X-L while every responder is down, revocation `require`:
 * the values the signature carries pass it with no fetch; stale or forged
 * ones do not, and what could not be used is fetched for (and fails). */
static void test_xl(void)
{
    static const struct {
        const char *name;
        xl_kind kind;
        const char *indication, *sub;
        int fetches;
        const char *warning;
        refs_kind refs; /* ES-C complete references added (RFC 5126 6.2.1, 6.2.2) */
        int tsa;        /* the TSA's answer in the values: 0 none, 1 current at the validation time, 2 of gen */
    } xrows[] = {
        {"es-x-l", XL_GOOD, "TOTAL_PASSED", NULL, 0, NULL, R_NONE, 1},
        /* Issue #20: the TSA's responder is down too and nothing vouches
         * for its certificate now: the timestamp proves nothing, and the
         * signer's values (current at its genTime only) do not help. */
        {"es-x-l without the TSA's answer", XL_GOOD, "INDETERMINATE", "TRY_LATER", 1, NULL, R_NONE, 0},
        {"es-x-l with a TSA answer stale now", XL_GOOD, "INDETERMINATE", "TRY_LATER", 1, NULL, R_NONE, 2},
        {"es-t without values", XL_NONE, "INDETERMINATE", "TRY_LATER", 1, NULL, R_NONE, 0},
        {"es-x-l stale ocsp", XL_STALE, "INDETERMINATE", "TRY_LATER", 1, NULL, R_NONE, 1},
        {"es-x-l forged crl", XL_FORGED, "INDETERMINATE", "TRY_LATER", 1, NULL, R_NONE, 1},
        {"es-x-l crls only (no answer for the signer)", XL_CRL_ONLY, "INDETERMINATE", "TRY_LATER", 1, NULL, R_NONE, 1},
        {"es-x-l malformed revocation-values", XL_MALFORMED, "INDETERMINATE", "TRY_LATER", 1, "LTV_VALUES_MALFORMED",
         R_NONE, 1},
        /* ES-C references that name the values carried: no warning. */
        {"es-x-l with references", XL_GOOD, "TOTAL_PASSED", NULL, 0, NULL, R_GOOD, 1},
        /* A certificate referenced by another hash, a CRL not carried:
         * warned, and the verdict is the values' own. */
        {"es-x-l, references that do not match", XL_GOOD, "TOTAL_PASSED", NULL, 0, "LTV_REFS_MISMATCH", R_MISMATCH, 1},
        {"es-x-l, malformed references", XL_GOOD, "TOTAL_PASSED", NULL, 0, "LTV_REFS_MALFORMED", R_MALFORMED, 1},
        /* References never make failing values pass. */
        {"es-x-l stale ocsp with references", XL_STALE, "INDETERMINATE", "TRY_LATER", 1, NULL, R_GOOD, 1},
        {"es-x-l forged crl with references", XL_FORGED, "INDETERMINATE", "TRY_LATER", 1, NULL, R_GOOD, 1},
    };
    time_t gen = t_crl + 1800, at = gen + 30 * 86400L;
    for (size_t i = 0; i < sizeof xrows / sizeof xrows[0]; i++) {
        uint8_t *sig = NULL;
        xl_refs = xrows[i].refs;
        xl_tsa_ocsp = xrows[i].tsa == 1 ? at - 60 : xrows[i].tsa == 2 ? gen + 60 : 0;
        size_t len = make_xl(xrows[i].kind, gen, &sig);
        xl_refs = R_NONE;
        xl_tsa_ocsp = 0;
        ks_ctx *ctx = t_load_config(cfgdir, "ltv-offline");
        ks_ctx_set_clock(ctx, fixed_clock, &at);
        ks_request req = {.signature = {.name = xrows[i].name, .data = sig, .len = len}, .at = at, .has_at = 1};
        cJSON *v = NULL;
        double before = dead_fetches();
        ks_result res = ks_verify_signature(ctx, &req, &v);
        double fetched = dead_fetches() - before;
        CHECK(res == KS_OK && v != NULL, "%s: %s", xrows[i].name, ks_result_name(res));
        v = t_printed(v);
        CHECK_STR(str_at(v, "indication"), xrows[i].indication, "%s: %s", xrows[i].name, str_at(v, "detail"));
        CHECK_STR(str_at(v, "subindication"), xrows[i].sub, "%s", xrows[i].name);
        CHECK(xrows[i].fetches ? fetched > 0 : fetched == 0, "%s: %.0f fetches", xrows[i].name, fetched);
        char want[32];
        ks_time_format(gen, want, sizeof want);
        /* The signature timestamp proves gen only when its TSA's status
         * for the validation time is in the values (and they are read). */
        int proves = xrows[i].tsa == 1 && xrows[i].kind != XL_MALFORMED && xrows[i].kind != XL_NONE &&
                     xrows[i].kind != XL_CRL_ONLY; /* no OCSP part: not the TSA's answer either */
        CHECK_STR(str_at(signer0(v), "best_signature_time"), proves ? want : NULL, "%s", xrows[i].name);
        const cJSON *ts = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(signer0(v), "timestamps"), 0);
        CHECK_STR(str_at(ts, "indication"), proves ? "TOTAL_PASSED" : "INDETERMINATE", "%s: the timestamp (%s)",
                  xrows[i].name, t_str(str_at(ts, "detail")));
        /* The TSA certificate's own revocation entry, as a signer's. */
        const cJSON *trev = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(ts, "revocation"), 0);
        CHECK_STR(str_at(trev, "status"), proves ? "good" : "unavailable", "%s: the TSA's revocation", xrows[i].name);
        if (proves)
            CHECK_STR(str_at(trev, "from"), "message", "%s: the TSA's status from the values", xrows[i].name);
        int warned = 0, other = 0;
        const cJSON *w;
        cJSON_ArrayForEach(w, cJSON_GetObjectItemCaseSensitive(signer0(v), "warnings"))
        {
            warned |= t_str_eq(str_at(w, "code"), xrows[i].warning);
            other |=
                strncmp(t_str(str_at(w, "code")), "LTV_", 4) == 0 && !t_str_eq(str_at(w, "code"), xrows[i].warning);
        }
        CHECK(warned == (xrows[i].warning != NULL), "%s: warning %s", xrows[i].name,
              xrows[i].warning ? xrows[i].warning : "(none)");
        CHECK(!other, "%s: no other LTV_ warning", xrows[i].name);
        cJSON_Delete(v);
        ks_ctx_unref(ctx);
        free(sig);
    }
}

/* ---------------- CAdES ES-A (archive-time-stamp v2, RFC 5126 6.4.1) ---------------- */

typedef struct {
    uint8_t *p;
    size_t len;
} der_item;

static int der_item_cmp(const void *a, const void *b)
{
    const der_item *x = a, *y = b;
    int c = memcmp(x->p, y->p, x->len < y->len ? x->len : y->len);
    return c != 0 ? c : x->len < y->len ? -1 : x->len > y->len ? 1 : 0;
}

/* Appends to a growing buffer. */
static void put(uint8_t **buf, size_t *len, const uint8_t *p, size_t n)
{
    uint8_t *b = realloc(*buf, *len + n + 1);
    if (b == NULL)
        exit(2);
    memcpy(b + *len, p, n);
    *buf = b;
    *len += n;
}

/* The DER SET OF `items` (sorted, X.690 11.6) as tag [tag] IMPLICIT, or
 * the bare concatenation of the sorted items when tag < 0. */
static void put_set(uint8_t **buf, size_t *len, der_item *items, size_t n, int tag)
{
    qsort(items, n, sizeof *items, der_item_cmp);
    uint8_t *cat = NULL;
    size_t catlen = 0;
    for (size_t i = 0; i < n; i++)
        put(&cat, &catlen, items[i].p, items[i].len);
    if (tag < 0) {
        put(buf, len, cat, catlen);
    } else {
        size_t l = 0;
        const uint8_t *parts[1] = {cat};
        uint8_t *w = tlv(tag, V_ASN1_CONTEXT_SPECIFIC, parts, &catlen, 1, &l);
        put(buf, len, w, l);
        free(w);
    }
    free(cat);
}

/* The SignerInfo's fields but unsignedAttrs, each with tag and length
 * (RFC 5652 5.3), from OpenSSL's view of them: version 1, sid
 * (issuerAndSerialNumber), digestAlgorithm, signedAttrs [0],
 * signatureAlgorithm, signature.  Shared by the v2 and v3 builders. */
static void put_si_fields(uint8_t **pbuf, size_t *plen, CMS_SignerInfo *si)
{
    uint8_t *buf = *pbuf, *d = NULL;
    size_t len = *plen, l1 = 0, ni = 0;
    der_item items[64];
    int n;
    static const uint8_t v1[] = {0x02, 0x01, 0x01};
    put(&buf, &len, v1, sizeof v1);
    X509_NAME *issuer = NULL;
    ASN1_INTEGER *sno = NULL;
    ASN1_OCTET_STRING *keyid = NULL;
    X509_ALGOR *dig = NULL, *sig = NULL;
    CMS_SignerInfo_get0_signer_id(si, &keyid, &issuer, &sno);
    CMS_SignerInfo_get0_algs(si, NULL, NULL, &dig, &sig);
    uint8_t *nm = NULL, *sn = NULL;
    const uint8_t *p2[2];
    size_t pl2[2];
    pl2[0] = (size_t)i2d_X509_NAME(issuer, &nm);
    pl2[1] = (size_t)i2d_ASN1_INTEGER(sno, &sn);
    p2[0] = nm;
    p2[1] = sn;
    uint8_t *sid = tlv(V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL, p2, pl2, 2, &l1);
    put(&buf, &len, sid, l1);
    free(sid);
    OPENSSL_free(nm);
    OPENSSL_free(sn);
    n = i2d_X509_ALGOR(dig, &d);
    put(&buf, &len, d, (size_t)n);
    OPENSSL_free(d);
    d = NULL;
    for (int i = 0; i < CMS_signed_get_attr_count(si); i++) {
        items[ni].p = NULL;
        items[ni].len = (size_t)i2d_X509_ATTRIBUTE(CMS_signed_get_attr(si, i), &items[ni].p);
        ni++;
    }
    put_set(&buf, &len, items, ni, 0);
    for (size_t i = 0; i < ni; i++)
        OPENSSL_free(items[i].p);
    n = i2d_X509_ALGOR(sig, &d);
    put(&buf, &len, d, (size_t)n);
    OPENSSL_free(d);
    d = NULL;
    n = i2d_ASN1_OCTET_STRING(CMS_SignerInfo_get0_signature(si), &d);
    put(&buf, &len, d, (size_t)n);
    OPENSSL_free(d);
    *pbuf = buf;
    *plen = len;
}

/* The data an archive-time-stamp v2 covers, built from OpenSSL's view of
 * the signature (not from its encoding, as kensho does): encapContentInfo,
 * certificates, the SignerInfo's fields and its unsigned attributes: with
 * `tagged`, as the unsignedAttrs element with its [1] tag and length (ETSI
 * TS 101 733 V2.2.1 6.4.1), else without them (up to V1.8.3, Annex K). */
static uint8_t *ats_data_as(CMS_ContentInfo *cms, CMS_SignerInfo *si, int tagged, size_t *outlen)
{
    uint8_t *buf = NULL;
    size_t len = 0, l1 = 0, l2 = 0;
    /* encapContentInfo: SEQUENCE { id-data, [0] EXPLICIT OCTET STRING } */
    ASN1_OCTET_STRING *content = *CMS_get0_content(cms);
    uint8_t *oid = NULL, *oct = NULL;
    int ol = i2d_ASN1_OBJECT(OBJ_nid2obj(NID_pkcs7_data), &oid), cl = i2d_ASN1_OCTET_STRING(content, &oct);
    size_t ocl = (size_t)cl;
    const uint8_t *p0[1] = {oct};
    uint8_t *exp0 = tlv(0, V_ASN1_CONTEXT_SPECIFIC, p0, &ocl, 1, &l1);
    const uint8_t *p1[2] = {oid, exp0};
    size_t pl1[2] = {(size_t)ol, l1};
    uint8_t *encap = tlv(V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL, p1, pl1, 2, &l2);
    put(&buf, &len, encap, l2);
    free(exp0);
    free(encap);
    OPENSSL_free(oid);
    OPENSSL_free(oct);
    /* certificates [0] IMPLICIT SET OF */
    STACK_OF(X509) *certs = CMS_get1_certs(cms);
    der_item items[64];
    size_t ni = 0;
    for (int i = 0; i < sk_X509_num(certs); i++) {
        items[ni].p = NULL;
        items[ni].len = (size_t)i2d_X509(sk_X509_value(certs, i), &items[ni].p);
        ni++;
    }
    if (ni > 0)
        put_set(&buf, &len, items, ni, 0);
    for (size_t i = 0; i < ni; i++)
        OPENSSL_free(items[i].p);
    sk_X509_pop_free(certs, X509_free);
    put_si_fields(&buf, &len, si);
    /* every unsigned attribute there is (the new one is not yet) */
    ni = 0;
    for (int i = 0; i < CMS_unsigned_get_attr_count(si); i++) {
        items[ni].p = NULL;
        items[ni].len = (size_t)i2d_X509_ATTRIBUTE(CMS_unsigned_get_attr(si, i), &items[ni].p);
        ni++;
    }
    put_set(&buf, &len, items, ni, tagged ? 1 : -1);
    for (size_t i = 0; i < ni; i++)
        OPENSSL_free(items[i].p);
    *outlen = len;
    return buf;
}

static uint8_t *ats_data(CMS_ContentInfo *cms, CMS_SignerInfo *si, size_t *outlen)
{
    return ats_data_as(cms, si, 0, outlen);
}

typedef enum { A_NONE, A_ONE, A_IMPRINT, A_TWO, A_ONE_TAGGED, A_TWO_TAGGED } ats_kind;

/* citizen-expired signs `signing`; tsa-old timestamps the signature at
 * `g1`; then archive timestamps: A_ONE by tsa at g2; A_IMPRINT the same over
 * data without the unsigned attributes (a wrong imprint); A_TWO by
 * tsa-old at g2 and by tsa at g3 over it; the _TAGGED kinds the same with
 * the unsignedAttrs tag and length hashed (TS 101 733 V2.2.1, as EU DSS
 * makes them). */
static size_t make_esa(ats_kind kind, time_t g1, time_t g2, time_t g3, uint8_t **out)
{
    CMS_SignerInfo *si = NULL;
    CMS_ContentInfo *cms = sign_doc("citizen-expired", EVP_sha256(), g1 - 60, NULL, &si);
    ASN1_OBJECT *atsv2 = OBJ_txt2obj("1.2.840.113549.1.9.16.2.48", 1);
    int n = 0;
    *out = NULL;
    if (atsv2 == NULL)
        goto done;
    ASN1_OCTET_STRING *sv = CMS_SignerInfo_get0_signature(si);
    size_t toklen = 0;
    uint8_t *tok = make_token("tsa-old", ASN1_STRING_get0_data(sv), (size_t)ASN1_STRING_length(sv), g1, &toklen);
    if (CMS_unsigned_add1_attr_by_NID(si, NID_id_smime_aa_timeStampToken, V_ASN1_SEQUENCE, tok, (int)toklen) != 1)
        goto done;
    OPENSSL_free(tok);
    int two = kind == A_TWO || kind == A_TWO_TAGGED;
    for (int k = 0; kind != A_NONE && k < (two ? 2 : 1); k++) {
        size_t dl = 0;
        uint8_t *data = ats_data_as(cms, si, kind == A_ONE_TAGGED || kind == A_TWO_TAGGED, &dl);
        if (kind == A_IMPRINT)
            data[dl - 1] ^= 0x01;
        const char *tsa = two && k == 0 ? "tsa-old" : "tsa";
        tok = make_token(tsa, data, dl, two && k == 1 ? g3 : g2, &toklen);
        free(data);
        if (CMS_unsigned_add1_attr_by_OBJ(si, atsv2, V_ASN1_SEQUENCE, tok, (int)toklen) != 1)
            goto done;
        OPENSSL_free(tok);
    }
    n = i2d_CMS_ContentInfo(cms, out);
done:
    if (n <= 0) {
        ERR_print_errors_fp(stderr);
        fprintf(stderr, "cannot make an ES-A\n");
        exit(2);
    }
    ASN1_OBJECT_free(atsv2);
    CMS_ContentInfo_free(cms);
    return (size_t)n;
}

/*
 * Issue #20 item 1: the chain of timestamps from the newest down.
 * citizen-expired's certificate expired two years ago; tsa-old's 100 days
 * ago.  The signature was timestamped by tsa-old a month before the
 * signer's certificate expired (g1).  Alone, that token proves nothing
 * today (its TSA has expired); under an archive timestamp made while
 * tsa-old was valid, it is validated at that time and proves g1.
 */
static void test_esa(void)
{
    time_t now = t_at, g1 = t_expired - 30 * 86400L, g2 = t_expired + 365 * 86400L;
    static const struct {
        const char *name;
        ats_kind kind;
        long g2_from_now; /* 0: g2 above; else the last archive timestamp at now - this */
        const char *indication, *sub;
        int poe_g1;              /* best_signature_time is g1 */
        const char *archive_ind; /* timestamps[0] (the newest archive timestamp), or NULL */
        const char *sig_ind;     /* the signature timestamp */
        const char *reason;
    } arows[] = {
        {"es-t, expired TSA", A_NONE, 0, "INDETERMINATE", "OUT_OF_BOUNDS_NO_POE", 0, NULL, "INDETERMINATE", NULL},
        {"es-a", A_ONE, 0, "TOTAL_PASSED", NULL, 1, "TOTAL_PASSED", "TOTAL_PASSED", "EXPIRED_AFTER_POE"},
        /* Made after tsa-old expired: the token is validated then, and fails;
         * the archive timestamp's own POE is after the signer's expiry, and
         * the claimed signingTime before it proves nothing. */
        {"es-a too late", A_ONE, 50 * 86400L, "INDETERMINATE", "OUT_OF_BOUNDS_NO_POE", 0, "TOTAL_PASSED", "INDETERMINATE", NULL},
        {"es-a wrong imprint", A_IMPRINT, 0, "INDETERMINATE", "OUT_OF_BOUNDS_NO_POE", 0, "TOTAL_FAILED",
         "INDETERMINATE", NULL},
        /* tsa-old's own archive timestamp at g2, re-timestamped by tsa 120
         * days ago (tsa-old still valid): the chain holds down to g1. */
        {"es-a twice", A_TWO, 120 * 86400L, "TOTAL_PASSED", NULL, 1, "TOTAL_PASSED", "TOTAL_PASSED",
         "EXPIRED_AFTER_POE"},
        /* Re-timestamped 50 days ago, after tsa-old expired: the older
         * archive timestamp and the signature timestamp fail. */
        {"es-a twice, too late", A_TWO, 50 * 86400L, "INDETERMINATE", "OUT_OF_BOUNDS_NO_POE", 0, "TOTAL_PASSED", "INDETERMINATE",
         NULL},
        /* TS 101 733 V2.2.1's form (unsignedAttrs with its tag and length),
         * which EU DSS makes: once, and twice (the newer one left out of
         * the older one's length). */
        {"es-a, V2.2.1 form", A_ONE_TAGGED, 0, "TOTAL_PASSED", NULL, 1, "TOTAL_PASSED", "TOTAL_PASSED",
         "EXPIRED_AFTER_POE"},
        {"es-a twice, V2.2.1 form", A_TWO_TAGGED, 120 * 86400L, "TOTAL_PASSED", NULL, 1, "TOTAL_PASSED", "TOTAL_PASSED",
         "EXPIRED_AFTER_POE"},
    };
    for (size_t i = 0; i < sizeof arows / sizeof arows[0]; i++) {
        time_t last = arows[i].g2_from_now ? now - arows[i].g2_from_now : g2;
        uint8_t *sig = NULL;
        int two = arows[i].kind == A_TWO || arows[i].kind == A_TWO_TAGGED;
        size_t len = two ? make_esa(arows[i].kind, g1, g2, last, &sig) : make_esa(arows[i].kind, g1, last, 0, &sig);
        ks_ctx *ctx = t_load_config(cfgdir, "ltv");
        ks_request req = {.signature = {.name = arows[i].name, .data = sig, .len = len}, .at = now, .has_at = 1};
        cJSON *v = NULL;
        ks_result res = ks_verify_signature(ctx, &req, &v);
        CHECK(res == KS_OK && v != NULL, "%s: %s", arows[i].name, ks_result_name(res));
        v = t_printed(v);
        const cJSON *s = signer0(v), *tss = cJSON_GetObjectItemCaseSensitive(s, "timestamps"), *t;
        CHECK_STR(str_at(v, "indication"), arows[i].indication, "%s: %s", arows[i].name, str_at(v, "detail"));
        CHECK_STR(str_at(v, "subindication"), arows[i].sub, "%s", arows[i].name);
        char want[32];
        ks_time_format(g1, want, sizeof want);
        if (arows[i].poe_g1)
            CHECK_STR(str_at(s, "best_signature_time"), want, "%s", arows[i].name);
        else
            CHECK(!t_str_eq(str_at(s, "best_signature_time"), want), "%s: no POE at g1", arows[i].name);
        const char *arch = NULL, *sigts = NULL;
        cJSON_ArrayForEach(t, tss)
        {
            if (t_str_eq(str_at(t, "type"), "archive") && arch == NULL)
                arch = str_at(t, "indication");
            if (t_str_eq(str_at(t, "type"), "signature"))
                sigts = str_at(t, "indication");
        }
        CHECK_STR(arch, arows[i].archive_ind, "%s: the newest archive timestamp", arows[i].name);
        CHECK_STR(sigts, arows[i].sig_ind, "%s: the signature timestamp", arows[i].name);
        if (arows[i].reason != NULL)
            CHECK(has_reason(v, arows[i].reason), "%s: reason %s", arows[i].name, arows[i].reason);
        cJSON_Delete(v);
        ks_ctx_unref(ctx);
        free(sig);
    }
}

/* ---------------- CAdES ES-A v3 (archive-time-stamp-v3, ETSI EN 319 122-1 5.5.3) ---------------- */

/*
 * Built here from the text of EN 319 122-1 5.5.2 and 5.5.3 (V1.1.1 and
 * V1.3.1 read the same), not with anything of verify/cades.c, and from
 * OpenSSL's decoded view of the signature where the verifier walks its
 * encoding.  Two readings of one text can still share a misunderstanding
 * (README, "Archive timestamps"): these rows prove the two agree, and the
 * hostile ones that a disagreement on any single piece fails.
 *
 * 5.5.2: ATSHashIndexV3 ::= SEQUENCE { hashIndAlgorithm AlgorithmIdentifier,
 *   certificatesHashIndex, crlsHashIndex, unsignedAttrValuesHashIndex
 *   SEQUENCE OF OCTET STRING }: the hash of each CertificateChoices of
 *   SignedData.certificates, of each RevocationInfoChoice of
 *   SignedData.crls, and of attrType || one AttributeValue for each value
 *   of each unsigned attribute, all with their tag and length; carried as
 *   the unsigned attribute id-aa-ATSHashIndex-v3 (0.4.0.19122.1.5) of the
 *   time-stamp token's own SignerInfo.
 * 5.5.3: the messageImprint (id-aa-ets-archiveTimestampV3, 0.4.0.1733.2.4)
 *   is the hash of eContentType (TLV) || hash(the signed content) (bare
 *   octets) || version, sid, digestAlgorithm, signedAttrs,
 *   signatureAlgorithm, signature (TLVs) || the ATSHashIndexV3 (TLV).
 */
static const char ats3_oid[] = "0.4.0.1733.2.4", idx3_oid[] = "0.4.0.19122.1.5";

typedef enum {
    V3_GOOD,          /* one ATSv3 by tsa at g2 over an ES-T */
    V3_IDX_TAMPERED,  /* a certificate's hash in the index changed (and imprinted so) */
    V3_IDX_MISSING,   /* the token carries no ats-hash-index-v3 */
    V3_IDX_MALFORMED, /* the index is SEQUENCE { INTEGER 5 } (imprinted so) */
    V3_IDX_ALG,       /* hashIndAlgorithm sha384 with SHA-256 hashes and imprint */
    V3_IDX_EXTRA,     /* the index lists an unsigned attribute value that is not there */
    V3_IMPRINT,       /* the imprint over other data */
    V3_ROGUE,         /* by tsa-rogue, whom nobody trusts */
    V3_ADDED_TS,      /* the signature timestamp is added after the ATSv3 */
    V3_ADDED_VALUES,  /* a certificate, a CRL and certificate-values added after it */
    V3_TWO,           /* tsa-old's ATSv3 at g2, tsa's at g3 over it */
    V3_AFTER_V2,      /* tsa-old's ATSv2 at g2, tsa's ATSv3 at g3 over it */
    V3_TWO_VALUES,    /* one archive-time-stamp-v3 attribute with the good token twice */
} v3_kind;

/* A DER OCTET STRING holding SHA-256(`p`). */
static void put_hash_octets(uint8_t **buf, size_t *len, const uint8_t *p, size_t n)
{
    uint8_t md[SHA256_DIGEST_LENGTH], hdr[2] = {V_ASN1_OCTET_STRING, SHA256_DIGEST_LENGTH};
    SHA256(p, n, md);
    put(buf, len, hdr, sizeof hdr);
    put(buf, len, md, sizeof md);
}

/* The ATSHashIndexV3 of the signature as it is now (5.5.2). */
static uint8_t *ats3_index(CMS_ContentInfo *cms, CMS_SignerInfo *si, v3_kind kind, size_t *outlen)
{
    uint8_t *lists[3] = {NULL, NULL, NULL}, *alg = NULL, *d = NULL;
    size_t ll[3] = {0, 0, 0};
    int n;
    STACK_OF(X509) *certs = CMS_get1_certs(cms);
    for (int i = 0; i < sk_X509_num(certs); i++) {
        d = NULL;
        n = i2d_X509(sk_X509_value(certs, i), &d);
        put_hash_octets(&lists[0], &ll[0], d, (size_t)n);
        OPENSSL_free(d);
    }
    sk_X509_pop_free(certs, X509_free);
    if (kind == V3_IDX_TAMPERED && ll[0] > 2)
        lists[0][2] ^= 0x01; /* the first hash's first octet */
    STACK_OF(X509_CRL) *crls = CMS_get1_crls(cms);
    for (int i = 0; i < sk_X509_CRL_num(crls); i++) {
        d = NULL;
        n = i2d_X509_CRL(sk_X509_CRL_value(crls, i), &d);
        put_hash_octets(&lists[1], &ll[1], d, (size_t)n);
        OPENSSL_free(d);
    }
    sk_X509_CRL_pop_free(crls, X509_CRL_free);
    for (int i = 0; i < CMS_unsigned_get_attr_count(si); i++) {
        X509_ATTRIBUTE *a = CMS_unsigned_get_attr(si, i);
        uint8_t *type = NULL;
        int tl = i2d_ASN1_OBJECT(X509_ATTRIBUTE_get0_object(a), &type);
        for (int v = 0; v < X509_ATTRIBUTE_count(a); v++) {
            uint8_t *cat = NULL, *val = NULL;
            size_t cl = 0;
            int vl = i2d_ASN1_TYPE(X509_ATTRIBUTE_get0_type(a, v), &val);
            put(&cat, &cl, type, (size_t)tl);
            put(&cat, &cl, val, (size_t)vl);
            put_hash_octets(&lists[2], &ll[2], cat, cl);
            free(cat);
            OPENSSL_free(val);
        }
        OPENSSL_free(type);
    }
    if (kind == V3_IDX_EXTRA) {
        static const uint8_t nothing[] = "an attribute value nobody added";
        put_hash_octets(&lists[2], &ll[2], nothing, sizeof nothing);
    }
    X509_ALGOR *a = X509_ALGOR_new();
    if (a == NULL || X509_ALGOR_set0(a, OBJ_nid2obj(kind == V3_IDX_ALG ? NID_sha384 : NID_sha256), V_ASN1_UNDEF,
                                     NULL) != 1 || (n = i2d_X509_ALGOR(a, &alg)) <= 0)
        exit(2);
    X509_ALGOR_free(a);
    uint8_t *seq[4];
    size_t sl[4];
    seq[0] = alg;
    sl[0] = (size_t)n;
    for (int i = 0; i < 3; i++) {
        const uint8_t *part[1] = {lists[i] != NULL ? lists[i] : (const uint8_t *)""};
        seq[i + 1] = tlv(V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL, part, &ll[i], 1, &sl[i + 1]);
        free(lists[i]);
    }
    uint8_t *out = tlv(V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL, (const uint8_t *const *)seq, sl, 4, outlen);
    if (kind == V3_IDX_MALFORMED) {
        static const uint8_t bad[] = {0x30, 0x03, 0x02, 0x01, 0x05};
        memcpy(out, bad, sizeof bad);
        *outlen = sizeof bad;
    }
    OPENSSL_free(alg);
    for (int i = 1; i < 4; i++)
        free(seq[i]);
    return out;
}

/* Adds an archive-time-stamp-v3 by `tsa` at `gen` to si (5.5.3). */
static int add_ats3(CMS_ContentInfo *cms, CMS_SignerInfo *si, v3_kind kind, const char *tsa, time_t gen)
{
    size_t il = 0, dl = 0, toklen = 0;
    uint8_t *index = ats3_index(cms, si, kind, &il), *data = NULL, *oid = NULL, *tok, *der = NULL;
    uint8_t md[SHA256_DIGEST_LENGTH];
    int ol = i2d_ASN1_OBJECT(CMS_get0_eContentType(cms), &oid), n = 0;
    ASN1_OCTET_STRING *content = *CMS_get0_content(cms);
    put(&data, &dl, oid, (size_t)ol);
    SHA256(ASN1_STRING_get0_data(content), (size_t)ASN1_STRING_length(content), md);
    put(&data, &dl, md, sizeof md);
    put_si_fields(&data, &dl, si);
    if (kind != V3_IDX_MISSING)
        put(&data, &dl, index, il);
    if (kind == V3_IMPRINT)
        data[dl - 1] ^= 0x01;
    tok = make_token(tsa, data, dl, gen, &toklen);
    const unsigned char *p = tok;
    CMS_ContentInfo *tc = d2i_CMS_ContentInfo(NULL, &p, (long)toklen);
    CMS_SignerInfo *tsi = tc != NULL ? sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(tc), 0) : NULL;
    ASN1_OBJECT *io = OBJ_txt2obj(idx3_oid, 1), *ao = OBJ_txt2obj(ats3_oid, 1);
    int ok = tsi != NULL && io != NULL && ao != NULL &&
             (kind == V3_IDX_MISSING ||
              CMS_unsigned_add1_attr_by_OBJ(tsi, io, V_ASN1_SEQUENCE, index, (int)il) == 1) &&
             (n = i2d_CMS_ContentInfo(tc, &der)) > 0 &&
             CMS_unsigned_add1_attr_by_OBJ(si, ao, V_ASN1_SEQUENCE, der, n) == 1;
    ASN1_OBJECT_free(io);
    ASN1_OBJECT_free(ao);
    OPENSSL_free(der);
    CMS_ContentInfo_free(tc);
    OPENSSL_free(tok);
    OPENSSL_free(oid);
    free(data);
    free(index);
    return ok;
}

/* citizen-expired signs at g1 - 60 with a CRL in SignedData.crls; tsa-old
 * timestamps the signature at g1 (V3_ADDED_TS: after the archive
 * timestamps); then the archive timestamps of `kind` at g2 (and g3). */
static size_t make_esa3(v3_kind kind, time_t g1, time_t g2, time_t g3, uint8_t **out)
{
    X509_CRL *crl = load_crl("pref-ca");
    CMS_SignerInfo *si = NULL;
    CMS_ContentInfo *cms = sign_doc("citizen-expired", EVP_sha256(), g1 - 60, crl, &si);
    size_t toklen = 0;
    uint8_t *tok = NULL;
    int n = 0;
    *out = NULL;
    ASN1_OCTET_STRING *sv = CMS_SignerInfo_get0_signature(si);
    tok = make_token("tsa-old", ASN1_STRING_get0_data(sv), (size_t)ASN1_STRING_length(sv), g1, &toklen);
    if (kind != V3_ADDED_TS &&
        CMS_unsigned_add1_attr_by_NID(si, NID_id_smime_aa_timeStampToken, V_ASN1_SEQUENCE, tok, (int)toklen) != 1)
        goto done;
    if (kind == V3_AFTER_V2) {
        ASN1_OBJECT *atsv2 = OBJ_txt2obj("1.2.840.113549.1.9.16.2.48", 1);
        size_t dl = 0, l2 = 0;
        uint8_t *data = ats_data(cms, si, &dl), *t2 = make_token("tsa-old", data, dl, g2, &l2);
        int ok = atsv2 != NULL && CMS_unsigned_add1_attr_by_OBJ(si, atsv2, V_ASN1_SEQUENCE, t2, (int)l2) == 1;
        free(data);
        OPENSSL_free(t2);
        ASN1_OBJECT_free(atsv2);
        if (!ok || !add_ats3(cms, si, V3_GOOD, "tsa", g3))
            goto done;
    } else if (kind == V3_TWO) {
        if (!add_ats3(cms, si, V3_GOOD, "tsa-old", g2) || !add_ats3(cms, si, V3_GOOD, "tsa", g3))
            goto done;
    } else if (!add_ats3(cms, si, kind, kind == V3_ROGUE ? "tsa-rogue" : "tsa", g2)) {
        goto done;
    }
    if (kind == V3_TWO_VALUES) { /* 5.5.3: "exactly one component of AttributeValue type" */
        ASN1_OBJECT *ao = OBJ_txt2obj(ats3_oid, 1);
        int at = ao != NULL ? CMS_unsigned_get_attr_by_OBJ(si, ao, -1) : -1;
        X509_ATTRIBUTE *a = at >= 0 ? CMS_unsigned_get_attr(si, at) : NULL;
        ASN1_TYPE *t0 = a != NULL ? X509_ATTRIBUTE_get0_type(a, 0) : NULL;
        int ok = t0 != NULL && X509_ATTRIBUTE_set1_data(a, V_ASN1_SEQUENCE, ASN1_STRING_get0_data(t0->value.sequence),
                                                        ASN1_STRING_length(t0->value.sequence)) == 1;
        ASN1_OBJECT_free(ao);
        if (!ok)
            goto done;
    }
    if (kind == V3_ADDED_TS &&
        CMS_unsigned_add1_attr_by_NID(si, NID_id_smime_aa_timeStampToken, V_ASN1_SEQUENCE, tok, (int)toklen) != 1)
        goto done;
    if (kind == V3_ADDED_VALUES) {
        X509 *x = load_cert("cross-jpki-to-pref");
        X509_CRL *c = load_crl("jpki-bca");
        uint8_t *cd = NULL, *cv = NULL;
        size_t cvlen = 0, cdl;
        int k = i2d_X509(x, &cd), ok;
        cdl = (size_t)k;
        cv = tlv(V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL, (const uint8_t *const *)&cd, &cdl, 1, &cvlen);
        ok = k > 0 && CMS_add1_cert(cms, x) == 1 && CMS_add1_crl(cms, c) == 1 &&
             CMS_unsigned_add1_attr_by_NID(si, NID_id_smime_aa_ets_certValues, V_ASN1_SEQUENCE, cv, (int)cvlen) == 1;
        OPENSSL_free(cd);
        free(cv);
        X509_CRL_free(c);
        X509_free(x);
        if (!ok)
            goto done;
    }
    n = i2d_CMS_ContentInfo(cms, out);
done:
    if (n <= 0) {
        ERR_print_errors_fp(stderr);
        fprintf(stderr, "cannot make an ES-A v3\n");
        exit(2);
    }
    OPENSSL_free(tok);
    CMS_ContentInfo_free(cms);
    X509_CRL_free(crl);
    return (size_t)n;
}

/* The number `key` of the object `o`'s member `obj`, -1 when absent. */
static double num_in(const cJSON *o, const char *obj, const char *key)
{
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(o, obj), key);
    return cJSON_IsNumber(n) ? cJSON_GetNumberValue(n) : -1;
}

/*
 * Issue #20: archive-time-stamp-v3 in the same chain as v2 (test_esa's
 * instants and signer).  An element the index does not list was added
 * after the timestamp and is not covered by it: a signature timestamp
 * added later is validated at the validation time, not at the archive
 * timestamp's genTime.
 */
static void test_esa3(void)
{
    time_t now = t_at, g1 = t_expired - 30 * 86400L, g2 = t_expired + 365 * 86400L;
    static const struct {
        const char *name;
        v3_kind kind;
        long g3_from_now; /* the newer of two archive timestamps, at now - this */
        const char *indication, *sub;
        int poe_g1;
        const char *archive_ind, *archive_sub; /* the newest archive timestamp */
        const char *sig_ind;                   /* the signature timestamp */
        int not_covered;                       /* not_covered certificates + crls + values of the newest; -1 absent */
    } vrows[] = {
        {"es-a v3", V3_GOOD, 0, "TOTAL_PASSED", NULL, 1, "TOTAL_PASSED", NULL, "TOTAL_PASSED", 0},
        {"es-a v3, index hash tampered", V3_IDX_TAMPERED, 0, "INDETERMINATE", "OUT_OF_BOUNDS_NO_POE", 0, "TOTAL_FAILED",
         "HASH_FAILURE", "INDETERMINATE", -1},
        {"es-a v3, index lists a value not there", V3_IDX_EXTRA, 0, "INDETERMINATE", "OUT_OF_BOUNDS_NO_POE", 0,
         "TOTAL_FAILED", "HASH_FAILURE", "INDETERMINATE", -1},
        {"es-a v3, no index", V3_IDX_MISSING, 0, "INDETERMINATE", "OUT_OF_BOUNDS_NO_POE", 0, "TOTAL_FAILED",
         "FORMAT_FAILURE", "INDETERMINATE", -1},
        {"es-a v3, malformed index", V3_IDX_MALFORMED, 0, "INDETERMINATE", "OUT_OF_BOUNDS_NO_POE", 0, "TOTAL_FAILED",
         "FORMAT_FAILURE", "INDETERMINATE", -1},
        {"es-a v3, index algorithm not the imprint's", V3_IDX_ALG, 0, "INDETERMINATE", "OUT_OF_BOUNDS_NO_POE", 0,
         "TOTAL_FAILED", "FORMAT_FAILURE", "INDETERMINATE", -1},
        {"es-a v3, wrong imprint", V3_IMPRINT, 0, "INDETERMINATE", "OUT_OF_BOUNDS_NO_POE", 0, "TOTAL_FAILED",
         "HASH_FAILURE", "INDETERMINATE", -1},
        {"es-a v3, two values in one attribute", V3_TWO_VALUES, 0, "INDETERMINATE", "OUT_OF_BOUNDS_NO_POE", 0,
         "TOTAL_FAILED", "FORMAT_FAILURE", "INDETERMINATE", -1},
        {"es-a v3, untrusted TSA", V3_ROGUE, 0, "INDETERMINATE", "OUT_OF_BOUNDS_NO_POE", 0, "INDETERMINATE",
         "NO_CERTIFICATE_CHAIN_FOUND", "INDETERMINATE", -1},
        /* The signature timestamp came after the archive timestamp: not
         * covered, it is validated now (tsa-old has expired) and the
         * archive timestamp's own time is after the signer's expiry. */
        {"es-a v3, signature timestamp added after it", V3_ADDED_TS, 0, "INDETERMINATE", "OUT_OF_BOUNDS_NO_POE", 0,
         "TOTAL_PASSED", NULL, "INDETERMINATE", 1},
        /* Material added later does not break it, and is not covered. */
        {"es-a v3, values added after it", V3_ADDED_VALUES, 0, "TOTAL_PASSED", NULL, 1, "TOTAL_PASSED", NULL,
         "TOTAL_PASSED", 3},
        {"es-a v3 twice", V3_TWO, 120 * 86400L, "TOTAL_PASSED", NULL, 1, "TOTAL_PASSED", NULL, "TOTAL_PASSED", 0},
        {"es-a v3 twice, too late", V3_TWO, 50 * 86400L, "INDETERMINATE", "OUT_OF_BOUNDS_NO_POE", 0, "TOTAL_PASSED",
         NULL, "INDETERMINATE", 0},
        {"es-a v2 then v3", V3_AFTER_V2, 120 * 86400L, "TOTAL_PASSED", NULL, 1, "TOTAL_PASSED", NULL, "TOTAL_PASSED",
         0},
    };
    for (size_t i = 0; i < sizeof vrows / sizeof vrows[0]; i++) {
        uint8_t *sig = NULL;
        size_t len = make_esa3(vrows[i].kind, g1, g2, now - vrows[i].g3_from_now, &sig);
        ks_ctx *ctx = t_load_config(cfgdir, "ltv");
        ks_request req = {.signature = {.name = vrows[i].name, .data = sig, .len = len}, .at = now, .has_at = 1};
        cJSON *v = NULL;
        ks_result res = ks_verify_signature(ctx, &req, &v);
        CHECK(res == KS_OK && v != NULL, "%s: %s", vrows[i].name, ks_result_name(res));
        v = t_printed(v);
        const cJSON *s = signer0(v), *tss = cJSON_GetObjectItemCaseSensitive(s, "timestamps"), *t, *arch = NULL;
        CHECK_STR(str_at(v, "indication"), vrows[i].indication, "%s: %s", vrows[i].name, str_at(v, "detail"));
        CHECK_STR(str_at(v, "subindication"), vrows[i].sub, "%s", vrows[i].name);
        char want[32];
        ks_time_format(g1, want, sizeof want);
        if (vrows[i].poe_g1)
            CHECK_STR(str_at(s, "best_signature_time"), want, "%s", vrows[i].name);
        else
            CHECK(!t_str_eq(str_at(s, "best_signature_time"), want), "%s: no POE at g1", vrows[i].name);
        const char *sigts = NULL;
        cJSON_ArrayForEach(t, tss)
        {
            if (t_str_eq(str_at(t, "type"), "archive") && arch == NULL)
                arch = t;
            if (t_str_eq(str_at(t, "type"), "signature"))
                sigts = str_at(t, "indication");
        }
        CHECK_STR(str_at(arch, "indication"), vrows[i].archive_ind, "%s: the newest archive timestamp (%s)",
                  vrows[i].name, t_str(str_at(arch, "detail")));
        CHECK_STR(str_at(arch, "subindication"), vrows[i].archive_sub, "%s: the newest archive timestamp",
                  vrows[i].name);
        CHECK(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(arch, "version")) == 3, "%s: version 3",
              vrows[i].name);
        CHECK_STR(sigts, vrows[i].sig_ind, "%s: the signature timestamp", vrows[i].name);
        double nc = num_in(arch, "not_covered", "certificates"), nl = num_in(arch, "not_covered", "crls"),
               nv = num_in(arch, "not_covered", "unsigned_attribute_values");
        if (vrows[i].not_covered < 0)
            CHECK(nc < 0 && nl < 0 && nv < 0, "%s: no coverage reported for a failed index", vrows[i].name);
        else
            CHECK(nc >= 0 && nl >= 0 && nv >= 0 && nc + nl + nv == vrows[i].not_covered,
                  "%s: not_covered %.0f + %.0f + %.0f, want %d", vrows[i].name, nc, nl, nv, vrows[i].not_covered);
        if (vrows[i].kind == V3_ADDED_VALUES)
            CHECK(nc == 1 && nl == 1 && nv == 1, "%s: the certificate, the CRL and the values", vrows[i].name);
        cJSON_Delete(v);
        ks_ctx_unref(ctx);
        free(sig);
    }
}

/* ---------------- revocation of TSA certificates ---------------- */

/* tsa-revoked's revocationDate in tsa-ca.crl. */
static time_t tsa_revoked_at(void)
{
    X509_CRL *crl = load_crl("tsa-ca");
    X509 *x = load_cert("tsa-revoked");
    X509_REVOKED *r = NULL;
    time_t t = 0;
    if (X509_CRL_get0_by_cert(crl, &r, x) != 1 || !ks_asn1_time_to_time_t(X509_REVOKED_get0_revocationDate(r), &t)) {
        fprintf(stderr, "tsa-revoked is not in tsa-ca.crl\n");
        exit(2);
    }
    X509_CRL_free(crl);
    X509_free(x);
    return t;
}

/* `signer` signs; `tsa1` timestamps the signature at g1; when tsa2 is not
 * NULL, an archive-time-stamp v2 by tsa2 at g2 covers it all. */
static size_t make_esa_by(const char *signer, const char *tsa1, time_t g1, const char *tsa2, time_t g2, uint8_t **out)
{
    CMS_SignerInfo *si = NULL;
    CMS_ContentInfo *cms = sign_doc(signer, EVP_sha256(), g1 - 60, NULL, &si);
    ASN1_OBJECT *atsv2 = OBJ_txt2obj("1.2.840.113549.1.9.16.2.48", 1);
    size_t toklen = 0, dl = 0;
    uint8_t *tok = NULL, *data = NULL;
    int n = 0;
    *out = NULL;
    if (atsv2 == NULL)
        goto done;
    ASN1_OCTET_STRING *sv = CMS_SignerInfo_get0_signature(si);
    tok = make_token(tsa1, ASN1_STRING_get0_data(sv), (size_t)ASN1_STRING_length(sv), g1, &toklen);
    if (CMS_unsigned_add1_attr_by_NID(si, NID_id_smime_aa_timeStampToken, V_ASN1_SEQUENCE, tok, (int)toklen) != 1)
        goto done;
    OPENSSL_free(tok);
    tok = NULL;
    if (tsa2 != NULL) {
        data = ats_data(cms, si, &dl);
        tok = make_token(tsa2, data, dl, g2, &toklen);
        if (CMS_unsigned_add1_attr_by_OBJ(si, atsv2, V_ASN1_SEQUENCE, tok, (int)toklen) != 1)
            goto done;
    }
    n = i2d_CMS_ContentInfo(cms, out);
done:
    if (n <= 0) {
        ERR_print_errors_fp(stderr);
        fprintf(stderr, "cannot make a timestamped signature\n");
        exit(2);
    }
    OPENSSL_free(tok);
    free(data);
    ASN1_OBJECT_free(atsv2);
    CMS_ContentInfo_free(cms);
    return (size_t)n;
}

/*
 * Issue #20: a TSA path is an X.509 path and is checked for revocation
 * like a signer's (ETSI EN 319 102-1 5.4, 5.6.2.4).  tsa-revoked was
 * revoked (keyCompromise) when the PKI was made, just after
 * citizen-revoked.  Each row names the signer's verdict and what the
 * signature timestamp says, with the TSA certificate's revocation entry.
 */
static void test_tsa_revocation(void)
{
    time_t tr = tsa_revoked_at();
    static const struct {
        const char *name;
        const char *signer, *tsa1;
        int g1_base; /* 0: citizen-revoked's revocation, 1: tsa-revoked's */
        long g1_off;
        const char *tsa2; /* an archive timestamp, or NULL */
        int g2_base;
        long g2_off;
        const char *config;
        const char *indication, *sub;
        const char *ts, *ts_sub; /* the signature timestamp */
        const char *tsa_status;  /* its TSA certificate's revocation[0].status */
        int poe_g1;              /* best_signature_time is g1 */
        const char *reason, *ts_warning;
    } trows[] = {
        /* Made after its TSA's certificate was revoked: no proof. */
        {"tsa revoked before genTime", "citizen-rsa", "tsa-revoked", 1, 60, NULL, 0, 0, "ltv", "TOTAL_PASSED", NULL,
         "TOTAL_FAILED", "REVOKED", "revoked", 0, NULL, NULL},
        /* Made before, but nothing newer proves the token existed before
         * the revocation: no proof either, and a revoked signer stays
         * unrescued (before the fix: TOTAL_PASSED, REVOKED_AFTER_POE). */
        {"tsa revoked after genTime, no newer timestamp", "citizen-revoked", "tsa-revoked", 0, -86400, NULL, 0, 0,
         "ltv", "INDETERMINATE", "REVOKED_NO_POE", "INDETERMINATE", "REVOKED_NO_POE", "revoked", 0, NULL, NULL},
        /* An archive timestamp by a good TSA, made before tsa-revoked's
         * revocation, covers the token: validated then, it proves g1. */
        {"tsa revoked after the covering archive timestamp", "citizen-revoked", "tsa-revoked", 0, -86400, "tsa", 0,
         -3600, "ltv", "TOTAL_PASSED", NULL, "TOTAL_PASSED", NULL, "revoked", 1, "REVOKED_AFTER_POE", NULL},
        /* The archive timestamp came after the revocation: the token is
         * proven only then, after its TSA's revocation (REVOKED, as for a
         * signer: the proof outweighs the claimed genTime), and the archive
         * timestamp's own time is after the signer's revocation. */
        {"tsa revoked before the covering archive timestamp", "citizen-revoked", "tsa-revoked", 0, -86400, "tsa", 1,
         60, "ltv", "TOTAL_FAILED", "REVOKED", "TOTAL_FAILED", "REVOKED", "revoked", 0, NULL, NULL},
        /* A good TSA whose responder is down, revocation required: the
         * token is INDETERMINATE and proves nothing. */
        {"tsa responder down (require)", "citizen-revoked", "tsa", 0, -86400, NULL, 0, 0, "ltv-tsa-down",
         "INDETERMINATE", "REVOKED_NO_POE", "INDETERMINATE", "TRY_LATER", "unavailable", 0, NULL, NULL},
        /* soft-fail accepts it, and the timestamp's entry says so. */
        {"tsa responder down (soft-fail)", "citizen-revoked", "tsa", 0, -86400, NULL, 0, 0, "ltv-tsa-down-soft",
         "TOTAL_PASSED", NULL, "TOTAL_PASSED", NULL, "unavailable", 1, "REVOKED_AFTER_POE", "REVOCATION_UNAVAILABLE"},
        /* The control: a good TSA, its status from tsa-ca.crl. */
        {"tsa good", "citizen-revoked", "tsa", 0, -86400, NULL, 0, 0, "ltv", "TOTAL_PASSED", NULL, "TOTAL_PASSED", NULL,
         "good", 1, "REVOKED_AFTER_POE", NULL},
    };
    for (size_t i = 0; i < sizeof trows / sizeof trows[0]; i++) {
        time_t g1 = (trows[i].g1_base ? tr : t_revoked) + trows[i].g1_off;
        time_t g2 = (trows[i].g2_base ? tr : t_revoked) + trows[i].g2_off;
        uint8_t *sig = NULL;
        size_t len = make_esa_by(trows[i].signer, trows[i].tsa1, g1, trows[i].tsa2, g2, &sig);
        ks_ctx *ctx = t_load_config(cfgdir, trows[i].config);
        ks_request req = {.signature = {.name = trows[i].name, .data = sig, .len = len}, .at = t_at, .has_at = 1};
        cJSON *v = NULL;
        ks_result res = ks_verify_signature(ctx, &req, &v);
        CHECK(res == KS_OK && v != NULL, "%s: %s", trows[i].name, ks_result_name(res));
        v = t_printed(v);
        const cJSON *s = signer0(v), *t, *sts = NULL;
        CHECK_STR(str_at(v, "indication"), trows[i].indication, "%s: %s", trows[i].name, t_str(str_at(v, "detail")));
        CHECK_STR(str_at(v, "subindication"), trows[i].sub, "%s", trows[i].name);
        cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(s, "timestamps"))
        {
            if (t_str_eq(str_at(t, "type"), "signature"))
                sts = t;
        }
        CHECK_STR(str_at(sts, "indication"), trows[i].ts, "%s: the signature timestamp (%s)", trows[i].name,
                  t_str(str_at(sts, "detail")));
        CHECK_STR(str_at(sts, "subindication"), trows[i].ts_sub, "%s: the signature timestamp", trows[i].name);
        const cJSON *rev = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(sts, "revocation"), 0);
        CHECK_STR(str_at(rev, "status"), trows[i].tsa_status, "%s: the TSA certificate's status", trows[i].name);
        CHECK(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(sts, "revocation")) == 1,
              "%s: one certificate below tsa-ca", trows[i].name);
        char want[32];
        ks_time_format(g1, want, sizeof want);
        if (trows[i].poe_g1)
            CHECK_STR(str_at(s, "best_signature_time"), want, "%s", trows[i].name);
        else
            CHECK(!t_str_eq(str_at(s, "best_signature_time"), want), "%s: no POE at g1", trows[i].name);
        if (trows[i].reason != NULL)
            CHECK(has_reason(v, trows[i].reason), "%s: reason %s", trows[i].name, trows[i].reason);
        int warned = 0;
        const cJSON *w;
        cJSON_ArrayForEach(w, cJSON_GetObjectItemCaseSensitive(sts, "warnings"))
        {
            warned |= t_str_eq(str_at(w, "code"), trows[i].ts_warning);
        }
        CHECK(warned == (trows[i].ts_warning != NULL), "%s: the timestamp's warning %s", trows[i].name,
              t_str(trows[i].ts_warning));
        cJSON_Delete(v);
        ks_ctx_unref(ctx);
        free(sig);
    }
}

/* ---------------- algorithms.sunset ---------------- */

/*
 * Issue #20 item 4: a SHA-1 signature is acceptable only when a timestamp
 * made with strong algorithms proves it existed before SHA-1's sunset.
 * The sunset is set around the timestamp's genTime; the default
 * (2012-08-01) is long before it.
 */
static void test_sunset(void)
{
    static const struct {
        const char *name;
        ts_kind ts;
        long sunset_from_gen; /* 0: the default sunset */
        const char *indication, *sub;
        int warned;
    } srows[] = {
        {"sha1 timestamped before its sunset", TS_GOOD, 86400, "TOTAL_PASSED", NULL, 1},
        {"sha1 timestamped after its sunset", TS_GOOD, -86400, "INDETERMINATE", "CRYPTO_CONSTRAINTS_FAILURE", 0},
        {"sha1 timestamped after the default sunset (2012-08-01)", TS_GOOD, 0, "INDETERMINATE", "CRYPTO_CONSTRAINTS_FAILURE", 0},
        {"sha1 without a timestamp", TS_NONE, 86400, "INDETERMINATE", "CRYPTO_CONSTRAINTS_FAILURE", 0},
        {"sha1 with an untrusted TSA's timestamp", TS_ROGUE, 86400, "INDETERMINATE", "CRYPTO_CONSTRAINTS_FAILURE", 0},
        {"sha1 with a tampered timestamp", TS_TAMPERED, 86400, "INDETERMINATE", "CRYPTO_CONSTRAINTS_FAILURE", 0},
        /* citizen-legacy's certificate is signed with SHA-1 by its CA and
         * has a 1024-bit RSA key (the signature itself uses SHA-256): the
         * path, not the signature, needs the sunset. */
        {"legacy certificate timestamped before the sunset", TS_GOOD, 86400, "TOTAL_PASSED", NULL, 1},
        {"legacy certificate timestamped after the sunset", TS_GOOD, -86400, "INDETERMINATE",
         "CRYPTO_CONSTRAINTS_FAILURE", 0},
    };
    time_t gen = t_crl + 1800;
    for (size_t i = 0; i < sizeof srows / sizeof srows[0]; i++) {
        char json[2048], sun[128] = "", path[PATH_MAX + 64], date[32];
        if (srows[i].sunset_from_gen != 0) {
            ks_time_format(gen + srows[i].sunset_from_gen, date, sizeof date);
            snprintf(sun, sizeof sun, ", \"algorithms\": {\"sunset\": {\"sha1\": \"%s\", \"rsa-1024\": \"%s\"}}", date,
                     date);
        }
        snprintf(json, sizeof json,
                 "{\"trust_anchors\": [\"@PKI@/anchors\"], \"intermediates\": [\"@PKI@/intermediates\"], " CRLS
                 ", \"accept_policies\": [\"1.2.392.200149.8.5.1.1.20\"], \"timestamp_anchors\": [\"@PKI@/tsa-ca.pem\"]%s}",
                 sun);
        snprintf(path, sizeof path, "%s/sunset-%zu.json", cfgdir, i);
        if (!t_write_template(path, json, pki))
            exit(2);
        ks_ctx *ctx = t_load_ctx(path);
        uint8_t *sig = NULL;
        int legacy = strstr(srows[i].name, "legacy") != NULL;
        sign_md = legacy ? "SHA256" : "SHA1";
        size_t len = make_sig(legacy ? "citizen-legacy" : "citizen-rsa", gen - 60, srows[i].ts, gen, &sig);
        sign_md = "SHA256";
        ks_request req = {.signature = {.name = srows[i].name, .data = sig, .len = len}, .at = t_at, .has_at = 1};
        cJSON *v = NULL;
        ks_result res = ks_verify_signature(ctx, &req, &v);
        CHECK(res == KS_OK && v != NULL, "%s: %s", srows[i].name, ks_result_name(res));
        v = t_printed(v);
        CHECK_STR(str_at(v, "indication"), srows[i].indication, "%s: %s", srows[i].name, str_at(v, "detail"));
        CHECK_STR(str_at(v, "subindication"), srows[i].sub, "%s", srows[i].name);
        int warned = 0;
        const cJSON *w;
        cJSON_ArrayForEach(w, cJSON_GetObjectItemCaseSensitive(signer0(v), "warnings"))
        {
            warned |= t_str_eq(str_at(w, "code"), "WEAK_ALGORITHM_BEFORE_SUNSET");
        }
        CHECK(warned == srows[i].warned, "%s: WEAK_ALGORITHM_BEFORE_SUNSET", srows[i].name);
        CHECK_STR(str_at(signer0(v), "digest_algorithm"), legacy ? "sha256" : "sha1", "%s", srows[i].name);
        cJSON_Delete(v);
        ks_ctx_unref(ctx);
        free(sig);
    }
}

/*
 * Evidence past its algorithm's sunset (ETSI EN 319 102-1 5.2.8, 5.6.2.4):
 * an ES-X-L by citizen-rsa whose OCSP answer about the signer is signed
 * with SHA-1 a minute after the signature timestamp (gen), every responder
 * down.  The answer may give the status at the POE only when an archive
 * timestamp covering the revocation-values attribute that holds it proves
 * it existed before the sha1 sunset; a signature timestamp covers the
 * signature value only.
 */
typedef enum { EV_NONE, EV_V2, EV_V3, EV_V2_BEFORE, EV_V3_BEFORE } ev_kind;
static ev_kind ev_ats;
static time_t ev_g2;

static int ev_hook(CMS_ContentInfo *cms, CMS_SignerInfo *si, int after_values)
{
    if (ev_ats == EV_V3_BEFORE && !after_values)
        return add_ats3(cms, si, V3_GOOD, "tsa", ev_g2);
    if (ev_ats == EV_V3 && after_values)
        return add_ats3(cms, si, V3_GOOD, "tsa", ev_g2);
    /* v2 over what is there: after the values, or before them (then
     * adding them changes what it hashes, and it fails). */
    if (!(ev_ats == EV_V2 && after_values) && !(ev_ats == EV_V2_BEFORE && !after_values))
        return 1;
    size_t dl = 0, toklen = 0;
    uint8_t *data = ats_data(cms, si, &dl);
    uint8_t *tok = make_token("tsa", data, dl, ev_g2, &toklen);
    ASN1_OBJECT *atsv2 = OBJ_txt2obj("1.2.840.113549.1.9.16.2.48", 1);
    int ok = atsv2 != NULL && CMS_unsigned_add1_attr_by_OBJ(si, atsv2, V_ASN1_SEQUENCE, tok, (int)toklen) == 1;
    ASN1_OBJECT_free(atsv2);
    OPENSSL_free(tok);
    free(data);
    return ok;
}

static void test_evsunset(void)
{
    static const struct {
        const char *name;
        int sha1;        /* the signer's OCSP answer (1) or jpki-bca's CRL (2) signed with SHA-1 */
        ev_kind ats;     /* archive timestamp at g2 = gen + 1 h */
        long sunset;     /* the sha1 sunset, from gen */
        const char *indication, *sub;
        int warned;      /* WEAK_ALGORITHM_BEFORE_SUNSET */
    } erows[] = {
        {"sha1 ocsp under an archive timestamp v2 before the sunset", 1, EV_V2, 86400 + 3600, "TOTAL_PASSED", NULL, 1},
        {"sha1 ocsp under an archive timestamp v3 before the sunset", 1, EV_V3, 86400 + 3600, "TOTAL_PASSED", NULL, 1},
        /* The answer was made before the sunset, but nothing proves it
         * before the archive timestamp, made after the sunset. */
        {"sha1 ocsp under an archive timestamp v2 after the sunset", 1, EV_V2, 1800, "INDETERMINATE", "TRY_LATER", 0},
        {"sha1 ocsp under an archive timestamp v3 after the sunset", 1, EV_V3, 1800, "INDETERMINATE", "TRY_LATER", 0},
        /* The values added after the v3: its index does not list them. */
        {"sha1 ocsp added after the archive timestamp v3", 1, EV_V3_BEFORE, 86400 + 3600, "INDETERMINATE",
         "TRY_LATER", 0},
        /* The values added after a v2: it no longer verifies, and proves
         * nothing (the signature timestamp still proves gen). */
        {"sha1 ocsp added after the archive timestamp v2", 1, EV_V2_BEFORE, 86400 + 3600, "INDETERMINATE",
         "TRY_LATER", 0},
        /* A signature timestamp covers the signature value, not evidence. */
        {"sha1 ocsp with a signature timestamp only", 1, EV_NONE, 86400 + 3600, "INDETERMINATE", "TRY_LATER", 0},
        /* The same for a CRL of the values (jpki-bca's, for the cross
         * certificate above pref-ca). */
        {"sha1 crl under an archive timestamp v2 before the sunset", 2, EV_V2, 86400 + 3600, "TOTAL_PASSED", NULL, 1},
        {"sha1 crl under an archive timestamp v3 before the sunset", 2, EV_V3, 86400 + 3600, "TOTAL_PASSED", NULL, 1},
        {"sha1 crl under an archive timestamp v2 after the sunset", 2, EV_V2, 1800, "INDETERMINATE", "TRY_LATER", 0},
        {"sha1 crl added after the archive timestamp v3", 2, EV_V3_BEFORE, 86400 + 3600, "INDETERMINATE", "TRY_LATER",
         0},
        {"sha1 crl with a signature timestamp only", 2, EV_NONE, 86400 + 3600, "INDETERMINATE", "TRY_LATER", 0},
        /* Control: a SHA-256 answer needs no sunset and gets no warning. */
        {"sha256 ocsp under an archive timestamp v2", 0, EV_V2, 86400 + 3600, "TOTAL_PASSED", NULL, 0},
    };
    time_t gen = t_crl + 1800, at = gen + 30 * 86400L;
    const char *offline = configs[3].json;
    for (size_t i = 0; i < sizeof erows / sizeof erows[0]; i++) {
        char json[4096], path[PATH_MAX + 64], date[32];
        ks_time_format(gen + erows[i].sunset, date, sizeof date);
        snprintf(json, sizeof json, "%.*s, \"algorithms\": {\"sunset\": {\"sha1\": \"%s\"}}}",
                 (int)strlen(offline) - 1, offline, date);
        snprintf(path, sizeof path, "%s/evsunset-%zu.json", cfgdir, i);
        if (!t_write_template(path, json, pki))
            exit(2);
        ks_ctx *ctx = t_load_ctx(path);
        ks_ctx_set_clock(ctx, fixed_clock, &at);
        ev_ats = erows[i].ats;
        ev_g2 = gen + 3600;
        xl_sha1_ocsp = erows[i].sha1 == 1;
        xl_sha1_crl = erows[i].sha1 == 2;
        xl_tsa_ocsp = at - 60;
        xl_tsa_ocsp2 = erows[i].ats != EV_NONE ? ev_g2 - 60 : 0;
        xl_hook = ev_hook;
        uint8_t *sig = NULL;
        size_t len = make_xl(XL_GOOD, gen, &sig);
        xl_hook = NULL;
        xl_sha1_ocsp = xl_sha1_crl = 0;
        xl_tsa_ocsp = xl_tsa_ocsp2 = 0;
        ks_request req = {.signature = {.name = erows[i].name, .data = sig, .len = len}, .at = at, .has_at = 1};
        cJSON *v = NULL;
        ks_result res = ks_verify_signature(ctx, &req, &v);
        CHECK(res == KS_OK && v != NULL, "%s: %s", erows[i].name, ks_result_name(res));
        v = t_printed(v);
        CHECK_STR(str_at(v, "indication"), erows[i].indication, "%s: %s", erows[i].name, t_str(str_at(v, "detail")));
        CHECK_STR(str_at(v, "subindication"), erows[i].sub, "%s", erows[i].name);
        /* Every row's timestamps verify: the signature's POE is gen. */
        char want[32];
        ks_time_format(gen, want, sizeof want);
        CHECK_STR(str_at(signer0(v), "best_signature_time"), want, "%s", erows[i].name);
        /* The archive timestamp verifies, but for the one the values were
         * added after. */
        const cJSON *tj;
        int archives = 0;
        cJSON_ArrayForEach(tj, cJSON_GetObjectItemCaseSensitive(signer0(v), "timestamps"))
        {
            if (!t_str_eq(str_at(tj, "type"), "archive"))
                continue;
            archives++;
            CHECK_STR(str_at(tj, "indication"), erows[i].ats == EV_V2_BEFORE ? "TOTAL_FAILED" : "TOTAL_PASSED",
                      "%s: the archive timestamp (%s)", erows[i].name, t_str(str_at(tj, "detail")));
        }
        CHECK(archives == (erows[i].ats != EV_NONE), "%s: %d archive timestamps", erows[i].name, archives);
        int warned = 0;
        const cJSON *w;
        cJSON_ArrayForEach(w, cJSON_GetObjectItemCaseSensitive(signer0(v), "warnings"))
        {
            warned |= t_str_eq(str_at(w, "code"), "WEAK_ALGORITHM_BEFORE_SUNSET");
        }
        CHECK(warned == erows[i].warned, "%s: WEAK_ALGORITHM_BEFORE_SUNSET", erows[i].name);
        const cJSON *rev0 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(signer0(v), "revocation"), 0);
        if (erows[i].sha1 != 2) {
            CHECK_STR(str_at(rev0, "status"), erows[i].warned || !erows[i].sha1 ? "good" : "unavailable",
                      "%s: the signer's revocation", erows[i].name);
            /* Refused at the POE for its algorithm, and said so (at the
             * validation time it is refused in every row: nothing is
             * relaxed there). */
            char *revs = cJSON_PrintUnformatted(rev0);
            CHECK((strstr(t_str(revs), "at the POE) signature: response signed with SHA1") != NULL) ==
                      (erows[i].sha1 && !erows[i].warned),
                  "%s: the answer refused for SHA-1 (%s)", erows[i].name, t_str(revs));
            free(revs);
        }
        cJSON_Delete(v);
        ks_ctx_unref(ctx);
        free(sig);
    }
}

/* ---------------- all or nothing under allocation failure ---------------- */

/* ltv_oom_run (ltvlib.h) over the signature a row makes, verified at t_at. */
static void oom_run(const char *name, const uint8_t *sig, size_t len, const char *must)
{
    ks_ctx *ctx = t_load_config(cfgdir, "ltv");
    ks_request req = {.signature = {.name = name, .data = sig, .len = len}, .at = t_at, .has_at = 1};
    ltv_oom_run(ctx, &req, name, must);
    ks_ctx_unref(ctx);
}

static void test_oom(const char *name)
{
    const struct row *r = NULL;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        if (strcmp(rows[i].name, name) == 0 && strcmp(rows[i].config, "ltv") == 0)
            r = &rows[i];
    CHECK(r != NULL, "row %s", name);
    if (r == NULL)
        return;
    time_t gen = row_gen(r);
    uint8_t *sig = NULL;
    size_t len = make_sig(r->signer, gen - 60, r->ts, gen, &sig);
    oom_run(name, sig, len, "\"REVOKED_AFTER_POE\"");
    free(sig);
}

/* The same for an ES-A: archive timestamps, then the signature timestamp
 * at the time they prove. */
static void test_oom_esa(void)
{
    uint8_t *sig = NULL;
    size_t len = make_esa(A_ONE, t_expired - 30 * 86400L, t_expired + 365 * 86400L, 0, &sig);
    oom_run("es-a", sig, len, "\"archive\"");
    free(sig);
}

/* And for an ES-A v3 (ats-hash-index-v3 and its coverage). */
static void test_oom_esa3(void)
{
    uint8_t *sig = NULL;
    size_t len = make_esa3(V3_GOOD, t_expired - 30 * 86400L, t_expired + 365 * 86400L, 0, &sig);
    oom_run("es-a v3", sig, len, "\"version\":3");
    free(sig);
}

/* The token `openssl ts -reply` made over doc.txt (mkpki.sh), directly. */
/* ts-doc.tst's TSTInfo with the version or the tsa name changed, signed
 * again as the TSA (ESS signingCertificateV2 naming tsa.pem, which the token
 * carries): RFC 3161 2.4.2, found by fuzz/fuzz_tsp_sign.c.  `tsa_name`: 0
 * as it was (the TSA's own subject), 1 another name, 2 tsa-ca's subject. */
/* ext: 0 none, 1 an unknown extension, 2 the same marked critical */
/* ks_tsp_verify with the TSA path validated at the validation time `at`
 * and no evidence from a signed object; the owned parts of *t freed (the
 * verdict fields stay). */
static void tsp_verify(ks_ctx *ctx, const uint8_t *der, size_t len, const ks_blob *data, time_t at, ks_tsp_result *t)
{
    ks_tsp_verify(ctx, der, len, data, 1, at, NULL, t);
    ks_tsp_result_clear(t);
}

static uint8_t *resign_token(const uint8_t *tok, size_t toklen, long version, int tsa_name, int ext, size_t *outlen)
{
    const unsigned char *p = tok;
    CMS_ContentInfo *in = d2i_CMS_ContentInfo(NULL, &p, (long)toklen), *out = NULL;
    ASN1_OCTET_STRING **pos = in ? CMS_get0_content(in) : NULL;
    TS_TST_INFO *tst = NULL;
    X509 *tsa = load_cert("tsa"), *ca = load_cert("tsa-ca");
    EVP_PKEY *key = load_key("tsa");
    GENERAL_NAME *g = NULL;
    ESS_SIGNING_CERT_V2 *ess = NULL;
    unsigned char *tder = NULL, *eder = NULL, *der = NULL;
    BIO *content = NULL;
    int tlen = 0, elen = 0, n = 0;
    *outlen = 0;
    if (pos != NULL && *pos != NULL) {
        p = ASN1_STRING_get0_data(*pos);
        tst = d2i_TS_TST_INFO(NULL, &p, ASN1_STRING_length(*pos));
    }
    if (tst == NULL || tsa == NULL || ca == NULL || key == NULL || TS_TST_INFO_set_version(tst, version) != 1)
        goto done;
    if (tsa_name != 0) {
        X509_NAME *nm = tsa_name == 2 ? X509_NAME_dup(X509_get_subject_name(ca)) : X509_NAME_new();
        if (nm == NULL || (g = GENERAL_NAME_new()) == NULL ||
            (tsa_name == 1 && X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC, (const unsigned char *)"Someone Else",
                                                         -1, -1, 0) != 1)) {
            X509_NAME_free(nm);
            goto done;
        }
        GENERAL_NAME_set0_value(g, GEN_DIRNAME, nm);
        if (TS_TST_INFO_set_tsa(tst, g) != 1)
            goto done;
    }
    if (ext != 0) {
        ASN1_OBJECT *oid = OBJ_txt2obj("1.3.6.1.4.1.99999.1", 1);
        ASN1_OCTET_STRING *val = ASN1_OCTET_STRING_new();
        X509_EXTENSION *x = NULL;
        int ok = oid != NULL && val != NULL && ASN1_OCTET_STRING_set(val, (const unsigned char *)"\x05\x00", 2) == 1 &&
                 (x = X509_EXTENSION_create_by_OBJ(NULL, oid, ext == 2, val)) != NULL && TS_TST_INFO_add_ext(tst, x, -1) == 1;
        X509_EXTENSION_free(x);
        ASN1_OCTET_STRING_free(val);
        ASN1_OBJECT_free(oid);
        if (!ok)
            goto done;
    }
    CMS_SignerInfo *si = NULL;
    if ((tlen = i2d_TS_TST_INFO(tst, &tder)) <= 0 || (content = BIO_new_mem_buf(tder, tlen)) == NULL ||
        (out = CMS_sign(NULL, NULL, NULL, NULL, CMS_PARTIAL | CMS_BINARY)) == NULL ||
        CMS_set1_eContentType(out, OBJ_nid2obj(NID_id_smime_ct_TSTInfo)) != 1 || CMS_add1_cert(out, tsa) != 1 ||
        (si = CMS_add1_signer(out, tsa, key, EVP_sha256(), CMS_PARTIAL | CMS_NOCERTS | CMS_NOSMIMECAP)) == NULL ||
        (ess = OSSL_ESS_signing_cert_v2_new_init(EVP_sha256(), tsa, NULL, 1)) == NULL ||
        (elen = i2d_ESS_SIGNING_CERT_V2(ess, &eder)) <= 0 ||
        CMS_signed_add1_attr_by_NID(si, NID_id_smime_aa_signingCertificateV2, V_ASN1_SEQUENCE, eder, elen) != 1 ||
        CMS_final(out, content, NULL, CMS_BINARY) != 1 || (n = i2d_CMS_ContentInfo(out, &der)) <= 0)
        goto done;
    *outlen = (size_t)n;
done:
    OPENSSL_free(eder);
    ESS_SIGNING_CERT_V2_free(ess);
    BIO_free(content);
    OPENSSL_free(tder);
    GENERAL_NAME_free(g);
    EVP_PKEY_free(key);
    X509_free(ca);
    X509_free(tsa);
    TS_TST_INFO_free(tst);
    CMS_ContentInfo_free(out);
    CMS_ContentInfo_free(in);
    ERR_clear_error();
    if (*outlen == 0) {
        OPENSSL_free(der);
        return NULL;
    }
    return der;
}

static void test_tsp_resigned(void)
{
    uint8_t *tok = NULL, *txt = NULL;
    size_t toklen = 0, txtlen = 0;
    CHECK(t_read(pki, "ts-doc.tst", &tok, &toklen) && t_read(pki, "doc.txt", &txt, &txtlen), "fixtures");
    static const struct {
        const char *name;
        long version;
        int tsa_name;
        int ext;
        ks_indication ind;
        ks_subindication sub;
    } cases[] = {
        /* the control: re-signed unchanged, it still proves existence */
        {"v1, tsa name the TSA's own", 1, 0, 0, KS_TOTAL_PASSED, KS_SUB_NONE},
        {"version 2", 2, 0, 0, KS_TOTAL_FAILED, KS_SUB_FORMAT_FAILURE},
        {"version 0", 0, 0, 0, KS_TOTAL_FAILED, KS_SUB_FORMAT_FAILURE},
        {"tsa name someone else", 1, 1, 0, KS_TOTAL_FAILED, KS_SUB_SIG_CONSTRAINTS_FAILURE},
        {"tsa name the TSA's CA", 1, 2, 0, KS_TOTAL_FAILED, KS_SUB_SIG_CONSTRAINTS_FAILURE},
        {"an unknown non-critical extension", 1, 0, 1, KS_TOTAL_PASSED, KS_SUB_NONE},
        {"an unknown critical extension", 1, 0, 2, KS_TOTAL_FAILED, KS_SUB_FORMAT_FAILURE},
    };
    ks_ctx *ctx = t_load_config(cfgdir, "ltv");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t len = 0;
        uint8_t *der = tok ? resign_token(tok, toklen, cases[i].version, cases[i].tsa_name, cases[i].ext, &len) : NULL;
        CHECK(der != NULL, "%s: re-signing", cases[i].name);
        if (der == NULL)
            continue;
        ks_blob data = {.data = txt, .len = txtlen};
        ks_tsp_result t;
        tsp_verify(ctx, der, len, &data, ks_ctx_now(ctx), &t);
        CHECK(t.indication == cases[i].ind && t.sub == cases[i].sub, "%s: %s/%s (%s)", cases[i].name,
              ks_indication_name(t.indication), t_str(ks_subindication_name(t.sub)), t.detail);
        OPENSSL_free(der);
    }
    ks_ctx_unref(ctx);
    free(tok);
    free(txt);
}

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
        tsp_verify(ctx, tok, toklen, &data, ks_ctx_now(ctx) + cases[i].at_offset, &t);
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
    tsp_verify(ctx, sig, siglen, &data, ks_ctx_now(ctx), &t);
    CHECK(t.indication == KS_TOTAL_FAILED && t.sub == KS_SUB_FORMAT_FAILURE, "a signature is no token: %s", t.detail);
    tsp_verify(ctx, tok, toklen - 1, &data, ks_ctx_now(ctx), &t);
    CHECK(t.indication == KS_TOTAL_FAILED && t.sub == KS_SUB_FORMAT_FAILURE, "truncated: %s", t.detail);
    uint8_t *longer = malloc(toklen + 1);
    CHECK(longer != NULL, "malloc");
    if (longer != NULL) {
        memcpy(longer, tok, toklen);
        longer[toklen] = 0;
        tsp_verify(ctx, longer, toklen + 1, &data, ks_ctx_now(ctx), &t);
        CHECK(t.indication == KS_TOTAL_FAILED && t.sub == KS_SUB_FORMAT_FAILURE, "trailing byte: %s", t.detail);
    }
    free(longer);
    ks_ctx_unref(ctx);
    free(sig);
    free(tok);
    free(txt);
    free(bad);
}

/* Writes `len` bytes (or a line of text when len is 0) to dir/name. */
static int emit_file(const char *dir, const char *name, const void *data, size_t len)
{
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    size_t n = len ? len : strlen(data);
    int ok = f != NULL && fwrite(data, 1, n, f) == n && (len != 0 || fputc('\n', f) != EOF);
    return f != NULL && fclose(f) == 0 && ok;
}

static int emit_time(const char *dir, const char *name, time_t t)
{
    char buf[32];
    ks_time_format(t, buf, sizeof buf);
    return emit_file(dir, name, buf, 0);
}

/* For tests/test_cli.sh and tests/conformance/ltv.py: the signatures of
 * the tables and their times (validation times, sunset dates). */
static int emit(const char *dir)
{
    char name[128];
    int ok = 1;
    for (size_t i = 0; ok && i < sizeof rows / sizeof rows[0]; i++) {
        uint8_t *sig = NULL;
        time_t gen = row_gen(&rows[i]);
        size_t len = make_sig(rows[i].signer, gen - 60, rows[i].ts, gen, &sig);
        snprintf(name, sizeof name, "ltv-%s.p7m", rows[i].name);
        ok = emit_file(dir, name, sig, len);
        free(sig);
    }
    ok = ok && emit_time(dir, "ltv-at.txt", t_at);
    /* ES-X-L, checked a month after its POE with every responder down; the
     * TSA's answer (current then) in the values, but for xl-no-tsa. */
    static const struct {
        const char *name;
        xl_kind kind;
        refs_kind refs;
        int tsa;
    } xl[] = {{"xl", XL_GOOD, R_NONE, 1},
              {"xl-none", XL_NONE, R_NONE, 0},
              {"xl-stale", XL_STALE, R_NONE, 1},
              {"xl-forged", XL_FORGED, R_NONE, 1},
              {"xl-refs", XL_GOOD, R_GOOD, 1},
              {"xl-refs-mismatch", XL_GOOD, R_MISMATCH, 1},
              {"xl-stale-refs", XL_STALE, R_GOOD, 1},
              {"xl-no-tsa", XL_GOOD, R_NONE, 0}};
    time_t xgen = t_crl + 1800;
    for (size_t i = 0; ok && i < sizeof xl / sizeof xl[0]; i++) {
        uint8_t *sig = NULL;
        xl_refs = xl[i].refs;
        xl_tsa_ocsp = xl[i].tsa ? xgen + 30 * 86400L - 60 : 0;
        size_t len = make_xl(xl[i].kind, xgen, &sig);
        xl_refs = R_NONE;
        xl_tsa_ocsp = 0;
        snprintf(name, sizeof name, "ltv-%s.p7m", xl[i].name);
        ok = emit_file(dir, name, sig, len);
        free(sig);
    }
    ok = ok && emit_time(dir, "ltv-at-xl.txt", xgen + 30 * 86400L);
    /* ES-A (test_esa's instants), checked at t_at. */
    time_t g1 = t_expired - 30 * 86400L, g2 = t_expired + 365 * 86400L;
    static const struct {
        const char *name;
        ats_kind kind;
        long last_from_now;
    } esa[] = {{"esa", A_ONE, 0}, {"esa-none", A_NONE, 0}, {"esa-imprint", A_IMPRINT, 0},
               {"esa-twice", A_TWO, 120 * 86400L}, {"esa-twice-late", A_TWO, 50 * 86400L},
               {"esa-v221", A_ONE_TAGGED, 0}};
    for (size_t i = 0; ok && i < sizeof esa / sizeof esa[0]; i++) {
        uint8_t *sig = NULL;
        time_t last = esa[i].last_from_now ? t_at - esa[i].last_from_now : g2;
        size_t len = esa[i].kind == A_TWO ? make_esa(A_TWO, g1, g2, last, &sig) : make_esa(esa[i].kind, g1, last, 0, &sig);
        snprintf(name, sizeof name, "ltv-%s.p7m", esa[i].name);
        ok = emit_file(dir, name, sig, len);
        free(sig);
    }
    /* ES-A v3 (test_esa3's rows), checked at t_at. */
    static const struct {
        const char *name;
        v3_kind kind;
        long g3_from_now;
    } esa3[] = {{"esa3", V3_GOOD, 0},
                {"esa3-index-tampered", V3_IDX_TAMPERED, 0},
                {"esa3-index-extra", V3_IDX_EXTRA, 0},
                {"esa3-index-missing", V3_IDX_MISSING, 0},
                {"esa3-index-malformed", V3_IDX_MALFORMED, 0},
                {"esa3-index-alg", V3_IDX_ALG, 0},
                {"esa3-imprint", V3_IMPRINT, 0},
                {"esa3-rogue", V3_ROGUE, 0},
                {"esa3-added-ts", V3_ADDED_TS, 0},
                {"esa3-added-values", V3_ADDED_VALUES, 0},
                {"esa3-twice", V3_TWO, 120 * 86400L},
                {"esa3-twice-late", V3_TWO, 50 * 86400L},
                {"esa3-after-v2", V3_AFTER_V2, 120 * 86400L},
                {"esa3-two-values", V3_TWO_VALUES, 0}};
    for (size_t i = 0; ok && i < sizeof esa3 / sizeof esa3[0]; i++) {
        uint8_t *sig = NULL;
        size_t len = make_esa3(esa3[i].kind, g1, g2, t_at - esa3[i].g3_from_now, &sig);
        snprintf(name, sizeof name, "ltv-%s.p7m", esa3[i].name);
        ok = emit_file(dir, name, sig, len);
        free(sig);
    }
    /* test_tsa_revocation's rows: tsa-revoked's token a day before
     * citizen-revoked's revocation, alone or under an archive timestamp by
     * tsa an hour before it, checked at t_at; a good TSA's token for the
     * configuration whose TSA responder is down. */
    static const struct {
        const char *name, *signer, *tsa1, *tsa2;
    } tr[] = {{"tsa-revoked", "citizen-revoked", "tsa-revoked", NULL},
              {"tsa-revoked-covered", "citizen-revoked", "tsa-revoked", "tsa"},
              {"tsa-good", "citizen-revoked", "tsa", NULL}};
    for (size_t i = 0; ok && i < sizeof tr / sizeof tr[0]; i++) {
        uint8_t *sig = NULL;
        size_t len = make_esa_by(tr[i].signer, tr[i].tsa1, t_revoked - 86400, tr[i].tsa2, t_revoked - 3600, &sig);
        snprintf(name, sizeof name, "ltv-%s.p7m", tr[i].name);
        ok = emit_file(dir, name, sig, len);
        free(sig);
    }
    /* For tests/test_www.sh: the same token under an archive timestamp made
     * a minute after tsa-revoked's revocation (TOTAL_FAILED/REVOKED). */
    if (ok) {
        uint8_t *sig = NULL;
        size_t len = make_esa_by("citizen-revoked", "tsa-revoked", t_revoked - 86400, "tsa", tsa_revoked_at() + 60, &sig);
        ok = emit_file(dir, "ltv-tsa-revoked-late-archive.p7m", sig, len);
        free(sig);
    }
    /* SHA-1 signatures timestamped at sgen; the sunset a day after or before. */
    time_t sgen = t_crl + 1800;
    static const struct {
        const char *name;
        ts_kind ts;
    } sha1[] = {{"sha1-ts", TS_GOOD}, {"sha1-nots", TS_NONE}};
    for (size_t i = 0; ok && i < sizeof sha1 / sizeof sha1[0]; i++) {
        uint8_t *sig = NULL;
        sign_md = "SHA1";
        size_t len = make_sig("citizen-rsa", sgen - 60, sha1[i].ts, sgen, &sig);
        sign_md = "SHA256";
        snprintf(name, sizeof name, "ltv-%s.p7m", sha1[i].name);
        ok = emit_file(dir, name, sig, len);
        free(sig);
    }
    ok = ok && emit_time(dir, "ltv-sunset-later.txt", sgen + 86400) &&
         emit_time(dir, "ltv-sunset-earlier.txt", sgen - 86400);
    /* test_evsunset's ES-X-L with SHA-1 evidence (gen = sgen = xgen, an
     * archive timestamp an hour later: between the two sunsets above),
     * checked at at-xl with every responder down. */
    static const struct {
        const char *name;
        int sha1;
        ev_kind ats;
    } ev[] = {{"ev-ocsp-v2", 1, EV_V2},
              {"ev-ocsp-v3", 1, EV_V3},
              {"ev-ocsp-added-after-v3", 1, EV_V3_BEFORE},
              {"ev-ocsp-ts-only", 1, EV_NONE},
              {"ev-crl-v2", 2, EV_V2}};
    for (size_t i = 0; ok && i < sizeof ev / sizeof ev[0]; i++) {
        uint8_t *sig = NULL;
        ev_ats = ev[i].ats;
        ev_g2 = xgen + 3600;
        xl_sha1_ocsp = ev[i].sha1 == 1;
        xl_sha1_crl = ev[i].sha1 == 2;
        xl_tsa_ocsp = xgen + 30 * 86400L - 60;
        xl_tsa_ocsp2 = ev[i].ats != EV_NONE ? ev_g2 - 60 : 0;
        xl_hook = ev_hook;
        size_t len = make_xl(XL_GOOD, xgen, &sig);
        xl_hook = NULL;
        xl_sha1_ocsp = xl_sha1_crl = 0;
        xl_tsa_ocsp = xl_tsa_ocsp2 = 0;
        snprintf(name, sizeof name, "ltv-%s.p7m", ev[i].name);
        ok = emit_file(dir, name, sig, len);
        free(sig);
    }
    return ok ? 0 : 2;
}

int main(int argc, char **argv)
{
    pki = t_env("PKI", "build/pki");
    instants();
    if (argc == 3 && strcmp(argv[1], "--emit") == 0)
        return emit(argv[2]);
    t_write_configs("cfg-ltv", configs, sizeof configs / sizeof configs[0], pki, cfgdir);
    test_tsp_direct();
    test_tsp_resigned();
    test_rows();
    test_embedded();
    test_xl();
    test_esa();
    test_tsa_revocation();
    test_esa3();
    test_sunset();
    test_evsunset();
    test_oom("revoked-two-ts");
    test_oom_esa();
    test_oom_esa3();
    return t_done("test_ltv");
}
