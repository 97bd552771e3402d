/* SPDX-License-Identifier: MIT */
/**
 * @file clact.h
 * @brief clact: neural-network activation functions on OpenCL devices, with PyTorch's semantics.
 *
 * This header is the whole public API and its manual.
 *
 * ## The model in one paragraph
 * A ::clact_context wraps one OpenCL device, its `cl_context` and one command queue. It either
 * owns them (::clact_context_create picks a device from a spec string) or borrows a queue
 * that the caller made (::clact_context_create_from_queue). Every operation takes the caller's
 * `cl_mem` buffers plus element offsets, enqueues its kernel on the context's queue and returns
 * at once: nothing is copied to the host, nothing blocks, and ordering is expressed with the
 * usual OpenCL triple `(num_wait, wait_list, &event)`, always the last three arguments. An
 * event returned through `event` belongs to the caller, who releases it with `clReleaseEvent`.
 *
 * ## Semantics
 * Each op is the `torch.nn` module of the same name, with PyTorch's parameters, defaults and
 * outputs for ±inf and NaN. Arithmetic is float for f32, f16 and bf16 data (the last two are
 * storage formats: loaded exactly, rounded to nearest even on store); no fast-math is ever used.
 * Finite results aim at the exact mathematical value of PyTorch's function rather than at
 * PyTorch's float rounding, so in a few tails clact is closer to the truth than PyTorch
 * (e.g. `silu(-90)`: PyTorch returns -0, clact -7.4e-38). Documented deviations:
 *  - Softplus: where `beta*x <= threshold` but `exp(beta*x)` would overflow (only possible with
 *    `threshold > 88`), PyTorch returns inf;
 *    clact returns the finite, exact value.
 *  - Parameters that are NaN, and Softplus with `beta == 0` (PyTorch divides by zero and returns
 *    inf everywhere), are rejected with ::CLACT_INVALID_ARGUMENT. So are parameters that the
 *    kernel's compute type (float for f32, f16 and bf16) would turn into such values: a softplus
 *    beta or celu alpha that is 0 in float (`beta = 1e-300`), and a scale that is finite in double
 *    but overflows float (leaky_relu's slope, elu's alpha, softplus's beta, celu's alpha and
 *    1/alpha, rrelu's bounds, prelu's weight); PyTorch would return inf or NaN everywhere. Bounds
 *    and thresholds (hardtanh's, threshold's, the shrinks' lambd) compare with x and keep their
 *    meaning when rounded: they are not refused. In f64 every parameter is used as given.
 *
 * ## Errors
 * Every function returns a ::clact_status. ::CLACT_OK is 0, failures are negative. On failure,
 * ::clact_context_last_error names the problem (the argument, the OpenCL call and its error
 * name, the kernel argument that could not be set, or the compiler's build log), and no user
 * buffer has been written: ops of several launches (the split softmax, cross-entropy with a
 * gradient) make every kernel ready first and let only their last launch write what the caller
 * sees, so a launch that cannot be enqueued leaves the outputs as they were (the dense layer's
 * GEMM writes its product to the context's scratch buffer when a bias-and-activation pass
 * follows, which then writes y and z). One exception: ::clact_dense_backward writes its outputs
 * by one command each, in the order dx, dW, db, with everything of clact's made ready before the
 * first; if a later command cannot be enqueued (one of CLBlast's, or db's launch), the outputs
 * before it hold their new values and the rest are unchanged: dx is always overwritten (a call
 * made again gives it again), but with ::CLACT_DENSE_ACCUMULATE a dW written before a failed db
 * already holds its sum, so only db's accumulation is left to redo. The message names the
 * command that failed (a CLBlast routine, or db's kernel). No event is returned on failure: wait
 * with clFinish before reading the outputs. On an out-of-order queue, a failed barrier after a
 * GEMM (the one that makes later commands wait for it) leaves that GEMM's output written, y
 * included for a layer with neither bias nor activation.
 * Errors that only the device can see (a cross-entropy class index out of range) are recorded on
 * the context and returned by ::clact_context_check. A command that the driver accepts and then
 * fails on the device (its event ends with a negative status) may have written part of that op's
 * outputs, as any OpenCL command may; the inputs are never written.
 *
 * ## Blocking
 * Nothing blocks unless the caller asks: every operation only enqueues and returns. The calls
 * that wait are named as such: ::clact_context_check, ::clact_cross_entropy with
 * ::CLACT_CE_VALIDATE, and ::clact_tune_gemm (which runs for its time budget). (Building a
 * program on first use takes the compiler's time on the calling thread, but never waits for the
 * device.)
 *
 * ## Output
 * The library never prints and never exits. The one exception is opt-in: with `CLACT_VERBOSE`
 * set, each op writes one line to stderr (below), and so does a context that loads (or ignores)
 * saved tuning results. Not clact's own: when an OpenCL call fails inside one of CLBlast's GEMMs
 * (the dense layer, ::clact_tune_gemm), CLBlast 1.5 itself writes one line to stderr
 * ("CLBlast: OpenCL error: clSetKernelArg: -5"; its C API does so unconditionally) before the
 * clact call returns its failure.
 *
 * ## Threads
 * A context is used by one thread at a time. Several contexts, in several threads, may share
 * one `cl_context` or one queue (OpenCL objects are thread-safe). The last-error detail of a
 * call made without a context (for example a failed ::clact_context_create) is kept per thread.
 *
 * ## Environment variables
 * Every variable the library reads, each read once, when a context is created (so a context
 * keeps the settings it was made with). A value outside the ones listed makes context creation
 * fail with ::CLACT_INVALID_ARGUMENT naming the variable.
 *  - `CLACT_DEVICE`: device spec used when ::clact_context_create gets NULL or "" (see
 *    ::clact_device_select, which reads it too).
 *  - `CLACT_VERBOSE`: set and not `0`: one line per op on stderr (op, dtype, shape, whether its
 *    program came from the context, the disk cache or the compiler and how long that took, and
 *    the device time of its last kernel, printed from an event callback so nothing waits), and
 *    a line when a context applies or ignores saved CLBlast tuning results.
 *  - `CLACT_CACHE`: `0` turns the persistent cache off (program binaries and tuning results).
 *  - `CLACT_CACHE_DIR`: the folder of that cache (else `$XDG_CACHE_HOME/clact`, else
 *    `~/.cache/clact`).
 *  - `CLACT_KERNEL_DIR`: read the `.cl` sources from this folder instead of the copies embedded
 *    at build time (for kernel development).
 *  - `CLACT_BUILD_OPTIONS`: appended to the OpenCL build options (part of the cache key).
 *  - `CLACT_NO_FP64`: set and not `0`: treat the device as lacking cl_khr_fp64 (tests).
 *  - `CLACT_VECTOR_WIDTH`: 1, 2, 4, 8 or 16 elements per work-item in every program instead of
 *    the device's choice (tests, tuning).
 *  - `CLACT_SOFTMAX_PATH` (`rows`, `group` or `split`) and `CLACT_SOFTMAX_ROWS_PER_ITEM` (a
 *    positive integer): force the softmax row kernel and its rows per work-item (tests, tuning).
 *  - `CLACT_TABLES`: `0` or `1`: never or always use the 16-bit lookup tables of ::clact_forward
 *    (unset: the transcendental ops on CPU devices, from 2^18 elements; tests, benchmarks).
 */
#ifndef CLACT_CLACT_H
#define CLACT_CLACT_H

#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 120
#endif
#include <CL/cl.h>
#include <math.h> /* NAN, in CLACT_ACTIVATION_MAP */
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define CLACT_API __declspec(dllexport)
#elif defined(__GNUC__)
#define CLACT_API __attribute__((visibility("default")))
#else
#define CLACT_API
#endif

/** Library version. CMake reads these three lines; there is no other copy. */
#define CLACT_VERSION_MAJOR  0
#define CLACT_VERSION_MINOR  1
#define CLACT_VERSION_PATCH  0
#define CLACT_VERSION_STRING "0.1.0"

/** @return the version string of the library actually loaded ("0.1.0"). */
CLACT_API const char *clact_version(void);

/* ------------------------------------------------------------------------------------------ */
/** @name Status codes */

/**
 * The one list of status codes: X(NAME, value, message). It generates ::clact_status,
 * ::clact_status_name and ::clact_status_string, so the three cannot drift apart.
 */
#define CLACT_STATUS_MAP(X)                                                                        \
    X(OK, 0, "success")                                                                            \
    X(INVALID_ARGUMENT, -1, "invalid argument")                                                    \
    X(UNSUPPORTED, -2, "not supported on this device or not implemented for this dtype")           \
    X(NO_DEVICE, -3, "no OpenCL platform or device matches")                                       \
    X(BUILD_FAILED, -4, "OpenCL program build failed")                                             \
    X(OPENCL_ERROR, -5, "an OpenCL call failed")                                                   \
    X(OUT_OF_MEMORY, -6, "out of memory")                                                          \
    X(IO_ERROR, -7, "file input/output failed")                                                    \
    X(FORMAT_ERROR, -8, "malformed or unsupported file format")

/** Status returned by every clact function. */
typedef enum clact_status {
#define CLACT__STATUS_ENUM(name, value, message) CLACT_##name = value,
    CLACT_STATUS_MAP(CLACT__STATUS_ENUM)
#undef CLACT__STATUS_ENUM
} clact_status;

/** @return the enum name without prefix ("INVALID_ARGUMENT"), or "UNKNOWN_STATUS". Static. */
CLACT_API const char *clact_status_name(clact_status status);
/** @return the name of an OpenCL error code ("CL_OUT_OF_RESOURCES"), "CL_SUCCESS" for 0, or
 *         "unknown OpenCL error" for a code OpenCL does not define (never NULL): for the
 *         messages of programs that make their own OpenCL calls beside clact's. */
CLACT_API const char *clact_cl_error_name(cl_int err);
/** @return a short English description of @p status. Static string, never NULL. */
CLACT_API const char *clact_status_string(clact_status status);

/* ------------------------------------------------------------------------------------------ */
/** @name Data types */

/**
 * The one list of element types: X(NAME, value, name, size). It generates ::clact_dtype,
 * ::clact_dtype_name, ::clact_dtype_size and ::clact_dtype_from_name, and the library builds each
 * program for a dtype with the define `-DCLACT_<NAME>`; the CLI, bench, tests and the Python
 * binding take their dtype lists from these functions.
 */
#define CLACT_DTYPE_MAP(X)                                                                         \
    X(F32, 0, "f32", 4)                                                                            \
    X(F16, 1, "f16", 2)                                                                            \
    X(BF16, 2, "bf16", 2)                                                                          \
    X(F64, 3, "f64", 8)

/**
 * Element types, taken by every operation. f16 and bf16 are storage formats: kernels load them
 * exactly into float, compute and accumulate in float, and round to nearest even on store; no
 * cl_khr_fp16 is needed. f64 computes and accumulates in double and needs a device with
 * cl_khr_fp64 (see ::clact_device_info::has_fp64); elsewhere every operation returns
 * ::CLACT_UNSUPPORTED with a message naming the device (`CLACT_NO_FP64=1` makes clact treat a
 * device as lacking it).
 */
typedef enum clact_dtype {
#define CLACT__DTYPE_ENUM(name, value, text, size) CLACT_##name = value,
    CLACT_DTYPE_MAP(CLACT__DTYPE_ENUM)
#undef CLACT__DTYPE_ENUM
} clact_dtype;

