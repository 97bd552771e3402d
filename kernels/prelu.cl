// SPDX-License-Identifier: MIT
// PReLU with a weight per channel, forward and backward (clact_prelu, clact_prelu_backward);
// the single-weight form is the elementwise clact_prelu of activation.cl. Built in the activation
// program after activation.cl. The input is seen as (N, C, inner): element i belongs to channel
// (i / inner) % C and uses w[c]; one weight for everything is C = 1, inner = n.
// Kernel arguments:
//   clact_prelu_channels (ulong n, ulong C, ulong inner, w, wo, x, xo, y, yo)
//   clact_prelu_dx       (ulong n, ulong C, ulong inner, w, wo, x, xo, dy, dyo, dx, dxo)
//   clact_prelu_dw_runs or clact_prelu_dw_columns, then clact_prelu_dw_finish: the weight's
//   gradient in two stages, below.
// Buffers are (global T *, ulong offset) pairs; T the storage type, real the compute type.

// The weights of elements [i, i + CLACT_VW): one broadcast when they lie in one channel run,
// lane by lane (no division) when they straddle runs.
vreal prelu_weights(__global const CLACT_STYPE *w, const ulong i, const ulong C, const ulong inner)
{
    const ulong r = i / inner, j = i - r * inner;
    ulong c = r % C;
    if (j + CLACT_VW <= inner)
        return (vreal)(CLACT_SLOAD1(w + c));
    if (inner == 1 && c + CLACT_VW <= C) // a weight per element: consecutive weights
        return CLACT_SLOAD(w + c);
    real t[CLACT_VW];
    ulong jj = j;
    for (uint k = 0; k < CLACT_VW; ++k) {
        t[k] = CLACT_SLOAD1(w + c);
        if (++jj == inner) {
            jj = 0;
            c = c + 1 == C ? 0 : c + 1;
        }
    }
    return CLACT_LOAD(t);
}

// x > 0 ? v : w v: the forward (v = x) and the input's gradient (v = dy). NaN x fails the test,
// so gives w v (NaN in the forward), as PyTorch's where(x > 0, ...).
vreal prelu_pick(vreal x, vreal v, vreal w) { return CLACT_SEL(w * v, v, x > 0.0f); }

// The forward and the input's gradient share one body: y = pick(x, v, w) with v = x (forward) or
// dy (backward), vectors with a lane-by-lane tail as the elementwise kernels.
#define CLACT_PRELU_BODY(vsrc, vo, dst, dsto)                                                \
    const ulong i = (ulong)get_global_id(0) * CLACT_VW;                                      \
    if (i >= n)                                                                              \
        return;                                                                              \
    const vreal wv = prelu_weights(w + wo, i, C, inner);                                     \
    if (n - i >= CLACT_VW) {                                                                 \
        const vreal xv = CLACT_SLOAD(x + xo + i);                                            \
        CLACT_SSTORE(prelu_pick(xv, CLACT_SLOAD(vsrc + vo + i), wv), dst + dsto + i);        \
        return;                                                                              \
    }                                                                                        \
    const uint m = (uint)(n - i);                                                            \
    real bx[CLACT_VW], bv[CLACT_VW];                                                         \
    for (uint k = 0; k < CLACT_VW; ++k) {                                                    \
        bx[k] = k < m ? CLACT_SLOAD1(x + xo + i + k) : 0.0f;                                 \
        bv[k] = k < m ? CLACT_SLOAD1(vsrc + vo + i + k) : 0.0f;                              \
    }                                                                                        \
    CLACT_STORE(prelu_pick(CLACT_LOAD(bx), CLACT_LOAD(bv), wv), bx);                         \
    for (uint k = 0; k < m; ++k)                                                             \
        CLACT_SSTORE1(bx[k], dst + dsto + i + k);

__kernel void clact_prelu_channels(const ulong n, const ulong C, const ulong inner,
                                   __global const CLACT_STYPE *w, const ulong wo,
                                   __global const CLACT_STYPE *x, const ulong xo,
                                   __global CLACT_STYPE *y, const ulong yo)
{
    CLACT_PRELU_BODY(x, xo, y, yo)
}

