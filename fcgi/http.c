/*
 * fcgi/http.c - small HTTP pieces: request ids, media types, base64, JSON
 * depth, reason phrases, a bounded text buffer, the FastCGI peer allow-list
 * (service.allow_from).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "fcgi.h"

void ks_fcgi_request_id(char out[65])
{
    uint8_t r[16];
    if (RAND_bytes(r, sizeof r) != 1) {
        ks_log_openssl("RAND_bytes");
        /* still unique enough to correlate lines; not a secret */
        snprintf(out, 65, "%016llx%016llx", (unsigned long long)time(NULL), (unsigned long long)(uintptr_t)out);
        return;
    }
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < sizeof r; i++) {
        out[2 * i] = hex[r[i] >> 4];
        out[2 * i + 1] = hex[r[i] & 15];
    }
    out[32] = '\0';
}

int ks_fcgi_client_request_id(const char *in, char out[65])
{
    out[0] = '\0';
    if (in == NULL)
        return 0;
    size_t n = strnlen(in, 65);
    if (n == 0 || n > 64)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = in[i];
        int alnum = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        /* The first character a letter or digit: nothing that reads as an
         * option, a path or a JSON/log delimiter. */
        if (!alnum && (i == 0 || (c != '-' && c != '_' && c != '.')))
            return 0;
    }
    memcpy(out, in, n + 1);
    return 1;
}

/* ---------------- service.allow_from ---------------- */

int ks_fcgi_net_parse(const char *s, ks_fcgi_net *out)
{
    char host[INET6_ADDRSTRLEN + 1];
    const char *slash = strchr(s, '/');
    size_t hlen = slash ? (size_t)(slash - s) : strlen(s);
    memset(out, 0, sizeof *out);
    if (hlen == 0 || hlen >= sizeof host)
        return 0;
    memcpy(host, s, hlen);
    host[hlen] = '\0';
    int bits;
    if (inet_pton(AF_INET, host, out->addr) == 1) {
        out->family = AF_INET;
        bits = 32;
    } else if (inet_pton(AF_INET6, host, out->addr) == 1) {
        out->family = AF_INET6;
        bits = 128;
    } else {
        return 0;
    }
    out->prefix = bits;
    if (slash != NULL) {
        /* Digits only (no sign, no spaces), at most the address's width. */
        const char *p = slash + 1;
        int v = 0;
        if (*p == '\0' || strlen(p) > 3)
            return 0;
        for (; *p != '\0'; p++) {
            if (*p < '0' || *p > '9')
                return 0;
            v = v * 10 + (*p - '0');
        }
        if (v > bits)
            return 0;
        out->prefix = v;
    }
    /* Host bits set ("10.1.2.3/8") are refused: the operator meant
     * something else, and silently widening an allow-list fails open. */
    for (int i = out->prefix; i < bits; i++)
        if (out->addr[i / 8] & (0x80u >> (i % 8)))
            return 0;
    return 1;
}

static int ks_net_match(const ks_fcgi_net *n, int family, const uint8_t *addr)
{
    if (n->family != family)
        return 0;
    int full = n->prefix / 8, rest = n->prefix % 8;
    if (memcmp(n->addr, addr, (size_t)full) != 0)
        return 0;
    if (rest == 0)
        return 1;
    uint8_t mask = (uint8_t)(0xffu << (8 - rest));
    return (n->addr[full] & mask) == (addr[full] & mask);
}

