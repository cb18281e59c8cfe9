/*
 * verify/ocsp.c - OCSP (RFC 6960): checking a response, and fetching one
 * through the two-tier cache.
 *
 * A response is checked the same way whether it just arrived from the
 * responder, was read back from memcached (untrusted) or is refreshed in the
 * background: signature, responder authority against the issuing CA,
 * CertID, times against the injected clock, critical extensions.  Cache
 * keys carry everything a refetch needs (digest, issuer fingerprint,
 * serial, URL); the issuer itself comes from the registry.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ocsp.h>

#include "internal.h"

/* RFC 6960 4.2.2.1: without nextUpdate, newer information is always
 * available; such an answer counts as fresh for this long. */
#define KS_OCSP_NO_NEXT_UPDATE_S 300


/* RFC 6960 4.4: extensions we understand; any other critical one fails. */
static int ks_exts_ok(int count, X509_EXTENSION *(*get)(void *, int), void *obj, const int *known)
{
    for (int i = 0; i < count; i++) {
        X509_EXTENSION *e = get(obj, i);
        if (e == NULL || X509_EXTENSION_get_critical(e) <= 0)
            continue;
        int nid = OBJ_obj2nid(X509_EXTENSION_get_object(e)), ok = 0;
        for (const int *k = known; *k != NID_undef; k++)
            ok |= nid == *k;
        if (!ok)
            return 0;
    }
    return 1;
}

static X509_EXTENSION *ks_bs_ext(void *o, int i)
{
    return OCSP_BASICRESP_get_ext(o, i);
}

static X509_EXTENSION *ks_single_ext(void *o, int i)
{
    return OCSP_SINGLERESP_get_ext(o, i);
}

/* A fresh local CRL from `issuer` says `cert` is not revoked: 1; revoked
 * or no such CRL: 0. */
static int ks_crl_says_good(const ks_ctx *ctx, time_t at, X509 *cert, X509 *issuer)
{
    for (int i = 0; i < sk_X509_CRL_num(ctx->crls); i++) {
        X509_CRL *crl = sk_X509_CRL_value(ctx->crls, i);
        time_t next;
        if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(issuer)) != 0 ||
            X509_CRL_verify(crl, X509_get0_pubkey(issuer)) != 1 ||
            !ks_asn1_time_to_time_t(X509_CRL_get0_nextUpdate(crl), &next) || next < at)
            continue;
        X509_REVOKED *r = NULL;
        ks_openssl_drain(__func__);
        return X509_CRL_get0_by_cert(crl, &r, cert) != 1;
    }
    ks_openssl_drain(__func__);
    return 0;
}

/*
 * RFC 6960 4.2.2.2: the response is signed by the CA that issued the
 * certificate, or by a responder that CA certified for id-kp-OCSPSigning.
 * The responder's certificate must be valid both when the response says it
 * was produced and at the validation time: producedAt is the responder's
 * own claim, so a retired responder's key could otherwise sign "good" with
 * producedAt set back into its validity (issue #18).  Its notAfter also
 * bounds how long the answer is used (ks_ocsp_fresh).  The responder's own
 * status is not checked when it carries id-pkix-ocsp-nocheck (4.2.2.2.1);
 * without it, a fresh CRL of the CA must vouch for it, or the answer is not
 * used.
 */
