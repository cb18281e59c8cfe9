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
#define KS_AUDIT_PREV_OPEN "{\"prev\":\"" /* how every record begins (ks_audit_record) */
#define KS_AUDIT_PREV_AT (sizeof KS_AUDIT_PREV_OPEN - 1)

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
    ret = KS_OK;
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
    if ((ret = ks_audit_read_tail(a, st.st_size, errmsg)) != KS_OK)
        goto done;
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

/*
 * Writes every record taken so far in one write() under the file lock,
 * linking each "prev" to the line before it: the first to the file's true
 * tail (re-read when someone else appended since our last write), the others
 * to the record before them.  With a->mu held.  On failure nothing of the
 * batch stays in the file; either way the queue is empty after.
 */
static ks_result ks_audit_flush(ks_audit *a)
{
    ks_result ret = KS_E_IO;
    struct stat st;
    char head[65];
    if (a->queue_len == 0)
        return KS_OK;
    if (flock(a->fd, LOCK_EX) != 0) {
        ks_log(KS_LOG_ERR, "audit: lock %s: %s", a->path, strerror(errno));
        goto done;
    }
    if (fstat(a->fd, &st) != 0) {
        ks_log(KS_LOG_ERR, "audit: stat %s: %s", a->path, strerror(errno));
        goto unlock;
    }
    if (st.st_size != a->end) { /* someone else appended, or a write of ours was torn */
        char *err = NULL;
        if ((ret = ks_audit_read_tail(a, st.st_size, &err)) != KS_OK) {
            ks_log(KS_LOG_ERR, "audit: %s: %s", a->path, err ? err : ks_result_message(ret));
            free(err);
            goto unlock;
        }
        st.st_size = a->end; /* a torn last line was just terminated */
    }
    memcpy(head, a->head, 65);
    for (char *p = a->queue, *end = a->queue + a->queue_len; p < end;) {
        char *nl = memchr(p, '\n', (size_t)(end - p)); /* every queued line ends in one */
        memcpy(p + KS_AUDIT_PREV_AT, head, 64);
        if (!ks_sha256_hex(p, (size_t)(nl - p), head)) {
            ret = KS_E_INTERNAL;
            goto unlock;
        }
        p = nl + 1;
    }
    if ((ret = ks_write_all(a->fd, a->queue, a->queue_len)) != KS_OK) {
        ks_log(KS_LOG_ERR, "audit: write %s: %s", a->path, strerror(errno));
        /* Take back what reached the file (a disk full tears the line): a
         * record we answer 503 for must not stay, least of all half of it. */
        if (ftruncate(a->fd, st.st_size) != 0)
            a->end = -1; /* re-read the tail next time: the write may be torn */
        goto unlock;
    }
    memcpy(a->head, head, 65);
    a->unsynced_from = st.st_size; /* one round, one write: what its sync covers */
    a->end = st.st_size + (off_t)a->queue_len;
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
    /* "prev" comes first (KS_AUDIT_PREV_OPEN) so a reader sees the link
     * before the content, and its writer finds it in place. */
    if (cJSON_AddStringToObject(o, "prev", KS_AUDIT_ZERO_HASH) == NULL ||
        cJSON_AddStringToObject(o, "time", t) == NULL ||
        cJSON_AddStringToObject(o, "request_id", ev->request_id ? ev->request_id : "") == NULL ||
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
    ks_result ret = KS_E_NOMEM;
    cJSON *rec = NULL;
    char *line = NULL;
    *ticket = 0;
    if (a == NULL)
        return KS_E_UNAVAILABLE;
    if ((rec = ks_audit_record(ev)) == NULL || (line = cJSON_PrintUnformatted(rec)) == NULL)
        goto done;
    /* The batch's writer sets "prev" in place (ks_audit_flush) and splits
     * the queue at newlines, which cJSON escapes inside strings. */
    size_t len = strlen(line);
    if (len > KS_AUDIT_MAX_LINE || strncmp(line, KS_AUDIT_PREV_OPEN KS_AUDIT_ZERO_HASH "\"", KS_AUDIT_PREV_AT + 65) != 0 ||
        memchr(line, '\n', len) != NULL) {
        ret = KS_E_LIMIT;
        goto done;
    }
    line[len] = '\n'; /* replaces the NUL: the line and its end go out together */
    pthread_mutex_lock(&a->mu);
    ret = ks_audit_take(a, line, len + 1);
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

ks_result ks_audit_check_file(const char *path, cJSON **report)
{
    ks_result ret = KS_E_NOMEM;
    FILE *f = NULL;
    char *buf = NULL;
    cJSON *rep = NULL;
    char prev[65] = KS_AUDIT_ZERO_HASH;
    long lineno = 0;
    const char *why = NULL;
    *report = NULL;
    if ((buf = malloc(KS_AUDIT_MAX_LINE)) == NULL || (rep = cJSON_CreateObject()) == NULL)
        goto done;
    if ((f = fopen(path, "r")) == NULL) {
        ret = KS_E_IO;
        goto done;
    }
    for (;;) {
        long n = ks_read_line(f, buf, KS_AUDIT_MAX_LINE);
        if (n == -1)
            break;
        lineno++;
        if (n == -2) {
            why = "line longer than 1 MiB";
            break;
        }
        if (n == -3) {
            why = "last line is not terminated (torn write)";
            break;
        }
        cJSON *rec = cJSON_ParseWithLength(buf, (size_t)n);
        const char *p = ks_str_field(rec, "prev");
        if (rec == NULL || !cJSON_IsObject(rec))
            why = "not a JSON object";
        else if (p == NULL)
            why = "no \"prev\" field";
        else if (strcmp(p, prev) != 0)
            why = lineno == 1 ? "first line's prev is not 64 zeros"
                              : "prev does not match the SHA-256 of the line before";
        cJSON_Delete(rec);
        if (why != NULL)
            break;
        if (!ks_sha256_hex(buf, (size_t)n, prev)) {
            ret = KS_E_INTERNAL;
            goto done;
        }
    }
    if (ferror(f)) {
        ret = KS_E_IO;
        goto done;
    }
    if (!cJSON_AddBoolToObject(rep, "intact", why == NULL))
        goto done;
    if (why == NULL) {
        if (!cJSON_AddNumberToObject(rep, "lines", (double)lineno) || !cJSON_AddStringToObject(rep, "head", prev))
            goto done;
    } else if (!cJSON_AddNumberToObject(rep, "line", (double)lineno) || !cJSON_AddStringToObject(rep, "reason", why)) {
        goto done;
    }
    *report = rep;
    rep = NULL;
    ret = KS_OK;
done:
    if (f != NULL)
        fclose(f);
    free(buf);
    cJSON_Delete(rep);
    return ret;
}
