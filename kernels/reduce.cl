// SPDX-License-Identifier: MIT
// The running (max, sum of exp) reduction shared by the softmax and loss programs; included
// after prelude.cl. No kernels here.
//
// Every reduction keeps a running maximum m and the sum of exp(x - m) over the values seen, in
// one pass over the data (the "online" softmax), rescaling when m grows. The sum is kept as
// s = sum - 1: the maximum's own term is exactly 1, and log_softmax of the largest element,
// -log(sum), is tiny when the others are small; log1p(s) keeps its relative accuracy where
// log(1 + s) in float would lose it (3e-4 relative at sum = 1.0003). Sums are compensated
// (TwoSum, k), so a row of a million elements keeps full float accuracy. NaN or +inf anywhere
// in a row makes the row NaN (PyTorch: exp(inf - inf)); a row of only -inf has m = -inf,
// s = -1, and gives NaN through -inf - -inf, or 0 / -inf with the safe flag (PyTorch's
// _safe_softmax).

// Fold one scalar value v (type T, real) into the running (m, s, k, bad). Conditionals rather
// than select(): a scalar double comparison is an int, and select() on doubles wants a long.
#define CLACT_SM_ADD(T, v, m, s, k, bad)                                                     \
    do {                                                                                     \
        T v_ = (v);                                                                          \
        bad |= isnan(v_) | (v_ == INFINITY);                                                 \
        T mn_ = fmax(m, v_);                                                                 \
        T scale_ = m == -INFINITY ? (T)(0.0f) : exp(m - mn_);                                \
        T term_ = v_ == -INFINITY ? (T)(0.0f) : exp(v_ - mn_);                               \
        /* A new maximum: sum becomes (1 + s) scale + 1, so s becomes (1 + s) scale. */      \
        T grown_ = (1.0f + s) * scale_;                                                      \
        /* Otherwise s += term, compensated (the true sum - 1 is s + k). */                \
        T ns_ = s, nk_ = k;                                                                  \
        CLACT_ACC(T, ns_, nk_, term_);                                                       \
        const int up_ = v_ > m;                                                              \
        s = up_ ? grown_ : ns_;                                                              \
        k = up_ ? k * scale_ : nk_;                                                          \
        m = mn_;                                                                             \
    } while (0)

// Merge another (m2, s2), in the same s = sum - 1 form, into scalar (m, s).
#define CLACT_SM_MERGE(m, s, m2, s2)                                                         \
    do {                                                                                     \
        real m2_ = (m2), s2_ = (s2);                                                         \
        real mn_ = fmax(m, m2_);                                                             \
        if (m == mn_ && m2_ == mn_)                                                          \
            s = s + s2_ + 1.0f;                                                              \
        else if (m == mn_)                                                                   \
            s = s + (1.0f + s2_) * exp(m2_ - mn_);                                           \
        else                                                                                 \
            s = s2_ + (1.0f + s) * exp(m - mn_);                                             \
        m = mn_;                                                                             \
    } while (0)


// The running (max, sum - 1) of n values p[0], p[stride], ..., p[(n - 1) stride], each times
// sign (softmin: -1): *m the maximum, and the return value S = sum exp(v - m) - 1 (compensated;
// NaN when a value was NaN or +inf). The strided softmax, the work-group softmax's per-item part
// and cross-entropy's per-position statistics all take their column this way.
static inline real clact_sm_column(__global const CLACT_STYPE *p, const ulong n, const ulong stride,
                                   const real sign, real *m)
{
    real mm = -INFINITY, s = -1.0f, k = 0.0f;
    int bad = 0;
    for (ulong c = 0; c < n; ++c)
        CLACT_SM_ADD(real, sign * CLACT_SLOAD1(p + c * stride), mm, s, k, bad);
    *m = mm;
    return bad ? (real)NAN : s + k;
}
