/*
 * verify/verdict.c - the verdict vocabulary (ETSI EN 319 102-1 5.1.3) and
 * its plain-language explanations in English and Japanese.
 *
 * The wording speaks to a resident: what happened and what to do.  A bad
 * signature value never blames the user (defective cards once produced one
 * in 256 bad signatures).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static const struct {
    const char *name;
    const char *en;
    const char *ja;
} ks_sub_table[] = {
    [KS_SUB_NONE] = {NULL,
                     "The signature is valid: the document has not been changed since it was signed, and the "
                     "signer's certificate is valid and not revoked.",
                     "署名は有効です。署名後に文書は改変されておらず、署名者の電子証明書は有効で、失効していません。"},
    [KS_SUB_FORMAT_FAILURE] = {"FORMAT_FAILURE", "The signature is malformed and cannot be checked.",
                               "署名の形式に誤りがあり、検証できません。"},
    [KS_SUB_HASH_FAILURE] = {"HASH_FAILURE", "The document was changed after it was signed.",
                             "署名された後に文書が改変されています。"},
    [KS_SUB_SIG_CRYPTO_FAILURE] = {"SIG_CRYPTO_FAILURE",
                                   "The signature value does not match the signer's certificate. The file may have "
                                   "been damaged; ask the sender to sign it again.",
                                   "署名値が署名者の電子証明書と一致しません。ファイルが破損している可能性があります。"
                                   "送信者に再度署名するよう依頼してください。"},
    [KS_SUB_REVOKED] = {"REVOKED",
                        "The signer's certificate has been revoked. The signer must have a new certificate issued.",
                        "署名者の電子証明書は失効しています。署名者は電子証明書の再発行を受ける必要があります。"},
    [KS_SUB_REVOKED_NO_POE] = {"REVOKED_NO_POE",
                               "The signer's certificate has been revoked, and there is no proof that the signature "
                               "was made before the revocation.",
                               "署名者の電子証明書は失効しており、失効より前に署名されたことを証明できません。"},
    [KS_SUB_SIG_CONSTRAINTS_FAILURE] = {"SIG_CONSTRAINTS_FAILURE",
                                        "The signer's certificate may not be used to make signatures.",
                                        "署名者の証明書は、署名に使用できない種類の証明書です。"},
    [KS_SUB_CHAIN_CONSTRAINTS_FAILURE] = {"CHAIN_CONSTRAINTS_FAILURE",
                                          "The chain of certification authorities does not meet its constraints.",
                                          "認証局の証明書の連鎖が制約を満たしていません。"},
    [KS_SUB_CRYPTO_CONSTRAINTS_FAILURE] = {"CRYPTO_CONSTRAINTS_FAILURE",
                                           "The signature or a certificate uses an algorithm or key size that is no "
                                           "longer accepted (such as SHA-1 or 1024-bit RSA).",
                                           "署名または証明書に、現在は認められていない暗号方式または鍵長（SHA-1、"
                                           "1024ビットRSAなど）が使われています。"},
    [KS_SUB_EXPIRED] = {"EXPIRED",
                        "The signer's certificate had expired. The holder can renew it at the municipal office.",
                        "署名者の電子証明書は有効期限が切れています。市区町村の窓口で更新できます。"},
    [KS_SUB_NOT_YET_VALID] = {"NOT_YET_VALID", "The signer's certificate was not yet valid.",
                              "署名者の電子証明書はまだ有効期間が始まっていません。"},
    [KS_SUB_OUT_OF_BOUNDS_NO_POE] = {"OUT_OF_BOUNDS_NO_POE",
                                     "The signer's certificate has expired, and there is no proof that the signature "
                                     "was made while it was valid. The holder can renew it at the municipal office "
                                     "and sign again.",
                                     "署名者の電子証明書は有効期限が切れており、有効期間内に署名されたことを証明できま"
                                     "せん。市区町村の窓口で更新し、再度署名してください。"},
    [KS_SUB_NO_SIGNING_CERTIFICATE_FOUND] = {"NO_SIGNING_CERTIFICATE_FOUND",
                                             "The signer's certificate is not included in the signature.",
                                             "署名に署名者の電子証明書が含まれていません。"},
    [KS_SUB_NO_CERTIFICATE_CHAIN_FOUND] = {"NO_CERTIFICATE_CHAIN_FOUND",
                                           "The signer's certificate does not lead to a trusted certification "
                                           "authority.",
                                           "署名者の電子証明書を、信頼できる認証局までたどることができません。"},
    [KS_SUB_TRY_LATER] = {"TRY_LATER",
                          "The revocation status of the certificate could not be obtained. Please try again later.",
                          "電子証明書の失効状況を確認できませんでした。しばらくしてから再度お試しください。"},
    [KS_SUB_SIGNED_DATA_NOT_FOUND] = {"SIGNED_DATA_NOT_FOUND",
                                      "The signed content is missing. For a detached signature, supply the signed "
                                      "file as well.",
                                      "署名の対象となるデータがありません。分離署名の場合は、署名されたファイルも指定し"
                                      "てください。"},
    [KS_SUB_POLICY_PROCESSING_ERROR] = {"POLICY_PROCESSING_ERROR",
                                       "The certificate was not issued under an accepted certificate policy.",
                                       "電子証明書が、受け入れ可能な証明書ポリシーの下で発行されていません。"},
};

const char *ks_indication_name(ks_indication i)
{
    switch (i) {
    case KS_TOTAL_PASSED:
        return "TOTAL_PASSED";
    case KS_INDETERMINATE:
        return "INDETERMINATE";
    case KS_TOTAL_FAILED:
    default:
        return "TOTAL_FAILED";
    }
}

const char *ks_subindication_name(ks_subindication s)
{
    return (int)s >= 0 && s < KS_SUB_COUNT ? ks_sub_table[s].name : "FORMAT_FAILURE";
}

int ks_indication_exit_code(ks_indication i)
{
    switch (i) {
    case KS_TOTAL_PASSED:
        return 0;
    case KS_INDETERMINATE:
        return 2;
    case KS_TOTAL_FAILED:
    default:
        return 1;
    }
}

ks_indication ks_verdict_indication(const cJSON *verdict)
{
    const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(verdict, "indication"));
    if (s != NULL && strcmp(s, "TOTAL_PASSED") == 0)
        return KS_TOTAL_PASSED;
    if (s != NULL && strcmp(s, "INDETERMINATE") == 0)
        return KS_INDETERMINATE;
    return KS_TOTAL_FAILED;
}

int ks_indication_worse(ks_indication a, ks_indication b)
{
    return (int)a > (int)b; /* enum order: PASSED < INDETERMINATE < FAILED */
}

