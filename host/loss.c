/* SPDX-License-Identifier: MIT */
/* Fused cross-entropy: argument checks and the three launches of kernels/loss.cl. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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
    if (d->flags & ~CLACT_CE_ASYNC)
        return clact__fail(ctx, CLACT_INVALID_ARGUMENT, "unknown flags 0x%x", d->flags);
    if (d->target_type == CLACT_TARGET_PROBS && d->ignore_index >= 0)
        return clact__fail(ctx, CLACT_INVALID_ARGUMENT,
                           "ignore_index (%lld) is not supported for probability targets",
                           d->ignore_index);
    return CLACT_OK;
}

#define SETP(k, i, size, ptr)                                                                      \
    do {                                                                                           \
        cl_int e_ = clSetKernelArg(k, i, size, ptr);                                               \
        if (e_ != CL_SUCCESS) {                                                                    \
            st = clact__fail_cl(ctx, e_, "clSetKernelArg");                                        \
            goto done;                                                                             \
        }                                                                                          \
    } while (0)
#define SET(k, i, v) SETP(k, i, sizeof(v), &(v))

static clact_status clact_cross_entropy_impl(
    clact_context *ctx, const clact_cross_entropy_desc *desc, clact_dtype dtype, int ndim,
    const size_t *shape, cl_mem logits, size_t logits_offset, cl_mem target, size_t target_offset,
    cl_mem weight, size_t weight_offset, cl_mem loss, size_t loss_offset, cl_mem grad,
    size_t grad_offset, cl_uint num_wait, const cl_event *wait_list, cl_event *event) {
    if (event)
        *event = NULL;
    if (!ctx)
        return clact__fail(NULL, CLACT_INVALID_ARGUMENT, "ctx is NULL");
    clact__clear_error(ctx);
    clact_status st;
    size_t C, inner, P, total;
    if ((st = clact__ce_desc_check(ctx, desc)) != CLACT_OK ||
        (st = clact__ce_shape(ctx, ndim, shape, &C, &inner, &P, &total)) != CLACT_OK ||
        (st = clact__check_events(ctx, num_wait, wait_list)) != CLACT_OK)
        return st;
    if ((st = clact__check_dtype(ctx, dtype, "cross_entropy")) != CLACT_OK)
        return st;
    /* Logits, weights, probability targets, loss and gradient are all of the dtype; the
     * scratch holds the compute type (double for f64, float otherwise). */
    size_t es = clact_dtype_size(dtype);
    size_t rs = dtype == CLACT_F64 ? sizeof(cl_double) : sizeof(cl_float);
    int probs = desc->target_type == CLACT_TARGET_PROBS;
    size_t tsize = probs ? es : desc->target_type == CLACT_TARGET_INT64 ? 8 : 4;
    clact__buf b[5] = {
        {"logits", logits, logits_offset, total, es, 0, -1},
        {"target", target, target_offset, probs ? total : P, tsize, 0, -1},
        {"loss", loss, loss_offset, desc->reduction == CLACT_REDUCTION_NONE ? P : 1, es, 1, -1},
        {"grad", grad, grad_offset, total, es, 1, 0},
        {"weight", weight, weight_offset, C, es, 0, -1},
    };
    /* weight and grad are optional: check only those given (grad is index 3, weight 4). */
    clact__buf given[5];
    int n = 0;
    for (int i = 0; i < 5; ++i) {
        if (i >= 3 && !b[i].mem)
            continue;
        given[n] = b[i];
        if (i == 3)
            given[n].alias = 0; /* grad may be the logits, in place */
        ++n;
    }
    if ((st = clact__check_buffers(ctx, given, n)) != CLACT_OK)
        return st;
    const char *tname = probs ? "prob" : desc->target_type == CLACT_TARGET_INT64 ? "i64" : "i32";
    char kpos[32], kgrad[32];
    strcpy(kpos, "clact_ce_pos_");
    strcat(kpos, tname);
    strcpy(kgrad, "clact_ce_grad_");
    strcat(kgrad, tname);
    cl_kernel kp, kr, kg = NULL;
    size_t wp, wr, wg = 0;
    if ((st = clact__kernel(ctx, CLACT__PROGRAM_LOSS, dtype, kpos, &kp, &wp)) != CLACT_OK ||
        (st = clact__kernel(ctx, CLACT__PROGRAM_LOSS, dtype, "clact_ce_reduce", &kr, &wr)) !=
            CLACT_OK ||
        (grad &&
         (st = clact__kernel(ctx, CLACT__PROGRAM_LOSS, dtype, kgrad, &kg, &wg)) != CLACT_OK))
        return st;

    cl_event stack[16], *waits;
    cl_uint nw;
    if ((st = clact__scratch_begin(ctx, (4 * P + 3) * rs, num_wait, wait_list, stack, &waits,
                                   &nw)) != CLACT_OK)
        return st;

    cl_event e_fill = NULL, e_pos = NULL, e_red = NULL, e_grad = NULL;
    cl_mem scr = ctx->scratch;
    cl_ulong uP = P, uC = C, uin = inner, ut = total, lo = logits_offset, to = target_offset,
             wo = weight_offset, so = loss_offset, go = grad_offset;
    cl_int has_w = weight != NULL, red = (cl_int)desc->reduction, iprobs = probs;
    cl_long ign = desc->ignore_index;
    /* Label smoothing in the compute type: double for f64, float otherwise. */
    cl_float eps32 = (cl_float)desc->label_smoothing;
    cl_double eps64 = desc->label_smoothing;
    const void *eps = rs == sizeof eps64 ? (const void *)&eps64 : (const void *)&eps32;
    cl_uint none = 0xffffffffu;
    cl_int err = clEnqueueFillBuffer(ctx->queue, scr, &none, sizeof none, (4 * P + 2) * rs,
                                     sizeof none, nw, nw ? waits : NULL, &e_fill);
    if (waits != stack)
        free(waits);
    if (err != CL_SUCCESS)
        return clact__fail_cl(ctx, err, "clEnqueueFillBuffer");

    cl_event after_pos = e_fill;
    if (P > 0) {
        SET(kp, 0, uP);
        SET(kp, 1, uC);
        SET(kp, 2, uin);
        SET(kp, 3, logits);
        SET(kp, 4, lo);
        SET(kp, 5, target);
        SET(kp, 6, to);
        SET(kp, 7, weight);
        SET(kp, 8, wo);
        SET(kp, 9, has_w);
        SET(kp, 10, ign);
        SETP(kp, 11, rs, eps);
        SET(kp, 12, scr);
        if ((st = clact__launch(ctx, kp, wp, P, 64, 1, &e_fill, &e_pos)) != CLACT_OK)
            goto done;
        after_pos = e_pos;
    }
    if (!probs && !(desc->flags & CLACT_CE_ASYNC) && P > 0) {
        /* PyTorch raises for a class index out of range: find it before writing anything. */
        cl_uint bad = 0;
        err = clEnqueueReadBuffer(ctx->queue, scr, CL_TRUE, (4 * P + 2) * rs, sizeof bad, &bad, 1,
                                  &e_pos, NULL);
        if (err != CL_SUCCESS) {
            st = clact__fail_cl(ctx, err, "clEnqueueReadBuffer (target check)");
            goto done;
        }
        if (bad != 0xffffffffu) {
            long long value = 0;
            if (desc->target_type == CLACT_TARGET_INT64) {
                cl_long v = 0;
                err = clEnqueueReadBuffer(ctx->queue, target, CL_TRUE, (target_offset + bad) * 8, 8,
                                          &v, 0, NULL, NULL);
                value = v;
            } else {
                cl_int v = 0;
                err = clEnqueueReadBuffer(ctx->queue, target, CL_TRUE, (target_offset + bad) * 4, 4,
                                          &v, 0, NULL, NULL);
                value = v;
            }
            st = clact__fail(ctx, CLACT_INVALID_ARGUMENT,
                             "target %lld at position %u is out of bounds: class indices must be "
                             "in [0, %zu) or equal ignore_index (%lld)",
                             value, bad, C, desc->ignore_index);
            goto done;
        }
    }
    SET(kr, 0, uP);
    SET(kr, 1, uC);
    SET(kr, 2, weight);
    SET(kr, 3, wo);
    SET(kr, 4, has_w);
    SET(kr, 5, red);
    SET(kr, 6, iprobs);
    SET(kr, 7, scr);
    SET(kr, 8, loss);
    SET(kr, 9, so);
    {
        size_t local = 1;
        while (local * 2 <= 256 && local * 2 <= wr)
            local *= 2;
        err =
            clEnqueueNDRangeKernel(ctx->queue, kr, 1, NULL, &local, &local, 1, &after_pos, &e_red);
        if (err != CL_SUCCESS) {
            st = clact__fail_cl(ctx, err, "clEnqueueNDRangeKernel");
            goto done;
        }
    }
    if (grad && total > 0) {
        SET(kg, 0, ut);
        SET(kg, 1, uC);
        SET(kg, 2, uin);
        SET(kg, 3, uP);
        SET(kg, 4, logits);
        SET(kg, 5, lo);
        SET(kg, 6, target);
        SET(kg, 7, to);
        SET(kg, 8, weight);
        SET(kg, 9, wo);
        SET(kg, 10, has_w);
        SET(kg, 11, ign);
        SETP(kg, 12, rs, eps);
        SET(kg, 13, red);
        SET(kg, 14, scr);
        SET(kg, 15, grad);
        SET(kg, 16, go);
        if ((st = clact__launch(ctx, kg, wg, total, 256, 1, &e_red, &e_grad)) != CLACT_OK)
            goto done;
    }
    st = CLACT_OK;
