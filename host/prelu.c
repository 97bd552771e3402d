/* SPDX-License-Identifier: MIT */
/* PReLU with a weight per channel (nn.PReLU(num_parameters)), forward and backward: PyTorch's
 * shape checks, the buffers' checks and the launches of kernels/prelu.cl, among them the weight
 * gradient's two-stage reduction through the context's scratch buffer. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* The input as the kernels see it: n elements, (N, C, inner) with element i in channel
 * (i / inner) % C; one weight is C = 1, inner = n. */
typedef struct prelu_dims {
    size_t n, N, C, inner;
} prelu_dims;

/* PyTorch's checks (ATen's prelu): one weight fits any input; more must equal the channel size,
 * shape[1] (1 for a 1-d input), and a 0-d input takes only one. */
static clact_status prelu_shape(clact__call *call, int ndim, const size_t *shape,
                                size_t num_parameters, prelu_dims *d) {
    clact_context *ctx = call->ctx;
    CLACT__RETURN_IF(ndim < 0 || ndim > CLACT_MAX_DIMS, ctx, CLACT_INVALID_ARGUMENT,
                     "%s: ndim %d is outside 0..%d", call->op, ndim, CLACT_MAX_DIMS);
    CLACT__RETURN_IF(ndim > 0 && !shape, ctx, CLACT_INVALID_ARGUMENT, "%s: shape is NULL",
                     call->op);
    size_t n = 1;
    int zero = 0;
    for (int i = 0; i < ndim; ++i) {
        zero |= shape[i] == 0;
        CLACT__RETURN_IF(shape[i] && n > SIZE_MAX / shape[i], ctx, CLACT_INVALID_ARGUMENT,
                         "%s: the shape's element count overflows", call->op);
        n *= shape[i] ? shape[i] : 1;
    }
    d->n = zero ? 0 : n;
    d->N = 1;
    d->C = 1;
    d->inner = d->n;
    if (num_parameters != 1) {
        CLACT__RETURN_IF(ndim == 0, ctx, CLACT_INVALID_ARGUMENT,
                         "%s: num_parameters is %zu but a 0-dimensional input has no channels "
                         "(PyTorch: Not allow zero-dim input tensor)",
                         call->op, num_parameters);
        size_t channels = ndim > 1 ? shape[1] : 1;
        CLACT__RETURN_IF(channels != num_parameters, ctx, CLACT_INVALID_ARGUMENT,
                         "%s: mismatch of parameter numbers and input channel size: "
                         "num_parameters = %zu and channel size = %zu (shape[1], 1 for a "
                         "1-dimensional input)",
                         call->op, num_parameters, channels);
        d->N = shape[0];
        d->C = num_parameters;
        d->inner = d->C && d->N ? d->n / (d->N * d->C) : 0;
    }
    call->ndim = ndim;
    call->shape = shape;
    call->n = d->n;
    return CLACT_OK;
}

/* The leading arguments of the forward and input-gradient kernels. */
static void prelu_args(clact__kern *k, const prelu_dims *d, cl_mem weight, size_t weight_offset,
                       cl_mem x, size_t x_offset) {
    clact__arg_size(k, d->n);
    clact__arg_size(k, d->C);
    clact__arg_size(k, d->inner);
    clact__arg_buf(k, weight, weight_offset);
    clact__arg_buf(k, x, x_offset);
}

static clact_status prelu_elementwise(clact__call *call, clact__kern *k) {
    clact_context *ctx = call->ctx;
    size_t items = (call->n + ctx->vector_width - 1) / ctx->vector_width;
    return clact__launch(ctx, k, items, 256, call->num_wait, call->wait_list, call->event);
}

static clact_status prelu(clact__call *call, int ndim, const size_t *shape, size_t num_parameters,
                          cl_mem weight, size_t weight_offset, cl_mem x, size_t x_offset, cl_mem y,
                          size_t y_offset) {
    clact_context *ctx = call->ctx;
    prelu_dims d;
    size_t es = clact_dtype_size(call->dtype);
    CLACT__FORWARD(prelu_shape(call, ndim, shape, num_parameters, &d));
    const clact__buf b[3] = {{"weight", weight, weight_offset, num_parameters, es, 0, -1},
                             {"x (input buffer)", x, x_offset, d.n, es, 0, -1},
                             {"y (output buffer)", y, y_offset, d.n, es, 1, 1}};
    CLACT__FORWARD(clact__check_buffers(ctx, b, 3));
    if (d.n == 0)
        return clact__marker(ctx, call->num_wait, call->wait_list, call->event);
    clact__kern k;
    CLACT__FORWARD(
        clact__kernel(ctx, CLACT__PROGRAM_ACTIVATION, call->dtype, "clact_prelu_channels", &k));
    prelu_args(&k, &d, weight, weight_offset, x, x_offset);
    clact__arg_buf(&k, y, y_offset);
    return prelu_elementwise(call, &k);
}

