/*
 * tests/test_cache.c - the two-tier cache against real memcached servers
 * started here on free 127.0.0.1 ports, with a fake source: fetch counts its
 * calls and answers "v:<expiry>:[@<issued>:]<key>|<filler>", decode accepts exactly that
 * shape (it does NOT check the key: binding a value to its key is the
 * cache's job, and these tests check it does).  Every wait is bounded and
 * an alarm ends the whole program if something hangs.
 */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libmemcached-1.0/memcached.h>
#include <openssl/evp.h>

#include "cache.h"
#include "internal.h" /* testlib.h's helpers for verify/ tests use ks_read_file */
#include "testlib.h"
#include "testnet.h"


/* ---------------- the fake source ---------------- */

typedef struct {
    atomic_int fetches, decodes;
    atomic_int fail;    /* fetch returns -1 */
    atomic_int garbage; /* fetch returns bytes decode refuses */
    atomic_llong expiry;
    atomic_llong issued; /* 0: fetch writes none, decode reports 0 */
    atomic_int sleep_ms;
    size_t filler; /* bytes after "key|" */
} t_src;

typedef struct {
    time_t exp;
    time_t issued;
    char *payload;
    size_t len;
} t_obj;

static uint8_t t_fill(size_t i)
{
    return (uint8_t)(i * 131 + 7);
}

static int t_fetch(void *arg, const char *key, uint8_t **val, size_t *len)
{
    t_src *s = arg;
    atomic_fetch_add(&s->fetches, 1);
    if (atomic_load(&s->sleep_ms) > 0)
        t_sleep_ms(atomic_load(&s->sleep_ms));
    if (atomic_load(&s->fail))
        return -1;
    char head[1200], iss[32] = "";
    if (atomic_load(&s->issued) != 0)
        snprintf(iss, sizeof iss, "@%lld:", (long long)atomic_load(&s->issued));
    int n = atomic_load(&s->garbage)
                ? snprintf(head, sizeof head, "garbage")
                : snprintf(head, sizeof head, "v:%lld:%s%s|", (long long)atomic_load(&s->expiry), iss, key);
    uint8_t *v = malloc((size_t)n + s->filler);
    if (v == NULL)
        return -1;
    memcpy(v, head, (size_t)n);
    for (size_t i = 0; i < s->filler; i++)
        v[(size_t)n + i] = t_fill(i);
    *val = v;
    *len = (size_t)n + s->filler;
    return 0;
}

static void *t_decode(void *arg, const char *key, const uint8_t *val, size_t len, time_t now, time_t *expires,
                      time_t *issued)
{
    t_src *s = arg;
    (void)key;
    (void)now;
    atomic_fetch_add(&s->decodes, 1);
    if (len < 4 || memcmp(val, "v:", 2) != 0)
        return NULL;
    size_t i = 2;
    long long exp = 0;
    while (i < len && val[i] >= '0' && val[i] <= '9' && i < 20)
        exp = exp * 10 + (val[i++] - '0');
    if (i == 2 || i >= len || val[i] != ':')
        return NULL;
    i++;
    long long iss = 0;
    if (i < len && val[i] == '@') {
        size_t j = ++i;
        while (i < len && val[i] >= '0' && val[i] <= '9' && i - j < 18)
            iss = iss * 10 + (val[i++] - '0');
        if (i == j || i >= len || val[i] != ':')
            return NULL;
        i++;
    }
    *issued = (time_t)iss;
    t_obj *o = calloc(1, sizeof *o);
    if (o == NULL || (o->payload = malloc(len - i + 1)) == NULL) {
        free(o);
        return NULL;
    }
    memcpy(o->payload, val + i, len - i);
    o->payload[len - i] = '\0';
    o->len = len - i;
    o->exp = (time_t)exp;
    o->issued = (time_t)iss;
    *expires = o->exp;
    return o;
}

static void t_free_obj(void *p)
{
    t_obj *o = p;
    if (o != NULL)
        free(o->payload);
    free(o);
}

static ks_cache_ops t_ops(t_src *s)
{
    ks_cache_ops ops = {t_fetch, t_decode, t_free_obj, s};
    return ops;
}

/* The object belongs to `key` and its filler is intact. */
static int t_obj_ok(const t_obj *o, const char *key, size_t filler)
{
    size_t kl = strlen(key);
    if (o == NULL || o->len != kl + 1 + filler || memcmp(o->payload, key, kl) != 0 || o->payload[kl] != '|')
        return 0;
    for (size_t i = 0; i < filler; i++)
        if ((uint8_t)o->payload[kl + 1 + i] != t_fill(i))
            return 0;
    return 1;
}

/* One lookup; checks that whatever came back is the key's own object. */
static ks_result t_get(ks_cache *c, t_src *s, const char *key, time_t now, ks_cache_tier *tier)
{
    ks_cache_ops ops = t_ops(s);
    ks_cache_entry *e = NULL;
    ks_cache_tier t = (ks_cache_tier)-1;
    ks_result r = ks_cache_get(c, key, &ops, now, &e, &t);
    if (r == KS_OK) {
        CHECK(e != NULL && t_obj_ok(ks_cache_entry_obj(e), key, s->filler), "%s: object of the wrong key", key);
        CHECK(now < ks_cache_entry_expires(e), "%s: served at %lld, expires %lld", key, (long long)now,
              (long long)ks_cache_entry_expires(e));
    } else {
        CHECK(e == NULL, "%s: entry on error", key);
    }
    ks_cache_entry_release(e);
    if (tier)
        *tier = t;
    return r;
}

/* The same lookup, checked without counting (for loops whose length
 * depends on timing, so the total number of checks stays fixed). */
static int t_get_ok(ks_cache *c, t_src *s, const char *key, time_t now)
{
    ks_cache_ops ops = t_ops(s);
    ks_cache_entry *e = NULL;
    int ok = ks_cache_get(c, key, &ops, now, &e, NULL) == KS_OK && t_obj_ok(ks_cache_entry_obj(e), key, s->filler) &&
             now < ks_cache_entry_expires(e);
    ks_cache_entry_release(e);
    return ok;
}

static const char *t_tier(ks_cache_tier t)
{
    return t == KS_TIER_MEMORY ? "memory" : t == KS_TIER_MEMCACHED ? "memcached" : t == KS_TIER_NETWORK ? "network" : "?";
}

/* A cache over the given ports with `json` as its "cache" section. */
static ks_cache *t_cache(const char *json, const int *ports, size_t n)
{
    char *srv[4], bufs[4][32];
    for (size_t i = 0; i < n && i < 4; i++) {
        snprintf(bufs[i], sizeof bufs[i], "127.0.0.1:%d", ports[i]);
        srv[i] = bufs[i];
    }
    cJSON *sec = json ? cJSON_Parse(json) : NULL;
    ks_cache *c = NULL;
    char *err = NULL;
    ks_result r = ks_cache_new(sec, srv, n, &c, &err);
    CHECK(r == KS_OK && c != NULL, "ks_cache_new(%s): %s %s", json ? json : "NULL", ks_result_name(r), t_str(err));
    free(err);
    cJSON_Delete(sec);
    return c;
}

/* Timeouts generous enough for a loaded test machine (a timeout is not an
 * error, but it skips memcached, which these tests observe); test_down uses
 * the production-like 100 ms and checks the stall bounds. */
#define T_BASE "\"memcached_timeout_ms\": 1000, \"memcached_backoff_ms\": 200, \"refresh_ahead_s\": 0"
#define T_HMAC "\"hmac_key\": \"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\""

static ks_cache_stats t_stats(ks_cache *c)
{
    ks_cache_stats st;
    ks_cache_get_stats(c, &st);
    return st;
}

/* ---------------- tests ---------------- */

