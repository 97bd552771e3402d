#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""`clact backward` against torch.autograd (Debian's python3-torch, 1.13) for every elementwise op
of the library's list (default parameters, and the non-default cases below; threshold, which has
no defaults, only there; glu is not elementwise and has its own tests), in f32, f64, f16 and bf16,
on random inputs of every magnitude (fresh seed each run, printed; CLACT_TEST_SEED repeats a run)
and on special values, with random dy. Rules:
  - NaN where PyTorch gives NaN and nowhere else; ±inf exactly where PyTorch gives ±inf. The
    special values lie at the front of a long tensor that ends with 64 ordinary values, so that
    PyTorch's vectorised CPU kernels see them, which clact follows at NaN (relu6, hardtanh and the
    shrinks give 0 there, elu, selu, celu and hardswish NaN; PyTorch's scalar tail gives dy);
  - documented deviations (include/clact/clact.h, clact_backward), where clact gives the exact
    gradient and PyTorch's float arithmetic overflows into NaN at finite inputs: gelu_tanh for
    |x| > 1.8e19 (x*x overflows), softplus with threshold > 88.7 for 88.7 < beta x <= threshold;
  - hardswish at x = 3 exactly: PyTorch 1.13's vectorised CPU kernel gives dy (it tests x >= 3
    first), its scalar kernel and CUDA 1.5 dy (x <= 3 first), as SEMANTICS.md's table says; clact
    gives 1.5 dy, so there the reference is PyTorch's scalar result (autograd on that element
    alone), counted in the output;
  - hardsigmoid in f64: PyTorch's kernel multiplies by float's 1/6 (1.0f / 6.0f,
    0.1666666716) also in double, 2.98e-8 relative off; clact's gradient is dy/6 in double, the
    contract's exact value (SEMANTICS.md: exact, not PyTorch's rounding), so the f64 reference on
    (-3, 3) is dy/6, counted in the output;
  - finite values within rel |torch| + abs |dy|: rel 4e-5 and abs 2^-22 in float (PyTorch's own
    formulas round where they cancel: tanh's 1 - y^2 from a rounded y, GELU's 1 + erf, silu's
    root, and the composites softsign and tanhshrink, whose autograd forms 1/d - |x|/d^2 and
    1 - (1 - tanh^2): PyTorch's softsign gradient is 0 from |x| = 1e20, exact 1e-40, within the
    absolute term), 1e-13 and 2^-50 in double, and for f16 / bf16 one ulp of the type on top (both
    are rounded from float; PyTorch's float result is rounded to the 16-bit type first, as a
    16-bit PyTorch tensor would hold it: celu(alpha=-2)'s exp(x/alpha) overflows f16 to inf). For
    softsign and tanhshrink clact is also checked against the exact gradients 1/(1+|x|)^2 and
    tanh(x)^2 in float64, at the same relative bar with an absolute floor of one subnormal ulp of
    the compute type times (1 + |dy|) (the gradient and its product with dy are subnormal from
    |x| = 1e19 and below |x| = 1e-19). clact's own accuracy, in ulp against a long-double
    reference, is the Check suite's ('backward').
  - rrelu in training mode (training=1 seed=S, the seed drawn from the run's and printed): dx
    against PyTorch's own backward, torch.ops.aten.rrelu_with_noise_backward(dy, x, noise, lower,
    upper, training=True), with clact's slopes (read as -rrelu(-1), in float for f16 and bf16,
    whose compute type it is) as the noise, 1 for x > 0 and NaN as PyTorch saves it: bit for bit
    in all four types; and against the forward: dx = dy * (y/x) for negative x within y's
    rounding, dx = dy for x > 0.
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
    """torch.nn.functional's function of the op's name with the given keyword parameters
    (prelu's weight as a one-element tensor; rrelu in evaluation mode, F.rrelu's default)."""
    kw = {k: (float(v) if v.replace(".", "").replace("-", "").isdigit() else v)
          for k, v in (p.split("=") for p in params)}
    if name == "gelu_tanh":
        return lambda t: F.gelu(t, approximate="tanh")
    if name == "prelu":
        w = kw.get("weight", 0.25)
        return lambda t: F.prelu(t, torch.tensor([w], dtype=t.dtype))
    if name == "rrelu":
        kw.pop("training", None)  # "training=0": evaluation mode, as F.rrelu's default
    fn = getattr(F, name, None) or getattr(torch, name)
    return lambda t: fn(t, **kw)


