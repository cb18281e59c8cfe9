/*
 * verify/revoke.c - revocation status of every certificate of a validated
 * path but the anchor, by OCSP (RFC 6960) and CRL (RFC 5280 5, 6.3).
 *
 * Runs only after the path validated, so nothing is ever fetched for a
 * certificate that does not chain to a trust anchor, and only URLs under
 * revocation.allow_urls are fetched (verify/fetch.c enforces it).
 *
 * Fails closed: a certificate whose status is unknown, stale or unreachable
 * leaves the verdict INDETERMINATE/TRY_LATER in mode "require"; "soft-fail"
 * passes and says so; "off" says nothing was checked.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "internal.h"

#define KS_REV_MAX_DEPTH 64
#define KS_REV_MAX_CRL_URLS 8

typedef struct {
    X509_CRL *crl;
    char origin[256]; /* file path or URL */
    const char *from; /* "file", "message", "network", "memory", "memcached" */
} ks_crl_item;

/* One revocation check: the path and what was learnt about each depth. */
typedef struct {
    ks_ctx *ctx;
    const ks_path_input *in;
    time_t at;
    STACK_OF(X509) *chain;
    int n;
    unsigned char established[KS_REV_MAX_DEPTH];
    cJSON *ev[KS_REV_MAX_DEPTH];
    ks_crl_item *crls;
    size_t ncrls, capcrls;
    char fetched[KS_REV_MAX_CRL_URLS * 4][256];
    size_t nfetched;
    int crl_done;
    int revoked_depth;
    int reason;
    time_t revocation_time;
    /* Past signature validation (ETSI EN 319 102-1 5.6.2.4): the proven
     * time the path was validated at, or NULL; depths revoked after it. */
    const time_t *poe;
    unsigned char revoked_ok[KS_REV_MAX_DEPTH];
    int after_poe;
    int emb_crls_added; /* the message's CRLs are in crls already */
    int weak_ev;        /* evidence past its algorithm's sunset was used, proven older (ks_alg_evidence_ctx) */
    ks_path_result crl_failure; /* a CRL problem other than "none available" */
    int have_crl_failure;
    int nomem; /* a piece of evidence could not be added: no verdict */
} ks_rev;

/* ---------------- evidence ---------------- */

/* Evidence fields: a field that cannot be added latches rv->nomem, and
 * ks_revocation_check then answers KS_E_NOMEM (a verdict is built whole). */
static void ks_ev_str(ks_rev *rv, cJSON *ev, const char *key, const char *val)
{
    cJSON_DeleteItemFromObjectCaseSensitive(ev, key);
    if ((val != NULL ? cJSON_AddStringToObject(ev, key, val) : cJSON_AddNullToObject(ev, key)) == NULL)
        rv->nomem = 1;
}

static void ks_ev_time(ks_rev *rv, cJSON *ev, const char *key, time_t t)
{
    char buf[32];
    ks_time_format(t, buf, sizeof buf);
    ks_ev_str(rv, ev, key, buf);
}

static const char *ks_status_word(int st)
{
    switch (st) {
    case V_OCSP_CERTSTATUS_GOOD:
        return "good";
    case V_OCSP_CERTSTATUS_REVOKED:
        return "revoked";
    default:
        return "unknown";
    }
}

/* `invalid`: the CRL entry's invalidityDate (RFC 5280 5.3.2), when
 * earlier than the revocation: the key is suspect from then on. */
static void ks_ev_revoked(ks_rev *rv, int d, time_t when, const time_t *invalid, int reason)
{
    cJSON *ev = rv->ev[d];
    time_t since = invalid != NULL && *invalid < when ? *invalid : when;
    ks_ev_str(rv, ev, "status", "revoked");
    ks_ev_time(rv, ev, "revocation_time", when);
    ks_ev_str(rv, ev, "reason", ks_crl_reason_name(reason));
    /* Revoked after the signature was proven to exist: the status at the
     * POE is known, and good (ETSI EN 319 102-1 5.6.2.4). */
    if (rv->poe != NULL && *rv->poe < since) {
        if (!ks_json_set(ev, "after_poe", cJSON_CreateTrue()))
            rv->nomem = 1;
        rv->established[d] = 1;
        rv->revoked_ok[d] = 1;
        rv->after_poe = 1;
        return;
    }
    if (rv->revoked_depth < 0 || d < rv->revoked_depth) {
        rv->revoked_depth = d;
        rv->reason = reason;
        rv->revocation_time = when;
    }
}

/* An OCSP answer for depth d (fetched, cached or embedded), RFC 6960
 * 4.2.1: good establishes the depth, revoked is recorded, unknown neither. */
static void ks_ev_ocsp_answer(ks_rev *rv, int d, const ks_ocsp_answer *a)
{
    cJSON *ev = rv->ev[d];
    ks_ev_str(rv, ev, "status", ks_status_word(a->status));
    ks_ev_time(rv, ev, "this_update", a->this_update);
    ks_ev_time(rv, ev, "next_update", a->next_update);
    ks_ev_time(rv, ev, "produced_at", a->produced_at);
    if (a->status == V_OCSP_CERTSTATUS_GOOD)
        rv->established[d] = 1;
    else if (a->status == V_OCSP_CERTSTATUS_REVOKED)
        ks_ev_revoked(rv, d, a->revocation_time, NULL, a->reason >= 0 ? a->reason : CRL_REASON_UNSPECIFIED);
}

/* ---------------- CRL collection ---------------- */

static int ks_add_crl(ks_rev *rv, X509_CRL *crl, const char *origin, const char *from)
{
    if (rv->ncrls == rv->capcrls) {
        size_t ncap = rv->capcrls ? rv->capcrls * 2 : 16;
        ks_crl_item *n = realloc(rv->crls, ncap * sizeof *n);
        if (n == NULL)
            return 0;
        rv->crls = n;
        rv->capcrls = ncap;
    }
    if (X509_CRL_up_ref(crl) != 1)
        return 0;
    ks_crl_item *it = &rv->crls[rv->ncrls++];
    it->crl = crl;
    snprintf(it->origin, sizeof it->origin, "%s", origin ? origin : "");
    it->from = from;
    return 1;
}

static X509_CRL *ks_parse_crl(const uint8_t *p, size_t len)
{
    X509_CRL *crl = NULL;
    if (len > 0 && len <= LONG_MAX && p[0] == 0x30) {
        const unsigned char *q = p;
        crl = d2i_X509_CRL(NULL, &q, (long)len);
        if (crl != NULL && q != p + len) {
            X509_CRL_free(crl);
            crl = NULL;
        }
    } else if (len > 0 && len <= INT_MAX) {
        BIO *b = BIO_new_mem_buf(p, (int)len);
        crl = b ? PEM_read_bio_X509_CRL(b, NULL, NULL, NULL) : NULL;
        BIO_free(b);
    }
    ks_openssl_drain(__func__);
    return crl;
}

/* ---------------- loading through the cache ---------------- */

