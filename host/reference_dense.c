/* SPDX-License-Identifier: MIT */
/* CPU reference of the dense layer: nn.Linear's y = x W^T + b in long double sums, then the
 * activation's reference; backward from the chain rule. Written from PyTorch's definition, not
 * from CLBlast's or the kernels' arrangement. */
#include <stdlib.h>

#include "internal.h"

typedef long double R;

static clact_status check(const clact_dense_desc *d, clact_dtype dtype, size_t batch) {
    clact__clear_error(NULL);
    CLACT__RETURN_IF(!d, NULL, CLACT_INVALID_ARGUMENT, "desc is NULL");
    CLACT__RETURN_IF(!clact_dtype_size(dtype), NULL, CLACT_INVALID_ARGUMENT, "unknown dtype %d",
                     (int)dtype);
    CLACT__RETURN_IF(!d->out_features, NULL, CLACT_INVALID_ARGUMENT, "out_features is 0");
    char why[256];
    CLACT__RETURN_IF(d->act && clact_activation_check(d->act, why, sizeof why) != CLACT_OK, NULL,
                     CLACT_INVALID_ARGUMENT, "%s", why);
    (void)batch;
    return CLACT_OK;
}

clact_status clact_reference_dense_forward(const clact_dense_desc *d, clact_dtype dtype,
                                           size_t batch, const double *x, const double *w,
                                           const double *b, double *z, double *y) {
    CLACT__FORWARD(check(d, dtype, batch));
    size_t in = d->in_features, out = d->out_features, n = batch * out;
    CLACT__RETURN_IF(n && (!y || (in && (!x || !w))), NULL, CLACT_INVALID_ARGUMENT,
                     "x, w or y is NULL");
    double *t = malloc((n ? n : 1) * sizeof *t);
    CLACT__RETURN_IF(!t, NULL, CLACT_OUT_OF_MEMORY, "out of memory");
    for (size_t r = 0; r < batch; ++r)
        for (size_t o = 0; o < out; ++o) {
            R s = b ? b[o] : 0;
            for (size_t i = 0; i < in; ++i)
                s += (R)x[r * in + i] * w[o * in + i];
            t[r * out + o] = (double)s;
        }
    clact_status st = CLACT_OK;
    if (z)
        for (size_t i = 0; i < n; ++i)
            z[i] = t[i];
    if (d->act)
        st = clact_reference_forward(d->act, dtype, n, t, y);
    else
        for (size_t i = 0; i < n; ++i)
            y[i] = t[i];
    free(t);
    return st;
}

clact_status clact_reference_dense_backward(const clact_dense_desc *d, clact_dtype dtype,
                                            size_t batch, const double *x, const double *w,
                                            const double *z, const double *y, const double *dy,
                                            double *dx, double *dw, double *db) {
    CLACT__FORWARD(check(d, dtype, batch));
    size_t in = d->in_features, out = d->out_features, n = batch * out;
    CLACT__RETURN_IF(n && !dy, NULL, CLACT_INVALID_ARGUMENT, "dy is NULL");
    double *dz = malloc((n ? n : 1) * sizeof *dz);
    CLACT__RETURN_IF(!dz, NULL, CLACT_OUT_OF_MEMORY, "out of memory");
    clact_status st = CLACT_OK;
    if (d->act)
        st = clact_reference_backward(d->act, dtype, n, z, y, dy, dz);
    else
        for (size_t i = 0; i < n; ++i)
            dz[i] = dy[i];
    int acc = (d->flags & CLACT_DENSE_ACCUMULATE) != 0;
    for (size_t o = 0; st == CLACT_OK && db && o < out; ++o) {
        R s = acc ? db[o] : 0;
        for (size_t r = 0; r < batch; ++r)
            s += dz[r * out + o];
        db[o] = (double)s;
    }
    for (size_t o = 0; st == CLACT_OK && dw && o < out; ++o)
        for (size_t i = 0; i < in; ++i) {
            R s = acc ? dw[o * in + i] : 0;
            for (size_t r = 0; r < batch; ++r)
                s += (R)dz[r * out + o] * x[r * in + i];
            dw[o * in + i] = (double)s;
        }
    for (size_t r = 0; st == CLACT_OK && dx && r < batch; ++r)
        for (size_t i = 0; i < in; ++i) {
            R s = 0;
            for (size_t o = 0; o < out; ++o)
                s += (R)dz[r * out + o] * w[o * in + i];
            dx[r * in + i] = (double)s;
        }
    free(dz);
    return st;
}
