/*
 * tests/test_fcgi_unit.c - the service's request path without libfcgi:
 * multipart (table rows name the expected result), media types, request
 * ids, JSON depth, base64, the arena, ks_fcgi_handle over a real context
 * with an audit log whose chain is checked at the end, and the audit log's
 * group commit (ks_audit_write + ks_audit_when_synced) under threads, the
 * body reader (a size refusal is 413, memory 500), the audit record's time
 * from the injected clock, and the log lines (JSON fields, text, journald).
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "fcgi.h"
#include "testlib.h"

static const char *pki;

static void test_multipart(void)
{
    static const struct {
        const char *what, *body, *boundary;
        ks_result want;
        size_t nparts;
        const char *name0, *file0, *data0;
    } rows[] = {
        {"one field", "--b\r\nContent-Disposition: form-data; name=\"signature\"\r\n\r\nABC\r\n--b--\r\n", "b", KS_OK, 1,
         "signature", NULL, "ABC"},
        {"file part, path stripped", "--b\r\nContent-Disposition: form-data; name=content; filename=\"C:\\dir\\doc.xml\"\r\n"
         "Content-Type: text/xml\r\n\r\n<a/>\r\n--b--", "b", KS_OK, 1, "content", "doc.xml", "<a/>"},
        {"two parts", "--xy\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--xy\r\n"
         "Content-Disposition: form-data; name=\"b\"\r\n\r\n\r\n--xy--\r\n", "xy", KS_OK, 2, "a", NULL, "1"},
        {"CRLF inside data kept", "--b\r\nContent-Disposition: form-data; name=\"s\"\r\n\r\nA\r\n-b\r\n--b--", "b", KS_OK, 1,
         "s", NULL, "A\r\n-b"},
        {"preamble", "junk\r\n--b\r\nContent-Disposition: form-data; name=\"s\"\r\n\r\nA\r\n--b--", "b",
         KS_E_BAD_REQUEST, 0, NULL, NULL, NULL},
        {"no close delimiter", "--b\r\nContent-Disposition: form-data; name=\"s\"\r\n\r\nA", "b", KS_E_BAD_REQUEST, 0,
         NULL, NULL, NULL},
        {"epilogue", "--b\r\nContent-Disposition: form-data; name=\"s\"\r\n\r\nA\r\n--b--\r\nmore", "b",
         KS_E_BAD_REQUEST, 0, NULL, NULL, NULL},
        {"no disposition", "--b\r\nContent-Type: text/plain\r\n\r\nA\r\n--b--", "b", KS_E_BAD_REQUEST, 0, NULL, NULL,
         NULL},
        {"two dispositions", "--b\r\nContent-Disposition: form-data; name=\"s\"\r\nContent-Disposition: form-data; "
         "name=\"t\"\r\n\r\nA\r\n--b--", "b", KS_E_BAD_REQUEST, 0, NULL, NULL, NULL},
        {"two names", "--b\r\nContent-Disposition: form-data; name=\"s\"; name=\"t\"\r\n\r\nA\r\n--b--", "b",
         KS_E_BAD_REQUEST, 0, NULL, NULL, NULL},
        {"filename*", "--b\r\nContent-Disposition: form-data; name=\"s\"; filename*=UTF-8''x\r\n\r\nA\r\n--b--", "b",
         KS_E_BAD_REQUEST, 0, NULL, NULL, NULL},
        {"folded header", "--b\r\nContent-Disposition: form-data;\r\n name=\"s\"\r\n\r\nA\r\n--b--", "b",
         KS_E_BAD_REQUEST, 0, NULL, NULL, NULL},
        {"not form-data", "--b\r\nContent-Disposition: attachment; name=\"s\"\r\n\r\nA\r\n--b--", "b",
         KS_E_BAD_REQUEST, 0, NULL, NULL, NULL},
        {"base64 transfer encoding", "--b\r\nContent-Disposition: form-data; name=\"s\"\r\n"
         "Content-Transfer-Encoding: base64\r\n\r\nQQ==\r\n--b--", "b", KS_E_BAD_REQUEST, 0, NULL, NULL, NULL},
        {"bare LF after boundary", "--b\nContent-Disposition: form-data; name=\"s\"\r\n\r\nA\r\n--b--", "b",
         KS_E_BAD_REQUEST, 0, NULL, NULL, NULL},
        {"no parts", "--b--\r\n", "b", KS_E_BAD_REQUEST, 0, NULL, NULL, NULL},
        {"too many parts (max 2)", "--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--b\r\n"
         "Content-Disposition: form-data; name=\"b\"\r\n\r\n2\r\n--b\r\nContent-Disposition: form-data; name=\"c\"\r\n\r\n3\r\n--b--",
         "b", KS_E_LIMIT, 0, NULL, NULL, NULL},
        {"empty name", "--b\r\nContent-Disposition: form-data; name=\"\"\r\n\r\nA\r\n--b--", "b", KS_E_BAD_REQUEST, 0,
         NULL, NULL, NULL},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        ks_fcgi_arena *a = ks_fcgi_arena_new(1 << 20);
        ks_fcgi_part *parts = NULL;
        size_t n = 0;
        const char *why = NULL;
        ks_result r = ks_fcgi_multipart_parse(a, rows[i].boundary, (const uint8_t *)rows[i].body, strlen(rows[i].body), 2,
                                              &parts, &n, &why);
        CHECK(r == rows[i].want, "%s: got %s (%s), want %s", rows[i].what, ks_result_name(r), t_str(why),
              ks_result_name(rows[i].want));
        CHECK(n == rows[i].nparts, "%s: %zu parts", rows[i].what, n);
        if (r == KS_OK && n > 0) {
            CHECK_STR(parts[0].name, rows[i].name0, "%s: name", rows[i].what);
            CHECK_STR(parts[0].filename, rows[i].file0, "%s: filename", rows[i].what);
            CHECK(parts[0].len == strlen(rows[i].data0) && memcmp(parts[0].data, rows[i].data0, parts[0].len) == 0,
                  "%s: data", rows[i].what);
        }
        ks_fcgi_arena_free(a);
    }
}

static void test_media(void)
{
    static const struct {
        const char *ct;
        ks_result want;
        const char *type, *boundary;
    } rows[] = {
        {"multipart/form-data; boundary=abc", KS_OK, "multipart/form-data", "abc"},
        {"Multipart/Form-Data;boundary=\"a b:c\"", KS_OK, "multipart/form-data", "a b:c"},
        {"application/json; charset=utf-8", KS_OK, "application/json", NULL},
        {"multipart/form-data; boundary=a; boundary=b", KS_E_BAD_REQUEST, NULL, NULL},
        {"multipart/form-data; boundary=\"\"", KS_E_BAD_REQUEST, NULL, NULL},
        {"multipart/form-data; boundary=\"ab \"", KS_E_BAD_REQUEST, NULL, NULL},
        {"multipart/form-data; boundary="
         "12345678901234567890123456789012345678901234567890123456789012345678901",
         KS_E_BAD_REQUEST, NULL, NULL}, /* 71 characters */
        {"text", KS_E_BAD_REQUEST, NULL, NULL},
        {"", KS_E_UNSUPPORTED, NULL, NULL},
        {"a/b; x", KS_E_BAD_REQUEST, NULL, NULL},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        ks_fcgi_media m;
        const char *why;
        ks_result r = ks_fcgi_media_parse(rows[i].ct, &m, &why);
        CHECK(r == rows[i].want, "%s: got %s", rows[i].ct, ks_result_name(r));
        if (r == KS_OK) {
            CHECK_STR(m.type, rows[i].type, "%s", rows[i].ct);
            CHECK_STR(m.has_boundary ? m.boundary : NULL, rows[i].boundary, "%s", rows[i].ct);
        }
    }
}

