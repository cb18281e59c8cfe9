/*
 * tests/test_xml.c - XML Signature (e-Tax, e-Gov) verification over the
 * fixtures tests/pki/mkxml.sh signs with the xmlsec1 CLI from the test PKI
 * ($PKI/xml).  Table-driven: each row names the signature, the attachments,
 * the configuration and the expected indication and subindication (or the
 * expected error for input that is not a signature at all).  Then: what each
 * Reference covered, DTD attacks against a listener that must see no
 * connection, the CLI, threads, and a timing.
 */
#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "testlib.h"

static const char *pki;
static char cfgdir[PATH_MAX];

static const t_config configs[] = {
    {"off", "{\"trust_anchors\": [\"@PKI@/anchors\"], \"intermediates\": [\"@PKI@/intermediates\"],"
            " \"revocation\": {\"mode\": \"off\"}, \"accept_policies\": [\"1.2.392.200149.8.5.1.1.20\"]}"},
    {"legacy", "{\"trust_anchors\": [\"@PKI@/anchors\"], \"intermediates\": [\"@PKI@/intermediates\"],"
               " \"revocation\": {\"mode\": \"off\"}, \"algorithms\": {\"allow_sha1\": true}}"},
    {"no-intermediates", "{\"trust_anchors\": [\"@PKI@/anchors\"], \"revocation\": {\"mode\": \"off\"}}"},
    /* Revocation required, from local CRL files only (no network). */
    {"crlfile", "{\"trust_anchors\": [\"@PKI@/anchors\"], \"intermediates\": [\"@PKI@/intermediates\"],"
                " \"accept_policies\": [\"1.2.392.200149.8.5.1.1.20\"],"
                " \"crls\": [\"@PKI@/ministry-ca.crl\", \"@PKI@/gpki-bca.crl\", \"@PKI@/jpki-bca.crl\"],"
                " \"revocation\": {\"mode\": \"require\"},"
                " \"revocation_sources\": [{\"issuer\": \"@PKI@/pref-ca-self.pem\", \"crl\": [\"@PKI@/pref-ca.crl\"]}]}"},
};

static ks_ctx *load(const char *name)
{
    return t_load_config(cfgdir, name);
}

/* $PKI/xml/<rel>, or $PKI/<rel> when rel starts with "../". */
static int read_xml_fixture(const char *rel, uint8_t **buf, size_t *len)
{
    char path[700];
    snprintf(path, sizeof path, "%s/xml/%s", pki, rel);
    return ks_read_file(path, 64 * 1024 * 1024, buf, len) == KS_OK;
}

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

static const char *str_of(const cJSON *o, const char *k)
{
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, k));
}

/* CHECK_STR with the context first: "what: got X, want Y". */
#define CHECK_EQS(got, want, what)                                                                           \
    do {                                                                                                     \
        const char *g_ = (got), *w_ = (want);                                                                \
        CHECK(t_str_eq(g_, w_), "%s: got \"%s\", want \"%s\"", (what), t_str(g_), t_str(w_));                 \
    } while (0)

#define MAXATT 4

/* Verifies sig with the attachments (space-separated fixture paths, each
 * named by its base name, as the CLI does). */
static ks_result verify_files(ks_ctx *ctx, const char *sig, const char *atts, cJSON **v)
{
    uint8_t *sbuf = NULL, *abuf[MAXATT] = {0};
    size_t slen = 0;
    ks_blob blobs[MAXATT];
    char names[MAXATT][128];
    size_t n = 0;
    ks_result r = KS_E_IO;
    *v = NULL;
    if (!read_xml_fixture(sig, &sbuf, &slen))
        goto done;
    if (atts != NULL) {
        char tmp[512];
        snprintf(tmp, sizeof tmp, "%s", atts);
        for (char *save = NULL, *tok = strtok_r(tmp, " ", &save); tok && n < MAXATT; tok = strtok_r(NULL, " ", &save)) {
            snprintf(names[n], sizeof names[n], "%s", base_name(tok));
            if (!read_xml_fixture(tok, &abuf[n], &blobs[n].len))
                goto done;
            blobs[n].data = abuf[n];
            blobs[n].name = names[n];
            n++;
        }
    }
    ks_request req = {.signature = {.name = base_name(sig), .data = sbuf, .len = slen},
                      .contents = blobs,
                      .n_contents = n};
    r = ks_verify_signature(ctx, &req, v);
done:
    free(sbuf);
    for (size_t i = 0; i < MAXATT; i++)
        free(abuf[i]);
    return r;
}

#define FORMS "egov/form1.xml egov/form2.pdf"
/* "データ.xml" composed (NFC: U+30C7) and decomposed (NFD: U+30C6 U+3099). */
#define DATA_NFC "\xE3\x83\x87\xE3\x83\xBC\xE3\x82\xBF.xml"
#define DATA_NFD "\xE3\x83\x86\xE3\x82\x99\xE3\x83\xBC\xE3\x82\xBF.xml"

