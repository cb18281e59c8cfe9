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
 *
 * Then the same for an e-Gov package (verify/xml_digest.c): the signed XML
 * with named digests instead of its attachments, each row beside the verdict
 * the attachments themselves give.  Hostile rows: a wrong digest, digests
 * swapped between References, another algorithm than the Reference's, fewer
 * and more digests than References, a file given both ways, an unnamed
 * digest, a Reference that transforms its file, and right digests under an
 * altered SignatureValue or an altered signed element.
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
    {"an XML signature, the digest unnamed", "xml/etax-rsa.xtx", "sha256", "SHA256", "doc.txt", NULL,
     KS_E_BAD_REQUEST, NULL, NULL},
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

/* ------------------------------------------------------------------ */
/* XML: e-Gov packages with digests instead of attachments.            */
/* ------------------------------------------------------------------ */

#define XMAX 4
#define FORMS_BY_DIGEST "form1.xml=sha256:egov/form1.xml form2.pdf=sha256:egov/form2.pdf"

static const struct xrow {
    const char *what;
    const char *sig;     /* under $PKI/xml, or "tampered" (kousei.xml, SignatureValue altered) */
    const char *atts;    /* attachments sent as well (space-separated, under $PKI/xml), or NULL */
    const char *digests; /* "NAME=ALG:FILE ...": ALG's digest of $PKI/xml/FILE named NAME ("-": no name) */
    ks_result err;
    const char *indication;
    const char *sub;
    int by_digest;       /* References reported with "content_checked": "digest" */
    const char *unsigned_att; /* the one name expected in unsigned_attachments, or NULL */
} xrows[] = {
    {"the attachments' digests", "egov/kousei.xml", NULL, FORMS_BY_DIGEST, KS_OK, "TOTAL_PASSED", NULL, 2, NULL},
    {"the digests in the other order", "egov/kousei.xml", NULL,
     "form2.pdf=sha256:egov/form2.pdf form1.xml=sha256:egov/form1.xml", KS_OK, "TOTAL_PASSED", NULL, 2, NULL},
    {"a wrong digest (form1.xml changed after signing)", "egov/kousei.xml", NULL,
     "form1.xml=sha256:egov-altered/form1.xml form2.pdf=sha256:egov/form2.pdf", KS_OK, "TOTAL_FAILED",
     "HASH_FAILURE", 2, NULL},
    {"the digests swapped between the References", "egov/kousei.xml", NULL,
     "form1.xml=sha256:egov/form2.pdf form2.pdf=sha256:egov/form1.xml", KS_OK, "TOTAL_FAILED", "HASH_FAILURE", 2,
     NULL},
    {"a digest of another algorithm than the Reference's", "egov/kousei.xml", NULL,
     "form1.xml=sha384:egov/form1.xml form2.pdf=sha256:egov/form2.pdf", KS_OK, "INDETERMINATE",
     "SIGNED_DATA_NOT_FOUND", 2, NULL},
    {"both algorithms: the Reference's is used", "egov/kousei.xml", NULL,
     "form1.xml=sha384:egov/form2.pdf form1.xml=sha256:egov/form1.xml form2.pdf=sha256:egov/form2.pdf", KS_OK,
     "TOTAL_PASSED", NULL, 2, NULL},
    {"fewer digests than References", "egov/kousei.xml", NULL, "form1.xml=sha256:egov/form1.xml", KS_OK,
     "INDETERMINATE", "SIGNED_DATA_NOT_FOUND", 1, NULL},
    {"more digests than References: the extra one is not signed", "egov/kousei.xml", NULL,
     FORMS_BY_DIGEST " note.txt=sha256:egov/form1.xml", KS_OK, "TOTAL_PASSED", NULL, 2, "note.txt"},
    {"one file both as attachment and as digest", "egov/kousei.xml", "egov/form1.xml egov/form2.pdf",
     "form1.xml=sha256:egov/form1.xml", KS_E_CONTENT_CONFLICT, NULL, NULL, 0, NULL},
    {"a ZIP entry and a digest of the same name", "egov.zip", NULL, "form1.xml=sha256:egov/form1.xml",
     KS_E_CONTENT_CONFLICT, NULL, NULL, 0, NULL},
    {"a ZIP without form2.pdf, and its digest", "egov-missing.zip", NULL, "form2.pdf=sha256:egov/form2.pdf", KS_OK,
     "TOTAL_PASSED", NULL, 1, NULL},
    {"one file as attachment, the other as digest", "egov/kousei.xml", "egov/form1.xml",
     "form2.pdf=sha256:egov/form2.pdf", KS_OK, "TOTAL_PASSED", NULL, 1, NULL},
    {"an unnamed digest", "egov/kousei.xml", NULL, "-=sha256:egov/form1.xml", KS_E_BAD_REQUEST, NULL, NULL, 0, NULL},
    {"one name twice with one algorithm", "egov/kousei.xml", NULL,
     FORMS_BY_DIGEST " form1.xml=sha256:egov/form2.pdf", KS_E_BAD_REQUEST, NULL, NULL, 0, NULL},
    {"a Reference that canonicalizes its file: the content is needed", "egov-c14n.xml", NULL, FORMS_BY_DIGEST, KS_OK,
     "INDETERMINATE", "SIGNED_DATA_NOT_FOUND", 2, NULL},
    {"the right digests, the SignatureValue altered", "tampered", NULL, FORMS_BY_DIGEST, KS_OK, "TOTAL_FAILED",
     "SIG_CRYPTO_FAILURE", 2, NULL},
    {"the right digests, the signed 構成情報 altered", "egov/kousei-altered.xml", NULL, FORMS_BY_DIGEST, KS_OK,
     "TOTAL_FAILED", "HASH_FAILURE", 2, NULL},
    {"a digest named in NFC for a Reference in NFD", "egov-nfd/kousei.xml", NULL,
     "\xe3\x83\x87\xe3\x83\xbc\xe3\x82\xbf.xml=sha256:egov/form1.xml", KS_OK, "TOTAL_PASSED", NULL, 1, NULL},
};

