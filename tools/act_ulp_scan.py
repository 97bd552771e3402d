#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The f32 forward kernels of gelu, softplus, elu, celu, selu and mish, from kernels/prelude.cl and
kernels/activation.cl run through PyOpenCL on the default device, against a float64 reference
(torch's double erfc, exp, expm1, log1p, tanh): prints each op's worst error in ulp (of the float
nearest the exact value; 2^-149 for subnormals), where it occurs and how many inputs exceed
--bound, over every --step'th float32 bit pattern (default 1: all 2^32; finite inputs only, and
non-finite ones checked against PyTorch's outputs separately).

  /usr/bin/python3 tools/act_ulp_scan.py [--step N] [--ops "gelu;mish;softplus(2,10);..."] [--bound 4]
      [--kernels DIR] [--vw 16]

Exit status 1 if some op exceeds --bound. On PoCL with two shared cores the full 2^32 takes
about 10 minutes per op (the float64 reference dominates)."""
import argparse
import math
import os
import sys

import numpy as np
import pyopencl as cl
import torch

HERE = os.path.dirname(os.path.abspath(__file__))

# op -> (p0, p1, reference(x as float64 array) -> float64 array, [(input, PyTorch's output)])
SQ = 0.7071067811865476


def ref_gelu(x, p0, p1):
    t = torch.from_numpy(x)
    return (0.5 * t * torch.special.erfc(-t * SQ)).numpy()


def ref_softplus(x, beta, threshold):
    beta = float(np.float32(beta))  # the kernel's parameter, in the compute type
    z = x * beta  # exact in double: the product of two floats
    with np.errstate(over="ignore"):
        r = np.where(z > 0, z + np.log1p(np.exp(-np.abs(z))), np.log1p(np.exp(z))) / beta
    with np.errstate(over="ignore"):
        zf = (x.astype(np.float32) * np.float32(beta)).astype(np.float64)
    return np.where(zf > np.float32(threshold), x, r)


def ref_elu(x, alpha, p1):
    alpha = float(np.float32(alpha))
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))


def ref_celu(x, alpha, inv_alpha):
    with np.errstate(over="ignore"):
        return np.where(x > 0, x, alpha * np.expm1(np.minimum(x / alpha, 700)))


def ref_selu(x, p0, p1):
    a, s = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946
    return np.where(x > 0, s * x, a * s * np.expm1(np.minimum(x, 0)))


def ref_mish(x, p0, p1):
    t = torch.from_numpy(x)
    return (t * torch.tanh(torch.nn.functional.softplus(t))).numpy()


OPS = {
    "gelu": (0.0, 0.0, ref_gelu),
    "softplus": (1.0, 20.0, ref_softplus),
    "softplus(2,10)": (2.0, 10.0, ref_softplus),
    "softplus(0.3,1)": (0.3, 1.0, ref_softplus),
    "softplus(-1,20)": (-1.0, 20.0, ref_softplus),
    "softplus(1,100)": (1.0, 100.0, ref_softplus),
    "elu": (1.0, 0.0, ref_elu),
    "elu(0.3)": (0.3, 0.0, ref_elu),
    "celu": (1.0, 1.0, ref_celu),
    "celu(0.4)": (0.4, float(np.float32(1 / 0.4)), ref_celu),
    "selu": (0.0, 0.0, ref_selu),
    "mish": (0.0, 0.0, ref_mish),
}


def ulp_of(ref):
    f = np.abs(ref).astype(np.float32)
    f = np.where(f == 0, np.float32(np.finfo(np.float32).smallest_subnormal), f)
    f = np.where(np.isinf(f), np.float32(np.finfo(np.float32).max), f)
    up = np.nextafter(f, np.float32(np.inf))
    return (up - f).astype(np.float64)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--step", type=int, default=1)
    ap.add_argument("--ops", default="gelu;softplus;elu;mish")
    ap.add_argument("--bound", type=float, default=4.0)
    ap.add_argument("--kernels", default=os.path.join(HERE, "..", "kernels"))
    ap.add_argument("--vw", type=int, default=16)
    ap.add_argument("--chunk", type=int, default=1 << 23)
    a = ap.parse_args()
    src = "".join(open(os.path.join(a.kernels, f)).read() for f in ("prelude.cl", "activation.cl"))
    ctx = cl.create_some_context(interactive=False)
    q = cl.CommandQueue(ctx)
    prog = cl.Program(ctx, src).build(options=f"-cl-std=CL1.2 -DCLACT_F32 -DCLACT_VW={a.vw}")
    mf = cl.mem_flags
    ok = True
    for label in a.ops.split(";"):
        p0, p1, ref = OPS[label]
        kern = getattr(prog, "clact_" + label.split("(")[0])
        worst, worst_at, over, count = 0.0, 0.0, 0, 0
        total = 1 << 32
        for start in range(0, total, a.chunk * a.step):
            bits = np.arange(start, min(total, start + a.chunk * a.step), a.step, dtype=np.uint64)
            bits = bits.astype(np.uint32)
            x = bits.view(np.float32)
            x = x[np.isfinite(x)]
            if len(x) == 0:
                continue
            n = len(x)
            xb = cl.Buffer(ctx, mf.READ_ONLY | mf.COPY_HOST_PTR, hostbuf=x)
            yb = cl.Buffer(ctx, mf.WRITE_ONLY, x.nbytes)
            kern(q, ((n + a.vw - 1) // a.vw,), None, np.uint64(n), xb, np.uint64(0), yb,
                 np.uint64(0), np.float32(p0), np.float32(p1))
            y = np.empty(n, np.float32)
            cl.enqueue_copy(q, y, yb)
            xd = x.astype(np.float64)
            r = ref(xd, p0, p1)
            yd = y.astype(np.float64)
            with np.errstate(invalid="ignore", over="ignore"):
                err = np.abs(yd - r) / ulp_of(r)
                # The exact value beyond float's range: right if the kernel gives the same inf.
                err = np.where(np.isinf(r) & (yd == r), 0.0, err)
            err = np.where(np.isnan(err) & ~(np.isnan(yd) & np.isnan(r)), np.inf, err)
            err = np.nan_to_num(err, nan=0.0)
            i = int(np.argmax(err))
            if err[i] > worst:
                worst, worst_at = float(err[i]), float(x[i])
            over += int(np.count_nonzero(err > a.bound))
            count += n
        ok &= worst <= a.bound
        print(f"{label}: worst {worst:.3f} ulp at x = {worst_at!r} ({np.float32(worst_at).view(np.uint32):#010x}); "
              f"{over} of {count} inputs above {a.bound} ulp" + ("" if a.step == 1 else f" (every {a.step}th float)"),
              flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
