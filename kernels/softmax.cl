// SPDX-License-Identifier: MIT
// The softmax family (kind 0 softmax, 1 log_softmax, 2 softmin = softmax of -x), forward and
// backward, over one dimension of a C-order tensor seen as (outer, C, inner):
//   clact_softmax_rows      inner == 1, one work-item per row, CLACT_VW-wide vectors along it
//                           (CPU devices: a work-item is a core's SIMD unit). Three sweeps of
//                           the row, which is in cache after the first: its max, then exp and
//                           the sum (the exps stored in y), then the scaling. One exp per
//                           element: on a CPU, exp and not memory is the cost, and the online
//                           form below needs two;
//   clact_softmax_group     inner == 1, one work-group per row (GPUs);
//   clact_softmax_strided   inner > 1, one work-item per column (o, i); neighbouring work-items
//                           read neighbouring addresses, so no transposing copy is needed;
//   clact_softmax_partial + clact_softmax_finish
//                           long rows split into chunks: the first writes each chunk's (max,
//                           sum) (and, for softmax, the chunk's exps into y), the second
//                           combines a row's partials and scales its chunk; one exp per
//                           element, no host round trip in between.
//
// f32 and f64 rows keep their exps in y between the sum and the scaling sweeps; f16 and bf16 rows would
// round them to the storage type there (a second rounding, and exps below 6e-8 lost in f16), so
// they take exp again in the scaling sweep.
#if defined(CLACT_F32) || defined(CLACT_F64)
#define CLACT_SM_STORE_EXPS 1
#define CLACT_SM_RESCALE(xv, yv, sign, M, f) ((yv) * (f))
#else
#define CLACT_SM_STORE_EXPS 0
#define CLACT_SM_RESCALE(xv, yv, sign, M, f) (exp((sign) * (xv) - (M)) * (f))
#endif

// One output value from the row's max m and 1/sum (inv) or log(sum) (logs).
real clact_sm_out(real t, real m, real inv, real logs, int kind, int masked, int safe)
{
    if (masked && safe)
        return kind == 1 ? -INFINITY : 0.0f;
    return kind == 1 ? (t - m) - logs : exp(t - m) * inv;
}

// Max of sign * x over [b, e) of a row (fmax skips NaN). *bad is set for +inf (the row is
// NaN, as exp(inf - inf)); a NaN needs no test here: exp(NaN - M) makes the sum, and with it
// every output of the row, NaN.
real clact_range_max(__global const CLACT_STYPE *xr, ulong b, ulong e, real sign, int *bad)
{
    vreal m0 = (vreal)(-INFINITY), m1 = m0, m2 = m0, m3 = m0;
    ulong c = b;
    for (; c + 4 * CLACT_VW <= e; c += 4 * CLACT_VW) {
        m0 = fmax(m0, sign * CLACT_SLOAD(xr + c));
        m1 = fmax(m1, sign * CLACT_SLOAD(xr + c + CLACT_VW));
        m2 = fmax(m2, sign * CLACT_SLOAD(xr + c + 2 * CLACT_VW));
        m3 = fmax(m3, sign * CLACT_SLOAD(xr + c + 3 * CLACT_VW));
    }
    for (; c + CLACT_VW <= e; c += CLACT_VW)
        m0 = fmax(m0, sign * CLACT_SLOAD(xr + c));
    real lm[CLACT_VW];
    CLACT_STORE(fmax(fmax(m0, m1), fmax(m2, m3)), lm);
    real M = -INFINITY;
    for (uint j = 0; j < CLACT_VW; ++j)
        M = fmax(M, lm[j]);
    for (; c < e; ++c)
        M = fmax(M, sign * CLACT_SLOAD1(xr + c));
    *bad = M == INFINITY;
    return M;
}

