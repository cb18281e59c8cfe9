/*
 * fuzz/fuzz_path.c - path validation, differential: the input is a recipe
 * (a fixed layout of bytes read through a cursor) for a chain of one to
 * three certificates below a root generated at init, the only trust anchor
 * of the harness's own configuration (revocation off, no policy set).  The
 * harness builds and signs them (Ed25519 keys generated at init: fast, and
 * deterministic, so an input rebuilds the same DER when libFuzzer runs it
 * again to look for a leak; with ECDSA's random signatures every run was
 * new to kensho's verification cache and each one paid a LeakSanitizer
 * scan: 8 inputs a second) and hands them to ks_verify_certificate as a PEM bundle,
 * leaf first, at a chosen validation time.
 *
 * The recipe picks, per certificate: notBefore and notAfter around the
 * validation time, basicConstraints (absent, cA or not, critical or not,
 * pathLenConstraint 0-3), keyUsage (CA, signing, non-repudiation, mixed),
 * extendedKeyUsage (emailProtection, serverAuth, anyExtendedKeyUsage,
 * codeSigning), nameConstraints (a permitted or excluded directory subtree
 * its subordinates are inside or outside of), the subject's organisation,
 * and version 1 (no extensions at all).
 *
 * Differential oracle (issue #25: kensho may be stricter, never looser):
 * whenever kensho's certificate verdict is TOTAL_PASSED, X509_verify_cert
 * with the same anchor, the same certificates as untrusted candidates, the
 * same validation time and no purpose nor policy flags succeeds (the
 * validity periods judged by RFC 5280's inclusive arithmetic).  kensho's
 * deliberate extra strictness (keyUsage and signer_ekus of a signing
 * certificate, explicit policy when configured, key sizes) only ever turns
 * a pass into a failure, which the oracle does not judge.
 * A disagreement aborts with the rule that failed.
 *
 * Speed: OpenSSL keeps some allocations from one call for the next (the
 * error queue's data buffers) and kensho's verification cache grows with
 * every new chain, so nearly every input allocates more than it frees, and
 * libFuzzer answers each such input with a LeakSanitizer check.  That
 * check walks every chunk of the allocator, ASan's quarantine of freed
 * memory included (256 MB by default: millions of small chunks from the
 * ~5,000 allocations an input makes).  An hour's run fell to 2 inputs a
 * second at 526 MB.  The quarantine is kept at 16 MB (FZ_SMALL_QUARANTINE:
 * a use after free is still caught while the memory has not been handed out
 * again; ASAN_OPTIONS overrides): 1,000 inputs took 47 s of CPU and 530 MB
 * before, 9.5 s and 95 MB after.
 */
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#define FZ_SMALL_QUARANTINE /* fuzz.h: see "Speed" above */
#include "fuzz.h"

/* ---------------- the world ---------------- */

#define FZ_MAXCHAIN 3 /* below the root */
static ks_ctx *ctx;
static X509 *root;
static EVP_PKEY *keys[FZ_MAXCHAIN + 1]; /* [0] the root's */
static X509_STORE *store;

static X509_NAME *fz_name(const char *org, const char *cn)
{
    X509_NAME *n = X509_NAME_new();
    if (n == NULL || X509_NAME_add_entry_by_txt(n, "C", MBSTRING_ASC, (const unsigned char *)"JP", -1, -1, 0) != 1 ||
        X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC, (const unsigned char *)org, -1, -1, 0) != 1 ||
        X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0) != 1) {
        X509_NAME_free(n);
        return NULL;
    }
    return n;
}

