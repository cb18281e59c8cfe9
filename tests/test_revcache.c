/*
 * tests/test_revcache.c - revocation evidence through the two-tier cache,
 * end to end: a real `openssl ocsp` responder (tests/revocation/peer.py),
 * real memcached servers, the verify library with an injected clock.
 *
 * Each context stands for one gateway process or node: contexts share
 * nothing but memcached.
 */
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "internal.h"
#include "testlib.h"
#include "testnet.h"

static const char *pki;
static char dir[256];
static time_t fake_now;

static time_t fake_clock(void *arg)
{
    (void)arg;
    return fake_now;
}

/* A context for one "node": OCSP for the prefecture CA at `ocsp_port`, local
 * CRLs for the bridge CAs, memcached servers from `mc`. */
static ks_ctx *node(int ocsp_port, const char *mc, const char *cache_extra)
{
    char path[512], text[4096];
    snprintf(path, sizeof path, "%s/node.json", dir);
    snprintf(text, sizeof text,
             "{\"trust_anchors\": [\"%1$s/anchors\"], \"intermediates\": [\"%1$s/intermediates\"],"
             " \"crls\": [\"%1$s/ministry-ca.crl\", \"%1$s/gpki-bca.crl\", \"%1$s/jpki-bca.crl\"],"
             " \"revocation\": {\"mode\": \"require\", \"allow_urls\": [\"http://127.0.0.1:%2$d/\"],"
             "                  \"timeout_ms\": 3000},"
             " \"revocation_sources\": [{\"issuer\": \"%1$s/pref-ca-self.pem\", \"ocsp\": \"http://127.0.0.1:%2$d/ocsp\"}],"
             " \"memcached\": [%3$s], \"cache\": {\"memcached_timeout_ms\": 100 %4$s}}",
             pki, ocsp_port, mc, cache_extra);
    ks_ctx *ctx = t_ctx_from_text(path, text);
    ks_ctx_set_clock(ctx, fake_clock, NULL);
    return ctx;
}

/* Verifies a certificate; returns the subindication (or "PASSED") and the
 * tier the leaf's evidence came from. */
static void check(ks_ctx *ctx, const char *certfile, char *sub, size_t sublen, char *from, size_t fromlen)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    cJSON *v = NULL;
    snprintf(sub, sublen, "ERROR");
    snprintf(from, fromlen, "-");
    if (!t_read(pki, certfile, &buf, &len))
        return;
    ks_blob b = {.data = buf, .len = len};
    if (ks_verify_certificate(ctx, &b, 0, 0, &v) == KS_OK) {
        const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(v, "subindication"));
        snprintf(sub, sublen, "%s", s ? s : "PASSED");
        cJSON *r0 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(v, "revocation"), 0);
        const char *f = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r0, "from"));
        snprintf(from, fromlen, "%s", f ? f : "-");
    }
    cJSON_Delete(v);
    free(buf);
}

#define EXPECT(ctx, cert, want_sub, want_from, what)                                   \
    do {                                                                               \
        char s_[64], f_[32];                                                           \
        check(ctx, cert, s_, sizeof s_, f_, sizeof f_);                                \
        CHECK_STR(s_, want_sub, "%s: %s", what, cert);                                 \
        if ((want_from) != NULL)                                                       \
            CHECK_STR(f_, (const char *)(want_from), "%s: %s evidence from", what, cert); \
    } while (0)

/* The memcached key of the OCSP answer about `certfile`. */
static void ocsp_mckey(ks_ctx *ctx, const char *certfile, int port, char out[72])
{
    char path[512], fp[65], key[1024];
    STACK_OF(X509) *sk = sk_X509_new_null(), *iss = sk_X509_new_null();
    snprintf(path, sizeof path, "%s/%s", pki, certfile);
    ks_load_certs_file(path, sk);
    snprintf(path, sizeof path, "%s/pref-ca-self.pem", pki);
    ks_load_certs_file(path, iss);
    (void)ctx;
    /* The path uses the prefecture CA's cross certificate: find it by key. */
    X509 *issuer = NULL;
    for (int i = 0; i < sk_X509_num(ctx->intermediates); i++)
        if (ks_same_ca(sk_X509_value(ctx->intermediates, i), sk_X509_value(iss, 0)) &&
            X509_check_issued(sk_X509_value(ctx->intermediates, i), sk_X509_value(sk, 0)) == X509_V_OK &&
            X509_get_ext_by_NID(sk_X509_value(ctx->intermediates, i), NID_authority_key_identifier, -1) >= 0 &&
            X509_NAME_cmp(X509_get_issuer_name(sk_X509_value(ctx->intermediates, i)),
                          X509_get_subject_name(sk_X509_value(ctx->intermediates, i))) != 0)
            issuer = sk_X509_value(ctx->intermediates, i);
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(sk_X509_value(sk, 0)), NULL);
    char *serial = BN_bn2hex(bn);
    ks_cert_fp(issuer ? issuer : sk_X509_value(iss, 0), fp);
    snprintf(key, sizeof key, "ocsp|SHA1|%s|%s|http://127.0.0.1:%d/ocsp", fp, serial, port);
    t_mckey(key, out);
    OPENSSL_free(serial);
    BN_free(bn);
    sk_X509_pop_free(sk, X509_free);
    sk_X509_pop_free(iss, X509_free);
}

