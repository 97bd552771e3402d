#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""PyTorch CPU as a peer for `clact bench`: the same ops and sizes, timed the same way (warm-up,
repetitions calibrated to a target time, median and min), with as many threads as cores. Two
forms per op: into a preallocated output (`out=`, the fair comparison with an OpenCL kernel
writing a given buffer) and PyTorch's usual `y = F.op(x)`, which allocates.
Prints CSV: peer,op,elements,form,median_ms,min_ms,GB_s,Gelem_s (bytes: one read + one write).
Usage: peer_torch.py [--ops LIST] [--sizes LIST] [--threads N] [--quick]"""
import argparse
import os
import time

import torch
import torch.nn.functional as F

OPS = {
    "relu": (lambda x, y: torch.clamp(x, min=0, out=y), F.relu),
    "leaky_relu": (lambda x, y: torch._C._nn.leaky_relu(x, 0.01, out=y), F.leaky_relu),
    "elu": (lambda x, y: torch._C._nn.elu(x, 1.0, 1, 1, out=y), F.elu),
    "gelu": (lambda x, y: torch._C._nn.gelu(x, out=y), F.gelu),
    "gelu_tanh": (lambda x, y: torch._C._nn.gelu(x, approximate="tanh", out=y),
                  lambda x: F.gelu(x, approximate="tanh")),
    "silu": (lambda x, y: torch._C._nn.silu(x, out=y), F.silu),
    "mish": (lambda x, y: torch._C._nn.mish(x, out=y), F.mish),
    "sigmoid": (lambda x, y: torch.sigmoid(x, out=y), torch.sigmoid),
    "tanh": (lambda x, y: torch.tanh(x, out=y), torch.tanh),
    "softplus": (lambda x, y: torch._C._nn.softplus(x, 1.0, 20.0, out=y), F.softplus),
}


def timed(fn, target):
    fn()
    t0 = time.perf_counter()
    fn()
    one = time.perf_counter() - t0
    reps = max(3, min(1000, int(target / max(one, 1e-9))))
    ms = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        ms.append((time.perf_counter() - t0) * 1e3)
    ms.sort()
    return ms[len(ms) // 2], ms[0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ops", default=",".join(OPS) + ",softmax_1000,softmax_4096,softmax_32768")
    ap.add_argument("--sizes", default="16777216,67108864")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    target = 0.15 if a.quick else 0.5
    print("peer,op,elements,form,median_ms,min_ms,GB_s,Gelem_s")
    for n in [int(s) for s in a.sizes.split(",")]:
        x = (torch.arange(n, dtype=torch.float32) * 2654435761 % 20000) / 1000 - 10
        y = torch.empty_like(x)
        for op in a.ops.split(","):
            if op.startswith("softmax_"):
                r = int(op.split("_")[1])
                m = n // r * r
                xv, yv = x[:m].view(-1, r), y[:m].view(-1, r)
                forms = [("out", lambda: torch.softmax(xv, -1, out=yv)),
                         ("alloc", lambda: torch.softmax(xv, -1))]
            else:
                m = n
                out_fn, alloc_fn = OPS[op]
                forms = [("out", lambda: out_fn(x, y)), ("alloc", lambda: alloc_fn(x))]
            for form, fn in forms:
                med, lo = timed(fn, target)
                print(f"torch,{op},{m},{form},{med:.6f},{lo:.6f},{8 * m / med * 1e-6:.3f},"
                      f"{m / med * 1e-6:.4f}", flush=True)


if __name__ == "__main__":
    main()
