/*
 * tests/test_unit.c - the small pieces, table-driven: RFC 3339 parsing, the
 * cursor, UTF-8 validation, the result table's mappings and configuration
 * errors (each must name the key or file at fault).
 */
#include <unistd.h>

#include "internal.h"
#include "testlib.h"

static void test_time(void)
{
    static const struct {
        const char *in;
        ks_result want;
        time_t t;
    } rows[] = {
        {"2026-03-15T00:00:00Z", KS_OK, 1773532800},
        {"2026-03-15T09:00:00+09:00", KS_OK, 1773532800},
        {"2026-03-14T15:00:00-09:00", KS_OK, 1773532800},
        {"2026-03-15T00:00:00.123456Z", KS_OK, 1773532800},
        {"2011-04-15t00:00:00z", KS_OK, 1302825600},
        {"2024-02-29T00:00:00Z", KS_OK, 1709164800},
        {"2023-02-29T00:00:00Z", KS_E_BAD_TIME, 0},
        {"2026-13-01T00:00:00Z", KS_E_BAD_TIME, 0},
        {"2026-03-15 00:00:00Z", KS_E_BAD_TIME, 0},
        {"2026-03-15T00:00:00", KS_E_BAD_TIME, 0},
        {"2026-03-15T00:00:00Zjunk", KS_E_BAD_TIME, 0},
        {"2026-03-15T24:00:00Z", KS_E_BAD_TIME, 0},
        {"2026-03-15T00:00:00.Z", KS_E_BAD_TIME, 0},
        {"", KS_E_BAD_TIME, 0},
        {"now", KS_E_BAD_TIME, 0},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        time_t t = 0;
        ks_result r = ks_time_parse(rows[i].in, &t);
        CHECK(r == rows[i].want, "%s: %s", rows[i].in, ks_result_name(r));
        if (r == KS_OK)
            CHECK(t == rows[i].t, "%s: %lld", rows[i].in, (long long)t);
    }
    char buf[32];
    ks_time_format(1773532800, buf, sizeof buf);
    CHECK_STR(buf, "2026-03-15T00:00:00Z", "format");
}

static void test_cursor(void)
{
    static const uint8_t data[] = "  -----BEGIN X";
    ks_cur c;
    ks_cur_init(&c, data, sizeof data - 1);
    CHECK(!ks_cur_starts_with(&c, "-----"), "not at the start yet");
    ks_cur_skip_space(&c);
    CHECK(ks_cur_starts_with(&c, "-----BEGIN"), "after space");
    CHECK(ks_cur_starts_with_ci(&c, "-----begin x"), "case-insensitive");
    CHECK(!ks_cur_starts_with(&c, "-----BEGIN XY"), "longer than left");
    CHECK(ks_cur_find(&c, (const uint8_t *)"X", 1) == 11, "find");
    CHECK(ks_cur_find(&c, (const uint8_t *)"XY", 2) == -1, "find past end");
    size_t before = c.off;
    CHECK(!ks_cur_skip(&c, 100), "short skip refused");
    CHECK(c.off == before, "short skip does not move");
    CHECK(ks_cur_skip(&c, ks_cur_left(&c)) && ks_cur_left(&c) == 0, "skip to end");
    ks_cur_init(&c, NULL, 10);
    CHECK(ks_cur_left(&c) == 0, "NULL is empty");
}

static void test_utf8(void)
{
    static const struct {
        const char *s;
        size_t n;
        int ok;
    } rows[] = {
        {"abc", 3, 1},
        {"\xe6\xa4\x9c\xe8\xa8\xbc", 6, 1},   /* 検証 */
        {"\xe3\x80\x80", 3, 1},               /* U+3000 */
        {"\xf0\x9f\x98\x80", 4, 1},           /* U+1F600 */
        {"\xc0\xaf", 2, 0},                   /* overlong */
        {"\xed\xa0\x80", 3, 0},               /* surrogate */
        {"\xe6\xa4", 2, 0},                   /* truncated */
        {"a\0b", 3, 0},                       /* NUL */
        {"\xff", 1, 0},
        {"\xf4\x90\x80\x80", 4, 0},           /* > U+10FFFF */
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        CHECK(ks_utf8_valid((const uint8_t *)rows[i].s, rows[i].n) == rows[i].ok, "row %zu", i);
}

static void test_result_table(void)
{
    static const struct {
        ks_result r;
        int exit_code, http;
    } rows[] = {
        {KS_OK, 0, 200},
        {KS_E_USAGE, 64, 400},
        {KS_E_EMPTY, 65, 400},
        {KS_E_NOT_SIGNATURE, 65, 400},
        {KS_E_NO_SIGNERS, 65, 400},
        {KS_E_TOO_LARGE, 65, 413},
        {KS_E_LIMIT, 65, 413},
        {KS_E_UNSUPPORTED, 65, 415},
        {KS_E_CONFIG, 78, 500},
        {KS_E_UNAVAILABLE, 69, 503},
        {KS_E_NOMEM, 70, 500},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        CHECK(ks_result_exit_code(rows[i].r) == rows[i].exit_code, "%s exit", ks_result_name(rows[i].r));
        CHECK(ks_result_http_status(rows[i].r) == rows[i].http, "%s http", ks_result_name(rows[i].r));
    }
    CHECK_STR(ks_result_name((ks_result)999), "KS_E_INTERNAL", "out of range is internal");
    cJSON *e = ks_error_json(KS_E_NO_SIGNERS, "x.p7b");
    cJSON *err = cJSON_GetObjectItemCaseSensitive(e, "error");
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(err, "code")), "KS_E_NO_SIGNERS", "code");
    cJSON_Delete(e);
    CHECK_STR(ks_subindication_name(KS_SUB_NONE), NULL, "none has no name");
    CHECK_STR(ks_subindication_name(KS_SUB_TRY_LATER), "TRY_LATER", "name");
}

