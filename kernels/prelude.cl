// SPDX-License-Identifier: MIT
// Shared definitions for every clact program. Pure OpenCL C 1.2; the host concatenates this
// file in front of a family's file and builds with:
//   -DCLACT_VW=<1|2|4|8|16>   elements per work-item (vector width)
//   -DCLACT_F32, -DCLACT_F16, -DCLACT_BF16 or -DCLACT_F64   the storage dtype; kernels compute
//                             in real: double for f64, float for the others
// Per-call values (sizes, offsets, parameters) are kernel arguments, never -D options.

// Contraction of a*b+c into fma would make results depend on the compiler's whim; where a
// kernel wants an fma it says fma().
#pragma OPENCL FP_CONTRACT OFF

#ifndef CLACT_VW
#error "clact kernels need -DCLACT_VW"
#endif

#define CLACT_CAT_(a, b) a##b
#define CLACT_CAT(a, b) CLACT_CAT_(a, b)
// Whether global pointer p is aligned to a T (a vector type: sizeof is a power of two).
#define CLACT_VALIGNED(p, T) (((size_t)(p) & (sizeof(T) - 1)) == 0)

#if CLACT_VW == 1
typedef float vfloat;
typedef int vint;
#define CLACT_LOAD(p) (*(p))
#define CLACT_STORE(v, p) (*(p) = (v))
#elif CLACT_VW == 2 || CLACT_VW == 4 || CLACT_VW == 8 || CLACT_VW == 16
typedef CLACT_CAT(float, CLACT_VW) vfloat;
typedef CLACT_CAT(int, CLACT_VW) vint;
#define CLACT_LOAD(p) CLACT_CAT(vload, CLACT_VW)(0, p)
#define CLACT_STORE(v, p) CLACT_CAT(vstore, CLACT_VW)(v, 0, p)
#else
#error "CLACT_VW must be 1, 2, 4, 8 or 16"
#endif

// The compute type: real (scalar), vreal (CLACT_VW of them) and vmask (what comparing two
// vreals gives, and what select() wants with them; rmask is its element type). float for f32,
// f16 and bf16 (SEMANTICS.md line 4), double for f64. Float literals such as 1.0f in shared code are exact in double too;
// constants that are not exact in float live in the dtype's own functions.
#if defined(CLACT_F64)
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
typedef double real;
typedef long rmask;
#if CLACT_VW == 1
typedef double vreal;
typedef long vmask;
#else
typedef CLACT_CAT(double, CLACT_VW) vreal;
typedef CLACT_CAT(long, CLACT_VW) vmask;
#endif
#else
typedef float real;
typedef int rmask;
typedef vfloat vreal;
typedef vint vmask;
#endif

// Whether any lane of a comparison holds: any() tests the sign bit, which a vector comparison sets
// (-1) and a scalar one does not (it gives 1).
// CLACT_ALL: whether every lane holds, the same way.
#if CLACT_VW == 1
#define CLACT_ANY(c) (c)
#define CLACT_ALL(c) (c)
#else
#define CLACT_ANY(c) any(c)
#define CLACT_ALL(c) all(c)
#endif

// select(a, b, c) with c from comparing vreals: in double at CLACT_VW 1 that comparison gives an
// int, which OpenCL's scalar select(double, double, long) does not take; elsewhere the types
// already agree.
#if CLACT_VW == 1 && defined(CLACT_F64)
#define CLACT_SEL(a, b, c) select((a), (b), (long)(c))
#else
#define CLACT_SEL(a, b, c) select((a), (b), (c))
#endif

