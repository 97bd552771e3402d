// SPDX-License-Identifier: MIT
// Elementwise activations, backward: dx = dy * f'(.), with PyTorch's autograd formulas
// (SEMANTICS.md (b), (c) 21-23) and their outputs for ±inf and NaN. Built in the activation
// program, after activation.cl, whose helpers it uses. One kernel per (op, saved tensor), all
// with the same arguments:
//   (ulong n, global const T *s, ulong s_offset, global const T *dy, ulong dy_offset,
//    global T *dx, ulong dx_offset, real p0, real p1)
// where s is what the op's backward reads: x (clact_<op>_bwd_x) or y = f(x) (clact_<op>_bwd_y).
// Work-items as in the forward kernels; dx may be the same elements as s or dy (in place).
//
// Each bwd_* returns f'(.) itself (the caller multiplies by dy, once, as PyTorch does), written
// where PyTorch's formula would cancel or overflow in a way that changes the exact value:
//  - where f' is a product with a tiny exp (x << 0), exp(v) is taken as h * h, h = exp(v / 2),
//    and the product rounds into the subnormal range once, at the end (as the forward does);
//  - 1 - sigmoid and 1 - tanh^2 are never formed by subtraction near 1: sigmoid(-t) and
//    4 e / (1 + e)^2 are computed directly;
//  - PyTorch's NaN at ±inf (gelu, gelu_tanh, silu, mish: inf * 0) is kept, but not its NaN from
//    float overflow at finite inputs (gelu_tanh for |x| > 1.8e19, where x^2 overflows; softplus
//    with threshold > 88.7, where exp overflows): there clact gives the exact derivative.

// relu: PyTorch's threshold_backward, `s <= 0 ? 0 : dy` on y (or on x: the same test), a choice
// and not a product (CLACT_BWD_MASK: dy = inf or NaN still gives 0 where s <= 0). NaN passes the
// gradient through.
vreal bwd_relu(vreal s, real p0, real p1) { return CLACT_SEL((vreal)(1.0f), (vreal)(0.0f), s <= 0.0f); }

// leaky_relu: `x > 0 ? dy : dy * slope`; from y only with slope >= 0 (then y > 0 iff x > 0).
vreal bwd_leaky_relu(vreal s, real negative_slope, real p1)
{
    return CLACT_SEL((vreal)(negative_slope), (vreal)(1.0f), s > 0.0f);
}

// elu from x: `x > 0 ? dy : dy * alpha * exp(x)`; from y (alpha >= 0): `y > 0 ? dy : dy * (y +
// alpha)`, as PyTorch's is_result form. NaN gives NaN, as PyTorch's vectorised CPU kernel does
// (its scalar tail, for the last few elements of a tensor, gives dy instead).
vreal bwd_elu_x(vreal x, real alpha, real p1)
{
    return CLACT_SEL(alpha * clact_exp_neg(CLACT_SEL(x, (vreal)(0.0f), x > 0.0f)), (vreal)(1.0f),
                     x > 0.0f);
}
vreal bwd_elu_y(vreal y, real alpha, real p1) { return CLACT_SEL(y + alpha, (vreal)(1.0f), y > 0.0f); }

// sigmoid from y: PyTorch's (1 - y) y. From x: sigmoid(x) sigmoid(-x) = e / (1 + e)^2 with
// e = exp(-|x|), no cancellation, e as h * h for the subnormal tail.
vreal bwd_sigmoid_y(vreal y, real p0, real p1) { return (1.0f - y) * y; }
vreal bwd_sigmoid_x(vreal x, real p0, real p1)
{
    vreal h = clact_exp_neg(-0.5f * fabs(x));
    vreal d = 1.0f + h * h;
    return (h / d) * (h / d);
}

