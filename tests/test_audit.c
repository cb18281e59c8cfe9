/*
 * tests/test_audit.c - the audit chain across files: rotation by size and
 * age, files kept, and what an outsider can do to the files (copytruncate,
 * "> file", rename with or without a new file, a removed or shortened
 * rotated file).  Each row runs a scenario in a fresh directory, then
 * `audit-verify` over the directory (ks_audit_check) must say intact or
 * name the expected problem, and every record the writers were told is
 * written must be in some file.
 */
#include <dirent.h>
#include <stdarg.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "testlib.h"

static char base[PATH_MAX / 2];

typedef struct {
    char dir[PATH_MAX];
    char path[PATH_MAX + 64];
    ks_audit *h[2];
    time_t now;
    unsigned long long written; /* records acknowledged KS_OK */
} scene;

static void scene_open(scene *s, int i, const ks_audit_rotation *rot)
{
    char *err = NULL;
    ks_result r = ks_audit_open(s->path, KS_AUDIT_FSYNC_ALWAYS, &s->h[i], &err);
    CHECK(r == KS_OK, "open %s: %s", s->path, t_str(err));
    free(err);
    if (r == KS_OK && rot != NULL)
        ks_audit_set_rotation(s->h[i], rot);
}

static void scene_init(scene *s, const char *name, const ks_audit_rotation *rot)
{
    char cmd[PATH_MAX * 3];
    memset(s, 0, sizeof *s);
    snprintf(s->dir, sizeof s->dir, "%s/%s", base, name);
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s'", s->dir, s->dir);
    if (system(cmd) != 0)
        exit(2);
    snprintf(s->path, sizeof s->path, "%s/audit.log", s->dir);
    s->now = 1767225600; /* 2026-01-01T00:00:00Z: the records' own clock */
    scene_open(s, 0, rot);
}

/* n records through handle i, one second apart. */
static void scene_write(scene *s, int i, int n)
{
    static const uint8_t sig[] = "signature bytes";
    ks_blob in = {.name = "s", .data = sig, .len = sizeof sig - 1};
    cJSON *v = cJSON_Parse("{\"indication\":\"TOTAL_PASSED\",\"subindication\":null,\"signer\":{\"sha256\":\"ab\"}}");
    for (int k = 0; k < n && s->h[i] != NULL; k++) {
        ks_audit_event ev = {.time = s->now++, .request_id = "req", .kind = "signature", .input = &in, .verdict = v};
        if (ks_audit_append(s->h[i], &ev) == KS_OK)
            s->written++;
    }
    cJSON_Delete(v);
}

static void scene_close(scene *s)
{
    ks_audit_close(s->h[0]);
    ks_audit_close(s->h[1]);
    s->h[0] = s->h[1] = NULL;
}

static int count_files(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int n = 0;
    while (d != NULL && (de = readdir(d)) != NULL)
        n += de->d_name[0] != '.';
    if (d != NULL)
        closedir(d);
    return n;
}

/* Lines in every file of the directory that are not kensho's own records. */
static unsigned long long count_records(const char *dir)
{
    char cmd[PATH_MAX + 64];
    snprintf(cmd, sizeof cmd, "cat '%s'/* | grep -c '\"kind\":\"signature\"'", dir);
    FILE *p = popen(cmd, "r");
    unsigned long long n = 0;
    if (p == NULL || fscanf(p, "%llu", &n) != 1)
        n = 0;
    if (p != NULL)
        pclose(p);
    return n;
}

