/*
 * verify/revoke.c - revocation status of every certificate of a validated
 * path but the anchor, by OCSP (RFC 6960) and CRL (RFC 5280 5, 6.3).
 *
 * Runs only after the path validated, so nothing is ever fetched for a
 * certificate that does not chain to a trust anchor, and only URLs under
 * revocation.allow_urls are fetched (verify/fetch.c enforces it).
 *
 * Fails closed: a certificate whose status is unknown, stale or unreachable
 * leaves the verdict INDETERMINATE/TRY_LATER in mode "require"; "soft-fail"
 * passes and says so; "off" says nothing was checked.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>

#include "internal.h"

#define KS_REV_MAX_DEPTH 64
/* RFC 6960 4.2.2.1: without nextUpdate, newer information is always
 * available; such an answer counts as fresh for this long. */
#define KS_OCSP_NO_NEXT_UPDATE_S 300
#define KS_REV_MAX_CRL_URLS 8

typedef struct {
    X509_CRL *crl;
    char origin[256]; /* file path or URL */
    const char *from; /* "file", "message", "network" */
} ks_crl_item;

typedef struct {
    int status; /* V_OCSP_CERTSTATUS_* */
    int reason;
    time_t this_update, next_update, produced_at, revocation_time;
    int has_next;
} ks_ocsp_answer;

/* One revocation check: the path and what was learnt about each depth. */
typedef struct {
    ks_ctx *ctx;
    const ks_path_input *in;
    time_t at;
    STACK_OF(X509) *chain;
    int n;
    unsigned char established[KS_REV_MAX_DEPTH];
    cJSON *ev[KS_REV_MAX_DEPTH];
    ks_crl_item *crls;
    size_t ncrls, capcrls;
    char fetched[KS_REV_MAX_CRL_URLS * 4][256];
    size_t nfetched;
    int crl_done;
    int revoked_depth;
    int reason;
    time_t revocation_time;
    ks_path_result crl_failure; /* a CRL problem other than "none available" */
    int have_crl_failure;
} ks_rev;

/* ---------------- evidence ---------------- */

static void ks_ev_time(cJSON *ev, const char *key, time_t t)
{
    char buf[32];
    ks_time_format(t, buf, sizeof buf);
    cJSON_DeleteItemFromObjectCaseSensitive(ev, key);
    cJSON_AddStringToObject(ev, key, buf);
}

static void ks_ev_str(cJSON *ev, const char *key, const char *val)
{
    cJSON_DeleteItemFromObjectCaseSensitive(ev, key);
    if (val != NULL)
        cJSON_AddStringToObject(ev, key, val);
    else
        cJSON_AddNullToObject(ev, key);
}

static const char *ks_status_word(int st)
{
    switch (st) {
    case V_OCSP_CERTSTATUS_GOOD:
        return "good";
    case V_OCSP_CERTSTATUS_REVOKED:
        return "revoked";
    default:
        return "unknown";
    }
}

static void ks_ev_revoked(ks_rev *rv, int d, time_t when, int reason)
{
    cJSON *ev = rv->ev[d];
    ks_ev_str(ev, "status", "revoked");
    ks_ev_time(ev, "revocation_time", when);
    ks_ev_str(ev, "reason", ks_crl_reason_name(reason));
    if (rv->revoked_depth < 0 || d < rv->revoked_depth) {
        rv->revoked_depth = d;
        rv->reason = reason;
        rv->revocation_time = when;
    }
}

/* ---------------- CRL collection ---------------- */

static int ks_add_crl(ks_rev *rv, X509_CRL *crl, const char *origin, const char *from)
{
    if (rv->ncrls == rv->capcrls) {
        size_t ncap = rv->capcrls ? rv->capcrls * 2 : 16;
        ks_crl_item *n = realloc(rv->crls, ncap * sizeof *n);
        if (n == NULL)
            return 0;
        rv->crls = n;
        rv->capcrls = ncap;
    }
    if (X509_CRL_up_ref(crl) != 1)
        return 0;
    ks_crl_item *it = &rv->crls[rv->ncrls++];
    it->crl = crl;
    snprintf(it->origin, sizeof it->origin, "%s", origin ? origin : "");
    it->from = from;
    return 1;
}

