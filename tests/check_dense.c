/* SPDX-License-Identifier: MIT */
/* The dense layer (CLBlast's GEMM, then clact's bias-and-activation pass) against the CPU
 * reference, forward and backward: every activation and none, with and without bias, keeping
 * the pre-activation or not, the backward from z and from y, accumulating into dW and db, shapes
 * 1x1x1, 3x5x7, 129x257x65, an empty batch and in_features 0; f32 and f64, f16 where the device
 * has cl_khr_fp16 and UNSUPPORTED where not, bf16 UNSUPPORTED; outputs poisoned (an unwritten
 * element fails) with canaries after them; a gated pipeline on an out-of-order queue; argument
 * errors. Bounds: a sum of k products in the dtype is within (2k + 4) u sum|terms| of the exact
 * one (u the unit roundoff; CLBlast's blocked sums stay well inside), and an activation (or its
 * gradient) adds at most 16 ulps of its result, which op_table.c bounds far more tightly. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "op_table.h"
#include "testutil.h"

#define GUARD 5

typedef struct dense_case {
    size_t batch, in, out;
    int act; /* -1: none; else a clact_op */
    double p0;
    int bias, keep_z, from_y, accumulate;
} dense_case;

static double unit(clact_dtype dt) { return tu_dtype_eps(dt); }

static double *rand_array(tu_rng *r, size_t n, double lo, double hi, clact_dtype dt) {
    double *a = malloc((n ? n : 1) * sizeof *a);
    ck_assert_ptr_nonnull(a);
    for (size_t i = 0; i < n; ++i)
        a[i] = tu_round_dt(dt, tu_uniform(r, lo, hi));
    return a;
}

/* A device buffer of n elements holding a (or poisoned when a is NULL), GUARD canaries after. */
static cl_mem upload(clact_dtype dt, const double *a, size_t n) {
    cl_mem m = tu_buffer_dt(dt, n + GUARD, CL_MEM_READ_WRITE);
    double canary[GUARD] = {-1234.5, -1234.5, -1234.5, -1234.5, -1234.5};
    if (a)
        tu_write_dt(dt, m, 0, n, a);
    else
        tu_poison_dt(dt, m, 0, n);
    tu_write_dt(dt, m, n, GUARD, canary);
    return m;
}

/* The n elements of m, all written (no poison left), canaries intact. */
static double *download(clact_dtype dt, cl_mem m, size_t n, const char *what, const char *label) {
    double *a = malloc((n + GUARD) * sizeof *a);
    ck_assert_ptr_nonnull(a);
    ck_assert_msg(tu_read_dt(dt, m, 0, n, a), "%s: %s: an element was not written", label, what);
    tu_read_dt(dt, m, n, GUARD, a + n);
    for (int i = 0; i < GUARD; ++i)
        ck_assert_msg(a[n + i] == tu_round_dt(dt, -1234.5), "%s: %s written past its end", label,
                      what);
    return a;
}

static void expect_close(const char *label, const char *what, const double *got, const double *ref,
                         const double *bound, size_t n) {
    for (size_t i = 0; i < n; ++i)
        if (!(fabs(got[i] - ref[i]) <= bound[i]))
            ck_abort_msg("%s: %s[%zu] = %.17g, reference %.17g (bound %.3g)", label, what, i,
                         got[i], ref[i], bound[i]);
}

/* Bounds of C = op(A) op(B) sums: (2k + 4 + extra) u sum_k |a||b| per element. */
static double *sum_bounds(size_t m, size_t n, size_t k, const double *a, size_t as_m, size_t as_k,
                          const double *b, size_t bs_k, size_t bs_n, double u, double extra,
                          const double *add) {
    double *bd = malloc((m * n > 0 ? m * n : 1) * sizeof *bd);
    ck_assert_ptr_nonnull(bd);
    for (size_t i = 0; i < m; ++i)
        for (size_t j = 0; j < n; ++j) {
            double s = add ? fabs(add[j]) : 0;
            for (size_t t = 0; t < k; ++t)
                s += fabs(a[i * as_m + t * as_k] * b[t * bs_k + j * bs_n]);
            bd[i * n + j] = (2.0 * (double)k + 4 + extra) * u * s + 1e-300;
        }
    return bd;
}