static int fz_ext(X509 *x, X509 *iss, int nid, const char *value)
{
    X509V3_CTX v3;
    X509V3_set_ctx(&v3, iss, x, NULL, NULL, 0);
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
    int ok = e != NULL && X509_add_ext(x, e, -1) == 1;
    X509_EXTENSION_free(e);
    return ok;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fz_pki_dir(); /* the clock */
    for (int i = 0; i <= FZ_MAXCHAIN; i++)
        if ((keys[i] = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519")) == NULL)
            fz_die("init", "Ed25519 key");
    X509_NAME *n = fz_name("Fuzz Root", "Fuzz Root CA");
    if ((root = X509_new()) == NULL || n == NULL || X509_set_version(root, 2) != 1 ||
        ASN1_INTEGER_set(X509_get_serialNumber(root), 1) != 1 || X509_set_subject_name(root, n) != 1 ||
        X509_set_issuer_name(root, n) != 1 || X509_time_adj_ex(X509_getm_notBefore(root), -3650, 0, &fz_now) == NULL ||
        X509_time_adj_ex(X509_getm_notAfter(root), 3650, 0, &fz_now) == NULL || X509_set_pubkey(root, keys[0]) != 1 ||
        !fz_ext(root, root, NID_basic_constraints, "critical,CA:TRUE") ||
        !fz_ext(root, root, NID_key_usage, "critical,keyCertSign,cRLSign") ||
        !fz_ext(root, root, NID_subject_key_identifier, "hash") || X509_sign(root, keys[0], NULL) <= 0)
        fz_die("init", "root");
    X509_NAME_free(n);
    /* kensho's configuration: this root as the only anchor. */
    char path[256], cfgpath[256], json[1024];
    BIO *b = BIO_new(BIO_s_mem());
    char *pem = NULL;
    long pemlen = 0;
    if (b == NULL || PEM_write_bio_X509(b, root) != 1 || (pemlen = BIO_get_mem_data(b, &pem)) <= 0 ||
        !fz_write_tmp("root.pem", (const uint8_t *)pem, (size_t)pemlen, path, sizeof path))
        fz_die("init", "root PEM");
    BIO_free(b);
    int len = snprintf(json, sizeof json, "{\"trust_anchors\": [\"%s\"], \"revocation\": {\"mode\": \"off\"}}", path);
    char *err = NULL;
    if (len < 0 || (size_t)len >= sizeof json ||
        !fz_write_tmp("path-config.json", (const uint8_t *)json, (size_t)len, cfgpath, sizeof cfgpath) ||
        ks_ctx_load(cfgpath, &ctx, &err) != KS_OK)
        fz_die("ks_ctx_load", err);
    unlink(cfgpath);
    unlink(path);
    ks_ctx_set_clock(ctx, fz_clock, NULL);
    if ((store = X509_STORE_new()) == NULL || X509_STORE_add_cert(store, root) != 1)
        fz_die("store", "out of memory");
    ERR_clear_error();
    return 0;
}

/* ---------------- building a chain from the recipe ---------------- */

static const char *const fz_ku[4] = {"critical,keyCertSign,cRLSign", "critical,digitalSignature",
                                     "critical,digitalSignature,nonRepudiation",
                                     "critical,digitalSignature,keyCertSign"};
static const char *const fz_pathlen[4] = {",pathlen:0", ",pathlen:1", ",pathlen:2", ",pathlen:3"};
static const char *const fz_eku[4] = {"emailProtection", "serverAuth", "anyExtendedKeyUsage", "codeSigning"};

/* nameConstraints: 0 permits O=Fuzz, 1 permits O=Other, 2 excludes O=Fuzz */
static int fz_name_constraints(X509 *x, int variant)
{
    NAME_CONSTRAINTS *nc = NAME_CONSTRAINTS_new();
    GENERAL_SUBTREE *st = GENERAL_SUBTREE_new();
    X509_NAME *n = X509_NAME_new();
    int ok = 0;
    if (nc == NULL || st == NULL || n == NULL ||
        X509_NAME_add_entry_by_txt(n, "C", MBSTRING_ASC, (const unsigned char *)"JP", -1, -1, 0) != 1 ||
        X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC, (const unsigned char *)(variant == 1 ? "Other" : "Fuzz"), -1,
                                   -1, 0) != 1)
        goto done;
    GENERAL_NAME_set0_value(st->base, GEN_DIRNAME, n);
    n = NULL;
    STACK_OF(GENERAL_SUBTREE) **where = variant == 2 ? &nc->excludedSubtrees : &nc->permittedSubtrees;
    if ((*where = sk_GENERAL_SUBTREE_new_null()) == NULL || !sk_GENERAL_SUBTREE_push(*where, st))
        goto done;
    st = NULL;
    ok = X509_add1_ext_i2d(x, NID_name_constraints, nc, 1, 0) == 1;
done:
    X509_NAME_free(n);
    GENERAL_SUBTREE_free(st);
    NAME_CONSTRAINTS_free(nc);
    return ok;
}

typedef struct {
    time_t at;
    int n; /* certificates below the root, the leaf last */
    X509 *chain[FZ_MAXCHAIN];
} fz_chain;

static void fz_chain_free(fz_chain *c)
{
    for (int i = 0; i < c->n; i++)
        X509_free(c->chain[i]);
    c->n = 0;
}

static int fz_build(fz_in *in, fz_chain *c)
{
    int want = 1 + (int)(fz_u8(in) % FZ_MAXCHAIN);
    c->at = fz_now + fz_s16(in) * 3600;
    for (int i = 0; i < want; i++) {
        X509 *iss = i == 0 ? root : c->chain[i - 1];
        long nb = fz_s16(in), span = fz_s16(in);
        unsigned f1 = fz_u8(in), f2 = fz_u8(in);
        char cn[16];
        snprintf(cn, sizeof cn, "C%d", i);
        X509 *x = X509_new();
        X509_NAME *n = fz_name((f2 & 0x40) ? "Other" : "Fuzz", cn);
        time_t from = c->at + nb * 3600, to = from + span * 3600;
        int ok = x != NULL && n != NULL && X509_set_version(x, (f2 & 0x80) ? 0 : 2) == 1 &&
                 ASN1_INTEGER_set(X509_get_serialNumber(x), 100 + i) == 1 && X509_set_subject_name(x, n) == 1 &&
                 X509_set_issuer_name(x, X509_get_subject_name(iss)) == 1 &&
                 X509_time_adj_ex(X509_getm_notBefore(x), 0, 0, &from) != NULL &&
                 X509_time_adj_ex(X509_getm_notAfter(x), 0, 0, &to) != NULL && X509_set_pubkey(x, keys[i + 1]) == 1;
        X509_NAME_free(n);
        if (ok && !(f2 & 0x80)) {
            if (f1 & 1) {
                char bc[64];
                snprintf(bc, sizeof bc, "%sCA:%s%s", (f1 & 4) ? "critical," : "", (f1 & 2) ? "TRUE" : "FALSE",
                         (f1 & 2) && (f1 & 8) ? fz_pathlen[(f1 >> 4) & 3] : "");
                ok = fz_ext(x, iss, NID_basic_constraints, bc);
            }
            if (ok && (f1 & 0x40))
                ok = fz_ext(x, iss, NID_key_usage, fz_ku[f2 & 3]);
            if (ok && (f1 & 0x80))
                ok = fz_ext(x, iss, NID_ext_key_usage, fz_eku[(f2 >> 2) & 3]);
            if (ok && ((f2 >> 4) & 3) != 3)
                ok = fz_name_constraints(x, (f2 >> 4) & 3);
            if (ok)
                ok = fz_ext(x, iss, NID_subject_key_identifier, "hash") &&
                     fz_ext(x, iss, NID_authority_key_identifier, "keyid:always");
        }
        if (!ok || X509_sign(x, keys[i], NULL) <= 0) {
            X509_free(x);
            ERR_clear_error();
            return 0;
        }
        c->chain[c->n++] = x;
    }
    return 1;
}

/* The PEM bundle kensho gets: the leaf, then its CAs. */
static char *fz_bundle(const fz_chain *c, size_t *len)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *p = NULL, *out = NULL;
    int ok = b != NULL;
    for (int i = c->n - 1; ok && i >= 0; i--)
        ok = PEM_write_bio_X509(b, c->chain[i]) == 1;
    long n = ok ? BIO_get_mem_data(b, &p) : 0;
    if (n > 0 && (out = malloc((size_t)n)) != NULL) {
        memcpy(out, p, (size_t)n);
        *len = (size_t)n;
    }
    BIO_free(b);
    return out;
}

