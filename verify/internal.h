/*
 * verify/internal.h - shared between the files of the verify/ module only.
 * Not installed, not included from other modules: they use verify.h.
 */
#ifndef KENSHO_VERIFY_INTERNAL_H
#define KENSHO_VERIFY_INTERNAL_H

#include <stdatomic.h>

#include <openssl/cms.h>
#include <openssl/ess.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "cache.h"
#include "verify.h"

/* Where a certificate of a path came from (reported in "chain"). */
typedef enum { KS_SRC_ANCHOR, KS_SRC_CONFIG, KS_SRC_SIGNATURE, KS_SRC_SUBMITTED, KS_SRC_INPUT } ks_cert_source;
const char *ks_cert_source_name(ks_cert_source s);

typedef enum { KS_REV_REQUIRE, KS_REV_SOFT_FAIL, KS_REV_OFF } ks_rev_mode;

/* Ceilings on everything a request can make us hold or do (set at load). */
typedef struct {
    size_t max_input_bytes;   /* a submitted signature or certificate     */
    int max_certs;            /* certificates embedded in one message      */
    int max_crls;             /* CRLs embedded in one message              */
    int max_signers;          /* SignerInfos in one message                */
    int max_path_length;      /* certificates in a path, anchor included   */
    int max_paths;            /* candidate paths tried by the path builder */
} ks_limits;

/* Algorithm policy (CRYPTO_CONSTRAINTS_FAILURE below these). */
typedef struct {
    int min_rsa_bits;
    int min_ec_bits;
    int min_dsa_bits;
    int allow_sha1;
    int allow_md5;
    /* algorithms.sunset (ETSI EN 319 102-1 5.2.8 with the dates of ETSI TS
     * 119 312): a weak algorithm refused above is still accepted for an
     * object proven (by a timestamp made with strong algorithms) to have
     * existed before its date.  0: no sunset, always refused. */
    time_t sunset_sha1;
    time_t sunset_rsa1024;
    /* Set only in a sunset-relaxed copy (ks_alg_sunset_ctx), read only for
     * the certificates of a path (keys, certificate signatures): evidence
     * (OCSP, CRLs, tokens) is always judged by the fields above. */
    int path_allow_sha1;
    int path_min_rsa_bits; /* 0: min_rsa_bits */
    /* Set only in a copy made for one piece of embedded evidence (an OCSP
     * response, or the CRLs checked together) that a timestamp covering its
     * very bytes proves older than the sha1 sunset (ks_alg_evidence_ctx):
     * read for the evidence's own signature algorithm alone. */
    int evidence_allow_sha1;
    /* The same for CRLs, in a copy made for one CRL check: only these CRLs
     * (each proven older than the sha1 sunset) may be signed with SHA-1. */
    struct X509_crl_st *const *evidence_sha1_crls;
    int n_evidence_sha1_crls;
} ks_algpolicy;

typedef struct {
    X509 *issuer;   /* the CA whose certificates this source covers */
    char **crl;     /* URLs or files */
    size_t n_crl;
    char *ocsp;     /* responder URL or NULL */
} ks_rev_source;

/* revocation.ocsp_nonce (RFC 6960 4.4.1). */
typedef enum {
    KS_NONCE_OFF = 0,    /* false: no nonce is sent */
    KS_NONCE_ON = 1,     /* true (default): sent; an answer without it is
                          * used only while younger than ocsp_max_age_s */
    KS_NONCE_REQUIRE = 2 /* "require": an answer without it is refused */
} ks_nonce_mode;

/* Default revocation.ocsp_max_age_s: an OCSP answer is used for at most an
 * hour after its thisUpdate, whatever its nextUpdate says (README
 * "Revocation": pre-produced responses need a larger value). */
#define KS_OCSP_MAX_AGE_DEFAULT 3600

typedef struct {
    ks_rev_mode mode;
    char **allow_urls;
    size_t n_allow_urls;
    int timeout_ms;
    int prefer_crl;           /* 0: OCSP first, CRL as fallback */
    size_t max_response_bytes;
    int clock_skew_s;
    int ocsp_max_age_s;       /* 0: nextUpdate alone decides (and no answer
                                 without our nonce is used) */
    ks_nonce_mode ocsp_nonce;
    int ocsp_certid_sha256;
    int crl_refresh_s;        /* longest interval between background fetches of
                                 a revocation_sources CRL URL (0: no refresher) */
} ks_revocation_cfg;

typedef struct ks_registry ks_registry;
typedef struct ks_vcache ks_vcache;

struct ks_ctx {
    atomic_int refs;
    X509_STORE *store;              /* trust anchors only */
    STACK_OF(X509) *anchors;        /* the same anchors, for the path builder */
    STACK_OF(X509) *intermediates;  /* configured CA and cross certificates */
    STACK_OF(X509) *ts_anchors;     /* timestamp_anchors: TSA trust, apart from the signing anchors */
    X509_STORE *ts_store;           /* the same, for TSA paths (tsp.c); NULL when none */
    STACK_OF(X509_CRL) *crls;       /* local CRL files ("crls", revocation_sources) */
    char **crl_origins;             /* the file of each, same order */
    ks_revocation_cfg rev;
    ks_rev_source *sources;
    size_t n_sources;
    STACK_OF(ASN1_OBJECT) *policies; /* accept_policies; empty = any */
    int require_explicit_policy;
    int inhibit_policy_mapping;
    int inhibit_any_policy;
    STACK_OF(ASN1_OBJECT) *signer_ekus; /* signer_ekus: EKU purposes a signer may have (verify.c) */
    char **memcached;
    size_t n_memcached;
    ks_limits limits;
    ks_algpolicy alg;
    char *policy_json; /* summary of the policy in force, printed once (every verdict carries it) */
    cJSON *sections;    /* sections other modules parse: "service", "cache", "audit" */
    ks_clock_fn clock;
    void *clock_arg;
    /* The revocation state a reload carries over (ks_ctx_reload): the
     * registry always (CA certificates by fingerprint, and the newest
     * evidence seen: rollback protection never resets on a SIGHUP), the
     * cache when its settings are the same, minus what the change could
     * affect (ks_ctx_take_over). */
    ks_registry *registry; /* CA certificates by fingerprint (registry.c); shared */
    ks_cache *cache;       /* revocation evidence, two tiers (cache/); maybe shared */
    uint64_t cache_epoch;  /* the cache's epoch this context's rules belong to */
    /* What cached evidence depends on, by digest (config.c ks_ctx_digests):
     * the trust and evidence rules (anchors, intermediates, algorithms,
     * revocation_sources, the revocation keys that decide what an answer
     * must be), allow_urls, and the local CRLs. */
    unsigned char id_rules[32], id_urls[32], id_crls[32];
    ks_vcache *vcache;     /* decoded certificates and validation results (vcache.c); NULL = none */
    /* In a per-validation copy (tsp.c's TSA context): the context it was
     * copied from, which the revocation cache binds its ops to (the cache
     * outlives the copy); NULL in a loaded context. */
    const ks_ctx *base;
};

