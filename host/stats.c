/* SPDX-License-Identifier: MIT */
/* Training diagnostics: per-unit dead/saturated counts and a tensor's sum of squares
 * (kernels/stats.cl). */
#include <math.h>
#include <stdint.h>

#include "internal.h"

/* The compute type's size: what clact_sum_squares writes (float, or double for f64). */
static size_t real_size(clact_dtype dtype) { return dtype == CLACT_F64 ? 8 : 4; }

static clact_status unit_stats(clact__call *call, size_t rows, size_t units, clact_buffer y,
                               double lo, double hi, clact_buffer counts) {
    clact_context *ctx = call->ctx;
    CLACT__RETURN_IF(isnan(lo) || isnan(hi), ctx, CLACT_INVALID_ARGUMENT,
                     "lo and hi must be numbers, not %g and %g", lo, hi);
    CLACT__RETURN_IF(units && rows > SIZE_MAX / units, ctx, CLACT_INVALID_ARGUMENT,
                     "rows x units (%zu x %zu) overflows", rows, units);
    CLACT__RETURN_IF(units > SIZE_MAX / 2, ctx, CLACT_INVALID_ARGUMENT, "units %zu is too large",
                     units);
    clact__buf bufs[2] = {{"y", y.mem, y.offset, rows * units, clact_dtype_size(call->dtype), 0, -1},
                          {"counts", counts.mem, counts.offset, 2 * units, sizeof(cl_uint), 1, -1}};
    CLACT__FORWARD(clact__check_buffers(ctx, bufs, 2));
    if (rows == 0 || units == 0)
        return clact__marker(ctx, call->num_wait, call->wait_list, call->event);
    clact__kern k;
    CLACT__FORWARD(clact__kernel(ctx, CLACT__PROGRAM_ACTIVATION, call->dtype, "clact_unit_stats", &k));
    clact__arg_size(&k, rows);
    clact__arg_size(&k, units);
    clact__arg_buf(&k, y.mem, y.offset);
    clact__arg_buf(&k, counts.mem, counts.offset);
    clact__arg_real(&k, call->dtype, lo);
    clact__arg_real(&k, call->dtype, hi);
    return clact__launch(ctx, &k, units, 64, call->num_wait, call->wait_list, call->event);
}

clact_status clact_unit_stats(clact_context *ctx, clact_dtype dtype, size_t rows, size_t units,
                              clact_buffer y, double lo, double hi, clact_buffer counts,
                              cl_uint num_wait, const cl_event *wait_list, cl_event *event) {
    clact__call call;
    clact_status st = clact__begin(&call, ctx, "unit_stats", dtype, num_wait, wait_list, event);
    size_t shape[2] = {rows, units};
    call.ndim = 2;
    call.shape = shape;
    if (st == CLACT_OK)
        st = unit_stats(&call, rows, units, y, lo, hi, counts);
    return clact__end(&call, st);
}

static clact_status sum_squares(clact__call *call, size_t n, clact_buffer x, clact_buffer out) {
    clact_context *ctx = call->ctx;
    clact__buf bufs[2] = {{"x", x.mem, x.offset, n, clact_dtype_size(call->dtype), 0, -1},
                          {"out", out.mem, out.offset, 1, real_size(call->dtype), 1, -1}};
    /* x with n = 0 may be NULL: nothing is read. */
    const clact__buf *b = n ? bufs : bufs + 1;
    CLACT__FORWARD(clact__check_buffers(ctx, b, n ? 2 : 1));
    clact__kern k;
    CLACT__FORWARD(clact__kernel(ctx, CLACT__PROGRAM_ACTIVATION, call->dtype, "clact_sum_squares", &k));
    clact__arg_size(&k, n);
    clact__arg_buf(&k, n ? x.mem : out.mem, n ? x.offset : 0);
    clact__arg_buf(&k, out.mem, out.offset);
    return clact__launch_groups(ctx, &k, 1, 256, call->num_wait, call->wait_list, call->event);
}

clact_status clact_sum_squares(clact_context *ctx, clact_dtype dtype, size_t n, clact_buffer x,
                               clact_buffer out, cl_uint num_wait, const cl_event *wait_list,
                               cl_event *event) {
    clact__call call;
    clact_status st = clact__begin(&call, ctx, "sum_squares", dtype, num_wait, wait_list, event);
    call.n = n;
    if (st == CLACT_OK)
        st = sum_squares(&call, n, x, out);
    return clact__end(&call, st);
}
