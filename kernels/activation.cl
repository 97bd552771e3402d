// SPDX-License-Identifier: MIT
// Elementwise activations, forward. One kernel per op, all with the same arguments:
//   (ulong n, global const T *x, ulong x_offset, global T *y, ulong y_offset, float p0, float p1)
// with T the storage type (float, half or bf16 as ushort; see prelude.cl); arithmetic is float.
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

// expm1(x) for x <= 0, the only arguments elu and tanh give it. PoCL's expm1 runs at a quarter
// of its exp's speed (0.6 against 2.4 Gelem/s), so: exp(x) - 1 where that cannot cancel
// (x <= -0.7: exp(x) / (1 - exp(x)) < 1, so exp's error is not magnified), and the Taylor series
// to x^10 above (truncation < 5e-10 relative at x = -0.7). exp(-inf) - 1 = -1, NaN stays NaN.
vfloat clact_expm1_neg(vfloat x)
{
    vfloat p = fma(x, (vfloat)(2.7557319223985893e-07f), (vfloat)(2.7557319223985888e-06f));
    p = fma(p, x, (vfloat)(2.4801587301587302e-05f));
    p = fma(p, x, (vfloat)(1.9841269841269841e-04f));
    p = fma(p, x, (vfloat)(1.3888888888888889e-03f));
    p = fma(p, x, (vfloat)(8.3333333333333333e-03f));
    p = fma(p, x, (vfloat)(4.1666666666666667e-02f));
    p = fma(p, x, (vfloat)(1.6666666666666667e-01f));
    p = fma(p, x, (vfloat)(0.5f));
    p = fma(p, x, (vfloat)(1.0f));
    return select(exp(x) - 1.0f, p * x, x > -0.7f);
}

// log1p(e) for 0 <= e <= 1, the only arguments softplus gives it, as 2 atanh(u) with
// u = e / (2 + e) <= 1/3: the odd series of atanh, 2u (1 + q), q = w/3 + w^2/5 + ... + w^8/17 in
// w = u^2 <= 1/9 (truncation below 2e-9 relative). PoCL's log1p and log run at a quarter of its
// exp's speed; this is a division and ten fmas. For accuracy, the rounding of 2 + e is carried
// into u (Fast2Sum: |e| <= 2), and 2u + 2u q rounds once, in the fma, so the series' own errors
// only touch the small q.
vfloat clact_log1p_unit(vfloat e)
{
    vfloat d = 2.0f + e;
    vfloat dl = (2.0f - d) + e; // 2 + e = d + dl exactly
    vfloat u = e / d;
    u = u - u * (dl / d);
    vfloat w = u * u;
    vfloat q = fma(w, (vfloat)(1.0f / 17.0f), (vfloat)(1.0f / 15.0f));
    q = fma(q, w, (vfloat)(1.0f / 13.0f));
    q = fma(q, w, (vfloat)(1.0f / 11.0f));
    q = fma(q, w, (vfloat)(1.0f / 9.0f));
    q = fma(q, w, (vfloat)(1.0f / 7.0f));
    q = fma(q, w, (vfloat)(1.0f / 5.0f));
    q = fma(q, w, (vfloat)(1.0f / 3.0f));
    q = q * w;
    return fma(2.0f * u, q, 2.0f * u);
}

vfloat act_elu(vfloat x, float alpha, float p1)
{
    return select(alpha * clact_expm1_neg(x), x, x > 0.0f);
}

// Sigmoid as e/(1+e) with e = exp(-|x|): never overflows, and for x < 0 keeps full relative
// accuracy where 1/(1+exp(-x)) would round to 0 (x < -88.7) while the answer is still a float.
vfloat logistic(vfloat x)
{
    vfloat e = exp(-fabs(x));
    return select(e, (vfloat)(1.0f), x >= 0.0f) / (1.0f + e);
}

