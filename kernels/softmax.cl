// SPDX-License-Identifier: MIT
// The softmax family (kind 0 softmax, 1 log_softmax, 2 softmin = softmax of -x), forward and
// backward, over one dimension of a C-order tensor seen as (outer, C, inner):
//   clact_softmax_rows      inner == 1, one work-item per run of consecutive rows, CLACT_VW-wide
//                           vectors along them (CPU devices: a work-item is a core's SIMD unit).
//                           One sweep of each row from memory takes the statistics and the exps
//                           (log_softmax: x - max) and the next row's first max, a second one,
//                           from cache, scales (shifts) them (clact_sm_sweep below);
//   clact_softmax_group     inner == 1, one work-group per row (GPUs);
//   clact_softmax_strided   inner > 1, one work-item per column (o, i); neighbouring work-items
//                           read neighbouring addresses, so no transposing copy is needed;
//   clact_softmax_partial + clact_softmax_finish
//                           long rows split into chunks: the first sweeps each chunk, leaves
//                           its exps relative to the chunk's max in y and writes the chunk's
//                           (max, sum); the second combines a row's partials and scales its
//                           chunk; no host round trip in between.
//
// Where the row sweep keeps its exps (log_softmax: x - max) between the sweeps: in y itself for
// f32 and f64; for f16 and bf16, whose y would round them to the storage type (a second rounding,
// and exps below 6e-8 lost in f16), in a float row of local memory that the host sizes per
// work-item (clact_softmax_rows' ex). Without one (a row too long for the device's local
// memory, or the split path's statistics-only sweep) a 16-bit row takes its exps again from x in
// the second sweep: one exp more per element. On PoCL's CPU device, local memory is a per-thread
// arena that stays in cache: 16M f16 in rows of 4096 7.9 -> 4.9 ms, bf16 6.2 -> 4.1 ms, on two
// AVX-512 cores (bench/RESULTS.md, 2026-11-29).
// CLACT_ESPACE/CLACT_ETYPE name the store, CLACT_ELOAD/CLACT_ESTORE (and ...1) access it.
#if defined(CLACT_F32) || defined(CLACT_F64)
#define CLACT_SM_E_IS_Y 1
#define CLACT_ESPACE __global
#define CLACT_ETYPE CLACT_STYPE
#define CLACT_ELOAD(p) CLACT_SLOAD(p)
#define CLACT_ESTORE(v, p) CLACT_SSTORE(v, p)
#define CLACT_ELOAD1(p) CLACT_SLOAD1(p)
#define CLACT_ESTORE1(v, p) CLACT_SSTORE1(v, p)
#else
#define CLACT_SM_E_IS_Y 0
#define CLACT_ESPACE __local
#define CLACT_ETYPE float
#define CLACT_ELOAD(p) CLACT_LOAD(p)
#define CLACT_ESTORE(v, p) CLACT_STORE(v, p)
#define CLACT_ELOAD1(p) (*(p))
#define CLACT_ESTORE1(v, p) (*(p) = (v))
#endif

// f16 vector loads without the sign fix of prelude.cl's clact_f16_load (PoCL 3.1's vload_half4
// reads -0 as +0): the sign of a zero never reaches a softmax-family output (the max compares, and
// x - M is +0 for x == M in either sign), so these take vload_halfN alone: from memory where
// aligned, and from a private copy elsewhere (rows of 1000 start unaligned every other row),
// rather than the integer conversion. PoCL 3.1 at CLACT_VW 16: 5 instructions per aligned load
// against 7 (the sign fix's ushort load, sign extension and vpternlog), about 12 unaligned against
// about 20.
#if defined(CLACT_F16) && !defined(CLACT_HALF_SOFTWARE) && CLACT_VW > 1
vfloat clact_sm_f16_load(__global const ushort *p)
{
    if (CLACT_VALIGNED(p, vushort))
        return CLACT_VSUF(vload_half)(0, (__global const half *)p);
    __private vushort b = CLACT_VSUF(vload)(0, p);
    return CLACT_VSUF(vload_half)(0, (__private const half *)&b);
}
#undef CLACT_SLOAD
#define CLACT_SLOAD(p) clact_sm_f16_load(p)
// Stores of values that cannot be NaN (the scaling sweep's exps times a finite positive factor):
// vstore_halfN_rte without prelude.cl's NaN canonicalisation (the same bits for every other
// value), six integer instructions fewer per 16 elements there.
void clact_sm_f16_store_finite(vfloat v, __global ushort *p)
{
    __private vushort b;
    CLACT_CAT(CLACT_VSUF(vstore_half), _rte)(v, 0, (__private half *)&b);
    CLACT_VSTORE_U16_BITS(CLACT_U16_TO_UINT(b), p);
}
#define CLACT_SSTORE_FINITE(v, p) clact_sm_f16_store_finite(v, p)
#else
#define CLACT_SSTORE_FINITE(v, p) CLACT_SSTORE(v, p)
#endif

