/*
 * verify/verify.h - the kensho verification library (public interface).
 *
 * Everything that answers "is this signature valid?" lives behind this
 * header: configuration, the process-wide context (trust store, limits,
 * policy), input decoding, CMS signature checks, path validation, revocation
 * and the JSON verdict.  bin/kensho and bin/kensho-fcgi are thin adapters
 * over it and print exactly the JSON it builds.
 *
 * Lifetimes
 *   ks_ctx     process-wide, built once from a configuration file, read-only
 *              afterwards and shared by all threads.  Reference counted so a
 *              reload (SIGHUP) can swap it while requests in flight finish on
 *              the old one.  ks_ctx_unref(NULL) is a no-op.
 *   cJSON *    verdicts are returned to the caller, who frees them with
 *              cJSON_Delete().
 *
 * Errors
 *   Every fallible function returns a ks_result from the single table
 *   KS_RESULTS (base.h, the lowest layer, shared with cache/).  Each
 *   result has a class; the class alone decides the CLI exit code and the
 *   HTTP status (ks_result_exit_code, ks_result_http_status), so the
 *   mapping exists in exactly one place.
 *   A signature that is merely invalid is NOT an error: it is KS_OK with a
 *   failing verdict.
 *
 * Personal data
 *   Verdicts carry the JPKI basic four items (name, address, date of birth,
 *   sex) for the caller.  Nothing in this library writes them to a log.
 */
#ifndef KENSHO_VERIFY_H
#define KENSHO_VERIFY_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "base.h"

/* ------------------------------------------------------------------ */
/* Results: the one table KS_RESULTS, its classes, ks_result_name,     */
/* ks_result_message and ks_result_class live in base.h (the lowest    */
/* layer, shared with cache/); the mappings to the outside are here.   */
/* ------------------------------------------------------------------ */

int ks_result_exit_code(ks_result r);   /* sysexits: 64, 65, 78, 70 */
int ks_result_http_status(ks_result r); /* 400, 413, 415, 500, 503  */

/* {"error": {"code": name, "message": ..., "detail": detail}}; NULL on OOM. */
cJSON *ks_error_json(ks_result r, const char *detail);

/* ------------------------------------------------------------------ */
/* Verdict vocabulary (ETSI EN 319 102-1).                            */
/* ------------------------------------------------------------------ */

/* The verdict contract's version, "api_version" in every verdict: "1.<minor>".
 * The minor grows when fields are added; a change that removes or renames a
 * field, or changes a field's meaning, is a new major (README "API
 * changelog"). */
#define KS_API_VERSION "1.3"

typedef enum { KS_TOTAL_PASSED = 0, KS_INDETERMINATE, KS_TOTAL_FAILED } ks_indication;

#define KS_SUBINDICATIONS(X)      \
    X(NONE)                       \
    X(FORMAT_FAILURE)             \
    X(HASH_FAILURE)               \
    X(SIG_CRYPTO_FAILURE)         \
    X(REVOKED)                    \
    X(REVOKED_NO_POE)             \
    X(SIG_CONSTRAINTS_FAILURE)    \
    X(CHAIN_CONSTRAINTS_FAILURE)  \
    X(CRYPTO_CONSTRAINTS_FAILURE) \
    X(EXPIRED)                    \
    X(NOT_YET_VALID)              \
    X(OUT_OF_BOUNDS_NO_POE)       \
    X(NO_SIGNING_CERTIFICATE_FOUND) \
    X(NO_CERTIFICATE_CHAIN_FOUND) \
    X(TRY_LATER)                  \
    X(SIGNED_DATA_NOT_FOUND)      \
    X(POLICY_PROCESSING_ERROR)

typedef enum {
#define KS_X_SUB(name) KS_SUB_##name,
    KS_SUBINDICATIONS(KS_X_SUB)
#undef KS_X_SUB
        KS_SUB_COUNT
} ks_subindication;

const char *ks_indication_name(ks_indication i);        /* "TOTAL_PASSED" */
const char *ks_subindication_name(ks_subindication s);  /* NULL for NONE  */
/* Exit status of bin/kensho for a verdict: 0 passed, 1 failed, 2 indeterminate. */
int ks_indication_exit_code(ks_indication i);
/* The vocabulary of reasons[].code ("VALID", every subindication, the RFC
 * 5280 revocation reasons) and of warnings[].code, i = 0, 1, ... until
 * NULL: the enums of the OpenAPI document. */