static void test_small(void)
{
    char id[65], id2[65];
    /* kensho's own id: never taken from the request (issue 22: a raw
     * FastCGI client planted ids in the audit log). */
    ks_fcgi_request_id(id);
    ks_fcgi_request_id(id2);
    CHECK(strlen(id) == 32 && strspn(id, "0123456789abcdef") == 32, "generated: %s", id);
    CHECK(strcmp(id, id2) != 0, "two ids differ");
    char longid[200];
    memset(longid, 'x', sizeof longid - 1);
    longid[sizeof longid - 1] = '\0';
    char max64[65];
    memset(max64, 'a', 64);
    max64[64] = '\0';
    /* The caller's id is kept only as it came, or dropped whole. */
    static const struct {
        const char *in;
        int kept;
    } ids[] = {
        {"abc-DEF-123", 1},
        {"0123456789abcdef0123456789abcdef", 1}, /* nginx $request_id */
        {"a.b_c-d", 1},
        {NULL, 1}, /* max64 below */
        {"a\r\nb\"c<d>", 0},
        {"", 0},
        {"-leading-dash", 0},
        {".hidden", 0},
        {"has space", 0},
        {"quote\"", 0},
        {"tab\tx", 0},
        {"\xe6\xa4\x9c", 0}, /* UTF-8 */
        {NULL, 0}, /* longid below: 199 characters */
    };
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        const char *in = ids[i].in ? ids[i].in : ids[i].kept ? max64 : longid;
        int got = ks_fcgi_client_request_id(in, id);
        CHECK(got == ids[i].kept, "client id row %zu: kept %d", i, got);
        CHECK(strcmp(id, got ? in : "") == 0, "client id row %zu: \"%s\"", i, id);
    }
    CHECK(!ks_fcgi_client_request_id(NULL, id), "NULL dropped");

    const char *deep = "[[[[\"]]]]]]]]\"]]]]";
    CHECK(ks_fcgi_json_depth_ok((const uint8_t *)deep, strlen(deep), 4), "strings do not count");
    CHECK(!ks_fcgi_json_depth_ok((const uint8_t *)deep, strlen(deep), 3), "depth 4 > 3");

    ks_fcgi_arena *a = ks_fcgi_arena_new(1 << 20);
    uint8_t *out;
    size_t len;
    CHECK(ks_fcgi_b64_decode(a, "aGVs\nbG8=", 9, &out, &len) == KS_OK && len == 5 && memcmp(out, "hello", 5) == 0,
          "base64 with a line break");
    CHECK(ks_fcgi_b64_decode(a, "aGVsbG8=-junk", 13, &out, &len) == KS_E_ENCODING, "'-' is not base64");
    CHECK(ks_fcgi_b64_decode(a, "a", 1, &out, &len) != KS_OK, "truncated base64");
    /* the cap holds */
    CHECK(ks_fcgi_arena_alloc(a, 2 << 20) == NULL, "over the cap");
    CHECK(ks_fcgi_arena_alloc(a, 512 << 10) != NULL, "under the cap");
    CHECK(ks_fcgi_arena_held(a) > KS_FCGI_ARENA_CHUNK, "a large request holds more than the small chunk");
    ks_fcgi_arena_reset(a);
    CHECK(ks_fcgi_arena_held(a) == KS_FCGI_ARENA_CHUNK, "reset keeps the small chunk only");
    CHECK(ks_fcgi_arena_alloc(a, 900 << 10) != NULL, "cap is per request");
    ks_fcgi_arena_free(a);
}

