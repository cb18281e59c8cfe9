/*
 * verify/verify.c - the two entry points: a CMS signature (RFC 5652) and a
 * bare certificate.  Both end in ks_check_signing_cert, so a certificate is
 * judged the same way whichever door it came through.
 *
 * Order per signer (ETSI EN 319 102-1 5.3): format, signing certificate
 * identification, cryptographic verification, algorithm constraints, X.509
 * validation, signer constraints, revocation.  The status starts failed and
 * becomes TOTAL_PASSED only when every step said so.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ess.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include "internal.h"

/* Adds a new item to obj, or frees it: cJSON leaves it to the caller when
 * the add fails (an allocation for the key), and the verdict is dropped then
 * anyway (verdict.c ks_verdict_finish).  0 on failure. */
static int ks_add_owned(cJSON *obj, const char *key, cJSON *item)
{
    if (item != NULL && cJSON_AddItemToObject(obj, key, item))
        return 1;
    cJSON_Delete(item);
    return 0;
}

/* RFC 5280 4.2.1.12: a certificate with extendedKeyUsage may be used only
 * for the purposes it lists, so one of them must be a purpose of signing
 * documents (configuration "signer_ekus"; anyExtendedKeyUsage among them by
 * default).  An OCSP responder's certificate (id-kp-OCSPSigning only) has
 * digitalSignature too, and signs no filings.  No extension: no limit (JPKI
 * signing certificates carry none).  An extension that does not decode, or
 * appears twice, fails. */
static int ks_signer_eku_ok(const ks_ctx *ctx, X509 *cert, char *why, size_t whylen)
{
    int ok = 0;
    if (X509_get_ext_by_NID(cert, NID_ext_key_usage, -1) < 0)
        return 1;
    EXTENDED_KEY_USAGE *eku = X509_get_ext_d2i(cert, NID_ext_key_usage, NULL, NULL);
    if (eku == NULL) {
        snprintf(why, whylen, "the extendedKeyUsage extension is malformed or repeated");
        goto done;
    }
    for (int i = 0; !ok && i < sk_ASN1_OBJECT_num(eku); i++)
        for (int j = 0; !ok && j < sk_ASN1_OBJECT_num(ctx->signer_ekus); j++)
            ok = OBJ_cmp(sk_ASN1_OBJECT_value(eku, i), sk_ASN1_OBJECT_value(ctx->signer_ekus, j)) == 0;
    if (!ok) {
        char oid[80];
        OBJ_obj2txt(oid, sizeof oid, sk_ASN1_OBJECT_value(eku, 0), 0);
        snprintf(why, whylen, "extendedKeyUsage (%s%s) names no purpose of signing documents (signer_ekus)",
                 sk_ASN1_OBJECT_num(eku) > 0 ? oid : "empty", sk_ASN1_OBJECT_num(eku) > 1 ? ", ..." : "");
    }
done:
    sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
    ks_openssl_drain(__func__);
    return ok;
}

ks_result ks_check_signing_cert_poe(ks_ctx *ctx, X509 *cert, const ks_path_input *in, time_t at,
                                    const time_t *claimed, const time_t *poe, cJSON *obj, ks_status *st)
{
    ks_result r = KS_E_NOMEM;
    ks_path_result pr;
    time_t vt = poe != NULL && *poe <= at ? *poe : at;
    if (poe != NULL && *poe > at)
        poe = NULL; /* proven later than the time asked about: proves nothing for it */
    char tbuf[32];
    ks_time_format(vt, tbuf, sizeof tbuf);
    cJSON *model = cJSON_AddObjectToObject(obj, "validation_model");
    if (model == NULL || cJSON_AddStringToObject(model, "time", tbuf) == NULL ||
        cJSON_AddStringToObject(model, "basis", poe != NULL ? "best_signature_time" : "validation_time") == NULL) {
        memset(&pr, 0, sizeof pr);
        goto done;
    }
    ks_path_validate(ctx, cert, in, vt, claimed, &pr);
    /* algorithms.sunset: a path refused only for a weak algorithm may
     * still have been acceptable at the POE (ETSI EN 319 102-1 5.2.8). */
    ks_ctx relaxed;
    ks_ctx *pctx = ctx; /* the context the path (and its CRL re-check) is judged with */
    if (poe != NULL && pr.indication == KS_INDETERMINATE && pr.sub == KS_SUB_CRYPTO_CONSTRAINTS_FAILURE &&
        ks_alg_sunset_ctx(ctx, *poe, &relaxed)) {
        ks_path_result again;
        ks_path_validate(&relaxed, cert, in, vt, claimed, &again);
        if (again.indication == KS_TOTAL_PASSED) {
            ks_path_result_clear(&pr);
            pr = again;
            pctx = &relaxed;
            if (!ks_verdict_warn(obj, "WEAK_ALGORITHM_BEFORE_SUNSET",
                                 "A certificate of the path uses an algorithm or key size no longer secure; a "
                                 "timestamp proves the signature existed before its sunset.",
                                 "証明書の経路に現在は安全でないアルゴリズムまたは鍵長が使われていますが、その利用期限より"
                                 "前に署名が存在したことがタイムスタンプで証明されています。")) {
                r = KS_E_NOMEM;
                goto done;
            }
        } else {
            ks_path_result_clear(&again);
        }
    }
    ks_status_set(st, pr.indication, pr.sub, pr.detail);
    cJSON *evidence = NULL;
    if (!ks_add_owned(obj, "chain", ks_chain_json(ctx, in, pr.chain)) ||
        (evidence = cJSON_AddArrayToObject(obj, "revocation")) == NULL)
        goto done;
    r = KS_OK;
    if (st->indication != KS_TOTAL_PASSED)
        goto done;
    /* The signer must be allowed to sign: digitalSignature or
     * nonRepudiation (RFC 5280 4.2.1.3).  No keyUsage at all allows both. */
    if ((X509_get_key_usage(cert) & (KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION)) == 0) {
        ks_status_set(st, KS_INDETERMINATE, KS_SUB_SIG_CONSTRAINTS_FAILURE,
                      "keyUsage allows neither digitalSignature nor nonRepudiation");
        goto done;
    }
    char why[200];
    if (!ks_signer_eku_ok(ctx, cert, why, sizeof why)) {
        ks_status_set(st, KS_TOTAL_FAILED, KS_SUB_CHAIN_CONSTRAINTS_FAILURE, why);
        goto done;
    }
    r = ks_revocation_check(pctx, in, at, claimed, poe, pr.chain, st, evidence, obj);
    /* Expired since the POE: passed, and the reasons say why. */
    for (int i = 0; poe != NULL && st->indication == KS_TOTAL_PASSED && i < sk_X509_num(pr.chain); i++)
        if (ASN1_TIME_cmp_time_t(X509_get0_notAfter(sk_X509_value(pr.chain, i)), at) < 0)
            st->past |= KS_PAST_EXPIRED;
done:
    ks_path_result_clear(&pr);
    return r;
}