/* Sets obj[key] to val, in place when the key is there (cJSON's own
 * ReplaceItemInObject puts an item with no name in when copying the name
 * fails), added at the end otherwise.  val is consumed either way; 0 when
 * out of memory. */
int ks_json_set(cJSON *obj, const char *key, cJSON *val)
{
    if (val == NULL)
        return 0;
    cJSON *old = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (old == NULL) {
        if (cJSON_AddItemToObject(obj, key, val))
            return 1;
        cJSON_Delete(val);
        return 0;
    }
    size_t n = strlen(key) + 1;
    char *name = cJSON_malloc(n);
    if (name == NULL) {
        cJSON_Delete(val);
        return 0;
    }
    memcpy(name, key, n);
    if (!(val->type & cJSON_StringIsConst))
        cJSON_free(val->string);
    val->string = name;
    val->type &= ~cJSON_StringIsConst;
    return cJSON_ReplaceItemViaPointer(obj, old, val); /* frees old */
}

static cJSON *ks_text(const char *code, const char *en, const char *ja)
{
    cJSON *t = cJSON_CreateObject();
    if (t == NULL || (code && cJSON_AddStringToObject(t, "code", code) == NULL) ||
        cJSON_AddStringToObject(t, "en", en) == NULL || cJSON_AddStringToObject(t, "ja", ja) == NULL) {
        cJSON_Delete(t);
        return NULL;
    }
    return t;
}

