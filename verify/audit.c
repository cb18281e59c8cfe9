/*
 * verify/audit.c - the append-only, hash-chained audit log.
 *
 * One JSON object per line, one line per verification.  Each line carries
 * "prev": the SHA-256 (hex) of the bytes of the previous line without its
 * newline; the first line's prev is 64 zeros.  Altering, removing or
 * reordering any line but the last breaks the link to its successor, which
 * `kensho audit-verify` reports.  The chain does not protect the last line
 * on its own: operators anchor the head (logged by kensho-fcgi at reload and
 * shutdown, printed by audit-verify) somewhere else.
 *
 * What a record holds: time, request id, SHA-256 of the submitted bytes, the
 * signer certificate's SHA-256 fingerprint, indication and subindication, the
 * revocation sources with their thisUpdate and the policy in force.  Never a
 * subject, never the JPKI items: the fingerprint identifies the certificate
 * for whoever holds it, and nobody else.
 *
 * Concurrency: a mutex serialises the threads of one process; flock(LOCK_EX)
 * serialises processes (two kensho-fcgi on one file, or an old and a new
 * handle during a reload).  Under the lock the file size is compared with
 * the end of our last write; when someone else wrote in between, the last
 * line is read again so the chain continues from the true tail.
 *
 * fsync policy: KS_AUDIT_FSYNC_ALWAYS (the default) has every record on
 * disk before the verdict is answered: a verdict the caller saw has a
 * record on disk.  The disk work is a group commit: ks_audit_write only
 * takes the printed record into a queue, and its answer waits
 * (ks_audit_when_synced) for the thread that leads the next round: it
 * writes every record taken so far in one write() under one flock, linking
 * them as it goes, then one fdatasync covers them all.  Records taken while
 * a round is in flight go out in the next one.  An fdatasync costs
 * milliseconds here and each system call several microseconds, so a round
 * of a dozen records costs what one record would.  The wait is a callback,
 * not a sleeping thread: kensho-fcgi's workers leave the answer with it and
 * take the next request, and whoever leads the round sends the answers it
 * covered.  When the write or the fdatasync fails, every record of the
 * round is answered KS_E_IO and, when nobody else appended after them,
 * taken back out of the file; the chain continues from the true tail.
 * KS_AUDIT_FSYNC_NEVER writes each record at once and leaves it to the page
 * cache (a power loss may lose the last records, never break the chain in
 * the middle: a torn last line is terminated and reported by audit-verify).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "internal.h"

#define KS_AUDIT_MAX_LINE (1024 * 1024) /* our records are a few KiB */
#define KS_AUDIT_ZERO_HASH "0000000000000000000000000000000000000000000000000000000000000000"
#define KS_AUDIT_RECENT 1024
#define KS_AUDIT_CLOSED_MAX 16 /* closed files kept for audit.anchor_url until taken */
#define KS_AUDIT_PREV_OPEN "{\"prev\":\"" /* how every record begins (ks_audit_record) */

struct ks_audit {
    pthread_mutex_t mu;
    int fd;
    ks_audit_fsync fsync_policy;
    off_t end;        /* file size after our last write or tail read */
    char head[65];    /* SHA-256 hex of the last line */
    char *path;
    /* records taken, not yet written: whole lines, "prev" still zeros */
    char *queue;
    size_t queue_len, queue_cap;
    unsigned long long queued;         /* records taken by this handle (the tickets) */
    /* group commit (KS_AUDIT_FSYNC_ALWAYS); all under mu */
    ks_audit_wait *waits;              /* records someone waits for, not yet synced */
    int syncing;                       /* a thread leads the group commit */
    unsigned long long syncs;          /* fdatasyncs done (ks_audit_stats) */
    unsigned long long written;        /* records written or failed, of those taken */
    unsigned long long synced;         /* records covered by a sync, or failed */
    unsigned long long failed;         /* records up to this one failed */
    off_t unsynced_from;               /* offset of the first record not yet synced */
    /* the chain across files (rotation) */
    ks_audit_rotation rot;
    unsigned long long seq;            /* "seq" of the file's last line (0: empty chain) */
    unsigned long long first_seq;      /* "seq" of the open file's first line */
    unsigned long long file_seq;       /* the open file's place in the chain, from 1 */
    time_t file_start;                 /* "time" of the open file's first line */
    time_t queue_time;                 /* "time" of the newest record taken */
    time_t queue_first;                /* "time" of the first record in the queue */
    dev_t dev;                         /* identity of the open file, to notice */
    ino_t ino;                         /*   a rename or replacement from outside */
    char *out;                         /* lines as written: prefix + queued body */
    size_t out_cap;
    /* The line hash and "seq" of the latest records written, by ticket, for
     * signed verdicts (ks_audit_record_hash): a ring, so a record's entry
     * lasts for KS_AUDIT_RECENT records written after it. */
    struct {
        unsigned long long ticket, seq;
        char hash[65];
    } recent[KS_AUDIT_RECENT];
    /* Files the chain moved on from, not yet taken (ks_audit_take_closed). */
    ks_audit_closed closed[KS_AUDIT_CLOSED_MAX];
    size_t nclosed;
    unsigned long long closed_dropped;
};

static int ks_sha256_hex(const void *p, size_t n, char out[65])
{
    uint8_t md[32];
    unsigned int mdlen = 0;
    if (EVP_Digest(p, n, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32) {
        ks_log_openssl("EVP_Digest");
        return 0;
    }
    ks_hex_encode(md, 32, out);
    return 1;
}

static ks_result ks_pread_all(int fd, void *buf, size_t n, off_t off)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(fd, (char *)buf + got, n - got, off + (off_t)got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return KS_E_IO;
        got += (size_t)r;
    }
    return KS_OK;
}

static ks_result ks_write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return KS_E_IO;
        p += w;
        n -= (size_t)w;
    }
    return KS_OK;
}

/* "seq" of a line; 0 when it has none (a log from before rotation). */
static unsigned long long ks_audit_seq_of(const cJSON *rec)
{
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(rec, "seq");
    return cJSON_IsNumber(s) && s->valuedouble >= 1 && s->valuedouble < 9007199254740992.0
               ? (unsigned long long)s->valuedouble
               : 0;
}

/* Lines in the open file: what "seq" continues from when the last line
 * has none (written before records were numbered). */