/* service.allow_from: parsing and matching, then the settings that need it. */
static void test_allow_from(void)
{
    static const struct {
        const char *net;
        int valid;
        const char *peer; /* NULL: no peer row */
        int family;
        int allowed;
    } rows[] = {
        {"192.0.2.7", 1, "192.0.2.7", AF_INET, 1},
        {"192.0.2.7", 1, "192.0.2.8", AF_INET, 0},
        {"10.0.0.0/8", 1, "10.255.1.2", AF_INET, 1},
        {"10.0.0.0/8", 1, "11.0.0.1", AF_INET, 0},
        {"192.0.2.128/25", 1, "192.0.2.129", AF_INET, 1},
        {"192.0.2.128/25", 1, "192.0.2.127", AF_INET, 0},
        {"0.0.0.0/0", 1, "203.0.113.9", AF_INET, 1},
        {"192.0.2.0/24", 1, "::ffff:192.0.2.5", AF_INET6, 1}, /* v4-mapped peer */
        {"192.0.2.0/24", 1, "2001:db8::1", AF_INET6, 0},
        {"2001:db8::/32", 1, "2001:db8:1::5", AF_INET6, 1},
        {"2001:db8::/32", 1, "2001:db9::5", AF_INET6, 0},
        {"2001:db8::/32", 1, "192.0.2.1", AF_INET, 0},
        {"10.1.2.3/8", 0, NULL, 0, 0}, /* host bits set: would widen silently */
        {"10.0.0.0/33", 0, NULL, 0, 0},
        {"10.0.0.0/", 0, NULL, 0, 0},
        {"10.0.0.0/-1", 0, NULL, 0, 0},
        {"10.0.0.0/ 8", 0, NULL, 0, 0},
        {"10.0.0", 0, NULL, 0, 0},
        {"example.org", 0, NULL, 0, 0},
        {"", 0, NULL, 0, 0},
        {"/8", 0, NULL, 0, 0},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        ks_fcgi_net n;
        int ok = ks_fcgi_net_parse(rows[i].net, &n);
        CHECK(ok == rows[i].valid, "%s: valid %d", rows[i].net, ok);
        if (!ok || rows[i].peer == NULL)
            continue;
        struct sockaddr_storage ss;
        memset(&ss, 0, sizeof ss);
        size_t len;
        if (rows[i].family == AF_INET) {
            struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
            sin->sin_family = AF_INET;
            inet_pton(AF_INET, rows[i].peer, &sin->sin_addr);
            len = sizeof *sin;
        } else {
            struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
            sin6->sin6_family = AF_INET6;
            inet_pton(AF_INET6, rows[i].peer, &sin6->sin6_addr);
            len = sizeof *sin6;
        }
        CHECK(ks_fcgi_peer_allowed(&n, 1, (struct sockaddr *)&ss, len) == rows[i].allowed, "%s from %s: allowed %d",
              rows[i].net, rows[i].peer, !rows[i].allowed);
    }
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    CHECK(ks_fcgi_peer_allowed(NULL, 0, (struct sockaddr *)&sun, sizeof sun), "a unix peer is the file mode's");
    struct sockaddr_in sin = {.sin_family = AF_INET};
    CHECK(!ks_fcgi_peer_allowed(NULL, 0, (struct sockaddr *)&sin, sizeof sin), "an empty list admits no TCP peer");

    static const struct {
        const char *listen;
        int loopback;
    } lb[] = {{"127.0.0.1:9000", 1}, {"127.1.2.3:9000", 1}, {"0.0.0.0:9000", 0}, {"192.0.2.1:9000", 0},
              {"9000", 0}, {"[::1]:9000", 1}};
    for (size_t i = 0; i < sizeof lb / sizeof lb[0]; i++)
        CHECK(ks_fcgi_listen_is_loopback(lb[i].listen) == lb[i].loopback, "%s loopback", lb[i].listen);

    /* The settings: a non-loopback listen without allow_from refuses to load. */
    static const struct {
        const char *service;
        ks_result want;
        const char *err_has;
        size_t n_allow;
        int drain_ms;
    } cfgs[] = {
        {"{\"listen\": \"127.0.0.1:9000\"}", KS_OK, NULL, 0, 2000},
        {"{\"listen\": \"0.0.0.0:9000\"}", KS_E_CONFIG, "service.allow_from", 0, 0},
        {"{\"listen\": \"192.0.2.1:9000\"}", KS_E_CONFIG, "service.allow_from", 0, 0},
        {"{\"listen\": \"0.0.0.0:9000\", \"allow_from\": [\"10.0.0.0/8\", \"192.0.2.7\"]}", KS_OK, NULL, 2, 2000},
        {"{\"listen\": \"0.0.0.0:9000\", \"allow_from\": []}", KS_E_CONFIG, "service.allow_from", 0, 0},
        {"{\"allow_from\": [\"10.1.0.0/8\"]}", KS_E_CONFIG, "10.1.0.0/8", 0, 0},
        {"{\"allow_from\": \"10.0.0.0/8\"}", KS_E_CONFIG, "service.allow_from", 0, 0},
        {"{\"drain_ms\": 0}", KS_OK, NULL, 0, 0},
        {"{\"drain_ms\": 600001}", KS_E_CONFIG, "service.drain_ms", 0, 0},
    };
    char dir[] = "/tmp/kensho-allow-XXXXXX", cfg[256];
    if (mkdtemp(dir) == NULL) {
        CHECK(0, "mkdtemp");
        return;
    }
    snprintf(cfg, sizeof cfg, "%s/c.json", dir);
    for (size_t i = 0; i < sizeof cfgs / sizeof cfgs[0]; i++) {
        FILE *f = fopen(cfg, "w");
        fprintf(f, "{\"trust_anchors\": [\"%s/anchors\"], \"revocation\": {\"mode\": \"off\"},"
                   " \"audit\": {\"required\": false}, \"service\": %s}", pki, cfgs[i].service);
        fclose(f);
        ks_fcgi_gen *g = NULL;
        char *err = NULL;
        ks_result r = ks_fcgi_gen_load(cfg, &g, &err);
        CHECK(r == cfgs[i].want, "%s: %s (%s)", cfgs[i].service, ks_result_name(r), t_str(err));
        if (cfgs[i].err_has != NULL)
            CHECK(err != NULL && strstr(err, cfgs[i].err_has) != NULL, "%s: error names %s: %s", cfgs[i].service,
                  cfgs[i].err_has, t_str(err));
        if (r == KS_OK && g != NULL) {
            CHECK(g->set.n_allow_from == cfgs[i].n_allow, "%s: %zu entries", cfgs[i].service, g->set.n_allow_from);
            CHECK(g->set.drain_ms == cfgs[i].drain_ms, "%s: drain_ms %d", cfgs[i].service, g->set.drain_ms);
        }
        free(err);
        ks_fcgi_gen_unref(g);
    }
    unlink(cfg);
    rmdir(dir);
}

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    if (f == NULL)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0) {
        long n = ftell(f);
        rewind(f);
        buf = n >= 0 ? malloc((size_t)n + 1) : NULL;
        if (buf != NULL && fread(buf, 1, (size_t)n, f) != (size_t)n) {
            free(buf);
            buf = NULL;
        }
        *len = (size_t)n;
    }
    fclose(f);
    return buf;
}