static __thread char ks_rev_err[KS_REV_ERRLEN];

char *ks_rev_errbuf(void)
{
    return ks_rev_err;
}

static const char *ks_tier_name(ks_cache_tier t)
{
    switch (t) {
    case KS_TIER_MEMORY:
        return "memory";
    case KS_TIER_MEMCACHED:
        return "memcached";
    case KS_TIER_NETWORK:
    default:
        return "network";
    }
}

int ks_rev_fresh(const ks_ctx *ctx, const ks_fresh *f, time_t at, time_t *until, char *err, size_t errlen)
{
    time_t u = f->next_update;
    if (f->max_age_s > 0 && f->this_update + f->max_age_s < u)
        u = f->this_update + f->max_age_s;
    if (f->valid_until != 0 && f->valid_until < u)
        u = f->valid_until;
    if (until != NULL)
        *until = u;
    /* RFC 6960 4.2.2.1 and RFC 5280 6.3.3 (a): the clock skew excuses a
     * thisUpdate ahead of our clock, never a use past nextUpdate, the
     * configured age or the responder's own validity. */
    if (f->this_update > at + ctx->rev.clock_skew_s) {
        snprintf(err, errlen, "thisUpdate in the future");
        return 0;
    }
    if (at >= u) {
        snprintf(err, errlen, "stale: %s has passed",
                 u == f->next_update ? "nextUpdate"
                 : f->valid_until == u ? "the responder certificate's notAfter"
                                       : "the maximum age (revocation.ocsp_max_age_s)");
        return 0;
    }
    return 1;
}

/*
 * The cache speaks of the present: for a validation time within the clock
 * skew of now it answers; for any other time (an audit replay with --at)
 * the evidence is fetched and checked directly, so a past validation time
 * can neither poison nor be served the shared cache.
 */
ks_result ks_rev_load(ks_ctx *ctx, const char *key, const ks_cache_ops *ops, time_t at, ks_rev_obj *out, char *err,
                      size_t errlen)
{
    time_t now = ks_ctx_now(ctx), exp;
    int skew = ctx->rev.clock_skew_s;
    memset(out, 0, sizeof *out);
    ks_rev_err[0] = '\0';
    if (ctx->cache != NULL && at <= now + skew && at >= now - skew) {
        ks_cache_tier tier = KS_TIER_NETWORK;
        ks_cache_ops bound = *ops; /* the cache copies it; ctx outlives the cache */
        /* A per-validation copy (tsp.c) does not outlive it: its original does. */
        bound.arg = (void *)(ctx->base != NULL ? ctx->base : ctx);
        bound.epoch = ctx->cache_epoch; /* a reload may have changed the rules since */
        ks_result r = ks_cache_get(ctx->cache, key, &bound, at, &out->entry, &tier);
        if (r == KS_OK) {
            out->obj = ks_cache_entry_obj(out->entry);
            out->from = ks_tier_name(tier);
        } else {
            snprintf(err, errlen, "%s", ks_rev_err[0] ? ks_rev_err : "unavailable (failed recently, or still loading)");
        }
        return r;
    }
    uint8_t *val = NULL;
    size_t len = 0;
    if (ops->fetch(ctx, key, &val, &len) != 0) {
        snprintf(err, errlen, "%s", ks_rev_err[0] ? ks_rev_err : "fetch failed");
        return KS_E_UNAVAILABLE;
    }
    time_t issued = 0;
    out->obj = ops->decode(ctx, key, val, len, at, &exp, &issued);
    free(val);
    if (out->obj == NULL) {
        snprintf(err, errlen, "%s", ks_rev_err[0] ? ks_rev_err : "answer refused");
        return KS_E_UNAVAILABLE;
    }
    out->from = "network";
    return KS_OK;
}

void ks_rev_release(ks_rev_obj *o, const ks_cache_ops *ops)
{
    if (o->entry != NULL)
        ks_cache_entry_release(o->entry);
    else if (o->obj != NULL && ops->free_obj != NULL)
        ops->free_obj(o->obj);
    memset(o, 0, sizeof *o);
}

/* ---------------- embedded evidence through the cache ---------------- */

/* The bytes of the one embedded object this thread is loading: set around
 * a single ks_rev_load, never shared with another thread. */
static __thread const ks_blob *ks_emb_cur;

void ks_rev_emb_set(const ks_blob *b)
{
    ks_emb_cur = b;
}

int ks_rev_emb_tag(const uint8_t *p, size_t len, char buf[70])
{
    unsigned char md[32];
    if (EVP_Digest(p, len, md, NULL, EVP_sha256(), NULL) != 1) {
        ks_openssl_drain(__func__);
        return 0;
    }
    memcpy(buf, "emb:", 4);
    ks_hex_encode(md, sizeof md, buf + 4);
    return 1;
}

/* The key names the bytes by their hash (content-addressed): what the
 * cache keeps under it can only ever be these bytes, checked again by
 * decode at every load, from memory or memcached. */
int ks_rev_emb_fetch(void *arg, const char *key, uint8_t **val, size_t *len)
{
    (void)arg;
    const char *tag = strrchr(key, '|');
    char want[70];
    *val = NULL;
    if (ks_emb_cur == NULL || tag == NULL || strncmp(tag + 1, "emb:", 4) != 0 ||
        !ks_rev_emb_tag(ks_emb_cur->data, ks_emb_cur->len, want) || strcmp(tag + 1, want) != 0) {
        snprintf(ks_rev_err, sizeof ks_rev_err, "embedded evidence is not fetched");
        return -1;
    }
    if ((*val = malloc(ks_emb_cur->len ? ks_emb_cur->len : 1)) == NULL)
        return -1;
    memcpy(*val, ks_emb_cur->data, ks_emb_cur->len);
    *len = ks_emb_cur->len;
    return 0;
}

/* ---------------- CRLs through the cache ---------------- */

/* "crl|<issuer sha256>|<url>" */
static int ks_crl_key_parse(const char *key, char fp[65], const char **url)
{
    if (strncmp(key, "crl|", 4) != 0 || strlen(key) < 4 + 66 || key[4 + 64] != '|')
        return 0;
    memcpy(fp, key + 4, 64);
    fp[64] = '\0';
    *url = key + 4 + 65;
    return 1;
}

static int ks_crl_fetch(void *arg, const char *key, uint8_t **val, size_t *len)
{
    char fp[65];
    const char *url;
    *val = NULL;
    if (!ks_crl_key_parse(key, fp, &url))
        return -1;
    return ks_http_fetch(arg, url, NULL, 0, NULL, NULL, val, len, ks_rev_err, sizeof ks_rev_err) == KS_OK ? 0 : -1;
}

/* A CRL from the network or from memcached: issued and signed by the CA
 * the key names, current at `now` (ks_rev_fresh: the cache keeps it no
 * longer than that), and not older than one already seen for the same
 * scope (RFC 5280 5.2.3: an older CRL never replaces a newer).  *issued is
 * its thisUpdate, which the cache also keeps with the memcached frame. */
