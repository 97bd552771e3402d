#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""PyTorch CPU as a peer for `clact bench`: the same ops and sizes, timed the same way (warm-up,
repetitions calibrated to a target time, median and min), with as many threads as cores. Two
forms per op: into a preallocated output (`out=`, the fair comparison with an OpenCL kernel
writing a given buffer) and PyTorch's usual `y = F.op(x)`, which allocates.
Op names: an activation, `softmax_<row length>`, `<activation>_backward` (dx = dy * f'(x), aten's
backward ops as autograd calls them) and `dense_<act>_<B>x<I>x<O>[_backward]` (act an activation
or `linear`; nn.Linear's layout, explicit calls for the backward pass, no autograd). Dense ops do
not depend on --sizes: each runs once.
Prints CSV: peer,op,elements,form,median_ms,min_ms,GB_s,Gelem_s,GFLOP_s. Bytes: one read + one
write per element forward, two reads + one write backward; GFLOP_s is empty for elementwise ops;
for dense ops elements is B * O, GB_s and Gelem_s are empty, and the flops are 2 B I O forward,
4 B I O backward.
Usage: peer_torch.py [--ops LIST] [--sizes LIST] [--threads N] [--quick]"""
import argparse
import os
import re
import sys
import time

import torch
import torch.nn.functional as F

aten = torch.ops.aten

# Forward: (out form f(x, y), allocating form f(x)).
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

# Backward: (out form f(dy, x, y, dx) or None, allocating form f(dy, x, y)), y = f(x) computed
# once beforehand. These are the aten ops autograd runs for each activation, with PyTorch's
# default parameters (leaky_relu slope 0.01, elu alpha 1, softplus beta 1 threshold 20). The out
# forms are aten's `.grad_input` overloads. sigmoid and tanh take the output y, not x, because
# that is how PyTorch's autograd differentiates them: the same bytes as clact's backward from x
# (x or y, dy in, dx out) but no exp or tanh to compute. relu's threshold_backward gives the same
# mask from x as from y. mish_backward has no `.grad_input` overload in PyTorch 1.13, so mish
# has the allocating form only. torch.ops dispatch costs about 13 us per call here against 6 us
# for torch._C._nn's forward bindings: negligible at the benchmark's sizes.
BACKWARD = {
    "relu": (lambda dy, x, y, dx: aten.threshold_backward.grad_input(dy, x, 0, grad_input=dx),
             lambda dy, x, y: aten.threshold_backward(dy, x, 0)),
    "leaky_relu": (lambda dy, x, y, dx: aten.leaky_relu_backward.grad_input(
                       dy, x, 0.01, False, grad_input=dx),
                   lambda dy, x, y: aten.leaky_relu_backward(dy, x, 0.01, False)),
    "elu": (lambda dy, x, y, dx: aten.elu_backward.grad_input(dy, 1.0, 1, 1, False, x,
                                                              grad_input=dx),
            lambda dy, x, y: aten.elu_backward(dy, 1.0, 1, 1, False, x)),
    "gelu": (lambda dy, x, y, dx: aten.gelu_backward.grad_input(dy, x, grad_input=dx),
             lambda dy, x, y: aten.gelu_backward(dy, x)),
    "gelu_tanh": (lambda dy, x, y, dx: aten.gelu_backward.grad_input(
                      dy, x, approximate="tanh", grad_input=dx),
                  lambda dy, x, y: aten.gelu_backward(dy, x, approximate="tanh")),
    "silu": (lambda dy, x, y, dx: aten.silu_backward.grad_input(dy, x, grad_input=dx),
             lambda dy, x, y: aten.silu_backward(dy, x)),
    "mish": (None, lambda dy, x, y: aten.mish_backward(dy, x)),
    "sigmoid": (lambda dy, x, y, dx: aten.sigmoid_backward.grad_input(dy, y, grad_input=dx),
                lambda dy, x, y: aten.sigmoid_backward(dy, y)),
    "tanh": (lambda dy, x, y, dx: aten.tanh_backward.grad_input(dy, y, grad_input=dx),
             lambda dy, x, y: aten.tanh_backward(dy, y)),
    "softplus": (lambda dy, x, y, dx: aten.softplus_backward.grad_input(dy, x, 1.0, 20.0,
                                                                        grad_input=dx),
                 lambda dy, x, y: aten.softplus_backward(dy, x, 1.0, 20.0)),
}

DENSE = re.compile(r"dense_(\w+)_(\d+)x(\d+)x(\d+)$")


def pattern(n, salt=0, scale=1.0):
    """The same deterministic, non-constant inputs as clact bench and the oneDNN peer: [-10, 10)
    in steps of 0.001, scaled; `salt` keeps different operands from being identical."""
    i = torch.arange(salt, n + salt, dtype=torch.int64)
    return ((i * 2654435761 % 20000).to(torch.float32) / 1000 - 10) * scale


def blas_note():
    """Debian's python3-torch multiplies matrices through the libblas.so.3 alternative; where
    that is netlib's reference BLAS (no OpenBLAS installed, as on the project's machines), torch.mm
    runs single-threaded at a few GFLOP/s and the dense rows measure that library, not PyTorch.
    Says so on stderr, so that the table's reader knows."""
    try:
        with open("/proc/self/maps") as f:
            libs = {line.split()[-1] for line in f if "blas" in line}
    except OSError:
        return
    if any("/blas/libblas.so" in lib for lib in libs):
        print("peer_torch: PyTorch's BLAS here is netlib's reference libblas (single-threaded, "
              "unoptimised): dense rows measure it; install libopenblas0 for a fair peer",
              file=sys.stderr)


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