int ks_fcgi_peer_allowed(const ks_fcgi_net *nets, size_t n, const struct sockaddr *sa, size_t salen)
{
    if (sa == NULL)
        return 0;
    if (sa->sa_family == AF_UNIX)
        return 1; /* the socket file's mode decides who connects */
    uint8_t a[16];
    int family;
    if (sa->sa_family == AF_INET && salen >= sizeof(struct sockaddr_in)) {
        memcpy(a, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
        family = AF_INET;
    } else if (sa->sa_family == AF_INET6 && salen >= sizeof(struct sockaddr_in6)) {
        const uint8_t *b = ((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr.s6_addr;
        static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (memcmp(b, mapped, 12) == 0) { /* ::ffff:a.b.c.d is a.b.c.d */
            memcpy(a, b + 12, 4);
            family = AF_INET;
        } else {
            memcpy(a, b, 16);
            family = AF_INET6;
        }
    } else {
        return 0;
    }
    for (size_t i = 0; i < n; i++)
        if (ks_net_match(&nets[i], family, a))
            return 1;
    return 0;
}

int ks_fcgi_listen_is_loopback(const char *hostport)
{
    char host[INET6_ADDRSTRLEN + 1];
    const char *colon = hostport ? strrchr(hostport, ':') : NULL;
    if (colon == NULL || (size_t)(colon - hostport) >= sizeof host)
        return 0;
    memcpy(host, hostport, (size_t)(colon - hostport));
    host[colon - hostport] = '\0';
    uint8_t a[16];
    if (inet_pton(AF_INET, host, a) == 1)
        return a[0] == 127; /* 127.0.0.0/8, RFC 1122 3.2.1.3 */
    return strcmp(host, "[::1]") == 0 || strcmp(host, "::1") == 0;
}

/* RFC 9110 5.6.2 tchar */
static int ks_tchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* RFC 2046 5.1.1 bchars (space allowed, but not last) */
static int ks_bchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("'()+_,-./:=? ", c) != NULL);
}

static void ks_skip_ows(const char **p)
{
    while (**p == ' ' || **p == '\t')
        (*p)++;
}

ks_result ks_fcgi_media_parse(const char *ct, ks_fcgi_media *out, const char **why)
{
    memset(out, 0, sizeof *out);
    *why = NULL;
    if (ct == NULL || *ct == '\0') {
        *why = "no Content-Type";
        return KS_E_UNSUPPORTED;
    }
    const char *p = ct;
    size_t n = 0;
    int slash = 0;
    ks_skip_ows(&p);
    while (ks_tchar((unsigned char)*p) || (*p == '/' && !slash)) {
        if (*p == '/')
            slash = 1;
        if (n + 1 >= sizeof out->type) {
            *why = "media type too long";
            return KS_E_BAD_REQUEST;
        }
        char c = *p++;
        out->type[n++] = (char)((c >= 'A' && c <= 'Z') ? c + 32 : c);
    }
    out->type[n] = '\0';
    if (!slash || out->type[0] == '/' || out->type[n - 1] == '/') {
        *why = "malformed Content-Type";
        return KS_E_BAD_REQUEST;
    }
    for (;;) {
        ks_skip_ows(&p);
        if (*p == '\0')
            return KS_OK;
        if (*p++ != ';') {
            *why = "malformed Content-Type parameters";
            return KS_E_BAD_REQUEST;
        }
        ks_skip_ows(&p);
        if (*p == '\0')
            return KS_OK;
        char name[32];
        size_t nn = 0;
        while (ks_tchar((unsigned char)*p)) {
            if (nn + 1 >= sizeof name) {
                *why = "Content-Type parameter name too long";
                return KS_E_BAD_REQUEST;
            }
            char c = *p++;
            name[nn++] = (char)((c >= 'A' && c <= 'Z') ? c + 32 : c);
        }
        name[nn] = '\0';
        if (nn == 0 || *p++ != '=') {
            *why = "malformed Content-Type parameter";
            return KS_E_BAD_REQUEST;
        }
        char val[128];
        size_t vn = 0;
        if (*p == '"') { /* quoted-string, RFC 9110 5.6.4 */
            p++;
            for (;;) {
                if (*p == '\0') {
                    *why = "unterminated quoted string in Content-Type";
                    return KS_E_BAD_REQUEST;
                }
                if (*p == '"') {
                    p++;
                    break;
                }
                if (*p == '\\' && p[1] != '\0')
                    p++;
                if ((unsigned char)*p < 0x20 || vn + 1 >= sizeof val) {
                    *why = "bad Content-Type parameter value";
                    return KS_E_BAD_REQUEST;
                }
                val[vn++] = *p++;
            }
        } else {
            while (ks_tchar((unsigned char)*p)) {
                if (vn + 1 >= sizeof val) {
                    *why = "Content-Type parameter value too long";
                    return KS_E_BAD_REQUEST;
                }
                val[vn++] = *p++;
            }
        }
        val[vn] = '\0';
        if (strcmp(name, "boundary") == 0) {
            if (out->has_boundary) {
                *why = "two boundary parameters";
                return KS_E_BAD_REQUEST;
            }
            int ok = vn >= 1 && vn <= 70 && val[vn - 1] != ' ';
            for (size_t i = 0; ok && i < vn; i++)
                ok = ks_bchar((unsigned char)val[i]);
            if (!ok) {
                *why = "boundary must be 1-70 characters of RFC 2046 bchars";
                return KS_E_BAD_REQUEST;
            }
            memcpy(out->boundary, val, vn + 1);
            out->has_boundary = 1;
        }
        /* other parameters (charset) carry nothing we use */
    }
}

int ks_fcgi_json_depth_ok(const uint8_t *p, size_t len, int max)
{
    int depth = 0, in_str = 0;
    for (size_t i = 0; i < len; i++) {
        uint8_t c = p[i];
        if (in_str) {
            if (c == '\\')
                i++; /* skip the escaped character */
            else if (c == '"')
                in_str = 0;
            continue;
        }
        if (c == '"') {
            in_str = 1;
        } else if (c == '[' || c == '{') {
            if (++depth > max)
                return 0;
        } else if (c == ']' || c == '}') {
            depth--;
        }
    }
    return 1;
}

ks_result ks_fcgi_b64_decode(ks_fcgi_arena *a, const char *s, size_t len, uint8_t **out, size_t *outlen)
{
    ks_result ret = KS_E_ENCODING;
    EVP_ENCODE_CTX *ctx = NULL;
    uint8_t *buf = NULL;
    int n = 0, fin = 0;
    *out = NULL;
    *outlen = 0;
    if (len == 0)
        return KS_E_EMPTY;
    if (len > (size_t)INT32_MAX)
        return KS_E_TOO_LARGE;
    /* EVP_DecodeUpdate stops quietly at '-' (its PEM end marker) and would
     * ignore what follows: accept only the alphabet, padding and spaces. */
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
              c == '/' || c == '=' || c == ' ' || c == '\t' || c == '\r' || c == '\n'))
            return KS_E_ENCODING;
    }
    /* decoded bytes never exceed the input length */
    if ((buf = ks_fcgi_arena_alloc(a, len)) == NULL)
        return KS_E_TOO_LARGE;
    if ((ctx = EVP_ENCODE_CTX_new()) == NULL)
        return KS_E_NOMEM;
    EVP_DecodeInit(ctx);
    if (EVP_DecodeUpdate(ctx, buf, &n, (const unsigned char *)s, (int)len) < 0 ||
        EVP_DecodeFinal(ctx, buf + n, &fin) != 1) {
        ks_log_openssl("EVP_DecodeUpdate");
        goto done;
    }
    if (n + fin <= 0) {
        ret = KS_E_EMPTY;
        goto done;
    }
    *out = buf;
    *outlen = (size_t)n + (size_t)fin;
    ret = KS_OK;
