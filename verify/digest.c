/*
 * verify/digest.c - hash-only submission for a detached CMS signature: the
 * caller sends the digest of the content instead of the content (privacy
 * rules that forbid sending a filing to a shared service).  The checks on
 * the request's digests are common to CMS and XML; XML's detached
 * References are matched against named digests in xml_digest.c.
 *
 * RFC 5652 5.4: with signedAttrs present, the signature covers the DER of
 * the signed attributes, and the messageDigest attribute among them is the
 * digest of the content.  So a signer with signed attributes can be checked
 * against a supplied digest exactly as far as against the content: OpenSSL
 * still verifies the signature over the signed attributes
 * (CMS_SignerInfo_verify, verify.c), and here the messageDigest attribute
 * is compared with the digest the caller supplied, for the signer's own
 * digest algorithm.  Without signed attributes the signature is over the
 * content itself, and the content is needed: INDETERMINATE /
 * SIGNED_DATA_NOT_FOUND.  The verdict says "content_checked": "digest":
 * kensho vouches for the content only as far as the caller's digest is the
 * content's.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/objects.h>

#include "internal.h"

/* The digest algorithms a caller may name, with their sizes. */
static const struct {
    const char *name;
    int nid;
    size_t len;
} ks_digest_algs[] = {
    {"sha256", NID_sha256, 32},
    {"sha384", NID_sha384, 48},
    {"sha512", NID_sha512, 64},
};

int ks_digest_alg_nid(const char *name, size_t *len)
{
    for (size_t i = 0; name != NULL && i < sizeof ks_digest_algs / sizeof ks_digest_algs[0]; i++)
        if (strcmp(name, ks_digest_algs[i].name) == 0) {
            if (len != NULL)
                *len = ks_digest_algs[i].len;
            return ks_digest_algs[i].nid;
        }
    return NID_undef;
}

ks_result ks_digests_check(const ks_request *req)
{
    if (req->n_digests > KS_MAX_DIGESTS)
        return KS_E_LIMIT;
    for (size_t i = 0; i < req->n_digests; i++) {
        size_t want = 0;
        if (ks_digest_alg_nid(req->digests[i].algorithm, &want) == NID_undef)
            return KS_E_UNSUPPORTED;
        if (req->digests[i].value == NULL || req->digests[i].len != want)
            return KS_E_BAD_REQUEST;
        const char *name = req->digests[i].name;
        if (name != NULL && name[0] == '\0')
            return KS_E_BAD_REQUEST;
        /* Two digests of one kind for one content: which is the content's?
         * (XML names are compared again in NFC, xml_digest.c.) */
        for (size_t j = 0; j < i; j++) {
            const char *other = req->digests[j].name;
            if (strcmp(req->digests[i].algorithm, req->digests[j].algorithm) == 0 &&
                (name == NULL ? other == NULL : other != NULL && strcmp(name, other) == 0))
                return KS_E_BAD_REQUEST;
        }
    }
    return KS_OK;
}

size_t ks_digests_named(const ks_request *req)
{
    size_t n = 0;
    for (size_t i = 0; i < req->n_digests; i++)
        if (req->digests[i].name != NULL)
            n++;
    return n;
}

int ks_cms_digest_matches(CMS_SignerInfo *si, const ks_request *req, ks_status *st)
{
    X509_ALGOR *dig = NULL;
    const ASN1_OBJECT *obj = NULL;
    const ks_digest *d = NULL;
    char detail[160];

    if (CMS_signed_get_attr_count(si) < 0) {
        ks_status_set(st, KS_INDETERMINATE, KS_SUB_SIGNED_DATA_NOT_FOUND,
                      "the signer has no signed attributes: its signature is over the content itself, so the "
                      "content is needed, not its digest (RFC 5652 5.4)");
        return 0;
    }
    CMS_SignerInfo_get0_algs(si, NULL, NULL, &dig, NULL);
    X509_ALGOR_get0(&obj, NULL, NULL, dig);
    int nid = OBJ_obj2nid(obj);
    for (size_t i = 0; d == NULL && i < req->n_digests; i++)
        if (ks_digest_alg_nid(req->digests[i].algorithm, NULL) == nid)
            d = &req->digests[i];
    if (d == NULL) {
        snprintf(detail, sizeof detail, "no content digest with the signer's digest algorithm (%s) was supplied",
                 nid != NID_undef ? OBJ_nid2sn(nid) : "unknown");
        ks_status_set(st, KS_INDETERMINATE, KS_SUB_SIGNED_DATA_NOT_FOUND, detail);
        return 0;
    }
    /* -3: exactly one messageDigest attribute with one value (RFC 5652 11.2). */
    const ASN1_OCTET_STRING *md =
        CMS_signed_get0_data_by_OBJ(si, OBJ_nid2obj(NID_pkcs9_messageDigest), -3, V_ASN1_OCTET_STRING);
    ks_openssl_drain(__func__); /* a second messageDigest, or none, left a queue entry */
    if (md == NULL) {
        ks_status_set(st, KS_TOTAL_FAILED, KS_SUB_FORMAT_FAILURE,
                      "no single messageDigest signed attribute (RFC 5652 11.2)");
        return 0;
    }
    if ((size_t)ASN1_STRING_length(md) != d->len || CRYPTO_memcmp(ASN1_STRING_get0_data(md), d->value, d->len) != 0) {
        ks_status_set(st, KS_TOTAL_FAILED, KS_SUB_HASH_FAILURE,
                      "message digest does not match the supplied content digest");
        return 0;
    }
    return 1;
}
