/* SPDX-License-Identifier: MIT */
/* CPU references of the training diagnostics (host/stats.c), on host arrays. */
#include <limits.h>
#include <math.h>

#include "clact/clact.h"

clact_status clact_reference_unit_stats(clact_dtype dtype, size_t rows, size_t units,
                                        const double *y, double lo, double hi, unsigned *counts) {
    if ((unsigned)dtype >= CLACT_DTYPE_COUNT || isnan(lo) || isnan(hi) ||
        (rows && units && (!y || !counts)) || (units && !counts))
        return CLACT_INVALID_ARGUMENT;
    /* The device compares in its compute type: float unless f64. */
    int as_float = dtype != CLACT_F64;
    double l = as_float ? (double)(float)lo : lo, h = as_float ? (double)(float)hi : hi;
    for (size_t u = 0; u < units; ++u) {
        unsigned long long live = counts[u], sat = counts[units + u];
        for (size_t r = 0; r < rows; ++r) {
            double v = y[r * units + u];
            live += !(v == 0.0);
            sat += v <= l || v >= h;
        }
        counts[u] = live > UINT_MAX ? UINT_MAX : (unsigned)live;
        counts[units + u] = sat > UINT_MAX ? UINT_MAX : (unsigned)sat;
    }
    return CLACT_OK;
}

clact_status clact_reference_sum_squares(size_t n, const double *x, double *out) {
    if (!out || (n && !x))
        return CLACT_INVALID_ARGUMENT;
    long double s = 0.0L;
    for (size_t i = 0; i < n; ++i)
        s += (long double)x[i] * x[i];
    *out = (double)s;
    return CLACT_OK;
}
