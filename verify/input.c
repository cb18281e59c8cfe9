/*
 * verify/input.c - decoding of submitted bytes: DER, PEM, bare base64 and
 * S/MIME, always through the cursor and with the configured ceilings.
 *
 * DER goes to OpenSSL with its exact length, and bytes left over after the
 * outer structure are rejected: a message is exactly one object.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "internal.h"

ks_result ks_read_file(const char *path, size_t max, uint8_t **out, size_t *outlen)
{
    ks_result ret = KS_E_IO;
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    *out = NULL;
    *outlen = 0;
    if (fd < 0)
        goto done;
    struct stat st;
    if (fstat(fd, &st) != 0)
        goto done;
    if (S_ISDIR(st.st_mode)) {
        errno = EISDIR;
        goto done;
    }
    for (;;) {
        if (len == cap) {
            if (cap > max) {
                ret = KS_E_TOO_LARGE; /* read one byte past the ceiling: too large */
                goto done;
            }
            size_t ncap = cap ? cap * 2 : 64 * 1024;
            if (ncap > max + 1)
                ncap = max + 1;
            uint8_t *n = realloc(buf, ncap);
            if (n == NULL) {
                ret = KS_E_NOMEM;
                goto done;
            }
            buf = n;
            cap = ncap;
        }
        ssize_t r = read(fd, buf + len, cap - len);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            goto done;
        }
        if (r == 0)
            break;
        len += (size_t)r;
        if (len > max) {
            ret = KS_E_TOO_LARGE;
            goto done;
        }
    }
    *out = buf;
    *outlen = len;
    buf = NULL;
    ret = KS_OK;
done:
    if (fd >= 0)
        close(fd);
    free(buf);
    return ret;
}

CMS_ContentInfo *ks_der_to_cms(const uint8_t *p, size_t len)
{
    if (len == 0 || len > LONG_MAX)
        return NULL;
    const unsigned char *q = p;
    CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &q, (long)len);
    if (cms != NULL && q != p + len) { /* trailing bytes */
        CMS_ContentInfo_free(cms);
        cms = NULL;
    }
    return cms;
}

X509 *ks_der_to_x509(const uint8_t *p, size_t len)
{
    if (len == 0 || len > LONG_MAX)
        return NULL;
    const unsigned char *q = p;
    X509 *x = d2i_X509(NULL, &q, (long)len);
    if (x != NULL && q != p + len) {
        X509_free(x);
        x = NULL;
    }
    return x;
}

/* ---------------- CMS with certificates decoded once ----------------
 *
 * OpenSSL 3.0 decodes every embedded certificate's public key through its
 * provider decoders on every d2i (hundreds of microseconds), although
 * signers send the same certificates again and again.  So: walk the DER of
 * the SignedData (RFC 5652 5.1) with the cursor, take the certificate set
 * out, decode the rest, and put back certificates decoded once and kept by
 * the SHA-256 of their DER (verify/vcache.c).  Anything unexpected (BER,
 * other certificate choices, duplicates, trailing bytes) returns NULL and
 * the caller decodes the original bytes as before, so the outcome for any
 * input is the one the plain decoder gives. */

typedef struct {
    uint8_t tag;
    size_t hlen, len; /* header and content lengths */
    const uint8_t *p; /* start of the TLV */
} ks_tlv;

/* One DER TLV at the cursor: low tag number, definite minimal length. */
static int ks_tlv_read(ks_cur *c, ks_tlv *t)
{
    const uint8_t *p = ks_cur_ptr(c);
    size_t left = ks_cur_left(c), len = 0, h = 2;
    if (left < 2 || (p[0] & 0x1f) == 0x1f)
        return 0;
    if (p[1] < 0x80) {
        len = p[1];
    } else {
        size_t nb = p[1] & 0x7f;
        if (nb == 0 || nb > 4 || left < 2 + nb || p[2] == 0)
            return 0; /* indefinite, too long or not minimal */
        for (size_t i = 0; i < nb; i++)
            len = len << 8 | p[2 + i];
        if (len < 0x80)
            return 0;
        h += nb;
    }
    if (len > left - h)
        return 0;
    t->tag = p[0];
    t->hlen = h;
    t->len = len;
    t->p = p;
    return ks_cur_skip(c, h + len);
}

