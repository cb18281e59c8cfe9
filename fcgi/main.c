/*
 * fcgi/main.c - bin/kensho-fcgi: a multi-threaded FastCGI server.
 *
 *   kensho-fcgi --config FILE [--socket PATH | --listen 127.0.0.1:PORT] [--threads N]
 *   kensho-fcgi --version
 *
 * N workers each loop: take one of its slots (resetting the slot's arena) ->
 * FCGX_Accept_r -> read parameters and body -> handle -> answer ->
 * FCGX_Finish_r; a verdict's answer waits for its audit record on disk
 * without holding its worker (ks_slot).  The main thread owns the signals
 * (all are blocked in the workers and taken with sigwait):
 *   SIGHUP   builds a new generation (configuration, trust store, audit
 *            handle) that shares the running one's revocation cache and
 *            record of evidence seen (ks_reload); on failure logs and keeps
 *            the old one, else swaps the pointer under a mutex.  Requests
 *            in flight hold a reference to the generation they started with.
 * One more thread refreshes revocation_sources CRLs in the background
 * (ks_refresher).
 *   SIGTERM  drains without losing a connection (ks_drain): /readyz 503,
 *            accepting for service.drain_ms more, then the backlog emptied
 *            and every accepted request answered; exit 0.
 *   SIGINT   the same with no grace period (a terminal's Ctrl-C).
 *
 * Privileges: started as root, it reads the settings, binds the socket,
 * hands a unix socket to service.user (default "nobody"; root is refused)
 * and drops to that user for good before it loads the trust store and opens
 * the audit log, so it starts with exactly the access every SIGHUP reload
 * will have.  Started as anyone else, it keeps its identity.
 *
 * Logs (stderr, verify.h ks_log_fields): configuration "log" (format
 * "json" by default, or "text"; level), applied at start and at each
 * reload.  One line per request with the request id, method, route,
 * status, indication, problem code and duration; never a subject, a JPKI
 * item, a file name or a client address.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <malloc.h>
#include <netinet/in.h>
#include <pthread.h>
#include <pwd.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "fcgi.h"

#define KS_MAX_THREADS 256
#define KS_MAX_PARAM 8192

static const char *ks_config_path;
static pthread_mutex_t ks_gen_mu = PTHREAD_MUTEX_INITIALIZER;
static ks_fcgi_gen *ks_gen_current;
static atomic_int ks_stopping;
static int ks_listen_fd = -1;
/* The socket file we bound (fstat of a socket gives sockfs's inode, not the
 * file's): what ks_socket_is_ours compares the path with. */
static struct stat ks_sock_st;
static int ks_sock_bound;

static ks_fcgi_gen *ks_gen_get(void)
{
    pthread_mutex_lock(&ks_gen_mu);
    ks_fcgi_gen *g = ks_fcgi_gen_ref(ks_gen_current);
    pthread_mutex_unlock(&ks_gen_mu);
    return g;
}

static double ks_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A parameter copied into the arena: libfcgi's pointers die at Finish. */
static const char *ks_param(FCGX_Request *rq, ks_fcgi_arena *a, const char *name)
{
    const char *v = FCGX_GetParam(name, rq->envp);
    if (v == NULL)
        return NULL;
    return ks_fcgi_arena_strndup(a, v, strnlen(v, KS_MAX_PARAM));
}

/* ks_fcgi_read_body's reader over libfcgi's input stream. */
static int ks_fcgx_read(void *arg, char *buf, int n)
{
    return FCGX_GetStr(buf, n, ((FCGX_Request *)arg)->in);
}

static void ks_put(FCGX_Request *rq, const char *p, size_t n)
{
    while (n > 0) {
        int chunk = n > (1u << 20) ? (1 << 20) : (int)n;
        if (FCGX_PutStr(p, chunk, rq->out) != chunk)
            return;
        p += chunk;
        n -= (size_t)chunk;
    }
}

