/* SPDX-License-Identifier: MIT */
/* The frame every op runs in: the entry prologue and epilogue (with the CLACT_VERBOSE line, done
 * once here for every op), kernel arguments that remember their first failure, and the launch
 * helpers. Op files (activation.c, softmax.c, loss.c) hold only what is particular to their op. */
#include <stdio.h>
#include <string.h>

#include "internal.h"

static clact_status check_events(clact_context *ctx, cl_uint num_wait, const cl_event *wait_list) {
    CLACT__RETURN_IF(num_wait > 0 && !wait_list, ctx, CLACT_INVALID_ARGUMENT,
                     "num_wait is %u but wait_list is NULL", (unsigned)num_wait);
    CLACT__RETURN_IF(num_wait == 0 && wait_list, ctx, CLACT_INVALID_ARGUMENT,
                     "wait_list is given but num_wait is 0");
    return CLACT_OK;
}

static clact_status check_dtype(clact_context *ctx, clact_dtype dtype, const char *op) {
    CLACT__RETURN_IF(!clact_dtype_size(dtype), ctx, CLACT_INVALID_ARGUMENT, "%s: unknown dtype %d",
                     op, (int)dtype);
    if (dtype == CLACT_F64 && !ctx->has_fp64) {
        char name[256];
        return clact__fail(ctx, CLACT_UNSUPPORTED,
                           "%s: dtype f64 needs the cl_khr_fp64 extension, which device '%s' does "
                           "not report%s",
                           op, clact__device_name(ctx, name, sizeof name),
                           ctx->env.no_fp64 ? " (or CLACT_NO_FP64 is set)" : "");
    }
    return CLACT_OK;
}

clact_status clact__begin(clact__call *call, clact_context *ctx, const char *op, clact_dtype dtype,
                          cl_uint num_wait, const cl_event *wait_list, cl_event *event) {
    memset(call, 0, sizeof *call);
    /* The op's name, cut to fit (not snprintf: this runs on every op's success path, where a
     * formatted copy cost as much as the rest of the prologue). */
    size_t len = strlen(op);
    len = len < sizeof call->op ? len : sizeof call->op - 1;
    memcpy(call->op, op, len);
    call->dtype = dtype;
    call->num_wait = num_wait;
    call->wait_list = wait_list;
    if (event)
        *event = NULL;
    CLACT__RETURN_IF(!ctx, NULL, CLACT_INVALID_ARGUMENT, "ctx is NULL");
    call->ctx = ctx;
    clact__clear_error(ctx);
    ctx->last_origin = CLACT__ORIGIN_NONE;
    /* The verbose line needs the op's event even when the caller does not want it. */
    call->event = event ? event : ctx->env.verbose ? &call->own : NULL;
    CLACT__FORWARD(check_events(ctx, num_wait, wait_list));
    return check_dtype(ctx, dtype, op);
}

clact_status clact__end(clact__call *call, clact_status status) {
    if (status == CLACT_OK && call->ctx && call->ctx->env.verbose)
        clact__verbose_report(call, *call->event);
    if (call->own)
        clReleaseEvent(call->own);
    call->own = NULL;
    return status;
}

void clact__arg(clact__kern *k, size_t size, const void *value) {
    cl_int err = clSetKernelArg(k->kernel, k->next, size, value);
    if (err != CL_SUCCESS && k->err == CL_SUCCESS) {
        k->err = err;
        k->failed_arg = k->next;
    }
    ++k->next;
}

void clact__arg_size(clact__kern *k, size_t v) {
    cl_ulong u = v;
    CLACT__ARG(k, u);
}

void clact__arg_buf(clact__kern *k, cl_mem m, size_t offset) {
    CLACT__ARG(k, m);
    clact__arg_size(k, offset);
}

void clact__arg_real(clact__kern *k, clact_dtype dtype, double v) {
    cl_double d = v;
    cl_float f = (cl_float)v;
    if (dtype == CLACT_F64)
        clact__arg(k, sizeof d, &d);
    else
        clact__arg(k, sizeof f, &f);
}

