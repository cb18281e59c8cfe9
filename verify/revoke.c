/*
 * verify/revoke.c - revocation status of a validated path.
 *
 * Fails closed: without fresh status for every certificate of the path but
 * the anchor, mode "require" answers INDETERMINATE/TRY_LATER; "soft-fail"
 * passes but says so; "off" says revocation was not checked.
 */
#include <stdio.h>

#include "internal.h"

void ks_revocation_check(ks_ctx *ctx, const ks_path_input *in, time_t at, const time_t *claimed,
                         STACK_OF(X509) *chain, ks_status *st, cJSON *evidence, cJSON *obj)
{
    (void)in;
    (void)at;
    (void)claimed;
    (void)chain;
    (void)evidence;
    switch (ctx->rev.mode) {
    case KS_REV_OFF:
        ks_verdict_warn(obj, "REVOCATION_NOT_CHECKED", "Revocation was not checked (policy: off).",
                        "失効確認は行っていません（ポリシー: off）。");
        return;
    case KS_REV_SOFT_FAIL:
        ks_verdict_warn(obj, "REVOCATION_UNAVAILABLE",
                        "The revocation status was unavailable; the soft-fail policy accepted the certificate "
                        "without it.",
                        "失効状況を確認できませんでしたが、soft-fail ポリシーにより失効確認なしで受け入れました。");
        return;
    case KS_REV_REQUIRE:
    default:
        st->indication = KS_INDETERMINATE;
        st->sub = KS_SUB_TRY_LATER;
        snprintf(st->detail, sizeof st->detail, "no revocation status available");
        return;
    }
}