static X509_CRL *ks_parse_crl(const uint8_t *p, size_t len)
{
    X509_CRL *crl = NULL;
    if (len > 0 && len <= LONG_MAX && p[0] == 0x30) {
        const unsigned char *q = p;
        crl = d2i_X509_CRL(NULL, &q, (long)len);
        if (crl != NULL && q != p + len) {
            X509_CRL_free(crl);
            crl = NULL;
        }
    } else if (len > 0 && len <= INT_MAX) {
        BIO *b = BIO_new_mem_buf(p, (int)len);
        crl = b ? PEM_read_bio_X509_CRL(b, NULL, NULL, NULL) : NULL;
        BIO_free(b);
    }
    ERR_clear_error();
    return crl;
}

static void ks_fetch_crl(ks_rev *rv, const char *url, int d)
{
    for (size_t i = 0; i < rv->nfetched; i++)
        if (strcmp(rv->fetched[i], url) == 0)
            return; /* once per check */
    if (rv->nfetched < sizeof rv->fetched / sizeof rv->fetched[0])
        snprintf(rv->fetched[rv->nfetched++], sizeof rv->fetched[0], "%s", url);
    uint8_t *body = NULL;
    size_t len = 0;
    char err[160];
    ks_result r = ks_http_fetch(rv->ctx, url, NULL, 0, NULL, NULL, &body, &len, err, sizeof err);
    X509_CRL *crl = r == KS_OK ? ks_parse_crl(body, len) : NULL;
    if (crl == NULL) {
        cJSON *e = cJSON_GetObjectItemCaseSensitive(rv->ev[d], "errors");
        char msg[512];
        snprintf(msg, sizeof msg, "CRL %s: %s", url, r == KS_OK ? "not a CRL" : err);
        if (e != NULL)
            cJSON_AddItemToArray(e, cJSON_CreateString(msg));
    } else {
        ks_add_crl(rv, crl, url, "network");
    }
    X509_CRL_free(crl);
    free(body);
}

static int ks_same_ca(X509 *a, X509 *b)
{
    return X509_NAME_cmp(X509_get_subject_name(a), X509_get_subject_name(b)) == 0 &&
           EVP_PKEY_eq(X509_get0_pubkey(a), X509_get0_pubkey(b)) == 1;
}

/* revocation_sources entry for the CA that issued a certificate, by name
 * and key (a cross certificate and a self-signed one of the same CA match). */
static const ks_rev_source *ks_source_for(const ks_ctx *ctx, X509 *issuer)
{
    for (size_t i = 0; i < ctx->n_sources; i++)
        if (ks_same_ca(ctx->sources[i].issuer, issuer))
            return &ctx->sources[i];
    ERR_clear_error();
    return NULL;
}

/* URLs of a certificate's CRL distribution points (RFC 5280 4.2.1.13); a
 * directoryName point (JPKI) has none: it is served by revocation_sources. */
static void ks_fetch_cdp(ks_rev *rv, int d)
{
    X509 *cert = sk_X509_value(rv->chain, d);
    STACK_OF(DIST_POINT) *dps = X509_get_ext_d2i(cert, NID_crl_distribution_points, NULL, NULL);
    int fetched = 0;
    for (int i = 0; dps != NULL && i < sk_DIST_POINT_num(dps) && fetched < KS_REV_MAX_CRL_URLS; i++) {
        DIST_POINT *dp = sk_DIST_POINT_value(dps, i);
        if (dp->distpoint == NULL || dp->distpoint->type != 0)
            continue;
        GENERAL_NAMES *names = dp->distpoint->name.fullname;
        for (int k = 0; k < sk_GENERAL_NAME_num(names); k++) {
            GENERAL_NAME *gn = sk_GENERAL_NAME_value(names, k);
            if (gn->type != GEN_URI)
                continue;
            const ASN1_IA5STRING *u = gn->d.uniformResourceIdentifier;
            char url[1024];
            int len = ASN1_STRING_length(u);
            if (len <= 0 || (size_t)len >= sizeof url)
                continue;
            memcpy(url, ASN1_STRING_get0_data(u), (size_t)len);
            url[len] = '\0';
            if (strlen(url) != (size_t)len || !ks_url_allowed(rv->ctx, url))
                continue;
            ks_fetch_crl(rv, url, d);
            fetched++;
        }
    }
    sk_DIST_POINT_pop_free(dps, DIST_POINT_free);
    ERR_clear_error();
}