static ks_result ks_audit_count_lines(ks_audit *a, unsigned long long *n)
{
    char buf[65536];
    off_t off = 0;
    *n = 0;
    for (;;) {
        ssize_t r = pread(a->fd, buf, sizeof buf, off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return KS_E_IO;
        if (r == 0)
            return KS_OK;
        for (char *p = buf, *end = buf + r; (p = memchr(p, '\n', (size_t)(end - p))) != NULL; p++)
            (*n)++;
        off += r;
    }
}

/* a->seq from the file's last line. */
static ks_result ks_audit_line_seq(ks_audit *a, const char *line, size_t n)
{
    cJSON *rec = cJSON_ParseWithLength(line, n);
    a->seq = ks_audit_seq_of(rec);
    cJSON_Delete(rec);
    return a->seq != 0 ? KS_OK : ks_audit_count_lines(a, &a->seq);
}

/* The open file's place in the chain, from its first line: a file that
 * kensho started after another begins with a "rotation" record naming its
 * file_seq; any other file is the first (1). */
static ks_result ks_audit_read_first(ks_audit *a)
{
    char buf[4096];
    ssize_t r;
    a->file_seq = 1;
    a->first_seq = a->seq + 1;
    a->file_start = 0;
    while ((r = pread(a->fd, buf, sizeof buf - 1, 0)) < 0 && errno == EINTR)
        ;
    if (r < 0)
        return KS_E_IO;
    char *nl = memchr(buf, '\n', (size_t)r);
    if (nl == NULL)
        return KS_OK; /* empty; or a first line longer than a special record */
    cJSON *rec = cJSON_ParseWithLength(buf, (size_t)(nl - buf));
    const cJSON *fs = cJSON_GetObjectItemCaseSensitive(rec, "file_seq");
    if (cJSON_IsNumber(fs) && fs->valuedouble >= 1 && fs->valuedouble < 1e15)
        a->file_seq = (unsigned long long)fs->valuedouble;
    a->first_seq = ks_audit_seq_of(rec) ? ks_audit_seq_of(rec) : 1;
    const char *t = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(rec, "time"));
    if (t == NULL || ks_time_parse(t, &a->file_start) != KS_OK)
        a->file_start = 0;
    cJSON_Delete(rec);
    return KS_OK;
}

/*
 * Reads the last line of the file (size `size`) and sets a->head to its
 * hash.  A file that does not end in a newline was torn by a crash: the
 * torn bytes are terminated with a newline and chained like any line, so
 * audit-verify shows where it happened instead of the gap disappearing.
 */
static ks_result ks_audit_read_tail(ks_audit *a, off_t size, char **errmsg)
{
    ks_result ret = KS_E_IO;
    char *buf = NULL;
    if (size == 0) {
        memcpy(a->head, KS_AUDIT_ZERO_HASH, 65);
        a->end = 0;
        a->seq = 0;
        return KS_OK;
    }
    size_t want = (size_t)size < KS_AUDIT_MAX_LINE + 1 ? (size_t)size : KS_AUDIT_MAX_LINE + 1;
    if ((buf = malloc(want)) == NULL) {
        ret = KS_E_NOMEM;
        goto done;
    }
    if (ks_pread_all(a->fd, buf, want, size - (off_t)want) != KS_OK) {
        *errmsg = strdup("cannot read the end of the audit log");
        goto done;
    }
    size_t stop = want;
    if (buf[want - 1] == '\n') {
        stop = want - 1;
    } else {
        ks_log(KS_LOG_WARN, "audit: %s ends in a torn line; terminating it", a->path);
        if (ks_write_all(a->fd, "\n", 1) != KS_OK) {
            *errmsg = strdup("cannot terminate the torn last line of the audit log");
            goto done;
        }
        size++;
    }
    size_t start = stop;
    while (start > 0 && buf[start - 1] != '\n')
        start--;
    if (start == 0 && (size_t)size > want) {
        *errmsg = strdup("the last line of the audit log is longer than 1 MiB");
        ret = KS_E_LIMIT;
        goto done;
    }
    if (!ks_sha256_hex(buf + start, stop - start, a->head)) {
        ret = KS_E_INTERNAL;
        goto done;
    }
    a->end = size;
    ret = ks_audit_line_seq(a, buf + start, stop - start);
done:
    free(buf);
    return ret;
}

ks_result ks_audit_open(const char *path, ks_audit_fsync policy, ks_audit **out, char **errmsg)
{
    ks_result ret = KS_E_IO;
    ks_audit *a = NULL;
    struct stat st;
    int locked = 0;
    *out = NULL;
    *errmsg = NULL;
    if (path == NULL || path[0] == '\0') {
        *errmsg = strdup("no audit log path");
        return KS_E_CONFIG;
    }
    if ((a = calloc(1, sizeof *a)) == NULL || (a->path = strdup(path)) == NULL) {
        ret = KS_E_NOMEM;
        goto done;
    }
    a->fd = -1;
    a->fsync_policy = policy;
    if (pthread_mutex_init(&a->mu, NULL) != 0) {
        free(a->path);
        free(a);
        a = NULL;
        ret = KS_E_INTERNAL;
        goto done;
    }
    /* Read-write: the tail is read back to continue the chain. */
    a->fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
    if (a->fd < 0 || flock(a->fd, LOCK_EX) != 0 || fstat(a->fd, &st) != 0) {
        char buf[512];
        snprintf(buf, sizeof buf, "%s: %s", path, strerror(errno));
        *errmsg = strdup(buf);
        goto done;
    }
    locked = 1;
    if (!S_ISREG(st.st_mode)) {
        char buf[512];
        snprintf(buf, sizeof buf, "%s: not a regular file", path);
        *errmsg = strdup(buf);
        goto done;
    }
    if ((ret = ks_audit_read_tail(a, st.st_size, errmsg)) != KS_OK || (ret = ks_audit_read_first(a)) != KS_OK)
        goto done;
    a->dev = st.st_dev;
    a->ino = st.st_ino;
    *out = a;
    a = NULL;
    ret = KS_OK;
done:
    if (locked && a != NULL)
        flock(a->fd, LOCK_UN);
    if (locked && *out != NULL)
        flock((*out)->fd, LOCK_UN);
    if (ret != KS_OK && *errmsg == NULL)
        *errmsg = strdup(ks_result_message(ret));
    ks_audit_close(a);
    return ret;
}

/* ---------------- writing: lines, rotation, outside changes ---------------- */

/* Appends one line to a->out: the chain's prefix, then `body` (a record
 * printed without its opening brace, ending in "}\n").  *head and *seq move
 * on to this line; the caller commits them once the write succeeded. */
static ks_result ks_audit_emit(ks_audit *a, size_t *len, const char *body, size_t blen, char head[65],
                               unsigned long long *seq)
{
    char prefix[128];
    int plen = snprintf(prefix, sizeof prefix, KS_AUDIT_PREV_OPEN "%s\",\"seq\":%llu,", head, *seq + 1);
    if (plen < 0 || (size_t)plen >= sizeof prefix)
        return KS_E_INTERNAL;
    size_t need = *len + (size_t)plen + blen;
    if (need > a->out_cap) {
        size_t cap = a->out_cap ? a->out_cap : 16384;
        while (cap < need)
            cap *= 2;
        char *o = realloc(a->out, cap);
        if (o == NULL)
            return KS_E_NOMEM;
        a->out = o;
        a->out_cap = cap;
    }
    char *line = a->out + *len;
    memcpy(line, prefix, (size_t)plen);
    memcpy(line + plen, body, blen);
    if (!ks_sha256_hex(line, (size_t)plen + blen - 1, head)) /* without its newline */
        return KS_E_INTERNAL;
    *len = need;
    (*seq)++;
    return KS_OK;
}