static const struct row {
    const char *sig;
    const char *atts;
    const char *config;
    ks_result result;       /* KS_OK: a verdict is expected */
    const char *indication; /* when KS_OK */
    const char *sub;
} rows[] = {
    /* e-Tax: enveloped, URI="" or the root's id. */
    {"etax-rsa.xtx", NULL, "off", KS_OK, "TOTAL_PASSED", NULL},
    {"etax-id.xtx", NULL, "off", KS_OK, "TOTAL_PASSED", NULL},            /* exc-c14n, sha512 */
    {"etax-ec.xtx", NULL, "off", KS_OK, "TOTAL_PASSED", NULL},            /* ecdsa-sha256, c14n#WithComments, sha384 */
    {"etax-chain.xtx", NULL, "no-intermediates", KS_OK, "TOTAL_PASSED", NULL}, /* path from KeyInfo certificates */
    {"etax-rsa.xtx", NULL, "no-intermediates", KS_OK, "INDETERMINATE", "NO_CERTIFICATE_CHAIN_FOUND"},
    {"etax-xades.xtx", NULL, "off", KS_OK, "TOTAL_PASSED", NULL},
    /* The signed XAdES SigningTime is after notAfter: expired, as CMS. */
    {"etax-xades-expired.xtx", NULL, "off", KS_OK, "TOTAL_FAILED", "EXPIRED"},
    {"etax-expired.xtx", NULL, "off", KS_OK, "INDETERMINATE", "OUT_OF_BOUNDS_NO_POE"},
    {"etax-rogue.xtx", NULL, "off", KS_OK, "INDETERMINATE", "NO_CERTIFICATE_CHAIN_FOUND"},
    {"etax-sha1.xtx", NULL, "off", KS_OK, "INDETERMINATE", "CRYPTO_CONSTRAINTS_FAILURE"},
    {"etax-sha1.xtx", NULL, "legacy", KS_OK, "TOTAL_PASSED", NULL},
    {"etax-badku.xtx", NULL, "off", KS_OK, "INDETERMINATE", "SIG_CONSTRAINTS_FAILURE"},
    {"etax-keyvalue.xtx", NULL, "off", KS_OK, "INDETERMINATE", "NO_SIGNING_CERTIFICATE_FOUND"},
    {"etax-tampered.xtx", NULL, "off", KS_OK, "TOTAL_FAILED", "HASH_FAILURE"},
    {"etax-badsig.xtx", NULL, "off", KS_OK, "TOTAL_FAILED", "SIG_CRYPTO_FAILURE"},
    {"etax-wrap.xtx", NULL, "off", KS_OK, "INDETERMINATE", "FORMAT_FAILURE"},
    {"etax-revoked.xtx", NULL, "off", KS_OK, "TOTAL_PASSED", NULL}, /* revocation not checked */
    {"etax-revoked.xtx", NULL, "crlfile", KS_OK, "TOTAL_FAILED", "REVOKED"},
    {"etax-rsa.xtx", NULL, "crlfile", KS_OK, "TOTAL_PASSED", NULL},
    /* e-Gov as separate files. */
    {"egov/kousei.xml", FORMS, "off", KS_OK, "TOTAL_PASSED", NULL},
    {"egov/kousei.xml", "egov-altered/form1.xml egov/form2.pdf", "off", KS_OK, "TOTAL_FAILED", "HASH_FAILURE"},
    {"egov/kousei-altered.xml", FORMS, "off", KS_OK, "TOTAL_FAILED", "HASH_FAILURE"},
    {"egov/kousei.xml", "egov/form1.xml", "off", KS_OK, "INDETERMINATE", "SIGNED_DATA_NOT_FOUND"},
    {"egov/kousei.xml", NULL, "off", KS_OK, "INDETERMINATE", "SIGNED_DATA_NOT_FOUND"},
    /* e-Gov as the ZIP package. */
    {"egov.zip", NULL, "off", KS_OK, "TOTAL_PASSED", NULL},
    {"egov-flat.zip", NULL, "off", KS_OK, "TOTAL_PASSED", NULL},
    {"egov-extra.zip", NULL, "off", KS_OK, "TOTAL_PASSED", NULL},
    {"egov-altered.zip", NULL, "off", KS_OK, "TOTAL_FAILED", "HASH_FAILURE"},
    {"egov-missing.zip", NULL, "off", KS_OK, "INDETERMINATE", "SIGNED_DATA_NOT_FOUND"},
    /* Signature wrapping. */
    {"egov-wrap-moved.xml", FORMS, "off", KS_OK, "INDETERMINATE", "FORMAT_FAILURE"},
    {"egov-wrap-dup.xml", FORMS, "off", KS_OK, "INDETERMINATE", "FORMAT_FAILURE"},
    {"egov-wrap-twin.xml", FORMS, "off", KS_OK, "INDETERMINATE", "FORMAT_FAILURE"},
    /* Detached References that are not plain file names. */
    {"egov-ref-dotdot.xml", FORMS, "off", KS_OK, "INDETERMINATE", "FORMAT_FAILURE"},
    {"egov-ref-abs.xml", FORMS, "off", KS_OK, "INDETERMINATE", "FORMAT_FAILURE"},
    {"egov-ref-file.xml", FORMS, "off", KS_OK, "INDETERMINATE", "FORMAT_FAILURE"},
    {"egov-ref-subdir.xml", FORMS, "off", KS_OK, "INDETERMINATE", "FORMAT_FAILURE"},
    {"egov-ref-xpointer.xml", FORMS, "off", KS_OK, "INDETERMINATE", "FORMAT_FAILURE"},
    /* Not signatures at all. */
    {"xxe-file.xml", NULL, "off", KS_E_XML, NULL, NULL},
    {"xxe-param.xml", NULL, "off", KS_E_XML, NULL, NULL},
    {"bomb-laughs.xml", NULL, "off", KS_E_XML, NULL, NULL},
    {"egov-traversal.zip", NULL, "off", KS_E_ZIP, NULL, NULL},
    {"egov-twosigned.zip", NULL, "off", KS_E_ZIP, NULL, NULL},
    {"egov-bomb.zip", NULL, "off", KS_E_TOO_LARGE, NULL, NULL},
    {"egov-unsigned.zip", NULL, "off", KS_E_NOT_SIGNATURE, NULL, NULL},
    {"egov.zip", "egov/form1.xml", "off", KS_E_CONTENT_CONFLICT, NULL, NULL},
    {"egov/kousei.xml", "egov/form1.xml egov-altered/form1.xml egov/form2.pdf", "off", KS_E_CONTENT_CONFLICT, NULL,
     NULL},
    /* XAdES SigningCertificate(V2) in a signed SignedProperties binds the
     * certificate (ETSI EN 319 132-1 5.2.2): digest and issuer/serial. */
    {"xades-v2.xtx", NULL, "off", KS_OK, "TOTAL_PASSED", NULL},
    {"xades-v1.xtx", NULL, "off", KS_OK, "TOTAL_PASSED", NULL},
    {"xades-v1-spaced.xtx", NULL, "off", KS_OK, "TOTAL_PASSED", NULL}, /* "cn = ..., o = ..." */
    /* The attack: the same key certified under another name in KeyInfo. */
    {"xades-alias-v2.xtx", NULL, "off", KS_OK, "TOTAL_FAILED", "SIG_CONSTRAINTS_FAILURE"},
    {"xades-alias-v1.xtx", NULL, "off", KS_OK, "TOTAL_FAILED", "SIG_CONSTRAINTS_FAILURE"},
    {"xades-v2-badserial.xtx", NULL, "off", KS_OK, "TOTAL_FAILED", "SIG_CONSTRAINTS_FAILURE"},
    {"xades-v1-badserial.xtx", NULL, "off", KS_OK, "TOTAL_FAILED", "SIG_CONSTRAINTS_FAILURE"},
    {"xades-v1-badissuer.xtx", NULL, "off", KS_OK, "TOTAL_FAILED", "SIG_CONSTRAINTS_FAILURE"},
    {"xades-v1-hexcn.xtx", NULL, "off", KS_OK, "TOTAL_PASSED", NULL}, /* "CN=#0C..." (RFC 4514 2.4) */
    {"xades-v1-escaped.xtx", NULL, "off", KS_OK, "TOTAL_PASSED", NULL}, /* "CN=\\4Eagano\\ Prefecture..." */
    /* KeyInfo holds the alias first, then the named certificate. */
    {"xades-both.xtx", NULL, "off", KS_OK, "TOTAL_PASSED", NULL},
    {"xades-v2-sha1.xtx", NULL, "off", KS_OK, "INDETERMINATE", "CRYPTO_CONSTRAINTS_FAILURE"},
    {"xades-v2-sha1.xtx", NULL, "legacy", KS_OK, "TOTAL_PASSED", NULL},
    {"xades-v2-garbage.xtx", NULL, "off", KS_OK, "INDETERMINATE", "FORMAT_FAILURE"}, /* IssuerSerialV2 not DER */
    /* SignedProperties no Reference covers: binds nothing, names nothing. */
    {"xades-uncovered.xtx", NULL, "off", KS_OK, "TOTAL_PASSED", NULL},
    /* Two signatures (taxpayer, tax accountant): the worst one decides. */
    {"etax-two.xtx", NULL, "off", KS_OK, "TOTAL_PASSED", NULL},
    {"etax-two-bad2.xtx", NULL, "off", KS_OK, "TOTAL_FAILED", "SIG_CRYPTO_FAILURE"},
    /* Attachment names compared in Unicode NFC (UAX #15), after
     * percent-decoding: the Reference in NFC, the file in NFD, and back. */
    {"egov-nfc/kousei.xml", "egov-nfc/" DATA_NFC, "off", KS_OK, "TOTAL_PASSED", NULL},
    {"egov-nfc/kousei.xml", "egov-nfd/" DATA_NFD, "off", KS_OK, "TOTAL_PASSED", NULL},
    {"egov-nfd/kousei.xml", "egov-nfc/" DATA_NFC, "off", KS_OK, "TOTAL_PASSED", NULL},
    {"egov-nfc/kousei.xml", "egov-nfc/" DATA_NFC " egov-nfd/" DATA_NFD, "off", KS_E_CONTENT_CONFLICT, NULL, NULL},
    {"egov-nfcref-nfdentry.zip", NULL, "off", KS_OK, "TOTAL_PASSED", NULL},
    {"egov-nfdref-nfcentry.zip", NULL, "off", KS_OK, "TOTAL_PASSED", NULL},
    {"egov-nfc-both.zip", NULL, "off", KS_E_ZIP, NULL, NULL},
    /* An entry declaring 15,000,000 bytes that inflates to a few hundred. */
    {"egov-liar.zip", NULL, "off", KS_E_ZIP, NULL, NULL},
};