static void test_config(void)
{
    static const struct {
        const char *json;
        const char *must_mention; /* NULL: accepted */
    } rows[] = {
        {"{}", NULL},
        {"{\"max_entries\": 5, \"max_bytes\": 8192, \"negative_ttl_s\": 0, \"max_ttl_s\": 60, "
         "\"refresh_ahead_s\": 10, \"lock_ttl_s\": 3, \"memcached_timeout_ms\": 80}",
         NULL},
        {"{\"hmac_key\": \"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\"}", NULL},
        {"{" T_HMAC "}", NULL},
        {"{\"max_entries\": 0}", "cache.max_entries"},
        {"{\"max_entries\": 1.5}", "cache.max_entries"},
        {"{\"negative_ttl_s\": \"30\"}", "cache.negative_ttl_s"},
        {"{\"memcached_timeout_ms\": 100000}", "cache.memcached_timeout_ms"},
        {"{\"colour\": 1}", "cache.colour"},
        {"{\"hmac_key\": \"00010203\"}", "cache.hmac_key"},
        {"{\"hmac_key\": \"not hex, not base64!\"}", "cache.hmac_key"},
        {"{\"hmac_key\": 5}", "cache.hmac_key"},
        {"{\"hmac_key_file\": \"/nonexistent/key\"}", "cache.hmac_key_file"},
        {"{" T_HMAC ", \"hmac_key_file\": \"/etc/hostname\"}", "hmac_key_file"},
        {"[]", "cache"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        cJSON *sec = cJSON_Parse(rows[i].json);
        ks_cache *c = NULL;
        char *err = NULL;
        ks_result r = ks_cache_new(sec, NULL, 0, &c, &err);
        if (rows[i].must_mention == NULL) {
            CHECK(r == KS_OK && c != NULL, "row %zu: %s %s", i, ks_result_name(r), t_str(err));
        } else {
            CHECK(r == KS_E_CONFIG && c == NULL, "row %zu: %s", i, ks_result_name(r));
            CHECK(err != NULL && strstr(err, rows[i].must_mention) != NULL, "row %zu: \"%s\" names \"%s\"", i,
                  t_str(err), rows[i].must_mention);
        }
        free(err);
        ks_cache_free(c);
        cJSON_Delete(sec);
    }
    static const struct {
        const char *server;
        int ok;
    } srows[] = {
        {"127.0.0.1:11211", 1}, {"[::1]:11211", 1}, {"localhost", 1},   {"host:0", 0},
        {"host:99999", 0},      {"::1:11211", 0},   {"host:", 0},       {"[::1", 0},
        {"bad host:1", 0},      {"", 0},
    };
    for (size_t i = 0; i < sizeof srows / sizeof srows[0]; i++) {
        char *srv[] = {(char *)srows[i].server};
        ks_cache *c = NULL;
        char *err = NULL;
        ks_result r = ks_cache_new(NULL, srv, 1, &c, &err);
        if (srows[i].ok)
            CHECK(r == KS_OK, "server %s: %s %s", srows[i].server, ks_result_name(r), t_str(err));
        else
            CHECK(r == KS_E_CONFIG && err != NULL && strstr(err, "memcached[0]") != NULL, "server \"%s\": %s %s",
                  srows[i].server, ks_result_name(r), t_str(err));
        free(err);
        ks_cache_free(c);
    }
    /* A key file in hex. */
    char path[256];
    snprintf(path, sizeof path, "%s/tests/cache-hmac.key", t_env("OUT", "build/rel"));
    FILE *f = fopen(path, "w");
    if (f != NULL) {
        fputs("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n", f);
        fclose(f);
    }
    char json[400];
    snprintf(json, sizeof json, "{\"hmac_key_file\": \"%s\"}", path);
    ks_cache_free(t_cache(json, NULL, 0));

    /* Bad arguments, NULL-tolerant destructors. */
    ks_cache *c = t_cache("{" T_BASE "}", NULL, 0);
    t_src s = {0};
    atomic_store(&s.expiry, 1000);
    ks_cache_ops ops = t_ops(&s);
    ks_cache_entry *e = (ks_cache_entry *)&s;
    static const char *bad_keys[] = {"", "has space", "tab\tkey", "caf\xc3\xa9"};
    for (size_t i = 0; i < sizeof bad_keys / sizeof bad_keys[0]; i++) {
        CHECK(ks_cache_get(c, bad_keys[i], &ops, 100, &e, NULL) == KS_E_USAGE && e == NULL, "bad key %zu", i);
    }
    char longkey[1100];
    memset(longkey, 'k', sizeof longkey - 1);
    longkey[sizeof longkey - 1] = '\0';
    CHECK(ks_cache_get(c, longkey, &ops, 100, &e, NULL) == KS_E_USAGE, "key over 1024 bytes");
    ks_cache_ops noops = {0};
    CHECK(ks_cache_get(c, "k", &noops, 100, &e, NULL) == KS_E_USAGE, "ops without fetch");
    CHECK(atomic_load(&s.fetches) == 0, "no fetch for bad calls");
    ks_cache_free(c);
    ks_cache_free(NULL);
    ks_cache_entry_release(NULL);
}

/* Two instances (two processes or nodes) sharing one memcached. */
static void test_two_instances(const t_mc *mc)
{
    ks_cache *a = t_cache("{" T_BASE "}", &mc->port, 1), *b = t_cache("{" T_BASE "}", &mc->port, 1);
    t_src s = {0};
    atomic_store(&s.expiry, 5000);
    ks_cache_tier t;
    CHECK(t_get(a, &s, "two:k1", 100, &t) == KS_OK && t == KS_TIER_NETWORK, "a: %s", t_tier(t));
    CHECK(t_get(b, &s, "two:k1", 100, &t) == KS_OK && t == KS_TIER_MEMCACHED, "b: %s", t_tier(t));
    CHECK(t_get(b, &s, "two:k1", 101, &t) == KS_OK && t == KS_TIER_MEMORY, "b again: %s", t_tier(t));
    CHECK(atomic_load(&s.fetches) == 1, "the second instance made no fetch: %d", atomic_load(&s.fetches));
    CHECK(atomic_load(&s.decodes) == 2, "memcached bytes were decoded again: %d", atomic_load(&s.decodes));
    ks_cache_stats sa = t_stats(a), sb = t_stats(b);
    CHECK(sa.fetches == 1 && sa.misses == 1 && sb.hits_memcached == 1 && sb.hits_memory == 1 && sb.fetches == 0,
          "stats a fetches %llu, b hits_memcached %llu", sa.fetches, sb.hits_memcached);
    CHECK(sa.memcached_up == 1 && sa.memcached_servers == 1, "memcached up: a up %d errors %llu, b up %d errors %llu",
          sa.memcached_up, sa.memcached_errors, sb.memcached_up, sb.memcached_errors);
    ks_cache_free(a);
    ks_cache_free(b);
}

/* Served until its expiry and never at or after it (injected clock). */
static void test_expiry(const t_mc *mc)
{
    static const struct {
        time_t now;
        long long source_expiry; /* what the network answers from now on */
        ks_result want;
        ks_cache_tier tier;
        int fetches; /* total so far */
    } rows[] = {
        {100, 1000, KS_OK, KS_TIER_NETWORK, 1},
        {500, 1000, KS_OK, KS_TIER_MEMORY, 1},
        {999, 1000, KS_OK, KS_TIER_MEMORY, 1},
        /* expired: memory and memcached hold only a stale copy; the network
         * answers with the same stale expiry, which is refused */
        {1000, 1000, KS_E_UNAVAILABLE, 0, 2},
        {1001, 1000, KS_E_UNAVAILABLE, 0, 2}, /* negative cache: no fetch */
        {1031, 2000, KS_OK, KS_TIER_NETWORK, 3},
        {1999, 2000, KS_OK, KS_TIER_MEMORY, 3},
        {2000, 3000, KS_OK, KS_TIER_NETWORK, 4},
    };
    ks_cache *c = t_cache("{" T_BASE "}", &mc->port, 1);
    t_src s = {0};
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        atomic_store(&s.expiry, rows[i].source_expiry);
        ks_cache_tier t = (ks_cache_tier)-1;
        ks_result r = t_get(c, &s, "exp:k", rows[i].now, &t);
        CHECK(r == rows[i].want, "row %zu (now %lld): %s", i, (long long)rows[i].now, ks_result_name(r));
        if (r == KS_OK)
            CHECK(t == rows[i].tier, "row %zu: tier %s", i, t_tier(t));
        CHECK(atomic_load(&s.fetches) == rows[i].fetches, "row %zu: %d fetches", i, atomic_load(&s.fetches));
    }
    /* A second instance reading memcached at a time past the stored expiry
     * fetches instead of serving the stale copy. */
    ks_cache *b = t_cache("{" T_BASE "}", &mc->port, 1);
    ks_cache_tier t;
    atomic_store(&s.expiry, 3000);
    CHECK(t_get(b, &s, "exp:k", 2500, &t) == KS_OK && t == KS_TIER_MEMCACHED, "b before expiry: %s", t_tier(t));
    ks_cache_free(b);
    b = t_cache("{" T_BASE "}", &mc->port, 1);
    atomic_store(&s.expiry, 4000);
    int before = atomic_load(&s.fetches);
    CHECK(t_get(b, &s, "exp:k", 3000, &t) == KS_OK && t == KS_TIER_NETWORK, "b at expiry: %s", t_tier(t));
    CHECK(atomic_load(&s.fetches) == before + 1, "stale memcached copy refetched");
    ks_cache_free(b);
    /* max_ttl_s caps a long-lived value. */
    ks_cache *m = t_cache("{" T_BASE ", \"max_ttl_s\": 60}", NULL, 0);
    ks_cache_ops ops = t_ops(&s);
    ks_cache_entry *e = NULL;
    atomic_store(&s.expiry, 100000);
    CHECK(ks_cache_get(m, "exp:cap", &ops, 100, &e, NULL) == KS_OK && ks_cache_entry_expires(e) == 160,
          "max_ttl_s caps the expiry: %lld", (long long)ks_cache_entry_expires(e));
    ks_cache_entry_release(e);
    ks_cache_free(m);
    ks_cache_free(c);
}