// x * sigmoid(t + tl), where tl is a small correction to t (0 if none), accurate also where the
// product is a tiny normal float but exp(t) alone is subnormal (t < -87.3, e.g. silu(-95) =
// -5e-40): with h = exp(-|t|/2), exp(-|t|) = h*h and the product is formed as (x*h)*h, so only
// the final result rounds into the subnormal range. x * sigmoid(-inf) = x * 0 gives PyTorch's
// NaN for silu(-inf) and gelu_tanh(-inf).
vfloat x_logistic(vfloat x, vfloat t, vfloat tl)
{
    // -|t + tl| = -|t| - sign(t) tl, and exp(a - d/2) ~ exp(a) (1 - d/2) for tiny d.
    vfloat h = exp(-0.5f * fabs(t)) * (1.0f - 0.5f * select(-tl, tl, t >= 0.0f));
    vfloat e = h * h;
    return select((x * h) * h, x, t >= 0.0f) / (1.0f + e);
}

vfloat act_sigmoid(vfloat x, float p0, float p1) { return logistic(x); }

// tanh(|x|) = -expm1(-2|x|) / (2 + expm1(-2|x|)): one expm1, no cancellation, exactly ±1 for
// large |x| (some libm tanh implementations saturate one ulp short of 1).
vfloat act_tanh(vfloat x, float p0, float p1)
{
    vfloat m = clact_expm1_neg(-2.0f * fabs(x));
    return copysign(-m / (2.0f + m), x);
}

vfloat act_silu(vfloat x, float p0, float p1) { return x_logistic(x, x, (vfloat)(0.0f)); }

// GELU(approximate='none') = x Phi(x), Phi(x) = 0.5 erfc(t), t = -x/sqrt(2). PoCL's erfc runs at
// 0.3 Gelem/s, an eighth of its exp, so Phi is computed here, accurate to a few ulp everywhere:
//  - t itself is carried as t + d (d from an fma and the low half of 1/sqrt(2)): in the tail
//    erfc(t) ~ exp(-t^2) turns the rounding of t into 2 t^2 2^-24 relative error, 100+ ulp;
//  - |t| < 0.5: Phi = 0.5 - 0.5 erf(t + d), erf by its Taylor series to t^13 (truncation 4e-10);
//    no cancellation, Phi > 0.24 there;
//  - |t| >= 0.5: erfc(|t|) = exp(-t^2) G(s) / (1 + |t|), G a degree-11 polynomial in
//    s = (1/(1 + |t|) - 0.37797619) / 0.28869048, fitted (Chebyshev, numpy) to erfc(a) e^(a^2)
//    (1 + a) on a in [0.5, 10.2], 3e-10 relative. t^2 is exact as a float pair (fma), and with d
//    enters exp as exp(-t^2) (1 - c). exp(-t^2) is taken as h * h, h = exp(-t^2 / 2), so x * Phi
//    in the far tail rounds into the subnormal range once, at the end. Then Phi = 0.5 erfc(|t|)
//    for x < 0 and 1 - 0.5 erfc(|t|) for x > 0 (no cancellation: erfc(|t|) < 0.48).
// gelu(-inf) = -inf * 0 = NaN, gelu(+inf) = inf, gelu(-1e30) = -0, as PyTorch.
vfloat act_gelu(vfloat x, float p0, float p1)
{
    const float c_hi = 0.70710677f;    // 1/sqrt(2) rounded to float
    const float c_lo = 1.2101617e-08f; // 1/sqrt(2) - c_hi
    const float k = 1.12837916709551257f; // 2/sqrt(pi)
    vfloat t = x * -c_hi;
    vfloat d = fma(x, (vfloat)(-c_hi), -t) - x * c_lo;
    vfloat a = fabs(t);
    vfloat w = t * t;

    vfloat S = fma(w, (vfloat)(-1.0f / 75600.0f), (vfloat)(1.0f / 9360.0f));
    S = fma(S, w, (vfloat)(-1.0f / 1320.0f));
    S = fma(S, w, (vfloat)(1.0f / 216.0f));
    S = fma(S, w, (vfloat)(-1.0f / 42.0f));
    S = fma(S, w, (vfloat)(1.0f / 10.0f));
    S = fma(S, w, (vfloat)(-1.0f / 3.0f));
    S = fma(S, w, (vfloat)(1.0f));
    vfloat erf_t = (k * t) * S + k * d * (1.0f - w);
    vfloat phi_small = fma((vfloat)(-0.5f), erf_t, (vfloat)(0.5f));

    vfloat y = 1.0f / (1.0f + a);
    vfloat sv = fma(y, (vfloat)(3.46391753f), (vfloat)(-1.30927835f));
    vfloat G = fma(sv, (vfloat)(4.929852576e-07f), (vfloat)(7.818186687e-06f));
    G = fma(G, sv, (vfloat)(-2.544915561e-05f));
    G = fma(G, sv, (vfloat)(-2.654956805e-06f));
    G = fma(G, sv, (vfloat)(1.676972922e-04f));
    G = fma(G, sv, (vfloat)(-4.241319308e-04f));
    G = fma(G, sv, (vfloat)(-7.830808126e-05f));
    G = fma(G, sv, (vfloat)(3.721347408e-03f));
    G = fma(G, sv, (vfloat)(-8.364196844e-03f));
    G = fma(G, sv, (vfloat)(-2.502159559e-02f));
    G = fma(G, sv, (vfloat)(1.617840304e-01f));
    G = fma(G, sv, (vfloat)(7.917704672e-01f));
    // (|t| + |d|)^2 = w + c: the rounding of t * t, and the carried d.
    vfloat c = fma(t, t, -w) + 2.0f * t * d;
    c = select(c, (vfloat)(0.0f), a >= 11.0f); // beyond, erfc is 0 and c may be inf - inf
    vfloat h = exp(-0.5f * w);
    vfloat tail = (G * y) * (1.0f - c); // erfc(|t|) = tail * h * h
    vfloat neg = (((0.5f * x) * tail) * h) * h;             // x Phi for x < 0
    vfloat pos = x * fma((vfloat)(-0.5f) * tail, h * h, (vfloat)(1.0f)); // x Phi for x > 0
    return select(select(pos, neg, t > 0.0f), x * phi_small, a < 0.5f);
}