// Storage: CLACT_STYPE is the element type in global memory; CLACT_SLOAD / CLACT_SSTORE move
// CLACT_VW elements between it and a vfloat, CLACT_SLOAD1 / CLACT_SSTORE1 one element. f16 and
// bf16 are storage formats only (SEMANTICS.md line 4): loaded exactly into float, stored rounded
// to nearest even. Both are kept as ushort in memory. bf16 converts with integer operations; f16
// with core OpenCL's vload_half / vstore_half by default, and with integer operations under
// -DCLACT_HALF_SOFTWARE (some toolchains, clang with -fdeclare-opencl-builtins, LLVM issue 55275,
// declare those functions only with cl_khr_fp16).
#if defined(CLACT_F16) || defined(CLACT_BF16)
#define CLACT_STYPE ushort
#if CLACT_VW == 1
typedef uint vuint;
typedef ushort vushort;
#define CLACT_VSUF(name) name
#define CLACT_VLOAD_U16(p) (*(p))
#define CLACT_VSTORE_U16(v, p) (*(p) = (v))
#else
typedef CLACT_CAT(uint, CLACT_VW) vuint;
typedef CLACT_CAT(ushort, CLACT_VW) vushort;
#define CLACT_VSUF(name) CLACT_CAT(name, CLACT_VW)
#define CLACT_VLOAD_U16(p) CLACT_CAT(vload, CLACT_VW)(0, p)
#define CLACT_VSTORE_U16(v, p) CLACT_CAT(vstore, CLACT_VW)(v, 0, p)
#endif
#define CLACT_U16_TO_UINT(v) CLACT_VSUF(convert_uint)(v)
#define CLACT_UINT_TO_U16(v) CLACT_VSUF(convert_ushort)(v)
#define CLACT_AS_FLOAT(v) CLACT_VSUF(as_float)(v)
#define CLACT_AS_UINT(v) CLACT_VSUF(as_uint)(v)
// Stores CLACT_VW 16-bit values, held in the low halves of r's uint lanes, at p. PoCL 3.1 (LLVM
// 15) turns vstoreN of a ushortN into N scalar 16-bit stores, each after an extract: 16 stores
// and about 36 instructions per 16 elements on AVX-512, more than the conversion itself (relu
// in f16 ran at 0.25-0.5 of the copy yardstick). The same bytes reinterpreted as uints
// (as_uintN: the same bits, so the same bytes in memory on any device) become one vector
// store. A uint store needs p 4-byte aligned; p is y + offset + a multiple of CLACT_VW, so every
// work-item of a call takes the same side of the test, and only an odd element offset takes
// the ushort stores.
#if CLACT_VW == 1
#define CLACT_VSTORE_U16_BITS(r, p) (*(p) = (ushort)(r))
#else
#if CLACT_VW == 2
#define CLACT_VSTORE_U16_AS_U32(v, p) (*(__global uint *)(p) = as_uint(v))
#elif CLACT_VW == 4
#define CLACT_VSTORE_U16_AS_U32(v, p) vstore2(as_uint2(v), 0, (__global uint *)(p))
#elif CLACT_VW == 8
#define CLACT_VSTORE_U16_AS_U32(v, p) vstore4(as_uint4(v), 0, (__global uint *)(p))
#else
#define CLACT_VSTORE_U16_AS_U32(v, p) vstore8(as_uint8(v), 0, (__global uint *)(p))
#endif
// GPUs (CLACT_VECTOR_ACCESS, which the host defines for every device but CPUs): vloadN and
// vstoreN may assume only the element's alignment, so a GPU compiler can make N narrow accesses
// of them; where p is aligned to the whole vector (an element offset that is a multiple of
// CLACT_VW: every call's usual case) the vector type itself is loaded and stored, one access
// (CLACT_VALIGNED). Same bytes whichever way. On an H200 this took f64 relu from 0.62 to 0.97
// of copy; 16-bit types did not move (0.44: their integer conversions bound them there).
void clact_vstore_u16_bits(vuint r, __global ushort *p)
{
    vushort v = CLACT_UINT_TO_U16(r);
#if defined(CLACT_VECTOR_ACCESS)
    if (CLACT_VALIGNED(p, vushort))
        *(__global vushort *)p = v;
    else
#endif
    if (((size_t)p & 3) == 0)
        CLACT_VSTORE_U16_AS_U32(v, p);
    else
        CLACT_VSTORE_U16(v, p);
}
#define CLACT_VSTORE_U16_BITS(r, p) clact_vstore_u16_bits(r, p)
#if defined(CLACT_VECTOR_ACCESS)
vushort clact_vload_u16(__global const ushort *p)
{
    return CLACT_VALIGNED(p, vushort) ? *(__global const vushort *)p : CLACT_VLOAD_U16(p);
}
#undef CLACT_VLOAD_U16
#define CLACT_VLOAD_U16(p) clact_vload_u16(p)
#endif
#endif
#endif

