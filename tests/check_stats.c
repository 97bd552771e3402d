/* SPDX-License-Identifier: MIT */
/* The training diagnostics against the CPU reference: clact_unit_stats (dead and saturated unit
 * counts, accumulated, saturating at UINT_MAX) and clact_sum_squares (a gradient's squared
 * norm), every dtype (f64 where the device has cl_khr_fp64), random values with exact zeros,
 * NaN and values at the thresholds and one ulp either side, element offsets, outputs poisoned
 * with canaries after them, specials and argument errors.
 *
 * Bounds: unit_stats is exact (integer counts of exact comparisons). sum_squares: each square
 * rounds once (u, the compute type's unit roundoff), each work-item's compensated sum adds about
 * u more, and the group's halving tree adds at most log2(256) = 8 roundings; all terms are
 * non-negative, so the relative error is at most about (8 + 3) u. 16 u is the bound. */
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

static const clact_dtype dtypes[] = {CLACT_F32, CLACT_F16, CLACT_BF16, CLACT_F64};
#define NDT (int)(sizeof dtypes / sizeof dtypes[0])

/* The value next to v in dtype dt's format, towards `to`. */
static double next_dt(clact_dtype dt, double v, double to) {
    if (dt == CLACT_F64)
        return nextafter(v, to);
    if (dt == CLACT_F32)
        return nextafterf((float)v, (float)to);
    uint16_t b = tu_round16(dt, v);
    long o = tu_order16(b);
    /* tu_order16 maps the 16-bit patterns onto a monotone integer line; step along it. */
    for (uint32_t c = 0; c < 65536; ++c)
        if (tu_order16((uint16_t)c) == o + (to > v ? 1 : -1))
            return tu_decode16(dt, (uint16_t)c);
    return v;
}

START_TEST(unit_stats_against_reference) {
    clact_dtype dt = dtypes[_i % NDT];
    if (dt == CLACT_F64 && !tu_has_fp64())
        return;
    static const size_t shapes[][2] = {{1, 1}, {7, 33}, {300, 257}};
    size_t rows = shapes[_i / NDT][0], units = shapes[_i / NDT][1], n = rows * units;
    char label[96];
    snprintf(label, sizeof label, "unit_stats %s %zux%zu", clact_dtype_name(dt), rows, units);
    tu_rng r = tu_rng_for(label, 0);
    const double lo = -0.99, hi = 0.99;
    double tl = tu_round_dt(dt, lo), th = tu_round_dt(dt, hi);
    double *y = malloc(n * sizeof *y);
    ck_assert_ptr_nonnull(y);
    for (size_t i = 0; i < n; ++i) {
        /* Some units (every 5th) are dead on purpose: always zero. */
        size_t u = i % units;
        uint64_t pick = tu_next(&r) % 10;
        double v = tu_uniform(&r, -1.5, 1.5);
        if (u % 5 == 3 || pick == 0)
            v = (pick & 1) ? -0.0 : 0.0;
        else if (pick == 1)
            v = NAN;
        else if (pick == 2)
            v = (tu_next(&r) & 1) ? th : tl;
        else if (pick == 3)
            v = next_dt(dt, (tu_next(&r) & 1) ? th : tl, 0.0);
        else if (pick == 4)
            v = next_dt(dt, (tu_next(&r) & 1) ? th : tl, (tu_next(&r) & 1) ? 2.0 : -2.0);
        y[i] = tu_round_dt(dt, v);
    }
    /* Counts start random (the op adds), a few near UINT_MAX (it saturates). */
    size_t off = 3;
    unsigned *want = malloc((2 * units + off + 4) * sizeof *want);
    unsigned *got = malloc((2 * units + off + 4) * sizeof *got);
    ck_assert_ptr_nonnull(want);
    ck_assert_ptr_nonnull(got);
    for (size_t i = 0; i < 2 * units + off + 4; ++i)
        want[i] = (i % 7 == 1) ? UINT_MAX - (unsigned)(tu_next(&r) % 4) : (unsigned)(tu_next(&r) % 1000);
    cl_mem ym = tu_buffer_dt(dt, n + 2, CL_MEM_READ_WRITE);
    tu_poison_dt(dt, ym, 0, 2);
    tu_write_dt(dt, ym, 2, n, y);
    cl_int err;
    cl_mem cm = clCreateBuffer(clact_context_cl_context(tu_ctx()), CL_MEM_READ_WRITE,
                               (2 * units + off + 4) * sizeof(unsigned), NULL, &err);
    ck_assert_int_eq(err, CL_SUCCESS);
    cl_command_queue q = clact_context_queue(tu_ctx());
    ck_assert_int_eq(clEnqueueWriteBuffer(q, cm, CL_TRUE, 0, (2 * units + off + 4) * sizeof(unsigned),
                                          want, 0, NULL, NULL),
                     CL_SUCCESS);
    ck_assert_int_eq(clact_unit_stats(tu_ctx(), dt, rows, units, (clact_buffer){ym, 2}, lo, hi,
                                      (clact_buffer){cm, off}, 0, NULL, NULL),
                     CLACT_OK);
    ck_assert_int_eq(clEnqueueReadBuffer(q, cm, CL_TRUE, 0, (2 * units + off + 4) * sizeof(unsigned),
                                         got, 0, NULL, NULL),
                     CL_SUCCESS);
    ck_assert_int_eq(clact_reference_unit_stats(dt, rows, units, y, lo, hi, want + off), CLACT_OK);
    for (size_t i = 0; i < 2 * units + off + 4; ++i)
        ck_assert_msg(got[i] == want[i], "%s: count %zu (%s of unit %zu) is %u, want %u", label, i,
                      i < off || i >= off + 2 * units ? "outside the counts"
                      : i - off < units            ? "live"
                                                   : "saturated",
                      (i - off) % (units ? units : 1), got[i], want[i]);
    /* The dead units counted no live row. */
    for (size_t u = 3; u < units; u += 5)
        ck_assert_msg(got[off + u] == want[off + u], "%s: dead unit %zu", label, u);
    free(y);
    free(want);
    free(got);
    clReleaseMemObject(ym);
    clReleaseMemObject(cm);
}
END_TEST

