/*
 * verify/tsp.c - RFC 3161 time-stamp tokens as proof of existence.
 *
 * A TimeStampToken (RFC 3161 2.4.2) is a CMS SignedData whose eContent is a
 * TSTInfo.  It proves that the data whose hash is its messageImprint existed
 * at genTime, and only when every link holds:
 *   - the token decodes exactly, with eContentType id-ct-TSTInfo and one
 *     signer (2.4.2);
 *   - the signature over the signed attributes verifies, and their
 *     messageDigest is the TSTInfo's (RFC 5652 5.4, 5.6);
 *   - the ESS signing-certificate(-v2) attribute names the TSA certificate
 *     that verified it (RFC 3161 2.4.1, RFC 5816), so no other certificate
 *     for the same key can stand in;
 *   - the TSA certificate has extendedKeyUsage id-kp-timeStamping as its one
 *     purpose, marked critical (2.3), and a path to timestamp_anchors (a
 *     store of its own: TSAs are trusted for time, not for signatures) at
 *     the time the caller names;
 *   - genTime lies inside the TSA certificate's validity and not after that
 *     time (a token from the future proves nothing yet);
 *   - the messageImprint is the hash of exactly the data given, with a
 *     digest the algorithm policy accepts;
 *   - the TSTInfo is version 1, carries no critical extension, and its tsa
 *     name, when present, is the TSA certificate's subject or one of its
 *     subjectAltNames (2.4.2).
 * Anything else gives no proof, with the reason; the caller reports it.
 *
 * The caller names the time the TSA path is validated at: the validation
 * time for the newest token, the genTime of the next newer verified archive
 * timestamp for an older one (cades.c ks_cades_archive).
 *
 * Timestamp validation is X.509 validation of the TSA path (ETSI EN 319
 * 102-1 5.4, 5.6.2.2): once the path holds, the revocation status of each
 * of its certificates but the anchor is established by revoke.c exactly as
 * for a signer's path (the evidence the signed object carries first, then
 * OCSP and CRLs under allow_urls, the cache, the rollback record, the
 * `revocation` mode).  For the newest token that is the status at the
 * validation time: a TSA certificate revoked at all gives no proof
 * (REVOKED before genTime, REVOKED_NO_POE after it).  An older token's path
 * is validated at the time a newer timestamp proves, and a revocation after
 * that time leaves the proof standing (5.6.2.4: the token existed before
 * the revocation).  No status in "require" mode: INDETERMINATE/TRY_LATER,
 * no proof; "soft-fail" passes with the warning in the timestamp's entry.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/ess.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/ts.h>
#include <openssl/x509v3.h>

#include "internal.h"

/* Certificates a token may carry: a TSA certificate and its CAs. */
#define KS_TSP_MAX_CERTS 16

static void ks_tsp_fail(ks_tsp_result *out, ks_indication ind, ks_subindication sub, const char *detail)
{
    out->indication = ind;
    out->sub = sub;
    snprintf(out->detail, sizeof out->detail, "%s", detail);
}

/* RFC 3161 2.4.1 / RFC 5816 2.2.1: an ESS attribute (v2 for hashes other
 * than SHA-1) is there, decodes, and binds `tsa` (its first ESSCertID(v2)
 * is its hash, with issuerSerial when present).  The pool holds `tsa`
 * alone, so an ESSCertID naming its CA is not found and the token refused:
 * stricter than RFC 5035 5.4 asks (README, fuzzing: `openssl ts` with
 * ess_cert_id_chain). */
static int ks_tsp_ess_ok(CMS_SignerInfo *si, X509 *tsa)
{
    ks_ess e;
    STACK_OF(X509) *pool = sk_X509_new_null();
    ks_ess_decode(si, &e);
    int ok = pool != NULL && sk_X509_push(pool, tsa) && e.present && !e.malformed && ks_ess_binds(&e, tsa, pool);
    sk_X509_free(pool);
    ks_ess_clear(&e);
    return ok;
}

