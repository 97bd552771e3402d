/* SPDX-License-Identifier: MIT */
/* The CPU reference of the activations, forward and backward, in long double (at least double)
 * with plain libm. It is written from the formulas in shared/SEMANTICS.md, independently of
 * kernels/activation.cl: where a formula needs a stable rewrite in double too, the rewrite here is
 * a different one from the kernel's where one exists, so a shared slip cannot pass both. */
#include <math.h>
#include <stdint.h>

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

/* The parameters as the kernels see them, in the compute type: PyTorch converts its Scalars to
 * opmath (float for f32, f16, bf16), after forming derived ones in double (celu's 1 / alpha,
 * rrelu's midpoint (lower + upper) / 2), and selu's constants, alpha * scale formed in opmath as
 * PyTorch's elu kernel forms negcoef. */
typedef struct ref_params {
    R p0, p1;
    R inv_alpha;        /* celu */
    R slope;            /* rrelu (evaluation mode) */
    R selu_scale, selu_neg;
    int in_float;       /* branch tests in float */
    /* rrelu training: the bounds in the compute type, for the slope draws */
    double lower, upper;
    int training;
    unsigned long long seed;
    R tanh_series[64];  /* tanhshrink: tanh's Taylor coefficients (see ref_tanhshrink) */
} ref_params;

static void ref_params_init(ref_params *rp, const clact_activation *act, clact_dtype dtype) {
    const double alpha = 1.6732632423543772848170429916717, scale = 1.0507009873554804934193349852946;
    int f = dtype != CLACT_F64;
    rp->in_float = f;
    rp->p0 = f ? (float)act->param[0] : act->param[0];
    rp->p1 = f ? (float)act->param[1] : act->param[1];
    double inv = act->op == CLACT_CELU ? 1.0 / act->param[0] : 0.0;
    double mid = (act->param[0] + act->param[1]) / 2;
    rp->inv_alpha = f ? (float)inv : inv;
    rp->slope = f ? (float)mid : mid;
    rp->selu_scale = f ? (float)scale : scale;
    rp->selu_neg = f ? (float)((float)alpha * (float)scale) : alpha * scale;
    rp->lower = (double)rp->p0;
    rp->upper = (double)rp->p1;
    rp->training = act->training;
    rp->seed = act->seed;
    /* tanh x = sum a_k x^(2k+1): from y' = 1 - y^2, (2m + 1) a_m = -sum_{j<m} a_j a_(m-1-j). */
    rp->tanh_series[0] = 1;
    for (int m = 1; m < 64; ++m) {
        R acc = 0;
        for (int j = 0; j < m; ++j)
            acc += rp->tanh_series[j] * rp->tanh_series[m - 1 - j];
        rp->tanh_series[m] = -acc / (2 * m + 1);
    }
}

/* x - tanh(x) without its cancellation near 0: the Taylor series of tanh (radius pi/2) below
 * |x| = 0.8, where 64 terms reach (1.6/pi)^128 relative; x - tanhl(x) beyond, which loses at
 * most a factor 6 of long double's precision. The kernels use a fitted polynomial instead. */
static R ref_tanhshrink(const ref_params *rp, R x) {
    if (!(fabsl(x) < 0.8L))
        return x - tanhl(x);
    R w = x * x, sum = 0;
    for (int k = 63; k >= 1; --k)
        sum = sum * w + rp->tanh_series[k];
    return -(sum * w) * x;
}

/* Philox4x32-10 (Salmon, Moraes, Dror, Shaw, SC'11), written from the paper: 10 rounds of two
 * 32x32->64 multiplications, the key bumped by the Weyl constants between rounds. */
static void ref_philox(uint32_t c[4], uint32_t k0, uint32_t k1) {
    for (int r = 0; r < 10; ++r) {
        if (r > 0) {
            k0 += 0x9E3779B9u;
            k1 += 0xBB67AE85u;
        }
        uint64_t p0 = (uint64_t)0xD2511F53u * c[0], p1 = (uint64_t)0xCD9E8D57u * c[2];
        uint32_t n0 = (uint32_t)(p1 >> 32) ^ c[1] ^ k0, n1 = (uint32_t)p1;
        uint32_t n2 = (uint32_t)(p0 >> 32) ^ c[3] ^ k1, n3 = (uint32_t)p0;
        c[0] = n0;
        c[1] = n1;
        c[2] = n2;
        c[3] = n3;
    }
}

