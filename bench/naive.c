/*
 * bench/naive.c - the yardstick: the filings of a pack verified the way a
 * straightforward program would, with plain OpenSSL and no caches.  Per
 * document: d2i_CMS_ContentInfo, then CMS_verify against a store of the
 * anchor and the bridge's cross certificates (a fresh X509_STORE_CTX inside
 * CMS_verify), policy checking on.  No revocation, no JSON, no audit: it
 * does less than the gateway.  One process per core (fork), SECONDS each.
 *
 *   naive PKI PACK SECONDS PROCESSES      prints one JSON object
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

typedef struct {
    unsigned char *data;
    size_t len;
} rec;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int add_file(X509_STORE *st, const char *pki, const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", pki, name);
    return X509_STORE_load_file(st, path) == 1;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: naive PKI PACK SECONDS PROCESSES\n");
        return 64;
    }
    const char *pki = argv[1];
    double secs = atof(argv[3]);
    int nproc = atoi(argv[4]);
    FILE *f = fopen(argv[2], "rb");
    rec *recs = NULL;
    size_t n = 0, cap = 0;
    char line[512];
    if (f == NULL || nproc < 1 || nproc > 64)
        return 64;
    while (fgets(line, sizeof line, f) != NULL) {
        size_t len = strtoul(line, NULL, 10);
        if (n == cap) {
            cap = cap ? cap * 2 : 1024;
            if ((recs = realloc(recs, cap * sizeof *recs)) == NULL)
                return 70;
        }
        if ((recs[n].data = malloc(len)) == NULL || fread(recs[n].data, 1, len, f) != len)
            return 65;
        recs[n++].len = len;
    }
    fclose(f);
    if (n == 0)
        return 65;

    int fds[64][2];
    double t0 = now_s();
    for (int p = 0; p < nproc; p++) {
        if (pipe(fds[p]) != 0)
            return 71;
        pid_t pid = fork();
        if (pid < 0)
            return 71;
        if (pid > 0) {
            close(fds[p][1]);
            continue;
        }
        close(fds[p][0]);
        X509_STORE *st = X509_STORE_new();
        if (st == NULL || !add_file(st, pki, "anchors/ministry-ca.pem") || !add_file(st, pki, "chain-gen1.pem"))
            _exit(78);
        X509_STORE_set_flags(st, X509_V_FLAG_POLICY_CHECK);
        unsigned long ok = 0, bad = 0;
        double deadline = now_s() + secs;
        for (size_t i = (size_t)p; now_s() < deadline; i += (size_t)nproc) {
            const unsigned char *q = recs[i % n].data;
            CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &q, (long)recs[i % n].len);
            BIO *out = BIO_new(BIO_s_null());
            if (cms != NULL && out != NULL && CMS_verify(cms, NULL, st, NULL, out, CMS_BINARY) == 1)
                ok++;
            else
                bad++;
            BIO_free(out);
            CMS_ContentInfo_free(cms);
            ERR_clear_error();
        }
        char buf[64];
        int len = snprintf(buf, sizeof buf, "%lu %lu\n", ok, bad);
        if (write(fds[p][1], buf, (size_t)len) != len)
            _exit(74);
        _exit(0);
    }
    unsigned long ok = 0, bad = 0;
    for (int p = 0; p < nproc; p++) {
        char buf[64] = {0};
        unsigned long a = 0, b = 0;
        if (read(fds[p][0], buf, sizeof buf - 1) > 0 && sscanf(buf, "%lu %lu", &a, &b) == 2) {
            ok += a;
            bad += b;
        }
        close(fds[p][0]);
    }
    while (wait(NULL) > 0)
        ;
    double dt = now_s() - t0;
    printf("{\"processes\": %d, \"seconds\": %.2f, \"verified\": %lu, \"failed\": %lu, \"per_second\": %.1f, "
           "\"what\": \"d2i_CMS_ContentInfo + CMS_verify (fresh store context), no revocation, no caches\"}\n",
           nproc, dt, ok, bad, (double)(ok + bad) / dt);
    for (size_t i = 0; i < n; i++)
        free(recs[i].data);
    free(recs);
    return 0;
}
