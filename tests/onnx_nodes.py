#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""ONNX's node tests (Debian's libonnx-testdata, read with python3-onnx) through `clact apply`,
for every ONNX op whose semantics a clact op (PyTorch's) expresses.

Every test directory (model.onnx, test_data_set_*/input_*.pb and output_*.pb) is read; its
node's op type and attributes either map to a clact op and its parameters, and the test runs, or
the test is recorded as skipped with the reason: a graph of several nodes (a function's
expansion), an ONNX op with no clact counterpart, attributes no clact parameter expresses, or
element types clact does not read (its files are f32, f16 or f64). One line per test, then the
counts by outcome and reason.

It fails when a test that ran fails, and when a test of EXPECTED_RUN (the tests the mapping
below must run with this version of the data) did not run: a regression in the mapping, in the
CLI or in the op list cannot then pass as a row of skips. The one exception is a feature another
branch is adding (PENDING): a test that needs it is recorded as waiting for it when the CLI
rejects it in the one way that means "not there yet", and runs once it is there.

Comparison (ONNX's runner: |clact - expected| <= 1e-7 + 1e-3 |expected|; the house bar,
SEMANTICS.md: relative 4e-6 for piecewise and algebraic ops, 4e-5 for transcendental ones where
|expected| > 1e-5, absolute below; the tighter of the two applies to each element): relative R
where |expected| > 1e-5, 1e-7 + 1e-3 |expected| (at most 1.1e-7) below. NaN where expected is
NaN and nowhere else, infinities equal. The expected outputs are numpy's float32 evaluation of
ONNX's formula, which rounds more than once; the worst error over the bound (1.0 = at the bound)
and in ulp of the expected value are printed per test.

Exit status: 0 passed, 1 failed, 77 when python3-onnx or the test data is missing (CTest's
SKIP_RETURN_CODE; CI installs both through scripts/install-deps --test).
Usage: onnx_nodes.py path/to/clact [NODE_TEST_DIR]"""
import glob
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

# tests/clact_names.py, beside this script
from clact_names import library_ops, library_softmax_kinds

SKIP = 77
DATA = "/usr/share/libonnx-testdata/data/node"

# The tests this mapping runs on libonnx-testdata 1.12 (Debian bookworm). A newer version that
# renames or drops one of them fails the test, to be looked at; a new test that runs is reported.
EXPECTED_RUN = {
    "test_celu",
    "test_clip", "test_clip_default_inbounds", "test_clip_default_max", "test_clip_default_min",
    "test_clip_example", "test_clip_inbounds", "test_clip_outbounds", "test_clip_splitbounds",
    "test_elu", "test_elu_default", "test_elu_example",
    "test_hardswish",
    "test_leakyrelu", "test_leakyrelu_default", "test_leakyrelu_example",
    "test_logsoftmax_axis_0", "test_logsoftmax_axis_1", "test_logsoftmax_axis_2",
    "test_logsoftmax_default_axis", "test_logsoftmax_example_1", "test_logsoftmax_large_number",
    "test_logsoftmax_negative_axis",
    "test_prelu_broadcast",
    "test_relu",
    "test_selu_default",
    "test_shrink_hard", "test_shrink_soft",
    "test_sigmoid", "test_sigmoid_example",
    "test_softmax_axis_0", "test_softmax_axis_1", "test_softmax_axis_2",
    "test_softmax_default_axis", "test_softmax_example", "test_softmax_large_number",
    "test_softmax_negative_axis",
    "test_softplus", "test_softplus_example",
    "test_softsign", "test_softsign_example",
    "test_tanh", "test_tanh_example",
    "test_thresholdedrelu", "test_thresholdedrelu_default", "test_thresholdedrelu_example",
}

# Features being added on other branches: the CLI's answer while one is missing (exit 2 and
# these words on stderr). A test needing one is skipped while that answer comes, and only then.
PENDING = {
    "prelu weight=W.npy": ("parameter 'weight'", "is not a number"),
}

# The house's bars (SEMANTICS.md): piecewise and algebraic ops, and the softmax family as
# torch_parity.py holds it, 4e-6; transcendental ones 4e-5. The data's own error, against the
# exact value of ONNX's formula on its float inputs: up to 30 ulp (2.0e-6 relative) in test_elu
# and test_selu_default (numpy's exp(x) - 1 in float at x = -0.028, where clact's expm1 is within
# 0.74 ulp), 3.4 in test_hardswish, under 3 elsewhere: inside both bars, which the tests meet
# with a margin of 12 or more (the worst error over the bar is printed per test).
ALG, TR = 4e-6, 4e-5


class Skip(Exception):
    """A test the mapping does not run, and why (kind: a key of SKIP_KINDS)."""

    def __init__(self, kind, reason):
        super().__init__(reason)
        self.kind, self.reason = kind, reason


class Run:
    """One `clact apply`: op, NAME=VALUE parameters, the input array as clact sees it (reshaped
    where the mapping needs it), an optional weight array (prelu), the bar class, and the feature
    of PENDING it needs, if any."""

    def __init__(self, op, params, x, bar, weight=None, pending=None):
        self.op, self.params, self.x, self.bar = op, params, x, bar
        self.weight, self.pending = weight, pending


def num(v):
    """A parameter value as the CLI reads it: shortest text of the double, exact for floats."""
    return repr(float(v))


def attrs_only(attrs, known):
    extra = sorted(set(attrs) - set(known))
    if extra:
        raise Skip("attr", f"attribute {', '.join(extra)} has no clact parameter")


def unary(op, bar, params=None, known=()):
    """An ONNX op that is clact's op, with parameters taken from the attributes (params maps
    the attribute dict to NAME=VALUE strings)."""
    def mapping(attrs, ins, opset):
        attrs_only(attrs, known)
        return Run(op, params(attrs) if params else [], ins[0], bar)
    return mapping


def selu(attrs, ins, opset):
    # ONNX's defaults are PyTorch's constants rounded to float; others have no clact parameter.
    attrs_only(attrs, ("alpha", "gamma"))
    alpha = attrs.get("alpha", 1.67326319217681884765625)
    gamma = attrs.get("gamma", 1.05070102214813232421875)
    if (np.float32(alpha) != np.float32(1.6732632423543772) or
            np.float32(gamma) != np.float32(1.0507009873554805)):
        raise Skip("attr", f"alpha={alpha:g} gamma={gamma:g}: PyTorch's selu has alpha 1.6732632, "
                           "scale 1.0507010 only")
    return Run("selu", [], ins[0], TR)


def hardsigmoid(attrs, ins, opset):
    # PyTorch's hardsigmoid is ONNX's HardSigmoid with alpha 1/6, beta 0.5 only.
    attrs_only(attrs, ("alpha", "beta"))
    alpha, beta = attrs.get("alpha", 0.2), attrs.get("beta", 0.5)
    if np.float32(alpha) != np.float32(1 / 6) or np.float32(beta) != np.float32(0.5):
        raise Skip("attr", f"alpha={alpha:g} beta={beta:g}: PyTorch's hardsigmoid is alpha 1/6, "
                           "beta 0.5 only")
    return Run("hardsigmoid", [], ins[0], ALG)


def softplus(attrs, ins, opset):
    # ONNX's Softplus is log(exp(x) + 1) everywhere; PyTorch's returns x above its threshold
    # (20 by default). The difference there is log1p(exp(-x)) < 2.1e-9, relative < 1.1e-10 at 20:
    # below half a float ulp (3e-8 relative), so the same function for f32 and f16 data. In
    # f64 it is not, and inputs above 20 are not expressible.
    attrs_only(attrs, ())
    x = ins[0]
    if x.dtype == np.float64 and np.nanmax(x, initial=0) > 20:
        raise Skip("attr", "f64 inputs above PyTorch's threshold 20 (softplus returns x there)")
    return Run("softplus", [], x, TR)


def thresholded_relu(attrs, ins, opset):
    attrs_only(attrs, ("alpha",))
    return Run("threshold", [f"threshold={num(attrs.get('alpha', 1.0))}", "value=0"], ins[0], ALG)


def shrink(attrs, ins, opset):
    # ONNX: x + bias below -lambd, x - bias above lambd, 0 between. bias 0 is hardshrink, bias
    # lambd softshrink; any other bias is neither.
    attrs_only(attrs, ("bias", "lambd"))
    bias, lambd = attrs.get("bias", 0.0), attrs.get("lambd", 0.5)
    if lambd < 0:
        raise Skip("attr", f"lambd={lambd:g}: PyTorch's shrinks need lambd >= 0")
    if bias == 0:
        return Run("hardshrink", [f"lambd={num(lambd)}"], ins[0], ALG)
    if bias == lambd:
        return Run("softshrink", [f"lambd={num(lambd)}"], ins[0], ALG)
    raise Skip("attr", f"bias={bias:g} lambd={lambd:g}: shrink by bias != lambd, and != 0")


def clip(attrs, ins, opset):
    # hardtanh(min_val, max_val) is clamp; a missing bound is ONNX's default, the type's lowest
    # or largest finite value (clamping an infinity to it, as ONNX does).
    x = ins[0]
    big = float(np.finfo(x.dtype).max)
    if opset < 11:
        attrs_only(attrs, ("min", "max"))
        lo, hi = attrs.get("min", -big), attrs.get("max", big)
    else:
        attrs_only(attrs, ())
        bounds = [ins[k] if len(ins) > k and ins[k] is not None else None for k in (1, 2)]
        if any(b is not None and b.size != 1 for b in bounds):
            raise Skip("attr", "min or max with more than one element")
        lo = float(bounds[0].reshape(())) if bounds[0] is not None else -big
        hi = float(bounds[1].reshape(())) if bounds[1] is not None else big
    if not lo <= hi:
        raise Skip("attr", f"min {lo:g} > max {hi:g}: hardtanh needs min_val <= max_val")
    return Run("hardtanh", [f"min_val={num(lo)}", f"max_val={num(hi)}"], x, ALG)


def prelu(attrs, ins, opset):
    # PyTorch's weight is one value, or one per channel (dim 1). A slope that, broadcast to x,
    # varies along one axis k only is the per-channel weight of x viewed as
    # (prod(shape[:k]), shape[k], prod(shape[k+1:])) (the same elements in the same order).
    attrs_only(attrs, ())
    x, slope = ins[0], ins[1] if len(ins) > 1 else None
    if slope is None:
        raise Skip("attr", "no slope input")
    try:
        s = np.broadcast_to(slope, x.shape)
    except ValueError:
        raise Skip("attr", f"slope {slope.shape} does not broadcast to x {x.shape}") from None
    varies = [k for k in range(x.ndim) if s.shape[k] > 1 and
              not (np.take(s, [0], axis=k) == s).all()]
    if not varies:
        w = s.reshape(-1)[0] if s.size else slope.reshape(-1)[0]
        return Run("prelu", [f"weight={num(w)}"], x, ALG)
    if len(varies) > 1:
        raise Skip("attr", f"slope {slope.shape} varies along {len(varies)} axes of x {x.shape}: "
                           "PyTorch's weight is one value per channel")
    k = varies[0]
    view = (int(np.prod(x.shape[:k])), x.shape[k], int(np.prod(x.shape[k + 1:])))
    w = np.ascontiguousarray(s[tuple(slice(None) if i == k else 0 for i in range(x.ndim))])
    return Run("prelu", [], x.reshape(view), ALG, weight=w.astype(x.dtype),
               pending="prelu weight=W.npy")


def softmax_family(kind):
    # Opset 13 on: one axis (default -1), PyTorch's dim. Before: x flattened to 2-D at axis
    # (default 1), normalised over everything from axis on; the same only where the axes after
    # axis have size 1.
    def mapping(attrs, ins, opset):
        attrs_only(attrs, ("axis",))
        x = ins[0]
        axis = attrs.get("axis", -1 if opset >= 13 else 1)
        if not -max(x.ndim, 1) <= axis < max(x.ndim, 1):
            raise Skip("attr", f"axis {axis} out of range for {x.ndim}-D")
        if opset < 13 and np.prod(x.shape[axis % x.ndim + 1:]) != 1:
            raise Skip("attr", f"opset {opset} flattens from axis {axis} over {x.shape}")
        return Run(kind, [f"dim={axis}"], x, ALG)  # torch_parity.py's softmax bar
    return mapping


MAPPINGS = {
    "Relu": unary("relu", ALG),
    "LeakyRelu": unary("leaky_relu", ALG, lambda a: [f"negative_slope={num(a.get('alpha', 0.01))}"],
                       ("alpha",)),
    "Elu": unary("elu", TR, lambda a: [f"alpha={num(a.get('alpha', 1.0))}"], ("alpha",)),
    "Celu": unary("celu", TR, lambda a: [f"alpha={num(a.get('alpha', 1.0))}"], ("alpha",)),
    "Selu": selu,
    "Sigmoid": unary("sigmoid", TR),
    "Tanh": unary("tanh", TR),
    "Softplus": softplus,
    "Softsign": unary("softsign", ALG),
    "HardSigmoid": hardsigmoid,
    "HardSwish": unary("hardswish", ALG),
    "ThresholdedRelu": thresholded_relu,
    "Shrink": shrink,
    "Clip": clip,
    "PRelu": prelu,
    "Softmax": softmax_family("softmax"),
    "LogSoftmax": softmax_family("log_softmax"),
    # ONNX 1.13 adds Mish (opset 18) and 1.15 Gelu (opset 20): clact's mish and gelu then.
    "Mish": unary("mish", TR),
    "Gelu": unary("gelu", TR, lambda a: [f"approximate={a.get('approximate', b'none').decode()}"],
                  ("approximate",)),
}


def read_tensor(path):
    t = onnx.TensorProto()
    with open(path, "rb") as f:
        t.ParseFromString(f.read())
    if t.data_type not in (onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16,
                           onnx.TensorProto.DOUBLE):
        kind = onnx.TensorProto.DataType.Name(t.data_type).lower()
        raise Skip("dtype", f"{kind} tensors (clact reads f32, f16, f64)")
    return numpy_helper.to_array(t)


def bounds(e, rel):
    """The tighter of the house bar (rel) and ONNX's, per element of the expected output."""
    a = np.abs(e)
    return np.where(a > 1e-5, rel * a, 1e-7 + 1e-3 * a)


