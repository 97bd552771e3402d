/* SPDX-License-Identifier: MIT */
/* The dense layer, nn.Linear then an activation, forward and backward: CLBlast's GEMMs around
 * clact's own passes (kernels/dense.cl). CLBlast takes a queue and returns an event but takes no
 * wait list, so its calls are ordered with barriers: one with the caller's wait list before the
 * first command, and on out-of-order queues one before and one after every GEMM, whose event then
 * stands for all of CLBlast's kernels. CLBlast's temporary buffer is the context's (made once,
 * grown when too small) and, like dz in the scratch buffer, used by one op at a time: every dense
 * op joins the scratch buffer's chain of users (clact__scratch_begin/end). */
#include <clblast_c.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "internal.h"

/* The kernel suffix of an activation: its name, or "none". */
static const char *act_suffix(const clact_activation *act) {
    return act ? clact_op_name(act->op) : "none";
}

static const char *clblast_name(CLBlastStatusCode s) {
    switch (s) {
    case CLBlastNotImplemented: return "kNotImplemented";
    case CLBlastInvalidDimension: return "kInvalidDimension";
    case CLBlastInsufficientMemoryA: return "kInsufficientMemoryA";
    case CLBlastInsufficientMemoryB: return "kInsufficientMemoryB";
    case CLBlastInsufficientMemoryC: return "kInsufficientMemoryC";
    case CLBlastInsufficientMemoryTemp: return "kInsufficientMemoryTemp";
    case CLBlastInvalidLocalMemUsage: return "kInvalidLocalMemUsage";
    case CLBlastNoHalfPrecision: return "kNoHalfPrecision";
    case CLBlastNoDoublePrecision: return "kNoDoublePrecision";
    default: return (int)s > -1000 ? clact__cl_error_name((cl_int)s) : "a CLBlast error";
    }
}

/* A barrier on out-of-order queues (nothing on in-order ones, which order by themselves): what
 * follows waits for everything enqueued before, CLBlast's kernels included. *ev NULL when none. */
static clact_status order_point(clact_context *ctx, cl_event *ev) {
    *ev = NULL;
    if (!ctx->out_of_order)
        return CLACT_OK;
    cl_int err = clEnqueueBarrierWithWaitList(ctx->queue, 0, NULL, ev);
    return err == CL_SUCCESS ? CLACT_OK : clact__fail_cl(ctx, err, "clEnqueueBarrierWithWaitList");
}

/* A row-major C = op(A) op(B) (+ C when accumulate) in dtype; m x n x k. CLBlast rejects empty
 * dimensions: an empty C is nothing to do, and k == 0 leaves C zero (or as it is, when
 * accumulating). *ev: the last command (NULL when none). */
typedef struct gemm_args {
    CLBlastTranspose ta, tb;
    size_t m, n, k;
    clact_buffer a, b, c;
    size_t lda, ldb, ldc;
    int accumulate;
} gemm_args;

static clact_status gemm_temp(clact_context *ctx, size_t bytes) {
    if (ctx->gemm_temp && ctx->gemm_temp_bytes >= bytes)
        return CLACT_OK;
    if (ctx->gemm_temp)
        clReleaseMemObject(ctx->gemm_temp);
    cl_int err;
    ctx->gemm_temp_bytes = 0;
    ctx->gemm_temp = clCreateBuffer(ctx->context, CL_MEM_READ_WRITE, bytes ? bytes : 1, NULL, &err);
    if (!ctx->gemm_temp)
        return clact__fail_cl(ctx, err, "clCreateBuffer (CLBlast's temporary buffer)");
    ctx->gemm_temp_bytes = bytes;
    return CLACT_OK;
}

