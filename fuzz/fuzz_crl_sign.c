/*
 * fuzz/fuzz_crl_sign.c - CRLs past the signature: the input is a recipe (a
 * fixed layout of bytes read through a cursor) for one to three CRLs that
 * the harness builds with OpenSSL's encoders and SIGNS with the test PKI's
 * Nagano Prefecture CA key (build/pki/pref-ca.key), so every input reaches
 * what comes after the signature check.  Each CRL then goes, in order and
 * in the same issuer + URL scope (a fresh scope per input), through
 *   - ks_crl_decode (verify/revoke.c: the cache's decode step: issuer,
 *     signature, thisUpdate/nextUpdate at the validation time with the
 *     clock skew, crlNumber and thisUpdate never going back), and, when it
 *     accepts,
 *   - ks_path_check_crls on the validated path of citizen-rsa (the status
 *     of every CA above it taken as established, so the leaf's status must
 *     come from this CRL: RFC 5280 6.3).
 *
 * The recipe picks, per CRL: its own validation time; issuer name and key
 * (right, right name with another CA's key, another CA's name with the
 * right key); thisUpdate and nextUpdate (or none) around the validation
 * time; the signature digest; crlNumber (or none); deltaCRLIndicator; an
 * unknown critical CRL extension; an issuingDistributionPoint (onlyUser /
 * onlyCA / onlyAttribute / onlySomeReasons / indirectCRL, with the leaf's
 * distribution point name, another name or none); 0-3 revoked entries
 * (our serial, another, ours + 1) with reason (removeFromCRL and
 * certificateHold included), invalidityDate and an unknown critical entry
 * extension.
 *
 * Oracles (issue #25: kensho may be stricter than OpenSSL, never looser):
 *   decode: ks_crl_decode accepting a CRL implies it names the CA, verifies
 *     with the CA's key, has a nextUpdate after the validation time and a
 *     thisUpdate not later than the time plus the skew; and a CRL accepted
 *     after another one of the same scope is not older by crlNumber (when
 *     both have one) nor by thisUpdate (RFC 5280 5.2.3: never go back).
 *   status: ks_path_check_crls giving TOTAL_PASSED for the leaf implies
 *     - X509_verify_cert with X509_V_FLAG_CRL_CHECK at the same time and
 *       the same CRL, the issuing CA as the only (partial-chain) anchor,
 *       succeeds;
 *     - the plain arithmetic of RFC 5280 agrees: thisUpdate <= time <=
 *       nextUpdate, not a delta CRL (5.2.4: a delta alone is no status), no
 *       unknown critical extension on the CRL or an entry, our serial not
 *       listed with any reason (removeFromCRL belongs in delta CRLs only,
 *       5.3.1: OpenSSL reads it as "not revoked" even on a complete CRL,
 *       and even beside an entry revoking the same serial; kensho gives
 *       such a CRL no status, deliberately stricter), an IDP
 *       whose scope covers an end-entity certificate for all reasons and
 *       whose name, if any, is the leaf's distribution point (5.2.5, 6.3.3).
 *     - kensho's algorithm policy holds for CRLs as for everything else:
 *       no status from a CRL signed with SHA-1 (allow_sha1 false).
 * A disagreement aborts with the rule that failed.
 */
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "fuzz.h"
#include "internal.h"

/* ---------------- the world ---------------- */

