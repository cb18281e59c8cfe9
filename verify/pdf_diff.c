/*
 * verify/pdf_diff.c - rule 3 of issue 19: what the incremental updates after
 * a signature changed, and whether each change is one a signer allowed.
 *
 * The incremental saving attack (ISA) and the shadow attacks (Mladenov et
 * al., CCS 2019; Mainka et al., NDSS 2021) both append an update that a
 * viewer then shows as part of the signed document.  We therefore open the
 * signature's own revision (the bytes its ByteRange covers, as a PDF of its
 * own) and the whole document, and walk the whole document's object graph
 * from the trailer's /Root.  Every indirect object reached is compared with
 * the object of the same number and generation in the signed revision.  An
 * object that is new or different is judged by the role it was reached in
 * (page content, page tree, annotation, form field, DSS, ...), never by
 * what it claims to be, and an object reached in several roles is judged in
 * each.  Nothing is allowed unless a rule below clears it (the approach of
 * pyHanko's whitelisting difference analysis):
 *
 *   - a signature or document timestamp in a new or so far empty signature
 *     field, with its widget and appearance (not under DocMDP P=1 for a
 *     signature; ISO 32000-1 12.8.2.2, Table 254);
 *   - the DSS (ETSI EN 319 142-1 5.4), and /SigFlags of the AcroForm;
 *   - form fill-in: /V, /AP, /AS of an existing non-signature field (not
 *     under P=1);
 *   - a new annotation only under DocMDP P=3.  Without DocMDP annotations
 *     are refused, as pyHanko does: an annotation can cover what was signed.
 *
 * Everything else is refused: a changed or added page, page content, page
 * tree, resource, XObject or font (shadow "replace"), a catalog replaced
 * through a new trailer /Root (shadow "hide-and-replace"), a catalog key
 * other than /AcroForm and /DSS (e.g. /OCProperties: shadow "hide"), a
 * removed field or annotation, and an object that was referenced but
 * undefined when signed and is defined afterwards ("late object").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pdf_int.h"

/* The role an object was reached in. */
typedef enum {
    R_CATALOG,
    R_PAGES,   /* a /Kids entry: a page tree node or a page */
    R_CONTENT, /* a page's /Contents */
    R_ANNOT,   /* a page's /Annots entry */
    R_ACROFORM,
    R_FIELD,
    R_FIELDVAL, /* a field's /V */
    R_APPEAR,   /* an annotation's or field's /AP */
    R_DSS,
    R_NEW_OK, /* below an object that was added and allowed */
    R_OTHER
} ks_pdf_role;

typedef struct {
    int id, gen;
    ks_pdf_role role;
} ks_pdf_item;

typedef struct {
    qpdf_data w, s;
    ks_pdf_mdp mdp;
    const ks_pdf_locks *locks;
    cJSON *mods;
    int disallowed;
    ks_pdf_item *stack;
    size_t n, cap;
    unsigned long long *seen; /* open addressing, 0 = empty */
    size_t seen_cap, seen_n;
    size_t visits;
} ks_pdf_walk;

/* ------------------------------------------------------------------ */
/* Small qpdf helpers.  Every handle we take is released.             */
/* ------------------------------------------------------------------ */

static int pd_key_is_name(qpdf_data q, qpdf_oh dict, const char *key, const char *name)
{
    qpdf_oh v = qpdf_oh_get_key(q, dict, key);
    int r = qpdf_oh_is_name_and_equals(q, v, name);
    qpdf_oh_release(q, v);
    return r;
}

/* The unparsed value of dict[key] ("" when absent), malloc'd. */
static char *pd_value_text(qpdf_data q, qpdf_oh dict, const char *key)
{
    if (!qpdf_oh_has_key(q, dict, key))
        return strdup("");
    qpdf_oh v = qpdf_oh_get_key(q, dict, key);
    char *s = strdup(qpdf_oh_unparse(q, v));
    qpdf_oh_release(q, v);
    return s;
}

static void pd_free_keys(char **k, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(k[i]);
    free(k);
}

/* The keys of a dictionary (a stream's dictionary for a stream), malloc'd.
 * qpdf iterates over one dictionary at a time: the keys are copied first. */
static ks_result pd_keys(qpdf_data q, qpdf_oh oh, char ***out, size_t *nout)
{
    *out = NULL;
    *nout = 0;
    qpdf_oh d = qpdf_oh_is_stream(q, oh) ? qpdf_oh_get_dict(q, oh) : qpdf_oh_new_object(q, oh);
    ks_result r = KS_OK;
    if (!qpdf_oh_is_dictionary(q, d))
        goto done;
    size_t cap = 0;
    qpdf_oh_begin_dict_key_iter(q, d);
    while (qpdf_oh_dict_more_keys(q)) {
        const char *k = qpdf_oh_dict_next_key(q);
        if (*nout == cap) {
            if (*nout >= KS_PDF_MAX_KEYS) {
                r = KS_E_LIMIT;
                goto done;
            }
            cap = cap ? cap * 2 : 16;
            char **nk = realloc(*out, cap * sizeof *nk);
            if (nk == NULL) {
                r = KS_E_NOMEM;
                goto done;
            }
            *out = nk;
        }
        if (((*out)[*nout] = strdup(k)) == NULL) {
            r = KS_E_NOMEM;
            goto done;
        }
        (*nout)++;
    }
done:
    qpdf_oh_release(q, d);
    if (r != KS_OK) {
        pd_free_keys(*out, *nout);
        *out = NULL;
        *nout = 0;
    }
    return r;
}

