/*
 * verify/cli.c - bin/kensho, the command-line adapter over the library.
 *
 *   kensho verify --config FILE --signature FILE [--content FILE | --content-digest ALG:HEX[:NAME]]...
 *                 [--at TIME]
 *   kensho cert   --config FILE --cert FILE [--at TIME]
 *   kensho audit-verify DIR|FILE...
 *   kensho verify-verdict --cert FILE VERDICT.jws
 *
 * stdout: one JSON verdict (or {"error": ...}), the same JSON the service
 * answers.  Exit: 0 TOTAL_PASSED, 1 TOTAL_FAILED, 2 INDETERMINATE, 64 usage,
 * 65 not a signature/certificate, 66 input file unreadable, 78 configuration.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define KS_MAX_CONTENTS 64

static void ks_usage(void)
{
    fputs("usage: kensho verify --config FILE --signature FILE [--content FILE | --content-digest ALG:HEX[:NAME]]... "
          "[--at TIME]\n"
          "       kensho cert   --config FILE --cert FILE [--at TIME]\n"
          "       kensho audit-verify DIR|FILE...\n"
          "       kensho verify-verdict --cert FILE VERDICT.jws\n"
          "       kensho --version\n"
          "TIME is RFC 3339, e.g. 2026-03-15T09:00:00+09:00; default now.\n",
          stderr);
}

/* Prints {"error": ...} on stdout, a line on stderr, returns the exit code. */
static int ks_fail(ks_result r, const char *detail)
{
    cJSON *e = ks_error_json(r, detail);
    char *s = e ? cJSON_PrintUnformatted(e) : NULL;
    if (s != NULL)
        printf("%s\n", s);
    fprintf(stderr, "kensho: %s%s%s\n", ks_result_message(r), detail ? ": " : "", detail ? detail : "");
    free(s);
    cJSON_Delete(e);
    return ks_result_exit_code(r);
}

/* audit-verify: checks the hash chain of an audit log.  stdout: one JSON
 * report; exit 0 intact, 1 broken (the report names the line), 66 unreadable. */
static int ks_audit_verify_cmd(int argc, char **argv)
{
    if (argc < 3) {
        ks_usage();
        return ks_fail(KS_E_USAGE, "audit-verify takes a DIR or FILEs");
    }
    cJSON *rep = NULL;
    char *bad = NULL;
    ks_result r = ks_audit_check((const char *const *)argv + 2, (size_t)argc - 2, &rep, &bad);
    if (r == KS_E_IO) {
        char d[512];
        snprintf(d, sizeof d, "%s: %s", bad ? bad : argv[2], strerror(errno));
        free(bad);
        ks_fail(KS_E_IO, d);
        return 66;
    }
    free(bad);
    if (r != KS_OK)
        return ks_fail(r, argv[2]);
    char *s = cJSON_PrintUnformatted(rep);
    int rc = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(rep, "intact")) ? 0 : 1;
    if (s == NULL)
        rc = ks_fail(KS_E_NOMEM, NULL);
    else
        printf("%s\n", s);
    free(s);
    cJSON_Delete(rep);
    return rc;
}

/* --content-digest ALG:HEX (HEX as sha256sum prints it): hash-only
 * submission of a detached CMS signature's content (verify/digest.c);
 * ALG:HEX:NAME for the attachment NAME of an XML signature
 * (verify/xml_digest.c; a file name a Reference may use has no ':').  0 when
 * malformed; the algorithm and length are checked by the library. */
static int ks_parse_digest(char *arg, ks_digest *d, uint8_t buf[64])
{
    char *colon = strchr(arg, ':');
    char *name = colon ? strchr(colon + 1, ':') : NULL;
    if (name != NULL)
        *name++ = '\0';
    size_t n = colon ? strlen(colon + 1) : 0;
    if (colon == NULL || n == 0 || n % 2 != 0 || n / 2 > 64 || (name != NULL && name[0] == '\0'))
        return 0;
    *colon = '\0';
    for (size_t i = 0; i < n / 2; i++) {
        int hi = ks_hex_digit(colon[1 + 2 * i]), lo = ks_hex_digit(colon[2 + 2 * i]);
        if (hi < 0 || lo < 0)
            return 0;
        buf[i] = (uint8_t)(hi << 4 | lo);
    }
    *d = (ks_digest){.name = name, .algorithm = arg, .value = buf, .len = n / 2};
    return 1;
}

