#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Issue 17's suggested route for f32 GELU, measured: erfc from a table in the style of Arm's
optimized-routines erfcf (the value of erfc and of 2/sqrt(pi) exp(-r^2) at r = k/64, then a
degree-4 expansion in d = t - r whose coefficients are polynomials in r: no exp, no division),
written as clact would write it (16-wide vectors, the 16 lookups as indexed loads, which LLVM
turns into one vgatherdps per table column on AVX-512; the same kernel in scalar form, one element
per work-item, PoCL 3.1 vectorises only 8 wide, with ymm gathers). Three kernels over the same 16M
floats, in interleaved rounds:
  table      the table route (two gathers per 16 elements);
  no-gather  the same arithmetic with the two looked-up vectors computed from r instead (wrong
             values, the same instruction stream but for the gathers): what the gathers cost;
  clact      clact's own gelu (`clact bench --ops gelu --sizes 16M`, min ms), if the CLI's path
             is given.
Then the table kernel's worst error in float ulp (against math.erfc in double) on M random float32
bit patterns and on M floats uniform in [-14.6, 14.6], where the table is used: a sample, not the
every-float check (tests/exhaustive_f32) a kernel of the library must pass.

  /usr/bin/python3 bench/gelu_erfc_table.py [--rounds N] [--clact PATH] [--sample M]

Measured 2026-11-29 (PoCL 3.1 "pthread-skylake-avx512", 2-core AMD EPYC, AVX-512) in
bench/RESULTS.md: the gathers alone cost more than clact's whole erfc."""
import argparse
import math
import subprocess

import numpy as np
import pyopencl as cl

STEP = 64  # table points per unit of t
TMAX = 10.3  # beyond, x Phi(x) rounds to 0 in float (|x| > 14.6)
SCALE = 2.0 ** 64  # keeps the tail's table values normal; undone at the end

SRC = r"""
float16 lookup(__global const float *t, int16 k)
{
    return (float16)(t[k.s0], t[k.s1], t[k.s2], t[k.s3], t[k.s4], t[k.s5], t[k.s6], t[k.s7],
                     t[k.s8], t[k.s9], t[k.sa], t[k.sb], t[k.sc], t[k.sd], t[k.se], t[k.sf]);
}

// gelu(x) = x Phi(x), 0.5 erfc(t) for t = |x|/sqrt(2) carried as the pair a + al, as in clact's
// act_gelu; for x > 0, x - x 0.5 erfc(t).
__kernel void gelu_table(__global const float *x, __global float *y, __global const float *tab)
{
    size_t i = get_global_id(0);
    float16 v = vload16(i, x);
    const float c_hi = 0.70710677f, c_lo = 1.2101617e-08f;
    float16 ax = fabs(v);
    float16 a = ax * c_hi;
    float16 al = fma(ax, c_hi, -a) + ax * c_lo;
    float16 t = fmin(a, TMAX_F);
    int16 k = convert_int16(fma(t, (float)STEP, 0.5f));
    float16 r = convert_float16(k) * (1.0f / STEP);
    float16 d = (t - r) + al;
    float16 r2 = r * r;
#ifdef NO_GATHER
    float16 e = r + 1.0f, s = r2 + 2.0f;
#else
    float16 e = lookup(tab, 2 * k), s = lookup(tab + 1, 2 * k);
#endif
    // erfc(r + d) = erfc(r) - S(r) d (1 - r d + (2/3 r^2 - 1/3) d^2 - r (1/3 r^2 - 1/2) d^3
    //                                   + (2/15 r^4 - 2/5 r^2 + 1/10) d^4)
    float16 p2 = fma(r2, 0x1.555556p-1f, -0x1.555556p-2f);
    float16 p3 = r * fma(r2, -0x1.555556p-2f, 0.5f);
    float16 p4 = fma(r2, fma(r2, 0x1.111112p-3f, -0x1.99999ap-2f), 0x1.99999ap-4f);
    float16 q = fma(fma(fma(p4, d, p3), d, p2), d, -r);
    float16 M = fma(-(s * d), fma(q, d, 1.0f), e); // 2^64 0.5 erfc(t)
    float16 xc = fmin(v, 8.0f);
    M = select(xc * M, xc * 0.0f, a > TMAX_F);
    vstore16(select(fma(M, -0x1p-64f, v), M * 0x1p-64f, v < 0.0f), i, y);
}
"""