/* The backward's buffers: dx may be the very elements of x or of dy; dw overlaps nothing. */
typedef struct prelu_grads {
    cl_mem weight, x, dy, dx, dw;
    size_t wo, xo, dyo, dxo, dwo;
} prelu_grads;

static clact_status prelu_check_grads(clact__call *call, const prelu_dims *d, size_t np,
                                      const prelu_grads *g) {
    clact_context *ctx = call->ctx;
    size_t es = clact_dtype_size(call->dtype);
    const clact__buf in[3] = {{"weight", g->weight, g->wo, np, es, 0, -1},
                              {"x (input buffer)", g->x, g->xo, d->n, es, 0, -1},
                              {"dy (output gradient)", g->dy, g->dyo, d->n, es, 0, -1}};
    const clact__buf dx = {"dx (input gradient)", g->dx, g->dxo, d->n, es, 1, -1};
    const clact__buf dw = {"dw (weight gradient)", g->dw, g->dwo, np, es, 1, -1};
    clact__buf set[4] = {in[0], in[1], in[2], dw};
    CLACT__FORWARD(clact__check_buffers(ctx, set, g->dw ? 4 : 3));
    if (!g->dx)
        return CLACT_OK;
    for (int i = 0; i < 3; ++i) { /* in place on x or dy, never on the weight */
        clact__buf pair[2] = {in[i], dx};
        pair[1].alias = i ? 0 : -1;
        CLACT__FORWARD(clact__check_buffers(ctx, pair, 2));
    }
    const clact__buf outs[2] = {dx, dw};
    return g->dw ? clact__check_buffers(ctx, outs, 2) : CLACT_OK;
}

/* Channel runs shorter than this take the columns kernel (kernels/prelu.cl), longer ones the
 * runs kernel. */
enum { PRELU_SHORT_RUN = 64 };

static int on_cpu(const clact_context *ctx) { return (ctx->device_type & CL_DEVICE_TYPE_CPU) != 0; }

static size_t pow2_floor(size_t v) {
    size_t p = 1;
    while (p * 2 <= v)
        p *= 2;
    return p;
}

/* How the weight gradient's first stage covers the input, and G, the partial sums per channel
 * that the second merges. */
typedef struct dw_plan {
    int columns;              /* 1: clact_prelu_dw_columns; 0: clact_prelu_dw_runs */
    size_t G;                 /* partial sums per channel */
    size_t launch;            /* columns: work-items; runs: work-groups */
    size_t local;             /* runs: the group size (a power of 2, at most 256) */
    size_t RB, rows;          /* columns: row blocks, rows per block */
    size_t first, span, step; /* runs: item p sums t = p first + k step < p first + span */
} dw_plan;

/* Enough work to keep the device busy, and enough per work-item to pay for it. GPUs: 2048 items
 * per compute unit, neighbouring items on neighbouring elements. CPUs (PoCL: a work-group's items
 * run one after the other on one core): columns in blocks of 64 rows, so that the items of a group
 * (the next columns) find the rows' pages and lines the previous ones loaded; runs in at least 2
 * groups per core, whose items take contiguous chunks of at least 1024 elements. */
static void dw_plan_make(const clact_context *ctx, const prelu_dims *d, size_t runs_max_wg,
                         dw_plan *pl) {
    size_t units = ctx->compute_units ? ctx->compute_units : 1, M = d->N * d->inner;
    int cpu = on_cpu(ctx);
    memset(pl, 0, sizeof *pl);
    pl->columns = d->inner < PRELU_SHORT_RUN;
    if (pl->columns) { /* items of CLACT_VW columns over 64 rows (CPUs) or at least 16 (GPUs) */
        size_t R = d->C * d->inner, cols = (R + ctx->vector_width - 1) / ctx->vector_width;
        size_t rb = (units * 2048 + cols - 1) / cols, most = (d->N + 15) / 16;
        rb = cpu ? (d->N + 63) / 64 : rb < most ? rb : most;
        rb = rb ? rb : 1;
        pl->rows = (d->N + rb - 1) / rb;
        pl->RB = (d->N + pl->rows - 1) / pl->rows;
        pl->G = pl->RB * d->inner;
        pl->launch = cols * pl->RB;
        return;
    }
    size_t local = runs_max_wg < 256 ? runs_max_wg : 256;
    if (cpu && M / 1024 < local)
        local = M / 1024 ? M / 1024 : 1;
    pl->local = pow2_floor(local);
    size_t want = units * (cpu ? 2 : 8), most = (M + 4 * pl->local - 1) / (4 * pl->local);
    size_t g = (want + d->C - 1) / d->C;
    pl->G = g < most ? g : most;
    pl->G = pl->G ? pl->G : 1;
    pl->launch = d->C * pl->G;
    size_t P = pl->G * pl->local;
    if (cpu) { /* contiguous chunks */
        pl->first = pl->span = (M + P - 1) / P;
        pl->step = 1;
    } else { /* neighbouring items on neighbouring elements */
        pl->first = 1;
        pl->span = M;
        pl->step = P;
    }
}

