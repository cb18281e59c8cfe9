/*
 * verify/config.c - the JSON configuration and the process-wide context.
 *
 * The context is built once and is read-only afterwards, so worker threads
 * share it without locks.  Every key is checked: unknown keys, wrong types
 * and unreadable files are errors that name the key or the file.
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/objects.h>

#include "internal.h"

#define KS_CONFIG_MAX_BYTES (1024 * 1024)
#define KS_CERT_FILE_MAX (4 * 1024 * 1024)
#define KS_DIR_MAX_FILES 4096

/* Defaults: see README "Configuration". */
static const ks_limits ks_default_limits = {
    .max_input_bytes = 20 * 1024 * 1024, /* = the service's max_body_bytes: a 20 MB PDF fits */
    .max_certs = 64,
    .max_crls = 16,
    .max_signers = 16,
    .max_path_length = 12,
    .max_paths = 32,
};

/* Sunsets as ETSI TS 119 312 V1.5.1 gives them, the edition EU DSS's
 * default validation policy carries: SHA-1 in signatures until 2012-08-01,
 * RSA moduli below 1900 bits until 2019-10-01 (README "Algorithm sunset"). */
#define KS_SUNSET_SHA1 ((time_t)1343779200)    /* 2012-08-01T00:00:00Z */
#define KS_SUNSET_RSA1024 ((time_t)1569888000) /* 2019-10-01T00:00:00Z */
static const ks_algpolicy ks_default_alg = {.min_rsa_bits = 2048,
                                            .min_ec_bits = 256,
                                            .min_dsa_bits = 2048,
                                            .allow_sha1 = 0,
                                            .allow_md5 = 0,
                                            .sunset_sha1 = KS_SUNSET_SHA1,
                                            .sunset_rsa1024 = KS_SUNSET_RSA1024};

typedef struct {
    char *msg; /* first error wins */
    const char *base_dir;
} ks_cfgerr;

static int ks_cfg_fail(ks_cfgerr *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int ks_cfg_fail(ks_cfgerr *e, const char *fmt, ...)
{
    if (e->msg == NULL) {
        char buf[1024];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(buf, sizeof buf, fmt, ap);
        va_end(ap);
        e->msg = strdup(buf);
    }
    return 0;
}

/* Relative paths in the configuration are relative to the file itself. */
static char *ks_cfg_path(ks_cfgerr *e, const char *p)
{
    if (p[0] == '/' || e->base_dir == NULL)
        return strdup(p);
    size_t n = strlen(e->base_dir) + strlen(p) + 2;
    char *out = malloc(n);
    if (out != NULL)
        snprintf(out, n, "%s/%s", e->base_dir, p);
    return out;
}

static void ks_strv_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* An array of strings; absent is an empty array. */
static int ks_cfg_strings(ks_cfgerr *e, const cJSON *obj, const char *key, const char *path,
                          char ***out, size_t *n)
{
    *out = NULL;
    *n = 0;
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (a == NULL)
        return 1;
    if (!cJSON_IsArray(a))
        return ks_cfg_fail(e, "key \"%s\": must be an array of strings", path);
    int count = cJSON_GetArraySize(a);
    char **v = calloc((size_t)count + 1, sizeof *v);
    if (v == NULL)
        return ks_cfg_fail(e, "out of memory");
    int i = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, a)
    {
        if (!cJSON_IsString(it) || it->valuestring[0] == '\0') {
            ks_strv_free(v, (size_t)i);
            return ks_cfg_fail(e, "key \"%s\": item %d must be a non-empty string", path, i);
        }
        if ((v[i] = strdup(it->valuestring)) == NULL) {
            ks_strv_free(v, (size_t)i);
            return ks_cfg_fail(e, "out of memory");
        }
        i++;
    }
    *out = v;
    *n = (size_t)count;
    return 1;
}

static int ks_cfg_int(ks_cfgerr *e, const cJSON *obj, const char *key, const char *path, long lo,
                      long hi, long *out)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (it == NULL)
        return 1;
    /* Range first: converting a double outside long's range is undefined. */
    if (!cJSON_IsNumber(it) || !(it->valuedouble >= (double)lo && it->valuedouble <= (double)hi) ||
        it->valuedouble != (double)(long)it->valuedouble)
        return ks_cfg_fail(e, "key \"%s\": must be an integer from %ld to %ld", path, lo, hi);
    *out = (long)it->valuedouble;
    return 1;
}

static int ks_cfg_bool(ks_cfgerr *e, const cJSON *obj, const char *key, const char *path, int *out)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (it == NULL)
        return 1;
    if (!cJSON_IsBool(it))
        return ks_cfg_fail(e, "key \"%s\": must be true or false", path);
    *out = cJSON_IsTrue(it);
    return 1;
}

/* Every key of obj must be in `known`. */
static int ks_cfg_known(ks_cfgerr *e, const cJSON *obj, const char *where, const char *const *known)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, obj)
    {
        int ok = 0;
        for (const char *const *k = known; *k; k++)
            if (strcmp(*k, it->string) == 0)
                ok = 1;
        if (!ok)
            return ks_cfg_fail(e, "unknown key \"%s%s%s\"", where, where[0] ? "." : "", it->string);
    }
    return 1;
}

static int ks_cfg_object(ks_cfgerr *e, const cJSON *root, const char *key, const cJSON **out)
{
    *out = cJSON_GetObjectItemCaseSensitive(root, key);
    if (*out != NULL && !cJSON_IsObject(*out))
        return ks_cfg_fail(e, "key \"%s\": must be an object", key);
    return 1;
}

static int ks_name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Calls fn for the file, or for every regular file of a directory (sorted,
 * hidden files skipped). */
