/*
 * tests/test_ocsp_vectors.c - the OCSP vectors in ../shared/ocsp (Chromium's
 * ocsp unittest data and OpenSSL's test responses), through the same
 * response checker the gateway uses (ks_ocsp_verify_response).
 *
 * Agreement is reported per suite.  Rows where kensho deliberately answers
 * differently are listed in `known` with the reason; the test fails on any
 * other disagreement and on a known one that starts agreeing.
 */
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>

#include "internal.h"
#include "testlib.h"

static const char *shared;
static char cfgpath[512];

/* Deliberate disagreements: file or id, and why. */
static const struct {
    const char *id;
    const char *why;
} known[] = {
    {"has_critical_ct_extension.pem",
     "a critical SingleResponse extension kensho does not implement (CT SCT list) is refused (RFC 6960 4.4): "
     "Chromium tolerates this one extension"},
    {"good_response_invalid_serial.pem", "the certificate's serial number is not valid DER (RFC 5280 4.1.2.2): "
                                         "OpenSSL's parser refuses the certificate; Chromium's tolerates it"},
    {"VALID_D3", "delegated responder without id-pkix-ocsp-nocheck: see ocsp_sign_indirect.pem"},
    {"ISIC_D3", "delegated responder without id-pkix-ocsp-nocheck: see ocsp_sign_indirect.pem"},
    {"ocsp_sign_indirect.pem", "a delegated responder without id-pkix-ocsp-nocheck and no CRL to vouch for it: "
                               "kensho's local policy (RFC 6960 4.2.2.2.1) refuses; Chromium does not check"},
};

static int is_known(const char *id)
{
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strcmp(known[i].id, id) == 0)
            return 1;
    return 0;
}

static ks_ctx *make_ctx(long max_age)
{
    char text[1024];
    snprintf(text, sizeof text,
             "{\"trust_anchors\": [\"%s/anchors\"], \"revocation\": {\"clock_skew_s\": 0, \"ocsp_max_age_s\": %ld},"
             " \"algorithms\": {\"min_rsa_bits\": 1024, \"allow_sha1\": true}}",
             t_env("PKI", "build/pki"), max_age);
    return t_ctx_from_text(cfgpath, text);
}

static void record(const char *suite, const char *id, int agree, int *ok, int *bad, const char *detail)
{
    int k = is_known(id);
    if (agree)
        (*ok)++;
    else
        (*bad)++;
    CHECK(agree != k, "%s %s: %s%s", suite, id, agree ? "known disagreement now agrees" : "disagrees: ", detail);
}

/* Opens <shared>/ocsp/<suite>/tests.tsv past its header line; dir gets the
 * suite's directory.  NULL (a failed check) when it is missing. */
static FILE *open_suite(const char *suite, char *dir, size_t dirlen)
{
    char path[1024], line[1024];
    snprintf(dir, dirlen, "%s/ocsp/%s", shared, suite);
    snprintf(path, sizeof path, "%s/tests.tsv", dir);
    FILE *tsv = fopen(path, "r");
    CHECK(tsv != NULL, "%s", path);
    if (tsv != NULL && fgets(line, sizeof line, tsv) == NULL) {
        CHECK(0, "%s: no header", path);
        fclose(tsv);
        tsv = NULL;
    }
    return tsv;
}

/* Chromium: one PEM file per row with the response, the issuer ("CA
 * CERTIFICATE") and the certificate in question. */
static void chromium(void)
{
    char dir[512], path[1024], line[1024];
    FILE *tsv = open_suite("chromium-ocsp-unittest", dir, sizeof dir);
    if (tsv == NULL)
        return;
    int agree = 0, disagree = 0;
    ks_ctx *ctx = make_ctx(604800);
    while (ctx != NULL && fgets(line, sizeof line, tsv) != NULL) {
        char file[256], want[32], resp_status[64];
        long long when = 0;
        long max_age = 0;
        if (sscanf(line, "%255s %lld %ld %31s %63s", file, &when, &max_age, want, resp_status) != 5)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, file);
        uint8_t *buf = NULL, *resp = NULL;
        size_t len = 0, rlen = 0;
        X509 *issuer = NULL, *cert = NULL;
        if (ks_read_file(path, 1 << 20, &buf, &len) != KS_OK) {
            record("chromium", file, 0, &agree, &disagree, "unreadable");
            continue;
        }
        BIO *b = BIO_new_mem_buf(buf, (int)len);
        char *name = NULL, *hdr = NULL;
        unsigned char *data = NULL;
        long dlen = 0;
        while (PEM_read_bio(b, &name, &hdr, &data, &dlen) == 1) {
            const unsigned char *q = data;
            if (strcmp(name, "OCSP RESPONSE") == 0 && resp == NULL) {
                resp = malloc((size_t)dlen);
                memcpy(resp, data, (size_t)dlen);
                rlen = (size_t)dlen;
            } else if (strcmp(name, "CA CERTIFICATE") == 0 && issuer == NULL) {
                issuer = d2i_X509(NULL, &q, dlen);
            } else if (strcmp(name, "CERTIFICATE") == 0 && cert == NULL) {
                cert = d2i_X509(NULL, &q, dlen);
            }
            OPENSSL_free(name);
            OPENSSL_free(hdr);
            OPENSSL_free(data);
        }
        ERR_clear_error();
        BIO_free(b);
        int status = -1;
        char err[256] = "";
        if (resp != NULL && issuer != NULL && cert != NULL)
            ks_ocsp_verify_response(ctx, resp, rlen, cert, issuer, (time_t)when, &status, err, sizeof err);
        const char *got = status == V_OCSP_CERTSTATUS_GOOD ? "GOOD" : status == V_OCSP_CERTSTATUS_REVOKED ? "REVOKED"
                                                                                                           : "UNKNOWN";
        char detail[400];
        snprintf(detail, sizeof detail, "want %s (%s), got %s %s", want, resp_status, got, err);
        record("chromium", file, strcmp(got, want) == 0, &agree, &disagree, detail);
        X509_free(issuer);
        X509_free(cert);
        free(resp);
        free(buf);
    }
    fclose(tsv);
    ks_ctx_unref(ctx);
    fprintf(stderr, "chromium-ocsp-unittest: %d agree, %d disagree\n", agree, disagree);
}

