/* SPDX-License-Identifier: MIT */
/* Softmax, LogSoftmax, Softmin over one dimension of a C-order tensor, forward and backward:
 * shape checks, the choice of kernel shape per device, and the launches. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

clact_status clact__shape_split(clact_context *ctx, int ndim, const size_t *shape, int dim,
                                size_t *outer, size_t *C, size_t *inner, size_t *total) {
    if (!shape)
        return clact__fail(ctx, CLACT_INVALID_ARGUMENT, "shape is NULL");
    if (ndim < 1 || ndim > CLACT_MAX_DIMS)
        return clact__fail(ctx, CLACT_INVALID_ARGUMENT, "ndim %d is outside 1..%d", ndim,
                           CLACT_MAX_DIMS);
    if (dim < -ndim || dim >= ndim)
        return clact__fail(ctx, CLACT_INVALID_ARGUMENT,
                           "dim %d is out of range for a %d-dimensional tensor (expected %d..%d)",
                           dim, ndim, -ndim, ndim - 1);
    if (dim < 0)
        dim += ndim;
    size_t o = 1, in = 1, t = 1;
    int zero = 0;
    for (int i = 0; i < ndim; ++i) {
        zero |= shape[i] == 0;
        if (shape[i] && t > SIZE_MAX / shape[i])
            return clact__fail(ctx, CLACT_INVALID_ARGUMENT, "the shape's element count overflows");
        t *= shape[i] ? shape[i] : 1;
        if (i < dim)
            o *= shape[i];
        else if (i > dim)
            in *= shape[i];
    }
    *outer = o;
    *C = shape[dim];
    *inner = in;
    *total = zero ? 0 : t;
    return CLACT_OK;
}

/* What the forward and backward calls check first: the event out-parameter, the context, the
 * kind and dtype, the wait list, and the shape, split at dim. */
static clact_status prologue(clact_context *ctx, clact_softmax_kind kind, clact_dtype dtype,
                             int ndim, const size_t *shape, int dim, cl_uint num_wait,
                             const cl_event *wait_list, cl_event *event, size_t *outer, size_t *C,
                             size_t *inner, size_t *total) {
    if (event)
        *event = NULL;
    if (!ctx)
        return clact__fail(NULL, CLACT_INVALID_ARGUMENT, "ctx is NULL");
    clact__clear_error(ctx);
    if (!clact_softmax_kind_name(kind))
        return clact__fail(ctx, CLACT_INVALID_ARGUMENT, "unknown softmax kind %d", (int)kind);
    clact_status st;
    if ((st = clact__check_dtype(ctx, dtype, clact_softmax_kind_name(kind))) != CLACT_OK ||
        (st = clact__check_events(ctx, num_wait, wait_list)) != CLACT_OK)
        return st;
    return clact__shape_split(ctx, ndim, shape, dim, outer, C, inner, total);
}

typedef enum path { PATH_ROWS, PATH_GROUP, PATH_SPLIT } path;

/* One work-item per row runs 20x faster than one work-group per row on CPU devices (PoCL) and
 * the opposite on GPUs (shared/BENCH.md). Few long rows would leave compute units idle either
 * way: they are split into chunks. CLACT_SOFTMAX_PATH=rows|group|split overrides the choice
 * (tuning and tests). */
static path choose_path(const clact_context *ctx, size_t rows, size_t C, size_t *chunk) {
    size_t units = ctx->compute_units;
    int cpu = (ctx->device_type & CL_DEVICE_TYPE_CPU) != 0;
    /* Enough chunks for every compute unit (several per unit on GPUs), each at least 4096. */
    size_t want = cpu ? 2 * units : 16 * units;
    size_t per_row = (want + rows - 1) / rows;
    size_t c = (C + per_row - 1) / per_row;
    if (c < 4096)
        c = 4096;
    c = (c + 15) / 16 * 16; /* whole vectors in every chunk but the last */
    *chunk = c;
    const char *force = getenv("CLACT_SOFTMAX_PATH");
    if (force && !strcmp(force, "rows"))
        return PATH_ROWS;
    if (force && !strcmp(force, "group"))
        return PATH_GROUP;
    if (force && !strcmp(force, "split"))
        return PATH_SPLIT;
    if (rows < want && C >= 2 * 4096)
        return PATH_SPLIT;
    return cpu ? PATH_ROWS : PATH_GROUP;
}