void *ks_crl_decode(void *arg, const char *key, const uint8_t *val, size_t len, time_t now, time_t *expires,
                    time_t *issued)
{
    ks_ctx *ctx = arg;
    char fp[65];
    const char *url;
    X509 *issuer = NULL;
    X509_CRL *crl = NULL;
    ASN1_INTEGER *num = NULL;
    ks_fresh f = {0};
    int ok = 0;
    if (!ks_crl_key_parse(key, fp, &url) || (issuer = ks_registry_get(ctx->registry, fp)) == NULL) {
        snprintf(ks_rev_err, sizeof ks_rev_err, "issuer not known");
        goto done;
    }
    if ((crl = ks_parse_crl(val, len)) == NULL) {
        snprintf(ks_rev_err, sizeof ks_rev_err, "not a CRL");
        goto done;
    }
    if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(issuer)) != 0 ||
        ks_vcache_crl_verify(ctx, crl, issuer) != 1) {
        snprintf(ks_rev_err, sizeof ks_rev_err, "CRL not signed by the issuing CA");
        goto done;
    }
    if (!ks_asn1_time_to_time_t(X509_CRL_get0_lastUpdate(crl), &f.this_update) ||
        !ks_asn1_time_to_time_t(X509_CRL_get0_nextUpdate(crl), &f.next_update)) {
        snprintf(ks_rev_err, sizeof ks_rev_err, "CRL without thisUpdate/nextUpdate");
        goto done;
    }
    char why[96];
    if (!ks_rev_fresh(ctx, &f, now, expires, why, sizeof why)) {
        snprintf(ks_rev_err, sizeof ks_rev_err, "CRL not current: %s", why);
        goto done;
    }
    num = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL);
    if (!ks_registry_crl_number_ok(ctx->registry, key, num, f.this_update)) {
        snprintf(ks_rev_err, sizeof ks_rev_err, "CRL older than one already seen (crlNumber or thisUpdate)");
        goto done;
    }
    *issued = f.this_update;
    ok = 1;
done:
    ks_openssl_drain(__func__);
    ASN1_INTEGER_free(num);
    X509_free(issuer);
    if (!ok) {
        X509_CRL_free(crl);
        crl = NULL;
    }
    return crl;
}

static void ks_crl_free_obj(void *obj)
{
    X509_CRL_free(obj);
}

static const ks_cache_ops ks_crl_ops = {.fetch = ks_crl_fetch, .decode = ks_crl_decode, .free_obj = ks_crl_free_obj};
static const ks_cache_ops ks_crl_emb_ops = {.fetch = ks_rev_emb_fetch, .decode = ks_crl_decode,
                                            .free_obj = ks_crl_free_obj};

static void ks_ev_error(ks_rev *rv, int d, const char *what, const char *url, const char *err)
{
    char msg[600];
    snprintf(msg, sizeof msg, "%s %s: %s", what, url, err);
    cJSON *e = cJSON_GetObjectItemCaseSensitive(rv->ev[d], "errors"), *m = cJSON_CreateString(msg);
    if (e == NULL || m == NULL || !cJSON_AddItemToArray(e, m)) {
        cJSON_Delete(m);
        rv->nomem = 1;
    }
}

/* The CRL at `url` for the certificate at depth d, whose issuer is the next
 * certificate of the path.  `named` (a revocation_sources issuer, the same
 * CA by name and key) names the cache entry instead of the path's issuer
 * certificate: whichever cross certificate the path went through, the
 * entry is the one the background refresher keeps current
 * (ks_crl_refresh_pass).  The CRL is verified against that certificate
 * when decoded, and against the path's issuer again when it is used
 * (ks_path_check_crls). */
static void ks_fetch_crl(ks_rev *rv, const char *url, int d, X509 *named)
{
    char fp[65], key[2200], err[KS_REV_ERRLEN];
    for (size_t i = 0; i < rv->nfetched; i++)
        if (strcmp(rv->fetched[i], url) == 0)
            return; /* once per check */
    if (rv->nfetched < sizeof rv->fetched / sizeof rv->fetched[0])
        snprintf(rv->fetched[rv->nfetched++], sizeof rv->fetched[0], "%s", url);
    if (!ks_registry_put(rv->ctx->registry, named ? named : sk_X509_value(rv->chain, d + 1), fp) ||
        (size_t)snprintf(key, sizeof key, "crl|%s|%s", fp, url) >= sizeof key)
        return;
    ks_rev_obj o;
    if (ks_rev_load(rv->ctx, key, &ks_crl_ops, rv->at, &o, err, sizeof err) != KS_OK) {
        ks_ev_error(rv, d, "CRL", url, err);
        return;
    }
    ks_add_crl(rv, o.obj, url, o.from);
    ks_rev_release(&o, &ks_crl_ops);
}

/* revocation_sources entry for the CA that issued a certificate, by name
 * and key (a cross certificate and a self-signed one of the same CA match). */
static const ks_rev_source *ks_source_for(const ks_ctx *ctx, X509 *issuer)
{
    for (size_t i = 0; i < ctx->n_sources; i++)
        if (ks_same_ca(ctx->sources[i].issuer, issuer))
            return &ctx->sources[i];
    ks_openssl_drain(__func__);
    return NULL;
}

/* URLs of a certificate's CRL distribution points (RFC 5280 4.2.1.13); a
 * directoryName point (JPKI) has none: it is served by revocation_sources. */
static void ks_fetch_cdp(ks_rev *rv, int d)
{
    X509 *cert = sk_X509_value(rv->chain, d);
    STACK_OF(DIST_POINT) *dps = X509_get_ext_d2i(cert, NID_crl_distribution_points, NULL, NULL);
    int fetched = 0;
    for (int i = 0; dps != NULL && i < sk_DIST_POINT_num(dps) && fetched < KS_REV_MAX_CRL_URLS; i++) {
        DIST_POINT *dp = sk_DIST_POINT_value(dps, i);
        if (dp->distpoint == NULL || dp->distpoint->type != 0)
            continue;
        GENERAL_NAMES *names = dp->distpoint->name.fullname;
        for (int k = 0; k < sk_GENERAL_NAME_num(names); k++) {
            GENERAL_NAME *gn = sk_GENERAL_NAME_value(names, k);
            if (gn->type != GEN_URI)
                continue;
            const ASN1_IA5STRING *u = gn->d.uniformResourceIdentifier;
            char url[1024];
            int len = ASN1_STRING_length(u);
            if (len <= 0 || (size_t)len >= sizeof url)
                continue;
            memcpy(url, ASN1_STRING_get0_data(u), (size_t)len);
            url[len] = '\0';
            if (strlen(url) != (size_t)len || !ks_url_allowed(rv->ctx, url))
                continue;
            ks_fetch_crl(rv, url, d, NULL);
            fetched++;
        }
    }
    sk_DIST_POINT_pop_free(dps, DIST_POINT_free);
    ks_openssl_drain(__func__);
}

