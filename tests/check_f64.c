/* SPDX-License-Identifier: MIT */
/* f64: every activation against the long-double reference on double special values (±0, ±inf,
 * NaN, subnormals, ±DBL_MAX, exp's overflow and underflow edges at 709.8 and -745, the GELU
 * tail where erfc underflows) and random doubles of every magnitude, sizes around the vector
 * width, offsets, in place, canaries and a poisoned output; the softmax family on every kernel
 * path and its backward; and, with CLACT_NO_FP64, the UNSUPPORTED status for every operation
 * with nothing written. (Cross-entropy in f64 runs in check_loss.c, over every option.) */
#define _POSIX_C_SOURCE 200809L /* setenv */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "op_table.h"
#include "testutil.h"

#define GUARD 9

/* Error in double ulps at the exact value ref (subnormal spacing below DBL_MIN). */
static double ulp64(double got, double ref) {
    if (got == ref || (isnan(got) && isnan(ref)))
        return 0;
    if (!isfinite(got) || !isfinite(ref))
        return INFINITY;
    double a = fabs(ref);
    double u = a < DBL_MIN ? 0x1p-1074 : ldexp(1.0, ilogb(a) - 52);
    return fabs(got - ref) / u;
}

/* Same rules as the float tests (testutil.h): NaN only for NaN, infinities exactly, zeros by
 * ==, otherwise at most max_ulp double ulps. */
static int close64(double got, double ref, double max_ulp) {
    if (isnan(ref) || isnan(got))
        return isnan(ref) && isnan(got);
    if (isinf(ref) || isinf(got))
        return got == ref;
    if (ref == 0 || got == 0)
        return got == ref || ulp64(got, ref) <= max_ulp;
    return ulp64(got, ref) <= max_ulp;
}

/* Every row of the test table (op_table.c: the bounds in double ulps and why); the worst
 * measured on this device is printed at the end of every run. */
#define MAX_ROWS 128
static double worst[MAX_ROWS], worst_at[MAX_ROWS];

/* Where long double is not wider than double (tu_wide_reference: under valgrind's x87
 * emulation, which computes in 64-bit doubles), the reference then carries the tail
 * amplifications above itself (up to 2 t^2 ulp in GELU's tail): the bounds widen to 4096 ulp
 * there, which still catches any kernel computing in float (2^29 ulp). The native runs, ASan's
 * included, check the real bounds. */
#define BOUND(u) (tu_wide_reference() ? (u) : 4096.0)

static const double specials[] = {
    -INFINITY, INFINITY, NAN,       -0.0,       0.0,
    DBL_MIN,   -DBL_MIN, 0x1p-1074, -0x1p-1074, 1e-310,
    -1e-310,   DBL_MAX,  -DBL_MAX,  1e300,      -1e300,
    709.78,    -709.78,  709.8,     -709.8,     710.0,
    -710.0,    -745.1,   -745.2,    -744.0,     745.2,
    -37.6,     -37.55,   -37.7,     -38.5,      -28.28,
    -28.29,    -26.6,    -26.5,     100.0,      -100.0,
    20.0,      -20.0,    20.000001, 88.72283,   -88.72283,
    1.0,       -1.0,     0.5,       -0.5,       1e-20,
    -1e-20,    1e-300,   -1e-300,   3.0,        -3.0,
    -6.0,      33.3,     1e20,      -1e20,      0x1.fffffffffffffp-1,
};
#define N_SPECIALS (sizeof specials / sizeof specials[0])

static double random_input(tu_rng *r, const clact_activation *a) {
    switch (tu_next(r) % 10) {
    case 0: return tu_uniform(r, -10, 10);
    case 1: return tu_uniform(r, -0.09, 0.09);
    case 2: return tu_uniform(r, -1000, 1000);
    case 3: return (tu_next(r) & 1 ? -1 : 1) * tu_uniform(r, 700, 750);
    case 4: {
        /* Any finite double, every exponent equally likely. */
        double d;
        do {
            uint64_t u = tu_next(r);
            memcpy(&d, &u, 8);
        } while (!isfinite(d));
        return d;
    }
    case 5: {
        double t = tu_op_boundary(a, CLACT_F64, (unsigned)tu_next(r)), f = t;
        int steps = (int)(tu_next(r) % 9) - 4;
        for (int i = 0; i < abs(steps); ++i)
            f = nextafter(f, steps < 0 ? -INFINITY : INFINITY);
        return (tu_next(r) & 3) ? f : t * tu_uniform(r, 0.99, 1.01);
    }
    case 6: return tu_uniform(r, -40, -20); /* GELU's and tanh-GELU's far tails */
    case 7: return tu_uniform(r, -110, -80);
    case 8: return tu_uniform(r, -40, 40);
    default: return tu_uniform(r, -3, 3);
    }
}

