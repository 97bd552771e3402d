/* SPDX-License-Identifier: MIT */
/* For tests/tune_test.py: make a context (with clact_context_create, or with "queue" over a queue
 * of our own, clact_context_create_from_queue), check what its cache statistics say about
 * CLBlast's GEMM parameters against the expectation given, and check that the dense layer still
 * computes correctly with them: the MLP's layers 784->256 and 256->10 (batch 128) forward, and
 * the first one's backward (dx, dW, db), against the CPU reference, every element.
 *
 * Usage: tune_driver tuned|untuned [rejected] [queue]
 *   tuned: the f32 bit of gemm_tuned must be set; untuned: it must be clear; rejected: the
 *   context must have counted a rejected tuning entry. Exit 0 when all holds, 1 otherwise.
 * Seed: CLACT_TEST_SEED, else the time; printed.
 *
 * Bounds: a sum of k products in float is within (2k + 4) u sum|terms| of the exact one (u =
 * 2^-24; the standard bound for recursive or blocked summation, whatever order CLBlast's tiles
 * sum in), the bias adding its own magnitude to the sum; nothing else is computed. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clact/clact.h"

static uint64_t rng_state;

static double uniform(double lo, double hi) {
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return lo + (hi - lo) * (double)(rng_state >> 11) * (1.0 / 9007199254740992.0);
}

/* n values in [lo, hi), exactly representable in float (the device works on floats). */
static double *rand_floats(size_t n, double lo, double hi) {
    double *a = malloc(n * sizeof *a);
    if (!a)
        exit(1);
    for (size_t i = 0; i < n; ++i)
        a[i] = (float)uniform(lo, hi);
    return a;
}

static int failures;

static cl_mem upload(clact_context *ctx, const double *v, size_t n) {
    float *f = malloc(n * sizeof *f);
    if (!f)
        exit(1);
    for (size_t i = 0; i < n; ++i)
        f[i] = (float)v[i];
    cl_int err;
    cl_mem m = clCreateBuffer(clact_context_cl_context(ctx),
                              CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, n * sizeof *f, f, &err);
    free(f);
    if (!m) {
        fprintf(stderr, "tune_driver: clCreateBuffer failed (%d)\n", err);
        exit(1);
    }
    return m;
}

/* A buffer of n floats poisoned with NaN, so that an element left unwritten fails. */
static cl_mem poisoned(clact_context *ctx, size_t n) {
    double *nan_ = malloc(n * sizeof *nan_);
    if (!nan_)
        exit(1);
    for (size_t i = 0; i < n; ++i)
        nan_[i] = NAN;
    cl_mem m = upload(ctx, nan_, n);
    free(nan_);
    return m;
}

static double *download(clact_context *ctx, cl_mem m, size_t n) {
    float *f = malloc(n * sizeof *f);
    double *d = malloc(n * sizeof *d);
    if (!f || !d)
        exit(1);
    cl_int err = clEnqueueReadBuffer(clact_context_queue(ctx), m, CL_TRUE, 0, n * sizeof *f, f, 0,
                                     NULL, NULL);
    if (err != CL_SUCCESS) {
        fprintf(stderr, "tune_driver: clEnqueueReadBuffer failed (%d)\n", err);
        exit(1);
    }
    for (size_t i = 0; i < n; ++i)
        d[i] = f[i];
    free(f);
    return d;
}

/* Compare got with ref, element i bounded by (2k + 4) u mag[i]. */
static void expect(const char *what, const double *got, const double *ref, const double *mag,
                   size_t n, size_t k) {
    const double u = ldexp(1.0, -24);
    for (size_t i = 0; i < n; ++i) {
        double bound = (2.0 * (double)k + 4) * u * mag[i] + 1e-300;
        if (!(fabs(got[i] - ref[i]) <= bound)) {
            fprintf(stderr, "tune_driver: %s[%zu] = %.9g, reference %.9g (bound %.3g)\n", what, i,
                    got[i], ref[i], bound);
            ++failures;
            return;
        }
    }
}

/* sum_t |a[i, t] b[t, j]| (+ |add[j]|) for row-major C (m x n) = A (m x k) B (k x n), with A
 * and B given by strides. */
static double *magnitudes(size_t m, size_t n, size_t k, const double *a, size_t a_i, size_t a_t,
                          const double *b, size_t b_t, size_t b_j, const double *add) {
    double *s = malloc(m * n * sizeof *s);
    if (!s)
        exit(1);
    for (size_t i = 0; i < m; ++i)
        for (size_t j = 0; j < n; ++j) {
            double v = add ? fabs(add[j]) : 0;
            for (size_t t = 0; t < k; ++t)
                v += fabs(a[i * a_i + t * a_t] * b[t * b_t + j * b_j]);
            s[i * n + j] = v;
        }
    return s;
}

