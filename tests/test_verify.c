/*
 * tests/test_verify.c - table-driven verification tests over the generated
 * JPKI-like test PKI (tests/pki/mkpki.sh; $PKI).  Each row names the fixture,
 * the configuration, the validation time relative to now, and the expected
 * indication and subindication.  The PKI's dates are relative to the time it
 * was generated, so nothing here rots.
 */
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <openssl/pem.h>

#include "internal.h"
#include "testlib.h"

static const char *pki;
static char cfgdir[PATH_MAX];

/* Configurations, by name; "@PKI@" is the PKI directory. */
static const t_config configs[] = {
    {"off", "{\"trust_anchors\": [\"@PKI@/anchors\"], \"intermediates\": [\"@PKI@/intermediates\"],"
            " \"revocation\": {\"mode\": \"off\"}, \"accept_policies\": [\"1.2.392.200149.8.5.1.1.20\"]}"},
    {"anypolicy", "{\"trust_anchors\": [\"@PKI@/anchors\"], \"intermediates\": [\"@PKI@/intermediates\"],"
                  " \"revocation\": {\"mode\": \"off\"}}"},
    {"require", "{\"trust_anchors\": [\"@PKI@/anchors\"], \"intermediates\": [\"@PKI@/intermediates\"]}"},
    {"softfail", "{\"trust_anchors\": [\"@PKI@/anchors\"], \"intermediates\": [\"@PKI@/intermediates\"],"
                 " \"revocation\": {\"mode\": \"soft-fail\"}}"},
    {"legacy", "{\"trust_anchors\": [\"@PKI@/anchors\"], \"intermediates\": [\"@PKI@/intermediates\"],"
               " \"revocation\": {\"mode\": \"off\"}, \"algorithms\": {\"min_rsa_bits\": 1024, \"allow_sha1\": true}}"},
    /* Only the rogue CA is trusted: a ministry CA embedded in a message must
     * not become an anchor. */
    {"rogue-anchor", "{\"trust_anchors\": [\"@PKI@/rogue-ca.pem\"], \"revocation\": {\"mode\": \"off\"}}"},
    /* An intermediate OpenSSL cannot policy-process safely is left out. */
    {"unsafe-intermediate", "{\"trust_anchors\": [\"@PKI@/anchors\"], \"intermediates\": [\"@PKI@/intermediates\","
                            " \"@PKI@/citizen-pcons.pem\"], \"revocation\": {\"mode\": \"off\"}}"},
    /* No intermediates configured: only what the message embeds. */
    {"no-intermediates", "{\"trust_anchors\": [\"@PKI@/anchors\"], \"revocation\": {\"mode\": \"off\"}}"},
    /* signer_ekus in place of the defaults: id-kp-OCSPSigning alone. */
    {"ocsp-eku", "{\"trust_anchors\": [\"@PKI@/anchors\"], \"intermediates\": [\"@PKI@/intermediates\"],"
                 " \"revocation\": {\"mode\": \"off\"}, \"signer_ekus\": [\"1.3.6.1.5.5.7.3.9\"]}"},
    /* No purpose at all: a certificate with extendedKeyUsage never signs. */
    {"no-eku", "{\"trust_anchors\": [\"@PKI@/anchors\"], \"intermediates\": [\"@PKI@/intermediates\"],"
               " \"revocation\": {\"mode\": \"off\"}, \"signer_ekus\": []}"},
};

static ks_ctx *load(const char *name)
{
    return t_load_config(cfgdir, name);
}

static int read_fixture(const char *file, uint8_t **buf, size_t *len)
{
    return t_read(pki, file, buf, len);
}

#define DAY (24 * 3600L)
#define YEAR (365 * DAY)

