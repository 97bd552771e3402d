/* SPDX-License-Identifier: MIT */
/* clact inside someone else's OpenCL pipeline: a two-layer classifier head,
 *   H = GELU(X W1)   (CLBlast SGEMM, then clact's GELU in place on H)
 *   P = softmax(H W2, dim 1)   (CLBlast SGEMM, then clact's softmax in place)
 * on the caller's own context, in-order queue and buffers. Everything is enqueued first and
 * chained by events, with no clFinish in between; the only wait is the final read, gated on the
 * softmax's event. (CLBlast's routines take no wait list and return an event: on an in-order
 * queue, which CLBlast needs anyway, the queue orders them after clact's kernels, and clact's
 * ops wait on CLBlast's events.) The result is checked against a double-precision GEMM on the
 * host and clact's CPU reference for GELU and softmax. Exit status 0 when it matches. */
#include <clblast_c.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "clact/clact.h"

enum { M = 64, K = 128, HID = 256, N = 10 };

static unsigned long long rng = 0x9E3779B97F4A7C15ull;
static float uniform(float scale) {
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return scale * ((float)(rng >> 40) / (float)(1u << 24) * 2.0f - 1.0f);
}

/* C (m x n) = A (m x k) B (k x n), row-major, in double. */
static void gemm(int m, int n, int k, const double *a, const double *b, double *c) {
    for (int i = 0; i < m; ++i)
        for (int j = 0; j < n; ++j) {
            double s = 0;
            for (int p = 0; p < k; ++p)
                s += a[i * k + p] * b[p * n + j];
            c[i * n + j] = s;
        }
}

static int fail(const char *what, long code) {
    fprintf(stderr, "pipeline_clblast: %s failed (%ld)\n", what, code);
    return 1;
}