static void ks_set_timeouts(int fd, int ms)
{
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

/*
 * One request from accept to answer.  The answer may outlive the worker's
 * turn: a verdict waits for the write and fdatasync of its audit record (a
 * group commit, verify/audit.c), and the worker leaves it with that wait and
 * takes the next request in another slot instead of sleeping until the disk
 * is done; whoever leads the sync sends the answers it covered.  Each worker
 * owns four slots and waits when all four wait for the disk.  A slot comes
 * back to its worker, which resets the slot's arena before the next accept
 * (unless it was large, see ks_slot_answer): glibc keeps each thread's
 * blocks in that thread's arena, and blocks freed by other threads
 * fragmented them (RSS crept up by 2 MB in 5 minutes).
 */
#define KS_SLOTS_PER_WORKER 4

typedef struct ks_pool {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct ks_slot *free;
} ks_pool;

typedef struct ks_slot {
    FCGX_Request rq;
    ks_fcgi_arena *a;
    ks_fcgi_gen *g; /* the generation the request started with */
    ks_fcgi_req req;
    ks_fcgi_resp resp;
    char rid[65];
    char crid[65]; /* the caller's id when it passed ks_fcgi_client_request_id */
    double t0;
    ks_audit_wait wait;
    ks_pool *pool;        /* its worker's */
    struct ks_slot *next; /* in pool->free */
} ks_slot;

static ks_pool *ks_pools;
static ks_slot *ks_slots;
static size_t ks_npools, ks_nslots;

static ks_slot *ks_slot_take(ks_pool *p)
{
    pthread_mutex_lock(&p->mu);
    while (p->free == NULL)
        pthread_cond_wait(&p->cv, &p->mu);
    ks_slot *s = p->free;
    p->free = s->next;
    pthread_mutex_unlock(&p->mu);
    ks_fcgi_arena_reset(s->a); /* what its last request held */
    return s;
}

static void ks_slot_give(ks_slot *s)
{
    ks_pool *p = s->pool;
    pthread_mutex_lock(&p->mu);
    s->next = p->free;
    p->free = s;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

/* Sends the answer, ends the request and gives the slot back to its worker. */
static void ks_slot_answer(ks_slot *s)
{
    FCGX_Request *rq = &s->rq;
    const ks_fcgi_resp *resp = &s->resp;
    char head[512];
    int n = snprintf(head, sizeof head,
                     "Status: %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nX-Request-Id: %s\r\n"
                     "Cache-Control: no-store\r\n%s%s%s\r\n",
                     resp->status, ks_fcgi_reason(resp->status), resp->content_type, resp->body_len, s->rid,
                     resp->allow ? "Allow: " : "", resp->allow ? resp->allow : "", resp->allow ? "\r\n" : "");
    if (n > 0 && (size_t)n < sizeof head) {
        ks_put(rq, head, (size_t)n);
        ks_put(rq, resp->body, resp->body_len);
    }
    /* The request was read to its end (FCGI_STDIN closed): nothing unread is
     * left for close() to answer with a reset, so skip libfcgi's shutdown
     * and drain, which holds this thread until nginx closes its end. */
    if (FCGX_HasSeenEOF(rq->in))
        FCGX_Detach(rq);
    FCGX_Finish_r(rq);
    double dt = ks_now_s() - s->t0;
    ks_fcgi_metrics_request(resp->route, resp->status, resp->indication, dt);
    if (ks_log_enabled(KS_LOG_INFO)) {
        /* Only our own vocabulary and the sanitised request id: never a
         * subject, a JPKI item, a file name or a client address. */
        char method[12];
        snprintf(method, sizeof method, "%.10s", s->req.method ? s->req.method : "-");
        const ks_log_field f[] = {
            {.key = "request_id", .str = s->rid},
            {.key = "method", .str = method},
            {.key = "route", .str = ks_fcgi_route_name(resp->route)},
            {.key = "status", .num = resp->status, .is_num = 1},
            {.key = "indication", .str = resp->indication},
            {.key = "code", .str = resp->code},
            {.key = "duration_ms", .num = (double)(long long)(dt * 1e4 + 0.5) / 10, .is_num = 1},
            {.key = "client_request_id", .str = s->req.client_request_id}, /* nginx's $request_id */
        };
        ks_log_fields(KS_LOG_INFO, "request", f, sizeof f / sizeof f[0]);
    }
    /* A request that outgrew the small chunk (a large body) gives its
     * memory back now, from whichever thread answers (large blocks barely
     * fragment); the many small blocks of the others wait for its worker. */
    if (ks_fcgi_arena_held(s->a) > KS_FCGI_ARENA_CHUNK)
        ks_fcgi_arena_reset(s->a);
    ks_fcgi_gen_unref(s->g);
    s->g = NULL;
    ks_fcgi_metrics_inflight(-1);
    ks_slot_give(s);
}

static void ks_slot_synced(void *arg, ks_result r)
{
    ks_slot *s = arg;
    if (r != KS_OK)
        (void)ks_fcgi_audit_failed(s->g, s->a, &s->req, &s->resp, r);
    ks_slot_answer(s);
}

static void ks_serve_one(ks_slot *s)
{
    FCGX_Request *rq = &s->rq;
    ks_fcgi_arena *a = s->a;
    ks_fcgi_gen *g = s->g;
    ks_fcgi_req *req = &s->req;
    uint8_t *body = NULL;

    memset(req, 0, sizeof *req);
    ks_fcgi_arena_set_cap(a, g->set.max_body_bytes * 2 + (4u << 20));
    ks_set_timeouts(rq->ipcFd, g->set.request_timeout_ms);
    /* Our own id always; the caller's only beside it (fcgi.h). */
    ks_fcgi_request_id(s->rid);
    req->request_id = s->rid;
    if (ks_fcgi_client_request_id(FCGX_GetParam("REQUEST_ID", rq->envp), s->crid))
        req->client_request_id = s->crid;
    req->method = ks_param(rq, a, "REQUEST_METHOD");
    req->path = ks_param(rq, a, "DOCUMENT_URI");
    if (req->path == NULL)
        req->path = ks_param(rq, a, "SCRIPT_NAME");
    req->query = ks_param(rq, a, "QUERY_STRING");
    req->content_type = ks_param(rq, a, "CONTENT_TYPE");
    const char *clen = ks_param(rq, a, "CONTENT_LENGTH");
    int wants_body = req->method != NULL && strcmp(req->method, "POST") == 0;
    if (wants_body)
        req->body_result = ks_fcgi_read_body(a, clen, g->set.max_body_bytes, ks_fcgx_read, rq, &body, &req->body_len);
    req->body = body;

    ks_fcgi_handle(g, a, req, &s->resp);
    if (s->resp.audit_seq == 0) {
        ks_slot_answer(s);
        return;
    }
    /* From here the slot may be answered and reused by another thread at
     * any time: only `keep` (the audit handle's owner) is touched. */
    ks_fcgi_gen *keep = ks_fcgi_gen_ref(g);
    s->wait = (ks_audit_wait){.done = ks_slot_synced, .arg = s};
    ks_audit_when_synced(keep->audit, s->resp.audit_seq, &s->wait);
    ks_fcgi_gen_unref(keep);
}

/* service.allow_from against the connection's peer.  Checked per
 * connection with the current generation, so a reload changes it. */
static int ks_peer_ok(const ks_fcgi_gen *g, FCGX_Request *rq)
{
    if (g->set.n_allow_from == 0)
        return 1; /* loopback listen or a unix socket (settings refuse the rest) */
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getpeername(rq->ipcFd, (struct sockaddr *)&ss, &len) != 0)
        return 0;
    return ks_fcgi_peer_allowed(g->set.allow_from, g->set.n_allow_from, (struct sockaddr *)&ss, len);
}

static void *ks_worker(void *arg)
{
    ks_pool *pool = arg;
    while (!atomic_load(&ks_stopping)) {
        ks_slot *s = ks_slot_take(pool);
        if (FCGX_Accept_r(&s->rq) < 0) {
            ks_slot_give(s);
            if (atomic_load(&ks_stopping))
                break;
            ks_log(KS_LOG_WARN, "FCGX_Accept_r failed: %s", strerror(errno));
            struct timespec ts = {0, 50 * 1000 * 1000};
            nanosleep(&ts, NULL); /* do not spin on a persistent error */
            continue;
        }
        s->g = ks_gen_get();
        if (!ks_peer_ok(s->g, &s->rq)) {
            /* Closed unanswered: not even a problem document for a peer
             * outside service.allow_from.  No address is logged (the
             * logs never carry one); the counter shows it. */
            ks_fcgi_metrics_peer_refused();
            ks_log(KS_LOG_WARN, "FastCGI connection from outside service.allow_from closed");
            ks_fcgi_gen_unref(s->g);
            s->g = NULL;
            FCGX_Detach(&s->rq); /* close() without libfcgi's shutdown-and-drain */
            FCGX_Free(&s->rq, 1);
            ks_slot_give(s);
            continue;
        }
        s->t0 = ks_now_s();
        ks_fcgi_metrics_inflight(1);
        ks_serve_one(s);
    }
    return NULL;
}

static int ks_slots_init(size_t workers)
{
    if ((ks_pools = calloc(workers, sizeof *ks_pools)) == NULL ||
        (ks_slots = calloc(workers * KS_SLOTS_PER_WORKER, sizeof *ks_slots)) == NULL)
        return -1;
    for (; ks_npools < workers; ks_npools++) {
        ks_pool *p = &ks_pools[ks_npools];
        if (pthread_mutex_init(&p->mu, NULL) != 0)
            return -1;
        if (pthread_cond_init(&p->cv, NULL) != 0) {
            pthread_mutex_destroy(&p->mu);
            return -1;
        }
    }
    for (; ks_nslots < workers * KS_SLOTS_PER_WORKER; ks_nslots++) {
        ks_slot *s = &ks_slots[ks_nslots];
        if ((s->a = ks_fcgi_arena_new(KS_MAX_PARAM * 16)) == NULL || FCGX_InitRequest(&s->rq, ks_listen_fd, 0) != 0) {
            ks_fcgi_arena_free(s->a);
            return -1;
        }
        s->pool = &ks_pools[ks_nslots / KS_SLOTS_PER_WORKER];
        s->next = s->pool->free;
        s->pool->free = s;
    }
    return 0;
}

static void ks_slots_free_all(void)
{
    for (size_t i = 0; i < ks_nslots; i++) {
        FCGX_Free(&ks_slots[i].rq, 1);
        ks_fcgi_arena_free(ks_slots[i].a);
    }
    for (size_t i = 0; i < ks_npools; i++) {
        pthread_mutex_destroy(&ks_pools[i].mu);
        pthread_cond_destroy(&ks_pools[i].cv);
    }
    free(ks_slots);
    free(ks_pools);
}

/*
 * Binds and listens on a temporary name beside `path`, then rename()s it
 * onto `path`: a socket left by a previous run, or the one a draining
 * predecessor still serves (a restart), is replaced atomically, so a
 * connect() never finds no socket or one bound but not yet listening
 * (ECONNREFUSED, a 502 at nginx).
 */
static int ks_open_unix(const char *path, unsigned mode, int backlog)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct stat st;
    char tmp[sizeof sa.sun_path];
    if (snprintf(tmp, sizeof tmp, "%s.%ld", path, (long)getpid()) >= (int)sizeof tmp) {
        ks_log(KS_LOG_ERR, "socket path too long: %s", path);
        return -1;
    }
    if (lstat(path, &st) == 0 && !S_ISSOCK(st.st_mode)) {
        ks_log(KS_LOG_ERR, "%s exists and is not a socket", path);
        return -1;
    }
    strcpy(sa.sun_path, tmp);
    unlink(tmp); /* ours from a crashed run with the same pid, if any */
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    mode_t old = umask(0777 & ~mode);
    int ok = fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
    umask(old);
    if (!ok || chmod(tmp, mode) != 0 || listen(fd, backlog) != 0 || rename(tmp, path) != 0 ||
        lstat(path, &ks_sock_st) != 0) {
        ks_log(KS_LOG_ERR, "%s: %s", path, strerror(errno));
        unlink(tmp);
        if (fd >= 0)
            close(fd);
        return -1;
    }
    ks_sock_bound = 1;
    return fd;
}

