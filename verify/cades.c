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
#include <openssl/ts.h>

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

/* ---------------- ES-A: archive timestamps (RFC 5126 6.4.1) ---------------- */

/* At most this many archive timestamps per signer are verified. */
#define KS_MAX_ARCHIVE_TIMESTAMPS 8
/* Pieces of the archive hash: the SignerInfo's seven fields, the unsigned
 * attributes, and what comes before them. */
#define KS_MAX_ATS_ATTRS 64
#define KS_MAX_ATS_PIECES (KS_MAX_ATS_ATTRS + 16)

/* id-aa-ets-archiveTimestampV2 (RFC 5126 6.4.1; ETSI TS 101 733). */
static const char ks_atsv2_oid[] = "1.2.840.113549.1.9.16.2.48";

/* A cursor over DER: OpenSSL's header decoder, the element's exact extent,
 * no indefinite lengths (the archive hash is over DER). */
typedef struct {
    const uint8_t *p, *end;
} ks_der;

typedef struct {
    const uint8_t *start; /* tag */
    size_t len;           /* header + content */
    ks_der in;            /* the content */
    int tag, xclass;
} ks_tlv;

static int ks_der_next(ks_der *d, ks_tlv *t)
{
    const unsigned char *q = d->p;
    long len = 0;
    if (d->p >= d->end || d->end - d->p > LONG_MAX)
        return 0;
    int r = ASN1_get_object(&q, &len, &t->tag, &t->xclass, (long)(d->end - d->p));
    if ((r & 0x80) != 0 || r == (V_ASN1_CONSTRUCTED | 1) || len < 0 || len > d->end - q) {
        ERR_clear_error();
        return 0;
    }
    t->start = d->p;
    t->in.p = q;
    t->in.end = q + len;
    t->len = (size_t)(t->in.end - d->p);
    d->p = t->in.end;
    return 1;
}

static int ks_der_expect(ks_der *d, ks_tlv *t, int tag, int xclass)
{
    return ks_der_next(d, t) && t->tag == tag && t->xclass == xclass;
}

/* One archive timestamp value of the signer. */
typedef struct {
    const uint8_t *der;
    size_t len;
    time_t gen;
    int has_gen;
} ks_ats;

/* genTime of a token without verifying it (ordering only: the token is
 * verified before it proves anything). */
static int ks_token_time(const uint8_t *der, size_t len, time_t *out)
{
    const unsigned char *p = der;
    PKCS7 *p7 = len <= LONG_MAX ? d2i_PKCS7(NULL, &p, (long)len) : NULL;
    TS_TST_INFO *tst = p7 != NULL && p == der + len ? PKCS7_to_TS_TST_INFO(p7) : NULL;
    int ok = tst != NULL && ks_asn1_time_to_time_t(TS_TST_INFO_get_time(tst), out);
    TS_TST_INFO_free(tst);
    PKCS7_free(p7);
    ks_openssl_drain(__func__);
    return ok;
}

/* The newest genTime among the archive timestamp values of an attribute
 * (DER), 0 when it is another attribute; an undecodable one is newest. */
static int ks_attr_ats_newest(const ASN1_OBJECT *ats, const uint8_t *der, size_t len, time_t *newest)
{
    const unsigned char *p = der;
    X509_ATTRIBUTE *a = len <= LONG_MAX ? d2i_X509_ATTRIBUTE(NULL, &p, (long)len) : NULL;
    int is = 0;
    *newest = 0;
    if (a == NULL || p != der + len) {
        X509_ATTRIBUTE_free(a);
        ks_openssl_drain(__func__);
        return 0; /* not an attribute: hashed as it is */
    }
    if (OBJ_cmp(X509_ATTRIBUTE_get0_object(a), ats) == 0) {
        is = 1;
        for (int v = 0; v < X509_ATTRIBUTE_count(a); v++) {
            ASN1_TYPE *ty = X509_ATTRIBUTE_get0_type(a, v);
            time_t g;
            if (ty == NULL || ty->type != V_ASN1_SEQUENCE ||
                !ks_token_time(ASN1_STRING_get0_data(ty->value.sequence),
                               (size_t)ASN1_STRING_length(ty->value.sequence), &g))
                g = (time_t)LLONG_MAX;
            if (g > *newest)
                *newest = g;
        }
    }
    X509_ATTRIBUTE_free(a);
    ks_openssl_drain(__func__);
    return is;
}

/*
 * The data an archive timestamp v2 covers (RFC 5126 6.4.1), as kensho
 * reads it, over the DER of the SignedData:
 *   1. the encapContentInfo element (tag, length and value);
 *   2. the external content when eContent is absent (detached);
 *   3. the certificates [0] and crls [1] elements when present (tag,
 *      length and value);
 *   4. every field of the signer's SignerInfo but unsignedAttrs (version,
 *      sid, digestAlgorithm, signedAttrs, signatureAlgorithm, signature),
 *      each with tag and length;
 *   5. each unsigned attribute (a whole Attribute), in the DER order of the
 *      SET, leaving out archive timestamps not older than the one checked
 *      (itself, and those made after it: unsignedAttrs is a SET, so the
 *      order of creation is told by genTime).
 * Pieces point into `der`; *attrs_from is where 5 starts.
 */