typedef struct {
    ks_cache *c;
    t_src *s;
    const char *key;
    pthread_barrier_t *bar;
    ks_result r;
    ks_cache_tier tier;
    int obj_ok;
} t_thread;

static void *t_thread_get(void *arg)
{
    t_thread *t = arg;
    ks_cache_ops ops = t_ops(t->s);
    ks_cache_entry *e = NULL;
    pthread_barrier_wait(t->bar);
    t->r = ks_cache_get(t->c, t->key, &ops, 100, &e, &t->tier);
    t->obj_ok = t->r == KS_OK && t_obj_ok(ks_cache_entry_obj(e), t->key, t->s->filler);
    ks_cache_entry_release(e);
    return NULL;
}

/* 200 threads missing one key make exactly one fetch. */
static void test_stampede(const t_mc *mc)
{
    enum { N = 200 };
    ks_cache *c = t_cache("{" T_BASE "}", &mc->port, 1);
    t_src s = {0};
    atomic_store(&s.expiry, 5000);
    atomic_store(&s.sleep_ms, 100);
    static t_thread th[N];
    pthread_t tid[N];
    pthread_barrier_t bar;
    pthread_barrier_init(&bar, NULL, N);
    int started = 0;
    for (int i = 0; i < N; i++) {
        th[i] = (t_thread){c, &s, "stampede:k", &bar, KS_E_INTERNAL, 0, 0};
        if (pthread_create(&tid[i], NULL, t_thread_get, &th[i]) != 0)
            break;
        started++;
    }
    CHECK(started == N, "started %d threads", started);
    int ok = 0;
    for (int i = 0; i < started; i++) {
        pthread_join(tid[i], NULL);
        ok += th[i].r == KS_OK && th[i].obj_ok;
    }
    pthread_barrier_destroy(&bar);
    ks_cache_stats st = t_stats(c);
    CHECK(ok == N, "%d of %d threads got the object", ok, N);
    CHECK(atomic_load(&s.fetches) == 1, "exactly one fetch: %d", atomic_load(&s.fetches));
    CHECK(st.collapsed + st.hits_memory == N - 1, "collapsed %llu + memory hits %llu", st.collapsed, st.hits_memory);
    ks_cache_free(c);
}

typedef struct {
    ks_cache *c;
    t_src *s;
    const char *key;
    ks_result r;
    ks_cache_tier tier;
} t_cross;

static void *t_cross_get(void *arg)
{
    t_cross *x = arg;
    x->r = t_get(x->c, x->s, x->key, 100, &x->tier);
    return NULL;
}

/* Two instances missing together: the memcached lock lets one fetch. */
static void test_cross_lock(const t_mc *mc)
{
    ks_cache *a = t_cache("{" T_BASE "}", &mc->port, 1), *b = t_cache("{" T_BASE "}", &mc->port, 1);
    t_src s = {0};
    atomic_store(&s.expiry, 5000);
    atomic_store(&s.sleep_ms, 300);
    t_cross xa = {a, &s, "cross:k", KS_E_INTERNAL, 0}, xb = {b, &s, "cross:k", KS_E_INTERNAL, 0};
    pthread_t ta, tb;
    long long t0 = t_ms();
    pthread_create(&ta, NULL, t_cross_get, &xa);
    pthread_create(&tb, NULL, t_cross_get, &xb);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    CHECK(xa.r == KS_OK && xb.r == KS_OK, "both served: %s %s", ks_result_name(xa.r), ks_result_name(xb.r));
    CHECK(atomic_load(&s.fetches) == 1, "one fetch across instances: %d", atomic_load(&s.fetches));
    CHECK((xa.tier == KS_TIER_NETWORK && xb.tier == KS_TIER_MEMCACHED) ||
              (xb.tier == KS_TIER_NETWORK && xa.tier == KS_TIER_MEMCACHED),
          "one from the network, one from memcached: %s %s", t_tier(xa.tier), t_tier(xb.tier));
    CHECK(t_ms() - t0 < 2000, "the loser polled briefly: %lld ms", t_ms() - t0);
    ks_cache_free(a);
    ks_cache_free(b);
}

typedef struct {
    ks_cache *c;
    t_src *s;
    time_t now;
    ks_result r;
    time_t expires;
} t_clocked;

static void *t_clocked_get(void *arg)
{
    t_clocked *x = arg;
    ks_cache_ops ops = t_ops(x->s);
    ks_cache_entry *e = NULL;
    x->r = ks_cache_get(x->c, "clock:k", &ops, x->now, &e, NULL);
    x->expires = ks_cache_entry_expires(e);
    ks_cache_entry_release(e);
    return NULL;
}

/* A waiter whose clock is past what the leader loaded is not served it. */
static void test_waiter_clock(void)
{
    ks_cache *c = t_cache("{" T_BASE "}", NULL, 0);
    t_src s = {0};
    atomic_store(&s.expiry, 150);
    atomic_store(&s.sleep_ms, 200);
    t_clocked a = {c, &s, 100, KS_E_INTERNAL, 0}, b = {c, &s, 200, KS_E_INTERNAL, 0};
    pthread_t ta, tb;
    pthread_create(&ta, NULL, t_clocked_get, &a);
    for (long long t0 = t_ms(); atomic_load(&s.fetches) == 0 && t_ms() - t0 < 5000;)
        t_sleep_ms(1); /* a is fetching: b joins its flight */
    pthread_create(&tb, NULL, t_clocked_get, &b);
    pthread_join(ta, NULL);
    atomic_store(&s.expiry, 1000);
    pthread_join(tb, NULL);
    CHECK(a.r == KS_OK && a.expires == 150, "leader: %s %lld", ks_result_name(a.r), (long long)a.expires);
    CHECK(b.r == KS_OK && b.expires == 1000, "waiter at 200 got %s expiring %lld", ks_result_name(b.r),
          (long long)b.expires);
    CHECK(atomic_load(&s.fetches) == 2, "%d fetches", atomic_load(&s.fetches));
    if (getenv("T_VERBOSE"))
        fprintf(stderr, "waiter_clock: collapsed %llu\n", t_stats(c).collapsed);
    ks_cache_free(c);
}

/* Items swapped between keys, overwritten or altered are refused. */
enum { T_SWAP, T_GARBAGE, T_FLIP_PAYLOAD, T_FLIP_EXPIRY, T_TRUNCATE, T_OTHER_MODE };