done:;
    /* The last command enqueued is what the next user of the scratch buffer, and the caller,
     * wait for. */
    cl_event last = e_grad ? e_grad : e_red ? e_red : e_pos ? e_pos : e_fill;
    clact__scratch_end(ctx, last);
    if (event && st == CLACT_OK) {
        clRetainEvent(last);
        *event = last;
    }
    if (e_fill)
        clReleaseEvent(e_fill);
    if (e_pos)
        clReleaseEvent(e_pos);
    if (e_red)
        clReleaseEvent(e_red);
    if (e_grad)
        clReleaseEvent(e_grad);
    return st;
}

clact_status clact_cross_entropy(clact_context *ctx, const clact_cross_entropy_desc *desc,
                                 clact_dtype dtype, int ndim, const size_t *shape, cl_mem logits,
                                 size_t logits_offset, cl_mem target, size_t target_offset,
                                 cl_mem weight, size_t weight_offset, cl_mem loss,
                                 size_t loss_offset, cl_mem grad, size_t grad_offset,
                                 cl_uint num_wait, const cl_event *wait_list, cl_event *event) {
    if (!clact__verbose_on() || !ctx)
        return clact_cross_entropy_impl(ctx, desc, dtype, ndim, shape, logits, logits_offset,
                                        target, target_offset, weight, weight_offset, loss,
                                        loss_offset, grad, grad_offset, num_wait, wait_list, event);
    cl_event mine = NULL, *ev = event ? event : &mine;
    ctx->last_origin = -1;
    clact_status st = clact_cross_entropy_impl(
        ctx, desc, dtype, ndim, shape, logits, logits_offset, target, target_offset, weight,
        weight_offset, loss, loss_offset, grad, grad_offset, num_wait, wait_list, ev);
    if (st == CLACT_OK)
        clact__verbose_report(ctx, grad ? "cross_entropy+grad" : "cross_entropy", dtype, ndim,
                              shape, 0, *ev);
    if (mine)
        clReleaseEvent(mine);
    return st;
}
