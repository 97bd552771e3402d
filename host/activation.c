/* SPDX-License-Identifier: MIT */
/* Activation descriptors and the elementwise launcher: what is particular to activations; the
 * frame (prologue, arguments, launch, CLACT_VERBOSE) is launch.c. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

/* What the header's `saved` column says the backward reads (see CLACT_ACTIVATION_MAP). */
enum { CLACT__SAVED_X_ONLY, CLACT__SAVED_X_OR_Y, CLACT__SAVED_Y_OR_X };

typedef struct op_entry {
    const char *name;
    const char *kernel;
    int saved;
    int n_params;
    const char *param_name[2];
    double param_default[2];
} op_entry;

static const op_entry ops[CLACT_OP_COUNT] = {
#define CLACT__OP_ENTRY(name, torch_name, saved, n, p0, d0, p1, d1)                                \
    [CLACT_##name] = {torch_name, "clact_" torch_name, CLACT__SAVED_##saved, n, {p0, p1}, {d0, d1}},
    CLACT_ACTIVATION_MAP(CLACT__OP_ENTRY)
#undef CLACT__OP_ENTRY
};

static int op_valid(clact_op op) { return (unsigned)op < CLACT_OP_COUNT; }

clact_activation clact_activation_default(clact_op op) {
    clact_activation act = {op, {0.0, 0.0}};
    if (op_valid(op)) {
        act.param[0] = ops[op].param_default[0];
        act.param[1] = ops[op].param_default[1];
    }
    return act;
}

const char *clact_op_name(clact_op op) { return op_valid(op) ? ops[op].name : NULL; }

clact_status clact_op_from_name(const char *name, clact_op *op) {
    if (!name || !op)
        return CLACT_INVALID_ARGUMENT;
    for (int i = 0; i < CLACT_OP_COUNT; ++i) {
        if (!strcmp(ops[i].name, name)) {
            *op = (clact_op)i;
            return CLACT_OK;
        }
    }
    return CLACT_INVALID_ARGUMENT;
}

int clact_op_param_count(clact_op op) { return op_valid(op) ? ops[op].n_params : -1; }

const char *clact_op_param_name(clact_op op, int index) {
    if (!op_valid(op) || index < 0 || index >= ops[op].n_params)
        return NULL;
    return ops[op].param_name[index];
}

clact_status clact_activation_check(const clact_activation *act, char *message, size_t len) {
    char scratch[256];
    if (!message || !len) {
        message = scratch;
        len = sizeof scratch;
    }
    message[0] = '\0';
    if (!act) {
        snprintf(message, len, "activation descriptor is NULL");
        return CLACT_INVALID_ARGUMENT;
    }
    if (!op_valid(act->op)) {
        snprintf(message, len, "unknown activation op %d", (int)act->op);
        return CLACT_INVALID_ARGUMENT;
    }
    const op_entry *e = &ops[act->op];
    for (int i = 0; i < e->n_params; ++i) {
        if (isnan(act->param[i])) {
            snprintf(message, len, "%s: parameter %s is NaN", e->name, e->param_name[i]);
            return CLACT_INVALID_ARGUMENT;
        }
    }
    /* PyTorch would divide by beta and return inf for every element. */
    if (act->op == CLACT_SOFTPLUS && act->param[0] == 0.0) {
        snprintf(message, len, "softplus: beta must not be 0");
        return CLACT_INVALID_ARGUMENT;
    }
    return CLACT_OK;
}

/* Enqueue the op's kernel over n elements; the frame has checked the context, events and dtype. */
static clact_status forward(clact__call *call, const clact_activation *act, size_t n, cl_mem x,
                            size_t x_offset, cl_mem y, size_t y_offset) {
    clact_context *ctx = call->ctx;
    char why[256];
    CLACT__RETURN_IF(clact_activation_check(act, why, sizeof why) != CLACT_OK, ctx,
                     CLACT_INVALID_ARGUMENT, "%s", why);
    CLACT__FORWARD(
        clact__check_io(ctx, n, clact_dtype_size(call->dtype), x, x_offset, y, y_offset));
    if (n == 0)
        return clact__marker(ctx, call->num_wait, call->wait_list, call->event);
    clact__kern k;
    CLACT__FORWARD(
        clact__kernel(ctx, CLACT__PROGRAM_ACTIVATION, call->dtype, ops[act->op].kernel, &k));
    clact__arg_size(&k, n);
    clact__arg_buf(&k, x, x_offset);
    clact__arg_buf(&k, y, y_offset);
    clact__arg_real(&k, call->dtype, act->param[0]);
    clact__arg_real(&k, call->dtype, act->param[1]);
    size_t items = (n + ctx->vector_width - 1) / ctx->vector_width;
    return clact__launch(ctx, &k, items, 256, call->num_wait, call->wait_list, call->event);
}

clact_status clact_forward(clact_context *ctx, const clact_activation *act, clact_dtype dtype,
                           size_t n, cl_mem x, size_t x_offset, cl_mem y, size_t y_offset,
                           cl_uint num_wait, const cl_event *wait_list, cl_event *event) {
    clact__call call;
    const char *name = act && op_valid(act->op) ? ops[act->op].name : "forward";
    clact_status st = clact__begin(&call, ctx, name, dtype, num_wait, wait_list, event);
    call.n = n;
    if (st == CLACT_OK)
        st = forward(&call, act, n, x, x_offset, y, y_offset);
    return clact__end(&call, st);
}

unsigned clact_backward_saved(const clact_activation *act) {
    if (clact_activation_check(act, NULL, 0) != CLACT_OK)
        return 0;
    switch (ops[act->op].saved) {
    case CLACT__SAVED_Y_OR_X: return CLACT_SAVED_X | CLACT_SAVED_Y;
    /* The output determines the gradient only while the negative branch keeps its sign
     * (negative_slope or alpha >= 0), as PyTorch's in-place backward requires. */
    case CLACT__SAVED_X_OR_Y: return CLACT_SAVED_X | (act->param[0] >= 0 ? CLACT_SAVED_Y : 0u);
    default: return CLACT_SAVED_X;
    }
}

/* Which saved tensor to read: the one PyTorch saves when both are given and allowed. */
static clact_status pick_saved(clact__call *call, const clact_activation *act, cl_mem x, cl_mem y,
                               int *from_y) {
    unsigned can = clact_backward_saved(act);
    int x_ok = x && (can & CLACT_SAVED_X), y_ok = y && (can & CLACT_SAVED_Y);
    *from_y = y_ok && (!x_ok || ops[act->op].saved == CLACT__SAVED_Y_OR_X);
    if (x_ok || y_ok)
        return CLACT_OK;
    if (!(can & CLACT_SAVED_Y))
        return clact__fail(call->ctx, CLACT_INVALID_ARGUMENT,
                           "%s backward needs x (the forward's input)%s", ops[act->op].name,
                           y && ops[act->op].saved == CLACT__SAVED_X_OR_Y
                               ? ": with a negative parameter, y does not determine the gradient"
                               : "");
    return clact__fail(call->ctx, CLACT_INVALID_ARGUMENT,
                       "%s backward needs x or y (the forward's input or output); both are NULL",
                       ops[act->op].name);
}

static clact_status backward(clact__call *call, const clact_activation *act, size_t n, cl_mem x,
                             size_t x_offset, cl_mem y, size_t y_offset, cl_mem dy,
                             size_t dy_offset, cl_mem dx, size_t dx_offset) {
    clact_context *ctx = call->ctx;
    char why[256];
    CLACT__RETURN_IF(clact_activation_check(act, why, sizeof why) != CLACT_OK, ctx,
                     CLACT_INVALID_ARGUMENT, "%s", why);
    int from_y;
    CLACT__FORWARD(pick_saved(call, act, x, y, &from_y));
    cl_mem s = from_y ? y : x;
    size_t s_offset = from_y ? y_offset : x_offset, es = clact_dtype_size(call->dtype);
    /* dx is the output: the saved tensor -> dx and dy -> dx must each be in place or disjoint. */
    CLACT__FORWARD(clact__check_io(ctx, n, es, s, s_offset, dx, dx_offset));
    CLACT__FORWARD(clact__check_io(ctx, n, es, dy, dy_offset, dx, dx_offset));
    if (n == 0)
        return clact__marker(ctx, call->num_wait, call->wait_list, call->event);
    char name[64];
    snprintf(name, sizeof name, "%s_bwd_%s", ops[act->op].kernel, from_y ? "y" : "x");
    clact__kern k;
    CLACT__FORWARD(clact__kernel(ctx, CLACT__PROGRAM_ACTIVATION, call->dtype, name, &k));
    clact__arg_size(&k, n);
    clact__arg_buf(&k, s, s_offset);
    clact__arg_buf(&k, dy, dy_offset);
    clact__arg_buf(&k, dx, dx_offset);
    clact__arg_real(&k, call->dtype, act->param[0]);
    clact__arg_real(&k, call->dtype, act->param[1]);
    size_t items = (n + ctx->vector_width - 1) / ctx->vector_width;
    return clact__launch(ctx, &k, items, 256, call->num_wait, call->wait_list, call->event);
}

clact_status clact_backward(clact_context *ctx, const clact_activation *act, clact_dtype dtype,
                            size_t n, cl_mem x, size_t x_offset, cl_mem y, size_t y_offset,
                            cl_mem dy, size_t dy_offset, cl_mem dx, size_t dx_offset,
                            cl_uint num_wait, const cl_event *wait_list, cl_event *event) {
    clact__call call;
    char name[48];
    snprintf(name, sizeof name, "%s_backward",
             act && op_valid(act->op) ? ops[act->op].name : "activation");
    clact_status st = clact__begin(&call, ctx, name, dtype, num_wait, wait_list, event);
    call.n = n;
    if (st == CLACT_OK)
        st = backward(&call, act, n, x, x_offset, y, y_offset, dy, dy_offset, dx, dx_offset);
    return clact__end(&call, st);
}