/* Per signer: its own indication, who it is, and whether a signed XAdES
 * SigningCertificate(V2) bound its certificate. */
static const struct signer_row {
    const char *sig;
    int nsigners;
    int idx;
    const char *indication;
    const char *sub;
    int bound;
    const char *subject; /* prefix of signer.subject */
    int unsigned_object; /* the UNSIGNED_OBJECT warning expected */
} signer_rows[] = {
    {"etax-two.xtx", 2, 0, "TOTAL_PASSED", NULL, 0, "CN=SYNTH0001,", 0},
    {"etax-two.xtx", 2, 1, "TOTAL_PASSED", NULL, 0, "CN=SYNTH0002,", 0},
    {"etax-two-bad2.xtx", 2, 0, "TOTAL_PASSED", NULL, 0, "CN=SYNTH0001,", 0},
    {"etax-two-bad2.xtx", 2, 1, "TOTAL_FAILED", "SIG_CRYPTO_FAILURE", 0, "CN=SYNTH0002,", 0},
    {"etax-rsa.xtx", 1, 0, "TOTAL_PASSED", NULL, 0, "CN=SYNTH0001,", 0},
    {"etax-xades.xtx", 1, 0, "TOTAL_PASSED", NULL, 0, "CN=SYNTH0001,", 0}, /* no SigningCertificate */
    {"xades-v2.xtx", 1, 0, "TOTAL_PASSED", NULL, 1, "CN=SYNTH0001,", 0},
    {"xades-v1.xtx", 1, 0, "TOTAL_PASSED", NULL, 1, "CN=SYNTH0001,", 0},
    {"xades-v1-spaced.xtx", 1, 0, "TOTAL_PASSED", NULL, 1, "CN=SYNTH0001,", 0},
    {"xades-alias-v2.xtx", 1, 0, "TOTAL_FAILED", "SIG_CONSTRAINTS_FAILURE", 0, "CN=SYNTH0001-ALIAS,", 0},
    {"xades-v2-badserial.xtx", 1, 0, "TOTAL_FAILED", "SIG_CONSTRAINTS_FAILURE", 0, "CN=SYNTH0001,", 0},
    {"xades-both.xtx", 1, 0, "TOTAL_PASSED", NULL, 1, "CN=SYNTH0001,", 0},
    /* Unsigned SignedProperties: flagged as unsigned data. */
    {"xades-uncovered.xtx", 1, 0, "TOTAL_PASSED", NULL, 0, "CN=SYNTH0001-ALIAS,", 1},
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_rows(void)
{
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const struct row *r = &rows[i];
        char what[300], ctxmsg[600];
        snprintf(what, sizeof what, "%s%s%s [%s]", r->sig, r->atts ? " + " : "", r->atts ? r->atts : "", r->config);
        ks_ctx *ctx = load(r->config);
        cJSON *v = NULL;
        double t0 = now_s();
        ks_result res = verify_files(ctx, r->sig, r->atts, &v);
        double dt = now_s() - t0;
        CHECK(res == r->result, "%s: got %s, want %s", what, ks_result_name(res), ks_result_name(r->result));
        CHECK(dt < 2.0, "%s: took %.3f s", what, dt);
        if (r->result != KS_OK) {
            CHECK(v == NULL, "%s: no verdict with an error", what);
        } else if (v != NULL) {
            snprintf(ctxmsg, sizeof ctxmsg, "%s (detail: %s)", what, t_str(str_of(v, "detail")));
            CHECK_EQS(str_of(v, "indication"), r->indication, ctxmsg);
            CHECK_EQS(str_of(v, "subindication"), r->sub, ctxmsg);
            CHECK_EQS(str_of(v, "format"), "xmldsig", what);
            cJSON *reason = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(v, "reasons"), 0);
            CHECK(str_of(reason, "en") != NULL && str_of(reason, "ja") != NULL, "%s: reasons in en and ja", what);
            CHECK(cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(v, "references")), "%s: references", what);
        }
        cJSON_Delete(v);
        ks_ctx_unref(ctx);
    }
}