static size_t ks_der_header(uint8_t *out, uint8_t tag, size_t len)
{
    size_t n = 0;
    out[n++] = tag;
    if (len < 0x80) {
        out[n++] = (uint8_t)len;
        return n;
    }
    size_t nb = len > 0xffffff ? 4 : len > 0xffff ? 3 : len > 0xff ? 2 : 1;
    out[n++] = (uint8_t)(0x80 | nb);
    for (size_t i = nb; i > 0; i--)
        out[n++] = (uint8_t)(len >> (8 * (i - 1)));
    return n;
}

CMS_ContentInfo *ks_der_to_cms_cached(const ks_ctx *ctx, const uint8_t *p, size_t len)
{
    static const uint8_t signed_data_oid[] = {0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02};
    ks_cur c, ci, ex, sd;
    ks_tlv outer, oid, explicit0, sdseq, v, dig, encap, certs;
    CMS_ContentInfo *cms = NULL;
    uint8_t *buf = NULL;
    int ok = 0;
    if (ctx->vcache == NULL)
        return NULL;
    ks_cur_init(&c, p, len);
    if (!ks_tlv_read(&c, &outer) || outer.tag != 0x30 || ks_cur_left(&c) != 0)
        return NULL;
    ks_cur_init(&ci, outer.p + outer.hlen, outer.len);
    if (!ks_tlv_read(&ci, &oid) || oid.hlen + oid.len != sizeof signed_data_oid ||
        memcmp(oid.p, signed_data_oid, sizeof signed_data_oid) != 0 || !ks_tlv_read(&ci, &explicit0) ||
        explicit0.tag != 0xa0 || ks_cur_left(&ci) != 0)
        return NULL;
    ks_cur_init(&ex, explicit0.p + explicit0.hlen, explicit0.len);
    if (!ks_tlv_read(&ex, &sdseq) || sdseq.tag != 0x30 || ks_cur_left(&ex) != 0)
        return NULL;
    ks_cur_init(&sd, sdseq.p + sdseq.hlen, sdseq.len);
    if (!ks_tlv_read(&sd, &v) || v.tag != 0x02 || !ks_tlv_read(&sd, &dig) || dig.tag != 0x31 ||
        !ks_tlv_read(&sd, &encap) || encap.tag != 0x30)
        return NULL;
    const uint8_t *after_encap = ks_cur_ptr(&sd);
    if (!ks_tlv_read(&sd, &certs) || certs.tag != 0xa0)
        return NULL; /* no certificate set: nothing to save */
    const uint8_t *rest = ks_cur_ptr(&sd);
    size_t nrest = ks_cur_left(&sd);
    /* Every element a Certificate (SEQUENCE), within the ceiling. */
    ks_cur cs;
    ks_tlv cert;
    int ncerts = 0;
    ks_cur_init(&cs, certs.p + certs.hlen, certs.len);
    while (ks_cur_left(&cs) > 0) {
        if (!ks_tlv_read(&cs, &cert) || cert.tag != 0x30 || ++ncerts > ctx->limits.max_certs)
            return NULL;
    }
    /* The same message without the certificate set. */
    size_t sd_len = (size_t)(after_encap - (sdseq.p + sdseq.hlen)) + nrest;
    uint8_t h_sd[8], h_ex[8], h_outer[8];
    size_t n_sd = ks_der_header(h_sd, 0x30, sd_len);
    size_t n_ex = ks_der_header(h_ex, 0xa0, n_sd + sd_len);
    size_t ci_len = sizeof signed_data_oid + n_ex + n_sd + sd_len;
    size_t n_outer = ks_der_header(h_outer, 0x30, ci_len);
    size_t total = n_outer + ci_len;
    if ((buf = malloc(total)) == NULL)
        return NULL;
    uint8_t *w = buf;
    memcpy(w, h_outer, n_outer), w += n_outer;
    memcpy(w, signed_data_oid, sizeof signed_data_oid), w += sizeof signed_data_oid;
    memcpy(w, h_ex, n_ex), w += n_ex;
    memcpy(w, h_sd, n_sd), w += n_sd;
    memcpy(w, sdseq.p + sdseq.hlen, (size_t)(after_encap - (sdseq.p + sdseq.hlen))), w += after_encap - (sdseq.p + sdseq.hlen);
    memcpy(w, rest, nrest);
    if ((cms = ks_der_to_cms(buf, total)) == NULL)
        goto done;
    ks_cur_init(&cs, certs.p + certs.hlen, certs.len);
    while (ks_cur_left(&cs) > 0) {
        if (!ks_tlv_read(&cs, &cert))
            goto done;
        X509 *x = ks_vcache_x509(ctx->vcache, cert.p, cert.hlen + cert.len);
        if (x == NULL)
            goto done;
        if (CMS_add0_cert(cms, x) != 1) { /* refuses duplicates, which the plain decoder keeps */
            X509_free(x);
            goto done;
        }
    }
    ok = 1;
done:
    ks_openssl_drain(__func__);
    free(buf);
    if (!ok) {
        CMS_ContentInfo_free(cms);
        cms = NULL;
    }
    return cms;
}