static const struct row {
    const char *sig;
    const char *content;
    const char *config;
    long at_offset; /* seconds from now */
    const char *indication;
    const char *sub;
    const char *signer_cn; /* the top-level signer's CN, when checked */
    int bound;             /* signers[0].signing_certificate_bound: 1 true, -1 false, 0 unchecked */
    ks_result err;         /* not KS_OK: no verdict, this result */
} rows[] = {
    {"sig-attached-rsa.p7m", NULL, "off", 0, "TOTAL_PASSED", NULL},
    {"sig-attached-rsa.pem", NULL, "off", 0, "TOTAL_PASSED", NULL},
    {"sig-attached-rsa.b64", NULL, "off", 0, "TOTAL_PASSED", NULL},
    {"sig-attached-ec.p7m", NULL, "off", 0, "TOTAL_PASSED", NULL},
    {"sig-attached-gen2.p7m", NULL, "off", 0, "TOTAL_PASSED", NULL},
    {"sig-attached-noname.p7m", NULL, "off", 0, "TOTAL_PASSED", NULL},
    {"sig-two-signers.p7m", NULL, "off", 0, "TOTAL_PASSED", NULL},
    {"sig-with-chain.p7m", NULL, "no-intermediates", 0, "TOTAL_PASSED", NULL},
    {"sig-detached-rsa.p7s", "doc.txt", "off", 0, "TOTAL_PASSED", NULL},
    {"sig-detached-rsa.p7s", NULL, "off", 0, "INDETERMINATE", "SIGNED_DATA_NOT_FOUND"},
    {"sig-detached-rsa.p7s", "doc-tampered.txt", "off", 0, "TOTAL_FAILED", "HASH_FAILURE"},
    {"sig-attached-tampered-content.p7m", NULL, "off", 0, "TOTAL_FAILED", "HASH_FAILURE"},
    {"sig-attached-tampered-sig.p7m", NULL, "off", 0, "TOTAL_FAILED", "SIG_CRYPTO_FAILURE"},
    {"sig-attached-expired.p7m", NULL, "off", 0, "TOTAL_FAILED", "EXPIRED"},
    {"sig-attached-notyet.p7m", NULL, "off", 0, "TOTAL_FAILED", "NOT_YET_VALID"},
    {"sig-attached-badku.p7m", NULL, "off", 0, "INDETERMINATE", "SIG_CONSTRAINTS_FAILURE"},
    {"sig-attached-otherpol.p7m", NULL, "off", 0, "INDETERMINATE", "POLICY_PROCESSING_ERROR"},
    {"sig-attached-otherpol.p7m", NULL, "anypolicy", 0, "TOTAL_PASSED", NULL},
    /* policyConstraints without certificatePolicies: refused unprocessed,
     * even where no policy is required (path.c ks_policy_cache_unsafe);
     * LeakSanitizer would see OpenSSL's leak if it were processed. */
    {"sig-attached-pcons.p7m", NULL, "anypolicy", 0, "INDETERMINATE", "POLICY_PROCESSING_ERROR"},
    {"sig-attached-pcons.p7m", NULL, "off", 0, "INDETERMINATE", "POLICY_PROCESSING_ERROR"},
    {"sig-attached-legacy.p7m", NULL, "off", 0, "INDETERMINATE", "CRYPTO_CONSTRAINTS_FAILURE"},
    {"sig-attached-legacy.p7m", NULL, "legacy", 0, "TOTAL_PASSED", NULL},
    {"sig-attached-rogue.p7m", NULL, "off", 0, "INDETERMINATE", "NO_CERTIFICATE_CHAIN_FOUND"},
    {"sig-with-chain.p7m", NULL, "rogue-anchor", 0, "INDETERMINATE", "NO_CERTIFICATE_CHAIN_FOUND"},
    {"sig-attached-rsa.p7m", NULL, "no-intermediates", 0, "INDETERMINATE", "NO_CERTIFICATE_CHAIN_FOUND"},
    /* The validation time is injected: before the citizen's notBefore
     * (now - 1 year) the certificate cannot have signed. */
    {"sig-attached-rsa.p7m", NULL, "off", -2 * YEAR, "TOTAL_FAILED", "NOT_YET_VALID"},
    /* After notAfter, but the claimed signing time is inside the validity:
     * no proof either way (ETSI EN 319 102-1 OUT_OF_BOUNDS_NO_POE). */
    {"sig-attached-rsa.p7m", NULL, "off", 10 * YEAR, "INDETERMINATE", "OUT_OF_BOUNDS_NO_POE"},
    /* Fail closed: no revocation source is configured at all. */
    {"sig-attached-rsa.p7m", NULL, "require", 0, "INDETERMINATE", "TRY_LATER"},
    {"sig-attached-rsa.p7m", NULL, "softfail", 0, "TOTAL_PASSED", NULL},

    /* Issue #18.4: the first part of a multipart/signed never replaces an
     * eContent that is there.  The inner signature alone is HASH_FAILURE;
     * wrapped around the original text it passed. */
    {"smime-detached.eml", NULL, "off", 0, "TOTAL_PASSED", NULL, "SYNTH0001"},
    {"sig-smime-attached.p7m", NULL, "off", 0, "TOTAL_PASSED", NULL, "SYNTH0001"},
    {"sig-smime-attached-tampered.p7m", NULL, "off", 0, "TOTAL_FAILED", "HASH_FAILURE"},
    {"smime-wrapped-tampered.eml", NULL, "off", 0, NULL, NULL, NULL, 0, KS_E_CONTENT_CONFLICT},
    {"smime-wrapped-attached.eml", NULL, "off", 0, NULL, NULL, NULL, 0, KS_E_CONTENT_CONFLICT},
    {"sig-smime-attached.p7m", "smime-doc.txt", "off", 0, NULL, NULL, NULL, 0, KS_E_CONTENT_CONFLICT},

    /* Issue #18.5: ESS signingCertificate(V2) binds the signer's certificate
     * (RFC 5035 5.4).  A second certificate for the same key, under another
     * name and address, is not the one signed for. */
    {"sig-cades.p7m", NULL, "off", 0, "TOTAL_PASSED", NULL, "SYNTH0001", 1},
    {"sig-attached-rsa.p7m", NULL, "off", 0, "TOTAL_PASSED", NULL, "SYNTH0001", -1},
    {"sig-ess-other-only.p7m", NULL, "off", 0, "TOTAL_FAILED", "SIG_CONSTRAINTS_FAILURE", NULL, -1},
    {"sig-ess-v1-other-only.p7m", NULL, "legacy", 0, "TOTAL_FAILED", "SIG_CONSTRAINTS_FAILURE", NULL, -1},
    /* Both embedded (the other one first): the bound one is used. */
    {"sig-ess-both.p7m", NULL, "off", 0, "TOTAL_PASSED", NULL, "SYNTH0001", 1},

    /* Issue #18.6: extendedKeyUsage must name a document-signing purpose
     * (signer_ekus); none at all (JPKI) stays unlimited. */
    {"sig-ocsp-signer.p7m", NULL, "anypolicy", 0, "TOTAL_FAILED", "CHAIN_CONSTRAINTS_FAILURE"},
    {"sig-eku-server.p7m", NULL, "off", 0, "TOTAL_FAILED", "CHAIN_CONSTRAINTS_FAILURE"},
    {"sig-eku-email.p7m", NULL, "off", 0, "TOTAL_PASSED", NULL, "SYNTH0102"},
    {"sig-eku-docsign.p7m", NULL, "off", 0, "TOTAL_PASSED", NULL, "SYNTH0103"},
    {"sig-eku-adobe.p7m", NULL, "off", 0, "TOTAL_PASSED", NULL, "SYNTH0104"},
    {"sig-ocsp-signer.p7m", NULL, "ocsp-eku", 0, "TOTAL_PASSED", NULL},
    {"sig-eku-email.p7m", NULL, "ocsp-eku", 0, "TOTAL_FAILED", "CHAIN_CONSTRAINTS_FAILURE"},
    {"sig-eku-email.p7m", NULL, "no-eku", 0, "TOTAL_FAILED", "CHAIN_CONSTRAINTS_FAILURE"},
    {"sig-attached-rsa.p7m", NULL, "no-eku", 0, "TOTAL_PASSED", NULL, "SYNTH0001"},

    /* Several signers: the top level describes the signer that decided the
     * indication (the first of the worst), never a passing one beside it. */
    {"sig-two-signers.p7m", NULL, "off", 0, "TOTAL_PASSED", NULL},
    {"sig-two-signers-expired.p7m", NULL, "off", 0, "TOTAL_FAILED", "EXPIRED", "SYNTH0004"},
    {"sig-two-signers-badku.p7m", NULL, "off", 0, "INDETERMINATE", "SIG_CONSTRAINTS_FAILURE", "SYNTH0006"},
    {"sig-three-signers.p7m", NULL, "off", 0, "TOTAL_FAILED", "EXPIRED", "SYNTH0004"},
};