static time_t t_pinned_clock(void *arg)
{
    return *(const time_t *)arg;
}

/* ks_fcgi_read_body over a buffer, as main.c over libfcgi's stream. */
typedef struct {
    const char *p;
    size_t len, off;
} t_stream;

static int t_stream_read(void *arg, char *buf, int n)
{
    t_stream *st = arg;
    size_t k = st->len - st->off < (size_t)n ? st->len - st->off : (size_t)n;
    if (k > 7) /* short reads, as a socket gives them */
        k = 7;
    memcpy(buf, st->p + st->off, k);
    st->off += k;
    return (int)k;
}

static void test_read_body(void)
{
    static const struct {
        const char *what, *clen, *data;
        size_t max, cap;
        ks_result want;
        size_t len;
    } rows[] = {
        {"exact", "10", "0123456789", 100, 1 << 20, KS_OK, 10},
        {"no length, no body", NULL, "", 100, 1 << 20, KS_OK, 0},
        {"empty length", "", "", 100, 1 << 20, KS_OK, 0},
        {"at max", "100", NULL, 100, 1 << 20, KS_OK, 100},
        {"one past max", "101", NULL, 100, 1 << 20, KS_E_TOO_LARGE, 0},
        {"20 digits", "99999999999999999999", "", 100, 1 << 20, KS_E_TOO_LARGE, 0},
        {"not a number", "1x", "1", 100, 1 << 20, KS_E_BAD_REQUEST, 0},
        {"negative", "-1", "", 100, 1 << 20, KS_E_BAD_REQUEST, 0},
        {"short body", "10", "01234", 100, 1 << 20, KS_E_BAD_REQUEST, 0},
        {"long body", "10", "0123456789X", 100, 1 << 20, KS_E_BAD_REQUEST, 0},
        /* within max_body_bytes, but the arena cannot hold it: memory,
         * not a size refusal (was 413) */
        {"arena exhausted", "100000", NULL, 1 << 20, KS_FCGI_ARENA_CHUNK, KS_E_NOMEM, 0},
    };
    static char filler[100000];
    memset(filler, 'f', sizeof filler);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        ks_fcgi_arena *a = ks_fcgi_arena_new(rows[i].cap);
        size_t want_len = rows[i].data ? strlen(rows[i].data) : strtoul(rows[i].clen, NULL, 10);
        t_stream st = {rows[i].data ? rows[i].data : filler, want_len, 0};
        uint8_t *body = NULL;
        size_t len = 99;
        ks_result r = ks_fcgi_read_body(a, rows[i].clen, rows[i].max, t_stream_read, &st, &body, &len);
        CHECK(r == rows[i].want, "read body, %s: %s, want %s", rows[i].what, ks_result_name(r),
              ks_result_name(rows[i].want));
        CHECK(len == rows[i].len, "read body, %s: length %zu", rows[i].what, len);
        if (r == KS_OK)
            CHECK(body != NULL && body[len] == '\0' && memcmp(body, st.p, len) == 0, "read body, %s: bytes",
                  rows[i].what);
        else
            CHECK(body == NULL, "read body, %s: no body", rows[i].what);
        ks_fcgi_arena_free(a);
    }
}

/* Runs fn with stderr sent to a file; returns the file's text (caller frees). */
static char *t_capture_stderr(void (*fn)(void))
{
    char path[] = "/tmp/kensho-log-unit-XXXXXX";
    int fd = mkstemp(path), saved = dup(STDERR_FILENO);
    if (fd < 0 || saved < 0)
        return NULL;
    fflush(stderr);
    dup2(fd, STDERR_FILENO);
    fn();
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    size_t len = 0;
    char *text = (char *)slurp(path, &len);
    if (text != NULL)
        text[len] = '\0';
    close(fd);
    unlink(path);
    return text;
}

static void t_log_lines(void)
{
    /* what kensho-fcgi logs per request, with hostile bytes where a client
     * or a file could put some: quotes, a line feed, invalid UTF-8 */
    const ks_log_field f[] = {
        {.key = "request_id", .str = "abc-123"},
        {.key = "route", .str = "verify"},
        {.key = "status", .num = 200, .is_num = 1},
        {.key = "indication", .str = "TOTAL_PASSED"},
        {.key = "code", .str = NULL},
        {.key = "duration_ms", .num = 12.5, .is_num = 1},
    };
    ks_log_fields(KS_LOG_INFO, "request", f, sizeof f / sizeof f[0]);
    ks_log(KS_LOG_WARN, "file \"%s\"\nforged line \xff\xfe %s", "/tmp/a\"b", "\xe6\xa4\x9c\xe8\xa8\xbc");
    ks_log(KS_LOG_DEBUG, "below the level: dropped");
}

