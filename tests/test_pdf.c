/*
 * tests/test_pdf.c - signed PDFs (PAdES, issue 19) over the fixtures
 * tests/pki/mkpdf.sh writes from the test PKI ($PKI/pdf).  Table-driven:
 * each row names the file, the configuration, the expected result or
 * indication and subindication, covers_whole_document and the
 * modifications the first signer must list.  Then: every signer entry of
 * the two-signature file, poppler's pdfsig as an independent check of the
 * good files, single-byte changes anywhere in a good file (never passed),
 * garbage and truncations, the signer limit, and the CLI.
 */
#include <limits.h>
#include <sys/resource.h>
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
    /* Revocation required, from local CRL files only (no network). */
    {"crlfile", "{\"trust_anchors\": [\"@PKI@/anchors\"], \"intermediates\": [\"@PKI@/intermediates\"],"
                " \"accept_policies\": [\"1.2.392.200149.8.5.1.1.20\"],"
                " \"crls\": [\"@PKI@/ministry-ca.crl\", \"@PKI@/gpki-bca.crl\", \"@PKI@/jpki-bca.crl\"],"
                " \"revocation\": {\"mode\": \"require\"},"
                " \"revocation_sources\": [{\"issuer\": \"@PKI@/pref-ca-self.pem\", \"crl\": [\"@PKI@/pref-ca.crl\"]}]}"},
    {"one-signer", "{\"trust_anchors\": [\"@PKI@/anchors\"], \"intermediates\": [\"@PKI@/intermediates\"],"
                   " \"revocation\": {\"mode\": \"off\"}, \"limits\": {\"max_signers\": 1}}"},
};

static const char *str_of(const cJSON *o, const char *k)
{
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, k));
}

#define CHECK_EQS(got, want, what)                                                                           \
    do {                                                                                                     \
        const char *g_ = (got), *w_ = (want);                                                                \
        CHECK(t_str_eq(g_, w_), "%s: got \"%s\", want \"%s\"", (what), t_str(g_), t_str(w_));                 \
    } while (0)

static int read_pdf(const char *name, uint8_t **buf, size_t *len)
{
    char path[700];
    snprintf(path, sizeof path, "%s/pdf/%s", pki, name);
    return ks_read_file(path, 64 * 1024 * 1024, buf, len) == KS_OK;
}

static ks_result verify_bytes(ks_ctx *ctx, const uint8_t *p, size_t n, cJSON **v)
{
    ks_request req = {.signature = {.name = "x.pdf", .data = p, .len = n}};
    return ks_verify_signature(ctx, &req, v);
}

static ks_result verify_file(ks_ctx *ctx, const char *name, cJSON **v)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    *v = NULL;
    if (!read_pdf(name, &buf, &len))
        return KS_E_IO;
    ks_result r = verify_bytes(ctx, buf, len, v);
    free(buf);
    return r;
}

enum { COVERS_ANY = -1 };