/* One sum_squares run of x (n values) into slot 1 of a poisoned 4-slot out; returns the value
 * and checks the other slots were not touched. */
static double run_sum(clact_dtype dt, const double *x, size_t n, const char *label) {
    size_t rs = dt == CLACT_F64 ? 8 : 4;
    cl_mem xm = tu_buffer_dt(dt, n + 5, CL_MEM_READ_WRITE);
    tu_poison_dt(dt, xm, 0, n + 5);
    if (n)
        tu_write_dt(dt, xm, 5, n, x);
    cl_int err;
    cl_mem om = clCreateBuffer(clact_context_cl_context(tu_ctx()), CL_MEM_READ_WRITE, 4 * rs, NULL,
                               &err);
    ck_assert_int_eq(err, CL_SUCCESS);
    unsigned char poison[32];
    memset(poison, 0xA5, sizeof poison);
    cl_command_queue q = clact_context_queue(tu_ctx());
    ck_assert_int_eq(clEnqueueWriteBuffer(q, om, CL_TRUE, 0, 4 * rs, poison, 0, NULL, NULL),
                     CL_SUCCESS);
    ck_assert_msg(clact_sum_squares(tu_ctx(), dt, n, (clact_buffer){xm, 5}, (clact_buffer){om, 1}, 0,
                                    NULL, NULL) == CLACT_OK,
                  "%s: %s", label, clact_context_last_error(tu_ctx()));
    unsigned char out[32];
    ck_assert_int_eq(clEnqueueReadBuffer(q, om, CL_TRUE, 0, 4 * rs, out, 0, NULL, NULL), CL_SUCCESS);
    ck_assert_msg(!memcmp(out, poison, rs) && !memcmp(out + 2 * rs, poison, 2 * rs),
                  "%s: wrote outside its slot", label);
    ck_assert_msg(memcmp(out + rs, poison, rs), "%s: did not write its slot", label);
    double v;
    if (dt == CLACT_F64) {
        memcpy(&v, out + rs, 8);
    } else {
        float f;
        memcpy(&f, out + rs, 4);
        v = f;
    }
    clReleaseMemObject(xm);
    clReleaseMemObject(om);
    return v;
}

START_TEST(sum_squares_against_reference) {
    clact_dtype dt = dtypes[_i % NDT];
    if (dt == CLACT_F64 && !tu_has_fp64())
        return;
    static const size_t sizes[] = {0, 1, 255, 256, 257, 4099, 200704};
    size_t n = sizes[_i / NDT];
    if (tu_quick() && n > 5000)
        n = 5000;
    char label[96];
    snprintf(label, sizeof label, "sum_squares %s n=%zu", clact_dtype_name(dt), n);
    tu_rng r = tu_rng_for(label, 0);
    double *x = malloc((n ? n : 1) * sizeof *x);
    ck_assert_ptr_nonnull(x);
    /* Gradient-like values over several binades, of both signs. */
    for (size_t i = 0; i < n; ++i)
        x[i] = tu_round_dt(dt, tu_uniform(&r, -1, 1) * pow(2.0, (double)(tu_next(&r) % 12) - 10));
    double want, got = run_sum(dt, x, n, label);
    ck_assert_int_eq(clact_reference_sum_squares(n, x, &want), CLACT_OK);
    if (dt != CLACT_F64)
        want = (double)(float)want;
    double u = dt == CLACT_F64 ? DBL_EPSILON / 2 : FLT_EPSILON / 2;
    /* Where long double is not wider than double (tu_wide_reference: under valgrind's x87
     * emulation), the f64 reference's own sum of n positive terms carries up to n u of relative
     * error, which the f64 bound adds (it still catches a sum kept in float by 10^4 at the sizes
     * tested). */
    double bound = 16 * u + (dt == CLACT_F64 && !tu_wide_reference() ? (double)n * u : 0.0);
    free(x);
    ck_assert_msg(!isnan(got) && fabs(got - want) <= bound * want,
                  "%s (seed %llu): %.17g, want %.17g (%.3g u)", label,
                  (unsigned long long)tu_seed(), got, want, fabs(got - want) / (u * want));
}
END_TEST

