/*
 * fuzz/fuzz.h - shared by the libFuzzer harnesses of fuzz/ (one per parser of
 * untrusted bytes).  Header-only: each harness is one translation unit.
 *
 * The harnesses run from the repository root (make fuzz, tests/test_fuzz.sh)
 * against the generated test PKI: KS_FUZZ_PKI names it (default build/pki).
 * Contexts are built once per process (LLVMFuzzerInitialize) with revocation
 * off unless a harness needs otherwise, so no input can reach the network.
 * Temporary files live in /dev/shm (tmpfs), named after the pid, and are
 * removed after each use.
 */
#ifndef KENSHO_FUZZ_H
#define KENSHO_FUZZ_H

#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "verify.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char fz_pki[PATH_MAX];
static time_t fz_now;

__attribute__((unused)) static void fz_die(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz: %s: %s\n", what, detail ? detail : "?");
    abort();
}

/* A fixed clock for the whole process: a crash replays the same way within a
 * PKI generation (the PKI's dates are relative to when it was made). */
__attribute__((unused)) static time_t fz_clock(void *arg)
{
    (void)arg;
    return fz_now;
}

__attribute__((unused)) static const char *fz_pki_dir(void)
{
    if (fz_pki[0] == '\0') {
        const char *p = getenv("KS_FUZZ_PKI");
        if (realpath(p && *p ? p : "build/pki", fz_pki) == NULL)
            fz_die("no test PKI (set KS_FUZZ_PKI or run from the repository root after make pki)", p);
        fz_now = time(NULL);
    }
    return fz_pki;
}

/* A certificate of the test PKI by file name (PEM). */
__attribute__((unused)) static X509 *fz_read_pem(const char *name)
{
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/%s", fz_pki_dir(), name);
    FILE *f = fopen(path, "r");
    X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
    if (f)
        fclose(f);
    if (x == NULL)
        fz_die("cannot read", path);
    return x;
}

/* A private key of the test PKI by file name (PEM): harnesses that sign
 * what they build (fuzz_ocsp_sign). */
__attribute__((unused)) static EVP_PKEY *fz_read_key(const char *name)
{
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/%s", fz_pki_dir(), name);
    FILE *f = fopen(path, "r");
    EVP_PKEY *k = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
    if (f)
        fclose(f);
    if (k == NULL)
        fz_die("cannot read key", path);
    return k;
}

/* The recipe cursor of the harnesses that build what they test from a
 * fixed layout of bytes (fuzz_*_sign.c, fuzz_path.c): reads past the end
 * give zeros, so every input is a complete recipe. */
typedef struct {
    const uint8_t *p;
    size_t n;
} fz_in;

__attribute__((unused)) static unsigned fz_u8(fz_in *in)
{
    if (in->n == 0)
        return 0;
    in->n--;
    return *in->p++;
}

__attribute__((unused)) static long fz_s16(fz_in *in)
{
    unsigned hi = fz_u8(in), lo = fz_u8(in);
    return (long)(int16_t)(uint16_t)((hi << 8) | lo);
}

/* Writes `len` bytes to a fresh tmpfs file; the path goes in buf. */
__attribute__((unused)) static int fz_write_tmp(const char *tag, const uint8_t *data, size_t len, char *buf, size_t buflen)
{
    snprintf(buf, buflen, "/dev/shm/ks-fuzz-%ld-%s", (long)getpid(), tag);
    int fd = open(buf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return 0;
    size_t off = 0;
    while (off < len) {
        ssize_t n = write(fd, data + off, len - off);
        if (n <= 0) {
            close(fd);
            unlink(buf);
            return 0;
        }
        off += (size_t)n;
    }
    close(fd);
    return 1;
}

/* A context over the test PKI; `extra` is appended inside the top-level
 * object (", \"key\": ..." or ""). */
__attribute__((unused)) static ks_ctx *fz_ctx_load(const char *revocation, const char *extra)
{
    const char *p = fz_pki_dir();
    char json[8192], path[256], *err = NULL;
    ks_ctx *ctx = NULL;
    int n = snprintf(json, sizeof json,
                     "{\"trust_anchors\": [\"%s/anchors\"], \"intermediates\": [\"%s/intermediates\"],"
                     " \"accept_policies\": [\"1.2.392.200149.8.5.1.1.20\"],"
                     " \"revocation\": %s%s}",
                     p, p, revocation, extra);
    if (n < 0 || (size_t)n >= sizeof json || !fz_write_tmp("config.json", (const uint8_t *)json, (size_t)n, path,
                                                           sizeof path))
        fz_die("config", "cannot write");
    if (ks_ctx_load(path, &ctx, &err) != KS_OK)
        fz_die("ks_ctx_load", err);
    unlink(path);
    ks_ctx_set_clock(ctx, fz_clock, NULL);
    return ctx;
}

#ifdef FZ_SMALL_QUARANTINE
/* For the harnesses whose every input allocates a little more than it frees
 * (OpenSSL keeps its error queue's data buffers from one call for the next;
 * kensho's verification cache grows with every new chain): libFuzzer answers
 * each such input with a LeakSanitizer check, which walks every chunk of
 * the allocator, ASan's quarantine of freed memory included (256 MB by
 * default: millions of small chunks).  fuzz_path fell to 2 inputs a second
 * at 526 MB within an hour.  16 MB keeps the walk short; a use after free
 * is still caught while the memory has not been handed out again.
 * ASAN_OPTIONS overrides. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "quarantine_size_mb=16";
}
#endif

#ifdef FZ_OFFLINE_CTX
/* The harnesses that need nothing but the test PKI: one context, revocation
 * off, built before the first input. */
static ks_ctx *ctx;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    ctx = fz_ctx_load("{\"mode\": \"off\"}", "");
    return 0;
}
#endif

/* Splits data at the first "\n--KSFUZZ--\n": the signature before it, one
 * detached content after it (len 0 and NULL when there is no marker). */
__attribute__((unused)) static size_t fz_split(const uint8_t *data, size_t size, const uint8_t **rest, size_t *restlen)
{
    static const char mark[] = "\n--KSFUZZ--\n";
    const size_t ml = sizeof mark - 1;
    *rest = NULL;
    *restlen = 0;
    for (size_t i = 0; size >= ml && i <= size - ml; i++)
        if (data[i] == '\n' && memcmp(data + i, mark, ml) == 0) {
            *rest = data + i + ml;
            *restlen = size - i - ml;
            return i;
        }
    return size;
}

#endif