static const struct row {
    const char *file;
    const char *config;
    ks_result result; /* KS_OK: a verdict is expected */
    const char *indication;
    const char *sub;
    int covers; /* the first signer's covers_whole_document, or COVERS_ANY */
    const char *mods; /* "kind=allowed ..." the first signer must list; NULL: none at all */
} rows[] = {
    /* Good: both SubFilters, RSA and ECDSA, with and without attributes. */
    {"good-rsa.pdf", "off", KS_OK, "TOTAL_PASSED", NULL, 1, NULL},
    {"good-ec.pdf", "off", KS_OK, "TOTAL_PASSED", NULL, 1, NULL},
    {"good-cades-rsa.pdf", "off", KS_OK, "TOTAL_PASSED", NULL, 1, NULL},
    {"good-cades-ec.pdf", "off", KS_OK, "TOTAL_PASSED", NULL, 1, NULL},
    {"good-noattr.pdf", "off", KS_OK, "TOTAL_PASSED", NULL, 1, NULL},
    {"good-rsa.pdf", "crlfile", KS_OK, "TOTAL_PASSED", NULL, 1, NULL},
    /* Signed by an incremental update of a document with object streams
     * and an xref stream (as signing tools do); then a page added. */
    {"incr-objstm-signed.pdf", "off", KS_OK, "TOTAL_PASSED", NULL, 1, NULL},
    {"incr-objstm-page.pdf", "off", KS_OK, "TOTAL_FAILED", "HASH_FAILURE", 0, "page_added=0"},
    /* Two signatures: the first one lists the second as an allowed change. */
    {"two-sigs.pdf", "off", KS_OK, "TOTAL_PASSED", NULL, 0, "signature_added=1"},
    {"two-sigs.pdf", "one-signer", KS_E_LIMIT, NULL, NULL, COVERS_ANY, NULL},
    /* Indirect /AcroForm, /Fields, /Annots and /Contents arrays (a crash
     * once): entries may be added, none dropped. */
    {"two-sigs-indirect.pdf", "off", KS_OK, "TOTAL_PASSED", NULL, 0, "signature_added=1"},
    {"two-sigs-indirect-dropped.pdf", "off", KS_OK, "TOTAL_FAILED", "HASH_FAILURE", 0, "other=0 signature_added=1"},
    /* Allowed updates after an approval signature. */
    {"form-fill.pdf", "off", KS_OK, "TOTAL_PASSED", NULL, 0, "form_field_filled=1"},
    {"dss-added.pdf", "off", KS_OK, "TOTAL_PASSED", NULL, 0, "dss_added=1"},
    {"cert-p3-annot.pdf", "off", KS_OK, "TOTAL_PASSED", NULL, 0, "annotation_added=1"},
    /* Signers the path, revocation or policy refuse. */
    {"revoked.pdf", "crlfile", KS_OK, "TOTAL_FAILED", "REVOKED", 1, NULL},
    {"expired.pdf", "off", KS_OK, "TOTAL_FAILED", "EXPIRED", 1, NULL},
    {"untrusted.pdf", "off", KS_OK, "INDETERMINATE", "NO_CERTIFICATE_CHAIN_FOUND", 1, NULL},
    {"legacy-sha1-subfilter.pdf", "off", KS_OK, "INDETERMINATE", "CRYPTO_CONSTRAINTS_FAILURE", 1, NULL},
    {"cades-no-ess.pdf", "off", KS_OK, "INDETERMINATE", "FORMAT_FAILURE", 1, NULL},
    /* A byte of the signed page content changed. */
    {"tampered.pdf", "off", KS_OK, "TOTAL_FAILED", "HASH_FAILURE", 1, NULL},
    /* Not a signed PDF we can read. */
    {"unsigned.pdf", "off", KS_E_PDF_UNSIGNED, NULL, NULL, COVERS_ANY, NULL},
    {"encrypted.pdf", "off", KS_E_PDF_ENCRYPTED, NULL, NULL, COVERS_ANY, NULL},
    {"encrypted-open.pdf", "off", KS_E_PDF_ENCRYPTED, NULL, NULL, COVERS_ANY, NULL},
    /* Rule 1: universal signature forgery. */
    {"usf-no-byterange.pdf", "off", KS_OK, "INDETERMINATE", "FORMAT_FAILURE", 0, NULL},
    {"usf-no-contents.pdf", "off", KS_OK, "INDETERMINATE", "FORMAT_FAILURE", 0, NULL},
    {"usf-null-contents.pdf", "off", KS_OK, "INDETERMINATE", "FORMAT_FAILURE", 0, NULL},
    {"usf-empty-contents.pdf", "off", KS_OK, "INDETERMINATE", "FORMAT_FAILURE", 0, NULL},
    {"usf-zero-range.pdf", "off", KS_OK, "INDETERMINATE", "FORMAT_FAILURE", 0, NULL},
    {"usf-range-not-zero.pdf", "off", KS_OK, "INDETERMINATE", "FORMAT_FAILURE", 0, NULL},
    {"usf-negative-range.pdf", "off", KS_OK, "INDETERMINATE", "FORMAT_FAILURE", 0, NULL},
    {"usf-overlap-range.pdf", "off", KS_OK, "INDETERMINATE", "FORMAT_FAILURE", 0, NULL},
    {"usf-real-range.pdf", "off", KS_OK, "INDETERMINATE", "FORMAT_FAILURE", 0, NULL},
    /* Rule 2: the gap is exactly /Contents; nothing unaccounted at the end. */
    {"gap-larger.pdf", "off", KS_OK, "INDETERMINATE", "FORMAT_FAILURE", 0, NULL},
    {"eof-garbage.pdf", "off", KS_OK, "TOTAL_FAILED", "HASH_FAILURE", 0, "other=0"},
    /* Rule 3: incremental saving and shadow attacks. */
    {"isa-content.pdf", "off", KS_OK, "TOTAL_FAILED", "HASH_FAILURE", 0, "page_content_changed=0"},
    {"isa-page.pdf", "off", KS_OK, "TOTAL_FAILED", "HASH_FAILURE", 0, "page_added=0"},
    {"isa-free-content.pdf", "off", KS_OK, "TOTAL_FAILED", "HASH_FAILURE", 0, "page_content_changed=0"},
    {"isa-annot.pdf", "off", KS_OK, "TOTAL_FAILED", "HASH_FAILURE", 0, "annotation_added=0"},
    {"cert-p1-annot.pdf", "off", KS_OK, "TOTAL_FAILED", "HASH_FAILURE", 0, "annotation_added=0"},
    {"shadow-hide.pdf", "off", KS_OK, "TOTAL_FAILED", "HASH_FAILURE", 0, "other=0"},
    {"shadow-replace.pdf", "off", KS_OK, "TOTAL_FAILED", "HASH_FAILURE", 0, "catalog_replaced=0"},
    {"shadow-late-object.pdf", "off", KS_OK, "TOTAL_FAILED", "HASH_FAILURE", 0, "other=0"},
    /* Rule 5: past a comparison ceiling the analysis stops: never passed. */
    {"limit-keys.pdf", "off", KS_OK, "INDETERMINATE", "FORMAT_FAILURE", 0, "dss_added=1"},
    /* Rule 4: signature wrapping, an attacker's object and xref in the gap. */
    {"swa-gap-xref.pdf", "off", KS_OK, "INDETERMINATE", "FORMAT_FAILURE", 0, NULL},
};

