/* SPDX-License-Identifier: MIT */
/* Fused cross-entropy: argument checks and the three launches of kernels/loss.cl, never blocking
 * unless the caller asks to validate class indices now (CLACT_CE_VALIDATE). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "internal.h"

clact_cross_entropy_desc clact_cross_entropy_default(void) {
    clact_cross_entropy_desc d = {CLACT_REDUCTION_MEAN, -100, 0.0, CLACT_TARGET_INT64, 0};
    return d;
}

clact_status clact__ce_shape(clact_context *ctx, int ndim, const size_t *shape, size_t *C,
                             size_t *inner, size_t *positions, size_t *total) {
    if (!shape)
        return clact__fail(ctx, CLACT_INVALID_ARGUMENT, "shape is NULL");
    if (ndim < 1 || ndim > CLACT_MAX_DIMS)
        return clact__fail(ctx, CLACT_INVALID_ARGUMENT, "ndim %d is outside 1..%d", ndim,
                           CLACT_MAX_DIMS);
    size_t n = ndim == 1 ? 1 : shape[0], c = ndim == 1 ? shape[0] : shape[1], in = 1;
    if (c == 0)
        return clact__fail(ctx, CLACT_INVALID_ARGUMENT, "the class dimension is 0");
    for (int i = 2; i < ndim; ++i) {
        if (shape[i] && in > SIZE_MAX / shape[i])
            return clact__fail(ctx, CLACT_INVALID_ARGUMENT, "the shape's element count overflows");
        in *= shape[i];
    }
    if ((in > 0 && n > SIZE_MAX / in) || (n * in > 0 && c > SIZE_MAX / (n * in) / 4))
        return clact__fail(ctx, CLACT_INVALID_ARGUMENT, "the shape's element count overflows");
    *C = c;
    *inner = in;
    *positions = n * in;
    *total = n * in * c;
    return CLACT_OK;
}

clact_status clact__ce_desc_check(clact_context *ctx, const clact_cross_entropy_desc *d) {
    if (!d)
        return clact__fail(ctx, CLACT_INVALID_ARGUMENT, "desc is NULL");
    if ((unsigned)d->reduction > CLACT_REDUCTION_SUM)
        return clact__fail(ctx, CLACT_INVALID_ARGUMENT, "unknown reduction %d", (int)d->reduction);
    if ((unsigned)d->target_type > CLACT_TARGET_PROBS)
        return clact__fail(ctx, CLACT_INVALID_ARGUMENT, "unknown target type %d",
                           (int)d->target_type);
    if (!(d->label_smoothing >= 0.0 && d->label_smoothing <= 1.0))
        return clact__fail(ctx, CLACT_INVALID_ARGUMENT,
                           "label_smoothing must be between 0.0 and 1.0, not %g",
                           d->label_smoothing);
    if (d->flags & ~(CLACT_CE_ASYNC | CLACT_CE_VALIDATE))
        return clact__fail(ctx, CLACT_INVALID_ARGUMENT, "unknown flags 0x%x", d->flags);
    if (d->target_type == CLACT_TARGET_PROBS && d->ignore_index >= 0)
        return clact__fail(ctx, CLACT_INVALID_ARGUMENT,
                           "ignore_index (%lld) is not supported for probability targets",
                           d->ignore_index);
    return CLACT_OK;
}

/* One cross-entropy call, as validated: sizes, the compute type, and the caller's buffers. */
typedef struct ce_call {
    clact__call *call;
    const clact_cross_entropy_desc *d;
    size_t C, inner, P, total;
    size_t real_size;  /* the scratch's reals: double for f64, float otherwise */
    const char *tname; /* "i64", "i32" or "prob": the kernels' suffix */
    cl_mem logits, target, weight, loss, grad;
    size_t lo, to, wo, so, go; /* their element offsets */
} ce_call;

/* Index of the scratch's first-invalid-position slot, in reals (see kernels/loss.cl). */
static size_t bad_slot(const ce_call *c) { return 4 * c->P + 2; }

