/*
 * fcgi/metrics.c - counters for /metrics (Prometheus text format 0.0.4).
 *
 * Process-wide atomics over fixed label sets: routes, a short list of
 * statuses and the three indications, so a client cannot grow the label
 * space (every label value comes from our tables, never from a request).
 * More families (cache, fetch) are appended in ks_fcgi_metrics_more().
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fcgi.h"

static const int ks_statuses[] = {200, 400, 404, 405, 413, 415, 500, 503, 0 /* other */};
#define KS_NSTATUS (sizeof ks_statuses / sizeof ks_statuses[0])
static const char *const ks_indications[] = {"TOTAL_PASSED", "TOTAL_FAILED", "INDETERMINATE", "none"};
#define KS_NIND 4
static const double ks_buckets[] = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
#define KS_NBUCKETS (sizeof ks_buckets / sizeof ks_buckets[0])

static atomic_ullong ks_requests[KS_ROUTE_COUNT][KS_NSTATUS][KS_NIND];
static atomic_ullong ks_hist[KS_ROUTE_COUNT][KS_NBUCKETS + 1]; /* non-cumulative; last = +Inf */
static atomic_ullong ks_hist_sum_us[KS_ROUTE_COUNT];
static atomic_llong ks_inflight;
static atomic_ullong ks_reloads[2]; /* failed, ok */
static atomic_ullong ks_audit_failures;
static atomic_ullong ks_peers_refused;
static atomic_ullong ks_crl_refreshes[3]; /* ok, unchanged, failed */
static atomic_ullong ks_anchor_posts[2];  /* failed, ok */

const char *ks_fcgi_route_name(ks_fcgi_route r)
{
    static const char *const names[] = {"verify", "certificate", "healthz", "readyz", "metrics", "other"};
    return (int)r >= 0 && r < KS_ROUTE_COUNT ? names[r] : "other";
}

void ks_fcgi_metrics_request(ks_fcgi_route r, int status, const char *indication, double seconds)
{
    if ((int)r < 0 || r >= KS_ROUTE_COUNT)
        r = KS_ROUTE_OTHER;
    size_t s = KS_NSTATUS - 1;
    for (size_t i = 0; i + 1 < KS_NSTATUS; i++)
        if (ks_statuses[i] == status)
            s = i;
    size_t ind = KS_NIND - 1;
    for (size_t i = 0; indication != NULL && i + 1 < KS_NIND; i++)
        if (strcmp(indication, ks_indications[i]) == 0)
            ind = i;
    atomic_fetch_add(&ks_requests[r][s][ind], 1);
    size_t b = KS_NBUCKETS;
    for (size_t i = 0; i < KS_NBUCKETS; i++)
        if (seconds <= ks_buckets[i]) {
            b = i;
            break;
        }
    atomic_fetch_add(&ks_hist[r][b], 1);
    if (seconds < 0)
        seconds = 0;
    atomic_fetch_add(&ks_hist_sum_us[r], (unsigned long long)(seconds * 1e6));
}

void ks_fcgi_metrics_inflight(int delta)
{
    atomic_fetch_add(&ks_inflight, delta);
}

void ks_fcgi_metrics_reload(int ok)
{
    atomic_fetch_add(&ks_reloads[ok ? 1 : 0], 1);
}

void ks_fcgi_metrics_audit_failure(void)
{
    atomic_fetch_add(&ks_audit_failures, 1);
}

void ks_fcgi_metrics_crl_refresh(const ks_crl_refresh_counts *c)
{
    atomic_fetch_add(&ks_crl_refreshes[0], c->ok);
    atomic_fetch_add(&ks_crl_refreshes[1], c->unchanged);
    atomic_fetch_add(&ks_crl_refreshes[2], c->failed);
}

void ks_fcgi_metrics_anchor(int ok)
{
    atomic_fetch_add(&ks_anchor_posts[ok ? 1 : 0], 1);
}

void ks_fcgi_metrics_peer_refused(void)
{
    atomic_fetch_add(&ks_peers_refused, 1);
}

/* A Prometheus label value (text format 0.0.4): backslash, quote and line
 * feed escaped. */
