// SPDX-License-Identifier: MIT
// Elementwise activations, forward. One kernel per op, all with the same arguments:
//   (ulong n, global const T *x, ulong x_offset, global T *y, ulong y_offset, real p0, real p1)
// with T the storage type (float, half or bf16 as ushort, double; see prelude.cl) and real the
// compute type (double for f64, float otherwise). Most functions below serve both; where float
// needs its own polynomial or constants split to float precision, f64 has its own version.
// Work-item g handles elements [g*CLACT_VW, g*CLACT_VW + CLACT_VW) of the range; the last one
// handles the tail through a private buffer, so any n and any offset work. x and y may be the
// same buffer at the same offset (in-place): each work-item reads its elements before writing.
//
// Each act_* function below is PyTorch's function (see SEMANTICS.md), rewritten where the
// textbook formula loses accuracy or overflows, always with PyTorch's outputs for ±inf and NaN.
// CLACT_SEL(a, b, c) (prelude.cl: OpenCL's select) is c ? b : a per lane. Comparisons with NaN
// are false, which is what keeps NaN flowing through the branches below.

vreal act_relu(vreal x, real p0, real p1)
{
    // PyTorch's clamp_min propagates NaN; fmax(x, 0) would not.
    return CLACT_SEL(x, (vreal)(0.0f), x < 0.0f);
}

vreal act_leaky_relu(vreal x, real negative_slope, real p1)
{
    return CLACT_SEL(x * negative_slope, x, x > 0.0f);
}

#if defined(CLACT_F64)
// f64: the built-ins (OpenCL: expm1 and log1p within 3 and 2 ulp in double). The float
// versions below trade them for polynomials accurate to float precision only.
vreal clact_expm1_neg(vreal x) { return expm1(x); }
vreal clact_log1p_unit(vreal e) { return log1p(e); }
#else
// Reinterpretations of vectors of CLACT_VW 32-bit lanes.
#if CLACT_VW == 1
#define CLACT_VAS_FLOAT(v) as_float(v)
#define CLACT_VAS_INT(v) as_int(v)
#else
#define CLACT_VAS_FLOAT(v) CLACT_CAT(as_float, CLACT_VW)(v)
#define CLACT_VAS_INT(v) CLACT_CAT(as_int, CLACT_VW)(v)
#endif

// expm1(x) for x <= 0, the only arguments elu, selu, celu and tanh give it (PoCL's expm1 runs at
// a quarter of its exp's speed). exp's reduction (prelude.cl's clact_exp_neg): x = k ln2 + r,
// |r| <= ln2/2, and expm1(x) = 2^k expm1(r) + (2^k - 1) = fma(s, e, s - 1), s = 2^k, with
// expm1(r) = r + r^2 P4(r) (exp's polynomial, 3.8e-9 relative: about 1e-8 relative in this form,
// the error vanishing with r). k = 0 for x > -0.347: the result is e itself (r = x exactly), so
// small arguments keep full relative accuracy; for k = -1 the sum s - 1 + s e has no
// cancellation (|s e| <= 0.21 against 0.5), and below it the sum is -1 + ever less. s - 1 is
// exact. Below -20 expm1 rounds to -1 (from -17.33): x is clamped there, which keeps 2^k normal,
// takes -inf to -1, and lets NaN through. One reduction, 7 fmas and a rounding for the sum,
// against exp's and a degree-10 series selected between (about 9 instructions fewer per vector).
// expm1(-0) = +0, as PyTorch's elu, selu and celu give for -0 (exp(-0) - 1).
vreal clact_expm1_neg(vreal x)
{
    const float sh = 0x1.8p23f + 127.0f; // the shifter, plus the exponent bias
    vreal a = CLACT_SEL(x, (vreal)(-20.0f), x < -20.0f);
    vreal t = fma(a, (vreal)(0x1.715476p+0f), (vreal)(sh));
    vreal k = t - sh;
    vreal r = fma(k, (vreal)(-0x1.62e4p-1f), a);
    r = fma(k, (vreal)(-0x1.7f7d1cp-20f), r);
    vreal e = fma(r * r, CLACT_EXP_P4(vreal, r), r);
    vreal s = CLACT_VAS_FLOAT(CLACT_VAS_INT(t) << 23); // 2^k: 127 + k in [98, 127]
    return fma(s, e, s - 1.0f);
}

// log1p(e) for 0 <= e <= 1, the only arguments softplus gives it, as 2 atanh(u) with
// u = e / (2 + e) <= 1/3: the odd series of atanh, 2u (1 + q), q = w/3 + w^2/5 + ... + w^8/17 in
// w = u^2 <= 1/9 (truncation below 2e-9 relative). PoCL's log1p and log run at a quarter of its
// exp's speed; this is a division and ten fmas. For accuracy, the rounding of 2 + e is carried
// into u (Fast2Sum: |e| <= 2), and 2u + 2u q rounds once, in the fma, so the series' own errors
// only touch the small q.
vreal clact_log1p_unit(vreal e)
{
    vreal d = 2.0f + e;
    vreal dl = (2.0f - d) + e; // 2 + e = d + dl exactly
    vreal u = e / d;
    u = u - u * (dl / d);
    vreal w = u * u;
    vreal q = fma(w, (vreal)(1.0f / 17.0f), (vreal)(1.0f / 15.0f));
    q = fma(q, w, (vreal)(1.0f / 13.0f));
    q = fma(q, w, (vreal)(1.0f / 11.0f));
    q = fma(q, w, (vreal)(1.0f / 9.0f));
    q = fma(q, w, (vreal)(1.0f / 7.0f));
    q = fma(q, w, (vreal)(1.0f / 5.0f));
    q = fma(q, w, (vreal)(1.0f / 3.0f));
    q = q * w;
    return fma(2.0f * u, q, 2.0f * u);
}
#endif

vreal act_elu(vreal x, real alpha, real p1)
{
    return CLACT_SEL(alpha * clact_expm1_neg(x), x, x > 0.0f);
}

// Sigmoid as e/(1+e) with e = exp(-|x|): never overflows, and for x < 0 keeps full relative
// accuracy where 1/(1+exp(-x)) would round to 0 (x < -88.7) while the answer is still a float.
vreal logistic(vreal x)
{
    vreal e = clact_exp_neg(-fabs(x));
    return CLACT_SEL(e, (vreal)(1.0f), x >= 0.0f) / (1.0f + e);
}

