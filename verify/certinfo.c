/*
 * verify/certinfo.c - what a verdict says about a certificate, and the JPKI
 * basic four items from subjectAltName.
 *
 * The JPKI items are personal data: they go into the verdict for the caller
 * and nowhere else (this file never logs).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>

#include "internal.h"

const char *ks_cert_source_name(ks_cert_source s)
{
    switch (s) {
    case KS_SRC_ANCHOR:
        return "anchor";
    case KS_SRC_CONFIG:
        return "configuration";
    case KS_SRC_SIGNATURE:
        return "signature";
    case KS_SRC_SUBMITTED:
        return "submitted";
    case KS_SRC_INPUT:
        return "input";
    default:
        return "unknown";
    }
}

char *ks_name_string(const X509_NAME *n)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *out = NULL, *data;
    /* RFC 2253 order, UTF-8 kept as UTF-8 (no \xx escapes of multibyte). */
    if (b != NULL && X509_NAME_print_ex(b, n, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0) {
        long len = BIO_get_mem_data(b, &data);
        if (len >= 0 && (out = malloc((size_t)len + 1)) != NULL) {
            if (len > 0) /* an empty name leaves data NULL (PKITS 4.13.14) */
                memcpy(out, data, (size_t)len);
            out[len] = '\0';
            if (!ks_utf8_valid((const uint8_t *)out, (size_t)len)) {
                /* Never put invalid UTF-8 into JSON: fall back to escapes. */
                free(out);
                out = NULL;
                BIO_reset(b);
                if (X509_NAME_print_ex(b, n, 0, XN_FLAG_RFC2253) >= 0 && (len = BIO_get_mem_data(b, &data)) >= 0 &&
                    (out = malloc((size_t)len + 1)) != NULL) {
                    memcpy(out, data, (size_t)len);
                    out[len] = '\0';
                }
            }
        }
    }
    BIO_free(b);
    return out;
}

int ks_asn1_time_to_time_t(const ASN1_TIME *t, time_t *out)
{
    struct tm tm;
    if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
        return 0;
    *out = timegm(&tm);
    return 1;
}

void ks_asn1_time_format(const ASN1_TIME *t, char *buf, size_t len)
{
    time_t tt;
    if (ks_asn1_time_to_time_t(t, &tt))
        ks_time_format(tt, buf, len);
    else
        snprintf(buf, len, "invalid");
}

static int ks_add_time(cJSON *o, const char *key, const ASN1_TIME *t)
{
    char buf[32];
    ks_asn1_time_format(t, buf, sizeof buf);
    return cJSON_AddStringToObject(o, key, buf) != NULL;
}

static int ks_add_name(cJSON *o, const char *key, const X509_NAME *n)
{
    char *s = ks_name_string(n);
    int ok = s != NULL && cJSON_AddStringToObject(o, key, s) != NULL;
    free(s);
    return ok;
}

cJSON *ks_cert_json(X509 *x, ks_cert_source src)
{
    cJSON *o = cJSON_CreateObject();
    char *serial = NULL;
    BIGNUM *bn = NULL;
    int ok = 0;
    if (o == NULL)
        return NULL;
    if (!ks_add_name(o, "subject", X509_get_subject_name(x)) || !ks_add_name(o, "issuer", X509_get_issuer_name(x)))
        goto done;
    bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
    if (bn == NULL || (serial = BN_bn2hex(bn)) == NULL || cJSON_AddStringToObject(o, "serial", serial) == NULL)
        goto done;
    if (!ks_add_time(o, "not_before", X509_get0_notBefore(x)) || !ks_add_time(o, "not_after", X509_get0_notAfter(x)))
        goto done;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    char hex[2 * EVP_MAX_MD_SIZE + 1];
    if (X509_digest(x, EVP_sha256(), md, &mdlen) != 1)
        goto done;
    ks_hex_encode(md, mdlen, hex);
    if (cJSON_AddStringToObject(o, "sha256", hex) == NULL)
        goto done;
    EVP_PKEY *pk = X509_get0_pubkey(x);
    cJSON *key = cJSON_AddObjectToObject(o, "key");
    if (key == NULL)
        goto done;
    if (pk != NULL) {
        int id = EVP_PKEY_get_base_id(pk);
        const char *type = id == EVP_PKEY_RSA ? "RSA" : id == EVP_PKEY_RSA_PSS ? "RSA-PSS" : id == EVP_PKEY_EC ? "EC"
                           : id == EVP_PKEY_DSA ? "DSA" : id == EVP_PKEY_ED25519 ? "Ed25519" : "other";
        char group[64];
        size_t glen = 0;
        if (cJSON_AddStringToObject(key, "type", type) == NULL ||
            cJSON_AddNumberToObject(key, "bits", EVP_PKEY_get_bits(pk)) == NULL ||
            (id == EVP_PKEY_EC && EVP_PKEY_get_utf8_string_param(pk, "group", group, sizeof group, &glen) == 1 &&
             cJSON_AddStringToObject(key, "curve", group) == NULL))
            goto done;
    } else {
        ks_openssl_drain(__func__);
        if (cJSON_AddStringToObject(key, "type", "unreadable") == NULL)
            goto done;
    }
    int sig_nid = X509_get_signature_nid(x);
    if (cJSON_AddStringToObject(o, "signature_algorithm", sig_nid != NID_undef ? OBJ_nid2ln(sig_nid) : "unknown") == NULL)
        goto done;
    if (cJSON_AddStringToObject(o, "source", ks_cert_source_name(src)) == NULL)
        goto done;
    ok = 1;
done:
    OPENSSL_free(serial);
    BN_free(bn);
    if (!ok) {
        ks_openssl_drain(__func__);
        cJSON_Delete(o);
        o = NULL;
    }
    return o;
}

