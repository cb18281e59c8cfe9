/*
 * bench/loop.c - the library without the HTTP stack: THREADS threads call
 * ks_verify_signature() over the records of a pack (bench/mkfilings.c) for
 * SECONDS, and print one JSON object.  This is what the profile in README
 * "Throughput" was taken on (perf record -g / valgrind --tool=callgrind).
 *
 *   loop CONFIG PACK SECONDS THREADS [MAXRECORDS [COUNT]]
 *
 * COUNT stops each thread after that many verifications (under callgrind,
 * where time means nothing: instructions per verification = total / COUNT).
 *
 * Counts verdicts by indication: anything but TOTAL_PASSED is an error for
 * the bench (the packs hold only good filings).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "verify.h"

typedef struct {
    uint8_t *data;
    size_t len;
} rec;

static rec *recs;
static size_t nrecs;
static ks_ctx *ctx;
static double deadline;
static unsigned long count_per_thread;
static atomic_ulong done_ok, done_bad;
static int nthreads;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void load_pack(const char *path, size_t max)
{
    FILE *f = fopen(path, "rb");
    char line[512];
    size_t cap = 0;
    if (f == NULL) {
        perror(path);
        exit(1);
    }
    while (nrecs < max && fgets(line, sizeof line, f) != NULL) {
        size_t len = strtoul(line, NULL, 10);
        if (nrecs == cap) {
            cap = cap ? cap * 2 : 1024;
            recs = realloc(recs, cap * sizeof *recs);
        }
        recs[nrecs].data = malloc(len);
        if (recs == NULL || recs[nrecs].data == NULL || fread(recs[nrecs].data, 1, len, f) != len) {
            fprintf(stderr, "loop: short pack %s\n", path);
            exit(1);
        }
        recs[nrecs++].len = len;
    }
    fclose(f);
}

static void *worker(void *arg)
{
    size_t i = (size_t)(uintptr_t)arg;
    for (unsigned long n = 0; now_s() < deadline && (count_per_thread == 0 || n < count_per_thread); n++) {
        ks_request req = {.signature = {.data = recs[i % nrecs].data, .len = recs[i % nrecs].len}};
        cJSON *v = NULL;
        if (ks_verify_signature(ctx, &req, &v) == KS_OK && ks_verdict_indication(v) == KS_TOTAL_PASSED)
            atomic_fetch_add(&done_ok, 1);
        else
            atomic_fetch_add(&done_bad, 1);
        cJSON_Delete(v);
        i += (size_t)nthreads;
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: loop CONFIG PACK SECONDS THREADS [MAXRECORDS [COUNT]]\n");
        return 64;
    }
    char *err = NULL;
    if (ks_ctx_load(argv[1], &ctx, &err) != KS_OK) {
        fprintf(stderr, "loop: %s\n", err ? err : "config");
        return 78;
    }
    double secs = atof(argv[3]);
    nthreads = atoi(argv[4]);
    load_pack(argv[2], argc > 5 ? strtoul(argv[5], NULL, 10) : (size_t)-1);
    count_per_thread = argc > 6 ? strtoul(argv[6], NULL, 10) : 0;
    if (nrecs == 0 || nthreads < 1 || nthreads > 64)
        return 64;
    pthread_t t[64];
    double t0 = now_s();
    deadline = t0 + secs;
    for (int i = 0; i < nthreads; i++)
        pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)i);
    for (int i = 0; i < nthreads; i++)
        pthread_join(t[i], NULL);
    double dt = now_s() - t0;
    unsigned long ok = atomic_load(&done_ok), bad = atomic_load(&done_bad);
    printf("{\"records\": %zu, \"threads\": %d, \"seconds\": %.2f, \"passed\": %lu, \"other\": %lu, "
           "\"per_second\": %.1f}\n",
           nrecs, nthreads, dt, ok, bad, (double)(ok + bad) / dt);
    ks_ctx_unref(ctx);
    for (size_t i = 0; i < nrecs; i++)
        free(recs[i].data);
    free(recs);
    return bad != 0;
}
