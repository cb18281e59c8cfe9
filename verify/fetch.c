/*
 * verify/fetch.c - HTTP fetches of OCSP responses and CRLs through OpenSSL's
 * OSSL_HTTP client (no hand-written HTTP).
 *
 * Every fetch is checked against revocation.allow_urls here, at the lowest
 * level, so no caller can forget it.  Redirects are not followed (a 3xx is a
 * failure), responses are capped at revocation.max_response_bytes, and the
 * whole exchange at revocation.timeout_ms (to within the second OSSL_HTTP
 * counts in: ks_http_seconds).
 */
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/http.h>
#include <openssl/httperr.h>

#include "internal.h"

/* Per responder (scheme://host:port) counters for /metrics: process-wide,
 * bounded; responders beyond the table share the "other" row. */
#define KS_FETCH_ROWS 64
static struct {
    char authority[128];
    unsigned long long requests, errors;
    double seconds;
} ks_fetch_rows[KS_FETCH_ROWS + 1];
static size_t ks_fetch_nrows;
static pthread_mutex_t ks_fetch_lock = PTHREAD_MUTEX_INITIALIZER;

static void ks_fetch_count(const char *host, const char *port, int ok, double seconds)
{
    char auth[128];
    snprintf(auth, sizeof auth, "http://%s:%s", host ? host : "?", port ? port : "80");
    pthread_mutex_lock(&ks_fetch_lock);
    size_t i;
    for (i = 0; i < ks_fetch_nrows && strcmp(ks_fetch_rows[i].authority, auth) != 0; i++)
        ;
    if (i == ks_fetch_nrows) {
        if (ks_fetch_nrows < KS_FETCH_ROWS)
            snprintf(ks_fetch_rows[ks_fetch_nrows++].authority, sizeof auth, "%s", auth);
        else
            snprintf(ks_fetch_rows[i = KS_FETCH_ROWS].authority, sizeof auth, "other");
    }
    ks_fetch_rows[i].requests++;
    ks_fetch_rows[i].errors += !ok;
    ks_fetch_rows[i].seconds += seconds;
    pthread_mutex_unlock(&ks_fetch_lock);
}

cJSON *ks_fetch_stats_json(void)
{
    cJSON *a = cJSON_CreateArray();
    pthread_mutex_lock(&ks_fetch_lock);
    for (size_t i = 0; a != NULL && i <= KS_FETCH_ROWS; i++) {
        if (ks_fetch_rows[i].requests == 0)
            continue;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "authority", ks_fetch_rows[i].authority);
        cJSON_AddNumberToObject(o, "requests", (double)ks_fetch_rows[i].requests);
        cJSON_AddNumberToObject(o, "errors", (double)ks_fetch_rows[i].errors);
        cJSON_AddNumberToObject(o, "seconds", ks_fetch_rows[i].seconds);
        cJSON_AddItemToArray(a, o);
    }
    pthread_mutex_unlock(&ks_fetch_lock);
    return a;
}

static double ks_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * A URL is allowed when it starts with a configured prefix at a boundary:
 * "http://127.0.0.1:8080" must not admit "http://127.0.0.1:80801/".  Only
 * plain http, no user info, no white space or control characters.
 */
int ks_url_allowed(const ks_ctx *ctx, const char *url)
{
    size_t n = strlen(url);
    if (n == 0 || n > 2048 || strncmp(url, "http://", 7) != 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)url[i] <= 0x20 || (unsigned char)url[i] >= 0x7f || url[i] == '\\')
            return 0;
    const char *auth_end = strpbrk(url + 7, "/?#");
    const char *at = strchr(url + 7, '@');
    if (at != NULL && (auth_end == NULL || at < auth_end))
        return 0;
    for (size_t i = 0; i < ctx->rev.n_allow_urls; i++) {
        const char *p = ctx->rev.allow_urls[i];
        size_t pl = strlen(p);
        if (pl > n || strncmp(url, p, pl) != 0)
            continue;
        if (p[pl - 1] == '/' || url[pl] == '\0' || url[pl] == '/' || url[pl] == '?')
            return 1;
    }
    return 0;
}

/*
 * OSSL_HTTP takes its timeout in whole seconds counted from the second a
 * fetch starts in (time(NULL)), so timeout_ms / 1000 as it stands cuts a
 * fetch short by up to a second: with 1 s, exchanges of 0.3 s failed 4 times
 * in 20 (each one that crossed into the next second), and `kensho verify`
 * against a responder 0.6 s late gave TRY_LATER 2 times in 10.  The seconds
 * returned reach from the start of the current second to at least now +
 * timeout_ms: a fetch is never cut short of revocation.timeout_ms, and a
 * responder that never answers is given up after about a second more (2.0 s
 * for 1000 ms, measured).  Wall-clock time, as OSSL_HTTP's own: the injected
 * clock is the validation time, not this.
 */
static int ks_http_seconds(int timeout_ms)
{
    struct timespec now;
    long long ms = timeout_ms;
    if (clock_gettime(CLOCK_REALTIME, &now) == 0)
        ms += now.tv_nsec / 1000000;
    else
        ms += 1000; /* the whole second it may be into */
    return (int)((ms + 999) / 1000);
}