static void run(int ci, size_t n, size_t xoff, size_t yoff, int inplace) {
    const tu_op_row *c = &tu_op_rows[ci];
    clact_activation a = tu_op_act(c);
    char label[128];
    snprintf(label, sizeof label, "f64 %s n=%zu xoff=%zu yoff=%zu%s", c->label, n, xoff, yoff,
             inplace ? " in-place" : "");
    tu_rng r = tu_rng_for(label, 0);
    size_t xlen = xoff + n + GUARD, ylen = yoff + n + GUARD;
    double *x = malloc(xlen * sizeof *x), *y = malloc(ylen * sizeof *y),
           *ref = malloc((n + 1) * sizeof *ref);
    ck_assert(x && y && ref);
    const double canary = -1234.5678;
    for (size_t i = 0; i < xlen; ++i)
        x[i] = canary;
    for (size_t i = 0; i < n; ++i)
        x[xoff + i] = i < N_SPECIALS ? specials[i] : random_input(&r, &a);
    if (n && n < N_SPECIALS)
        x[xoff] = specials[tu_next(&r) % N_SPECIALS];
    ck_assert_int_eq(clact_reference_forward(&a, CLACT_F64, n, x + xoff, ref), CLACT_OK);

    cl_mem xb = tu_buffer_dt(CLACT_F64, xlen, CL_MEM_READ_WRITE);
    cl_mem yb = inplace ? xb : tu_buffer_dt(CLACT_F64, ylen, CL_MEM_READ_WRITE);
    tu_write_dt(CLACT_F64, xb, 0, xlen, x);
    if (!inplace) {
        for (size_t i = 0; i < ylen; ++i)
            y[i] = canary;
        tu_write_dt(CLACT_F64, yb, 0, ylen, y);
        tu_poison_dt(CLACT_F64, yb, yoff, n);
    }
    size_t off = inplace ? xoff : yoff;
    clact_status st = clact_forward(tu_ctx(), &a, CLACT_F64, n, xb, xoff, yb, off, 0, NULL, NULL);
    ck_assert_msg(st == CLACT_OK, "%s: %s", label, clact_context_last_error(tu_ctx()));
    size_t len = inplace ? xlen : ylen;
    ck_assert_msg(tu_read_dt(CLACT_F64, yb, off, n, y + off), "%s: an element was not written",
                  label);
    tu_read_dt(CLACT_F64, yb, 0, off, y);
    tu_read_dt(CLACT_F64, yb, off + n, len - off - n, y + off + n);
    for (size_t i = 0; i < len; ++i)
        if ((i < off || i >= off + n) && memcmp(&y[i], &canary, 8))
            ck_abort_msg("%s: element %zu outside the range was written", label, i);
    if (!inplace) {
        double *xa = malloc(xlen * sizeof *xa);
        ck_assert(xa != NULL);
        tu_read_dt(CLACT_F64, xb, 0, xlen, xa);
        ck_assert_msg(!memcmp(xa, x, xlen * sizeof *x), "%s: input modified", label);
        free(xa);
    }
    for (size_t i = 0; i < n; ++i) {
        double got = y[off + i], u = ulp64(got, ref[i]);
        if (!close64(got, ref[i], BOUND(c->ulp64)))
            ck_abort_msg("%s: x[%zu] = %a (%.17g): got %.17g (%a), reference %.17g, %.1f ulp",
                         label, i, x[xoff + i], x[xoff + i], got, got, ref[i], u);
        if (isfinite(u) && ci < MAX_ROWS && u > worst[ci]) {
            worst[ci] = u;
            worst_at[ci] = x[xoff + i];
        }
    }
    if (!inplace)
        clReleaseMemObject(yb);
    clReleaseMemObject(xb);
    free(x), free(y), free(ref);
}

static const size_t sizes[] = {0, 1, 3, 4, 5, 7, 8, 9, 17, 33, 4099, 1u << 16};