static const char *sub_of(const cJSON *v)
{
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(v, "subindication"));
}

static void run_row(const struct row *r)
{
    uint8_t *sig = NULL, *content = NULL;
    size_t siglen = 0, clen = 0;
    cJSON *v = NULL;
    ks_ctx *ctx = load(r->config);
    char what[256];
    snprintf(what, sizeof what, "%s%s%s [%s, now%+ld s]", r->sig, r->content ? " + " : "",
             r->content ? r->content : "", r->config, r->at_offset);
    if (!read_fixture(r->sig, &sig, &siglen) || (r->content && !read_fixture(r->content, &content, &clen))) {
        CHECK(0, "%s: fixture missing", what);
        goto done;
    }
    ks_blob c = {.name = r->content, .data = content, .len = clen};
    ks_request req = {.signature = {.name = r->sig, .data = sig, .len = siglen},
                      .contents = &c,
                      .n_contents = r->content ? 1 : 0,
                      .at = time(NULL) + r->at_offset,
                      .has_at = 1};
    ks_result res = ks_verify_signature(ctx, &req, &v);
    if (r->err != KS_OK) {
        CHECK(res == r->err && v == NULL, "%s: got %s, want %s and no verdict", what, ks_result_name(res),
              ks_result_name(r->err));
        goto done;
    }
    CHECK(res == KS_OK, "%s: %s", what, ks_result_name(res));
    if (v == NULL)
        goto done;
    v = t_printed(v);
    const char *ind = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(v, "indication"));
    CHECK_STR(ind, r->indication, "%s (detail: %s)", what,
              cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(v, "detail")));
    CHECK_STR(sub_of(v), r->sub, "%s", what);
    /* Every verdict explains itself in both languages. */
    cJSON *reason = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(v, "reasons"), 0);
    CHECK(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(reason, "en")) != NULL &&
              cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(reason, "ja")) != NULL,
          "%s: reasons in en and ja", what);
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(v, "format")), "cms", "%s", what);
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(v, "api_version")), KS_API_VERSION, "%s", what);
    cJSON *signers = cJSON_GetObjectItemCaseSensitive(v, "signers");
    if (r->signer_cn != NULL) {
        char want[64];
        snprintf(want, sizeof want, "CN=%s,", r->signer_cn);
        const char *subj =
            cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(v, "signer"), "subject"));
        CHECK(subj != NULL && strncmp(subj, want, strlen(want)) == 0, "%s: top-level signer %s, want %s...", what,
              t_str(subj), want);
    }
    if (r->bound != 0) {
        cJSON *b = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(signers, 0), "signing_certificate_bound");
        CHECK(cJSON_IsBool(b) && cJSON_IsTrue(b) == (r->bound > 0), "%s: signing_certificate_bound, want %s", what,
              r->bound > 0 ? "true" : "false");
    }
    /* Each signer says its own indication; the top level's is the worst. */
    cJSON *s;
    cJSON_ArrayForEach(s, signers)
        CHECK(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(s, "indication")) != NULL,
              "%s: signers[].indication", what);