/* kensho verify-verdict --cert CERT FILE: checks a signed verdict (a
 * compact JWS from ?sign=1) against the gateway's certificate.  Prints
 * {"valid": true, "payload": ...} and exits 0, or {"valid": false,
 * "reason": ...} and exits 1. */
static int ks_verify_verdict_cmd(int argc, char **argv)
{
    const char *cert = NULL, *file = NULL, *why = NULL;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--cert") == 0 && i + 1 < argc && cert == NULL)
            cert = argv[++i];
        else if (argv[i][0] != '-' && file == NULL)
            file = argv[i];
        else
            return ks_fail(KS_E_USAGE, "usage: kensho verify-verdict --cert FILE VERDICT.jws");
    }
    if (cert == NULL || file == NULL)
        return ks_fail(KS_E_USAGE, "usage: kensho verify-verdict --cert FILE VERDICT.jws");
    uint8_t *buf = NULL;
    size_t len = 0;
    ks_result r = ks_read_file(file, 64u << 20, &buf, &len);
    if (r != KS_OK) {
        char d[512];
        snprintf(d, sizeof d, "%s: %s", file, r == KS_E_IO ? strerror(errno) : ks_result_message(r));
        ks_fail(r, d);
        free(buf);
        return r == KS_E_IO ? 66 : ks_result_exit_code(r);
    }
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' '))
        len--;
    cJSON *payload = NULL, *out = cJSON_CreateObject();
    int ok = ks_jws_verify((const char *)buf, len, cert, &payload, &why);
    int rc = ok ? 0 : 1;
    if (out == NULL || cJSON_AddBoolToObject(out, "valid", ok) == NULL ||
        (ok ? !cJSON_AddItemToObject(out, "payload", payload) : cJSON_AddStringToObject(out, "reason", why) == NULL)) {
        if (!ok || out == NULL || cJSON_GetObjectItemCaseSensitive(out, "payload") != payload)
            cJSON_Delete(payload);
        rc = ks_fail(KS_E_NOMEM, NULL);
    } else {
        char *s = cJSON_PrintUnformatted(out);
        if (s != NULL)
            printf("%s\n", s);
        else
            rc = ks_fail(KS_E_NOMEM, NULL);
        free(s);
    }
    cJSON_Delete(out);
    free(buf);
    return rc;
}