def compare(y, e, rel):
    """(number of bad elements, (worst error / bound, worst error in ulp of the expected value)
    over finite elements, the first bad ones)."""
    if y.shape != e.shape or y.dtype != e.dtype:
        return -1, (np.inf, np.inf), (f"clact gave {y.dtype}{list(y.shape)} for "
                                      f"{e.dtype}{list(e.shape)}")
    y64, e64 = y.astype(np.float64), e.astype(np.float64)
    bad = np.isnan(y64) != np.isnan(e64)
    bad |= np.isinf(e64) & (y64 != e64)
    bad |= np.isinf(y64) & ~np.isinf(e64)
    fin = np.isfinite(y64) & np.isfinite(e64)
    ratio = np.where(fin, np.abs(y64 - e64) / bounds(e64, rel), 0)
    bad |= ratio > 1
    ulp = np.where(fin, np.abs(y64 - e64) / np.spacing(np.abs(e)).astype(np.float64), 0)
    worst = (float(ratio.max()), float(ulp.max())) if ratio.size else (0.0, 0.0)
    i = np.flatnonzero(bad)[:4]
    return int(bad.sum()), worst, f"at {i}: clact {y.reshape(-1)[i]}, expected {e.reshape(-1)[i]}"


def bar_for(dtype, bar):
    # f16 is a storage format (SEMANTICS.md): the float result rounded once more, 2^-11.
    # f64: the house's double bar (torch_parity.py). ONNX 1.12's node tests have neither here.
    return {np.float16: bar + 2.0 ** -11, np.float64: 1e-13}.get(dtype.type, bar)


