/*
 * fcgi/openapi.c - GET /api/v1/openapi.json: the API contract as an OpenAPI
 * 3.1 document.
 *
 * The document is fcgi/openapi.json, embedded into the binary at build time
 * (.incbin below; fcgi.mk makes openapi.o depend on it).  Every member
 * "x-kensho-enum": NAME in it becomes "enum": [...] filled from the tables
 * the code itself answers with (verify.h KS_SUBINDICATIONS, the reason and
 * warning tables of verdict.c, base.h KS_RESULTS and the handler's HTTP
 * problems), so the enums the document promises are the codes this very
 * binary can send: they cannot drift.  Built once per process, on first
 * use, and kept; read-only afterwards.
 *
 * Served by the FastCGI handler rather than as a static file through nginx:
 * a static file would be a second copy of the tables, made by a build step
 * that a deployment can skip or get out of step with the binary behind it.
 */
#include <pthread.h>
#include <string.h>

#include "fcgi.h"

__asm__(".section .rodata\n"
        ".balign 16\n"
        ".type ks_openapi_template, @object\n"
        "ks_openapi_template:\n"
        ".incbin \"fcgi/openapi.json\"\n"
        ".byte 0\n"
        ".size ks_openapi_template, . - ks_openapi_template\n"
        ".previous\n");
extern const char ks_openapi_template[];

typedef const char *(*ks_enum_fn)(size_t i);

static const char *ks_enum_indication(size_t i)
{
    return i <= KS_TOTAL_FAILED ? ks_indication_name((ks_indication)i) : NULL;
}

static const char *ks_enum_subindication(size_t i)
{
    return i + 1 < KS_SUB_COUNT ? ks_subindication_name((ks_subindication)(i + 1)) : NULL;
}

static const char *ks_enum_problem(size_t i)
{
    if (i + 1 < KS_RESULT_COUNT)
        return ks_result_name((ks_result)(i + 1)); /* every result but KS_OK */
    return ks_fcgi_http_problem_code(i + 1 - KS_RESULT_COUNT);
}

static const struct {
    const char *name;
    ks_enum_fn fn;
} ks_enums[] = {
    {"indication", ks_enum_indication}, {"subindication", ks_enum_subindication}, {"reason", ks_reason_code},
    {"warning", ks_warning_code},       {"problem", ks_enum_problem},
};

/* Replaces every "x-kensho-enum" under `node`; 0 on an unknown name or OOM. */
static int ks_openapi_fill(cJSON *node)
{
    cJSON *it, *marker = cJSON_IsObject(node) ? cJSON_GetObjectItemCaseSensitive(node, "x-kensho-enum") : NULL;
    if (marker != NULL) {
        const char *want = cJSON_GetStringValue(marker);
        size_t k, n = sizeof ks_enums / sizeof ks_enums[0];
        for (k = 0; k < n && (want == NULL || strcmp(want, ks_enums[k].name) != 0); k++)
            ;
        if (k == n)
            return 0;
        cJSON *e = cJSON_CreateArray();
        const char *v;
        for (size_t i = 0; e != NULL && (v = ks_enums[k].fn(i)) != NULL; i++) {
            cJSON *s = cJSON_CreateString(v);
            if (s == NULL || !cJSON_AddItemToArray(e, s)) {
                cJSON_Delete(s);
                cJSON_Delete(e);
                return 0;
            }
        }
        cJSON_DeleteItemFromObjectCaseSensitive(node, "x-kensho-enum");
        if (e == NULL || !cJSON_AddItemToObject(node, "enum", e)) {
            cJSON_Delete(e);
            return 0;
        }
    }
    cJSON_ArrayForEach(it, node) if (!ks_openapi_fill(it)) return 0;
    return 1;
}

static char *ks_openapi_text;

static void ks_openapi_build(void)
{
    cJSON *doc = cJSON_Parse(ks_openapi_template);
    cJSON *info = cJSON_GetObjectItemCaseSensitive(doc, "info");
    cJSON *ver = cJSON_CreateString(KS_API_VERSION);
    if (doc == NULL || ver == NULL || !cJSON_ReplaceItemInObjectCaseSensitive(info, "version", ver)) {
        cJSON_Delete(ver);
        goto done;
    }
    if (ks_openapi_fill(doc))
        ks_openapi_text = cJSON_PrintUnformatted(doc);
done:
    cJSON_Delete(doc);
}

ks_result ks_fcgi_openapi(const char **text, size_t *len)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, ks_openapi_build);
    if (ks_openapi_text == NULL)
        return KS_E_INTERNAL; /* a template this binary cannot fill: a build bug */
    *text = ks_openapi_text;
    *len = strlen(ks_openapi_text);
    return KS_OK;
}
