/*
 * verify/xml.c - W3C XML Signature (XMLDSig 1.0, https://www.w3.org/TR/xmldsig-core/)
 * for e-Tax filings (.xtx: an enveloped signature over the whole filing) and
 * e-Gov application packages (構成管理 XML whose <構成情報 ID="構成情報"> is
 * signed together with one detached Reference per attached form, sent as
 * separate files or as the ZIP package itself).
 *
 * The cryptography is libxmlsec1's (OpenSSL backend); everything else is
 * ours and runs before it:
 *   - parsing: libxml2 from memory, no DTD at all (a DOCTYPE is refused, so
 *     no entity can be declared: no billion laughs, no external entity), no
 *     network, an external-entity loader that refuses everything,
 *     XML_PARSE_HUGE off (libxml2's depth and text-size ceilings stay);
 *   - IDs: attributes named ID, Id and id are registered as XML IDs
 *     (xmlAddID); two elements with one ID make the document unusable;
 *   - References: only URI="", a bare-name "#id" (percent-decoded before the
 *     lookup, no XPointer) or a plain file name that is looked up among the
 *     attachments the caller supplied.  xmlsec's own URI callbacks (file,
 *     http, ftp) are removed once per process and replaced by one that serves
 *     the current request's attachments only (thread-local table), so a
 *     Reference can never make us open a file or a socket;
 *   - algorithms: an allow-list (RSA and ECDSA with SHA-1/2, SHA-1/2
 *     digests, C14N 1.0/1.1 and exclusive C14N with and without comments,
 *     the enveloped-signature transform).  No XPath, XSLT, XPointer or
 *     base64 transforms, no Manifests, no KeyInfo other than X509Data
 *     (no RetrievalMethod, no KeyValue);
 *   - signature wrapping: a same-document Reference must cover the document
 *     element, or a child of it whose name occurs nowhere else in the
 *     document (e-Gov's 構成情報), or this signature's own XAdES
 *     SignedProperties.  A signed element moved elsewhere, or shadowed by an
 *     unsigned twin, is refused; every verdict lists what each Reference
 *     covered.
 *
 * The key comes from KeyInfo/X509Data with xmlsec's certificate checks off
 * (XMLSEC_KEYINFO_FLAGS_X509DATA_DONT_VERIFY_CERTS): the certificate whose
 * key verified the signature then goes through ks_check_signing_cert, the
 * same path validation, keyUsage and revocation code as CMS.  That is not
 * fail-open because no verdict passes without it.  KeyInfo is not signed:
 * when a Reference that verified covers a XAdES SignedProperties with a
 * SigningCertificate(V2), that names the signer's certificate and nothing
 * else may stand in for it (xml_xades.c; signing_certificate_bound).
 *
 * A filing may carry several Signature elements (a 税理士, a certified tax
 * accountant, signing instead of or next to the taxpayer): each is verified
 * on its own into "signers", with its own indication, and the worst one is
 * the verdict's.  Attachment names are matched in Unicode NFC after
 * percent-decoding (xml_zip.c, with the ZIP packages).
 *
 * Every Reference is checked: xmlsec stops at the first bad one, so the rest
 * are then digested one by one.  A missing attachment is served as empty
 * bytes to xmlsec and reported as SIGNED_DATA_NOT_FOUND, never as valid.
 *
 * File names and ID values appear in "references" (returned to the caller)
 * but never in "detail" or the log: a file name may carry a person's name.
 */
#include <limits.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/globals.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/valid.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlIO.h>

#include <xmlsec/crypto.h>
#include <xmlsec/errors.h>
#include <xmlsec/io.h>
#include <xmlsec/keysmngr.h>
#include <xmlsec/transforms.h>
#include <xmlsec/xmldsig.h>
#include <xmlsec/xmlsec.h>
#include <xmlsec/xmltree.h>

#include <openssl/err.h>
#include <openssl/objects.h>

#include "xml_int.h"

#define KS_XML_MAX_DEPTH 256       /* element nesting; libxml2's own default too */
#define KS_XML_MAX_REFS 256        /* References in one SignedInfo */
#define KS_XML_MAX_TRANSFORMS 8    /* Transforms of one Reference */
#define KS_XML_MAX_ATTACHMENTS 1024
#define KS_XML_MAX_FRAGMENT 256    /* bytes of a "#id" fragment */
#define KS_XML_MAX_COVERS 1024     /* bytes of a "covers" path */

/* ------------------------------------------------------------------ */
/* Algorithm allow-list.                                              */
/* ------------------------------------------------------------------ */

typedef enum { KS_XA_C14N = 1, KS_XA_ENVELOPED = 2, KS_XA_SIGNATURE = 4, KS_XA_DIGEST = 8 } ks_xml_alg_kind;

typedef struct {
    const char *uri;
    ks_xml_alg_kind kind;
    int nid; /* signature: the signature NID; digest: the digest NID */
    xmlSecTransformId (*klass)(void);
} ks_xml_alg;

static const ks_xml_alg ks_xml_algs[] = {
    {"http://www.w3.org/TR/2001/REC-xml-c14n-20010315", KS_XA_C14N, NID_undef, xmlSecTransformInclC14NGetKlass},
    {"http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments", KS_XA_C14N, NID_undef,
     xmlSecTransformInclC14NWithCommentsGetKlass},
    {"http://www.w3.org/2006/12/xml-c14n11", KS_XA_C14N, NID_undef, xmlSecTransformInclC14N11GetKlass},
    {"http://www.w3.org/2006/12/xml-c14n11#WithComments", KS_XA_C14N, NID_undef,
     xmlSecTransformInclC14N11WithCommentsGetKlass},
    {"http://www.w3.org/2001/10/xml-exc-c14n#", KS_XA_C14N, NID_undef, xmlSecTransformExclC14NGetKlass},
    {"http://www.w3.org/2001/10/xml-exc-c14n#WithComments", KS_XA_C14N, NID_undef,
     xmlSecTransformExclC14NWithCommentsGetKlass},
    {"http://www.w3.org/2000/09/xmldsig#enveloped-signature", KS_XA_ENVELOPED, NID_undef,
     xmlSecTransformEnvelopedGetKlass},
    {"http://www.w3.org/2000/09/xmldsig#rsa-sha1", KS_XA_SIGNATURE, NID_sha1WithRSAEncryption,
     xmlSecOpenSSLTransformRsaSha1GetKlass},
    {"http://www.w3.org/2001/04/xmldsig-more#rsa-sha256", KS_XA_SIGNATURE, NID_sha256WithRSAEncryption,
     xmlSecOpenSSLTransformRsaSha256GetKlass},
    {"http://www.w3.org/2001/04/xmldsig-more#rsa-sha384", KS_XA_SIGNATURE, NID_sha384WithRSAEncryption,
     xmlSecOpenSSLTransformRsaSha384GetKlass},
    {"http://www.w3.org/2001/04/xmldsig-more#rsa-sha512", KS_XA_SIGNATURE, NID_sha512WithRSAEncryption,
     xmlSecOpenSSLTransformRsaSha512GetKlass},
    {"http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha1", KS_XA_SIGNATURE, NID_ecdsa_with_SHA1,
     xmlSecOpenSSLTransformEcdsaSha1GetKlass},
    {"http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256", KS_XA_SIGNATURE, NID_ecdsa_with_SHA256,
     xmlSecOpenSSLTransformEcdsaSha256GetKlass},
    {"http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384", KS_XA_SIGNATURE, NID_ecdsa_with_SHA384,
     xmlSecOpenSSLTransformEcdsaSha384GetKlass},
    {"http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512", KS_XA_SIGNATURE, NID_ecdsa_with_SHA512,
     xmlSecOpenSSLTransformEcdsaSha512GetKlass},
    {"http://www.w3.org/2000/09/xmldsig#sha1", KS_XA_DIGEST, NID_sha1, xmlSecOpenSSLTransformSha1GetKlass},
    {"http://www.w3.org/2001/04/xmlenc#sha256", KS_XA_DIGEST, NID_sha256, xmlSecOpenSSLTransformSha256GetKlass},
    {"http://www.w3.org/2001/04/xmldsig-more#sha384", KS_XA_DIGEST, NID_sha384,
     xmlSecOpenSSLTransformSha384GetKlass},
    {"http://www.w3.org/2001/04/xmlenc#sha512", KS_XA_DIGEST, NID_sha512, xmlSecOpenSSLTransformSha512GetKlass},
};
#define KS_XML_NALGS (sizeof ks_xml_algs / sizeof ks_xml_algs[0])

/* ------------------------------------------------------------------ */
/* Small DOM helpers.                                                 */
/* ------------------------------------------------------------------ */

/* The node after n in document order inside top's subtree (top itself
 * first); descends into elements only.  *depth follows the nesting. */
static xmlNodePtr ks_xml_walk(xmlNodePtr n, xmlNodePtr top, int *depth)
{
    if (n->type == XML_ELEMENT_NODE && n->children != NULL) {
        (*depth)++;
        return n->children;
    }
    while (n != top) {
        if (n->next != NULL)
            return n->next;
        n = n->parent;
        (*depth)--;
    }
    return NULL;
}

static int ks_xml_same_name(const xmlNode *a, const xmlNode *b)
{
    if (strcmp((const char *)a->name, (const char *)b->name) != 0)
        return 0;
    if (a->ns == NULL || b->ns == NULL)
        return a->ns == b->ns;
    return a->ns->href != NULL && b->ns->href != NULL &&
           strcmp((const char *)a->ns->href, (const char *)b->ns->href) == 0;
}

static int ks_xml_is_id_attr(const xmlAttr *a)
{
    const char *n = (const char *)a->name;
    return a->ns == NULL && n != NULL && (strcmp(n, "ID") == 0 || strcmp(n, "Id") == 0 || strcmp(n, "id") == 0);
}