static int ks_cfg_each_file(ks_cfgerr *e, const char *key, const char *p,
                            int (*fn)(ks_cfgerr *, const char *, const char *, void *), void *arg)
{
    char *path = ks_cfg_path(e, p);
    struct stat st;
    int ok = 0;
    if (path == NULL)
        return ks_cfg_fail(e, "out of memory");
    if (stat(path, &st) != 0) {
        ks_cfg_fail(e, "key \"%s\": %s: %s", key, path, strerror(errno));
        goto out;
    }
    if (!S_ISDIR(st.st_mode)) {
        ok = fn(e, key, path, arg);
        goto out;
    }
    DIR *d = opendir(path);
    if (d == NULL) {
        ks_cfg_fail(e, "key \"%s\": %s: %s", key, path, strerror(errno));
        goto out;
    }
    char *names[KS_DIR_MAX_FILES];
    size_t n = 0;
    struct dirent *de;
    ok = 1;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        if (n == KS_DIR_MAX_FILES) {
            ok = ks_cfg_fail(e, "key \"%s\": %s: more than %d files", key, path, KS_DIR_MAX_FILES);
            break;
        }
        size_t len = strlen(path) + strlen(de->d_name) + 2;
        if ((names[n] = malloc(len)) == NULL) {
            ok = ks_cfg_fail(e, "out of memory");
            break;
        }
        snprintf(names[n++], len, "%s/%s", path, de->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof names[0], ks_name_cmp);
    for (size_t i = 0; i < n; i++) {
        if (ok && stat(names[i], &st) == 0 && S_ISREG(st.st_mode))
            ok = fn(e, key, names[i], arg);
        free(names[i]);
    }
out:
    free(path);
    return ok;
}

static int ks_cfg_cert_file(ks_cfgerr *e, const char *key, const char *path, void *arg)
{
    STACK_OF(X509) *into = arg;
    int before = sk_X509_num(into);
    ks_result r = ks_load_certs_file(path, into);
    if (r != KS_OK || sk_X509_num(into) == before)
        return ks_cfg_fail(e, "key \"%s\": %s: %s", key, path,
                           r == KS_OK ? "no certificate in file" : ks_result_message(r));
    return 1;
}

static int ks_cfg_certs(ks_cfgerr *e, const cJSON *root, const char *key, STACK_OF(X509) *into)
{
    char **v;
    size_t n;
    int ok = ks_cfg_strings(e, root, key, key, &v, &n);
    for (size_t i = 0; ok && i < n; i++)
        ok = ks_cfg_each_file(e, key, v[i], ks_cfg_cert_file, into);
    ks_strv_free(v, n);
    return ok;
}

/* An intermediate whose policies OpenSSL cannot process safely (path.c
 * ks_policy_cache_unsafe) ends no path; left in the pool, OpenSSL could
 * still take it as a CRL issuer's certificate and build its policy cache
 * while threads share it.  It is left out, with a warning. */
static void ks_cfg_drop_policy_unsafe(STACK_OF(X509) *sk)
{
    for (int i = sk_X509_num(sk) - 1; i >= 0; i--) {
        X509 *x = sk_X509_value(sk, i);
        if (!ks_policy_cache_unsafe(x))
            continue;
        /* Named by fingerprint: a subject's localities are part of a
         * JPKI address, and logs carry no personal data. */
        char fp[65];
        ks_log(KS_LOG_WARN,
               "intermediates: left out the certificate with SHA-256 %s: policyConstraints without a "
               "certificatePolicies extension of distinct policies",
               ks_cert_fp(x, fp) ? fp : "(unknown)");
        X509_free(sk_X509_delete(sk, i));
    }
}

static int ks_cfg_crl_file(ks_cfgerr *e, const char *key, const char *path, void *arg)
{
    ks_ctx *ctx = arg;
    X509_CRL *crl = NULL;
    int n = sk_X509_CRL_num(ctx->crls);
    ks_result r = ks_load_crl_file(path, ctx->rev.max_response_bytes, &crl);
    if (r != KS_OK)
        return ks_cfg_fail(e, "key \"%s\": %s: %s", key, path, ks_result_message(r));
    char **o = realloc(ctx->crl_origins, ((size_t)n + 1) * sizeof *o);
    if (o != NULL)
        ctx->crl_origins = o;
    if (o == NULL || (o[n] = strdup(path)) == NULL || !sk_X509_CRL_push(ctx->crls, crl)) {
        if (o != NULL)
            free(o[n]);
        X509_CRL_free(crl);
        return ks_cfg_fail(e, "out of memory");
    }
    return 1;
}

