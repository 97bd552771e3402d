#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""clact against its CPU peers in one run: `clact bench`, PyTorch CPU (bench/peer_torch.py) and
oneDNN (build/bench/peer_onednn, built when Debian's libdnnl-dev is installed), on the same ops
and sizes with as many threads as cores, interleaved op by op so that machine load hits all three
alike. Prints each one's Gelem/s for the elementwise, backward and softmax ops, then GFLOP/s for
the dense ops; clact's fraction of the copy yardstick timed interleaved with it (clact bench's
"interl." column: the yardstick of the cheap ops' target) and clact's ratio to the best peer (the
yardstick of the transcendental ops' target).
Both peers check every result against clact's reference before they time it (a peer computing
another function is no peer), and say on stderr which ops they have no form of or which they
found to differ; those cells are 'n/a'.
Op names: an activation with optional parameters, `<act>[:NAME=VALUE...]` (PyTorch's names:
threshold:threshold=0.1:value=20, rrelu:training=1), `<act>_backward[:NAME=VALUE...]`,
`softmax_<row length>` and `dense_<act>_<B>x<I>x<O>[_backward]` (act an activation or `linear`);
dense ops do not depend on --sizes and run once per round. --ops new: the activations of issue
16 (relu6 ... rrelu, glu aside) forward, then backward. Default: every elementwise activation of
the library (threshold and rrelu as above) forward, softmax rows, every backward, the MLP's dense
layers. Every program's CSV has the columns op, elements, median_ms and Gelem_s, and GFLOP_s for
dense rows (computed here from median_ms when a program leaves it out); clact's also has dtype
(only f32 rows are compared) and fraction_of_interleaved_copy, the peers' peer and form. A
program that fails or has no row for an op leaves 'n/a' in its cell.
--repeat N runs N interleaved rounds (the three programs' order rotating from round to round) and
prints the median of each figure and of the per-round ratios, with the best-peer ratio's min-max
spread.
Usage: bench/peers.py [--build build] [--ops LIST|new] [--sizes LIST] [--repeat N] [--quick]"""
import argparse
import ctypes
import csv
import io
import os
import re
import statistics
import subprocess
import sys

# The activations issue 16 added (glu, not elementwise, aside), as clact bench names them.
NEW = ["relu6", "hardtanh", "selu", "celu", "hardsigmoid", "hardswish", "logsigmoid", "softsign",
       "tanhshrink", "softshrink", "hardshrink", "threshold:threshold=0.1:value=20", "prelu",
       "rrelu", "rrelu:training=1"]
DENSE_OPS = ["dense_relu_128x784x256", "dense_relu_128x784x256_backward",
             "dense_linear_128x256x10", "dense_linear_128x256x10_backward"]
DENSE = re.compile(r"dense_\w+_(\d+)x(\d+)x(\d+)(_backward)?$")
COLS = ["clact:out", "torch:out", "torch:alloc", "onednn:out"]

here = os.path.dirname(os.path.abspath(__file__))
ap = argparse.ArgumentParser()
ap.add_argument("--build", default=os.path.join(here, "..", "build"))
ap.add_argument("--ops")
ap.add_argument("--sizes", default="16777216")
ap.add_argument("--repeat", type=int, default=1)
ap.add_argument("--quick", action="store_true")
a = ap.parse_args()
quick = ["--quick"] if a.quick else []
clact = os.path.join(a.build, "clact")
library = os.path.join(a.build, "libclact.so.0")


def backward(op):
    """OP[:PARAMS] -> OP_backward[:PARAMS]"""
    head, colon, params = op.partition(":")
    return f"{head}_backward{colon}{params}"


def activations():
    """The library's elementwise activations in its order, as clact bench's default list names
    them (threshold with the parameters it has no defaults for; rrelu also in training mode)."""
    lib = ctypes.CDLL(library)
    lib.clact_op_name.restype = ctypes.c_char_p
    names, i = [], 0
    while lib.clact_op_name(i):
        name = lib.clact_op_name(i).decode()
        if lib.clact_op_elementwise(i) == 1:
            names.append({"threshold": "threshold:threshold=0.1:value=20"}.get(name, name))
            if name == "rrelu":
                names.append("rrelu:training=1")
        i += 1
    return names


if a.ops == "new":
    a.ops = ",".join(NEW + [backward(op) for op in NEW])
elif a.ops is None:
    acts = activations()
    a.ops = ",".join(acts + ["softmax_1000", "softmax_4096", "softmax_32768"] +
                     [backward(op) for op in acts] + DENSE_OPS)
onednn = os.path.join(a.build, "bench", "peer_onednn")
if not os.path.exists(onednn):
    onednn = None
    print("peers: oneDNN peer not built (install libdnnl-dev and re-run cmake)", file=sys.stderr)


def parse_size(item):
    """An element count as clact bench takes it (a number, with K = 1024 or M = 1048576 after
    it), as the integer every peer takes: peer_onednn read "16M" as 16 before this."""
    scale = {"K": 1024, "M": 1048576}.get(item[-1:], 1)
    try:
        v = float(item[:-1] if scale > 1 else item) * scale
    except ValueError:
        v = float("nan")
    if not 1 <= v <= 1e10 or v != int(v):
        sys.exit(f"peers: bad size '{item}' (a whole number of elements, K or M after it allowed)")
    return str(int(v))


sizes = [parse_size(s) for s in a.sizes.split(",")]
ops = a.ops.split(",")
elementwise = [op for op in ops if not DENSE.match(op)]
dense = [op for op in ops if DENSE.match(op)]


def flops(op):
    """A dense op's flops: 2 B I O forward, 4 B I O backward."""
    m = DENSE.match(op)
    return (4 if m.group(4) else 2) * int(m.group(1)) * int(m.group(2)) * int(m.group(3))


said = set()


def run(name, cmd):
    """The CSV rows a program prints; none, with a message, when it cannot run or fails (a row
    it printed before failing still counts). What the programs say on stderr (an op they do not
    have, the PyTorch peer's BLAS) is passed on once per distinct line."""
    try:
        p = subprocess.run(cmd, capture_output=True, text=True)
    except OSError as e:
        print(f"peers: {name}: {e}", file=sys.stderr)
        return []
    for line in p.stderr.strip().splitlines():
        if line not in said:
            said.add(line)
            print(line, file=sys.stderr)
    if p.returncode:
        print(f"peers: {name} {' '.join(cmd[1:])} failed ({p.returncode})", file=sys.stderr)
    try:
        return list(csv.DictReader(io.StringIO(p.stdout)))
    except csv.Error:
        return []


def metric(op, r):
    """GFLOP/s for a dense row, Gelem/s otherwise; None when the row does not say."""
    try:
        if DENSE.match(op):
            if r.get("GFLOP_s"):
                return float(r["GFLOP_s"])
            return flops(op) / float(r["median_ms"]) * 1e-6
        return float(r["Gelem_s"])
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return None


# (op, requested size or None for dense) -> {"elements": n, column: [value per round]}
rows = {}


def measure(op, size, rnd):
    runs = [("clact", [clact, "bench", "--ops", op, "--sizes", size, "--format", "csv", *quick]),
            ("torch", ["/usr/bin/python3", os.path.join(here, "peer_torch.py"), "--ops", op,
                       "--sizes", size, "--library", library, *quick])]
    if onednn:
        runs.append(("onednn", [onednn, op, size, *(["quick"] if a.quick else [])]))
    # Rotating the order from round to round keeps any one program from always running first
    # (or last) in whatever state the machine's neighbours leave it.
    k = rnd % len(runs)
    key = (op, None if DENSE.match(op) else size)
    cell = rows.setdefault(key, {})
    for name, cmd in runs[k:] + runs[:k]:
        for r in run(name, cmd):
            if r.get("op") != op or r.get("dtype", "f32") != "f32":
                continue
            v = metric(op, r)
            if v is None:
                continue
            cell.setdefault("elements", r.get("elements", "?"))
            cell.setdefault(f"{r.get('peer', 'clact')}:{r.get('form', 'out')}", {})[rnd] = v
            try:
                cell.setdefault("copy", {})[rnd] = float(r["fraction_of_interleaved_copy"])
            except (KeyError, TypeError, ValueError):
                pass


for rnd in range(a.repeat):
    for size in sizes:
        for op in elementwise:
            measure(op, size, rnd)
    # Dense ops take their shape from their names: once per round, with the first size.
    for op in dense:
        measure(op, sizes[0], rnd)


def fmt(x, width, digits=3):
    return f"{x:{width}.{digits}f}" if x is not None else f"{'n/a':>{width}s}"


def table(keys, unit):
    copy = unit == "Gelem/s"
    print(f"{'op':42s} {'elements':>9s} " + " ".join(f"{c:>12s}" for c in COLS) +
          (f" {'clact/copy':>10s}" if copy else "") +
          f"   clact / best peer ({unit})" + ("" if a.repeat == 1 else
                                              f", median and min-max of {a.repeat} rounds"))
    for key in keys:
        v = rows.get(key, {})
        med = {c: statistics.median(v[c].values()) if v.get(c) else None
               for c in COLS + ["copy"]}
        ratios = []
        for rnd in range(a.repeat):
            best = max([v[c][rnd] for c in COLS[1:] if rnd in v.get(c, {})], default=0)
            if best > 0 and rnd in v.get("clact:out", {}):
                ratios.append(v["clact:out"][rnd] / best)
        ratio = fmt(statistics.median(ratios) if ratios else None, 5, 2)
        if a.repeat > 1 and ratios:
            ratio += f" ({min(ratios):.2f}-{max(ratios):.2f}, {len(ratios)} rounds)"
        print(f"{key[0]:42s} {v.get('elements', 'n/a'):>9s} " +
              " ".join(fmt(med[c], 12) for c in COLS) +
              (f" {fmt(med['copy'], 10, 2)}" if copy else "") + f"   {ratio}")


if elementwise:
    table([(op, size) for size in sizes for op in elementwise], "Gelem/s")
if dense:
    if elementwise:
        print()
    table([(op, None) for op in dense], "GFLOP/s")
