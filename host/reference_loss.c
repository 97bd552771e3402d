/* SPDX-License-Identifier: MIT */
/* CPU reference of the fused cross-entropy, in double precision, written from PyTorch's
 * definition as a composition (log_softmax, then nll_loss, then the label-smoothing term), not
 * from the kernels' fused form; the gradient from the composition's derivative. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "internal.h"

/* One call's inputs, with the log-probabilities lp computed once. */
typedef struct ref_ce {
    const clact_cross_entropy_desc *d;
    size_t C, inner, P;
    const void *target;
    const double *weight, *lp;
} ref_ce;

static double class_weight(const ref_ce *r, size_t c) { return r->weight ? r->weight[c] : 1.0; }

/* Element c of position p in the logits' layout (N, C, inner). */
static size_t at(const ref_ce *r, size_t p, size_t c) {
    return p / r->inner * r->C * r->inner + p % r->inner + c * r->inner;
}

/* Position p's loss is sum_c a_c (-lp_c): with label smoothing e, index targets have
 * a_c = (1 - e) w_t [c == t] + (e / C) w_c (all 0 when ignored), probability targets
 * a_c = (t_c (1 - e) + e / C) w_c. *w is what the mean divides by (the target's weight, 0 when
 * ignored; 1 per position for probabilities). */
static clact_status coefficients(const ref_ce *r, size_t p, double *a, double *w) {
    double eps = r->d->label_smoothing, share = eps / (double)r->C;
    if (r->d->target_type == CLACT_TARGET_PROBS) {
        const double *t = r->target;
        for (size_t c = 0; c < r->C; ++c)
            a[c] = (t[at(r, p, c)] * (1 - eps) + share) * class_weight(r, c);
        *w = 1;
        return CLACT_OK;
    }
    long long t = r->d->target_type == CLACT_TARGET_INT64 ? ((const int64_t *)r->target)[p]
                                                          : ((const int32_t *)r->target)[p];
    if (t != r->d->ignore_index && (t < 0 || (size_t)t >= r->C))
        return clact__fail(NULL, CLACT_INVALID_ARGUMENT, "target %lld out of range", t);
    int ignored = t == r->d->ignore_index;
    for (size_t c = 0; c < r->C; ++c)
        a[c] = ignored ? 0.0
                       : (1 - eps) * ((size_t)t == c ? class_weight(r, c) : 0.0) +
                             share * class_weight(r, c);
    *w = ignored ? 0.0 : class_weight(r, (size_t)t);
    return CLACT_OK;
}

/* The losses, reduced; and with grad, d loss / d x_c = sum_k a_k (softmax_c - [k == c]) =
 * (sum_k a_k) p_c - a_c per position, times the reduction's scale. An ignored position has every
 * a_k = 0: its gradient is 0, even when the mean's W is 0 (PyTorch's nll_loss backward writes 0
 * there). a holds C doubles of scratch, per P. */
static clact_status loss_and_grad(const ref_ce *r, double *a, double *per, double *loss,
                                  double *grad) {
    double sum = 0, W = 0;
    for (size_t p = 0; p < r->P; ++p) {
        double w;
        CLACT__FORWARD(coefficients(r, p, a, &w));
        per[p] = 0;
        for (size_t c = 0; c < r->C; ++c)
            per[p] -= a[c] * r->lp[at(r, p, c)];
        sum += per[p];
        W += w;
    }
    if (r->d->reduction == CLACT_REDUCTION_NONE)
        for (size_t p = 0; p < r->P; ++p)
            loss[p] = per[p];
    else
        loss[0] = r->d->reduction == CLACT_REDUCTION_MEAN ? sum / W : sum;
    double scale = r->d->reduction == CLACT_REDUCTION_MEAN ? 1.0 / W : 1.0;
    for (size_t p = 0; grad && p < r->P; ++p) {
        double w, asum = 0;
        CLACT__FORWARD(coefficients(r, p, a, &w));
        for (size_t c = 0; c < r->C; ++c)
            asum += a[c];
        for (size_t c = 0; c < r->C; ++c)
            grad[at(r, p, c)] = asum == 0 ? 0.0 : (asum * exp(r->lp[at(r, p, c)]) - a[c]) * scale;
    }
    return CLACT_OK;
}

clact_status clact_reference_cross_entropy(const clact_cross_entropy_desc *d, int ndim,
                                           const size_t *shape, const double *x, const void *target,
                                           const double *weight, double *loss, double *grad) {
    clact__clear_error(NULL);
    size_t C, inner, P, total;
    CLACT__FORWARD(clact__ce_desc_check(NULL, d));
    CLACT__FORWARD(clact__ce_shape(NULL, ndim, shape, &C, &inner, &P, &total));
    CLACT__RETURN_IF((total && (!x || !target)) || !loss, NULL, CLACT_INVALID_ARGUMENT,
                     "logits, target or loss is NULL");
    double *lp = malloc((total ? total : 1) * sizeof *lp);
    double *per = malloc((P ? P : 1) * sizeof *per), *a = malloc(C * sizeof *a);
    clact_status st = CLACT_OK;
    if (!lp || !per || !a) {
        st = clact__fail(NULL, CLACT_OUT_OF_MEMORY, "out of memory");
    } else {
        /* log_softmax over the class dimension (stride inner). */
        size_t sm_shape[3] = {P / (inner ? inner : 1), C, inner};
        if (total)
            clact_reference_softmax(CLACT_LOG_SOFTMAX, 0, 3, sm_shape, 1, x, lp);
        ref_ce r = {d, C, inner, P, target, weight, lp};
        st = loss_and_grad(&r, a, per, loss, grad);
    }
    free(lp);
    free(per);
    free(a);
    return st;
}
