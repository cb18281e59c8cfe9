/*
 * verify/jws.c - signed verdicts: RFC 7515 JWS Compact Serialization with
 * the gateway's own key, ES256 (ECDSA P-256, RFC 7518 3.4) or PS256
 * (RSASSA-PSS with SHA-256, MGF1 SHA-256 and a 32-byte salt, RFC 7518 3.5).
 *
 * OpenSSL does the cryptography; cJSON builds the protected header.  No JOSE
 * library: Debian 12's libjwt (1.10) builds and signs JWT claim sets it
 * serialises itself through jansson, and cjose (0.6) takes keys only as JWK
 * and also brings jansson; both would add a second JSON library for the
 * three base64url encodings and one signature done here.
 *
 * The verifier is strict: three parts of base64url without padding, a
 * protected header that names the algorithm the certificate's key implies
 * (never "none", never an algorithm chosen by the token: RFC 8725 3.1),
 * an x5t#S256 that matches the certificate when present, no "crit".
 */
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "internal.h"

struct ks_jws_key {
    EVP_PKEY *key;
    X509 *cert;
    const char *alg; /* "ES256" or "PS256" */
    char x5t[64];    /* base64url SHA-256 of the certificate's DER */
};

/* ---------------- base64url (RFC 4648 5, no padding) ---------------- */

static char *ks_b64url(const uint8_t *p, size_t n)
{
    size_t cap = 4 * ((n + 2) / 3) + 1;
    char *out = malloc(cap);
    if (out == NULL || n > INT32_MAX)
        goto fail;
    int len = EVP_EncodeBlock((unsigned char *)out, p, (int)n);
    if (len < 0)
        goto fail;
    while (len > 0 && out[len - 1] == '=')
        len--;
    out[len] = '\0';
    for (int i = 0; i < len; i++)
        out[i] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
    return out;
fail:
    free(out);
    return NULL;
}

/* Decodes s[0..n) strictly: the base64url alphabet only, no padding, no
 * bits left over.  Returns a malloc'd buffer (NUL-terminated for JSON). */
static uint8_t *ks_b64url_decode(const char *s, size_t n, size_t *outlen)
{
    if (n % 4 == 1 || n > (1u << 26))
        return NULL;
    size_t padded = (n + 3) / 4 * 4;
    char *t = malloc(padded + 1);
    uint8_t *out = malloc(padded / 4 * 3 + 1);
    if (t == NULL || out == NULL)
        goto fail;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
            goto fail;
        t[i] = c == '-' ? '+' : c == '_' ? '/' : c;
    }
    for (size_t i = n; i < padded; i++)
        t[i] = '=';
    int len = padded ? EVP_DecodeBlock(out, (unsigned char *)t, (int)padded) : 0;
    if (len < 0)
        goto fail;
    len -= (int)(padded - n); /* EVP_DecodeBlock counts the padding as zero bytes */
    /* canonical: re-encoding gives the same text (no stray low bits) */
    char *again = ks_b64url(out, (size_t)len);
    int same = again != NULL && strlen(again) == n && memcmp(again, s, n) == 0;
    free(again);
    if (!same)
        goto fail;
    out[len] = '\0';
    *outlen = (size_t)len;
    free(t);
    return out;
fail:
    free(t);
    free(out);
    return NULL;
}

/* ---------------- keys ---------------- */

/* The JOSE algorithm a key implies: ES256 for P-256, PS256 for RSA of at
 * least 2048 bits; NULL for anything else. */
static const char *ks_jws_alg_for(EVP_PKEY *k)
{
    char group[32] = "";
    size_t glen = 0;
    if (EVP_PKEY_is_a(k, "EC"))
        return EVP_PKEY_get_group_name(k, group, sizeof group, &glen) == 1 && strcmp(group, "prime256v1") == 0
                   ? "ES256"
                   : NULL;
    if (EVP_PKEY_is_a(k, "RSA") || EVP_PKEY_is_a(k, "RSA-PSS"))
        return EVP_PKEY_get_bits(k) >= 2048 ? "PS256" : NULL;
    return NULL;
}

static int ks_x5t(X509 *cert, char out[64])
{
    uint8_t md[32];
    unsigned int mdlen = 0;
    if (X509_digest(cert, EVP_sha256(), md, &mdlen) != 1 || mdlen != 32)
        return 0;
    char *s = ks_b64url(md, 32);
    if (s == NULL)
        return 0;
    snprintf(out, 64, "%s", s);
    free(s);
    return 1;
}

static X509 *ks_read_cert(const char *path)
{
    X509 *x = NULL;
    BIO *b = BIO_new_file(path, "rb");
    if (b != NULL && (x = PEM_read_bio_X509(b, NULL, NULL, NULL)) == NULL) {
        ks_openssl_drain(__func__); /* not PEM: DER is tried next */
        (void)BIO_reset(b);
        x = d2i_X509_bio(b, NULL);
    }
    BIO_free(b);
    return x;
}