static int ks_ocsp_signer_ok(const ks_ctx *ctx, time_t at, X509 *signer, X509 *issuer, time_t produced, char *err,
                             size_t errlen)
{
    time_t when[2] = {produced, at};
    for (int i = 0; i < 2; i++) {
        if (X509_cmp_time(X509_get0_notBefore(signer), &when[i]) >= 0 ||
            X509_cmp_time(X509_get0_notAfter(signer), &when[i]) <= 0) {
            snprintf(err, errlen, "responder certificate not valid at %s",
                     i == 0 ? "producedAt" : "the validation time");
            return 0;
        }
    }
    if (ks_same_ca(signer, issuer))
        return 1;
    if (X509_check_issued(issuer, signer) != X509_V_OK || X509_verify(signer, X509_get0_pubkey(issuer)) != 1) {
        snprintf(err, errlen, "responder certificate not issued by the certificate's CA");
        return 0;
    }
    if ((X509_get_extension_flags(signer) & EXFLAG_XKUSAGE) == 0 ||
        (X509_get_extended_key_usage(signer) & XKU_OCSP_SIGN) == 0) {
        snprintf(err, errlen, "responder not authorised (no id-kp-OCSPSigning)");
        return 0;
    }
    char why[128];
    if (!ks_alg_key_ok(ctx, X509_get0_pubkey(signer), why, sizeof why)) {
        snprintf(err, errlen, "responder key: %s", why);
        return 0;
    }
    if (X509_get_ext_by_NID(signer, NID_id_pkix_OCSP_noCheck, -1) < 0 && !ks_crl_says_good(ctx, at, signer, issuer)) {
        snprintf(err, errlen, "responder certificate without id-pkix-ocsp-nocheck and no CRL vouches for it");
        return 0;
    }
    return 1;
}

void ks_ocsp_fresh(const ks_ctx *ctx, const ks_ocsp_answer *a, ks_fresh *f)
{
    f->this_update = a->this_update;
    f->next_update = a->next_update;
    f->valid_until = a->signer_not_after;
    f->max_age_s = ctx->rev.ocsp_max_age_s;
}

static int ks_gt(const ASN1_GENERALIZEDTIME *t, time_t *out)
{
    return t != NULL && ks_asn1_time_to_time_t(t, out);
}

/* The SingleResponses about `serial` from `issuer`, whatever hash the
 * responder used for its CertID (RFC 6960 4.1.1: hashes of the issuer's
 * name and key). */
static int ks_ocsp_next_match(OCSP_BASICRESP *bs, X509 *issuer, const ASN1_INTEGER *serial, int after)
{
    for (int i = after + 1; i < OCSP_resp_count(bs); i++) {
        const OCSP_CERTID *cid = OCSP_SINGLERESP_get0_id(OCSP_resp_get0(bs, i));
        ASN1_OBJECT *md_oid = NULL;
        if (OCSP_id_get0_info(NULL, &md_oid, NULL, NULL, (OCSP_CERTID *)cid) != 1)
            continue;
        const EVP_MD *md = EVP_get_digestbyobj(md_oid);
        OCSP_CERTID *mine = md ? OCSP_cert_id_new(md, X509_get_subject_name(issuer), X509_get0_pubkey_bitstr(issuer),
                                                  serial)
                               : NULL;
        int same = mine != NULL && OCSP_id_cmp(mine, cid) == 0;
        OCSP_CERTID_free(mine);
        if (same)
            return i;
    }
    ks_openssl_drain(__func__);
    return -1;
}

static int ks_ocsp_rank(int status)
{
    return status == V_OCSP_CERTSTATUS_GOOD ? 0 : status == V_OCSP_CERTSTATUS_REVOKED ? 2 : 1;
}

/* One SingleResponse about our certificate, into *a (whose produced_at and
 * signer_not_after are set): RFC 6960 4.2.2.1 / 3.2 (6),(7) against the
 * injected clock, with the configured skew (OCSP_check_validity would read
 * the wall clock); 1 usable. */
