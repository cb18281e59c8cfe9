/*
 * tests/test_digest.c - hash-only submission of a detached CMS signature
 * (verify/digest.c, issue #23.3): the caller sends the content's digest,
 * not the content.  Rows name the signature, the digest sent and the
 * expected indication/subindication or error.  The hostile rows: a digest
 * that matches over a signature value that does not (the signature over the
 * signed attributes is still checked), a signer without signed attributes
 * (its signature is over the content itself: the digest proves nothing),
 * a digest of another algorithm than the signer's, a digest beside content.
 * Signatures the PKI does not ship are made here with OpenSSL.
 */
#include <unistd.h>

#include <openssl/cms.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "internal.h"
#include "testlib.h"

static const char *pki;
static char cfgdir[PATH_MAX];

static const t_config configs[] = {
    {"off", "{\"trust_anchors\": [\"@PKI@/anchors\"], \"intermediates\": [\"@PKI@/intermediates\"],"
            " \"revocation\": {\"mode\": \"off\"}, \"accept_policies\": [\"1.2.392.200149.8.5.1.1.20\"]}"},
};

/* Fixtures made here: the PKI's detached signature with its signature value
 * altered, and one by the same signer without signed attributes. */
static uint8_t *tampered, *noattr;
static size_t tampered_len, noattr_len;

static int make_fixtures(void)
{
    int ok = 0;
    uint8_t *sig = NULL, *doc = NULL, *p = NULL;
    size_t siglen = 0, doclen = 0;
    CMS_ContentInfo *cms = NULL, *cms2 = NULL;
    BIO *in = NULL, *kb = NULL, *cb = NULL;
    X509 *cert = NULL;
    EVP_PKEY *key = NULL;
    char path[1024];
    if (!t_read(pki, "sig-detached-rsa.p7s", &sig, &siglen) || !t_read(pki, "doc.txt", &doc, &doclen))
        goto done;
    const unsigned char *q = sig;
    if ((cms = d2i_CMS_ContentInfo(NULL, &q, (long)siglen)) == NULL)
        goto done;
    CMS_SignerInfo *si = sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(cms), 0);
    ASN1_OCTET_STRING *sv = CMS_SignerInfo_get0_signature(si);
    unsigned char *bytes = (unsigned char *)ASN1_STRING_get0_data(sv); /* altered in place: its last byte */
    bytes[ASN1_STRING_length(sv) - 1] ^= 0x01;
    int n = i2d_CMS_ContentInfo(cms, &p);
    if (n <= 0)
        goto done;
    tampered = p;
    tampered_len = (size_t)n;
    p = NULL;
    snprintf(path, sizeof path, "%s/citizen-rsa.pem", pki);
    if ((cb = BIO_new_file(path, "r")) == NULL || (cert = PEM_read_bio_X509(cb, NULL, NULL, NULL)) == NULL)
        goto done;
    snprintf(path, sizeof path, "%s/citizen-rsa.key", pki);
    if ((kb = BIO_new_file(path, "r")) == NULL || (key = PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL)) == NULL)
        goto done;
    if ((in = BIO_new_mem_buf(doc, (int)doclen)) == NULL ||
        (cms2 = CMS_sign(cert, key, NULL, in, CMS_DETACHED | CMS_BINARY | CMS_NOATTR)) == NULL)
        goto done;
    if ((n = i2d_CMS_ContentInfo(cms2, &p)) <= 0)
        goto done;
    noattr = p;
    noattr_len = (size_t)n;
    ok = 1;
done:
    free(sig);
    free(doc);
    CMS_ContentInfo_free(cms);
    CMS_ContentInfo_free(cms2);
    BIO_free(in);
    BIO_free(kb);
    BIO_free(cb);
    X509_free(cert);
    EVP_PKEY_free(key);
    return ok;
}

static const struct row {
    const char *what;
    const char *sig;     /* a PKI file, or "tampered" / "noattr" (made above) */
    const char *alg;     /* the digest algorithm named */
    const char *md;      /* the algorithm computed ("" : a 5-byte value) */
    const char *of;      /* the file digested */
    const char *content; /* sent as well, or NULL */
    ks_result err;
    const char *indication;
    const char *sub;
} rows[] = {
    {"the content's digest", "sig-detached-rsa.p7s", "sha256", "SHA256", "doc.txt", NULL, KS_OK, "TOTAL_PASSED", NULL},
    {"another content's digest", "sig-detached-rsa.p7s", "sha256", "SHA256", "doc-tampered.txt", NULL, KS_OK,
     "TOTAL_FAILED", "HASH_FAILURE"},
    {"the right digest, the signature value altered", "tampered", "sha256", "SHA256", "doc.txt", NULL, KS_OK,
     "TOTAL_FAILED", "SIG_CRYPTO_FAILURE"},
    {"no signed attributes: the content is needed", "noattr", "sha256", "SHA256", "doc.txt", NULL, KS_OK,
     "INDETERMINATE", "SIGNED_DATA_NOT_FOUND"},
    {"only a digest of another algorithm than the signer's", "sig-detached-rsa.p7s", "sha384", "SHA384", "doc.txt",
     NULL, KS_OK, "INDETERMINATE", "SIGNED_DATA_NOT_FOUND"},
    {"a digest beside the content", "sig-detached-rsa.p7s", "sha256", "SHA256", "doc.txt", "doc.txt",
     KS_E_CONTENT_CONFLICT, NULL, NULL},
    {"a digest for an attached signature", "sig-attached-rsa.p7m", "sha256", "SHA256", "doc.txt", NULL,
     KS_E_CONTENT_CONFLICT, NULL, NULL},
    {"a digest of the wrong size", "sig-detached-rsa.p7s", "sha256", "", "doc.txt", NULL, KS_E_BAD_REQUEST, NULL,
     NULL},
    {"an algorithm not offered", "sig-detached-rsa.p7s", "md5", "MD5", "doc.txt", NULL, KS_E_UNSUPPORTED, NULL, NULL},
    {"an XML signature", "xml/etax-rsa.xtx", "sha256", "SHA256", "doc.txt", NULL, KS_E_UNSUPPORTED, NULL, NULL},
};