#if defined(CLACT_F16)
// Exact: normal halves rebias their exponent, subnormals are m * 2^-24, inf and NaN keep m.
#define CLACT_DEFINE_HALF_TO_FLOAT(name, F, U, U16)                                          \
    F name(U16 h)                                                                            \
    {                                                                                        \
        U u = CLACT_CVT_U(h);                                                                \
        U sign = (u & 0x8000) << 16, e = (u >> 10) & 0x1f, m = u & 0x3ff;                    \
        U normal = sign | ((e + 112) << 23) | (m << 13);                                     \
        U special = sign | 0x7f800000 | (m << 13);                                           \
        F sub = copysign(CLACT_CVT_F(m) * 5.9604644775390625e-08f, CLACT_ASF(sign | 0x3f800000)); \
        F r = CLACT_ASF(select(normal, special, e == 31));                                   \
        return select(r, sub, e == 0);                                                       \
    }
// Round to nearest even: normal range by integer rounding of the mantissa, the subnormal range
// by the FPU (adding 0.5 puts 2^-24 at the last place), overflow at 65520, NaN quieted.
#define CLACT_DEFINE_FLOAT_TO_HALF(name, F, U, U16)                                          \
    U16 name(F f) { return CLACT_CVT_U16(CLACT_CAT(name, _bits)(f)); }
#define CLACT_DEFINE_FLOAT_TO_HALF_BITS(name, F, U)                                          \
    U CLACT_CAT(name, _bits)(F f)                                                            \
    {                                                                                        \
        U x = CLACT_ASU(f);                                                                  \
        U sign = (x >> 16) & 0x8000, ax = x & 0x7fffffff;                                    \
        U normal = (ax - 0x38000000 + 0xfff + ((ax >> 13) & 1)) >> 13;                       \
        U sub = CLACT_ASU(CLACT_ASF(ax) + 0.5f) - 0x3f000000;                                \
        U r = select(normal, sub, ax < 0x38800000);                                          \
        r = select(r, (U)(0x7c00), ax >= 0x477ff000);                                        \
        r = select(r, (U)(0x7e00), ax > 0x7f800000);                                         \
        return r | sign;                                                                     \
    }