// tanh from y: PyTorch's 1 - y^2, as (1 - y)(1 + y): 1 - y is exact for |y| >= 1/2, so there is
// no cancellation near |y| = 1 (1 - y * y would lose the rounding of y * y there). From x:
// 1 - tanh(x)^2 = 4 e / (1 + e)^2, e = exp(-2|x|).
vreal bwd_tanh_y(vreal y, real p0, real p1) { return (1.0f - y) * (1.0f + y); }
vreal bwd_tanh_x(vreal x, real p0, real p1)
{
    vreal h = clact_exp_neg(-fabs(x));
    vreal d = 1.0f + h * h;
    return 4.0f * ((h / d) * (h / d));
}

// silu: s (1 + x (1 - s)), s = sigmoid(x), as s (1 + x sigmoid(-x)). With e = exp(-|x|):
// x >= 0: (1 + x e / (1 + e)) / (1 + e); x < 0: e (1 + x / (1 + e)) / (1 + e), e = h * h.
// ±inf: inf * 0 = NaN, as PyTorch.
vreal bwd_silu(vreal x, real p0, real p1)
{
    vreal h = clact_exp_neg(-0.5f * fabs(x));
    vreal e = h * h, d = 1.0f + e;
    vreal pos = (1.0f + x * (e / d)) / d;
    vreal neg = (((1.0f + x / d) * h) * h) / d;
    return CLACT_SEL(neg, pos, x >= 0.0f);
}

// mish: t + x s (1 - t^2), t = tanh(softplus(x)), s = sigmoid(x). With e = exp(x),
// n = e (e + 2): t = n / (n + 2) and s (1 - t^2) = 4 e (e + 1) / (n + 2)^2, so
// f' = e ((e + 2) / (n + 2) + 4 x (e + 1) / (n + 2)^2), e = h * h for the tail, with x taken
// into the product as x h (4 x alone overflows for x < -8.5e37, where f' is -0). Past x = 40 the
// second term is below 2^-100 relative (4 x exp(-2x)) and f' is 1; +inf and -inf give NaN
// (inf / inf, -inf * 0) as PyTorch.
vreal bwd_mish(vreal x, real p0, real p1)
{
    vreal h = clact_exp_neg(0.5f * fmin(x, (vreal)(40.0f)));
    vreal e = h * h, q = 1.0f / (e * (e + 2.0f) + 2.0f);
    vreal f = ((e + 2.0f) * q * h + (4.0f * (e + 1.0f) * q * q) * (x * h)) * h;
    f = CLACT_SEL(f, (vreal)(1.0f), x > 40.0f);
    return CLACT_SEL(f, (vreal)(NAN), x == INFINITY);
}

// softplus: `beta x > threshold ? dy : dy z / (z + 1)`, z = exp(beta x), i.e. sigmoid(beta x),
// with the product's rounding carried (as the forward) since sigmoid(z) ~ exp(z) for z << 0.
vreal bwd_softplus(vreal x, real beta, real threshold)
{
    vreal z = x * beta;
    vreal zl = CLACT_SEL(fma(x, (vreal)(beta), -z), (vreal)(0.0f), isinf(z));
    vmask positive = z > 0.0f;
    vreal e = clact_exp_neg(-fabs(z)) * (1.0f + CLACT_SEL(zl, -zl, positive));
    vreal s = CLACT_SEL(e, (vreal)(1.0f), positive) / (1.0f + e);
    return CLACT_SEL(s, (vreal)(1.0f), z > threshold);
}