/* config.c */
void ks_ctx_free_contents(ks_ctx *ctx);

/* input.c: decoding of submitted bytes. */
typedef enum { KS_IN_SIGNATURE, KS_IN_CERTIFICATE } ks_input_kind;
/* DER/PEM/base64/S-MIME -> CMS.  *smime_content receives the first part of a
 * multipart/signed S/MIME message (or NULL). */
ks_result ks_input_cms(const ks_ctx *ctx, const ks_blob *in, CMS_ContentInfo **out,
                       BIO **smime_content);
/* DER/PEM/base64 -> certificate.  PEM may hold several certificates, with
 * text around them (RFC 7468 2): the first is *out, the others (at most
 * limits.max_certs in all) go to *bundle, a new stack, or NULL when there are
 * none: untrusted path candidates (ks_path_input.embedded, from_input). */
ks_result ks_input_cert(const ks_ctx *ctx, const ks_blob *in, X509 **out, STACK_OF(X509) **bundle);
/* Exact-length DER decode: trailing bytes are rejected. */
CMS_ContentInfo *ks_der_to_cms(const uint8_t *p, size_t len);
/* The same, with the embedded certificates taken from (and added to) the
 * context's certificate cache; NULL whenever the input is not plain DER
 * SignedData with certificates (then use ks_der_to_cms). */
CMS_ContentInfo *ks_der_to_cms_cached(const ks_ctx *ctx, const uint8_t *p, size_t len);
X509 *ks_der_to_x509(const uint8_t *p, size_t len);
/* Reads a whole file with a ceiling; KS_E_TOO_LARGE past it. */
ks_result ks_read_file(const char *path, size_t max, uint8_t **out, size_t *outlen);
/* Loads every certificate (PEM, possibly several, or DER) in a file. */
ks_result ks_load_certs_file(const char *path, STACK_OF(X509) *into);
ks_result ks_load_crl_file(const char *path, size_t max, X509_CRL **out);
/* revoke.c: the cache's decode step for a CRL from the network or memcached
 * (key "crl|<issuer sha256>|<url>", arg the ks_ctx): issued and signed by
 * the CA the key names, current at `now`, not older (crlNumber) than one
 * already seen; the X509_CRL or NULL.  Exposed for fuzz/fuzz_crl.c. */
void *ks_crl_decode(void *arg, const char *key, const uint8_t *val, size_t len, time_t now, time_t *expires,
                    time_t *issued);

/* certinfo.c: certificate -> JSON */
cJSON *ks_cert_json(X509 *x, ks_cert_source src);
cJSON *ks_jpki_json(X509 *x); /* NULL when the certificate has no JPKI items */
char *ks_name_string(const X509_NAME *n); /* RFC 2253, UTF-8; malloc'd */
void ks_asn1_time_format(const ASN1_TIME *t, char *buf, size_t len);
int ks_asn1_time_to_time_t(const ASN1_TIME *t, time_t *out);

/* path.c: path building and validation. */
typedef struct {
    ks_indication indication;
    ks_subindication sub;
    int x509_error;     /* OpenSSL X509_V_ERR_* of the failure, 0 on success */
    int error_depth;
    STACK_OF(X509) *chain; /* validated (or best attempted) path, leaf first */
    char detail[256];
} ks_path_result;

/* Sources of certificates and revocation evidence for one validation.
 * Everything here came with the request, so none of it is trusted for
 * itself: certificates are path candidates, and the revocation evidence
 * (the CMS SignedData crls, CAdES certificate-values/revocation-values,
 * PDF DSS /Certs /CRLs /OCSPs, XAdES CertificateValues/RevocationValues)
 * is verified by revoke.c exactly like fetched evidence, and consulted
 * before anything is fetched (README "Embedded evidence").  The caller
 * owns every field and caps the counts (limits.max_certs, max_crls). */
typedef struct {
    STACK_OF(X509) *embedded;  /* from the signature; may be NULL */
    STACK_OF(X509_CRL) *crls;  /* CRLs the signature carries; may be NULL */
    const ks_blob *ocsps;      /* DER OCSPResponses it carries (RFC 6960 4.2.1); may be NULL */
    size_t n_ocsps;
    int from_input;            /* embedded came with a submitted certificate
                                  (a PEM bundle), not in a signature: "input" */
    /* Per ocsps[i] / per crls index: the time a verified timestamp covering
     * that very value (by the hash of the attribute value that holds it)
     * proves it existed, 0 when none does; NULL: none for any.  Only such
     * evidence may be signed with an algorithm past its sunset (ETSI EN
     * 319 102-1 5.2.8, ks_alg_evidence_ctx), and only for a proven time. */
    const time_t *ocsp_proven;
    const time_t *crl_proven;
} ks_path_input;

void ks_path_validate(const ks_ctx *ctx, X509 *leaf, const ks_path_input *in, time_t at,
                      const time_t *claimed, ks_path_result *res);
void ks_path_result_clear(ks_path_result *res);
/* 1 when OpenSSL 3.0 cannot build x's policy cache without leaking (a
 * policyConstraints extension and no usable certificatePolicies): such a
 * certificate is never policy-processed, and no path through it validates. */
