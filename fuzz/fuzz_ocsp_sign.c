/*
 * fuzz/fuzz_ocsp_sign.c - OCSP past the signature: the input is not DER but
 * a recipe (a fixed layout of bytes read through a cursor) for a response
 * the harness builds with OpenSSL's encoders and SIGNS with a key the
 * configuration trusts, so every input reaches what comes after the
 * signature check: responder authorisation and validity, CertID matching,
 * several SingleResponses, thisUpdate / nextUpdate / producedAt against the
 * validation time, the clock skew and the maximum age, critical extensions.
 *
 * The recipe picks: the signer (the CA itself, delegated responders valid,
 * expired or not yet valid, without id-kp-OCSPSigning, issued by another
 * CA), whether its certificate travels in the response, the CertID hash and
 * whether it names our certificate, 1-3 SingleResponses with status, times
 * and reason, producedAt (set back or forward by re-signing the encoded
 * tbsResponseData), the signature digest, a nonce, an unknown critical
 * extension, the validation time and one of four policies (clock_skew_s,
 * ocsp_max_age_s, 0 among them).
 *
 * Differential oracle (issue: kensho may be stricter than OpenSSL, never
 * looser): whenever ks_ocsp_check answers "good", OpenSSL must agree that
 *   - OCSP_basic_verify (without OCSP_NOVERIFY) with the issuing CA as the
 *     only trust anchor and the store's time set to the validation time
 *     accepts the signature and the responder (RFC 6960 4.2.2.2);
 *   - some SingleResponse carries exactly our CertID, and none with our
 *     CertID says revoked or unknown;
 *   - every such SingleResponse is current at the validation time within
 *     the skew and the maximum age (what OCSP_check_validity checks, here
 *     against the injected time instead of the wall clock);
 *   - producedAt is not before thisUpdate nor after the validation time
 *     (with the skew), and the responder was valid at producedAt too;
 *   - no critical extension is one kensho does not know.
 * A disagreement aborts with the rule that failed.
 *
 * Then the same answer goes through verify/revoke.c's ks_revocation_check
 * (issue #25), as the revocation evidence of a validated path (the leaf,
 * its CA), after 0-2 earlier answers about the same certificate that kensho
 * saw first (good, revoked, on hold, unknown; older or newer; embedded or
 * fetched), so the cache, the rollback record and the freshness rules are
 * fuzzed together.  The trailing bytes of the recipe choose the route
 * (embedded in the signed object, fetched from the responder, embedded
 * with a proof of existence, embedded then fetched), the fetched answer's
 * nonce (echoed, absent, wrong) and revocation.ocsp_nonce, the CertID hash
 * kensho asks with, and whether the CA's CRL is configured (it vouches for
 * a responder without id-pkix-ocsp-nocheck).  Nothing reaches the network:
 * ks_http_fetch is replaced by a fake responder that builds the answer
 * from the recipe for each request.  Oracle: a "good" it reports must come
 * from an answer the harness gave, pass the second opinion at the time it
 * was used for, obey the nonce rule, and not go back on an answer kensho
 * accepted before (fz_oracle).
 */
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

/* verify/fetch.c is compiled into the harness with its ks_http_fetch
 * renamed, so that verify/ocsp.c's fetches reach the fake responder below
 * (fz_http_fetch) instead of the network; every other symbol of fetch.c is
 * the library's own, and the archive's fetch.o is then never linked. */
#define ks_http_fetch ks_http_fetch_net
#include "fetch.c"
#undef ks_http_fetch

#include "fuzz.h"
#include "internal.h"

#define FZ_HOUR 3600L
#define FZ_DAY (24 * FZ_HOUR)

/* ---------------- the world: CA, responders, policies ---------------- */

typedef struct {
    const char *name;
    X509 *cert;
    EVP_PKEY *key;
} fz_signer;

/* clock_skew_s and ocsp_max_age_s (0: none, nextUpdate alone decides) */
enum { FZ_POLICIES = 4 };
static const struct {
    int skew, max_age;
} fz_policy[FZ_POLICIES] = {{0, 3600}, {300, 7 * 86400}, {60, 86400}, {30, 0}};

/* The responder kensho fetches from (revocation_sources); only this URL
 * is under allow_urls, and only the fake responder answers it. */
#define FZ_OCSP_URL "http://127.0.0.1:9/ocsp"

/* Two contexts, without and with a local CRL of the CA (which may vouch
 * for a responder without id-pkix-ocsp-nocheck, and may give the leaf a
 * status when OCSP fails); the recipe sets the revocation policy in them
 * (ctx->rev) before each input, and the cache and the rollback record are
 * emptied before each input so that runs replay. */
static ks_ctx *ctxs[2];
static X509 *issuer, *other_ca, *leaf;
static STACK_OF(X509) *chain;
static ASN1_INTEGER *serial, *other_serial;
static fz_signer signers[10];
static int nsigners;
static X509_STORE *store;

static void fz_ext(X509 *x, X509 *iss, int nid, const char *value)
{
    X509V3_CTX v3;
    X509V3_set_ctx(&v3, iss, x, NULL, NULL, 0);
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
    if (e == NULL || X509_add_ext(x, e, -1) != 1)
        fz_die("extension", value);
    X509_EXTENSION_free(e);
}