/* Everything a CRL check may use: local files, the message's own CRLs (CA
 * signed, so verified like any other), configured URLs and distribution
 * points of the certificates still without status. */
static void ks_collect_crls(ks_rev *rv)
{
    const ks_ctx *ctx = rv->ctx;
    for (int i = 0; i < sk_X509_CRL_num(ctx->crls); i++)
        ks_add_crl(rv, sk_X509_CRL_value(ctx->crls, i), ctx->crl_origins[i], "file");
    for (int i = 0; rv->in != NULL && i < sk_X509_CRL_num(rv->in->crls); i++)
        ks_add_crl(rv, sk_X509_CRL_value(rv->in->crls, i), "signature", "message");
    for (int d = 0; d < rv->n - 1; d++) {
        if (rv->established[d])
            continue;
        const ks_rev_source *src = ks_source_for(ctx, sk_X509_value(rv->chain, d + 1));
        for (size_t k = 0; src != NULL && k < src->n_crl; k++)
            if (strstr(src->crl[k], "://") != NULL)
                ks_fetch_crl(rv, src->crl[k], d);
        ks_fetch_cdp(rv, d);
    }
}

/* The CRL (not a delta) from the certificate's issuer that a check would
 * rely on: issued by it, verifying with its key, the newest one. */
static const ks_crl_item *ks_crl_for(const ks_rev *rv, int d)
{
    X509 *cert = sk_X509_value(rv->chain, d), *issuer = sk_X509_value(rv->chain, d + 1);
    const ks_crl_item *best = NULL;
    for (size_t i = 0; i < rv->ncrls; i++) {
        X509_CRL *crl = rv->crls[i].crl;
        if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_issuer_name(cert)) != 0 ||
            X509_CRL_get_ext_by_NID(crl, NID_delta_crl, -1) >= 0 ||
            X509_CRL_verify(crl, X509_get0_pubkey(issuer)) != 1)
            continue;
        if (best == NULL ||
            ASN1_TIME_compare(X509_CRL_get0_lastUpdate(crl), X509_CRL_get0_lastUpdate(best->crl)) > 0)
            best = &rv->crls[i];
    }
    ERR_clear_error();
    return best;
}

static void ks_ev_crl(ks_rev *rv, int d, const ks_crl_item *it)
{
    cJSON *ev = rv->ev[d];
    time_t t;
    ks_ev_str(ev, "source", "crl");
    ks_ev_str(ev, strncmp(it->origin, "http", 4) == 0 ? "url" : "file", it->origin);
    ks_ev_str(ev, "from", it->from);
    if (ks_asn1_time_to_time_t(X509_CRL_get0_lastUpdate(it->crl), &t))
        ks_ev_time(ev, "this_update", t);
    if (ks_asn1_time_to_time_t(X509_CRL_get0_nextUpdate(it->crl), &t))
        ks_ev_time(ev, "next_update", t);
    ASN1_INTEGER *num = X509_CRL_get_ext_d2i(it->crl, NID_crl_number, NULL, NULL);
    if (num != NULL) {
        BIGNUM *bn = ASN1_INTEGER_to_BN(num, NULL);
        char *hex = bn ? BN_bn2hex(bn) : NULL;
        if (hex != NULL)
            ks_ev_str(ev, "crl_number", hex);
        OPENSSL_free(hex);
        BN_free(bn);
        ASN1_INTEGER_free(num);
    }
    ERR_clear_error();
}

/* The entry that revoked the certificate at depth d, for its time and
 * reason (RFC 5280 5.3.1, 5.3.2). */