static void run_case(clact_dtype dt, const dense_case *c) {
    char label[160];
    clact_activation act = tu_op_default_act(c->act < 0 ? CLACT_RELU : (clact_op)c->act);
    if (c->act == CLACT_LEAKY_RELU || c->act == CLACT_ELU)
        act.param[0] = c->p0;
    snprintf(label, sizeof label, "%s %s(%g) %zux%zux%zu bias %d z %d from_y %d acc %d",
             clact_dtype_name(dt), c->act < 0 ? "linear" : clact_op_name(act.op), c->p0, c->batch,
             c->in, c->out, c->bias, c->keep_z, c->from_y, c->accumulate);
    clact_dense_desc d = {c->in, c->out, c->act < 0 ? NULL : &act,
                          c->accumulate ? CLACT_DENSE_ACCUMULATE : 0u};
    size_t B = c->batch, I = c->in, O = c->out, nx = B * I, nw = O * I, ny = B * O;
    tu_rng r = tu_rng_for(label, 0);
    double bound_w = 1.0 / sqrt((double)(I ? I : 1)); /* nn.Linear's U(+-1/sqrt(in)) */
    double *x = rand_array(&r, nx, -2, 2, dt), *w = rand_array(&r, nw, -bound_w, bound_w, dt);
    double *b = rand_array(&r, O, -bound_w, bound_w, dt), *dy = rand_array(&r, ny, -1, 1, dt);
    double *dw0 = rand_array(&r, nw, -1, 1, dt), *db0 = rand_array(&r, O, -1, 1, dt);
    double u = unit(dt);

    cl_mem xb = upload(dt, x, nx), wb = upload(dt, w, nw), bb = upload(dt, b, O);
    cl_mem yb = upload(dt, NULL, ny), zb = upload(dt, NULL, ny);
    clact_buffer X = {xb, 0}, W = {wb, 0}, Bv = {c->bias ? bb : NULL, 0};
    clact_buffer Z = {c->keep_z ? zb : NULL, 0}, Y = {yb, 0};
    clact_status st = clact_dense_forward(tu_ctx(), &d, dt, B, X, W, Bv, Z, Y, 0, NULL, NULL);
    ck_assert_msg(st == CLACT_OK, "%s: forward: %s", label, clact_context_last_error(tu_ctx()));
    double *zr = malloc((ny ? ny : 1) * sizeof *zr), *yr = malloc((ny ? ny : 1) * sizeof *yr);
    ck_assert_int_eq(clact_reference_dense_forward(&d, dt, B, x, w, c->bias ? b : NULL, zr, yr),
                     CLACT_OK);
    double *zbd = sum_bounds(B, O, I, x, I, 1, w, 1, I, u, 0, c->bias ? b : NULL);
    double *y = download(dt, yb, ny, "y", label);
    double *zs = zr; /* the z the backward starts from: the device's when kept */
    double *ybd = malloc((ny ? ny : 1) * sizeof *ybd);
    if (d.act && c->keep_z) {
        double *z = download(dt, zb, ny, "z", label);
        expect_close(label, "z", z, zr, zbd, ny);
        ck_assert_int_eq(clact_reference_forward(d.act, dt, ny, z, yr), CLACT_OK);
        for (size_t i = 0; i < ny; ++i)
            ybd[i] = 16 * u * fabs(yr[i]) + 1e-300;
        zs = z;
    } else {
        /* Every activation's slope is at most 1.2 in magnitude (GELU's 1.13 the largest). */
        for (size_t i = 0; i < ny; ++i)
            ybd[i] = (d.act ? 1.2 : 1.0) * zbd[i] + 16 * u * fabs(yr[i]) + 1e-300;
    }
    expect_close(label, "y", y, yr, ybd, ny);

    /* Backward from the device's own z or y, so that only the backward's error is measured. */
    cl_mem dyb = upload(dt, dy, ny), zsb = upload(dt, zs, ny), ysb = upload(dt, y, ny);
    cl_mem dxb = upload(dt, NULL, nx);
    cl_mem dwb = c->accumulate ? upload(dt, dw0, nw) : upload(dt, NULL, nw);
    cl_mem dbb = c->accumulate ? upload(dt, db0, O) : upload(dt, NULL, O);
    clact_buffer Zs = {c->from_y ? NULL : zsb, 0}, Ys = {c->from_y ? ysb : NULL, 0};
    st = clact_dense_backward(tu_ctx(), &d, dt, B, X, W, Zs, Ys, (clact_buffer){dyb, 0},
                              (clact_buffer){dxb, 0}, (clact_buffer){dwb, 0},
                              (clact_buffer){dbb, 0}, 0, NULL, NULL);
    ck_assert_msg(st == CLACT_OK, "%s: backward: %s", label, clact_context_last_error(tu_ctx()));
    double *dxr = malloc((nx ? nx : 1) * sizeof *dxr), *dwr = malloc((nw ? nw : 1) * sizeof *dwr);
    double *dbr = malloc(O * sizeof *dbr), *dzr = malloc((ny ? ny : 1) * sizeof *dzr);
    memcpy(dwr, dw0, nw * sizeof *dwr);
    memcpy(dbr, db0, O * sizeof *dbr);
    ck_assert_int_eq(clact_reference_dense_backward(&d, dt, B, x, w, c->from_y ? NULL : zs,
                                                    c->from_y ? y : NULL, dy, dxr, dwr, dbr),
                     CLACT_OK);
    if (d.act)
        ck_assert_int_eq(clact_reference_backward(d.act, dt, ny, c->from_y ? NULL : zs,
                                                  c->from_y ? y : NULL, dy, dzr),
                         CLACT_OK);
    else
        memcpy(dzr, dy, ny * sizeof *dzr);
    /* dz carries up to 16 ulps of its own (the activation's gradient), or near a root of f'
     * 16 ulps of |dy| (op_table.c): so its sums are bounded with |dz| + |dy| for each term and
     * 32 more roundings' worth. */
    for (size_t i = 0; i < ny; ++i)
        dzr[i] = fabs(dzr[i]) + (d.act ? fabs(dy[i]) : 0);
    double ones = 1;
    double *dbbd = sum_bounds(1, O, B, &ones, 0, 0, dzr, O, 1, u, 32, c->accumulate ? db0 : NULL);
    double *dwbd = sum_bounds(O, I, B, dzr, 1, O, x, I, 1, u, 32, NULL);
    double *dxbd = sum_bounds(B, I, O, dzr, O, 1, w, I, 1, u, 32, NULL);
    for (size_t i = 0; c->accumulate && i < nw; ++i)
        dwbd[i] += 2 * u * fabs(dw0[i]);
    double *dx = download(dt, dxb, nx, "dx", label), *dw = download(dt, dwb, nw, "dw", label);
    double *db = download(dt, dbb, O, "db", label);
    expect_close(label, "db", db, dbr, dbbd, O);
    expect_close(label, "dw", dw, dwr, dwbd, nw);
    expect_close(label, "dx", dx, dxr, dxbd, nx);

    cl_mem all[] = {xb, wb, bb, yb, zb, dyb, zsb, ysb, dxb, dwb, dbb};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; ++i)
        clReleaseMemObject(all[i]);
    double *mem[] = {x,   w,   b,   dy,  dw0,  db0,  zr,   yr, zbd, y, ybd,
                     dxr, dwr, dbr, dzr, dbbd, dwbd, dxbd, dx, dw,  db};
    for (size_t i = 0; i < sizeof mem / sizeof mem[0]; ++i)
        free(mem[i]);
    if (zs != zr)
        free(zs);
}

