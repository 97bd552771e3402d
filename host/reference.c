/* SPDX-License-Identifier: MIT */
/* The CPU reference of the activations, forward and backward, in long double (at least double)
 * with plain libm. It is written from the formulas in shared/SEMANTICS.md, independently of
 * kernels/activation.cl: where a formula needs a stable rewrite in double too, the rewrite here is
 * a different one from the kernel's where one exists, so a shared slip cannot pass both. */
#include <math.h>

#include "internal.h"

/* Everything is evaluated in long double (a 64-bit significand on x86, a 113-bit one on
 * AArch64 Linux, and plain double where the platform has no wider type), then rounded once to
 * double: 11 bits beyond double keep the argument roundings that tails amplify (erfc(t) ~ e^-t^2
 * turns the rounding of t into 2 t^2 ulp, 1500 ulp of double at t = 27) below the f64 kernels'
 * own error, and make the float reference all but exact. */
typedef long double R;

/* Logistic function, exact to rounding for every input: exp of a non-positive number never
 * overflows. */
static R ref_sigmoid(R x) {
    if (x >= 0)
        return 1.0L / (1.0L + expl(-x));
    R e = expl(x);
    return e / (1.0L + e);
}

/* log(1 + e^z) without overflow or cancellation. */
static R ref_log1pexp(R z) {
    if (z > 0)
        return z + log1pl(expl(-z));
    return log1pl(expl(z));
}

static R ref_one(clact_op op, R x, R p0, R p1, int float_branches) {
    switch (op) {
    case CLACT_RELU:
        if (isnan(x))
            return x;
        return x > 0 ? x : 0.0L;
    case CLACT_LEAKY_RELU: return x > 0 ? x : x * p0;
    case CLACT_ELU: return x > 0 ? x : p0 * expm1l(x);
    case CLACT_GELU:
        /* 0.5 x (1 + erf(x/sqrt 2)); 1 + erf(t) = erfc(-t) avoids the cancellation for x < 0. */
        return 0.5L * x * erfcl(-x / sqrtl(2.0L));
    case CLACT_GELU_TANH: {
        /* 0.5 x (1 + tanh(u)), and 0.5 (1 + tanh(u)) = sigmoid(2u). */
        R u =
            0.797884560802865355879892119868763737L /* sqrt(2/pi) */ * (x + 0.044715L * x * x * x);
        return x * ref_sigmoid(2.0L * u);
    }
    case CLACT_SILU: return x * ref_sigmoid(x);
    case CLACT_MISH: return x * tanhl(ref_log1pexp(x));
    case CLACT_SIGMOID: return ref_sigmoid(x);
    case CLACT_TANH: return tanhl(x);
    case CLACT_SOFTPLUS: {
        /* PyTorch's branch test is (x*beta) > threshold evaluated in the compute type. */
        int linear = float_branches ? (float)((float)x * (float)p0) > (float)p1
                                    : (double)x * (double)p0 > (double)p1;
        if (linear)
            return x;
        return ref_log1pexp(x * p0) / p0;
    }
    case CLACT_OP_COUNT: break;
    }
    return NAN;
}

clact_status clact_reference_forward(const clact_activation *act, clact_dtype dtype, size_t n,
                                     const double *x, double *y) {
    char why[256];
    clact__clear_error(NULL);
    if (clact_activation_check(act, why, sizeof why) != CLACT_OK)
        return clact__fail(NULL, CLACT_INVALID_ARGUMENT, "%s", why);
    if (!clact_dtype_size(dtype))
        return clact__fail(NULL, CLACT_INVALID_ARGUMENT, "unknown dtype %d", (int)dtype);
    if (n > 0 && (!x || !y))
        return clact__fail(NULL, CLACT_INVALID_ARGUMENT, "x or y is NULL");
    /* PyTorch converts the parameters to the tensor's opmath type: float for f32, f16, bf16. */
    int in_float = dtype != CLACT_F64;
    double p0 = in_float ? (double)(float)act->param[0] : act->param[0];
    double p1 = in_float ? (double)(float)act->param[1] : act->param[1];
    for (size_t i = 0; i < n; ++i)
        y[i] = (double)ref_one(act->op, x[i], p0, p1, in_float);
    return CLACT_OK;
}

/* 1 - tanh(u)^2 = 1 / cosh(u)^2: no cancellation near |tanh| = 1. Past |u| = 20, 4 exp(-2|u|)
 * (the rest, (1 + exp(-2|u|))^-2, is 1 within 2^-110): cosh(u)^2 would overflow where long double
 * is only double (valgrind) while the value is still a double. */
static R ref_sech2(R u) {
    if (fabsl(u) > 20)
        return 4.0L * expl(-2.0L * fabsl(u));
    R c = coshl(u);
    return 1.0L / (c * c);
}

/* d act / dx, from PyTorch's derivative formulas (SEMANTICS.md (b)), in forms that do not
 * cancel: 1 - sigmoid(x) as sigmoid(-x), 1 - tanh^2 as sech^2. relu is not a product (its
 * gradient where x <= 0 is 0 whatever dy is) and is handled by the caller. */