ks_result ks_check_signing_cert(ks_ctx *ctx, X509 *cert, const ks_path_input *in, time_t at,
                                const time_t *claimed, cJSON *obj, ks_status *st)
{
    return ks_check_signing_cert_poe(ctx, cert, in, at, claimed, NULL, obj, st);
}

/* ---------------- proof of existence (ETSI EN 319 102-1 5.6.2.4) ---------------- */

cJSON *ks_timestamp_json(const ks_tsp_result *t, const char *type)
{
    char buf[32];
    const char *sub = ks_subindication_name(t->sub);
    cJSON *o = cJSON_CreateObject();
    if (t->has_time)
        ks_time_format(t->time, buf, sizeof buf);
    if (o == NULL || cJSON_AddStringToObject(o, "type", type) == NULL ||
        (t->has_time ? cJSON_AddStringToObject(o, "time", buf) : cJSON_AddNullToObject(o, "time")) == NULL ||
        (t->tsa[0] ? cJSON_AddStringToObject(o, "tsa", t->tsa) : cJSON_AddNullToObject(o, "tsa")) == NULL ||
        cJSON_AddStringToObject(o, "indication", ks_indication_name(t->indication)) == NULL ||
        (sub != NULL ? cJSON_AddStringToObject(o, "subindication", sub) : cJSON_AddNullToObject(o, "subindication")) ==
            NULL ||
        (t->detail[0] && cJSON_AddStringToObject(o, "detail", t->detail) == NULL) ||
        cJSON_AddBoolToObject(o, "message_imprint_ok", t->imprint_ok) == NULL || t->nomem ||
        /* The TSA path's revocation evidence, as a signer's "revocation"
         * ([] when the token failed before its path was judged). */
        !ks_json_set(o, "revocation", t->revocation != NULL ? cJSON_Duplicate(t->revocation, 1) : cJSON_CreateArray()) ||
        (t->warnings != NULL && !ks_json_set(o, "warnings", cJSON_Duplicate(t->warnings, 1)))) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

ks_result ks_poe_init(ks_poe *p, cJSON *sobj)
{
    memset(p, 0, sizeof *p);
    p->sobj = sobj;
    if ((p->arr = cJSON_CreateArray()) == NULL)
        return KS_E_NOMEM;
    cJSON *arr = p->arr;
    if (!ks_json_set(sobj, "timestamps", arr)) { /* consumes arr */
        p->arr = NULL;
        return KS_E_NOMEM;
    }
    return KS_OK;
}

int ks_poe_room(ks_poe *p)
{
    if (++p->seen <= KS_MAX_SIGNER_TIMESTAMPS)
        return 1;
    if (p->seen > KS_MAX_SIGNER_TIMESTAMPS + 1)
        return 0; /* said once */
    cJSON *sobj = p->sobj;
    return ks_verdict_warn(sobj, "TIMESTAMPS_NOT_CHECKED",
                           "Further signature timestamps were not checked (more than the limit).",
                           "上限を超える署名タイムスタンプは検証していません。")
               ? 0
               : -1;
}

void ks_tsp_result_fail(ks_tsp_result *t, ks_subindication sub, const char *detail)
{
    memset(t, 0, sizeof *t);
    t->indication = KS_TOTAL_FAILED;
    t->sub = sub;
    snprintf(t->detail, sizeof t->detail, "%s", detail);
}

ks_result ks_poe_add(ks_poe *p, const ks_tsp_result *t)
{
    cJSON *tj = ks_timestamp_json(t, "signature");
    if (tj == NULL || p->arr == NULL || !cJSON_AddItemToArray(p->arr, tj)) {
        cJSON_Delete(tj);
        return KS_E_NOMEM;
    }
    /* The earliest proof is the best-signature-time. */
    if (t->indication == KS_TOTAL_PASSED && t->has_time && (!p->has || t->time < p->time)) {
        p->time = t->time;
        p->has = 1;
        snprintf(p->tsa, sizeof p->tsa, "%s", t->tsa);
    }
    return KS_OK;
}

ks_result ks_poe_token(const ks_ctx *ctx, ks_poe *p, const uint8_t *der, size_t len, const ks_blob *data,
                       size_t ndata, time_t at)
{
    ks_tsp_result t;
    ks_tsp_verify(ctx, der, len, data, ndata, at, &p->env, &t);
    ks_result r = ks_poe_add(p, &t);
    ks_tsp_result_clear(&t);
    return r;
}

ks_result ks_poe_report(const ks_poe *p, cJSON *sobj)
{
    char buf[32];
    if (!p->has)
        return ks_json_set(sobj, "poe", cJSON_CreateNull()) &&
                       ks_json_set(sobj, "best_signature_time", cJSON_CreateNull())
                   ? KS_OK
                   : KS_E_NOMEM;
    ks_time_format(p->time, buf, sizeof buf);
    cJSON *o = cJSON_CreateObject();
    if (o == NULL || cJSON_AddStringToObject(o, "time", buf) == NULL ||
        cJSON_AddStringToObject(o, "source", p->source != NULL ? p->source : "signature_timestamp") == NULL ||
        cJSON_AddStringToObject(o, "tsa", p->tsa) == NULL) {
        cJSON_Delete(o);
        return KS_E_NOMEM;
    }
    return ks_json_set(sobj, "poe", o) && ks_json_set(sobj, "best_signature_time", cJSON_CreateString(buf))
               ? KS_OK
               : KS_E_NOMEM;
}

/*
 * A chain of archive timestamps, newest down (ETSI EN 319 102-1 5.6.2.5;
 * CAdES ES-A in cades.c, XAdES-A in xml_xades.c).  The newest one's TSA path
 * is validated at the validation time; a verified one proves that what it
 * covers existed at its genTime, so each older one is validated at the
 * oldest genTime among the verified newer ones that cover it (the
 * validation time when none does).  A token that fails proves nothing: the
 * ones below it are judged at the time the others prove.  A genTime after
 * that time proves nothing earlier (the min).
 */
ks_result ks_archive_chain(const ks_ctx *ctx, size_t n, int more, ks_archive_verify_fn verify,
                           ks_archive_covers_fn covers, void *arg, time_t at, cJSON *sobj, time_t *proven,
                           ks_cades_archive_result *res)
{
    cJSON *arr = cJSON_GetObjectItemCaseSensitive(sobj, "timestamps");
    time_t *gen = NULL; /* per item: its genTime when it verified, else -1 */
    time_t all = at;    /* the oldest time proven so far */
    ks_result r = KS_E_NOMEM;

    memset(res, 0, sizeof *res);
    res->next_at = at;
    if (n == 0)
        return KS_OK;
    if ((arr == NULL && (arr = cJSON_AddArrayToObject(sobj, "timestamps")) == NULL) ||
        (gen = malloc(n * sizeof *gen)) == NULL)
        goto done;
    for (size_t i = 0; i < n; i++) {
        time_t cur = at;
        for (size_t j = 0; j < i; j++)
            if (gen[j] >= 0 && gen[j] < cur && (covers == NULL || covers(arg, j, i)))
                cur = gen[j];
        ks_tsp_result t;
        memset(&t, 0, sizeof t);
        gen[i] = -1;
        if ((r = verify(ctx, arg, i, cur, &t)) != KS_OK)
            goto done;
        r = KS_E_NOMEM;
        cJSON *tj = ks_timestamp_json(&t, "archive");
        ks_tsp_result_clear(&t); /* the verdict fields stay */
        char buf[32];
        ks_time_format(cur, buf, sizeof buf);
        if (tj == NULL || cJSON_AddStringToObject(tj, "validated_at", buf) == NULL || !cJSON_AddItemToArray(arr, tj)) {
            cJSON_Delete(tj);
            goto done;
        }
        if (t.indication == KS_TOTAL_PASSED && t.has_time && t.time >= 0) {
            gen[i] = t.time;
            if (t.time < all) {
                all = t.time;
                res->poe = t.time;
                res->has_poe = 1;
                snprintf(res->tsa, sizeof res->tsa, "%s", t.tsa);
            }
        }
        if (proven != NULL)
            proven[i] = all;
    }
    res->next_at = all;
    r = KS_OK;
    if (more && !ks_verdict_warn(sobj, "TIMESTAMPS_NOT_CHECKED",
                                 "Further archive timestamps were not checked (more than the limit).",
                                 "上限を超えるアーカイブタイムスタンプは検証していません。"))
        r = KS_E_NOMEM;
done:
    free(gen);
    return r;
}

void ks_poe_archive(ks_poe *p, const ks_cades_archive_result *ar)
{
    /* An archive timestamp covers the signature value too: a POE when the
     * signature timestamps gave none. */
    if (!p->has && ar->has_poe) {
        p->time = ar->poe;
        p->has = 1;
        snprintf(p->tsa, sizeof p->tsa, "%s", ar->tsa);
        p->source = "archive_timestamp";
    }
}

/*
 * The signature timestamps of one CMS signer: each value of each unsigned
 * id-aa-signatureTimeStampToken attribute, a TimeStampToken over the
 * contents octets of the SignerInfo's signature value (RFC 3161 Appendix A,
 * ETSI EN 319 122-1 5.3).  Each TSA path is validated at the validation
 * time, or the genTime of the oldest verified archive timestamp covering
 * that token (cades.c ks_cades_archive_at, ETSI EN 319 102-1 5.6.2.5).
 */
static ks_result ks_signer_timestamps(ks_ctx *ctx, CMS_SignerInfo *si, const ks_cades_archive_result *ar, ks_poe *poe)
{
    /* poe->env: the validation time and the evidence for the TSA paths'
     * revocation (the caller's). */
    ASN1_OCTET_STRING *sv = CMS_SignerInfo_get0_signature(si);
    ks_result r = KS_OK;
    for (int idx = -1; r == KS_OK;) {
        idx = CMS_unsigned_get_attr_by_NID(si, NID_id_smime_aa_timeStampToken, idx);
        if (idx < 0)
            break;
        X509_ATTRIBUTE *a = CMS_unsigned_get_attr(si, idx);
        int nv = a != NULL ? X509_ATTRIBUTE_count(a) : 0;
        for (int v = 0; r == KS_OK && (v < nv || (v == 0 && nv == 0)); v++) {
            ASN1_TYPE *ty = nv > 0 ? X509_ATTRIBUTE_get0_type(a, v) : NULL;
            int room = ks_poe_room(poe);
            if (room <= 0) {
                r = room < 0 ? KS_E_NOMEM : KS_OK;
                goto done;
            }
            if (ty == NULL || ty->type != V_ASN1_SEQUENCE || sv == NULL) {
                ks_tsp_result t;
                ks_tsp_result_fail(&t, KS_SUB_FORMAT_FAILURE, "the signature timestamp attribute is malformed");
                r = ks_poe_add(poe, &t);
            } else {
                ks_blob covered = {.name = NULL, .data = ASN1_STRING_get0_data(sv),
                                   .len = (size_t)ASN1_STRING_length(sv)};
                const uint8_t *tok = ASN1_STRING_get0_data(ty->value.sequence);
                size_t toklen = (size_t)ASN1_STRING_length(ty->value.sequence);
                r = ks_poe_token(ctx, poe, tok, toklen, &covered, 1, ks_cades_archive_at(ar, tok, toklen));
            }
        }
    }
done:
    ks_openssl_drain(__func__);
    return r;
}

/* The signingTime signed attribute (RFC 5652 11.3): a claim, not a proof. */
static int ks_signing_time(CMS_SignerInfo *si, time_t *out)
{
    int idx = CMS_signed_get_attr_by_NID(si, NID_pkcs9_signingTime, -1);
    if (idx < 0)
        return 0;
    X509_ATTRIBUTE *a = CMS_signed_get_attr(si, idx);
    ASN1_TYPE *t = a ? X509_ATTRIBUTE_get0_type(a, 0) : NULL;
    if (t == NULL || (t->type != V_ASN1_UTCTIME && t->type != V_ASN1_GENERALIZEDTIME))
        return 0;
    return ks_asn1_time_to_time_t(t->value.utctime, out);
}

static const char *ks_alg_name(const X509_ALGOR *alg, char *buf, size_t len)
{
    const ASN1_OBJECT *obj = NULL;
    X509_ALGOR_get0(&obj, NULL, NULL, alg);
    int nid = OBJ_obj2nid(obj);
    if (nid != NID_undef)
        return OBJ_nid2ln(nid);
    OBJ_obj2txt(buf, (int)len, obj, 1);
    return buf;
}

/* Drains the content through the digest BIOs CMS_dataInit set up. */
static int ks_drain(BIO *b)
{
    char buf[16384];
    int n;
    while ((n = BIO_read(b, buf, sizeof buf)) > 0)
        ;
    return n == 0 || BIO_eof(b);
}

void ks_ess_clear(ks_ess *e)
{
    ESS_SIGNING_CERT_free(e->v1);
    ESS_SIGNING_CERT_V2_free(e->v2);
    memset(e, 0, sizeof *e);
}

/* The DER of the single value of signed attribute `nid`: 1 found, 0 absent,
 * -1 repeated, multi-valued or not a SEQUENCE. */
static int ks_signed_attr_der(CMS_SignerInfo *si, int nid, const unsigned char **p, long *len)
{
    if (CMS_signed_get_attr_by_NID(si, nid, -1) < 0)
        return 0;
    /* -3: exactly one attribute of this type, with exactly one value. */
    ASN1_STRING *v = CMS_signed_get0_data_by_OBJ(si, OBJ_nid2obj(nid), -3, V_ASN1_SEQUENCE);
    if (v == NULL)
        return -1;
    *p = ASN1_STRING_get0_data(v);
    *len = ASN1_STRING_length(v);
    return 1;
}

void ks_ess_decode(CMS_SignerInfo *si, ks_ess *e)
{
    const unsigned char *p = NULL, *q;
    long len = 0;
    int r;
    memset(e, 0, sizeof *e);
    if ((r = ks_signed_attr_der(si, NID_id_smime_aa_signingCertificate, &p, &len)) != 0) {
        e->present = 1;
        q = p;
        if (r < 0 || (e->v1 = d2i_ESS_SIGNING_CERT(NULL, &q, len)) == NULL || q != p + len)
            e->malformed = 1;
    }
    if ((r = ks_signed_attr_der(si, NID_id_smime_aa_signingCertificateV2, &p, &len)) != 0) {
        e->present = 1;
        q = p;
        if (r < 0 || (e->v2 = d2i_ESS_SIGNING_CERT_V2(NULL, &q, len)) == NULL || q != p + len)
            e->malformed = 1;
    }
    ks_openssl_drain(__func__);
}

int ks_ess_binds(const ks_ess *e, X509 *x, STACK_OF(X509) *pool)
{
    sk_X509_set(pool, 0, x);
    int r = OSSL_ESS_check_signing_certs(e->v1, e->v2, pool, 0);
    ks_openssl_drain(__func__);
    return r == 1;
}

/* The signer's certificate.  CMS_set1_signers_certs took the first one
 * matching the SignerIdentifier among the embedded and then the configured
 * certificates; a subjectKeyIdentifier (or an issuer and serial a CA gave
 * twice) matches every certificate for the key, whatever name and address it
 * carries.  When ESS names a certificate, the one it names is used, or none
 * is bound: *bound says which. */
static ks_result ks_ess_select(const ks_ctx *ctx, CMS_SignerInfo *si, const ks_ess *e, STACK_OF(X509) *embedded,
                               int *bound)
{
    ks_result r = KS_E_NOMEM;
    STACK_OF(X509) *pool = NULL, *const srcs[] = {embedded, ctx->intermediates, ctx->anchors};
    X509 *cur = NULL;

    *bound = 0;
    CMS_SignerInfo_get0_algs(si, NULL, &cur, NULL, NULL);
    if (!e->present || e->malformed || cur == NULL)
        return KS_OK;
    if ((pool = sk_X509_new_null()) == NULL || !sk_X509_push(pool, cur))
        goto done;
    for (size_t s = 0; s < sizeof srcs / sizeof srcs[0]; s++)
        for (int i = 0; i < sk_X509_num(srcs[s]); i++)
            if (!sk_X509_push(pool, sk_X509_value(srcs[s], i)))
                goto done;
    r = KS_OK;
    if (ks_ess_binds(e, cur, pool)) {
        *bound = 1;
        goto done;
    }
    for (size_t s = 0; s < 2; s++) { /* candidates: embedded and configured, as CMS_set1_signers_certs */
        for (int i = 0; i < sk_X509_num(srcs[s]); i++) {
            X509 *x = sk_X509_value(srcs[s], i);
            if (x != cur && CMS_SignerInfo_cert_cmp(si, x) == 0 && ks_ess_binds(e, x, pool)) {
                CMS_SignerInfo_set1_signer_cert(si, x);
                *bound = 1;
                goto done;
            }
        }
    }
done:
    sk_X509_free(pool); /* references only */
    ks_openssl_drain(__func__);
    return r;
}

/* Crypto checks of one signer (RFC 5652 5.4, 5.6). */
static void ks_check_signer_crypto(const ks_ctx *ctx, CMS_SignerInfo *si, const ASN1_OBJECT *ectype, BIO *cmsbio,
                                   const ks_request *req, ks_status *st, int *weak_md)
{
    *weak_md = NID_undef;
    X509_ALGOR *dig = NULL, *sig = NULL;
    const ASN1_OBJECT *obj = NULL;
    CMS_SignerInfo_get0_algs(si, NULL, NULL, &dig, &sig);
    int has_attrs = CMS_signed_get_attr_count(si) >= 0;
    if (has_attrs && CMS_SignerInfo_verify(si) != 1) {
        ks_status_set(st, KS_TOTAL_FAILED, KS_SUB_SIG_CRYPTO_FAILURE, "signature over the signed attributes does not verify");
        goto done;
    }
    if (has_attrs) {
        /* RFC 5652 11.1: the contentType attribute carries the eContentType
         * under the signature; CMS_SignerInfo_verify checks that it is there
         * once, not what it says.  A different type is a malformed
         * signature: FORMAT_FAILURE, reported as such. */
        const ASN1_OBJECT *ct =
            CMS_signed_get0_data_by_OBJ(si, OBJ_nid2obj(NID_pkcs9_contentType), -3, V_ASN1_OBJECT);
        if (ct == NULL || ectype == NULL || OBJ_cmp(ct, ectype) != 0) {
            char a[80] = "absent", b[80] = "absent", d[256];
            if (ct != NULL)
                OBJ_obj2txt(a, sizeof a, ct, 1);
            if (ectype != NULL)
                OBJ_obj2txt(b, sizeof b, ectype, 1);
            snprintf(d, sizeof d,
                     "the contentType signed attribute (%s) is not the eContentType (%s) (RFC 5652 11.1)", a, b);
            ks_status_set(st, KS_TOTAL_FAILED, KS_SUB_FORMAT_FAILURE, d);
            goto done;
        }
    } else if (OBJ_obj2nid(ectype) != NID_pkcs7_data) {
        /* RFC 5652 5.3: signedAttrs MUST be present unless the content is
         * id-data; without them nothing signed says what type it is. */
        ks_status_set(st, KS_TOTAL_FAILED, KS_SUB_FORMAT_FAILURE,
                      "no signed attributes over content that is not id-data (RFC 5652 5.3)");
        goto done;
    }
    if (cmsbio == NULL) { /* hash-only: the messageDigest against the caller's digest (digest.c) */
        if (!ks_cms_digest_matches(si, req, st))
            goto done;
    } else if (CMS_SignerInfo_verify_content(si, cmsbio) != 1) {
        if (has_attrs)
            ks_status_set(st, KS_TOTAL_FAILED, KS_SUB_HASH_FAILURE, "message digest does not match the content");
        else
            ks_status_set(st, KS_TOTAL_FAILED, KS_SUB_SIG_CRYPTO_FAILURE, "signature over the content does not verify");
        goto done;
    }
    X509_ALGOR_get0(&obj, NULL, NULL, dig);
    int md = OBJ_obj2nid(obj), sig_md = NID_undef, pk = NID_undef;
    X509_ALGOR_get0(&obj, NULL, NULL, sig);
    if (OBJ_find_sigid_algs(OBJ_obj2nid(obj), &sig_md, &pk) != 1)
        sig_md = NID_undef;
    if (!ks_alg_digest_ok(ctx, md) || (sig_md != NID_undef && !ks_alg_digest_ok(ctx, sig_md))) {
        char d[128];
        *weak_md = ks_alg_digest_ok(ctx, md) ? sig_md : md;
        /* Both refused digests must be the same one for a sunset to help. */
        if (!ks_alg_digest_ok(ctx, md) && sig_md != NID_undef && !ks_alg_digest_ok(ctx, sig_md) && sig_md != md)
            *weak_md = NID_undef;
        snprintf(d, sizeof d, "signature uses the %s digest", OBJ_nid2sn(ks_alg_digest_ok(ctx, md) ? sig_md : md));
        ks_status_set(st, KS_INDETERMINATE, KS_SUB_CRYPTO_CONSTRAINTS_FAILURE, d);
        goto done;
    }
    ks_status_set(st, KS_TOTAL_PASSED, KS_SUB_NONE, NULL);
done:
    ks_openssl_drain(__func__);
}

/* `ext`: a POE of this signer's signature from outside its own attributes
 * (a PDF document timestamp over its revision), or NULL.  Like a signature
 * timestamp it counts only once the signature itself stands, and the
 * earliest proven time is the best-signature-time. */
static ks_result ks_verify_signer(ks_ctx *ctx, CMS_ContentInfo *cms, CMS_SignerInfo *si, const ASN1_OBJECT *ectype,
                                  BIO *cmsbio, const ks_blob *detached, size_t ndetached, const ks_request *req,
                                  const ks_path_input *pin, time_t at, const ks_ext_poe *ext, cJSON *sobj,
                                  ks_status *st)
{
    ks_result r = KS_E_NOMEM;
    X509 *signer = NULL;
    X509_ALGOR *dig = NULL, *sig = NULL;
    char buf[128];
    time_t signing;
    int has_signing = ks_signing_time(si, &signing), bound = 0;
    ks_ess ess;
    ks_cades_values cv;

    ks_ess_decode(si, &ess);
    /* ES-X-L (RFC 5126 6.3.3, 6.3.4): this signer's certificate and
     * revocation values join the message's as candidates and evidence. */
    if ((r = ks_cades_values_get(ctx, si, pin, &cv)) != KS_OK)
        goto done;
    if (cv.malformed &&
        !ks_verdict_warn(sobj, "LTV_VALUES_MALFORMED",
                         "A certificate-values or revocation-values attribute is malformed or repeated; it was not used.",
                         "証明書値または失効情報値の属性が不正または重複しているため、使用しませんでした。")) {
        r = KS_E_NOMEM;
        goto done;
    }
    if ((r = ks_cades_refs(ctx, si, &cv, sobj)) != KS_OK)
        goto done;
    pin = &cv.pin;
    if ((r = ks_ess_select(ctx, si, &ess, pin->embedded, &bound)) != KS_OK)
        goto done;
    r = KS_E_NOMEM;
    CMS_SignerInfo_get0_algs(si, NULL, &signer, &dig, &sig);
    if (cJSON_AddStringToObject(sobj, "digest_algorithm", ks_alg_name(dig, buf, sizeof buf)) == NULL ||
        cJSON_AddStringToObject(sobj, "signature_algorithm", ks_alg_name(sig, buf, sizeof buf)) == NULL ||
        cJSON_AddBoolToObject(sobj, "signing_certificate_bound", bound) == NULL)
        goto done;
    if (has_signing)
        ks_time_format(signing, buf, sizeof buf);
    if ((has_signing ? cJSON_AddStringToObject(sobj, "signing_time", buf) : cJSON_AddNullToObject(sobj, "signing_time")) ==
            NULL ||
        (signer == NULL && cJSON_AddNullToObject(sobj, "signer") == NULL))
        goto done; /* r is KS_E_NOMEM */
    r = KS_OK;
    if (signer == NULL) {
        ks_status_set(st, KS_INDETERMINATE, KS_SUB_NO_SIGNING_CERTIFICATE_FOUND,
                      "the signer's certificate is neither in the message nor configured");
        goto done;
    }
    if (!ks_add_owned(sobj, "signer", ks_vcache_signer_json(ctx, signer, ks_path_source(ctx, pin, signer)))) {
        r = KS_E_NOMEM;
        goto done;
    }
    if (cmsbio == NULL && req->n_digests == 0) {
        ks_status_set(st, KS_INDETERMINATE, KS_SUB_SIGNED_DATA_NOT_FOUND,
                      "detached signature: the signed content was not supplied");
        goto done;
    }
    int weak_md = NID_undef;
    ks_check_signer_crypto(ctx, si, ectype, cmsbio, req, st, &weak_md);
    /* algorithms.sunset: a SHA-1 signature that verified is refused only
     * by the policy; a POE before the sunset can still accept it (ETSI EN
     * 319 102-1 5.2.8), so its timestamps are looked at. */
    int sunset_pending = st->indication == KS_INDETERMINATE && st->sub == KS_SUB_CRYPTO_CONSTRAINTS_FAILURE &&
                         weak_md == NID_sha1 && ctx->alg.sunset_sha1 != 0;
    int stands = st->indication == KS_TOTAL_PASSED || sunset_pending;
    /* The ESS attributes are signed: judged once the signature stands. */
    if (stands && ess.malformed) {
        ks_status_set(st, KS_TOTAL_FAILED, KS_SUB_FORMAT_FAILURE,
                      "the ESS signingCertificate attribute is malformed or repeated (RFC 5035)");
        stands = sunset_pending = 0;
    } else if (stands && ess.present && !bound) {
        ks_status_set(st, KS_TOTAL_FAILED, KS_SUB_SIG_CONSTRAINTS_FAILURE,
                      "the signer's certificate is not the one its ESS signingCertificate attribute names "
                      "(RFC 5035 5.4)");
        stands = sunset_pending = 0;
    }
    /* Timestamps over a signature that stands (over one that does not they
     * prove nothing): the best-signature-time, ETSI EN 319 102-1 5.6.2.4. */
    ks_poe poe;
    ks_cades_archive_result ar = {.next_at = at};
    if ((r = ks_poe_init(&poe, sobj)) != KS_OK)
        goto done;
    /* The TSA paths' revocation: for the validation time, from this
     * signer's evidence first (its ES-X-L values carry the TSA's too). */
    poe.env.vt = at;
    poe.env.pin = pin;
    if (stands) {
        /* ES-A: the archive timestamps first, newest down; the signature
         * timestamps are then validated at the time they prove. */
        if ((r = ks_cades_archive(ctx, cms, si, detached, ndetached, at, &poe.env, sobj, &ar)) != KS_OK)
            goto done;
        /* The revocation values those archive timestamps cover are proven
         * to have existed at their genTime (for the algorithm sunset of
         * evidence, revoke.c); the signature timestamps cover none. */
        ks_cades_values_proven(&cv, &ar);
        if ((r = ks_signer_timestamps(ctx, si, &ar, &poe)) != KS_OK)
            goto done;
        ks_poe_archive(&poe, &ar);
        /* A proof from outside the signer (a PDF document timestamp over its
         * revision) counts like its own timestamps. */
        if (ext != NULL && (!poe.has || ext->time < poe.time)) {
            poe.time = ext->time;
            poe.has = 1;
            snprintf(poe.tsa, sizeof poe.tsa, "%s", ext->tsa != NULL ? ext->tsa : "");
            poe.source = ext->source;
        }
    }
    if ((r = ks_poe_report(&poe, sobj)) != KS_OK)
        goto done;
    r = KS_OK;
    if (sunset_pending) {
        char d[256], sun[32];
        ks_time_format(ctx->alg.sunset_sha1, sun, sizeof sun);
        if (poe.has && poe.time < ctx->alg.sunset_sha1 && poe.time <= at) {
            ks_status_set(st, KS_TOTAL_PASSED, KS_SUB_NONE, NULL);
            snprintf(d, sizeof d, "The signature uses SHA-1, no longer secure since %s; a timestamp proves it existed "
                     "before then.", sun);
            if (!ks_verdict_warn(sobj, "WEAK_ALGORITHM_BEFORE_SUNSET", d,
                                 "署名には現在は安全でない SHA-1 が使われていますが、その利用期限より前に存在したことが"
                                 "タイムスタンプで証明されています。")) {
                r = KS_E_NOMEM;
                goto done;
            }
        } else {
            snprintf(d, sizeof d, "signature uses the SHA1 digest, and nothing proves it existed before its sunset (%s)",
                     sun);
            ks_status_set(st, KS_INDETERMINATE, KS_SUB_CRYPTO_CONSTRAINTS_FAILURE, d);
        }
    }
    if (st->indication == KS_TOTAL_PASSED)
        r = ks_check_signing_cert_poe(ctx, signer, pin, at, has_signing ? &signing : NULL, poe.has ? &poe.time : NULL,
                                      sobj, st);
done:
    ks_cades_values_free(&cv);
    ks_ess_clear(&ess);
    return r;
}

/* A reference to `it`: printed as it is, owned where it is.  (Made here,
 * as cJSON_AddItemReferenceToObject leaks its reference when the add fails.) */
static cJSON *ks_ref(const cJSON *it)
{
    if (cJSON_IsObject(it))
        return cJSON_CreateObjectReference(it->child);
    if (cJSON_IsArray(it))
        return cJSON_CreateArrayReference(it->child);
    if (cJSON_IsString(it))
        return cJSON_CreateStringReference(it->valuestring);
    return cJSON_Duplicate(it, 1); /* null, numbers: nothing to share */
}

/* Top-level fields mirror the signer that decided the indication: the first
 * signer whose indication is the worst, which is the one the loops of the
 * CMS and XML paths keep in `worst` (replaced only by a strictly worse one).
 * So a failing verdict never shows a passing signer's name, chain or
 * revocation beside it.
 * The large mirrors are cJSON references, not copies: they print the same
 * and the signer's items stay owned by "signers" inside the same verdict;
 * nothing changes them after this point.  "warnings" is copied: the XML path
 * adds verdict-wide warnings to it afterwards. */
ks_result ks_summarise(cJSON *v, cJSON *signers, const ks_status *worst)
{
    static const char *const mirrored[] = {"signer", "chain", "revocation", "signing_time", "digest_algorithm",
                                           "signature_algorithm", "references", "warnings", "timestamps",
                                           "best_signature_time", "poe", "validation_model", NULL};
    const char *want = ks_indication_name(worst->indication);
    cJSON *decider = NULL, *s;
    cJSON_ArrayForEach(s, signers)
    {
        const char *ind = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(s, "indication"));
        if (ind != NULL && strcmp(ind, want) == 0) {
            decider = s;
            break;
        }
    }
    for (const char *const *k = mirrored; decider != NULL && *k; k++) {
        cJSON *it = cJSON_GetObjectItemCaseSensitive(decider, *k);
        if (it != NULL && !ks_add_owned(v, *k, strcmp(*k, "warnings") == 0 ? cJSON_Duplicate(it, 1) : ks_ref(it)))
            return KS_E_NOMEM;
    }
    return ks_verdict_status(v, worst) ? KS_OK : KS_E_NOMEM;
}