static void test_signer_rows(void)
{
    ks_ctx *ctx = load("off");
    for (size_t i = 0; i < sizeof signer_rows / sizeof signer_rows[0]; i++) {
        const struct signer_row *r = &signer_rows[i];
        char what[200];
        snprintf(what, sizeof what, "%s signer %d", r->sig, r->idx);
        cJSON *v = NULL;
        CHECK(verify_files(ctx, r->sig, NULL, &v) == KS_OK, "%s: verdict", what);
        cJSON *signers = cJSON_GetObjectItemCaseSensitive(v, "signers");
        CHECK(cJSON_GetArraySize(signers) == r->nsigners, "%s: %d signers, want %d", what,
              cJSON_GetArraySize(signers), r->nsigners);
        cJSON *so = cJSON_GetArrayItem(signers, r->idx);
        CHECK_EQS(str_of(so, "indication"), r->indication, what);
        CHECK_EQS(str_of(so, "subindication"), r->sub, what);
        cJSON *b = cJSON_GetObjectItemCaseSensitive(so, "signing_certificate_bound");
        CHECK(cJSON_IsBool(b) && cJSON_IsTrue(b) == r->bound, "%s: signing_certificate_bound %s, want %s", what,
              cJSON_IsBool(b) ? (cJSON_IsTrue(b) ? "true" : "false") : "absent", r->bound ? "true" : "false");
        const char *subj = str_of(cJSON_GetObjectItemCaseSensitive(so, "signer"), "subject");
        CHECK(subj != NULL && strncmp(subj, r->subject, strlen(r->subject)) == 0, "%s: signer %s, want %s...",
              what, t_str(subj), r->subject);
        char *w = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(so, "warnings"));
        CHECK((w != NULL && strstr(w, "UNSIGNED_OBJECT") != NULL) == r->unsigned_object, "%s: UNSIGNED_OBJECT %s",
              what, r->unsigned_object ? "expected" : "unexpected");
        free(w);
        cJSON_Delete(v);
    }
    ks_ctx_unref(ctx);
}

/* A ZIP entry's declared size is a claim: memory follows the bytes that
 * arrive.  In a child limited to its current address space plus 8 MiB,
 * the package whose entry declares 15,000,000 bytes must still be read to
 * its clean error (an up-front allocation of the declared size fails with
 * KS_E_NOMEM instead).  Not under ASan, which reserves terabytes. */
static void test_zip_lying_size(void)
{
#if defined(__SANITIZE_ADDRESS__)
    fprintf(stderr, "test_zip_lying_size: skipped under AddressSanitizer\n");
#else
    ks_ctx *ctx = load("off");
    uint8_t *zip = NULL;
    size_t zlen = 0;
    CHECK(read_xml_fixture("egov-liar.zip", &zip, &zlen), "fixture");
    pid_t pid = fork();
    if (pid == 0) {
        unsigned long pages = 0;
        FILE *f = fopen("/proc/self/statm", "r");
        if (f == NULL || fscanf(f, "%lu", &pages) != 1)
            _exit(100);
        fclose(f);
        rlim_t cur = (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE);
        struct rlimit rl = {.rlim_cur = cur + 8u * 1024 * 1024, .rlim_max = cur + 8u * 1024 * 1024};
        if (setrlimit(RLIMIT_AS, &rl) != 0)
            _exit(101);
        cJSON *v = NULL;
        ks_request req = {.signature = {.data = zip, .len = zlen}};
        ks_result r = ks_verify_signature(ctx, &req, &v);
        _exit(r == KS_E_ZIP && v == NULL ? 0 : 10 + (int)r);
    }
    int st = 0;
    CHECK(pid > 0 && waitpid(pid, &st, 0) == pid, "fork");
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "lying ZIP under an 8 MiB allowance: exit %d (0: KS_E_ZIP; 10+n: "
          "result n)", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    free(zip);
    ks_ctx_unref(ctx);
#endif
}