/* A responder certificate issued by `ca` (key `cakey`), valid from
 * now + from to now + to, with or without id-kp-OCSPSigning and
 * id-pkix-ocsp-nocheck; P-256 keys so each input signs fast. */
static void fz_add_responder(const char *name, X509 *ca, EVP_PKEY *cakey, long from, long to, int ocsp_eku, int nocheck)
{
    X509 *x = X509_new();
    EVP_PKEY *k = EVP_EC_gen("P-256");
    X509_NAME *n = X509_NAME_new();
    if (x == NULL || k == NULL || n == NULL ||
        X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)name, -1, -1, 0) != 1 ||
        X509_set_version(x, 2) != 1 || ASN1_INTEGER_set(X509_get_serialNumber(x), 1000 + nsigners) != 1 ||
        X509_set_subject_name(x, n) != 1 || X509_set_issuer_name(x, X509_get_subject_name(ca)) != 1 ||
        X509_time_adj_ex(X509_getm_notBefore(x), 0, from, &fz_now) == NULL ||
        X509_time_adj_ex(X509_getm_notAfter(x), 0, to, &fz_now) == NULL || X509_set_pubkey(x, k) != 1)
        fz_die("responder", name);
    fz_ext(x, ca, NID_key_usage, "critical,digitalSignature");
    if (ocsp_eku)
        fz_ext(x, ca, NID_ext_key_usage, "OCSPSigning");
    if (nocheck)
        fz_ext(x, ca, NID_id_pkix_OCSP_noCheck, "ignored");
    if (X509_sign(x, cakey, EVP_sha256()) <= 0)
        fz_die("responder", "sign");
    X509_NAME_free(n);
    signers[nsigners++] = (fz_signer){name, x, k};
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    /* The cache without background refreshes (no threads: runs replay) and
     * without remembered failures (each step of an input asks again). */
    for (int i = 0; i < 2; i++) {
        char extra[2048];
        snprintf(extra, sizeof extra,
                 ", \"revocation_sources\": [{\"issuer\": \"%s/pref-ca-self.pem\", \"ocsp\": \"%s\"}],"
                 " \"cache\": {\"refresh_ahead_s\": 0, \"negative_ttl_s\": 0}%s%s%s",
                 fz_pki_dir(), FZ_OCSP_URL, i ? ", \"crls\": [\"" : "", i ? fz_pki_dir() : "", i ? "/pref-ca.crl\"]" : "");
        ctxs[i] = fz_ctx_load("{\"mode\": \"require\", \"allow_urls\": [\"http://127.0.0.1:9/\"]}", extra);
    }
    issuer = fz_read_pem("pref-ca-self.pem");
    other_ca = fz_read_pem("rogue-ca.pem");
    EVP_PKEY *cakey = fz_read_key("pref-ca.key"), *roguekey = fz_read_key("rogue-ca.key");
    leaf = fz_read_pem("citizen-rsa.pem");
    serial = ASN1_INTEGER_dup(X509_get0_serialNumber(leaf));
    other_serial = ASN1_INTEGER_new();
    if (serial == NULL || other_serial == NULL || ASN1_INTEGER_set(other_serial, 424242) != 1 ||
        X509_up_ref(issuer) != 1 || EVP_PKEY_up_ref(cakey) != 1 || (chain = sk_X509_new_null()) == NULL ||
        !sk_X509_push(chain, leaf) || !sk_X509_push(chain, issuer))
        fz_die("init", "out of memory");
    signers[nsigners++] = (fz_signer){"the CA", issuer, cakey};
    fz_add_responder("delegated, valid", issuer, cakey, -30 * FZ_DAY, 365 * FZ_DAY, 1, 1);
    fz_add_responder("delegated, expired two years ago", issuer, cakey, -1200 * FZ_DAY, -730 * FZ_DAY, 1, 1);
    fz_add_responder("delegated, expires in an hour", issuer, cakey, -30 * FZ_DAY, FZ_HOUR, 1, 1);
    fz_add_responder("delegated, valid from tomorrow", issuer, cakey, FZ_DAY, 365 * FZ_DAY, 1, 1);
    fz_add_responder("delegated, no OCSPSigning", issuer, cakey, -30 * FZ_DAY, 365 * FZ_DAY, 0, 1);
    fz_add_responder("delegated by another CA", other_ca, roguekey, -30 * FZ_DAY, 365 * FZ_DAY, 1, 1);
    /* RFC 6960 4.2.2.2.1: without id-pkix-ocsp-nocheck only the context
     * with the CA's CRL (which does not list it) can use its answers. */
    fz_add_responder("delegated, no ocsp-nocheck", issuer, cakey, -30 * FZ_DAY, 365 * FZ_DAY, 1, 0);
    fz_add_responder("delegated, neither OCSPSigning nor ocsp-nocheck", issuer, cakey, -30 * FZ_DAY, 365 * FZ_DAY, 0, 0);
    EVP_PKEY_free(roguekey);
    EVP_PKEY_free(cakey);
    /* Deliberate: a response may carry SingleResponses about other CAs'
     * certificates next to ours, which kensho ignores (only our CertID
     * counts).  OpenSSL then wants the root trusted for OCSP signing
     * (ocsp_check_issuer's "IDs differ" case), so the anchor says so. */
    X509 *anchor = X509_dup(issuer);
    if ((store = X509_STORE_new()) == NULL || anchor == NULL ||
        X509_add1_trust_object(anchor, OBJ_nid2obj(NID_OCSP_sign)) != 1 || X509_STORE_add_cert(store, anchor) != 1)
        fz_die("store", "out of memory");
    X509_free(anchor);
    return 0;
}