/* OpenSSL: a base64 response and the issuer; the certificate itself is not
 * given, so the question is whether the response is a valid answer from
 * that issuer about the serial it names. */
static void openssl_vectors(void)
{
    char dir[512], path[1024], line[1024];
    FILE *tsv = open_suite("openssl-ocsp-tests", dir, sizeof dir);
    if (tsv == NULL)
        return;
    int agree = 0, disagree = 0;
    ks_ctx *ctx = make_ctx(0);
    while (ctx != NULL && fgets(line, sizeof line, tsv) != NULL) {
        char id[64], respfile[128], issuerfile[128], want[16];
        long long when = 0;
        int nochecks = 0;
        /* id, name (with spaces), file, issuer, attime, no_cert_checks, expected */
        char *f[7];
        int nf = 0;
        for (char *p = strtok(line, "\t\n"); p && nf < 7; p = strtok(NULL, "\t\n"))
            f[nf++] = p;
        if (nf != 7)
            continue;
        snprintf(id, sizeof id, "%s", f[0]);
        snprintf(respfile, sizeof respfile, "%s", f[2]);
        snprintf(issuerfile, sizeof issuerfile, "%s", f[3]);
        when = atoll(f[4]);
        nochecks = atoi(f[5]);
        snprintf(want, sizeof want, "%s", f[6]);
        (void)nochecks;
        uint8_t *b64 = NULL, *der = NULL;
        size_t blen = 0;
        int ok = 0;
        char err[256] = "";
        STACK_OF(X509) *iss = sk_X509_new_null();
        snprintf(path, sizeof path, "%s/%s", dir, respfile);
        if (ks_read_file(path, 1 << 20, &b64, &blen) == KS_OK && blen < (1 << 20)) {
            size_t w = 0; /* EVP_DecodeBlock takes no line breaks */
            for (size_t i = 0; i < blen; i++)
                if (b64[i] > ' ')
                    b64[w++] = b64[i];
            blen = w;
            der = malloc(blen + 1);
            int n = EVP_DecodeBlock(der, b64, (int)blen);
            while (n > 0 && blen > 0 && b64[blen - 1] == '=') /* DecodeBlock counts padding */
                n--, blen--;
            char ipath[1024];
            snprintf(ipath, sizeof ipath, "%s/%s", dir, issuerfile);
            const unsigned char *q = der;
            OCSP_RESPONSE *r = n > 0 ? d2i_OCSP_RESPONSE(NULL, &q, n) : NULL;
            OCSP_BASICRESP *bs = r ? OCSP_response_get1_basic(r) : NULL;
            ASN1_INTEGER *serial = NULL;
            if (bs != NULL && OCSP_resp_count(bs) > 0) {
                OCSP_SINGLERESP *single = OCSP_resp_get0(bs, 0);
                OCSP_id_get0_info(NULL, NULL, NULL, &serial, (OCSP_CERTID *)OCSP_SINGLERESP_get0_id(single));
            }
            /* OpenSSL's recipe checks signatures and responder authority, not
             * freshness (the responses expired in 2012): evaluate them when
             * they were produced, so freshness is not what decides. */
            time_t at = (time_t)when;
            if (bs != NULL)
                ks_asn1_time_to_time_t(OCSP_resp_get0_produced_at(bs), &at);
            X509 *dummy = X509_new();
            /* A stand-in for the certificate: the serial the response names,
             * issued by the row's issuer (OCSP_cert_to_id reads both). */
            if (ks_load_certs_file(ipath, iss) == KS_OK && sk_X509_num(iss) > 0 && serial != NULL && dummy != NULL &&
                X509_set_serialNumber(dummy, serial) == 1 &&
                X509_set_issuer_name(dummy, X509_get_subject_name(sk_X509_value(iss, 0))) == 1) {
                int status = -1;
                ok = ks_ocsp_verify_response(ctx, der, (size_t)(q - der), dummy, sk_X509_value(iss, 0), at,
                                             &status, err, sizeof err) == KS_OK;
            }
            X509_free(dummy);
            OCSP_BASICRESP_free(bs);
            OCSP_RESPONSE_free(r);
            ERR_clear_error();
        }
        char detail[400];
        snprintf(detail, sizeof detail, "want %s, got %s %s", want, ok ? "valid" : "invalid", err);
        record("openssl", id, (strcmp(want, "valid") == 0) == ok, &agree, &disagree, detail);
        sk_X509_pop_free(iss, X509_free);
        free(b64);
        free(der);
    }
    fclose(tsv);
    ks_ctx_unref(ctx);
    fprintf(stderr, "openssl-ocsp-tests: %d agree, %d disagree\n", agree, disagree);
}

int main(void)
{
    shared = t_env("SHARED", "../shared");
    snprintf(cfgpath, sizeof cfgpath, "%s/tests/cfg-ocsp-vectors.json", t_env("OUT", "build/rel"));
    char probe[600];
    snprintf(probe, sizeof probe, "%s/ocsp", shared);
    if (access(probe, R_OK) != 0) {
        fprintf(stderr, "no shared vectors at %s\n", probe);
        return 2;
    }
    chromium();
    openssl_vectors();
    return t_done("test_ocsp_vectors");
}
