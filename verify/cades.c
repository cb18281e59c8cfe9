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
 * ES-A: archive-time-stamp v2 (RFC 5126 6.4.1) and archive-time-stamp-v3
 * with its ats-hash-index-v3 (ETSI EN 319 122-1 5.5.2, 5.5.3), verified
 * newest first, each older one and each signature timestamp at the time
 * the newer ones that cover it prove (ks_cades_archive).
 *
 * Decoding is OpenSSL's (ASN.1 templates below, exact length); every
 * count is capped by limits.max_certs / max_crls, or the KS_MAX_ATS_*
 * ceilings below.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1t.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/sha.h>
#include <openssl/ts.h>
#include <openssl/x509v3.h>

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
    free(v->ocsp_proven);
    free(v->crl_proven);
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
        /* The value as an archive timestamp hashes it (ks_ats_walk), to
         * know later whether one covers these very values. */
        if (SHA256(p, (size_t)len, v->rv_sha256) == NULL) {
            r = KS_E_NOMEM;
            goto done;
        }
        v->n_base_crls = sk_X509_CRL_num(v->crls);
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
        /* Proven by nothing until ks_cades_values_proven says otherwise. */
        int ncrl = sk_X509_CRL_num(v->crls);
        if ((v->ocsp_proven = calloc(v->n_ocsps > 0 ? v->n_ocsps : 1, sizeof *v->ocsp_proven)) == NULL ||
            (v->crl_proven = calloc(ncrl > 0 ? (size_t)ncrl : 1, sizeof *v->crl_proven)) == NULL) {
            r = KS_E_NOMEM;
            goto done;
        }
    }
done:
    v->pin.embedded = v->certs;
    v->pin.crls = v->crls;
    if (v->ocsps != NULL) { /* else the enclosing object's, as they were */
        v->pin.ocsps = v->ocsps;
        v->pin.n_ocsps = v->n_ocsps;
    }
    /* The enclosing object's own proofs (a PDF's) do not carry over: the
     * indices are this signer's now. */
    v->pin.ocsp_proven = v->ocsps != NULL ? v->ocsp_proven : NULL;
    v->pin.crl_proven = v->crl_proven;
    sk_X509_pop_free(cv, X509_free);
    ASN1_item_free((ASN1_VALUE *)rv, ASN1_ITEM_rptr(KS_REVOCATION_VALUES));
    ks_openssl_drain(__func__);
    return r;
}

/* ---------------- ES-A: archive timestamps (RFC 5126 6.4.1, EN 319 122-1 5.5.3) ---------------- */

/* At most this many archive timestamps per signer are verified. */
#define KS_MAX_ARCHIVE_TIMESTAMPS 8
/* Pieces of the v2 archive hash: the SignerInfo's seven fields, the
 * unsigned attributes, and what comes before them. */
#define KS_MAX_ATS_ATTRS 64
#define KS_MAX_ATS_PIECES (KS_MAX_ATS_ATTRS + 16)
/* Unsigned attribute values, and certificates / CRLs of the SignedData,
 * an ats-hash-index-v3 can speak of; hashes per list of one index. */
#define KS_MAX_ATS_VALUES 128
#define KS_MAX_ATS_INDEX 256

/* id-aa-ets-archiveTimestampV2 (RFC 5126 6.4.1; ETSI TS 101 733). */
static const char ks_atsv2_oid[] = "1.2.840.113549.1.9.16.2.48";
/* id-aa-ets-archiveTimestampV3 and id-aa-ATSHashIndex-v3 (ETSI EN 319
 * 122-1 5.5.3, 5.5.2, Annex D). */
static const char ks_atsv3_oid[] = "0.4.0.1733.2.4";
static const char ks_idxv3_oid[] = "0.4.0.19122.1.5";

/* EN 319 122-1 Annex D (no DEFAULT for hashIndAlgorithm):
 *   ATSHashIndexV3 ::= SEQUENCE {
 *       hashIndAlgorithm            AlgorithmIdentifier,
 *       certificatesHashIndex       SEQUENCE OF OCTET STRING,
 *       crlsHashIndex               SEQUENCE OF OCTET STRING,
 *       unsignedAttrValuesHashIndex SEQUENCE OF OCTET STRING } */
DEFINE_STACK_OF(ASN1_OCTET_STRING)

typedef struct {
    X509_ALGOR *alg;
    STACK_OF(ASN1_OCTET_STRING) *certs;
    STACK_OF(ASN1_OCTET_STRING) *crls;
    STACK_OF(ASN1_OCTET_STRING) *vals;
} KS_ATS_HASH_INDEX_V3;

ASN1_SEQUENCE(KS_ATS_HASH_INDEX_V3) = {
    ASN1_SIMPLE(KS_ATS_HASH_INDEX_V3, alg, X509_ALGOR),
    ASN1_SEQUENCE_OF(KS_ATS_HASH_INDEX_V3, certs, ASN1_OCTET_STRING),
    ASN1_SEQUENCE_OF(KS_ATS_HASH_INDEX_V3, crls, ASN1_OCTET_STRING),
    ASN1_SEQUENCE_OF(KS_ATS_HASH_INDEX_V3, vals, ASN1_OCTET_STRING),
} static_ASN1_SEQUENCE_END(KS_ATS_HASH_INDEX_V3)

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
    int version; /* 2 or 3 */
    int val;     /* its index among the unsigned attribute values (ks_ats_data), -1 not found */
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

/* The newest genTime among the archive timestamp values (v2 or v3) of an
 * attribute (DER), 0 when it is another attribute; an undecodable one is
 * newest. */
static int ks_attr_ats_newest(const ASN1_OBJECT *const ats[2], const uint8_t *der, size_t len, time_t *newest)
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
    if (OBJ_cmp(X509_ATTRIBUTE_get0_object(a), ats[0]) == 0 || OBJ_cmp(X509_ATTRIBUTE_get0_object(a), ats[1]) == 0) {
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
 * The signature as the archive timestamps see it, over the DER of the
 * SignedData.  For v2 (RFC 5126 6.4.1, as kensho reads it) the pieces
 * hashed in order:
 *   1. the encapContentInfo element (tag, length and value);
 *   2. the external content when eContent is absent (detached);
 *   3. the certificates [0] and crls [1] elements when present (tag,
 *      length and value);
 *   4. every field of the signer's SignerInfo but unsignedAttrs (version,
 *      sid, digestAlgorithm, signedAttrs, signatureAlgorithm, signature),
 *      each with tag and length;
 *   5. each unsigned attribute (a whole Attribute), in the DER order of the
 *      SET, leaving out archive timestamps (v2 or v3) not older than the
 *      one checked (itself, and those made after it: unsignedAttrs is a
 *      SET, so the order of creation is told by genTime).
 * For v3 (EN 319 122-1 5.5.2, 5.5.3): eContentType, the signed content,
 * the fields of 4, and the elements an ats-hash-index-v3 speaks of: each
 * CertificateChoices of certificates, each RevocationInfoChoice of crls,
 * and each value of each unsigned attribute with its attrType.
 * Everything points into `der`.
 */