static int ks_cfg_revocation(ks_cfgerr *e, const cJSON *root, ks_ctx *ctx)
{
    static const char *const known[] = {"mode",      "allow_urls",         "timeout_ms",
                                        "prefer",    "max_response_bytes", "clock_skew_s",
                                        "ocsp_nonce", "ocsp_certid_hash",  "ocsp_max_age_s", "crl_refresh_s", NULL};
    ks_revocation_cfg *rv = &ctx->rev;
    rv->mode = KS_REV_REQUIRE; /* fail closed unless told otherwise */
    rv->timeout_ms = 5000;
    rv->max_response_bytes = 64 * 1024 * 1024;
    rv->clock_skew_s = 300;
    rv->ocsp_nonce = KS_NONCE_ON;
    rv->ocsp_max_age_s = KS_OCSP_MAX_AGE_DEFAULT;
    rv->crl_refresh_s = 3600;
    const cJSON *o;
    if (!ks_cfg_object(e, root, "revocation", &o) || o == NULL)
        return e->msg == NULL;
    if (!ks_cfg_known(e, o, "revocation", known))
        return 0;
    const cJSON *mode = cJSON_GetObjectItemCaseSensitive(o, "mode");
    if (mode != NULL) {
        const char *m = cJSON_GetStringValue(mode);
        if (m != NULL && strcmp(m, "require") == 0)
            rv->mode = KS_REV_REQUIRE;
        else if (m != NULL && strcmp(m, "soft-fail") == 0)
            rv->mode = KS_REV_SOFT_FAIL;
        else if (m != NULL && strcmp(m, "off") == 0)
            rv->mode = KS_REV_OFF;
        else
            return ks_cfg_fail(e, "key \"revocation.mode\": must be \"require\", \"soft-fail\" or \"off\"");
    }
    const cJSON *prefer = cJSON_GetObjectItemCaseSensitive(o, "prefer");
    if (prefer != NULL) {
        const char *p = cJSON_GetStringValue(prefer);
        if (p == NULL || (strcmp(p, "ocsp") != 0 && strcmp(p, "crl") != 0))
            return ks_cfg_fail(e, "key \"revocation.prefer\": must be \"ocsp\" or \"crl\"");
        rv->prefer_crl = strcmp(p, "crl") == 0;
    }
    const cJSON *hash = cJSON_GetObjectItemCaseSensitive(o, "ocsp_certid_hash");
    if (hash != NULL) {
        const char *h = cJSON_GetStringValue(hash);
        if (h == NULL || (strcmp(h, "sha1") != 0 && strcmp(h, "sha256") != 0))
            return ks_cfg_fail(e, "key \"revocation.ocsp_certid_hash\": must be \"sha1\" or \"sha256\"");
        rv->ocsp_certid_sha256 = strcmp(h, "sha256") == 0;
    }
    /* true / false, or "require": an answer without our nonce is refused
     * (RFC 6960 4.4.1); with true it is bounded by ocsp_max_age_s. */
    const cJSON *nonce = cJSON_GetObjectItemCaseSensitive(o, "ocsp_nonce");
    if (nonce != NULL) {
        if (cJSON_IsBool(nonce))
            rv->ocsp_nonce = cJSON_IsTrue(nonce) ? KS_NONCE_ON : KS_NONCE_OFF;
        else if (cJSON_IsString(nonce) && strcmp(nonce->valuestring, "require") == 0)
            rv->ocsp_nonce = KS_NONCE_REQUIRE;
        else
            return ks_cfg_fail(e, "key \"revocation.ocsp_nonce\": must be true, false or \"require\"");
    }
    long timeout = rv->timeout_ms, maxb = (long)rv->max_response_bytes, skew = rv->clock_skew_s,
         age = rv->ocsp_max_age_s, refresh = rv->crl_refresh_s;
    if (!ks_cfg_strings(e, o, "allow_urls", "revocation.allow_urls", &rv->allow_urls, &rv->n_allow_urls) ||
        !ks_cfg_int(e, o, "timeout_ms", "revocation.timeout_ms", 1, 120000, &timeout) ||
        !ks_cfg_int(e, o, "max_response_bytes", "revocation.max_response_bytes", 1024, 1L << 30, &maxb) ||
        !ks_cfg_int(e, o, "clock_skew_s", "revocation.clock_skew_s", 0, 86400, &skew) ||
        !ks_cfg_int(e, o, "ocsp_max_age_s", "revocation.ocsp_max_age_s", 0, 365 * 86400L, &age) ||
        !ks_cfg_int(e, o, "crl_refresh_s", "revocation.crl_refresh_s", 0, 7 * 86400L, &refresh))
        return 0;
    for (size_t i = 0; i < rv->n_allow_urls; i++)
        if (strncmp(rv->allow_urls[i], "http://", 7) != 0 && strncmp(rv->allow_urls[i], "https://", 8) != 0)
            return ks_cfg_fail(e, "key \"revocation.allow_urls\": \"%s\" is not an http(s) URL prefix",
                               rv->allow_urls[i]);
    rv->timeout_ms = (int)timeout;
    rv->max_response_bytes = (size_t)maxb;
    rv->clock_skew_s = (int)skew;
    rv->ocsp_max_age_s = (int)age;
    rv->crl_refresh_s = (int)refresh;
    return 1;
}

static int ks_cfg_sources(ks_cfgerr *e, const cJSON *root, ks_ctx *ctx)
{
    static const char *const known[] = {"issuer", "crl", "ocsp", NULL};
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(root, "revocation_sources");
    if (a == NULL)
        return 1;
    if (!cJSON_IsArray(a))
        return ks_cfg_fail(e, "key \"revocation_sources\": must be an array of objects");
    int n = cJSON_GetArraySize(a);
    ctx->sources = calloc((size_t)n + 1, sizeof *ctx->sources);
    if (ctx->sources == NULL)
        return ks_cfg_fail(e, "out of memory");
    const cJSON *it;
    cJSON_ArrayForEach(it, a)
    {
        char where[64];
        snprintf(where, sizeof where, "revocation_sources[%zu]", ctx->n_sources);
        ks_rev_source *s = &ctx->sources[ctx->n_sources++];
        if (!cJSON_IsObject(it))
            return ks_cfg_fail(e, "key \"%s\": must be an object", where);
        if (!ks_cfg_known(e, it, where, known))
            return 0;
        const char *issuer = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "issuer"));
        if (issuer == NULL)
            return ks_cfg_fail(e, "key \"%s.issuer\": must name a CA certificate file", where);
        STACK_OF(X509) *tmp = sk_X509_new_null();
        char *path = ks_cfg_path(e, issuer);
        int ok = tmp != NULL && path != NULL && ks_cfg_cert_file(e, where, path, tmp);
        free(path);
        if (ok && sk_X509_num(tmp) != 1)
            ok = ks_cfg_fail(e, "key \"%s.issuer\": %s: must hold exactly one certificate", where, issuer);
        if (ok)
            s->issuer = sk_X509_shift(tmp);
        sk_X509_pop_free(tmp, X509_free);
        if (!ok)
            return 0;
        char key[96];
        snprintf(key, sizeof key, "%s.crl", where);
        if (!ks_cfg_strings(e, it, "crl", key, &s->crl, &s->n_crl))
            return 0;
        for (size_t i = 0; i < s->n_crl; i++) {
            if (strstr(s->crl[i], "://") != NULL)
                continue; /* a URL, fetched under allow_urls */
            char *p = ks_cfg_path(e, s->crl[i]);
            if (p == NULL)
                return ks_cfg_fail(e, "out of memory");
            free(s->crl[i]);
            s->crl[i] = p;
            /* Local files are loaded once, like "crls"; the check picks
             * CRLs by issuer name and key, whoever listed them. */
            if (!ks_cfg_crl_file(e, key, p, ctx))
                return 0;
        }
        const cJSON *ocsp = cJSON_GetObjectItemCaseSensitive(it, "ocsp");
        if (ocsp != NULL) {
            if (!cJSON_IsString(ocsp) || strncmp(ocsp->valuestring, "http://", 7) != 0)
                return ks_cfg_fail(e, "key \"%s.ocsp\": must be an http:// URL", where);
            if ((s->ocsp = strdup(ocsp->valuestring)) == NULL)
                return ks_cfg_fail(e, "out of memory");
        }
    }
    return 1;
}