/* The reason for a valid verdict, by what was checked: [certificate][revocation confirmed]. */
static const struct {
    const char *en;
    const char *ja;
} ks_valid_table[2][2] = {
    {{"The signature is valid: the document has not been changed since it was signed, and the signer's "
      "certificate is valid. Whether the certificate has been revoked was not confirmed.",
      "署名は有効です。署名後に文書は改変されておらず、署名者の電子証明書は有効です。ただし、電子証明書が失効して"
      "いないことは確認していません。"},
     {NULL, NULL}}, /* ks_sub_table[KS_SUB_NONE] */
    {{"The certificate is valid: it leads to a trusted certification authority and is within its validity "
      "period. Whether it has been revoked was not confirmed.",
      "電子証明書は有効です。信頼できる認証局までたどることができ、有効期間内です。ただし、失効していないことは"
      "確認していません。"},
     {"The certificate is valid: it leads to a trusted certification authority, is within its validity period "
      "and has not been revoked.",
      "電子証明書は有効です。信頼できる認証局までたどることができ、有効期間内で、失効していません。"}},
};

/* The same for a PDF signature after which the document was updated in ways
 * it allows (pdf.c): the document did change, so the reason says what was
 * checked instead; [revocation confirmed]. */
static const struct {
    const char *en;
    const char *ja;
} ks_valid_updated_table[2] = {
    {"The signature is valid: what was signed has not been changed, the later updates to the document are ones "
     "the signature allows (see modifications_after_signing), and the signer's certificate is valid. Whether the "
     "certificate has been revoked was not confirmed.",
     "署名は有効です。署名された内容は改変されておらず、その後の文書の更新は署名が許す範囲のものです"
     "（modifications_after_signing を参照）。署名者の電子証明書は有効です。ただし、電子証明書が失効していないことは"
     "確認していません。"},
    {"The signature is valid: what was signed has not been changed, the later updates to the document are ones "
     "the signature allows (see modifications_after_signing), and the signer's certificate is valid and not revoked.",
     "署名は有効です。署名された内容は改変されておらず、その後の文書の更新は署名が許す範囲のものです"
     "（modifications_after_signing を参照）。署名者の電子証明書は有効で、失効していません。"},
};

/* A PDF signature (or a verdict with one among its signers) that does not
 * cover the whole document. */
static int ks_updated_after_signing(const cJSON *obj)
{
    const cJSON *signers = cJSON_GetObjectItemCaseSensitive(obj, "signers"), *e;
    cJSON_ArrayForEach(e, signers) if (ks_updated_after_signing(e)) return 1;
    return cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(obj, "covers_whole_document"));
}

/* Whether the verdict's own evidence shows every certificate it checked as
 * not revoked: a "revocation" array, not empty, every entry "good"; for a
 * verdict with "signers", every signer's.  Revocation `off` (no evidence),
 * soft-fail without a status ("unavailable") and a lone anchor (nothing to
 * check) do not, and the reason then claims nothing about revocation. */
static int ks_revocation_confirmed(const cJSON *obj)
{
    const cJSON *signers = cJSON_GetObjectItemCaseSensitive(obj, "signers");
    const cJSON *ev = cJSON_GetObjectItemCaseSensitive(obj, "revocation"), *e;
    if (cJSON_IsArray(signers) && cJSON_GetArraySize(signers) > 0) {
        cJSON_ArrayForEach(e, signers) if (!ks_revocation_confirmed(e)) return 0;
        return 1;
    }
    if (!cJSON_IsArray(ev) || cJSON_GetArraySize(ev) == 0)
        return 0;
    cJSON_ArrayForEach(e, ev)
    {
        const char *st = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "status"));
        if (st == NULL || strcmp(st, "good") != 0)
            return 0;
    }
    return 1;
}