/* Under CLACT_TEST_QUICK (valgrind) the large shape is 33 x 65 x 17. */
static const size_t shapes[][3] = {{1, 1, 1}, {3, 5, 7}, {129, 257, 65}, {0, 4, 3}, {5, 0, 3}};
static const size_t quick_large[3] = {33, 65, 17};

/* Loop index: activation (-1 for none, then every op), in f32 and f64. Under CLACT_TEST_QUICK
 * (valgrind, which checks the host code, the same for both dtypes) f32 only: CLBlast's f64
 * kernels compiled under valgrind cost many minutes on a machine whose PoCL cache is cold. */
START_TEST(dense_against_reference) {
    int act = _i / 2 - 1;
    clact_dtype dt = _i % 2 ? CLACT_F64 : CLACT_F32;
    if (tu_quick() && dt == CLACT_F64)
        return;
    clact_activation a = tu_op_default_act(act < 0 ? CLACT_RELU : (clact_op)act);
    if (act == CLACT_GLU || act == CLACT_PRELU) {
        /* glu is not elementwise; prelu's dense backward would lose the weight's gradient:
         * both refused, naming the op (forward for glu, backward for prelu), nothing run. */
        cl_mem m = tu_buffer(64, CL_MEM_READ_WRITE);
        clact_buffer none = {NULL, 0}, buf = {m, 0};
        clact_dense_desc d = {2, 2, &a, 0};
        clact_status st =
            act == CLACT_GLU
                ? clact_dense_forward(tu_ctx(), &d, dt, 2, buf, buf, none, none, buf, 0, NULL,
                                      NULL)
                : clact_dense_backward(tu_ctx(), &d, dt, 2, buf, buf, buf, none, buf, buf, none,
                                       none, 0, NULL, NULL);
        ck_assert_int_eq(st, act == CLACT_GLU ? CLACT_INVALID_ARGUMENT : CLACT_UNSUPPORTED);
        ck_assert_ptr_nonnull(strstr(clact_context_last_error(tu_ctx()), clact_op_name(act)));
        clReleaseMemObject(m);
        return;
    }
    int y_ok = act >= 0 && (clact_backward_saved(&a) & CLACT_SAVED_Y);
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; ++s) {
        const size_t *sh = tu_quick() && s == 2 ? quick_large : shapes[s];
        dense_case c = {sh[0], sh[1], sh[2], act, a.param[0], 1, 1, 0, 0};
        run_case(dt, &c);
        c.bias = 0, c.keep_z = act < 0, c.from_y = y_ok, c.accumulate = 1;
        if (act < 0 || y_ok)
            run_case(dt, &c);
    }
    if (act == CLACT_LEAKY_RELU || act == CLACT_ELU) {
        dense_case c = {3, 5, 7, act, act == CLACT_ELU ? -2.0 : -1.5, 1, 1, 0, 1};
        run_case(dt, &c);
    }
}
END_TEST