__kernel void clact_prelu_dx(const ulong n, const ulong C, const ulong inner,
                             __global const CLACT_STYPE *w, const ulong wo,
                             __global const CLACT_STYPE *x, const ulong xo,
                             __global const CLACT_STYPE *dy, const ulong dyo,
                             __global CLACT_STYPE *dx, const ulong dxo)
{
    CLACT_PRELU_BODY(dy, dyo, dx, dxo)
}

// The weight's gradient dw[c] = sum over channel c of (x > 0 ? 0 : x dy), in the compute type
// (float for f32, f16, bf16; double for f64), with compensation: every product is split exactly
// into p + e (e = fma(x, dy, -p)), p is added by TwoSum (CLACT_ACC), whose rounding errors and
// the e's are summed apart; sums of pairs are merged the same way. This is Ogita, Rump and
// Oishi's Dot2: the result is within u |S| + 2 (n u)^2 sum|x dy| of the exact sum S (u the
// compute type's unit roundoff, n the channel's elements), so it keeps the compute type's
// accuracy however much the terms cancel. A non-finite product (inf, NaN, or an overflow)
// cannot go through TwoSum (inf - inf): those are added plainly, apart, and decide the result
// (NaN, or ±inf; +inf and -inf give NaN), as they would in any sum.
//
// A running sum: s + c the finite part, w the non-finite terms.
typedef struct prelu_sum {
    real s, c, w;
} prelu_sum;

void prelu_sum_add(prelu_sum *a, const real p, const real e)
{
    if (isfinite(p)) {
        CLACT_ACC(real, a->s, a->c, p);
        a->c += e;
    } else {
        a->w += p;
    }
}

void prelu_sum_merge(prelu_sum *a, const prelu_sum b)
{
    CLACT_ACC(real, a->s, a->c, b.s);
    a->c += b.c;
    a->w += b.w;
}

// The same on CLACT_VW lanes at once, each its own sum: the term x > 0 ? 0 : x dy of every lane
// of x and dy. (|| and !, not | and ~: a scalar comparison gives 1, a vector one -1.)
void prelu_vsum_add(vreal *s, vreal *c, vreal *w, const vreal xv, const vreal gv)
{
    const vmask pos = xv > 0.0f;
    const vreal p = CLACT_SEL(xv * gv, (vreal)(0.0f), pos);
    const vmask fin = isfinite(p);
    const vreal pf = CLACT_SEL((vreal)(0.0f), p, fin);
    const vreal e = CLACT_SEL(fma(xv, gv, -p), (vreal)(0.0f), pos || !fin);
    const vreal t = *s + pf, b = t - *s;
    *c += ((*s - (t - b)) + (pf - b)) + e;
    *s = t;
    *w += CLACT_SEL(p, (vreal)(0.0f), fin);
}

// Merge the lanes of (s, c, w) into a.
void prelu_vsum_merge(prelu_sum *a, const vreal s, const vreal c, const vreal w)
{
    real ts[CLACT_VW], tc[CLACT_VW], tw[CLACT_VW];
    CLACT_STORE(s, ts);
    CLACT_STORE(c, tc);
    CLACT_STORE(w, tw);
    for (uint q = 0; q < CLACT_VW; ++q) {
        prelu_sum b = {ts[q], tc[q], tw[q]};
        prelu_sum_merge(a, b);
    }
}