/* The same revoked signer, CMS and XML, under the same configuration. */
static void test_revoked_like_cms(void)
{
    ks_ctx *ctx = load("crlfile");
    uint8_t *cms = NULL;
    size_t len = 0;
    char path[700];
    cJSON *vc = NULL, *vx = NULL;
    snprintf(path, sizeof path, "%s/sig-attached-revoked.p7m", pki);
    CHECK(ks_read_file(path, 1 << 20, &cms, &len) == KS_OK, "CMS fixture");
    ks_request req = {.signature = {.data = cms, .len = len}};
    CHECK(ks_verify_signature(ctx, &req, &vc) == KS_OK, "CMS revoked verifies to a verdict");
    CHECK(verify_files(ctx, "etax-revoked.xtx", NULL, &vx) == KS_OK, "XML revoked verifies to a verdict");
    CHECK_EQS(str_of(vx, "indication"), str_of(vc, "indication"), "XML revoked as CMS revoked");
    CHECK_EQS(str_of(vx, "subindication"), str_of(vc, "subindication"), "XML revoked as CMS revoked");
    cJSON *r0 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(vx, "revocation"), 0);
    CHECK_EQS(str_of(r0, "source"), "crl", "revocation evidence");
    cJSON_Delete(vc);
    cJSON_Delete(vx);
    free(cms);
    ks_ctx_unref(ctx);
}

/* What each Reference covered, and that every one of them was checked. */
static void test_references(void)
{
    ks_ctx *ctx = load("off");
    cJSON *v = NULL;
    CHECK(verify_files(ctx, "egov/kousei.xml", "egov-altered/form1.xml egov/form2.pdf", &v) == KS_OK, "verify");
    cJSON *refs = cJSON_GetObjectItemCaseSensitive(v, "references");
    CHECK(cJSON_GetArraySize(refs) == 3, "three references, got %d", cJSON_GetArraySize(refs));
    cJSON *r0 = cJSON_GetArrayItem(refs, 0), *r1 = cJSON_GetArrayItem(refs, 1), *r2 = cJSON_GetArrayItem(refs, 2);
    CHECK_EQS(str_of(r0, "type"), "same-document", "ref 0");
    CHECK_EQS(str_of(r0, "covers"), "/構成/構成情報[@ID='構成情報']", "ref 0 covers the 構成情報 under the root");
    CHECK_EQS(str_of(r0, "digest_algorithm"), "sha256", "ref 0");
    CHECK(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r0, "valid")), "構成情報 still matches");
    CHECK_EQS(str_of(r1, "type"), "detached", "ref 1");
    CHECK_EQS(str_of(r1, "covers"), "form1.xml", "ref 1");
    CHECK(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(r1, "valid")), "altered form1.xml does not match");
    CHECK_EQS(str_of(r2, "uri"), "form%32.pdf", "ref 2 as written");
    CHECK_EQS(str_of(r2, "covers"), "form2.pdf", "ref 2 percent-decoded");
    CHECK(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r2, "valid")), "form2.pdf checked after the failure");
    cJSON_Delete(v);

    /* The missing attachment is named in its Reference. */
    CHECK(verify_files(ctx, "egov/kousei.xml", "egov/form2.pdf", &v) == KS_OK, "verify");
    r1 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(v, "references"), 1);
    CHECK_EQS(str_of(r1, "covers"), "form1.xml", "missing one named");
    CHECK_EQS(str_of(r1, "problem"), "signed data not found", "missing one");
    CHECK(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(
              cJSON_GetObjectItemCaseSensitive(v, "references"), 2), "valid")),
          "the present one still checked");
    cJSON_Delete(v);

    /* e-Tax: URI="" covers the document element. */
    CHECK(verify_files(ctx, "etax-rsa.xtx", NULL, &v) == KS_OK, "verify");
    r0 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(v, "references"), 0);
    CHECK_EQS(str_of(r0, "covers"), "/DATA[@id='DATA']", "e-Tax root");
    CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(v, "signing_time")), "no signing time without XAdES");
    CHECK_EQS(str_of(v, "signature_algorithm"), "sha256WithRSAEncryption", "signature algorithm");
    CHECK_EQS(str_of(v, "digest_algorithm"), "sha256", "digest algorithm");
    cJSON *signer = cJSON_GetObjectItemCaseSensitive(v, "signer");
    CHECK_EQS(str_of(cJSON_GetObjectItemCaseSensitive(signer, "jpki"), "sex"), "female", "JPKI items of the signer");
    CHECK_EQS(str_of(signer, "source"), "signature", "signer came from KeyInfo");
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(v, "chain")) == 5, "bridge path");
    cJSON_Delete(v);

    CHECK(verify_files(ctx, "etax-xades.xtx", NULL, &v) == KS_OK, "verify");
    CHECK(str_of(v, "signing_time") != NULL, "XAdES SigningTime reported");
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(v, "references")) == 2, "two references");
    cJSON_Delete(v);

    /* A file in the package that no Reference names is reported unsigned. */
    CHECK(verify_files(ctx, "egov-extra.zip", NULL, &v) == KS_OK, "verify");
    cJSON *u = cJSON_GetObjectItemCaseSensitive(v, "unsigned_attachments");
    CHECK(cJSON_GetArraySize(u) == 1 && t_str_eq(cJSON_GetStringValue(cJSON_GetArrayItem(u, 0)), "note.txt"),
          "note.txt unsigned");
    char *w = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(v, "warnings"));
    CHECK(w != NULL && strstr(w, "ATTACHMENT_NOT_SIGNED") != NULL, "warning");
    CHECK(w != NULL && strstr(w, "REVOCATION_NOT_CHECKED") != NULL, "the signer's warning mirrored too");
    free(w);
    /* A verdict-wide warning stays out of the signer's own list. */
    w = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(
        cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(v, "signers"), 0), "warnings"));
    CHECK(w != NULL && strstr(w, "ATTACHMENT_NOT_SIGNED") == NULL, "signer's warnings unchanged");
    free(w);
    CHECK_EQS(str_of(cJSON_GetObjectItemCaseSensitive(v, "package"), "signed_file"), "kousei.xml", "package");
    cJSON_Delete(v);

    /* Wrapping: never TOTAL_PASSED, and the moved element is reported where
     * it really was. */
    CHECK(verify_files(ctx, "egov-wrap-moved.xml", FORMS, &v) == KS_OK, "verify");
    CHECK(ks_verdict_indication(v) != KS_TOTAL_PASSED, "moved");
    r0 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(v, "references"), 0);
    CHECK_EQS(str_of(r0, "covers"), "/構成/署名情報/構成情報[@ID='構成情報']", "moved element located");
    CHECK(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(r0, "valid")), "not valid");
    cJSON_Delete(v);
    ks_ctx_unref(ctx);
}