/* RFC 3161 2.3: "The corresponding certificate MUST contain only one
 * instance of the extended key usage field extension ... with KeyPurposeID
 * having value: id-kp-timeStamping.  This extension MUST be critical." */
static int ks_tsp_eku_ok(X509 *tsa)
{
    int idx = X509_get_ext_by_NID(tsa, NID_ext_key_usage, -1);
    if (idx < 0 || X509_get_ext_by_NID(tsa, NID_ext_key_usage, idx) >= 0 ||
        X509_EXTENSION_get_critical(X509_get_ext(tsa, idx)) != 1)
        return 0;
    EXTENDED_KEY_USAGE *eku = X509_get_ext_d2i(tsa, NID_ext_key_usage, NULL, NULL);
    int ok = eku != NULL && sk_ASN1_OBJECT_num(eku) == 1 &&
             OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, 0)) == NID_time_stamp;
    sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
    ks_openssl_drain(__func__);
    return ok;
}

/* The TSA certificate's path to timestamp_anchors at `at`, as a TSA
 * (X509_PURPOSE_TIMESTAMP_SIGN also checks the CAs).  Candidates: the
 * token's certificates, the configured intermediates and those the signed
 * object carries (ES-X-L certificate-values, a PDF's DSS /Certs).  The
 * validated path (leaf first, anchor last) goes to *chain. */
static int ks_tsp_path_ok(const ks_ctx *ctx, X509 *tsa, STACK_OF(X509) *certs, const ks_path_input *pin, time_t at,
                          STACK_OF(X509) **chain, char *why, size_t whylen)
{
    X509_STORE_CTX *sctx = NULL;
    STACK_OF(X509) *untrusted = NULL;
    int ok = 0;

    if (ctx->ts_store == NULL) {
        snprintf(why, whylen, "no timestamp_anchors configured: no TSA is trusted");
        return 0;
    }
    if ((untrusted = sk_X509_new_null()) == NULL || (sctx = X509_STORE_CTX_new()) == NULL)
        goto done;
    for (int i = 0; i < sk_X509_num(certs); i++)
        if (!sk_X509_push(untrusted, sk_X509_value(certs, i)))
            goto done;
    for (int i = 0; i < sk_X509_num(ctx->intermediates); i++)
        if (!sk_X509_push(untrusted, sk_X509_value(ctx->intermediates, i)))
            goto done;
    for (int i = 0; pin != NULL && i < sk_X509_num(pin->embedded); i++)
        if (!sk_X509_push(untrusted, sk_X509_value(pin->embedded, i)))
            goto done;
    if (X509_STORE_CTX_init(sctx, ctx->ts_store, tsa, untrusted) != 1 ||
        X509_STORE_CTX_set_purpose(sctx, X509_PURPOSE_TIMESTAMP_SIGN) != 1)
        goto done;
    X509_VERIFY_PARAM *vp = X509_STORE_CTX_get0_param(sctx);
    X509_VERIFY_PARAM_set_time(vp, at);
    X509_VERIFY_PARAM_set_depth(vp, ctx->limits.max_path_length);
    int rv = X509_verify_cert(sctx);
    ok = rv == 1 && (*chain = X509_STORE_CTX_get1_chain(sctx)) != NULL;
    if (rv == 1 && !ok)
        snprintf(why, whylen, "out of memory keeping the TSA path");
    else if (!ok) {
        int err = X509_STORE_CTX_get_error(sctx);
        snprintf(why, whylen, "the TSA certificate does not chain to timestamp_anchors: %s (at depth %d)",
                 X509_verify_cert_error_string(err == X509_V_OK ? X509_V_ERR_UNSPECIFIED : err),
                 X509_STORE_CTX_get_error_depth(sctx));
    }
done:
    if (!ok && why[0] == '\0')
        snprintf(why, whylen, "internal error validating the TSA path");
    X509_STORE_CTX_free(sctx);
    sk_X509_free(untrusted); /* references only */
    ks_openssl_drain(__func__);
    return ok;
}

