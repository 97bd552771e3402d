/* SPDX-License-Identifier: MIT */
/* Shared test helpers: the one OpenCL context of the run, the seeded random source, buffers,
 * and the comparison rules with their tolerances. */
#ifndef CLACT_TESTUTIL_H
#define CLACT_TESTUTIL_H
#include <check.h>
#include <stdint.h>

#include "clact/clact.h"

/* Created once by the runner (tests run in one process: building programs per fork would
 * cost a second each). A missing device fails the run; it is never a skip. */
clact_context *tu_ctx(void);
void tu_set_ctx(clact_context *ctx);
/* Set (value NULL: unset) an environment variable the library reads and, when that changes it,
 * make tu_ctx() a context made with the new setting, on the same queue (same cl_context: buffers
 * stay valid), since a context reads the environment once, when it is created. Contexts are kept
 * per setting and reused. */
void tu_setenv(const char *name, const char *value);
/* Destroy tu_ctx() and every context tu_setenv made (the runner, at the end). */
void tu_release_contexts(void);

/* The level CLACT_TEST_QUICK asks for: 0 when unset or 0; 2 for "2", the interpreter level
 * (tests/oclgrind.sh: oclgrind runs kernels about 1000 times slower than PoCL; memcheck.sh's
 * valgrind pass, 50 times or more), where the suites that would still take minutes at level 1
 * shrink their sizes further; 1 for any other value, where the suites whose largest cases are
 * long loops trim them (fewer sizes, a stride through an exhaustive range). Every check still runs at every
 * level; tu_quick() as a truth value means level 1 or above. */
int tu_quick(void);

/* Whether the test device is oclgrind's simulator (tests/oclgrind.sh): for the few checks that
 * its own bugs defeat, each saying which where it asks. */
int tu_device_is_oclgrind(void);

/* The run's seed: CLACT_TEST_SEED if set, else fresh; printed by the runner. */
uint64_t tu_seed(void);
void tu_seed_init(void);
/* A per-test random stream derived from the seed and a label, so tests do not depend on order. */
typedef struct tu_rng {
    uint64_t s;
} tu_rng;
tu_rng tu_rng_for(const char *label, uint64_t extra);
uint64_t tu_next(tu_rng *r);
double tu_uniform(tu_rng *r, double lo, double hi);

/* New buffers of the harness: every byte 0xff (tu_poison_dt's poison) before the test writes
 * anything, so that no element is uninitialised (see testutil.c for oclgrind's part in this). */
cl_mem tu_buffer(size_t n_floats, cl_mem_flags flags);
/* Whether the test device has cl_khr_fp64. */
int tu_has_fp64(void);
/* Whether long double really is wider than double at run time. Under valgrind it is not (its x87
 * emulation computes in 64-bit doubles): the f64 references then carry their own roundings, and
 * the suites widen their f64 bounds (saying so where they do). */
int tu_wide_reference(void);
void tu_write(cl_mem m, size_t offset, size_t n, const float *src);
void tu_read(cl_mem m, size_t offset, size_t n, float *dst);
void tu_read_bytes(cl_mem m, size_t bytes, void *dst);
void tu_fill_bits(cl_mem m, size_t offset, size_t n, uint32_t bits);

uint32_t tu_bits(float f);
float tu_from_bits(uint32_t u);

/* Distance from got to the exact value ref in float ulps at ref (subnormal spacing below
 * FLT_MIN); 0 when both are the same non-finite value. */
double tu_ulp_error(float got, double ref);

/* The comparison rule, contract line 3 of SEMANTICS.md:
 *  - NaN only matches NaN, and NaN never passes as a number;
 *  - a reference that is ±inf in float must be matched exactly, and got may be inf only then;
 *  - zeros compare with ==, the sign of zero is not part of the contract;
 *  - otherwise, benchdnn's bar: relative error <= rel where |ref| > 1e-5, absolute error <= rel
 *    below; and, tighter, the error in ulp <= max_ulp.
 */
typedef struct tu_tolerance {
    double rel;
    double max_ulp;
} tu_tolerance;
int tu_close(float got, double ref, tu_tolerance tol);

/* 16-bit storage types (f16, bf16): the value of a bit pattern, a double rounded to the type
 * (to nearest even, by search, independent of any hardware conversion), and a pattern's place
 * in value order (for distances in ulp). */
double tu_decode16(clact_dtype dt, uint16_t v);
uint16_t tu_round16(clact_dtype dt, double x);
long tu_order16(uint16_t v);

/* Any dtype, with host values as doubles. tu_write_dt rounds to the dtype (to nearest even);
 * tu_read_dt returns 0 if any element still holds the poison of tu_poison_dt (all bytes 0xff,
 * a NaN pattern in every dtype that no kernel produces). tu_round_dt is x rounded to the
 * dtype, and tu_dtype_eps half an ulp of 1 in it (the unit roundoff). */
cl_mem tu_buffer_dt(clact_dtype dt, size_t n, cl_mem_flags flags);
double tu_round_dt(clact_dtype dt, double x);
void tu_write_dt(clact_dtype dt, cl_mem m, size_t offset, size_t n, const double *src);
int tu_read_dt(clact_dtype dt, cl_mem m, size_t offset, size_t n, double *dst);
void tu_poison_dt(clact_dtype dt, cl_mem m, size_t offset, size_t n);
double tu_dtype_eps(clact_dtype dt);

#endif