def run_clact(clact, run, tmp, label):
    """Runs one mapping; returns (outputs or None, pending feature or None, error text).
    One process per test: each takes about 60 ms here (mostly OpenCL's start; the program comes
    from the disk cache), 2.7 s for the 45 tests, most of the whole; grouping the tests by op,
    parameters (and shape, for the softmax family) would save 14 of the 45 starts, under a
    second, for a less direct table."""
    xin, yout = os.path.join(tmp, f"{label}_x.npy"), os.path.join(tmp, f"{label}_y.npy")
    np.save(xin, np.ascontiguousarray(run.x))
    params = list(run.params)
    if run.weight is not None:
        win = os.path.join(tmp, f"{label}_w.npy")
        np.save(win, run.weight)
        params.append(f"weight={win}")
    r = subprocess.run([clact, "apply", run.op, *params, xin, yout], capture_output=True,
                       text=True, timeout=120)
    if r.returncode != 0:
        words = PENDING.get(run.pending, ())
        if run.pending and r.returncode == 2 and all(w in r.stderr for w in words):
            return None, run.pending, r.stderr.strip().replace(tmp + os.sep, "")
        return None, None, f"clact exit {r.returncode}: {r.stderr.strip()}"
    if not os.path.exists(yout):
        return None, None, "clact exit 0 but no output file"
    return np.load(yout), None, ""