/* A record kensho writes about the chain itself: "rotation" (the first line
 * of every file after the first: it commits to the file before, its head,
 * last seq and line count) or "break" (this file was truncated or replaced
 * from outside; what was seen and what was expected).  Printed as a body
 * for ks_audit_emit. */
typedef struct {
    unsigned long long file_seq, last_seq, records;
    char head[65];
} ks_audit_prev;

/* What the open file's chain is now: for a "rotation" record. */
static void ks_audit_prev_now(const ks_audit *a, ks_audit_prev *p)
{
    p->file_seq = a->file_seq;
    p->last_seq = a->seq;
    p->records = a->seq >= a->first_seq ? a->seq - a->first_seq + 1 : 0;
    memcpy(p->head, a->head, 65);
}

static char *ks_audit_special(ks_audit *a, const char *kind, const char *reason, unsigned long long file_seq,
                              const ks_audit_prev *pv, off_t expected, off_t found, size_t *blen)
{
    char t[32];
    char *line = NULL;
    cJSON *o = cJSON_CreateObject(), *prev = NULL;
    ks_time_format(a->queue_time, t, sizeof t);
    if (o == NULL || cJSON_AddStringToObject(o, "time", t) == NULL || cJSON_AddStringToObject(o, "kind", kind) == NULL ||
        cJSON_AddStringToObject(o, "reason", reason) == NULL ||
        cJSON_AddNumberToObject(o, "file_seq", (double)file_seq) == NULL ||
        (prev = cJSON_AddObjectToObject(o, strcmp(kind, "break") == 0 ? "expected" : "previous")) == NULL ||
        cJSON_AddNumberToObject(prev, "file_seq", (double)pv->file_seq) == NULL ||
        cJSON_AddNumberToObject(prev, "last_seq", (double)pv->last_seq) == NULL ||
        cJSON_AddNumberToObject(prev, "records", (double)pv->records) == NULL ||
        cJSON_AddStringToObject(prev, "head", pv->head) == NULL ||
        (expected >= 0 && (cJSON_AddNumberToObject(o, "expected_bytes", (double)expected) == NULL ||
                           cJSON_AddNumberToObject(o, "found_bytes", (double)found) == NULL)) ||
        (line = cJSON_PrintUnformatted(o)) == NULL)
        goto done;
    size_t n = strlen(line);
    memmove(line, line + 1, n - 1); /* drop "{": ks_audit_emit writes the prefix */
    line[n - 1] = '\n';
    *blen = n;
done:
    cJSON_Delete(o);
    return line;
}

/* Writes one special record as the next line of the open file (under its
 * lock), at offset a->end. */
static ks_result ks_audit_write_special(ks_audit *a, const char *kind, const char *reason,
                                        unsigned long long file_seq, const ks_audit_prev *pv, off_t expected,
                                        off_t found)
{
    size_t blen = 0, len = 0;
    char head[65];
    unsigned long long seq = a->seq;
    char *body = ks_audit_special(a, kind, reason, file_seq, pv, expected, found, &blen);
    ks_result r = KS_E_NOMEM;
    memcpy(head, a->head, 65);
    if (body != NULL && (r = ks_audit_emit(a, &len, body, blen, head, &seq)) == KS_OK &&
        (r = ks_write_all(a->fd, a->out, len)) == KS_OK) {
        a->file_seq = file_seq;
        if (a->end == 0) { /* the file's first line */
            a->first_seq = seq;
            a->file_start = a->queue_time;
        }
        memcpy(a->head, head, 65);
        a->seq = seq;
        a->end += (off_t)len;
    }
    free(body);
    return r;
}

/* The directory entry of `path` made durable (rename, link). */
static void ks_audit_sync_dir(const char *path)
{
    char *dir = strdup(path), *slash = dir ? strrchr(dir, '/') : NULL;
    if (dir != NULL) {
        if (slash == dir)
            slash[1] = '\0';
        else if (slash != NULL)
            *slash = '\0';
        int fd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd >= 0) {
            (void)fsync(fd);
            close(fd);
        }
    }
    free(dir);
}

/*
 * Moves the chain on to a new file at a->path, with a->fd locked (flock)
 * and a->mu held.  `reason`: "size" or "age" (kensho rotates: the open file
 * keeps its name with ".<file_seq>" added, by link(), so the path never
 * stops naming a file), or "replaced" (the path names another file or none
 * since someone renamed or removed ours: it is opened, or created).  The
 * new file's first line, the "rotation" record, commits to the old file's
 * head, last seq and line count before anyone else can append to it: it is
 * written under a temporary name and renamed into place, locked.  Returns
 * with the new file open and locked.
 */