static int ks_cfg_policies(ks_cfgerr *e, const cJSON *root, ks_ctx *ctx)
{
    char **v;
    size_t n;
    if (!ks_cfg_strings(e, root, "accept_policies", "accept_policies", &v, &n))
        return 0;
    int ok = 1;
    for (size_t i = 0; ok && i < n; i++) {
        ASN1_OBJECT *obj = OBJ_txt2obj(v[i], 1); /* dotted numbers only */
        if (obj == NULL) {
            ks_log_openssl("OBJ_txt2obj (accept_policies)");
            ok = ks_cfg_fail(e, "key \"accept_policies\": \"%s\" is not an OID", v[i]);
        } else if (!sk_ASN1_OBJECT_push(ctx->policies, obj)) {
            ASN1_OBJECT_free(obj);
            ok = ks_cfg_fail(e, "out of memory");
        }
    }
    ks_strv_free(v, n);
    return ok && ks_cfg_bool(e, root, "require_explicit_policy", "require_explicit_policy",
                             &ctx->require_explicit_policy) &&
           ks_cfg_bool(e, root, "inhibit_policy_mapping", "inhibit_policy_mapping",
                       &ctx->inhibit_policy_mapping) &&
           ks_cfg_bool(e, root, "inhibit_any_policy", "inhibit_any_policy", &ctx->inhibit_any_policy);
}

/* signer_ekus: the extendedKeyUsage purposes that make a certificate fit to
 * sign documents (verify.c ks_signer_eku_ok); absent = these defaults. */
static const char *const ks_default_signer_ekus[] = {
    "2.5.29.37.0",               /* anyExtendedKeyUsage (RFC 5280 4.2.1.12) */
    "1.3.6.1.5.5.7.3.4",         /* id-kp-emailProtection */
    "1.3.6.1.5.5.7.3.36",        /* id-kp-documentSigning (RFC 9336) */
    "1.3.6.1.4.1.311.10.3.12",   /* Microsoft document signing */
    "1.2.840.113583.1.1.5",      /* Adobe authentic documents trust */
    NULL};

static int ks_cfg_signer_ekus(ks_cfgerr *e, const cJSON *root, ks_ctx *ctx)
{
    char **v = NULL;
    size_t n = 0;
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(root, "signer_ekus");
    if (it != NULL && !ks_cfg_strings(e, root, "signer_ekus", "signer_ekus", &v, &n))
        return 0;
    if ((ctx->signer_ekus = sk_ASN1_OBJECT_new_null()) == NULL)
        return ks_cfg_fail(e, "out of memory");
    int ok = 1;
    for (size_t i = 0; ok && (it != NULL ? i < n : ks_default_signer_ekus[i] != NULL); i++) {
        const char *txt = it != NULL ? v[i] : ks_default_signer_ekus[i];
        ASN1_OBJECT *obj = OBJ_txt2obj(txt, 1); /* dotted numbers only */
        if (obj == NULL) {
            ks_log_openssl("OBJ_txt2obj (signer_ekus)");
            ok = ks_cfg_fail(e, "key \"signer_ekus\": \"%s\" is not an OID", txt);
        } else if (!sk_ASN1_OBJECT_push(ctx->signer_ekus, obj)) {
            ASN1_OBJECT_free(obj);
            ok = ks_cfg_fail(e, "out of memory");
        }
    }
    ks_strv_free(v, n);
    return ok;
}

static int ks_cfg_limits(ks_cfgerr *e, const cJSON *root, ks_ctx *ctx)
{
    static const char *const known[] = {"max_input_bytes", "max_certs",       "max_crls",  "max_signers",
                                        "max_path_length", "max_paths",       "max_body_bytes",
                                        "max_parts",       "max_json_depth", "request_timeout_ms", "max_batch", NULL};
    ctx->limits = ks_default_limits;
    const cJSON *o;
    if (!ks_cfg_object(e, root, "limits", &o) || o == NULL)
        return e->msg == NULL;
    if (!ks_cfg_known(e, o, "limits", known))
        return 0;
    ks_limits *l = &ctx->limits;
    long in = (long)l->max_input_bytes, certs = l->max_certs, crls = l->max_crls, signers = l->max_signers,
         plen = l->max_path_length, paths = l->max_paths;
    if (!ks_cfg_int(e, o, "max_input_bytes", "limits.max_input_bytes", 1024, 1L << 30, &in) ||
        !ks_cfg_int(e, o, "max_certs", "limits.max_certs", 1, 1000, &certs) ||
        !ks_cfg_int(e, o, "max_crls", "limits.max_crls", 0, 1000, &crls) ||
        !ks_cfg_int(e, o, "max_signers", "limits.max_signers", 1, 1000, &signers) ||
        !ks_cfg_int(e, o, "max_path_length", "limits.max_path_length", 2, 64, &plen) ||
        !ks_cfg_int(e, o, "max_paths", "limits.max_paths", 1, 1024, &paths))
        return 0;
    l->max_input_bytes = (size_t)in;
    l->max_certs = (int)certs;
    l->max_crls = (int)crls;
    l->max_signers = (int)signers;
    l->max_path_length = (int)plen;
    l->max_paths = (int)paths;
    return 1;
}

/* algorithms.sunset: {"sha1": "YYYY-MM-DD" | RFC 3339 | null, "rsa-1024": ...}. */
static int ks_cfg_sunset(ks_cfgerr *e, const cJSON *o, ks_ctx *ctx)
{
    static const char *const known[] = {"sha1", "rsa-1024", NULL};
    const cJSON *sun = cJSON_GetObjectItemCaseSensitive(o, "sunset"), *it;
    if (sun == NULL)
        return 1;
    if (!cJSON_IsObject(sun))
        return ks_cfg_fail(e, "key \"algorithms.sunset\": must be an object");
    if (!ks_cfg_known(e, sun, "algorithms.sunset", known))
        return 0;
    cJSON_ArrayForEach(it, sun)
    {
        time_t *dst = strcmp(it->string, "sha1") == 0 ? &ctx->alg.sunset_sha1 : &ctx->alg.sunset_rsa1024;
        char buf[64];
        const char *v = cJSON_GetStringValue(it);
        if (cJSON_IsNull(it)) {
            *dst = 0;
            continue;
        }
        if (v != NULL && strlen(v) == 10)
            snprintf(buf, sizeof buf, "%sT00:00:00Z", v);
        else
            snprintf(buf, sizeof buf, "%s", v != NULL ? v : "");
        if (v == NULL || strlen(v) >= 40 || ks_time_parse(buf, dst) != KS_OK)
            return ks_cfg_fail(e, "key \"algorithms.sunset.%s\": must be a date (YYYY-MM-DD or RFC 3339) or null",
                               it->string);
    }
    return 1;
}

