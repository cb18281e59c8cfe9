/*
 * verify/xml_zip.c - e-Gov application packages sent as one ZIP file, and
 * the Unicode form of attachment names.
 *
 * Names: ZIP tools on some systems store file names decomposed (NFD:
 * "テ" + U+3099 for "デ") while the signer wrote the Reference composed, or
 * the other way round.  Names are compared in NFC (UAX #15, libunistring's
 * u8_normalize), after percent-decoding; two files whose names are equal in
 * NFC are refused as ambiguous, never one of them picked.
 *
 * Memory: an entry's declared size is a claim.  It is checked against the
 * ceiling before inflating, and the buffer grows as bytes arrive (curl's
 * dynbuf), never allocated from the header, so a 150-byte package claiming
 * 15 MB costs what it holds.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <uninorm.h>
#include <zip.h>

#include "xml_int.h"

#define KS_ZIP_FIRST_CHUNK 65536 /* first buffer of an entry; doubled as data arrives */

int ks_xml_nfc(const char *s, char **out)
{
    size_t n = 0;
    *out = NULL;
    errno = 0;
    uint8_t *u = u8_normalize(UNINORM_NFC, (const uint8_t *)s, strlen(s), NULL, &n);
    if (u == NULL)
        return errno == ENOMEM ? -1 : 0;
    char *z = realloc(u, n + 1);
    if (z == NULL) {
        free(u);
        return -1;
    }
    z[n] = '\0';
    if (strlen(z) != n) { /* cannot happen from a C string; never let a NUL shorten a name */
        free(z);
        return 0;
    }
    *out = z;
    return 1;
}

void ks_zip_free(ks_zip_entry *e, size_t n)
{
    for (size_t i = 0; e != NULL && i < n; i++) {
        free(e[i].name);
        free(e[i].data);
    }
    free(e);
}

/* An entry path: relative, UTF-8, no "..", ".", empty segments, back
 * slashes, drive letters or control characters. */
static int ks_zip_name_ok(const char *s, size_t n)
{
    if (n == 0 || n > KS_ZIP_MAX_NAME || s[0] == '/' || !ks_utf8_valid((const uint8_t *)s, n))
        return 0;
    size_t seg = 0;
    for (size_t i = 0; i <= n; i++) {
        unsigned char c = i < n ? (unsigned char)s[i] : '/';
        if (c == '/') {
            size_t len = i - seg;
            if (len == 0 || (len == 1 && s[seg] == '.') || (len == 2 && s[seg] == '.' && s[seg + 1] == '.'))
                return 0;
            seg = i + 1;
            continue;
        }
        if (c < 0x20 || c == 0x7f || c == '\\' || c == ':')
            return 0;
    }
    return 1;
}

/* Reads an entry that declared `want` bytes: the buffer starts small and
 * doubles as bytes arrive, up to want + 1 (one byte more than declared
 * catches a header that under-states; fewer bytes than declared, one that
 * over-states).  libzip checks the CRC when the stream ends. */
static ks_result ks_zip_read(zip_file_t *zf, size_t want, uint8_t **out, size_t *outlen)
{
    ks_result r = KS_E_ZIP;
    uint8_t *buf = NULL;
    size_t size = 0, got = 0, limit = want + 1;

    *out = NULL;
    *outlen = 0;
    for (;;) {
        if (got == size) {
            if (size == limit)
                break; /* want + 1 bytes arrived: more than declared */
            size_t next = size == 0 ? KS_ZIP_FIRST_CHUNK : size > limit / 2 ? limit : size * 2;
            if (next > limit)
                next = limit;
            uint8_t *nb = realloc(buf, next);
            if (nb == NULL) {
                r = KS_E_NOMEM;
                goto done;
            }
            buf = nb;
            size = next;
        }
        zip_int64_t k = zip_fread(zf, buf + got, size - got);
        if (k < 0)
            goto done;
        if (k == 0)
            break;
        got += (size_t)k;
    }
    if (got != want)
        goto done;
    *out = buf;
    *outlen = got;
    buf = NULL;
    r = KS_OK;
done:
    free(buf);
    return r;
}