// GELU(approximate='tanh') = 0.5 x (1 + tanh(u)) = x * sigmoid(t), t = 2u =
// 2 sqrt(2/pi) (x + 0.044715 x^3). No cancellation for x < 0, and PyTorch's -0 / NaN / inf at
// -1e30 / -inf / +inf come from the limits of exp. For x < 0 the result is ~x exp(t), whose
// relative error is the absolute error of t: in plain float that is |t| * a few 2^-24, 200+ ulp
// by x = -10 (t = -90). So t is carried as a float pair (t, tl) through x^3, the constant
// products and the sum, with the products' exact remainders from fma and the constants split
// into high and low floats. Beyond |x| = 100, sigmoid(t) is exactly 0 or 1 and the pair
// arithmetic would overflow (inf - inf), so tl is 0 there.
vfloat act_gelu_tanh(vfloat x, float p0, float p1)
{
    const float b_hi = 1.5957691669464111f;  // 2 sqrt(2/pi) = b_hi + b_lo
    const float b_lo = -4.53406803e-08f;
    const float k_hi = 0.044714998453855515f; // 0.044715 = k_hi + k_lo
    const float k_lo = 1.54614448e-09f;
    vfloat x2 = x * x;
    vfloat x2l = fma(x, x, -x2);
    vfloat x3 = x2 * x;
    vfloat x3l = fma(x2, x, -x3) + x2l * x;
    vfloat a = k_hi * x3;
    vfloat al = fma((vfloat)(k_hi), x3, -a) + (k_hi * x3l + k_lo * x3);
    vfloat s = x + a; // two-sum: s + sl = x + a exactly, plus al
    vfloat bv = s - x;
    vfloat sl = ((x - (s - bv)) + (a - bv)) + al;
    vfloat t = b_hi * s;
    vfloat tl = fma((vfloat)(b_hi), s, -t) + (b_hi * sl + b_lo * s);
    tl = select(tl, (vfloat)(0.0f), fabs(x) > 100.0f);
    return x_logistic(x, t, tl);
}

