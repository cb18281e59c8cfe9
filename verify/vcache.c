/*
 * verify/vcache.c - what repeats between requests, kept so it is not
 * redone: decoded certificates, validated paths, CRL re-validations and
 * verified CRL signatures.  Real filings are all different, so nothing is
 * kept per document; signers, CAs and revocation answers repeat.
 *
 * Safety rules (a cached "valid" must never outlive what made it valid):
 *  - the cache belongs to one ks_ctx: a reload builds a new, empty one, so
 *    nothing survives a change of anchors, intermediates, CRL files or policy;
 *  - keys are SHA-256 over the exact DER of every input certificate (and,
 *    for CRLs, OpenSSL's digest of the CRL DER plus its signature bytes);
 *  - results that depend on time carry a window [lo, hi] inside which no
 *    notBefore/notAfter of any certificate that validation could have looked
 *    at (the inputs, the configured intermediates and anchors) and no
 *    thisUpdate/nextUpdate of any CRL used changes state; a window is never
 *    made across such a boundary (2 s margin on each side: OpenSSL and RFC
 *    5280 disagree on whether notAfter itself is inside), and a lookup
 *    outside the window is a miss;
 *  - of validations only successes are kept (a PASSED path, a PASSED CRL
 *    re-check), so a failure is always recomputed and reported with its
 *    own detail; a CRL signature check, a pure function of bytes and key,
 *    is kept either way;
 *  - bounded: a fixed number of entries per table, least recently used
 *    evicted per bucket.
 * Values are copied out under the bucket's lock (X509 objects up-ref'd):
 * decoded certificates are shared read-only between threads, as the ones
 * in an X509_STORE are.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "internal.h"

#define KS_VC_WAYS 4
#define KS_VC_CERT_BUCKETS 1024  /* 4096 certificates */
#define KS_VC_RES_BUCKETS 4096   /* 16384 results */
#define KS_VC_STRIPES 64
#define KS_VC_MARGIN 2
#define KS_VC_ALWAYS_LO ((time_t)0 - ((time_t)1 << 62)) /* a window no time falls outside */
#define KS_VC_ALWAYS_HI ((time_t)1 << 62)

typedef struct {
    unsigned char key[32];
    int used;
    unsigned long long stamp;
    time_t lo, hi;
    void *val;
} ks_vc_slot;

typedef struct {
    size_t nbuckets;
    ks_vc_slot *slots; /* nbuckets * KS_VC_WAYS */
    pthread_mutex_t locks[KS_VC_STRIPES];
    void (*free_val)(void *);
} ks_vc_table;

struct ks_vcache {
    ks_vc_table certs;   /* X509 * by SHA-256 of the DER */
    ks_vc_table results; /* ks_vc_result * */
    EVP_MD *sha256;      /* fetched once: implicit fetches take global locks */
    atomic_ullong clock;
    atomic_ullong hits, misses;
};

typedef struct {
    ks_path_result res; /* chain owned */
    unsigned char missing[KS_VC_MAX_DEPTH];
    int n;
    cJSON *json;            /* a signer's JSON, owned */
    char *text;             /* a certificate's JSON, printed, owned */
    char *subject, *serial; /* as that JSON shows them, owned */
} ks_vc_result;

static void ks_vc_free_x509(void *p)
{
    X509_free(p);
}

static void ks_vc_free_result(void *p)
{
    ks_vc_result *r = p;
    if (r != NULL) {
        ks_path_result_clear(&r->res);
        cJSON_Delete(r->json);
        free(r->text);
        free(r->subject);
        free(r->serial);
    }
    free(r);
}

static int ks_vc_table_init(ks_vc_table *t, size_t nbuckets, void (*free_val)(void *))
{
    t->nbuckets = nbuckets;
    t->free_val = free_val;
    if ((t->slots = calloc(nbuckets * KS_VC_WAYS, sizeof *t->slots)) == NULL)
        return 0;
    for (int i = 0; i < KS_VC_STRIPES; i++)
        pthread_mutex_init(&t->locks[i], NULL);
    return 1;
}

static void ks_vc_table_clear(ks_vc_table *t)
{
    if (t->slots == NULL)
        return;
    for (size_t i = 0; i < t->nbuckets * KS_VC_WAYS; i++)
        if (t->slots[i].used)
            t->free_val(t->slots[i].val);
    free(t->slots);
    for (int i = 0; i < KS_VC_STRIPES; i++)
        pthread_mutex_destroy(&t->locks[i]);
}