void ks_jws_key_free(ks_jws_key *k)
{
    if (k == NULL)
        return;
    EVP_PKEY_free(k->key);
    X509_free(k->cert);
    free(k);
}

ks_result ks_jws_key_load(const char *key_file, const char *cert_file, ks_jws_key **out, char **errmsg)
{
    ks_result r = KS_E_CONFIG;
    ks_jws_key *k = calloc(1, sizeof *k);
    BIO *b = NULL;
    const char *why = "out of memory";
    *out = NULL;
    ks_openssl_drain(__func__);
    if (k == NULL) {
        r = KS_E_NOMEM;
        goto done;
    }
    why = "cannot read verdict_signing.key_file (PEM private key)";
    if ((b = BIO_new_file(key_file, "rb")) == NULL || (k->key = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL)) == NULL)
        goto done;
    why = "cannot read verdict_signing.cert_file (PEM or DER certificate)";
    if ((k->cert = ks_read_cert(cert_file)) == NULL)
        goto done;
    why = "verdict_signing: the key is neither EC P-256 (ES256) nor RSA of 2048 bits or more (PS256)";
    if ((k->alg = ks_jws_alg_for(k->key)) == NULL)
        goto done;
    why = "verdict_signing: the key does not belong to the certificate";
    if (X509_check_private_key(k->cert, k->key) != 1)
        goto done;
    why = "out of memory";
    if (!ks_x5t(k->cert, k->x5t))
        goto done;
    *out = k;
    k = NULL;
    r = KS_OK;
done:
    if (r != KS_OK && errmsg != NULL)
        *errmsg = strdup(why);
    BIO_free(b);
    ks_jws_key_free(k);
    if (r != KS_OK)
        ks_log_openssl(__func__); /* the configuration's key or certificate: an operator must act */
    return r;
}

const char *ks_jws_key_alg(const ks_jws_key *k)
{
    return k->alg;
}

/* ---------------- signatures ---------------- */

/* DER ECDSA-Sig-Value <-> the JWS form R || S, 32 bytes each (RFC 7518 3.4). */
static int ks_ecdsa_der_to_raw(const uint8_t *der, size_t len, uint8_t raw[64])
{
    const unsigned char *p = der;
    ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)len);
    int ok = sig != NULL && p == der + len && BN_bn2binpad(ECDSA_SIG_get0_r(sig), raw, 32) == 32 &&
             BN_bn2binpad(ECDSA_SIG_get0_s(sig), raw + 32, 32) == 32;
    ECDSA_SIG_free(sig);
    return ok;
}

static uint8_t *ks_ecdsa_raw_to_der(const uint8_t raw[64], size_t *len)
{
    ECDSA_SIG *sig = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(raw, 32, NULL), *s = BN_bin2bn(raw + 32, 32, NULL);
    uint8_t *der = NULL;
    if (sig == NULL || r == NULL || s == NULL || ECDSA_SIG_set0(sig, r, s) != 1) {
        BN_free(r);
        BN_free(s);
        ECDSA_SIG_free(sig);
        return NULL;
    }
    int n = i2d_ECDSA_SIG(sig, &der);
    ECDSA_SIG_free(sig);
    if (n <= 0)
        return NULL;
    *len = (size_t)n;
    return der;
}

static int ks_pss(EVP_PKEY_CTX *pctx)
{
    return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
           EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32) == 1 && EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) == 1;
}

ks_result ks_jws_sign(const ks_jws_key *k, const char *payload, size_t len, char **out)
{
    ks_result r = KS_E_NOMEM;
    cJSON *h = cJSON_CreateObject();
    char *htext = NULL, *hb = NULL, *pb = NULL, *sb = NULL, *jws = NULL;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    uint8_t *sig = NULL, raw[64];
    size_t siglen = 0;
    *out = NULL;
    ks_openssl_drain(__func__);
    if (h == NULL || md == NULL || cJSON_AddStringToObject(h, "alg", k->alg) == NULL ||
        cJSON_AddStringToObject(h, "typ", "JOSE") == NULL ||
        cJSON_AddStringToObject(h, "cty", "application/vnd.kensho.verdict+json") == NULL ||
        cJSON_AddStringToObject(h, "x5t#S256", k->x5t) == NULL || (htext = cJSON_PrintUnformatted(h)) == NULL ||
        (hb = ks_b64url((const uint8_t *)htext, strlen(htext))) == NULL ||
        (pb = ks_b64url((const uint8_t *)payload, len)) == NULL)
        goto done;
    size_t hlen = strlen(hb), plen = strlen(pb);
    if ((jws = malloc(hlen + plen + 2 + 4 * 512 / 3 + 8)) == NULL)
        goto done;
    memcpy(jws, hb, hlen);
    jws[hlen] = '.';
    memcpy(jws + hlen + 1, pb, plen + 1);
    r = KS_E_INTERNAL;
    if (EVP_DigestSignInit(md, &pctx, EVP_sha256(), NULL, k->key) != 1 || (strcmp(k->alg, "PS256") == 0 && !ks_pss(pctx)) ||
        EVP_DigestSign(md, NULL, &siglen, (const uint8_t *)jws, hlen + 1 + plen) != 1 || siglen > 512 ||
        (sig = malloc(siglen)) == NULL ||
        EVP_DigestSign(md, sig, &siglen, (const uint8_t *)jws, hlen + 1 + plen) != 1) {
        ks_log_openssl("EVP_DigestSign");
        goto done;
    }
    if (strcmp(k->alg, "ES256") == 0) {
        if (!ks_ecdsa_der_to_raw(sig, siglen, raw))
            goto done;
        sb = ks_b64url(raw, 64);
    } else {
        sb = ks_b64url(sig, siglen);
    }
    if (sb == NULL || strlen(sb) > 4 * 512 / 3 + 4) {
        r = KS_E_NOMEM;
        goto done;
    }
    jws[hlen + 1 + plen] = '.';
    memcpy(jws + hlen + 2 + plen, sb, strlen(sb) + 1);
    *out = jws;
    jws = NULL;
    r = KS_OK;
done:
    cJSON_Delete(h);
    free(htext);
    free(hb);
    free(pb);
    free(sb);
    free(sig);
    free(jws);
    EVP_MD_CTX_free(md);
    ks_openssl_drain(__func__);
    return r;
}

