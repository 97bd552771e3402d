/* SPDX-License-Identifier: MIT */
/* The CPU reference itself: values worked out by hand (closed forms, not the reference's own
 * code), PyTorch's special-value table, and its argument checks. */
#include <math.h>
#include <string.h>

#include "op_table.h"
#include "testutil.h"

static double ref1(clact_op op, double p0, double p1, clact_dtype dt, double x) {
    clact_activation a = tu_op_default_act(op);
    if (!isnan(p0))
        a.param[0] = p0;
    if (!isnan(p1))
        a.param[1] = p1;
    double y = NAN;
    ck_assert_int_eq(clact_reference_forward(&a, dt, 1, &x, &y), CLACT_OK);
    return y;
}

#define D          NAN
#define near(a, b) (fabs((a) - (b)) <= 1e-15 * fabs(b) + 1e-300)

START_TEST(reference_closed_forms) {
    /* sigmoid(ln 3) = 3/4; tanh(ln 2) = 3/5; softplus(ln 3) = ln 4; silu(ln 3) = 0.75 ln 3. */
    ck_assert(near(ref1(CLACT_SIGMOID, D, D, CLACT_F64, log(3.0)), 0.75));
    ck_assert(near(ref1(CLACT_TANH, D, D, CLACT_F64, log(2.0)), 0.6));
    ck_assert(near(ref1(CLACT_SOFTPLUS, D, D, CLACT_F64, log(3.0)), log(4.0)));
    ck_assert(near(ref1(CLACT_SILU, D, D, CLACT_F64, log(3.0)), 0.75 * log(3.0)));
    /* mish(ln 3) = ln3 * tanh(ln 4) = ln3 * 15/17. */
    ck_assert(near(ref1(CLACT_MISH, D, D, CLACT_F64, log(3.0)), log(3.0) * 15.0 / 17.0));
    /* elu(-ln 2, alpha 2) = 2 (1/2 - 1) = -1. */
    ck_assert(near(ref1(CLACT_ELU, 2.0, D, CLACT_F64, -log(2.0)), -1.0));
    /* gelu(x) = x Phi(x); Phi(0) = 1/2, and Phi(-1.959963984540054) = 0.025. */
    ck_assert(near(ref1(CLACT_GELU, D, D, CLACT_F64, 2.0), 2.0 * 0.5 * (1 + erf(2.0 / sqrt(2.0)))));
    ck_assert(fabs(ref1(CLACT_GELU, D, D, CLACT_F64, -1.959963984540054) / -1.959963984540054 -
                   0.025) < 1e-14);
    /* gelu far tail: Phi(-10) = 7.619853024160527e-24. */
    ck_assert(fabs(ref1(CLACT_GELU, D, D, CLACT_F64, -10.0) / -7.619853024160527e-23 - 1) < 1e-12);
    /* gelu_tanh(1) = 0.5 (1 + tanh(sqrt(2/pi) * 1.044715)). */
    ck_assert(near(ref1(CLACT_GELU_TANH, D, D, CLACT_F64, 1.0),
                   0.5 * (1 + tanh(sqrt(2 / 3.14159265358979323846) * 1.044715))));
    ck_assert(near(ref1(CLACT_LEAKY_RELU, 0.5, D, CLACT_F64, -4.0), -2.0));
    ck_assert(ref1(CLACT_RELU, D, D, CLACT_F64, -3.0) == 0.0);
    ck_assert(ref1(CLACT_RELU, D, D, CLACT_F64, 3.0) == 3.0);
    /* silu(-90): PyTorch returns -0, the value is -90 e^-90 / (1 + e^-90). */
    ck_assert(
        near(ref1(CLACT_SILU, D, D, CLACT_F32, -90.0), -90.0 * exp(-90.0) / (1 + exp(-90.0))));
}
END_TEST

