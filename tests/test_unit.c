/*
 * tests/test_unit.c - the small pieces, table-driven: RFC 3339 parsing, the
 * cursor, UTF-8 validation, the result table's mappings, configuration
 * errors (each must name the key or file at fault), inputs as real tools
 * write them (RFC 7468 PEM with text around it, bundles), the wording of the
 * reasons, and the detail of a path that fails on validity.
 */
#include <time.h>
#include <unistd.h>

#include <openssl/ec.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

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
        /* issue 22: a shared memcached needs a shared key */
        {"{\"trust_anchors\": [\"@PKI@/anchors\"], \"memcached\": [\"127.0.0.1:9\"]}", "cache.hmac_key"},
        {"{\"trust_anchors\": [\"@PKI@/anchors\"], \"memcached\": [\"127.0.0.1:9\"], \"cache\": {\"max_entries\": 5}}",
         "cache.hmac_key"},
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

/* ---------------- inputs as real tools write them (RFC 7468 2) ---------------- */

static const char *pki;

/* A string equal to the expected one (NULL to NULL), naming the row. */
#define T_EQ(got, want, what)                                                                          \
    do {                                                                                               \
        const char *t_g_ = (got), *t_w_ = (want);                                                      \
        CHECK(t_str_eq(t_g_, t_w_), "%s: got \"%s\", want \"%s\"", (what), t_str(t_g_), t_str(t_w_)); \
    } while (0)
static char indir[PATH_MAX]; /* $OUT/tests/input, absolute */

static const t_config input_configs[] = {
    /* anchors only: a path needs the certificates that came with the input */
    {"anchors-off", "{\"trust_anchors\": [\"@PKI@/anchors\"], \"revocation\": {\"mode\": \"off\"}}"},
    {"anchors-max3", "{\"trust_anchors\": [\"@PKI@/anchors\"], \"revocation\": {\"mode\": \"off\"},"
                     " \"limits\": {\"max_certs\": 3}}"},
    {"off", "{\"trust_anchors\": [\"@PKI@/anchors\"], \"intermediates\": [\"@PKI@/intermediates\"],"
            " \"revocation\": {\"mode\": \"off\"}}"},
    {"softfail", "{\"trust_anchors\": [\"@PKI@/anchors\"], \"intermediates\": [\"@PKI@/intermediates\"],"
                 " \"revocation\": {\"mode\": \"soft-fail\"}}"},
    /* every CA's CRL: status established offline */
    {"crls", "{\"trust_anchors\": [\"@PKI@/anchors\"], \"intermediates\": [\"@PKI@/intermediates\"],"
             " \"crls\": [\"@PKI@/pref-ca.crl\", \"@PKI@/pref-ca2.crl\", \"@PKI@/jpki-bca.crl\","
             " \"@PKI@/gpki-bca.crl\", \"@PKI@/ministry-ca.crl\"]}"},
};

/* Appends a file to a growing buffer; 0 on failure. */
static int t_append_file(const char *path, uint8_t **buf, size_t *len)
{
    uint8_t *f = NULL;
    size_t n = 0;
    if (ks_read_file(path, 16 * 1024 * 1024, &f, &n) != KS_OK)
        return 0;
    uint8_t *nb = realloc(*buf, *len + n + 1);
    if (nb == NULL) {
        free(f);
        return 0;
    }
    memcpy(nb + *len, f, n);
    *buf = nb;
    *len += n;
    free(f);
    return 1;
}

/* Builds an input from parts: "@NAME" a file of the test PKI, "%NAME" a file
 * made by this test in indir, "*CRLF" turns every bare "\n" so far into
 * "\r\n", anything else is literal text. */
