#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""`clact apply` and `clact backward` for glu and prelu with a weight per channel against PyTorch
(Debian's python3-torch: F.glu, F.prelu and torch.autograd), in f32, f64, f16 and bf16 (the 16-bit
types as clact runs them: f16 files, and --dtype bf16 on f32 files; PyTorch in float on the same
16-bit values, its result rounded once to the type), on random inputs of every magnitude with
special values among them (fresh seed each run, printed; CLACT_TEST_SEED repeats a run):
  - glu over several shapes and dims (first, middle, last, negative), forward and gradient;
  - prelu with one weight and with one per channel (dimension 1), 1-d to 4-d, a NaN weight
    among them: forward, dx, and the weights' gradient (--weight-grad).
Rules, as tests/torch_backward.py's:
  - NaN where PyTorch gives NaN and nowhere else, ±inf exactly where PyTorch gives ±inf, except
    the documented deviations (include/clact/clact.h, clact_glu and clact_glu_backward): an infinite a
    or dy meets the factor (sigmoid(b), or the derivative a sigmoid(b) sigmoid(-b)) rounded to the
    compute type, where PyTorch's float sigmoid is already 0 (b < -88.72; -709.78 in double) or its
    1 - s is (b > 16.6; 36.7 in double): there clact gives ±inf where PyTorch gives NaN, until the
    exact factor rounds to 0 too (|b| > 103.97; 745.13 in double); and, with an infinite dy, where
    a s (1 - s) is within a few subnormal steps of 0 (PyTorch rounds twice there, clact once). Only
    that swap is excused, only there.
  - glu's finite values within rel |torch| + abs: rel 4e-5 in float and 1e-13 in double
    (benchdnn's bar for transcendental ops); abs covers where PyTorch's own arithmetic loses the
    value: |a| 2^-126 (2^-1022) where its sigmoid underflows (it gives 0 from b < -88.72; clact
    the exact product), and for db |dy a| 2^-23 (2^-52): PyTorch forms 1 - s by subtraction, an
    absolute error of half an ulp of 1 that is all of 1 - s from b = 17 on (clact: sigmoid(-b)).
    The 16-bit types add one ulp of the type (both sides are rounded from float), and every
    bound two subnormal steps (PyTorch rounds results that small more than once).
  - prelu's y and dx exactly (each one product, rounded once in either library).
  - dw within 2^-20 sum |x dy| in float (2^-48 in double; PyTorch's plain sum in its own order,
    clact's compensated one), plus one ulp for the 16-bit types; in f32 also within one ulp (plus
    2^-40 sum |x dy|) of the exact sum (math.fsum of the products, exact in double).
clact's own accuracy, in ulp against a long-double reference, is the Check suite's ('glu_prelu').
Usage: torch_glu_prelu.py path/to/clact"""
import math
import os
import subprocess
import sys
import tempfile
import warnings

import numpy as np
import torch
import torch.nn.functional as F

CLACT = sys.argv[1]
warnings.simplefilter("ignore", RuntimeWarning)
seed = int(os.environ.get("CLACT_TEST_SEED", "0")) or int.from_bytes(os.urandom(4), "little")
print(f"torch_glu_prelu: seed {seed} (set CLACT_TEST_SEED={seed} to repeat this run), "
      f"torch {torch.__version__}")
rng = np.random.default_rng(seed)

SPECIAL = np.array([-np.inf, np.inf, np.nan, -0.0, 0.0, 1e-45, -1e-45, 1e-40, -1e-40,
                    1.1754944e-38, 3.4028235e38, -3.4028235e38, 1e30, -1e30, 1e20, -1e20,
                    100, -100, 88.72283, -88.72283, -88.72284, 89, -89, -90, -103.9, -104.1, -110,
                    -150, -175.5, -200, 16.6, 17, 20, 36.8, 40, -20, 10, 1, -1, 0.5, -0.5, 1e-7],
                   dtype=np.float32)


def pool(n, wide):
    """n values: the specials and random ones of every magnitude (wide), or moderate ones with a
    few zeros (for the weight gradient's sums)."""
    if not wide:
        v = rng.uniform(-10, 10, n)
        v[rng.random(n) < 0.05] = 0.0
        return v.astype(np.float32)
    parts = [rng.uniform(-10, 10, n), rng.uniform(-0.09, 0.09, n), rng.uniform(-1000, 1000, n),
             rng.choice([-1, 1], n) * rng.uniform(85, 90, n), rng.uniform(-120, -40, n),
             rng.uniform(10, 45, n)]
    bits = rng.integers(0, 2**32, n, dtype=np.uint64).astype(np.uint32).view(np.float32)
    parts.append(bits[np.isfinite(bits)].astype(np.float64))
    v = np.concatenate([SPECIAL, *[p.astype(np.float32) for p in parts]])
    return rng.choice(v, n).astype(np.float32)


def bf16(a):
    """float32 values rounded to bf16 (nearest even), as float32."""
    u = np.ascontiguousarray(a, dtype=np.float32).view(np.uint32).astype(np.uint64)
    r = (((u + 0x7FFF + ((u >> 16) & 1)) >> 16) << 16).astype(np.uint32).view(np.float32)
    return np.where(np.isnan(a), np.float32(np.nan), r)


def ulp16(kind):
    """One ulp of f16 / bf16 at |v|."""
    mant, emin = (10, -14) if kind == "f16" else (7, -126)

    def f(v):
        a = np.abs(v)
        e = np.floor(np.log2(np.where((a > 0) & np.isfinite(a), a, 1.0)))
        return np.ldexp(1.0, (np.maximum(e, emin) - mant).astype(int))
    return f


# Each kind: how its files are written (dtype, extra CLI options), how values are rounded to it,
# what PyTorch computes in, and the tolerance's constants.
KINDS = {
    "f32": dict(np_t=np.float32, extra=[], rnd=lambda v: v.astype(np.float32), rel=4e-5,
                under=2.0**-126, sub1=2.0**-23, sum_rel=2.0**-20, u16=None, big=False,
                step=2.0**-149),
    "f64": dict(np_t=np.float64, extra=[], rnd=lambda v: v.astype(np.float64), rel=1e-13,
                under=2.0**-1022, sub1=2.0**-52, sum_rel=2.0**-48, u16=None, big=True,
                step=2.0**-1074),
    "f16": dict(np_t=np.float16, extra=[], rnd=lambda v: v.astype(np.float16), rel=4e-5,
                under=2.0**-126, sub1=2.0**-23, sum_rel=2.0**-20, u16=ulp16("f16"), big=False,
                step=2.0**-149),
    "bf16": dict(np_t=np.float32, extra=["--dtype", "bf16"], rnd=bf16, rel=4e-5,
                 under=2.0**-126, sub1=2.0**-23, sum_rel=2.0**-20, u16=ulp16("bf16"), big=False,
                 step=2.0**-149),
}


def torch_value(kind, v):
    """The file's values as PyTorch computes them: float for the 16-bit types."""
    return torch.from_numpy(np.ascontiguousarray(v, dtype=np.float64 if kind == "f64"
                                                 else np.float32))


def to_kind(kind, t):
    """PyTorch's result rounded once to the kind's type, as float64."""
    a = t.detach().numpy()
    if kind == "f16":
        a = a.astype(np.float16)
    elif kind == "bf16":
        a = bf16(a)
    return a.astype(np.float64)


failures = checked = 0


def compare(label, got, want, bound, excused=None, info=None):
    """NaN and inf as the rules say; finite values within bound (an array or a number)."""
    global failures, checked
    checked += 1
    shape = np.shape(want)
    g, w = np.asarray(got, np.float64).ravel(), np.asarray(want, np.float64).ravel()
    b = np.broadcast_to(np.asarray(bound, np.float64), shape).ravel()
    ex = np.zeros(w.shape, bool)
    if excused is not None:
        ex = np.broadcast_to(excused, shape).ravel() & np.isinf(g) & np.isnan(w)
    nan_g, nan_w = np.isnan(g), np.isnan(w)
    bad = (nan_g != nan_w) & ~ex
    bad |= np.isinf(w) & (g != w)
    bad |= np.isinf(g) & ~np.isinf(w) & ~ex
    fin = np.isfinite(g) & np.isfinite(w)
    with np.errstate(invalid="ignore"):
        bad |= fin & ~(np.abs(g - w) <= b)
    if bad.any():
        failures += 1
        i = np.flatnonzero(bad)[:5]
        print(f"FAIL {label}: {bad.sum()} of {g.size}; clact={g[i]} torch={w[i]}"
              + ("" if info is None else f" ({info(i)})"))
    else:
        print(f"ok   {label:48s}" + (f" {int(ex.sum())} documented deviations" if ex.any() else ""))


def clact(*args):
    r = subprocess.run([CLACT, *args], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"clact {' '.join(args)}: exit {r.returncode}: {r.stderr.strip()}")


def glu_windows(kind, b, which):
    """Where clact documents ±inf for PyTorch's NaN (see the docstring): which = "s" for a * s and
    dy * s with an infinite a or dy, "a" for db with an infinite a (s (1 - s) rounded), "dy" for
    db with an infinite dy (a s (1 - s) rounded: PyTorch's is 0 wherever its s (1 - s) is)."""
    lo, hi, cancel, exact = ((-709.78, -745.14, 36.7, 745.14) if kind == "f64"
                             else (-88.7228, -103.98, 16.6, 103.98))
    if which == "dy":
        return (b < lo) | (b > cancel)
    under = (b < lo) & (b > hi)
    return under | ((b > cancel) & (b < exact)) if which == "a" else under


GLU_CASES = [((6,), 0), ((3, 8), 1), ((3, 8), -1), ((4, 6, 5), 0), ((4, 6, 5), 1), ((4, 6, 5), -3),
             ((2, 3, 34), -1), ((5, 2), -1), ((2, 4, 3, 10), 3), ((2, 4, 3, 10), 1), ((64, 66), 1)]


def run_glu(d, kind, k):
    p = lambda n: os.path.join(d, n)
    for shape, dim in GLU_CASES:
        label = f"glu {shape} dim={dim} {kind}"
        n = int(np.prod(shape))
        x = k["rnd"](pool(n, True).astype(np.float64).reshape(shape))
        if k["big"]:  # f64: also beyond float's range
            x = np.where(rng.random(shape) < 0.1, rng.uniform(-800, 800, shape), x)
        half = list(shape)
        half[dim] //= 2
        dy = k["rnd"](rng.uniform(-2, 2, half))
        dy = np.where(rng.random(half) < 0.03, np.inf, dy).astype(dy.dtype)
        np.save(p("x.npy"), x.astype(k["np_t"]))
        np.save(p("dy.npy"), dy.astype(k["np_t"]))
        try:
            clact("apply", "glu", f"dim={dim}", *k["extra"], p("x.npy"), p("y.npy"))
            clact("backward", "glu", f"dim={dim}", *k["extra"], p("x.npy"), p("dy.npy"),
                  p("dx.npy"))
        except RuntimeError as e:
            global failures
            failures += 1
            print(f"FAIL {label}: {e}")
            continue
        xt = torch_value(kind, x).requires_grad_(True)
        yt = F.glu(xt, dim)
        yt.backward(torch_value(kind, dy))
        h = shape[dim] // 2
        a, b = (np.take(x.astype(np.float64), range(i, i + h), dim) for i in (0, h))
        g = dy.astype(np.float64)
        want = to_kind(kind, yt)
        # Two subnormal steps on top: results that small are rounded at least once more by
        # PyTorch's separate operations.
        one16 = k["u16"] or (lambda v: 0)
        u16 = lambda v: one16(v) + 2 * k["step"]
        with np.errstate(all="ignore"):
            bound = k["rel"] * np.abs(want) + k["under"] * np.abs(a) + u16(want)
            compare(label + " forward", np.load(p("y.npy")), want, bound,
                    np.isinf(a) & glu_windows(kind, b, "s"))
            dxw = to_kind(kind, xt.grad)
            da, db = (np.take(dxw, range(i, i + h), dim) for i in (0, h))
            bda = k["rel"] * np.abs(da) + k["under"] * np.abs(g) + u16(da)
            bdb = k["rel"] * np.abs(db) + k["sub1"] * np.abs(g * a) + u16(db)
            got = np.load(p("dx.npy")).astype(np.float64)
            ga, gb = (np.take(got, range(i, i + h), dim) for i in (0, h))
            compare(label + " da", ga, da, bda, np.isinf(g) & glu_windows(kind, b, "s"))
            # Where dy is infinite, also where a s (1 - s) is about to underflow (PyTorch rounds
            # (1 - s) s, then times a; clact the exact product, once).
            sig = lambda t: 1 / (1 + np.exp(-t))
            edge = np.abs(a * sig(b) * sig(-b)) < 4 * (2.0**-1074 if kind == "f64" else 2.0**-149)
            compare(label + " db", gb, db, bdb,
                    np.isinf(a) & glu_windows(kind, b, "a")
                    | np.isinf(g) & (glu_windows(kind, b, "dy") | edge),
                    lambda i: f"a={a.ravel()[i]} b={b.ravel()[i]} dy={g.ravel()[i]}")


PRELU_CASES = [((7,), 1), ((5, 3), 3), ((5, 3), 1), ((4, 6, 7), 6), ((2, 5, 3, 3), 5),
               ((1000, 33), 33), ((3, 4, 4099), 4), ((), 1)]


def run_prelu(d, kind, k):
    p = lambda n: os.path.join(d, n)
    for shape, C in PRELU_CASES:
        for wide in (True, False):
            label = f"prelu {shape} weights={C} {'special' if wide else 'moderate'} {kind}"
            n = int(np.prod(shape))
            x = k["rnd"](pool(n, wide).astype(np.float64).reshape(shape))
            w = k["rnd"](rng.uniform(-1, 1, C))
            if C > 2:
                w[1], w[2] = 0.0, (np.nan if wide else -0.0)
            dy = k["rnd"](rng.uniform(-2, 2, shape))
            np.save(p("x.npy"), x.astype(k["np_t"]))
            np.save(p("w.npy"), w.astype(k["np_t"]).reshape(() if C == 1 and not shape else (C,)))
            np.save(p("dy.npy"), dy.astype(k["np_t"]))
            try:
                clact("apply", "prelu", "weight=" + p("w.npy"), *k["extra"], p("x.npy"), p("y.npy"))
                clact("backward", "prelu", "weight=" + p("w.npy"), "--weight-grad", p("dw.npy"),
                      *k["extra"], p("x.npy"), p("dy.npy"), p("dx.npy"))
            except RuntimeError as e:
                global failures
                failures += 1
                print(f"FAIL {label}: {e}")
                continue
            xt = torch_value(kind, x).requires_grad_(True)
            wt = torch_value(kind, w).requires_grad_(True)
            F.prelu(xt, wt).backward(torch_value(kind, dy))
            yw = to_kind(kind, F.prelu(torch_value(kind, x), torch_value(kind, w)))
            compare(label + " forward", np.load(p("y.npy")), yw, 0)
            compare(label + " dx", np.load(p("dx.npy")), to_kind(kind, xt.grad), 0)
            # dw: against autograd's sums, and (f32) the exact sums.
            x64, g64 = x.astype(np.float64), dy.astype(np.float64)
            terms = np.where(x64 > 0, 0.0, x64 * g64)
            axes = tuple(i for i in range(len(shape)) if i != 1) if C > 1 else None
            with np.errstate(all="ignore"):
                abs_sum = np.abs(terms).sum(axis=axes)
            dww = to_kind(kind, wt.grad).ravel()
            got = np.load(p("dw.npy")).astype(np.float64).ravel()
            u16 = k["u16"] or (lambda v: 0)
            # A channel whose finite terms could overflow a partial sum has no order-free
            # answer (PyTorch's order and clact's may give inf, -inf or NaN): not compared.
            with np.errstate(all="ignore"):
                prods = np.where(x > 0, 0.0, (x * dy).astype(k["np_t"]).astype(np.float64))
                fin = np.where(np.isfinite(prods), np.abs(prods), 0.0)
                top = np.finfo(np.float64 if kind == "f64" else np.float32).max
                keep = np.atleast_1d(fin.sum(axis=axes)) <= top
                if not keep.all():
                    print(f"     {label}: {int((~keep).sum())} of {C} weights' sums could "
                          "overflow, not compared")
                compare(label + " dw", got[keep], dww[keep],
                        (k["sum_rel"] * np.atleast_1d(abs_sum) + u16(dww))[keep])
            if kind == "f32" and not wide:
                cols = terms.reshape(-1) if C == 1 else np.moveaxis(terms, 1, 0).reshape(C, -1)
                exact = np.array([math.fsum(c) for c in np.atleast_2d(cols)])
                spacing = np.spacing(np.abs(exact).astype(np.float32)).astype(np.float64)
                compare(label + " dw exact", got, exact, spacing + 2.0**-40 * abs_sum)


with tempfile.TemporaryDirectory() as d:
    for kind, k in KINDS.items():
        run_glu(d, kind, k)
        run_prelu(d, kind, k)

print(f"torch_glu_prelu: {checked - failures} passed, {failures} failed")
sys.exit(1 if failures else 0)