static void t_log_text(void)
{
    ks_log_setup(KS_LOG_TEXT, KS_LOG_WARN);
    const ks_log_field f[] = {{.key = "status", .num = 413, .is_num = 1}, {.key = "code", .str = "KS_E_TOO_LARGE"}};
    ks_log_fields(KS_LOG_INFO, "request", f, 2); /* below warn */
    ks_log_fields(KS_LOG_ERR, "request", f, 2);
}

static void test_log(void)
{
    unsetenv("JOURNAL_STREAM");
    ks_log_setup(KS_LOG_JSON, KS_LOG_INFO);
    char *text = t_capture_stderr(t_log_lines);
    CHECK(text != NULL, "log captured");
    int lines = 0;
    for (char *save = NULL, *ln = text ? strtok_r(text, "\n", &save) : NULL; ln != NULL;
         ln = strtok_r(NULL, "\n", &save), lines++) {
        cJSON *o = cJSON_Parse(ln);
        CHECK(cJSON_IsObject(o), "log line %d is one JSON object: %s", lines, ln);
        const char *ts = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "timestamp"));
        time_t t = 0;
        CHECK(ts != NULL && strlen(ts) == 24 && ks_time_parse(ts, &t) == KS_OK && llabs((long long)(t - time(NULL))) < 60,
              "line %d: timestamp RFC 3339 UTC with milliseconds: %s", lines, t_str(ts));
        const char *lvl = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "level"));
        if (lines == 0) {
            CHECK_STR(lvl, "info", "request line level");
            CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "msg")), "request", "msg");
            CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "request_id")), "abc-123", "request_id");
            CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "route")), "verify", "route");
            CHECK(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(o, "status")) == 200, "status");
            CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "indication")), "TOTAL_PASSED",
                      "indication");
            CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, "code")), "no code: null");
            CHECK(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(o, "duration_ms")) == 12.5, "duration_ms");
        } else {
            CHECK_STR(lvl, "warn", "free text line level");
            const char *msg = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "msg"));
            CHECK(msg != NULL && strstr(msg, "/tmp/a\"b") != NULL && strstr(msg, "\nforged line ?? ") != NULL,
                  "quotes and line feed kept inside the string, invalid UTF-8 replaced: %s", t_str(msg));
        }
        cJSON_Delete(o);
    }
    CHECK(lines == 2, "2 lines (debug dropped at level info): %d", lines);
    free(text);
    text = t_capture_stderr(t_log_text);
    CHECK_STR(text, "kensho: error: request status=413 code=KS_E_TOO_LARGE\n", "text format, level warn");
    free(text);
    /* Under systemd (JOURNAL_STREAM names our stderr) each line carries its
     * sd-daemon priority for the journal. */
    char path[] = "/tmp/kensho-journal-unit-XXXXXX";
    int fd = mkstemp(path);
    struct stat st;
    if (fd >= 0 && fstat(fd, &st) == 0) {
        char js[64];
        snprintf(js, sizeof js, "%llu:%llu", (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
        int saved = dup(STDERR_FILENO);
        dup2(fd, STDERR_FILENO);
        setenv("JOURNAL_STREAM", js, 1);
        ks_log_setup(KS_LOG_JSON, KS_LOG_INFO);
        ks_log(KS_LOG_ERR, "to the journal");
        dup2(saved, STDERR_FILENO);
        close(saved);
        size_t len = 0;
        char *j = (char *)slurp(path, &len);
        CHECK(j != NULL && len > 4 && strncmp(j, "<3>{", 4) == 0, "journald priority prefix: %.40s", j ? j : "");
        free(j);
    }
    if (fd >= 0) {
        close(fd);
        unlink(path);
    }
    unsetenv("JOURNAL_STREAM");
    ks_log_setup(KS_LOG_TEXT, KS_LOG_INFO);
}

/* Settles a verdict that waits for its audit record, as kensho-fcgi does. */
static void settle(ks_fcgi_gen *g, ks_fcgi_arena *a, const ks_fcgi_req *req, ks_fcgi_resp *resp)
{
    if (resp->audit_seq == 0)
        return;
    ks_result r = ks_audit_synced(g->audit, resp->audit_seq);
    CHECK(r == KS_OK, "audit record synced: %s", ks_result_name(r));
    if (r != KS_OK)
        (void)ks_fcgi_audit_failed(g, a, req, resp, r);
}

/* One request through the handler: status, and a string field of the answer. */
static void expect(ks_fcgi_gen *g, const char *method, const char *path, const char *query, const char *ctype,
                   const uint8_t *body, size_t len, int status, const char *key, const char *value)
{
    ks_fcgi_arena *a = ks_fcgi_arena_new(64 << 20);
    ks_fcgi_req req = {.method = method, .path = path, .query = query ? query : "", .content_type = ctype,
                       .request_id = "unit-1", .body = body, .body_len = len};
    ks_fcgi_resp resp;
    ks_fcgi_handle(g, a, &req, &resp);
    settle(g, a, &req, &resp);
    CHECK(resp.status == status, "%s %s (%s): status %d, want %d: %.300s", method, path, t_str(ctype), resp.status,
          status, resp.body);
    if (key != NULL) {
        cJSON *doc = cJSON_ParseWithLength(resp.body, resp.body_len);
        CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(doc, key)), value, "%s %s: %s", method, path,
                  key);
        cJSON_Delete(doc);
    }
    if (status == 405)
        CHECK(resp.allow != NULL, "405 has Allow");
    ks_fcgi_arena_free(a);
}