/* An Algorithm attribute, read the way xmlsec reads it (xmlGetProp). */
static const ks_xml_alg *ks_xml_alg_of(xmlNodePtr n, unsigned kinds)
{
    xmlChar *uri = xmlGetProp(n, BAD_CAST "Algorithm");
    const ks_xml_alg *found = NULL;
    for (size_t i = 0; uri != NULL && i < KS_XML_NALGS; i++)
        if ((ks_xml_algs[i].kind & kinds) != 0 && strcmp((const char *)uri, ks_xml_algs[i].uri) == 0)
            found = &ks_xml_algs[i];
    xmlFree(uri);
    return found;
}

int ks_xml_digest_nid(xmlNodePtr digest_method)
{
    if (!ks_xml_is(digest_method, KS_DSIG_NS, "DigestMethod"))
        return NID_undef;
    const ks_xml_alg *a = ks_xml_alg_of(digest_method, KS_XA_DIGEST);
    return a != NULL ? a->nid : NID_undef;
}

/* ------------------------------------------------------------------ */
/* Process-wide initialisation (once) and the request's URI resolver.  */
/* ------------------------------------------------------------------ */

/* One detached Reference as xmlsec will ask for it. */
typedef struct {
    const char *name;    /* percent-decoded file name */
    const uint8_t *data; /* "" when the attachment is missing */
    size_t len;
} ks_xml_io_entry;

typedef struct {
    const ks_xml_io_entry *v;
    size_t n;
} ks_xml_io_table;

typedef struct {
    const uint8_t *p;
    size_t len, off;
} ks_xml_io_handle;

/* xmlsec's URI callbacks are process-global and take no argument: the
 * request's table travels in a thread-local set around each verification. */
static _Thread_local const ks_xml_io_table *ks_xml_io_current;

static pthread_once_t ks_xml_once = PTHREAD_ONCE_INIT;
static int ks_xml_ready;
/* One keys manager for the process.  It holds no key: the signer's comes
 * from each document's KeyInfo.  xmlsec needs its X509 store to read
 * X509Data, and creating one loads the system CA bundle (about 40 ms), so
 * it is built once; during a verification it is only read (no lookups with
 * certificate verification off), hence safe to share between threads. */
static xmlSecKeysMngrPtr ks_xml_mngr;

static int ks_xml_io_match(const char *uri)
{
    (void)uri;
    return 1; /* the only callback registered: it alone decides */
}

/* xmlsec passes the URI percent-decoded once (xmlURIUnescapeString), which
 * is how ks_xml_scan_ref decoded the names in the table. */
static void *ks_xml_io_open(const char *uri)
{
    const ks_xml_io_table *t = ks_xml_io_current;
    for (size_t i = 0; t != NULL && uri != NULL && i < t->n; i++) {
        if (strcmp(t->v[i].name, uri) != 0)
            continue;
        ks_xml_io_handle *h = calloc(1, sizeof *h);
        if (h != NULL) {
            h->p = t->v[i].data;
            h->len = t->v[i].len;
        }
        return h;
    }
    return NULL;
}

static int ks_xml_io_read(void *ctx, char *buf, int len)
{
    ks_xml_io_handle *h = ctx;
    if (h == NULL || len < 0)
        return -1;
    size_t n = h->len - h->off;
    if (n > (size_t)len)
        n = (size_t)len;
    if (n > 0)
        memcpy(buf, h->p + h->off, n);
    h->off += n;
    return (int)n;
}

static int ks_xml_io_close(void *ctx)
{
    free(ctx);
    return 0;
}

/* No DTD, schema or entity is ever fetched, from disk or network. */
static xmlParserInputPtr ks_xml_no_entity(const char *url, const char *id, xmlParserCtxtPtr ctxt)
{
    (void)url;
    (void)id;
    (void)ctxt;
    return NULL;
}

/* Messages from libxml2 and xmlsec may quote the document: never logged. */
static void ks_xml_silent(void *ctx, const char *msg, ...)
{
    (void)ctx;
    (void)msg;
}

static void ks_xml_silent_structured(void *ctx, xmlErrorPtr err)
{
    (void)ctx;
    (void)err;
}

static void ks_xmlsec_silent(const char *file, int line, const char *func, const char *obj, const char *subj,
                             int reason, const char *msg)
{
    (void)file;
    (void)line;
    (void)func;
    (void)obj;
    (void)subj;
    (void)reason;
    (void)msg;
}

static void ks_xml_global_init(void)
{
    xmlInitParser();
    xmlSetExternalEntityLoader(ks_xml_no_entity);
    xmlThrDefSetGenericErrorFunc(NULL, ks_xml_silent);
    xmlThrDefSetStructuredErrorFunc(NULL, ks_xml_silent_structured);
    xmlSecErrorsSetCallback(ks_xmlsec_silent);
    if (xmlSecInit() < 0 || xmlSecCheckVersion() != 1 || xmlSecCryptoAppInit(NULL) < 0 || xmlSecCryptoInit() < 0) {
        ks_log(KS_LOG_ERR, "xml: xmlsec initialisation failed");
        return;
    }
    if ((ks_xml_mngr = xmlSecKeysMngrCreate()) == NULL || xmlSecCryptoAppDefaultKeysMngrInit(ks_xml_mngr) < 0) {
        ks_log(KS_LOG_ERR, "xml: cannot create the xmlsec keys manager");
        return;
    }
    /* Drop the default file/http/ftp resolvers xmlSecInit registered. */
    xmlSecIOCleanupCallbacks();
    if (xmlSecIORegisterCallbacks(ks_xml_io_match, ks_xml_io_open, ks_xml_io_read, ks_xml_io_close) < 0) {
        ks_log(KS_LOG_ERR, "xml: cannot register the attachment resolver");
        return;
    }
    ks_openssl_drain(__func__);
    ks_xml_ready = 1;
}

/* libxml2 keeps its error handlers per thread. */
static void ks_xml_quiet_thread(void)
{
    xmlSetGenericErrorFunc(NULL, ks_xml_silent);
    xmlSetStructuredErrorFunc(NULL, ks_xml_silent_structured);
}

/* ------------------------------------------------------------------ */
/* Sniffing, names, percent-decoding.                                 */
/* ------------------------------------------------------------------ */

ks_xml_kind ks_xml_detect(const ks_blob *in)
{
    ks_cur c;
    ks_cur_init(&c, in->data, in->len);
    if (ks_cur_starts_with(&c, "PK\x03\x04"))
        return KS_XML_ZIP;
    if (ks_cur_starts_with(&c, "\xEF\xBB\xBF")) /* UTF-8 BOM */
        ks_cur_skip(&c, 3);
    ks_cur_skip_space(&c);
    return ks_cur_starts_with(&c, "<") ? KS_XML_XML : KS_XML_NONE;
}

/* RFC 3986 2.1 percent-decoding.  NULL on a malformed escape or %00; sets
 * *oom on allocation failure. */
static char *ks_pct_decode(const char *s, int *oom)
{
    char *out = strdup(s);
    if (out == NULL) {
        *oom = 1;
        return NULL;
    }
    if (!ks_pct_decode_inplace(out)) {
        free(out);
        return NULL;
    }
    return out;
}

/* A bare-name fragment (XPointer shorthand) we are willing to look up:
 * UTF-8, no white space (XPath id() would split it into several IDs), no
 * quotes, parentheses or XPointer escapes (xmlsec turns it into
 * xpointer(id('...'))). */
static int ks_xml_fragment_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > KS_XML_MAX_FRAGMENT || !ks_utf8_valid((const uint8_t *)s, n))
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 0x20 || c == 0x7f || strchr("'\"()^#<>&\\[]/", c) != NULL)
            return 0;
    }
    return 1;
}

/* A plain file name: what a detached Reference may name, and what an
 * attachment may be called.  No directory, no "..", no scheme, no query or
 * fragment, no control characters. */
static int ks_xml_filename_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > KS_ZIP_MAX_NAME || strcmp(s, ".") == 0 || strcmp(s, "..") == 0 ||
        !ks_utf8_valid((const uint8_t *)s, n))
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f || strchr("/\\:?#", c) != NULL)
            return 0;
    }
    return 1;
}

/* ------------------------------------------------------------------ */
/* Parsing.                                                           */
/* ------------------------------------------------------------------ */

/* SAX hook: a DOCTYPE (internal subset or not) stops the parse. */
static void ks_xml_refuse_dtd(void *ctx, const xmlChar *name, const xmlChar *ext, const xmlChar *sys)
{
    xmlParserCtxtPtr p = ctx;
    (void)name;
    (void)ext;
    (void)sys;
    if (p->_private != NULL)
        *(int *)p->_private = 1;
    xmlStopParser(p);
}