#if defined(CLACT_F64)
// f64 GELU: Phi(x) + x pdf(x), Phi = 0.5 erfc(t + d) (t = -x/sqrt 2, d its rounding, as the
// forward), pdf = exp(-x^2/2) / sqrt(2 pi) = exp(-w) (1 - c) / sqrt(2 pi). For t >= 20 (x <=
// -28.3) Phi = r S(t) e^-t^2 / (t sqrt 2) from the asymptotic series S (the forward's), and
// f' = e^-t^2 r (S / (t sqrt 2) + x), with e^-t^2 = h * h (1 - c) rounding once at the end.
vreal bwd_gelu(vreal x, real p0, real p1)
{
    const double c_hi = 0.7071067811865476, c_lo = -4.833646656726457e-17;
    const double k = 1.1283791670955126, r = 0.3989422804014327;
    vreal t = x * -c_hi;
    vreal d = fma(x, (vreal)(-c_hi), -t) - x * c_lo;
    d = CLACT_SEL(d, (vreal)(0.0), isinf(x));
    vreal w = t * t;
    vreal c = fma(t, t, -w) + 2.0 * t * d;
    c = CLACT_SEL(c, (vreal)(0.0), fabs(t) >= 30.0);
    vreal ew = exp(-w);
    vreal body = 0.5 * (erfc(t) - (k * d) * ew) + x * (r * (ew * (1.0 - c)));
    vreal S = clact_erfc_series(w);
    vreal h = exp(-0.5 * w);
    vreal tail = (((r * (S / (t * 1.4142135623730951) + x)) * (1.0 - c)) * h) * h;
    return CLACT_SEL(body, tail, t >= 20.0 && t < INFINITY);
}
#else
// GELU: Phi(x) + x pdf(x), from the forward's pieces (activation.cl): with exp(-x^2/2) =
// h * h (1 - c) and r = 1/sqrt(2 pi), x < 0: ((0.5 tail + x r (1 - c)) h) h; x > 0:
// 1 + (x r (1 - c) - 0.5 tail) h h; |t| < 0.5: Phi + x r (1 - c) h h. f' has a root at
// x = -0.7518, where any absolute error is all of the relative error.
vreal bwd_gelu(vreal x, real p0, real p1)
{
    const float r = 0.398942280401432678f;
    vreal t, tail, h, one_c, phi_small;
    clact_phi_parts(x, &t, &tail, &h, &one_c, &phi_small);
    vreal xpdf = x * (r * one_c); // x pdf(x) / (h * h)
    vreal neg = ((0.5f * tail + xpdf) * h) * h;
    vreal pos = fma(xpdf - 0.5f * tail, h * h, (vreal)(1.0f));
    vreal small = phi_small + xpdf * (h * h);
    return CLACT_SEL(CLACT_SEL(pos, neg, t > 0.0f), small, fabs(t) < 0.5f);
}
#endif

// GELU(approximate='tanh'): PyTorch's 0.5 (1 + tanh u) + 0.5 x (1 - tanh^2 u) dt/dx / 2 with
// t = 2u, i.e. s (1 + x sigmoid(-t) dt/dx), s = sigmoid(t), dt/dx = 2 sqrt(2/pi) (1 + 3 0.044715
// x^2). t carried as the pair (t, tl) of the forward; e = exp(-|t + tl|) as h * h. Beyond
// |x| = 100, f' is exactly 1 (x > 0) or 0 (x < 0) in float and double; at ±inf NaN (PyTorch).
vreal bwd_gelu_tanh(vreal x, real p0, real p1)
{
#if defined(CLACT_F64)
    const double b = 1.5957691216057308, k3 = 3.0 * 0.044715;
#else
    const float b = 1.5957691669464111f, k3 = 3.0f * 0.044715f;
#endif
    vreal tl;
    vreal t = clact_gelu_tanh_arg(x, &tl);
    vreal dt = b * fma((vreal)(k3), x * x, (vreal)(1.0f));
    vreal h = clact_exp_neg(-0.5f * fabs(t)) * (1.0f - 0.5f * CLACT_SEL(-tl, tl, t >= 0.0f));
    vreal e = h * h, d = 1.0f + e;
    vreal pos = (1.0f + (x * dt) * (e / d)) / d;             // t >= 0: s = 1/d, sigmoid(-t) = e/d
    vreal neg = (((1.0f + (x * dt) / d) * h) * h) / d;        // t < 0: s = e/d, sigmoid(-t) = 1/d
    vreal f = CLACT_SEL(neg, pos, t >= 0.0f);
    f = CLACT_SEL(f, CLACT_SEL((vreal)(0.0f), (vreal)(1.0f), x > 0.0f), fabs(x) > 100.0f);
    return CLACT_SEL(f, (vreal)(NAN), isinf(x));
}

