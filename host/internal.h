/* SPDX-License-Identifier: MIT */
/* Declarations shared by the host files. Nothing here is public API. */
#ifndef CLACT_HOST_INTERNAL_H
#define CLACT_HOST_INTERNAL_H

#include "clact/clact.h"

/* The programs clact builds, one per family of kernels; each is built once per context and
 * dtype, on first use. */
typedef enum clact__program_id {
    CLACT__PROGRAM_ACTIVATION,
    CLACT__PROGRAM_SOFTMAX,
    CLACT__PROGRAM_LOSS,
    CLACT__PROGRAM_COUNT
} clact__program_id;

#define CLACT__DTYPE_COUNT 4
#define CLACT__ERROR_SIZE  8192

typedef struct clact__program {
    cl_program program;
    cl_kernel *kernels; /* in the order clCreateKernelsInProgram returned them */
    char **kernel_names;
    size_t *kernel_wg; /* CL_KERNEL_WORK_GROUP_SIZE of each kernel on the context's device */
    cl_uint kernel_count;
} clact__program;

struct clact_context {
    cl_platform_id platform;
    cl_device_id device;
    cl_context context;
    cl_command_queue queue;
    cl_device_type device_type;
    unsigned vector_width;  /* floats per work-item, a compile-time constant of the kernels */
    unsigned reduce_width;  /* the same for the softmax and loss programs */
    unsigned compute_units; /* CL_DEVICE_MAX_COMPUTE_UNITS */
    int has_fp64;           /* cl_khr_fp64, unless CLACT_NO_FP64 says to act as if not */
    /* Scratch memory for kernels that pass partial results between launches (long softmax
     * rows): allocated on first need, grown when too small, and reused. scratch_event is the
     * last command that used it, which the next user waits for (out-of-order queues). */
    cl_mem scratch;
    size_t scratch_bytes;
    cl_event scratch_event;
    clact__program programs[CLACT__PROGRAM_COUNT][CLACT__DTYPE_COUNT];
    clact_cache_stats cache;
    /* How the last clact__kernel call found its program, for CLACT_VERBOSE: 0 already in this
     * context, 1 loaded from disk, 2 compiled from source; and what that took (ms). */
    int last_origin;
    double last_origin_ms;
    char error[CLACT__ERROR_SIZE];
};

/* Record a failure's detail in ctx (or, with ctx NULL, in this thread) and return status. */
clact_status clact__fail(clact_context *ctx, clact_status status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* Same, for a failed OpenCL call: names the call and the error code. */
clact_status clact__fail_cl(clact_context *ctx, cl_int err, const char *call);
/* Clear the detail before a call (a successful call leaves ""). */
void clact__clear_error(clact_context *ctx);
/* The name of an OpenCL error code ("CL_INVALID_VALUE"), or "unknown OpenCL error". */
const char *clact__cl_error_name(cl_int err);

/* Whether dtype is a known dtype (CLACT_INVALID_ARGUMENT if not) that this context's device
 * runs (CLACT_UNSUPPORTED for f64 without cl_khr_fp64); op names the operation in messages. */
clact_status clact__check_dtype(clact_context *ctx, clact_dtype dtype, const char *op);

/* CLACT_VERBOSE (verbose.c): whether it is on, and the line for an op that enqueued event
 * (shape NULL: a flat tensor of n elements). */
int clact__verbose_on(void);
void clact__verbose_report(clact_context *ctx, const char *op, clact_dtype dtype, int ndim,
                           const size_t *shape, size_t n, cl_event event);

/* Find a kernel by name in the program for (id, dtype), building the program on first use. */
clact_status clact__kernel(clact_context *ctx, clact__program_id id, clact_dtype dtype,
                           const char *name, cl_kernel *kernel, size_t *max_work_group);
/* Release every program of the context. */
void clact__programs_release(clact_context *ctx);

/* One buffer argument of an op: count elements of elem bytes at offset (elements). An output
 * may share exactly the same bytes with the buffer whose index is alias (in-place); any other
 * overlap involving an output is rejected. */
typedef struct clact__buf {
    const char *name;
    cl_mem mem;
    size_t offset, count, elem;
    int output;
    int alias; /* index in the same array, or -1 */
} clact__buf;
clact_status clact__check_buffers(clact_context *ctx, const clact__buf *buffers, int n);
/* Validate an input/output buffer pair for n elements of elem bytes: valid buffers of the
 * context, ranges inside them, readable input, writable output, and either the very same
 * elements (in-place) or disjoint ranges. */
clact_status clact__check_io(clact_context *ctx, size_t n, size_t elem, cl_mem x, size_t x_offset,
                             cl_mem y, size_t y_offset);
/* OpenCL's rule for (num_wait, wait_list): both zero/NULL or both given. */
clact_status clact__check_events(clact_context *ctx, cl_uint num_wait, const cl_event *wait_list);

/* Enqueue a 1-D kernel over `items` work-items: the local size is at most `local` (and the
 * kernel's limit), the global size is rounded up to a multiple of it (kernels bound-check). */
clact_status clact__launch(clact_context *ctx, cl_kernel kernel, size_t kernel_wg, size_t items,
                           size_t local, cl_uint num_wait, const cl_event *wait_list,
                           cl_event *event);
/* Enqueue a marker: the op had nothing to do, but its event completes after the wait list. */
clact_status clact__marker(clact_context *ctx, cl_uint num_wait, const cl_event *wait_list,
                           cl_event *event);
/* Split a shape at dim into (outer, C, inner) and the element count (0 if any dimension is). */
clact_status clact__shape_split(clact_context *ctx, int ndim, const size_t *shape, int dim,
                                size_t *outer, size_t *C, size_t *inner, size_t *total);
/* Cross-entropy shapes: (C) or (N, C, d...) -> classes, inner size, positions, elements. */
clact_status clact__ce_shape(clact_context *ctx, int ndim, const size_t *shape, size_t *C,
                             size_t *inner, size_t *positions, size_t *total);
clact_status clact__ce_desc_check(clact_context *ctx, const clact_cross_entropy_desc *desc);
/* Make ctx->scratch hold at least `bytes`. */
clact_status clact__scratch(clact_context *ctx, size_t bytes);

/* Use ctx->scratch for one op: make it hold at least `bytes`, and build the op's first wait list,
 * the caller's events plus the scratch buffer's previous user (out-of-order queues would
 * otherwise let two ops share it at once). *waits is `stack` or, past 16 events, malloc'd: free
 * it when it is not `stack`. clact__scratch_end records the op's last command as the new user. */
clact_status clact__scratch_begin(clact_context *ctx, size_t bytes, cl_uint num_wait,
                                  const cl_event *wait_list, cl_event stack[16], cl_event **waits,
                                  cl_uint *nw);
void clact__scratch_end(clact_context *ctx, cl_event last);

/* Query the device properties the launchers need; called once at context creation. */
clact_status clact__device_setup(clact_context *ctx);

#endif