// The sweep's exps are on a scale where exp(0) is CLACT_SM_UNIT: 2^64 for float, whose exps
// then need no multiply to bring subnormal results in (clact_exp_neg_2p64, prelude.cl); 1 for
// double. Sums and stored exps stay on it until the scaling sweep.
#if defined(CLACT_F64)
#define clact_sm_exp(a) exp(a)
#define clact_sm_exp1(a) exp(a)
#define CLACT_SM_UNIT 1.0
#define CLACT_SM_TINY DBL_MIN
#else
#define clact_sm_exp(a) clact_exp_neg_2p64(a)
#define clact_sm_exp1(a) clact_exp_neg1_2p64(a)
#define CLACT_SM_UNIT 0x1p64f
#define CLACT_SM_TINY FLT_MIN
#endif

// One output value from the row's max m and 1/sum (inv) or log(sum) (logs).
real clact_sm_out(real t, real m, real inv, real logs, int kind, int masked, int safe)
{
    if (masked && safe)
        return kind == 1 ? -INFINITY : 0.0f;
    return kind == 1 ? (t - m) - logs : exp(t - m) * inv;
}

// ---------------------------------------------------------------------------------------------
// The row sweep (clact_softmax_rows, clact_softmax_partial).
//
// Why one sweep: on a CPU the exps, not memory, are most of the cost, and the textbook three
// sweeps (max; exps and sum; scaling) leave memory idle while the exps run from cache: 0.55-0.65
// of copy bandwidth measured. The online form (running max and sum per element) overlaps them
// but needs two exps per element. Here the row goes in blocks of CLACT_SM_B elements, and the
// running max moves per block: while the exps of block j are taken (relative to the max so far,
// blocks 0..j), block j + 1 is loaded for its max, so memory streams while exp computes. Each
// block's exps are stored in y relative to the max of its time, and the sum is kept per epoch
// (a run of blocks with one running max). Only the scaling sweep, from cache, then puts every
// epoch on the final max: y *= exp(m_e - M) / sum. One exp per element and one sweep of memory.
// log_softmax stores v - m_e instead, and its second sweep adds (m_e - M) - log(sum).
//
// Epochs are few (the running max of random rows grows at O(log blocks) blocks), but a sorted
// row opens one per block. At most CLACT_SM_E are kept: on overflow the stored prefix is
// rescaled once to the current max, the epochs' sums fold into one, and the rest of the row is
// no longer stored (its exps are taken again in the scaling sweep; y still holds x there when
// the op runs in place). So the worst case costs one extra pass and one extra exp per element,
// never more.
//
// Sums: each block's exps go into one vector accumulator (32 terms per lane: a relative error
// below 2e-6 in the worst case), the block sums into the epoch's sum with
// TwoSum. In the log form (log_softmax), elements equal to the running max are counted instead
// of added, as reduce.cl explains, so that sum - 1 keeps its relative accuracy for log1p.
// ---------------------------------------------------------------------------------------------

#define CLACT_SM_B (32 * CLACT_VW) // elements per block
#define CLACT_SM_E 16              // epochs kept

// Max that never takes a NaN from v (comparisons with NaN are false), one instruction on most
// SIMD units where fmax needs three.
#define CLACT_VMAX(m, v) ((v) > (m) ? (v) : (m))

// Horizontal max and sum of a vreal, by halves: log2(CLACT_VW) vector steps. The max is only
// asked of accumulators, which never hold NaN.
#define CLACT_VADD(a, b) ((a) + (b))
#if defined(CLACT_F64)
#define CLACT_RV(n) CLACT_CAT(double, n)
#else
#define CLACT_RV(n) CLACT_CAT(float, n)
#endif
#define CLACT_DEFINE_HREDUCE(name, OP)                                                       \
    real CLACT_CAT(name, 2)(CLACT_RV(2) v) { return OP(v.lo, v.hi); }                        \
    real CLACT_CAT(name, 4)(CLACT_RV(4) v) { return CLACT_CAT(name, 2)(OP(v.lo, v.hi)); }    \
    real CLACT_CAT(name, 8)(CLACT_RV(8) v) { return CLACT_CAT(name, 4)(OP(v.lo, v.hi)); }    \
    real CLACT_CAT(name, 16)(CLACT_RV(16) v) { return CLACT_CAT(name, 8)(OP(v.lo, v.hi)); }
CLACT_DEFINE_HREDUCE(clact_hmax, CLACT_VMAX)
CLACT_DEFINE_HREDUCE(clact_hsum, CLACT_VADD)
#if CLACT_VW == 1
#define clact_hmax(v) (v)
#define clact_hsum(v) (v)
#else
#define clact_hmax CLACT_CAT(clact_hmax, CLACT_VW)
#define clact_hsum CLACT_CAT(clact_hsum, CLACT_VW)
#endif