/* audit-verify over the directory: intact, or the first problem is `want`. */
static void expect(scene *s, const char *label, const char *want_problem, unsigned long long lost)
{
    const char *paths[] = {s->dir};
    cJSON *rep = NULL;
    char *bad = NULL;
    ks_result r = ks_audit_check(paths, 1, &rep, &bad);
    CHECK(r == KS_OK, "%s: audit-verify: %s (%s)", label, ks_result_name(r), t_str(bad));
    free(bad);
    const cJSON *problems = cJSON_GetObjectItemCaseSensitive(rep, "problems");
    const char *first = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(problems, 0), "kind"));
    int intact = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(rep, "intact"));
    if (want_problem == NULL) {
        CHECK(intact, "%s: not intact: %s", label, t_str(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(rep, "reason"))));
    } else {
        CHECK(!intact, "%s: intact, want %s", label, want_problem);
        CHECK_STR(first, want_problem, "%s: first problem", label);
    }
    /* Every record a writer was told is on disk is in a file (less what the
     * scenario itself destroyed). */
    CHECK(count_records(s->dir) + lost == s->written, "%s: %llu records in the files, %llu acknowledged, %llu lost",
          label, count_records(s->dir), s->written, lost);
    cJSON_Delete(rep);
}

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...)
{
    char cmd[PATH_MAX * 4];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    if (system(cmd) != 0)
        fprintf(stderr, "command failed: %s\n", cmd);
}

/* ---------------- scenarios ---------------- */

static void t_plain(void)
{
    scene s;
    scene_init(&s, "plain", NULL);
    scene_write(&s, 0, 20);
    scene_close(&s);
    expect(&s, "no rotation", NULL, 0);
    CHECK(count_files(s.dir) == 1, "one file");
    /* Reopened, the chain and the numbering continue. */
    scene_open(&s, 0, NULL);
    scene_write(&s, 0, 5);
    scene_close(&s);
    expect(&s, "reopened", NULL, 0);
}

static void t_rotate_size(void)
{
    ks_audit_rotation rot = {.rotate_bytes = 4096};
    scene s;
    scene_init(&s, "size", &rot);
    scene_write(&s, 0, 100);
    scene_close(&s);
    expect(&s, "rotated by size", NULL, 0);
    CHECK(count_files(s.dir) > 5, "files: %d", count_files(s.dir));
    struct stat st;
    sh("test -s '%s/audit.log.1'", s.dir);
    CHECK(stat(s.path, &st) == 0 && st.st_size <= 4096 + 1024, "the open file stays near rotate_bytes: %lld",
          (long long)st.st_size);
}

static void t_keep(void)
{
    ks_audit_rotation rot = {.rotate_bytes = 4096, .keep = 2};
    scene s;
    scene_init(&s, "keep", &rot);
    scene_write(&s, 0, 100);
    scene_close(&s);
    CHECK(count_files(s.dir) == 3, "keep 2: the open file and 2 rotated, got %d", count_files(s.dir));
    /* The oldest files are gone by design: the rest still chains. */
    const char *paths[] = {s.dir};
    cJSON *rep = NULL;
    char *bad = NULL;
    CHECK(ks_audit_check(paths, 1, &rep, &bad) == KS_OK && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(rep, "intact")),
          "keep: the files kept chain");
    CHECK(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(rep, "first_file_seq")) > 1, "keep: first_file_seq");
    free(bad);
    cJSON_Delete(rep);
}

static void t_rotate_age(void)
{
    ks_audit_rotation rot = {.rotate_seconds = 10};
    scene s;
    scene_init(&s, "age", &rot);
    scene_write(&s, 0, 35); /* one record a second: a new file every 10 */
    scene_close(&s);
    expect(&s, "rotated by age", NULL, 0);
    CHECK(count_files(s.dir) == 4, "files: %d", count_files(s.dir));
}

static void t_missing_middle(void)
{
    ks_audit_rotation rot = {.rotate_bytes = 4096};
    scene s;
    scene_init(&s, "missing", &rot);
    scene_write(&s, 0, 60);
    scene_close(&s);
    char victim[PATH_MAX + 128];
    snprintf(victim, sizeof victim, "%s.2", s.path);
    unsigned long long lost = count_records(s.dir);
    CHECK(unlink(victim) == 0, "remove %s", victim);
    lost -= count_records(s.dir);
    expect(&s, "a rotated file removed", "missing_file", lost);
}