/* 1 when mods holds {kind, allowed} (any object). */
static int has_mod(const cJSON *mods, const char *kind, int allowed)
{
    const cJSON *m;
    cJSON_ArrayForEach(m, mods)
    {
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(m, "allowed");
        if (t_str_eq(str_of(m, "kind"), kind) && cJSON_IsBool(a) && cJSON_IsTrue(a) == allowed)
            return 1;
    }
    return 0;
}

static void check_mods(const char *what, const cJSON *so, const char *want)
{
    const cJSON *mods = cJSON_GetObjectItemCaseSensitive(so, "modifications_after_signing");
    if (want == NULL) {
        CHECK(cJSON_GetArraySize(mods) == 0, "%s: no modifications listed, got %d", what, cJSON_GetArraySize(mods));
        return;
    }
    char tmp[256];
    snprintf(tmp, sizeof tmp, "%s", want);
    for (char *save = NULL, *tok = strtok_r(tmp, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
        char *eq = strchr(tok, '=');
        *eq = '\0';
        int allowed = eq[1] == '1';
        CHECK(has_mod(mods, tok, allowed), "%s: modification %s allowed=%d listed", what, tok, allowed);
    }
}

static void test_rows(void)
{
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const struct row *r = &rows[i];
        char what[300];
        snprintf(what, sizeof what, "%s [%s]", r->file, r->config);
        ks_ctx *ctx = t_load_config(cfgdir, r->config);
        cJSON *v = NULL;
        ks_result res = verify_file(ctx, r->file, &v);
        CHECK(res == r->result, "%s: got %s, want %s", what, ks_result_name(res), ks_result_name(r->result));
        if (r->result != KS_OK) {
            CHECK(v == NULL, "%s: no verdict with an error", what);
        } else if (v != NULL) {
            char ctxmsg[600];
            snprintf(ctxmsg, sizeof ctxmsg, "%s (reasons: %s)", what,
                     t_str(str_of(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(v, "reasons"), 0), "en")));
            CHECK_EQS(str_of(v, "indication"), r->indication, ctxmsg);
            CHECK_EQS(str_of(v, "subindication"), r->sub, ctxmsg);
            CHECK_EQS(str_of(v, "format"), "pdf", what);
            cJSON *so = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(v, "signers"), 0);
            CHECK_EQS(str_of(so, "field"), "Signature1", what);
            const cJSON *cov = cJSON_GetObjectItemCaseSensitive(so, "covers_whole_document");
            if (r->covers != COVERS_ANY)
                CHECK(cJSON_IsBool(cov) && cJSON_IsTrue(cov) == r->covers, "%s: covers_whole_document %s, want %d",
                      what, cJSON_IsBool(cov) ? (cJSON_IsTrue(cov) ? "true" : "false") : "absent", r->covers);
            /* The claims are the signer's words, reported as such. */
            const cJSON *claims = cJSON_GetObjectItemCaseSensitive(so, "claims");
            if (strncmp(r->file, "swa-", 4) != 0) /* the wrapping closes the dictionary before them */
                CHECK_EQS(str_of(claims, "location"), "Matsumoto", what);
            CHECK(cJSON_GetObjectItemCaseSensitive(so, "reason") == NULL, "%s: /Reason only under claims", what);
            if (r->covers == 1 || (r->mods != NULL && strcmp(r->sub ? r->sub : "", "FORMAT_FAILURE") != 0)) {
                const cJSON *br = cJSON_GetObjectItemCaseSensitive(so, "byte_range");
                CHECK(cJSON_GetArraySize(br) == 4 && cJSON_GetArrayItem(br, 0)->valuedouble == 0,
                      "%s: byte_range [0 a b c]", what);
                CHECK(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(so, "signed_revision_bytes")) &&
                          cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(so, "revision")),
                      "%s: revision and signed_revision_bytes", what);
            }
            check_mods(what, so, r->mods);
        }
        cJSON_Delete(v);
        ks_ctx_unref(ctx);
    }
}

