/*
 * verify/pdf.c - signed PDFs (ISO 32000-1 12.8, PAdES: ETSI EN 319 142-1):
 * detect (`%PDF-`), parse (qpdf, strict, from memory), the rules of issue 19
 * for each signature field, then the CMS inside through the same code as a
 * .p7s (verify.c ks_cms_verify_detached: path building, revocation, ESS,
 * algorithm policy, cache), and the report: one entry of "signers" per
 * signature field.
 *
 * The rules, each refused (Mladenov et al., "1 Trillion Dollar Refund",
 * CCS 2019; Mainka et al., "Shadow Attacks", NDSS 2021):
 *   1. USF: a signature dictionary without /ByteRange or /Contents, an empty
 *      or non-string /Contents, a /ByteRange that is not four non-negative
 *      integers starting at 0 with two non-empty ranges: FORMAT_FAILURE.
 *   2. Coverage: the one gap must be exactly this dictionary's /Contents hex
 *      string.  We read the bytes: '<' at the gap's start, '>' at its end,
 *      hex digits only between, "/Contents" right before it, and the
 *      decoded bytes equal to the /Contents qpdf parsed from the same
 *      dictionary.  The signed part must end a revision (%%EOF).  Bytes
 *      after it must be incremental updates (their last startxref points
 *      past the signed part and the file ends with %%EOF); other trailing
 *      bytes are a disallowed modification.
 *   3. ISA and shadow attacks: pdf_diff.c compares the signed revision,
 *      opened as a PDF of its own, with the whole document.
 *   4. SWA: the signed revision is the prefix the ByteRange covers, opened
 *      on its own, so its xref and trailer are the ones the signed bytes
 *      contain; rule 2 leaves nothing but hex digits in the gap, so no
 *      xref or object can hide there.
 *   5. Limits: limits.max_input_bytes for the file, limits.max_signers for
 *      the signatures, the ceilings of pdf_int.h for the walk; qpdf opens
 *      the file without xref recovery; we never decode a stream ourselves
 *      (raw bytes are compared) and what qpdf inflates (object and xref
 *      streams) is counted against an allowance (pdf_inflate.c);
 *      JavaScript and actions are never run; an encrypted PDF is
 *      KS_E_PDF_ENCRYPTED.
 *
 * /Reason, /Location, /ContactInfo, /Name and /M are reported under
 * "claims": the signer wrote them, nothing vouches for them.  Field names
 * and claims go to the verdict, never to the log.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "pdf_int.h"

typedef struct {
    char name[256];   /* fully qualified field name, UTF-8 */
    qpdf_oh field;    /* handles in the whole document's qpdf_data */
    qpdf_oh sig;      /* the field's /V */
} ks_pdf_sig;

int ks_pdf_detect(const ks_blob *in)
{
    ks_cur c;
    ks_cur_init(&c, in->data, in->len);
    return ks_cur_starts_with(&c, "%PDF-");
}

ks_result ks_pdf_open(const uint8_t *data, size_t len, qpdf_data *out)
{
    qpdf_data q = qpdf_init();
    ks_result r = KS_E_PDF;
    *out = NULL;
    if (q == NULL)
        return KS_E_NOMEM;
    qpdf_silence_errors(q);
    qpdf_set_suppress_warnings(q, QPDF_TRUE);
    /* A damaged xref is a damaged document: no reconstruction, which would
     * make up a revision no signature covers. */
    qpdf_set_attempt_recovery(q, QPDF_FALSE);
    if (qpdf_read_memory(q, "submitted.pdf", (const char *)data, (unsigned long long)len, NULL) & QPDF_ERRORS) {
        qpdf_error e = qpdf_get_error(q);
        enum qpdf_error_code_e code = e ? qpdf_get_error_code(q, e) : qpdf_e_damaged_pdf;
        /* The code and offset only: qpdf's text can quote the document. */
        ks_log(KS_LOG_DEBUG, "pdf: qpdf error %d at byte %llu", e ? (int)qpdf_get_error_code(q, e) : -1,
               e ? qpdf_get_error_file_position(q, e) : 0ULL);
        r = code == qpdf_e_password ? KS_E_PDF_ENCRYPTED : KS_E_PDF;
        goto done;
    }
    if (qpdf_is_encrypted(q)) {
        r = KS_E_PDF_ENCRYPTED;
        goto done;
    }
    *out = q;
    q = NULL;
    r = KS_OK;
done:
    if (q != NULL)
        qpdf_cleanup(&q);
    return r;
}

static int pd_int_of(qpdf_data q, qpdf_oh oh, long long *out)
{
    if (!qpdf_oh_is_integer(q, oh))
        return 0;
    *out = qpdf_oh_get_int_value(q, oh);
    return 1;
}

ks_pdf_mdp ks_pdf_docmdp(qpdf_data q)
{
    ks_pdf_mdp mdp = KS_MDP_NONE;
    qpdf_oh root = qpdf_get_root(q);
    qpdf_oh perms = qpdf_oh_get_key(q, root, "/Perms");
    qpdf_oh sig = qpdf_oh_get_key(q, perms, "/DocMDP");
    qpdf_oh refs = qpdf_oh_get_key(q, sig, "/Reference");
    if (qpdf_oh_is_null(q, sig))
        goto done;
    mdp = KS_MDP_NO_CHANGES; /* a DocMDP we cannot read allows nothing */
    int n = qpdf_oh_is_array(q, refs) ? qpdf_oh_get_array_n_items(q, refs) : 0;
    for (int i = 0; i < n && i < 16; i++) {
        qpdf_oh ref = qpdf_oh_get_array_item(q, refs, i);
        qpdf_oh tm = qpdf_oh_get_key(q, ref, "/TransformMethod");
        qpdf_oh tp = qpdf_oh_get_key(q, ref, "/TransformParams");
        qpdf_oh p = qpdf_oh_get_key(q, tp, "/P");
        long long v = 2; /* Table 254: P defaults to 2 */
        if (qpdf_oh_is_name_and_equals(q, tm, "/DocMDP") &&
            (qpdf_oh_is_null(q, p) || (pd_int_of(q, p, &v) && v >= 1 && v <= 3)))
            mdp = (ks_pdf_mdp)v;
        qpdf_oh_release(q, ref);
        qpdf_oh_release(q, tm);
        qpdf_oh_release(q, tp);
        qpdf_oh_release(q, p);
    }
done:
    qpdf_oh_release(q, root);
    qpdf_oh_release(q, perms);
    qpdf_oh_release(q, sig);
    qpdf_oh_release(q, refs);
    if (qpdf_has_error(q)) {
        qpdf_get_error(q);
        mdp = KS_MDP_NO_CHANGES;
    }
    return mdp;
}

/* ------------------------------------------------------------------ */
/* Finding the signature fields (ISO 32000-1 12.7.3, 12.7.4.5).       */
/* ------------------------------------------------------------------ */

typedef struct {
    ks_pdf_sig *v;
    size_t n, cap;
    size_t seen; /* fields looked at */
    int max;
} ks_pdf_sigs;

