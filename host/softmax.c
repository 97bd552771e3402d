/* SPDX-License-Identifier: MIT */
/* Softmax, LogSoftmax, Softmin over one dimension of a C-order tensor, forward and backward:
 * shape checks, the choice of kernel shape per device, and the launches. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

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

/* What the forward and backward calls check after the frame's prologue: the kind, and the
 * shape, split at dim. */
static clact_status check_shape(clact__call *call, clact_softmax_kind kind, int ndim,
                                const size_t *shape, int dim, size_t *outer, size_t *C,
                                size_t *inner, size_t *total) {
    CLACT__RETURN_IF(!clact_softmax_kind_name(kind), call->ctx, CLACT_INVALID_ARGUMENT,
                     "unknown softmax kind %d", (int)kind);
    CLACT__FORWARD(clact__shape_split(call->ctx, ndim, shape, dim, outer, C, inner, total));
    call->ndim = ndim;
    call->shape = shape;
    return CLACT_OK;
}

/* One work-item per row runs 20x faster than one work-group per row on CPU devices (PoCL) and
 * the opposite on GPUs (shared/BENCH.md). Few long rows would leave compute units idle either
 * way: they are split into chunks. CLACT_SOFTMAX_PATH=rows|group|split overrides the choice
 * (tuning and tests). */
static clact__softmax_path choose_path(const clact_context *ctx, size_t rows, size_t C,
                                       size_t *chunk) {
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
    if (ctx->env.softmax_path != CLACT__PATH_AUTO)
        return ctx->env.softmax_path;
    /* On GPUs the split path's work-items each sweep a chunk alone (uncoalesced), so it is for
     * rows too few to give every compute unit a work-group: on an H200 (132 units), 2048 rows of
     * 32768 floats ran at 0.037 of copy split and 0.39 as a work-group per row (bench/RESULTS.md,
     * "NVIDIA H200"). */
    if (rows < (cpu ? want : units) && C >= 2 * 4096)
        return CLACT__PATH_SPLIT;
    return cpu ? CLACT__PATH_ROWS : CLACT__PATH_GROUP;
}

/* The split path's two kernels take the same leading arguments. */
static void split_args(clact__kern *k, size_t rows, size_t C, size_t chunk, size_t nch, cl_mem x,
                       size_t x_offset, cl_mem y, size_t y_offset, cl_mem part, cl_int kind) {
    clact__arg_size(k, rows);
    clact__arg_size(k, C);
    clact__arg_size(k, chunk);
    clact__arg_size(k, nch);
    clact__arg_buf(k, x, x_offset);
    clact__arg_buf(k, y, y_offset);
    CLACT__ARG(k, part);
    CLACT__ARG(k, kind);
}

/* Long rows: a partial kernel per chunk (statistics into the context's scratch buffer), then a
 * finishing kernel. Every argument of both is set before the first launch, so that nothing that
 * can be checked fails after the output started being written. */
static clact_status run_split(clact__call *call, cl_int kind, cl_int safe, size_t rows, size_t C,
                              size_t chunk, cl_mem x, size_t x_offset, cl_mem y, size_t y_offset) {
    clact_context *ctx = call->ctx;
    size_t nch = (C + chunk - 1) / chunk;
    clact__kern kp, kf;
    CLACT__FORWARD(
        clact__kernel(ctx, CLACT__PROGRAM_SOFTMAX, call->dtype, "clact_softmax_partial", &kp));
    CLACT__FORWARD(
        clact__kernel(ctx, CLACT__PROGRAM_SOFTMAX, call->dtype, "clact_softmax_finish", &kf));
    cl_event stack[16], *waits;
    cl_uint nw;
    size_t real_size = call->dtype == CLACT_F64 ? sizeof(cl_double) : sizeof(cl_float);
    CLACT__FORWARD(clact__scratch_begin(ctx, (size_t)(rows * nch * 3 * real_size), call->num_wait,
                                        call->wait_list, stack, &waits, &nw));
    cl_mem part = ctx->scratch;
    split_args(&kp, rows, C, chunk, nch, x, x_offset, y, y_offset, part, kind);
    split_args(&kf, rows, C, chunk, nch, x, x_offset, y, y_offset, part, kind);
    CLACT__ARG(&kf, safe);
    cl_event partial = NULL, done = NULL;
    clact_status st = clact__args_status(ctx, &kp);
    if (st == CLACT_OK)
        st = clact__args_status(ctx, &kf);
    if (st == CLACT_OK)
        st = clact__launch(ctx, &kp, (size_t)(rows * nch), 64, nw, nw ? waits : NULL, &partial);
    if (waits != stack)
        free(waits);
    if (st == CLACT_OK)
        st = clact__launch(ctx, &kf, (size_t)(rows * nch), 64, 1, &partial, &done);
    /* The scratch buffer's next user waits for the last kernel that was enqueued on it, also
     * when the finishing launch failed after the partial one was enqueued. */
    clact__scratch_end(ctx, done ? done : partial);
    if (partial)
        clReleaseEvent(partial);
    if (done && call->event)
        *call->event = done;
    else if (done)
        clReleaseEvent(done);
    return st;
}

