#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The dense layer (python/clact.py over the library) against torch.nn.Linear + the activation +
torch.autograd (Debian's python3-torch), for no activation and every elementwise activation of the
library's list (threshold with threshold=0.25, value=-0.5; rrelu in evaluation mode), with and
without bias, shapes 1x1x1, 3x5x7, batch 1 and 129x257x65, the backward from the
pre-activation and, where the activation allows (what PyTorch's in-place activations save), from
the output (prelu's fused backward is refused: it would not give the weight's gradient); f32 and
f64. Random weights as nn.Linear initialises them, fresh seed each run
(printed; CLACT_TEST_SEED repeats a run). A sum of k products is compared within
(2k + 8) u sum|terms| + 1e-5 |value| in float (u = 2^-24), with 1.2 |dy| bounding |dz|. The
output y's bound also holds PyTorch's own rounding in the activation: |torch's y - the activation
in double of torch's pre-activation|. clact returns the exact value where PyTorch loses digits
(README): PyTorch 1.13's float selu/elu/celu take exp(z) - 1, which for z = -0.0015 is 2e-5 off
in relative terms (seed 2145260576: selu 1x1x1, clact -0.0026243294, torch -0.0026242782, in
double from the same pre-activation -0.0026243292), more than 1e-5 |value|.
Usage: torch_dense.py (with CLACT_LIBRARY naming the library and python/ beside this folder)"""
import os
import sys
import warnings

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
import clact  # noqa: E402

warnings.simplefilter("ignore", UserWarning)  # F.sigmoid and F.tanh are deprecated aliases
seed = int(os.environ.get("CLACT_TEST_SEED", "0")) or int.from_bytes(os.urandom(4), "little")
print(f"torch_dense: seed {seed} (set CLACT_TEST_SEED={seed} to repeat this run), "
      f"torch {torch.__version__}")
torch.manual_seed(seed)
rng = np.random.default_rng(seed)


# Parameters for the ops that need them (threshold has no defaults); glu is not elementwise and
# has no fused form, and rrelu runs in evaluation mode (the fused layer has no training mode).
PARAMS = {"threshold": {"threshold": 0.25, "value": -0.5}}
ACTS = [op for op in clact.OPS if op != "glu"]


def activation(name):
    if name is None:
        return lambda t: t
    if name == "gelu_tanh":
        return lambda t: F.gelu(t, approximate="tanh")
    if name == "prelu":
        return lambda t: F.prelu(t, torch.tensor([0.25], dtype=t.dtype))
    if name == "rrelu":
        return lambda t: F.rrelu(t, training=False)
    fn = getattr(F, name)
    return lambda t: fn(t, **PARAMS.get(name, {}))


failures = checked = 0
worst = {}  # (dtype, quantity) -> (largest error relative to the largest |value|, label)


def close(label, got, want, bound):
    global failures, checked
    checked += 1
    err = np.abs(got.astype(np.float64) - want.astype(np.float64))
    key = (label.split()[0], label.split()[-1])
    scale = float(np.max(np.abs(want))) if want.size else 0.0
    rel = float(np.max(err)) / scale if scale > 0 else 0.0
    if rel >= worst.get(key, (0.0, ""))[0]:
        worst[key] = (rel, label)
    bad = ~(err <= bound + 1e-5 * np.abs(want))
    if bad.any():
        failures += 1
        i = np.unravel_index(np.argmax(err - bound), err.shape)
        print(f"FAIL {label}: {bad.sum()} elements, worst at {i}: clact {got[i]} torch {want[i]} "
              f"(bound {bound[i]:.3g})")
        return False
    return True


ctx = clact.Context()
shapes = [(1, 1, 1), (3, 5, 7), (1, 64, 10), (129, 257, 65)]
for dt, u in ((np.float32, 2.0**-24), (np.float64, 2.0**-53)):
    for act in [None, *ACTS]:
        params = PARAMS.get(act, {})
        for batch, fin, fout in shapes:
            for bias in (True, False):
                lin = torch.nn.Linear(fin, fout, bias=bias).to(torch.float64 if dt == np.float64
                                                              else torch.float32)
                w = lin.weight.detach().numpy().astype(dt)
                b = lin.bias.detach().numpy().astype(dt) if bias else None
                x = rng.uniform(-2, 2, (batch, fin)).astype(dt)
                dy = rng.uniform(-1, 1, (batch, fout)).astype(dt)
                xt = torch.from_numpy(x.copy()).requires_grad_(True)
                yt = activation(act)(lin(xt))
                with torch.no_grad():
                    y64 = activation(act)(lin(xt).double()).numpy()
                own = np.abs(yt.detach().numpy().astype(np.float64) - y64)  # PyTorch's rounding
                yt.backward(torch.from_numpy(dy.copy()))
                label = f"{np.dtype(dt).name} {act or 'linear'} {batch}x{fin}x{fout} bias {bias}"
                y, z = ctx.dense_forward(x, w, b, act=act, keep_z=True, **params)
                sy = np.abs(x).astype(np.float64) @ np.abs(w).T.astype(np.float64) + \
                    (np.abs(b) if bias else 0)
                ok = close(label + " y", y, yt.detach().numpy(),
                           1.2 * (2 * fin + 8) * u * sy + own)
                saved = [("z", {"z": z})]
                if act and "y" in clact.saved(act, **params):
                    saved.append(("y", {"y": y}))
                ady = 1.2 * np.abs(dy).astype(np.float64)
                if act == "prelu":
                    checked += 1
                    try:
                        ctx.dense_backward(x, w, dy, act=act, z=z)
                        refused = ""
                    except clact.Error as e:
                        refused = e.status
                    if refused != "UNSUPPORTED":
                        failures += 1
                        ok = False
                        print(f"FAIL {label}: the fused prelu backward was not refused")
                    saved = []
                for form, kw in saved:
                    dx, gw, gb = ctx.dense_backward(x, w, dy, act=act, **kw, **params)
                    tag = f"{label} from {form}"
                    ok &= close(tag + " dx", dx, xt.grad.numpy(),
                                (2 * fout + 40) * u * (ady @ np.abs(w).astype(np.float64)))
                    ok &= close(tag + " dW", gw, lin.weight.grad.numpy(),
                                (2 * batch + 40) * u * (ady.T @ np.abs(x).astype(np.float64)))
                    if bias:
                        ok &= close(tag + " db", gb, lin.bias.grad.numpy(),
                                    (2 * batch + 40) * u * ady.sum(0))
                if ok:
                    print(f"ok   {label}")
    # Accumulation into existing .grad, as PyTorch's second backward adds.
    lin = torch.nn.Linear(5, 7).to(torch.float64 if dt == np.float64 else torch.float32)
    w = lin.weight.detach().numpy().astype(dt)
    b = lin.bias.detach().numpy().astype(dt)
    x = rng.uniform(-2, 2, (3, 5)).astype(dt)
    dy = rng.uniform(-1, 1, (3, 7)).astype(dt)
    for _ in range(2):
        F.silu(lin(torch.from_numpy(x.copy()))).backward(torch.from_numpy(dy.copy()))
    _, z = ctx.dense_forward(x, w, b, act="silu", keep_z=True)
    _, gw, gb = ctx.dense_backward(x, w, dy, z=z, act="silu")
    _, gw, gb = ctx.dense_backward(x, w, dy, z=z, act="silu", dw=gw, db=gb)
    close(f"{np.dtype(dt).name} accumulate dW", gw, lin.weight.grad.numpy(),
          np.full(gw.shape, 1e3 * u))
    close(f"{np.dtype(dt).name} accumulate db", gb, lin.bias.grad.numpy(),
          np.full(gb.shape, 1e3 * u))

print("largest difference from PyTorch, relative to the largest |value| of the tensor:")
for (dt, what), (rel, label) in sorted(worst.items()):
    print(f"  {dt:8s} {what:3s} {rel:.2e}  ({label})")
print(f"torch_dense: {checked - failures} passed, {failures} failed")
sys.exit(1 if failures else 0)
