/* SPDX-License-Identifier: MIT */
/* The activations' test table (op_table.h). Bounds:
 *  - rel32: benchdnn's bar from SEMANTICS.md contract line 3: 4e-6 for ops made of exact IEEE
 *    operations (relu and leaky_relu are exact; 4e-6 covers the one rounding of x*slope), 4e-5
 *    for ops built on exp/expm1/log1p/erfc (OpenCL allows 3-16 ulp for these, and the formulas
 *    chain two or three of them).
 *  - ulp32: the largest error in float ulp at the exact value over every finite input (subnormal
 *    outputs included), set from the error analysis in kernels/activation.cl and the worst cases
 *    measured on PoCL (in the comment; every run prints them), with a margin for other devices.
 *  - ulp64: double ulps. The f64 kernels use OpenCL's double built-ins, which the specification
 *    bounds at 3 ulp (exp, expm1), 2 (log1p) and 16 (erfc), in formulas of one to three of them
 *    and a few exact or correctly rounded operations; the arguments that tails amplify (GELU's
 *    -x/sqrt 2, tanh-GELU's 2u, softplus's beta*x) are carried with their rounding error (see
 *    kernels/activation.cl), and the reference is long double, so it adds nothing.
 *  - bwd_ulp32, bwd_ulp64: the gradient, a few roundings more than the forward (the derivative's
 *    terms, and the product with dy): e.g. sigmoid and tanh from x, (h / d)^2 with h = exp(-|x|)
 *    or exp(-|x|/2), d = 1 + h^2: twice (1 + 1 + 0.5) and the product, about 5. Near a root of f'
 *    the bound is absolute (op_table.h).
 *  - special, bwd_special: PyTorch 1.13's float outputs (for elu's gradient at NaN, its
 *    vectorised kernel's NaN, not its scalar tail's dy). Non-finite inputs must match exactly;
 *    finite ones within 1e-5 (clact returns the exact value where PyTorch's float rounding loses it:
 *    silu(-100) is -3.7e-42, PyTorch gives -0). */
#include "op_table.h"
#include "testutil.h"

#include <math.h>

const double tu_special_in[TU_N_SPECIAL] = {-INFINITY, -1e30, -100.0,   -0.0,
                                            0.0,       1e30,  INFINITY, NAN};

/* A parameter in the compute type. */
static double in_type(double v, clact_dtype dtype) { return dtype == CLACT_F64 ? v : (float)v; }

/* Softplus switches to x where beta*x > threshold, decided in the compute type. */
static int softplus_threshold(const clact_activation *a, clact_dtype dtype, double *out) {
    if (dtype == CLACT_F64)
        out[0] = a->param[1] / a->param[0];
    else
        out[0] = (double)((float)a->param[1] / (float)a->param[0]);
    return 1;
}

/* hardtanh's limits; relu6's are 0 and 6. */
static int hardtanh_limits(const clact_activation *a, clact_dtype dtype, double *out) {
    out[0] = a->op == CLACT_RELU6 ? 0.0 : in_type(a->param[0], dtype);
    out[1] = a->op == CLACT_RELU6 ? 6.0 : in_type(a->param[1], dtype);
    return 2;
}

/* hardsigmoid's and hardswish's kinks at -3 and 3; hardswish's gradient crosses 0 at -1.5. */
static int hard_kinks(const clact_activation *a, clact_dtype dtype, double *out) {
    (void)dtype;
    out[0] = -3.0;
    out[1] = 3.0;
    out[2] = -1.5;
    return a->op == CLACT_HARDSWISH ? 3 : 2;
}

/* The shrinks' band [-lambd, lambd]. */
static int shrink_band(const clact_activation *a, clact_dtype dtype, double *out) {
    out[0] = -in_type(a->param[0], dtype);
    out[1] = in_type(a->param[0], dtype);
    return 2;
}

static int threshold_at(const clact_activation *a, clact_dtype dtype, double *out) {
    out[0] = in_type(a->param[0], dtype);
    return 1;
}

/* tanhshrink's kernel switches from its polynomial to (|x| - 1) + (1 - tanh|x|) at |x| = 1. */
static int plus_minus_one(const clact_activation *a, clact_dtype dtype, double *out) {
    (void)a;
    (void)dtype;
    out[0] = -1.0;
    out[1] = 1.0;
    return 2;
}