/* 1 when the two objects print the same and, for streams, hold the same
 * raw (undecoded: no decompression here) bytes. */
static int pd_same(qpdf_data w, qpdf_oh a, qpdf_data s, qpdf_oh b)
{
    int sa = qpdf_oh_is_stream(w, a), sb = qpdf_oh_is_stream(s, b);
    if (sa != sb)
        return 0;
    if (!sa) {
        char *ta = strdup(qpdf_oh_unparse_resolved(w, a));
        int same = ta != NULL && strcmp(ta, qpdf_oh_unparse_resolved(s, b)) == 0;
        free(ta);
        return same;
    }
    qpdf_oh da = qpdf_oh_get_dict(w, a), db = qpdf_oh_get_dict(s, b);
    char *ta = strdup(qpdf_oh_unparse(w, da));
    int same = ta != NULL && strcmp(ta, qpdf_oh_unparse(s, db)) == 0;
    free(ta);
    qpdf_oh_release(w, da);
    qpdf_oh_release(s, db);
    if (!same)
        return 0;
    unsigned char *ba = NULL, *bb = NULL;
    size_t la = 0, lb = 0;
    /* The code carries QPDF_WARNINGS whenever warnings are pending: only
     * the error bit says the read failed. */
    if ((qpdf_oh_get_stream_data(w, a, qpdf_dl_none, NULL, &ba, &la) & QPDF_ERRORS) ||
        (qpdf_oh_get_stream_data(s, b, qpdf_dl_none, NULL, &bb, &lb) & QPDF_ERRORS))
        same = 0;
    else
        same = la == lb && (la == 0 || memcmp(ba, bb, la) == 0);
    free(ba);
    free(bb);
    return same;
}

/* Keys whose values differ between the whole document's `a` and the signed
 * revision's `b` (absent counts as a value). */
static ks_result pd_changed_keys(qpdf_data w, qpdf_oh a, qpdf_data s, qpdf_oh b, char ***out, size_t *nout)
{
    char **ka = NULL, **kb = NULL;
    size_t na = 0, nb = 0;
    ks_result r;
    *out = NULL;
    *nout = 0;
    if ((r = pd_keys(w, a, &ka, &na)) != KS_OK || (r = pd_keys(s, b, &kb, &nb)) != KS_OK)
        goto done;
    r = KS_E_NOMEM;
    char **res = calloc(na + nb + 1, sizeof *res);
    if (res == NULL)
        goto done;
    *out = res;
    qpdf_oh da = qpdf_oh_is_stream(w, a) ? qpdf_oh_get_dict(w, a) : qpdf_oh_new_object(w, a);
    qpdf_oh db = qpdf_oh_is_stream(s, b) ? qpdf_oh_get_dict(s, b) : qpdf_oh_new_object(s, b);
    for (size_t i = 0; i < na + nb; i++) {
        const char *k = i < na ? ka[i] : kb[i - na];
        if (i >= na) { /* a key of b only matters when a lacks it */
            int in_a = 0;
            for (size_t j = 0; j < na && !in_a; j++)
                in_a = strcmp(ka[j], k) == 0;
            if (in_a)
                continue;
        }
        char *va = pd_value_text(w, da, k), *vb = pd_value_text(s, db, k);
        int differ = va == NULL || vb == NULL || strcmp(va, vb) != 0;
        free(va);
        free(vb);
        if (differ && (res[(*nout)++] = strdup(k)) == NULL) {
            qpdf_oh_release(w, da);
            qpdf_oh_release(s, db);
            goto done;
        }
    }
    qpdf_oh_release(w, da);
    qpdf_oh_release(s, db);
    r = KS_OK;
done:
    pd_free_keys(ka, na);
    pd_free_keys(kb, nb);
    if (r != KS_OK) {
        pd_free_keys(*out, *nout);
        *out = NULL;
        *nout = 0;
    }
    return r;
}

static int pd_keys_within(char **keys, size_t n, const char *const *allowed)
{
    for (size_t i = 0; i < n; i++) {
        int ok = 0;
        for (const char *const *a = allowed; *a && !ok; a++)
            ok = strcmp(keys[i], *a) == 0;
        if (!ok)
            return 0;
    }
    return 1;
}

/* 1 when every element of the signed revision's array `sa` is still in the
 * whole document's `wa` (by reference or value). */
