#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Coefficients of the f32 softplus's log1p (kernels/activation.cl, clact_log1p_poly):
P(e) = log1p(e) / e for e in [0, 1], a polynomial in e (no division). A weighted least-squares
fit of the relative error at Chebyshev nodes (near-minimax), the reference from mpmath at 40
digits; the coefficients are rounded to float one at a time from the highest degree, refitting
the lower ones after each rounding. Prints the coefficients (highest degree first, for Horner)
and the largest relative error with the float coefficients, evaluated in double on a dense grid.

  /usr/bin/python3 tools/fit_log1p.py [DEGREE]   (default 11)"""
import sys

import mpmath as mp
import numpy as np

mp.mp.dps = 40


def target(e):
    e = mp.mpf(e)
    return float(mp.log1p(e) / e) if e != 0 else 1.0


def fit(deg, es, f, fixed):
    free = [k for k in range(deg + 1) if k not in fixed]
    rhs = f - sum(v * es ** k for k, v in fixed.items())
    V = np.stack([es ** k for k in free], axis=1) / f[:, None]
    c, *_ = np.linalg.lstsq(V, rhs / f, rcond=None)
    out = dict(fixed)
    out.update(zip(free, c))
    return out


def main():
    deg = int(sys.argv[1]) if len(sys.argv) > 1 else 11
    n = 400
    es = 0.5 + 0.5 * np.cos(np.pi * (np.arange(n) + 0.5) / n)
    f = np.array([target(e) for e in es])
    fixed = {}
    for k in range(deg, -1, -1):
        fixed[k] = float(np.float32(fit(deg, es, f, fixed)[k]))
    coef = [fixed[k] for k in range(deg, -1, -1)]
    grid = np.linspace(0, 1, 20001)
    p = np.zeros_like(grid)
    for c in coef:
        p = p * grid + c
    ref = np.array([target(e) for e in grid])
    rel = np.abs(p / ref - 1)
    print(f"degree {deg}: max relative error {rel.max():.3e} ({rel.max() / 2**-24:.3f} float ulp) "
          f"at e = {grid[np.argmax(rel)]:.5f}")
    for c in coef:
        print(f"    {np.float32(c).item()!r:>25}  # {float(np.float32(c)).hex()}")


if __name__ == "__main__":
    main()