int ks_verdict_set_status(cJSON *obj, ks_indication ind, ks_subindication sub, const char *detail_en)
{
    if ((int)sub < 0 || sub >= KS_SUB_COUNT)
        sub = KS_SUB_FORMAT_FAILURE;
    if (ind == KS_TOTAL_PASSED)
        sub = KS_SUB_NONE;
    else if (sub == KS_SUB_NONE) /* a failure always says why */
        sub = KS_SUB_FORMAT_FAILURE;
    const char *en = ks_sub_table[sub].en, *ja = ks_sub_table[sub].ja;
    if (sub == KS_SUB_NONE) {
        /* Say only what was checked: a certificate alone has no document,
         * and "not revoked" needs the evidence for it. */
        const char *format = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(obj, "format"));
        int cert = format != NULL && strcmp(format, "certificate") == 0, confirmed = ks_revocation_confirmed(obj);
        if (!cert && ks_updated_after_signing(obj)) {
            en = ks_valid_updated_table[confirmed].en;
            ja = ks_valid_updated_table[confirmed].ja;
        } else if (ks_valid_table[cert][confirmed].en != NULL) {
            en = ks_valid_table[cert][confirmed].en;
            ja = ks_valid_table[cert][confirmed].ja;
        }
    }
    cJSON *reasons = cJSON_CreateArray();
    cJSON *main = ks_text(ks_sub_table[sub].name ? ks_sub_table[sub].name : "VALID", en, ja);
    if (reasons == NULL || main == NULL || !cJSON_AddItemToArray(reasons, main)) {
        cJSON_Delete(main);
        cJSON_Delete(reasons);
        return 0;
    }
    if (!ks_json_set(obj, "indication", cJSON_CreateString(ks_indication_name(ind))) ||
        !ks_json_set(obj, "subindication",
                    sub == KS_SUB_NONE ? cJSON_CreateNull() : cJSON_CreateString(ks_sub_table[sub].name))) {
        cJSON_Delete(reasons);
        return 0;
    }
    return ks_json_set(obj, "reasons", reasons) &&
           ks_json_set(obj, "detail", detail_en && detail_en[0] ? cJSON_CreateString(detail_en) : cJSON_CreateNull());
}

void ks_status_set(ks_status *st, ks_indication ind, ks_subindication sub, const char *detail)
{
    st->indication = ind;
    st->sub = sub;
    st->rev_reason = -1;
    st->past = 0;
    snprintf(st->detail, sizeof st->detail, "%s", detail ? detail : "");
}

/* RFC 5280 5.3.1, with what each means for a JPKI holder
 * (../shared/jpki-profile.md "Revocation reasons as JPKI uses them"). */
static const struct {
    const char *name;
    const char *en;
    const char *ja;
} ks_reason_table[] = {
    [CRL_REASON_UNSPECIFIED] = {"unspecified", "Revoked (no reason given).", "失効（理由の指定なし）"},
    [CRL_REASON_KEY_COMPROMISE] = {"keyCompromise", "Revoked because the private key was compromised (for example a "
                                   "lost card).", "秘密鍵の危殆化（カードの紛失など）により失効"},
    [CRL_REASON_CA_COMPROMISE] = {"cACompromise", "Revoked because the certification authority was compromised.",
                                  "認証局の危殆化により失効"},
    [CRL_REASON_AFFILIATION_CHANGED] = {"affiliationChanged",
                                        "Revoked because the holder's details changed (a move or a change of name).",
                                        "住所・氏名等の変更により失効"},
    [CRL_REASON_SUPERSEDED] = {"superseded", "Revoked because a new certificate was issued.",
                               "電子証明書の更新により失効"},
    [CRL_REASON_CESSATION_OF_OPERATION] = {"cessationOfOperation", "Revoked because it is no longer needed.",
                                           "電子証明書が不要となったため失効"},
    [CRL_REASON_CERTIFICATE_HOLD] = {"certificateHold", "Suspended (on hold).", "一時停止"},
    [CRL_REASON_REMOVE_FROM_CRL] = {"removeFromCRL", "Removed from the CRL.", "CRLから削除"},
    [CRL_REASON_PRIVILEGE_WITHDRAWN] = {"privilegeWithdrawn", "Revoked because the privilege was withdrawn.",
                                        "権限の取消しにより失効"},
    [CRL_REASON_AA_COMPROMISE] = {"aACompromise", "Revoked because the attribute authority was compromised.",
                                  "属性認証局の危殆化により失効"},
};