static ks_result ks_verify_signature_once(ks_ctx *ctx, const ks_request *req, cJSON **verdict);

/* A verdict is built whole or not at all (verdict.c ks_verdict_finish). */
ks_result ks_verify_signature(ks_ctx *ctx, const ks_request *req, cJSON **verdict)
{
    ks_json_oom_clear();
    return ks_verdict_finish(ks_verify_signature_once(ctx, req, verdict), verdict);
}

static ks_result ks_verify_signature_once(ks_ctx *ctx, const ks_request *req, cJSON **verdict)
{
    ks_result r;
    CMS_ContentInfo *cms = NULL;
    BIO *smime_content = NULL, *dcont = NULL, *cmsbio = NULL;
    STACK_OF(X509) *certs = NULL;
    STACK_OF(X509_CRL) *crls = NULL;
    cJSON *v = NULL;
    time_t at = req->has_at ? req->at : ks_ctx_now(ctx);

    *verdict = NULL;
    ks_openssl_drain(__func__);
    if ((r = ks_digests_check(req)) != KS_OK)
        return r;
    /* Signed PDFs go to pdf.c (no hash-only: a PDF's content is the file);
     * XMLDSig (e-Tax, e-Gov) and ZIP packages to xml.c, hash-only included
     * (digests named after the attachments they stand in for). */
    if (ks_pdf_detect(&req->signature))
        return req->n_digests > 0 ? KS_E_UNSUPPORTED : ks_verify_pdf(ctx, req, verdict);
    if (ks_xml_detect(&req->signature) != KS_XML_NONE)
        return ks_verify_xml(ctx, req, verdict);
    if (ks_digests_named(req) > 0)
        return KS_E_BAD_REQUEST; /* one CMS content: a name would match nothing */
    if ((r = ks_input_cms(ctx, &req->signature, &cms, &smime_content)) != KS_OK)
        goto done;
    r = KS_E_NOT_SIGNATURE;
    if (OBJ_obj2nid(CMS_get0_type(cms)) != NID_pkcs7_signed)
        goto done;
    STACK_OF(CMS_SignerInfo) *sinfos = CMS_get0_SignerInfos(cms);
    int nsigners = sinfos ? sk_CMS_SignerInfo_num(sinfos) : 0;
    r = nsigners <= 0 ? KS_E_NO_SIGNERS : nsigners > ctx->limits.max_signers ? KS_E_LIMIT : KS_OK;
    if (r != KS_OK)
        goto done;
    certs = CMS_get1_certs(cms);
    crls = CMS_get1_crls(cms);
    ks_openssl_drain(__func__); /* both answer NULL with an error when there are none */
    if (sk_X509_num(certs) > ctx->limits.max_certs || sk_X509_CRL_num(crls) > ctx->limits.max_crls) {
        r = KS_E_LIMIT;
        goto done;
    }
    ASN1_OCTET_STRING **pos = CMS_get0_content(cms);
    int detached = pos == NULL || *pos == NULL;
    /* One content, from one place.  In particular the first part of an
     * S/MIME multipart/signed never stands in for an eContent that is there:
     * CMS_dataInit would digest the part instead (RFC 8551 3.5 wraps a
     * detached signature only). */
    if ((req->n_digests > 0 && (!detached || req->n_contents > 0 || smime_content != NULL)) ||
        (!detached && (req->n_contents > 0 || smime_content != NULL)) ||
        (smime_content != NULL && req->n_contents > 0) || req->n_contents > 1) {
        r = KS_E_CONTENT_CONFLICT;
        goto done;
    }
    if (smime_content != NULL) {
        dcont = smime_content;
        smime_content = NULL;
    } else if (req->n_contents == 1) {
        if (req->contents[0].len > (size_t)INT32_MAX) {
            r = KS_E_TOO_LARGE;
            goto done;
        }
        if ((dcont = BIO_new_mem_buf(req->contents[0].data, (int)req->contents[0].len)) == NULL) {
            r = KS_E_NOMEM;
            goto done;
        }
    }
    /* Signer certificates: embedded ones first, then configured ones. */
    if (CMS_set1_signers_certs(cms, ctx->intermediates, 0) < 0)
        ks_openssl_drain(__func__); /* a signer without certificate is reported per signer */
    if (!detached || dcont != NULL) {
        cmsbio = CMS_dataInit(cms, dcont);
        if (cmsbio == NULL || !ks_drain(cmsbio)) {
            ks_log_openssl("CMS_dataInit");
            r = KS_E_NOT_SIGNATURE;
            goto done;
        }
    }
    r = KS_E_NOMEM;
    v = cJSON_CreateObject();
    if (v == NULL || !ks_verdict_common(ctx, v, "cms", at) ||
        (req->n_digests > 0 && cJSON_AddStringToObject(v, "content_checked", "digest") == NULL))
        goto done;
    cJSON *signers = cJSON_AddArrayToObject(v, "signers");
    if (signers == NULL)
        goto done;
    ks_path_input pin = {.embedded = certs, .crls = crls};
    ks_status worst;
    ks_status_set(&worst, KS_TOTAL_PASSED, KS_SUB_NONE, NULL);
    for (int i = 0; i < nsigners; i++) {
        ks_status st;
        ks_status_set(&st, KS_INDETERMINATE, KS_SUB_FORMAT_FAILURE, "not checked"); /* fail closed */
        cJSON *sobj = cJSON_CreateObject();
        r = KS_E_NOMEM; /* r is KS_OK after the first signer */
        if (sobj == NULL || !cJSON_AddItemToArray(signers, sobj)) {
            cJSON_Delete(sobj);
            goto done;
        }
        if ((r = ks_verify_signer(ctx, cms, sk_CMS_SignerInfo_value(sinfos, i), CMS_get0_eContentType(cms), cmsbio,
                                  req->n_contents == 1 ? &req->contents[0] : NULL, req->n_contents == 1 ? 1 : 0, req,
                                  &pin, at, NULL, sobj, &st)) != KS_OK)
            goto done;
        if (!ks_verdict_status(sobj, &st)) {
            r = KS_E_NOMEM;
            goto done;
        }
        if (i == 0 || ks_indication_worse(st.indication, worst.indication))
            worst = st;
    }
    if ((r = ks_summarise(v, signers, &worst)) != KS_OK)
        goto done;
    *verdict = v;
    v = NULL;
done:
    cJSON_Delete(v);
    if (cmsbio != NULL) { /* free the digest BIOs CMS_dataInit pushed, not dcont */
        while (cmsbio != NULL && cmsbio != dcont) {
            BIO *next = BIO_pop(cmsbio);
            BIO_free(cmsbio);
            cmsbio = next;
        }
    }
    BIO_free(dcont);
    BIO_free(smime_content);
    sk_X509_pop_free(certs, X509_free);
    sk_X509_CRL_pop_free(crls, X509_CRL_free);
    CMS_ContentInfo_free(cms);
    ks_openssl_drain(__func__);
    return r;
}

