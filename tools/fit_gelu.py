#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Coefficients of the f32 GELU's erfc polynomial (kernels/activation.cl, clact_phi_parts):
G(s) = 0.5 erfc(a) exp(a^2) (1 + a), a >= 0 (so 0.5 erfc(a) = exp(-a^2) G(s) / (1 + a)), in s = (1/(1 + a) - M) * R, which maps y = 1/(1 + a) on
[1/(1 + A), 1] to [-1, 1] (A = 10.2: beyond, x Phi(x) rounds to 0 in float).
A weighted least-squares fit of the relative error at Chebyshev nodes in s (near-minimax),
the reference from mpmath at 40 digits; then the coefficients are rounded to float one at a
time from the highest degree, refitting the lower ones after each rounding, so the float
coefficients together keep the double fit's accuracy. Prints the coefficients (highest
degree first, for Horner) and the largest relative error with float coefficients, evaluated
in double on a dense grid of a.

  /usr/bin/python3 tools/fit_gelu.py [DEGREE]   (default 13)"""
import sys

import mpmath as mp
import numpy as np

mp.mp.dps = 40
A = 10.2
Y0 = 1.0 / (1.0 + A)
# s = (y - M) * R: float constants, so the kernel's fma(y, R, -M R) is what the fit assumes.
R = float(np.float32(2.0 / (1.0 - Y0)))
MR = float(np.float32((1.0 + Y0) / (1.0 - Y0)))


def target(y):
    a = 1 / mp.mpf(y) - 1
    return float(0.5 * mp.erfc(a) * mp.exp(a * a) * (1 + a))


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
    deg = int(sys.argv[1]) if len(sys.argv) > 1 else 13
    n = 600
    # Chebyshev nodes in s over [-1, 1], mapped back to y.
    s_nodes = np.cos(np.pi * (np.arange(n) + 0.5) / n)
    ys = (s_nodes + MR) / R
    ys = ys[(ys >= Y0 * 0.999) & (ys <= 1.0)]
    fixed = {}
    for k in range(deg, -1, -1):
        c = fit(deg, ys, fixed)
        fixed[k] = float(np.float32(c[k]))
    coef = [fixed[k] for k in range(deg, -1, -1)]
    # Check on a dense grid in a (where the kernel evaluates it).
    a = np.concatenate([np.linspace(0, 1, 2001), np.linspace(1, A, 4001)])
    ya = 1.0 / (1.0 + a)
    sa = s_of(ya)
    h = np.zeros_like(sa)
    for c in coef:
        h = h * sa + c
    ref = np.array([target(y) for y in ya])
    rel = np.abs(h / ref - 1)
    print(f"degree {deg}: R = {R!r}f, -M R = {-MR!r}f; max relative error {rel.max():.3e} "
          f"({rel.max() / 2**-24:.3f} float ulp) at a = {a[np.argmax(rel)]:.4f}")
    for c in coef:
        print(f"    {np.float32(c).item()!r:>25}  # {float(np.float32(c)).hex()}")


if __name__ == "__main__":
    main()