typedef struct {
    ks_blob piece[KS_MAX_ATS_PIECES];
    time_t newest[KS_MAX_ATS_PIECES]; /* per piece: archive timestamp genTime, or 0 */
    size_t n;
    size_t fields_from, fields_to; /* piece[fields_from, fields_to): 4 */
    ks_blob ectype;                /* eContentType (TLV) */
    ks_blob content[8];            /* the signed content (eContent's octets, or the detached pieces) */
    size_t ncontent;
    ks_blob cert[KS_MAX_ATS_INDEX], crl[KS_MAX_ATS_INDEX];
    size_t ncert, ncrl;
    /* Unsigned attribute values: valblob[2i] attrType, valblob[2i+1] one
     * AttributeValue (TLVs, what 5.5.2 hashes together); valpiece[i] the
     * piece of their attribute. */
    ks_blob valblob[2 * KS_MAX_ATS_VALUES];
    size_t valpiece[KS_MAX_ATS_VALUES];
    size_t nval;
} ks_ats_data;

/* The elements of a SET OF (certificates, crls) into `out`. */
static int ks_ats_elements(ks_der in, ks_blob *out, size_t *n)
{
    ks_tlv e;
    while (in.p < in.end) {
        if (*n >= KS_MAX_ATS_INDEX || !ks_der_next(&in, &e))
            return 0;
        out[(*n)++] = (ks_blob){.data = e.start, .len = e.len};
    }
    return 1;
}

/* The values of the unsigned attribute of piece `k` (Attribute ::=
 * SEQUENCE { attrType OBJECT IDENTIFIER, attrValues SET OF
 * AttributeValue }, RFC 5652 5.3); one that does not parse has none an
 * index could name. */
static int ks_ats_values(ks_ats_data *out, size_t k)
{
    ks_der d = {out->piece[k].data, out->piece[k].data + out->piece[k].len}, a, vs;
    ks_tlv attr, type, set, v;
    if (!ks_der_expect(&d, &attr, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL) || d.p != d.end)
        return 1;
    a = attr.in;
    if (!ks_der_expect(&a, &type, V_ASN1_OBJECT, V_ASN1_UNIVERSAL) ||
        !ks_der_expect(&a, &set, V_ASN1_SET, V_ASN1_UNIVERSAL) || a.p != a.end)
        return 1;
    vs = set.in;
    while (vs.p < vs.end) {
        if (!ks_der_next(&vs, &v))
            return 1;
        if (out->nval >= KS_MAX_ATS_VALUES)
            return 0;
        out->valblob[2 * out->nval] = (ks_blob){.data = type.start, .len = type.len};
        out->valblob[2 * out->nval + 1] = (ks_blob){.data = v.start, .len = v.len};
        out->valpiece[out->nval++] = k;
    }
    return 1;
}