void clact_reference_philox(cl_uint counter[4], unsigned long long key) {
    if (counter)
        ref_philox(counter, (uint32_t)key, (uint32_t)(key >> 32));
}

/* rrelu's training slope of element i (clact.h): u from Philox at counter (i, 0), then
 * lower + (upper - lower) u by one fma in the compute type. */
static R ref_rrelu_slope(const ref_params *rp, size_t i) {
    uint32_t c[4] = {(uint32_t)i, (uint32_t)((uint64_t)i >> 32), 0, 0};
    ref_philox(c, (uint32_t)rp->seed, (uint32_t)(rp->seed >> 32));
    if (rp->in_float) {
        float u = (float)(c[0] >> 8) * 0x1p-24f;
        return fmaf(u, (float)rp->upper - (float)rp->lower, (float)rp->lower);
    }
    double u = (double)((((uint64_t)c[0] << 32) | c[1]) >> 11) * 0x1p-53;
    return fma(u, rp->upper - rp->lower, rp->lower);
}

static R ref_one(const ref_params *rp, clact_op op, R x, size_t i) {
    const R p0 = rp->p0, p1 = rp->p1;
    const int float_branches = rp->in_float;
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
    case CLACT_RELU6:
    case CLACT_HARDTANH: {
        R lo = op == CLACT_RELU6 ? 0 : p0, hi = op == CLACT_RELU6 ? 6 : p1;
        return x < lo ? lo : x > hi ? hi : x; /* NaN: x */
    }
    case CLACT_SELU: return x > 0 ? rp->selu_scale * x : rp->selu_neg * expm1l(x);
    case CLACT_CELU: return x > 0 ? x : p0 * expm1l(x * rp->inv_alpha);
    case CLACT_HARDSIGMOID:
        if (isnan(x))
            return x;
        return x <= -3 ? 0.0L : x >= 3 ? 1.0L : (x + 3) / 6;
    case CLACT_HARDSWISH:
        if (isnan(x))
            return x;
        return x <= -3 ? x * 0.0L : x >= 3 ? x : x * (x + 3) / 6;
    case CLACT_LOGSIGMOID: return -ref_log1pexp(-x);
    case CLACT_SOFTSIGN: return x / (1 + fabsl(x));
    case CLACT_TANHSHRINK: return ref_tanhshrink(rp, x);
    case CLACT_SOFTSHRINK: return x > p0 ? x - p0 : x < -p0 ? x + p0 : 0.0L; /* NaN: 0 */
    case CLACT_HARDSHRINK: return x >= -p0 && x <= p0 ? 0.0L : x;
    case CLACT_THRESHOLD: return x <= p0 ? p1 : x;
    case CLACT_PRELU: return x > 0 ? x : p0 * x;
    case CLACT_RRELU:
        if (rp->training)
            return x <= 0 ? x * ref_rrelu_slope(rp, i) : x;
        return x > 0 ? x : rp->slope * x;
    case CLACT_GLU:
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
    if (!clact_op_elementwise(act->op))
        return clact__fail(NULL, CLACT_INVALID_ARGUMENT,
                           "%s is not elementwise (clact_reference_glu)", clact_op_name(act->op));
    /* PyTorch converts the parameters to the tensor's opmath type: float for f32, f16, bf16. */
    ref_params rp;
    ref_params_init(&rp, act, dtype);
    for (size_t i = 0; i < n; ++i)
        y[i] = (double)ref_one(&rp, act->op, x[i], i);
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
static R ref_derivative(const ref_params *rp, clact_op op, R x, size_t i) {
    const R p0 = rp->p0, p1 = rp->p1;
    const int float_branches = rp->in_float;
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
    /* The masks (1 or 0, chosen by the caller): hardtanh_backward's exclusive limits, the
     * shrinks' band, threshold's test; NaN: 0 for all but threshold (PyTorch's vectorised
     * kernels). */
    case CLACT_RELU6: return x > 0 && x < 6 ? 1.0L : 0.0L;
    case CLACT_HARDTANH: return x > p0 && x < p1 ? 1.0L : 0.0L;
    case CLACT_SOFTSHRINK:
    case CLACT_HARDSHRINK: return x < -p0 || x > p0 ? 1.0L : 0.0L;
    case CLACT_THRESHOLD: return x <= p0 ? 0.0L : 1.0L;
    case CLACT_SELU: return x > 0 ? rp->selu_scale : rp->selu_neg * expl(x);
    case CLACT_CELU: return x > 0 ? 1.0L : p0 * rp->inv_alpha * expl(x * rp->inv_alpha);
    case CLACT_HARDSIGMOID: return x > -3 && x < 3 ? 1.0L / 6 : 0.0L;
    case CLACT_HARDSWISH:
        if (isnan(x))
            return x;
        return x < -3 ? 0.0L : x <= 3 ? (2 * x + 3) / 6 : 1.0L;
    case CLACT_LOGSIGMOID: return ref_sigmoid(-x);
    case CLACT_SOFTSIGN: {
        if (isinf((double)x))
            return NAN;
        /* (1/d)^2, not 1/d^2: d^2 overflows where R is no wider than double (under valgrind's
         * x87 emulation, x = 2^519 gave 0 instead of 1.1e-313). */
        R r = 1 / (1 + fabsl(x));
        return r * r;
    }
    case CLACT_TANHSHRINK: {
        R t = tanhl(x);
        return t * t;
    }
    case CLACT_PRELU: return x > 0 ? 1.0L : p0;
    case CLACT_RRELU:
        if (rp->training)
            return x <= 0 ? ref_rrelu_slope(rp, i) : 1.0L;
        return x > 0 ? 1.0L : rp->slope;
    case CLACT_GLU:
    case CLACT_OP_COUNT: break;
    }
    return NAN;
}

