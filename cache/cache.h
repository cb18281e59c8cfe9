/*
 * cache/cache.h - the two-tier cache for revocation evidence (in-process +
 * memcached) in front of an authoritative fetch (OCSP/CRL over HTTP).
 *
 * Tiers, in the order a lookup tries them
 *   KS_TIER_MEMORY     a bounded LRU shared by the threads of one process
 *                      (max_entries, max_bytes), with expiry;
 *   KS_TIER_MEMCACHED  shared by every process and node, consistent hashing
 *                      over the configured servers;
 *   KS_TIER_NETWORK    ops->fetch, the authoritative source.
 *
 * Trust
 *   Nothing read back from memcached is trusted.  Values are framed (version,
 *   kind, expiry, issued time, SHA-256 of the cache key, length) and, when an HMAC key is
 *   configured, carry HMAC-SHA256 over (memcached key || frame), so an entry
 *   moved from another key or altered is rejected.  In every case the bytes
 *   then go through ops->decode, which must re-verify the CA-signed object
 *   at `now`.  A rejected entry is counted (stats.rejected), discarded and
 *   refetched.  An entry is served only while now < its expiry (the earliest
 *   of decode's *expires, the frame's expiry and now + max_ttl_s at fetch).
 *
 * Rollback
 *   An authenticated frame is still an old one if someone saved it and
 *   writes it back.  decode reports when the object was issued (*issued:
 *   thisUpdate of an OCSP answer or CRL); the frame carries it, and the
 *   cache remembers per key the newest issued time it has loaded, so an
 *   older frame is refused (stats.rejected) before it is decoded, and a
 *   frame whose decoded object says otherwise than its header is refused
 *   after.  The memory is bounded (a direct-mapped table of 2 x max_entries
 *   keys, at least 1024): a key that loses its slot is then guarded only by
 *   ops->decode, which must stay the authority (verify/ keeps its own
 *   record per certificate and CRL scope).  Nothing here helps a process
 *   that never loaded the newer object: that is bounded by decode's
 *   *expires alone (README "Cache").
 *
 * Stampedes
 *   Concurrent misses for one key in a process make exactly one load (the
 *   others wait, bounded by wait_ms); across processes a short memcached
 *   `add` lock ("ks1:lock:" + SHA-256 of the key) lets one process fetch
 *   while the others poll memcached for at most lock_wait_ms.  A failed
 *   fetch is remembered for negative_ttl_s (KS_E_UNAVAILABLE, no refetch).
 *   A hit within refresh_ahead_s of expiry is refreshed in the background.
 *
 * memcached down or slow
 *   Operations time out after memcached_timeout_ms; a failing server is then
 *   skipped for memcached_backoff_ms and lookups carry on from memory and
 *   the network.  stats.memcached_up says whether every server answered
 *   its last operation (readiness: degraded when 0).
 *
 * Reloads
 *   A reload (kensho-fcgi's SIGHUP) whose cache settings and servers are
 *   the same (ks_cache_same_config) keeps the cache: the new context takes
 *   a reference (ks_cache_ref) instead of starting cold, so a rolling
 *   reload does not send every node to memcached and the responders at
 *   once.  What a change of the rules could make wrong is dropped
 *   (ks_cache_purge); loads and refreshes begun before the purge, for the
 *   old rules, are answered to their own caller but never enter the table
 *   (an epoch: ops.epoch, ks_cache_epoch).  A context that goes away first
 *   withdraws its queued refreshes (ks_cache_forget), whose ops->arg it is.
 *
 * Lifetimes and threads
 *   ks_cache    one per process, shared by every thread and by the contexts
 *               of successive reloads (reference counted); the last
 *               ks_cache_free (NULL ok) joins the refresh threads.  Every
 *               entry obtained must be released before the last one.
 *   entries     reference counted: an object stays valid until released,
 *               even if evicted or replaced meanwhile.  Objects are shared
 *               between threads: treat them as read-only.
 *   ops         copied per call, but ops->arg (and the functions) must stay
 *               valid until ks_cache_free: a refresh-ahead may call fetch and
 *               decode from a background thread after ks_cache_get returned.
 *   keys        printable ASCII (0x21-0x7e), 1..1024 bytes.  The key space is
 *               shared by all ops: give each kind of object its own prefix
 *               ("ocsp:", "crl:").  Keys are hashed before they reach
 *               memcached, never logged.
 *
 * Clock
 *   Every expiry decision reads the caller's `now`; the cache only uses the
 *   monotonic clock for timeouts, back-off and waits.
 */