// sum(exp(sign * x - M)) - 1 over [b, e); the terms are stored to yr when store is set. M is
// the range's maximum and finite. Elements equal to M contribute exactly 1 each: they are
// counted instead of added, so the sum of the other terms (all positive, no cancellation) keeps
// its relative accuracy down to the small values log1p needs for log_softmax near 0 (adding the
// 1s in float would cost up to half an ulp of 1 absolute, 3e-4 relative at sum - 1 = 2e-4).
// Blocks of four vectors are summed plainly, and the block sums with TwoSum.
real clact_range_sum(__global const CLACT_STYPE *xr, __global CLACT_STYPE *yr, ulong b, ulong e, real sign,
                      real M, int store)
{
    vreal s = (vreal)(0.0f), k = (vreal)(0.0f);
    vmask ties = (vmask)(0);
    ulong c = b;
    for (; c + 4 * CLACT_VW <= e; c += 4 * CLACT_VW) {
        vreal v0 = sign * CLACT_SLOAD(xr + c), v1 = sign * CLACT_SLOAD(xr + c + CLACT_VW);
        vreal v2 = sign * CLACT_SLOAD(xr + c + 2 * CLACT_VW);
        vreal v3 = sign * CLACT_SLOAD(xr + c + 3 * CLACT_VW);
        vreal t0 = exp(v0 - M), t1 = exp(v1 - M), t2 = exp(v2 - M), t3 = exp(v3 - M);
        if (store) {
            CLACT_SSTORE(t0, yr + c);
            CLACT_SSTORE(t1, yr + c + CLACT_VW);
            CLACT_SSTORE(t2, yr + c + 2 * CLACT_VW);
            CLACT_SSTORE(t3, yr + c + 3 * CLACT_VW);
        }
        ties += (v0 == M) + (v1 == M) + (v2 == M) + (v3 == M);
        vreal z = (vreal)(0.0f);
        vreal blk = (select(t0, z, v0 == M) + select(t1, z, v1 == M)) +
                     (select(t2, z, v2 == M) + select(t3, z, v3 == M));
        CLACT_ACC(vreal, s, k, blk);
    }
    for (; c + CLACT_VW <= e; c += CLACT_VW) {
        vreal v = sign * CLACT_SLOAD(xr + c);
        vreal t = exp(v - M);
        if (store)
            CLACT_SSTORE(t, yr + c);
        ties += v == M;
        CLACT_ACC(vreal, s, k, select(t, (vreal)(0.0f), v == M));
    }
    real ls[CLACT_VW], lk[CLACT_VW];
    rmask lt[CLACT_VW];
    CLACT_STORE(s, ls);
    CLACT_STORE(k, lk);
#if CLACT_VW == 1
    lt[0] = ties;
#else
    CLACT_CAT(vstore, CLACT_VW)(ties, 0, lt);
#endif
    real ts = 0.0f, tk = 0.0f;
    long n_max = 0;
    for (uint j = 0; j < CLACT_VW; ++j) {
        CLACT_ACC(real, ts, tk, ls[j]);
        tk += lk[j];
        // Vector comparisons give -1 for true, scalar ones 1.
        n_max += CLACT_VW == 1 ? lt[j] : -lt[j];
    }
    for (; c < e; ++c) {
        real v = sign * CLACT_SLOAD1(xr + c);
        real t = exp(v - M);
        if (store)
            CLACT_SSTORE1(t, yr + c);
        if (v == M)
            ++n_max;
        else
            CLACT_ACC(real, ts, tk, t);
    }
    return (ts + tk) + (real)(n_max - 1);
}

// Whether [b, e) holds a NaN: only asked of ranges whose max is -inf (fmax skipped any NaN).
int clact_range_has_nan(__global const CLACT_STYPE *xr, ulong b, ulong e)
{
    for (ulong c = b; c < e; ++c)
        if (isnan(CLACT_SLOAD1(xr + c)))
            return 1;
    return 0;
}

// Write a whole range: NaN rows, masked rows under the safe flag.
void clact_range_fill(__global CLACT_STYPE *yr, ulong b, ulong e, real v)
{
    for (ulong c = b; c < e; ++c)
        CLACT_SSTORE1(v, yr + c);
}

__kernel void clact_softmax_rows(const ulong rows, const ulong C, __global const CLACT_STYPE *x,
                                 const ulong x_offset, __global CLACT_STYPE *y, const ulong y_offset,
                                 const int kind, const int safe)
{
    const ulong r = get_global_id(0);
    if (r >= rows)
        return;
    __global const CLACT_STYPE *xr = x + x_offset + r * C;
    __global CLACT_STYPE *yr = y + y_offset + r * C;
    const real sign = kind == 2 ? -1.0f : 1.0f;
    int bad;
    const real M = clact_range_max(xr, 0, C, sign, &bad);
    if (M == -INFINITY)
        bad = clact_range_has_nan(xr, 0, C);
    if (bad || M == -INFINITY) {
        // NaN or +inf anywhere, or every element -inf: NaN (PyTorch), or the safe values.
        clact_range_fill(yr, 0, C, !bad && safe ? (kind == 1 ? -INFINITY : 0.0f) : NAN);
        return;
    }
    const int store = kind != 1;
    const real S = clact_range_sum(xr, yr, 0, C, sign, M, store && CLACT_SM_STORE_EXPS);
    ulong c = 0;
    if (store) {
        const real inv = 1.0f / (1.0f + S);
        for (; c + CLACT_VW <= C; c += CLACT_VW)
            CLACT_SSTORE(CLACT_SM_RESCALE(CLACT_SLOAD(xr + c), CLACT_SLOAD(yr + c), sign, M, inv),
                         yr + c);
        for (; c < C; ++c)
            CLACT_SSTORE1(
                CLACT_SM_RESCALE(CLACT_SLOAD1(xr + c), CLACT_SLOAD1(yr + c), sign, M, inv),
                yr + c);
    } else {
        const real logs = log1p(S);
        for (; c + CLACT_VW <= C; c += CLACT_VW)
            CLACT_SSTORE((sign * CLACT_SLOAD(xr + c) - M) - logs, yr + c);
        for (; c < C; ++c)
            CLACT_SSTORE1((sign * CLACT_SLOAD1(xr + c) - M) - logs, yr + c);
    }
}