static int ks_cfg_algorithms(ks_cfgerr *e, const cJSON *root, ks_ctx *ctx)
{
    static const char *const known[] = {"min_rsa_bits", "min_ec_bits", "min_dsa_bits", "allow_sha1",
                                        "allow_md5", "sunset", NULL};
    ctx->alg = ks_default_alg;
    const cJSON *o;
    if (!ks_cfg_object(e, root, "algorithms", &o) || o == NULL)
        return e->msg == NULL;
    if (!ks_cfg_known(e, o, "algorithms", known))
        return 0;
    long rsa = ctx->alg.min_rsa_bits, ec = ctx->alg.min_ec_bits, dsa = ctx->alg.min_dsa_bits;
    if (!ks_cfg_int(e, o, "min_rsa_bits", "algorithms.min_rsa_bits", 512, 16384, &rsa) ||
        !ks_cfg_int(e, o, "min_ec_bits", "algorithms.min_ec_bits", 160, 571, &ec) ||
        !ks_cfg_int(e, o, "min_dsa_bits", "algorithms.min_dsa_bits", 512, 16384, &dsa) ||
        !ks_cfg_bool(e, o, "allow_sha1", "algorithms.allow_sha1", &ctx->alg.allow_sha1) ||
        !ks_cfg_bool(e, o, "allow_md5", "algorithms.allow_md5", &ctx->alg.allow_md5) || !ks_cfg_sunset(e, o, ctx))
        return 0;
    ctx->alg.min_rsa_bits = (int)rsa;
    ctx->alg.min_ec_bits = (int)ec;
    ctx->alg.min_dsa_bits = (int)dsa;
    return 1;
}

/* Sections parsed by other modules (fcgi/, cache/) are kept as JSON. */
static int ks_cfg_sections(ks_cfgerr *e, const cJSON *root, ks_ctx *ctx)
{
    static const char *const names[] = {"service", "cache", "audit", "limits", "log", "verdict_signing", NULL};
    ctx->sections = cJSON_CreateObject();
    if (ctx->sections == NULL)
        return ks_cfg_fail(e, "out of memory");
    for (const char *const *n = names; *n; n++) {
        const cJSON *o;
        if (!ks_cfg_object(e, root, *n, &o))
            return 0;
        if (o != NULL && !cJSON_AddItemToObject(ctx->sections, *n, cJSON_Duplicate(o, 1)))
            return ks_cfg_fail(e, "out of memory");
    }
    return 1;
}

/* memcached is shared by every node, and by anyone else who can reach it:
 * with servers listed, entries must be authenticated (cache.hmac_key or
 * hmac_key_file, the same key on every node; README "Scaling out").
 * Without a key a writer to memcached could plant well-framed entries that
 * only the re-verification stands between (issue 22). */
static int ks_cfg_shared_key(ks_cfgerr *e, const cJSON *root, const ks_ctx *ctx)
{
    const cJSON *cache = cJSON_GetObjectItemCaseSensitive(root, "cache");
    if (ctx->n_memcached == 0 || cJSON_GetObjectItemCaseSensitive(cache, "hmac_key") != NULL ||
        cJSON_GetObjectItemCaseSensitive(cache, "hmac_key_file") != NULL)
        return 1;
    return ks_cfg_fail(e, "key \"cache.hmac_key\": required when \"memcached\" lists servers "
                          "(hmac_key or hmac_key_file, the same on every node)");
}

static cJSON *ks_policy_summary(const ks_ctx *ctx)
{
    static const char *modes[] = {"require", "soft-fail", "off"};
    cJSON *p = cJSON_CreateObject();
    cJSON *pol = cJSON_AddArrayToObject(p, "accept_policies");
    for (int i = 0; i < sk_ASN1_OBJECT_num(ctx->policies); i++) {
        char oid[128];
        OBJ_obj2txt(oid, sizeof oid, sk_ASN1_OBJECT_value(ctx->policies, i), 1);
        cJSON_AddItemToArray(pol, cJSON_CreateString(oid));
    }
    cJSON_AddBoolToObject(p, "require_explicit_policy", ks_policy_explicit(ctx));
    cJSON_AddBoolToObject(p, "inhibit_policy_mapping", ctx->inhibit_policy_mapping);
    cJSON_AddBoolToObject(p, "inhibit_any_policy", ctx->inhibit_any_policy);
    cJSON *ekus = cJSON_AddArrayToObject(p, "signer_ekus");
    for (int i = 0; i < sk_ASN1_OBJECT_num(ctx->signer_ekus); i++) {
        char oid[128];
        OBJ_obj2txt(oid, sizeof oid, sk_ASN1_OBJECT_value(ctx->signer_ekus, i), 1);
        cJSON_AddItemToArray(ekus, cJSON_CreateString(oid));
    }
    cJSON_AddStringToObject(p, "revocation", modes[ctx->rev.mode]);
    cJSON *alg = cJSON_AddObjectToObject(p, "algorithms");
    cJSON_AddNumberToObject(alg, "min_rsa_bits", ctx->alg.min_rsa_bits);
    cJSON_AddNumberToObject(alg, "min_ec_bits", ctx->alg.min_ec_bits);
    cJSON_AddBoolToObject(alg, "allow_sha1", ctx->alg.allow_sha1);
    cJSON *sun = cJSON_AddObjectToObject(alg, "sunset");
    const time_t sunsets[2] = {ctx->alg.sunset_sha1, ctx->alg.sunset_rsa1024};
    const char *const sunset_names[2] = {"sha1", "rsa-1024"};
    for (int i = 0; i < 2; i++) {
        char tb[32];
        ks_time_format(sunsets[i], tb, sizeof tb);
        if (sunsets[i] != 0)
            cJSON_AddStringToObject(sun, sunset_names[i], tb);
        else
            cJSON_AddNullToObject(sun, sunset_names[i]);
    }
    cJSON_AddNumberToObject(p, "trust_anchors", sk_X509_num(ctx->anchors));
    cJSON_AddNumberToObject(p, "timestamp_anchors", sk_X509_num(ctx->ts_anchors));
    return p;
}