static ks_ctx *fz_ctx;
static int fz_skew;
static char fz_fp[65];
static STACK_OF(X509) *fz_chain; /* citizen-rsa's validated path, leaf first */
static X509 *leaf, *issuer, *rogue;
static EVP_PKEY *cakey, *roguekey;
static ASN1_INTEGER *serial, *serial_next, *other_serial;
static DIST_POINT_NAME *leaf_dp; /* the leaf's CRL distribution point name */
static X509_STORE *store;
static unsigned long fz_scope_seq;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fz_skew = 120;
    char rev[128];
    snprintf(rev, sizeof rev, "{\"mode\": \"require\", \"clock_skew_s\": %d}", fz_skew);
    fz_ctx = fz_ctx_load(rev, "");
    issuer = fz_read_pem("pref-ca-self.pem");
    rogue = fz_read_pem("rogue-ca.pem");
    cakey = fz_read_key("pref-ca.key");
    roguekey = fz_read_key("rogue-ca.key");
    leaf = fz_read_pem("citizen-rsa.pem");
    if (!ks_registry_put(fz_ctx->registry, issuer, fz_fp))
        fz_die("registry", "cannot register the issuer");
    ks_path_input in = {0};
    ks_path_result res;
    ks_path_validate(fz_ctx, leaf, &in, ks_ctx_now(fz_ctx), NULL, &res);
    if (res.indication != KS_TOTAL_PASSED || res.chain == NULL || sk_X509_num(res.chain) < 2)
        fz_die("citizen-rsa", "does not validate against the test PKI");
    fz_chain = res.chain;
    res.chain = NULL;
    ks_path_result_clear(&res);
    serial = ASN1_INTEGER_dup(X509_get0_serialNumber(leaf));
    BIGNUM *bn = ASN1_INTEGER_to_BN(serial, NULL);
    other_serial = ASN1_INTEGER_new();
    if (bn == NULL || BN_add_word(bn, 1) != 1 || (serial_next = BN_to_ASN1_INTEGER(bn, NULL)) == NULL ||
        other_serial == NULL || ASN1_INTEGER_set(other_serial, 424242) != 1)
        fz_die("init", "out of memory");
    BN_free(bn);
    STACK_OF(DIST_POINT) *dps = X509_get_ext_d2i(leaf, NID_crl_distribution_points, NULL, NULL);
    if (dps == NULL || sk_DIST_POINT_num(dps) < 1 || sk_DIST_POINT_value(dps, 0)->distpoint == NULL ||
        (leaf_dp = ASN1_item_dup(ASN1_ITEM_rptr(DIST_POINT_NAME), sk_DIST_POINT_value(dps, 0)->distpoint)) ==
            NULL)
        fz_die("citizen-rsa", "no CRL distribution point");
    sk_DIST_POINT_pop_free(dps, DIST_POINT_free);
    /* The second opinion's anchor: the CA that issued the leaf (the
     * certificate of the validated path), as a partial-chain anchor, so
     * only the leaf's CRL check is compared. */
    if ((store = X509_STORE_new()) == NULL || X509_STORE_add_cert(store, sk_X509_value(fz_chain, 1)) != 1)
        fz_die("store", "out of memory");
    ERR_clear_error();
    return 0;
}

/* ---------------- building CRLs from the recipe ---------------- */

enum { FZ_IDP_USER, FZ_IDP_CA, FZ_IDP_ATTR, FZ_IDP_REASONS, FZ_IDP_INDIRECT, FZ_IDP_PLAIN, FZ_IDP_KINDS };

typedef struct {
    time_t at, this_update, next_update;
    int has_next, has_number, delta, crit_ext, idp, idp_kind, idp_name; /* idp_name 0 none, 1 leaf's, 2 other */
    int issuer_variant;                                                   /* 0 right, 1 rogue key, 2 rogue name */
    int sha1;                                                             /* signed with SHA-1 */
    long number;
    int n_rev;
    struct {
        int which; /* 0 ours, 1 another, 2 ours + 1 */
        int has_reason, reason, has_inv, crit_ext;
        time_t when;
    } rev[3];
} fz_crl_recipe;

