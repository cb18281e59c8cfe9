/*
 * verify/path.c - certification path building and validation.
 *
 * Building: a depth-first search from the leaf over the anchors, the
 * configured intermediates and the certificates embedded in the message.  A
 * candidate issuer must match by name AND key identifier
 * (X509_check_issued: RFC 5280 4.2.1.1 AKI / 4.2.1.2 SKI), so CAs re-keyed
 * under the same name are told apart by key.  Only configured anchors end a
 * path: a self-signed certificate that came with a message never does.
 *
 * Validation: each complete candidate path is handed to OpenSSL's RFC 5280
 * validator (section 6.1) with exactly that path's certificates as the
 * untrusted set, so OpenSSL cannot wander into the dead ends a bridge
 * topology is full of (cross certificates, self-signed CA certificates of the
 * same name).  The first path that validates wins; if none does, the most
 * informative failure is reported.  The work is capped by limits.max_paths
 * and limits.max_path_length.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>

#include "internal.h"

#define KS_MAX_DEPTH 64

void ks_path_result_clear(ks_path_result *res)
{
    sk_X509_pop_free(res->chain, X509_free);
    memset(res, 0, sizeof *res);
}

static int ks_in_stack(STACK_OF(X509) *sk, X509 *x)
{
    for (int i = 0; sk != NULL && i < sk_X509_num(sk); i++)
        if (X509_cmp(sk_X509_value(sk, i), x) == 0)
            return 1;
    return 0;
}

ks_cert_source ks_path_source(const ks_ctx *ctx, const ks_path_input *in, X509 *x)
{
    if (ks_in_stack(ctx->anchors, x))
        return KS_SRC_ANCHOR;
    if (ks_in_stack(ctx->intermediates, x))
        return KS_SRC_CONFIG;
    if (in != NULL && ks_in_stack(in->embedded, x))
        return in->from_input ? KS_SRC_INPUT : KS_SRC_SIGNATURE;
    return KS_SRC_SUBMITTED;
}

/* ---------------- algorithm policy ---------------- */

int ks_alg_digest_ok(const ks_ctx *ctx, int md_nid)
{
    switch (md_nid) {
    case NID_md2:
    case NID_md4:
        return 0;
    case NID_md5:
        return ctx->alg.allow_md5;
    case NID_sha1:
        return ctx->alg.allow_sha1;
    default:
        return 1;
    }
}

int ks_alg_sunset_ctx(const ks_ctx *ctx, time_t poe, ks_ctx *relaxed)
{
    int any = 0;
    memcpy(relaxed, ctx, sizeof *relaxed); /* read-only use by one validation */
    /* Neither cache: the validation cache must not serve relaxed results
     * to strict validations, and the revocation cache keeps its ops->arg
     * (the context) for background refreshes, past this copy's life. */
    relaxed->vcache = NULL;
    relaxed->cache = NULL;
    if (!ctx->alg.allow_sha1 && ctx->alg.sunset_sha1 != 0 && poe < ctx->alg.sunset_sha1) {
        relaxed->alg.path_allow_sha1 = 1;
        any = 1;
    }
    if (ctx->alg.min_rsa_bits > 1024 && ctx->alg.sunset_rsa1024 != 0 && poe < ctx->alg.sunset_rsa1024) {
        relaxed->alg.path_min_rsa_bits = 1024;
        any = 1;
    }
    return any;
}

int ks_alg_evidence_ctx(const ks_ctx *ctx, time_t proven, ks_ctx *relaxed)
{
    /* ETSI EN 319 102-1 5.2.8: evidence signed with SHA-1 is acceptable
     * only when a timestamp made with strong algorithms (tsp.c refuses the
     * others) proves those very bytes existed before the sunset. */
    if (proven <= 0 || ctx->alg.allow_sha1 || ctx->alg.sunset_sha1 == 0 || proven >= ctx->alg.sunset_sha1)
        return 0;
    memcpy(relaxed, ctx, sizeof *relaxed);
    relaxed->vcache = NULL; /* as ks_alg_sunset_ctx: nothing relaxed is kept */
    relaxed->cache = NULL;
    relaxed->alg.evidence_allow_sha1 = 1;
    return 1;
}

int ks_alg_key_ok(const ks_ctx *ctx, EVP_PKEY *pk, char *why, size_t whylen)
{
    if (pk == NULL) {
        snprintf(why, whylen, "unreadable public key");
        return 0;
    }
    int bits = EVP_PKEY_get_bits(pk), min = 0;
    const char *type = "key";
    switch (EVP_PKEY_get_base_id(pk)) {
    case EVP_PKEY_RSA:
    case EVP_PKEY_RSA_PSS:
        min = ctx->alg.min_rsa_bits;
        type = "RSA";
        break;
    case EVP_PKEY_EC:
        min = ctx->alg.min_ec_bits;
        type = "EC";
        break;
    case EVP_PKEY_DSA:
        min = ctx->alg.min_dsa_bits;
        type = "DSA";
        break;
    case EVP_PKEY_ED25519:
    case EVP_PKEY_ED448:
        return 1;
    default:
        snprintf(why, whylen, "unsupported public key type");
        return 0;
    }
    if (bits < min) {
        snprintf(why, whylen, "%s key of %d bits is below the %d-bit minimum", type, bits, min);
        return 0;
    }
    return 1;
}

/* Keys of every certificate, and signatures of every certificate but the
 * anchor (whose self-signature nobody relies on). */
static int ks_alg_chain_ok(const ks_ctx *ctx, STACK_OF(X509) *chain, int *depth, char *why, size_t whylen)
{
    int n = sk_X509_num(chain);
    for (int i = 0; i < n; i++) {
        X509 *x = sk_X509_value(chain, i);
        *depth = i;
        EVP_PKEY *pk = X509_get0_pubkey(x);
        int sunset_rsa = ctx->alg.path_min_rsa_bits > 0 && pk != NULL &&
                         (EVP_PKEY_get_base_id(pk) == EVP_PKEY_RSA || EVP_PKEY_get_base_id(pk) == EVP_PKEY_RSA_PSS) &&
                         EVP_PKEY_get_bits(pk) >= ctx->alg.path_min_rsa_bits;
        if (!sunset_rsa && !ks_alg_key_ok(ctx, pk, why, whylen)) {
            ks_openssl_drain(__func__);
            return 0;
        }
        if (i == n - 1 && ks_in_stack(ctx->anchors, x))
            break;
        int mdnid = NID_undef;
        if (X509_get_signature_info(x, &mdnid, NULL, NULL, NULL) != 1) {
            ks_openssl_drain(__func__);
            snprintf(why, whylen, "unknown certificate signature algorithm");
            return 0;
        }
        if (!ks_alg_digest_ok(ctx, mdnid) && !(mdnid == NID_sha1 && ctx->alg.path_allow_sha1)) {
            snprintf(why, whylen, "certificate signed with %s", OBJ_nid2sn(mdnid));
            return 0;
        }
    }
    return 1;
}