const char *ks_crl_reason_name(int reason)
{
    if (reason < 0 || (size_t)reason >= sizeof ks_reason_table / sizeof ks_reason_table[0])
        return NULL;
    return ks_reason_table[reason].name;
}

/* Passed thanks to a POE: said in place of "valid and not revoked". */
static int ks_verdict_past(cJSON *obj, int past)
{
    cJSON *a = cJSON_CreateArray();
    if (a == NULL || !ks_json_set(obj, "reasons", a))
        return 0;
    cJSON *t = (past & KS_PAST_REVOKED)
                   ? ks_text("REVOKED_AFTER_POE",
                             "The signer's certificate was revoked after the signing time, but a timestamp proves that "
                             "the signature was made before the revocation.",
                             "署名時刻より後に失効していますが、失効前に署名されたことがタイムスタンプで証明されています")
                   : NULL;
    if ((past & KS_PAST_REVOKED) && (t == NULL || !cJSON_AddItemToArray(a, t))) {
        cJSON_Delete(t);
        return 0;
    }
    t = (past & KS_PAST_EXPIRED)
            ? ks_text("EXPIRED_AFTER_POE",
                      "The signer's certificate has expired since, but a timestamp proves that the signature was made "
                      "while it was valid.",
                      "署名者の電子証明書は有効期限が切れていますが、有効期間内に署名されたことがタイムスタンプで証明"
                      "されています")
            : NULL;
    if ((past & KS_PAST_EXPIRED) && (t == NULL || !cJSON_AddItemToArray(a, t))) {
        cJSON_Delete(t);
        return 0;
    }
    return 1;
}

int ks_verdict_status(cJSON *obj, const ks_status *st)
{
    if (!ks_verdict_set_status(obj, st->indication, st->sub, st->detail))
        return 0;
    if (st->indication == KS_TOTAL_PASSED && st->past != 0)
        return ks_verdict_past(obj, st->past);
    if (st->indication == KS_TOTAL_PASSED || ks_crl_reason_name(st->rev_reason) == NULL)
        return 1;
    cJSON *r = ks_text(ks_reason_table[st->rev_reason].name, ks_reason_table[st->rev_reason].en,
                       ks_reason_table[st->rev_reason].ja);
    return r != NULL && cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(obj, "reasons"), r);
}

/* Every warnings[].code a verdict may carry, for the OpenAPI enum
 * (fcgi/openapi.c); tests/test_api.sh checks that every ks_verdict_warn
 * call in the sources names one of these, so the contract cannot drift. */
static const char *const ks_warning_table[] = {"REVOCATION_NOT_CHECKED", "REVOCATION_UNAVAILABLE", "UNSIGNED_OBJECT",
                                               "ATTACHMENT_NOT_SIGNED",  "PDF_CHANGED_AFTER_SIGNING",
                                               "TIMESTAMPS_NOT_CHECKED", "LTV_VALUE_UNREADABLE",
                                               "XADES_PROPERTIES_AMBIGUOUS", "LTV_VALUES_MALFORMED",
                                               "WEAK_ALGORITHM_BEFORE_SUNSET", "LTV_REFS_MALFORMED",
                                               "LTV_REFS_MISMATCH", "PDF_DSS_VRI_MALFORMED"};

const char *ks_warning_code(size_t i)
{
    return i < sizeof ks_warning_table / sizeof ks_warning_table[0] ? ks_warning_table[i] : NULL;
}