/* Each signature of the two-signature file on its own. */
static void test_two_signers(void)
{
    ks_ctx *ctx = t_load_config(cfgdir, "off");
    cJSON *v = NULL;
    CHECK(verify_file(ctx, "two-sigs.pdf", &v) == KS_OK, "two-sigs: verdict");
    cJSON *signers = cJSON_GetObjectItemCaseSensitive(v, "signers");
    CHECK(cJSON_GetArraySize(signers) == 2, "two-sigs: 2 signers, got %d", cJSON_GetArraySize(signers));
    cJSON *a = cJSON_GetArrayItem(signers, 0), *b = cJSON_GetArrayItem(signers, 1);
    CHECK_EQS(str_of(a, "sub_filter"), "adbe.pkcs7.detached", "two-sigs first");
    CHECK_EQS(str_of(b, "sub_filter"), "ETSI.CAdES.detached", "two-sigs second");
    CHECK_EQS(str_of(b, "field"), "Signature2", "two-sigs second");
    CHECK_EQS(str_of(b, "indication"), "TOTAL_PASSED", "two-sigs second");
    CHECK(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(b, "covers_whole_document")), "two-sigs: the second covers all");
    cJSON *ra = cJSON_GetObjectItemCaseSensitive(a, "revision"), *rb = cJSON_GetObjectItemCaseSensitive(b, "revision");
    CHECK(cJSON_IsNumber(ra) && cJSON_IsNumber(rb) && ra->valuedouble == 1 && rb->valuedouble == 2,
          "two-sigs: revisions 1 and 2");
    /* The reasons claim only what was checked: the document did change. */
    for (int i = 0; i < 2; i++) {
        const char *en = str_of(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(i ? v : a, "reasons"), 0), "en");
        CHECK(en != NULL && strstr(en, "has not been changed since") == NULL &&
                  strstr(en, "later updates to the document are ones the signature allows") != NULL,
              "two-sigs: %s reason: %s", i ? "the verdict's" : "the first signer's", t_str(en));
    }
    const char *en2 = str_of(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(b, "reasons"), 0), "en");
    CHECK(en2 != NULL && strstr(en2, "has not been changed since it was signed") != NULL,
          "two-sigs: the second signer's reason: %s", t_str(en2));
    char *w = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(a, "warnings"));
    CHECK(w != NULL && strstr(w, "PDF_CHANGED_AFTER_SIGNING") != NULL, "two-sigs: the first warns of the update");
    free(w);
    const char *subj = str_of(cJSON_GetObjectItemCaseSensitive(b, "signer"), "subject");
    CHECK(subj != NULL && strstr(subj, "SYNTH") != NULL, "two-sigs: the second signer is named");
    cJSON_Delete(v);
    ks_ctx_unref(ctx);
}