static CLBlastStatusCode gemm_call(clact_context *ctx, clact_dtype dt, const gemm_args *g,
                                   size_t *temp_bytes, cl_event *ev) {
    const CLBlastLayout L = CLBlastLayoutRowMajor;
    const cl_half one_h = 0x3c00, zero_h = 0;
    cl_command_queue *q = &ctx->queue;
    if (temp_bytes) {
        switch (dt) {
        case CLACT_F64:
            return CLBlastDGemmTempBufferSize(L, g->ta, g->tb, g->m, g->n, g->k, g->a.offset,
                                              g->lda, g->b.offset, g->ldb, g->c.offset, g->ldc, q,
                                              temp_bytes);
        case CLACT_F16:
            return CLBlastHGemmTempBufferSize(L, g->ta, g->tb, g->m, g->n, g->k, g->a.offset,
                                              g->lda, g->b.offset, g->ldb, g->c.offset, g->ldc, q,
                                              temp_bytes);
        default:
            return CLBlastSGemmTempBufferSize(L, g->ta, g->tb, g->m, g->n, g->k, g->a.offset,
                                              g->lda, g->b.offset, g->ldb, g->c.offset, g->ldc, q,
                                              temp_bytes);
        }
    }
    cl_mem t = ctx->gemm_temp;
    switch (dt) {
    case CLACT_F64:
        return CLBlastDgemmWithTempBuffer(L, g->ta, g->tb, g->m, g->n, g->k, 1.0, g->a.mem,
                                          g->a.offset, g->lda, g->b.mem, g->b.offset, g->ldb,
                                          g->accumulate ? 1.0 : 0.0, g->c.mem, g->c.offset, g->ldc,
                                          q, ev, t);
    case CLACT_F16:
        return CLBlastHgemmWithTempBuffer(L, g->ta, g->tb, g->m, g->n, g->k, one_h, g->a.mem,
                                          g->a.offset, g->lda, g->b.mem, g->b.offset, g->ldb,
                                          g->accumulate ? one_h : zero_h, g->c.mem, g->c.offset,
                                          g->ldc, q, ev, t);
    default:
        return CLBlastSgemmWithTempBuffer(L, g->ta, g->tb, g->m, g->n, g->k, 1.0f, g->a.mem,
                                          g->a.offset, g->lda, g->b.mem, g->b.offset, g->ldb,
                                          g->accumulate ? 1.0f : 0.0f, g->c.mem, g->c.offset,
                                          g->ldc, q, ev, t);
    }
}

static clact_status gemm(clact_context *ctx, clact_dtype dt, const gemm_args *g, cl_event *ev) {
    *ev = NULL;
    size_t es = clact_dtype_size(dt);
    if (!g->m || !g->n) /* an empty C: nothing to compute (CLBlast rejects it) */
        return order_point(ctx, ev);
    if (g->k == 0) {
        if (g->accumulate)
            return order_point(ctx, ev);
        return clact__fill_zeros(ctx, g->c.mem, g->c.offset * es, g->m * g->ldc * es, es, 0,
                                 NULL, ev, "clEnqueueFillBuffer");
    }
    cl_event before;
    CLACT__FORWARD(order_point(ctx, &before));
    if (before)
        clReleaseEvent(before);
    size_t bytes = 0;
    CLBlastStatusCode s = gemm_call(ctx, dt, g, &bytes, NULL);
    if (s == CLBlastSuccess) {
        CLACT__FORWARD(gemm_temp(ctx, bytes));
        s = gemm_call(ctx, dt, g, NULL, ev);
    }
    if (s != CLBlastSuccess)
        return clact__fail(
            ctx, s == CLBlastTempBufferAllocFailure ? CLACT_OUT_OF_MEMORY : CLACT_OPENCL_ERROR,
            "CLBlast%cgemm (%zu x %zu x %zu) failed: CLBlast status %d (%s)",
            dt == CLACT_F64   ? 'D'
            : dt == CLACT_F16 ? 'H'
                              : 'S',
            g->m, g->n, g->k, (int)s, clblast_name(s));
    if (!ctx->out_of_order)
        return CLACT_OK;
    cl_event after;
    clact_status st = order_point(ctx, &after);
    if (st != CLACT_OK) /* keep CLBlast's event: the scratch chain must still wait for the GEMM */
        return st;
    clReleaseEvent(*ev);
    *ev = after;
    return st;
}

