#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""clact plot: the SVG parses as XML, holds one series per op named in its legend, and the points
it draws, read back through the axes' own tick labels, lie on PyTorch's function (and, with
--grad, on torch.autograd's derivative) within the drawing's resolution; corners and jumps are
drawn exactly; non-finite values break lines; output is deterministic; every bad input is exit 2
with one 'clact: ' line and no file left behind.
Usage: plot_test.py path/to/clact"""
import ctypes
import math
import os
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

import torch
import torch.nn.functional as F

from clact_names import library_path  # tests/clact_names.py, beside this script

CLACT = sys.argv[1]
NS = {"s": "http://www.w3.org/2000/svg"}
# Places in the file are printed to 0.01 px, each rounded by up to 0.005 px; the axis map read
# from two tick labels adds as much again. 0.02 px either way bounds where a point can be.
PX = 0.02
passed = failed = 0

# PyTorch's functions by clact's op names, with the parameters in clact's order (the library's
# parameter names are PyTorch's keywords). Evaluated in float64: the device's f32 values differ
# from them by far less than the drawing resolves.
TORCH = {
    "relu": lambda x: F.relu(x),
    "leaky_relu": lambda x, s: F.leaky_relu(x, s),
    "elu": lambda x, a: F.elu(x, a),
    "gelu": lambda x: F.gelu(x),
    "gelu_tanh": lambda x: F.gelu(x, approximate="tanh"),
    "silu": F.silu,
    "mish": F.mish,
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "softplus": lambda x, b, t: F.softplus(x, b, t),
    "relu6": F.relu6,
    "hardtanh": lambda x, lo, hi: F.hardtanh(x, lo, hi),
    "selu": F.selu,
    "celu": lambda x, a: F.celu(x, a),
    "hardsigmoid": F.hardsigmoid,
    "hardswish": F.hardswish,
    "logsigmoid": F.logsigmoid,
    "softsign": F.softsign,
    "tanhshrink": F.tanhshrink,
    "softshrink": lambda x, l: F.softshrink(x, l),
    "hardshrink": lambda x, l: F.hardshrink(x, l),
    "threshold": lambda x, t, v: F.threshold(x, t, v),
    "prelu": lambda x, w: F.prelu(x, torch.tensor([w], dtype=x.dtype)),
    "rrelu": lambda x, lo, hi: F.rrelu(x, lo, hi, training=False),
}

LIB = ctypes.CDLL(library_path(CLACT))
for fn, restype, argtypes in [("clact_op_name", ctypes.c_char_p, [ctypes.c_int]),
                              ("clact_op_elementwise", ctypes.c_int, [ctypes.c_int])]:
    getattr(LIB, fn).restype = restype
    getattr(LIB, fn).argtypes = argtypes


def library_ops():
    """(name, elementwise) for every op of the library."""
    ops = []
    while (name := LIB.clact_op_name(len(ops))) is not None:
        ops.append((name.decode(), LIB.clact_op_elementwise(len(ops)) == 1))
    return ops


def run(*args):
    return subprocess.run([CLACT, "plot", *args], capture_output=True, text=True, timeout=300)


def check(name, cond, detail=""):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print(f"FAIL {name}: {detail}")


def label_params(label):
    """'softplus(beta=1, threshold=20)' -> ('softplus', [1.0, 20.0])."""
    if "(" not in label:
        return label, []
    name, rest = label.split("(", 1)
    return name, [float(kv.split("=")[1]) for kv in rest.rstrip(")").split(", ")]


def axis_map(ticks):
    """value -> px and px -> value from the tick labels (value, place)."""
    (v0, p0), (v1, p1) = ticks[0], ticks[-1]
    slope = (p1 - p0) / (v1 - v0)
    return (lambda v: p0 + (v - v0) * slope), (lambda p: v0 + (p - p0) / slope), abs(slope)


class Panel:
    """One panel: its axes, plot area, and per series the drawn lines in data units."""

    def __init__(self, g):
        rect = g.find("s:rect[@class='plot-area']", NS)
        self.box = (float(rect.get("x")), float(rect.get("y")),
                    float(rect.get("x")) + float(rect.get("width")),
                    float(rect.get("y")) + float(rect.get("height")))
        xt = [(float(t.text), float(t.get("x"))) for t in g.findall("s:g[@class='xticks']/s:text", NS)]
        yt = [(float(t.text), float(t.get("y"))) for t in g.findall("s:g[@class='yticks']/s:text", NS)]
        self.px, self.x_of, sx = axis_map(xt)
        self.py, self.y_of, sy = axis_map(yt)
        self.ex, self.ey = PX / sx, PX / sy  # the resolution in data units
        self.title = g.find("s:text[@class='panel-title']", NS).text
        self.legend = [t.text for t in g.findall("s:g[@class='legend']/s:text", NS)]
        self.series = {}
        self.pixels = {}
        for grp in g.findall("s:g[@class='series']", NS):
            lines = [[tuple(float(c) for c in pt.split(",")) for pt in pl.get("points").split()]
                     for pl in grp.findall("s:polyline", NS)]
            name = grp.find("s:title", NS).text
            self.pixels[name] = lines
            self.series[name] = [[(self.x_of(a), self.y_of(b)) for a, b in ln] for ln in lines]

    def at(self, name, x):
        """The drawn line's y values at x (one per line piece crossing it)."""
        p, out = self.px(x), []
        for ln in self.pixels[name]:
            for (a, b), (c, d) in zip(ln, ln[1:]):
                if min(a, c) - PX <= p <= max(a, c) + PX:
                    t = 0.5 if abs(c - a) < 1e-9 else min(1, max(0, (p - a) / (c - a)))
                    out.append(self.y_of(b + t * (d - b)))
        return out


def figure(path):
    root = ET.parse(path).getroot()
    assert root.tag == "{%s}svg" % NS["s"], root.tag
    return [Panel(g) for g in root.findall("s:g[@class='panel']", NS)]


def torch_values(name, params, xs, grad):
    x = torch.tensor(xs, dtype=torch.float64, requires_grad=grad)
    y = TORCH[name](x, *params)
    if not grad:
        return y.tolist()
    y.backward(torch.ones_like(y))
    return x.grad.tolist()


def corners(name, p):
    """Where the op or its derivative jumps or turns (PyTorch's one-sided value is taken there)."""
    if name in ("relu", "leaky_relu", "elu", "selu", "celu", "prelu", "rrelu"):
        return [0]
    if name in ("hardsigmoid", "hardswish"):
        return [-3, 3]
    if name in ("softshrink", "hardshrink"):
        return [-p[0], p[0]]
    return {"relu6": [0, 6], "hardtanh": p, "threshold": p[:1],
            "softplus": [p[1] / p[0]] if p else []}.get(name, [])


def check_on_curve(what, panel, label, grad):
    """Every drawn point (x, y) has y between the least and greatest of f over [x - ex, x + ex]
    (its ends, and any corner inside, so a point beside a jump may take either side), widened by
    the y resolution."""
    name, params = label_params(label)
    pts = [p for ln in panel.series[label] for p in ln]
    samples = [[x - panel.ex, x, x + panel.ex] + [k for k in corners(name, params)
                                                  if abs(k - x) <= panel.ex] for x, _ in pts]
    f = torch_values(name, params, [v for s in samples for v in s], grad)
    bad, at = [], 0
    for (x, y), s in zip(pts, samples):
        lo, hi = min(f[at:at + len(s)]), max(f[at:at + len(s)])
        at += len(s)
        if not lo - panel.ey <= y <= hi + panel.ey:
            bad.append((x, y, lo, hi))
    check(f"{what}: {label} on PyTorch's {'derivative' if grad else 'function'}", not bad and pts,
          f"{len(bad)} of {len(pts)} points off, first (x, y, f range): {bad[:3]}")


def plot_ops(tmp, ops, extra, what):
    out = os.path.join(tmp, what + ".svg")
    r = run(",".join(ops), *extra, "--grad", out)
    check(f"{what}: exit 0", r.returncode == 0 and not r.stderr, f"exit {r.returncode}: {r.stderr}")
    if r.returncode:
        return
    f, g = figure(out)
    labels = g.legend
    check(f"{what}: one legend, on the derivatives' panel", f.legend == [] and len(labels) == len(ops),
          f"{f.legend} / {labels}")
    check(f"{what}: legend names the ops in order",
          [label_params(l)[0] for l in labels] == [o.split(":")[0] for o in ops], labels)
    for p in (f, g):
        check(f"{what}: one series per op, titled as the legend", list(p.series) == labels,
              f"{list(p.series)}")
    for label in labels:
        if label_params(label)[0] in TORCH:
            check_on_curve(what + " f", f, label, False)
            check_on_curve(what + " f'", g, label, True)
    return f, g


def near(values, want, tol):
    return bool(values) and all(abs(v - want) <= tol for v in values)


def check_tour(tmp):
    """The README's tour: values at chosen x, corners, the y range, determinism."""
    out = os.path.join(tmp, "tour.svg")
    r = run("relu,gelu,silu,sigmoid,tanh", "--range", "-5,5", "--grad", out)
    check("tour: exit 0", r.returncode == 0, r.stderr)
    f, g = figure(out)
    tol = lambda p: p.ey + 0.01  # noqa: E731 (f's slope times the x resolution stays below 0.01)
    for label, x, want in [("relu", 2, 2), ("relu", -3, 0), ("sigmoid", 0, 0.5), ("tanh", 0, 0),
                           ("tanh", 4, math.tanh(4)), ("gelu", 1, 0.8413447460685429),
                           ("silu", -1, -1 / (1 + math.e))]:
        check(f"tour: {label}({x})", near(f.at(label, x), want, tol(f)), f"{f.at(label, x)}, want {want}")
    for label, x, want in [("relu", 2, 1), ("relu", -2, 0), ("tanh", 0, 1), ("sigmoid", 0, 0.25)]:
        check(f"tour: {label}'({x})", near(g.at(label, x), want, tol(g)), f"{g.at(label, x)}, want {want}")
    # relu' jumps from 0 to 1 at 0: a vertical line there, and relu's corner is drawn at (0, 0).
    vert = [p for ln in g.series["relu"] for p in ln if abs(p[0]) <= g.ex]
    check("tour: relu' drawn 0 then 1 at x = 0", {round(y, 2) for _, y in vert} == {0.0, 1.0}, vert)
    check("tour: relu's corner", any(abs(x) <= f.ex and abs(y) <= f.ey for ln in f.series["relu"]
                                     for x, y in ln), "no point at (0, 0)")
    lo, hi = f.y_of(f.box[3]), f.y_of(f.box[1])
    check("tour: y range about [-1.3, 5.3]", -1.4 < lo < -1.0 and 5.0 < hi < 5.5, (lo, hi))
    x0, x1 = f.x_of(f.box[0]), f.x_of(f.box[2])
    check("tour: x range the --range", abs(x0 + 5) < f.ex and abs(x1 - 5) < f.ex, (x0, x1))
    r = run("relu,gelu,silu,sigmoid,tanh", "--range", "-5,5", "--grad", out + "2")
    with open(out, "rb") as a, open(out + "2", "rb") as b:
        check("tour: deterministic", a.read() == b.read())
    # Without --grad: one panel with its legend.
    r = run("relu,gelu,silu,sigmoid,tanh", out)
    panels = figure(out)
    check("tour: one panel without --grad", len(panels) == 1 and panels[0].legend ==
          ["relu", "gelu", "silu", "sigmoid", "tanh"], [p.legend for p in panels])


def check_corners(tmp):
    """Piecewise-linear ops are drawn through their exact corners, and jumps as vertical lines,
    though the corners are not on the evenly spaced points (--range -2.5,7 steps by 0.0095)."""
    out = os.path.join(tmp, "corners.svg")
    r = run("relu6,hardtanh,hardshrink,threshold", "threshold=1.5", "value=-1", "--range",
            "-2.5,7", out)
    check("corners: exit 0", r.returncode == 0, r.stderr)
    (f,) = figure(out)
    pts = lambda label: [p for ln in f.series[label] for p in ln]  # noqa: E731

    def has(label, x, y):
        return any(abs(a - x) <= f.ex and abs(b - y) <= f.ey for a, b in pts(label))

    for label, corners in [("relu6", [(0, 0), (6, 6)]),
                           ("hardtanh(min_val=-1, max_val=1)", [(-1, -1), (1, 1)]),
                           ("hardshrink(lambd=0.5)", [(0.5, 0), (0.5, 0.5), (-0.5, 0), (-0.5, -0.5)]),
                           ("threshold(threshold=1.5, value=-1)", [(1.5, -1), (1.5, 1.5)])]:
        for x, y in corners:
            check(f"corners: {label} through ({x}, {y})", has(label, x, y), "no such point")


def check_breaks(tmp):
    """f16 overflows: leaky_relu with slope 1e10 is -inf below 0, and x beyond 65504 is inf;
    those points are left out, the lines break there, and no 'nan' or 'inf' reaches the file."""
    out = os.path.join(tmp, "breaks.svg")
    r = run("relu,leaky_relu:negative_slope=1e10,tanh", "--dtype", "f16", "--range", "-1e5,1e5", out)
    check("breaks: exit 0", r.returncode == 0, r.stderr)
    text = open(out).read()
    check("breaks: no nan or inf in the file", "nan" not in text.lower() and "inf" not in text.lower())
    (f,) = figure(out)
    leaky = [p for ln in f.series["leaky_relu(negative_slope=1e+10)"] for p in ln]
    check("breaks: leaky_relu drawn only where finite", leaky and min(x for x, _ in leaky) > -2 * f.ex,
          min(x for x, _ in leaky) if leaky else None)
    xs = [x for ln in f.series["tanh"] for x, _ in ln]
    check("breaks: x beyond f16 left out", xs and -65505 - f.ex <= min(xs) and max(xs) <= 65505 + f.ex,
          (min(xs), max(xs)) if xs else None)


def check_ylim(tmp):
    """--ylim clips: every point inside the plot area, the axis as given, values still right."""
    out = os.path.join(tmp, "ylim.svg")
    r = run("relu,selu", "--range", "-50,50", "--ylim", "-2,3", out)
    check("ylim: exit 0", r.returncode == 0, r.stderr)
    (f,) = figure(out)
    lo, hi = f.y_of(f.box[3]), f.y_of(f.box[1])
    check("ylim: axis -2..3", abs(lo + 2) < f.ey and abs(hi - 3) < f.ey, (lo, hi))
    inside = all(f.box[0] - PX <= a <= f.box[2] + PX and f.box[1] - PX <= b <= f.box[3] + PX
                 for ln in f.pixels["relu"] + f.pixels["selu"] for a, b in ln)
    check("ylim: lines clipped to the plot area", inside)
    check("ylim: relu(2)", near(f.at("relu", 2), 2, f.ey + 0.2), f.at("relu", 2))
    check("ylim: nothing drawn past the top", not f.at("relu", 10), f.at("relu", 10))


def check_parameters(tmp):
    """NAME=VALUE sets every op that has it; an op's own wins; labels show what was drawn."""
    out = os.path.join(tmp, "params.svg")
    r = run("elu,celu:alpha=2,leaky_relu,gelu", "alpha=0.5", "approximate=tanh", out)
    check("params: exit 0", r.returncode == 0, r.stderr)
    (f,) = figure(out)
    check("params: labels", f.legend == ["elu(alpha=0.5)", "celu(alpha=2)",
                                         "leaky_relu(negative_slope=0.01)", "gelu_tanh"], f.legend)
    check("params: elu(-4.99) with alpha 0.5", near(f.at("elu(alpha=0.5)", -4.99), 0.5 * math.expm1(-4.99),
                                             f.ey + 0.01), f.at("elu(alpha=0.5)", -4.99))


def expect_error(tmp, name, args, word, code=2):
    out = os.path.join(tmp, "err", "e.svg")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    r = run(*[out if a == "OUT" else a for a in args])
    lines = r.stderr.strip().splitlines()
    check(f"error {name}", r.returncode == code and len(lines) == 1 and lines[0].startswith("clact: ")
          and word.lower() in lines[0].lower(), f"exit {r.returncode}, stderr {r.stderr!r}, want '{word}'")
    left = os.listdir(os.path.dirname(out))
    check(f"error {name}: no file left", not left, left)


def check_errors(tmp):
    blocker = os.path.join(tmp, "a-file")
    open(blocker, "w").close()
    for name, args, word in [
            ("unknown op", ["nosuchop", "OUT"], "nosuchop"),
            ("glu", ["relu,glu", "OUT"], "glu is not elementwise"),
            ("softmax", ["softmax", "OUT"], "softmax is not elementwise"),
            ("threshold without parameters", ["threshold", "OUT"], "threshold and value"),
            ("threshold without value", ["threshold", "threshold=1", "OUT"], "threshold and value"),
            ("range A = B", ["relu", "--range", "1,1", "OUT"], "A < B"),
            ("range A > B", ["relu", "--range", "2,1", "OUT"], "A < B"),
            ("range not numbers", ["relu", "--range", "a,b", "OUT"], "a,b"),
            ("range one number", ["relu", "--range", "5", "OUT"], "A,B"),
            ("range inf", ["relu", "--range", "-inf,5", "OUT"], "finite"),
            ("range nan", ["relu", "--range", "0,nan", "OUT"], "finite"),
            ("range overflow", ["relu", "--range", "0,1e999", "OUT"], "finite"),
            ("range past f16", ["relu", "--range", "1e5,2e5", "--dtype", "f16", "OUT"], "f16"),
            ("range one bf16 value", ["relu", "--range", "1000,1001", "--dtype", "bf16", "OUT"], "bf16"),
            ("ylim", ["relu", "--ylim", "3,-3", "OUT"], "A < B"),
            ("unknown NAME", ["relu,tanh", "alpha=1", "OUT"], "alpha"),
            ("NAME twice", ["elu", "alpha=1", "alpha=2", "OUT"], "twice"),
            ("not NAME=VALUE", ["elu", "alpha", "OUT"], "NAME=VALUE"),
            ("bad value", ["elu", "alpha=x", "OUT"], "not a number"),
            ("own bad value", ["elu:alpha=x", "OUT"], "not a number"),
            ("own unknown NAME", ["relu:alpha=1", "OUT"], "alpha"),
            ("out of domain", ["celu", "alpha=0", "OUT"], "alpha"),
            ("op twice", ["relu,tanh,relu", "OUT"], "twice"),
            ("empty entry", ["relu,,tanh", "OUT"], "relu,,tanh"),
            ("points", ["relu", "--points", "1", "OUT"], "--points"),
            ("dtype", ["relu", "--dtype", "f8", "OUT"], "f8"),
            ("unknown option", ["relu", "--nope", "OUT"], "--nope"),
            ("no OUT", ["relu"], "OUT.svg"),
            ("OUT forgotten", ["elu", "alpha=2"], "alpha=2"),
            ("no such folder", ["relu", os.path.join(tmp, "err", "no", "such", "e.svg")], "no/such"),
            ("folder is a file", ["relu", os.path.join(blocker, "e.svg")], "a-file"),
            ("OUT a folder", ["relu", os.path.join(tmp, "err")], "folder"),
            ("device", ["relu", "--device", "no-such-device-xyz", "OUT"], "no-such-device-xyz")]:
        expect_error(tmp, name, args, word)


def main():
    tmp = tempfile.mkdtemp(prefix="clact_plot_")
    r = subprocess.run([CLACT, "--help"], capture_output=True, text=True)
    check("usage names plot", "clact plot OPS" in r.stdout, r.stdout)
    r = run("--help")
    check("plot --help", r.returncode == 0 and "--range" in r.stdout and "--grad" in r.stdout, r)
    check("plot -h", run("-h").stdout == r.stdout)
    elementwise = [n for n, e in library_ops() if e]
    missing = [n for n in elementwise if n not in TORCH]
    if missing:
        print(f"plot_test: no PyTorch reference for {missing}: checked for shape only")
    # Every elementwise op of the library, in lists of at most 20 (threshold's parameters given
    # once for the list), against PyTorch over two ranges.
    half = (len(elementwise) + 1) // 2
    for k, (ops, rng) in enumerate([(elementwise[:half], "-5,5"), (elementwise[half:], "-2.5,7")]):
        extra = ["--range", rng] + (["threshold=0.5", "value=-1"] if "threshold" in ops else [])
        plot_ops(tmp, ops, extra, f"ops{k + 1}")
    check_tour(tmp)
    check_corners(tmp)
    check_breaks(tmp)
    check_ylim(tmp)
    check_parameters(tmp)
    check_errors(tmp)
    shutil.rmtree(tmp)
    print(f"plot_test: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
