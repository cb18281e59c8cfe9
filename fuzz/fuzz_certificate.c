/*
 * fuzz/fuzz_certificate.c - ks_verify_certificate over arbitrary bytes:
 * DER/PEM/base64 certificate decoding, the JSON of its fields (JPKI
 * subjectAltName items), path building and policy over the test PKI.
 * Revocation is off.
 */
#define FZ_OFFLINE_CTX /* fuzz.h: ctx, revocation off, and LLVMFuzzerInitialize */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ks_blob cert = {.name = NULL, .data = data, .len = size};
    cJSON *verdict = NULL;
    ks_result r = ks_verify_certificate(ctx, &cert, 0, 0, &verdict);
    if ((r == KS_OK) != (verdict != NULL))
        fz_die("ks_verify_certificate", "verdict and result disagree");
    if (verdict != NULL) {
        /* The verdict must serialise (it is what the service answers). */
        char *s = cJSON_PrintUnformatted(verdict);
        if (s == NULL)
            fz_die("ks_verify_certificate", "verdict does not print");
        free(s);
    }
    cJSON_Delete(verdict);
    return 0;
}
