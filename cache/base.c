/*
 * cache/base.c - the lowest layer (base.h): the result table, the input
 * cursor, hex, UTF-8 and logging.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

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

/* ---------------- UTF-8 ---------------- */

/* Strict UTF-8 (RFC 3629): no overlongs, no surrogates, no NUL. */
int ks_utf8_valid(const uint8_t *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        uint8_t b = s[i];
        size_t n;
        uint32_t cp;
        if (b == 0)
            return 0;
        if (b < 0x80) {
            i++;
            continue;
        } else if ((b & 0xE0) == 0xC0) {
            n = 1;
            cp = b & 0x1F;
        } else if ((b & 0xF0) == 0xE0) {
            n = 2;
            cp = b & 0x0F;
        } else if ((b & 0xF8) == 0xF0) {
            n = 3;
            cp = b & 0x07;
        } else {
            return 0;
        }
        if (len - i - 1 < n)
            return 0;
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
            cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += n + 1;
    }
    return 1;
}

/* ---------------- logging ---------------- */

/* Set by ks_log_setup (kensho-fcgi at start and at each reload, from another
 * thread than the workers that log): atomics, read once per line. */
static atomic_int ks_log_fmt = KS_LOG_TEXT;
static atomic_int ks_log_max = KS_LOG_INFO;
static atomic_int ks_log_journal; /* stderr is journald's stream: "<N>" prefixes */

/* systemd.exec(5): JOURNAL_STREAM is "DEV:INODE" of the stream journald
 * reads, so a service can tell its stderr goes there (and not to a file it
 * was redirected to). */
static int ks_stderr_is_journal(void)
{
    const char *js = getenv("JOURNAL_STREAM");
    unsigned long long dev = 0, ino = 0;
    struct stat st;
    if (js == NULL || sscanf(js, "%llu:%llu", &dev, &ino) != 2 || fstat(STDERR_FILENO, &st) != 0)
        return 0;
    return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void ks_log_setup(ks_log_format fmt, ks_log_level level)
{
    atomic_store(&ks_log_fmt, fmt == KS_LOG_JSON ? KS_LOG_JSON : KS_LOG_TEXT);
    atomic_store(&ks_log_max, level <= KS_LOG_DEBUG ? (int)level : KS_LOG_INFO);
    atomic_store(&ks_log_journal, ks_stderr_is_journal());
}

int ks_log_enabled(ks_log_level lvl)
{
    return (int)lvl <= atomic_load(&ks_log_max);
}

static const char *const ks_level_names[] = {"error", "warn", "info", "debug"};

int ks_log_level_parse(const char *s, ks_log_level *out)
{
    for (int i = 0; i <= KS_LOG_DEBUG; i++)
        if (strcmp(s, ks_level_names[i]) == 0) {
            *out = (ks_log_level)i;
            return 1;
        }
    return 0;
}

/* A line being built: appends stop at the end, leaving room for the close. */
typedef struct {
    char *p;
    size_t len, cap;
} ks_line;

static void ks_line_raw(ks_line *l, const char *s, size_t n)
{
    if (n > l->cap - 1 - l->len)
        n = l->cap - 1 - l->len;
    memcpy(l->p + l->len, s, n);
    l->len += n;
    l->p[l->len] = '\0';
}

static void ks_line_str(ks_line *l, const char *s)
{
    ks_line_raw(l, s, strlen(s));
}

/* A JSON string (RFC 8259 7) of at most `budget` bytes of output: control
 * characters escaped; bytes of invalid UTF-8 become '?' so the line stays
 * JSON whatever a message quotes. */
static void ks_line_json_str(ks_line *l, const char *s, size_t budget)
{
    size_t n = strlen(s), start = l->len;
    int utf8 = ks_utf8_valid((const uint8_t *)s, n);
    ks_line_raw(l, "\"", 1);
    size_t i;
    for (i = 0; i < n && l->len - start + 8 < budget && l->len + 8 < l->cap; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[8];
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            ks_line_raw(l, esc, 2);
        } else if (c < 0x20 || c == 0x7f) {
            snprintf(esc, sizeof esc, "\\u%04x", c);
            ks_line_raw(l, esc, 6);
        } else if (c >= 0x80 && !utf8) {
            ks_line_raw(l, "?", 1);
        } else {
            ks_line_raw(l, (const char *)&c, 1);
        }
    }
    /* A multi-byte character cut by the budget would end the string in
     * invalid UTF-8: drop the bytes of it that were copied. */
    if (utf8 && i < n && ((unsigned char)s[i] & 0xC0) == 0x80) {
        while (l->len > start + 1 && ((unsigned char)l->p[l->len - 1] & 0xC0) == 0x80)
            l->len--;
        if (l->len > start + 1 && (unsigned char)l->p[l->len - 1] >= 0xC0)
            l->len--;
        l->p[l->len] = '\0';
    }
    ks_line_raw(l, "\"", 1);
}

