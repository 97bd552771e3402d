/* SPDX-License-Identifier: MIT */
/* The guide's two-layer model, OurModel: DenseBlock(128 -> 64, ReLU) then DenseBlock(64 -> 1)
 * (a linear head), on a (500, 128) batch, forward and backward on the device, chained by events
 * with one wait at the end, then checked against clact's CPU reference. The loss is the mean of
 * the outputs, so dy = 1/500 for every sample. Exit status 0 when every value is within bounds.
 *
 *   h = relu(x W1^T + b1)      clact_dense_forward (keeps z1, the pre-activation)
 *   y = h W2^T + b2            clact_dense_forward
 *   dh, dW2, db2               clact_dense_backward (no activation)
 *   dx, dW1, db1               clact_dense_backward (ReLU's gradient from z1) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "clact/clact.h"

enum { B = 500, IN = 128, HID = 64, OUT = 1 };

/* A buffer holding n floats from host (or uninitialised when host is NULL). */
static cl_mem buffer(clact_context *ctx, const float *host, size_t n) {
    cl_int err;
    cl_mem m = clCreateBuffer(clact_context_cl_context(ctx),
                              CL_MEM_READ_WRITE | (host ? CL_MEM_COPY_HOST_PTR : 0),
                              n * sizeof(float), (void *)host, &err);
    if (!m)
        fprintf(stderr, "dense_block: clCreateBuffer of %zu floats failed (%d)\n", n, err);
    return m;
}

/* nn.Linear's initialisation, U(-1/sqrt(in), 1/sqrt(in)), from a fixed stream. */
static void init(float *a, size_t n, size_t in, unsigned *state) {
    float bound = 1.0f / sqrtf((float)in);
    for (size_t i = 0; i < n; ++i) {
        *state = *state * 1664525u + 1013904223u;
        a[i] = bound * (2.0f * (float)(*state >> 8) / 16777216.0f - 1.0f);
    }
}

static double worst_error(const float *got, const double *ref, size_t n, double scale) {
    double worst = 0;
    for (size_t i = 0; i < n; ++i) {
        double e = fabs(got[i] - ref[i]) / (fabs(ref[i]) + scale);
        worst = e > worst || isnan(e) ? e : worst;
    }
    return worst;
}

static void to_double(const float *f, double *d, size_t n) {
    for (size_t i = 0; i < n; ++i)
        d[i] = f[i];
}

