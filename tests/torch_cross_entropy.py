#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""clact_cross_entropy against torch.nn.functional.cross_entropy (Debian's python3-torch 1.13):
every option (int64/int32/probability targets, ignore_index default and custom, weights,
none/mean/sum, label smoothing 0/0.1/1), shapes (C), (N, C), (N, C, d1, d2), N = 0, logits of
±1e4, loss and gradient (autograd of the reduced loss; of the sum for 'none'). Random inputs from
a fresh seed (printed; CLACT_TEST_SEED repeats). Usage: torch_cross_entropy.py build/tests/ce_driver"""
import os
import subprocess
import sys
import tempfile
import warnings

import numpy as np
import torch
import torch.nn.functional as F

DRIVER = sys.argv[1]
warnings.simplefilter("ignore", RuntimeWarning)
seed = int(os.environ.get("CLACT_TEST_SEED", "0")) or int.from_bytes(os.urandom(4), "little")
print(f"torch_cross_entropy: seed {seed} (set CLACT_TEST_SEED={seed} to repeat)")
rng = np.random.default_rng(seed)
passed = failed = 0

with tempfile.TemporaryDirectory() as d:
    p = lambda n: os.path.join(d, n)
    for shape in [(5,), (37, 10), (4, 7, 3, 5), (0, 6), (3, 1)]:
        C = shape[0] if len(shape) == 1 else shape[1]
        pos_shape = () if len(shape) == 1 else (shape[0],) + shape[2:]
        for big in (False, True):
            x = (rng.choice([-1e4, 1e4], shape) + rng.uniform(88, 1000, shape) if big
                 else rng.uniform(-6, 6, shape)).astype(np.float32)
            for ttype in ("i8", "i4", "prob"):
                for red in ("none", "mean", "sum"):
                    for eps in (0.0, 0.1, 1.0):
                        for weighted in (False, True):
                            ignore = -100 if ttype == "prob" or C <= 2 else int(rng.integers(0, C))
                            if ttype == "prob":
                                t = rng.uniform(0, 1, shape)
                                t = (t / np.maximum(t.sum(axis=0 if len(shape) == 1 else 1, keepdims=True), 1e-30)).astype(np.float32)
                                tt = torch.from_numpy(t)
                            else:
                                t = rng.integers(0, C, pos_shape)
                                t = np.where(rng.uniform(0, 1, pos_shape) < 0.2, ignore, t)
                                t = t.astype(np.int64 if ttype == "i8" else np.int32)
                                tt = torch.from_numpy(t.astype(np.int64))
                            w = rng.uniform(0.1, 3, C).astype(np.float32) if weighted else None
                            np.save(p("x.npy"), x)
                            np.save(p("t.npy"), t)
                            if weighted:
                                np.save(p("w.npy"), w)
                            r = subprocess.run([DRIVER, p("x.npy"), p("t.npy"), p("w.npy") if weighted else "-",
                                                red, str(ignore), str(eps), p("l.npy"), p("g.npy")],
                                               capture_output=True, text=True)
                            label = f"shape {shape} big {big} {ttype} {red} eps {eps} weighted {weighted} ignore {ignore}"
                            if r.returncode != 0:
                                failed += 1
                                print(f"FAIL {label}: {r.stderr.strip()}")
                                continue
                            xt = torch.from_numpy(x.astype(np.float64)).requires_grad_(True)
                            tt64 = tt.double() if ttype == "prob" else tt
                            loss = F.cross_entropy(xt, tt64, weight=None if w is None else torch.from_numpy(w.astype(np.float64)),
                                                   ignore_index=ignore, reduction=red, label_smoothing=eps)
                            if x.size:
                                (loss.sum() if red == "none" else loss).backward()
                                gref = xt.grad.numpy()
                            else:
                                gref = np.zeros(shape)
                            lref = loss.detach().numpy()
                            l, g = np.load(p("l.npy")).astype(np.float64), np.load(p("g.npy")).astype(np.float64)
                            # float32 against PyTorch in float64: per-position losses are sums of C
                            # terms of size |x - m| + log(sum), so 2e-5 relative + 1e-5 absolute
                            # (4e-3 absolute for logits of ±1e4, where one float ulp is 1e-3);
                            # gradients are softmax-sized: 2e-5 relative + 1e-6 absolute.
                            atol = 4e-3 if big else 1e-5
                            ok_l = l.shape == lref.shape and np.all(
                                (np.isnan(l) & np.isnan(lref)) | (np.abs(l - lref) <= 2e-5 * np.abs(lref) + atol))
                            ok_g = g.shape == gref.shape and np.all(
                                (np.isnan(g) & np.isnan(gref)) | (np.abs(g - gref) <= 2e-5 * np.abs(gref) + 1e-6))
                            if ok_l and ok_g:
                                passed += 1
                            else:
                                failed += 1
                                print(f"FAIL {label}: loss {l.ravel()[:3]} vs {lref.ravel()[:3]}; "
                                      f"grad max diff {np.max(np.abs(g - gref)) if g.shape == gref.shape and g.size else 'shape'}")

    # A class index out of range is an error, as PyTorch raises.
    np.save(p("x.npy"), np.zeros((2, 3), np.float32))
    np.save(p("t.npy"), np.array([1, 3], np.int64))
    r = subprocess.run([DRIVER, p("x.npy"), p("t.npy"), "-", "mean", "-100", "0", p("l.npy"), p("g.npy")],
                       capture_output=True, text=True)
    if r.returncode == 1 and "out of bounds" in r.stderr:
        passed += 1
    else:
        failed += 1
        print(f"FAIL out-of-range target: exit {r.returncode} {r.stderr!r}")

print(f"torch_cross_entropy: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