#define SET(k, i, v)                                                                               \
    do {                                                                                           \
        cl_int e_ = clSetKernelArg(k, i, sizeof(v), &(v));                                         \
        if (e_ != CL_SUCCESS)                                                                      \
            return clact__fail_cl(ctx, e_, "clSetKernelArg");                                      \
    } while (0)

static clact_status run_split(clact_context *ctx, clact_dtype dtype, cl_int kind, cl_int safe,
                              size_t rows, size_t C, size_t chunk, cl_mem x, size_t x_offset,
                              cl_mem y, size_t y_offset, cl_uint num_wait,
                              const cl_event *wait_list, cl_event *event) {
    cl_ulong r = rows, c = C, ch = chunk, nch = (C + chunk - 1) / chunk, xo = x_offset,
             yo = y_offset;
    clact_status st;
    cl_kernel kp, kf;
    size_t wp, wf;
    if ((st = clact__kernel(ctx, CLACT__PROGRAM_SOFTMAX, dtype, "clact_softmax_partial", &kp,
                            &wp)) != CLACT_OK ||
        (st = clact__kernel(ctx, CLACT__PROGRAM_SOFTMAX, dtype, "clact_softmax_finish", &kf,
                            &wf)) != CLACT_OK)
        return st;
    cl_event stack[16], *waits;
    cl_uint nw;
    if ((st = clact__scratch_begin(
             ctx,
             (size_t)(r * nch * 3 * (dtype == CLACT_F64 ? sizeof(cl_double) : sizeof(cl_float))),
             num_wait, wait_list, stack, &waits, &nw)) != CLACT_OK)
        return st;
    cl_mem part = ctx->scratch;
    /* Arguments are collected with |= so that a failure still frees the wait list below. */
    cl_int err = clSetKernelArg(kp, 0, sizeof r, &r);
    err |= clSetKernelArg(kp, 1, sizeof c, &c);
    err |= clSetKernelArg(kp, 2, sizeof ch, &ch);
    err |= clSetKernelArg(kp, 3, sizeof nch, &nch);
    err |= clSetKernelArg(kp, 4, sizeof x, &x);
    err |= clSetKernelArg(kp, 5, sizeof xo, &xo);
    err |= clSetKernelArg(kp, 6, sizeof y, &y);
    err |= clSetKernelArg(kp, 7, sizeof yo, &yo);
    err |= clSetKernelArg(kp, 8, sizeof part, &part);
    err |= clSetKernelArg(kp, 9, sizeof kind, &kind);
    err |= clSetKernelArg(kf, 0, sizeof r, &r);
    err |= clSetKernelArg(kf, 1, sizeof c, &c);
    err |= clSetKernelArg(kf, 2, sizeof ch, &ch);
    err |= clSetKernelArg(kf, 3, sizeof nch, &nch);
    err |= clSetKernelArg(kf, 4, sizeof x, &x);
    err |= clSetKernelArg(kf, 5, sizeof xo, &xo);
    err |= clSetKernelArg(kf, 6, sizeof y, &y);
    err |= clSetKernelArg(kf, 7, sizeof yo, &yo);
    err |= clSetKernelArg(kf, 8, sizeof part, &part);
    err |= clSetKernelArg(kf, 9, sizeof kind, &kind);
    err |= clSetKernelArg(kf, 10, sizeof safe, &safe);
    cl_event partial = NULL;
    if (err != CL_SUCCESS)
        st = clact__fail(ctx, CLACT_OPENCL_ERROR, "clSetKernelArg failed for the split softmax");
    else
        st = clact__launch(ctx, kp, wp, (size_t)(r * nch), 64, nw, nw ? waits : NULL, &partial);
    if (waits != stack)
        free(waits);
    if (st != CLACT_OK)
        return st;
    cl_event done = NULL;
    st = clact__launch(ctx, kf, wf, (size_t)(r * nch), 64, 1, &partial, &done);
    clReleaseEvent(partial);
    if (st != CLACT_OK)
        return st;
    clact__scratch_end(ctx, done);
    if (event)
        *event = done;
    else
        clReleaseEvent(done);
    return CLACT_OK;
}