int ks_policy_cache_unsafe(X509 *x);
/* RFC 5280 6.1.1 (f) as configured: require_explicit_policy, or
 * accept_policies naming policies without anyPolicy among them. */
int ks_policy_explicit(const ks_ctx *ctx);
/* Re-validates a validated `chain` (leaf first, anchor last) with CRL checking
 * on every certificate (RFC 5280 6.3) against `crls`.  A depth flagged in
 * `established` may lack a CRL (its status came from OCSP); with
 * tolerate_missing any depth may, and is flagged in `missing` (n = chain
 * length).  REVOKED and every other failure always stand. */
/* Past signature validation (ETSI EN 319 102-1 5.6.2.4): the path was
 * validated at a proven earlier time (the POE) and the CRLs speak of now.
 * The re-check then forgives validity periods that ended since the POE,
 * and a revocation at a depth flagged in revoked_ok (revoke.c found its
 * date after the POE).  Everything else stands. */
typedef struct {
    int validity_ok;
    const unsigned char *revoked_ok; /* per depth; NULL: none */
} ks_crl_past;
void ks_path_check_crls(const ks_ctx *ctx, STACK_OF(X509) *chain, STACK_OF(X509_CRL) *crls, time_t at,
                        const time_t *claimed, const unsigned char *established, int tolerate_missing,
                        const ks_crl_past *past, unsigned char *missing, ks_path_result *res);
ks_cert_source ks_path_source(const ks_ctx *ctx, const ks_path_input *in, X509 *x);
/* algorithms.sunset: a copy of *ctx (into *relaxed) whose policy for the
 * certificates of a path also accepts what a proof of existence at `poe`
 * makes acceptable (SHA-1 certificate signatures, RSA keys down to 1024
 * bits, each before its sunset), with no validation cache (its results
 * must never be served to a strict validation) and no revocation cache
 * (which would keep a pointer to the copy).  It lives on the caller's
 * stack for one validation.  1 when anything was relaxed, 0 when
 * *relaxed is not to be used. */
int ks_alg_sunset_ctx(const ks_ctx *ctx, time_t poe, ks_ctx *relaxed);
/* The same for one piece of embedded evidence proven (by a timestamp over
 * its bytes) to have existed at `proven`: a copy whose policy also accepts
 * a SHA-1 signature on that evidence when `proven` is before the sha1
 * sunset (alg.evidence_allow_sha1), without either cache.  1 when relaxed,
 * 0 when *relaxed is not to be used (proven 0, after the sunset, no sunset,
 * or SHA-1 allowed anyway). */
int ks_alg_evidence_ctx(const ks_ctx *ctx, time_t proven, ks_ctx *relaxed);
/* Algorithm policy on a key; 1 acceptable. */
int ks_alg_key_ok(const ks_ctx *ctx, EVP_PKEY *pk, char *why, size_t whylen);
int ks_alg_digest_ok(const ks_ctx *ctx, int md_nid);

/* verdict.c: assembling the JSON verdict. */
typedef struct {
    ks_indication indication;
    ks_subindication sub;
    int rev_reason;   /* RFC 5280 5.3.1 CRLReason when revoked, else -1 */
    int past;         /* KS_PAST_*: passed only thanks to a POE (said in the reasons) */
    char detail[256]; /* English, technical; never personal data */
} ks_status;
/* Past signature validation (ETSI EN 319 102-1 5.6.2.4) let it pass: */
#define KS_PAST_EXPIRED 1 /* a certificate of the path has expired since the POE */
#define KS_PAST_REVOKED 2 /* one was revoked after the POE */

/* digest.c: hash-only submission.  The NID of a digest name a caller may
 * use (and its size in *len), or NID_undef. */
int ks_digest_alg_nid(const char *name, size_t *len);
/* The request's digests are well formed: KS_E_UNSUPPORTED for an unknown
 * algorithm, KS_E_BAD_REQUEST for a wrong size, an empty name or an
 * algorithm twice for one name (or for the unnamed content), KS_E_LIMIT
 * past KS_MAX_DIGESTS. */
ks_result ks_digests_check(const ks_request *req);
/* How many of the request's digests carry a name (XML attachments). */
size_t ks_digests_named(const ks_request *req);
/* 1 when the signer's messageDigest attribute equals the supplied digest
 * of its digest algorithm; else 0 with *st saying why (no signed
 * attributes, no digest of that algorithm: INDETERMINATE /
 * SIGNED_DATA_NOT_FOUND; a different digest: TOTAL_FAILED/HASH_FAILURE).
 * The signature over the signed attributes is checked by the caller. */
int ks_cms_digest_matches(CMS_SignerInfo *si, const ks_request *req, ks_status *st);

/* Sets all of *st (rev_reason -1). */
/* Sets all of *st (rev_reason -1, past 0). */
void ks_status_set(ks_status *st, ks_indication ind, ks_subindication sub, const char *detail);
/* ks_verdict_set_status from a ks_status, plus the revocation reason in
 * plain words when there is one. */
int ks_verdict_status(cJSON *obj, const ks_status *st) __attribute__((warn_unused_result));
/* RFC 5280 5.3.1 reason name ("affiliationChanged"), NULL when unknown. */
const char *ks_crl_reason_name(int reason);

/* Adds "indication", "subindication" and "reasons" to obj. */
int ks_verdict_set_status(cJSON *obj, ks_indication ind, ks_subindication sub, const char *detail_en) __attribute__((warn_unused_result));
/* 1 if (a) is worse than (b): TOTAL_FAILED > INDETERMINATE > TOTAL_PASSED. */
int ks_indication_worse(ks_indication a, ks_indication b);
/* Adds a warning {"code","en","ja"} to obj["warnings"]. */
int ks_verdict_warn(cJSON *obj, const char *code, const char *en, const char *ja) __attribute__((warn_unused_result));
/* Shared top-level fields (validation time, policy). */
int ks_verdict_common(const ks_ctx *ctx, cJSON *v, const char *format, time_t at) __attribute__((warn_unused_result));
/* Chain -> JSON array. */
cJSON *ks_chain_json(const ks_ctx *ctx, const ks_path_input *in, STACK_OF(X509) *chain);

