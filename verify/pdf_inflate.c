/*
 * verify/pdf_inflate.c - a ceiling on what qpdf inflates while a PDF is
 * verified (issue 19, rule 5: no zip bombs).
 *
 * qpdf 11.3 (Debian 12) decodes object streams and xref streams whole and
 * its API sets no limit: a 0.5 MB PDF whose object stream inflates to
 * 512 MiB took 1 GB of memory and 14 s (tests/pki/mkpdf.py bomb-objstm.pdf).
 * libqpdf calls zlib's inflate() through the dynamic symbol table, so this
 * definition in our executable is the one it gets (ELF symbol
 * interposition; the name cannot carry our prefix).  While the calling
 * thread verifies a PDF (ks_pdf_inflate_limit) every call counts the bytes
 * it produced against the thread's allowance and fails with Z_MEM_ERROR
 * once it is spent, which qpdf turns into an error for that stream; the
 * overshoot is at most one output buffer of the caller.  Outside that, and
 * on every other thread, it is zlib's own inflate (dlsym RTLD_NEXT),
 * untouched: libxml2 and libzip see no difference.
 *
 * qpdf's own decoders (LZW, RunLength, ASCIIHex, ASCII85) are C++ inside
 * libqpdf and call nothing we could count: a 0.4 MB LZW object stream and
 * an 8 MB RunLength one each took 1 GB and over 30 s (tests/pki/mkpdf.py
 * bomb-lzw.pdf, bomb-runlength.pdf).  Every decoder qpdf runs for us ends
 * in a Pl_Buffer (QPDFObjectHandle::getStreamData: object streams, xref
 * streams, and our raw reads in pdf_diff.c), whose write() libqpdf exports
 * and calls through its vtable by symbol, so the same interposition counts
 * what reaches it against an allowance of its own.  Past it the thread's
 * latch is set and the write fails the way any allocation in qpdf can:
 * with std::bad_alloc, thrown through libstdc++'s C ABI (__cxa_throw, the
 * Itanium C++ ABI 2.4; this file is built with -fexceptions so the unwinder
 * crosses our frame), which qpdf catches like every exception and turns
 * into an error or a warning about that stream.  Dropping the bytes alone
 * would leave qpdf's decoder looping over the rest (RunLength writes a
 * byte at a time: 15 s for 512 MiB); if libstdc++'s symbols cannot be
 * found the bytes are dropped all the same.  ks_verify_pdf then refuses
 * the document whatever qpdf made of the cut stream (ks_pdf_decode_spent).
 * inflate() sets the latch too, and refuses to run once it is set.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "pdf_int.h"

typedef int (*ks_inflate_fn)(z_streamp, int);
/* void Pl_Buffer::write(unsigned char const *, size_t): `this` first
 * (Itanium C++ ABI, as on every ELF platform qpdf runs on). */
typedef void (*ks_plbuf_write_fn)(void *, const unsigned char *, size_t);
#define KS_PLBUF_WRITE "_ZN9Pl_Buffer5writeEPKhm"

static ks_inflate_fn ks_real_inflate;
static ks_plbuf_write_fn ks_real_plbuf_write;
static pthread_once_t ks_inflate_once = PTHREAD_ONCE_INIT;
static _Thread_local long long ks_inflate_left = -1; /* -1: no ceiling on this thread */
static _Thread_local long long ks_buffer_left = -1;  /* the same for what reaches a Pl_Buffer */
static _Thread_local int ks_decode_spent;            /* an allowance ran out (sticky) */

/* libstdc++ (loaded with libqpdf): raising std::bad_alloc from C. */
typedef void *(*ks_cxa_alloc_fn)(size_t);
typedef void (*ks_cxa_throw_fn)(void *, void *, void (*)(void *));
static ks_cxa_alloc_fn ks_cxa_alloc;
static ks_cxa_throw_fn ks_cxa_throw;
static void (*ks_bad_alloc_dtor)(void *);
static void *ks_bad_alloc_type; /* typeinfo for std::bad_alloc */
static void *ks_bad_alloc_vtbl; /* vtable for std::bad_alloc */