static int t_build_input(const char *const *parts, uint8_t **buf, size_t *len)
{
    char path[PATH_MAX + 64];
    *buf = NULL;
    *len = 0;
    for (int i = 0; i < 8 && parts[i] != NULL; i++) {
        const char *p = parts[i];
        if (strcmp(p, "*CRLF") == 0) {
            uint8_t *nb = malloc(*len * 2 + 1);
            size_t n = 0;
            if (nb == NULL)
                return 0;
            for (size_t k = 0; k < *len; k++) {
                if ((*buf)[k] == '\n' && (k == 0 || (*buf)[k - 1] != '\r'))
                    nb[n++] = '\r';
                nb[n++] = (*buf)[k];
            }
            free(*buf);
            *buf = nb;
            *len = n;
            continue;
        }
        if (p[0] == '@' || p[0] == '%') {
            snprintf(path, sizeof path, "%s/%s", p[0] == '@' ? pki : indir, p + 1);
            if (!t_append_file(path, buf, len))
                return 0;
            continue;
        }
        size_t n = strlen(p);
        uint8_t *nb = realloc(*buf, *len + n + 1);
        if (nb == NULL)
            return 0;
        memcpy(nb + *len, p, n);
        *buf = nb;
        *len += n;
    }
    return *buf != NULL;
}

/* chain[].source joined by "," */
static void t_sources(const cJSON *v, char *out, size_t len)
{
    const cJSON *c;
    out[0] = '\0';
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(v, "chain"))
    {
        const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "source"));
        size_t n = strlen(out);
        snprintf(out + n, len - n, "%s%s", n ? "," : "", s ? s : "?");
    }
}

static const char *t_field(const cJSON *v, const char *key)
{
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(v, key));
}

/* Files only the openssl command line makes as users get them: PKCS#12
 * exports printed back as PEM, with "Bag Attributes" text before each block
 * (how e-Gov hands out its test certificates). */
static int t_make_exports(void)
{
    char cmd[4 * PATH_MAX];
    snprintf(cmd, sizeof cmd,
             "cd '%s' && P='%s' &&"
             " openssl pkcs12 -export -in \"$P/citizen-rsa.pem\" -inkey \"$P/citizen-rsa.key\" -passout pass:t"
             " -out leaf.p12 &&"
             " openssl pkcs12 -in leaf.p12 -passin pass:t -nokeys -out exported.pem &&"
             " openssl pkcs12 -export -in \"$P/citizen-rsa.pem\" -inkey \"$P/citizen-rsa.key\""
             " -certfile \"$P/chain-gen1.pem\" -passout pass:t -out chain.p12 &&"
             " openssl pkcs12 -in chain.p12 -passin pass:t -nodes -out exported-chain-key.pem &&"
             " sed 's/ CMS-----$/ CERTIFICATE-----/' \"$P/sig-attached-rsa.pem\" >cms-as-cert.pem",
             indir, pki);
    if (system(cmd) != 0)
        return 0;
    /* The fixture is what it claims to be: text before the block. */
    uint8_t *b = NULL;
    size_t n = 0;
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/exported.pem", indir);
    int ok = ks_read_file(path, 1 << 20, &b, &n) == KS_OK && n > 14 && memcmp(b, "Bag Attributes", 14) == 0;
    free(b);
    snprintf(path, sizeof path, "%s/exported-chain-key.pem", indir);
    ok = ok && ks_read_file(path, 1 << 20, &b, &n) == KS_OK && strstr((char *)b, "-----BEGIN PRIVATE KEY-----");
    free(b);
    return ok;
}

