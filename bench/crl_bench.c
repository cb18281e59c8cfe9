/*
 * bench/crl_bench.c - a CRL of N entries (default 1,000,000): how long it
 * takes to load, to build the lookup index, and to answer a lookup, and how
 * much memory it holds.  Prints one JSON object.
 *
 *   crl_bench [N] [OUT.der]
 *
 * The CRL is generated here (signed by a throwaway P-256 key) so the bench
 * needs no fixture.  Loading goes through the same ks_load_crl_file the
 * configuration uses; lookups through X509_CRL_get0_by_serial, which sorts
 * the entries once per CRL object and then searches in O(log n).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "internal.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f != NULL && fgets(line, sizeof line, f) != NULL)
        if (strncmp(line, "VmRSS:", 6) == 0)
            kb = atol(line + 6);
    if (f != NULL)
        fclose(f);
    return kb;
}

/* Serial i: a random-looking 64-bit value derived from i. */
static ASN1_INTEGER *serial_of(unsigned long i)
{
    unsigned long long v = (unsigned long long)i * 0x9E3779B97F4A7C15ull + 0x1234567ull;
    BIGNUM *bn = BN_new();
    BN_set_word(bn, (BN_ULONG)(v >> 1));
    ASN1_INTEGER *a = BN_to_ASN1_INTEGER(bn, NULL);
    BN_free(bn);
    return a;
}

int main(int argc, char **argv)
{
    unsigned long n = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000000;
    const char *out = argc > 2 ? argv[2] : "build/bench-crl.der";
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509_CRL *crl = X509_CRL_new();
    X509_NAME *name = X509_NAME_new();
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"Bench CA (synthetic test)", -1, -1, 0);
    X509_CRL_set_version(crl, X509_CRL_VERSION_2);
    X509_CRL_set_issuer_name(crl, name);
    ASN1_TIME *t = ASN1_TIME_set(NULL, time(NULL) - 3600);
    X509_CRL_set1_lastUpdate(crl, t);
    ASN1_TIME_set(t, time(NULL) + 86400);
    X509_CRL_set1_nextUpdate(crl, t);
    ASN1_TIME_set(t, time(NULL) - 7200);
    double t0 = now_s();
    for (unsigned long i = 0; i < n; i++) {
        X509_REVOKED *r = X509_REVOKED_new();
        ASN1_INTEGER *s = serial_of(i);
        X509_REVOKED_set_serialNumber(r, s);
        X509_REVOKED_set_revocationDate(r, t);
        ASN1_ENUMERATED *reason = ASN1_ENUMERATED_new();
        ASN1_ENUMERATED_set(reason, CRL_REASON_AFFILIATION_CHANGED);
        X509_REVOKED_add1_ext_i2d(r, NID_crl_reason, reason, 0, 0);
        ASN1_ENUMERATED_free(reason);
        ASN1_INTEGER_free(s);
        X509_CRL_add0_revoked(crl, r);
    }
    X509_CRL_sign(crl, key, EVP_sha256());
    double t_gen = now_s() - t0;
    FILE *f = fopen(out, "wb");
    if (f == NULL || i2d_X509_CRL_fp(f, crl) != 1) {
        fprintf(stderr, "cannot write %s\n", out);
        return 1;
    }
    fclose(f);
    X509_CRL_free(crl);
    ASN1_TIME_free(t);
    X509_NAME_free(name);

    long rss0 = rss_kb();
    t0 = now_s();
    X509_CRL *loaded = NULL;
    if (ks_load_crl_file(out, 1UL << 30, &loaded) != KS_OK) {
        fprintf(stderr, "load failed\n");
        return 1;
    }
    double t_load = now_s() - t0;
    t0 = now_s();
    int sig_ok = X509_CRL_verify(loaded, key) == 1;
    double t_verify = now_s() - t0;

    /* First lookup sorts the entries (the index, once per CRL object). */
    X509_REVOKED *hit = NULL;
    ASN1_INTEGER *probe = serial_of(n / 2);
    t0 = now_s();
    int first = X509_CRL_get0_by_serial(loaded, &hit, probe);
    double t_index = now_s() - t0;
    ASN1_INTEGER_free(probe);

    unsigned long lookups = 1000000, found = 0;
    ASN1_INTEGER **probes = malloc(1024 * sizeof *probes);
    for (int i = 0; i < 1024; i++)
        probes[i] = serial_of((unsigned long)i * 7919 % (2 * n)); /* half present, half absent */
    t0 = now_s();
    for (unsigned long i = 0; i < lookups; i++)
        found += X509_CRL_get0_by_serial(loaded, &hit, probes[i & 1023]) == 1;
    double t_lookups = now_s() - t0;
    for (int i = 0; i < 1024; i++)
        ASN1_INTEGER_free(probes[i]);
    free(probes);
    long rss1 = rss_kb();

    printf("{\"entries\": %lu, \"generate_s\": %.3f, \"load_s\": %.3f, \"signature_verify_s\": %.3f, "
           "\"signature_ok\": %s, \"index_build_s\": %.3f, \"first_lookup_found\": %s, \"lookups\": %lu, "
           "\"lookups_per_s\": %.0f, \"lookup_us\": %.3f, \"found\": %lu, \"rss_kb_held\": %ld}\n",
           n, t_gen, t_load, t_verify, sig_ok ? "true" : "false", t_index, first == 1 ? "true" : "false", lookups,
           (double)lookups / t_lookups, t_lookups / (double)lookups * 1e6, found, rss1 - rss0);
    X509_CRL_free(loaded);
    EVP_PKEY_free(key);
    return sig_ok && first == 1 ? 0 : 1;
}