static int pd_items_kept(qpdf_data w, qpdf_oh wa, qpdf_data s, qpdf_oh sa)
{
    int ok = 1;
    int nw = qpdf_oh_is_array(w, wa) ? qpdf_oh_get_array_n_items(w, wa) : 0;
    int ns = qpdf_oh_is_array(s, sa) ? qpdf_oh_get_array_n_items(s, sa) : 0;
    if (nw > KS_PDF_MAX_ITEMS || ns > KS_PDF_MAX_ITEMS)
        return 0; /* too many to compare: judged changed (refused) */
    for (int i = 0; i < ns && ok; i++) {
        qpdf_oh si = qpdf_oh_get_array_item(s, sa, i);
        char *t = strdup(qpdf_oh_unparse(s, si));
        qpdf_oh_release(s, si);
        int found = 0;
        for (int j = 0; j < nw && !found && t != NULL; j++) {
            qpdf_oh wi = qpdf_oh_get_array_item(w, wa, j);
            found = strcmp(t, qpdf_oh_unparse(w, wi)) == 0;
            qpdf_oh_release(w, wi);
        }
        free(t);
        ok = found;
    }
    return ok;
}

/* The same for the arrays w.dict[key] and s.dict[key]. */
static int pd_array_kept(qpdf_data w, qpdf_oh wd, qpdf_data s, qpdf_oh sd, const char *key)
{
    qpdf_oh wa = qpdf_oh_get_key(w, wd, key), sa = qpdf_oh_get_key(s, sd, key);
    int ok = pd_items_kept(w, wa, s, sa);
    qpdf_oh_release(w, wa);
    qpdf_oh_release(s, sa);
    return ok;
}

/* ------------------------------------------------------------------ */
/* Reporting.                                                         */
/* ------------------------------------------------------------------ */

/* One {kind, object, allowed}; the same kind and object once. */
static ks_result pd_report(ks_pdf_walk *wk, const char *kind, const char *object, int allowed)
{
    if (!allowed)
        wk->disallowed = 1;
    cJSON *it;
    cJSON_ArrayForEach(it, wk->mods)
    {
        const char *k = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "kind"));
        const char *o = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "object"));
        if (k && o && strcmp(k, kind) == 0 && strcmp(o, object) == 0)
            return KS_OK;
    }
    if (cJSON_GetArraySize(wk->mods) >= KS_PDF_MAX_CHANGES)
        return KS_OK; /* the verdict already says enough; *disallowed still counts */
    cJSON *m = cJSON_CreateObject();
    if (m == NULL || !cJSON_AddItemToArray(wk->mods, m) || cJSON_AddStringToObject(m, "kind", kind) == NULL ||
        cJSON_AddStringToObject(m, "object", object) == NULL || cJSON_AddBoolToObject(m, "allowed", allowed) == NULL)
        return KS_E_NOMEM;
    return KS_OK;
}

static void pd_objname(const ks_pdf_item *it, const char *what, char *buf, size_t len)
{
    if (what != NULL)
        snprintf(buf, len, "%d %d R %s", it->id, it->gen, what);
    else
        snprintf(buf, len, "%d %d R", it->id, it->gen);
}

/* ------------------------------------------------------------------ */
/* The walk.                                                          */
/* ------------------------------------------------------------------ */

static ks_result pd_push(ks_pdf_walk *wk, int id, int gen, ks_pdf_role role)
{
    if (id <= 0 || gen < 0 || gen > 65535)
        return KS_OK;
    unsigned long long key = ((unsigned long long)id << 24) | ((unsigned long long)gen << 8) | (unsigned)role;
    if (wk->seen_n * 2 >= wk->seen_cap) {
        size_t ncap = wk->seen_cap ? wk->seen_cap * 2 : 1024;
        unsigned long long *ns = calloc(ncap, sizeof *ns);
        if (ns == NULL)
            return KS_E_NOMEM;
        for (size_t i = 0; i < wk->seen_cap; i++) {
            if (wk->seen[i] == 0)
                continue;
            size_t h = (size_t)(wk->seen[i] * 0x9E3779B97F4A7C15ULL) & (ncap - 1);
            while (ns[h] != 0)
                h = (h + 1) & (ncap - 1);
            ns[h] = wk->seen[i];
        }
        free(wk->seen);
        wk->seen = ns;
        wk->seen_cap = ncap;
    }
    size_t h = (size_t)(key * 0x9E3779B97F4A7C15ULL) & (wk->seen_cap - 1);
    while (wk->seen[h] != 0) {
        if (wk->seen[h] == key)
            return KS_OK;
        h = (h + 1) & (wk->seen_cap - 1);
    }
    if (++wk->visits > KS_PDF_MAX_VISITS)
        return KS_E_LIMIT;
    wk->seen[h] = key;
    wk->seen_n++;
    if (wk->n == wk->cap) {
        size_t ncap = wk->cap ? wk->cap * 2 : 256;
        ks_pdf_item *st = realloc(wk->stack, ncap * sizeof *st);
        if (st == NULL)
            return KS_E_NOMEM;
        wk->stack = st;
        wk->cap = ncap;
    }
    wk->stack[wk->n++] = (ks_pdf_item){id, gen, role};
    return KS_OK;
}

/* The role of a reference found under key k1 (and k2 inside a direct
 * dictionary there) of an object reached as `r`. */
