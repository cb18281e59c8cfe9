/*
 * cache/cache.c - the two-tier revocation cache (in-process LRU + memcached)
 * in front of an authoritative fetch.  See cache.h for the contract.
 *
 * Locking: one mutex (c->mu) guards the in-process table, the LRU list, the
 * in-flight loads and the refresh queue.  It is never held across a fetch,
 * a decode or a memcached round trip, only around pointer updates, so one
 * lock is cheaper than sharding at the rates a revocation cache sees.
 * Entries carry an atomic reference count: the table holds one reference,
 * every reader one more, so eviction never frees an object in use.
 *
 * memcached frame (all integers big-endian), version 2:
 *   "KSC2" kind:u8 flags:u8 0:u16 expires:i64 issued:i64 keyhash[32] len:u32 payload[len] [mac[32]]
 * (version 1 had no issued time; such frames are refused like any other
 * foreign bytes and refetched).
 * kind 1 = value, 2 = manifest of a chunked value, 3 = chunk.  keyhash is
 * SHA-256 of the cache key, so a frame moved to another key is refused even
 * without an HMAC key; with one (flags bit 0), mac = HMAC-SHA256(hmac_key,
 * len(mckey):u16 || mckey || frame-without-mac) binds every byte to the
 * memcached key it was read from.  A manifest's payload is
 *   total:u64 nchunks:u32 chunk_bytes:u32 generation[16] sha256(value)[32]
 * and chunk i lives at "ks1:<keyhash hex>:<generation hex>:<i>".
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libmemcached-1.0/memcached.h>
#include <libmemcachedutil-1.0/pool.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "cache.h"

#define KS_CACHE_KEY_MAX 1024
#define KS_CACHE_MAGIC "KSC2"
#define KS_CACHE_HDR 60 /* magic 4, kind 1, flags 1, reserved 2, expires 8, issued 8, keyhash 32, len 4 */
#define KS_CACHE_MAC_LEN 32
#define KS_CACHE_KIND_VALUE 1
#define KS_CACHE_KIND_MANIFEST 2
#define KS_CACHE_KIND_CHUNK 3
#define KS_CACHE_FLAG_MAC 0x01
#define KS_CACHE_MANIFEST_LEN (8 + 4 + 4 + 16 + 32)
#define KS_CACHE_MAX_CHUNKS 4096
#define KS_CACHE_MAX_SERVERS 64
#define KS_CACHE_HMAC_MIN 32
#define KS_CACHE_HMAC_MAX 1024
#define KS_CACHE_KEYFILE_MAX 4096
/* memcached reads an expiration above 30 days as an absolute Unix time
 * (protocol.txt, "Storage commands"); relative TTLs are capped there. */
#define KS_CACHE_MC_TTL_MAX (30 * 24 * 3600)
#define KS_CACHE_POLL_MS 10

/* ------------------------------------------------------------------ */
/* Configuration                                                      */
/* ------------------------------------------------------------------ */

typedef struct {
    long long max_entries, max_bytes, max_value_bytes, negative_ttl_s, max_ttl_s, refresh_ahead_s,
        refresh_threads, refresh_queue, wait_ms, mc_timeout_ms, mc_backoff_ms, mc_pool_size, chunk_bytes,
        lock_ttl_s, lock_wait_ms;
} ks_cache_cfg;

/* Every integer key, its range and its default (README "Configuration"). */
static const struct {
    const char *name;
    size_t off;
    long long lo, hi, dflt;
} ks_cache_cfg_ints[] = {
    {"max_entries", offsetof(ks_cache_cfg, max_entries), 1, 10000000, 10000},
    {"max_bytes", offsetof(ks_cache_cfg, max_bytes), 4096, 64LL << 30, 64LL << 20},
    {"max_value_bytes", offsetof(ks_cache_cfg, max_value_bytes), 1024, 256LL << 20, 16LL << 20},
    {"negative_ttl_s", offsetof(ks_cache_cfg, negative_ttl_s), 0, 3600, 30},
    {"max_ttl_s", offsetof(ks_cache_cfg, max_ttl_s), 0, 30LL * 86400, 0},
    {"refresh_ahead_s", offsetof(ks_cache_cfg, refresh_ahead_s), 0, 86400, 60},
    {"refresh_threads", offsetof(ks_cache_cfg, refresh_threads), 1, 16, 2},
    {"refresh_queue", offsetof(ks_cache_cfg, refresh_queue), 1, 65536, 256},
    {"wait_ms", offsetof(ks_cache_cfg, wait_ms), 1, 600000, 10000},
    {"memcached_timeout_ms", offsetof(ks_cache_cfg, mc_timeout_ms), 1, 5000, 50},
    {"memcached_backoff_ms", offsetof(ks_cache_cfg, mc_backoff_ms), 10, 600000, 2000},
    {"memcached_pool_size", offsetof(ks_cache_cfg, mc_pool_size), 1, 1024, 16},
    {"memcached_chunk_bytes", offsetof(ks_cache_cfg, chunk_bytes), 1024, 16LL << 20, 1000000},
    {"lock_ttl_s", offsetof(ks_cache_cfg, lock_ttl_s), 1, 300, 10},
    {"lock_wait_ms", offsetof(ks_cache_cfg, lock_wait_ms), 0, 60000, 2000},
};

/* ------------------------------------------------------------------ */
/* Types                                                              */
/* ------------------------------------------------------------------ */

struct ks_cache_entry {
    atomic_int refs;
    char *key;
    uint64_t hash;
    void *obj;
    void (*free_obj)(void *);
    time_t expires;       /* served only while now < expires */
    time_t issued;        /* decode's *issued */
    time_t refresh_after; /* no refresh-ahead before this time */
    size_t bytes;         /* accounted against max_bytes */
    int negative;         /* a remembered failure: obj is NULL */
    int refreshing;       /* a refresh job is queued or running */
    struct ks_cache_entry *hnext, *lprev, *lnext;
};

/* One load in progress; threads missing the same key wait on it. */
typedef struct ks_cache_flight {
    char *key;
    uint64_t hash;
    pthread_cond_t cv; /* CLOCK_MONOTONIC */
    int refs;          /* leader + waiters, under c->mu */
    int done;
    ks_result result;
    ks_cache_entry *entry; /* a reference of the flight's own */
    ks_cache_tier tier;
    uint64_t epoch; /* the cache's epoch the load began in (ks_cache_purge) */
    struct ks_cache_flight *next;
} ks_cache_flight;

typedef struct ks_cache_job {
    char *key;
    ks_cache_ops ops; /* ops.epoch: the epoch it was queued in, never 0 */
    time_t now;
    time_t newer_than;
    struct ks_cache_job *next;
} ks_cache_job;

typedef struct {
    char *name;                 /* as configured, for logs */
    atomic_llong down_until_ms; /* monotonic; skipped until then */
    atomic_int failed;          /* the last operation failed */
    atomic_int slow;            /* ... by timing out: skipped until down_until_ms */
} ks_cache_server;

typedef struct {
    uint8_t kh[32];   /* SHA-256 of the cache key */
    char hex[65];     /* its hex */
    char mckey[72];   /* "ks1:" + hex */
    char lockkey[80]; /* "ks1:lock:" + hex */
} ks_cache_keyinfo;

struct ks_cache {
    atomic_int refs; /* ks_cache_ref: contexts that share it (a reload) */
    ks_cache_cfg cfg;
    uint8_t key_id[32]; /* SHA-256 of the HMAC key (ks_cache_same_config), zero without one */
    pthread_mutex_t mu;
    /* Bumped by ks_cache_purge: a load or refresh begun before it (for a
     * context whose configuration has since changed) is handed to its own
     * caller but never put in the table. */
    uint64_t epoch;
    ks_cache_entry **buckets;
    size_t nbuckets; /* power of two */
    uint64_t seed;
    ks_cache_entry *lru_head, *lru_tail; /* head = most recently used */
    size_t entries, bytes;
    ks_cache_flight *flights;

    /* Newest issued time loaded per key (rollback guard), direct-mapped by
     * the key's bucket hash; a colliding key takes the slot over. */
    struct {
        uint64_t hash;
        time_t issued;
    } *marks;
    size_t nmarks; /* power of two */

    /* refresh-ahead */
    pthread_cond_t job_cv;
    ks_cache_job *jobs_head, *jobs_tail;
    size_t njobs;
    ks_cache_job *running; /* jobs a refresh thread is loading (ks_cache_forget waits for them) */
    pthread_cond_t idle_cv;
    int stopping;
    pthread_t *workers;
    size_t nworkers;

    /* memcached */
    memcached_pool_st *pool;
    memcached_st *master;
    ks_cache_server *servers;
    size_t nservers;

    /* crypto, fetched once */
    EVP_MD *sha256;
    EVP_MAC *mac;
    EVP_MAC_CTX *mac_tmpl; /* keyed; duplicated per use; NULL: no HMAC key */

    atomic_ullong hits_memory, hits_memcached, misses, fetches, fetch_errors, collapsed, rejected, negative_hits,
        refreshes, memcached_errors, evictions;
};

/* ------------------------------------------------------------------ */
/* Small helpers                                                      */
/* ------------------------------------------------------------------ */