static ks_result ks_xml_parse(const ks_blob *in, xmlDocPtr *out)
{
    int saw_dtd = 0;
    xmlDocPtr doc = NULL;
    *out = NULL;
    if (in->len > INT_MAX)
        return KS_E_TOO_LARGE;
    xmlParserCtxtPtr p = xmlNewParserCtxt();
    if (p == NULL || p->sax == NULL) {
        xmlFreeParserCtxt(p);
        return KS_E_NOMEM;
    }
    p->sax->internalSubset = ks_xml_refuse_dtd;
    p->_private = &saw_dtd;
    /* Not XML_PARSE_NOENT, DTDLOAD, DTDATTR, XINCLUDE or HUGE; blanks kept
     * (they are signed). */
    doc = xmlCtxtReadMemory(p, (const char *)in->data, (int)in->len, NULL, NULL,
                            XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    int ok = doc != NULL && p->wellFormed && !saw_dtd && doc->intSubset == NULL && doc->extSubset == NULL &&
             xmlDocGetRootElement(doc) != NULL;
    xmlFreeParserCtxt(p);
    if (!ok) {
        xmlFreeDoc(doc);
        return KS_E_XML;
    }
    *out = doc;
    return KS_OK;
}

/*
 * Registers every ID/Id/id attribute as an XML ID (XMLDSig 4.3.3.3: a
 * bare-name reference needs the application to say which attributes are
 * IDs; e-Gov uses ID, e-Tax id, XAdES Id).  *dup is set when two elements
 * share one ID: a reference to it would be ambiguous.
 */
static ks_result ks_xml_register_ids(xmlDocPtr doc, int *dup)
{
    xmlNodePtr root = xmlDocGetRootElement(doc);
    int depth = 0;
    *dup = 0;
    for (xmlNodePtr n = root; n != NULL; n = ks_xml_walk(n, root, &depth)) {
        if (depth > KS_XML_MAX_DEPTH)
            return KS_E_LIMIT;
        if (n->type != XML_ELEMENT_NODE)
            continue;
        for (xmlAttrPtr a = n->properties; a != NULL; a = a->next) {
            if (!ks_xml_is_id_attr(a))
                continue;
            xmlChar *v = xmlNodeListGetString(doc, a->children, 1);
            if (v == NULL)
                continue; /* empty: cannot be referenced */
            xmlAttrPtr prev = xmlGetID(doc, v);
            if (prev == NULL) {
                if (xmlAddID(NULL, doc, v, a) == NULL)
                    *dup = 1;
            } else if (prev != a) {
                *dup = 1;
            }
            xmlFree(v);
        }
    }
    return KS_OK;
}

/* ------------------------------------------------------------------ */
/* One Signature element.                                             */
/* ------------------------------------------------------------------ */

typedef enum { KS_REF_WHOLE, KS_REF_ID, KS_REF_DETACHED } ks_xml_ref_type;
typedef enum { KS_RS_UNCHECKED, KS_RS_VALID, KS_RS_INVALID, KS_RS_MISSING, KS_RS_REFUSED } ks_xml_ref_state;

typedef struct {
    xmlNodePtr node;   /* the Reference element */
    xmlChar *uri;      /* as written */
    ks_xml_ref_type type;
    char *name;        /* detached: the percent-decoded file name, as xmlsec asks for it */
    char *nfc;         /* detached: name in NFC, what attachments are matched by */
    long att;          /* detached: index of the attachment, -1 missing */
    xmlNodePtr target; /* same-document: the element covered */
    int has_transforms;
    int last_c14n;     /* the last Transform is a canonicalization: the result is octets */
    int md_nid;
    ks_xml_ref_state state;
    /* Hash-only (xml_digest.c): a digest names this detached Reference. */
    int by_digest;
    long dig;          /* the supplied digest of md_nid, -1 none */
    int dig_match;     /* it equals the signed DigestValue */
    ks_xml_dv_swap sw; /* the DigestValue, set aside while xmlsec digests */
} ks_xml_ref;

/* What one request works on. */
typedef struct {
    ks_ctx *ctx;
    xmlDocPtr doc;
    const ks_blob *atts;
    size_t n_atts;
    char **att_nfc;           /* per attachment: its name in NFC, NULL when it has none */
    unsigned char *att_named; /* per attachment: some Reference names it */
    const ks_digest *digs;    /* hash-only: digests standing in for attachments */
    size_t n_digs;
    char **dig_nfc;           /* per digest: its name in NFC */
    unsigned char *dig_named; /* per digest: some Reference names it */
    int dup_ids;
} ks_xml_req;

static void ks_xml_refs_free(ks_xml_ref *refs, size_t n)
{
    for (size_t i = 0; refs != NULL && i < n; i++) {
        ks_xml_dv_swap_off(&refs[i].sw);
        xmlFree(refs[i].uri);
        free(refs[i].name);
        free(refs[i].nfc);
    }
    free(refs);
}

static int ks_xml_is_ancestor(const xmlNode *anc, const xmlNode *n)
{
    for (; n != NULL; n = n->parent)
        if (n == anc)
            return 1;
    return 0;
}

/* Elements of the document with el's qualified name. */
static long ks_xml_count_name(xmlDocPtr doc, const xmlNode *el)
{
    xmlNodePtr root = xmlDocGetRootElement(doc);
    int depth = 0;
    long count = 0;
    for (xmlNodePtr n = root; n != NULL; n = ks_xml_walk(n, root, &depth))
        if (n->type == XML_ELEMENT_NODE && ks_xml_same_name(n, el))
            count++;
    return count;
}

/*
 * Anti-wrapping (the signed element must be the one the application
 * reads): the document element (e-Tax DATA), a child of it whose name is
 * unique in the whole document (e-Gov 構成情報), or this signature's own
 * XAdES SignedProperties.
 */
static int ks_xml_placement_ok(xmlDocPtr doc, xmlNodePtr sig, xmlNodePtr t)
{
    xmlNodePtr root = xmlDocGetRootElement(doc);
    if (t == root)
        return 1;
    if (t->parent == root)
        return ks_xml_count_name(doc, t) == 1;
    return ks_xml_is_xades(t, "SignedProperties") && ks_xml_is_ancestor(sig, t);
}

static void ks_xml_append(char *buf, size_t len, size_t *off, const char *s)
{
    int k = snprintf(buf + *off, len - *off, "%s", s);
    if (k > 0)
        *off = *off + (size_t)k < len ? *off + (size_t)k : len - 1;
}

/* "/構成/構成情報[@ID='構成情報']": where the covered element sits. */
static void ks_xml_path(xmlNodePtr el, char *buf, size_t len)
{
    xmlNodePtr chain[KS_XML_MAX_DEPTH + 2];
    size_t n = 0, off = 0;
    buf[0] = '\0';
    for (xmlNodePtr p = el; p != NULL && p->type == XML_ELEMENT_NODE && n < sizeof chain / sizeof chain[0];
         p = p->parent)
        chain[n++] = p;
    while (n > 0) {
        ks_xml_append(buf, len, &off, "/");
        ks_xml_append(buf, len, &off, (const char *)chain[--n]->name);
    }
    for (xmlAttrPtr a = el->properties; a != NULL; a = a->next) {
        if (!ks_xml_is_id_attr(a) || a->atype != XML_ATTRIBUTE_ID)
            continue;
        xmlChar *v = xmlNodeListGetString(el->doc, a->children, 1);
        ks_xml_append(buf, len, &off, "[@");
        ks_xml_append(buf, len, &off, (const char *)a->name);
        ks_xml_append(buf, len, &off, "='");
        ks_xml_append(buf, len, &off, v != NULL ? (const char *)v : "");
        ks_xml_append(buf, len, &off, "']");
        xmlFree(v);
        break;
    }
}

__attribute__((format(printf, 4, 5))) static void ks_status_fmt(ks_status *st, ks_indication ind,
                                                                ks_subindication sub, const char *fmt, ...)
{
    char d[sizeof st->detail];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d, sizeof d, fmt, ap);
    va_end(ap);
    ks_status_set(st, ind, sub, d);
}

/*
 * Reads one Reference (XMLDSig 4.3.3) and resolves what it points at.
 * Returns 1 when it can be handed to xmlsec (a missing attachment included:
 * it is served empty and reported), 0 when refused (*st says why), -1 on
 * allocation failure.  Nothing here opens anything.
 */
