#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""`clact train` end to end on small synthetic MNIST-format data (written here with Python's
gzip, independently of clact's IDX reader): usage and data errors exit 2 with a message naming
the problem and write nothing; a run writes steps.csv, epochs.csv and train.svg with the
expected rows and columns; its stderr has one line per epoch when not a terminal; --save-init
writes the initial weights (nn.Linear's U(+-1/sqrt(in))) and the batch order (a permutation per
epoch, fixed by the seed); --save writes weights with which torch.nn.Linear reproduces the test
accuracy and loss that clact reported; the diagnostics count dead units where a learning rate
far too large kills them and none where the network is fine.

usage: train_test.py CLACT"""
import csv
import gzip
import os
import struct
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

import numpy as np

CLACT = sys.argv[1]
FAILS = []


def check(cond, what):
    if not cond:
        FAILS.append(what)
        print("FAIL:", what, flush=True)


def idx_bytes(arr, magic_type=0x08):
    arr = np.asarray(arr, dtype=np.uint8)
    head = struct.pack(">HBB", 0, magic_type, arr.ndim) + struct.pack(">" + "I" * arr.ndim,
                                                                      *arr.shape)
    return head + arr.tobytes()


def write(path, data, gz=True):
    with (gzip.open(path, "wb") if gz else open(path, "wb")) as f:
        f.write(data)


def make_data(d, n_train=320, n_test=100, seed=5, corrupt=None):
    """A learnable toy problem: class c lights up the c-th band of rows."""
    os.makedirs(d, exist_ok=True)
    rng = np.random.default_rng(seed)

    def split(n):
        y = rng.integers(0, 10, n)
        # A dark background with sparse noise (as MNIST's), the class's band bright.
        x = rng.integers(0, 256, (n, 28, 28)) * (rng.random((n, 28, 28)) < 0.1)
        for i, c in enumerate(y):
            x[i, 2 * c + 4:2 * c + 7, :] = rng.integers(150, 256, (3, 28))
        return x.astype(np.uint8), y.astype(np.uint8)

    for name, n in (("train", n_train), ("t10k", n_test)):
        x, y = split(n)
        xb, yb = idx_bytes(x), idx_bytes(y)
        if corrupt and corrupt[0] == name:
            xb, yb = corrupt[1](xb, yb)
        write(os.path.join(d, f"{name}-images-idx3-ubyte.gz"), xb)
        write(os.path.join(d, f"{name}-labels-idx1-ubyte.gz"), yb)
    return d


def run(args, **kw):
    return subprocess.run([CLACT, "train"] + args, capture_output=True, text=True, **kw)


def expect_usage_error(args, needle, what):
    r = run(args)
    check(r.returncode == 2, f"{what}: exit {r.returncode}, want 2 ({r.stderr.strip()})")
    line = r.stderr.strip().splitlines()[-1] if r.stderr.strip() else ""
    check(line.startswith("clact: ") and needle in line,
          f"{what}: message '{line}' lacks '{needle}'")


def main():
    tmp = tempfile.mkdtemp(prefix="clact-train-test-")
    good = make_data(os.path.join(tmp, "good"))
    out = os.path.join(tmp, "out")

    # Usage errors.
    for args, needle in ((["--epochs", "0"], "--epochs"), (["--act", "nope"], "nope"),
                         (["--optimizer", "lbfgs"], "lbfgs"), (["--lr", "-1"], "--lr"),
                         (["--hidden", "x"], "--hidden"), (["--frobnicate", "1"], "--frobnicate"),
                         (["--momentum", "0.9"], "--momentum"), (["--act", "relu,relu"], "twice"),
                         (["--act", "leaky_relu:slope=2"], "slope"), (["--batch"], "--batch")):
        expect_usage_error(args + ["--data", good, "--out", out], needle, " ".join(args))
    check(not os.path.exists(out), "a usage error created the output folder")

    # Data errors: each names the file, exits 2, writes nothing.
    def trunc(xb, yb):
        return xb[:len(xb) // 2], yb

    def bad_magic(xb, yb):
        return b"\x00\x00\x08\x04" + xb[4:], yb

    def count_mismatch(xb, yb):
        n = struct.unpack(">I", yb[4:8])[0]
        return xb, yb[:4] + struct.pack(">I", n - 1) + yb[8:-1]

    def bad_label(xb, yb):
        return xb, yb[:-1] + b"\x0c"

    def header_only(xb, yb):
        return xb[:6], yb

    cases = [("missing", None, "train-images-idx3-ubyte"),
             ("truncated", ("train", trunc), "train-images-idx3-ubyte"),
             ("magic", ("train", bad_magic), "train-images-idx3-ubyte"),
             ("count", ("t10k", count_mismatch), "t10k-labels-idx1-ubyte"),
             ("label", ("train", bad_label), "train-labels-idx1-ubyte"),
             ("header", ("t10k", header_only), "t10k-images-idx3-ubyte")]
    for name, corrupt, needle in cases:
        d = os.path.join(tmp, name)
        if corrupt:
            make_data(d, corrupt=corrupt)
        else:
            os.makedirs(d)
        o = os.path.join(tmp, "out-" + name)
        expect_usage_error(["--data", d, "--out", o, "--epochs", "1"], needle, f"data {name}")
        check(not os.path.exists(o), f"data {name}: the output folder was created")
    # A corrupt gzip stream (a flipped byte in the deflate data) is an error, not a crash.
    d = make_data(os.path.join(tmp, "gzbad"))
    p = os.path.join(d, "train-images-idx3-ubyte.gz")
    raw = bytearray(open(p, "rb").read())
    raw[len(raw) // 2] ^= 0xFF
    open(p, "wb").write(bytes(raw))
    r = run(["--data", d, "--out", os.path.join(tmp, "out-gz"), "--epochs", "1"])
    check(r.returncode == 2 and "train-images-idx3-ubyte" in r.stderr,
          f"corrupt gzip: exit {r.returncode}: {r.stderr.strip()}")

    # A run: two activations, two epochs.
    init = os.path.join(tmp, "init")
    save = os.path.join(tmp, "save")
    args = ["--data", good, "--out", out, "--act", "relu,tanh", "--epochs", "2", "--hidden", "24",
            "--batch", "64", "--seed", "7", "--save-init", init, "--save", save]
    r = run(args)
    check(r.returncode == 0, f"run: exit {r.returncode}: {r.stderr}")
    epoch_lines = [l for l in r.stderr.splitlines() if " epoch " in l]
    check(len(epoch_lines) == 4 and all("\r" not in l for l in epoch_lines),
          f"stderr (not a terminal) should have one line per epoch: {r.stderr!r}")
    check("activation" in r.stdout and "relu" in r.stdout and "tanh" in r.stdout,
          f"no summary table: {r.stdout!r}")
    steps = list(csv.DictReader(open(os.path.join(out, "steps.csv"))))
    check(len(steps) == 2 * 2 * 5, f"steps.csv has {len(steps)} rows, want 20")
    check([int(s["step"]) for s in steps[:10]] == list(range(1, 11)), "steps.csv step numbers")
    check(all(np.isfinite(float(s["loss"])) and float(s["loss"]) > 0 for s in steps),
          "a step loss is not a positive number")
    epochs = list(csv.DictReader(open(os.path.join(out, "epochs.csv"))))
    check(len(epochs) == 4, f"epochs.csv has {len(epochs)} rows")
    for e in epochs:
        check(0 <= float(e["test_accuracy"]) <= 1, f"accuracy {e['test_accuracy']}")
        check(float(e["train_seconds"]) > 0, "train_seconds")
        check(0 <= float(e["dead_fraction"]) <= 1, "dead_fraction")
        check((e["saturated_fraction"] == "") == (e["activation"] == "relu"),
              f"saturated_fraction '{e['saturated_fraction']}' for {e['activation']}")
        check(float(e["grad_norm_w1"]) > 0 and float(e["grad_norm_w2"]) > 0, "grad norms")
        # The mean training loss is the sample-weighted mean of the epoch's step losses
        # (5 steps: four of 64 and one of 64).
        mine = [float(s["loss"]) for s in steps
                if s["activation"] == e["activation"] and s["epoch"] == e["epoch"]]
        check(abs(np.mean(mine) - float(e["train_loss"])) <= 1e-5 * float(e["train_loss"]),
              "train_loss is not the mean of the step losses")
    # The toy problem is easy: the loss falls.
    relu = [float(s["loss"]) for s in steps if s["activation"] == "relu"]
    check(relu[-1] < 0.85 * relu[0], f"relu loss did not fall: {relu[0]} -> {relu[-1]}")
    svg = ET.parse(os.path.join(out, "train.svg")).getroot()
    text = " ".join(t.text or "" for t in svg.iter() if t.tag.endswith("text"))
    for needle in ("Training loss", "Test accuracy", "relu", "tanh", "epoch"):
        check(needle in text, f"train.svg lacks '{needle}'")

    # --save-init: the initial weights and the order.
    w1 = np.load(os.path.join(init, "fc1.weight.npy"))
    b2 = np.load(os.path.join(init, "fc2.bias.npy"))
    order = np.load(os.path.join(init, "order.npy"))
    check(w1.shape == (24, 784) and w1.dtype == np.float32, f"fc1.weight {w1.shape} {w1.dtype}")
    check(np.abs(w1).max() <= 1 / 28 and np.abs(w1).max() > 0.9 / 28, "fc1.weight's range")
    check(np.abs(b2).max() <= 1 / np.sqrt(24), "fc2.bias's range")
    check(abs(w1.mean()) < 0.002 and abs(w1.std() - (1 / 28) / np.sqrt(3)) < 0.002,
          "fc1.weight is not U(-1/28, 1/28)")
    check(order.shape == (2, 320) and all(sorted(o) == list(range(320)) for o in order),
          "order.npy is not a permutation per epoch")
    check((order[0] != order[1]).any(), "both epochs have the same order")
    r2 = run(["--data", good, "--out", os.path.join(tmp, "out2"), "--act", "relu", "--epochs",
              "2", "--hidden", "24", "--batch", "64", "--seed", "8", "--save-init",
              os.path.join(tmp, "init2"), "--quiet"])
    check(r2.returncode == 0, f"seed 8 run: {r2.stderr}")
    check(not np.array_equal(np.load(os.path.join(tmp, "init2", "order.npy")), order),
          "another seed gives the same order")
    check(not np.array_equal(np.load(os.path.join(tmp, "init2", "fc1.weight.npy")), w1),
          "another seed gives the same weights")
    check(r2.stderr == "", f"--quiet printed: {r2.stderr!r}")

    # --save: torch.nn.Linear loads the weights and reproduces the test figures.
    import torch
    import torch.nn.functional as F
    xte = np.frombuffer(gzip.open(os.path.join(good, "t10k-images-idx3-ubyte.gz")).read()[16:],
                        np.uint8).reshape(-1, 784).astype(np.float32) / np.float32(255)
    yte = np.frombuffer(gzip.open(os.path.join(good, "t10k-labels-idx1-ubyte.gz")).read()[8:],
                        np.uint8).astype(np.int64)
    for act, fn in (("relu", torch.relu), ("tanh", torch.tanh)):
        d = os.path.join(save, act)
        l1 = torch.nn.Linear(784, 24)
        l2 = torch.nn.Linear(24, 10)
        with torch.no_grad():
            l1.weight.copy_(torch.from_numpy(np.load(os.path.join(d, "fc1.weight.npy"))))
            l1.bias.copy_(torch.from_numpy(np.load(os.path.join(d, "fc1.bias.npy"))))
            l2.weight.copy_(torch.from_numpy(np.load(os.path.join(d, "fc2.weight.npy"))))
            l2.bias.copy_(torch.from_numpy(np.load(os.path.join(d, "fc2.bias.npy"))))
            logits = l2(fn(l1(torch.from_numpy(xte))))
            acc = float((logits.argmax(1) == torch.from_numpy(yte)).float().mean())
            loss = float(F.cross_entropy(logits, torch.from_numpy(yte)))
        last = [e for e in epochs if e["activation"] == act][-1]
        check(abs(acc - float(last["test_accuracy"])) <= 1.0 / len(yte),
              f"{act}: torch with the saved weights: accuracy {acc}, clact said "
              f"{last['test_accuracy']}")
        check(abs(loss - float(last["test_loss"])) <= 1e-4 * loss,
              f"{act}: torch with the saved weights: loss {loss}, clact said {last['test_loss']}")

    # Diagnostics: SGD with a learning rate far too large kills ReLU units; Adam at 1e-3 not.
    o3 = os.path.join(tmp, "out3")
    r3 = run(["--data", good, "--out", o3, "--act", "relu", "--epochs", "2", "--hidden", "32",
              "--batch", "32", "--optimizer", "sgd", "--lr", "20", "--quiet"])
    check(r3.returncode == 0, f"lr 20 run: {r3.stderr}")
    dead = [float(e["dead_fraction"]) for e in csv.DictReader(open(os.path.join(o3, "epochs.csv")))]
    check(dead[-1] >= 0.25, f"sgd lr 20: dead fraction {dead}, want most units dead")
    fine = [float(e["dead_fraction"]) for e in epochs if e["activation"] == "relu"]
    check(fine[-1] <= 0.1, f"adam lr 1e-3: dead fraction {fine}")

    if FAILS:
        print(f"train_test: {len(FAILS)} failures")
        return 1
    print("train_test: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
