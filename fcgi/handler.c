/*
 * fcgi/handler.c - routes, input forms, the audit record, problem documents.
 *
 * API (a contract, see README):
 *   POST /api/v1/verify       multipart/form-data ("signature" + optional
 *                             "content"), a raw signature, or JSON
 *                             {"signature": b64, "content": b64}; ?at=RFC3339
 *   POST /api/v1/certificate  raw DER/PEM or JSON {"certificate": PEM or b64}
 *   ?sign=1 on both: the verdict as a compact JWS (verdict_signing)
 *   POST /api/v1/verify/batch  {"items": [{"id", ...a JSON verify body}]}
 *   GET  /api/v1/openapi.json  the contract (OpenAPI 3.1, openapi.c)
 *   GET  /healthz /readyz /metrics
 * 200 carries exactly the verdict bin/kensho prints.  Errors are RFC 9457
 * application/problem+json; a ks_result becomes a status only through
 * ks_result_http_status(); 404/405 come from the small table below.
 */
#include <errno.h>
#include <pwd.h>
#include <time.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "fcgi.h"

/* ---------------- settings ---------------- */

#define KS_DEFAULT_MAX_BODY (20u * 1024 * 1024)

static int ks_set_fail(char **errmsg, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int ks_set_fail(char **errmsg, const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    *errmsg = strdup(buf);
    return 0;
}

static int ks_known(const cJSON *o, const char *section, const char *const *known, char **errmsg)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, o)
    {
        int ok = 0;
        for (const char *const *k = known; *k; k++)
            ok |= strcmp(*k, it->string) == 0;
        if (!ok) {
            char key[160];
            snprintf(key, sizeof key, "%s.%.100s", section, it->string);
            return ks_set_fail(errmsg, "unknown key \"%s\"", key);
        }
    }
    return 1;
}

static int ks_int_key(const cJSON *o, const char *section, const char *name, long lo, long hi, long *out,
                      char **errmsg)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, name);
    if (it == NULL)
        return 1;
    /* Range first: converting a double outside long's range is undefined. */
    if (!cJSON_IsNumber(it) || !(it->valuedouble >= (double)lo && it->valuedouble <= (double)hi) ||
        it->valuedouble != (double)(long)it->valuedouble) {
        char msg[256];
        snprintf(msg, sizeof msg, "key \"%s.%s\": must be an integer from %ld to %ld", section, name, lo, hi);
        *errmsg = strdup(msg);
        return 0;
    }
    *out = (long)it->valuedouble;
    return 1;
}

static int ks_str_key(const cJSON *o, const char *section, const char *name, const char **out, char **errmsg)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, name);
    if (it == NULL)
        return 1;
    if (!cJSON_IsString(it) || it->valuestring[0] == '\0') {
        char key[96];
        snprintf(key, sizeof key, "%s.%s", section, name);
        return ks_set_fail(errmsg, "key \"%s\": must be a non-empty string", key);
    }
    *out = it->valuestring;
    return 1;
}

static char *ks_resolve(const char *config_path, const char *p)
{
    if (p[0] == '/')
        return strdup(p);
    const char *slash = strrchr(config_path, '/');
    size_t dlen = slash ? (size_t)(slash - config_path) : 1;
    const char *dir = slash ? config_path : ".";
    size_t n = dlen + strlen(p) + 2;
    char *out = malloc(n);
    if (out != NULL)
        snprintf(out, n, "%.*s/%s", (int)dlen, dir, p);
    return out;
}

void ks_fcgi_settings_clear(ks_fcgi_settings *s)
{
    free(s->socket);
    free(s->listen);
    free(s->user);
    free(s->allow_from);
    free(s->audit_path);
    free(s->anchor_url);
    memset(s, 0, sizeof *s);
}

/* service.allow_from: an array of 1..256 addresses or CIDRs. */
static int ks_allow_from(const cJSON *svc, ks_fcgi_settings *s, char **errmsg)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(svc, "allow_from"), *it;
    if (arr == NULL)
        return 1;
    int n = cJSON_GetArraySize(arr);
    if (!cJSON_IsArray(arr) || n < 1 || n > 256)
        return ks_set_fail(errmsg, "key \"%s\": must be an array of 1 to 256 addresses or CIDRs",
                           "service.allow_from");
    if ((s->allow_from = calloc((size_t)n, sizeof *s->allow_from)) == NULL)
        return ks_set_fail(errmsg, "out of memory");
    cJSON_ArrayForEach(it, arr)
    {
        if (!cJSON_IsString(it) || !ks_fcgi_net_parse(it->valuestring, &s->allow_from[s->n_allow_from]))
            return ks_set_fail(errmsg, "key \"%s\": \"%.64s\" is not an address or a CIDR (host bits must be 0)",
                               "service.allow_from", cJSON_IsString(it) ? it->valuestring : "?");
        s->n_allow_from++;
    }
    return 1;
}