static R ref_derivative(clact_op op, R x, R p0, R p1, int float_branches) {
    const R sqrt_2pi = 2.506628274631000502415765284811045253L;
    switch (op) {
    case CLACT_RELU: return x > 0 ? 1.0L : 0.0L;
    case CLACT_LEAKY_RELU: return x > 0 ? 1.0L : p0;
    case CLACT_ELU: return x > 0 ? 1.0L : p0 * expl(x); /* NaN: NaN */
    case CLACT_GELU:
        /* Phi(x) + x pdf(x); 1 + erf(x/sqrt 2) = erfc(-x/sqrt 2). */
        return 0.5L * erfcl(-x / sqrtl(2.0L)) + x * expl(-0.5L * x * x) / sqrt_2pi;
    case CLACT_GELU_TANH: {
        /* 0.5 (1 + tanh u) + 0.5 x (1 - tanh^2 u) sqrt(2/pi) (1 + 3 0.044715 x^2); ±inf: NaN (as
         * PyTorch). sech^2 u is exactly 0 long before (1 + 3k x^2) overflows, and the term is 0. */
        const R kb = 0.797884560802865355879892119868763737L;
        if (isinf((double)x)) /* tested as double: valgrind's emulated long double misses inf */
            return NAN;
        R u = kb * (x + 0.044715L * x * x * x), s2 = ref_sech2(u);
        return ref_sigmoid(2.0L * u) +
               (s2 == 0 ? 0.0L : 0.5L * x * s2 * kb * (1 + 0.134145L * x * x));
    }
    case CLACT_SILU: return ref_sigmoid(x) + x * ref_sigmoid(x) * ref_sigmoid(-x);
    case CLACT_MISH: {
        R sp = ref_log1pexp(x);
        return tanhl(sp) + x * ref_sigmoid(x) * ref_sech2(sp);
    }
    case CLACT_SIGMOID: return ref_sigmoid(x) * ref_sigmoid(-x);
    case CLACT_TANH: return ref_sech2(x);
    case CLACT_SOFTPLUS: {
        int linear = float_branches ? (float)((float)x * (float)p0) > (float)p1
                                    : (double)x * (double)p0 > (double)p1;
        return linear ? 1.0L : ref_sigmoid(x * p0);
    }
    case CLACT_OP_COUNT: break;
    }
    return NAN;
}

/* d act / dy expressed in y (PyTorch's formulas for the ops whose backward reads the output). */
static R ref_derivative_from_y(clact_op op, R y, R p0) {
    switch (op) {
    case CLACT_RELU: return y > 0 ? 1.0L : 0.0L;
    case CLACT_LEAKY_RELU: return y > 0 ? 1.0L : p0;
    case CLACT_ELU: return y > 0 ? 1.0L : y + p0;
    case CLACT_SIGMOID: return (1.0L - y) * y;
    case CLACT_TANH: return (1.0L - y) * (1.0L + y); /* 1 - y^2, without losing y * y's rounding */
    default: return NAN;
    }
}

clact_status clact_reference_backward(const clact_activation *act, clact_dtype dtype, size_t n,
                                      const double *x, const double *y, const double *dy,
                                      double *dx) {
    char why[256];
    clact__clear_error(NULL);
    CLACT__RETURN_IF(clact_activation_check(act, why, sizeof why) != CLACT_OK, NULL,
                     CLACT_INVALID_ARGUMENT, "%s", why);
    CLACT__RETURN_IF(!clact_dtype_size(dtype), NULL, CLACT_INVALID_ARGUMENT, "unknown dtype %d",
                     (int)dtype);
    unsigned can = clact_backward_saved(act);
    const double *s = x && (can & CLACT_SAVED_X) ? x : y && (can & CLACT_SAVED_Y) ? y : NULL;
    CLACT__RETURN_IF(n > 0 && (!s || !dy || !dx), NULL, CLACT_INVALID_ARGUMENT,
                     "the saved tensor (x, or y where the op allows), dy or dx is NULL");
    int in_float = dtype != CLACT_F64;
    double p0 = in_float ? (double)(float)act->param[0] : act->param[0];
    double p1 = in_float ? (double)(float)act->param[1] : act->param[1];
    for (size_t i = 0; i < n; ++i) {
        R v = s[i], g = dy[i];
        /* relu chooses (PyTorch's threshold_backward): 0 where the saved value is <= 0, dy
         * itself elsewhere (NaN included), whatever dy is. */
        if (act->op == CLACT_RELU) {
            dx[i] = v <= 0 ? 0.0 : dy[i];
            continue;
        }
        R f = s == x ? ref_derivative(act->op, v, p0, p1, in_float)
                     : ref_derivative_from_y(act->op, v, p0);
        /* f' in the compute type, as PyTorch forms it: where it underflows to 0 there, an
         * infinite dy gives NaN, and a huge dy cannot bring back digits f' did not have. */
        f = in_float ? (R)(float)f : (R)(double)f;
        dx[i] = (double)(g * f);
    }
    return CLACT_OK;
}