/* poppler's pdfsig, an independent implementation, agrees on the good
 * files (certificates aside: -nocert, its trust store is not ours). */
static void test_pdfsig(void)
{
    static const char *const good[] = {"good-rsa.pdf", "good-ec.pdf", "good-cades-rsa.pdf", "good-cades-ec.pdf",
                                       "good-noattr.pdf", "incr-objstm-signed.pdf"};
    if (system("command -v pdfsig >/dev/null 2>&1") != 0) {
        CHECK(0, "pdfsig not found (apt-get install poppler-utils)");
        return;
    }
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        char cmd[900], out[4096];
        snprintf(cmd, sizeof cmd, "pdfsig -nocert '%s/pdf/%s' 2>&1", pki, good[i]);
        FILE *p = popen(cmd, "r");
        size_t n = p ? fread(out, 1, sizeof out - 1, p) : 0;
        out[n] = '\0';
        if (p)
            pclose(p);
        CHECK(strstr(out, "Total document signed") != NULL && strstr(out, "Signature is Valid.") != NULL,
              "pdfsig %s: %s", good[i], out);
    }
}

/* Any single byte changed anywhere in a good file: never TOTAL_PASSED, and
 * a verdict or an error, never both or neither. */
static void test_byte_flips(void)
{
    ks_ctx *ctx = t_load_config(cfgdir, "off");
    uint8_t *buf = NULL;
    size_t len = 0;
    CHECK(read_pdf("good-rsa.pdf", &buf, &len), "good-rsa.pdf readable");
    int passed = 0, tried = 0, inconsistent = 0;
    for (size_t off = 0; buf != NULL && off < len; off += 61) {
        uint8_t save = buf[off];
        buf[off] = (uint8_t)(save == '0' ? '1' : save ^ 0x01);
        cJSON *v = NULL;
        ks_result r = verify_bytes(ctx, buf, len, &v);
        if ((r == KS_OK) != (v != NULL))
            inconsistent++;
        if (v != NULL && ks_verdict_indication(v) == KS_TOTAL_PASSED) {
            passed++;
            fprintf(stderr, "test_pdf: a flip at %zu still passes\n", off);
        }
        cJSON_Delete(v);
        buf[off] = save;
        tried++;
    }
    CHECK(tried > 200 && passed == 0, "byte flips: %d of %d passed", passed, tried);
    CHECK(inconsistent == 0, "byte flips: %d results disagree with the verdict", inconsistent);
    /* Truncations and trailing bytes: never passed either. */
    passed = 0;
    for (size_t cut = 1; buf != NULL && cut < len; cut += len / 37) {
        cJSON *v = NULL;
        verify_bytes(ctx, buf, cut, &v);
        passed += v != NULL && ks_verdict_indication(v) == KS_TOTAL_PASSED;
        cJSON_Delete(v);
    }
    CHECK(passed == 0, "truncations: %d passed", passed);
    free(buf);
    cJSON *v = NULL;
    CHECK(verify_bytes(ctx, (const uint8_t *)"%PDF-1.7\nnot a pdf at all", 25, &v) == KS_E_PDF && v == NULL,
          "garbage after %%PDF-: KS_E_PDF");
    ks_request req = {.signature = {.data = (const uint8_t *)"%PDF-1.7\n", .len = 9},
                      .contents = &req.signature,
                      .n_contents = 1};
    CHECK(ks_verify_signature(ctx, &req, &v) == KS_E_CONTENT_CONFLICT && v == NULL,
          "a PDF with detached content: KS_E_CONTENT_CONFLICT");
    ks_ctx_unref(ctx);
}

