/*
 * cache/base.h - the lowest layer, below cache/ and verify/: the one result
 * table (KS_RESULTS), the bounds-checked cursor over untrusted bytes (ks_cur),
 * hex and logging.  It includes nothing of the project: cache/ builds on it
 * alone, verify/ (verify.h) on it and cache/, fcgi/ on verify/, so
 * dependencies run one way (fcgi -> verify -> cache -> base).
 * Implemented in cache/base.c; no state, thread-safe.
 */
#ifndef KENSHO_BASE_H
#define KENSHO_BASE_H

#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------------ */
/* Results: one table, each entry with a class.                       */
/* ------------------------------------------------------------------ */

typedef enum {
    KS_CLASS_OK = 0,
    KS_CLASS_USAGE,       /* the caller used the program wrongly      */
    KS_CLASS_INPUT,       /* bytes that are not a signature/certificate */
    KS_CLASS_TOO_LARGE,   /* over a configured size or count ceiling  */
    KS_CLASS_UNSUPPORTED, /* a media type or format we do not handle  */
    KS_CLASS_CONFIG,      /* configuration or trust store unusable     */
    KS_CLASS_UNAVAILABLE, /* not ready / dependency missing            */
    KS_CLASS_INTERNAL     /* our bug or resource exhaustion            */
} ks_class;

/* X(name, class, message) */
#define KS_RESULTS(X)                                                               \
    X(KS_OK, KS_CLASS_OK, "ok")                                                     \
    X(KS_E_USAGE, KS_CLASS_USAGE, "usage error")                                    \
    X(KS_E_NOMEM, KS_CLASS_INTERNAL, "out of memory")                               \
    X(KS_E_INTERNAL, KS_CLASS_INTERNAL, "internal error")                           \
    X(KS_E_IO, KS_CLASS_INTERNAL, "input/output error")                             \
    X(KS_E_CONFIG, KS_CLASS_CONFIG, "configuration error")                          \
    X(KS_E_EMPTY, KS_CLASS_INPUT, "input is empty")                                 \
    X(KS_E_TOO_LARGE, KS_CLASS_TOO_LARGE, "input exceeds the size limit")           \
    X(KS_E_LIMIT, KS_CLASS_TOO_LARGE, "input exceeds a structural limit")           \
    X(KS_E_ENCODING, KS_CLASS_INPUT, "input is not DER, PEM, base64 or S/MIME")     \
    X(KS_E_NOT_SIGNATURE, KS_CLASS_INPUT, "input is not a CMS signed-data message") \
    X(KS_E_NO_SIGNERS, KS_CLASS_INPUT,                                              \
      "CMS signed-data without signers (certificates only) is not a signature")     \
    X(KS_E_CONTENT_CONFLICT, KS_CLASS_INPUT,                                        \
      "signature already encapsulates its content; detached content not expected")  \
    X(KS_E_NOT_CERTIFICATE, KS_CLASS_INPUT, "input is not an X.509 certificate")    \
    X(KS_E_BAD_TIME, KS_CLASS_USAGE, "time is not RFC 3339")                        \
    X(KS_E_UNSUPPORTED, KS_CLASS_UNSUPPORTED, "unsupported input type")             \
    X(KS_E_UNAVAILABLE, KS_CLASS_UNAVAILABLE, "service not ready")                   \
    X(KS_E_XML, KS_CLASS_INPUT, "input is not well-formed XML, or declares a DTD")    \
    X(KS_E_ZIP, KS_CLASS_INPUT, "input is not a usable ZIP package")                  \
    X(KS_E_PDF, KS_CLASS_INPUT, "input is not a usable PDF (damaged or over a limit)")  \
    X(KS_E_PDF_ENCRYPTED, KS_CLASS_UNSUPPORTED, "encrypted PDFs are not verified")    \
    X(KS_E_PDF_UNSIGNED, KS_CLASS_INPUT, "the PDF carries no signature")              \
    X(KS_E_BAD_REQUEST, KS_CLASS_USAGE, "malformed request")