typedef struct {
    ks_blob piece[KS_MAX_ATS_PIECES];
    time_t newest[KS_MAX_ATS_PIECES]; /* per piece: archive timestamp genTime, or 0 */
    size_t n;
} ks_ats_data;

static int ks_ats_walk(const uint8_t *der, size_t len, const ASN1_OCTET_STRING *sigval, const ks_blob *detached,
                       size_t ndetached, const ASN1_OBJECT *ats, ks_ats_data *out, char *why, size_t whylen)
{
    ks_der top = {der, der + len}, d;
    ks_tlv ci = {0}, oid = {0}, exp0 = {0}, sd = {0}, t = {0}, encap = {0}, si = {0};
    int found = 0;
    out->n = 0;
    /* ContentInfo { contentType, [0] EXPLICIT SignedData { version,
     * digestAlgorithms, encapContentInfo, ... } } (RFC 5652 3, 5.1) */
    int ok = ks_der_expect(&top, &ci, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL);
    d = ci.in;
    ok = ok && ks_der_expect(&d, &oid, V_ASN1_OBJECT, V_ASN1_UNIVERSAL) &&
         ks_der_expect(&d, &exp0, 0, V_ASN1_CONTEXT_SPECIFIC);
    d = exp0.in;
    ok = ok && ks_der_expect(&d, &sd, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL);
    d = sd.in;
    ok = ok && ks_der_expect(&d, &t, V_ASN1_INTEGER, V_ASN1_UNIVERSAL) &&
         ks_der_expect(&d, &t, V_ASN1_SET, V_ASN1_UNIVERSAL) &&
         ks_der_expect(&d, &encap, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL);
    if (!ok) {
        snprintf(why, whylen, "the SignedData does not have the expected structure");
        return 0;
    }
    out->piece[out->n++] = (ks_blob){.data = encap.start, .len = encap.len};
    /* eContent absent: [0] EXPLICIT after eContentType is missing. */
    ks_der e = encap.in;
    ks_tlv ectype, econtent;
    int attached = ks_der_next(&e, &ectype) && ks_der_next(&e, &econtent);
    if (!attached) {
        if (detached == NULL || ndetached == 0 || ndetached > 8) {
            snprintf(why, whylen, "detached signature: the signed content is needed for the archive timestamp");
            return 0;
        }
        for (size_t i = 0; i < ndetached; i++)
            out->piece[out->n++] = detached[i];
    }
    for (;;) {
        if (!ks_der_next(&d, &t)) {
            snprintf(why, whylen, "the SignedData has no signerInfos");
            return 0;
        }
        if (t.xclass == V_ASN1_CONTEXT_SPECIFIC && (t.tag == 0 || t.tag == 1)) {
            if (out->n >= 16) { /* OpenSSL's own encoding has one of each */
                snprintf(why, whylen, "the SignedData does not have the expected structure");
                return 0;
            }
            out->piece[out->n++] = (ks_blob){.data = t.start, .len = t.len};
            continue;
        }
        break;
    }
    if (t.tag != V_ASN1_SET || t.xclass != V_ASN1_UNIVERSAL) {
        snprintf(why, whylen, "the SignedData has no signerInfos");
        return 0;
    }
    ks_der sis = t.in;
    size_t base = out->n;
    while (!found && ks_der_next(&sis, &si)) {
        ks_der f = si.in;
        ks_tlv fld;
        out->n = base;
        while (ks_der_next(&f, &fld)) {
            if (fld.xclass == V_ASN1_CONTEXT_SPECIFIC && fld.tag == 1) { /* unsignedAttrs */
                ks_der ua = fld.in;
                ks_tlv attr;
                while (ks_der_next(&ua, &attr)) {
                    if (out->n >= KS_MAX_ATS_PIECES) {
                        snprintf(why, whylen, "too many unsigned attributes");
                        return 0;
                    }
                    time_t newest = 0;
                    int is = ks_attr_ats_newest(ats, attr.start, attr.len, &newest);
                    out->newest[out->n] = is ? (newest > 0 ? newest : 1) : 0;
                    out->piece[out->n++] = (ks_blob){.data = attr.start, .len = attr.len};
                }
                break;
            }
            if (out->n >= KS_MAX_ATS_PIECES) {
                snprintf(why, whylen, "too many SignerInfo fields");
                return 0;
            }
            out->newest[out->n] = 0;
            out->piece[out->n++] = (ks_blob){.data = fld.start, .len = fld.len};
            /* signature OCTET STRING: is this our signer? */
            if (fld.tag == V_ASN1_OCTET_STRING && fld.xclass == V_ASN1_UNIVERSAL &&
                (size_t)(fld.in.end - fld.in.p) == (size_t)ASN1_STRING_length(sigval) &&
                memcmp(fld.in.p, ASN1_STRING_get0_data(sigval), (size_t)ASN1_STRING_length(sigval)) == 0)
                found = 1;
        }
    }
    for (size_t i = 0; i < base; i++)
        out->newest[i] = 0;
    if (!found)
        snprintf(why, whylen, "the signer was not found in the SignedData");
    return found;
}