/* The new ops' closed forms (issue 16), in double: each value is worked out by hand. */
START_TEST(reference_closed_forms_more) {
    /* selu(-ln 2) = alpha scale (1/2 - 1); celu(-2 ln 2; alpha 2) = 2 (1/2 - 1) = -1. */
    ck_assert(near(ref1(CLACT_SELU, D, D, CLACT_F64, -log(2.0)),
                   -0.5 * (1.6732632423543772848 * 1.0507009873554804934)));
    ck_assert(near(ref1(CLACT_SELU, D, D, CLACT_F64, 2.0), 2.0 * 1.0507009873554804934));
    ck_assert(near(ref1(CLACT_CELU, 2.0, D, CLACT_F64, -2.0 * log(2.0)), -1.0));
    /* alpha -2: x = 2 ln 2 gives -2 (exp(-ln 2) - 1) = 1... x > 0 is x itself; x = -2 ln 2 gives
     * -2 (exp(ln 2) - 1) = -2. */
    ck_assert(near(ref1(CLACT_CELU, -2.0, D, CLACT_F64, -2.0 * log(2.0)), -2.0));
    ck_assert(ref1(CLACT_HARDSIGMOID, D, D, CLACT_F64, 1.5) == 0.75);
    ck_assert(ref1(CLACT_HARDSWISH, D, D, CLACT_F64, 1.5) == 1.125);
    ck_assert(ref1(CLACT_HARDSWISH, D, D, CLACT_F64, -1.5) == -0.375);
    ck_assert(near(ref1(CLACT_LOGSIGMOID, D, D, CLACT_F64, log(3.0)), log(3.0) - log(4.0)));
    ck_assert(near(ref1(CLACT_LOGSIGMOID, D, D, CLACT_F64, -log(3.0)), -log(4.0)));
    ck_assert(ref1(CLACT_SOFTSIGN, D, D, CLACT_F64, 3.0) == 0.75);
    /* tanh(ln 3 / 2) = 1/2, tanh(ln 2) = 3/5, tanh(ln 3) = 4/5: the series and the direct form. */
    ck_assert(near(ref1(CLACT_TANHSHRINK, D, D, CLACT_F64, 0.5 * log(3.0)), 0.5 * log(3.0) - 0.5));
    ck_assert(near(ref1(CLACT_TANHSHRINK, D, D, CLACT_F64, -log(2.0)), 0.6 - log(2.0)));
    ck_assert(near(ref1(CLACT_TANHSHRINK, D, D, CLACT_F64, log(3.0)), log(3.0) - 0.8));
    /* x^3 / 3 - 2 x^5 / 15 at 1e-4, to 1e-27 relative. */
    ck_assert(near(ref1(CLACT_TANHSHRINK, D, D, CLACT_F64, 1e-4), 1e-12 / 3 - 2e-20 / 15));
    ck_assert(ref1(CLACT_SOFTSHRINK, D, D, CLACT_F64, 2.0) == 1.5);
    ck_assert(ref1(CLACT_SOFTSHRINK, D, D, CLACT_F64, -0.25) == 0.0);
    ck_assert(ref1(CLACT_HARDSHRINK, D, D, CLACT_F64, -0.5) == 0.0);
    ck_assert(ref1(CLACT_HARDSHRINK, D, D, CLACT_F64, -0.75) == -0.75);
    ck_assert(ref1(CLACT_THRESHOLD, 1.0, 5.0, CLACT_F64, 1.0) == 5.0);
    ck_assert(ref1(CLACT_THRESHOLD, 1.0, 5.0, CLACT_F64, 1.5) == 1.5);
    ck_assert(ref1(CLACT_RELU6, D, D, CLACT_F64, 7.0) == 6.0);
    ck_assert(ref1(CLACT_HARDTANH, -2.0, 3.0, CLACT_F64, -2.5) == -2.0);
    ck_assert(ref1(CLACT_PRELU, 0.5, D, CLACT_F64, -3.0) == -1.5);
    /* rrelu in evaluation mode: slope (1/8 + 1/3) / 2 = 11/48. */
    ck_assert(near(ref1(CLACT_RRELU, D, D, CLACT_F64, -48.0), -11.0));
}
END_TEST

/* The reference's Philox4x32-10 against Random123's published known answers (its kat_vectors). */
START_TEST(reference_philox_known_answers) {
    static const uint32_t ctr[3][4] = {{0, 0, 0, 0},
                                       {0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu},
                                       {0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}};
    static const unsigned long long key[3] = {0, 0xffffffffffffffffull, 0x299f31d0a4093822ull};
    static const uint32_t want[3][4] = {{0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u},
                                        {0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu},
                                        {0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}};
    for (int t = 0; t < 3; ++t) {
        uint32_t c[4];
        memcpy(c, ctr[t], sizeof c);
        clact_reference_philox(c, key[t]);
        for (int k = 0; k < 4; ++k)
            ck_assert_msg(c[k] == want[t][k], "vector %d word %d: %08x, Random123 gives %08x", t,
                          k, c[k], want[t][k]);
    }
}
END_TEST

/* rrelu's training slopes (reference): within [lower, upper], a function of (seed, i) only. */
START_TEST(reference_rrelu_training) {
    clact_activation a = clact_activation_default(CLACT_RRELU);
    a.training = 1;
    a.seed = 42;
    enum { N = 4096 };
    static double x[N], y[N], y2[N];
    for (int i = 0; i < N; ++i)
        x[i] = -1.0;
    ck_assert_int_eq(clact_reference_forward(&a, CLACT_F32, N, x, y), CLACT_OK);
    double lo = 1, hi = 0, sum = 0;
    for (int i = 0; i < N; ++i) {
        double r = -y[i];
        ck_assert(r >= (float)(1.0 / 8) && r <= (float)(1.0 / 3));
        lo = fmin(lo, r), hi = fmax(hi, r), sum += r;
    }
    /* Uniform on [1/8, 1/3]: the mean within 5 sigma (sigma = 0.06 / sqrt(N)), the extremes
     * near the ends. */
    ck_assert(fabs(sum / N - 11.0 / 48) < 5 * 0.0601 / sqrt((double)N));
    ck_assert(lo < 0.126 && hi > 0.332);
    x[7] = 3.0; /* other elements do not move element i's slope */
    ck_assert_int_eq(clact_reference_forward(&a, CLACT_F32, N, x, y2), CLACT_OK);
    for (int i = 0; i < N; ++i)
        ck_assert(i == 7 ? y2[i] == 3.0 : y2[i] == y[i]);
    a.seed = 43;
    ck_assert_int_eq(clact_reference_forward(&a, CLACT_F32, N, x, y2), CLACT_OK);
    int same = 0;
    for (int i = 0; i < N; ++i)
        same += y2[i] == y[i];
    ck_assert_int_lt(same, 16);
}
END_TEST