static void t_truncated_rotated(void)
{
    ks_audit_rotation rot = {.rotate_bytes = 4096};
    scene s;
    scene_init(&s, "shortened", &rot);
    scene_write(&s, 0, 60);
    scene_close(&s);
    /* The last line of file 2 removed: its own chain is still whole. */
    sh("sed -i '$d' '%s.2'", s.path);
    expect(&s, "a rotated file shortened", "truncated", 1);
}

static void t_copytruncate(void)
{
    scene s;
    scene_init(&s, "copytruncate", NULL);
    scene_write(&s, 0, 10);
    /* logrotate copytruncate: copy, then truncate in place while open. */
    sh("cp '%s' '%s.1' && truncate -s 0 '%s'", s.path, s.path, s.path);
    scene_write(&s, 0, 10);
    scene_close(&s);
    expect(&s, "copytruncate", "break", 0);
    /* Without the copy, the break is still there. */
    sh("rm -f '%s.1'", s.path);
    expect(&s, "truncated, copy gone", "break", 10);
}

static void t_empty_redirect(void)
{
    scene s;
    scene_init(&s, "redirect", NULL);
    scene_write(&s, 0, 10);
    sh(": > '%s'", s.path); /* "> file" from a shell */
    scene_write(&s, 0, 5);
    scene_close(&s);
    expect(&s, "> file", "break", 10);
}

static void t_rename_create(void)
{
    scene s;
    scene_init(&s, "rename-create", NULL);
    scene_write(&s, 0, 10);
    /* logrotate's default: rename, create an empty file, no HUP. */
    sh("mv '%s' '%s.old' && touch '%s'", s.path, s.path, s.path);
    scene_write(&s, 0, 10);
    scene_close(&s);
    expect(&s, "renamed, new empty file", NULL, 0);
}

static void t_rename_only(void)
{
    scene s;
    scene_init(&s, "rename", NULL);
    scene_write(&s, 0, 10);
    sh("mv '%s' '%s.old'", s.path, s.path);
    scene_write(&s, 0, 10);
    scene_close(&s);
    expect(&s, "renamed, no new file", NULL, 0);
    CHECK(count_files(s.dir) == 2, "a new file at the path");
}

static void t_two_handles(void)
{
    ks_audit_rotation rot = {.rotate_bytes = 4096};
    scene s;
    scene_init(&s, "two", &rot);
    scene_open(&s, 1, &rot);
    for (int k = 0; k < 30; k++) {
        scene_write(&s, 0, 2);
        scene_write(&s, 1, 1);
    }
    scene_close(&s);
    expect(&s, "two handles rotating one file", NULL, 0);
}

static void t_fork(void)
{
    ks_audit_rotation rot = {.rotate_bytes = 4096};
    scene s;
    scene_init(&s, "fork", &rot);
    scene_write(&s, 0, 40);
    scene_close(&s);
    /* A second copy of file 1 that diverges: two files claim one place. */
    unsigned long long before = count_records(s.dir);
    sh("cp '%s.1' '%s.1.copy'", s.path, s.path);
    sh("sed -i '$d' '%s.1.copy'", s.path);
    s.written += count_records(s.dir) - before; /* the copy's records count as written */
    expect(&s, "a diverging copy", "fork", 0);
}

int main(void)
{
    snprintf(base, sizeof base, "%s/tests/audit", t_env("OUT", "build/rel"));
    char cmd[PATH_MAX + 32];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", base);
    if (system(cmd) != 0)
        return 2;
    t_plain();
    t_rotate_size();
    t_keep();
    t_rotate_age();
    t_missing_middle();
    t_truncated_rotated();
    t_copytruncate();
    t_empty_redirect();
    t_rename_create();
    t_rename_only();
    t_two_handles();
    t_fork();
    return t_done("test_audit");
}
