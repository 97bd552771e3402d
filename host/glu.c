/* SPDX-License-Identifier: MIT */
/* GLU (F.glu), forward and backward: PyTorch's shape checks and the launches of kernels/glu.cl. */
#include "internal.h"

/* The input's shape as the kernels see it: outer rows of 2 L elements (L of a, then L of b),
 * total elements in all; PyTorch's checks (a dimension to halve, of even size). */
static clact_status glu_shape(clact__call *call, int ndim, const size_t *shape, int dim,
                              size_t *outer, size_t *L, size_t *total) {
    clact_context *ctx = call->ctx;
    size_t C, inner;
    CLACT__RETURN_IF(ndim == 0, ctx, CLACT_INVALID_ARGUMENT,
                     "%s: a 0-dimensional input has no dimension to halve (PyTorch: glu does not "
                     "support scalars)",
                     call->op);
    CLACT__FORWARD(clact__shape_split(ctx, ndim, shape, dim, outer, &C, &inner, total));
    CLACT__RETURN_IF(C % 2, ctx, CLACT_INVALID_ARGUMENT,
                     "%s: halving dimension must be even, but dimension %d is size %zu", call->op,
                     dim < 0 ? dim + ndim : dim, C);
    *L = C / 2 * inner;
    call->ndim = ndim;
    call->shape = shape;
    return CLACT_OK;
}

/* One work-item per vector of outputs (kernels/glu.cl). */
static clact_status glu_launch(clact__call *call, clact__kern *k, size_t outputs) {
    clact_context *ctx = call->ctx;
    size_t items = (outputs + ctx->vector_width - 1) / ctx->vector_width;
    return clact__launch(ctx, k, items, 256, call->num_wait, call->wait_list, call->event);
}

static clact_status glu(clact__call *call, int ndim, const size_t *shape, int dim, cl_mem x,
                        size_t x_offset, cl_mem y, size_t y_offset) {
    clact_context *ctx = call->ctx;
    size_t outer, L, total, es = clact_dtype_size(call->dtype);
    CLACT__FORWARD(glu_shape(call, ndim, shape, dim, &outer, &L, &total));
    const clact__buf b[2] = {{"x (input buffer)", x, x_offset, total, es, 0, -1},
                             {"y (output buffer)", y, y_offset, total / 2, es, 1, -1}};
    CLACT__FORWARD(clact__check_buffers(ctx, b, 2));
    if (total == 0)
        return clact__marker(ctx, call->num_wait, call->wait_list, call->event);
    clact__kern k;
    CLACT__FORWARD(clact__kernel(ctx, CLACT__PROGRAM_ACTIVATION, call->dtype, "clact_glu", &k));
    clact__arg_size(&k, total / 2);
    clact__arg_size(&k, L);
    clact__arg_buf(&k, x, x_offset);
    clact__arg_buf(&k, y, y_offset);
    return glu_launch(call, &k, total / 2);
}

static clact_status glu_backward(clact__call *call, int ndim, const size_t *shape, int dim,
                                 cl_mem x, size_t x_offset, cl_mem dy, size_t dy_offset, cl_mem dx,
                                 size_t dx_offset) {
    clact_context *ctx = call->ctx;
    size_t outer, L, total, es = clact_dtype_size(call->dtype);
    CLACT__FORWARD(glu_shape(call, ndim, shape, dim, &outer, &L, &total));
    /* dx may be x itself (each work-item reads its a and b before writing their gradients). */
    const clact__buf b[3] = {{"x (input buffer)", x, x_offset, total, es, 0, -1},
                             {"dy (output gradient)", dy, dy_offset, total / 2, es, 0, -1},
                             {"dx (input gradient)", dx, dx_offset, total, es, 1, 0}};
    CLACT__FORWARD(clact__check_buffers(ctx, b, 3));
    if (total == 0)
        return clact__marker(ctx, call->num_wait, call->wait_list, call->event);
    clact__kern k;
    CLACT__FORWARD(
        clact__kernel(ctx, CLACT__PROGRAM_ACTIVATION, call->dtype, "clact_glu_backward", &k));
    clact__arg_size(&k, total / 2);
    clact__arg_size(&k, L);
    clact__arg_buf(&k, x, x_offset);
    clact__arg_buf(&k, dy, dy_offset);
    clact__arg_buf(&k, dx, dx_offset);
    return glu_launch(call, &k, total / 2);
}

clact_status clact_glu(clact_context *ctx, clact_dtype dtype, int ndim, const size_t *shape,
                       int dim, cl_mem x, size_t x_offset, cl_mem y, size_t y_offset,
                       cl_uint num_wait, const cl_event *wait_list, cl_event *event) {
    clact__call call;
    clact_status st = clact__begin(&call, ctx, "glu", dtype, num_wait, wait_list, event);
    if (st == CLACT_OK)
        st = glu(&call, ndim, shape, dim, x, x_offset, y, y_offset);
    return clact__end(&call, st);
}

clact_status clact_glu_backward(clact_context *ctx, clact_dtype dtype, int ndim,
                                const size_t *shape, int dim, cl_mem x, size_t x_offset, cl_mem dy,
                                size_t dy_offset, cl_mem dx, size_t dx_offset, cl_uint num_wait,
                                const cl_event *wait_list, cl_event *event) {
    clact__call call;
    clact_status st = clact__begin(&call, ctx, "glu_backward", dtype, num_wait, wait_list, event);
    if (st == CLACT_OK)
        st = glu_backward(&call, ndim, shape, dim, x, x_offset, dy, dy_offset, dx, dx_offset);
    return clact__end(&call, st);
}