done:
    cJSON_Delete(v);
    free(sig);
    free(content);
    ks_ctx_unref(ctx);
}

/* The JPKI basic four items of the demo citizen, as mkpki.sh wrote them. */
static void test_jpki_fields(void)
{
    uint8_t *sig = NULL;
    size_t len = 0;
    cJSON *v = NULL;
    ks_ctx *ctx = load("off");
    CHECK(read_fixture("sig-attached-rsa.p7m", &sig, &len), "fixture");
    ks_request req = {.signature = {.data = sig, .len = len}};
    CHECK(ks_verify_signature(ctx, &req, &v) == KS_OK, "verify");
    v = t_printed(v);
    cJSON *signer = cJSON_GetObjectItemCaseSensitive(v, "signer");
    cJSON *jpki = cJSON_GetObjectItemCaseSensitive(signer, "jpki");
    CHECK(jpki != NULL, "signer has jpki");
#define FIELD(k) cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(jpki, k))
    CHECK_STR(FIELD("name"), "検証\u3000花子", "name");
    CHECK_STR(FIELD("address"), "長野県松本市丸の内３番７号", "address");
    CHECK_STR(FIELD("date_of_birth"), "1970-01-02", "date of birth");
    CHECK_STR(FIELD("date_of_birth_era"), "showa", "era");
    CHECK_STR(FIELD("sex"), "female", "sex");
    CHECK_STR(FIELD("name_substitutes"), "00000", "name substitutes");
#undef FIELD
    cJSON *chain = cJSON_GetObjectItemCaseSensitive(v, "chain");
    CHECK(cJSON_GetArraySize(chain) == 5, "bridge path has 5 certificates, got %d", cJSON_GetArraySize(chain));
    const char *src = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(chain, 4), "source"));
    CHECK_STR(src, "anchor", "last of chain");
    src = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(chain, 0), "source"));
    CHECK_STR(src, "signature", "signer came with the signature");
    CHECK(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(signer, "sha256")) != NULL, "fingerprint");
    CHECK(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(v, "signing_time")) != NULL, "signing time");
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(v, "digest_algorithm")), "sha256", "digest");
    cJSON_Delete(v);
    free(sig);

    /* A certificate without JPKI items has no "jpki". */
    v = NULL;
    CHECK(read_fixture("sig-attached-noname.p7m", &sig, &len), "fixture");
    ks_request req2 = {.signature = {.data = sig, .len = len}};
    CHECK(ks_verify_signature(ctx, &req2, &v) == KS_OK, "verify");
    CHECK(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(v, "signer"), "jpki") == NULL,
          "no jpki for a non-JPKI certificate");
    cJSON_Delete(v);
    free(sig);

    /* Two signers: both reported. */
    v = NULL;
    CHECK(read_fixture("sig-two-signers.p7m", &sig, &len), "fixture");
    ks_request req3 = {.signature = {.data = sig, .len = len}};
    CHECK(ks_verify_signature(ctx, &req3, &v) == KS_OK, "verify");
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(v, "signers")) == 2, "two signers");
    cJSON_Delete(v);
    free(sig);
    ks_ctx_unref(ctx);
}

static const struct cert_row {
    const char *cert;
    const char *config;
    const char *indication;
    const char *sub;
} cert_rows[] = {
    {"citizen-rsa.pem", "off", "TOTAL_PASSED", NULL},
    {"citizen-ec.pem", "off", "TOTAL_PASSED", NULL},
    {"citizen-gen2.pem", "off", "TOTAL_PASSED", NULL},
    {"citizen-expired.pem", "off", "TOTAL_FAILED", "EXPIRED"},
    {"citizen-notyet.pem", "off", "TOTAL_FAILED", "NOT_YET_VALID"},
    {"citizen-badku.pem", "off", "INDETERMINATE", "SIG_CONSTRAINTS_FAILURE"},
    {"citizen-legacy.pem", "off", "INDETERMINATE", "CRYPTO_CONSTRAINTS_FAILURE"},
    {"rogue-citizen.pem", "off", "INDETERMINATE", "NO_CERTIFICATE_CHAIN_FOUND"},
    {"citizen-rsa.pem", "require", "INDETERMINATE", "TRY_LATER"},
    /* Issue #18.6: the same EKU rule for a bare certificate. */
    {"ocsp-responder.pem", "anypolicy", "TOTAL_FAILED", "CHAIN_CONSTRAINTS_FAILURE"},
    {"citizen-eku-server.pem", "off", "TOTAL_FAILED", "CHAIN_CONSTRAINTS_FAILURE"},
    {"citizen-eku-email.pem", "off", "TOTAL_PASSED", NULL},
    {"ocsp-responder.pem", "ocsp-eku", "TOTAL_PASSED", NULL},
};