// Number of true lanes in a sum of comparison results: true is -1 per lane of a vector, and
// 1 for scalars, whose sum is then the count itself.
long clact_hcount(vmask q)
{
#if CLACT_VW == 1
    return q;
#else
    rmask l[CLACT_VW];
    CLACT_CAT(vstore, CLACT_VW)(q, 0, l);
    long n = 0;
    for (uint j = 0; j < CLACT_VW; ++j)
        n -= l[j];
    return n;
#endif
}

// Max of sign * x over [0, n) (NaN skipped), vectors then scalars.
real clact_range_max(__global const CLACT_STYPE *xr, ulong n, real sign)
{
    vreal m = (vreal)(-INFINITY);
    ulong c = 0;
    for (; c + CLACT_VW <= n; c += CLACT_VW)
        m = CLACT_VMAX(m, sign * CLACT_SLOAD(xr + c));
    real M = clact_hmax(m);
    for (; c < n; ++c)
        M = CLACT_VMAX(M, sign * CLACT_SLOAD1(xr + c));
    return M;
}

// Whether [0, n) holds a NaN: only asked of blocks whose max is -inf (the max skips NaN).
int clact_range_has_nan(__global const CLACT_STYPE *xr, ulong n)
{
    for (ulong c = 0; c < n; ++c)
        if (isnan(CLACT_SLOAD1(xr + c)))
            return 1;
    return 0;
}

void clact_range_fill(__global CLACT_STYPE *yr, ulong n, real v)
{
    for (ulong c = 0; c < n; ++c)
        CLACT_SSTORE1(v, yr + c);
}

// dst[0, n) = src OP d, four vectors per iteration (these sweeps run from cache, where the loop's
// own instructions are a good part of the cost). Two sets: within the exps' store (E, the epochs'
// rescaling) and from it to y (the second sweep, whose values are finite: CLACT_SSTORE_FINITE);
// for f32 and f64 both are y in place.
#define CLACT_DEFINE_RANGE_MAP(name, OP, SSP, STY, SLD, SLD1, DSP, DTY, DST, DST1)              \
    void name(SSP const STY *src, DSP DTY *dst, ulong n, real d)                             \
    {                                                                                        \
        ulong c = 0;                                                                         \
        for (; c + 4 * CLACT_VW <= n; c += 4 * CLACT_VW) {                                   \
            DST(SLD(src + c) OP d, dst + c);                                                 \
            DST(SLD(src + c + CLACT_VW) OP d, dst + c + CLACT_VW);                           \
            DST(SLD(src + c + 2 * CLACT_VW) OP d, dst + c + 2 * CLACT_VW);                   \
            DST(SLD(src + c + 3 * CLACT_VW) OP d, dst + c + 3 * CLACT_VW);                   \
        }                                                                                    \
        for (; c + CLACT_VW <= n; c += CLACT_VW)                                             \
            DST(SLD(src + c) OP d, dst + c);                                                 \
        for (; c < n; ++c)                                                                   \
            DST1(SLD1(src + c) OP d, dst + c);                                               \
    }
#define CLACT_E_TO_E                                                                         \
    CLACT_ESPACE, CLACT_ETYPE, CLACT_ELOAD, CLACT_ELOAD1, CLACT_ESPACE, CLACT_ETYPE, CLACT_ESTORE, \
        CLACT_ESTORE1
#define CLACT_E_TO_Y                                                                         \
    CLACT_ESPACE, CLACT_ETYPE, CLACT_ELOAD, CLACT_ELOAD1, __global, CLACT_STYPE,                 \
        CLACT_SSTORE_FINITE, CLACT_SSTORE1
#define CLACT_RANGE_MAP(name, OP, SET) CLACT_DEFINE_RANGE_MAP(name, OP, SET)
CLACT_RANGE_MAP(clact_erange_scale, *, CLACT_E_TO_E)
CLACT_RANGE_MAP(clact_erange_add, +, CLACT_E_TO_E)
CLACT_RANGE_MAP(clact_range_scale_from, *, CLACT_E_TO_Y)
CLACT_RANGE_MAP(clact_range_add_from, +, CLACT_E_TO_Y)

void clact_erange_fill(CLACT_ESPACE CLACT_ETYPE *er, ulong n, real v)
{
    for (ulong c = 0; c < n; ++c)
        CLACT_ESTORE1(v, er + c);
}

// yr[0, n) = (er * f) * f2.
void clact_range_scale2_from(CLACT_ESPACE const CLACT_ETYPE *er, __global CLACT_STYPE *yr, ulong n,
                             real f, real f2)
{
    for (ulong c = 0; c < n; ++c)
        CLACT_SSTORE1((CLACT_ELOAD1(er + c) * f) * f2, yr + c);
}

// yr[0, n) = exp(sign * x - M) * f.
void clact_range_exp(__global const CLACT_STYPE *xr, __global CLACT_STYPE *yr, ulong n, real sign,
                     real M, real f)
{
    ulong c = 0;
    for (; c + CLACT_VW <= n; c += CLACT_VW)
        CLACT_SSTORE(clact_exp_neg(sign * CLACT_SLOAD(xr + c) - M) * f, yr + c);
    for (; c < n; ++c)
        CLACT_SSTORE1(clact_exp_neg1(sign * CLACT_SLOAD1(xr + c) - M) * f, yr + c);
}