ks_result ks_fcgi_settings_load(const ks_ctx *ctx, const char *config_path, ks_fcgi_settings *s, char **errmsg)
{
    static const char *const service_keys[] = {"threads", "socket", "listen", "socket_mode", "backlog", "user",
                                                 "bench_routes", "allow_from", "drain_ms", NULL};
    static const char *const audit_keys[] = {"path",           "required", "fsync",      "rotate_bytes",
                                             "rotate_seconds", "keep",     "anchor_url", NULL};
    static const char *const log_keys[] = {"format", "level", NULL};
    memset(s, 0, sizeof *s);
    *errmsg = NULL;
    /* 8 threads: with an fdatasync per audit record, threads share each
     * group commit (make bench: 794/s at 4 threads, 1,788/s at 8). */
    long batch = 100;
    long body = KS_DEFAULT_MAX_BODY, parts = 16, depth = 16, timeout = 30000, threads = 8, backlog = 128;
    /* 2 s: a load balancer polling /readyz every second sees the 503 at
     * least once before accepting stops, and a replacement started on the
     * same socket path takes over within it (tests/test_cluster.sh). */
    long drain_ms = 2000;
    const cJSON *lim = ks_ctx_section(ctx, "limits");
    const cJSON *svc = ks_ctx_section(ctx, "service");
    const cJSON *aud = ks_ctx_section(ctx, "audit");
    const cJSON *log = ks_ctx_section(ctx, "log");
    const char *sock = NULL, *listen = NULL, *mode = NULL, *apath = NULL, *fsync_s = NULL, *user = NULL;
    const char *lformat = NULL, *llevel = NULL, *anchor = NULL;
    /* The other "limits" keys belong to the verify module, which checked them. */
    if (!ks_int_key(lim, "limits", "max_body_bytes", 1024, 1L << 30, &body, errmsg) ||
        !ks_int_key(lim, "limits", "max_parts", 1, 256, &parts, errmsg) ||
        !ks_int_key(lim, "limits", "max_json_depth", 1, 128, &depth, errmsg) ||
        !ks_int_key(lim, "limits", "request_timeout_ms", 100, 600000, &timeout, errmsg) ||
        !ks_int_key(lim, "limits", "max_batch", 1, 10000, &batch, errmsg))
        goto fail;
    if (!ks_known(svc, "service", service_keys, errmsg) ||
        !ks_int_key(svc, "service", "threads", 1, 256, &threads, errmsg) ||
        !ks_int_key(svc, "service", "backlog", 1, 65535, &backlog, errmsg) ||
        !ks_int_key(svc, "service", "drain_ms", 0, 600000, &drain_ms, errmsg) ||
        !ks_str_key(svc, "service", "socket", &sock, errmsg) || !ks_str_key(svc, "service", "listen", &listen, errmsg) ||
        !ks_str_key(svc, "service", "socket_mode", &mode, errmsg) || !ks_str_key(svc, "service", "user", &user, errmsg))
        goto fail;
    s->socket_mode = 0660;
    if (mode != NULL) {
        char *end = NULL;
        errno = 0;
        unsigned long m = strtoul(mode, &end, 8);
        if (errno != 0 || *end != '\0' || m > 0777) {
            ks_set_fail(errmsg, "key \"%s\": must be an octal mode such as \"0660\"", "service.socket_mode");
            goto fail;
        }
        s->socket_mode = (unsigned)m;
    }
    const cJSON *bench = cJSON_GetObjectItemCaseSensitive(svc, "bench_routes");
    if (bench != NULL && !cJSON_IsBool(bench)) {
        ks_set_fail(errmsg, "key \"%s\": must be true or false", "service.bench_routes");
        goto fail;
    }
    s->bench_routes = cJSON_IsTrue(bench);
    if (!ks_allow_from(svc, s, errmsg))
        goto fail;
    /* A FastCGI port open beyond this host needs an allow-list: any peer
     * that can connect could otherwise read /metrics and put requests
     * straight to the verifier, past nginx's limits. */
    if (listen != NULL && !ks_fcgi_listen_is_loopback(listen) && s->n_allow_from == 0) {
        ks_set_fail(errmsg, "key \"%s\": a non-loopback service.listen needs service.allow_from", "service.allow_from");
        goto fail;
    }
    s->audit_required = 1;
    long rot_bytes = 0, rot_seconds = 0, keep = 0;
    if (!ks_known(aud, "audit", audit_keys, errmsg) || !ks_str_key(aud, "audit", "path", &apath, errmsg) ||
        !ks_str_key(aud, "audit", "fsync", &fsync_s, errmsg) ||
        !ks_int_key(aud, "audit", "rotate_bytes", 0, 1L << 40, &rot_bytes, errmsg) ||
        !ks_int_key(aud, "audit", "rotate_seconds", 0, 366L * 86400, &rot_seconds, errmsg) ||
        !ks_int_key(aud, "audit", "keep", 0, 100000, &keep, errmsg) ||
        !ks_str_key(aud, "audit", "anchor_url", &anchor, errmsg))
        goto fail;
    /* Where each closed file's final chain head goes, off this host: an
     * http:// URL under revocation.allow_urls, the one list of places
     * kensho may reach (verify/fetch.c). */
    if (anchor != NULL && !ks_ctx_url_allowed(ctx, anchor)) {
        ks_set_fail(errmsg, "key \"%s\": must be an http:// URL under revocation.allow_urls", "audit.anchor_url");
        goto fail;
    }
    if (rot_bytes > 0 && rot_bytes < 65536) {
        ks_set_fail(errmsg, "key \"%s\": 0 (never) or at least 65536", "audit.rotate_bytes");
        goto fail;
    }
    s->audit_rotation = (ks_audit_rotation){.rotate_bytes = (unsigned long long)rot_bytes,
                                            .rotate_seconds = rot_seconds, .keep = (int)keep};
    const cJSON *req = cJSON_GetObjectItemCaseSensitive(aud, "required");
    if (req != NULL) {
        if (!cJSON_IsBool(req)) {
            ks_set_fail(errmsg, "key \"%s\": must be true or false", "audit.required");
            goto fail;
        }
        s->audit_required = cJSON_IsTrue(req);
    }
    s->audit_fsync = KS_AUDIT_FSYNC_ALWAYS;
    if (fsync_s != NULL) {
        if (strcmp(fsync_s, "never") == 0)
            s->audit_fsync = KS_AUDIT_FSYNC_NEVER;
        else if (strcmp(fsync_s, "always") != 0) {
            ks_set_fail(errmsg, "key \"%s\": must be \"always\" or \"never\"", "audit.fsync");
            goto fail;
        }
    }
    if (!ks_known(log, "log", log_keys, errmsg) || !ks_str_key(log, "log", "format", &lformat, errmsg) ||
        !ks_str_key(log, "log", "level", &llevel, errmsg))
        goto fail;
    /* JSON by default: under systemd every line lands in the journal as it
     * is, and one object per line keeps request_id, route, status and
     * indication as fields for journalctl -o cat | jq and log collectors
     * (the journal adds the priority from the "<N>" prefix). */
    s->log_format = KS_LOG_JSON;
    if (lformat != NULL) {
        if (strcmp(lformat, "text") == 0)
            s->log_format = KS_LOG_TEXT;
        else if (strcmp(lformat, "json") != 0) {
            ks_set_fail(errmsg, "key \"%s\": must be \"json\" or \"text\"", "log.format");
            goto fail;
        }
    }
    s->log_level = KS_LOG_INFO;
    if (llevel != NULL && !ks_log_level_parse(llevel, &s->log_level)) {
        ks_set_fail(errmsg, "key \"%s\": must be \"error\", \"warn\", \"info\" or \"debug\"", "log.level");
        goto fail;
    }
    if (apath == NULL && s->audit_required) {
        ks_set_fail(errmsg, "key \"%s\": required unless audit.required is false", "audit.path");
        goto fail;
    }
    if ((sock != NULL && (s->socket = ks_resolve(config_path, sock)) == NULL) ||
        (listen != NULL && (s->listen = strdup(listen)) == NULL) || (user != NULL && (s->user = strdup(user)) == NULL) ||
        (apath != NULL && (s->audit_path = ks_resolve(config_path, apath)) == NULL) ||
        (anchor != NULL && (s->anchor_url = strdup(anchor)) == NULL)) {
        *errmsg = strdup("out of memory");
        goto fail;
    }
    s->max_body_bytes = (size_t)body;
    s->max_parts = (int)parts;
    s->max_batch = (int)batch;
    s->max_json_depth = (int)depth;
    s->request_timeout_ms = (int)timeout;
    s->threads = (int)threads;
    s->backlog = (int)backlog;
    s->drain_ms = (int)drain_ms;
    return KS_OK;
fail:
    ks_fcgi_settings_clear(s);
    if (*errmsg == NULL)
        *errmsg = strdup("out of memory");
    return KS_E_CONFIG;
}

/* ---------------- generations ---------------- */

/* "uid 65534 (nobody)": who the service reads its files as.  After the
 * privilege drop (main.c) that is service.user, not whoever started it, so
 * an unreadable file's error names the account that needs access. */
static void ks_whoami(char *out, size_t n)
{
    struct passwd pw, *res = NULL;
    char buf[1024];
    uid_t uid = geteuid();
    if (getpwuid_r(uid, &pw, buf, sizeof buf, &res) == 0 && res != NULL)
        snprintf(out, n, "user %.64s (uid %u)", pw.pw_name, (unsigned)uid);
    else
        snprintf(out, n, "uid %u", (unsigned)uid);
}

/* *errmsg + " (kensho-fcgi runs as user X (uid N))", replacing *errmsg. */
void ks_fcgi_name_user(char **errmsg)
{
    char who[128], *m = NULL;
    ks_whoami(who, sizeof who);
    if (*errmsg != NULL && asprintf(&m, "%s (kensho-fcgi runs as %s)", *errmsg, who) >= 0) {
        free(*errmsg);
        *errmsg = m;
    }
}

static void ks_stat_into(struct ks_fcgi_watched *w)
{
    struct stat st;
    if (stat(w->path, &st) == 0) {
        w->mtime = st.st_mtim;
        w->size = (long long)st.st_size;
    } else {
        w->mtime = (struct timespec){0, 0};
        w->size = -1;
    }
}

/* The local CRL files the context loaded (ks_ctx_status names each), so a
 * CRL replaced on disk is picked up without a SIGHUP.  Best effort: out of
 * memory leaves fewer files watched, never a failed load. */
static void ks_gen_watch_crls(ks_fcgi_gen *g)
{
    cJSON *st = ks_ctx_status(g->ctx, ks_ctx_now(g->ctx)), *crl;
    int n = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(st, "crls"));
    if (n > 0 && (g->watched = calloc((size_t)n, sizeof *g->watched)) != NULL) {
        cJSON_ArrayForEach(crl, cJSON_GetObjectItemCaseSensitive(st, "crls"))
        {
            const char *file = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(crl, "file"));
            if (file == NULL || g->n_watched >= (size_t)n ||
                (g->watched[g->n_watched].path = strdup(file)) == NULL)
                continue;
            ks_stat_into(&g->watched[g->n_watched++]);
        }
    }
    cJSON_Delete(st);
}

int ks_fcgi_gen_files_changed(ks_fcgi_gen *g, const char **which)
{
    int changed = 0;
    for (size_t i = 0; g != NULL && i < g->n_watched; i++) {
        struct ks_fcgi_watched now = {.path = g->watched[i].path};
        ks_stat_into(&now);
        if (now.size != g->watched[i].size || now.mtime.tv_sec != g->watched[i].mtime.tv_sec ||
            now.mtime.tv_nsec != g->watched[i].mtime.tv_nsec) {
            if (!changed && which != NULL)
                *which = g->watched[i].path;
            changed = 1;
            g->watched[i] = now;
        }
    }
    return changed;
}

/* "verdict_signing": {"key_file", "cert_file", "sign"}: the key signed
 * verdicts are signed with (jws.c), and whether every verdict is signed
 * (default false: only with ?sign=1). */
