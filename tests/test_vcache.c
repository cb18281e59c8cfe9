/*
 * tests/test_vcache.c - what verify/vcache.c keeps between requests must
 * never outlive what made it valid.  The same filing is verified again and
 * again while the injected clock moves: the second answer comes from the
 * cache (hits counted), and once the clock crosses a certificate's
 * notAfter or a CRL's nextUpdate the verdict is the one a fresh context
 * gives, never a cached PASSED.  Rows name the expected indication.
 * Last, certificates shared between threads from their first use: many
 * threads verify one filing at once on a fresh context, again and again.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "verify.h"
#include "internal.h"
#include "testlib.h"

static time_t g_now;
static time_t clock_fn(void *arg)
{
    (void)arg;
    return g_now;
}

static uint8_t *slurp(const char *path, size_t *len)
{
    uint8_t *buf = NULL;
    if (ks_read_file(path, 1 << 24, &buf, len) != KS_OK) {
        fprintf(stderr, "cannot read %s\n", path);
        exit(2);
    }
    return buf;
}

static const char *verify_ind(ks_ctx *ctx, const uint8_t *sig, size_t len, char *sub, size_t sublen)
{
    ks_request rq = {.signature = {.data = sig, .len = len}};
    cJSON *v = NULL;
    static char ind[64];
    snprintf(ind, sizeof ind, "error");
    if (sub)
        snprintf(sub, sublen, "-");
    if (ks_verify_signature(ctx, &rq, &v) == KS_OK) {
        snprintf(ind, sizeof ind, "%s", t_str(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(v, "indication"))));
        if (sub)
            snprintf(sub, sublen, "%s",
                     t_str(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(v, "subindication"))));
    }
    cJSON_Delete(v);
    return ind;
}

/* ---- threads meeting on new certificates ---- */
typedef struct {
    ks_ctx *ctx;
    const uint8_t *der;
    size_t len;
    pthread_barrier_t *start;
    int passed;
} race_arg;

static void *race_worker(void *p)
{
    race_arg *r = p;
    ks_request rq = {.signature = {.data = r->der, .len = r->len}};
    cJSON *v = NULL;
    pthread_barrier_wait(r->start);
    r->passed = ks_verify_signature(r->ctx, &rq, &v) == KS_OK && ks_verdict_indication(v) == KS_TOTAL_PASSED;
    cJSON_Delete(v);
    return NULL;
}

/* Rounds of RACE_THREADS verifications of one filing, all released at once
 * on a context nobody used yet, so the threads meet on certificates (the
 * configured CAs, the embedded signer) on their first use.  OpenSSL 3.0
 * publishes a certificate's policy cache before filling it, so without
 * vcache.c's ks_vc_fill_caches a round now and then failed with
 * POLICY_PROCESSING_ERROR (seen under make bench's cold load).  Returns the
 * number of verifications that did not pass. */
#define RACE_THREADS 8
static int race_rounds(const char *cfg, const uint8_t *der, size_t len, int rounds)
{
    int failed = 0;
    for (int round = 0; round < rounds; round++) {
        ks_ctx *ctx = t_load_ctx(cfg);
        pthread_barrier_t start;
        pthread_t t[RACE_THREADS];
        race_arg a[RACE_THREADS];
        pthread_barrier_init(&start, NULL, RACE_THREADS);
        for (int i = 0; i < RACE_THREADS; i++) {
            a[i] = (race_arg){.ctx = ctx, .der = der, .len = len, .start = &start};
            pthread_create(&t[i], NULL, race_worker, &a[i]);
        }
        for (int i = 0; i < RACE_THREADS; i++) {
            pthread_join(t[i], NULL);
            failed += !a[i].passed;
        }
        pthread_barrier_destroy(&start);
        ks_ctx_unref(ctx);
    }
    return failed;
}

static time_t cert_time(const char *path, int after)
{
    STACK_OF(X509) *sk = sk_X509_new_null();
    time_t t = 0;
    if (sk == NULL || ks_load_certs_file(path, sk) != KS_OK || sk_X509_num(sk) < 1 ||
        !ks_asn1_time_to_time_t(after ? X509_get0_notAfter(sk_X509_value(sk, 0))
                                      : X509_get0_notBefore(sk_X509_value(sk, 0)),
                                &t)) {
        fprintf(stderr, "cannot read %s\n", path);
        exit(2);
    }
    sk_X509_pop_free(sk, X509_free);
    return t;
}

static time_t crl_next_update(const char *path)
{
    X509_CRL *crl = NULL;
    time_t t = 0;
    if (ks_load_crl_file(path, 1 << 20, &crl) != KS_OK || !ks_asn1_time_to_time_t(X509_CRL_get0_nextUpdate(crl), &t)) {
        fprintf(stderr, "cannot read %s\n", path);
        exit(2);
    }
    X509_CRL_free(crl);
    return t;
}