/* ---------------- mapping OpenSSL's verdict ---------------- */

/*
 * ETSI EN 319 102-1 5.2.6 (X.509 certificate validation).  An expired
 * certificate is TOTAL_FAILED/EXPIRED only when the time of interest (the
 * signer's own claimed signing time, or the validation time for a certificate
 * check) is past notAfter; without such a claim it could have been valid when
 * the signature was made, which we cannot prove: OUT_OF_BOUNDS_NO_POE.  A
 * certificate not yet valid at the validation time cannot have been valid
 * at signing, which happened before: NOT_YET_VALID.
 */
static void ks_map_error(int err, X509 *cert, const time_t *claimed, ks_path_result *res)
{
    res->indication = KS_INDETERMINATE;
    switch (err) {
    case X509_V_OK:
        res->indication = KS_TOTAL_PASSED;
        res->sub = KS_SUB_NONE;
        return;
    case X509_V_ERR_CERT_HAS_EXPIRED: {
        time_t na;
        if (claimed != NULL && cert != NULL && ks_asn1_time_to_time_t(X509_get0_notAfter(cert), &na) &&
            *claimed > na) {
            res->indication = KS_TOTAL_FAILED;
            res->sub = KS_SUB_EXPIRED;
        } else {
            res->sub = KS_SUB_OUT_OF_BOUNDS_NO_POE;
        }
        return;
    }
    case X509_V_ERR_CERT_NOT_YET_VALID:
        res->indication = KS_TOTAL_FAILED;
        res->sub = KS_SUB_NOT_YET_VALID;
        return;
    case X509_V_ERR_CERT_REVOKED:
        res->indication = KS_TOTAL_FAILED;
        res->sub = KS_SUB_REVOKED;
        return;
    case X509_V_ERR_UNABLE_TO_GET_CRL:
    case X509_V_ERR_UNABLE_TO_GET_CRL_ISSUER:
    case X509_V_ERR_CRL_HAS_EXPIRED:
    case X509_V_ERR_CRL_NOT_YET_VALID:
    case X509_V_ERR_CRL_SIGNATURE_FAILURE:
    case X509_V_ERR_UNABLE_TO_DECRYPT_CRL_SIGNATURE:
    case X509_V_ERR_ERROR_IN_CRL_LAST_UPDATE_FIELD:
    case X509_V_ERR_ERROR_IN_CRL_NEXT_UPDATE_FIELD:
    case X509_V_ERR_DIFFERENT_CRL_SCOPE:
    case X509_V_ERR_UNHANDLED_CRITICAL_CRL_EXTENSION:
    case X509_V_ERR_KEYUSAGE_NO_CRL_SIGN:
        res->sub = KS_SUB_TRY_LATER;
        return;
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_CERT_UNTRUSTED:
    case X509_V_ERR_CERT_REJECTED:
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
    case X509_V_ERR_UNABLE_TO_DECRYPT_CERT_SIGNATURE:
    case X509_V_ERR_UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY:
        res->sub = KS_SUB_NO_CERTIFICATE_CHAIN_FOUND;
        return;
    case X509_V_ERR_INVALID_POLICY_EXTENSION:
    case X509_V_ERR_NO_EXPLICIT_POLICY:
        res->sub = KS_SUB_POLICY_PROCESSING_ERROR;
        return;
    case X509_V_ERR_EE_KEY_TOO_SMALL:
    case X509_V_ERR_CA_KEY_TOO_SMALL:
    case X509_V_ERR_CA_MD_TOO_WEAK:
        res->sub = KS_SUB_CRYPTO_CONSTRAINTS_FAILURE;
        return;
    default:
        /* basic constraints, path length, name constraints, key usage of
         * CAs, unknown critical extensions, ...: the path is not acceptable. */
        res->sub = KS_SUB_CHAIN_CONSTRAINTS_FAILURE;
        return;
    }
}

/* ---------------- validating one candidate path ---------------- */

/*
 * Whether RFC 5280 6.1.1 (f) initial-explicit-policy is set.  Naming
 * policies in accept_policies means "only these": a path whose
 * valid_policy_tree ends empty must then fail, so explicit policy is
 * implied.  A set containing anyPolicy restricts nothing (6.1.1 (c)), so it
 * implies nothing either: ["2.5.29.32.0"] means the same as no set at all
 * (PKITS 4.8.2, 4.8.3, 4.9.1, 4.9.2, 4.9.6 expect such paths to validate).
 */
int ks_policy_explicit(const ks_ctx *ctx)
{
    int n = sk_ASN1_OBJECT_num(ctx->policies);
    if (ctx->require_explicit_policy)
        return 1;
    for (int i = 0; i < n; i++)
        if (OBJ_obj2nid(sk_ASN1_OBJECT_value(ctx->policies, i)) == NID_any_policy)
            return 0;
    return n > 0;
}

/* Revocation checking by CRL on the whole path (RFC 5280 6.3), for
 * ks_path_check_crls; NULL when validating without CRLs. */
typedef struct {
    STACK_OF(X509_CRL) *crls;
    const unsigned char *established; /* per depth: status known otherwise */
    int tolerate_missing;             /* soft-fail: a missing CRL is noted */
    const ks_crl_past *past;          /* past signature validation; NULL: none */
    unsigned char *missing;           /* out, per depth */
    int n;
} ks_crl_opts;

static int ks_crl_unavailable(int err)
{
    switch (err) {
    case X509_V_ERR_UNABLE_TO_GET_CRL:
    case X509_V_ERR_UNABLE_TO_GET_CRL_ISSUER:
    case X509_V_ERR_CRL_HAS_EXPIRED:
    case X509_V_ERR_CRL_NOT_YET_VALID:
        return 1;
    default:
        return 0;
    }
}

static int ks_crl_opts_index = -1;
static CRYPTO_ONCE ks_crl_once = CRYPTO_ONCE_STATIC_INIT;

static void ks_crl_index_init(void)
{
    ks_crl_opts_index = X509_STORE_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
}

/* Only "no usable CRL" at a depth whose status another source established
 * (OCSP), or anywhere under soft-fail, is overlooked; every other error
 * stands.  A revoked certificate is never overlooked. */
static int ks_crl_verify_cb(int ok, X509_STORE_CTX *sctx)
{
    if (ok == 1)
        return 1;
    ks_crl_opts *o = X509_STORE_CTX_get_ex_data(sctx, ks_crl_opts_index);
    int err = X509_STORE_CTX_get_error(sctx), depth = X509_STORE_CTX_get_error_depth(sctx);
    if (o == NULL || depth < 0 || depth >= o->n)
        return 0;
    /* The path was validated at the POE; only what happened since is
     * forgiven here, and only what the caller judged (ks_crl_past). */
    if (o->past != NULL && err == X509_V_ERR_CERT_HAS_EXPIRED && o->past->validity_ok)
        return 1;
    if (o->past != NULL && err == X509_V_ERR_CERT_REVOKED && o->past->revoked_ok != NULL && o->past->revoked_ok[depth])
        return 1;
    if (!ks_crl_unavailable(err))
        return 0;
    if (o->established[depth])
        return 1;
    o->missing[depth] = 1;
    return o->tolerate_missing ? 1 : 0;
}