static ks_result ks_fcgi_signing_load(ks_fcgi_gen *g, const char *config_path, char **errmsg)
{
    static const char *const keys[] = {"key_file", "cert_file", "sign", NULL};
    const cJSON *o = ks_ctx_section(g->ctx, "verdict_signing");
    const char *kf = NULL, *cf = NULL;
    char *kp = NULL, *cp = NULL;
    if (o == NULL)
        return KS_OK;
    if (!ks_known(o, "verdict_signing", keys, errmsg) || !ks_str_key(o, "verdict_signing", "key_file", &kf, errmsg) ||
        !ks_str_key(o, "verdict_signing", "cert_file", &cf, errmsg))
        return KS_E_CONFIG;
    const cJSON *sign = cJSON_GetObjectItemCaseSensitive(o, "sign");
    if (sign != NULL && !cJSON_IsBool(sign)) {
        ks_set_fail(errmsg, "key \"%s\": must be true or false", "verdict_signing.sign");
        return KS_E_CONFIG;
    }
    if (kf == NULL || cf == NULL) {
        ks_set_fail(errmsg, "key \"%s\": required with verdict_signing", kf == NULL ? "verdict_signing.key_file"
                                                                                    : "verdict_signing.cert_file");
        return KS_E_CONFIG;
    }
    if ((kp = ks_resolve(config_path, kf)) == NULL || (cp = ks_resolve(config_path, cf)) == NULL) {
        free(kp);
        *errmsg = strdup("out of memory");
        return KS_E_NOMEM;
    }
    ks_result r = ks_jws_key_load(kp, cp, &g->signer, errmsg);
    free(kp);
    free(cp);
    g->sign_default = cJSON_IsTrue(sign);
    return r;
}

ks_result ks_fcgi_gen_load(const char *config_path, ks_fcgi_gen **out, char **errmsg)
{
    return ks_fcgi_gen_reload(config_path, NULL, out, errmsg);
}

ks_result ks_fcgi_gen_reload(const char *config_path, const ks_fcgi_gen *prev, ks_fcgi_gen **out, char **errmsg)
{
    ks_fcgi_gen *g = calloc(1, sizeof *g);
    *out = NULL;
    *errmsg = NULL;
    if (g == NULL)
        return KS_E_NOMEM;
    atomic_init(&g->refs, 1);
    ks_result r = ks_ctx_reload(config_path, prev ? prev->ctx : NULL, &g->ctx, errmsg);
    if (r == KS_OK)
        r = ks_fcgi_settings_load(g->ctx, config_path, &g->set, errmsg);
    if (r != KS_OK) {
        ks_fcgi_name_user(errmsg);
        ks_fcgi_gen_unref(g);
        return r;
    }
    ks_gen_watch_crls(g);
    if ((r = ks_fcgi_signing_load(g, config_path, errmsg)) != KS_OK) {
        ks_fcgi_name_user(errmsg);
        ks_fcgi_gen_unref(g);
        return r;
    }
    if (g->set.audit_path != NULL) {
        char *err = NULL;
        if (ks_audit_open(g->set.audit_path, g->set.audit_fsync, &g->audit, &err) != KS_OK) {
            ks_fcgi_name_user(&err);
            ks_log(KS_LOG_ERR, "audit log unavailable: %s", err ? err : "?");
            g->audit_error = err;
        } else {
            ks_audit_set_rotation(g->audit, &g->set.audit_rotation);
            free(err);
        }
    }
    *out = g;
    return KS_OK;
}

ks_fcgi_gen *ks_fcgi_gen_ref(ks_fcgi_gen *g)
{
    if (g != NULL)
        atomic_fetch_add(&g->refs, 1);
    return g;
}

void ks_fcgi_gen_unref(ks_fcgi_gen *g)
{
    if (g == NULL || atomic_fetch_sub(&g->refs, 1) != 1)
        return;
    ks_audit_close(g->audit);
    ks_jws_key_free(g->signer);
    free(g->audit_error);
    for (size_t i = 0; i < g->n_watched; i++)
        free(g->watched[i].path);
    free(g->watched);
    ks_fcgi_settings_clear(&g->set);
    ks_ctx_unref(g->ctx);
    free(g);
}

/* ---------------- readiness ---------------- */

static void ks_check_add(ks_fcgi_readiness *r, const char *name, int ok, const char *detail)
{
    if (r->n < KS_FCGI_MAX_CHECKS)
        r->checks[r->n++] = (ks_fcgi_check){name, ok, detail, 0};
}

static void ks_check_degraded(ks_fcgi_readiness *r, const char *name, const char *detail)
{
    if (r->n < KS_FCGI_MAX_CHECKS)
        r->checks[r->n++] = (ks_fcgi_check){name, 1, detail, 1};
}

static atomic_int ks_draining_flag;

void ks_fcgi_set_draining(int on)
{
    atomic_store(&ks_draining_flag, on != 0);
}

int ks_fcgi_draining(void)
{
    return atomic_load(&ks_draining_flag);
}

void ks_fcgi_readiness_collect(const ks_fcgi_gen *g, ks_fcgi_readiness *r)
{
    r->n = 0;
    /* First, so a balancer stops sending before accepting stops (main.c). */
    int draining = ks_fcgi_draining();
    ks_check_add(r, "draining", !draining, draining ? "stopping: SIGTERM received" : "no");
    ks_check_add(r, "trust_store", g != NULL && g->ctx != NULL, g && g->ctx ? "loaded" : "not loaded");
    if (g == NULL)
        return;
    if (g->set.audit_path == NULL)
        ks_check_add(r, "audit_log", 1, "off");
    else if (g->audit != NULL)
        ks_check_add(r, "audit_log", 1, "open");
    else
        ks_check_add(r, "audit_log", !g->set.audit_required,
                     g->set.audit_required ? "cannot be written (audit.required)" : "cannot be written");
    /* Present only when verdict_signing is configured: the citizens' page
     * (www/app.js) asks for a signed verdict (?sign=1) only when it sees
     * this check, so it never shows a download the service cannot make.
     * The key was loaded with the configuration; a key that fails to load
     * fails the load, so a present check is always ok. */
    if (g->signer != NULL)
        ks_check_add(r, "verdict_signing", 1,
                     strcmp(ks_jws_key_alg(g->signer), "ES256") == 0
                         ? "ES256: ?sign=1 answers a signed verdict (application/jose)"
                         : "PS256: ?sign=1 answers a signed verdict (application/jose)");
    cJSON *st = g->ctx ? ks_ctx_status(g->ctx, ks_ctx_now(g->ctx)) : NULL;
    const cJSON *mc = cJSON_GetObjectItemCaseSensitive(st, "memcached"), *crl;
    /* Degraded is not unready (issue 22): with memcached down verdicts
     * continue from memory and the network, and a stale configured CRL
     * only means that certificate's status must come from elsewhere (OCSP,
     * a fresher CRL): the verdict says INDETERMINATE when nothing fresh is
     * found, which is still a correct verdict.  Taking a node out of the
     * balancer for either would take every node out at the same moment. */
    if (cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(mc, "servers")) == 0)
        ks_check_add(r, "memcached", 1, "not configured (in-process cache only)");
    else if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(mc, "up")))
        ks_check_add(r, "memcached", 1, "up");
    else
        ks_check_degraded(r, "memcached", "degraded: unreachable; verdicts continue from memory and the network");
    int ncrl = 0, stale = 0;
    cJSON_ArrayForEach(crl, cJSON_GetObjectItemCaseSensitive(st, "crls"))
    {
        ncrl++;
        stale += !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(crl, "fresh"));
    }
    if (stale > 0)
        ks_check_degraded(r, "crls", "degraded: a configured CRL is past nextUpdate (see /metrics); its "
                                     "certificates need OCSP or a fresher CRL");
    else
        ks_check_add(r, "crls", 1, ncrl == 0 ? "none configured" : "every configured CRL is fresh");
    cJSON_Delete(st);
}

int ks_fcgi_degraded(const ks_fcgi_readiness *r)
{
    for (size_t i = 0; i < r->n; i++)
        if (r->checks[i].degraded)
            return 1;
    return 0;
}

int ks_fcgi_ready(const ks_fcgi_readiness *r)
{
    for (size_t i = 0; i < r->n; i++)
        if (!r->checks[i].ok)
            return 0;
    return r->n > 0;
}

/* ---------------- responses ---------------- */

static void ks_free_ptr(void *p)
{
    free(p);
}

static void ks_free_json(void *p)
{
    cJSON_Delete(p);
}