static void ks_cache_errf(char **errmsg, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void ks_cache_errf(char **errmsg, const char *fmt, ...)
{
    if (errmsg == NULL || *errmsg != NULL)
        return;
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    *errmsg = strdup(buf);
}

static long long ks_cache_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void ks_cache_sleep_ms(long long ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static void ks_cache_deadline(struct timespec *ts, long long ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += (time_t)(ms / 1000);
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

static void ks_cache_put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 3; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

static void ks_cache_put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

/* Cursor reads: nothing moves on short input (ks_cur_skip). */
static int ks_cache_cur_bytes(ks_cur *cur, size_t n, const uint8_t **p)
{
    if (ks_cur_left(cur) < n)
        return 0;
    *p = ks_cur_ptr(cur);
    return ks_cur_skip(cur, n);
}

static int ks_cache_cur_u8(ks_cur *cur, uint8_t *v)
{
    const uint8_t *p;
    if (!ks_cache_cur_bytes(cur, 1, &p))
        return 0;
    *v = p[0];
    return 1;
}

static int ks_cache_cur_u32(ks_cur *cur, uint32_t *v)
{
    const uint8_t *p;
    if (!ks_cache_cur_bytes(cur, 4, &p))
        return 0;
    *v = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    return 1;
}

static int ks_cache_cur_u64(ks_cur *cur, uint64_t *v)
{
    uint32_t hi, lo;
    ks_cur save = *cur;
    if (!ks_cache_cur_u32(cur, &hi) || !ks_cache_cur_u32(cur, &lo)) {
        *cur = save;
        return 0;
    }
    *v = (uint64_t)hi << 32 | lo;
    return 1;
}

/* Seeded FNV-1a with a final mix: the in-process table's bucket hash.  The
 * seed is random per process so chains cannot be predicted from outside. */
static uint64_t ks_cache_hash(const ks_cache *c, const char *key)
{
    uint64_t h = 0xcbf29ce484222325ULL ^ c->seed;
    for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
        h ^= *p;
        h *= 0x100000001b3ULL;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h;
}

static int ks_cache_sha256(const ks_cache *c, const uint8_t *p, size_t n, uint8_t out[32])
{
    unsigned int len = 0;
    if (EVP_Digest(p, n, out, &len, c->sha256, NULL) != 1 || len != 32) {
        ks_log_openssl("cache: EVP_Digest");
        return 0;
    }
    return 1;
}

/* HMAC-SHA256(key, len(mckey):u16 || mckey || frame) */
static int ks_cache_mac(const ks_cache *c, const char *mckey, const uint8_t *frame, size_t n, uint8_t out[32])
{
    int ok = 0;
    size_t klen = strlen(mckey), outl = 0;
    uint8_t lenbuf[2] = {(uint8_t)(klen >> 8), (uint8_t)klen};
    EVP_MAC_CTX *x = EVP_MAC_CTX_dup(c->mac_tmpl);
    if (x == NULL || EVP_MAC_update(x, lenbuf, sizeof lenbuf) != 1 ||
        EVP_MAC_update(x, (const uint8_t *)mckey, klen) != 1 || EVP_MAC_update(x, frame, n) != 1 ||
        EVP_MAC_final(x, out, &outl, KS_CACHE_MAC_LEN) != 1 || outl != KS_CACHE_MAC_LEN) {
        ks_log_openssl("cache: HMAC");
        goto done;
    }
    ok = 1;
done:
    EVP_MAC_CTX_free(x);
    return ok;
}

static int ks_cache_keyinfo_init(const ks_cache *c, const char *key, ks_cache_keyinfo *ki)
{
    if (!ks_cache_sha256(c, (const uint8_t *)key, strlen(key), ki->kh))
        return 0;
    ks_hex_encode(ki->kh, sizeof ki->kh, ki->hex);
    snprintf(ki->mckey, sizeof ki->mckey, "ks1:%s", ki->hex);
    snprintf(ki->lockkey, sizeof ki->lockkey, "ks1:lock:%s", ki->hex);
    return 1;
}

/* ------------------------------------------------------------------ */
/* Frames                                                             */
/* ------------------------------------------------------------------ */

static uint8_t *ks_cache_frame(const ks_cache *c, int kind, const uint8_t kh[32], const char *mckey, time_t expires,
                               time_t issued, const uint8_t *payload, size_t plen, size_t *outlen)
{
    if (plen > UINT32_MAX)
        return NULL;
    size_t n = KS_CACHE_HDR + plen + (c->mac_tmpl ? KS_CACHE_MAC_LEN : 0);
    uint8_t *f = malloc(n);
    if (f == NULL)
        return NULL;
    memcpy(f, KS_CACHE_MAGIC, 4);
    f[4] = (uint8_t)kind;
    f[5] = c->mac_tmpl ? KS_CACHE_FLAG_MAC : 0;
    f[6] = f[7] = 0;
    ks_cache_put_u64(f + 8, (uint64_t)(int64_t)expires);
    ks_cache_put_u64(f + 16, (uint64_t)(int64_t)issued);
    memcpy(f + 24, kh, 32);
    ks_cache_put_u32(f + 56, (uint32_t)plen);
    memcpy(f + KS_CACHE_HDR, payload, plen);
    if (c->mac_tmpl && !ks_cache_mac(c, mckey, f, KS_CACHE_HDR + plen, f + KS_CACHE_HDR + plen)) {
        free(f);
        return NULL;
    }
    *outlen = n;
    return f;
}

/*
 * Checks a frame read from memcached key `mckey` for cache key hash `kh`:
 * magic, kind, our MAC mode, key binding, exact length, MAC.  1 ok: *payload
 * points into buf.
 */
static int ks_cache_unframe(const ks_cache *c, int want_kind, int *kind, const uint8_t kh[32], const char *mckey,
                            const uint8_t *buf, size_t len, time_t *expires, time_t *issued, const uint8_t **payload,
                            size_t *plen)
{
    ks_cur cur;
    const uint8_t *magic, *reserved, *fkh, *p, *mac;
    uint8_t k, flags;
    uint64_t exp, iss;
    uint32_t n;
    ks_cur_init(&cur, buf, len);
    if (!ks_cache_cur_bytes(&cur, 4, &magic) || memcmp(magic, KS_CACHE_MAGIC, 4) != 0 ||
        !ks_cache_cur_u8(&cur, &k) || !ks_cache_cur_u8(&cur, &flags) || !ks_cache_cur_bytes(&cur, 2, &reserved) ||
        reserved[0] != 0 || reserved[1] != 0 || !ks_cache_cur_u64(&cur, &exp) || !ks_cache_cur_u64(&cur, &iss) ||
        !ks_cache_cur_bytes(&cur, 32, &fkh) || !ks_cache_cur_u32(&cur, &n) || !ks_cache_cur_bytes(&cur, n, &p))
        return 0;
    if (want_kind != 0 ? k != want_kind : (k != KS_CACHE_KIND_VALUE && k != KS_CACHE_KIND_MANIFEST))
        return 0;
    /* Nothing we write is empty (a fetch of no bytes is a failure, a
     * manifest names at least one byte): ops->decode never sees 0 bytes. */
    if (n == 0)
        return 0;
    /* A frame written without a MAC is refused when we have a key (and the
     * other way round): nodes must agree on hmac_key. */
    if (flags != (c->mac_tmpl ? KS_CACHE_FLAG_MAC : 0))
        return 0;
    size_t body = len - ks_cur_left(&cur);
    if (c->mac_tmpl) {
        uint8_t want[KS_CACHE_MAC_LEN];
        if (!ks_cache_cur_bytes(&cur, KS_CACHE_MAC_LEN, &mac) || !ks_cache_mac(c, mckey, buf, body, want) ||
            CRYPTO_memcmp(want, mac, KS_CACHE_MAC_LEN) != 0)
            return 0;
    }
    if (ks_cur_left(&cur) != 0 || CRYPTO_memcmp(fkh, kh, 32) != 0)
        return 0;
    *kind = k;
    *expires = (time_t)(int64_t)exp;
    *issued = (time_t)(int64_t)iss;
    *payload = p;
    *plen = n;
    return 1;
}

/* ------------------------------------------------------------------ */
/* Entries and the in-process tier (c->mu held where _locked)         */
/* ------------------------------------------------------------------ */

static ks_cache_entry *ks_cache_entry_new(const char *key, uint64_t hash, void *obj, void (*free_obj)(void *),
                                          time_t expires, time_t issued, size_t value_len)
{
    ks_cache_entry *e = calloc(1, sizeof *e);
    if (e == NULL || (e->key = strdup(key)) == NULL) {
        free(e);
        return NULL;
    }
    atomic_init(&e->refs, 1);
    e->hash = hash;
    e->obj = obj;
    e->free_obj = free_obj;
    e->expires = expires;
    e->issued = issued;
    e->bytes = value_len + strlen(key) + 1 + sizeof *e;
    return e;
}

void *ks_cache_entry_obj(const ks_cache_entry *e)
{
    return e ? e->obj : NULL;
}

time_t ks_cache_entry_expires(const ks_cache_entry *e)
{
    return e ? e->expires : 0;
}

void ks_cache_entry_release(ks_cache_entry *e)
{
    if (e == NULL || atomic_fetch_sub(&e->refs, 1) != 1)
        return;
    if (e->obj != NULL && e->free_obj != NULL)
        e->free_obj(e->obj);
    free(e->key);
    free(e);
}

static ks_cache_entry *ks_cache_lookup_locked(ks_cache *c, const char *key, uint64_t hash)
{
    for (ks_cache_entry *e = c->buckets[hash & (c->nbuckets - 1)]; e; e = e->hnext)
        if (e->hash == hash && strcmp(e->key, key) == 0)
            return e;
    return NULL;
}

static void ks_cache_lru_unlink_locked(ks_cache *c, ks_cache_entry *e)
{
    if (e->lprev)
        e->lprev->lnext = e->lnext;
    else
        c->lru_head = e->lnext;
    if (e->lnext)
        e->lnext->lprev = e->lprev;
    else
        c->lru_tail = e->lprev;
    e->lprev = e->lnext = NULL;
}

static void ks_cache_lru_push_locked(ks_cache *c, ks_cache_entry *e)
{
    e->lprev = NULL;
    e->lnext = c->lru_head;
    if (c->lru_head)
        c->lru_head->lprev = e;
    c->lru_head = e;
    if (c->lru_tail == NULL)
        c->lru_tail = e;
}

/* Drops the table's reference; readers keep theirs. */
static void ks_cache_remove_locked(ks_cache *c, ks_cache_entry *e)
{
    ks_cache_entry **pp = &c->buckets[e->hash & (c->nbuckets - 1)];
    while (*pp != NULL && *pp != e)
        pp = &(*pp)->hnext;
    if (*pp == NULL)
        return;
    *pp = e->hnext;
    e->hnext = NULL;
    ks_cache_lru_unlink_locked(c, e);
    c->entries--;
    c->bytes -= e->bytes;
    ks_cache_entry_release(e);
}

/* Inserts (replacing any entry for the key) and evicts from the LRU tail
 * until both bounds hold.  An entry larger than max_bytes is not kept. */
static void ks_cache_insert_locked(ks_cache *c, ks_cache_entry *e)
{
    ks_cache_entry *old = ks_cache_lookup_locked(c, e->key, e->hash);
    if (old != NULL)
        ks_cache_remove_locked(c, old);
    if (e->bytes > (size_t)c->cfg.max_bytes)
        return;
    size_t b = e->hash & (c->nbuckets - 1);
    e->hnext = c->buckets[b];
    c->buckets[b] = e;
    ks_cache_lru_push_locked(c, e);
    atomic_fetch_add(&e->refs, 1);
    c->entries++;
    c->bytes += e->bytes;
    while ((c->entries > (size_t)c->cfg.max_entries || c->bytes > (size_t)c->cfg.max_bytes) && c->lru_tail != NULL &&
           c->lru_tail != e) {
        ks_cache_remove_locked(c, c->lru_tail);
        atomic_fetch_add(&c->evictions, 1);
    }
}

/* A load for the key begun in `epoch`: one begun in another epoch was
 * made under another configuration and is not shared across it. */
static ks_cache_flight *ks_cache_flight_find_locked(ks_cache *c, const char *key, uint64_t hash, uint64_t epoch)
{
    for (ks_cache_flight *f = c->flights; f; f = f->next)
        if (f->hash == hash && f->epoch == epoch && strcmp(f->key, key) == 0)
            return f;
    return NULL;
}

static ks_cache_flight *ks_cache_flight_start_locked(ks_cache *c, const char *key, uint64_t hash, uint64_t epoch)
{
    ks_cache_flight *f = calloc(1, sizeof *f);
    if (f == NULL || (f->key = strdup(key)) == NULL) {
        free(f);
        return NULL;
    }
    pthread_condattr_t attr;
    if (pthread_condattr_init(&attr) != 0) {
        free(f->key);
        free(f);
        return NULL;
    }
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    int rc = pthread_cond_init(&f->cv, &attr);
    pthread_condattr_destroy(&attr);
    if (rc != 0) {
        free(f->key);
        free(f);
        return NULL;
    }
    f->hash = hash;
    f->epoch = epoch;
    f->refs = 1;
    f->result = KS_E_UNAVAILABLE;
    f->next = c->flights;
    c->flights = f;
    return f;
}

static void ks_cache_flight_put_locked(ks_cache_flight *f)
{
    if (--f->refs > 0)
        return;
    ks_cache_entry_release(f->entry);
    pthread_cond_destroy(&f->cv);
    free(f->key);
    free(f);
}

/* The leader publishes its result and wakes the waiters. */
static void ks_cache_flight_finish_locked(ks_cache *c, ks_cache_flight *f, ks_result r, ks_cache_entry *e,
                                          ks_cache_tier tier)
{
    for (ks_cache_flight **pp = &c->flights; *pp; pp = &(*pp)->next) {
        if (*pp == f) {
            *pp = f->next;
            break;
        }
    }
    f->done = 1;
    f->result = r;
    f->tier = tier;
    if (e != NULL) {
        atomic_fetch_add(&e->refs, 1);
        f->entry = e;
    }
    pthread_cond_broadcast(&f->cv);
    ks_cache_flight_put_locked(f);
}

/* The newest issued time loaded for the key (0: none remembered). */
static time_t ks_cache_mark_get(ks_cache *c, uint64_t hash)
{
    pthread_mutex_lock(&c->mu);
    size_t i = (size_t)(hash >> 32) & (c->nmarks - 1);
    time_t t = c->marks[i].hash == hash ? c->marks[i].issued : 0;
    pthread_mutex_unlock(&c->mu);
    return t;
}

/* Records an issued time loaded for the key; 0 when it is older than one
 * remembered (then nothing changes). */
static int ks_cache_mark_put(ks_cache *c, uint64_t hash, time_t issued)
{
    int ok = 1;
    pthread_mutex_lock(&c->mu);
    size_t i = (size_t)(hash >> 32) & (c->nmarks - 1);
    if (c->marks[i].hash != hash) {
        c->marks[i].hash = hash;
        c->marks[i].issued = issued;
    } else if (issued < c->marks[i].issued) {
        ok = 0;
    } else {
        c->marks[i].issued = issued;
    }
    pthread_mutex_unlock(&c->mu);
    return ok;
}

/* ------------------------------------------------------------------ */
/* memcached                                                          */
/* ------------------------------------------------------------------ */

/* Replies that are answers, not failures of the server. */
static int ks_cache_mc_answered(memcached_return_t rc)
{
    switch (rc) {
    case MEMCACHED_SUCCESS:
    case MEMCACHED_NOTFOUND:
    case MEMCACHED_NOTSTORED:
    case MEMCACHED_DATA_EXISTS:
    case MEMCACHED_STORED:
    case MEMCACHED_END:
    case MEMCACHED_DELETED:
    case MEMCACHED_BUFFERED:
    case MEMCACHED_E2BIG:
        return 1;
    default:
        return 0;
    }
}

/* A connection from the pool, waiting at most the memcached timeout. */
static memcached_st *ks_cache_mc_take(ks_cache *c)
{
    if (c->pool == NULL)
        return NULL;
    struct timespec rel = {(time_t)(c->cfg.mc_timeout_ms / 1000), (long)(c->cfg.mc_timeout_ms % 1000) * 1000000L};
    memcached_return_t rc = MEMCACHED_SUCCESS;
    memcached_st *m = memcached_pool_fetch(c->pool, &rel, &rc);
    if (m == NULL)
        atomic_fetch_add(&c->memcached_errors, 1);
    return m;
}

static void ks_cache_mc_give(ks_cache *c, memcached_st *m)
{
    if (m != NULL)
        memcached_pool_release(c->pool, m);
}

/*
 * The server a memcached key lives on, or -1 while that server backs off
 * after timing out (then the caller skips memcached: a hung server costs at
 * most one timeout per back-off window, not one per request).
 *
 * Failover is libmemcached's (REMOVE_FAILED_SERVERS with SERVER_FAILURE_LIMIT
 * 1 and RETRY_TIMEOUT, ks_cache_mc_setup): a server that fails is taken out
 * of this connection's ketama continuum, so its keys move to the live
 * servers, the same ones on every node (consistent hashing over the same
 * list); after the retry timeout the continuum is rebuilt with it and, if
 * it answers, its keys come back.  memcached_autoeject applies a pending
 * rebuild first, so the index computed here is the server the operation
 * will use.  A server that failed fast (refused, closed: it is dead, not
 * hung) is not skipped: trying it costs nothing and is what makes this
 * connection eject it (ks_cache_mc_retry).
 */
static int ks_cache_mc_server(ks_cache *c, memcached_st *m, const char *k)
{
    if (c->nservers == 0)
        return -1;
    memcached_autoeject(m);
    uint32_t i = memcached_generate_hash(m, k, strlen(k));
    i %= (uint32_t)c->nservers;
    if (atomic_load(&c->servers[i].slow) && atomic_load(&c->servers[i].down_until_ms) > ks_cache_mono_ms())
        return -1;
    return (int)i;
}

static void ks_cache_mc_note(ks_cache *c, memcached_st *m, int idx, memcached_return_t rc, const char *op,
                             long long t0)
{
    ks_cache_server *s = &c->servers[idx];
    if (ks_cache_mc_answered(rc)) {
        if (atomic_exchange(&s->failed, 0))
            ks_log(KS_LOG_INFO, "cache: memcached %s is back", s->name);
        return;
    }
    /* Slow: the failure took at least half the timeout (a hung server, or
     * one behind a dropped route), not a refusal. */
    int slow = ks_cache_mono_ms() - t0 >= (c->cfg.mc_timeout_ms + 1) / 2;
    atomic_fetch_add(&c->memcached_errors, 1);
    atomic_store(&s->slow, slow);
    atomic_store(&s->down_until_ms, ks_cache_mono_ms() + c->cfg.mc_backoff_ms);
    if (!atomic_exchange(&s->failed, 1))
        ks_log(KS_LOG_WARN, "cache: memcached %s failed (%s: %s); %s", s->name, op, memcached_strerror(m, rc),
               slow ? "skipping its keys until the back-off ends" : "its keys go to the other servers");
}

/* After a failed operation on server `idx`: where to try again, or -1.  A
 * fast failure (refused, closed) is tried again, at most twice: libmemcached
 * takes a few failed operations to eject a dead server from a connection's
 * continuum, after which the key maps to a live server.  A timeout is not
 * (it would cost another timeout), nor an answer. */
static int ks_cache_mc_retry(ks_cache *c, memcached_st *m, const char *k, int idx, memcached_return_t rc)
{
    if (ks_cache_mc_answered(rc) || atomic_load(&c->servers[idx].slow))
        return -1;
    return ks_cache_mc_server(c, m, k);
}

/* 1 and *val (malloc'd) when the key holds a value of at most maxlen bytes. */
static int ks_cache_mc_get(ks_cache *c, memcached_st *m, const char *k, size_t maxlen, char **val, size_t *len)
{
    int idx = ks_cache_mc_server(c, m, k);
    uint32_t flags = 0;
    size_t vlen = 0;
    memcached_return_t rc = MEMCACHED_SUCCESS;
    char *v = NULL;
    for (int tries = 0; idx >= 0 && tries < 3; tries++) {
        long long t0 = ks_cache_mono_ms();
        v = memcached_get(m, k, strlen(k), &vlen, &flags, &rc);
        ks_cache_mc_note(c, m, idx, rc, "get", t0);
        idx = ks_cache_mc_retry(c, m, k, idx, rc);
    }
    if (v == NULL || rc != MEMCACHED_SUCCESS || vlen > maxlen) {
        if (v != NULL && vlen > maxlen)
            atomic_fetch_add(&c->rejected, 1);
        free(v);
        return 0;
    }
    *val = v;
    *len = vlen;
    return 1;
}

static int ks_cache_mc_set(ks_cache *c, memcached_st *m, const char *k, const uint8_t *v, size_t n, time_t ttl)
{
    int idx = ks_cache_mc_server(c, m, k);
    memcached_return_t rc = MEMCACHED_FAILURE;
    for (int tries = 0; idx >= 0 && tries < 3; tries++) {
        long long t0 = ks_cache_mono_ms();
        rc = memcached_set(m, k, strlen(k), (const char *)v, n, ttl, 0);
        ks_cache_mc_note(c, m, idx, rc, "set", t0);
        idx = ks_cache_mc_retry(c, m, k, idx, rc);
    }
    if (rc == MEMCACHED_E2BIG)
        atomic_fetch_add(&c->memcached_errors, 1); /* memcached_chunk_bytes above the server's item size */
    return rc == MEMCACHED_SUCCESS;
}

/* Is the server holding mckey usable (not backing off)? */
static int ks_cache_mc_alive(ks_cache *c, const char *k)
{
    memcached_st *m = ks_cache_mc_take(c);
    if (m == NULL)
        return 0;
    int idx = ks_cache_mc_server(c, m, k);
    ks_cache_mc_give(c, m);
    return idx >= 0;
}

/* 1 we hold the cross-process lock, 0 another process does, -1 no memcached. */
static int ks_cache_mc_lock(ks_cache *c, const char *lockkey)
{
    memcached_st *m = ks_cache_mc_take(c);
    if (m == NULL)
        return -1;
    int ret = -1, idx = ks_cache_mc_server(c, m, lockkey);
    for (int tries = 0; idx >= 0 && tries < 3; tries++) {
        long long t0 = ks_cache_mono_ms();
        memcached_return_t rc = memcached_add(m, lockkey, strlen(lockkey), "1", 1, (time_t)c->cfg.lock_ttl_s, 0);
        ks_cache_mc_note(c, m, idx, rc, "add", t0);
        ret = rc == MEMCACHED_SUCCESS ? 1 : (rc == MEMCACHED_NOTSTORED || rc == MEMCACHED_DATA_EXISTS) ? 0 : -1;
        idx = ks_cache_mc_retry(c, m, lockkey, idx, rc);
    }
    ks_cache_mc_give(c, m);
    return ret;
}

static void ks_cache_mc_unlock(ks_cache *c, const char *lockkey)
{
    memcached_st *m = ks_cache_mc_take(c);
    if (m == NULL)
        return;
    int idx = ks_cache_mc_server(c, m, lockkey);
    if (idx >= 0) {
        long long t0 = ks_cache_mono_ms();
        memcached_return_t rc = memcached_delete(m, lockkey, strlen(lockkey), 0);
        ks_cache_mc_note(c, m, idx, rc, "delete", t0);
    }
    ks_cache_mc_give(c, m);
}

/* Stores the fetched bytes; values above memcached_chunk_bytes go in
 * chunks written before their manifest, so a reader that finds the
 * manifest normally finds every chunk. */
static void ks_cache_mc_store(ks_cache *c, const ks_cache_keyinfo *ki, const uint8_t *val, size_t len,
                              time_t expires, time_t issued, time_t now)
{
    time_t ttl = expires - now;
    if (ttl < 1)
        return;
    if (ttl > KS_CACHE_MC_TTL_MAX)
        ttl = KS_CACHE_MC_TTL_MAX;
    memcached_st *m = ks_cache_mc_take(c);
    if (m == NULL)
        return;
    uint8_t *frame = NULL;
    size_t flen = 0;
    size_t cb = (size_t)c->cfg.chunk_bytes;
    if (len <= cb) {
        if ((frame = ks_cache_frame(c, KS_CACHE_KIND_VALUE, ki->kh, ki->mckey, expires, issued, val, len, &flen)) != NULL)
            ks_cache_mc_set(c, m, ki->mckey, frame, flen, ttl);
        goto done;
    }
    size_t n = (len + cb - 1) / cb;
    uint8_t gen[16], man[KS_CACHE_MANIFEST_LEN];
    char genhex[33];
    if (n > KS_CACHE_MAX_CHUNKS || RAND_bytes(gen, sizeof gen) != 1)
        goto done;
    ks_hex_encode(gen, sizeof gen, genhex);
    for (size_t i = 0; i < n; i++) {
        char ck[128];
        size_t off = i * cb, clen = len - off < cb ? len - off : cb;
        snprintf(ck, sizeof ck, "ks1:%s:%s:%zu", ki->hex, genhex, i);
        uint8_t *cf = ks_cache_frame(c, KS_CACHE_KIND_CHUNK, ki->kh, ck, expires, issued, val + off, clen, &flen);
        int ok = cf != NULL && ks_cache_mc_set(c, m, ck, cf, flen, ttl);
        free(cf);
        if (!ok)
            goto done;
    }
    ks_cache_put_u64(man, (uint64_t)len);
    ks_cache_put_u32(man + 8, (uint32_t)n);
    ks_cache_put_u32(man + 12, (uint32_t)cb);
    memcpy(man + 16, gen, sizeof gen);
    if (!ks_cache_sha256(c, val, len, man + 32))
        goto done;
    if ((frame = ks_cache_frame(c, KS_CACHE_KIND_MANIFEST, ki->kh, ki->mckey, expires, issued, man, sizeof man, &flen)) !=
        NULL)
        ks_cache_mc_set(c, m, ki->mckey, frame, flen, ttl);
done:
    free(frame);
    ks_cache_mc_give(c, m);
}

/* Reassembles a chunked value: 1 ok (*out malloc'd), 0 a chunk is missing
 * (evicted: a miss), -1 rejected. */
static int ks_cache_mc_read_chunks(ks_cache *c, memcached_st *m, const ks_cache_keyinfo *ki, time_t issued,
                                   const uint8_t *man, size_t manlen, uint8_t **out, size_t *outlen)
{
    ks_cur cur;
    uint64_t total;
    uint32_t n, cb;
    const uint8_t *gen, *digest;
    ks_cur_init(&cur, man, manlen);
    if (!ks_cache_cur_u64(&cur, &total) || !ks_cache_cur_u32(&cur, &n) || !ks_cache_cur_u32(&cur, &cb) ||
        !ks_cache_cur_bytes(&cur, 16, &gen) || !ks_cache_cur_bytes(&cur, 32, &digest) || ks_cur_left(&cur) != 0)
        return -1;
    /* Never allocate from a declared length beyond our own ceilings. */
    if (total == 0 || total > (uint64_t)c->cfg.max_value_bytes || cb == 0 || cb > (16u << 20) || n == 0 ||
        n > KS_CACHE_MAX_CHUNKS || (uint64_t)n != (total + cb - 1) / cb)
        return -1;
    char genhex[33];
    ks_hex_encode(gen, 16, genhex);
    uint8_t *buf = malloc((size_t)total);
    if (buf == NULL)
        return 0;
    int ret = -1;
    for (uint32_t i = 0; i < n; i++) {
        char ck[128], *raw = NULL;
        size_t rawlen = 0, plen = 0, off = (size_t)i * cb, want = (size_t)total - off < cb ? (size_t)total - off : cb;
        const uint8_t *p;
        time_t exp, iss;
        int kind;
        snprintf(ck, sizeof ck, "ks1:%s:%s:%u", ki->hex, genhex, i);
        if (!ks_cache_mc_get(c, m, ck, (size_t)cb + KS_CACHE_HDR + KS_CACHE_MAC_LEN, &raw, &rawlen)) {
            ret = 0;
            goto done;
        }
        int ok = ks_cache_unframe(c, KS_CACHE_KIND_CHUNK, &kind, ki->kh, ck, (const uint8_t *)raw, rawlen, &exp, &iss,
                                  &p, &plen) &&
                 plen == want && iss == issued;
        if (ok)
            memcpy(buf + off, p, plen);
        free(raw);
        if (!ok)
            goto done;
    }
    uint8_t h[32];
    if (!ks_cache_sha256(c, buf, (size_t)total, h) || CRYPTO_memcmp(h, digest, 32) != 0)
        goto done;
    *out = buf;
    *outlen = (size_t)total;
    buf = NULL;
    ret = 1;
done:
    free(buf);
    return ret;
}

/*
 * Looks for a verified entry fresher than `newer_than` in memcached.  The
 * frame is checked (binding, MAC, chunks), then ops->decode re-verifies the
 * bytes at `now`.  1: *out; 0: nothing usable (absent, stale, server
 * skipped); -1: bytes refused (counted).
 */
static int ks_cache_mc_read(ks_cache *c, const ks_cache_keyinfo *ki, const char *key, uint64_t hash,
                            const ks_cache_ops *ops, time_t now, time_t newer_than, ks_cache_entry **out)
{
    memcached_st *m = ks_cache_mc_take(c);
    if (m == NULL)
        return 0;
    int ret = 0, kind = 0, rejected = 0;
    char *raw = NULL;
    uint8_t *assembled = NULL;
    const uint8_t *val = NULL;
    size_t rawlen = 0, vlen = 0;
    time_t fexp = 0, fiss = 0;
    void *obj = NULL;
    size_t maxlen = (size_t)c->cfg.max_value_bytes + KS_CACHE_HDR + KS_CACHE_MAC_LEN;
    if (!ks_cache_mc_get(c, m, ki->mckey, maxlen, &raw, &rawlen))
        goto done;
    if (!ks_cache_unframe(c, 0, &kind, ki->kh, ki->mckey, (const uint8_t *)raw, rawlen, &fexp, &fiss, &val, &vlen)) {
        rejected = 1;
        goto done;
    }
    if (fexp <= now || fexp <= newer_than)
        goto done; /* stale, not forged */
    /* Authentic bytes can still be old ones written back: never older than
     * what this process already loaded for the key. */
    if (fiss < ks_cache_mark_get(c, hash)) {
        rejected = 1;
        goto done;
    }
    if (kind == KS_CACHE_KIND_MANIFEST) {
        int r = ks_cache_mc_read_chunks(c, m, ki, fiss, val, vlen, &assembled, &vlen);
        if (r <= 0) {
            rejected = r < 0;
            goto done;
        }
        val = assembled;
    }
    ks_cache_mc_give(c, m);
    m = NULL;
    time_t dexp = 0, diss = 0;
    if ((obj = ops->decode(ops->arg, key, val, vlen, now, &dexp, &diss)) == NULL || diss != fiss ||
        !ks_cache_mark_put(c, hash, diss)) {
        rejected = 1;
        goto done;
    }
    time_t exp = dexp < fexp ? dexp : fexp;
    if (exp <= now || exp <= newer_than)
        goto done;
    if ((*out = ks_cache_entry_new(key, hash, obj, ops->free_obj, exp, diss, vlen)) == NULL)
        goto done;
    obj = NULL;
    ret = 1;
done:
    if (rejected) {
        atomic_fetch_add(&c->rejected, 1);
        ret = -1;
    }
    if (obj != NULL && ops->free_obj != NULL)
        ops->free_obj(obj);
    free(assembled);
    free(raw);
    ks_cache_mc_give(c, m);
    return ret;
}

/* ------------------------------------------------------------------ */
/* Loading: memcached, then the cross-process lock, then the network  */
/* ------------------------------------------------------------------ */

static ks_result ks_cache_load(ks_cache *c, const char *key, uint64_t hash, const ks_cache_ops *ops, time_t now,
                               time_t newer_than, ks_cache_entry **out, ks_cache_tier *tier)
{
    ks_cache_keyinfo ki;
    ks_result r = KS_E_UNAVAILABLE;
    uint8_t *val = NULL;
    size_t len = 0;
    void *obj = NULL;
    int locked = -1;
    *out = NULL;
    if (!ks_cache_keyinfo_init(c, key, &ki))
        return KS_E_INTERNAL;
    if (c->pool != NULL) {
        if (ks_cache_mc_read(c, &ki, key, hash, ops, now, newer_than, out) == 1) {
            atomic_fetch_add(&c->hits_memcached, 1);
            *tier = KS_TIER_MEMCACHED;
            return KS_OK;
        }
        /* Another process or node is fetching: poll for its result for a
         * bounded time rather than hit the responder too.  Bytes refused
         * while polling end the wait: we fetch and overwrite them. */
        locked = ks_cache_mc_lock(c, ki.lockkey);
        if (locked == 0) {
            long long deadline = ks_cache_mono_ms() + c->cfg.lock_wait_ms;
            for (long long left; (left = deadline - ks_cache_mono_ms()) > 0;) {
                ks_cache_sleep_ms(left < KS_CACHE_POLL_MS ? left : KS_CACHE_POLL_MS);
                int got = ks_cache_mc_read(c, &ki, key, hash, ops, now, newer_than, out);
                if (got == 1) {
                    atomic_fetch_add(&c->hits_memcached, 1);
                    *tier = KS_TIER_MEMCACHED;
                    return KS_OK;
                }
                if (got < 0 || !ks_cache_mc_alive(c, ki.mckey))
                    break;
            }
        }
    }
    atomic_fetch_add(&c->fetches, 1);
    if (ops->fetch(ops->arg, key, &val, &len) != 0 || val == NULL || len == 0) {
        atomic_fetch_add(&c->fetch_errors, 1);
        goto done;
    }
    time_t exp = 0, issued = 0;
    if (len > (size_t)c->cfg.max_value_bytes || (obj = ops->decode(ops->arg, key, val, len, now, &exp, &issued)) == NULL ||
        !ks_cache_mark_put(c, hash, issued)) {
        atomic_fetch_add(&c->rejected, 1);
        goto done;
    }
    if (c->cfg.max_ttl_s > 0 && exp > now && exp - now > c->cfg.max_ttl_s)
        exp = now + c->cfg.max_ttl_s;
    if (exp <= now) { /* already stale: never cached, never served */
        atomic_fetch_add(&c->rejected, 1);
        goto done;
    }
    if ((*out = ks_cache_entry_new(key, hash, obj, ops->free_obj, exp, issued, len)) == NULL) {
        r = KS_E_NOMEM;
        goto done;
    }
    obj = NULL;
    if (c->pool != NULL)
        ks_cache_mc_store(c, &ki, val, len, exp, issued, now);
    *tier = KS_TIER_NETWORK;
    r = KS_OK;
done:
    if (locked == 1)
        ks_cache_mc_unlock(c, ki.lockkey);
    if (obj != NULL && ops->free_obj != NULL)
        ops->free_obj(obj);
    free(val);
    return r;
}

/* The least interval between two refreshes of one entry. */
static time_t ks_cache_refresh_gap(const ks_cache *c)
{
    return c->cfg.negative_ttl_s > 0 ? (time_t)c->cfg.negative_ttl_s : 1;
}

/* Queues a refresh-ahead of a hit entry (c->mu held); bounded queue. */
static void ks_cache_maybe_refresh_locked(ks_cache *c, ks_cache_entry *e, const ks_cache_ops *ops, time_t now)
{
    if (c->nworkers == 0 || e->refreshing || now < e->refresh_after || e->expires - now > c->cfg.refresh_ahead_s ||
        c->njobs >= (size_t)c->cfg.refresh_queue || c->stopping || ops->epoch != c->epoch)
        return;
    ks_cache_job *j = calloc(1, sizeof *j);
    if (j == NULL || (j->key = strdup(e->key)) == NULL) {
        free(j);
        return;
    }
    j->ops = *ops;
    j->now = now;
    j->newer_than = e->expires;
    if (c->jobs_tail)
        c->jobs_tail->next = j;
    else
        c->jobs_head = j;
    c->jobs_tail = j;
    c->njobs++;
    e->refreshing = 1;
    pthread_cond_signal(&c->job_cv);
}

static void ks_cache_job_free(ks_cache_job *j)
{
    if (j != NULL) {
        free(j->key);
        free(j);
    }
}

static void *ks_cache_refresh_worker(void *arg)
{
    ks_cache *c = arg;
    pthread_mutex_lock(&c->mu);
    for (;;) {
        while (!c->stopping && c->jobs_head == NULL)
            pthread_cond_wait(&c->job_cv, &c->mu);
        if (c->stopping)
            break;
        ks_cache_job *j = c->jobs_head;
        c->jobs_head = j->next;
        if (c->jobs_head == NULL)
            c->jobs_tail = NULL;
        c->njobs--;
        uint64_t hash = ks_cache_hash(c, j->key);
        /* A load already in flight for the key will do; a job queued
         * before a purge is dropped (its context's rules have changed). */
        ks_cache_flight *f = j->ops.epoch == c->epoch ? ks_cache_flight_find_locked(c, j->key, hash, c->epoch) : NULL;
        f = f == NULL && j->ops.epoch == c->epoch ? ks_cache_flight_start_locked(c, j->key, hash, c->epoch) : NULL;
        if (f == NULL) {
            ks_cache_entry *cur = ks_cache_lookup_locked(c, j->key, hash);
            if (cur != NULL)
                cur->refreshing = 0;
            ks_cache_job_free(j);
            continue;
        }
        j->next = c->running;
        c->running = j;
        pthread_mutex_unlock(&c->mu);
        ks_cache_entry *ne = NULL;
        ks_cache_tier tier = KS_TIER_NETWORK;
        ks_result r = ks_cache_load(c, j->key, hash, &j->ops, j->now, j->newer_than, &ne, &tier);
        pthread_mutex_lock(&c->mu);
        for (ks_cache_job **pp = &c->running; *pp; pp = &(*pp)->next)
            if (*pp == j) {
                *pp = j->next;
                break;
            }
        pthread_cond_broadcast(&c->idle_cv);
        if (r == KS_OK && j->ops.epoch != c->epoch) {
            ks_cache_entry_release(ne); /* purged meanwhile: not for the table */
            ne = NULL;
            r = KS_E_UNAVAILABLE;
        }
        if (r == KS_OK) {
            ne->refresh_after = j->now + ks_cache_refresh_gap(c);
            ks_cache_insert_locked(c, ne);
            atomic_fetch_add(&c->refreshes, 1);
        } else {
            /* Keep serving the current entry until its expiry; retry later. */
            ks_cache_entry *cur = ks_cache_lookup_locked(c, j->key, hash);
            if (cur != NULL) {
                cur->refreshing = 0;
                cur->refresh_after = j->now + ks_cache_refresh_gap(c);
            }
        }
        ks_cache_flight_finish_locked(c, f, r, ne, tier);
        pthread_mutex_unlock(&c->mu);
        ks_cache_entry_release(ne);
        ks_cache_job_free(j);
        pthread_mutex_lock(&c->mu);
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

/* ------------------------------------------------------------------ */
/* Lookup                                                             */
/* ------------------------------------------------------------------ */

static int ks_cache_key_ok(const char *key)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)key; *p; p++, n++)
        if (*p < 0x21 || *p > 0x7e || n >= KS_CACHE_KEY_MAX)
            return 0;
    return n > 0;
}

ks_result ks_cache_get(ks_cache *c, const char *key, const ks_cache_ops *ops, time_t now, ks_cache_entry **out,
                       ks_cache_tier *from)
{
    ks_cache_tier tier = KS_TIER_NETWORK;
    if (out != NULL)
        *out = NULL;
    if (c == NULL || key == NULL || ops == NULL || ops->fetch == NULL || ops->decode == NULL || out == NULL ||
        !ks_cache_key_ok(key))
        return KS_E_USAGE;
    uint64_t hash = ks_cache_hash(c, key);
    int attempts = 0;
    ks_cache_ops eops = *ops; /* with the epoch this lookup belongs to */

retry:
    pthread_mutex_lock(&c->mu);
    if (ops->epoch == 0)
        eops.epoch = c->epoch;
    ops = &eops;
    ks_cache_entry *e = ks_cache_lookup_locked(c, key, hash);
    if (e != NULL) {
        if (now < e->expires) {
            if (e->negative) {
                atomic_fetch_add(&c->negative_hits, 1);
                pthread_mutex_unlock(&c->mu);
                return KS_E_UNAVAILABLE;
            }
            atomic_fetch_add(&e->refs, 1);
            ks_cache_lru_unlink_locked(c, e);
            ks_cache_lru_push_locked(c, e);
            atomic_fetch_add(&c->hits_memory, 1);
            ks_cache_maybe_refresh_locked(c, e, ops, now);
            pthread_mutex_unlock(&c->mu);
            *out = e;
            if (from)
                *from = KS_TIER_MEMORY;
            return KS_OK;
        }
        ks_cache_remove_locked(c, e); /* expired: never served again */
    }
    atomic_fetch_add(&c->misses, 1);

    ks_cache_flight *f = ks_cache_flight_find_locked(c, key, hash, ops->epoch);
    if (f != NULL) {
        /* Single flight: wait for the thread already loading this key. */
        struct timespec dl;
        ks_result r = KS_E_UNAVAILABLE;
        ks_cache_deadline(&dl, c->cfg.wait_ms);
        f->refs++;
        atomic_fetch_add(&c->collapsed, 1);
        while (!f->done)
            if (pthread_cond_timedwait(&f->cv, &c->mu, &dl) == ETIMEDOUT)
                break;
        int stale = 0;
        if (f->done && f->result == KS_OK && f->entry != NULL && now < f->entry->expires) {
            atomic_fetch_add(&f->entry->refs, 1);
            *out = f->entry;
            tier = f->tier;
            r = KS_OK;
        } else if (f->done && f->result == KS_OK) {
            /* Loaded at the leader's (earlier) now and already expired at
             * ours: never served; look again once. */
            stale = 1;
        } else if (!f->done) {
            ks_log(KS_LOG_WARN, "cache: gave up waiting %lld ms for another thread's load", c->cfg.wait_ms);
        } else if (f->result != KS_OK) {
            r = f->result;
        }
        ks_cache_flight_put_locked(f);
        pthread_mutex_unlock(&c->mu);
        if (stale && attempts++ == 0)
            goto retry;
        if (r == KS_OK && from)
            *from = tier;
        return r;
    }
    if ((f = ks_cache_flight_start_locked(c, key, hash, ops->epoch)) == NULL) {
        pthread_mutex_unlock(&c->mu);
        return KS_E_NOMEM;
    }
    pthread_mutex_unlock(&c->mu);

    ks_cache_entry *ne = NULL;
    ks_result r = ks_cache_load(c, key, hash, ops, now, now, &ne, &tier);

    pthread_mutex_lock(&c->mu);
    if (ops->epoch != c->epoch) {
        /* Purged while loading (a reload changed the rules): the caller,
         * whose context is the old one, gets what it loaded; the table,
         * which now serves the new one, does not. */
    } else if (r == KS_OK) {
        ne->refresh_after = now + ks_cache_refresh_gap(c);
        ks_cache_insert_locked(c, ne);
    } else if (r == KS_E_UNAVAILABLE && c->cfg.negative_ttl_s > 0) {
        /* Remember the failure so a dead responder is not hammered; a
         * negative entry never turns into a value (obj is NULL). */
        ks_cache_entry *neg = ks_cache_entry_new(key, hash, NULL, NULL, now + c->cfg.negative_ttl_s, 0, 0);
        if (neg != NULL) {
            neg->negative = 1;
            ks_cache_insert_locked(c, neg);
            ks_cache_entry_release(neg);
        }
    }
    ks_cache_flight_finish_locked(c, f, r, ne, tier);
    pthread_mutex_unlock(&c->mu);
    if (r == KS_OK) {
        *out = ne;
        if (from)
            *from = tier;
    }
    return r;
}

void ks_cache_get_stats(ks_cache *c, ks_cache_stats *out)
{
    memset(out, 0, sizeof *out);
    if (c == NULL)
        return;
    out->hits_memory = atomic_load(&c->hits_memory);
    out->hits_memcached = atomic_load(&c->hits_memcached);
    out->misses = atomic_load(&c->misses);
    out->fetches = atomic_load(&c->fetches);
    out->fetch_errors = atomic_load(&c->fetch_errors);
    out->collapsed = atomic_load(&c->collapsed);
    out->rejected = atomic_load(&c->rejected);
    out->negative_hits = atomic_load(&c->negative_hits);
    out->refreshes = atomic_load(&c->refreshes);
    out->memcached_errors = atomic_load(&c->memcached_errors);
    out->evictions = atomic_load(&c->evictions);
    pthread_mutex_lock(&c->mu);
    out->entries = c->entries;
    out->bytes = c->bytes;
    pthread_mutex_unlock(&c->mu);
    out->memcached_servers = c->nservers;
    out->memcached_up = c->nservers > 0;
    for (size_t i = 0; i < c->nservers; i++)
        if (atomic_load(&c->servers[i].failed))
            out->memcached_up = 0;
}

/* ------------------------------------------------------------------ */
/* Construction                                                       */
/* ------------------------------------------------------------------ */

static int ks_cache_hexval(int ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* Hex (even length, hex digits only) or base64 (RFC 4648 section 4). */
static int ks_cache_decode_key(const char *s, size_t n, uint8_t *out, size_t *outlen)
{
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    size_t i;
    for (i = 0; i < n && ks_cache_hexval((unsigned char)s[i]) >= 0; i++)
        ;
    if (i == n && n % 2 == 0) {
        if (n / 2 > KS_CACHE_HMAC_MAX)
            return 0;
        for (i = 0; i < n; i += 2)
            out[i / 2] = (uint8_t)(ks_cache_hexval((unsigned char)s[i]) << 4 | ks_cache_hexval((unsigned char)s[i + 1]));
        *outlen = n / 2;
        return 1;
    }
    if (n == 0 || n % 4 != 0 || n / 4 * 3 > KS_CACHE_HMAC_MAX)
        return 0;
    size_t pad = 0;
    for (i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        int b64 = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '+' ||
                  ch == '/';
        if (ch == '=' && i >= n - 2)
            pad++;
        else if (!b64 || pad > 0)
            return 0;
    }
    int got = EVP_DecodeBlock(out, (const unsigned char *)s, (int)n);
    if (got < 0 || (size_t)got < pad)
        return 0;
    *outlen = (size_t)got - pad;
    return 1;
}

static int ks_cache_read_keyfile(const char *path, uint8_t *out, size_t *outlen, char **errmsg)
{
    char buf[KS_CACHE_KEYFILE_MAX + 1];
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        ks_cache_errf(errmsg, "cache.hmac_key_file: cannot open %s: %s", path, strerror(errno));
        return 0;
    }
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    int ok = n <= KS_CACHE_KEYFILE_MAX && ks_cache_decode_key(buf, n, out, outlen);
    OPENSSL_cleanse(buf, sizeof buf);
    if (!ok)
        ks_cache_errf(errmsg, "cache.hmac_key_file: %s must hold the key as hex or base64 text", path);
    return ok;
}

static int ks_cache_parse_config(const cJSON *section, ks_cache_cfg *cfg, uint8_t *key, size_t *keylen,
                                 char **errmsg)
{
    for (size_t i = 0; i < sizeof ks_cache_cfg_ints / sizeof ks_cache_cfg_ints[0]; i++)
        *(long long *)((char *)cfg + ks_cache_cfg_ints[i].off) = ks_cache_cfg_ints[i].dflt;
    *keylen = 0;
    if (section == NULL)
        return 1;
    if (!cJSON_IsObject(section)) {
        ks_cache_errf(errmsg, "key \"cache\": must be an object");
        return 0;
    }
    const cJSON *it;
    cJSON_ArrayForEach(it, section)
    {
        const char *name = it->string ? it->string : "";
        size_t i;
        for (i = 0; i < sizeof ks_cache_cfg_ints / sizeof ks_cache_cfg_ints[0]; i++)
            if (strcmp(name, ks_cache_cfg_ints[i].name) == 0)
                break;
        if (i < sizeof ks_cache_cfg_ints / sizeof ks_cache_cfg_ints[0]) {
            long long lo = ks_cache_cfg_ints[i].lo, hi = ks_cache_cfg_ints[i].hi;
            /* Range first: converting a double outside the range is undefined. */
            if (!cJSON_IsNumber(it) || !(it->valuedouble >= (double)lo && it->valuedouble <= (double)hi) ||
                it->valuedouble != (double)(long long)it->valuedouble) {
                ks_cache_errf(errmsg, "key \"cache.%s\": must be an integer from %lld to %lld", name, lo, hi);
                return 0;
            }
            *(long long *)((char *)cfg + ks_cache_cfg_ints[i].off) = (long long)it->valuedouble;
        } else if (strcmp(name, "hmac_key") == 0 || strcmp(name, "hmac_key_file") == 0) {
            if (!cJSON_IsString(it) || it->valuestring[0] == '\0') {
                ks_cache_errf(errmsg, "key \"cache.%s\": must be a non-empty string", name);
                return 0;
            }
            if (*keylen != 0) {
                ks_cache_errf(errmsg, "key \"cache.%s\": give hmac_key or hmac_key_file, not both", name);
                return 0;
            }
            if (strcmp(name, "hmac_key") == 0) {
                if (!ks_cache_decode_key(it->valuestring, strlen(it->valuestring), key, keylen)) {
                    ks_cache_errf(errmsg, "key \"cache.hmac_key\": must be hex or base64");
                    return 0;
                }
            } else if (!ks_cache_read_keyfile(it->valuestring, key, keylen, errmsg)) {
                return 0;
            }
            if (*keylen < KS_CACHE_HMAC_MIN) {
                ks_cache_errf(errmsg, "key \"cache.%s\": the key must be at least %d bytes", name, KS_CACHE_HMAC_MIN);
                return 0;
            }
        } else {
            ks_cache_errf(errmsg, "key \"cache.%s\": unknown key", name);
            return 0;
        }
    }
    return 1;
}

/* "host:port", "[v6]:port", "host" (port 11211). */
static int ks_cache_parse_server(const char *s, char *host, size_t hostlen, unsigned *port)
{
    const char *h = s, *end, *p = NULL;
    if (*s == '[') {
        h = s + 1;
        if ((end = strchr(h, ']')) == NULL)
            return 0;
        if (end[1] == ':')
            p = end + 2;
        else if (end[1] != '\0')
            return 0;
    } else {
        end = strchr(s, ':');
        if (end != NULL) {
            if (strchr(end + 1, ':') != NULL)
                return 0; /* a bare IPv6 address: brackets, please */
            p = end + 1;
        } else {
            end = s + strlen(s);
        }
    }
    size_t n = (size_t)(end - h);
    if (n == 0 || n >= hostlen)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)h[i] <= 0x20 || (unsigned char)h[i] >= 0x7f)
            return 0;
    memcpy(host, h, n);
    host[n] = '\0';
    *port = 11211;
    if (p != NULL) {
        unsigned v = 0;
        if (*p == '\0')
            return 0;
        for (; *p; p++) {
            if (*p < '0' || *p > '9' || (v = v * 10 + (unsigned)(*p - '0')) > 65535)
                return 0;
        }
        if (v == 0)
            return 0;
        *port = v;
    }
    return 1;
}