/* Options, shape and buffers; fills c. */
static clact_status ce_validate(ce_call *c, int ndim, const size_t *shape, size_t logits_offset,
                                size_t target_offset, size_t weight_offset, size_t loss_offset,
                                size_t grad_offset) {
    clact_context *ctx = c->call->ctx;
    clact_dtype dtype = c->call->dtype;
    CLACT__FORWARD(clact__ce_desc_check(ctx, c->d));
    CLACT__FORWARD(clact__ce_shape(ctx, ndim, shape, &c->C, &c->inner, &c->P, &c->total));
    c->call->ndim = ndim;
    c->call->shape = shape;
    /* Logits, weights, probability targets, loss and gradient are all of the dtype. */
    size_t es = clact_dtype_size(dtype);
    c->real_size = dtype == CLACT_F64 ? sizeof(cl_double) : sizeof(cl_float);
    int probs = c->d->target_type == CLACT_TARGET_PROBS;
    int i64 = c->d->target_type == CLACT_TARGET_INT64;
    c->tname = probs ? "prob" : i64 ? "i64" : "i32";
    size_t tsize = probs ? es : i64 ? 8 : 4;
    /* grad may be the logits themselves (in place); weight and grad are optional. */
    clact__buf b[5] = {
        {"logits", c->logits, logits_offset, c->total, es, 0, -1},
        {"target", c->target, target_offset, probs ? c->total : c->P, tsize, 0, -1},
        {"loss", c->loss, loss_offset, c->d->reduction == CLACT_REDUCTION_NONE ? c->P : 1, es, 1,
         -1},
        {"weight", c->weight, weight_offset, c->C, es, 0, -1},
        {"grad", c->grad, grad_offset, c->total, es, 1, 0},
    };
    int n = 3 + (c->weight != NULL);
    if (c->grad)
        b[n++] = b[4];
    CLACT__FORWARD(clact__check_buffers(ctx, b, n));
    c->lo = logits_offset;
    c->to = target_offset;
    c->wo = weight_offset;
    c->so = loss_offset;
    c->go = grad_offset;
    return clact__device_errors(ctx);
}

/* The leading arguments of the pos and grad kernels after their sizes. */
static void ce_inputs_args(const ce_call *c, clact__kern *k) {
    cl_int has_w = c->weight != NULL;
    cl_long ign = c->d->ignore_index;
    clact__arg_buf(k, c->logits, c->lo);
    clact__arg_buf(k, c->target, c->to);
    clact__arg_buf(k, c->weight, c->wo);
    CLACT__ARG(k, has_w);
    CLACT__ARG(k, ign);
    clact__arg_real(k, c->call->dtype, c->d->label_smoothing);
}

static clact_status ce_kernel(const ce_call *c, const char *stem, clact__kern *k) {
    char name[32];
    snprintf(name, sizeof name, "clact_ce_%s_%s", stem, c->tname);
    return clact__kernel(c->call->ctx, CLACT__PROGRAM_LOSS, c->call->dtype, name, k);
}

/* Per-position statistics and losses into the scratch (nothing the caller sees), after marking
 * the first-invalid-position slot empty. */
static clact_status ce_positions(const ce_call *c, cl_uint nw, const cl_event *waits,
                                 cl_event *e_fill, cl_event *e_pos) {
    clact_context *ctx = c->call->ctx;
    clact__kern k;
    CLACT__FORWARD(ce_kernel(c, "pos", &k));
    clact__arg_size(&k, c->P);
    clact__arg_size(&k, c->C);
    clact__arg_size(&k, c->inner);
    ce_inputs_args(c, &k);
    CLACT__ARG(&k, ctx->scratch);
    CLACT__FORWARD(clact__args_status(ctx, &k));
    /* oclgrind 21.10's --uninitialized records a fill into part of a buffer wrongly and then
     * loses track of what kernels write to that buffer (tests/testutil.c, host_fill): after this
     * fill it reports every read of the scratch (clact_ce_reduce_*: the slot; clact_ce_grad_*:
     * the positions' statistics and the deferred loss, all written by the kernels before), so
     * tests/oclgrind.sh runs the loss suite without --uninitialized. */
    cl_uint none = 0xffffffffu;
    cl_int err = clEnqueueFillBuffer(ctx->queue, ctx->scratch, &none, sizeof none,
                                     bad_slot(c) * c->real_size, sizeof none, nw, waits, e_fill);
    if (err != CL_SUCCESS)
        return clact__fail_cl(ctx, err, "clEnqueueFillBuffer");
    if (c->P == 0)
        return CLACT_OK;
    return clact__launch(ctx, &k, c->P, 64, 1, e_fill, e_pos);
}