static ks_pdf_role pd_child_role(ks_pdf_role r, const char *k1, const char *k2, int new_ok)
{
    if (new_ok || r == R_NEW_OK)
        return R_NEW_OK;
    if (k1 == NULL) /* the items of an indirect array keep the array's role */
        return r;
    switch (r) {
    case R_CATALOG:
        if (strcmp(k1, "/Pages") == 0)
            return R_PAGES;
        if (strcmp(k1, "/AcroForm") == 0)
            return k2 == NULL ? R_ACROFORM : strcmp(k2, "/Fields") == 0 ? R_FIELD : R_OTHER;
        if (strcmp(k1, "/DSS") == 0)
            return R_DSS;
        return R_OTHER;
    case R_ACROFORM:
        return strcmp(k1, "/Fields") == 0 ? R_FIELD : R_OTHER;
    case R_PAGES:
        if (strcmp(k1, "/Kids") == 0)
            return R_PAGES;
        if (strcmp(k1, "/Contents") == 0)
            return R_CONTENT;
        if (strcmp(k1, "/Annots") == 0)
            return R_ANNOT;
        return R_OTHER;
    case R_FIELD:
    case R_ANNOT:
        if (strcmp(k1, "/Kids") == 0)
            return R_FIELD;
        if (strcmp(k1, "/V") == 0)
            return R_FIELDVAL;
        if (strcmp(k1, "/AP") == 0)
            return R_APPEAR;
        if (strcmp(k1, "/Popup") == 0 || strcmp(k1, "/IRT") == 0)
            return R_ANNOT;
        return R_OTHER;
    case R_DSS:
        return R_DSS;
    default:
        return R_OTHER;
    }
}

/* Pushes every indirect object referred to inside `oh` (not below them). */
static ks_result pd_children(ks_pdf_walk *wk, qpdf_oh oh, ks_pdf_role r, const char *k1, const char *k2, int depth,
                             int new_ok)
{
    qpdf_data w = wk->w;
    ks_result res = KS_OK;
    if (depth > KS_PDF_MAX_DEPTH)
        return KS_E_LIMIT;
    if (depth > 0 && qpdf_oh_is_indirect(w, oh))
        return pd_push(wk, qpdf_oh_get_object_id(w, oh), qpdf_oh_get_generation(w, oh),
                       pd_child_role(r, k1, k2, new_ok));
    if (qpdf_oh_is_array(w, oh)) {
        int n = qpdf_oh_get_array_n_items(w, oh);
        for (int i = 0; i < n && res == KS_OK; i++) {
            qpdf_oh it = qpdf_oh_get_array_item(w, oh, i);
            res = pd_children(wk, it, r, k1, k2, depth + 1, new_ok);
            qpdf_oh_release(w, it);
        }
        return res;
    }
    if (!qpdf_oh_is_dictionary(w, oh) && !qpdf_oh_is_stream(w, oh))
        return KS_OK;
    char **keys = NULL;
    size_t nk = 0;
    if ((res = pd_keys(w, oh, &keys, &nk)) != KS_OK)
        return res;
    qpdf_oh d = qpdf_oh_is_stream(w, oh) ? qpdf_oh_get_dict(w, oh) : qpdf_oh_new_object(w, oh);
    for (size_t i = 0; i < nk && res == KS_OK; i++) {
        /* Back links: the page tree and the fields are reached from the
         * catalog, never through a child's /Parent or a widget's /P. */
        if (strcmp(keys[i], "/Parent") == 0 || strcmp(keys[i], "/P") == 0)
            continue;
        qpdf_oh v = qpdf_oh_get_key(w, d, keys[i]);
        const char *nk1 = k1 ? k1 : keys[i];
        const char *nk2 = k1 ? (k2 ? k2 : keys[i]) : NULL;
        res = pd_children(wk, v, r, nk1, nk2, depth + 1, new_ok);
        qpdf_oh_release(w, v);
    }
    qpdf_oh_release(w, d);
    pd_free_keys(keys, nk);
    return res;
}

/* The field type of a field or widget: its own /FT or its parent's. */
static int pd_field_is(qpdf_data q, qpdf_oh f, const char *ft)
{
    if (qpdf_oh_has_key(q, f, "/FT"))
        return pd_key_is_name(q, f, "/FT", ft);
    qpdf_oh p = qpdf_oh_get_key(q, f, "/Parent");
    int r = qpdf_oh_is_dictionary(q, p) && pd_key_is_name(q, p, "/FT", ft);
    qpdf_oh_release(q, p);
    return r;
}

static int pd_is_field(qpdf_data q, qpdf_oh f)
{
    if (qpdf_oh_has_key(q, f, "/FT"))
        return 1;
    qpdf_oh p = qpdf_oh_get_key(q, f, "/Parent");
    int r = qpdf_oh_is_dictionary(q, p) && qpdf_oh_has_key(q, p, "/FT");
    qpdf_oh_release(q, p);
    return r;
}

/* A signature field's value: "document_timestamp_added" for a
 * /DocTimeStamp, "signature_added" otherwise. */
static const char *pd_sig_kind(qpdf_data q, qpdf_oh f)
{
    qpdf_oh v = qpdf_oh_get_key(q, f, "/V");
    const char *k = qpdf_oh_is_dictionary(q, v) && pd_key_is_name(q, v, "/Type", "/DocTimeStamp")
                        ? "document_timestamp_added"
                        : "signature_added";
    qpdf_oh_release(q, v);
    return k;
}

/* ------------------------------------------------------------------ */
/* FieldMDP and /Lock.                                                */
/* ------------------------------------------------------------------ */