#ifndef KENSHO_CACHE_H
#define KENSHO_CACHE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "base.h"

typedef struct ks_cache ks_cache;
typedef struct ks_cache_entry ks_cache_entry;

typedef enum { KS_TIER_MEMORY, KS_TIER_MEMCACHED, KS_TIER_NETWORK } ks_cache_tier;

typedef struct {
    /* Fetches the authoritative bytes (e.g. an OCSP response over HTTP).
     * 0 ok (*val malloc'd, the cache frees it), -1 failure.  At most
     * cache.max_value_bytes are accepted. */
    int (*fetch)(void *arg, const char *key, uint8_t **val, size_t *len);
    /* Decodes and VERIFIES bytes, fresh from fetch or untrusted from
     * memcached, at time `now`.  Returns an object (NULL = reject: counted,
     * discarded, refetched) and sets *expires (absolute; the cache never
     * serves the object at or after that time) and *issued (absolute: when
     * the issuer made it; the cache never loads an object for a key older
     * than one it already loaded for it; 0 = unknown). */
    void *(*decode)(void *arg, const char *key, const uint8_t *val, size_t len, time_t now, time_t *expires,
                    time_t *issued);
    void (*free_obj)(void *obj); /* may be NULL */
    void *arg;
    /* The epoch (ks_cache_epoch) the caller's rules belong to; 0 = the
     * current one.  A load in an earlier epoch (a purge came since) is
     * returned to the caller but not kept, shared or refreshed. */
    uint64_t epoch;
} ks_cache_ops;

/*
 * Builds a cache.  `section` is the configuration's "cache" object (NULL:
 * defaults); `servers` the "memcached" list of "host:port" / "[v6]:port"
 * strings (may be empty: in-process tier only).  Keys of "cache":
 *
 *   max_entries          in-process entries (default 10000)
 *   max_bytes            in-process bytes, counted as value + key + overhead
 *                        (default 64 MiB)
 *   max_value_bytes      largest value fetched or read back (default 16 MiB)
 *   negative_ttl_s       how long a failed fetch is remembered (default 30;
 *                        0 disables); also the least interval between two
 *                        refreshes of one entry
 *   max_ttl_s            cap on how long a fetched value is kept, below its
 *                        own expiry (default 0: no cap)
 *   refresh_ahead_s      refresh hits this close to expiry (default 60; 0 off)
 *   refresh_threads      background refresh threads (default 2)
 *   refresh_queue        pending refreshes, beyond which none are queued
 *                        (default 256)
 *   wait_ms              longest wait for another thread's load (default 10000)
 *   hmac_key             hex or base64, >= 32 bytes; or
 *   hmac_key_file        a file holding the key as hex or base64 text
 *   memcached_timeout_ms connect/poll/send/receive timeout (default 50)
 *   memcached_backoff_ms how long a failing server is skipped (default 2000)
 *   memcached_pool_size  connections per process (default 16)
 *   memcached_chunk_bytes values above this are stored in chunks (default
 *                        1000000, under memcached's 1 MiB item size)
 *   lock_ttl_s           lifetime of the cross-process fetch lock (default 10)
 *   lock_wait_ms         how long a process that lost the lock polls
 *                        memcached before fetching itself (default 2000)
 *
 * Unknown keys, wrong types and out-of-range values are KS_E_CONFIG with
 * *errmsg (malloc'd, caller frees) naming the key ("cache.max_entries").
 * Servers need not be reachable: the cache starts degraded.
 */
ks_result ks_cache_new(const cJSON *section, char *const *servers, size_t nservers, ks_cache **out,
                       char **errmsg);
