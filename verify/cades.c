/*
 * verify/cades.c - CAdES long-term validation material in a signer's
 * unsigned attributes (RFC 5126, ETSI EN 319 122-1, JIS X 5092).
 *
 * ES-X-L: id-aa-ets-certValues (RFC 5126 6.3.3) and
 * id-aa-ets-revocationValues (6.3.4) carry the certificates and the
 * revocation evidence the path needs.  They are unsigned: nothing in them
 * is trusted for itself.  The certificates become path candidates, the
 * CRLs and OCSP answers the path input's embedded evidence, which
 * verify/revoke.c verifies exactly like fetched evidence.
 *
 * Decoding is OpenSSL's (ASN.1 templates below, exact length); every
 * count is capped by limits.max_certs / max_crls.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1t.h>
#include <openssl/err.h>
#include <openssl/ocsp.h>

#include "internal.h"

/* RFC 5126 Annex A (ETS-ElectronicSignatureFormats-ExplicitSyntax88, EXPLICIT TAGS):
 *   CertificateValues ::= SEQUENCE OF Certificate
 *   RevocationValues ::= SEQUENCE {
 *       crlVals      [0] SEQUENCE OF CertificateList OPTIONAL,
 *       ocspVals     [1] SEQUENCE OF BasicOCSPResponse OPTIONAL,
 *       otherRevVals [2] OtherRevVals OPTIONAL }
 * otherRevVals (no registered type is in use) is decoded and ignored. */
DEFINE_STACK_OF(OCSP_BASICRESP)

typedef struct {
    STACK_OF(X509_CRL) *crl_vals;
    STACK_OF(OCSP_BASICRESP) *ocsp_vals;
    ASN1_TYPE *other;
} KS_REVOCATION_VALUES;

ASN1_SEQUENCE(KS_REVOCATION_VALUES) = {
    ASN1_EXP_SEQUENCE_OF_OPT(KS_REVOCATION_VALUES, crl_vals, X509_CRL, 0),
    ASN1_EXP_SEQUENCE_OF_OPT(KS_REVOCATION_VALUES, ocsp_vals, OCSP_BASICRESP, 1),
    ASN1_EXP_OPT(KS_REVOCATION_VALUES, other, ASN1_ANY, 2),
} static_ASN1_SEQUENCE_END(KS_REVOCATION_VALUES)

ASN1_ITEM_TEMPLATE(KS_CERT_VALUES) = ASN1_EX_TEMPLATE_TYPE(ASN1_TFLG_SEQUENCE_OF, 0, certs, X509)
static_ASN1_ITEM_TEMPLATE_END(KS_CERT_VALUES)

/* The single value of unsigned attribute `nid` as DER: 1 found, 0 absent,
 * -1 repeated, multi-valued or not a SEQUENCE (RFC 5126 6.3.3/6.3.4: one
 * attribute, one value). */
static int ks_unsigned_der(CMS_SignerInfo *si, int nid, const unsigned char **p, long *len)
{
    int idx = CMS_unsigned_get_attr_by_NID(si, nid, -1);
    if (idx < 0)
        return 0;
    if (CMS_unsigned_get_attr_by_NID(si, nid, idx) >= 0)
        return -1;
    X509_ATTRIBUTE *a = CMS_unsigned_get_attr(si, idx);
    ASN1_TYPE *t = a != NULL && X509_ATTRIBUTE_count(a) == 1 ? X509_ATTRIBUTE_get0_type(a, 0) : NULL;
    if (t == NULL || t->type != V_ASN1_SEQUENCE)
        return -1;
    *p = ASN1_STRING_get0_data(t->value.sequence);
    *len = ASN1_STRING_length(t->value.sequence);
    return 1;
}

void ks_cades_values_free(ks_cades_values *v)
{
    sk_X509_pop_free(v->certs, X509_free);
    sk_X509_CRL_pop_free(v->crls, X509_CRL_free);
    for (size_t i = v->n_base; i < v->n_ocsps; i++)
        OPENSSL_free((void *)v->ocsps[i].data);
    free(v->ocsps);
    memset(v, 0, sizeof *v);
}

static int ks_push_cert(STACK_OF(X509) *sk, X509 *x)
{
    if (X509_up_ref(x) != 1)
        return 0;
    if (sk_X509_push(sk, x) <= 0) {
        X509_free(x);
        return 0;
    }
    return 1;
}

static int ks_push_crl(STACK_OF(X509_CRL) *sk, X509_CRL *c)
{
    if (X509_CRL_up_ref(c) != 1)
        return 0;
    if (sk_X509_CRL_push(sk, c) <= 0) {
        X509_CRL_free(c);
        return 0;
    }
    return 1;
}

