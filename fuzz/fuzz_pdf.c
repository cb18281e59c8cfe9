/*
 * fuzz/fuzz_pdf.c - the PDF path of ks_verify_signature (verify/pdf.c,
 * pdf_diff.c over qpdf): the same entry point dispatches on "%PDF-", so the
 * input is the document itself, seeded with the signed PDFs and the attack
 * files tests/pki/mkpdf.sh writes.  Revocation is off.  Checks that a
 * verdict comes exactly with KS_OK.
 */
#define FZ_OFFLINE_CTX /* fuzz.h: ctx, revocation off, and LLVMFuzzerInitialize */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ks_request req = {.signature = {.data = data, .len = size}};
    cJSON *verdict = NULL;
    ks_result r = ks_verify_signature(ctx, &req, &verdict);
    if ((r == KS_OK) != (verdict != NULL))
        fz_die("ks_verify_signature (PDF)", "verdict and result disagree");
    cJSON_Delete(verdict);
    return 0;
}