/* RFC 3161 2.4.2: "The purpose of the tsa field is to give a hint in
 * identifying the name of the TSA.  If present, it MUST correspond to one of
 * the subject names included in the certificate that is to be used to
 * verify the token."  Found by fuzz/fuzz_tsp_sign.c: a token naming another
 * TSA passed. */
static int ks_tsp_name_ok(TS_TST_INFO *tst, X509 *tsa)
{
    GENERAL_NAME *g = TS_TST_INFO_get_tsa(tst);
    if (g == NULL)
        return 1;
    if (g->type == GEN_DIRNAME && X509_NAME_cmp(g->d.directoryName, X509_get_subject_name(tsa)) == 0)
        return 1;
    GENERAL_NAMES *alt = X509_get_ext_d2i(tsa, NID_subject_alt_name, NULL, NULL);
    int ok = 0;
    for (int i = 0; !ok && i < sk_GENERAL_NAME_num(alt); i++)
        ok = GENERAL_NAME_cmp(sk_GENERAL_NAME_value(alt, i), g) == 0;
    GENERAL_NAMES_free(alt);
    ks_openssl_drain(__func__);
    return ok;
}

/* messageImprint == hash(data), RFC 3161 2.4.2.  1 equal, 0 not, -1 an
 * algorithm we do not accept (*nid says which). */
static int ks_tsp_imprint(const ks_ctx *ctx, TS_TST_INFO *tst, const ks_blob *data, size_t ndata, int *nid)
{
    TS_MSG_IMPRINT *mi = TS_TST_INFO_get_msg_imprint(tst);
    X509_ALGOR *alg = TS_MSG_IMPRINT_get_algo(mi);
    ASN1_OCTET_STRING *want = TS_MSG_IMPRINT_get_msg(mi);
    const ASN1_OBJECT *obj = NULL;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    int ok = -1;
    EVP_MD_CTX *h = NULL;

    X509_ALGOR_get0(&obj, NULL, NULL, alg);
    *nid = OBJ_obj2nid(obj);
    const EVP_MD *type = EVP_get_digestbynid(*nid);
    if (type == NULL || !ks_alg_digest_ok(ctx, *nid) || want == NULL)
        goto done;
    ok = 0;
    if ((h = EVP_MD_CTX_new()) == NULL || EVP_DigestInit_ex(h, type, NULL) != 1)
        goto done;
    for (size_t i = 0; i < ndata; i++)
        if (data[i].len > 0 && EVP_DigestUpdate(h, data[i].data, data[i].len) != 1)
            goto done;
    if (EVP_DigestFinal_ex(h, md, &mdlen) != 1)
        goto done;
    ok = ASN1_STRING_length(want) == (int)mdlen && CRYPTO_memcmp(ASN1_STRING_get0_data(want), md, mdlen) == 0;
done:
    EVP_MD_CTX_free(h);
    ks_openssl_drain(__func__);
    return ok;
}

/* The context a TSA path is judged in: a copy of the caller's whose
 * anchors are timestamp_anchors (the CRL re-check of revoke.c rebuilds the
 * path from them) and whose certificate policy settings, which speak of
 * signers' certificates, are left out.  No validation cache (its results
 * are per context); the revocation cache stays, bound to the original
 * (ks_ctx.base), as the evidence it holds does not depend on what differs. */
static void ks_tsp_ctx(const ks_ctx *ctx, ks_ctx *tctx)
{
    memcpy(tctx, ctx, sizeof *tctx); /* read-only use by one token's check */
    tctx->store = ctx->ts_store;
    tctx->anchors = ctx->ts_anchors;
    tctx->policies = NULL;
    tctx->require_explicit_policy = 0;
    tctx->inhibit_policy_mapping = 0;
    tctx->inhibit_any_policy = 0;
    tctx->vcache = NULL;
    tctx->base = ctx->base != NULL ? ctx->base : ctx;
}