const char *ks_reason_code(size_t i)
{
    if (i == 0)
        return "VALID";
    if (i < KS_SUB_COUNT)
        return ks_sub_table[i].name;
    /* then the RFC 5280 5.3.1 reasons that have a name (7 is unused) */
    size_t k = KS_SUB_COUNT;
    for (size_t r = 0; r < sizeof ks_reason_table / sizeof ks_reason_table[0]; r++)
        if (ks_reason_table[r].name != NULL && k++ == i)
            return ks_reason_table[r].name;
    /* then why a signature passed only thanks to a POE (ks_verdict_past) */
    static const char *const past[] = {"REVOKED_AFTER_POE", "EXPIRED_AFTER_POE"};
    return i - k < sizeof past / sizeof past[0] ? past[i - k] : NULL;
}

int ks_verdict_warn(cJSON *obj, const char *code, const char *en, const char *ja)
{
    cJSON *w = cJSON_GetObjectItemCaseSensitive(obj, "warnings");
    if (w == NULL && (w = cJSON_AddArrayToObject(obj, "warnings")) == NULL)
        return 0;
    cJSON *t = ks_text(code, en, ja);
    return t != NULL && cJSON_AddItemToArray(w, t);
}

int ks_verdict_common(const ks_ctx *ctx, cJSON *v, const char *format, time_t at)
{
    char buf[32];
    ks_time_format(at, buf, sizeof buf);
    /* First, so a client can dispatch on it before reading anything else
     * (README "API changelog": what a client may rely on per version). */
    return cJSON_AddStringToObject(v, "api_version", KS_API_VERSION) != NULL &&
           cJSON_AddStringToObject(v, "format", format) != NULL &&
           cJSON_AddStringToObject(v, "validation_time", buf) != NULL &&
           cJSON_AddRawToObject(v, "policy", ctx->policy_json) != NULL; /* printed as is */
}

cJSON *ks_chain_json(const ks_ctx *ctx, const ks_path_input *in, STACK_OF(X509) *chain)
{
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; a != NULL && i < sk_X509_num(chain); i++) {
        X509 *x = sk_X509_value(chain, i);
        cJSON *c = ks_vcache_cert_json(ctx, x, ks_path_source(ctx, in, x));
        if (c == NULL || !cJSON_AddItemToArray(a, c)) {
            cJSON_Delete(c);
            cJSON_Delete(a);
            return NULL;
        }
    }
    return a;
}

/* ---------------- a verdict is built whole, or not at all ---------------- */

/*
 * Every cJSON allocation of the library goes through ks_json_malloc, which
 * latches a failure in a per-thread flag (BearSSL's "one latched error":
 * the first failure wins and cannot be lost).  The verification entry
 * points clear it before building a verdict and turn a latched failure into
 * KS_E_NOMEM; the certificate cache never keeps an object built while it
 * was set.  Every builder call is checked as well (warn_unused_result): the
 * latch is what makes a missed check fail closed instead of answering a
 * verdict with a piece silently missing.
 */
static void *(*ks_json_backend)(size_t) = malloc;
static __thread int ks_json_failed;

static void *ks_json_malloc(size_t n)
{
    void *p = ks_json_backend(n);
    if (p == NULL)
        ks_json_failed = 1;
    return p;
}

static void ks_json_install(void)
{
    cJSON_Hooks h = {.malloc_fn = ks_json_malloc, .free_fn = free};
    cJSON_InitHooks(&h);
}

void ks_json_init(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, ks_json_install);
}

void ks_json_set_backend(void *(*fn)(size_t))
{
    ks_json_init();
    ks_json_backend = fn != NULL ? fn : malloc;
    ks_json_install(); /* again: a test may have replaced the hooks */
}

void ks_json_oom_clear(void)
{
    ks_json_failed = 0;
}

int ks_json_oom(void)
{
    return ks_json_failed;
}

ks_result ks_verdict_finish(ks_result r, cJSON **verdict)
{
    if (r == KS_OK && (ks_json_oom() || *verdict == NULL))
        r = KS_E_NOMEM;
    if (r != KS_OK) {
        cJSON_Delete(*verdict);
        *verdict = NULL;
    }
    return r;
}