// x * sigmoid(t + tl), where tl is a small correction to t (0 if none), accurate also where the
// product is a tiny normal float but exp(t) alone is subnormal (t < -87.3, e.g. silu(-95) =
// -5e-40): with h = exp(-|t|/2), exp(-|t|) = h*h and the product is formed as (x*h)*h, so only
// the final result rounds into the subnormal range. x * sigmoid(-inf) = x * 0 gives PyTorch's
// NaN for silu(-inf) and gelu_tanh(-inf).
vreal x_logistic(vreal x, vreal t, vreal tl)
{
    // -|t + tl| = -|t| - sign(t) tl, and exp(a - d/2) ~ exp(a) (1 - d/2) for tiny d.
    vreal h = clact_exp_neg(-0.5f * fabs(t)) * (1.0f - 0.5f * CLACT_SEL(-tl, tl, t >= 0.0f));
    vreal e = h * h;
    return CLACT_SEL((x * h) * h, x, t >= 0.0f) / (1.0f + e);
}

vreal act_sigmoid(vreal x, real p0, real p1) { return logistic(x); }

// tanh(|x|) = -expm1(-2|x|) / (2 + expm1(-2|x|)): one expm1, no cancellation, exactly ±1 for
// large |x| (some libm tanh implementations saturate one ulp short of 1).
vreal act_tanh(vreal x, real p0, real p1)
{
    vreal m = clact_expm1_neg(-2.0f * fabs(x));
    return copysign(-m / (2.0f + m), x);
}

#if defined(CLACT_F64)
// f64: x_logistic, whose exp is the built-in's (3 ulp in double): far inside the f64 bounds.
vreal act_silu(vreal x, real p0, real p1) { return x_logistic(x, x, (vreal)(0.0f)); }
#else
// 2^64 exp(a) for a <= 0 with the degree-4 polynomial (clact_exp_neg's 1.01 ulp, prelude.cl),
// normal down to a = -131.7 where exp(a) itself is subnormal from -87.3.
#if CLACT_VW > 1
CLACT_DEFINE_EXP_NEG(clact_exp_neg_2p64_p4, vfloat, CLACT_CAT(as_float, CLACT_VW),
                     CLACT_CAT(as_int, CLACT_VW), CLACT_KEEP_2P64, CLACT_EXP_P4)
#else
CLACT_DEFINE_EXP_NEG(clact_exp_neg_2p64_p4, float, as_float, as_int, CLACT_KEEP_2P64, CLACT_EXP_P4)
#endif

// x * sigmoid(t) from big = 2^64 exp(-|t|) and positive = t >= 0, where x and t have the same
// sign and |x| <= |t| (silu: t = x; gelu_tanh: |t| >= 1.59 |x|): within 4 ulp for every float,
// where x_logistic's two roundings of exp(-|t|/2), each doubled by h*h, reached 4.6 ulp in silu
// and 7.2 in gelu_tanh. big is one exp (1.01 ulp); its scale keeps it normal where exp(-|t|) is
// subnormal (|t| > 87.3) while x sigmoid(t) is not. t < 0: (x big) 2^-64 / (1 + e), where
// |x big| <= 2^64 |t| exp(-|t|) cannot overflow (hence the condition on x); a subnormal result
// takes at most two roundings at subnormal spacing (the scaling, and the division, which is
// exact by 1 + e = 1 unless x itself is tiny). t >= 0: x / (1 + e). NaN and ±inf as x_logistic
// (x * 0 = NaN at -inf, as PyTorch).
vreal x_logistic_scaled(vreal x, vreal big, vmask positive)
{
    vreal d = 1.0f + big * 0x1p-64f;
    return CLACT_SEL((x * big) * 0x1p-64f, x, positive) / d;
}

vreal act_silu(vreal x, real p0, real p1)
{
    return x_logistic_scaled(x, clact_exp_neg_2p64_p4(-fabs(x)), x >= 0.0f);
}
#endif

#if defined(CLACT_F64)
// f64 GELU(approximate='none') = 0.5 x erfc(t), t = -x/sqrt(2), with the built-in erfc (OpenCL:
// 16 ulp in double). As in float, t is carried as t + d: in the tail erfc(t) ~ exp(-t^2) turns
// the rounding of t into 2 t^2 2^-53 relative error, 1500 ulp by t = 27. To first order
// erfc(t + d) = erfc(t) - d (2/sqrt(pi)) exp(-t^2); the correction is below 2 t^2 2^-53
// relative, so the rounding of t * t inside its exp does not matter.
// For t >= 20 (x <= -28.3, results below 1e-175) erfc(t) can be subnormal where x Phi is not
// (t > 26.5), so there x Phi = -exp(-(t + d)^2) S(t) / sqrt(2 pi), S the asymptotic series
// 1 - 1/(2t^2) + 3/(2t^2)^2 - ... to the seventh term (truncation below 2e-17 at t = 20), and
// exp(-(t + d)^2) = h * h (1 - c), h = exp(-t^2 / 2), c the rounding of t^2 plus 2 t d, so the
// result rounds into the subnormal range once, at the end.
// The asymptotic series of erfc's tail, erfc(t) = exp(-t^2) S / (t sqrt(pi)) with
// S = 1 - 1/(2t^2) + 3/(2t^2)^2 - ... to the seventh term, in w = t^2 (truncation below 2e-17
// for t >= 20); the f64 GELU and its gradient take their far tails from it.
vreal clact_erfc_series(vreal w)
{
    vreal u = 0.5 / w;
    vreal S = fma(u, (vreal)(-135135.0), (vreal)(10395.0));
    S = fma(S, u, (vreal)(-945.0));
    S = fma(S, u, (vreal)(105.0));
    S = fma(S, u, (vreal)(-15.0));
    S = fma(S, u, (vreal)(3.0));
    S = fma(S, u, (vreal)(-1.0));
    return fma(S, u, (vreal)(1.0));
}