/* Controls: what the attachments themselves give, for the rows above. */
static const struct {
    const char *sig, *atts, *indication;
} xcontrols[] = {
    {"egov/kousei.xml", "egov/form1.xml egov/form2.pdf", "TOTAL_PASSED"},
    {"egov-c14n.xml", "egov/form1.xml egov/form2.pdf", "TOTAL_PASSED"},
    {"egov/kousei.xml", "egov-altered/form1.xml egov/form2.pdf", "TOTAL_FAILED"},
};

/* kousei.xml with one character of its SignatureValue changed. */
static int read_tampered_xml(uint8_t **buf, size_t *len)
{
    if (!t_read(pki, "xml/egov/kousei.xml", buf, len))
        return 0;
    const char *p = memmem(*buf, *len, "SignatureValue>", 15);
    if (p == NULL || (size_t)(p - (const char *)*buf) + 40 > *len)
        return 0;
    char *c = (char *)p + 15;
    while (*c == '\n' || *c == ' ')
        c++;
    c[8] = c[8] == 'A' ? 'B' : 'A';
    return 1;
}

/* Sends sig with the attachments and digests of a row; the verdict or the
 * error. */
static ks_result xverify(ks_ctx *ctx, const char *sig, const char *atts, const char *digests, cJSON **v)
{
    uint8_t *sbuf = NULL, *abuf[XMAX] = {0}, md[XMAX][EVP_MAX_MD_SIZE];
    char names[XMAX][64], anames[XMAX][64], algs[XMAX][16], spec[512], rel[256];
    ks_blob blobs[XMAX];
    ks_digest d[XMAX];
    size_t slen = 0, na = 0, nd = 0;
    ks_result r = KS_E_INTERNAL;
    *v = NULL;
    snprintf(rel, sizeof rel, "xml/%s", sig);
    if (strcmp(sig, "tampered") == 0 ? !read_tampered_xml(&sbuf, &slen) : !t_read(pki, rel, &sbuf, &slen))
        goto done;
    snprintf(spec, sizeof spec, "%s", atts != NULL ? atts : "");
    for (char *save = NULL, *t = strtok_r(spec, " ", &save); t != NULL && na < XMAX; t = strtok_r(NULL, " ", &save)) {
        const char *slash = strrchr(t, '/');
        snprintf(rel, sizeof rel, "xml/%s", t);
        snprintf(anames[na], sizeof anames[na], "%s", slash != NULL ? slash + 1 : t); /* as the CLI names it */
        if (!t_read(pki, rel, &abuf[na], &blobs[na].len))
            goto done;
        blobs[na].data = abuf[na];
        blobs[na].name = anames[na];
        na++;
    }
    snprintf(spec, sizeof spec, "%s", digests != NULL ? digests : "");
    for (char *save = NULL, *t = strtok_r(spec, " ", &save); t != NULL && nd < XMAX; t = strtok_r(NULL, " ", &save)) {
        char *eq = strchr(t, '='), *colon = eq ? strchr(eq, ':') : NULL;
        uint8_t *fb = NULL;
        size_t fl = 0;
        unsigned int mdlen = 0;
        if (colon == NULL)
            goto done;
        *eq = *colon = '\0';
        snprintf(names[nd], sizeof names[nd], "%s", t);
        snprintf(algs[nd], sizeof algs[nd], "%s", eq + 1);
        snprintf(rel, sizeof rel, "xml/%s", colon + 1);
        if (!t_read(pki, rel, &fb, &fl))
            goto done;
        int ok = EVP_Digest(fb, fl, md[nd], &mdlen, EVP_get_digestbyname(algs[nd]), NULL) == 1;
        free(fb);
        if (!ok)
            goto done;
        d[nd] = (ks_digest){.name = strcmp(names[nd], "-") == 0 ? NULL : names[nd],
                            .algorithm = algs[nd],
                            .value = md[nd],
                            .len = mdlen};
        nd++;
    }
    ks_request req = {.signature = {.data = sbuf, .len = slen},
                      .contents = blobs,
                      .n_contents = na,
                      .digests = d,
                      .n_digests = nd};
    r = ks_verify_signature(ctx, &req, v);
done:
    free(sbuf);
    for (size_t i = 0; i < na; i++)
        free(abuf[i]);
    return r;
}

