// SPDX-License-Identifier: MIT
// Elementwise activations, forward. One kernel per op, all with the same arguments:
//   (ulong n, global const float *x, ulong x_offset, global float *y, ulong y_offset,
//    float p0, float p1)
// Work-item g handles elements [g*CLACT_VW, g*CLACT_VW + CLACT_VW) of the range; the last one
// handles the tail through a private buffer, so any n and any offset work. x and y may be the
// same buffer at the same offset (in-place): each work-item reads its elements before writing.
//
// Each act_* function below is PyTorch's function (see SEMANTICS.md), rewritten where the
// textbook formula loses accuracy or overflows, always with PyTorch's outputs for ±inf and NaN.
// select(a, b, c) is c ? b : a per lane. Comparisons with NaN are false, which is what keeps
// NaN flowing through the branches below.

vfloat act_relu(vfloat x, float p0, float p1)
{
    // PyTorch's clamp_min propagates NaN; fmax(x, 0) would not.
    return select(x, (vfloat)(0.0f), x < 0.0f);
}

vfloat act_leaky_relu(vfloat x, float negative_slope, float p1)
{
    return select(x * negative_slope, x, x > 0.0f);
}

vfloat act_elu(vfloat x, float alpha, float p1)
{
    return select(alpha * expm1(x), x, x > 0.0f);
}

// Sigmoid as e/(1+e) with e = exp(-|x|): never overflows, and for x < 0 keeps full relative
// accuracy where 1/(1+exp(-x)) would round to 0 (x < -88.7) while the answer is still a float.
vfloat logistic(vfloat x)
{
    vfloat e = exp(-fabs(x));
    return select(e, (vfloat)(1.0f), x >= 0.0f) / (1.0f + e);
}

vfloat act_sigmoid(vfloat x, float p0, float p1) { return logistic(x); }

// tanh(|x|) = -expm1(-2|x|) / (2 + expm1(-2|x|)): one expm1, no cancellation, exactly ±1 for
// large |x| (some libm tanh implementations saturate one ulp short of 1).
vfloat act_tanh(vfloat x, float p0, float p1)
{
    vfloat m = expm1(-2.0f * fabs(x));
    return copysign(-m / (2.0f + m), x);
}

// silu(x) = x * sigmoid(x); silu(-inf) = -inf * 0 = NaN, as in PyTorch.
vfloat act_silu(vfloat x, float p0, float p1) { return x * logistic(x); }

// GELU(approximate='none') = x * 0.5 * (1 + erf(x/sqrt(2))) = x * 0.5 * erfc(-x/sqrt(2)).
// The erfc form has no cancellation for x < 0, where 1 + erf loses every digit by x = -5.5.
vfloat act_gelu(vfloat x, float p0, float p1)
{
    return x * (0.5f * erfc(x * -0.70710678118654752f));
}

// GELU(approximate='tanh') = 0.5 x (1 + tanh(u)) = x / (1 + exp(-2u)),
// u = sqrt(2/pi) (x + 0.044715 x^3). The second form does not cancel for x < 0 and gives
// PyTorch's -0 / NaN / inf at -1e30 / -inf / +inf through exp's own limits.
vfloat act_gelu_tanh(vfloat x, float p0, float p1)
{
    const float k_beta = 0.79788456080286535588f;
    const float k_kappa = 0.044715f;
    vfloat u = k_beta * (x + k_kappa * (x * x) * x);
    return x / (1.0f + exp(-2.0f * u));
}

// Mish = x * tanh(softplus(x)). With e = exp(x), tanh(log1p(e)) = n / (n + 2), n = e (e + 2):
// one exp, no log, no tanh. For x > 20, tanh(softplus(x)) rounds to 1 in float, and n would
// overflow from x > 44, so the result is x there (which also carries NaN and +inf through).
vfloat act_mish(vfloat x, float p0, float p1)
{
    vfloat e = exp(x);
    vfloat n = e * (e + 2.0f);
    return select(x, x * (n / (n + 2.0f)), x <= 20.0f);
}

// Softplus(beta, threshold) = x where beta*x > threshold (strict), else log1p(exp(beta*x))/beta,
// evaluated as (max(z,0) + log1p(exp(-|z|)))/beta so exp never overflows.
vfloat act_softplus(vfloat x, float beta, float threshold)
{
    vfloat z = x * beta;
    vfloat s = select((vfloat)(0.0f), z, z > 0.0f) + log1p(exp(-fabs(z)));
    return select(s / beta, x, z > threshold);
}

#define CLACT_ELEMENTWISE(op)                                                                \
    __kernel void clact_##op(const ulong n, __global const float *x, const ulong x_offset,  \
                             __global float *y, const ulong y_offset, const float p0,        \
                             const float p1)                                                 \
    {                                                                                        \
        const ulong i = (ulong)get_global_id(0) * CLACT_VW;                                  \
        if (i >= n)                                                                          \
            return;                                                                          \
        __global const float *xs = x + x_offset + i;                                         \
        __global float *ys = y + y_offset + i;                                               \
        if (n - i >= CLACT_VW) {                                                             \
            CLACT_STORE(act_##op(CLACT_LOAD(xs), p0, p1), ys);                               \
        } else {                                                                             \
            const uint m = (uint)(n - i);                                                    \
            float buf[CLACT_VW];                                                             \
            for (uint k = 0; k < CLACT_VW; ++k)                                              \
                buf[k] = k < m ? xs[k] : 0.0f;                                               \
            vfloat v = act_##op(CLACT_LOAD(buf), p0, p1);                                    \
            CLACT_STORE(v, buf);                                                             \
            for (uint k = 0; k < m; ++k)                                                     \
                ys[k] = buf[k];                                                              \
        }                                                                                    \
    }

CLACT_ELEMENTWISE(relu)
CLACT_ELEMENTWISE(leaky_relu)
CLACT_ELEMENTWISE(elu)
CLACT_ELEMENTWISE(gelu)
CLACT_ELEMENTWISE(gelu_tanh)
CLACT_ELEMENTWISE(silu)
CLACT_ELEMENTWISE(mish)
CLACT_ELEMENTWISE(sigmoid)
CLACT_ELEMENTWISE(tanh)
CLACT_ELEMENTWISE(softplus)