static ks_result pd_collect(qpdf_data q, qpdf_oh field, const char *prefix, int inherited_sig, int depth,
                            ks_pdf_sigs *out)
{
    ks_result r = KS_OK;
    char name[256];
    if (depth > 32 || ++out->seen > KS_PDF_MAX_FIELDS)
        return KS_E_LIMIT;
    if (!qpdf_oh_is_dictionary(q, field))
        return KS_OK;
    qpdf_oh t = qpdf_oh_get_key(q, field, "/T");
    qpdf_oh ft = qpdf_oh_get_key(q, field, "/FT");
    qpdf_oh kids = qpdf_oh_get_key(q, field, "/Kids");
    qpdf_oh v = qpdf_oh_get_key(q, field, "/V");
    const char *part = qpdf_oh_is_string(q, t) ? qpdf_oh_get_utf8_value(q, t) : "";
    if (*prefix && *part)
        snprintf(name, sizeof name, "%s.%s", prefix, part);
    else
        snprintf(name, sizeof name, "%s", *prefix ? prefix : part);
    int is_sig = qpdf_oh_is_name(q, ft) ? qpdf_oh_is_name_and_equals(q, ft, "/Sig") : inherited_sig;
    if (is_sig && qpdf_oh_is_dictionary(q, v)) {
        if ((int)out->n >= out->max) {
            r = KS_E_LIMIT;
            goto done;
        }
        if (out->n == out->cap) {
            size_t ncap = out->cap ? out->cap * 2 : 4;
            ks_pdf_sig *nv = realloc(out->v, ncap * sizeof *nv);
            if (nv == NULL) {
                r = KS_E_NOMEM;
                goto done;
            }
            out->v = nv;
            out->cap = ncap;
        }
        ks_pdf_sig *s = &out->v[out->n++];
        snprintf(s->name, sizeof s->name, "%s", name);
        s->field = qpdf_oh_new_object(q, field);
        s->sig = qpdf_oh_new_object(q, v);
    }
    int n = qpdf_oh_is_array(q, kids) ? qpdf_oh_get_array_n_items(q, kids) : 0;
    for (int i = 0; i < n && r == KS_OK; i++) {
        qpdf_oh k = qpdf_oh_get_array_item(q, kids, i);
        r = pd_collect(q, k, name, is_sig, depth + 1, out);
        qpdf_oh_release(q, k);
    }
done:
    qpdf_oh_release(q, t);
    qpdf_oh_release(q, ft);
    qpdf_oh_release(q, kids);
    qpdf_oh_release(q, v);
    return r;
}

static ks_result pd_find_sigs(qpdf_data q, int max, ks_pdf_sigs *out)
{
    ks_result r = KS_OK;
    out->max = max;
    qpdf_oh root = qpdf_get_root(q);
    qpdf_oh af = qpdf_oh_get_key(q, root, "/AcroForm");
    qpdf_oh fields = qpdf_oh_get_key(q, af, "/Fields");
    int n = qpdf_oh_is_array(q, fields) ? qpdf_oh_get_array_n_items(q, fields) : 0;
    for (int i = 0; i < n && r == KS_OK; i++) {
        qpdf_oh f = qpdf_oh_get_array_item(q, fields, i);
        r = pd_collect(q, f, "", 0, 0, out);
        qpdf_oh_release(q, f);
    }
    qpdf_oh_release(q, root);
    qpdf_oh_release(q, af);
    qpdf_oh_release(q, fields);
    if (r == KS_OK && qpdf_has_error(q)) {
        qpdf_get_error(q);
        r = KS_E_PDF;
    }
    return r;
}

/* ------------------------------------------------------------------ */
/* The bytes: rules 1, 2 and 4.                                       */
/* ------------------------------------------------------------------ */

static int pd_is_space(int c)
{
    return c == 0 || c == '\t' || c == '\n' || c == '\f' || c == '\r' || c == ' '; /* 7.2.2 Table 1 */
}

/* 1 when data[0, end) ends with "%%EOF" and at most one end-of-line
 * (7.5.5): the end of a revision. */
static int pd_ends_revision(const uint8_t *data, size_t end)
{
    ks_cur c;
    size_t e = end;
    if (e > 0 && data[e - 1] == '\n')
        e--;
    if (e > 0 && data[e - 1] == '\r')
        e--;
    if (e < 5)
        return 0;
    ks_cur_init(&c, data + e - 5, 5);
    return ks_cur_starts_with(&c, "%%EOF");
}

/* The offset the file's last startxref names (7.5.5), or -1. */
static long long pd_last_startxref(const uint8_t *data, size_t len)
{
    static const char kw[] = "startxref";
    size_t from = len > 1024 ? len - 1024 : 0; /* where readers look for it */
    long long at = -1;
    ks_cur c;
    ks_cur_init(&c, data + from, len - from);
    for (;;) {
        long i = ks_cur_find(&c, (const uint8_t *)kw, sizeof kw - 1);
        if (i < 0)
            break;
        ks_cur_skip(&c, (size_t)i + sizeof kw - 1);
        ks_cur_skip_space(&c);
        long long v = 0;
        int digits = 0;
        while (ks_cur_left(&c) > 0 && *ks_cur_ptr(&c) >= '0' && *ks_cur_ptr(&c) <= '9' && digits < 15) {
            v = v * 10 + (*ks_cur_ptr(&c) - '0');
            ks_cur_skip(&c, 1);
            digits++;
        }
        at = digits > 0 ? v : -1;
    }
    return at;
}

typedef struct {
    long long br[4];
    int have_br;             /* br holds the four /ByteRange integers */
    uint8_t *contents;       /* the /Contents value qpdf parsed (a copy) */
    size_t contents_len;
    size_t der_len;          /* the DER SignedData inside, padding excluded */
    size_t end;              /* o2 + l2: the signed revision's length */
} ks_pdf_layout;