/* Everything a CRL check may use: local files, the message's own CRLs (CA
 * signed, so verified like any other), configured URLs and distribution
 * points of the certificates still without status.  Whatever their source
 * (file, message, network, memory, memcached), every CRL is then held to
 * its thisUpdate/nextUpdate at the validation time by the path check
 * (ks_path_check_crls: OpenSSL's CRL time check, no skew past nextUpdate,
 * the bounds of ks_rev_fresh); a stale one gives no status but still
 * counts for what it says is revoked. */
static void ks_collect_crls(ks_rev *rv)
{
    const ks_ctx *ctx = rv->ctx;
    for (int i = 0; i < sk_X509_CRL_num(ctx->crls); i++)
        ks_add_crl(rv, sk_X509_CRL_value(ctx->crls, i), ctx->crl_origins[i], "file");
    for (int i = 0; rv->in != NULL && !rv->emb_crls_added && i < sk_X509_CRL_num(rv->in->crls); i++)
        ks_add_crl(rv, sk_X509_CRL_value(rv->in->crls, i), "signature", "message");
    rv->emb_crls_added = 1;
    for (int d = 0; d < rv->n - 1; d++) {
        if (rv->established[d])
            continue;
        const ks_rev_source *src = ks_source_for(ctx, sk_X509_value(rv->chain, d + 1));
        for (size_t k = 0; src != NULL && k < src->n_crl; k++)
            if (strstr(src->crl[k], "://") != NULL)
                ks_fetch_crl(rv, src->crl[k], d, src->issuer);
        ks_fetch_cdp(rv, d);
    }
}

/* The CRL (not a delta) from the certificate's issuer that a check would
 * rely on: issued by it, verifying with its key, the newest one. */
static const ks_crl_item *ks_crl_for(const ks_rev *rv, int d)
{
    X509 *cert = sk_X509_value(rv->chain, d), *issuer = sk_X509_value(rv->chain, d + 1);
    const ks_crl_item *best = NULL;
    for (size_t i = 0; i < rv->ncrls; i++) {
        X509_CRL *crl = rv->crls[i].crl;
        if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_issuer_name(cert)) != 0 ||
            X509_CRL_get_ext_by_NID(crl, NID_delta_crl, -1) >= 0 ||
            ks_vcache_crl_verify(rv->ctx, crl, issuer) != 1)
            continue;
        if (best == NULL ||
            ASN1_TIME_compare(X509_CRL_get0_lastUpdate(crl), X509_CRL_get0_lastUpdate(best->crl)) > 0)
            best = &rv->crls[i];
    }
    ks_openssl_drain(__func__);
    return best;
}

static void ks_ev_crl(ks_rev *rv, int d, const ks_crl_item *it)
{
    cJSON *ev = rv->ev[d];
    time_t t;
    ks_ev_str(rv, ev, "source", "crl");
    ks_ev_str(rv, ev, strncmp(it->origin, "http", 4) == 0 ? "url" : "file", it->origin);
    ks_ev_str(rv, ev, "from", it->from);
    if (ks_asn1_time_to_time_t(X509_CRL_get0_lastUpdate(it->crl), &t))
        ks_ev_time(rv, ev, "this_update", t);
    if (ks_asn1_time_to_time_t(X509_CRL_get0_nextUpdate(it->crl), &t))
        ks_ev_time(rv, ev, "next_update", t);
    ASN1_INTEGER *num = X509_CRL_get_ext_d2i(it->crl, NID_crl_number, NULL, NULL);
    if (num != NULL) {
        BIGNUM *bn = ASN1_INTEGER_to_BN(num, NULL);
        char *hex = bn ? BN_bn2hex(bn) : NULL;
        if (hex != NULL)
            ks_ev_str(rv, ev, "crl_number", hex);
        OPENSSL_free(hex);
        BN_free(bn);
        ASN1_INTEGER_free(num);
    }
    ks_openssl_drain(__func__);
}

/* The entry that revoked the certificate at depth d, for its time and
 * reason (RFC 5280 5.3.1, 5.3.2). */
static void ks_crl_revoked_entry(ks_rev *rv, int d)
{
    X509 *cert = sk_X509_value(rv->chain, d);
    time_t when = 0, it = 0;
    int reason = CRL_REASON_UNSPECIFIED, have_it = 0;
    for (size_t i = 0; i < rv->ncrls; i++) {
        X509_REVOKED *r = NULL;
        if (X509_CRL_get0_by_cert(rv->crls[i].crl, &r, cert) != 1 || r == NULL)
            continue;
        ks_ev_crl(rv, d, &rv->crls[i]);
        ks_asn1_time_to_time_t(X509_REVOKED_get0_revocationDate(r), &when);
        ASN1_ENUMERATED *e = X509_REVOKED_get_ext_d2i(r, NID_crl_reason, NULL, NULL);
        if (e != NULL) {
            long v = ASN1_ENUMERATED_get(e);
            reason = v >= 0 && v <= 10 ? (int)v : CRL_REASON_UNSPECIFIED;
            ASN1_ENUMERATED_free(e);
        }
        ASN1_GENERALIZEDTIME *inv = X509_REVOKED_get_ext_d2i(r, NID_invalidity_date, NULL, NULL);
        if (inv != NULL && ks_asn1_time_to_time_t(inv, &it)) {
            ks_ev_time(rv, rv->ev[d], "invalidity_date", it);
            have_it = 1;
        }
        ASN1_GENERALIZEDTIME_free(inv);
        break;
    }
    ks_openssl_drain(__func__);
    ks_ev_revoked(rv, d, when, have_it ? &it : NULL, reason);
}

static void ks_crl_step(ks_rev *rv)
{
    unsigned char missing[KS_REV_MAX_DEPTH] = {0};
    ks_path_result res;
    ks_crl_past past = {.validity_ok = 1, .revoked_ok = rv->revoked_ok};
    rv->crl_done = 1;
    ks_collect_crls(rv);
    STACK_OF(X509_CRL) *sk = sk_X509_CRL_new_null();
    for (size_t i = 0; sk != NULL && i < rv->ncrls; i++)
        sk_X509_CRL_push(sk, rv->crls[i].crl);
    /* With a POE, a revocation found after it is forgiven and the path
     * checked again for the next one up: at most once per depth. */
    for (int round = 0;; round++) {
        memset(missing, 0, sizeof missing);
        ks_path_check_crls(rv->ctx, rv->chain, sk, rv->at, NULL, rv->established, 1, rv->poe ? &past : NULL,
                           missing, &res);
        int d = res.error_depth;
        if (rv->poe == NULL || round >= rv->n || res.x509_error != X509_V_ERR_CERT_REVOKED || d < 0 || d >= rv->n ||
            rv->revoked_ok[d])
            break;
        ks_crl_revoked_entry(rv, d);
        if (!rv->revoked_ok[d])
            break; /* revoked before the POE: res stands */
        ks_path_result_clear(&res);
    }
    sk_X509_CRL_free(sk);
    if (res.indication == KS_TOTAL_PASSED) {
        for (int d = 0; d < rv->n - 1; d++) {
            if (rv->established[d] || missing[d])
                continue;
            rv->established[d] = 1;
            const ks_crl_item *it = ks_crl_for(rv, d);
            ks_ev_str(rv, rv->ev[d], "status", "good");
            if (it != NULL)
                ks_ev_crl(rv, d, it);
            else
                ks_ev_str(rv, rv->ev[d], "source", "crl"); /* an indirect CRL */
        }
    } else if (res.x509_error == X509_V_ERR_CERT_REVOKED && res.error_depth >= 0 && res.error_depth < rv->n) {
        ks_crl_revoked_entry(rv, res.error_depth);
    } else {
        rv->crl_failure = res;
        res.chain = NULL;
        rv->have_crl_failure = 1;
    }
    ks_path_result_clear(&res);
}