ks_vcache *ks_vcache_new(void)
{
    ks_vcache *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    c->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    if (c->sha256 == NULL || !ks_vc_table_init(&c->certs, KS_VC_CERT_BUCKETS, ks_vc_free_x509) ||
        !ks_vc_table_init(&c->results, KS_VC_RES_BUCKETS, ks_vc_free_result)) {
        ks_vcache_free(c);
        return NULL;
    }
    return c;
}

void ks_vcache_free(ks_vcache *c)
{
    if (c == NULL)
        return;
    ks_vc_table_clear(&c->certs);
    ks_vc_table_clear(&c->results);
    EVP_MD_free(c->sha256);
    free(c);
}

void ks_vcache_stats(const ks_vcache *c, unsigned long long *hits, unsigned long long *misses)
{
    *hits = c ? atomic_load(&c->hits) : 0;
    *misses = c ? atomic_load(&c->misses) : 0;
}

/* ---------------- hashing ---------------- */

int ks_vc_hash_init(ks_vcache *c, EVP_MD_CTX **h, const char *label)
{
    *h = c != NULL ? EVP_MD_CTX_new() : NULL;
    if (*h == NULL || EVP_DigestInit_ex(*h, c->sha256, NULL) != 1 ||
        EVP_DigestUpdate(*h, label, strlen(label) + 1) != 1) {
        EVP_MD_CTX_free(*h);
        *h = NULL;
        return 0;
    }
    return 1;
}

int ks_vc_hash_final(EVP_MD_CTX *h, unsigned char key[32])
{
    unsigned int len = 0;
    int ok = h != NULL && EVP_DigestFinal_ex(h, key, &len) == 1 && len == 32;
    EVP_MD_CTX_free(h);
    return ok;
}

int ks_vc_hash_bytes(ks_vcache *c, const void *p, size_t n, unsigned char out[32])
{
    unsigned int len = 0;
    return c != NULL && EVP_Digest(p, n, out, &len, c->sha256, NULL) == 1 && len == 32;
}

/* The SHA-256 of a certificate's DER, attached to X509 objects that live
 * long (the context's anchors and intermediates, the cached certificates)
 * while they are not yet shared: written once, then only read. */
static int ks_vc_hash_index = -1;
static CRYPTO_ONCE ks_vc_hash_once = CRYPTO_ONCE_STATIC_INIT;

static void ks_vc_hash_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
    (void)parent, (void)ad, (void)idx, (void)argl, (void)argp;
    free(ptr);
}

static void ks_vc_hash_index_init(void)
{
    ks_vc_hash_index = X509_get_ex_new_index(0, NULL, NULL, NULL, ks_vc_hash_free);
}

static const unsigned char *ks_vc_noted_hash(X509 *x)
{
    if (CRYPTO_THREAD_run_once(&ks_vc_hash_once, ks_vc_hash_index_init) != 1 || ks_vc_hash_index < 0)
        return NULL;
    return X509_get_ex_data(x, ks_vc_hash_index);
}

/* Only for an X509 no other thread can see yet. */
static void ks_vc_note_hash(X509 *x, const unsigned char h[32])
{
    unsigned char *copy;
    if (ks_vc_noted_hash(x) != NULL || (copy = malloc(32)) == NULL)
        return;
    memcpy(copy, h, 32);
    if (X509_set_ex_data(x, ks_vc_hash_index, copy) != 1)
        free(copy);
}

/*
 * OpenSSL 3.0 fills two caches of an X509 on first use.  The extension
 * cache is filled under the object's lock; the policy cache is not: it is
 * published before it is filled (ossl_policy_cache_set / policy_cache_new),
 * so a second thread validating a path through the same certificate can
 * read it half built (a spurious NO_EXPLICIT_POLICY, seen under make
 * bench's cold load, or a stack read while it grows).  Both are filled here
 * while the object is still one thread's: X509_policy_check over [x, x]
 * builds x's policy cache (a lone certificate is taken as the anchor and
 * skipped).  Its verdict is irrelevant.
 */