int main(void) {
    clact_context *ctx;
    if (clact_context_create(&ctx, NULL) != CLACT_OK) {
        fprintf(stderr, "dense_block: %s\n", clact_context_last_error(NULL));
        return 1;
    }
    static float x[B * IN], w1[HID * IN], b1[HID], w2[OUT * HID], b2[OUT], dy[B * OUT];
    unsigned state = 12345;
    init(x, B * IN, 1, &state); /* inputs in [-1, 1] */
    init(w1, HID * IN, IN, &state);
    init(b1, HID, IN, &state);
    init(w2, OUT * HID, HID, &state);
    init(b2, OUT, HID, &state);
    for (int i = 0; i < B * OUT; ++i)
        dy[i] = 1.0f / B;

    cl_mem xb = buffer(ctx, x, B * IN), w1b = buffer(ctx, w1, HID * IN), b1b = buffer(ctx, b1, HID);
    cl_mem w2b = buffer(ctx, w2, OUT * HID), b2b = buffer(ctx, b2, OUT);
    cl_mem dyb = buffer(ctx, dy, B * OUT), z1b = buffer(ctx, NULL, B * HID);
    cl_mem hb = buffer(ctx, NULL, B * HID), yb = buffer(ctx, NULL, B * OUT);
    cl_mem dhb = buffer(ctx, NULL, B * HID), dxb = buffer(ctx, NULL, B * IN);
    cl_mem dw1b = buffer(ctx, NULL, HID * IN), db1b = buffer(ctx, NULL, HID);
    cl_mem dw2b = buffer(ctx, NULL, OUT * HID), db2b = buffer(ctx, NULL, OUT);
    cl_mem all[] = {xb, w1b, b1b, w2b, b2b, dyb, z1b, hb, yb, dhb, dxb, dw1b, db1b, dw2b, db2b};
    int ok = 1;
    for (size_t i = 0; i < sizeof all / sizeof all[0]; ++i)
        ok &= all[i] != NULL;

    clact_activation relu = clact_activation_default(CLACT_RELU);
    clact_dense_desc l1 = {IN, HID, &relu, 0}, l2 = {HID, OUT, NULL, 0};
    clact_buffer none = {NULL, 0};
    cl_event e[4] = {NULL, NULL, NULL, NULL};
    clact_status st = ok ? CLACT_OK : CLACT_OUT_OF_MEMORY;
    if (st == CLACT_OK)
        st = clact_dense_forward(ctx, &l1, CLACT_F32, B, (clact_buffer){xb, 0},
                                 (clact_buffer){w1b, 0}, (clact_buffer){b1b, 0},
                                 (clact_buffer){z1b, 0}, (clact_buffer){hb, 0}, 0, NULL, &e[0]);
    if (st == CLACT_OK)
        st = clact_dense_forward(ctx, &l2, CLACT_F32, B, (clact_buffer){hb, 0},
                                 (clact_buffer){w2b, 0}, (clact_buffer){b2b, 0}, none,
                                 (clact_buffer){yb, 0}, 1, &e[0], &e[1]);
    if (st == CLACT_OK)
        st = clact_dense_backward(ctx, &l2, CLACT_F32, B, (clact_buffer){hb, 0},
                                  (clact_buffer){w2b, 0}, none, none, (clact_buffer){dyb, 0},
                                  (clact_buffer){dhb, 0}, (clact_buffer){dw2b, 0},
                                  (clact_buffer){db2b, 0}, 1, &e[1], &e[2]);
    if (st == CLACT_OK)
        st = clact_dense_backward(
            ctx, &l1, CLACT_F32, B, (clact_buffer){xb, 0}, (clact_buffer){w1b, 0},
            (clact_buffer){z1b, 0}, none, (clact_buffer){dhb, 0}, (clact_buffer){dxb, 0},
            (clact_buffer){dw1b, 0}, (clact_buffer){db1b, 0}, 1, &e[2], &e[3]);
    if (st != CLACT_OK)
        fprintf(stderr, "dense_block: %s: %s\n", clact_status_name(st),
                clact_context_last_error(ctx));

    /* One wait, at the end: read everything after the last backward. */
    static float y[B * OUT], dx[B * IN], dw1[HID * IN], db1[HID], dw2[OUT * HID], db2[OUT];
    struct {
        cl_mem m;
        float *host;
        size_t n;
    } reads[] = {{yb, y, B * OUT}, {dxb, dx, B * IN},      {dw1b, dw1, HID * IN},
                 {db1b, db1, HID}, {dw2b, dw2, OUT * HID}, {db2b, db2, OUT}};
    cl_command_queue q = clact_context_queue(ctx);
    for (size_t i = 0; st == CLACT_OK && i < sizeof reads / sizeof reads[0]; ++i) {
        cl_int err = clEnqueueReadBuffer(q, reads[i].m, CL_TRUE, 0, reads[i].n * sizeof(float),
                                         reads[i].host, 1, &e[3], NULL);
        if (err != CL_SUCCESS) {
            fprintf(stderr, "dense_block: clEnqueueReadBuffer failed (%d)\n", err);
            st = CLACT_OPENCL_ERROR;
        }
    }

    /* The same model on the CPU reference, in double. */
    static double xd[B * IN], w1d[HID * IN], b1d[HID], w2d[OUT * HID], b2d[OUT], dyd[B * OUT];
    static double z1r[B * HID], hr[B * HID], yr[B * OUT], dhr[B * HID], dxr[B * IN];
    static double dw1r[HID * IN], db1r[HID], dw2r[OUT * HID], db2r[OUT];
    to_double(x, xd, B * IN), to_double(w1, w1d, HID * IN), to_double(b1, b1d, HID);
    to_double(w2, w2d, OUT * HID), to_double(b2, b2d, OUT), to_double(dy, dyd, B * OUT);
    if (st == CLACT_OK &&
        (clact_reference_dense_forward(&l1, CLACT_F32, B, xd, w1d, b1d, z1r, hr) ||
         clact_reference_dense_forward(&l2, CLACT_F32, B, hr, w2d, b2d, NULL, yr) ||
         clact_reference_dense_backward(&l2, CLACT_F32, B, hr, w2d, NULL, NULL, dyd, dhr, dw2r,
                                        db2r) ||
         clact_reference_dense_backward(&l1, CLACT_F32, B, xd, w1d, z1r, NULL, dhr, dxr, dw1r,
                                        db1r))) {
        fprintf(stderr, "dense_block: reference: %s\n", clact_context_last_error(NULL));
        st = CLACT_INVALID_ARGUMENT;
    }
    /* Float GEMMs of 64 to 500 terms against double: 1e-4 of the value, or of the largest
     * value's scale where the sums cancel. */
    double ey = 0, edx = 0, edw1 = 0, edb1 = 0, edw2 = 0, edb2 = 0;
    if (st == CLACT_OK) {
        ey = worst_error(y, yr, B * OUT, 1e-3);
        edx = worst_error(dx, dxr, B * IN, 1e-6);
        edw1 = worst_error(dw1, dw1r, HID * IN, 1e-5);
        edb1 = worst_error(db1, db1r, HID, 1e-5);
        edw2 = worst_error(dw2, dw2r, OUT * HID, 1e-5);
        edb2 = worst_error(db2, db2r, OUT, 1e-5);
        double loss = 0;
        for (int i = 0; i < B * OUT; ++i)
            loss += y[i] / B;
        printf("OurModel on (%d, %d): loss (mean output) %.6f; worst relative errors against the "
               "reference: y %.1e, dx %.1e, dW1 %.1e, db1 %.1e, dW2 %.1e, db2 %.1e\n",
               B, IN, loss, ey, edx, edw1, edb1, edw2, edb2);
    }
    int good = st == CLACT_OK && ey < 1e-4 && edx < 1e-4 && edw1 < 1e-4 && edb1 < 1e-4 &&
               edw2 < 1e-4 && edb2 < 1e-4;
    for (int i = 0; i < 4; ++i)
        if (e[i])
            clReleaseEvent(e[i]);
    for (size_t i = 0; i < sizeof all / sizeof all[0]; ++i)
        if (all[i])
            clReleaseMemObject(all[i]);
    clact_context_destroy(ctx);
    return good ? 0 : 1;
}