static ks_result ks_audit_switch(ks_audit *a, const char *reason)
{
    ks_result ret = KS_E_IO;
    char *tmp = NULL, *old_name = NULL;
    int fd = -1, own = strcmp(reason, "replaced") != 0, use_tmp = 0;
    struct stat st;
    size_t plen = strlen(a->path) + 64;
    if ((tmp = malloc(plen)) == NULL || (old_name = malloc(plen)) == NULL) {
        ret = KS_E_NOMEM;
        goto done;
    }
    snprintf(old_name, plen, "%s.%llu", a->path, a->file_seq);
    snprintf(tmp, plen, "%s.new-%ld", a->path, (long)getpid());
    if (own && link(a->path, old_name) != 0 &&
        (errno != EEXIST || stat(old_name, &st) != 0 || st.st_dev != a->dev || st.st_ino != a->ino)) {
        /* EEXIST for our own file: a rotation that failed after the link */
        ks_log(KS_LOG_ERR, "audit: rotate %s to %s: %s", a->path, old_name, strerror(errno));
        goto done;
    }
    if (!own) {
        /* Someone else's file may already be there (logrotate's "create",
         * or another kensho that noticed first): continue it when it is
         * ours, i.e. begins with our chain. */
        fd = open(a->path, O_RDWR | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
        if (fd >= 0) {
            if (flock(fd, LOCK_EX) != 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
                close(fd);
                fd = -1;
                goto done;
            }
            if (st.st_size > 0) {
                close(a->fd);
                a->fd = fd;
                fd = -1;
                a->dev = st.st_dev;
                a->ino = st.st_ino;
                char *err = NULL;
                if ((ret = ks_audit_read_tail(a, st.st_size, &err)) == KS_OK)
                    ret = ks_audit_read_first(a);
                if (ret != KS_OK)
                    ks_log(KS_LOG_ERR, "audit: %s: %s", a->path, err ? err : ks_result_message(ret));
                free(err);
                goto done;
            }
            /* empty: write our rotation record into it, in place */
        }
    }
    if (fd < 0) {
        (void)unlink(tmp); /* a leftover of a crashed rotation */
        use_tmp = 1;
        fd = open(tmp, O_RDWR | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0640);
        if (fd < 0 || flock(fd, LOCK_EX) != 0) {
            ks_log(KS_LOG_ERR, "audit: create %s: %s", tmp, strerror(errno));
            goto done;
        }
    }
    ks_audit_prev pv;
    ks_audit_prev_now(a, &pv);
    int old_fd = a->fd;
    off_t old_end = a->end;
    unsigned long long old_file_seq = a->file_seq, old_first = a->first_seq;
    time_t old_start = a->file_start;
    a->fd = fd;
    a->end = 0;
    if ((ret = ks_audit_write_special(a, "rotation", reason, a->file_seq + 1, &pv, -1, 0)) != KS_OK ||
        fdatasync(fd) != 0 || fstat(fd, &st) != 0 || (use_tmp && rename(tmp, a->path) != 0)) {
        ks_log(KS_LOG_ERR, "audit: start %s: %s", a->path, strerror(errno));
        /* The old file goes on; our rotation record, if written, is in a
         * file nobody names or in the empty one we found. */
        a->fd = old_fd;
        a->end = old_end;
        a->file_seq = old_file_seq;
        a->first_seq = old_first;
        a->file_start = old_start;
        a->seq = pv.last_seq;
        memcpy(a->head, pv.head, 65);
        ret = KS_E_IO;
        goto done;
    }
    ks_audit_sync_dir(a->path);
    flock(old_fd, LOCK_UN);
    close(old_fd);
    /* Its final head, for audit.anchor_url (taken by kensho-fcgi, never
     * waited for here): a bounded list, the oldest dropped first. */
    if (a->nclosed == KS_AUDIT_CLOSED_MAX) {
        memmove(&a->closed[0], &a->closed[1], (KS_AUDIT_CLOSED_MAX - 1) * sizeof a->closed[0]);
        a->nclosed--;
        a->closed_dropped++;
    }
    a->closed[a->nclosed++] = (ks_audit_closed){.file_seq = pv.file_seq, .last_seq = pv.last_seq,
                                                .records = pv.records};
    memcpy(a->closed[a->nclosed - 1].head, pv.head, 65);
    fd = -1;
    a->dev = st.st_dev;
    a->ino = st.st_ino;
    ks_log(KS_LOG_INFO, "audit: %s continues the chain in file %llu (%s); the previous file is %s", a->path,
           a->file_seq, reason, own ? old_name : "named by whoever moved it");
    /* audit.keep: rotated files beyond it go, oldest first. */
    for (unsigned long long k = a->file_seq; own && a->rot.keep > 0 && k > (unsigned long long)a->rot.keep + 1; k--) {
        snprintf(old_name, plen, "%s.%llu", a->path, k - (unsigned long long)a->rot.keep - 1);
        if (unlink(old_name) != 0)
            break;
    }
    ret = KS_OK;
done:
    if (fd >= 0) {
        close(fd);
        if (use_tmp)
            (void)unlink(tmp);
    }
    free(tmp);
    free(old_name);
    return ret;
}

/*
 * Before a write, with a->fd locked: the file must still be the one we
 * wrote, at least as long as we left it.  Shorter (copytruncate, "> file")
 * means records are gone from outside: a "break" record says so, with the
 * sizes, before anything else is written, and audit-verify reports it.  A
 * path that names another file, or none, continues the chain in the file
 * now at the path (ks_audit_switch "replaced").  Then rotation by size or
 * age.  *size is the file's size after all that.
 */
static ks_result ks_audit_prepare(ks_audit *a, off_t *size)
{
    struct stat st, ps;
    ks_result r;
    if (fstat(a->fd, &st) != 0)
        return KS_E_IO;
    if (stat(a->path, &ps) != 0 || ps.st_dev != a->dev || ps.st_ino != a->ino) {
        if ((r = ks_audit_switch(a, "replaced")) != KS_OK || fstat(a->fd, &st) != 0)
            return r != KS_OK ? r : KS_E_IO;
    } else if (a->end >= 0 && st.st_size < a->end) {
        ks_log(KS_LOG_ERR, "audit: %s was truncated from outside (%lld bytes, %lld expected); recording the break",
               a->path, (long long)st.st_size, (long long)a->end);
        ks_audit_prev pv;
        ks_audit_prev_now(a, &pv); /* what the file held when we last wrote */
        off_t expected = a->end;
        unsigned long long seq = a->seq;
        if (st.st_size > 0) { /* chain on from what is left (a torn line is terminated) */
            char *err = NULL;
            r = ks_audit_read_tail(a, st.st_size, &err);
            free(err);
            if (r != KS_OK)
                return r;
        } else {
            a->end = 0;
        }
        a->seq = seq > a->seq ? seq : a->seq; /* numbers never go back */
        if ((r = ks_audit_write_special(a, "break", "truncated outside kensho", a->file_seq, &pv, expected,
                                        st.st_size)) != KS_OK)
            return r;
        if (fstat(a->fd, &st) != 0)
            return KS_E_IO;
    } else if (st.st_size != a->end) { /* someone else appended, or a write of ours was torn */
        char *err = NULL;
        r = ks_audit_read_tail(a, st.st_size, &err);
        if (r != KS_OK) {
            ks_log(KS_LOG_ERR, "audit: %s: %s", a->path, err ? err : ks_result_message(r));
            free(err);
            return r;
        }
        if (a->first_seq > a->seq && (r = ks_audit_read_first(a)) != KS_OK)
            return r;
        st.st_size = a->end; /* a torn last line was just terminated */
    }
    int by_size = a->rot.rotate_bytes > 0 && st.st_size > 0 &&
                  (unsigned long long)st.st_size + a->queue_len > a->rot.rotate_bytes;
    int by_age = a->rot.rotate_seconds > 0 && st.st_size > 0 && a->file_start > 0 &&
                 a->queue_time - a->file_start >= a->rot.rotate_seconds;
    /* A rotation that fails leaves the chain in the open file: records go
     * on (the error is logged), the next write tries again. */
    if ((by_size || by_age) && ks_audit_switch(a, by_size ? "size" : "age") == KS_OK && fstat(a->fd, &st) != 0)
        return KS_E_IO;
    *size = st.st_size;
    return KS_OK;
}

/*
 * Writes every record taken so far in one write() under the file lock,
 * each line chained to the one before ("prev") and numbered ("seq"): the
 * first to the file's true tail (re-read when someone else appended since
 * our last write), the others to the record before them.  With a->mu held.
 * On failure nothing of the batch stays in the file; either way the queue
 * is empty after.
 */
static ks_result ks_audit_flush(ks_audit *a)
{
    ks_result ret = KS_E_IO;
    off_t size = 0;
    char head[65];
    unsigned long long seq;
    size_t len = 0;
    if (a->queue_len == 0)
        return KS_OK;
    if (flock(a->fd, LOCK_EX) != 0) {
        ks_log(KS_LOG_ERR, "audit: lock %s: %s", a->path, strerror(errno));
        goto done;
    }
    if ((ret = ks_audit_prepare(a, &size)) != KS_OK) {
        ks_log(KS_LOG_ERR, "audit: %s: cannot continue the chain: %s", a->path, ks_result_message(ret));
        goto unlock;
    }
    memcpy(head, a->head, 65);
    seq = a->seq;
    unsigned long long nq = 0, ticket;
    for (const char *p = a->queue, *end = a->queue + a->queue_len; (p = memchr(p, '\n', (size_t)(end - p))) != NULL;
         p++)
        nq++;
    ticket = a->queued - nq; /* the queue holds the last nq tickets taken, in order */
    for (char *p = a->queue, *end = a->queue + a->queue_len; p < end;) {
        char *nl = memchr(p, '\n', (size_t)(end - p)); /* every queued body ends in one */
        if ((ret = ks_audit_emit(a, &len, p, (size_t)(nl + 1 - p), head, &seq)) != KS_OK)
            goto unlock;
        ticket++;
        a->recent[ticket % KS_AUDIT_RECENT].ticket = ticket;
        a->recent[ticket % KS_AUDIT_RECENT].seq = seq;
        memcpy(a->recent[ticket % KS_AUDIT_RECENT].hash, head, 65);
        p = nl + 1;
    }
    if ((ret = ks_write_all(a->fd, a->out, len)) != KS_OK) {
        ks_log(KS_LOG_ERR, "audit: write %s: %s", a->path, strerror(errno));
        /* Take back what reached the file (a disk full tears the line): a
         * record we answer 503 for must not stay, least of all half of it. */
        if (ftruncate(a->fd, size) != 0)
            a->end = -1; /* re-read the tail next time: the write may be torn */
        goto unlock;
    }
    memcpy(a->head, head, 65);
    if (size == 0) { /* the file's first lines */
        a->first_seq = a->seq + 1;
        a->file_start = a->queue_first;
    }
    a->seq = seq;
    a->unsynced_from = size; /* one round, one write: what its sync covers */
    a->end = size + (off_t)len;
    a->written = a->queued;
unlock:
    flock(a->fd, LOCK_UN);
done:
    a->queue_len = 0;
    return ret;
}

/* The caller of ks_audit_when_synced that finds no fdatasync in flight
 * leads: it writes every record taken so far (one batch), syncs them,
 * answers every wait that sync covered, and goes on while waits are left
 * (records taken during a sync wait for the next one).  Waiting threads do
 * not sleep and wake per record: they hand over their wait and go on.
 * Called and returns with a->mu held. */
static void ks_audit_lead(ks_audit *a)
{
    a->syncing = 1;
    while (a->waits != NULL) {
        unsigned long long target = a->queued;
        int ok = ks_audit_flush(a) == KS_OK;
        if (ok) {
            pthread_mutex_unlock(&a->mu);
            int rc = fdatasync(a->fd), err = errno;
            pthread_mutex_lock(&a->mu);
            a->syncs++;
            if (rc != 0) {
                ok = 0;
                ks_log(KS_LOG_ERR, "audit: fdatasync %s: %s", a->path, strerror(err));
                /* A record we answer 503 for must not stay: take the batch
                 * back out when nobody appended after it. */
                struct stat st;
                if (flock(a->fd, LOCK_EX) == 0) {
                    if (a->end >= 0 && fstat(a->fd, &st) == 0 && st.st_size == a->end &&
                        ftruncate(a->fd, a->unsynced_from) != 0)
                        ks_log(KS_LOG_ERR, "audit: truncate %s: %s", a->path, strerror(errno));
                    flock(a->fd, LOCK_UN);
                }
                a->end = -1; /* re-read the tail next time */
            }
        }
        if (ok) {
            a->synced = target;
        } else {
            a->written = a->failed = a->synced = target;
        }
        ks_audit_wait *ready = NULL, **pp = &a->waits;
        while (*pp != NULL) {
            ks_audit_wait *w = *pp;
            if (w->seq <= a->synced) {
                *pp = w->next;
                w->next = ready;
                ready = w;
            } else {
                pp = &w->next;
            }
        }
        unsigned long long failed = a->failed;
        pthread_mutex_unlock(&a->mu);
        while (ready != NULL) {
            ks_audit_wait *w = ready;
            ready = w->next; /* before done(): it may end w's lifetime */
            w->done(w->arg, w->seq <= failed ? KS_E_IO : KS_OK); /* failed: this batch failed */
        }
        pthread_mutex_lock(&a->mu);
    }
    a->syncing = 0;
}

void ks_audit_close(ks_audit *a)
{
    if (a == NULL)
        return;
    if (a->fd >= 0) {
        pthread_mutex_lock(&a->mu);
        (void)ks_audit_flush(a); /* records taken that nobody waited for */
        pthread_mutex_unlock(&a->mu);
        close(a->fd);
    }
    pthread_mutex_destroy(&a->mu);
    free(a->queue);
    free(a->out);
    free(a->path);
    free(a);
}

void ks_audit_when_synced(ks_audit *a, unsigned long long seq, ks_audit_wait *w)
{
    w->seq = seq;
    pthread_mutex_lock(&a->mu);
    if (seq <= a->synced) { /* 0, "nothing to wait for", lands here too */
        ks_result r = seq != 0 && seq <= a->failed ? KS_E_IO : KS_OK;
        pthread_mutex_unlock(&a->mu);
        w->done(w->arg, r);
        return;
    }
    w->next = a->waits;
    a->waits = w;
    if (!a->syncing)
        ks_audit_lead(a);
    pthread_mutex_unlock(&a->mu);
}

void ks_audit_head(ks_audit *a, char out[65])
{
    pthread_mutex_lock(&a->mu);
    memcpy(out, a->head, 65);
    pthread_mutex_unlock(&a->mu);
}

size_t ks_audit_take_closed(ks_audit *a, ks_audit_closed *out, size_t max, unsigned long long *dropped)
{
    pthread_mutex_lock(&a->mu);
    size_t n = a->nclosed < max ? a->nclosed : max;
    memcpy(out, a->closed, n * sizeof *out);
    memmove(&a->closed[0], &a->closed[n], (a->nclosed - n) * sizeof a->closed[0]);
    a->nclosed -= n;
    if (dropped != NULL)
        *dropped = a->closed_dropped;
    pthread_mutex_unlock(&a->mu);
    return n;
}

void ks_audit_stats(ks_audit *a, unsigned long long *records, unsigned long long *syncs)
{
    pthread_mutex_lock(&a->mu);
    *records = a->written;
    *syncs = a->syncs;
    pthread_mutex_unlock(&a->mu);
}

static int ks_add_hash(cJSON *o, const char *key, const ks_blob *b)
{
    char hex[65];
    return ks_sha256_hex(b->data != NULL ? (const void *)b->data : (const void *)"", b->len, hex) &&
           cJSON_AddStringToObject(o, key, hex) != NULL;
}

static const char *ks_str_field(const cJSON *o, const char *key)
{
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, key));
}

