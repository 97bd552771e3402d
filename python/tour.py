#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The activation tour from Python: ReLU, GELU, SiLU, Sigmoid and Tanh on linspace(-5, 5, 200)
on the default device, printed as a few sample points, and a softmax whose rows sum to 1.
Run: CLACT_LIBRARY=build/libclact.so.0 python3 python/tour.py"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clact  # noqa: E402

x = np.linspace(-5, 5, 200, dtype=np.float32)
with clact.Context() as ctx:
    print(f"clact {clact.version()}")
    print("x       " + " ".join(f"{v:8.3f}" for v in x[::40]))
    for op in ("relu", "gelu", "silu", "sigmoid", "tanh"):
        y = ctx.forward(op, x)
        print(f"{op:8s}" + " ".join(f"{v:8.4f}" for v in y[::40]))
    logits = x.reshape(8, 25)
    p = ctx.softmax(logits, dim=1)
    print("softmax rows sum to " + ", ".join(f"{s:.6f}" for s in p.sum(axis=1)))
    assert np.allclose(p.sum(axis=1), 1, atol=1e-6)