/** How many dtypes there are (values 0 to CLACT_DTYPE_COUNT - 1); outside the enum, so that a
 * switch over ::clact_dtype need not name it. */
#define CLACT__COUNT_ONE(...) +1
enum { CLACT_DTYPE_COUNT = 0 CLACT_DTYPE_MAP(CLACT__COUNT_ONE) };

/** @return "f32", "f16", "bf16", "f64", or NULL for a value outside the enum. */
CLACT_API const char *clact_dtype_name(clact_dtype dtype);
/** @return the size of one element in bytes, or 0 for a value outside the enum. */
CLACT_API size_t clact_dtype_size(clact_dtype dtype);
/**
 * Look a dtype up by the name ::clact_dtype_name returns ("bf16"), case-sensitively.
 * @return ::CLACT_OK, or ::CLACT_INVALID_ARGUMENT for an unknown name or NULL pointers.
 */
CLACT_API clact_status clact_dtype_from_name(const char *name, clact_dtype *dtype);

/* ------------------------------------------------------------------------------------------ */
/** @name Activations */

/**
 * The activation list: X(NAME, pytorch_name, saved, form, n_params, param0_name, param0_default,
 * param1_name, param1_default). Values are append-only. Parameter names are PyTorch's keyword
 * names; unused slots are NULL with default 0; a NaN default is a parameter PyTorch requires
 * (threshold's `threshold` and `value`), which ::clact_activation_check rejects until it is set.
 * `saved` names what ::clact_backward computes the gradient from: X_ONLY the input; X_OR_Y the
 * input, as PyTorch saves it, or the output where the parameters let the output determine the
 * gradient (see ::clact_backward_saved); Y_OR_X the output, as PyTorch saves it, or the input.
 * `form`: ELEMENTWISE ops run through ::clact_forward and ::clact_backward; HALVES (glu) halves a
 * dimension of a shape and runs through ::clact_glu and ::clact_glu_backward.
 */
#define CLACT_ACTIVATION_MAP(X)                                                                    \
    X(RELU, "relu", Y_OR_X, ELEMENTWISE, 0, NULL, 0.0, NULL, 0.0)                                  \
    X(LEAKY_RELU, "leaky_relu", X_OR_Y, ELEMENTWISE, 1, "negative_slope", 0.01, NULL, 0.0)         \
    X(ELU, "elu", X_OR_Y, ELEMENTWISE, 1, "alpha", 1.0, NULL, 0.0)                                 \
    X(GELU, "gelu", X_ONLY, ELEMENTWISE, 0, NULL, 0.0, NULL, 0.0)                                  \
    X(GELU_TANH, "gelu_tanh", X_ONLY, ELEMENTWISE, 0, NULL, 0.0, NULL, 0.0)                        \
    X(SILU, "silu", X_ONLY, ELEMENTWISE, 0, NULL, 0.0, NULL, 0.0)                                  \
    X(MISH, "mish", X_ONLY, ELEMENTWISE, 0, NULL, 0.0, NULL, 0.0)                                  \
    X(SIGMOID, "sigmoid", Y_OR_X, ELEMENTWISE, 0, NULL, 0.0, NULL, 0.0)                            \
    X(TANH, "tanh", Y_OR_X, ELEMENTWISE, 0, NULL, 0.0, NULL, 0.0)                                  \
    X(SOFTPLUS, "softplus", X_ONLY, ELEMENTWISE, 2, "beta", 1.0, "threshold", 20.0)                \
    X(RELU6, "relu6", X_OR_Y, ELEMENTWISE, 0, NULL, 0.0, NULL, 0.0)                                \
    X(HARDTANH, "hardtanh", X_OR_Y, ELEMENTWISE, 2, "min_val", -1.0, "max_val", 1.0)               \
    X(SELU, "selu", X_OR_Y, ELEMENTWISE, 0, NULL, 0.0, NULL, 0.0)                                  \
    X(CELU, "celu", X_OR_Y, ELEMENTWISE, 1, "alpha", 1.0, NULL, 0.0)                               \
    X(HARDSIGMOID, "hardsigmoid", X_ONLY, ELEMENTWISE, 0, NULL, 0.0, NULL, 0.0)                    \
    X(HARDSWISH, "hardswish", X_ONLY, ELEMENTWISE, 0, NULL, 0.0, NULL, 0.0)                        \
    X(LOGSIGMOID, "logsigmoid", X_ONLY, ELEMENTWISE, 0, NULL, 0.0, NULL, 0.0)                      \
    X(SOFTSIGN, "softsign", X_ONLY, ELEMENTWISE, 0, NULL, 0.0, NULL, 0.0)                          \
    X(TANHSHRINK, "tanhshrink", X_ONLY, ELEMENTWISE, 0, NULL, 0.0, NULL, 0.0)                      \
    X(SOFTSHRINK, "softshrink", X_ONLY, ELEMENTWISE, 1, "lambd", 0.5, NULL, 0.0)                   \
    X(HARDSHRINK, "hardshrink", X_ONLY, ELEMENTWISE, 1, "lambd", 0.5, NULL, 0.0)                   \
    X(THRESHOLD, "threshold", X_OR_Y, ELEMENTWISE, 2, "threshold", NAN, "value", NAN)              \
    X(GLU, "glu", X_ONLY, HALVES, 1, "dim", -1.0, NULL, 0.0)                                       \
    X(PRELU, "prelu", X_OR_Y, ELEMENTWISE, 1, "weight", 0.25, NULL, 0.0)                           \
    X(RRELU, "rrelu", X_OR_Y, ELEMENTWISE, 2, "lower", 0.125, "upper", 1.0 / 3.0)

/**
 * Activation functions, named after PyTorch's. ::CLACT_GELU is `GELU(approximate='none')`
 * (the erf form) and ::CLACT_GELU_TANH is `GELU(approximate='tanh')`.
 */
typedef enum clact_op {
#define CLACT__OP_ENUM(name, torch_name, saved, form, n, p0, d0, p1, d1) CLACT_##name,
    CLACT_ACTIVATION_MAP(CLACT__OP_ENUM)
#undef CLACT__OP_ENUM
        CLACT_OP_COUNT /**< number of ops; not an op */
} clact_op;

/**
 * An activation and its scalar parameters, in PyTorch's order:
 *  - leaky_relu: `param[0]` = negative_slope (0.01)
 *  - elu, celu: `param[0]` = alpha (1.0); celu's must not be 0
 *  - softplus: `param[0]` = beta (1.0, not 0), `param[1]` = threshold (20.0)
 *  - hardtanh: `param[0]` = min_val (-1.0), `param[1]` = max_val (1.0), max_val >= min_val
 *  - softshrink (lambd >= 0), hardshrink: `param[0]` = lambd (0.5)
 *  - threshold: `param[0]` = threshold, `param[1]` = value: no defaults, both must be set (the
 *    default descriptor holds NaN, which ::clact_activation_check rejects; so is an explicit NaN,
 *    which PyTorch would accept as `value`)
 *  - glu: `param[0]` = dim (-1), read by the CLI only; ::clact_glu takes the dimension itself
 *  - prelu: `param[0]` = the weight (0.25), one value for every element; a weight per channel
 *    runs through ::clact_prelu, and the weight's gradient through ::clact_prelu_backward
 *  - rrelu: `param[0]` = lower (1/8), `param[1]` = upper (1/3), lower <= upper; with `training`
 *    0, PyTorch's evaluation mode (leaky_relu with slope (lower + upper) / 2); with `training` 1,
 *    element i of a call (i counted from the call's offset) has the slope
 *    lower + (upper - lower) u, u uniform in [0, 1) drawn by Philox4x32-10 keyed by `seed` at
 *    counter i: the same seed and the same element give the same slope, in the forward and in
 *    ::clact_backward, so nothing is saved between them (PyTorch keeps a noise tensor; its
 *    random stream is its own, so slopes differ from PyTorch's, their distribution does not)
 *  - all others: none (ignored).
 * Parameters are converted to the compute type (float for f32, f16, bf16) before use, as PyTorch
 * converts its Python scalars to the tensor's opmath type; derived constants (rrelu's midpoint,
 * celu's 1/alpha) are formed in double first, as PyTorch forms them.
 */
typedef struct clact_activation {
    clact_op op;
    double param[2];
    int training;            /**< rrelu: 1 draws a slope per element (see above); 0 otherwise */
    unsigned long long seed; /**< rrelu with training: the generator's key */
} clact_activation;

/** @return @p op with PyTorch's default parameters; an unknown op is returned unchanged. */
CLACT_API clact_activation clact_activation_default(clact_op op);
/** @return the PyTorch functional name ("gelu_tanh" for ::CLACT_GELU_TANH) or NULL. */
CLACT_API const char *clact_op_name(clact_op op);
/**
 * Look an op up by name. Accepts every name ::clact_op_name returns, case-sensitively.
 * @return ::CLACT_OK, or ::CLACT_INVALID_ARGUMENT for an unknown name or NULL pointers.
 */
CLACT_API clact_status clact_op_from_name(const char *name, clact_op *op);
/**
 * @return 1 where ::clact_forward and ::clact_backward take @p op (every op but glu), 0 for glu
 *         (::clact_glu), -1 for an unknown op.
 */
CLACT_API int clact_op_elementwise(clact_op op);
/** @return how many parameters @p op takes (0, 1 or 2), or -1 for an unknown op. */
CLACT_API int clact_op_param_count(clact_op op);
/** @return PyTorch's keyword name of parameter @p index of @p op ("beta"), or NULL. */
CLACT_API const char *clact_op_param_name(clact_op op, int index);
/**
 * Check an activation descriptor without a device.
 * @param[out] message optional buffer for the reason (NUL-terminated, truncated to @p len).
 * @return ::CLACT_OK, or ::CLACT_INVALID_ARGUMENT for NULL, an unknown op, a NaN or infinite
 *         parameter where PyTorch's would make no sense (a NaN anywhere; an infinite prelu
 *         weight, rrelu bound or glu dim), or a parameter outside PyTorch's domain: softplus
 *         beta == 0, celu alpha == 0, hardtanh max_val < min_val (`nn.Hardtanh` asserts it;
 *         `F.hardtanh` would clamp to min_val), softshrink lambd < 0, rrelu lower > upper, a glu
 *         dim that is not an integer; `training` other than 0 and 1, or set for an op other than
 *         rrelu. The message names the parameter. Without a dtype it cannot check what float does
 *         to a parameter (see "Documented deviations"): the ops do.
 */
CLACT_API clact_status clact_activation_check(const clact_activation *act, char *message,
                                              size_t len);

/* ------------------------------------------------------------------------------------------ */
/** @name Devices */

/** What ::clact_device_list reports about one device. Strings are NUL-terminated, truncated. */
typedef struct clact_device_info {
    unsigned platform_index; /**< P in the "P:D" spec */
    unsigned device_index;   /**< D in the "P:D" spec */
    char platform_name[128];
    char platform_version[128];
    char name[128];
    char vendor[128];
    char driver_version[128];
    char type[16]; /**< "gpu", "cpu", "accelerator", "custom" or "other" */
    unsigned compute_units;
    unsigned long long global_mem_bytes;
    unsigned long long max_alloc_bytes;
    int has_fp16; /**< 1 if cl_khr_fp16 is reported (not needed for f16 storage) */
    int has_fp64; /**< 1 if cl_khr_fp64 is reported (needed for f64) */
} clact_device_info;

