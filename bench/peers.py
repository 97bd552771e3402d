#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""clact against its CPU peers in one run: `clact bench`, PyTorch CPU (bench/peer_torch.py) and
oneDNN (build/bench/peer_onednn, built when Debian's libdnnl-dev is installed), on the same ops
and sizes with as many threads as cores, interleaved op by op so that machine load hits all three
alike. Prints each one's Gelem/s and clact's ratio to the best peer.
Usage: bench/peers.py [--build build] [--ops LIST] [--sizes LIST] [--quick]"""
import argparse
import csv
import io
import os
import subprocess
import sys

here = os.path.dirname(os.path.abspath(__file__))
ap = argparse.ArgumentParser()
ap.add_argument("--build", default=os.path.join(here, "..", "build"))
ap.add_argument("--ops", default="relu,leaky_relu,elu,gelu,gelu_tanh,silu,mish,sigmoid,tanh,"
                                 "softplus,softmax_1000,softmax_4096,softmax_32768")
ap.add_argument("--sizes", default="16777216")
ap.add_argument("--quick", action="store_true")
a = ap.parse_args()
quick = ["--quick"] if a.quick else []
clact = os.path.join(a.build, "clact")
onednn = os.path.join(a.build, "bench", "peer_onednn")
if not os.path.exists(onednn):
    onednn = None
    print("peers: oneDNN peer not built (install libdnnl-dev and re-run cmake)", file=sys.stderr)

rows = {}
for size in a.sizes.split(","):
    for op in a.ops.split(","):
        runs = [[clact, "bench", "--ops", op, "--sizes", size, "--format", "csv", *quick],
                ["/usr/bin/python3", os.path.join(here, "peer_torch.py"), "--ops", op, "--sizes",
                 size, *quick]]
        if onednn:
            runs.append([onednn, op, size, *(["quick"] if a.quick else [])])
        for cmd in runs:
            out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
            for r in csv.DictReader(io.StringIO(out)):
                peer = r.get("peer", "clact")
                form = r.get("form", "out")
                key = (op, int(r["elements"]))
                rows.setdefault(key, {})[f"{peer}:{form}"] = float(r["Gelem_s"])

cols = ["clact:out", "torch:out", "torch:alloc", "onednn:out"]
print(f"{'op':16s} {'elements':>9s} " + " ".join(f"{c:>12s}" for c in cols) +
      "   clact / best peer (Gelem/s)")
for (op, n), v in rows.items():
    best = max([v.get(c, 0) for c in cols[1:]])
    print(f"{op:16s} {n:9d} " + " ".join(f"{v.get(c, float('nan')):12.3f}" for c in cols) +
          f"   {v.get('clact:out', 0) / best if best else float('nan'):.2f}")
