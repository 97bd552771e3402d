/* SPDX-License-Identifier: MIT */
/* clact bench: throughput of every op against the device's copy bandwidth, measured in the same
 * run (shared/BENCH.md). Per op and size: a warm-up launch (drivers compile lazily), repetitions
 * calibrated to a target time, kernel time from profiling events (median and min), inputs
 * rotated over more memory than the last-level cache, GB/s counting bytes read plus written,
 * Gelem/s, and the fraction of the best copy yardstick (clEnqueueCopyBuffer, a copy kernel with
 * clact's access pattern, and on CPU devices a host memcpy on every core). The yardstick is
 * measured before the ops, and a shared machine's bandwidth drifts in between (relu, at copy
 * speed, measured 0.71-1.01 of it in one day's runs), so each op is also timed alternately with
 * the copy kernel, launch by launch, and reported as a fraction of that ("interl."): f16 and
 * bf16 against a 16-bit copy kernel over the same elements. */
#define _POSIX_C_SOURCE 200809L
#include "bench.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clact/clact.h"
#include "cli.h"
#include "convert.h"
#include "op_args.h"

/* List lengths. The op list has room for every activation the library has, plus as many more
 * entries, so that a longer activation list in the header needs no edit here. */
enum {
    NAME_LEN = 48,
    MAX_OPS = 2 * CLACT_OP_COUNT + 64,
    MAX_SIZES = 16,
    MAX_DTYPES = 16,
    MAX_SETS = 16
};

/* The defaults, kept here once: the runs use them and clact_bench_help prints them. */
static const size_t default_rows[] = {1000, 4096, 32768};
static const char *const default_dense[] = {
    "dense_relu_128x784x256", "dense_relu_128x784x256_backward", "dense_linear_128x256x10",
    "dense_linear_128x256x10_backward"};
static const char *const default_sizes = "16777216,67108864", *const quick_sizes = "4194304";

/* Errors are one line, "clact: bench: ...". */
#define bench_error(code, ...) clact_cli_fail(code, "bench: " __VA_ARGS__)

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double event_ms(cl_event e) {
    cl_ulong t0 = 0, t1 = 0;
    clGetEventProfilingInfo(e, CL_PROFILING_COMMAND_START, sizeof t0, &t0, NULL);
    clGetEventProfilingInfo(e, CL_PROFILING_COMMAND_END, sizeof t1, &t1, NULL);
    return (double)(t1 - t0) * 1e-6;
}

/* One thing to time: enqueue(i) launches on buffer set i and returns the event of its last
 * command; an op of several commands also returns, through start, a marker enqueued just
 * before them (NULL otherwise), so that its time spans them all. */
typedef cl_event (*enqueue_fn)(void *state, int set, cl_event *start);

/* The time of what enqueue launched: its one command, or from the start marker's end to the last
 * command's end. Releases both events. */
static double launched_ms(cl_event start, cl_event e) {
    double ms = event_ms(e);
    if (start) {
        cl_ulong t0 = 0, t1 = 0;
        clGetEventProfilingInfo(start, CL_PROFILING_COMMAND_END, sizeof t0, &t0, NULL);
        clGetEventProfilingInfo(e, CL_PROFILING_COMMAND_END, sizeof t1, &t1, NULL);
        ms = (double)(t1 - t0) * 1e-6;
        clReleaseEvent(start);
    }
    clReleaseEvent(e);
    return ms;
}

typedef struct timing {
    double median_ms, min_ms;
    int reps;
} timing;

/* Times count things (1 or 2) launched alternately, rep by rep, after a warm-up launch of each
 * (drivers compile lazily; pages fault in), into out[0..count): median and min of the
 * profiling-event times, with repetitions calibrated so that all together take about target_s.
 * Alternating an op with the copy kernel gives both medians over the same stretch of time, so
 * that a machine whose bandwidth drifts (shared, noisy) moves both alike. Thing k runs on buffer
 * set r + k sets/2: half the rotation away from thing 0, so that neither finds the buffers the
 * other just touched in cache. On any failed launch out[] stays zero (reps 0). */
static void time_alternating(enqueue_fn fn, void *const *states, int count, int sets,
                             double target_s, int max_reps, timing *out) {
    memset(out, 0, (size_t)count * sizeof *out);
    double one = 0;
    for (int k = 0; k < count; ++k)
        for (int w = 0; w < 2; ++w) { /* the second launch, warm, calibrates */
            double t0 = now_s();
            cl_event start = NULL, e = fn(states[k], w % sets, &start);
            if (!e)
                return;
            clWaitForEvents(1, &e);
            launched_ms(start, e);
            one += w ? now_s() - t0 : 0;
        }
    int reps = one > 0 ? (int)(target_s / one) : max_reps;
    reps = reps < 3 ? 3 : reps > max_reps ? max_reps : reps;
    double *ms = malloc((size_t)count * (size_t)reps * sizeof *ms);
    if (!ms)
        return;
    for (int r = 0; r < reps; ++r)
        for (int k = 0; k < count; ++k) {
            cl_event start = NULL, e = fn(states[k], (r + k * (sets / 2)) % sets, &start);
            if (!e) {
                free(ms);
                return;
            }
            clWaitForEvents(1, &e);
            ms[k * reps + r] = launched_ms(start, e);
        }
    for (int k = 0; k < count; ++k) {
        qsort(ms + k * reps, (size_t)reps, sizeof *ms, cmp_double);
        out[k].median_ms = ms[k * reps + reps / 2];
        out[k].min_ms = ms[k * reps];
        out[k].reps = reps;
    }
    free(ms);
}

static timing time_it(enqueue_fn fn, void *state, int sets, double target_s, int max_reps) {
    timing t;
    time_alternating(fn, &state, 1, sets, target_s, max_reps, &t);
    return t;
}

/* What enqueue_op launches: an op of the library, or one of the two copy yardsticks. */
typedef enum bench_kind {
    BENCH_ACTIVATION,     /* clact_forward */
    BENCH_BACKWARD,       /* clact_backward from x */
    BENCH_SOFTMAX,        /* clact_softmax over rows of rowlen */
    BENCH_DENSE,          /* clact_dense_forward, keeping z */
    BENCH_DENSE_BACKWARD, /* clact_dense_backward from z: dx, dW, db */
    BENCH_COPY_BUFFER,    /* clEnqueueCopyBuffer of n floats */
    BENCH_COPY_KERNEL,    /* the copy kernel over n floats */
    BENCH_COPY_KERNEL16   /* the 16-bit copy kernel over n 16-bit elements */
} bench_kind;

/* A dense layer's buffers (row-major, as nn.Linear): x (batch, in), w (out, in), b (out), z, y
 * and dy (batch, out), and the gradients. */
typedef struct dense_buffers {
    size_t batch, in, out;
    cl_mem x, w, b, z, y, dy, dx, dw, db;
} dense_buffers;

typedef struct op_state {
    clact_context *ctx;
    cl_mem *in, *out;
    int sets; /* the backward reads dy from the next set's input */
    size_t n, rowlen;
    const dense_buffers *dense;
    int has_act; /* the dense layer's activation is act (else none) */
    bench_kind kind;
    clact_dtype dtype;
    clact_activation act;
    clact_softmax_kind sm;
    cl_kernel copy, copy16;
} op_state;

