#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""`clact backward` against torch.autograd (Debian's python3-torch) for every op of the library's
list (default parameters, and the non-default cases below), in f32, f64, f16 and bf16, on random
inputs of every magnitude (fresh seed each run, printed; CLACT_TEST_SEED repeats a run) and on
special values, with random dy. Rules:
  - NaN where PyTorch gives NaN and nowhere else; ±inf exactly where PyTorch gives ±inf; except
    the documented deviations (include/clact/clact.h, clact_backward), where clact gives the exact
    gradient and PyTorch's float arithmetic overflows into NaN at finite inputs: gelu_tanh for
    |x| > 1.8e19 (x*x overflows), softplus with threshold > 88.7 for 88.7 < beta x <= threshold;
  - finite values within rel |torch| + abs |dy|: rel 4e-5 and abs 2^-22 in float (PyTorch's own
    formulas round where they cancel: tanh's 1 - y^2 from a rounded y, GELU's 1 + erf, silu's
    root), 1e-13 and 2^-50 in double, and for f16 / bf16 one ulp of the type on top (both are
    rounded from float). clact's own accuracy, in ulp against a long-double reference, is the
    Check suite's ('backward').
  - the softmax family's backward on 3-D tensors, every dim, against autograd.
Usage: torch_backward.py path/to/clact"""
import os
import subprocess
import sys
import tempfile
import warnings

import numpy as np
import torch
import torch.nn.functional as F

from clact_names import library_ops  # tests/clact_names.py, beside this script

CLACT = sys.argv[1]
warnings.simplefilter("ignore", RuntimeWarning)
warnings.simplefilter("ignore", UserWarning)  # F.sigmoid and F.tanh are deprecated aliases
seed = int(os.environ.get("CLACT_TEST_SEED", "0")) or int.from_bytes(os.urandom(4), "little")
print(f"torch_backward: seed {seed} (set CLACT_TEST_SEED={seed} to repeat this run), "
      f"torch {torch.__version__}")
rng = np.random.default_rng(seed)


def torch_fn(name, params):
    """torch.nn.functional's function of the op's name with the given keyword parameters."""
    kw = {k: (float(v) if v.replace(".", "").replace("-", "").isdigit() else v)
          for k, v in (p.split("=") for p in params)}
    if name == "gelu_tanh":
        return lambda t: F.gelu(t, approximate="tanh")
    fn = getattr(F, name, None) or getattr(torch, name)
    return lambda t: fn(t, **kw)


CASES = [(op, []) for op in library_ops(CLACT)] + [
    ("leaky_relu", ["negative_slope=0.2"]), ("leaky_relu", ["negative_slope=-1.5"]),
    ("elu", ["alpha=0.3"]), ("elu", ["alpha=-2"]),
    ("softplus", ["beta=2", "threshold=10"]), ("softplus", ["beta=0.3", "threshold=1"]),
    ("softplus", ["beta=-1"]), ("softplus", ["threshold=100"]),
]

SPECIAL = np.array([-np.inf, np.inf, np.nan, -0.0, 0.0, 1e-45, -1e-45, 1e-40, -1e-40,
                    1.1754944e-38, 3.4028235e38, -3.4028235e38, 1e30, -1e30, 1e20, -1e20,
                    100, -100, 88.72283, -88.72283, 89, -89, 20, -20, 19.999998, 20.000002, 10,
                    5, 5.0000005, 3.3333335, 1, -1, 3, -3, -0.7518, -1.2785, -1.1924, -6, -10,
                    40, 40.000004, 44, -44, 1e-7, -1e-7, 0.5, -0.5], dtype=np.float32)


def inputs(n):
    parts = [rng.uniform(-10, 10, n), rng.uniform(-0.09, 0.09, n), rng.uniform(-1000, 1000, n),
             rng.choice([-1, 1], n) * rng.uniform(85, 90, n), rng.uniform(-110, -40, n),
             rng.uniform(-2.5, 0.5, n), rng.uniform(-20, 20, n)]
    bits = rng.integers(0, 2**32, n, dtype=np.uint64).astype(np.uint32).view(np.float32)
    parts.append(bits[np.isfinite(bits)].astype(np.float64))
    return np.concatenate([SPECIAL, *[p.astype(np.float32) for p in parts]]).astype(np.float32)


def bf16(a):
    """float32 values rounded to bf16 (nearest even), as float32."""
    u = np.ascontiguousarray(a, dtype=np.float32).view(np.uint32).astype(np.uint64)
    r = (((u + 0x7FFF + ((u >> 16) & 1)) >> 16) << 16).astype(np.uint32).view(np.float32)
    return np.where(np.isnan(a), np.float32(np.nan), r)


def autograd(fn, x, dy):
    t = torch.from_numpy(x.copy()).requires_grad_(True)
    fn(t).backward(torch.from_numpy(dy.copy()))
    return t.grad.numpy()


def torch_error_scale(op, x):
    """How much PyTorch's own formula magnifies its roundings, per unit of dy: tanh-GELU's
    0.5 x (1 - tanh^2 u) sqrt(2/pi) (1 + 3k x^2) forms 1 - tanh^2 from a rounded tanh, an error of
    one ulp of 1 times that multiplier."""
    if op == "gelu_tanh":
        ax = np.abs(x.astype(np.float64))
        return 1 + 0.5 * ax * 0.7978845608 * (1 + 0.134145 * ax * ax)
    return np.ones(x.shape)


def deviation(op, params, x):
    """Where clact documents an exact value in place of PyTorch's overflow NaN."""
    if op == "gelu_tanh":
        return np.isfinite(x) & (np.abs(x) > 1.8e19)
    if op == "softplus" and "threshold=100" in params:
        return np.isfinite(x) & (x > 80) & (x <= 100)
    return np.zeros(x.shape, bool)