clact_status clact__args_status(clact_context *ctx, const clact__kern *k) {
    if (k->err == CL_SUCCESS)
        return CLACT_OK;
    return clact__fail(ctx, CLACT_OPENCL_ERROR, "clSetKernelArg(%s, argument %u) failed: %s (%d)",
                       k->name, (unsigned)k->failed_arg, clact__cl_error_name(k->err), (int)k->err);
}

static clact_status enqueue(clact_context *ctx, const clact__kern *k, size_t global, size_t local,
                            cl_uint num_wait, const cl_event *wait_list, cl_event *event) {
    CLACT__FORWARD(clact__args_status(ctx, k));
    cl_int err = clEnqueueNDRangeKernel(ctx->queue, k->kernel, 1, NULL, &global, &local, num_wait,
                                        wait_list, event);
    if (err != CL_SUCCESS) {
        char call[96];
        snprintf(call, sizeof call, "clEnqueueNDRangeKernel(%s)", k->name);
        return clact__fail_cl(ctx, err, call);
    }
    return CLACT_OK;
}

clact_status clact__launch(clact_context *ctx, const clact__kern *k, size_t items, size_t local,
                           cl_uint num_wait, const cl_event *wait_list, cl_event *event) {
    if (local > k->max_wg)
        local = k->max_wg;
    size_t global = (items + local - 1) / local * local;
    return enqueue(ctx, k, global, local, num_wait, wait_list, event);
}

clact_status clact__launch_groups(clact_context *ctx, const clact__kern *k, size_t groups,
                                  size_t max_local, cl_uint num_wait, const cl_event *wait_list,
                                  cl_event *event) {
    size_t local = 1;
    while (local * 2 <= max_local && local * 2 <= k->max_wg)
        local *= 2;
    return enqueue(ctx, k, groups * local, local, num_wait, wait_list, event);
}

/* NVIDIA's OpenCL driver (580.159 on an H200, measured 2026-11-28: bench/RESULTS.md) faults,
 * CL_INVALID_COMMAND_QUEUE at the next clFinish and the context lost, on clEnqueueFillBuffer with
 * a 1- or 2-byte pattern over 8 KiB at 4 GiB - 16 KiB or 8 GiB - 16 KiB of an 8 GiB buffer (not
 * at 4 GiB + 4 KiB, not over the whole buffer), and not with a 4-byte pattern there. Zeros are
 * the same bytes in any pattern, so 16-bit elements are filled 4 bytes at a time wherever the
 * offset and size are multiples of 4 (always, but for an odd element offset or count). */
clact_status clact__fill_zeros(clact_context *ctx, cl_mem m, size_t off, size_t bytes,
                               size_t elem_size, cl_uint num_wait, const cl_event *wait_list,
                               cl_event *event, const char *what) {
    static const cl_ulong zero = 0;
    size_t psize = elem_size;
    if (psize < 4 && off % 4 == 0 && bytes % 4 == 0)
        psize = 4;
    cl_int err =
        clEnqueueFillBuffer(ctx->queue, m, &zero, psize, off, bytes, num_wait, wait_list, event);
    return err == CL_SUCCESS ? CLACT_OK : clact__fail_cl(ctx, err, what);
}

clact_status clact__marker(clact_context *ctx, cl_uint num_wait, const cl_event *wait_list,
                           cl_event *event) {
    cl_int err = clEnqueueMarkerWithWaitList(ctx->queue, num_wait, wait_list, event);
    if (err != CL_SUCCESS)
        return clact__fail_cl(ctx, err, "clEnqueueMarkerWithWaitList");
    return CLACT_OK;
}

const char *clact__device_name(const clact_context *ctx, char *buf, size_t len) {
    snprintf(buf, len, "?");
    if (clGetDeviceInfo(ctx->device, CL_DEVICE_NAME, len - 1, buf, NULL) != CL_SUCCESS)
        snprintf(buf, len, "?");
    buf[len - 1] = '\0';
    return buf;
}