#define CLACT_CVT_U(v) convert_uint(v)
#define CLACT_CVT_F(v) convert_float(v)
#define CLACT_ASF(v) as_float(v)
#define CLACT_ASU(v) as_uint(v)
#define CLACT_CVT_U16(v) convert_ushort(v)
CLACT_DEFINE_HALF_TO_FLOAT(clact_half_to_float, float, uint, ushort)
CLACT_DEFINE_FLOAT_TO_HALF_BITS(clact_float_to_half, float, uint)
CLACT_DEFINE_FLOAT_TO_HALF(clact_float_to_half, float, uint, ushort)
#if CLACT_VW > 1
#undef CLACT_CVT_U
#undef CLACT_CVT_F
#undef CLACT_ASF
#undef CLACT_ASU
#undef CLACT_CVT_U16
#define CLACT_CVT_U(v) CLACT_VSUF(convert_uint)(v)
#define CLACT_CVT_F(v) CLACT_VSUF(convert_float)(v)
#define CLACT_ASF(v) CLACT_VSUF(as_float)(v)
#define CLACT_ASU(v) CLACT_VSUF(as_uint)(v)
#define CLACT_CVT_U16(v) CLACT_VSUF(convert_ushort)(v)
CLACT_DEFINE_HALF_TO_FLOAT(clact_half_to_vfloat, vfloat, vuint, vushort)
CLACT_DEFINE_FLOAT_TO_HALF_BITS(clact_vfloat_to_half, vfloat, vuint)
#else
#define clact_half_to_vfloat clact_half_to_float
#define clact_vfloat_to_half_bits clact_float_to_half_bits
#endif
#if defined(CLACT_HALF_SOFTWARE)
#define CLACT_SLOAD1(p) clact_half_to_float(*(p))
#define CLACT_SSTORE1(v, p) (*(p) = clact_float_to_half(v))
#define CLACT_SLOAD(p) clact_half_to_vfloat(CLACT_VLOAD_U16(p))
#define CLACT_SSTORE(v, p) CLACT_VSTORE_U16_BITS(clact_vfloat_to_half_bits(v), p)
#else
// The default: vector loads by core OpenCL 1.2's vload_halfN where the address is aligned to the
// whole vector (an element offset that is a multiple of CLACT_VW: the usual case), the integer
// path elsewhere and for single elements; vector stores by vstore_halfN_rte with NaN made
// canonical (below), single elements by the integer path. vload_half and vstore_half need no
// cl_khr_fp16 (half is allowed as a pointer type only), and a device can do them in hardware
// (PoCL 3.1 with F16C: two vcvtph2ps, two vcvtps2ph per 16 elements). The sign is taken from the
// bits: PoCL 3.1's vload_half4 turns -0 into +0; and its vload_half8 faults on addresses not
// aligned to the vector (as its vstore_half8_rte does: the stores go to an aligned private
// vector), hence the alignment test (tests/f16_paths.py found both). Measured on one core
// (2026-11-28, PoCL 3.1, 16M elements, fraction of the 16-bit copy), integer loads -> vload_half:
// relu 0.64 -> 0.79, relu's backward 0.65 -> 0.93, sigmoid 0.36 -> 0.41, gelu 0.21 -> 0.25,
// softmax rows of 4096 0.22 -> 0.30. Then on two cores, integer stores -> vstore_half (rounds 2
// and 3 of three interleaved): relu 0.76/0.77 -> 0.84/0.83, relu's backward 0.91/0.92 ->
// 0.95/0.95, sigmoid 0.43/0.42 -> 0.47/0.47, gelu 0.28/0.27 -> 0.30/0.28, tanh 0.42/0.42 ->
// 0.47/0.46, silu 0.40/0.40 -> 0.45/0.44, elu 0.52/0.52 -> 0.59/0.59, softmax rows of 4096
// 0.29/0.29 -> 0.32/0.31. (Keeping the integer store only for vectors holding a NaN,
// any(isnan(v)), had been slower than the integer path alone: the select below costs four
// instructions.) -DCLACT_HALF_SOFTWARE keeps the integer path everywhere (tests/f16_paths.py
// runs both, bit for bit), for a toolchain that declares vload_half only with cl_khr_fp16
// (host/program.c then builds again with it).
#if defined(CLACT_TEST_NO_VLOAD_HALF)
// tests/f16_paths.py: what a toolchain without vload_half does here (the host builds again with
// -DCLACT_HALF_SOFTWARE).
#error "vload_half is not declared (CLACT_TEST_NO_VLOAD_HALF)"
#endif
#define CLACT_SLOAD1(p) clact_half_to_float(*(p))
#define CLACT_SSTORE1(v, p) (*(p) = clact_float_to_half(v))
#if CLACT_VW == 1
#define CLACT_SLOAD(p) CLACT_SLOAD1(p)
#else
vfloat clact_f16_load(__global const ushort *p)
{
    vushort u = CLACT_VLOAD_U16(p);
    if (!CLACT_VALIGNED(p, vushort))
        return clact_half_to_vfloat(u);
    vfloat v = CLACT_VSUF(vload_half)(0, (__global const half *)p);
    return copysign(v, CLACT_AS_FLOAT((CLACT_U16_TO_UINT(u) & 0x8000) << 16));
}
#define CLACT_SLOAD(p) clact_f16_load(p)
#endif
#if CLACT_VW == 1
#define CLACT_SSTORE(v, p) CLACT_VSTORE_U16_BITS(clact_vfloat_to_half_bits(v), p)
#else
// Stores: vstore_halfN_rte (rounding to nearest even whatever the device's default mode, core
// OpenCL 1.2) into a private vector, whose bits then go out by the 16-bit store path; a NaN
// becomes 0x7e00 with the float's sign, as the integer path and PyTorch's CPU conversion give,
// where a device's conversion keeps the NaN's payload (F16C's vcvtps2ph: a NaN with every
// payload bit set comes out 0x7fff) or gives one NaN for all (NVIDIA: 0x7fff, sign dropped).
// PoCL 3.1 keeps the private vector in registers: two vcvtps2ph and six integer instructions
// (the NaN test and select, the sign) per 16 elements, against about 20 for the integer path.
vuint clact_vfloat_to_half_hw(vfloat v)
{
    __private vushort b;
    CLACT_CAT(CLACT_VSUF(vstore_half), _rte)(v, 0, (__private half *)&b);
    vushort q = CLACT_UINT_TO_U16((CLACT_AS_UINT(v) >> 16) & 0x8000) | (ushort)0x7e00;
    return CLACT_U16_TO_UINT(select(b, q, (b & (ushort)0x7fff) > (ushort)0x7c00));
}
#define CLACT_SSTORE(v, p) CLACT_VSTORE_U16_BITS(clact_vfloat_to_half_hw(v), p)
#endif
#endif
#elif defined(CLACT_BF16)
float clact_bf16_to_float(ushort u) { return as_float((uint)u << 16); }
// Round to nearest even on the upper 16 bits; NaN stays NaN (quieted), inf stays inf.
ushort clact_float_to_bf16(float f)
{
    uint u = as_uint(f);
    if (isnan(f))
        return (ushort)((u >> 16) | 0x40);
    return (ushort)((u + 0x7fff + ((u >> 16) & 1)) >> 16);
}
vfloat clact_bf16_load(__global const ushort *p)
{
    return CLACT_AS_FLOAT(CLACT_U16_TO_UINT(CLACT_VLOAD_U16(p)) << 16);
}
void clact_bf16_store(vfloat v, __global ushort *p)
{
    vuint u = CLACT_AS_UINT(v);
    vuint r = (u + 0x7fff + ((u >> 16) & 1)) >> 16;
    r = select(r, (u >> 16) | 0x40, CLACT_AS_UINT(isnan(v)));
    CLACT_VSTORE_U16_BITS(r, p);
}
#define CLACT_SLOAD1(p) clact_bf16_to_float(*(p))
#define CLACT_SSTORE1(v, p) (*(p) = clact_float_to_bf16(v))
#define CLACT_SLOAD(p) clact_bf16_load(p)
#define CLACT_SSTORE(v, p) clact_bf16_store(v, p)
#else
#if defined(CLACT_F64)
#define CLACT_STYPE double
#else
#define CLACT_STYPE float
#endif
#define CLACT_SLOAD1(p) (*(p))
#define CLACT_SSTORE1(v, p) (*(p) = (v))
#if CLACT_VW == 1 || !defined(CLACT_VECTOR_ACCESS)
#define CLACT_SLOAD(p) CLACT_LOAD(p)
#define CLACT_SSTORE(v, p) CLACT_STORE(v, p)
#else
// One vector access where p is aligned to the vector (as for the 16-bit types above).
vreal clact_sload(__global const real *p)
{
    return CLACT_VALIGNED(p, vreal) ? *(__global const vreal *)p : CLACT_LOAD(p);
}
void clact_sstore(vreal v, __global real *p)
{
    if (CLACT_VALIGNED(p, vreal))
        *(__global vreal *)p = v;
    else
        CLACT_STORE(v, p);
}
#define CLACT_SLOAD(p) clact_sload(p)
#define CLACT_SSTORE(v, p) clact_sstore(v, p)
#endif
#endif