def load_test(d):
    """The node, its opset, and the data sets: [(inputs by node input, outputs)]."""
    model = onnx.load(os.path.join(d, "model.onnx"))
    nodes = model.graph.node
    if len(nodes) != 1:
        raise Skip("graph", f"graph of {len(nodes)} nodes (a function's expansion)")
    node = nodes[0]
    if node.op_type not in MAPPINGS:
        raise Skip("op", f"{node.op_type}: no clact op")
    domain = node.domain or "ai.onnx"
    opset = max((o.version for o in model.opset_import if (o.domain or "ai.onnx") == domain),
                default=1)
    initial = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    sets = []
    for s in sorted(glob.glob(os.path.join(d, "test_data_set_*"))):
        named = dict(initial)
        for i, v in enumerate(model.graph.input):
            p = os.path.join(s, f"input_{i}.pb")
            if os.path.exists(p):
                named[v.name] = read_tensor(p)
        outs = [read_tensor(os.path.join(s, f"output_{i}.pb"))
                for i in range(len(model.graph.output))]
        sets.append(([named.get(n) if n else None for n in node.input], outs))
    if not sets:
        raise Skip("data", "no test data set")
    return node, opset, sets


def run_test(clact, ops, d, tmp):
    """One test directory: ('pass'|'FAIL'|'skip', kind, detail, worst)."""
    name = os.path.basename(d)
    try:
        node, opset, sets = load_test(d)
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        worst, cmd = (0.0, 0.0), ""
        for n, (ins, outs) in enumerate(sets):
            if ins[0] is None or len(outs) != 1:
                raise Skip("attr", f"{len(ins)} inputs, the first absent, or {len(outs)} outputs")
            run = MAPPINGS[node.op_type](attrs, ins, opset)
            if run.op not in ops:
                return "FAIL", "lacks", f"{node.op_type} maps to {run.op}, not in the library", None
            cmd = " ".join([run.op, *run.params])
            if run.weight is not None:
                cmd += " weight=W.npy"
            if run.x.shape != ins[0].shape:
                cmd += f" on x viewed as {list(run.x.shape)}"
            y, pending, err = run_clact(clact, run, tmp, f"{name}_{n}")
            if pending:
                raise Skip("pending", f"waits for {pending}; this clact: {err}")
            if y is None:
                return "FAIL", "run", f"{cmd}: {err}", None
            e = outs[0]
            nbad, w, where = compare(y.reshape(e.shape) if y.size == e.size else y, e,
                                     bar_for(e.dtype, run.bar))
            worst = tuple(map(max, worst, w))
            if nbad:
                bad = f"{nbad} bad {where}" if nbad > 0 else where
                return "FAIL", "value", f"{cmd}: {bad}", w
        return "pass", "", cmd, worst
    except Skip as s:
        return "skip", s.kind, s.reason, None