/* What every dense op checks first: the descriptor, the dtype's GEMM, and the sizes. */
static clact_status check_desc(clact__call *call, const clact_dense_desc *d, size_t batch) {
    clact_context *ctx = call->ctx;
    CLACT__RETURN_IF(!d, ctx, CLACT_INVALID_ARGUMENT, "desc is NULL");
    char why[256];
    CLACT__RETURN_IF(d->act && clact_activation_check(d->act, why, sizeof why) != CLACT_OK, ctx,
                     CLACT_INVALID_ARGUMENT, "%s", why);
    CLACT__RETURN_IF(d->act && !clact__act_is_elementwise(d->act, why, sizeof why), ctx,
                     CLACT_INVALID_ARGUMENT, "dense: %s", why);
    CLACT__RETURN_IF(d->act && !clact__act_params_fit(d->act, call->dtype, why, sizeof why), ctx,
                     CLACT_INVALID_ARGUMENT, "dense: %s", why);
    /* The fused pass has no seed and no element numbering of its own to draw rrelu's slopes by. */
    CLACT__RETURN_IF(d->act && d->act->training, ctx, CLACT_UNSUPPORTED,
                     "dense: rrelu in training mode is not fused into the layer; run the layer "
                     "without an activation, then clact_forward");
    CLACT__RETURN_IF(d->flags & ~CLACT_DENSE_ACCUMULATE, ctx, CLACT_INVALID_ARGUMENT,
                     "unknown flags 0x%x", d->flags);
    CLACT__RETURN_IF(!d->out_features, ctx, CLACT_INVALID_ARGUMENT, "out_features is 0");
    CLACT__RETURN_IF(call->dtype == CLACT_BF16, ctx, CLACT_UNSUPPORTED,
                     "dense: bf16 has no GEMM in CLBlast; use f32 (or f16)");
    if (call->dtype == CLACT_F16 && !ctx->has_fp16) {
        char name[256];
        return clact__fail(ctx, CLACT_UNSUPPORTED,
                           "dense: f16 needs cl_khr_fp16 for CLBlast's half GEMM, which device "
                           "'%s' does not report",
                           clact__device_name(ctx, name, sizeof name));
    }
    size_t in = d->in_features, out = d->out_features, big = SIZE_MAX / 16;
    CLACT__RETURN_IF((batch && in > big / batch) || (batch && out > big / batch) ||
                         (in && out > big / in),
                     ctx, CLACT_INVALID_ARGUMENT, "the layer's sizes overflow");
    call->n = batch;
    return CLACT_OK;
}

/* The fused bias-and-activation pass over rows x cols of g (the GEMM's output). */
static clact_status bias_act(clact__call *call, const clact_dense_desc *d, size_t rows,
                             clact_buffer g, clact_buffer b, clact_buffer z, clact_buffer y,
                             cl_uint nw, const cl_event *wl, cl_event *ev) {
    clact_context *ctx = call->ctx;
    char name[64];
    snprintf(name, sizeof name, "clact_dense_fwd_%s", act_suffix(d->act));
    clact__kern k;
    CLACT__FORWARD(clact__kernel(ctx, CLACT__PROGRAM_ACTIVATION, call->dtype, name, &k));
    size_t n = rows * d->out_features;
    cl_int has_b = b.mem != NULL, has_z = d->act && z.mem;
    clact__arg_size(&k, n);
    clact__arg_size(&k, d->out_features);
    clact__arg_buf(&k, g.mem, g.offset);
    clact__arg_buf(&k, has_b ? b.mem : g.mem, b.offset);
    CLACT__ARG(&k, has_b);
    clact__arg_buf(&k, has_z ? z.mem : g.mem, z.offset);
    CLACT__ARG(&k, has_z);
    clact__arg_buf(&k, y.mem, y.offset);
    double p[2] = {0.0, 0.0};
    if (d->act)
        clact__act_kernel_params(d->act, p);
    clact__arg_real(&k, call->dtype, p[0]);
    clact__arg_real(&k, call->dtype, p[1]);
    return clact__launch(ctx, &k, (n + ctx->vector_width - 1) / ctx->vector_width, 256, nw, wl, ev);
}

/* Start an op: join the scratch buffer's chain (bytes of it for the op), and put a barrier on the
 * queue with the caller's wait list and the chain's previous user, since CLBlast cannot wait. */
static clact_status start(clact__call *call, size_t bytes, cl_event *e0) {
    clact_context *ctx = call->ctx;
    cl_event stack[16], *waits;
    cl_uint nw;
    *e0 = NULL;
    CLACT__FORWARD(clact__scratch_begin(ctx, bytes ? bytes : 1, call->num_wait, call->wait_list,
                                        stack, &waits, &nw));
    cl_int err = nw ? clEnqueueBarrierWithWaitList(ctx->queue, nw, waits, e0) : CL_SUCCESS;
    if (waits != stack)
        free(waits);
    return err == CL_SUCCESS ? CLACT_OK : clact__fail_cl(ctx, err, "clEnqueueBarrierWithWaitList");
}