static int ks_is_b64_char(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/' || c == '=' || c == '\r' || c == '\n' || c == ' ' || c == '\t';
}

/* Bare base64 (whitespace allowed) -> bytes.  0 when it is not base64. */
static int ks_b64_decode(const uint8_t *p, size_t len, uint8_t **out, size_t *outlen)
{
    for (size_t i = 0; i < len; i++)
        if (!ks_is_b64_char(p[i]))
            return 0;
    if (len > INT_MAX)
        return 0;
    uint8_t *buf = malloc(len / 4 * 3 + 4);
    EVP_ENCODE_CTX *ectx = EVP_ENCODE_CTX_new();
    int n1 = 0, n2 = 0, ok = 0;
    if (buf != NULL && ectx != NULL) {
        EVP_DecodeInit(ectx);
        if (EVP_DecodeUpdate(ectx, buf, &n1, p, (int)len) >= 0 && EVP_DecodeFinal(ectx, buf + n1, &n2) == 1 &&
            n1 + n2 > 0)
            ok = 1;
    }
    EVP_ENCODE_CTX_free(ectx);
    if (!ok) {
        free(buf);
        return 0;
    }
    *out = buf;
    *outlen = (size_t)(n1 + n2);
    return 1;
}

/* Receives the DER of each object found in a submission. */
typedef ks_result (*ks_der_fn)(void *arg, const uint8_t *der, size_t len);

/*
 * The PEM blocks of a submission (RFC 7468).  Section 2: text outside the
 * encapsulation boundaries is allowed and parsers must not fail on it, and
 * real tools write it: `openssl pkcs12` puts "Bag Attributes" lines before
 * each block, a bundle puts the CA after its leaf, a note or a mail puts a
 * line before.  OpenSSL's own reader finds the boundaries and decodes the
 * base64 (no second decoder of ours); every block labelled with one of
 * `labels` goes to fn, in order, and blocks with other labels (a private key
 * next to a certificate) are skipped, as PEM_read_bio_X509 and so the
 * configuration loader skip them.  A labelled block with header lines
 * (RFC 1421 encryption; RFC 7468 has none) or empty, and a block OpenSSL
 * cannot read, are not accepted: KS_E_ENCODING, as is text without any
 * labelled block.  Memory: one block at a time, within the input's size.
 */
static ks_result ks_pem_each(const ks_cur *c, const char *const *labels, ks_der_fn fn, void *arg)
{
    ks_result ret = KS_E_ENCODING;
    char *name = NULL, *header = NULL;
    unsigned char *data = NULL;
    long dlen = 0;
    int found = 0;
    if (ks_cur_left(c) > INT_MAX)
        return KS_E_TOO_LARGE;
    BIO *b = BIO_new_mem_buf(ks_cur_ptr(c), (int)ks_cur_left(c));
    if (b == NULL)
        return KS_E_NOMEM;
    ks_openssl_drain(__func__); /* the end of the loop is read from the error queue */
    while (PEM_read_bio(b, &name, &header, &data, &dlen) == 1) {
        int known = 0;
        for (const char *const *l = labels; *l; l++)
            if (strcmp(name, *l) == 0)
                known = 1;
        if (known && (header[0] != '\0' || dlen <= 0))
            goto done;
        if (known) {
            ks_result r = fn(arg, data, (size_t)dlen);
            if (r != KS_OK) {
                ret = r;
                goto done;
            }
            found = 1;
        }
        OPENSSL_free(name);
        OPENSSL_free(header);
        OPENSSL_free(data);
        name = header = NULL;
        data = NULL;
    }
    /* PEM_R_NO_START_LINE: no further block, only text; anything else is a
     * block that does not decode. */
    unsigned long e = ERR_peek_last_error();
    if (found && ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE)
        ret = KS_OK;
done:
    ks_openssl_drain(__func__);
    OPENSSL_free(name);
    OPENSSL_free(header);
    OPENSSL_free(data);
    BIO_free(b);
    return ret;
}

/*
 * Turns a submission into DER objects for fn: DER itself (exactly one
 * object), the PEM blocks of a text (ks_pem_each), or bare base64 (one
 * object).  The input is within max_input_bytes before anything is decoded.
 */