static int ks_open_tcp(const char *hostport, int backlog)
{
    char host[64];
    const char *colon = strrchr(hostport, ':');
    struct sockaddr_in sa = {.sin_family = AF_INET};
    if (colon == NULL || (size_t)(colon - hostport) >= sizeof host) {
        ks_log(KS_LOG_ERR, "--listen wants 127.0.0.1:PORT, not %s", hostport);
        return -1;
    }
    memcpy(host, hostport, (size_t)(colon - hostport));
    host[colon - hostport] = '\0';
    char *end = NULL;
    long port = strtol(colon + 1, &end, 10);
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1 || *end != '\0' || port < 1 || port > 65535) {
        ks_log(KS_LOG_ERR, "--listen wants an IPv4 address and a port, not %s", hostport);
        return -1;
    }
    sa.sin_port = htons((uint16_t)port);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, backlog) != 0) {
        ks_log(KS_LOG_ERR, "%s: %s", hostport, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

/* 1 when the unix socket at `path` is still the one we listen on: a
 * replacement started on the same path (a restart) has put its own there,
 * which is neither ours to remove nor ours to drain. */
static int ks_socket_is_ours(const char *path)
{
    struct stat a;
    return path != NULL && ks_listen_fd >= 0 && ks_sock_bound && lstat(path, &a) == 0 && a.st_ino == ks_sock_st.st_ino &&
           a.st_dev == ks_sock_st.st_dev;
}

/*
 * The background CRL refresher (verify.h ks_crl_refresh_pass): one thread
 * that keeps the CRLs named by URL under revocation_sources in the cache
 * before their nextUpdate, with the generation in service at each pass.
 * It sleeps until the next CRL is due (at most 60 s); a reload wakes it
 * (the new configuration may name other CRLs, or have dropped them from
 * the cache), and so does the stop.  Each fetch is bounded by
 * revocation.timeout_ms, so joining it at exit is too.
 */
static pthread_mutex_t ks_refr_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ks_refr_cv; /* CLOCK_MONOTONIC */
static int ks_refr_stop, ks_refr_kick;

static void ks_refresher_wake(int stop)
{
    pthread_mutex_lock(&ks_refr_mu);
    ks_refr_kick = 1;
    if (stop)
        ks_refr_stop = 1;
    pthread_cond_signal(&ks_refr_cv);
    pthread_mutex_unlock(&ks_refr_mu);
}

/*
 * audit.anchor_url: the final chain head of each audit file the chain moved
 * on from is POSTed there, off this host, by the same background thread
 * (never by a worker: a slow or dead endpoint delays no verdict).  Heads
 * are taken from the generation's audit handle (and from the old one at a
 * reload), kept in a bounded list, tried at most 3 times each; a failure
 * is logged and counted (kensho_audit_anchor_posts_total), and the head is
 * still in the next file's "rotation" record.  The body names no person:
 *   {"file": basename, "file_seq", "last_seq", "records", "head"}
 */
#define KS_ANCHOR_MAX 64
#define KS_ANCHOR_TRIES 3
static pthread_mutex_t ks_anchor_mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
    ks_audit_closed c;
    int tries;
} ks_anchor_q[KS_ANCHOR_MAX];
static size_t ks_anchor_n;

/* Moves g's closed files into the list (the oldest make room). */
static void ks_anchor_collect(ks_fcgi_gen *g)
{
    ks_audit_closed got[16];
    size_t n;
    if (g == NULL || g->audit == NULL || g->set.anchor_url == NULL)
        return;
    while ((n = ks_audit_take_closed(g->audit, got, 16, NULL)) > 0) {
        pthread_mutex_lock(&ks_anchor_mu);
        for (size_t i = 0; i < n; i++) {
            if (ks_anchor_n == KS_ANCHOR_MAX) {
                ks_log(KS_LOG_WARN, "audit anchor: file %llu's head dropped unsent (list full)",
                       ks_anchor_q[0].c.file_seq);
                ks_fcgi_metrics_anchor(0);
                memmove(&ks_anchor_q[0], &ks_anchor_q[1], (KS_ANCHOR_MAX - 1) * sizeof ks_anchor_q[0]);
                ks_anchor_n--;
            }
            ks_anchor_q[ks_anchor_n].c = got[i];
            ks_anchor_q[ks_anchor_n++].tries = 0;
        }
        pthread_mutex_unlock(&ks_anchor_mu);
    }
}

/* Sends what is listed, oldest first; 1 when something is left to retry. */
static int ks_anchor_send(ks_fcgi_gen *g)
{
    if (g->set.anchor_url == NULL || g->set.audit_path == NULL)
        return 0;
    const char *base = strrchr(g->set.audit_path, '/');
    base = base ? base + 1 : g->set.audit_path;
    for (;;) {
        pthread_mutex_lock(&ks_anchor_mu);
        if (ks_anchor_n == 0) {
            pthread_mutex_unlock(&ks_anchor_mu);
            return 0;
        }
        ks_audit_closed c = ks_anchor_q[0].c;
        int tries = ++ks_anchor_q[0].tries;
        pthread_mutex_unlock(&ks_anchor_mu);
        char err[256] = "", *body = NULL, name[300];
        snprintf(name, sizeof name, "%s.%llu", base, c.file_seq);
        cJSON *o = cJSON_CreateObject();
        if (o != NULL && cJSON_AddStringToObject(o, "file", name) && cJSON_AddNumberToObject(o, "file_seq", (double)c.file_seq) &&
            cJSON_AddNumberToObject(o, "last_seq", (double)c.last_seq) &&
            cJSON_AddNumberToObject(o, "records", (double)c.records) && cJSON_AddStringToObject(o, "head", c.head))
            body = cJSON_PrintUnformatted(o);
        cJSON_Delete(o);
        ks_result r = body ? ks_http_post_json(g->ctx, g->set.anchor_url, body, err, sizeof err) : KS_E_NOMEM;
        cJSON_free(body);
        ks_fcgi_metrics_anchor(r == KS_OK);
        pthread_mutex_lock(&ks_anchor_mu);
        int drop = r == KS_OK || tries >= KS_ANCHOR_TRIES;
        if (drop && ks_anchor_n > 0) {
            memmove(&ks_anchor_q[0], &ks_anchor_q[1], (ks_anchor_n - 1) * sizeof ks_anchor_q[0]);
            ks_anchor_n--;
        }
        pthread_mutex_unlock(&ks_anchor_mu);
        if (r == KS_OK) {
            ks_log(KS_LOG_INFO, "audit anchor: file %llu's head %s sent", c.file_seq, c.head);
            continue;
        }
        ks_log(KS_LOG_WARN, "audit anchor: file %llu's head not sent (try %d of %d): %s", c.file_seq, tries,
               KS_ANCHOR_TRIES, err[0] ? err : ks_result_message(r));
        return !drop; /* try again next pass */
    }
}

static void *ks_refresher(void *arg)
{
    ks_crl_refresher *r = arg;
    for (;;) {
        ks_fcgi_gen *g = ks_gen_get();
        ks_crl_refresh_counts c;
        time_t now = ks_ctx_now(g->ctx);
        time_t next = ks_crl_refresh_pass(r, g->ctx, now, &c);
        ks_anchor_collect(g);
        int retry = ks_anchor_send(g);
        /* With an anchor URL, closed files are looked for every 5 s. */
        if (g->set.anchor_url != NULL && next > now + (retry ? 10 : 5))
            next = now + (retry ? 10 : 5);
        ks_fcgi_gen_unref(g);
        ks_fcgi_metrics_crl_refresh(&c);
        long wait = next - now < 1 ? 1 : next - now > 60 ? 60 : (long)(next - now);
        struct timespec dl;
        clock_gettime(CLOCK_MONOTONIC, &dl);
        dl.tv_sec += wait;
        pthread_mutex_lock(&ks_refr_mu);
        while (!ks_refr_stop && !ks_refr_kick)
            if (pthread_cond_timedwait(&ks_refr_cv, &ks_refr_mu, &dl) == ETIMEDOUT)
                break;
        int stop = ks_refr_stop;
        ks_refr_kick = 0;
        pthread_mutex_unlock(&ks_refr_mu);
        if (stop)
            break;
    }
    return NULL;
}

static int ks_refresher_start(pthread_t *tid, ks_crl_refresher **r)
{
    pthread_condattr_t attr;
    if (pthread_condattr_init(&attr) != 0)
        return -1;
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    int rc = pthread_cond_init(&ks_refr_cv, &attr);
    pthread_condattr_destroy(&attr);
    if (rc != 0 || (*r = ks_crl_refresher_new()) == NULL)
        return -1;
    if (pthread_create(tid, NULL, ks_refresher, *r) != 0) {
        ks_crl_refresher_free(*r);
        *r = NULL;
        return -1;
    }
    return 0;
}

static void ks_reload(void);

/*
 * systemd's readiness protocol (sd_notify(3), Type=notify in
 * kensho-fcgi.service): one datagram to the unix socket NOTIFY_SOCKET names
 * (a path, or an abstract name after '@').  READY=1 once the FastCGI
 * socket is open and the workers run, so nginx (ordered after this unit)
 * never starts against a missing socket; RELOADING=1 ... READY=1 around a
 * reload; STOPPING=1 when draining begins.  Without NOTIFY_SOCKET (not
 * under systemd) nothing is sent; a failed send is logged, never fatal.
 */
static void ks_sd_notify(const char *state)
{
    const char *path = getenv("NOTIFY_SOCKET");
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    size_t n = path ? strlen(path) : 0;
    if (n < 2 || n >= sizeof sa.sun_path || (path[0] != '/' && path[0] != '@'))
        return;
    memcpy(sa.sun_path, path, n);
    if (path[0] == '@')
        sa.sun_path[0] = '\0';
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || sendto(fd, state, strlen(state), MSG_NOSIGNAL, (const struct sockaddr *)&sa,
                         (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n)) < 0)
        ks_log(KS_LOG_WARN, "sd_notify %s: %s", state, strerror(errno));
    if (fd >= 0)
        close(fd);
}

