/*
 * verify/xml_int.h - shared by the XML Signature files of verify/ only:
 * xml.c (XMLDSig), xml_zip.c (e-Gov ZIP packages, attachment names) and
 * xml_xades.c (the XAdES signing certificate binding).
 */
#ifndef KENSHO_VERIFY_XML_INT_H
#define KENSHO_VERIFY_XML_INT_H

#include <string.h>

#include <libxml/tree.h>

#include "internal.h"

#define KS_DSIG_NS "http://www.w3.org/2000/09/xmldsig#"
#define KS_ZIP_MAX_ENTRIES 1024
#define KS_ZIP_MAX_NAME 255 /* bytes of one entry or attachment name */

/* ------------------------------------------------------------------ */
/* Small DOM helpers.                                                 */
/* ------------------------------------------------------------------ */

static inline int ks_xml_ns_is(const xmlNode *n, const char *ns)
{
    if (ns == NULL)
        return n->ns == NULL;
    return n->ns != NULL && n->ns->href != NULL && strcmp((const char *)n->ns->href, ns) == 0;
}

static inline int ks_xml_is(const xmlNode *n, const char *ns, const char *local)
{
    return n != NULL && n->type == XML_ELEMENT_NODE && n->name != NULL &&
           strcmp((const char *)n->name, local) == 0 && ks_xml_ns_is(n, ns);
}

/* XAdES 1.3.2 (ETSI EN 319 132-1) and 1.1.1. */
static inline int ks_xml_is_xades(const xmlNode *n, const char *local)
{
    return ks_xml_is(n, "http://uri.etsi.org/01903/v1.3.2#", local) ||
           ks_xml_is(n, "http://uri.etsi.org/01903/v1.1.1#", local);
}

/* XAdES 1.4.1 (ETSI EN 319 132-1): ArchiveTimeStamp, TimeStampValidationData. */
#define KS_XADES141_NS "http://uri.etsi.org/01903/v1.4.1#"

static inline xmlNodePtr ks_xml_first_el(xmlNodePtr n)
{
    while (n != NULL && n->type != XML_ELEMENT_NODE)
        n = n->next;
    return n;
}

static inline xmlNodePtr ks_xml_next_el(xmlNodePtr n)
{
    return n != NULL ? ks_xml_first_el(n->next) : NULL;
}

/* xml.c: the NID of a DigestMethod element's Algorithm among the
 * allowed digests (XMLDSig 6.2), NID_undef otherwise. */
int ks_xml_digest_nid(xmlNodePtr digest_method);

/* ------------------------------------------------------------------ */
/* xml_zip.c                                                          */
/* ------------------------------------------------------------------ */

/* Unicode NFC (UAX #15) of a NUL-terminated UTF-8 string, malloc'd.
 * 1 done, 0 not valid UTF-8 (*out NULL), -1 out of memory. */
int ks_xml_nfc(const char *s, char **out);

typedef struct {
    char *name; /* path inside the archive, UTF-8, in NFC */
    uint8_t *data;
    size_t len;
} ks_zip_entry;

void ks_zip_free(ks_zip_entry *e, size_t n); /* NULL ok */
/* Every file of the archive, in memory, within the ceilings (entries,
 * name length, limits.max_input_bytes in all).  Names are NFC; two that are
 * equal after normalisation are KS_E_ZIP. */
ks_result ks_zip_load(const ks_ctx *ctx, const ks_blob *in, ks_zip_entry **out, size_t *nout);

/* ------------------------------------------------------------------ */
/* xml_digest.c: hash-only submission                                 */
/* ------------------------------------------------------------------ */

/* 1 when the Reference element's signed DigestValue is d's value (same
 * length, constant-time compare); 0 otherwise, a malformed one included.
 * The caller has matched d's algorithm with the DigestMethod. */
int ks_xml_digest_matches(xmlNodePtr ref, const ks_digest *d);

/* A DigestValue whose children are set aside while xmlsec digests the
 * References (see xml_digest.c for why). */
typedef struct {
    xmlNodePtr dv;          /* the DigestValue element */
    xmlNodePtr first, last; /* its own children, set aside */
    int on;
} ks_xml_dv_swap;

/* Replaces the DigestValue of ref by H("") under md_nid; KS_E_NOMEM or
 * KS_E_INTERNAL, the document unchanged, otherwise. */
ks_result ks_xml_dv_swap_on(xmlNodePtr ref, int md_nid, ks_xml_dv_swap *sw);
/* Puts the original children back; idempotent, NULL ok. */
void ks_xml_dv_swap_off(ks_xml_dv_swap *sw);