static int ks_ocsp_single(const ks_ctx *ctx, time_t at, OCSP_SINGLERESP *single, ks_ocsp_answer *a, char *err,
                          size_t errlen)
{
    static const int known_single[] = {NID_undef};
    ASN1_GENERALIZEDTIME *rev = NULL, *thisu = NULL, *nextu = NULL;
    int skew = ctx->rev.clock_skew_s;
    a->reason = -1;
    a->status = OCSP_single_get0_status(single, &a->reason, &rev, &thisu, &nextu);
    if (!ks_exts_ok(OCSP_SINGLERESP_get_ext_count(single), ks_single_ext, single, known_single)) {
        snprintf(err, errlen, "unknown critical single-response extension");
        return 0;
    }
    if (!ks_gt(thisu, &a->this_update)) {
        snprintf(err, errlen, "thisUpdate missing");
        return 0;
    }
    /* A response is produced once its status is known: producedAt before
     * thisUpdate (beyond the skew) is a time the responder made up. */
    if (a->produced_at + skew < a->this_update) {
        snprintf(err, errlen, "producedAt before thisUpdate");
        return 0;
    }
    a->has_next = ks_gt(nextu, &a->next_update);
    /* No nextUpdate: newer information is always available (RFC 6960
     * 4.2.2.1): usable for ocsp_max_age_s (as Chromium does), or a short
     * window when no maximum age is configured. */
    int max_age = ctx->rev.ocsp_max_age_s;
    if (!a->has_next)
        a->next_update = a->this_update + (max_age > 0 ? max_age : KS_OCSP_NO_NEXT_UPDATE_S);
    if (a->has_next && a->next_update < a->this_update) {
        snprintf(err, errlen, "nextUpdate before thisUpdate");
        return 0;
    }
    ks_fresh f;
    ks_ocsp_fresh(ctx, a, &f);
    if (!ks_rev_fresh(ctx, &f, at, NULL, err, errlen))
        return 0;
    if (a->status == V_OCSP_CERTSTATUS_REVOKED && !ks_gt(rev, &a->revocation_time)) {
        snprintf(err, errlen, "revoked without a revocation time");
        return 0;
    }
    if (a->status != V_OCSP_CERTSTATUS_GOOD && a->status != V_OCSP_CERTSTATUS_REVOKED)
        a->status = V_OCSP_CERTSTATUS_UNKNOWN;
    return 1;
}

