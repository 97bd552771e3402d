// SPDX-License-Identifier: MIT
// Fused cross-entropy (PyTorch's CrossEntropyLoss: log_softmax over the class dimension, then
// nll_loss), forward loss and gradient with respect to the logits, in three launches:
//   clact_ce_pos_{i64,i32,prob}  one work-item per position p = (n, i) of logits (N, C, inner):
//                                the row's max m and log-sum ls, the position's loss and the
//                                weight of its target, into scratch (nothing the caller sees);
//   clact_ce_reduce_{i64,i32,prob} one work-group: the loss (sum, mean, or a copy per position for
//                                reduction 'none') and, for the gradient, the weight total W and
//                                the sum of the class weights;
//   clact_ce_grad_{idx,prob}     one work-item per logit: d loss / d logit.
// Logits, weights, probability targets, loss and gradient are in the storage type; the scratch
// buffer holds reals (float, or double for f64).
// Scratch layout (reals): 4 per position {m, ls, w (index targets: weight of the target, 0 if
// ignored; probability targets: sum_k q_k w_k), loss}, then W, sum of class weights, and the
// first invalid position (a uint, for atomic_min; 0xffffffff when none).
// reduction: 0 none, 1 mean, 2 sum. A class index outside [0, C) that is not ignore_index makes
// NaN where it is used, and its first position (32 bits: positions past 2^32 - 2 are recorded
// as 2^32 - 2) goes to the scratch's last slot, which the reduce kernel copies, with the value,
// into the context's error record (clact_context_check), or the host reads at once when the
// caller asked to validate (CLACT_CE_VALIDATE, before anything is written to the caller's
// buffers); no buffer is ever read out of bounds.

#define CLACT_CE_POS(name, T)                                                                \
    __kernel void name(const ulong P, const ulong C, const ulong inner,                      \
                       __global const CLACT_STYPE *x, const ulong xo, __global const T *tgt,       \
                       const ulong to, __global const CLACT_STYPE *w, const ulong wo,              \
                       const int has_w, const long ignore_index, const real eps,            \
                       __global real *scr)                                                  \
    {                                                                                        \
        const ulong g = get_global_id(0);                                                    \
        if (g >= P)                                                                          \
            return;                                                                          \
        const ulong o = g / inner, i = g - o * inner;                                        \
        __global const CLACT_STYPE *xc = x + xo + o * C * inner + i;                               \
        real m;                                                                              \
        const real ls = log1p(clact_sm_column(xc, C, inner, 1.0f, &m));                      \
        const long t = (long)tgt[to + g];                                                    \
        real wt, li;                                                                        \
        if (t == ignore_index) {                                                             \
            wt = 0.0f;                                                                       \
            li = 0.0f;                                                                       \
        } else if (t < 0 || (ulong)t >= C) {                                                 \
            atomic_min((__global uint *)(scr + 4 * P + 2), (uint)min(g, (ulong)0xfffffffe)); \
            wt = NAN;                                                                        \
            li = NAN;                                                                        \
        } else {                                                                             \
            wt = has_w ? CLACT_SLOAD1(w + wo + t) : 1.0f;                                                   \
            li = -wt * ((CLACT_SLOAD1(xc + t * inner) - m) - ls);                                           \
            if (eps > 0.0f) {                                                                \
                /* smooth = -sum_c w_c lp_c, compensated */                                  \
                real ss = 0.0f, sk = 0.0f;                                                  \
                for (ulong c = 0; c < C; ++c) {                                              \
                    real term = (has_w ? CLACT_SLOAD1(w + wo + c) : 1.0f) * ((CLACT_SLOAD1(xc + c * inner) - m) - ls);    \
                    CLACT_ACC(real, ss, sk, term);                                          \
                }                                                                            \
                li = (1.0f - eps) * li - (eps / (real)C) * (ss + sk);                       \
            }                                                                                \
        }                                                                                    \
        scr[4 * g] = m;                                                                      \
        scr[4 * g + 1] = ls;                                                                 \
        scr[4 * g + 2] = wt;                                                                 \
        scr[4 * g + 3] = li;                                                                 \
    }

CLACT_CE_POS(clact_ce_pos_i64, long)
CLACT_CE_POS(clact_ce_pos_i32, int)