/* ---------------- DTD attacks and a listener that must stay idle ---------------- */

static atomic_int listener_hits;
static atomic_int listener_stop;

static void *listener_main(void *arg)
{
    int fd = *(int *)arg;
    while (!atomic_load(&listener_stop)) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 50) > 0) {
            int c = accept(fd, NULL, NULL);
            if (c >= 0) {
                atomic_fetch_add(&listener_hits, 1);
                close(c);
            }
        }
    }
    return NULL;
}

static char *replace_all(const char *s, const char *from, const char *to)
{
    size_t n = 0, fl = strlen(from), tl = strlen(to);
    for (const char *p = strstr(s, from); p; p = strstr(p + fl, from))
        n++;
    char *out = malloc(strlen(s) + n * tl + 1), *o = out;
    if (out == NULL)
        return NULL;
    for (const char *p = s;;) {
        const char *q = strstr(p, from);
        if (q == NULL) {
            strcpy(o, p);
            break;
        }
        memcpy(o, p, (size_t)(q - p));
        o += q - p;
        memcpy(o, to, tl);
        o += tl;
        p = q + fl;
    }
    return out;
}

static void test_no_fetch(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 8) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &sl) != 0) {
        CHECK(0, "listener");
        return;
    }
    char base[64];
    snprintf(base, sizeof base, "http://127.0.0.1:%d", ntohs(sa.sin_port));
    pthread_t th;
    pthread_create(&th, NULL, listener_main, &fd);

    /* A marker file: if an entity were expanded, its text would show. */
    char marker[600];
    snprintf(marker, sizeof marker, "%s/tests/xxe-marker.txt", t_env("OUT", "build/rel"));
    FILE *f = fopen(marker, "w");
    if (f != NULL) {
        fputs("KS-XXE-MARKER-7f3a", f);
        fclose(f);
    }
    char docs[6][1400];
    snprintf(docs[0], sizeof docs[0],
             "<?xml version=\"1.0\"?><!DOCTYPE DATA [<!ENTITY x SYSTEM \"%s/entity\">]><DATA>&x;"
             "<Signature xmlns=\"http://www.w3.org/2000/09/xmldsig#\"/></DATA>",
             base);
    snprintf(docs[1], sizeof docs[1],
             "<?xml version=\"1.0\"?><!DOCTYPE DATA SYSTEM \"%s/dtd\"><DATA>"
             "<Signature xmlns=\"http://www.w3.org/2000/09/xmldsig#\"/></DATA>",
             base);
    snprintf(docs[2], sizeof docs[2],
             "<?xml version=\"1.0\"?><!DOCTYPE DATA [<!ENTITY %% p SYSTEM \"%s/param\"> %%p;]><DATA>"
             "<Signature xmlns=\"http://www.w3.org/2000/09/xmldsig#\"/></DATA>",
             base);
    snprintf(docs[3], sizeof docs[3],
             "<?xml version=\"1.0\"?><!DOCTYPE DATA [<!ENTITY x SYSTEM \"file://%s\">]><DATA>&x;"
             "<Signature xmlns=\"http://www.w3.org/2000/09/xmldsig#\"/></DATA>",
             marker);
    snprintf(docs[4], sizeof docs[4],
             "<?xml version=\"1.0\"?><DATA xmlns:xi=\"http://www.w3.org/2001/XInclude\">"
             "<xi:include href=\"%s/xinclude\"/><xi:include href=\"file://%s\" parse=\"text\"/>"
             "<Signature xmlns=\"http://www.w3.org/2000/09/xmldsig#\"/></DATA>",
             base, marker);
    snprintf(docs[5], sizeof docs[5], "<DATA><unclosed></DATA>");
    const ks_result want[] = {KS_E_XML, KS_E_XML, KS_E_XML, KS_E_XML, KS_OK, KS_E_XML};
    ks_ctx *ctx = load("off");
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
        cJSON *v = NULL;
        ks_request req = {.signature = {.data = (const uint8_t *)docs[i], .len = strlen(docs[i])}};
        double t0 = now_s();
        ks_result r = ks_verify_signature(ctx, &req, &v);
        CHECK(r == want[i], "doc %zu: got %s, want %s", i, ks_result_name(r), ks_result_name(want[i]));
        CHECK(now_s() - t0 < 1.0, "doc %zu refused quickly", i);
        char *s = v ? cJSON_PrintUnformatted(v) : NULL;
        CHECK(s == NULL || strstr(s, "KS-XXE-MARKER") == NULL, "doc %zu: nothing read from disk", i);
        CHECK(v == NULL || ks_verdict_indication(v) != KS_TOTAL_PASSED, "doc %zu not passed", i);
        free(s);
        cJSON_Delete(v);
    }

    /* References and KeyInfo pointing at the listener, in signed documents. */
    uint8_t *kousei = NULL, *etax = NULL;
    size_t klen = 0, elen = 0;
    CHECK(read_xml_fixture("egov/kousei.xml", &kousei, &klen), "fixture");
    CHECK(read_xml_fixture("etax-rsa.xtx", &etax, &elen), "fixture");
    char *k0 = kousei ? strndup((const char *)kousei, klen) : NULL;
    char *e0 = etax ? strndup((const char *)etax, elen) : NULL;
    char to[512];
    snprintf(to, sizeof to, "URI=\"%s/form1.xml\"", base);
    char *remote_ref = k0 ? replace_all(k0, "URI=\"form1.xml\"", to) : NULL;
    snprintf(to, sizeof to, "<KeyInfo><RetrievalMethod URI=\"%s/cert\" "
                            "Type=\"http://www.w3.org/2000/09/xmldsig#rawX509Certificate\"/>", base);
    char *retrieval = e0 ? replace_all(e0, "<KeyInfo>", to) : NULL;
    snprintf(to, sizeof to, "</KeyInfo><Object><Manifest><Reference URI=\"%s/x\"><DigestMethod "
                            "Algorithm=\"http://www.w3.org/2001/04/xmlenc#sha256\"/><DigestValue>AAAA</DigestValue>"
                            "</Reference></Manifest></Object>", base);
    char *manifest = e0 ? replace_all(e0, "</KeyInfo>", to) : NULL;
    char *pct = k0 ? replace_all(k0, "URI=\"#構成情報\"", "URI=\"#%E6%A7%8B%E6%88%90%E6%83%85%E5%A0%B1\"") : NULL;
    const struct {
        const char *what;
        const char *doc;
        const char *files;
        const char *indication;
        const char *sub;
    } signed_cases[] = {
        {"detached Reference to http", remote_ref, FORMS, "INDETERMINATE", "FORMAT_FAILURE"},
        {"RetrievalMethod to http (unsigned KeyInfo, ignored)", retrieval, NULL, "TOTAL_PASSED", NULL},
        {"Manifest Reference to http (not processed)", manifest, NULL, "TOTAL_PASSED", NULL},
        /* The Reference rewritten percent-encoded: SignedInfo no longer
         * verifies, but the fragment is decoded before the ID lookup, so
         * the digest over 構成情報 still matches. */
        {"percent-encoded fragment", pct, FORMS, "TOTAL_FAILED", "SIG_CRYPTO_FAILURE"},
    };
    for (size_t i = 0; i < sizeof signed_cases / sizeof signed_cases[0]; i++) {
        cJSON *v = NULL;
        if (signed_cases[i].doc == NULL) {
            CHECK(0, "%s: could not build", signed_cases[i].what);
            continue;
        }
        uint8_t *a1 = NULL, *a2 = NULL;
        size_t l1 = 0, l2 = 0;
        ks_blob att[2];
        size_t natt = 0;
        if (signed_cases[i].files != NULL && read_xml_fixture("egov/form1.xml", &a1, &l1) &&
            read_xml_fixture("egov/form2.pdf", &a2, &l2)) {
            att[0] = (ks_blob){.name = "form1.xml", .data = a1, .len = l1};
            att[1] = (ks_blob){.name = "form2.pdf", .data = a2, .len = l2};
            natt = 2;
        }
        ks_request req = {.signature = {.data = (const uint8_t *)signed_cases[i].doc, .len = strlen(signed_cases[i].doc)},
                          .contents = att,
                          .n_contents = natt};
        ks_result r = ks_verify_signature(ctx, &req, &v);
        CHECK(r == KS_OK, "%s: %s", signed_cases[i].what, ks_result_name(r));
        CHECK_EQS(str_of(v, "indication"), signed_cases[i].indication, signed_cases[i].what);
        CHECK_EQS(str_of(v, "subindication"), signed_cases[i].sub, signed_cases[i].what);
        cJSON *refs0 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(v, "references"), 0);
        if (signed_cases[i].doc == pct) {
            CHECK(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(refs0, "valid")), "percent-encoded fragment resolved");
            CHECK_EQS(str_of(refs0, "covers"), "/構成/構成情報[@ID='構成情報']", "percent-encoded fragment");
        }
        if (signed_cases[i].doc == manifest) {
            char *w = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(v, "warnings"));
            CHECK(w != NULL && strstr(w, "UNSIGNED_OBJECT") != NULL, "unsigned Object reported");
            free(w);
        }
        cJSON_Delete(v);
        free(a1);
        free(a2);
    }
    free(remote_ref);
    free(retrieval);
    free(manifest);
    free(pct);
    free(k0);
    free(e0);
    free(kousei);
    free(etax);
    ks_ctx_unref(ctx);

    usleep(200 * 1000); /* a late connection would still be counted */
    atomic_store(&listener_stop, 1);
    pthread_join(th, NULL);
    close(fd);
    unlink(marker);
    CHECK(atomic_load(&listener_hits) == 0, "the listener saw %d connection(s)", atomic_load(&listener_hits));
}