ks_result ks_ocsp_check(const ks_ctx *ctx, time_t at, const uint8_t *der, size_t len, X509 *issuer,
                        const ASN1_INTEGER *serial, ks_ocsp_answer *a, char *err, size_t errlen)
{
    static const int known_resp[] = {NID_id_pkix_OCSP_Nonce, NID_undef};
    ks_result ret = KS_E_UNAVAILABLE;
    OCSP_RESPONSE *resp = NULL;
    OCSP_BASICRESP *bs = NULL;
    STACK_OF(X509) *extra = sk_X509_new_null();
    const unsigned char *p = der;
    int skew = ctx->rev.clock_skew_s;
    X509 *signer = NULL;

    if (extra == NULL || !sk_X509_push(extra, issuer))
        goto done;
    if (len == 0 || len > LONG_MAX || (resp = d2i_OCSP_RESPONSE(NULL, &p, (long)len)) == NULL || p != der + len) {
        snprintf(err, errlen, "malformed OCSP response");
        goto done;
    }
    int rs = OCSP_response_status(resp);
    if (rs != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
        snprintf(err, errlen, "responder answered %s", OCSP_response_status_str(rs));
        goto done;
    }
    if ((bs = OCSP_response_get1_basic(resp)) == NULL) {
        snprintf(err, errlen, "not a basic OCSP response");
        goto done;
    }
    if (!ks_exts_ok(OCSP_BASICRESP_get_ext_count(bs), ks_bs_ext, bs, known_resp)) {
        snprintf(err, errlen, "unknown critical response extension");
        goto done;
    }
    if (!ks_gt(OCSP_resp_get0_produced_at(bs), &a->produced_at) || a->produced_at > at + skew) {
        snprintf(err, errlen, "producedAt missing or in the future");
        goto done;
    }
    /* The signature alone here (no chain: OCSP_NOVERIFY); who may sign is
     * decided by ks_ocsp_signer_ok against the already validated issuer. */
    if (OCSP_basic_verify(bs, extra, NULL, OCSP_NOVERIFY) != 1 || OCSP_resp_get0_signer(bs, &signer, extra) != 1) {
        snprintf(err, errlen, "response signature does not verify");
        goto done;
    }
    if (!ks_ocsp_signer_ok(ctx, at, signer, issuer, a->produced_at, err, errlen))
        goto done;
    /* A delegated responder without id-pkix-ocsp-nocheck stood on a local
     * CRL's word (ks_crl_says_good): a reload with other local CRLs drops
     * the answer from the cache (config.c ks_ctx_take_over). */
    a->crl_vouched = !ks_same_ca(signer, issuer) && X509_get_ext_by_NID(signer, NID_id_pkix_OCSP_noCheck, -1) < 0;
    if (!ks_asn1_time_to_time_t(X509_get0_notAfter(signer), &a->signer_not_after)) {
        snprintf(err, errlen, "responder certificate without a usable notAfter");
        goto done;
    }
    int md = NID_undef, pk = NID_undef;
    const ASN1_OBJECT *alg = NULL;
    X509_ALGOR_get0(&alg, NULL, NULL, OCSP_resp_get0_tbs_sigalg(bs));
    /* evidence_allow_sha1: only in a copy for this very response, proven
     * older than the sha1 sunset (ks_alg_evidence_ctx). */
    if (OBJ_find_sigid_algs(OBJ_obj2nid(alg), &md, &pk) == 1 && !ks_alg_digest_ok(ctx, md) &&
        !(md == NID_sha1 && ctx->alg.evidence_allow_sha1)) {
        snprintf(err, errlen, "response signed with %s", OBJ_nid2sn(md));
        goto done;
    }
    /* The SingleResponses for the CertID we asked about, not the first
     * one: every one of them must pass the checks of one answer (a response
     * that contradicts itself is not used), and of several the worst counts
     * (revoked over unknown over good). */
    int found = 0;
    for (int j = ks_ocsp_next_match(bs, issuer, serial, -1); j >= 0; j = ks_ocsp_next_match(bs, issuer, serial, j)) {
        ks_ocsp_answer one = *a;
        if (!ks_ocsp_single(ctx, at, OCSP_resp_get0(bs, j), &one, err, errlen))
            goto done;
        if (!found || ks_ocsp_rank(one.status) > ks_ocsp_rank(a->status))
            *a = one;
        found = 1;
    }
    if (!found) {
        snprintf(err, errlen, "no answer for this certificate (CertID mismatch)");
        goto done;
    }
    ret = KS_OK;
done:
    ks_openssl_drain(__func__);
    sk_X509_free(extra);
    OCSP_BASICRESP_free(bs);
    OCSP_RESPONSE_free(resp);
    return ret;
}


/* ---------------- fetching through the cache ---------------- */

/* "ocsp|<digest>|<issuer sha256>|<serial hex>|<url>" */
typedef struct {
    char md[32];
    char fp[65];
    ASN1_INTEGER *serial;
    const char *url;
} ks_ocsp_key;

static int ks_ocsp_key_parse(const char *key, ks_ocsp_key *k)
{
    char serial[130];
    const char *p = key + 5, *bar;
    memset(k, 0, sizeof *k);
    if (strncmp(key, "ocsp|", 5) != 0 || (bar = strchr(p, '|')) == NULL || (size_t)(bar - p) >= sizeof k->md)
        return 0;
    memcpy(k->md, p, (size_t)(bar - p));
    p = bar + 1;
    if (strlen(p) < 66 || p[64] != '|')
        return 0;
    memcpy(k->fp, p, 64);
    p += 65;
    if ((bar = strchr(p, '|')) == NULL || bar == p || (size_t)(bar - p) >= sizeof serial)
        return 0;
    memcpy(serial, p, (size_t)(bar - p));
    serial[bar - p] = '\0';
    k->url = bar + 1;
    BIGNUM *bn = NULL;
    if (BN_hex2bn(&bn, serial) != (int)strlen(serial) || (k->serial = BN_to_ASN1_INTEGER(bn, NULL)) == NULL) {
        BN_free(bn);
        ks_openssl_drain(__func__);
        return 0;
    }
    BN_free(bn);
    return 1;
}