/*
 * DSA parameter inheritance (RFC 3279 2.3.2, RFC 5280 6.1.4 (f)): a DSA
 * subjectPublicKeyInfo without domain parameters takes those of the CA that
 * signed the certificate with DSA.  OpenSSL 3.0 cannot even decode such a
 * key, so the path is validated with substitutes: copies of the
 * certificates whose key carries the inherited parameters (same y, same
 * everything else).  A substitute's own signature no longer matches its
 * re-encoded TBS, so it is checked here, on the ORIGINAL certificate, with
 * the issuer's key before the substitute is made; the verify callback then
 * forgives exactly that signature failure, and only when the issuer OpenSSL
 * put above it in the path has the key we verified with.  The reported path
 * holds the originals again.  (PKITS 4.1.5.)
 */
typedef struct {
    int n;
    X509 *orig[KS_MAX_DEPTH];
    X509 *subst[KS_MAX_DEPTH];         /* owned */
    EVP_PKEY *signer_key[KS_MAX_DEPTH]; /* owned reference: verified orig's signature */
    X509 *leaf;                        /* leaf or its substitute */
    STACK_OF(X509) *untrusted;         /* owned stack of borrowed certificates */
    time_t at;                         /* the validation time, for ks_path_verify_cb */
} ks_inherit;

static int ks_inherit_index = -1;
static CRYPTO_ONCE ks_inherit_once = CRYPTO_ONCE_STATIC_INIT;

static void ks_inherit_index_init(void)
{
    ks_inherit_index = X509_STORE_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
}

static int ks_policyinfo_cmp(const POLICYINFO *const *a, const POLICYINFO *const *b)
{
    return OBJ_cmp((*a)->policyid, (*b)->policyid);
}

/*
 * OpenSSL 3.0's policy cache (crypto/x509/pcy_cache.c policy_cache_new)
 * returns early without freeing the decoded policyConstraints when the
 * certificatePolicies extension is absent, or present but empty or naming a
 * policy twice: every such certificate object leaks its constraints once,
 * when its cache is built (found by fuzz_signature).  Worse for us, the
 * constraints and the invalid-policy flag are written into a cache that is
 * already published, which is the race ks_vc_fill_caches works around.
 * Such a certificate is never policy-processed here: ks_vc_fill_caches
 * skips it and no path through it is validated (ks_try_path).  For RFC
 * 5280 it is either invalid (4.2.1.4: one or more policies, none twice) or
 * a CA that constrains policies while asserting none, which cannot be on a
 * path whose policies matter.  Over-approximates on undecodable extensions,
 * which OpenSSL rejects anyway.
 */
int ks_policy_cache_unsafe(X509 *x)
{
    int crit = 0, unsafe = 1;
    if (X509_get_ext_by_NID(x, NID_policy_constraints, -1) < 0)
        return 0;
    CERTIFICATEPOLICIES *cp = X509_get_ext_d2i(x, NID_certificate_policies, &crit, NULL);
    if (cp != NULL && sk_POLICYINFO_num(cp) > 0) {
        unsafe = 0;
        (void)sk_POLICYINFO_set_cmp_func(cp, ks_policyinfo_cmp);
        sk_POLICYINFO_sort(cp);
        for (int i = 1; i < sk_POLICYINFO_num(cp) && !unsafe; i++)
            unsafe = OBJ_cmp(sk_POLICYINFO_value(cp, i - 1)->policyid, sk_POLICYINFO_value(cp, i)->policyid) == 0;
    }
    CERTIFICATEPOLICIES_free(cp);
    ks_openssl_drain(__func__);
    return unsafe;
}

/* A DSA key whose AlgorithmIdentifier has no (or NULL) parameters. */
static int ks_dsa_params_absent(X509 *x)
{
    ASN1_OBJECT *alg = NULL;
    X509_ALGOR *a = NULL;
    const void *pval = NULL;
    int ptype = V_ASN1_UNDEF;
    if (X509_PUBKEY_get0_param(&alg, NULL, NULL, &a, X509_get_X509_PUBKEY(x)) != 1 || OBJ_obj2nid(alg) != NID_dsa)
        return 0;
    X509_ALGOR_get0(NULL, &ptype, &pval, a);
    return ptype == V_ASN1_UNDEF || ptype == V_ASN1_NULL;
}

/* x's public value y with the domain parameters (p, q, g) of `from`. */
static EVP_PKEY *ks_dsa_inherit_key(X509 *x, EVP_PKEY *from)
{
    const unsigned char *pk = NULL, *q;
    int pklen = 0;
    ASN1_INTEGER *ai = NULL;
    BIGNUM *y = NULL, *bp = NULL, *bq = NULL, *bg = NULL;
    OSSL_PARAM_BLD *bld = NULL;
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *pctx = NULL;
    EVP_PKEY *out = NULL;

    if (X509_PUBKEY_get0_param(NULL, &pk, &pklen, NULL, X509_get_X509_PUBKEY(x)) != 1 || pk == NULL)
        goto done;
    q = pk;
    if ((ai = d2i_ASN1_INTEGER(NULL, &q, pklen)) == NULL || q != pk + pklen) /* exactly one INTEGER */
        goto done;
    if ((y = ASN1_INTEGER_to_BN(ai, NULL)) == NULL || EVP_PKEY_get_bn_param(from, OSSL_PKEY_PARAM_FFC_P, &bp) != 1 ||
        EVP_PKEY_get_bn_param(from, OSSL_PKEY_PARAM_FFC_Q, &bq) != 1 ||
        EVP_PKEY_get_bn_param(from, OSSL_PKEY_PARAM_FFC_G, &bg) != 1)
        goto done;
    if ((bld = OSSL_PARAM_BLD_new()) == NULL || OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_FFC_P, bp) != 1 ||
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_FFC_Q, bq) != 1 ||
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_FFC_G, bg) != 1 ||
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PUB_KEY, y) != 1 || (params = OSSL_PARAM_BLD_to_param(bld)) == NULL)
        goto done;
    if ((pctx = EVP_PKEY_CTX_new_from_name(NULL, "DSA", NULL)) == NULL || EVP_PKEY_fromdata_init(pctx) != 1 ||
        EVP_PKEY_fromdata(pctx, &out, EVP_PKEY_PUBLIC_KEY, params) != 1) {
        EVP_PKEY_free(out);
        out = NULL;
    }