/* A dense layer, forward (keeping z) or backward from z (dx, dW, db), after a start marker. */
static cl_event enqueue_dense(const op_state *s, cl_event *start) {
    const dense_buffers *b = s->dense;
    clact_activation act = s->act;
    clact_dense_desc d = {b->in, b->out, s->has_act ? &act : NULL, 0};
    clact_buffer none = {NULL, 0};
    cl_event e = NULL;
    if (clEnqueueMarkerWithWaitList(clact_context_queue(s->ctx), 0, NULL, start) != CL_SUCCESS)
        return NULL;
    clact_status st =
        s->kind == BENCH_DENSE
            ? clact_dense_forward(s->ctx, &d, s->dtype, b->batch, (clact_buffer){b->x, 0},
                                  (clact_buffer){b->w, 0}, (clact_buffer){b->b, 0},
                                  (clact_buffer){b->z, 0}, (clact_buffer){b->y, 0}, 0, NULL, &e)
            : clact_dense_backward(s->ctx, &d, s->dtype, b->batch, (clact_buffer){b->x, 0},
                                   (clact_buffer){b->w, 0}, (clact_buffer){b->z, 0}, none,
                                   (clact_buffer){b->dy, 0}, (clact_buffer){b->dx, 0},
                                   (clact_buffer){b->dw, 0}, (clact_buffer){b->db, 0}, 0, NULL, &e);
    if (st != CLACT_OK) {
        clReleaseEvent(*start);
        *start = NULL;
        return NULL;
    }
    return e;
}

static cl_event enqueue_op(void *p, int set, cl_event *start) {
    op_state *s = p;
    cl_event e = NULL;
    cl_command_queue q = clact_context_queue(s->ctx);
    *start = NULL;
    switch (s->kind) {
    case BENCH_ACTIVATION:
        if (s->act.op == CLACT_GLU) { /* rows of rowlen halved: n in, n / 2 out */
            size_t shape[2] = {s->n / s->rowlen, s->rowlen};
            if (clact_glu(s->ctx, s->dtype, 2, shape, -1, s->in[set], 0, s->out[set], 0, 0, NULL,
                          &e) != CLACT_OK)
                return NULL;
        } else if (clact_forward(s->ctx, &s->act, s->dtype, s->n, s->in[set], 0, s->out[set], 0, 0,
                                 NULL, &e) != CLACT_OK)
            return NULL;
        break;
    case BENCH_BACKWARD:
        if (s->act.op == CLACT_GLU) { /* x and dx of n elements, dy of n / 2 */
            size_t shape[2] = {s->n / s->rowlen, s->rowlen};
            if (clact_glu_backward(s->ctx, s->dtype, 2, shape, -1, s->in[set], 0,
                                   s->in[(set + 1) % s->sets], 0, s->out[set], 0, 0, NULL,
                                   &e) != CLACT_OK)
                return NULL;
        } else if (clact_backward(s->ctx, &s->act, s->dtype, s->n, s->in[set], 0, NULL, 0,
                                  s->in[(set + 1) % s->sets], 0, s->out[set], 0, 0, NULL,
                                  &e) != CLACT_OK)
            return NULL;
        break;
    case BENCH_DENSE:
    case BENCH_DENSE_BACKWARD: return enqueue_dense(s, start);
    case BENCH_SOFTMAX: {
        /* Long rows take two kernels (the split path): time from a marker before them. */
        if (clEnqueueMarkerWithWaitList(q, 0, NULL, start) != CL_SUCCESS)
            return NULL;
        size_t shape[2] = {s->n / s->rowlen, s->rowlen};
        if (clact_softmax(s->ctx, s->sm, 0, s->dtype, 2, shape, 1, s->in[set], 0, s->out[set], 0, 0,
                          NULL, &e) != CLACT_OK) {
            clReleaseEvent(*start);
            *start = NULL;
            return NULL;
        }
        break;
    }
    case BENCH_COPY_BUFFER:
        if (clEnqueueCopyBuffer(q, s->in[set], s->out[set], 0, 0, s->n * 4, 0, NULL, &e) !=
            CL_SUCCESS)
            return NULL;
        break;
    case BENCH_COPY_KERNEL: {
        cl_ulong n = s->n;
        clSetKernelArg(s->copy, 0, sizeof n, &n);
        clSetKernelArg(s->copy, 1, sizeof(cl_mem), &s->in[set]);
        clSetKernelArg(s->copy, 2, sizeof(cl_mem), &s->out[set]);
        size_t items = (s->n + 15) / 16, local = 256, global = (items + local - 1) / local * local;
        if (clEnqueueNDRangeKernel(q, s->copy, 1, NULL, &global, &local, 0, NULL, &e) != CL_SUCCESS)
            return NULL;
        break;
    }
    case BENCH_COPY_KERNEL16: {
        cl_ulong n = s->n;
        clSetKernelArg(s->copy16, 0, sizeof n, &n);
        clSetKernelArg(s->copy16, 1, sizeof(cl_mem), &s->in[set]);
        clSetKernelArg(s->copy16, 2, sizeof(cl_mem), &s->out[set]);
        size_t items = (s->n + 15) / 16, local = 256, global = (items + local - 1) / local * local;
        if (clEnqueueNDRangeKernel(q, s->copy16, 1, NULL, &global, &local, 0, NULL, &e) !=
            CL_SUCCESS)
            return NULL;
    }
    }
    return e;
}

/* Start-up and per-op host cost: a fresh context's first op (program build and first launch),
 * its second, and the wall time per enqueue of a 1K-element relu against a bare enqueue of an
 * empty kernel over as many work-items, both on the library's queue (profiling enabled, as the
 * ops' events are), over many enqueues and one finish (op_us, empty_us), and the host's time in
 * the enqueue calls alone, before the finish (op_host_us, empty_host_us). The two loops alternate
 * in rounds, best round kept, so that a busy neighbour moves both alike. */
typedef struct overhead {
    double first_ms, second_ms, op_us, empty_us, op_host_us, empty_host_us;
} overhead;

static overhead measure_overhead(const char *device) {
    overhead o = {0, 0, 0, 0, 0, 0};
    clact_context *c;
    if (clact_context_create(&c, device) != CLACT_OK)
        return o;
    cl_int err;
    cl_context cl = clact_context_cl_context(c);
    cl_device_id dev = clact_context_device(c);
    cl_mem b = clCreateBuffer(cl, CL_MEM_READ_WRITE, 1024 * 4, NULL, &err);
    const char *src = "__kernel void empty(void) {}\n";
    cl_program prog = clCreateProgramWithSource(cl, 1, &src, NULL, &err);
    cl_kernel empty = NULL;
    if (prog && clBuildProgram(prog, 1, &dev, "-cl-std=CL1.2 -w", NULL, NULL) == CL_SUCCESS)
        empty = clCreateKernel(prog, "empty", &err);
    if (!b || !empty) {
        if (b)
            clReleaseMemObject(b);
        if (prog)
            clReleaseProgram(prog);
        clact_context_destroy(c);
        return o;
    }
    cl_command_queue q = clact_context_queue(c);
    clact_activation relu = clact_activation_default(CLACT_RELU);
    float zero = 0.5f;
    clEnqueueFillBuffer(q, b, &zero, 4, 0, 1024 * 4, 0, NULL, NULL);
    clFinish(q);
    double t0 = now_s();
    clact_forward(c, &relu, CLACT_F32, 1024, b, 0, b, 0, 0, NULL, NULL);
    clFinish(q);
    o.first_ms = (now_s() - t0) * 1e3;
    t0 = now_s();
    clact_forward(c, &relu, CLACT_F32, 1024, b, 0, b, 0, 0, NULL, NULL);
    clFinish(q);
    o.second_ms = (now_s() - t0) * 1e3;
    /* The empty kernel over the work-items relu launches for 1K elements at width 16. */
    size_t g = 1024 / 16, l = 64;
    clEnqueueNDRangeKernel(q, empty, 1, NULL, &g, &l, 0, NULL, NULL);
    clFinish(q);
    enum { REPS = 1000, ROUNDS = 5 };
    o.op_us = o.empty_us = o.op_host_us = o.empty_host_us = 1e30;
    for (int r = 0; r < ROUNDS; ++r) {
        for (int k = 0; k < 2; ++k) {
            t0 = now_s();
            for (int i = 0; i < REPS; ++i)
                if (k)
                    clEnqueueNDRangeKernel(q, empty, 1, NULL, &g, &l, 0, NULL, NULL);
                else
                    clact_forward(c, &relu, CLACT_F32, 1024, b, 0, b, 0, 0, NULL, NULL);
            double host = (now_s() - t0) * 1e6 / REPS;
            clFinish(q);
            double all = (now_s() - t0) * 1e6 / REPS;
            double *h = k ? &o.empty_host_us : &o.op_host_us, *a = k ? &o.empty_us : &o.op_us;
            *h = host < *h ? host : *h;
            *a = all < *a ? all : *a;
        }
    }
    clReleaseKernel(empty);
    clReleaseProgram(prog);
    clReleaseMemObject(b);
    clact_context_destroy(c);
    return o;
}