static void pd_lock_spec(qpdf_data q, qpdf_oh d, ks_pdf_locks *out, int *nomem)
{
    if (out->n >= KS_PDF_MAX_LOCKS) {
        out->spec[0].action = KS_LOCK_ALL; /* more than we read: everything locked */
        return;
    }
    int i = out->n++;
    out->spec[i].action = KS_LOCK_ALL; /* fail closed until read whole */
    out->spec[i].nfields = 0;
    qpdf_oh act = qpdf_oh_get_key(q, d, "/Action");
    qpdf_oh fields = qpdf_oh_get_key(q, d, "/Fields");
    ks_pdf_lock_action a = KS_LOCK_ALL;
    if (qpdf_oh_is_name_and_equals(q, act, "/Include"))
        a = KS_LOCK_INCLUDE;
    else if (qpdf_oh_is_name_and_equals(q, act, "/Exclude"))
        a = KS_LOCK_EXCLUDE;
    int n = qpdf_oh_is_array(q, fields) ? qpdf_oh_get_array_n_items(q, fields) : -1;
    if (a != KS_LOCK_ALL && n >= 0 && n <= KS_PDF_MAX_LOCK_FIELDS) {
        int ok = 1;
        for (int k = 0; k < n && ok; k++) {
            qpdf_oh f = qpdf_oh_get_array_item(q, fields, k);
            if (!qpdf_oh_is_string(q, f))
                ok = 0;
            else if ((out->spec[i].fields[out->spec[i].nfields] = strdup(qpdf_oh_get_utf8_value(q, f))) == NULL)
                ok = 0, *nomem = 1;
            else
                out->spec[i].nfields++;
            qpdf_oh_release(q, f);
        }
        if (ok)
            out->spec[i].action = a;
    }
    qpdf_oh_release(q, act);
    qpdf_oh_release(q, fields);
}

ks_result ks_pdf_locks_read(qpdf_data q, qpdf_oh field, qpdf_oh sig, ks_pdf_locks *out)
{
    int nomem = 0;
    memset(out, 0, sizeof *out);
    /* ISO 32000-2 12.7.5.5: the signature field's lock dictionary. */
    qpdf_oh lock = qpdf_oh_get_key(q, field, "/Lock");
    if (qpdf_oh_is_dictionary(q, lock))
        pd_lock_spec(q, lock, out, &nomem);
    else if (!qpdf_oh_is_null(q, lock))
        pd_lock_spec(q, lock, out, &nomem); /* a /Lock that is no dictionary: all locked */
    qpdf_oh_release(q, lock);
    /* ISO 32000-1 12.8.1 Table 253 /Reference: FieldMDP transforms. */
    qpdf_oh refs = qpdf_oh_get_key(q, sig, "/Reference");
    int n = qpdf_oh_is_array(q, refs) ? qpdf_oh_get_array_n_items(q, refs) : 0;
    for (int i = 0; i < n && i < 16; i++) {
        qpdf_oh ref = qpdf_oh_get_array_item(q, refs, i);
        qpdf_oh tm = qpdf_oh_get_key(q, ref, "/TransformMethod");
        if (qpdf_oh_is_name_and_equals(q, tm, "/FieldMDP")) {
            qpdf_oh tp = qpdf_oh_get_key(q, ref, "/TransformParams");
            pd_lock_spec(q, tp, out, &nomem);
            qpdf_oh_release(q, tp);
        }
        qpdf_oh_release(q, tm);
        qpdf_oh_release(q, ref);
    }
    qpdf_oh_release(q, refs);
    if (qpdf_has_error(q)) {
        qpdf_get_error(q);
        if (out->n < KS_PDF_MAX_LOCKS)
            out->spec[out->n++].action = KS_LOCK_ALL; /* unreadable: everything locked */
        else
            out->spec[0].action = KS_LOCK_ALL;
    }
    return nomem ? KS_E_NOMEM : KS_OK;
}

void ks_pdf_locks_free(ks_pdf_locks *l)
{
    for (int i = 0; l != NULL && i < l->n; i++)
        for (int k = 0; k < l->spec[i].nfields; k++)
            free(l->spec[i].fields[k]);
    if (l != NULL)
        l->n = 0;
}

int ks_pdf_locked(const ks_pdf_locks *l, const char *name)
{
    for (int i = 0; l != NULL && i < l->n; i++) {
        int listed = 0;
        for (int k = 0; k < l->spec[i].nfields && !listed; k++)
            listed = strcmp(l->spec[i].fields[k], name) == 0;
        switch (l->spec[i].action) {
        case KS_LOCK_INCLUDE:
            if (listed)
                return 1;
            break;
        case KS_LOCK_EXCLUDE:
            if (!listed)
                return 1;
            break;
        case KS_LOCK_ALL:
        default:
            return 1;
        }
    }
    return 0;
}

/* The fully qualified name of field or widget `f` (ISO 32000-1 12.7.3.2:
 * the partial names /T of it and its ancestors, joined by "."), from the
 * signed revision; 0 when it cannot be told (then judged locked). */