static void ks_vc_fill_caches(X509 *x)
{
    STACK_OF(X509) *two = sk_X509_new_reserve(NULL, 2);
    X509_POLICY_TREE *tree = NULL;
    int explicit_policy = 0;
    (void)X509_check_purpose(x, -1, 0);
    /* never policy-processed: OpenSSL would leak its constraints (path.c) */
    if (two != NULL && !ks_policy_cache_unsafe(x) && sk_X509_push(two, x) > 0 && sk_X509_push(two, x) > 0)
        (void)X509_policy_check(&tree, &explicit_policy, two, NULL, 0);
    X509_policy_tree_free(tree);
    sk_X509_free(two);
    ks_openssl_drain(__func__);
}

void ks_vcache_note_certs(ks_vcache *c, STACK_OF(X509) *sk)
{
    unsigned char h[32];
    for (int i = 0; i < sk_X509_num(sk); i++)
        ks_vc_fill_caches(sk_X509_value(sk, i));
    for (int i = 0; c != NULL && i < sk_X509_num(sk); i++) {
        X509 *x = sk_X509_value(sk, i);
        unsigned char *der = NULL;
        int n = i2d_X509(x, &der);
        if (n > 0 && ks_vc_hash_bytes(c, der, (size_t)n, h))
            ks_vc_note_hash(x, h);
        OPENSSL_free(der);
    }
    ks_openssl_drain(__func__);
}

/* SHA-256 of the certificate's DER (the encoding it was decoded from). */
int ks_vc_cert_hash(ks_vcache *c, X509 *x, unsigned char out[32])
{
    const unsigned char *noted = ks_vc_noted_hash(x);
    if (noted != NULL) {
        memcpy(out, noted, 32);
        return 1;
    }
    if (c == NULL)
        return 0;
    unsigned char *der = NULL;
    int n = i2d_X509(x, &der);
    int ok = n > 0 && ks_vc_hash_bytes(c, der, (size_t)n, out);
    OPENSSL_free(der);
    return ok;
}

/* ---------------- table ---------------- */

static size_t ks_vc_bucket(const ks_vc_table *t, const unsigned char key[32])
{
    size_t h;
    memcpy(&h, key, sizeof h);
    return h % t->nbuckets;
}

/* Runs copy(val, out) under the lock for a live entry; 1 on a hit. */
static int ks_vc_get(ks_vcache *c, ks_vc_table *t, const unsigned char key[32], time_t at,
                     int (*copy)(const void *val, void *out), void *out)
{
    size_t b = ks_vc_bucket(t, key);
    pthread_mutex_t *mu = &t->locks[b % KS_VC_STRIPES];
    int hit = 0;
    pthread_mutex_lock(mu);
    for (int w = 0; w < KS_VC_WAYS; w++) {
        ks_vc_slot *s = &t->slots[b * KS_VC_WAYS + w];
        if (s->used && memcmp(s->key, key, 32) == 0) {
            if (at >= s->lo && at <= s->hi && copy(s->val, out)) {
                s->stamp = atomic_fetch_add(&c->clock, 1);
                hit = 1;
            }
            break;
        }
    }
    pthread_mutex_unlock(mu);
    atomic_fetch_add(hit ? &c->hits : &c->misses, 1);
    return hit;
}

/* Takes ownership of val (freed if not stored).  Nothing built while this
 * thread's cJSON allocations have failed is kept: it may lack a part, and
 * every later verdict would carry the hole (verdict.c ks_json_oom). */
static void ks_vc_put(ks_vcache *c, ks_vc_table *t, const unsigned char key[32], time_t lo, time_t hi, void *val)
{
    if (ks_json_oom()) {
        t->free_val(val);
        return;
    }
    size_t b = ks_vc_bucket(t, key);
    pthread_mutex_t *mu = &t->locks[b % KS_VC_STRIPES];
    void *old = NULL;
    pthread_mutex_lock(mu);
    ks_vc_slot *victim = NULL;
    for (int w = 0; w < KS_VC_WAYS; w++) {
        ks_vc_slot *s = &t->slots[b * KS_VC_WAYS + w];
        if (s->used && memcmp(s->key, key, 32) == 0) {
            victim = s; /* replace the same key */
            break;
        }
        if (victim == NULL || !s->used || (victim->used && s->stamp < victim->stamp))
            victim = s;
    }
    if (victim->used)
        old = victim->val;
    memcpy(victim->key, key, 32);
    victim->used = 1;
    victim->lo = lo;
    victim->hi = hi;
    victim->val = val;
    victim->stamp = atomic_fetch_add(&c->clock, 1);
    pthread_mutex_unlock(mu);
    if (old != NULL)
        t->free_val(old);
}