/* Revocation of the validated TSA path (the file's header comment). */
static void ks_tsp_revocation(const ks_ctx *ctx, STACK_OF(X509) *chain, const time_t *at, const ks_tsp_env *env,
                              ks_tsp_result *out)
{
    ks_ctx tctx;
    ks_status st;
    time_t vt = env != NULL && env->vt != 0 ? env->vt : *at, gen = out->time;
    const time_t *proven = *at < vt ? at : NULL;
    cJSON *tmp = cJSON_CreateObject();

    ks_tsp_ctx(ctx, &tctx);
    ks_status_set(&st, KS_TOTAL_PASSED, KS_SUB_NONE, NULL);
    if (tmp == NULL || (out->revocation = cJSON_CreateArray()) == NULL) {
        out->nomem = 1;
        goto done;
    }
    if (ks_revocation_check(&tctx, env != NULL ? env->pin : NULL, vt, &gen, proven, chain, &st, out->revocation, tmp) !=
        KS_OK) {
        out->nomem = 1;
        goto done;
    }
    /* Warnings (REVOCATION_UNAVAILABLE under soft-fail, REVOCATION_NOT_CHECKED
     * with "off") stay with the timestamp they speak of. */
    cJSON *warn = cJSON_DetachItemFromObjectCaseSensitive(tmp, "warnings");
    out->warnings = warn;
    if (st.indication != KS_TOTAL_PASSED) {
        char d[256];
        snprintf(d, sizeof d, "the TSA path: %.200s", st.detail);
        ks_tsp_fail(out, st.indication, st.sub, d);
    }
done:
    if (out->nomem)
        ks_tsp_fail(out, KS_INDETERMINATE, KS_SUB_TRY_LATER, "out of memory checking the TSA path's revocation");
    cJSON_Delete(tmp);
}

void ks_tsp_result_clear(ks_tsp_result *t)
{
    cJSON_Delete(t->revocation);
    cJSON_Delete(t->warnings);
    t->revocation = t->warnings = NULL;
}

static int ks_tsp_drain(BIO *b)
{
    char buf[4096];
    int n;
    while ((n = BIO_read(b, buf, sizeof buf)) > 0)
        ;
    return n == 0 || BIO_eof(b);
}