static void dw_stage1_args(clact__kern *k, const prelu_dims *d, const dw_plan *pl,
                           const prelu_grads *g, cl_mem part) {
    size_t C = d->C, inner = d->inner;
    if (pl->columns) {
        clact__arg_size(k, d->N);
        clact__arg_size(k, C * inner);
        clact__arg_size(k, inner);
        clact__arg_size(k, C);
        clact__arg_size(k, pl->RB);
        clact__arg_size(k, pl->rows);
    } else {
        clact__arg_size(k, d->N * inner);
        clact__arg_size(k, inner);
        clact__arg_size(k, C * inner);
        clact__arg_size(k, pl->G);
        clact__arg_size(k, pl->first);
        clact__arg_size(k, pl->span);
        clact__arg_size(k, pl->step);
        clact__arg_size(k, pl->step % inner);
        clact__arg_size(k, pl->step / inner * C * inner + pl->step % inner);
        clact__arg_size(k, (C - 1) * inner);
    }
    cl_int write_dx = g->dx != NULL;
    clact__arg_buf(k, g->weight, g->wo);
    clact__arg_buf(k, g->x, g->xo);
    clact__arg_buf(k, g->dy, g->dyo);
    clact__arg_buf(k, g->dx ? g->dx : g->dy, g->dx ? g->dxo : 0); /* not written without dx */
    CLACT__ARG(k, write_dx);
    CLACT__ARG(k, part);
}

/* Stage 1 (partial sums per channel into the scratch buffer, and dx when wanted), then stage 2
 * (per channel: the parts into dw). Every argument is set before the first launch, so that
 * nothing checkable fails after dx started being written; the scratch buffer's chain orders this
 * op after its previous user and the caller's events, and stage 2 waits for stage 1 (out-of-order
 * queues). */
static clact_status prelu_dw(clact__call *call, const prelu_dims *d, const prelu_grads *g,
                             int accumulate) {
    clact_context *ctx = call->ctx;
    clact__kern k1, k2;
    int columns = d->inner < PRELU_SHORT_RUN;
    CLACT__FORWARD(clact__kernel(ctx, CLACT__PROGRAM_ACTIVATION, call->dtype,
                                 columns ? "clact_prelu_dw_columns" : "clact_prelu_dw_runs", &k1));
    CLACT__FORWARD(
        clact__kernel(ctx, CLACT__PROGRAM_ACTIVATION, call->dtype, "clact_prelu_dw_finish", &k2));
    dw_plan pl;
    dw_plan_make(ctx, d, k1.max_wg, &pl);
    size_t L2 = 1;
    while (L2 < pl.G && L2 < 256)
        L2 *= 2;
    size_t real_size = call->dtype == CLACT_F64 ? sizeof(cl_double) : sizeof(cl_float);
    cl_event stack[16], *waits;
    cl_uint nw;
    CLACT__FORWARD(clact__scratch_begin(ctx, d->C * pl.G * 3 * real_size, call->num_wait,
                                        call->wait_list, stack, &waits, &nw));
    cl_int acc = accumulate;
    dw_stage1_args(&k1, d, &pl, g, ctx->scratch);
    clact__arg_size(&k2, pl.G);
    CLACT__ARG(&k2, ctx->scratch);
    clact__arg_buf(&k2, g->dw, g->dwo);
    CLACT__ARG(&k2, acc);
    cl_event parts = NULL, done = NULL;
    clact_status st = clact__args_status(ctx, &k1);
    if (st == CLACT_OK)
        st = clact__args_status(ctx, &k2);
    if (st == CLACT_OK && pl.columns)
        st = clact__launch(ctx, &k1, pl.launch, 64, nw, nw ? waits : NULL, &parts);
    else if (st == CLACT_OK)
        st = clact__launch_groups(ctx, &k1, pl.launch, pl.local, nw, nw ? waits : NULL, &parts);
    if (waits != stack)
        free(waits);
    if (st == CLACT_OK)
        st = clact__launch_groups(ctx, &k2, d->C, L2, 1, &parts, &done);
    /* The scratch buffer's next user waits for the last kernel enqueued on it, also when the
     * second launch failed after the first was enqueued. */
    clact__scratch_end(ctx, done ? done : parts);
    if (parts)
        clReleaseEvent(parts);
    if (done && call->event)
        *call->event = done;
    else if (done)
        clReleaseEvent(done);
    return st;
}