def main():
    if len(sys.argv) not in (2, 3):
        print("usage: " + __doc__.rsplit("Usage: ", 1)[1], file=sys.stderr)
        return 2
    clact = os.path.abspath(sys.argv[1])
    data = sys.argv[2] if len(sys.argv) == 3 else DATA
    global onnx, numpy_helper, helper
    try:
        import onnx
        from onnx import helper, numpy_helper
    except ImportError as e:
        print(f"onnx_nodes: SKIP: python3-onnx is not installed ({e}); "
              "scripts/install-deps --test installs it")
        return SKIP
    dirs = sorted(d for d in glob.glob(os.path.join(data, "test_*")) if os.path.isdir(d))
    if not dirs:
        print(f"onnx_nodes: SKIP: no ONNX node tests in {data} (Debian's libonnx-testdata; "
              "scripts/install-deps --test installs it)")
        return SKIP
    ops = set(library_ops(clact)) | set(library_softmax_kinds(clact))
    print(f"onnx_nodes: onnx {onnx.__version__}, {len(dirs)} node tests in {data}")
    start = time.monotonic()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for d in dirs:
            results[os.path.basename(d)] = run_test(clact, ops, d, tmp)
    elapsed = time.monotonic() - start
    return report(results, elapsed)


SKIP_KINDS = {"graph": "several nodes", "op": "no clact op", "attr": "not expressible",
              "dtype": "element type", "data": "no data set",
              "pending": "waiting for another branch"}