// What the sweep leaves for the scaling sweep.
typedef struct clact_sm_stats {
    real M;    // max of sign * x over the range, NaN skipped; -inf when there is none
    real S;    // sum of exp(sign * x - M); in the log form, that sum minus 1
    int bad;   // a NaN or +inf: the range's outputs are NaN
    ulong end; // y[0, end) holds exps (the map below); [end, n) must take them again
    uint n;    // entries of the map: y[at[e], at[e + 1]) (the last up to end) is exp(v - m[e])
               // on CLACT_SM_UNIT's scale, or in the log form v - m[e]
    ulong at[CLACT_SM_E];
    real m[CLACT_SM_E];
} clact_sm_stats;

// Open an epoch at block start b with max mb; fold when all CLACT_SM_E are in use (see above).
// Sums are s (plain part), k (TwoSum's compensation), t (count of terms equal to the max, log
// form only).
static inline __attribute__((always_inline)) void
clact_sm_epoch(clact_sm_stats *st, CLACT_ESPACE CLACT_ETYPE *er, ulong b, real mb, uint *ne,
               real *em, real *es, real *ek, long *et, int *storing, const int logf)
{
    if (*ne == CLACT_SM_E) {
        if (*storing) {
            // Put the stored prefix on mb; blocks before the first epoch held only -inf.
            clact_erange_fill(er, st->at[0], logf ? -INFINITY : 0.0f);
            for (uint e = 0; e < st->n; ++e) {
                ulong hi = e + 1 < st->n ? st->at[e + 1] : b;
                if (logf)
                    clact_erange_add(er + st->at[e], er + st->at[e], hi - st->at[e], st->m[e] - mb);
                else
                    clact_erange_scale(er + st->at[e], er + st->at[e], hi - st->at[e],
                                       exp(st->m[e] - mb));
            }
            st->n = 1;
            st->at[0] = 0;
            st->m[0] = mb;
            st->end = b;
            *storing = 0;
        }
        real s = 0.0f, k = 0.0f;
        for (uint e = 0; e < *ne; ++e)
            CLACT_ACC(real, s, k, ((es[e] + ek[e]) + (real)et[e] * CLACT_SM_UNIT) * exp(em[e] - mb));
        em[0] = mb;
        es[0] = s;
        ek[0] = k;
        et[0] = 0;
        *ne = 1;
        return;
    }
    if (*storing) {
        st->at[st->n] = b;
        st->m[st->n] = mb;
        st->n += 1;
    }
    em[*ne] = mb;
    es[*ne] = 0.0f;
    ek[*ne] = 0.0f;
    et[*ne] = 0;
    *ne += 1;
}

// Lane numbers 0 .. CLACT_VW - 1, as a vmask (to select lanes of a vreal with).
#if CLACT_VW == 2
#define CLACT_LANE_IDS ((vmask)(0, 1))
#elif CLACT_VW == 4
#define CLACT_LANE_IDS ((vmask)(0, 1, 2, 3))
#elif CLACT_VW == 8
#define CLACT_LANE_IDS ((vmask)(0, 1, 2, 3, 4, 5, 6, 7))
#elif CLACT_VW == 16
#define CLACT_LANE_IDS ((vmask)(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15))
#endif

// Max of sign * x over xb[c, n), added into the vector maxima vm0, vm1 (pairs of vectors, then
// one) and, for what is left (fewer than CLACT_VW), into vm1 by one vector that ends at n and
// overlaps what came before (a max does not mind), or into the scalar ms when n < CLACT_VW.
static inline __attribute__((always_inline)) void
clact_sm_block_max(__global const CLACT_STYPE *xb, uint c, const uint n, const real sign,
                   vreal *vm0, vreal *vm1, real *ms)
{
    vreal a = *vm0, b = *vm1;
    real m = *ms;
    for (; c + 2 * CLACT_VW <= n; c += 2 * CLACT_VW) {
        a = CLACT_VMAX(a, sign * CLACT_SLOAD(xb + c));
        b = CLACT_VMAX(b, sign * CLACT_SLOAD(xb + c + CLACT_VW));
    }
    if (c + CLACT_VW <= n) {
        a = CLACT_VMAX(a, sign * CLACT_SLOAD(xb + c));
        c += CLACT_VW;
    }
#if CLACT_VW > 1
    if (c < n && n >= CLACT_VW)
        b = CLACT_VMAX(b, sign * CLACT_SLOAD(xb + n - CLACT_VW));
    else
#endif
        for (; c < n; ++c)
            m = CLACT_VMAX(m, sign * CLACT_SLOAD1(xb + c));
    *vm0 = a;
    *vm1 = b;
    *ms = m;
}