const char *ks_reason_code(size_t i);
const char *ks_warning_code(size_t i);
/* Reads "indication" back from a verdict; KS_TOTAL_FAILED if absent. */
ks_indication ks_verdict_indication(const cJSON *verdict);

/* ------------------------------------------------------------------ */
/* Process-wide context.                                              */
/* ------------------------------------------------------------------ */

typedef struct ks_ctx ks_ctx;

/* The clock every time decision reads (path validity, OCSP/CRL freshness,
 * cache expiry).  Injected so tests never rot. */
typedef time_t (*ks_clock_fn)(void *arg);

/*
 * Builds a context from the JSON configuration at `path`.  On failure *errmsg
 * (malloc'd, caller frees) names the offending key or file.
 */
ks_result ks_ctx_load(const char *path, ks_ctx **out, char **errmsg);
/*
 * A reload (kensho-fcgi's SIGHUP): the same as ks_ctx_load, but the new
 * context shares `prev`'s revocation state instead of starting cold: the
 * registry of evidence seen (always: rollback protection survives), and the
 * revocation cache when the "cache" section and "memcached" list are the
 * same (else a new one; the HMAC key is part of that).  prev NULL: a plain
 * load.  Nothing is dropped yet: a reload that fails after this leaves the
 * running context as it was.  When the new context is put in service, call
 * ks_ctx_take_over(ctx, prev) first.
 */
ks_result ks_ctx_reload(const char *path, ks_ctx *prev, ks_ctx **out, char **errmsg);
/*
 * Drops from a shared cache what the change from prev to ctx could affect:
 * everything when the trust anchors, intermediates, algorithms,
 * revocation_sources or the revocation keys that decide whether evidence is
 * acceptable (max_response_bytes, clock_skew_s, ocsp_nonce, ocsp_max_age_s,
 * ocsp_certid_hash) changed; the evidence from URLs no longer allowed when
 * allow_urls changed; OCSP answers whose responder a local CRL vouched for
 * when the local CRLs changed; remembered failures on any of these.  Loads
 * begun for prev's rules no longer enter the cache afterwards.  Writes a
 * summary to why (e.g. "kept 12 entries" / "dropped 3 of 12: allow_urls");
 * returns the number of entries dropped.  Main thread, once per reload.
 */
size_t ks_ctx_take_over(ks_ctx *ctx, const ks_ctx *prev, char *why, size_t whylen);
ks_ctx *ks_ctx_ref(ks_ctx *ctx);
void ks_ctx_unref(ks_ctx *ctx); /* frees on the last reference; NULL ok */
void ks_ctx_set_clock(ks_ctx *ctx, ks_clock_fn fn, void *arg);
time_t ks_ctx_now(const ks_ctx *ctx);
/* Ceiling on a submitted signature or certificate, from "limits". */
size_t ks_ctx_max_input(const ks_ctx *ctx);
/* A description of the policy in force, for verdicts and the audit log. */
const char *ks_ctx_policy(const ks_ctx *ctx); /* as JSON text, printed once */
/*
 * Operational state at `now` for readiness and metrics (caller frees):
 *   {"memcached": {"servers": N, "up": bool},
 *    "cache": {"hits_memory", "hits_memcached", "misses", "fetches", ...},
 *    "crls": [{"issuer", "file", "this_update", "next_update", "age_s", "fresh"}],
 *    "fetch": [{"authority", "requests", "errors", "seconds"}]}
 * CA names only: nothing personal.
 */
cJSON *ks_ctx_status(const ks_ctx *ctx, time_t now);

/*
 * The background CRL refresher (revoke.c; kensho-fcgi runs one thread of
 * it): keeps the CRLs named by URL under revocation_sources in the
 * revocation cache before their nextUpdate, so requests find them in
 * memory.  Same fetch and verification rules as the request path; a CRL
 * that fails them never replaces the cached one.  One refresher per
 * process, one thread at a time; it follows at most 64 URLs, remembered
 * across passes and reloads (give each pass the context in service).
 */
/* 1 when `url` is an http:// URL under revocation.allow_urls. */
int ks_ctx_url_allowed(const ks_ctx *ctx, const char *url);
/* POSTs `json` (application/json) to `url` under the revocation fetch
 * rules (allow_urls, timeout_ms, no redirects): KS_OK when the server
 * answered 200 (its body is not read); otherwise
 * KS_E_UNAVAILABLE with err (audit.anchor_url). */