/* d act / dy expressed in y (PyTorch's formulas for the ops whose backward reads the output). */
static R ref_derivative_from_y(const ref_params *rp, clact_op op, R y, size_t i) {
    const R p0 = rp->p0;
    switch (op) {
    case CLACT_RELU6:
    case CLACT_HARDTANH:
    case CLACT_THRESHOLD:
    case CLACT_PRELU: return ref_derivative(rp, op, y, i); /* the same tests hold for y */
    case CLACT_RRELU:
        if (rp->training)
            return y <= 0 ? ref_rrelu_slope(rp, i) : 1.0L;
        return y > 0 ? 1.0L : rp->slope;
    case CLACT_SELU: return y > 0 ? rp->selu_scale : y + rp->selu_neg;
    case CLACT_CELU: return y > 0 ? 1.0L : rp->inv_alpha * (y + p0);
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
    if (!clact_op_elementwise(act->op))
        return clact__fail(NULL, CLACT_INVALID_ARGUMENT,
                           "%s is not elementwise (clact_reference_glu_backward)",
                           clact_op_name(act->op));
    ref_params rp;
    ref_params_init(&rp, act, dtype);
    const int in_float = rp.in_float;
    const clact_op op = act->op;
    for (size_t i = 0; i < n; ++i) {
        R v = s[i], g = dy[i];
        /* relu chooses (PyTorch's threshold_backward): 0 where the saved value is <= 0, dy
         * itself elsewhere (NaN included), whatever dy is. */
        if (op == CLACT_RELU) {
            dx[i] = v <= 0 ? 0.0 : dy[i];
            continue;
        }
        R f = s == x ? ref_derivative(&rp, op, v, i) : ref_derivative_from_y(&rp, op, v, i);
        /* The other choices: the masks (hardtanh_backward, the shrinks, threshold) give dy or 0;
         * hardsigmoid 0 outside (-3, 3) and hardswish below -3, whatever dy is. */
        if (op == CLACT_RELU6 || op == CLACT_HARDTANH || op == CLACT_SOFTSHRINK ||
            op == CLACT_HARDSHRINK || op == CLACT_THRESHOLD) {
            dx[i] = f != 0 ? dy[i] : 0.0;
            continue;
        }
        if ((op == CLACT_HARDSIGMOID && f == 0) || (op == CLACT_HARDSWISH && v < -3)) {
            dx[i] = 0.0;
            continue;
        }
        /* f' in the compute type, as PyTorch forms it: where it underflows to 0 there, an
         * infinite dy gives NaN, and a huge dy cannot bring back digits f' did not have. */
        f = in_float ? (R)(float)f : (R)(double)f;
        dx[i] = (double)(g * f);
    }
    return CLACT_OK;
}