// Halve the work-group's sums in local memory into item 0's (the group size is a power of 2).
prelu_sum prelu_sum_group(prelu_sum a, __local real *ls, __local real *lc, __local real *lw)
{
    const uint l = get_local_id(0);
    for (uint h = get_local_size(0) / 2; h > 0; h /= 2) {
        if (l >= h && l < 2 * h) {
            ls[l - h] = a.s;
            lc[l - h] = a.c;
            lw[l - h] = a.w;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        if (l < h) {
            prelu_sum b = {ls[l], lc[l], lw[l]};
            prelu_sum_merge(&a, b);
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    return a;
}

// Stage 1, long runs (inner >= 64): work-group g takes channel c = g / G, part gi = g % G; its
// items are p = gi L + l of P = G L per channel, and item p sums the channel's elements t (of its
// M = N inner; t = nn inner + j is element nn C inner + c inner + j) from t = p first, every
// step-th, up to p first + span: on GPUs first = 1, step = P, so that neighbouring items read
// neighbouring elements; on CPUs, where a work-group's items run one after the other, contiguous
// chunks (first = span = M / P, step = 1), so that each item walks its own cache lines. Stepping t
// moves the element by stepoff = (step / inner) C inner + step % inner, plus wrap = (C - 1) inner
// when j passes inner: no division in the loop; in contiguous chunks, CLACT_VW elements at once
// where they lie in one run (prelu_vsum_add). With write_dx, it also writes the input's gradient
// of the elements it reads (in place allowed). The group's (s, c, w) goes to part[3 g].
__kernel void clact_prelu_dw_runs(const ulong M, const ulong inner, const ulong row, const ulong G,
                                  const ulong first, const ulong span, const ulong step,
                                  const ulong rS, const ulong stepoff, const ulong wrap,
                                  __global const CLACT_STYPE *w, const ulong wo,
                                  __global const CLACT_STYPE *x, const ulong xo,
                                  __global const CLACT_STYPE *dy, const ulong dyo,
                                  __global CLACT_STYPE *dx, const ulong dxo, const int write_dx,
                                  __global real *part)
{
    __local real ls[256], lc[256], lw[256];
    const ulong g = get_group_id(0), c = g / G, gi = g - c * G;
    ulong t = (gi * get_local_size(0) + get_local_id(0)) * first;
    const ulong end = min(M, t + span);
    ulong j = t % inner, off = (t / inner) * row + c * inner + j;
    const real wc = CLACT_SLOAD1(w + wo + c);
    prelu_sum a = {0.0f, 0.0f, 0.0f};
    vreal vs = (vreal)(0.0f), vc = (vreal)(0.0f), vw = (vreal)(0.0f);
    while (t < end) {
        if (step == 1 && j + CLACT_VW <= inner && t + CLACT_VW <= end) {
            // Contiguous chunks: a vector of the run at once.
            const vreal xv = CLACT_SLOAD(x + xo + off), gv = CLACT_SLOAD(dy + dyo + off);
            if (write_dx)
                CLACT_SSTORE(prelu_pick(xv, gv, (vreal)(wc)), dx + dxo + off);
            prelu_vsum_add(&vs, &vc, &vw, xv, gv);
            t += CLACT_VW;
            off += CLACT_VW;
            j += CLACT_VW;
            if (j == inner) {
                j = 0;
                off += wrap;
            }
            continue;
        }
        const real xv = CLACT_SLOAD1(x + xo + off), gv = CLACT_SLOAD1(dy + dyo + off);
        if (write_dx)
            CLACT_SSTORE1(xv > 0.0f ? gv : wc * gv, dx + dxo + off);
        if (!(xv > 0.0f)) {
            const real p = xv * gv;
            prelu_sum_add(&a, p, fma(xv, gv, -p));
        }
        t += step;
        off += stepoff;
        j += rS;
        if (j >= inner) {
            j -= inner;
            off += wrap;
        }
    }
    prelu_vsum_merge(&a, vs, vc, vw);
    a = prelu_sum_group(a, ls, lc, lw);
    if (get_local_id(0) == 0) {
        part[3 * g] = a.s;
        part[3 * g + 1] = a.c;
        part[3 * g + 2] = a.w;
    }
}

// Stage 1, short runs (inner < 64, such as the (N, C) output of a linear layer, inner = 1): the
// input as N rows of R = C inner columns, column k in channel k / inner. Work-item g takes the
// CLACT_VW columns from k over rows [rb rows, rb rows + rows) of row block rb, with vector loads
// along the row and one compensated sum per lane (prelu_vsum_add; lanes past R hold zeros), and
// writes lane k's sums as part (channel k / inner, part rb inner + k % inner) of G = RB inner,
// where stage 2 finds them. dx as in the runs kernel.
__kernel void clact_prelu_dw_columns(const ulong N, const ulong R, const ulong inner,
                                     const ulong C, const ulong RB, const ulong rows,
                                     __global const CLACT_STYPE *w, const ulong wo,
                                     __global const CLACT_STYPE *x, const ulong xo,
                                     __global const CLACT_STYPE *dy, const ulong dyo,
                                     __global CLACT_STYPE *dx, const ulong dxo,
                                     const int write_dx, __global real *part)
{
    const ulong cols = (R + CLACT_VW - 1) / CLACT_VW, g = get_global_id(0);
    if (g >= cols * RB)
        return;
    const ulong rb = g / cols, k = (g - rb * cols) * CLACT_VW;
    const ulong r1 = min(N, (rb + 1) * rows);
    const uint m = (uint)min((ulong)CLACT_VW, R - k);
    const vreal wv = prelu_weights(w + wo, k, C, inner);
    vreal s = (vreal)(0.0f), cs = (vreal)(0.0f), ws = (vreal)(0.0f);
    for (ulong r = rb * rows; r < r1; ++r) {
        const ulong e = r * R + k;
        vreal xv, gv;
        if (m == CLACT_VW) {
            xv = CLACT_SLOAD(x + xo + e);
            gv = CLACT_SLOAD(dy + dyo + e);
            if (write_dx)
                CLACT_SSTORE(prelu_pick(xv, gv, wv), dx + dxo + e);
        } else {
            real bx[CLACT_VW], bg[CLACT_VW];
            for (uint q = 0; q < CLACT_VW; ++q) {
                bx[q] = q < m ? CLACT_SLOAD1(x + xo + e + q) : 0.0f;
                bg[q] = q < m ? CLACT_SLOAD1(dy + dyo + e + q) : 0.0f;
            }
            xv = CLACT_LOAD(bx);
            gv = CLACT_LOAD(bg);
            CLACT_STORE(prelu_pick(xv, gv, wv), bx);
            for (uint q = 0; write_dx && q < m; ++q)
                CLACT_SSTORE1(bx[q], dx + dxo + e + q);
        }
        prelu_vsum_add(&s, &cs, &ws, xv, gv);
    }
    real ts[CLACT_VW], tc[CLACT_VW], tw[CLACT_VW];
    CLACT_STORE(s, ts);
    CLACT_STORE(cs, tc);
    CLACT_STORE(ws, tw);
    for (uint q = 0; q < m; ++q) {
        const ulong kk = k + q, ch = kk / inner;
        const ulong i = 3 * (ch * RB * inner + rb * inner + (kk - ch * inner));
        part[i] = ts[q];
        part[i + 1] = tc[q];
        part[i + 2] = tw[q];
    }
}

// Stage 2: work-group c merges channel c's G partial sums (and, with accumulate, dw's old value)
// and rounds the result once into dw[c]. The pair s + c is rounded to the compute type by one
// addition; for f16 and bf16 it is first rounded to odd in float (made odd when inexact), so
// that the store's rounding to 16 bits is the one rounding of s + c (float has more than 2 bits
// beyond either format: round-to-odd then round-to-nearest is round-to-nearest).
__kernel void clact_prelu_dw_finish(const ulong G, __global const real *part,
                                    __global CLACT_STYPE *dw, const ulong dwo,
                                    const int accumulate)
{
    __local real ls[256], lc[256], lw[256];
    const ulong c = get_group_id(0);
    prelu_sum a = {0.0f, 0.0f, 0.0f};
    for (ulong gi = get_local_id(0); gi < G; gi += get_local_size(0)) {
        const ulong k = 3 * (c * G + gi);
        prelu_sum b = {part[k], part[k + 1], part[k + 2]};
        prelu_sum_merge(&a, b);
    }
    a = prelu_sum_group(a, ls, lc, lw);
    if (get_local_id(0) != 0)
        return;
    if (accumulate)
        prelu_sum_add(&a, CLACT_SLOAD1(dw + dwo + c), 0.0f);
    real r = a.s + a.c;
    if (a.w != 0.0f) { // (NaN included)
        r = a.w; // the non-finite terms decide
    } else if (isinf(a.s)) {
        r = a.s; // the finite terms' sum overflowed (a.c is then NaN)
    } else {
#if defined(CLACT_F16) || defined(CLACT_BF16)
        const real b = r - a.s, e = (a.s - (r - b)) + (a.c - b); // r + e = s + c exactly
        if (e != 0.0f && !(as_uint(r) & 1u))
            r = nextafter(r, e > 0.0f ? INFINITY : -INFINITY);
#endif
    }
    CLACT_SSTORE1(r, dw + dwo + c);
}