/* ---------------- OCSP ---------------- */

/* Responder for a certificate: the relying party's configured arrangement
 * first (JPKI certificates carry no URL), then the certificate's AIA. */
static char *ks_ocsp_url(const ks_ctx *ctx, X509 *cert, X509 *issuer)
{
    const ks_rev_source *src = ks_source_for(ctx, issuer);
    if (src != NULL && src->ocsp != NULL)
        return strdup(src->ocsp);
    STACK_OF(OPENSSL_STRING) *aia = X509_get1_ocsp(cert);
    char *url = NULL;
    for (int i = 0; aia != NULL && i < sk_OPENSSL_STRING_num(aia) && url == NULL; i++)
        if (ks_url_allowed(ctx, sk_OPENSSL_STRING_value(aia, i)))
            url = strdup(sk_OPENSSL_STRING_value(aia, i));
    X509_email_free(aia);
    ks_openssl_drain(__func__);
    return url;
}

static void ks_ocsp_step(ks_rev *rv, int d)
{
    X509 *cert = sk_X509_value(rv->chain, d), *issuer = sk_X509_value(rv->chain, d + 1);
    cJSON *ev = rv->ev[d];
    char err[KS_REV_ERRLEN];
    char *url = ks_ocsp_url(rv->ctx, cert, issuer);
    ks_ocsp_answer a;
    const char *from = NULL;
    if (url == NULL)
        return;
    ks_ev_str(rv, ev, "source", "ocsp");
    ks_ev_str(rv, ev, "url", url);
    if (ks_ocsp_lookup(rv->ctx, cert, issuer, url, rv->at, &a, &from, err, sizeof err) != KS_OK) {
        ks_ev_error(rv, d, "OCSP", url, err);
        free(url);
        return;
    }
    ks_ev_str(rv, ev, "from", from);
    ks_ev_ocsp_answer(rv, d, &a);
    free(url);
}

/* ---------------- embedded evidence ---------------- */

static int ks_all_established(const ks_rev *rv)
{
    for (int d = 0; d < rv->n - 1; d++)
        if (!rv->established[d])
            return 0;
    return 1;
}

/*
 * Evidence the signed object carries (ks_path_input: CMS crls, CAdES
 * revocation-values, PDF DSS, XAdES RevocationValues) is consulted before
 * anything is fetched, and verified exactly as fetched evidence is: an
 * OCSP answer by ks_ocsp_check (issuer, signature, responder rules,
 * freshness), a CRL by its issuer's name and signature and ks_rev_fresh.
 * It is used for two times:
 *   - the validation time, through the cache and the rollback record, as
 *     an answer from the network would be;
 *   - with a POE, the proven time (ETSI EN 319 102-1 5.6.2.4): evidence
 *     fresh then gives the status the certificate had then, which is what
 *     past signature validation needs; a revocation it shows at or before
 *     the POE is REVOKED, a later one is judged as any other.
 * A depth it establishes is never fetched for.
 */

static void ks_ev_used(ks_rev *rv, int d, time_t t, int past)
{
    ks_ev_str(rv, rv->ev[d], "from", "message");
    ks_ev_time(rv, rv->ev[d], "used_for", t);
    if (!ks_json_set(rv->ev[d], "at_poe", cJSON_CreateBool(past)))
        rv->nomem = 1;
}

static void ks_emb_ocsp(ks_rev *rv, int d, time_t t, int past)
{
    X509 *cert = sk_X509_value(rv->chain, d), *issuer = sk_X509_value(rv->chain, d + 1);
    for (size_t i = 0; i < rv->in->n_ocsps && !rv->established[d]; i++) {
        ks_ocsp_answer a;
        const char *from = NULL;
        int about = 0;
        char err[KS_REV_ERRLEN];
        ks_result r = ks_ocsp_embedded(rv->ctx, cert, issuer, &rv->in->ocsps[i], t, past, &a, &from, &about, err,
                                       sizeof err);
        if (!about)
            continue; /* about another certificate */
        /* Refused (by the algorithm policy, or otherwise) at a proven time:
         * once more with SHA-1 accepted on this response alone, when a
         * timestamp over these very bytes proves them older than the sha1
         * sunset (ETSI EN 319 102-1 5.2.8).  Everything else is checked as
         * before; at the validation time nothing is relaxed. */
        ks_ctx relaxed;
        if (r != KS_OK && r != KS_E_NOMEM && past && rv->in->ocsp_proven != NULL &&
            ks_alg_evidence_ctx(rv->ctx, rv->in->ocsp_proven[i], &relaxed)) {
            char err2[KS_REV_ERRLEN];
            ks_ocsp_answer a2;
            const char *from2 = NULL;
            int about2 = 0;
            if (ks_ocsp_embedded(&relaxed, cert, issuer, &rv->in->ocsps[i], t, past, &a2, &from2, &about2, err2,
                                 sizeof err2) == KS_OK &&
                (a2.status == V_OCSP_CERTSTATUS_GOOD || a2.status == V_OCSP_CERTSTATUS_REVOKED)) {
                r = KS_OK;
                a = a2;
                from = from2;
                rv->weak_ev = 1;
            }
        }
        if (r != KS_OK) {
            ks_ev_error(rv, d, past ? "OCSP (embedded, at the POE)" : "OCSP (embedded)", "signature", err);
            continue;
        }
        if (a.status != V_OCSP_CERTSTATUS_GOOD && a.status != V_OCSP_CERTSTATUS_REVOKED)
            continue;
        cJSON *ev = rv->ev[d];
        ks_ev_str(rv, ev, "source", "ocsp");
        ks_ev_used(rv, d, t, past);
        if (strcmp(from, "message") != 0)
            ks_ev_str(rv, ev, "cached", from);
        ks_ev_ocsp_answer(rv, d, &a);
        return;
    }
}

/* An embedded CRL usable for the certificate at depth d at time t: a
 * complete CRL from its issuer (name, signature) current at t.  For now
 * through the cache under its hash (ks_crl_decode: the same checks as a
 * fetched CRL, rollback included); at a proven past time checked here. */