vreal act_gelu(vreal x, real p0, real p1)
{
    const double c_hi = 0.7071067811865476;     // 1/sqrt(2) = c_hi + c_lo
    const double c_lo = -4.833646656726457e-17;
    const double k = 1.1283791670955126;        // 2/sqrt(pi)
    const double r = 0.3989422804014327;        // 1/sqrt(2 pi)
    vreal t = x * -c_hi;
    vreal d = fma(x, (vreal)(-c_hi), -t) - x * c_lo;
    d = CLACT_SEL(d, (vreal)(0.0), isinf(x)); // inf - inf otherwise
    vreal w = t * t;
    vreal body = (0.5 * x) * (erfc(t) - (k * d) * exp(-w));

    vreal S = clact_erfc_series(w);
    vreal c = fma(t, t, -w) + 2.0 * t * d;
    c = CLACT_SEL(c, (vreal)(0.0), t >= 30.0); // beyond, the result is 0 and c may be inf - inf
    vreal h = exp(-0.5 * w);
    vreal tail = (((-r * S) * (1.0 - c)) * h) * h;
    return CLACT_SEL(body, tail, t >= 20.0 && t < INFINITY);
}
#else
// GELU(approximate='none') = x Phi(x), Phi(x) = 0.5 erfc(t), t = -x/sqrt(2). PoCL's erfc runs at
// 0.3 Gelem/s, an eighth of its exp, so Phi is computed here, accurate to a few ulp everywhere.
// The gradient's pieces first (clact_phi_parts; the forward, act_gelu, below, has a faster form
// of its own):
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
// The pieces of Phi(x) that GELU and its gradient share: t, and for |t| >= 0.5 erfc(|t|) =
// tail * h * h; for |t| < 0.5 Phi itself (phi_small); and 1 - c, the carried roundings, which
// turn h * h into exp(-x^2 / 2) (the gradient's pdf).
void clact_phi_parts(vreal x, vreal *t_out, vreal *tail_out, vreal *h_out, vreal *one_c_out,
                     vreal *phi_small_out)
{
    const float c_hi = 0.70710677f;    // 1/sqrt(2) rounded to float
    const float c_lo = 1.2101617e-08f; // 1/sqrt(2) - c_hi
    const float k = 1.12837916709551257f; // 2/sqrt(pi)
    vreal t = x * -c_hi;
    vreal d = fma(x, (vreal)(-c_hi), -t) - x * c_lo;
    vreal a = fabs(t);
    vreal w = t * t;

    vreal S = fma(w, (vreal)(-1.0f / 75600.0f), (vreal)(1.0f / 9360.0f));
    S = fma(S, w, (vreal)(-1.0f / 1320.0f));
    S = fma(S, w, (vreal)(1.0f / 216.0f));
    S = fma(S, w, (vreal)(-1.0f / 42.0f));
    S = fma(S, w, (vreal)(1.0f / 10.0f));
    S = fma(S, w, (vreal)(-1.0f / 3.0f));
    S = fma(S, w, (vreal)(1.0f));
    vreal erf_t = (k * t) * S + k * d * (1.0f - w);
    vreal phi_small = fma((vreal)(-0.5f), erf_t, (vreal)(0.5f));

    vreal y = 1.0f / (1.0f + a);
    vreal sv = fma(y, (vreal)(3.46391753f), (vreal)(-1.30927835f));
    vreal G = fma(sv, (vreal)(4.929852576e-07f), (vreal)(7.818186687e-06f));
    G = fma(G, sv, (vreal)(-2.544915561e-05f));
    G = fma(G, sv, (vreal)(-2.654956805e-06f));
    G = fma(G, sv, (vreal)(1.676972922e-04f));
    G = fma(G, sv, (vreal)(-4.241319308e-04f));
    G = fma(G, sv, (vreal)(-7.830808126e-05f));
    G = fma(G, sv, (vreal)(3.721347408e-03f));
    G = fma(G, sv, (vreal)(-8.364196844e-03f));
    G = fma(G, sv, (vreal)(-2.502159559e-02f));
    G = fma(G, sv, (vreal)(1.617840304e-01f));
    G = fma(G, sv, (vreal)(7.917704672e-01f));
    // (|t| + |d|)^2 = w + c: the rounding of t * t, and the carried d.
    vreal c = fma(t, t, -w) + 2.0f * t * d;
    c = CLACT_SEL(c, (vreal)(0.0f), a >= 11.0f); // beyond, erfc is 0 and c may be inf - inf
    *h_out = clact_exp_neg(-0.5f * w);
    *one_c_out = 1.0f - c;
    *tail_out = (G * y) * (1.0f - c); // erfc(|t|) = tail * h * h
    *t_out = t;
    *phi_small_out = phi_small;
}

// exp(a - lo) = 2^-64 s (1 + p) for a <= 0 and a small correction lo (|lo| <= 2^-20 |a| or so:
// the low part of a float pair), in two parts, so that a caller multiplying it by some v forms
// v s (1 + p) = fma(v p, s, v s) in one rounding (v s is exact; v p's rounding is below 0.21 ulp
// of v s), against two for v * exp(a): prelude.cl's clact_exp_neg with lo taken off the reduced
// argument, where it is not lost to rounding. Returns s = 2^(k + 64), the 2^64 kept so that
// s (1 + p) stays normal down to a = -132.5 (the caller unscales), and sets p, |p| < 0.42.
// Garbage for a < -132.5 and a = -inf: the caller selects 0 there.
vreal clact_exp_parts(vreal a, vreal lo, vreal *p_out)
{
    const float sh = 0x1.8p23f + 191.0f; // the shifter, plus the exponent bias + 64
    vreal t = fma(a, (vreal)(0x1.715476p+0f), (vreal)(sh));
    vreal k = t - sh;
    vreal r = fma(k, (vreal)(-0x1.62e4p-1f), a);
    r = fma(k, (vreal)(-0x1.7f7d1cp-20f), r) - lo;
    *p_out = fma(r * r, CLACT_EXP_P4(vreal, r), r);
    return CLACT_VAS_FLOAT(CLACT_VAS_INT(t) << 23);
}