done:
    EVP_ENCODE_CTX_free(ctx);
    return ret;
}

/* RFC 9112 6.3: the body is exactly Content-Length bytes (nginx sends the
 * length it read; chunked bodies arrive de-chunked with a length). */
ks_result ks_fcgi_read_body(ks_fcgi_arena *a, const char *content_length, size_t max, ks_fcgi_read_fn rd, void *arg,
                            uint8_t **body, size_t *len)
{
    size_t n = 0, digits = 0;
    *body = NULL;
    *len = 0;
    for (const char *p = content_length; p != NULL && *p != '\0'; p++, digits++) {
        if (*p < '0' || *p > '9')
            return KS_E_BAD_REQUEST;
        if (digits < 19) /* 19 digits cannot overflow a 64-bit size_t */
            n = n * 10 + (size_t)(*p - '0');
    }
    if (digits > 19 || n > max) {
        /* Read and drop what nginx already sent (bounded: nginx's own
         * client_max_body_size is the real ceiling), so closing the
         * connection with unread bytes cannot reset it before the 413 is
         * read. */
        char sink[16384];
        size_t left = digits > 19 || n > (256u << 20) ? (256u << 20) : n;
        while (left > 0) {
            int r = rd(arg, sink, (int)(left < sizeof sink ? left : sizeof sink));
            if (r <= 0)
                break;
            left -= (size_t)r;
        }
        return KS_E_TOO_LARGE;
    }
    /* Within max_body_bytes the arena's cap (main.c: twice the limit plus
     * room for the rest) always leaves room: failing here is memory. */
    uint8_t *buf = ks_fcgi_arena_alloc(a, n + 1);
    if (buf == NULL)
        return KS_E_NOMEM;
    size_t got = 0;
    while (got < n) {
        size_t want = n - got > (1u << 20) ? (1u << 20) : n - got;
        int r = rd(arg, (char *)buf + got, (int)want);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    char extra;
    if (got != n || rd(arg, &extra, 1) > 0)
        return KS_E_BAD_REQUEST;
    buf[n] = '\0';
    *body = buf;
    *len = n;
    return KS_OK;
}

const char *ks_fcgi_reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 413:
        return "Content Too Large";
    case 415:
        return "Unsupported Media Type";
    case 500:
        return "Internal Server Error";
    case 503:
        return "Service Unavailable";
    default:
        return "Unknown";
    }
}

void ks_fcgi_buf_printf(ks_fcgi_buf *b, const char *fmt, ...)
{
    if (b->failed)
        return;
    for (int attempt = 0; attempt < 2; attempt++) {
        va_list ap;
        va_start(ap, fmt);
        size_t room = b->cap - b->len;
        int n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? room : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->failed = 1;
            return;
        }
        if ((size_t)n < room) {
            b->len += (size_t)n;
            return;
        }
        size_t want = b->len + (size_t)n + 1;
        size_t ncap = b->cap ? b->cap : 4096;
        while (ncap < want)
            ncap *= 2;
        if (want > b->max || ncap > b->max)
            ncap = want;
        char *np = want <= b->max ? realloc(b->p, ncap) : NULL;
        if (np == NULL) {
            b->failed = 1;
            return;
        }
        b->p = np;
        b->cap = ncap;
    }
    b->failed = 1;
}