failures = checked = 0


def compare(label, got, want, x, dy, dev, rel, ab, unit16=None, scale=None):
    global failures, checked
    checked += 1
    got, want, x, dy = got.ravel(), want.ravel(), x.ravel(), dy.ravel()
    g, w = got.astype(np.float64), want.astype(np.float64)
    nan_g, nan_w = np.isnan(g), np.isnan(w)
    bad = (nan_g != nan_w) & ~dev
    inf_w = np.isinf(w) & ~nan_w
    bad |= inf_w & (g != w) & ~dev
    bad |= np.isinf(g) & ~nan_g & ~inf_w
    fin = np.isfinite(g) & np.isfinite(w)
    bound = rel * np.abs(w) + ab * np.abs(dy) * (1 if scale is None else scale.ravel())
    if unit16 is not None:
        bound = bound + unit16(w)
    bad |= fin & (np.abs(g - w) > bound)
    if bad.any():
        failures += 1
        i = np.flatnonzero(bad)[:5]
        print(f"FAIL {label}: {bad.sum()} elements; x={x[i]} dy={dy[i]} clact={got[i]} torch={want[i]}")
    else:
        print(f"ok   {label:40s} {int(dev.sum())} documented deviations" if dev.any()
              else f"ok   {label}")


def ulp16(kind):
    """One ulp of f16 / bf16 at |v| (the 16-bit result is one rounding from float)."""
    mant, emin = (10, -14) if kind == "f16" else (7, -126)
    def f(v):
        a = np.abs(v)
        e = np.floor(np.log2(np.where(a > 0, a, 1.0)))
        return np.ldexp(1.0, (np.maximum(e, emin) - mant).astype(int))
    return f


with tempfile.TemporaryDirectory() as d:
    p = lambda n: os.path.join(d, n)
    x32 = inputs(3000)
    dy32 = rng.uniform(-2, 2, x32.size).astype(np.float32)
    dy32[::53] = 0
    wide = np.concatenate([x32.astype(np.float64), rng.uniform(-750, 750, 400),
                           [1e300, -1e300, 1e-310, -1e-310, 709.78, -745.1, 1.7e308, -1.7e308]])
    dy64 = rng.uniform(-2, 2, wide.size)
    runs = [("f32", x32, dy32, [], 4e-5, 2.0**-22, None),
            ("f64", wide, dy64, [], 1e-13, 2.0**-50, None),
            ("f16", x32.astype(np.float16), dy32.astype(np.float16), [], 4e-5, 2.0**-22,
             ulp16("f16")),
            ("bf16", bf16(x32), bf16(dy32), ["--dtype", "bf16"], 4e-5, 2.0**-22, ulp16("bf16"))]
    for kind, x, dy, extra, rel, ab, unit16 in runs:
        np.save(p("x.npy"), x)
        np.save(p("dy.npy"), dy)
        for op, params in CASES:
            label = " ".join([op, *params, kind])
            r = subprocess.run([CLACT, "backward", op, *params, *extra, p("x.npy"), p("dy.npy"),
                                p("dx.npy")], capture_output=True, text=True)
            if r.returncode != 0:
                failures += 1
                print(f"FAIL {label}: clact exit {r.returncode}: {r.stderr.strip()}")
                continue
            got = np.load(p("dx.npy"))
            # PyTorch in float for the 16-bit types (its opmath), on the same 16-bit values.
            xt = x.astype(np.float32) if unit16 else x
            dyt = dy.astype(np.float32) if unit16 else dy
            want = autograd(torch_fn(op, params), xt, dyt)
            if kind == "bf16":
                want = bf16(want)
            compare(label, got, want, xt, dyt.astype(np.float64), deviation(op, params, xt), rel,
                    ab, unit16, torch_error_scale(op, xt))

    # The softmax family: 3-D tensors, every dim.
    for dt in (np.float32, np.float64):
        xs = rng.uniform(-10, 10, (4, 5, 6)).astype(dt)
        dys = rng.uniform(-2, 2, xs.shape).astype(dt)
        np.save(p("x.npy"), xs)
        np.save(p("dy.npy"), dys)
        for kind, fn in [("softmax", torch.softmax), ("log_softmax", torch.log_softmax),
                         ("softmin", F.softmin)]:
            for dim in range(-3, 3):
                r = subprocess.run([CLACT, "backward", kind, f"dim={dim}", p("x.npy"),
                                    p("dy.npy"), p("dx.npy")], capture_output=True, text=True)
                label = f"{kind} dim={dim} {np.dtype(dt).name}"
                if r.returncode != 0:
                    failures += 1
                    print(f"FAIL {label}: clact exit {r.returncode}: {r.stderr.strip()}")
                    continue
                want = autograd(lambda t: fn(t, dim), xs, dys)
                tol = 1e-5 if dt == np.float32 else 1e-12
                compare(label, np.load(p("dx.npy")), want, xs.ravel(), dys.ravel(),
                        np.zeros(xs.size, bool), tol, tol)

print(f"torch_backward: {checked - failures} passed, {failures} failed")
sys.exit(1 if failures else 0)