/* Ceilings: nesting, size, count; and XML that is not a signature. */
static void test_limits(void)
{
    ks_ctx *ctx = load("off");
    size_t max = ks_ctx_max_input(ctx);
    char *deep = malloc(300 * 7 + 100), *many = malloc(17 * 64 + 100), *big = malloc(max + 2);
    if (deep == NULL || many == NULL || big == NULL) {
        CHECK(0, "allocation");
        goto done;
    }
    char *p = deep;
    for (int i = 0; i < 300; i++)
        p += sprintf(p, "<a>");
    for (int i = 0; i < 300; i++)
        p += sprintf(p, "</a>");
    p = many + sprintf(many, "<DATA>");
    for (int i = 0; i < 17; i++)
        p += sprintf(p, "<Signature xmlns=\"http://www.w3.org/2000/09/xmldsig#\"/>");
    sprintf(p, "</DATA>");
    memset(big, ' ', max + 1);
    big[0] = '<';
    const struct {
        const char *what;
        const char *doc;
        size_t len;
        ks_result want;
    } cases[] = {
        {"300 levels deep", deep, strlen(deep), KS_E_XML},
        {"17 Signature elements (max_signers 16)", many, strlen(many), KS_E_LIMIT},
        {"one byte over max_input_bytes", big, max + 1, KS_E_TOO_LARGE},
        {"XML without a Signature", "<DATA id=\"DATA\"/>", 17, KS_E_NOT_SIGNATURE},
        {"BOM and white space before XML", "\xEF\xBB\xBF \n<DATA/>", 13, KS_E_NOT_SIGNATURE},
        {"not well-formed", "<DATA><a></DATA>", 16, KS_E_XML},
        {"a ZIP that is not one", "PK\x03\x04garbage", 11, KS_E_ZIP},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cJSON *v = NULL;
        ks_request req = {.signature = {.data = (const uint8_t *)cases[i].doc, .len = cases[i].len}};
        ks_result r = ks_verify_signature(ctx, &req, &v);
        CHECK(r == cases[i].want, "%s: got %s, want %s", cases[i].what, ks_result_name(r),
              ks_result_name(cases[i].want));
        CHECK(v == NULL, "%s: no verdict", cases[i].what);
        CHECK(ks_result_exit_code(r) == 65, "%s: exit 65", cases[i].what);
        cJSON_Delete(v);
    }
done:
    free(deep);
    free(many);
    free(big);
    ks_ctx_unref(ctx);
}

