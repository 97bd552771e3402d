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
// One output value from the row's max m and 1/sum (inv) or log(sum) (logs).
float clact_sm_out(float t, float m, float inv, float logs, int kind, int masked, int safe)
{
    if (masked && safe)
        return kind == 1 ? -INFINITY : 0.0f;
    return kind == 1 ? (t - m) - logs : exp(t - m) * inv;
}

vfloat clact_sm_out_v(vfloat t, float m, float inv, float logs, int kind)
{
    return kind == 1 ? (t - m) - logs : exp(t - m) * inv;
}

// Max of sign * x over [b, e) of a row; *bad is set where a NaN or +inf occurs.
float clact_range_max(__global const float *xr, ulong b, ulong e, float sign, int *bad)
{
    vfloat m = (vfloat)(-INFINITY);
    vint bd = (vint)(0);
    ulong c = b;
    for (; c + CLACT_VW <= e; c += CLACT_VW) {
        vfloat v = sign * CLACT_LOAD(xr + c);
        m = fmax(m, v);
        bd |= isnan(v) | (v == INFINITY);
    }
    float lm[CLACT_VW];
    CLACT_STORE(m, lm);
#if CLACT_VW == 1
    int B = bd != 0;
#else
    int B = any(bd);
#endif
    float M = -INFINITY;
    for (uint j = 0; j < CLACT_VW; ++j)
        M = fmax(M, lm[j]);
    for (; c < e; ++c) {
        float v = sign * xr[c];
        M = fmax(M, v);
        B |= isnan(v) || v == INFINITY;
    }
    *bad = B;
    return M;
}

// sum(exp(sign * x - M)) - 1 over [b, e), compensated; the terms are stored to yr when store is
// set. M is the range's maximum and finite, so the sum is at least 1 and "- 1" is exact:
// (s - 1) + k keeps the small part that log1p needs.
float clact_range_sum(__global const float *xr, __global float *yr, ulong b, ulong e, float sign,
                      float M, int store)
{
    vfloat s = (vfloat)(0.0f), k = (vfloat)(0.0f);
    ulong c = b;
    for (; c + CLACT_VW <= e; c += CLACT_VW) {
        vfloat t = exp(sign * CLACT_LOAD(xr + c) - M);
        if (store)
            CLACT_STORE(t, yr + c);
        CLACT_ACC(vfloat, s, k, t);
    }
    float ls[CLACT_VW], lk[CLACT_VW];
    CLACT_STORE(s, ls);
    CLACT_STORE(k, lk);
    float ts = 0.0f, tk = 0.0f, kk = 0.0f;
    for (uint j = 0; j < CLACT_VW; ++j) {
        CLACT_ACC(float, ts, tk, ls[j]);
        kk += lk[j];
    }
    for (; c < e; ++c) {
        float t = exp(sign * xr[c] - M);
        if (store)
            yr[c] = t;
        CLACT_ACC(float, ts, tk, t);
    }
    return (ts - 1.0f) + (tk + kk);
}

// Write a whole range: NaN rows, masked rows under the safe flag.
void clact_range_fill(__global float *yr, ulong b, ulong e, float v)
{
    for (ulong c = b; c < e; ++c)
        yr[c] = v;
}

__kernel void clact_softmax_rows(const ulong rows, const ulong C, __global const float *x,
                                 const ulong x_offset, __global float *y, const ulong y_offset,
                                 const int kind, const int safe)
{
    const ulong r = get_global_id(0);
    if (r >= rows)
        return;
    __global const float *xr = x + x_offset + r * C;
    __global float *yr = y + y_offset + r * C;
    const float sign = kind == 2 ? -1.0f : 1.0f;
    int bad;
    const float M = clact_range_max(xr, 0, C, sign, &bad);
    if (bad || M == -INFINITY) {
        // NaN or +inf anywhere, or every element -inf: NaN (PyTorch), or the safe values.
        clact_range_fill(yr, 0, C, !bad && safe ? (kind == 1 ? -INFINITY : 0.0f) : NAN);
        return;
    }
    const int store = kind != 1;
    const float S = clact_range_sum(xr, yr, 0, C, sign, M, store);
    ulong c = 0;
    if (store) {
        const float inv = 1.0f / (1.0f + S);
        for (; c + CLACT_VW <= C; c += CLACT_VW)
            CLACT_STORE(CLACT_LOAD(yr + c) * inv, yr + c);
        for (; c < C; ++c)
            yr[c] *= inv;
    } else {
        const float logs = log1p(S);
        for (; c + CLACT_VW <= C; c += CLACT_VW)
            CLACT_STORE((sign * CLACT_LOAD(xr + c) - M) - logs, yr + c);
        for (; c < C; ++c)
            yr[c] = (sign * xr[c] - M) - logs;
    }
}