static int ks_emb_crl_usable(ks_rev *rv, X509_CRL *crl, int d, time_t t, int past)
{
    X509 *issuer = sk_X509_value(rv->chain, d + 1);
    unsigned char *der = NULL;
    int ok = 0, len;
    char fp[65], tag[70], key[160], err[KS_REV_ERRLEN] = "";
    if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(issuer)) != 0 ||
        X509_CRL_get_ext_by_NID(crl, NID_delta_crl, -1) >= 0)
        goto done; /* another CA's: not about this certificate */
    if (past) {
        ks_fresh f = {0};
        if (ks_vcache_crl_verify(rv->ctx, crl, issuer) != 1)
            snprintf(err, sizeof err, "CRL not signed by the issuing CA");
        else if (!ks_asn1_time_to_time_t(X509_CRL_get0_lastUpdate(crl), &f.this_update) ||
                 !ks_asn1_time_to_time_t(X509_CRL_get0_nextUpdate(crl), &f.next_update))
            snprintf(err, sizeof err, "CRL without thisUpdate/nextUpdate");
        else
            ok = ks_rev_fresh(rv->ctx, &f, t, NULL, err, sizeof err);
        goto done;
    }
    if ((len = i2d_X509_CRL(crl, &der)) <= 0 || !ks_registry_put(rv->ctx->registry, issuer, fp) ||
        !ks_rev_emb_tag(der, (size_t)len, tag)) {
        snprintf(err, sizeof err, "cannot encode the CRL");
        goto done;
    }
    snprintf(key, sizeof key, "crl|%s|%s", fp, tag);
    ks_blob b = {.name = NULL, .data = der, .len = (size_t)len};
    ks_rev_obj o;
    ks_rev_emb_set(&b);
    if (ks_rev_load(rv->ctx, key, &ks_crl_emb_ops, t, &o, err, sizeof err) == KS_OK) {
        ok = 1;
        ks_rev_release(&o, &ks_crl_emb_ops);
    }
    ks_rev_emb_set(NULL);
done:
    if (!ok && err[0])
        ks_ev_error(rv, d, past ? "CRL (embedded, at the POE)" : "CRL (embedded)", "signature", err);
    OPENSSL_free(der);
    ks_openssl_drain(__func__);
    return ok;
}

/* The embedded CRLs usable at t, checked along the path at t (RFC 5280
 * 6.3) for the depths they cover. */
static void ks_emb_crls(ks_rev *rv, time_t t, int past)
{
    unsigned char covered[KS_REV_MAX_DEPTH] = {0}, missing[KS_REV_MAX_DEPTH];
    ks_crl_past pp = {.validity_ok = 1, .revoked_ok = rv->revoked_ok};
    ks_path_result res;
    int any = 0;
    STACK_OF(X509_CRL) *sk = sk_X509_CRL_new_null();
    if (sk == NULL) {
        rv->nomem = 1;
        return;
    }
    /* At a proven time, a CRL signed with SHA-1 gives a status only when
     * a timestamp over its very bytes proves it older than the sha1 sunset
     * (ETSI EN 319 102-1 5.2.8): the CRLs are checked with a copy of the
     * policy naming those CRLs (ks_alg_evidence_ctx, ks_crl_gives_status).
     * Any other SHA-1 CRL stays as before: what it says is revoked counts,
     * it gives no "good". */
    ks_ctx relaxed;
    int nproven = 0, relax = 0;
    int ncrl = sk_X509_CRL_num(rv->in->crls);
    X509_CRL **proven = ncrl > 0 ? calloc((size_t)ncrl, sizeof *proven) : NULL;
    if (ncrl > 0 && proven == NULL) {
        rv->nomem = 1;
        sk_X509_CRL_free(sk);
        return;
    }
    for (int i = 0; i < ncrl; i++) {
        X509_CRL *crl = sk_X509_CRL_value(rv->in->crls, i);
        int use = 0, md = NID_undef, pk = NID_undef, sunset = 0;
        if (past && rv->in->crl_proven != NULL &&
            OBJ_find_sigid_algs(X509_CRL_get_signature_nid(crl), &md, &pk) == 1 && md == NID_sha1 &&
            !ks_alg_digest_ok(rv->ctx, md) && ks_alg_evidence_ctx(rv->ctx, rv->in->crl_proven[i], &relaxed))
            sunset = relax = 1;
        for (int d = 0; d < rv->n - 1; d++)
            if (!rv->established[d] && ks_emb_crl_usable(rv, crl, d, t, past))
                use = covered[d] = 1;
        if (use && sk_X509_CRL_push(sk, crl) <= 0)
            rv->nomem = 1;
        if (use && sunset)
            proven[nproven++] = crl;
        any |= use;
    }
    if (relax) {
        relaxed.alg.evidence_allow_sha1 = 0; /* OCSP: not here */
        relaxed.alg.evidence_sha1_crls = proven;
        relaxed.alg.n_evidence_sha1_crls = nproven;
    }
    memset(&res, 0, sizeof res);
    /* A revocation after the POE is forgiven and the path checked again
     * for the next one up, at most once per depth (as ks_crl_step). */
    for (int round = 0; any && round < rv->n; round++) {
        memset(missing, 0, sizeof missing);
        ks_path_check_crls(relax ? &relaxed : rv->ctx, rv->chain, sk, t, NULL, rv->established, 1,
                           rv->poe ? &pp : NULL, missing, &res);
        int d = res.error_depth;
        if (res.x509_error != X509_V_ERR_CERT_REVOKED || d < 0 || d >= rv->n - 1 || rv->revoked_ok[d])
            break;
        ks_crl_revoked_entry(rv, d);
        ks_ev_used(rv, d, t, past);
        if (!rv->revoked_ok[d])
            break; /* revoked at or before the POE: final */
        ks_path_result_clear(&res);
    }
    if (any && res.indication == KS_TOTAL_PASSED) {
        rv->weak_ev |= nproven > 0;
        for (int d = 0; d < rv->n - 1; d++) {
            if (rv->established[d] || missing[d] || !covered[d])
                continue;
            ks_crl_item it = {.from = "message"};
            snprintf(it.origin, sizeof it.origin, "signature");
            for (int i = 0; i < sk_X509_CRL_num(sk) && it.crl == NULL; i++)
                if (X509_NAME_cmp(X509_CRL_get_issuer(sk_X509_CRL_value(sk, i)),
                                  X509_get_issuer_name(sk_X509_value(rv->chain, d))) == 0)
                    it.crl = sk_X509_CRL_value(sk, i);
            rv->established[d] = 1;
            ks_ev_str(rv, rv->ev[d], "status", "good");
            if (it.crl != NULL)
                ks_ev_crl(rv, d, &it);
            else
                ks_ev_str(rv, rv->ev[d], "source", "crl");
            ks_ev_used(rv, d, t, past);
        }
    }
    ks_path_result_clear(&res);
    sk_X509_CRL_free(sk);
    free(proven);
    ks_openssl_drain(__func__);
}