/* Rules 1 and 2 for one signature dictionary; 1 ok, else 0 with *why. */
static int pd_check_layout(qpdf_data q, qpdf_oh sig, const uint8_t *data, size_t len, ks_pdf_layout *lo,
                           const char **why)
{
    qpdf_oh br = qpdf_oh_get_key(q, sig, "/ByteRange");
    qpdf_oh ct = qpdf_oh_get_key(q, sig, "/Contents");
    int ok = 0;
    memset(lo, 0, sizeof *lo);
    if (!qpdf_oh_is_array(q, br) || qpdf_oh_get_array_n_items(q, br) != 4) {
        *why = "the signature dictionary has no /ByteRange of four integers";
        goto done;
    }
    for (int i = 0; i < 4; i++) {
        qpdf_oh it = qpdf_oh_get_array_item(q, br, i);
        int isint = pd_int_of(q, it, &lo->br[i]);
        qpdf_oh_release(q, it);
        if (!isint || lo->br[i] < 0 || (unsigned long long)lo->br[i] > len) {
            *why = "a /ByteRange value is not an offset inside the file";
            goto done;
        }
    }
    lo->have_br = 1;
    if (!qpdf_oh_is_string(q, ct)) {
        *why = "the signature dictionary has no /Contents string";
        goto done;
    }
    /* qpdf's string stays valid only until its next string: copied. */
    const char *cv = qpdf_oh_get_binary_string_value(q, ct, &lo->contents_len);
    if (lo->contents_len == 0) {
        *why = "the signature's /Contents is empty";
        goto done;
    }
    if (lo->contents_len > len || (lo->contents = malloc(lo->contents_len)) == NULL) {
        *why = "the signature's /Contents is larger than the file";
        goto done;
    }
    memcpy(lo->contents, cv, lo->contents_len);
    long long o1 = lo->br[0], l1 = lo->br[1], o2 = lo->br[2], l2 = lo->br[3];
    if (o1 != 0 || l1 == 0 || l2 == 0) {
        *why = "the /ByteRange does not start at 0 with two non-empty ranges";
        goto done;
    }
    if (o2 <= l1 + 1 || (unsigned long long)o2 + (unsigned long long)l2 > len) {
        *why = "the /ByteRange ranges overlap or leave the file";
        goto done;
    }
    lo->end = (size_t)(o2 + l2);
    /* Rule 2: the gap is "<" hex digits ">" and nothing else. */
    ks_cur c;
    ks_cur_init(&c, data + l1, (size_t)(o2 - l1));
    if (!ks_cur_starts_with(&c, "<") || data[o2 - 1] != '>') {
        *why = "the gap between the signed ranges is not exactly the /Contents hex string";
        goto done;
    }
    size_t ndig = (size_t)(o2 - l1) - 2;
    if (ndig % 2 != 0 || ndig / 2 != lo->contents_len) {
        *why = "the gap between the signed ranges is not exactly the /Contents hex string";
        goto done;
    }
    ks_cur_skip(&c, 1);
    for (size_t i = 0; i < ndig / 2; i++) {
        const uint8_t *p = ks_cur_ptr(&c);
        int hi = ks_hex_digit(p[0]), lo4 = ks_hex_digit(p[1]);
        if (hi < 0 || lo4 < 0 || (uint8_t)(hi << 4 | lo4) != lo->contents[i]) {
            *why = "the gap between the signed ranges is not exactly the /Contents hex string";
            goto done;
        }
        ks_cur_skip(&c, 2);
    }
    /* ... of this very dictionary: "/Contents" right before it. */
    size_t k = (size_t)l1;
    while (k > 0 && pd_is_space(data[k - 1]))
        k--;
    ks_cur_init(&c, data + (k >= 9 ? k - 9 : 0), k >= 9 ? 9 : 0);
    if (!ks_cur_starts_with(&c, "/Contents")) {
        *why = "the gap between the signed ranges is not the value of /Contents";
        goto done;
    }
    if (!pd_ends_revision(data, lo->end)) {
        *why = "the signed bytes do not end a revision (%%EOF)";
        goto done;
    }
    /* The DER SignedData, then nothing but the zero padding. */
    ks_cur_init(&c, lo->contents, lo->contents_len);
    const uint8_t *p = ks_cur_ptr(&c);
    size_t hdr = 2, body = 0;
    if (lo->contents_len < 2 || p[0] != 0x30) {
        *why = "/Contents does not hold a DER SignedData";
        goto done;
    }
    if (p[1] < 0x80) {
        body = p[1];
    } else {
        size_t nb = p[1] & 0x7f;
        if (nb == 0 || nb > 4 || lo->contents_len < 2 + nb) {
            *why = "/Contents does not hold a DER SignedData";
            goto done;
        }
        for (size_t i = 0; i < nb; i++)
            body = body << 8 | p[2 + i];
        hdr += nb;
    }
    if (body > lo->contents_len - hdr) {
        *why = "/Contents does not hold a DER SignedData";
        goto done;
    }
    lo->der_len = hdr + body;
    for (size_t i = lo->der_len; i < lo->contents_len; i++) {
        if (lo->contents[i] != 0) {
            *why = "/Contents holds bytes after the DER SignedData";
            goto done;
        }
    }
    ok = 1;
done:
    qpdf_oh_release(q, br);
    qpdf_oh_release(q, ct);
    return ok;
}

/* ------------------------------------------------------------------ */
/* One signature.                                                     */
/* ------------------------------------------------------------------ */

static int pd_claim(qpdf_data q, qpdf_oh sig, const char *key, cJSON *claims, const char *name)
{
    qpdf_oh v = qpdf_oh_get_key(q, sig, key);
    int ok = 1;
    if (qpdf_oh_is_string(q, v))
        ok = cJSON_AddStringToObject(claims, name, qpdf_oh_get_utf8_value(q, v)) != NULL;
    qpdf_oh_release(q, v);
    return ok;
}

static size_t pd_count_eof(const uint8_t *data, size_t len)
{
    static const char kw[] = "%%EOF";
    size_t n = 0;
    ks_cur c;
    ks_cur_init(&c, data, len);
    for (long i; (i = ks_cur_find(&c, (const uint8_t *)kw, sizeof kw - 1)) >= 0;) {
        n++;
        ks_cur_skip(&c, (size_t)i + sizeof kw - 1);
    }
    return n;
}

typedef enum { PD_SUB_DETACHED, PD_SUB_CADES, PD_SUB_LEGACY, PD_SUB_TIMESTAMP, PD_SUB_UNKNOWN } ks_pdf_sub;

static ks_pdf_sub pd_sub_filter(qpdf_data q, qpdf_oh sig, cJSON *sobj)
{
    static const struct {
        const char *name;
        ks_pdf_sub sub;
    } subs[] = {{"/adbe.pkcs7.detached", PD_SUB_DETACHED}, {"/ETSI.CAdES.detached", PD_SUB_CADES},
                {"/adbe.pkcs7.sha1", PD_SUB_LEGACY},       {"/adbe.x509.rsa_sha1", PD_SUB_LEGACY},
                {"/ETSI.RFC3161", PD_SUB_TIMESTAMP}};
    qpdf_oh sf = qpdf_oh_get_key(q, sig, "/SubFilter");
    ks_pdf_sub r = PD_SUB_UNKNOWN;
    if (qpdf_oh_is_name(q, sf)) {
        const char *n = qpdf_oh_get_name(q, sf);
        cJSON_AddStringToObject(sobj, "sub_filter", n + 1);
        for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++)
            if (strcmp(n, subs[i].name) == 0)
                r = subs[i].sub;
    } else {
        cJSON_AddNullToObject(sobj, "sub_filter");
    }
    qpdf_oh_release(q, sf);
    return r;
}

/* ------------------------------------------------------------------ */
/* Document timestamps (ISO 32000-2 12.8.5; ETSI EN 319 142-1 5.4).   */
/* ------------------------------------------------------------------ */

/* What a /DocTimeStamp proved, decided before any signature is judged. */
typedef struct {
    int is_ts;        /* pd_is_doc_ts */
    int checked;      /* its layout held and its token was verified: res */
    size_t covers;    /* /ByteRange l1: it covers every byte before its gap */
    size_t end;       /* o2 + l2: the end of its own revision */
    ks_tsp_result res;
} ks_pdf_ts;