/* verdict.c: cJSON's allocations latch a failure per thread (a verdict
 * is built whole or not at all).  ks_json_init installs the hooks once per
 * process (ks_ctx_load calls it); ks_json_oom_clear starts a verdict;
 * ks_verdict_finish turns a latched failure, or any r != KS_OK, into no
 * verdict (KS_E_NOMEM for the latch).  ks_json_set_backend replaces the
 * allocator underneath (tests: a failing allocator; NULL = malloc). */
void ks_json_init(void);
int ks_json_set(cJSON *obj, const char *key, cJSON *val) __attribute__((warn_unused_result));
void ks_json_set_backend(void *(*fn)(size_t));
void ks_json_oom_clear(void);
int ks_json_oom(void);
ks_result ks_verdict_finish(ks_result r, cJSON **verdict) __attribute__((warn_unused_result));

/* revoke.c: revocation for a validated path. */
/* Establishes the status of every certificate of a validated path (all but
 * the anchor); may turn *st into REVOKED / TRY_LATER.  Adds one evidence
 * object per certificate to `evidence` and warnings to `obj`; KS_E_NOMEM
 * when any of that could not be added (no verdict then).  `poe`: the proven
 * time the path was validated at (NULL: none); a revocation after it passes
 * (KS_PAST_REVOKED), one at or before it is REVOKED. */
ks_result ks_revocation_check(ks_ctx *ctx, const ks_path_input *in, time_t at, const time_t *claimed,
                              const time_t *poe, STACK_OF(X509) *chain, ks_status *st, cJSON *evidence,
                              cJSON *obj) __attribute__((warn_unused_result));

/* Signing certificate checks shared by CMS, XML and certificate mode: path,
 * keyUsage, EKU, revocation.  Fills status and adds chain/revocation to
 * obj; KS_E_NOMEM when the verdict could not be built whole. */
ks_result ks_check_signing_cert(ks_ctx *ctx, X509 *cert, const ks_path_input *in, time_t at,
                                const time_t *claimed, cJSON *obj, ks_status *st) __attribute__((warn_unused_result));
/* The same with a proof of existence (ETSI EN 319 102-1 5.6.2.4): with a
 * POE the path is validated at the POE and revocation judged against it
 * (the one place that decides which time the path is validated at); adds
 * "validation_model" {"time", "basis"} to obj.  NULL poe: as above. */
ks_result ks_check_signing_cert_poe(ks_ctx *ctx, X509 *cert, const ks_path_input *in, time_t at,
                                    const time_t *claimed, const time_t *poe, cJSON *obj,
                                    ks_status *st) __attribute__((warn_unused_result));

/* cades.c: CAdES ES-X-L values of one signer (RFC 5126 6.3.3, 6.3.4).
 * `pin` is the signer's path input: `base` (the message's certificates,
 * CRLs and any enclosing object's OCSP answers) plus the certificates of
 * id-aa-ets-certValues as path candidates and the CRLs and OCSP answers of
 * id-aa-ets-revocationValues as embedded evidence.  A malformed or
 * repeated attribute is ignored and flagged (`malformed`).  KS_E_LIMIT
 * past limits.max_certs / max_crls; KS_E_NOMEM.  Free with
 * ks_cades_values_free (also after a failure). */
typedef struct {
    ks_path_input pin;
    STACK_OF(X509) *certs;
    STACK_OF(X509_CRL) *crls;
    ks_blob *ocsps; /* DER OCSPResponses; [n_base, n_ocsps) owned */
    size_t n_ocsps, n_base;
    int n_base_crls; /* crls [n_base_crls, ...) came from revocation-values */
    int has_cert_values, has_revocation_values, malformed;
    /* The SHA-256 of the revocation-values attribute value (DER), and the
     * per-evidence proven times pin points to (ks_cades_values_proven). */
    unsigned char rv_sha256[32];
    time_t *ocsp_proven, *crl_proven;
} ks_cades_values;
ks_result ks_cades_values_get(const ks_ctx *ctx, CMS_SignerInfo *si, const ks_path_input *base, ks_cades_values *v);
void ks_cades_values_free(ks_cades_values *v);
typedef struct ks_cades_archive_result ks_cades_archive_result;
/* The values of revocation-values, proven by the verified archive
 * timestamps (ks_cades_archive) that cover that very attribute value: each
 * OCSP answer and CRL of it gets the oldest such genTime in pin's
 * ocsp_proven / crl_proven.  A signature timestamp covers no evidence;
 * evidence of the enclosing object (base) is never proven here. */
void ks_cades_values_proven(ks_cades_values *v, const ks_cades_archive_result *ar);
/* cades.c: ES-C complete-certificate-references and
 * complete-revocation-references (RFC 5126 6.2.1, 6.2.2), checked while
 * the matching values are there: a reference to nothing the signer carries
 * (or the configuration holds), or to a value whose hash differs, is the
 * warning LTV_REFS_MISMATCH; an attribute that does not decode,
 * LTV_REFS_MALFORMED.  Never changes an indication.  KS_E_NOMEM. */
ks_result ks_cades_refs(const ks_ctx *ctx, CMS_SignerInfo *si, const ks_cades_values *v, cJSON *sobj)
    __attribute__((warn_unused_result));

/* cades.c: ES-A archive timestamps: archive-time-stamp v2
 * (id-aa-ets-archiveTimestampV2 1.2.840.113549.1.9.16.2.48, RFC 5126
 * 6.4.1) and v3 (id-aa-ets-archiveTimestampV3 0.4.0.1733.2.4 with its
 * ats-hash-index-v3, ETSI EN 319 122-1 5.5.2, 5.5.3); the data covered:
 * cades.c ks_ats_walk.  Every one of the signer's is verified, newest
 * first: the newest with its TSA path at `at`, each older one at the
 * genTime of the oldest verified newer one that covers it (ETSI EN 319
 * 102-1 5.6.2.5; a v3 covers what its index lists), and reported in sobj's
 * "timestamps" (type "archive", "validated_at", "version", and for a v3
 * whose index holds "not_covered").  poe: the oldest verified genTime (a
 * POE of the signature too).  The signature timestamps are validated at
 * ks_cades_archive_at.  The TSA paths' revocation is judged for the time
 * and from the evidence `env` names (tsp.c).  `detached`: the content when
 * eContent is absent,
 * in `ndetached` pieces (a PDF's two ByteRange ranges). */