// The forward: one formula for every x, no branch. With a = |t| = |x| / sqrt(2),
//     0.5 erfc(a) = exp(-x^2 / 2) G(s) y,   y = 1 / (1 + a),   s = 2.19607854 y - 1.19607842,
// G a degree-11 polynomial fitted to 0.5 erfc(a) exp(a^2) (1 + a) for a in [0, 10.2] (s in
// [-1, 1]; beyond, x Phi rounds to 0) by tools/fit_gelu.py: 2.3e-8 relative with its float
// coefficients. G is flat (0.5 at a = 0, towards 1/(2 sqrt(pi)) as a grows), so no term cancels.
//  - exp's argument is taken from x, not from a: x / 2 is exact (but for subnormal x, whose
//    x^2 / 2 is 0 either way), and x^2 / 2 = w + c exactly, w = (x / 2) x rounded and c its
//    remainder by fma, so -x^2 / 2 = -(w + c) with no rounding at all (in the tail exp(-a^2)
//    turns an error in its argument into 2 a^2 times as much relative error, 100+ ulp from the
//    rounding of a); c is taken off exp's reduced argument (clact_exp_parts).
//  - a is carried as a + al (al from two fmas: the rounding of a and the low half of 1/sqrt(2)),
//    and 1 / (1 + a + al) = y + yl: u = 1 + a rounds, but u - 1 and then (u - 1) - a are exact, so
//    1 + a + al = u + e (first order in e), and 1 - u y is exact by fma: yl = y (1 - u y - e y).
//    The pair enters the product G (y + yl) = fma(G, y, G yl), so neither the rounding of 1 + a
//    nor the division's reaches the result.
//  - M = 2^64 x 0.5 erfc(|t|) = fma(X, p, X) s, X = x G (y + yl): two roundings and G's (s is
//    a power of 2, and M is normal wherever the result is not 0). For x < 0, x Phi = M 2^-64,
//    which rounds into the subnormal range once, at the end; for x > 0, x Phi = x - M 2^-64
//    (M 2^-64 <= x / 2: no cancellation; the product is exact but for x < 2^-125, where the
//    result is within an ulp). x is capped at 8 in X (beyond, x - M 2^-64 rounds to x).
//  - Where exp(-w) 2^64 < 2^-127 (|x| > 16.3), M is xc - xc with xc's sign (xc = min(x, 8); what
//    xc * 0 gives, without a multiply): gelu(-inf) = NaN, gelu(+inf) = inf - 0 = inf,
//    gelu(-1e30) = -0, as PyTorch. gelu(-0) = +0 (x < 0 is false, and -0 - -0 = +0), as
//    PyTorch's float kernel gives (its double one, as clact's f64, gives -0).
// Taking the exp's argument from x (in place of squaring t + d, the rounded x / sqrt(2) and its
// remainder) took PoCL's inner loop from 66 to 62 AVX-512 instructions per 16 elements, and the
// worst error on all 2^32 floats stayed 3.596 ulp (at x = -11.577134, in the far tail). On Zen 4
// (two 256-bit FMA pipes: one zmm multiply or FMA per cycle) that loop is bound by its 41
// multiplies, FMAs and division per 16 elements; four went (x / 2 taken first, so w and c need
// no halving; M as fma(X, p, X) s; the result's x - M 2^-64 from the product already made; the
// tail's signed zero by copysign) and one add (al by two fmas): about 12 % faster
// (bench/RESULTS.md), and on all 2^32 floats 3.431 ulp worst (at x = -1.8383501), 0 above 4.
vreal act_gelu(vreal x, real p0, real p1)
{
    const float c_hi = 0.70710677f;    // 1/sqrt(2) rounded to float
    const float c_lo = 1.2101617e-08f; // 1/sqrt(2) - c_hi
    vreal hx = 0.5f * x;
    vreal w = hx * x;
    vreal c = fma(hx, x, -w);
    vreal p;
    vreal sc = clact_exp_parts(-w, c, &p);
    vreal ax = fabs(x);
    vreal a = ax * c_hi;
    vreal al = fma(ax, (vreal)(c_lo), fma(ax, (vreal)(c_hi), -a));
    vreal u = 1.0f + a;
    vreal y = 1.0f / u;
    vreal e = (a - (u - 1.0f)) + al;
    vreal yl = y * fma(-e, y, fma(-u, y, (vreal)(1.0f)));
    vreal sv = fma(y, (vreal)(0x1.19191ap+1f), (vreal)(-0x1.323232p+0f));
    vreal G = fma(sv, (vreal)(-0x1.f68b8cp-15f), (vreal)(0x1.668f4p-14f));
    G = fma(G, sv, (vreal)(0x1.47722ep-13f));
    G = fma(G, sv, (vreal)(-0x1.05ccp-11f));
    G = fma(G, sv, (vreal)(0x1.2c5a46p-11f));
    G = fma(G, sv, (vreal)(0x1.acbbc6p-13f));
    G = fma(G, sv, (vreal)(-0x1.8d62bp-9f));
    G = fma(G, sv, (vreal)(0x1.da5cc8p-8f));
    G = fma(G, sv, (vreal)(-0x1.15b5bap-9f));
    G = fma(G, sv, (vreal)(-0x1.4d6256p-5f));
    G = fma(G, sv, (vreal)(0x1.9afddp-4f));
    G = fma(G, sv, (vreal)(0x1.c05112p-2f));
    vreal xc = fmin(x, (vreal)(8.0f));
    vreal X = xc * fma(G, y, G * yl);
    vreal M = fma(X, p, X) * sc;
    // 2^64 exp(-w) below 2^-127 (and garbage from x = ±inf): the result rounds to 0 there.
    M = CLACT_SEL(M, copysign(xc - xc, xc), w > 132.5f);
    vreal m = M * 0x1p-64f;
    return CLACT_SEL(x - m, m, x < 0.0f);
}
#endif