/* 1: /Type /DocTimeStamp; 2: and /SubFilter /ETSI.RFC3161, the only
 * kind whose token is verified and proves anything (ETSI EN 319 142-1
 * 5.4.3). */
static int pd_is_doc_ts(qpdf_data q, qpdf_oh sig)
{
    qpdf_oh type = qpdf_oh_get_key(q, sig, "/Type");
    qpdf_oh sf = qpdf_oh_get_key(q, sig, "/SubFilter");
    int r = qpdf_oh_is_name_and_equals(q, type, "/DocTimeStamp");
    if (r && qpdf_oh_is_name_and_equals(q, sf, "/ETSI.RFC3161"))
        r = 2;
    qpdf_oh_release(q, type);
    qpdf_oh_release(q, sf);
    return r;
}

/*
 * Verifies every document timestamp's RFC 3161 token over the bytes its
 * ByteRange covers (its messageImprint is their hash, ETSI EN 319 142-1
 * 5.4.3) with tsp.c, newest first (issue #20 item 1): the newest has its
 * TSA path validated at the validation time, each older one at the
 * earliest genTime of a verified newer timestamp that covers it, so a TSA
 * certificate that has expired since only had to be valid when the next
 * timestamp proved the token existed.  A timestamp whose layout fails is
 * left unchecked here (pd_verify_one reports the layout).
 */
static void pd_doc_timestamps(const ks_ctx *ctx, qpdf_data q, const ks_pdf_sigs *sigs, const uint8_t *data,
                              size_t len, time_t at, const ks_path_input *pin, ks_pdf_ts *ts)
{
    for (size_t i = 0; i < sigs->n; i++) {
        memset(&ts[i], 0, sizeof ts[i]);
        ts[i].is_ts = pd_is_doc_ts(q, sigs->v[i].sig);
    }
    for (;;) {
        /* The newest timestamp not yet checked: the one ending last. */
        size_t pick = sigs->n;
        ks_pdf_layout lo;
        const char *why = NULL;
        for (size_t i = 0; i < sigs->n; i++) {
            if (ts[i].is_ts != 2 || ts[i].checked || ts[i].end == (size_t)-1)
                continue;
            if (ts[i].end == 0) {
                int ok = pd_check_layout(q, sigs->v[i].sig, data, len, &lo, &why);
                ts[i].end = ok ? lo.end : (size_t)-1;
                ts[i].covers = ok ? (size_t)lo.br[1] : 0;
                free(lo.contents);
                if (!ok)
                    continue;
            }
            if (pick == sigs->n || ts[i].end > ts[pick].end)
                pick = i;
        }
        if (pick == sigs->n)
            break;
        time_t vt = at;
        for (size_t j = 0; j < sigs->n; j++)
            if (ts[j].checked && ts[j].res.indication == KS_TOTAL_PASSED && ts[pick].end <= ts[j].covers &&
                ts[j].res.time < vt)
                vt = ts[j].res.time;
        if (!pd_check_layout(q, sigs->v[pick].sig, data, len, &lo, &why)) {
            ts[pick].end = (size_t)-1; /* cannot happen: the same check held above */
            free(lo.contents);
            continue;
        }
        ks_blob ranges[2] = {{.data = data, .len = (size_t)lo.br[1]},
                             {.data = data + lo.br[2], .len = (size_t)lo.br[3]}};
        /* The TSA path's revocation for the validation time, from the
         * DSS first (issue #20: a B-LTA file carries the TSA's evidence). */
        ks_tsp_env env = {.vt = at, .pin = pin};
        ks_tsp_verify(ctx, lo.contents, lo.der_len, ranges, 2, vt, &env, &ts[pick].res);
        ts[pick].checked = 1;
        free(lo.contents);
    }
}

/* The document timestamps that cover the bytes [0, end): each verified
 * one in "timestamps" with its field, and the earliest as *poe (ETSI EN
 * 319 102-1 5.6.2.4: a POE of everything in the revision it covers). */
static ks_result pd_covering_timestamps(const ks_pdf_sigs *sigs, const ks_pdf_ts *ts, size_t self, size_t end,
                                        cJSON *sobj, ks_ext_poe *poe, int *has_poe)
{
    cJSON *arr = cJSON_GetObjectItemCaseSensitive(sobj, "timestamps");
    *has_poe = 0;
    if (arr == NULL && (arr = cJSON_AddArrayToObject(sobj, "timestamps")) == NULL)
        return KS_E_NOMEM;
    for (size_t j = 0; j < sigs->n; j++) {
        if (j == self || !ts[j].checked || end > ts[j].covers)
            continue;
        cJSON *tj = ks_timestamp_json(&ts[j].res, "document");
        if (tj == NULL || !cJSON_AddItemToArray(arr, tj)) {
            cJSON_Delete(tj);
            return KS_E_NOMEM;
        }
        if (cJSON_AddStringToObject(tj, "field", sigs->v[j].name) == NULL)
            return KS_E_NOMEM;
        if (ts[j].res.indication == KS_TOTAL_PASSED && (!*has_poe || ts[j].res.time < poe->time)) {
            poe->time = ts[j].res.time;
            poe->tsa = ts[j].res.tsa;
            poe->source = "document_timestamp";
            *has_poe = 1;
        }
    }
    return KS_OK;
}

/* ------------------------------------------------------------------ */
/* The DSS (ETSI EN 319 142-1 5.4.2, PAdES B-LT): evidence, not facts. */
/* ------------------------------------------------------------------ */

typedef struct {
    STACK_OF(X509) *certs;
    STACK_OF(X509_CRL) *crls;
    ks_blob *ocsps; /* each .data malloc'd */
    size_t n_ocsps;
} ks_pdf_dss;

static void pd_dss_free(ks_pdf_dss *d)
{
    sk_X509_pop_free(d->certs, X509_free);
    sk_X509_CRL_pop_free(d->crls, X509_CRL_free);
    for (size_t i = 0; i < d->n_ocsps; i++)
        free((void *)d->ocsps[i].data);
    free(d->ocsps);
    memset(d, 0, sizeof *d);
}

/* The decoded data of each stream of /DSS `key`, at most `max` of them
 * (KS_E_LIMIT past it), handed to `take` (which keeps or frees it).
 * Streams qpdf cannot decode, or that are not streams, are skipped: the
 * DSS only offers evidence, and what is missing is fetched as usual. */
/* 1 when `it` is an indirect object that array `arr` also lists. */
static int pd_listed(qpdf_data q, qpdf_oh arr, qpdf_oh it)
{
    int found = 0, n = qpdf_oh_is_array(q, arr) ? qpdf_oh_get_array_n_items(q, arr) : 0;
    if (!qpdf_oh_is_indirect(q, it))
        return 0;
    for (int i = 0; i < n && !found; i++) {
        qpdf_oh o = qpdf_oh_get_array_item(q, arr, i);
        found = qpdf_oh_is_indirect(q, o) && qpdf_oh_get_object_id(q, o) == qpdf_oh_get_object_id(q, it) &&
                qpdf_oh_get_generation(q, o) == qpdf_oh_get_generation(q, it);
        qpdf_oh_release(q, o);
    }
    return found;
}

