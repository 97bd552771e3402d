/* SPDX-License-Identifier: MIT */
/* Threads: T threads, each with its own clact_context, run thousands of mixed ops (every
 * activation in f32, f16 and bf16, softmax and log_softmax, cross-entropy with its gradient)
 * from a seeded sequence of its own, and hash every output. First the sequences run one after
 * another in one thread; then all at once, (a) each thread over its own in-order queue on one
 * shared cl_context, (b) every thread over one shared out-of-order queue, ordering its reads
 * through the events its ops return. Every hash must match the single-threaded run: results are
 * bit-identical whatever the interleaving. Also run under ThreadSanitizer (tests/memcheck.sh).
 * Usage: thread_stress [threads] [ops per thread]; prints the figures. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clact/clact.h"

enum { LEN = 4096, ROWS = 16, COLS = 256, RING = 8 };

typedef struct worker {
    int index, ops;
    cl_context cl;
    cl_command_queue queue; /* borrowed by the worker's clact context */
    uint64_t *hashes;       /* one per op */
    char error[512];
    double seconds;
} worker;

static uint64_t fnv(uint64_t h, const unsigned char *p, size_t n) {
    for (size_t i = 0; i < n; ++i)
        h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

static uint64_t next(uint64_t *s) {
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return *s >> 33;
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

#define FAIL(...)                                                                                  \
    do {                                                                                           \
        snprintf(w->error, sizeof w->error, __VA_ARGS__);                                          \
        goto out;                                                                                  \
    } while (0)

static void *run(void *arg) {
    worker *w = arg;
    double t0 = now();
    clact_context *ctx = NULL;
    cl_mem x = NULL, tgt = NULL, loss = NULL, out[RING] = {0};
    cl_event ev[RING] = {0};
    unsigned char *host = malloc(LEN * 8);
    if (!host)
        FAIL("out of memory");
    if (clact_context_create_from_queue(&ctx, w->queue) != CLACT_OK)
        FAIL("context: %s", clact_context_last_error(NULL));
    cl_int err;
    /* Inputs: LEN floats in [-8, 8) from the worker's seed; targets for cross-entropy. */
    uint64_t seed = 1000 + (uint64_t)w->index;
    float xs[LEN];
    for (int i = 0; i < LEN; ++i)
        xs[i] = (float)(next(&seed) % 16000) / 1000.0f - 8.0f;
    int64_t ts[ROWS];
    for (int i = 0; i < ROWS; ++i)
        ts[i] = (int64_t)(next(&seed) % COLS);
    x = clCreateBuffer(w->cl, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, sizeof xs, xs, &err);
    tgt = clCreateBuffer(w->cl, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, sizeof ts, ts, &err);
    loss = clCreateBuffer(w->cl, CL_MEM_READ_WRITE, 64, NULL, &err);
    for (int r = 0; r < RING; ++r)
        out[r] = clCreateBuffer(w->cl, CL_MEM_READ_WRITE, LEN * 4, NULL, &err);
    if (!x || !tgt || !loss || !out[RING - 1])
        FAIL("clCreateBuffer: %d", err);
    const size_t shape[2] = {ROWS, COLS};
    const clact_dtype dts[3] = {CLACT_F32, CLACT_F16, CLACT_BF16};
    for (int base = 0; base < w->ops; base += RING) {
        int batch = w->ops - base < RING ? w->ops - base : RING;
        size_t bytes[RING];
        for (int r = 0; r < batch; ++r) {
            uint64_t pick = next(&seed);
            clact_status st;
            int what = (int)(pick % 14);
            bytes[r] = LEN * 4;
            if (what < 10) {
                /* Any elementwise op with its defaults (threshold has none: relu instead). */
                clact_op op = (clact_op)((pick >> 16) % CLACT_OP_COUNT);
                if (clact_op_elementwise(op) != 1 || op == CLACT_THRESHOLD)
                    op = CLACT_RELU;
                clact_activation a = clact_activation_default(op);
                clact_dtype dt = dts[(pick >> 8) % 3];
                /* f16/bf16 read the float input's bytes as 2 LEN values of their type. */
                size_t n = LEN * 4 / clact_dtype_size(dt);
                st = clact_forward(ctx, &a, dt, n, x, 0, out[r], 0, 0, NULL, &ev[r]);
            } else if (what < 13) {
                st = clact_softmax(ctx, what == 12 ? CLACT_LOG_SOFTMAX : CLACT_SOFTMAX, 0,
                                   CLACT_F32, 2, shape, -1, x, 0, out[r], 0, 0, NULL, &ev[r]);
            } else {
                clact_cross_entropy_desc d = clact_cross_entropy_default();
                d.label_smoothing = 0.1;
                st = clact_cross_entropy(ctx, &d, CLACT_F32, 2, shape, x, 0, tgt, 0, NULL, 0, loss,
                                         0, out[r], 0, 0, NULL, &ev[r]);
            }
            if (st != CLACT_OK)
                FAIL("op %d: %s", base + r, clact_context_last_error(ctx));
        }
        for (int r = 0; r < batch; ++r) {
            err =
                clEnqueueReadBuffer(w->queue, out[r], CL_TRUE, 0, bytes[r], host, 1, &ev[r], NULL);
            if (err != CL_SUCCESS)
                FAIL("clEnqueueReadBuffer: %d", err);
            clReleaseEvent(ev[r]);
            ev[r] = NULL;
            w->hashes[base + r] = fnv(14695981039346656037ull, host, bytes[r]);
        }
    }
out:
    for (int r = 0; r < RING; ++r) {
        if (ev[r])
            clReleaseEvent(ev[r]);
        if (out[r])
            clReleaseMemObject(out[r]);
    }
    if (x)
        clReleaseMemObject(x);
    if (tgt)
        clReleaseMemObject(tgt);
    if (loss)
        clReleaseMemObject(loss);
    clact_context_destroy(ctx);
    free(host);
    w->seconds = now() - t0;
    return NULL;
}

/* Run T workers, concurrently or one by one; queues: per worker, or one shared out-of-order. */
static int run_all(worker *ws, int threads, int concurrent, int shared_ooo, cl_context cl,
                   cl_device_id dev, double *seconds) {
    cl_int err;
    cl_command_queue shared = NULL;
    if (shared_ooo) {
        shared = clCreateCommandQueue(cl, dev, CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE, &err);
        if (!shared) {
            fprintf(stderr, "thread_stress: out-of-order queue: %d\n", err);
            return 0;
        }
    }
    for (int i = 0; i < threads; ++i) {
        ws[i].cl = cl;
        ws[i].queue = shared ? shared : clCreateCommandQueue(cl, dev, 0, &err);
        ws[i].error[0] = '\0';
        if (!ws[i].queue)
            return 0;
        if (shared)
            clRetainCommandQueue(shared);
    }
    double t0 = now();
    pthread_t tid[64];
    for (int i = 0; i < threads; ++i) {
        if (concurrent)
            pthread_create(&tid[i], NULL, run, &ws[i]);
        else
            run(&ws[i]);
    }
    if (concurrent)
        for (int i = 0; i < threads; ++i)
            pthread_join(tid[i], NULL);
    *seconds = now() - t0;
    int ok = 1;
    for (int i = 0; i < threads; ++i) {
        if (ws[i].error[0]) {
            fprintf(stderr, "thread_stress: worker %d: %s\n", i, ws[i].error);
            ok = 0;
        }
        clReleaseCommandQueue(ws[i].queue);
    }
    if (shared)
        clReleaseCommandQueue(shared);
    return ok;
}

int main(int argc, char **argv) {
    int threads = argc > 1 ? atoi(argv[1]) : 4, ops = argc > 2 ? atoi(argv[2]) : 1000;
    if (threads < 1 || threads > 64 || ops < 1) {
        fprintf(stderr, "usage: thread_stress [threads 1-64] [ops per thread]\n");
        return 2;
    }
    clact_context *probe;
    if (clact_context_create(&probe, NULL) != CLACT_OK) {
        fprintf(stderr, "thread_stress: %s\n", clact_context_last_error(NULL));
        return 1;
    }
    cl_device_id dev = clact_context_device(probe);
    cl_int err;
    cl_context cl = clCreateContext(NULL, 1, &dev, NULL, NULL, &err);
    clact_context_destroy(probe);
    if (!cl)
        return 1;
    worker *ref = calloc((size_t)threads, sizeof *ref), *ws = calloc((size_t)threads, sizeof *ws);
    for (int i = 0; i < threads; ++i) {
        ref[i] = (worker){.index = i, .ops = ops, .hashes = calloc((size_t)ops, 8)};
        ws[i] = (worker){.index = i, .ops = ops, .hashes = calloc((size_t)ops, 8)};
    }
    double t_serial = 0, t_own = 0, t_shared = 0;
    int ok = run_all(ref, threads, 0, 0, cl, dev, &t_serial);
    const char *mode[2] = {"own in-order queues, one cl_context", "one shared out-of-order queue"};
    double *times[2] = {&t_own, &t_shared};
    for (int m = 0; m < 2 && ok; ++m) {
        ok = run_all(ws, threads, 1, m, cl, dev, times[m]);
        long mismatches = 0;
        for (int i = 0; ok && i < threads; ++i)
            for (int k = 0; k < ops; ++k)
                mismatches += ws[i].hashes[k] != ref[i].hashes[k];
        printf("thread_stress: %d threads x %d ops, %s: %.2f s (%.0f ops/s), %ld of %ld outputs "
               "differ from the single-threaded run (%.2f s)\n",
               threads, ops, mode[m], *times[m], threads * ops / *times[m], mismatches,
               (long)threads * ops, t_serial);
        ok = ok && mismatches == 0;
    }
    for (int i = 0; i < threads; ++i)
        free(ref[i].hashes), free(ws[i].hashes);
    free(ref);
    free(ws);
    clReleaseContext(cl);
    return ok ? 0 : 1;
}
