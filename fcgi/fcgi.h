/*
 * fcgi/fcgi.h - kensho-fcgi, the HTTP face of the verification library.
 *
 * nginx -> FastCGI (libfcgi, fcgiapp.h only) -> main.c (threads, signals,
 * reload, body reading) -> ks_fcgi_handle() (routes, input forms, audit,
 * problem documents) -> verify.h.  Everything below main.c is independent of
 * libfcgi, so the whole request path can be driven from a unit test.
 *
 * Lifetimes
 *   ks_fcgi_gen     one "generation": a ks_ctx plus the service settings
 *                   and the audit handle built from the same configuration
 *                   file.  Reference counted: SIGHUP builds a new one and
 *                   swaps a pointer; requests in flight keep the old one
 *                   until they finish.  The revocation state (cache and
 *                   evidence seen) passes from one generation to the next
 *                   (ks_ctx_reload, ks_ctx_take_over).
 *   ks_fcgi_arena   per request slot (main.c: four per worker; a verdict's
 *                   slot waits for its audit record while the worker takes
 *                   the next request), reset after FCGX_Finish_r: when its
 *                   worker takes the slot again, or at once when it outgrew
 *                   its small chunk.  Every request-scoped allocation
 *                   (parameters copied out of libfcgi, the body, decoded
 *                   parts, the response) lives in it, and cJSON trees are
 *                   freed by its cleanup handlers.
 *
 * Limits (configuration section "limits"): max_body_bytes (default 20 MiB),
 * max_parts (16), max_json_depth (16), request_timeout_ms (30000), max_batch (100).
 * Service keys (section "service"): threads, socket, listen, socket_mode,
 * backlog, user (the account to run as when started as root; default
 * "nobody"; never root: see main.c), allow_from (addresses and CIDRs that
 * may connect over TCP; required with a non-loopback listen), drain_ms
 * (default 2000: how long SIGTERM keeps accepting after /readyz says 503).  Audit keys (section "audit"): path, required (default true),
 * fsync ("always" default, or "never"), rotate_bytes, rotate_seconds, keep,
 * anchor_url (main.c: closed files' heads POSTed there).  Log keys (section "log"): format
 * ("json", the default: journald and log collectors keep the fields;
 * "text"), level ("info" default; "error", "warn", "debug").
 */
#ifndef KENSHO_FCGI_H
#define KENSHO_FCGI_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "verify.h"

/* ---------------- arena ---------------- */

typedef struct ks_fcgi_arena ks_fcgi_arena;

/* `cap` bounds the bytes one request may hold; 0 = no allocation at all. */
ks_fcgi_arena *ks_fcgi_arena_new(size_t cap);
void ks_fcgi_arena_set_cap(ks_fcgi_arena *a, size_t cap);
/* 16-byte aligned; NULL past the cap or on OOM. */
void *ks_fcgi_arena_alloc(ks_fcgi_arena *a, size_t n);
/* Copy of s[0..n) with a NUL; NULL past the cap. */
char *ks_fcgi_arena_strndup(ks_fcgi_arena *a, const char *s, size_t n);
/* Runs fn(p) at reset (LIFO); 0 on OOM, in which case fn(p) runs now. */
int ks_fcgi_arena_cleanup(ks_fcgi_arena *a, void (*fn)(void *), void *p);
/* Frees everything of the request (keeps one small chunk for the next). */
void ks_fcgi_arena_reset(ks_fcgi_arena *a);
/* Chunk bytes held (what the cap counts); a fresh or reset arena holds
 * one small chunk, KS_FCGI_ARENA_CHUNK. */
#define KS_FCGI_ARENA_CHUNK (64 * 1024)
size_t ks_fcgi_arena_held(const ks_fcgi_arena *a);
void ks_fcgi_arena_free(ks_fcgi_arena *a); /* NULL ok */

/* ---------------- settings and generations ---------------- */

/* One entry of service.allow_from (http.c ks_fcgi_net_parse). */
typedef struct {
    int family; /* AF_INET or AF_INET6 */
    uint8_t addr[16];
    int prefix; /* bits */
} ks_fcgi_net;