static int pd_field_name(qpdf_data q, qpdf_oh f, char *buf, size_t len)
{
    char tmp[512];
    int ok = 1, depth = 0;
    buf[0] = '\0';
    qpdf_oh cur = qpdf_oh_new_object(q, f);
    while (ok && qpdf_oh_is_dictionary(q, cur)) {
        if (++depth > 32) {
            ok = 0;
            break;
        }
        qpdf_oh t = qpdf_oh_get_key(q, cur, "/T");
        if (qpdf_oh_is_string(q, t)) {
            const char *part = qpdf_oh_get_utf8_value(q, t);
            int n = buf[0] ? snprintf(tmp, sizeof tmp, "%s.%s", part, buf) : snprintf(tmp, sizeof tmp, "%s", part);
            if (n < 0 || (size_t)n >= len || (size_t)n >= sizeof tmp)
                ok = 0;
            else
                memcpy(buf, tmp, (size_t)n + 1);
        }
        qpdf_oh_release(q, t);
        qpdf_oh up = qpdf_oh_get_key(q, cur, "/Parent");
        qpdf_oh_release(q, cur);
        cur = up;
    }
    qpdf_oh_release(q, cur);
    return ok && buf[0] != '\0';
}

/* 1 when a signature's FieldMDP or /Lock locks the field `old` (the
 * signed revision's object). */
static int pd_field_locked(const ks_pdf_walk *wk, qpdf_oh old)
{
    char name[256];
    if (wk->locks == NULL || wk->locks->n == 0)
        return 0;
    if (!pd_field_name(wk->s, old, name, sizeof name))
        return 1;
    return ks_pdf_locked(wk->locks, name);
}

/* A field or widget that is new (exists 0) or changed.  *new_ok: what it
 * refers to may be new as well. */
static ks_result pd_judge_field(ks_pdf_walk *wk, const ks_pdf_item *it, qpdf_oh o, qpdf_oh old, int exists,
                                int *new_ok)
{
    qpdf_data w = wk->w, s = wk->s;
    char name[96];
    char **ck = NULL;
    size_t nck = 0;
    ks_result r;
    pd_objname(it, NULL, name, sizeof name);
    if (pd_field_is(w, o, "/Sig")) {
        const char *kind = pd_sig_kind(w, o);
        int ok = strcmp(kind, "document_timestamp_added") == 0 || wk->mdp != KS_MDP_NO_CHANGES;
        if (exists) {
            static const char *const fill[] = {"/V", "/AP", "/AS", NULL};
            qpdf_oh oldv = qpdf_oh_get_key(s, old, "/V");
            int was_empty = qpdf_oh_is_null(s, oldv);
            qpdf_oh_release(s, oldv);
            if ((r = pd_changed_keys(w, o, s, old, &ck, &nck)) != KS_OK)
                return r;
            if (!was_empty || !pd_keys_within(ck, nck, fill)) {
                pd_free_keys(ck, nck);
                pd_objname(it, "(a signature field changed)", name, sizeof name);
                return pd_report(wk, "other", name, 0);
            }
            pd_free_keys(ck, nck);
            if (pd_field_locked(wk, old)) {
                pd_objname(it, "(a locked signature field)", name, sizeof name);
                ok = 0;
            }
        }
        *new_ok = ok;
        return pd_report(wk, kind, name, ok);
    }
    if (!exists) {
        pd_objname(it, "(a form field added)", name, sizeof name);
        return pd_report(wk, "other", name, 0);
    }
    static const char *const fill[] = {"/V", "/AP", "/AS", NULL};
    if ((r = pd_changed_keys(w, o, s, old, &ck, &nck)) != KS_OK)
        return r;
    int ok = pd_keys_within(ck, nck, fill);
    pd_free_keys(ck, nck);
    if (!ok) {
        pd_objname(it, "(a form field changed)", name, sizeof name);
        return pd_report(wk, "other", name, 0);
    }
    /* FieldMDP / Lock: filling in a field the signature locked. */
    int locked = pd_field_locked(wk, old);
    if (locked)
        pd_objname(it, "(a locked field)", name, sizeof name);
    *new_ok = wk->mdp != KS_MDP_NO_CHANGES && !locked;
    return pd_report(wk, "form_field_filled", name, *new_ok);
}

/* A changed catalog or AcroForm dictionary (direct or not). */
static ks_result pd_judge_acroform(ks_pdf_walk *wk, qpdf_oh a, qpdf_oh olda, const char *where)
{
    qpdf_data w = wk->w, s = wk->s;
    char **ck = NULL;
    size_t nck = 0;
    char name[96];
    ks_result r = pd_changed_keys(w, a, s, olda, &ck, &nck);
    for (size_t i = 0; i < nck && r == KS_OK; i++) {
        if (strcmp(ck[i], "/SigFlags") == 0)
            continue;
        if (strcmp(ck[i], "/Fields") == 0 && pd_array_kept(w, a, s, olda, "/Fields"))
            continue; /* fields added: judged one by one as they are reached */
        snprintf(name, sizeof name, "%s %s", where, ck[i]);
        r = pd_report(wk, "other", name, 0);
    }
    pd_free_keys(ck, nck);
    return r;
}