static void test_tamper(const t_mc *mc)
{
    static const char *modes[] = {"{" T_BASE "}", "{" T_BASE ", " T_HMAC "}"};
    /* Each row: the attack, with (1) or without (0) an HMAC key, and what
     * must happen: refused (counted, refetched) or, where only decode can
     * judge, served with decode's own expiry (never the forged one). */
    static const struct {
        int attack, hmac, refused;
        const char *name;
    } rows[] = {
        {T_SWAP, 0, 1, "swap, no hmac"},
        {T_GARBAGE, 0, 1, "garbage, no hmac"},
        {T_FLIP_EXPIRY, 0, 0, "later expiry, no hmac"},
        {T_TRUNCATE, 0, 1, "truncated, no hmac"},
        {T_OTHER_MODE, 0, 1, "MACed frame, no hmac"},
        {T_SWAP, 1, 1, "swap, hmac"},
        {T_GARBAGE, 1, 1, "garbage, hmac"},
        {T_FLIP_PAYLOAD, 1, 1, "altered payload, hmac"},
        {T_FLIP_EXPIRY, 1, 1, "later expiry, hmac"},
        {T_TRUNCATE, 1, 1, "truncated, hmac"},
        {T_OTHER_MODE, 1, 1, "unMACed frame, hmac"},
    };
    memcached_st *raw = t_raw(mc->port);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const char *cfg = modes[rows[i].hmac];
        char k1[64], k2[64], mk1[72], mk2[72];
        snprintf(k1, sizeof k1, "tamper:%zu:a", i);
        snprintf(k2, sizeof k2, "tamper:%zu:b", i);
        t_mckey(k1, mk1);
        t_mckey(k2, mk2);
        ks_cache *w = t_cache(cfg, &mc->port, 1);
        t_src s = {0};
        atomic_store(&s.expiry, 5000);
        CHECK(t_get(w, &s, k1, 100, NULL) == KS_OK && t_get(w, &s, k2, 100, NULL) == KS_OK, "%s: seed", rows[i].name);
        ks_cache_free(w);
        size_t l1 = 0, l2 = 0;
        char *v1 = t_raw_get(raw, mk1, &l1), *v2 = t_raw_get(raw, mk2, &l2);
        CHECK(v1 != NULL && v2 != NULL && l1 > 60, "%s: items stored", rows[i].name);
        if (v1 == NULL || v2 == NULL || l1 <= 60) {
            free(v1);
            free(v2);
            continue;
        }
        switch (rows[i].attack) {
        case T_SWAP: /* k2's genuine item under k1's key */
            t_raw_set(raw, mk1, v2, l2);
            break;
        case T_GARBAGE:
            t_raw_set(raw, mk1, "v:9999999:garbage", 17);
            break;
        case T_FLIP_PAYLOAD: /* the last payload byte, before the MAC */
            v1[l1 - 33] ^= 0x01;
            t_raw_set(raw, mk1, v1, l1);
            break;
        case T_FLIP_EXPIRY: /* a much later expiry in the frame header */
            v1[9] ^= 0x10;
            t_raw_set(raw, mk1, v1, l1);
            break;
        case T_TRUNCATE:
            t_raw_set(raw, mk1, v1, l1 - 5);
            break;
        case T_OTHER_MODE: { /* written by a node with the other MAC setting */
            ks_cache *o = t_cache(modes[1 - rows[i].hmac], &mc->port, 1);
            t_src so = {0};
            atomic_store(&so.expiry, 5000);
            memcached_delete(raw, mk1, strlen(mk1), 0);
            CHECK(t_get(o, &so, k1, 100, NULL) == KS_OK, "%s: written", rows[i].name);
            ks_cache_free(o);
            break;
        }
        default:
            CHECK(0, "row %zu: unknown attack", i);
        }
        free(v1);
        free(v2);
        ks_cache *r = t_cache(cfg, &mc->port, 1);
        ks_cache_ops ops = t_ops(&s);
        ks_cache_entry *e = NULL;
        ks_cache_tier t = (ks_cache_tier)-1;
        int fetches = atomic_load(&s.fetches);
        ks_result res = ks_cache_get(r, k1, &ops, 100, &e, &t);
        CHECK(res == KS_OK && t_obj_ok(ks_cache_entry_obj(e), k1, 0), "%s: k1's own object (%s)", rows[i].name,
              ks_result_name(res));
        ks_cache_stats st = t_stats(r);
        if (rows[i].refused) {
            CHECK(t == KS_TIER_NETWORK && st.rejected == 1 && atomic_load(&s.fetches) == fetches + 1,
                  "%s: refused and refetched (%s, rejected %llu)", rows[i].name, t_tier(t), st.rejected);
        } else {
            CHECK(t == KS_TIER_MEMCACHED && st.rejected == 0 && ks_cache_entry_expires(e) == 5000,
                  "%s: decode's expiry bounds it (%s, expires %lld)", rows[i].name, t_tier(t),
                  (long long)ks_cache_entry_expires(e));
        }
        ks_cache_entry_release(e);
        ks_cache_free(r);
    }
    memcached_free(raw);
}

/* Without an HMAC key an altered payload is only caught by decode: make the
 * fake decode strict about the key for this one check. */
static void *t_decode_strict(void *arg, const char *key, const uint8_t *val, size_t len, time_t now, time_t *expires,
                             time_t *issued)
{
    t_obj *o = t_decode(arg, key, val, len, now, expires, issued);
    if (o != NULL && !t_obj_ok(o, key, ((t_src *)arg)->filler)) {
        t_free_obj(o);
        return NULL;
    }
    return o;
}

static void test_tamper_decode(const t_mc *mc)
{
    memcached_st *raw = t_raw(mc->port);
    char mk[72];
    t_mckey("tamper:decode", mk);
    ks_cache *w = t_cache("{" T_BASE "}", &mc->port, 1);
    t_src s = {0};
    atomic_store(&s.expiry, 5000);
    CHECK(t_get(w, &s, "tamper:decode", 100, NULL) == KS_OK, "seed");
    ks_cache_free(w);
    size_t l = 0;
    char *v = t_raw_get(raw, mk, &l);
    if (v != NULL) {
        v[l - 2] ^= 0x01; /* "tamper:decode|" -> the key in the payload changes */
        t_raw_set(raw, mk, v, l);
    }
    free(v);
    ks_cache *r = t_cache("{" T_BASE "}", &mc->port, 1);
    ks_cache_ops ops = {t_fetch, t_decode_strict, t_free_obj, &s};
    ks_cache_entry *e = NULL;
    ks_cache_tier t;
    ks_result res = ks_cache_get(r, "tamper:decode", &ops, 100, &e, &t);
    CHECK(res == KS_OK && t == KS_TIER_NETWORK && t_obj_ok(ks_cache_entry_obj(e), "tamper:decode", 0),
          "decode refused the altered item: %s %s", ks_result_name(res), t_tier(t));
    CHECK(t_stats(r).rejected == 1, "counted");
    ks_cache_entry_release(e);
    ks_cache_free(r);
    memcached_free(raw);
}


/*
 * Rollback (issue #18 item 3): an authentic frame saved by someone with
 * access to memcached and written back after the key held a newer object.
 * The process that loaded the newer one refuses the older frame before
 * decoding it (counted as rejected) and goes to the source; a frame whose
 * header names another issued time than its decoded object is refused too.
 */