// Exps of the elements [lo, hi) of the block (whole vectors), into s0 (and q, the count of
// terms equal to M, in the log form) and into eb when STORE; with NEXT, the max of the next
// block's elements at the same offsets into vm0. STORE and NEXT are constants, so each use is a
// loop of its own, without a branch inside.
#define CLACT_SM_EXPS(lo, hi, STORE, NEXT)                                                   \
    for (uint c = (lo); c < (hi); c += CLACT_VW) {                                           \
        const vreal v0 = sign * CLACT_SLOAD(xb + c);                                         \
        vreal t0 = clact_sm_exp(v0 - M);                                                     \
        if (STORE)                                                                           \
            CLACT_ESTORE(logf ? v0 - M : t0, eb + c);                                        \
        if (NEXT)                                                                            \
            vm0 = CLACT_VMAX(vm0, sign * CLACT_SLOAD(xn + c));                               \
        if (logf) {                                                                          \
            const vmask q0 = v0 == M;                                                        \
            q += q0;                                                                         \
            t0 = select(t0, (vreal)(0.0f), q0);                                              \
        }                                                                                    \
        s0 += t0;                                                                            \
    }

// The first sweep over xr[0, len): statistics into st; exps into er when store is set. sign,
// logf and store are constants at every call, so each call compiles to its own loop.
//
// The sweep reads each block twice, for its max while the block before takes its exps, then for
// its own exps from cache; the first block of a range has no block before, and its max would be
// a pass with memory busy and the SIMD unit idle (half the row on rows of 1000). So a sweep also
// takes the max of the next range's first block, xnext[0, nnext), along with its last block's
// exps, into *lead0, *lead1, *leads (vector maxima and a scalar one, as clact_sm_block_max
// leaves them), and starts from them when known is set (clact_softmax_rows sweeps consecutive
// rows that way); nnext is 0 when there is no next range.
static inline __attribute__((always_inline)) void
clact_sm_sweep(__global const CLACT_STYPE *xr, CLACT_ESPACE CLACT_ETYPE *er, const ulong len,
               const real sign, const int logf, const int store, clact_sm_stats *st,
               __global const CLACT_STYPE *xnext, const uint nnext, const int known, vreal *lead0,
               vreal *lead1, real *leads)
{
    real em[CLACT_SM_E], es[CLACT_SM_E], ek[CLACT_SM_E];
    long et[CLACT_SM_E];
    uint ne = 0;
    int storing = store, bad = 0;
    real M = -INFINITY;
    st->n = 0;
    st->end = 0;
    const ulong nblk = (len + CLACT_SM_B - 1) / CLACT_SM_B;
    vreal vm0 = (vreal)(-INFINITY), vm1 = vm0;
    real ms = -INFINITY;
    if (known) {
        vm0 = *lead0;
        vm1 = *lead1;
        ms = *leads;
    } else {
        clact_sm_block_max(xr, 0, (uint)min(len, (ulong)CLACT_SM_B), sign, &vm0, &vm1, &ms);
    }
    if (nblk == 0) {
        vm0 = (vreal)(-INFINITY);
        vm1 = vm0;
        ms = -INFINITY;
        clact_sm_block_max(xnext, 0, nnext, sign, &vm0, &vm1, &ms);
    }
    for (ulong j = 0; j < nblk; ++j) {
        // Block j: cnt elements, the first cnt1 in whole vectors.
        const ulong b = j * CLACT_SM_B;
        const uint cnt = (uint)min(len - b, (ulong)CLACT_SM_B);
        const uint cnt1 = cnt / CLACT_VW * CLACT_VW;
        __global const CLACT_STYPE *xb = xr + b;
        CLACT_ESPACE CLACT_ETYPE *eb = er + b;
        const real mb = CLACT_VMAX(clact_hmax(CLACT_VMAX(vm0, vm1)), ms);
        if (mb > M) {
            clact_sm_epoch(st, er, b, mb, &ne, em, es, ek, et, &storing, logf);
            M = mb;
        }
        // The next block (nn elements; after the last block, the next range's first), whose max
        // the loops below take along with this block's exps: its first nc elements there (whole
        // vectors, no more than this block has), the rest after.
        const int last = j + 1 == nblk;
        const uint nn = last ? nnext : (uint)min(len - b - CLACT_SM_B, (ulong)CLACT_SM_B);
        const uint nc = min(nn / CLACT_VW * CLACT_VW, cnt1);
        __global const CLACT_STYPE *xn = last ? xnext : xb + CLACT_SM_B;
        vm0 = (vreal)(-INFINITY);
        vm1 = vm0;
        ms = -INFINITY;
        if (M == -INFINITY) {
            // Only -inf and NaN so far: no exps to take (the scaling sweep writes the zeros).
            bad |= clact_range_has_nan(xb, cnt);
            clact_sm_block_max(xn, 0, nn, sign, &vm0, &vm1, &ms);
            continue;
        }
        // One accumulator each for the sum and the next block's max: with more, the loop's
        // registers spill on 16-register SIMD units (AVX2).
        vreal s0 = (vreal)(0.0f);
        vmask q = (vmask)(0);
        if (store && storing) {
            CLACT_SM_EXPS(0, nc, 1, 1)
            CLACT_SM_EXPS(nc, cnt1, 1, 0)
        } else {
            CLACT_SM_EXPS(0, nc, 0, 1)
            CLACT_SM_EXPS(nc, cnt1, 0, 0)
        }
        long n = 0;
        real s = 0.0f;
#if CLACT_VW > 1
        if (cnt1 < cnt && cnt >= CLACT_VW) {
            // The last cnt - cnt1 elements by one vector that ends at cnt; the lanes it shares
            // with the loop above stay out of the sums, and are not stored (in place, x there is
            // already overwritten).
            const uint o = cnt - CLACT_VW;
            const vmask fresh = CLACT_LANE_IDS >= (vmask)(cnt1 - o);
            const vreal v0 = sign * CLACT_SLOAD(xb + o);
            vreal t0 = clact_sm_exp(v0 - M);
            if (store && storing) {
                real l[CLACT_VW];
                CLACT_STORE(logf ? v0 - M : t0, l);
                for (uint i = cnt1 - o; i < CLACT_VW; ++i)
                    CLACT_ESTORE1(l[i], eb + o + i);
            }
            if (logf) {
                const vmask q0 = (v0 == M) & fresh;
                q += q0;
                t0 = select(t0, (vreal)(0.0f), q0);
            }
            s0 += select((vreal)(0.0f), t0, fresh);
        } else
#endif
            for (uint c = cnt1; c < cnt; ++c) {
                const real v = sign * CLACT_SLOAD1(xb + c);
                const real t = clact_sm_exp1(v - M);
                if (store && storing)
                    CLACT_ESTORE1(logf ? v - M : t, eb + c);
                if (logf && v == M)
                    ++n;
                else
                    s += t;
            }
        s += clact_hsum(s0);
        n += logf ? clact_hcount(q) : 0;
        CLACT_ACC(real, es[ne - 1], ek[ne - 1], s);
        et[ne - 1] += n;
        // The next block's elements after the first nc.
        clact_sm_block_max(xn, nc, nn, sign, &vm0, &vm1, &ms);
    }
    *lead0 = vm0;
    *lead1 = vm1;
    *leads = ms;
    if (storing)
        st->end = len;
    // The sum on the final max: earlier epochs scaled by exp(m_e - M), then the last one.
    real s = 0.0f, k = 0.0f;
    for (uint e = 0; e + 1 < ne; ++e)
        CLACT_ACC(real, s, k, ((es[e] + ek[e]) + (real)et[e] * CLACT_SM_UNIT) * exp(em[e] - M));
    if (ne > 0) {
        CLACT_ACC(real, s, k, es[ne - 1]);
        k += ek[ne - 1];
        // Back from CLACT_SM_UNIT's scale: exact, a power of 2 (a log-form sum below 2^-62 would
        // lose bits here, but log1p of it is then below half an ulp of anything it is added to).
        s = (s + k) * (1.0f / CLACT_SM_UNIT);
        // Log form: the max's own terms were counted; one of them is the "1" left out.
        if (logf)
            s += (real)(et[ne - 1] - 1);
    } else {
        s = logf ? -1.0f : 0.0f;
    }
    st->M = M;
    st->S = s;
    st->bad = bad || M == INFINITY || isnan(s);
}