/**
 * List every OpenCL device on every platform.
 * @param[out] list array of @p capacity entries to fill (may be NULL when @p capacity is 0).
 * @param[out] count the total number of devices, which may exceed @p capacity (only the first
 *        @p capacity entries are written), also between two calls if a device appears: read
 *        min(@p count, @p capacity) entries.
 * @return ::CLACT_OK (also when no platform exists: @p count is then 0),
 *         ::CLACT_INVALID_ARGUMENT, ::CLACT_OUT_OF_MEMORY, ::CLACT_OPENCL_ERROR (any failed
 *         listing or property query, named with its CL error; @p list is then not written).
 */
CLACT_API clact_status clact_device_list(clact_device_info *list, size_t capacity, size_t *count);

/**
 * Resolve a device spec to the index in ::clact_device_list's order that
 * ::clact_context_create would use.
 * @param spec NULL or "" for the default: the `CLACT_DEVICE` environment variable if set, else
 *        the first GPU, then the first accelerator, then the first CPU, then any device.
 *        Otherwise "gpu", "cpu", "accelerator", "P:D" (platform and device indexes), or a
 *        case-insensitive substring of the device name.
 * @return ::CLACT_OK, ::CLACT_NO_DEVICE (nothing matches, or no platform at all; the detail
 *         lists what exists), ::CLACT_INVALID_ARGUMENT, ::CLACT_OPENCL_ERROR.
 */
CLACT_API clact_status clact_device_select(const char *spec, size_t *index);

/* ------------------------------------------------------------------------------------------ */
/** @name Contexts */

/** Opaque context: device, cl_context, queue, program cache, last error. */
typedef struct clact_context clact_context;

/**
 * Create a context on the device chosen by @p spec (see ::clact_device_select), with its own
 * `cl_context` and an in-order command queue with profiling enabled.
 * @param[out] ctx receives the context, or NULL on failure.
 * @return ::CLACT_OK, ::CLACT_NO_DEVICE, ::CLACT_OPENCL_ERROR, ::CLACT_OUT_OF_MEMORY,
 *         ::CLACT_INVALID_ARGUMENT. On failure, `clact_context_last_error(NULL)` has the detail.
 */
CLACT_API clact_status clact_context_create(clact_context **ctx, const char *spec);

/**
 * Create a context that borrows the caller's command queue (in-order or out-of-order). The
 * queue is retained and released on destroy; its `cl_context` and device are used. Ops are
 * ordered only through events, never by blocking.
 * @return ::CLACT_OK, ::CLACT_INVALID_ARGUMENT (NULL or invalid queue), ::CLACT_OPENCL_ERROR,
 *         ::CLACT_OUT_OF_MEMORY. On failure, `clact_context_last_error(NULL)` has the detail.
 */
CLACT_API clact_status clact_context_create_from_queue(clact_context **ctx, cl_command_queue queue);

/** Release everything the context holds. Accepts NULL. Does not wait for enqueued work. */
CLACT_API void clact_context_destroy(clact_context *ctx);

/** @return the context's queue (not retained for the caller), or NULL for NULL. */
CLACT_API cl_command_queue clact_context_queue(const clact_context *ctx);
/** @return the context's `cl_context` (not retained for the caller), or NULL for NULL. */
CLACT_API cl_context clact_context_cl_context(const clact_context *ctx);
/** @return the context's device, or NULL for NULL. */
CLACT_API cl_device_id clact_context_device(const clact_context *ctx);

/**
 * Create a buffer of @p bytes on the context's device (`clCreateBuffer` with @p flags and
 * @p host_ptr), checking first what the device allows, so that a tensor too large says so.
 * @p bytes 0 makes a 1-byte buffer (OpenCL has no empty ones).
 * @param[out] out the new buffer (the caller releases it), NULL on failure.
 * @return ::CLACT_OK; ::CLACT_INVALID_ARGUMENT for a NULL context or @p out;
 *         ::CLACT_OUT_OF_MEMORY when @p bytes exceeds the device's `CL_DEVICE_MAX_MEM_ALLOC_SIZE`
 *         (the message names both numbers) or the driver is out of memory;
 *         ::CLACT_OPENCL_ERROR for another failure (named with its CL error).
 */
CLACT_API clact_status clact_buffer_create(clact_context *ctx, cl_mem_flags flags, size_t bytes,
                                           void *host_ptr, cl_mem *out);

/**
 * @return the detail of the last failed call on @p ctx ("" if none); with @p ctx NULL, the
 * detail of the last failed call in this thread that had no context to record it in. The
 * string stays valid until the next call on that context (or in that thread).
 */
CLACT_API const char *clact_context_last_error(const clact_context *ctx);

/**
 * Wait for everything enqueued on the context's queue (clFinish), then report the first error
 * that only the device could see since the last check: today, a cross-entropy class index out of
 * range (see ::clact_cross_entropy), named with its position, value and the valid range. The
 * record is cleared by reporting it, so the context stays usable. This call blocks by design;
 * call it where a training loop synchronises anyway (when it reads the loss).
 * @return ::CLACT_OK; ::CLACT_INVALID_ARGUMENT (NULL, or the recorded device-side error, named
 *         in ::clact_context_last_error); ::CLACT_OPENCL_ERROR (clFinish or the read failed).
 */
CLACT_API clact_status clact_context_check(clact_context *ctx);

/**
 * What the context's program cache did. Each (program, dtype) is made once per context, on
 * first use, by one of: loading it from the persistent cache on disk, or compiling it from
 * source (then storing it there). The disk cache lives in `CLACT_CACHE_DIR`, else
 * `$XDG_CACHE_HOME/clact`, else `~/.cache/clact` (created 0700); `CLACT_CACHE=0` turns it off.
 * Entries are keyed by the clact version, sources, build options (`CLACT_BUILD_OPTIONS`
 * included), device, driver and platform versions, written atomically and checked on load; a
 * corrupt, truncated or foreign entry is counted in `disk_rejects` and silently rebuilt.
 */
typedef struct clact_cache_stats {
    unsigned long builds;       /**< programs compiled from source */
    unsigned long disk_hits;    /**< programs loaded from the disk cache */
    unsigned long disk_rejects; /**< entries found on disk but unusable, then rebuilt */
    unsigned long disk_stores;  /**< entries written to the disk cache */
    double build_ms;            /**< wall time spent making programs (build or load) */
    /** Bit `1u << dtype` for each dtype (f32, f64) whose CLBlast GEMM runs, on this context's
     * device, with the parameters `clact tune` found (see ::clact_tune_gemm); 0 when CLBlast's
     * own. Read when asked: it says what the process runs now. */
    unsigned gemm_tuned;
    /** Saved tuning results found for the device when the context was created but unusable
     * (damaged, or written for another CLBlast), and ignored: CLBlast kept its parameters. */
    unsigned long tuning_rejects;
} clact_cache_stats;

/** Fill @p stats for @p ctx. @return ::CLACT_OK, or ::CLACT_INVALID_ARGUMENT for NULL. */
CLACT_API clact_status clact_context_cache_stats(const clact_context *ctx,
                                                 clact_cache_stats *stats);

/* ------------------------------------------------------------------------------------------ */
/** @name Tuning CLBlast's GEMM for the device */

/** How many GEMMs ::clact_tune_gemm measures (its workload, ::clact_tune_report::shapes). */
#define CLACT_TUNE_SHAPES 8

/**
 * One GEMM of the tuning workload: `C (m x n) = op(A) op(B)`, row-major, the way the dense layer
 * calls CLBlast (op is the transpose where `trans_a`/`trans_b` is 'T').
 */
typedef struct clact_tune_shape {
    const char *name;      /**< what it is in the MLP, e.g. "784->256 forward" (static) */
    char trans_a, trans_b; /**< 'N' or 'T' */
    size_t m, n, k;
    double calls; /**< calls per epoch: its weight in the time that is minimised */
    /** GFLOP/s with the parameters in place before the call (CLBlast's own), by dtype; 0 where
     * not measured. */
    double gflops_before[CLACT_DTYPE_COUNT];
    /** GFLOP/s with the parameters in place after the call, by dtype; 0 where not measured. */
    double gflops_after[CLACT_DTYPE_COUNT];
} clact_tune_shape;

/** What ::clact_tune_gemm did. */
typedef struct clact_tune_report {
    unsigned dtypes_measured; /**< bits `1u << dtype` of the dtypes tuned and measured */
    unsigned dtypes_tuned;    /**< bits of those whose tuned parameters won and are now in place */
    int saved;             /**< 1: the disk cache holds the result (entry removed when none won) */
    char path[4096];       /**< that entry's path ("" with the disk cache off) */
    char parameters[4096]; /**< the parameters in place, as the entry holds them */
    double seconds;        /**< wall time the call took */
    size_t shape_count;    /**< ::CLACT_TUNE_SHAPES */
    clact_tune_shape shapes[CLACT_TUNE_SHAPES];
} clact_tune_report;

/** Flag for ::clact_tune_gemm: keep what the tuners found even when the workload does not run
 * faster with it (for tests and experiments; the default keeps only a faster set). */
#define CLACT_TUNE_KEEP 1u

/**
 * Progress of ::clact_tune_gemm: called on the calling thread at the start of every stage, with
 * the fraction of the time budget used (0 to 1) and the stage's name ("f32: Xgemm kernel").
 */
typedef void (*clact_tune_progress)(void *user, double done, const char *stage);

/**
 * Tune CLBlast's GEMM for the context's device, within about @p seconds, and keep the result.
 * This call blocks (it runs for its time budget) and waits for the context's queue.
 *
 * CLBlast picks each kernel's parameters (tile sizes, vector widths, work-group shape) and the
 * size below which it runs its single-kernel "direct" GEMM instead of the "indirect" one with its
 * padding copies (`XGEMM_MIN_INDIRECT_SIZE`) from a database of devices; a device it does not
 * list, such as PoCL's CPU device, gets generic ones. This call times a workload with CLBlast's
 * own parameters; then with that size moved so that the workload's dominant GEMM changes method;
 * then runs CLBlast's own tuners (`Xgemm`, and `XgemmDirect` when wide GEMMs of the workload
 * run it, `Pad` and `Padtranspose`) on random samples of their configurations, as many as the
 * budget allows, and times the workload with the tuned kernels; it times every candidate again
 * in turn and keeps the fastest by the workload's weighted time (a changed set must save 2 %).
 * The workload is the GEMMs of a 784-256-10 MLP on MNIST-sized data, weighted by their calls per
 * epoch (60000 samples in batches of 128, then 10000 test samples in one batch): see
 * ::clact_tune_report::shapes. f32 always; f64 too on devices with cl_khr_fp64 when @p seconds
 * is at least 120 (with 30 % of the budget).
 *
 * The winner is applied at once for the whole process (CLBlast keeps parameters per device: every
 * context on the device, and the caller's own CLBlast calls, run them) and written to the disk
 * cache beside the program binaries (`CLACT_CACHE_DIR`, else `$XDG_CACHE_HOME/clact`, else
 * `~/.cache/clact`; nothing is written with `CLACT_CACHE=0`), keyed by the device's name, vendor,
 * driver and platform versions and clact's and CLBlast's versions, atomically and with a
 * checksum. Contexts made later, in any process, on that device apply it when they are created
 * (both ::clact_context_create and ::clact_context_create_from_queue, once per process and
 * device; ::clact_cache_stats::gemm_tuned says so, and `CLACT_VERBOSE` prints a line); an entry
 * that is damaged or for another CLBlast is ignored (::clact_cache_stats::tuning_rejects). When
 * nothing wins, CLBlast's own parameters are put back and the entry is removed.
 *
 * While it runs, other contexts on the device (other threads) keep working, with whichever
 * parameters are in place at each of their calls.
 *
 * Time: each parameter set the driver has not seen needs CLBlast's GEMM program built once (13 to
 * 20 s on PoCL's CPU device with 2 cores and a cold driver cache; the driver caches it on disk).
 * Every stage is started only if its estimate fits what is left of the budget, but a build's
 * time is known only afterwards: the call can end one build past the budget. CLBlast's tuners
 * run candidate kernels in this process and check their results against a reference; clact
 * tunes at sizes where CLBlast 1.5.3's tuners run cleanly on PoCL (its Xgemm tuner corrupted
 * memory at m = 128). CLBlast 1.5.3's tuners also leak about ten `cl_event`s per configuration
 * they test (a few hundred bytes each): call this once in a while, not in a loop.
 *
 * @param seconds the time budget, at least 1 and at most 86400.
 * @param flags 0 or ::CLACT_TUNE_KEEP.
 * @param progress optional (NULL: none), with @p user passed back.
 * @param[out] report optional (NULL: none): what was measured and kept.
 * @return ::CLACT_OK (also when nothing won: see @p report); ::CLACT_INVALID_ARGUMENT (NULL
 *         @p ctx, @p seconds out of range, unknown flags); ::CLACT_OUT_OF_MEMORY;
 *         ::CLACT_OPENCL_ERROR (an OpenCL call, or a CLBlast GEMM named with CLBlast's status,
 *         failed).
 */