static void test_cert_rows(void)
{
    for (size_t i = 0; i < sizeof cert_rows / sizeof cert_rows[0]; i++) {
        const struct cert_row *r = &cert_rows[i];
        uint8_t *buf = NULL;
        size_t len = 0;
        cJSON *v = NULL;
        ks_ctx *ctx = load(r->config);
        CHECK(read_fixture(r->cert, &buf, &len), "%s", r->cert);
        ks_blob b = {.data = buf, .len = len};
        CHECK(ks_verify_certificate(ctx, &b, 0, 0, &v) == KS_OK, "%s", r->cert);
        CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(v, "indication")), r->indication, "%s [%s]",
                  r->cert, r->config);
        CHECK_STR(sub_of(v), r->sub, "%s [%s]", r->cert, r->config);
        cJSON_Delete(v);
        free(buf);
        ks_ctx_unref(ctx);
    }
}

/* Input that is not a signature at all: an error result, never a verdict. */
static void test_malformed(void)
{
    ks_ctx *ctx = load("off");
    uint8_t *good = NULL, *cert = NULL, *certs_only = NULL;
    size_t glen = 0, clen = 0, colen = 0;
    CHECK(read_fixture("sig-attached-rsa.p7m", &good, &glen), "fixture");
    CHECK(read_fixture("citizen-rsa.pem", &cert, &clen), "fixture");
    CHECK(read_fixture("certs-only.p7b", &certs_only, &colen), "fixture");
    uint8_t rnd[4096];
    for (size_t i = 0; i < sizeof rnd; i++)
        rnd[i] = (uint8_t)(i * 7919u + 13u) ^ (uint8_t)(i >> 3);
    rnd[0] = 0x7f;
    static const char pem_garbage[] = "-----BEGIN CMS-----\nMIIB!!!garbage***\n-----END CMS-----\n";
    static const char pem_trailing[] = "-----BEGIN CMS-----\nMAMCAQA=\n-----END CMS-----\nextra text\n";
    const struct {
        const char *what;
        const uint8_t *p;
        size_t len;
        ks_result want;
    } cases[] = {
        {"empty", (const uint8_t *)"", 0, KS_E_EMPTY},
        {"white space", (const uint8_t *)" \n\t ", 4, KS_E_EMPTY},
        {"truncated DER", good, glen / 2, KS_E_NOT_SIGNATURE},
        {"DER with a trailing byte", NULL, 0, KS_E_NOT_SIGNATURE},
        {"random bytes", rnd, sizeof rnd, KS_E_ENCODING},
        {"PEM with garbage", (const uint8_t *)pem_garbage, sizeof pem_garbage - 1, KS_E_ENCODING},
        /* text after the block is allowed (RFC 7468 2); the block is no CMS */
        {"PEM with trailing text", (const uint8_t *)pem_trailing, sizeof pem_trailing - 1, KS_E_NOT_SIGNATURE},
        {"a certificate, not a signature", cert, clen, KS_E_ENCODING},
        {"certificates-only CMS", certs_only, colen, KS_E_NO_SIGNERS},
        {"base64 of nothing useful", (const uint8_t *)"QUJDRA==", 8, KS_E_NOT_SIGNATURE},
    };
    uint8_t *trailing = malloc(glen + 1);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const uint8_t *p = cases[i].p;
        size_t len = cases[i].len;
        if (p == NULL && trailing != NULL) {
            memcpy(trailing, good, glen);
            trailing[glen] = 0;
            p = trailing;
            len = glen + 1;
        }
        cJSON *v = NULL;
        ks_request req = {.signature = {.data = p, .len = len}};
        ks_result r = ks_verify_signature(ctx, &req, &v);
        CHECK(r == cases[i].want, "%s: got %s, want %s", cases[i].what, ks_result_name(r),
              ks_result_name(cases[i].want));
        CHECK(v == NULL, "%s: no verdict", cases[i].what);
        CHECK(ks_result_exit_code(r) == 65, "%s: exit 65", cases[i].what);
        cJSON_Delete(v);
    }
    free(trailing);
    /* Over the size ceiling: refused before parsing.  The default ceiling
     * takes what the service's default body does (20 MiB): a 20 MB signed
     * PDF, as issue #19 expects, is not refused for its size. */
    CHECK(ks_ctx_max_input(ctx) == 20u * 1024 * 1024, "default max_input_bytes is 20 MiB (got %zu)",
          ks_ctx_max_input(ctx));
    size_t big = ks_ctx_max_input(ctx) + 1;
    uint8_t *huge = calloc(1, big);
    if (huge != NULL) {
        huge[0] = 0x30;
        cJSON *v = NULL;
        ks_request req = {.signature = {.data = huge, .len = big}};
        CHECK(ks_verify_signature(ctx, &req, &v) == KS_E_TOO_LARGE, "over max_input_bytes");
        free(huge);
    }
    /* Detached content for an attached signature is a contradiction. */
    ks_blob extra = {.name = "x", .data = (const uint8_t *)"x", .len = 1};
    ks_request req = {.signature = {.data = good, .len = glen}, .contents = &extra, .n_contents = 1};
    cJSON *v = NULL;
    CHECK(ks_verify_signature(ctx, &req, &v) == KS_E_CONTENT_CONFLICT, "attached + content");
    /* A signature where a certificate is expected. */
    ks_blob b = {.data = good, .len = glen};
    CHECK(ks_verify_certificate(ctx, &b, 0, 0, &v) == KS_E_NOT_CERTIFICATE, "signature as certificate");
    free(good);
    free(cert);
    free(certs_only);
    ks_ctx_unref(ctx);
}

