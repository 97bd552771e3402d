#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""PyTorch CPU as a peer for `clact bench`: the same ops and sizes, timed the same way (warm-up,
repetitions calibrated to a target time, median and min), with as many threads as cores. Two
forms per op: into a preallocated output (`out`, the fair comparison with an OpenCL kernel
writing a given buffer) and PyTorch's usual `y = F.op(x)`, which allocates (`alloc`).
Every form's result is first checked, element by element, against clact's CPU reference
(clact_reference_* from libclact, through ctypes) on the same inputs; a form that differs is
reported on stderr and not timed: a peer computing another function is no peer.
Op names: an activation with optional parameters, `<act>[:NAME=VALUE...]` (the library's names
and defaults, which are PyTorch's: hardtanh:min_val=-2:max_val=2, threshold:threshold=0.1:
value=20; rrelu also training=0|1, default 0 as F.rrelu's, and seed=N, ignored here: PyTorch's
generator is its own), `<act>_backward[:NAME=VALUE...]` (dx = dy * f'(x), the aten ops autograd
calls, or autograd itself for PyTorch's composites), `softmax_<row length>` and
`dense_<act>_<B>x<I>x<O>[_backward]` (act an activation or `linear`; nn.Linear's layout,
explicit calls for the backward pass, no autograd). Dense ops do not depend on --sizes: each
runs once.
Prints CSV: peer,op,elements,form,median_ms,min_ms,GB_s,Gelem_s,GFLOP_s. Bytes: one read + one
write per element forward, two reads + one write backward (what clact's kernels move; a form
that moves more, such as log_sigmoid's buffer, is still counted so); GFLOP_s is empty for
elementwise ops; for dense ops elements is B * O, GB_s and Gelem_s are empty, and the flops are
2 B I O forward, 4 B I O backward.
--device cuda (or cuda:N) runs the elementwise and softmax ops on a GPU (PyTorch CUDA, f32): the
inputs live on the device, results are checked on the host as above, and each repetition is timed
by CUDA events recorded around it (device time, as clact bench's profiling events); its rows say
peer torch-cuda, and dense ops are skipped there (their forms build CPU tensors).
Usage: peer_torch.py [--ops LIST] [--sizes LIST] [--threads N] [--library PATH] [--quick]
       [--device cpu|cuda[:N]]"""
import argparse
import ctypes
import os
import re
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

aten = torch.ops.aten
# Where the elementwise and softmax forms run (--device); the checks always run on the host.
DEVICE = torch.device("cpu")
here = os.path.dirname(os.path.abspath(__file__))

# aten's SELU constants (Activation.cpp), as double Scalars.
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


class Act(ctypes.Structure):
    """clact_activation: the op, its two parameters, rrelu's training flag and seed."""
    _fields_ = [("op", ctypes.c_int), ("param", ctypes.c_double * 2), ("training", ctypes.c_int),
                ("seed", ctypes.c_ulonglong)]


class Clact:
    """The parts of libclact this peer uses: op names, PyTorch's defaults as the library keeps
    them, and the CPU reference (long double, rounded once) the results are checked against."""
    F32 = 0

    def __init__(self, path):
        lib = ctypes.CDLL(path)
        dp = ctypes.POINTER(ctypes.c_double)
        lib.clact_op_from_name.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_int)]
        lib.clact_activation_default.restype = Act
        lib.clact_activation_default.argtypes = [ctypes.c_int]
        lib.clact_op_param_count.argtypes = [ctypes.c_int]
        lib.clact_op_param_name.restype = ctypes.c_char_p
        lib.clact_op_param_name.argtypes = [ctypes.c_int, ctypes.c_int]
        lib.clact_op_name.restype = ctypes.c_char_p
        lib.clact_op_name.argtypes = [ctypes.c_int]
        lib.clact_op_elementwise.argtypes = [ctypes.c_int]
        lib.clact_activation_check.argtypes = [ctypes.POINTER(Act), ctypes.c_char_p,
                                               ctypes.c_size_t]
        lib.clact_reference_forward.argtypes = [ctypes.POINTER(Act), ctypes.c_int,
                                                ctypes.c_size_t, dp, dp]
        lib.clact_reference_backward.argtypes = [ctypes.POINTER(Act), ctypes.c_int,
                                                 ctypes.c_size_t, dp, dp, dp, dp]
        lib.clact_reference_softmax.argtypes = [ctypes.c_int, ctypes.c_uint, ctypes.c_int,
                                                ctypes.POINTER(ctypes.c_size_t), ctypes.c_int,
                                                dp, dp]
        self.lib = lib

    def parse(self, spec):
        """`name[:NAME=VALUE...]` into an Act with the library's defaults, or raise ValueError."""
        name, *params = spec.split(":")
        op = ctypes.c_int()
        if self.lib.clact_op_from_name(name.encode(), ctypes.byref(op)):
            raise ValueError("unknown activation")
        act = self.lib.clact_activation_default(op.value)
        names = [self.lib.clact_op_param_name(op.value, k).decode()
                 for k in range(self.lib.clact_op_param_count(op.value))]
        for p in params:
            key, eq, value = p.partition("=")
            if not eq:
                raise ValueError(f"'{p}' is not NAME=VALUE")
            if key in names:
                act.param[names.index(key)] = float(value)
            elif key == "training":
                act.training = int(value)
            elif key == "seed":
                act.seed = int(value)
            else:
                raise ValueError(f"unknown parameter '{key}'")
        why = ctypes.create_string_buffer(256)
        if self.lib.clact_activation_check(ctypes.byref(act), why, 256):
            raise ValueError(why.value.decode())
        return act

    def name(self, act):
        return self.lib.clact_op_name(act.op).decode()

    def default_ops(self):
        """Every activation, as clact bench's default list names them: threshold with the
        parameters it has no defaults for, rrelu in evaluation mode and then training mode."""
        ops, i = [], 0
        while self.lib.clact_op_name(i):
            name = self.lib.clact_op_name(i).decode()
            ops.append({"threshold": "threshold:threshold=0.1:value=20"}.get(name, name))
            if name == "rrelu":
                ops.append("rrelu:training=1")
            i += 1
        return ops

    @staticmethod
    def _ptr(a):
        return a.ctypes.data_as(ctypes.POINTER(ctypes.c_double))

    def forward(self, act, x):
        x = np.ascontiguousarray(x, dtype=np.float64)
        y = np.empty_like(x)
        if self.lib.clact_reference_forward(ctypes.byref(act), self.F32, x.size, self._ptr(x),
                                            self._ptr(y)):
            raise RuntimeError("clact_reference_forward failed")
        return y

    def backward(self, act, x, dy):
        x = np.ascontiguousarray(x, dtype=np.float64)
        dy = np.ascontiguousarray(dy, dtype=np.float64)
        dx = np.empty_like(x)
        if self.lib.clact_reference_backward(ctypes.byref(act), self.F32, x.size, self._ptr(x),
                                             None, self._ptr(dy), self._ptr(dx)):
            raise RuntimeError("clact_reference_backward failed")
        return dx

    def softmax(self, x, rows, r):
        x = np.ascontiguousarray(x, dtype=np.float64)
        y = np.empty_like(x)
        shape = (ctypes.c_size_t * 2)(rows, r)
        if self.lib.clact_reference_softmax(0, 0, 2, shape, 1, self._ptr(x), self._ptr(y)):
            raise RuntimeError("clact_reference_softmax failed")
        return y


class Expected:
    """What each element of a result may be: the reference value want, within what separates two
    implementations of one function in float (their approximations of exp, tanh, erf; their
    rounding order: a few ulp) but not two functions: 1e-5 relative (84 ulp) plus atol (16 ulp of
    1; outputs here are at most 20) for results near 0 that PyTorch's composites reach by
    cancellation (x - tanh x). gelu against gelu_tanh (up to 5e-4 apart) fails. NaN only for
    NaN, an infinity only for itself.
    want may be one period of a result whose inputs repeat (pattern() does, PERIOD): it is then
    compared with every period of the result. The bounds are float32, rounded inwards, so that a
    float32 value passes exactly when it is within them in real arithmetic; the comparison runs
    in torch, on every thread."""

    def __init__(self, want, atol=2e-6):
        want = np.asarray(want, dtype=np.float64).ravel()
        self.want = want
        with np.errstate(invalid="ignore", over="ignore"):
            tol = 1e-5 * np.abs(want) + atol
            lo64, hi64 = want - tol, want + tol
            lo, hi = lo64.astype(np.float32), hi64.astype(np.float32)
            lo = np.where(lo < lo64, np.nextafter(lo, np.float32(np.inf)), lo)
            hi = np.where(hi > hi64, np.nextafter(hi, np.float32(-np.inf)), hi)
        inf = np.isinf(want)
        lo[inf] = hi[inf] = want[inf]
        self.nan = np.isnan(want)
        lo[self.nan], hi[self.nan] = -np.inf, np.inf  # and got must be NaN there: first_bad
        self.lo, self.hi = torch.from_numpy(lo), torch.from_numpy(hi)

    def first_bad(self, got):
        """The index of the first element of got (a float32 tensor) that is not as expected, or
        -1."""
        got = got.reshape(-1)
        p, n = self.want.size, got.numel()
        q = n // p
        parts = [(got[:q * p].view(q, p), 0, p)] if q else []
        if n - q * p:
            parts.append((got[q * p:].view(1, -1), q * p, n - q * p))
        for g, start, width in parts:
            lo, hi = self.lo[:width], self.hi[:width]
            bad = ~((g >= lo) & (g <= hi))
            if self.nan.any():
                bad |= torch.from_numpy(self.nan[:width]) & ~torch.isnan(g)
            if bad.any():
                row, col = (int(v) for v in torch.nonzero(bad)[0])
                return start + row * width + col
        return -1

    def at(self, i):
        return self.want[i % self.want.size]


PERIOD = 20000  # pattern() repeats with this period


def periodic(*arrays):
    """Whether every array repeats with PERIOD, bit for bit."""
    for a in arrays:
        if a is not None and a.size > PERIOD:
            u = torch.from_numpy(a.view(np.int32))
            if not torch.equal(u[PERIOD:], u[:-PERIOD]):
                return False
    return True


def reference(ref_fn, x, dy=None):
    """Expected results of ref_fn over x (and dy): computed once per period where the inputs
    repeat (they do: pattern()), else over all of them."""
    if x.size > PERIOD and periodic(x, dy):
        return Expected(ref_fn(x[:PERIOD], None if dy is None else dy[:PERIOD]))
    return Expected(ref_fn(x, dy))


class Mismatch(Exception):
    pass


def check_elementwise(got, expected, x, dy=None):
    """Raises Mismatch naming the first element of got that is not as expected."""
    i = expected.first_bad(got)
    if i >= 0:
        where = f"x = {x[i]:.9g}" + ("" if dy is None else f", dy = {dy[i]:.9g}")
        raise Mismatch(f"element {i} ({where}) is {float(got.reshape(-1)[i]):.9g}, clact's "
                       f"reference {expected.at(i):.9g}")


def check_rrelu_training(act, x, y, dy=None):
    """rrelu in training mode draws its slopes from PyTorch's generator, not clact's: the check
    is of the function's law instead: y = x where x > 0, and y = r x with lower <= r <= upper
    elsewhere (forward); dx = dy where x > 0 and r dy elsewhere (backward: then x is dy's
    multiplier's input and y is dx, checked with dy in x's place)."""
    lo, hi = np.float32(act.param[0]), np.float32(act.param[1])
    v = x if dy is None else dy
    pos = x > 0
    eps = 4 * np.finfo(np.float32).eps
    nz = v != 0
    r = np.where(nz, y / np.where(nz, v, 1), lo)
    ok = np.where(pos, y == v, np.where(nz, (r >= lo * (1 - eps)) & (r <= hi * (1 + eps)),
                                        y == 0))
    bad = np.flatnonzero(~ok)
    if bad.size:
        i = int(bad[0])
        raise Mismatch(f"element {i} (x = {x[i]:.9g}) is {y[i]:.9g}: not x or x times a slope in "
                       f"[{lo}, {hi}]")


def forward_forms(name, act, x, y):
    """(out, alloc) of one activation's forward: out() computes it on x into y, alloc(t) the usual
    way on t, allocating its result; None when PyTorch has no such op here. Parameters are the
    library's (PyTorch's names and values)."""
    p0, p1 = act.param[0], act.param[1]
    scratch = {}

    def tmp(key):
        if key not in scratch:
            scratch[key] = torch.empty_like(x)
        return scratch[key]

    nn = torch._C._nn
    if name in ("relu6", "hardtanh"):
        lo, hi = (0.0, 6.0) if name == "relu6" else (p0, p1)
    approx = "tanh" if name == "gelu_tanh" else "none"
    training = bool(act.training)
    # prelu: one weight for every element, as clact's
    w = torch.tensor([p0], dtype=x.dtype, device=x.device)
    forms = {
        "relu": (lambda: torch.clamp(x, min=0, out=y), F.relu),
        "leaky_relu": (lambda: nn.leaky_relu(x, p0, out=y), lambda t: F.leaky_relu(t, p0)),
        "elu": (lambda: nn.elu(x, p0, 1, 1, out=y), lambda t: F.elu(t, p0)),
        "gelu": (lambda: nn.gelu(x, approximate=approx, out=y),
                 lambda t: F.gelu(t, approximate=approx)),
        "silu": (lambda: nn.silu(x, out=y), F.silu),
        "mish": (lambda: nn.mish(x, out=y), F.mish),
        "sigmoid": (lambda: torch.sigmoid(x, out=y), torch.sigmoid),
        "tanh": (lambda: torch.tanh(x, out=y), torch.tanh),
        "softplus": (lambda: nn.softplus(x, p0, p1, out=y), lambda t: F.softplus(t, p0, p1)),
        "relu6": (lambda: nn.hardtanh(x, lo, hi, out=y), F.relu6),
        "hardtanh": (lambda: nn.hardtanh(x, lo, hi, out=y), lambda t: F.hardtanh(t, lo, hi)),
        # aten's selu is elu with these constants; its celu is elu with input_scale 1 / alpha
        "selu": (lambda: aten.elu.out(x, SELU_ALPHA, SELU_SCALE, 1, out=y), torch.selu),
        "celu": (lambda: aten.elu.out(x, p0, 1, 1.0 / p0, out=y), lambda t: torch.celu(t, p0)),
        "hardsigmoid": (lambda: nn.hardsigmoid(x, out=y), F.hardsigmoid),
        "hardswish": (lambda: nn.hardswish(x, out=y), F.hardswish),
        # log_sigmoid.out would allocate its buffer on every call; the forward autograd runs
        # (log_sigmoid_forward) writes it into a preallocated one
        "logsigmoid": (lambda: aten.log_sigmoid_forward.output(x, output=y, buffer=tmp("b"))[0],
                       F.logsigmoid),
        # PyTorch's composites x / (|x| + 1) and x - tanh(x), into preallocated tensors
        "softsign": (lambda: torch.div(x, torch.abs(x, out=tmp("d")).add_(1), out=y),
                     F.softsign),
        "tanhshrink": (lambda: torch.sub(x, torch.tanh(x, out=y), out=y), F.tanhshrink),
        "softshrink": (lambda: nn.softshrink(x, p0, out=y), lambda t: F.softshrink(t, p0)),
        "hardshrink": (lambda: aten.hardshrink.out(x, p0, out=y), lambda t: F.hardshrink(t, p0)),
        "threshold": (lambda: aten.threshold.out(x, p0, p1, out=y),
                      lambda t: F.threshold(t, p0, p1)),
        "prelu": (lambda: aten.prelu.out(x, w, out=y), lambda t: F.prelu(t, w)),
        "rrelu": (lambda: nn.rrelu_with_noise(x, tmp("noise"), p0, p1, training, None, out=y),
                  lambda t: F.rrelu(t, p0, p1, training=training)),
    }
    forms["gelu_tanh"] = forms["gelu"]
    return forms.get(name)


def backward_forms(name, act, x, dy, dx):
    """[(form, fn)] of one activation's backward (dx = dy * f'(x)), out forms writing dx; None
    when PyTorch has none here. These are the aten ops autograd runs for each activation (the
    out forms their `.grad_input`/`.out` overloads), with the saved tensors they read made once
    beforehand: sigmoid and tanh take the output y, as PyTorch's autograd does (the same bytes as
    clact's backward from x, but no exp or tanh to compute); logsigmoid its forward's buffer;
    rrelu its noise. relu's threshold_backward gives the same mask from x as from y. mish has no
    out overload in PyTorch 1.13; softsign and tanhshrink are composites whose backward is
    autograd's graph (timed as torch.autograd.grad over a graph built once), and tanhshrink's
    out form is that graph's two ops into dx. prelu_backward also sums the weight's gradient.
    torch.ops dispatch costs about 13 us per call against 6 us for torch._C._nn's bindings:
    negligible at the benchmark's sizes."""
    p0, p1 = act.param[0], act.param[1]

    def forms(out, alloc):
        return ([("out", out)] if out else []) + [("alloc", alloc)]

    def autograd(f):
        xs = x.detach().clone().requires_grad_()
        ys = f(xs)
        return lambda: torch.autograd.grad(ys, xs, dy, retain_graph=True)[0]

    if name == "relu":
        return forms(lambda: aten.threshold_backward.grad_input(dy, x, 0, grad_input=dx),
                     lambda: aten.threshold_backward(dy, x, 0))
    if name == "leaky_relu":
        return forms(lambda: aten.leaky_relu_backward.grad_input(dy, x, p0, False, grad_input=dx),
                     lambda: aten.leaky_relu_backward(dy, x, p0, False))
    if name in ("elu", "selu", "celu"):
        alpha, scale, iscale = {"elu": (p0, 1, 1), "selu": (SELU_ALPHA, SELU_SCALE, 1),
                                "celu": (p0, 1, 1.0 / p0 if p0 else 0.0)}[name]
        return forms(lambda: aten.elu_backward.grad_input(dy, alpha, scale, iscale, False, x,
                                                          grad_input=dx),
                     lambda: aten.elu_backward(dy, alpha, scale, iscale, False, x))
    if name in ("gelu", "gelu_tanh"):
        approx = "tanh" if name == "gelu_tanh" else "none"
        return forms(lambda: aten.gelu_backward.grad_input(dy, x, approximate=approx,
                                                           grad_input=dx),
                     lambda: aten.gelu_backward(dy, x, approximate=approx))
    if name == "silu":
        return forms(lambda: aten.silu_backward.grad_input(dy, x, grad_input=dx),
                     lambda: aten.silu_backward(dy, x))
    if name == "mish":
        return forms(None, lambda: aten.mish_backward(dy, x))
    if name in ("sigmoid", "tanh"):
        op = aten.sigmoid_backward if name == "sigmoid" else aten.tanh_backward
        y = torch.sigmoid(x) if name == "sigmoid" else torch.tanh(x)
        return forms(lambda: op.grad_input(dy, y, grad_input=dx), lambda: op(dy, y))
    if name == "softplus":
        return forms(lambda: aten.softplus_backward.grad_input(dy, x, p0, p1, grad_input=dx),
                     lambda: aten.softplus_backward(dy, x, p0, p1))
    if name in ("relu6", "hardtanh"):
        lo, hi = (0.0, 6.0) if name == "relu6" else (p0, p1)
        return forms(lambda: aten.hardtanh_backward.grad_input(dy, x, lo, hi, grad_input=dx),
                     lambda: aten.hardtanh_backward(dy, x, lo, hi))
    if name == "hardsigmoid":
        return forms(lambda: aten.hardsigmoid_backward.grad_input(dy, x, grad_input=dx),
                     lambda: aten.hardsigmoid_backward(dy, x))
    if name == "hardswish":
        return forms(lambda: aten.hardswish_backward.out(dy, x, out=dx),
                     lambda: aten.hardswish_backward(dy, x))
    if name == "logsigmoid":
        buf = aten.log_sigmoid_forward(x)[1]
        return forms(lambda: aten.log_sigmoid_backward.grad_input(dy, x, buf, grad_input=dx),
                     lambda: aten.log_sigmoid_backward(dy, x, buf))
    if name == "softsign":
        return forms(None, autograd(F.softsign))
    if name == "tanhshrink":
        t = torch.tanh(x)  # what TanhBackward0 saved; SubBackward0 passes dy and -dy
        return forms(lambda: torch.sub(dy, aten.tanh_backward.grad_input(dy, t, grad_input=dx),
                                       out=dx),
                     autograd(F.tanhshrink))
    if name in ("softshrink", "hardshrink"):
        op = aten.softshrink_backward if name == "softshrink" else aten.hardshrink_backward
        return forms(lambda: op.grad_input(dy, x, p0, grad_input=dx), lambda: op(dy, x, p0))
    if name == "threshold":
        return forms(lambda: aten.threshold_backward.grad_input(dy, x, p0, grad_input=dx),
                     lambda: aten.threshold_backward(dy, x, p0))
    if name == "prelu":
        w = torch.tensor([p0], dtype=x.dtype, device=x.device)
        dw = torch.empty(1, dtype=x.dtype, device=x.device)
        return forms(lambda: aten.prelu_backward.out(dy, x, w, out0=dx, out1=dw)[0],
                     lambda: aten.prelu_backward(dy, x, w)[0])
    if name == "rrelu":
        training = bool(act.training)
        noise = torch.empty_like(x)
        torch._C._nn.rrelu_with_noise(x, noise, p0, p1, training)  # fills noise in training
        return forms(lambda: aten.rrelu_with_noise_backward.out(dy, x, noise, p0, p1, training,
                                                                False, out=dx),
                     lambda: aten.rrelu_with_noise_backward(dy, x, noise, p0, p1, training,
                                                            False))
    return None


DENSE = re.compile(r"dense_(\w+)_(\d+)x(\d+)x(\d+)$")


def pattern(n, salt=0, scale=1.0):
    """The same deterministic, non-constant inputs as clact bench and the oneDNN peer: [-10, 10)
    in steps of 0.001, scaled; `salt` keeps different operands from being identical. Element i
    depends on i mod PERIOD only (2654435761 i mod 20000), so one period is computed and
    repeated."""
    i = torch.arange(salt, min(n, PERIOD) + salt, dtype=torch.int64)
    one = ((i * 2654435761 % 20000).to(torch.float32) / 1000 - 10) * scale
    return (one.repeat(-(-n // PERIOD))[:n].clone() if n > PERIOD else one).to(DEVICE)


def sync():
    """Waits for the device's queued work (a no-op on the CPU)."""
    if DEVICE.type == "cuda":
        torch.cuda.synchronize(DEVICE)


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
    sync()
    t0 = time.perf_counter()
    fn()
    sync()
    one = time.perf_counter() - t0
    reps = max(3, min(1000, int(target / max(one, 1e-9))))
    ms = []
    if DEVICE.type == "cuda":
        # CUDA events around each repetition: the kernels' time on the device, as clact bench's
        # OpenCL profiling events give it (a host clock from synchronize to synchronize adds the
        # launch and the wait, 10-20 us, a third of a 16M-element f32 op on an H200).
        for _ in range(reps):
            t0, t1 = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            t0.record()
            fn()
            t1.record()
            t1.synchronize()
            ms.append(t0.elapsed_time(t1))
        ms.sort()
        return ms[len(ms) // 2], ms[0]
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        sync()
        ms.append((time.perf_counter() - t0) * 1e3)
    ms.sort()
    return ms[len(ms) // 2], ms[0]


def dense_forms(clact, act_name, B, I, O, backward):
    """The forms of one dense op with the oneDNN peer's operands (x in [-1, 1), W in
    [-0.05, 0.05), b, z and dy small), each with a check of its results against clact's dense
    reference, or None when the activation is unknown."""
    act = None
    if act_name != "linear":
        act = clact.parse(act_name)
        if forward_forms(act_name, act, pattern(1), None) is None:
            raise ValueError("no PyTorch op")
    x, W = pattern(B * I, 0, 0.1).view(B, I), pattern(O * I, 7, 0.005).view(O, I)
    b = pattern(O, 13, 0.01)
    if not backward:
        # y = act(x W^T + b), keeping z as a training forward pass does. The out form is addmm
        # into z (F.linear's own kernel for a 2-D input with a bias) and the activation into y.
        z, y = torch.empty(B, O), torch.empty(B, O)
        zref = (x.double() @ W.double().t() + b.double()).numpy()
        want = zref if act is None else clact.forward(act, zref.ravel()).reshape(B, O)
        if act is None:
            forms = [("out", lambda: torch.addmm(b, x, W.t(), out=z)),
                     ("alloc", lambda: F.linear(x, W, b))]
        else:
            out_fn, alloc_fn = forward_forms(act_name, act, z, y)
            forms = [("out", lambda: (torch.addmm(b, x, W.t(), out=z), out_fn())[1]),
                     ("alloc", lambda: alloc_fn(F.linear(x, W, b)))]
        return forms, lambda got: [got], [want]
    # Backward by explicit calls, as autograd would run them but without its bookkeeping:
    # dz = dy * act'(z), db = column sums of dz, dW = dz^T x, dx = dz W.
    z, dy = pattern(B * O, 17, 0.1).view(B, O), pattern(B * O, 19, 0.1).view(B, O)
    dz, db = torch.empty(B, O), torch.empty(O)
    dW, dx = torch.empty(O, I), torch.empty(B, I)
    dzref = dy.double().numpy() if act is None else clact.backward(
        act, z.numpy().ravel(), dy.numpy().ravel()).reshape(B, O)
    want = [dzref.sum(0), dzref.T @ x.double().numpy(), dzref @ W.double().numpy()]

    def rest_out(g):
        torch.sum(g, 0, out=db)
        torch.mm(g.t(), x, out=dW)
        torch.mm(g, W, out=dx)
        return db, dW, dx

    def rest_alloc(g):
        return g.sum(0), torch.mm(g.t(), x), torch.mm(g, W)

    if act is None:
        forms = [("out", lambda: rest_out(dy)), ("alloc", lambda: rest_alloc(dy))]
    else:
        bforms = dict(backward_forms(act_name, act, z, dy, dz))
        forms = [("alloc", lambda: rest_alloc(bforms["alloc"]()))]
        if "out" in bforms:
            forms.insert(0, ("out", lambda: rest_out(bforms["out"]())))
    return forms, lambda got: list(got), want


def check_dense(got, want):
    """Each result within 1e-4 of its reference's largest magnitude: a float GEMM's sums of I
    products differ from exact ones by up to I ulp of their largest terms (784 x 6e-8 = 5e-5
    relative); a transposed or misplaced operand differs by the values themselves."""
    for g, w in zip(got, want):
        g = g.detach().double().numpy().reshape(w.shape)
        big = np.abs(w).max() if w.size else 0.0
        bad = np.flatnonzero(~(np.abs(g - w) <= 1e-4 * big))
        if bad.size:
            i = int(bad[0])
            raise Mismatch(f"element {i} is {g.ravel()[i]:.9g}, clact's reference "
                           f"{w.ravel()[i]:.9g} (largest {big:.3g})")


def elementwise_forms(clact, op, x, y, dy):
    """(elements, bytes per element, forms, check) of one elementwise op on x's size, or a
    string saying why there is none. check(form's result) raises Mismatch."""
    n = x.numel()
    if op.startswith("softmax_") and ":" not in op:
        r = int(op.split("_")[1])
        m = n // r * r
        if m == 0:
            return f"needs at least one row of {r}"
        xv, yv = x[:m].view(-1, r), y[:m].view(-1, r)
        # no atol: every value here is above 1e-12, a normal float
        expected = Expected(clact.softmax(xv.cpu().numpy(), m // r, r), 0.0)

        def check_softmax(got):
            i = expected.first_bad(got)
            if i >= 0:
                raise Mismatch(f"element {i} is {float(got.reshape(-1)[i]):.9g}, clact's "
                               f"reference {expected.at(i):.9g}")
        return m, 8, [("out", lambda: torch.softmax(xv, -1, out=yv)),
                      ("alloc", lambda: torch.softmax(xv, -1))], check_softmax
    head, colon, params = op.partition(":")
    backward = head.endswith("_backward")
    try:
        act = clact.parse((head[:-9] if backward else head) + colon + params)
    except ValueError as e:
        return str(e)
    if clact.lib.clact_op_elementwise(act.op) != 1:
        return "not elementwise (clact bench skips it too)"
    name = clact.name(act)
    xs = x.cpu().numpy()
    if backward:
        forms = backward_forms(name, act, x, dy, y)
        if name == "rrelu" and act.training:
            def check(got):
                check_rrelu_training(act, xs, got.numpy(), dy.cpu().numpy())
        else:
            dys = dy.cpu().numpy()
            want = reference(lambda a, d: clact.backward(act, a, d), xs, dys)

            def check(got):
                check_elementwise(got, want, xs, dys)
    else:
        pair = forward_forms(name, act, x, y)
        forms = pair and [("out", pair[0]), ("alloc", lambda: pair[1](x))]
        if name == "rrelu" and act.training:
            def check(got):
                check_rrelu_training(act, xs, got.numpy())
        else:
            want = reference(lambda a, d: clact.forward(act, a), xs)

            def check(got):
                check_elementwise(got, want, xs)
    if forms is None:
        return "no PyTorch op"
    return n, 12 if backward else 8, forms, check


def library_default():
    return os.path.join(here, "..", "build", "libclact.so.0")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ops", help="default: every activation of the library (threshold with "
                    "threshold=0.1:value=20, rrelu also with training=1, as clact bench's "
                    "default list), then softmax_1000,softmax_4096,softmax_32768")
    ap.add_argument("--sizes", default="16777216,67108864")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--library", default=library_default(),
                    help="libclact, whose CPU reference every result is checked against")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--device", default="cpu", help="cpu (the default) or cuda[:N]")
    a = ap.parse_args()
    global DEVICE
    try:
        DEVICE = torch.device(a.device)
    except RuntimeError as e:
        sys.exit(f"peer_torch: bad --device '{a.device}': {e}")
    if DEVICE.type == "cuda" and not torch.cuda.is_available():
        sys.exit(f"peer_torch: --device {a.device}: this PyTorch has no usable CUDA device")
    if DEVICE.type not in ("cpu", "cuda"):
        sys.exit(f"peer_torch: --device must be cpu or cuda[:N], not '{a.device}'")
    peer = "torch" if DEVICE.type == "cpu" else "torch-cuda"
    try:
        clact = Clact(a.library)
    except OSError as e:
        sys.exit(f"peer_torch: cannot load clact's library for the checks ({e}); build it or "
                 "name it with --library")
    if a.ops is None:
        a.ops = ",".join(clact.default_ops() + ["softmax_1000", "softmax_4096", "softmax_32768"])
    torch.set_num_threads(a.threads)
    target = 0.15 if a.quick else 0.5
    print("peer,op,elements,form,median_ms,min_ms,GB_s,Gelem_s,GFLOP_s")
    noted = False
    try:
        counts = [int(s) for s in a.sizes.split(",")]
    except ValueError:
        sys.exit(f"peer_torch: bad --sizes '{a.sizes}' (whole numbers of elements)")
    if any(n < 1 for n in counts):
        sys.exit(f"peer_torch: bad --sizes '{a.sizes}' (at least 1 element)")
    for k, n in enumerate(counts):
        x = pattern(n)
        y = torch.empty_like(x)
        dy = None
        for op in a.ops.split(","):
            head = op.partition(":")[0]
            d = DENSE.match(head[:-9] if head.endswith("_backward") else head)
            if d:
                # A dense op's shape is in its name: it runs once, with the first size.
                if k:
                    continue
                if DEVICE.type != "cpu":
                    print(f"peer_torch: {op}: dense ops run on the CPU only, skipped",
                          file=sys.stderr)
                    continue
                if not noted:
                    blas_note()
                    noted = True
                backward = head.endswith("_backward")
                act_name, (B, I, O) = d.group(1), map(int, d.groups()[1:])
                try:
                    forms, results, want = dense_forms(clact, act_name, B, I, O, backward)
                except ValueError as e:
                    print(f"peer_torch: bad dense op '{op}': {e}", file=sys.stderr)
                    continue
                flops = (4 if backward else 2) * B * I * O
                for form, fn in forms:
                    try:
                        check_dense(results(fn()), want)
                    except Mismatch as e:
                        print(f"peer_torch: {op} ({form}): {e}: not the same function, not "
                              "timed", file=sys.stderr)
                        continue
                    med, lo = timed(fn, target)
                    print(f"torch,{op},{B * O},{form},{med:.6f},{lo:.6f},,,"
                          f"{flops / med * 1e-6:.3f}", flush=True)
                continue
            if head.endswith("_backward") and dy is None:
                dy = pattern(n, 7, 0.1)
            spec = elementwise_forms(clact, op, x, y, dy)
            if isinstance(spec, str):
                print(f"peer_torch: {op}: {spec}", file=sys.stderr)
                continue
            m, bpe, forms, check = spec
            for form, fn in forms:
                y.fill_(float("nan"))  # an element an out form leaves unwritten fails
                try:
                    check(fn().cpu())
                except Mismatch as e:
                    print(f"peer_torch: {op} ({form}): {e}: not the same function, not timed",
                          file=sys.stderr)
                    continue
                except (AttributeError, NotImplementedError, RuntimeError) as e:
                    # an op or overload this PyTorch lacks (2.x has no aten.prelu.out)
                    print(f"peer_torch: {op} ({form}): not in this PyTorch {torch.__version__}: "
                          f"{e}", file=sys.stderr)
                    continue
                med, lo = timed(fn, target)
                print(f"{peer},{op},{m},{form},{med:.6f},{lo:.6f},{bpe * m / med * 1e-6:.3f},"
                      f"{m / med * 1e-6:.4f},", flush=True)


if __name__ == "__main__":
    main()