typedef struct {
    ks_ctx *ctx;
    const char *cert;
    char sub[64];
} t_job;

static void *worker(void *arg)
{
    t_job *j = arg;
    char from[32];
    check(j->ctx, j->cert, j->sub, sizeof j->sub, from, sizeof from);
    return NULL;
}

int main(void)
{
    pki = t_env("PKI", "build/pki");
    snprintf(dir, sizeof dir, "%s/tests/revcache", t_env("OUT", "build/rel"));
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s'", dir, dir);
    if (system(cmd) != 0)
        return 2;
    alarm(240); /* nothing here may hang */
    fake_now = time(NULL);

    char index[512], ca[512], rsigner[512], rkey[512];
    snprintf(index, sizeof index, "%s/pref-ca-db/index.txt", pki);
    snprintf(ca, sizeof ca, "%s/pref-ca-self.pem", pki);
    snprintf(rsigner, sizeof rsigner, "%s/ocsp-responder.pem", pki);
    snprintf(rkey, sizeof rkey, "%s/ocsp-responder.key", pki);
    char *ocsp_args[] = {"ocsp", index, ca, rsigner, rkey, "5", NULL}; /* nextUpdate: now + 5 min */
    int oport = 0;
    pid_t ocsp = t_peer_start(dir, "ocsp", ocsp_args, &oport);
    t_mc mc1 = {0}, mc2 = {0};
    CHECK(ocsp > 0 && t_mc_start(&mc1) && t_mc_start(&mc2), "servers start");
    char one[64], two[128];
    snprintf(one, sizeof one, "\"127.0.0.1:%d\"", mc1.port);
    snprintf(two, sizeof two, "\"127.0.0.1:%d\", \"127.0.0.1:%d\"", mc1.port, mc2.port);

    /* Two nodes share one entry: the second makes no network fetch. */
    ks_ctx *a = node(oport, one, ""), *b = node(oport, one, "");
    CHECK(a != NULL && b != NULL, "nodes");
    EXPECT(a, "citizen-rsa.pem", "PASSED", "network", "node A fetches");
    EXPECT(a, "citizen-rsa.pem", "PASSED", "memory", "node A again");
    EXPECT(b, "citizen-rsa.pem", "PASSED", "memcached", "node B shares A's answer");
    EXPECT(a, "citizen-revoked.pem", "REVOKED", "network", "node A, revoked");
    EXPECT(b, "citizen-revoked.pem", "REVOKED", "memcached", "node B, revoked");
    CHECK(t_peer_count(dir, "ocsp") == 2, "two certificates, two OCSP requests: %d", t_peer_count(dir, "ocsp"));

    /* Entries swapped between keys, then garbage: never a wrong verdict. */
    char k_good[72], k_rev[72];
    ocsp_mckey(a, "citizen-rsa.pem", oport, k_good);
    ocsp_mckey(a, "citizen-revoked.pem", oport, k_rev);
    memcached_st *raw = t_raw(mc1.port);
    size_t lg = 0, lr = 0;
    char *vg = t_raw_get(raw, k_good, &lg), *vr = t_raw_get(raw, k_rev, &lr);
    CHECK(vg != NULL && vr != NULL, "both answers are in memcached");
    if (vg != NULL && vr != NULL) {
        CHECK(t_raw_set(raw, k_good, vr, lr) && t_raw_set(raw, k_rev, vg, lg), "swap");
        ks_ctx *c = node(oport, one, "");
        int before = t_peer_count(dir, "ocsp");
        EXPECT(c, "citizen-revoked.pem", "REVOKED", "network", "swapped: revoked stays revoked");
        EXPECT(c, "citizen-rsa.pem", "PASSED", "network", "swapped: good is refetched");
        CHECK(t_peer_count(dir, "ocsp") == before + 2, "swapped entries were refetched");
        ks_cache_stats st;
        ks_cache_get_stats(c->cache, &st);
        CHECK(st.rejected >= 2, "swapped entries counted as rejected: %llu", st.rejected);
        ks_ctx_unref(c);
        static const char garbage[] = "\x01garbage that is no frame at all";
        CHECK(t_raw_set(raw, k_rev, garbage, sizeof garbage), "garbage");
        c = node(oport, one, "");
        EXPECT(c, "citizen-revoked.pem", "REVOKED", "network", "garbage: refetched");
        ks_ctx_unref(c);
    }
    free(vg);
    free(vr);
    memcached_free(raw);

    /* The responder stops: cached answers hold until nextUpdate, never after. */
    t_stop(ocsp);
    ks_ctx *d = node(oport, one, "");
    EXPECT(a, "citizen-rsa.pem", "PASSED", "memory", "responder down, memory");
    EXPECT(d, "citizen-rsa.pem", "PASSED", "memcached", "responder down, memcached");
    fake_now += 4 * 60;
    EXPECT(d, "citizen-rsa.pem", "PASSED", NULL, "4 minutes later");
    fake_now += 2 * 60; /* past nextUpdate (5 minutes) */
    EXPECT(d, "citizen-rsa.pem", "TRY_LATER", NULL, "after nextUpdate");
    EXPECT(a, "citizen-rsa.pem", "TRY_LATER", NULL, "after nextUpdate, node A");
    fake_now = time(NULL);
    ks_ctx_unref(d);

    /* 200 concurrent requests for one uncached certificate: one OCSP request. */
    setenv("KS_PEER_DELAY_MS", "300", 1);
    ocsp = t_peer_start(dir, "ocsp2", ocsp_args, &oport);
    unsetenv("KS_PEER_DELAY_MS");
    ks_ctx *e = node(oport, one, "");
    static t_job jobs[200];
    pthread_t th[200];
    int started = 0;
    for (int i = 0; i < 200; i++) {
        jobs[i] = (t_job){.ctx = e, .cert = "citizen-moved.pem"};
        if (pthread_create(&th[i], NULL, worker, &jobs[i]) == 0)
            started++;
    }
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    int revoked = 0;
    for (int i = 0; i < started; i++)
        revoked += strcmp(jobs[i].sub, "REVOKED") == 0;
    CHECK(started == 200 && revoked == 200, "200 verdicts REVOKED: %d of %d", revoked, started);
    CHECK(t_peer_count(dir, "ocsp2") == 1, "one OCSP request for 200 requests: %d", t_peer_count(dir, "ocsp2"));
    ks_ctx_unref(e);

    /* memcached killed mid-run: verdicts go on from the network, no stall. */
    ks_ctx *f = node(oport, one, "");
    t_mc_stop(&mc1, SIGKILL);
    long long t0 = t_ms();
    EXPECT(f, "citizen-ec.pem", "PASSED", "network", "memcached down");
    EXPECT(f, "citizen-ec.pem", "PASSED", "memory", "memcached down, memory");
    CHECK(t_ms() - t0 < 3000, "no stall with memcached down: %lld ms", t_ms() - t0);
    ks_cache_stats st;
    ks_cache_get_stats(f->cache, &st);
    CHECK(st.memcached_up == 0, "readiness can see memcached is down");
    ks_ctx_unref(f);
    CHECK(t_mc_start(&mc1), "memcached restarts on the same port");

    /* Two memcached servers: keys spread over both (consistent hashing). */
    ks_ctx *g = node(oport, two, "");
    /* Certificates of the prefecture CA the OCSP source serves (gen2 has none). */
    static const char *certs[] = {"citizen-rsa.pem", "citizen-ec.pem", "citizen-url.pem", "citizen-noname.pem",
                                  "citizen-revoked.pem", "citizen-moved.pem", "citizen-otherpol.pem"};
    for (size_t i = 0; i < sizeof certs / sizeof certs[0]; i++) {
        char s[64], fr[32];
        check(g, certs[i], s, sizeof s, fr, sizeof fr);
    }
    int on1 = 0, on2 = 0;
    memcached_st *r1 = t_raw(mc1.port), *r2 = t_raw(mc2.port);
    for (size_t i = 0; i < sizeof certs / sizeof certs[0]; i++) {
        char k[72];
        size_t l;
        ocsp_mckey(g, certs[i], oport, k);
        char *v1 = t_raw_get(r1, k, &l), *v2 = t_raw_get(r2, k, &l);
        on1 += v1 != NULL;
        on2 += v2 != NULL;
        free(v1);
        free(v2);
    }
    /* Sharded, not copied: each answer on exactly one server (the spread
     * over servers is test_cache's, with enough keys to be certain). */
    CHECK(on1 + on2 == (int)(sizeof certs / sizeof certs[0]), "each answer on one server: %d + %d", on1, on2);
    memcached_free(r1);
    memcached_free(r2);
    ks_ctx_unref(g);

    ks_ctx_unref(a);
    ks_ctx_unref(b);
    t_stop(ocsp);
    t_mc_stop(&mc1, SIGTERM);
    t_mc_stop(&mc2, SIGTERM);
    return t_done("test_revcache");
}