static void ks_crl_revoked_entry(ks_rev *rv, int d)
{
    X509 *cert = sk_X509_value(rv->chain, d);
    time_t when = 0;
    int reason = CRL_REASON_UNSPECIFIED;
    for (size_t i = 0; i < rv->ncrls; i++) {
        X509_REVOKED *r = NULL;
        if (X509_CRL_get0_by_cert(rv->crls[i].crl, &r, cert) != 1 || r == NULL)
            continue;
        ks_ev_crl(rv, d, &rv->crls[i]);
        ks_asn1_time_to_time_t(X509_REVOKED_get0_revocationDate(r), &when);
        ASN1_ENUMERATED *e = X509_REVOKED_get_ext_d2i(r, NID_crl_reason, NULL, NULL);
        if (e != NULL) {
            long v = ASN1_ENUMERATED_get(e);
            reason = v >= 0 && v <= 10 ? (int)v : CRL_REASON_UNSPECIFIED;
            ASN1_ENUMERATED_free(e);
        }
        ASN1_GENERALIZEDTIME *inv = X509_REVOKED_get_ext_d2i(r, NID_invalidity_date, NULL, NULL);
        time_t it;
        if (inv != NULL && ks_asn1_time_to_time_t(inv, &it))
            ks_ev_time(rv->ev[d], "invalidity_date", it);
        ASN1_GENERALIZEDTIME_free(inv);
        break;
    }
    ERR_clear_error();
    ks_ev_revoked(rv, d, when, reason);
}

static void ks_crl_step(ks_rev *rv)
{
    unsigned char missing[KS_REV_MAX_DEPTH] = {0};
    ks_path_result res;
    rv->crl_done = 1;
    ks_collect_crls(rv);
    STACK_OF(X509_CRL) *sk = sk_X509_CRL_new_null();
    for (size_t i = 0; sk != NULL && i < rv->ncrls; i++)
        sk_X509_CRL_push(sk, rv->crls[i].crl);
    ks_path_check_crls(rv->ctx, rv->chain, sk, rv->at, NULL, rv->established, 1, missing, &res);
    sk_X509_CRL_free(sk);
    if (res.indication == KS_TOTAL_PASSED) {
        for (int d = 0; d < rv->n - 1; d++) {
            if (rv->established[d] || missing[d])
                continue;
            rv->established[d] = 1;
            const ks_crl_item *it = ks_crl_for(rv, d);
            ks_ev_str(rv->ev[d], "status", "good");
            if (it != NULL)
                ks_ev_crl(rv, d, it);
            else
                ks_ev_str(rv->ev[d], "source", "crl"); /* an indirect CRL */
        }
    } else if (res.x509_error == X509_V_ERR_CERT_REVOKED && res.error_depth >= 0 && res.error_depth < rv->n) {
        ks_crl_revoked_entry(rv, res.error_depth);
    } else {
        rv->crl_failure = res;
        res.chain = NULL;
        rv->have_crl_failure = 1;
    }
    ks_path_result_clear(&res);
}

/* ---------------- OCSP ---------------- */

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

/* A fresh CRL from `issuer` says `cert` is not revoked: 1; revoked or no
 * such CRL: 0. */
static int ks_crl_says_good(ks_rev *rv, X509 *cert, X509 *issuer)
{
    for (int i = 0; i < sk_X509_CRL_num(rv->ctx->crls); i++) {
        X509_CRL *crl = sk_X509_CRL_value(rv->ctx->crls, i);
        time_t next;
        if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(issuer)) != 0 ||
            X509_CRL_verify(crl, X509_get0_pubkey(issuer)) != 1 ||
            !ks_asn1_time_to_time_t(X509_CRL_get0_nextUpdate(crl), &next) || next < rv->at)
            continue;
        X509_REVOKED *r = NULL;
        ERR_clear_error();
        return X509_CRL_get0_by_cert(crl, &r, cert) != 1;
    }
    ERR_clear_error();
    return 0;
}

/*
 * RFC 6960 4.2.2.2: the response is signed by the CA that issued the
 * certificate, or by a responder that CA certified for id-kp-OCSPSigning,
 * valid when the response was produced.  The responder's own status is not
 * checked when it carries id-pkix-ocsp-nocheck (4.2.2.2.1); without it, a
 * fresh CRL of the CA must vouch for it, or the answer is not used.
 */