static time_t ks_wall_clock(void *arg)
{
    (void)arg;
    return time(NULL);
}

/* SHA-256 over the DER of each certificate of sk, framed by its length. */
static int ks_digest_certs(EVP_MD_CTX *h, STACK_OF(X509) *sk)
{
    for (int i = 0; i < sk_X509_num(sk); i++) {
        unsigned char *der = NULL;
        int n = i2d_X509(sk_X509_value(sk, i), &der);
        int ok = n > 0 && EVP_DigestUpdate(h, &n, sizeof n) == 1 && EVP_DigestUpdate(h, der, (size_t)n) == 1;
        OPENSSL_free(der);
        if (!ok)
            return 0;
    }
    return 1;
}

static int ks_digest_str(EVP_MD_CTX *h, const char *s)
{
    size_t n = s ? strlen(s) + 1 : 0; /* the NUL separates; NULL is empty */
    return EVP_DigestUpdate(h, &n, sizeof n) == 1 && (n == 0 || EVP_DigestUpdate(h, s, n) == 1);
}

/*
 * The digests a reload compares (ks_ctx_take_over), over what each part of
 * the cached evidence was accepted by:
 *   id_rules  anchors, intermediates, algorithms, revocation_sources (the
 *             issuer's DER, CRL locations, responder) and the revocation
 *             keys decode and fetch apply (max_response_bytes, clock_skew_s,
 *             ocsp_nonce, ocsp_max_age_s, ocsp_certid_hash).  mode, prefer
 *             and timeout_ms decide how evidence is sought, not whether it
 *             is acceptable: not included.
 *   id_urls   allow_urls, in order.
 *   id_crls   the DER of every local CRL (ocsp.c ks_crl_says_good).
 */
static int ks_ctx_digests(ks_ctx *ctx)
{
    EVP_MD_CTX *h = EVP_MD_CTX_new();
    char buf[256];
    int ok = h != NULL && EVP_DigestInit_ex(h, EVP_sha256(), NULL) == 1 && ks_digest_certs(h, ctx->anchors) &&
             ks_digest_str(h, "|") && ks_digest_certs(h, ctx->intermediates);
    snprintf(buf, sizeof buf, "alg %d %d %d %d %d rev %zu %d %d %d %d", ctx->alg.min_rsa_bits, ctx->alg.min_ec_bits,
             ctx->alg.min_dsa_bits, ctx->alg.allow_sha1, ctx->alg.allow_md5, ctx->rev.max_response_bytes,
             ctx->rev.clock_skew_s, (int)ctx->rev.ocsp_nonce, ctx->rev.ocsp_max_age_s, ctx->rev.ocsp_certid_sha256);
    ok = ok && ks_digest_str(h, buf);
    for (size_t i = 0; ok && i < ctx->n_sources; i++) {
        STACK_OF(X509) *one = sk_X509_new_null();
        ok = one != NULL && sk_X509_push(one, ctx->sources[i].issuer) && ks_digest_certs(h, one) &&
             ks_digest_str(h, ctx->sources[i].ocsp);
        sk_X509_free(one);
        for (size_t k = 0; ok && k < ctx->sources[i].n_crl; k++)
            ok = ks_digest_str(h, ctx->sources[i].crl[k]);
        ok = ok && ks_digest_str(h, "|");
    }
    ok = ok && EVP_DigestFinal_ex(h, ctx->id_rules, NULL) == 1 && EVP_DigestInit_ex(h, EVP_sha256(), NULL) == 1;
    for (size_t i = 0; ok && i < ctx->rev.n_allow_urls; i++)
        ok = ks_digest_str(h, ctx->rev.allow_urls[i]);
    ok = ok && EVP_DigestFinal_ex(h, ctx->id_urls, NULL) == 1 && EVP_DigestInit_ex(h, EVP_sha256(), NULL) == 1;
    for (int i = 0; ok && i < sk_X509_CRL_num(ctx->crls); i++) {
        unsigned char *der = NULL;
        int n = i2d_X509_CRL(sk_X509_CRL_value(ctx->crls, i), &der);
        ok = n > 0 && EVP_DigestUpdate(h, &n, sizeof n) == 1 && EVP_DigestUpdate(h, der, (size_t)n) == 1;
        OPENSSL_free(der);
    }
    ok = ok && EVP_DigestFinal_ex(h, ctx->id_crls, NULL) == 1;
    EVP_MD_CTX_free(h);
    if (!ok)
        ks_log_openssl(__func__);
    return ok;
}

ks_result ks_ctx_load(const char *path, ks_ctx **out, char **errmsg)
{
    return ks_ctx_reload(path, NULL, out, errmsg);
}