// Mish = x * tanh(softplus(x)). With e = exp(x), tanh(log1p(e)) = n / (n + 2), n = e (e + 2):
// one exp, no log, no tanh. As in x_logistic, e = h*h with h = exp(x/2) and the product is
// ((x*h) * ((e+2)/(n+2))) * h, so tiny results (x < -87) keep full precision. For x > 20,
// tanh(softplus(x)) rounds to 1 in float, and n would overflow from x > 44, so the result is x
// there (which also carries NaN and +inf through).
vfloat act_mish(vfloat x, float p0, float p1)
{
    vfloat h = exp(0.5f * x);
    vfloat e = h * h;
    vfloat n = e * (e + 2.0f);
    return select(x, ((x * h) * ((e + 2.0f) / (n + 2.0f))) * h, x <= 20.0f);
}

// Softplus(beta, threshold) = x where beta*x > threshold (strict, on the float product, as in
// PyTorch), else log1p(exp(beta*x))/beta, evaluated as (max(z,0) + log1p(exp(-|z|)))/beta so
// exp never overflows. For z << 0 the result is ~exp(z), whose relative error is the absolute
// error of z: the rounding of beta*x (|z| * 2^-24, 60 ulp at z = -65) is recovered with an fma
// and applied as exp(-|z| - s*zl) = exp(-|z|) * (1 - s*zl).
vfloat act_softplus(vfloat x, float beta, float threshold)
{
    vfloat z = x * beta;
    // The remainder of the product is exact; it is meaningless (inf - inf) when z is infinite.
    vfloat zl = select(fma(x, (vfloat)(beta), -z), (vfloat)(0.0f), isinf(z));
    vint positive = z > 0.0f;
    vfloat e = exp(-fabs(z));
    e = e * (1.0f + select(zl, -zl, positive)); // -|exact z| = -|z| - sign(z) * zl
    vfloat s = select((vfloat)(0.0f), z, positive) + (clact_log1p_unit(e) + select((vfloat)(0.0f), zl, positive));
    return select(s / beta, x, z > threshold);
}

#define CLACT_ELEMENTWISE(op)                                                                \
    __kernel void clact_##op(const ulong n, __global const CLACT_STYPE *x,                   \
                             const ulong x_offset, __global CLACT_STYPE *y,                  \
                             const ulong y_offset, const float p0, const float p1)           \
    {                                                                                        \
        const ulong i = (ulong)get_global_id(0) * CLACT_VW;                                  \
        if (i >= n)                                                                          \
            return;                                                                          \
        __global const CLACT_STYPE *xs = x + x_offset + i;                                   \
        __global CLACT_STYPE *ys = y + y_offset + i;                                         \
        if (n - i >= CLACT_VW) {                                                             \
            CLACT_SSTORE(act_##op(CLACT_SLOAD(xs), p0, p1), ys);                             \
        } else {                                                                             \
            const uint m = (uint)(n - i);                                                    \
            float buf[CLACT_VW];                                                             \
            for (uint k = 0; k < CLACT_VW; ++k)                                              \
                buf[k] = k < m ? CLACT_SLOAD1(xs + k) : 0.0f;                                \
            vfloat v = act_##op(CLACT_LOAD(buf), p0, p1);                                    \
            CLACT_STORE(v, buf);                                                             \
            for (uint k = 0; k < m; ++k)                                                     \
                CLACT_SSTORE1(buf[k], ys + k);                                               \
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