static ks_result ks_decode_input(const ks_ctx *ctx, const ks_blob *in, const char *const *labels, ks_der_fn fn,
                                 void *arg)
{
    static const uint8_t begin[] = "-----BEGIN ";
    if (in->data == NULL || in->len == 0)
        return KS_E_EMPTY;
    if (in->len > ctx->limits.max_input_bytes)
        return KS_E_TOO_LARGE;
    ks_cur c;
    ks_cur_init(&c, in->data, in->len);
    if (in->data[0] == 0x30) /* DER SEQUENCE */
        return fn(arg, in->data, in->len);
    ks_cur_skip_space(&c);
    if (ks_cur_left(&c) == 0)
        return KS_E_EMPTY;
    if (ks_cur_find(&c, begin, sizeof begin - 1) >= 0) /* base64 has no '-': text with PEM */
        return ks_pem_each(&c, labels, fn, arg);
    uint8_t *der = NULL;
    size_t derlen = 0;
    if (!ks_b64_decode(ks_cur_ptr(&c), ks_cur_left(&c), &der, &derlen))
        return KS_E_ENCODING;
    ks_result r = fn(arg, der, derlen);
    free(der);
    return r;
}

/* An RFC 5322 header block (printable lines up to an empty line) with a
 * Content-Type of S/MIME (RFC 8551 3.5, 3.2): multipart/signed or
 * application/(x-)pkcs7-mime.  Mail headers such as To: may come first. */
static int ks_looks_smime(const ks_blob *in)
{
    ks_cur c;
    ks_cur_init(&c, in->data, in->len);
    ks_cur_skip_space(&c);
    for (int lines = 0; lines < 64 && ks_cur_left(&c) > 0; lines++) {
        const uint8_t *line = ks_cur_ptr(&c);
        long eol = ks_cur_find(&c, (const uint8_t *)"\n", 1);
        size_t n = eol < 0 ? ks_cur_left(&c) : (size_t)eol;
        if (n == 0 || (n == 1 && line[0] == '\r'))
            return 0; /* end of the headers, no S/MIME type seen */
        for (size_t i = 0; i < n; i++)
            if ((line[i] < 0x20 && line[i] != '\t' && line[i] != '\r') || line[i] >= 0x7f)
                return 0; /* not a header line */
        if (ks_cur_starts_with_ci(&c, "Content-Type:")) {
            for (size_t i = 0; i < n; i++) {
                ks_cur h;
                ks_cur_init(&h, line + i, n - i);
                if (ks_cur_starts_with_ci(&h, "multipart/signed") || ks_cur_starts_with_ci(&h, "pkcs7-mime"))
                    return 1;
            }
        }
        if (!ks_cur_skip(&c, eol < 0 ? n : n + 1))
            return 0;
    }
    return 0;
}

typedef struct {
    const ks_ctx *ctx;
    CMS_ContentInfo *cms;
} ks_cms_in;

/* One message is one signature: a second signature block is refused rather
 * than one of the two picked. */
static ks_result ks_cms_der(void *arg, const uint8_t *der, size_t len)
{
    ks_cms_in *ci = arg;
    if (ci->cms != NULL)
        return KS_E_NOT_SIGNATURE;
    ci->cms = ks_der_to_cms_cached(ci->ctx, der, len);
    if (ci->cms == NULL)
        ci->cms = ks_der_to_cms(der, len);
    if (ci->cms == NULL) {
        ks_openssl_drain(__func__);
        return KS_E_NOT_SIGNATURE;
    }
    return KS_OK;
}

ks_result ks_input_cms(const ks_ctx *ctx, const ks_blob *in, CMS_ContentInfo **out, BIO **smime_content)
{
    static const char *const labels[] = {"CMS", "PKCS7", "PKCS #7 SIGNED DATA", NULL};
    ks_cms_in ci = {.ctx = ctx, .cms = NULL};

    *out = NULL;
    *smime_content = NULL;
    if (in->len > 0 && in->len <= ctx->limits.max_input_bytes && in->len <= INT_MAX && ks_looks_smime(in)) {
        /* RFC 8551 S/MIME: multipart/signed or application/pkcs7-mime. */
        BIO *b = BIO_new_mem_buf(in->data, (int)in->len);
        if (b == NULL)
            return KS_E_NOMEM;
        *out = SMIME_read_CMS(b, smime_content);
        BIO_free(b);
        if (*out == NULL) {
            ks_openssl_drain(__func__);
            return KS_E_NOT_SIGNATURE;
        }
        return KS_OK;
    }
    ks_result r = ks_decode_input(ctx, in, labels, ks_cms_der, &ci);
    if (r != KS_OK) {
        CMS_ContentInfo_free(ci.cms);
        return r;
    }
    *out = ci.cms;
    return KS_OK;
}