ks_result ks_ctx_reload(const char *path, ks_ctx *prev, ks_ctx **out, char **errmsg)
{
    static const char *const known[] = {
        "trust_anchors",  "intermediates",          "crls",
        "revocation",     "revocation_sources",     "accept_policies",
        "memcached",      "require_explicit_policy", "inhibit_policy_mapping",
        "inhibit_any_policy", "limits",             "algorithms",
        "service",        "cache",                  "audit",
        "log",            "signer_ekus",            "timestamp_anchors", "verdict_signing", NULL};
    ks_cfgerr e = {0};
    ks_result ret = KS_E_CONFIG;
    uint8_t *text = NULL;
    size_t len = 0;
    cJSON *root = NULL;
    char *dir = NULL;
    ks_ctx *ctx = NULL;

    *out = NULL;
    *errmsg = NULL;
    ks_json_init(); /* before any verdict is built (verdict.c) */
    ks_openssl_drain(__func__);
    ks_result r = ks_read_file(path, KS_CONFIG_MAX_BYTES, &text, &len);
    if (r != KS_OK) {
        ks_cfg_fail(&e, "%s: %s", path, r == KS_E_IO ? strerror(errno) : ks_result_message(r));
        goto done;
    }
    root = cJSON_ParseWithLength((const char *)text, len);
    if (root == NULL || !cJSON_IsObject(root)) {
        ks_cfg_fail(&e, "%s: not a JSON object", path);
        goto done;
    }
    dir = strdup(path);
    if (dir == NULL)
        goto done;
    char *slash = strrchr(dir, '/');
    if (slash != NULL) {
        *slash = '\0';
        e.base_dir = dir[0] ? dir : "/";
    }
    ctx = calloc(1, sizeof *ctx);
    if (ctx == NULL)
        goto done;
    atomic_init(&ctx->refs, 1);
    ctx->clock = ks_wall_clock;
    ctx->store = X509_STORE_new();
    ctx->anchors = sk_X509_new_null();
    ctx->intermediates = sk_X509_new_null();
    ctx->ts_anchors = sk_X509_new_null();
    ctx->crls = sk_X509_CRL_new_null();
    ctx->policies = sk_ASN1_OBJECT_new_null();
    if (ctx->store == NULL || ctx->anchors == NULL || ctx->intermediates == NULL || ctx->ts_anchors == NULL ||
        ctx->crls == NULL ||
        ctx->policies == NULL) {
        ks_cfg_fail(&e, "out of memory");
        goto done;
    }
    if (!ks_cfg_known(&e, root, "", known) || !ks_cfg_limits(&e, root, ctx) ||
        !ks_cfg_algorithms(&e, root, ctx) || !ks_cfg_revocation(&e, root, ctx) ||
        !ks_cfg_certs(&e, root, "trust_anchors", ctx->anchors) ||
        !ks_cfg_certs(&e, root, "intermediates", ctx->intermediates) ||
        !ks_cfg_certs(&e, root, "timestamp_anchors", ctx->ts_anchors) || !ks_cfg_sources(&e, root, ctx) ||
        !ks_cfg_policies(&e, root, ctx) || !ks_cfg_signer_ekus(&e, root, ctx) ||
        !ks_cfg_strings(&e, root, "memcached", "memcached", &ctx->memcached, &ctx->n_memcached) ||
        !ks_cfg_sections(&e, root, ctx) || !ks_cfg_shared_key(&e, root, ctx))
        goto done;
    char **crls;
    size_t ncrl;
    int ok = ks_cfg_strings(&e, root, "crls", "crls", &crls, &ncrl);
    for (size_t i = 0; ok && i < ncrl; i++)
        ok = ks_cfg_each_file(&e, "crls", crls[i], ks_cfg_crl_file, ctx);
    ks_strv_free(crls, ncrl);
    if (!ok)
        goto done;
    ks_cfg_drop_policy_unsafe(ctx->intermediates);
    if (sk_X509_num(ctx->anchors) == 0) {
        ks_cfg_fail(&e, "key \"trust_anchors\": no trust anchor configured");
        goto done;
    }
    for (int i = 0; i < sk_X509_num(ctx->anchors); i++) {
        if (X509_STORE_add_cert(ctx->store, sk_X509_value(ctx->anchors, i)) != 1) {
            ks_log_openssl("X509_STORE_add_cert");
            ks_cfg_fail(&e, "key \"trust_anchors\": cannot add certificate %d", i);
            goto done;
        }
    }
    /* RFC 3161 TSAs are trusted for time, not for signatures: their own
     * store, so a TSA root never ends a signer's path (tsp.c). */
    if (sk_X509_num(ctx->ts_anchors) > 0) {
        if ((ctx->ts_store = X509_STORE_new()) == NULL) {
            ks_cfg_fail(&e, "out of memory");
            goto done;
        }
        for (int i = 0; i < sk_X509_num(ctx->ts_anchors); i++) {
            if (X509_STORE_add_cert(ctx->ts_store, sk_X509_value(ctx->ts_anchors, i)) != 1) {
                ks_log_openssl("X509_STORE_add_cert");
                ks_cfg_fail(&e, "key \"timestamp_anchors\": cannot add certificate %d", i);
                goto done;
            }
        }
    }
    /* The decoded-certificate and validation cache is the context's own
     * (vcache.c: it depends on the anchors and intermediates); the
     * registry of evidence seen is carried over from prev (its anchors and
     * intermediates are added to it). */
    if (prev != NULL) {
        char fp[65];
        ctx->registry = ks_registry_ref(prev->registry);
        for (int i = 0; i < sk_X509_num(ctx->anchors); i++)
            ks_registry_put(ctx->registry, sk_X509_value(ctx->anchors, i), fp);
        for (int i = 0; i < sk_X509_num(ctx->intermediates); i++)
            ks_registry_put(ctx->registry, sk_X509_value(ctx->intermediates, i), fp);
    } else {
        ctx->registry = ks_registry_new(ctx->anchors, ctx->intermediates);
    }
    if (ctx->registry == NULL || (ctx->vcache = ks_vcache_new()) == NULL) {
        ks_cfg_fail(&e, "out of memory");
        goto done;
    }
    ks_vcache_note_certs(ctx->vcache, ctx->anchors);
    ks_vcache_note_certs(ctx->vcache, ctx->intermediates);
    if (!ks_ctx_digests(ctx)) {
        ks_cfg_fail(&e, "cannot digest the revocation configuration");
        goto done;
    }
    const cJSON *csec = cJSON_GetObjectItemCaseSensitive(root, "cache");
    char *cerr = NULL;
    if (prev != NULL && prev->cache != NULL && ks_cache_same_config(prev->cache, csec, ctx->memcached, ctx->n_memcached)) {
        ctx->cache = ks_cache_ref(prev->cache);
    } else if (ks_cache_new(csec, ctx->memcached, ctx->n_memcached, &ctx->cache, &cerr) != KS_OK) {
        ks_cfg_fail(&e, "%s", cerr ? cerr : "cannot set up the cache");
        free(cerr);
        goto done;
    }
    ctx->cache_epoch = ks_cache_epoch(ctx->cache);
    cJSON *policy = ks_policy_summary(ctx);
    ctx->policy_json = policy ? cJSON_PrintUnformatted(policy) : NULL;
    cJSON_Delete(policy);
    if (ctx->policy_json == NULL) {
        ks_cfg_fail(&e, "out of memory");
        goto done;
    }
    *out = ctx;
    ctx = NULL;
    ret = KS_OK;
done:
    if (ret != KS_OK) {
        if (e.msg == NULL)
            ks_cfg_fail(&e, "out of memory");
        *errmsg = e.msg;
    } else {
        free(e.msg);
    }
    ks_ctx_unref(ctx);
    cJSON_Delete(root);
    free(text);
    free(dir);
    return ret;
}

