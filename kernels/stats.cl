// SPDX-License-Identifier: MIT
// Training diagnostics (clact_unit_stats, clact_sum_squares): what `clact train` watches to
// explain why a network trains or not. Included after prelude.cl in the activation program.

// Per-unit counts over a layer's output y, rows x units, row-major: one work-item per unit,
// so neighbouring work-items read neighbouring elements of a row. counts[u] gains the rows
// where y != 0 (NaN counts: a NaN unit is broken, not dead), counts[units + u] the rows where
// y <= lo or y >= hi (NaN does not). Adds saturate at UINT_MAX instead of wrapping.
__kernel void clact_unit_stats(const ulong rows, const ulong units, __global const CLACT_STYPE *y,
                               const ulong yo, __global uint *counts, const ulong co,
                               const real lo, const real hi)
{
    const ulong u = get_global_id(0);
    if (u >= units)
        return;
    __global const CLACT_STYPE *p = y + yo + u;
    uint live = 0, sat = 0;
    for (ulong r = 0; r < rows; ++r) {
        const real v = CLACT_SLOAD1(p + r * units);
        live += v != 0.0f;
        sat += v <= lo || v >= hi;
    }
    __global uint *c = counts + co;
    c[u] = add_sat(c[u], live);
    c[units + u] = add_sat(c[units + u], sat);
}

// out[oo] = the sum of x[i]^2 over n elements, in the compute type (float for f32, f16 and
// bf16; double for f64): one work-group, each item a compensated strided partial sum, then a
// halving tree in local memory. The compensation keeps each item's sum within an ulp or so
// whatever n (a plain float sum of 200,000 squares can lose 1e-3 relative). The group size is a power of two of at most 256 (the host's
// clact__launch_groups).
__kernel void clact_sum_squares(const ulong n, __global const CLACT_STYPE *x, const ulong xo,
                                __global real *out, const ulong oo)
{
    __local real part[256];
    const uint l = get_local_id(0), L = get_local_size(0);
    real s = 0.0f, c = 0.0f;
    for (ulong i = l; i < n; i += L) {
        const real v = CLACT_SLOAD1(x + xo + i);
        CLACT_ACC(real, s, c, v * v);
    }
    // A square that overflowed (or an infinite x) leaves s infinite and c NaN (inf - inf): the
    // sum is then +inf, as torch's norm says; NaN in x stays NaN through s.
    part[l] = isinf(s) ? s : s + c;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint h = L / 2; h > 0; h /= 2) {
        if (l < h)
            part[l] += part[l + h];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (l == 0)
        out[oo] = part[0];
}