static int ks_ats_cmp(const void *a, const void *b)
{
    const ks_ats *x = a, *y = b;
    return x->gen < y->gen ? 1 : x->gen > y->gen ? -1 : 0; /* newest first */
}

/* What ks_cades_archive hands ks_archive_chain. */
typedef struct {
    const ks_ats *list;
    const ks_ats_data *data;
    int walked;
    const char *why;
} ks_ats_chain;

/* Item i of the chain: its token over the pieces older than it. */
static ks_result ks_ats_verify(const ks_ctx *ctx, void *arg, size_t i, time_t at, ks_tsp_result *t)
{
    const ks_ats_chain *c = arg;
    const ks_ats *a = &c->list[i];
    if (a->der == NULL || !a->has_gen) {
        t->indication = KS_TOTAL_FAILED;
        t->sub = KS_SUB_FORMAT_FAILURE;
        snprintf(t->detail, sizeof t->detail, "the archive timestamp attribute is malformed");
    } else if (!c->walked) {
        t->indication = KS_INDETERMINATE;
        t->sub = KS_SUB_FORMAT_FAILURE;
        snprintf(t->detail, sizeof t->detail, "%s", c->why[0] ? c->why : "the signature cannot be re-encoded");
    } else {
        ks_blob pieces[KS_MAX_ATS_PIECES];
        size_t np = 0;
        for (size_t k = 0; k < c->data->n; k++)
            if (c->data->newest[k] == 0 || c->data->newest[k] < a->gen)
                pieces[np++] = c->data->piece[k];
        ks_tsp_verify(ctx, a->der, a->len, pieces, np, at, t);
    }
    return KS_OK;
}

ks_result ks_cades_archive(const ks_ctx *ctx, CMS_ContentInfo *cms, CMS_SignerInfo *si, const ks_blob *detached,
                           size_t ndetached, time_t at, cJSON *sobj, ks_cades_archive_result *res)
{
    ks_result r = KS_E_NOMEM;
    ASN1_OBJECT *ats = OBJ_txt2obj(ks_atsv2_oid, 1);
    unsigned char *der = NULL;
    ks_ats list[KS_MAX_ARCHIVE_TIMESTAMPS];
    size_t n = 0;
    int more = 0;
    ks_ats_data *data = NULL;

    memset(res, 0, sizeof *res);
    res->next_at = at;
    if (ats == NULL)
        goto done;
    for (int idx = -1; (idx = CMS_unsigned_get_attr_by_OBJ(si, ats, idx)) >= 0;) {
        X509_ATTRIBUTE *a = CMS_unsigned_get_attr(si, idx);
        for (int v = 0; a != NULL && v < X509_ATTRIBUTE_count(a); v++) {
            ASN1_TYPE *ty = X509_ATTRIBUTE_get0_type(a, v);
            if (n == KS_MAX_ARCHIVE_TIMESTAMPS) {
                more = 1;
                break;
            }
            if (ty == NULL || ty->type != V_ASN1_SEQUENCE) {
                list[n++] = (ks_ats){.der = NULL, .len = 0, .gen = 0, .has_gen = 0};
                continue;
            }
            ks_ats *e = &list[n++];
            e->der = ASN1_STRING_get0_data(ty->value.sequence);
            e->len = (size_t)ASN1_STRING_length(ty->value.sequence);
            e->has_gen = ks_token_time(e->der, e->len, &e->gen);
        }
    }
    r = KS_OK;
    if (n == 0)
        goto done;
    /* Newest first (unsignedAttrs is a SET: the order of creation is told
     * by genTime), for ks_archive_chain. */
    qsort(list, n, sizeof list[0], ks_ats_cmp);
    char why[200] = "";
    int walked = 0, dl = i2d_CMS_ContentInfo(cms, &der);
    if (dl > 0 && (data = calloc(1, sizeof *data)) != NULL) {
        walked = ks_ats_walk(der, (size_t)dl, CMS_SignerInfo_get0_signature(si), detached, ndetached, ats, data, why,
                             sizeof why);
    } else if (dl > 0) {
        r = KS_E_NOMEM;
        goto done;
    }
    ks_ats_chain chain = {.list = list, .data = data, .walked = walked, .why = why};
    r = ks_archive_chain(ctx, n, more, ks_ats_verify, NULL, &chain, at, sobj, NULL, res);
done:
    free(data);
    OPENSSL_free(der);
    ASN1_OBJECT_free(ats);
    ks_openssl_drain(__func__);
    return r;
}