/* Several signers: "signer", "chain" and "revocation" at the top level are
 * the deciding signer's (the first with the worst indication), never those of
 * a passing signer beside a failing indication. */
static void test_summary(void)
{
    static const struct {
        const char *sig, *config;
        int decider; /* index in signers[] */
    } cases[] = {
        {"sig-two-signers-expired.p7m", "softfail", 1},
        {"sig-two-signers-badku.p7m", "softfail", 1},
        {"sig-three-signers.p7m", "softfail", 1},
        {"sig-two-signers.p7m", "softfail", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t *sig = NULL;
        size_t len = 0;
        cJSON *v = NULL;
        ks_ctx *ctx = load(cases[i].config);
        CHECK(read_fixture(cases[i].sig, &sig, &len), "%s", cases[i].sig);
        ks_request req = {.signature = {.data = sig, .len = len}};
        CHECK(ks_verify_signature(ctx, &req, &v) == KS_OK, "%s", cases[i].sig);
        v = t_printed(v);
        cJSON *signers = cJSON_GetObjectItemCaseSensitive(v, "signers");
        cJSON *d = cJSON_GetArrayItem(signers, cases[i].decider);
        /* The fixture is meaningful: the first signer passes. */
        CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(signers, 0), "indication")),
                  "TOTAL_PASSED", "%s: signers[0] passes", cases[i].sig);
        CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(d, "indication")),
                  cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(v, "indication")), "%s: decider's indication",
                  cases[i].sig);
        static const char *const keys[] = {"signer", "chain", "revocation", "signing_time", NULL};
        for (const char *const *k = keys; *k; k++) {
            char *a = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(v, *k));
            char *b = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(d, *k));
            CHECK(a != NULL && b != NULL && strcmp(a, b) == 0, "%s: top-level %s is signers[%d]'s", cases[i].sig, *k,
                  cases[i].decider);
            free(a);
            free(b);
        }
        cJSON_Delete(v);
        free(sig);
        ks_ctx_unref(ctx);
    }
}

/* sig-ess-both.p7m is meaningful only if the certificate that is not bound
 * comes first among the embedded ones (CMS_set1_signers_certs takes the
 * first match). */
static void test_ess_fixture_order(void)
{
    uint8_t *sig = NULL;
    size_t len = 0;
    CHECK(read_fixture("sig-ess-both.p7m", &sig, &len), "fixture");
    CMS_ContentInfo *cms = ks_der_to_cms(sig, len);
    STACK_OF(X509) *certs = cms ? CMS_get1_certs(cms) : NULL;
    char *first = sk_X509_num(certs) == 2 ? ks_name_string(X509_get_subject_name(sk_X509_value(certs, 0))) : NULL;
    CHECK(first != NULL && strncmp(first, "CN=SYNTH0101,", 13) == 0, "sig-ess-both.p7m: other certificate first, got %s",
          t_str(first));
    free(first);
    sk_X509_pop_free(certs, X509_free);
    CMS_ContentInfo_free(cms);
    free(sig);
}

/* Issue #18.7: the contentType signed attribute against the eContentType
 * (RFC 5652 11.1), and signed attributes required for content that is not
 * id-data (5.3).  The messages are built here: signed as one type, then
 * relabelled; the signature and the message digest stay valid, since
 * neither covers the eContentType itself. */