static ks_result ks_cache_mc_setup(ks_cache *c, char *const *servers, size_t nservers, char **errmsg)
{
    if (nservers > KS_CACHE_MAX_SERVERS) {
        ks_cache_errf(errmsg, "key \"memcached\": at most %d servers", KS_CACHE_MAX_SERVERS);
        return KS_E_CONFIG;
    }
    if ((c->servers = calloc(nservers, sizeof *c->servers)) == NULL || (c->master = memcached_create(NULL)) == NULL)
        return KS_E_NOMEM;
    /* Short timeouts and a dead-server retry so a missing memcached costs
     * at most one timeout per back-off period; consistent hashing (ketama)
     * so losing one server moves only its share of the keys. */
    long long to = c->cfg.mc_timeout_ms, retry_s = (c->cfg.mc_backoff_ms + 999) / 1000;
    const struct {
        memcached_behavior_t b;
        uint64_t v;
    } behaviors[] = {
        {MEMCACHED_BEHAVIOR_BINARY_PROTOCOL, 1},
        {MEMCACHED_BEHAVIOR_DISTRIBUTION, MEMCACHED_DISTRIBUTION_CONSISTENT},
        {MEMCACHED_BEHAVIOR_NO_BLOCK, 1},
        {MEMCACHED_BEHAVIOR_TCP_NODELAY, 1},
        {MEMCACHED_BEHAVIOR_TCP_KEEPALIVE, 1},
        {MEMCACHED_BEHAVIOR_CONNECT_TIMEOUT, (uint64_t)to},
        {MEMCACHED_BEHAVIOR_POLL_TIMEOUT, (uint64_t)to},
        {MEMCACHED_BEHAVIOR_SND_TIMEOUT, (uint64_t)to * 1000},
        {MEMCACHED_BEHAVIOR_RCV_TIMEOUT, (uint64_t)to * 1000},
        {MEMCACHED_BEHAVIOR_SERVER_FAILURE_LIMIT, 1},
        {MEMCACHED_BEHAVIOR_RETRY_TIMEOUT, (uint64_t)(retry_s > 0 ? retry_s : 1)},
        /* A failed server leaves the continuum (its keys go to the live
         * ones) until RETRY_TIMEOUT, then is tried again (ks_cache_mc_server). */
        {MEMCACHED_BEHAVIOR_REMOVE_FAILED_SERVERS, 1},
        /* ... and an ejected server is tried again after DEAD_TIMEOUT
         * (without it libmemcached never takes it back). */
        {MEMCACHED_BEHAVIOR_DEAD_TIMEOUT, (uint64_t)(retry_s > 0 ? retry_s : 1)},
    };
    for (size_t i = 0; i < sizeof behaviors / sizeof behaviors[0]; i++) {
        if (memcached_behavior_set(c->master, behaviors[i].b, behaviors[i].v) != MEMCACHED_SUCCESS) {
            ks_cache_errf(errmsg, "cache: libmemcached refused behavior %d", (int)behaviors[i].b);
            return KS_E_INTERNAL;
        }
    }
    for (size_t i = 0; i < nservers; i++) {
        char host[256];
        unsigned port = 0;
        if (servers[i] == NULL || !ks_cache_parse_server(servers[i], host, sizeof host, &port)) {
            ks_cache_errf(errmsg, "key \"memcached[%zu]\": must be \"host:port\" or \"[v6]:port\"", i);
            return KS_E_CONFIG;
        }
        memcached_return_t rc = memcached_server_add(c->master, host, (in_port_t)port);
        if (rc != MEMCACHED_SUCCESS) {
            ks_cache_errf(errmsg, "key \"memcached[%zu]\": %s", i, memcached_strerror(c->master, rc));
            return KS_E_CONFIG;
        }
        if ((c->servers[i].name = strdup(servers[i])) == NULL)
            return KS_E_NOMEM;
        atomic_init(&c->servers[i].down_until_ms, 0);
        atomic_init(&c->servers[i].failed, 0);
        atomic_init(&c->servers[i].slow, 0);
        c->nservers = i + 1;
    }
    if ((c->pool = memcached_pool_create(c->master, 1, (uint32_t)c->cfg.mc_pool_size)) == NULL) {
        ks_cache_errf(errmsg, "cache: cannot create the memcached connection pool");
        return KS_E_INTERNAL;
    }
    return KS_OK;
}