/* Takes ownership of `doc`. */
static void ks_send_json(ks_fcgi_arena *a, ks_fcgi_resp *resp, int status, const char *ctype, cJSON *doc)
{
    char *s = doc ? cJSON_PrintUnformatted(doc) : NULL;
    cJSON_Delete(doc);
    if (s == NULL || !ks_fcgi_arena_cleanup(a, ks_free_ptr, s)) {
        static const char oom[] = "{\"type\":\"about:blank\",\"title\":\"out of memory\",\"status\":500}";
        resp->status = 500;
        resp->content_type = "application/problem+json";
        resp->body = oom;
        resp->body_len = sizeof oom - 1;
        resp->code = "KS_E_NOMEM";
        return;
    }
    resp->status = status;
    resp->content_type = ctype;
    resp->body = s;
    resp->body_len = strlen(s);
}

/* RFC 9457 problem details. */
static void ks_problem_doc(ks_fcgi_arena *a, const ks_fcgi_req *req, ks_fcgi_resp *resp, int status,
                           const char *type, const char *title, const char *code, const char *detail)
{
    cJSON *p = cJSON_CreateObject();
    if (p != NULL && (cJSON_AddStringToObject(p, "type", type) == NULL ||
                      cJSON_AddStringToObject(p, "title", title) == NULL ||
                      cJSON_AddNumberToObject(p, "status", status) == NULL ||
                      (detail != NULL && cJSON_AddStringToObject(p, "detail", detail) == NULL) ||
                      cJSON_AddStringToObject(p, "code", code) == NULL ||
                      cJSON_AddStringToObject(p, "request_id", req->request_id) == NULL)) {
        cJSON_Delete(p);
        p = NULL;
    }
    resp->code = code;
    ks_send_json(a, resp, status, "application/problem+json", p);
}

/* A ks_result as a problem: the status comes from ks_result_http_status(). */
static void ks_problem(ks_fcgi_arena *a, const ks_fcgi_req *req, ks_fcgi_resp *resp, ks_result r, const char *detail)
{
    char type[96];
    snprintf(type, sizeof type, "urn:kensho:problem:%s", ks_result_name(r));
    ks_problem_doc(a, req, resp, ks_result_http_status(r), type, ks_result_message(r), ks_result_name(r), detail);
}

/* HTTP-only conditions, no ks_result behind them. */
static const struct {
    int status;
    const char *code;
} ks_http_problems[] = {
    {404, "HTTP_NOT_FOUND"},
    {405, "HTTP_METHOD_NOT_ALLOWED"},
};

const char *ks_fcgi_http_problem_code(size_t i)
{
    size_t n = sizeof ks_http_problems / sizeof ks_http_problems[0];
    return i < n ? ks_http_problems[i].code : i == n ? "HTTP_ERROR" : NULL;
}

static void ks_http_problem(ks_fcgi_arena *a, const ks_fcgi_req *req, ks_fcgi_resp *resp, int status,
                            const char *detail)
{
    const char *code = "HTTP_ERROR";
    for (size_t i = 0; i < sizeof ks_http_problems / sizeof ks_http_problems[0]; i++)
        if (ks_http_problems[i].status == status)
            code = ks_http_problems[i].code;
    /* RFC 9457 4.2.1: with about:blank the title is the status phrase. */
    ks_problem_doc(a, req, resp, status, "about:blank", ks_fcgi_reason(status), code, detail);
}

/* ---------------- request parsing ---------------- */

/* The query: "at" and "sign" (each once).  Percent-decoding per RFC 3986
 * 2.1; a '+' is a plus sign (an RFC 3339 offset), not a space.  *sign is
 * the configured default (verdict_signing.sign) unless "sign=1" or
 * "sign=0" says otherwise. */
static ks_result ks_query_at(ks_fcgi_arena *a, const ks_fcgi_gen *g, const char *q, time_t *at, int *has_at,
                             int *sign, const char **why)
{
    int has_sign = 0;
    *has_at = 0;
    *sign = g != NULL && g->sign_default;
    if (q == NULL || *q == '\0')
        return KS_OK;
    size_t qlen = strlen(q);
    if (qlen > 1024) {
        *why = "query string too long";
        return KS_E_BAD_REQUEST;
    }
    char *buf = ks_fcgi_arena_strndup(a, q, qlen);
    if (buf == NULL)
        return KS_E_NOMEM;
    char *save = NULL;
    for (char *kv = strtok_r(buf, "&", &save); kv != NULL; kv = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(kv, '=');
        if (eq != NULL && (size_t)(eq - kv) == 4 && strncmp(kv, "sign", 4) == 0) {
            if (has_sign || (strcmp(eq + 1, "1") != 0 && strcmp(eq + 1, "0") != 0)) {
                *why = "\"sign\" is 1 or 0, once";
                return KS_E_BAD_REQUEST;
            }
            has_sign = 1;
            *sign = eq[1] == '1';
            continue;
        }
        if (eq == NULL || (size_t)(eq - kv) != 2 || strncmp(kv, "at", 2) != 0) {
            *why = "unknown query parameter (only \"at\" and \"sign\" are accepted)";
            return KS_E_BAD_REQUEST;
        }
        if (*has_at) {
            *why = "\"at\" given twice";
            return KS_E_BAD_REQUEST;
        }
        if (!ks_pct_decode_inplace(eq + 1)) {
            *why = "bad percent-encoding in the query";
            return KS_E_BAD_REQUEST;
        }
        if (ks_time_parse(eq + 1, at) != KS_OK) {
            *why = "\"at\" is not an RFC 3339 date-time";
            return KS_E_BAD_TIME;
        }
        *has_at = 1;
    }
    if (*sign && (g == NULL || g->signer == NULL)) {
        *why = "a signed verdict needs a verdict_signing key in the configuration";
        return KS_E_BAD_REQUEST;
    }
    return KS_OK;
}

static int ks_type_in(const char *type, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(type, *list) == 0)
            return 1;
    return 0;
}

/* Parses the JSON body (depth bounded first, nothing after it); the tree is
 * the arena's. */
static ks_result ks_json_body(ks_fcgi_arena *a, const ks_fcgi_gen *g, const ks_fcgi_req *req, cJSON **out,
                              const char **why)
{
    const char *end = NULL;
    if (!ks_fcgi_json_depth_ok(req->body, req->body_len, g->set.max_json_depth)) {
        *why = "JSON nested deeper than limits.max_json_depth";
        return KS_E_LIMIT;
    }
    cJSON *doc = cJSON_ParseWithLengthOpts((const char *)req->body, req->body_len, &end, 0);
    if (doc == NULL) {
        *why = "body is not JSON";
        return KS_E_BAD_REQUEST;
    }
    if (!ks_fcgi_arena_cleanup(a, ks_free_json, doc))
        return KS_E_NOMEM;
    for (const char *p = end; p < (const char *)req->body + req->body_len; p++)
        if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n') {
            *why = "data after the JSON document";
            return KS_E_BAD_REQUEST;
        }
    *out = doc;
    return KS_OK;
}

/* Parses a JSON body whose members are all strings, from `keys` only, each at
 * most once.  vals[i] receives the string for keys[i] or NULL. */
static ks_result ks_json_strings(ks_fcgi_arena *a, const ks_fcgi_gen *g, const ks_fcgi_req *req,
                                 const char *const *keys, const char **vals, size_t nkeys, const char **why)
{
    cJSON *doc = NULL;
    ks_result r = ks_json_body(a, g, req, &doc, why);
    if (r != KS_OK)
        return r;
    if (!cJSON_IsObject(doc)) {
        *why = "JSON body must be an object";
        return KS_E_BAD_REQUEST;
    }
    for (size_t i = 0; i < nkeys; i++)
        vals[i] = NULL;
    const cJSON *it;
    cJSON_ArrayForEach(it, doc)
    {
        size_t k = nkeys;
        for (size_t i = 0; i < nkeys; i++)
            if (strcmp(it->string, keys[i]) == 0)
                k = i;
        if (k == nkeys) {
            *why = "unknown member in the JSON body";
            return KS_E_BAD_REQUEST;
        }
        if (vals[k] != NULL) {
            *why = "a member appears twice in the JSON body";
            return KS_E_BAD_REQUEST;
        }
        if (!cJSON_IsString(it)) {
            *why = "JSON members must be strings";
            return KS_E_BAD_REQUEST;
        }
        vals[k] = it->valuestring;
    }
    return KS_OK;
}

/* ---------------- verification routes ---------------- */

/* A base64 member into an arena buffer. */
static ks_result ks_b64_member(ks_fcgi_arena *a, const cJSON *it, uint8_t **p, size_t *len, const char **why,
                               const char *not_b64)
{
    if (!cJSON_IsString(it)) {
        *why = "JSON members must be strings";
        return KS_E_BAD_REQUEST;
    }
    ks_result r = ks_fcgi_b64_decode(a, it->valuestring, strlen(it->valuestring), p, len);
    if (r != KS_OK)
        *why = not_b64;
    return r;
}

