// SPDX-License-Identifier: MIT
// GLU, forward and backward (clact_glu, clact_glu_backward): F.glu(x, dim) splits dimension dim
// of a C-order tensor into halves a (first) and b (second) and gives y = a * sigmoid(b). Built in
// the activation program, after activation.cl, whose logistic() and x_logistic() it uses.
// The input is seen as (outer, 2, L), L = (shape[dim] / 2) * inner: per outer index, L elements
// of a, then the L of b; y and dy are (outer, L). Work-item g takes the CLACT_VW outputs from
// q = g * CLACT_VW on: one vector load each of a and b when they lie in one row, lane by lane
// when they straddle rows (rows shorter than CLACT_VW, the end of each row) or the end.
// Kernel arguments (n = outer * L outputs):
//   clact_glu          (ulong n, ulong L, global const T *x, ulong xo, global T *y, ulong yo)
//   clact_glu_backward (ulong n, ulong L, global const T *x, ulong xo, global const T *dy,
//                       ulong dyo, global T *dx, ulong dxo)
// The backward may run in place (dx the same elements as x): each work-item reads its a and b
// before it writes their gradients.

// v * sigmoid(b): exact where sigmoid(b) underflows but the product is still a float
// (x_logistic: e.g. 1e30 * sigmoid(-100) = 3.7e-14). An infinite v takes sigmoid(b) rounded to
// the compute type, so that it gives NaN (inf * 0) exactly where that rounds to 0 (b = -inf, and
// b below -103.97 in float, -745.1 in double), as PyTorch's inf * sigmoid(-inf) does, and ±inf
// elsewhere.
vreal glu_times_sigmoid(vreal v, vreal b)
{
    return CLACT_SEL(x_logistic(v, b, (vreal)(0.0f)), v * logistic(b), isinf(v));
}

// exp(-|b|) = m 2^k: k = round(-|b| log2 e) and m = exp(r), r = -|b| - k ln2 in [-0.35, 0.35], so
// that sigmoid(b) sigmoid(-b) = e / (1 + e)^2 keeps its digits far below the smallest float.
// ln2 is split Cody-Waite style: k ln2_hi is exact (k needs 9 bits in float, 12 in double, where
// |b| is capped at GLU_BMAX: beyond it every product below rounds to 0 anyway, and k must stay
// an int). NaN stays NaN in m (k is then 0).
#if defined(CLACT_F64)
#define GLU_BMAX 2300.0 // dy a e^-|b| < 2^-1075 for |dy a| < 2^2048
#define GLU_LOG2E 1.4426950408889634
#define GLU_LN2_HI 6.93147180369123816490e-01 // 32 significant bits
#define GLU_LN2_LO 1.90821492927058770002e-10
#else
#define GLU_BMAX 300.0f // dy a e^-|b| < 2^-150 for |dy a| < 2^256
#define GLU_LOG2E 1.44269504f
#define GLU_LN2_HI 0x1.62e4p-1f // 15 significant bits
#define GLU_LN2_LO 0x1.7f7d1cp-20f
#endif
#define GLU_EXP_LIMIT 1100 // beyond every finite exponent, subnormals' included
#if CLACT_VW == 1
#define GLU_TO_INT(v) convert_int(v)
#else
#define GLU_TO_INT(v) CLACT_CAT(convert_int, CLACT_VW)(v)
#endif