/* ---------------- building a response from the recipe ---------------- */

typedef struct {
    time_t at, produced;
    int policy;
    int nonce, crit_ext;
    int n_single;
    struct {
        int ours; /* the CertID names our certificate */
        int status, reason;
        time_t this_update, next_update, revoked;
        int has_next;
    } single[3];
} fz_recipe;

static OCSP_CERTID *fz_certid(const EVP_MD *md, int variant)
{
    /* 0: ours; 1: another serial; 2: our serial under another issuer */
    X509 *iss = variant == 2 ? other_ca : issuer;
    return OCSP_cert_id_new(md, X509_get_subject_name(iss), X509_get0_pubkey_bitstr(iss),
                            variant == 1 ? other_serial : serial);
}

/* producedAt as OpenSSL wrote it (the wall clock) is replaced by the
 * recipe's, in place in the encoded tbsResponseData, which is then signed
 * again: the only way to choose it through OpenSSL's public API. */
static unsigned char *fz_resign(OCSP_BASICRESP *bs, EVP_PKEY *key, const EVP_MD *md, time_t produced, long *outlen)
{
    unsigned char *der = NULL, *out = NULL, *tbs_sig = NULL;
    ASN1_GENERALIZEDTIME *want = ASN1_GENERALIZEDTIME_set(NULL, produced);
    const ASN1_GENERALIZEDTIME *have = OCSP_resp_get0_produced_at(bs);
    EVP_MD_CTX *mctx = EVP_MD_CTX_new();
    int len = i2d_OCSP_BASICRESP(bs, &der);
    long hl, tl, rest;
    int tag, cls;
    const unsigned char *p = der, *tbs, *after;
    size_t siglen = 0;
    if (len <= 0 || want == NULL || mctx == NULL || ASN1_STRING_length(have) != ASN1_STRING_length(want))
        goto done;
    /* BasicOCSPResponse ::= SEQUENCE { tbsResponseData, signatureAlgorithm,
     * signature BIT STRING, certs [0] EXPLICIT ... OPTIONAL } */
    if (ASN1_get_object(&p, &hl, &tag, &cls, len) & 0x80)
        goto done;
    tbs = p;
    if (ASN1_get_object(&p, &tl, &tag, &cls, len - (p - der)) & 0x80)
        goto done;
    p += tl;
    long tbslen = (long)(p - tbs);
    unsigned char *t = (unsigned char *)tbs;
    const unsigned char *old = ASN1_STRING_get0_data(have);
    int olen = ASN1_STRING_length(have);
    for (long i = 0; i + olen <= tbslen; i++)
        if (memcmp(t + i, old, (size_t)olen) == 0 && i >= 2 && t[i - 2] == V_ASN1_GENERALIZEDTIME) {
            memcpy(t + i, ASN1_STRING_get0_data(want), (size_t)olen);
            break;
        }
    const unsigned char *alg = p;
    if (ASN1_get_object(&p, &tl, &tag, &cls, len - (p - der)) & 0x80)
        goto done;
    p += tl;
    long alglen = (long)(p - alg);
    if (ASN1_get_object(&p, &tl, &tag, &cls, len - (p - der)) & 0x80 || tag != V_ASN1_BIT_STRING)
        goto done;
    after = p + tl;
    rest = (long)(der + len - after);
    if (EVP_DigestSignInit(mctx, NULL, md, NULL, key) != 1 ||
        EVP_DigestSign(mctx, NULL, &siglen, tbs, (size_t)tbslen) != 1 || (tbs_sig = OPENSSL_malloc(siglen)) == NULL ||
        EVP_DigestSign(mctx, tbs_sig, &siglen, tbs, (size_t)tbslen) != 1)
        goto done;
    long bitlen = (long)siglen + 1;
    long body = tbslen + alglen + ASN1_object_size(0, bitlen, V_ASN1_BIT_STRING) + rest;
    long total = ASN1_object_size(1, body, V_ASN1_SEQUENCE);
    if ((out = OPENSSL_malloc((size_t)total)) == NULL)
        goto done;
    unsigned char *w = out;
    ASN1_put_object(&w, 1, body, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL);
    memcpy(w, tbs, (size_t)tbslen);
    w += tbslen;
    memcpy(w, alg, (size_t)alglen);
    w += alglen;
    ASN1_put_object(&w, 0, bitlen, V_ASN1_BIT_STRING, V_ASN1_UNIVERSAL);
    *w++ = 0; /* no unused bits */
    memcpy(w, tbs_sig, siglen);
    w += siglen;
    memcpy(w, after, (size_t)rest);
    *outlen = total;
done:
    OPENSSL_free(tbs_sig);
    OPENSSL_free(der);
    EVP_MD_CTX_free(mctx);
    ASN1_GENERALIZEDTIME_free(want);
    return out;
}

/* The nonce of a fetched answer (RFC 6960 4.4.1), as the fake responder
 * is told to give it. */