// One work-group per row; the local size is a power of two, at most 256.
__kernel void clact_softmax_group(const ulong rows, const ulong C, __global const CLACT_STYPE *x,
                                  const ulong x_offset, __global CLACT_STYPE *y, const ulong y_offset,
                                  const int kind, const int safe)
{
    __local real lm[256], ls[256];
    __local int ln[256];
    const ulong r = get_group_id(0);
    const uint l = get_local_id(0), L = get_local_size(0);
    __global const CLACT_STYPE *xr = x + x_offset + r * C;
    __global CLACT_STYPE *yr = y + y_offset + r * C;
    const real sign = kind == 2 ? -1.0f : 1.0f;
    real m = -INFINITY, s = -1.0f, k = 0.0f;
    int nan = 0;
    for (ulong c = l; c < C; c += L)
        CLACT_SM_ADD(real, sign * CLACT_SLOAD1(xr + c), m, s, k, nan);
    lm[l] = m;
    ls[l] = s + k;
    ln[l] = nan;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint w = L / 2; w > 0; w /= 2) {
        if (l < w) {
            real mm = lm[l], ss = ls[l];
            CLACT_SM_MERGE(mm, ss, lm[l + w], ls[l + w]);
            lm[l] = mm;
            ls[l] = ss;
            ln[l] |= ln[l + w];
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    const real M = lm[0];
    const int any_nan = ln[0];
    const real S = any_nan ? NAN : ls[0];
    const int masked = M == -INFINITY && !any_nan;
    const real inv = 1.0f / (1.0f + S), logs = log1p(S);
    for (ulong c = l; c < C; c += L)
        CLACT_SSTORE1(clact_sm_out(sign * CLACT_SLOAD1(xr + c), M, inv, logs, kind, masked, safe), yr + c);
}

__kernel void clact_softmax_strided(const ulong outer, const ulong C, const ulong inner,
                                    __global const CLACT_STYPE *x, const ulong x_offset,
                                    __global CLACT_STYPE *y, const ulong y_offset, const int kind,
                                    const int safe)
{
    const ulong g = get_global_id(0);
    if (g >= outer * inner)
        return;
    const ulong o = g / inner, i = g - o * inner;
    __global const CLACT_STYPE *xc = x + x_offset + o * C * inner + i;
    __global CLACT_STYPE *yc = y + y_offset + o * C * inner + i;
    const real sign = kind == 2 ? -1.0f : 1.0f;
    real m = -INFINITY, s = -1.0f, k = 0.0f;
    int nan = 0;
    for (ulong c = 0; c < C; ++c)
        CLACT_SM_ADD(real, sign * CLACT_SLOAD1(xc + c * inner), m, s, k, nan);
    const real S = nan ? NAN : s + k;
    const int masked = m == -INFINITY && !nan;
    const real inv = 1.0f / (1.0f + S), logs = log1p(S);
    for (ulong c = 0; c < C; ++c)
        CLACT_SSTORE1(clact_sm_out(sign * CLACT_SLOAD1(xc + c * inner), m, inv, logs, kind, masked, safe), yc + c * inner);
}

// Long rows: work-item (r, j) reduces chunk j of row r into part[3 (r nchunks + j)] =
// (max, sum - 1, bad) and, for softmax and softmin, stores the chunk's exp(x - max) into y.
__kernel void clact_softmax_partial(const ulong rows, const ulong C, const ulong chunk,
                                    const ulong nchunks, __global const CLACT_STYPE *x,
                                    const ulong x_offset, __global CLACT_STYPE *y, const ulong y_offset,
                                    __global real *part, const int kind)
{
    const ulong g = get_global_id(0);
    if (g >= rows * nchunks)
        return;
    const ulong r = g / nchunks, j = g - r * nchunks;
    const ulong begin = j * chunk, end = min(C, begin + chunk);
    __global const CLACT_STYPE *xr = x + x_offset + r * C;
    __global CLACT_STYPE *yr = y + y_offset + r * C;
    const real sign = kind == 2 ? -1.0f : 1.0f;
    int bad;
    const real m = clact_range_max(xr, begin, end, sign, &bad);
    if (m == -INFINITY)
        bad = clact_range_has_nan(xr, begin, end);
    real s = -1.0f;
    if (bad) {
        s = NAN;
    } else if (m == -INFINITY) {
        if (kind != 1) // a fully masked chunk of a row that may not be: its outputs are 0
            clact_range_fill(yr, begin, end, 0.0f);
    } else {
        s = clact_range_sum(xr, yr, begin, end, sign, m, kind != 1 && CLACT_SM_STORE_EXPS);
    }
    part[3 * g] = m;
    part[3 * g + 1] = s;
    part[3 * g + 2] = bad ? 1.0f : 0.0f;
}

__kernel void clact_softmax_finish(const ulong rows, const ulong C, const ulong chunk,
                                   const ulong nchunks, __global const CLACT_STYPE *x,
                                   const ulong x_offset, __global CLACT_STYPE *y, const ulong y_offset,
                                   __global const real *part, const int kind, const int safe)
{
    const ulong g = get_global_id(0);
    if (g >= rows * nchunks)
        return;
    const ulong r = g / nchunks, j = g - r * nchunks;
    // Every work-item of a row combines the same partials in the same order: identical results.
    real M = -INFINITY, S = -1.0f;
    int bad = 0;
    for (ulong q = 0; q < nchunks; ++q) {
        __global const real *pq = part + 3 * (r * nchunks + q);
        bad |= pq[2] != 0.0f;
        if (pq[2] == 0.0f)
            CLACT_SM_MERGE(M, S, pq[0], pq[1]);
    }
    const ulong begin = j * chunk, end = min(C, begin + chunk);
    __global const CLACT_STYPE *xr = x + x_offset + r * C;
    __global CLACT_STYPE *yr = y + y_offset + r * C;
    if (bad || M == -INFINITY) {
        clact_range_fill(yr, begin, end, !bad && safe ? (kind == 1 ? -INFINITY : 0.0f) : NAN);
        return;
    }
    ulong c = begin;
    if (kind != 1) {
        const real mj = part[3 * g];
        const real sign = kind == 2 ? -1.0f : 1.0f;
        // f32: y holds exp(x - mj); the row's softmax is that times exp(mj - M) / sum.
        // f16, bf16: y holds nothing yet; the softmax is exp(x - M) / sum.
        const real scale = CLACT_SM_STORE_EXPS
                                ? (mj == -INFINITY ? 0.0f : exp(mj - M)) / (1.0f + S)
                                : 1.0f / (1.0f + S);
        for (; c + CLACT_VW <= end; c += CLACT_VW)
            CLACT_SSTORE(CLACT_SM_RESCALE(CLACT_SLOAD(xr + c), CLACT_SLOAD(yr + c), sign, M, scale),
                         yr + c);
        for (; c < end; ++c)
            CLACT_SSTORE1(
                CLACT_SM_RESCALE(CLACT_SLOAD1(xr + c), CLACT_SLOAD1(yr + c), sign, M, scale),
                yr + c);
    } else {
        const real logs = log1p(S);
        for (; c + CLACT_VW <= end; c += CLACT_VW)
            CLACT_SSTORE((CLACT_SLOAD(xr + c) - M) - logs, yr + c);
        for (; c < end; ++c)
            CLACT_SSTORE1((CLACT_SLOAD1(xr + c) - M) - logs, yr + c);
    }
}

// Backward. kind 0: dx = y (dy - S), S = sum dy y; kind 1: dx = dy - exp(y) S, S = sum dy;
// kind 2: dx = -y (dy - S). One work-item per column of (outer, C, inner); inner == 1 for rows.
__kernel void clact_softmax_backward(const ulong outer, const ulong C, const ulong inner,
                                     __global const CLACT_STYPE *y, const ulong y_offset,
                                     __global const CLACT_STYPE *dy, const ulong dy_offset,
                                     __global CLACT_STYPE *dx, const ulong dx_offset,
                                     const int kind)
{
    const ulong g = get_global_id(0);
    if (g >= outer * inner)
        return;
    const ulong o = g / inner, i = g - o * inner;
    const ulong base = o * C * inner + i;
    __global const CLACT_STYPE *yc = y + y_offset + base;
    __global const CLACT_STYPE *gc = dy + dy_offset + base;
    __global CLACT_STYPE *dc = dx + dx_offset + base;
    real s = 0.0f, k = 0.0f;
    for (ulong c = 0; c < C; ++c) {
        real g = CLACT_SLOAD1(gc + c * inner);
        real term = kind == 1 ? g : g * CLACT_SLOAD1(yc + c * inner);
        CLACT_ACC(real, s, k, term);
    }
    const real S = s + k;
    for (ulong c = 0; c < C; ++c) {
        real yv = CLACT_SLOAD1(yc + c * inner), gv = CLACT_SLOAD1(gc + c * inner);
        real r = kind == 1 ? gv - exp(yv) * S : yv * (gv - S);
        CLACT_SSTORE1(kind == 2 ? -r : r, dc + c * inner);
    }
}
