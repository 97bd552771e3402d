/* SPDX-License-Identifier: MIT */
/* Every activation, default and non-default parameters, against the CPU reference: special
 * values, values near thresholds and exp overflow, random values of every magnitude drawn from
 * the run's seed; sizes around the vector width; offsets; in-place; canaries around every output
 * and a poisoned output range, so that an element written out of range or not written fails. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "op_table.h"
#include "testutil.h"

#define CANARY 0xC49A522Bu /* -1234.5678f: a plain number no op maps anything to here */
#define POISON 0xFFBADBADu /* a NaN payload no kernel produces: unwritten outputs show it */
#define GUARD  17

/* Every row of the test table (op_table.c, which states and justifies the bounds); the worst
 * error seen per row is printed at the end of every run. */
#define MAX_ROWS 128
static double worst_ulp[MAX_ROWS];
static float worst_x[MAX_ROWS];

static const float specials[] = {
    -INFINITY,  INFINITY,       NAN,     -0.0f,    0.0f,   FLT_MIN, -FLT_MIN, 0x1p-149f, -0x1p-149f,
    1e-40f,     -1e-40f,        FLT_MAX, -FLT_MAX, 1e30f,  -1e30f,  100.0f,   -100.0f,   88.72283f,
    -88.72283f, 88.7f,          -88.7f,  89.0f,    -89.0f, 87.3f,   -87.3f,   103.9f,    -103.9f,
    20.0f,      -20.0f,         1.0f,    -1.0f,    3.0f,   -3.0f,   5.5f,     -5.5f,     9.0f,
    -9.0f,      -6.0f,          44.0f,   -44.0f,   1e-7f,  -1e-7f,  0.5f,     -0.5f,     1e-20f,
    -1e-20f,    0x1.fffffep-1f, 1e10f,   -1e10f,   1e20f,  -1e20f,
};
#define N_SPECIALS (sizeof specials / sizeof specials[0])

static float random_input(tu_rng *r, const clact_activation *a) {
    switch (tu_next(r) % 10) {
    case 0: return (float)tu_uniform(r, -10, 10);
    case 1: return (float)tu_uniform(r, -0.09, 0.09);
    case 2: return (float)tu_uniform(r, -1000, 1000);
    case 3: return (float)((tu_next(r) & 1 ? -1 : 1) * tu_uniform(r, 88.0, 89.0));
    case 4: {
        /* Any finite float, every exponent equally likely: subnormals to FLT_MAX. */
        float f;
        do
            f = tu_from_bits((uint32_t)tu_next(r));
        while (!isfinite(f));
        return f;
    }
    case 5: {
        float t = (float)tu_op_boundary(a, CLACT_F32, (unsigned)tu_next(r));
        float f = t;
        int steps = (int)(tu_next(r) % 9) - 4;
        for (int i = 0; i < abs(steps); ++i)
            f = nextafterf(f, steps < 0 ? -INFINITY : INFINITY);
        return (tu_next(r) & 3) ? f : (float)(t * tu_uniform(r, 0.99, 1.01));
    }
    case 6: return (float)((int)(tu_next(r) % 21) - 10);
    case 7: return (float)tu_uniform(r, -110, -80);
    case 8: return (float)tu_uniform(r, -20, 20);
    default: return (float)tu_uniform(r, -3, 3);
    }
}

static void fill_inputs(tu_rng *r, const clact_activation *a, float *x, size_t n) {
    for (size_t i = 0; i < n; ++i)
        x[i] = i < N_SPECIALS ? specials[i] : random_input(r, a);
    /* Small sizes would only ever see the first specials: rotate them in. */
    if (n < N_SPECIALS && n > 0)
        x[0] = specials[tu_next(r) % N_SPECIALS];
}

