// SPDX-License-Identifier: MIT
// The optimizer steps of torch.optim (host/optim.c launches them; the public header writes the
// formulas out): one kernel per step of one parameter tensor, every element read once and written
// once. Built after prelude.cl, whose -DCLACT_VW and dtype define they take; T is the storage
// type, real the compute type (double for f64, float otherwise).
//
// clact_sgd_step (torch.optim.SGD):
//   (ulong n, global T *param, ulong po, global const T *grad, ulong go, global T *buf, ulong bo,
//    real neg_lr, real momentum, real one_minus_dampening, real weight_decay,
//    int maximize, int decay, int use_momentum, int first, int nesterov)
// clact_adam_step (torch.optim.Adam and AdamW):
//   (ulong n, global T *param, ulong po, global const T *grad, ulong go, global T *exp_avg,
//    ulong mo, global T *exp_avg_sq, ulong vo, global T *max_exp_avg_sq, ulong xo,
//    real beta1, real one_minus_beta1, real beta2, real one_minus_beta2, real weight_decay,
//    real decay_factor, real bias_correction2_sqrt, real eps, real neg_step_size,
//    int maximize, int l2, int decoupled, int amsgrad)
// Every scalar, the step-dependent ones included, is formed on the host in double as PyTorch's
// Python forms it, and arrives already converted to real, as PyTorch converts its Python numbers.
// Buffers the options leave unused may be any buffer (the host passes param); they are not read.
//
// Each line below is one PyTorch 1.13 operation of the single-tensor path, in its order, rounded
// once to real. PyTorch's CPU kernels evaluate add(b, alpha=s) as fma(b, s, a) and addcmul(t, t,
// value=s) as fma(s * t, t, a), one rounding each (measured against torch: every element of both
// agrees with the fused form and not with the separate one), so these say fma(); prelude.cl turns
// contraction off, so nothing else fuses. Work-item g handles elements [g*CLACT_VW, g*CLACT_VW +
// CLACT_VW); the last one handles the tail through a private buffer, so any n and any offset work.

// CLACT_VW elements at p, m <= CLACT_VW of them real (the rest 0, computed on and never stored).
vreal optim_load(__global const CLACT_STYPE *p, const uint m)
{
    if (m == CLACT_VW)
        return CLACT_SLOAD(p);
    real t[CLACT_VW];
    for (uint k = 0; k < CLACT_VW; ++k)
        t[k] = k < m ? CLACT_SLOAD1(p + k) : (real)0.0f;
    return CLACT_LOAD(t);
}

void optim_store(const vreal v, __global CLACT_STYPE *p, const uint m)
{
    if (m == CLACT_VW) {
        CLACT_SSTORE(v, p);
        return;
    }
    real t[CLACT_VW];
    CLACT_STORE(v, t);
    for (uint k = 0; k < m; ++k)
        CLACT_SSTORE1(t[k], p + k);
}

// torch.maximum: the larger, and NaN where either is NaN (fmax would return the other one).
vreal optim_maximum(const vreal a, const vreal b)
{
    vreal larger = CLACT_SEL(a, b, b > a);
    return CLACT_SEL(larger, a + b, isnan(a) | isnan(b));
}

__kernel void clact_sgd_step(const ulong n, __global CLACT_STYPE *param, const ulong po,
                             __global const CLACT_STYPE *grad, const ulong go,
                             __global CLACT_STYPE *buf, const ulong bo, const real neg_lr,
                             const real momentum, const real one_minus_dampening,
                             const real weight_decay, const int maximize, const int decay,
                             const int use_momentum, const int first, const int nesterov)
{
    const ulong i = (ulong)get_global_id(0) * CLACT_VW;
    if (i >= n)
        return;
    const uint m = (uint)min((ulong)CLACT_VW, n - i);
    const vreal p = optim_load(param + po + i, m);
    vreal g = optim_load(grad + go + i, m);
    if (maximize)
        g = -g;
    // d_p = d_p.add(param, alpha=weight_decay): when the double is non-zero, even where its
    // float is 0 (then an infinite parameter still gives 0 * inf = NaN, as in PyTorch).
    if (decay)
        g = fma((vreal)(weight_decay), p, g);
    if (use_momentum) {
        vreal b;
        if (first) // PyTorch's first step: buf = torch.clone(d_p)
            b = g;
        else // buf.mul_(momentum).add_(d_p, alpha=1 - dampening)
            b = fma((vreal)(one_minus_dampening), g, optim_load(buf + bo + i, m) * momentum);
        optim_store(b, buf + bo + i, m);
        // d_p = d_p.add(buf, alpha=momentum) with nesterov, else d_p = buf
        g = nesterov ? fma((vreal)(momentum), b, g) : b;
    }
    // param.add_(d_p, alpha=-lr)
    optim_store(fma((vreal)(neg_lr), g, p), param + po + i, m);
}

__kernel void clact_adam_step(const ulong n, __global CLACT_STYPE *param, const ulong po,
                              __global const CLACT_STYPE *grad, const ulong go,
                              __global CLACT_STYPE *exp_avg, const ulong mo,
                              __global CLACT_STYPE *exp_avg_sq, const ulong vo,
                              __global CLACT_STYPE *max_exp_avg_sq, const ulong xo,
                              const real beta1, const real one_minus_beta1, const real beta2,
                              const real one_minus_beta2, const real weight_decay,
                              const real decay_factor, const real bias_correction2_sqrt,
                              const real eps, const real neg_step_size, const int maximize,
                              const int l2, const int decoupled, const int amsgrad)
{
    const ulong i = (ulong)get_global_id(0) * CLACT_VW;
    if (i >= n)
        return;
    const uint m = (uint)min((ulong)CLACT_VW, n - i);
    vreal p = optim_load(param + po + i, m);
    vreal g = optim_load(grad + go + i, m);
    if (maximize)
        g = -g;
    if (l2) // Adam: grad = grad.add(param, alpha=weight_decay)
        g = fma((vreal)(weight_decay), p, g);
    if (decoupled) // AdamW: param.mul_(1 - lr * weight_decay)
        p = p * decay_factor;
    // exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1)
    const vreal avg = fma((vreal)(one_minus_beta1), g, optim_load(exp_avg + mo + i, m) * beta1);
    // exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
    vreal sq = fma(one_minus_beta2 * g, g, optim_load(exp_avg_sq + vo + i, m) * beta2);
    optim_store(avg, exp_avg + mo + i, m);
    optim_store(sq, exp_avg_sq + vo + i, m);
    if (amsgrad) { // torch.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
        sq = optim_maximum(optim_load(max_exp_avg_sq + xo + i, m), sq);
        optim_store(sq, max_exp_avg_sq + xo + i, m);
    }
    // denom = (exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(eps)
    const vreal denom = sqrt(sq) / bias_correction2_sqrt + eps;
    // param.addcdiv_(exp_avg, denom, value=-step_size): param + (value * exp_avg) / denom
    optim_store(p + (neg_step_size * avg) / denom, param + po + i, m);
}
