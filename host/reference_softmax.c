/* SPDX-License-Identifier: MIT */
/* CPU reference of the softmax family: the two-pass textbook form (find the maximum, then sum),
 * written independently of the kernels' one-pass online form. Sums, exp and log are taken in
 * long double (64-bit significand on x86; at least double everywhere), so that the reference
 * of an f64 softmax over a long row is still well below the kernels' own error. */
#include <math.h>
#include <stdint.h>

#include "internal.h"

static int split(int ndim, const size_t *shape, int dim, size_t *outer, size_t *C, size_t *inner) {
    if (!shape || ndim < 1 || ndim > CLACT_MAX_DIMS || dim < -ndim || dim >= ndim)
        return 0;
    if (dim < 0)
        dim += ndim;
    *outer = *inner = 1;
    for (int i = 0; i < ndim; ++i) {
        if (i < dim)
            *outer *= shape[i];
        else if (i > dim)
            *inner *= shape[i];
    }
    *C = shape[dim];
    return 1;
}

clact_status clact_reference_softmax(clact_softmax_kind kind, unsigned flags, int ndim,
                                     const size_t *shape, int dim, const double *x, double *y) {
    clact__clear_error(NULL);
    size_t outer, C, inner;
    if (!split(ndim, shape, dim, &outer, &C, &inner) || !clact_softmax_kind_name(kind) ||
        (flags & ~CLACT_SOFTMAX_SAFE))
        return clact__fail(NULL, CLACT_INVALID_ARGUMENT, "invalid shape, dim, kind or flags");
    if (outer > 0 && C > 0 && inner > 0 && (!x || !y))
        return clact__fail(NULL, CLACT_INVALID_ARGUMENT, "x or y is NULL");
    double sign = kind == CLACT_SOFTMIN ? -1.0 : 1.0;
    if (C == 0) /* nothing to normalise (and no sum to take the log of) */
        return CLACT_OK;
    for (size_t o = 0; o < outer; ++o) {
        for (size_t i = 0; i < inner; ++i) {
            const double *xc = x + o * C * inner + i;
            double *yc = y + o * C * inner + i;
            double m = -INFINITY;
            int nan = 0;
            for (size_t c = 0; c < C; ++c) {
                double v = sign * xc[c * inner];
                nan |= isnan(v);
                if (v > m)
                    m = v;
            }
            /* PyTorch: NaN anywhere, or +inf anywhere (inf - inf), or all -inf (-inf - -inf),
             * makes the whole row NaN. */
            int masked = m == -INFINITY && !nan;
            if (nan || m == INFINITY || (masked && !(flags & CLACT_SOFTMAX_SAFE))) {
                for (size_t c = 0; c < C; ++c)
                    yc[c * inner] = NAN;
                continue;
            }
            if (masked) {
                for (size_t c = 0; c < C; ++c)
                    yc[c * inner] = kind == CLACT_LOG_SOFTMAX ? -INFINITY : 0.0;
                continue;
            }
            /* C >= 1 here; the sum is 1 + r, 1 the maximum's own term exp(0). r is summed
             * apart (the maximum's repeats count 1 each), and log(1 + r) taken by log1pl: a
             * log_softmax output near 0, -log(1 + r) for r below 2^-64, would otherwise come out
             * 0 (logl of a sum that rounded to 1), where the f16 and bf16 checks want its bits. */
            long double r = 0;
            size_t at_max = 0;
            for (size_t c = 0; c < C; ++c) {
                double t = sign * xc[c * inner] - m;
                if (t == 0)
                    ++at_max;
                else
                    r += expl((long double)t);
            }
            r += (long double)(at_max - 1);
            long double s = 1 + r, ls = log1pl(r);
            for (size_t c = 0; c < C; ++c) {
                long double t = (long double)sign * xc[c * inner] - m;
                yc[c * inner] = (double)(kind == CLACT_LOG_SOFTMAX ? t - ls : expl(t) / s);
            }
        }
    }
    return CLACT_OK;
}

clact_status clact_reference_softmax_backward(clact_softmax_kind kind, int ndim,
                                              const size_t *shape, int dim, const double *y,
                                              const double *dy, double *dx) {
    clact__clear_error(NULL);
    size_t outer, C, inner;
    if (!split(ndim, shape, dim, &outer, &C, &inner) || !clact_softmax_kind_name(kind))
        return clact__fail(NULL, CLACT_INVALID_ARGUMENT, "invalid shape, dim or kind");
    if (outer > 0 && C > 0 && inner > 0 && (!y || !dy || !dx))
        return clact__fail(NULL, CLACT_INVALID_ARGUMENT, "y, dy or dx is NULL");
    for (size_t o = 0; o < outer; ++o) {
        for (size_t i = 0; i < inner; ++i) {
            size_t base = o * C * inner + i;
            long double s = 0;
            for (size_t c = 0; c < C; ++c) {
                size_t j = base + c * inner;
                s += kind == CLACT_LOG_SOFTMAX ? (long double)dy[j] : (long double)dy[j] * y[j];
            }
            for (size_t c = 0; c < C; ++c) {
                size_t j = base + c * inner;
                long double r = kind == CLACT_LOG_SOFTMAX ? dy[j] - expl((long double)y[j]) * s
                                                          : y[j] * (dy[j] - s);
                dx[j] = (double)(kind == CLACT_SOFTMIN ? -r : r);
            }
        }
    }
    return CLACT_OK;
}