static ks_result pd_judge_catalog(ks_pdf_walk *wk, qpdf_oh o, qpdf_oh old)
{
    qpdf_data w = wk->w, s = wk->s;
    char **ck = NULL;
    size_t nck = 0;
    char name[96];
    ks_result r = pd_changed_keys(w, o, s, old, &ck, &nck);
    for (size_t i = 0; i < nck && r == KS_OK; i++) {
        if (strcmp(ck[i], "/DSS") == 0) {
            r = pd_report(wk, "dss_added", "catalog /DSS", 1);
            continue;
        }
        if (strcmp(ck[i], "/AcroForm") == 0) {
            qpdf_oh a = qpdf_oh_get_key(w, o, "/AcroForm"), olda = qpdf_oh_get_key(s, old, "/AcroForm");
            if (!qpdf_oh_is_indirect(w, a) && !qpdf_oh_is_indirect(s, olda) && qpdf_oh_is_dictionary(w, a) &&
                qpdf_oh_is_dictionary(s, olda))
                r = pd_judge_acroform(wk, a, olda, "catalog /AcroForm");
            else
                r = pd_report(wk, "other", "catalog /AcroForm", 0);
            qpdf_oh_release(w, a);
            qpdf_oh_release(s, olda);
            continue;
        }
        snprintf(name, sizeof name, "catalog %s", ck[i]);
        r = pd_report(wk, "other", name, 0);
    }
    pd_free_keys(ck, nck);
    return r;
}

static ks_result pd_judge_page(ks_pdf_walk *wk, const ks_pdf_item *it, qpdf_oh o, qpdf_oh old, int exists)
{
    qpdf_data w = wk->w, s = wk->s;
    char name[96];
    char **ck = NULL;
    size_t nck = 0;
    int is_page = pd_key_is_name(w, o, "/Type", "/Page");
    if (!exists) {
        pd_objname(it, is_page ? "(a page)" : "(a page tree node)", name, sizeof name);
        return pd_report(wk, "page_added", name, 0);
    }
    ks_result r = pd_changed_keys(w, o, s, old, &ck, &nck);
    for (size_t i = 0; i < nck && r == KS_OK; i++) {
        if (is_page && strcmp(ck[i], "/Annots") == 0 && pd_array_kept(w, o, s, old, "/Annots"))
            continue; /* annotations added: judged one by one */
        char what[64];
        const char *kind = "other";
        if (is_page && strcmp(ck[i], "/Contents") == 0)
            kind = "page_content_changed";
        else if (!is_page && (strcmp(ck[i], "/Kids") == 0 || strcmp(ck[i], "/Count") == 0))
            kind = "page_added";
        snprintf(what, sizeof what, "%s", ck[i]);
        pd_objname(it, what, name, sizeof name);
        r = pd_report(wk, kind, name, 0);
    }
    pd_free_keys(ck, nck);
    return r;
}

/* Judges one object that is new (exists 0) or differs from the signed
 * revision.  *new_ok: the objects it refers to may be new. */
static ks_result pd_judge(ks_pdf_walk *wk, const ks_pdf_item *it, qpdf_oh o, qpdf_oh old, int exists, int *new_ok)
{
    qpdf_data w = wk->w;
    char name[96];
    *new_ok = 0;
    if (exists && qpdf_oh_is_null(w, o)) {
        /* Freed or emptied by an update: whatever it showed is gone. */
        const char *kind = it->role == R_CONTENT ? "page_content_changed"
                           : it->role == R_CATALOG ? "catalog_replaced"
                                                   : "other";
        pd_objname(it, "(removed after signing)", name, sizeof name);
        return pd_report(wk, kind, name, 0);
    }
    if (qpdf_oh_is_array(w, o) && it->role != R_CONTENT) {
        /* An indirect /Annots, /Fields or /Kids array: entries may be added
         * (each is judged as it is reached), none removed or replaced. */
        if (exists && (it->role == R_ANNOT || it->role == R_FIELD) && qpdf_oh_is_array(wk->s, old) &&
            pd_items_kept(w, o, wk->s, old))
            return KS_OK;
        pd_objname(it, exists ? "(an array changed)" : "(defined after signing)", name, sizeof name);
        return pd_report(wk, it->role == R_PAGES ? "page_added" : "other", name, 0);
    }
    switch (it->role) {
    case R_CATALOG:
        if (!exists)
            return pd_report(wk, "catalog_replaced", "trailer /Root", 0);
        return pd_judge_catalog(wk, o, old);
    case R_ACROFORM:
        if (!exists)
            return pd_report(wk, "other", "catalog /AcroForm", 0);
        return pd_judge_acroform(wk, o, old, "AcroForm");
    case R_PAGES:
        return pd_judge_page(wk, it, o, old, exists);
    case R_CONTENT:
        *new_ok = !exists;
        pd_objname(it, NULL, name, sizeof name);
        return pd_report(wk, "page_content_changed", name, 0);
    case R_ANNOT:
        if (pd_key_is_name(w, o, "/Subtype", "/Widget") && pd_is_field(w, o))
            return pd_judge_field(wk, it, o, old, exists, new_ok);
        if (exists) {
            pd_objname(it, "(an annotation changed)", name, sizeof name);
            return pd_report(wk, "other", name, 0);
        }
        *new_ok = wk->mdp == KS_MDP_ANNOTATE;
        pd_objname(it, NULL, name, sizeof name);
        return pd_report(wk, "annotation_added", name, *new_ok);
    case R_FIELD:
        return pd_judge_field(wk, it, o, old, exists, new_ok);
    case R_DSS:
        *new_ok = 1;
        return pd_report(wk, "dss_added", "catalog /DSS", 1);
    case R_NEW_OK:
        if (!exists) {
            *new_ok = 1;
            return KS_OK;
        }
        pd_objname(it, "(changed below an added object)", name, sizeof name);
        return pd_report(wk, "other", name, 0);
    case R_FIELDVAL:
    case R_APPEAR:
    case R_OTHER:
    default:
        pd_objname(it, exists ? NULL : "(defined after signing)", name, sizeof name);
        return pd_report(wk, "other", name, 0);
    }
}