/* Rule 5: a 0.5 MB PDF whose object stream inflates to 512 MiB is refused
 * within the inflate allowance (before it: 1 GB and 14 s).  In a child,
 * whose peak memory getrusage reports on its own. */
static void test_bomb(void)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid_t pid = fork();
    if (pid == 0) {
        ks_ctx *ctx = t_load_config(cfgdir, "off");
        cJSON *v = NULL;
        ks_result r = verify_file(ctx, "bomb-objstm.pdf", &v);
        _exit(r == KS_E_PDF && v == NULL ? 0 : 10 + (int)r);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    struct rusage ru;
    getrusage(RUSAGE_CHILDREN, &ru);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "bomb-objstm.pdf: KS_E_PDF (exit %d; 10+n: result n)",
          WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    CHECK(ru.ru_maxrss < 400 * 1024, "bomb-objstm.pdf: peak %ld MiB, want < 400", ru.ru_maxrss / 1024);
    CHECK(secs < 10.0, "bomb-objstm.pdf: %.1f s, want < 10", secs);
}

/* bin/kensho: exit 0 for a good file, 1 for an attack, 65 for no signature. */
static void test_cli(void)
{
    const char *k = getenv("KENSHO");
    if (k == NULL) {
        fprintf(stderr, "test_pdf: KENSHO unset, CLI checks skipped\n");
        return;
    }
    static const struct {
        const char *file;
        int code;
        const char *needle;
    } cli[] = {
        {"good-cades-rsa.pdf", 0, "\"format\":\"pdf\""},
        {"shadow-replace.pdf", 1, "\"catalog_replaced\""},
        {"unsigned.pdf", 65, "KS_E_PDF_UNSIGNED"},
    };
    char cfg[PATH_MAX + 64];
    t_config_path(cfgdir, "off", cfg, sizeof cfg);
    for (size_t i = 0; i < sizeof cli / sizeof cli[0]; i++) {
        char cmd[3 * PATH_MAX], out[65536];
        snprintf(cmd, sizeof cmd, "'%s' verify --config '%s' --signature '%s/pdf/%s' 2>/dev/null", k, cfg, pki,
                 cli[i].file);
        FILE *p = popen(cmd, "r");
        size_t n = p ? fread(out, 1, sizeof out - 1, p) : 0;
        out[n] = '\0';
        int st = p ? pclose(p) : -1;
        CHECK(WIFEXITED(st) && WEXITSTATUS(st) == cli[i].code, "kensho verify %s: exit %d, want %d", cli[i].file,
              WIFEXITED(st) ? WEXITSTATUS(st) : -1, cli[i].code);
        CHECK(strstr(out, cli[i].needle) != NULL, "kensho verify %s: output has %s", cli[i].file, cli[i].needle);
    }
}

int main(void)
{
    pki = t_env("PKI", "build/pki");
    char probe[600];
    snprintf(probe, sizeof probe, "%s/pdf/good-rsa.pdf", pki);
    if (access(probe, R_OK) != 0) {
        fprintf(stderr, "test_pdf: %s missing (bash tests/pki/mkpdf.sh %s)\n", probe, pki);
        CHECK(0, "fixtures");
        return t_done("test_pdf");
    }
    t_write_configs("cfg-pdf", configs, sizeof configs / sizeof configs[0], pki, cfgdir);
    test_bomb(); /* first: getrusage reports the largest child so far */
    test_rows();
    test_two_signers();
    test_pdfsig();
    test_byte_flips();
    test_cli();
    return t_done("test_pdf");
}