enum { FZ_NONCE_ECHO, FZ_NONCE_ABSENT, FZ_NONCE_WRONG, FZ_NONCE_EMBEDDED };

/* The whole OCSPResponse DER, or NULL when OpenSSL refused to build it.
 * `req`: the request it answers (the fake responder), whose nonce it
 * echoes, leaves out or replaces as `nonce` says; NULL: an embedded
 * answer, with a nonce of its own when the recipe says so. */
static unsigned char *fz_build(fz_in *in, fz_recipe *rc, const fz_signer **signer_out, int *len, OCSP_REQUEST *req,
                               int nonce)
{
    unsigned char *der = NULL, *basic_der = NULL;
    OCSP_BASICRESP *bs = OCSP_BASICRESP_new(), *bs2 = NULL;
    OCSP_RESPONSE *resp = NULL;
    const fz_signer *sg = &signers[fz_u8(in) % (unsigned)nsigners];
    unsigned flags = fz_u8(in);
    const EVP_MD *cid_md = (flags & 1) ? EVP_sha256() : EVP_sha1();
    const EVP_MD *sig_md = (flags & 2) ? EVP_sha1() : EVP_sha256();
    int include_cert = !(flags & 4);
    rc->nonce = (flags & 8) != 0;
    rc->crit_ext = (flags & 16) != 0;
    rc->policy = (int)(((flags >> 5) & 3) % FZ_POLICIES);
    rc->at = fz_now + fz_s16(in) * 60;
    /* minutes, or hours: far enough back to reach a responder that
     * expired years ago */
    rc->produced = rc->at + fz_s16(in) * ((flags & 0x80) ? FZ_HOUR : 60);
    rc->n_single = 1 + (int)(fz_u8(in) % 3);
    *signer_out = sg;
    if (bs == NULL)
        goto done;
    for (int i = 0; i < rc->n_single; i++) {
        unsigned b = fz_u8(in);
        int variant = (int)(b % 3);
        rc->single[i].ours = variant == 0;
        rc->single[i].status = (int)((b >> 2) % 3);
        rc->single[i].reason = (int)(fz_u8(in) % 11);
        rc->single[i].this_update = rc->at + fz_s16(in) * 60;
        rc->single[i].has_next = (b & 0x80) == 0;
        rc->single[i].next_update = rc->single[i].this_update + fz_s16(in) * 60;
        rc->single[i].revoked = rc->single[i].this_update - (long)fz_u8(in) * FZ_HOUR;
        ASN1_TIME *tu = ASN1_GENERALIZEDTIME_set(NULL, rc->single[i].this_update);
        ASN1_TIME *nu = rc->single[i].has_next ? ASN1_GENERALIZEDTIME_set(NULL, rc->single[i].next_update) : NULL;
        ASN1_TIME *rt = ASN1_GENERALIZEDTIME_set(NULL, rc->single[i].revoked);
        OCSP_CERTID *cid = fz_certid(cid_md, variant);
        OCSP_SINGLERESP *sr =
            cid && tu && rt ? OCSP_basic_add1_status(bs, cid, rc->single[i].status, rc->single[i].reason, rt, tu, nu)
                            : NULL;
        if (sr != NULL && rc->crit_ext && i == 0) {
            /* an extension nobody knows, marked critical (RFC 6960 4.4) */
            ASN1_OCTET_STRING *v = ASN1_OCTET_STRING_new();
            ASN1_OBJECT *o = OBJ_txt2obj("1.3.6.1.4.1.99999.1", 1);
            X509_EXTENSION *e = v && o && ASN1_OCTET_STRING_set(v, (const unsigned char *)"\x05\x00", 2) == 1
                                    ? X509_EXTENSION_create_by_OBJ(NULL, o, 1, v)
                                    : NULL;
            if (e == NULL || OCSP_SINGLERESP_add_ext(sr, e, -1) != 1)
                sr = NULL;
            X509_EXTENSION_free(e);
            ASN1_OBJECT_free(o);
            ASN1_OCTET_STRING_free(v);
        }
        OCSP_CERTID_free(cid);
        ASN1_TIME_free(tu);
        ASN1_TIME_free(nu);
        ASN1_TIME_free(rt);
        if (sr == NULL)
            goto done;
    }
    if (req != NULL && nonce == FZ_NONCE_ECHO && OCSP_copy_nonce(bs, req) <= 0)
        goto done;
    if ((req != NULL ? nonce == FZ_NONCE_WRONG : rc->nonce) && OCSP_basic_add1_nonce(bs, NULL, 16) != 1)
        goto done;
    if (OCSP_basic_sign(bs, sg->cert, sg->key, sig_md, NULL, include_cert ? 0 : OCSP_NOCERTS) != 1)
        goto done;
    long blen = 0;
    if ((basic_der = fz_resign(bs, sg->key, sig_md, rc->produced, &blen)) == NULL)
        goto done;
    const unsigned char *q = basic_der;
    if ((bs2 = d2i_OCSP_BASICRESP(NULL, &q, blen)) == NULL ||
        (resp = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, bs2)) == NULL || (*len = i2d_OCSP_RESPONSE(resp, &der)) <= 0) {
        OPENSSL_free(der);
        der = NULL;
    }
