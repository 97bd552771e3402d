#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Coefficients of the f32 GELU's erfc polynomial (kernels/activation.cl, act_gelu):
G(s) = 0.5 erfc(a) exp(a^2) (K + a), a >= 0 (so 0.5 erfc(a) = exp(-a^2) G(s) / (K + a)), in
s = (1/(K + a) - M) * R, which maps y = 1/(K + a) on [1/(K + A), 1/K] to [-1, 1] (A = 10.2:
beyond, x Phi(x) rounds to 0 in float). K sets how fast the polynomial converges: the largest
relative error of the double fit, in float ulp, at degrees 8 / 9 / 10 / 11 (measured
2026-11-28): K = 1: 13.1 / 9.9 / 2.7 / 0.37; K = 2: 0.85 / 0.39 / 0.06 / 0.007; K = 3: 1.5 /
0.04 / 0.03 / 0.001; K = 4: 3.8 / 0.58. But with float coefficients and the kernel's float
arithmetic the larger K lose: K = 2 at degree 10 (0.42 ulp as fitted) gave gelu 4.06 ulp and
K = 3 at degree 9 (0.67) 5.49 ulp on every 61st float32 (exhaustive_f32 --step 61), against
3.15 for K = 1 at degree 11: G then falls from K / 2 (not 0.5) to 0.28, and its
constant term's rounding is large against its smallest values. The backward's clact_phi_parts
(a in [0.5, 10.2], K = 1) has a degree-11 fit of its own.
A weighted least-squares fit of the relative error at Chebyshev nodes in s (near-minimax),
the reference from mpmath at 40 digits; then the coefficients are rounded to float one at a
time from the highest degree, refitting the lower ones after each rounding, so the float
coefficients together keep the double fit's accuracy. Prints the coefficients (highest
degree first, for Horner) and the largest relative error with float coefficients, evaluated
in double on a dense grid of a.

  /usr/bin/python3 tools/fit_gelu.py [DEGREE [K]]   (defaults 11 and 1, the forward's)"""
import sys

import mpmath as mp
import numpy as np

mp.mp.dps = 40
A = 10.2
K = float(sys.argv[2]) if len(sys.argv) > 2 else 1.0
Y0, Y1 = 1.0 / (K + A), 1.0 / K
# s = (y - M) * R: float constants, so the kernel's fma(y, R, -M R) is what the fit assumes.
R = float(np.float32(2.0 / (Y1 - Y0)))
MR = float(np.float32((Y1 + Y0) / (Y1 - Y0)))


def target(y):
    a = 1 / mp.mpf(y) - K
    return float(0.5 * mp.erfc(a) * mp.exp(a * a) * (K + a))


def s_of(y):
    return y * R - MR


def fit(deg, ys, fixed):
    """Least squares for the coefficients not in fixed (dict degree -> value), relative error."""
    s = s_of(ys)
    f = np.array([target(y) for y in ys])
    free = [k for k in range(deg + 1) if k not in fixed]
    rhs = f - sum(v * s ** k for k, v in fixed.items())
    V = np.stack([s ** k for k in free], axis=1) / f[:, None]
    c, *_ = np.linalg.lstsq(V, rhs / f, rcond=None)
    out = dict(fixed)
    out.update(zip(free, c))
    return out


def main():
    deg = int(sys.argv[1]) if len(sys.argv) > 1 else 11
    n = 600
    # Chebyshev nodes in s over [-1, 1], mapped back to y.
    s_nodes = np.cos(np.pi * (np.arange(n) + 0.5) / n)
    ys = (s_nodes + MR) / R
    ys = ys[(ys >= Y0 * 0.999) & (ys <= Y1)]
    fixed = {}
    for k in range(deg, -1, -1):
        c = fit(deg, ys, fixed)
        fixed[k] = float(np.float32(c[k]))
    coef = [fixed[k] for k in range(deg, -1, -1)]
    # Check on a dense grid in a (where the kernel evaluates it).
    a = np.concatenate([np.linspace(0, 1, 2001), np.linspace(1, A, 4001)])
    ya = 1.0 / (K + a)
    sa = s_of(ya)
    h = np.zeros_like(sa)
    for c in coef:
        h = h * sa + c
    ref = np.array([target(y) for y in ya])
    rel = np.abs(h / ref - 1)
    print(f"degree {deg}, K = {K}: R = {R!r}f, -M R = {-MR!r}f; max relative error {rel.max():.3e} "
          f"({rel.max() / 2**-24:.3f} float ulp) at a = {a[np.argmax(rel)]:.4f}")
    for c in coef:
        print(f"    {np.float32(c).item()!r:>25}  # {float(np.float32(c)).hex()}")


if __name__ == "__main__":
    main()
