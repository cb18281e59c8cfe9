/*
 * tests/test_oom.c - a verdict is built completely or not at all.
 *
 * cJSON's allocator fails exactly the Nth allocation, for every N up to
 * the number a verification makes, in two ways: underneath the library's
 * own hooks (which latch the failure: verdict.c), and with cJSON_InitHooks
 * replacing them (so only the explicit check of every builder call can
 * notice).  Each run must either answer KS_E_NOMEM with no verdict, or
 * print exactly the verdict an undisturbed run prints: a TOTAL_PASSED
 * without its chain, its revocation evidence or its REVOCATION_NOT_CHECKED
 * warning is the fail-open this test exists for.  The second way found a
 * signer loop answering KS_OK with no verdict, cJSON's ReplaceItemInObject
 * leaving an item without a name, and a duplicated "subject" in revocation
 * evidence.
 *
 * Rows name the configuration, the input and the indication the undisturbed
 * run must give, so a broken fixture cannot make the test vacuous.  Hash-only
 * rows send the SHA-256 of the content files instead of the files (named
 * after them for XML): their verdict must keep "content_checked".
 */
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "internal.h"
#include "testlib.h"

static const char *pki;
static char cfgdir[PATH_MAX];

static const t_config configs[] = {
    {"off", "{\"trust_anchors\": [\"@PKI@/anchors\"], \"intermediates\": [\"@PKI@/intermediates\"],"
            " \"revocation\": {\"mode\": \"off\"}}"},
    {"softfail", "{\"trust_anchors\": [\"@PKI@/anchors\"], \"intermediates\": [\"@PKI@/intermediates\"],"
                 " \"revocation\": {\"mode\": \"soft-fail\"}}"},
    {"crl", "{\"trust_anchors\": [\"@PKI@/anchors\"], \"intermediates\": [\"@PKI@/intermediates\"],"
            " \"crls\": [\"@PKI@/pref-ca.crl\", \"@PKI@/pref-ca2.crl\", \"@PKI@/jpki-bca.crl\","
            " \"@PKI@/gpki-bca.crl\", \"@PKI@/ministry-ca.crl\"]}"},
};

typedef enum { ROW_SIGNATURE, ROW_CERTIFICATE, ROW_HASH_ONLY } row_kind;

static const struct row {
    row_kind kind;
    const char *input; /* relative to $PKI */
    const char *content; /* ROW_HASH_ONLY: space-separated files digested */
    const char *config;
    const char *indication; /* of the undisturbed run */
} rows[] = {
    {ROW_SIGNATURE, "sig-attached-rsa.p7m", NULL, "off", "TOTAL_PASSED"},
    {ROW_SIGNATURE, "sig-attached-rsa.p7m", NULL, "softfail", "TOTAL_PASSED"},
    {ROW_SIGNATURE, "sig-attached-rsa.p7m", NULL, "crl", "TOTAL_PASSED"},
    {ROW_SIGNATURE, "sig-detached-rsa.p7s", "doc.txt", "crl", "TOTAL_PASSED"},
    {ROW_SIGNATURE, "sig-two-signers.p7m", NULL, "crl", "TOTAL_PASSED"},
    {ROW_SIGNATURE, "sig-attached-revoked.p7m", NULL, "crl", "TOTAL_FAILED"},
    {ROW_SIGNATURE, "sig-attached-expired.p7m", NULL, "off", "TOTAL_FAILED"},
    {ROW_SIGNATURE, "xml/etax-rsa.xtx", NULL, "crl", "TOTAL_PASSED"},
    {ROW_SIGNATURE, "xml/etax-xades.xtx", NULL, "off", "TOTAL_PASSED"},
    {ROW_HASH_ONLY, "sig-detached-rsa.p7s", "doc.txt", "crl", "TOTAL_PASSED"},
    {ROW_HASH_ONLY, "xml/egov/kousei.xml", "xml/egov/form1.xml xml/egov/form2.pdf", "off", "TOTAL_PASSED"},
    {ROW_CERTIFICATE, "citizen-rsa.pem", NULL, "crl", "TOTAL_PASSED"},
    {ROW_CERTIFICATE, "citizen-rsa.pem", NULL, "off", "TOTAL_PASSED"},
};