static ks_result pd_qpdf_failed(qpdf_data q)
{
    if (!qpdf_has_error(q))
        return KS_OK;
    qpdf_error e = qpdf_get_error(q); /* also clears it */
    /* The code and offset only: qpdf's text can quote the document. */
    ks_log(KS_LOG_DEBUG, "pdf: qpdf error %d at byte %llu", e ? (int)qpdf_get_error_code(q, e) : -1,
           e ? qpdf_get_error_file_position(q, e) : 0ULL);
    return KS_E_PDF;
}

static ks_result pd_step(ks_pdf_walk *wk, ks_pdf_item it)
{
    qpdf_data w = wk->w, s = wk->s;
    qpdf_oh o = qpdf_get_object_by_id(w, it.id, it.gen);
    qpdf_oh old = qpdf_get_object_by_id(s, it.id, it.gen);
    ks_result r = KS_OK;
    int new_ok = 0;
    if (qpdf_oh_is_null(w, o)) {
        /* A reference to nothing is null (ISO 32000-1 7.3.10): fine unless
         * it was something when signed. */
        if (!qpdf_oh_is_null(s, old))
            r = pd_judge(wk, &it, o, old, 1, &new_ok);
        goto done;
    }
    if (it.role == R_PAGES && !pd_key_is_name(w, o, "/Type", "/Page") && !pd_key_is_name(w, o, "/Type", "/Pages"))
        it.role = R_OTHER;
    int exists = !qpdf_oh_is_null(s, old);
    if (!exists || !pd_same(w, o, s, old)) {
        r = pd_judge(wk, &it, o, old, exists, &new_ok);
        /* What a new object brings along is part of the addition just
         * judged (and reported when refused): not reported again. */
        if (!exists)
            new_ok = 1;
    }
    if (r == KS_OK)
        r = pd_children(wk, o, it.role, NULL, NULL, 0, new_ok);
done:
    qpdf_oh_release(w, o);
    qpdf_oh_release(s, old);
    if (r == KS_OK && (r = pd_qpdf_failed(w)) == KS_OK)
        r = pd_qpdf_failed(s);
    return r;
}

ks_result ks_pdf_diff(qpdf_data whole, qpdf_data signed_rev, ks_pdf_mdp mdp, const ks_pdf_locks *locks, cJSON *mods,
                      int *disallowed)
{
    ks_pdf_walk wk = {.w = whole, .s = signed_rev, .mdp = mdp, .locks = locks, .mods = mods};
    ks_result r = KS_OK;
    *disallowed = 0;
    /* Shadow hide-and-replace: the update is a new trailer whose /Root is
     * another (possibly signed but so far unreachable) catalog. */
    qpdf_oh wt = qpdf_get_trailer(whole), st = qpdf_get_trailer(signed_rev);
    qpdf_oh wr = qpdf_oh_get_key(whole, wt, "/Root"), sr = qpdf_oh_get_key(signed_rev, st, "/Root");
    int same_root = qpdf_oh_is_indirect(whole, wr) && qpdf_oh_is_indirect(signed_rev, sr) &&
                    qpdf_oh_get_object_id(whole, wr) == qpdf_oh_get_object_id(signed_rev, sr) &&
                    qpdf_oh_get_generation(whole, wr) == qpdf_oh_get_generation(signed_rev, sr);
    int id = qpdf_oh_get_object_id(whole, wr), gen = qpdf_oh_get_generation(whole, wr);
    qpdf_oh_release(whole, wt);
    qpdf_oh_release(signed_rev, st);
    qpdf_oh_release(whole, wr);
    qpdf_oh_release(signed_rev, sr);
    if ((r = pd_qpdf_failed(whole)) != KS_OK || (r = pd_qpdf_failed(signed_rev)) != KS_OK)
        goto done;
    if (!same_root) {
        r = pd_report(&wk, "catalog_replaced", "trailer /Root", 0);
        goto done;
    }
    if ((r = pd_push(&wk, id, gen, R_CATALOG)) != KS_OK)
        goto done;
    while (wk.n > 0 && r == KS_OK) {
        ks_pdf_item it = wk.stack[--wk.n];
        r = pd_step(&wk, it);
    }
done:
    *disallowed = wk.disallowed;
    free(wk.stack);
    free(wk.seen);
    return r;
}
