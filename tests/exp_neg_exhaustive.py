#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Every float a in [-132.5, 0] (1.12e9 of them), plus -0, -inf and NaN, through the kernels'
clact_exp_neg (exp(a)) and clact_exp_neg_2p64 (2^64 exp(a)) on the default OpenCL device, against
exp in double: prints the worst error in ulp of each (the ulp of the float nearest the exact
value; 2^-149 for subnormals) and exits 1 if it exceeds the bound in kernels/prelude.cl's
comment (1.01 ulp for clact_exp_neg; 2.5 for clact_exp_neg_2p64, softmax's, whose polynomial is
a degree lower), or if -inf, a <= -132.5 or NaN give anything but 0, 0 and NaN. The 2^64
form is held to the bound down to a = -132 (below, where 2^64 exp(a) < 2^-126.5, it may give 0;
softmax, its user, needs nothing of those).

  python3 tests/exp_neg_exhaustive.py [--step N]   (--step 7: every 7th float, for a quick look)
CLACT_KERNEL_DIR, as for the library, reads prelude.cl from another directory.
Takes about two minutes on PoCL with two cores."""
import os
import sys

import numpy as np
import pyopencl as cl

HERE = os.path.dirname(os.path.abspath(__file__))
BOUND = {"exp_neg": 1.01, "exp_neg_2p64": 2.5}
SRC = open(os.path.join(os.environ.get("CLACT_KERNEL_DIR") or os.path.join(HERE, "..", "kernels"), "prelude.cl")).read() + r"""
__kernel void both(__global const uint *bits, __global float *e, __global float *e64)
{
    size_t i = get_global_id(0) * CLACT_VW;
    vfloat a = CLACT_CAT(as_float, CLACT_VW)(CLACT_CAT(vload, CLACT_VW)(0, bits + i));
    CLACT_STORE(clact_exp_neg(a), e + i);
    CLACT_STORE(clact_exp_neg_2p64(a), e64 + i);
}
"""


def ulp_of(ref):
    """ulp of the float nearest each (double) reference value."""
    f = ref.astype(np.float32)
    f = np.where(f == 0, np.float32(np.finfo(np.float32).smallest_subnormal), f)
    up = np.nextafter(np.abs(f), np.float32(np.inf))
    return (up - np.abs(f)).astype(np.float64)


def main():
    step = int(sys.argv[sys.argv.index("--step") + 1]) if "--step" in sys.argv else 1
    ctx = cl.create_some_context(interactive=False)
    q = cl.CommandQueue(ctx)
    vw = 8
    prog = cl.Program(ctx, SRC).build(options=f"-cl-std=CL1.2 -DCLACT_F32 -DCLACT_VW={vw}")
    lo, hi = 0x80000000, int(np.array([-132.5], np.float32).view(np.uint32)[0])
    worst = {"exp_neg": (0.0, 0.0), "exp_neg_2p64": (0.0, 0.0)}
    chunk = 1 << 22
    mf = cl.mem_flags
    for start in range(lo, hi + 1, chunk * step):
        bits = np.arange(start, min(hi + 1, start + chunk * step), step, dtype=np.uint64)
        bits = bits.astype(np.uint32)
        n = len(bits)
        pad = (-n) % vw
        bits = np.concatenate([bits, np.full(pad, 0x80000000, np.uint32)])
        b = cl.Buffer(ctx, mf.READ_ONLY | mf.COPY_HOST_PTR, hostbuf=bits)
        e = cl.Buffer(ctx, mf.WRITE_ONLY, bits.nbytes)
        e64 = cl.Buffer(ctx, mf.WRITE_ONLY, bits.nbytes)
        prog.both(q, (len(bits) // vw,), None, b, e, e64)
        he = np.empty(len(bits), np.float32)
        he64 = np.empty(len(bits), np.float32)
        cl.enqueue_copy(q, he, e)
        cl.enqueue_copy(q, he64, e64)
        a = bits[:n].view(np.float32).astype(np.float64)
        ref = np.exp(a)
        for name, got, r in (("exp_neg", he[:n], ref), ("exp_neg_2p64", he64[:n], ref * 2.0**64)):
            err = np.abs(got.astype(np.float64) - r) / ulp_of(r)
            if name == "exp_neg_2p64":
                err = np.where(a >= -132.0, err, 0.0)
            i = int(np.argmax(err))
            if err[i] > worst[name][0]:
                worst[name] = (float(err[i]), float(a[i]))
    ok = True
    for name, (u, at) in worst.items():
        print(f"clact_{name}: worst {u:.3f} ulp at a = {at!r:}" + (" (every float in [-132.5, 0])" if step == 1 else f" (every {step}th float)"))
        ok &= u <= BOUND[name]
    # Special values: -inf and below -132.5 give exactly 0, NaN stays NaN.
    sp = np.array([-np.inf, -132.5, -140.0, -1e30, -np.finfo(np.float32).max, np.nan, -0.0, 0.0],
                  np.float32)
    sp = np.concatenate([sp, np.zeros((-len(sp)) % vw, np.float32)])
    b = cl.Buffer(ctx, mf.READ_ONLY | mf.COPY_HOST_PTR, hostbuf=sp.view(np.uint32))
    e = cl.Buffer(ctx, mf.WRITE_ONLY, sp.nbytes)
    e64 = cl.Buffer(ctx, mf.WRITE_ONLY, sp.nbytes)
    prog.both(q, (len(sp) // vw,), None, b, e, e64)
    for buf, one in ((e, 1.0), (e64, 2.0**64)):
        got = np.empty(len(sp), np.float32)
        cl.enqueue_copy(q, got, buf)
        want_zero = got[:5]
        good = (np.all(want_zero == 0) and np.isnan(got[5]) and got[6] == one and got[7] == one)
        if not good:
            print(f"special values wrong: {got[:8]}")
            ok = False
    print("ok" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