/* f16 needs the device's cl_khr_fp16 (CLBlast's half GEMM); bf16 has no GEMM in CLBlast. */
START_TEST(dense_16bit) {
    clact_dense_desc d = {4, 3, NULL, 0};
    cl_mem m = tu_buffer_dt(CLACT_F32, 64, CL_MEM_READ_WRITE);
    clact_buffer b = {m, 0}, none = {NULL, 0};
    ck_assert_int_eq(clact_dense_forward(tu_ctx(), &d, CLACT_BF16, 2, b, b, none, none,
                                         (clact_buffer){m, 32}, 0, NULL, NULL),
                     CLACT_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(clact_context_last_error(tu_ctx()), "bf16"));
    char ext[4096] = "";
    clGetDeviceInfo(clact_context_device(tu_ctx()), CL_DEVICE_EXTENSIONS, sizeof ext - 1, ext,
                    NULL);
    if (!strstr(ext, "cl_khr_fp16")) {
        ck_assert_int_eq(clact_dense_forward(tu_ctx(), &d, CLACT_F16, 2, b, b, none, none,
                                             (clact_buffer){m, 32}, 0, NULL, NULL),
                         CLACT_UNSUPPORTED);
        ck_assert_ptr_nonnull(strstr(clact_context_last_error(tu_ctx()), "cl_khr_fp16"));
    } else {
        for (int act = -1; act < CLACT_OP_COUNT; ++act) {
            if (act == CLACT_GLU || act == CLACT_PRELU)
                continue; /* refused (dense_against_reference) */
            clact_activation a = tu_op_default_act(act < 0 ? CLACT_RELU : (clact_op)act);
            dense_case c = {3, 5, 7, act, a.param[0], 1, 1, 0, 0};
            run_case(CLACT_F16, &c);
        }
    }
    clReleaseMemObject(m);
}
END_TEST

/* Forward and backward chained on an out-of-order queue behind a shut user event: the calls
 * return at once, nothing runs before the gate opens, and the results are right afterwards.
 * (oclgrind 21.10 ignores barriers on out-of-order queues: a kernel enqueued after
 * clEnqueueBarrierWithWaitList runs before the gated kernel the barrier waits for, with or
 * without a wait list, so this test fails there, by the simulator's fault; PoCL, and the
 * specification, order them.) */