static void test_handler(void)
{
    char dir[] = "/tmp/kensho-fcgi-unit-XXXXXX", cfg[256], audit[256], path[512];
    if (mkdtemp(dir) == NULL) {
        CHECK(0, "mkdtemp");
        return;
    }
    snprintf(cfg, sizeof cfg, "%s/c.json", dir);
    snprintf(audit, sizeof audit, "%s/audit.log", dir);
    FILE *f = fopen(cfg, "w");
    fprintf(f,
            "{\"trust_anchors\": [\"%s/anchors\"], \"intermediates\": [\"%s/intermediates\"],"
            " \"revocation\": {\"mode\": \"off\"}, \"audit\": {\"path\": \"audit.log\", \"fsync\": \"always\"},"
            " \"limits\": {\"max_parts\": 4}}",
            pki, pki);
    fclose(f);
    ks_fcgi_gen *g = NULL;
    char *err = NULL;
    ks_result r = ks_fcgi_gen_load(cfg, &g, &err);
    CHECK(r == KS_OK, "load: %s", t_str(err));
    free(err);
    if (r != KS_OK)
        return;
    CHECK_STR(g->set.audit_path, audit, "relative audit path");
    /* The audit record's time comes from the injected clock: pinned an hour
     * and a half back (inside every test certificate's validity), no
     * record may carry the wall clock's time. */
    static time_t pinned;
    pinned = time(NULL) - 5400;
    ks_ctx_set_clock(g->ctx, t_pinned_clock, &pinned);
    size_t slen = 0, dlen = 0, clen = 0;
    snprintf(path, sizeof path, "%s/sig-attached-rsa.p7m", pki);
    uint8_t *sig = slurp(path, &slen);
    snprintf(path, sizeof path, "%s/sig-detached-rsa.p7s", pki);
    uint8_t *det = slurp(path, &dlen);
    snprintf(path, sizeof path, "%s/doc.txt", pki);
    uint8_t *doc = slurp(path, &clen);
    CHECK(sig && det && doc, "fixtures");
    if (sig && det && doc) {
        expect(g, "GET", "/healthz", NULL, NULL, NULL, 0, 200, "status", "ok");
        expect(g, "GET", "/readyz", NULL, NULL, NULL, 0, 200, "status", "ready");
        expect(g, "GET", "/nope", NULL, NULL, NULL, 0, 404, "code", "HTTP_NOT_FOUND");
        expect(g, "GET", "/api/v1/verify", NULL, NULL, NULL, 0, 405, "code", "HTTP_METHOD_NOT_ALLOWED");
        expect(g, "POST", "/api/v1/verify", NULL, "application/pkcs7-mime", sig, slen, 200, "indication",
               "TOTAL_PASSED");
        expect(g, "POST", "/api/v1/verify", "at=2001-01-01T09%3A00%3A00%2B09:00", "application/pkcs7-mime", sig, slen,
               200, "subindication", "NOT_YET_VALID");
        expect(g, "POST", "/api/v1/verify", "at=yesterday", "application/pkcs7-mime", sig, slen, 400, "code",
               "KS_E_BAD_TIME");
        expect(g, "POST", "/api/v1/verify", "colour=blue", "application/pkcs7-mime", sig, slen, 400, "code",
               "KS_E_BAD_REQUEST");
        expect(g, "POST", "/api/v1/verify", NULL, "text/plain", sig, slen, 415, "code", "KS_E_UNSUPPORTED");
        expect(g, "POST", "/api/v1/verify", NULL, "application/octet-stream", (const uint8_t *)"hello", 5, 400,
               "code", "KS_E_ENCODING");
        /* multipart: detached signature + content, and a tampered content */
        size_t cap = dlen + clen + 1024, n = 0;
        uint8_t *mp = malloc(cap);
        n += (size_t)snprintf((char *)mp, cap,
                              "--XyZ\r\nContent-Disposition: form-data; name=\"signature\"; filename=\"s.p7s\"\r\n\r\n");
        memcpy(mp + n, det, dlen);
        n += dlen;
        n += (size_t)snprintf((char *)mp + n, cap - n,
                              "\r\n--XyZ\r\nContent-Disposition: form-data; name=\"content\"; filename=\"doc.txt\"\r\n\r\n");
        size_t content_at = n;
        memcpy(mp + n, doc, clen);
        n += clen;
        n += (size_t)snprintf((char *)mp + n, cap - n, "\r\n--XyZ--\r\n");
        expect(g, "POST", "/api/v1/verify", NULL, "multipart/form-data; boundary=XyZ", mp, n, 200, "indication",
               "TOTAL_PASSED");
        mp[content_at + 10] ^= 1;
        expect(g, "POST", "/api/v1/verify", NULL, "multipart/form-data; boundary=XyZ", mp, n, 200, "subindication",
               "HASH_FAILURE");
        expect(g, "POST", "/api/v1/verify", NULL, "multipart/form-data", mp, n, 400, "code", "KS_E_BAD_REQUEST");
        free(mp);
        /* JSON */
        const char *j1 = "{\"signature\": 42}";
        expect(g, "POST", "/api/v1/verify", NULL, "application/json", (const uint8_t *)j1, strlen(j1), 400, "code",
               "KS_E_BAD_REQUEST");
        const char *j2 = "{\"signature\": \"QQ==\", \"signature\": \"QQ==\"}";
        expect(g, "POST", "/api/v1/verify", NULL, "application/json", (const uint8_t *)j2, strlen(j2), 400, "code",
               "KS_E_BAD_REQUEST");
        char deep[64] = "";
        for (int i = 0; i < 20; i++)
            strcat(deep, "[");
        expect(g, "POST", "/api/v1/verify", NULL, "application/json", (const uint8_t *)deep, strlen(deep), 413, "code",
               "KS_E_LIMIT");
        /* certificate */
        snprintf(path, sizeof path, "%s/citizen-rsa.pem", pki);
        size_t plen = 0;
        uint8_t *pem = slurp(path, &plen);
        if (pem != NULL) {
            expect(g, "POST", "/api/v1/certificate", NULL, "application/x-pem-file", pem, plen, 200, "indication",
                   "TOTAL_PASSED");
            free(pem);
        }
        /* How reading the body went (ks_fcgi_read_body) becomes the answer
         * through the one result table: a size refusal is not memory. */
        static const struct {
            ks_result body;
            int status;
            const char *code;
        } brows[] = {
            {KS_E_TOO_LARGE, 413, "KS_E_TOO_LARGE"},
            {KS_E_BAD_REQUEST, 400, "KS_E_BAD_REQUEST"},
            {KS_E_NOMEM, 500, "KS_E_NOMEM"},
        };
        for (size_t i = 0; i < sizeof brows / sizeof brows[0]; i++) {
            ks_fcgi_arena *a = ks_fcgi_arena_new(1 << 20);
            ks_fcgi_req big = {.method = "POST", .path = "/api/v1/verify", .query = "",
                               .content_type = "application/json", .request_id = "unit-2",
                               .body_result = brows[i].body};
            ks_fcgi_resp resp;
            ks_fcgi_handle(g, a, &big, &resp);
            cJSON *pd = cJSON_ParseWithLength(resp.body, resp.body_len);
            CHECK(resp.status == brows[i].status, "body %s: status %d, want %d", ks_result_name(brows[i].body),
                  resp.status, brows[i].status);
            CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(pd, "code")), brows[i].code,
                      "body %s: code", ks_result_name(brows[i].body));
            CHECK(resp.audit_seq == 0 && resp.indication == NULL, "body %s: no verdict, no record",
                  ks_result_name(brows[i].body));
            cJSON_Delete(pd);
            ks_fcgi_arena_free(a);
        }
    }
    ks_fcgi_gen_unref(g);
    /* the audit chain: 1 raw + 1 at + 2 multipart + 1 certificate verdicts */
    cJSON *rep = NULL;
    CHECK(ks_audit_check_file(audit, &rep) == KS_OK, "audit-verify");
    CHECK(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(rep, "intact")), "chain intact");
    CHECK(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(rep, "lines")) == 5, "5 records");
    cJSON_Delete(rep);
    char want_time[32];
    ks_time_format(pinned, want_time, sizeof want_time);
    FILE *af = fopen(audit, "r");
    char line[16384];
    int nrec = 0, pinned_ok = 0;
    while (af != NULL && fgets(line, sizeof line, af) != NULL) {
        cJSON *rec = cJSON_Parse(line);
        const char *tm = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(rec, "time"));
        nrec++;
        pinned_ok += tm != NULL && strcmp(tm, want_time) == 0;
        cJSON_Delete(rec);
    }
    if (af != NULL)
        fclose(af);
    CHECK(nrec == 5 && pinned_ok == 5, "audit time from the injected clock: %d of %d records at %s", pinned_ok, nrec,
          want_time);
    /* a reopened log continues the chain */
    ks_audit *au = NULL;
    err = NULL;
    CHECK(ks_audit_open(audit, KS_AUDIT_FSYNC_NEVER, &au, &err) == KS_OK, "reopen");
    ks_blob in = {.data = (const uint8_t *)"x", .len = 1};
    ks_audit_event ev = {.time = 0, .request_id = "r", .kind = "signature", .input = &in};
    CHECK(ks_audit_append(au, &ev) == KS_OK, "append after reopen");
    ks_audit_close(au);
    free(err);
    CHECK(ks_audit_check_file(audit, &rep) == KS_OK && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(rep, "intact")),
          "still intact");
    cJSON_Delete(rep);
    free(sig);
    free(det);
    free(doc);
    unlink(audit);
    unlink(cfg);
    rmdir(dir);
}