typedef struct ks_tsp_result ks_tsp_result;
#define KS_MAX_ATS_STS 16
#define KS_MAX_ATS_RV 4
struct ks_cades_archive_result {
    time_t next_at;      /* the oldest genTime the chain proved (ks_archive_chain) */
    time_t uncovered_at; /* cades.c: the validation time, for what no archive timestamp covers */
    time_t poe;
    int has_poe;
    char tsa[256];
    struct {
        unsigned char sha256[32]; /* of a signature timestamp attribute value (DER) */
        time_t at;                /* the time it is validated at */
    } sts[KS_MAX_ATS_STS];
    size_t n_sts;
    struct {
        unsigned char sha256[32]; /* of a revocation-values attribute value (DER) */
        time_t at;                /* genTime of the oldest verified archive timestamp covering it */
    } rv[KS_MAX_ATS_RV];
    size_t n_rv;
};
typedef struct ks_tsp_env ks_tsp_env;
ks_result ks_cades_archive(const ks_ctx *ctx, CMS_ContentInfo *cms, CMS_SignerInfo *si, const ks_blob *detached,
                           size_t ndetached, time_t at, const ks_tsp_env *env, cJSON *sobj,
                           ks_cades_archive_result *res)
    __attribute__((warn_unused_result));
/* The time the signature timestamp `der` (an attribute value) is validated
 * at: the genTime of the oldest verified archive timestamp covering it,
 * else uncovered_at. */
time_t ks_cades_archive_at(const ks_cades_archive_result *r, const uint8_t *der, size_t len);

/* tsp.c: RFC 3161 time-stamp tokens (shared by CAdES, XAdES and PDF).
 * The verdict on one token: TOTAL_PASSED only when it proves that the data
 * existed at `time` (signature, ESS binding of the TSA certificate, its
 * critical id-kp-timeStamping EKU, a path to timestamp_anchors at the time
 * the caller named, genTime inside the TSA's validity and not after that
 * time, messageImprint over the data).  `time`/`has_time`, `tsa` and
 * `imprint_ok` are filled as far as the token decodes, also on failure, so
 * a failing token can be reported. */
struct ks_tsp_result {
    ks_indication indication;
    ks_subindication sub;
    char detail[256];
    time_t time; /* genTime */
    int has_time;
    char tsa[256];  /* the TSA certificate's subject (RFC 2253), "" unknown */
    int imprint_ok; /* messageImprint == hash(data) with an accepted digest */
    /* The TSA path's revocation evidence (ks_revocation_check's entries,
     * owned; NULL when the check was not reached) and its warnings (e.g.
     * REVOCATION_UNAVAILABLE under soft-fail; owned, NULL: none).  nomem:
     * they could not be built (ks_timestamp_json then fails). */
    cJSON *revocation;
    cJSON *warnings;
    int nomem;
};
/* Frees what ks_tsp_verify allocated in *t (NULL-safe fields). */
void ks_tsp_result_clear(ks_tsp_result *t);
/* One timestamp as reported in "timestamps": {type, time, tsa,
 * indication, subindication, detail, message_imprint_ok}; NULL when out of
 * memory.  type: "signature", "document", "archive". */
cJSON *ks_timestamp_json(const ks_tsp_result *t, const char *type);
/* A proof of existence of a signature from outside its own attributes: a
 * verified PDF document timestamp over the revision it is in (pdf.c). */
typedef struct {
    time_t time;        /* genTime of the verified token */
    const char *source; /* "document_timestamp" */
    const char *tsa;    /* the TSA's subject */
} ks_ext_poe;
/* Verifies the DER token `der` (exact length) over the concatenation of the
 * `ndata` pieces of `data` (a PDF's two ByteRange ranges, a CMS signature
 * value), with the TSA path validated at `at` and the revocation status of
 * its certificates established as a signer's is (revoke.c), for the
 * validation time env->vt (0, or env NULL: `at` is the validation time);
 * when `at` is earlier (a time a newer timestamp proves) a revocation after
 * it does not take the proof away (ETSI EN 319 102-1 5.6.2.4, 5.6.2.5).
 * env->pin: the evidence the signed object carries (ES-X-L values, a PDF's
 * DSS, XAdES values, the CMS crls), consulted first as for the signer; may
 * be NULL.  Clear *out with ks_tsp_result_clear. */
struct ks_tsp_env {
    time_t vt;
    const ks_path_input *pin;
};
void ks_tsp_verify(const ks_ctx *ctx, const uint8_t *der, size_t len, const ks_blob *data, size_t ndata, time_t at,
                   const ks_tsp_env *env, ks_tsp_result *out);

/* verify.c: ESS signing certificate attributes (RFC 2634 5.4, RFC 5035 3):
 * the signer's own signed statement of which certificate it signed with
 * (CMS signers and RFC 3161 tokens alike). */
typedef struct {
    ESS_SIGNING_CERT *v1;
    ESS_SIGNING_CERT_V2 *v2;
    int present;   /* either attribute is there */
    int malformed; /* one is there, but not as exactly one value that decodes */
} ks_ess;
void ks_ess_decode(CMS_SignerInfo *si, ks_ess *e);
void ks_ess_clear(ks_ess *e);
/* 1 when the ESS attributes bind `x`: their first ESSCertID(v2) is x's hash
 * (and issuerSerial, when present), RFC 5035 5.4; every further one must be
 * a certificate we hold (`pool`, at least one slot; slot 0 is set to x), as
 * OpenSSL's own CAdES check requires of the validated path. */