static void test_rollback(const t_mc *mc)
{
    static const char *cfgs[] = {"{" T_BASE "}", "{" T_BASE ", " T_HMAC "}"};
    memcached_st *raw = t_raw(mc->port);
    for (size_t i = 0; i < 2; i++) {
        char key[32], mk[72];
        snprintf(key, sizeof key, "rollback:%zu", i);
        t_mckey(key, mk);
        ks_cache *a = t_cache(cfgs[i], &mc->port, 1);
        t_src s = {0};
        atomic_store(&s.expiry, 5000);
        atomic_store(&s.issued, 100);
        CHECK(t_get(a, &s, key, 100, NULL) == KS_OK, "%s: issued 100", cfgs[i]);
        size_t oldlen = 0;
        char *old = t_raw_get(raw, mk, &oldlen);
        CHECK(old != NULL, "%s: the old frame is saved", cfgs[i]);
        /* A newer object replaces it (the entry expired in memory). */
        atomic_store(&s.issued, 200);
        atomic_store(&s.expiry, 300);
        ks_cache *b = t_cache(cfgs[i], &mc->port, 1);
        memcached_delete(raw, mk, strlen(mk), 0);
        ks_cache_tier t;
        CHECK(t_get(b, &s, key, 200, &t) == KS_OK && t == KS_TIER_NETWORK, "%s: issued 200 from the source", cfgs[i]);
        /* Written back once the newer one expired: b refuses it unread. */
        CHECK(old != NULL && t_raw_set(raw, mk, old, oldlen), "%s: old frame written back", cfgs[i]);
        atomic_store(&s.issued, 400);
        atomic_store(&s.expiry, 5000);
        int decodes = atomic_load(&s.decodes);
        unsigned long long rej = t_stats(b).rejected;
        ks_cache_entry *e = NULL;
        ks_cache_ops ops = t_ops(&s);
        ks_result r = ks_cache_get(b, key, &ops, 350, &e, &t);
        const t_obj *o = e ? ks_cache_entry_obj(e) : NULL;
        CHECK(r == KS_OK && t == KS_TIER_NETWORK && o != NULL && o->issued == 400,
              "%s: the old frame is not served: %s %s", cfgs[i], ks_result_name(r), t_tier(t));
        CHECK(t_stats(b).rejected == rej + 1, "%s: counted as rejected", cfgs[i]);
        CHECK(atomic_load(&s.decodes) == decodes + 1, "%s: refused before decoding (only the fetch was decoded)",
              cfgs[i]);
        ks_cache_entry_release(e);
        /* A frame whose header lies about the issued time (no HMAC key:
         * anyone can rewrite it) is refused once decoded. */
        if (i == 0 && old != NULL && oldlen > 24) {
            ks_cache *c = t_cache(cfgs[i], &mc->port, 1);
            memset(old + 16, 0x7f, 1); /* issued: far in the future */
            CHECK(t_raw_set(raw, mk, old, oldlen), "forged header written");
            rej = t_stats(c).rejected;
            CHECK(t_get(c, &s, key, 350, &t) == KS_OK && t == KS_TIER_NETWORK, "forged issued time: refetched");
            CHECK(t_stats(c).rejected == rej + 1, "forged issued time: counted");
            ks_cache_free(c);
        }
        free(old);
        ks_cache_free(a);
        ks_cache_free(b);
    }
    memcached_free(raw);
}

/* Values over memcached's 1 MiB item size go in chunks and come back. */
static void test_chunks(const t_mc *mc)
{
    static const char *cfgs[] = {"{" T_BASE "}", "{" T_BASE ", " T_HMAC "}"};
    memcached_st *raw = t_raw(mc->port);
    for (size_t i = 0; i < 2; i++) {
        char key[32];
        snprintf(key, sizeof key, "chunks:%zu", i);
        ks_cache *a = t_cache(cfgs[i], &mc->port, 1), *b = t_cache(cfgs[i], &mc->port, 1);
        t_src s = {0};
        s.filler = 3 * 1024 * 1024 + 12345;
        atomic_store(&s.expiry, 5000);
        ks_cache_tier t;
        CHECK(t_get(a, &s, key, 100, &t) == KS_OK && t == KS_TIER_NETWORK, "a: %s", t_tier(t));
        CHECK(t_get(b, &s, key, 100, &t) == KS_OK && t == KS_TIER_MEMCACHED, "b: %s", t_tier(t));
        CHECK(atomic_load(&s.fetches) == 1, "big value from memcached: %d fetches", atomic_load(&s.fetches));
        CHECK(t_stats(a).memcached_errors == 0, "no memcached error storing chunks");
        ks_cache_free(b);
        /* Alter one byte of the second chunk: refused, refetched. */
        char mk[72];
        t_mckey(key, mk);
        size_t ml = 0;
        char *man = t_raw_get(raw, mk, &ml);
        CHECK(man != NULL && ml >= 60 + 64 && man[4] == 2, "a manifest is stored");
        if (man != NULL && ml >= 60 + 64) {
            char ck[128], gen[33];
            for (int j = 0; j < 16; j++)
                snprintf(gen + 2 * j, 3, "%02x", (unsigned char)man[60 + 16 + j]);
            snprintf(ck, sizeof ck, "%s:%s:1", mk, gen);
            size_t cl = 0;
            char *chunk = t_raw_get(raw, ck, &cl);
            CHECK(chunk != NULL && cl > 1000000, "chunk 1 stored (%zu bytes)", cl);
            if (chunk != NULL) {
                chunk[100] ^= 0x40;
                t_raw_set(raw, ck, chunk, cl);
            }
            free(chunk);
        }
        free(man);
        b = t_cache(cfgs[i], &mc->port, 1);
        CHECK(t_get(b, &s, key, 100, &t) == KS_OK && t == KS_TIER_NETWORK, "altered chunk: %s", t_tier(t));
        CHECK(t_stats(b).rejected == 1, "altered chunk rejected: %llu", t_stats(b).rejected);
        ks_cache_free(b);
        ks_cache_free(a);
    }
    memcached_free(raw);
}

/* A failing fetch is remembered for negative_ttl_s; never a value. */
static void test_negative(void)
{
    static const struct {
        time_t now;
        int fail, garbage;
        ks_result want;
        int fetches;
    } rows[] = {
        {100, 1, 0, KS_E_UNAVAILABLE, 1},
        {110, 1, 0, KS_E_UNAVAILABLE, 1}, /* within 30 s: no fetch */
        {129, 0, 0, KS_E_UNAVAILABLE, 1}, /* source fixed, window still open */
        {130, 0, 0, KS_OK, 2},
        {131, 0, 0, KS_OK, 2},
    };
    ks_cache *c = t_cache("{" T_BASE "}", NULL, 0);
    t_src s = {0};
    atomic_store(&s.expiry, 5000);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        atomic_store(&s.fail, rows[i].fail);
        ks_result r = t_get(c, &s, "neg:k", rows[i].now, NULL);
        CHECK(r == rows[i].want, "row %zu: %s", i, ks_result_name(r));
        CHECK(atomic_load(&s.fetches) == rows[i].fetches, "row %zu: %d fetches", i, atomic_load(&s.fetches));
    }
    ks_cache_stats st = t_stats(c);
    CHECK(st.negative_hits == 2 && st.fetch_errors == 1, "negative hits %llu, fetch errors %llu", st.negative_hits,
          st.fetch_errors);
    /* Bytes decode refuses: rejected and negatively cached as well. */
    atomic_store(&s.garbage, 1);
    CHECK(t_get(c, &s, "neg:garbage", 100, NULL) == KS_E_UNAVAILABLE, "garbage refused");
    CHECK(t_get(c, &s, "neg:garbage", 101, NULL) == KS_E_UNAVAILABLE, "garbage remembered");
    st = t_stats(c);
    CHECK(st.rejected == 1 && atomic_load(&s.fetches) == 3, "rejected %llu fetches %d", st.rejected,
          atomic_load(&s.fetches));
    ks_cache_free(c);
    /* negative_ttl_s 0: every miss fetches. */
    c = t_cache("{" T_BASE ", \"negative_ttl_s\": 0}", NULL, 0);
    t_src s2 = {0};
    atomic_store(&s2.fail, 1);
    t_get(c, &s2, "neg:off", 100, NULL);
    t_get(c, &s2, "neg:off", 100, NULL);
    CHECK(atomic_load(&s2.fetches) == 2, "no negative cache when off");
    ks_cache_free(c);
}