done:
    EVP_PKEY_CTX_free(pctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(bg);
    BN_free(bq);
    BN_free(bp);
    BN_free(y);
    ASN1_INTEGER_free(ai);
    return out;
}

/* A substitute for x if `issuer` (already complete) signed it with DSA. */
static int ks_inherit_one(ks_inherit *inh, X509 *x, X509 *issuer)
{
    EVP_PKEY *ik = X509_get0_pubkey(issuer), *key = NULL;
    int sig_pk = NID_undef;
    X509 *dup = NULL;
    if (ik == NULL || EVP_PKEY_get_base_id(ik) != EVP_PKEY_DSA || X509_check_issued(issuer, x) != X509_V_OK ||
        OBJ_find_sigid_algs(X509_get_signature_nid(x), NULL, &sig_pk) != 1 || sig_pk != NID_dsa ||
        X509_verify(x, ik) != 1)
        return 0;
    if ((key = ks_dsa_inherit_key(x, ik)) == NULL || (dup = X509_dup(x)) == NULL || X509_set_pubkey(dup, key) != 1 ||
        EVP_PKEY_up_ref(ik) != 1) {
        X509_free(dup);
        EVP_PKEY_free(key);
        return 0;
    }
    EVP_PKEY_free(key); /* X509_set_pubkey took its own reference */
    inh->orig[inh->n] = x;
    inh->subst[inh->n] = dup;
    inh->signer_key[inh->n] = ik;
    inh->n++;
    return 1;
}

static X509 *ks_inherit_current(const ks_inherit *inh, X509 *x)
{
    for (int i = 0; i < inh->n; i++)
        if (inh->orig[i] == x)
            return inh->subst[i];
    return x;
}

static void ks_inherit_free(ks_inherit *inh)
{
    for (int i = 0; i < inh->n; i++) {
        X509_free(inh->subst[i]);
        EVP_PKEY_free(inh->signer_key[i]);
    }
    sk_X509_free(inh->untrusted);
    inh->n = 0;
    inh->untrusted = NULL;
}

/* Fills inh with substitutes for every parameterless DSA key among the leaf
 * and the untrusted certificates whose issuer can be found; issuers come
 * from the same set (substituted ones included, hence the rounds) and the
 * anchors.  0 only on allocation failure. */
static int ks_inherit_prepare(const ks_ctx *ctx, X509 *leaf, STACK_OF(X509) *untrusted, ks_inherit *inh)
{
    X509 *all[KS_MAX_DEPTH];
    int n = 0, need = 0;
    memset(inh, 0, sizeof *inh);
    all[n++] = leaf;
    for (int i = 0; i < sk_X509_num(untrusted) && n < KS_MAX_DEPTH; i++)
        all[n++] = sk_X509_value(untrusted, i);
    for (int i = 0; i < n; i++)
        need += ks_dsa_params_absent(all[i]);
    for (int round = 0; need > 0 && round < n; round++) {
        int progress = 0;
        for (int i = 0; i < n; i++) {
            if (!ks_dsa_params_absent(all[i]) || ks_inherit_current(inh, all[i]) != all[i])
                continue;
            int found = 0;
            for (int j = 0; !found && j < n; j++)
                if (j != i && !(ks_dsa_params_absent(all[j]) && ks_inherit_current(inh, all[j]) == all[j]))
                    found = ks_inherit_one(inh, all[i], ks_inherit_current(inh, all[j]));
            for (int j = 0; !found && j < sk_X509_num(ctx->anchors); j++)
                found = ks_inherit_one(inh, all[i], sk_X509_value(ctx->anchors, j));
            progress |= found;
        }
        if (!progress)
            break;
    }
    ks_openssl_drain(__func__); /* undecodable keys leave errors behind */
    inh->leaf = ks_inherit_current(inh, leaf);
    if ((inh->untrusted = sk_X509_new_null()) == NULL)
        return 0;
    for (int i = 0; i < sk_X509_num(untrusted); i++)
        if (!sk_X509_push(inh->untrusted, ks_inherit_current(inh, sk_X509_value(untrusted, i))))
            return 0;
    return 1;
}

/*
 * Forgives exactly two things OpenSSL gets wrong for us, then hands over to
 * the CRL callback (which fails whatever is not its own):
 *  - the signature failure of a DSA substitute (above);
 *  - "expired" at the very second of notAfter: RFC 5280 4.1.2.5 makes the
 *    validity period inclusive ("notBefore through notAfter, inclusive"),
 *    OpenSSL's X509_cmp_time treats notAfter == now as past.
 */
static int ks_path_verify_cb(int ok, X509_STORE_CTX *sctx)
{
    if (ok == 1)
        return 1;
    const ks_inherit *inh = X509_STORE_CTX_get_ex_data(sctx, ks_inherit_index);
    STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(sctx);
    int depth = X509_STORE_CTX_get_error_depth(sctx);
    X509 *cur = X509_STORE_CTX_get_current_cert(sctx);
    if (inh != NULL && cur != NULL && X509_STORE_CTX_get_error(sctx) == X509_V_ERR_CERT_HAS_EXPIRED &&
        ASN1_TIME_cmp_time_t(X509_get0_notAfter(cur), inh->at) == 0) {
        X509_STORE_CTX_set_error(sctx, X509_V_OK);
        return 1;
    }
    if (inh != NULL && X509_STORE_CTX_get_error(sctx) == X509_V_ERR_CERT_SIGNATURE_FAILURE && depth >= 0 &&
        depth + 1 < sk_X509_num(chain) && sk_X509_value(chain, depth) == cur) {
        EVP_PKEY *ik = X509_get0_pubkey(sk_X509_value(chain, depth + 1));
        for (int i = 0; i < inh->n; i++)
            if (cur == inh->subst[i] && ik != NULL && EVP_PKEY_eq(ik, inh->signer_key[i]) == 1) {
                X509_STORE_CTX_set_error(sctx, X509_V_OK);
                return 1;
            }
    }
    return ks_crl_verify_cb(ok, sctx); /* which fails whatever is not its own */
}

static int ks_anchor_not_self_signed(const ks_ctx *ctx)
{
    for (int i = 0; i < sk_X509_num(ctx->anchors); i++)
        if (X509_self_signed(sk_X509_value(ctx->anchors, i), 0) != 1)
            return 1;
    return 0;
}

/*
 * OpenSSL checks validity periods from the anchor down (internal_verify), so
 * an expired anchor hides an expired or not yet valid certificate below it.
 * The verdict reports the first certificate outside its validity from the
 * leaf up, the one its reasons speak of; below `*depth` only, so the result
 * is never a certificate OpenSSL did not get to.  The period is inclusive
 * (RFC 5280 4.1.2.5), as ks_path_verify_cb has it.
 */
