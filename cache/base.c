/*
 * cache/base.c - the lowest layer (base.h): the result table, the input
 * cursor, hex and logging.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>

#include "base.h"

/* ---------------- results ---------------- */

static const struct {
    const char *name;
    ks_class cls;
    const char *msg;
} ks_result_table[] = {
#define KS_X_ROW(n, c, m) {#n, c, m},
    KS_RESULTS(KS_X_ROW)
#undef KS_X_ROW
};

static int ks_result_valid(ks_result r)
{
    return (int)r >= 0 && r < KS_RESULT_COUNT;
}

const char *ks_result_name(ks_result r)
{
    return ks_result_valid(r) ? ks_result_table[r].name : "KS_E_INTERNAL";
}

const char *ks_result_message(ks_result r)
{
    return ks_result_valid(r) ? ks_result_table[r].msg : "internal error";
}

ks_class ks_result_class(ks_result r)
{
    return ks_result_valid(r) ? ks_result_table[r].cls : KS_CLASS_INTERNAL;
}

/* ---------------- cursor ---------------- */

void ks_cur_init(ks_cur *c, const uint8_t *p, size_t len)
{
    c->p = p;
    c->len = p ? len : 0;
    c->off = 0;
}

size_t ks_cur_left(const ks_cur *c)
{
    return c->len - c->off;
}

const uint8_t *ks_cur_ptr(const ks_cur *c)
{
    return c->p + c->off;
}

int ks_cur_skip(ks_cur *c, size_t n)
{
    if (n > ks_cur_left(c))
        return 0;
    c->off += n;
    return 1;
}

void ks_cur_skip_space(ks_cur *c)
{
    while (c->off < c->len && isspace(c->p[c->off]))
        c->off++;
}

int ks_cur_starts_with(const ks_cur *c, const char *lit)
{
    size_t n = strlen(lit);
    return n <= ks_cur_left(c) && memcmp(ks_cur_ptr(c), lit, n) == 0;
}

int ks_cur_starts_with_ci(const ks_cur *c, const char *lit)
{
    size_t n = strlen(lit);
    if (n > ks_cur_left(c))
        return 0;
    const uint8_t *p = ks_cur_ptr(c);
    for (size_t i = 0; i < n; i++)
        if (tolower(p[i]) != tolower((unsigned char)lit[i]))
            return 0;
    return 1;
}

long ks_cur_find(const ks_cur *c, const uint8_t *needle, size_t nlen)
{
    size_t left = ks_cur_left(c);
    if (nlen == 0 || nlen > left)
        return -1;
    const uint8_t *p = ks_cur_ptr(c);
    for (size_t i = 0; i + nlen <= left; i++) {
        const uint8_t *hit = memchr(p + i, needle[0], left - nlen - i + 1);
        if (hit == NULL)
            return -1;
        i = (size_t)(hit - p);
        if (memcmp(hit, needle, nlen) == 0)
            return (long)i;
    }
    return -1;
}

/* ---------------- hex ---------------- */

void ks_hex_encode(const uint8_t *p, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = '\0';
}

/* ---------------- logging ---------------- */

void ks_log(ks_log_level lvl, const char *fmt, ...)
{
    static const char *names[] = {"error", "warn", "info", "debug"};
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* One write per line so threads do not interleave; control characters
     * are replaced so nothing a client sent can forge a log line. */
    for (char *p = msg; *p; p++)
        if ((unsigned char)*p < 0x20)
            *p = ' ';
    char line[1100];
    int n = snprintf(line, sizeof line, "kensho: %s: %s\n", names[lvl <= KS_LOG_DEBUG ? lvl : 0], msg);
    if (n > 0)
        fwrite(line, 1, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1, stderr);
}

void ks_log_openssl(const char *where)
{
    unsigned long e;
    const char *file, *func, *data;
    int line, flags;
    while ((e = ERR_get_error_all(&file, &line, &func, &data, &flags)) != 0) {
        char buf[256];
        ERR_error_string_n(e, buf, sizeof buf);
        ks_log(KS_LOG_WARN, "%s: openssl: %s%s%s", where, buf, (flags & ERR_TXT_STRING) ? ": " : "",
               (flags & ERR_TXT_STRING) ? data : "");
    }
}