ks_result ks_http_post_json(const ks_ctx *ctx, const char *url, const char *json, char *err, size_t errlen);

typedef struct ks_crl_refresher ks_crl_refresher;
typedef struct {
    unsigned long long ok;        /* a newer CRL replaced the cached one */
    unsigned long long unchanged; /* the same CRL again (not yet reissued) */
    unsigned long long failed;    /* fetch failed or the CRL was refused */
} ks_crl_refresh_counts;
ks_crl_refresher *ks_crl_refresher_new(void); /* NULL on OOM */
void ks_crl_refresher_free(ks_crl_refresher *r); /* NULL ok */
/* Refreshes what is due at `now`; returns when the next one is due (at
 * most now + 60).  Each fetch is bounded by revocation.timeout_ms.  Does
 * nothing with revocation.mode "off" or crl_refresh_s 0. */
time_t ks_crl_refresh_pass(ks_crl_refresher *r, ks_ctx *ctx, time_t now, ks_crl_refresh_counts *out);
/* A configuration section another module owns ("service", "cache", "audit",
 * "limits"), as written in the file; NULL when absent. */
const cJSON *ks_ctx_section(const ks_ctx *ctx, const char *name);

/* ------------------------------------------------------------------ */
/* Verification.                                                      */
/* ------------------------------------------------------------------ */

/* Bytes someone handed us.  `name` is the file name where one is known. */
typedef struct {
    const char *name;
    const uint8_t *data;
    size_t len;
} ks_blob;

/* The digest of a detached content, for hash-only submission (digest.c):
 * algorithm "sha256", "sha384" or "sha512", value the raw digest.  name:
 * NULL for the one content of a detached CMS; for an XML signature the
 * attachment's file name as a detached Reference names it (xml_digest.c),
 * which the digest stands in for. */
typedef struct {
    const char *name;
    const char *algorithm;
    const uint8_t *value;
    size_t len;
} ks_digest;
#define KS_MAX_DIGESTS 256 /* as many as an e-Gov package has References (KS_XML_MAX_REFS) */

typedef struct {
    ks_blob signature;
    const ks_blob *contents; /* detached content / attachments */
    size_t n_contents;
    /* Hash-only: instead of contents, the digests of the one detached CMS
     * content (one per algorithm, no name; each signer uses its own
     * algorithm's), or of an XML signature's detached attachments (each
     * named; one per name and algorithm).  KS_E_CONTENT_CONFLICT with an
     * attached CMS content, with any CMS content, or with an XML attachment
     * of the same name; KS_E_BAD_REQUEST for a named CMS digest or an
     * unnamed XML one; KS_E_UNSUPPORTED for PDF.  The verdict then carries
     * "content_checked": "digest". */
    const ks_digest *digests;
    size_t n_digests;
    time_t at;  /* validation time, used when has_at */
    int has_at; /* 0: the context clock's now */
} ks_request;

/*
 * Verifies a signature.  KS_OK means *verdict holds a verdict (which may say
 * TOTAL_FAILED or INDETERMINATE); any other result means the input was not a
 * signature at all or we failed, and *verdict is NULL.
 */
ks_result ks_verify_signature(ks_ctx *ctx, const ks_request *req, cJSON **verdict);

/* Validates a certificate (path, policy, revocation) as a signing certificate. */
ks_result ks_verify_certificate(ks_ctx *ctx, const ks_blob *cert, time_t at, int has_at,
                                cJSON **verdict);

/* ------------------------------------------------------------------ */
/* Small helpers shared with the adapters.                            */
/* ------------------------------------------------------------------ */

/* RFC 3339 ("2026-03-15T09:00:00Z", "...+09:00", fractions ignored). */
ks_result ks_time_parse(const char *s, time_t *out);
/* Formats as "YYYY-MM-DDTHH:MM:SSZ" into buf (>= 21 bytes). */
void ks_time_format(time_t t, char *buf, size_t len);

/* The bounds-checked cursor (ks_cur) and ks_hex_encode: base.h. */

/* The value of one hex digit, or -1. */
int ks_hex_digit(int c);
/* RFC 3986 2.1 percent-decoding in place; 0 on a malformed escape or %00. */
int ks_pct_decode_inplace(char *s);

