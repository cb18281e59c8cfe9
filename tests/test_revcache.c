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

#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

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

/* Every node's cache key unless a row gives its own (memcached needs one). */
#define T_NODE_KEY ", \"hmac_key\": \"a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf\""

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
             " \"memcached\": [%3$s], \"cache\": {\"memcached_timeout_ms\": 100 %4$s%5$s}}",
             pki, ocsp_port, mc, cache_extra, strstr(cache_extra, "hmac_key") ? "" : T_NODE_KEY);
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


/* ---------------- hostile OCSP answers, signed here ---------------- */

static X509 *pem_cert(const char *file)
{
    char path[512];
    STACK_OF(X509) *sk = sk_X509_new_null();
    snprintf(path, sizeof path, "%s/%s", pki, file);
    X509 *x = NULL;
    if (sk != NULL && ks_load_certs_file(path, sk) == KS_OK && sk_X509_num(sk) > 0)
        x = sk_X509_shift(sk);
    sk_X509_pop_free(sk, X509_free);
    return x;
}

static EVP_PKEY *pem_key(const char *file)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", pki, file);
    FILE *f = fopen(path, "r");
    EVP_PKEY *k = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
    if (f != NULL)
        fclose(f);
    return k;
}

static int add_ext(X509 *x, X509 *ca, int nid, const char *value)
{
    X509V3_CTX v3;
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, ca, x, NULL, NULL, 0);
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
    int ok = e != NULL && X509_add_ext(x, e, -1) == 1;
    X509_EXTENSION_free(e);
    return ok;
}

/* A delegated responder of the prefecture CA (id-kp-OCSPSigning,
 * id-pkix-ocsp-nocheck) valid from `nb` to `na`; its key in *key. */
static X509 *responder_cert(X509 *ca, EVP_PKEY *cakey, time_t nb, time_t na, EVP_PKEY **key)
{
    X509 *x = X509_new();
    X509_NAME *n = X509_NAME_new();
    *key = EVP_EC_gen("P-256");
    int ok = x != NULL && n != NULL && *key != NULL && X509_set_version(x, 2) == 1 &&
             ASN1_INTEGER_set(X509_get_serialNumber(x), (long)(na & 0x7fffffff)) == 1 &&
             X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"Retired OCSP responder (synthetic)",
                                        -1, -1, 0) == 1 &&
             X509_set_subject_name(x, n) == 1 && X509_set_issuer_name(x, X509_get_subject_name(ca)) == 1 &&
             X509_time_adj_ex(X509_getm_notBefore(x), 0, 0, &nb) != NULL &&
             X509_time_adj_ex(X509_getm_notAfter(x), 0, 0, &na) != NULL && X509_set_pubkey(x, *key) == 1 &&
             add_ext(x, ca, NID_key_usage, "critical,digitalSignature") &&
             add_ext(x, ca, NID_ext_key_usage, "OCSPSigning") && add_ext(x, ca, NID_id_pkix_OCSP_noCheck, "ignored") &&
             add_ext(x, ca, NID_subject_key_identifier, "hash") &&
             add_ext(x, ca, NID_authority_key_identifier, "keyid:always") && X509_sign(x, cakey, EVP_sha256()) > 0;
    X509_NAME_free(n);
    if (!ok) {
        X509_free(x);
        x = NULL;
    }
    return x;
}

typedef struct {
    X509 *signer;
    EVP_PKEY *key;
    int status;      /* V_OCSP_CERTSTATUS_* */
    time_t produced; /* producedAt, set after signing and signed again */
    time_t this_update, next_update; /* next_update 0: none */
} t_answer;

/* A DER OCSP response about `cert` from `issuer` (CertID with SHA-1, no
 * nonce), or NULL.  OCSP_basic_sign stamps producedAt with the wall clock:
 * the stated producedAt is written afterwards and the data signed again. */