static clact_status clact_softmax_impl(clact_context *ctx, clact_softmax_kind kind, unsigned flags,
                                       clact_dtype dtype, int ndim, const size_t *shape, int dim,
                                       cl_mem x, size_t x_offset, cl_mem y, size_t y_offset,
                                       cl_uint num_wait, const cl_event *wait_list,
                                       cl_event *event) {
    size_t outer, C, inner, total;
    clact_status st = prologue(ctx, kind, dtype, ndim, shape, dim, num_wait, wait_list, event,
                               &outer, &C, &inner, &total);
    if (st != CLACT_OK)
        return st;
    if (flags & ~CLACT_SOFTMAX_SAFE)
        return clact__fail(ctx, CLACT_INVALID_ARGUMENT, "unknown flags 0x%x", flags);
    if ((st = clact__check_io(ctx, total, clact_dtype_size(dtype), x, x_offset, y, y_offset)) !=
        CLACT_OK)
        return st;
    if (total == 0)
        return clact__marker(ctx, num_wait, wait_list, event);

    cl_int k = (cl_int)kind, safe = (flags & CLACT_SOFTMAX_SAFE) ? 1 : 0;
    cl_ulong xo = x_offset, yo = y_offset, c = C;
    cl_kernel kernel;
    size_t wg;
    if (inner > 1) {
        if ((st = clact__kernel(ctx, CLACT__PROGRAM_SOFTMAX, dtype, "clact_softmax_strided",
                                &kernel, &wg)) != CLACT_OK)
            return st;
        cl_ulong o = outer, in = inner;
        SET(kernel, 0, o);
        SET(kernel, 1, c);
        SET(kernel, 2, in);
        SET(kernel, 3, x);
        SET(kernel, 4, xo);
        SET(kernel, 5, y);
        SET(kernel, 6, yo);
        SET(kernel, 7, k);
        SET(kernel, 8, safe);
        return clact__launch(ctx, kernel, wg, outer * inner, 64, num_wait, wait_list, event);
    }
    size_t chunk;
    path p = choose_path(ctx, outer, C, &chunk);
    if (p == PATH_SPLIT)
        return run_split(ctx, dtype, k, safe, outer, C, chunk, x, x_offset, y, y_offset, num_wait,
                         wait_list, event);
    const char *name = p == PATH_ROWS ? "clact_softmax_rows" : "clact_softmax_group";
    if ((st = clact__kernel(ctx, CLACT__PROGRAM_SOFTMAX, dtype, name, &kernel, &wg)) != CLACT_OK)
        return st;
    cl_ulong rows = outer;
    SET(kernel, 0, rows);
    SET(kernel, 1, c);
    SET(kernel, 2, x);
    SET(kernel, 3, xo);
    SET(kernel, 4, y);
    SET(kernel, 5, yo);
    SET(kernel, 6, k);
    SET(kernel, 7, safe);
    if (p == PATH_ROWS) {
        /* Several consecutive rows per work-item, so that each row's sweep can read the next
         * row's start while it computes (kernels/softmax.cl), as long as that leaves 16
         * work-groups of 16 per compute unit to balance the load; at most 8 rows each. On
         * PoCL, 2 cores, 16M floats, against a copy kernel launched alternately: rows of 1000
         * 0.70 -> 0.76-0.78 of copy with 2 to 32 rows per item, rows of 4096 0.735 -> 0.78
         * with 8; rows of 32768 (512 rows) 0.86 -> 0.77 with 4, too few work-groups.
         * CLACT_SOFTMAX_ROWS_PER_ITEM=N overrides it (tests and tuning). */
        cl_ulong per_item = outer / (256 * (ctx->compute_units ? ctx->compute_units : 1));
        per_item = per_item > 8 ? 8 : per_item;
        const char *force = getenv("CLACT_SOFTMAX_ROWS_PER_ITEM");
        if (force && *force)
            per_item = strtoull(force, NULL, 10);
        per_item = per_item < 1 ? 1 : per_item > outer ? outer : per_item;
        SET(kernel, 8, per_item);
        return clact__launch(ctx, kernel, wg, (size_t)((outer + per_item - 1) / per_item), 16,
                             num_wait, wait_list, event);
    }
    /* One work-group per row; the kernel's reduction wants a power of two up to 256. */
    size_t local = 1;
    while (local * 2 <= 256 && local * 2 <= wg)
        local *= 2;
    size_t global = outer * local;
    cl_int err = clEnqueueNDRangeKernel(ctx->queue, kernel, 1, NULL, &global, &local, num_wait,
                                        wait_list, event);
    if (err != CL_SUCCESS)
        return clact__fail_cl(ctx, err, "clEnqueueNDRangeKernel");
    return CLACT_OK;
}

