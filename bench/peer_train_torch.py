#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""`clact train` side by side with PyTorch CPU: the same MLP, the same initial weights, the same
batch order, the same optimizer, in one run.

It runs `clact train ... --save-init DIR` (which writes the initial weights and every epoch's
sample order), then trains torch.nn.Sequential(Linear, act, Linear) with torch.optim from those
weights in that order on the same data (read here with Python's gzip, independently of clact's
IDX reader), and compares:
  - the loss of each of the first --compare-steps steps (default 200): within --loss-rtol
    (default 1e-3) relative, or, where PyTorch itself does not agree with PyTorch that closely
    when only its BLAS changes, within twice PyTorch's own disagreement. A ReLU network trained
    with Adam amplifies rounding differences (a unit whose pre-activation is near 0 for a sample
    switches on or off, and Adam rescales the resulting small gradients to full steps): measured
    here, PyTorch with the reference BLAS and PyTorch with OpenBLAS, from the same weights in
    the same order, differ by 6.5e-3 at step 170, while GELU and Tanh stay within 5e-7. So
    --check also trains with the reference BLAS, and reports both disagreements;
  - the final test accuracy: within --acc-tol (default 0.005, half a point);
  - the time per epoch of both (training steps including the batch gather; evaluation apart).
PyTorch runs with the system BLAS (OpenBLAS when Debian's libopenblas0-pthread is installed) and,
with --blas both, again with the reference BLAS, as a Debian machine without OpenBLAS has it.
--check makes a disagreement exit 1 (CI runs a short form with --check).

Example (the issue's target run):
  bench/peer_train_torch.py --clact build/clact --act relu,gelu,tanh --epochs 10
"""
import argparse
import csv
import gzip
import json
import os
import struct
import subprocess
import sys
import tempfile
import time

import numpy as np

DEFAULT_DATA = "/usr/share/datasets/fashion-mnist"
REFERENCE_BLAS_DIR = "/usr/lib/x86_64-linux-gnu/blas"


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    zero, dtype, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    arr = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    return arr.reshape(dims)


def find(data_dir, name):
    for candidate in (name + ".gz", name):
        p = os.path.join(data_dir, candidate)
        if os.path.exists(p):
            return p
    raise FileNotFoundError(os.path.join(data_dir, name + "[.gz]"))


def load(data_dir, split, limit):
    x = read_idx(find(data_dir, f"{split}-images-idx3-ubyte"))
    y = read_idx(find(data_dir, f"{split}-labels-idx1-ubyte"))
    if limit:
        x, y = x[:limit], y[:limit]
    x = x.reshape(len(x), -1).astype(np.float32) / np.float32(255)
    return x, y.astype(np.int64)


def torch_activation(spec):
    import torch.nn as nn
    name, *params = spec.split(":")
    kw = {}
    for p in params:
        k, v = p.split("=", 1)
        kw[k] = v if k == "approximate" else float(v)
    if name == "gelu_tanh":
        name, kw["approximate"] = "gelu", "tanh"
    table = {"relu": nn.ReLU, "gelu": nn.GELU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid,
             "silu": nn.SiLU, "mish": nn.Mish, "elu": nn.ELU, "leaky_relu": nn.LeakyReLU,
             "softplus": nn.Softplus}
    if name not in table:
        raise SystemExit(f"peer_train_torch: no torch module for activation '{name}'")
    return table[name](**kw)


def torch_worker(args):
    """Train every activation with PyTorch; print one JSON line of results."""
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    torch.set_num_threads(args.threads)
    xtr, ytr = load(args.data, "train", args.limit)
    xte, yte = load(args.data, "t10k", 0)
    xtr, ytr, xte, yte = map(torch.from_numpy, (xtr, ytr, xte, yte))
    init = {k: torch.from_numpy(np.load(os.path.join(args.init, f"{k}.npy")))
            for k in ("fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias")}
    order = torch.from_numpy(np.load(os.path.join(args.init, "order.npy")))
    assert order.shape == (args.epochs, len(xtr)), order.shape
    maps = open("/proc/self/maps").read()
    blas = sorted({line.split()[-1] for line in maps.splitlines()
                   if "libblas" in line or "openblas" in line})
    out = {"blas": blas, "threads": torch.get_num_threads(), "acts": {}}
    for spec in args.act.split(","):
        model = nn.Sequential(nn.Linear(xtr.shape[1], args.hidden), torch_activation(spec),
                              nn.Linear(args.hidden, 10))
        with torch.no_grad():
            model[0].weight.copy_(init["fc1.weight"])
            model[0].bias.copy_(init["fc1.bias"])
            model[2].weight.copy_(init["fc2.weight"])
            model[2].bias.copy_(init["fc2.bias"])
        if args.optimizer == "sgd":
            opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum,
                                  weight_decay=args.weight_decay)
        elif args.optimizer == "adamw":
            opt = torch.optim.AdamW(model.parameters(), lr=args.lr, foreach=False,
                                    weight_decay=args.weight_decay
                                    if args.weight_decay is not None else 1e-2)
        else:
            opt = torch.optim.Adam(model.parameters(), lr=args.lr, foreach=False,
                                   weight_decay=args.weight_decay or 0.0)
        losses, epochs = [], []
        n = len(xtr)
        for e in range(args.epochs):
            t0 = time.perf_counter()
            perm = order[e]
            step_losses = []
            for off in range(0, n, args.batch):
                idx = perm[off:off + args.batch]
                x, y = xtr[idx], ytr[idx]
                opt.zero_grad(set_to_none=True)
                loss = F.cross_entropy(model(x), y)
                loss.backward()
                opt.step()
                step_losses.append(loss.detach())
            step_losses = [float(v) for v in step_losses]
            t1 = time.perf_counter()
            with torch.no_grad():
                logits = model(xte)
                test_loss = float(F.cross_entropy(logits, yte))
                acc = float((logits.argmax(1) == yte).float().mean())
            t2 = time.perf_counter()
            sizes = [min(args.batch, n - off) for off in range(0, n, args.batch)]
            epochs.append({"train_loss": sum(l * s for l, s in zip(step_losses, sizes)) / n,
                           "test_loss": test_loss, "test_accuracy": acc,
                           "train_seconds": t1 - t0, "eval_seconds": t2 - t1})
            losses.extend(step_losses)
        out["acts"][spec] = {"losses": losses, "epochs": epochs}
    print(json.dumps(out))


def run_torch(args, reference_blas):
    env = dict(os.environ)
    if reference_blas:
        env["LD_LIBRARY_PATH"] = REFERENCE_BLAS_DIR + (
            ":" + env["LD_LIBRARY_PATH"] if env.get("LD_LIBRARY_PATH") else "")
    cmd = [sys.executable, os.path.abspath(__file__), "--worker"] + args.worker_argv
    res = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if res.returncode != 0:
        sys.stderr.write(res.stderr)
        raise SystemExit(f"peer_train_torch: the PyTorch run failed ({res.returncode})")
    out = json.loads(res.stdout.strip().splitlines()[-1])
    if reference_blas and not any("/blas/libblas" in b for b in out["blas"]):
        raise SystemExit(f"peer_train_torch: PyTorch did not load the reference BLAS from "
                         f"{REFERENCE_BLAS_DIR} (install Debian's libblas3); it used "
                         + ", ".join(out["blas"]))
    return out


def read_clact(out_dir):
    steps, epochs = {}, {}
    with open(os.path.join(out_dir, "steps.csv")) as f:
        for row in csv.DictReader(f):
            steps.setdefault(row["activation"], []).append(float(row["loss"]))
    with open(os.path.join(out_dir, "epochs.csv")) as f:
        for row in csv.DictReader(f):
            epochs.setdefault(row["activation"], []).append(
                {k: float(v) if v not in ("", None) and k != "activation" else v
                 for k, v in row.items()})
    return steps, epochs


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--init", help=argparse.SUPPRESS)
    ap.add_argument("--clact", default="build/clact", help="the clact command")
    ap.add_argument("--act", default="relu,gelu,tanh")
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--optimizer", default="adam", choices=("adam", "adamw", "sgd"))
    ap.add_argument("--lr", type=float)
    ap.add_argument("--momentum", type=float, default=0.0)
    ap.add_argument("--weight-decay", type=float)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--data", default=DEFAULT_DATA)
    ap.add_argument("--threads", type=int, default=os.cpu_count(),
                    help="PyTorch's threads (default: every core, as PoCL uses)")
    ap.add_argument("--device", help="clact's --device")
    ap.add_argument("--blas", default="system", choices=("system", "both"),
                    help="both: PyTorch also with the reference BLAS")
    ap.add_argument("--compare-steps", type=int, default=200)
    ap.add_argument("--loss-rtol", type=float, default=1e-3)
    ap.add_argument("--acc-tol", type=float, default=0.005)
    ap.add_argument("--check", action="store_true", help="exit 1 when a comparison fails")
    ap.add_argument("--keep", help="keep clact's output and the initial weights in this folder")
    args = ap.parse_args()
    if args.lr is None:
        args.lr = 0.1 if args.optimizer == "sgd" else 1e-3
    if args.worker:
        torch_worker(args)
        return 0

    work = args.keep or tempfile.mkdtemp(prefix="clact-peer-train-")
    init_dir, out_dir = os.path.join(work, "init"), os.path.join(work, "clact")
    cmd = [args.clact, "train", "--act", args.act, "--hidden", str(args.hidden), "--epochs",
           str(args.epochs), "--batch", str(args.batch), "--optimizer", args.optimizer, "--lr",
           repr(args.lr), "--seed", str(args.seed), "--data", args.data, "--out", out_dir,
           "--save-init", init_dir]
    if args.limit:
        cmd += ["--limit", str(args.limit)]
    if args.momentum:
        cmd += ["--momentum", repr(args.momentum)]
    if args.weight_decay is not None:
        cmd += ["--weight-decay", repr(args.weight_decay)]
    if args.device:
        cmd += ["--device", args.device]
    print("peer_train_torch:", " ".join(cmd), flush=True)
    res = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
    if res.returncode != 0:
        raise SystemExit(f"peer_train_torch: clact train failed ({res.returncode})")
    print(res.stdout.strip(), flush=True)
    c_steps, c_epochs = read_clact(out_dir)

    args.worker_argv = ["--init", init_dir, "--act", args.act, "--hidden", str(args.hidden),
                        "--epochs", str(args.epochs), "--batch", str(args.batch), "--optimizer",
                        args.optimizer, "--lr", repr(args.lr), "--momentum", repr(args.momentum),
                        "--limit", str(args.limit), "--data", args.data, "--threads",
                        str(args.threads)]
    if args.weight_decay is not None:
        args.worker_argv += ["--weight-decay", repr(args.weight_decay)]
    runs = [("PyTorch", run_torch(args, False))]
    if args.blas == "both" or args.check:
        runs.append(("PyTorch refBLAS", run_torch(args, True)))
    t = runs[0][1]
    print(f"PyTorch {__import__('torch').__version__} CPU, {t['threads']} threads, BLAS: "
          + ", ".join(os.path.basename(b) for b in t["blas"]))
    if len(runs) > 1:
        print("PyTorch refBLAS: " + ", ".join(os.path.basename(b) for b in runs[1][1]["blas"]))

    failures = []
    def divergence(a, b, k):
        rel = [abs(x - y) / max(abs(y), 1e-12) for x, y in zip(a[:k], b[:k])]
        return rel, (max(rel) if rel else 0.0)

    header = (f"{'activation':<16} {'clact acc':>9} {'torch acc':>9} {'max rel dloss':>13} "
              f"{'torch self':>10} "
              f"{'clact s/ep':>10}" + "".join(f" {name + ' s/ep':>16} {'ratio':>6}"
                                              for name, _ in runs))
    print(header)
    for spec in args.act.split(","):
        cl, tl = c_steps[spec], t["acts"][spec]["losses"]
        k = min(args.compare_steps, len(cl), len(tl))
        rel, worst = divergence(cl, tl, k)
        # PyTorch against itself with the other BLAS: how far rounding alone moves this run.
        own = (divergence(runs[1][1]["acts"][spec]["losses"], tl, k)[1] if len(runs) > 1
               else float("nan"))
        bound = max(args.loss_rtol, 2 * own) if own == own else args.loss_rtol
        if worst > bound or any(v != v for v in cl[:k]):
            i = max(range(k), key=lambda j: rel[j])
            failures.append(f"{spec}: step {i + 1} loss {cl[i]:.7g} (clact) vs {tl[i]:.7g} "
                            f"(torch): {rel[i]:.2e} relative > {bound:.2e} (PyTorch with the "
                            f"reference BLAS differs from itself by {own:.2e})")
        ca = c_epochs[spec][-1]["test_accuracy"]
        ta = t["acts"][spec]["epochs"][-1]["test_accuracy"]
        if abs(ca - ta) > args.acc_tol:
            failures.append(f"{spec}: final test accuracy {ca:.4f} (clact) vs {ta:.4f} (torch)")
        cs = sum(e["train_seconds"] for e in c_epochs[spec]) / len(c_epochs[spec])
        line = f"{spec:<16} {ca:>9.4f} {ta:>9.4f} {worst:>13.2e} {own:>10.2e} {cs:>10.2f}"
        for name, run in runs:
            ep = run["acts"][spec]["epochs"]
            ts = sum(e["train_seconds"] for e in ep) / len(ep)
            line += f" {ts:>16.2f} {cs / ts:>6.2f}"
        print(line)
    print(f"(max rel dloss: the largest relative difference of clact's per-step losses from "
          f"PyTorch's over the first {args.compare_steps} steps; torch self: the same for PyTorch "
          f"with the reference BLAS against PyTorch with the system BLAS; ratio: clact's time per epoch over PyTorch's, below 1 is "
          f"faster; training steps only, evaluation apart)")
    for f in failures:
        print("peer_train_torch: FAIL", f)
    if not args.keep:
        import shutil
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failures and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