int ks_jws_verify(const char *jws, size_t n, const char *cert_file, cJSON **payload, const char **why)
{
    int ok = 0;
    X509 *cert = NULL;
    EVP_PKEY *pub = NULL;
    EVP_MD_CTX *md = NULL;
    EVP_PKEY_CTX *pctx = NULL;
    uint8_t *htext = NULL, *ptext = NULL, *sig = NULL, *der = NULL;
    size_t hlen = 0, plen = 0, slen = 0, dlen = 0;
    cJSON *h = NULL, *p = NULL;
    char x5t[64];
    *payload = NULL;
    ks_openssl_drain(__func__);
    const char *dot1 = memchr(jws, '.', n), *dot2 = dot1 ? memchr(dot1 + 1, '.', n - (size_t)(dot1 + 1 - jws)) : NULL;
    *why = "not a JWS in compact serialization (three base64url parts)";
    if (dot1 == NULL || dot2 == NULL || memchr(dot2 + 1, '.', n - (size_t)(dot2 + 1 - jws)) != NULL)
        goto done;
    if ((htext = ks_b64url_decode(jws, (size_t)(dot1 - jws), &hlen)) == NULL ||
        (ptext = ks_b64url_decode(dot1 + 1, (size_t)(dot2 - dot1 - 1), &plen)) == NULL ||
        (sig = ks_b64url_decode(dot2 + 1, n - (size_t)(dot2 + 1 - jws), &slen)) == NULL)
        goto done;
    *why = "cannot read the certificate";
    if ((cert = ks_read_cert(cert_file)) == NULL || (pub = X509_get_pubkey(cert)) == NULL)
        goto done;
    const char *alg = ks_jws_alg_for(pub);
    *why = "the protected header is not a JSON object";
    if ((h = cJSON_ParseWithLength((const char *)htext, hlen)) == NULL || !cJSON_IsObject(h))
        goto done;
    const char *halg = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(h, "alg"));
    const cJSON *ht = cJSON_GetObjectItemCaseSensitive(h, "x5t#S256");
    *why = "the header's alg is not the one the certificate's key signs with (RFC 8725 3.1)";
    if (alg == NULL || halg == NULL || strcmp(alg, halg) != 0)
        goto done;
    *why = "the header has crit, which no extension here understands (RFC 7515 4.1.11)";
    if (cJSON_HasObjectItem(h, "crit"))
        goto done;
    *why = "the header's x5t#S256 names another certificate";
    if (ht != NULL && (!ks_x5t(cert, x5t) || !cJSON_IsString(ht) || strcmp(ht->valuestring, x5t) != 0))
        goto done;
    *why = "the signature does not verify";
    if (strcmp(alg, "ES256") == 0) {
        if (slen != 64 || (der = ks_ecdsa_raw_to_der(sig, &dlen)) == NULL)
            goto done;
    }
    if ((md = EVP_MD_CTX_new()) == NULL || EVP_DigestVerifyInit(md, &pctx, EVP_sha256(), NULL, pub) != 1 ||
        (strcmp(alg, "PS256") == 0 && !ks_pss(pctx)) ||
        EVP_DigestVerify(md, der ? der : sig, der ? dlen : slen, (const uint8_t *)jws, (size_t)(dot2 - jws)) != 1)
        goto done;
    *why = "the payload is not a JSON object";
    if ((p = cJSON_ParseWithLength((const char *)ptext, plen)) == NULL || !cJSON_IsObject(p))
        goto done;
    *payload = p;
    p = NULL;
    *why = NULL;
    ok = 1;
done:
    cJSON_Delete(h);
    cJSON_Delete(p);
    free(htext);
    free(ptext);
    free(sig);
    OPENSSL_free(der);
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(pub);
    X509_free(cert);
    ks_openssl_drain(__func__); /* a token we refuse: the caller's problem */
    return ok;
}