// The sweep for a kind: softmax (x, stored exps), softmin (-x, stored exps), log_softmax (x, the
// log form; with store_log, x - m_e stored for clact_sm_shift). With store unset, nothing is
// stored (f16 and bf16 without a local row; see the top), and f16 and bf16 log_softmax store
// nothing either: their second sweep costs the same from x. Each branch gets constant arguments,
// so its own compiled loop.
#define CLACT_SM_LEAD xnext, nnext, known, lead0, lead1, leads
static inline __attribute__((always_inline)) void
clact_sm_sweep_kind(__global const CLACT_STYPE *xr, CLACT_ESPACE CLACT_ETYPE *er, const ulong len,
                    const int kind, const int store_log, const int store, clact_sm_stats *st,
                    __global const CLACT_STYPE *xnext, const uint nnext, const int known,
                    vreal *lead0, vreal *lead1, real *leads)
{
#if CLACT_SM_E_IS_Y
    if (kind == 0)
        clact_sm_sweep(xr, er, len, 1.0f, 0, 1, st, CLACT_SM_LEAD);
    else if (kind == 2)
        clact_sm_sweep(xr, er, len, -1.0f, 0, 1, st, CLACT_SM_LEAD);
    else if (store_log)
        clact_sm_sweep(xr, er, len, 1.0f, 1, 1, st, CLACT_SM_LEAD);
    else
        clact_sm_sweep(xr, er, len, 1.0f, 1, 0, st, CLACT_SM_LEAD);
#else
    if (kind == 0 && store)
        clact_sm_sweep(xr, er, len, 1.0f, 0, 1, st, CLACT_SM_LEAD);
    else if (kind == 0)
        clact_sm_sweep(xr, er, len, 1.0f, 0, 0, st, CLACT_SM_LEAD);
    else if (kind == 2 && store)
        clact_sm_sweep(xr, er, len, -1.0f, 0, 1, st, CLACT_SM_LEAD);
    else if (kind == 2)
        clact_sm_sweep(xr, er, len, -1.0f, 0, 0, st, CLACT_SM_LEAD);
    else
        clact_sm_sweep(xr, er, len, 1.0f, 1, 0, st, CLACT_SM_LEAD);
#endif
}