static CMS_ContentInfo *t_sign_typed(X509 *cert, EVP_PKEY *key, const char *signed_type, const char *final_type,
                                     int noattr)
{
    static const char doc[] = "SYNTHETIC TEST FILING -- content type test\n";
    unsigned int flags = CMS_BINARY | CMS_PARTIAL | (noattr ? CMS_NOATTR : 0);
    BIO *in = BIO_new_mem_buf(doc, (int)sizeof doc - 1);
    CMS_ContentInfo *cms = CMS_sign(cert, key, NULL, NULL, flags);
    ASN1_OBJECT *t1 = OBJ_txt2obj(signed_type, 1), *t2 = OBJ_txt2obj(final_type, 1);
    if (in == NULL || cms == NULL || t1 == NULL || t2 == NULL || CMS_set1_eContentType(cms, t1) != 1 ||
        CMS_final(cms, in, NULL, CMS_BINARY) != 1 || CMS_set1_eContentType(cms, t2) != 1) {
        CMS_ContentInfo_free(cms);
        cms = NULL;
    }
    ASN1_OBJECT_free(t1);
    ASN1_OBJECT_free(t2);
    BIO_free(in);
    return cms;
}

static void test_content_type(void)
{
    static const char *const DATA = "1.2.840.113549.1.7.1", *const OTHER = "1.3.6.1.4.1.99999.18.7";
    static const struct {
        const char *what, *signed_type, *final_type;
        int noattr;
        const char *indication, *sub;
    } cases[] = {
        {"id-data", DATA, DATA, 0, "TOTAL_PASSED", NULL},
        {"another type, attribute agrees", OTHER, OTHER, 0, "TOTAL_PASSED", NULL},
        {"signed as id-data, relabelled", DATA, OTHER, 0, "TOTAL_FAILED", "FORMAT_FAILURE"},
        {"signed as another type, relabelled id-data", OTHER, DATA, 0, "TOTAL_FAILED", "FORMAT_FAILURE"},
        {"no signed attributes, id-data", DATA, DATA, 1, "TOTAL_PASSED", NULL},
        {"no signed attributes, another type", OTHER, OTHER, 1, "TOTAL_FAILED", "FORMAT_FAILURE"},
    };
    uint8_t *cbuf = NULL, *kbuf = NULL;
    size_t clen = 0, klen = 0;
    ks_ctx *ctx = load("off");
    CHECK(read_fixture("citizen-rsa.pem", &cbuf, &clen) && read_fixture("citizen-rsa.key", &kbuf, &klen), "fixture");
    BIO *cb = BIO_new_mem_buf(cbuf, (int)clen), *kb = BIO_new_mem_buf(kbuf, (int)klen);
    X509 *cert = cb ? PEM_read_bio_X509(cb, NULL, NULL, NULL) : NULL;
    EVP_PKEY *key = kb ? PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL) : NULL;
    CHECK(cert != NULL && key != NULL, "citizen-rsa certificate and key");
    for (size_t i = 0; cert != NULL && key != NULL && i < sizeof cases / sizeof cases[0]; i++) {
        CMS_ContentInfo *cms = t_sign_typed(cert, key, cases[i].signed_type, cases[i].final_type, cases[i].noattr);
        unsigned char *der = NULL;
        int dlen = cms ? i2d_CMS_ContentInfo(cms, &der) : -1;
        CHECK(dlen > 0, "%s: built", cases[i].what);
        cJSON *v = NULL;
        ks_request req = {.signature = {.data = der, .len = dlen > 0 ? (size_t)dlen : 0}};
        CHECK(dlen > 0 && ks_verify_signature(ctx, &req, &v) == KS_OK, "%s: verdict", cases[i].what);
        CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(v, "indication")), cases[i].indication,
                  "%s (detail: %s)", cases[i].what, t_str(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(v, "detail"))));
        CHECK_STR(sub_of(v), cases[i].sub, "%s", cases[i].what);
        cJSON_Delete(v);
        OPENSSL_free(der);
        CMS_ContentInfo_free(cms);
    }
    X509_free(cert);
    EVP_PKEY_free(key);
    BIO_free(cb);
    BIO_free(kb);
    free(cbuf);
    free(kbuf);
    ks_ctx_unref(ctx);
}

/* signer_ekus: OIDs only, an array; the policy in force lists them. */
static void test_signer_ekus_config(void)
{
    static const struct {
        const char *json;
        int ok;
    } cases[] = {
        {"{\"trust_anchors\": [\"@PKI@/anchors\"], \"signer_ekus\": [\"emailProtection\"]}", 0},
        {"{\"trust_anchors\": [\"@PKI@/anchors\"], \"signer_ekus\": \"1.3.6.1.5.5.7.3.4\"}", 0},
        {"{\"trust_anchors\": [\"@PKI@/anchors\"], \"signer_ekus\": [\"1.3.6.1.5.5.7.3.4\", 7]}", 0},
        {"{\"trust_anchors\": [\"@PKI@/anchors\"], \"signer_ekus\": [\"1.3.6.1.5.5.7.3.4\"]}", 1},
    };
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/eku-case.json", cfgdir);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ks_ctx *ctx = NULL;
        char *err = NULL;
        CHECK(t_write_template(path, cases[i].json, pki), "write %s", path);
        ks_result r = ks_ctx_load(path, &ctx, &err);
        CHECK((r == KS_OK) == cases[i].ok, "signer_ekus case %zu: %s", i, t_str(err));
        if (!cases[i].ok)
            CHECK(err != NULL && strstr(err, "signer_ekus") != NULL, "error names the key: %s", t_str(err));
        free(err);
        ks_ctx_unref(ctx);
    }
    ks_ctx *ctx = load("off");
    CHECK(strstr(ks_ctx_policy(ctx), "\"signer_ekus\":[\"2.5.29.37.0\",\"1.3.6.1.5.5.7.3.4\",\"1.3.6.1.5.5.7.3.36\","
                                     "\"1.3.6.1.4.1.311.10.3.12\",\"1.2.840.113583.1.1.5\"]") != NULL,
          "default signer_ekus in the policy: %s", ks_ctx_policy(ctx));
    ks_ctx_unref(ctx);
}

