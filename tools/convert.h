/* SPDX-License-Identifier: MIT */
/* Element conversions for the clact command (f32, f16, bf16, f64), rounding to nearest even. */
#ifndef CLACT_TOOLS_CONVERT_H
#define CLACT_TOOLS_CONVERT_H
#include <stddef.h>
#include <stdint.h>

#include "clact/clact.h"

float clact_cli_half_to_float(uint16_t h);
uint16_t clact_cli_float_to_half(float f);
float clact_cli_bf16_to_float(uint16_t b);
uint16_t clact_cli_float_to_bf16(float f);
/* Element i of an array of dtype, as a double (exact), and a double stored into one (rounded
 * once, to nearest even). */
double clact_cli_load(clact_dtype dtype, const void *p, size_t i);
void clact_cli_store(clact_dtype dtype, void *p, size_t i, double v);
/* n elements of type from -> a new malloc'd array of type to; NULL when out of memory. */
void *clact_cli_convert(const void *src, clact_dtype from, clact_dtype to, size_t n);
#endif