// One work-group per row; the local size is a power of two, at most 256.
__kernel void clact_softmax_group(const ulong rows, const ulong C, __global const float *x,
                                  const ulong x_offset, __global float *y, const ulong y_offset,
                                  const int kind, const int safe)
{
    __local float lm[256], ls[256];
    __local int ln[256];
    const ulong r = get_group_id(0);
    const uint l = get_local_id(0), L = get_local_size(0);
    __global const float *xr = x + x_offset + r * C;
    __global float *yr = y + y_offset + r * C;
    const float sign = kind == 2 ? -1.0f : 1.0f;
    float m = -INFINITY, s = -1.0f, k = 0.0f;
    int nan = 0;
    for (ulong c = l; c < C; c += L)
        CLACT_SM_ADD(float, sign * xr[c], m, s, k, nan);
    lm[l] = m;
    ls[l] = s + k;
    ln[l] = nan;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint w = L / 2; w > 0; w /= 2) {
        if (l < w) {
            float mm = lm[l], ss = ls[l];
            CLACT_SM_MERGE(mm, ss, lm[l + w], ls[l + w]);
            lm[l] = mm;
            ls[l] = ss;
            ln[l] |= ln[l + w];
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    const float M = lm[0];
    const int any_nan = ln[0];
    const float S = any_nan ? NAN : ls[0];
    const int masked = M == -INFINITY && !any_nan;
    const float inv = 1.0f / (1.0f + S), logs = log1p(S);
    for (ulong c = l; c < C; c += L)
        yr[c] = clact_sm_out(sign * xr[c], M, inv, logs, kind, masked, safe);
}

__kernel void clact_softmax_strided(const ulong outer, const ulong C, const ulong inner,
                                    __global const float *x, const ulong x_offset,
                                    __global float *y, const ulong y_offset, const int kind,
                                    const int safe)
{
    const ulong g = get_global_id(0);
    if (g >= outer * inner)
        return;
    const ulong o = g / inner, i = g - o * inner;
    __global const float *xc = x + x_offset + o * C * inner + i;
    __global float *yc = y + y_offset + o * C * inner + i;
    const float sign = kind == 2 ? -1.0f : 1.0f;
    float m = -INFINITY, s = -1.0f, k = 0.0f;
    int nan = 0;
    for (ulong c = 0; c < C; ++c)
        CLACT_SM_ADD(float, sign * xc[c * inner], m, s, k, nan);
    const float S = nan ? NAN : s + k;
    const int masked = m == -INFINITY && !nan;
    const float inv = 1.0f / (1.0f + S), logs = log1p(S);
    for (ulong c = 0; c < C; ++c)
        yc[c * inner] = clact_sm_out(sign * xc[c * inner], m, inv, logs, kind, masked, safe);
}

// Long rows: work-item (r, j) reduces chunk j of row r into part[3 (r nchunks + j)] =
// (max, sum - 1, bad) and, for softmax and softmin, stores the chunk's exp(x - max) into y.
__kernel void clact_softmax_partial(const ulong rows, const ulong C, const ulong chunk,
                                    const ulong nchunks, __global const float *x,
                                    const ulong x_offset, __global float *y, const ulong y_offset,
                                    __global float *part, const int kind)
{
    const ulong g = get_global_id(0);
    if (g >= rows * nchunks)
        return;
    const ulong r = g / nchunks, j = g - r * nchunks;
    const ulong begin = j * chunk, end = min(C, begin + chunk);
    __global const float *xr = x + x_offset + r * C;
    __global float *yr = y + y_offset + r * C;
    const float sign = kind == 2 ? -1.0f : 1.0f;
    int bad;
    const float m = clact_range_max(xr, begin, end, sign, &bad);
    float s = -1.0f;
    if (bad) {
        s = NAN;
    } else if (m == -INFINITY) {
        if (kind != 1) // a fully masked chunk of a row that may not be: its outputs are 0
            clact_range_fill(yr, begin, end, 0.0f);
    } else {
        s = clact_range_sum(xr, yr, begin, end, sign, m, kind != 1);
    }
    part[3 * g] = m;
    part[3 * g + 1] = s;
    part[3 * g + 2] = bad ? 1.0f : 0.0f;
}

__kernel void clact_softmax_finish(const ulong rows, const ulong C, const ulong chunk,
                                   const ulong nchunks, __global const float *x,
                                   const ulong x_offset, __global float *y, const ulong y_offset,
                                   __global const float *part, const int kind, const int safe)
{
    const ulong g = get_global_id(0);
    if (g >= rows * nchunks)
        return;
    const ulong r = g / nchunks, j = g - r * nchunks;
    // Every work-item of a row combines the same partials in the same order: identical results.
    float M = -INFINITY, S = -1.0f;
    int bad = 0;
    for (ulong q = 0; q < nchunks; ++q) {
        __global const float *pq = part + 3 * (r * nchunks + q);
        bad |= pq[2] != 0.0f;
        if (pq[2] == 0.0f)
            CLACT_SM_MERGE(M, S, pq[0], pq[1]);
    }
    const ulong begin = j * chunk, end = min(C, begin + chunk);
    __global const float *xr = x + x_offset + r * C;
    __global float *yr = y + y_offset + r * C;
    if (bad || M == -INFINITY) {
        clact_range_fill(yr, begin, end, !bad && safe ? (kind == 1 ? -INFINITY : 0.0f) : NAN);
        return;
    }
    ulong c = begin;
    if (kind != 1) {
        const float mj = part[3 * g];
        // y holds exp(x - mj); the row's softmax is that times exp(mj - M) / sum.
        const float scale = (mj == -INFINITY ? 0.0f : exp(mj - M)) / (1.0f + S);
        for (; c + CLACT_VW <= end; c += CLACT_VW)
            CLACT_STORE(CLACT_LOAD(yr + c) * scale, yr + c);
        for (; c < end; ++c)
            yr[c] *= scale;
    } else {
        const float logs = log1p(S);
        for (; c + CLACT_VW <= end; c += CLACT_VW)
            CLACT_STORE((CLACT_LOAD(xr + c) - M) - logs, yr + c);
        for (; c < end; ++c)
            yr[c] = (xr[c] - M) - logs;
    }
}

// Backward. kind 0: dx = y (dy - S), S = sum dy y; kind 1: dx = dy - exp(y) S, S = sum dy;
// kind 2: dx = -y (dy - S). One work-item per column of (outer, C, inner); inner == 1 for rows.
__kernel void clact_softmax_backward(const ulong outer, const ulong C, const ulong inner,
                                     __global const float *y, const ulong y_offset,
                                     __global const float *dy, const ulong dy_offset,
                                     __global float *dx, const ulong dx_offset, const int kind)
{
    const ulong g = get_global_id(0);
    if (g >= outer * inner)
        return;
    const ulong o = g / inner, i = g - o * inner;
    const ulong base = o * C * inner + i;
    __global const float *yc = y + y_offset + base;
    __global const float *gc = dy + dy_offset + base;
    __global float *dc = dx + dx_offset + base;
    float s = 0.0f, k = 0.0f;
    for (ulong c = 0; c < C; ++c) {
        float term = kind == 1 ? gc[c * inner] : gc[c * inner] * yc[c * inner];
        CLACT_ACC(float, s, k, term);
    }
    const float S = s + k;
    for (ulong c = 0; c < C; ++c) {
        float yv = yc[c * inner], gv = gc[c * inner];
        float r = kind == 1 ? gv - exp(yv) * S : yv * (gv - S);
        dc[c * inner] = kind == 2 ? -r : r;
    }
}