START_TEST(dense_gated_out_of_order) {
    if (tu_device_is_oclgrind()) {
        /* Besides the wrong order, the process then ends in "corrupted double-linked list"
         * (oclgrind 21.10's heap, after every check passed). */
        printf("dense_gated_out_of_order: skipped on oclgrind (it ignores barriers on out-of-order "
               "queues)\n");
        return;
    }
    cl_device_id dev = clact_context_device(tu_ctx());
    cl_int err;
    cl_context cl = clact_context_cl_context(tu_ctx());
    cl_command_queue q =
        clCreateCommandQueue(cl, dev, CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE, &err);
    ck_assert_ptr_nonnull(q);
    clact_context *ctx = NULL;
    ck_assert_int_eq(clact_context_create_from_queue(&ctx, q), CLACT_OK);
    enum { B = 9, I = 17, O = 6 };
    double x[B * I], w[O * I], bias[O], dy[B * O];
    for (int i = 0; i < B * I; ++i)
        x[i] = tu_round_dt(CLACT_F32, sin(i * 0.37));
    for (int i = 0; i < O * I; ++i)
        w[i] = tu_round_dt(CLACT_F32, cos(i * 0.11) * 0.3);
    for (int i = 0; i < O; ++i)
        bias[i] = tu_round_dt(CLACT_F32, 0.1 * i - 0.2);
    for (int i = 0; i < B * O; ++i)
        dy[i] = tu_round_dt(CLACT_F32, sin(i * 1.3));
    cl_mem xb = upload(CLACT_F32, x, B * I), wb = upload(CLACT_F32, w, O * I);
    cl_mem bb = upload(CLACT_F32, bias, O), dyb = upload(CLACT_F32, dy, B * O);
    cl_mem zb = upload(CLACT_F32, NULL, B * O), yb = upload(CLACT_F32, NULL, B * O);
    cl_mem dxb = upload(CLACT_F32, NULL, B * I), dwb = upload(CLACT_F32, NULL, O * I);
    cl_mem dbb = upload(CLACT_F32, NULL, O);
    clact_activation gelu = clact_activation_default(CLACT_GELU);
    clact_dense_desc d = {I, O, &gelu, 0};
    cl_event gate = clCreateUserEvent(cl, &err), e1 = NULL, e2 = NULL;
    ck_assert_int_eq(clact_dense_forward(ctx, &d, CLACT_F32, B, (clact_buffer){xb, 0},
                                         (clact_buffer){wb, 0}, (clact_buffer){bb, 0},
                                         (clact_buffer){zb, 0}, (clact_buffer){yb, 0}, 1, &gate,
                                         &e1),
                     CLACT_OK);
    ck_assert_int_eq(clact_dense_backward(ctx, &d, CLACT_F32, B, (clact_buffer){xb, 0},
                                          (clact_buffer){wb, 0}, (clact_buffer){zb, 0},
                                          (clact_buffer){NULL, 0}, (clact_buffer){dyb, 0},
                                          (clact_buffer){dxb, 0}, (clact_buffer){dwb, 0},
                                          (clact_buffer){dbb, 0}, 1, &e1, &e2),
                     CLACT_OK);
    cl_int s1, s2;
    clGetEventInfo(e1, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof s1, &s1, NULL);
    clGetEventInfo(e2, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof s2, &s2, NULL);
    ck_assert_msg(s1 > CL_COMPLETE && s2 > CL_COMPLETE, "the dense layer ran before its gate");
    ck_assert_int_eq(clSetUserEventStatus(gate, CL_COMPLETE), CL_SUCCESS);
    ck_assert_int_eq(clWaitForEvents(1, &e2), CL_SUCCESS);
    double zr[B * O], yr[B * O], dxr[B * I], dwr[O * I], dbr[O];
    ck_assert_int_eq(clact_reference_dense_forward(&d, CLACT_F32, B, x, w, bias, zr, yr), CLACT_OK);
    ck_assert_int_eq(
        clact_reference_dense_backward(&d, CLACT_F32, B, x, w, zr, NULL, dy, dxr, dwr, dbr),
        CLACT_OK);
    double got[B * I];
    tu_read_dt(CLACT_F32, yb, 0, B * O, got);
    for (int i = 0; i < B * O; ++i)
        ck_assert_msg(fabs(got[i] - yr[i]) <= 1e-5, "y[%d] %g %g", i, got[i], yr[i]);
    tu_read_dt(CLACT_F32, dxb, 0, B * I, got);
    for (int i = 0; i < B * I; ++i)
        ck_assert_msg(fabs(got[i] - dxr[i]) <= 1e-5, "dx[%d] %g %g", i, got[i], dxr[i]);
    tu_read_dt(CLACT_F32, dwb, 0, O * I, got);
    for (int i = 0; i < O * I; ++i)
        ck_assert_msg(fabs(got[i] - dwr[i]) <= 1e-5, "dw[%d] %g %g", i, got[i], dwr[i]);
    tu_read_dt(CLACT_F32, dbb, 0, O, got);
    for (int i = 0; i < O; ++i)
        ck_assert_msg(fabs(got[i] - dbr[i]) <= 1e-5, "db[%d] %g %g", i, got[i], dbr[i]);
    clReleaseEvent(e1), clReleaseEvent(e2), clReleaseEvent(gate);
    cl_mem all[] = {xb, wb, bb, dyb, zb, yb, dxb, dwb, dbb};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; ++i)
        clReleaseMemObject(all[i]);
    clact_context_destroy(ctx);
    clReleaseCommandQueue(q);
}
END_TEST