/* `skip`: an array (the DSS's own /Certs, /CRLs or /OCSPs) whose objects
 * are taken already and are skipped here (0: none): a VRI entry usually
 * lists the same streams again, and they must not count twice. */
static ks_result pd_dss_streams(const ks_ctx *ctx, qpdf_data q, qpdf_oh dss, const char *key, int max,
                                int (*take)(ks_pdf_dss *, uint8_t *, size_t), ks_pdf_dss *d, qpdf_oh skip)
{
    ks_result r = KS_OK;
    qpdf_oh arr = qpdf_oh_get_key(q, dss, key);
    int n = qpdf_oh_is_array(q, arr) ? qpdf_oh_get_array_n_items(q, arr) : 0;
    if (n > max)
        r = KS_E_LIMIT;
    for (int i = 0; i < n && r == KS_OK; i++) {
        qpdf_oh it = qpdf_oh_get_array_item(q, arr, i);
        unsigned char *buf = NULL;
        size_t len = 0;
        QPDF_BOOL filtered = QPDF_FALSE;
        if (skip != 0 && pd_listed(q, skip, it)) {
            qpdf_oh_release(q, it);
            continue;
        }
        if (qpdf_oh_is_stream(q, it) &&
            !(qpdf_oh_get_stream_data(q, it, qpdf_dl_generalized, &filtered, &buf, &len) & QPDF_ERRORS) &&
            filtered && len > 0 && len <= ks_ctx_max_input(ctx)) {
            if (!take(d, buf, len))
                r = KS_E_NOMEM;
            buf = NULL;
        }
        free(buf);
        qpdf_oh_release(q, it);
    }
    qpdf_oh_release(q, arr);
    if (qpdf_has_error(q))
        qpdf_get_error(q); /* a DSS we cannot read offers nothing */
    return r;
}

static int pd_take_cert(ks_pdf_dss *d, uint8_t *p, size_t n)
{
    X509 *x = ks_der_to_x509(p, n);
    int ok = 1;
    free(p);
    if (x == NULL) { /* not a certificate: nothing offered */
        ks_openssl_drain(__func__);
        return 1;
    }
    if ((d->certs == NULL && (d->certs = sk_X509_new_null()) == NULL) || !sk_X509_push(d->certs, x)) {
        X509_free(x);
        ok = 0;
    }
    return ok;
}

static int pd_take_crl(ks_pdf_dss *d, uint8_t *p, size_t n)
{
    const unsigned char *c = p;
    X509_CRL *crl = d2i_X509_CRL(NULL, &c, (long)n);
    int ok = 1;
    if (crl != NULL && c != p + n) { /* trailing bytes: not exactly a CRL */
        X509_CRL_free(crl);
        crl = NULL;
    }
    free(p);
    if (crl == NULL) {
        ks_openssl_drain(__func__);
        return 1;
    }
    if ((d->crls == NULL && (d->crls = sk_X509_CRL_new_null()) == NULL) || !sk_X509_CRL_push(d->crls, crl)) {
        X509_CRL_free(crl);
        ok = 0;
    }
    return ok;
}

static int pd_take_ocsp(ks_pdf_dss *d, uint8_t *p, size_t n)
{
    ks_blob *nb = realloc(d->ocsps, (d->n_ocsps + 1) * sizeof *nb);
    if (nb == NULL) {
        free(p);
        return 0;
    }
    d->ocsps = nb;
    d->ocsps[d->n_ocsps++] = (ks_blob){.name = NULL, .data = p, .len = n};
    return 1;
}

/* The catalog's /DSS of the whole document (it is added after signing, and
 * none of it is trusted for itself: revoke.c verifies each OCSP response
 * and CRL like fetched ones, the certificates are path candidates).
 * /Certs within limits.max_certs, /CRLs and /OCSPs within limits.max_crls
 * each (KS_E_LIMIT past them). */
static ks_result pd_read_dss(const ks_ctx *ctx, qpdf_data q, ks_pdf_dss *d)
{
    ks_result r;
    memset(d, 0, sizeof *d);
    qpdf_oh root = qpdf_get_root(q);
    qpdf_oh dss = qpdf_oh_get_key(q, root, "/DSS");
    if (!qpdf_oh_is_dictionary(q, dss))
        r = KS_OK;
    else if ((r = pd_dss_streams(ctx, q, dss, "/Certs", ctx->limits.max_certs, pd_take_cert, d, 0)) == KS_OK &&
             (r = pd_dss_streams(ctx, q, dss, "/CRLs", ctx->limits.max_crls, pd_take_crl, d, 0)) == KS_OK)
        r = pd_dss_streams(ctx, q, dss, "/OCSPs", ctx->limits.max_crls, pd_take_ocsp, d, 0);
    qpdf_oh_release(q, root);
    qpdf_oh_release(q, dss);
    if (qpdf_has_error(q))
        qpdf_get_error(q);
    if (r != KS_OK)
        pd_dss_free(d);
    return r;
}

/*
 * The DSS's VRI index (ETSI EN 319 142-1 5.4.2.2, ISO 32000-2 12.8.4.4):
 * /VRI maps the uppercase hex SHA-1 of a signature's /Contents to the
 * evidence gathered for that signature (/Cert, /OCSP, /CRL: arrays of
 * streams, read as /Certs /CRLs /OCSPs are; /TU and /TS say when, and /TS,
 * a timestamp over the entry, is not verified: the evidence is checked
 * for itself, and the entry's time proves nothing here).  The key is the
 * hash of the whole value as written, padding included (ISO 32000-2; pyHanko
 * and Adobe write it so); the hash of the DER alone is accepted too.  What
 * the entry adds (streams the DSS's own arrays do not list already) goes to
 * *d, in addition to the DSS's arrays.  Returns 1 and the key in key[41]
 * when an entry applied, 0 when none, -1 when the index or the entry is
 * malformed (not a dictionary, a key that is not an array): the caller
 * warns, and what could be read is still used.  *r: KS_E_LIMIT past the
 * ceilings, KS_E_NOMEM.
 */