int main(void)
{
    const char *pki = t_env("PKI", "build/pki");
    const char *out = t_env("OUT", "build/rel");
    char path[4096], cfg[4096], sig[4096];
    snprintf(cfg, sizeof cfg, "%s/test_vcache.json", out);
    /* Revocation from the configured CRL files only: the CRL re-check runs
     * (and is cached) for every certificate of the path. */
    static const char tmpl[] =
        "{\"trust_anchors\": [\"@PKI@/anchors\"], \"intermediates\": [\"@PKI@/intermediates\"],"
        " \"crls\": [\"@PKI@/pref-ca.crl\", \"@PKI@/pref-ca2.crl\", \"@PKI@/jpki-bca.crl\","
        " \"@PKI@/gpki-bca.crl\", \"@PKI@/ministry-ca.crl\"],"
        " \"revocation\": {\"mode\": \"require\"}, \"accept_policies\": [\"1.2.392.200149.8.5.1.1.20\"]}";
    if (!t_write_template(cfg, tmpl, pki))
        return 2;
    snprintf(sig, sizeof sig, "%s/sig-attached-rsa.p7m", pki);
    size_t len = 0;
    uint8_t *der = slurp(sig, &len);
    snprintf(path, sizeof path, "%s/citizen-rsa.pem", pki);
    time_t not_after = cert_time(path, 1), not_before = cert_time(path, 0);
    snprintf(path, sizeof path, "%s/pref-ca.crl", pki);
    time_t crl_next = crl_next_update(path);
    time_t now = time(NULL);

    ks_ctx *ctx = t_load_ctx(cfg);
    ks_ctx_set_clock(ctx, clock_fn, NULL);
    char sub[64];
    unsigned long long h0, m0, h1, m1;

    /* {time, expected indication, expected subindication or NULL} */
    const struct {
        const char *what;
        time_t at;
        const char *ind;
        const char *sub;
    } rows[] = {
        {"now", now, "TOTAL_PASSED", NULL},
        {"now again (from the cache)", now + 1, "TOTAL_PASSED", NULL},
        {"after the CRLs' nextUpdate", crl_next + 60, "INDETERMINATE", "TRY_LATER"},
        {"now, once more", now + 2, "TOTAL_PASSED", NULL},
        {"after the signer's notAfter", not_after + 86400, "INDETERMINATE", NULL},
        {"before the signer's notBefore", not_before - 86400, "TOTAL_FAILED", "NOT_YET_VALID"},
        {"now, last", now + 3, "TOTAL_PASSED", NULL},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        g_now = rows[i].at;
        ks_vcache_stats(ctx->vcache, &h0, &m0);
        CHECK_STR(verify_ind(ctx, der, len, sub, sizeof sub), rows[i].ind, "%s", rows[i].what);
        if (rows[i].sub != NULL)
            CHECK_STR(sub, rows[i].sub, "%s", rows[i].what);
        ks_vcache_stats(ctx->vcache, &h1, &m1);
        if (i == 1 || i == 3 || i == 6)
            CHECK(h1 > h0, "%s: expected cache hits", rows[i].what);
        /* A fresh context (nothing cached) must agree at the same time. */
        ks_ctx *fresh = t_load_ctx(cfg);
        ks_ctx_set_clock(fresh, clock_fn, NULL);
        char sub2[64];
        CHECK_STR(verify_ind(fresh, der, len, sub2, sizeof sub2), rows[i].ind, "%s (fresh context)", rows[i].what);
        CHECK_STR(sub2, sub, "%s: cached and fresh subindications", rows[i].what);
        ks_ctx_unref(fresh);
    }

    /* Certificates are shared between requests: the same bytes verify the
     * same way from many threads' worth of repetitions (no state leaks). */
    g_now = now;
    int all = 1;
    for (int i = 0; i < 50; i++)
        all &= strcmp(verify_ind(ctx, der, len, NULL, 0), "TOTAL_PASSED") == 0;
    CHECK(all, "50 repetitions all pass");

    /* The signer's JSON comes from the cache now: it still carries the JPKI
     * items, and the chain's copy of the same certificate still does not
     * (two entries, one per shape). */
    {
        ks_request rq = {.signature = {.data = der, .len = len}};
        cJSON *v = NULL;
        CHECK(ks_verify_signature(ctx, &rq, &v) == KS_OK, "verdict from the cache");
        v = t_printed(v);
        const cJSON *signer = cJSON_GetObjectItemCaseSensitive(v, "signer");
        const cJSON *first = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(v, "chain"), 0);
        CHECK(cJSON_GetObjectItemCaseSensitive(signer, "jpki") != NULL, "cached signer JSON has the JPKI items");
        CHECK(first != NULL && cJSON_GetObjectItemCaseSensitive(first, "jpki") == NULL,
              "cached chain JSON has no JPKI items");
        CHECK_STR(t_str(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(first, "sha256"))),
                  t_str(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(signer, "sha256"))),
                  "chain[0] is the signer");
        /* Revocation evidence names each certificate as the chain does. */
        const cJSON *ev = cJSON_GetObjectItemCaseSensitive(v, "revocation"), *e;
        const cJSON *c = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(v, "chain"), 0);
        int same = cJSON_GetArraySize(ev) > 0;
        cJSON_ArrayForEach(e, ev)
        {
            same &= c != NULL &&
                    t_str_eq(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "subject")),
                             cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "subject"))) &&
                    t_str_eq(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "serial")),
                             cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "serial")));
            c = c ? c->next : NULL;
        }
        CHECK(same, "revocation evidence names the chain's certificates, depth by depth");
        cJSON_Delete(v);
    }

    /* A tampered copy of a cached filing still fails (only signers and CAs
     * are reused, never a document). */
    snprintf(path, sizeof path, "%s/sig-attached-tampered-sig.p7m", pki);
    size_t tlen = 0;
    uint8_t *tam = slurp(path, &tlen);
    CHECK_STR(verify_ind(ctx, tam, tlen, sub, sizeof sub), "TOTAL_FAILED", "tampered signature");
    CHECK_STR(sub, "SIG_CRYPTO_FAILURE", "tampered signature");
    free(tam);

    ks_ctx_unref(ctx);

    int failed = race_rounds(cfg, der, len, 150);
    CHECK(failed == 0, "150 rounds of %d threads meeting on new certificates: %d did not pass", RACE_THREADS,
          failed);
    free(der);
    return t_done("test_vcache");
}