// GELU(approximate='tanh') = 0.5 x (1 + tanh(u)) = x * sigmoid(t), t = 2u =
// 2 sqrt(2/pi) (x + 0.044715 x^3). No cancellation for x < 0, and PyTorch's -0 / NaN / inf at
// -1e30 / -inf / +inf come from the limits of exp. For x < 0 the result is ~x exp(t), whose
// relative error is the absolute error of t: in plain float that is |t| * a few 2^-24, 200+ ulp
// by x = -10 (t = -90). So t is carried as a float pair (t, tl) through x^3, the constant
// products and the sum, with the products' exact remainders from fma and the constants split
// into high and low floats. Beyond |x| = 100, sigmoid(t) is exactly 0 or 1 and the pair
// arithmetic would overflow (inf - inf), so tl is 0 there.
// t + tl = 2 sqrt(2/pi) (x + 0.044715 x^3) as a pair (see act_gelu_tanh); tl is 0 for |x| > 100.
vreal clact_gelu_tanh_arg(vreal x, vreal *tl_out)
{
#if defined(CLACT_F64)
    const double b_hi = 1.5957691216057308; // 2 sqrt(2/pi) = b_hi + b_lo
    const double b_lo = -9.96930880911092e-17;
    const double k_hi = 0.044715; // 0.044715 = k_hi + k_lo
    const double k_lo = 2.1960211427085595e-18;
#else
    const float b_hi = 1.5957691669464111f;  // 2 sqrt(2/pi) = b_hi + b_lo
    const float b_lo = -4.53406803e-08f;
    const float k_hi = 0.044714998453855515f; // 0.044715 = k_hi + k_lo
    const float k_lo = 1.54614448e-09f;
#endif
#if defined(CLACT_F64)
    vreal x2 = x * x;
    vreal x2l = fma(x, x, -x2);
    vreal x3 = x2 * x;
    vreal x3l = fma(x2, x, -x3) + x2l * x;
    vreal a = k_hi * x3;
    vreal al = fma((vreal)(k_hi), x3, -a) + (k_hi * x3l + k_lo * x3);
    vreal s = x + a; // two-sum: s + sl = x + a exactly, plus al
    vreal bv = s - x;
    vreal sl = ((x - (s - bv)) + (a - bv)) + al;
    vreal t = b_hi * s;
    vreal tl = fma((vreal)(b_hi), s, -t) + (b_hi * sl + b_lo * s);
#else
    // Float: t = (b x) (1 + k x^2), the product of two pairs, which takes fewer operations than
    // the sum x + k x^3 (whose two-sum needs six): u + ul = b x, w + wl = 1 + k x^2 (q = k x^2 >= 0,
    // so the larger of 1 and q leads a Fast2Sum), t + tl = (u + ul)(w + wl) to about 2^-46
    // relative, as before.
    vreal u = b_hi * x;
    vreal ul = fma((vreal)(b_lo), x, fma((vreal)(b_hi), x, -u));
    vreal x2 = x * x;
    vreal x2l = fma(x, x, -x2);
    vreal q = k_hi * x2;
    vreal ql = fma((vreal)(k_hi), x2, -q) + fma((vreal)(k_hi), x2l, k_lo * x2);
    vreal w = 1.0f + q;
    vreal wl = ((fmax(q, (vreal)(1.0f)) - w) + fmin(q, (vreal)(1.0f))) + ql;
    vreal t = u * w;
    vreal tl = fma(u, w, -t) + fma(u, wl, ul * w);
#endif
    *tl_out = CLACT_SEL(tl, (vreal)(0.0f), fabs(x) > 100.0f);
    return t;
}

vreal act_gelu_tanh(vreal x, real p0, real p1)
{
    vreal tl;
    vreal t = clact_gelu_tanh_arg(x, &tl);
#if defined(CLACT_F64)
    return x_logistic(x, t, tl);
#else
    // exp(-|t + tl|) = exp(-|t| - sign(t) tl) = exp(-|t|) (1 - sign(t) tl) to first order, in one
    // rounding (fma).
    vmask positive = t >= 0.0f;
    vreal big = clact_exp_neg_2p64_p4(-fabs(t));
    return x_logistic_scaled(x, fma(big, CLACT_SEL(tl, -tl, positive), big), positive);
#endif
}

// Mish = x * tanh(softplus(x)). With e = exp(x), tanh(log1p(e)) = n / (n + 2), n = e (e + 2):
// one exp, no log, no tanh.
#if defined(CLACT_F64)
// As in x_logistic, e = h*h with h = exp(x/2) and the product is ((x*h) * ((e+2)/(n+2))) * h, so
// tiny results keep full precision. For x > 20, tanh(softplus(x)) rounds to 1, and n would
// overflow from x > 354, so the result is x there (which also carries NaN and +inf through).
vreal act_mish(vreal x, real p0, real p1)
{
    vreal h = clact_exp_neg(0.5f * x);
    vreal e = h * h;
    vreal n = e * (e + 2.0f);
    return CLACT_SEL(x, ((x * h) * ((e + 2.0f) / (n + 2.0f))) * h, x <= 20.0f);
}
#else
// In m = exp(-|x|) <= 1, so nothing overflows and the ratio's terms are all positive:
//     x >= 0:  n / (n + 2) = (1 + 2m) / (1 + 2m + 2m^2),
//     x < 0:   n / (n + 2) = m (m + 2) / (2 + m (m + 2)),
// N / D in [0.6, 1] both ways (no cancellation; formed as 1 - c below), then for x < 0 the product with m is formed
// from exp's parts, 2^-64 fma(X p, s, X s) with X = x N / D (clact_exp_parts), so it takes one
// rounding and tiny results (x < -87) round into the subnormal range once, at the end. m itself,
// in N and D, may be subnormal or 0 (the ratio is then 1 to within float). x > 132.5 or
// x < -132.5: m = 0, so mish(+inf) = inf, mish(-1e30) = -0, mish(-inf) = -inf * 0 = NaN, as
// PyTorch.
vreal act_mish(vreal x, real p0, real p1)
{
    vmask neg = x < 0.0f;
    vreal a = -fabs(x);
    vreal p;
    vreal sc = clact_exp_parts(a, (vreal)(0.0f), &p);
    vmask under = a < -132.5f;
    p = CLACT_SEL(p, (vreal)(0.0f), under);
    sc = CLACT_SEL(sc, (vreal)(0.0f), under);
    vreal m = fma(p, sc, sc) * 0x1p-64f;
    vreal m2 = m + m;
    // N / D = 1 - c, c = (D - N) / D: 2m^2 / D (x >= 0) or m (m + 1) / D (x < 0), c <= 0.4, so
    // X = x (1 - c) = fma(-x, c, x) takes one rounding, and c's own (four) count only scaled by
    // c / (1 - c): x N / D with N, D, the quotient and the product rounded in turn reached 4.11
    // ulp at x = -5.1969628 (m = 0.0055; every float32, exhaustive_f32), where c is 0.0028.
    vreal C = CLACT_SEL(m2 * m, fma(m, m, m), neg);
    vreal D = CLACT_SEL(fma(m2, m, m2 + 1.0f), fma(m, m + 2.0f, (vreal)(2.0f)), neg);
    // (x finite in the product: c = 0 where x = ±inf, and inf * 0 would make mish(inf) NaN.)
    vreal X = fma(-clamp(x, -FLT_MAX, FLT_MAX), C / D, x);
    return CLACT_SEL(X, fma(X * p, sc, X * sc) * 0x1p-64f, neg);
}
#endif