def report(results, elapsed):
    """The table (one row per test: outcome, worst error over the bar and in ulp, or the skip's
    kind; the clact command or the reason), then the counts; returns the exit status."""
    print(f"{'':4s} {'test':58s} {'worst error':20s} clact command, or why not run")
    failed = unrun = 0
    for name, (status, kind, detail, worst) in results.items():
        if status == "skip" and name in EXPECTED_RUN and kind != "pending":
            status, detail = "FAIL", f"expected to run, skipped: {detail}"
            unrun += 1
        elif status == "FAIL":
            failed += 1
        note = f"{worst[0]:.3f} bar {worst[1]:4.1f} ulp" if worst else f"[{kind}]"
        if status == "pass" and name not in EXPECTED_RUN:
            detail += "  (ran, not in EXPECTED_RUN: newer test data?)"
        print(f"{status:4s} {name:58s} {note:20s} {detail}")
    for name in sorted(EXPECTED_RUN - set(results)):
        unrun += 1
        print(f"FAIL {name:58s} {'':20s} expected to run, not in the test data")
    ran = [r for r in results.values() if r[0] != "skip"]
    passed = sum(r[0] == "pass" for r in ran)
    skips = {}
    for status, kind, _, _ in results.values():
        if status == "skip":
            skips[kind] = skips.get(kind, 0) + 1
    print(f"onnx_nodes: {len(results)} tests: {len(ran)} ran, {passed} passed, {failed} failed; "
          f"{unrun} expected to run did not; skipped: " +
          ", ".join(f"{n} {SKIP_KINDS[k]} [{k}]" for k, n in sorted(skips.items())) +
          f" ({elapsed:.1f} s)")
    pending = sorted(n for n, r in results.items() if r[1] == "pending")
    if pending:
        print(f"onnx_nodes: waiting for a feature on another branch: {', '.join(pending)}")
    return 1 if failed or unrun else 0


if __name__ == "__main__":
    sys.exit(main())