static void check_canaries(const float *buf, size_t from, size_t to, const char *what) {
    /* Plain ifs in the loops: every ck_assert call reports its location to Check's runner with
     * a write(2), which across millions of elements costs minutes. */
    for (size_t i = from; i < to; ++i)
        if (tu_bits(buf[i]) != CANARY)
            ck_abort_msg("%s: element %zu outside the range was written", what, i);
}

/* One run: n elements, input at xoff, output at yoff (same buffer when inplace). */
static void run(int ci, size_t n, size_t xoff, size_t yoff, int inplace) {
    const tu_op_row *c = &tu_op_rows[ci];
    const clact_activation act = tu_op_act(c);
    const tu_tolerance tol = {c->rel32, c->ulp32};
    char label[128];
    snprintf(label, sizeof label, "%s n=%zu xoff=%zu yoff=%zu%s", c->label, n, xoff, yoff,
             inplace ? " in-place" : "");
    tu_rng r = tu_rng_for(label, 0);
    float *x = malloc((n ? n : 1) * sizeof *x);
    double *xd = malloc((n ? n : 1) * sizeof *xd), *ref = malloc((n ? n : 1) * sizeof *ref);
    ck_assert(x && xd && ref);
    fill_inputs(&r, &act, x, n);

    size_t xlen = xoff + n + GUARD, ylen = yoff + n + GUARD;
    cl_mem xb = tu_buffer(xlen, CL_MEM_READ_WRITE);
    cl_mem yb = inplace ? xb : tu_buffer(ylen, CL_MEM_READ_WRITE);
    tu_fill_bits(xb, 0, xlen, CANARY);
    if (!inplace) {
        tu_fill_bits(yb, 0, ylen, CANARY);
        tu_fill_bits(yb, yoff, n, POISON);
    }
    tu_write(xb, xoff, n, x);

    cl_event ev = NULL;
    clact_status st = clact_forward(tu_ctx(), &act, CLACT_F32, n, xb, xoff, yb, yoff, 0, NULL, &ev);
    ck_assert_msg(st == CLACT_OK, "%s: %s: %s", label, clact_status_name(st),
                  clact_context_last_error(tu_ctx()));
    ck_assert_msg(ev != NULL, "%s: no event returned", label);
    ck_assert_int_eq(clWaitForEvents(1, &ev), CL_SUCCESS);
    cl_int exec = 1;
    clGetEventInfo(ev, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof exec, &exec, NULL);
    ck_assert_int_eq(exec, CL_COMPLETE);
    clReleaseEvent(ev);

    float *y = malloc(ylen * sizeof *y);
    ck_assert(y != NULL);
    tu_read(yb, 0, ylen, y);
    check_canaries(y, 0, yoff, label);
    check_canaries(y, yoff + n, ylen, label);
    if (!inplace) {
        /* The input must be untouched, canaries included. */
        float *xa = malloc(xlen * sizeof *xa);
        ck_assert(xa != NULL);
        tu_read(xb, 0, xlen, xa);
        check_canaries(xa, 0, xoff, label);
        check_canaries(xa, xoff + n, xlen, label);
        ck_assert_msg(n == 0 || !memcmp(xa + xoff, x, n * sizeof *x), "%s: input modified", label);
        free(xa);
    }

    for (size_t i = 0; i < n; ++i)
        xd[i] = x[i];
    ck_assert_int_eq(clact_reference_forward(&act, CLACT_F32, n, xd, ref), CLACT_OK);
    for (size_t i = 0; i < n; ++i) {
        float got = y[yoff + i];
        if (tu_bits(got) == POISON)
            ck_abort_msg("%s: element %zu was not written", label, i);
        if (!tu_close(got, ref[i], tol))
            ck_abort_msg("%s: x[%zu] = %a (%.9g): got %.9g (%a), reference %.17g, %.1f ulp", label,
                         i, (double)x[i], (double)x[i], (double)got, (double)got, ref[i],
                         tu_ulp_error(got, ref[i]));
        double u = tu_ulp_error(got, ref[i]);
        if (isfinite(u) && ci < MAX_ROWS && u > worst_ulp[ci]) {
            worst_ulp[ci] = u;
            worst_x[ci] = x[i];
        }
    }
    if (!inplace)
        clReleaseMemObject(yb);
    clReleaseMemObject(xb);
    free(y);
    free(x);
    free(xd);
    free(ref);
}