/* LRU bounded by entries and by bytes; readers keep evicted objects. */
static void test_lru(void)
{
    ks_cache *c = t_cache("{" T_BASE ", \"max_entries\": 3}", NULL, 0);
    t_src s = {0};
    atomic_store(&s.expiry, 5000);
    ks_cache_ops ops = t_ops(&s);
    ks_cache_entry *held = NULL;
    CHECK(ks_cache_get(c, "lru:1", &ops, 100, &held, NULL) == KS_OK, "k1");
    t_get(c, &s, "lru:2", 100, NULL);
    t_get(c, &s, "lru:3", 100, NULL);
    ks_cache_tier t;
    CHECK(t_get(c, &s, "lru:1", 100, &t) == KS_OK && t == KS_TIER_MEMORY, "k1 touched");
    t_get(c, &s, "lru:4", 100, NULL); /* evicts k2, the least recently used */
    ks_cache_stats st = t_stats(c);
    CHECK(st.entries == 3 && st.evictions == 1, "entries %zu evictions %llu", st.entries, st.evictions);
    CHECK(t_get(c, &s, "lru:1", 100, &t) == KS_OK && t == KS_TIER_MEMORY, "k1 kept: %s", t_tier(t));
    CHECK(t_get(c, &s, "lru:2", 100, &t) == KS_OK && t == KS_TIER_NETWORK, "k2 evicted: %s", t_tier(t));
    /* Push k1 out while we still hold it: the object must stay valid. */
    t_get(c, &s, "lru:5", 100, NULL);
    t_get(c, &s, "lru:6", 100, NULL);
    t_get(c, &s, "lru:7", 100, NULL);
    CHECK(t_obj_ok(ks_cache_entry_obj(held), "lru:1", 0), "held object survives eviction");
    ks_cache_entry_release(held);
    ks_cache_free(c);

    /* Bytes: values of ~3000 bytes under max_bytes 8192 -> two fit. */
    c = t_cache("{" T_BASE ", \"max_bytes\": 8192}", NULL, 0);
    s.filler = 3000;
    for (int i = 0; i < 6; i++) {
        char k[32];
        snprintf(k, sizeof k, "lrub:%d", i);
        t_get(c, &s, k, 100, NULL);
        st = t_stats(c);
        CHECK(st.bytes <= 8192, "bytes %zu within the bound", st.bytes);
    }
    st = t_stats(c);
    CHECK(st.entries == 2 && st.evictions == 4, "entries %zu evictions %llu", st.entries, st.evictions);
    /* A value larger than max_bytes is served but not kept. */
    s.filler = 9000;
    CHECK(t_get(c, &s, "lrub:huge", 100, NULL) == KS_OK, "huge served");
    CHECK(t_get(c, &s, "lrub:huge", 100, &t) == KS_OK && t == KS_TIER_NETWORK, "huge not kept: %s", t_tier(t));
    ks_cache_free(c);
}

/* A hot entry near expiry is refreshed in the background. */
static void test_refresh(const t_mc *mc)
{
    ks_cache *c = t_cache("{\"memcached_timeout_ms\": 1000, \"refresh_ahead_s\": 100}", &mc->port, 1);
    t_src s = {0};
    atomic_store(&s.expiry, 1000);
    ks_cache_tier t;
    CHECK(t_get(c, &s, "refresh:k", 100, &t) == KS_OK && t == KS_TIER_NETWORK, "load");
    CHECK(t_get(c, &s, "refresh:k", 800, &t) == KS_OK && t == KS_TIER_MEMORY, "hit far from expiry");
    t_sleep_ms(50);
    CHECK(atomic_load(&s.fetches) == 1, "no refresh far from expiry");
    atomic_store(&s.expiry, 2000);
    CHECK(t_get(c, &s, "refresh:k", 950, &t) == KS_OK && t == KS_TIER_MEMORY, "hit near expiry served at once");
    long long t0 = t_ms();
    while (t_stats(c).refreshes < 1 && t_ms() - t0 < 5000)
        t_sleep_ms(5);
    CHECK(t_stats(c).refreshes == 1 && atomic_load(&s.fetches) == 2, "refreshed: %llu, %d fetches",
          t_stats(c).refreshes, atomic_load(&s.fetches));
    ks_cache_entry *e = NULL;
    ks_cache_ops ops = t_ops(&s);
    CHECK(ks_cache_get(c, "refresh:k", &ops, 1500, &e, &t) == KS_OK && t == KS_TIER_MEMORY &&
              ks_cache_entry_expires(e) == 2000,
          "after the old expiry the refreshed entry is served from memory: %s %lld", t_tier(t),
          (long long)ks_cache_entry_expires(e));
    ks_cache_entry_release(e);
    CHECK(atomic_load(&s.fetches) == 2, "no fetch at the old expiry");
    /* Another node near expiry takes the refreshed value from memcached. */
    ks_cache *b = t_cache("{\"memcached_timeout_ms\": 1000, \"refresh_ahead_s\": 100}", &mc->port, 1);
    CHECK(t_get(b, &s, "refresh:k", 1950, &t) == KS_OK && t == KS_TIER_MEMCACHED, "b: %s", t_tier(t));
    ks_cache_free(b);
    /* A failing refresh keeps the current entry until its expiry. */
    atomic_store(&s.fail, 1);
    CHECK(t_get(c, &s, "refresh:k", 1960, &t) == KS_OK && t == KS_TIER_MEMORY, "hit while refresh fails");
    t0 = t_ms();
    while (atomic_load(&s.fetches) < 3 && t_ms() - t0 < 5000)
        t_sleep_ms(5);
    t_sleep_ms(20);
    CHECK(t_get(c, &s, "refresh:k", 1970, &t) == KS_OK && t == KS_TIER_MEMORY, "still served after failed refresh");
    CHECK(t_get(c, &s, "refresh:k", 2000, NULL) == KS_E_UNAVAILABLE, "never after expiry");
    ks_cache_free(c);
}

/* Two servers, consistent hashing: keys spread over both, and another
 * instance finds every key where the first one put it. */
static void test_two_servers(t_mc *m1, const t_mc *m2)
{
    enum { N = 40 };
    int ports[2] = {m1->port, m2->port};
    ks_cache *a = t_cache("{" T_BASE "}", ports, 2), *b = t_cache("{" T_BASE "}", ports, 2);
    t_src s = {0};
    atomic_store(&s.expiry, 5000);
    memcached_st *r1 = t_raw(m1->port), *r2 = t_raw(m2->port);
    int on1 = 0, on2 = 0, from_mc = 0;
    for (int i = 0; i < N; i++) {
        char k[32], mk[72];
        snprintf(k, sizeof k, "spread:%d", i);
        t_get(a, &s, k, 100, NULL);
        t_mckey(k, mk);
        size_t l;
        char *v1 = t_raw_get(r1, mk, &l), *v2 = t_raw_get(r2, mk, &l);
        on1 += v1 != NULL;
        on2 += v2 != NULL;
        free(v1);
        free(v2);
        ks_cache_tier t;
        from_mc += t_get(b, &s, k, 100, &t) == KS_OK && t == KS_TIER_MEMCACHED;
    }
    CHECK(on1 > 0 && on2 > 0 && on1 + on2 == N, "spread: %d on server 1, %d on server 2", on1, on2);
    CHECK(from_mc == N, "the other instance found %d of %d keys", from_mc, N);
    CHECK(atomic_load(&s.fetches) == N, "%d fetches", atomic_load(&s.fetches));

    /* Server 1 dies and returns: an instance that saw it die and a fresh
     * one both use it again (no key stays moved to server 2). */
    t_mc_stop(m1, SIGKILL);
    t_get(a, &s, "spread:dead", 100, NULL);
    t_get(a, &s, "spread:dead2", 100, NULL);
    CHECK(t_mc_start(m1), "server 1 restarted");
    memcached_free(r1);
    r1 = t_raw(m1->port);
    t_sleep_ms(300); /* past memcached_backoff_ms */
    ks_cache *g = t_cache("{" T_BASE "}", ports, 2);
    int g1 = 0, g2 = 0, a1 = 0, a2 = 0;
    for (int i = 0; i < N; i++) {
        char k[32], mk[72];
        size_t l;
        snprintf(k, sizeof k, "respread:g:%d", i);
        t_get_ok(g, &s, k, 100);
        t_mckey(k, mk);
        char *v1 = t_raw_get(r1, mk, &l), *v2 = t_raw_get(r2, mk, &l);
        g1 += v1 != NULL;
        g2 += v2 != NULL;
        free(v1);
        free(v2);
        snprintf(k, sizeof k, "respread:a:%d", i);
        t_get_ok(a, &s, k, 100);
        t_mckey(k, mk);
        v1 = t_raw_get(r1, mk, &l);
        v2 = t_raw_get(r2, mk, &l);
        a1 += v1 != NULL;
        a2 += v2 != NULL;
        free(v1);
        free(v2);
    }
    /* The old instance retries the server once its back-off (and
     * libmemcached's retry timeout, whole seconds) has passed: bounded wait. */
    for (int round = 0; a1 == 0 && round < 50; round++) {
        t_sleep_ms(100);
        char k[40], mk[72];
        size_t l;
        snprintf(k, sizeof k, "respread:a2:%d", round);
        t_get_ok(a, &s, k, 100);
        t_mckey(k, mk);
        char *v1 = t_raw_get(r1, mk, &l);
        a1 += v1 != NULL;
        free(v1);
    }
    CHECK(g1 > 0 && g2 > 0, "after the restart a fresh instance spreads: %d and %d", g1, g2);
    CHECK(a1 > 0 && a2 > 0, "after the restart the old instance spreads: %d and %d", a1, a2);
    ks_cache_free(g);
    memcached_free(r1);
    memcached_free(r2);
    ks_cache_free(a);
    ks_cache_free(b);
}

