/*
 * fcgi/arena.c - the per-request arena (nginx's ngx_pool_t, smaller).
 *
 * Chunks are chained; an allocation larger than the default chunk gets a
 * chunk of its own.  The cap counts every chunk byte, so a request cannot
 * make a worker hold more than the cap however it splits its input.
 * Cleanup handlers free what lives outside the arena (cJSON trees, strings
 * printed by cJSON) when the request ends.
 */
#include <stdlib.h>
#include <string.h>

#include "fcgi.h"

#define KS_ARENA_ALIGN 16

typedef struct ks_chunk {
    struct ks_chunk *next;
    size_t size, used;
    _Alignas(16) unsigned char data[];
} ks_chunk;

typedef struct ks_cleanup {
    struct ks_cleanup *next;
    void (*fn)(void *);
    void *p;
} ks_cleanup;

struct ks_fcgi_arena {
    ks_chunk *chunks; /* newest first; the last one is the kept one */
    ks_cleanup *cleanups;
    size_t total, cap;
};

static ks_chunk *ks_chunk_new(size_t size)
{
    ks_chunk *c = malloc(sizeof *c + size);
    if (c != NULL) {
        c->next = NULL;
        c->size = size;
        c->used = 0;
    }
    return c;
}

ks_fcgi_arena *ks_fcgi_arena_new(size_t cap)
{
    ks_fcgi_arena *a = calloc(1, sizeof *a);
    if (a == NULL)
        return NULL;
    a->cap = cap;
    if ((a->chunks = ks_chunk_new(KS_FCGI_ARENA_CHUNK)) == NULL) {
        free(a);
        return NULL;
    }
    a->total = KS_FCGI_ARENA_CHUNK;
    return a;
}

void ks_fcgi_arena_set_cap(ks_fcgi_arena *a, size_t cap)
{
    a->cap = cap;
}

void *ks_fcgi_arena_alloc(ks_fcgi_arena *a, size_t n)
{
    if (n == 0)
        n = 1;
    if (n > SIZE_MAX - KS_ARENA_ALIGN)
        return NULL;
    n = (n + KS_ARENA_ALIGN - 1) & ~(size_t)(KS_ARENA_ALIGN - 1);
    ks_chunk *c = a->chunks;
    if (c != NULL && c->size - c->used >= n) {
        void *p = c->data + c->used;
        c->used += n;
        return p;
    }
    size_t size = n > KS_FCGI_ARENA_CHUNK ? n : KS_FCGI_ARENA_CHUNK;
    if (size > a->cap || a->total > a->cap - size)
        return NULL;
    ks_chunk *nc = ks_chunk_new(size);
    if (nc == NULL)
        return NULL;
    a->total += size;
    /* A big chunk goes behind the current one so the current one keeps
     * serving small allocations. */
    if (n > KS_FCGI_ARENA_CHUNK / 2 && c != NULL) {
        nc->next = c->next;
        c->next = nc;
    } else {
        nc->next = c;
        a->chunks = nc;
    }
    nc->used = n;
    return nc->data;
}

char *ks_fcgi_arena_strndup(ks_fcgi_arena *a, const char *s, size_t n)
{
    if (n == SIZE_MAX)
        return NULL;
    char *p = ks_fcgi_arena_alloc(a, n + 1);
    if (p != NULL) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

int ks_fcgi_arena_cleanup(ks_fcgi_arena *a, void (*fn)(void *), void *p)
{
    ks_cleanup *c = malloc(sizeof *c); /* outside the cap: tiny and bounded by allocations */
    if (c == NULL) {
        fn(p);
        return 0;
    }
    c->fn = fn;
    c->p = p;
    c->next = a->cleanups;
    a->cleanups = c;
    return 1;
}

void ks_fcgi_arena_reset(ks_fcgi_arena *a)
{
    if (a == NULL)
        return;
    while (a->cleanups != NULL) {
        ks_cleanup *c = a->cleanups;
        a->cleanups = c->next;
        c->fn(c->p);
        free(c);
    }
    /* Keep one default-size chunk for the next request; free the rest. */
    ks_chunk *keep = NULL;
    ks_chunk *c = a->chunks;
    while (c != NULL) {
        ks_chunk *next = c->next;
        if (keep == NULL && c->size == KS_FCGI_ARENA_CHUNK) {
            keep = c;
        } else {
            free(c);
        }
        c = next;
    }
    a->chunks = keep;
    a->total = keep ? keep->size : 0;
    if (keep != NULL) {
        keep->used = 0;
        keep->next = NULL;
    }
}

size_t ks_fcgi_arena_held(const ks_fcgi_arena *a)
{
    return a->total;
}

void ks_fcgi_arena_free(ks_fcgi_arena *a)
{
    if (a == NULL)
        return;
    ks_fcgi_arena_reset(a);
    free(a->chunks);
    free(a);
}