static int pd_vri(const ks_ctx *ctx, qpdf_data q, const ks_pdf_layout *lo, ks_pdf_dss *d, char key[41], ks_result *r)
{
    static const struct {
        const char *vkey, *gkey;
        int (*take)(ks_pdf_dss *, uint8_t *, size_t);
        int certs;
    } parts[] = {{"/Cert", "/Certs", pd_take_cert, 1}, {"/CRL", "/CRLs", pd_take_crl, 0},
                 {"/OCSP", "/OCSPs", pd_take_ocsp, 0}};
    int ret = 0;
    qpdf_oh root = qpdf_get_root(q);
    qpdf_oh dss = qpdf_oh_get_key(q, root, "/DSS");
    qpdf_oh vri = qpdf_oh_get_key(q, dss, "/VRI");
    qpdf_oh ent = 0;
    *r = KS_OK;
    key[0] = '\0';
    if (!qpdf_oh_is_dictionary(q, dss) || qpdf_oh_is_null(q, vri))
        goto done;
    if (!qpdf_oh_is_dictionary(q, vri)) {
        ret = -1;
        goto done;
    }
    for (int k = 0; k < 2 && key[0] == '\0'; k++) {
        unsigned char md[SHA_DIGEST_LENGTH];
        char name[2 + 2 * SHA_DIGEST_LENGTH];
        if (SHA1(lo->contents, k == 0 ? lo->contents_len : lo->der_len, md) == NULL)
            continue;
        name[0] = '/';
        for (int i = 0; i < SHA_DIGEST_LENGTH; i++)
            snprintf(name + 1 + 2 * i, 3, "%02X", md[i]);
        if (qpdf_oh_has_key(q, vri, name))
            snprintf(key, 41, "%s", name + 1);
    }
    if (key[0] == '\0')
        goto done;
    char name[42];
    snprintf(name, sizeof name, "/%s", key);
    ent = qpdf_oh_get_key(q, vri, name);
    if (!qpdf_oh_is_dictionary(q, ent)) {
        ret = -1;
        goto done;
    }
    ret = 1;
    for (size_t i = 0; i < sizeof parts / sizeof parts[0] && *r == KS_OK; i++) {
        qpdf_oh v = qpdf_oh_get_key(q, ent, parts[i].vkey), g = qpdf_oh_get_key(q, dss, parts[i].gkey);
        if (!qpdf_oh_is_null(q, v) && !qpdf_oh_is_array(q, v))
            ret = -1;
        *r = pd_dss_streams(ctx, q, ent, parts[i].vkey, parts[i].certs ? ctx->limits.max_certs : ctx->limits.max_crls,
                            parts[i].take, d, g);
        qpdf_oh_release(q, v);
        qpdf_oh_release(q, g);
    }
done:
    if (ret < 0)
        key[0] = '\0';
    if (ent != 0)
        qpdf_oh_release(q, ent);
    qpdf_oh_release(q, vri);
    qpdf_oh_release(q, dss);
    qpdf_oh_release(q, root);
    if (qpdf_has_error(q))
        qpdf_get_error(q);
    ks_openssl_drain(__func__);
    return ret;
}

/* The DSS's evidence and a VRI entry's, as one ks_outside: new stacks and
 * array holding references (free with pd_merged_free). */
typedef struct {
    STACK_OF(X509) *certs;
    STACK_OF(X509_CRL) *crls;
    ks_blob *ocsps;
    size_t n_ocsps;
} ks_pdf_merged;

static void pd_merged_free(ks_pdf_merged *m)
{
    sk_X509_free(m->certs);
    sk_X509_CRL_free(m->crls);
    free(m->ocsps);
    memset(m, 0, sizeof *m);
}

static int pd_merge(const ks_pdf_dss *a, const ks_pdf_dss *b, ks_pdf_merged *m)
{
    memset(m, 0, sizeof *m);
    if ((m->certs = sk_X509_new_null()) == NULL || (m->crls = sk_X509_CRL_new_null()) == NULL)
        return 0;
    const ks_pdf_dss *src[2] = {a, b};
    for (int s = 0; s < 2; s++) {
        for (int i = 0; i < sk_X509_num(src[s]->certs); i++)
            if (!sk_X509_push(m->certs, sk_X509_value(src[s]->certs, i)))
                return 0;
        for (int i = 0; i < sk_X509_CRL_num(src[s]->crls); i++)
            if (!sk_X509_CRL_push(m->crls, sk_X509_CRL_value(src[s]->crls, i)))
                return 0;
    }
    size_t n = a->n_ocsps + b->n_ocsps;
    if (n > 0 && (m->ocsps = calloc(n, sizeof *m->ocsps)) == NULL)
        return 0;
    for (size_t i = 0; i < a->n_ocsps; i++)
        m->ocsps[m->n_ocsps++] = a->ocsps[i];
    for (size_t i = 0; i < b->n_ocsps; i++)
        m->ocsps[m->n_ocsps++] = b->ocsps[i];
    return 1;
}

/* Everything about one signature field into sobj and *st; ts: what the
 * document timestamps proved (pd_doc_timestamps), index `self` this one;
 * dss: the document's DSS evidence; revs: the document's %%EOF count (a
 * scan of the whole file, done once). */
