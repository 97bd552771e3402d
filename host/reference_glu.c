/* SPDX-License-Identifier: MIT */
/* CPU reference of GLU, forward and backward, in long double with plain libm (reference.c's
 * conventions), written from PyTorch's formulas independently of kernels/glu.cl: sigmoid as
 * 1 / (1 + e^-b) (e^b / (1 + e^b) for b < 0), the products formed directly (long double's range
 * holds every product of two doubles and a sigmoid), rounded once to double. */
#include <math.h>

#include "internal.h"

typedef long double R;

static R sigmoid(R b) {
    if (b >= 0)
        return 1.0L / (1.0L + expl(-b));
    R e = expl(b);
    return e / (1.0L + e);
}

/* v rounded to dtype's compute type (float for f32, f16, bf16), as a double. */
static double compute_type(clact_dtype dtype, R v) {
    return dtype == CLACT_F64 ? (double)v : (double)(float)v;
}

/* v * f, exact and rounded once; an infinite v takes f rounded to the compute type first, so that
 * a factor that rounds to 0 there gives NaN (inf * 0), as the device and PyTorch do. */
static double times(clact_dtype dtype, double v, R f) {
    return isinf(v) ? v * compute_type(dtype, f) : (double)(v * f);
}

/* The shape checks of clact_glu: (outer, 2, L) rows; 0 and the detail where invalid. */
static int glu_rows(clact_dtype dtype, int ndim, const size_t *shape, int dim, const double *x,
                    const void *out, size_t *outer, size_t *L) {
    if (!clact_dtype_size(dtype) || !shape || ndim < 1 || ndim > CLACT_MAX_DIMS || dim < -ndim ||
        dim >= ndim) {
        clact__fail(NULL, CLACT_INVALID_ARGUMENT, "glu reference: invalid dtype, shape or dim");
        return 0;
    }
    int d = dim < 0 ? dim + ndim : dim;
    if (shape[d] % 2) {
        clact__fail(NULL, CLACT_INVALID_ARGUMENT,
                    "glu reference: halving dimension must be even, but dimension %d is size %zu",
                    d, shape[d]);
        return 0;
    }
    size_t o = 1, in = 1;
    for (int i = 0; i < ndim; ++i) {
        if (i < d)
            o *= shape[i];
        else if (i > d)
            in *= shape[i];
    }
    *outer = o;
    *L = shape[d] / 2 * in;
    if (o * *L > 0 && (!x || !out)) {
        clact__fail(NULL, CLACT_INVALID_ARGUMENT, "glu reference: an array is NULL");
        return 0;
    }
    return 1;
}

clact_status clact_reference_glu(clact_dtype dtype, int ndim, const size_t *shape, int dim,
                                 const double *x, double *y) {
    clact__clear_error(NULL);
    size_t outer, L;
    if (!glu_rows(dtype, ndim, shape, dim, x, y, &outer, &L))
        return CLACT_INVALID_ARGUMENT;
    for (size_t o = 0; o < outer; ++o)
        for (size_t k = 0; k < L; ++k) {
            const double *a = x + 2 * o * L + k;
            y[o * L + k] = times(dtype, a[0], sigmoid(a[L]));
        }
    return CLACT_OK;
}

clact_status clact_reference_glu_backward(clact_dtype dtype, int ndim, const size_t *shape, int dim,
                                          const double *x, const double *dy, double *dx) {
    clact__clear_error(NULL);
    size_t outer, L;
    if (!glu_rows(dtype, ndim, shape, dim, x, dx, &outer, &L))
        return CLACT_INVALID_ARGUMENT;
    if (outer * L > 0 && !dy)
        return clact__fail(NULL, CLACT_INVALID_ARGUMENT, "glu reference: dy is NULL");
    for (size_t o = 0; o < outer; ++o)
        for (size_t k = 0; k < L; ++k) {
            size_t ia = 2 * o * L + k;
            double a = x[ia], b = x[ia + L], g = dy[o * L + k];
            R s = sigmoid(b), f = s * sigmoid(-(R)b); /* 1 - s as sigmoid(-b): exact */
            double da = times(dtype, g, s);
            /* With an infinite dy or a: dy times the derivative a f rounded to the compute type
             * (an infinite a times f rounded), as clact_backward forms dy f'(x). */
            double slope = isinf(a) ? a * compute_type(dtype, f) : compute_type(dtype, a * f);
            double db = isinf(g) || isinf(a) ? g * slope : (double)((R)g * a * f);
            dx[ia] = da; /* dx may be x itself: a and b were read first */
            dx[ia + L] = db;
        }
    return CLACT_OK;
}
