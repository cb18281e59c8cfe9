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
 * extension, the validation time and one of three policies (skew, max age).
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
 */
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

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

enum { FZ_POLICIES = 3 };
static const struct {
    int skew, max_age;
} fz_policy[FZ_POLICIES] = {{0, 3600}, {300, 7 * 86400}, {60, 86400}};

static ks_ctx *ctxs[FZ_POLICIES];
static X509 *issuer, *other_ca;
static ASN1_INTEGER *serial, *other_serial;
static fz_signer signers[8];
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
 * now + from to now + to, with or without id-kp-OCSPSigning; P-256 keys so
 * each input signs fast. */
static void fz_add_responder(const char *name, X509 *ca, EVP_PKEY *cakey, long from, long to, int ocsp_eku)
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
    for (int i = 0; i < FZ_POLICIES; i++) {
        char rev[256];
        snprintf(rev, sizeof rev, "{\"mode\": \"require\", \"clock_skew_s\": %d, \"ocsp_max_age_s\": %d}",
                 fz_policy[i].skew, fz_policy[i].max_age);
        ctxs[i] = fz_ctx_load(rev, "");
    }
    issuer = fz_read_pem("pref-ca-self.pem");
    other_ca = fz_read_pem("rogue-ca.pem");
    EVP_PKEY *cakey = fz_read_key("pref-ca.key"), *roguekey = fz_read_key("rogue-ca.key");
    X509 *leaf = fz_read_pem("citizen-rsa.pem");
    serial = ASN1_INTEGER_dup(X509_get0_serialNumber(leaf));
    other_serial = ASN1_INTEGER_new();
    X509_free(leaf);
    if (serial == NULL || other_serial == NULL || ASN1_INTEGER_set(other_serial, 424242) != 1 ||
        X509_up_ref(issuer) != 1 || EVP_PKEY_up_ref(cakey) != 1)
        fz_die("init", "out of memory");
    signers[nsigners++] = (fz_signer){"the CA", issuer, cakey};
    fz_add_responder("delegated, valid", issuer, cakey, -30 * FZ_DAY, 365 * FZ_DAY, 1);
    fz_add_responder("delegated, expired two years ago", issuer, cakey, -1200 * FZ_DAY, -730 * FZ_DAY, 1);
    fz_add_responder("delegated, expires in an hour", issuer, cakey, -30 * FZ_DAY, FZ_HOUR, 1);
    fz_add_responder("delegated, valid from tomorrow", issuer, cakey, FZ_DAY, 365 * FZ_DAY, 1);
    fz_add_responder("delegated, no OCSPSigning", issuer, cakey, -30 * FZ_DAY, 365 * FZ_DAY, 0);
    fz_add_responder("delegated by another CA", other_ca, roguekey, -30 * FZ_DAY, 365 * FZ_DAY, 1);
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

/* The whole OCSPResponse DER, or NULL when OpenSSL refused to build it. */
static unsigned char *fz_build(fz_in *in, fz_recipe *rc, const fz_signer **signer_out, int *len)
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
    if (rc->nonce && OCSP_basic_add1_nonce(bs, NULL, 16) != 1)
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
        else if (rc->at - t_this > max_age + skew)
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_in in = {data, size};
    fz_recipe rc;
    const fz_signer *sg = NULL;
    int len = 0;
    memset(&rc, 0, sizeof rc);
    unsigned char *der = fz_build(&in, &rc, &sg, &len);
    if (der == NULL)
        return 0;
    ks_ocsp_answer a;
    char err[KS_REV_ERRLEN];
    err[0] = '\0';
    ks_result r = ks_ocsp_check(ctxs[rc.policy], rc.at, der, (size_t)len, issuer, serial, &a, err, sizeof err);
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
    OPENSSL_free(der);
    return 0;
}