static X509 *ks_first_out_of_validity(STACK_OF(X509) *chain, time_t at, int *depth, int *err, X509 *cur)
{
    for (int i = 0; i < *depth && i < sk_X509_num(chain); i++) {
        X509 *x = sk_X509_value(chain, i);
        int nb = ASN1_TIME_cmp_time_t(X509_get0_notBefore(x), at);
        int na = ASN1_TIME_cmp_time_t(X509_get0_notAfter(x), at);
        if (nb == 1 || na == -1) {
            *depth = i;
            *err = nb == 1 ? X509_V_ERR_CERT_NOT_YET_VALID : X509_V_ERR_CERT_HAS_EXPIRED;
            return x;
        }
    }
    return cur;
}

/* "<OpenSSL's error> (at depth N: <which certificate>)".  A CA certificate
 * or an anchor is named by its subject; the end-entity certificate is not
 * (a citizen's subject says where the holder lives). */
static void ks_failure_detail(const ks_ctx *ctx, ks_path_result *res, int err, X509 *cur)
{
    int d = res->error_depth;
    int anchor = cur != NULL && d == sk_X509_num(res->chain) - 1 && ks_in_stack(ctx->anchors, cur);
    const char *what = anchor ? "the trust anchor" : d == 0 ? "the end-entity certificate" : "the CA certificate";
    char *subject = cur != NULL && (anchor || d > 0) ? ks_name_string(X509_get_subject_name(cur)) : NULL;
    /* Room for the rest of the detail, cut on a UTF-8 boundary (JSON). */
    size_t len = subject != NULL ? strlen(subject) : 0;
    if (len > 120) {
        len = 120;
        while (len > 0 && ((unsigned char)subject[len] & 0xc0) == 0x80)
            len--;
        subject[len] = '\0';
    }
    snprintf(res->detail, sizeof res->detail, "%s (at depth %d: %s%s%s)", X509_verify_cert_error_string(err),
             res->error_depth, what, subject ? " " : "", subject ? subject : "");
    free(subject);
}

static void ks_validate_path(const ks_ctx *ctx, X509 *leaf, STACK_OF(X509) *untrusted, time_t at,
                             const time_t *claimed, ks_crl_opts *crl, const ks_inherit *inh, ks_path_result *res)
{
    X509_STORE_CTX *sctx = X509_STORE_CTX_new();
    memset(res, 0, sizeof *res);
    res->indication = KS_INDETERMINATE; /* fail closed until proven */
    res->sub = KS_SUB_NO_CERTIFICATE_CHAIN_FOUND;
    if (sctx == NULL || X509_STORE_CTX_init(sctx, ctx->store, leaf, untrusted) != 1) {
        ks_log_openssl("X509_STORE_CTX_init");
        snprintf(res->detail, sizeof res->detail, "internal error preparing path validation");
        goto done;
    }
    X509_VERIFY_PARAM *vp = X509_STORE_CTX_get0_param(sctx);
    X509_VERIFY_PARAM_set_time(vp, at);
    X509_VERIFY_PARAM_set_depth(vp, ctx->limits.max_path_length);
    unsigned long flags = X509_V_FLAG_POLICY_CHECK;
    /* RFC 5280 6.1.1: accept_policies is the user-initial-policy-set; when
     * it names policies, an explicit policy is required (c, d, e inputs). */
    if (ks_policy_explicit(ctx))
        flags |= X509_V_FLAG_EXPLICIT_POLICY;
    if (ctx->inhibit_policy_mapping)
        flags |= X509_V_FLAG_INHIBIT_MAP;
    if (ctx->inhibit_any_policy)
        flags |= X509_V_FLAG_INHIBIT_ANY;
    if (crl != NULL) {
        /* RFC 5280 6.3 on every certificate of the path, with indirect CRLs,
         * distribution point scopes and delta CRLs (5.2.4) understood. */
        flags |= X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL | X509_V_FLAG_EXTENDED_CRL_SUPPORT |
                 X509_V_FLAG_USE_DELTAS;
        X509_STORE_CTX_set0_crls(sctx, crl->crls);
        if (CRYPTO_THREAD_run_once(&ks_crl_once, ks_crl_index_init) != 1 || ks_crl_opts_index < 0 ||
            X509_STORE_CTX_set_ex_data(sctx, ks_crl_opts_index, crl) != 1)
            goto done;
        X509_STORE_CTX_set_verify_cb(sctx, ks_crl_verify_cb);
    }
    if (inh != NULL) {
        if (CRYPTO_THREAD_run_once(&ks_inherit_once, ks_inherit_index_init) != 1 || ks_inherit_index < 0 ||
            X509_STORE_CTX_set_ex_data(sctx, ks_inherit_index, (void *)inh) != 1)
            goto done;
        X509_STORE_CTX_set_verify_cb(sctx, ks_path_verify_cb);
    }
    /* RFC 5280 6.1.1 (d): a trust anchor is a name and a key, self-signed or
     * not.  OpenSSL ends a path only at a self-signed certificate unless
     * PARTIAL_CHAIN is set; that flag is a fail-open trap when the store
     * holds anything but anchors, and ours holds exactly the configured
     * anchors (config.c), so it only lets a configured anchor that is not
     * self-signed end the path it was configured to end. */
    if (ks_anchor_not_self_signed(ctx))
        flags |= X509_V_FLAG_PARTIAL_CHAIN;
    X509_VERIFY_PARAM_set_flags(vp, flags);
    if (sk_ASN1_OBJECT_num(ctx->policies) > 0 && X509_VERIFY_PARAM_set1_policies(vp, ctx->policies) != 1) {
        ks_log_openssl("X509_VERIFY_PARAM_set1_policies");
        goto done;
    }
    int rv = X509_verify_cert(sctx);
    res->chain = X509_STORE_CTX_get1_chain(sctx);
    if (rv == 1) {
        int depth = 0;
        if (!ks_alg_chain_ok(ctx, res->chain, &depth, res->detail, sizeof res->detail)) {
            res->indication = KS_INDETERMINATE;
            res->sub = KS_SUB_CRYPTO_CONSTRAINTS_FAILURE;
            res->error_depth = depth;
        } else {
            ks_map_error(X509_V_OK, NULL, claimed, res);
        }
    } else {
        int err = X509_STORE_CTX_get_error(sctx), depth = X509_STORE_CTX_get_error_depth(sctx);
        X509 *cur = X509_STORE_CTX_get_current_cert(sctx);
        if (err == X509_V_OK) /* a negative return without an error code */
            err = X509_V_ERR_UNSPECIFIED;
        if (err == X509_V_ERR_CERT_HAS_EXPIRED || err == X509_V_ERR_CERT_NOT_YET_VALID)
            cur = ks_first_out_of_validity(res->chain, at, &depth, &err, cur);
        res->x509_error = err;
        res->error_depth = depth;
        ks_map_error(err, cur, claimed, res);
        ks_failure_detail(ctx, res, err, cur);
    }
done:
    ks_openssl_drain(__func__);
    X509_STORE_CTX_free(sctx);
}