/* ------------------------------------------------------------------ */
/* xml_xades.c                                                        */
/* ------------------------------------------------------------------ */

/*
 * The XAdES signing certificate binding (ETSI EN 319 132-1 5.2.2): the
 * SigningCertificate and SigningCertificateV2 elements of `props` (the n
 * SignedProperties a verified Reference covered) must name *signer by
 * digest, and by issuer and serial number where they give them.  When
 * *signer does not match but another certificate of `embedded` with the same
 * public key does, that one becomes *signer (the key verified, the signed
 * property names the certificate).  *bound: 1 when a signed property named
 * the signer.  A certificate none of them names: *st is TOTAL_FAILED /
 * SIG_CONSTRAINTS_FAILURE; an unreadable property: INDETERMINATE /
 * FORMAT_FAILURE; a digest the policy refuses: CRYPTO_CONSTRAINTS_FAILURE.
 * *st is left alone otherwise.  KS_E_NOMEM is the only error.
 */
ks_result ks_xades_bind(const ks_ctx *ctx, xmlNodePtr const *props, size_t n, X509 **signer,
                        STACK_OF(X509) *embedded, int *bound, ks_status *st);

/* OCSP responses a signature carries (XAdES RevocationValues/OCSPValues):
 * DER, each checked to be one OCSPResponse and nothing more, owned here;
 * for ks_path_input.ocsps. */
typedef struct {
    ks_blob *v;
    size_t n;
} ks_xades_ocsps;
void ks_xades_ocsps_free(ks_xades_ocsps *o); /* empties it; NULL ok */

/* The data each ds:Reference of a verified signature digested, in
 * SignedInfo order (what its transforms made of it: XMLDSig 4.3.3.2), as
 * xmlsec kept it (XMLSEC_DSIG_FLAGS_STORE_SIGNEDINFO_REFERENCES); borrowed.
 * `missing`: why it is not all there (NULL when it is), e.g. a Reference
 * named by its digest only, whose content was never sent. */
typedef struct {
    const ks_blob *v;
    size_t n;
    const char *missing;
    int nodeset; /* some Reference's result was a node set, made octets by inclusive C14N 1.0 */
} ks_xades_refdata;

/* 1 when the one QualifyingProperties of sig has an xadesv141:
 * ArchiveTimeStamp among its unsigned signature properties: the References'
 * data must be kept for it. */
int ks_xades_has_archive(xmlNodePtr sig);

/*
 * The unsigned signature properties of one Signature (ETSI EN 319 132-1
 * 4.3, 5.3, 5.5, 5.7), read from the one xades:QualifyingProperties inside
 * it:
 *   - CertificateValues and RevocationValues (XAdES-X-L), and those inside
 *     xadesv141:TimeStampValidationData: certificates join *certs (path
 *     candidates, nothing more), CRLs *crls and OCSP responses *ocsps
 *     (evidence, verified like fetched evidence by revoke.c before anything
 *     is fetched), within limits.max_certs and max_crls together with
 *     KeyInfo's, and max_crls OCSP responses (KS_E_LIMIT past them);
 *   - xadesv141:ArchiveTimeStamp (XAdES-A, 5.5.2): one RFC 3161 token over
 *     the References' data (`refs`), SignedInfo, SignatureValue, KeyInfo,
 *     the unsigned properties before it and the other ds:Objects, each
 *     canonicalized with its ds:CanonicalizationMethod; verified newest
 *     (last) first by verify.c's ks_archive_chain and reported in
 *     "timestamps" as type "archive";
 *   - SignatureTimeStamp (XAdES-T): each EncapsulatedTimeStamp, an RFC 3161
 *     token over the ds:SignatureValue element canonicalized with the
 *     timestamp's ds:CanonicalizationMethod, goes to `poe`, its TSA path
 *     validated at `at` or, when a verified archive timestamp after it
 *     covers it, at the time the archive timestamps proved.
 * A verified archive timestamp is the POE when no signature timestamp is
 * (poe "source" "archive_timestamp").
 * Call only for a signature that verified: over one that did not, nothing
 * proves anything.  A value that cannot be read is ignored with the warning
 * LTV_VALUE_UNREADABLE (less evidence never passes more).  KS_E_NOMEM and
 * KS_E_LIMIT are the only errors.
 */
ks_result ks_xades_unsigned(const ks_ctx *ctx, xmlNodePtr sig, const ks_xades_refdata *refs, time_t at, ks_poe *poe,
                            STACK_OF(X509) **certs, STACK_OF(X509_CRL) **crls, ks_xades_ocsps *ocsps, cJSON *sobj);

#endif