/*
 * SIGTERM (and SIGINT, with no grace): stop without dropping a connection.
 *  1. /readyz answers 503 ("draining") at once;
 *  2. accepting goes on for `grace_ms` (service.drain_ms), so a balancer
 *     that polls /readyz moves away, and a replacement started on the same
 *     socket path takes the new connections; a second SIGTERM or SIGINT
 *     ends the wait early, SIGHUP still reloads;
 *  3. the unix socket's path is removed (when it is still ours), so no new
 *     connection can reach this process; nginx's connect then fails and it
 *     tries its next server instead of queueing here;
 *  4. the listening socket turns non-blocking and the workers take every
 *     connection still queued in its backlog (closing it with queued
 *     connections would reset them: the 502s of issue 22); a worker whose
 *     accept finds the queue empty gets EAGAIN and stops;
 *  5. once poll() shows the queue empty, shutdown() wakes the workers still
 *     blocked in accept(); requests in flight are answered; exit 0.
 * With a TCP listen, connections can still arrive between 4 and 5 (nothing
 * stops a TCP listener short of closing it): the grace period is what
 * keeps that window empty.
 */
static void ks_drain(const sigset_t *sigs, int grace_ms, const char *sock)
{
    ks_fcgi_set_draining(1);
    ks_sd_notify("STOPPING=1");
    ks_log(KS_LOG_INFO, "draining: /readyz answers 503, accepting for %d ms more", grace_ms);
    double end = ks_now_s() + grace_ms / 1000.0;
    for (;;) {
        double left = end - ks_now_s();
        if (left <= 0)
            break;
        struct timespec ts = {.tv_sec = (time_t)left, .tv_nsec = (long)((left - (double)(time_t)left) * 1e9)};
        int sig = sigtimedwait(sigs, NULL, &ts);
        if (sig == SIGHUP)
            ks_reload();
        else if (sig == SIGTERM || sig == SIGINT)
            break;
    }
    atomic_store(&ks_stopping, 1);
    if (ks_socket_is_ours(sock))
        unlink(sock);
    int fl = fcntl(ks_listen_fd, F_GETFL);
    if (fl >= 0)
        fcntl(ks_listen_fd, F_SETFL, fl | O_NONBLOCK);
    /* The backlog empties as workers finish their requests: bounded by the
     * request timeout, after which what is left is reset. */
    ks_fcgi_gen *g = ks_gen_get();
    int waited = 0, limit = g->set.request_timeout_ms + 1000;
    ks_fcgi_gen_unref(g);
    struct pollfd p = {.fd = ks_listen_fd, .events = POLLIN};
    while (poll(&p, 1, 0) > 0 && (p.revents & POLLIN) && waited < limit) {
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL);
        waited += 5;
    }
    if (waited >= limit)
        ks_log(KS_LOG_WARN, "draining: connections still queued after %d ms are dropped", limit);
    shutdown(ks_listen_fd, SHUT_RDWR); /* wakes workers blocked in accept() */
    ks_log(KS_LOG_INFO, "draining: stopped accepting, answering the requests in flight");
}