static const char *ks_basename(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

int main(int argc, char **argv)
{
    const char *config = NULL, *sig = NULL, *cert = NULL, *at_s = NULL;
    const char *content[KS_MAX_CONTENTS];
    size_t ncontent = 0;
    int rc = 64;
    ks_ctx *ctx = NULL;
    char *err = NULL;
    uint8_t *in = NULL;
    size_t inlen = 0;
    ks_blob blobs[KS_MAX_CONTENTS];
    uint8_t *bufs[KS_MAX_CONTENTS] = {0};
    cJSON *verdict = NULL;
    ks_digest digests[KS_MAX_DIGESTS];
    uint8_t digest_bufs[KS_MAX_DIGESTS][64];
    size_t ndigest = 0;

    /* A responder that closes the connection under an OCSP or CRL request
     * makes the socket write raise SIGPIPE (OpenSSL's socket BIO sends
     * without MSG_NOSIGNAL), which would end the process with no verdict;
     * ignored, the write fails with EPIPE and the fetch is "unavailable".
     * fcgi/main.c does the same. */
    signal(SIGPIPE, SIG_IGN);
    if (argc < 2) {
        ks_usage();
        return ks_fail(KS_E_USAGE, "no command");
    }
    const char *cmd = argv[1];
    if (argc == 2 && strcmp(cmd, "--version") == 0) {
        printf("kensho %s (OpenSSL %s, libxmlsec1 %s)\n", ks_version(), ks_version_openssl(), ks_version_xmlsec());
        return 0;
    }
    if (strcmp(cmd, "audit-verify") == 0)
        return ks_audit_verify_cmd(argc, argv);
    if (strcmp(cmd, "verify-verdict") == 0)
        return ks_verify_verdict_cmd(argc, argv);
    int is_verify = strcmp(cmd, "verify") == 0, is_cert = strcmp(cmd, "cert") == 0;
    if (!is_verify && !is_cert) {
        ks_usage();
        return ks_fail(KS_E_USAGE, "unknown command");
    }
    for (int i = 2; i < argc; i++) {
        const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (val == NULL) {
            ks_usage();
            return ks_fail(KS_E_USAGE, "option without a value");
        }
        if (strcmp(opt, "--config") == 0)
            config = val;
        else if (strcmp(opt, "--at") == 0)
            at_s = val;
        else if (is_verify && strcmp(opt, "--signature") == 0)
            sig = val;
        else if (is_verify && strcmp(opt, "--content") == 0 && ncontent < KS_MAX_CONTENTS)
            content[ncontent++] = val;
        else if (is_verify && strcmp(opt, "--content-digest") == 0 && ndigest < KS_MAX_DIGESTS) {
            if (!ks_parse_digest(argv[i + 1], &digests[ndigest], digest_bufs[ndigest]))
                return ks_fail(KS_E_USAGE, "--content-digest is ALGORITHM:HEX[:NAME], e.g. sha256:<64 hex digits>");
            ndigest++;
        } else if (is_cert && strcmp(opt, "--cert") == 0)
            cert = val;
        else {
            ks_usage();
            return ks_fail(KS_E_USAGE, "unknown or repeated option");
        }
        i++;
    }
    if (config == NULL || (is_verify && sig == NULL) || (is_cert && cert == NULL)) {
        ks_usage();
        return ks_fail(KS_E_USAGE, "missing a required option");
    }
    time_t at = 0;
    if (at_s != NULL && ks_time_parse(at_s, &at) != KS_OK)
        return ks_fail(KS_E_BAD_TIME, at_s);

    ks_result r = ks_ctx_load(config, &ctx, &err);
    if (r != KS_OK) {
        rc = ks_fail(r, err);
        goto done;
    }
    const char *inpath = is_verify ? sig : cert;
    size_t max = ks_ctx_max_input(ctx);
    r = ks_read_file(inpath, max, &in, &inlen);
    for (size_t i = 0; r == KS_OK && i < ncontent; i++) {
        r = ks_read_file(content[i], max, &bufs[i], &blobs[i].len);
        blobs[i].data = bufs[i];
        blobs[i].name = ks_basename(content[i]);
        if (r != KS_OK)
            inpath = content[i];
    }
    if (r == KS_E_IO) {
        char d[512];
        snprintf(d, sizeof d, "%s: %s", inpath, strerror(errno));
        ks_fail(KS_E_IO, d);
        rc = 66; /* EX_NOINPUT */
        goto done;
    }
    if (r != KS_OK) {
        rc = ks_fail(r, inpath);
        goto done;
    }
    if (is_verify) {
        ks_request req = {.signature = {.name = ks_basename(sig), .data = in, .len = inlen},
                          .contents = blobs,
                          .n_contents = ncontent,
                          .digests = digests,
                          .n_digests = ndigest,
                          .at = at,
                          .has_at = at_s != NULL};
        r = ks_verify_signature(ctx, &req, &verdict);
    } else {
        ks_blob b = {.name = ks_basename(cert), .data = in, .len = inlen};
        r = ks_verify_certificate(ctx, &b, at, at_s != NULL, &verdict);
    }
    if (r != KS_OK) {
        rc = ks_fail(r, inpath);
        goto done;
    }
    char *s = cJSON_PrintUnformatted(verdict);
    if (s == NULL) {
        rc = ks_fail(KS_E_NOMEM, NULL);
        goto done;
    }
    printf("%s\n", s);
    free(s);
    rc = ks_indication_exit_code(ks_verdict_indication(verdict));
done:
    cJSON_Delete(verdict);
    for (size_t i = 0; i < ncontent; i++)
        free(bufs[i]);
    free(in);
    free(err);
    ks_ctx_unref(ctx);
    return rc;
}
