/*
 * verify/pdf_int.h - shared by the PDF signature files of verify/ only:
 * pdf.c (detect, parse, the ByteRange rules, report) and pdf_diff.c (what
 * incremental updates changed after a signature).  Both read the document
 * through qpdf's C API (qpdf-c.h); a qpdf_data is per request, never shared.
 */
#ifndef KENSHO_VERIFY_PDF_INT_H
#define KENSHO_VERIFY_PDF_INT_H

#include <qpdf/qpdf-c.h>

#include "internal.h"

/* Ceilings on the walk over a document's object graph (limits, rule 5).
 * qpdf itself bounds the nesting of one object while parsing (500). */
#define KS_PDF_MAX_VISITS 200000   /* (object, role) pairs compared per signature */
#define KS_PDF_MAX_DEPTH 64        /* nesting of direct arrays and dictionaries we walk */
#define KS_PDF_MAX_FIELDS 4096     /* AcroForm fields looked at */
#define KS_PDF_MAX_CHANGES 256     /* modifications reported per signature */
#define KS_PDF_MAX_KEYS 4096       /* keys of one dictionary compared (quadratic) */
#define KS_PDF_MAX_ITEMS 4096      /* items of an /Annots or /Fields array compared (quadratic) */

/* What qpdf may inflate (zlib), and separately decode into a buffer (any
 * filter), per verification: object and xref streams are decoded whole
 * (pdf_inflate.c). */
#define KS_PDF_INFLATE_BASE (64LL << 20)  /* plus ... */
#define KS_PDF_INFLATE_FACTOR 8           /* ... times the file's length */

/* pdf_inflate.c: sets the calling thread's inflate allowance in bytes (-1:
 * none) and returns the one before. */
long long ks_pdf_inflate_limit(long long bytes);
/* The same allowance applies to the bytes qpdf's decoders (LZW,
 * RunLength, ASCII, Flate) hand to a Pl_Buffer.  1 when either ran out on
 * this thread since the last clear (what qpdf decoded was cut short: the
 * document is refused); `clear` resets it. */
int ks_pdf_decode_spent(int clear);

/* DocMDP permission (ISO 32000-1 12.8.2.2, Table 254); 0: no DocMDP. */
typedef enum { KS_MDP_NONE = 0, KS_MDP_NO_CHANGES = 1, KS_MDP_FORM_FILL = 2, KS_MDP_ANNOTATE = 3 } ks_pdf_mdp;

/* Opens `len` bytes with qpdf strictly: no xref reconstruction, warnings
 * kept quiet, errors checked by the caller (qpdf_silence_errors).  The
 * bytes must outlive the handle (qpdf reads them in place).  KS_OK,
 * KS_E_PDF_ENCRYPTED or KS_E_PDF; *out is NULL unless KS_OK. */
ks_result ks_pdf_open(const uint8_t *data, size_t len, qpdf_data *out);

/* The DocMDP P value of a document's certification signature (catalog
 * /Perms /DocMDP), read from `signed_rev` so that an update cannot grant
 * itself a permission; KS_MDP_NONE without one. */
ks_pdf_mdp ks_pdf_docmdp(qpdf_data signed_rev);

/* FieldMDP (ISO 32000-1 12.8.2.4, Table 256) and /Lock (ISO 32000-2
 * 12.7.5.5): the fields a signature locks, read from its own signed
 * revision.  Several specifications add up: a field is locked when any of
 * them locks it.  What cannot be read whole (an unknown /Action, no
 * /Fields for Include or Exclude, more entries than the ceilings) locks
 * every field. */
#define KS_PDF_MAX_LOCKS 8        /* specifications per signature */
#define KS_PDF_MAX_LOCK_FIELDS 64 /* field names per specification */
typedef enum { KS_LOCK_ALL, KS_LOCK_INCLUDE, KS_LOCK_EXCLUDE } ks_pdf_lock_action;
typedef struct {
    int n;
    struct {
        ks_pdf_lock_action action;
        int nfields;
        char *fields[KS_PDF_MAX_LOCK_FIELDS]; /* fully qualified names, UTF-8, malloc'd */
    } spec[KS_PDF_MAX_LOCKS];
} ks_pdf_locks;
/* The field's /Lock and the FieldMDP entries of the signature
 * dictionary's /Reference, both handles of `q`.  KS_OK or KS_E_NOMEM. */
ks_result ks_pdf_locks_read(qpdf_data q, qpdf_oh field, qpdf_oh sig, ks_pdf_locks *out);
void ks_pdf_locks_free(ks_pdf_locks *l);
/* 1 when the fully qualified field name `name` is locked. */
int ks_pdf_locked(const ks_pdf_locks *l, const char *name);

/*
 * Rule 3 (ISA, shadow attacks): compares what the whole document `whole`
 * shows with the signature's own revision `signed_rev`, object by object,
 * from the trailer's /Root down.  Each change is one {kind, object,
 * allowed} appended to `mods` (kinds: signature_added,
 * document_timestamp_added, dss_added, form_field_filled, annotation_added,
 * page_content_changed, page_added, catalog_replaced, other); *disallowed
 * is set when any is not allowed under `mdp` and `locks` (a field that is
 * locked and filled in later is refused).  KS_OK, KS_E_PDF when qpdf
 * failed on the way (the caller reports a format failure), KS_E_LIMIT past
 * the ceilings above, KS_E_NOMEM.
 */
ks_result ks_pdf_diff(qpdf_data whole, qpdf_data signed_rev, ks_pdf_mdp mdp, const ks_pdf_locks *locks, cJSON *mods,
                      int *disallowed);

#endif
