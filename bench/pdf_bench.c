/*
 * bench/pdf_bench.c - the pdf scenario of `make bench` (issue #19, "Speed"):
 * how fast the library verifies signed PDFs of growing size, against how
 * fast this machine hashes the same bytes with SHA-256.
 *
 *   pdf_bench CONFIG RUNS FILE...
 *
 * For each FILE (read once into memory, as the service holds a request
 * body): one verification that must be TOTAL_PASSED, then RUNS timed
 * verifications through ks_verify_signature, and RUNS SHA-256 digests of
 * the whole file through EVP (what `openssl speed -evp sha256` times).
 * Times are this thread's CPU time (as `openssl speed` divides by CPU user
 * time: on a shared machine the wall clock also counts the waits for a
 * core), with the wall clock beside them; medians.  One JSON object on
 * stdout; bench/run.sh derives the throughput from the largest and the
 * smallest file (the difference leaves out what every verification costs
 * whatever the size: path, policy, the verdict).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "internal.h"

static double clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
    ks_ctx *ctx = NULL;
    char *err = NULL;
    int runs = argc > 3 ? atoi(argv[2]) : 0, rc = 1;
    if (runs < 1 || runs > 1000) {
        fprintf(stderr, "usage: pdf_bench CONFIG RUNS FILE...\n");
        return 64;
    }
    if (ks_ctx_load(argv[1], &ctx, &err) != KS_OK) {
        fprintf(stderr, "pdf_bench: %s\n", err ? err : "configuration");
        free(err);
        return 78;
    }
    double *cpu = calloc((size_t)runs, sizeof *cpu), *wall = calloc((size_t)runs, sizeof *wall),
           *sha = calloc((size_t)runs, sizeof *sha);
    EVP_MD *md = EVP_MD_fetch(NULL, "SHA256", NULL);
    if (cpu == NULL || wall == NULL || sha == NULL || md == NULL)
        goto done;
    printf("{\"runs\": %d, \"files\": [", runs);
    for (int f = 3; f < argc; f++) {
        uint8_t *buf = NULL, dig[EVP_MAX_MD_SIZE];
        size_t len = 0;
        cJSON *v = NULL;
        if (ks_read_file(argv[f], 1u << 30, &buf, &len) != KS_OK) {
            fprintf(stderr, "pdf_bench: cannot read %s\n", argv[f]);
            goto done;
        }
        ks_request req = {.signature = {.data = buf, .len = len}};
        const char *ind = NULL;
        if (ks_verify_signature(ctx, &req, &v) == KS_OK)
            ind = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(v, "indication"));
        int passed = ind != NULL && strcmp(ind, "TOTAL_PASSED") == 0;
        cJSON_Delete(v);
        for (int i = 0; passed && i < runs; i++) {
            double c0 = clock_s(CLOCK_THREAD_CPUTIME_ID), w0 = clock_s(CLOCK_MONOTONIC);
            passed = ks_verify_signature(ctx, &req, &v) == KS_OK;
            cpu[i] = clock_s(CLOCK_THREAD_CPUTIME_ID) - c0;
            wall[i] = clock_s(CLOCK_MONOTONIC) - w0;
            cJSON_Delete(v);
            v = NULL;
            c0 = clock_s(CLOCK_THREAD_CPUTIME_ID);
            passed = passed && EVP_Digest(buf, len, dig, NULL, md, NULL) == 1;
            sha[i] = clock_s(CLOCK_THREAD_CPUTIME_ID) - c0;
        }
        free(buf);
        if (!passed) {
            fprintf(stderr, "pdf_bench: %s did not verify as TOTAL_PASSED\n", argv[f]);
            goto done;
        }
        printf("%s{\"file\": \"%s\", \"bytes\": %zu, \"verify_cpu_s\": %.6f, \"verify_wall_s\": %.6f, "
               "\"sha256_cpu_s\": %.6f}",
               f > 3 ? ", " : "", strrchr(argv[f], '/') ? strrchr(argv[f], '/') + 1 : argv[f], len,
               median(cpu, runs), median(wall, runs), median(sha, runs));
    }
    printf("]}\n");
    rc = 0;
done:
    EVP_MD_free(md);
    free(cpu);
    free(wall);
    free(sha);
    ks_ctx_unref(ctx);
    return rc;
}