ks_result ks_cms_verify_detached(ks_ctx *ctx, const uint8_t *der, size_t derlen, const uint8_t *content,
                                 size_t clen, time_t at, int require_ess, const ks_outside *out, cJSON *sobj,
                                 ks_status *st)
{
    const ks_blob part = {.data = content, .len = clen};
    return ks_cms_verify_detached_parts(ctx, der, derlen, &part, 1, at, require_ess, out, sobj, st);
}

/* The bytes a PDF signature's ByteRange covers (two parts of the file,
 * digested where they lie: no copy of a 20 MB document), or any detached
 * content, through the same signer checks as ks_verify_signature. */
ks_result ks_cms_verify_detached_parts(ks_ctx *ctx, const uint8_t *der, size_t derlen, const ks_blob *parts,
                                       size_t nparts, time_t at, int require_ess, const ks_outside *out,
                                       cJSON *sobj, ks_status *st)
{
    ks_result r = KS_OK;
    CMS_ContentInfo *cms = NULL;
    BIO *dcont = NULL, *cmsbio = NULL;
    STACK_OF(X509) *certs = NULL;
    STACK_OF(X509_CRL) *crls = NULL;

    ks_openssl_drain(__func__);
    if ((cms = ks_der_to_cms_cached(ctx, der, derlen)) == NULL)
        cms = ks_der_to_cms(der, derlen);
    if (cms == NULL || OBJ_obj2nid(CMS_get0_type(cms)) != NID_pkcs7_signed) {
        ks_status_set(st, KS_INDETERMINATE, KS_SUB_FORMAT_FAILURE, "the signature value is not a CMS SignedData");
        goto done;
    }
    /* ISO 32000-1 12.8.3.3.1: one SignerInfo, no encapsulated content,
     * and the content type id-data (ETSI EN 319 142-1 6.3): nothing signs
     * eContentType when there are no signed attributes, so any other value
     * is someone's edit. */
    STACK_OF(CMS_SignerInfo) *sinfos = CMS_get0_SignerInfos(cms);
    ASN1_OCTET_STRING **pos = CMS_get0_content(cms);
    if (sinfos == NULL || sk_CMS_SignerInfo_num(sinfos) != 1 || (pos != NULL && *pos != NULL) ||
        OBJ_obj2nid(CMS_get0_eContentType(cms)) != NID_pkcs7_data) {
        ks_status_set(st, KS_INDETERMINATE, KS_SUB_FORMAT_FAILURE,
                      "the SignedData must be detached id-data with exactly one SignerInfo");
        goto done;
    }
    CMS_SignerInfo *si = sk_CMS_SignerInfo_value(sinfos, 0);
    if (require_ess && CMS_signed_get_attr_by_NID(si, NID_id_smime_aa_signingCertificateV2, -1) < 0 &&
        CMS_signed_get_attr_by_NID(si, NID_id_smime_aa_signingCertificate, -1) < 0) {
        ks_status_set(st, KS_INDETERMINATE, KS_SUB_FORMAT_FAILURE,
                      "a CAdES signature without a signing-certificate attribute");
        goto done;
    }
    certs = CMS_get1_certs(cms);
    crls = CMS_get1_crls(cms);
    ks_openssl_drain(__func__); /* both answer NULL with an error when there are none */
    if (sk_X509_num(certs) + (out ? sk_X509_num(out->certs) : 0) > ctx->limits.max_certs ||
        sk_X509_CRL_num(crls) + (out ? sk_X509_CRL_num(out->crls) : 0) > ctx->limits.max_crls) {
        r = KS_E_LIMIT;
        goto done;
    }
    if (CMS_set1_signers_certs(cms, ctx->intermediates, 0) < 0)
        ks_openssl_drain(__func__); /* a signer without certificate is reported as such */
    /* The container's evidence after the CMS's own (the signer's
     * certificate is still looked for in the CMS only). */
    r = KS_E_NOMEM;
    if ((out != NULL && sk_X509_num(out->certs) > 0 && certs == NULL && (certs = sk_X509_new_null()) == NULL) ||
        (out != NULL && sk_X509_CRL_num(out->crls) > 0 && crls == NULL && (crls = sk_X509_CRL_new_null()) == NULL))
        goto done;
    for (int i = 0; out != NULL && i < sk_X509_num(out->certs); i++) {
        X509 *x = sk_X509_value(out->certs, i);
        if (X509_up_ref(x) != 1)
            goto done;
        if (!sk_X509_push(certs, x)) {
            X509_free(x);
            goto done;
        }
    }
    for (int i = 0; out != NULL && i < sk_X509_CRL_num(out->crls); i++) {
        X509_CRL *c = sk_X509_CRL_value(out->crls, i);
        if (X509_CRL_up_ref(c) != 1)
            goto done;
        if (!sk_X509_CRL_push(crls, c)) {
            X509_CRL_free(c);
            goto done;
        }
    }
    r = KS_OK;
    /* The digest BIOs CMS_dataInit pushes digest what is written through
     * them as well as what is read: write the parts in place into a sink,
     * rather than copying them into one buffer to read back. */
    if ((dcont = BIO_new(BIO_s_null())) == NULL) {
        r = KS_E_NOMEM;
        goto done;
    }
    cmsbio = CMS_dataInit(cms, dcont);
    int fed = cmsbio != NULL;
    for (size_t i = 0; fed && i < nparts; i++) {
        size_t wrote = 0;
        fed = parts[i].len == 0 || (BIO_write_ex(cmsbio, parts[i].data, parts[i].len, &wrote) == 1 &&
                                    wrote == parts[i].len);
    }
    if (!fed) {
        ks_openssl_drain("CMS_dataInit"); /* the submitted SignedData: a caller's problem */
        ks_status_set(st, KS_INDETERMINATE, KS_SUB_FORMAT_FAILURE, "the SignedData cannot be processed");
        goto done;
    }
    ks_path_input pin = {.embedded = certs,
                         .crls = crls,
                         .ocsps = out != NULL ? out->ocsps : NULL,
                         .n_ocsps = out != NULL ? out->n_ocsps : 0};
    static const ks_request content_given = {0}; /* the content is here: no hash-only digests */
    r = ks_verify_signer(ctx, cms, si, CMS_get0_eContentType(cms), cmsbio, parts, nparts, &content_given, &pin, at,
                         out != NULL ? out->poe : NULL, sobj, st);
done:
    while (cmsbio != NULL && cmsbio != dcont) { /* the digest BIOs CMS_dataInit pushed */
        BIO *next = BIO_pop(cmsbio);
        BIO_free(cmsbio);
        cmsbio = next;
    }
    BIO_free(dcont);
    sk_X509_pop_free(certs, X509_free);
    sk_X509_CRL_pop_free(crls, X509_CRL_free);
    CMS_ContentInfo_free(cms);
    ks_openssl_drain(__func__);
    return r;
}