static uint8_t *ocsp_answer(const t_answer *a, X509 *issuer, X509 *cert, size_t *len)
{
    OCSP_BASICRESP *bs = OCSP_BASICRESP_new();
    OCSP_CERTID *id = OCSP_cert_to_id(EVP_sha1(), cert, issuer);
    OCSP_RESPONSE *resp = NULL;
    ASN1_TIME *tu = ASN1_GENERALIZEDTIME_set(NULL, a->this_update);
    ASN1_TIME *nu = a->next_update ? ASN1_GENERALIZEDTIME_set(NULL, a->next_update) : NULL;
    ASN1_TIME *rt = ASN1_GENERALIZEDTIME_set(NULL, a->this_update - 3600);
    unsigned char *der = NULL;
    int n = 0;
    if (bs != NULL && id != NULL && tu != NULL &&
        OCSP_basic_add1_status(bs, id, a->status, a->status == V_OCSP_CERTSTATUS_REVOKED ? OCSP_REVOKED_STATUS_KEYCOMPROMISE : -1,
                               a->status == V_OCSP_CERTSTATUS_REVOKED ? rt : NULL, tu, nu) != NULL &&
        OCSP_basic_sign(bs, a->signer, a->key, EVP_sha256(), NULL, 0) == 1 &&
        ASN1_GENERALIZEDTIME_set((ASN1_GENERALIZEDTIME *)OCSP_resp_get0_produced_at(bs), a->produced) != NULL &&
        ASN1_item_sign(ASN1_ITEM_rptr(OCSP_RESPDATA), (X509_ALGOR *)OCSP_resp_get0_tbs_sigalg(bs), NULL,
                       (ASN1_BIT_STRING *)OCSP_resp_get0_signature(bs), (void *)OCSP_resp_get0_respdata(bs), a->key,
                       EVP_sha256()) > 0 &&
        (resp = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, bs)) != NULL)
        n = i2d_OCSP_RESPONSE(resp, &der);
    OCSP_RESPONSE_free(resp);
    OCSP_BASICRESP_free(bs);
    OCSP_CERTID_free(id);
    ASN1_TIME_free(tu);
    ASN1_TIME_free(nu);
    ASN1_TIME_free(rt);
    if (n <= 0) {
        OPENSSL_free(der);
        return NULL;
    }
    *len = (size_t)n;
    return der;
}

/* What the canned responder at `file` answers from now on. */
static int serve(const char *file, const t_answer *a, X509 *issuer, X509 *cert)
{
    size_t len = 0;
    uint8_t *der = ocsp_answer(a, issuer, cert, &len);
    char path[512], tmp[520];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = der ? fopen(tmp, "wb") : NULL;
    int ok = f != NULL && fwrite(der, 1, len, f) == len;
    if (f != NULL)
        ok = fclose(f) == 0 && ok && rename(tmp, path) == 0;
    OPENSSL_free(der);
    return ok;
}

/* A node whose OCSP source is the canned responder at `port`; `rev` and
 * `cache` add keys to those sections. */
static ks_ctx *canned_node(int port, const char *mc, const char *rev, const char *cache)
{
    char path[512], text[4096];
    snprintf(path, sizeof path, "%s/canned-node.json", dir);
    snprintf(text, sizeof text,
             "{\"trust_anchors\": [\"%1$s/anchors\"], \"intermediates\": [\"%1$s/intermediates\"],"
             " \"crls\": [\"%1$s/ministry-ca.crl\", \"%1$s/gpki-bca.crl\", \"%1$s/jpki-bca.crl\"],"
             " \"revocation\": {\"mode\": \"require\", \"allow_urls\": [\"http://127.0.0.1:%2$d/\"],"
             "                  \"timeout_ms\": 3000 %5$s},"
             " \"revocation_sources\": [{\"issuer\": \"%1$s/pref-ca-self.pem\", \"ocsp\": \"http://127.0.0.1:%2$d/ocsp\"}],"
             " \"memcached\": [%3$s], \"cache\": {\"memcached_timeout_ms\": 100, \"refresh_ahead_s\": 0 %4$s%6$s}}",
             pki, port, mc, cache, rev, strstr(cache, "hmac_key") ? "" : T_NODE_KEY);
    ks_ctx *ctx = t_ctx_from_text(path, text);
    if (ctx != NULL)
        ks_ctx_set_clock(ctx, fake_clock, NULL);
    return ctx;
}

/* A context without network or cache for checking single answers. */
static ks_ctx *bare_ctx(const char *rev)
{
    char path[512], text[1024];
    snprintf(path, sizeof path, "%s/bare.json", dir);
    snprintf(text, sizeof text, "{\"trust_anchors\": [\"%s/anchors\"], \"revocation\": {\"clock_skew_s\": 300 %s}}", pki,
             rev);
    return t_ctx_from_text(path, text);
}