# Every op of the list with its defaults, but threshold (it has none) and glu (not elementwise).
CASES = [(op, []) for op in library_ops(CLACT) if op not in ("threshold", "glu")] + [
    ("leaky_relu", ["negative_slope=0.2"]), ("leaky_relu", ["negative_slope=-1.5"]),
    ("elu", ["alpha=0.3"]), ("elu", ["alpha=-2"]),
    ("softplus", ["beta=2", "threshold=10"]), ("softplus", ["beta=0.3", "threshold=1"]),
    ("softplus", ["beta=-1"]), ("softplus", ["threshold=100"]),
    ("hardtanh", ["min_val=-2", "max_val=2.5"]), ("hardtanh", ["min_val=0.5", "max_val=0.5"]),
    ("celu", ["alpha=0.5"]), ("celu", ["alpha=-2"]),
    ("softshrink", ["lambd=1.5"]), ("softshrink", ["lambd=0"]),
    ("hardshrink", ["lambd=2"]), ("hardshrink", ["lambd=-1"]),
    ("threshold", ["threshold=0.5", "value=-2"]), ("threshold", ["threshold=-1", "value=7"]),
    ("prelu", ["weight=-0.5"]),
    ("rrelu", ["lower=0.1", "upper=0.9"]), ("rrelu", ["training=0", "lower=-0.5", "upper=0.25"]),
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
    # Last, 64 ordinary values: PyTorch's scalar tail (< 64 elements) falls on them.
    parts.append(rng.uniform(-2, 2, 64))
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


def scalar_points(op, x):
    """Where PyTorch's vectorised and scalar CPU kernels differ and clact follows the scalar one
    (hardswish at x = 3; see the docstring)."""
    if op == "hardswish":
        return x == 3
    return np.zeros(x.shape, bool)


def torch_scalar(fn, x, dy):
    """autograd one element at a time: PyTorch's scalar kernel."""
    return np.array([autograd(fn, np.array([a]), np.array([b]))[0] for a, b in zip(x, dy)])


def exact_grad(op, x):
    """softsign's and tanhshrink's exact gradients in float64, or None."""
    x = x.astype(np.float64)
    if op == "softsign":
        with np.errstate(invalid="ignore"):
            return np.where(np.isinf(x), np.nan, 1 / (1 + np.abs(x)) ** 2)
    if op == "tanhshrink":
        return np.tanh(x) ** 2
    return None


failures = checked = 0


def compare(label, got, want, x, dy, dev, rel, ab, unit16=None, scale=None, note="", floor=0.0):
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
    bound = rel * np.abs(w) + ab * np.abs(dy) * (1 if scale is None else scale.ravel()) + floor
    if unit16 is not None:
        bound = bound + unit16(w)
    bad |= fin & (np.abs(g - w) > bound)
    if bad.any():
        failures += 1
        i = np.flatnonzero(bad)[:5]
        print(f"FAIL {label}: {bad.sum()} elements; x={x[i]} dy={dy[i]} clact={got[i]} torch={want[i]}")
    else:
        print(f"ok   {label:40s} {int(dev.sum())} documented deviations{note}" if dev.any()
              else f"ok   {label}{note}")


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
    # (x32's last 64 ordinary values stay last: PyTorch's scalar tail)
    wide = np.concatenate([x32[:-64].astype(np.float64), rng.uniform(-750, 750, 400),
                           [1e300, -1e300, 1e-310, -1e-310, 709.78, -745.1, 1.7e308, -1.7e308],
                           x32[-64:].astype(np.float64)])
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
            note = ""
            sp = scalar_points(op, xt)
            if sp.any():
                want[sp] = torch_scalar(torch_fn(op, params), xt[sp], dyt[sp])
                note = f", {int(sp.sum())} at PyTorch's scalar kernel"
            if op == "hardsigmoid" and kind == "f64":
                inside = (xt > -3) & (xt < 3)
                want = np.where(inside, dyt / 6, want)
                note = f", {int(inside.sum())} at dy/6 (PyTorch's f64 float 1/6)"
            if kind == "bf16":
                want = bf16(want)
            elif kind == "f16":
                want = want.astype(np.float16).astype(np.float32)
            compare(label, got, want, xt, dyt.astype(np.float64), deviation(op, params, xt), rel,
                    ab, unit16, torch_error_scale(op, xt), note)
            ex = exact_grad(op, xt)
            if ex is not None:
                # clact against the exact gradient (see the docstring); the 16-bit results are
                # one rounding of the float ones, so one ulp of the type on top.
                sub = 2.0**-1074 if kind == "f64" else 2.0**-149
                want = ex * dyt.astype(np.float64)
                compare(label + " (exact)", got, want, xt, dyt.astype(np.float64),
                        np.zeros(xt.shape, bool), rel, sub, unit16, floor=sub)

    # rrelu in training mode (see the docstring).
    rseed = int(rng.integers(0, 2**63)) * 2 + int(rng.integers(0, 2))
    print(f"rrelu training: seed={rseed} (from the run's seed)")

    def clact_out(args, out):
        r = subprocess.run([CLACT, *args], capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"clact exit {r.returncode}: {r.stderr.strip()}")
        return np.load(out)

    def verdict(label, bad, detail):
        global failures, checked
        checked += 1
        if bad:
            failures += 1
        print(f"{'FAIL' if bad else 'ok  '} {label}: {detail}")

    for lower, upper in [(0.125, 1 / 3), (-0.5, 0.25)]:
        params = [f"lower={lower!r}", f"upper={upper!r}", "training=1", f"seed={rseed}"]
        slopes = {}
        for kind, x, dy, extra, rel, ab, unit16 in runs:
            label = f"rrelu training lower={lower:.6g} upper={upper:.6g} {kind}"
            ct = np.float64 if kind == "f64" else np.float32  # the compute type
            xt, dyt = x.astype(ct), dy.astype(ct)
            np.save(p("x.npy"), x)
            np.save(p("dy.npy"), dy)
            try:
                if ct not in slopes:  # -rrelu(-1) = the slopes, exactly
                    np.save(p("m1.npy"), -np.ones(x.size, ct))
                    slopes[ct] = -clact_out(["apply", "rrelu", *params, p("m1.npy"),
                                             p("r.npy")], p("r.npy"))
                got = clact_out(["backward", "rrelu", *params, *extra, p("x.npy"), p("dy.npy"),
                                 p("dx.npy")], p("dx.npy"))
                y = clact_out(["apply", "rrelu", *params, *extra, p("x.npy"), p("y.npy")],
                              p("y.npy"))
            except RuntimeError as e:
                verdict(label, True, str(e))
                continue
            # PyTorch's backward with clact's slopes as its noise (1 where x > 0 or NaN).
            noise = np.where(xt <= 0, slopes[ct][:x.size], ct(1))
            want = torch.ops.aten.rrelu_with_noise_backward(
                torch.from_numpy(dyt), torch.from_numpy(xt), torch.from_numpy(noise), lower,
                upper, True, False).numpy()
            want = bf16(want) if kind == "bf16" else want.astype(x.dtype)
            same = (got == want) | (np.isnan(got) & np.isnan(want))
            verdict(label + " = rrelu_with_noise_backward", not same.all(),
                    f"{int((~same).sum())} differ: x={x[~same][:4]} dy={dy[~same][:4]} "
                    f"clact={got[~same][:4]} torch={want[~same][:4]}" if not same.all()
                    else f"{x.size} elements, bit for bit")
            # Against the forward: dx = dy * (y / x) for negative x up to the roundings of y and
            # dx (a unit of the stored type each) and of this double arithmetic (y / x, the
            # product: 2^-53 each, and margin); dy where x > 0.
            u = {"f32": 2.0**-24, "f64": 2.0**-53, "f16": 2.0**-11, "bf16": 2.0**-8}[kind]
            tiny = np.finfo(x.dtype).tiny if kind != "bf16" else np.finfo(np.float32).tiny
            g64, y64, x64, d64 = (a.astype(np.float64) for a in (got, y, x, dy))
            neg = (x64 < 0) & np.isfinite(x64) & (np.abs(y64) >= tiny) & (np.abs(g64) >= tiny)
            with np.errstate(all="ignore"):
                fwd = d64 * (y64 / x64)
            bad = neg & ~(np.abs(g64 - fwd) <= (2 * u + 4 * 2.0**-53) * np.abs(fwd))
            bad |= (x64 > 0) & (g64 != d64)
            verdict(label + " = dy * y/x (x < 0), dy (x > 0)", bad.any() or neg.sum() < 1000,
                    f"x={x[bad][:4]} dy={dy[bad][:4]} dx={got[bad][:4]} y={y[bad][:4]}"
                    if bad.any() else f"{int(neg.sum())} negative, {int((x64 > 0).sum())} positive")

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
