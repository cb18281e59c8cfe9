/*
 * fuzz/fuzz_json.c - the service's JSON request bodies: the nesting check
 * (ks_fcgi_json_depth_ok) and base64 decoder (ks_fcgi_b64_decode) directly,
 * then the whole request through ks_fcgi_handle (cJSON, member checks,
 * base64, verification, the problem document or verdict) as
 * application/json.  Input: one selector byte (bit 0: /api/v1/certificate
 * instead of /api/v1/verify), then the body.  Audit off, revocation off.
 */
#include "fcgi.h"
#include "fuzz.h"

static ks_fcgi_gen *gen;
static ks_fcgi_arena *arena;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *p = fz_pki_dir();
    char json[4096], path[256], *err = NULL;
    int n = snprintf(json, sizeof json,
                     "{\"trust_anchors\": [\"%s/anchors\"], \"intermediates\": [\"%s/intermediates\"],"
                     " \"accept_policies\": [\"1.2.392.200149.8.5.1.1.20\"], \"revocation\": {\"mode\": \"off\"},"
                     " \"limits\": {\"max_body_bytes\": 1048576, \"max_json_depth\": 8},"
                     " \"audit\": {\"required\": false}}",
                     p, p);
    if (n < 0 || (size_t)n >= sizeof json ||
        !fz_write_tmp("service.json", (const uint8_t *)json, (size_t)n, path, sizeof path))
        fz_die("config", "cannot write");
    if (ks_fcgi_gen_load(path, &gen, &err) != KS_OK)
        fz_die("ks_fcgi_gen_load", err);
    unlink(path);
    ks_ctx_set_clock(gen->ctx, fz_clock, NULL);
    arena = ks_fcgi_arena_new(gen->set.max_body_bytes * 2 + (4u << 20));
    if (arena == NULL)
        fz_die("arena", "out of memory");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size - 1 > gen->set.max_body_bytes)
        return 0;
    int cert = data[0] & 1;
    size_t len = size - 1;
    uint8_t *body = ks_fcgi_arena_alloc(arena, len + 1);
    if (body == NULL)
        fz_die("arena", "out of memory");
    memcpy(body, data + 1, len);
    body[len] = '\0';

    (void)ks_fcgi_json_depth_ok(body, len, gen->set.max_json_depth);
    uint8_t *dec = NULL;
    size_t declen = 0;
    if (ks_fcgi_b64_decode(arena, (const char *)body, len, &dec, &declen) == KS_OK && (dec == NULL || declen > len))
        fz_die("ks_fcgi_b64_decode", "output longer than its input");

    ks_fcgi_req req = {.method = "POST",
                       .path = cert ? "/api/v1/certificate" : "/api/v1/verify",
                       .query = "",
                       .content_type = "application/json",
                       .request_id = "fuzz",
                       .body = body,
                       .body_len = len,
                       .body_result = KS_OK};
    ks_fcgi_resp resp;
    ks_fcgi_handle(gen, arena, &req, &resp);
    /* Only verdicts and client errors: a 5xx here is a bug (no audit,
     * no network, no memory pressure). */
    if (resp.status >= 500 || resp.body == NULL || resp.body_len == 0)
        fz_die("ks_fcgi_handle", "5xx or empty answer");
    ks_fcgi_arena_reset(arena);
    return 0;
}