/* Reads every file of the archive into memory, within the ceilings: entry
 * count, name length, and the total uncompressed size (the same ceiling as
 * a submitted signature), checked against the declared sizes before
 * inflating and against the real ones while inflating. */
ks_result ks_zip_load(const ks_ctx *ctx, const ks_blob *in, ks_zip_entry **out, size_t *nout)
{
    ks_result r = KS_E_ZIP;
    zip_error_t zerr;
    zip_source_t *src = NULL;
    zip_t *za = NULL;
    zip_file_t *zf = NULL;
    ks_zip_entry *ents = NULL;
    size_t n = 0, total = 0, max = ctx->limits.max_input_bytes;

    *out = NULL;
    *nout = 0;
    zip_error_init(&zerr);
    if ((src = zip_source_buffer_create(in->data, in->len, 0, &zerr)) == NULL) {
        r = KS_E_NOMEM;
        goto done;
    }
    if ((za = zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &zerr)) == NULL) {
        zip_source_free(src); /* only when the open failed: za owns it otherwise */
        goto done;
    }
    zip_int64_t ne = zip_get_num_entries(za, 0);
    if (ne < 0)
        goto done;
    if (ne > KS_ZIP_MAX_ENTRIES) {
        r = KS_E_LIMIT;
        goto done;
    }
    if ((ents = calloc((size_t)ne + 1, sizeof *ents)) == NULL) {
        r = KS_E_NOMEM;
        goto done;
    }
    for (zip_int64_t i = 0; i < ne; i++) {
        zip_stat_t zs;
        zip_stat_init(&zs);
        if (zip_stat_index(za, (zip_uint64_t)i, ZIP_FL_ENC_RAW, &zs) != 0 || (zs.valid & ZIP_STAT_NAME) == 0 ||
            (zs.valid & ZIP_STAT_SIZE) == 0)
            goto done;
        size_t nl = strlen(zs.name);
        if (nl > 0 && zs.name[nl - 1] == '/') { /* a directory */
            if (zs.size != 0)
                goto done;
            continue;
        }
        if (!ks_zip_name_ok(zs.name, nl))
            goto done;
        if ((zs.valid & ZIP_STAT_ENCRYPTION_METHOD) != 0 && zs.encryption_method != ZIP_EM_NONE)
            goto done;
        if (zs.size > max - total) {
            r = KS_E_TOO_LARGE;
            goto done;
        }
        ks_zip_entry *e = &ents[n++]; /* freed with the rest from here on */
        int k = ks_xml_nfc(zs.name, &e->name);
        if (k < 0) {
            r = KS_E_NOMEM;
            goto done;
        }
        if (k == 0 || !ks_zip_name_ok(e->name, strlen(e->name)))
            goto done;
        for (size_t j = 0; j + 1 < n; j++)
            if (strcmp(ents[j].name, e->name) == 0)
                goto done; /* two files of one name (in NFC): which one is the attachment? */
        if ((zf = zip_fopen_index(za, (zip_uint64_t)i, 0)) == NULL)
            goto done;
        if ((r = ks_zip_read(zf, (size_t)zs.size, &e->data, &e->len)) != KS_OK)
            goto done;
        r = KS_E_ZIP;
        int closed = zip_fclose(zf);
        zf = NULL;
        if (closed != 0)
            goto done;
        total += e->len;
    }
    *out = ents;
    *nout = n;
    ents = NULL;
    r = KS_OK;
done:
    if (zf != NULL)
        zip_fclose(zf);
    if (za != NULL)
        zip_discard(za);
    zip_error_fini(&zerr);
    ks_zip_free(ents, n);
    return r;
}