ks_result ks_cades_values_get(const ks_ctx *ctx, CMS_SignerInfo *si, const ks_path_input *base, ks_cades_values *v)
{
    ks_result r = KS_E_NOMEM;
    STACK_OF(X509) *cv = NULL;
    KS_REVOCATION_VALUES *rv = NULL;
    const unsigned char *p = NULL, *q;
    long len = 0;
    int fc, fr;

    memset(v, 0, sizeof *v);
    v->pin = *base;
    if ((v->certs = sk_X509_new_null()) == NULL || (v->crls = sk_X509_CRL_new_null()) == NULL)
        goto done;
    for (int i = 0; i < sk_X509_num(base->embedded); i++)
        if (!ks_push_cert(v->certs, sk_X509_value(base->embedded, i)))
            goto done;
    for (int i = 0; i < sk_X509_CRL_num(base->crls); i++)
        if (!ks_push_crl(v->crls, sk_X509_CRL_value(base->crls, i)))
            goto done;
    r = KS_OK;
    if ((fc = ks_unsigned_der(si, NID_id_smime_aa_ets_certValues, &p, &len)) != 0) {
        q = p;
        cv = fc > 0 ? (STACK_OF(X509) *)ASN1_item_d2i(NULL, &q, len, ASN1_ITEM_rptr(KS_CERT_VALUES)) : NULL;
        if (cv == NULL || q != p + len) {
            v->malformed = 1;
        } else {
            for (int i = 0; i < sk_X509_num(cv); i++) {
                if (sk_X509_num(v->certs) >= ctx->limits.max_certs) {
                    r = KS_E_LIMIT;
                    goto done;
                }
                if (!ks_push_cert(v->certs, sk_X509_value(cv, i))) {
                    r = KS_E_NOMEM;
                    goto done;
                }
            }
            v->has_cert_values = 1;
        }
    }
    if ((fr = ks_unsigned_der(si, NID_id_smime_aa_ets_revocationValues, &p, &len)) != 0) {
        q = p;
        rv = fr > 0 ? (KS_REVOCATION_VALUES *)ASN1_item_d2i(NULL, &q, len, ASN1_ITEM_rptr(KS_REVOCATION_VALUES))
                    : NULL;
        if (rv == NULL || q != p + len) {
            v->malformed = 1;
            goto done;
        }
        int nc = sk_X509_CRL_num(rv->crl_vals), no = sk_OCSP_BASICRESP_num(rv->ocsp_vals);
        if (sk_X509_CRL_num(v->crls) + (nc > 0 ? nc : 0) > ctx->limits.max_crls ||
            (no > 0 ? no : 0) > ctx->limits.max_crls) {
            r = KS_E_LIMIT;
            goto done;
        }
        for (int i = 0; i < nc; i++)
            if (!ks_push_crl(v->crls, sk_X509_CRL_value(rv->crl_vals, i))) {
                r = KS_E_NOMEM;
                goto done;
            }
        /* A BasicOCSPResponse, as an OCSPResponse (RFC 6960 4.2.1) is
         * what every evidence check takes.  The enclosing object's answers
         * (base) come first and stay the caller's. */
        if (no > 0 && (v->ocsps = calloc((size_t)no + base->n_ocsps, sizeof *v->ocsps)) == NULL) {
            r = KS_E_NOMEM;
            goto done;
        }
        for (size_t i = 0; no > 0 && i < base->n_ocsps; i++)
            v->ocsps[v->n_ocsps++] = base->ocsps[i];
        v->n_base = v->n_ocsps;
        for (int i = 0; i < no; i++) {
            OCSP_RESPONSE *resp = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL,
                                                       sk_OCSP_BASICRESP_value(rv->ocsp_vals, i));
            unsigned char *der = NULL;
            int n = resp != NULL ? i2d_OCSP_RESPONSE(resp, &der) : -1;
            OCSP_RESPONSE_free(resp);
            if (n <= 0) {
                r = KS_E_NOMEM;
                goto done;
            }
            v->ocsps[v->n_ocsps].data = der;
            v->ocsps[v->n_ocsps++].len = (size_t)n;
        }
        v->has_revocation_values = 1;
    }
done:
    v->pin.embedded = v->certs;
    v->pin.crls = v->crls;
    if (v->ocsps != NULL) { /* else the enclosing object's, as they were */
        v->pin.ocsps = v->ocsps;
        v->pin.n_ocsps = v->n_ocsps;
    }
    sk_X509_pop_free(cv, X509_free);
    ASN1_item_free((ASN1_VALUE *)rv, ASN1_ITEM_rptr(KS_REVOCATION_VALUES));
    ks_openssl_drain(__func__);
    return r;
}