CLACT_API clact_status clact_tune_gemm(clact_context *ctx, double seconds, unsigned flags,
                                       clact_tune_progress progress, void *user,
                                       clact_tune_report *report);

/* ------------------------------------------------------------------------------------------ */
/** @name Elementwise activation */

/**
 * Enqueue `y[y_offset + i] = act(x[x_offset + i])` for `i < n`.
 *
 * Special values are PyTorch 1.13's (relu6 and hardtanh propagate NaN, softshrink(NaN) is 0,
 * hardswish(-inf) and softsign(±inf) are NaN). Where PyTorch's float arithmetic loses the value at
 * finite inputs, clact gives the exact one: hardswish(x) for x > 5.7e37 is x (PyTorch's x * 6
 * overflows to inf), tanhshrink near 0 keeps its digits (PyTorch's x - tanh(x) is 3.49e-10 at
 * x = 1e-3, exact 3.33e-10), selu, celu and logsigmoid in their exponential tails are exact to a
 * few ulp where PyTorch's results underflow early.
 *
 * f16 and bf16 through a lookup table: a 16-bit type has 65536 values, so on CPU devices the
 * transcendental ops (elu, gelu, gelu_tanh, silu, mish, sigmoid, tanh, softplus, selu, celu,
 * logsigmoid, tanhshrink; not rrelu in training, which draws random slopes) read their result
 * from a table of 128 KiB per op, dtype and parameters instead of computing it (two loads and a
 * store per element against 40-90 vector instructions per 16 elements). The table is the op's
 * own kernel run over every bit pattern, so the results are the same bits either way. A call of
 * at least 2^18 elements builds a missing table: a buffer of every bit pattern (copied from the
 * host as it is made) and one more command on the context's queue, before the op's, that writes
 * only the table (nothing waits for it; an out-of-order queue's lookup waits for it by event);
 * smaller calls use a table once it exists. A context keeps
 * eight tables (1 MiB), the least recently used giving way; one whose command failed on the
 * device is built again at its next use. GPUs compute (their arithmetic is
 * cheap next to their memory). `CLACT_TABLES` (0 or 1) turns the tables off, or on for every
 * 16-bit forward on any device.
 *
 * @param ctx context; its queue receives the kernel.
 * @param act activation and parameters (see ::clact_activation_default).
 * @param dtype element type of both buffers (any ::clact_dtype); offsets and counts are in
 *        elements of it.
 * @param n element count; 0 enqueues only a marker (so @p event still completes after
 *        @p wait_list).
 * @param x, x_offset input buffer and offset in elements.
 * @param y, y_offset output buffer and offset in elements. In-place is `y == x` with
 *        `y_offset == x_offset`; ranges that overlap partly (also through sub-buffers of one
 *        buffer) are rejected.
 * @param num_wait, wait_list events to wait for (OpenCL rules: both zero/NULL or neither).
 * @param[out] event optional; receives an event for the kernel, owned by the caller.
 * @return ::CLACT_OK; ::CLACT_INVALID_ARGUMENT for NULL handles, an unknown op, bad
 *         parameters, a range past the end of a buffer, buffers of another `cl_context`, or
 *         a partial overlap; ::CLACT_UNSUPPORTED for f64 without cl_khr_fp64; ::CLACT_IO_ERROR
 *         when `CLACT_KERNEL_DIR` files cannot be read; ::CLACT_BUILD_FAILED;
 *         ::CLACT_OPENCL_ERROR or ::CLACT_OUT_OF_MEMORY (also when a table's buffer or its
 *         command cannot be made: then no table is kept; a table whose command was enqueued is
 *         kept even if the lookup then fails; @p y is not written either way). Returns without
 *         waiting for the kernel.
 */
CLACT_API clact_status clact_forward(clact_context *ctx, const clact_activation *act,
                                     clact_dtype dtype, size_t n, cl_mem x, size_t x_offset,
                                     cl_mem y, size_t y_offset, cl_uint num_wait,
                                     const cl_event *wait_list, cl_event *event);

/** ::clact_backward_saved's bits: the gradient can be computed from the input x ... */
#define CLACT_SAVED_X 1u
/** ... or from the output y = act(x). */
#define CLACT_SAVED_Y 2u

/**
 * Which saved tensors ::clact_backward can compute @p act's gradient from: ::CLACT_SAVED_X,
 * ::CLACT_SAVED_Y, or both (then either may be given, and the other NULL). From the output only
 * where the output determines the gradient: relu, sigmoid, tanh, relu6, hardtanh, selu; leaky_relu,
 * elu, celu and prelu with a non-negative slope, alpha or weight (as PyTorch's in-place forms
 * require); threshold with value <= threshold; rrelu with lower >= 0 in training mode and
 * lower + upper >= 0 in evaluation mode. glu has no elementwise backward (0).
 * @return the bits, or 0 for NULL, an unknown op, glu or invalid parameters.
 */
CLACT_API unsigned clact_backward_saved(const clact_activation *act);

/**
 * Enqueue the backward of ::clact_forward: `dx[i] = dy[i] * act'(x[i])` for `i < n`, with
 * PyTorch's autograd formulas (relu's gradient at 0 is 0, and where the output is 0 it is 0 even
 * for an infinite or NaN dy; leaky_relu's at 0 is the slope; softplus tests `beta*x > threshold`
 * strictly) and PyTorch's NaN at ±inf for gelu, gelu_tanh, silu and mish. At a NaN input, relu and
 * leaky_relu give what their formulas' tests give (dy, and dy times the slope), as PyTorch does;
 * elu gives NaN, as PyTorch's vectorised CPU kernel does (its scalar tail gives dy).
 *
 * @param x, x_offset the forward's input, or NULL; @param y, y_offset its output, or NULL. At
 *        least one that ::clact_backward_saved allows must be given; when both are, the one
 *        PyTorch saves is read (y for relu, sigmoid, tanh; x otherwise).
 * @param dy, dy_offset the gradient with respect to the output.
 * @param dx, dx_offset the gradient with respect to the input; may be the same elements as dy,
 *        x or y (in place); partial overlaps are rejected.
 * Other arguments as ::clact_forward.
 *
 * The piecewise ops' gradients are PyTorch's choices, not products, where PyTorch chooses: relu6,
 * hardtanh, threshold, softshrink and hardshrink give 0 where their masks say so (hardtanh's and
 * relu6's boundaries are exclusive: 0 at min_val and max_val) and dy itself elsewhere, whatever
 * dy is; hardsigmoid gives 0 outside (-3, 3) and hardswish below -3. At a NaN input the gradient
 * is what PyTorch 1.13's vectorised CPU kernels give (the ones any tensor of 64 or more elements
 * runs; their scalar tails, for the last few elements, differ for some ops, as elu's does): 0 for
 * relu6, hardtanh, hardsigmoid, softshrink and hardshrink; dy for threshold and rrelu in training
 * mode (PyTorch's noise is 1 there); the slope times dy for prelu and rrelu in evaluation mode;
 * NaN for selu, celu, hardswish, logsigmoid, softsign and tanhshrink. softsign and tanhshrink are PyTorch composites
 * (x / (1 + |x|), x - tanh x); their gradients here are the exact 1 / (1 + |x|)^2 and tanh(x)^2,
 * where PyTorch's autograd forms 1/d - |x|/d^2 and 1 - (1 - tanh^2) and cancels (its softsign
 * gradient is 0 from |x| = 1e20, exact 1e-40; at ±inf both give NaN).
 *
 * Deviations from PyTorch (exact values where PyTorch's float arithmetic overflows at finite
 * inputs): gelu_tanh for |x| > 1.8e19, where PyTorch's x^2 overflows and it returns NaN, gives
 * dy (x > 0) or 0 (x < 0); softplus with `threshold > 88.7`, where PyTorch's exp overflows and it
 * returns NaN for 88.7 < beta*x <= threshold, gives the exact sigmoid(beta*x) * dy. Two more
 * choices: hardswish's gradient at x = 3 is 1.5 dy, as PyTorch's scalar CPU and CUDA kernels and
 * SEMANTICS.md have it (its vectorised CPU kernel gives dy there); in f64, hardsigmoid's gradient
 * is dy / 6 in double, where PyTorch 1.13 multiplies by float's 1/6 (0.1666666716) even in double.
 * @return ::CLACT_OK; ::CLACT_INVALID_ARGUMENT (as ::clact_forward, or no usable saved tensor);
 *         ::CLACT_UNSUPPORTED; ::CLACT_IO_ERROR; ::CLACT_BUILD_FAILED; ::CLACT_OPENCL_ERROR.
 */
CLACT_API clact_status clact_backward(clact_context *ctx, const clact_activation *act,
                                      clact_dtype dtype, size_t n, cl_mem x, size_t x_offset,
                                      cl_mem y, size_t y_offset, cl_mem dy, size_t dy_offset,
                                      cl_mem dx, size_t dx_offset, cl_uint num_wait,
                                      const cl_event *wait_list, cl_event *event);

/**
 * Enqueue GLU (`F.glu(x, dim)`): the input's dimension @p dim (negative counts from the end) is
 * split into halves a and b, and `y = a * sigmoid(b)`, with y of the input's shape but half the
 * size along @p dim. The product is exact (a few ulp) where sigmoid(b) alone would underflow:
 * `1e30 * sigmoid(-100)` is 3.7e-14, where PyTorch's float sigmoid, 0 from b < -88.72, gives 0.
 * An infinite a takes sigmoid(b) rounded to the compute type: NaN (inf * 0) where that is 0
 * (b = -inf, as PyTorch; and b < -103.97 in float, b < -745.13 in double), ±inf elsewhere. One
 * deviation follows: for b in [-103.97, -88.72) in float ([-745.13, -709.78) in double), where
 * PyTorch's sigmoid has already rounded to 0, PyTorch gives NaN and clact ±inf. NaN in a or b
 * gives NaN.
 *
 * @param ndim, shape the input's shape, 1 <= ndim <= ::CLACT_MAX_DIMS; `shape[dim]` must be even
 *        (PyTorch: "Halving dimension must be even"); other dimensions may be 0 (then only a
 *        marker is enqueued).
 * @param x, x_offset the input; @param y, y_offset the output; they must not overlap.
 * @return ::CLACT_OK; ::CLACT_INVALID_ARGUMENT (NULL handles or shape, ndim or dim out of range,
 *         an odd `shape[dim]`, an element count that overflows, buffers too small, overlap);
 *         ::CLACT_UNSUPPORTED (f64 without cl_khr_fp64); ::CLACT_BUILD_FAILED;
 *         ::CLACT_OPENCL_ERROR. Never blocks.
 */
