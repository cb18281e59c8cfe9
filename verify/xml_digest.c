/*
 * verify/xml_digest.c - hash-only submission for XML signatures (issue
 * #23.3): the caller of an e-Gov package sends the signed XML and, instead
 * of the attached files, the digest of each one, named after the file
 * (content_digests: [{"name", "algorithm", "value"}]).
 *
 * XMLDSig 4.3.3 / 3.2.1: a detached Reference without Transforms digests
 * the attachment's octets as they are, so its DigestValue is H(file) under
 * its DigestMethod.  A caller's digest of that file under that algorithm
 * therefore checks the Reference exactly as far as the file does; the
 * signature over SignedInfo (which holds the DigestValues) is still
 * verified by xmlsec.  A Reference with Transforms digests what the
 * transforms made of the file: a digest of the file says nothing about it,
 * and the content is needed (INDETERMINATE / SIGNED_DATA_NOT_FOUND, xml.c).
 *
 * xmlsec 1.2 checks every Reference before the SignatureValue and stops at
 * the first that does not match, and it has no way to be handed a
 * Reference's digest instead of its data.  So for a Reference whose signed
 * DigestValue equals the caller's digest (compared here, in constant
 * time), the DigestValue element's children are set aside and replaced by
 * H("") while xmlsec digests the References (the resolver serves the
 * attachment as empty bytes), and put back, the very same nodes, before
 * xmlsec canonicalizes SignedInfo for the SignatureValue: the callback it
 * runs right before executing that transform chain
 * (xmlSecTransformCtx.preExecCallback), and again after it returns
 * whatever happened.  This is fail closed: a replacement left in place by
 * mistake changes SignedInfo, and the SignatureValue would not verify.  A
 * digest that does not match is never swapped in: xmlsec then digests ""
 * against the signed value and the Reference fails, and xml.c marks it
 * invalid whatever xmlsec said.
 */
#include <string.h>

#include <libxml/tree.h>
#include <xmlsec/base64.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/objects.h>

#include "xml_int.h"

/* The Reference's DigestValue element (XMLDSig 4.3.3: its last child). */
static xmlNodePtr ks_xml_digest_value_el(xmlNodePtr ref)
{
    xmlNodePtr dv = NULL;
    for (xmlNodePtr n = ks_xml_first_el(ref->children); n != NULL; n = ks_xml_next_el(n))
        dv = n;
    return ks_xml_is(dv, KS_DSIG_NS, "DigestValue") ? dv : NULL;
}

int ks_xml_digest_matches(xmlNodePtr ref, const ks_digest *d)
{
    uint8_t buf[EVP_MAX_MD_SIZE + 3];
    xmlSecSize got = 0;
    xmlNodePtr dv = ks_xml_digest_value_el(ref);
    /* As xmlsec reads it (xmlSecTransformVerifyNodeContent): the text
     * content, base64 with white space allowed (XMLDSig 4.3.3.5). */
    xmlChar *text = dv != NULL ? xmlNodeGetContent(dv) : NULL;
    int ok = text != NULL && xmlSecBase64Decode_ex(text, buf, sizeof buf, &got) == 0 && got == d->len &&
             CRYPTO_memcmp(buf, d->value, d->len) == 0;
    xmlFree(text);
    return ok;
}

ks_result ks_xml_dv_swap_on(xmlNodePtr ref, int md_nid, ks_xml_dv_swap *sw)
{
    ks_result r = KS_E_NOMEM;
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    char b64[2 * EVP_MAX_MD_SIZE];
    EVP_MD *alg = NULL;
    xmlNodePtr text = NULL;

    memset(sw, 0, sizeof *sw);
    if ((sw->dv = ks_xml_digest_value_el(ref)) == NULL) {
        r = KS_E_INTERNAL; /* ks_xml_digest_matches found it */
        goto done;
    }
    if ((alg = EVP_MD_fetch(NULL, OBJ_nid2sn(md_nid), NULL)) == NULL ||
        EVP_Digest("", 0, md, &mdlen, alg, NULL) != 1) {
        ks_openssl_drain(__func__);
        r = KS_E_INTERNAL;
        goto done;
    }
    EVP_EncodeBlock((unsigned char *)b64, md, (int)mdlen);
    if ((text = xmlNewText(BAD_CAST b64)) == NULL)
        goto done;
    /* Set the children aside untouched (text, comments, CDATA alike), so
     * that they come back byte for byte. */
    sw->first = sw->dv->children;
    sw->last = sw->dv->last;
    sw->dv->children = sw->dv->last = NULL;
    xmlAddChild(sw->dv, text);
    sw->on = 1;
    r = KS_OK;
done:
    EVP_MD_free(alg);
    return r;
}

void ks_xml_dv_swap_off(ks_xml_dv_swap *sw)
{
    if (sw == NULL || !sw->on)
        return;
    xmlNodePtr ours = sw->dv->children;
    sw->dv->children = sw->first;
    sw->dv->last = sw->last;
    xmlFreeNodeList(ours);
    sw->on = 0;
}
