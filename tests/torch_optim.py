#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The optimizer steps (python/clact.py's sgd_step, adam_step and adamw_step over the library)
against torch.optim.SGD, Adam and AdamW (Debian's python3-torch 1.13, foreach=False: the
single-tensor path clact follows), step by step for 20 steps from the same initial parameters
with the same gradients, on three parameter tensors of 4099, 3x5 and 1 elements: every SGD option
combination (momentum 0 and 0.9, dampening, nesterov, weight decay, maximize), Adam and AdamW
with and without amsgrad, weight decay and maximize, other betas and eps, and for each optimizer a
run whose gradients hold NaN and ±inf at a few places; float32 and float64. Fresh seed each run
(printed; CLACT_TEST_SEED repeats a run).

Bound: equality, bit for bit (NaN matching NaN), of the parameters and of every state tensor
after every step. Each step is PyTorch's operations in PyTorch's order, each correctly rounded,
which clact's kernels reproduce wherever the device's operations are correctly rounded: always
for SGD (+, *, fma) and for float64, and for float32 Adam where the device reports
CL_FP_CORRECTLY_ROUNDED_DIVIDE_SQRT (the library then builds with
-cl-fp32-correctly-rounded-divide-sqrt). On a device without it, clact starts each float32 Adam
step from PyTorch's state, and the parameters may differ by OpenCL's 3 ulp of sqrt and 2.5 of
each division: 16 float ulps of the update plus one of the parameter.
Usage: torch_optim.py (with CLACT_LIBRARY naming the library and python/ beside this folder)"""
import ctypes
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
import clact  # noqa: E402

seed = int(os.environ.get("CLACT_TEST_SEED", "0")) or int.from_bytes(os.urandom(4), "little")
print(f"torch_optim: seed {seed} (set CLACT_TEST_SEED={seed} to repeat this run), "
      f"torch {torch.__version__}")
rng = np.random.default_rng(seed)
STEPS = 20
SHAPES = [(4099,), (3, 5), (1,)]


def device_rounds_divide_sqrt(ctx):
    """Whether the context's device reports CL_FP_CORRECTLY_ROUNDED_DIVIDE_SQRT."""
    lib, cl = clact._lib, clact._cl
    lib.clact_context_device.restype, lib.clact_context_device.argtypes = ctypes.c_void_p, \
        [ctypes.c_void_p]
    cl.clGetDeviceInfo.restype = ctypes.c_int32
    cl.clGetDeviceInfo.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_size_t,
                                   ctypes.c_void_p, ctypes.c_void_p]
    config = ctypes.c_uint64(0)
    cl.clGetDeviceInfo(lib.clact_context_device(ctx._h), 0x101B,  # CL_DEVICE_SINGLE_FP_CONFIG
                       8, ctypes.byref(config), None)
    return bool(config.value & (1 << 7))  # CL_FP_CORRECTLY_ROUNDED_DIVIDE_SQRT


def gradient(shape, dt, specials):
    g = rng.uniform(-1, 1, shape) * 10.0 ** rng.uniform(-3, 1)
    g[rng.random(shape) < 0.05] = 0.0
    if specials:
        flat = g.reshape(-1)
        for k, v in enumerate((np.nan, np.inf, -np.inf)):
            flat[(5 + 7 * k) % flat.size::97] = v
    return g.astype(dt)


def configs():
    for momentum in (0.0, 0.9):
        for damp, nesterov in ((0.0, False), (0.5, False), (0.0, True)):
            if nesterov and not momentum:
                continue
            for wd in (0.0, 1e-2):
                for maximize in (False, True):
                    yield "sgd", dict(lr=0.05, momentum=momentum, dampening=damp,
                                      nesterov=nesterov, weight_decay=wd, maximize=maximize), False
    for name in ("adam", "adamw"):
        for amsgrad in (False, True):
            for wd in (0.0, 0.1 if name == "adamw" else 1e-2):
                for maximize in (False, True):
                    yield name, dict(lr=1e-2, amsgrad=amsgrad, weight_decay=wd,
                                     maximize=maximize), False
        yield name, dict(lr=0.1, betas=(0.5, 0.9), eps=1e-3, weight_decay=1e-2, amsgrad=True), False
    yield "sgd", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-3), True
    yield "adam", dict(lr=1e-2, weight_decay=1e-2, amsgrad=True), True
    yield "adamw", dict(lr=1e-2, amsgrad=True), True