CLACT_API clact_status clact_glu(clact_context *ctx, clact_dtype dtype, int ndim,
                                 const size_t *shape, int dim, cl_mem x, size_t x_offset, cl_mem y,
                                 size_t y_offset, cl_uint num_wait, const cl_event *wait_list,
                                 cl_event *event);

/**
 * Enqueue GLU's backward: with s = sigmoid(b), `da = dy * s` and `db = dy * a * s * (1 - s)`
 * (1 - s formed as sigmoid(-b), never by subtraction: PyTorch's 1 - s is 0 from b = 16.6 in
 * float), into @p dx of the input's shape. da is exact as the forward's product is; db's four
 * factors are multiplied without intermediate overflow or underflow, so it is right wherever it
 * is a float (dy = a = 1e30, b = -100 gives 3.7e16). Where dy is infinite (da), or dy or a is
 * (db), the gradient is dy times the derivative, s or `a s (1 - s)`, rounded to the compute type
 * first (an infinite a: times s (1 - s) rounded), as ::clact_backward forms `dy * f'(x)` and as
 * PyTorch multiplies: NaN where that is 0 (or dy is), ±inf elsewhere. PyTorch's float s (1 - s) is
 * also 0 where its 1 - s cancels (b > 16.6 in float, 36.7 in double) and where its s is 0
 * (b < -88.72; -709.78), so it gives NaN there where clact, from the exact derivative, gives ±inf
 * (for |b| up to 103.97 in float, 745.13 in double, with an infinite a; with an infinite dy
 * while `a s (1 - s)` is still a float). The measured cases agree: `glu([inf, 1, -inf, nan])` is
 * [nan, nan], its gradient for dy = 1 [0, nan, nan, nan].
 * @param x, x_offset the forward's input; @param dy, dy_offset the gradient of the output (half
 *        the size along @p dim); @param dx, dx_offset the input's gradient, which may be the same
 *        elements as x (in place) and must not overlap dy otherwise.
 * Other arguments and statuses as ::clact_glu.
 */
CLACT_API clact_status clact_glu_backward(clact_context *ctx, clact_dtype dtype, int ndim,
                                          const size_t *shape, int dim, cl_mem x, size_t x_offset,
                                          cl_mem dy, size_t dy_offset, cl_mem dx, size_t dx_offset,
                                          cl_uint num_wait, const cl_event *wait_list,
                                          cl_event *event);

/**
 * Enqueue PReLU (`nn.PReLU(num_parameters)`): `y = x > 0 ? x : w[c] * x`, c the index along
 * dimension 1 (the channel) when @p num_parameters > 1, else every element uses w[0]. The product
 * is rounded once (exact in f16 and bf16 before the store); NaN x gives NaN, as any w (NaN too)
 * is accepted, as PyTorch does.
 *
 * @param ndim, shape the input's shape, 0 <= ndim <= ::CLACT_MAX_DIMS (0: one element, and
 *        @p shape may then be NULL); an empty shape enqueues only a marker.
 * @param num_parameters 1, or `shape[1]` (which needs ndim >= 2; 0 only when `shape[1]` is),
 *        as PyTorch requires ("Mismatch of parameter numbers and input channel size": a 1-d input
 *        has channel size 1, a 0-d input only one weight).
 * @param weight, weight_offset the num_parameters weights, in the input's dtype.
 * @param x, x_offset, y, y_offset input and output; in place (same buffer and offset) is allowed,
 *        partial overlap is not.
 * @return ::CLACT_OK; ::CLACT_INVALID_ARGUMENT (NULL handles, shape or weight, a bad
 *         num_parameters, buffers too small, partial overlap); ::CLACT_UNSUPPORTED;
 *         ::CLACT_BUILD_FAILED; ::CLACT_OPENCL_ERROR. Never blocks.
 */
CLACT_API clact_status clact_prelu(clact_context *ctx, clact_dtype dtype, int ndim,
                                   const size_t *shape, size_t num_parameters, cl_mem weight,
                                   size_t weight_offset, cl_mem x, size_t x_offset, cl_mem y,
                                   size_t y_offset, cl_uint num_wait, const cl_event *wait_list,
                                   cl_event *event);

/** ::clact_prelu_backward's flag: add the weight's gradient to @p dw's contents (as autograd
 * accumulates `.grad`) instead of storing it. */
#define CLACT_PRELU_ACCUMULATE 1u

/**
 * Enqueue PReLU's backward: `dx = x > 0 ? dy : w[c] * dy` (NaN x: w * dy, as PyTorch) and the
 * weight's gradient `dw[c] = sum over the elements of channel c of (x > 0 ? 0 : x * dy)`,
 * accumulated in the compute type with compensation (float for f32, f16, bf16; double for f64:
 * each product split exactly into two, the sums compensated, Ogita, Rump and Oishi's Dot2), then
 * rounded once (to f16 and bf16 through round-to-odd, so that the store's is the one rounding):
 * within u |S| + 8 (n u)^2 sum |x dy| of the exact sum S (u the compute type's unit roundoff, n
 * the channel's elements), however much the terms cancel. Infinite or NaN terms decide the sum as
 * in any sum (NaN; +inf and -inf: NaN); finite terms whose sum overflows give ±inf. An empty input
 * gives dw = 0 (autograd's sum over no elements), or leaves it as it is with
 * ::CLACT_PRELU_ACCUMULATE. dw takes two kernels, neither of them one work-group over everything:
 * the first, spread over the whole device (along rows where channel runs are short, as after a
 * linear layer; along each channel's runs where they are long), writes compensated partial sums
 * to the context's scratch buffer (and dx, when wanted); the second, one work-group per channel,
 * merges them into dw. It waits for the first by event, so out-of-order queues are fine.
 *
 * @param dx, dx_offset the input's gradient, or NULL for dw alone; may be the same elements as
 *        x or dy (in place).
 * @param dw, dw_offset the weight's gradient (num_parameters elements), or NULL for dx alone;
 *        at least one of dx and dw must be given.
 * @param flags 0 or ::CLACT_PRELU_ACCUMULATE.
 * Other arguments and statuses as ::clact_prelu; ::CLACT_OUT_OF_MEMORY for the partial sums'
 * scratch buffer (the context's, reused).
 */
CLACT_API clact_status clact_prelu_backward(clact_context *ctx, clact_dtype dtype, int ndim,
                                            const size_t *shape, size_t num_parameters,
                                            cl_mem weight, size_t weight_offset, cl_mem x,
                                            size_t x_offset, cl_mem dy, size_t dy_offset,
                                            cl_mem dx, size_t dx_offset, cl_mem dw,
                                            size_t dw_offset, unsigned flags, cl_uint num_wait,
                                            const cl_event *wait_list, cl_event *event);

/* ------------------------------------------------------------------------------------------ */
/** @name Dense layer (nn.Linear, then an activation) */

/** A buffer and an element offset into it, for the calls that take many buffers; mem NULL is
 * "not given" where a buffer is optional. */
typedef struct clact_buffer {
    cl_mem mem;
    size_t offset;
} clact_buffer;

/** Flag for ::clact_dense_backward: add dW and db to the buffers' contents instead of overwriting
 * them, as PyTorch accumulates into `.grad`. */
#define CLACT_DENSE_ACCUMULATE 1u

/** A dense layer: `torch.nn.Linear(in_features, out_features)` followed by an activation. */
typedef struct clact_dense_desc {
    size_t in_features, out_features;
    /** NULL: no activation (nn.Linear alone). Any elementwise op; not glu (::CLACT_INVALID_ARGUMENT)
     * nor rrelu in training mode (::CLACT_UNSUPPORTED: run the layer without an activation, then
     * ::clact_forward); prelu's backward is ::CLACT_UNSUPPORTED (it would not give the weight's
     * gradient: ::clact_prelu_backward). */
    const clact_activation *act;
    unsigned flags;              /**< 0 or ::CLACT_DENSE_ACCUMULATE (backward) */
} clact_dense_desc;

/**
 * Enqueue `y = act(x W^T + b)` with PyTorch's nn.Linear layout: x is `(batch, in_features)`, W
 * `(out_features, in_features)` and y `(batch, out_features)`, all row-major; b has
 * out_features elements. The GEMM is CLBlast's; the bias and the activation are one clact pass
 * after it, which can also keep the pre-activation `z = x W^T + b` for the backward. With that
 * pass, the GEMM's product goes to the context's scratch buffer (batch x out_features elements,
 * kept and reused), so that only the last command writes y and z (see Errors above).
 *
 * dtypes: f32 and f64 (f64 on devices with cl_khr_fp64); f16 on devices with cl_khr_fp16
 * (CLBlast's half GEMM needs it); bf16 is ::CLACT_UNSUPPORTED (CLBlast has no bf16 GEMM).
 * Nothing blocks. CLBlast takes a queue and returns an event but no wait list: clact orders its
 * GEMMs after @p wait_list with a barrier (clEnqueueBarrierWithWaitList) and, on an out-of-order
 * queue, closes each GEMM with a barrier too, so that what follows it waits for all of CLBlast's
 * kernels; on such a queue the barriers also hold back commands the caller enqueues after this
 * call until they are passed. CLBlast's temporary buffer is the context's, made once and reused.
 *
 * @param b optional bias (mem NULL: none). @param z optional: receives the pre-activation (for
 *        ::clact_dense_backward; unused without an activation). @param y the output. y and z
 *        must not overlap x, W, b or each other.
 * @return ::CLACT_OK; ::CLACT_INVALID_ARGUMENT (NULL handles, zero out_features, sizes that
 *         overflow or exceed a buffer, overlaps, an invalid activation); ::CLACT_UNSUPPORTED
 *         (bf16, f16 without cl_khr_fp16, f64 without cl_khr_fp64); ::CLACT_OUT_OF_MEMORY;
 *         ::CLACT_BUILD_FAILED; ::CLACT_OPENCL_ERROR (an OpenCL call, or a CLBlast routine named
 *         with CLBlast's status code).
 */
CLACT_API clact_status clact_dense_forward(clact_context *ctx, const clact_dense_desc *desc,
                                           clact_dtype dtype, size_t batch, clact_buffer x,
                                           clact_buffer w, clact_buffer b, clact_buffer z,
                                           clact_buffer y, cl_uint num_wait,
                                           const cl_event *wait_list, cl_event *event);

/**
 * Enqueue the backward of ::clact_dense_forward: from the output gradient @p dy, the gradients
 * `dx = dz W`, `dW = dz^T x` and `db = sum over the batch of dz`, where `dz = dy * act'(z)`
 * (`dz = dy` without an activation). dz is one pass (dy and z read once) into the context's
 * scratch buffer; db, the column sums of dz (of dy without an activation), is the last command,
 * after the GEMMs (the order of the writes: see Errors above).
 *
 * @param x, w the forward's input and weight. @param z the forward's pre-activation, or NULL
 *        when @p y (the forward's output) is given and the activation's gradient can be taken from
 *        it (::clact_backward_saved); both NULL only without an activation.
 * @param dx, dw, db each optional (mem NULL: not wanted); with ::CLACT_DENSE_ACCUMULATE, dw and
 *        db are added to. Outputs must not overlap any other buffer.
 * Other arguments, ordering and statuses as ::clact_dense_forward.
 */