START_TEST(f64_activation_against_reference) {
    /* The last size (1<<16) is left out under CLACT_TEST_QUICK (valgrind), 4099 as well at
     * level 2 (oclgrind). */
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0] - (size_t)tu_quick(); ++s) {
        run(_i, sizes[s], 0, 0, 0);
        run(_i, sizes[s], 13, 29, 0);
        run(_i, sizes[s], 21, 21, 1);
    }
}
END_TEST

/* The special-value table of SEMANTICS.md holds in f64 too, for every op (op_table.c's rows):
 * PyTorch's outputs exactly for ±inf and NaN; at ±1e300, beyond float's range, what the table's
 * ±1e30 column implies (a constant stays that constant; a value that grows with x, as x or as
 * slope * x, grows by the same factor 1e270), to 1e-15; and at -0 the long-double reference to
 * 1e-15 (softplus(-0) = log 2). gelu(-1e300) is -0 or 0 where PyTorch computes 0.5 x (1 + erf). */
START_TEST(f64_special_values) {
    static const double in[6] = {-INFINITY, INFINITY, NAN, -1e300, 1e300, -0.0};
    /* The column of tu_special_in each input takes its expectation from. */
    static const int column[6] = {0, 6, 7, 1, 5, 3};
    cl_mem b = tu_buffer_dt(CLACT_F64, 6, CL_MEM_READ_WRITE);
    for (int op = 0; op < CLACT_OP_COUNT; ++op) {
        if (!clact_op_elementwise((clact_op)op))
            continue; /* glu: its own suite */
        const tu_op_row *row = tu_op_default_row((clact_op)op);
        ck_assert_msg(row, "op %s has no default row in tests/op_table.c", clact_op_name(op));
        clact_activation a = tu_op_default_act((clact_op)op);
        double y[6], want[6];
        for (int i = 0; i < 6; ++i) {
            double w = row->special[column[i]];
            want[i] = i < 3 || fabs(w) < 1e20 ? w : w * 1e270;
        }
        ck_assert_int_eq(clact_reference_forward(&a, CLACT_F64, 1, &in[5], &want[5]), CLACT_OK);
        tu_write_dt(CLACT_F64, b, 0, 6, in);
        ck_assert_int_eq(clact_forward(tu_ctx(), &a, CLACT_F64, 6, b, 0, b, 0, 0, NULL, NULL),
                         CLACT_OK);
        tu_read_dt(CLACT_F64, b, 0, 6, y);
        for (int i = 0; i < 6; ++i) {
            int ok = isnan(want[i])
                         ? isnan(y[i])
                         : y[i] == want[i] || fabs(y[i] - want[i]) <= 1e-15 * fabs(want[i]) ||
                               /* a constant of the op (selu's alpha * scale at -inf and
                                * -1e300), which the float table holds rounded to float; the
                                * f64 value itself is checked on random inputs above */
                               (fabs(want[i]) < 1e20 && (float)y[i] == (float)want[i]) ||
                               /* selu's scale * 1e300, from the table's float 1.050701e30 */
                               (fabs(want[i]) >= 1e20 && fabs(y[i] - want[i]) <= 6e-8 * fabs(want[i]));
            ck_assert_msg(ok, "f64 %s(%g) = %.17g, want %.17g", clact_op_name(op), in[i], y[i],
                          want[i]);
        }
    }
    clReleaseMemObject(b);
}
END_TEST

/* Softmax family in f64 on every path. softmax: exp(t) / sum with t = x - max, whose rounding
 * (|t| 2^-53, as in PyTorch's formula) exp turns into relative error; |t| <= |ln y| + ln C. So
 * (16 + |ln y| + ln C) ulps relative (exp 3 ulp, the scaling, a sum kept compensated) where the
 * output is above 1e-280. log_softmax: 16 ulps of its magnitude or 1e-15 absolute near 0.
 * Backward sums cancel: 4e-14 of the largest term. */