/* ---------------- the failing allocator ---------------- */

static long alloc_count; /* allocations made since the hooks were armed */
static long fail_at;     /* the allocation to fail (1-based); 0: none    */

static void *failing_malloc(size_t n)
{
    if (++alloc_count == fail_at)
        return NULL;
    return malloc(n);
}

/* Two ways in: underneath the library's own cJSON hooks (verdict.c), which
 * latch the failure, and with cJSON_InitHooks replacing them, which only
 * the explicit checks of every builder call can answer. */
static int raw_hooks;

static void arm(long nth)
{
    alloc_count = 0;
    fail_at = nth;
    if (raw_hooks) {
        cJSON_Hooks h = {.malloc_fn = failing_malloc, .free_fn = free};
        cJSON_InitHooks(&h);
    } else {
        ks_json_set_backend(failing_malloc);
    }
}

static void disarm(void)
{
    ks_json_set_backend(NULL); /* the library's hooks, over malloc */
}

/* ---------------- one verification ---------------- */

#define MAXDIG 2

typedef struct {
    uint8_t *in, *content;
    size_t inlen, contentlen;
    ks_digest digs[MAXDIG]; /* ROW_HASH_ONLY */
    uint8_t md[MAXDIG][32];
    char names[MAXDIG][64];
    size_t ndigs;
} inputs;

/* The SHA-256 of each content file of a hash-only row, named by its base
 * name for an XML signature. */
static int digest_contents(const struct row *r, inputs *ins)
{
    char list[256];
    snprintf(list, sizeof list, "%s", r->content);
    for (char *save = NULL, *t = strtok_r(list, " ", &save); t != NULL; t = strtok_r(NULL, " ", &save)) {
        uint8_t *buf = NULL;
        size_t len = 0;
        unsigned int mdlen = 0;
        if (ins->ndigs == MAXDIG || !t_read(pki, t, &buf, &len))
            return 0;
        int ok = EVP_Digest(buf, len, ins->md[ins->ndigs], &mdlen, EVP_sha256(), NULL) == 1;
        free(buf);
        const char *slash = strrchr(t, '/');
        snprintf(ins->names[ins->ndigs], sizeof ins->names[0], "%s", slash ? slash + 1 : t);
        ins->digs[ins->ndigs] = (ks_digest){.name = strncmp(r->input, "xml/", 4) == 0 ? ins->names[ins->ndigs] : NULL,
                                            .algorithm = "sha256",
                                            .value = ins->md[ins->ndigs],
                                            .len = mdlen};
        ins->ndigs++;
        if (!ok)
            return 0;
    }
    return ins->ndigs > 0;
}

static ks_result run(ks_ctx *ctx, const struct row *r, const inputs *ins, time_t at, cJSON **v)
{
    if (r->kind == ROW_CERTIFICATE) {
        ks_blob b = {.name = r->input, .data = ins->in, .len = ins->inlen};
        return ks_verify_certificate(ctx, &b, at, 1, v);
    }
    int hash_only = r->kind == ROW_HASH_ONLY;
    ks_blob content = {.name = r->content, .data = ins->content, .len = ins->contentlen};
    ks_request req = {.signature = {.name = r->input, .data = ins->in, .len = ins->inlen},
                      .contents = r->content && !hash_only ? &content : NULL,
                      .n_contents = r->content && !hash_only ? 1 : 0,
                      .digests = hash_only ? ins->digs : NULL,
                      .n_digests = hash_only ? ins->ndigs : 0,
                      .at = at,
                      .has_at = 1};
    return ks_verify_signature(ctx, &req, v);
}