static int ks_xml_scan_ref(ks_xml_req *rq, xmlNodePtr sig, size_t idx, ks_xml_ref *ref, ks_status *st)
{
    size_t no = idx + 1;
    int oom = 0;
    xmlNodePtr n = ks_xml_first_el(ref->node->children);
    ref->att = -1;
    ref->dig = -1;
    ref->state = KS_RS_REFUSED;
    ref->uri = xmlGetProp(ref->node, BAD_CAST "URI"); /* as xmlsec reads it */
    if (ks_xml_is(n, KS_DSIG_NS, "Transforms")) {
        int count = 0;
        for (xmlNodePtr t = ks_xml_first_el(n->children); t != NULL; t = ks_xml_next_el(t)) {
            const ks_xml_alg *ta = NULL;
            if (!ks_xml_is(t, KS_DSIG_NS, "Transform") || ++count > KS_XML_MAX_TRANSFORMS ||
                (ta = ks_xml_alg_of(t, KS_XA_C14N | KS_XA_ENVELOPED)) == NULL) {
                ks_status_fmt(st, KS_INDETERMINATE, KS_SUB_FORMAT_FAILURE,
                              "Reference %zu uses a transform that is not supported (only canonicalization and "
                              "enveloped-signature are)",
                              no);
                return 0;
            }
            ref->last_c14n = ta->kind == KS_XA_C14N;
        }
        ref->has_transforms = count > 0;
        n = ks_xml_next_el(n);
    }
    const ks_xml_alg *dm = ks_xml_is(n, KS_DSIG_NS, "DigestMethod") ? ks_xml_alg_of(n, KS_XA_DIGEST) : NULL;
    if (dm == NULL) {
        ks_status_fmt(st, KS_INDETERMINATE, KS_SUB_FORMAT_FAILURE,
                      "Reference %zu has no DigestMethod or an unsupported one", no);
        return 0;
    }
    ref->md_nid = dm->nid;
    if (ref->uri == NULL) { /* "the application knows": not a relying party's case */
        ks_status_fmt(st, KS_INDETERMINATE, KS_SUB_FORMAT_FAILURE, "Reference %zu has no URI", no);
        return 0;
    }
    const char *uri = (const char *)ref->uri;
    if (uri[0] == '\0') {
        /* XMLDSig 4.3.3.3: the whole document (comments removed). */
        ref->type = KS_REF_WHOLE;
        ref->target = xmlDocGetRootElement(rq->doc);
    } else if (uri[0] == '#') {
        ref->type = KS_REF_ID;
        if (!ks_xml_fragment_ok(uri + 1)) {
            ks_status_fmt(st, KS_INDETERMINATE, KS_SUB_FORMAT_FAILURE,
                          "Reference %zu is not a bare-name fragment (XPointer is not supported)", no);
            return 0;
        }
        char *dec = ks_pct_decode(uri + 1, &oom);
        if (dec == NULL || !ks_xml_fragment_ok(dec)) {
            free(dec);
            if (oom)
                return -1;
            ks_status_fmt(st, KS_INDETERMINATE, KS_SUB_FORMAT_FAILURE, "Reference %zu has a malformed fragment",
                          no);
            return 0;
        }
        xmlAttrPtr a = xmlGetID(rq->doc, BAD_CAST dec);
        if (a == NULL || a->type != XML_ATTRIBUTE_NODE || a->parent == NULL) {
            free(dec);
            ref->state = KS_RS_MISSING;
            ks_status_fmt(st, KS_INDETERMINATE, KS_SUB_SIGNED_DATA_NOT_FOUND,
                          "Reference %zu names an ID that no element of the document has", no);
            return 0;
        }
        if (strcmp(dec, uri + 1) != 0) {
            /* xmlsec looks the fragment up as written: let the escaped
             * spelling name the same attribute, unless it names another. */
            xmlAttrPtr b = xmlGetID(rq->doc, ref->uri + 1);
            if ((b != NULL && b != a) || (b == NULL && xmlAddID(NULL, rq->doc, ref->uri + 1, a) == NULL)) {
                free(dec);
                ks_status_fmt(st, KS_INDETERMINATE, KS_SUB_FORMAT_FAILURE,
                              "Reference %zu: its escaped and unescaped fragments name different elements", no);
                return 0;
            }
        }
        free(dec);
        ref->target = a->parent;
        if (!ks_xml_placement_ok(rq->doc, sig, ref->target)) {
            ks_status_fmt(st, KS_INDETERMINATE, KS_SUB_FORMAT_FAILURE,
                          "Reference %zu covers an element that is not where the document is read from, or "
                          "that has an unsigned twin (signature wrapping)",
                          no);
            return 0;
        }
    } else {
        ref->type = KS_REF_DETACHED;
        /* Raw form first: '#', '?', '/' or ':' mean a fragment, a query, a
         * path or a scheme, all refused before any decoding. */
        if (!ks_xml_filename_ok(uri) || (ref->name = ks_pct_decode(uri, &oom)) == NULL ||
            !ks_xml_filename_ok(ref->name)) {
            if (oom)
                return -1;
            ks_status_fmt(st, KS_INDETERMINATE, KS_SUB_FORMAT_FAILURE,
                          "Reference %zu is neither same-document nor a plain file name (paths, '..' and "
                          "schemes are refused)",
                          no);
            return 0;
        }
        /* Names are compared in NFC: the ZIP tool or file system that
         * carried the attachment may have decomposed it (xml_zip.c). */
        int k = ks_xml_nfc(ref->name, &ref->nfc);
        if (k < 0)
            return -1;
        for (size_t i = 0; k > 0 && i < rq->n_atts; i++)
            if (rq->att_nfc[i] != NULL && strcmp(rq->att_nfc[i], ref->nfc) == 0)
                ref->att = (long)i;
        if (ref->att >= 0) {
            rq->att_named[ref->att] = 1;
            /* xmlsec parses an attachment it canonicalizes with entities
             * and DTD attributes on: refuse the DTD before it gets there. */
            const ks_blob *b = &rq->atts[ref->att];
            ks_cur c;
            ks_cur_init(&c, b->data, b->len);
            if (ref->has_transforms && (ks_cur_find(&c, (const uint8_t *)"<!DOCTYPE", 9) >= 0 ||
                                        ks_cur_find(&c, (const uint8_t *)"<!ENTITY", 8) >= 0)) {
                ks_status_fmt(st, KS_INDETERMINATE, KS_SUB_FORMAT_FAILURE,
                              "Reference %zu: the attachment declares a DTD, which is refused", no);
                return 0;
            }
        }
        /* Hash-only: digests of that name stand in for the attachment
         * (never both: ks_verify_xml refused that), the one of the
         * Reference's own DigestMethod is compared (xml_digest.c). */
        for (size_t i = 0; k > 0 && ref->att < 0 && i < rq->n_digs; i++) {
            if (strcmp(rq->dig_nfc[i], ref->nfc) != 0)
                continue;
            rq->dig_named[i] = 1;
            ref->by_digest = 1;
            if (ks_digest_alg_nid(rq->digs[i].algorithm, NULL) == ref->md_nid)
                ref->dig = (long)i;
        }
        if (ref->by_digest && ref->has_transforms) {
            ks_status_fmt(st, KS_INDETERMINATE, KS_SUB_SIGNED_DATA_NOT_FOUND,
                          "Reference %zu transforms the attachment before digesting it: a digest of the file "
                          "cannot stand in for it, the content is needed",
                          no);
            return 0;
        }
        if (ref->dig >= 0)
            ref->dig_match = ks_xml_digest_matches(ref->node, &rq->digs[ref->dig]);
    }
    ref->state = KS_RS_UNCHECKED;
    return 1;
}

