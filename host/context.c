/* SPDX-License-Identifier: MIT */
/* Contexts: owned (clact_context_create) or over a borrowed queue. Either way the context
 * holds one reference to each OpenCL object it uses and releases it on destroy. */
#include <stdlib.h>
#include <string.h>

#include "device.h"
#include "tuning.h"

clact_status clact__device_setup(clact_context *ctx) {
    CLACT__FORWARD(clact__env_read(&ctx->env));
    cl_int err = clGetDeviceInfo(ctx->device, CL_DEVICE_TYPE, sizeof ctx->device_type,
                                 &ctx->device_type, NULL);
    if (err != CL_SUCCESS)
        return clact__fail_cl(NULL, err, "clGetDeviceInfo(CL_DEVICE_TYPE)");
    err = clGetDeviceInfo(ctx->device, CL_DEVICE_PLATFORM, sizeof ctx->platform, &ctx->platform,
                          NULL);
    if (err != CL_SUCCESS)
        return clact__fail_cl(NULL, err, "clGetDeviceInfo(CL_DEVICE_PLATFORM)");
    cl_uint cu = 1;
    err = clGetDeviceInfo(ctx->device, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof cu, &cu, NULL);
    if (err != CL_SUCCESS)
        return clact__fail_cl(NULL, err, "clGetDeviceInfo(CL_DEVICE_MAX_COMPUTE_UNITS)");
    ctx->compute_units = cu ? cu : 1;
    err = clGetDeviceInfo(ctx->device, CL_DEVICE_LOCAL_MEM_SIZE, sizeof ctx->local_mem,
                          &ctx->local_mem, NULL);
    if (err != CL_SUCCESS)
        return clact__fail_cl(NULL, err, "clGetDeviceInfo(CL_DEVICE_LOCAL_MEM_SIZE)");
    /* CLACT_NO_FP64 makes clact treat the device as one without cl_khr_fp64: for testing that
     * path on devices that have it, or to keep f64 off a device that only emulates it. */
    if ((err = clact__device_extension(ctx->device, "cl_khr_fp64", &ctx->has_fp64)) ||
        (err = clact__device_extension(ctx->device, "cl_khr_fp16", &ctx->has_fp16)))
        return clact__fail_cl(NULL, err, "clGetDeviceInfo(CL_DEVICE_EXTENSIONS)");
    ctx->has_fp64 = ctx->has_fp64 && !ctx->env.no_fp64;
    cl_device_fp_config single = 0;
    err = clGetDeviceInfo(ctx->device, CL_DEVICE_SINGLE_FP_CONFIG, sizeof single, &single, NULL);
    if (err != CL_SUCCESS)
        return clact__fail_cl(NULL, err, "clGetDeviceInfo(CL_DEVICE_SINGLE_FP_CONFIG)");
    ctx->cr_divide_sqrt = (single & CL_FP_CORRECTLY_ROUNDED_DIVIDE_SQRT) != 0;
    cl_command_queue_properties props = 0;
    err = clGetCommandQueueInfo(ctx->queue, CL_QUEUE_PROPERTIES, sizeof props, &props, NULL);
    if (err != CL_SUCCESS)
        return clact__fail_cl(NULL, err, "clGetCommandQueueInfo(CL_QUEUE_PROPERTIES)");
    ctx->out_of_order = (props & CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE) != 0;
    /* Floats per work-item. On CPU devices a work-item is a core's SIMD unit: explicit vectors of
     * the device's preferred width (8 on AVX2, 16 on AVX-512) run far faster than what PoCL's
     * auto-vectoriser makes of scalar code (shared/BENCH.md), and wider ones spill registers in
     * the longer formulas (gelu_tanh ran 1.6x slower with 16 than with 8 on AVX2). On GPUs a
     * work-item is one SIMD lane, and 4 floats give 128-bit loads without starving occupancy.
     * The throughput issue tunes this per device. */
    cl_uint preferred = 0;
    err = clGetDeviceInfo(ctx->device, CL_DEVICE_PREFERRED_VECTOR_WIDTH_FLOAT, sizeof preferred,
                          &preferred, NULL);
    if (err != CL_SUCCESS)
        return clact__fail_cl(NULL, err, "clGetDeviceInfo(CL_DEVICE_PREFERRED_VECTOR_WIDTH_FLOAT)");
    if (ctx->device_type & CL_DEVICE_TYPE_CPU)
        ctx->vector_width = preferred >= 16 ? 16 : preferred >= 8 ? 8 : 4;
    else
        ctx->vector_width = 4;
    /* The softmax row sweeps are short loops with few live values; twice the width there keeps
     * more loads in flight (1.6-1.8 against 1.4-1.6 Gelem/s for 16 against 8 on AVX2). */
    ctx->reduce_width = (ctx->device_type & CL_DEVICE_TYPE_CPU) && ctx->vector_width < 16
                            ? 2 * ctx->vector_width
                            : ctx->vector_width;
    /* CLACT_VECTOR_WIDTH=N sets both widths (the tests run every program at other widths than
     * the device's own; also for tuning). */
    if (ctx->env.vector_width)
        ctx->vector_width = ctx->reduce_width = ctx->env.vector_width;
    const char *what;
    if ((err = clact__device_identity(ctx->device, ctx->platform, ctx->identity,
                                      sizeof ctx->identity, &what)))
        return clact__fail_cl(NULL, err, what);
    /* CLBlast's GEMM parameters that `clact tune` saved for this device, if any; never fails. */
    clact__tuning_load(ctx);
    return CLACT_OK;
}