/* For values that are functions of bytes alone, valid at any time. */
static void ks_vc_put_forever(ks_vcache *c, ks_vc_table *t, const unsigned char key[32], void *val)
{
    ks_vc_put(c, t, key, KS_VC_ALWAYS_LO, KS_VC_ALWAYS_HI, val);
}

/* ---------------- certificates ---------------- */

static int ks_vc_copy_x509(const void *val, void *out)
{
    X509 *x = (X509 *)val;
    if (X509_up_ref(x) != 1)
        return 0;
    *(X509 **)out = x;
    return 1;
}

X509 *ks_vcache_x509(ks_vcache *c, const uint8_t *der, size_t len)
{
    unsigned char key[32];
    X509 *x = NULL;
    if (c == NULL || !ks_vc_hash_bytes(c, der, len, key))
        return ks_der_to_x509(der, len);
    if (ks_vc_get(c, &c->certs, key, 0, ks_vc_copy_x509, &x))
        return x;
    if ((x = ks_der_to_x509(der, len)) == NULL)
        return NULL;
    ks_vc_note_hash(x, key); /* not shared yet */
    ks_vc_fill_caches(x);
    /* Decoding is all we keep: no verdict about the certificate. */
    if (X509_up_ref(x) == 1)
        ks_vc_put_forever(c, &c->certs, key, x);
    return x;
}

/* ---------------- time windows ---------------- */

void ks_vc_window_init(ks_vc_window *w, time_t at)
{
    w->at = at;
    w->lo = KS_VC_ALWAYS_LO;
    w->hi = KS_VC_ALWAYS_HI;
    w->ok = 1;
}

/* A boundary where some state changes (at b, or at b + 1). */
static void ks_vc_boundary(ks_vc_window *w, time_t b)
{
    if (b < w->at - KS_VC_MARGIN) {
        if (b + KS_VC_MARGIN > w->lo)
            w->lo = b + KS_VC_MARGIN;
    } else if (b > w->at + KS_VC_MARGIN) {
        if (b - KS_VC_MARGIN < w->hi)
            w->hi = b - KS_VC_MARGIN;
    } else {
        w->ok = 0; /* too close to call: never cached */
    }
}

static void ks_vc_asn1_boundary(ks_vc_window *w, const ASN1_TIME *t, int optional)
{
    time_t v;
    if (t == NULL) {
        if (!optional)
            w->ok = 0;
        return;
    }
    if (!ks_asn1_time_to_time_t(t, &v))
        w->ok = 0;
    else
        ks_vc_boundary(w, v);
}

void ks_vc_window_cert(ks_vc_window *w, X509 *x)
{
    ks_vc_asn1_boundary(w, X509_get0_notBefore(x), 0);
    ks_vc_asn1_boundary(w, X509_get0_notAfter(x), 0);
}

void ks_vc_window_certs(ks_vc_window *w, STACK_OF(X509) *sk)
{
    for (int i = 0; sk != NULL && i < sk_X509_num(sk); i++)
        ks_vc_window_cert(w, sk_X509_value(sk, i));
}

void ks_vc_window_crl(ks_vc_window *w, X509_CRL *crl)
{
    ks_vc_asn1_boundary(w, X509_CRL_get0_lastUpdate(crl), 0);
    ks_vc_asn1_boundary(w, X509_CRL_get0_nextUpdate(crl), 1);
}

/* Everything a validation can look at besides its own inputs. */
void ks_vc_window_ctx(ks_vc_window *w, const ks_ctx *ctx)
{
    ks_vc_window_certs(w, ctx->anchors);
    ks_vc_window_certs(w, ctx->intermediates);
}

/* Identity of a CRL: OpenSSL's digest of its DER (kept since decoding) and
 * its signature value. */
int ks_vc_hash_crl(EVP_MD_CTX *h, X509_CRL *crl)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    const ASN1_BIT_STRING *sig = NULL;
    X509_CRL_get0_signature(crl, &sig, NULL);
    /* SHA-1 here is the digest OpenSSL computed when it decoded the CRL
     * (X509_CRL_digest returns it without re-encoding a CRL that may hold a
     * million entries); with the signature bytes in the key as well, a
     * different CRL would need the same digest and the same signature. */
    return sig != NULL && X509_CRL_digest(crl, EVP_sha1(), md, &mdlen) == 1 && EVP_DigestUpdate(h, md, mdlen) == 1 &&
           EVP_DigestUpdate(h, ASN1_STRING_get0_data(sig), (size_t)ASN1_STRING_length(sig)) == 1;
}