static void ks_line_num(ks_line *l, double v)
{
    char num[48];
    snprintf(num, sizeof num, "%.15g", v);
    ks_line_str(l, num);
}

void ks_log_fields(ks_log_level lvl, const char *msg, const ks_log_field *f, size_t nf)
{
    if (!ks_log_enabled(lvl))
        return;
    if (lvl > KS_LOG_DEBUG)
        lvl = KS_LOG_ERR;
    char buf[4096];
    ks_line l = {buf, 0, sizeof buf - 2}; /* room for "}\n" */
    buf[0] = '\0';
    if (atomic_load(&ks_log_journal)) {
        /* sd-daemon(3): "<N>" gives journald the line's priority. */
        static const char prio[] = {'3', '4', '6', '7'};
        char pre[4] = {'<', prio[lvl], '>', '\0'};
        ks_line_str(&l, pre);
    }
    if (atomic_load(&ks_log_fmt) == KS_LOG_JSON) {
        struct timespec ts;
        struct tm tm;
        char when[40] = "1970-01-01T00:00:00.000Z";
        if (clock_gettime(CLOCK_REALTIME, &ts) == 0 && gmtime_r(&ts.tv_sec, &tm) != NULL) {
            char sec[24];
            strftime(sec, sizeof sec, "%Y-%m-%dT%H:%M:%S", &tm);
            snprintf(when, sizeof when, "%s.%03ldZ", sec, ts.tv_nsec / 1000000);
        }
        ks_line_str(&l, "{\"timestamp\":\"");
        ks_line_str(&l, when);
        ks_line_str(&l, "\",\"level\":\"");
        ks_line_str(&l, ks_level_names[lvl]);
        ks_line_str(&l, "\",\"msg\":");
        ks_line_json_str(&l, msg, 2048);
        for (size_t i = 0; i < nf; i++) {
            ks_line_str(&l, ",");
            ks_line_json_str(&l, f[i].key, 64);
            ks_line_str(&l, ":");
            if (f[i].is_num)
                ks_line_num(&l, f[i].num);
            else if (f[i].str == NULL)
                ks_line_str(&l, "null");
            else
                ks_line_json_str(&l, f[i].str, 512);
        }
        l.cap += 2;
        ks_line_str(&l, "}\n");
    } else {
        ks_line_str(&l, "kensho: ");
        ks_line_str(&l, ks_level_names[lvl]);
        ks_line_str(&l, ": ");
        ks_line_str(&l, msg);
        for (size_t i = 0; i < nf; i++) {
            char v[48];
            ks_line_str(&l, " ");
            ks_line_str(&l, f[i].key);
            ks_line_str(&l, "=");
            if (f[i].is_num)
                snprintf(v, sizeof v, "%.15g", f[i].num);
            ks_line_str(&l, f[i].is_num ? v : f[i].str ? f[i].str : "-");
        }
        /* Nothing a client sent can forge a line: no control characters. */
        for (size_t i = 0; i < l.len; i++)
            if ((unsigned char)buf[i] < 0x20)
                buf[i] = ' ';
        l.cap += 2;
        ks_line_str(&l, "\n");
    }
    /* One write per line so threads do not interleave. */
    fwrite(buf, 1, l.len, stderr);
}

void ks_log(ks_log_level lvl, const char *fmt, ...)
{
    if (!ks_log_enabled(lvl))
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    ks_log_fields(lvl, msg, NULL, 0);
}

void ks_log_openssl_at(ks_log_level lvl, const char *where)
{
    unsigned long e;
    const char *data;
    int flags;
    int on = ks_log_enabled(lvl);
    while ((e = ERR_get_error_all(NULL, NULL, NULL, &data, &flags)) != 0) {
        if (!on)
            continue; /* popped all the same: the queue ends empty */
        char buf[256];
        int text = (flags & ERR_TXT_STRING) && data != NULL && data[0] != '\0' && lvl <= KS_LOG_WARN;
        ERR_error_string_n(e, buf, sizeof buf);
        ks_log(lvl, "%s: openssl: %s%s%s", where, buf, text ? ": " : "", text ? data : "");
    }
}

void ks_log_openssl(const char *where)
{
    ks_log_openssl_at(KS_LOG_WARN, where);
}

void ks_openssl_drain(const char *where)
{
    ks_log_openssl_at(KS_LOG_DEBUG, where);
}
