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
 *
 * It also remembers, per process and context, the newest evidence seen:
 * the highest crlNumber and thisUpdate per CRL scope, and per certificate
 * the latest OCSP thisUpdate and whether it was seen revoked, so evidence
 * replayed from memcached (or by a responder) can never take this node
 * back in time (README "Revocation", rollback).  A reload shares it with
 * the new context (reference counted, config.c ks_ctx_reload), so that
 * memory lasts as long as the process.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/rand.h>

#include "internal.h"

#define KS_REGISTRY_MAX 1024
#define KS_CRLNUM_MAX 4096
/* OCSP evidence seen: a set-associative table (salted hash: nobody outside
 * can aim certificates at one set). */
#define KS_SEEN_SETS 4096
#define KS_SEEN_WAYS 8

typedef struct {
    unsigned char id[16];         /* salted SHA-256 of issuer name, key and serial; all zero: free */
    time_t this_update;           /* the latest thisUpdate seen */
    unsigned long long used;      /* tick of the last answer: the least recent "good" makes room */
    int revoked;                  /* seen revoked (not on hold): sticky */
} ks_seen;

struct ks_registry {
    atomic_int refs;
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
        time_t this_update;
    } crlnum[KS_CRLNUM_MAX];
    size_t ncrlnum, nextcrl;
    ks_seen *seen; /* KS_SEEN_SETS * KS_SEEN_WAYS */
    unsigned long long tick;
    unsigned char salt[16];
};