static int ks_ocsp_fetch(void *arg, const char *key, uint8_t **val, size_t *len)
{
    ks_ctx *ctx = arg;
    ks_ocsp_key k;
    X509 *issuer = NULL;
    OCSP_CERTID *id = NULL;
    OCSP_REQUEST *req = NULL;
    OCSP_RESPONSE *resp = NULL;
    OCSP_BASICRESP *bs = NULL;
    unsigned char *der = NULL;
    char *err = ks_rev_errbuf();
    int ret = -1;

    *val = NULL;
    if (!ks_ocsp_key_parse(key, &k) || (issuer = ks_registry_get(ctx->registry, k.fp)) == NULL) {
        snprintf(err, KS_REV_ERRLEN, "issuer not known");
        goto done;
    }
    /* RFC 6960 4.1.1: CertID over the issuer's name and key. */
    const EVP_MD *md = EVP_get_digestbyname(k.md);
    id = md ? OCSP_cert_id_new(md, X509_get_subject_name(issuer), X509_get0_pubkey_bitstr(issuer), k.serial) : NULL;
    req = OCSP_REQUEST_new();
    if (id == NULL || req == NULL || OCSP_request_add0_id(req, id) == NULL ||
        (ctx->rev.ocsp_nonce != KS_NONCE_OFF && OCSP_request_add1_nonce(req, NULL, -1) != 1)) {
        snprintf(err, KS_REV_ERRLEN, "cannot build the request");
        goto done;
    }
    id = NULL; /* owned by req */
    int dlen = i2d_OCSP_REQUEST(req, &der);
    if (dlen <= 0) {
        snprintf(err, KS_REV_ERRLEN, "cannot encode the request");
        goto done;
    }
    if (ks_http_fetch(ctx, k.url, der, (size_t)dlen, "application/ocsp-request", "application/ocsp-response", val,
                      len, err, KS_REV_ERRLEN) != KS_OK)
        goto done;
    /* RFC 6960 4.4.1: the nonce binds this answer to this request; it can
     * only be checked here, before the answer is shared.  An answer without
     * it (pre-produced, RFC 5019) may be a replay of any earlier one: with
     * "require" it is refused, otherwise used only within ocsp_max_age_s of
     * its thisUpdate (ks_ocsp_fresh, at every use), so never without one. */
    const unsigned char *p = *val;
    if (ctx->rev.ocsp_nonce != KS_NONCE_OFF && *len <= LONG_MAX &&
        (resp = d2i_OCSP_RESPONSE(NULL, &p, (long)*len)) != NULL && (bs = OCSP_response_get1_basic(resp)) != NULL) {
        int nr = OCSP_check_nonce(req, bs);
        if (nr == 0) {
            snprintf(err, KS_REV_ERRLEN, "nonce mismatch");
            goto done;
        }
        if (nr == -1 && ctx->rev.ocsp_nonce == KS_NONCE_REQUIRE) {
            snprintf(err, KS_REV_ERRLEN, "no nonce in the answer (revocation.ocsp_nonce: require)");
            goto done;
        }
        if (nr == -1 && ctx->rev.ocsp_max_age_s == 0) {
            snprintf(err, KS_REV_ERRLEN, "no nonce in the answer and no revocation.ocsp_max_age_s to bound its age");
            goto done;
        }
    }
    ret = 0;
done:
    if (ret != 0) {
        free(*val);
        *val = NULL;
    }
    ks_openssl_drain(__func__);
    OCSP_BASICRESP_free(bs);
    OCSP_RESPONSE_free(resp);
    OPENSSL_free(der);
    OCSP_CERTID_free(id);
    OCSP_REQUEST_free(req);
    ASN1_INTEGER_free(k.serial);
    X509_free(issuer);
    return ret;
}