int main(void) {
    /* The caller's OpenCL objects: clact only borrows the queue. */
    clact_context *probe;
    if (clact_context_create(&probe, NULL) != CLACT_OK)
        return fail(clact_context_last_error(NULL), 0);
    cl_device_id dev = clact_context_device(probe);
    cl_int err;
    cl_context cl = clCreateContext(NULL, 1, &dev, NULL, NULL, &err);
    if (!cl)
        return fail("clCreateContext", err);
    cl_command_queue q = clCreateCommandQueue(cl, dev, 0, &err);
    if (!q)
        return fail("clCreateCommandQueue", err);
    clact_context_destroy(probe);
    clact_context *ctx;
    if (clact_context_create_from_queue(&ctx, q) != CLACT_OK)
        return fail(clact_context_last_error(NULL), 0);

    static float x[M * K], w1[K * HID], w2[HID * N], p[M * N];
    for (int i = 0; i < M * K; ++i)
        x[i] = uniform(2.0f);
    for (int i = 0; i < K * HID; ++i)
        w1[i] = uniform(1.0f / sqrtf((float)K) * 1.7f);
    for (int i = 0; i < HID * N; ++i)
        w2[i] = uniform(1.0f / sqrtf((float)HID) * 1.7f);
    cl_mem_flags ro = CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR;
    cl_mem bx = clCreateBuffer(cl, ro, sizeof x, x, &err);
    cl_mem bw1 = clCreateBuffer(cl, ro, sizeof w1, w1, &err);
    cl_mem bw2 = clCreateBuffer(cl, ro, sizeof w2, w2, &err);
    cl_mem bh = clCreateBuffer(cl, CL_MEM_READ_WRITE, sizeof(float) * M * HID, NULL, &err);
    cl_mem bp = clCreateBuffer(cl, CL_MEM_READ_WRITE, sizeof p, NULL, &err);
    if (!bx || !bw1 || !bw2 || !bh || !bp)
        return fail("clCreateBuffer", err);

    cl_event e_gemm1, e_gelu, e_gemm2, e_softmax;
    CLBlastStatusCode s =
        CLBlastSgemm(CLBlastLayoutRowMajor, CLBlastTransposeNo, CLBlastTransposeNo, M, HID, K, 1.0f,
                     bx, 0, K, bw1, 0, HID, 0.0f, bh, 0, HID, &q, &e_gemm1);
    if (s != CLBlastSuccess)
        return fail("CLBlastSgemm (layer 1)", s);
    /* Bias-free GELU in place on the hidden layer, after the GEMM's event. */
    clact_activation gelu = clact_activation_default(CLACT_GELU);
    if (clact_forward(ctx, &gelu, CLACT_F32, (size_t)M * HID, bh, 0, bh, 0, 1, &e_gemm1, &e_gelu) !=
        CLACT_OK)
        return fail(clact_context_last_error(ctx), 0);
    s = CLBlastSgemm(CLBlastLayoutRowMajor, CLBlastTransposeNo, CLBlastTransposeNo, M, N, HID, 1.0f,
                     bh, 0, HID, bw2, 0, N, 0.0f, bp, 0, N, &q, &e_gemm2);
    if (s != CLBlastSuccess)
        return fail("CLBlastSgemm (layer 2)", s);
    const size_t shape[2] = {M, N};
    if (clact_softmax(ctx, CLACT_SOFTMAX, 0, CLACT_F32, 2, shape, 1, bp, 0, bp, 0, 1, &e_gemm2,
                      &e_softmax) != CLACT_OK)
        return fail(clact_context_last_error(ctx), 0);
    err = clEnqueueReadBuffer(q, bp, CL_TRUE, 0, sizeof p, p, 1, &e_softmax, NULL);
    if (err != CL_SUCCESS)
        return fail("clEnqueueReadBuffer", err);

    /* The same on the host. */
    static double xd[M * K], w1d[K * HID], w2d[HID * N], hd[M * HID], ld[M * N], pd[M * N];
    for (int i = 0; i < M * K; ++i)
        xd[i] = x[i];
    for (int i = 0; i < K * HID; ++i)
        w1d[i] = w1[i];
    for (int i = 0; i < HID * N; ++i)
        w2d[i] = w2[i];
    gemm(M, HID, K, xd, w1d, hd);
    clact_reference_forward(&gelu, CLACT_F32, (size_t)M * HID, hd, hd);
    gemm(M, N, HID, hd, w2d, ld);
    clact_reference_softmax(CLACT_SOFTMAX, 0, 2, shape, 1, ld, pd);
    /* float GEMMs of 128 and 256 terms of size ~1 round to ~1e-6 relative each way; through
     * GELU and softmax that stays below 1e-4 of a probability. */
    double worst = 0, row_err = 0;
    for (int i = 0; i < M; ++i) {
        double sum = 0;
        for (int j = 0; j < N; ++j) {
            double e = fabs(p[i * N + j] - pd[i * N + j]);
            worst = e > worst || isnan(e) ? e : worst;
            sum += p[i * N + j];
        }
        row_err = fabs(sum - 1) > row_err ? fabs(sum - 1) : row_err;
    }
    int ok = worst <= 1e-4 && row_err <= 1e-5;
    printf("pipeline_clblast: SGEMM %dx%dx%d -> GELU -> SGEMM %dx%dx%d -> softmax on one queue, "
           "one wait; max |P - reference| %.2e, max |row sum - 1| %.2e: %s\n",
           M, HID, K, M, N, HID, worst, row_err, ok ? "ok" : "MISMATCH");
    clReleaseEvent(e_gemm1), clReleaseEvent(e_gelu), clReleaseEvent(e_gemm2);
    clReleaseEvent(e_softmax);
    clReleaseMemObject(bx), clReleaseMemObject(bw1), clReleaseMemObject(bw2);
    clReleaseMemObject(bh), clReleaseMemObject(bp);
    clact_context_destroy(ctx);
    clReleaseCommandQueue(q);
    clReleaseContext(cl);
    return ok ? 0 : 1;
}