/* Prints (with the real allocator) and frees. */
static char *printed(cJSON *v)
{
    char *s = v ? cJSON_PrintUnformatted(v) : NULL;
    cJSON_Delete(v);
    return s;
}

static void run_row(const struct row *r)
{
    inputs ins = {0};
    char *want = NULL;
    ks_ctx *ctx = t_load_config(cfgdir, r->config);
    time_t at = time(NULL);
    if (!t_read(pki, r->input, &ins.in, &ins.inlen) ||
        (r->kind == ROW_HASH_ONLY ? !digest_contents(r, &ins)
                                  : r->content && !t_read(pki, r->content, &ins.content, &ins.contentlen))) {
        CHECK(0, "%s: fixture missing", r->input);
        goto done;
    }
    /* Twice undisturbed: the first run fills the caches, the second is the
     * verdict every later run must reproduce exactly. */
    for (int i = 0; i < 2; i++) {
        cJSON *v = NULL;
        ks_result res = run(ctx, r, &ins, at, &v);
        CHECK(res == KS_OK, "%s/%s: undisturbed run: %s", r->input, r->config, ks_result_name(res));
        if (res != KS_OK)
            goto done;
        if (i == 1)
            CHECK_STR(ks_indication_name(ks_verdict_indication(v)), r->indication, "%s/%s", r->input, r->config);
        if (i == 1 && r->kind == ROW_HASH_ONLY)
            CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(v, "content_checked")), "digest", "%s/%s",
                      r->input, r->config);
        free(want);
        want = printed(v);
    }
    /* How many cJSON allocations one verification makes. */
    cJSON *v = NULL;
    arm(0);
    run(ctx, r, &ins, at, &v);
    long total = alloc_count;
    disarm();
    cJSON_Delete(v);
    CHECK(total > 10, "%s/%s: only %ld allocations counted", r->input, r->config, total);

    long nomem = 0, partial = 0, other = 0;
    for (long n = 1; n <= total; n++) {
        v = NULL;
        arm(n);
        ks_result res = run(ctx, r, &ins, at, &v);
        disarm();
        if (res == KS_OK) {
            char *got = printed(v);
            if (got == NULL || strcmp(got, want) != 0) {
                if (partial++ < 3)
                    {
                    size_t k = 0;
                    while (got && got[k] && got[k] == want[k])
                        k++;
                    fprintf(stderr, "  %s/%s: allocation %ld of %ld failed, verdict differs at byte %zu:\n"
                            "    want ...%.120s\n    got  ...%.120s\n", r->input, r->config, n, total, k,
                            want + (k > 40 ? k - 40 : 0), got ? got + (k > 40 ? k - 40 : 0) : "(unprintable)");
                }
            }
            free(got);
        } else if (res == KS_E_NOMEM && v == NULL) {
            nomem++;
        } else {
            cJSON_Delete(v);
            if (other++ < 3)
                fprintf(stderr, "  %s/%s: allocation %ld failed: %s\n", r->input, r->config, n, ks_result_name(res));
        }
    }
    CHECK(partial == 0, "%s/%s: %ld of %ld failed allocations gave a verdict other than the complete one",
          r->input, r->config, partial, total);
    CHECK(other == 0, "%s/%s: %ld failed allocations gave a result other than KS_E_NOMEM", r->input, r->config,
          other);
    CHECK(nomem > 0, "%s/%s: no failed allocation was reported as KS_E_NOMEM", r->input, r->config);
done:
    disarm();
    free(want);
    free(ins.in);
    free(ins.content);
    ks_ctx_unref(ctx);
}

int main(void)
{
    pki = t_env("PKI", "build/pki");
    if (access(pki, R_OK) != 0) {
        fprintf(stderr, "no test PKI at %s (make pki)\n", pki);
        return 2;
    }
    t_write_configs("oom", configs, sizeof configs / sizeof configs[0], pki, cfgdir);
    for (raw_hooks = 0; raw_hooks < 2; raw_hooks++)
        for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
            run_row(&rows[i]);
    return t_done("test_oom");
}
