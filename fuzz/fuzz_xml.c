/*
 * fuzz/fuzz_xml.c - the XML Signature path of ks_verify_signature (e-Tax
 * .xtx, e-Gov 構成管理 XML, ZIP packages): the same entry point dispatches on
 * the bytes, so this is fuzz_signature seeded with XML and ZIP fixtures, with
 * named attachments.  Input: the document, then zero or more
 * "\n--KSFUZZ--\nNAME\n" + attachment bytes.  Revocation is off.
 */
#define FZ_OFFLINE_CTX /* fuzz.h: ctx, revocation off, and LLVMFuzzerInitialize */
#include "fuzz.h"

#define FZ_MAX_ATTACH 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ks_blob att[FZ_MAX_ATTACH];
    char names[FZ_MAX_ATTACH][64];
    size_t natt = 0;
    const uint8_t *rest;
    size_t restlen;
    size_t doclen = fz_split(data, size, &rest, &restlen);
    while (rest != NULL && natt < FZ_MAX_ATTACH) {
        const uint8_t *next;
        size_t nextlen;
        size_t piece = fz_split(rest, restlen, &next, &nextlen);
        const uint8_t *nl = memchr(rest, '\n', piece);
        size_t namelen = nl ? (size_t)(nl - rest) : piece;
        if (namelen >= sizeof names[0])
            namelen = sizeof names[0] - 1;
        memcpy(names[natt], rest, namelen);
        names[natt][namelen] = '\0';
        size_t skip = nl ? (size_t)(nl - rest) + 1 : piece;
        att[natt] = (ks_blob){.name = names[natt], .data = rest + skip, .len = piece - skip};
        natt++;
        rest = next;
        restlen = nextlen;
    }
    ks_request req = {.signature = {.data = data, .len = doclen}, .contents = natt ? att : NULL, .n_contents = natt};
    cJSON *verdict = NULL;
    ks_result r = ks_verify_signature(ctx, &req, &verdict);
    if ((r == KS_OK) != (verdict != NULL))
        fz_die("ks_verify_signature (XML)", "verdict and result disagree");
    cJSON_Delete(verdict);
    return 0;
}