/* Copies from the verdict's "revocation" evidence only what says where the
 * status came from and how fresh it was: no names, no serials. */
static cJSON *ks_audit_revocation(const cJSON *verdict)
{
    static const char *const keep[] = {"source", "url", "file", "this_update", "status", NULL};
    cJSON *out = cJSON_CreateArray();
    const cJSON *ev = cJSON_GetObjectItemCaseSensitive(verdict, "revocation");
    const cJSON *it;
    if (out == NULL)
        return NULL;
    cJSON_ArrayForEach(it, ev)
    {
        if (!cJSON_IsObject(it))
            continue;
        cJSON *o = cJSON_CreateObject();
        if (o == NULL || !cJSON_AddItemToArray(out, o)) {
            cJSON_Delete(o);
            cJSON_Delete(out);
            return NULL;
        }
        for (const char *const *k = keep; *k; k++) {
            const char *v = ks_str_field(it, *k);
            if (v != NULL && cJSON_AddStringToObject(o, *k, v) == NULL) {
                cJSON_Delete(out);
                return NULL;
            }
        }
    }
    return out;
}

/* The record; "prev" is set when its batch is written (ks_audit_flush). */
static cJSON *ks_audit_record(const ks_audit_event *ev)
{
    char t[32];
    cJSON *o = cJSON_CreateObject();
    if (o == NULL)
        return NULL;
    ks_time_format(ev->time, t, sizeof t);
    int cert = ev->kind != NULL && strcmp(ev->kind, "certificate") == 0;
    const cJSON *v = ev->verdict;
    const cJSON *signer = cJSON_GetObjectItemCaseSensitive(v, "signer");
    const char *fp = ks_str_field(signer, "sha256");
    const char *ind = ks_str_field(v, "indication");
    const char *sub = ks_str_field(v, "subindication");
    cJSON *contents = NULL;
    /* "prev" and "seq" come first, written by the batch's writer
     * (ks_audit_emit), so a reader sees the link before the content. */
    if (cJSON_AddStringToObject(o, "time", t) == NULL ||
        cJSON_AddStringToObject(o, "request_id", ev->request_id ? ev->request_id : "") == NULL ||
        (ev->client_request_id != NULL &&
         cJSON_AddStringToObject(o, "client_request_id", ev->client_request_id) == NULL) ||
        cJSON_AddStringToObject(o, "kind", cert ? "certificate" : "signature") == NULL ||
        !ks_add_hash(o, cert ? "certificate_sha256" : "signature_sha256", ev->input) ||
        (contents = cJSON_AddArrayToObject(o, "content_sha256")) == NULL)
        goto fail;
    for (size_t i = 0; i < ev->n_contents; i++) {
        char hex[65];
        const ks_blob *b = &ev->contents[i];
        if (!ks_sha256_hex(b->data ? (const void *)b->data : (const void *)"", b->len, hex) ||
            !cJSON_AddItemToArray(contents, cJSON_CreateString(hex)))
            goto fail;
    }
    if ((fp ? cJSON_AddStringToObject(o, "signer_sha256", fp) : cJSON_AddNullToObject(o, "signer_sha256")) == NULL ||
        cJSON_AddStringToObject(o, "indication", ind ? ind : "TOTAL_FAILED") == NULL ||
        (sub ? cJSON_AddStringToObject(o, "subindication", sub) : cJSON_AddNullToObject(o, "subindication")) == NULL ||
        !cJSON_AddItemToObject(o, "revocation", ks_audit_revocation(v)) ||
        (ev->policy ? cJSON_AddRawToObject(o, "policy", ev->policy) : cJSON_AddNullToObject(o, "policy")) == NULL)
        goto fail;
    return o;
fail:
    cJSON_Delete(o);
    return NULL;
}