void ks_tsp_verify(const ks_ctx *ctx, const uint8_t *der, size_t len, const ks_blob *data, size_t ndata, time_t at,
                   const ks_tsp_env *env, ks_tsp_result *out)
{
    CMS_ContentInfo *cms = NULL;
    STACK_OF(X509) *certs = NULL, *chain = NULL;
    TS_TST_INFO *tst = NULL;
    BIO *content = NULL;
    X509 *tsa = NULL;
    char why[256] = "";

    memset(out, 0, sizeof *out);
    ks_tsp_fail(out, KS_TOTAL_FAILED, KS_SUB_FORMAT_FAILURE, "not an RFC 3161 time-stamp token");
    ks_openssl_drain(__func__);
    if (der == NULL || len > ks_ctx_max_input(ctx) || (cms = ks_der_to_cms(der, len)) == NULL)
        goto done;
    if (OBJ_obj2nid(CMS_get0_type(cms)) != NID_pkcs7_signed ||
        OBJ_obj2nid(CMS_get0_eContentType(cms)) != NID_id_smime_ct_TSTInfo)
        goto done;
    STACK_OF(CMS_SignerInfo) *sis = CMS_get0_SignerInfos(cms);
    ASN1_OCTET_STRING **pos = CMS_get0_content(cms);
    if (sk_CMS_SignerInfo_num(sis) != 1 || pos == NULL || *pos == NULL) {
        ks_tsp_fail(out, KS_TOTAL_FAILED, KS_SUB_FORMAT_FAILURE,
                    "a time-stamp token has one signer and an encapsulated TSTInfo (RFC 3161 2.4.2)");
        goto done;
    }
    CMS_SignerInfo *si = sk_CMS_SignerInfo_value(sis, 0);
    const unsigned char *p = ASN1_STRING_get0_data(*pos), *q = p;
    long tlen = ASN1_STRING_length(*pos);
    if ((tst = d2i_TS_TST_INFO(NULL, &q, tlen)) == NULL || q != p + tlen) {
        ks_tsp_fail(out, KS_TOTAL_FAILED, KS_SUB_FORMAT_FAILURE, "the TSTInfo does not decode");
        goto done;
    }
    /* What the token says, reported whether or not it proves anything. */
    int have_time = ks_asn1_time_to_time_t(TS_TST_INFO_get_time(tst), &out->time);
    int nid = NID_undef, im = ks_tsp_imprint(ctx, tst, data, ndata, &nid);
    out->imprint_ok = im == 1;
    if (!have_time) {
        ks_tsp_fail(out, KS_TOTAL_FAILED, KS_SUB_FORMAT_FAILURE, "the TSTInfo genTime does not decode");
        goto done;
    }
    out->has_time = 1;
    /* RFC 3161 2.4.2: version INTEGER { v1(1) }; another version is a
     * structure this code does not know (found by fuzz/fuzz_tsp_sign.c). */
    if (TS_TST_INFO_get_version(tst) != 1) {
        ks_tsp_fail(out, KS_TOTAL_FAILED, KS_SUB_FORMAT_FAILURE, "the TSTInfo version is not v1 (RFC 3161 2.4.2)");
        goto done;
    }
    /* RFC 3161 2.4.2 defines no TSTInfo extension, so none is understood
     * here; a critical one changes the meaning of the token in a way this
     * code cannot honour (the X.509 rule, RFC 5280 4.2): no proof. */
    for (int i = 0; i < TS_TST_INFO_get_ext_count(tst); i++)
        if (X509_EXTENSION_get_critical(TS_TST_INFO_get_ext(tst, i))) {
            ks_tsp_fail(out, KS_TOTAL_FAILED, KS_SUB_FORMAT_FAILURE,
                        "the TSTInfo carries a critical extension this verifier does not know (RFC 3161 2.4.2)");
            goto done;
        }

    certs = CMS_get1_certs(cms);
    ks_openssl_drain(__func__);
    if (sk_X509_num(certs) > KS_TSP_MAX_CERTS) {
        ks_tsp_fail(out, KS_TOTAL_FAILED, KS_SUB_FORMAT_FAILURE, "too many certificates in the time-stamp token");
        goto done;
    }
    /* The TSA's certificate: in the token (2.4.1 certReq), or configured
     * as a timestamp anchor itself. */
    if (CMS_set1_signers_certs(cms, ctx->ts_anchors, 0) < 0)
        ks_openssl_drain(__func__);
    CMS_SignerInfo_get0_algs(si, NULL, &tsa, NULL, NULL);
    if (tsa == NULL) {
        ks_tsp_fail(out, KS_INDETERMINATE, KS_SUB_NO_SIGNING_CERTIFICATE_FOUND,
                    "the TSA certificate is neither in the token nor configured");
        goto done;
    }
    char *name = ks_name_string(X509_get_subject_name(tsa)); /* a TSA's name is no personal data */
    snprintf(out->tsa, sizeof out->tsa, "%s", name ? name : "");
    free(name);
    if (CMS_signed_get_attr_count(si) <= 0 || CMS_SignerInfo_verify(si) != 1) {
        ks_tsp_fail(out, KS_TOTAL_FAILED, KS_SUB_SIG_CRYPTO_FAILURE,
                    "the time-stamp token's signature does not verify");
        goto done;
    }
    const ASN1_OBJECT *ct = CMS_signed_get0_data_by_OBJ(si, OBJ_nid2obj(NID_pkcs9_contentType), -3, V_ASN1_OBJECT);
    if (ct == NULL || OBJ_obj2nid(ct) != NID_id_smime_ct_TSTInfo) {
        ks_tsp_fail(out, KS_TOTAL_FAILED, KS_SUB_FORMAT_FAILURE,
                    "the token's contentType attribute is not id-ct-TSTInfo (RFC 5652 11.1)");
        goto done;
    }
    if ((content = CMS_dataInit(cms, NULL)) == NULL || !ks_tsp_drain(content) ||
        CMS_SignerInfo_verify_content(si, content) != 1) {
        ks_tsp_fail(out, KS_TOTAL_FAILED, KS_SUB_HASH_FAILURE, "the TSTInfo is not the one the TSA signed");
        goto done;
    }
    X509_ALGOR *dig = NULL;
    const ASN1_OBJECT *dobj = NULL;
    CMS_SignerInfo_get0_algs(si, NULL, NULL, &dig, NULL);
    X509_ALGOR_get0(&dobj, NULL, NULL, dig);
    if (!ks_alg_digest_ok(ctx, OBJ_obj2nid(dobj))) {
        ks_tsp_fail(out, KS_INDETERMINATE, KS_SUB_CRYPTO_CONSTRAINTS_FAILURE, "the token is signed with a weak digest");
        goto done;
    }
    if (!ks_alg_key_ok(ctx, X509_get0_pubkey(tsa), why, sizeof why)) {
        ks_tsp_fail(out, KS_INDETERMINATE, KS_SUB_CRYPTO_CONSTRAINTS_FAILURE, why);
        goto done;
    }
    if (!ks_tsp_ess_ok(si, tsa)) {
        ks_tsp_fail(out, KS_TOTAL_FAILED, KS_SUB_SIG_CONSTRAINTS_FAILURE,
                    "the token's ESS signing-certificate attribute is missing or does not name the TSA certificate "
                    "(RFC 3161 2.4.1, RFC 5816)");
        goto done;
    }
    if (!ks_tsp_name_ok(tst, tsa)) {
        ks_tsp_fail(out, KS_TOTAL_FAILED, KS_SUB_SIG_CONSTRAINTS_FAILURE,
                    "the TSTInfo's tsa name is not a name of the TSA certificate (RFC 3161 2.4.2)");
        goto done;
    }
    if (!ks_tsp_eku_ok(tsa)) {
        ks_tsp_fail(out, KS_TOTAL_FAILED, KS_SUB_CHAIN_CONSTRAINTS_FAILURE,
                    "the TSA certificate's extendedKeyUsage is not id-kp-timeStamping alone, critical (RFC 3161 2.3)");
        goto done;
    }
    if (im < 0) {
        char d[128];
        snprintf(d, sizeof d, "the message imprint uses the %s digest, which is not accepted",
                 nid != NID_undef ? OBJ_nid2sn(nid) : "unknown");
        ks_tsp_fail(out, KS_INDETERMINATE, KS_SUB_CRYPTO_CONSTRAINTS_FAILURE, d);
        goto done;
    }
    if (im == 0) {
        ks_tsp_fail(out, KS_TOTAL_FAILED, KS_SUB_HASH_FAILURE,
                    "the token's message imprint is not the hash of the data it should cover");
        goto done;
    }
    /* The TSA signed at genTime: its certificate must have been valid then. */
    if (ASN1_TIME_cmp_time_t(X509_get0_notBefore(tsa), out->time) == 1 ||
        ASN1_TIME_cmp_time_t(X509_get0_notAfter(tsa), out->time) == -1) {
        ks_tsp_fail(out, KS_TOTAL_FAILED, KS_SUB_OUT_OF_BOUNDS_NO_POE,
                    "genTime is outside the TSA certificate's validity");
        goto done;
    }
    if (out->time > at + ctx->rev.clock_skew_s) {
        ks_tsp_fail(out, KS_INDETERMINATE, KS_SUB_NOT_YET_VALID, "genTime is later than the validation time");
        goto done;
    }
    why[0] = '\0';
    if (!ks_tsp_path_ok(ctx, tsa, certs, env != NULL ? env->pin : NULL, at, &chain, why, sizeof why)) {
        ks_tsp_fail(out, KS_INDETERMINATE, KS_SUB_NO_CERTIFICATE_CHAIN_FOUND, why);
        goto done;
    }
    ks_tsp_fail(out, KS_TOTAL_PASSED, KS_SUB_NONE, "");
    ks_tsp_revocation(ctx, chain, &at, env, out);
done:
    sk_X509_pop_free(chain, X509_free);
    BIO_free_all(content);
    TS_TST_INFO_free(tst);
    sk_X509_pop_free(certs, X509_free);
    CMS_ContentInfo_free(cms);
    ks_openssl_drain(__func__);
}