static int ks_ats_walk(const uint8_t *der, size_t len, const ASN1_OCTET_STRING *sigval, const ks_blob *detached,
                       size_t ndetached, const ASN1_OBJECT *const ats[2], ks_ats_data *out, char *why, size_t whylen)
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
    /* EncapsulatedContentInfo { eContentType, eContent [0] EXPLICIT OCTET
     * STRING OPTIONAL }: eContent absent is a detached signature. */
    ks_der e = encap.in, ec;
    ks_tlv ectype, econtent, octets;
    if (!ks_der_expect(&e, &ectype, V_ASN1_OBJECT, V_ASN1_UNIVERSAL)) {
        snprintf(why, whylen, "the SignedData does not have the expected structure");
        return 0;
    }
    out->ectype = (ks_blob){.data = ectype.start, .len = ectype.len};
    int attached = ks_der_next(&e, &econtent);
    if (!attached) {
        if (detached == NULL || ndetached == 0 || ndetached > 8) {
            snprintf(why, whylen, "detached signature: the signed content is needed for the archive timestamp");
            return 0;
        }
        for (size_t i = 0; i < ndetached; i++) {
            out->piece[out->n++] = detached[i];
            out->content[out->ncontent++] = detached[i];
        }
    } else {
        ec = econtent.in;
        if (econtent.tag != 0 || econtent.xclass != V_ASN1_CONTEXT_SPECIFIC ||
            !ks_der_expect(&ec, &octets, V_ASN1_OCTET_STRING, V_ASN1_UNIVERSAL) || ec.p != ec.end) {
            snprintf(why, whylen, "the SignedData does not have the expected structure");
            return 0;
        }
        out->content[out->ncontent++] = (ks_blob){.data = octets.in.p, .len = (size_t)(octets.in.end - octets.in.p)};
    }
    for (;;) {
        if (!ks_der_next(&d, &t)) {
            snprintf(why, whylen, "the SignedData has no signerInfos");
            return 0;
        }
        if (t.xclass == V_ASN1_CONTEXT_SPECIFIC && (t.tag == 0 || t.tag == 1)) {
            if (out->n >= 16 || !ks_ats_elements(t.in, t.tag == 0 ? out->cert : out->crl,
                                                 t.tag == 0 ? &out->ncert : &out->ncrl)) {
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
        out->nval = 0;
        while (ks_der_next(&f, &fld)) {
            if (fld.xclass == V_ASN1_CONTEXT_SPECIFIC && fld.tag == 1) { /* unsignedAttrs */
                ks_der ua = fld.in;
                ks_tlv attr;
                out->fields_to = out->n;
                while (ks_der_next(&ua, &attr)) {
                    if (out->n >= KS_MAX_ATS_PIECES) {
                        snprintf(why, whylen, "too many unsigned attributes");
                        return 0;
                    }
                    time_t newest = 0;
                    int is = ks_attr_ats_newest(ats, attr.start, attr.len, &newest);
                    out->newest[out->n] = is ? (newest > 0 ? newest : 1) : 0;
                    out->piece[out->n++] = (ks_blob){.data = attr.start, .len = attr.len};
                    if (!ks_ats_values(out, out->n - 1)) {
                        snprintf(why, whylen, "too many unsigned attribute values");
                        return 0;
                    }
                }
                break;
            }
            if (out->n >= KS_MAX_ATS_PIECES) {
                snprintf(why, whylen, "too many SignerInfo fields");
                return 0;
            }
            out->newest[out->n] = 0;
            out->piece[out->n++] = (ks_blob){.data = fld.start, .len = fld.len};
            out->fields_to = out->n;
            /* signature OCTET STRING: is this our signer? */
            if (fld.tag == V_ASN1_OCTET_STRING && fld.xclass == V_ASN1_UNIVERSAL &&
                (size_t)(fld.in.end - fld.in.p) == (size_t)ASN1_STRING_length(sigval) &&
                memcmp(fld.in.p, ASN1_STRING_get0_data(sigval), (size_t)ASN1_STRING_length(sigval)) == 0)
                found = 1;
        }
    }
    out->fields_from = base;
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

/* What one verified archive timestamp covers (for the older ones and the
 * signature timestamps): v2 every attribute but the archive timestamps not
 * older than it; v3 what its index lists. */
typedef struct {
    int verified;
    unsigned char val[KS_MAX_ATS_VALUES]; /* v3: covers unsigned attribute value i */
} ks_ats_cover;

static int ks_ats_covers(const ks_ats *a, const ks_ats_cover *c, const ks_ats_data *data, size_t v)
{
    if (!c->verified || v >= data->nval)
        return 0;
    if (a->version == 3)
        return c->val[v];
    time_t nw = data->newest[data->valpiece[v]];
    return nw == 0 || nw < a->gen;
}

/* hash(`n` pieces) with md into out (EVP_MAX_MD_SIZE). */
static int ks_ats_hash(const EVP_MD *md, const ks_blob *p, size_t n, unsigned char *out, unsigned int *outlen)
{
    EVP_MD_CTX *h = EVP_MD_CTX_new();
    int ok = h != NULL && EVP_DigestInit_ex(h, md, NULL) == 1;
    for (size_t i = 0; ok && i < n; i++)
        ok = p[i].len == 0 || EVP_DigestUpdate(h, p[i].data, p[i].len) == 1;
    ok = ok && EVP_DigestFinal_ex(h, out, outlen) == 1;
    EVP_MD_CTX_free(h);
    return ok;
}

/* Every hash of `list` is the hash of one of the `n` elements, each
 * element being the concatenation of its `per` blobs (EN 319 122-1 5.5.2:
 * an index naming an element that is not there is invalid); the elements
 * it names are marked in `covered`.  -1 when it cannot be checked, else
 * 1 valid, 0 not. */
static int ks_ats3_match(const EVP_MD *md, const STACK_OF(ASN1_OCTET_STRING) *list, const ks_blob *el, size_t n,
                         size_t per, unsigned char *covered)
{
    unsigned char(*h)[EVP_MAX_MD_SIZE] = NULL;
    unsigned int hl = 0;
    int r = -1;
    if (n > KS_MAX_ATS_INDEX || (n > 0 && (h = calloc(n, sizeof *h)) == NULL))
        return -1;
    for (size_t k = 0; k < n; k++)
        if (!ks_ats_hash(md, el + k * per, per, h[k], &hl))
            goto done;
    r = 0;
    for (int i = 0; i < sk_ASN1_OCTET_STRING_num(list); i++) {
        const ASN1_OCTET_STRING *want = sk_ASN1_OCTET_STRING_value(list, i);
        int hit = 0;
        for (size_t k = 0; k < n; k++)
            if (ASN1_STRING_length(want) == (int)hl && memcmp(ASN1_STRING_get0_data(want), h[k], hl) == 0)
                hit = covered[k] = 1;
        if (!hit)
            goto done;
    }
    r = 1;
done:
    free(h);
    return r;
}

/*
 * One archive-time-stamp-v3 (ETSI EN 319 122-1 5.5.3): its token must
 * carry exactly one ats-hash-index-v3 (5.5.2) in its own SignerInfo's
 * unsigned attributes, DER, with hashIndAlgorithm the messageImprint's
 * digest, every hash of which names a certificate, CRL or unsigned
 * attribute value present; then the messageImprint is the hash of
 * eContentType || hash(signed content) || the SignerInfo's fields || the
 * index.  The token is verified (ks_tsp_verify) also when the index is
 * not, so that its time and TSA are reported; the index's fault is the
 * verdict then.  Fills *cov (the values it lists) and *nc (the elements
 * present it does not list: added after it; -1 when the index failed),
 * which mean something only once the token verified.  KS_E_NOMEM when
 * it cannot be checked (no half verdict).
 */
static ks_result ks_ats3_verify(const ks_ctx *ctx, const ks_ats *a, const ks_ats_data *data, time_t at,
                                const ks_tsp_env *env, ks_tsp_result *t, ks_ats_cover *cov, long nc[3])
{
    ks_result r = KS_E_NOMEM;
    CMS_ContentInfo *tok = ks_der_to_cms(a->der, a->len);
    STACK_OF(CMS_SignerInfo) *sis = tok != NULL ? CMS_get0_SignerInfos(tok) : NULL;
    CMS_SignerInfo *tsi = sk_CMS_SignerInfo_num(sis) == 1 ? sk_CMS_SignerInfo_value(sis, 0) : NULL;
    ASN1_OBJECT *io = OBJ_txt2obj(ks_idxv3_oid, 1);
    ASN1_OCTET_STRING **pos = tok != NULL ? CMS_get0_content(tok) : NULL;
    TS_TST_INFO *tst = NULL;
    KS_ATS_HASH_INDEX_V3 *ix = NULL;
    unsigned char *re = NULL, chash[EVP_MAX_MD_SIZE];
    unsigned int chl = 0;
    const uint8_t *idx = NULL;
    size_t idxlen = 0;
    ks_subindication fault = KS_SUB_NONE;
    const char *fault_why = NULL;
    ks_blob pieces[KS_MAX_ATS_PIECES];
    size_t np = 0;

    memset(cov, 0, sizeof *cov);
    nc[0] = nc[1] = nc[2] = -1;
    /* The messageImprint's digest: the index's and the content hash's. */
    if (pos != NULL && *pos != NULL) {
        const unsigned char *p = ASN1_STRING_get0_data(*pos), *q = p;
        tst = d2i_TS_TST_INFO(NULL, &q, ASN1_STRING_length(*pos));
        if (q != p + ASN1_STRING_length(*pos)) {
            TS_TST_INFO_free(tst);
            tst = NULL;
        }
    }
    if (tsi == NULL || tst == NULL || io == NULL) {
        ks_tsp_verify(ctx, a->der, a->len, NULL, 0, at, env, t); /* says why it is no token */
        if (t->indication == KS_TOTAL_PASSED) {
            ks_tsp_result_clear(t); /* its TSA path's entries go with the verdict */
            ks_tsp_result_fail(t, KS_SUB_FORMAT_FAILURE, "the archive-time-stamp-v3 token does not decode");
        }
        r = io != NULL ? KS_OK : KS_E_NOMEM;
        goto done;
    }
    const ASN1_OBJECT *mobj = NULL;
    X509_ALGOR_get0(&mobj, NULL, NULL, TS_MSG_IMPRINT_get_algo(TS_TST_INFO_get_msg_imprint(tst)));
    int mnid = OBJ_obj2nid(mobj);
    const EVP_MD *md = ks_alg_digest_ok(ctx, mnid) ? EVP_get_digestbynid(mnid) : NULL;
    /* 5.5.2: "exactly one component of AttributeValue type", DER. */
    int ii = CMS_unsigned_get_attr_by_OBJ(tsi, io, -1);
    X509_ATTRIBUTE *ia =
        ii >= 0 && CMS_unsigned_get_attr_by_OBJ(tsi, io, ii) < 0 ? CMS_unsigned_get_attr(tsi, ii) : NULL;
    ASN1_TYPE *ity = ia != NULL && X509_ATTRIBUTE_count(ia) == 1 ? X509_ATTRIBUTE_get0_type(ia, 0) : NULL;
    if (ii < 0) {
        fault = KS_SUB_FORMAT_FAILURE;
        fault_why = "the archive-time-stamp-v3 carries no ats-hash-index-v3 (ETSI EN 319 122-1 5.5.3)";
    } else if (ity == NULL || ity->type != V_ASN1_SEQUENCE) {
        fault = KS_SUB_FORMAT_FAILURE;
        fault_why = "the ats-hash-index-v3 is repeated or not one SEQUENCE (ETSI EN 319 122-1 5.5.2)";
    } else {
        idx = ASN1_STRING_get0_data(ity->value.sequence);
        idxlen = (size_t)ASN1_STRING_length(ity->value.sequence);
        const unsigned char *q = idx;
        int rl;
        ix = idxlen <= LONG_MAX ? (KS_ATS_HASH_INDEX_V3 *)ASN1_item_d2i(NULL, &q, (long)idxlen,
                                                                         ASN1_ITEM_rptr(KS_ATS_HASH_INDEX_V3))
                                : NULL;
        if (ix == NULL || q != idx + idxlen ||
            (rl = ASN1_item_i2d((ASN1_VALUE *)ix, &re, ASN1_ITEM_rptr(KS_ATS_HASH_INDEX_V3))) <= 0 ||
            (size_t)rl != idxlen || memcmp(re, idx, idxlen) != 0) {
            fault = KS_SUB_FORMAT_FAILURE;
            fault_why = "the ats-hash-index-v3 is not a DER ATSHashIndexV3 (ETSI EN 319 122-1 5.5.2)";
        } else {
            const ASN1_OBJECT *iobj = NULL;
            X509_ALGOR_get0(&iobj, NULL, NULL, ix->alg);
            if (OBJ_obj2nid(iobj) != mnid || mnid == NID_undef) {
                fault = KS_SUB_FORMAT_FAILURE;
                fault_why = "the ats-hash-index-v3's hashIndAlgorithm is not the message imprint's digest "
                            "(ETSI EN 319 122-1 5.5.2)";
            } else if (sk_ASN1_OCTET_STRING_num(ix->certs) > KS_MAX_ATS_INDEX ||
                       sk_ASN1_OCTET_STRING_num(ix->crls) > KS_MAX_ATS_INDEX ||
                       sk_ASN1_OCTET_STRING_num(ix->vals) > KS_MAX_ATS_INDEX) {
                fault = KS_SUB_FORMAT_FAILURE;
                fault_why = "the ats-hash-index-v3 lists more hashes than are checked";
            }
        }
    }
    /* The imprint's input (5.5.3 steps 1-4); without a digest we accept,
     * ks_tsp_verify says so. */
    if (md != NULL) {
        if (!ks_ats_hash(md, data->content, data->ncontent, chash, &chl))
            goto done; /* KS_E_NOMEM */
        pieces[np++] = data->ectype;
        pieces[np++] = (ks_blob){.data = chash, .len = chl};
        for (size_t k = data->fields_from; k < data->fields_to && np < KS_MAX_ATS_PIECES - 1; k++)
            pieces[np++] = data->piece[k];
        if (idx != NULL)
            pieces[np++] = (ks_blob){.data = idx, .len = idxlen};
    }
    ks_tsp_verify(ctx, a->der, a->len, pieces, np, at, env, t);
    r = KS_OK;
    if (md == NULL)
        goto done; /* the token's own verdict (the digest is refused) */
    if (fault == KS_SUB_NONE) {
        unsigned char cc[KS_MAX_ATS_INDEX] = {0}, cl[KS_MAX_ATS_INDEX] = {0};
        int okc = ks_ats3_match(md, ix->certs, data->cert, data->ncert, 1, cc),
            okl = okc < 0 ? -1 : ks_ats3_match(md, ix->crls, data->crl, data->ncrl, 1, cl),
            okv = okl < 0 ? -1 : ks_ats3_match(md, ix->vals, data->valblob, data->nval, 2, cov->val);
        if (okc < 0 || okl < 0 || okv < 0) {
            r = KS_E_NOMEM;
            goto done;
        } else if (!okc || !okl || !okv) {
            fault = KS_SUB_HASH_FAILURE;
            fault_why = !okc   ? "the ats-hash-index-v3 lists a certificate that is not in the signature "
                                 "(ETSI EN 319 122-1 5.5.2)"
                        : !okl ? "the ats-hash-index-v3 lists revocation information that is not in the signature "
                                 "(ETSI EN 319 122-1 5.5.2)"
                               : "the ats-hash-index-v3 lists an unsigned attribute value that is not in the "
                                 "signature (ETSI EN 319 122-1 5.5.2)";
        } else {
            nc[0] = nc[1] = nc[2] = 0;
            for (size_t k = 0; k < data->ncert; k++)
                nc[0] += !cc[k];
            for (size_t k = 0; k < data->ncrl; k++)
                nc[1] += !cl[k];
            for (size_t k = 0; k < data->nval; k++) /* itself is not counted */
                nc[2] += !cov->val[k] && (k != (size_t)a->val);
        }
    }
    if (fault != KS_SUB_NONE) {
        memset(cov->val, 0, sizeof cov->val);
        t->indication = KS_TOTAL_FAILED;
        t->sub = fault;
        snprintf(t->detail, sizeof t->detail, "%s", fault_why);
    }
done:
    OPENSSL_free(re);
    ASN1_item_free((ASN1_VALUE *)ix, ASN1_ITEM_rptr(KS_ATS_HASH_INDEX_V3));
    TS_TST_INFO_free(tst);
    ASN1_OBJECT_free(io);
    CMS_ContentInfo_free(tok);
    ks_openssl_drain(__func__);
    return r;
}

/* The time the signature timestamp `der` (an attribute value) is validated
 * at: the genTime of the oldest verified archive timestamp covering it,
 * else the validation time. */
time_t ks_cades_archive_at(const ks_cades_archive_result *r, const uint8_t *der, size_t len)
{
    unsigned char h[SHA256_DIGEST_LENGTH];
    if (r->n_sts == 0 || SHA256(der, len, h) == NULL)
        return r->uncovered_at;
    for (size_t i = 0; i < r->n_sts; i++)
        if (memcmp(r->sts[i].sha256, h, sizeof h) == 0)
            return r->sts[i].at;
    return r->uncovered_at;
}

void ks_cades_values_proven(ks_cades_values *v, const ks_cades_archive_result *ar)
{
    if (!v->has_revocation_values || v->ocsp_proven == NULL || v->crl_proven == NULL)
        return;
    for (size_t k = 0; k < ar->n_rv; k++) {
        if (memcmp(ar->rv[k].sha256, v->rv_sha256, sizeof v->rv_sha256) != 0)
            continue;
        /* Only the values of revocation-values: the SignedData's own crls
         * and the enclosing object's answers (before them) are not. */
        for (size_t i = v->n_base; i < v->n_ocsps; i++)
            v->ocsp_proven[i] = ar->rv[k].at;
        for (int i = v->n_base_crls; i < sk_X509_CRL_num(v->crls); i++)
            v->crl_proven[i] = ar->rv[k].at;
        return;
    }
}

/* What ks_cades_archive hands ks_archive_chain. */
typedef struct {
    ks_ats *list;
    const ks_ats_data *data;
    int walked;
    const char *why;
    ks_ats_cover *cov; /* per item */
    long (*nc)[3];     /* per item: a v3's not_covered, -1 none */
    const ks_tsp_env *env; /* the TSA paths' revocation (tsp.c) */
} ks_ats_chain;

/* The identifier and length octets of unsignedAttrs ([1] IMPLICIT SET OF,
 * constructed: 0xA1) around `n` octets of attributes (X.690 8.1.3); 0 when
 * n does not fit the four length octets kept here. */
static size_t ks_ats_set_header(uint8_t out[6], size_t n)
{
    size_t k = 0;
    out[k++] = 0xA1;
    if (n < 0x80) {
        out[k++] = (uint8_t)n;
        return k;
    }
    size_t bytes = n <= 0xFF ? 1 : n <= 0xFFFF ? 2 : n <= 0xFFFFFF ? 3 : n <= 0xFFFFFFFFu ? 4 : 0;
    if (bytes == 0)
        return 0;
    out[k++] = (uint8_t)(0x80 | bytes);
    for (size_t b = bytes; b > 0; b--)
        out[k++] = (uint8_t)(n >> (8 * (b - 1)));
    return k;
}

/* Item i of the chain: v2 its token over the pieces older than it, v3
 * ks_ats3_verify.  What it covers is kept for ks_ats_chain_covers. */
static ks_result ks_ats_verify(const ks_ctx *ctx, void *arg, size_t i, time_t at, ks_tsp_result *t)
{
    ks_ats_chain *c = arg;
    ks_ats *a = &c->list[i];
    if (a->der == NULL || !a->has_gen) {
        t->indication = KS_TOTAL_FAILED;
        t->sub = KS_SUB_FORMAT_FAILURE;
        snprintf(t->detail, sizeof t->detail, "the archive timestamp attribute is malformed");
    } else if (!c->walked) {
        t->indication = KS_INDETERMINATE;
        t->sub = KS_SUB_FORMAT_FAILURE;
        snprintf(t->detail, sizeof t->detail, "%s", c->why[0] ? c->why : "the signature cannot be re-encoded");
    } else if (a->version == 3) {
        if (ks_ats3_verify(ctx, a, c->data, at, c->env, t, &c->cov[i], c->nc[i]) != KS_OK)
            return KS_E_NOMEM;
    } else {
        /* ETSI TS 101 733 V2.2.1 6.4.1 hashes the unsignedAttrs element
         * with its [1] tag and length (of the attributes kept); versions up
         * to 1.8.3 (Annex K) left them out.  Annex K Note 3 of V2.2.1 asks
         * a verifier to try both: the normative form first. */
        ks_blob pieces[KS_MAX_ATS_PIECES + 1];
        uint8_t hdr[6];
        size_t np = 0, ulen = 0, h = c->data->fields_to; /* the pieces before it are never archive timestamps */
        for (size_t k = 0; k < h; k++)
            pieces[np++] = c->data->piece[k];
        pieces[np++] = (ks_blob){.data = hdr, .len = 0};
        for (size_t k = h; k < c->data->n; k++)
            if (c->data->newest[k] == 0 || c->data->newest[k] < a->gen) {
                ulen += c->data->piece[k].len;
                pieces[np++] = c->data->piece[k];
            }
        pieces[h].len = ks_ats_set_header(hdr, ulen);
        ks_tsp_verify(ctx, a->der, a->len, pieces, np, at, c->env, t);
        if (pieces[h].len != 0 && t->sub == KS_SUB_HASH_FAILURE && !t->imprint_ok) {
            ks_tsp_result_clear(t);
            memmove(&pieces[h], &pieces[h + 1], (np - h - 1) * sizeof pieces[0]);
            ks_tsp_verify(ctx, a->der, a->len, pieces, np - 1, at, c->env, t);
        }
    }
    /* Verified as ks_archive_chain counts it. */
    if (t->indication == KS_TOTAL_PASSED && t->has_time && t->time >= 0) {
        c->cov[i].verified = 1;
        a->gen = t->time;
    }
    return KS_OK;
}

/* Does the verified newer item cover the older one?  (An archive
 * timestamp added after a v3 that its index does not list is not proven
 * by it.) */
static int ks_ats_chain_covers(void *arg, size_t newer, size_t older)
{
    const ks_ats_chain *c = arg;
    const ks_ats *o = &c->list[older];
    return c->walked && o->val >= 0 && ks_ats_covers(&c->list[newer], &c->cov[newer], c->data, (size_t)o->val);
}

static int ks_json_add_nc(cJSON *tj, const long nc[3])
{
    cJSON *o = cJSON_AddObjectToObject(tj, "not_covered");
    return o != NULL && cJSON_AddNumberToObject(o, "certificates", (double)nc[0]) != NULL &&
           cJSON_AddNumberToObject(o, "crls", (double)nc[1]) != NULL &&
           cJSON_AddNumberToObject(o, "unsigned_attribute_values", (double)nc[2]) != NULL;
}

ks_result ks_cades_archive(const ks_ctx *ctx, CMS_ContentInfo *cms, CMS_SignerInfo *si, const ks_blob *detached,
                           size_t ndetached, time_t at, const ks_tsp_env *env, cJSON *sobj,
                           ks_cades_archive_result *res)
{
    ks_result r = KS_E_NOMEM;
    ASN1_OBJECT *ats[2] = {OBJ_txt2obj(ks_atsv2_oid, 1), OBJ_txt2obj(ks_atsv3_oid, 1)};
    unsigned char *der = NULL, *tsoid = NULL, *rvoid = NULL;
    ks_ats list[KS_MAX_ARCHIVE_TIMESTAMPS];
    ks_ats_cover *cov = NULL;
    long nc[KS_MAX_ARCHIVE_TIMESTAMPS][3];
    size_t n = 0;
    int more = 0, tsoidlen = 0, rvoidlen = 0;
    ks_ats_data *data = NULL;

    memset(res, 0, sizeof *res);
    res->next_at = res->uncovered_at = at;
    if (ats[0] == NULL || ats[1] == NULL)
        goto done;
    for (int ver = 2; ver <= 3; ver++)
        for (int idx = -1; (idx = CMS_unsigned_get_attr_by_OBJ(si, ats[ver - 2], idx)) >= 0;) {
            X509_ATTRIBUTE *a = CMS_unsigned_get_attr(si, idx);
            int nv = a != NULL ? X509_ATTRIBUTE_count(a) : 0;
            for (int v = 0; v < nv; v++) {
                ASN1_TYPE *ty = X509_ATTRIBUTE_get0_type(a, v);
                if (n == KS_MAX_ARCHIVE_TIMESTAMPS) {
                    more = 1;
                    break;
                }
                ks_ats *e = &list[n++];
                *e = (ks_ats){.der = NULL, .len = 0, .gen = 0, .has_gen = 0, .version = ver, .val = -1};
                /* v3: "exactly one component of AttributeValue type" (EN 319 122-1 5.5.3) */
                if (ty == NULL || ty->type != V_ASN1_SEQUENCE || (ver == 3 && nv != 1))
                    continue;
                e->der = ASN1_STRING_get0_data(ty->value.sequence);
                e->len = (size_t)ASN1_STRING_length(ty->value.sequence);
                e->has_gen = ks_token_time(e->der, e->len, &e->gen);
            }
        }
    r = KS_OK;
    if (n == 0)
        goto done;
    r = KS_E_NOMEM;
    if ((cov = calloc(n, sizeof *cov)) == NULL ||
        (tsoidlen = i2d_ASN1_OBJECT(OBJ_nid2obj(NID_id_smime_aa_timeStampToken), &tsoid)) <= 0 ||
        (rvoidlen = i2d_ASN1_OBJECT(OBJ_nid2obj(NID_id_smime_aa_ets_revocationValues), &rvoid)) <= 0)
        goto done;
    /* Newest first (unsignedAttrs is a SET: the order of creation is told
     * by genTime), for ks_archive_chain. */
    qsort(list, n, sizeof list[0], ks_ats_cmp);
    char why[200] = "";
    int walked = 0, dl = i2d_CMS_ContentInfo(cms, &der);
    if (dl > 0 && (data = calloc(1, sizeof *data)) != NULL) {
        walked = ks_ats_walk(der, (size_t)dl, CMS_SignerInfo_get0_signature(si), detached, ndetached,
                             (const ASN1_OBJECT *const *)ats, data, why, sizeof why);
    } else if (dl > 0) {
        goto done;
    }
    /* Where each archive timestamp is among the unsigned attribute values. */
    for (size_t i = 0; i < n; i++) {
        nc[i][0] = nc[i][1] = nc[i][2] = -1;
        for (size_t v = 0; walked && list[i].der != NULL && v < data->nval && list[i].val < 0; v++)
            if (data->valblob[2 * v + 1].len == list[i].len &&
                memcmp(data->valblob[2 * v + 1].data, list[i].der, list[i].len) == 0)
                list[i].val = (int)v;
    }
    ks_ats_chain chain = {.list = list, .data = data, .walked = walked, .why = why, .cov = cov, .nc = nc, .env = env};
    if ((r = ks_archive_chain(ctx, n, more, ks_ats_verify, ks_ats_chain_covers, &chain, at, sobj, NULL, res)) !=
        KS_OK)
        goto done;
    res->uncovered_at = at;
    r = KS_E_NOMEM;
    /* Each item's version, and a verified v3's not_covered, on the entries
     * the chain has just appended (in item order). */
    cJSON *arr = cJSON_GetObjectItemCaseSensitive(sobj, "timestamps");
    int first = cJSON_GetArraySize(arr) - (int)n;
    for (size_t i = 0; i < n; i++) {
        cJSON *tj = first >= 0 ? cJSON_GetArrayItem(arr, first + (int)i) : NULL;
        if (tj == NULL || cJSON_AddNumberToObject(tj, "version", list[i].version) == NULL ||
            (cov[i].verified && nc[i][0] >= 0 && !ks_json_add_nc(tj, nc[i])))
            goto done;
    }
    /* The signature timestamps, each at the oldest verified archive
     * timestamp that covers it (ks_cades_archive_at). */
    for (size_t v = 0; walked && v < data->nval && res->n_sts < KS_MAX_ATS_STS; v++) {
        if (data->valblob[2 * v].len != (size_t)tsoidlen ||
            memcmp(data->valblob[2 * v].data, tsoid, (size_t)tsoidlen) != 0)
            continue;
        time_t when = at;
        for (size_t j = 0; j < n; j++)
            if (ks_ats_covers(&list[j], &cov[j], data, v) && list[j].gen < when)
                when = list[j].gen;
        if (SHA256(data->valblob[2 * v + 1].data, data->valblob[2 * v + 1].len, res->sts[res->n_sts].sha256) == NULL)
            goto done;
        res->sts[res->n_sts++].at = when;
    }
    /* The revocation-values attribute values a verified archive timestamp
     * covers (v2: every attribute older than it; v3: what its index lists),
     * with the oldest such genTime: evidence proven to have existed then
     * (ETSI EN 319 102-1 5.6.2.4, 5.2.8; ks_cades_values_proven).  Keyed by
     * the hash of the very value, so values added or changed later are not
     * proven.  A signature timestamp covers only the signature value. */
    for (size_t v = 0; walked && v < data->nval && res->n_rv < KS_MAX_ATS_RV; v++) {
        if (data->valblob[2 * v].len != (size_t)rvoidlen ||
            memcmp(data->valblob[2 * v].data, rvoid, (size_t)rvoidlen) != 0)
            continue;
        time_t when = 0;
        for (size_t j = 0; j < n; j++)
            if (ks_ats_covers(&list[j], &cov[j], data, v) && (when == 0 || list[j].gen < when))
                when = list[j].gen;
        if (when <= 0)
            continue;
        if (SHA256(data->valblob[2 * v + 1].data, data->valblob[2 * v + 1].len, res->rv[res->n_rv].sha256) == NULL)
            goto done;
        res->rv[res->n_rv++].at = when;
    }
    r = KS_OK;
done:
    free(cov);
    free(data);
    OPENSSL_free(tsoid);
    OPENSSL_free(rvoid);
    OPENSSL_free(der);
    ASN1_OBJECT_free(ats[0]);
    ASN1_OBJECT_free(ats[1]);
    ks_openssl_drain(__func__);
    return r;
}

/* ---------------- ES-C: complete references (RFC 5126 6.2.1, 6.2.2) ---------------- */

/* OtherHash ::= CHOICE { sha1Hash OtherHashValue (OCTET STRING),
 *     otherHash OtherHashAlgAndValue SEQUENCE { hashAlgorithm
 *     AlgorithmIdentifier, hashValue OCTET STRING } } (RFC 5126 6.2.1) */
typedef struct {
    int nid;
    const uint8_t *v;
    size_t len;
} ks_other_hash;

static int ks_other_hash_read(ks_der *d, ks_other_hash *h)
{
    ks_tlv t, alg, oid, val;
    if (!ks_der_next(d, &t) || t.xclass != V_ASN1_UNIVERSAL)
        return 0;
    if (t.tag == V_ASN1_OCTET_STRING) {
        *h = (ks_other_hash){.nid = NID_sha1, .v = t.in.p, .len = (size_t)(t.in.end - t.in.p)};
        return 1;
    }
    ks_der in = t.in, a;
    if (t.tag != V_ASN1_SEQUENCE || !ks_der_expect(&in, &alg, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL) ||
        !ks_der_expect(&in, &val, V_ASN1_OCTET_STRING, V_ASN1_UNIVERSAL) || in.p != in.end)
        return 0;
    a = alg.in;
    if (!ks_der_expect(&a, &oid, V_ASN1_OBJECT, V_ASN1_UNIVERSAL))
        return 0;
    const unsigned char *q = oid.start;
    ASN1_OBJECT *o = d2i_ASN1_OBJECT(NULL, &q, (long)oid.len);
    h->nid = o != NULL ? OBJ_obj2nid(o) : NID_undef;
    ASN1_OBJECT_free(o);
    h->v = val.in.p;
    h->len = (size_t)(val.in.end - val.in.p);
    return 1;
}

/* 1 when `h` is the hash of der[len]; 0 not (or an unknown digest); -1
 * it could not be computed. */
static int ks_other_hash_eq(const ks_other_hash *h, const uint8_t *der, size_t len)
{
    const EVP_MD *md = EVP_get_digestbynid(h->nid);
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int ol = 0;
    ks_blob b = {.data = der, .len = len};
    if (md == NULL || (size_t)EVP_MD_get_size(md) != h->len)
        return 0;
    if (!ks_ats_hash(md, &b, 1, out, &ol))
        return -1;
    return ol == h->len && memcmp(out, h->v, ol) == 0;
}

/* The references' verdict: each counts the references that matched
 * nothing or named a value whose hash differs. */
typedef struct {
    int malformed, unmatched, differ;
    const ks_ctx *ctx;
    const ks_cades_values *v;
} ks_refs;

/* IssuerSerial ::= SEQUENCE { issuer GeneralNames, serialNumber
 * CertificateSerialNumber } (RFC 5035 4, as RFC 5126 6.2.1 imports it). */
typedef struct {
    GENERAL_NAMES *issuer;
    ASN1_INTEGER *serial;
} KS_ISSUER_SERIAL;

ASN1_SEQUENCE(KS_ISSUER_SERIAL) = {
    ASN1_SEQUENCE_OF(KS_ISSUER_SERIAL, issuer, GENERAL_NAME),
    ASN1_SIMPLE(KS_ISSUER_SERIAL, serial, ASN1_INTEGER),
} static_ASN1_SEQUENCE_END(KS_ISSUER_SERIAL)

/* A certificate the signer carries or the configuration holds whose DER
 * hashes to h (1), none (0), -1 no memory.  *named: one with the
 * issuerSerial (DER, may be NULL) was seen. */
static int ks_refs_cert(const ks_refs *rf, const ks_other_hash *h, const uint8_t *is, size_t islen, int *named)
{
    STACK_OF(X509) *pools[3] = {rf->v->certs, rf->ctx->intermediates, rf->ctx->anchors};
    KS_ISSUER_SERIAL *want = NULL;
    int r = 0;
    if (is != NULL) {
        const unsigned char *q = is;
        want = (KS_ISSUER_SERIAL *)ASN1_item_d2i(NULL, &q, (long)islen, ASN1_ITEM_rptr(KS_ISSUER_SERIAL));
        if (want == NULL || q != is + islen) {
            ASN1_item_free((ASN1_VALUE *)want, ASN1_ITEM_rptr(KS_ISSUER_SERIAL));
            want = NULL;
        }
    }
    for (int k = 0; k < 3 && r == 0; k++)
        for (int i = 0; i < sk_X509_num(pools[k]) && r == 0; i++) {
            X509 *x = sk_X509_value(pools[k], i);
            unsigned char *der = NULL;
            int n = i2d_X509(x, &der);
            r = n > 0 ? ks_other_hash_eq(h, der, (size_t)n) : -1;
            OPENSSL_free(der);
            if (r == 0 && want != NULL && ASN1_INTEGER_cmp(want->serial, X509_get0_serialNumber(x)) == 0 &&
                sk_GENERAL_NAME_num(want->issuer) == 1 && sk_GENERAL_NAME_value(want->issuer, 0)->type == GEN_DIRNAME &&
                X509_NAME_cmp(sk_GENERAL_NAME_value(want->issuer, 0)->d.directoryName, X509_get_issuer_name(x)) == 0)
                *named = 1;
        }
    ASN1_item_free((ASN1_VALUE *)want, ASN1_ITEM_rptr(KS_ISSUER_SERIAL));
    ks_openssl_drain(__func__);
    return r;
}

/* CompleteCertificateRefs ::= SEQUENCE OF OtherCertID { otherCertHash
 * OtherHash, issuerSerial IssuerSerial OPTIONAL } (6.2.1). */
static int ks_refs_certs(ks_refs *rf, const uint8_t *p, size_t len)
{
    ks_der d = {p, p + len}, all, id;
    ks_tlv seq, oc, is;
    if (!ks_der_expect(&d, &seq, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL) || d.p != d.end) {
        rf->malformed++;
        return 1;
    }
    all = seq.in;
    for (int n = 0; all.p < all.end; n++) {
        ks_other_hash h;
        int named = 0, has_is;
        if (n >= KS_MAX_ATS_INDEX || !ks_der_expect(&all, &oc, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL)) {
            rf->malformed++;
            return 1;
        }
        id = oc.in;
        if (!ks_other_hash_read(&id, &h)) {
            rf->malformed++;
            return 1;
        }
        has_is = id.p < id.end;
        if ((has_is && !ks_der_expect(&id, &is, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL)) || id.p != id.end) {
            rf->malformed++;
            return 1;
        }
        int r = ks_refs_cert(rf, &h, has_is ? is.start : NULL, has_is ? is.len : 0, &named);
        if (r < 0)
            return 0;
        if (r == 0)
            named ? rf->differ++ : rf->unmatched++;
    }
    return 1;
}

/* CrlValidatedID ::= SEQUENCE { crlHash OtherHash, crlIdentifier
 * CrlIdentifier { crlissuer Name, crlIssuedTime UTCTime, crlNumber
 * INTEGER OPTIONAL } OPTIONAL } (6.2.2): against the CRLs carried (the
 * SignedData's and revocation-values') and configured. */
static int ks_refs_crl(ks_refs *rf, ks_der d)
{
    STACK_OF(X509_CRL) *pools[2] = {rf->v->crls, rf->ctx->crls};
    ks_other_hash h;
    ks_tlv ci, nm, tm;
    X509_NAME *issuer = NULL;
    ASN1_UTCTIME *issued = NULL;
    int r = 0, named = 0;
    if (!ks_other_hash_read(&d, &h))
        return -2;
    if (d.p < d.end) {
        ks_der c;
        if (!ks_der_expect(&d, &ci, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL) || d.p != d.end)
            return -2;
        c = ci.in;
        if (!ks_der_expect(&c, &nm, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL) || !ks_der_next(&c, &tm))
            return -2;
        const unsigned char *q = nm.start, *t = tm.start;
        issuer = d2i_X509_NAME(NULL, &q, (long)nm.len);
        issued = d2i_ASN1_UTCTIME(NULL, &t, (long)tm.len);
    }
    for (int k = 0; k < 2 && r == 0; k++)
        for (int i = 0; i < sk_X509_CRL_num(pools[k]) && r == 0; i++) {
            X509_CRL *c = sk_X509_CRL_value(pools[k], i);
            unsigned char *der = NULL;
            int n = i2d_X509_CRL(c, &der);
            r = n > 0 ? ks_other_hash_eq(&h, der, (size_t)n) : -1;
            OPENSSL_free(der);
            if (r == 0 && issuer != NULL && issued != NULL && X509_NAME_cmp(issuer, X509_CRL_get_issuer(c)) == 0 &&
                ASN1_TIME_compare(issued, X509_CRL_get0_lastUpdate(c)) == 0)
                named = 1;
        }
    X509_NAME_free(issuer);
    ASN1_UTCTIME_free(issued);
    ks_openssl_drain(__func__);
    if (r == 0)
        named ? rf->differ++ : rf->unmatched++;
    return r < 0 ? -1 : 0;
}

/* OcspResponsesID ::= SEQUENCE { ocspIdentifier OcspIdentifier {
 * ocspResponderID ResponderID, producedAt GeneralizedTime }, ocspRepHash
 * OtherHash OPTIONAL } (6.2.2): against the OCSP answers carried.  Which
 * encoding ocspRepHash is over (the OCSPResponse or its
 * BasicOCSPResponse, which revocation-values holds) is taken either way. */
static int ks_refs_ocsp(ks_refs *rf, ks_der d)
{
    ks_tlv oi, rid, pat;
    ks_other_hash h = {0};
    ASN1_GENERALIZEDTIME *produced = NULL;
    int has_hash, r = 0, named = 0;
    if (!ks_der_expect(&d, &oi, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL))
        return -2;
    ks_der o = oi.in;
    if (!ks_der_next(&o, &rid) || rid.xclass != V_ASN1_CONTEXT_SPECIFIC || (rid.tag != 1 && rid.tag != 2) ||
        !ks_der_expect(&o, &pat, V_ASN1_GENERALIZEDTIME, V_ASN1_UNIVERSAL) || o.p != o.end)
        return -2;
    has_hash = d.p < d.end;
    if ((has_hash && !ks_other_hash_read(&d, &h)) || d.p != d.end)
        return -2;
    const unsigned char *q = pat.start;
    if ((produced = d2i_ASN1_GENERALIZEDTIME(NULL, &q, (long)pat.len)) == NULL)
        return -2;
    for (size_t i = 0; i < rf->v->pin.n_ocsps && r == 0; i++) {
        const ks_blob *b = &rf->v->pin.ocsps[i];
        const unsigned char *p = b->data;
        OCSP_RESPONSE *resp = b->len <= LONG_MAX ? d2i_OCSP_RESPONSE(NULL, &p, (long)b->len) : NULL;
        OCSP_BASICRESP *bs = resp != NULL ? OCSP_response_get1_basic(resp) : NULL;
        const ASN1_OCTET_STRING *keyid = NULL;
        const X509_NAME *name = NULL;
        unsigned char *bder = NULL;
        int bl = bs != NULL ? i2d_OCSP_BASICRESP(bs, &bder) : 0;
        /* the identifier: producedAt and the responder, by name [1] or key [2] */
        int same = bs != NULL && OCSP_resp_get0_id(bs, &keyid, &name) == 1 &&
                   ASN1_TIME_compare(produced, OCSP_resp_get0_produced_at(bs)) == 0;
        if (same) {
            ks_der in = rid.in;
            ks_tlv x;
            if (rid.tag == 1 && name != NULL && ks_der_next(&in, &x)) {
                const unsigned char *nq = x.start;
                X509_NAME *rn = d2i_X509_NAME(NULL, &nq, (long)x.len);
                same = rn != NULL && X509_NAME_cmp(rn, name) == 0;
                X509_NAME_free(rn);
            } else if (rid.tag == 2 && keyid != NULL && ks_der_expect(&in, &x, V_ASN1_OCTET_STRING, V_ASN1_UNIVERSAL)) {
                same = (size_t)(x.in.end - x.in.p) == (size_t)ASN1_STRING_length(keyid) &&
                       memcmp(x.in.p, ASN1_STRING_get0_data(keyid), (size_t)ASN1_STRING_length(keyid)) == 0;
            } else {
                same = 0;
            }
        }
        if (!has_hash) {
            r = same;
        } else if (bs != NULL) {
            int e1 = ks_other_hash_eq(&h, b->data, b->len), e2 = bl > 0 ? ks_other_hash_eq(&h, bder, (size_t)bl) : -1;
            r = e1 < 0 || e2 < 0 ? -1 : (e1 || e2);
            named |= same;
        }
        OPENSSL_free(bder);
        OCSP_BASICRESP_free(bs);
        OCSP_RESPONSE_free(resp);
    }
    ASN1_GENERALIZEDTIME_free(produced);
    ks_openssl_drain(__func__);
    if (r == 0)
        named ? rf->differ++ : rf->unmatched++;
    return r < 0 ? -1 : 0;
}

/* CompleteRevocationRefs ::= SEQUENCE OF CrlOcspRef { crlids [0]
 * CRLListID { SEQUENCE OF CrlValidatedID }, ocspids [1] OcspListID {
 * SEQUENCE OF OcspResponsesID }, otherRev [2] OtherRevRefs } OPTIONAL
 * each, EXPLICIT tags (RFC 5126 6.2.2, Annex A ExplicitSyntax88);
 * otherRev (no registered type is in use) is skipped. */
static int ks_refs_revs(ks_refs *rf, const uint8_t *p, size_t len)
{
    ks_der d = {p, p + len}, all;
    ks_tlv seq, ref;
    int n = 0;
    if (!ks_der_expect(&d, &seq, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL) || d.p != d.end)
        goto malformed;
    all = seq.in;
    while (all.p < all.end) {
        if (!ks_der_expect(&all, &ref, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL))
            goto malformed;
        ks_der f = ref.in;
        ks_tlv tag, list, items, one;
        while (f.p < f.end) {
            if (!ks_der_next(&f, &tag) || tag.xclass != V_ASN1_CONTEXT_SPECIFIC || tag.tag > 2)
                goto malformed;
            if (tag.tag == 2)
                continue;
            ks_der t = tag.in, l, it;
            if (!ks_der_expect(&t, &list, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL) || t.p != t.end)
                goto malformed;
            l = list.in;
            if (!ks_der_expect(&l, &items, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL) || l.p != l.end)
                goto malformed;
            it = items.in;
            while (it.p < it.end) {
                if (++n > KS_MAX_ATS_INDEX || !ks_der_expect(&it, &one, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL))
                    goto malformed;
                int r = tag.tag == 0 ? ks_refs_crl(rf, one.in) : ks_refs_ocsp(rf, one.in);
                if (r == -1)
                    return 0;
                if (r == -2)
                    goto malformed;
            }
        }
    }
    return 1;
malformed:
    rf->malformed++;
    return 1;
}

ks_result ks_cades_refs(const ks_ctx *ctx, CMS_SignerInfo *si, const ks_cades_values *v, cJSON *sobj)
{
    ks_refs rf = {.ctx = ctx, .v = v};
    const unsigned char *p = NULL;
    long len = 0;
    int f;
    /* Informational while the values are there (RFC 5126 6.3.3, 6.3.4:
     * the values are what the references name): the certificate
     * references are checked with certificate-values, the revocation
     * references with revocation-values. */
    if (v->has_cert_values && (f = ks_unsigned_der(si, NID_id_smime_aa_ets_CertificateRefs, &p, &len)) != 0) {
        if (f < 0)
            rf.malformed++;
        else if (!ks_refs_certs(&rf, p, (size_t)len))
            return KS_E_NOMEM;
    }
    if (v->has_revocation_values && (f = ks_unsigned_der(si, NID_id_smime_aa_ets_RevocationRefs, &p, &len)) != 0) {
        if (f < 0)
            rf.malformed++;
        else if (!ks_refs_revs(&rf, p, (size_t)len))
            return KS_E_NOMEM;
    }
    char d[256];
    if (rf.malformed > 0 &&
        !ks_verdict_warn(sobj, "LTV_REFS_MALFORMED",
                         "A complete-certificate-references or complete-revocation-references attribute is malformed or "
                         "repeated; it was not checked.",
                         "証明書参照または失効情報参照の属性が不正または重複しているため、確認していません。"))
        return KS_E_NOMEM;
    if (rf.unmatched + rf.differ > 0) {
        snprintf(d, sizeof d,
                 "%d complete reference(s) name no certificate or revocation value the signature carries, %d name "
                 "one whose hash differs; the verdict rests on the values themselves.",
                 rf.unmatched, rf.differ);
        if (!ks_verdict_warn(sobj, "LTV_REFS_MISMATCH", d,
                             "完全な参照の一部が、署名に含まれる証明書・失効情報と一致しません。判定は値そのものに基づきます。"))
            return KS_E_NOMEM;
    }
    return KS_OK;
}
