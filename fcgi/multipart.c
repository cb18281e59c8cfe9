/*
 * fcgi/multipart.c - multipart/form-data (RFC 7578 over RFC 2046 5.1).
 *
 * Strict on purpose: two parsers that disagree on where a part ends are how
 * a signature gets verified over other bytes than the caller thinks.  So:
 * the body starts with the first dash-boundary (no preamble), lines end in
 * CRLF, no header folding (RFC 9112 5.2 obs-fold), one Content-Disposition
 * "form-data" with a name per part, no filename* (RFC 7578 4.2), no
 * Content-Transfer-Encoding other than the identity ones (RFC 7578 4.7),
 * the close delimiter ends the body (an optional CRLF after it, nothing
 * else).  Every count and size is capped.  All reads go through ks_cur.
 */
#include <string.h>

#include "fcgi.h"

#define KS_MP_MAX_HEADER_LINE 1024
#define KS_MP_MAX_HEADERS 16
#define KS_MP_MAX_NAME 64
#define KS_MP_MAX_FILENAME 255

static int ks_is_ctl(unsigned char c)
{
    return c < 0x20 || c == 0x7f;
}

static int ks_ci_eq(const uint8_t *p, size_t n, const char *lit)
{
    size_t m = strlen(lit);
    if (n != m)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char a = p[i], b = (unsigned char)lit[i];
        if (a >= 'A' && a <= 'Z')
            a = (unsigned char)(a + 32);
        if (a != b)
            return 0;
    }
    return 1;
}

static void ks_skip_ows_cur(ks_cur *c)
{
    while (ks_cur_left(c) > 0 && (*ks_cur_ptr(c) == ' ' || *ks_cur_ptr(c) == '\t'))
        ks_cur_skip(c, 1);
}

/* A token or a quoted-string (no backslash escapes: RFC 7578 4.2 says
 * senders percent-encode the quote; a backslash is taken literally).
 * Returns an arena copy or NULL; *why on error. */
static char *ks_param_value(ks_fcgi_arena *a, ks_cur *c, size_t max, const char **why)
{
    const uint8_t *start;
    size_t n = 0;
    if (ks_cur_starts_with(c, "\"")) {
        ks_cur_skip(c, 1);
        start = ks_cur_ptr(c);
        while (ks_cur_left(c) > 0 && *ks_cur_ptr(c) != '"') {
            if (ks_is_ctl(*ks_cur_ptr(c))) {
                *why = "control character in a Content-Disposition value";
                return NULL;
            }
            ks_cur_skip(c, 1);
            n++;
        }
        if (!ks_cur_skip(c, 1)) {
            *why = "unterminated quoted string in Content-Disposition";
            return NULL;
        }
    } else {
        start = ks_cur_ptr(c);
        while (ks_cur_left(c) > 0) {
            unsigned char ch = *ks_cur_ptr(c);
            if (ch == ';' || ch == ' ' || ch == '\t' || ks_is_ctl(ch) || ch == '"')
                break;
            ks_cur_skip(c, 1);
            n++;
        }
        if (n == 0) {
            *why = "empty Content-Disposition value";
            return NULL;
        }
    }
    if (n > max) {
        *why = "Content-Disposition value too long";
        return NULL;
    }
    char *s = ks_fcgi_arena_strndup(a, (const char *)start, n);
    if (s == NULL)
        *why = "out of request memory";
    return s;
}