/* How many consecutive rows each work-item of the rows kernel takes. Several, so that each row's
 * sweep can read the next row's start while it computes (kernels/softmax.cl), as long as that
 * leaves 16 work-groups of 16 per compute unit to balance the load; at most 8 rows each. On
 * PoCL, 2 cores, 16M floats, against a copy kernel launched alternately: rows of 1000
 * 0.70 -> 0.76-0.78 of copy with 2 to 32 rows per item, rows of 4096 0.735 -> 0.78 with 8; rows
 * of 32768 (512 rows) 0.86 -> 0.77 with 4, too few work-groups. CLACT_SOFTMAX_ROWS_PER_ITEM=N
 * overrides it (tests and tuning). */
static cl_ulong rows_per_item(const clact_context *ctx, size_t rows) {
    cl_ulong per_item = rows / (256 * (ctx->compute_units ? ctx->compute_units : 1));
    per_item = per_item > 8 ? 8 : per_item;
    if (ctx->env.rows_per_item)
        per_item = ctx->env.rows_per_item;
    return per_item < 1 ? 1 : per_item > rows ? rows : per_item;
}

static clact_status run_strided(clact__call *call, cl_int kind, cl_int safe, size_t outer, size_t C,
                                size_t inner, cl_mem x, size_t x_offset, cl_mem y,
                                size_t y_offset) {
    clact_context *ctx = call->ctx;
    clact__kern k;
    CLACT__FORWARD(
        clact__kernel(ctx, CLACT__PROGRAM_SOFTMAX, call->dtype, "clact_softmax_strided", &k));
    clact__arg_size(&k, outer);
    clact__arg_size(&k, C);
    clact__arg_size(&k, inner);
    clact__arg_buf(&k, x, x_offset);
    clact__arg_buf(&k, y, y_offset);
    CLACT__ARG(&k, kind);
    CLACT__ARG(&k, safe);
    return clact__launch(ctx, &k, outer * inner, 64, call->num_wait, call->wait_list, call->event);
}

/* Contiguous rows: one work-item per run of rows (CPU devices) or one work-group per row. */
static clact_status run_rows(clact__call *call, clact__softmax_path p, cl_int kind, cl_int safe,
                             size_t rows, size_t C, cl_mem x, size_t x_offset, cl_mem y,
                             size_t y_offset) {
    clact_context *ctx = call->ctx;
    const char *name = p == CLACT__PATH_ROWS ? "clact_softmax_rows" : "clact_softmax_group";
    clact__kern k;
    CLACT__FORWARD(clact__kernel(ctx, CLACT__PROGRAM_SOFTMAX, call->dtype, name, &k));
    clact__arg_size(&k, rows);
    clact__arg_size(&k, C);
    clact__arg_buf(&k, x, x_offset);
    clact__arg_buf(&k, y, y_offset);
    CLACT__ARG(&k, kind);
    CLACT__ARG(&k, safe);
    if (p == CLACT__PATH_GROUP) /* the kernel's reduction halves a power of two up to 256 */
        return clact__launch_groups(ctx, &k, rows, 256, call->num_wait, call->wait_list,
                                    call->event);
    cl_ulong per_item = rows_per_item(ctx, rows);
    CLACT__ARG(&k, per_item);
    /* f16 and bf16 softmax and softmin keep their exps in a float row of local memory per
     * work-item (kernels/softmax.cl), rows of up to half the device's local memory; longer rows
     * take them again from x. Work-groups of one work-item for these types: the row then stays
     * in the core's L1 (16 KiB for rows of 4096). One group size per kernel whatever the shape
     * (clact__launch). f32 and f64 keep them in y, and the local argument is a 4-byte stub. */
    int half = call->dtype == CLACT_F16 || call->dtype == CLACT_BF16;
    size_t local = half ? 1 : 16;
    cl_ulong stride = (C + 15) / 16 * 16;
    if (!half || kind == CLACT_LOG_SOFTMAX || stride > ctx->local_mem / 2 / sizeof(cl_float))
        stride = 0;
    clact__arg(&k, stride ? (size_t)stride * sizeof(cl_float) : sizeof(cl_float), NULL);
    CLACT__ARG(&k, stride);
    return clact__launch(ctx, &k, (size_t)((rows + per_item - 1) / per_item), local, call->num_wait,
                         call->wait_list, call->event);
}

