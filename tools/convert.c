/* SPDX-License-Identifier: MIT */
#include "convert.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Host conversions between the file's type and the device's storage type, rounding to nearest
 * even, as the kernels do on store. */
float clact_cli_half_to_float(uint16_t h) {
    int e = (h >> 10) & 31, m = h & 1023;
    float v = e == 0    ? ldexpf((float)m, -24)
              : e == 31 ? (m ? NAN : INFINITY)
                        : ldexpf((float)(1024 + m), e - 25);
    return (h & 0x8000) ? -v : v;
}

uint16_t clact_cli_float_to_half(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000, ax = x & 0x7fffffff;
    if (ax > 0x7f800000)
        return (uint16_t)(sign | 0x7e00);
    if (ax >= 0x477ff000) /* 65520 and above round to inf */
        return (uint16_t)(sign | 0x7c00);
    if (ax < 0x38800000) { /* subnormal: let the FPU round at 2^-24 */
        float t;
        memcpy(&t, &ax, 4);
        t += 0.5f;
        uint32_t u;
        memcpy(&u, &t, 4);
        return (uint16_t)(sign | (u - 0x3f000000));
    }
    return (uint16_t)(sign | ((ax - 0x38000000 + 0xfff + ((ax >> 13) & 1)) >> 13));
}

float clact_cli_bf16_to_float(uint16_t b) {
    uint32_t u = (uint32_t)b << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

uint16_t clact_cli_float_to_bf16(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    if (isnan(f))
        return (uint16_t)((u >> 16) | 0x40);
    return (uint16_t)((u + 0x7fff + ((u >> 16) & 1)) >> 16);
}

/* x rounded to nearest even to a binary format with `digits` significand bits and smallest
 * normal exponent emin (below it, the subnormal quantum stays 2^(emin - digits + 1)), then
 * overflowing to inf as RNE does. Direct from double: going through float first would round
 * twice, which differs from one rounding in rare halfway cases. */
static double round_format(double x, int digits, int emin) {
    if (!isfinite(x) || x == 0)
        return x;
    int e = ilogb(x);
    if (e < emin)
        e = emin;
    double q = ldexp(1.0, e - digits + 1);
    return nearbyint(x / q) * q; /* x / q and the product are exact: q is a power of two */
}

double clact_cli_load(clact_dtype dt, const void *p, size_t i) {
    switch (dt) {
    case CLACT_F32: return ((const float *)p)[i];
    case CLACT_F64: return ((const double *)p)[i];
    case CLACT_F16: return clact_cli_half_to_float(((const uint16_t *)p)[i]);
    case CLACT_BF16: break;
    }
    return clact_cli_bf16_to_float(((const uint16_t *)p)[i]);
}

void clact_cli_store(clact_dtype dt, void *p, size_t i, double v) {
    switch (dt) {
    case CLACT_F32: ((float *)p)[i] = (float)v; return;
    case CLACT_F64: ((double *)p)[i] = v; return;
    case CLACT_F16:
        /* Rounded once to f16's precision, the value is exact in float, and the float to f16
         * step (which also makes 65520 and above inf) is then exact. */
        ((uint16_t *)p)[i] = clact_cli_float_to_half((float)round_format(v, 11, -14));
        return;
    case CLACT_BF16: break;
    }
    /* bf16 has float's exponent range: rounded to 8 bits, the value is a float unless it
     * overflows, and (float) makes that inf. */
    ((uint16_t *)p)[i] = clact_cli_float_to_bf16((float)round_format(v, 8, -126));
}

/* n elements of type from -> a new array of type to (each step exact or one rounding). */
void *clact_cli_convert(const void *src, clact_dtype from, clact_dtype to, size_t n) {
    void *dst = malloc((n ? n : 1) * clact_dtype_size(to));
    if (dst)
        for (size_t i = 0; i < n; ++i)
            clact_cli_store(to, dst, i, clact_cli_load(from, src, i));
    return dst;
}

/* Taken from the header's list, so that a new dtype shows up in every message without an edit
 * here. */
