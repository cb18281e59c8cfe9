/*
 * fuzz/fuzz_cache.c - cache entries as read back from memcached, whose
 * bytes nothing trusts: the frame (magic, kind, flags, expiry, issued time, key binding,
 * exact length, HMAC), chunk manifests and chunks, then ops->decode.
 *
 * memcached-free: cache/cache.c is included here with its seven libmemcached
 * data calls (pool fetch/release, hash, get, set, add, delete) redirected to
 * a fake in this file that serves the fuzz input, so the production path
 * ks_cache_get -> ks_cache_load -> ks_cache_mc_read -> ks_cache_unframe ->
 * ks_cache_mc_read_chunks runs unchanged and without a server.
 *
 * Input: flags byte, then pieces separated by "\n--KSFUZZ--\n": piece 0 is
 * the value at the entry's memcached key, piece i the value of chunk i-1.
 * Flags: bit 0 a cache with an HMAC key; bit 1 fix up each piece's key hash
 * (and MAC) so the fuzzer gets past the binding it cannot forge.
 */
#include <libmemcached-1.0/memcached.h>
#include <libmemcachedutil-1.0/pool.h>

#include "fuzz.h"

#define FZ_MAX_PIECES 64

static struct {
    const uint8_t *p[FZ_MAX_PIECES];
    size_t n[FZ_MAX_PIECES];
    size_t count;
    const char *mckey;
} fz_mc;
static memcached_st *fz_mc_handle;

static memcached_st *fz_pool_fetch(memcached_pool_st *pool, struct timespec *t, memcached_return_t *rc)
{
    (void)pool;
    (void)t;
    *rc = MEMCACHED_SUCCESS;
    return fz_mc_handle;
}

static memcached_return_t fz_pool_release(memcached_pool_st *pool, memcached_st *m)
{
    (void)pool;
    (void)m;
    return MEMCACHED_SUCCESS;
}

static uint32_t fz_generate_hash(const memcached_st *m, const char *k, size_t n)
{
    (void)m;
    (void)k;
    (void)n;
    return 0;
}

/* Piece 0 at the entry's key, piece i+1 at any key ending in ":<i>". */
static char *fz_get(memcached_st *m, const char *k, size_t klen, size_t *vlen, uint32_t *flags,
                    memcached_return_t *rc)
{
    (void)m;
    (void)flags;
    size_t idx = FZ_MAX_PIECES;
    if (fz_mc.mckey != NULL && klen == strlen(fz_mc.mckey) && memcmp(k, fz_mc.mckey, klen) == 0) {
        idx = 0;
    } else {
        const char *colon = memrchr(k, ':', klen);
        if (colon != NULL && colon > k + 4 && memcmp(k, "ks1:", 4) == 0) {
            size_t i = 0;
            for (const char *q = colon + 1; q < k + klen && *q >= '0' && *q <= '9' && i < 100000; q++)
                i = i * 10 + (size_t)(*q - '0');
            idx = i + 1;
        }
    }
    if (idx >= fz_mc.count) {
        *rc = MEMCACHED_NOTFOUND;
        return NULL;
    }
    char *v = malloc(fz_mc.n[idx] + 1); /* libmemcached NUL-terminates values */
    if (v == NULL) {
        *rc = MEMCACHED_MEMORY_ALLOCATION_FAILURE;
        return NULL;
    }
    memcpy(v, fz_mc.p[idx], fz_mc.n[idx]);
    v[fz_mc.n[idx]] = '\0';
    *vlen = fz_mc.n[idx];
    *rc = MEMCACHED_SUCCESS;
    return v;
}

static memcached_return_t fz_set(memcached_st *m, const char *k, size_t kl, const char *v, size_t vl, time_t t,
                                 uint32_t f)
{
    (void)m, (void)k, (void)kl, (void)v, (void)vl, (void)t, (void)f;
    return MEMCACHED_SUCCESS;
}

static memcached_return_t fz_delete(memcached_st *m, const char *k, size_t kl, time_t t)
{
    (void)m, (void)k, (void)kl, (void)t;
    return MEMCACHED_DELETED;
}

static void fz_autoeject(memcached_st *m)
{
    (void)m; /* one fake server: nothing to eject */
}

#define memcached_pool_fetch fz_pool_fetch
#define memcached_autoeject fz_autoeject
#define memcached_pool_release fz_pool_release
#define memcached_generate_hash fz_generate_hash
#define memcached_get fz_get
#define memcached_set fz_set
#define memcached_add fz_set
#define memcached_delete fz_delete
#include "../cache/cache.c"
#undef memcached_pool_fetch
#undef memcached_autoeject
#undef memcached_pool_release
#undef memcached_generate_hash
#undef memcached_get
#undef memcached_set
#undef memcached_add
#undef memcached_delete

static const char fz_key[] = "ocsp|fuzz|entry";
static cJSON *fz_section[2];
static char *fz_servers[] = {"127.0.0.1:9"};
static time_t fz_t0;

static int fz_fetch(void *arg, const char *key, uint8_t **val, size_t *len)
{
    (void)arg, (void)key, (void)val, (void)len;
    return -1; /* the network is down: only memcached can answer */
}