/* Decodes and checks an answer (fresh from the responder, from memcached,
 * or fetched directly for another validation time) at `now`, and holds it
 * against what this process has already seen about the certificate.  The
 * cache keeps it no longer than it stays fresh (*expires: nextUpdate,
 * thisUpdate + ocsp_max_age_s, the responder's notAfter) and keeps its
 * thisUpdate with the memcached frame (*issued). */
static void *ks_ocsp_decode(void *arg, const char *key, const uint8_t *val, size_t len, time_t now, time_t *expires,
                            time_t *issued)
{
    ks_ctx *ctx = arg;
    ks_ocsp_key k;
    X509 *issuer = NULL;
    ks_ocsp_answer *a = NULL;
    ks_fresh f;
    if (!ks_ocsp_key_parse(key, &k) || (issuer = ks_registry_get(ctx->registry, k.fp)) == NULL ||
        (a = calloc(1, sizeof *a)) == NULL)
        goto done;
    if (ks_ocsp_check(ctx, now, val, len, issuer, k.serial, a, ks_rev_errbuf(), KS_REV_ERRLEN) != KS_OK ||
        !ks_registry_ocsp_seen(ctx->registry, issuer, k.serial, a->this_update, a->status, a->reason, ks_rev_errbuf(),
                               KS_REV_ERRLEN)) {
        free(a);
        a = NULL;
        goto done;
    }
    ks_ocsp_fresh(ctx, a, &f);
    ks_rev_fresh(ctx, &f, now, expires, ks_rev_errbuf(), KS_REV_ERRLEN);
    *issued = a->this_update;
done:
    ASN1_INTEGER_free(k.serial);
    X509_free(issuer);
    return a;
}

static const ks_cache_ops ks_ocsp_ops = {.fetch = ks_ocsp_fetch, .decode = ks_ocsp_decode, .free_obj = free};
/* Embedded answers: the same decode (the same checks at every load), bytes
 * from the signed object instead of the responder. */
static const ks_cache_ops ks_ocsp_emb_ops = {.fetch = ks_rev_emb_fetch, .decode = ks_ocsp_decode, .free_obj = free};

/* `url` is the responder's, or "emb:<hash>" for an embedded answer. */
static ks_result ks_ocsp_lookup_ops(ks_ctx *ctx, X509 *cert, X509 *issuer, const char *url, const ks_cache_ops *ops,
                                    time_t at, ks_ocsp_answer *out, const char **from, char *err, size_t errlen)
{
    char fp[65], key[2400];
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
    char *serial = bn ? BN_bn2hex(bn) : NULL;
    ks_result r = KS_E_NOMEM;
    if (serial == NULL || !ks_registry_put(ctx->registry, issuer, fp))
        goto done;
    const char *md = ctx->rev.ocsp_certid_sha256 ? "SHA256" : "SHA1";
    if ((size_t)snprintf(key, sizeof key, "ocsp|%s|%s|%s|%s", md, fp, serial, url) >= sizeof key) {
        snprintf(err, errlen, "URL too long");
        r = KS_E_UNAVAILABLE;
        goto done;
    }
    /* The same rules at every use as at decode: an answer from memory may
     * have been decoded at another time than `at` (RFC 6960 4.2.2.1), and
     * another answer about the same certificate may have come since (a
     * newer one, or "revoked").  A newer one that a refresh put in the
     * cache between our lookup and this check is simply taken: once. */
    for (int attempt = 0; attempt < 2; attempt++) {
        ks_rev_obj obj;
        ks_fresh f;
        char why[KS_REV_ERRLEN];
        if ((r = ks_rev_load(ctx, key, ops, at, &obj, err, errlen)) != KS_OK)
            goto done;
        *out = *(const ks_ocsp_answer *)obj.obj;
        *from = obj.from;
        ks_rev_release(&obj, ops);
        ks_ocsp_fresh(ctx, out, &f);
        if (!ks_rev_fresh(ctx, &f, at, NULL, why, sizeof why)) {
            snprintf(err, errlen, "answer not usable at the validation time: %s", why);
            r = KS_E_UNAVAILABLE;
            goto done;
        }
        if (ks_registry_ocsp_seen(ctx->registry, issuer, X509_get0_serialNumber(cert), out->this_update, out->status,
                                  out->reason, why, sizeof why))
            goto done;
        snprintf(err, errlen, "answer not usable: %s", why);
        r = KS_E_UNAVAILABLE;
    }
done:
    OPENSSL_free(serial);
    BN_free(bn);
    ks_openssl_drain(__func__);
    return r;
}

