/* SPDX-License-Identifier: MIT */
/* f16 and bf16 storage, exhaustively: every one of the 65536 bit patterns of each type through
 * every activation (default and non-default parameters), against the double-precision reference
 * rounded to the type (round to nearest even). The kernels compute in float and round once on
 * store, so the result must be the correctly rounded value or, where the float result sat within
 * a few float ulp of a rounding boundary, its neighbour: at most 1 ulp of the storage type
 * (benchdnn's rule for these types). NaN only where the reference is NaN; ±inf exactly. Also a
 * count that is not a multiple of the vector width, offsets, in place, and canaries. Each op runs
 * both ways, through its kernel and through its 16-bit lookup table (host/table.c), which must
 * give the same bits. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "op_table.h"
#include "testutil.h"

/* One path (CLACT_TABLES=0: the op's kernel; 1: its 16-bit lookup table, built by that kernel)
 * in three layouts, each against the reference; out[layout] keeps the bits written. */
static void run_path(clact_dtype dt, clact_activation act, const char *label, int tables,
                     const uint16_t *x, const double *ref, int N, uint16_t *out[3]) {
    enum { OFF = 3, G = 5 };
    uint16_t *y = malloc((N + OFF + G) * 2);
    ck_assert(y);
    tu_setenv("CLACT_TABLES", tables ? "1" : "0");
    cl_int err;
    cl_context cl = clact_context_cl_context(tu_ctx());
    cl_command_queue q = clact_context_queue(tu_ctx());
    const char *path = tables ? "table" : "kernel";
    for (int layout = 0; layout < 3; ++layout) {
        /* layout 0: out of place, input at 0, output at OFF, n = N; layout 1: in place at OFF,
         * n = N - 3 (a tail that is not a whole vector); layout 2: out of place, output at 2
         * elements (4 bytes: the kernels store pairs of 16-bit elements as uints where the
         * output address allows, and an odd offset such as OFF never does). */
        size_t n = layout == 1 ? N - 3 : N, off = layout == 2 ? 2 : OFF;
        uint16_t canary = 0x5a5a;
        for (int i = 0; i < N + OFF + G; ++i)
            y[i] = canary;
        cl_mem xb = clCreateBuffer(cl, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, N * 2,
                                   (void *)x, &err);
        if (layout)
            memcpy(y + off, x, n * 2);
        cl_mem yb = clCreateBuffer(cl, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, (N + OFF + G) * 2,
                                   y, &err);
        ck_assert(xb && yb);
        clact_status st =
            layout == 1 ? clact_forward(tu_ctx(), &act, dt, n, yb, off, yb, off, 0, NULL, NULL)
                        : clact_forward(tu_ctx(), &act, dt, n, xb, 0, yb, off, 0, NULL, NULL);
        ck_assert_msg(st == CLACT_OK, "%s %s (%s): %s", label, clact_dtype_name(dt), path,
                      clact_context_last_error(tu_ctx()));
        ck_assert_int_eq(
            clEnqueueReadBuffer(q, yb, CL_TRUE, 0, (N + OFF + G) * 2, y, 0, NULL, NULL),
            CL_SUCCESS);
        for (int i = 0; i < N + OFF + G; ++i)
            if ((i < (int)off || i >= (int)(off + n)) && y[i] != canary)
                ck_abort_msg("%s %s (%s): element %d outside the range written", label,
                             clact_dtype_name(dt), path, i);
        for (size_t i = 0; i < n; ++i) {
            uint16_t got = y[off + i], want = tu_round16(dt, ref[i]);
            double g = tu_decode16(dt, got), w = tu_decode16(dt, want);
            int ok;
            if (isnan(ref[i]))
                ok = isnan(g);
            else if (isnan(g) || isinf(w) || isinf(g))
                ok = g == w;
            else if (g == 0 && w == 0)
                ok = 1;
            else
                ok = labs(tu_order16(got) - tu_order16(want)) <= 1;
            if (!ok)
                ck_abort_msg("%s %s (%s), layout %d: x = %a: got %a (0x%04x), want %a (0x%04x), "
                             "exact %.17g",
                             label, clact_dtype_name(dt), path, layout, tu_decode16(dt, x[i]), g,
                             got, w, want, ref[i]);
        }
        memcpy(out[layout], y + off, n * 2);
        clReleaseMemObject(xb);
        clReleaseMemObject(yb);
    }
    tu_setenv("CLACT_TABLES", NULL);
    free(y);
}