/* Configuration errors name what is wrong; "@PKI@" is the PKI directory. */
static void test_config_errors(void)
{
    static const struct {
        const char *json;
        const char *must_mention;
    } rows[] = {
        {"{\"trust_anchors\": [\"@PKI@/anchors\"], \"bogus\": 1}", "bogus"},
        {"{\"trust_anchors\": \"@PKI@/anchors\"}", "trust_anchors"},
        {"{\"trust_anchors\": [\"@PKI@/no-such-file.pem\"]}", "no-such-file.pem"},
        {"{\"trust_anchors\": [\"@PKI@/doc.txt\"]}", "doc.txt"},
        {"{\"trust_anchors\": []}", "trust_anchors"},
        {"{\"trust_anchors\": [\"@PKI@/anchors\"], \"revocation\": {\"mode\": \"maybe\"}}", "revocation.mode"},
        {"{\"trust_anchors\": [\"@PKI@/anchors\"], \"revocation\": {\"timeout_ms\": -1}}", "revocation.timeout_ms"},
        {"{\"trust_anchors\": [\"@PKI@/anchors\"], \"revocation\": {\"colour\": 1}}", "revocation.colour"},
        {"{\"trust_anchors\": [\"@PKI@/anchors\"], \"revocation\": {\"allow_urls\": [\"ftp://x/\"]}}", "allow_urls"},
        {"{\"trust_anchors\": [\"@PKI@/anchors\"], \"accept_policies\": [\"not an oid\"]}", "accept_policies"},
        {"{\"trust_anchors\": [\"@PKI@/anchors\"], \"crls\": [\"@PKI@/doc.txt\"]}", "doc.txt"},
        {"{\"trust_anchors\": [\"@PKI@/anchors\"], \"limits\": {\"max_certs\": 0}}", "limits.max_certs"},
        {"{\"trust_anchors\": [\"@PKI@/anchors\"], \"algorithms\": {\"allow_sha1\": \"yes\"}}",
         "algorithms.allow_sha1"},
        {"{\"trust_anchors\": [\"@PKI@/anchors\"], \"revocation_sources\": [{\"issuer\": \"@PKI@/nope.pem\"}]}",
         "nope.pem"},
        {"{\"trust_anchors\": [\"@PKI@/anchors\"], \"revocation_sources\": [{\"ocsp\": \"http://x/\"}]}",
         "revocation_sources[0].issuer"},
        {"{\"trust_anchors\": [\"@PKI@/anchors\"], \"memcached\": [1]}", "memcached"},
        {"not json", "not a JSON object"},
    };
    const char *pki = t_env("PKI", "build/pki");
    char path[512];
    snprintf(path, sizeof path, "%s/tests/cfg-error.json", t_env("OUT", "build/rel"));
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        if (!t_write_template(path, rows[i].json, pki)) {
            CHECK(0, "cannot write %s", path);
            return;
        }
        ks_ctx *ctx = NULL;
        char *err = NULL;
        ks_result r = ks_ctx_load(path, &ctx, &err);
        CHECK(r == KS_E_CONFIG && ctx == NULL, "row %zu: %s", i, ks_result_name(r));
        CHECK(err != NULL && strstr(err, rows[i].must_mention) != NULL, "row %zu: message \"%s\" names \"%s\"", i,
              err ? err : "(null)", rows[i].must_mention);
        free(err);
        ks_ctx_unref(ctx);
    }
    ks_ctx *ctx = NULL;
    char *err = NULL;
    CHECK(ks_ctx_load("/nonexistent/kensho.json", &ctx, &err) == KS_E_CONFIG, "missing file");
    CHECK(err != NULL && strstr(err, "/nonexistent/kensho.json") != NULL, "names the file");
    free(err);
    ks_ctx_unref(NULL); /* destructors accept NULL */
}

int main(void)
{
    test_time();
    test_cursor();
    test_utf8();
    test_result_table();
    test_config_errors();
    return t_done("test_unit");
}
