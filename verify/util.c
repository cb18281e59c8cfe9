/*
 * verify/util.c - results as exit and HTTP statuses, time, hex digits and
 * percent-encoding, and the version (the table, the cursor, UTF-8 and
 * logging: cache/base.c).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <xmlsec/version.h>

#include "internal.h"

/* ---------------- results ---------------- */

/* The table itself and ks_result_name/message/class: cache/base.c. */

/* The only place where a class becomes an exit status (sysexits.h values). */
int ks_result_exit_code(ks_result r)
{
    switch (ks_result_class(r)) {
    case KS_CLASS_OK:
        return 0;
    case KS_CLASS_USAGE:
        return 64; /* EX_USAGE */
    case KS_CLASS_INPUT:
    case KS_CLASS_TOO_LARGE:
    case KS_CLASS_UNSUPPORTED:
        return 65; /* EX_DATAERR */
    case KS_CLASS_CONFIG:
        return 78; /* EX_CONFIG */
    case KS_CLASS_UNAVAILABLE:
        return 69; /* EX_UNAVAILABLE */
    case KS_CLASS_INTERNAL:
    default:
        return 70; /* EX_SOFTWARE */
    }
}

/* The only place where a class becomes an HTTP status. */
int ks_result_http_status(ks_result r)
{
    switch (ks_result_class(r)) {
    case KS_CLASS_OK:
        return 200;
    case KS_CLASS_USAGE:
    case KS_CLASS_INPUT:
        return 400;
    case KS_CLASS_TOO_LARGE:
        return 413;
    case KS_CLASS_UNSUPPORTED:
        return 415;
    case KS_CLASS_UNAVAILABLE:
        return 503;
    case KS_CLASS_CONFIG:
    case KS_CLASS_INTERNAL:
    default:
        return 500;
    }
}

cJSON *ks_error_json(ks_result r, const char *detail)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *err = cJSON_AddObjectToObject(root, "error");
    if (err == NULL || cJSON_AddStringToObject(err, "code", ks_result_name(r)) == NULL ||
        cJSON_AddStringToObject(err, "message", ks_result_message(r)) == NULL ||
        (detail != NULL && cJSON_AddStringToObject(err, "detail", detail) == NULL)) {
        cJSON_Delete(root);
        return NULL;
    }
    return root;
}

/* ---------------- time ---------------- */

static int ks_digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return 0;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 1;
}

/* RFC 3339 section 5.6: date-time = full-date "T" full-time. */
ks_result ks_time_parse(const char *s, time_t *out)
{
    int y, mo, d, h, mi, sec, oh = 0, om = 0;
    size_t n = s ? strlen(s) : 0;
    if (n < 20 || !ks_digits(s, 4, &y) || s[4] != '-' || !ks_digits(s + 5, 2, &mo) ||
        s[7] != '-' || !ks_digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't') ||
        !ks_digits(s + 11, 2, &h) || s[13] != ':' || !ks_digits(s + 14, 2, &mi) ||
        s[16] != ':' || !ks_digits(s + 17, 2, &sec))
        return KS_E_BAD_TIME;
    const char *p = s + 19;
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p))
            return KS_E_BAD_TIME;
        while (isdigit((unsigned char)*p))
            p++;
    }
    int sign = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        sign = *p == '+' ? 1 : -1;
        if (!ks_digits(p + 1, 2, &oh) || p[3] != ':' || !ks_digits(p + 4, 2, &om))
            return KS_E_BAD_TIME;
        p += 6;
    } else {
        return KS_E_BAD_TIME;
    }
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (*p != '\0' || y < 1950 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] ||
        h > 23 || mi > 59 || sec > 60 || oh > 23 || om > 59)
        return KS_E_BAD_TIME;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (mo == 2 && d == 29 && !leap)
        return KS_E_BAD_TIME;
    struct tm tm = {0};
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec == 60 ? 59 : sec;
    time_t t = timegm(&tm);
    t -= (time_t)sign * (oh * 3600 + om * 60);
    *out = t;
    return KS_OK;
}

void ks_time_format(time_t t, char *buf, size_t len)
{
    struct tm tm;
    if (gmtime_r(&t, &tm) == NULL || strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(buf, len, "invalid");
}

/* ---------------- hex and percent-encoding ---------------- */

int ks_hex_digit(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* RFC 3986 2.1; the decoded string is never longer than the encoded one. */
int ks_pct_decode_inplace(char *s)
{
    char *src = s, *dst = s;
    while (*src) {
        if (*src != '%') {
            *dst++ = *src++;
            continue;
        }
        /* s is NUL-terminated: src[2] is read only when src[1] was a digit */
        int hi = ks_hex_digit((unsigned char)src[1]);
        int lo = hi >= 0 ? ks_hex_digit((unsigned char)src[2]) : -1;
        if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
            return 0;
        *dst++ = (char)(hi << 4 | lo);
        src += 3;
    }
    *dst = '\0';
    return 1;
}

/* ---------------- UTF-8 ---------------- */


/* ---------------- version ---------------- */

#ifndef KS_VERSION
#define KS_VERSION "unknown" /* the Makefile defines it (fuzz builds do not) */
#endif

const char *ks_version(void)
{
    return KS_VERSION;
}

const char *ks_version_openssl(void)
{
    return OpenSSL_version(OPENSSL_VERSION_STRING); /* the library loaded, "3.0.17" */
}

const char *ks_version_xmlsec(void)
{
    return XMLSEC_VERSION; /* built against; xmlsec1 checks the ABI at init */
}