/* Record the op's last command for the scratch chain and the caller; release the rest. */
static void finish(clact__call *call, clact_status st, cl_event *events, int n) {
    cl_event last = NULL;
    for (int i = 0; i < n; ++i)
        if (events[i])
            last = events[i];
    clact__scratch_end(call->ctx, last);
    if (st == CLACT_OK && call->event && last) {
        clRetainEvent(last);
        *call->event = last;
    }
    for (int i = 0; i < n; ++i)
        if (events[i])
            clReleaseEvent(events[i]);
}

static clact_status forward(clact__call *call, const clact_dense_desc *d, size_t batch,
                            clact_buffer x, clact_buffer w, clact_buffer b, clact_buffer z,
                            clact_buffer y) {
    clact_context *ctx = call->ctx;
    CLACT__FORWARD(check_desc(call, d, batch));
    size_t in = d->in_features, out = d->out_features, es = clact_dtype_size(call->dtype);
    int keep_z = d->act && z.mem;
    clact__buf bufs[5] = {{"x", x.mem, x.offset, batch * in, es, 0, -1},
                          {"w", w.mem, w.offset, out * in, es, 0, -1},
                          {"y", y.mem, y.offset, batch * out, es, 1, -1},
                          {"b", b.mem, b.offset, out, es, 0, -1},
                          {"z", z.mem, z.offset, batch * out, es, 1, -1}};
    int nb = 3;
    if (b.mem)
        bufs[nb++] = bufs[3];
    if (keep_z)
        bufs[nb++] = bufs[4];
    CLACT__FORWARD(clact__check_buffers(ctx, bufs, nb));
    if (batch == 0)
        return clact__marker(ctx, call->num_wait, call->wait_list, call->event);
    cl_event ev[4] = {NULL, NULL, NULL, NULL};
    /* With a pass after it (bias or activation), the GEMM's product goes to the scratch buffer and
     * the pass writes y (and z) from there: the caller's outputs are written by the last command
     * only, so a GEMM or pass that cannot be enqueued leaves them as they were. The pass reads
     * the product once either way; the price is scratch memory of y's size. */
    int pass = d->act || b.mem;
    clact_status st = start(call, pass ? batch * out * es : 1, &ev[0]);
    clact_buffer g = pass ? (clact_buffer){ctx->scratch, 0} : y;
    gemm_args ga = {
        CLBlastTransposeNo, CLBlastTransposeYes, batch, out, in, x, w, g, in, in, out, 0};
    if (st == CLACT_OK)
        st = gemm(ctx, call->dtype, &ga, &ev[1]);
    if (st == CLACT_OK && pass)
        st = bias_act(call, d, batch, g, b, z, y, ev[1] && ctx->out_of_order ? 1 : 0,
                      ev[1] && ctx->out_of_order ? &ev[1] : NULL, &ev[2]);
    finish(call, st, ev, 3);
    return st;
}

/* The entry of both dense calls: the frame's prologue, with the op named after the activation
 * and the shape (batch, in, out) for CLACT_VERBOSE. */
static clact_status dense_begin(clact__call *call, const char *what, clact_context *ctx,
                                const clact_dense_desc *d, clact_dtype dtype, size_t shape[3],
                                cl_uint num_wait, const cl_event *wait_list, cl_event *event) {
    char name[48];
    const char *act = d && d->act ? clact_op_name(d->act->op) : NULL;
    snprintf(name, sizeof name, "%s(%s)", what, act ? act : "linear");
    shape[1] = d ? d->in_features : 0;
    shape[2] = d ? d->out_features : 0;
    clact_status st = clact__begin(call, ctx, name, dtype, num_wait, wait_list, event);
    call->ndim = 3;
    call->shape = shape;
    return st;
}

clact_status clact_dense_forward(clact_context *ctx, const clact_dense_desc *desc,
                                 clact_dtype dtype, size_t batch, clact_buffer x, clact_buffer w,
                                 clact_buffer b, clact_buffer z, clact_buffer y, cl_uint num_wait,
                                 const cl_event *wait_list, cl_event *event) {
    clact__call call;
    size_t shape[3] = {batch, 0, 0};
    clact_status st =
        dense_begin(&call, "dense_forward", ctx, desc, dtype, shape, num_wait, wait_list, event);
    if (st == CLACT_OK)
        st = forward(&call, desc, batch, x, w, b, z, y);
    return clact__end(&call, st);
}