// Probability targets (the target has the logits' shape): q_c = t_c (1 - eps) + eps / C,
// loss = -sum_c lp_c q_c w_c; scr w slot = sum_c q_c w_c (for the gradient).
__kernel void clact_ce_pos_prob(const ulong P, const ulong C, const ulong inner,
                                __global const CLACT_STYPE *x, const ulong xo,
                                __global const CLACT_STYPE *tgt, const ulong to,
                                __global const CLACT_STYPE *w, const ulong wo, const int has_w,
                                const long ignore_index, const real eps, __global real *scr)
{
    const ulong g = get_global_id(0);
    if (g >= P)
        return;
    const ulong o = g / inner, i = g - o * inner;
    __global const CLACT_STYPE *xc = x + xo + o * C * inner + i;
    __global const CLACT_STYPE *tc = tgt + to + o * C * inner + i;
    real m;
    const real ls = log1p(clact_sm_column(xc, C, inner, 1.0f, &m));
    real ls_sum = 0.0f, lk = 0.0f, qw = 0.0f, qk = 0.0f;
    for (ulong c = 0; c < C; ++c) {
        real wc = has_w ? CLACT_SLOAD1(w + wo + c) : 1.0f;
        real q = CLACT_SLOAD1(tc + c * inner) * (1.0f - eps) + eps / (real)C;
        real term = ((CLACT_SLOAD1(xc + c * inner) - m) - ls) * q * wc;
        CLACT_ACC(real, ls_sum, lk, term);
        CLACT_ACC(real, qw, qk, q * wc);
    }
    scr[4 * g] = m;
    scr[4 * g + 1] = ls;
    scr[4 * g + 2] = qw + qk;
    scr[4 * g + 3] = -(ls_sum + lk);
}

// One work-group of L (a power of two <= 256) work-items; fixed summation order, so the result
// is the same on every run. Index targets (INDEX 1): the first position with a class index out
// of range (scr's slot, from the pos kernel) is recorded in errs = {position, value, C,
// ignore_index} unless an earlier call's record is still there (errs[0] >= 0), for
// clact_context_check; calls are ordered on the scratch buffer, so "earlier" is well defined.
// With defer (a gradient follows), the loss is not written here but left in the scratch
// (scr[4P + 3] for sum and mean; the positions' own for 'none') for the gradient kernel, the
// call's last, to copy: a gradient launch that cannot be enqueued then leaves the loss unwritten.
#define CLACT_CE_REDUCE(name, T, INDEX)                                                      \
    __kernel void name(const ulong P, const ulong C, __global const CLACT_STYPE *w,          \
                       const ulong wo, const int has_w, const int reduction,                 \
                       __global real *scr, __global CLACT_STYPE *loss, const ulong lo,       \
                       __global const T *tgt, const ulong to, const long ignore_index,       \
                       __global long *errs, const int defer)                                 \
    {                                                                                        \
        __local real ll[256], lw[256], lc[256];                                              \
        const uint l = get_local_id(0), L = get_local_size(0);                               \
        real sl = 0.0f, kl = 0.0f, sw = 0.0f, kw = 0.0f, sc = 0.0f, kc = 0.0f;              \
        for (ulong g = l; g < P; g += L) {                                                   \
            if (reduction == 0) {                                                            \
                if (!defer)                                                                  \
                    CLACT_SSTORE1(scr[4 * g + 3], loss + lo + g);                            \
                continue;                                                                    \
            }                                                                                \
            CLACT_ACC(real, sl, kl, scr[4 * g + 3]);                                         \
            CLACT_ACC(real, sw, kw, scr[4 * g + 2]);                                         \
        }                                                                                    \
        for (ulong c = l; c < C; c += L)                                                     \
            CLACT_ACC(real, sc, kc, has_w ? CLACT_SLOAD1(w + wo + c) : 1.0f);               \
        ll[l] = sl + kl;                                                                     \
        lw[l] = sw + kw;                                                                     \
        lc[l] = sc + kc;                                                                     \
        barrier(CLK_LOCAL_MEM_FENCE);                                                        \
        for (uint h = L / 2; h > 0; h /= 2) {                                                \
            if (l < h) {                                                                     \
                ll[l] += ll[l + h];                                                          \
                lw[l] += lw[l + h];                                                          \
                lc[l] += lc[l + h];                                                          \
            }                                                                                \
            barrier(CLK_LOCAL_MEM_FENCE);                                                    \
        }                                                                                    \
        if (l != 0)                                                                          \
            return;                                                                          \
        /* Index targets: W = sum of the targets' weights (NaN if a target was invalid);     \
         * probability targets: the mean is over positions. */                              \
        const real W = INDEX ? lw[0] : (real)P;                                              \
        scr[4 * P] = W;                                                                      \
        scr[4 * P + 1] = lc[0];                                                              \
        const real total = reduction == 1 ? ll[0] / W : ll[0];                              \
        if (defer)                                                                           \
            scr[4 * P + 3] = total;                                                          \
        else if (reduction != 0)                                                             \
            CLACT_SSTORE1(total, loss + lo);                                                 \
        const uint bad = ((__global const uint *)(scr + 4 * P + 2))[0];                     \
        if (INDEX && bad != 0xffffffffu && errs[0] < 0) {                                    \
            errs[1] = (long)tgt[to + bad];                                                   \
            errs[2] = (long)C;                                                               \
            errs[3] = ignore_index;                                                          \
            errs[0] = (long)bad;                                                             \
        }                                                                                    \
    }

