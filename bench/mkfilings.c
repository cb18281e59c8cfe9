/*
 * bench/mkfilings.c - the filings `make bench` sends: signers issued from
 * the test PKI's prefecture CA (gen 1) and CMS documents signed by them.
 *
 *   mkfilings PKI OUT NSIGNERS NDOCS NCOLD NBIG
 *
 * Writes into OUT (which must exist):
 *   signers/sNNNN.{pem,key}  NSIGNERS citizens, even = RSA-2048, odd = ECDSA P-256,
 *                            each with its own key and serial
 *   hot.pack                 NDOCS attached CMS SignedData over 2 KiB filings,
 *                            each with its own content; doc i by signer i % NSIGNERS
 *   cert.pack                every signer's certificate (PEM) for /api/v1/certificate
 *   big.pack                 NBIG detached signatures over 1 MiB contents (multipart)
 *   cold.pack                2 * NCOLD attached documents: record 2k+v by cold signer k
 *                            (NCOLD distinct certificates, keys from a small pool)
 *   ocsp-index.txt           `openssl ca` index lines for every certificate issued here,
 *                            to append to pref-ca-db/index.txt for the OCSP responder
 *
 * A pack is a sequence of records "LEN PATH CONTENT-TYPE\n" + LEN bytes; the
 * wrk scripts (bench/wrk.lua) and bench/naive.c read it.
 *
 * Certificates are the PKI's citizen-rsa.pem with a new serial, CN, key and
 * SKI, re-signed by pref-ca.key: the same profile (policy, keyUsage, JPKI
 * subjectAltName, AKI) the gateway accepts.  Everything is SYNTHETIC.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#define SERIAL_BASE 0x42454E4300000000ULL /* "BENC": far from openssl ca's serials */
#define COLD_BASE 0x434F4C4400000000ULL   /* "COLD" */
#define COLD_KEYS 8

static void die(const char *what)
{
    fprintf(stderr, "mkfilings: %s\n", what);
    ERR_print_errors_fp(stderr);
    exit(1);
}

static EVP_PKEY *load_key(const char *path)
{
    FILE *f = fopen(path, "r");
    EVP_PKEY *k = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
    if (f)
        fclose(f);
    if (k == NULL)
        die(path);
    return k;
}

static X509 *load_cert(const char *path)
{
    FILE *f = fopen(path, "r");
    X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
    if (f)
        fclose(f);
    if (x == NULL)
        die(path);
    return x;
}

/* The template with a new serial, CN, key and SKI, signed by the CA key. */
static X509 *issue(X509 *tmpl, EVP_PKEY *cakey, EVP_PKEY *key, unsigned long long serial, const char *cn)
{
    X509 *x = X509_dup(tmpl);
    BIGNUM *bn = BN_new();
    char hex[32];
    snprintf(hex, sizeof hex, "%llX", serial);
    if (x == NULL || bn == NULL || BN_hex2bn(&bn, hex) == 0)
        die("serial");
    ASN1_INTEGER *ai = BN_to_ASN1_INTEGER(bn, NULL);
    X509_NAME *name = X509_NAME_dup(X509_get_subject_name(tmpl));
    int idx = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
    if (ai == NULL || name == NULL || idx < 0)
        die("template");
    X509_NAME_ENTRY_free(X509_NAME_delete_entry(name, idx));
    if (X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_ASC, (const unsigned char *)cn, -1, idx, 0) != 1 ||
        X509_set_subject_name(x, name) != 1 || X509_set_serialNumber(x, ai) != 1 || X509_set_pubkey(x, key) != 1)
        die("set");
    int ski = X509_get_ext_by_NID(x, NID_subject_key_identifier, -1);
    if (ski >= 0)
        X509_EXTENSION_free(X509_delete_ext(x, ski));
    X509V3_CTX v3;
    X509V3_set_ctx(&v3, NULL, x, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_key_identifier, "hash");
    if (ext == NULL || X509_add_ext(x, ext, -1) != 1)
        die("ski");
    X509_EXTENSION_free(ext);
    if (X509_sign(x, cakey, EVP_sha256()) <= 0)
        die("sign");
    X509_NAME_free(name);
    ASN1_INTEGER_free(ai);
    BN_free(bn);
    return x;
}