START_TEST(sum_squares_specials) {
    double x[300];
    for (int i = 0; i < 300; ++i)
        x[i] = 0.5;
    x[7] = INFINITY;
    ck_assert(run_sum(CLACT_F32, x, 300, "inf") == INFINITY);
    x[7] = -INFINITY;
    ck_assert(run_sum(CLACT_F32, x, 300, "-inf") == INFINITY);
    x[7] = NAN;
    ck_assert(isnan(run_sum(CLACT_F32, x, 300, "nan")));
    x[7] = 0.5;
    x[299] = FLT_MAX;
    ck_assert(run_sum(CLACT_F32, x, 300, "overflow") == INFINITY);
    x[299] = 0.5;
    ck_assert(run_sum(CLACT_F32, x, 300, "plain") == 75.0);
    ck_assert(run_sum(CLACT_F32, x, 0, "empty") == 0.0);
    /* Subnormal squares underflow to 0 in float, as torch's float norm does. */
    x[0] = 1e-30;
    ck_assert(run_sum(CLACT_F32, x, 1, "tiny") == 0.0);
}
END_TEST

START_TEST(stats_errors) {
    clact_context *ctx = tu_ctx();
    cl_mem m = tu_buffer_dt(CLACT_F32, 64, CL_MEM_READ_WRITE);
    tu_poison_dt(CLACT_F32, m, 0, 64);
    clact_buffer y = {m, 0}, c = {m, 40}, none = {NULL, 0};
    ck_assert_int_eq(clact_unit_stats(ctx, CLACT_F32, 4, 4, none, -1, 1, c, 0, NULL, NULL),
                     CLACT_INVALID_ARGUMENT);
    ck_assert_int_eq(clact_unit_stats(ctx, CLACT_F32, 4, 4, y, NAN, 1, c, 0, NULL, NULL),
                     CLACT_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(clact_context_last_error(ctx), "lo and hi"));
    /* counts past the end (2 x 16 from 40 > 64), and counts over y. */
    ck_assert_int_eq(clact_unit_stats(ctx, CLACT_F32, 1, 16, y, -1, 1, c, 0, NULL, NULL),
                     CLACT_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(clact_context_last_error(ctx), "counts"));
    ck_assert_int_eq(clact_unit_stats(ctx, CLACT_F32, 4, 4, y, -1, 1, (clact_buffer){m, 8}, 0,
                                      NULL, NULL),
                     CLACT_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(clact_context_last_error(ctx), "overlap"));
    ck_assert_int_eq(clact_unit_stats(ctx, CLACT_F32, SIZE_MAX / 2, 4, y, -1, 1, c, 0, NULL, NULL),
                     CLACT_INVALID_ARGUMENT);
    ck_assert_int_eq(clact_unit_stats(ctx, (clact_dtype)99, 4, 4, y, -1, 1, c, 0, NULL, NULL),
                     CLACT_INVALID_ARGUMENT);
    ck_assert_int_eq(clact_sum_squares(ctx, CLACT_F32, 8, y, none, 0, NULL, NULL),
                     CLACT_INVALID_ARGUMENT);
    ck_assert_int_eq(clact_sum_squares(ctx, CLACT_F32, 65, y, c, 0, NULL, NULL),
                     CLACT_INVALID_ARGUMENT);
    ck_assert_int_eq(clact_sum_squares(ctx, CLACT_F32, 8, y, (clact_buffer){m, 64}, 0, NULL, NULL),
                     CLACT_INVALID_ARGUMENT);
    ck_assert_int_eq(clact_sum_squares(NULL, CLACT_F32, 8, y, c, 0, NULL, NULL),
                     CLACT_INVALID_ARGUMENT);
    double out[64];
    ck_assert_msg(!tu_read_dt(CLACT_F32, m, 0, 64, out), "a failed call wrote");
    ck_assert_int_eq(clact_reference_unit_stats(CLACT_F32, 2, 2, NULL, -1, 1, NULL),
                     CLACT_INVALID_ARGUMENT);
    ck_assert_int_eq(clact_reference_sum_squares(2, NULL, out), CLACT_INVALID_ARGUMENT);
    clReleaseMemObject(m);
}
END_TEST

Suite *stats_suite(void);
Suite *stats_suite(void) {
    Suite *s = suite_create("stats");
    TCase *tc = tcase_create("stats");
    tcase_set_timeout(tc, 600);
    tcase_add_loop_test(tc, unit_stats_against_reference, 0, 3 * NDT);
    tcase_add_loop_test(tc, sum_squares_against_reference, 0, 7 * NDT);
    tcase_add_test(tc, sum_squares_specials);
    tcase_add_test(tc, stats_errors);
    suite_add_tcase(s, tc);
    return s;
}