int ks_ess_binds(const ks_ess *e, X509 *x, STACK_OF(X509) *pool);

/* verify.c: proof of existence from signature timestamps (ETSI EN 319
 * 102-1 5.6.2.4), one collector for CAdES (id-aa-signatureTimeStampToken)
 * and XAdES (SignatureTimeStamp): every token offered is reported in the
 * signer's "timestamps", and the earliest verified genTime is the POE.  At
 * most KS_MAX_SIGNER_TIMESTAMPS are verified per signer. */
#define KS_MAX_SIGNER_TIMESTAMPS 8
typedef struct {
    cJSON *sobj;   /* the signer object */
    cJSON *arr;    /* its "timestamps" */
    int seen;      /* tokens offered so far */
    int has;       /* a verified one */
    time_t time;   /* the earliest verified genTime */
    char tsa[256]; /* its TSA */
    const char *source; /* what proves it ("poe"."source"): NULL "signature_timestamp",
                           "archive_timestamp", or a ks_ext_poe's source */
    /* Set by the caller after ks_poe_init: the validation time (0: the
     * `at` of each token) and the object's evidence (ks_tsp_verify). */
    ks_tsp_env env;
} ks_poe;
/* Sets "timestamps" of sobj to [] (replacing one already there). */
ks_result ks_poe_init(ks_poe *p, cJSON *sobj) __attribute__((warn_unused_result));
/* 1 when one more token may be verified; 0 past the ceiling, where the
 * TIMESTAMPS_NOT_CHECKED warning is added once (-1: it could not be). */
int ks_poe_room(ks_poe *p);
/* Reports a token's verdict (type "signature"); a verified one may become
 * the POE. */
ks_result ks_poe_add(ks_poe *p, const ks_tsp_result *t) __attribute__((warn_unused_result));
/* ks_tsp_verify of one token over `data`, then ks_poe_add. */
ks_result ks_poe_token(const ks_ctx *ctx, ks_poe *p, const uint8_t *der, size_t len, const ks_blob *data,
                       size_t ndata, time_t at) __attribute__((warn_unused_result));
/* Sets "poe" and "best_signature_time" of sobj (null without a POE). */
ks_result ks_poe_report(const ks_poe *p, cJSON *sobj) __attribute__((warn_unused_result));
/* A result that is not a token's verdict (a malformed carrier). */
void ks_tsp_result_fail(ks_tsp_result *t, ks_subindication sub, const char *detail);

/* verify.c: a chain of archive timestamps (ETSI EN 319 102-1 5.6.2.5),
 * shared by CAdES ES-A (cades.c) and XAdES-A (xml_xades.c).  `n` tokens,
 * item 0 the newest; verify(ctx, arg, i, t_at, out) judges item i with its
 * TSA path validated at t_at (KS_E_NOMEM its only error).  The newest is
 * validated at `at`, each older one i at the oldest genTime of the verified
 * newer ones j that cover it (covers(arg, j, i); NULL: every newer one
 * covers every older one), else at `at`; each is reported in sobj's
 * "timestamps" (type "archive", "validated_at").  proven (NULL, or n
 * entries): proven[i] is the oldest genTime verified among items 0..i
 * (`at` when none).  res->next_at: the same over all of them; res->poe: the
 * oldest verified genTime.  more: tokens were left out past the ceiling
 * (warning TIMESTAMPS_NOT_CHECKED). */
typedef ks_result (*ks_archive_verify_fn)(const ks_ctx *ctx, void *arg, size_t i, time_t at, ks_tsp_result *out);
typedef int (*ks_archive_covers_fn)(void *arg, size_t newer, size_t older);
ks_result ks_archive_chain(const ks_ctx *ctx, size_t n, int more, ks_archive_verify_fn verify,
                           ks_archive_covers_fn covers, void *arg, time_t at, cJSON *sobj, time_t *proven,
                           ks_cades_archive_result *res) __attribute__((warn_unused_result));
/* The archive chain's POE ("source" "archive_timestamp") when the signature
 * timestamps gave none: an archive timestamp covers the signature value. */
void ks_poe_archive(ks_poe *p, const ks_cades_archive_result *ar);

/* registry.c: CA certificates by the SHA-256 of their DER (hex). */
int ks_cert_fp(X509 *x, char fp[65]);
ks_registry *ks_registry_new(STACK_OF(X509) *anchors, STACK_OF(X509) *intermediates);
/* Reference counted: a reload shares the registry with its predecessor. */
ks_registry *ks_registry_ref(ks_registry *r);
void ks_registry_free(ks_registry *r); /* drops a reference; NULL ok */
int ks_registry_put(ks_registry *r, X509 *ca, char fp[65]);
X509 *ks_registry_get(ks_registry *r, const char *fp); /* a reference, or NULL */
/* RFC 5280 5.2.3: 1 unless `number` is below the highest CRL number seen
 * for `scope` (issuer and URL), or `this_update` before the latest
 * thisUpdate seen for it; records both. */
int ks_registry_crl_number_ok(ks_registry *r, const char *scope, const ASN1_INTEGER *number, time_t this_update);
/* What this process has seen about one certificate (issuer name and key +
 * serial, whatever CertID hash or responder): 1 when an answer with
 * `this_update` and `status` (V_OCSP_CERTSTATUS_*, `reason` its CRLReason)
 * may be used, and records it; 0 when it is older than an answer already
 * seen, or "good" after a "revoked" (sticky, but for certificateHold), or
 * the table is full of revoked certificates and this one is new (fail
 * closed).  Bounded: KS_SEEN_SETS x KS_SEEN_WAYS entries, the least
 * recently seen "good" one makes room. */
int ks_registry_ocsp_seen(ks_registry *r, X509 *issuer, const ASN1_INTEGER *serial, time_t this_update, int status,
                          int reason, char *err, size_t errlen);
/* The same CA: same subject name and same public key. */
int ks_same_ca(X509 *a, X509 *b);

/* revoke.c: evidence through the cache (or directly for a validation time
 * that is not now).  fetch/decode report why they failed in a per-thread
 * buffer. */