/* The gradient kernel made ready (found, every argument set and checked) but not launched: with an
 * activation, dz = dy * act'(s) into the scratch buffer (store_dz); with db, the column sums of
 * what it computes (of dz, or of dy itself when act is NULL), added to db's contents under
 * CLACT_DENSE_ACCUMULATE. */
static clact_status grad_kernel(clact__call *call, const clact_dense_desc *d, size_t batch,
                                const clact_activation *act, clact_buffer s, int from_y,
                                clact_buffer dy, clact_buffer db, clact__kern *k) {
    clact_context *ctx = call->ctx;
    char name[64];
    snprintf(name, sizeof name, "clact_dense_bwd_%s_%s", act_suffix(act), from_y ? "y" : "x");
    CLACT__FORWARD(clact__kernel(ctx, CLACT__PROGRAM_ACTIVATION, call->dtype, name, k));
    cl_int store_dz = act != NULL, has_db = db.mem != NULL;
    cl_int accumulate = (d->flags & CLACT_DENSE_ACCUMULATE) != 0;
    clact__arg_size(k, batch);
    clact__arg_size(k, d->out_features);
    clact__arg_buf(k, act ? s.mem : dy.mem, act ? s.offset : dy.offset);
    clact__arg_buf(k, dy.mem, dy.offset);
    clact__arg_buf(k, ctx->scratch, 0);
    CLACT__ARG(k, store_dz);
    clact__arg_buf(k, has_db ? db.mem : dy.mem, db.offset);
    CLACT__ARG(k, has_db);
    CLACT__ARG(k, accumulate);
    double p[2] = {0.0, 0.0};
    if (act)
        clact__act_kernel_params(act, p);
    clact__arg_real(k, call->dtype, p[0]);
    clact__arg_real(k, call->dtype, p[1]);
    return clact__args_status(ctx, k);
}

/* Launch a kernel from grad_kernel: a work-item per CLACT_VW columns, after `after` (if any). */
static clact_status grad_launch(clact__call *call, const clact_dense_desc *d, const clact__kern *k,
                                cl_event after, cl_event *ev) {
    size_t items = (d->out_features + call->ctx->vector_width - 1) / call->ctx->vector_width;
    return clact__launch(call->ctx, k, items, 64, after ? 1 : 0, after ? &after : NULL, ev);
}

/* Which saved tensor the activation's gradient is taken from (z, the pre-activation, is what
 * the kernels call x); *from_y for the output. */
static clact_status pick_saved(clact__call *call, const clact_dense_desc *d, clact_buffer z,
                               clact_buffer y, clact_buffer *s, int *from_y) {
    *from_y = 0;
    *s = z;
    if (!d->act)
        return CLACT_OK;
    CLACT__RETURN_IF(d->act->op == CLACT_PRELU, call->ctx, CLACT_UNSUPPORTED,
                     "dense backward of prelu would not give the weight's gradient; run the "
                     "layer without an activation and clact_prelu_backward");
    unsigned can = clact_backward_saved(d->act);
    if (z.mem && (can & CLACT_SAVED_X))
        return CLACT_OK;
    if (y.mem && (can & CLACT_SAVED_Y)) {
        *s = y;
        *from_y = 1;
        return CLACT_OK;
    }
    return clact__fail(call->ctx, CLACT_INVALID_ARGUMENT,
                       "dense backward of %s needs z (the forward's pre-activation)%s",
                       clact_op_name(d->act->op), (can & CLACT_SAVED_Y) ? " or y" : "");
}