// Softplus(beta, threshold) = x where beta*x > threshold (strict, on the float product, as in
// PyTorch), else log1p(exp(beta*x))/beta, evaluated as (max(z,0) + log1p(exp(-|z|)))/beta so
// exp never overflows. For z << 0 the result is ~exp(z), whose relative error is the absolute
// error of z: the rounding of beta*x (|z| * 2^-24, 60 ulp at z = -65) is recovered with an fma
// and applied as exp(-|z| - s*zl) = exp(-|z|) * (1 - s*zl).
#if defined(CLACT_F64)
vreal act_softplus(vreal x, real beta, real threshold)
{
    vreal z = x * beta;
    // The remainder of the product is exact; it is meaningless (inf - inf) when z is infinite.
    vreal zl = CLACT_SEL(fma(x, (vreal)(beta), -z), (vreal)(0.0f), isinf(z));
    vmask positive = z > 0.0f;
    vreal e = clact_exp_neg(-fabs(z));
    e = e * (1.0f + CLACT_SEL(zl, -zl, positive)); // -|exact z| = -|z| - sign(z) * zl
    vreal s = CLACT_SEL((vreal)(0.0f), z, positive) + (clact_log1p_unit(e) + CLACT_SEL((vreal)(0.0f), zl, positive));
    return CLACT_SEL(s / beta, x, z > threshold);
}
#else
// Float: no division where beta is 1 (PyTorch's default). exp(-|z + zl|) comes in exp's parts
// with zl taken off the reduced argument (clact_exp_parts), and log1p(e) = e P(e) for e in
// [0, 1], P a degree-9 polynomial fitted by tools/fit_log1p.py (1.1e-8 relative with its float
// coefficients), so 2^64 log1p(e) = fma(P p, s, P s), one rounding; the 2^64 keeps it normal
// where the result is tiny (z < -87), so a beta other than 1 divides a normal number and the
// quotient rounds into the subnormal range once, in the final 2^-64. e itself, only P's
// argument, may be subnormal. |z| > 132.5: log1p(e) is 0 to within float (and exp's parts
// garbage for z = ±inf), softplus(-inf) = 0.
vreal act_softplus(vreal x, real beta, real threshold)
{
    vreal z = x * beta;
    // The remainder of the product is exact; it is meaningless (inf - inf) when z is infinite.
    vreal zl = CLACT_SEL(fma(x, (vreal)(beta), -z), (vreal)(0.0f), isinf(z));
    vmask positive = z > 0.0f;
    vreal p;
    vreal sc = clact_exp_parts(-fabs(z), CLACT_SEL(-zl, zl, positive), &p);
    vreal e = fma(p, sc, sc) * 0x1p-64f;
    vreal P = fma(e, (vreal)(-0x1.9eb634p-9f), (vreal)(0x1.3f4948p-6f));
    P = fma(P, e, (vreal)(-0x1.ccf5cp-5f));
    P = fma(P, e, (vreal)(0x1.af6dfep-4f));
    P = fma(P, e, (vreal)(-0x1.389782p-3f));
    P = fma(P, e, (vreal)(0x1.92a858p-3f));
    P = fma(P, e, (vreal)(-0x1.fefff6p-3f));
    P = fma(P, e, (vreal)(0x1.554bb8p-2f));
    P = fma(P, e, (vreal)(-0x1.ffffb8p-2f));
    P = fma(P, e, (vreal)(1.0f));
    vreal L = fma(P * p, sc, P * sc); // 2^64 log1p(exp(-|z + zl|))
    L = CLACT_SEL(L, (vreal)(0.0f), fabs(z) > 132.5f);
    // z > 0: z + zl + log1p(e), no cancellation; z <= 0: 2^64 log1p(e), unscaled at the end.
    vreal s = CLACT_SEL(L, z + fma(L, (vreal)(0x1p-64f), zl), positive);
    if (beta != 1.0f) // the same for every work-item
        s = s / beta;
    s = CLACT_SEL(s * 0x1p-64f, s, positive);
    return CLACT_SEL(s, x, z > threshold);
}
#endif

// clamp(x, lo, hi) as PyTorch's: NaN stays NaN (OpenCL's clamp is fmin(fmax(x, lo), hi), which
// maps NaN to lo), -0 stays -0, and lo == hi is the constant.
vreal clact_clamp_nan(vreal x, real lo, real hi)
{
    return CLACT_SEL(CLACT_SEL(x, (vreal)(hi), x > hi), (vreal)(lo), x < lo);
}

vreal act_relu6(vreal x, real p0, real p1) { return clact_clamp_nan(x, 0.0f, 6.0f); }
vreal act_hardtanh(vreal x, real min_val, real max_val) { return clact_clamp_nan(x, min_val, max_val); }

// exp(z) for any z: the fast non-positive path, and the built-in exp only for work-items that
// hold a positive argument (celu's gradient with alpha < 0).
vreal clact_exp_any(vreal z)
{
    vreal e = clact_exp_neg(fmin(z, (vreal)(0.0f)));
    e = CLACT_SEL(e, z, isnan(z));
    if (CLACT_ANY(z > 0.0f))
        e = CLACT_SEL(e, exp(z), z > 0.0f);
    return e;
}

