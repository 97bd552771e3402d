/* SPDX-License-Identifier: MIT */
/* The CPU reference of the optimizer steps, written from PyTorch 1.13's torch/optim/sgd.py,
 * adam.py and adamw.py (single-tensor path) independently of kernels/optim.cl. Each PyTorch
 * operation is correctly rounded to the compute type, as IEEE arithmetic defines it. For float
 * data it is evaluated in long double and rounded once to float: a product of floats is exact
 * there, and a significand of 64 bits (or 53, where long double is double) is wide enough,
 * 2p + 2 bits, for a sum, quotient or square root rounded twice to be rounded once. For double
 * data the operations are double's own (long double would round twice now and then). PyTorch's
 * fused multiply-adds go through libm's fmaf and fma, which round once. The stored tensors are
 * then rounded to the dtype itself: f16 and bf16 to nearest even. */
#include <math.h>

#include "internal.h"

typedef long double R;

typedef struct numerics {
    clact_dtype dtype;
    int in_float; /* the compute type is float (f32, f16, bf16), else double */
} numerics;

/* The four operations and the square root, each correctly rounded to the compute type. */
static R mul(const numerics *nu, R a, R b) {
    return nu->in_float ? (R)(float)(a * b) : (R)((double)a * (double)b);
}
static R add(const numerics *nu, R a, R b) {
    return nu->in_float ? (R)(float)(a + b) : (R)((double)a + (double)b);
}
static R quotient(const numerics *nu, R a, R b) {
    return nu->in_float ? (R)(float)(a / b) : (R)((double)a / (double)b);
}
static R root(const numerics *nu, R a) {
    return nu->in_float ? (R)(float)sqrtl(a) : (R)sqrt((double)a);
}
/* A Python number converted to the compute type. */
static R scalar(const numerics *nu, double v) { return nu->in_float ? (R)(float)v : (R)v; }

/* a * b + c with one rounding, as PyTorch's vectorised add(alpha=) and addcmul. */
static R fused(const numerics *nu, R a, R b, R c) {
    if (nu->in_float)
        return fmaf((float)a, (float)b, (float)c);
    return fma((double)a, (double)b, (double)c);
}

/* v rounded to nearest even in a binary format of p significant bits whose normal exponents run
 * from emin to emax (subnormals below emin keep its spacing; from the first power of two past
 * the largest finite value, inf). */
static double round_format(double v, int p, int emin, int emax) {
    if (!isfinite(v) || v == 0)
        return v;
    int e;
    frexp(v, &e); /* |v| in [2^(e-1), 2^e) */
    int lead = e - 1 < emin ? emin : e - 1;
    double spacing = ldexp(1.0, lead - (p - 1));
    double r = nearbyint(v / spacing) * spacing; /* ties to even in the default rounding mode */
    return fabs(r) >= ldexp(1.0, emax + 1) ? copysign(INFINITY, v) : r;
}

/* x as the dtype stores it. */
static double stored(const numerics *nu, R x) {
    switch (nu->dtype) {
    case CLACT_F64: return (double)x;
    case CLACT_F16: return round_format((float)x, 11, -14, 15);
    case CLACT_BF16: return round_format((float)x, 8, -126, 127);
    default: return (float)x;
    }
}

static numerics numerics_of(clact_dtype dtype) {
    numerics nu = {dtype, dtype != CLACT_F64};
    return nu;
}

static R maximum_propagating_nan(R a, R b) {
    if (isnan(a) || isnan(b))
        return NAN;
    return a > b ? a : b;
}

clact_status clact_reference_sgd_step(const clact_sgd_desc *d, clact_dtype dtype, size_t n,
                                      unsigned long long step, double *param, const double *grad,
                                      double *momentum_buffer) {
    char why[256];
    clact__clear_error(NULL);
    CLACT__RETURN_IF(clact_sgd_check(d, why, sizeof why) != CLACT_OK, NULL, CLACT_INVALID_ARGUMENT,
                     "%s", why);
    CLACT__RETURN_IF(!clact_dtype_size(dtype), NULL, CLACT_INVALID_ARGUMENT, "unknown dtype %d",
                     (int)dtype);
    CLACT__RETURN_IF(step == 0, NULL, CLACT_INVALID_ARGUMENT, "sgd: step is 0");
    int has_momentum = d->momentum != 0;
    CLACT__RETURN_IF(n > 0 && (!param || !grad || (has_momentum && !momentum_buffer)), NULL,
                     CLACT_INVALID_ARGUMENT,
                     "param, grad or (with momentum) momentum_buffer is NULL");
    /* Python's scalars: -lr, 1 - dampening in double, each converted to the compute type. */
    CLACT__FORWARD(clact__optim_fits(NULL, dtype, "sgd", "-lr", -d->lr));
    if (d->weight_decay != 0)
        CLACT__FORWARD(clact__optim_fits(NULL, dtype, "sgd", "weight_decay", d->weight_decay));
    if (has_momentum && step > 1)
        CLACT__FORWARD(clact__optim_fits(NULL, dtype, "sgd", "1 - dampening", 1.0 - d->dampening));
    if (d->nesterov)
        CLACT__FORWARD(clact__optim_fits(NULL, dtype, "sgd", "momentum", d->momentum));
    numerics nu = numerics_of(dtype);
    R lr_neg = scalar(&nu, -d->lr), wd = scalar(&nu, d->weight_decay);
    R mom = scalar(&nu, d->momentum), keep = scalar(&nu, 1.0 - d->dampening);
    for (size_t i = 0; i < n; ++i) {
        R p = stored(&nu, param[i]);
        R d_p = stored(&nu, grad[i]);
        if (d->maximize)
            d_p = -d_p;
        if (d->weight_decay != 0)
            d_p = fused(&nu, p, wd, d_p); /* d_p.add(param, alpha=weight_decay) */
        if (has_momentum) {
            R buf = d_p; /* the first step clones d_p */
            if (step > 1)
                buf = fused(&nu, d_p, keep, mul(&nu, stored(&nu, momentum_buffer[i]), mom));
            momentum_buffer[i] = stored(&nu, buf);
            d_p = d->nesterov ? fused(&nu, buf, mom, d_p) : buf;
        }
        param[i] = stored(&nu, fused(&nu, d_p, lr_neg, p)); /* param.add_(d_p, alpha=-lr) */
    }
    return CLACT_OK;
}