static void test_inputs(void)
{
    static const char proc_type[] = "-----BEGIN CERTIFICATE-----\nProc-Type: 4,ENCRYPTED\n"
                                    "DEK-Info: AES-128-CBC,00000000000000000000000000000000\n\nMIIB\n"
                                    "-----END CERTIFICATE-----\n";
    static const struct {
        const char *what;
        int cert; /* ks_verify_certificate, else ks_verify_signature */
        const char *config;
        const char *parts[8];
        ks_result want;
        const char *indication, *sub, *sources; /* sources: chain[].source, or NULL to skip */
    } rows[] = {
        /* certificates */
        {"pkcs12 export (Bag Attributes before the block)", 1, "off", {"%exported.pem"}, KS_OK, "TOTAL_PASSED",
         NULL, "submitted,configuration,configuration,configuration,anchor"},
        {"pkcs12 export with its chain and the private key", 1, "anchors-off", {"%exported-chain-key.pem"}, KS_OK,
         "TOTAL_PASSED", NULL, "submitted,input,input,input,anchor"},
        {"leaf followed by its CAs", 1, "anchors-off", {"@citizen-rsa.pem", "@chain-gen1.pem"}, KS_OK,
         "TOTAL_PASSED", NULL, "submitted,input,input,input,anchor"},
        {"a line of text before the block", 1, "off", {"The certificate for the filing:\n", "@citizen-rsa.pem"},
         KS_OK, "TOTAL_PASSED", NULL, "submitted,configuration,configuration,configuration,anchor"},
        {"text around, CRLF", 1, "off", {"Subject: my certificate\n\n", "@citizen-rsa.pem", "-- \nsent\n", "*CRLF"},
         KS_OK, "TOTAL_PASSED", NULL, NULL},
        {"leaf alone, anchors only: no path", 1, "anchors-off", {"@citizen-rsa.pem"}, KS_OK, "INDETERMINATE",
         "NO_CERTIFICATE_CHAIN_FOUND", "submitted"},
        /* hostile bundles: what comes with the input is never trusted */
        {"rogue leaf with its self-signed root", 1, "anchors-off", {"@rogue-citizen.pem", "@rogue-ca.pem"}, KS_OK,
         "INDETERMINATE", "NO_CERTIFICATE_CHAIN_FOUND", NULL},
        {"the anchor first: it is the subject (a CA: no signing), the rest are candidates", 1, "anchors-off",
         {"@ministry-ca.pem", "@citizen-rsa.pem"}, KS_OK, "INDETERMINATE", "SIG_CONSTRAINTS_FAILURE", "anchor"},
        {"more certificates than max_certs", 1, "anchors-max3", {"@citizen-rsa.pem", "@chain-gen1.pem"}, KS_E_LIMIT,
         NULL, NULL, NULL},
        {"a good block, then one that does not decode", 1, "off",
         {"@citizen-rsa.pem", "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n"}, KS_E_ENCODING, NULL,
         NULL, NULL},
        {"an encrypted (RFC 1421) block", 1, "off", {proc_type}, KS_E_ENCODING, NULL, NULL, NULL},
        {"text that only mentions a boundary", 1, "off", {"see -----BEGIN CERTIFICATE----- below\n"},
         KS_E_ENCODING, NULL, NULL, NULL},
        {"a signature where a certificate is expected", 1, "off", {"note\n", "@sig-attached-rsa.pem"},
         KS_E_ENCODING, NULL, NULL, NULL},
        {"a CMS in a CERTIFICATE block", 1, "off", {"%cms-as-cert.pem"}, KS_E_NOT_CERTIFICATE, NULL, NULL, NULL},
        /* signatures */
        {"PEM CMS with text around it", 0, "off", {"Signature follows\n", "@sig-attached-rsa.pem", "-- end\n"},
         KS_OK, "TOTAL_PASSED", NULL, NULL},
        {"PEM CMS after a certificate block", 0, "off", {"@citizen-rsa.pem", "@sig-attached-rsa.pem"}, KS_OK,
         "TOTAL_PASSED", NULL, NULL},
        {"two signatures in one message", 0, "off", {"@sig-attached-rsa.pem", "@sig-attached-rsa.pem"},
         KS_E_NOT_SIGNATURE, NULL, NULL, NULL},
        {"a certificate where a signature is expected", 0, "off", {"@citizen-rsa.pem"}, KS_E_ENCODING, NULL, NULL,
         NULL},
    };
    char dir[PATH_MAX];
    t_write_configs("input", input_configs, sizeof input_configs / sizeof input_configs[0], pki, dir);
    snprintf(indir, sizeof indir, "%s", dir);
    if (!t_make_exports()) {
        CHECK(0, "cannot make the pkcs12 exports in %s", indir);
        return;
    }
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        uint8_t *buf = NULL;
        size_t len = 0;
        if (!t_build_input(rows[i].parts, &buf, &len)) {
            CHECK(0, "%s: cannot build the input", rows[i].what);
            continue;
        }
        ks_ctx *ctx = t_load_config(dir, rows[i].config);
        ks_blob b = {.name = "input", .data = buf, .len = len};
        cJSON *v = NULL;
        ks_result r;
        if (rows[i].cert) {
            r = ks_verify_certificate(ctx, &b, 0, 0, &v);
        } else {
            ks_request req = {.signature = b};
            r = ks_verify_signature(ctx, &req, &v);
        }
        v = t_printed(v);
        CHECK(r == rows[i].want, "%s: %s, want %s", rows[i].what, ks_result_name(r), ks_result_name(rows[i].want));
        if (r == KS_OK && rows[i].want == KS_OK) {
            T_EQ(t_field(v, "indication"), rows[i].indication, rows[i].what);
            T_EQ(t_field(v, "subindication"), rows[i].sub, rows[i].what);
            if (rows[i].sources != NULL) {
                char got[512];
                t_sources(v, got, sizeof got);
                T_EQ(got, rows[i].sources, rows[i].what);
            }
        }
        cJSON_Delete(v);
        ks_ctx_unref(ctx);
        free(buf);
    }
}