static const size_t sizes[] = {0, 1, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 33, 4099, 1u << 20};

START_TEST(activation_against_reference) {
    /* The last size (1<<20) is left out under CLACT_TEST_QUICK (valgrind). */
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0] - (tu_quick() ? 1 : 0); ++s) {
        run(_i, sizes[s], 0, 0, 0);
        run(_i, sizes[s], 13, 29, 0);
        run(_i, sizes[s], 21, 21, 1);
    }
}
END_TEST

/* The special-value table of SEMANTICS.md, measured with PyTorch 1.13, row by row (op_table.c),
 * for every op of the header's list: an op without a row fails here. */
START_TEST(activation_special_table) {
    cl_mem b = tu_buffer(TU_N_SPECIAL, CL_MEM_READ_WRITE);
    float in[TU_N_SPECIAL];
    for (int i = 0; i < TU_N_SPECIAL; ++i)
        in[i] = (float)tu_special_in[i];
    for (int op = 0; op < CLACT_OP_COUNT; ++op) {
        if (!clact_op_elementwise((clact_op)op))
            continue; /* glu: its own suite */
        const tu_op_row *row = tu_op_default_row((clact_op)op);
        ck_assert_msg(row, "op %s has no default row in tests/op_table.c", clact_op_name(op));
        clact_activation a = tu_op_default_act((clact_op)op);
        float y[TU_N_SPECIAL];
        tu_write(b, 0, TU_N_SPECIAL, in);
        ck_assert_int_eq(
            clact_forward(tu_ctx(), &a, CLACT_F32, TU_N_SPECIAL, b, 0, b, 0, 0, NULL, NULL),
            CLACT_OK);
        tu_read(b, 0, TU_N_SPECIAL, y);
        for (int i = 0; i < TU_N_SPECIAL; ++i) {
            float want = (float)row->special[i];
            int ok;
            if (!isfinite(in[i])) /* contract line 2: PyTorch's output exactly (zeros by ==) */
                ok = isnan(want) ? isnan(y[i]) : y[i] == want;
            else /* line 3: the exact value, which PyTorch's float rounding only approximates
                  * (silu(-100) is -3.7e-42, PyTorch gives -0): within 1e-5 of PyTorch here,
                  * and within the op's tolerance of the reference in the tests above. */
                ok = isfinite(y[i]) && fabsf(y[i] - want) <= 1e-5f + 1e-5f * fabsf(want);
            ck_assert_msg(ok, "%s(%g) = %g, PyTorch gives %g", clact_op_name(op), (double)in[i],
                          (double)y[i], (double)want);
        }
    }
    clReleaseMemObject(b);
}
END_TEST

static void report(void) {
    printf("worst error in float ulp per op on this device (seed %llu):\n",
           (unsigned long long)tu_seed());
    for (int i = 0; i < tu_op_row_count && i < MAX_ROWS; ++i)
        printf("  %-18s %10.2f ulp  at x = %.9g\n", tu_op_rows[i].label, worst_ulp[i],
               (double)worst_x[i]);
}

Suite *activation_suite(void);
Suite *activation_suite(void) {
    Suite *s = suite_create("activation");
    TCase *tc = tcase_create("forward");
    tcase_set_timeout(tc, 900);
    tcase_add_unchecked_fixture(tc, NULL, report);
    tcase_add_loop_test(tc, activation_against_reference, 0, tu_op_row_count);
    tcase_add_test(tc, activation_special_table);
    suite_add_tcase(s, tc);
    return s;
}