static clact_status softmax(clact__call *call, clact_softmax_kind kind, unsigned flags, int ndim,
                            const size_t *shape, int dim, cl_mem x, size_t x_offset, cl_mem y,
                            size_t y_offset) {
    clact_context *ctx = call->ctx;
    size_t outer, C, inner, total;
    CLACT__FORWARD(check_shape(call, kind, ndim, shape, dim, &outer, &C, &inner, &total));
    CLACT__RETURN_IF(flags & ~CLACT_SOFTMAX_SAFE, ctx, CLACT_INVALID_ARGUMENT, "unknown flags 0x%x",
                     flags);
    CLACT__FORWARD(
        clact__check_io(ctx, total, clact_dtype_size(call->dtype), x, x_offset, y, y_offset));
    if (total == 0)
        return clact__marker(ctx, call->num_wait, call->wait_list, call->event);
    cl_int k = (cl_int)kind, safe = (flags & CLACT_SOFTMAX_SAFE) ? 1 : 0;
    if (inner > 1)
        return run_strided(call, k, safe, outer, C, inner, x, x_offset, y, y_offset);
    size_t chunk;
    clact__softmax_path p = choose_path(ctx, outer, C, &chunk);
    if (p == CLACT__PATH_SPLIT)
        return run_split(call, k, safe, outer, C, chunk, x, x_offset, y, y_offset);
    return run_rows(call, p, k, safe, outer, C, x, x_offset, y, y_offset);
}

static clact_status softmax_backward(clact__call *call, clact_softmax_kind kind, int ndim,
                                     const size_t *shape, int dim, cl_mem y, size_t y_offset,
                                     cl_mem dy, size_t dy_offset, cl_mem dx, size_t dx_offset) {
    clact_context *ctx = call->ctx;
    size_t outer, C, inner, total, es = clact_dtype_size(call->dtype);
    CLACT__FORWARD(check_shape(call, kind, ndim, shape, dim, &outer, &C, &inner, &total));
    /* dx is the output: y -> dx and dy -> dx must each be in-place or disjoint. */
    CLACT__FORWARD(clact__check_io(ctx, total, es, y, y_offset, dx, dx_offset));
    CLACT__FORWARD(clact__check_io(ctx, total, es, dy, dy_offset, dx, dx_offset));
    if (total == 0)
        return clact__marker(ctx, call->num_wait, call->wait_list, call->event);
    clact__kern k;
    CLACT__FORWARD(
        clact__kernel(ctx, CLACT__PROGRAM_SOFTMAX, call->dtype, "clact_softmax_backward", &k));
    cl_int kd = (cl_int)kind;
    clact__arg_size(&k, outer);
    clact__arg_size(&k, C);
    clact__arg_size(&k, inner);
    clact__arg_buf(&k, y, y_offset);
    clact__arg_buf(&k, dy, dy_offset);
    clact__arg_buf(&k, dx, dx_offset);
    CLACT__ARG(&k, kd);
    return clact__launch(ctx, &k, outer * inner, 64, call->num_wait, call->wait_list, call->event);
}

/* The op's name for messages and CLACT_VERBOSE ("softmax", "log_softmax_backward"). */
static const char *kind_label(clact_softmax_kind kind, const char *suffix, char *buf, size_t len) {
    const char *name = clact_softmax_kind_name(kind);
    snprintf(buf, len, "%s%s", name ? name : "softmax", suffix);
    return buf;
}

clact_status clact_softmax(clact_context *ctx, clact_softmax_kind kind, unsigned flags,
                           clact_dtype dtype, int ndim, const size_t *shape, int dim, cl_mem x,
                           size_t x_offset, cl_mem y, size_t y_offset, cl_uint num_wait,
                           const cl_event *wait_list, cl_event *event) {
    clact__call call;
    char label[40];
    clact_status st = clact__begin(&call, ctx, kind_label(kind, "", label, sizeof label), dtype,
                                   num_wait, wait_list, event);
    if (st == CLACT_OK)
        st = softmax(&call, kind, flags, ndim, shape, dim, x, x_offset, y, y_offset);
    return clact__end(&call, st);
}

clact_status clact_softmax_backward(clact_context *ctx, clact_softmax_kind kind, clact_dtype dtype,
                                    int ndim, const size_t *shape, int dim, cl_mem y,
                                    size_t y_offset, cl_mem dy, size_t dy_offset, cl_mem dx,
                                    size_t dx_offset, cl_uint num_wait, const cl_event *wait_list,
                                    cl_event *event) {
    clact__call call;
    char label[40];
    clact_status st = clact__begin(&call, ctx, kind_label(kind, "_backward", label, sizeof label),
                                   dtype, num_wait, wait_list, event);
    if (st == CLACT_OK)
        st = softmax_backward(&call, kind, ndim, shape, dim, y, y_offset, dy, dy_offset, dx,
                              dx_offset);
    return clact__end(&call, st);
}