/* Appends a printed record (its newline included) to the queue. */
static ks_result ks_audit_take(ks_audit *a, const char *line, size_t len)
{
    if (a->queue_cap - a->queue_len < len) {
        size_t cap = a->queue_cap ? a->queue_cap : 16384;
        while (cap - a->queue_len < len)
            cap *= 2;
        char *q = realloc(a->queue, cap);
        if (q == NULL)
            return KS_E_NOMEM;
        a->queue = q;
        a->queue_cap = cap;
    }
    memcpy(a->queue + a->queue_len, line, len);
    a->queue_len += len;
    a->queued++;
    return KS_OK;
}

ks_result ks_audit_write(ks_audit *a, const ks_audit_event *ev, unsigned long long *ticket)
{
    unsigned long long record;
    return ks_audit_write_ticket(a, ev, ticket, &record);
}

ks_result ks_audit_record_hash(ks_audit *a, unsigned long long record, char hash[65], unsigned long long *seq)
{
    ks_result r = KS_E_UNAVAILABLE;
    pthread_mutex_lock(&a->mu);
    /* Only once written: an entry of a record still queued would be stale. */
    if (record != 0 && record <= a->written && a->failed < record &&
        a->recent[record % KS_AUDIT_RECENT].ticket == record) {
        memcpy(hash, a->recent[record % KS_AUDIT_RECENT].hash, 65);
        *seq = a->recent[record % KS_AUDIT_RECENT].seq;
        r = KS_OK;
    }
    pthread_mutex_unlock(&a->mu);
    return r;
}

ks_result ks_audit_write_ticket(ks_audit *a, const ks_audit_event *ev, unsigned long long *ticket,
                                unsigned long long *record)
{
    ks_result ret = KS_E_NOMEM;
    cJSON *rec = NULL;
    char *line = NULL;
    *ticket = 0;
    *record = 0;
    if (a == NULL)
        return KS_E_UNAVAILABLE;
    if ((rec = ks_audit_record(ev)) == NULL || (line = cJSON_PrintUnformatted(rec)) == NULL)
        goto done;
    /* The queue holds the record without its "{": the batch's writer puts
     * "prev" and "seq" in front (ks_audit_emit) and splits the queue at
     * newlines, which cJSON escapes inside strings. */
    size_t len = strlen(line);
    if (len < 2 || len > KS_AUDIT_MAX_LINE - 128 || line[0] != '{' || memchr(line, '\n', len) != NULL) {
        ret = KS_E_LIMIT;
        goto done;
    }
    line[len] = '\n'; /* replaces the NUL: the line and its end go out together */
    pthread_mutex_lock(&a->mu);
    if (ev->time > a->queue_time)
        a->queue_time = ev->time;
    if (a->queue_len == 0)
        a->queue_first = ev->time;
    ret = ks_audit_take(a, line + 1, len);
    if (ret == KS_OK)
        *record = a->queued;
    if (ret == KS_OK && a->fsync_policy == KS_AUDIT_FSYNC_NEVER) {
        /* Nothing to wait for: written at once, as the page cache takes it. */
        if ((ret = ks_audit_flush(a)) != KS_OK)
            a->queued = a->written; /* not added */
    } else if (ret == KS_OK) {
        *ticket = a->queued;
    }
    pthread_mutex_unlock(&a->mu);
done:
    free(line);
    cJSON_Delete(rec);
    return ret;
}

struct ks_audit_waiter {
    sem_t sem;
    ks_result r;
};

static void ks_audit_wake(void *arg, ks_result r)
{
    struct ks_audit_waiter *x = arg;
    x->r = r;
    sem_post(&x->sem);
}