static clact_status clact_softmax_backward_impl(clact_context *ctx, clact_softmax_kind kind,
                                                clact_dtype dtype, int ndim, const size_t *shape,
                                                int dim, cl_mem y, size_t y_offset, cl_mem dy,
                                                size_t dy_offset, cl_mem dx, size_t dx_offset,
                                                cl_uint num_wait, const cl_event *wait_list,
                                                cl_event *event) {
    size_t outer, C, inner, total;
    clact_status st = prologue(ctx, kind, dtype, ndim, shape, dim, num_wait, wait_list, event,
                               &outer, &C, &inner, &total);
    if (st != CLACT_OK)
        return st;
    /* dx is the output: y -> dx and dy -> dx must each be in-place or disjoint. */
    if ((st = clact__check_io(ctx, total, clact_dtype_size(dtype), y, y_offset, dx, dx_offset)) !=
            CLACT_OK ||
        (st = clact__check_io(ctx, total, clact_dtype_size(dtype), dy, dy_offset, dx, dx_offset)) !=
            CLACT_OK)
        return st;
    if (total == 0)
        return clact__marker(ctx, num_wait, wait_list, event);
    cl_kernel kernel;
    size_t wg;
    if ((st = clact__kernel(ctx, CLACT__PROGRAM_SOFTMAX, dtype, "clact_softmax_backward", &kernel,
                            &wg)) != CLACT_OK)
        return st;
    cl_ulong o = outer, c = C, in = inner, yo = y_offset, go = dy_offset, dxo = dx_offset;
    cl_int k = (cl_int)kind;
    SET(kernel, 0, o);
    SET(kernel, 1, c);
    SET(kernel, 2, in);
    SET(kernel, 3, y);
    SET(kernel, 4, yo);
    SET(kernel, 5, dy);
    SET(kernel, 6, go);
    SET(kernel, 7, dx);
    SET(kernel, 8, dxo);
    SET(kernel, 9, k);
    return clact__launch(ctx, kernel, wg, outer * inner, 64, num_wait, wait_list, event);
}

clact_status clact_softmax(clact_context *ctx, clact_softmax_kind kind, unsigned flags,
                           clact_dtype dtype, int ndim, const size_t *shape, int dim, cl_mem x,
                           size_t x_offset, cl_mem y, size_t y_offset, cl_uint num_wait,
                           const cl_event *wait_list, cl_event *event) {
    if (!clact__verbose_on() || !ctx)
        return clact_softmax_impl(ctx, kind, flags, dtype, ndim, shape, dim, x, x_offset, y,
                                  y_offset, num_wait, wait_list, event);
    cl_event mine = NULL, *ev = event ? event : &mine;
    ctx->last_origin = -1;
    clact_status st = clact_softmax_impl(ctx, kind, flags, dtype, ndim, shape, dim, x, x_offset, y,
                                         y_offset, num_wait, wait_list, ev);
    if (st == CLACT_OK)
        clact__verbose_report(ctx, clact_softmax_kind_name(kind), dtype, ndim, shape, 0, *ev);
    if (mine)
        clReleaseEvent(mine);
    return st;
}

clact_status clact_softmax_backward(clact_context *ctx, clact_softmax_kind kind, clact_dtype dtype,
                                    int ndim, const size_t *shape, int dim, cl_mem y,
                                    size_t y_offset, cl_mem dy, size_t dy_offset, cl_mem dx,
                                    size_t dx_offset, cl_uint num_wait, const cl_event *wait_list,
                                    cl_event *event) {
    if (!clact__verbose_on() || !ctx)
        return clact_softmax_backward_impl(ctx, kind, dtype, ndim, shape, dim, y, y_offset, dy,
                                           dy_offset, dx, dx_offset, num_wait, wait_list, event);
    cl_event mine = NULL, *ev = event ? event : &mine;
    ctx->last_origin = -1;
    clact_status st =
        clact_softmax_backward_impl(ctx, kind, dtype, ndim, shape, dim, y, y_offset, dy, dy_offset,
                                    dx, dx_offset, num_wait, wait_list, ev);
    if (st == CLACT_OK)
        clact__verbose_report(ctx,
                              kind == CLACT_SOFTMAX       ? "softmax_backward"
                              : kind == CLACT_LOG_SOFTMAX ? "log_softmax_backward"
                                                          : "softmin_backward",
                              dtype, ndim, shape, 0, *ev);
    if (mine)
        clReleaseEvent(mine);
    return st;
}