static void ks_validate_one(const ks_ctx *ctx, X509 *leaf, STACK_OF(X509) *untrusted, time_t at,
                            const time_t *claimed, ks_crl_opts *crl, ks_path_result *res)
{
    ks_inherit inh;
    int prepared = ks_inherit_prepare(ctx, leaf, untrusted, &inh);
    inh.at = at;
    if (!prepared) {
        ks_inherit_free(&inh);
        memset(res, 0, sizeof *res);
        res->indication = KS_INDETERMINATE;
        res->sub = KS_SUB_NO_CERTIFICATE_CHAIN_FOUND;
        snprintf(res->detail, sizeof res->detail, "internal error preparing path validation");
        return;
    }
    ks_validate_path(ctx, inh.leaf, inh.untrusted, at, claimed, crl, &inh, res);
    if (res->indication != KS_TOTAL_PASSED && inh.leaf == leaf && ks_dsa_params_absent(leaf)) {
        /* OpenSSL stops at the undecodable key with no error code. */
        res->sub = KS_SUB_NO_CERTIFICATE_CHAIN_FOUND;
        snprintf(res->detail, sizeof res->detail,
                 "DSA key without domain parameters, and no issuer's verified DSA signature to inherit them "
                 "from (RFC 3279 2.3.2)");
    }
    /* Report the certificates as they were presented, not the substitutes. */
    for (int i = 0; res->chain != NULL && i < sk_X509_num(res->chain); i++) {
        X509 *x = sk_X509_value(res->chain, i);
        for (int k = 0; k < inh.n; k++)
            if (x == inh.subst[k] && X509_up_ref(inh.orig[k]) == 1) {
                sk_X509_set(res->chain, i, inh.orig[k]);
                X509_free(x);
                break;
            }
    }
    ks_inherit_free(&inh);
}

/* ---------------- the depth-first builder ---------------- */

typedef struct {
    const ks_ctx *ctx;
    const ks_path_input *in;
    time_t at;
    const time_t *claimed;
    X509 *path[KS_MAX_DEPTH];
    int depth;
    int tried;      /* complete paths validated */
    int visits;     /* nodes expanded, capped to bound the work */
    int done;       /* a path validated */
    int have;       /* res holds a candidate's result */
    ks_path_result *res;
} ks_builder;

/* A failure that says more than "no chain" is preferred for reporting. */
static int ks_better_failure(const ks_path_result *a, const ks_path_result *b)
{
    return b->sub == KS_SUB_NO_CERTIFICATE_CHAIN_FOUND && a->sub != KS_SUB_NO_CERTIFICATE_CHAIN_FOUND;
}

/* A path through a certificate OpenSSL cannot policy-process safely
 * (ks_policy_cache_unsafe) is refused unvalidated; the anchor is not
 * policy-processed (RFC 5280 6.1: it is not part of the path). */
static int ks_refuse_unsafe_policy(ks_builder *b, X509 *anchor, ks_path_result *r)
{
    int d = 0;
    while (d < b->depth && (b->path[d] == anchor || !ks_policy_cache_unsafe(b->path[d])))
        d++;
    if (d == b->depth)
        return 0;
    memset(r, 0, sizeof *r);
    r->indication = KS_INDETERMINATE;
    r->sub = KS_SUB_POLICY_PROCESSING_ERROR;
    r->x509_error = X509_V_ERR_INVALID_POLICY_EXTENSION;
    r->error_depth = d;
    snprintf(r->detail, sizeof r->detail,
             "policyConstraints without a certificatePolicies extension of distinct policies: not processed "
             "(at depth %d)", d);
    /* The path as it would have been validated, leaf first, anchor last
     * (the anchor is never on b->path here: a lone anchor is not refused). */
    r->chain = sk_X509_new_null();
    for (int i = 0; r->chain != NULL && i <= b->depth; i++) {
        X509 *x = i < b->depth ? b->path[i] : anchor;
        if (X509_up_ref(x) == 1 && !sk_X509_push(r->chain, x))
            X509_free(x);
    }
    return 1;
}

static void ks_try_path(ks_builder *b, X509 *anchor)
{
    STACK_OF(X509) *untrusted = sk_X509_new_null();
    ks_path_result r;
    if (untrusted == NULL)
        return;
    for (int i = 1; i < b->depth; i++)
        sk_X509_push(untrusted, b->path[i]);
    /* the store holds the anchor; OpenSSL finds it by the same rules */
    if (!ks_refuse_unsafe_policy(b, anchor, &r))
        ks_validate_one(b->ctx, b->path[0], untrusted, b->at, b->claimed, NULL, &r);
    sk_X509_free(untrusted);
    b->tried++;
    if (r.indication == KS_TOTAL_PASSED) {
        ks_path_result_clear(b->res);
        *b->res = r;
        b->done = b->have = 1;
    } else if (!b->have || ks_better_failure(&r, b->res)) {
        ks_path_result_clear(b->res);
        *b->res = r;
        b->have = 1;
    } else {
        ks_path_result_clear(&r);
    }
}

static int ks_on_path(const ks_builder *b, X509 *x)
{
    for (int i = 0; i < b->depth; i++)
        if (X509_cmp(b->path[i], x) == 0)
            return 1;
    return 0;
}

static void ks_extend(ks_builder *b);

/* X509_check_issued, except that a CA whose DSA key inherits its parameters
 * (RFC 3279 2.3.2) cannot be decoded yet: name and key identifier matched,
 * so the path is worth validating, where the key is completed. */
static int ks_may_issue(X509 *cand, X509 *subject)
{
    int rv = X509_check_issued(cand, subject);
    return rv == X509_V_OK || (rv == X509_V_ERR_NO_ISSUER_PUBLIC_KEY && ks_dsa_params_absent(cand));
}

static void ks_consider(ks_builder *b, X509 *cand, int is_anchor, STACK_OF(X509) *seen)
{
    X509 *top = b->path[b->depth - 1];
    if (b->done || b->tried >= b->ctx->limits.max_paths || ks_in_stack(seen, cand) ||
        !ks_may_issue(cand, top))
        return;
    ks_openssl_drain(__func__);
    sk_X509_push(seen, cand);
    if (is_anchor) {
        ks_try_path(b, cand);
        return;
    }
    if (ks_on_path(b, cand) || b->depth + 1 >= b->ctx->limits.max_path_length || b->depth + 1 >= KS_MAX_DEPTH)
        return;
    b->path[b->depth++] = cand;
    ks_extend(b);
    b->depth--;
}