def table():
    tab = np.zeros((int(TMAX * STEP) + 2, 2), np.float32)
    for k in range(tab.shape[0]):
        r = k / STEP
        tab[k, 0] = 0.5 * math.erfc(r) * SCALE
        tab[k, 1] = 0.5 * 2 / math.sqrt(math.pi) * math.exp(-r * r) * SCALE
    return tab.ravel()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--clact", help="the clact CLI, for its gelu's time in the same rounds")
    ap.add_argument("--sample", type=int, default=200000)
    args = ap.parse_args()
    n = 1 << 24
    ctx = cl.create_some_context(False)
    q = cl.CommandQueue(ctx, properties=cl.command_queue_properties.PROFILING_ENABLE)
    opts = f"-cl-std=CL1.2 -DSTEP={STEP} -DTMAX_F={TMAX}f"
    kern = {"table": cl.Program(ctx, SRC).build(opts).gelu_table,
            "no-gather": cl.Program(ctx, SRC).build(opts + " -DNO_GATHER").gelu_table}
    mf = cl.mem_flags
    rng = np.random.default_rng()
    x = rng.uniform(-6, 6, n).astype(np.float32)
    xb = cl.Buffer(ctx, mf.READ_ONLY | mf.COPY_HOST_PTR, hostbuf=x)
    yb = cl.Buffer(ctx, mf.READ_WRITE, x.nbytes)
    tb = cl.Buffer(ctx, mf.READ_ONLY | mf.COPY_HOST_PTR, hostbuf=table())

    def run(k, count):
        ev = k(q, (count // 16,), None, xb, yb, tb)
        ev.wait()
        return (ev.profile.end - ev.profile.start) * 1e-6

    print(f"{ctx.devices[0].name}: gelu over 16M float32, min ms of 7 launches per round")
    for rnd in range(args.rounds):
        row = []
        for name, k in kern.items():
            run(k, n)
            row.append(f"{name} {min(run(k, n) for _ in range(7)):.2f}")
        if args.clact:
            out = subprocess.run([args.clact, "bench", "--ops", "gelu", "--sizes", "16M"],
                                 capture_output=True, text=True, check=True).stdout
            line = [ln for ln in out.splitlines() if ln.startswith("gelu ")][0]
            row.append(f"clact {float(line.split()[2]):.2f}")
        print(f"round {rnd + 1}: " + ", ".join(row))

    # Accuracy of the table route: random bit patterns (finite ones), then where the table works.
    m = args.sample - args.sample % 16
    bits = rng.integers(0, 2 ** 32, m, dtype=np.uint64).astype(np.uint32).view(np.float32).copy()
    bits[~np.isfinite(bits)] = 1.0
    for what, xs in [("random float32 bit patterns", bits),
                     ("floats uniform in [-14.6, 14.6]",
                      rng.uniform(-14.6, 14.6, m).astype(np.float32))]:
        cl.enqueue_copy(q, xb, xs)
        run(kern["table"], m)
        got = np.empty_like(xs)
        cl.enqueue_copy(q, got, yb)
        want = np.array([0.5 * v * math.erfc(-v / math.sqrt(2)) for v in xs.astype(np.float64)])
        mag = np.maximum(np.abs(want), 2.0 ** -126)
        ulp = np.abs(got - want) / 2.0 ** (np.floor(np.log2(mag)) - 23)
        i = int(np.argmax(ulp))
        print(f"table route, {m} {what}: worst {ulp[i]:.2f} ulp at x = {xs[i]!r} "
              f"(got {got[i]!r}, want {want[i]!r}), {int((ulp > 4).sum())} above 4 ulp")


if __name__ == "__main__":
    main()