static ks_result ks_http_do(const ks_ctx *ctx, const char *url, const uint8_t *body, size_t bodylen,
                            const char *content_type, const char *expected_type, int expect_asn1, uint8_t **out,
                            size_t *outlen, char *err, size_t errlen);

ks_result ks_http_fetch(const ks_ctx *ctx, const char *url, const uint8_t *body, size_t bodylen,
                        const char *content_type, const char *expected_type, uint8_t **out, size_t *outlen,
                        char *err, size_t errlen)
{
    return ks_http_do(ctx, url, body, bodylen, content_type, expected_type, 1, out, outlen, err, errlen);
}

int ks_ctx_url_allowed(const ks_ctx *ctx, const char *url)
{
    return ks_url_allowed(ctx, url);
}

ks_result ks_http_post_json(const ks_ctx *ctx, const char *url, const char *json, char *err, size_t errlen)
{
    uint8_t *out = NULL;
    size_t outlen = 0;
    ks_result r = ks_http_do(ctx, url, (const uint8_t *)json, strlen(json), "application/json", NULL, 0, &out,
                             &outlen, err, errlen);
    free(out); /* the answer is not used: a 200 is the receipt */
    return r;
}

static ks_result ks_http_do(const ks_ctx *ctx, const char *url, const uint8_t *body, size_t bodylen,
                            const char *content_type, const char *expected_type, int expect_asn1, uint8_t **out,
                            size_t *outlen, char *err, size_t errlen)
{
    ks_result ret = KS_E_UNAVAILABLE;
    char *host = NULL, *port = NULL, *path = NULL, *query = NULL, *redirect = NULL;
    int use_ssl = 0;
    OSSL_HTTP_REQ_CTX *rctx = NULL;
    BIO *req = NULL, *resp = NULL;
    char fullpath[2300];
    int counted = 0;
    double started = ks_mono();

    *out = NULL;
    *outlen = 0;
    if (!ks_url_allowed(ctx, url)) {
        snprintf(err, errlen, "URL not under revocation.allow_urls");
        return KS_E_UNAVAILABLE;
    }
    if (OSSL_HTTP_parse_url(url, &use_ssl, NULL, &host, &port, NULL, &path, &query, NULL) != 1 || use_ssl) {
        snprintf(err, errlen, "unusable URL");
        goto done;
    }
    snprintf(fullpath, sizeof fullpath, "%s%s%s", path, query ? "?" : "", query ? query : "");
    counted = 1;
    int timeout = ks_http_seconds(ctx->rev.timeout_ms);
    if (body != NULL && (req = BIO_new_mem_buf(body, (int)bodylen)) == NULL) {
        ret = KS_E_NOMEM;
        goto done;
    }
    rctx = OSSL_HTTP_open(host, port, NULL, NULL, 0, NULL, NULL, NULL, NULL, 0, timeout);
    if (rctx == NULL) {
        snprintf(err, errlen, "cannot connect");
        goto done;
    }
    if (OSSL_HTTP_set1_request(rctx, fullpath, NULL, body ? content_type : NULL, req, expected_type, expect_asn1,
                               ctx->rev.max_response_bytes, timeout, 0) != 1) {
        snprintf(err, errlen, "cannot send the request");
        goto done;
    }
    resp = OSSL_HTTP_exchange(rctx, &redirect);
    if (resp == NULL) {
        unsigned long e, first = 0;
        int too_large = 0;
        while ((e = ERR_get_error()) != 0) {
            if (first == 0)
                first = e;
            too_large |= ERR_GET_LIB(e) == ERR_LIB_HTTP && ERR_GET_REASON(e) == HTTP_R_MAX_RESP_LEN_EXCEEDED;
        }
        if (redirect != NULL)
            snprintf(err, errlen, "redirect refused");
        else if (too_large)
            snprintf(err, errlen, "response larger than revocation.max_response_bytes");
        else
            snprintf(err, errlen, "no valid response (%s)", first ? ERR_reason_error_string(first) : "closed");
        ret = too_large ? KS_E_TOO_LARGE : KS_E_UNAVAILABLE;
        goto done;
    }
    if (!expect_asn1) {
        /* OSSL_HTTP_exchange answers only a 200 (RFC 9110 15.3.1); what
         * follows would be streamed from the connection: not read, the
         * status is the receipt (ks_http_post_json). */
        ret = KS_OK;
        goto done;
    }
    char *data = NULL;
    long len = BIO_get_mem_data(resp, &data);
    if (len <= 0 || (size_t)len > ctx->rev.max_response_bytes) {
        snprintf(err, errlen, len <= 0 ? "empty response" : "response too large");
        goto done;
    }
    if ((*out = malloc((size_t)len)) == NULL) {
        ret = KS_E_NOMEM;
        goto done;
    }
    memcpy(*out, data, (size_t)len);
    *outlen = (size_t)len;
    ret = KS_OK;
done:
    if (counted)
        ks_fetch_count(host, port, ret == KS_OK, ks_mono() - started);
    ks_openssl_drain(__func__);
    OSSL_HTTP_close(rctx, ret == KS_OK);
    BIO_free(resp);
    BIO_free(req);
    OPENSSL_free(host);
    OPENSSL_free(port);
    OPENSSL_free(path);
    OPENSSL_free(query);
    OPENSSL_free(redirect);
    return ret;
}