static ks_result ks_verify_certificate_once(ks_ctx *ctx, const ks_blob *cert, time_t at, int has_at,
                                            cJSON **verdict);

ks_result ks_verify_certificate(ks_ctx *ctx, const ks_blob *cert, time_t at, int has_at, cJSON **verdict)
{
    ks_json_oom_clear();
    return ks_verdict_finish(ks_verify_certificate_once(ctx, cert, at, has_at, verdict), verdict);
}

static ks_result ks_verify_certificate_once(ks_ctx *ctx, const ks_blob *cert, time_t at, int has_at,
                                            cJSON **verdict)
{
    X509 *x = NULL;
    STACK_OF(X509) *bundle = NULL;
    cJSON *v = NULL;
    *verdict = NULL;
    ks_openssl_drain(__func__);
    if (!has_at)
        at = ks_ctx_now(ctx);
    ks_result r = ks_input_cert(ctx, cert, &x, &bundle);
    if (r != KS_OK)
        goto done;
    /* Certificates that came with it (a PEM bundle) are path candidates only. */
    ks_path_input pin = {.embedded = bundle, .from_input = 1};
    r = KS_E_NOMEM;
    v = cJSON_CreateObject();
    if (v == NULL || !ks_verdict_common(ctx, v, "certificate", at))
        goto done;
    if (!ks_add_owned(v, "signer", ks_vcache_signer_json(ctx, x, ks_path_source(ctx, &pin, x))))
        goto done;
    ks_status st;
    /* For a certificate the time of interest is the validation time. */
    if (ks_check_signing_cert(ctx, x, &pin, at, &at, v, &st) != KS_OK || !ks_verdict_status(v, &st))
        goto done;
    *verdict = v;
    v = NULL;
    r = KS_OK;
done:
    cJSON_Delete(v);
    X509_free(x);
    sk_X509_pop_free(bundle, X509_free);
    ks_openssl_drain(__func__);
    return r;
}
