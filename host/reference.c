/* SPDX-License-Identifier: MIT */
/* The CPU reference, in long double (at least double) with plain libm. It is written from the formulas in
 * shared/SEMANTICS.md, independently of kernels/activation.cl: where a formula needs a stable
 * rewrite in double too, the rewrite here is a different one from the kernel's where one
 * exists, so a shared slip cannot pass both. */
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
        R u = 0.797884560802865355879892119868763737L /* sqrt(2/pi) */ *
              (x + 0.044715L * x * x * x);
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