clact_status clact_reference_adam_step(const clact_adam_desc *d, clact_dtype dtype, size_t n,
                                       unsigned long long step, double *param, const double *grad,
                                       double *exp_avg, double *exp_avg_sq,
                                       double *max_exp_avg_sq) {
    char why[256];
    clact__clear_error(NULL);
    CLACT__RETURN_IF(clact_adam_check(d, why, sizeof why) != CLACT_OK, NULL, CLACT_INVALID_ARGUMENT,
                     "%s", why);
    CLACT__RETURN_IF(!clact_dtype_size(dtype), NULL, CLACT_INVALID_ARGUMENT, "unknown dtype %d",
                     (int)dtype);
    const char *name = d->decoupled ? "adamw" : "adam";
    CLACT__RETURN_IF(step == 0, NULL, CLACT_INVALID_ARGUMENT, "%s: step is 0", name);
    CLACT__RETURN_IF(
        n > 0 && (!param || !grad || !exp_avg || !exp_avg_sq || (d->amsgrad && !max_exp_avg_sq)),
        NULL, CLACT_INVALID_ARGUMENT,
        "param, grad, exp_avg, exp_avg_sq or (amsgrad) max_exp_avg_sq is NULL");
    /* The Python part of the step, in double. */
    double t = (double)step;
    double bias_correction1 = 1 - pow(d->beta1, t);
    double bias_correction2 = 1 - pow(d->beta2, t);
    double step_size = d->lr / bias_correction1;
    double bias_correction2_sqrt = sqrt(bias_correction2);
    int l2 = !d->decoupled && d->weight_decay != 0;
    if (l2)
        CLACT__FORWARD(clact__optim_fits(NULL, dtype, name, "weight_decay", d->weight_decay));
    CLACT__FORWARD(clact__optim_fits(NULL, dtype, name, "-step_size", -step_size));
    numerics nu = numerics_of(dtype);
    R b1 = scalar(&nu, d->beta1), b2 = scalar(&nu, d->beta2);
    R one_b1 = scalar(&nu, 1 - d->beta1), one_b2 = scalar(&nu, 1 - d->beta2);
    R wd = scalar(&nu, d->weight_decay), shrink = scalar(&nu, 1 - d->lr * d->weight_decay);
    R bc2s = scalar(&nu, bias_correction2_sqrt), eps = scalar(&nu, d->eps);
    R value = scalar(&nu, -step_size);
    for (size_t i = 0; i < n; ++i) {
        R p = stored(&nu, param[i]);
        R g = stored(&nu, grad[i]);
        if (d->maximize)
            g = -g;
        if (l2)
            g = fused(&nu, p, wd, g); /* grad.add(param, alpha=weight_decay) */
        if (d->decoupled)
            p = mul(&nu, p, shrink); /* param.mul_(1 - lr * weight_decay) */
        R m = fused(&nu, g, one_b1, mul(&nu, stored(&nu, exp_avg[i]), b1));
        R v = fused(&nu, mul(&nu, one_b2, g), g, mul(&nu, stored(&nu, exp_avg_sq[i]), b2));
        exp_avg[i] = stored(&nu, m);
        exp_avg_sq[i] = stored(&nu, v);
        if (d->amsgrad) {
            v = maximum_propagating_nan(stored(&nu, max_exp_avg_sq[i]), v);
            max_exp_avg_sq[i] = stored(&nu, v);
        }
        R denom = add(&nu, quotient(&nu, root(&nu, v), bc2s), eps);
        param[i] = stored(&nu, add(&nu, p, quotient(&nu, mul(&nu, value, m), denom)));
    }
    return CLACT_OK;
}