/* config.c ks_cfg_drop_policy_unsafe: the same intermediates as "off". */
static void test_unsafe_intermediate(void)
{
    ks_ctx *a = load("off"), *b = load("unsafe-intermediate");
    CHECK(a != NULL && b != NULL, "configurations load");
    if (a != NULL && b != NULL)
        CHECK(sk_X509_num(b->intermediates) == sk_X509_num(a->intermediates),
              "policy-unsafe intermediate left out: %d intermediates, want %d", sk_X509_num(b->intermediates),
              sk_X509_num(a->intermediates));
    ks_ctx_unref(a);
    ks_ctx_unref(b);
}

/* Issue #24.3: the reason OpenSSL gave up reaches the log at debug (drained,
 * not cleared), with the function that failed and OpenSSL's own words, and
 * nothing personal; at info the same verification logs nothing of it. */
static const struct reason_row {
    const char *sig;
    ks_log_level level;
    const char *want; /* in the log; NULL: no OpenSSL line at all */
} reason_rows[] = {
    {"sig-attached-tampered-sig.p7m", KS_LOG_DEBUG, "ks_check_signer_crypto: openssl: error:"},
    {"sig-attached-tampered-sig.p7m", KS_LOG_INFO, NULL},
    {"sig-attached-rsa.p7m", KS_LOG_DEBUG, NULL}, /* nothing failed, nothing to say */
};

static void test_openssl_reasons(void)
{
    ks_ctx *ctx = load("off");
    for (size_t i = 0; i < sizeof reason_rows / sizeof reason_rows[0]; i++) {
        const struct reason_row *r = &reason_rows[i];
        uint8_t *sig = NULL;
        size_t len = 0;
        cJSON *v = NULL;
        char path[PATH_MAX + 32], log[65536];
        snprintf(path, sizeof path, "%s/openssl-reasons.log", cfgdir);
        CHECK(read_fixture(r->sig, &sig, &len), "fixture %s", r->sig);
        fflush(stderr);
        int saved = dup(STDERR_FILENO), fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (saved < 0 || fd < 0 || dup2(fd, STDERR_FILENO) < 0)
            exit(2);
        close(fd);
        ks_log_setup(KS_LOG_TEXT, r->level);
        ks_request req = {.signature = {.data = sig, .len = len}};
        ks_result res = ks_verify_signature(ctx, &req, &v);
        ks_log_setup(KS_LOG_TEXT, KS_LOG_INFO);
        fflush(stderr);
        dup2(saved, STDERR_FILENO);
        close(saved);
        FILE *f = fopen(path, "r");
        size_t n = f ? fread(log, 1, sizeof log - 1, f) : 0;
        log[n] = '\0';
        if (f)
            fclose(f);
        CHECK(res == KS_OK, "%s: %s", r->sig, ks_result_name(res));
        if (r->want != NULL)
            CHECK(strstr(log, r->want) != NULL, "%s at level %d: no \"%s\" in the log: %.300s", r->sig, r->level,
                  r->want, log);
        else
            CHECK(strstr(log, "openssl:") == NULL, "%s at level %d: OpenSSL lines: %.300s", r->sig, r->level, log);
        CHECK(strstr(log, "検証") == NULL && strstr(log, "長野県松本市") == NULL && strstr(log, "SYNTH") == NULL,
              "%s: personal data in the log", r->sig);
        cJSON_Delete(v);
        free(sig);
    }
    ks_ctx_unref(ctx);
}

int main(void)
{
    pki = t_env("PKI", "build/pki");
    if (access(pki, R_OK) != 0) {
        fprintf(stderr, "no test PKI at %s (make pki)\n", pki);
        return 2;
    }
    t_write_configs("cfg", configs, sizeof configs / sizeof configs[0], pki, cfgdir);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        run_row(&rows[i]);
    test_jpki_fields();
    test_cert_rows();
    test_malformed();
    test_unsafe_intermediate();
    test_summary();
    test_ess_fixture_order();
    test_content_type();
    test_signer_ekus_config();
    test_openssl_reasons();
    return t_done("test_verify");
}
