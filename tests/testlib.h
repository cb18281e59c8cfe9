/*
 * tests/testlib.h - the smallest test harness that does the job: checks
 * count, failures print where and why, and main ends with the line
 * "N passed, M failed" that tests/run.sh adds up.
 */
#ifndef KENSHO_TESTLIB_H
#define KENSHO_TESTLIB_H

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int t_passed, t_failed;

#define CHECK(cond, ...)                                                    \
    do {                                                                    \
        if (cond) {                                                         \
            t_passed++;                                                     \
        } else {                                                            \
            t_failed++;                                                     \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                   \
            fputc('\n', stderr);                                            \
        }                                                                   \
    } while (0)

static inline int t_str_eq(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static inline const char *t_str(const char *s)
{
    return s ? s : "(null)";
}

#define CHECK_STR(got, want, ...)                                                                 \
    do {                                                                                          \
        const char *t_got_ = (got), *t_want_ = (want);                                            \
        CHECK(t_str_eq(t_got_, t_want_), "got \"%s\", want \"%s\": " __VA_ARGS__, t_str(t_got_), \
              t_str(t_want_));                                                                    \
    } while (0)

/* Writes `tmpl` to `path` with every "@PKI@" replaced by `pki`. */
static inline int t_write_template(const char *path, const char *tmpl, const char *pki)
{
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return 0;
    for (const char *p = tmpl; *p;) {
        if (strncmp(p, "@PKI@", 5) == 0) {
            fputs(pki, f);
            p += 5;
        } else {
            fputc(*p++, f);
        }
    }
    return fclose(f) == 0;
}

static inline int t_done(const char *name)
{
    fprintf(stderr, "%s: ", name);
    printf("%d passed, %d failed\n", t_passed, t_failed);
    return t_failed == 0 ? 0 : 1;
}

/* $name or a default. */
static inline const char *t_env(const char *name, const char *dflt)
{
    const char *v = getenv(name);
    return v && *v ? v : dflt;
}

#ifdef KENSHO_VERIFY_H
/* The verdict as its callers read it: printed and parsed again.  Inside the
 * tree, certificates on a path are raw JSON (ks_vcache_cert_json) that only
 * the printed form opens up. */
static inline cJSON *t_printed(cJSON *v)
{
    char *s = cJSON_PrintUnformatted(v);
    cJSON *p = s != NULL ? cJSON_Parse(s) : NULL;
    free(s);
    cJSON_Delete(v);
    return p;
}

/* Loads a configuration; a broken fixture ends the program (exit 2), it is
 * not a test result. */
static inline ks_ctx *t_load_ctx(const char *path)
{
    char *err = NULL;
    ks_ctx *ctx = NULL;
    if (ks_ctx_load(path, &ctx, &err) != KS_OK) {
        fprintf(stderr, "config %s: %s\n", path, err ? err : "?");
        exit(2);
    }
    free(err);
    return ctx;
}

/* Named configurations, written from templates ("@PKI@" is the PKI directory). */
typedef struct {
    const char *name;
    const char *json;
} t_config;

/* dir/name.json */
static inline const char *t_config_path(const char *dir, const char *name, char *buf, size_t len)
{
    snprintf(buf, len, "%s/%s.json", dir, name);
    return buf;
}

/* Writes each configuration to $OUT/tests/<subdir>/<name>.json; dir gets
 * that directory as an absolute path (a CLI run elsewhere reads it too). */
static inline void t_write_configs(const char *subdir, const t_config *cfgs, size_t n, const char *pki,
                                   char dir[PATH_MAX])
{
    char rel[512], cmd[600], path[PATH_MAX + 64];
    snprintf(rel, sizeof rel, "%s/tests/%s", t_env("OUT", "build/rel"), subdir);
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", rel);
    if (system(cmd) != 0 || realpath(rel, dir) == NULL)
        exit(2);
    for (size_t i = 0; i < n; i++)
        if (!t_write_template(t_config_path(dir, cfgs[i].name, path, sizeof path), cfgs[i].json, pki))
            exit(2);
}

static inline ks_ctx *t_load_config(const char *dir, const char *name)
{
    char path[PATH_MAX + 64];
    return t_load_ctx(t_config_path(dir, name, path, sizeof path));
}

/* Writes `text` to `path` and loads it. */
static inline ks_ctx *t_ctx_from_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(2);
    }
    return t_load_ctx(path);
}

#ifdef KENSHO_VERIFY_INTERNAL_H /* ks_read_file is in verify/internal.h */
/* Reads dir/file (at most 64 MiB); 1 on success. */
static inline int t_read(const char *dir, const char *file, uint8_t **buf, size_t *len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    return ks_read_file(path, 64 * 1024 * 1024, buf, len) == KS_OK;
}
#endif
#endif

#endif