done:
    ERR_clear_error();
    OPENSSL_free(basic_der);
    OCSP_RESPONSE_free(resp);
    OCSP_BASICRESP_free(bs2);
    OCSP_BASICRESP_free(bs);
    return der;
}

/* ---------------- the second opinion ---------------- */

static int fz_valid_at(X509 *x, time_t t)
{
    return X509_cmp_time(X509_get0_notBefore(x), &t) <= 0 && X509_cmp_time(X509_get0_notAfter(x), &t) >= 0;
}

/* Why OpenSSL (and the RFC's plain arithmetic) would not call this "good";
 * NULL when it would. */
static const char *fz_second_opinion(const unsigned char *der, int len, const fz_recipe *rc)
{
    const char *why = NULL;
    const unsigned char *p = der;
    OCSP_RESPONSE *resp = d2i_OCSP_RESPONSE(NULL, &p, len);
    OCSP_BASICRESP *bs = resp ? OCSP_response_get1_basic(resp) : NULL;
    STACK_OF(X509) *extra = sk_X509_new_null();
    X509 *rsigner = NULL;
    X509_VERIFY_PARAM *vp = X509_STORE_get0_param(store);
    int skew = fz_policy[rc->policy].skew, max_age = fz_policy[rc->policy].max_age;
    if (bs == NULL || extra == NULL || !sk_X509_push(extra, issuer)) {
        why = "OpenSSL cannot decode it";
        goto done;
    }
    X509_VERIFY_PARAM_set_time(vp, rc->at);
    if (OCSP_basic_verify(bs, extra, store, 0) != 1) {
        why = "OCSP_basic_verify (signature, responder chain and authorisation at the validation time)";
        goto done;
    }
    if (OCSP_resp_get0_signer(bs, &rsigner, extra) != 1 || !fz_valid_at(rsigner, rc->produced)) {
        why = "the responder was not valid at producedAt";
        goto done;
    }
    OCSP_CERTID *mine = fz_certid(EVP_sha1(), 0), *mine256 = fz_certid(EVP_sha256(), 0);
    int matched = 0;
    for (int i = 0; i < OCSP_resp_count(bs) && why == NULL; i++) {
        OCSP_SINGLERESP *sr = OCSP_resp_get0(bs, i);
        const OCSP_CERTID *cid = OCSP_SINGLERESP_get0_id(sr);
        if (OCSP_id_cmp(mine, cid) != 0 && OCSP_id_cmp(mine256, cid) != 0)
            continue;
        matched = 1;
        int reason;
        ASN1_GENERALIZEDTIME *rev, *tu, *nu;
        int st = OCSP_single_get0_status(sr, &reason, &rev, &tu, &nu);
        time_t t_this = 0, t_next = 0;
        if (st != V_OCSP_CERTSTATUS_GOOD)
            why = "a SingleResponse for our CertID says revoked or unknown";
        else if (tu == NULL || !ks_asn1_time_to_time_t(tu, &t_this) || t_this > rc->at + skew)
            why = "thisUpdate is after the validation time";
        else if (nu != NULL && (!ks_asn1_time_to_time_t(nu, &t_next) || t_next < rc->at - skew))
            why = "nextUpdate is before the validation time";
        else if (nu != NULL && t_next < t_this)
            why = "nextUpdate is before thisUpdate";
        /* Deliberate strictness not checked here: an answer without
         * nextUpdate serves kensho for ocsp_max_age_s, or 300 s without one
         * (RFC 6960 4.2.2.1: newer information is always available). */
        else if (max_age > 0 && rc->at - t_this > max_age + skew)
            why = "older than the maximum age";
        else if (rc->produced < t_this - skew)
            why = "producedAt is before thisUpdate";
        else if (OCSP_SINGLERESP_get_ext_count(sr) > 0 &&
                 X509_EXTENSION_get_critical(OCSP_SINGLERESP_get_ext(sr, 0)) > 0)
            why = "an unknown critical single extension";
    }
    OCSP_CERTID_free(mine);
    OCSP_CERTID_free(mine256);
    if (why == NULL && !matched)
        why = "no SingleResponse carries our CertID";
    if (why == NULL && rc->produced > rc->at + skew)
        why = "producedAt is after the validation time";
done:
    ERR_clear_error();
    sk_X509_free(extra);
    OCSP_BASICRESP_free(bs);
    OCSP_RESPONSE_free(resp);
    return why;
}

/* ---------------- through verify/revoke.c ---------------- */

/* Every answer the harness handed kensho in this input (embedded in the
 * "message", or served by the fake responder), to find the one a verdict
 * reports. */
typedef struct {
    unsigned char *der;
    int len;
    fz_recipe rc;
    int nonce; /* FZ_NONCE_*: how it was given */
} fz_given;

enum { FZ_MAX_GIVEN = 16 };
static fz_given given[FZ_MAX_GIVEN];
static int ngiven;

/* What the fake responder answers with: a recipe, built again for each
 * request (so the nonce can be the request's). */
static struct {
    int on;
    fz_in recipe;
    int nonce;
} fz_serve;

static void fz_give(unsigned char *der, int len, const fz_recipe *rc, int nonce)
{
    if (ngiven == FZ_MAX_GIVEN) {
        OPENSSL_free(der); /* more than the oracle can follow: never reported */
        return;
    }
    given[ngiven++] = (fz_given){der, len, *rc, nonce};
}