/* Logging (ks_log, ks_log_fields, ks_log_openssl, ks_log_setup): base.h. */
/* The build's version ("0.1.0+g1a2b3c4"), the OpenSSL library's
 * ("3.0.17") and libxmlsec1's ("1.2.37"): --version and /metrics. */
const char *ks_version(void);
const char *ks_version_openssl(void);
const char *ks_version_xmlsec(void);

/* ------------------------------------------------------------------ */
/* Signed verdicts (verify/jws.c): RFC 7515 compact JWS, ES256 / PS256. */
/* ------------------------------------------------------------------ */

typedef struct ks_jws_key ks_jws_key;
/* The gateway's signing key (PEM) and its certificate (PEM or DER):
 * EC P-256 signs ES256, RSA >= 2048 PS256; the key must be the
 * certificate's.  KS_E_CONFIG with *errmsg (malloc'd) naming what is wrong. */
ks_result ks_jws_key_load(const char *key_file, const char *cert_file, ks_jws_key **out, char **errmsg);
void ks_jws_key_free(ks_jws_key *k); /* NULL ok */
const char *ks_jws_key_alg(const ks_jws_key *k);
/* header.payload.signature over `payload` (malloc'd into *out); the
 * protected header is {"alg", "typ": "JOSE", "cty", "x5t#S256"}. */
ks_result ks_jws_sign(const ks_jws_key *k, const char *payload, size_t len, char **out);
/* 1 when jws[0..n) is a JWS by the key of the certificate in cert_file,
 * with the algorithm that key implies; *payload then holds the parsed
 * payload (caller frees).  0 with *why otherwise. */
int ks_jws_verify(const char *jws, size_t n, const char *cert_file, cJSON **payload, const char **why);

/* ------------------------------------------------------------------ */
/* Audit log (verify/audit.c; used by kensho-fcgi, checked by         */
/* `kensho audit-verify`).                                            */
/* ------------------------------------------------------------------ */

/*
 * An append-only JSON-lines file, one record per verification, each line
 * hash-chained to the one before ("prev" = SHA-256 hex of the previous line,
 * 64 zeros for the first).  Records hold hashes, the signer certificate's
 * fingerprint, indication, revocation sources with thisUpdate and the
 * policy; never subject names or JPKI items.  A handle is thread-safe and
 * several handles/processes may append to one file (flock).
 */
typedef struct ks_audit ks_audit;
typedef enum {
    KS_AUDIT_FSYNC_ALWAYS = 0, /* fdatasync each record before answering (default) */
    KS_AUDIT_FSYNC_NEVER       /* page cache only: faster, may lose the last records */
} ks_audit_fsync;

typedef struct {
    time_t time;
    const char *request_id;   /* the service's own id, already sanitised */
    const char *client_request_id; /* the caller's id (strictly checked by the caller), or NULL: recorded
                                    * beside request_id, never in its place */
    const char *kind;         /* "signature" or "certificate" */
    const ks_blob *input;     /* the signature or certificate submitted */
    const ks_blob *contents;  /* detached content; may be NULL */
    size_t n_contents;
    const cJSON *verdict;     /* read only: signer.sha256, indication, revocation */
    const char *policy;       /* ks_ctx_policy(): JSON text */
} ks_audit_event;

/* Opens (creating, mode 0640) and reads the last line to continue the chain.
 * On failure *errmsg (malloc'd) says why. */
ks_result ks_audit_open(const char *path, ks_audit_fsync policy, ks_audit **out, char **errmsg);

/*
 * The chain across files.  Every line carries "prev" and "seq" (1, 2, ...
 * across files).  The first line of every file after the first is a
 * "rotation" record with the file's "file_seq" and, in "previous", the file
 * before it: its file_seq, last_seq, record count and head, so a missing,
 * truncated or swapped file shows.  kensho starts a new file when the open
 * one would pass rotate_bytes or its first record is rotate_seconds older
 * than the newest (0: never); the old one keeps its name with ".<file_seq>"
 * added, and rotated files beyond `keep` (0: all kept) are removed.  Before
 * each write the file is checked: a path renamed or removed from outside
 * continues the chain in the file now at the path (or a new one), and a
 * file shorter than we left it (copytruncate, "> file") gets a "break"
 * record with what was expected and found, which audit-verify reports.
 */
