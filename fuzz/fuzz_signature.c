/*
 * fuzz/fuzz_signature.c - ks_verify_signature over arbitrary bytes: DER, PEM,
 * bare base64 and S/MIME decoding, CMS parsing and every check after it
 * (signers, embedded certificates and CRLs, path building over the test
 * PKI).  Input: the signature, optionally "\n--KSFUZZ--\n" and a detached
 * content.  Revocation is off: no input reaches the network.
 */
#define FZ_OFFLINE_CTX /* fuzz.h: ctx, revocation off, and LLVMFuzzerInitialize */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *rest;
    size_t restlen;
    size_t siglen = fz_split(data, size, &rest, &restlen);
    ks_blob content = {.name = NULL, .data = rest, .len = restlen};
    ks_request req = {.signature = {.name = NULL, .data = data, .len = siglen},
                      .contents = rest ? &content : NULL,
                      .n_contents = rest ? 1 : 0};
    cJSON *verdict = NULL;
    ks_result r = ks_verify_signature(ctx, &req, &verdict);
    /* The contract: a verdict exactly when KS_OK, and it says something. */
    if ((r == KS_OK) != (verdict != NULL))
        fz_die("ks_verify_signature", "verdict and result disagree");
    if (verdict != NULL && cJSON_GetObjectItemCaseSensitive(verdict, "indication") == NULL)
        fz_die("ks_verify_signature", "verdict without an indication");
    cJSON_Delete(verdict);
    return 0;
}
