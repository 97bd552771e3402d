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
// One work-item per CLACT_VW consecutive elements, one Philox call per element, CLACT_VW at once.

// One Philox4x32-10 per lane: lanes (c0, c1, 0, 0) with key (k0, k1); words 0 and 1 of the result.
// CLACT_VW lanes at once, so a work-item's CLACT_VW elements draw together (the scalar loop this
// replaces ran at 0.012 Gelem/s on PoCL, 2% of a copy).
#if CLACT_VW == 1
typedef uint rr_u32;
typedef ulong rr_u64;
#define RR_LANES 0u
#define RR_CVT_REAL(v) ((real)(v))
#define RR_CVT_U64(v) ((ulong)(v))
#define RR_SEL(a, b, c) ((c) ? (b) : (a))
#else
typedef CLACT_CAT(uint, CLACT_VW) rr_u32;
typedef CLACT_CAT(ulong, CLACT_VW) rr_u64;
#if CLACT_VW == 2
#define RR_LANES ((rr_u32)(0u, 1u))
#elif CLACT_VW == 4
#define RR_LANES ((rr_u32)(0u, 1u, 2u, 3u))
#elif CLACT_VW == 8
#define RR_LANES ((rr_u32)(0u, 1u, 2u, 3u, 4u, 5u, 6u, 7u))
#else
#define RR_LANES ((rr_u32)(0u, 1u, 2u, 3u, 4u, 5u, 6u, 7u, 8u, 9u, 10u, 11u, 12u, 13u, 14u, 15u))
#endif
#if defined(CLACT_F64)
#define RR_CVT_REAL(v) CLACT_CAT(convert_double, CLACT_VW)(v)
#else
#define RR_CVT_REAL(v) CLACT_CAT(convert_float, CLACT_VW)(v)
#endif
#define RR_CVT_U64(v) CLACT_CAT(convert_ulong, CLACT_VW)(v)
#define RR_SEL(a, b, c) select((a), (b), (c))
#endif

void clact_philox4x32_10(rr_u32 *w0, rr_u32 *w1, rr_u32 c0, rr_u32 c1, uint k0, uint k1)
{
    rr_u32 c2 = (rr_u32)(0u), c3 = (rr_u32)(0u);
    for (int r = 0; r < 10; ++r) {
        if (r) {
            k0 += 0x9E3779B9u;
            k1 += 0xBB67AE85u;
        }
        const rr_u32 lo0 = (rr_u32)(0xD2511F53u) * c0, hi0 = mul_hi((rr_u32)(0xD2511F53u), c0);
        const rr_u32 lo1 = (rr_u32)(0xCD9E8D57u) * c2, hi1 = mul_hi((rr_u32)(0xCD9E8D57u), c2);
        c0 = hi1 ^ c1 ^ k0;
        c1 = lo1;
        c2 = hi0 ^ c3 ^ k1;
        c3 = lo0;
    }
    *w0 = c0;
    *w1 = c1;
}

// The slopes of elements i0 .. i0 + CLACT_VW - 1.
vreal clact_rrelu_slopes(ulong i0, ulong seed, real lower, real upper)
{
    const rr_u32 lo = (rr_u32)((uint)i0) + RR_LANES;
    // The counter's high word, with the carry where a lane's low word wrapped past 2^32.
    const rr_u32 hi = (rr_u32)((uint)(i0 >> 32)) + RR_SEL((rr_u32)(0u), (rr_u32)(1u), lo < (uint)i0);
    rr_u32 w0, w1;
    clact_philox4x32_10(&w0, &w1, lo, hi, (uint)seed, (uint)(seed >> 32));
#if defined(CLACT_F64)
    const vreal u = RR_CVT_REAL(((RR_CVT_U64(w0) << 32) | RR_CVT_U64(w1)) >> 11) * 0x1p-53;
#else
    const vreal u = RR_CVT_REAL(w0 >> 8) * 0x1p-24f;
#endif
    return fma(u, (vreal)(upper - lower), (vreal)(lower));
}

// dst = fn(the CLACT_VW elements at a (and b), their slopes), the tail through private buffers.
#define RR_BODY(LOADS, EXPR, out)                                                             \
    const ulong i = (ulong)get_global_id(0) * CLACT_VW;                                       \
    if (i >= n)                                                                               \
        return;                                                                               \
    const vreal r = clact_rrelu_slopes(i, seed, lower, upper);                                \
    if (n - i >= CLACT_VW) {                                                                  \
        LOADS(CLACT_SLOAD, +i)                                                                \
        CLACT_SSTORE(EXPR, out + i);                                                          \
    } else {                                                                                  \
        const uint m = (uint)(n - i);                                                         \
        LOADS(RR_LOAD_TAIL, +i)                                                               \
        real t[CLACT_VW];                                                                     \
        CLACT_STORE(EXPR, t);                                                                 \
        for (uint k = 0; k < m; ++k)                                                          \
            CLACT_SSTORE1(t[k], out + i + k);                                                 \
    }

// CLACT_VW elements at p, those past the tail 0 (m in scope).
#define RR_LOAD_TAIL(p) rr_load_tail(p, m)
vreal rr_load_tail(__global const CLACT_STYPE *p, uint m)
{
    real t[CLACT_VW];
    for (uint k = 0; k < CLACT_VW; ++k)
        t[k] = k < m ? CLACT_SLOAD1(p + k) : 0.0f;
    return CLACT_LOAD(t);
}

#define RR_FWD_LOADS(LOAD, at) const vreal v = LOAD(xs at);
__kernel void clact_rrelu_train(const ulong n, __global const CLACT_STYPE *x, const ulong x_offset,
                                __global CLACT_STYPE *y, const ulong y_offset, const real lower,
                                const real upper, const ulong seed)
{
    __global const CLACT_STYPE *xs = x + x_offset;
    __global CLACT_STYPE *ys = y + y_offset;
    RR_BODY(RR_FWD_LOADS, CLACT_SEL(v, v * r, v <= 0.0f), ys)
}

#define RR_BWD_LOADS(LOAD, at)                                                                \
    const vreal v = LOAD(ss at);                                                              \
    const vreal g = LOAD(gs at);
#define CLACT_RRELU_TRAIN_BWD(from)                                                          \
    __kernel void clact_rrelu_train_bwd_##from(                                              \
        const ulong n, __global const CLACT_STYPE *s, const ulong s_offset,                  \
        __global const CLACT_STYPE *dy, const ulong dy_offset, __global CLACT_STYPE *dx,     \
        const ulong dx_offset, const real lower, const real upper, const ulong seed)         \
    {                                                                                        \
        __global const CLACT_STYPE *ss = s + s_offset, *gs = dy + dy_offset;                 \
        __global CLACT_STYPE *ds = dx + dx_offset;                                           \
        RR_BODY(RR_BWD_LOADS, g * CLACT_SEL((vreal)(1.0f), r, v <= 0.0f), ds)                \
    }

CLACT_RRELU_TRAIN_BWD(x)
CLACT_RRELU_TRAIN_BWD(y)