static void fz_read_recipe(fz_in *in, fz_crl_recipe *rc)
{
    unsigned f1 = fz_u8(in), f2 = fz_u8(in);
    memset(rc, 0, sizeof *rc);
    rc->issuer_variant = (int)((f1 & 3) % 3);
    rc->has_number = (f1 & 8) != 0;
    rc->delta = (f1 & 0x10) != 0;
    rc->crit_ext = (f1 & 0x20) != 0;
    rc->idp = (f1 & 0x40) != 0;
    rc->has_next = (f1 & 0x80) == 0;
    rc->idp_kind = (int)((f2 & 7) % FZ_IDP_KINDS);
    rc->idp_name = (int)(((f2 >> 3) & 3) % 3);
    /* validation time and thisUpdate independently around the harness's
     * now (minutes): the same CRL meets many validation times, which is
     * what the verification cache's reuse windows must survive. */
    rc->at = fz_now + fz_s16(in) * 60;
    rc->this_update = fz_now + fz_s16(in) * 60;
    rc->next_update = rc->this_update + fz_s16(in) * 60;
    rc->number = (long)fz_u8(in);
    rc->n_rev = (int)(fz_u8(in) % 4);
    for (int i = 0; i < rc->n_rev; i++) {
        unsigned e = fz_u8(in);
        rc->rev[i].which = (int)((e & 3) % 3);
        rc->rev[i].has_reason = (e & 4) != 0;
        rc->rev[i].has_inv = (e & 8) != 0;
        rc->rev[i].crit_ext = (e & 0x10) != 0;
        rc->rev[i].reason = (int)(fz_u8(in) % 11);
        if (rc->rev[i].reason == 7) /* unused value (RFC 5280 5.3.1) */
            rc->rev[i].reason = 0;
        rc->rev[i].when = rc->this_update - (long)fz_u8(in) * 3600;
    }
}

static int fz_add_unknown_crit(X509_CRL *crl, X509_REVOKED *r)
{
    ASN1_OCTET_STRING *v = ASN1_OCTET_STRING_new();
    ASN1_OBJECT *o = OBJ_txt2obj("1.3.6.1.4.1.99999.2", 1);
    X509_EXTENSION *e = v && o && ASN1_OCTET_STRING_set(v, (const unsigned char *)"\x05\x00", 2) == 1
                            ? X509_EXTENSION_create_by_OBJ(NULL, o, 1, v)
                            : NULL;
    int ok = e != NULL && (crl ? X509_CRL_add_ext(crl, e, -1) : X509_REVOKED_add_ext(r, e, -1)) == 1;
    X509_EXTENSION_free(e);
    ASN1_OBJECT_free(o);
    ASN1_OCTET_STRING_free(v);
    return ok;
}

static ISSUING_DIST_POINT *fz_idp(const fz_crl_recipe *rc)
{
    ISSUING_DIST_POINT *idp = ISSUING_DIST_POINT_new();
    if (idp == NULL)
        return NULL;
    switch (rc->idp_kind) {
    case FZ_IDP_USER:
        idp->onlyuser = 0xff;
        break;
    case FZ_IDP_CA:
        idp->onlyCA = 0xff;
        break;
    case FZ_IDP_ATTR:
        idp->onlyattr = 0xff;
        break;
    case FZ_IDP_REASONS:
        /* keyCompromise only: a partial CRL (RFC 5280 5.2.5) */
        if ((idp->onlysomereasons = ASN1_BIT_STRING_new()) == NULL ||
            ASN1_BIT_STRING_set_bit(idp->onlysomereasons, 1, 1) != 1)
            goto fail;
        break;
    case FZ_IDP_INDIRECT:
        idp->indirectCRL = 0xff;
        break;
    default:
        break;
    }
    if (rc->idp_name == 1) {
        if ((idp->distpoint = ASN1_item_dup(ASN1_ITEM_rptr(DIST_POINT_NAME), leaf_dp)) == NULL)
            goto fail;
    } else if (rc->idp_name == 2) {
        GENERAL_NAME *gn = GENERAL_NAME_new();
        ASN1_IA5STRING *u = ASN1_IA5STRING_new();
        if ((idp->distpoint = DIST_POINT_NAME_new()) == NULL || gn == NULL || u == NULL ||
            ASN1_STRING_set(u, "http://127.0.0.1:9/other.crl", -1) != 1 ||
            (idp->distpoint->name.fullname = sk_GENERAL_NAME_new_null()) == NULL) {
            GENERAL_NAME_free(gn);
            ASN1_IA5STRING_free(u);
            goto fail;
        }
        idp->distpoint->type = 0;
        GENERAL_NAME_set0_value(gn, GEN_URI, u);
        if (!sk_GENERAL_NAME_push(idp->distpoint->name.fullname, gn)) {
            GENERAL_NAME_free(gn);
            goto fail;
        }
    }
    return idp;
fail:
    ISSUING_DIST_POINT_free(idp);
    return NULL;
}