CLACT_API clact_status clact_dense_backward(clact_context *ctx, const clact_dense_desc *desc,
                                            clact_dtype dtype, size_t batch, clact_buffer x,
                                            clact_buffer w, clact_buffer z, clact_buffer y,
                                            clact_buffer dy, clact_buffer dx, clact_buffer dw,
                                            clact_buffer db, cl_uint num_wait,
                                            const cl_event *wait_list, cl_event *event);

/* ------------------------------------------------------------------------------------------ */
/** @name Training diagnostics
 * What `clact train` watches to tell why a network trains or not: dead and saturated units of a
 * layer's output, and the norm of a gradient. Both only enqueue, on the context's queue. */

/**
 * Count, per unit of a layer's output @p y (@p rows x @p units, row-major, e.g. a dense layer's
 * activation over a batch), into @p counts (`cl_uint`, 2 x @p units, at element offset
 * `counts.offset`), *adding* to what is there so that a caller can accumulate over an epoch:
 *  - `counts[u]` += the rows where `y[r][u] != 0` (NaN counts as nonzero): a ReLU unit whose
 *    count stays 0 over an epoch is dead, it passed no gradient for any sample;
 *  - `counts[units + u]` += the rows where `y <= lo` or `y >= hi` (NaN counts as neither):
 *    saturated (tanh: lo = -0.99, hi = 0.99; sigmoid: 0.01, 0.99; -inf/inf: never).
 * The comparisons are made in the compute type (float for f32, f16, bf16; double for f64) with
 * @p lo and @p hi converted to it. Counts saturate at UINT_MAX instead of wrapping.
 * @return ::CLACT_OK; ::CLACT_INVALID_ARGUMENT (NULL or too small buffers, counts overlapping
 *         y, lo or hi NaN, rows * units overflowing); ::CLACT_UNSUPPORTED; ::CLACT_OPENCL_ERROR.
 */
CLACT_API clact_status clact_unit_stats(clact_context *ctx, clact_dtype dtype, size_t rows,
                                        size_t units, clact_buffer y, double lo, double hi,
                                        clact_buffer counts, cl_uint num_wait,
                                        const cl_event *wait_list, cl_event *event);

/**
 * Write the sum of the squares of @p n elements of @p x (the squared L2 norm, as
 * `torch.linalg.vector_norm(x) ** 2`) to one element of @p out, which holds the compute type:
 * `float` for f32, f16 and bf16, `double` for f64 (a sum of squares of f16 values overflows f16
 * long before float); `out.offset` counts those elements, so a caller can keep one slot per
 * step. Compensated partial sums in one work-group: within a few ulp of the exact sum (stated
 * bound in tests/check_stats.c). An infinite element or an overflowing sum gives +inf, a NaN
 * element NaN; n = 0 gives 0.
 * @return ::CLACT_OK; ::CLACT_INVALID_ARGUMENT; ::CLACT_UNSUPPORTED; ::CLACT_OPENCL_ERROR.
 */
CLACT_API clact_status clact_sum_squares(clact_context *ctx, clact_dtype dtype, size_t n,
                                         clact_buffer x, clact_buffer out, cl_uint num_wait,
                                         const cl_event *wait_list, cl_event *event);

/* ------------------------------------------------------------------------------------------ */
/** @name Softmax, LogSoftmax, Softmin */

/**
 * The softmax family: X(NAME, value, name, formula). It generates ::clact_softmax_kind,
 * ::clact_softmax_kind_name and ::clact_softmax_kind_from_name.
 */
#define CLACT_SOFTMAX_KIND_MAP(X)                                                                  \
    X(SOFTMAX, 0, "softmax", "exp(x - m) / sum exp(x - m), m the row maximum")                     \
    X(LOG_SOFTMAX, 1, "log_softmax", "x - m - log sum exp(x - m)")                                 \
    X(SOFTMIN, 2, "softmin", "softmax(-x)")

/** Which member of the softmax family (`torch.nn.Softmax`, `LogSoftmax`, `Softmin`). */
typedef enum clact_softmax_kind {
#define CLACT__KIND_ENUM(name, value, text, formula) CLACT_##name = value,
    CLACT_SOFTMAX_KIND_MAP(CLACT__KIND_ENUM)
#undef CLACT__KIND_ENUM
} clact_softmax_kind;

/** How many softmax kinds there are (values 0 to CLACT_SOFTMAX_KIND_COUNT - 1). */
enum { CLACT_SOFTMAX_KIND_COUNT = 0 CLACT_SOFTMAX_KIND_MAP(CLACT__COUNT_ONE) };

/**
 * Flag for ::clact_softmax: a row whose every element is -inf (+inf for softmin) gives 0
 * (softmax, softmin) or -inf (log_softmax) instead of PyTorch's NaN. Rows holding NaN, or +inf
 * (-inf for softmin), are NaN either way.
 */
#define CLACT_SOFTMAX_SAFE 1u

/** The most dimensions a tensor may have in the shape-taking functions. */
#define CLACT_MAX_DIMS 16

/** @return "softmax", "log_softmax", "softmin", or NULL for a value outside the enum. */
CLACT_API const char *clact_softmax_kind_name(clact_softmax_kind kind);
/**
 * Look a softmax kind up by the name ::clact_softmax_kind_name returns, case-sensitively.
 * @return ::CLACT_OK, or ::CLACT_INVALID_ARGUMENT for an unknown name or NULL pointers.
 */
CLACT_API clact_status clact_softmax_kind_from_name(const char *name, clact_softmax_kind *kind);

/**
 * Enqueue the softmax family over dimension @p dim of a contiguous (C-order) tensor.
 *
 * Semantics are PyTorch's: the row maximum is subtracted, sums are accumulated in float (with
 * compensation, so long rows keep full accuracy); a row that is all -inf, or that holds +inf or
 * NaN, gives a row of NaN (see ::CLACT_SOFTMAX_SAFE). Rows may be of any length: long rows are
 * split over work-groups with no host round trip, using a small scratch buffer the context
 * allocates once and reuses; a strided dimension (not the last) is handled in place, with no
 * transposing copy.
 *
 * @param ndim, shape the tensor's shape, 1 <= ndim <= ::CLACT_MAX_DIMS; a dimension may be 0
 *        (nothing to do: only a marker is enqueued).
 * @param dim the dimension to normalise over; negative counts from the end (-1 = last).
 * @param x, x_offset, y, y_offset buffers and element offsets; in-place (same buffer, same
 *        offset) is allowed, partial overlap is not.
 * @param flags 0 or ::CLACT_SOFTMAX_SAFE.
 * @return ::CLACT_OK; ::CLACT_INVALID_ARGUMENT (NULL handles or shape, ndim or dim out of range,
 *         a shape whose element count overflows, unknown kind or flags, buffers too small,
 *         partial overlap); ::CLACT_UNSUPPORTED (dtype); ::CLACT_OUT_OF_MEMORY (the scratch
 *         buffer); ::CLACT_BUILD_FAILED; ::CLACT_OPENCL_ERROR. Never blocks.
 */
CLACT_API clact_status clact_softmax(clact_context *ctx, clact_softmax_kind kind, unsigned flags,
                                     clact_dtype dtype, int ndim, const size_t *shape, int dim,
                                     cl_mem x, size_t x_offset, cl_mem y, size_t y_offset,
                                     cl_uint num_wait, const cl_event *wait_list, cl_event *event);

/**
 * Enqueue the backward pass of ::clact_softmax from its output @p y and the incoming gradient
 * @p dy: softmax `dx = y * (dy - sum(dy * y))`, log_softmax `dx = dy - exp(y) * sum(dy)`,
 * softmin `dx = -y * (dy - sum(dy * y))`, the sums over @p dim. @p dx may be the same buffer
 * and offset as @p dy or @p y. Arguments and statuses as in ::clact_softmax.
 */
CLACT_API clact_status clact_softmax_backward(clact_context *ctx, clact_softmax_kind kind,
                                              clact_dtype dtype, int ndim, const size_t *shape,
                                              int dim, cl_mem y, size_t y_offset, cl_mem dy,
                                              size_t dy_offset, cl_mem dx, size_t dx_offset,
                                              cl_uint num_wait, const cl_event *wait_list,
                                              cl_event *event);

/* ------------------------------------------------------------------------------------------ */
/** @name Cross-entropy */

/** How per-position losses are combined (PyTorch's `reduction`). */
typedef enum clact_reduction {
    CLACT_REDUCTION_NONE = 0, /**< one loss per position */
    CLACT_REDUCTION_MEAN = 1, /**< sum / (sum of the weights of non-ignored targets) */
    CLACT_REDUCTION_SUM = 2
} clact_reduction;

/** The element type of the target buffer. */
typedef enum clact_target_type {
    CLACT_TARGET_INT64 = 0, /**< class indices, int64 (PyTorch's default) */
    CLACT_TARGET_INT32 = 1, /**< class indices, int32 */
    CLACT_TARGET_PROBS = 2  /**< class probabilities, of the logits' dtype and shape */
} clact_target_type;

/**
 * Flag for ::clact_cross_entropy: validate the class indices now, blocking. The call waits for
 * its first kernel (a few microseconds of work per row) and returns a class index outside
 * [0, C) that is not ignore_index as ::CLACT_INVALID_ARGUMENT, naming its position and value,
 * before anything is written to the loss or the gradient, as PyTorch raises. This is the one
 * call in the library that blocks, and only when asked to.
 */
#define CLACT_CE_VALIDATE 2u
/**
 * Accepted for source compatibility with clact 0.1.0, where it turned the blocking check off;
 * never blocking is now the default, and this flag changes nothing.
 */
#define CLACT_CE_ASYNC 1u

/** `torch.nn.CrossEntropyLoss` options. */
typedef struct clact_cross_entropy_desc {
    clact_reduction reduction;     /**< default ::CLACT_REDUCTION_MEAN */
    long long ignore_index;        /**< default -100; index targets equal to it count for nothing */
    double label_smoothing;        /**< default 0, in [0, 1] */
    clact_target_type target_type; /**< default ::CLACT_TARGET_INT64 */
    unsigned flags;                /**< 0 or ::CLACT_CE_VALIDATE */
} clact_cross_entropy_desc;

/** @return PyTorch's defaults: mean, ignore_index -100, no smoothing, int64 targets. */
CLACT_API clact_cross_entropy_desc clact_cross_entropy_default(void);