static void ks_extend(ks_builder *b)
{
    STACK_OF(X509) *pools[2] = {b->ctx->intermediates, b->in ? b->in->embedded : NULL};
    if (++b->visits > 16 * b->ctx->limits.max_paths)
        return;
    STACK_OF(X509) *seen = sk_X509_new_null();
    if (seen == NULL)
        return;
    /* Anchors first: the shortest path to a trust anchor is tried first. */
    for (int i = 0; i < sk_X509_num(b->ctx->anchors); i++)
        ks_consider(b, sk_X509_value(b->ctx->anchors, i), 1, seen);
    for (int p = 0; p < 2; p++)
        for (int i = 0; pools[p] != NULL && i < sk_X509_num(pools[p]); i++) {
            X509 *c = sk_X509_value(pools[p], i);
            if (!ks_in_stack(b->ctx->anchors, c)) /* a known anchor is only ever an anchor */
                ks_consider(b, c, 0, seen);
        }
    sk_X509_free(seen);
}

static void ks_path_validate_uncached(const ks_ctx *ctx, X509 *leaf, const ks_path_input *in, time_t at,
                                      const time_t *claimed, ks_path_result *res)
{
    ks_builder b = {.ctx = ctx, .in = in, .at = at, .claimed = claimed, .res = res};
    memset(res, 0, sizeof *res);
    b.path[0] = leaf;
    b.depth = 1;
    if (ks_in_stack(ctx->anchors, leaf)) {
        ks_try_path(&b, leaf); /* the anchor itself */
    } else {
        ks_extend(&b);
    }
    if (!b.have) {
        res->indication = KS_INDETERMINATE;
        res->sub = KS_SUB_NO_CERTIFICATE_CHAIN_FOUND;
        res->x509_error = X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY;
        snprintf(res->detail, sizeof res->detail, "no path from the certificate to a trust anchor");
        res->chain = sk_X509_new_null();
        if (res->chain != NULL && X509_up_ref(leaf) == 1 && !sk_X509_push(res->chain, leaf))
            X509_free(leaf);
    }
}

static void ks_path_check_crls_pass(const ks_ctx *ctx, STACK_OF(X509) *chain, STACK_OF(X509_CRL) *crls,
                                    time_t at, const time_t *claimed, const unsigned char *established,
                                    int tolerate_missing, const ks_crl_past *past, unsigned char *missing,
                                    ks_path_result *res)
{
    int n = sk_X509_num(chain);
    ks_crl_opts o = {.crls = crls, .established = established, .tolerate_missing = tolerate_missing,
                     .past = past, .missing = missing, .n = n};
    STACK_OF(X509) *untrusted = sk_X509_new_null();
    memset(res, 0, sizeof *res);
    if (untrusted == NULL || n < 1) {
        res->indication = KS_INDETERMINATE;
        res->sub = KS_SUB_TRY_LATER;
        sk_X509_free(untrusted);
        return;
    }
    /* The same path again: its own certificates first, so OpenSSL's issuer
     * search (first time-valid match) rebuilds it; then the configured
     * certificates, where OpenSSL looks for a CRL issuer that is not on the
     * path (indirect CRLs, separate CRL signing keys: RFC 5280 5.2.5, 6.3.3
     * (f); PKITS 4.4.19, 4.5.4, 4.5.6, 4.14.24-33). */
    for (int i = 1; i < n - 1; i++)
        sk_X509_push(untrusted, sk_X509_value(chain, i));
    for (int i = 0; i < sk_X509_num(ctx->intermediates); i++)
        sk_X509_push(untrusted, sk_X509_value(ctx->intermediates, i));
    ks_validate_one(ctx, sk_X509_value(chain, 0), untrusted, at, claimed, &o, res);
    sk_X509_free(untrusted);
    /* A status established for another path says nothing about this one. */
    int same = res->chain != NULL && sk_X509_num(res->chain) == n;
    for (int i = 0; same && i < n; i++)
        same = X509_cmp(sk_X509_value(res->chain, i), sk_X509_value(chain, i)) == 0;
    if (!same) {
        res->indication = KS_INDETERMINATE;
        res->sub = KS_SUB_TRY_LATER;
        snprintf(res->detail, sizeof res->detail, "the revocation check did not rebuild the validated path");
    }
}

/*
 * What OpenSSL's CRL check does not know, and a CRL must meet to give a "not
 * revoked" status (found by fuzz/fuzz_crl_sign.c):
 *   - the algorithm policy holds for CRL signatures as for certificates and
 *     OCSP responses (ocsp.c): no status from a refused digest (SHA-1
 *     unless allow_sha1);
 *   - removeFromCRL belongs in delta CRLs only (RFC 5280 5.3.1).  A
 *     complete CRL that says it about a certificate of the path (possibly
 *     next to an entry revoking the same serial: OpenSSL's lookup takes
 *     whichever sorts first and answers "not revoked" for removeFromCRL)
 *     contradicts itself, and gives that path no status.
 * Serial numbers are compared alone (an indirect CRL's entries may name
 * other issuers): at worst a status is missing, never a wrong one.
 */
static int ks_crl_gives_status(const ks_ctx *ctx, X509_CRL *crl, STACK_OF(X509) *chain)
{
    int md = NID_undef, pk = NID_undef, ok = 1;
    if (OBJ_find_sigid_algs(X509_CRL_get_signature_nid(crl), &md, &pk) == 1 && !ks_alg_digest_ok(ctx, md)) {
        int proven = 0; /* older than the sha1 sunset, by a timestamp over it (revoke.c ks_emb_crls) */
        for (int i = 0; md == NID_sha1 && i < ctx->alg.n_evidence_sha1_crls; i++)
            proven |= ctx->alg.evidence_sha1_crls[i] == crl;
        if (!proven)
            return 0;
    }
    ASN1_INTEGER *delta = X509_CRL_get_ext_d2i(crl, NID_delta_crl, NULL, NULL);
    STACK_OF(X509_REVOKED) *revs = X509_CRL_get_REVOKED(crl);
    for (int i = 0; delta == NULL && ok && i < sk_X509_REVOKED_num(revs); i++) {
        X509_REVOKED *rev = sk_X509_REVOKED_value(revs, i);
        int listed = 0;
        for (int k = 0; !listed && k < sk_X509_num(chain); k++)
            listed = ASN1_INTEGER_cmp(X509_REVOKED_get0_serialNumber(rev),
                                      X509_get0_serialNumber(sk_X509_value(chain, k))) == 0;
        if (!listed)
            continue;
        ASN1_ENUMERATED *reason = X509_REVOKED_get_ext_d2i(rev, NID_crl_reason, NULL, NULL);
        ok = reason == NULL || ASN1_ENUMERATED_get(reason) != CRL_REASON_REMOVE_FROM_CRL;
        ASN1_ENUMERATED_free(reason);
    }
    ASN1_INTEGER_free(delta);
    ks_openssl_drain(__func__);
    return ok;
}

/* A CRL that gives no status is checked twice: with every CRL first, so
 * what it says is revoked still counts (believing a revocation is failing
 * closed); then, if that passed, with only the CRLs that give a status. */