/* The CRL's DER, or NULL when OpenSSL refused to build it. */
static unsigned char *fz_build(const fz_crl_recipe *rc, int *len)
{
    unsigned char *der = NULL;
    X509_CRL *crl = X509_CRL_new();
    ASN1_TIME *tu = ASN1_TIME_set(NULL, rc->this_update), *nu = ASN1_TIME_set(NULL, rc->next_update);
    ASN1_INTEGER *num = ASN1_INTEGER_new();
    ISSUING_DIST_POINT *idp = NULL;
    EVP_PKEY *key = rc->issuer_variant == 1 ? roguekey : cakey;
    X509_NAME *name = X509_get_subject_name(rc->issuer_variant == 2 ? rogue : issuer);
    if (crl == NULL || tu == NULL || nu == NULL || num == NULL || X509_CRL_set_version(crl, X509_CRL_VERSION_2) != 1 ||
        X509_CRL_set_issuer_name(crl, name) != 1 || X509_CRL_set1_lastUpdate(crl, tu) != 1 ||
        (rc->has_next && X509_CRL_set1_nextUpdate(crl, nu) != 1))
        goto done;
    for (int i = 0; i < rc->n_rev; i++) {
        X509_REVOKED *r = X509_REVOKED_new();
        ASN1_TIME *when = ASN1_TIME_set(NULL, rc->rev[i].when);
        const ASN1_INTEGER *s = rc->rev[i].which == 0 ? serial : rc->rev[i].which == 1 ? other_serial : serial_next;
        int ok = r != NULL && when != NULL && X509_REVOKED_set_serialNumber(r, (ASN1_INTEGER *)s) == 1 &&
                 X509_REVOKED_set_revocationDate(r, when) == 1;
        if (ok && rc->rev[i].has_reason) {
            ASN1_ENUMERATED *e = ASN1_ENUMERATED_new();
            ok = e != NULL && ASN1_ENUMERATED_set(e, rc->rev[i].reason) == 1 &&
                 X509_REVOKED_add1_ext_i2d(r, NID_crl_reason, e, 0, 0) == 1;
            ASN1_ENUMERATED_free(e);
        }
        if (ok && rc->rev[i].has_inv) {
            ASN1_GENERALIZEDTIME *g = ASN1_GENERALIZEDTIME_set(NULL, rc->rev[i].when - 3600);
            ok = g != NULL && X509_REVOKED_add1_ext_i2d(r, NID_invalidity_date, g, 0, 0) == 1;
            ASN1_GENERALIZEDTIME_free(g);
        }
        if (ok && rc->rev[i].crit_ext)
            ok = fz_add_unknown_crit(NULL, r);
        ASN1_TIME_free(when);
        if (!ok || X509_CRL_add0_revoked(crl, r) != 1) {
            X509_REVOKED_free(r);
            goto done;
        }
    }
    if (X509_CRL_sort(crl) != 1)
        goto done;
    if (rc->has_number &&
        (ASN1_INTEGER_set(num, rc->number) != 1 || X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0) != 1))
        goto done;
    if (rc->delta && (ASN1_INTEGER_set(num, rc->number > 0 ? rc->number - 1 : 0) != 1 ||
                      X509_CRL_add1_ext_i2d(crl, NID_delta_crl, num, 1, 0) != 1))
        goto done;
    if (rc->idp && ((idp = fz_idp(rc)) == NULL || X509_CRL_add1_ext_i2d(crl, NID_issuing_distribution_point, idp, 1, 0) != 1))
        goto done;
    if (rc->crit_ext && !fz_add_unknown_crit(crl, NULL))
        goto done;
    if (X509_CRL_sign(crl, key, rc->sha1 ? EVP_sha1() : EVP_sha256()) <= 0)
        goto done;
    if ((*len = i2d_X509_CRL(crl, &der)) <= 0) {
        OPENSSL_free(der);
        der = NULL;
    }