ks_result ks_http_fetch(const ks_ctx *c, const char *url, const uint8_t *body, size_t bodylen,
                        const char *content_type, const char *expected_type, uint8_t **out, size_t *outlen,
                        char *err, size_t errlen);
ks_result ks_http_fetch(const ks_ctx *c, const char *url, const uint8_t *body, size_t bodylen,
                        const char *content_type, const char *expected_type, uint8_t **out, size_t *outlen,
                        char *err, size_t errlen)
{
    (void)c;
    (void)content_type;
    (void)expected_type;
    ks_result r = KS_E_UNAVAILABLE;
    const unsigned char *p = body;
    OCSP_REQUEST *req = NULL;
    *out = NULL;
    *outlen = 0;
    if (!fz_serve.on || strcmp(url, FZ_OCSP_URL) != 0 || body == NULL || bodylen > LONG_MAX ||
        (req = d2i_OCSP_REQUEST(NULL, &p, (long)bodylen)) == NULL) {
        snprintf(err, errlen, "cannot connect");
        goto done;
    }
    fz_in in = fz_serve.recipe;
    fz_recipe rc;
    const fz_signer *sg = NULL;
    int len = 0;
    memset(&rc, 0, sizeof rc);
    unsigned char *der = fz_build(&in, &rc, &sg, &len, req, fz_serve.nonce);
    if (der == NULL) {
        snprintf(err, errlen, "responder failed");
        goto done;
    }
    if ((*out = malloc((size_t)len)) == NULL) {
        OPENSSL_free(der);
        r = KS_E_NOMEM;
        goto done;
    }
    memcpy(*out, der, (size_t)len);
    *outlen = (size_t)len;
    fz_give(der, len, &rc, fz_serve.nonce);
    r = KS_OK;
done:
    OCSP_REQUEST_free(req);
    ERR_clear_error();
    return r;
}

/* What a ks_revocation_check said about the leaf (depth 0). */
typedef struct {
    int passed;      /* TOTAL_PASSED */
    char status[16]; /* "good", "revoked", "unknown", "unavailable" */
    char source[8];  /* "ocsp", "crl" */
    char from[16];   /* "message", "network", "memory" */
    char reason[32];
    char this_update[40], produced_at[40];
    int at_poe;
} fz_seen;

static void fz_str(const cJSON *o, const char *k, char *buf, size_t len)
{
    const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, k));
    snprintf(buf, len, "%s", v ? v : "");
}

/* One ks_revocation_check of the leaf (path: leaf, CA) at `at`, with
 * `emb` as the OCSP responses the signed object carries. */
static void fz_step(ks_ctx *c, time_t at, const time_t *poe, const fz_given *emb, fz_seen *out)
{
    ks_blob b = {.data = emb ? emb->der : NULL, .len = emb ? (size_t)emb->len : 0};
    ks_path_input pin = {.ocsps = emb ? &b : NULL, .n_ocsps = emb ? 1 : 0};
    cJSON *evidence = cJSON_CreateArray(), *obj = cJSON_CreateObject();
    ks_status st;
    memset(out, 0, sizeof *out);
    if (evidence == NULL || obj == NULL)
        fz_die("step", "out of memory");
    ks_status_set(&st, KS_TOTAL_PASSED, KS_SUB_NONE, NULL);
    ks_result r = ks_revocation_check(c, &pin, at, NULL, poe, chain, &st, evidence, obj);
    if (r != KS_OK)
        fz_die("ks_revocation_check", "failed");
    cJSON *ev = cJSON_GetArrayItem(evidence, 0);
    out->passed = st.indication == KS_TOTAL_PASSED;
    fz_str(ev, "status", out->status, sizeof out->status);
    fz_str(ev, "source", out->source, sizeof out->source);
    fz_str(ev, "from", out->from, sizeof out->from);
    fz_str(ev, "reason", out->reason, sizeof out->reason);
    fz_str(ev, "this_update", out->this_update, sizeof out->this_update);
    fz_str(ev, "produced_at", out->produced_at, sizeof out->produced_at);
    out->at_poe = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ev, "at_poe"));
    /* A "good" leaf and a verdict that did not pass, or the reverse: the
     * two halves of one answer disagree. */
    if (out->passed != (strcmp(out->status, "good") == 0 || (strcmp(out->status, "revoked") == 0 &&
                                                              cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ev, "after_poe")))))
        fz_die("ks_revocation_check", "the indication and the evidence disagree");
    cJSON_Delete(evidence);
    cJSON_Delete(obj);
}

/* What the recipe of a prior answer looks like as a full recipe (the
 * layout fz_build reads): signer, flags, validation time, producedAt = the
 * validation time, one SingleResponse about our certificate. */
