/*
 * fuzz/fuzz_pdf.c - the PDF path of ks_verify_signature (verify/pdf.c,
 * pdf_diff.c over qpdf): the same entry point dispatches on "%PDF-", so the
 * input is the document itself, seeded with the signed PDFs and the attack
 * files tests/pki/mkpdf.sh writes.  Revocation is off.  Checks that a
 * verdict comes exactly with KS_OK.
 *
 * Differential oracle (issue #25 item 2): whenever a signer of the verdict
 * says covers_whole_document, an independent computation over the bytes
 * must agree: its byte_range is [0 a b c] with a, c > 0, b + c the file's
 * length, and the gap [a, b) exactly one "<" hex-digits ">" string (an even
 * number of digits, nothing else) that is the value of a /Contents key
 * (only white space between the key and the "<").  kensho may say false
 * where this says true (it also wants the DER inside, the %%EOF, and the
 * ByteRange of the dictionary qpdf finds); never the other way round.
 */
#include <ctype.h>

#define FZ_OFFLINE_CTX /* fuzz.h: ctx, revocation off, and LLVMFuzzerInitialize */
#include "fuzz.h"

/* NULL when the ByteRange `br` covers the whole of data as a signature
 * must (ISO 32000-1 12.8.1), else what is wrong. */
static const char *fz_whole(const cJSON *br, const uint8_t *data, size_t size)
{
    double v[4];
    if (!cJSON_IsArray(br) || cJSON_GetArraySize(br) != 4)
        return "byte_range is not four numbers";
    for (int i = 0; i < 4; i++) {
        const cJSON *n = cJSON_GetArrayItem(br, i);
        if (!cJSON_IsNumber(n) || n->valuedouble < 0 || n->valuedouble > (double)size)
            return "a byte_range number is not an offset into the file";
        v[i] = n->valuedouble;
    }
    size_t a = (size_t)v[1], b = (size_t)v[2], c = (size_t)v[3];
    if (v[0] != 0 || a == 0 || c == 0 || b <= a + 1 || b + c != size)
        return "byte_range is not [0 a b c] with b + c the file's length";
    if (data[a] != '<' || data[b - 1] != '>')
        return "the gap does not start with '<' and end with '>'";
    size_t ndig = b - a - 2;
    if (ndig % 2 != 0)
        return "the gap holds an odd number of hex digits";
    for (size_t i = a + 1; i < b - 1; i++)
        if (!isxdigit(data[i]))
            return "the gap holds something other than hex digits";
    size_t k = a;
    while (k > 0 && (data[k - 1] == ' ' || data[k - 1] == '\n' || data[k - 1] == '\r' || data[k - 1] == '\t' ||
                     data[k - 1] == '\f' || data[k - 1] == '\0'))
        k--;
    if (k < 9 || memcmp(data + k - 9, "/Contents", 9) != 0)
        return "the gap is not the value of a /Contents key";
    return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ks_request req = {.signature = {.data = data, .len = size}};
    cJSON *verdict = NULL;
    ks_result r = ks_verify_signature(ctx, &req, &verdict);
    if ((r == KS_OK) != (verdict != NULL))
        fz_die("ks_verify_signature (PDF)", "verdict and result disagree");
    const cJSON *s;
    cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(verdict, "signers"))
    {
        if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(s, "covers_whole_document")))
            continue;
        if (getenv("FZ_VERBOSE") != NULL) /* what each seed reaches */
            fprintf(stderr, "fuzz_pdf: covers_whole_document, the oracle judges\n");
        const char *why = fz_whole(cJSON_GetObjectItemCaseSensitive(s, "byte_range"), data, size);
        if (why != NULL) {
            char m[256];
            snprintf(m, sizeof m, "kensho said covers_whole_document, but: %s", why);
            fz_die("differential", m);
        }
    }
    cJSON_Delete(verdict);
    return 0;
}