int ks_same_ca(X509 *a, X509 *b)
{
    int same = X509_NAME_cmp(X509_get_subject_name(a), X509_get_subject_name(b)) == 0 &&
               EVP_PKEY_eq(X509_get0_pubkey(a), X509_get0_pubkey(b)) == 1;
    ks_openssl_drain(__func__);
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
    if (r == NULL || (r->seen = calloc((size_t)KS_SEEN_SETS * KS_SEEN_WAYS, sizeof *r->seen)) == NULL ||
        RAND_bytes(r->salt, sizeof r->salt) != 1 || pthread_mutex_init(&r->lock, NULL) != 0) {
        if (r != NULL)
            free(r->seen);
        free(r);
        ks_log_openssl("ks_registry_new");
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
    atomic_init(&r->refs, 1);
    return r;
}

ks_registry *ks_registry_ref(ks_registry *r)
{
    if (r != NULL)
        atomic_fetch_add(&r->refs, 1);
    return r;
}

void ks_registry_free(ks_registry *r)
{
    if (r == NULL || atomic_fetch_sub(&r->refs, 1) != 1)
        return;
    for (size_t i = 0; i < r->n; i++)
        X509_free(r->e[i].x);
    for (size_t i = 0; i < r->ncrlnum; i++)
        BN_free(r->crlnum[i].number);
    free(r->seen);
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

int ks_registry_crl_number_ok(ks_registry *r, const char *scope, const ASN1_INTEGER *number, time_t this_update)
{
    unsigned char h[32];
    int ok = 1;
    BIGNUM *bn = number ? ASN1_INTEGER_to_BN(number, NULL) : NULL;
    if ((number != NULL && bn == NULL) || EVP_Digest(scope, strlen(scope), h, NULL, EVP_sha256(), NULL) != 1) {
        BN_free(bn);
        ks_openssl_drain(__func__);
        return 0;
    }
    pthread_mutex_lock(&r->lock);
    size_t i;
    for (i = 0; i < r->ncrlnum && memcmp(r->crlnum[i].scope, h, sizeof h) != 0; i++)
        ;
    if (i < r->ncrlnum) {
        /* Older by number, or (numbered or not) by thisUpdate: refused. */
        if ((bn != NULL && r->crlnum[i].number != NULL && BN_cmp(bn, r->crlnum[i].number) < 0) ||
            this_update < r->crlnum[i].this_update) {
            ok = 0;
        } else {
            if (bn != NULL) {
                BN_free(r->crlnum[i].number);
                r->crlnum[i].number = bn;
                bn = NULL;
            }
            r->crlnum[i].this_update = this_update;
        }
    } else {
        /* Full: the oldest scope is forgotten (a ring); what it allowed
         * back is then bounded by that CRL's own nextUpdate. */
        if (r->ncrlnum < KS_CRLNUM_MAX) {
            i = r->ncrlnum++;
        } else {
            i = r->nextcrl;
            r->nextcrl = (r->nextcrl + 1) % KS_CRLNUM_MAX;
            BN_free(r->crlnum[i].number);
        }
        memcpy(r->crlnum[i].scope, h, sizeof h);
        r->crlnum[i].number = bn;
        r->crlnum[i].this_update = this_update;
        bn = NULL;
    }
    pthread_mutex_unlock(&r->lock);
    BN_free(bn);
    return ok;
}

int ks_registry_ocsp_seen(ks_registry *r, X509 *issuer, const ASN1_INTEGER *serial, time_t this_update, int status,
                          int reason, char *err, size_t errlen)
{
    unsigned char h[32], *der = NULL, *name = NULL;
    unsigned int hl = 0;
    /* RFC 6960 4.1.1 CertID: the issuer's name and key, and the serial (a
     * CA's self-signed and cross certificates are the same issuer). */
    const ASN1_BIT_STRING *key = X509_get0_pubkey_bitstr(issuer);
    int dl = i2d_ASN1_INTEGER(serial, &der), nl = i2d_X509_NAME(X509_get_subject_name(issuer), &name), ok = 0;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (dl <= 0 || nl <= 0 || key == NULL || md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1 ||
        EVP_DigestUpdate(md, r->salt, sizeof r->salt) != 1 || EVP_DigestUpdate(md, name, (size_t)nl) != 1 ||
        EVP_DigestUpdate(md, ASN1_STRING_get0_data(key), (size_t)ASN1_STRING_length(key)) != 1 ||
        EVP_DigestUpdate(md, der, (size_t)dl) != 1 || EVP_DigestFinal_ex(md, h, &hl) != 1) {
        snprintf(err, errlen, "cannot record the answer");
        goto done;
    }
    h[0] |= 1; /* never all zero: that marks a free way */
    /* RFC 5280 5.3.1: only certificateHold may be lifted again. */
    int sticky = status == V_OCSP_CERTSTATUS_REVOKED && reason != OCSP_REVOKED_STATUS_CERTIFICATEHOLD;
    pthread_mutex_lock(&r->lock);
    ks_seen *set = &r->seen[((size_t)h[1] << 8 | h[2]) % KS_SEEN_SETS * KS_SEEN_WAYS], *e = NULL, *victim = NULL;
    for (int w = 0; w < KS_SEEN_WAYS && e == NULL; w++) {
        if (memcmp(set[w].id, h, sizeof set[w].id) == 0)
            e = &set[w];
        else if (set[w].id[0] == 0 ? (victim == NULL || victim->id[0] != 0)
                                   : !set[w].revoked && (victim == NULL || (victim->id[0] != 0 && set[w].used < victim->used)))
            victim = &set[w];
    }
    if (e != NULL && this_update < e->this_update) {
        snprintf(err, errlen, "older than an answer already seen for this certificate (rollback)");
    } else if (e != NULL && e->revoked && status != V_OCSP_CERTSTATUS_REVOKED) {
        snprintf(err, errlen, "the certificate was seen revoked: a later answer saying otherwise is refused");
    } else if (e == NULL && victim == NULL) {
        /* Every way holds a revoked certificate: dropping one would unstick
         * it, so a new certificate here gets no status (fail closed). */
        snprintf(err, errlen, "too many revoked certificates remembered: no room to record this answer");
    } else {
        if (e == NULL) {
            e = victim;
            memset(e, 0, sizeof *e);
            memcpy(e->id, h, sizeof e->id);
        }
        if (this_update > e->this_update)
            e->this_update = this_update;
        e->revoked |= sticky;
        e->used = ++r->tick;
        ok = 1;
    }
    pthread_mutex_unlock(&r->lock);
done:
    EVP_MD_CTX_free(md);
    OPENSSL_free(der);
    OPENSSL_free(name);
    ks_openssl_drain(__func__);
    return ok;
}