/* The URL at the end of a cache key: "crl|<fp>|<url>",
 * "ocsp|<md>|<fp>|<serial>|<url>" (revoke.c, ocsp.c). */
static const char *ks_key_url(const char *key)
{
    int bars = strncmp(key, "crl|", 4) == 0 ? 2 : strncmp(key, "ocsp|", 5) == 0 ? 4 : 0;
    const char *p = key;
    for (int i = 0; i < bars && p != NULL; i++)
        if ((p = strchr(p, '|')) != NULL)
            p++;
    return bars > 0 ? p : NULL;
}

typedef struct {
    const ks_ctx *ctx;
    int urls, crls; /* what changed */
} ks_purge_arg;

/* ks_cache_purge's rule (under the cache's lock: no cache calls here). */
static int ks_purge_drop(void *arg, const char *key, const void *obj)
{
    const ks_purge_arg *pa = arg;
    if (obj == NULL)
        return 1; /* a remembered failure may be what the change fixes */
    if (pa->urls) {
        /* Embedded evidence ("emb:<sha256>", revoke.c ks_rev_emb_tag) is
         * named by its bytes and never fetched: allow_urls is not its rule. */
        const char *url = ks_key_url(key);
        if (url == NULL || (strncmp(url, "emb:", 4) != 0 && !ks_url_allowed(pa->ctx, url)))
            return 1;
    }
    if (pa->crls && strncmp(key, "ocsp|", 5) == 0 && ((const ks_ocsp_answer *)obj)->crl_vouched)
        return 1;
    return 0;
}

size_t ks_ctx_take_over(ks_ctx *ctx, const ks_ctx *prev, char *why, size_t whylen)
{
    size_t dropped = 0;
    ks_cache_stats st;
    if (prev == NULL || prev->cache != ctx->cache) {
        snprintf(why, whylen, "new revocation cache (cache settings or memcached servers changed)");
        return 0;
    }
    ks_cache_get_stats(ctx->cache, &st);
    ks_purge_arg pa = {.ctx = ctx,
                       .urls = memcmp(ctx->id_urls, prev->id_urls, 32) != 0,
                       .crls = memcmp(ctx->id_crls, prev->id_crls, 32) != 0};
    if (memcmp(ctx->id_rules, prev->id_rules, 32) != 0) {
        dropped = ks_cache_purge(ctx->cache, NULL, NULL);
        snprintf(why, whylen, "dropped all %zu entries (trust anchors, intermediates, algorithms, revocation "
                              "rules or revocation_sources changed)", dropped);
    } else if (pa.urls || pa.crls) {
        dropped = ks_cache_purge(ctx->cache, ks_purge_drop, &pa);
        snprintf(why, whylen, "dropped %zu of %zu entries (%s%s%s changed)", dropped, st.entries,
                 pa.urls ? "allow_urls" : "", pa.urls && pa.crls ? ", " : "", pa.crls ? "local CRLs" : "");
    } else {
        snprintf(why, whylen, "kept all %zu entries (revocation configuration unchanged)", st.entries);
    }
    /* After the purge: prev's loads from now on stay its own. */
    ctx->cache_epoch = ks_cache_epoch(ctx->cache);
    return dropped;
}

void ks_ctx_free_contents(ks_ctx *ctx)
{
    /* First: refreshes queued for this context use the rest of it.  A
     * cache shared with a newer context lives on without them. */
    ks_cache_forget(ctx->cache, ctx);
    ks_cache_free(ctx->cache);
    ks_registry_free(ctx->registry);
    ks_vcache_free(ctx->vcache);
    X509_STORE_free(ctx->store);
    sk_X509_pop_free(ctx->anchors, X509_free);
    sk_X509_pop_free(ctx->intermediates, X509_free);
    X509_STORE_free(ctx->ts_store);
    sk_X509_pop_free(ctx->ts_anchors, X509_free);
    for (int i = 0; i < sk_X509_CRL_num(ctx->crls); i++)
        free(ctx->crl_origins[i]);
    free(ctx->crl_origins);
    sk_X509_CRL_pop_free(ctx->crls, X509_CRL_free);
    sk_ASN1_OBJECT_pop_free(ctx->policies, ASN1_OBJECT_free);
    sk_ASN1_OBJECT_pop_free(ctx->signer_ekus, ASN1_OBJECT_free);
    ks_strv_free(ctx->rev.allow_urls, ctx->rev.n_allow_urls);
    for (size_t i = 0; i < ctx->n_sources; i++) {
        X509_free(ctx->sources[i].issuer);
        ks_strv_free(ctx->sources[i].crl, ctx->sources[i].n_crl);
        free(ctx->sources[i].ocsp);
    }
    free(ctx->sources);
    ks_strv_free(ctx->memcached, ctx->n_memcached);
    free(ctx->policy_json);
    cJSON_Delete(ctx->sections);
}

ks_ctx *ks_ctx_ref(ks_ctx *ctx)
{
    if (ctx != NULL)
        atomic_fetch_add(&ctx->refs, 1);
    return ctx;
}

void ks_ctx_unref(ks_ctx *ctx)
{
    if (ctx == NULL || atomic_fetch_sub(&ctx->refs, 1) != 1)
        return;
    ks_ctx_free_contents(ctx);
    free(ctx);
}

void ks_ctx_set_clock(ks_ctx *ctx, ks_clock_fn fn, void *arg)
{
    ctx->clock = fn ? fn : ks_wall_clock;
    ctx->clock_arg = arg;
}

time_t ks_ctx_now(const ks_ctx *ctx)
{
    return ctx->clock(ctx->clock_arg);
}

size_t ks_ctx_max_input(const ks_ctx *ctx)
{
    return ctx->limits.max_input_bytes;
}

const char *ks_ctx_policy(const ks_ctx *ctx)
{
    return ctx->policy_json;
}

const cJSON *ks_ctx_section(const ks_ctx *ctx, const char *name)
{
    return cJSON_GetObjectItemCaseSensitive(ctx->sections, name);
}
