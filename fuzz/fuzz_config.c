/*
 * fuzz/fuzz_config.c - the configuration parser: ks_ctx_load (every key of
 * the verify module and the cache section) and, when that succeeds,
 * ks_fcgi_settings_load (the service, limits and audit sections).  The input
 * is written to a tmpfs file per run (ks_ctx_load reads a path); relative
 * paths in it resolve under /dev/shm.  The audit log is never opened, so no
 * input can create or append to a file.  A context that loads is dropped
 * again at once: a leak here is a leak per SIGHUP in the service.
 * "@PKI@" in the input stands for the test PKI's directory, so seeds and
 * regression inputs do not depend on where the tree is checked out.
 */
#include "fcgi.h"
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    (void)fz_pki_dir(); /* the seeds name files of the test PKI */
    return 0;
}

static uint8_t fz_text[65536 * 8];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[256], *err = NULL;
    ks_ctx *ctx = NULL;
    const char *pki = fz_pki_dir();
    size_t pl = strlen(pki), n = 0;
    if (size > 65536 || pl > 4096)
        return 0;
    for (size_t i = 0; i < size && n + pl < sizeof fz_text; i++) {
        if (size - i >= 5 && memcmp(data + i, "@PKI@", 5) == 0) {
            memcpy(fz_text + n, pki, pl);
            n += pl;
            i += 4;
        } else {
            fz_text[n++] = data[i];
        }
    }
    if (!fz_write_tmp("fuzz-config.json", fz_text, n, path, sizeof path))
        fz_die("config", "cannot write to /dev/shm");
    ks_result r = ks_ctx_load(path, &ctx, &err);
    unlink(path);
    if ((r == KS_OK) != (ctx != NULL))
        fz_die("ks_ctx_load", "context and result disagree");
    if (r != KS_OK && err == NULL)
        fz_die("ks_ctx_load", "failure without a message");
    free(err);
    err = NULL;
    if (ctx != NULL) {
        ks_fcgi_settings set;
        if (ks_fcgi_settings_load(ctx, path, &set, &err) == KS_OK)
            ks_fcgi_settings_clear(&set);
        else if (err == NULL)
            fz_die("ks_fcgi_settings_load", "failure without a message");
        free(err);
        (void)ks_ctx_policy(ctx);
        ks_ctx_unref(ctx);
    }
    return 0;
}