static void run_row(ks_ctx *ctx, const struct row *r)
{
    uint8_t *sig = NULL, *of = NULL, *content = NULL, md[EVP_MAX_MD_SIZE];
    size_t siglen = 0, oflen = 0, clen = 0;
    unsigned int mdlen = 5;
    cJSON *v = NULL;
    memset(md, 0x5a, sizeof md);
    if (strcmp(r->sig, "tampered") == 0 || strcmp(r->sig, "noattr") == 0) {
        int t = strcmp(r->sig, "tampered") == 0;
        siglen = t ? tampered_len : noattr_len;
        if ((sig = malloc(siglen)) != NULL)
            memcpy(sig, t ? tampered : noattr, siglen);
    } else if (!t_read(pki, r->sig, &sig, &siglen)) {
        sig = NULL;
    }
    if (sig == NULL || !t_read(pki, r->of, &of, &oflen) || (r->content && !t_read(pki, r->content, &content, &clen))) {
        CHECK(0, "%s: fixture missing", r->what);
        goto done;
    }
    if (r->md[0] != '\0')
        CHECK(EVP_Digest(of, oflen, md, &mdlen, EVP_get_digestbyname(r->md), NULL) == 1, "%s: digest", r->what);
    ks_digest d = {.algorithm = r->alg, .value = md, .len = mdlen};
    ks_blob c = {.data = content, .len = clen};
    ks_request req = {.signature = {.data = sig, .len = siglen},
                      .contents = &c,
                      .n_contents = r->content ? 1 : 0,
                      .digests = &d,
                      .n_digests = 1};
    ks_result res = ks_verify_signature(ctx, &req, &v);
    if (r->err != KS_OK) {
        CHECK(res == r->err && v == NULL, "%s: got %s, want %s", r->what, ks_result_name(res), ks_result_name(r->err));
        goto done;
    }
    CHECK(res == KS_OK && v != NULL, "%s: %s", r->what, ks_result_name(res));
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(v, "indication")), r->indication, "%s (%s)",
              r->what, t_str(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(v, "detail"))));
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(v, "subindication")), r->sub, "%s", r->what);
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(v, "content_checked")), "digest", "%s", r->what);
done:
    cJSON_Delete(v);
    free(sig);
    free(of);
    free(content);
}

/* Without digests nothing changes: the same detached signature alone is
 * still SIGNED_DATA_NOT_FOUND, and says nothing of content_checked. */
static void test_without_digests(ks_ctx *ctx)
{
    uint8_t *sig = NULL;
    size_t siglen = 0;
    cJSON *v = NULL;
    CHECK(t_read(pki, "sig-detached-rsa.p7s", &sig, &siglen), "fixture");
    ks_request req = {.signature = {.data = sig, .len = siglen}};
    CHECK(ks_verify_signature(ctx, &req, &v) == KS_OK, "verify");
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(v, "subindication")), "SIGNED_DATA_NOT_FOUND",
              "no content, no digest");
    CHECK(cJSON_GetObjectItemCaseSensitive(v, "content_checked") == NULL, "no content_checked without digests");
    cJSON_Delete(v);
    free(sig);
}

int main(void)
{
    pki = t_env("PKI", "build/pki");
    if (access(pki, R_OK) != 0) {
        fprintf(stderr, "no test PKI at %s (make pki)\n", pki);
        return 2;
    }
    t_write_configs("cfg-digest", configs, sizeof configs / sizeof configs[0], pki, cfgdir);
    ks_ctx *ctx = t_load_config(cfgdir, "off");
    CHECK(ctx != NULL, "configuration");
    CHECK(make_fixtures(), "fixtures made with OpenSSL");
    for (size_t i = 0; ctx != NULL && i < sizeof rows / sizeof rows[0]; i++)
        run_row(ctx, &rows[i]);
    if (ctx != NULL)
        test_without_digests(ctx);
    ks_ctx_unref(ctx);
    free(tampered);
    free(noattr);
    return t_done("test_digest");
}