/*
 * One JSON verify body (or one batch item, with "id" when `id` is not NULL):
 * {"signature": b64, "content": b64} or, hash-only,
 * {"signature": b64, "content_digests": [{"algorithm": "sha256", "value": b64}, ...]}, each digest with a
 * "name" for an XML signature's attachment (verify/xml_digest.c).
 * Unknown or repeated members are refused.  Everything decoded lives in the
 * arena; vr->contents and vr->digests point into it.
 */
static ks_result ks_json_verify_item(ks_fcgi_arena *a, const ks_fcgi_gen *g, const cJSON *obj, ks_request *vr,
                                     const char **id, const char **why)
{
    const cJSON *it, *sig = NULL, *content = NULL, *digests = NULL, *idv = NULL;
    uint8_t *p;
    size_t len;
    ks_result r;
    if (!cJSON_IsObject(obj)) {
        *why = "a JSON verify body must be an object";
        return KS_E_BAD_REQUEST;
    }
    cJSON_ArrayForEach(it, obj)
    {
        const cJSON **slot = strcmp(it->string, "signature") == 0         ? &sig
                             : strcmp(it->string, "content") == 0         ? &content
                             : strcmp(it->string, "content_digests") == 0 ? &digests
                             : id != NULL && strcmp(it->string, "id") == 0 ? &idv
                                                                          : NULL;
        if (slot == NULL) {
            *why = "unknown member in the JSON body";
            return KS_E_BAD_REQUEST;
        }
        if (*slot != NULL) {
            *why = "a member appears twice in the JSON body";
            return KS_E_BAD_REQUEST;
        }
        *slot = it;
    }
    if (id != NULL) {
        if (!cJSON_IsString(idv) || idv->valuestring[0] == '\0' || strlen(idv->valuestring) > 128) {
            *why = "every item needs an \"id\": a string of 1 to 128 characters";
            return KS_E_BAD_REQUEST;
        }
        *id = idv->valuestring;
    }
    if (sig == NULL) {
        *why = "no \"signature\" member";
        return KS_E_BAD_REQUEST;
    }
    if ((r = ks_b64_member(a, sig, &p, &len, why, "\"signature\" is not base64")) != KS_OK)
        return r;
    vr->signature = (ks_blob){.data = p, .len = len};
    if (content != NULL) {
        ks_blob *c = ks_fcgi_arena_alloc(a, sizeof *c);
        if (c == NULL)
            return KS_E_NOMEM;
        if ((r = ks_b64_member(a, content, &p, &len, why, "\"content\" is not base64")) != KS_OK)
            return r;
        *c = (ks_blob){.data = p, .len = len};
        vr->contents = c;
        vr->n_contents = 1;
    }
    if (digests != NULL) {
        int n = cJSON_GetArraySize(digests);
        if (!cJSON_IsArray(digests) || n < 1 || n > KS_MAX_DIGESTS || n > g->set.max_parts) {
            *why = "\"content_digests\" must be an array of 1 to limits.max_parts digests (256 at most)";
            return cJSON_IsArray(digests) && n > 0 ? KS_E_LIMIT : KS_E_BAD_REQUEST;
        }
        ks_digest *d = ks_fcgi_arena_alloc(a, sizeof *d * (size_t)n);
        if (d == NULL)
            return KS_E_NOMEM;
        size_t k = 0;
        cJSON_ArrayForEach(it, digests)
        {
            const cJSON *alg = cJSON_GetObjectItemCaseSensitive(it, "algorithm");
            const cJSON *val = cJSON_GetObjectItemCaseSensitive(it, "value");
            const cJSON *name = cJSON_GetObjectItemCaseSensitive(it, "name");
            if (!cJSON_IsObject(it) || cJSON_GetArraySize(it) != (name != NULL ? 3 : 2) || !cJSON_IsString(alg) ||
                val == NULL || (name != NULL && !cJSON_IsString(name))) {
                *why = "each content digest is {\"algorithm\": \"sha256\", \"value\": base64}, with a \"name\" "
                       "for an XML attachment";
                return KS_E_BAD_REQUEST;
            }
            if ((r = ks_b64_member(a, val, &p, &len, why, "a content digest \"value\" is not base64")) != KS_OK)
                return r;
            d[k++] = (ks_digest){.name = name != NULL ? name->valuestring : NULL,
                                 .algorithm = alg->valuestring,
                                 .value = p,
                                 .len = len};
        }
        vr->digests = d;
        vr->n_digests = k;
    }
    return KS_OK;
}

int ks_fcgi_audit_failed(ks_fcgi_gen *g, ks_fcgi_arena *a, const ks_fcgi_req *req, ks_fcgi_resp *resp, ks_result r)
{
    ks_fcgi_metrics_audit_failure();
    const ks_log_field f[] = {{.key = "request_id", .str = req->request_id}, {.key = "code", .str = ks_result_name(r)}};
    ks_log_fields(KS_LOG_ERR, "audit record not written", f, sizeof f / sizeof f[0]);
    if (!g->set.audit_required)
        return 1;
    resp->indication = NULL;
    resp->audit_seq = 0;
    ks_problem(a, req, resp, KS_E_UNAVAILABLE, "the audit record could not be written");
    return 0;
}

/* Takes the verdict's audit record (resp->audit_seq: its write and sync are
 * still to come).  0 when resp became the 503 that replaces an unrecorded
 * verdict. */
static int ks_audit_or_refuse(ks_fcgi_gen *g, ks_fcgi_arena *a, const ks_fcgi_req *req, ks_fcgi_resp *resp,
                              const char *kind, const ks_blob *input, const ks_blob *contents, size_t ncontents,
                              const cJSON *verdict)
{
    if (g->set.audit_path == NULL)
        return 1; /* audit off (allowed only with audit.required false) */
    /* The injected clock, like every other time of the request (tests pin it). */
    ks_audit_event ev = {.time = ks_ctx_now(g->ctx),
                         .request_id = req->request_id,
                         .client_request_id = req->client_request_id,
                         .kind = kind,
                         .input = input,
                         .contents = contents,
                         .n_contents = ncontents,
                         .verdict = verdict,
                         .policy = ks_ctx_policy(g->ctx)};
    ks_result r = g->audit ? ks_audit_write(g->audit, &ev, &resp->audit_seq) : KS_E_UNAVAILABLE;
    if (r == KS_OK)
        return 1;
    return ks_fcgi_audit_failed(g, a, req, resp, r);
}

/*
 * The end of both verification routes: the verdict (freed here) is audited,
 * then answered as the same JSON bin/kensho prints (once its record is on
 * disk: resp->audit_seq).  Returns 1 when resp is complete (the verdict, a
 * problem for a failed verification, or the audit's 503); 0 when out of
 * memory.
 */
static int ks_answer_verdict(ks_fcgi_gen *g, ks_fcgi_arena *a, const ks_fcgi_req *req, ks_fcgi_resp *resp,
                             ks_result r, const char *kind, const ks_blob *input, const ks_blob *contents,
                             size_t ncontents, cJSON *verdict)
{
    int ret = 1;
    char *s = NULL;
    if (r != KS_OK) {
        ks_problem(a, req, resp, r, NULL);
        goto done;
    }
    if (!ks_audit_or_refuse(g, a, req, resp, kind, input, contents, ncontents, verdict))
        goto done;
    resp->indication = ks_indication_name(ks_verdict_indication(verdict));
    /* Freed by this thread, now: the answer itself may be sent (and its
     * arena reset) by another thread, and a tree of small blocks freed
     * across threads costs glibc a lock per block. */
    if ((s = cJSON_PrintUnformatted(verdict)) == NULL || !ks_fcgi_arena_cleanup(a, ks_free_ptr, s)) {
        ret = 0;
        goto done;
    }
    resp->status = 200;
    resp->content_type = "application/json";
    resp->body = s;
    resp->body_len = strlen(s);
done:
    cJSON_Delete(verdict);
    return ret;
}