// dy * a * sigmoid(b) * sigmoid(-b), the gradient of b: 1 - sigmoid(b) is sigmoid(-b), never a
// subtraction (which would be 0 from b = 17 in float). For finite dy and a the four factors are
// multiplied as mantissas and the exponents added, and the result is scaled once at the end
// (ldexp): no intermediate overflows or underflows, so the result is right wherever it is a float
// (dy = 1e30, a = 1e30, b = -100 gives 3.7e16; a plain product would overflow). The mantissas come
// from ilogb and ldexp, not frexp: PoCL 3.1's frexp on double8 returns wrong exponents in other
// lanes when one lane is 0, inf, NaN or subnormal. The exponent is clamped to GLU_EXP_LIMIT, past
// every finite one, so that 0 (ilogb's FP_ILOGB0), inf and NaN give 0, inf and NaN mantissas and
// the exponent sum cannot overflow. Where dy or a is infinite, the gradient is dy times the
// derivative a sigmoid(b) sigmoid(-b) rounded to the compute type (exactly, for a finite a; with
// sigmoid(b) sigmoid(-b) rounded first for an infinite one), as clact_backward forms dy f'(x):
// NaN where that derivative rounds to 0 (a = 0, |a sigmoid(b) sigmoid(-b)| < 2^-150 in float,
// |b| = inf, or with an infinite a |b| > 103.97 in float, 745.1 in double) or dy is 0, as
// PyTorch's inf * 0.
vreal glu_grad_b_scaled(vreal g, vreal a, vreal b)
{
    vreal ab = fabs(b);
    ab = CLACT_SEL(ab, (vreal)(GLU_BMAX), ab > GLU_BMAX);
    vreal kf = rint(ab * -GLU_LOG2E);
    kf = CLACT_SEL(kf, (vreal)(0.0f), isnan(kf));
    vreal r = fma(-kf, (vreal)(GLU_LN2_HI), -ab);
    r = fma(-kf, (vreal)(GLU_LN2_LO), r);
    vreal m = exp(r);
    vint k = GLU_TO_INT(kf);
    vreal d = 1.0f + ldexp(m, k);
    vreal q = m / (d * d); // sigmoid(b) sigmoid(-b) = q 2^k, q in [0.17, 1.42]
    // The bounds are vectors, not the scalars clamp(gentype, sgentype, sgentype) also takes:
    // oclgrind 21.10 (WorkItemBuiltins.cpp) reads scalar bounds of an integer clamp as vectors,
    // giving 0 in every lane but the first (clamp((int4)(99, 1, -2, 5000), -1100, 1100) is
    // (99, 0, 0, 0) there), which made this whole form wrong on its simulated GPU.
    const vint lim = (vint)(GLU_EXP_LIMIT);
    vint eg = clamp(ilogb(g), -lim, lim);
    vint ea = clamp(ilogb(a), -lim, lim);
    vreal mg = ldexp(g, -eg), ma = ldexp(a, -ea); // in [1, 2) (or 0), exact
    vreal finite = ldexp((mg * ma) * q, eg + ea + k);
    vreal slope = CLACT_SEL(ldexp(ma * q, ea + k), a * ldexp(q, k), isinf(a)); // dy/db, rounded
    return CLACT_SEL(finite, g * slope, isinf(g) | isinf(a));
}

// The common case first: where |b| < 80 (e = exp(-|b|) a normal number), dy and a are finite and
// the products a q and dy (a q) are normal or exactly 0, the plain product dy (a q) with
// q = e / (1 + e)^2 has no scaling to do (three roundings, as the scaled form); only work-items
// holding another lane take glu_grad_b_scaled (ilogb and ldexp per element are slow on PoCL).
// The test is !all(ok), not the equal any(!ok): oclgrind 21.10 gives any(!m) = 0 for a mask m
// built with && whose lanes are all 0 (any(!m) and any(m == 0) are 0 there, !all(m) and any(~m)
// are 1), so that every lane took the plain product (exp(-80) for |b| >= 80) on its simulated GPU.
vreal glu_grad_b(vreal g, vreal a, vreal b)
{
    const vreal e = clact_exp_neg(-fmin(fabs(b), (vreal)(80.0f)));
    const vreal d = 1.0f + e;
    const vreal p = a * (e / (d * d));
    const vreal r = g * p;
#if defined(CLACT_F64)
    const real tiny = 0x1p-1022;
#else
    const real tiny = 0x1p-126f;
#endif
    const vmask ok = fabs(b) < 80.0f && (fabs(p) >= tiny || a == 0.0f) &&
                     (fabs(r) >= tiny || g == 0.0f || a == 0.0f) && isfinite(r) && isfinite(g);
    if (!CLACT_ALL(ok))
        return CLACT_SEL(glu_grad_b_scaled(g, a, b), r, ok);
    return r;
}