static int count_by_digest(const cJSON *v)
{
    int n = 0;
    const cJSON *s, *ref;
    cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(v, "signers"))
    {
        cJSON_ArrayForEach(ref, cJSON_GetObjectItemCaseSensitive(s, "references"))
        {
            n += t_str_eq(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ref, "content_checked")), "digest");
        }
    }
    return n;
}

static void run_xrow(ks_ctx *ctx, const struct xrow *r)
{
    cJSON *v = NULL;
    ks_result res = xverify(ctx, r->sig, r->atts, r->digests, &v);
    if (r->err != KS_OK) {
        CHECK(res == r->err && v == NULL, "xml %s: got %s, want %s", r->what, ks_result_name(res),
              ks_result_name(r->err));
        goto done;
    }
    CHECK(res == KS_OK && v != NULL, "xml %s: %s", r->what, ks_result_name(res));
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(v, "indication")), r->indication, "xml %s (%s)",
              r->what, t_str(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(v, "detail"))));
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(v, "subindication")), r->sub, "xml %s", r->what);
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(v, "content_checked")), "digest", "xml %s",
              r->what);
    CHECK(count_by_digest(v) == r->by_digest, "xml %s: %d References checked by digest, want %d", r->what,
          count_by_digest(v), r->by_digest);
    const cJSON *un = cJSON_GetObjectItemCaseSensitive(v, "unsigned_attachments");
    if (r->unsigned_att != NULL)
        CHECK(cJSON_GetArraySize(un) == 1 && t_str_eq(cJSON_GetStringValue(cJSON_GetArrayItem(un, 0)), r->unsigned_att),
              "xml %s: unsigned_attachments", r->what);
    else
        CHECK(cJSON_GetArraySize(un) == 0, "xml %s: no unsigned attachment", r->what);
done:
    cJSON_Delete(v);
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
    for (size_t i = 0; ctx != NULL && i < sizeof xcontrols / sizeof xcontrols[0]; i++) {
        cJSON *v = NULL;
        CHECK(xverify(ctx, xcontrols[i].sig, xcontrols[i].atts, NULL, &v) == KS_OK, "xml control %zu", i);
        CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(v, "indication")), xcontrols[i].indication,
                  "xml control %s with %s", xcontrols[i].sig, xcontrols[i].atts);
        CHECK(cJSON_GetObjectItemCaseSensitive(v, "content_checked") == NULL, "xml control: no content_checked");
        cJSON_Delete(v);
    }
    for (size_t i = 0; ctx != NULL && i < sizeof xrows / sizeof xrows[0]; i++)
        run_xrow(ctx, &xrows[i]);
    ks_ctx_unref(ctx);
    free(tampered);
    free(noattr);
    return t_done("test_digest");
}