/* Another reference (a reloaded context sharing the cache); NULL ok. */
ks_cache *ks_cache_ref(ks_cache *c);
/* Drops a reference; the last one frees (NULL ok). */
void ks_cache_free(ks_cache *c);

/* 1 when ks_cache_new(section, servers, nservers) would build a cache with
 * exactly c's settings, HMAC key (compared by digest; a key file is read
 * again) and servers in the same order; 0 otherwise or when the section is
 * invalid. */
int ks_cache_same_config(const ks_cache *c, const cJSON *section, char *const *servers, size_t nservers);
/* The current epoch (>= 1). */
uint64_t ks_cache_epoch(ks_cache *c);
/* Removes the in-process entries for which drop(arg, key, obj) says 1 (obj
 * is NULL for a remembered failure), or every entry when drop is NULL;
 * drops the queued refreshes and starts a new epoch.  drop runs under the
 * cache's lock: it must not call back into the cache.  Returns how many
 * entries were removed.  memcached is not touched: what is read back from
 * it is verified again by the caller's decode. */
size_t ks_cache_purge(ks_cache *c, int (*drop)(void *arg, const char *key, const void *obj), void *arg);
/* Withdraws the queued refreshes whose ops.arg is `arg` and waits for the
 * ones running with it: called before `arg` is freed.  Not from a decode
 * or fetch callback. */
void ks_cache_forget(ks_cache *c, const void *arg);
/* 1 and the entry's expiry and issued time when a usable (positive,
 * unexpired at now) entry for key is held in process; 0 otherwise. */
int ks_cache_peek(ks_cache *c, const char *key, time_t now, time_t *expires, time_t *issued);
/* Loads key again now, in the caller's thread (a background refresher):
 * memcached's copy when it expires later than the one held, else the
 * network's, through ops->decode like any load.  KS_OK: the new entry
 * replaced the old one; otherwise (fetch failed, bytes refused, a load
 * already under way, a purge meanwhile) the entry held stays as it was. */
ks_result ks_cache_refresh(ks_cache *c, const char *key, const ks_cache_ops *ops, time_t now, ks_cache_tier *from);

/*
 * Returns a reference to the decoded object for `key` at time `now`; release
 * it with ks_cache_entry_release.  *from (may be NULL) says which tier
 * answered.  KS_E_UNAVAILABLE when the fetch failed or its bytes were
 * rejected (now, or within the negative-cache window) or another thread's
 * load did not finish within wait_ms; KS_E_USAGE for a bad key or ops;
 * KS_E_NOMEM.  *out is NULL on any error.
 */
ks_result ks_cache_get(ks_cache *c, const char *key, const ks_cache_ops *ops, time_t now, ks_cache_entry **out,
                       ks_cache_tier *from);
void *ks_cache_entry_obj(const ks_cache_entry *e);
time_t ks_cache_entry_expires(const ks_cache_entry *e);
void ks_cache_entry_release(ks_cache_entry *e); /* NULL ok */

typedef struct {
    unsigned long long hits_memory;      /* served from the in-process tier      */
    unsigned long long hits_memcached;   /* loads answered by memcached          */
    unsigned long long misses;           /* lookups the in-process tier missed   */
    unsigned long long fetches;          /* calls of ops->fetch                  */
    unsigned long long fetch_errors;     /* fetches that failed                  */
    unsigned long long collapsed;        /* waiters served by another's load     */
    unsigned long long rejected;         /* bytes refused (frame, MAC, decode)   */
    unsigned long long negative_hits;    /* answered from the negative cache     */
    unsigned long long refreshes;        /* background refreshes that succeeded  */
    unsigned long long memcached_errors; /* failed memcached operations          */
    unsigned long long evictions;        /* LRU evictions (entries or bytes)     */
    size_t entries, bytes;               /* in-process tier now                  */
    int memcached_up;                    /* 1: every server answered last time;
                                            0: degraded, or no server configured */
    size_t memcached_servers;            /* servers configured                   */
} ks_cache_stats;

void ks_cache_get_stats(ks_cache *c, ks_cache_stats *out);

#endif