/* CLACT_CE_VALIDATE: wait for the positions and fail, naming the first class index out of range,
 * before anything is written to the caller's buffers. */
static clact_status ce_target_check(const ce_call *c, cl_event e_pos) {
    clact_context *ctx = c->call->ctx;
    cl_uint bad = 0;
    cl_int err = clEnqueueReadBuffer(ctx->queue, ctx->scratch, CL_TRUE, bad_slot(c) * c->real_size,
                                     sizeof bad, &bad, 1, &e_pos, NULL);
    if (err != CL_SUCCESS)
        return clact__fail_cl(ctx, err, "clEnqueueReadBuffer (cross_entropy target check)");
    if (bad == 0xffffffffu)
        return CLACT_OK;
    int i64 = c->d->target_type == CLACT_TARGET_INT64;
    cl_long v64 = 0;
    cl_int v32 = 0;
    err = clEnqueueReadBuffer(ctx->queue, c->target, CL_TRUE, (c->to + bad) * (i64 ? 8 : 4),
                              i64 ? 8 : 4, i64 ? (void *)&v64 : (void *)&v32, 0, NULL, NULL);
    if (err != CL_SUCCESS)
        return clact__fail_cl(ctx, err, "clEnqueueReadBuffer (cross_entropy bad target value)");
    return clact__fail(ctx, CLACT_INVALID_ARGUMENT,
                       "target %lld at position %u is out of bounds: class indices must be in "
                       "[0, %zu) or equal ignore_index (%lld)",
                       i64 ? (long long)v64 : (long long)v32, bad, c->C, c->d->ignore_index);
}

/* The loss (and the totals the gradient needs); records an invalid class index on the context. */
static int ce_defers(const ce_call *c) { return c->grad && c->total > 0; }

static clact_status ce_reduce(const ce_call *c, cl_event after, cl_event *e_red) {
    clact_context *ctx = c->call->ctx;
    clact__kern k;
    CLACT__FORWARD(ce_kernel(c, "reduce", &k));
    cl_int has_w = c->weight != NULL, red = (cl_int)c->d->reduction, defer = ce_defers(c);
    cl_long ign = c->d->ignore_index;
    clact__arg_size(&k, c->P);
    clact__arg_size(&k, c->C);
    clact__arg_buf(&k, c->weight, c->wo);
    CLACT__ARG(&k, has_w);
    CLACT__ARG(&k, red);
    CLACT__ARG(&k, ctx->scratch);
    clact__arg_buf(&k, c->loss, c->so);
    clact__arg_buf(&k, c->target, c->to);
    CLACT__ARG(&k, ign);
    CLACT__ARG(&k, ctx->device_errors);
    CLACT__ARG(&k, defer);
    return clact__launch_groups(ctx, &k, 1, 256, 1, &after, e_red);
}

/* d loss / d logits, and the loss the reduction left in the scratch (ce_defers). Prepared (kernel
 * and arguments) before anything is enqueued; *k is launched by ce_run. */