/* `openssl ca` index line: V, notAfter, (no revocation), serial, file, DN. */
static void index_line(FILE *f, X509 *x, unsigned long long serial)
{
    const ASN1_TIME *na = X509_get0_notAfter(x);
    char dn[512];
    X509_NAME_oneline(X509_get_subject_name(x), dn, sizeof dn);
    fprintf(f, "V\t%.*s\t\t%llX\tunknown\t%s\n", ASN1_STRING_length(na), (const char *)ASN1_STRING_get0_data(na),
            serial, dn);
}

static void write_pem(const char *dir, int i, X509 *x, EVP_PKEY *k)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/signers/s%04d.pem", dir, i);
    FILE *f = fopen(path, "w");
    if (f == NULL || PEM_write_X509(f, x) != 1)
        die(path);
    fclose(f);
    snprintf(path, sizeof path, "%s/signers/s%04d.key", dir, i);
    f = fopen(path, "w");
    if (f == NULL || PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL) != 1)
        die(path);
    fclose(f);
}

/* A deterministic, distinct synthetic filing of `len` printable bytes. */
static unsigned char *filing(unsigned long long no, size_t len)
{
    unsigned char *p = malloc(len);
    unsigned long long s = no * 0x9E3779B97F4A7C15ULL + 1;
    if (p == NULL)
        die("oom");
    int n = snprintf((char *)p, len, "SYNTHETIC TEST FILING No. %012llu (not a real filing)\n", no);
    for (size_t i = (size_t)n; i < len; i++) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        p[i] = (i % 64 == 63) ? '\n' : (unsigned char)('A' + s % 26);
    }
    return p;
}

static void pack(FILE *f, const char *path, const char *ctype, const unsigned char *b, size_t n)
{
    fprintf(f, "%zu %s %s\n", n, path, ctype);
    if (fwrite(b, 1, n, f) != n)
        die("write");
}

static size_t sign_doc(X509 *x, EVP_PKEY *k, const unsigned char *doc, size_t len, int detached,
                       unsigned char **der)
{
    BIO *in = BIO_new_mem_buf(doc, (int)len);
    CMS_ContentInfo *cms = in ? CMS_sign(x, k, NULL, in, CMS_BINARY | (detached ? CMS_DETACHED : 0)) : NULL;
    *der = NULL;
    int n = cms ? i2d_CMS_ContentInfo(cms, der) : -1;
    if (n <= 0)
        die("CMS_sign");
    CMS_ContentInfo_free(cms);
    BIO_free(in);
    return (size_t)n;
}

static FILE *open_out(const char *dir, const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        die(path);
    return f;
}

