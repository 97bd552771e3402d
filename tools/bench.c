/* SPDX-License-Identifier: MIT */
/* clact bench: throughput of every op against the device's copy bandwidth, measured in the same
 * run (shared/BENCH.md). Per op and size: a warm-up launch (drivers compile lazily), repetitions
 * calibrated to a target time, kernel time from profiling events (median and min), inputs
 * rotated over more memory than the last-level cache, GB/s counting bytes read plus written,
 * Gelem/s, and the fraction of the best copy yardstick (clEnqueueCopyBuffer, a copy kernel with
 * clact's access pattern, and on CPU devices a host memcpy on every core). The yardstick is
 * measured before the ops, and a shared machine's bandwidth drifts in between (relu, at copy
 * speed, measured 0.71-1.01 of it in one day's runs), so each op is also timed alternately with
 * the copy kernel, launch by launch, and reported as a fraction of that ("interl."). */
#define _POSIX_C_SOURCE 200809L
#include "bench.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clact/clact.h"
#include "convert.h"

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

/* One thing to time: enqueue(i) launches on buffer set i and returns an event. */
typedef cl_event (*enqueue_fn)(void *state, int set);

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
            cl_event e = fn(states[k], w % sets);
            if (!e)
                return;
            clWaitForEvents(1, &e);
            clReleaseEvent(e);
            one += w ? now_s() - t0 : 0;
        }
    int reps = one > 0 ? (int)(target_s / one) : max_reps;
    reps = reps < 3 ? 3 : reps > max_reps ? max_reps : reps;
    double *ms = malloc((size_t)count * (size_t)reps * sizeof *ms);
    if (!ms)
        return;
    for (int r = 0; r < reps; ++r)
        for (int k = 0; k < count; ++k) {
            cl_event e = fn(states[k], (r + k * (sets / 2)) % sets);
            if (!e) {
                free(ms);
                return;
            }
            clWaitForEvents(1, &e);
            ms[k * reps + r] = event_ms(e);
            clReleaseEvent(e);
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

typedef struct op_state {
    clact_context *ctx;
    cl_mem *in, *out;
    size_t n, rowlen;
    int kind; /* 0 activation, 1 softmax family, 2 copy buffer, 3 copy kernel */
    clact_dtype dtype;
    clact_activation act;
    clact_softmax_kind sm;
    cl_kernel copy;
} op_state;

static cl_event enqueue_op(void *p, int set) {
    op_state *s = p;
    cl_event e = NULL;
    cl_command_queue q = clact_context_queue(s->ctx);
    switch (s->kind) {
    case 0:
        if (clact_forward(s->ctx, &s->act, s->dtype, s->n, s->in[set], 0, s->out[set], 0, 0, NULL,
                          &e) != CLACT_OK)
            return NULL;
        break;
    case 1: {
        size_t shape[2] = {s->n / s->rowlen, s->rowlen};
        if (clact_softmax(s->ctx, s->sm, 0, s->dtype, 2, shape, 1, s->in[set], 0, s->out[set], 0, 0,
                          NULL, &e) != CLACT_OK)
            return NULL;
        break;
    }
    case 2:
        if (clEnqueueCopyBuffer(q, s->in[set], s->out[set], 0, 0, s->n * 4, 0, NULL, &e) !=
            CL_SUCCESS)
            return NULL;
        break;
    default: {
        cl_ulong n = s->n;
        clSetKernelArg(s->copy, 0, sizeof n, &n);
        clSetKernelArg(s->copy, 1, sizeof(cl_mem), &s->in[set]);
        clSetKernelArg(s->copy, 2, sizeof(cl_mem), &s->out[set]);
        size_t items = (s->n + 15) / 16, local = 256, global = (items + local - 1) / local * local;
        if (clEnqueueNDRangeKernel(q, s->copy, 1, NULL, &global, &local, 0, NULL, &e) != CL_SUCCESS)
            return NULL;
    }
    }
    return e;
}

/* Start-up and per-op host cost: a fresh context's first op (program build and first launch),
 * its second, and the wall time per enqueue of a 1K-element relu against a bare enqueue of an
 * empty kernel, over many enqueues and one finish. */
typedef struct overhead {
    double first_ms, second_ms, op_us, empty_us;
} overhead;

static overhead measure_overhead(const char *device, cl_kernel empty) {
    overhead o = {0, 0, 0, 0};
    clact_context *c;
    if (clact_context_create(&c, device) != CLACT_OK)
        return o;
    cl_int err;
    cl_mem b = clCreateBuffer(clact_context_cl_context(c), CL_MEM_READ_WRITE, 1024 * 4, NULL, &err);
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
    enum { REPS = 2000 };
    t0 = now_s();
    for (int i = 0; i < REPS; ++i)
        clact_forward(c, &relu, CLACT_F32, 1024, b, 0, b, 0, 0, NULL, NULL);
    clFinish(q);
    o.op_us = (now_s() - t0) * 1e6 / REPS;
    /* The empty kernel belongs to the bench's own context: run it on a queue of that context. */
    cl_context ec;
    cl_device_id dev;
    clGetKernelInfo(empty, CL_KERNEL_CONTEXT, sizeof ec, &ec, NULL);
    clGetCommandQueueInfo(q, CL_QUEUE_DEVICE, sizeof dev, &dev, NULL);
    cl_command_queue eq = clCreateCommandQueue(ec, dev, 0, &err);
    size_t g = 1024 / 16, l = 64;
    clEnqueueNDRangeKernel(eq, empty, 1, NULL, &g, &l, 0, NULL, NULL);
    clFinish(eq);
    t0 = now_s();
    for (int i = 0; i < REPS; ++i)
        clEnqueueNDRangeKernel(eq, empty, 1, NULL, &g, &l, 0, NULL, NULL);
    clFinish(eq);
    o.empty_us = (now_s() - t0) * 1e6 / REPS;
    clReleaseCommandQueue(eq);
    clReleaseMemObject(b);
    clact_context_destroy(c);
    return o;
}

/* The copy kernel: 16 floats per work-item, the widest access clact's kernels use. */
static const char *copy_src =
    "__kernel void copy(const ulong n, __global const float *x, __global float *y) {\n"
    "  ulong i = (ulong)get_global_id(0) * 16;\n"
    "  if (i + 16 <= n) vstore16(vload16(0, x + i), 0, y + i);\n"
    "  else for (; i < n; ++i) y[i] = x[i];\n"
    "}\n"
    "__kernel void empty(void) {}\n";

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

static int parse_list(const char *s, char items[][32], int max) {
    int n = 0;
    while (*s && n < max) {
        const char *c = strchr(s, ',');
        size_t len = c ? (size_t)(c - s) : strlen(s);
        if (len >= 32)
            len = 31;
        memcpy(items[n], s, len);
        items[n][len] = '\0';
        ++n;
        if (!c)
            break;
        s = c + 1;
    }
    return n;
}

int clact_bench_main(int argc, char **argv) {
    const char *ops_arg = NULL, *sizes_arg = NULL, *device = NULL, *format = "table",
               *dtypes_arg = "f32";
    int quick = 0;
    for (int i = 0; i < argc; ++i) {
        const char *a = argv[i];
        const char **slot = !strcmp(a, "--ops")      ? &ops_arg
                            : !strcmp(a, "--sizes")  ? &sizes_arg
                            : !strcmp(a, "--device") ? &device
                            : !strcmp(a, "--format") ? &format
                            : !strcmp(a, "--dtype")  ? &dtypes_arg
                                                     : NULL;
        if (!strcmp(a, "--quick")) {
            quick = 1;
        } else if (slot && i + 1 < argc) {
            *slot = argv[++i];
        } else {
            fprintf(stderr, "clact: bench: unknown or incomplete argument '%s'\n", a);
            return 2;
        }
    }
    if (strcmp(format, "table") && strcmp(format, "csv") && strcmp(format, "json")) {
        fprintf(stderr, "clact: bench: --format must be table, csv or json, not '%s'\n", format);
        return 2;
    }
    char ops[64][32], sizes_s[16][32], dtype_s[4][32];
    clact_dtype dtypes[4];
    size_t max_esize = 4; /* the buffers hold n elements of the widest dtype asked for */
    int ndtypes = parse_list(dtypes_arg, dtype_s, 4);
    for (int i = 0; i < ndtypes; ++i) {
        if (!strcmp(dtype_s[i], "f32") || !strcmp(dtype_s[i], "f16") ||
            !strcmp(dtype_s[i], "bf16") || !strcmp(dtype_s[i], "f64")) {
            dtypes[i] = dtype_s[i][0] == 'b'   ? CLACT_BF16
                        : dtype_s[i][1] == '3' ? CLACT_F32
                        : dtype_s[i][1] == '6' ? CLACT_F64
                                               : CLACT_F16;
            if (clact_dtype_size(dtypes[i]) > max_esize)
                max_esize = clact_dtype_size(dtypes[i]);
        } else {
            fprintf(stderr, "clact: bench: --dtype must be f32, f16, bf16 or f64, not '%s'\n",
                    dtype_s[i]);
            return 2;
        }
    }
    int nops = parse_list(ops_arg ? ops_arg
                                  : "relu,leaky_relu,elu,gelu,gelu_tanh,silu,mish,sigmoid,tanh,"
                                    "softplus,softmax_1000,softmax_4096,softmax_32768",
                          ops, 64);
    int nsizes = parse_list(sizes_arg ? sizes_arg
                            : quick   ? "4194304"
                                      : "16777216,67108864",
                            sizes_s, 16);
    size_t sizes[16];
    for (int i = 0; i < nsizes; ++i) {
        char *end;
        double v = strtod(sizes_s[i], &end);
        if (*end == 'M')
            v *= 1048576, ++end;
        else if (*end == 'K')
            v *= 1024, ++end;
        if (*end || v < 1 || v > 1e10) {
            fprintf(stderr, "clact: bench: bad size '%s'\n", sizes_s[i]);
            return 2;
        }
        sizes[i] = (size_t)v;
    }
    /* Validate every op name before touching the device. */
    for (int i = 0; i < nops; ++i) {
        clact_op op;
        if (!strncmp(ops[i], "softmax_", 8) || !strncmp(ops[i], "log_softmax_", 12)) {
            const char *len = strchr(ops[i], '_') + (ops[i][0] == 'l' ? 9 : 1);
            char *end;
            long v = strtol(len, &end, 10);
            if (end == len || *end || v < 1) {
                fprintf(stderr,
                        "clact: bench: '%s': the row length after '_' must be a positive "
                        "integer\n",
                        ops[i]);
                return 2;
            }
            continue;
        }
        if (clact_op_from_name(ops[i], &op) != CLACT_OK) {
            fprintf(stderr, "clact: bench: unknown op '%s'\n", ops[i]);
            return 2;
        }
    }
    clact_context *ctx;
    if (clact_context_create(&ctx, device) != CLACT_OK) {
        fprintf(stderr, "clact: %s\n", clact_context_last_error(NULL));
        return device ? 2 : 1;
    }
    cl_context cl = clact_context_cl_context(ctx);
    cl_device_id dev = clact_context_device(ctx);
    char name[256] = "";
    cl_uint units = 1;
    cl_ulong cache = 0;
    cl_device_type type = 0;
    clGetDeviceInfo(dev, CL_DEVICE_NAME, sizeof name - 1, name, NULL);
    clGetDeviceInfo(dev, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof units, &units, NULL);
    clGetDeviceInfo(dev, CL_DEVICE_GLOBAL_MEM_CACHE_SIZE, sizeof cache, &cache, NULL);
    clGetDeviceInfo(dev, CL_DEVICE_TYPE, sizeof type, &type, NULL);
    cl_int err;
    cl_program prog = clCreateProgramWithSource(cl, 1, &copy_src, NULL, &err);
    clBuildProgram(prog, 1, &dev, "-cl-std=CL1.2 -w", NULL, NULL);
    cl_kernel copyk = clCreateKernel(prog, "copy", &err);
    cl_kernel emptyk = clCreateKernel(prog, "empty", &err);
    overhead ov = measure_overhead(device, emptyk);
    double target = quick ? 0.15 : 0.5;
    int json_first = 1;
    if (!strcmp(format, "csv"))
        printf("op,dtype,elements,median_ms,min_ms,reps,GB_s,Gelem_s,fraction_of_copy,"
               "fraction_of_interleaved_copy\n");
    else if (!strcmp(format, "json"))
        printf("{\"device\": \"%s\", \"first_op_ms\": %.3f, \"second_op_ms\": %.3f, "
               "\"op_enqueue_us\": %.3f, \"empty_enqueue_us\": %.3f, \"results\": [",
               name, ov.first_ms, ov.second_ms, ov.op_us, ov.empty_us);
    else
        printf("device: %s (%u compute units)\n"
               "fresh context: first op %.1f ms (program build and first launch), second %.3f ms\n"
               "host cost per op, 1K-element relu: %.2f us per enqueue, an empty kernel %.2f us "
               "(overhead %.2f us)\n",
               name, units, ov.first_ms, ov.second_ms, ov.op_us, ov.empty_us,
               ov.op_us - ov.empty_us);
    for (int si = 0; si < nsizes; ++si) {
        size_t n = sizes[si], bytes = n * 4;
        /* Enough buffer pairs that the working set exceeds twice the last-level cache. */
        int sets = 1;
        while ((size_t)sets * 2 * bytes < 2 * (size_t)(cache ? cache : 32u << 20) && sets < 16)
            ++sets;
        cl_mem in[16], out[16];
        float *init = calloc(n ? n : 1, max_esize);
        for (size_t i = 0; i < n; ++i)
            init[i] = (float)((double)(i * 2654435761u % 20000) / 1000.0 - 10.0);
        int ok = init != NULL;
        for (int k = 0; k < sets; ++k) {
            in[k] = clCreateBuffer(cl, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, n * max_esize,
                                   init, &err);
            out[k] = clCreateBuffer(cl, CL_MEM_READ_WRITE, n * max_esize, NULL, &err);
            ok &= in[k] && out[k];
        }
        if (!ok) {
            free(init);
            fprintf(stderr, "clact: bench: cannot allocate %d x 2 buffers of %zu bytes\n", sets,
                    bytes);
            return 1;
        }
        op_state st = {ctx,           in,   out, n, 1, 2, CLACT_F32, {CLACT_RELU, {0, 0}},
                       CLACT_SOFTMAX, copyk};
        timing tc = time_it(enqueue_op, &st, sets, target, 1000);
        st.kind = 3;
        timing tk = time_it(enqueue_op, &st, sets, target, 1000);
        double copy_buf = 2.0 * (double)bytes / (tc.median_ms * 1e-3) * 1e-9;
        double copy_ker = 2.0 * (double)bytes / (tk.median_ms * 1e-3) * 1e-9;
        double host = (type & CL_DEVICE_TYPE_CPU) ? host_copy_gbs(bytes, units) : 0;
        double yard = copy_buf > copy_ker ? copy_buf : copy_ker;
        yard = host > yard ? host : yard;
        if (!strcmp(format, "table"))
            printf("\n%zu elements (%zu MB per buffer, %d buffer pairs rotated): copy yardstick "
                   "%.1f GB/s (clEnqueueCopyBuffer %.1f, copy kernel %.1f, host memcpy %.1f)\n"
                   "%-16s %10s %10s %6s %9s %9s %8s %9s\n",
                   n, bytes >> 20, sets, yard, copy_buf, copy_ker, host, "op", "median ms",
                   "min ms", "reps", "GB/s", "Gelem/s", "of copy", "interl.");
        for (int di = 0; di < ndtypes; ++di) {
            st.dtype = dtypes[di];
            size_t esize = clact_dtype_size(st.dtype);
            if (st.dtype != CLACT_F32) {
                /* The same values, stored in the dtype, at the start of every input buffer. */
                void *conv = clact_cli_convert(init, CLACT_F32, st.dtype, n);
                for (int k = 0; conv && k < sets; ++k)
                    clEnqueueWriteBuffer(clact_context_queue(ctx), in[k], CL_TRUE, 0, n * esize,
                                         conv, 0, NULL, NULL);
                free(conv);
            }
            for (int oi = 0; oi < nops; ++oi) {
                st.kind = 0;
                if (!strncmp(ops[oi], "softmax_", 8) || !strncmp(ops[oi], "log_softmax_", 12)) {
                    st.kind = 1;
                    st.sm = ops[oi][0] == 'l' ? CLACT_LOG_SOFTMAX : CLACT_SOFTMAX;
                    st.rowlen = (size_t)atol(strchr(ops[oi], '_') + (ops[oi][0] == 'l' ? 9 : 1));
                    if (st.rowlen > n) {
                        fprintf(stderr,
                                "clact: bench: %s skipped at %zu elements (fewer than a row)\n",
                                ops[oi], n);
                        continue;
                    }
                } else {
                    clact_op op;
                    clact_op_from_name(ops[oi], &op);
                    st.act = clact_activation_default(op);
                }
                size_t n_used = st.kind == 1 ? n / st.rowlen * st.rowlen : n;
                size_t saved = st.n;
                st.n = n_used;
                op_state cs = st; /* the copy kernel over all n floats, alternating with the op */
                cs.n = saved;
                cs.kind = 3;
                void *pair[2] = {&st, &cs};
                timing both[2];
                time_alternating(enqueue_op, pair, 2, sets, target, 1000, both);
                timing t = both[0];
                st.n = saved;
                if (!t.reps) {
                    fprintf(stderr, "clact: bench: %s %s skipped: %s\n", ops[oi],
                            clact_dtype_name(st.dtype), clact_context_last_error(ctx));
                    continue;
                }
                double gbs = 2.0 * (double)esize * (double)n_used / (t.median_ms * 1e-3) * 1e-9;
                double copy_gbs = 2.0 * (double)bytes / (both[1].median_ms * 1e-3) * 1e-9;
                double ges = (double)n_used / (t.median_ms * 1e-3) * 1e-9;
                char label[64];
                snprintf(label, sizeof label, "%.31s%s%s", ops[oi],
                         st.dtype == CLACT_F32 ? "" : " ",
                         st.dtype == CLACT_F32 ? "" : clact_dtype_name(st.dtype));
                if (!strcmp(format, "table"))
                    printf("%-16s %10.3f %10.3f %6d %9.1f %9.2f %7.0f%% %8.0f%%\n", label,
                           t.median_ms, t.min_ms, t.reps, gbs, ges, 100.0 * gbs / yard,
                           100.0 * gbs / copy_gbs);
                else if (!strcmp(format, "csv"))
                    printf("%s,%s,%zu,%.6f,%.6f,%d,%.3f,%.4f,%.4f,%.4f\n", ops[oi],
                           clact_dtype_name(st.dtype), n_used, t.median_ms, t.min_ms, t.reps, gbs,
                           ges, gbs / yard, gbs / copy_gbs);
                else
                    printf(
                        "%s\n  {\"op\": \"%s\", \"dtype\": \"%s\", \"elements\": %zu, "
                        "\"median_ms\": "
                        "%.6f, \"min_ms\": %.6f, \"reps\": %d, \"GB_s\": %.3f, \"Gelem_s\": %.4f, "
                        "\"copy_GB_s\": %.3f, \"fraction_of_copy\": %.4f, "
                        "\"interleaved_copy_GB_s\": %.3f, \"fraction_of_interleaved_copy\": %.4f}",
                        json_first ? "" : ",", ops[oi], clact_dtype_name(st.dtype), n_used,
                        t.median_ms, t.min_ms, t.reps, gbs, ges, yard, gbs / yard, copy_gbs,
                        gbs / copy_gbs);
                json_first = 0;
                fflush(stdout);
            }
        }
        free(init);
        for (int k = 0; k < sets; ++k) {
            clReleaseMemObject(in[k]);
            clReleaseMemObject(out[k]);
        }
    }
    if (!strcmp(format, "json"))
        printf("\n]}\n");
    clReleaseKernel(copyk);
    clReleaseKernel(emptyk);
    clReleaseProgram(prog);
    clact_context_destroy(ctx);
    return 0;
}
