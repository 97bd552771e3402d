// SPDX-License-Identifier: MIT
// RReLU in training mode (built in the activation program, after activation_backward.cl): element
// i of a call has the slope r_i = lower + (upper - lower) u_i, u_i uniform in [0, 1) from
// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11) with key
// seed and counter (i, 0): a counter-based generator, so the backward draws the same r_i again
// instead of reading a saved noise tensor, and any work-item layout gives the same numbers.
// f32, f16, bf16: u = (w0 >> 8) 2^-24; f64: u = ((w0 << 32 | w1) >> 11) 2^-53; r = fma(u, upper -
// lower, lower) in the compute type (the CPU reference draws the same r_i bit for bit).
//   clact_rrelu_train(n, x, xo, y, yo, lower, upper, seed): y = x <= 0 ? x r_i : x (NaN: x);
//   clact_rrelu_train_bwd_{x,y}(n, s, so, dy, dyo, dx, dxo, lower, upper, seed):
//     dx = dy * (s <= 0 ? r_i : 1), PyTorch's noise * dy.
// One work-item per CLACT_VW consecutive elements, one Philox call per element.

uint4 clact_philox4x32_10(uint4 c, uint2 k)
{
    for (int r = 0; r < 10; ++r) {
        if (r) {
            k.x += 0x9E3779B9u;
            k.y += 0xBB67AE85u;
        }
        const uint lo0 = 0xD2511F53u * c.x, hi0 = mul_hi(0xD2511F53u, c.x);
        const uint lo1 = 0xCD9E8D57u * c.z, hi1 = mul_hi(0xCD9E8D57u, c.z);
        c = (uint4)(hi1 ^ c.y ^ k.x, lo1, hi0 ^ c.w ^ k.y, lo0);
    }
    return c;
}

real clact_rrelu_slope(ulong i, ulong seed, real lower, real upper)
{
    const uint4 w = clact_philox4x32_10((uint4)((uint)i, (uint)(i >> 32), 0u, 0u),
                                        (uint2)((uint)seed, (uint)(seed >> 32)));
#if defined(CLACT_F64)
    const real u = (real)((((ulong)w.x << 32) | w.y) >> 11) * 0x1p-53;
#else
    const real u = (real)(w.x >> 8) * 0x1p-24f;
#endif
    return fma(u, upper - lower, lower);
}

__kernel void clact_rrelu_train(const ulong n, __global const CLACT_STYPE *x, const ulong x_offset,
                                __global CLACT_STYPE *y, const ulong y_offset, const real lower,
                                const real upper, const ulong seed)
{
    const ulong i0 = (ulong)get_global_id(0) * CLACT_VW;
    for (uint k = 0; k < CLACT_VW && i0 + k < n; ++k) {
        const ulong i = i0 + k;
        const real v = CLACT_SLOAD1(x + x_offset + i);
        const real out = v <= 0.0f ? v * clact_rrelu_slope(i, seed, lower, upper) : v;
        CLACT_SSTORE1(out, y + y_offset + i);
    }
}

#define CLACT_RRELU_TRAIN_BWD(from)                                                          \
    __kernel void clact_rrelu_train_bwd_##from(                                              \
        const ulong n, __global const CLACT_STYPE *s, const ulong s_offset,                  \
        __global const CLACT_STYPE *dy, const ulong dy_offset, __global CLACT_STYPE *dx,     \
        const ulong dx_offset, const real lower, const real upper, const ulong seed)         \
    {                                                                                        \
        const ulong i0 = (ulong)get_global_id(0) * CLACT_VW;                                 \
        for (uint k = 0; k < CLACT_VW && i0 + k < n; ++k) {                                  \
            const ulong i = i0 + k;                                                          \
            const real v = CLACT_SLOAD1(s + s_offset + i);                                   \
            const real g = CLACT_SLOAD1(dy + dy_offset + i);                                 \
            const real f = v <= 0.0f ? clact_rrelu_slope(i, seed, lower, upper) : 1.0f;       \
            CLACT_SSTORE1(g * f, dx + dx_offset + i);                                        \
        }                                                                                    \
    }

CLACT_RRELU_TRAIN_BWD(x)
CLACT_RRELU_TRAIN_BWD(y)