static void ks_label(ks_fcgi_buf *b, const char *v)
{
    char out[512];
    size_t n = 0;
    for (const char *p = v; *p && n + 2 < sizeof out; p++) {
        if (*p == '\\' || *p == '"' || *p == '\n')
            out[n++] = '\\';
        out[n++] = *p == '\n' ? 'n' : *p;
    }
    out[n] = '\0';
    ks_fcgi_buf_printf(b, "%s", out);
}

static double ks_num(const cJSON *o, const char *key)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(it) ? it->valuedouble : 0;
}

/* Families from the library's operational state (ks_ctx_status): the cache
 * per tier, memcached, fetches per responder, CRL age per issuer. */
static void ks_fcgi_metrics_more(ks_fcgi_buf *b, const cJSON *st)
{
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(st, "cache");
    ks_fcgi_buf_printf(b, "# HELP kensho_cache_lookups_total Revocation evidence lookups, by tier that answered "
                          "(memory, memcached) or missed both (miss: fetched).\n"
                          "# TYPE kensho_cache_lookups_total counter\n"
                          "kensho_cache_lookups_total{tier=\"memory\",result=\"hit\"} %.0f\n"
                          "kensho_cache_lookups_total{tier=\"memory\",result=\"miss\"} %.0f\n"
                          "kensho_cache_lookups_total{tier=\"memcached\",result=\"hit\"} %.0f\n",
                       ks_num(c, "hits_memory"), ks_num(c, "misses"), ks_num(c, "hits_memcached"));
    static const char *const counters[][2] = {
        {"fetches", "Authoritative fetches made by the cache (OCSP, CRL)."},
        {"fetch_errors", "Fetches that failed."},
        {"collapsed", "Requests that waited for another request's fetch of the same key."},
        {"rejected", "Entries refused when read back (frame, MAC or re-verification failed)."},
        {"negative_hits", "Lookups answered by a remembered recent failure."},
        {"refreshes", "Entries refreshed ahead of expiry."},
        {"memcached_errors", "Failed memcached operations."},
        {"evictions", "In-process entries evicted (LRU)."}};
    for (size_t i = 0; i < sizeof counters / sizeof counters[0]; i++)
        ks_fcgi_buf_printf(b, "# HELP kensho_cache_%s_total %s\n# TYPE kensho_cache_%s_total counter\nkensho_cache_%s_total %.0f\n",
                           counters[i][0], counters[i][1], counters[i][0], counters[i][0], ks_num(c, counters[i][0]));
    ks_fcgi_buf_printf(b, "# HELP kensho_cache_entries In-process cache entries.\n# TYPE kensho_cache_entries gauge\n"
                          "kensho_cache_entries %.0f\n# HELP kensho_cache_bytes In-process cache bytes.\n"
                          "# TYPE kensho_cache_bytes gauge\nkensho_cache_bytes %.0f\n",
                       ks_num(c, "entries"), ks_num(c, "bytes"));
    const cJSON *mc = cJSON_GetObjectItemCaseSensitive(st, "memcached");
    ks_fcgi_buf_printf(b, "# HELP kensho_memcached_up 1 when every configured memcached server answered its last "
                          "operation.\n# TYPE kensho_memcached_up gauge\nkensho_memcached_up %d\n",
                       cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(mc, "up")));
    const cJSON *it;
    ks_fcgi_buf_printf(b, "# HELP kensho_fetch_requests_total OCSP and CRL fetches per responder.\n"
                          "# TYPE kensho_fetch_requests_total counter\n");
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(st, "fetch"))
    {
        const char *auth = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "authority"));
        ks_fcgi_buf_printf(b, "kensho_fetch_requests_total{responder=\"");
        ks_label(b, auth ? auth : "");
        ks_fcgi_buf_printf(b, "\"} %.0f\nkensho_fetch_errors_total{responder=\"", ks_num(it, "requests"));
        ks_label(b, auth ? auth : "");
        ks_fcgi_buf_printf(b, "\"} %.0f\nkensho_fetch_seconds_total{responder=\"", ks_num(it, "errors"));
        ks_label(b, auth ? auth : "");
        ks_fcgi_buf_printf(b, "\"} %.6f\n", ks_num(it, "seconds"));
    }
    ks_fcgi_buf_printf(b, "# HELP kensho_crl_age_seconds Age of each configured CRL (now - thisUpdate).\n"
                          "# TYPE kensho_crl_age_seconds gauge\n");
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(st, "crls"))
    {
        const char *issuer = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "issuer"));
        const char *file = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "file"));
        ks_fcgi_buf_printf(b, "kensho_crl_age_seconds{issuer=\"");
        ks_label(b, issuer ? issuer : "");
        ks_fcgi_buf_printf(b, "\",file=\"");
        ks_label(b, file ? file : "");
        ks_fcgi_buf_printf(b, "\",fresh=\"%s\"} %.0f\n", cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it, "fresh")) ? "true" : "false",
                           ks_num(it, "age_s"));
    }
}