STATE = {"sgd": ["momentum_buffer"], "adam": ["exp_avg", "exp_avg_sq", "max_exp_avg_sq"]}
TORCH = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW}


def clact_step(ctx, name, kw, p, g, state, step):
    if name == "sgd":
        ctx.sgd_step(p, g, state["momentum_buffer"] if kw["momentum"] else None, step=step, **kw)
    else:
        f = ctx.adam_step if name == "adam" else ctx.adamw_step
        f(p, g, state["exp_avg"], state["exp_avg_sq"],
          state["max_exp_avg_sq"] if kw["amsgrad"] else None, step=step, **kw)


def run(ctx, name, kw, dt, specials, exact):
    """One optimizer over STEPS steps; returns (elements compared, identical, failure or None)."""
    params = [rng.uniform(-1, 1, s).astype(dt) for s in SHAPES]
    tp = [torch.nn.Parameter(torch.from_numpy(p.copy())) for p in params]
    opt = TORCH[name](tp, foreach=False, **kw)
    kind = "sgd" if name == "sgd" else "adam"
    states = [{k: np.zeros_like(p) for k in STATE[kind]} for p in params]
    resync = kind == "adam" and not exact
    compared = identical = 0
    for step in range(1, STEPS + 1):
        grads = [gradient(p.shape, dt, specials and step in (3, 11)) for p in params]
        before = [p.copy() for p in params]
        if resync:  # start from PyTorch's state (see the docstring)
            for p, t, st in zip(params, tp, states):
                p[...] = t.detach().numpy()
                for k in st:
                    if opt.state[t].get(k) is not None:
                        st[k][...] = opt.state[t][k].numpy()
            before = [p.copy() for p in params]
        for t, g in zip(tp, grads):
            t.grad = torch.from_numpy(g.copy())
        opt.step()
        for p, g, st in zip(params, grads, states):
            clact_step(ctx, name, kw, p, g, st, step)
        for i, (p, t, st) in enumerate(zip(params, tp, states)):
            pairs = [("param", p, t.detach().numpy())]
            pairs += [(k, st[k], opt.state[t][k].numpy()) for k in st
                      if opt.state[t].get(k) is not None]  # SGD keeps None without momentum
            for what, got, want in pairs:
                same = (got == want) | (np.isnan(got) & np.isnan(want))
                compared += got.size
                identical += int(same.sum())
                if what == "param" and not exact:
                    u = 2.0 ** -24
                    with np.errstate(invalid="ignore"):  # inf - inf where both are inf
                        bound = 16 * u * np.abs(want.astype(np.float64) - before[i]) + \
                            np.spacing(np.abs(want))
                        ok = same | (np.abs(got.astype(np.float64) - want) <= bound)
                else:
                    ok = same
                if not ok.all():
                    j = np.unravel_index(np.argmin(ok), ok.shape)
                    return compared, identical, (f"step {step} tensor {i} {what}{list(j)}: clact "
                                                 f"{got[j]!r} torch {want[j]!r}")
            if kind == "adam" and float(opt.state[t]["step"]) != step:
                return compared, identical, f"torch's step {float(opt.state[t]['step'])} != {step}"
    return compared, identical, None


def main():
    ctx = clact.Context()
    cr = device_rounds_divide_sqrt(ctx)
    print(f"torch_optim: device rounds float division and sqrt correctly: {cr}")
    failures = checked = 0
    total = same = 0
    for dt in (np.float32, np.float64):
        exact = cr or dt == np.float64
        for name, kw, specials in configs():
            label = f"{np.dtype(dt).name} {name} {kw}{' specials' if specials else ''}"
            n, k, err = run(ctx, name, kw, dt, specials, exact)
            checked += 1
            total, same = total + n, same + k
            if err:
                failures += 1
                print(f"FAIL {label}: {err}")
            else:
                print(f"ok   {label}")
    print(f"torch_optim: {same} of {total} values compared are PyTorch's bit for bit")
    print(f"torch_optim: {checked - failures} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
