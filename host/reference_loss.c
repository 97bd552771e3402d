/* SPDX-License-Identifier: MIT */
/* CPU reference of the fused cross-entropy, in double precision, written from PyTorch's
 * definition as a composition (log_softmax, then nll_loss, then the label-smoothing term), not
 * from the kernels' fused form; the gradient from the composition's derivative. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "internal.h"

clact_status clact_reference_cross_entropy(const clact_cross_entropy_desc *d, int ndim,
                                           const size_t *shape, const double *x, const void *target,
                                           const double *weight, double *loss, double *grad) {
    clact__clear_error(NULL);
    size_t C, inner, P, total;
    clact_status st;
    if ((st = clact__ce_desc_check(NULL, d)) != CLACT_OK ||
        (st = clact__ce_shape(NULL, ndim, shape, &C, &inner, &P, &total)) != CLACT_OK)
        return st;
    if ((total && (!x || !target)) || !loss)
        return clact__fail(NULL, CLACT_INVALID_ARGUMENT, "logits, target or loss is NULL");
    double *lp = malloc((total ? total : 1) * sizeof *lp);
    double *per = malloc((P ? P : 1) * sizeof *per), *wt = malloc((P ? P : 1) * sizeof *wt);
    if (!lp || !per || !wt) {
        free(lp);
        free(per);
        free(wt);
        return clact__fail(NULL, CLACT_OUT_OF_MEMORY, "out of memory");
    }
    /* log_softmax over the class dimension (stride inner). */
    size_t sm_shape[3] = {P / (inner ? inner : 1), C, inner};
    if (total)
        clact_reference_softmax(CLACT_LOG_SOFTMAX, 0, 3, sm_shape, 1, x, lp);
    int probs = d->target_type == CLACT_TARGET_PROBS;
    double eps = d->label_smoothing;
    for (size_t p = 0; p < P && st == CLACT_OK; ++p) {
        size_t o = p / inner, i = p % inner, base = o * C * inner + i;
        if (probs) {
            const double *t = target;
            double l = 0;
            for (size_t c = 0; c < C; ++c) {
                double q = t[base + c * inner] * (1 - eps) + eps / (double)C;
                l -= lp[base + c * inner] * q * (weight ? weight[c] : 1.0);
            }
            per[p] = l;
            wt[p] = 1;
            continue;
        }
        long long t = d->target_type == CLACT_TARGET_INT64 ? ((const int64_t *)target)[p]
                                                           : ((const int32_t *)target)[p];
        if (t == d->ignore_index) {
            per[p] = 0;
            wt[p] = 0;
            continue;
        }
        if (t < 0 || (size_t)t >= C) {
            st = clact__fail(NULL, CLACT_INVALID_ARGUMENT, "target %lld out of range", t);
            break;
        }
        double w = weight ? weight[t] : 1.0;
        double nll = -w * lp[base + (size_t)t * inner];
        double smooth = 0;
        for (size_t c = 0; c < C; ++c)
            smooth -= (weight ? weight[c] : 1.0) * lp[base + c * inner];
        per[p] = (1 - eps) * nll + eps / (double)C * smooth;
        wt[p] = w;
    }
    if (st == CLACT_OK) {
        double sum = 0, W = 0;
        for (size_t p = 0; p < P; ++p) {
            sum += per[p];
            W += wt[p];
        }
        if (d->reduction == CLACT_REDUCTION_NONE)
            for (size_t p = 0; p < P; ++p)
                loss[p] = per[p];
        else
            loss[0] = d->reduction == CLACT_REDUCTION_MEAN ? sum / W : sum;
        /* d loss_p / d x_c = sum_k a_k (softmax_c - [k == c]) with a_k the coefficient of
         * -lp_k in loss_p; then the reduction's scale. */
        double scale = d->reduction == CLACT_REDUCTION_MEAN ? 1.0 / W : 1.0;
        for (size_t p = 0; grad && p < P; ++p) {
            size_t o = p / inner, i = p % inner, base = o * C * inner + i;
            double asum = 0;
            double *a = malloc(C * sizeof *a);
            if (!a) {
                st = clact__fail(NULL, CLACT_OUT_OF_MEMORY, "out of memory");
                break;
            }
            for (size_t c = 0; c < C; ++c) {
                double wc = weight ? weight[c] : 1.0;
                if (probs) {
                    a[c] =
                        (((const double *)target)[base + c * inner] * (1 - eps) + eps / (double)C) *
                        wc;
                } else {
                    long long t = d->target_type == CLACT_TARGET_INT64
                                      ? ((const int64_t *)target)[p]
                                      : ((const int32_t *)target)[p];
                    if (t == d->ignore_index)
                        a[c] = 0;
                    else
                        a[c] = (1 - eps) * ((size_t)t == c ? weight ? weight[t] : 1.0 : 0.0) +
                               eps / (double)C * wc;
                }
                asum += a[c];
            }
            /* An ignored position has all a_k = 0: its gradient is 0, even when the mean's
             * W is 0 (PyTorch's nll_loss backward writes 0 there). */
            for (size_t c = 0; c < C; ++c)
                grad[base + c * inner] =
                    asum == 0 ? 0.0 : (asum * exp(lp[base + c * inner]) - a[c]) * scale;
            free(a);
        }
    }
    free(lp);
    free(per);
    free(wt);
    return st;
}