typedef enum {
#define KS_X_ENUM(name, cls, msg) name,
    KS_RESULTS(KS_X_ENUM)
#undef KS_X_ENUM
        KS_RESULT_COUNT
} ks_result;

const char *ks_result_name(ks_result r);    /* "KS_E_TOO_LARGE"        */
const char *ks_result_message(ks_result r); /* human text, English     */
ks_class ks_result_class(ks_result r);
/* How a class becomes a CLI exit status or an HTTP status is the adapters'
 * business: verify.h (ks_result_exit_code, ks_result_http_status). */

/*
 * A bounds-checked cursor over untrusted bytes.  Reads never run past the
 * end and do not move on short input.
 */
typedef struct {
    const uint8_t *p;
    size_t len;
    size_t off;
} ks_cur;

void ks_cur_init(ks_cur *c, const uint8_t *p, size_t len);
size_t ks_cur_left(const ks_cur *c);
const uint8_t *ks_cur_ptr(const ks_cur *c);
int ks_cur_skip(ks_cur *c, size_t n); /* 1 ok, 0 short (no move) */
void ks_cur_skip_space(ks_cur *c);
int ks_cur_starts_with(const ks_cur *c, const char *lit);     /* 1/0, no move */
int ks_cur_starts_with_ci(const ks_cur *c, const char *lit);  /* ASCII case-insensitive */
/* Finds `needle` at or after the cursor; offset relative to the cursor, or -1. */
long ks_cur_find(const ks_cur *c, const uint8_t *needle, size_t nlen);

/* Lower-case hex of n bytes into out (2n + 1 bytes). */
void ks_hex_encode(const uint8_t *p, size_t n, char *out);

/* Strict UTF-8 (RFC 3629): no overlongs, no surrogates, no NUL; 1 valid. */
int ks_utf8_valid(const uint8_t *s, size_t len);

/*
 * Logging: one line per call to stderr, one write each.  Never pass
 * personal data.  "text" (the library's default, for bin/kensho):
 * "kensho: LEVEL: msg key=value ..."; "json" (kensho-fcgi's default, its
 * configuration "log": {"format", "level"}): one object per line,
 * {"timestamp": RFC 3339 UTC with milliseconds, "level", "msg", fields...}.
 * When stderr is journald's stream (JOURNAL_STREAM), each line starts with
 * the sd-daemon "<N>" priority.  Lines less severe than the level set are
 * dropped.
 */
typedef enum { KS_LOG_ERR, KS_LOG_WARN, KS_LOG_INFO, KS_LOG_DEBUG } ks_log_level;
typedef enum { KS_LOG_TEXT, KS_LOG_JSON } ks_log_format;
void ks_log_setup(ks_log_format fmt, ks_log_level level);
int ks_log_enabled(ks_log_level lvl);
/* "error", "warn", "info", "debug" -> 1 and *out; else 0. */
int ks_log_level_parse(const char *s, ks_log_level *out);
void ks_log(ks_log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A value for ks_log_fields: a string (NULL: JSON null) or, with is_num, a number. */
typedef struct {
    const char *key;
    const char *str;
    double num;
    int is_num;
} ks_log_field;
void ks_log_fields(ks_log_level lvl, const char *msg, const ks_log_field *f, size_t n);
/* Drains OpenSSL's error queue into the log at `lvl`, each entry with
 * `where` (the function that failed, or the caller) and OpenSSL's own
 * library, function and reason (nginx's ngx_ssl_error).  Every place that
 * gives up on an OpenSSL call drains instead of clearing, so the reason
 * reaches the log: ks_openssl_drain at debug (input we refuse: a caller's
 * problem), ks_log_openssl at warn (an operator must act: configuration,
 * keys, the audit log).  The error's free-text data (file names, field
 * names, values) is logged at warn only: at debug the input is untrusted
 * and could carry personal data. */
void ks_log_openssl_at(ks_log_level lvl, const char *where);
void ks_log_openssl(const char *where);   /* at KS_LOG_WARN */
void ks_openssl_drain(const char *where); /* at KS_LOG_DEBUG */

#endif