typedef struct {
    unsigned long long rotate_bytes;
    long rotate_seconds;
    int keep;
} ks_audit_rotation;
void ks_audit_set_rotation(ks_audit *a, const ks_audit_rotation *r);
void ks_audit_close(ks_audit *a); /* NULL ok */
/* Appends one record; KS_OK only once it is written (and synced per policy):
 * ks_audit_write, then ks_audit_synced. */
ks_result ks_audit_append(ks_audit *a, const ks_audit_event *ev);
/* ks_audit_write, and in *record the record's own number for
 * ks_audit_record_hash (not 0 whenever KS_OK, whatever the fsync policy). */
ks_result ks_audit_write_ticket(ks_audit *a, const ks_audit_event *ev, unsigned long long *ticket,
                                unsigned long long *record);
/* Once record `record` is written (after ks_audit_synced): the SHA-256 hex
 * of its line, which is the "prev" of the next line, and its "seq", so a
 * signed verdict can name its place in the hash chain.  KS_E_UNAVAILABLE
 * when it is not written yet, failed, or is more than 1024 records old. */
ks_result ks_audit_record_hash(ks_audit *a, unsigned long long record, char hash[65], unsigned long long *seq);
/* Takes one record (the chain's next line) without waiting for the disk.
 * *seq is the record's ticket for ks_audit_when_synced, which writes and
 * syncs it, or 0 when there is nothing to wait for (fsync "never": written
 * at once).  Not KS_OK: nothing was added. */
ks_result ks_audit_write(ks_audit *a, const ks_audit_event *ev, unsigned long long *seq);
/* A caller-owned wait for one record: done(arg, r) runs exactly once, with
 * KS_OK when the record is on disk or KS_E_IO when the write or fdatasync
 * that should have covered it failed.  It runs on the calling thread when the answer is
 * known at once or when that thread leads the next fdatasync, otherwise on
 * the thread leading it (group commit: a leader syncs for every record
 * written so far and answers every wait covered, until none is left).  The
 * wait must stay valid until done() runs; done() should be quick, as the
 * waits answered after it in the same group wait for it. */
typedef struct ks_audit_wait {
    void (*done)(void *arg, ks_result r);
    void *arg;
    unsigned long long seq;     /* private */
    struct ks_audit_wait *next; /* private */
} ks_audit_wait;
void ks_audit_when_synced(ks_audit *a, unsigned long long seq, ks_audit_wait *w);
/* The same, blocking: KS_OK once record `seq` is on disk (at once for 0),
 * KS_E_IO when its fdatasync failed. */
ks_result ks_audit_synced(ks_audit *a, unsigned long long seq);
/* The chain head: SHA-256 hex of the last line written or read. */
void ks_audit_head(ks_audit *a, char out[65]);
/* A file the chain has moved on from (rotation or replacement): its place,
 * its last record and count, and its final chain head, for
 * audit.anchor_url.  The handle keeps the last 16 not yet taken (older
 * ones are dropped and counted in *dropped). */
typedef struct {
    unsigned long long file_seq, last_seq, records;
    char head[65];
} ks_audit_closed;
/* Moves up to `max` closed files, oldest first, into out; returns how many. */
size_t ks_audit_take_closed(ks_audit *a, ks_audit_closed *out, size_t max, unsigned long long *dropped);
/* Records appended and fdatasyncs done through this handle (records/syncs
 * is the group commit's batch size, for /metrics). */
void ks_audit_stats(ks_audit *a, unsigned long long *records, unsigned long long *syncs);
/* Checks a file's chain.  KS_OK with *report = {"intact": true, "lines": N,
 * "head": hex} or {"intact": false, "line": N, "reason": ...} (N 1-based: the
 * first line whose link is broken); KS_E_IO when unreadable. */
ks_result ks_audit_check_file(const char *path, cJSON **report);
/* Checks the chain across files (in any order; a directory's regular
 * files).  *report: {"intact", "files": [{"path", "file_seq", "lines",
 * "first_seq", "last_seq", "head"}], "lines", "head", "first_file_seq",
 * "problems": [{"kind": "broken_link" | "break" | "gap" | "fork" |
 * "truncated" | "missing_file" | "torn", "path", "line", "detail"}]}, plus
 * "line" and "reason" of the first problem.  KS_E_IO when a file is
 * unreadable (*errpath, malloc'd, names it). */
ks_result ks_audit_check(const char *const *paths, size_t n, cJSON **report, char **errpath);

#endif