/* The copy kernel: 16 floats per work-item, the widest access clact's kernels use, loaded and
 * stored as whole float16 vectors: the buffers are allocated whole (aligned to at least
 * CL_DEVICE_MEM_BASE_ADDR_ALIGN, 128 bytes or more) and i is a multiple of 16 floats, so every
 * access is aligned to the vector. (vload16/vstore16 assume only a float's alignment: PoCL 3.1
 * splits that vstore16 into three stores, and the kernels' aligned whole-vector path beat such
 * a copy by 8%: no yardstick.) The 16-bit copy, the yardstick of f16 and bf16, moves 16
 * elements per work-item too, as one uint8: PoCL 3.1 turns a vstore16 of ushorts into 16
 * scalar stores, which made a ushort copy kernel take as long as the float copy of twice the
 * bytes. */
static const char *copy_src =
    "__kernel void copy(const ulong n, __global const float *x, __global float *y) {\n"
    "  ulong i = (ulong)get_global_id(0) * 16;\n"
    "  if (i + 16 <= n) *(__global float16 *)(y + i) = *(__global const float16 *)(x + i);\n"
    "  else for (; i < n; ++i) y[i] = x[i];\n"
    "}\n"
    "__kernel void copy16(const ulong n, __global const ushort *x, __global ushort *y) {\n"
    "  ulong i = (ulong)get_global_id(0) * 16;\n"
    "  if (i + 16 <= n)\n"
    "    *(__global uint8 *)(y + i) = *(__global const uint8 *)(x + i);\n"
    "  else for (; i < n; ++i) y[i] = x[i];\n"
    "}\n";

typedef struct memcpy_job {
    char *dst;
    const char *src;
    size_t bytes;
} memcpy_job;

static void *memcpy_thread(void *p) {
    memcpy_job *j = p;
    memcpy(j->dst, j->src, j->bytes);
    return NULL;
}

/* Host memcpy with one thread per compute unit, GB/s (read + write), best of a few runs. */
static double host_copy_gbs(size_t bytes, unsigned threads) {
    char *a = malloc(bytes), *b = malloc(bytes);
    if (!a || !b) {
        free(a);
        free(b);
        return 0;
    }
    memset(a, 1, bytes);
    memset(b, 2, bytes);
    double best = 1e30;
    pthread_t th[64];
    memcpy_job jobs[64];
    threads = threads > 64 ? 64 : threads ? threads : 1;
    for (int r = 0; r < 5; ++r) {
        double t0 = now_s();
        size_t chunk = bytes / threads;
        for (unsigned i = 0; i < threads; ++i) {
            jobs[i] = (memcpy_job){b + i * chunk, a + i * chunk,
                                   i + 1 == threads ? bytes - i * chunk : chunk};
            pthread_create(&th[i], NULL, memcpy_thread, &jobs[i]);
        }
        for (unsigned i = 0; i < threads; ++i)
            pthread_join(th[i], NULL);
        double t = now_s() - t0;
        best = t < best ? t : best;
    }
    free(a);
    free(b);
    return 2.0 * (double)bytes / best * 1e-9;
}

/* Splits a comma-separated list into items[0..max). More items than max, or an item of NAME_LEN
 * characters or more, is a usage error: cutting them off silently would measure something other
 * than what was asked. Returns the count, or -1 after the message. */
static int parse_list(const char *option, const char *s, char items[][NAME_LEN], int max) {
    int n = 0;
    while (*s) {
        const char *c = strchr(s, ',');
        size_t len = c ? (size_t)(c - s) : strlen(s);
        if (n == max)
            return bench_error(EXIT_USAGE, "%s takes at most %d items", option, max), -1;
        if (len >= NAME_LEN)
            return bench_error(EXIT_USAGE, "%s: '%.*s' is too long", option, (int)len, s), -1;
        memcpy(items[n], s, len);
        items[n++][len] = '\0';
        if (!c)
            break;
        s = c + 1;
    }
    return n;
}

/* One entry of --ops, parsed once at validation: an activation with its parameters, its
 * backward, a softmax kind over rows, or a dense layer of a given shape (forward or backward). */
typedef struct bench_op {
    char name[NAME_LEN];
    bench_kind kind;
    clact_op op;
    clact_activation act; /* activations and their backwards: op with the parameters asked for */
    int has_act;          /* dense: with op as its activation (else "linear") */
    clact_softmax_kind sm;
    size_t rowlen;
    size_t batch, in, out; /* dense */
} bench_op;

typedef enum bench_format { FORMAT_TABLE, FORMAT_CSV, FORMAT_JSON } bench_format;

typedef struct bench_args {
    bench_op ops[MAX_OPS];
    int nops;
    size_t sizes[MAX_SIZES];
    int nsizes;
    clact_dtype dtypes[MAX_DTYPES];
    int ndtypes;
    size_t max_esize; /* the buffers hold n elements of the widest dtype asked for */
    const char *device;
    bench_format format;
    double target_s; /* the time each measurement is calibrated to */
    int quick;
} bench_args;

/* dense_ACT_BxIxO: ACT an activation's name or "linear", B, I and O positive integers. */
static int parse_dense(const char *spec, bench_op *op) {
    const char *shape = strrchr(spec, '_');
    char act[NAME_LEN] = "";
    if (shape)
        snprintf(act, sizeof act, "%.*s", (int)(shape - spec), spec);
    unsigned long long b = 0, i = 0, o = 0;
    char tail;
    if (!shape || sscanf(shape + 1, "%llux%llux%llu%c", &b, &i, &o, &tail) != 3 || !b || !i || !o ||
        !isdigit((unsigned char)shape[1]) || b > (1u << 20) || i > (1u << 20) || o > (1u << 20))
        return bench_error(EXIT_USAGE,
                           "'%s': a dense layer is dense_ACT_BxIxO (ACT an activation or linear; "
                           "batch, in and out features positive)",
                           op->name);
    op->has_act = strcmp(act, "linear") != 0;
    if (op->has_act && clact_op_from_name(act, &op->op) != CLACT_OK)
        return bench_error(EXIT_USAGE, "'%s': unknown activation '%s'", op->name, act);
    op->batch = (size_t)b, op->in = (size_t)i, op->out = (size_t)o;
    return EXIT_OK;
}

/* The parameters of --ops' `OP[_backward]:NAME=VALUE[:NAME=VALUE...]` (params: what follows the
 * first ':', or NULL) into op->act, from PyTorch's defaults: the library's parameter names, as
 * `clact apply` takes them (clact_cli_parse_act_spec), and for rrelu also training=0|1 (0, the
 * evaluation mode, by default, as F.rrelu's) and seed=N (the training mode's key; default 0). */