// Compensated accumulation: add y to the sum s + c (c holds what rounding lost), with Knuth's
// TwoSum, whose error term is exact whatever the relative sizes of s and y (Kahan's shortcut
// is not when a term outweighs the running sum, as the first 1 = exp(0) of a softmax row does).
#define CLACT_ACC(T, s, c, y)                                                                \
    do {                                                                                     \
        T y__ = (y);                                                                         \
        T t__ = s + y__;                                                                     \
        T b__ = t__ - s;                                                                     \
        c += (s - (t__ - b__)) + (y__ - b__);                                                \
        s = t__;                                                                             \
    } while (0)

// exp(a) for a <= 0 (and NaN): softmax's v - max(v), and every activation's exp(-|.|) (mish's
// exp(x/2) too, used only for x <= 20). OpenCL's exp must serve all of float's range; PoCL's
// costs ~25 instructions per vector, this 15.
// Cody-Waite: k = round(a log2(e)) through the 1.5 * 2^23 shifter, which also leaves k in t's
// low mantissa bits; r = a - k ln2 with ln2 in two parts (k ln2_hi exact: 15 + 8 bits);
// exp(r) = 1 + r + r^2 P(r) on |r| <= ln2 / 2 with P of degree 4 (our own fit, 3.8e-9
// relative); then 2^k as 2^(k + 64) 2^-64 so that subnormal results (a < -87.3) are built by a
// single rounding multiply instead of being flushed. Measured over every float in [-132.5, 0]:
// within 1.01 ulp of exp in double. a is first raised to -132.5, where k = -191 makes 2^(k + 64)
// exactly 0 (the shifted integer fills neither the exponent nor the sign): so -inf and every
// a below gives exactly 0, and exp(a) < 2^-150 for a in [-132.5, -104] rounds to 0 as it
// should. NaN stays NaN through r. Also right up to a = 43.6 (k + 191 <= 254); beyond that the
// result is garbage, which callers must select away. f64 uses the built-in.
// clact_exp_neg_2p64 is 2^64 exp(a), without the last multiply: normal floats down to
// a = -131.7 (2^-126), below that 0 or a subnormal. Softmax keeps its exps in that scale, and
// takes P of degree 3 (our fit, 1.06e-7 relative with float coefficients): within 2.5 ulp over
// every float in [-132, 0] (measured 2.3), against 4e-6 for softmax's output, and one FMA and
// one constant fewer per vector in its hot loop (51 instructions per 16 elements against 54 on
// AVX2; kernel instructions per element on rows of 1000 4.63 -> 4.45).
#if defined(CLACT_F64)
#define clact_exp_neg(a) exp(a)
#define clact_exp_neg1(a) exp(a)
#else
#define CLACT_UNSCALE_2P64(v) ((v) * 0x1p-64f)
#define CLACT_KEEP_2P64(v) (v)
#define CLACT_DEFINE_EXP_NEG(name, F, ASF, ASI, SCALE, POLY)                                 \
    F name(F a)                                                                              \
    {                                                                                        \
        const float sh = 0x1.8p23f + 191.0f; /* the shifter, plus the exponent bias + 64 */  \
        a = select(a, (F)(-132.5f), a < -132.5f); /* a max that lets NaN through */          \
        F t = fma(a, (F)(0x1.715476p+0f), (F)(sh));                                          \
        F k = t - sh;                                                                        \
        F r = fma(k, (F)(-0x1.62e4p-1f), a);                                                 \
        r = fma(k, (F)(-0x1.7f7d1cp-20f), r);                                                \
        F p = fma(r * r, POLY(F, r), r);                                                     \
        F s = ASF(ASI(t) << 23); /* 2^(k + 64): 191 + k in [0, 191] fills the exponent */    \
        return SCALE(fma(p, s, s)); /* s (1 + p) in one rounding: s is a power of 2 */       \
    }
