/* SPDX-License-Identifier: MIT */
/* Activation descriptors and the elementwise launcher. */
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

clact_status clact__check_events(clact_context *ctx, cl_uint num_wait, const cl_event *wait_list) {
    if (num_wait > 0 && !wait_list)
        return clact__fail(ctx, CLACT_INVALID_ARGUMENT, "num_wait is %u but wait_list is NULL",
                           (unsigned)num_wait);
    if (num_wait == 0 && wait_list)
        return clact__fail(ctx, CLACT_INVALID_ARGUMENT, "wait_list is given but num_wait is 0");
    return CLACT_OK;
}

clact_status clact__marker(clact_context *ctx, cl_uint num_wait, const cl_event *wait_list,
                           cl_event *event) {
    cl_int err = clEnqueueMarkerWithWaitList(ctx->queue, num_wait, wait_list, event);
    if (err != CL_SUCCESS)
        return clact__fail_cl(ctx, err, "clEnqueueMarkerWithWaitList");
    return CLACT_OK;
}

clact_status clact__launch(clact_context *ctx, cl_kernel kernel, size_t kernel_wg, size_t items,
                           size_t local, cl_uint num_wait, const cl_event *wait_list,
                           cl_event *event) {
    if (local > kernel_wg)
        local = kernel_wg;
    size_t rounded_items = (items + 31) / 32 * 32;
    if (local > rounded_items)
        local = rounded_items;
    size_t global = (items + local - 1) / local * local;
    cl_int err = clEnqueueNDRangeKernel(ctx->queue, kernel, 1, NULL, &global, &local, num_wait,
                                        wait_list, event);
    if (err != CL_SUCCESS)
        return clact__fail_cl(ctx, err, "clEnqueueNDRangeKernel");
    return CLACT_OK;
}

static clact_status clact_forward_impl(clact_context *ctx, const clact_activation *act,
                                       clact_dtype dtype, size_t n, cl_mem x, size_t x_offset,
                                       cl_mem y, size_t y_offset, cl_uint num_wait,
                                       const cl_event *wait_list, cl_event *event) {
    if (event)
        *event = NULL;
    if (!ctx)
        return clact__fail(NULL, CLACT_INVALID_ARGUMENT, "ctx is NULL");
    clact__clear_error(ctx);
    char why[256];
    if (clact_activation_check(act, why, sizeof why) != CLACT_OK)
        return clact__fail(ctx, CLACT_INVALID_ARGUMENT, "%s", why);
    clact_status status;
    if ((status = clact__check_dtype(ctx, dtype, ops[act->op].name)) != CLACT_OK)
        return status;
    size_t elem = clact_dtype_size(dtype);
    if ((status = clact__check_events(ctx, num_wait, wait_list)) != CLACT_OK ||
        (status = clact__check_io(ctx, n, elem, x, x_offset, y, y_offset)) != CLACT_OK)
        return status;
    if (n == 0)
        return clact__marker(ctx, num_wait, wait_list, event);

    cl_kernel kernel;
    size_t kernel_wg;
    if ((status = clact__kernel(ctx, CLACT__PROGRAM_ACTIVATION, dtype, ops[act->op].kernel, &kernel,
                                &kernel_wg)) != CLACT_OK)
        return status;
    /* Parameters go to the compute type as PyTorch converts them (double for f64, float
     * otherwise); an out-of-range double becomes ±inf exactly as (float) does in PyTorch. */
    cl_ulong un = n, xo = x_offset, yo = y_offset;
    cl_float f0 = (cl_float)act->param[0], f1 = (cl_float)act->param[1];
    cl_double d0 = act->param[0], d1 = act->param[1];
    int dbl = dtype == CLACT_F64;
    cl_int err = CL_SUCCESS;
    err |= clSetKernelArg(kernel, 0, sizeof un, &un);
    err |= clSetKernelArg(kernel, 1, sizeof x, &x);
    err |= clSetKernelArg(kernel, 2, sizeof xo, &xo);
    err |= clSetKernelArg(kernel, 3, sizeof y, &y);
    err |= clSetKernelArg(kernel, 4, sizeof yo, &yo);
    err |=
        dbl ? clSetKernelArg(kernel, 5, sizeof d0, &d0) : clSetKernelArg(kernel, 5, sizeof f0, &f0);
    err |=
        dbl ? clSetKernelArg(kernel, 6, sizeof d1, &d1) : clSetKernelArg(kernel, 6, sizeof f1, &f1);
    if (err != CL_SUCCESS)
        return clact__fail(ctx, CLACT_OPENCL_ERROR, "clSetKernelArg failed for %s",
                           ops[act->op].kernel);
    size_t items = (n + ctx->vector_width - 1) / ctx->vector_width;
    return clact__launch(ctx, kernel, kernel_wg, items, 256, num_wait, wait_list, event);
}

clact_status clact_forward(clact_context *ctx, const clact_activation *act, clact_dtype dtype,
                           size_t n, cl_mem x, size_t x_offset, cl_mem y, size_t y_offset,
                           cl_uint num_wait, const cl_event *wait_list, cl_event *event) {
    if (!clact__verbose_on() || !ctx)
        return clact_forward_impl(ctx, act, dtype, n, x, x_offset, y, y_offset, num_wait, wait_list,
                                  event);
    cl_event mine = NULL, *ev = event ? event : &mine;
    ctx->last_origin = -1;
    clact_status st =
        clact_forward_impl(ctx, act, dtype, n, x, x_offset, y, y_offset, num_wait, wait_list, ev);
    if (st == CLACT_OK)
        clact__verbose_report(ctx, clact_op_name(act->op), dtype, 0, NULL, n, *ev);
    if (mine)
        clReleaseEvent(mine);
    return st;
}