typedef struct {
    size_t max_body_bytes;
    int max_parts;
    int max_batch; /* limits.max_batch (100): items of POST /api/v1/verify/batch */
    int max_json_depth;
    int request_timeout_ms;
    int threads;
    int backlog;
    unsigned socket_mode;
    char *socket;     /* unix socket path, or NULL */
    char *listen;     /* "127.0.0.1:PORT", or NULL */
    char *user;       /* service.user, or NULL (main.c: "nobody" when root) */
    ks_fcgi_net *allow_from; /* service.allow_from; NULL = anyone who can connect */
    size_t n_allow_from;
    int drain_ms; /* service.drain_ms: accepting goes on this long after SIGTERM */
    char *audit_path; /* absolute, or NULL when the audit log is off */
    int audit_required;
    ks_audit_fsync audit_fsync;
    ks_audit_rotation audit_rotation; /* audit.rotate_bytes, rotate_seconds, keep */
    char *anchor_url; /* audit.anchor_url: each closed file's final head is POSTed there, or NULL */
    int bench_routes; /* service.bench_routes: POST /api/v1/echo-bench (make bench) */
    ks_log_format log_format; /* log.format: "json" (default) or "text" */
    ks_log_level log_level;   /* log.level: "error", "warn", "info" (default), "debug" */
} ks_fcgi_settings;

/* Reads and validates the "service", "limits" (the service's keys) and
 * "audit" sections; unknown keys are refused naming the key.  Relative
 * paths are relative to the directory of `config_path`. */
ks_result ks_fcgi_settings_load(const ks_ctx *ctx, const char *config_path, ks_fcgi_settings *out,
                                char **errmsg);
void ks_fcgi_settings_clear(ks_fcgi_settings *s);

typedef struct {
    atomic_int refs;
    ks_ctx *ctx;
    ks_fcgi_settings set;
    ks_audit *audit;   /* NULL when off or when it could not be opened */
    char *audit_error; /* why it could not be opened (for /readyz and logs) */
    /* The local CRL files loaded, with their mtimes at load: main.c reloads
     * when one changes on disk (no SIGHUP needed; issue 22). */
    struct ks_fcgi_watched {
        char *path;
        struct timespec mtime;
        long long size;
    } *watched;
    size_t n_watched;
    ks_jws_key *signer; /* verdict_signing: the key of signed verdicts, or NULL */
    int sign_default;   /* verdict_signing.sign: every verdict signed unless ?sign=0 */
} ks_fcgi_gen;

/* Loads the configuration, the settings, and opens the audit log.  A
 * configuration error fails; an audit log that cannot be opened does not
 * (the service then answers 503 when audit.required, see /readyz). */
ks_result ks_fcgi_gen_load(const char *config_path, ks_fcgi_gen **out, char **errmsg);
/* The same for a reload (SIGHUP): the new generation's context shares
 * prev's revocation state (ks_ctx_reload); main.c calls ks_ctx_take_over
 * just before it puts the new generation in service. */
ks_result ks_fcgi_gen_reload(const char *config_path, const ks_fcgi_gen *prev, ks_fcgi_gen **out, char **errmsg);
/* Appends to *errmsg the account the process reads its files as
 * ("... (kensho-fcgi runs as user nobody (uid 65534))"): after the
 * privilege drop a "Permission denied" is about that account, not the one
 * that started it. */
void ks_fcgi_name_user(char **errmsg);
/* 1 when a watched file's mtime or size differs from what was recorded
 * (or it is gone); the record is updated, so one change is reported once
 * even when the reload it causes is refused.  Main thread only. */
int ks_fcgi_gen_files_changed(ks_fcgi_gen *g, const char **which);
ks_fcgi_gen *ks_fcgi_gen_ref(ks_fcgi_gen *g);
void ks_fcgi_gen_unref(ks_fcgi_gen *g); /* NULL ok */

/* ---------------- readiness ---------------- */

/* One named check per dependency: draining, trust_store, audit_log (these
 * three make /readyz 503: the node cannot give correct, recorded verdicts),
 * memcached and crls (down or stale: "degraded", still 200, and shown in
 * /metrics; issue 22: a stale CRL must not take every node out at once). */
#define KS_FCGI_MAX_CHECKS 8
typedef struct {
    const char *name;
    int ok;
    const char *detail; /* static or owned by the generation; never personal data */
    int degraded;       /* ok, but working without this dependency */
} ks_fcgi_check;

typedef struct {
    ks_fcgi_check checks[KS_FCGI_MAX_CHECKS];
    size_t n;
} ks_fcgi_readiness;

void ks_fcgi_readiness_collect(const ks_fcgi_gen *g, ks_fcgi_readiness *r);
int ks_fcgi_ready(const ks_fcgi_readiness *r);    /* 1 when every check is ok */
int ks_fcgi_degraded(const ks_fcgi_readiness *r); /* 1 when a check is degraded */
/* SIGTERM (main.c): /readyz answers 503 ("draining") from this moment,
 * while the service still accepts for service.drain_ms. */