/*
 * Group commit: threads write records and leave a wait for each, several
 * outstanding at once, as kensho-fcgi's workers do.  Every wait must be
 * answered exactly once, KS_OK, after its own record; the syncs must be
 * shared (fewer than the records); the chain must hold.
 */
enum { T_AUDIT_THREADS = 8, T_AUDIT_RECORDS = 200 };

typedef struct {
    atomic_int answered, failed;
} t_answer;

typedef struct {
    ks_audit *audit;
    ks_audit_wait waits[T_AUDIT_RECORDS];
    t_answer answers[T_AUDIT_RECORDS];
    int write_errors;
} t_audit_worker;

static void t_audit_done(void *arg, ks_result r)
{
    t_answer *a = arg;
    if (r != KS_OK)
        atomic_fetch_add(&a->failed, 1);
    atomic_fetch_add(&a->answered, 1);
}

static void *t_audit_thread(void *arg)
{
    t_audit_worker *w = arg;
    ks_blob in = {.data = (const uint8_t *)"filing", .len = 6};
    for (int i = 0; i < T_AUDIT_RECORDS; i++) {
        ks_audit_event ev = {.time = 0, .request_id = "group", .kind = "signature", .input = &in};
        unsigned long long seq = 0;
        if (ks_audit_write(w->audit, &ev, &seq) != KS_OK || seq == 0) {
            w->write_errors++;
            continue;
        }
        w->waits[i] = (ks_audit_wait){.done = t_audit_done, .arg = &w->answers[i]};
        ks_audit_when_synced(w->audit, seq, &w->waits[i]);
    }
    return NULL;
}