static void ks_log_head(const char *when, ks_fcgi_gen *g)
{
    if (g != NULL && g->audit != NULL) {
        char head[65];
        ks_audit_head(g->audit, head);
        ks_log(KS_LOG_INFO, "%s: audit chain head %s", when, head);
    }
}

/*
 * The new generation shares the running one's revocation cache and its
 * record of evidence seen (ks_ctx_reload): a rolling reload of the fleet
 * does not send every node to memcached and the responders at once, and
 * rollback protection never resets.  Only once the whole generation has
 * loaded does ks_ctx_take_over drop what the change could affect; a
 * refused reload leaves the cache as it was.  Main thread only.
 */
static void ks_reload(void)
{
    ks_fcgi_gen *ng = NULL;
    char *err = NULL;
    char why[256];
    ks_sd_notify("RELOADING=1");
    ks_fcgi_gen *cur = ks_gen_get();
    if (ks_fcgi_gen_reload(ks_config_path, cur, &ng, &err) != KS_OK) {
        ks_log(KS_LOG_ERR, "reload refused, keeping the running configuration: %s", err ? err : "?");
        free(err);
        ks_fcgi_gen_unref(cur);
        ks_fcgi_metrics_reload(0);
        ks_sd_notify("READY=1");
        return;
    }
    ks_ctx_take_over(ng->ctx, cur->ctx, why, sizeof why);
    ks_fcgi_gen_unref(cur);
    pthread_mutex_lock(&ks_gen_mu);
    ks_fcgi_gen *old = ks_gen_current;
    ks_gen_current = ng;
    pthread_mutex_unlock(&ks_gen_mu);
    ks_log(KS_LOG_INFO, "reload: revocation cache %s", why);
    ks_refresher_wake(0);
    ks_log_setup(ng->set.log_format, ng->set.log_level);
    if (old->set.threads != ng->set.threads || (old->set.socket == NULL) != (ng->set.socket == NULL) ||
        (old->set.socket && ng->set.socket && strcmp(old->set.socket, ng->set.socket) != 0))
        ks_log(KS_LOG_WARN, "reload: service.threads and service.socket take effect at the next start");
    ks_anchor_collect(old); /* its closed files' heads are still sent */
    ks_log_head("reload (previous handle)", old);
    ks_fcgi_gen_unref(old);
    ks_fcgi_metrics_reload(1);
    ks_log(KS_LOG_INFO, "configuration reloaded from %s", ks_config_path);
    ks_sd_notify("READY=1");
}