/* mish: the float kernel switches form at 0, the double one to x past 20. */
static int mish_switches(const clact_activation *a, clact_dtype dtype, double *out) {
    (void)a;
    out[0] = dtype == CLACT_F64 ? 20.0 : 0.0;
    return 1;
}

#define D NAN /* PyTorch's default parameter */
#define N NAN /* no root */

// clang-format off: one row per line reads as a table
const tu_op_row tu_op_rows[] = {
    /* label, op, p0, p1, rel32, ulp32, ulp64, boundary, boundaries_of, has_special, special,
     * bwd_ulp32, bwd_ulp64, bwd_root, bwd_special[, training] */
    {"relu", CLACT_RELU, D, D, 0, 0, 0, 0, NULL, 1, {0, 0, 0, -0.0, 0, 1e30, INFINITY, NAN}, 0, 0, N, {0, 0, 0, 0, 0, 1, 1, 1}, 0}, /* measured f32: exact */
    {"leaky_relu", CLACT_LEAKY_RELU, D, D, 4e-6, 1, 1, 0, NULL, 1, {-INFINITY, -1e28, -1, -0.0, 0, 1e30, INFINITY, NAN}, 1, 1, N, {0.01f, 0.01f, 0.01f, 0.01f, 0.01f, 1, 1, 0.01f}, 0}, /* measured f32: 0.5 */
    {"leaky_relu(0.2)", CLACT_LEAKY_RELU, 0.2, D, 4e-6, 1, 1, 0, NULL, 0, {0}, 1, 1, N, {0}, 0},
    {"leaky_relu(-1.5)", CLACT_LEAKY_RELU, -1.5, D, 4e-6, 1, 1, 0, NULL, 0, {0}, 1, 1, N, {0}, 0},
    {"elu", CLACT_ELU, D, D, 4e-5, 4, 6, 0, NULL, 1, {-1, -1, -1, 0, 0, 1e30, INFINITY, NAN}, 4, 8, N, {0, 0, 3.783506e-44, 1, 1, 1, 1, NAN}, 0}, /* measured f32: 1.3 */
    {"elu(0.3)", CLACT_ELU, 0.3, D, 4e-5, 4, 6, 0, NULL, 0, {0}, 4, 8, N, {0}, 0}, /* measured f32: 1.7 */
    {"elu(-2)", CLACT_ELU, -2.0, D, 4e-5, 4, 6, 0, NULL, 0, {0}, 4, 8, N, {0}, 0}, /* measured f32: 1.4 */
    /* The kernel's own Phi (see activation.cl): one formula for every x, exp's parts, the
     * fitted polynomial (0.4 ulp), 1/(1 + |t|) as a float pair and two roundings of products:
     * about 3.4 ulp by the error sum, 3.25 measured on every 16th float32 (tools/act_ulp_scan.py). */
    {"gelu", CLACT_GELU, D, D, 4e-5, 4, 32, 0, NULL, 1, {NAN, 0, 0, 0, 0, 1e30, INFINITY, NAN}, 16, 32, -0.7518, {NAN, 0, 0, 0.5, 0.5, 1, NAN, NAN}, 0}, /* measured f32: 3.3 (every 16th float32) */
    /* The argument t = 2u of exp is carried as a float pair (see the kernel), or exp would turn
     * its rounding into 200+ ulp of relative error by x = -10. Its gradient at ±1e30 is 0 and 1
     * where PyTorch's float x^2 overflows into NaN (a documented deviation). */
    {"gelu_tanh", CLACT_GELU_TANH, D, D, 4e-5, 4, 16, 0, NULL, 1, {NAN, -0.0, -0.0, -0.0, 0, 1e30, INFINITY, NAN}, 16, 32, -0.7528, {NAN, 0, 0, 0.5, 0.5, 1, NAN, NAN}, 0}, /* measured f32: 3.37 (every 61st float, exhaustive_f32) */
    {"silu", CLACT_SILU, D, D, 4e-5, 4, 8, 0, NULL, 1, {NAN, -0.0, -0.0, -0.0, 0, 1e30, INFINITY, NAN}, 16, 16, -1.2785, {NAN, -0.0, -0.0, 0.5, 0.5, 1, NAN, NAN}, 0}, /* measured f32: 3.14 (every 251st float, exhaustive_f32) */
    /* mish's float kernel switches between its two forms of tanh(softplus(x)) at 0 (the f64
     * kernel to x past 20); float: exp's parts, the ratio N / D (three roundings, no
     * cancellation) and two products, 3.62 ulp measured on every 16th float32. */
    {"mish", CLACT_MISH, D, D, 4e-5, 4, 8, 0, mish_switches, 1, {NAN, -0.0, -3.78351e-42, -0.0, 0, 1e30, INFINITY, NAN}, 16, 16, -1.1924, {NAN, 0, 3.783506e-44, 0.6, 0.6, 1, NAN, NAN}, 0}, /* measured f32: 3.7 (every 16th float32) */
    {"sigmoid", CLACT_SIGMOID, D, D, 4e-5, 4, 6, 0, NULL, 1, {0, 0, 0, 0.5, 0.5, 1, 1, NAN}, 6, 8, N, {0, 0, 0, 0.25, 0.25, 0, 0, NAN}, 0}, /* measured f32: 2.4 */
    {"tanh", CLACT_TANH, D, D, 4e-5, 4, 8, 0, NULL, 1, {-1, -1, -1, -0.0, 0, 1, 1, NAN}, 8, 8, N, {0, 0, 0, 1, 1, 0, 0, NAN}, 0}, /* measured f32: 2.6 */
    /* softplus (float): exp's parts, the fitted log1p polynomial (0.2 ulp) and one rounding of
     * the product, the sum with z where z > 0, the division by beta where beta is not 1 (the
     * quotient of normal numbers; a subnormal result rounds once, at the end). Measured on
     * every 32nd float32 (tools/act_ulp_scan.py). */
    {"softplus", CLACT_SOFTPLUS, D, D, 4e-5, 4, 8, 0, softplus_threshold, 1, {0, 0, 3.78351e-44, 0.693147, 0.693147, 1e30, INFINITY, NAN}, 4, 8, N, {0, 0, 3.783506e-44, 0.5, 0.5, 1, 1, NAN}, 0}, /* measured f32: 2.0 */
    {"softplus(2,10)", CLACT_SOFTPLUS, 2.0, 10.0, 4e-5, 4, 8, 0, softplus_threshold, 0, {0}, 4, 8, N, {0}, 0}, /* measured f32: 2.0 */
    {"softplus(0.3,1)", CLACT_SOFTPLUS, 0.3, 1.0, 4e-5, 4, 8, 0, softplus_threshold, 0, {0}, 4, 8, N, {0}, 0}, /* measured f32: 2.7 */
    {"softplus(-1,20)", CLACT_SOFTPLUS, -1.0, 20.0, 4e-5, 4, 8, 0, softplus_threshold, 0, {0}, 4, 8, N, {0}, 0}, /* measured f32: 2.0 */
    /* threshold > 88.7: PyTorch overflows to inf for 88.7 < x <= 100, clact does not. */
    {"softplus(1,100)", CLACT_SOFTPLUS, 1.0, 100.0, 4e-5, 4, 8, 0, softplus_threshold, 0, {0}, 4, 8, N, {0}, 0}, /* measured f32: 2.0 */
    /* The piecewise ops are exact: comparisons and selections; the shrinks' x -+ lambd rounds
     * once. Their gradients are choices of dy or 0 (exact). NaN: PyTorch's vectorised kernels. */
    {"relu6", CLACT_RELU6, D, D, 0, 0, 0, 0, hardtanh_limits, 1, {0, 0, 0, -0.0, 0, 6, 6, NAN}, 0, 0, N, {0, 0, 0, 0, 0, 0, 0, 0}, 0},
    {"hardtanh", CLACT_HARDTANH, D, D, 0, 0, 0, 0, hardtanh_limits, 1, {-1, -1, -1, -0.0, 0, 1, 1, NAN}, 0, 0, N, {0, 0, 0, 1, 1, 0, 0, 0}, 0},
    {"hardtanh(-2,2.5)", CLACT_HARDTANH, -2.0, 2.5, 0, 0, 0, 0, hardtanh_limits, 0, {0}, 0, 0, N, {0}, 0},
    {"hardtanh(0.3,0.3)", CLACT_HARDTANH, 0.3, 0.3, 0, 0, 0, 0, hardtanh_limits, 0, {0}, 0, 0, N, {0}, 0},
    /* selu, celu: elu's expm1 (activation.cl) times a constant rounded to the compute type, one
     * more rounding than elu; gradients: exp and the product with dy. */
    {"selu", CLACT_SELU, D, D, 4e-5, 4, 6, 0, NULL, 1, {-1.7580993175506592, -1.7580993175506592, -1.7580993175506592, 0, 0, 1.0507010e30, INFINITY, NAN}, 4, 8, N, {0, 0, 6.586103e-44, 1.7580993175506592, 1.7580993175506592, 1.0507010221481323, 1.0507010221481323, NAN}, 0},
    {"celu", CLACT_CELU, D, D, 4e-5, 4, 6, 0, NULL, 1, {-1, -1, -1, 0, 0, 1e30, INFINITY, NAN}, 4, 8, N, {0, 0, 3.783506e-44, 1, 1, 1, 1, NAN}, 0},
    {"celu(0.4)", CLACT_CELU, 0.4, D, 4e-5, 4, 6, 0, NULL, 0, {0}, 4, 8, N, {0}, 0},
    /* alpha < 0: the argument x / alpha is positive, through the built-in expm1 and exp. */
    {"celu(-1.5)", CLACT_CELU, -1.5, D, 4e-5, 4, 6, 0, NULL, 0, {0}, 4, 8, N, {0}, 0},
    /* hardsigmoid: (x + 3) * (1/6), x + 3 exact near -3: two roundings and that of 1/6; the
     * gradient is 1/6 in the compute type, as PyTorch's, times dy. hardswish: x (x + 3) / 6, three;
     * its gradient (x + 1.5) / 3 crosses 0 at -1.5 (absolute bound there). */
    {"hardsigmoid", CLACT_HARDSIGMOID, D, D, 4e-6, 2, 2, 0, hard_kinks, 1, {0, 0, 0, 0.5, 0.5, 1, 1, NAN}, 1, 1, N, {0, 0, 0, 0.16666667, 0.16666667, 0, 0, 0}, 0},
    {"hardswish", CLACT_HARDSWISH, D, D, 4e-6, 3, 3, 0, hard_kinks, 1, {NAN, -0.0, -0.0, -0.0, 0, 1e30, INFINITY, NAN}, 3, 3, -1.5, {0, 0, 0, 0.5, 0.5, 1, 1, NAN}, 0},
    /* logsigmoid = -softplus(-x) in the kernel: softplus's bounds; gradient sigmoid(-x). */
    {"logsigmoid", CLACT_LOGSIGMOID, D, D, 4e-5, 4, 8, 0, NULL, 1, {-INFINITY, -1e30, -100, -0.693147, -0.693147, 0, 0, NAN}, 6, 8, N, {1, 1, 1, 0.5, 0.5, 0, 0, NAN}, 0},
    /* softsign: 1 + |x| and a division (OpenCL: 2.5 ulp in float); the gradient squares
     * 1 / (1 + |x|). */
    {"softsign", CLACT_SOFTSIGN, D, D, 4e-6, 4, 4, 0, NULL, 1, {NAN, -1, -0.990099, -0.0, 0, 1, NAN, NAN}, 8, 8, N, {NAN, 0, 9.802915e-05, 1, 1, 0, NAN, NAN}, 0},
    /* tanhshrink: the fitted polynomial below |x| = 1 (3.2e-8 relative in float, 5.6e-17 in
     * double, with ~3 roundings), (|x| - 1) + 2e/(1 + e) above; gradient tanh(x)^2. */
    {"tanhshrink", CLACT_TANHSHRINK, D, D, 4e-5, 4, 6, 0, plus_minus_one, 1, {-INFINITY, -1e30, -99, 0, 0, 1e30, INFINITY, NAN}, 8, 8, N, {1, 1, 1, 0, 0, 1, 1, NAN}, 0},
    {"softshrink", CLACT_SOFTSHRINK, D, D, 4e-6, 1, 1, 0, shrink_band, 1, {-INFINITY, -1e30, -99.5, 0, 0, 1e30, INFINITY, 0}, 0, 0, N, {1, 1, 1, 0, 0, 1, 1, 0}, 0},
    {"softshrink(2)", CLACT_SOFTSHRINK, 2.0, D, 4e-6, 1, 1, 0, shrink_band, 0, {0}, 0, 0, N, {0}, 0},
    {"hardshrink", CLACT_HARDSHRINK, D, D, 0, 0, 0, 0, shrink_band, 1, {-INFINITY, -1e30, -100, 0, 0, 1e30, INFINITY, NAN}, 0, 0, N, {1, 1, 1, 0, 0, 1, 1, 0}, 0},
    {"hardshrink(-0.5)", CLACT_HARDSHRINK, -0.5, D, 0, 0, 0, 0, shrink_band, 0, {0}, 0, 0, N, {0}, 0},
    /* threshold has no defaults: its default row is SEMANTICS.md's threshold(0.1, 20). */
    {"threshold(0.1,20)", CLACT_THRESHOLD, 0.1, 20.0, 0, 0, 0, 0, threshold_at, 1, {20, 20, 20, 20, 20, 1e30, INFINITY, NAN}, 0, 0, N, {0, 0, 0, 0, 0, 1, 1, 1}, 0},
    {"threshold(-1,-5)", CLACT_THRESHOLD, -1.0, -5.0, 0, 0, 0, 0, threshold_at, 0, {0}, 0, 0, N, {0}, 0},
    {"threshold(2,7)", CLACT_THRESHOLD, 2.0, 7.0, 0, 0, 0, 0, threshold_at, 0, {0}, 0, 0, N, {0}, 0},
    /* prelu with one weight and rrelu are leaky_relu: one rounding of the product. */
    {"prelu", CLACT_PRELU, D, D, 4e-6, 1, 1, 0, NULL, 1, {-INFINITY, -2.5e29, -25, -0.0, 0, 1e30, INFINITY, NAN}, 1, 1, N, {0.25, 0.25, 0.25, 0.25, 0.25, 1, 1, 0.25}, 0},
    {"prelu(-0.7)", CLACT_PRELU, -0.7, D, 4e-6, 1, 1, 0, NULL, 0, {0}, 1, 1, N, {0}, 0},
    {"rrelu", CLACT_RRELU, D, D, 4e-6, 1, 1, 0, NULL, 1, {-INFINITY, -2.2916668e29, -22.916668, -0.0, 0, 1e30, INFINITY, NAN}, 1, 1, N, {0.2291666716337204, 0.2291666716337204, 0.2291666716337204, 0.2291666716337204, 0.2291666716337204, 1, 1, 0.2291666716337204}, 0},
    /* training mode: each element's slope drawn (kernels/rrelu.cl); the reference draws the same
     * one, so the product rounds once. */
    {"rrelu(train)", CLACT_RRELU, D, D, 4e-6, 1, 1, 0, NULL, 0, {0}, 1, 1, N, {0}, 1},
    {"rrelu(-0.2,0.6,train)", CLACT_RRELU, -0.2, 0.6, 4e-6, 1, 1, 0, NULL, 0, {0}, 1, 1, N, {0}, 1},
};
// clang-format on
const int tu_op_row_count = (int)(sizeof tu_op_rows / sizeof tu_op_rows[0]);

clact_activation tu_op_act(const tu_op_row *row) {
    clact_activation a = clact_activation_default(row->op);
    if (!isnan(row->p0))
        a.param[0] = row->p0;
    if (!isnan(row->p1))
        a.param[1] = row->p1;
    if (row->training) {
        a.training = 1;
        a.seed = tu_seed() ^ 0x9E3779B97F4A7C15ull;
    }
    return a;
}

double tu_op_boundary(const clact_activation *act, clact_dtype dtype, unsigned pick) {
    const tu_op_row *row = tu_op_default_row(act->op);
    if (!row)
        return 0;
    if (!row->boundaries_of)
        return row->boundary;
    double b[TU_MAX_BOUNDARIES];
    int n = row->boundaries_of(act, dtype, b);
    return b[pick % (unsigned)n];
}

const tu_op_row *tu_op_default_row(clact_op op) {
    for (int i = 0; i < tu_op_row_count; ++i)
        if (tu_op_rows[i].op == op && tu_op_rows[i].has_special)
            return &tu_op_rows[i];
    return NULL;
}

clact_activation tu_op_default_act(clact_op op) {
    const tu_op_row *row = tu_op_default_row(op);
    return row ? tu_op_act(row) : clact_activation_default(op);
}