/**
 * Fused cross-entropy: `nll_loss(log_softmax(logits, class_dim), target)` with PyTorch's
 * semantics, and optionally its gradient with respect to the logits, in one call. Never blocks
 * (unless ::CLACT_CE_VALIDATE): a class index out of range, which only the device sees, gives
 * NaN in the loss and in the gradient of its position, and is recorded on the context, where
 * the next ::clact_context_check returns it, naming the position and the value, the way a CUDA
 * device-side assert surfaces at the next synchronisation.
 *
 * Shapes: logits `(C)` (one sample, class dimension 0) or `(N, C, d1, ..., dk)` (class
 * dimension 1). Index targets have shape `()` or `(N, d1, ..., dk)`; probability targets the
 * logits' shape (their ignore_index must be negative, as in PyTorch). Semantics:
 *  - loss per position `-w[t] * logp[t]`; with label smoothing e,
 *    `(1 - e) * that + (e / C) * -sum_c w[c] * logp[c]` (0 for ignored positions);
 *  - mean divides by the sum of `w[t]` over non-ignored positions (all ignored: NaN);
 *    probability targets: `-sum_c logp[c] * (t[c] (1 - e) + e / C) * w[c]`, mean over positions.
 *
 * @param dtype element type of the logits, weights, probability targets, loss and gradient
 *        (any ::clact_dtype; index targets are int64 or int32 whatever it is). f16 and bf16
 *        compute in float, f64 in double.
 * @param weight NULL, or C per-class weights.
 * @param loss one value (mean, sum) or one per position (none).
 * @param grad NULL, or the logits' shape: d(loss)/d(logits); for reduction none, of the sum of
 *        the per-position losses. May be the logits buffer itself (same offset).
 * @return ::CLACT_OK; ::CLACT_INVALID_ARGUMENT (bad shapes, options or buffers; with
 *         ::CLACT_CE_VALIDATE, a class index out of range, named in the detail);
 * ::CLACT_UNSUPPORTED;
 *         ::CLACT_OUT_OF_MEMORY; ::CLACT_BUILD_FAILED; ::CLACT_OPENCL_ERROR.
 */
CLACT_API clact_status clact_cross_entropy(clact_context *ctx, const clact_cross_entropy_desc *desc,
                                           clact_dtype dtype, int ndim, const size_t *shape,
                                           cl_mem logits, size_t logits_offset, cl_mem target,
                                           size_t target_offset, cl_mem weight,
                                           size_t weight_offset, cl_mem loss, size_t loss_offset,
                                           cl_mem grad, size_t grad_offset, cl_uint num_wait,
                                           const cl_event *wait_list, cl_event *event);

/* ------------------------------------------------------------------------------------------ */
/** @name Optimizers */

/**
 * `torch.optim.SGD`'s options (PyTorch 1.13). ::clact_sgd_default gives its defaults.
 * Valid: `lr >= 0`, `momentum >= 0`, `weight_decay >= 0`, any dampening; `nesterov` needs
 * `momentum > 0` and `dampening == 0`; no field may be NaN (PyTorch accepts a NaN momentum or
 * dampening and returns NaN everywhere; clact rejects them). Flags are 0 or 1.
 */
typedef struct clact_sgd_desc {
    double lr;           /**< learning rate (PyTorch requires it; no default) */
    double momentum;     /**< default 0: no momentum buffer */
    double dampening;    /**< default 0 */
    double weight_decay; /**< default 0: L2 penalty added to the gradient */
    int nesterov;        /**< default 0 */
    int maximize;        /**< default 0: 1 ascends the gradient */
} clact_sgd_desc;

/** @return `torch.optim.SGD(params, lr)`'s options: momentum, dampening and weight decay 0,
 * nesterov and maximize off. */
CLACT_API clact_sgd_desc clact_sgd_default(double lr);

/**
 * Check SGD options without a device, as `torch.optim.SGD` does when it is constructed.
 * @param[out] message optional buffer for the reason, naming the field (NUL-terminated,
 *        truncated to @p len).
 * @return ::CLACT_OK, or ::CLACT_INVALID_ARGUMENT (NULL, a field out of its range or NaN,
 *         nesterov without momentum or with dampening, a flag other than 0 or 1).
 */
CLACT_API clact_status clact_sgd_check(const clact_sgd_desc *desc, char *message, size_t len);

/**
 * Enqueue one `torch.optim.SGD` step on one parameter tensor of @p n elements: one kernel,
 * updating @p param (and @p momentum_buffer) in place from @p grad.
 *
 * Per element, exactly the operations of PyTorch 1.13's single-tensor path
 * (`torch.optim.sgd._single_tensor_sgd`, `foreach=False`), in its order; each line is one
 * PyTorch operation, rounded once to the compute type (float for f32, f16, bf16; double for
 * f64). PyTorch's vectorised CPU kernels evaluate `a.add(b, alpha=s)` as one fused multiply-add
 * `fma(s, b, a)` on processors with FMA (measured on AVX-512), and so does clact:
 *
 *     g = maximize ? -grad : grad
 *     if weight_decay != 0:  g = fma(weight_decay, p, g)
 *     if momentum != 0:
 *         b = step == 1 ? g                                    (torch: clone of d_p)
 *                       : fma(1 - dampening, g, b * momentum)   (mul_, then add_(alpha=))
 *         g = nesterov ? fma(momentum, b, g) : b
 *     p = fma(-lr, g, p)
 *
 * The scalars `1 - dampening` and `-lr` are formed in double on the host, as Python forms them,
 * and each scalar is then converted to the compute type once, as PyTorch converts its Python
 * numbers. With f32 and f64 the results are PyTorch's CPU results bit for bit
 * (tests/torch_optim.py).
 * f16 and bf16 are storage formats: loaded into float, computed as for f32, rounded to nearest
 * even when param and the buffer are stored (PyTorch, running one op at a time, also rounds the
 * intermediates such as the decayed gradient to the storage type; the results differ by those
 * roundings). NaN and ±inf in the gradient or the state propagate as in PyTorch.
 *
 * @param desc the options (see ::clact_sgd_check).
 * @param dtype element type of every buffer (any ::clact_dtype; f64 needs cl_khr_fp64).
 * @param n elements in each buffer; 0 enqueues only a marker.
 * @param step this step's 1-based count. Only `step == 1` matters: it starts the momentum
 *        buffer as a copy of the (decayed) gradient, where PyTorch finds no `momentum_buffer`
 *        in its state; its previous contents are never read then. Must be >= 1.
 * @param param the parameters, read and written. @param grad the gradient, read only.
 * @param momentum_buffer the state PyTorch calls `momentum_buffer`, read (unless step == 1) and
 *        written; not used, and may have mem NULL, when momentum == 0.
 * @param num_wait, wait_list, event the OpenCL event triple, as in ::clact_forward.
 * @return ::CLACT_OK; ::CLACT_INVALID_ARGUMENT (invalid options, naming the field; step 0; a
 *         buffer missing, too small, of another context, or overlapping another: param, grad and
 *         the buffer must be disjoint; with a float compute type, a finite scalar that PyTorch
 *         converts with an overflow check and that does not fit in float: `-lr`, weight_decay,
 *         `1 - dampening`, or with nesterov momentum, as PyTorch raises); ::CLACT_UNSUPPORTED
 *         (f64 without cl_khr_fp64); ::CLACT_IO_ERROR; ::CLACT_BUILD_FAILED;
 *         ::CLACT_OPENCL_ERROR. Never blocks: no scalar depends on the device's data, and
 *         nothing recompiles per step.
 */
CLACT_API clact_status clact_sgd_step(clact_context *ctx, const clact_sgd_desc *desc,
                                      clact_dtype dtype, size_t n, unsigned long long step,
                                      clact_buffer param, clact_buffer grad,
                                      clact_buffer momentum_buffer, cl_uint num_wait,
                                      const cl_event *wait_list, cl_event *event);

/**
 * `torch.optim.Adam`'s and `torch.optim.AdamW`'s options (PyTorch 1.13); `decoupled` chooses
 * AdamW's weight decay. ::clact_adam_default and ::clact_adamw_default give their defaults.
 * Valid: `lr >= 0`, `eps >= 0`, `0 <= beta1 < 1`, `0 <= beta2 < 1`, `weight_decay >= 0`, no
 * NaN; flags are 0 or 1.
 */
typedef struct clact_adam_desc {
    double lr;           /**< default 1e-3 */
    double beta1, beta2; /**< PyTorch's `betas`; default 0.9, 0.999 */
    double eps;          /**< default 1e-8 */
    double weight_decay; /**< default 0 (Adam) or 1e-2 (AdamW) */
    int amsgrad;         /**< default 0: 1 normalises by the running maximum of exp_avg_sq */
    int decoupled;       /**< 0: Adam (L2 added to the gradient); 1: AdamW (the parameter decays) */
    int maximize;        /**< default 0: 1 ascends the gradient */
} clact_adam_desc;

/** @return `torch.optim.Adam(params, lr)`'s options: betas (0.9, 0.999), eps 1e-8, weight decay
 * 0, amsgrad, decoupled and maximize off. */
CLACT_API clact_adam_desc clact_adam_default(double lr);
/** @return `torch.optim.AdamW(params, lr)`'s options: as ::clact_adam_default, with weight decay
 * 1e-2 and decoupled on. */
CLACT_API clact_adam_desc clact_adamw_default(double lr);

/**
 * Check Adam/AdamW options without a device, as PyTorch does when it constructs the optimizer.
 * @param[out] message optional buffer for the reason, naming the field.
 * @return ::CLACT_OK, or ::CLACT_INVALID_ARGUMENT (NULL, a field out of its range or NaN, a flag
 *         other than 0 or 1).
 */
CLACT_API clact_status clact_adam_check(const clact_adam_desc *desc, char *message, size_t len);

/**
 * Enqueue one `torch.optim.Adam` (`decoupled` 0) or `torch.optim.AdamW` (`decoupled` 1) step on
 * one parameter tensor of @p n elements: one kernel, updating @p param, @p exp_avg, @p exp_avg_sq
 * (and @p max_exp_avg_sq) in place from @p grad.
 *
 * On the host, in double, as Python computes them in PyTorch 1.13's single-tensor path
 * (`_single_tensor_adam` / `_single_tensor_adamw`, `foreach=False`, `capturable=False`):
 *
 *     bias_correction1 = 1 - beta1 ** step        bias_correction2 = 1 - beta2 ** step
 *     step_size = lr / bias_correction1           bias_correction2_sqrt = sqrt(bias_correction2)
 *
 * then per element, one PyTorch operation per line, each rounded once to the compute type
 * (float for f32, f16, bf16; double for f64); PyTorch's vectorised CPU kernels evaluate
 * `add(alpha=)` and `addcmul` with one fused multiply-add on processors with FMA (measured),
 * and so does clact:
 *
 *     g = maximize ? -grad : grad
 *     Adam, weight_decay != 0:  g = fma(weight_decay, p, g)
 *     AdamW:                    p = p * (1 - lr * weight_decay)
 *     m = fma(1 - beta1, g, m * beta1)                   (exp_avg.mul_(beta1).add_(g, alpha=))
 *     v = fma((1 - beta2) * g, g, v * beta2)             (exp_avg_sq.mul_(beta2).addcmul_(g, g))
 *     amsgrad:  vmax = maximum(vmax, v) (NaN wins, as torch.maximum), w = vmax;  else w = v
 *     denom = sqrt(w) / bias_correction2_sqrt + eps
 *     p = p + ((-step_size) * m) / denom                 (param.addcdiv_(m, denom, value=))
 *
 * Every scalar (`1 - beta1`, `1 - beta2`, `-step_size`, `1 - lr * weight_decay`, ...) is
 * formed in double and converted to the compute type once, as PyTorch converts Python numbers;
 * being kernel arguments, they cost no recompilation per step. Division and sqrt are correctly
 * rounded where the device supports it (CL_FP_CORRECTLY_ROUNDED_DIVIDE_SQRT: the program is
 * built with -cl-fp32-correctly-rounded-divide-sqrt); there, f32 results are PyTorch's CPU
 * results bit for bit, as f64 results are everywhere (tests/torch_optim.py); elsewhere OpenCL
 * allows 2.5 ulp per float division and 3 per sqrt. f16 and bf16 are storage formats: loaded into
 * float, computed as for f32, each tensor rounded to nearest even when stored (PyTorch also rounds
 * intermediates such as denom to the storage type). NaN and ±inf propagate as in PyTorch. One
 * deviation: PyTorch counts steps in a float32 tensor, which stops at 2^24 = 16777216; clact uses
 * @p step as given.
 *
 * @param desc the options (see ::clact_adam_check).
 * @param dtype element type of every buffer (any ::clact_dtype; f64 needs cl_khr_fp64).
 * @param n elements in each buffer; 0 enqueues only a marker.
 * @param step this step's 1-based count (PyTorch's `state['step']` after its increment), >= 1.
 *        The first step needs exp_avg, exp_avg_sq (and max_exp_avg_sq) zeroed, as PyTorch
 *        creates them.
 * @param param read and written. @param grad read only.
 * @param exp_avg, exp_avg_sq the moment estimates, read and written.
 * @param max_exp_avg_sq read and written with amsgrad; otherwise not used, and may have mem NULL.
 * @param num_wait, wait_list, event the OpenCL event triple, as in ::clact_forward.
 * @return ::CLACT_OK; ::CLACT_INVALID_ARGUMENT (invalid options, naming the field; step 0; a
 *         buffer missing, too small, of another context, or overlapping another: all must be
 *         disjoint; with a float compute type, a finite scalar that PyTorch converts with an
 *         overflow check and that does not fit in float: weight_decay or `-step_size`, as
 *         PyTorch raises); ::CLACT_UNSUPPORTED (f64 without cl_khr_fp64); ::CLACT_IO_ERROR;
 *         ::CLACT_BUILD_FAILED; ::CLACT_OPENCL_ERROR. Never blocks.
 */