#define KS_REV_ERRLEN 256
char *ks_rev_errbuf(void);
typedef struct {
    ks_cache_entry *entry; /* NULL when loaded directly */
    void *obj;
    const char *from; /* "memory", "memcached", "network" */
} ks_rev_obj;
ks_result ks_rev_load(ks_ctx *ctx, const char *key, const ks_cache_ops *ops, time_t at, ks_rev_obj *out, char *err,
                      size_t errlen);
/* The one freshness rule for revocation evidence (OCSP answers and CRLs),
 * applied when it is decoded and again every time it is used: from the
 * network, memory, memcached, a file or the message. */
typedef struct {
    time_t this_update; /* RFC 6960 4.2.1 thisUpdate / RFC 5280 5.1.2.4 */
    time_t next_update; /* nextUpdate (RFC 6960 4.2.2.1 / RFC 5280 5.1.2.5) */
    time_t valid_until; /* e.g. the OCSP responder certificate's notAfter; 0: none */
    int max_age_s;      /* longest use after this_update; 0: none */
} ks_fresh;
/* 1 when usable at `at`: this_update no later than at + clock_skew_s (the
 * other clock may be ahead), and at before *until = the earliest of
 * next_update, this_update + max_age_s and valid_until (no skew there:
 * nothing is used past what its issuer said).  0 with err otherwise. */
int ks_rev_fresh(const ks_ctx *ctx, const ks_fresh *f, time_t at, time_t *until, char *err, size_t errlen);
void ks_rev_release(ks_rev_obj *o, const ks_cache_ops *ops);

/* ocsp.c */
typedef struct {
    int status; /* V_OCSP_CERTSTATUS_* */
    int reason;
    time_t this_update, next_update, produced_at, revocation_time;
    int has_next;
    time_t signer_not_after; /* the responder certificate's notAfter */
    int crl_vouched;         /* a delegated responder vouched for by a local CRL */
} ks_ocsp_answer;
/* The freshness inputs of an answer (ks_rev_fresh). */
void ks_ocsp_fresh(const ks_ctx *ctx, const ks_ocsp_answer *a, ks_fresh *f);
/* RFC 6960 3.2 checks of a response about `serial` from `issuer` at `at`. */
ks_result ks_ocsp_check(const ks_ctx *ctx, time_t at, const uint8_t *der, size_t len, X509 *issuer,
                        const ASN1_INTEGER *serial, ks_ocsp_answer *a, char *err, size_t errlen);
/* Status of `cert` from `url`, through the cache. */
ks_result ks_ocsp_lookup(ks_ctx *ctx, X509 *cert, X509 *issuer, const char *url, time_t at, ks_ocsp_answer *out,
                         const char **from, char *err, size_t errlen);
/* An OCSP response the signed object carries (ks_path_input.ocsps), about
 * `cert` from `issuer`, used for time `at`.  *about is 0 when no
 * SingleResponse names the certificate (not an error: the object carries
 * evidence about others).  Otherwise checked as a fetched answer is
 * (ks_ocsp_check: signature, responder rules, freshness at `at`).  For a
 * validation time of now it goes through the cache (key "ocsp|...|emb:<SHA-256
 * of the DER>") and the rollback record (ks_registry_ocsp_seen); with `past`
 * (a proven earlier time, ETSI EN 319 102-1 5.6.2.4) it is checked at that
 * time alone: the cache and the rollback record speak of the present, and
 * a later answer about the same certificate does not contradict what was
 * true then.  *from: "message", or the cache tier that served it. */
ks_result ks_ocsp_embedded(ks_ctx *ctx, X509 *cert, X509 *issuer, const ks_blob *der, time_t at, int past,
                           ks_ocsp_answer *out, const char **from, int *about, char *err, size_t errlen);
/* revoke.c: embedded evidence through the cache.  The cache's fetch for an
 * "...|emb:<hex>" key serves the bytes this thread set (and only when
 * their SHA-256 is the key's): embedded evidence is never fetched, so a
 * background refresh of such a key fails and the entry simply expires. */
void ks_rev_emb_set(const ks_blob *b); /* NULL: none */
int ks_rev_emb_fetch(void *arg, const char *key, uint8_t **val, size_t *len);
/* "emb:<64 hex>" of the bytes' SHA-256 into buf[70]; 0 on failure. */
int ks_rev_emb_tag(const uint8_t *p, size_t len, char buf[70]);
/* Checks one OCSP response about `cert` from `issuer`'s side at time `at`
 * (for the vector tests); *status is V_OCSP_CERTSTATUS_* on KS_OK. */
ks_result ks_ocsp_verify_response(ks_ctx *ctx, const uint8_t *der, size_t len, X509 *cert, X509 *issuer, time_t at,
                                  int *status, char *err, size_t errlen);

/* fetch.c: HTTP for OCSP and CRLs (OpenSSL's OSSL_HTTP client). */
/* 1 when `url` is plain http under one of revocation.allow_urls. */
int ks_url_allowed(const ks_ctx *ctx, const char *url);
/* POST `body` (or GET when NULL); no redirects; capped in size and time. */
ks_result ks_http_fetch(const ks_ctx *ctx, const char *url, const uint8_t *body, size_t bodylen,
                        const char *content_type, const char *expected_type, uint8_t **out, size_t *outlen,
                        char *err, size_t errlen);

/* verify.c: pieces of a verdict shared by CMS and XML signatures. */
/* Top-level fields mirror the first signer; the indication is the worst. */
ks_result ks_summarise(cJSON *v, cJSON *signers, const ks_status *worst) __attribute__((warn_unused_result));

/* xml.c: W3C XML Signature (e-Tax .xtx, e-Gov packages, ZIP or not). */
typedef enum { KS_XML_NONE, KS_XML_XML, KS_XML_ZIP } ks_xml_kind;
/* XML (after an optional BOM and white space, '<') or a ZIP local header. */
ks_xml_kind ks_xml_detect(const ks_blob *in);
/* req->contents are the detached attachments, matched by .name. */
ks_result ks_verify_xml(ks_ctx *ctx, const ks_request *req, cJSON **verdict);