static void run_softmax64(clact_softmax_kind kind, int ndim, const size_t *shape, int dim,
                          const char *path, int backward, int big) {
    size_t total = 1;
    for (int i = 0; i < ndim; ++i)
        total *= shape[i];
    char label[160];
    snprintf(label, sizeof label, "f64 %s%s ndim %d dim %d total %zu path %s%s",
             clact_softmax_kind_name(kind), backward ? " backward" : "", ndim, dim, total,
             path ? path : "default", big ? " big logits" : "");
    tu_rng r = tu_rng_for(label, 0);
    double *x = malloc(total * sizeof *x), *g = malloc(total * sizeof *g),
           *y = malloc(total * sizeof *y), *ref = malloc(total * sizeof *ref);
    ck_assert(x && g && y && ref);
    for (size_t i = 0; i < total; ++i)
        x[i] = big ? (tu_next(&r) & 1 ? 1e4 : -1e4) + tu_uniform(&r, 88, 1000)
                   : tu_uniform(&r, -20, 20);
    if (backward) {
        ck_assert_int_eq(clact_reference_softmax(kind, 0, ndim, shape, dim, x, y), CLACT_OK);
        memcpy(x, y, total * sizeof *x);
        for (size_t i = 0; i < total; ++i)
            g[i] = tu_uniform(&r, -2, 2);
        ck_assert_int_eq(clact_reference_softmax_backward(kind, ndim, shape, dim, x, g, ref),
                         CLACT_OK);
    } else {
        ck_assert_int_eq(clact_reference_softmax(kind, 0, ndim, shape, dim, x, ref), CLACT_OK);
    }
    cl_mem xb = tu_buffer_dt(CLACT_F64, total, CL_MEM_READ_WRITE);
    cl_mem gb = tu_buffer_dt(CLACT_F64, total, CL_MEM_READ_WRITE);
    cl_mem yb = tu_buffer_dt(CLACT_F64, total, CL_MEM_READ_WRITE);
    tu_write_dt(CLACT_F64, xb, 0, total, x);
    tu_write_dt(CLACT_F64, gb, 0, total, g);
    tu_poison_dt(CLACT_F64, yb, 0, total);
    if (path)
        tu_setenv("CLACT_SOFTMAX_PATH", path);
    clact_status st = backward ? clact_softmax_backward(tu_ctx(), kind, CLACT_F64, ndim, shape, dim,
                                                        xb, 0, gb, 0, yb, 0, 0, NULL, NULL)
                               : clact_softmax(tu_ctx(), kind, 0, CLACT_F64, ndim, shape, dim, xb,
                                               0, yb, 0, 0, NULL, NULL);
    tu_setenv("CLACT_SOFTMAX_PATH", NULL);
    ck_assert_msg(st == CLACT_OK, "%s: %s", label, clact_context_last_error(tu_ctx()));
    ck_assert_msg(tu_read_dt(CLACT_F64, yb, 0, total, y), "%s: an element was not written", label);
    double scale = 0;
    for (size_t i = 0; i < total; ++i)
        scale = fmax(scale, fabs(backward ? g[i] * x[i] : 0));
    for (size_t i = 0; i < total; ++i) {
        double err = fabs(y[i] - ref[i]), a = fabs(ref[i]);
        int ok;
        if (backward)
            ok = err <= 1e-14 * (a + scale + 1e-300) * 4;
        else if (kind == CLACT_LOG_SOFTMAX)
            ok = err <= BOUND(16) * 0x1p-52 * a + 1e-15;
        else
            ok = a < 1e-280
                     ? err <= 1e-295
                     : err <= BOUND(16 + fabs(log(a)) + log((double)shape[dim])) * 0x1p-52 * a;
        if (!ok)
            ck_abort_msg("%s: element %zu: got %.17g, reference %.17g", label, i, y[i], ref[i]);
    }
    clReleaseMemObject(xb), clReleaseMemObject(gb), clReleaseMemObject(yb);
    free(x), free(g), free(y), free(ref);
}

START_TEST(f64_softmax) {
    const clact_softmax_kind kind = (clact_softmax_kind)_i;
    /* At CLACT_TEST_QUICK=2 (oclgrind) the split rows are 9000 long (still split). */
    const size_t rows[2] = {33, 1000}, few[2] = {2, tu_quick() >= 2 ? 9000 : 100003},
                 s3[3] = {4, 37, 6};
    run_softmax64(kind, 2, rows, 1, NULL, 0, 0);
    run_softmax64(kind, 2, rows, 1, NULL, 0, 1);
    run_softmax64(kind, 2, rows, 1, "group", 0, 0);
    run_softmax64(kind, 2, few, 1, "split", 0, 0);
    run_softmax64(kind, 3, s3, 1, NULL, 0, 0);
    run_softmax64(kind, 3, s3, 2, NULL, 0, 1);
    run_softmax64(kind, 2, rows, 1, NULL, 1, 0);
    run_softmax64(kind, 3, s3, 0, NULL, 1, 0);
}
END_TEST

/* CLACT_NO_FP64: a context that acts as if the device lacked cl_khr_fp64 rejects f64 in every
 * operation, with a message naming the extension and the device, and writes nothing. */