static size_t fz_prior_recipe(uint8_t out[16], unsigned p0, long this_min, unsigned span10, long at_min)
{
    static const int st[4] = {V_OCSP_CERTSTATUS_GOOD, V_OCSP_CERTSTATUS_REVOKED, V_OCSP_CERTSTATUS_REVOKED,
                              V_OCSP_CERTSTATUS_UNKNOWN};
    static const int why[4] = {0, OCSP_REVOKED_STATUS_KEYCOMPROMISE, OCSP_REVOKED_STATUS_CERTIFICATEHOLD, 0};
    long next_min = (long)span10 * 10;
    size_t n = 0;
    out[n++] = (uint8_t)((p0 >> 3) & 7);  /* signer */
    out[n++] = (uint8_t)((p0 & 0x40) ? 1 : 0); /* CertID hash */
    out[n++] = (uint8_t)((uint16_t)at_min >> 8);
    out[n++] = (uint8_t)at_min;
    out[n++] = 0; /* producedAt = the validation time */
    out[n++] = 0;
    out[n++] = 0; /* one SingleResponse */
    /* fz_build reads the CertID variant as b % 3 and the status as
     * (b >> 2) % 3: the first byte that says ours, this status and this
     * nextUpdate */
    unsigned b = 0;
    while (b % 3 != 0 || (int)((b >> 2) % 3) != st[p0 & 3] || ((b & 0x80) != 0) != (span10 == 0))
        b++;
    out[n++] = (uint8_t)b;
    out[n++] = (uint8_t)why[p0 & 3];
    out[n++] = (uint8_t)((uint16_t)this_min >> 8);
    out[n++] = (uint8_t)this_min;
    out[n++] = (uint8_t)((uint16_t)next_min >> 8);
    out[n++] = (uint8_t)next_min;
    out[n++] = 1; /* revoked an hour before thisUpdate */
    return n;
}

/*
 * The oracle for a "good" from ks_revocation_check: the answer it reports
 * (found by its thisUpdate and producedAt among those it was given) must
 * pass the second opinion at the time it was used for, with the nonce rule
 * of a fetched answer (RFC 6960 4.4.1: a nonce that is not the request's is
 * refused; none at all is refused with ocsp_nonce "require", or when no
 * ocsp_max_age_s bounds how long a replayed answer can serve); and at the
 * validation time (not a past POE) it must not go back on what kensho had
 * already accepted about the certificate: no thisUpdate older than one
 * seen (rollback), no "good" after a "revoked" other than certificateHold
 * (RFC 5280 5.3.1).
 */
static void fz_oracle(const ks_ctx *c, const fz_seen *fin, time_t at, const time_t *poe, int policy, time_t newest,
                      int sticky)
{
    time_t when = fin->at_poe && poe != NULL ? *poe : at;
    const char *why = "kensho reports an answer it was never given";
    for (int i = 0; i < ngiven && why != NULL; i++) {
        const fz_given *g = &given[i];
        char pa[40], tu[40];
        ks_time_format(g->rc.produced, pa, sizeof pa);
        if (strcmp(pa, fin->produced_at) != 0)
            continue;
        int named = 0;
        for (int k = 0; k < g->rc.n_single; k++) {
            ks_time_format(g->rc.single[k].this_update, tu, sizeof tu);
            named |= g->rc.single[k].ours && strcmp(tu, fin->this_update) == 0;
        }
        if (!named)
            continue;
        fz_recipe rc = g->rc;
        rc.at = when;
        rc.policy = policy;
        const char *w = fz_second_opinion(g->der, g->len, &rc);
        if (w == NULL && g->nonce == FZ_NONCE_WRONG && c->rev.ocsp_nonce != KS_NONCE_OFF)
            w = "a fetched answer whose nonce is not the request's";
        if (w == NULL && g->nonce == FZ_NONCE_ABSENT && c->rev.ocsp_nonce != KS_NONCE_OFF &&
            (c->rev.ocsp_nonce == KS_NONCE_REQUIRE || c->rev.ocsp_max_age_s == 0))
            w = "a fetched answer without a nonce (require, or no maximum age)";
        why = w;
    }
    time_t t = 0;
    if (why == NULL && !fin->at_poe && sticky)
        why = "good after the certificate was seen revoked (not on hold)";
    if (why == NULL && !fin->at_poe && (ks_time_parse(fin->this_update, &t) != KS_OK || t < newest))
        why = "an answer older than one already accepted (rollback)";
    if (why != NULL) {
        char msg[512];
        snprintf(msg, sizeof msg, "ks_revocation_check said good (from %s%s), but: %s", fin->from,
                 fin->at_poe ? ", at the POE" : "", why);
        fz_die("differential", msg);
    }
}

static void fz_reset(ks_ctx *c)
{
    ks_cache_purge(c->cache, NULL, NULL);
    c->cache_epoch = ks_cache_epoch(c->cache); /* as a reload does (config.c) */
    ks_registry *r = ks_registry_new(c->anchors, c->intermediates);
    if (r == NULL)
        fz_die("registry", "out of memory");
    ks_registry_free(c->registry);
    c->registry = r;
    for (int i = 0; i < ngiven; i++)
        OPENSSL_free(given[i].der);
    ngiven = 0;
    fz_serve.on = 0;
}

