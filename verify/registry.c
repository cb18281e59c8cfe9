/*
 * verify/registry.c - the CA certificates revocation evidence is checked
 * against, by the SHA-256 of their DER.
 *
 * Cached OCSP responses and CRLs are re-verified whenever they are read
 * back (from memcached, or by a background refresh long after the request
 * that asked for them), so the issuer must be found from the cache key
 * alone.  Anchors and configured intermediates are registered at load; a
 * CA certificate that came with a message is registered when a path
 * through it validated.  Bounded: the oldest dynamic entry makes room.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "internal.h"

#define KS_REGISTRY_MAX 1024
#define KS_CRLNUM_MAX 4096

struct ks_registry {
    pthread_mutex_t lock;
    struct {
        char fp[65];
        X509 *x;
    } e[KS_REGISTRY_MAX];
    size_t n;
    size_t next; /* ring position among dynamic entries */
    size_t fixed; /* entries registered at load, never evicted */
    struct {
        unsigned char scope[32]; /* SHA-256 of issuer fingerprint + URL */
        BIGNUM *number;
    } crlnum[KS_CRLNUM_MAX];
    size_t ncrlnum, nextcrl;
};

int ks_same_ca(X509 *a, X509 *b)
{
    int same = X509_NAME_cmp(X509_get_subject_name(a), X509_get_subject_name(b)) == 0 &&
               EVP_PKEY_eq(X509_get0_pubkey(a), X509_get0_pubkey(b)) == 1;
    ERR_clear_error();
    return same;
}

int ks_cert_fp(X509 *x, char fp[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (ks_vc_cert_hash(NULL, x, md) == 1) /* the hash noted on a long-lived certificate */
        len = 32;
    else if (X509_digest(x, EVP_sha256(), md, &len) != 1 || len != 32)
        return 0;
    ks_hex_encode(md, len, fp);
    return 1;
}

ks_registry *ks_registry_new(STACK_OF(X509) *anchors, STACK_OF(X509) *intermediates)
{
    ks_registry *r = calloc(1, sizeof *r);
    if (r == NULL || pthread_mutex_init(&r->lock, NULL) != 0) {
        free(r);
        return NULL;
    }
    STACK_OF(X509) *sets[2] = {anchors, intermediates};
    for (int s = 0; s < 2; s++)
        for (int i = 0; i < sk_X509_num(sets[s]) && r->n < KS_REGISTRY_MAX / 2; i++) {
            X509 *x = sk_X509_value(sets[s], i);
            if (ks_cert_fp(x, r->e[r->n].fp) && X509_up_ref(x) == 1)
                r->e[r->n++].x = x;
        }
    r->fixed = r->n;
    r->next = r->n;
    return r;
}

void ks_registry_free(ks_registry *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->n; i++)
        X509_free(r->e[i].x);
    for (size_t i = 0; i < r->ncrlnum; i++)
        BN_free(r->crlnum[i].number);
    pthread_mutex_destroy(&r->lock);
    free(r);
}

static long ks_registry_find(const ks_registry *r, const char *fp)
{
    for (size_t i = 0; i < r->n; i++)
        if (memcmp(r->e[i].fp, fp, 64) == 0)
            return (long)i;
    return -1;
}

int ks_registry_put(ks_registry *r, X509 *ca, char fp[65])
{
    if (!ks_cert_fp(ca, fp))
        return 0;
    pthread_mutex_lock(&r->lock);
    if (ks_registry_find(r, fp) < 0 && X509_up_ref(ca) == 1) {
        size_t slot;
        if (r->n < KS_REGISTRY_MAX) {
            slot = r->n++;
        } else {
            slot = r->next;
            r->next = r->next + 1 < KS_REGISTRY_MAX ? r->next + 1 : r->fixed;
            X509_free(r->e[slot].x);
        }
        memcpy(r->e[slot].fp, fp, 65);
        r->e[slot].x = ca;
    }
    pthread_mutex_unlock(&r->lock);
    return 1;
}

X509 *ks_registry_get(ks_registry *r, const char *fp)
{
    X509 *x = NULL;
    if (strlen(fp) < 64)
        return NULL;
    pthread_mutex_lock(&r->lock);
    long i = ks_registry_find(r, fp);
    if (i >= 0 && X509_up_ref(r->e[i].x) == 1)
        x = r->e[i].x;
    pthread_mutex_unlock(&r->lock);
    return x;
}

int ks_registry_crl_number_ok(ks_registry *r, const char *scope, const ASN1_INTEGER *number)
{
    unsigned char h[32];
    int ok = 1;
    BIGNUM *bn = number ? ASN1_INTEGER_to_BN(number, NULL) : NULL;
    if (bn == NULL || EVP_Digest(scope, strlen(scope), h, NULL, EVP_sha256(), NULL) != 1) {
        BN_free(bn);
        ERR_clear_error();
        return number == NULL; /* a CRL without a number cannot be ordered */
    }
    pthread_mutex_lock(&r->lock);
    size_t i;
    for (i = 0; i < r->ncrlnum && memcmp(r->crlnum[i].scope, h, sizeof h) != 0; i++)
        ;
    if (i < r->ncrlnum) {
        if (BN_cmp(bn, r->crlnum[i].number) < 0) {
            ok = 0;
        } else {
            BN_free(r->crlnum[i].number);
            r->crlnum[i].number = bn;
            bn = NULL;
        }
    } else {
        if (r->ncrlnum < KS_CRLNUM_MAX) {
            i = r->ncrlnum++;
        } else {
            i = r->nextcrl;
            r->nextcrl = (r->nextcrl + 1) % KS_CRLNUM_MAX;
            BN_free(r->crlnum[i].number);
        }
        memcpy(r->crlnum[i].scope, h, sizeof h);
        r->crlnum[i].number = bn;
        bn = NULL;
    }
    pthread_mutex_unlock(&r->lock);
    BN_free(bn);
    return ok;
}