CLACT_API clact_status clact_adam_step(clact_context *ctx, const clact_adam_desc *desc,
                                       clact_dtype dtype, size_t n, unsigned long long step,
                                       clact_buffer param, clact_buffer grad, clact_buffer exp_avg,
                                       clact_buffer exp_avg_sq, clact_buffer max_exp_avg_sq,
                                       cl_uint num_wait, const cl_event *wait_list,
                                       cl_event *event);

/* ------------------------------------------------------------------------------------------ */
/** @name CPU reference */

/**
 * The CPU reference: `y[i] = act(x[i])` computed in long double (wider than double on x86 and
 * AArch64 Linux; double where the platform has nothing wider) with plain libm and rounded once
 * to double, written independently of the kernels. @p dtype names the data type the result
 * stands for: the parameters are first converted to its compute type (float for f32, f16 and
 * bf16, double for f64), and PyTorch's branch conditions (the softplus threshold test on
 * `beta*x`) are evaluated in that type, exactly as PyTorch does. @p x and @p y may be the same
 * array.
 * @return ::CLACT_OK or ::CLACT_INVALID_ARGUMENT (NULL arrays with n > 0, unknown op or dtype,
 *         invalid parameters).
 */
CLACT_API clact_status clact_reference_forward(const clact_activation *act, clact_dtype dtype,
                                               size_t n, const double *x, double *y);

/**
 * CPU reference of ::clact_backward: `dx[i] = dy[i] * act'(.)` in long double, rounded once to
 * double, written from PyTorch's derivative formulas independently of the kernels. From @p x
 * when it is given (the exact derivative at x); else from @p y, PyTorch's formula on the output
 * (relu, leaky_relu and elu with parameter >= 0, sigmoid `(1 - y) y`, tanh `1 - y^2`, elu
 * `y + alpha`), evaluated exactly on the given values. act' is rounded to @p dtype's compute type
 * (float for f32, f16, bf16) before the product with dy, as PyTorch forms it (so an infinite dy
 * where act' underflows to 0 gives NaN, as in PyTorch). Parameters convert to the compute type
 * and branch tests run in it, as in ::clact_reference_forward. @p dx may be any input.
 * @return ::CLACT_OK or ::CLACT_INVALID_ARGUMENT (NULL arrays with n > 0, unknown op or dtype,
 *         invalid parameters, no saved tensor that ::clact_backward_saved allows).
 */
CLACT_API clact_status clact_reference_backward(const clact_activation *act, clact_dtype dtype,
                                                size_t n, const double *x, const double *y,
                                                const double *dy, double *dx);

/**
 * Philox4x32-10 (Salmon et al., SC'11), in place on @p counter with the 64-bit @p key (low word
 * first): the generator rrelu's training mode draws from (::clact_activation), for users who want
 * the slopes on the host. Element i of a call uses counter {i mod 2^32, i / 2^32, 0, 0} and key
 * seed; the slope is lower + (upper - lower) u with u = (word 0 >> 8) 2^-24 (f32, f16, bf16) or
 * ((word 0 << 32 | word 1) >> 11) 2^-53 (f64), by one fma in the compute type. NULL is ignored.
 */
CLACT_API void clact_reference_philox(cl_uint counter[4], unsigned long long key);
/** GLU on host arrays of the input's shape (see ::clact_glu, with its rule for infinite a); y
 * has half the elements. In long double, rounded once to double. */
CLACT_API clact_status clact_reference_glu(clact_dtype dtype, int ndim, const size_t *shape,
                                           int dim, const double *x, double *y);
/** GLU's backward on host arrays (see ::clact_glu_backward). */
CLACT_API clact_status clact_reference_glu_backward(clact_dtype dtype, int ndim,
                                                    const size_t *shape, int dim, const double *x,
                                                    const double *dy, double *dx);
/** PReLU on host arrays (see ::clact_prelu). */
CLACT_API clact_status clact_reference_prelu(clact_dtype dtype, int ndim, const size_t *shape,
                                             size_t num_parameters, const double *weight,
                                             const double *x, double *y);
/** PReLU's backward on host arrays (see ::clact_prelu_backward; dw summed exactly, in long
 * double, products split with fmal, compensated); dx or dw may be NULL, not both. dw receives the
 * sums: for ::CLACT_PRELU_ACCUMULATE, add the old values to them. */
CLACT_API clact_status clact_reference_prelu_backward(clact_dtype dtype, int ndim,
                                                      const size_t *shape, size_t num_parameters,
                                                      const double *weight, const double *x,
                                                      const double *dy, double *dx, double *dw);
/**
 * CPU reference of ::clact_dense_forward on host arrays (the same layouts), sums in long double:
 * `z = x W^T + b` (@p b and @p z may be NULL), then `y = act(z)` by ::clact_reference_forward in
 * @p dtype's semantics.
 * @return ::CLACT_OK, ::CLACT_INVALID_ARGUMENT, ::CLACT_OUT_OF_MEMORY.
 */
CLACT_API clact_status clact_reference_dense_forward(const clact_dense_desc *desc,
                                                     clact_dtype dtype, size_t batch,
                                                     const double *x, const double *w,
                                                     const double *b, double *z, double *y);

/**
 * CPU reference of ::clact_dense_backward: `dz` by ::clact_reference_backward from @p z or @p y
 * (or dy itself without an activation), then dx, dW and db (each may be NULL) with long-double
 * sums, added to their contents with ::CLACT_DENSE_ACCUMULATE.
 * @return ::CLACT_OK, ::CLACT_INVALID_ARGUMENT, ::CLACT_OUT_OF_MEMORY.
 */
CLACT_API clact_status clact_reference_dense_backward(
    const clact_dense_desc *desc, clact_dtype dtype, size_t batch, const double *x, const double *w,
    const double *z, const double *y, const double *dy, double *dx, double *dw, double *db);

/**
 * CPU reference of ::clact_softmax, sums and exponentials in long double, on a host array of the
 * given shape.
 * @p x and @p y may be the same array. Same NaN rules and flags as the device function.
 * @return ::CLACT_OK or ::CLACT_INVALID_ARGUMENT (as ::clact_softmax).
 */
CLACT_API clact_status clact_reference_softmax(clact_softmax_kind kind, unsigned flags, int ndim,
                                               const size_t *shape, int dim, const double *x,
                                               double *y);

/** CPU reference of ::clact_softmax_backward. @p dx may be the same array as @p y or @p dy. */
CLACT_API clact_status clact_reference_softmax_backward(clact_softmax_kind kind, int ndim,
                                                        const size_t *shape, int dim,
                                                        const double *y, const double *dy,
                                                        double *dx);

/**
 * CPU reference of ::clact_cross_entropy on host arrays, in double precision. @p target holds
 * int64 or int32 indices or (as double) probabilities, per `desc->target_type`; @p weight may be
 * NULL; @p grad may be NULL. An index out of range gives ::CLACT_INVALID_ARGUMENT.
 */
CLACT_API clact_status clact_reference_cross_entropy(const clact_cross_entropy_desc *desc, int ndim,
                                                     const size_t *shape, const double *logits,
                                                     const void *target, const double *weight,
                                                     double *loss, double *grad);

/**
 * CPU reference of ::clact_unit_stats on a host array: adds to @p counts (2 x @p units) with the
 * comparisons made in @p dtype's compute type.
 * @return ::CLACT_OK or ::CLACT_INVALID_ARGUMENT.
 */
CLACT_API clact_status clact_reference_unit_stats(clact_dtype dtype, size_t rows, size_t units,
                                                  const double *y, double lo, double hi,
                                                  unsigned *counts);

/**
 * CPU reference of ::clact_sum_squares: the sum of `x[i]^2` in long double, rounded once to
 * double in *@p out.
 * @return ::CLACT_OK or ::CLACT_INVALID_ARGUMENT.
 */
CLACT_API clact_status clact_reference_sum_squares(size_t n, const double *x, double *out);

/**
 * CPU reference of ::clact_sgd_step on host arrays, updated in place, written independently of
 * the kernel: each of the step's operations correctly rounded to @p dtype's compute type, where
 * PyTorch rounds (float data: evaluated in long double, then rounded once to float; double data:
 * double's own operations; the fused multiply-adds through libm's fmaf and fma); @p param and
 * @p momentum_buffer are then rounded to @p dtype itself (to nearest even for f16 and bf16), as
 * the device stores them. Same options, step and NaN rules as the device function;
 * @p momentum_buffer may be NULL when momentum is 0.
 * @return ::CLACT_OK or ::CLACT_INVALID_ARGUMENT (as ::clact_sgd_step, and NULL arrays with
 *         n > 0).
 */
CLACT_API clact_status clact_reference_sgd_step(const clact_sgd_desc *desc, clact_dtype dtype,
                                                size_t n, unsigned long long step, double *param,
                                                const double *grad, double *momentum_buffer);

/**
 * CPU reference of ::clact_adam_step on host arrays, updated in place, in the manner of
 * ::clact_reference_sgd_step (the bias corrections in double, as Python computes them);
 * @p max_exp_avg_sq may be NULL without amsgrad.
 * @return ::CLACT_OK or ::CLACT_INVALID_ARGUMENT (as ::clact_adam_step, and NULL arrays with
 *         n > 0).
 */
CLACT_API clact_status clact_reference_adam_step(const clact_adam_desc *desc, clact_dtype dtype,
                                                 size_t n, unsigned long long step, double *param,
                                                 const double *grad, double *exp_avg,
                                                 double *exp_avg_sq, double *max_exp_avg_sq);

#ifdef __cplusplus
}
#endif
#endif /* CLACT_CLACT_H */
