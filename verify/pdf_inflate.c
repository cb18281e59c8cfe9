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
 * Not covered: qpdf's own LZW, RunLength and ASCII decoders (README, PDF).
 */
#include <dlfcn.h>
#include <pthread.h>
#include <string.h>

#include <zlib.h>

#include "pdf_int.h"

typedef int (*ks_inflate_fn)(z_streamp, int);

static ks_inflate_fn ks_real_inflate;
static pthread_once_t ks_inflate_once = PTHREAD_ONCE_INIT;
static _Thread_local long long ks_inflate_left = -1; /* -1: no ceiling on this thread */

static void ks_inflate_resolve(void)
{
    /* POSIX allows the object-to-function pointer conversion dlsym needs. */
    void *p = dlsym(RTLD_NEXT, "inflate");
    memcpy(&ks_real_inflate, &p, sizeof p);
}

long long ks_pdf_inflate_limit(long long bytes)
{
    long long before = ks_inflate_left;
    ks_inflate_left = bytes;
    return before;
}

int inflate(z_streamp strm, int flush)
{
    pthread_once(&ks_inflate_once, ks_inflate_resolve);
    if (ks_real_inflate == NULL)
        return Z_STREAM_ERROR;
    if (ks_inflate_left < 0)
        return ks_real_inflate(strm, flush);
    if (ks_inflate_left == 0 || strm == NULL)
        return Z_MEM_ERROR;
    uInt room = strm->avail_out;
    int r = ks_real_inflate(strm, flush);
    ks_inflate_left -= (long long)(room - strm->avail_out);
    if (ks_inflate_left <= 0 && r != Z_STREAM_END) {
        ks_inflate_left = 0;
        return Z_MEM_ERROR;
    }
    if (ks_inflate_left < 0)
        ks_inflate_left = 0;
    return r;
}