ks_result ks_audit_synced(ks_audit *a, unsigned long long seq)
{
    struct ks_audit_waiter x = {.r = KS_E_INTERNAL};
    if (sem_init(&x.sem, 0, 0) != 0)
        return KS_E_INTERNAL;
    ks_audit_wait w = {.done = ks_audit_wake, .arg = &x};
    ks_audit_when_synced(a, seq, &w);
    while (sem_wait(&x.sem) != 0 && errno == EINTR)
        ;
    sem_destroy(&x.sem);
    return x.r;
}

ks_result ks_audit_append(ks_audit *a, const ks_audit_event *ev)
{
    unsigned long long seq = 0;
    ks_result r = ks_audit_write(a, ev, &seq);
    return r != KS_OK ? r : ks_audit_synced(a, seq);
}

/* ---------------- chain check (kensho audit-verify) ---------------- */

/* Reads one line (without '\n') into buf (cap bytes); returns its length,
 * -1 at EOF, -2 when longer than cap, -3 for a last line without '\n'. */
static long ks_read_line(FILE *f, char *buf, size_t cap)
{
    size_t n = 0;
    int c;
    while ((c = getc_unlocked(f)) != EOF) {
        if (c == '\n')
            return (long)n;
        if (n == cap)
            return -2;
        buf[n++] = (char)c;
    }
    return n == 0 ? -1 : -3;
}

/* One file of the chain, as audit-verify reads it. */
typedef struct {
    const char *path;
    unsigned long long file_seq, first_seq, last_seq, lines;
    char head[65];
    char first_prev[65];  /* "prev" of the first line */
    int starts_rotation;  /* the first line is a "rotation" record */
    ks_audit_prev rotated_from; /* its "previous" */
} ks_audit_file;

static ks_result ks_audit_problem(cJSON *problems, const char *kind, const char *path, unsigned long long line,
                                  const char *detail)
{
    cJSON *o = cJSON_CreateObject();
    if (o == NULL || cJSON_AddStringToObject(o, "kind", kind) == NULL ||
        cJSON_AddStringToObject(o, "path", path) == NULL || cJSON_AddNumberToObject(o, "line", (double)line) == NULL ||
        cJSON_AddStringToObject(o, "detail", detail) == NULL || !cJSON_AddItemToArray(problems, o)) {
        cJSON_Delete(o);
        return KS_E_NOMEM;
    }
    return KS_OK;
}

static unsigned long long ks_audit_num(const cJSON *o, const char *key)
{
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(n) && n->valuedouble >= 0 && n->valuedouble < 9007199254740992.0
               ? (unsigned long long)n->valuedouble
               : 0;
}

static void ks_audit_read_prev(const cJSON *o, ks_audit_prev *p)
{
    const char *h = ks_str_field(o, "head");
    p->file_seq = ks_audit_num(o, "file_seq");
    p->last_seq = ks_audit_num(o, "last_seq");
    p->records = ks_audit_num(o, "records");
    snprintf(p->head, sizeof p->head, "%s", h && strlen(h) == 64 ? h : "");
}

/* Reads one file: its links line by line (a "break" record is reported,
 * not followed), its numbering, and what its first line says of the file
 * before it. */
static ks_result ks_audit_scan(const char *path, char *buf, ks_audit_file *af, cJSON *problems)
{
    ks_result ret = KS_E_IO;
    char prev[65] = "", detail[256];
    unsigned long long seq = 0;
    FILE *f = fopen(path, "r");
    memset(af, 0, sizeof *af);
    af->path = path;
    af->file_seq = 1;
    if (f == NULL)
        return KS_E_IO;
    for (;;) {
        long n = ks_read_line(f, buf, KS_AUDIT_MAX_LINE);
        const char *why = NULL, *kind = "broken_link";
        if (n == -1)
            break;
        af->lines++;
        if (n < 0) {
            ret = ks_audit_problem(problems, "torn", path, af->lines,
                                   n == -2 ? "line longer than 1 MiB" : "last line is not terminated (torn write)");
            if (ret != KS_OK)
                goto done;
            break;
        }
        cJSON *rec = cJSON_ParseWithLength(buf, (size_t)n);
        const char *p = ks_str_field(rec, "prev"), *rk = ks_str_field(rec, "kind");
        unsigned long long rs = ks_audit_seq_of(rec);
        int is_break = rk != NULL && strcmp(rk, "break") == 0;
        if (rec == NULL || !cJSON_IsObject(rec)) {
            why = "not a JSON object";
        } else if (p == NULL || strlen(p) != 64) {
            why = "no \"prev\" field";
        } else if (af->lines == 1) {
            memcpy(af->first_prev, p, 65);
            af->first_seq = rs;
            if (rk != NULL && (strcmp(rk, "rotation") == 0 || is_break)) {
                af->file_seq = ks_audit_num(rec, "file_seq") ? ks_audit_num(rec, "file_seq") : 1;
                af->starts_rotation = !is_break;
                ks_audit_read_prev(cJSON_GetObjectItemCaseSensitive(rec, is_break ? "expected" : "previous"),
                                   &af->rotated_from);
            } else if (strcmp(p, KS_AUDIT_ZERO_HASH) != 0) {
                why = "first line's prev is not 64 zeros";
            }
        } else if (!is_break && strcmp(p, prev) != 0) {
            why = "prev does not match the SHA-256 of the line before";
        } else if (rs != 0 && seq != 0 && (is_break ? rs <= seq : rs != seq + 1)) {
            kind = "gap";
            snprintf(detail, sizeof detail, "seq %llu follows seq %llu", rs, seq);
            why = detail;
        }
        if (why == NULL && is_break) {
            snprintf(detail, sizeof detail,
                     "the file was truncated outside kensho: %lld bytes found where %lld were written "
                     "(records after seq %llu of the file before the break may be lost)",
                     (long long)ks_audit_num(rec, "found_bytes"), (long long)ks_audit_num(rec, "expected_bytes"),
                     ks_audit_num(cJSON_GetObjectItemCaseSensitive(rec, "expected"), "last_seq"));
            kind = "break";
            why = detail;
        }
        cJSON_Delete(rec);
        if (why != NULL && (ret = ks_audit_problem(problems, kind, path, af->lines, why)) != KS_OK)
            goto done;
        if (!ks_sha256_hex(buf, (size_t)n, prev)) {
            ret = KS_E_INTERNAL;
            goto done;
        }
        seq = rs != 0 ? rs : seq + 1;
    }
    if (ferror(f))
        goto done;
    memcpy(af->head, af->lines ? prev : KS_AUDIT_ZERO_HASH, 65);
    af->last_seq = seq;
    ret = KS_OK;
done:
    fclose(f);
    return ret;
}

static int ks_audit_file_cmp(const void *x, const void *y)
{
    const ks_audit_file *a = x, *b = y;
    if (a->file_seq != b->file_seq)
        return a->file_seq < b->file_seq ? -1 : 1;
    return a->first_seq < b->first_seq ? -1 : a->first_seq > b->first_seq;
}