static void test_audit_group_commit(void)
{
    char dir[] = "/tmp/kensho-audit-unit-XXXXXX", path[256];
    if (mkdtemp(dir) == NULL) {
        CHECK(0, "mkdtemp");
        return;
    }
    snprintf(path, sizeof path, "%s/audit.log", dir);
    ks_audit *au = NULL;
    char *err = NULL;
    CHECK(ks_audit_open(path, KS_AUDIT_FSYNC_ALWAYS, &au, &err) == KS_OK, "open: %s", t_str(err));
    free(err);
    if (au == NULL)
        return;
    t_audit_worker *ws = calloc(T_AUDIT_THREADS, sizeof *ws);
    pthread_t tids[T_AUDIT_THREADS];
    for (int t = 0; t < T_AUDIT_THREADS; t++) {
        ws[t].audit = au;
        pthread_create(&tids[t], NULL, t_audit_thread, &ws[t]);
    }
    for (int t = 0; t < T_AUDIT_THREADS; t++)
        pthread_join(tids[t], NULL);
    /* Every thread has returned: whoever led a sync answered every wait it
     * covered before returning, so nothing may be left unanswered. */
    int once = 1, errors = 0;
    for (int t = 0; t < T_AUDIT_THREADS; t++) {
        errors += ws[t].write_errors;
        for (int i = 0; i < T_AUDIT_RECORDS; i++) {
            once &= atomic_load(&ws[t].answers[i].answered) == 1;
            errors += atomic_load(&ws[t].answers[i].failed);
        }
    }
    CHECK(errors == 0, "every record written and synced: %d errors", errors);
    CHECK(once, "every wait answered exactly once");
    unsigned long long records = 0, syncs = 0;
    ks_audit_stats(au, &records, &syncs);
    CHECK(records == T_AUDIT_THREADS * T_AUDIT_RECORDS, "records %llu", records);
    CHECK(syncs >= 1 && syncs < records, "syncs shared: %llu for %llu records", syncs, records);
    /* fsync "never": nothing to wait for */
    ks_audit *nv = NULL;
    CHECK(ks_audit_open(path, KS_AUDIT_FSYNC_NEVER, &nv, &err) == KS_OK, "reopen never");
    free(err);
    ks_blob in = {.data = (const uint8_t *)"x", .len = 1};
    ks_audit_event ev = {.time = 0, .request_id = "r", .kind = "signature", .input = &in};
    unsigned long long seq = 99;
    CHECK(ks_audit_write(nv, &ev, &seq) == KS_OK && seq == 0, "never: written, no ticket (%llu)", seq);
    ks_audit_close(nv);
    cJSON *rep = NULL;
    CHECK(ks_audit_check_file(path, &rep) == KS_OK && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(rep, "intact")) &&
              cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(rep, "lines")) ==
                  T_AUDIT_THREADS * T_AUDIT_RECORDS + 1,
          "chain intact across the group commit");
    cJSON_Delete(rep);
    ks_audit_close(au);
    free(ws);
    unlink(path);
    rmdir(dir);
}

/* Lines in the file and whether audit-verify finds the chain intact. */
static int t_audit_lines(const char *path, int *intact)
{
    cJSON *rep = NULL;
    int lines = -1;
    *intact = 0;
    if (ks_audit_check_file(path, &rep) == KS_OK) {
        *intact = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(rep, "intact"));
        lines = (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(rep, "lines"));
    }
    cJSON_Delete(rep);
    return lines;
}

/*
 * Two handles on one file, as two kensho-fcgi processes (or an old and a
 * new generation during a reload) have it: records taken by one handle are
 * written with its next round and must chain onto whatever the other wrote
 * meanwhile.  Each step: which handle, what it does, then the lines the
 * file holds and its chain intact.
 */
static void test_audit_two_handles(void)
{
    enum { TAKE, SYNC, CLOSE };
    static const struct {
        int h; /* 0: fsync always, 1: fsync never (written at once) */
        int op;
        int lines;
    } steps[] = {
        {0, TAKE, 0},  /* taken, not written until its round */
        {1, TAKE, 1},  /* the other handle writes at once */
        {0, TAKE, 1},
        {0, SYNC, 3},  /* both of the first handle's, after the other's line */
        {1, TAKE, 4},  /* the other handle re-reads the tail it did not write */
        {0, TAKE, 4},
        {0, CLOSE, 5}, /* taken and never waited for: written at close */
        {1, TAKE, 6},
    };
    char dir[] = "/tmp/kensho-audit-two-XXXXXX", path[256];
    if (mkdtemp(dir) == NULL) {
        CHECK(0, "mkdtemp");
        return;
    }
    snprintf(path, sizeof path, "%s/audit.log", dir);
    ks_audit *h[2] = {NULL, NULL};
    char *err = NULL;
    CHECK(ks_audit_open(path, KS_AUDIT_FSYNC_ALWAYS, &h[0], &err) == KS_OK, "open always: %s", t_str(err));
    free(err);
    err = NULL;
    CHECK(ks_audit_open(path, KS_AUDIT_FSYNC_NEVER, &h[1], &err) == KS_OK, "open never: %s", t_str(err));
    free(err);
    ks_blob in = {.data = (const uint8_t *)"x", .len = 1};
    ks_audit_event ev = {.time = 0, .request_id = "r", .kind = "signature", .input = &in};
    unsigned long long last = 0;
    for (size_t i = 0; h[0] != NULL && h[1] != NULL && i < sizeof steps / sizeof steps[0]; i++) {
        ks_audit *a = h[steps[i].h];
        unsigned long long seq = 0;
        if (steps[i].op == TAKE) {
            CHECK(ks_audit_write(a, &ev, &seq) == KS_OK, "step %zu: take", i);
            CHECK((seq != 0) == (steps[i].h == 0), "step %zu: a ticket only to wait for (%llu)", i, seq);
            if (seq != 0)
                last = seq;
        } else if (steps[i].op == SYNC) {
            CHECK(ks_audit_synced(a, last) == KS_OK, "step %zu: synced", i);
        } else {
            ks_audit_close(a);
            h[steps[i].h] = NULL;
        }
        int intact = 0, lines = t_audit_lines(path, &intact);
        CHECK(lines == steps[i].lines && intact, "step %zu: %d lines (want %d), intact %d", i, lines, steps[i].lines,
              intact);
    }
    ks_audit_close(h[0]);
    ks_audit_close(h[1]);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    pki = t_env("PKI", "build/pki");
    if (access(pki, R_OK) != 0) {
        fprintf(stderr, "no test PKI at %s (make pki)\n", pki);
        return 2;
    }
    test_multipart();
    test_media();
    test_small();
    test_allow_from();
    test_read_body();
    test_log();
    test_handler();
    test_audit_group_commit();
    test_audit_two_handles();
    return t_done("test_fcgi_unit");
}