ks_result ks_cache_new(const cJSON *section, char *const *servers, size_t nservers, ks_cache **out, char **errmsg)
{
    ks_result r = KS_E_CONFIG;
    uint8_t key[KS_CACHE_HMAC_MAX];
    size_t keylen = 0;
    ks_cache *c = NULL;
    if (errmsg != NULL)
        *errmsg = NULL;
    if (out == NULL || (servers == NULL && nservers > 0))
        return KS_E_USAGE;
    *out = NULL;
    if ((c = calloc(1, sizeof *c)) == NULL)
        return KS_E_NOMEM;
    if (!ks_cache_parse_config(section, &c->cfg, key, &keylen, errmsg)) {
        free(c);
        goto done;
    }
    if (pthread_mutex_init(&c->mu, NULL) != 0) {
        free(c);
        r = KS_E_INTERNAL;
        goto done;
    }
    if (pthread_cond_init(&c->job_cv, NULL) != 0) {
        pthread_mutex_destroy(&c->mu);
        free(c);
        r = KS_E_INTERNAL;
        goto done;
    }
    if (pthread_cond_init(&c->idle_cv, NULL) != 0) {
        pthread_cond_destroy(&c->job_cv);
        pthread_mutex_destroy(&c->mu);
        free(c);
        r = KS_E_INTERNAL;
        goto done;
    }
    atomic_init(&c->refs, 1);
    c->epoch = 1;
    /* From here on ks_cache_free undoes whatever was built. */
    r = KS_E_INTERNAL;
    size_t nb = 64;
    while (nb < (size_t)c->cfg.max_entries && nb < ((size_t)1 << 22))
        nb <<= 1;
    c->nbuckets = nb;
    if ((c->buckets = calloc(nb, sizeof *c->buckets)) == NULL) {
        r = KS_E_NOMEM;
        goto fail;
    }
    size_t nm = 1024;
    while (nm < 2 * (size_t)c->cfg.max_entries && nm < ((size_t)1 << 22))
        nm <<= 1;
    c->nmarks = nm;
    if ((c->marks = calloc(nm, sizeof *c->marks)) == NULL) {
        r = KS_E_NOMEM;
        goto fail;
    }
    if (RAND_bytes((unsigned char *)&c->seed, sizeof c->seed) != 1 ||
        (c->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL) {
        ks_log_openssl("cache: setup");
        ks_cache_errf(errmsg, "cache: OpenSSL cannot provide SHA-256 or random bytes");
        goto fail;
    }
    if (keylen > 0 && !ks_cache_sha256(c, key, keylen, c->key_id)) {
        ks_cache_errf(errmsg, "cache: OpenSSL cannot provide SHA-256");
        goto fail;
    }
    if (keylen > 0) {
        OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
                               OSSL_PARAM_construct_end()};
        if ((c->mac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL || (c->mac_tmpl = EVP_MAC_CTX_new(c->mac)) == NULL ||
            EVP_MAC_init(c->mac_tmpl, key, keylen, params) != 1) {
            ks_log_openssl("cache: HMAC setup");
            ks_cache_errf(errmsg, "cache: OpenSSL cannot provide HMAC-SHA256");
            goto fail;
        }
    }
    if (nservers > 0) {
        if ((r = ks_cache_mc_setup(c, servers, nservers, errmsg)) != KS_OK)
            goto fail;
        r = KS_E_INTERNAL;
        static atomic_int warned;
        if (keylen == 0 && !atomic_exchange(&warned, 1))
            ks_log(KS_LOG_WARN, "cache: memcached without cache.hmac_key: entries are bound to their keys and "
                                "re-verified, but not authenticated");
    }
    if (c->cfg.refresh_ahead_s > 0) {
        if ((c->workers = calloc((size_t)c->cfg.refresh_threads, sizeof *c->workers)) == NULL) {
            r = KS_E_NOMEM;
            goto fail;
        }
        for (long long i = 0; i < c->cfg.refresh_threads; i++) {
            if (pthread_create(&c->workers[i], NULL, ks_cache_refresh_worker, c) != 0) {
                ks_cache_errf(errmsg, "cache: cannot start the refresh threads");
                goto fail;
            }
            c->nworkers++;
        }
    }
    OPENSSL_cleanse(key, sizeof key);
    *out = c;
    return KS_OK;
fail:
    ks_cache_free(c);
done:
    OPENSSL_cleanse(key, sizeof key);
    if (r == KS_E_CONFIG && errmsg != NULL && *errmsg == NULL)
        ks_cache_errf(errmsg, "key \"cache\": invalid");
    return r;
}

ks_cache *ks_cache_ref(ks_cache *c)
{
    if (c != NULL)
        atomic_fetch_add(&c->refs, 1);
    return c;
}

void ks_cache_free(ks_cache *c)
{
    if (c == NULL || atomic_fetch_sub(&c->refs, 1) != 1)
        return;
    pthread_mutex_lock(&c->mu);
    c->stopping = 1;
    pthread_cond_broadcast(&c->job_cv);
    pthread_mutex_unlock(&c->mu);
    for (size_t i = 0; i < c->nworkers; i++)
        pthread_join(c->workers[i], NULL);
    free(c->workers);
    while (c->jobs_head != NULL) {
        ks_cache_job *j = c->jobs_head;
        c->jobs_head = j->next;
        ks_cache_job_free(j);
    }
    if (c->buckets != NULL)
        while (c->lru_tail != NULL)
            ks_cache_remove_locked(c, c->lru_tail);
    free(c->buckets);
    free(c->marks);
    if (c->pool != NULL)
        memcached_pool_destroy(c->pool);
    memcached_free(c->master);
    for (size_t i = 0; i < c->nservers; i++)
        free(c->servers[i].name);
    free(c->servers);
    EVP_MAC_CTX_free(c->mac_tmpl);
    EVP_MAC_free(c->mac);
    EVP_MD_free(c->sha256);
    pthread_cond_destroy(&c->job_cv);
    pthread_cond_destroy(&c->idle_cv);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

/* ------------------------------------------------------------------ */
/* Sharing across reloads                                             */
/* ------------------------------------------------------------------ */

int ks_cache_same_config(const ks_cache *c, const cJSON *section, char *const *servers, size_t nservers)
{
    ks_cache_cfg cfg;
    uint8_t key[KS_CACHE_HMAC_MAX], id[32] = {0};
    size_t keylen = 0;
    char *err = NULL;
    int same = 0;
    if (c == NULL || !ks_cache_parse_config(section, &cfg, key, &keylen, &err))
        goto done;
    if (keylen > 0 && !ks_cache_sha256(c, key, keylen, id))
        goto done;
    /* The key compared by its digest, in constant time (both are ours). */
    if (memcmp(&cfg, &c->cfg, sizeof cfg) != 0 || CRYPTO_memcmp(id, c->key_id, sizeof id) != 0 ||
        nservers != c->nservers)
        goto done;
    for (size_t i = 0; i < nservers; i++)
        if (strcmp(servers[i], c->servers[i].name) != 0)
            goto done;
    same = 1;
done:
    OPENSSL_cleanse(key, sizeof key);
    free(err);
    return same;
}

uint64_t ks_cache_epoch(ks_cache *c)
{
    pthread_mutex_lock(&c->mu);
    uint64_t e = c->epoch;
    pthread_mutex_unlock(&c->mu);
    return e;
}

size_t ks_cache_purge(ks_cache *c, int (*drop)(void *arg, const char *key, const void *obj), void *arg)
{
    size_t n = 0;
    if (c == NULL)
        return 0;
    pthread_mutex_lock(&c->mu);
    for (ks_cache_entry *e = c->lru_head, *next; e != NULL; e = next) {
        next = e->lnext;
        if (drop == NULL || drop(arg, e->key, e->obj)) {
            ks_cache_remove_locked(c, e);
            n++;
        }
    }
    /* Queued refreshes were asked for under the old rules: dropped, and
     * the entries that stay may be queued again by the next hit. */
    while (c->jobs_head != NULL) {
        ks_cache_job *j = c->jobs_head;
        c->jobs_head = j->next;
        ks_cache_entry *cur = ks_cache_lookup_locked(c, j->key, ks_cache_hash(c, j->key));
        if (cur != NULL)
            cur->refreshing = 0;
        ks_cache_job_free(j);
    }
    c->jobs_tail = NULL;
    c->njobs = 0;
    c->epoch++;
    pthread_mutex_unlock(&c->mu);
    return n;
}

void ks_cache_forget(ks_cache *c, const void *arg)
{
    if (c == NULL)
        return;
    pthread_mutex_lock(&c->mu);
    for (ks_cache_job **pp = &c->jobs_head; *pp != NULL;) {
        ks_cache_job *j = *pp;
        if (j->ops.arg != arg) {
            pp = &j->next;
            continue;
        }
        *pp = j->next;
        c->njobs--;
        ks_cache_entry *cur = ks_cache_lookup_locked(c, j->key, ks_cache_hash(c, j->key));
        if (cur != NULL)
            cur->refreshing = 0;
        ks_cache_job_free(j);
    }
    c->jobs_tail = NULL;
    for (ks_cache_job *j = c->jobs_head; j != NULL; j = j->next)
        c->jobs_tail = j;
    for (;;) {
        int busy = 0;
        for (ks_cache_job *j = c->running; j != NULL && !busy; j = j->next)
            busy = j->ops.arg == arg;
        if (!busy)
            break;
        pthread_cond_wait(&c->idle_cv, &c->mu);
    }
    pthread_mutex_unlock(&c->mu);
}

int ks_cache_peek(ks_cache *c, const char *key, time_t now, time_t *expires, time_t *issued)
{
    int found = 0;
    if (c == NULL || key == NULL || !ks_cache_key_ok(key))
        return 0;
    uint64_t hash = ks_cache_hash(c, key);
    pthread_mutex_lock(&c->mu);
    ks_cache_entry *e = ks_cache_lookup_locked(c, key, hash);
    if (e != NULL && !e->negative && now < e->expires) {
        *expires = e->expires;
        *issued = e->issued;
        found = 1;
    }
    pthread_mutex_unlock(&c->mu);
    return found;
}

ks_result ks_cache_refresh(ks_cache *c, const char *key, const ks_cache_ops *ops, time_t now, ks_cache_tier *from)
{
    if (c == NULL || key == NULL || ops == NULL || ops->fetch == NULL || ops->decode == NULL || !ks_cache_key_ok(key))
        return KS_E_USAGE;
    uint64_t hash = ks_cache_hash(c, key);
    ks_cache_ops eops = *ops;
    ks_cache_tier tier = KS_TIER_NETWORK;
    pthread_mutex_lock(&c->mu);
    if (eops.epoch == 0)
        eops.epoch = c->epoch;
    ks_cache_entry *cur = ks_cache_lookup_locked(c, key, hash);
    /* Only something newer than what is held replaces it: memcached's copy
     * when another node refreshed first, else the network's. */
    time_t newer_than = cur != NULL && !cur->negative && cur->expires > now ? cur->expires : now;
    ks_cache_flight *f = ks_cache_flight_find_locked(c, key, hash, eops.epoch);
    if (f != NULL || eops.epoch != c->epoch) {
        pthread_mutex_unlock(&c->mu);
        return KS_E_UNAVAILABLE; /* a load is under way, or the rules changed */
    }
    if ((f = ks_cache_flight_start_locked(c, key, hash, eops.epoch)) == NULL) {
        pthread_mutex_unlock(&c->mu);
        return KS_E_NOMEM;
    }
    pthread_mutex_unlock(&c->mu);
    ks_cache_entry *ne = NULL;
    ks_result r = ks_cache_load(c, key, hash, &eops, now, newer_than, &ne, &tier);
    pthread_mutex_lock(&c->mu);
    if (r == KS_OK && eops.epoch != c->epoch) {
        ks_cache_entry_release(ne);
        ne = NULL;
        r = KS_E_UNAVAILABLE;
    }
    if (r == KS_OK) {
        /* A failure leaves the entry held (and any negative one) as it was:
         * a refresh never takes away what still serves. */
        ne->refresh_after = now + ks_cache_refresh_gap(c);
        ks_cache_insert_locked(c, ne);
        atomic_fetch_add(&c->refreshes, 1);
    }
    ks_cache_flight_finish_locked(c, f, r, ne, tier);
    pthread_mutex_unlock(&c->mu);
    ks_cache_entry_release(ne);
    if (r == KS_OK && from != NULL)
        *from = tier;
    return r;
}