// The scaling sweep over xr/yr[0, len) after clact_sm_sweep with store: y = exp(v - M) * f
// everywhere, from the stored exps er where there are, from x after st->end.
void clact_sm_scale(__global const CLACT_STYPE *xr, CLACT_ESPACE const CLACT_ETYPE *er,
                    __global CLACT_STYPE *yr, ulong len, real sign, const clact_sm_stats *st,
                    real M, real f)
{
    if (st->n > 0) {
        clact_range_fill(yr, st->at[0], 0.0f);
        for (uint e = 0; e < st->n; ++e) {
            ulong hi = e + 1 < st->n ? st->at[e + 1] : st->end;
            // The stored exps are on CLACT_SM_UNIT's scale: one multiply by fe / UNIT while that
            // is a normal number; below, two, so that fe keeps its precision. The last epoch's
            // max is M: exp(0) = 1 needs no call (one scalar exp less per row).
            const real fe = st->m[e] == M ? f : exp(st->m[e] - M) * f;
            const real g = fe * (1.0f / CLACT_SM_UNIT);
            if (g >= CLACT_SM_TINY) {
                if (g != 1.0f)
                    clact_range_scale_from(er + st->at[e], yr + st->at[e], hi - st->at[e], g);
                else if (!CLACT_SM_E_IS_Y)
                    clact_range_scale_from(er + st->at[e], yr + st->at[e], hi - st->at[e], 1.0f);
            } else {
                clact_range_scale2_from(er + st->at[e], yr + st->at[e], hi - st->at[e], fe,
                                        1.0f / CLACT_SM_UNIT);
            }
        }
    }
    clact_range_exp(xr + st->end, yr + st->end, len - st->end, sign, M, f);
}

// The log form's second sweep after clact_sm_sweep with store: y = (x - M) - logs everywhere;
// the sweep left x - m_e (the max of its epoch) in er[0, st->end), so epoch e adds
// (m_e - M) - logs, which is -logs for the last (bit for bit the formula: (x - M) - logs), and
// one more rounding for earlier ones (terms of one sign, so within an ulp or two of it); after
// st->end, from x.
void clact_sm_shift(__global const CLACT_STYPE *xr, CLACT_ESPACE const CLACT_ETYPE *er,
                    __global CLACT_STYPE *yr, ulong len, const clact_sm_stats *st, real M,
                    real logs)
{
    if (st->n > 0) {
        clact_range_fill(yr, st->at[0], -INFINITY);
        for (uint e = 0; e < st->n; ++e) {
            ulong hi = e + 1 < st->n ? st->at[e + 1] : st->end;
            clact_range_add_from(er + st->at[e], yr + st->at[e], hi - st->at[e],
                                 (st->m[e] - M) - logs);
        }
    }
    ulong c = st->end;
    for (; c + CLACT_VW <= len; c += CLACT_VW)
        CLACT_SSTORE((CLACT_SLOAD(xr + c) - M) - logs, yr + c);
    for (; c < len; ++c)
        CLACT_SSTORE1((CLACT_SLOAD1(xr + c) - M) - logs, yr + c);
}