/* The settings alone (no audit log opened): what binding needs. */
static ks_result ks_boot_settings(const char *path, ks_fcgi_settings *set, char **err)
{
    ks_ctx *ctx = NULL;
    ks_result r = ks_ctx_load(path, &ctx, err);
    if (r == KS_OK)
        r = ks_fcgi_settings_load(ctx, path, set, err);
    if (r != KS_OK)
        ks_fcgi_name_user(err);
    ks_ctx_unref(ctx);
    return r;
}

/* Root -> `user` for good: the unix socket is handed over first, then the
 * supplementary groups, the group and the user are dropped in that order,
 * and regaining root must fail. */
static int ks_drop_privileges(const char *user, const char *sock)
{
    struct passwd pw, *res = NULL;
    char buf[4096];
    if (getpwnam_r(user, &pw, buf, sizeof buf, &res) != 0 || res == NULL) {
        ks_log(KS_LOG_ERR, "service.user \"%.64s\": no such user", user);
        return -1;
    }
    if (pw.pw_uid == 0 || pw.pw_gid == 0) {
        ks_log(KS_LOG_ERR, "service.user \"%.64s\": refusing to run as root", user);
        return -1;
    }
    if (sock != NULL && chown(sock, pw.pw_uid, pw.pw_gid) != 0) {
        ks_log(KS_LOG_ERR, "chown %s: %s", sock, strerror(errno));
        return -1;
    }
    if (setgroups(0, NULL) != 0 || setgid(pw.pw_gid) != 0 || setuid(pw.pw_uid) != 0) {
        ks_log(KS_LOG_ERR, "cannot drop privileges to %.64s: %s", user, strerror(errno));
        return -1;
    }
    if (setuid(0) == 0 || geteuid() == 0 || getegid() == 0) {
        ks_log(KS_LOG_ERR, "root could be regained after dropping to %.64s", user);
        return -1;
    }
    ks_log(KS_LOG_INFO, "running as %.64s (uid %u, gid %u)", user, (unsigned)pw.pw_uid, (unsigned)pw.pw_gid);
    return 0;
}