void ks_fcgi_set_draining(int on);
int ks_fcgi_draining(void);

/* ---------------- requests ---------------- */

typedef enum {
    KS_ROUTE_VERIFY = 0,
    KS_ROUTE_CERTIFICATE,
    KS_ROUTE_HEALTHZ,
    KS_ROUTE_READYZ,
    KS_ROUTE_METRICS,
    KS_ROUTE_OTHER,
    KS_ROUTE_COUNT
} ks_fcgi_route;

typedef struct {
    const char *method;       /* REQUEST_METHOD */
    const char *path;         /* DOCUMENT_URI: decoded, normalised, no query */
    const char *query;        /* QUERY_STRING, may be "" */
    const char *content_type; /* CONTENT_TYPE or NULL */
    const char *request_id;   /* kensho's own (ks_fcgi_request_id), never NULL */
    const char *client_request_id; /* the caller's, strictly checked, or NULL */
    const uint8_t *body;
    size_t body_len;
    /* How reading the body went (ks_fcgi_read_body): KS_OK, KS_E_TOO_LARGE
     * (over limits.max_body_bytes), KS_E_BAD_REQUEST (the body does not
     * match CONTENT_LENGTH) or KS_E_NOMEM.  The handler answers anything but
     * KS_OK as a problem through ks_result_http_status(), like every other
     * result: a size refusal is 413, running out of memory 500. */
    ks_result body_result;
} ks_fcgi_req;

typedef struct {
    int status;
    const char *content_type;
    const char *allow; /* Allow header for 405, else NULL */
    const char *body;  /* arena-owned */
    size_t body_len;
    ks_fcgi_route route;
    const char *indication; /* for metrics and the access log: verdict or NULL */
    const char *code;       /* problem code or NULL */
    /* Not 0: a verdict whose audit record is taken but maybe not yet on
     * disk.  Nothing of resp may be sent before ks_audit_when_synced(
     * g->audit, audit_seq, ...) says KS_OK; on failure ks_fcgi_audit_failed
     * turns resp into what is sent instead. */
    unsigned long long audit_seq;
} ks_fcgi_resp;

void ks_fcgi_handle(ks_fcgi_gen *g, ks_fcgi_arena *a, const ks_fcgi_req *req, ks_fcgi_resp *resp);
/* An audit record that could not be written or synced (r): counted and
 * logged; with audit.required the verdict in resp becomes a 503 problem (no
 * record, no verdict) and 0 is returned, else it stands (1). */
int ks_fcgi_audit_failed(ks_fcgi_gen *g, ks_fcgi_arena *a, const ks_fcgi_req *req, ks_fcgi_resp *resp, ks_result r);

/* GET /api/v1/openapi.json (openapi.c): the OpenAPI 3.1 document, its
 * enums filled from the code's own tables; built once, static, never freed.
 * KS_E_INTERNAL when the embedded template cannot be filled (a build bug)
 * or memory ran out the one time it was built. */
ks_result ks_fcgi_openapi(const char **text, size_t *len);
/* The problem codes the handler sends without a ks_result behind them
 * ("HTTP_NOT_FOUND", ...), i = 0, 1, ... until NULL. */
const char *ks_fcgi_http_problem_code(size_t i);

/* ---------------- HTTP helpers (http.c) ---------------- */

/* kensho's own request id (X-Request-Id, the audit record's request_id, the
 * log lines): 32 hex characters from RAND_bytes.  Never taken from outside:
 * a raw FastCGI client could otherwise plant ids in the audit log.  out has
 * 65 bytes. */
void ks_fcgi_request_id(char out[65]);
/* The id that came with the request (the REQUEST_ID parameter: nginx's
 * $request_id), kept as client_request_id only when it is 1..64 characters
 * of [A-Za-z0-9._-] starting with a letter or digit; anything else is
 * dropped whole (1 kept, 0 dropped; out is "" then), never "cleaned up". */
int ks_fcgi_client_request_id(const char *in, char out[65]);

/* service.allow_from: who may talk FastCGI over TCP.  libfcgi's own
 * FCGI_WEB_SERVER_ADDRS takes exact IPv4 addresses only, is read once at
 * FCGX_Init and cannot change at a reload, so main.c checks the peer of
 * each accepted connection against these instead. */
/* "192.0.2.7", "10.0.0.0/8", "2001:db8::/32": 1 when valid.  Host bits set
 * beyond the prefix are refused (an allow-list must not widen silently). */