/* ---------------- what a valid verdict's reason may claim ---------------- */

static int t_contains(const char *s, const char *sub)
{
    return s != NULL && strstr(s, sub) != NULL;
}

static void test_wording(void)
{
    static const struct {
        const char *what;
        int cert;
        const char *input, *config, *indication;
        int claims_not_revoked; /* the reason says the certificate is not revoked */
    } rows[] = {
        {"certificate, revocation off", 1, "citizen-rsa.pem", "off", "TOTAL_PASSED", 0},
        {"certificate, soft-fail without a status", 1, "citizen-rsa.pem", "softfail", "TOTAL_PASSED", 0},
        {"certificate, every CRL good", 1, "citizen-rsa.pem", "crls", "TOTAL_PASSED", 1},
        {"certificate, expired", 1, "citizen-expired.pem", "off", "TOTAL_FAILED", 0},
        {"certificate, no path", 1, "rogue-citizen.pem", "off", "INDETERMINATE", 0},
        {"signature, revocation off", 0, "sig-attached-rsa.p7m", "off", "TOTAL_PASSED", 0},
        {"signature, soft-fail without a status", 0, "sig-attached-rsa.p7m", "softfail", "TOTAL_PASSED", 0},
        {"signature, every CRL good", 0, "sig-attached-rsa.p7m", "crls", "TOTAL_PASSED", 1},
        {"two signers, revocation off", 0, "sig-two-signers.p7m", "off", "TOTAL_PASSED", 0},
        {"two signers, every CRL good", 0, "sig-two-signers.p7m", "crls", "TOTAL_PASSED", 1},
    };
    char dir[PATH_MAX];
    t_write_configs("input", input_configs, sizeof input_configs / sizeof input_configs[0], pki, dir);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        uint8_t *buf = NULL;
        size_t len = 0;
        if (!t_read(pki, rows[i].input, &buf, &len)) {
            CHECK(0, "cannot read %s", rows[i].input);
            continue;
        }
        ks_ctx *ctx = t_load_config(dir, rows[i].config);
        ks_blob b = {.name = rows[i].input, .data = buf, .len = len};
        cJSON *v = NULL;
        ks_result r;
        if (rows[i].cert) {
            r = ks_verify_certificate(ctx, &b, 0, 0, &v);
        } else {
            ks_request req = {.signature = b};
            r = ks_verify_signature(ctx, &req, &v);
        }
        v = t_printed(v);
        CHECK(r == KS_OK, "%s: %s", rows[i].what, ks_result_name(r));
        T_EQ(t_field(v, "indication"), rows[i].indication, rows[i].what);
        /* the verdict's reasons and, for signatures, each signer's */
        const cJSON *objs[4] = {v}, *s;
        int n = 1;
        cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(v, "signers")) if (n < 4) objs[n++] = s;
        CHECK(rows[i].cert || n > 1, "%s: signers", rows[i].what);
        for (int k = 0; k < n; k++) {
            const cJSON *reason = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(objs[k], "reasons"), 0);
            const char *en = t_field(reason, "en"), *ja = t_field(reason, "ja");
            CHECK(en != NULL && ja != NULL, "%s: a reason in both languages", rows[i].what);
            int says = t_contains(en, "not revoked") || t_contains(en, "not been revoked") ||
                       t_contains(ja, "失効していません");
            CHECK(says == rows[i].claims_not_revoked, "%s [%d]: \"%s\" / \"%s\"", rows[i].what, k, t_str(en),
                  t_str(ja));
            if (rows[i].cert)
                CHECK(!t_contains(en, "document") && !t_contains(ja, "文書") && !t_contains(en, "signature") &&
                          !t_contains(ja, "署名は"),
                      "%s: a certificate has no document: \"%s\" / \"%s\"", rows[i].what, t_str(en), t_str(ja));
            else if (strcmp(rows[i].indication, "TOTAL_PASSED") == 0)
                CHECK(t_contains(en, "document") && t_contains(ja, "文書"), "%s: \"%s\"", rows[i].what, t_str(en));
        }
        cJSON_Delete(v);
        ks_ctx_unref(ctx);
        free(buf);
    }
}