static int parse_act_params(const char *name, clact_op base, const char *params, bench_op *op) {
    char spec[NAME_LEN + 64], rest[NAME_LEN];
    int training = 0, seeded = 0;
    unsigned long long seed = 0;
    size_t used = (size_t)snprintf(spec, sizeof spec, "%s", clact_op_name(base));
    snprintf(rest, sizeof rest, "%s", params ? params : "");
    for (char *item = params ? rest : NULL; item;) {
        char *next = strchr(item, ':');
        if (next)
            *next++ = '\0';
        char *end;
        errno = 0;
        if (!strncmp(item, "training=", 9)) {
            if (strcmp(item + 9, "0") && strcmp(item + 9, "1"))
                return bench_error(EXIT_USAGE, "'%s': training must be 0 or 1", name);
            training = item[9] == '1';
        } else if (!strncmp(item, "seed=", 5)) {
            seed = strtoull(item + 5, &end, 10);
            if (!isdigit((unsigned char)item[5]) || *end || errno == ERANGE)
                return bench_error(EXIT_USAGE, "'%s': seed must be an unsigned integer", name);
            seeded = 1;
        } else {
            used += (size_t)snprintf(spec + used, sizeof spec - used, ":%s", item);
        }
        item = next;
    }
    if (clact_cli_parse_act_spec("bench", spec, &op->act) != EXIT_OK)
        return EXIT_USAGE;
    if (training || seeded) {
        char why[256];
        op->act.training = training;
        op->act.seed = seed;
        if (clact_activation_check(&op->act, why, sizeof why) != CLACT_OK)
            return bench_error(EXIT_USAGE, "'%s': %s", name, why);
    }
    return EXIT_OK;
}

/* An activation's name, OP_backward (either with :NAME=VALUE parameters), dense_ACT_BxIxO
 * [_backward], or KIND_N: a softmax kind's name and a positive row length N. The activation is
 * tried first, so that an activation whose name ends in _N stays one. */
static int parse_op(const char *name, bench_op *op) {
    memset(op, 0, sizeof *op);
    snprintf(op->name, sizeof op->name, "%s", name);
    const char *colon = strchr(name, ':');
    size_t len = colon ? (size_t)(colon - name) : strlen(name), suffix = strlen("_backward");
    char head[NAME_LEN];
    snprintf(head, sizeof head, "%.*s", (int)len, name);
    if (clact_op_from_name(head, &op->op) == CLACT_OK) {
        op->kind = BENCH_ACTIVATION;
        return parse_act_params(name, op->op, colon ? colon + 1 : NULL, op);
    }
    int backward = len > suffix && !strcmp(head + len - suffix, "_backward");
    char base[NAME_LEN];
    snprintf(base, sizeof base, "%.*s", (int)(backward ? len - suffix : len), head);
    if (backward && strncmp(base, "dense_", 6)) {
        op->kind = BENCH_BACKWARD;
        if (clact_op_from_name(base, &op->op) != CLACT_OK)
            return bench_error(EXIT_USAGE, "unknown op '%s' in '%s'", base, name);
        return parse_act_params(name, op->op, colon ? colon + 1 : NULL, op);
    }
    if (colon)
        return bench_error(EXIT_USAGE,
                           "'%s': only an activation or its backward takes parameters "
                           "(OP:NAME=VALUE)",
                           name);
    if (!strncmp(base, "dense_", 6)) {
        op->kind = backward ? BENCH_DENSE_BACKWARD : BENCH_DENSE;
        return parse_dense(base + 6, op);
    }
    const char *sep = strrchr(name, '_');
    char kind[NAME_LEN] = "";
    if (sep)
        snprintf(kind, sizeof kind, "%.*s", (int)(sep - name), name);
    if (!sep || clact_softmax_kind_from_name(kind, &op->sm) != CLACT_OK) {
        if (clact_softmax_kind_from_name(name, &op->sm) == CLACT_OK)
            return bench_error(EXIT_USAGE, "'%s' needs a row length: %s_N", name, name);
        return bench_error(EXIT_USAGE, "unknown op '%s'", name);
    }
    char *end;
    errno = 0;
    unsigned long long rowlen = strtoull(sep + 1, &end, 10);
    /* strtoull would take a sign or spaces; a row length is digits only. */
    if (!isdigit((unsigned char)sep[1]) || *end || errno == ERANGE || rowlen < 1 ||
        rowlen > SIZE_MAX)
        return bench_error(EXIT_USAGE, "'%s': the row length after '_' must be a positive integer",
                           name);
    op->kind = BENCH_SOFTMAX;
    op->rowlen = (size_t)rowlen;
    return EXIT_OK;
}

/* The default list's parameters for an op PyTorch gives no defaults (threshold: the example of
 * nn.Threshold's documentation, which maps x <= 0.1 to 20), and its extra rows: rrelu in
 * training mode after rrelu (evaluation mode, F.rrelu's default). NULL: the op's defaults. */
static const struct {
    clact_op op;
    const char *params, *extra;
} default_params[] = {{CLACT_THRESHOLD, "threshold=0.1:value=20", NULL},
                      {CLACT_RRELU, NULL, "training=1"}};

/* Appends OP (with suffix, "" or "_backward") as the default list runs it: with its default
 * parameters, then any extra row. */
static int default_op(bench_args *a, clact_op op, const char *suffix) {
    const char *params = NULL, *extra = NULL;
    for (size_t i = 0; i < sizeof default_params / sizeof *default_params; ++i)
        if (default_params[i].op == op)
            params = default_params[i].params, extra = default_params[i].extra;
    char name[NAME_LEN];
    snprintf(name, sizeof name, "%s%s%s%s", clact_op_name(op), suffix, params ? ":" : "",
             params ? params : "");
    int code = parse_op(name, &a->ops[a->nops++]);
    if (code == EXIT_OK && extra) {
        snprintf(name, sizeof name, "%s%s:%s", clact_op_name(op), suffix, extra);
        code = parse_op(name, &a->ops[a->nops++]);
    }
    return code;
}

/* Every activation in the library's order (default_params: threshold's parameters, rrelu's
 * training row), then every activation's backward, softmax over a few row lengths, and the MLP
 * layers of `clact train` (784 -> 256 with ReLU, 256 -> 10) at its batch of 128, forward and
 * backward. glu halves rows of GLU_ROW elements (see run_op). */
static int default_ops(bench_args *a) {
    char name[NAME_LEN];
    int code = EXIT_OK;
    a->nops = 0;
    for (int op = 0; op < CLACT_OP_COUNT && code == EXIT_OK; ++op)
        code = default_op(a, (clact_op)op, "");
    for (int op = 0; op < CLACT_OP_COUNT && code == EXIT_OK; ++op)
        code = default_op(a, (clact_op)op, "_backward");
    for (size_t i = 0; i < sizeof default_rows / sizeof *default_rows && code == EXIT_OK; ++i) {
        snprintf(name, sizeof name, "%s_%zu", clact_softmax_kind_name(CLACT_SOFTMAX),
                 default_rows[i]);
        code = parse_op(name, &a->ops[a->nops++]);
    }
    for (size_t i = 0; i < sizeof default_dense / sizeof *default_dense && code == EXIT_OK; ++i)
        code = parse_op(default_dense[i], &a->ops[a->nops++]);
    return code;
}

static int parse_ops(const char *arg, bench_args *a) {
    if (!arg)
        return default_ops(a);
    char items[MAX_OPS][NAME_LEN];
    int n = parse_list("--ops", arg, items, MAX_OPS);
    if (n < 0)
        return EXIT_USAGE;
    for (a->nops = 0; a->nops < n; ++a->nops)
        if (parse_op(items[a->nops], &a->ops[a->nops]) != EXIT_OK)
            return EXIT_USAGE;
    return EXIT_OK;
}

