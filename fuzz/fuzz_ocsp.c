/*
 * fuzz/fuzz_ocsp.c - OCSP responses as they arrive from the network:
 * ks_ocsp_check (RFC 6960 3.2: DER decode with exact length, response
 * status, basic response, critical extensions, responder authorisation,
 * signature, CertID match, thisUpdate/nextUpdate) about citizen-rsa of the
 * test PKI, issuer = prefecture CA gen 1.  Input: the response DER.
 */
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "fuzz.h"
#include "internal.h"

static ks_ctx *ctx;
static X509 *issuer;
static ASN1_INTEGER *serial;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    ctx = fz_ctx_load("{\"mode\": \"require\"}", "");
    issuer = fz_read_pem("pref-ca-self.pem");
    X509 *leaf = fz_read_pem("citizen-rsa.pem");
    serial = ASN1_INTEGER_dup(X509_get0_serialNumber(leaf));
    X509_free(leaf);
    if (serial == NULL)
        fz_die("serial", "out of memory");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ks_ocsp_answer a;
    char err[KS_REV_ERRLEN];
    err[0] = '\0';
    ks_result r = ks_ocsp_check(ctx, ks_ctx_now(ctx), data, size, issuer, serial, &a, err, sizeof err);
    if (r != KS_OK && err[0] == '\0')
        fz_die("ks_ocsp_check", "refused without a reason");
    if (r == KS_OK && a.status != 0 && a.status != 1 && a.status != 2)
        fz_die("ks_ocsp_check", "accepted with an unknown status");
    return 0;
}
