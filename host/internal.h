/* SPDX-License-Identifier: MIT */
/* Declarations shared by the host files. Nothing here is public API. */
#ifndef CLACT_HOST_INTERNAL_H
#define CLACT_HOST_INTERNAL_H

#include <stdint.h>

#include "clact/clact.h"

#include <CL/cl_ext.h> /* CL_PLATFORM_NOT_FOUND_KHR */

/* The programs clact builds, one per family of kernels; each is built once per context and
 * dtype, on first use. */
typedef enum clact__program_id {
    CLACT__PROGRAM_ACTIVATION, /* elementwise forward and backward, and the dense layer's passes */
    CLACT__PROGRAM_SOFTMAX,
    CLACT__PROGRAM_LOSS,
    CLACT__PROGRAM_OPTIM, /* the optimizer steps */
    CLACT__PROGRAM_COUNT
} clact__program_id;

#define CLACT__ERROR_SIZE 8192

/* The softmax row kernels (host/softmax.c); CLACT_SOFTMAX_PATH can force one. */
typedef enum clact__softmax_path {
    CLACT__PATH_AUTO,
    CLACT__PATH_ROWS,
    CLACT__PATH_GROUP,
    CLACT__PATH_SPLIT
} clact__softmax_path;

/* Every environment variable the library reads, read once when a context is created (env.c);
 * the header lists them with their meanings. Strings are owned (NULL when unset). */
typedef struct clact__env {
    int verbose;                      /* CLACT_VERBOSE set and not "0" */
    int no_fp64;                      /* CLACT_NO_FP64 set and not "0" */
    unsigned vector_width;            /* CLACT_VECTOR_WIDTH, 0 when unset */
    clact__softmax_path softmax_path; /* CLACT_SOFTMAX_PATH */
    unsigned long rows_per_item;      /* CLACT_SOFTMAX_ROWS_PER_ITEM, 0 when unset */
    int tables;                       /* CLACT_TABLES: -1 unset (the device decides), 0 or 1 */
    char *cache_dir;                  /* the disk cache's folder; NULL: no disk cache */
    char *kernel_dir;                 /* CLACT_KERNEL_DIR */
    char *build_options;              /* CLACT_BUILD_OPTIONS */
} clact__env;

/* Fill env from the environment; an invalid value fails with CLACT_INVALID_ARGUMENT naming the
 * variable (detail in the thread's error: no context exists yet). */
clact_status clact__env_read(clact__env *env);
void clact__env_free(clact__env *env);

typedef struct clact__program {
    cl_program program;
    cl_kernel *kernels; /* in the order clCreateKernelsInProgram returned them */
    char **kernel_names;
    size_t *kernel_wg; /* CL_KERNEL_WORK_GROUP_SIZE of each kernel on the context's device */
    cl_uint kernel_count;
} clact__program;

/* Where an op's program came from, for CLACT_VERBOSE. */
typedef enum clact__origin {
    CLACT__ORIGIN_NONE = -1, /* no kernel ran: an empty tensor, only a marker */
    CLACT__ORIGIN_CONTEXT,   /* already built in this context */
    CLACT__ORIGIN_DISK,      /* loaded from the disk cache */
    CLACT__ORIGIN_COMPILED   /* compiled from source */
} clact__origin;

/* A 16-bit lookup table (table.c): an op's output for each of the 65536 values of f16 or bf16,
 * written on the device by the op's own kernel. The key is the op, the dtype and the kernel's two
 * parameters as float bits (what the kernel sees: parameters that round to the same floats give
 * the same table). */
enum { CLACT__TABLE_SLOTS = 8 }; /* 128 KiB each, 1 MiB per context at most */
typedef struct clact__table {
    cl_mem mem;     /* NULL: the slot is free */
    cl_event ready; /* the command that finished writing it (out-of-order queues wait for it) */
    clact_op op;
    clact_dtype dtype;
    cl_uint p[2];
    unsigned long used; /* when it was last used, for evicting the least recently used */
} clact__table;