static int parse_sizes(const char *arg, bench_args *a) {
    char items[MAX_SIZES][NAME_LEN];
    int n = parse_list("--sizes", arg, items, MAX_SIZES);
    if (n < 0)
        return EXIT_USAGE;
    for (a->nsizes = 0; a->nsizes < n; ++a->nsizes) {
        const char *item = items[a->nsizes];
        char *end;
        double v = strtod(item, &end);
        if (*end == 'M')
            v *= 1048576, ++end;
        else if (*end == 'K')
            v *= 1024, ++end;
        /* Written so that NaN fails too. */
        if (*end || !(v >= 1 && v <= 1e10))
            return bench_error(EXIT_USAGE, "bad size '%s'", item);
        a->sizes[a->nsizes] = (size_t)v;
    }
    return EXIT_OK;
}

static int parse_dtypes(const char *arg, bench_args *a) {
    char items[MAX_DTYPES][NAME_LEN];
    int n = parse_list("--dtype", arg, items, MAX_DTYPES);
    if (n < 0)
        return EXIT_USAGE;
    /* At least a float per element: the yardstick copies n floats, and the inputs start as such. */
    a->max_esize = sizeof(float);
    for (a->ndtypes = 0; a->ndtypes < n; ++a->ndtypes) {
        clact_dtype *dtype = &a->dtypes[a->ndtypes];
        if (clact_dtype_from_name(items[a->ndtypes], dtype) != CLACT_OK) {
            char names[128];
            clact_cli_dtype_names(names, sizeof names, ", ", " or ");
            return bench_error(EXIT_USAGE, "--dtype must be %s, not '%s'", names,
                               items[a->ndtypes]);
        }
        if (clact_dtype_size(*dtype) > a->max_esize)
            a->max_esize = clact_dtype_size(*dtype);
    }
    return EXIT_OK;
}

static int parse_args(int argc, char **argv, bench_args *a) {
    const char *ops_arg = NULL, *sizes_arg = NULL, *format = "table", *dtypes_arg = "f32";
    memset(a, 0, sizeof *a);
    for (int i = 0; i < argc; ++i) {
        const char *s = argv[i];
        const char **slot = !strcmp(s, "--ops")      ? &ops_arg
                            : !strcmp(s, "--sizes")  ? &sizes_arg
                            : !strcmp(s, "--device") ? &a->device
                            : !strcmp(s, "--format") ? &format
                            : !strcmp(s, "--dtype")  ? &dtypes_arg
                                                     : NULL;
        if (!strcmp(s, "--quick"))
            a->quick = 1;
        else if (slot && i + 1 < argc)
            *slot = argv[++i];
        else
            return bench_error(EXIT_USAGE, "unknown or incomplete argument '%s'", s);
    }
    if (!strcmp(format, "table"))
        a->format = FORMAT_TABLE;
    else if (!strcmp(format, "csv"))
        a->format = FORMAT_CSV;
    else if (!strcmp(format, "json"))
        a->format = FORMAT_JSON;
    else
        return bench_error(EXIT_USAGE, "--format must be table, csv or json, not '%s'", format);
    a->target_s = a->quick ? 0.15 : 0.5;
    int code = parse_dtypes(dtypes_arg, a);
    if (code == EXIT_OK)
        code = parse_sizes(sizes_arg ? sizes_arg : a->quick ? quick_sizes : default_sizes, a);
    if (code == EXIT_OK)
        code = parse_ops(ops_arg, a);
    return code;
}

/* What the bench makes once: the library's context, the copy program and its kernels, and the
 * device's properties. device_close releases whatever of it was made. */
typedef struct bench_device {
    clact_context *ctx;
    cl_program prog;
    cl_kernel copy, copy16;
    char name[256];
    cl_uint units;
    cl_ulong cache;
    cl_device_type type;
} bench_device;

static void device_close(bench_device *d) {
    if (d->copy)
        clReleaseKernel(d->copy);
    if (d->copy16)
        clReleaseKernel(d->copy16);
    if (d->prog)
        clReleaseProgram(d->prog);
    clact_context_destroy(d->ctx);
}

/* The compiler's log, on the error's one line (newlines become spaces, and it is cut short). */
static int copy_build_error(const bench_device *d, cl_device_id dev, cl_int err) {
    size_t size = 0;
    clGetProgramBuildInfo(d->prog, dev, CL_PROGRAM_BUILD_LOG, 0, NULL, &size);
    char *log = size ? calloc(1, size) : NULL;
    if (log &&
        clGetProgramBuildInfo(d->prog, dev, CL_PROGRAM_BUILD_LOG, size, log, NULL) != CL_SUCCESS)
        log[0] = '\0';
    size_t len = log ? strlen(log) : 0;
    for (size_t i = 0; i < len; ++i)
        log[i] = log[i] == '\n' || log[i] == '\r' || log[i] == '\t' ? ' ' : log[i];
    while (len && log[len - 1] == ' ')
        log[--len] = '\0';
    bench_error(EXIT_RUNTIME, "clBuildProgram (the copy kernel) failed: %s (%d)%s%.300s",
                clact_cl_error_name(err), err, log && log[0] ? ": " : "", log ? log : "");
    free(log);
    return EXIT_RUNTIME;
}

static int build_copy_program(bench_device *d) {
    cl_device_id dev = clact_context_device(d->ctx);
    cl_int err;
    d->prog = clCreateProgramWithSource(clact_context_cl_context(d->ctx), 1, &copy_src, NULL, &err);
    if (!d->prog)
        return bench_error(EXIT_RUNTIME,
                           "clCreateProgramWithSource (the copy kernel) failed: %s (%d)",
                           clact_cl_error_name(err), err);
    err = clBuildProgram(d->prog, 1, &dev, "-cl-std=CL1.2 -w", NULL, NULL);
    if (err != CL_SUCCESS)
        return copy_build_error(d, dev, err);
    d->copy = clCreateKernel(d->prog, "copy", &err);
    if (!d->copy)
        return bench_error(EXIT_RUNTIME, "clCreateKernel (copy) failed: %s (%d)",
                           clact_cl_error_name(err), err);
    d->copy16 = clCreateKernel(d->prog, "copy16", &err);
    if (!d->copy16)
        return bench_error(EXIT_RUNTIME, "clCreateKernel (copy16) failed: %s (%d)",
                           clact_cl_error_name(err), err);
    return EXIT_OK;
}

static int device_open(bench_device *d, const char *device) {
    memset(d, 0, sizeof *d);
    d->units = 1;
    if (clact_context_create(&d->ctx, device) != CLACT_OK) {
        fprintf(stderr, "clact: %s\n", clact_context_last_error(NULL));
        return device ? EXIT_USAGE : EXIT_RUNTIME;
    }
    cl_device_id dev = clact_context_device(d->ctx);
    clGetDeviceInfo(dev, CL_DEVICE_NAME, sizeof d->name - 1, d->name, NULL);
    clGetDeviceInfo(dev, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof d->units, &d->units, NULL);
    clGetDeviceInfo(dev, CL_DEVICE_GLOBAL_MEM_CACHE_SIZE, sizeof d->cache, &d->cache, NULL);
    clGetDeviceInfo(dev, CL_DEVICE_TYPE, sizeof d->type, &d->type, NULL);
    return build_copy_program(d);
}

/* One size's buffers: sets pairs of n elements of the widest dtype asked for, and the values every
 * input starts from, as floats. buffers_release frees whatever of it was made. */
typedef struct size_buffers {
    size_t n;
    int sets;
    cl_mem in[MAX_SETS], out[MAX_SETS];
    float *init;
    clact_dtype loaded; /* the dtype the inputs hold now */
} size_buffers;

static void buffers_release(size_buffers *b) {
    for (int k = 0; k < b->sets; ++k) {
        if (b->in[k])
            clReleaseMemObject(b->in[k]);
        if (b->out[k])
            clReleaseMemObject(b->out[k]);
    }
    free(b->init);
}