START_TEST(dense_errors) {
    clact_context *ctx = tu_ctx();
    cl_mem m = tu_buffer_dt(CLACT_F32, 64, CL_MEM_READ_WRITE);
    tu_poison_dt(CLACT_F32, m, 0, 64);
    clact_buffer x = {m, 0}, w = {m, 8}, y = {m, 40}, none = {NULL, 0};
    clact_dense_desc d = {4, 2, NULL, 0};
    ck_assert_int_eq(
        clact_dense_forward(ctx, NULL, CLACT_F32, 2, x, w, none, none, y, 0, NULL, NULL),
        CLACT_INVALID_ARGUMENT);
    clact_dense_desc zero = {4, 0, NULL, 0};
    ck_assert_int_eq(
        clact_dense_forward(ctx, &zero, CLACT_F32, 2, x, w, none, none, y, 0, NULL, NULL),
        CLACT_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(clact_context_last_error(ctx), "out_features"));
    /* y over x, and a batch past the buffer's end. */
    ck_assert_int_eq(clact_dense_forward(ctx, &d, CLACT_F32, 2, x, w, none, none,
                                         (clact_buffer){m, 4}, 0, NULL, NULL),
                     CLACT_INVALID_ARGUMENT);
    ck_assert_int_eq(
        clact_dense_forward(ctx, &d, CLACT_F32, 20, x, w, none, none, y, 0, NULL, NULL),
        CLACT_INVALID_ARGUMENT);
    ck_assert_int_eq(
        clact_dense_forward(ctx, &d, CLACT_F32, 2, none, w, none, none, y, 0, NULL, NULL),
        CLACT_INVALID_ARGUMENT);
    d.flags = 8;
    ck_assert_int_eq(clact_dense_forward(ctx, &d, CLACT_F32, 2, x, w, none, none, y, 0, NULL, NULL),
                     CLACT_INVALID_ARGUMENT);
    /* GELU's gradient needs z; relu's can come from y. */
    clact_activation gelu = clact_activation_default(CLACT_GELU);
    clact_dense_desc g = {4, 2, &gelu, 0};
    ck_assert_int_eq(clact_dense_backward(ctx, &g, CLACT_F32, 2, x, w, none, y,
                                          (clact_buffer){m, 48}, none, (clact_buffer){m, 56}, none,
                                          0, NULL, NULL),
                     CLACT_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(clact_context_last_error(ctx), "needs z"));
    double out[64];
    ck_assert_msg(!tu_read_dt(CLACT_F32, m, 0, 64, out), "a failed call wrote");
    clReleaseMemObject(m);
}
END_TEST

Suite *dense_suite(void);
Suite *dense_suite(void) {
    Suite *s = suite_create("dense");
    TCase *tc = tcase_create("dense");
    tcase_set_timeout(tc, 900);
    tcase_add_loop_test(tc, dense_against_reference, 0, 2 * (CLACT_OP_COUNT + 1));
    tcase_add_test(tc, dense_16bit);
    tcase_add_test(tc, dense_gated_out_of_order);
    tcase_add_test(tc, dense_errors);
    suite_add_tcase(s, tc);
    return s;
}