static clact_status context_alloc(clact_context **out) {
    clact_context *ctx = calloc(1, sizeof *ctx);
    if (!ctx)
        return clact__fail(NULL, CLACT_OUT_OF_MEMORY, "out of host memory for the context");
    *out = ctx;
    return CLACT_OK;
}

clact_status clact_context_create(clact_context **out, const char *spec) {
    clact__clear_error(NULL);
    if (!out)
        return clact__fail(NULL, CLACT_INVALID_ARGUMENT, "ctx (the output pointer) is NULL");
    *out = NULL;
    clact__device_entry *entries;
    size_t n, index;
    clact_status status = clact__device_enumerate(&entries, &n);
    if (status != CLACT_OK)
        return status;
    status = clact__device_find(spec, entries, n, &index);
    if (status != CLACT_OK) {
        free(entries);
        return status;
    }
    cl_platform_id platform = entries[index].platform;
    cl_device_id device = entries[index].device;
    free(entries);

    clact_context *ctx = NULL;
    if ((status = context_alloc(&ctx)) != CLACT_OK)
        return status;
    ctx->device = device;
    cl_context_properties props[] = {CL_CONTEXT_PLATFORM, (cl_context_properties)platform, 0};
    cl_int err;
    ctx->context = clCreateContext(props, 1, &device, NULL, NULL, &err);
    if (!ctx->context) {
        free(ctx);
        return clact__fail_cl(NULL, err, "clCreateContext");
    }
    /* Profiling is on so that users (and CLACT_VERBOSE, the benchmark) can time kernels from
     * the events; it costs nothing measurable on the drivers we know. */
    ctx->queue = clCreateCommandQueue(ctx->context, device, CL_QUEUE_PROFILING_ENABLE, &err);
    if (!ctx->queue) {
        clReleaseContext(ctx->context);
        free(ctx);
        return clact__fail_cl(NULL, err, "clCreateCommandQueue");
    }
    if ((status = clact__device_setup(ctx)) != CLACT_OK) {
        clact_context_destroy(ctx);
        return status;
    }
    *out = ctx;
    return CLACT_OK;
}

clact_status clact_context_create_from_queue(clact_context **out, cl_command_queue queue) {
    clact__clear_error(NULL);
    if (!out)
        return clact__fail(NULL, CLACT_INVALID_ARGUMENT, "ctx (the output pointer) is NULL");
    *out = NULL;
    if (!queue)
        return clact__fail(NULL, CLACT_INVALID_ARGUMENT, "queue is NULL");
    cl_context context;
    cl_device_id device;
    cl_int err = clGetCommandQueueInfo(queue, CL_QUEUE_CONTEXT, sizeof context, &context, NULL);
    if (err == CL_SUCCESS)
        err = clGetCommandQueueInfo(queue, CL_QUEUE_DEVICE, sizeof device, &device, NULL);
    if (err == CL_INVALID_COMMAND_QUEUE)
        return clact__fail(NULL, CLACT_INVALID_ARGUMENT,
                           "queue is not a valid command queue (CL_INVALID_COMMAND_QUEUE)");
    if (err != CL_SUCCESS)
        return clact__fail_cl(NULL, err, "clGetCommandQueueInfo");
    clact_context *ctx = NULL;
    clact_status status = context_alloc(&ctx);
    if (status != CLACT_OK)
        return status;
    ctx->device = device;
    ctx->context = context;
    ctx->queue = queue;
    clRetainContext(context);
    clRetainCommandQueue(queue);
    if ((status = clact__device_setup(ctx)) != CLACT_OK) {
        clact_context_destroy(ctx);
        return status;
    }
    *out = ctx;
    return CLACT_OK;
}

void clact_context_destroy(clact_context *ctx) {
    if (!ctx)
        return;
    clact__programs_release(ctx);
    clact__tables_release(ctx);
    clact__env_free(&ctx->env);
    if (ctx->device_errors)
        clReleaseMemObject(ctx->device_errors);
    if (ctx->gemm_temp)
        clReleaseMemObject(ctx->gemm_temp);
    if (ctx->scratch_event)
        clReleaseEvent(ctx->scratch_event);
    if (ctx->scratch)
        clReleaseMemObject(ctx->scratch);
    if (ctx->queue)
        clReleaseCommandQueue(ctx->queue);
    if (ctx->context)
        clReleaseContext(ctx->context);
    free(ctx);
}

