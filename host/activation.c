/* SPDX-License-Identifier: MIT */
/* Activation descriptors and the elementwise launcher: what is particular to activations; the
 * frame (prologue, arguments, launch, CLACT_VERBOSE) is launch.c. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

typedef struct op_entry {
    const char *name;
    const char *kernel;
    int n_params;
    const char *param_name[2];
    double param_default[2];
} op_entry;

static const op_entry ops[CLACT_OP_COUNT] = {
#define CLACT__OP_ENTRY(name, torch_name, n, p0, d0, p1, d1)                                       \
    [CLACT_##name] = {torch_name, "clact_" torch_name, n, {p0, p1}, {d0, d1}},
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