/* Issue 22 item 4: one of three memcached servers dies.  Its keys must move
 * to the live servers, the same ones for every node, so the responder is
 * asked once per key (the node that first misses), not once per node; when
 * it returns it gets its keys back.  Each fresh cache is a new node. */
static int t_fetch_all(ks_cache *c, t_src *s, const char *prefix, int n)
{
    int before = atomic_load(&s->fetches), ok = 0;
    for (int i = 0; i < n; i++) {
        char k[40];
        snprintf(k, sizeof k, "%s:%d", prefix, i);
        ok += t_get_ok(c, s, k, 100);
    }
    CHECK(ok == n, "%s: %d of %d served", prefix, ok, n);
    return atomic_load(&s->fetches) - before;
}

static void test_failover(t_mc *m1, const t_mc *m2)
{
    enum { N = 60 };
    t_mc m3 = {0};
    if (!t_mc_start(&m3)) {
        CHECK(0, "a third memcached");
        return;
    }
    int ports[3] = {m1->port, m2->port, m3.port};
    /* memcached_backoff_ms 1000: libmemcached's RETRY_TIMEOUT of 1 s */
#define T_FO "{\"memcached_timeout_ms\": 1000, \"memcached_backoff_ms\": 1000, \"refresh_ahead_s\": 0}"
    t_src s = {0};
    atomic_store(&s.expiry, 5000);
    ks_cache *a = t_cache(T_FO, ports, 3);
    CHECK(t_fetch_all(a, &s, "fo", N) == N, "node A fetched each key once");
    memcached_st *r3 = t_raw(m3.port);
    int on3 = 0;
    for (int i = 0; i < N; i++) {
        char k[40], mk[72];
        size_t l;
        snprintf(k, sizeof k, "fo:%d", i);
        t_mckey(k, mk);
        char *v = t_raw_get(r3, mk, &l);
        on3 += v != NULL;
        free(v);
    }
    memcached_free(r3);
    CHECK(on3 > 0 && on3 < N, "server 3 held %d of %d keys", on3, N);

    t_mc_stop(&m3, SIGKILL);
    long long t0 = t_ms();
    ks_cache *b = t_cache(T_FO, ports, 3);
    int fb = t_fetch_all(b, &s, "fo", N);
    CHECK(fb == on3, "node B, server 3 dead: fetched %d (server 3's %d keys only)", fb, on3);
    ks_cache *c = t_cache(T_FO, ports, 3);
    int fc = t_fetch_all(c, &s, "fo", N);
    CHECK(fc == 0, "node C: %d fetches (server 3's keys now live on servers 1 and 2)", fc);
    CHECK(t_ms() - t0 < 3000, "a dead server costs no stall: %lld ms for 2 x %d lookups", t_ms() - t0, N);

    /* It returns (empty): after the retry timeout its keys go back to it. */
    m3.pid = 0;
    CHECK(t_mc_start(&m3), "server 3 restarted on port %d", m3.port);
    t_sleep_ms(2100); /* past RETRY_TIMEOUT (whole seconds) and the back-off */
    ks_cache *d = t_cache(T_FO, ports, 3);
    int fd = t_fetch_all(d, &s, "fo", N);
    CHECK(fd == on3, "node D, server 3 back and empty: %d fetches (its %d keys)", fd, on3);
    r3 = t_raw(m3.port);
    int back = 0;
    for (int i = 0; i < N; i++) {
        char k[40], mk[72];
        size_t l;
        snprintf(k, sizeof k, "fo:%d", i);
        t_mckey(k, mk);
        char *v = t_raw_get(r3, mk, &l);
        back += v != NULL;
        free(v);
    }
    memcached_free(r3);
    CHECK(back == on3, "server 3 holds its %d keys again (%d)", on3, back);
    /* Node B saw it die: once its retry timeout passed it uses it again. */
    int fb2 = t_fetch_all(b, &s, "fo2", N);
    ks_cache *e = t_cache(T_FO, ports, 3);
    int fe = t_fetch_all(e, &s, "fo2", N);
    CHECK(fb2 == N && fe == 0, "node B after the return: %d fetches, a fresh node then %d", fb2, fe);
#undef T_FO
    ks_cache_free(a);
    ks_cache_free(b);
    ks_cache_free(c);
    ks_cache_free(d);
    ks_cache_free(e);
    t_mc_stop(&m3, SIGTERM);
}

/* memcached killed, then stopped (slow), then back: no errors, no stalls. */
static void test_down(t_mc *mc)
{
    ks_cache *c = t_cache("{\"memcached_timeout_ms\": 100, \"memcached_backoff_ms\": 200, \"refresh_ahead_s\": 0}",
                          &mc->port, 1);
    t_src s = {0};
    atomic_store(&s.expiry, 5000);
    ks_cache_tier t;
    CHECK(t_get(c, &s, "down:0", 100, &t) == KS_OK && t_stats(c).memcached_up == 1, "up at first");

    t_mc_stop(mc, SIGKILL);
    long long t0 = t_ms();
    CHECK(t_get(c, &s, "down:1", 100, &t) == KS_OK && t == KS_TIER_NETWORK, "served with memcached dead: %s",
          t_tier(t));
    long long el = t_ms() - t0;
    CHECK(el < 500, "no stall: %lld ms", el);
    ks_cache_stats st = t_stats(c);
    CHECK(st.memcached_up == 0 && st.memcached_errors >= 1, "stats say down: up %d errors %llu", st.memcached_up,
          st.memcached_errors);
    CHECK(t_get(c, &s, "down:0", 100, &t) == KS_OK && t == KS_TIER_MEMORY, "memory still serves");
    t0 = t_ms();
    int many_ok = 0;
    for (int j = 0; j < 50; j++) {
        char km[32];
        snprintf(km, sizeof km, "down:many:%d", j);
        many_ok += t_get_ok(c, &s, km, 100);
    }
    CHECK(many_ok == 50, "%d of 50 served with memcached dead", many_ok);
    el = t_ms() - t0;
    CHECK(el < 2000, "50 misses with memcached dead took %lld ms", el);

    CHECK(t_mc_start(mc), "memcached restarted on port %d", mc->port);
    t0 = t_ms();
    int i = 0, bad = 0;
    char k[32] = "";
    while (t_ms() - t0 < 10000) {
        snprintf(k, sizeof k, "down:back:%d", i++);
        bad += !t_get_ok(c, &s, k, 100);
        if (t_stats(c).memcached_up)
            break;
        t_sleep_ms(50);
    }
    CHECK(t_stats(c).memcached_up == 1 && bad == 0, "memcached back after %lld ms, %d bad answers", t_ms() - t0, bad);
    ks_cache *b = t_cache("{" T_BASE "}", &mc->port, 1);
    snprintf(k, sizeof k, "down:after");
    t_get(c, &s, k, 100, NULL);
    CHECK(t_get(b, &s, k, 100, &t) == KS_OK && t == KS_TIER_MEMCACHED, "stores again after return: %s", t_tier(t));
    ks_cache_free(b);

    /* Slow: the server stops answering (SIGSTOP) -> timeouts, not stalls. */
    t_mc_stop(mc, SIGSTOP);
    t0 = t_ms();
    CHECK(t_get(c, &s, "down:slow", 100, &t) == KS_OK && t == KS_TIER_NETWORK, "served while memcached hangs");
    el = t_ms() - t0;
    CHECK(el < 1000, "hung memcached cost %lld ms", el);
    CHECK(t_stats(c).memcached_up == 0, "hung memcached reported down");
    t0 = t_ms();
    for (int j = 0; j < 20; j++) {
        snprintf(k, sizeof k, "down:slow:%d", j);
        t_get(c, &s, k, 100, NULL);
    }
    el = t_ms() - t0;
    CHECK(el < 1500, "20 misses while memcached hangs took %lld ms", el);
    kill(mc->pid, SIGCONT);
    t0 = t_ms();
    bad = 0;
    while (t_ms() - t0 < 10000) {
        snprintf(k, sizeof k, "down:cont:%d", i++);
        bad += !t_get_ok(c, &s, k, 100);
        if (t_stats(c).memcached_up)
            break;
        t_sleep_ms(50);
    }
    CHECK(t_stats(c).memcached_up == 1 && bad == 0, "back after SIGCONT, %d bad answers", bad);
    ks_cache_free(c);
}