static void ks_free_ptr(void *p)
{
    free(p);
}

ks_result ks_fcgi_metrics_render(ks_ctx *ctx, ks_audit *audit, ks_fcgi_arena *a, char **out, size_t *outlen)
{
    ks_fcgi_buf b = {.max = 4 * 1024 * 1024};
    /* The info-metric idiom: a constant 1 whose labels say what runs. */
    ks_fcgi_buf_printf(&b, "# HELP kensho_build_info kensho's version and the OpenSSL and libxmlsec1 it runs with.\n"
                           "# TYPE kensho_build_info gauge\nkensho_build_info{version=\"");
    ks_label(&b, ks_version());
    ks_fcgi_buf_printf(&b, "\",openssl=\"");
    ks_label(&b, ks_version_openssl());
    ks_fcgi_buf_printf(&b, "\",libxmlsec1=\"");
    ks_label(&b, ks_version_xmlsec());
    ks_fcgi_buf_printf(&b, "\"} 1\n");
    ks_fcgi_buf_printf(&b, "# HELP kensho_http_requests_total Requests answered, by route, status and verdict "
                           "indication.\n# TYPE kensho_http_requests_total counter\n");
    for (int r = 0; r < KS_ROUTE_COUNT; r++)
        for (size_t s = 0; s < KS_NSTATUS; s++)
            for (size_t i = 0; i < KS_NIND; i++) {
                unsigned long long v = atomic_load(&ks_requests[r][s][i]);
                if (v == 0)
                    continue;
                char st[8];
                if (ks_statuses[s] != 0)
                    snprintf(st, sizeof st, "%d", ks_statuses[s]);
                else
                    snprintf(st, sizeof st, "other");
                ks_fcgi_buf_printf(&b, "kensho_http_requests_total{route=\"%s\",status=\"%s\",indication=\"%s\"} %llu\n",
                                   ks_fcgi_route_name((ks_fcgi_route)r), st, ks_indications[i], v);
            }
    ks_fcgi_buf_printf(&b, "# HELP kensho_http_request_duration_seconds Time from the request's parameters to "
                           "the end of the response.\n# TYPE kensho_http_request_duration_seconds histogram\n");
    for (int r = 0; r < KS_ROUTE_COUNT; r++) {
        unsigned long long cum = 0;
        const char *rn = ks_fcgi_route_name((ks_fcgi_route)r);
        for (size_t i = 0; i < KS_NBUCKETS; i++) {
            cum += atomic_load(&ks_hist[r][i]);
            ks_fcgi_buf_printf(&b, "kensho_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n", rn,
                               ks_buckets[i], cum);
        }
        cum += atomic_load(&ks_hist[r][KS_NBUCKETS]);
        ks_fcgi_buf_printf(&b, "kensho_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n", rn, cum);
        ks_fcgi_buf_printf(&b, "kensho_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n", rn,
                           (double)atomic_load(&ks_hist_sum_us[r]) / 1e6);
        ks_fcgi_buf_printf(&b, "kensho_http_request_duration_seconds_count{route=\"%s\"} %llu\n", rn, cum);
    }
    ks_fcgi_buf_printf(&b, "# HELP kensho_http_requests_in_flight Requests being processed.\n"
                           "# TYPE kensho_http_requests_in_flight gauge\nkensho_http_requests_in_flight %lld\n",
                       (long long)atomic_load(&ks_inflight));
    ks_fcgi_buf_printf(&b, "# HELP kensho_config_reloads_total Configuration reloads (SIGHUP), by result.\n"
                           "# TYPE kensho_config_reloads_total counter\n"
                           "kensho_config_reloads_total{result=\"ok\"} %llu\n"
                           "kensho_config_reloads_total{result=\"failed\"} %llu\n",
                       atomic_load(&ks_reloads[1]), atomic_load(&ks_reloads[0]));
    ks_fcgi_buf_printf(&b, "# HELP kensho_crl_refreshes_total Background fetches of revocation_sources CRL URLs "
                           "before their nextUpdate, by result (ok: a newer CRL replaced the cached one; unchanged: "
                           "the same CRL; failed: fetch failed or the CRL was refused, the cached one stays).\n"
                           "# TYPE kensho_crl_refreshes_total counter\n"
                           "kensho_crl_refreshes_total{result=\"ok\"} %llu\n"
                           "kensho_crl_refreshes_total{result=\"unchanged\"} %llu\n"
                           "kensho_crl_refreshes_total{result=\"failed\"} %llu\n",
                       atomic_load(&ks_crl_refreshes[0]), atomic_load(&ks_crl_refreshes[1]),
                       atomic_load(&ks_crl_refreshes[2]));
    ks_fcgi_buf_printf(&b, "# HELP kensho_audit_anchor_posts_total Final chain heads of closed audit files POSTed to "
                           "audit.anchor_url, by result (failed: logged, tried at most 3 times).\n"
                           "# TYPE kensho_audit_anchor_posts_total counter\n"
                           "kensho_audit_anchor_posts_total{result=\"ok\"} %llu\n"
                           "kensho_audit_anchor_posts_total{result=\"failed\"} %llu\n",
                       atomic_load(&ks_anchor_posts[1]), atomic_load(&ks_anchor_posts[0]));
    ks_fcgi_buf_printf(&b, "# HELP kensho_audit_write_failures_total Audit records that could not be written.\n"
                           "# TYPE kensho_audit_write_failures_total counter\nkensho_audit_write_failures_total %llu\n",
                       atomic_load(&ks_audit_failures));
    ks_fcgi_buf_printf(&b, "# HELP kensho_fcgi_connections_refused_total FastCGI connections from outside "
                           "service.allow_from, closed unanswered.\n"
                           "# TYPE kensho_fcgi_connections_refused_total counter\n"
                           "kensho_fcgi_connections_refused_total %llu\n"
                           "# HELP kensho_draining 1 after SIGTERM: /readyz answers 503, accepting stops after "
                           "service.drain_ms.\n# TYPE kensho_draining gauge\nkensho_draining %d\n",
                       atomic_load(&ks_peers_refused), ks_fcgi_draining());
    if (audit != NULL) { /* since the last (re)load: the handle is new after SIGHUP */
        unsigned long long records, syncs;
        ks_audit_stats(audit, &records, &syncs);
        ks_fcgi_buf_printf(&b, "# HELP kensho_audit_records_total Audit records written.\n"
                               "# TYPE kensho_audit_records_total counter\nkensho_audit_records_total %llu\n"
                               "# HELP kensho_audit_syncs_total Audit fdatasyncs (group commit: records/syncs "
                               "per batch).\n# TYPE kensho_audit_syncs_total counter\nkensho_audit_syncs_total %llu\n",
                           records, syncs);
    }
    cJSON *st = ctx ? ks_ctx_status(ctx, ks_ctx_now(ctx)) : NULL;
    if (st != NULL)
        ks_fcgi_metrics_more(&b, st);
    cJSON_Delete(st);
    if (b.failed || b.p == NULL) {
        free(b.p);
        return KS_E_NOMEM;
    }
    if (!ks_fcgi_arena_cleanup(a, ks_free_ptr, b.p))
        return KS_E_NOMEM;
    *out = b.p;
    *outlen = b.len;
    return KS_OK;
}