/* Content-Disposition: form-data; name="..."[; filename="..."] */
static ks_result ks_disposition(ks_fcgi_arena *a, const uint8_t *v, size_t vlen, ks_fcgi_part *part,
                                const char **why)
{
    ks_cur c;
    ks_cur_init(&c, v, vlen);
    if (!ks_cur_starts_with_ci(&c, "form-data")) {
        *why = "Content-Disposition is not form-data";
        return KS_E_BAD_REQUEST;
    }
    ks_cur_skip(&c, 9);
    int have_name = 0, have_file = 0;
    for (;;) {
        ks_skip_ows_cur(&c);
        if (ks_cur_left(&c) == 0)
            break;
        if (!ks_cur_starts_with(&c, ";")) {
            *why = "malformed Content-Disposition";
            return KS_E_BAD_REQUEST;
        }
        ks_cur_skip(&c, 1);
        ks_skip_ows_cur(&c);
        const uint8_t *pn = ks_cur_ptr(&c);
        size_t nlen = 0;
        while (ks_cur_left(&c) > 0 && *ks_cur_ptr(&c) != '=' && *ks_cur_ptr(&c) != ';' &&
               *ks_cur_ptr(&c) != ' ') {
            ks_cur_skip(&c, 1);
            nlen++;
        }
        if (nlen == 0 || !ks_cur_starts_with(&c, "=")) {
            *why = "malformed Content-Disposition parameter";
            return KS_E_BAD_REQUEST;
        }
        ks_cur_skip(&c, 1);
        if (ks_ci_eq(pn, nlen, "name")) {
            if (have_name++) {
                *why = "two name parameters in one part";
                return KS_E_BAD_REQUEST;
            }
            if ((part->name = ks_param_value(a, &c, KS_MP_MAX_NAME, why)) == NULL)
                return KS_E_BAD_REQUEST;
        } else if (ks_ci_eq(pn, nlen, "filename")) {
            if (have_file++) {
                *why = "two filename parameters in one part";
                return KS_E_BAD_REQUEST;
            }
            char *f = ks_param_value(a, &c, KS_MP_MAX_FILENAME, why);
            if (f == NULL)
                return KS_E_BAD_REQUEST;
            /* RFC 7578 4.2: never a path; keep the last component only. */
            char *slash = strrchr(f, '/'), *bslash = strrchr(f, '\\');
            char *last = slash > bslash ? slash : bslash;
            part->filename = last ? last + 1 : f;
        } else if (ks_ci_eq(pn, nlen, "filename*")) {
            *why = "filename* is not accepted (RFC 7578 4.2)";
            return KS_E_BAD_REQUEST;
        } else {
            const char *ignored_why = NULL;
            if (ks_param_value(a, &c, 1024, &ignored_why) == NULL) {
                *why = ignored_why;
                return KS_E_BAD_REQUEST;
            }
        }
    }
    if (!have_name || part->name[0] == '\0') {
        *why = "a part without a name";
        return KS_E_BAD_REQUEST;
    }
    return KS_OK;
}