static void ks_path_check_crls_uncached(const ks_ctx *ctx, STACK_OF(X509) *chain, STACK_OF(X509_CRL) *crls,
                                        time_t at, const time_t *claimed, const unsigned char *established,
                                        int tolerate_missing, const ks_crl_past *past, unsigned char *missing,
                                        ks_path_result *res)
{
    STACK_OF(X509_CRL) *usable = NULL;
    int weak = 0;
    ks_path_check_crls_pass(ctx, chain, crls, at, claimed, established, tolerate_missing, past, missing, res);
    for (int i = 0; i < sk_X509_CRL_num(crls); i++)
        weak |= !ks_crl_gives_status(ctx, sk_X509_CRL_value(crls, i), chain);
    if (res->indication != KS_TOTAL_PASSED || !weak)
        goto done;
    ks_path_result_clear(res);
    int ok = (usable = sk_X509_CRL_new_null()) != NULL;
    for (int i = 0; ok && i < sk_X509_CRL_num(crls); i++)
        if (ks_crl_gives_status(ctx, sk_X509_CRL_value(crls, i), chain))
            ok = sk_X509_CRL_push(usable, sk_X509_CRL_value(crls, i)) > 0;
    if (!ok) {
        res->indication = KS_INDETERMINATE;
        res->sub = KS_SUB_TRY_LATER;
        snprintf(res->detail, sizeof res->detail, "out of memory checking CRLs");
        goto done;
    }
    ks_path_check_crls_pass(ctx, chain, usable, at, claimed, established, tolerate_missing, past, missing, res);
done:
    ks_openssl_drain(__func__);
    sk_X509_CRL_free(usable);
}

/* ---------------- reuse (verify/vcache.c) ---------------- */

static int ks_hash_cert(ks_vcache *c, EVP_MD_CTX *h, X509 *x)
{
    unsigned char d[32];
    return ks_vc_cert_hash(c, x, d) && EVP_DigestUpdate(h, d, sizeof d) == 1;
}

static int ks_hash_certs(ks_vcache *c, EVP_MD_CTX *h, STACK_OF(X509) *sk)
{
    int n = sk_X509_num(sk); /* -1 for NULL: told apart from empty */
    if (EVP_DigestUpdate(h, &n, sizeof n) != 1)
        return 0;
    for (int i = 0; i < n; i++)
        if (!ks_hash_cert(c, h, sk_X509_value(sk, i)))
            return 0;
    return 1;
}

/*
 * Path building and validation is a function of the context (anchors,
 * intermediates, policy: one cache per context), the leaf, the embedded
 * certificates in their order, and the validation time only through the
 * validity periods of those certificates.  A PASSED result is therefore
 * reused for the same DER inputs while the time stays inside a window no
 * notBefore/notAfter of any of them crosses.  `claimed` only shapes
 * failures, which are never reused.
 */
void ks_path_validate(const ks_ctx *ctx, X509 *leaf, const ks_path_input *in, time_t at,
                      const time_t *claimed, ks_path_result *res)
{
    ks_vcache *c = ctx->vcache;
    STACK_OF(X509) *emb = in != NULL ? in->embedded : NULL;
    unsigned char key[32];
    EVP_MD_CTX *h = NULL;
    int keyed = ks_vc_hash_init(c, &h, "path-v1");
    if (keyed)
        keyed = ks_hash_cert(c, h, leaf) && ks_hash_certs(c, h, emb);
    if (h != NULL)
        keyed = ks_vc_hash_final(h, key) && keyed;
    ks_openssl_drain(__func__);
    if (keyed && ks_vcache_get_result(c, key, at, res, NULL, 0))
        return;
    ks_path_validate_uncached(ctx, leaf, in, at, claimed, res);
    if (keyed && res->indication == KS_TOTAL_PASSED) {
        ks_vc_window w;
        ks_vc_window_init(&w, at);
        ks_vc_window_cert(&w, leaf);
        ks_vc_window_certs(&w, emb);
        ks_vc_window_ctx(&w, ctx);
        ks_vcache_put_result(c, key, &w, res, NULL, 0);
    }
}

/*
 * The CRL re-check is a function of the path, the CRLs (by identity, in
 * their order), which depths are already established, tolerate_missing
 * and the time: through the certificates' validity (the path, the
 * configured certificates, the anchors) and the CRLs' thisUpdate and
 * nextUpdate.  A PASSED result (with its `missing` flags) is reused inside
 * the window none of those boundaries crosses; a revocation or any failure
 * is recomputed every time.  A CRL that changes (a refresh, a newer one
 * from the network) is another key.
 */
void ks_path_check_crls(const ks_ctx *ctx, STACK_OF(X509) *chain, STACK_OF(X509_CRL) *crls, time_t at,
                        const time_t *claimed, const unsigned char *established, int tolerate_missing,
                        const ks_crl_past *past, unsigned char *missing, ks_path_result *res)
{
    ks_vcache *c = ctx->vcache;
    int n = sk_X509_num(chain), ncrl = sk_X509_CRL_num(crls);
    unsigned char key[32];
    EVP_MD_CTX *h = NULL;
    /* Past signature validation is not reused: its forgiveness is the
     * caller's judgement of one signature's POE. */
    int keyed = past == NULL && n >= 1 && n <= KS_VC_MAX_DEPTH && ks_vc_hash_init(c, &h, "crl-recheck-v1");
    if (keyed) {
        unsigned char flags[2] = {(unsigned char)(tolerate_missing != 0), (unsigned char)(claimed != NULL)};
        keyed = ks_hash_certs(c, h, chain) && EVP_DigestUpdate(h, established, (size_t)n) == 1 &&
                EVP_DigestUpdate(h, flags, sizeof flags) == 1 &&
                (claimed == NULL || EVP_DigestUpdate(h, claimed, sizeof *claimed) == 1) &&
                EVP_DigestUpdate(h, &ncrl, sizeof ncrl) == 1;
        for (int i = 0; keyed && i < ncrl; i++)
            keyed = ks_vc_hash_crl(h, sk_X509_CRL_value(crls, i));
    }
    if (h != NULL)
        keyed = ks_vc_hash_final(h, key) && keyed;
    ks_openssl_drain(__func__);
    if (keyed && ks_vcache_get_result(c, key, at, res, missing, n))
        return;
    ks_path_check_crls_uncached(ctx, chain, crls, at, claimed, established, tolerate_missing, past, missing, res);
    if (keyed && res->indication == KS_TOTAL_PASSED) {
        ks_vc_window w;
        ks_vc_window_init(&w, at);
        ks_vc_window_certs(&w, chain);
        ks_vc_window_ctx(&w, ctx);
        for (int i = 0; i < ncrl; i++)
            ks_vc_window_crl(&w, sk_X509_CRL_value(crls, i));
        ks_vcache_put_result(c, key, &w, res, missing, n);
    }
}