// relu6, hardtanh: PyTorch's hardtanh_backward, dy strictly inside (min_val, max_val), 0 at and
// beyond the limits (a choice: CLACT_BWD_MASK); NaN gives 0, as PyTorch's vectorised kernel (its
// scalar tail gives dy). y falls on the same side of each limit as x.
vreal bwd_relu6(vreal s, real p0, real p1)
{
    return CLACT_SEL((vreal)(0.0f), (vreal)(1.0f), s > 0.0f && s < 6.0f);
}
vreal bwd_hardtanh(vreal s, real min_val, real max_val)
{
    return CLACT_SEL((vreal)(0.0f), (vreal)(1.0f), s > min_val && s < max_val);
}

// selu from x: scale for x > 0, alpha scale exp(x) otherwise (PyTorch's elu_backward with
// negiptcoef 1); from y: scale, or y + alpha scale (its is_result form). NaN gives NaN, as elu.
vreal bwd_selu_x(vreal x, real p0, real p1)
{
    vreal f = CLACT_SEL(CLACT_SELU_NEGCOEF * clact_exp_neg(fmin(x, (vreal)(0.0f))),
                        (vreal)(CLACT_SELU_SCALE), x > 0.0f);
    return CLACT_SEL(f, x, isnan(x)); // fmin(NaN, 0) is 0
}
vreal bwd_selu_y(vreal y, real p0, real p1)
{
    return CLACT_SEL(y + CLACT_SELU_NEGCOEF, (vreal)(CLACT_SELU_SCALE), y > 0.0f);
}

// celu from x: 1 for x > 0, else (alpha / alpha) exp(x / alpha), PyTorch's
// negiptcoef * negcoef * exp(x * negiptcoef) with negiptcoef = 1/alpha rounded (p1); from y:
// (y + alpha) / alpha as PyTorch's is_result form (alpha >= 0 only).
vreal bwd_celu_x(vreal x, real alpha, real inv_alpha)
{
    // exp(z + zl) = exp(z) (1 + zl), as the forward; z = 0 where x > 0 (see act_celu). With
    // alpha > 0 every z used is <= 0: clact_exp_neg alone (a branch on an argument, uniform).
    vreal z = CLACT_SEL(x * inv_alpha, (vreal)(0.0f), x > 0.0f);
    if (inv_alpha > 0.0f)
        return CLACT_SEL((alpha * inv_alpha) * (clact_exp_neg(z) * (1.0f + clact_product_low(x, inv_alpha, z))),
                         (vreal)(1.0f), x > 0.0f);
    vreal e = clact_exp_any(z);
    e = CLACT_SEL(e * (1.0f + clact_product_low(x, inv_alpha, z)), e, isinf(e) || z == 0.0f);
    return CLACT_SEL((alpha * inv_alpha) * e, (vreal)(1.0f), x > 0.0f);
}
vreal bwd_celu_y(vreal y, real alpha, real inv_alpha)
{
    return CLACT_SEL(inv_alpha * (y + alpha), (vreal)(1.0f), y > 0.0f);
}

// hardsigmoid: 1/6 strictly inside (-3, 3), 0 elsewhere and at NaN; the 0 is PyTorch's choice,
// not a product (CLACT_BWD_GATE).
vreal bwd_hardsigmoid(vreal x, real p0, real p1)
{
    return CLACT_SEL((vreal)(0.0f), (vreal)(CLACT_SIXTH), x > -3.0f && x < 3.0f);
}

// hardswish: 0 below -3 (a choice: CLACT_BWD_HARDSWISH), x / 3 + 1/2 on [-3, 3] as (x + 1.5) / 3
// (x + 1.5 exact near the root -1.5), 1 above; NaN gives NaN (PyTorch's vectorised kernel).
vreal bwd_hardswish(vreal x, real p0, real p1)
{
    vreal f = CLACT_SEL((vreal)(1.0f), (x + 1.5f) * CLACT_THIRD, x <= 3.0f);
    return CLACT_SEL(f, x, isnan(x));
}

// logsigmoid: 1 - sigmoid(x) = sigmoid(-x), no cancellation (PyTorch forms 1 - z / (1 + z)).
vreal bwd_logsigmoid(vreal x, real p0, real p1) { return logistic(-x); }