typedef struct {
    const ks_ctx *ctx;
    STACK_OF(X509) *certs;
} ks_cert_in;

static ks_result ks_cert_der(void *arg, const uint8_t *der, size_t len)
{
    ks_cert_in *ci = arg;
    if (sk_X509_num(ci->certs) >= ci->ctx->limits.max_certs)
        return KS_E_LIMIT;
    X509 *x = ks_der_to_x509(der, len);
    if (x == NULL) {
        ks_openssl_drain(__func__);
        return KS_E_NOT_CERTIFICATE;
    }
    if (!sk_X509_push(ci->certs, x)) {
        X509_free(x);
        return KS_E_NOMEM;
    }
    return KS_OK;
}

ks_result ks_input_cert(const ks_ctx *ctx, const ks_blob *in, X509 **out, STACK_OF(X509) **bundle)
{
    static const char *const labels[] = {"CERTIFICATE", "X509 CERTIFICATE", NULL};
    ks_cert_in ci = {.ctx = ctx, .certs = sk_X509_new_null()};
    ks_result r = KS_E_NOMEM;

    *out = NULL;
    *bundle = NULL;
    if (ci.certs == NULL)
        goto done;
    if ((r = ks_decode_input(ctx, in, labels, ks_cert_der, &ci)) != KS_OK)
        goto done;
    /* The first certificate is the subject; the others came with it as
     * candidates for its path (a leaf followed by its CA), never trusted. */
    *out = sk_X509_shift(ci.certs);
    if (sk_X509_num(ci.certs) > 0) {
        *bundle = ci.certs;
        ci.certs = NULL;
    }
done:
    sk_X509_pop_free(ci.certs, X509_free);
    return r;
}

ks_result ks_load_certs_file(const char *path, STACK_OF(X509) *into)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    ks_result r = ks_read_file(path, 4 * 1024 * 1024, &buf, &len);
    if (r != KS_OK)
        return r;
    ks_cur c;
    ks_cur_init(&c, buf, len);
    if (ks_cur_find(&c, (const uint8_t *)"-----BEGIN", 10) >= 0) {
        BIO *b = BIO_new_mem_buf(buf, (int)len);
        X509 *x;
        r = b ? KS_OK : KS_E_NOMEM;
        while (b != NULL && (x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
            if (!sk_X509_push(into, x)) {
                X509_free(x);
                r = KS_E_NOMEM;
                break;
            }
        }
        /* PEM_R_NO_START_LINE at the end of the file is how the loop ends. */
        unsigned long e = ERR_peek_last_error();
        if (r == KS_OK && e != 0 && ERR_GET_REASON(e) != PEM_R_NO_START_LINE)
            r = KS_E_NOT_CERTIFICATE;
        ks_openssl_drain(__func__);
        BIO_free(b);
    } else {
        X509 *x = ks_der_to_x509(buf, len);
        if (x == NULL) {
            ks_openssl_drain(__func__);
            r = KS_E_NOT_CERTIFICATE;
        } else if (!sk_X509_push(into, x)) {
            X509_free(x);
            r = KS_E_NOMEM;
        }
    }
    free(buf);
    return r;
}

ks_result ks_load_crl_file(const char *path, size_t max, X509_CRL **out)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    *out = NULL;
    ks_result r = ks_read_file(path, max, &buf, &len);
    if (r != KS_OK)
        return r;
    ks_cur c;
    ks_cur_init(&c, buf, len);
    ks_cur_skip_space(&c);
    if (ks_cur_starts_with(&c, "-----BEGIN") && len <= INT_MAX) {
        BIO *b = BIO_new_mem_buf(buf, (int)len);
        *out = b ? PEM_read_bio_X509_CRL(b, NULL, NULL, NULL) : NULL;
        BIO_free(b);
    } else if (len > 0 && len <= LONG_MAX) {
        const unsigned char *q = buf;
        *out = d2i_X509_CRL(NULL, &q, (long)len);
        if (*out != NULL && q != buf + len) {
            X509_CRL_free(*out);
            *out = NULL;
        }
    }
    ks_openssl_drain(__func__);
    free(buf);
    return *out ? KS_OK : KS_E_ENCODING;
}