int main(int argc, char **argv)
{
    if (argc != 7) {
        fprintf(stderr, "usage: mkfilings PKI OUT NSIGNERS NDOCS NCOLD NBIG\n");
        return 64;
    }
    const char *pki = argv[1], *out = argv[2];
    int nsigners = atoi(argv[3]), ndocs = atoi(argv[4]), ncold = atoi(argv[5]), nbig = atoi(argv[6]);
    if (nsigners < 1 || ndocs < 1 || ncold < 0 || nbig < 0)
        die("bad counts");
    char path[4096];
    snprintf(path, sizeof path, "%s/pref-ca.key", pki);
    EVP_PKEY *cakey = load_key(path);
    snprintf(path, sizeof path, "%s/citizen-rsa.pem", pki);
    X509 *tmpl = load_cert(path);
    snprintf(path, sizeof path, "%s/signers", out);
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", path);
    if (system(cmd) != 0)
        die("mkdir");

    FILE *idx = open_out(out, "ocsp-index.txt"), *certs = open_out(out, "cert.pack");
    X509 **sx = calloc((size_t)nsigners, sizeof *sx);
    EVP_PKEY **sk = calloc((size_t)nsigners, sizeof *sk);
    if (sx == NULL || sk == NULL)
        die("oom");
    for (int i = 0; i < nsigners; i++) {
        char cn[64];
        snprintf(cn, sizeof cn, "SYNTH-BENCH-%04d", i);
        sk[i] = (i % 2 == 0) ? EVP_RSA_gen(2048) : EVP_EC_gen("P-256");
        if (sk[i] == NULL)
            die("keygen");
        sx[i] = issue(tmpl, cakey, sk[i], SERIAL_BASE + (unsigned long long)i, cn);
        index_line(idx, sx[i], SERIAL_BASE + (unsigned long long)i);
        write_pem(out, i, sx[i], sk[i]);
        BIO *b = BIO_new(BIO_s_mem());
        char *pem;
        if (b == NULL || PEM_write_bio_X509(b, sx[i]) != 1)
            die("pem");
        long n = BIO_get_mem_data(b, &pem);
        pack(certs, "/api/v1/certificate", "application/x-pem-file", (unsigned char *)pem, (size_t)n);
        BIO_free(b);
    }
    fclose(certs);

    FILE *hot = open_out(out, "hot.pack");
    for (int i = 0; i < ndocs; i++) {
        unsigned char *doc = filing((unsigned long long)i, 2048), *der;
        size_t n = sign_doc(sx[i % nsigners], sk[i % nsigners], doc, 2048, 0, &der);
        pack(hot, "/api/v1/verify", "application/pkcs7-mime", der, n);
        OPENSSL_free(der);
        free(doc);
    }
    fclose(hot);

    static const char bnd[] = "kenshoBenchBoundary7MA4YWxkTrZu0gW";
    FILE *big = open_out(out, "big.pack");
    for (int i = 0; i < nbig; i++) {
        size_t clen = 1u << 20;
        unsigned char *doc = filing(1000000ULL + (unsigned long long)i, clen), *der;
        size_t n = sign_doc(sx[i % nsigners], sk[i % nsigners], doc, clen, 1, &der);
        char h1[256], h2[256], tail[64];
        int l1 = snprintf(h1, sizeof h1,
                          "--%s\r\nContent-Disposition: form-data; name=\"signature\"; filename=\"filing.p7s\"\r\n"
                          "Content-Type: application/pkcs7-signature\r\n\r\n", bnd);
        int l2 = snprintf(h2, sizeof h2,
                          "\r\n--%s\r\nContent-Disposition: form-data; name=\"content\"; filename=\"filing.txt\"\r\n"
                          "Content-Type: application/octet-stream\r\n\r\n", bnd);
        int l3 = snprintf(tail, sizeof tail, "\r\n--%s--\r\n", bnd);
        size_t total = (size_t)l1 + n + (size_t)l2 + clen + (size_t)l3;
        unsigned char *body = malloc(total), *p = body;
        if (body == NULL)
            die("oom");
        memcpy(p, h1, (size_t)l1), p += l1;
        memcpy(p, der, n), p += n;
        memcpy(p, h2, (size_t)l2), p += l2;
        memcpy(p, doc, clen), p += clen;
        memcpy(p, tail, (size_t)l3);
        char ctype[128];
        snprintf(ctype, sizeof ctype, "multipart/form-data;boundary=%s", bnd);
        pack(big, "/api/v1/verify", ctype, body, total);
        free(body);
        OPENSSL_free(der);
        free(doc);
    }
    fclose(big);

    FILE *cold = open_out(out, "cold.pack");
    EVP_PKEY *pool[COLD_KEYS];
    for (int i = 0; i < COLD_KEYS && ncold > 0; i++)
        if ((pool[i] = EVP_EC_gen("P-256")) == NULL)
            die("keygen");
    for (int k = 0; k < ncold; k++) {
        char cn[64];
        snprintf(cn, sizeof cn, "SYNTH-COLD-%06d", k);
        EVP_PKEY *key = pool[k % COLD_KEYS];
        X509 *x = issue(tmpl, cakey, key, COLD_BASE + (unsigned long long)k, cn);
        index_line(idx, x, COLD_BASE + (unsigned long long)k);
        for (int v = 0; v < 2; v++) {
            unsigned char *doc = filing(2000000ULL + 2ULL * (unsigned long long)k + (unsigned long long)v, 2048), *der;
            size_t n = sign_doc(x, key, doc, 2048, 0, &der);
            pack(cold, "/api/v1/verify", "application/pkcs7-mime", der, n);
            OPENSSL_free(der);
            free(doc);
        }
        X509_free(x);
    }
    for (int i = 0; i < COLD_KEYS && ncold > 0; i++)
        EVP_PKEY_free(pool[i]);
    fclose(cold);
    fclose(idx);

    for (int i = 0; i < nsigners; i++) {
        X509_free(sx[i]);
        EVP_PKEY_free(sk[i]);
    }
    free(sx);
    free(sk);
    X509_free(tmpl);
    EVP_PKEY_free(cakey);
    return 0;
}