/* Accepts a value that starts with 'V' (a stand-in for a CA signature). */
static void *fz_decode(void *arg, const char *key, const uint8_t *val, size_t len, time_t now, time_t *expires,
                       time_t *issued)
{
    (void)arg;
    if (strcmp(key, fz_key) != 0 || len == 0 || len > (1u << 20))
        fz_die("decode", "called with a foreign key or an over-long value");
    if (val[0] != 'V')
        return NULL;
    uint8_t *o = malloc(len);
    if (o == NULL)
        return NULL;
    memcpy(o, val, len);
    *expires = now + 60;
    *issued = 0; /* a frame must say 0 too (seeds do) */
    return o;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fz_t0 = time(NULL);
    fz_mc_handle = memcached_create(NULL);
    const char *cfg[2] = {
        "{\"max_entries\": 4, \"max_value_bytes\": 1048576, \"negative_ttl_s\": 0, \"refresh_ahead_s\": 0,"
        " \"memcached_chunk_bytes\": 1024, \"lock_wait_ms\": 0}",
        "{\"max_entries\": 4, \"max_value_bytes\": 1048576, \"negative_ttl_s\": 0, \"refresh_ahead_s\": 0,"
        " \"memcached_chunk_bytes\": 1024, \"lock_wait_ms\": 0,"
        " \"hmac_key\": \"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\"}"};
    for (int i = 0; i < 2; i++)
        if ((fz_section[i] = cJSON_Parse(cfg[i])) == NULL)
            fz_die("cache config", cfg[i]);
    if (fz_mc_handle == NULL)
        fz_die("memcached_create", "out of memory");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > (2u << 20))
        return 0;
    int with_mac = data[0] & 1, fix = data[0] & 2;
    ks_cache *c = NULL;
    char *err = NULL;
    if (ks_cache_new(fz_section[with_mac], fz_servers, 1, &c, &err) != KS_OK)
        fz_die("ks_cache_new", err);
    ks_cache_keyinfo ki;
    if (!ks_cache_keyinfo_init(c, fz_key, &ki))
        fz_die("keyinfo", "sha256");
    /* Split into pieces (copies: the fix-up writes into them). */
    uint8_t *copy = malloc(size);
    if (copy == NULL)
        fz_die("copy", "out of memory");
    memcpy(copy, data + 1, size - 1);
    const uint8_t *rest = copy;
    size_t restlen = size - 1;
    fz_mc.count = 0;
    fz_mc.mckey = ki.mckey;
    while (rest != NULL && fz_mc.count < FZ_MAX_PIECES) {
        const uint8_t *next;
        size_t nextlen, n = fz_split(rest, restlen, &next, &nextlen);
        fz_mc.p[fz_mc.count] = rest;
        fz_mc.n[fz_mc.count] = n;
        fz_mc.count++;
        rest = next;
        restlen = nextlen;
    }
    if (fix) {
        /* The key hash at bytes 24..55 and the MAC over everything before the
         * last 32 bytes, bound to the memcached key the piece is read from. */
        for (size_t i = 0; i < fz_mc.count; i++) {
            uint8_t *p = (uint8_t *)fz_mc.p[i];
            size_t n = fz_mc.n[i];
            if (n < KS_CACHE_HDR)
                continue;
            memcpy(p + 24, ki.kh, 32);
            if (c->mac_tmpl != NULL && n >= KS_CACHE_HDR + KS_CACHE_MAC_LEN) {
                char ck[160];
                if (i == 0)
                    snprintf(ck, sizeof ck, "%s", ki.mckey);
                else {
                    /* chunk keys carry the manifest's generation */
                    char genhex[33] = "00000000000000000000000000000000";
                    if (fz_mc.n[0] >= KS_CACHE_HDR + KS_CACHE_MANIFEST_LEN)
                        ks_hex_encode(fz_mc.p[0] + KS_CACHE_HDR + 16, 16, genhex);
                    snprintf(ck, sizeof ck, "ks1:%s:%s:%zu", ki.hex, genhex, i - 1);
                }
                ks_cache_mac(c, ck, p, n - KS_CACHE_MAC_LEN, p + n - KS_CACHE_MAC_LEN);
            }
        }
    }
    ks_cache_ops ops = {.fetch = fz_fetch, .decode = fz_decode, .free_obj = free, .arg = NULL};
    ks_cache_entry *e = NULL;
    ks_cache_tier tier;
    ks_result r = ks_cache_get(c, fz_key, &ops, fz_t0, &e, &tier);
    if (r == KS_OK) {
        const uint8_t *obj = ks_cache_entry_obj(e);
        if (tier != KS_TIER_MEMCACHED || obj == NULL || obj[0] != 'V' || ks_cache_entry_expires(e) <= fz_t0)
            fz_die("ks_cache_get", "served something decode did not accept, or a stale entry");
    } else if (e != NULL) {
        fz_die("ks_cache_get", "an entry with a failure");
    }
    ks_cache_entry_release(e);
    ks_cache_free(c);
    fz_mc.mckey = NULL;
    free(copy);
    return 0;
}