/* How file b (file_seq one more than a's) commits to file a. */
static const char *ks_audit_link_problem(const ks_audit_file *a, const ks_audit_file *b, const char **kind)
{
    const ks_audit_prev *p = &b->rotated_from;
    *kind = "broken_link";
    if (!b->starts_rotation)
        return "does not begin with a rotation record";
    if (p->file_seq != a->file_seq || strcmp(b->first_prev, p->head) != 0)
        return "its rotation record does not name the file before";
    if (a->lines < p->records || a->last_seq < p->last_seq) {
        *kind = "truncated";
        return "the file before holds fewer records than the rotation record counted";
    }
    if (strcmp(a->head, p->head) != 0 || a->lines != p->records || a->last_seq != p->last_seq)
        return "the file before does not end where the rotation record says";
    return NULL;
}

/* A directory's regular files, or the paths as given. */
static ks_result ks_audit_expand(const char *const *paths, size_t n, char ***out, size_t *nout)
{
    struct stat st;
    size_t cap = n + 16, k = 0;
    char **v = calloc(cap, sizeof *v);
    if (v == NULL)
        return KS_E_NOMEM;
    for (size_t i = 0; i < n; i++) {
        DIR *d = stat(paths[i], &st) == 0 && S_ISDIR(st.st_mode) ? opendir(paths[i]) : NULL;
        struct dirent *de;
        if (d == NULL) {
            if (k == cap)
                goto nomem;
            if ((v[k++] = strdup(paths[i])) == NULL)
                goto nomem;
            continue;
        }
        while ((de = readdir(d)) != NULL) {
            char *full = NULL;
            if (de->d_name[0] == '.' || asprintf(&full, "%s/%s", paths[i], de->d_name) < 0)
                continue;
            if (stat(full, &st) != 0 || !S_ISREG(st.st_mode) || strstr(de->d_name, ".new-") != NULL) {
                free(full); /* ".new-": a rotation's temporary file */
                continue;
            }
            if (k == cap) {
                char **nv = realloc(v, 2 * cap * sizeof *v);
                if (nv == NULL) {
                    free(full);
                    closedir(d);
                    goto nomem;
                }
                v = nv;
                cap *= 2;
            }
            v[k++] = full;
        }
        closedir(d);
    }
    *out = v;
    *nout = k;
    return KS_OK;
nomem:
    for (size_t i = 0; i < k; i++)
        free(v[i]);
    free(v);
    return KS_E_NOMEM;
}

ks_result ks_audit_check(const char *const *paths, size_t n, cJSON **report, char **errpath)
{
    ks_result ret = KS_E_NOMEM;
    char *buf = NULL, **files = NULL;
    size_t nfiles = 0;
    ks_audit_file *af = NULL;
    cJSON *rep = NULL, *problems = NULL, *list = NULL;
    unsigned long long total = 0;
    *report = NULL;
    *errpath = NULL;
    if ((buf = malloc(KS_AUDIT_MAX_LINE)) == NULL || (rep = cJSON_CreateObject()) == NULL ||
        (ret = ks_audit_expand(paths, n, &files, &nfiles)) != KS_OK)
        goto done;
    ret = KS_E_NOMEM;
    if ((af = calloc(nfiles ? nfiles : 1, sizeof *af)) == NULL || (problems = cJSON_CreateArray()) == NULL)
        goto done;
    for (size_t i = 0; i < nfiles; i++) {
        if ((ret = ks_audit_scan(files[i], buf, &af[i], problems)) != KS_OK) {
            if (ret == KS_E_IO)
                *errpath = strdup(files[i]);
            goto done;
        }
        total += af[i].lines;
    }
    qsort(af, nfiles, sizeof *af, ks_audit_file_cmp);
    for (size_t i = 1; i < nfiles; i++) {
        const ks_audit_file *a = &af[i - 1], *b = &af[i];
        char d[256];
        const char *kind = NULL, *why = NULL;
        if (b->file_seq == a->file_seq) {
            kind = "fork";
            snprintf(d, sizeof d, "two files claim file %llu of the chain (the other is %s)", b->file_seq, a->path);
            why = d;
        } else if (b->file_seq > a->file_seq + 1) {
            kind = "missing_file";
            snprintf(d, sizeof d, "files %llu to %llu of the chain are missing", a->file_seq + 1, b->file_seq - 1);
            why = d;
        } else {
            why = ks_audit_link_problem(a, b, &kind);
        }
        if (why != NULL && (ret = ks_audit_problem(problems, kind, b->path, 1, why)) != KS_OK)
            goto done;
    }
    if (nfiles == 0 && (ret = ks_audit_problem(problems, "missing_file", n ? paths[0] : "", 0, "no audit file")) != KS_OK)
        goto done;
    ret = KS_E_NOMEM;
    const cJSON *first = cJSON_GetArrayItem(problems, 0);
    if ((list = cJSON_AddArrayToObject(rep, "files")) == NULL ||
        !cJSON_AddBoolToObject(rep, "intact", first == NULL) ||
        !cJSON_AddNumberToObject(rep, "lines", (double)total) ||
        !cJSON_AddStringToObject(rep, "head", nfiles ? af[nfiles - 1].head : KS_AUDIT_ZERO_HASH) ||
        !cJSON_AddNumberToObject(rep, "first_file_seq", nfiles ? (double)af[0].file_seq : 0))
        goto done;
    for (size_t i = 0; i < nfiles; i++) {
        cJSON *o = cJSON_CreateObject();
        if (o == NULL || !cJSON_AddItemToArray(list, o) || !cJSON_AddStringToObject(o, "path", af[i].path) ||
            !cJSON_AddNumberToObject(o, "file_seq", (double)af[i].file_seq) ||
            !cJSON_AddNumberToObject(o, "lines", (double)af[i].lines) ||
            !cJSON_AddNumberToObject(o, "first_seq", (double)af[i].first_seq) ||
            !cJSON_AddNumberToObject(o, "last_seq", (double)af[i].last_seq) ||
            !cJSON_AddStringToObject(o, "head", af[i].head))
            goto done;
    }
    if (first != NULL && (!cJSON_AddNumberToObject(rep, "line", ks_audit_num(first, "line")) ||
                          !cJSON_AddStringToObject(rep, "reason", ks_str_field(first, "detail"))))
        goto done;
    if (!cJSON_AddItemToObject(rep, "problems", problems))
        goto done;
    problems = NULL;
    *report = rep;
    rep = NULL;
    ret = KS_OK;
done:
    for (size_t i = 0; i < nfiles; i++)
        free(files[i]);
    free(files);
    free(af);
    free(buf);
    cJSON_Delete(problems);
    cJSON_Delete(rep);
    return ret;
}

ks_result ks_audit_check_file(const char *path, cJSON **report)
{
    char *err = NULL;
    ks_result r = ks_audit_check(&path, 1, report, &err);
    free(err);
    return r;
}

void ks_audit_set_rotation(ks_audit *a, const ks_audit_rotation *r)
{
    pthread_mutex_lock(&a->mu);
    a->rot = *r;
    pthread_mutex_unlock(&a->mu);
}