done:
    ERR_clear_error();
    ISSUING_DIST_POINT_free(idp);
    ASN1_INTEGER_free(num);
    ASN1_TIME_free(tu);
    ASN1_TIME_free(nu);
    X509_CRL_free(crl);
    return der;
}

/* ---------------- the second opinions ---------------- */

static const char *fz_decode_opinion(X509_CRL *crl, const fz_crl_recipe *rc)
{
    EVP_PKEY *pk = X509_get0_pubkey(issuer);
    if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(issuer)) != 0)
        return "the CRL does not name the CA";
    if (pk == NULL || X509_CRL_verify(crl, pk) != 1)
        return "the CRL's signature does not verify with the CA's key";
    if (!rc->has_next)
        return "no nextUpdate";
    if (rc->next_update <= rc->at)
        return "nextUpdate is not after the validation time";
    if (rc->this_update > rc->at + fz_skew)
        return "thisUpdate is after the validation time (and the skew)";
    return NULL;
}

static const char *fz_status_opinion(X509_CRL *crl, const fz_crl_recipe *rc)
{
    const char *why = NULL;
    if (rc->this_update > rc->at)
        return "thisUpdate is after the validation time";
    if (!rc->has_next || rc->next_update < rc->at)
        return "nextUpdate is before the validation time";
    /* kensho's own policy (algorithms.allow_sha1 false, as for OCSP
     * responses and certificates): no status from a SHA-1 signature. */
    if (rc->sha1)
        return "a CRL signed with SHA-1 gave a status (algorithms.allow_sha1 is false)";
    if (rc->delta)
        return "a delta CRL alone gave a status (RFC 5280 5.2.4)";
    if (rc->crit_ext)
        return "an unknown critical CRL extension";
    for (int i = 0; i < rc->n_rev; i++) {
        if (rc->rev[i].crit_ext)
            return "an unknown critical CRL entry extension";
        if (rc->rev[i].which == 0)
            return "our serial is listed (removeFromCRL included: RFC 5280 5.3.1)";
    }
    if (rc->idp) {
        if (rc->idp_kind == FZ_IDP_CA)
            return "IDP onlyContainsCACerts gave an end-entity status";
        if (rc->idp_kind == FZ_IDP_ATTR)
            return "IDP onlyContainsAttributeCerts gave an end-entity status";
        if (rc->idp_kind == FZ_IDP_REASONS)
            return "IDP onlySomeReasons (keyCompromise only) gave a complete status";
        if (rc->idp_name == 2)
            return "IDP names another distribution point than the certificate's";
    }
    /* OpenSSL, the same CRL, the same time, the leaf's issuer as anchor. */
    X509_STORE_CTX *sctx = X509_STORE_CTX_new();
    STACK_OF(X509_CRL) *crls = sk_X509_CRL_new_null();
    if (sctx == NULL || crls == NULL || !sk_X509_CRL_push(crls, crl) ||
        X509_STORE_CTX_init(sctx, store, leaf, NULL) != 1) {
        why = "out of memory";
        goto done;
    }
    X509_STORE_CTX_set0_crls(sctx, crls);
    X509_VERIFY_PARAM *vp = X509_STORE_CTX_get0_param(sctx);
    X509_VERIFY_PARAM_set_time(vp, rc->at);
    X509_VERIFY_PARAM_set_flags(vp, X509_V_FLAG_CRL_CHECK | X509_V_FLAG_PARTIAL_CHAIN);
    if (X509_verify_cert(sctx) != 1) {
        static char msg[160];
        snprintf(msg, sizeof msg, "X509_verify_cert with X509_V_FLAG_CRL_CHECK: %s",
                 X509_verify_cert_error_string(X509_STORE_CTX_get_error(sctx)));
        why = msg;
    }
done:
    ERR_clear_error();
    X509_STORE_CTX_free(sctx);
    sk_X509_CRL_free(crls);
    return why;
}