def dense_forms(act, B, I, O, backward):
    """The forms of one dense op, with the oneDNN peer's operands (x in [-1, 1), W in
    [-0.05, 0.05), b, z and dy small), or None when the activation is unknown."""
    if act != "linear" and act not in OPS:
        return None
    x, W = pattern(B * I, 0, 0.1).view(B, I), pattern(O * I, 7, 0.005).view(O, I)
    b = pattern(O, 13, 0.01)
    if not backward:
        # y = act(x W^T + b), keeping z as a training forward pass does. The out form is addmm
        # into z (F.linear's own kernel for a 2-D input with a bias) and the activation into y.
        z, y = torch.empty(B, O), torch.empty(B, O)
        if act == "linear":
            return [("out", lambda: torch.addmm(b, x, W.t(), out=z)),
                    ("alloc", lambda: F.linear(x, W, b))]
        out_fn, alloc_fn = OPS[act]
        return [("out", lambda: (torch.addmm(b, x, W.t(), out=z), out_fn(z, y))),
                ("alloc", lambda: alloc_fn(F.linear(x, W, b)))]
    # Backward by explicit calls, as autograd would run them but without its bookkeeping:
    # dz = dy * act'(z), db = column sums of dz, dW = dz^T x, dx = dz W.
    z, dy = pattern(B * O, 17, 0.1).view(B, O), pattern(B * O, 19, 0.1).view(B, O)
    dz, db = torch.empty(B, O), torch.empty(O)
    dW, dx = torch.empty(O, I), torch.empty(B, I)

    def rest_out(g):
        torch.sum(g, 0, out=db)
        torch.mm(g.t(), x, out=dW)
        torch.mm(g, W, out=dx)

    def rest_alloc(g):
        return g.sum(0), torch.mm(g.t(), x), torch.mm(g, W)

    if act == "linear":
        return [("out", lambda: rest_out(dy)), ("alloc", lambda: rest_alloc(dy))]
    yz = OPS[act][1](z)
    out_fn, alloc_fn = BACKWARD[act]
    forms = [("alloc", lambda: rest_alloc(alloc_fn(dy, z, yz)))]
    if out_fn:
        forms.insert(0, ("out", lambda: (out_fn(dy, z, yz, dz), rest_out(dz))))
    return forms


def elementwise_forms(op, x, y, dy):
    """(elements, bytes per element, forms) of one elementwise op on x's size, or None."""
    n = x.numel()
    if op.endswith("_backward"):
        if op[:-9] not in BACKWARD:
            return None
        out_fn, alloc_fn = BACKWARD[op[:-9]]
        # Only sigmoid and tanh take y; the others would not read it.
        fx = OPS[op[:-9]][1](x) if op[:-9] in ("sigmoid", "tanh") else None
        forms = [("alloc", lambda: alloc_fn(dy, x, fx))]
        if out_fn:
            forms.insert(0, ("out", lambda: out_fn(dy, x, fx, y)))
        return n, 12, forms
    if op.startswith("softmax_"):
        r = int(op.split("_")[1])
        m = n // r * r
        if m == 0:
            return None
        xv, yv = x[:m].view(-1, r), y[:m].view(-1, r)
        return m, 8, [("out", lambda: torch.softmax(xv, -1, out=yv)),
                      ("alloc", lambda: torch.softmax(xv, -1))]
    if op in OPS:
        out_fn, alloc_fn = OPS[op]
        return n, 8, [("out", lambda: out_fn(x, y)), ("alloc", lambda: alloc_fn(x))]
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ops", default=",".join(OPS) + ",softmax_1000,softmax_4096,softmax_32768")
    ap.add_argument("--sizes", default="16777216,67108864")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    target = 0.15 if a.quick else 0.5
    print("peer,op,elements,form,median_ms,min_ms,GB_s,Gelem_s,GFLOP_s")
    noted = False
    for k, n in enumerate(int(s) for s in a.sizes.split(",")):
        x = pattern(n)
        y = torch.empty_like(x)
        dy = None
        for op in a.ops.split(","):
            d = DENSE.match(op[:-9] if op.endswith("_backward") else op)
            if d:
                # A dense op's shape is in its name: it runs once, with the first size.
                if k:
                    continue
                if not noted:
                    blas_note()
                    noted = True
                backward = op.endswith("_backward")
                act, (B, I, O) = d.group(1), map(int, d.groups()[1:])
                forms = dense_forms(act, B, I, O, backward)
                if forms is None:
                    print(f"peer_torch: bad dense op '{op}' (dense_<act>_<B>x<I>x<O>)",
                          file=sys.stderr)
                    continue
                flops = (4 if backward else 2) * B * I * O
                for form, fn in forms:
                    med, lo = timed(fn, target)
                    print(f"torch,{op},{B * O},{form},{med:.6f},{lo:.6f},,,"
                          f"{flops / med * 1e-6:.3f}", flush=True)
                continue
            if op.endswith("_backward") and dy is None:
                dy = pattern(n, 7, 0.1)
            spec = elementwise_forms(op, x, y, dy)
            if spec is None:
                print(f"peer_torch: no PyTorch op for '{op}' at {n} elements", file=sys.stderr)
                continue
            m, bpe, forms = spec
            for form, fn in forms:
                med, lo = timed(fn, target)
                print(f"torch,{op},{m},{form},{med:.6f},{lo:.6f},{bpe * m / med * 1e-6:.3f},"
                      f"{m / med * 1e-6:.4f},", flush=True)


if __name__ == "__main__":
    main()