CLACT_CE_REDUCE(clact_ce_reduce_i64, long, 1)
CLACT_CE_REDUCE(clact_ce_reduce_i32, int, 1)
CLACT_CE_REDUCE(clact_ce_reduce_prob, CLACT_STYPE, 0)

// The deferred loss (see CLACT_CE_REDUCE), copied by the gradient kernel's first work-items
// (total >= P, so every position has one).
void clact_ce_copy_loss(const ulong e, const ulong P, const int reduction, __global const real *scr,
                        __global CLACT_STYPE *loss, const ulong lo)
{
    if (reduction == 0 && e < P)
        CLACT_SSTORE1(scr[4 * e + 3], loss + lo + e);
    else if (reduction != 0 && e == 0)
        CLACT_SSTORE1(scr[4 * P + 3], loss + lo);
}

// d loss / d x_c for index targets, with A = (1 - eps) w_t + (eps / C) sum_k w_k:
//   c != t: A p_c - (eps / C) w_c;   c == t: A expm1(lp_t) + (eps / C) (sum_k w_k - w_t),
// the second written with expm1 so that p_t ~ 1 does not cancel. Ignored positions: 0, also
// when all are ignored and the mean's denominator is 0 (PyTorch's nll_loss backward).
#define CLACT_CE_GRAD(name, T)                                                               \
    __kernel void name(const ulong total, const ulong C, const ulong inner, const ulong P,   \
                       __global const CLACT_STYPE *x, const ulong xo, __global const T *tgt,       \
                       const ulong to, __global const CLACT_STYPE *w, const ulong wo,              \
                       const int has_w, const long ignore_index, const real eps,            \
                       const int reduction, __global const real *scr, __global CLACT_STYPE *gr,   \
                       const ulong go, __global CLACT_STYPE *loss, const ulong lo)           \
    {                                                                                        \
        const ulong e = get_global_id(0);                                                    \
        if (e >= total)                                                                      \
            return;                                                                          \
        clact_ce_copy_loss(e, P, reduction, scr, loss, lo);                                  \
        const ulong o = e / (C * inner), rem = e - o * C * inner;                            \
        const ulong c = rem / inner, i = rem - c * inner, p = o * inner + i;                 \
        const long t = (long)tgt[to + p];                                                    \
        real g;                                                                             \
        if (t == ignore_index) {                                                             \
            /* 0 even when every target is ignored and the mean's W is 0 (PyTorch). */        \
            CLACT_SSTORE1((real)0.0f, gr + go + e);                                          \
            return;                                                                          \
        } else if (t < 0 || (ulong)t >= C) {                                                 \
            g = NAN;                                                                         \
        } else {                                                                             \
            const real lp = (CLACT_SLOAD1(x + xo + e) - scr[4 * p]) - scr[4 * p + 1];                      \
            const real wt = has_w ? CLACT_SLOAD1(w + wo + t) : 1.0f, wc = has_w ? CLACT_SLOAD1(w + wo + c) : 1.0f;        \
            const real sw = scr[4 * P + 1], ec = eps / (real)C;                            \
            const real A = (1.0f - eps) * wt + ec * sw;                                     \
            g = (ulong)t == c ? A * expm1(lp) + ec * (sw - wc) : A * exp(lp) - ec * wc;      \
        }                                                                                    \
        CLACT_SSTORE1(reduction == 1 ? g / scr[4 * P] : g, gr + go + e);                     \
    }

CLACT_CE_GRAD(clact_ce_grad_i64, long)
CLACT_CE_GRAD(clact_ce_grad_i32, int)

// Probability targets: d loss / d x_c = p_c sum_k q_k w_k - q_c w_c; the mean divides by P.
__kernel void clact_ce_grad_prob(const ulong total, const ulong C, const ulong inner,
                                 const ulong P, __global const CLACT_STYPE *x, const ulong xo,
                                 __global const CLACT_STYPE *tgt, const ulong to,
                                 __global const CLACT_STYPE *w, const ulong wo, const int has_w,
                                 const long ignore_index, const real eps, const int reduction,
                                 __global const real *scr, __global CLACT_STYPE *gr, const ulong go,
                                 __global CLACT_STYPE *loss, const ulong lo)
{
    const ulong e = get_global_id(0);
    if (e >= total)
        return;
    clact_ce_copy_loss(e, P, reduction, scr, loss, lo);
    const ulong o = e / (C * inner), rem = e - o * C * inner;
    const ulong c = rem / inner, i = rem - c * inner, p = o * inner + i;
    const real lp = (CLACT_SLOAD1(x + xo + e) - scr[4 * p]) - scr[4 * p + 1];
    const real q = CLACT_SLOAD1(tgt + to + e) * (1.0f - eps) + eps / (real)C;
    const real wc = has_w ? CLACT_SLOAD1(w + wo + c) : 1.0f;
    const real g = exp(lp) * scr[4 * p + 2] - q * wc;
    CLACT_SSTORE1(reduction == 1 ? g / (real)P : g, gr + go + e);
}