/* ---------------- path results ---------------- */

static int ks_vc_copy_result(const void *val, void *out)
{
    const ks_vc_result *r = val;
    ks_vc_result *o = out;
    STACK_OF(X509) *chain = sk_X509_dup(r->res.chain);
    if (chain == NULL)
        return 0;
    for (int i = 0; i < sk_X509_num(chain); i++)
        if (X509_up_ref(sk_X509_value(chain, i)) != 1) {
            while (--i >= 0)
                X509_free(sk_X509_value(chain, i));
            sk_X509_free(chain);
            return 0;
        }
    o->res = r->res;
    o->res.chain = chain;
    memcpy(o->missing, r->missing, sizeof o->missing);
    o->n = r->n;
    return 1;
}

int ks_vcache_get_result(ks_vcache *c, const unsigned char key[32], time_t at, ks_path_result *res,
                         unsigned char *missing, int n)
{
    ks_vc_result o;
    if (c == NULL || n > KS_VC_MAX_DEPTH || !ks_vc_get(c, &c->results, key, at, ks_vc_copy_result, &o))
        return 0;
    *res = o.res;
    if (missing != NULL && n > 0)
        memcpy(missing, o.missing, (size_t)n);
    return 1;
}

void ks_vcache_put_result(ks_vcache *c, const unsigned char key[32], const ks_vc_window *w,
                          const ks_path_result *res, const unsigned char *missing, int n)
{
    if (c == NULL || !w->ok || w->lo > w->hi || res->indication != KS_TOTAL_PASSED || n > KS_VC_MAX_DEPTH)
        return;
    ks_vc_result *r = calloc(1, sizeof *r);
    if (r == NULL)
        return;
    if (!ks_vc_copy_result(&(ks_vc_result){.res = *res}, r)) {
        free(r);
        return;
    }
    if (missing != NULL && n > 0)
        memcpy(r->missing, missing, (size_t)n);
    r->n = n;
    ks_vc_put(c, &c->results, key, w->lo, w->hi, r);
}

/* ---------------- CRL signatures ---------------- */

static int ks_vc_copy_flag(const void *val, void *out)
{
    *(int *)out = ((const ks_vc_result *)val)->n;
    return 1;
}

int ks_vcache_crl_verify(const ks_ctx *ctx, X509_CRL *crl, X509 *issuer)
{
    ks_vcache *c = ctx->vcache;
    EVP_PKEY *pk = X509_get0_pubkey(issuer);
    const ASN1_BIT_STRING *spki = X509_get0_pubkey_bitstr(issuer);
    unsigned char key[32];
    EVP_MD_CTX *h = NULL;
    int outcome = 0;
    if (pk == NULL)
        return 0;
    int keyed = spki != NULL && ks_vc_hash_init(c, &h, "crl-signature");
    if (keyed)
        keyed = ks_vc_hash_crl(h, crl) &&
                EVP_DigestUpdate(h, ASN1_STRING_get0_data(spki), (size_t)ASN1_STRING_length(spki)) == 1;
    if (h != NULL)
        keyed = ks_vc_hash_final(h, key) && keyed; /* frees h */
    ks_openssl_drain(__func__);
    if (keyed && ks_vc_get(c, &c->results, key, 0, ks_vc_copy_flag, &outcome))
        return outcome;
    /* A signature check is a pure function of the bytes and the key, so
     * its outcome is kept either way: a CRL of the same name from another
     * key (a re-keyed CA) fails the same way every time. */
    outcome = X509_CRL_verify(crl, pk) == 1;
    ks_openssl_drain(__func__);
    if (keyed) {
        ks_vc_result *r = calloc(1, sizeof *r);
        if (r != NULL) {
            r->n = outcome;
            ks_vc_put_forever(c, &c->results, key, r);
        }
    }
    return outcome;
}

/* ---------------- certificate JSON ---------------- */

/* The key of a certificate's JSON: its DER and its source (and whether the
 * JPKI items are in it). */
static int ks_vc_json_key(ks_vcache *c, X509 *x, ks_cert_source src, const char *label, unsigned char key[32])
{
    unsigned char h[32];
    EVP_MD_CTX *md = NULL;
    int s = (int)src;
    int keyed = ks_vc_cert_hash(c, x, h) && ks_vc_hash_init(c, &md, label);
    if (keyed)
        keyed = EVP_DigestUpdate(md, h, sizeof h) == 1 && EVP_DigestUpdate(md, &s, sizeof s) == 1;
    if (md != NULL)
        keyed = ks_vc_hash_final(md, key) && keyed;
    ks_openssl_drain(__func__);
    return keyed;
}