/* pdf.c: signed PDFs (PAdES; ISO 32000-1 12.8). */
/* 1 when the bytes start with "%PDF-" (7.5.2). */
int ks_pdf_detect(const ks_blob *in);
/* One entry of "signers" per signature field; no detached content. */
ks_result ks_verify_pdf(ks_ctx *ctx, const ks_request *req, cJSON **verdict);

/* verify.c: one DER CMS SignedData with exactly one SignerInfo over
 * detached `content`, checked as a .p7s signer is (crypto, algorithm
 * policy, path, keyUsage, revocation) into sobj and *st.  require_ess:
 * a signing-certificate(-v2) signed attribute must be there (CAdES, ETSI
 * EN 319 122-1 5.2.2).  `out` (may be NULL): what the container holds
 * beside the CMS: a proof of existence of the signature, used as its
 * signature timestamps are, and evidence (a PDF's DSS) added to the CMS's
 * own certificates, CRLs and OCSP responses (ks_path_input: verified like
 * fetched evidence, never trusted for itself), within the same ceilings.
 * KS_OK whatever the verdict; KS_E_LIMIT past the
 * certificate or CRL ceilings, KS_E_NOMEM. */
typedef struct {
    const ks_ext_poe *poe;    /* a proof of existence of the signature from outside it; NULL: none */
    STACK_OF(X509) *certs;    /* PDF DSS /Certs: path candidates; may be NULL */
    STACK_OF(X509_CRL) *crls; /* DSS /CRLs; may be NULL */
    const ks_blob *ocsps;     /* DSS /OCSPs (DER OCSPResponse); may be NULL */
    size_t n_ocsps;
} ks_outside;
ks_result ks_cms_verify_detached(ks_ctx *ctx, const uint8_t *der, size_t derlen, const uint8_t *content,
                                 size_t clen, time_t at, int require_ess, const ks_outside *out, cJSON *sobj,
                                 ks_status *st);
/* The same over content in parts, digested in order where they lie (a PDF's
 * two ByteRange ranges). */
ks_result ks_cms_verify_detached_parts(ks_ctx *ctx, const uint8_t *der, size_t derlen, const ks_blob *parts,
                                       size_t nparts, time_t at, int require_ess, const ks_outside *out,
                                       cJSON *sobj, ks_status *st);

/* Per-responder fetch counters (process-wide) as a JSON array. */
cJSON *ks_fetch_stats_json(void);

/* vcache.c: what repeats between requests (certificates, validated paths,
 * CRL re-checks, CRL signatures), per context, bounded, successes only,
 * time-dependent results within a window where no validity boundary falls.
 * Every function works (without caching) when the cache is NULL. */
#define KS_VC_MAX_DEPTH 64
ks_vcache *ks_vcache_new(void);
void ks_vcache_free(ks_vcache *c); /* NULL ok */
void ks_vcache_stats(const ks_vcache *c, unsigned long long *hits, unsigned long long *misses);
/* A decoded certificate for exactly these DER bytes (a new reference), from
 * the cache or ks_der_to_x509; NULL when they are not one certificate. */
X509 *ks_vcache_x509(ks_vcache *c, const uint8_t *der, size_t len);
/* Remembers the DER hash of long-lived certificates and fills their OpenSSL
 * caches (call before sharing them: ks_vc_fill_caches). */
void ks_vcache_note_certs(ks_vcache *c, STACK_OF(X509) *sk);
/* ks_cert_json, plus "jpki" (ks_jpki_json) when the certificate carries the
 * basic four items, remembered per certificate DER and source: a signer's,
 * read back by the audit record.  A new object the caller owns. */
cJSON *ks_vcache_signer_json(const ks_ctx *ctx, X509 *x, ks_cert_source src);
/* ks_cert_json, printed once per certificate DER and source, as a new raw
 * node (cJSON_CreateRaw): it prints as the object does, and nothing reads
 * inside it. */
cJSON *ks_vcache_cert_json(const ks_ctx *ctx, X509 *x, ks_cert_source src);
/* Adds the certificate's "subject" and "serial", as ks_vcache_cert_json
 * prints them, to obj; 0 when out of memory. */
int ks_vcache_cert_names(const ks_ctx *ctx, X509 *x, ks_cert_source src, cJSON *obj) __attribute__((warn_unused_result));
/* X509_CRL_verify(crl, issuer's key) == 1, remembered. */
int ks_vcache_crl_verify(const ks_ctx *ctx, X509_CRL *crl, X509 *issuer);
typedef struct {
    time_t at, lo, hi;
    int ok;
} ks_vc_window;
void ks_vc_window_init(ks_vc_window *w, time_t at);
void ks_vc_window_cert(ks_vc_window *w, X509 *x);
void ks_vc_window_certs(ks_vc_window *w, STACK_OF(X509) *sk);
void ks_vc_window_crl(ks_vc_window *w, X509_CRL *crl);
void ks_vc_window_ctx(ks_vc_window *w, const ks_ctx *ctx);
/* Keys: SHA-256 over a label and the inputs. */
int ks_vc_hash_init(ks_vcache *c, EVP_MD_CTX **h, const char *label);
int ks_vc_hash_final(EVP_MD_CTX *h, unsigned char key[32]); /* frees h */
int ks_vc_hash_bytes(ks_vcache *c, const void *p, size_t n, unsigned char out[32]);
int ks_vc_cert_hash(ks_vcache *c, X509 *x, unsigned char out[32]);
int ks_vc_hash_crl(EVP_MD_CTX *h, X509_CRL *crl);
/* A PASSED path result (and per-depth `missing` flags) for `key` at `at`. */
int ks_vcache_get_result(ks_vcache *c, const unsigned char key[32], time_t at, ks_path_result *res,
                         unsigned char *missing, int n);
void ks_vcache_put_result(ks_vcache *c, const unsigned char key[32], const ks_vc_window *w,
                          const ks_path_result *res, const unsigned char *missing, int n);


#endif