static void ks_embedded(ks_rev *rv)
{
    if (rv->in == NULL || (rv->in->n_ocsps == 0 && sk_X509_CRL_num(rv->in->crls) <= 0))
        return;
    for (int i = 0; !rv->emb_crls_added && i < sk_X509_CRL_num(rv->in->crls); i++)
        ks_add_crl(rv, sk_X509_CRL_value(rv->in->crls, i), "signature", "message");
    rv->emb_crls_added = 1;
    for (int pass = 0; pass < 2; pass++) {
        int past = pass == 1;
        if (past && (rv->poe == NULL || *rv->poe == rv->at))
            break;
        time_t t = past ? *rv->poe : rv->at;
        for (int step = 0; step < 2; step++) {
            if ((step == 0) == (rv->ctx->rev.prefer_crl != 0)) {
                ks_emb_crls(rv, t, past);
            } else {
                for (int d = 0; d < rv->n - 1 && rv->revoked_depth < 0; d++)
                    if (!rv->established[d])
                        ks_emb_ocsp(rv, d, t, past);
            }
            if (rv->revoked_depth >= 0 || ks_all_established(rv))
                return;
        }
    }
}

/* ---------------- the whole check ---------------- */

static void ks_ocsp_all(ks_rev *rv)
{
    for (int d = 0; d < rv->n - 1 && rv->revoked_depth < 0; d++)
        if (!rv->established[d])
            ks_ocsp_step(rv, d);
}

ks_result ks_revocation_check(ks_ctx *ctx, const ks_path_input *in, time_t at, const time_t *claimed,
                              const time_t *poe, STACK_OF(X509) *chain, ks_status *st, cJSON *evidence, cJSON *obj)
{
    ks_rev rv = {.ctx = ctx, .in = in, .at = at, .chain = chain, .n = sk_X509_num(chain), .revoked_depth = -1,
                 .poe = poe};
    if (ctx->rev.mode == KS_REV_OFF)
        return ks_verdict_warn(obj, "REVOCATION_NOT_CHECKED", "Revocation was not checked (policy: off).",
                               "失効確認は行っていません（ポリシー: off）。")
                   ? KS_OK
                   : KS_E_NOMEM;
    if (rv.n < 1 || rv.n > KS_REV_MAX_DEPTH) {
        ks_status_set(st, KS_INDETERMINATE, KS_SUB_TRY_LATER, "path too long for revocation checking");
        return KS_OK;
    }
    /* The anchor is trusted by configuration (RFC 5280 6.1: not checked). */
    rv.established[rv.n - 1] = 1;
    /* Subjects and serials as the verdict's "chain" shows them, from the
     * same printed certificates (ks_check_signing_cert added the chain). */
    for (int d = 0; d < rv.n - 1; d++) {
        X509 *x = sk_X509_value(chain, d);
        cJSON *ev = cJSON_CreateObject();
        if (ev != NULL && (!cJSON_AddNumberToObject(ev, "depth", d) ||
                           !ks_vcache_cert_names(ctx, x, ks_path_source(ctx, in, x), ev) ||
                           !cJSON_AddStringToObject(ev, "status", "unavailable") || !cJSON_AddNullToObject(ev, "source") ||
                           !cJSON_AddArrayToObject(ev, "errors") || !cJSON_AddItemToArray(evidence, ev))) {
            cJSON_Delete(ev);
            ev = NULL;
        }
        rv.ev[d] = ev;
        if (ev == NULL)
            return KS_E_NOMEM;
    }
    /* What the signed object carries first: a depth it establishes is
     * never fetched for. */
    ks_embedded(&rv);
    if (rv.weak_ev)
        rv.nomem |= !ks_verdict_warn(obj, "WEAK_ALGORITHM_BEFORE_SUNSET",
                                     "Revocation evidence signed with SHA-1, no longer secure, was used: a timestamp "
                                     "over it proves it existed before the algorithm's sunset.",
                                     "現在は安全でない SHA-1 で署名された失効情報を使いましたが、その利用期限より前に"
                                     "存在したことがそれを含むタイムスタンプで証明されています。");
    if (rv.revoked_depth >= 0 || ks_all_established(&rv)) {
        /* nothing left to fetch */
    } else if (ctx->rev.prefer_crl) {
        ks_crl_step(&rv);
        if (rv.revoked_depth < 0 && !rv.have_crl_failure)
            ks_ocsp_all(&rv);
    } else {
        ks_ocsp_all(&rv);
        if (rv.revoked_depth < 0 && !ks_all_established(&rv))
            ks_crl_step(&rv);
    }

    char detail[256];
    if (rv.revoked_depth >= 0) {
        /* ETSI EN 319 102-1 5.2.5: revoked after the claimed signing time
         * (which nothing proves) is REVOKED_NO_POE.  Revoked at or before a
         * proven time (ks_ev_revoked let the later ones pass) is REVOKED:
         * the proof outweighs the claim. */
        int no_poe = poe == NULL && claimed != NULL && *claimed < rv.revocation_time;
        snprintf(detail, sizeof detail, "certificate at depth %d revoked (%s)", rv.revoked_depth,
                 ks_crl_reason_name(rv.reason) ? ks_crl_reason_name(rv.reason) : "unspecified");
        ks_status_set(st, no_poe ? KS_INDETERMINATE : KS_TOTAL_FAILED, no_poe ? KS_SUB_REVOKED_NO_POE : KS_SUB_REVOKED,
                      detail);
        st->rev_reason = rv.reason;
    } else if (rv.have_crl_failure) {
        ks_status_set(st, rv.crl_failure.indication, rv.crl_failure.sub, rv.crl_failure.detail);
    } else if (!ks_all_established(&rv)) {
        int d = 0;
        while (rv.established[d])
            d++;
        snprintf(detail, sizeof detail, "no fresh revocation status for the certificate at depth %d", d);
        if (ctx->rev.mode == KS_REV_SOFT_FAIL)
            rv.nomem |= !ks_verdict_warn(obj, "REVOCATION_UNAVAILABLE",
                                         "The revocation status was unavailable; the soft-fail policy accepted the "
                                         "certificate without it.",
                                         "失効状況を確認できませんでしたが、soft-fail ポリシーにより失効確認なしで受け入"
                                         "れました。");
        else
            ks_status_set(st, KS_INDETERMINATE, KS_SUB_TRY_LATER, detail);
    }
    if (st->indication == KS_TOTAL_PASSED && rv.after_poe)
        st->past |= KS_PAST_REVOKED;
    for (size_t i = 0; i < rv.ncrls; i++)
        X509_CRL_free(rv.crls[i].crl);
    free(rv.crls);
    ks_path_result_clear(&rv.crl_failure);
    ks_openssl_drain(__func__);
    return rv.nomem ? KS_E_NOMEM : KS_OK;
}

