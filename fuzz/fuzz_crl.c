/*
 * fuzz/fuzz_crl.c - CRLs as they arrive from the network or from memcached,
 * and as local files:
 *   - ks_crl_decode (verify/revoke.c, through internal.h, the same function
 *     the cache calls): PEM/DER with exact length,
 *     issuer name and signature against the CA the cache key names,
 *     thisUpdate/nextUpdate, crlNumber monotonicity;
 *   - ks_load_crl_file (configuration "crls") through a tmpfs file;
 *   - a parsed CRL then goes through ks_path_check_crls (RFC 5280 6.3) with
 *     the validated path of citizen-rsa, as revoke.c would use it.
 * Input: the CRL bytes.
 */
#include "fuzz.h"
#include "internal.h"

static ks_ctx *fz_ctx;
static char fz_key[512];
static STACK_OF(X509) *fz_chain;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    char fp[65];
    fz_ctx = fz_ctx_load("{\"mode\": \"require\"}", "");
    X509 *issuer = fz_read_pem("pref-ca-self.pem");
    if (!ks_registry_put(fz_ctx->registry, issuer, fp))
        fz_die("registry", "cannot register the issuer");
    X509_free(issuer);
    snprintf(fz_key, sizeof fz_key, "crl|%s|http://127.0.0.1:9/pref-ca.crl", fp);
    /* The path a CRL is checked against. */
    X509 *leaf = fz_read_pem("citizen-rsa.pem");
    ks_path_input in = {0};
    ks_path_result res;
    ks_path_validate(fz_ctx, leaf, &in, ks_ctx_now(fz_ctx), NULL, &res);
    if (res.indication != KS_TOTAL_PASSED || res.chain == NULL)
        fz_die("citizen-rsa", "does not validate against the test PKI");
    fz_chain = res.chain;
    res.chain = NULL;
    ks_path_result_clear(&res);
    X509_free(leaf);
    return 0;
}

static void fz_use(X509_CRL *crl)
{
    STACK_OF(X509_CRL) *crls = sk_X509_CRL_new_null();
    unsigned char missing[64] = {0}, established[64] = {0};
    ks_path_result res;
    if (crls == NULL || !sk_X509_CRL_push(crls, crl))
        fz_die("stack", "out of memory");
    ks_path_check_crls(fz_ctx, fz_chain, crls, ks_ctx_now(fz_ctx), NULL, established, 1, NULL, missing, &res);
    /* A CRL no key of the path signed can never make it pass more than
     * "missing" allows, nor revoke anything. */
    ks_path_result_clear(&res);
    sk_X509_CRL_free(crls);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    time_t exp = 0, issued = 0;
    X509_CRL *crl = ks_crl_decode(fz_ctx, fz_key, data, size, ks_ctx_now(fz_ctx), &exp, &issued);
    if (crl != NULL) {
        if (exp <= ks_ctx_now(fz_ctx))
            fz_die("ks_crl_decode", "accepted a CRL past its nextUpdate");
        fz_use(crl);
        X509_CRL_free(crl);
    }
    char path[256];
    if (size <= (1u << 20) && fz_write_tmp("crl", data, size, path, sizeof path)) {
        X509_CRL *f = NULL;
        if (ks_load_crl_file(path, 1u << 20, &f) == KS_OK) {
            fz_use(f);
            X509_CRL_free(f);
        }
        unlink(path);
    }
    return 0;
}