static void ks_usage(void)
{
    fputs("usage: kensho-fcgi --config FILE [--socket PATH | --listen 127.0.0.1:PORT] [--threads N]\n"
          "       kensho-fcgi --version\n",
          stderr);
}

typedef struct {
    const char *config;
    const char *socket;
    const char *listen;
    long threads; /* 0: service.threads */
    int version;  /* --version: print and exit */
} ks_args;

/* 0 when argv makes sense, else 64 (EX_USAGE) after the usage line. */
static int ks_parse_args(int argc, char **argv, ks_args *out)
{
    memset(out, 0, sizeof *out);
    if (argc == 2 && strcmp(argv[1], "--version") == 0) {
        out->version = 1;
        return 0;
    }
    for (int i = 1; i < argc; i += 2) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (v == NULL)
            goto usage;
        if (strcmp(o, "--config") == 0)
            out->config = v;
        else if (strcmp(o, "--socket") == 0)
            out->socket = v;
        else if (strcmp(o, "--listen") == 0)
            out->listen = v;
        else if (strcmp(o, "--threads") == 0) {
            char *end = NULL;
            out->threads = strtol(v, &end, 10);
            if (*end != '\0' || out->threads < 1 || out->threads > KS_MAX_THREADS)
                goto usage;
        } else {
            goto usage;
        }
    }
    if (out->config == NULL || (out->socket != NULL && out->listen != NULL))
        goto usage;
    return 0;
usage:
    ks_usage();
    return 64;
}