/* ---------------- the background CRL refresher ---------------- */

/*
 * CRLs named by URL under revocation_sources are fetched again before they
 * run out, off the request path (issue 22, item 6): without it the first
 * request after a CRL's nextUpdate pays the fetch, on every node at the
 * same moment.  A refresh goes through the cache like any load
 * (ks_cache_refresh): the same fetch rules (allow_urls, max_response_bytes,
 * timeout_ms), the same verification (ks_crl_decode: signed by the CA,
 * current, never older than one seen), and what it brings replaces the
 * cached CRL only when it passed; a refused or failed one leaves the held
 * CRL serving until its own nextUpdate.
 *
 * When: at 3/4 of the held CRL's validity (thisUpdate to nextUpdate), and
 * at least every revocation.crl_refresh_s so a CRL issued early is seen;
 * at once when nothing is held.  After a failed, refused or unchanged
 * attempt, again after a quarter of the time left (5 s to 5 min).
 */
#define KS_REFRESH_MAX 64 /* CRL URLs followed; more are left to the request path */
#define KS_REFRESH_RETRY_MIN 5
#define KS_REFRESH_RETRY_MAX 300

struct ks_crl_refresher {
    struct {
        char key[600];
        time_t last;    /* the last attempt (or when first seen) */
        time_t next_at; /* the next attempt */
        int fails;      /* attempts since the last one that brought a newer CRL */
        int seen;       /* still configured in this pass */
    } e[KS_REFRESH_MAX];
    size_t n;
};

ks_crl_refresher *ks_crl_refresher_new(void)
{
    return calloc(1, sizeof(ks_crl_refresher));
}

void ks_crl_refresher_free(ks_crl_refresher *r)
{
    free(r);
}

/* After an attempt that brought nothing newer: a quarter of the time the
 * held CRL has left, or a doubling back-off when none is held. */
static time_t ks_refresh_retry(time_t now, int have, time_t exp, int fails)
{
    time_t d = have ? (exp - now) / 4 : (time_t)KS_REFRESH_RETRY_MIN << (fails < 6 ? fails : 6);
    return now + (d < KS_REFRESH_RETRY_MIN ? KS_REFRESH_RETRY_MIN : d > KS_REFRESH_RETRY_MAX ? KS_REFRESH_RETRY_MAX : d);
}

/* One CRL URL of a source: refreshed when due; *next lowered to when it
 * is due next. */
static void ks_refresh_one(ks_crl_refresher *r, ks_ctx *ctx, X509 *issuer, const char *url, time_t now,
                           ks_crl_refresh_counts *out, time_t *next)
{
    char fp[65], key[600];
    if (!ks_url_allowed(ctx, url) || !ks_registry_put(ctx->registry, issuer, fp) ||
        (size_t)snprintf(key, sizeof key, "crl|%s|%s", fp, url) >= sizeof key)
        return;
    size_t i;
    for (i = 0; i < r->n && strcmp(r->e[i].key, key) != 0; i++)
        ;
    if (i == r->n) {
        if (r->n == KS_REFRESH_MAX)
            return;
        memset(&r->e[i], 0, sizeof r->e[i]);
        snprintf(r->e[i].key, sizeof r->e[i].key, "%s", key);
        r->e[i].last = now;
        r->n++;
    }
    r->e[i].seen = 1;
    time_t exp = 0, iss = 0;
    int have = ks_cache_peek(ctx->cache, key, now, &exp, &iss);
    if (r->e[i].fails == 0) {
        if (!have) {
            r->e[i].next_at = now; /* first pass, purged, evicted or run out */
        } else {
            time_t at = iss > 0 && exp > iss ? iss + (exp - iss) / 4 * 3 : now;
            if (ctx->rev.crl_refresh_s > 0 && r->e[i].last + ctx->rev.crl_refresh_s < at)
                at = r->e[i].last + ctx->rev.crl_refresh_s;
            if (at <= r->e[i].last) /* fetched in its last quarter already */
                at = ks_refresh_retry(r->e[i].last, 1, exp, 0);
            r->e[i].next_at = at;
        }
    }
    if (now >= r->e[i].next_at) {
        ks_cache_ops ops = ks_crl_ops;
        ks_cache_tier tier = KS_TIER_NETWORK;
        ops.arg = ctx;
        ops.epoch = ctx->cache_epoch;
        ks_rev_err[0] = '\0';
        ks_result res = ks_cache_refresh(ctx->cache, key, &ops, now, &tier);
        time_t nexp = 0, niss = 0;
        int now_have = ks_cache_peek(ctx->cache, key, now, &nexp, &niss);
        r->e[i].last = now;
        if (res == KS_OK && now_have && (!have || nexp > exp || niss > iss)) {
            out->ok++;
            r->e[i].fails = 0;
            r->e[i].next_at = now + 1; /* recomputed from the new CRL next pass */
            ks_log(KS_LOG_INFO, "CRL %s refreshed in the background (from %s)", url, ks_tier_name(tier));
        } else {
            /* The same CRL again (not yet reissued), or nothing usable: the
             * held one serves until its nextUpdate; try again later. */
            if (res == KS_OK)
                out->unchanged++;
            else
                out->failed++;
            r->e[i].fails++;
            r->e[i].next_at = ks_refresh_retry(now, now_have, nexp, r->e[i].fails);
            if (ctx->rev.crl_refresh_s > 0 && r->e[i].next_at > now + ctx->rev.crl_refresh_s)
                r->e[i].next_at = now + ctx->rev.crl_refresh_s;
            if (res != KS_OK)
                ks_log(KS_LOG_WARN, "CRL %s: background refresh failed, the cached CRL stays in use: %s", url,
                       ks_rev_err[0] ? ks_rev_err : "unavailable");
        }
    }
    if (r->e[i].next_at < *next)
        *next = r->e[i].next_at;
}

time_t ks_crl_refresh_pass(ks_crl_refresher *r, ks_ctx *ctx, time_t now, ks_crl_refresh_counts *out)
{
    time_t next = now + 60;
    memset(out, 0, sizeof *out);
    if (r == NULL || ctx == NULL || ctx->cache == NULL || ctx->rev.mode == KS_REV_OFF || ctx->rev.crl_refresh_s == 0)
        return next;
    for (size_t i = 0; i < r->n; i++)
        r->e[i].seen = 0;
    for (size_t s = 0; s < ctx->n_sources; s++)
        for (size_t k = 0; k < ctx->sources[s].n_crl; k++)
            if (strstr(ctx->sources[s].crl[k], "://") != NULL)
                ks_refresh_one(r, ctx, ctx->sources[s].issuer, ctx->sources[s].crl[k], now, out, &next);
    /* URLs no longer configured (a reload) are forgotten. */
    size_t w = 0;
    for (size_t i = 0; i < r->n; i++)
        if (r->e[i].seen)
            r->e[w++] = r->e[i];
    r->n = w;
    ks_openssl_drain(__func__);
    return next;
}
