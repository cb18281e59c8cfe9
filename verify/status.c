/*
 * verify/status.c - a context's operational state for /readyz and /metrics:
 * memcached, the cache's counters, the local CRLs' freshness, and fetches
 * per responder.  Nothing here is personal data: CA names only.
 */
#include "internal.h"

static cJSON *ks_crls_json(const ks_ctx *ctx, time_t now)
{
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; a != NULL && i < sk_X509_CRL_num(ctx->crls); i++) {
        X509_CRL *crl = sk_X509_CRL_value(ctx->crls, i);
        time_t last = 0, next = 0;
        int has_last = ks_asn1_time_to_time_t(X509_CRL_get0_lastUpdate(crl), &last);
        int has_next = ks_asn1_time_to_time_t(X509_CRL_get0_nextUpdate(crl), &next);
        char *issuer = ks_name_string(X509_CRL_get_issuer(crl));
        char buf[32];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "issuer", issuer ? issuer : "");
        cJSON_AddStringToObject(o, "file", ctx->crl_origins[i]);
        if (has_last) {
            ks_time_format(last, buf, sizeof buf);
            cJSON_AddStringToObject(o, "this_update", buf);
            cJSON_AddNumberToObject(o, "age_s", (double)(now - last));
        }
        if (has_next) {
            ks_time_format(next, buf, sizeof buf);
            cJSON_AddStringToObject(o, "next_update", buf);
        }
        /* RFC 5280 5.1.2.5: past nextUpdate the CRL says nothing current. */
        cJSON_AddBoolToObject(o, "fresh", has_last && has_next && last <= now && now < next);
        cJSON_AddItemToArray(a, o);
        free(issuer);
    }
    return a;
}

cJSON *ks_ctx_status(const ks_ctx *ctx, time_t now)
{
    ks_cache_stats st;
    cJSON *o = cJSON_CreateObject();
    if (o == NULL)
        return NULL;
    ks_cache_get_stats(ctx->cache, &st);
    cJSON *mc = cJSON_AddObjectToObject(o, "memcached");
    cJSON_AddNumberToObject(mc, "servers", (double)st.memcached_servers);
    cJSON_AddBoolToObject(mc, "up", st.memcached_servers == 0 || st.memcached_up);
    cJSON *c = cJSON_AddObjectToObject(o, "cache");
    const struct {
        const char *name;
        unsigned long long v;
    } counters[] = {{"hits_memory", st.hits_memory},     {"hits_memcached", st.hits_memcached},
                    {"misses", st.misses},               {"fetches", st.fetches},
                    {"fetch_errors", st.fetch_errors},   {"collapsed", st.collapsed},
                    {"rejected", st.rejected},           {"negative_hits", st.negative_hits},
                    {"refreshes", st.refreshes},         {"memcached_errors", st.memcached_errors},
                    {"evictions", st.evictions},         {"entries", st.entries},
                    {"bytes", st.bytes}};
    for (size_t i = 0; i < sizeof counters / sizeof counters[0]; i++)
        cJSON_AddNumberToObject(c, counters[i].name, (double)counters[i].v);
    cJSON_AddItemToObject(o, "crls", ks_crls_json(ctx, now));
    cJSON_AddItemToObject(o, "fetch", ks_fetch_stats_json());
    return o;
}