#define DAY (24 * 3600)
#define YEAR (365 * DAY)

/*
 * Issue #18 item 1: who signed, and when it says it signed.  A responder
 * retired two years ago signs with producedAt back-dated into its validity;
 * producedAt before thisUpdate; the answer's own age.  Rows name the
 * expected answer of ks_ocsp_verify_response (GOOD, or REFUSED with a piece
 * of the reason).
 */
static void test_responder_validity(X509 *ca, EVP_PKEY *cakey, X509 *resp, EVP_PKEY *respkey)
{
    time_t now = time(NULL);
    EVP_PKEY *oldkey = NULL;
    X509 *old = responder_cert(ca, cakey, now - 3 * YEAR, now - 2 * YEAR, &oldkey);
    X509 *cert = pem_cert("citizen-revoked.pem");
    CHECK(old != NULL && cert != NULL, "retired responder and certificate");
    time_t back = now - 2 * YEAR - DAY; /* inside the retired responder's validity */
    static const struct {
        const char *name, *rev;
        int who; /* 0 the CA, 1 the delegated responder, 2 the retired one */
        long produced, this_update, next_update, at; /* relative to now; next 0: none */
        int back_produced, back_this;
        const char *want; /* "GOOD" or a piece of the refusal */
    } rows[] = {
        {"CA-signed, fresh", "", 0, -60, -60, 3600, 0, 0, 0, "GOOD"},
        {"delegated, fresh", "", 1, -60, -60, 3600, 0, 0, 0, "GOOD"},
        {"delegated, producedAt 2 min before thisUpdate (within clock_skew_s)", "", 1, -180, -60, 3600, 0, 0, 0, "GOOD"},
        {"retired responder, producedAt back-dated, thisUpdate now", "", 2, 0, -60, 3600, 0, 1, 0, "not valid"},
        {"retired responder, every time back-dated, nextUpdate ahead, no max age", ", \"ocsp_max_age_s\": 0", 2, 0, 0,
         3600, 0, 1, 1, "not valid"},
        {"producedAt an hour before thisUpdate", "", 1, -3600, -60, 3600, 0, 0, 0, "producedAt"},
        {"producedAt in the future", "", 1, 3600, -60, 7200, 0, 0, 0, "producedAt"},
        {"thisUpdate 12 s old, ocsp_max_age_s 3", ", \"ocsp_max_age_s\": 3", 1, -12, -12, 3600, 0, 0, 0, "stale"},
        {"thisUpdate 2 s old, ocsp_max_age_s 3", ", \"ocsp_max_age_s\": 3", 1, -2, -2, 3600, 0, 0, 0, "GOOD"},
        {"thisUpdate 2 h old, no nextUpdate, default max age", "", 1, -7200, -7200, 0, 0, 0, 0, "stale"},
        {"thisUpdate 2 h old, nextUpdate a day ahead: the default max age (1 h)", "", 1, -7200, -7200, DAY, 0, 0, 0,
         "maximum age"},
        {"the same with ocsp_max_age_s 86400 (pre-produced responses)", ", \"ocsp_max_age_s\": 86400", 1, -7200, -7200,
         DAY, 0, 0, 0, "GOOD"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        ks_ctx *ctx = bare_ctx(rows[i].rev);
        t_answer a = {.signer = rows[i].who == 0 ? ca : rows[i].who == 1 ? resp : old,
                      .key = rows[i].who == 0 ? cakey : rows[i].who == 1 ? respkey : oldkey,
                      .status = V_OCSP_CERTSTATUS_GOOD,
                      .produced = (rows[i].back_produced ? back : now) + rows[i].produced,
                      .this_update = (rows[i].back_this ? back : now) + rows[i].this_update,
                      .next_update = rows[i].next_update ? now + rows[i].next_update : 0};
        size_t len = 0;
        uint8_t *der = a.signer ? ocsp_answer(&a, ca, cert, &len) : NULL;
        int status = -1;
        char err[256] = "";
        ks_result r = ctx && der ? ks_ocsp_verify_response(ctx, der, len, cert, ca, now + rows[i].at, &status, err,
                                                           sizeof err)
                                 : KS_E_INTERNAL;
        char got[300];
        snprintf(got, sizeof got, "%s", r == KS_OK && status == V_OCSP_CERTSTATUS_GOOD ? "GOOD" : r == KS_OK ? "OTHER" : err);
        if (strcmp(rows[i].want, "GOOD") == 0)
            CHECK_STR(got, "GOOD", "%s", rows[i].name);
        else
            CHECK(r != KS_OK && strstr(got, rows[i].want) != NULL, "%s: want refused (%s), got %s", rows[i].name,
                  rows[i].want, got);
        OPENSSL_free(der);
        ks_ctx_unref(ctx);
    }
    X509_free(cert);
    X509_free(old);
    EVP_PKEY_free(oldkey);
}


/*
 * Issue #18 items 1-3 end to end: a canned responder (whatever file it is
 * told to serve), the injected clock, memcached with an HMAC key.
 */
static void test_rollback(int mcport, X509 *ca, EVP_PKEY *cakey, X509 *resp, EVP_PKEY *respkey)
{
    char *args[] = {"canned", NULL, NULL};
    char file[512], one[64];
    snprintf(file, sizeof file, "%s/canned.der", dir);
    args[1] = file;
    snprintf(one, sizeof one, "\"127.0.0.1:%d\"", mcport);
    X509 *rev = pem_cert("citizen-revoked.pem");
    time_t t0 = fake_now;
    t_answer good = {.signer = resp, .key = respkey, .status = V_OCSP_CERTSTATUS_GOOD, .produced = t0,
                     .this_update = t0, .next_update = t0 + 3600};
    CHECK(rev != NULL && serve("canned.der", &good, ca, rev), "canned answer");
    int port = 0;
    pid_t peer = t_peer_start(dir, "canned", args, &port);
    CHECK(peer > 0, "canned responder");
    static const char hmac[] = ", \"hmac_key\": \"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\"";

    /* Item 1: a retired delegated responder's "good" about a revoked
     * certificate, producedAt back-dated into its validity. */
    EVP_PKEY *oldkey = NULL;
    X509 *old = responder_cert(ca, cakey, t0 - 3 * YEAR, t0 - 2 * YEAR, &oldkey);
    t_answer forged = {.signer = old, .key = oldkey, .status = V_OCSP_CERTSTATUS_GOOD, .produced = t0 - 2 * YEAR - DAY,
                       .this_update = t0, .next_update = t0 + 3600};
    CHECK(old != NULL && serve("canned.der", &forged, ca, rev), "retired responder's answer");
    ks_ctx *n1 = canned_node(port, "", "", "");
    EXPECT(n1, "citizen-revoked.pem", "TRY_LATER", NULL, "retired responder, producedAt back-dated");
    ks_ctx_unref(n1);

    /* Item 2: ocsp_max_age_s 3.  "good" at t0 (nextUpdate an hour away),
     * the responder says revoked from then on; 12 s later neither memory
     * (node A) nor memcached (node B, which never asked before) may still
     * answer "good". */
    memcached_st *raw = t_raw(mcport);
    for (int tier = 0; tier < 2; tier++) {
        memcached_flush(raw, 0);
        fake_now = t0;
        good.produced = good.this_update = t0;
        CHECK(serve("canned.der", &good, ca, rev), "good");
        ks_ctx *a = canned_node(port, one, ", \"ocsp_max_age_s\": 3", "");
        ks_ctx *b = canned_node(port, one, ", \"ocsp_max_age_s\": 3", "");
        EXPECT(a, "citizen-revoked.pem", "PASSED", "network", "max age: good at t0");
        t_answer now_revoked = {.signer = resp, .key = respkey, .status = V_OCSP_CERTSTATUS_REVOKED,
                                .produced = t0 + 12, .this_update = t0 + 12, .next_update = t0 + 3600};
        CHECK(serve("canned.der", &now_revoked, ca, rev), "revoked");
        fake_now = t0 + 12;
        EXPECT(tier == 0 ? a : b, "citizen-revoked.pem", "REVOKED", "network",
               tier == 0 ? "max age: 12 s later, not from memory" : "max age: 12 s later, not from memcached");
        ks_ctx_unref(a);
        ks_ctx_unref(b);
    }

    /* Item 3: an HMAC-valid "good" frame written back into memcached.
     * (a) after the node saw the certificate revoked; (b) after it saw a
     * newer answer.  The revoked answer's nextUpdate is short so that the
     * node goes back to memcached once it has passed. */
    t_answer revoked = {.signer = resp, .key = respkey, .status = V_OCSP_CERTSTATUS_REVOKED};
    char k[72];
    for (int round = 0; round < 2; round++) {
        memcached_flush(raw, 0);
        fake_now = t0 = time(NULL) + 100 * (round + 1);
        good.produced = good.this_update = t0;
        good.next_update = t0 + 3600;
        CHECK(serve("canned.der", &good, ca, rev), "good");
        ks_ctx *a = canned_node(port, one, "", hmac);
        ocsp_mckey(a, "citizen-revoked.pem", port, k);
        EXPECT(a, "citizen-revoked.pem", "PASSED", "network", "rollback: good at t0");
        size_t oldlen = 0;
        char *oldframe = t_raw_get(raw, k, &oldlen);
        CHECK(oldframe != NULL, "the attacker keeps the frame of t0");
        t_answer newer = round == 0 ? revoked : good;
        newer.produced = newer.this_update = t0 + 10;
        newer.next_update = t0 + 20;
        CHECK(serve("canned.der", &newer, ca, rev), "newer answer");
        memcached_delete(raw, k, strlen(k), 0); /* evicted */
        fake_now = t0 + 10;
        ks_ctx *n = canned_node(port, one, "", hmac);
        EXPECT(n, "citizen-revoked.pem", round == 0 ? "REVOKED" : "PASSED", "network", "rollback: the newer answer");
        /* The responder goes on saying revoked; the attacker writes the old
         * frame back once the newer answer's nextUpdate has passed. */
        revoked.produced = revoked.this_update = t0 + 25;
        revoked.next_update = t0 + 3600;
        CHECK(serve("canned.der", &revoked, ca, rev), "revoked, current");
        fake_now = t0 + 25;
        CHECK(oldframe != NULL && t_raw_set(raw, k, oldframe, oldlen), "old frame written back");
        ks_cache_stats st0, st1;
        ks_cache_get_stats(n->cache, &st0);
        EXPECT(n, "citizen-revoked.pem", "REVOKED", "network",
               round == 0 ? "rollback after revoked: the old good frame is refused"
                          : "rollback after a newer answer: the old frame is refused");
        ks_cache_get_stats(n->cache, &st1);
        CHECK(st1.rejected > st0.rejected, "round %d: the old frame was counted as rejected", round);
        if (round == 0) {
            /* Sticky: a later "good" for the same CertID, however fresh, is
             * refused by this node. */
            good.produced = good.this_update = t0 + 4000;
            good.next_update = t0 + 8000;
            CHECK(serve("canned.der", &good, ca, rev), "good after revoked");
            fake_now = t0 + 4000;
            EXPECT(n, "citizen-revoked.pem", "TRY_LATER", NULL, "revoked is sticky in the process");
        }
        free(oldframe);
        ks_ctx_unref(n);
        ks_ctx_unref(a);
    }
    memcached_free(raw);
    t_stop(peer);
    fake_now = time(NULL);
    X509_free(old);
    EVP_PKEY_free(oldkey);
    X509_free(rev);
}


/*
 * The record of answers seen (verify/registry.c): older refused, revoked
 * sticky but for certificateHold, and its bound: full of "good" entries it
 * makes room; a set full of revoked certificates refuses a new one (fails
 * closed) and still remembers every revocation it holds.
 */
static void test_seen_record(X509 *ca)
{
    ks_ctx *ctx = bare_ctx("");
    CHECK(ctx != NULL, "context");
    if (ctx == NULL)
        return;
    ks_registry *r = ctx->registry;
    char err[256];
    ASN1_INTEGER *sn = ASN1_INTEGER_new();
    static const struct {
        long serial;
        time_t this_update;
        int status, reason, want;
        const char *what;
    } rows[] = {
        {1, 1000, V_OCSP_CERTSTATUS_GOOD, -1, 1, "first good"},
        {1, 2000, V_OCSP_CERTSTATUS_GOOD, -1, 1, "newer good"},
        {1, 1500, V_OCSP_CERTSTATUS_GOOD, -1, 0, "older good: rollback"},
        {1, 2000, V_OCSP_CERTSTATUS_GOOD, -1, 1, "the same again"},
        {1, 3000, V_OCSP_CERTSTATUS_REVOKED, OCSP_REVOKED_STATUS_KEYCOMPROMISE, 1, "revoked"},
        {1, 4000, V_OCSP_CERTSTATUS_GOOD, -1, 0, "good after revoked"},
        {1, 4000, V_OCSP_CERTSTATUS_UNKNOWN, -1, 0, "unknown after revoked"},
        {1, 4000, V_OCSP_CERTSTATUS_REVOKED, OCSP_REVOKED_STATUS_KEYCOMPROMISE, 1, "revoked again"},
        {2, 1000, V_OCSP_CERTSTATUS_REVOKED, OCSP_REVOKED_STATUS_CERTIFICATEHOLD, 1, "on hold"},
        {2, 2000, V_OCSP_CERTSTATUS_GOOD, -1, 1, "hold lifted (RFC 5280 5.3.1)"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        ASN1_INTEGER_set(sn, rows[i].serial);
        int got = ks_registry_ocsp_seen(r, ca, sn, rows[i].this_update, rows[i].status, rows[i].reason, err, sizeof err);
        CHECK(got == rows[i].want, "%s: got %d (%s)", rows[i].what, got, got ? "" : err);
    }
    /* 40,000 "good" certificates: room is always made. */
    int refused = 0;
    for (long i = 0; i < 40000; i++) {
        ASN1_INTEGER_set(sn, 1000000 + i);
        refused += !ks_registry_ocsp_seen(r, ca, sn, 1000, V_OCSP_CERTSTATUS_GOOD, -1, err, sizeof err);
    }
    CHECK(refused == 0, "good certificates beyond the bound make room: %d refused", refused);
    /* 150,000 revoked ones: every set ends full of them (about 37 per set
     * of 8 on average). */
    refused = 0;
    for (long i = 0; i < 150000; i++) {
        ASN1_INTEGER_set(sn, 2000000 + i);
        refused += !ks_registry_ocsp_seen(r, ca, sn, 1000, V_OCSP_CERTSTATUS_REVOKED, OCSP_REVOKED_STATUS_KEYCOMPROMISE,
                                          err, sizeof err);
    }
    CHECK(refused >= 150000 - 32768, "revoked certificates beyond the bound are refused: %d", refused);
    int good_new = 0, unstuck = 0;
    for (long i = 0; i < 1000; i++) {
        ASN1_INTEGER_set(sn, 3000000 + i);
        good_new += ks_registry_ocsp_seen(r, ca, sn, 1000, V_OCSP_CERTSTATUS_GOOD, -1, err, sizeof err);
    }
    for (long i = 0; i < 150000; i++) {
        ASN1_INTEGER_set(sn, 2000000 + i);
        int known = ks_registry_ocsp_seen(r, ca, sn, 1000, V_OCSP_CERTSTATUS_REVOKED, OCSP_REVOKED_STATUS_KEYCOMPROMISE,
                                          err, sizeof err);
        unstuck += known && ks_registry_ocsp_seen(r, ca, sn, 5000, V_OCSP_CERTSTATUS_GOOD, -1, err, sizeof err);
    }
    CHECK(good_new == 0, "the table full of revoked: a new certificate gets no status (%d accepted)", good_new);
    CHECK(unstuck == 0, "every revocation recorded stays sticky: %d turned good", unstuck);
    ASN1_INTEGER_free(sn);
    ks_ctx_unref(ctx);
}

/*
 * A reload (ks_ctx_reload, issue 22 item 5) carries the record of evidence
 * seen over, whatever changed: a revocation seen before the reload stays
 * sticky after it, and an answer older than one seen is still refused.
 * The revocation cache is shared only while the cache settings are the
 * same; ks_ctx_take_over drops all of it when the trust rules change.
 */
static void test_reload_state(X509 *ca)
{
    char path[512], text[1024], why[256], *err = NULL;
    snprintf(path, sizeof path, "%s/reload.json", dir);
    snprintf(text, sizeof text, "{\"trust_anchors\": [\"%s/anchors\"]}", pki);
    ks_ctx *a = t_ctx_from_text(path, text), *b = NULL, *c = NULL;
    CHECK(a != NULL, "context");
    if (a == NULL)
        return;
    ASN1_INTEGER *sn = ASN1_INTEGER_new();
    ASN1_INTEGER_set(sn, 4242);
    char e[256];
    CHECK(ks_registry_ocsp_seen(a->registry, ca, sn, 3000, V_OCSP_CERTSTATUS_REVOKED, OCSP_REVOKED_STATUS_KEYCOMPROMISE,
                                e, sizeof e),
          "revoked recorded");
    /* Reloaded with other rules (an algorithm setting): all dropped. */
    snprintf(text, sizeof text, "{\"trust_anchors\": [\"%s/anchors\"], \"algorithms\": {\"min_rsa_bits\": 3072}}", pki);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL && fputs(text, f) >= 0 && fclose(f) == 0, "rewrite");
    CHECK(ks_ctx_reload(path, a, &b, &err) == KS_OK && b != NULL, "reload: %s", t_str(err));
    free(err);
    err = NULL;
    if (b != NULL) {
        CHECK(b->registry == a->registry, "the registry is carried over");
        CHECK(b->cache == a->cache, "the cache is shared (same cache settings)");
        ks_ctx_take_over(b, a, why, sizeof why);
        CHECK(strstr(why, "dropped all") != NULL, "rules changed: %s", why);
        static const struct {
            time_t this_update;
            int status, want;
            const char *what;
        } rows[] = {
            {4000, V_OCSP_CERTSTATUS_GOOD, 0, "good after revoked, after the reload"},
            {2000, V_OCSP_CERTSTATUS_REVOKED, 0, "older than seen, after the reload"},
            {4000, V_OCSP_CERTSTATUS_REVOKED, 1, "revoked again"},
        };
        for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
            int got = ks_registry_ocsp_seen(b->registry, ca, sn, rows[i].this_update, rows[i].status,
                                            OCSP_REVOKED_STATUS_KEYCOMPROMISE, e, sizeof e);
            CHECK(got == rows[i].want, "%s: got %d", rows[i].what, got);
        }
        /* Other cache settings: another cache, the same registry. */
        snprintf(text, sizeof text, "{\"trust_anchors\": [\"%s/anchors\"], \"cache\": {\"max_entries\": 77}}", pki);
        f = fopen(path, "w");
        CHECK(f != NULL && fputs(text, f) >= 0 && fclose(f) == 0, "rewrite");
        CHECK(ks_ctx_reload(path, b, &c, &err) == KS_OK && c != NULL, "reload 2: %s", t_str(err));
        free(err);
        if (c != NULL) {
            CHECK(c->cache != b->cache && c->registry == b->registry, "new cache, same registry");
            ks_ctx_take_over(c, b, why, sizeof why);
            CHECK(strstr(why, "new revocation cache") != NULL, "cache settings changed: %s", why);
        }
    }
    ks_ctx_unref(a); /* in reload order: the registry outlives each */
    ks_ctx_unref(b);
    if (c != NULL)
        CHECK(!ks_registry_ocsp_seen(c->registry, ca, sn, 5000, V_OCSP_CERTSTATUS_GOOD, -1, e, sizeof e),
              "still sticky once the older contexts are gone");
    ks_ctx_unref(c);
    ASN1_INTEGER_free(sn);
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

    /* Issue #18: hostile answers signed here. */
    X509 *pca = pem_cert("pref-ca-self.pem"), *presp = pem_cert("ocsp-responder.pem");
    EVP_PKEY *pcakey = pem_key("pref-ca.key"), *prespkey = pem_key("ocsp-responder.key");
    CHECK(pca != NULL && presp != NULL && pcakey != NULL && prespkey != NULL, "prefecture CA and its responder");
    if (pca != NULL && presp != NULL && pcakey != NULL && prespkey != NULL) {
        test_responder_validity(pca, pcakey, presp, prespkey);
        test_seen_record(pca);
        test_reload_state(pca);
        test_rollback(mc1.port, pca, pcakey, presp, prespkey);
    }
    X509_free(pca);
    X509_free(presp);
    EVP_PKEY_free(pcakey);
    EVP_PKEY_free(prespkey);

    ks_ctx_unref(a);
    ks_ctx_unref(b);
    t_stop(ocsp);
    t_mc_stop(&mc1, SIGTERM);
    t_mc_stop(&mc2, SIGTERM);
    return t_done("test_revcache");
}