static int buffers_create(size_buffers *b, const bench_device *d, size_t n, size_t esize) {
    memset(b, 0, sizeof *b);
    b->n = n;
    b->loaded = CLACT_F32;
    size_t bytes = n * 4;
    /* Enough buffer pairs that the working set exceeds twice the last-level cache. */
    b->sets = 1;
    while ((size_t)b->sets * 2 * bytes < 2 * (size_t)(d->cache ? d->cache : 32u << 20) &&
           b->sets < MAX_SETS)
        ++b->sets;
    b->init = calloc(n ? n : 1, esize);
    int ok = b->init != NULL;
    for (size_t i = 0; ok && i < n; ++i)
        b->init[i] = (float)((double)(i * 2654435761u % 20000) / 1000.0 - 10.0);
    cl_context cl = clact_context_cl_context(d->ctx);
    cl_int err;
    for (int k = 0; ok && k < b->sets; ++k) {
        b->in[k] =
            clCreateBuffer(cl, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, n * esize, b->init, &err);
        b->out[k] = clCreateBuffer(cl, CL_MEM_READ_WRITE, n * esize, NULL, &err);
        ok = b->in[k] && b->out[k];
    }
    if (!ok)
        return bench_error(EXIT_RUNTIME, "cannot allocate %d x 2 buffers of %zu bytes", b->sets,
                           n * esize);
    return EXIT_OK;
}

/* The same values, stored in dtype, at the start of every input buffer. Written again whenever
 * the dtype changes: f32 after f16 would otherwise read f16 bytes as floats. */
static int load_inputs(const bench_device *d, size_buffers *b, clact_dtype dtype) {
    if (dtype == b->loaded)
        return EXIT_OK;
    void *conv = dtype == CLACT_F32 ? b->init : clact_cli_convert(b->init, CLACT_F32, dtype, b->n);
    if (!conv)
        return bench_error(EXIT_RUNTIME, "out of memory converting the input to %s",
                           clact_dtype_name(dtype));
    cl_int err = CL_SUCCESS;
    for (int k = 0; err == CL_SUCCESS && k < b->sets; ++k)
        err = clEnqueueWriteBuffer(clact_context_queue(d->ctx), b->in[k], CL_TRUE, 0,
                                   b->n * clact_dtype_size(dtype), conv, 0, NULL, NULL);
    if (conv != b->init)
        free(conv);
    if (err != CL_SUCCESS)
        return bench_error(EXIT_RUNTIME, "clEnqueueWriteBuffer failed: %s (%d)",
                           clact_cl_error_name(err), err);
    b->loaded = dtype;
    return EXIT_OK;
}

/* The copy yardstick, GB/s counting bytes read plus written: clEnqueueCopyBuffer, the copy
 * kernel, and on CPU devices a host memcpy on every core; best is the fastest of them. copy16 is
 * the 16-bit copy kernel over n elements (0 when no 16-bit dtype is asked for); the 16-bit
 * dtypes' "of copy" takes it into the best too. */
typedef struct yardstick {
    double copy_buf, copy_ker, host, best, copy16, best16;
} yardstick;

static yardstick measure_yardstick(const bench_device *d, size_buffers *b, double target_s,
                                   int want16) {
    size_t bytes = b->n * 4;
    op_state st = {.ctx = d->ctx,
                   .in = b->in,
                   .out = b->out,
                   .n = b->n,
                   .rowlen = 1,
                   .kind = BENCH_COPY_BUFFER,
                   .dtype = CLACT_F32,
                   .copy = d->copy,
                   .copy16 = d->copy16};
    timing tc = time_it(enqueue_op, &st, b->sets, target_s, 1000);
    st.kind = BENCH_COPY_KERNEL;
    timing tk = time_it(enqueue_op, &st, b->sets, target_s, 1000);
    yardstick y;
    y.copy_buf = 2.0 * (double)bytes / (tc.median_ms * 1e-3) * 1e-9;
    y.copy_ker = 2.0 * (double)bytes / (tk.median_ms * 1e-3) * 1e-9;
    y.host = (d->type & CL_DEVICE_TYPE_CPU) ? host_copy_gbs(bytes, d->units) : 0;
    y.best = y.copy_buf > y.copy_ker ? y.copy_buf : y.copy_ker;
    y.best = y.host > y.best ? y.host : y.best;
    y.copy16 = 0;
    if (want16) {
        st.kind = BENCH_COPY_KERNEL16;
        timing t16 = time_it(enqueue_op, &st, b->sets, target_s, 1000);
        y.copy16 = 2.0 * (double)(b->n * 2) / (t16.median_ms * 1e-3) * 1e-9;
    }
    y.best16 = y.copy16 > y.best ? y.copy16 : y.best;
    return y;
}

/* One result: an op in a dtype over n elements, against the yardstick and the copy kernel timed
 * alternately with it. */
typedef struct result_row {
    const char *op;
    clact_dtype dtype;
    size_t n;
    timing t;
    double gbs, ges, yard, copy_gbs;
    double gflops; /* dense layers: GFLOP/s (their rows have no bandwidth figures) */
} result_row;

typedef struct printer {
    bench_format format;
    int first;       /* no row printed yet: JSON puts no comma before it */
    int first_dense; /* no dense row printed yet: the table prints its header first */
    int width;       /* the table's op column: the longest name with its dtype, at least 20 */
} printer;

/* The op column's width for these ops and dtypes (a non-f32 dtype follows the name). */
static int op_width(const bench_args *a) {
    int width = 20, dtype = 0;
    for (int i = 0; i < a->ndtypes; ++i)
        if (a->dtypes[i] != CLACT_F32 && (int)strlen(clact_dtype_name(a->dtypes[i])) + 1 > dtype)
            dtype = (int)strlen(clact_dtype_name(a->dtypes[i])) + 1;
    for (int i = 0; i < a->nops; ++i)
        if (a->ops[i].kind != BENCH_DENSE && a->ops[i].kind != BENCH_DENSE_BACKWARD &&
            (int)strlen(a->ops[i].name) + dtype > width)
            width = (int)strlen(a->ops[i].name) + dtype;
    return width;
}

/* "tuned" when the f32 GEMM runs the parameters `clact tune` saved for the device, else "own"
 * (CLBlast's). */
static const char *gemm_parameters(const bench_device *d) {
    clact_cache_stats st;
    return clact_context_cache_stats(d->ctx, &st) == CLACT_OK && (st.gemm_tuned >> CLACT_F32) & 1
               ? "tuned"
               : "own";
}

static void print_header(const printer *p, const bench_device *d, overhead ov) {
    if (p->format == FORMAT_CSV)
        printf("op,dtype,elements,median_ms,min_ms,reps,GB_s,Gelem_s,fraction_of_copy,"
               "fraction_of_interleaved_copy,GFLOP_s\n");
    else if (p->format == FORMAT_JSON)
        printf("{\"device\": \"%s\", \"first_op_ms\": %.3f, \"second_op_ms\": %.3f, "
               "\"op_enqueue_us\": %.3f, \"empty_enqueue_us\": %.3f, \"op_host_us\": %.3f, "
               "\"empty_host_us\": %.3f, \"clblast_gemm\": \"%s\", \"results\": [",
               d->name, ov.first_ms, ov.second_ms, ov.op_us, ov.empty_us, ov.op_host_us,
               ov.empty_host_us, gemm_parameters(d));
    else
        printf("device: %s (%u compute units); CLBlast GEMM parameters: %s\n"
               "fresh context: first op %.1f ms (program build and first launch), second %.3f ms\n"
               "host cost per op, 1K-element relu: %.2f us per enqueue, an empty kernel %.2f us "
               "(overhead %.2f us); in the enqueue calls alone %.2f against %.2f us (%.2f us)\n",
               d->name, d->units,
               !strcmp(gemm_parameters(d), "tuned") ? "tuned by clact tune" : "CLBlast's own",
               ov.first_ms, ov.second_ms, ov.op_us, ov.empty_us, ov.op_us - ov.empty_us,
               ov.op_host_us, ov.empty_host_us, ov.op_host_us - ov.empty_host_us);
}