/* One layer, B x I -> O, linear with bias: forward, and with `backward` dx, dW and db. */
static void layer(clact_context *ctx, size_t B, size_t I, size_t O, int backward) {
    char label[64];
    snprintf(label, sizeof label, "%zux%zu->%zu", B, I, O);
    double bw = 1.0 / sqrt((double)I);
    double *x = rand_floats(B * I, -2, 2), *w = rand_floats(O * I, -bw, bw);
    double *b = rand_floats(O, -bw, bw), *dy = rand_floats(B * O, -1, 1);
    double *y = malloc(B * O * sizeof *y), *dx = malloc(B * I * sizeof *dx);
    double *dw = malloc(O * I * sizeof *dw), *db = malloc(O * sizeof *db);
    if (!y || !dx || !dw || !db)
        exit(1);
    clact_dense_desc d = {I, O, NULL, 0};
    cl_mem xm = upload(ctx, x, B * I), wm = upload(ctx, w, O * I), bm = upload(ctx, b, O);
    cl_mem ym = poisoned(ctx, B * O), dym = upload(ctx, dy, B * O);
    cl_mem dxm = poisoned(ctx, B * I), dwm = poisoned(ctx, O * I), dbm = poisoned(ctx, O);
    clact_buffer none = {NULL, 0};
    clact_status st =
        clact_dense_forward(ctx, &d, CLACT_F32, B, (clact_buffer){xm, 0}, (clact_buffer){wm, 0},
                            (clact_buffer){bm, 0}, none, (clact_buffer){ym, 0}, 0, NULL, NULL);
    if (st == CLACT_OK && backward)
        st = clact_dense_backward(ctx, &d, CLACT_F32, B, (clact_buffer){xm, 0},
                                  (clact_buffer){wm, 0}, none, none, (clact_buffer){dym, 0},
                                  (clact_buffer){dxm, 0}, (clact_buffer){dwm, 0},
                                  (clact_buffer){dbm, 0}, 0, NULL, NULL);
    if (st != CLACT_OK) {
        fprintf(stderr, "tune_driver: %s: %s: %s\n", label, clact_status_name(st),
                clact_context_last_error(ctx));
        ++failures;
    } else {
        double *got = download(ctx, ym, B * O);
        if (clact_reference_dense_forward(&d, CLACT_F32, B, x, w, b, NULL, y) != CLACT_OK)
            exit(1);
        double *mag = magnitudes(B, O, I, x, I, 1, w, 1, I, b);
        char what[96];
        snprintf(what, sizeof what, "%s forward y", label);
        expect(what, got, y, mag, B * O, I);
        free(got);
        free(mag);
        if (backward) {
            if (clact_reference_dense_backward(&d, CLACT_F32, B, x, w, NULL, NULL, dy, dx, dw,
                                               db) != CLACT_OK)
                exit(1);
            double *gdx = download(ctx, dxm, B * I), *gdw = download(ctx, dwm, O * I);
            double *gdb = download(ctx, dbm, O);
            double *mdx = magnitudes(B, I, O, dy, O, 1, w, I, 1, NULL);
            double *mdw = magnitudes(O, I, B, dy, 1, O, x, I, 1, NULL);
            double *mdb = calloc(O, sizeof *mdb); /* db's terms are dy itself */
            if (!mdb)
                exit(1);
            for (size_t j = 0; j < O; ++j)
                for (size_t t = 0; t < B; ++t)
                    mdb[j] += fabs(dy[t * O + j]);
            snprintf(what, sizeof what, "%s backward dx", label);
            expect(what, gdx, dx, mdx, B * I, O);
            snprintf(what, sizeof what, "%s backward dW", label);
            expect(what, gdw, dw, mdw, O * I, B);
            snprintf(what, sizeof what, "%s backward db", label);
            expect(what, gdb, db, mdb, O, B);
            free(gdx), free(gdw), free(gdb), free(mdx), free(mdw), free(mdb);
        }
    }
    cl_mem all[8] = {xm, wm, bm, ym, dym, dxm, dwm, dbm};
    for (int i = 0; i < 8; ++i)
        clReleaseMemObject(all[i]);
    free(x), free(w), free(b), free(dy), free(y), free(dx), free(dw), free(db);
}