/*
 * After the recipe of the answer (fz_build), the revocation context:
 *   c0: bits 0-1 the route: 0 embedded in the signed object, 1 fetched
 *       from the responder, 2 embedded with a proof of existence at the
 *       recipe's validation time (ETSI EN 319 102-1 5.6.2.4; validated
 *       now), 3 embedded and, when refused, fetched; bits 2-3 the fetched
 *       answer's nonce (FZ_NONCE_ECHO, ABSENT, WRONG; 3 = echo); bits 4-5
 *       revocation.ocsp_nonce (true, false, "require", true); bit 6
 *       ocsp_certid_hash sha256; bit 7 the context with the CA's CRL;
 *   c1: how many answers about the certificate kensho saw before (0-2),
 *       each 4 bytes: p0 bits 0-1 good / revoked (keyCompromise) /
 *       revoked (certificateHold) / unknown, bit 2 fetched (else embedded),
 *       bits 3-5 the signer, bit 6 CertID over SHA-256; p1-p2 thisUpdate
 *       in minutes from the validation time; p3 nextUpdate in tens of
 *       minutes after it (0: none).
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_in in = {data, size};
    const fz_in start = in;
    fz_recipe rc;
    const fz_signer *sg = NULL;
    int len = 0;
    memset(&rc, 0, sizeof rc);
    unsigned char *der = fz_build(&in, &rc, &sg, &len, NULL, FZ_NONCE_EMBEDDED);
    if (der == NULL)
        return 0;
    unsigned c0 = fz_u8(&in), c1 = fz_u8(&in);
    int route = (int)(c0 & 3), nonce = (int)((c0 >> 2) & 3) % 3;
    static const ks_nonce_mode nonce_cfg[4] = {KS_NONCE_ON, KS_NONCE_OFF, KS_NONCE_REQUIRE, KS_NONCE_ON};
    ks_ctx *c = ctxs[c0 >> 7];
    fz_reset(c);
    c->rev.clock_skew_s = fz_policy[rc.policy].skew;
    c->rev.ocsp_max_age_s = fz_policy[rc.policy].max_age;
    c->rev.ocsp_nonce = nonce_cfg[(c0 >> 4) & 3];
    c->rev.ocsp_certid_sha256 = (c0 & 0x40) != 0;

    /* 1. ks_ocsp_check alone, against the second opinion */
    ks_ocsp_answer a;
    char err[KS_REV_ERRLEN];
    err[0] = '\0';
    ks_result r = ks_ocsp_check(c, rc.at, der, (size_t)len, issuer, serial, &a, err, sizeof err);
    if (r != KS_OK && err[0] == '\0')
        fz_die("ks_ocsp_check", "refused without a reason");
    if (r == KS_OK && a.status == V_OCSP_CERTSTATUS_GOOD) {
        const char *why = fz_second_opinion(der, len, &rc);
        if (why != NULL) {
            char msg[512];
            snprintf(msg, sizeof msg, "kensho said good, but: %s (signer: %s)", why, sg->name);
            fz_die("differential", msg);
        }
    }
    fz_give(der, len, &rc, FZ_NONCE_EMBEDDED);

    /* 2. the same answer through ks_revocation_check, after what kensho
     * saw before about the certificate (the cache, the rollback record) */
    time_t at = route == 2 ? fz_now : rc.at, poe = rc.at;
    long at_min = (long)((at - fz_now) / 60);
    time_t newest = 0;
    int sticky = 0;
    int nprior = (int)(c1 % 3);
    for (int k = 0; k < nprior; k++) {
        unsigned p0 = fz_u8(&in);
        long this_min = fz_s16(&in);
        unsigned span = fz_u8(&in);
        uint8_t pr[16];
        fz_in pin = {pr, fz_prior_recipe(pr, p0, this_min, span, at_min)};
        fz_seen seen;
        if (p0 & 4) {
            fz_serve.on = 1;
            fz_serve.recipe = pin;
            fz_serve.nonce = FZ_NONCE_ECHO;
            fz_step(c, at, NULL, NULL, &seen);
            fz_serve.on = 0;
        } else {
            fz_recipe prc;
            const fz_signer *psg = NULL;
            int plen = 0;
            memset(&prc, 0, sizeof prc);
            unsigned char *pder = fz_build(&pin, &prc, &psg, &plen, NULL, FZ_NONCE_EMBEDDED);
            if (pder == NULL)
                continue;
            fz_give(pder, plen, &prc, FZ_NONCE_EMBEDDED);
            fz_step(c, at, NULL, &given[ngiven - 1], &seen);
        }
        /* what kensho accepted is what it must not go back on */
        time_t t;
        if (strcmp(seen.source, "ocsp") == 0 && !seen.at_poe &&
            (strcmp(seen.status, "good") == 0 || strcmp(seen.status, "revoked") == 0) &&
            ks_time_parse(seen.this_update, &t) == KS_OK) {
            if (t > newest)
                newest = t;
            sticky |= strcmp(seen.status, "revoked") == 0 &&
                      strcmp(seen.reason, ks_crl_reason_name(CRL_REASON_CERTIFICATE_HOLD)) != 0;
        }
    }
    if (route == 1 || route == 3) {
        fz_serve.on = 1;
        fz_serve.recipe = start;
        fz_serve.nonce = nonce;
    }
    fz_seen fin;
    fz_step(c, at, route == 2 ? &poe : NULL, route == 1 ? NULL : &given[0], &fin);
    fz_serve.on = 0;
    if (fin.passed && strcmp(fin.status, "good") == 0 && strcmp(fin.source, "ocsp") == 0)
        fz_oracle(c, &fin, at, route == 2 ? &poe : NULL, rc.policy, newest, sticky);
    fz_reset(c); /* everything this input allocated goes with it */
    return 0;
}