static ks_result pd_verify_one(ks_ctx *ctx, qpdf_data w, const ks_pdf_sigs *sigs, size_t self, const ks_pdf_ts *ts,
                               const ks_pdf_dss *dss, const uint8_t *data, size_t len, size_t revs, time_t at,
                               cJSON *sobj, ks_status *st)
{
    const ks_pdf_sig *s = &sigs->v[self];
    ks_result r = KS_E_NOMEM;
    qpdf_data rev = NULL;
    const char *why = NULL;
    ks_pdf_layout lo = {0};
    ks_pdf_dss vd = {0};
    ks_pdf_merged merged = {0};

    if (cJSON_AddStringToObject(sobj, "field", s->name) == NULL)
        goto done;
    int is_ts = ts[self].is_ts != 0;
    if (cJSON_AddStringToObject(sobj, "type", is_ts ? "document_timestamp" : "signature") == NULL)
        goto done;
    ks_pdf_sub sub = pd_sub_filter(w, s->sig, sobj);
    cJSON *claims = cJSON_AddObjectToObject(sobj, "claims");
    if (claims == NULL || !pd_claim(w, s->sig, "/Reason", claims, "reason") ||
        !pd_claim(w, s->sig, "/Location", claims, "location") ||
        !pd_claim(w, s->sig, "/ContactInfo", claims, "contact_info") ||
        !pd_claim(w, s->sig, "/Name", claims, "name") || !pd_claim(w, s->sig, "/M", claims, "signing_time"))
        goto done;
    int layout_ok = pd_check_layout(w, s->sig, data, len, &lo, &why);
    cJSON *br = cJSON_AddArrayToObject(sobj, "byte_range");
    if (br == NULL)
        goto done;
    for (int i = 0; i < 4 && lo.have_br; i++)
        if (!cJSON_AddItemToArray(br, cJSON_CreateNumber((double)lo.br[i])))
            goto done;
    if (!layout_ok) {
        ks_status_set(st, KS_INDETERMINATE, KS_SUB_FORMAT_FAILURE, why);
        if (cJSON_AddFalseToObject(sobj, "covers_whole_document") == NULL)
            goto done;
        r = KS_OK;
        goto done;
    }
    int whole = lo.end == len;
    if (cJSON_AddBoolToObject(sobj, "covers_whole_document", whole) == NULL ||
        cJSON_AddNumberToObject(sobj, "revision", (double)(whole ? revs : pd_count_eof(data, lo.end))) == NULL ||
        cJSON_AddNumberToObject(sobj, "signed_revision_bytes", (double)lo.end) == NULL)
        goto done;
    cJSON *mods = cJSON_AddArrayToObject(sobj, "modifications_after_signing");
    if (mods == NULL)
        goto done;

    /* The CMS over the ranges (ISO 32000-1 12.8.3.3), unless the
     * SubFilter is one we refuse or do not verify yet. */
    int mismatch = is_ts != (sub == PD_SUB_TIMESTAMP);
    if (mismatch) {
        /* ETSI EN 319 142-1 5.4.3: a document timestamp is a
         * /DocTimeStamp with ETSI.RFC3161, and only that. */
        ks_status_set(st, KS_INDETERMINATE, KS_SUB_FORMAT_FAILURE,
                      is_ts ? "a /DocTimeStamp dictionary whose /SubFilter is not ETSI.RFC3161"
                            : "an ETSI.RFC3161 /SubFilter outside a /DocTimeStamp dictionary");
        sub = PD_SUB_UNKNOWN;
    }
    ks_ext_poe poe;
    int has_poe = 0;
    switch (sub) {
    case PD_SUB_DETACHED:
    case PD_SUB_CADES:
    {
        /* The document timestamps over this revision first: each is a POE
         * of this signature (pd_covering_timestamps), used as the CMS path
         * uses signature timestamps, and reported beside them. */
        cJSON *dts = cJSON_CreateObject();
        if (dts == NULL || (r = pd_covering_timestamps(sigs, ts, self, lo.end, dts, &poe, &has_poe)) != KS_OK) {
            cJSON_Delete(dts);
            r = KS_E_NOMEM;
            goto done;
        }
        /* This signature's VRI entry, when the DSS has one, adds to the
         * DSS's arrays; which one applied is reported. */
        char vkey[41];
        ks_result vr = KS_OK;
        int vri = pd_vri(ctx, w, &lo, &vd, vkey, &vr);
        if (vr != KS_OK || !pd_merge(dss, &vd, &merged)) {
            cJSON_Delete(dts);
            r = vr != KS_OK ? vr : KS_E_NOMEM;
            goto done;
        }
        if ((vri == 1 ? cJSON_AddStringToObject(sobj, "dss_vri", vkey) : cJSON_AddNullToObject(sobj, "dss_vri")) ==
                NULL ||
            (vri < 0 && !ks_verdict_warn(sobj, "PDF_DSS_VRI_MALFORMED",
                                         "The DSS's VRI entry for this signature is malformed; what could be read of "
                                         "it was used as evidence like the rest of the DSS.",
                                         "DSS の VRI エントリが不正です。読み取れた部分のみ DSS の他の情報と同様に検証"
                                         "材料として使用しました。"))) {
            cJSON_Delete(dts);
            r = KS_E_NOMEM;
            goto done;
        }
        ks_outside outside = {.poe = has_poe ? &poe : NULL,
                              .certs = merged.certs,
                              .crls = merged.crls,
                              .ocsps = merged.ocsps,
                              .n_ocsps = merged.n_ocsps};
        /* The two ranges digested where they lie: one pass, no copy. */
        const ks_blob parts[2] = {{.data = data, .len = (size_t)lo.br[1]},
                                  {.data = data + lo.br[2], .len = (size_t)lo.br[3]}};
        r = ks_cms_verify_detached_parts(ctx, lo.contents, lo.der_len, parts, 2, at, sub == PD_SUB_CADES, &outside,
                                         sobj, st);
        cJSON *own = cJSON_GetObjectItemCaseSensitive(sobj, "timestamps");
        cJSON *darr = cJSON_DetachItemFromObjectCaseSensitive(dts, "timestamps");
        cJSON_Delete(dts);
        if (r != KS_OK) {
            cJSON_Delete(darr);
            goto done;
        }
        if (own == NULL) {
            if (!cJSON_AddItemToObject(sobj, "timestamps", darr)) {
                cJSON_Delete(darr);
                r = KS_E_NOMEM;
                goto done;
            }
        } else {
            for (cJSON *it; darr != NULL && (it = cJSON_DetachItemFromArray(darr, 0)) != NULL;)
                if (!cJSON_AddItemToArray(own, it)) {
                    cJSON_Delete(it);
                    cJSON_Delete(darr);
                    r = KS_E_NOMEM;
                    goto done;
                }
            cJSON_Delete(darr);
        }
        r = KS_E_NOMEM;
        break;
    }
    case PD_SUB_LEGACY:
        ks_status_set(st, KS_INDETERMINATE, KS_SUB_CRYPTO_CONSTRAINTS_FAILURE,
                      "adbe.pkcs7.sha1 and adbe.x509.rsa_sha1 signatures are refused (SHA-1)");
        break;
    case PD_SUB_TIMESTAMP: {
        /* Verified by pd_doc_timestamps; a failing token is this entry's
         * verdict, so the document's verdict says so too. */
        const ks_tsp_result *t = &ts[self].res;
        cJSON *arr = cJSON_AddArrayToObject(sobj, "timestamps"), *tj = NULL;
        if (!ts[self].checked) {
            ks_status_set(st, KS_INDETERMINATE, KS_SUB_FORMAT_FAILURE, "the document timestamp was not checked");
            break;
        }
        if (arr == NULL || (tj = ks_timestamp_json(t, "document")) == NULL || !cJSON_AddItemToArray(arr, tj)) {
            cJSON_Delete(tj);
            goto done;
        }
        if (cJSON_AddStringToObject(tj, "field", s->name) == NULL)
            goto done;
        ks_status_set(st, t->indication, t->sub, t->detail[0] ? t->detail : NULL);
        /* The document timestamps after this one that cover it. */
        if ((r = pd_covering_timestamps(sigs, ts, self, lo.end, sobj, &poe, &has_poe)) != KS_OK)
            goto done;
        r = KS_E_NOMEM;
        break;
    }
    default:
        if (!mismatch) /* else said above */
            ks_status_set(st, KS_INDETERMINATE, KS_SUB_FORMAT_FAILURE, "unknown /SubFilter");
        break;
    }

    /* Rules 2 and 3: what came after the signed revision. */
    if (!whole) {
        int disallowed = 0;
        long long sx = pd_last_startxref(data, len);
        if (!pd_ends_revision(data, len) || sx < (long long)lo.end || (unsigned long long)sx >= len) {
            disallowed = 1;
            cJSON *m = cJSON_CreateObject();
            if (m == NULL || !cJSON_AddItemToArray(mods, m) || cJSON_AddStringToObject(m, "kind", "other") == NULL ||
                cJSON_AddStringToObject(m, "object", "bytes after %%EOF that are no incremental update") == NULL ||
                cJSON_AddFalseToObject(m, "allowed") == NULL)
                goto done;
        }
        /* A fresh inflate allowance for this revision and the objects of
         * the whole document the comparison reads (pdf_inflate.c). */
        ks_pdf_inflate_limit(KS_PDF_INFLATE_BASE + KS_PDF_INFLATE_FACTOR * (long long)len);
        r = ks_pdf_open(data, lo.end, &rev);
        if (r == KS_E_NOMEM)
            goto done;
        if (r != KS_OK) {
            ks_status_set(st, KS_INDETERMINATE, KS_SUB_FORMAT_FAILURE, "the signed revision is not a usable PDF");
            r = KS_OK;
            goto done;
        }
        /* The locks as signed: this field and its /V in the signed
         * revision (an update cannot unlock what it then fills in). */
        int bad = 0;
        qpdf_oh rf = qpdf_oh_is_indirect(w, s->field)
                         ? qpdf_get_object_by_id(rev, qpdf_oh_get_object_id(w, s->field),
                                                 qpdf_oh_get_generation(w, s->field))
                         : qpdf_oh_new_object(rev, qpdf_oh_new_null(rev));
        qpdf_oh rs = qpdf_oh_get_key(rev, rf, "/V");
        ks_pdf_locks locks;
        if (qpdf_oh_is_dictionary(rev, rf) && qpdf_oh_is_dictionary(rev, rs))
            r = ks_pdf_locks_read(rev, rf, rs, &locks);
        else
            r = ks_pdf_locks_read(w, s->field, s->sig, &locks); /* direct: part of an object the diff judges */
        qpdf_oh_release(rev, rf);
        qpdf_oh_release(rev, rs);
        if (r == KS_OK)
            r = ks_pdf_diff(w, rev, ks_pdf_docmdp(rev), &locks, mods, &bad);
        ks_pdf_locks_free(&locks);
        if (r == KS_E_NOMEM)
            goto done;
        if (r != KS_OK) {
            ks_status_set(st, KS_INDETERMINATE, KS_SUB_FORMAT_FAILURE,
                          r == KS_E_LIMIT ? "the changes after signing exceed the analysis limits"
                                          : "the changes after signing could not be read");
            r = KS_OK;
            goto done;
        }
        if (!disallowed && !bad && cJSON_GetArraySize(mods) > 0 &&
            !ks_verdict_warn(sobj, "PDF_CHANGED_AFTER_SIGNING",
                             "The document was updated after this signature in ways the signature allows "
                             "(see modifications_after_signing).",
                             "この署名の後に、署名が許す範囲で文書が更新されています（modifications_after_signing を参照）。")) {
            r = KS_E_NOMEM;
            goto done;
        }
        if ((disallowed || bad) && st->indication != KS_TOTAL_FAILED)
            /* What is shown is not what was signed: no ETSI subindication
             * names this better than the hash of the shown document not
             * matching (README, "PDF"). */
            ks_status_set(st, KS_TOTAL_FAILED, KS_SUB_HASH_FAILURE,
                          "the document was changed after signing in a way the signature does not allow");
    }
    r = KS_OK;
done:
    pd_merged_free(&merged);
    pd_dss_free(&vd);
    free(lo.contents);
    if (rev != NULL)
        qpdf_cleanup(&rev);
    return r;
}