/* ---------------- which certificate a validity failure names ---------------- */

/* A certificate for this test: EC P-256, valid from now+nb to now+na days,
 * signed by `ikey` (self-signed when issuer is NULL). */
static X509 *t_mkcert(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *ikey, long nb, long na, int ca)
{
    X509 *x = X509_new();
    X509_NAME *name = X509_NAME_new();
    X509V3_CTX v3;
    static long serial = 1;
    int ok = x != NULL && name != NULL && X509_set_version(x, 2) == 1 &&
             ASN1_INTEGER_set(X509_get_serialNumber(x), serial++) == 1 &&
             X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0) == 1 &&
             X509_set_subject_name(x, name) == 1 &&
             X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name) == 1 &&
             X509_gmtime_adj(X509_getm_notBefore(x), nb * 86400L) != NULL &&
             X509_gmtime_adj(X509_getm_notAfter(x), na * 86400L) != NULL && X509_set_pubkey(x, key) == 1;
    X509V3_set_ctx(&v3, issuer ? issuer : x, x, NULL, NULL, 0);
    const char *ext[][2] = {{"basicConstraints", ca ? "critical,CA:TRUE" : "critical,CA:FALSE"},
                            {"keyUsage", ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature"},
                            {"subjectKeyIdentifier", "hash"},
                            {"authorityKeyIdentifier", "keyid"}};
    for (size_t i = 0; ok && i < sizeof ext / sizeof ext[0]; i++) {
        if (issuer == NULL && i == 3)
            break;
        X509_EXTENSION *e = X509V3_EXT_conf(NULL, &v3, ext[i][0], ext[i][1]);
        ok = e != NULL && X509_add_ext(x, e, -1) == 1;
        X509_EXTENSION_free(e);
    }
    ok = ok && X509_sign(x, ikey ? ikey : key, EVP_sha256()) > 0;
    X509_NAME_free(name);
    if (!ok) {
        X509_free(x);
        x = NULL;
    }
    return x;
}

static int t_write_pem(const char *path, X509 *const *certs, int n)
{
    FILE *f = fopen(path, "w");
    int ok = f != NULL;
    for (int i = 0; ok && i < n; i++)
        ok = PEM_write_X509(f, certs[i]) == 1;
    return f != NULL && fclose(f) == 0 && ok;
}