static void run_dtype(clact_dtype dt, clact_activation act, const char *label) {
    /* Every bit pattern; under CLACT_TEST_QUICK (valgrind) every 61st. */
    const int N = tu_quick() ? 65536 / 61 : 65536;
    uint16_t *x = malloc(N * 2), *out[2][3];
    double *xd = malloc(N * sizeof *xd), *ref = malloc(N * sizeof *ref);
    ck_assert(x && xd && ref);
    for (int t = 0; t < 2; ++t)
        for (int l = 0; l < 3; ++l)
            ck_assert_ptr_nonnull(out[t][l] = malloc(N * 2));
    for (int i = 0; i < N; ++i) {
        x[i] = (uint16_t)(tu_quick() ? i * 61 : i);
        xd[i] = tu_decode16(dt, x[i]);
    }
    ck_assert_int_eq(clact_reference_forward(&act, dt, N, xd, ref), CLACT_OK);
    /* Both paths, each within 1 ulp of the reference, and then the same bits: the table is the
     * kernel's own output (NaN payloads included), whatever the layout. rrelu in training never
     * uses a table (random slopes), so there both runs take the kernel. */
    for (int t = 0; t < 2; ++t)
        run_path(dt, act, label, t, x, ref, N, out[t]);
    for (int l = 0; l < 3; ++l) {
        int n = l == 1 ? N - 3 : N;
        for (int i = 0; i < n; ++i)
            if (out[0][l][i] != out[1][l][i])
                ck_abort_msg("%s %s, layout %d: x = 0x%04x: kernel 0x%04x, table 0x%04x", label,
                             clact_dtype_name(dt), l, x[i], out[0][l][i], out[1][l][i]);
    }
    for (int t = 0; t < 2; ++t)
        for (int l = 0; l < 3; ++l)
            free(out[t][l]);
    free(x);
    free(xd);
    free(ref);
}

START_TEST(dtypes_exhaustive) {
    /* Every row of the test table (op_table.c): each op with its defaults and the parameters
     * the table tries. */
    const clact_dtype dt = _i < tu_op_row_count ? CLACT_F16 : CLACT_BF16;
    const tu_op_row *row = &tu_op_rows[_i % tu_op_row_count];
    run_dtype(dt, tu_op_act(row), row->label);
}
END_TEST

START_TEST(dtype_rounding_helpers) {
    /* The test's own conversions, on values worked out by hand. */
    ck_assert_uint_eq(tu_round16(CLACT_F16, 1.0), 0x3c00);
    ck_assert_uint_eq(tu_round16(CLACT_F16, 65504.0), 0x7bff);
    ck_assert_uint_eq(tu_round16(CLACT_F16, 65520.0), 0x7c00); /* half-way to 65536: overflows */
    ck_assert_uint_eq(tu_round16(CLACT_F16, 65519.0), 0x7bff);
    ck_assert_uint_eq(tu_round16(CLACT_F16, 1.0 + 1.0 / 2048), 0x3c00); /* tie: to even */
    ck_assert_uint_eq(tu_round16(CLACT_F16, 1.0 + 3.0 / 2048), 0x3c02);
    ck_assert_uint_eq(tu_round16(CLACT_F16, ldexp(1, -25)), 0x0000); /* tie with 0: even */
    ck_assert_uint_eq(tu_round16(CLACT_F16, -ldexp(3, -26)), 0x8001);
    ck_assert_uint_eq(tu_round16(CLACT_BF16, 1.0), 0x3f80);
    ck_assert_uint_eq(tu_round16(CLACT_BF16, 1.0 + 1.0 / 256), 0x3f80); /* tie: to even */
    ck_assert_uint_eq(tu_round16(CLACT_BF16, 1.0 + 3.0 / 256), 0x3f82);
    ck_assert_uint_eq(tu_round16(CLACT_BF16, -2.0), 0xc000);
    ck_assert(tu_decode16(CLACT_F16, 0x0001) == ldexp(1, -24));
    ck_assert(isnan(tu_decode16(CLACT_F16, 0x7e00)) && isinf(tu_decode16(CLACT_BF16, 0xff80)));
}
END_TEST

Suite *dtypes_suite(void);
Suite *dtypes_suite(void) {
    Suite *s = suite_create("dtypes");
    TCase *tc = tcase_create("f16_bf16");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, dtype_rounding_helpers);
    tcase_add_loop_test(tc, dtypes_exhaustive, 0, 2 * tu_op_row_count);
    suite_add_tcase(s, tc);
    return s;
}