static int ks_add_sha256(cJSON *arr, const char *role, const uint8_t *p, size_t n)
{
    uint8_t md[32];
    unsigned int mdlen = 0;
    char hex[65];
    cJSON *o = NULL;
    if (EVP_Digest(p != NULL ? p : (const uint8_t *)"", n, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
        return 0;
    ks_hex_encode(md, 32, hex);
    if ((o = cJSON_CreateObject()) == NULL || cJSON_AddStringToObject(o, "role", role) == NULL ||
        cJSON_AddStringToObject(o, "sha256", hex) == NULL || !cJSON_AddItemToArray(arr, o)) {
        cJSON_Delete(o);
        return 0;
    }
    return 1;
}

/*
 * A signed verdict (?sign=1, verdict_signing.sign): the answer is one RFC
 * 7515 compact JWS, application/jose, whose payload is
 *   {"verdict": the verdict as bin/kensho prints it,
 *    "inputs": [{"role": "signature" | "certificate" | "content", "sha256"}],
 *    "content_digests": [...] (hash-only), "audit": {"record_sha256", "seq"}
 *    or null (audit off), "request_id", "iat", "signed_at"}.
 * The audit record's line hash is known only once the group commit wrote
 * it, so this waits for it here (the worker blocks, as a signed verdict is
 * evidence and the record is part of it) and then signs: nothing is sent
 * for a record that is not on disk.  Takes `verdict`; 0 only when out of
 * memory (resp untouched).
 */
static int ks_answer_signed(ks_fcgi_gen *g, ks_fcgi_arena *a, const ks_fcgi_req *req, ks_fcgi_resp *resp,
                            ks_result r, const char *kind, const ks_request *vr, cJSON *verdict)
{
    int ret = 1;
    cJSON *pl = NULL, *inputs = NULL, *au = NULL;
    char *vtext = NULL, *ptext = NULL, *jws = NULL, hash[65], t[32];
    unsigned long long ticket = 0, record = 0, seq = 0;
    if (r != KS_OK) {
        ks_problem(a, req, resp, r, NULL);
        goto done;
    }
    if (g->set.audit_path != NULL) {
        ks_audit_event ev = {.time = ks_ctx_now(g->ctx), .request_id = req->request_id, .kind = kind,
                             .input = &vr->signature, .contents = vr->contents, .n_contents = vr->n_contents,
                             .verdict = verdict, .policy = ks_ctx_policy(g->ctx)};
        r = g->audit ? ks_audit_write_ticket(g->audit, &ev, &ticket, &record) : KS_E_UNAVAILABLE;
        if (r == KS_OK)
            r = ks_audit_synced(g->audit, ticket);
        if (r == KS_OK && ks_audit_record_hash(g->audit, record, hash, &seq) != KS_OK)
            r = KS_E_INTERNAL;
        if (r != KS_OK && !ks_fcgi_audit_failed(g, a, req, resp, r))
            goto done; /* no record, no verdict */
        if (r != KS_OK)
            record = 0; /* audit.required false: signed without a record, and says so */
    }
    ret = 0;
    time_t now = ks_ctx_now(g->ctx);
    ks_time_format(now, t, sizeof t);
    if ((pl = cJSON_CreateObject()) == NULL || (vtext = cJSON_PrintUnformatted(verdict)) == NULL ||
        cJSON_AddRawToObject(pl, "verdict", vtext) == NULL || (inputs = cJSON_AddArrayToObject(pl, "inputs")) == NULL ||
        !ks_add_sha256(inputs, kind, vr->signature.data, vr->signature.len))
        goto done;
    for (size_t i = 0; i < vr->n_contents; i++)
        if (!ks_add_sha256(inputs, "content", vr->contents[i].data, vr->contents[i].len))
            goto done;
    if (vr->n_digests > 0) {
        cJSON *ds = cJSON_AddArrayToObject(pl, "content_digests");
        for (size_t i = 0; ds != NULL && i < vr->n_digests; i++) {
            char hex[2 * 64 + 1];
            cJSON *o = cJSON_CreateObject();
            if (vr->digests[i].len > 64)
                ds = NULL;
            else
                ks_hex_encode(vr->digests[i].value, vr->digests[i].len, hex);
            if (ds == NULL || o == NULL ||
                (vr->digests[i].name != NULL && cJSON_AddStringToObject(o, "name", vr->digests[i].name) == NULL) ||
                cJSON_AddStringToObject(o, "algorithm", vr->digests[i].algorithm) == NULL ||
                cJSON_AddStringToObject(o, "value_hex", hex) == NULL || !cJSON_AddItemToArray(ds, o)) {
                cJSON_Delete(o);
                goto done;
            }
        }
        if (ds == NULL)
            goto done;
    }
    if (record != 0) {
        if ((au = cJSON_AddObjectToObject(pl, "audit")) == NULL ||
            cJSON_AddStringToObject(au, "record_sha256", hash) == NULL ||
            cJSON_AddNumberToObject(au, "seq", (double)seq) == NULL)
            goto done;
    } else if (cJSON_AddNullToObject(pl, "audit") == NULL) {
        goto done;
    }
    if (cJSON_AddStringToObject(pl, "request_id", req->request_id) == NULL ||
        cJSON_AddNumberToObject(pl, "iat", (double)now) == NULL || cJSON_AddStringToObject(pl, "signed_at", t) == NULL ||
        (ptext = cJSON_PrintUnformatted(pl)) == NULL)
        goto done;
    ret = 1;
    if ((r = ks_jws_sign(g->signer, ptext, strlen(ptext), &jws)) != KS_OK) {
        ks_problem(a, req, resp, r, "the verdict could not be signed");
        goto done;
    }
    if (!ks_fcgi_arena_cleanup(a, ks_free_ptr, jws)) {
        jws = NULL;
        ret = 0;
        goto done;
    }
    resp->indication = ks_indication_name(ks_verdict_indication(verdict));
    resp->status = 200;
    resp->content_type = "application/jose";
    resp->body = jws;
    resp->body_len = strlen(jws);
    jws = NULL;
done:
    cJSON_Delete(pl);
    free(vtext);
    free(ptext);
    free(jws);
    cJSON_Delete(verdict);
    return ret;
}

/* CMS (RFC 8551 3.2), XML Signature filings (e-Tax .xtx, e-Gov), e-Gov
 * ZIP packages and signed PDFs (RFC 8118). */
static const char *const ks_sig_raw_types[] = {"application/pkcs7-signature", "application/pkcs7-mime",
                                               "application/x-pkcs7-signature", "application/x-pkcs7-mime",
                                               "application/octet-stream", "application/xml", "text/xml",
                                               "application/zip", "application/pdf", NULL};

static void ks_route_verify(ks_fcgi_gen *g, ks_fcgi_arena *a, const ks_fcgi_req *req, ks_fcgi_resp *resp)
{
    const char *why = NULL;
    ks_fcgi_media m;
    ks_request vr = {0};
    ks_blob *contents = NULL;
    size_t ncontents = 0;
    int sign = 0;
    ks_result r = ks_query_at(a, g, req->query, &vr.at, &vr.has_at, &sign, &why);
    if (r != KS_OK)
        goto fail;
    if ((r = ks_fcgi_media_parse(req->content_type, &m, &why)) != KS_OK)
        goto fail;
    if (strcmp(m.type, "multipart/form-data") == 0) {
        ks_fcgi_part *parts = NULL;
        size_t n = 0, nsig = 0;
        if (!m.has_boundary) {
            r = KS_E_BAD_REQUEST;
            why = "multipart/form-data without a boundary";
            goto fail;
        }
        r = ks_fcgi_multipart_parse(a, m.boundary, req->body, req->body_len, g->set.max_parts, &parts, &n, &why);
        if (r != KS_OK)
            goto fail;
        if ((contents = ks_fcgi_arena_alloc(a, sizeof *contents * n)) == NULL) {
            r = KS_E_NOMEM;
            goto fail;
        }
        for (size_t i = 0; i < n; i++) {
            ks_blob b = {.name = parts[i].filename, .data = parts[i].data, .len = parts[i].len};
            if (strcmp(parts[i].name, "signature") == 0) {
                vr.signature = b;
                nsig++;
            } else if (strcmp(parts[i].name, "content") == 0 || parts[i].filename != NULL) {
                /* detached content, or an attachment named by its file name
                 * (e-Gov forms referenced by an XML signature) */
                contents[ncontents++] = b;
            } else {
                r = KS_E_BAD_REQUEST;
                why = "unexpected form field (expected \"signature\" and \"content\")";
                goto fail;
            }
        }
        if (nsig != 1) {
            r = KS_E_BAD_REQUEST;
            why = nsig == 0 ? "no \"signature\" part" : "more than one \"signature\" part";
            goto fail;
        }
    } else if (ks_type_in(m.type, ks_sig_raw_types)) {
        vr.signature = (ks_blob){.name = NULL, .data = req->body, .len = req->body_len};
    } else if (strcmp(m.type, "application/json") == 0) {
        cJSON *doc = NULL;
        if ((r = ks_json_body(a, g, req, &doc, &why)) != KS_OK ||
            (r = ks_json_verify_item(a, g, doc, &vr, NULL, &why)) != KS_OK)
            goto fail;
        contents = (ks_blob *)vr.contents;
        ncontents = vr.n_contents;
    } else {
        r = KS_E_UNSUPPORTED;
        why = "use multipart/form-data, application/pkcs7-signature, application/pkcs7-mime, "
              "application/octet-stream or application/json";
        goto fail;
    }
    vr.contents = contents;
    vr.n_contents = ncontents;
    cJSON *verdict = NULL;
    r = ks_verify_signature(g->ctx, &vr, &verdict);
    if (sign ? ks_answer_signed(g, a, req, resp, r, "signature", &vr, verdict)
             : ks_answer_verdict(g, a, req, resp, r, "signature", &vr.signature, contents, ncontents, verdict))
        return;
    r = KS_E_NOMEM;
fail:
    ks_problem(a, req, resp, r, why);
}

static const char *const ks_cert_raw_types[] = {"application/pkix-cert",
                                                "application/x-x509-ca-cert",
                                                "application/x-x509-user-cert",
                                                "application/x-pem-file",
                                                "application/pem-certificate-chain",
                                                "application/octet-stream",
                                                NULL};

static void ks_route_certificate(ks_fcgi_gen *g, ks_fcgi_arena *a, const ks_fcgi_req *req, ks_fcgi_resp *resp)
{
    const char *why = NULL;
    ks_fcgi_media m;
    time_t at = 0;
    int has_at = 0;
    ks_blob cert = {0};
    int sign = 0;
    ks_result r = ks_query_at(a, g, req->query, &at, &has_at, &sign, &why);
    if (r != KS_OK)
        goto fail;
    if ((r = ks_fcgi_media_parse(req->content_type, &m, &why)) != KS_OK)
        goto fail;
    if (ks_type_in(m.type, ks_cert_raw_types)) {
        cert = (ks_blob){.data = req->body, .len = req->body_len};
    } else if (strcmp(m.type, "application/json") == 0) {
        static const char *const keys[] = {"certificate"};
        const char *val;
        if ((r = ks_json_strings(a, g, req, keys, &val, 1, &why)) != KS_OK)
            goto fail;
        if (val == NULL) {
            r = KS_E_BAD_REQUEST;
            why = "no \"certificate\" member";
            goto fail;
        }
        size_t vlen = strlen(val);
        if (vlen >= 11 && strncmp(val, "-----BEGIN ", 11) == 0) {
            cert = (ks_blob){.data = (const uint8_t *)val, .len = vlen};
        } else {
            uint8_t *p;
            size_t len;
            if ((r = ks_fcgi_b64_decode(a, val, vlen, &p, &len)) != KS_OK) {
                why = "\"certificate\" is neither PEM nor base64";
                goto fail;
            }
            cert = (ks_blob){.data = p, .len = len};
        }
    } else {
        r = KS_E_UNSUPPORTED;
        why = "use application/pkix-cert, application/x-pem-file, application/octet-stream or application/json";
        goto fail;
    }
    cJSON *verdict = NULL;
    r = ks_verify_certificate(g->ctx, &cert, at, has_at, &verdict);
    ks_request cr = {.signature = cert};
    if (sign ? ks_answer_signed(g, a, req, resp, r, "certificate", &cr, verdict)
             : ks_answer_verdict(g, a, req, resp, r, "certificate", &cert, NULL, 0, verdict))
        return;
    r = KS_E_NOMEM;
fail:
    ks_problem(a, req, resp, r, why);
}

/* ---------------- batch ---------------- */

static double ks_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* One item's problem, as the problem document says it (no request_id: the
 * batch's X-Request-Id is the answer's). */
static cJSON *ks_item_problem(ks_result r, const char *detail)
{
    char type[96];
    cJSON *p = cJSON_CreateObject();
    snprintf(type, sizeof type, "urn:kensho:problem:%s", ks_result_name(r));
    if (p != NULL && (cJSON_AddStringToObject(p, "type", type) == NULL ||
                      cJSON_AddStringToObject(p, "title", ks_result_message(r)) == NULL ||
                      cJSON_AddNumberToObject(p, "status", ks_result_http_status(r)) == NULL ||
                      (detail != NULL && cJSON_AddStringToObject(p, "detail", detail) == NULL) ||
                      cJSON_AddStringToObject(p, "code", ks_result_name(r)) == NULL)) {
        cJSON_Delete(p);
        p = NULL;
    }
    return p;
}

/*
 * POST /api/v1/verify/batch: {"items": [{"id", "signature", "content" |
 * "content_digests"}, ...]}, at most limits.max_batch items, ?at= for all.
 * Answers 200 {"api_version", "results": [{"id", "status", "verdict" |
 * "problem"}]} in the items' order: an item that fails (malformed, not a
 * signature, no audit record) is a problem in its place, never a failed
 * whole.  One audit record per verdict, each with the request id and the
 * item's place ("<id>-<n>"); the answer waits for the last of them (the
 * group commit writes records in order).  The whole batch is bounded by
 * max_body_bytes (the body) and request_timeout_ms: items not started in
 * time answer 503 each.  Batch answers are not signed.
 */
static void ks_route_batch(ks_fcgi_gen *g, ks_fcgi_arena *a, const ks_fcgi_req *req, ks_fcgi_resp *resp)
{
    const char *why = NULL;
    ks_fcgi_media m;
    cJSON *doc = NULL, *out = NULL, *results = NULL;
    time_t at = 0;
    int has_at = 0, sign = 0;
    unsigned long long last = 0;
    ks_result r = ks_query_at(a, NULL, req->query, &at, &has_at, &sign, &why);
    if (r != KS_OK)
        goto fail;
    if ((r = ks_fcgi_media_parse(req->content_type, &m, &why)) != KS_OK)
        goto fail;
    if (strcmp(m.type, "application/json") != 0) {
        r = KS_E_UNSUPPORTED;
        why = "a batch is application/json";
        goto fail;
    }
    if ((r = ks_json_body(a, g, req, &doc, &why)) != KS_OK)
        goto fail;
    const cJSON *items = cJSON_GetObjectItemCaseSensitive(doc, "items"), *it;
    r = KS_E_BAD_REQUEST;
    if (!cJSON_IsObject(doc) || cJSON_GetArraySize(doc) != 1 || !cJSON_IsArray(items) ||
        cJSON_GetArraySize(items) == 0) {
        why = "a batch is {\"items\": [...]} with at least one item";
        goto fail;
    }
    if (cJSON_GetArraySize(items) > g->set.max_batch) {
        r = KS_E_LIMIT;
        why = "more items than limits.max_batch";
        goto fail;
    }
    r = KS_E_NOMEM;
    if ((out = cJSON_CreateObject()) == NULL || cJSON_AddStringToObject(out, "api_version", KS_API_VERSION) == NULL ||
        (results = cJSON_AddArrayToObject(out, "results")) == NULL)
        goto fail;
    double deadline = ks_mono_ms() + g->set.request_timeout_ms;
    size_t n = 0;
    cJSON_ArrayForEach(it, items)
    {
        ks_request vr = {.at = at, .has_at = has_at};
        const char *id = NULL, *iwhy = NULL;
        cJSON *res = cJSON_CreateObject(), *verdict = NULL, *prob = NULL;
        if (res == NULL || !cJSON_AddItemToArray(results, res)) {
            cJSON_Delete(res);
            goto fail;
        }
        n++;
        ks_result ir = ks_json_verify_item(a, g, it, &vr, &id, &iwhy);
        const cJSON *idv = cJSON_GetObjectItemCaseSensitive(it, "id");
        if (cJSON_AddItemToObject(res, "id", cJSON_IsString(idv) ? cJSON_CreateString(idv->valuestring)
                                                                 : cJSON_CreateNull()) == 0)
            goto fail;
        if (ir == KS_OK && ks_mono_ms() > deadline) {
            ir = KS_E_UNAVAILABLE;
            iwhy = "the batch ran out of limits.request_timeout_ms before this item";
        }
        if (ir == KS_OK)
            ir = ks_verify_signature(g->ctx, &vr, &verdict);
        if (ir == KS_OK && g->set.audit_path != NULL) {
            char rid[96];
            unsigned long long ticket = 0, record = 0;
            snprintf(rid, sizeof rid, "%s-%zu", req->request_id, n);
            ks_audit_event ev = {.time = ks_ctx_now(g->ctx), .request_id = rid, .kind = "signature",
                                 .input = &vr.signature, .contents = vr.contents, .n_contents = vr.n_contents,
                                 .verdict = verdict, .policy = ks_ctx_policy(g->ctx)};
            ks_result ar = g->audit ? ks_audit_write_ticket(g->audit, &ev, &ticket, &record) : KS_E_UNAVAILABLE;
            if (ar == KS_OK && ticket > last)
                last = ticket;
            if (ar != KS_OK) {
                ks_fcgi_metrics_audit_failure();
                if (g->set.audit_required) {
                    cJSON_Delete(verdict);
                    verdict = NULL;
                    ir = KS_E_UNAVAILABLE;
                    iwhy = "the audit record could not be written";
                }
            }
        }
        if (ir == KS_OK) {
            if (cJSON_AddNumberToObject(res, "status", 200) == NULL || !cJSON_AddItemToObject(res, "verdict", verdict)) {
                cJSON_Delete(verdict);
                goto fail;
            }
        } else if ((prob = ks_item_problem(ir, iwhy)) == NULL ||
                   cJSON_AddNumberToObject(res, "status", ks_result_http_status(ir)) == NULL ||
                   !cJSON_AddItemToObject(res, "problem", prob)) {
            cJSON_Delete(prob);
            goto fail;
        }
    }
    resp->audit_seq = last; /* the records are written in order: the last one covers all */
    ks_send_json(a, resp, 200, "application/json", out);
    return;
fail:
    cJSON_Delete(out);
    if (r == KS_E_NOMEM)
        why = NULL;
    resp->audit_seq = 0;
    ks_problem(a, req, resp, r, why);
}

/* ---------------- operational routes ---------------- */

static void ks_route_healthz(ks_fcgi_gen *g, ks_fcgi_arena *a, const ks_fcgi_req *req, ks_fcgi_resp *resp)
{
    (void)g;
    (void)req;
    cJSON *o = cJSON_CreateObject();
    if (o != NULL && cJSON_AddStringToObject(o, "status", "ok") == NULL) {
        cJSON_Delete(o);
        o = NULL;
    }
    ks_send_json(a, resp, 200, "application/json", o);
}

static void ks_route_readyz(ks_fcgi_gen *g, ks_fcgi_arena *a, const ks_fcgi_req *req, ks_fcgi_resp *resp)
{
    (void)req;
    ks_fcgi_readiness rd;
    ks_fcgi_readiness_collect(g, &rd);
    int ready = ks_fcgi_ready(&rd);
    cJSON *o = cJSON_CreateObject();
    cJSON *checks = o ? cJSON_AddObjectToObject(o, "checks") : NULL;
    const char *status = !ready ? "not_ready" : ks_fcgi_degraded(&rd) ? "degraded" : "ready";
    int ok = checks != NULL && cJSON_AddStringToObject(o, "status", status) != NULL;
    for (size_t i = 0; ok && i < rd.n; i++) {
        cJSON *c = cJSON_AddObjectToObject(checks, rd.checks[i].name);
        ok = c != NULL && cJSON_AddBoolToObject(c, "ok", rd.checks[i].ok) != NULL &&
             cJSON_AddBoolToObject(c, "degraded", rd.checks[i].degraded) != NULL &&
             cJSON_AddStringToObject(c, "detail", rd.checks[i].detail) != NULL;
    }
    if (!ok) {
        cJSON_Delete(o);
        o = NULL;
    }
    ks_send_json(a, resp, ready ? 200 : 503, "application/json", o);
}

static void ks_route_metrics(ks_fcgi_gen *g, ks_fcgi_arena *a, const ks_fcgi_req *req, ks_fcgi_resp *resp)
{
    (void)g;
    char *text = NULL;
    size_t len = 0;
    ks_result r = ks_fcgi_metrics_render(g ? g->ctx : NULL, g ? g->audit : NULL, a, &text, &len);
    if (r != KS_OK) {
        ks_problem(a, req, resp, r, "metrics could not be rendered");
        return;
    }
    resp->status = 200;
    resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
    resp->body = text;
    resp->body_len = len;
}

static void ks_route_openapi(ks_fcgi_gen *g, ks_fcgi_arena *a, const ks_fcgi_req *req, ks_fcgi_resp *resp)
{
    (void)g;
    const char *text = NULL;
    size_t len = 0;
    ks_result r = ks_fcgi_openapi(&text, &len);
    if (r != KS_OK) {
        ks_problem(a, req, resp, r, "the OpenAPI document could not be built");
        return;
    }
    resp->status = 200;
    resp->content_type = "application/json";
    resp->body = text; /* static, built once */
    resp->body_len = len;
}

/* The floor of `make bench`: the same body read through nginx and libfcgi,
 * no verification, a fixed answer.  Exists only with service.bench_routes. */
static void ks_route_echo_bench(ks_fcgi_gen *g, ks_fcgi_arena *a, const ks_fcgi_req *req, ks_fcgi_resp *resp)
{
    (void)g;
    char *s = ks_fcgi_arena_alloc(a, 64);
    if (s == NULL) {
        ks_problem(a, req, resp, KS_E_NOMEM, NULL);
        return;
    }
    int n = snprintf(s, 64, "{\"status\":\"ok\",\"bytes\":%zu}", req->body_len);
    resp->status = 200;
    resp->content_type = "application/json";
    resp->body = s;
    resp->body_len = n > 0 && n < 64 ? (size_t)n : 0;
}

/* ---------------- dispatch ---------------- */

typedef void (*ks_route_fn)(ks_fcgi_gen *, ks_fcgi_arena *, const ks_fcgi_req *, ks_fcgi_resp *);

static const struct {
    const char *path;
    const char *method;
    ks_fcgi_route route;
    ks_route_fn fn;
    int has_body;
    int bench_only; /* 404 unless service.bench_routes */
} ks_routes[] = {
    {"/api/v1/verify", "POST", KS_ROUTE_VERIFY, ks_route_verify, 1},
    {"/api/v1/certificate", "POST", KS_ROUTE_CERTIFICATE, ks_route_certificate, 1},
    {"/healthz", "GET", KS_ROUTE_HEALTHZ, ks_route_healthz, 0},
    {"/readyz", "GET", KS_ROUTE_READYZ, ks_route_readyz, 0},
    {"/metrics", "GET", KS_ROUTE_METRICS, ks_route_metrics, 0},
    {"/api/v1/openapi.json", "GET", KS_ROUTE_OTHER, ks_route_openapi, 0},
    {"/api/v1/verify/batch", "POST", KS_ROUTE_OTHER, ks_route_batch, 1},
    {"/api/v1/echo-bench", "POST", KS_ROUTE_OTHER, ks_route_echo_bench, 1, 1},
};

void ks_fcgi_handle(ks_fcgi_gen *g, ks_fcgi_arena *a, const ks_fcgi_req *req, ks_fcgi_resp *resp)
{
    memset(resp, 0, sizeof *resp);
    resp->route = KS_ROUTE_OTHER;
    size_t i, nroutes = sizeof ks_routes / sizeof ks_routes[0];
    for (i = 0; i < nroutes; i++)
        if (req->path != NULL && strcmp(req->path, ks_routes[i].path) == 0 &&
            (!ks_routes[i].bench_only || (g != NULL && g->set.bench_routes)))
            break;
    if (i == nroutes) {
        ks_http_problem(a, req, resp, 404, "no such resource");
        return;
    }
    resp->route = ks_routes[i].route;
    if (req->method == NULL || strcmp(req->method, ks_routes[i].method) != 0) {
        resp->allow = ks_routes[i].method;
        ks_http_problem(a, req, resp, 405, NULL);
        return;
    }
    if (ks_routes[i].has_body) {
        if (req->body_result != KS_OK) {
            ks_problem(a, req, resp, req->body_result,
                       req->body_result == KS_E_TOO_LARGE     ? "the body exceeds limits.max_body_bytes"
                       : req->body_result == KS_E_BAD_REQUEST ? "the body does not match CONTENT_LENGTH"
                                                              : "the body could not be read");
            return;
        }
        if (g == NULL || g->ctx == NULL) {
            ks_problem(a, req, resp, KS_E_UNAVAILABLE, "no trust store loaded");
            return;
        }
        /* Fail closed before verifying: no record, no verdict. */
        if (g->set.audit_path != NULL && g->audit == NULL && g->set.audit_required) {
            ks_problem(a, req, resp, KS_E_UNAVAILABLE, "the audit log cannot be written");
            return;
        }
        if (req->body_len == 0) {
            ks_problem(a, req, resp, KS_E_EMPTY, "empty body");
            return;
        }
    }
    ks_routes[i].fn(g, a, req, resp);
}