/* ---------------- the CLI ---------------- */

static void cli(const char *args, int want_rc, const char *want_ind)
{
    const char *k = t_env("KENSHO", "bin/kensho");
    char cfg[PATH_MAX + 64], cmd[3 * PATH_MAX];
    snprintf(cmd, sizeof cmd, "cd '%s/xml' && '%s' verify --config '%s' %s 2>/dev/null", pki, k,
             t_config_path(cfgdir, "off", cfg, sizeof cfg), args);
    FILE *p = popen(cmd, "r");
    char out[65536];
    size_t n = p ? fread(out, 1, sizeof out - 1, p) : 0;
    out[n] = '\0';
    int st = p ? pclose(p) : -1;
    int rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    cJSON *v = cJSON_Parse(out);
    CHECK(rc == want_rc, "kensho verify %s: exit %d, want %d", args, rc, want_rc);
    CHECK_EQS(str_of(v, "indication"), want_ind, args);
    cJSON_Delete(v);
}

static void test_cli(void)
{
    if (access(t_env("KENSHO", "bin/kensho"), X_OK) != 0) {
        CHECK(0, "no kensho binary at %s", t_env("KENSHO", "bin/kensho"));
        return;
    }
    cli("--signature egov/kousei.xml --content egov/form1.xml --content egov/form2.pdf", 0, "TOTAL_PASSED");
    cli("--signature egov/kousei.xml --content egov-altered/form1.xml --content egov/form2.pdf", 1, "TOTAL_FAILED");
    cli("--signature egov/kousei.xml --content egov/form1.xml", 2, "INDETERMINATE");
    cli("--signature egov.zip", 0, "TOTAL_PASSED");
    cli("--signature etax-rsa.xtx", 0, "TOTAL_PASSED");
    cli("--signature bomb-laughs.xml", 65, NULL);
}

/* ---------------- threads and timing ---------------- */

typedef struct {
    ks_ctx *ctx;
    uint8_t *zip, *xtx;
    size_t zlen, xlen;
    int bad;
} thr_arg;

static void *thr_main(void *p)
{
    thr_arg *a = p;
    for (int i = 0; i < 25; i++) {
        cJSON *v = NULL;
        ks_request req = {.signature = {.data = i % 2 ? a->zip : a->xtx, .len = i % 2 ? a->zlen : a->xlen}};
        if (ks_verify_signature(a->ctx, &req, &v) != KS_OK || ks_verdict_indication(v) != KS_TOTAL_PASSED)
            a->bad++;
        cJSON_Delete(v);
    }
    return NULL;
}

static void test_threads_and_time(void)
{
    ks_ctx *ctx = load("off");
    thr_arg args[4];
    pthread_t th[4];
    uint8_t *zip = NULL, *xtx = NULL;
    size_t zlen = 0, xlen = 0;
    CHECK(read_xml_fixture("egov.zip", &zip, &zlen) && read_xml_fixture("etax-rsa.xtx", &xtx, &xlen), "fixtures");
    for (int i = 0; i < 4; i++) {
        args[i] = (thr_arg){.ctx = ctx, .zip = zip, .xtx = xtx, .zlen = zlen, .xlen = xlen};
        pthread_create(&th[i], NULL, thr_main, &args[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        CHECK(args[i].bad == 0, "thread %d: %d verdicts not passed", i, args[i].bad);
    }
    const int n = 100;
    const struct {
        const char *what;
        uint8_t *p;
        size_t len;
    } timed[] = {{"e-Tax .xtx", xtx, xlen}, {"e-Gov ZIP", zip, zlen}};
    for (size_t k = 0; k < 2; k++) {
        double t0 = now_s();
        for (int i = 0; i < n; i++) {
            cJSON *v = NULL;
            ks_request req = {.signature = {.data = timed[k].p, .len = timed[k].len}};
            ks_verify_signature(ctx, &req, &v);
            cJSON_Delete(v);
        }
        fprintf(stderr, "timing: %s verified in %.0f us each (revocation off, %d runs)\n", timed[k].what,
                (now_s() - t0) / n * 1e6, n);
    }
    free(zip);
    free(xtx);
    ks_ctx_unref(ctx);
}

int main(void)
{
    pki = t_env("PKI", "build/pki");
    char probe[600];
    snprintf(probe, sizeof probe, "%s/xml/etax-rsa.xtx", pki);
    if (access(probe, R_OK) != 0) {
        fprintf(stderr, "test_xml: %s missing (bash tests/pki/mkxml.sh %s)\n", probe, pki);
        CHECK(0, "fixtures");
        return t_done("test_xml");
    }
    t_write_configs("cfg-xml", configs, sizeof configs / sizeof configs[0], pki, cfgdir);
    test_rows();
    test_signer_rows();
    test_zip_lying_size();
    test_revoked_like_cms();
    test_references();
    test_no_fetch();
    test_limits();
    test_cli();
    test_threads_and_time();
    return t_done("test_xml");
}