static int ks_ocsp_signer_ok(ks_rev *rv, X509 *signer, X509 *issuer, time_t produced, char *err, size_t errlen)
{
    if (X509_cmp_time(X509_get0_notBefore(signer), &produced) > 0 ||
        X509_cmp_time(X509_get0_notAfter(signer), &produced) < 0) {
        snprintf(err, errlen, "responder certificate not valid at producedAt");
        return 0;
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
    if (!ks_alg_key_ok(rv->ctx, X509_get0_pubkey(signer), why, sizeof why)) {
        snprintf(err, errlen, "responder key: %s", why);
        return 0;
    }
    if (X509_get_ext_by_NID(signer, NID_id_pkix_OCSP_noCheck, -1) < 0 && !ks_crl_says_good(rv, signer, issuer)) {
        snprintf(err, errlen, "responder certificate without id-pkix-ocsp-nocheck and no CRL vouches for it");
        return 0;
    }
    return 1;
}

static int ks_gt(const ASN1_GENERALIZEDTIME *t, time_t *out)
{
    return t != NULL && ks_asn1_time_to_time_t(t, out);
}

/* The SingleResponses about `cert`, whatever hash the responder used for
 * its CertID (RFC 6960 4.1.1: name and key hashes of the issuer). */
static int ks_ocsp_next_match(OCSP_BASICRESP *bs, X509 *cert, X509 *issuer, int after)
{
    for (int i = after + 1; i < OCSP_resp_count(bs); i++) {
        const OCSP_CERTID *cid = OCSP_SINGLERESP_get0_id(OCSP_resp_get0(bs, i));
        ASN1_OBJECT *md_oid = NULL;
        if (OCSP_id_get0_info(NULL, &md_oid, NULL, NULL, (OCSP_CERTID *)cid) != 1)
            continue;
        const EVP_MD *md = EVP_get_digestbyobj(md_oid);
        OCSP_CERTID *mine = md ? OCSP_cert_to_id(md, cert, issuer) : NULL;
        int same = mine != NULL && OCSP_id_cmp(mine, cid) == 0;
        OCSP_CERTID_free(mine);
        if (same)
            return i;
    }
    ERR_clear_error();
    return -1;
}

static int ks_ocsp_rank(int status)
{
    return status == V_OCSP_CERTSTATUS_GOOD ? 0 : status == V_OCSP_CERTSTATUS_REVOKED ? 2 : 1;
}

/* Checks an OCSP response about `cert` (RFC 6960 3.2) at the validation time. */
static ks_result ks_ocsp_check(ks_rev *rv, const uint8_t *der, size_t len, X509 *cert, X509 *issuer,
                               OCSP_REQUEST *req, ks_ocsp_answer *a, char *err, size_t errlen)
{
    static const int known_resp[] = {NID_id_pkix_OCSP_Nonce, NID_undef};
    static const int known_single[] = {NID_undef};
    ks_result ret = KS_E_UNAVAILABLE;
    OCSP_RESPONSE *resp = NULL;
    OCSP_BASICRESP *bs = NULL;
    STACK_OF(X509) *extra = sk_X509_new_null();
    const unsigned char *p = der;
    int skew = rv->ctx->rev.clock_skew_s;
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
    if (req != NULL && OCSP_check_nonce(req, bs) == 0) {
        snprintf(err, errlen, "nonce mismatch");
        goto done;
    }
    if (!ks_exts_ok(OCSP_BASICRESP_get_ext_count(bs), ks_bs_ext, bs, known_resp)) {
        snprintf(err, errlen, "unknown critical response extension");
        goto done;
    }
    if (!ks_gt(OCSP_resp_get0_produced_at(bs), &a->produced_at) || a->produced_at > rv->at + skew) {
        snprintf(err, errlen, "producedAt missing or in the future");
        goto done;
    }
    /* The signature alone here (no chain: OCSP_NOVERIFY); who may sign is
     * decided by ks_ocsp_signer_ok against the already validated issuer. */
    if (OCSP_basic_verify(bs, extra, NULL, OCSP_NOVERIFY) != 1 || OCSP_resp_get0_signer(bs, &signer, extra) != 1) {
        snprintf(err, errlen, "response signature does not verify");
        goto done;
    }
    if (!ks_ocsp_signer_ok(rv, signer, issuer, a->produced_at, err, errlen))
        goto done;
    int md = NID_undef, pk = NID_undef;
    const ASN1_OBJECT *alg = NULL;
    X509_ALGOR_get0(&alg, NULL, NULL, OCSP_resp_get0_tbs_sigalg(bs));
    if (OBJ_find_sigid_algs(OBJ_obj2nid(alg), &md, &pk) == 1 && !ks_alg_digest_ok(rv->ctx, md)) {
        snprintf(err, errlen, "response signed with %s", OBJ_nid2sn(md));
        goto done;
    }
    /* The SingleResponse for the CertID we asked about, not the first one;
     * of several answers about it the worst counts (revoked over unknown
     * over good). */
    int idx = ks_ocsp_next_match(bs, cert, issuer, -1);
    if (idx < 0) {
        snprintf(err, errlen, "no answer for this certificate (CertID mismatch)");
        goto done;
    }
    OCSP_SINGLERESP *single = OCSP_resp_get0(bs, idx);
    ASN1_GENERALIZEDTIME *rev = NULL, *thisu = NULL, *nextu = NULL;
    a->reason = -1;
    a->status = OCSP_single_get0_status(single, &a->reason, &rev, &thisu, &nextu);
    for (int j = ks_ocsp_next_match(bs, cert, issuer, idx); j >= 0; j = ks_ocsp_next_match(bs, cert, issuer, j)) {
        int r2 = -1, st2 = OCSP_single_get0_status(OCSP_resp_get0(bs, j), &r2, NULL, NULL, NULL);
        if (ks_ocsp_rank(st2) > ks_ocsp_rank(a->status)) {
            idx = j;
            single = OCSP_resp_get0(bs, idx);
            a->reason = -1;
            a->status = OCSP_single_get0_status(single, &a->reason, &rev, &thisu, &nextu);
        }
    }
    if (!ks_exts_ok(OCSP_SINGLERESP_get_ext_count(single), ks_single_ext, single, known_single)) {
        snprintf(err, errlen, "unknown critical single-response extension");
        goto done;
    }
    /* RFC 6960 4.2.2.1 / 3.2 (6),(7): against the injected clock, with the
     * configured skew (OCSP_check_validity would read the wall clock). */
    if (!ks_gt(thisu, &a->this_update) || a->this_update > rv->at + skew) {
        snprintf(err, errlen, "thisUpdate missing or in the future");
        goto done;
    }
    int max_age = rv->ctx->rev.ocsp_max_age_s;
    a->has_next = ks_gt(nextu, &a->next_update);
    if (!a->has_next)
        a->next_update = a->this_update + (max_age > 0 ? max_age : KS_OCSP_NO_NEXT_UPDATE_S);
    if (a->has_next && a->next_update < a->this_update) {
        snprintf(err, errlen, "nextUpdate before thisUpdate");
        goto done;
    }
    if (a->next_update < rv->at - skew || (max_age > 0 && rv->at - a->this_update > max_age + skew)) {
        snprintf(err, errlen, "stale response: nextUpdate or the maximum age has passed");
        goto done;
    }
    if (a->status == V_OCSP_CERTSTATUS_REVOKED && !ks_gt(rev, &a->revocation_time)) {
        snprintf(err, errlen, "revoked without a revocation time");
        goto done;
    }
    if (a->status != V_OCSP_CERTSTATUS_GOOD && a->status != V_OCSP_CERTSTATUS_REVOKED)
        a->status = V_OCSP_CERTSTATUS_UNKNOWN;
    ret = KS_OK;
done:
    ERR_clear_error();
    sk_X509_free(extra);
    OCSP_BASICRESP_free(bs);
    OCSP_RESPONSE_free(resp);
    return ret;
}

/* Responder for a certificate: the relying party's configured arrangement
 * first (JPKI certificates carry no URL), then the certificate's AIA. */
static char *ks_ocsp_url(const ks_ctx *ctx, X509 *cert, X509 *issuer)
{
    const ks_rev_source *src = ks_source_for(ctx, issuer);
    if (src != NULL && src->ocsp != NULL)
        return strdup(src->ocsp);
    STACK_OF(OPENSSL_STRING) *aia = X509_get1_ocsp(cert);
    char *url = NULL;
    for (int i = 0; aia != NULL && i < sk_OPENSSL_STRING_num(aia) && url == NULL; i++)
        if (ks_url_allowed(ctx, sk_OPENSSL_STRING_value(aia, i)))
            url = strdup(sk_OPENSSL_STRING_value(aia, i));
    X509_email_free(aia);
    ERR_clear_error();
    return url;
}

static void ks_ocsp_step(ks_rev *rv, int d)
{
    X509 *cert = sk_X509_value(rv->chain, d), *issuer = sk_X509_value(rv->chain, d + 1);
    cJSON *ev = rv->ev[d];
    OCSP_CERTID *id = NULL;
    OCSP_REQUEST *req = NULL;
    unsigned char *der = NULL;
    uint8_t *body = NULL;
    size_t blen = 0;
    char err[256] = "";
    char *url = ks_ocsp_url(rv->ctx, cert, issuer);
    if (url == NULL)
        return;
    ks_ev_str(ev, "source", "ocsp");
    ks_ev_str(ev, "url", url);
    ks_ev_str(ev, "from", "network");
    /* RFC 6960 4.1.1: CertID over the issuer's name and key. */
    const EVP_MD *md = rv->ctx->rev.ocsp_certid_sha256 ? EVP_sha256() : EVP_sha1();
    id = OCSP_cert_to_id(md, cert, issuer);
    req = OCSP_REQUEST_new();
    if (id == NULL || req == NULL || OCSP_request_add0_id(req, OCSP_CERTID_dup(id)) == NULL ||
        (rv->ctx->rev.ocsp_nonce && OCSP_request_add1_nonce(req, NULL, -1) != 1)) {
        snprintf(err, sizeof err, "cannot build the request");
        goto done;
    }
    int dlen = i2d_OCSP_REQUEST(req, &der);
    if (dlen <= 0) {
        snprintf(err, sizeof err, "cannot encode the request");
        goto done;
    }
    if (ks_http_fetch(rv->ctx, url, der, (size_t)dlen, "application/ocsp-request", "application/ocsp-response",
                      &body, &blen, err, sizeof err) != KS_OK)
        goto done;
    ks_ocsp_answer a;
    if (ks_ocsp_check(rv, body, blen, cert, issuer, req, &a, err, sizeof err) != KS_OK)
        goto done;
    ks_ev_str(ev, "status", ks_status_word(a.status));
    ks_ev_time(ev, "this_update", a.this_update);
    ks_ev_time(ev, "next_update", a.next_update);
    ks_ev_time(ev, "produced_at", a.produced_at);
    if (a.status == V_OCSP_CERTSTATUS_GOOD)
        rv->established[d] = 1;
    else if (a.status == V_OCSP_CERTSTATUS_REVOKED)
        ks_ev_revoked(rv, d, a.revocation_time, a.reason >= 0 ? a.reason : CRL_REASON_UNSPECIFIED);
done:
    if (err[0] != '\0') {
        char msg[512];
        snprintf(msg, sizeof msg, "OCSP %s: %s", url, err);
        cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(ev, "errors"), cJSON_CreateString(msg));
    }
    ERR_clear_error();
    OPENSSL_free(der);
    free(body);
    free(url);
    OCSP_REQUEST_free(req);
    OCSP_CERTID_free(id);
}