int main(int argc, char **argv)
{
    ks_args args;
    char *err = NULL;
    pthread_t tids[KS_MAX_THREADS], refr_tid;
    ks_crl_refresher *refr = NULL;
    int nt = 0, rc = 1;
    /* No fastbins: each FCGX_Accept_r allocates its stream buffers, and a
     * large request while fastbin chunks exist made glibc consolidate all
     * of them, every request (5% of the CPU under load; make bench). */
    mallopt(M_MXFAST, 0);

    if (ks_parse_args(argc, argv, &args) != 0)
        return 64;
    if (args.version) {
        printf("kensho-fcgi %s (OpenSSL %s, libxmlsec1 %s)\n", ks_version(), ks_version_openssl(),
               ks_version_xmlsec());
        return 0;
    }
    ks_config_path = args.config;
    const char *sock = args.socket, *listen_at = args.listen;
    long threads = args.threads;
    ks_log_setup(KS_LOG_JSON, KS_LOG_INFO); /* the service's defaults until the file says otherwise */
    ks_fcgi_settings boot;
    if (ks_boot_settings(ks_config_path, &boot, &err) != KS_OK) {
        ks_log(KS_LOG_ERR, "%s", err ? err : "cannot load the configuration");
        free(err);
        return 78;
    }
    ks_fcgi_settings *set = &boot;
    ks_log_setup(set->log_format, set->log_level);
    /* Copies: the generation (and its strings) is replaced at reload. */
    static char sock_buf[256], listen_buf[64];
    if (sock == NULL && listen_at == NULL && set->socket != NULL) {
        snprintf(sock_buf, sizeof sock_buf, "%s", set->socket);
        sock = sock_buf;
    } else if (sock == NULL && listen_at == NULL && set->listen != NULL) {
        snprintf(listen_buf, sizeof listen_buf, "%s", set->listen);
        listen_at = listen_buf;
    }
    if (threads == 0)
        threads = set->threads;
    if (sock == NULL && listen_at == NULL) {
        ks_log(KS_LOG_ERR, "no socket: give --socket, --listen or service.socket");
        goto done;
    }
    if (listen_at != NULL && !ks_fcgi_listen_is_loopback(listen_at) && set->n_allow_from == 0) {
        ks_log(KS_LOG_ERR, "--listen %s is not a loopback address: service.allow_from is required", listen_at);
        rc = 78;
        goto done;
    }
    /* Signals: blocked everywhere, taken by the main thread with sigwait. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGHUP);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (FCGX_Init() != 0) {
        ks_log(KS_LOG_ERR, "FCGX_Init failed");
        goto done;
    }
    ks_listen_fd = sock ? ks_open_unix(sock, set->socket_mode, set->backlog) : ks_open_tcp(listen_at, set->backlog);
    if (ks_listen_fd < 0)
        goto done;
    if (geteuid() == 0 && ks_drop_privileges(set->user ? set->user : "nobody", sock) != 0)
        goto done;
    if (ks_fcgi_gen_load(ks_config_path, &ks_gen_current, &err) != KS_OK) {
        ks_log(KS_LOG_ERR, "%s", err ? err : "cannot load the configuration");
        free(err);
        rc = 78;
        goto done;
    }
    ks_log_setup(ks_gen_current->set.log_format, ks_gen_current->set.log_level);
    if (ks_slots_init((size_t)threads) != 0) {
        ks_log(KS_LOG_ERR, "out of memory");
        goto done;
    }
    for (nt = 0; nt < threads; nt++)
        if (pthread_create(&tids[nt], NULL, ks_worker, &ks_pools[nt]) != 0) {
            ks_log(KS_LOG_ERR, "pthread_create failed");
            atomic_store(&ks_stopping, 1);
            shutdown(ks_listen_fd, SHUT_RDWR);
            break;
        }
    if (nt == threads && ks_refresher_start(&refr_tid, &refr) != 0)
        ks_log(KS_LOG_WARN, "the background CRL refresher could not start: CRLs are fetched by requests");
    if (nt == threads) {
        ks_log(KS_LOG_INFO, "kensho-fcgi ready on %s with %ld threads", sock ? sock : listen_at, threads);
        ks_log_head("start", ks_gen_current);
        ks_sd_notify("READY=1");
    }
    while (!atomic_load(&ks_stopping)) {
        /* Once a second, without a signal: a local CRL file replaced on
         * disk reloads the configuration (as SIGHUP does), so a CRL pushed
         * before its predecessor's nextUpdate is used without a reload
         * being sent to every node (issue 22). */
        struct timespec tick = {1, 0};
        int sig = sigtimedwait(&sigs, NULL, &tick);
        if (sig < 0) {
            const char *which = NULL;
            if (ks_gen_current != NULL && ks_fcgi_gen_files_changed(ks_gen_current, &which)) {
                ks_log(KS_LOG_INFO, "%s changed on disk: reloading", which ? which : "a CRL file");
                ks_reload();
            }
            continue;
        }
        if (sig == SIGHUP) {
            ks_reload();
        } else {
            ks_fcgi_gen *g = ks_gen_get();
            int grace = sig == SIGTERM ? g->set.drain_ms : 0;
            ks_fcgi_gen_unref(g);
            ks_drain(&sigs, grace, sock);
        }
    }
    for (int i = 0; i < nt; i++)
        pthread_join(tids[i], NULL);
    if (refr != NULL) {
        ks_refresher_wake(1);
        pthread_join(refr_tid, NULL);
        ks_crl_refresher_free(refr);
    }
    ks_log_head("stop", ks_gen_current);
    rc = 0;
done:
    ks_fcgi_settings_clear(&boot);
    ks_slots_free_all();
    if (ks_socket_is_ours(sock)) /* not a replacement's socket at the same path */
        unlink(sock);
    if (ks_listen_fd >= 0)
        close(ks_listen_fd);
    ks_fcgi_gen_unref(ks_gen_current);
    return rc;
}
