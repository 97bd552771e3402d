/* SPDX-License-Identifier: MIT */
/* CPU reference of PReLU with a weight per channel, forward and backward, written from PyTorch's
 * formulas independently of kernels/prelu.cl. Each product w x (w dy) is the dtype's compute
 * type's: for float data it is exact in double; for f64 it is double's own product. The weight's
 * gradient is summed in long double, every product split exactly into p + e (fmal) and the sum
 * compensated (Neumaier), so that it is the exact sum to about 2^-64 relative. */
#include <math.h>
#include <stdint.h>

#include "internal.h"

typedef long double R;

/* The channel of element i, as clact_prelu takes it; 0 and the detail where invalid. */
static int prelu_layout(clact_dtype dtype, int ndim, const size_t *shape, size_t num_parameters,
                        size_t *n, size_t *inner) {
    if (!clact_dtype_size(dtype) || ndim < 0 || ndim > CLACT_MAX_DIMS || (ndim > 0 && !shape))
        return 0;
    size_t t = 1;
    for (int i = 0; i < ndim; ++i)
        t *= shape[i];
    *n = t;
    *inner = 1;
    if (num_parameters == 1)
        return 1;
    if (ndim == 0 || (ndim > 1 ? shape[1] : 1) != num_parameters)
        return 0;
    for (int i = 2; i < ndim; ++i)
        *inner *= shape[i];
    return 1;
}

static size_t channel(size_t i, size_t np, size_t inner) { return np == 1 ? 0 : i / inner % np; }

/* w v in the compute type: exact in double for float data (24 + 24 bits), double's product for
 * f64 (f16 and bf16 values are floats too). */
static double product(double w, double v) { return w * v; }

clact_status clact_reference_prelu(clact_dtype dtype, int ndim, const size_t *shape,
                                   size_t num_parameters, const double *weight, const double *x,
                                   double *y) {
    clact__clear_error(NULL);
    size_t n, inner;
    if (!prelu_layout(dtype, ndim, shape, num_parameters, &n, &inner) ||
        (n > 0 && (!weight || !x || !y)))
        return clact__fail(NULL, CLACT_INVALID_ARGUMENT,
                           "prelu reference: invalid dtype, shape, num_parameters or arrays");
    for (size_t i = 0; i < n; ++i)
        y[i] = x[i] > 0 ? x[i] : product(weight[channel(i, num_parameters, inner)], x[i]);
    return CLACT_OK;
}

/* Neumaier's compensated sum in long double, with the non-finite terms apart. */
typedef struct ref_sum {
    R s, c, nonfinite;
} ref_sum;

static void ref_add(ref_sum *a, R v) {
    if (!isfinite(v)) {
        a->nonfinite += v;
        return;
    }
    R t = a->s + v;
    a->c += fabsl(a->s) >= fabsl(v) ? (a->s - t) + v : (v - t) + a->s;
    a->s = t;
}

clact_status clact_reference_prelu_backward(clact_dtype dtype, int ndim, const size_t *shape,
                                            size_t num_parameters, const double *weight,
                                            const double *x, const double *dy, double *dx,
                                            double *dw) {
    clact__clear_error(NULL);
    size_t n, inner;
    if (!prelu_layout(dtype, ndim, shape, num_parameters, &n, &inner) || (!dx && !dw) ||
        (n > 0 && (!weight || !x || !dy)) || (num_parameters > 0 && dw && !weight))
        return clact__fail(NULL, CLACT_INVALID_ARGUMENT,
                           "prelu reference: invalid dtype, shape, num_parameters or arrays");
    size_t C = num_parameters == 1 ? 1 : num_parameters, per = C && inner ? n / (C * inner) : 0;
    size_t run = num_parameters == 1 ? n : inner;
    for (size_t c = 0; dw && c < num_parameters; ++c) {
        ref_sum a = {0, 0, 0};
        for (size_t r = 0; r < (num_parameters == 1 ? 1 : per); ++r)
            for (size_t j = 0; j < run; ++j) {
                size_t i = (r * C + c) * run + j;
                if (x[i] > 0)
                    continue;
                R p = (R)x[i] * dy[i];
                ref_add(&a, p);
                if (isfinite(p))
                    ref_add(&a, fmal(x[i], dy[i], -p)); /* 0 where long double holds x dy */
            }
        dw[c] = a.nonfinite != 0 ? (double)a.nonfinite : (double)(a.s + a.c); /* NaN != 0 too */
    }
    for (size_t i = 0; dx && i < n; ++i) {
        double w = weight[channel(i, num_parameters, inner)];
        dx[i] = x[i] > 0 ? dy[i] : product(w, dy[i]); /* dx may be x or dy: x[i] read first */
    }
    return CLACT_OK;
}
