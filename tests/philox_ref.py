# SPDX-License-Identifier: MIT
"""rrelu's training-mode slopes computed here, independently of the library, for the scripted
tests (tests/cli_test.py, python/tests/test_clact.py, tests/torch_parity.py): Philox4x32-10
(Salmon et al., SC'11) in NumPy integers, checked against Random123's known-answer vectors, and
the rule of include/clact/clact.h (clact_activation): element i of a call has the slope
lower + (upper - lower) u_i, u_i from Philox at counter (i, i >> 32, 0, 0) with key (seed,
seed >> 32); in float (f32, f16, bf16) u = (w0 >> 8) 2^-24, in double
u = ((w0 << 32 | w1) >> 11) 2^-53, and the slope is fma(u, upper - lower, lower) in the compute
type, rounded once (computed here in fractions, then rounded to nearest even)."""
from fractions import Fraction

import numpy as np

_M0, _M1, _W0, _W1 = 0xD2511F53, 0xCD9E8D57, 0x9E3779B9, 0xBB67AE85
_MASK = np.uint64(0xFFFFFFFF)


def philox4x32_10(counter, key):
    """The four 32-bit output words for counters (four arrays or ints) and key (two ints)."""
    c = [np.asarray(v, dtype=np.uint64) & _MASK for v in counter]
    k0, k1 = np.uint64(key[0] & 0xFFFFFFFF), np.uint64(key[1] & 0xFFFFFFFF)
    for r in range(10):
        if r:
            k0 = (k0 + np.uint64(_W0)) & _MASK
            k1 = (k1 + np.uint64(_W1)) & _MASK
        p0 = np.uint64(_M0) * c[0]  # 32 x 32 bits: exact in uint64
        p1 = np.uint64(_M1) * c[2]
        c = [((p1 >> np.uint64(32)) ^ c[1] ^ k0) & _MASK, p1 & _MASK,
             ((p0 >> np.uint64(32)) ^ c[3] ^ k1) & _MASK, p0 & _MASK]
    return c


# Random123's kat_vectors for philox4x32_10: (counter, key, output).
KNOWN_ANSWERS = [
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
     (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)),
]


def self_check():
    """Raise AssertionError unless this Philox gives Random123's known answers."""
    for counter, key, want in KNOWN_ANSWERS:
        got = tuple(int(w) for w in philox4x32_10(counter, key))
        assert got == want, f"philox4x32_10{counter, key} = {got}, Random123 says {want}"


def _round(value, dtype):
    """The Fraction value rounded to nearest even in dtype (float32 or float64)."""
    d = np.dtype(dtype)
    a = d.type(float(value))  # within one ulp of dtype; pick the nearest of it and neighbours
    cands = [np.nextafter(a, d.type(-np.inf)), a, np.nextafter(a, d.type(np.inf))]
    best = min(cands, key=lambda c: (abs(Fraction(float(c)) - value),
                                     int(np.array(c).view(np.uint32 if d.itemsize == 4
                                                          else np.uint64)) & 1))
    return best


def slopes(n, seed, lower, upper, double=False, start=0):
    """The slopes of elements start .. start + n - 1 of a call, as float64 values of the compute
    type (float, or double with double=True)."""
    i = np.arange(start, start + n, dtype=np.uint64)
    w = philox4x32_10([i & _MASK, i >> np.uint64(32), 0, 0], (seed & 0xFFFFFFFF, seed >> 32))
    ct = np.float64 if double else np.float32
    lo, hi = ct(lower), ct(upper)
    span = ct(hi - lo)  # upper - lower rounded in the compute type, as the kernel forms it
    if double:
        u = [Fraction(int((int(a) << 32 | int(b)) >> 11), 1 << 53) for a, b in zip(w[0], w[1])]
    else:
        u = [Fraction(int(a) >> 8, 1 << 24) for a in w[0]]
    fl, fs = Fraction(float(lo)), Fraction(float(span))
    return np.array([float(_round(uk * fs + fl, ct)) for uk in u])


def forward(x, seed, lower, upper, double=False):
    """rrelu in training mode on float64 values x (of the compute type), in the compute type:
    x * r for x <= 0 (one rounding: the product of two floats is exact in double; in double
    NumPy's product is the rounded one), x elsewhere (NaN stays NaN)."""
    x = np.asarray(x, dtype=np.float64)
    r = slopes(x.size, seed, lower, upper, double).reshape(x.shape)
    with np.errstate(invalid="ignore"):
        prod = x * r
    if not double:
        prod = prod.astype(np.float32).astype(np.float64)
    return np.where(x <= 0, prod, x), r