// SELU = elu(x, alpha, scale) with PyTorch's constants in the compute type: scale x for x > 0,
// alpha scale expm1(x) otherwise, alpha scale formed in the compute type as PyTorch's Elu kernel
// forms its negcoef.
#if defined(CLACT_F64)
#define CLACT_SELU_SCALE 1.0507009873554805   // 0x1.0cfabd6a91132p+0
#define CLACT_SELU_NEGCOEF 1.7580993408473766 // alpha * scale in double, 0x1.c212cc640f030p+0
#else
#define CLACT_SELU_SCALE 0x1.0cfabep+0f   // float(1.0507009873554805)
#define CLACT_SELU_NEGCOEF 0x1.c212ccp+0f // float(float(alpha) * float(scale))
#endif
vreal act_selu(vreal x, real p0, real p1)
{
    return CLACT_SEL(CLACT_SELU_NEGCOEF * clact_expm1_neg(x), CLACT_SELU_SCALE * x, x > 0.0f);
}

// The rounding of z = x * s, exact by fma (0 where z is infinite: inf - inf otherwise).
vreal clact_product_low(vreal x, real s, vreal z)
{
    return CLACT_SEL(fma(x, (vreal)(s), -z), (vreal)(0.0f), isinf(z));
}

// CELU(alpha) = elu(x, alpha, 1, input_scale = 1/alpha): x for x > 0, alpha expm1(x / alpha)
// otherwise, with 1/alpha formed in double by the host and rounded to the compute type (p1), as
// PyTorch passes it. Lanes with x > 0 return x and take z = 0. With alpha > 0 every other z is
// <= 0: clact_expm1_neg. alpha < 0 makes z positive, where exp's relative error is z's absolute
// one: there the built-in expm1, only for work-items that hold such a lane, with the product's
// rounding zl carried, expm1(z + zl) = m + (m + 1) zl (5.8 ulp without it at x = -103.9,
// alpha = -1.5).
vreal act_celu(vreal x, real alpha, real inv_alpha)
{
    if (inv_alpha > 0.0f) // the same for every work-item: elu's cost and one product
        return CLACT_SEL(alpha * clact_expm1_neg(x * inv_alpha), x, x > 0.0f);
    vreal z = CLACT_SEL(x * inv_alpha, (vreal)(0.0f), x > 0.0f);
    vreal m = clact_expm1_neg(z);
    if (CLACT_ANY(z > 0.0f)) {
        vreal mp = expm1(z);
        mp = CLACT_SEL(fma(mp + 1.0f, clact_product_low(x, inv_alpha, z), mp), mp, isinf(mp));
        m = CLACT_SEL(m, mp, z > 0.0f);
    }
    return CLACT_SEL(alpha * m, x, x > 0.0f);
}

// 1/6 and 1/3 rounded to the compute type (a float literal such as 1.0f / 6.0f would be float's
// 1/6 in double too, 3e-8 off).
#if defined(CLACT_F64)
#define CLACT_SIXTH 0x1.5555555555555p-3
#define CLACT_THIRD 0x1.5555555555555p-2
#else
#define CLACT_SIXTH 0x1.555556p-3f
#define CLACT_THIRD 0x1.555556p-2f
#endif

// Hardsigmoid = clamp(x + 3, 0, 6) / 6: x + 3 is exact near -3 (Sterbenz), so the result keeps
// its relative accuracy where it is small; then one rounding of the product with 1/6 (< 1.5 ulp).
vreal act_hardsigmoid(vreal x, real p0, real p1)
{
    vreal r = (x + 3.0f) * CLACT_SIXTH;
    return CLACT_SEL(CLACT_SEL(r, (vreal)(1.0f), x >= 3.0f), (vreal)(0.0f), x <= -3.0f);
}

// Hardswish = x clamp(x + 3, 0, 6) / 6: x for x >= 3 (exactly; PyTorch's x * 6 overflows to inf
// from 5.7e37), x * 0 for x <= -3 (-0, and PyTorch's NaN at -inf), x (x + 3) / 6 between, with
// x + 3 exact near -3.
vreal act_hardswish(vreal x, real p0, real p1)
{
    vreal r = (x * (x + 3.0f)) * CLACT_SIXTH;
    return CLACT_SEL(CLACT_SEL(r, x, x >= 3.0f), x * 0.0f, x <= -3.0f);
}

// LogSigmoid = min(x, 0) - log1p(exp(-|x|)), PyTorch's form, with softplus's exact pieces (beta 1:
// no product to carry, no division by beta).
vreal act_logsigmoid(vreal x, real p0, real p1)
{
    return fmin(x, (vreal)(0.0f)) - clact_log1p_unit(clact_exp_neg(-fabs(x)));
}

// Softsign = x / (1 + |x|): ±inf gives inf / inf = NaN, as PyTorch's composite.
vreal act_softsign(vreal x, real p0, real p1) { return x / (1.0f + fabs(x)); }

// Tanhshrink = x - tanh(x), which cancels for small |x| (x^3 / 3 at 0; PyTorch's float result at
// x = 1e-3 is 3.49e-10 for 3.33e-10). |x| < 1: x^3 P(x^2), P fitted (mpmath, collocation at
// Chebyshev nodes) to (x - tanh x) / x^3 on [0, 1]: 3.2e-8 relative with float coefficients
// (degree 8), 5.6e-17 with double ones (degree 15); formed as ((x x) P) x so only the last
// product rounds into the subnormal range. |x| >= 1: (|x| - 1) + (1 - tanh|x|), both terms >= 0
// (no cancellation), 1 - tanh|x| = 2 e / (1 + e), e = exp(-2|x|); |x| - 1 is exact up to 2.
vreal act_tanhshrink(vreal x, real p0, real p1)
{
    vreal w = x * x;
#if defined(CLACT_F64)
    vreal P = fma(w, (vreal)(-2.5155023659382105e-08), (vreal)(2.6330772232959337e-07));
    P = fma(P, w, (vreal)(-1.3791814499083342e-06));
    P = fma(P, w, (vreal)(4.987760317520347e-06));
    P = fma(P, w, (vreal)(-1.4606131676715378e-05));
    P = fma(P, w, (vreal)(3.8389607893147334e-05));
    P = fma(P, w, (vreal)(-9.646277743313181e-05));
    P = fma(P, w, (vreal)(0.00023895705228738225));
    P = fma(P, w, (vreal)(-0.0005899792946300052));
    P = fma(P, w, (vreal)(0.0014558246920964941));
    P = fma(P, w, (vreal)(-0.003592126679366341));
    P = fma(P, w, (vreal)(0.008863235404578283));
    P = fma(P, w, (vreal)(-0.02186948852912909));
    P = fma(P, w, (vreal)(0.05396825396804637));
    P = fma(P, w, (vreal)(-0.1333333333333309));
    P = fma(P, w, (vreal)(0.3333333333333333));
#else
    vreal P = fma(w, (vreal)(4.846711e-05f), (vreal)(-0.00033768982f));
    P = fma(P, w, (vreal)(0.0012421575f));
    P = fma(P, w, (vreal)(-0.0034783864f));
    P = fma(P, w, (vreal)(0.00882625f));
    P = fma(P, w, (vreal)(-0.021862576f));
    P = fma(P, w, (vreal)(0.053967595f));
    P = fma(P, w, (vreal)(-0.13333331f));
    P = fma(P, w, (vreal)(0.33333334f));
#endif
    vreal a = fabs(x);
    vreal e = clact_exp_neg(-2.0f * a);
    vreal big = copysign((a - 1.0f) + 2.0f * e / (1.0f + e), x);
    return CLACT_SEL(big, (w * P) * x, a < 1.0f);
}