static void print_size_header(const printer *p, const size_buffers *b, const yardstick *y) {
    size_t bytes = b->n * 4;
    char copy16[64] = "";
    if (y->copy16 > 0)
        snprintf(copy16, sizeof copy16, "; 16-bit copy kernel %.1f", y->copy16);
    if (p->format == FORMAT_TABLE)
        printf("\n%zu elements (%zu MB per buffer, %d buffer pairs rotated): copy yardstick "
               "%.1f GB/s (clEnqueueCopyBuffer %.1f, copy kernel %.1f, host memcpy %.1f%s)\n"
               "%-*s %10s %10s %6s %9s %9s %8s %9s\n",
               b->n, bytes >> 20, b->sets, y->best, y->copy_buf, y->copy_ker, y->host, copy16,
               p->width, "op", "median ms", "min ms", "reps", "GB/s", "Gelem/s", "of copy",
               "interl.");
}

/* A dense layer's row: time and GFLOP/s (elements: batch x out_features). */
static void print_dense_row(printer *p, const result_row *r) {
    const char *dtype = clact_dtype_name(r->dtype);
    if (p->format == FORMAT_TABLE) {
        if (p->first_dense)
            printf("\ndense layers (CLBlast GEMMs + clact's passes)\n%-40s %6s %10s %10s %6s "
                   "%9s\n",
                   "op", "dtype", "median ms", "min ms", "reps", "GFLOP/s");
        printf("%-40s %6s %10.3f %10.3f %6d %9.2f\n", r->op, dtype, r->t.median_ms, r->t.min_ms,
               r->t.reps, r->gflops);
    } else if (p->format == FORMAT_CSV) {
        printf("%s,%s,%zu,%.6f,%.6f,%d,,,,,%.3f\n", r->op, dtype, r->n, r->t.median_ms, r->t.min_ms,
               r->t.reps, r->gflops);
    } else {
        printf("%s\n  {\"op\": \"%s\", \"dtype\": \"%s\", \"elements\": %zu, \"median_ms\": "
               "%.6f, \"min_ms\": %.6f, \"reps\": %d, \"GFLOP_s\": %.3f}",
               p->first ? "" : ",", r->op, dtype, r->n, r->t.median_ms, r->t.min_ms, r->t.reps,
               r->gflops);
    }
    p->first = p->first_dense = 0;
    fflush(stdout);
}

static void print_row(printer *p, const result_row *r) {
    const char *dtype = clact_dtype_name(r->dtype);
    if (p->format == FORMAT_TABLE) {
        char label[NAME_LEN + 16];
        int f32 = r->dtype == CLACT_F32;
        snprintf(label, sizeof label, "%s%s%s", r->op, f32 ? "" : " ", f32 ? "" : dtype);
        printf("%-*s %10.3f %10.3f %6d %9.1f %9.2f %7.0f%% %8.0f%%\n", p->width, label,
               r->t.median_ms, r->t.min_ms, r->t.reps, r->gbs, r->ges, 100.0 * r->gbs / r->yard,
               100.0 * r->gbs / r->copy_gbs);
    } else if (p->format == FORMAT_CSV) {
        printf("%s,%s,%zu,%.6f,%.6f,%d,%.3f,%.4f,%.4f,%.4f,\n", r->op, dtype, r->n, r->t.median_ms,
               r->t.min_ms, r->t.reps, r->gbs, r->ges, r->gbs / r->yard, r->gbs / r->copy_gbs);
    } else {
        printf("%s\n  {\"op\": \"%s\", \"dtype\": \"%s\", \"elements\": %zu, \"median_ms\": "
               "%.6f, \"min_ms\": %.6f, \"reps\": %d, \"GB_s\": %.3f, \"Gelem_s\": %.4f, "
               "\"copy_GB_s\": %.3f, \"fraction_of_copy\": %.4f, "
               "\"interleaved_copy_GB_s\": %.3f, \"fraction_of_interleaved_copy\": %.4f}",
               p->first ? "" : ",", r->op, dtype, r->n, r->t.median_ms, r->t.min_ms, r->t.reps,
               r->gbs, r->ges, r->yard, r->gbs / r->yard, r->copy_gbs, r->gbs / r->copy_gbs);
    }
    p->first = 0;
    fflush(stdout);
}

/* Times one op in one dtype alternately with the copy kernel over all n floats, and prints its
 * row. An op that cannot run here (rows longer than the size, a dtype the device lacks) is
 * skipped with a line on stderr, and the others still run. glu (clact_glu, not elementwise)
 * halves rows of GLU_ROW elements (fewer when n is smaller): n elements in, n / 2 out; its
 * backward reads x and a dy of n / 2 and writes dx. */
#define GLU_ROW 1024
static void run_op(const bench_device *d, size_buffers *b, const bench_op *op, clact_dtype dtype,
                   double target_s, double yard, printer *p) {
    size_t n = b->n;
    int softmax = op->kind == BENCH_SOFTMAX;
    int glu = (op->kind == BENCH_ACTIVATION || op->kind == BENCH_BACKWARD) && op->op == CLACT_GLU;
    size_t rowlen = softmax ? op->rowlen : glu ? (n < GLU_ROW ? n / 2 * 2 : GLU_ROW) : 1;
    if ((softmax && op->rowlen > n) || (glu && rowlen < 2)) {
        fprintf(stderr, "clact: bench: %s skipped at %zu elements (fewer than a row)\n", op->name,
                n);
        return;
    }
    size_t n_used = n / rowlen * rowlen;
    op_state st = {.ctx = d->ctx,
                   .in = b->in,
                   .out = b->out,
                   .sets = b->sets,
                   .n = n_used,
                   .rowlen = rowlen,
                   .kind = op->kind,
                   .dtype = dtype,
                   .act = op->act,
                   .sm = op->sm,
                   .copy = d->copy,
                   .copy16 = d->copy16};
    /* The copy kernel of the op's element size: 16-bit dtypes against the 16-bit copy. */
    int narrow = clact_dtype_size(dtype) == 2;
    op_state cs = st;
    cs.n = n;
    cs.kind = narrow ? BENCH_COPY_KERNEL16 : BENCH_COPY_KERNEL;
    void *pair[2] = {&st, &cs};
    timing both[2];
    time_alternating(enqueue_op, pair, 2, b->sets, target_s, 1000, both);
    if (!both[0].reps) {
        fprintf(stderr, "clact: bench: %s %s skipped: %s\n", op->name, clact_dtype_name(dtype),
                clact_context_last_error(d->ctx));
        return;
    }
    /* Bytes read plus written per element: x and y, or for the backward x, dy and dx; glu's y
     * and dy are half as long. */
    double streams = op->kind == BENCH_BACKWARD ? (glu ? 2.5 : 3.0) : (glu ? 1.5 : 2.0);
    double esize = (double)clact_dtype_size(dtype), seconds = both[0].median_ms * 1e-3;
    double gbs = streams * esize * (double)n_used / seconds * 1e-9;
    result_row r = {.op = op->name,
                    .dtype = dtype,
                    .n = n_used,
                    .t = both[0],
                    .gbs = gbs,
                    .ges = (double)n_used / seconds * 1e-9,
                    .yard = yard,
                    .copy_gbs =
                        2.0 * (double)(n * (narrow ? 2 : 4)) / (both[1].median_ms * 1e-3) * 1e-9};
    print_row(p, &r);
}