// The outputs [q, q + CLACT_VW) of a row-straddling or final vector, lane by lane: the element
// offsets (from the start of x) of their a, and of y / dy.
#define GLU_LANES(q, n, L, body)                                                             \
    do {                                                                                     \
        const uint m_ = (uint)min((ulong)CLACT_VW, (n) - (q));                               \
        ulong o_ = (q) / (L), k_ = (q) - o_ * (L);                                           \
        for (uint j = 0; j < m_; ++j) {                                                      \
            const ulong pa = 2 * o_ * (L) + k_, py = (q) + j;                                \
            body;                                                                            \
            if (++k_ == (L)) {                                                               \
                k_ = 0;                                                                      \
                ++o_;                                                                        \
            }                                                                                \
        }                                                                                    \
    } while (0)

__kernel void clact_glu(const ulong n, const ulong L, __global const CLACT_STYPE *x,
                        const ulong xo, __global CLACT_STYPE *y, const ulong yo)
{
    const ulong q = (ulong)get_global_id(0) * CLACT_VW;
    if (q >= n)
        return;
    const ulong o = q / L, k = q - o * L;
    if (k + CLACT_VW <= L) {
        __global const CLACT_STYPE *pa = x + xo + 2 * o * L + k;
        CLACT_SSTORE(glu_times_sigmoid(CLACT_SLOAD(pa), CLACT_SLOAD(pa + L)), y + yo + q);
        return;
    }
    real ba[CLACT_VW], bb[CLACT_VW];
    for (uint j = 0; j < CLACT_VW; ++j)
        ba[j] = bb[j] = 0.0f;
    GLU_LANES(q, n, L, {
        ba[j] = CLACT_SLOAD1(x + xo + pa);
        bb[j] = CLACT_SLOAD1(x + xo + pa + L);
    });
    vreal v = glu_times_sigmoid(CLACT_LOAD(ba), CLACT_LOAD(bb));
    CLACT_STORE(v, ba);
    GLU_LANES(q, n, L, CLACT_SSTORE1(ba[j], y + yo + py));
}

__kernel void clact_glu_backward(const ulong n, const ulong L, __global const CLACT_STYPE *x,
                                 const ulong xo, __global const CLACT_STYPE *dy, const ulong dyo,
                                 __global CLACT_STYPE *dx, const ulong dxo)
{
    const ulong q = (ulong)get_global_id(0) * CLACT_VW;
    if (q >= n)
        return;
    const ulong o = q / L, k = q - o * L;
    if (k + CLACT_VW <= L) {
        const ulong pa = 2 * o * L + k;
        vreal a = CLACT_SLOAD(x + xo + pa), b = CLACT_SLOAD(x + xo + pa + L);
        vreal g = CLACT_SLOAD(dy + dyo + q);
        vreal da = glu_times_sigmoid(g, b), db = glu_grad_b(g, a, b);
        CLACT_SSTORE(da, dx + dxo + pa);
        CLACT_SSTORE(db, dx + dxo + pa + L);
        return;
    }
    real ba[CLACT_VW], bb[CLACT_VW], bg[CLACT_VW];
    for (uint j = 0; j < CLACT_VW; ++j)
        ba[j] = bb[j] = bg[j] = 0.0f;
    GLU_LANES(q, n, L, {
        ba[j] = CLACT_SLOAD1(x + xo + pa);
        bb[j] = CLACT_SLOAD1(x + xo + pa + L);
        bg[j] = CLACT_SLOAD1(dy + dyo + py);
    });
    vreal a = CLACT_LOAD(ba), b = CLACT_LOAD(bb), g = CLACT_LOAD(bg);
    CLACT_STORE(glu_times_sigmoid(g, b), ba);
    CLACT_STORE(glu_grad_b(g, a, b), bb);
    GLU_LANES(q, n, L, {
        CLACT_SSTORE1(ba[j], dx + dxo + pa);
        CLACT_SSTORE1(bb[j], dx + dxo + pa + L);
    });
}
