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
#include <openssl/objects.h>

#include "internal.h"

void ks_check_signing_cert(ks_ctx *ctx, X509 *cert, const ks_path_input *in, time_t at, const time_t *claimed,
                           cJSON *obj, ks_status *st)
{
    ks_path_result pr;
    ks_path_validate(ctx, cert, in, at, claimed, &pr);
    cJSON_AddItemToObject(obj, "chain", ks_chain_json(ctx, in, pr.chain));
    ks_status_set(st, pr.indication, pr.sub, pr.detail);
    cJSON *evidence = cJSON_AddArrayToObject(obj, "revocation");
    if (st->indication != KS_TOTAL_PASSED)
        goto done;
    /* The signer must be allowed to sign: digitalSignature or
     * nonRepudiation (RFC 5280 4.2.1.3).  No keyUsage at all allows both. */
    if ((X509_get_key_usage(cert) & (KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION)) == 0) {
        ks_status_set(st, KS_INDETERMINATE, KS_SUB_SIG_CONSTRAINTS_FAILURE,
                      "keyUsage allows neither digitalSignature nor nonRepudiation");
        goto done;
    }
    ks_revocation_check(ctx, in, at, claimed, pr.chain, st, evidence, obj);
done:
    ks_path_result_clear(&pr);
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

/* Crypto checks of one signer (RFC 5652 5.4, 5.6). */
static void ks_check_signer_crypto(const ks_ctx *ctx, CMS_SignerInfo *si, BIO *cmsbio, ks_status *st)
{
    X509_ALGOR *dig = NULL, *sig = NULL;
    const ASN1_OBJECT *obj = NULL;
    CMS_SignerInfo_get0_algs(si, NULL, NULL, &dig, &sig);
    int has_attrs = CMS_signed_get_attr_count(si) >= 0;
    if (has_attrs && CMS_SignerInfo_verify(si) != 1) {
        ks_status_set(st, KS_TOTAL_FAILED, KS_SUB_SIG_CRYPTO_FAILURE, "signature over the signed attributes does not verify");
        goto done;
    }
    if (CMS_SignerInfo_verify_content(si, cmsbio) != 1) {
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
        snprintf(d, sizeof d, "signature uses the %s digest", OBJ_nid2sn(ks_alg_digest_ok(ctx, md) ? sig_md : md));
        ks_status_set(st, KS_INDETERMINATE, KS_SUB_CRYPTO_CONSTRAINTS_FAILURE, d);
        goto done;
    }
    ks_status_set(st, KS_TOTAL_PASSED, KS_SUB_NONE, NULL);
done:
    ERR_clear_error();
}

static ks_result ks_verify_signer(ks_ctx *ctx, CMS_SignerInfo *si, BIO *cmsbio, const ks_path_input *pin,
                                  time_t at, cJSON *sobj, ks_status *st)
{
    X509 *signer = NULL;
    X509_ALGOR *dig = NULL, *sig = NULL;
    char buf[128];
    time_t signing;
    int has_signing = ks_signing_time(si, &signing);

    CMS_SignerInfo_get0_algs(si, NULL, &signer, &dig, &sig);
    if (cJSON_AddStringToObject(sobj, "digest_algorithm", ks_alg_name(dig, buf, sizeof buf)) == NULL ||
        cJSON_AddStringToObject(sobj, "signature_algorithm", ks_alg_name(sig, buf, sizeof buf)) == NULL)
        return KS_E_NOMEM;
    if (has_signing) {
        ks_time_format(signing, buf, sizeof buf);
        cJSON_AddStringToObject(sobj, "signing_time", buf);
    } else {
        cJSON_AddNullToObject(sobj, "signing_time");
    }
    if (signer == NULL) {
        cJSON_AddNullToObject(sobj, "signer");
        ks_status_set(st, KS_INDETERMINATE, KS_SUB_NO_SIGNING_CERTIFICATE_FOUND,
                      "the signer's certificate is neither in the message nor configured");
        return KS_OK;
    }
    cJSON *so = ks_vcache_signer_json(ctx, signer, ks_path_source(ctx, pin, signer));
    if (so == NULL || !cJSON_AddItemToObject(sobj, "signer", so))
        return KS_E_NOMEM;
    if (cmsbio == NULL) {
        ks_status_set(st, KS_INDETERMINATE, KS_SUB_SIGNED_DATA_NOT_FOUND,
                      "detached signature: the signed content was not supplied");
        return KS_OK;
    }
    ks_check_signer_crypto(ctx, si, cmsbio, st);
    if (st->indication == KS_TOTAL_PASSED)
        ks_check_signing_cert(ctx, signer, pin, at, has_signing ? &signing : NULL, sobj, st);
    return KS_OK;
}

/* Top-level fields mirror the first signer; the indication is the worst.
 * The large mirrors are cJSON references, not copies: they print the same
 * and the first signer's items stay owned by "signers" inside the same
 * verdict; nothing changes them after this point.  "warnings" is copied:
 * the XML path adds verdict-wide warnings to it afterwards. */
ks_result ks_summarise(cJSON *v, cJSON *signers, const ks_status *worst)
{
    static const char *const mirrored[] = {"signer", "chain", "revocation", "signing_time", "digest_algorithm",
                                           "signature_algorithm", "references", "warnings", NULL};
    cJSON *first = cJSON_GetArrayItem(signers, 0);
    for (const char *const *k = mirrored; *k; k++) {
        cJSON *it = cJSON_GetObjectItemCaseSensitive(first, *k);
        int ok = it == NULL ? 1
                 : strcmp(*k, "warnings") == 0 ? cJSON_AddItemToObject(v, *k, cJSON_Duplicate(it, 1))
                                               : cJSON_AddItemReferenceToObject(v, *k, it);
        if (!ok)
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
    ERR_clear_error();
    /* XMLDSig (e-Tax, e-Gov) and ZIP packages go to xml.c. */
    if (ks_xml_detect(&req->signature) != KS_XML_NONE)
        return ks_verify_xml(ctx, req, verdict);
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
    ERR_clear_error(); /* both answer NULL with an error when there are none */
    if (sk_X509_num(certs) > ctx->limits.max_certs || sk_X509_CRL_num(crls) > ctx->limits.max_crls) {
        r = KS_E_LIMIT;
        goto done;
    }
    ASN1_OCTET_STRING **pos = CMS_get0_content(cms);
    int detached = pos == NULL || *pos == NULL;
    if ((!detached && req->n_contents > 0) || (smime_content != NULL && req->n_contents > 0) ||
        req->n_contents > 1) {
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
        ERR_clear_error(); /* a signer without certificate is reported per signer */
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
    if (v == NULL || !ks_verdict_common(ctx, v, "cms", at))
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
        if (sobj == NULL || !cJSON_AddItemToArray(signers, sobj))
            goto done;
        if ((r = ks_verify_signer(ctx, sk_CMS_SignerInfo_value(sinfos, i), cmsbio, &pin, at, sobj, &st)) != KS_OK)
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
    ERR_clear_error();
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
    ERR_clear_error();
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
    cJSON *so = ks_vcache_signer_json(ctx, x, ks_path_source(ctx, &pin, x));
    if (so == NULL || !cJSON_AddItemToObject(v, "signer", so))
        goto done;
    ks_status st;
    /* For a certificate the time of interest is the validation time. */
    ks_check_signing_cert(ctx, x, &pin, at, &at, v, &st);
    if (!ks_verdict_status(v, &st))
        goto done;
    *verdict = v;
    v = NULL;
    r = KS_OK;
done:
    cJSON_Delete(v);
    X509_free(x);
    sk_X509_pop_free(bundle, X509_free);
    ERR_clear_error();
    return r;
}