/* Header lines of one part, up to and including the empty line. */
static ks_result ks_part_headers(ks_fcgi_arena *a, ks_cur *c, ks_fcgi_part *part, const char **why)
{
    static const uint8_t crlf[] = {'\r', '\n'};
    int nheaders = 0, have_cd = 0, have_ct = 0;
    for (;;) {
        if (ks_cur_starts_with(c, "\r\n")) {
            ks_cur_skip(c, 2);
            break;
        }
        if (++nheaders > KS_MP_MAX_HEADERS) {
            *why = "too many part headers";
            return KS_E_LIMIT;
        }
        ks_cur line = *c;
        line.len = line.off + (ks_cur_left(c) < KS_MP_MAX_HEADER_LINE ? ks_cur_left(c) : KS_MP_MAX_HEADER_LINE);
        long eol = ks_cur_find(&line, crlf, 2);
        if (eol < 0) {
            *why = "part header line unterminated or longer than 1024 bytes";
            return KS_E_BAD_REQUEST;
        }
        const uint8_t *p = ks_cur_ptr(c);
        size_t n = (size_t)eol;
        ks_cur_skip(c, n + 2);
        if (p[0] == ' ' || p[0] == '\t') {
            *why = "folded part header (obs-fold)";
            return KS_E_BAD_REQUEST;
        }
        const uint8_t *colon = memchr(p, ':', n);
        if (colon == NULL || colon == p) {
            *why = "malformed part header";
            return KS_E_BAD_REQUEST;
        }
        size_t nlen = (size_t)(colon - p);
        for (size_t i = 0; i < nlen; i++)
            if (p[i] == ' ' || p[i] == '\t' || ks_is_ctl(p[i])) {
                *why = "malformed part header name";
                return KS_E_BAD_REQUEST;
            }
        const uint8_t *v = colon + 1;
        size_t vlen = n - nlen - 1;
        while (vlen > 0 && (*v == ' ' || *v == '\t')) {
            v++;
            vlen--;
        }
        while (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
            vlen--;
        for (size_t i = 0; i < vlen; i++)
            if (ks_is_ctl(v[i]) && v[i] != '\t') {
                *why = "control character in a part header";
                return KS_E_BAD_REQUEST;
            }
        if (ks_ci_eq(p, nlen, "content-disposition")) {
            if (have_cd++) {
                *why = "two Content-Disposition headers in one part";
                return KS_E_BAD_REQUEST;
            }
            ks_result r = ks_disposition(a, v, vlen, part, why);
            if (r != KS_OK)
                return r;
        } else if (ks_ci_eq(p, nlen, "content-type")) {
            if (have_ct++) {
                *why = "two Content-Type headers in one part";
                return KS_E_BAD_REQUEST;
            }
            if ((part->content_type = ks_fcgi_arena_strndup(a, (const char *)v, vlen < 128 ? vlen : 128)) == NULL) {
                *why = "out of request memory";
                return KS_E_TOO_LARGE;
            }
        } else if (ks_ci_eq(p, nlen, "content-transfer-encoding")) {
            if (!ks_ci_eq(v, vlen, "binary") && !ks_ci_eq(v, vlen, "8bit") && !ks_ci_eq(v, vlen, "7bit")) {
                *why = "Content-Transfer-Encoding is not accepted (RFC 7578 4.7)";
                return KS_E_BAD_REQUEST;
            }
        }
        /* other headers carry nothing we use */
    }
    if (!have_cd) {
        *why = "a part without Content-Disposition";
        return KS_E_BAD_REQUEST;
    }
    return KS_OK;
}

ks_result ks_fcgi_multipart_parse(ks_fcgi_arena *a, const char *boundary, const uint8_t *body, size_t len,
                                  int max_parts, ks_fcgi_part **parts, size_t *nparts, const char **why)
{
    *parts = NULL;
    *nparts = 0;
    *why = NULL;
    size_t blen = boundary ? strlen(boundary) : 0;
    if (blen < 1 || blen > 70 || max_parts < 1) {
        *why = "multipart/form-data without a valid boundary";
        return KS_E_BAD_REQUEST;
    }
    /* delim = CRLF "--" boundary (RFC 2046 5.1.1); the first one has no CRLF. */
    uint8_t delim[76];
    delim[0] = '\r';
    delim[1] = '\n';
    delim[2] = '-';
    delim[3] = '-';
    memcpy(delim + 4, boundary, blen);
    size_t dlen = blen + 4;
    ks_fcgi_part *out = ks_fcgi_arena_alloc(a, sizeof *out * (size_t)max_parts);
    if (out == NULL) {
        *why = "out of request memory";
        return KS_E_TOO_LARGE;
    }
    ks_cur c;
    ks_cur_init(&c, body, len);
    if (ks_cur_left(&c) < dlen - 2 || memcmp(ks_cur_ptr(&c), delim + 2, dlen - 2) != 0) {
        *why = "the body does not start with the boundary";
        return KS_E_BAD_REQUEST;
    }
    ks_cur_skip(&c, dlen - 2);
    size_t n = 0;
    for (;;) {
        if (ks_cur_starts_with(&c, "--")) { /* close-delimiter */
            ks_cur_skip(&c, 2);
            if (ks_cur_starts_with(&c, "\r\n"))
                ks_cur_skip(&c, 2);
            if (ks_cur_left(&c) != 0) {
                *why = "data after the closing boundary";
                return KS_E_BAD_REQUEST;
            }
            break;
        }
        ks_skip_ows_cur(&c); /* transport-padding */
        if (!ks_cur_starts_with(&c, "\r\n")) {
            *why = "boundary line not followed by CRLF";
            return KS_E_BAD_REQUEST;
        }
        ks_cur_skip(&c, 2);
        if (n == (size_t)max_parts) {
            *why = "too many parts";
            return KS_E_LIMIT;
        }
        ks_fcgi_part *part = &out[n];
        memset(part, 0, sizeof *part);
        ks_result r = ks_part_headers(a, &c, part, why);
        if (r != KS_OK)
            return r;
        long end = ks_cur_find(&c, delim, dlen);
        if (end < 0) {
            *why = "a part without a closing boundary";
            return KS_E_BAD_REQUEST;
        }
        part->data = ks_cur_ptr(&c);
        part->len = (size_t)end;
        ks_cur_skip(&c, (size_t)end + dlen);
        n++;
    }
    if (n == 0) {
        *why = "multipart body without parts";
        return KS_E_BAD_REQUEST;
    }
    *parts = out;
    *nparts = n;
    return KS_OK;
}
