#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""f16's two conversion paths, bit for bit: the default (core OpenCL's vload_half where the
address is aligned to the vector, and vstore_half with NaN made 0x7e00 | sign, kernels/prelude.cl)
against the integer conversions (-DCLACT_HALF_SOFTWARE), through `clact
apply` and `clact backward` on all 65536 half bit patterns (every NaN payload and sign, both
zeros, subnormals, infinities), for every elementwise op, the softmax family and glu, at the
device's vector width and at widths 2, 4 and 8 (PoCL 3.1's vload_half4 lost -0's sign, its
vload_half8 faulted off a vector's alignment), backward at the device's width, with an odd
element count so that the last work-item's tail (the scalar loads and stores) is reached, and
rows of an odd length so that most rows start off the vector's alignment. Both paths are exact conversions
(rounding to nearest even), so every output must be the same bytes, -0 included; a NaN must
meet a NaN, stored as 0x7e00 with a sign (the canonical quiet NaN, as PyTorch's CPU conversion
gives), and the sign of a NaN the op computes is not compared. The accuracy of either against the reference is the Check suite's (dtypes suite).

Usage: f16_paths.py path/to/clact"""
import os
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

import numpy as np

cli = sys.argv[1]
OPS = ["relu", "leaky_relu", "elu", "gelu", "gelu_tanh", "silu", "mish", "sigmoid", "tanh",
       "softplus", "relu6", "hardtanh", "selu", "celu", "hardsigmoid", "hardswish", "logsigmoid",
       "softsign", "tanhshrink", "softshrink", "hardshrink", "threshold threshold=0.5 value=-2",
       "prelu", "rrelu"]
ROWS = ["softmax dim=1", "log_softmax dim=1", "softmin dim=0", "glu dim=1"]
work = tempfile.mkdtemp(prefix="clact-f16-")
bits = np.arange(65536, dtype=np.uint32).astype(np.uint16)
# 65535 elements (odd: a tail at every width), then the last pattern on its own row below.
x = bits[:65535].view(np.float16)
rng = np.random.default_rng(int.from_bytes(os.urandom(4), "little"))
dy = rng.standard_normal(65535).astype(np.float16)
np.save(os.path.join(work, "x.npy"), x)
np.save(os.path.join(work, "dy.npy"), dy)
# Rows for the softmax family and glu: 255 x 257 of the same patterns (glu halves 257 - 1 = 256).
np.save(os.path.join(work, "r.npy"), bits[:65535].view(np.float16).reshape(255, 257))
np.save(os.path.join(work, "g.npy"), bits[:65280].view(np.float16).reshape(255, 256))
np.save(os.path.join(work, "last.npy"), bits[65535:].view(np.float16))


# clact's disk cache in a folder of this run's own: each program is compiled once per path and
# width (the build options are part of the key), not once per run; the runs go out as many at
# once as there are cores (the cache's writes are atomic renames), so that the 466 runs take
# seconds on a GPU machine's cores rather than minutes of sequential driver compiles.
CACHE = os.path.join(work, "cache")


def run(args, software, width):
    env = dict(os.environ, CLACT_CACHE_DIR=CACHE)
    env.pop("CLACT_CACHE", None)
    if software:
        env["CLACT_BUILD_OPTIONS"] = "-DCLACT_HALF_SOFTWARE"
    else:
        env.pop("CLACT_BUILD_OPTIONS", None)
    if width:
        env["CLACT_VECTOR_WIDTH"] = str(width)
    r = subprocess.run([cli] + args, capture_output=True, text=True, env=env, timeout=600)
    if r.returncode != 0:
        sys.exit(f"f16_paths: {' '.join(args)} failed: {r.stderr.strip()}")


failures = 0
cases = 0
for width in [None, 2, 4, 8]:
    jobs = []
    for op in OPS:
        name, *params = op.split()
        jobs.append((["apply", name] + params, "x.npy"))
        if width is None:
            jobs.append((["backward", name] + params, "x.npy dy.npy"))
        jobs.append((["apply", name] + params, "last.npy"))
    for op in ROWS:
        name, *params = op.split()
        jobs.append((["apply", name] + params, "g.npy" if name == "glu" else "r.npy"))
    def pair(job, width=width):
        k, (args, inputs) = job
        outs = []
        for software in (False, True):
            out = os.path.join(work, f"out{width}_{k}_{int(software)}.npy")
            run(args + ["--dtype", "f16"] + [os.path.join(work, f) for f in inputs.split()] +
                [out], software, width)
            outs.append(np.load(out).view(np.uint16))
        return args, inputs, outs

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        results = list(pool.map(pair, enumerate(jobs)))
    for args, inputs, outs in results:
        cases += 1
        a, b = outs[0].ravel(), outs[1].ravel()
        # A NaN's sign where the op computes the NaN (rather than passing its input through) is
        # no result (IEEE leaves it open; PyTorch's CPU and CUDA kernels differ there): NaN must
        # meet NaN, each stored as the canonical 0x7e00 with a sign.
        nan_a = (a & 0x7fff) > 0x7c00
        nan_b = (b & 0x7fff) > 0x7c00
        canonical = np.all((a[nan_a] & 0x7fff) == 0x7e00) and np.all((b[nan_b] & 0x7fff) == 0x7e00)
        same = (a == b) | (nan_a & nan_b)
        diff = np.flatnonzero(~same)
        if not canonical:
            failures += 1
            print(f"FAIL width {width or 'default'}: {' '.join(args)} on {inputs}: a NaN stored "
                  f"other than as 0x7e00 | sign")
        if diff.size:
            failures += 1
            i = diff[0]
            print(f"FAIL width {width or 'default'}: {' '.join(args)} on {inputs}: {diff.size} "
                  f"elements differ, first at {i}: builtin 0x{outs[0].ravel()[i]:04x}, "
                  f"integer 0x{outs[1].ravel()[i]:04x}")
# A toolchain without vload_half (declared only with cl_khr_fp16): the f16 build fails, and the
# library builds again with the integer conversions (host/program.c). Stood in for by
# -DCLACT_TEST_NO_VLOAD_HALF, an #error on the vload_half path (kernels/prelude.cl): the op still
# runs, with the same bytes.
env = dict(os.environ, CLACT_CACHE="0", CLACT_BUILD_OPTIONS="-DCLACT_TEST_NO_VLOAD_HALF")
ref = os.path.join(work, "out0.npy")
run(["apply", "gelu", "--dtype", "f16", os.path.join(work, "x.npy"), ref], False, None)
r = subprocess.run([cli, "apply", "gelu", "--dtype", "f16", os.path.join(work, "x.npy"),
                    os.path.join(work, "out1.npy")], capture_output=True, text=True, env=env,
                   timeout=600)
cases += 1
if r.returncode != 0 or not np.array_equal(np.load(ref).view(np.uint16),
                                           np.load(os.path.join(work, "out1.npy")).view(np.uint16)):
    failures += 1
    print(f"FAIL without vload_half: exit {r.returncode}, {r.stderr.strip()[:300]}")
print(f"f16_paths: {cases} runs, {failures} differing")
sys.exit(1 if failures else 0)