// softsign: 1 / (1 + |x|)^2 as r * r, r = 1 / (1 + |x|): exact where PyTorch's autograd of its
// composite, 1/d - |x|/d^2, cancels (0 from |x| = 1e20, exact 1e-40); ±inf gives NaN as PyTorch.
vreal bwd_softsign(vreal x, real p0, real p1)
{
    vreal r = 1.0f / (1.0f + fabs(x));
    return CLACT_SEL(r * r, (vreal)(NAN), isinf(x));
}

// tanhshrink: tanh(x)^2 (PyTorch's autograd forms 1 - (1 - tanh^2) and cancels near 0).
vreal bwd_tanhshrink(vreal x, real p0, real p1)
{
    vreal t = act_tanh(x, p0, p1);
    return t * t;
}

// softshrink, hardshrink: dy outside [-lambd, lambd], 0 inside and at NaN (PyTorch's vectorised
// kernels; a choice, CLACT_BWD_MASK).
vreal bwd_shrink(vreal x, real lambd, real p1)
{
    return CLACT_SEL((vreal)(0.0f), (vreal)(1.0f), x < -lambd || x > lambd);
}

// threshold: 0 where the saved value is <= threshold, dy elsewhere (NaN: dy). From y only with
// value <= threshold (clact_backward_saved), where y <= threshold exactly where x is.
vreal bwd_threshold(vreal s, real threshold, real value)
{
    return CLACT_SEL((vreal)(1.0f), (vreal)(0.0f), s <= threshold);
}

// How dy meets f' (s: the saved value): a product; a choice of dy or 0 where f' is 1 or 0 (relu,
// relu6, hardtanh, threshold, the shrinks: PyTorch returns 0 there whatever dy is, inf and NaN
// included); a product where f' is not 0 and a chosen 0 where it is (hardsigmoid); a chosen 0
// below -3 and a product elsewhere (hardswish, whose f' is 0 also at x = -1.5, a product there).
#define CLACT_BWD_SCALE(g, f, s) ((g) * (f))
#define CLACT_BWD_MASK(g, f, s) CLACT_SEL((vreal)(0.0f), (g), (f) != 0.0f)
#define CLACT_BWD_GATE(g, f, s) CLACT_SEL((g) * (f), (vreal)(0.0f), (f) == 0.0f)
#define CLACT_BWD_HARDSWISH(g, f, s) CLACT_SEL((g) * (f), (vreal)(0.0f), (s) < -3.0f)

#define CLACT_BACKWARD(op, from, fn, combine)                                                \
    __kernel void clact_##op##_bwd_##from(const ulong n, __global const CLACT_STYPE *s,      \
                                          const ulong s_offset,                              \
                                          __global const CLACT_STYPE *dy,                    \
                                          const ulong dy_offset, __global CLACT_STYPE *dx,   \
                                          const ulong dx_offset, const real p0, const real p1) \
    {                                                                                        \
        const ulong i = (ulong)get_global_id(0) * CLACT_VW;                                  \
        if (i >= n)                                                                          \
            return;                                                                          \
        __global const CLACT_STYPE *ss = s + s_offset + i, *gs = dy + dy_offset + i;         \
        __global CLACT_STYPE *ds = dx + dx_offset + i;                                       \
        if (n - i >= CLACT_VW) {                                                             \
            const vreal sv = CLACT_SLOAD(ss);                                                \
            CLACT_SSTORE(combine(CLACT_SLOAD(gs), fn(sv, p0, p1), sv), ds);                  \
        } else {                                                                             \
            const uint m = (uint)(n - i);                                                    \
            real sb[CLACT_VW], gb[CLACT_VW];                                                 \
            for (uint k = 0; k < CLACT_VW; ++k) {                                            \
                sb[k] = k < m ? CLACT_SLOAD1(ss + k) : 0.0f;                                 \
                gb[k] = k < m ? CLACT_SLOAD1(gs + k) : 0.0f;                                 \
            }                                                                                \
            const vreal sv = CLACT_LOAD(sb);                                                 \
            vreal v = combine(CLACT_LOAD(gb), fn(sv, p0, p1), sv);                           \
            CLACT_STORE(v, sb);                                                              \
            for (uint k = 0; k < m; ++k)                                                     \
                CLACT_SSTORE1(sb[k], ds + k);                                                \
        }                                                                                    \
    }

