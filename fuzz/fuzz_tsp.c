/*
 * fuzz/fuzz_tsp.c - RFC 3161 time-stamp tokens (verify/tsp.c), the parser
 * every timestamp goes through (CAdES signature timestamps now; PDF document
 * timestamps and XAdES later):
 *   - ks_tsp_verify directly: the token before "\n--KSFUZZ--\n", the data
 *     its messageImprint should cover after it (doc.txt's text when there is
 *     no marker), against timestamp_anchors = the test PKI's TSA CA;
 *   - the same bytes as the id-aa-signatureTimeStampToken unsigned attribute
 *     of a valid CAdES signature (sig-attached-rsa.p7m), through
 *     ks_verify_signature: the attribute's walk, the report and the POE;
 *   - the same bytes as an archive-time-stamp v2 (verify/cades.c: the walk
 *     over the SignedData's DER, the chain of timestamps), and as the
 *     ES-X-L certificate-values and revocation-values attributes (their
 *     ASN.1 templates, the OCSP re-encoding, the limits).
 * A token that verifies must say so with a genTime and an imprint that
 * matches; nothing else may pass.
 */
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/objects.h>

#include "fuzz.h"
#include "internal.h"

static ks_ctx *fz_ctx;
static uint8_t *fz_sig;
static size_t fz_siglen;
static const char fz_doc[] = "SYNTHETIC TEST FILING";

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    char extra[PATH_MAX + 64], path[PATH_MAX + 64];
    snprintf(extra, sizeof extra, ", \"timestamp_anchors\": [\"%s/tsa-ca.pem\"]", fz_pki_dir());
    fz_ctx = fz_ctx_load("{\"mode\": \"off\"}", extra);
    snprintf(path, sizeof path, "%s/sig-attached-rsa.p7m", fz_pki_dir());
    if (ks_read_file(path, 1 << 20, &fz_sig, &fz_siglen) != KS_OK)
        fz_die("cannot read", path);
    return 0;
}

/* The valid signature with `tok` as the value of unsigned attribute `oid`. */
static void fz_as_attribute(const char *oid, const uint8_t *tok, size_t len)
{
    ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
    const unsigned char *p = fz_sig;
    CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &p, (long)fz_siglen);
    CMS_SignerInfo *si = cms ? sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(cms), 0) : NULL;
    unsigned char *der = NULL;
    int n = 0;
    if (si == NULL)
        fz_die("sig-attached-rsa.p7m", "does not decode");
    if (obj == NULL)
        fz_die("OBJ_txt2obj", oid);
    if (len > 0 && len < 65536 && CMS_unsigned_add1_attr_by_OBJ(si, obj, V_ASN1_SEQUENCE, tok, (int)len) == 1)
        n = i2d_CMS_ContentInfo(cms, &der);
    if (n > 0) {
        ks_request req = {.signature = {.name = "fuzz.p7m", .data = der, .len = (size_t)n}};
        cJSON *v = NULL;
        if (ks_verify_signature(fz_ctx, &req, &v) == KS_OK && v == NULL)
            fz_die("ks_verify_signature", "KS_OK without a verdict");
        cJSON_Delete(v);
    }
    OPENSSL_free(der);
    CMS_ContentInfo_free(cms);
    ASN1_OBJECT_free(obj);
    ks_openssl_drain(__func__);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *rest = NULL;
    size_t restlen = 0, toklen = fz_split(data, size, &rest, &restlen);
    ks_blob covered = rest != NULL ? (ks_blob){.data = rest, .len = restlen}
                                   : (ks_blob){.data = (const uint8_t *)fz_doc, .len = sizeof fz_doc - 1};
    ks_tsp_result t;
    ks_tsp_verify(fz_ctx, data, toklen, &covered, 1, ks_ctx_now(fz_ctx), NULL, &t);
    if (t.indication == KS_TOTAL_PASSED && (!t.has_time || !t.imprint_ok))
        fz_die("ks_tsp_verify", "passed without a genTime or a matching imprint");
    ks_tsp_result_clear(&t);
    fz_as_attribute("1.2.840.113549.1.9.16.2.14", data, toklen); /* signature timestamp */
    fz_as_attribute("1.2.840.113549.1.9.16.2.48", data, toklen); /* archive-time-stamp v2 */
    fz_as_attribute("1.2.840.113549.1.9.16.2.23", data, toklen); /* certificate-values */
    fz_as_attribute("1.2.840.113549.1.9.16.2.24", data, toklen); /* revocation-values */
    return 0;
}