/* One size: its buffers, the copy yardstick, then every dtype and op. */
static int run_size(const bench_args *a, const bench_device *d, size_t n, printer *p) {
    size_buffers b;
    int code = buffers_create(&b, d, n, a->max_esize);
    if (code == EXIT_OK) {
        int want16 = 0;
        for (int di = 0; di < a->ndtypes; ++di)
            want16 |= clact_dtype_size(a->dtypes[di]) == 2;
        yardstick y = measure_yardstick(d, &b, a->target_s, want16);
        print_size_header(p, &b, &y);
        for (int di = 0; di < a->ndtypes && code == EXIT_OK; ++di) {
            code = load_inputs(d, &b, a->dtypes[di]);
            for (int oi = 0; oi < a->nops && code == EXIT_OK; ++oi)
                if (a->ops[oi].kind != BENCH_DENSE && a->ops[oi].kind != BENCH_DENSE_BACKWARD)
                    run_op(d, &b, &a->ops[oi], a->dtypes[di], a->target_s,
                           clact_dtype_size(a->dtypes[di]) == 2 ? y.best16 : y.best, p);
        }
    }
    buffers_release(&b);
    return code;
}

static void dense_release(dense_buffers *b) {
    cl_mem all[] = {b->x, b->w, b->b, b->z, b->y, b->dy, b->dx, b->dw, b->db};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; ++i)
        if (all[i])
            clReleaseMemObject(all[i]);
}

/* A dense layer's buffers in dtype, inputs filled with values of nn.Linear's scale. */
static int dense_create(dense_buffers *b, const bench_device *d, const bench_op *op,
                        clact_dtype dtype) {
    memset(b, 0, sizeof *b);
    b->batch = op->batch, b->in = op->in, b->out = op->out;
    size_t es = clact_dtype_size(dtype),
           sizes[9] = {b->batch * b->in,  b->out * b->in,    b->out,
                       b->batch * b->out, b->batch * b->out, b->batch * b->out,
                       b->batch * b->in,  b->out * b->in,    b->out};
    cl_mem *all[9] = {&b->x, &b->w, &b->b, &b->z, &b->y, &b->dy, &b->dx, &b->dw, &b->db};
    size_t most = 0;
    for (int i = 0; i < 9; ++i)
        most = sizes[i] > most ? sizes[i] : most;
    float *init = malloc(most * sizeof *init);
    void *conv = NULL;
    if (init) {
        for (size_t i = 0; i < most; ++i)
            init[i] =
                (float)((double)(i * 2654435761u % 20000) / 10000.0 - 1.0) / sqrtf((float)b->in);
        conv = dtype == CLACT_F32 ? init : clact_cli_convert(init, CLACT_F32, dtype, most);
    }
    int ok = conv != NULL;
    cl_int err;
    for (int i = 0; ok && i < 9; ++i) {
        *all[i] =
            clCreateBuffer(clact_context_cl_context(d->ctx),
                           CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, sizes[i] * es, conv, &err);
        ok = *all[i] != NULL;
    }
    if (conv != init)
        free(conv);
    free(init);
    if (!ok) {
        dense_release(b);
        return bench_error(EXIT_RUNTIME, "cannot allocate the buffers of %s", op->name);
    }
    return EXIT_OK;
}

/* Times a dense layer (forward, or backward: dx, dW and db) in dtype and prints its row. The
 * forward does 2 B I O flops, the backward 4 B I O (its two GEMMs). */
static int run_dense(const bench_device *d, const bench_op *op, clact_dtype dtype, double target_s,
                     printer *p) {
    dense_buffers b;
    int code = dense_create(&b, d, op, dtype);
    if (code != EXIT_OK)
        return code;
    op_state st = {.ctx = d->ctx,
                   .sets = 1,
                   .dense = &b,
                   .has_act = op->has_act,
                   .kind = op->kind,
                   .dtype = dtype,
                   .act = clact_activation_default(op->op)};
    timing t = time_it(enqueue_op, &st, 1, target_s, 1000);
    if (!t.reps) {
        fprintf(stderr, "clact: bench: %s %s skipped: %s\n", op->name, clact_dtype_name(dtype),
                clact_context_last_error(d->ctx));
    } else {
        double flops = (op->kind == BENCH_DENSE ? 2.0 : 4.0) * (double)op->batch * (double)op->in *
                       (double)op->out;
        result_row r = {.op = op->name,
                        .dtype = dtype,
                        .n = op->batch * op->out,
                        .t = t,
                        .gflops = flops / (t.median_ms * 1e-3) * 1e-9};
        print_dense_row(p, &r);
    }
    dense_release(&b);
    return EXIT_OK;
}

int clact_bench_main(int argc, char **argv) {
    /* Large: the op list has room for every activation of the library. */
    static bench_args args;
    int code = parse_args(argc, argv, &args);
    if (code != EXIT_OK)
        return code;
    bench_device dev;
    code = device_open(&dev, args.device);
    if (code == EXIT_OK) {
        printer p = {args.format, 1, 1, op_width(&args)};
        print_header(&p, &dev, measure_overhead(args.device));
        for (int i = 0; i < args.nsizes && code == EXIT_OK; ++i)
            code = run_size(&args, &dev, args.sizes[i], &p);
        /* Dense layers have their own shapes: once per dtype, whatever the sizes. */
        for (int di = 0; di < args.ndtypes && code == EXIT_OK; ++di)
            for (int oi = 0; oi < args.nops && code == EXIT_OK; ++oi)
                if (args.ops[oi].kind == BENCH_DENSE || args.ops[oi].kind == BENCH_DENSE_BACKWARD)
                    code = run_dense(&dev, &args.ops[oi], args.dtypes[di], args.target_s, &p);
        if (code == EXIT_OK && p.format == FORMAT_JSON)
            printf("\n]}\n");
    }
    device_close(&dev);
    return code;
}

void clact_bench_help(FILE *out) {
    char kinds[256] = "", rows[256] = "";
    size_t used = 0;
    for (int k = 0; k < CLACT_SOFTMAX_KIND_COUNT && used < sizeof kinds; ++k)
        used += (size_t)snprintf(kinds + used, sizeof kinds - used, "%s%s_N", k ? ", " : "",
                                 clact_softmax_kind_name((clact_softmax_kind)k));
    used = 0;
    for (size_t i = 0; i < sizeof default_rows / sizeof *default_rows && used < sizeof rows; ++i)
        used += (size_t)snprintf(rows + used, sizeof rows - used, "%s%s_%zu", i ? ", " : "",
                                 clact_softmax_kind_name(CLACT_SOFTMAX), default_rows[i]);
    char dense[256] = "";
    used = 0;
    for (size_t i = 0; i < sizeof default_dense / sizeof *default_dense && used < sizeof dense; ++i)
        used += (size_t)snprintf(dense + used, sizeof dense - used, "%s%s", i ? ", " : "",
                                 default_dense[i]);
    fprintf(out,
            "bench: LISTs are comma-separated.\n"
            "    --ops     OP names, OP_backward (the gradient from x), either with parameters\n"
            "              as OP:NAME=VALUE[:NAME=VALUE...] (PyTorch's names, as apply takes\n"
            "              them; rrelu also training=0|1, default 0, and seed=N), KIND_N for the\n"
            "              softmax family over rows of N elements (%s), and\n"
            "              dense_ACT_BxIxO[_backward] (a dense layer: batch B, in and out\n"
            "              features, ACT an OP or linear; GFLOP/s, run once per dtype whatever\n"
            "              the sizes); glu halves rows of 1024 (n in, n/2 out);\n"
            "              default: every activation (threshold:threshold=0.1:value=20, and\n"
            "              rrelu:training=1 after rrelu), every OP_backward, then %s,\n"
            "              %s\n"
            "    --sizes   element counts, with K or M after a number; default %s\n"
            "              (--quick: %s)\n"
            "    --dtype   the dtypes above; default f32\n"
            "    --format  table (the default), csv or json; --quick: shorter timing\n",
            kinds, rows, dense, default_sizes, quick_sizes);
}