ks_result ks_verify_pdf(ks_ctx *ctx, const ks_request *req, cJSON **verdict)
{
    ks_result r;
    qpdf_data q = NULL;
    ks_pdf_sigs sigs = {0};
    ks_pdf_ts *ts = NULL;
    ks_pdf_dss dss = {0};
    cJSON *v = NULL;
    time_t at = req->has_at ? req->at : ks_ctx_now(ctx);
    const uint8_t *data = req->signature.data;
    size_t len = req->signature.len;
    long long saved_limit = -2; /* -2: not set by us */

    *verdict = NULL;
    if (req->n_contents > 0) {
        r = KS_E_CONTENT_CONFLICT; /* a PDF signature covers the PDF itself */
        goto done;
    }
    if (len > ks_ctx_max_input(ctx)) {
        r = KS_E_TOO_LARGE;
        goto done;
    }
    /* Rule 5: no zip bombs; restored at done (the thread serves others). */
    saved_limit = ks_pdf_inflate_limit(KS_PDF_INFLATE_BASE + KS_PDF_INFLATE_FACTOR * (long long)len);
    ks_pdf_decode_spent(1);
    if ((r = ks_pdf_open(data, len, &q)) != KS_OK)
        goto done;
    if ((r = pd_find_sigs(q, ctx->limits.max_signers, &sigs)) != KS_OK)
        goto done;
    if (sigs.n == 0) {
        r = KS_E_PDF_UNSIGNED;
        goto done;
    }
    r = KS_E_NOMEM;
    v = cJSON_CreateObject();
    if (v == NULL || !ks_verdict_common(ctx, v, "pdf", at))
        goto done;
    cJSON *doc = cJSON_AddObjectToObject(v, "pdf");
    ks_pdf_mdp mdp = ks_pdf_docmdp(q);
    size_t revs = pd_count_eof(data, len);
    if (doc == NULL || cJSON_AddNumberToObject(doc, "bytes", (double)len) == NULL ||
        cJSON_AddNumberToObject(doc, "revisions", (double)revs) == NULL ||
        (mdp == KS_MDP_NONE ? cJSON_AddNullToObject(doc, "docmdp") : cJSON_AddNumberToObject(doc, "docmdp", mdp)) ==
            NULL)
        goto done;
    cJSON *signers = cJSON_AddArrayToObject(v, "signers");
    if (signers == NULL || (ts = calloc(sigs.n, sizeof *ts)) == NULL)
        goto done;
    if ((r = pd_read_dss(ctx, q, &dss)) != KS_OK)
        goto done;
    ks_path_input dss_pin = {.embedded = dss.certs, .crls = dss.crls, .ocsps = dss.ocsps, .n_ocsps = dss.n_ocsps};
    pd_doc_timestamps(ctx, q, &sigs, data, len, at, &dss_pin, ts);
    r = KS_E_NOMEM;
    ks_status worst;
    ks_status_set(&worst, KS_TOTAL_PASSED, KS_SUB_NONE, NULL);
    for (size_t i = 0; i < sigs.n; i++) {
        ks_status st;
        ks_status_set(&st, KS_INDETERMINATE, KS_SUB_FORMAT_FAILURE, "not checked"); /* fail closed */
        cJSON *sobj = cJSON_CreateObject();
        if (sobj == NULL || !cJSON_AddItemToArray(signers, sobj))
            goto done;
        if ((r = pd_verify_one(ctx, q, &sigs, i, ts, &dss, data, len, revs, at, sobj, &st)) != KS_OK)
            goto done;
        r = KS_E_NOMEM;
        if (!ks_verdict_status(sobj, &st))
            goto done;
        if (i == 0 || ks_indication_worse(st.indication, worst.indication))
            worst = st;
    }
    if ((r = ks_summarise(v, signers, &worst)) != KS_OK)
        goto done;
    *verdict = v;
    v = NULL;
    r = KS_OK;
done:
    /* Rule 5: a stream decoded past its allowance was cut short, and
     * whatever qpdf read from it is not the document: no verdict. */
    if (saved_limit != -2 && ks_pdf_decode_spent(1)) {
        cJSON_Delete(*verdict);
        *verdict = NULL;
        if (r == KS_OK || r == KS_E_PDF_UNSIGNED)
            r = KS_E_PDF;
    }
    cJSON_Delete(v);
    pd_dss_free(&dss);
    for (size_t i = 0; ts != NULL && i < sigs.n; i++)
        ks_tsp_result_clear(&ts[i].res);
    free(ts);
    free(sigs.v);
    if (q != NULL)
        qpdf_cleanup(&q);
    if (saved_limit != -2)
        ks_pdf_inflate_limit(saved_limit);
    ks_openssl_drain(__func__);
    return r;
}