static void fz_differ(const char *stage, const char *why, const fz_crl_recipe *rc)
{
    char msg[512];
    snprintf(msg, sizeof msg, "kensho %s, but: %s (at now%+lds, thisUpdate now%+lds)", stage, why,
             (long)(rc->at - fz_now), (long)(rc->this_update - fz_now));
    fz_die("differential", msg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_in in = {data, size};
    unsigned head = fz_u8(&in);
    int n_crls = 1 + (int)(head % 3);
    char key[600];
    /* A scope of its own per input: what one input feeds must not meet
     * what another fed (the registry's crlNumber record is per scope). */
    snprintf(key, sizeof key, "crl|%s|http://127.0.0.1:9/pref-ca-%lu.crl", fz_fp, ++fz_scope_seq);
    int have_prev = 0;
    long prev_number = -1;
    time_t prev_this = 0;
    for (int k = 0; k < n_crls; k++) {
        fz_crl_recipe rc;
        int len = 0;
        fz_read_recipe(&in, &rc);
        rc.sha1 = (head >> (2 + k)) & 1;
        unsigned char *der = fz_build(&rc, &len);
        if (der == NULL)
            continue;
        time_t exp = 0, issued = 0;
        X509_CRL *crl = ks_crl_decode(fz_ctx, key, der, (size_t)len, rc.at, &exp, &issued);
        OPENSSL_free(der);
        if (crl == NULL)
            continue;
        const char *why = fz_decode_opinion(crl, &rc);
        if (why == NULL && have_prev && rc.this_update < prev_this)
            why = "an older CRL (thisUpdate) was accepted after a newer one of the same scope";
        if (why == NULL && have_prev && rc.has_number && prev_number >= 0 && rc.number < prev_number)
            why = "an older CRL (crlNumber) was accepted after a newer one of the same scope";
        if (why == NULL && exp <= rc.at)
            why = "accepted with an expiry not after the validation time";
        if (why != NULL)
            fz_differ("decoded the CRL", why, &rc);
        have_prev = 1;
        prev_this = rc.this_update;
        if (rc.has_number)
            prev_number = rc.number;
        /* The leaf's status from this CRL alone: every CA above it is taken
         * as established elsewhere, nothing may be missing. */
        unsigned char established[64] = {0}, missing[64] = {0};
        int n = sk_X509_num(fz_chain);
        for (int d = 1; d < n && d < 64; d++)
            established[d] = 1;
        STACK_OF(X509_CRL) *crls = sk_X509_CRL_new_null();
        ks_path_result res;
        if (crls == NULL || !sk_X509_CRL_push(crls, crl))
            fz_die("stack", "out of memory");
        ks_path_check_crls(fz_ctx, fz_chain, crls, rc.at, NULL, established, 0, NULL, missing, &res);
        if (res.indication == KS_TOTAL_PASSED && (why = fz_status_opinion(crl, &rc)) != NULL)
            fz_differ("found the certificate not revoked", why, &rc);
        ks_path_result_clear(&res);
        sk_X509_CRL_free(crls);
        X509_CRL_free(crl);
    }
    return 0;
}