static void test_validity_detail(void)
{
    /* Days from now: anchor, CA and leaf validity; the expected outcome and
     * the certificate the detail must name. */
    static const struct {
        const char *what;
        long anchor[2], ca[2], leaf[2];
        const char *indication, *sub, *detail;
    } rows[] = {
        {"the anchor expired", {-400, -1}, {-300, 300}, {-10, 100}, "TOTAL_FAILED", "EXPIRED",
         "(at depth 2: the trust anchor CN=Expired Anchor (synthetic test))"},
        {"the anchor and the leaf expired", {-400, -1}, {-300, 300}, {-100, -2}, "TOTAL_FAILED", "EXPIRED",
         "(at depth 0: the end-entity certificate)"},
        {"the anchor and the CA expired", {-400, -1}, {-300, -3}, {-10, 100}, "TOTAL_FAILED", "EXPIRED",
         "(at depth 1: the CA certificate CN=Sub CA (synthetic test))"},
        {"the anchor expired, the leaf not yet valid", {-400, -1}, {-300, 300}, {5, 100}, "TOTAL_FAILED",
         "NOT_YET_VALID", "(at depth 0: the end-entity certificate)"},
        {"the CA expired", {-400, 400}, {-300, -3}, {-10, 100}, "TOTAL_FAILED", "EXPIRED",
         "(at depth 1: the CA certificate CN=Sub CA (synthetic test))"},
        {"all valid", {-400, 400}, {-300, 300}, {-10, 100}, "TOTAL_PASSED", NULL, NULL},
    };
    char dir[PATH_MAX];
    t_write_configs("input", input_configs, sizeof input_configs / sizeof input_configs[0], pki, dir);
    EVP_PKEY *ka = EVP_EC_gen("P-256"), *kc = EVP_EC_gen("P-256"), *kl = EVP_EC_gen("P-256");
    if (ka == NULL || kc == NULL || kl == NULL) {
        CHECK(0, "EC keys");
        goto done;
    }
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char apath[PATH_MAX + 64], cpath[PATH_MAX + 64], cfg[PATH_MAX + 64], json[3 * PATH_MAX];
        X509 *a = t_mkcert("Expired Anchor (synthetic test)", ka, NULL, NULL, rows[i].anchor[0], rows[i].anchor[1], 1);
        X509 *c = a ? t_mkcert("Sub CA (synthetic test)", kc, a, ka, rows[i].ca[0], rows[i].ca[1], 1) : NULL;
        X509 *l = c ? t_mkcert("SYNTH-EE (synthetic test)", kl, c, kc, rows[i].leaf[0], rows[i].leaf[1], 0) : NULL;
        snprintf(apath, sizeof apath, "%s/validity-anchor-%zu.pem", dir, i);
        snprintf(cpath, sizeof cpath, "%s/validity-ca-%zu.pem", dir, i);
        snprintf(cfg, sizeof cfg, "%s/validity-%zu.json", dir, i);
        snprintf(json, sizeof json,
                 "{\"trust_anchors\": [\"%s\"], \"intermediates\": [\"%s\"], \"revocation\": {\"mode\": \"off\"}}",
                 apath, cpath);
        unsigned char *der = NULL;
        int derlen = l != NULL ? i2d_X509(l, &der) : -1;
        if (derlen <= 0 || !t_write_pem(apath, &a, 1) || !t_write_pem(cpath, &c, 1)) {
            CHECK(0, "%s: cannot make the certificates", rows[i].what);
        } else {
            ks_ctx *ctx = t_ctx_from_text(cfg, json);
            ks_blob b = {.name = "leaf.der", .data = der, .len = (size_t)derlen};
            cJSON *v = NULL;
            CHECK(ks_verify_certificate(ctx, &b, 0, 0, &v) == KS_OK, "%s", rows[i].what);
            v = t_printed(v);
            T_EQ(t_field(v, "indication"), rows[i].indication, rows[i].what);
            T_EQ(t_field(v, "subindication"), rows[i].sub, rows[i].what);
            if (rows[i].detail != NULL)
                CHECK(t_contains(t_field(v, "detail"), rows[i].detail), "%s: detail \"%s\", want \"...%s\"",
                      rows[i].what, t_str(t_field(v, "detail")), rows[i].detail);
            cJSON_Delete(v);
            ks_ctx_unref(ctx);
        }
        OPENSSL_free(der);
        X509_free(a);
        X509_free(c);
        X509_free(l);
    }
done:
    EVP_PKEY_free(ka);
    EVP_PKEY_free(kc);
    EVP_PKEY_free(kl);
}

int main(void)
{
    pki = t_env("PKI", "build/pki");
    test_time();
    test_cursor();
    test_utf8();
    test_result_table();
    test_config_errors();
    test_inputs();
    test_wording();
    test_validity_detail();
    return t_done("test_unit");
}