/* ---------------- JPKI ---------------- */

/* The basic four items, ../shared/jpki-profile.md: 1.2.392.200149.8.5.5.N */
enum { KS_JPKI_NAME = 1, KS_JPKI_NAME_SUB, KS_JPKI_SEX, KS_JPKI_DOB, KS_JPKI_ADDR, KS_JPKI_ADDR_SUB, KS_JPKI_N };

static int ks_jpki_item(const ASN1_OBJECT *oid)
{
    static const char prefix[] = "1.2.392.200149.8.5.5.";
    char txt[64];
    int n = OBJ_obj2txt(txt, sizeof txt, oid, 1);
    if (n <= 0 || (size_t)n >= sizeof txt || strncmp(txt, prefix, sizeof prefix - 1) != 0)
        return 0;
    const char *rest = txt + sizeof prefix - 1;
    if (rest[0] >= '1' && rest[0] <= '6' && rest[1] == '\0')
        return rest[0] - '0';
    return 0;
}

/* "EYYYYMMDD": era digit, then the Gregorian date.  Era 0 = unknown -> NULL. */
static int ks_jpki_dob(const char *s, char *out, size_t len)
{
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (strlen(s) != 9)
        return 0;
    for (int i = 0; i < 9; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    if (s[0] == '0' || s[0] > '5')
        return 0;
    int y = atoi((char[]){s[1], s[2], s[3], s[4], 0});
    int m = atoi((char[]){s[5], s[6], 0});
    int d = atoi((char[]){s[7], s[8], 0});
    if (y < 1868 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
        return 0;
    if (m == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 0;
    snprintf(out, len, "%04d-%02d-%02d", y, m, d);
    return 1;
}

cJSON *ks_jpki_json(X509 *x)
{
    static const char *const era_names[] = {NULL, "meiji", "taisho", "showa", "heisei", "reiwa"};
    GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    char *items[KS_JPKI_N] = {0};
    cJSON *o = NULL;
    int found = 0;
    ks_openssl_drain(__func__);
    for (int i = 0; gens != NULL && i < sk_GENERAL_NAME_num(gens); i++) {
        const GENERAL_NAME *gn = sk_GENERAL_NAME_value(gens, i);
        if (gn->type != GEN_OTHERNAME)
            continue;
        int item = ks_jpki_item(gn->d.otherName->type_id);
        if (item == 0 || items[item] != NULL)
            continue;
        found = 1;
        /* value [0] EXPLICIT UTF8String; anything else is reported as null. */
        const ASN1_TYPE *v = gn->d.otherName->value;
        if (v == NULL || v->type != V_ASN1_UTF8STRING)
            continue;
        const ASN1_STRING *s = v->value.utf8string;
        const uint8_t *p = ASN1_STRING_get0_data(s);
        int n = ASN1_STRING_length(s);
        if (n < 0 || n > 4096 || !ks_utf8_valid(p, (size_t)n))
            continue;
        if ((items[item] = malloc((size_t)n + 1)) == NULL)
            goto done;
        memcpy(items[item], p, (size_t)n);
        items[item][n] = '\0';
    }
    if (!found)
        goto done;
    o = cJSON_CreateObject();
    if (o == NULL)
        goto done;
#define KS_ADD_OR_NULL(key, val) \
    ((val) ? cJSON_AddStringToObject(o, key, val) != NULL : cJSON_AddNullToObject(o, key) != NULL)
    int ok = KS_ADD_OR_NULL("name", items[KS_JPKI_NAME]) && KS_ADD_OR_NULL("address", items[KS_JPKI_ADDR]);
    char dob[40];
    const char *d = items[KS_JPKI_DOB];
    const char *dobs = d != NULL && ks_jpki_dob(d, dob, sizeof dob) ? dob : NULL;
    ok = ok && KS_ADD_OR_NULL("date_of_birth", dobs);
    const char *era = d && strlen(d) == 9 && d[0] >= '1' && d[0] <= '5' ? era_names[d[0] - '0'] : NULL;
    ok = ok && KS_ADD_OR_NULL("date_of_birth_era", era);
    const char *sex = items[KS_JPKI_SEX];
    const char *sexs = !sex ? NULL : strcmp(sex, "1") == 0 ? "male" : strcmp(sex, "2") == 0 ? "female"
                                   : strcmp(sex, "3") == 0 ? "unknown" : NULL;
    ok = ok && KS_ADD_OR_NULL("sex", sexs) && KS_ADD_OR_NULL("name_substitutes", items[KS_JPKI_NAME_SUB]) &&
         KS_ADD_OR_NULL("address_substitutes", items[KS_JPKI_ADDR_SUB]);
#undef KS_ADD_OR_NULL
    if (!ok) {
        cJSON_Delete(o);
        o = NULL;
    }
done:
    for (int i = 0; i < KS_JPKI_N; i++)
        free(items[i]);
    GENERAL_NAMES_free(gens);
    return o;
}