static clact_status ce_gradient_prepare(const ce_call *c, clact__kern *kp) {
    clact_context *ctx = c->call->ctx;
    clact__kern k;
    CLACT__FORWARD(ce_kernel(c, "grad", &k));
    cl_int red = (cl_int)c->d->reduction;
    clact__arg_size(&k, c->total);
    clact__arg_size(&k, c->C);
    clact__arg_size(&k, c->inner);
    clact__arg_size(&k, c->P);
    ce_inputs_args(c, &k);
    CLACT__ARG(&k, red);
    CLACT__ARG(&k, ctx->scratch);
    clact__arg_buf(&k, c->grad, c->go);
    clact__arg_buf(&k, c->loss, c->so);
    CLACT__FORWARD(clact__args_status(ctx, &k));
    *kp = k;
    return CLACT_OK;
}

/* The launches, in order, each waiting for the one before; one cleanup path. The scratch
 * buffer's next user, and the caller, wait for the last command enqueued. */
static clact_status ce_run(const ce_call *c) {
    clact_context *ctx = c->call->ctx;
    cl_event stack[16], *waits;
    cl_uint nw;
    CLACT__FORWARD(clact__scratch_begin(ctx, (4 * c->P + 4) * c->real_size, c->call->num_wait,
                                        c->call->wait_list, stack, &waits, &nw));
    /* The gradient kernel, the call's last and the only writer of the caller's buffers when a
     * gradient is asked for, is made ready before anything is enqueued (and after the scratch
     * buffer, one of its arguments, may have been replaced by a larger one): nothing that can be
     * checked fails after the first enqueue, and a launch that fails leaves loss and grad
     * unwritten. */
    clact__kern kg;
    cl_event e_fill = NULL, e_pos = NULL, e_red = NULL, e_grad = NULL;
    clact_status st = ce_defers(c) ? ce_gradient_prepare(c, &kg) : CLACT_OK;
    if (st == CLACT_OK)
        st = ce_positions(c, nw, nw ? waits : NULL, &e_fill, &e_pos);
    if (waits != stack)
        free(waits);
    if (st == CLACT_OK && e_pos && (c->d->flags & CLACT_CE_VALIDATE) &&
        c->d->target_type != CLACT_TARGET_PROBS)
        st = ce_target_check(c, e_pos);
    if (st == CLACT_OK)
        st = ce_reduce(c, e_pos ? e_pos : e_fill, &e_red);
    if (st == CLACT_OK && ce_defers(c))
        st = clact__launch(ctx, &kg, c->total, 256, 1, &e_red, &e_grad);
    cl_event last = e_grad ? e_grad : e_red ? e_red : e_pos ? e_pos : e_fill;
    clact__scratch_end(ctx, last);
    if (st == CLACT_OK && c->call->event) {
        clRetainEvent(last);
        *c->call->event = last;
    }
    cl_event all[4] = {e_fill, e_pos, e_red, e_grad};
    for (int i = 0; i < 4; ++i)
        if (all[i])
            clReleaseEvent(all[i]);
    return st;
}

clact_status clact_cross_entropy(clact_context *ctx, const clact_cross_entropy_desc *desc,
                                 clact_dtype dtype, int ndim, const size_t *shape, cl_mem logits,
                                 size_t logits_offset, cl_mem target, size_t target_offset,
                                 cl_mem weight, size_t weight_offset, cl_mem loss,
                                 size_t loss_offset, cl_mem grad, size_t grad_offset,
                                 cl_uint num_wait, const cl_event *wait_list, cl_event *event) {
    clact__call call;
    clact_status st = clact__begin(&call, ctx, grad ? "cross_entropy+grad" : "cross_entropy", dtype,
                                   num_wait, wait_list, event);
    ce_call c = {&call,  desc,   0,    0,    0, 0, 0, NULL, logits,
                 target, weight, loss, grad, 0, 0, 0, 0,    0};
    if (st == CLACT_OK)
        st = ce_validate(&c, ndim, shape, logits_offset, target_offset, weight_offset, loss_offset,
                         grad_offset);
    if (st == CLACT_OK)
        st = ce_run(&c);
    return clact__end(&call, st);
}