START_TEST(reference_softplus_threshold) {
    /* beta*x > threshold is strict and returns x itself. */
    ck_assert(ref1(CLACT_SOFTPLUS, 2.0, 10.0, CLACT_F32, 5.0) != 5.0);
    double above = (double)nextafterf(5.0f, 6.0f);
    ck_assert(ref1(CLACT_SOFTPLUS, 2.0, 10.0, CLACT_F32, above) == above);
    /* The branch is decided on the float product for f32 data: x = 0x1.aaaaacp+1 (3.3333335)
     * times beta = 3 is 10.000000477 exactly, half-way between two floats, which rounds to
     * even, 10: not > 10. In double it is > 10. */
    double x = 0x1.aaaaacp+1;
    ck_assert(ref1(CLACT_SOFTPLUS, 3.0, 10.0, CLACT_F32, x) != x);
    ck_assert(ref1(CLACT_SOFTPLUS, 3.0, 10.0, CLACT_F64, x) == x);
    /* Parameters are converted to float for f32: beta = 0.1 is 0.100000001490116. */
    double y32 = ref1(CLACT_SOFTPLUS, 0.1, 20.0, CLACT_F32, -50.0);
    double b = (double)0.1f;
    ck_assert(near(y32, log1p(exp(-50.0 * b)) / b));
    /* A threshold beyond exp's range: PyTorch gives inf at x = 95, the value is 95 + tiny. */
    ck_assert(near(ref1(CLACT_SOFTPLUS, 1.0, 100.0, CLACT_F32, 95.0), 95.0 + log1p(exp(-95.0))));
}
END_TEST

/* The reference against PyTorch's special-value table (op_table.c), for every op. */
START_TEST(reference_special_table) {
    for (int op = 0; op < CLACT_OP_COUNT; ++op) {
        if (!clact_op_elementwise((clact_op)op))
            continue; /* glu: its own suite */
        const tu_op_row *row = tu_op_default_row((clact_op)op);
        ck_assert_msg(row, "op %s has no default row in tests/op_table.c", clact_op_name(op));
        for (int i = 0; i < TU_N_SPECIAL; ++i) {
            double x = tu_special_in[i];
            double y = ref1((clact_op)op, D, D, CLACT_F32, x);
            double want = row->special[i];
            int ok;
            if (!isfinite(x))
                ok = isnan(want) ? isnan(y) : y == want;
            else
                ok = isfinite(y) && fabs(y - want) <= 1e-5 + 1e-5 * fabs(want);
            ck_assert_msg(ok, "reference %s(%g) = %g, PyTorch gives %g", clact_op_name(op), x, y,
                          want);
        }
    }
}
END_TEST

START_TEST(reference_arguments) {
    clact_activation a = clact_activation_default(CLACT_RELU);
    double x = 1, y = 0;
    ck_assert_int_eq(clact_reference_forward(NULL, CLACT_F32, 1, &x, &y), CLACT_INVALID_ARGUMENT);
    ck_assert_int_eq(clact_reference_forward(&a, CLACT_F32, 1, NULL, &y), CLACT_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(clact_context_last_error(NULL), "NULL"));
    ck_assert_int_eq(clact_reference_forward(&a, (clact_dtype)7, 1, &x, &y),
                     CLACT_INVALID_ARGUMENT);
    ck_assert_int_eq(clact_reference_forward(&a, CLACT_F32, 0, NULL, NULL), CLACT_OK);
    /* In place on one array. */
    double v[2] = {-1, 2};
    ck_assert_int_eq(clact_reference_forward(&a, CLACT_F32, 2, v, v), CLACT_OK);
    ck_assert(v[0] == 0 && v[1] == 2);
}
END_TEST

Suite *reference_suite(void);
Suite *reference_suite(void) {
    Suite *s = suite_create("reference");
    TCase *tc = tcase_create("cpu");
    tcase_add_test(tc, reference_closed_forms);
    tcase_add_test(tc, reference_softplus_threshold);
    tcase_add_test(tc, reference_closed_forms_more);
    tcase_add_test(tc, reference_philox_known_answers);
    tcase_add_test(tc, reference_rrelu_training);
    tcase_add_test(tc, reference_special_table);
    tcase_add_test(tc, reference_arguments);
    suite_add_tcase(s, tc);
    return s;
}