/* ---------------- the second opinion ---------------- */

static const char *fz_second_opinion(const fz_chain *c)
{
    static char msg[200];
    const char *why = NULL;
    X509_STORE_CTX *sctx = X509_STORE_CTX_new();
    STACK_OF(X509) *untrusted = sk_X509_new_null();
    for (int i = 0; untrusted != NULL && i < c->n - 1; i++)
        if (!sk_X509_push(untrusted, c->chain[i]))
            fz_die("stack", "out of memory");
    if (sctx == NULL || untrusted == NULL || X509_STORE_CTX_init(sctx, store, c->chain[c->n - 1], untrusted) != 1)
        fz_die("X509_STORE_CTX", "out of memory");
    /* Deliberate: RFC 5280 4.1.2.5 makes the validity period inclusive at
     * both ends, which kensho follows; OpenSSL counts notAfter itself as
     * expired.  So the validity is checked here, by that arithmetic, and
     * OpenSSL judges everything else (X509_V_FLAG_NO_CHECK_TIME). */
    for (int i = 0; i <= c->n && why == NULL; i++) {
        X509 *x = i < c->n ? c->chain[i] : root;
        const time_t t = c->at;
        if (ASN1_TIME_cmp_time_t(X509_get0_notBefore(x), t) > 0 || ASN1_TIME_cmp_time_t(X509_get0_notAfter(x), t) < 0) {
            snprintf(msg, sizeof msg, "certificate %d below the root is not valid at the validation time", i);
            why = msg;
        }
    }
    X509_VERIFY_PARAM_set_flags(X509_STORE_CTX_get0_param(sctx), X509_V_FLAG_NO_CHECK_TIME);
    if (why == NULL && X509_verify_cert(sctx) != 1) {
        snprintf(msg, sizeof msg, "X509_verify_cert: %s at depth %d",
                 X509_verify_cert_error_string(X509_STORE_CTX_get_error(sctx)), X509_STORE_CTX_get_error_depth(sctx));
        why = msg;
    }
    ERR_clear_error();
    X509_STORE_CTX_free(sctx);
    sk_X509_free(untrusted);
    return why;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_in in = {data, size};
    fz_chain c = {0};
    size_t len = 0;
    char *pem = NULL;
    if (!fz_build(&in, &c) || (pem = fz_bundle(&c, &len)) == NULL) {
        fz_chain_free(&c);
        return 0;
    }
    ks_blob blob = {.name = NULL, .data = (const uint8_t *)pem, .len = len};
    cJSON *verdict = NULL;
    ks_result r = ks_verify_certificate(ctx, &blob, c.at, 1, &verdict);
    if ((r == KS_OK) != (verdict != NULL))
        fz_die("ks_verify_certificate", "verdict and result disagree");
    const char *ind = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(verdict, "indication"));
    if (ind != NULL && strcmp(ind, "TOTAL_PASSED") == 0) {
        const char *why = fz_second_opinion(&c);
        if (why != NULL) {
            char m[512];
            snprintf(m, sizeof m, "kensho said TOTAL_PASSED for a chain of %d below the root, but: %s", c.n, why);
            fz_die("differential", m);
        }
    }
    cJSON_Delete(verdict);
    free(pem);
    fz_chain_free(&c);
    return 0;
}