ks_result ks_ocsp_lookup(ks_ctx *ctx, X509 *cert, X509 *issuer, const char *url, time_t at, ks_ocsp_answer *out,
                         const char **from, char *err, size_t errlen)
{
    return ks_ocsp_lookup_ops(ctx, cert, issuer, url, &ks_ocsp_ops, at, out, from, err, errlen);
}

/* 1 when a SingleResponse of the (unverified) response names `serial` from
 * `issuer`: only then is the response evidence about this certificate,
 * and worth checking (and reporting when it fails). */
static int ks_ocsp_mentions(const uint8_t *der, size_t len, X509 *issuer, const ASN1_INTEGER *serial)
{
    const unsigned char *p = der;
    OCSP_RESPONSE *resp = NULL;
    OCSP_BASICRESP *bs = NULL;
    int found = 0;
    if (len == 0 || len > LONG_MAX || (resp = d2i_OCSP_RESPONSE(NULL, &p, (long)len)) == NULL || p != der + len ||
        (bs = OCSP_response_get1_basic(resp)) == NULL)
        goto done;
    found = ks_ocsp_next_match(bs, issuer, serial, -1) >= 0;
done:
    OCSP_BASICRESP_free(bs);
    OCSP_RESPONSE_free(resp);
    ks_openssl_drain(__func__);
    return found;
}

ks_result ks_ocsp_embedded(ks_ctx *ctx, X509 *cert, X509 *issuer, const ks_blob *der, time_t at, int past,
                           ks_ocsp_answer *out, const char **from, int *about, char *err, size_t errlen)
{
    char tag[70];
    ks_result r = KS_E_UNAVAILABLE;
    *about = ks_ocsp_mentions(der->data, der->len, issuer, X509_get0_serialNumber(cert));
    *from = "message";
    if (!*about)
        return KS_E_UNAVAILABLE;
    if (past) {
        /* ETSI EN 319 102-1 5.6.2.4: the status at the POE, from evidence
         * of that time, every check of a fetched answer but the rollback
         * record (which speaks of now). */
        memset(out, 0, sizeof *out);
        return ks_ocsp_check(ctx, at, der->data, der->len, issuer, X509_get0_serialNumber(cert), out, err, errlen);
    }
    if (!ks_rev_emb_tag(der->data, der->len, tag)) {
        snprintf(err, errlen, "cannot hash the embedded response");
        return KS_E_NOMEM;
    }
    ks_rev_emb_set(der);
    r = ks_ocsp_lookup_ops(ctx, cert, issuer, tag, &ks_ocsp_emb_ops, at, out, from, err, errlen);
    ks_rev_emb_set(NULL);
    if (r == KS_OK && strcmp(*from, "network") == 0)
        *from = "message"; /* decoded from the message just now, not fetched */
    return r;
}

ks_result ks_ocsp_verify_response(ks_ctx *ctx, const uint8_t *der, size_t len, X509 *cert, X509 *issuer, time_t at,
                                  int *status, char *err, size_t errlen)
{
    ks_ocsp_answer a;
    ks_result r = ks_ocsp_check(ctx, at, der, len, issuer, X509_get0_serialNumber(cert), &a, err, errlen);
    *status = r == KS_OK ? a.status : -1;
    return r;
}