// The backward forms, one line each: (op, saved tensor, f', how dy meets it). Every kernel family
// expands this list: the elementwise kernels here, the dense layer's (dense.cl).
#define CLACT_BACKWARD_OPS(X)                                                                \
    X(relu, x, bwd_relu, CLACT_BWD_MASK)                                                     \
    X(relu, y, bwd_relu, CLACT_BWD_MASK)                                                     \
    X(leaky_relu, x, bwd_leaky_relu, CLACT_BWD_SCALE)                                        \
    X(leaky_relu, y, bwd_leaky_relu, CLACT_BWD_SCALE)                                        \
    X(elu, x, bwd_elu_x, CLACT_BWD_SCALE)                                                    \
    X(elu, y, bwd_elu_y, CLACT_BWD_SCALE)                                                    \
    X(gelu, x, bwd_gelu, CLACT_BWD_SCALE)                                                    \
    X(gelu_tanh, x, bwd_gelu_tanh, CLACT_BWD_SCALE)                                          \
    X(silu, x, bwd_silu, CLACT_BWD_SCALE)                                                    \
    X(mish, x, bwd_mish, CLACT_BWD_SCALE)                                                    \
    X(sigmoid, x, bwd_sigmoid_x, CLACT_BWD_SCALE)                                            \
    X(sigmoid, y, bwd_sigmoid_y, CLACT_BWD_SCALE)                                            \
    X(tanh, x, bwd_tanh_x, CLACT_BWD_SCALE)                                                  \
    X(tanh, y, bwd_tanh_y, CLACT_BWD_SCALE)                                                  \
    X(softplus, x, bwd_softplus, CLACT_BWD_SCALE)                                            \
    X(relu6, x, bwd_relu6, CLACT_BWD_MASK)                                                   \
    X(relu6, y, bwd_relu6, CLACT_BWD_MASK)                                                   \
    X(hardtanh, x, bwd_hardtanh, CLACT_BWD_MASK)                                             \
    X(hardtanh, y, bwd_hardtanh, CLACT_BWD_MASK)                                             \
    X(selu, x, bwd_selu_x, CLACT_BWD_SCALE)                                                  \
    X(selu, y, bwd_selu_y, CLACT_BWD_SCALE)                                                  \
    X(celu, x, bwd_celu_x, CLACT_BWD_SCALE)                                                  \
    X(celu, y, bwd_celu_y, CLACT_BWD_SCALE)                                                  \
    X(hardsigmoid, x, bwd_hardsigmoid, CLACT_BWD_GATE)                                       \
    X(hardswish, x, bwd_hardswish, CLACT_BWD_HARDSWISH)                                      \
    X(logsigmoid, x, bwd_logsigmoid, CLACT_BWD_SCALE)                                        \
    X(softsign, x, bwd_softsign, CLACT_BWD_SCALE)                                            \
    X(tanhshrink, x, bwd_tanhshrink, CLACT_BWD_SCALE)                                        \
    X(softshrink, x, bwd_shrink, CLACT_BWD_MASK)                                             \
    X(hardshrink, x, bwd_shrink, CLACT_BWD_MASK)                                             \
    X(threshold, x, bwd_threshold, CLACT_BWD_MASK)                                           \
    X(threshold, y, bwd_threshold, CLACT_BWD_MASK)                                           \
    X(prelu, x, bwd_leaky_relu, CLACT_BWD_SCALE)                                             \
    X(prelu, y, bwd_leaky_relu, CLACT_BWD_SCALE)                                             \
    X(rrelu, x, bwd_leaky_relu, CLACT_BWD_SCALE)                                             \
    X(rrelu, y, bwd_leaky_relu, CLACT_BWD_SCALE)

CLACT_BACKWARD_OPS(CLACT_BACKWARD)