cl_command_queue clact_context_queue(const clact_context *ctx) { return ctx ? ctx->queue : NULL; }
cl_context clact_context_cl_context(const clact_context *ctx) { return ctx ? ctx->context : NULL; }
cl_device_id clact_context_device(const clact_context *ctx) { return ctx ? ctx->device : NULL; }

clact_status clact__scratch(clact_context *ctx, size_t bytes) {
    if (ctx->scratch && ctx->scratch_bytes >= bytes)
        return CLACT_OK;
    if (ctx->scratch) {
        /* Commands already enqueued keep the old buffer alive until they finish. */
        clReleaseMemObject(ctx->scratch);
        ctx->scratch = NULL;
        ctx->scratch_bytes = 0;
    }
    cl_int err;
    ctx->scratch = clCreateBuffer(ctx->context, CL_MEM_READ_WRITE, bytes, NULL, &err);
    if (!ctx->scratch)
        return clact__fail_cl(ctx, err, "clCreateBuffer (scratch)");
    ctx->scratch_bytes = bytes;
    return CLACT_OK;
}

clact_status clact__wait_list_plus(clact_context *ctx, cl_uint num_wait,
                                   const cl_event *wait_list, cl_event extra, cl_event stack[16],
                                   cl_event **waits, cl_uint *nw) {
    const size_t total = (size_t)num_wait + (extra ? 1 : 0);
    *waits = stack;
    CLACT__RETURN_IF(total > CL_UINT_MAX, ctx, CLACT_INVALID_ARGUMENT,
                     "num_wait is %u: no room for the op's own event", (unsigned)num_wait);
    *nw = (cl_uint)total;
    if (total > 16 && !(*waits = malloc(total * sizeof **waits)))
        return clact__fail(ctx, CLACT_OUT_OF_MEMORY, "out of host memory for the wait list");
    if (num_wait)
        memcpy(*waits, wait_list, num_wait * sizeof **waits);
    if (extra)
        (*waits)[num_wait] = extra;
    return CLACT_OK;
}

clact_status clact__scratch_begin(clact_context *ctx, size_t bytes, cl_uint num_wait,
                                  const cl_event *wait_list, cl_event stack[16], cl_event **waits,
                                  cl_uint *nw) {
    clact_status st = clact__scratch(ctx, bytes);
    if (st != CLACT_OK)
        return st;
    return clact__wait_list_plus(ctx, num_wait, wait_list, ctx->scratch_event, stack, waits, nw);
}

void clact__scratch_end(clact_context *ctx, cl_event last) {
    if (!last)
        return;
    clRetainEvent(last);
    if (ctx->scratch_event)
        clReleaseEvent(ctx->scratch_event);
    ctx->scratch_event = last;
}

/* The device-side error record: {position or -1, value, C, ignore_index}; see internal.h. */
static const cl_long no_device_error[4] = {-1, 0, 0, 0};

clact_status clact__device_errors(clact_context *ctx) {
    if (ctx->device_errors)
        return CLACT_OK;
    cl_int err;
    ctx->device_errors = clCreateBuffer(ctx->context, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR,
                                        sizeof no_device_error, (void *)no_device_error, &err);
    if (!ctx->device_errors)
        return clact__fail_cl(ctx, err, "clCreateBuffer (device error record)");
    return CLACT_OK;
}

clact_status clact_context_check(clact_context *ctx) {
    CLACT__RETURN_IF(!ctx, NULL, CLACT_INVALID_ARGUMENT, "ctx is NULL");
    clact__clear_error(ctx);
    cl_int err = clFinish(ctx->queue);
    if (err != CL_SUCCESS)
        return clact__fail_cl(ctx, err, "clFinish");
    if (!ctx->device_errors)
        return CLACT_OK;
    cl_long rec[4];
    err = clEnqueueReadBuffer(ctx->queue, ctx->device_errors, CL_TRUE, 0, sizeof rec, rec, 0, NULL,
                              NULL);
    if (err != CL_SUCCESS)
        return clact__fail_cl(ctx, err, "clEnqueueReadBuffer (device error record)");
    if (rec[0] < 0)
        return CLACT_OK;
    /* Reported once: clear the record so that the context goes on being usable. */
    err = clEnqueueWriteBuffer(ctx->queue, ctx->device_errors, CL_TRUE, 0, sizeof no_device_error,
                               no_device_error, 0, NULL, NULL);
    clact_status st = clact__fail(
        ctx, CLACT_INVALID_ARGUMENT,
        "cross_entropy: target %lld at position %lld is out of bounds: class indices must be in "
        "[0, %lld) or equal ignore_index (%lld) (seen on the device; the loss and gradient of "
        "that call are NaN there)",
        (long long)rec[1], (long long)rec[0], (long long)rec[2], (long long)rec[3]);
    if (err != CL_SUCCESS)
        return clact__fail_cl(ctx, err, "clEnqueueWriteBuffer (clearing the device error record)");
    return st;
}