// P(r) of degree 4 (3.8e-9 relative), and of degree 3 for softmax (1.06e-7; fits in its 4e-6).
#define CLACT_EXP_P4(F, r)                                                                   \
    fma(fma(fma(fma(r, (F)(0x1.6a244cp-10f), (F)(0x1.1239d4p-7f)), r, (F)(0x1.5558f2p-5f)), r, \
            (F)(0x1.555492p-3f)),                                                            \
        r, (F)(0x1.fffffcp-2f))
#define CLACT_EXP_P3(F, r)                                                                   \
    fma(fma(fma(r, (F)(0x1.10625p-7f), (F)(0x1.572a64p-5f)), r, (F)(0x1.5557bp-3f)), r,      \
        (F)(0x1.fffdfcp-2f))
CLACT_DEFINE_EXP_NEG(clact_exp_neg1, float, as_float, as_int, CLACT_UNSCALE_2P64, CLACT_EXP_P4)
CLACT_DEFINE_EXP_NEG(clact_exp_neg1_2p64, float, as_float, as_int, CLACT_KEEP_2P64, CLACT_EXP_P3)
#if CLACT_VW > 1
CLACT_DEFINE_EXP_NEG(clact_exp_neg, vfloat, CLACT_CAT(as_float, CLACT_VW), CLACT_CAT(as_int, CLACT_VW),
                     CLACT_UNSCALE_2P64, CLACT_EXP_P4)
CLACT_DEFINE_EXP_NEG(clact_exp_neg_2p64, vfloat, CLACT_CAT(as_float, CLACT_VW),
                     CLACT_CAT(as_int, CLACT_VW), CLACT_KEEP_2P64, CLACT_EXP_P3)
#else
#define clact_exp_neg clact_exp_neg1
#define clact_exp_neg_2p64 clact_exp_neg1_2p64
#endif
#endif