// Work-item g takes rows [g per_item, (g + 1) per_item): each row's sweep takes the next row's
// first max along (clact_sm_sweep), so memory keeps streaming from row to row. ex: for f16 and
// bf16 with ex_stride > 0, each work-item's float row for the exps, at ex_stride floats from its
// neighbour's (at least C); f32 and f64 keep them in y and take a local argument of 4 bytes.
__kernel void clact_softmax_rows(const ulong rows, const ulong C, __global const CLACT_STYPE *x,
                                 const ulong x_offset, __global CLACT_STYPE *y, const ulong y_offset,
                                 const int kind, const int safe, const ulong per_item,
                                 __local float *ex, const ulong ex_stride)
{
    const ulong r0 = get_global_id(0) * per_item;
    if (r0 >= rows)
        return;
    const ulong r1 = min(rows, r0 + per_item);
    const uint first = (uint)min(C, (ulong)CLACT_SM_B);
    vreal lead0, lead1;
    real leads;
    for (ulong r = r0; r < r1; ++r) {
        __global const CLACT_STYPE *xr = x + x_offset + r * C;
        __global CLACT_STYPE *yr = y + y_offset + r * C;
#if CLACT_SM_E_IS_Y
        __global CLACT_STYPE *er = yr;
#else
        __local float *er = ex + get_local_id(0) * ex_stride;
#endif
        clact_sm_stats st;
        clact_sm_sweep_kind(xr, er, C, kind, 1, ex_stride > 0, &st, xr + C,
                            r + 1 < r1 ? first : 0, r > r0, &lead0, &lead1, &leads);
        if (st.bad || st.M == -INFINITY) {
            // NaN or +inf anywhere, or every element -inf: NaN (PyTorch), or the safe values.
            clact_range_fill(yr, C, !st.bad && safe ? (kind == 1 ? -INFINITY : 0.0f) : NAN);
        } else if (kind == 1) {
            clact_sm_shift(xr, er, yr, C, &st, st.M, log1p(st.S));
        } else {
            clact_sm_scale(xr, er, yr, C, kind == 2 ? -1.0f : 1.0f, &st, st.M, 1.0f / st.S);
        }
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
    real m;
    const real s = clact_sm_column(xr + l, l < C ? (C - l + L - 1) / L : 0, L, sign, &m);
    lm[l] = m;
    ls[l] = s;
    ln[l] = isnan(s);
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
    real m;
    const real S = clact_sm_column(xc, C, inner, sign, &m);
    const int masked = m == -INFINITY && !isnan(S);
    const real inv = 1.0f / (1.0f + S), logs = log1p(S);
    for (ulong c = 0; c < C; ++c)
        CLACT_SSTORE1(clact_sm_out(sign * CLACT_SLOAD1(xc + c * inner), m, inv, logs, kind, masked, safe), yc + c * inner);
}

// Long rows: work-item (r, j) sweeps chunk j of row r and writes part[3 (r nchunks + j)] =
// (max, sum - 1, bad), and nothing to y: if the finishing launch cannot be enqueued, the call
// fails with the caller's y untouched (it used to leave the chunk's exps there; the finishing
// sweep now computes exp(x - M) from x, in every dtype, one exp more per element and one pass
// over y fewer).
__kernel void clact_softmax_partial(const ulong rows, const ulong C, const ulong chunk,
                                    const ulong nchunks, __global const CLACT_STYPE *x,
                                    const ulong x_offset, __global CLACT_STYPE *y, const ulong y_offset,
                                    __global real *part, const int kind)
{
    const ulong g = get_global_id(0);
    if (g >= rows * nchunks)
        return;
    const ulong r = g / nchunks, j = g - r * nchunks;
    const ulong begin = j * chunk, n = min(C, begin + chunk) - begin;
    __global const CLACT_STYPE *xr = x + x_offset + r * C + begin;
#if CLACT_SM_E_IS_Y
    __global CLACT_STYPE *er = y + y_offset + r * C + begin;
#else
    __local float *er = (__local float *)0; // nothing is stored (store 0 below)
#endif
    clact_sm_stats st;
    vreal lead0, lead1;
    real leads;
    __global const CLACT_STYPE *xnext = xr;
    const uint nnext = 0;
    const int known = 0;
    // Statistics only (store 0): each kind its own constant-argument loop.
    if (kind == 0)
        clact_sm_sweep(xr, er, n, 1.0f, 0, 0, &st, xnext, nnext, known, &lead0, &lead1, &leads);
    else if (kind == 2)
        clact_sm_sweep(xr, er, n, -1.0f, 0, 0, &st, xnext, nnext, known, &lead0, &lead1, &leads);
    else
        clact_sm_sweep(xr, er, n, 1.0f, 1, 0, &st, xnext, nnext, known, &lead0, &lead1, &leads);
    // A fully masked chunk (M = -inf) of a row that is not: its outputs come out 0 in the
    // finishing sweep, exp(-inf - M).
    real s = -1.0f;
    if (st.bad)
        s = NAN;
    else if (st.M != -INFINITY)
        s = kind == 1 ? st.S : st.S - 1.0f;
    part[3 * g] = st.M;
    part[3 * g + 1] = s;
    part[3 * g + 2] = st.bad ? 1.0f : 0.0f;
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
    const ulong begin = j * chunk, n = min(C, begin + chunk) - begin;
    __global const CLACT_STYPE *xr = x + x_offset + r * C + begin;
    __global CLACT_STYPE *yr = y + y_offset + r * C + begin;
    if (bad || M == -INFINITY) {
        clact_range_fill(yr, n, !bad && safe ? (kind == 1 ? -INFINITY : 0.0f) : NAN);
        return;
    }
    if (kind != 1) {
        clact_range_exp(xr, yr, n, kind == 2 ? -1.0f : 1.0f, M, 1.0f / (1.0f + S));
    } else {
        const real logs = log1p(S);
        ulong c = 0;
        for (; c + CLACT_VW <= n; c += CLACT_VW)
            CLACT_SSTORE((CLACT_SLOAD(xr + c) - M) - logs, yr + c);
        for (; c < n; ++c)
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