static clact_status backward(clact__call *call, const clact_dense_desc *d, size_t batch,
                             clact_buffer x, clact_buffer w, clact_buffer z, clact_buffer y,
                             clact_buffer dy, clact_buffer dx, clact_buffer dw, clact_buffer db) {
    clact_context *ctx = call->ctx;
    CLACT__FORWARD(check_desc(call, d, batch));
    size_t in = d->in_features, out = d->out_features, es = clact_dtype_size(call->dtype);
    clact_buffer s;
    int from_y;
    CLACT__FORWARD(pick_saved(call, d, z, y, &s, &from_y));
    clact__buf bufs[8] = {{"dy", dy.mem, dy.offset, batch * out, es, 0, -1},
                          {"x", x.mem, x.offset, batch * in, es, 0, -1},
                          {"w", w.mem, w.offset, out * in, es, 0, -1},
                          {from_y ? "y" : "z", s.mem, s.offset, batch * out, es, 0, -1},
                          {"dx", dx.mem, dx.offset, batch * in, es, 1, -1},
                          {"dw", dw.mem, dw.offset, out * in, es, 1, -1},
                          {"db", db.mem, db.offset, out, es, 1, -1}};
    int nb = 0;
    for (int i = 0; i < 7; ++i) {
        /* x is needed for dW, w for dx, the saved tensor with an activation; outputs if given. */
        int need = i == 0 || (i == 1 && dw.mem) || (i == 2 && dx.mem) || (i == 3 && d->act) ||
                   (i >= 4 && bufs[i].mem);
        if (need)
            bufs[nb++] = bufs[i];
    }
    CLACT__FORWARD(clact__check_buffers(ctx, bufs, nb));
    /* The caller's outputs are written in the order dx, dW, db, each by one command, and every
     * kernel of clact's is made ready before the first of them: dz (with an activation) goes to
     * the scratch buffer first, then dx's GEMM (overwritten, never accumulated), dW's GEMM, and
     * last db, the column sums of dz. If a command cannot be enqueued, the outputs before it hold
     * their new values and the rest are as they were (the header says so): dx first, since it
     * is overwritten (a call made again gives it again), and db last, since summing dz after
     * the GEMMs is one more pass over dz only when there is an activation (without one, the
     * sums are of dy and the pass is the same one, moved). */
    cl_event ev[5] = {NULL, NULL, NULL, NULL, NULL};
    size_t dz_bytes = d->act ? batch * out * es : 0;
    clact_status st = start(call, dz_bytes, &ev[0]);
    clact__kern kdz = {0}, kdb = {0};
    if (st == CLACT_OK && d->act)
        st = grad_kernel(call, d, batch, d->act, s, from_y, dy, (clact_buffer){NULL, 0}, &kdz);
    clact_buffer dz = d->act ? (clact_buffer){ctx->scratch, 0} : dy;
    if (st == CLACT_OK && db.mem)
        st = grad_kernel(call, d, batch, NULL, dz, 0, dz, db, &kdb);
    if (st == CLACT_OK && d->act)
        st = grad_launch(call, d, &kdz, ev[0], &ev[1]);
    int acc = (d->flags & CLACT_DENSE_ACCUMULATE) != 0;
    gemm_args gw = {
        CLBlastTransposeYes, CLBlastTransposeNo, out, in, batch, dz, x, dw, out, in, in, acc};
    gemm_args gx = {
        CLBlastTransposeNo, CLBlastTransposeNo, batch, in, out, dz, w, dx, out, in, in, 0};
    if (st == CLACT_OK && dx.mem && batch)
        st = gemm(ctx, call->dtype, &gx, &ev[2]);
    if (st == CLACT_OK && dw.mem)
        st = gemm(ctx, call->dtype, &gw, &ev[3]);
    /* db after everything before it: on an out-of-order queue a GEMM ends in a barrier, which
     * holds back what follows, and without GEMMs the pass waits for dz's pass or the start. */
    if (st == CLACT_OK && db.mem)
        st = grad_launch(call, d, &kdb, ev[3] ? ev[3] : ev[2] ? ev[2] : ev[1] ? ev[1] : ev[0],
                         &ev[4]);
    /* Nothing enqueued at all (no output wanted, or an empty batch without dW): a marker. */
    if (st == CLACT_OK && !ev[0] && !ev[1] && !ev[2] && !ev[3] && !ev[4])
        st = clact__marker(ctx, 0, NULL, &ev[4]);
    finish(call, st, ev, 5);
    return st;
}

clact_status clact_dense_backward(clact_context *ctx, const clact_dense_desc *desc,
                                  clact_dtype dtype, size_t batch, clact_buffer x, clact_buffer w,
                                  clact_buffer z, clact_buffer y, clact_buffer dy, clact_buffer dx,
                                  clact_buffer dw, clact_buffer db, cl_uint num_wait,
                                  const cl_event *wait_list, cl_event *event) {
    clact__call call;
    size_t shape[3] = {batch, 0, 0};
    clact_status st =
        dense_begin(&call, "dense_backward", ctx, desc, dtype, shape, num_wait, wait_list, event);
    if (st == CLACT_OK)
        st = backward(&call, desc, batch, x, w, z, y, dy, dx, dw, db);
    return clact__end(&call, st);
}