/* A drop rule for ks_cache_purge: keys starting with arg, and failures. */
static int t_drop_prefix(void *arg, const char *key, const void *obj)
{
    return obj == NULL || strncmp(key, arg, strlen(arg)) == 0;
}

/*
 * Sharing across a reload (issue 22, item 5): the same settings are
 * recognised (and another key, another server or another limit are not);
 * a purge drops what its rule says and nothing else; a load begun in the
 * epoch before a purge is answered to its caller but not kept; a refresh
 * replaces an entry only with what decode accepted, and a failed one
 * leaves the entry served.  Rows: key, ops epoch (0 current, 1 the old
 * one), time, expected tier.
 */
static void test_reload_sharing(void)
{
    ks_cache *c = t_cache("{" T_BASE ", " T_HMAC "}", NULL, 0);
    if (c == NULL)
        return;
    static const struct {
        const char *json;
        int same;
    } cfgs[] = {
        {"{" T_BASE ", " T_HMAC "}", 1},
        {"{" T_BASE "}", 0},
        {"{" T_BASE ", \"hmac_key\": \"ff0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\"}", 0},
        {"{" T_BASE ", " T_HMAC ", \"max_entries\": 5}", 0},
        {"{\"bogus\": 1}", 0},
    };
    for (size_t i = 0; i < sizeof cfgs / sizeof cfgs[0]; i++) {
        cJSON *sec = cJSON_Parse(cfgs[i].json);
        CHECK(ks_cache_same_config(c, sec, NULL, 0) == cfgs[i].same, "same_config %s", cfgs[i].json);
        cJSON_Delete(sec);
    }
    char *one[] = {"127.0.0.1:1"};
    cJSON *sec = cJSON_Parse("{" T_BASE ", " T_HMAC "}");
    CHECK(!ks_cache_same_config(c, sec, one, 1), "same_config: a server more is another cache");
    cJSON_Delete(sec);

    t_src s = {0};
    atomic_store(&s.expiry, 5000);
    ks_cache_tier t;
    CHECK(t_get(c, &s, "a:1", 100, &t) == KS_OK && t == KS_TIER_NETWORK, "a:1 loaded");
    CHECK(t_get(c, &s, "b:1", 100, &t) == KS_OK && t == KS_TIER_NETWORK, "b:1 loaded");
    atomic_store(&s.fail, 1);
    CHECK(t_get(c, &s, "b:neg", 100, NULL) == KS_E_UNAVAILABLE, "b:neg remembered as failed");
    atomic_store(&s.fail, 0);
    uint64_t old = ks_cache_epoch(c);
    CHECK(ks_cache_purge(c, t_drop_prefix, "a:") == 2, "purge drops a:1 and the failure");
    CHECK(ks_cache_epoch(c) == old + 1, "purge starts an epoch");
    int f0 = atomic_load(&s.fetches);
    CHECK(t_get(c, &s, "b:1", 101, &t) == KS_OK && t == KS_TIER_MEMORY, "b:1 kept");
    CHECK(t_get(c, &s, "b:neg", 101, &t) == KS_OK && t == KS_TIER_NETWORK, "the failure was dropped");
    /* The old epoch's load of a:1: answered, not kept. */
    ks_cache_ops ops = t_ops(&s);
    ops.epoch = old;
    ks_cache_entry *e = NULL;
    CHECK(ks_cache_get(c, "a:1", &ops, 102, &e, &t) == KS_OK && e != NULL && t == KS_TIER_NETWORK,
          "old epoch: answered from the network");
    ks_cache_entry_release(e);
    e = NULL;
    CHECK(ks_cache_get(c, "b:1", &ops, 102, &e, &t) == KS_OK && t == KS_TIER_MEMORY, "old epoch: memory still read");
    ks_cache_entry_release(e);
    CHECK(t_get(c, &s, "a:1", 103, &t) == KS_OK && t == KS_TIER_NETWORK, "old epoch's load was not kept");
    CHECK(atomic_load(&s.fetches) == f0 + 3, "fetches %d (want %d)", atomic_load(&s.fetches), f0 + 3);
    CHECK(ks_cache_purge(c, NULL, NULL) == 3, "purge all");
    CHECK(t_stats(c).entries == 0, "nothing left");

    /* Refresh: a newer value replaces, a failed or refused one does not. */
    CHECK(t_get(c, &s, "r:1", 100, NULL) == KS_OK, "r:1 loaded");
    time_t exp = 0, iss = 0;
    CHECK(ks_cache_peek(c, "r:1", 100, &exp, &iss) && exp == 5000, "peek: expires %lld", (long long)exp);
    static const struct {
        int fail, garbage;
        long long expiry;
        ks_result want;
        long long held;
    } rows[] = {
        {1, 0, 9000, KS_E_UNAVAILABLE, 5000}, /* fetch failed: kept */
        {0, 1, 9000, KS_E_UNAVAILABLE, 5000}, /* refused by decode: kept */
        {0, 0, 9000, KS_OK, 9000},            /* newer: replaces */
        {0, 0, 90, KS_E_UNAVAILABLE, 9000},   /* already stale at now: kept */
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        atomic_store(&s.fail, rows[i].fail);
        atomic_store(&s.garbage, rows[i].garbage);
        atomic_store(&s.expiry, rows[i].expiry);
        ks_cache_ops ro = t_ops(&s);
        ks_result r = ks_cache_refresh(c, "r:1", &ro, 110, NULL);
        CHECK(r == rows[i].want, "refresh row %zu: %s", i, ks_result_name(r));
        CHECK(ks_cache_peek(c, "r:1", 110, &exp, &iss) && exp == rows[i].held, "refresh row %zu: holds %lld", i,
              (long long)exp);
    }
    /* A second reference keeps the cache alive after the first is dropped. */
    ks_cache *again = ks_cache_ref(c);
    ks_cache_free(c);
    atomic_store(&s.fail, 0);
    atomic_store(&s.garbage, 0);
    CHECK(t_get(again, &s, "r:1", 111, &t) == KS_OK && t == KS_TIER_MEMORY, "shared: still served");
    ks_cache_forget(again, &s);
    ks_cache_free(again);
}

int main(void)
{
    alarm(300); /* the whole program is bounded */
    signal(SIGPIPE, SIG_IGN);
    test_config();
    test_negative();
    test_lru();
    test_waiter_clock();
    test_reload_sharing();

    t_mc m1 = {0}, m2 = {0};
    int up = t_mc_start(&m1) && t_mc_start(&m2);
    CHECK(up, "memcached (is it installed? tests/install-deps.sh) on ports %d and %d", m1.port, m2.port);
    if (up) {
        test_two_instances(&m1);
        test_expiry(&m1);
        test_stampede(&m1);
        test_cross_lock(&m1);
        test_tamper(&m1);
        test_tamper_decode(&m1);
        test_rollback(&m1);
        test_chunks(&m1);
        test_refresh(&m1);
        test_two_servers(&m1, &m2);
        test_failover(&m1, &m2);
        test_down(&m1);
    }
    t_mc_stop(&m1, SIGTERM);
    t_mc_stop(&m2, SIGTERM);
    return t_done("test_cache");
}