static int ks_vc_copy_json(const void *val, void *out)
{
    const ks_vc_result *r = val;
    return r->json != NULL && (*(cJSON **)out = cJSON_Duplicate(r->json, 1)) != NULL;
}

/* ks_cert_json and ks_jpki_json are functions of the DER and the source
 * alone.  The JPKI items stay in this process's memory, as the decoded
 * certificate that holds them does: never in memcached, logs or metrics. */
cJSON *ks_vcache_signer_json(const ks_ctx *ctx, X509 *x, ks_cert_source src)
{
    ks_vcache *c = ctx->vcache;
    unsigned char key[32];
    cJSON *o = NULL;
    int keyed = ks_vc_json_key(c, x, src, "signer-json-v1", key);
    if (keyed && ks_vc_get(c, &c->results, key, 0, ks_vc_copy_json, &o))
        return o;
    if ((o = ks_cert_json(x, src)) == NULL)
        return NULL;
    cJSON *jpki = ks_jpki_json(x);
    if (jpki != NULL && !cJSON_AddItemToObject(o, "jpki", jpki)) {
        cJSON_Delete(jpki);
        cJSON_Delete(o);
        return NULL;
    }
    if (!keyed)
        return o;
    ks_vc_result *r = calloc(1, sizeof *r);
    if (r != NULL && (r->json = cJSON_Duplicate(o, 1)) != NULL)
        ks_vc_put_forever(c, &c->results, key, r);
    else
        free(r);
    return o;
}

/* A certificate on a path is printed once (twice per verdict, with the
 * top-level mirror, in every verdict of its signers) and copied into each
 * verdict as raw JSON: a copy of one string, not of a tree. */
typedef struct {
    cJSON *raw;   /* out: the certificate's JSON as a raw node */
    cJSON *names; /* or: "subject" and "serial" are added to it */
} ks_vc_cert_out;

static int ks_vc_copy_cert(const void *val, void *out)
{
    const ks_vc_result *r = val;
    ks_vc_cert_out *o = out;
    if (r->text == NULL)
        return 0;
    if (o->names != NULL) {
        /* Both or neither: a caller that fails here builds them anew. */
        if (cJSON_AddStringToObject(o->names, "subject", r->subject) == NULL)
            return 0;
        if (cJSON_AddStringToObject(o->names, "serial", r->serial) == NULL) {
            cJSON_DeleteItemFromObjectCaseSensitive(o->names, "subject");
            return 0;
        }
        return 1;
    }
    return (o->raw = cJSON_CreateRaw(r->text)) != NULL;
}

static int ks_vc_cert_text(const ks_ctx *ctx, X509 *x, ks_cert_source src, ks_vc_cert_out *out)
{
    ks_vcache *c = ctx->vcache;
    unsigned char key[32];
    int keyed = ks_vc_json_key(c, x, src, "cert-json-v2", key);
    if (keyed && ks_vc_get(c, &c->results, key, 0, ks_vc_copy_cert, out))
        return 1;
    cJSON *o = ks_cert_json(x, src);
    const char *subject = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "subject"));
    const char *serial = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "serial"));
    ks_vc_result *r = calloc(1, sizeof *r);
    int ok = subject != NULL && serial != NULL && r != NULL && (r->text = cJSON_PrintUnformatted(o)) != NULL &&
             (r->subject = strdup(subject)) != NULL && (r->serial = strdup(serial)) != NULL &&
             ks_vc_copy_cert(r, out);
    cJSON_Delete(o);
    if (ok && keyed)
        ks_vc_put_forever(c, &c->results, key, r);
    else
        ks_vc_free_result(r);
    return ok;
}

cJSON *ks_vcache_cert_json(const ks_ctx *ctx, X509 *x, ks_cert_source src)
{
    ks_vc_cert_out out = {0};
    return ks_vc_cert_text(ctx, x, src, &out) ? out.raw : NULL;
}

int ks_vcache_cert_names(const ks_ctx *ctx, X509 *x, ks_cert_source src, cJSON *obj)
{
    ks_vc_cert_out out = {.names = obj};
    return ks_vc_cert_text(ctx, x, src, &out);
}
