// SPDX-License-Identifier: MIT
// The dense layer's own passes (host/dense.c runs CLBlast's GEMMs around them), built in the
// activation program after activation.cl and activation_backward.cl, whose op lists they expand.
// A tensor of rows x cols in row-major order (batch x out_features).
//
// clact_dense_fwd_<op> (and _none, no activation), one work-item per CLACT_VW elements:
//   (ulong n, ulong cols, global const T *g, ulong go, global const T *b, ulong bo, int has_b,
//    global T *z, ulong zo, int has_z, global T *y, ulong yo, real p0, real p1)
//   t = g + b[col] (the GEMM's output plus the bias); z = t when has_z (what the backward reads);
//   y = act(t). g is the context's scratch buffer (host/dense.c); g may also be y or z itself
//   (each work-item reads its elements before it writes them).
// clact_dense_bwd_<op>_<x|y> (and _none), one work-item per CLACT_VW consecutive columns, down the
// rows (each row's CLACT_VW columns are contiguous: vector loads):
//   (ulong rows, ulong cols, global const T *s, ulong so, global const T *dy, ulong dyo,
//    global T *dz, ulong dzo, int store_dz, global T *db, ulong dbo, int has_db,
//    int accumulate, real p0, real p1)
//   dz = dy * act'(s) (s: the pre-activation z, or the output y), stored when store_dz; db[col] =
//   sum over rows of dz (compensated), added to db's contents when accumulate. This is the
//   bias-gradient pass with the activation's gradient folded in: dy and s are read once.

vreal act_none(vreal x, real p0, real p1) { return x; }
vreal bwd_none(vreal s, real p0, real p1) { return (vreal)(1.0f); }

#define CLACT_DENSE_FWD(op)                                                                  \
    __kernel void clact_dense_fwd_##op(                                                      \
        const ulong n, const ulong cols, __global const CLACT_STYPE *g, const ulong go,      \
        __global const CLACT_STYPE *b, const ulong bo, const int has_b,                      \
        __global CLACT_STYPE *z, const ulong zo, const int has_z, __global CLACT_STYPE *y,   \
        const ulong yo, const real p0, const real p1)                                        \
    {                                                                                        \
        const ulong i = (ulong)get_global_id(0) * CLACT_VW;                                  \
        if (i >= n)                                                                          \
            return;                                                                          \
        const uint m = (uint)min((ulong)CLACT_VW, n - i);                                    \
        real buf[CLACT_VW];                                                                  \
        ulong c = i % cols;                                                                  \
        for (uint k = 0; k < CLACT_VW; ++k) {                                                \
            buf[k] = k < m ? CLACT_SLOAD1(g + go + i + k) +                                  \
                                 (has_b ? CLACT_SLOAD1(b + bo + c) : (real)0.0f)             \
                           : 0.0f;                                                           \
            c = c + 1 == cols ? 0 : c + 1;                                                   \
        }                                                                                    \
        if (has_z)                                                                           \
            for (uint k = 0; k < m; ++k)                                                     \
                CLACT_SSTORE1(buf[k], z + zo + i + k);                                       \
        vreal v = act_##op(CLACT_LOAD(buf), p0, p1);                                         \
        CLACT_STORE(v, buf);                                                                 \
        for (uint k = 0; k < m; ++k)                                                         \
            CLACT_SSTORE1(buf[k], y + yo + i + k);                                           \
    }

// CLACT_VW consecutive elements at p, m <= CLACT_VW of them real (the rest 0).
#define CLACT_DENSE_LOADV(dst, p, m)                                                         \
    do {                                                                                     \
        if ((m) == CLACT_VW) {                                                               \
            dst = CLACT_SLOAD(p);                                                            \
        } else {                                                                             \
            real t_[CLACT_VW];                                                               \
            for (uint k_ = 0; k_ < CLACT_VW; ++k_)                                           \
                t_[k_] = k_ < (m) ? CLACT_SLOAD1((p) + k_) : 0.0f;                           \
            dst = CLACT_LOAD(t_);                                                            \
        }                                                                                    \
    } while (0)

#define CLACT_DENSE_BWD(op, from, fn, combine)                                               \
    __kernel void clact_dense_bwd_##op##_##from(                                             \
        const ulong rows, const ulong cols, __global const CLACT_STYPE *s, const ulong so,   \
        __global const CLACT_STYPE *dy, const ulong dyo, __global CLACT_STYPE *dz,           \
        const ulong dzo, const int store_dz, __global CLACT_STYPE *db, const ulong dbo,      \
        const int has_db, const int accumulate, const real p0, const real p1)                \
    {                                                                                        \
        const ulong j = (ulong)get_global_id(0) * CLACT_VW;                                  \
        if (j >= cols)                                                                       \
            return;                                                                          \
        const uint m = (uint)min((ulong)CLACT_VW, cols - j);                                 \
        vreal sum = (vreal)(0.0f), comp = (vreal)(0.0f);                                     \
        for (ulong r = 0; r < rows; ++r) {                                                   \
            const ulong e = r * cols + j;                                                    \
            vreal sv, gv;                                                                    \
            CLACT_DENSE_LOADV(sv, s + so + e, m);                                            \
            CLACT_DENSE_LOADV(gv, dy + dyo + e, m);                                          \
            vreal d = combine(gv, fn(sv, p0, p1), sv);                                       \
            if (store_dz) {                                                                  \
                if (m == CLACT_VW) {                                                         \
                    CLACT_SSTORE(d, dz + dzo + e);                                           \
                } else {                                                                     \
                    real t[CLACT_VW];                                                        \
                    CLACT_STORE(d, t);                                                       \
                    for (uint k = 0; k < m; ++k)                                             \
                        CLACT_SSTORE1(t[k], dz + dzo + e + k);                               \
                }                                                                            \
            }                                                                                \
            CLACT_ACC(vreal, sum, comp, d);                                                  \
        }                                                                                    \
        if (!has_db)                                                                         \
            return;                                                                          \
        real t[CLACT_VW];                                                                    \
        CLACT_STORE(sum + comp, t);                                                          \
        for (uint k = 0; k < m; ++k)                                                         \
            CLACT_SSTORE1((accumulate ? CLACT_SLOAD1(db + dbo + j + k) : (real)0.0f) + t[k], \
                          db + dbo + j + k);                                                 \
    }

// op must reach ## unexpanded (tanh is a macro in some OpenCL headers): no wrapper macros here.
CLACT_FORWARD_OPS(CLACT_DENSE_FWD)
CLACT_DENSE_FWD(none)
CLACT_BACKWARD_OPS(CLACT_DENSE_BWD)
CLACT_DENSE_BWD(none, x, bwd_none, CLACT_BWD_SCALE)