/* The length of a device identity (clact__device_identity in device.h). */
enum { CLACT__IDENTITY_LEN = 1100 };

struct clact_context {
    cl_platform_id platform;
    cl_device_id device;
    cl_context context;
    cl_command_queue queue;
    cl_device_type device_type;
    unsigned vector_width;  /* floats per work-item, a compile-time constant of the kernels */
    unsigned reduce_width;  /* the same for the softmax and loss programs */
    unsigned compute_units; /* CL_DEVICE_MAX_COMPUTE_UNITS */
    cl_ulong local_mem;     /* CL_DEVICE_LOCAL_MEM_SIZE (bytes) */
    int has_fp64;           /* cl_khr_fp64, unless CLACT_NO_FP64 says to act as if not */
    int has_fp16;           /* cl_khr_fp16 (the dense layer's f16 GEMM needs it) */
    char identity[CLACT__IDENTITY_LEN]; /* clact__device_identity: the disk cache's and tuning's key */
    /* CL_FP_CORRECTLY_ROUNDED_DIVIDE_SQRT in CL_DEVICE_SINGLE_FP_CONFIG: the optimizer program is
     * then built with -cl-fp32-correctly-rounded-divide-sqrt (Adam divides and takes a root). */
    int cr_divide_sqrt;
    int out_of_order;       /* the queue executes out of order: CLBlast's calls need barriers */
    /* CLBlast's temporary GEMM buffer (dense.c), made on first need and grown; its users are
     * ordered through the scratch buffer's chain. */
    cl_mem gemm_temp;
    size_t gemm_temp_bytes;
    clact__env env;
    /* What only the device can see (a cross-entropy class index out of range), recorded by the
     * kernels for clact_context_check: 4 cl_long {position or -1, value, C, ignore_index},
     * made on first need. */
    cl_mem device_errors;
    /* Scratch memory for kernels that pass partial results between launches (long softmax
     * rows): allocated on first need, grown when too small, and reused. scratch_event is the
     * last command that used it, which the next user waits for (out-of-order queues). */
    cl_mem scratch;
    size_t scratch_bytes;
    cl_event scratch_event;
    clact__table tables[CLACT__TABLE_SLOTS];
    unsigned long table_clock;
    clact__program programs[CLACT__PROGRAM_COUNT][CLACT_DTYPE_COUNT];
    clact_cache_stats cache;
    /* How the current op's last clact__kernel call found its program, for CLACT_VERBOSE. */
    clact__origin last_origin;
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

/* ---- The frame every op uses (launch.c) ---- */

/* Return the status of expr from the enclosing function when it is a failure. */
#define CLACT__FORWARD(expr)                                                                       \
    do {                                                                                           \
        clact_status forward_ = (expr);                                                            \
        if (forward_ != CLACT_OK)                                                                  \
            return forward_;                                                                       \
    } while (0)
/* Return clact__fail(ctx, status, ...) from the enclosing function when cond holds. */
#define CLACT__RETURN_IF(cond, ctx, status, ...)                                                   \
    do {                                                                                           \
        if (cond)                                                                                  \
            return clact__fail(ctx, status, __VA_ARGS__);                                          \
    } while (0)

/* One call of a public op: its context, its name (messages, CLACT_VERBOSE), what the verbose line
 * shows, the caller's wait list, and where its last command's event goes. */
typedef struct clact__call {
    clact_context *ctx;
    char op[48];
    clact_dtype dtype;
    int ndim; /* the shape for CLACT_VERBOSE; ndim 0: a flat tensor of n elements */
    const size_t *shape;
    size_t n;
    cl_uint num_wait;
    const cl_event *wait_list;
    cl_event *event; /* the caller's out-event, or own when only CLACT_VERBOSE wants one; or NULL */
    const char *path; /* for CLACT_VERBOSE: how the op ran, where it has two ways; or NULL */
    cl_event own;
} clact__call;

/* The entry prologue of every op: NULL the caller's event, check the context (clearing its
 * error), the event triple and the dtype (unknown: CLACT_INVALID_ARGUMENT; f64 without
 * cl_khr_fp64: CLACT_UNSUPPORTED naming the device); op names the op in messages. */
clact_status clact__begin(clact__call *call, clact_context *ctx, const char *op, clact_dtype dtype,
                          cl_uint num_wait, const cl_event *wait_list, cl_event *event);
/* The epilogue: with CLACT_VERBOSE, the op's line (only when it succeeded); returns status. */
clact_status clact__end(clact__call *call, clact_status status);

/* A kernel found in its program, and the state of setting its arguments: clact__arg sets the
 * next argument in order and records the first failure (its index and CL error), which the
 * launch helpers report, naming the kernel, before enqueueing anything. */
typedef struct clact__kern {
    cl_kernel kernel;
    const char *name;
    size_t max_wg; /* CL_KERNEL_WORK_GROUP_SIZE on the context's device */
    cl_uint next;
    cl_uint failed_arg;
    cl_int err;
} clact__kern;

/* Find a kernel by name in the program for (id, dtype), building the program on first use. */
clact_status clact__kernel(clact_context *ctx, clact__program_id id, clact_dtype dtype,
                           const char *name, clact__kern *k);
void clact__arg(clact__kern *k, size_t size, const void *value);
#define CLACT__ARG(k, v) clact__arg((k), sizeof(v), &(v))
/* A size or count, as the kernels' ulong. */
void clact__arg_size(clact__kern *k, size_t v);
/* A buffer and its element offset (two arguments): how every kernel takes a buffer. */
void clact__arg_buf(clact__kern *k, cl_mem m, size_t offset);
/* A scalar in the compute type: double for f64, float otherwise (PyTorch's opmath type; an
 * out-of-range double becomes ±inf as (float) does in PyTorch). */
void clact__arg_real(clact__kern *k, clact_dtype dtype, double v);
/* CLACT_OK, or CLACT_OPENCL_ERROR naming the kernel, the argument index and the CL error. */
clact_status clact__args_status(clact_context *ctx, const clact__kern *k);

/* Enqueue k over `items` work-items in one dimension: the local size is `local` (or the kernel's
 * limit, if lower) whatever `items` is, the global size rounded up to a multiple of it (kernels
 * bound-check). One size per kernel: PoCL, like other CPU implementations, compiles a kernel
 * anew for each work-group size at its first launch (0.1-0.2 s each here, and LLVM 15 leaks in
 * that compile); shrinking the group for small arrays made up to eight sizes per kernel. */
clact_status clact__launch(clact_context *ctx, const clact__kern *k, size_t items, size_t local,
                           cl_uint num_wait, const cl_event *wait_list, cl_event *event);
/* Enqueue `groups` work-groups of the largest power of two <= max_local that k allows (for the
 * kernels whose local reductions halve the group). */
clact_status clact__launch_groups(clact_context *ctx, const clact__kern *k, size_t groups,
                                  size_t max_local, cl_uint num_wait, const cl_event *wait_list,
                                  cl_event *event);
/* The device's name into buf (for messages; "?" when it will not say); returns buf. */
const char *clact__device_name(const clact_context *ctx, char *buf, size_t len);

/* CLACT_VERBOSE's line for a call whose last command is event (verbose.c). */
void clact__verbose_report(const clact__call *call, cl_event event);
/* With CLACT_VERBOSE, one line "clact: verbose: ..." about something that is not an op (the
 * tuning results a context loads). */
void clact__verbose_note(const clact_context *ctx, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Zeros in bytes bytes at byte offset off of m, elem_size-byte elements (clEnqueueFillBuffer
 * with a 4-byte pattern where offset and size allow: NVIDIA's driver faults on some 1- and
 * 2-byte fills into buffers over 4 GiB). Fails naming the CL error. */
clact_status clact__fill_zeros(clact_context *ctx, cl_mem m, size_t off, size_t bytes,
                               size_t elem_size, cl_uint num_wait, const cl_event *wait_list,
                               cl_event *event, const char *what);
/* Enqueue a marker: the op had nothing to do, but its event completes after the wait list. */
clact_status clact__marker(clact_context *ctx, cl_uint num_wait, const cl_event *wait_list,
                           cl_event *event);

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

/* Split a shape at dim into (outer, C, inner) and the element count (0 if any dimension is). */
clact_status clact__shape_split(clact_context *ctx, int ndim, const size_t *shape, int dim,
                                size_t *outer, size_t *C, size_t *inner, size_t *total);
/* Cross-entropy shapes: (C) or (N, C, d...) -> classes, inner size, positions, elements. */
clact_status clact__ce_shape(clact_context *ctx, int ndim, const size_t *shape, size_t *C,
                             size_t *inner, size_t *positions, size_t *total);
clact_status clact__ce_desc_check(clact_context *ctx, const clact_cross_entropy_desc *desc);
/* Activation descriptors (activation.c), for the launchers that take one (activation, dense):
 * 0 with a message where act is not elementwise (glu); the kernel's two reals; its name. act must
 * have passed clact_activation_check. */
int clact__act_is_elementwise(const clact_activation *act, char *message, size_t len);
void clact__act_kernel_params(const clact_activation *act, double p[2]);
int clact__act_params_fit(const clact_activation *act, clact_dtype dtype, char *message,
                          size_t len);
void clact__act_kernel_name(const clact_activation *act, const char *suffix, char *name,
                            size_t len);
/* 16-bit lookup tables (table.c). Whether the forward of act over n elements of dtype goes
 * through a table: f16 and bf16 only, never rrelu in training (random); CLACT_TABLES=0/1 says
 * never/always; else CPU devices, for the ops whose formula costs more than a lookup, from
 * CLACT__TABLE_MIN_N elements (where building the table costs less than the call). */
int clact__table_wanted(clact_context *ctx, const clact_activation *act, clact_dtype dtype,
                        size_t n);
/* The table for act and dtype, found or built (*built 1): `kernel` is the op's forward kernel and
 * p its parameters (clact__act_kernel_params). Building enqueues one command, which writes only
 * the table's own buffer; on failure nothing is kept and the caller's buffers are untouched. */
clact_status clact__table_get(clact_context *ctx, const clact_activation *act, clact_dtype dtype,
                              const char *kernel, const double p[2], clact__table **table,
                              int *built);
void clact__tables_release(clact_context *ctx);

/* The caller's wait list plus one event (none when extra is NULL): *waits is `stack` or, past 16
 * events, malloc'd (free it when it is not `stack`); *nw its length. */
clact_status clact__wait_list_plus(clact_context *ctx, cl_uint num_wait,
                                   const cl_event *wait_list, cl_event extra, cl_event stack[16],
                                   cl_event **waits, cl_uint *nw);

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

/* PyTorch converts some Python scalars to the compute type with an overflow check (c10's
 * checked_convert: the alpha of add, the value of addcdiv) and raises where a finite double
 * exceeds float's range; CLACT_OK, or CLACT_INVALID_ARGUMENT naming `what` (optim.c; the
 * optimizers' launchers and references). */
clact_status clact__optim_fits(clact_context *ctx, clact_dtype dtype, const char *op,
                               const char *what, double v);

/* Make ctx->device_errors (the record clact_context_check reads) if it is not made yet. */
clact_status clact__device_errors(clact_context *ctx);

/* Read the environment and query the device properties the launchers need; called once at
 * context creation. */
clact_status clact__device_setup(clact_context *ctx);

#endif