/* ---------------- the whole check ---------------- */

static int ks_all_established(const ks_rev *rv)
{
    for (int d = 0; d < rv->n - 1; d++)
        if (!rv->established[d])
            return 0;
    return 1;
}

static void ks_ocsp_all(ks_rev *rv)
{
    for (int d = 0; d < rv->n - 1 && rv->revoked_depth < 0; d++)
        if (!rv->established[d])
            ks_ocsp_step(rv, d);
}

void ks_revocation_check(ks_ctx *ctx, const ks_path_input *in, time_t at, const time_t *claimed,
                         STACK_OF(X509) *chain, ks_status *st, cJSON *evidence, cJSON *obj)
{
    ks_rev rv = {.ctx = ctx, .in = in, .at = at, .chain = chain, .n = sk_X509_num(chain), .revoked_depth = -1};
    if (ctx->rev.mode == KS_REV_OFF) {
        ks_verdict_warn(obj, "REVOCATION_NOT_CHECKED", "Revocation was not checked (policy: off).",
                        "失効確認は行っていません（ポリシー: off）。");
        return;
    }
    if (rv.n < 1 || rv.n > KS_REV_MAX_DEPTH) {
        ks_status_set(st, KS_INDETERMINATE, KS_SUB_TRY_LATER, "path too long for revocation checking");
        return;
    }
    /* The anchor is trusted by configuration (RFC 5280 6.1: not checked). */
    rv.established[rv.n - 1] = 1;
    for (int d = 0; d < rv.n - 1; d++) {
        X509 *x = sk_X509_value(chain, d);
        cJSON *ev = cJSON_CreateObject();
        char *subj = ks_name_string(X509_get_subject_name(x));
        BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
        char *serial = bn ? BN_bn2hex(bn) : NULL;
        if (ev != NULL) {
            cJSON_AddNumberToObject(ev, "depth", d);
            cJSON_AddStringToObject(ev, "subject", subj ? subj : "");
            cJSON_AddStringToObject(ev, "serial", serial ? serial : "");
            cJSON_AddStringToObject(ev, "status", "unavailable");
            cJSON_AddNullToObject(ev, "source");
            cJSON_AddArrayToObject(ev, "errors");
            cJSON_AddItemToArray(evidence, ev);
        }
        rv.ev[d] = ev;
        free(subj);
        OPENSSL_free(serial);
        BN_free(bn);
        if (ev == NULL) {
            ks_status_set(st, KS_INDETERMINATE, KS_SUB_TRY_LATER, "out of memory");
            return;
        }
    }
    if (ctx->rev.prefer_crl) {
        ks_crl_step(&rv);
        if (rv.revoked_depth < 0 && !rv.have_crl_failure)
            ks_ocsp_all(&rv);
    } else {
        ks_ocsp_all(&rv);
        if (rv.revoked_depth < 0 && !ks_all_established(&rv))
            ks_crl_step(&rv);
    }

    char detail[256];
    if (rv.revoked_depth >= 0) {
        /* ETSI EN 319 102-1 5.2.5: revoked after the claimed signing time
         * (which nothing proves) is REVOKED_NO_POE. */
        int no_poe = claimed != NULL && *claimed < rv.revocation_time;
        snprintf(detail, sizeof detail, "certificate at depth %d revoked (%s)", rv.revoked_depth,
                 ks_crl_reason_name(rv.reason) ? ks_crl_reason_name(rv.reason) : "unspecified");
        ks_status_set(st, no_poe ? KS_INDETERMINATE : KS_TOTAL_FAILED, no_poe ? KS_SUB_REVOKED_NO_POE : KS_SUB_REVOKED,
                      detail);
        st->rev_reason = rv.reason;
    } else if (rv.have_crl_failure) {
        ks_status_set(st, rv.crl_failure.indication, rv.crl_failure.sub, rv.crl_failure.detail);
    } else if (!ks_all_established(&rv)) {
        int d = 0;
        while (rv.established[d])
            d++;
        snprintf(detail, sizeof detail, "no fresh revocation status for the certificate at depth %d", d);
        if (ctx->rev.mode == KS_REV_SOFT_FAIL)
            ks_verdict_warn(obj, "REVOCATION_UNAVAILABLE",
                            "The revocation status was unavailable; the soft-fail policy accepted the certificate "
                            "without it.",
                            "失効状況を確認できませんでしたが、soft-fail ポリシーにより失効確認なしで受け入れました。");
        else
            ks_status_set(st, KS_INDETERMINATE, KS_SUB_TRY_LATER, detail);
    }
    for (size_t i = 0; i < rv.ncrls; i++)
        X509_CRL_free(rv.crls[i].crl);
    free(rv.crls);
    ks_path_result_clear(&rv.crl_failure);
    ERR_clear_error();
}

ks_result ks_ocsp_verify_response(ks_ctx *ctx, const uint8_t *der, size_t len, X509 *cert, X509 *issuer, time_t at,
                                  int *status, char *err, size_t errlen)
{
    ks_rev rv = {.ctx = ctx, .at = at, .revoked_depth = -1};
    ks_ocsp_answer a;
    ks_result r = ks_ocsp_check(&rv, der, len, cert, issuer, NULL, &a, err, errlen);
    *status = r == KS_OK ? a.status : -1;
    return r;
}