static cJSON *ks_xml_ref_json(const ks_xml_ref *ref)
{
    static const char *const problems[] = {
        [KS_RS_UNCHECKED] = "not checked",     [KS_RS_VALID] = NULL,
        [KS_RS_INVALID] = "digest mismatch",   [KS_RS_MISSING] = "signed data not found",
        [KS_RS_REFUSED] = "refused",
    };
    char covers[KS_XML_MAX_COVERS];
    cJSON *o = cJSON_CreateObject();
    if (o == NULL)
        return NULL;
    covers[0] = '\0';
    if (ref->type == KS_REF_DETACHED && ref->name != NULL)
        snprintf(covers, sizeof covers, "%s", ref->name);
    else if (ref->type != KS_REF_DETACHED && ref->target != NULL)
        ks_xml_path(ref->target, covers, sizeof covers);
    int ok = (ref->uri != NULL ? cJSON_AddStringToObject(o, "uri", (const char *)ref->uri)
                               : cJSON_AddNullToObject(o, "uri")) != NULL &&
             cJSON_AddStringToObject(o, "type", ref->type == KS_REF_DETACHED ? "detached" : "same-document") !=
                 NULL &&
             (covers[0] ? cJSON_AddStringToObject(o, "covers", covers) : cJSON_AddNullToObject(o, "covers")) !=
                 NULL &&
             (ref->md_nid != NID_undef ? cJSON_AddStringToObject(o, "digest_algorithm", OBJ_nid2ln(ref->md_nid))
                                       : cJSON_AddNullToObject(o, "digest_algorithm")) != NULL &&
             cJSON_AddBoolToObject(o, "valid", ref->state == KS_RS_VALID) != NULL &&
             (!ref->by_digest || cJSON_AddStringToObject(o, "content_checked", "digest") != NULL) &&
             (problems[ref->state] == NULL || cJSON_AddStringToObject(o, "problem", problems[ref->state]) != NULL);
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

/* A XAdES SigningTime (ETSI EN 319 132-1 5.2.1) counts only when its
 * SignedProperties was covered by a Reference that verified. */
static int ks_xml_signing_time(const ks_xml_ref *refs, size_t n, time_t *out)
{
    for (size_t i = 0; i < n; i++) {
        if (refs[i].type != KS_REF_ID || refs[i].state != KS_RS_VALID ||
            !ks_xml_is_xades(refs[i].target, "SignedProperties"))
            continue;
        for (xmlNodePtr p = ks_xml_first_el(refs[i].target->children); p != NULL; p = ks_xml_next_el(p)) {
            if (!ks_xml_is_xades(p, "SignedSignatureProperties"))
                continue;
            for (xmlNodePtr t = ks_xml_first_el(p->children); t != NULL; t = ks_xml_next_el(t)) {
                if (!ks_xml_is_xades(t, "SigningTime"))
                    continue;
                xmlChar *s = xmlNodeGetContent(t);
                int ok = s != NULL && ks_time_parse((const char *)s, out) == KS_OK;
                xmlFree(s);
                return ok;
            }
        }
    }
    return 0;
}

/* A Reference that verified covers exactly n. */
static int ks_xml_covered(const ks_xml_ref *refs, size_t nrefs, const xmlNode *n)
{
    for (size_t i = 0; i < nrefs; i++)
        if (refs[i].type == KS_REF_ID && refs[i].target == n && refs[i].state == KS_RS_VALID)
            return 1;
    return 0;
}

/*
 * Data a Signature carries in its own Object elements is outside what an
 * enveloped Reference covers.  XAdES QualifyingProperties are expected
 * there when their SignedProperties have their own Reference (the
 * UnsignedProperties are unsigned by design); anything else that no
 * Reference names, a SignedProperties included, must not be read as
 * signed: say so.
 */
static int ks_xml_unsigned_object(xmlNodePtr sig, const ks_xml_ref *refs, size_t n)
{
    for (xmlNodePtr o = ks_xml_first_el(sig->children); o != NULL; o = ks_xml_next_el(o)) {
        if (!ks_xml_is(o, KS_DSIG_NS, "Object") || ks_xml_covered(refs, n, o))
            continue;
        for (xmlNodePtr c = ks_xml_first_el(o->children); c != NULL; c = ks_xml_next_el(c)) {
            int named = ks_xml_covered(refs, n, c);
            if (!named && ks_xml_is_xades(c, "QualifyingProperties")) {
                named = 1;
                for (xmlNodePtr p = ks_xml_first_el(c->children); p != NULL; p = ks_xml_next_el(p))
                    if (ks_xml_is_xades(p, "SignedProperties") && !ks_xml_covered(refs, n, p))
                        named = 0;
            }
            if (!named)
                return 1;
        }
    }
    return 0;
}

/* The certificate whose key xmlsec used, and every certificate and CRL
 * KeyInfo carried (the "embedded" ones, for path building and revocation
 * only, exactly as CMS-embedded ones). */
static ks_result ks_xml_signer_certs(xmlSecDSigCtxPtr dsig, X509 **signer, STACK_OF(X509) **embedded,
                                     STACK_OF(X509_CRL) **crls)
{
    *signer = NULL;
    *embedded = NULL;
    *crls = NULL;
    xmlSecKeyDataPtr xd = dsig->signKey != NULL ? xmlSecKeyGetData(dsig->signKey, xmlSecOpenSSLKeyDataX509Id) : NULL;
    if (xd == NULL)
        return KS_OK;
    if ((*embedded = sk_X509_new_null()) == NULL || (*crls = sk_X509_CRL_new_null()) == NULL)
        return KS_E_NOMEM;
    xmlSecSize ncrl = xmlSecOpenSSLKeyDataX509GetCrlsSize(xd);
    for (xmlSecSize i = 0; i < ncrl; i++) {
        X509_CRL *c = xmlSecOpenSSLKeyDataX509GetCrl(xd, i);
        if (c == NULL)
            continue;
        if (X509_CRL_up_ref(c) != 1 || !sk_X509_CRL_push(*crls, c)) {
            X509_CRL_free(c);
            return KS_E_NOMEM;
        }
    }
    xmlSecSize n = xmlSecOpenSSLKeyDataX509GetCertsSize(xd);
    for (xmlSecSize i = 0; i < n; i++) {
        X509 *c = xmlSecOpenSSLKeyDataX509GetCert(xd, i);
        if (c == NULL)
            continue;
        if (X509_up_ref(c) != 1 || !sk_X509_push(*embedded, c)) {
            X509_free(c);
            return KS_E_NOMEM;
        }
    }
    X509 *kc = xmlSecOpenSSLKeyDataX509GetKeyCert(xd);
    if (kc != NULL && X509_up_ref(kc) == 1)
        *signer = kc;
    return KS_OK;
}

static int ks_xml_enable(xmlSecDSigCtxPtr dsig)
{
    for (size_t i = 0; i < KS_XML_NALGS; i++) {
        const ks_xml_alg *a = &ks_xml_algs[i];
        if ((a->kind & (KS_XA_C14N | KS_XA_SIGNATURE)) != 0 &&
            xmlSecDSigCtxEnableSignatureTransform(dsig, a->klass()) < 0)
            return 0;
        if ((a->kind & (KS_XA_C14N | KS_XA_ENVELOPED | KS_XA_DIGEST)) != 0 &&
            xmlSecDSigCtxEnableReferenceTransform(dsig, a->klass()) < 0)
            return 0;
    }
    dsig->flags |= XMLSEC_DSIG_FLAGS_IGNORE_MANIFESTS;
    /* xmlsec calls a plain file name "remote"; ks_xml_scan_ref has refused
     * every URI that is not "", "#id" or a file name, and the resolver
     * serves supplied attachments only. */
    dsig->enabledReferenceUris =
        xmlSecTransformUriTypeEmpty | xmlSecTransformUriTypeSameDocument | xmlSecTransformUriTypeRemote;
    dsig->keyInfoReadCtx.flags |= XMLSEC_KEYINFO_FLAGS_X509DATA_DONT_VERIFY_CERTS;
    /* X509Data only: no KeyValue (a bare key), RetrievalMethod (a fetch),
     * KeyName or EncryptedKey. */
    return xmlSecPtrListAdd(&dsig->keyInfoReadCtx.enabledKeyData, (xmlSecPtr)xmlSecOpenSSLKeyDataX509Id) >= 0;
}

/* The References whose DigestValue a hash-only digest stands in for. */
typedef struct {
    ks_xml_ref *refs;
    size_t n;
} ks_xml_swaps;

static void ks_xml_swaps_off(const ks_xml_swaps *sw)
{
    for (size_t i = 0; i < sw->n; i++)
        ks_xml_dv_swap_off(&sw->refs[i].sw);
}

/* xmlsec runs this right before it canonicalizes SignedInfo for the
 * SignatureValue, after every Reference was digested: SignedInfo is
 * signed as it came (xml_digest.c). */
static int ks_xml_swaps_restore(xmlSecTransformCtxPtr t)
{
    if (t->userData != NULL)
        ks_xml_swaps_off(t->userData);
    return 0;
}

/*
 * Runs xmlsec over one Signature and sets every Reference's state.
 * Returns xmlsec's result (< 0: could not be processed) and leaves the
 * context for the caller to read the key from.
 */
static int ks_xml_run(xmlSecDSigCtxPtr dsig, xmlNodePtr sig, ks_xml_ref *refs, size_t nrefs,
                      const ks_xml_io_table *io)
{
    ks_xml_swaps sw = {.refs = refs, .n = nrefs};
    ks_xml_io_current = io;
    dsig->transformCtx.userData = &sw;
    dsig->transformCtx.preExecCallback = ks_xml_swaps_restore;
    int rc = xmlSecDSigCtxVerify(dsig, sig);
    ks_xml_swaps_off(&sw); /* when xmlsec stopped before SignedInfo */
    dsig->transformCtx.userData = NULL;
    dsig->transformCtx.preExecCallback = NULL;
    xmlSecSize k = xmlSecPtrListGetSize(&dsig->signedInfoReferences);
    for (xmlSecSize i = 0; i < k && i < nrefs; i++) {
        xmlSecDSigReferenceCtxPtr rc_i = xmlSecPtrListGetItem(&dsig->signedInfoReferences, i);
        if (rc_i != NULL && rc_i->status == xmlSecDSigStatusSucceeded)
            refs[i].state = KS_RS_VALID;
        else if (rc_i != NULL && rc_i->status == xmlSecDSigStatusInvalid)
            refs[i].state = KS_RS_INVALID;
    }
    /* xmlsec stops at the first bad Reference (its status is then
     * "invalid" without an error): digest the others one by one so the
     * verdict says which of them still match. */
    if (rc == 0 && dsig->status == xmlSecDSigStatusInvalid) {
        for (size_t i = k; i < nrefs; i++) {
            if (refs[i].by_digest)
                continue; /* the digest decides, below */
            xmlSecDSigReferenceCtxPtr r = xmlSecDSigReferenceCtxCreate(dsig, xmlSecDSigReferenceOriginSignedInfo);
            if (r == NULL)
                break;
            if (xmlSecDSigReferenceCtxProcessNode(r, refs[i].node) == 0)
                refs[i].state = r->status == xmlSecDSigStatusSucceeded ? KS_RS_VALID
                                : r->status == xmlSecDSigStatusInvalid ? KS_RS_INVALID
                                                                       : KS_RS_UNCHECKED;
            xmlSecDSigReferenceCtxDestroy(r);
        }
    }
    ks_xml_io_current = NULL;
    /* A missing attachment was served as nothing: never "valid".  One
     * checked by digest is what the digest says: missing without one of
     * the Reference's algorithm, invalid when it differs, and valid only
     * when xmlsec also said so. */
    for (size_t i = 0; i < nrefs; i++) {
        if (refs[i].type != KS_REF_DETACHED || refs[i].att >= 0)
            continue;
        if (refs[i].dig < 0)
            refs[i].state = KS_RS_MISSING;
        else if (!refs[i].dig_match)
            refs[i].state = KS_RS_INVALID;
        else if (i >= k && rc == 0 && dsig->status == xmlSecDSigStatusInvalid)
            refs[i].state = KS_RS_VALID; /* after xmlsec's stop: the digest alone */
    }
    return rc;
}

/* ETSI EN 319 102-1 5.2.7 / 5.2.8 from what xmlsec and the scan found. */
static void ks_xml_crypto_status(const ks_xml_ref *refs, size_t nrefs, int rc, const xmlSecDSigCtx *dsig,
                                 ks_status *st)
{
    size_t invalid = 0, missing = 0, valid = 0;
    size_t first_invalid = 0, first_missing = 0;
    for (size_t i = 0; i < nrefs; i++) {
        switch (refs[i].state) {
        case KS_RS_VALID:
            valid++;
            break;
        case KS_RS_INVALID:
            if (invalid++ == 0)
                first_invalid = i + 1;
            break;
        case KS_RS_MISSING:
            if (missing++ == 0)
                first_missing = i + 1;
            break;
        default:
            break;
        }
    }
    if (invalid > 0) {
        char d[sizeof st->detail];
        snprintf(d, sizeof d, "%zu Reference(s) do not match the signed digest, the first is Reference %zu",
                 invalid, first_invalid);
        ks_status_set(st, KS_TOTAL_FAILED, KS_SUB_HASH_FAILURE, d);
    } else if (missing > 0) {
        char d[sizeof st->detail];
        snprintf(d, sizeof d,
                 "%zu Reference(s) name an attachment that was not supplied (nor its digest with the Reference's "
                 "digest algorithm), the first is Reference %zu",
                 missing, first_missing);
        ks_status_set(st, KS_INDETERMINATE, KS_SUB_SIGNED_DATA_NOT_FOUND, d);
    } else if (rc < 0 && dsig->signKey == NULL) {
        ks_status_set(st, KS_INDETERMINATE, KS_SUB_NO_SIGNING_CERTIFICATE_FOUND,
                      "no certificate in KeyInfo/X509Data carries a key for the signature method");
    } else if (rc < 0) {
        ks_status_set(st, KS_INDETERMINATE, KS_SUB_FORMAT_FAILURE, "the signature could not be processed");
    } else if (dsig->status == xmlSecDSigStatusSucceeded && valid == nrefs) {
        ks_status_set(st, KS_TOTAL_PASSED, KS_SUB_NONE, NULL);
    } else if (dsig->status == xmlSecDSigStatusInvalid && valid == nrefs) {
        ks_status_set(st, KS_TOTAL_FAILED, KS_SUB_SIG_CRYPTO_FAILURE,
                      "the signature value does not verify with the signer's key");
    } else {
        ks_status_set(st, KS_INDETERMINATE, KS_SUB_FORMAT_FAILURE, "the signature could not be processed");
    }
}

/* X509Data children of KeyInfo named `what` (X509Certificate, X509CRL). */
static int ks_xml_count_x509(xmlNodePtr keyinfo, const char *what)
{
    int n = 0;
    for (xmlNodePtr d = keyinfo ? ks_xml_first_el(keyinfo->children) : NULL; d != NULL; d = ks_xml_next_el(d)) {
        if (!ks_xml_is(d, KS_DSIG_NS, "X509Data"))
            continue;
        for (xmlNodePtr c = ks_xml_first_el(d->children); c != NULL; c = ks_xml_next_el(c))
            if (ks_xml_is(c, KS_DSIG_NS, what) && n < INT_MAX)
                n++;
    }
    return n;
}

/* One Signature element, from its shape to its report.  Everything here
 * is freed by ks_xml_sig_clear. */
typedef struct {
    xmlNodePtr sig;
    xmlNodePtr ki;            /* KeyInfo or NULL */
    xmlNodePtr smn;           /* SignatureMethod */
    const ks_xml_alg *sm;     /* its algorithm, once known */
    ks_xml_ref *refs;
    size_t nrefs;
    ks_xml_io_entry *io;      /* the detached References, as xmlsec asks for them */
    size_t nio;
    int scanned;              /* every Reference was read: the report lists them */
    xmlSecDSigCtxPtr dsig;
    X509 *signer;
    STACK_OF(X509) *embedded; /* KeyInfo's certificates and CRLs */
    STACK_OF(X509_CRL) *crls;
    ks_xades_ocsps ocsps;     /* XAdES OCSPValues */
    int bound;                /* a signed XAdES SigningCertificate names the signer */
    int stop;                 /* *st is this signature's verdict: go to the report */
} ks_xml_sig;

static void ks_xml_sig_clear(ks_xml_sig *s)
{
    ks_xml_io_current = NULL;
    if (s->dsig != NULL)
        xmlSecDSigCtxDestroy(s->dsig);
    X509_free(s->signer);
    sk_X509_pop_free(s->embedded, X509_free);
    sk_X509_CRL_pop_free(s->crls, X509_CRL_free);
    ks_xades_ocsps_free(&s->ocsps);
    ks_xml_refs_free(s->refs, s->nrefs);
    free(s->io);
}

/* XMLDSig 4.1: SignedInfo (CanonicalizationMethod, SignatureMethod,
 * Reference+), SignatureValue, KeyInfo?, Object*; the two algorithms of
 * SignedInfo on the allow-list; the References collected. */
static ks_result ks_xml_shape(ks_xml_sig *s, ks_status *st)
{
    ks_result r = KS_OK;
    size_t n = 0, i = 0;
    xmlNodePtr si = ks_xml_first_el(s->sig->children);
    xmlNodePtr sv = ks_xml_next_el(si);
    xmlNodePtr ki = ks_xml_next_el(sv);
    xmlNodePtr cm = si != NULL ? ks_xml_first_el(si->children) : NULL;

    s->stop = 1;
    s->ki = ks_xml_is(ki, KS_DSIG_NS, "KeyInfo") ? ki : NULL;
    s->smn = ks_xml_next_el(cm);
    if (!ks_xml_is(si, KS_DSIG_NS, "SignedInfo") || !ks_xml_is(sv, KS_DSIG_NS, "SignatureValue") ||
        !ks_xml_is(cm, KS_DSIG_NS, "CanonicalizationMethod") || !ks_xml_is(s->smn, KS_DSIG_NS, "SignatureMethod")) {
        ks_status_set(st, KS_INDETERMINATE, KS_SUB_FORMAT_FAILURE, "the Signature element is malformed");
        goto done;
    }
    if (ks_xml_alg_of(cm, KS_XA_C14N) == NULL) {
        ks_status_set(st, KS_INDETERMINATE, KS_SUB_FORMAT_FAILURE, "unsupported canonicalization method");
        goto done;
    }
    if ((s->sm = ks_xml_alg_of(s->smn, KS_XA_SIGNATURE)) == NULL) {
        ks_status_set(st, KS_INDETERMINATE, KS_SUB_FORMAT_FAILURE, "unsupported signature method");
        goto done;
    }
    for (xmlNodePtr p = ks_xml_next_el(s->smn); p != NULL; p = ks_xml_next_el(p)) {
        if (!ks_xml_is(p, KS_DSIG_NS, "Reference")) {
            ks_status_set(st, KS_INDETERMINATE, KS_SUB_FORMAT_FAILURE, "unexpected element in SignedInfo");
            goto done;
        }
        if (++n > KS_XML_MAX_REFS) {
            r = KS_E_LIMIT;
            goto done;
        }
    }
    if (n == 0) {
        ks_status_set(st, KS_INDETERMINATE, KS_SUB_FORMAT_FAILURE, "SignedInfo has no Reference");
        goto done;
    }
    if ((s->refs = calloc(n, sizeof *s->refs)) == NULL || (s->io = calloc(n, sizeof *s->io)) == NULL) {
        r = KS_E_NOMEM;
        goto done;
    }
    s->nrefs = n;
    for (xmlNodePtr p = ks_xml_next_el(s->smn); p != NULL; p = ks_xml_next_el(p))
        s->refs[i++].node = p;
    s->stop = 0;
done:
    return r;
}

/* Every Reference read and resolved (the verdict lists them all; the first
 * refusal is the one reported), then KeyInfo within the ceilings. */
static ks_result ks_xml_references(ks_xml_req *rq, ks_xml_sig *s, ks_status *st)
{
    ks_result r = KS_E_NOMEM;
    int refused = 0;
    ks_status first = *st;

    s->stop = 1;
    for (size_t i = 0; i < s->nrefs; i++) {
        ks_status rs = *st;
        ks_xml_ref *ref = &s->refs[i];
        int k = ks_xml_scan_ref(rq, s->sig, i, ref, &rs);
        if (k < 0)
            goto done;
        if (k == 0 && !refused++)
            first = rs;
        if (k == 1 && ref->type == KS_REF_DETACHED) {
            const ks_blob *b = ref->att >= 0 ? &rq->atts[ref->att] : NULL;
            s->io[s->nio++] = (ks_xml_io_entry){.name = ref->name,
                                                .data = b != NULL ? b->data : (const uint8_t *)"",
                                                .len = b != NULL ? b->len : 0};
        }
    }
    s->scanned = 1;
    r = KS_OK;
    if (rq->dup_ids) {
        ks_status_set(st, KS_INDETERMINATE, KS_SUB_FORMAT_FAILURE,
                      "two elements of the document share one ID: what a Reference covers would be ambiguous");
        goto done;
    }
    if (refused) {
        *st = first;
        goto done;
    }
    int ncerts = ks_xml_count_x509(s->ki, "X509Certificate");
    if (ncerts > rq->ctx->limits.max_certs || ks_xml_count_x509(s->ki, "X509CRL") > rq->ctx->limits.max_crls) {
        r = KS_E_LIMIT;
        goto done;
    }
    if (ncerts == 0) {
        ks_status_set(st, KS_INDETERMINATE, KS_SUB_NO_SIGNING_CERTIFICATE_FOUND,
                      "KeyInfo carries no X509Data certificate");
        goto done;
    }
    s->stop = 0;
done:
    return r;
}

/*
 * Cryptographic verification (XMLDSig 3.2), then the signing certificate:
 * the one whose key verified, unless a signed XAdES SigningCertificate
 * names another (xml_xades.c).  The signer goes into sobj either way.
 */
static ks_result ks_xml_crypto(ks_xml_req *rq, ks_xml_sig *s, cJSON *sobj, ks_status *st)
{
    ks_result r = KS_E_INTERNAL;
    xmlNodePtr props[KS_XML_MAX_REFS];
    size_t nprops = 0;

    s->stop = 1;
    if ((s->dsig = xmlSecDSigCtxCreate(ks_xml_mngr)) == NULL || !ks_xml_enable(s->dsig)) {
        ks_log(KS_LOG_ERR, "xml: cannot set up an xmlsec context");
        goto done;
    }
    ks_xml_io_table table = {.v = s->io, .n = s->nio};
    for (size_t i = 0; i < s->nrefs; i++) {
        ks_xml_ref *ref = &s->refs[i];
        if (ref->dig_match && (r = ks_xml_dv_swap_on(ref->node, ref->md_nid, &ref->sw)) != KS_OK)
            goto done; /* ks_xml_sig_clear puts back any swapped before */
    }
    /* XAdES-A: an archive timestamp covers what each Reference digested
     * (EN 319 132-1 5.5.2.2), so xmlsec keeps it; only then (it is a copy
     * of every attachment). */
    if (ks_xades_has_archive(s->sig))
        s->dsig->flags |= XMLSEC_DSIG_FLAGS_STORE_SIGNEDINFO_REFERENCES;
    int rc = ks_xml_run(s->dsig, s->sig, s->refs, s->nrefs, &table);
    if ((r = ks_xml_signer_certs(s->dsig, &s->signer, &s->embedded, &s->crls)) != KS_OK)
        goto done;
    ks_xml_crypto_status(s->refs, s->nrefs, rc, s->dsig, st);
    /* A SignedProperties binds only when a Reference that verified covers
     * it (ks_xml_placement_ok: inside this Signature). */
    for (size_t i = 0; i < s->nrefs; i++)
        if (s->refs[i].type == KS_REF_ID && s->refs[i].state == KS_RS_VALID &&
            ks_xml_is_xades(s->refs[i].target, "SignedProperties"))
            props[nprops++] = s->refs[i].target;
    if (st->indication == KS_TOTAL_PASSED &&
        (r = ks_xades_bind(rq->ctx, props, nprops, &s->signer, s->embedded, &s->bound, st)) != KS_OK)
        goto done;
    r = KS_E_NOMEM;
    if (s->signer != NULL) {
        ks_path_input pin = {.embedded = s->embedded, .crls = s->crls};
        cJSON *so = ks_vcache_signer_json(rq->ctx, s->signer, ks_path_source(rq->ctx, &pin, s->signer));
        if (!ks_json_set(sobj, "signer", so)) /* consumes so */
            goto done;
    } else if (st->indication == KS_TOTAL_PASSED) { /* belt and braces */
        ks_status_set(st, KS_INDETERMINATE, KS_SUB_NO_SIGNING_CERTIFICATE_FOUND,
                      "the key that verified is not bound to a certificate");
    }
    s->stop = st->indication != KS_TOTAL_PASSED;
    r = KS_OK;
done:
    return r;
}

/* Algorithm constraints: the signature's digest and every Reference's. */
static void ks_xml_algorithms(const ks_ctx *ctx, ks_xml_sig *s, ks_status *st)
{
    int sig_md = NID_undef, pk = NID_undef, bad_md = NID_undef;
    if (OBJ_find_sigid_algs(s->sm->nid, &sig_md, &pk) != 1 || !ks_alg_digest_ok(ctx, sig_md))
        bad_md = sig_md;
    for (size_t i = 0; bad_md == NID_undef && i < s->nrefs; i++)
        if (!ks_alg_digest_ok(ctx, s->refs[i].md_nid))
            bad_md = s->refs[i].md_nid;
    if (bad_md != NID_undef) {
        char d[128];
        snprintf(d, sizeof d, "signature uses the %s digest", OBJ_nid2sn(bad_md));
        ks_status_set(st, KS_INDETERMINATE, KS_SUB_CRYPTO_CONSTRAINTS_FAILURE, d);
        s->stop = 1;
    }
}

/* What each Reference digested, for an archive timestamp (xml_int.h
 * ks_xades_refdata): xmlsec's pre-digest buffers, when it kept them.  A
 * detached Reference whose content was not sent (hash-only: its digest
 * stood in) was digested over nothing, so there is nothing to re-hash.
 * *rd->v is malloc'd; KS_E_NOMEM. */
static ks_result ks_xml_refdata(const ks_xml_sig *s, ks_xades_refdata *rd)
{
    ks_blob *v = NULL;
    rd->missing = "the References' data was not kept";
    if ((s->dsig->flags & XMLSEC_DSIG_FLAGS_STORE_SIGNEDINFO_REFERENCES) == 0 ||
        xmlSecPtrListGetSize(&s->dsig->signedInfoReferences) != s->nrefs)
        return KS_OK;
    if ((v = calloc(s->nrefs, sizeof *v)) == NULL)
        return KS_E_NOMEM;
    for (size_t i = 0; i < s->nrefs; i++) {
        xmlSecDSigReferenceCtxPtr rc = xmlSecPtrListGetItem(&s->dsig->signedInfoReferences, (xmlSecSize)i);
        xmlSecBufferPtr b = rc != NULL ? xmlSecDSigReferenceCtxGetPreDigestBuffer(rc) : NULL;
        if (s->refs[i].type == KS_REF_DETACHED && s->refs[i].att < 0) {
            rd->missing = "a Reference's content was not sent (only its digest): the archive timestamp cannot be "
                          "checked";
            free(v);
            return KS_OK;
        }
        if (b == NULL || s->refs[i].state != KS_RS_VALID) {
            free(v);
            return KS_OK;
        }
        v[i] = (ks_blob){.name = NULL, .data = xmlSecBufferGetData(b), .len = xmlSecBufferGetSize(b)};
        /* A node set (a same-document Reference without a final
         * canonicalization, or after enveloped-signature) became octets
         * through inclusive C14N 1.0 (XMLDSig 4.3.3.2). */
        if (s->refs[i].has_transforms ? !s->refs[i].last_c14n : s->refs[i].type != KS_REF_DETACHED)
            rd->nodeset = 1;
    }
    rd->v = v;
    rd->n = s->nrefs;
    rd->missing = NULL;
    return KS_OK;
}

/* The signer's certificate: unsigned data flagged, the signed XAdES
 * SigningTime as the claimed time, then path, keyUsage and revocation. */
static ks_result ks_xml_signer(ks_xml_req *rq, ks_xml_sig *s, time_t at, cJSON *sobj, ks_status *st)
{
    ks_result r = KS_E_NOMEM;
    char buf[64];
    time_t signing;
    ks_xades_refdata rd = {.v = NULL, .n = 0, .missing = NULL};

    if (ks_xml_unsigned_object(s->sig, s->refs, s->nrefs) &&
        !ks_verdict_warn(sobj, "UNSIGNED_OBJECT",
                         "The signature carries data (an Object element) that it does not sign; do not read it as "
                         "signed.",
                         "署名は、署名の対象外のデータ（Object 要素）を含んでいます。署名されたものとして扱わないでくだ"
                         "さい。"))
        goto done;
    int has_signing = ks_xml_signing_time(s->refs, s->nrefs, &signing);
    if (has_signing) {
        ks_time_format(signing, buf, sizeof buf);
        if (!ks_json_set(sobj, "signing_time", cJSON_CreateString(buf)))
            goto done;
    }
    /* XAdES-T and -X-L (xml_xades.c): timestamps as proof of existence,
     * validation data as path candidates and revocation evidence. */
    ks_poe poe;
    if ((r = ks_xml_refdata(s, &rd)) != KS_OK || (r = ks_poe_init(&poe, sobj)) != KS_OK ||
        (poe.env.vt = at) == 0 || /* the TSA paths' revocation: for the validation time */
        (r = ks_xades_unsigned(rq->ctx, s->sig, &rd, at, &poe, &s->embedded, &s->crls, &s->ocsps, sobj)) != KS_OK ||
        (r = ks_poe_report(&poe, sobj)) != KS_OK)
        goto done;
    ks_path_input pin = {.embedded = s->embedded, .crls = s->crls, .ocsps = s->ocsps.v, .n_ocsps = s->ocsps.n};
    r = ks_check_signing_cert_poe(rq->ctx, s->signer, &pin, at, has_signing ? &signing : NULL,
                                  poe.has ? &poe.time : NULL, sobj, st);
done:
    free((void *)rd.v);
    return r;
}

/* What the signer object says besides the status: algorithms, the
 * binding, and every Reference with what it covered. */
static ks_result ks_xml_report(const ks_xml_sig *s, cJSON *sobj)
{
    ks_result r = KS_E_NOMEM;
    if (s->sm != NULL && !ks_json_set(sobj, "signature_algorithm", cJSON_CreateString(OBJ_nid2ln(s->sm->nid))))
        goto done;
    if (s->refs != NULL && s->refs[0].md_nid != NID_undef &&
        !ks_json_set(sobj, "digest_algorithm", cJSON_CreateString(OBJ_nid2ln(s->refs[0].md_nid))))
        goto done;
    if (cJSON_AddBoolToObject(sobj, "signing_certificate_bound", s->bound) == NULL)
        goto done;
    cJSON *jrefs = cJSON_AddArrayToObject(sobj, "references");
    if (jrefs == NULL)
        goto done;
    for (size_t i = 0; s->scanned && i < s->nrefs; i++) {
        cJSON *o = ks_xml_ref_json(&s->refs[i]);
        if (o == NULL || !cJSON_AddItemToArray(jrefs, o)) {
            cJSON_Delete(o);
            goto done;
        }
    }
    r = KS_OK;
done:
    return r;
}

/*
 * Verifies one Signature element into sobj/st.  Order (ETSI EN 319 102-1
 * 5.3): format and references, cryptographic verification and signing
 * certificate identification, algorithm constraints, X.509 validation and
 * revocation.  The status starts failed; a step that decides it stops the
 * rest, and the report is written whatever happened.
 */
static ks_result ks_xml_verify_one(ks_xml_req *rq, xmlNodePtr sig, time_t at, cJSON *sobj, ks_status *st)
{
    ks_xml_sig s = {.sig = sig};
    ks_result r;

    ks_status_set(st, KS_INDETERMINATE, KS_SUB_FORMAT_FAILURE, "not checked");
    if ((r = ks_xml_shape(&s, st)) == KS_OK && !s.stop && (r = ks_xml_references(rq, &s, st)) == KS_OK &&
        !s.stop && (r = ks_xml_crypto(rq, &s, sobj, st)) == KS_OK && !s.stop) {
        ks_xml_algorithms(rq->ctx, &s, st);
        if (!s.stop)
            r = ks_xml_signer(rq, &s, at, sobj, st);
    }
    if (r == KS_OK)
        r = ks_xml_report(&s, sobj);
    ks_xml_sig_clear(&s);
    ks_openssl_drain(__func__);
    return r;
}

/* Every ds:Signature of the document, in document order. */
static ks_result ks_xml_find_signatures(const ks_ctx *ctx, xmlDocPtr doc, xmlNodePtr **out, size_t *n)
{
    xmlNodePtr root = xmlDocGetRootElement(doc);
    size_t cap = (size_t)ctx->limits.max_signers;
    int depth = 0;
    *n = 0;
    if ((*out = calloc(cap, sizeof **out)) == NULL)
        return KS_E_NOMEM;
    for (xmlNodePtr p = root; p != NULL; p = ks_xml_walk(p, root, &depth)) {
        if (!ks_xml_is(p, KS_DSIG_NS, "Signature"))
            continue;
        if (*n == cap)
            return KS_E_LIMIT;
        (*out)[(*n)++] = p;
    }
    return *n == 0 ? KS_E_NOT_SIGNATURE : KS_OK;
}

/* The signer's JSON skeleton, in the order CMS verdicts use. */
static cJSON *ks_xml_signer_obj(void)
{
    cJSON *o = cJSON_CreateObject();
    if (o == NULL || cJSON_AddNullToObject(o, "digest_algorithm") == NULL ||
        cJSON_AddNullToObject(o, "signature_algorithm") == NULL || cJSON_AddNullToObject(o, "signing_time") == NULL ||
        cJSON_AddNullToObject(o, "signer") == NULL || cJSON_AddArrayToObject(o, "timestamps") == NULL ||
        cJSON_AddNullToObject(o, "poe") == NULL || cJSON_AddNullToObject(o, "best_signature_time") == NULL) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

/* ZIP: the one XML file carrying an XMLDSig Signature is the signed one;
 * the others are its attachments, named relative to its directory. */
static ks_result ks_xml_from_zip(const ks_zip_entry *e, size_t n, ks_blob *xml, ks_blob **atts, size_t *natts)
{
    static const char ns[] = KS_DSIG_NS;
    size_t sel = n, found = 0;
    *atts = NULL;
    *natts = 0;
    for (size_t i = 0; i < n; i++) {
        ks_blob b = {.name = e[i].name, .data = e[i].data, .len = e[i].len};
        ks_cur c;
        ks_cur_init(&c, b.data, b.len);
        if (ks_xml_detect(&b) == KS_XML_XML && ks_cur_find(&c, (const uint8_t *)ns, sizeof ns - 1) >= 0) {
            sel = i;
            found++;
        }
    }
    if (found == 0)
        return KS_E_NOT_SIGNATURE;
    if (found > 1)
        return KS_E_ZIP; /* which one does the application read? */
    const char *slash = strrchr(e[sel].name, '/');
    size_t dirlen = slash != NULL ? (size_t)(slash - e[sel].name) + 1 : 0;
    *xml = (ks_blob){.name = e[sel].name + dirlen, .data = e[sel].data, .len = e[sel].len};
    if (n > 1 && (*atts = calloc(n - 1, sizeof **atts)) == NULL)
        return KS_E_NOMEM;
    for (size_t i = 0; i < n; i++) {
        if (i == sel)
            continue;
        const char *name = e[i].name;
        if (dirlen > 0 && strncmp(name, e[sel].name, dirlen) == 0)
            name += dirlen; /* a name with a '/' left can never be referenced */
        (*atts)[(*natts)++] = (ks_blob){.name = name, .data = e[i].data, .len = e[i].len};
    }
    return KS_OK;
}

ks_result ks_verify_xml(ks_ctx *ctx, const ks_request *req, cJSON **verdict)
{
    ks_result r;
    ks_zip_entry *ents = NULL;
    size_t nents = 0;
    ks_blob xml = req->signature, *zatts = NULL;
    ks_xml_req rq = {
        .ctx = ctx, .atts = req->contents, .n_atts = req->n_contents, .digs = req->digests, .n_digs = req->n_digests};
    xmlNodePtr *sigs = NULL;
    size_t nsigs = 0;
    cJSON *v = NULL;
    time_t at = req->has_at ? req->at : ks_ctx_now(ctx);
    const char *zip_signed = NULL;

    *verdict = NULL;
    if (pthread_once(&ks_xml_once, ks_xml_global_init) != 0 || !ks_xml_ready)
        return KS_E_INTERNAL;
    ks_xml_quiet_thread();
    if (req->signature.len > ctx->limits.max_input_bytes)
        return KS_E_TOO_LARGE;
    if (ks_xml_detect(&req->signature) == KS_XML_ZIP) {
        if (req->n_contents > 0)
            return KS_E_CONTENT_CONFLICT; /* the package carries its attachments */
        if ((r = ks_zip_load(ctx, &req->signature, &ents, &nents)) != KS_OK)
            goto done;
        if ((r = ks_xml_from_zip(ents, nents, &xml, &zatts, &rq.n_atts)) != KS_OK)
            goto done;
        rq.atts = zatts;
        zip_signed = xml.name;
    }
    r = KS_E_LIMIT;
    if (rq.n_atts > KS_XML_MAX_ATTACHMENTS)
        goto done;
    r = KS_E_BAD_REQUEST;
    if (ks_digests_named(req) != req->n_digests)
        goto done; /* an unnamed digest: which attachment does it stand in for? */
    r = KS_E_NOMEM;
    if ((rq.att_named = calloc(rq.n_atts + 1, 1)) == NULL ||
        (rq.att_nfc = calloc(rq.n_atts + 1, sizeof *rq.att_nfc)) == NULL ||
        (rq.dig_named = calloc(rq.n_digs + 1, 1)) == NULL ||
        (rq.dig_nfc = calloc(rq.n_digs + 1, sizeof *rq.dig_nfc)) == NULL)
        goto done;
    for (size_t i = 0; i < rq.n_atts; i++)
        if (rq.atts[i].name != NULL && ks_xml_nfc(rq.atts[i].name, &rq.att_nfc[i]) < 0)
            goto done;
    /* Digest names are matched as attachment names are: in NFC.  A name
     * that is not UTF-8 can name no Reference; a name twice for one
     * algorithm is ambiguous. */
    for (size_t i = 0; i < rq.n_digs; i++) {
        int k = ks_xml_nfc(rq.digs[i].name, &rq.dig_nfc[i]);
        r = k < 0 ? KS_E_NOMEM : KS_E_BAD_REQUEST;
        if (k <= 0)
            goto done;
        for (size_t j = 0; j < i; j++)
            if (strcmp(rq.dig_nfc[i], rq.dig_nfc[j]) == 0 && strcmp(rq.digs[i].algorithm, rq.digs[j].algorithm) == 0)
                goto done;
    }
    /* One content, from one place: a file sent both as an attachment (or a
     * ZIP entry) and as a digest is refused, never one of them picked. */
    r = KS_E_CONTENT_CONFLICT;
    for (size_t i = 0; i < rq.n_digs; i++)
        for (size_t j = 0; j < rq.n_atts; j++)
            if (rq.att_nfc[j] != NULL && strcmp(rq.dig_nfc[i], rq.att_nfc[j]) == 0)
                goto done;
    /* Two attachments of one name, or of two names equal in NFC: which one
     * was signed?  Refused, never one of them picked. */
    r = KS_E_CONTENT_CONFLICT;
    for (size_t i = 0; i < rq.n_atts; i++) {
        const char *a = rq.att_nfc[i] != NULL ? rq.att_nfc[i] : rq.atts[i].name;
        for (size_t j = i + 1; a != NULL && j < rq.n_atts; j++) {
            const char *b = rq.att_nfc[j] != NULL ? rq.att_nfc[j] : rq.atts[j].name;
            if (b != NULL && strcmp(a, b) == 0)
                goto done;
        }
    }
    if ((r = ks_xml_parse(&xml, &rq.doc)) != KS_OK || (r = ks_xml_register_ids(rq.doc, &rq.dup_ids)) != KS_OK ||
        (r = ks_xml_find_signatures(ctx, rq.doc, &sigs, &nsigs)) != KS_OK)
        goto done;

    r = KS_E_NOMEM;
    v = cJSON_CreateObject();
    if (v == NULL || !ks_verdict_common(ctx, v, "xmldsig", at) ||
        (rq.n_digs > 0 && cJSON_AddStringToObject(v, "content_checked", "digest") == NULL))
        goto done;
    cJSON *signers = cJSON_AddArrayToObject(v, "signers");
    if (signers == NULL)
        goto done;
    ks_status worst;
    ks_status_set(&worst, KS_TOTAL_PASSED, KS_SUB_NONE, NULL);
    for (size_t i = 0; i < nsigs; i++) {
        ks_status st;
        cJSON *sobj = ks_xml_signer_obj();
        if (sobj == NULL || !cJSON_AddItemToArray(signers, sobj)) {
            cJSON_Delete(sobj);
            r = KS_E_NOMEM;
            goto done;
        }
        if ((r = ks_xml_verify_one(&rq, sigs[i], at, sobj, &st)) != KS_OK)
            goto done;
        r = KS_E_NOMEM;
        if (!ks_verdict_status(sobj, &st))
            goto done;
        if (i == 0 || ks_indication_worse(st.indication, worst.indication))
            worst = st;
    }
    if ((r = ks_summarise(v, signers, &worst)) != KS_OK)
        goto done;
    r = KS_E_NOMEM;
    /* Files that came with the signature (or their digests) but that no
     * Reference names are not signed, whatever the verdict says. */
    cJSON *unsigned_atts = cJSON_AddArrayToObject(v, "unsigned_attachments");
    if (unsigned_atts == NULL)
        goto done;
    for (size_t i = 0; i < rq.n_atts; i++) {
        if (rq.att_named[i])
            continue;
        cJSON *s = cJSON_CreateString(rq.atts[i].name != NULL ? rq.atts[i].name : "");
        if (s == NULL || !cJSON_AddItemToArray(unsigned_atts, s)) {
            cJSON_Delete(s);
            goto done;
        }
    }
    for (size_t i = 0; i < rq.n_digs; i++) {
        /* One entry per name, however many algorithms came for it. */
        int seen = rq.dig_named[i];
        for (size_t j = 0; !seen && j < i; j++)
            seen = strcmp(rq.dig_nfc[i], rq.dig_nfc[j]) == 0;
        if (seen)
            continue;
        cJSON *s = cJSON_CreateString(rq.digs[i].name);
        if (s == NULL || !cJSON_AddItemToArray(unsigned_atts, s)) {
            cJSON_Delete(s);
            goto done;
        }
    }
    if (cJSON_GetArraySize(unsigned_atts) > 0 &&
        !ks_verdict_warn(v, "ATTACHMENT_NOT_SIGNED",
                         "Some supplied files are not covered by the signature; do not treat them as signed.",
                         "署名の対象になっていないファイルがあります。署名されたものとして扱わないでください。"))
        goto done;
    if (zip_signed != NULL) {
        cJSON *pkg = cJSON_AddObjectToObject(v, "package");
        if (pkg == NULL || cJSON_AddStringToObject(pkg, "type", "zip") == NULL ||
            cJSON_AddStringToObject(pkg, "signed_file", zip_signed) == NULL ||
            cJSON_AddNumberToObject(pkg, "files", (double)nents) == NULL)
            goto done;
    }
    *verdict = v;
    v = NULL;
    r = KS_OK;
done:
    cJSON_Delete(v);
    free(sigs);
    xmlFreeDoc(rq.doc);
    free(rq.att_named);
    for (size_t i = 0; rq.att_nfc != NULL && i < rq.n_atts; i++)
        free(rq.att_nfc[i]);
    free(rq.att_nfc);
    free(rq.dig_named);
    for (size_t i = 0; rq.dig_nfc != NULL && i < rq.n_digs; i++)
        free(rq.dig_nfc[i]);
    free(rq.dig_nfc);
    free(zatts);
    ks_zip_free(ents, nents);
    ks_openssl_drain(__func__);
    return r;
}