START_TEST(f64_unsupported_without_fp64) {
    setenv("CLACT_NO_FP64", "1", 1);
    clact_context *c = NULL;
    clact_status st = clact_context_create(&c, NULL);
    unsetenv("CLACT_NO_FP64");
    ck_assert_int_eq(st, CLACT_OK);
    cl_int err;
    cl_mem b = clCreateBuffer(clact_context_cl_context(c), CL_MEM_READ_WRITE, 64 * 8, NULL, &err);
    cl_mem t = clCreateBuffer(clact_context_cl_context(c), CL_MEM_READ_WRITE, 8 * 8, NULL, &err);
    ck_assert(b && t);
    unsigned char ff = 0xff;
    ck_assert_int_eq(
        clEnqueueFillBuffer(clact_context_queue(c), b, &ff, 1, 0, 64 * 8, 0, NULL, NULL),
        CL_SUCCESS);
    ck_assert_int_eq(clEnqueueFillBuffer(clact_context_queue(c), t, (unsigned char[1]){0}, 1, 0, 64,
                                         0, NULL, NULL),
                     CL_SUCCESS);
    clact_activation a = clact_activation_default(CLACT_GELU);
    size_t shape[2] = {4, 8};
    clact_cross_entropy_desc d = clact_cross_entropy_default();
    cl_event ev = (cl_event)1;
    const clact_status got[] = {
        clact_forward(c, &a, CLACT_F64, 8, b, 0, b, 32, 0, NULL, &ev),
        clact_forward(c, &a, CLACT_F64, 0, b, 0, b, 0, 0, NULL, NULL),
        clact_softmax(c, CLACT_LOG_SOFTMAX, 0, CLACT_F64, 2, shape, 1, b, 0, b, 32, 0, NULL, NULL),
        clact_softmax_backward(c, CLACT_SOFTMAX, CLACT_F64, 1, shape, 0, b, 0, b, 8, b, 32, 0, NULL,
                               NULL),
        clact_cross_entropy(c, &d, CLACT_F64, 2, shape, b, 0, t, 0, NULL, 0, b, 40, b, 32, 0, NULL,
                            NULL),
    };
    for (size_t i = 0; i < sizeof got / sizeof got[0]; ++i) {
        ck_assert_msg(got[i] == CLACT_UNSUPPORTED, "call %zu: %s", i, clact_status_name(got[i]));
    }
    const char *msg = clact_context_last_error(c);
    ck_assert_msg(strstr(msg, "cl_khr_fp64") && strstr(msg, "cross_entropy"), "%s", msg);
    ck_assert_ptr_null(ev);
    /* f32 still works on that context. */
    ck_assert_int_eq(clact_forward(c, &a, CLACT_F32, 8, t, 0, t, 0, 0, NULL, NULL), CLACT_OK);
    unsigned char bytes[64 * 8];
    ck_assert_int_eq(clEnqueueReadBuffer(clact_context_queue(c), b, CL_TRUE, 0, sizeof bytes, bytes,
                                         0, NULL, NULL),
                     CL_SUCCESS);
    for (size_t i = 0; i < sizeof bytes; ++i)
        ck_assert_msg(bytes[i] == 0xff, "byte %zu written by a rejected call", i);
    clReleaseMemObject(b);
    clReleaseMemObject(t);
    clact_context_destroy(c);
}
END_TEST

static void report(void) {
    printf("worst error in double ulp per op on this device (seed %llu)%s:\n",
           (unsigned long long)tu_seed(),
           tu_wide_reference() ? "" : " (long double is not wider than double here: bounds 4096 ulp)");
    for (int i = 0; i < tu_op_row_count && i < MAX_ROWS; ++i)
        printf("  %-18s %10.2f ulp  at x = %.17g\n", tu_op_rows[i].label, worst[i], worst_at[i]);
}

Suite *f64_suite(void);
Suite *f64_suite(void) {
    Suite *s = suite_create("f64");
    TCase *tc = tcase_create("f64");
    tcase_set_timeout(tc, 900);
    tcase_add_unchecked_fixture(tc, NULL, report);
    tcase_add_loop_test(tc, f64_activation_against_reference, 0, tu_op_row_count);
    tcase_add_test(tc, f64_special_values);
    tcase_add_loop_test(tc, f64_softmax, CLACT_SOFTMAX, CLACT_SOFTMIN + 1);
    tcase_add_test(tc, f64_unsupported_without_fp64);
    suite_add_tcase(s, tc);
    return s;
}