/* An empty input: dw is the sum over no elements, 0 (unchanged when accumulating). */
static clact_status prelu_dw_empty(clact__call *call, size_t np, const prelu_grads *g,
                                   int accumulate) {
    clact_context *ctx = call->ctx;
    if (!g->dw || accumulate || np == 0)
        return clact__marker(ctx, call->num_wait, call->wait_list, call->event);
    size_t es = clact_dtype_size(call->dtype);
    /* all-zero bytes: +0 in every dtype */
    return clact__fill_zeros(ctx, g->dw, g->dwo * es, np * es, es, call->num_wait,
                             call->wait_list, call->event, "clEnqueueFillBuffer (dw)");
}

static clact_status prelu_backward(clact__call *call, int ndim, const size_t *shape, size_t np,
                                   const prelu_grads *g, unsigned flags) {
    clact_context *ctx = call->ctx;
    prelu_dims d;
    CLACT__FORWARD(prelu_shape(call, ndim, shape, np, &d));
    CLACT__RETURN_IF(flags & ~CLACT_PRELU_ACCUMULATE, ctx, CLACT_INVALID_ARGUMENT,
                     "%s: unknown flags 0x%x", call->op, flags);
    CLACT__RETURN_IF(!g->dx && !g->dw, ctx, CLACT_INVALID_ARGUMENT,
                     "%s: dx and dw are both NULL: nothing to compute", call->op);
    CLACT__FORWARD(prelu_check_grads(call, &d, np, g));
    int accumulate = (flags & CLACT_PRELU_ACCUMULATE) != 0;
    if (d.n == 0)
        return prelu_dw_empty(call, np, g, accumulate);
    if (g->dw)
        return prelu_dw(call, &d, g, accumulate);
    clact__kern k;
    CLACT__FORWARD(
        clact__kernel(ctx, CLACT__PROGRAM_ACTIVATION, call->dtype, "clact_prelu_dx", &k));
    prelu_args(&k, &d, g->weight, g->wo, g->x, g->xo);
    clact__arg_buf(&k, g->dy, g->dyo);
    clact__arg_buf(&k, g->dx, g->dxo);
    return prelu_elementwise(call, &k);
}

clact_status clact_prelu(clact_context *ctx, clact_dtype dtype, int ndim, const size_t *shape,
                         size_t num_parameters, cl_mem weight, size_t weight_offset, cl_mem x,
                         size_t x_offset, cl_mem y, size_t y_offset, cl_uint num_wait,
                         const cl_event *wait_list, cl_event *event) {
    clact__call call;
    clact_status st = clact__begin(&call, ctx, "prelu", dtype, num_wait, wait_list, event);
    if (st == CLACT_OK)
        st = prelu(&call, ndim, shape, num_parameters, weight, weight_offset, x, x_offset, y,
                   y_offset);
    return clact__end(&call, st);
}

clact_status clact_prelu_backward(clact_context *ctx, clact_dtype dtype, int ndim,
                                  const size_t *shape, size_t num_parameters, cl_mem weight,
                                  size_t weight_offset, cl_mem x, size_t x_offset, cl_mem dy,
                                  size_t dy_offset, cl_mem dx, size_t dx_offset, cl_mem dw,
                                  size_t dw_offset, unsigned flags, cl_uint num_wait,
                                  const cl_event *wait_list, cl_event *event) {
    clact__call call;
    clact_status st = clact__begin(&call, ctx, dw ? "prelu_backward+dw" : "prelu_backward", dtype,
                                   num_wait, wait_list, event);
    const prelu_grads g = {weight,        x,        dy,        dx,        dw,
                           weight_offset, x_offset, dy_offset, dx_offset, dw_offset};
    if (st == CLACT_OK)
        st = prelu_backward(&call, ndim, shape, num_parameters, &g, flags);
    return clact__end(&call, st);
}