// Softshrink(lambd) = x - lambd above lambd, x + lambd below -lambd, 0 between; NaN gives 0, as
// PyTorch 1.13 (#138385).
vreal act_softshrink(vreal x, real lambd, real p1)
{
    vreal r = CLACT_SEL((vreal)(0.0f), x - lambd, x > lambd);
    return CLACT_SEL(r, x + lambd, x < -lambd);
}

// Hardshrink(lambd) = 0 for -lambd <= x <= lambd, else x (NaN stays NaN; lambd < 0: x).
vreal act_hardshrink(vreal x, real lambd, real p1)
{
    return CLACT_SEL(x, (vreal)(0.0f), x >= -lambd && x <= lambd);
}

// Threshold(threshold, value) = value where x <= threshold, else x (NaN stays NaN).
vreal act_threshold(vreal x, real threshold, real value)
{
    return CLACT_SEL(x, (vreal)(value), x <= threshold);
}

// PReLU with one weight and RReLU in evaluation mode are leaky_relu: x > 0 ? x : slope x, the
// slope being the weight, or (lower + upper) / 2 formed in double by the host (p0).
vreal act_prelu(vreal x, real weight, real p1) { return act_leaky_relu(x, weight, p1); }
vreal act_rrelu(vreal x, real slope, real p1) { return act_leaky_relu(x, slope, p1); }

#define CLACT_ELEMENTWISE(op)                                                                \
    __kernel void clact_##op(const ulong n, __global const CLACT_STYPE *x,                   \
                             const ulong x_offset, __global CLACT_STYPE *y,                  \
                             const ulong y_offset, const real p0, const real p1)           \
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
            real buf[CLACT_VW];                                                             \
            for (uint k = 0; k < CLACT_VW; ++k)                                              \
                buf[k] = k < m ? CLACT_SLOAD1(xs + k) : 0.0f;                                \
            vreal v = act_##op(CLACT_LOAD(buf), p0, p1);                                    \
            CLACT_STORE(v, buf);                                                             \
            for (uint k = 0; k < m; ++k)                                                     \
                CLACT_SSTORE1(buf[k], ys + k);                                               \
        }                                                                                    \
    }

// The ops, one line each. Every kernel family expands this list: the elementwise kernels here,
// the dense layer's bias-and-activation kernels (dense.cl).
#define CLACT_FORWARD_OPS(X)                                                                 \
    X(relu)                                                                                  \
    X(leaky_relu)                                                                            \
    X(elu)                                                                                   \
    X(gelu)                                                                                  \
    X(gelu_tanh)                                                                             \
    X(silu)                                                                                  \
    X(mish)                                                                                  \
    X(sigmoid)                                                                               \
    X(tanh)                                                                                  \
    X(softplus)                                                                              \
    X(relu6)                                                                                 \
    X(hardtanh)                                                                              \
    X(selu)                                                                                  \
    X(celu)                                                                                  \
    X(hardsigmoid)                                                                           \
    X(hardswish)                                                                             \
    X(logsigmoid)                                                                            \
    X(softsign)                                                                              \
    X(tanhshrink)                                                                            \
    X(softshrink)                                                                            \
    X(hardshrink)                                                                            \
    X(threshold)                                                                             \
    X(prelu)                                                                                 \
    X(rrelu)

CLACT_FORWARD_OPS(CLACT_ELEMENTWISE)

#if defined(CLACT_F16) || defined(CLACT_BF16)
// 16-bit lookup tables (host/table.c). A 16-bit type has 65536 values, so an op's outputs for
// all of them fit in a table of 128 KiB: the host makes a buffer holding every bit pattern and
// runs the op's own kernel above over it in place, so a lookup returns bit for bit what that
// kernel computes (NaN payloads included). Used for the transcendental ops on CPU devices, where
// the float formula costs 40-90 vector instructions per 16 elements and the lookup about three
// instructions per element (two loads and a store; the table sits in L2).

// y = table[x] for n elements, CLACT_VW per work-item as the kernels above. Scalar 16-bit loads
// and stores, unrolled: PoCL 3.1 keeps them in general registers (two loads and a store per
// element), where a ushortN or uintN vector made 16 inserts or shifts per 16 elements more.
// In-place works: each element is read before it is written, by the same work-item.
__kernel void clact_table_lookup(const ulong n, __global const ushort *x, const ulong x_offset,
                                 __global ushort *y, const ulong y_offset,
                                 __global const ushort *table)
{
    const ulong i = (ulong)get_global_id(0) * CLACT_VW;
    if (i >= n)
        return;
    __global const ushort *xs = x + x_offset + i;
    __global ushort *ys = y + y_offset + i;
    if (n - i >= CLACT_VW) {
#pragma unroll
        for (uint k = 0; k < CLACT_VW; ++k)
            ys[k] = table[xs[k]];
    } else {
        const uint m = (uint)(n - i);
        for (uint k = 0; k < m; ++k)
            ys[k] = table[xs[k]];
    }
}
#endif