/* The OpenCL device clact would pick, found through clact's device list. */
static int default_device(cl_device_id *device) {
    size_t index = 0, count = 0;
    if (clact_device_select(NULL, &index) != CLACT_OK ||
        clact_device_list(NULL, 0, &count) != CLACT_OK || index >= count)
        return 0;
    clact_device_info *list = calloc(count, sizeof *list);
    if (!list || clact_device_list(list, count, &count) != CLACT_OK) {
        free(list);
        return 0;
    }
    unsigned p = list[index].platform_index, d = list[index].device_index;
    free(list);
    cl_platform_id platforms[16];
    cl_device_id devices[64];
    cl_uint np = 0, nd = 0;
    if (clGetPlatformIDs(16, platforms, &np) != CL_SUCCESS || p >= np ||
        clGetDeviceIDs(platforms[p], CL_DEVICE_TYPE_ALL, 64, devices, &nd) != CL_SUCCESS || d >= nd)
        return 0;
    *device = devices[d];
    return 1;
}

/* The context to check: clact's own, or over a queue of ours (made without any clact context,
 * so that the one over it is the first on the device in this process and applies the saved
 * results itself). */
static clact_status make_context(clact_context **ctx, int from_queue, cl_context *own_ctx,
                                 cl_command_queue *own_queue) {
    *own_ctx = NULL;
    *own_queue = NULL;
    if (!from_queue)
        return clact_context_create(ctx, NULL);
    cl_device_id device;
    if (!default_device(&device))
        return CLACT_NO_DEVICE;
    cl_int err;
    *own_ctx = clCreateContext(NULL, 1, &device, NULL, NULL, &err);
    if (!*own_ctx)
        return CLACT_OPENCL_ERROR;
    *own_queue = clCreateCommandQueue(*own_ctx, device, 0, &err);
    if (!*own_queue)
        return CLACT_OPENCL_ERROR;
    return clact_context_create_from_queue(ctx, *own_queue);
}

int main(int argc, char **argv) {
    if (argc < 2 || (strcmp(argv[1], "tuned") && strcmp(argv[1], "untuned"))) {
        fprintf(stderr, "usage: tune_driver tuned|untuned [rejected] [queue]\n");
        return 2;
    }
    int want_tuned = !strcmp(argv[1], "tuned"), want_rejected = 0, from_queue = 0;
    for (int i = 2; i < argc; ++i) {
        if (!strcmp(argv[i], "rejected"))
            want_rejected = 1;
        else if (!strcmp(argv[i], "queue"))
            from_queue = 1;
        else
            return fprintf(stderr, "tune_driver: unknown argument '%s'\n", argv[i]), 2;
    }
    const char *seed = getenv("CLACT_TEST_SEED");
    rng_state = seed && seed[0] ? strtoull(seed, NULL, 10) : (uint64_t)time(NULL);
    printf("tune_driver: seed %llu (CLACT_TEST_SEED)\n", (unsigned long long)rng_state);
    clact_context *ctx = NULL;
    cl_context own_ctx;
    cl_command_queue own_queue;
    clact_status st = make_context(&ctx, from_queue, &own_ctx, &own_queue);
    if (st != CLACT_OK) {
        fprintf(stderr, "tune_driver: context: %s: %s\n", clact_status_name(st),
                clact_context_last_error(NULL));
        return 1;
    }
    clact_cache_stats stats;
    clact_context_cache_stats(ctx, &stats);
    int tuned = (stats.gemm_tuned >> CLACT_F32) & 1;
    printf("tune_driver: gemm_tuned 0x%x, tuning_rejects %lu\n", stats.gemm_tuned,
           stats.tuning_rejects);
    if (tuned != want_tuned) {
        fprintf(stderr, "tune_driver: f32 GEMM %s, expected %s\n", tuned ? "tuned" : "untuned",
                want_tuned ? "tuned" : "untuned");
        ++failures;
    }
    if (want_rejected != (stats.tuning_rejects > 0)) {
        fprintf(stderr, "tune_driver: tuning_rejects %lu, expected %s\n", stats.tuning_rejects,
                want_rejected ? "some" : "none");
        ++failures;
    }
    layer(ctx, 128, 784, 256, 1);
    layer(ctx, 128, 256, 10, 1);
    clact_context_destroy(ctx);
    if (own_queue)
        clReleaseCommandQueue(own_queue);
    if (own_ctx)
        clReleaseContext(own_ctx);
    printf("tune_driver: %s\n", failures ? "FAILED" : "ok");
    return failures ? 1 : 0;
}