int ks_fcgi_net_parse(const char *s, ks_fcgi_net *out);
struct sockaddr;
/* 1 when the peer (getpeername) is in one of nets; an AF_UNIX peer always
 * is (the socket file's mode decides), an IPv4-mapped IPv6 peer is matched
 * as IPv4, anything else is refused. */
int ks_fcgi_peer_allowed(const ks_fcgi_net *nets, size_t n, const struct sockaddr *sa, size_t salen);
/* 1 when "HOST:PORT" binds a loopback address (127.0.0.0/8, ::1). */
int ks_fcgi_listen_is_loopback(const char *hostport);

typedef struct {
    char type[128];     /* "type/subtype", lower case */
    char boundary[71];  /* RFC 2046 5.1.1: 1..70 characters */
    int has_boundary;
} ks_fcgi_media;

/* Content-Type (RFC 9110 8.3.1).  KS_E_BAD_REQUEST on anything ambiguous. */
ks_result ks_fcgi_media_parse(const char *ct, ks_fcgi_media *out, const char **why);

/* Nesting of arrays/objects in a JSON text, without parsing it: 1 when the
 * depth stays <= max. */
int ks_fcgi_json_depth_ok(const uint8_t *p, size_t len, int max);

/* Base64 (RFC 4648 4, line breaks allowed) into an arena buffer. */
ks_result ks_fcgi_b64_decode(ks_fcgi_arena *a, const char *s, size_t len, uint8_t **out, size_t *outlen);

const char *ks_fcgi_reason(int status); /* "Not Found" */

/* Reads the request body from `rd` (libfcgi's stream in main.c; a buffer in
 * the tests): at most `read(arg, buf, n)` bytes per call, 0 or less at the
 * end.  Exactly CONTENT_LENGTH bytes (`content_length`, NULL or "" = 0) go
 * into an arena buffer with a NUL after them.  KS_E_TOO_LARGE past `max`
 * (what was sent is read and dropped, bounded, so the 413 is not lost to a
 * reset), KS_E_BAD_REQUEST for a length that is not a number or bytes that
 * do not match it, KS_E_NOMEM when the arena cannot hold the body. */
typedef int (*ks_fcgi_read_fn)(void *arg, char *buf, int n);
ks_result ks_fcgi_read_body(ks_fcgi_arena *a, const char *content_length, size_t max, ks_fcgi_read_fn rd, void *arg,
                            uint8_t **body, size_t *len);

/* ---------------- multipart/form-data (multipart.c) ---------------- */

typedef struct {
    const char *name;         /* form field name */
    const char *filename;     /* basename as sent, or NULL for a plain field */
    const char *content_type; /* or NULL */
    const uint8_t *data;      /* points into the body */
    size_t len;
} ks_fcgi_part;

/* RFC 7578 over RFC 2046 5.1, strictly: no preamble, CRLF line ends, at most
 * max_parts parts, bounded headers, one Content-Disposition "form-data"
 * with a name per part.  Parts point into `body`. */
ks_result ks_fcgi_multipart_parse(ks_fcgi_arena *a, const char *boundary, const uint8_t *body, size_t len,
                                  int max_parts, ks_fcgi_part **parts, size_t *nparts, const char **why);

/* ---------------- metrics (metrics.c) ---------------- */

const char *ks_fcgi_route_name(ks_fcgi_route r);
void ks_fcgi_metrics_request(ks_fcgi_route r, int status, const char *indication, double seconds);
void ks_fcgi_metrics_inflight(int delta);
void ks_fcgi_metrics_reload(int ok);
void ks_fcgi_metrics_audit_failure(void);
void ks_fcgi_metrics_peer_refused(void); /* a connection outside service.allow_from */
/* The background CRL refresher's pass (main.c): kensho_crl_refreshes_total. */
void ks_fcgi_metrics_crl_refresh(const ks_crl_refresh_counts *c);
/* audit.anchor_url POSTs (main.c): kensho_audit_anchor_posts_total. */
void ks_fcgi_metrics_anchor(int ok);
/* Prometheus text format 0.0.4 into an arena buffer. */
ks_result ks_fcgi_metrics_render(ks_ctx *ctx, ks_audit *audit, ks_fcgi_arena *a, char **out, size_t *outlen);

/* A growable text buffer with a ceiling (metrics, headers). */
typedef struct {
    char *p;
    size_t len, cap, max;
    int failed; /* latched: past max or OOM */
} ks_fcgi_buf;
void ks_fcgi_buf_printf(ks_fcgi_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
