// SPDX-License-Identifier: MIT
// The softmax family (kind 0 softmax, 1 log_softmax, 2 softmin = softmax of -x), forward and
// backward, over one dimension of a C-order tensor seen as (outer, C, inner):
//   clact_softmax_rows      inner == 1, one work-item per row, CLACT_VW-wide vectors along it
//                           (CPU devices: a work-item is a core's SIMD unit);
//   clact_softmax_group     inner == 1, one work-group per row (GPUs);
//   clact_softmax_strided   inner > 1, one work-item per column (o, i); neighbouring work-items
//                           read neighbouring addresses, so no transposing copy is needed;
//   clact_softmax_partial + clact_softmax_finish
//                           long rows split into chunks: the first writes each chunk's (max,
//                           sum), the second combines a row's partials and writes its chunk;
//                           no host round trip in between.
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
    vfloat m = (vfloat)(-INFINITY), s = (vfloat)(-1.0f), k = (vfloat)(0.0f);
    vint nan = (vint)(0);
    ulong c = 0;
    for (; c + CLACT_VW <= C; c += CLACT_VW)
        CLACT_SM_ADD(vfloat, sign * CLACT_LOAD(xr + c), m, s, k, nan);
    float tail[CLACT_VW];
    for (uint j = 0; j < CLACT_VW; ++j)
        tail[j] = c + j < C ? sign * xr[c + j] : -INFINITY;
    CLACT_SM_ADD(vfloat, CLACT_LOAD(tail), m, s, k, nan);

    float lm[CLACT_VW], ls[CLACT_VW], lk[CLACT_VW];
    CLACT_STORE(m, lm);
    CLACT_STORE(s, ls);
    CLACT_STORE(k, lk);
    int any_nan = 0;
#if CLACT_VW == 1
    any_nan = nan != 0;
#else
    any_nan = any(nan);
#endif
    float M = -INFINITY, S = -1.0f;
    for (uint j = 0; j < CLACT_VW; ++j)
        CLACT_SM_MERGE(M, S, lm[j], ls[j] - lk[j]);
    if (any_nan)
        S = NAN;
    const int masked = M == -INFINITY && !any_nan;
    const float inv = 1.0f / (1.0f + S), logs = log1p(S);
    if (masked && safe) {
        for (ulong i = 0; i < C; ++i)
            yr[i] = kind == 1 ? -INFINITY : 0.0f;
        return;
    }
    c = 0;
    for (; c + CLACT_VW <= C; c += CLACT_VW)
        CLACT_STORE(clact_sm_out_v(sign * CLACT_LOAD(xr + c), M, inv, logs, kind), yr + c);
    for (; c < C; ++c)
        yr[c] = clact_sm_out(sign * xr[c], M, inv, logs, kind, 0, 0);
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
    ls[l] = s - k;
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
    const float S = nan ? NAN : s - k;
    const int masked = m == -INFINITY && !nan;
    const float inv = 1.0f / (1.0f + S), logs = log1p(S);
    for (ulong c = 0; c < C; ++c)
        yc[c * inner] = clact_sm_out(sign * xc[c * inner], m, inv, logs, kind, masked, safe);
}

// Long rows: work-item (r, j) reduces chunk j of row r into part[2 (r nchunks + j)] = (m, s),
// with s NaN when the chunk holds a NaN.
__kernel void clact_softmax_partial(const ulong rows, const ulong C, const ulong chunk,
                                    const ulong nchunks, __global const float *x,
                                    const ulong x_offset, __global float *part, const int kind)
{
    const ulong g = get_global_id(0);
    if (g >= rows * nchunks)
        return;
    const ulong r = g / nchunks, j = g - r * nchunks;
    const ulong begin = j * chunk, end = min(C, begin + chunk);
    __global const float *xr = x + x_offset + r * C;
    const float sign = kind == 2 ? -1.0f : 1.0f;
    vfloat m = (vfloat)(-INFINITY), s = (vfloat)(-1.0f), k = (vfloat)(0.0f);
    vint nan = (vint)(0);
    ulong c = begin;
    for (; c + CLACT_VW <= end; c += CLACT_VW)
        CLACT_SM_ADD(vfloat, sign * CLACT_LOAD(xr + c), m, s, k, nan);
    float tail[CLACT_VW];
    for (uint t = 0; t < CLACT_VW; ++t)
        tail[t] = c + t < end ? sign * xr[c + t] : -INFINITY;
    CLACT_SM_ADD(vfloat, CLACT_LOAD(tail), m, s, k, nan);
    float lm[CLACT_VW], ls[CLACT_VW], lk[CLACT_VW];
    CLACT_STORE(m, lm);
    CLACT_STORE(s, ls);
    CLACT_STORE(k, lk);
#if CLACT_VW == 1
    int any_nan = nan != 0;
#else
    int any_nan = any(nan);
#endif
    float M = -INFINITY, S = -1.0f;
    for (uint t = 0; t < CLACT_VW; ++t)
        CLACT_SM_MERGE(M, S, lm[t], ls[t] - lk[t]);
    part[2 * g] = M;
    part[2 * g + 1] = any_nan ? NAN : S;
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
    int any_nan = 0;
    for (ulong q = 0; q < nchunks; ++q) {
        float pm = part[2 * (r * nchunks + q)], ps = part[2 * (r * nchunks + q) + 1];
        any_nan |= isnan(ps);
        if (!isnan(ps))
            CLACT_SM_MERGE(M, S, pm, ps);
    }
    if (any_nan)
        S = NAN;
    const int masked = M == -INFINITY && !any_nan;
    const float inv = 1.0f / (1.0f + S), logs = log1p(S);
    const ulong begin = j * chunk, end = min(C, begin + chunk);
    __global const float *xr = x + x_offset + r * C;
    __global float *yr = y + y_offset + r * C;
    const float sign = kind == 2 ? -1.0f : 1.0f;
    ulong c = begin;
    if (!(masked && safe))
        for (; c + CLACT_VW <= end; c += CLACT_VW)
            CLACT_STORE(clact_sm_out_v(sign * CLACT_LOAD(xr + c), M, inv, logs, kind), yr + c);
    for (; c < end; ++c)
        yr[c] = clact_sm_out(sign * xr[c], M, inv, logs, kind, masked, safe);
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
        float yk = term - k, t = s + yk;
        k = (t - s) - yk;
        s = t;
    }
    const float S = s - k;
    for (ulong c = 0; c < C; ++c) {
        float yv = yc[c * inner], gv = gc[c * inner];
        float r = kind == 1 ? gv - exp(yv) * S : yv * (gv - S);
        dc[c * inner] = kind == 2 ? -r : r;
    }
}