static void ks_inflate_resolve(void)
{
    /* POSIX allows the object-to-function pointer conversion dlsym needs. */
    void *p = dlsym(RTLD_NEXT, "inflate");
    memcpy(&ks_real_inflate, &p, sizeof p);
    p = dlsym(RTLD_NEXT, KS_PLBUF_WRITE);
    memcpy(&ks_real_plbuf_write, &p, sizeof p);
    p = dlsym(RTLD_DEFAULT, "__cxa_allocate_exception");
    memcpy(&ks_cxa_alloc, &p, sizeof p);
    p = dlsym(RTLD_DEFAULT, "__cxa_throw");
    memcpy(&ks_cxa_throw, &p, sizeof p);
    p = dlsym(RTLD_DEFAULT, "_ZNSt9bad_allocD1Ev");
    memcpy(&ks_bad_alloc_dtor, &p, sizeof p);
    ks_bad_alloc_type = dlsym(RTLD_DEFAULT, "_ZTISt9bad_alloc");
    ks_bad_alloc_vtbl = dlsym(RTLD_DEFAULT, "_ZTVSt9bad_alloc");
}

/* throw std::bad_alloc(): the object is its vtable pointer alone, which
 * points past the vtable's offset-to-top and typeinfo slots (Itanium C++
 * ABI 2.5).  Returns only when libstdc++ is not there to throw. */
static void ks_throw_bad_alloc(void)
{
    if (ks_cxa_alloc == NULL || ks_cxa_throw == NULL || ks_bad_alloc_dtor == NULL || ks_bad_alloc_type == NULL ||
        ks_bad_alloc_vtbl == NULL)
        return;
    void *e = ks_cxa_alloc(sizeof(void *));
    void *vptr = (char *)ks_bad_alloc_vtbl + 2 * sizeof(void *);
    memcpy(e, &vptr, sizeof vptr);
    ks_cxa_throw(e, ks_bad_alloc_type, ks_bad_alloc_dtor);
}

long long ks_pdf_inflate_limit(long long bytes)
{
    long long before = ks_inflate_left;
    ks_inflate_left = bytes;
    ks_buffer_left = bytes;
    return before;
}

int ks_pdf_decode_spent(int clear)
{
    int r = ks_decode_spent;
    if (clear)
        ks_decode_spent = 0;
    return r;
}

/* The interposed Pl_Buffer::write (see the top of the file); declared
 * here as our headers do not know it. */
void _ZN9Pl_Buffer5writeEPKhm(void *self, const unsigned char *buf, size_t len);
void _ZN9Pl_Buffer5writeEPKhm(void *self, const unsigned char *buf, size_t len)
{
    pthread_once(&ks_inflate_once, ks_inflate_resolve);
    if (ks_real_plbuf_write == NULL)
        abort(); /* libqpdf is loaded (it calls us) but its symbol is not: nothing sane is left to do */
    if (ks_buffer_left >= 0) {
        if (ks_decode_spent || (unsigned long long)len > (unsigned long long)ks_buffer_left) {
            ks_buffer_left = 0;
            ks_decode_spent = 1;
            ks_throw_bad_alloc();
            return;
        }
        ks_buffer_left -= (long long)len;
    }
    ks_real_plbuf_write(self, buf, len);
}

int inflate(z_streamp strm, int flush)
{
    pthread_once(&ks_inflate_once, ks_inflate_resolve);
    if (ks_real_inflate == NULL)
        return Z_STREAM_ERROR;
    if (ks_inflate_left < 0)
        return ks_real_inflate(strm, flush);
    if (ks_inflate_left == 0 || ks_decode_spent || strm == NULL) {
        ks_decode_spent = 1;
        return Z_MEM_ERROR;
    }
    uInt room = strm->avail_out;
    int r = ks_real_inflate(strm, flush);
    ks_inflate_left -= (long long)(room - strm->avail_out);
    if (ks_inflate_left <= 0 && r != Z_STREAM_END) {
        ks_inflate_left = 0;
        ks_decode_spent = 1;
        return Z_MEM_ERROR;
    }
    if (ks_inflate_left < 0)
        ks_inflate_left = 0;
    return r;
}
