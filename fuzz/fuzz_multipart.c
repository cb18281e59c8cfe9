/*
 * fuzz/fuzz_multipart.c - the service's Content-Type parser
 * (ks_fcgi_media_parse) and multipart/form-data parser
 * (ks_fcgi_multipart_parse), called directly.  Input: the Content-Type
 * header value up to the first '\n', then the body.  Checks the parser's
 * promises: at most max_parts parts, each with a name, each pointing inside
 * the body.
 */
#include "fcgi.h"
#include "fuzz.h"

#define FZ_MAX_PARTS 16

static ks_fcgi_arena *arena;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    arena = ks_fcgi_arena_new(64u << 20);
    if (arena == NULL)
        fz_die("arena", "out of memory");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size < 512 ? size : 512);
    size_t ctlen = nl ? (size_t)(nl - data) : 0;
    const uint8_t *body = nl ? nl + 1 : data;
    size_t len = size - (size_t)(body - data);
    char *ct = ks_fcgi_arena_strndup(arena, (const char *)data, ctlen);
    /* The body as the service holds it: its own allocation, NUL after it. */
    uint8_t *copy = ks_fcgi_arena_alloc(arena, len + 1);
    if (ct == NULL || copy == NULL)
        fz_die("arena", "out of memory");
    memcpy(copy, body, len);
    copy[len] = '\0';
    ks_fcgi_media m;
    const char *why = NULL;
    if (ks_fcgi_media_parse(nl ? ct : "multipart/form-data; boundary=XX", &m, &why) == KS_OK && m.has_boundary) {
        if (strlen(m.boundary) < 1 || strlen(m.boundary) > 70)
            fz_die("ks_fcgi_media_parse", "boundary length out of RFC 2046 bounds");
        ks_fcgi_part *parts = NULL;
        size_t n = 0;
        if (ks_fcgi_multipart_parse(arena, m.boundary, copy, len, FZ_MAX_PARTS, &parts, &n, &why) == KS_OK) {
            if (n > FZ_MAX_PARTS)
                fz_die("ks_fcgi_multipart_parse", "more parts than max_parts");
            for (size_t i = 0; i < n; i++) {
                if (parts[i].name == NULL)
                    fz_die("ks_fcgi_multipart_parse", "part without a name");
                if (parts[i].data < copy || parts[i].len > len || parts[i].data + parts[i].len > copy + len)
                    fz_die("ks_fcgi_multipart_parse", "part outside the body");
            }
        } else if (why == NULL) {
            fz_die("ks_fcgi_multipart_parse", "failure without a reason");
        }
    }
    ks_fcgi_arena_reset(arena);
    return 0;
}
