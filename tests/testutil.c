/* SPDX-License-Identifier: MIT */
#include "testutil.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static clact_context *the_ctx;
static uint64_t the_seed;

clact_context *tu_ctx(void) { return the_ctx; }
void tu_set_ctx(clact_context *ctx) { the_ctx = ctx; }
uint64_t tu_seed(void) { return the_seed; }

static uint64_t splitmix(uint64_t *x) {
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void tu_seed_init(void) {
    const char *env = getenv("CLACT_TEST_SEED");
    if (env && env[0]) {
        the_seed = strtoull(env, NULL, 0);
    } else {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t x =
            (uint64_t)ts.tv_sec * 1000000007ull ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 32);
        the_seed = splitmix(&x);
    }
}

tu_rng tu_rng_for(const char *label, uint64_t extra) {
    uint64_t h = 1469598103934665603ull;
    for (const char *p = label; *p; ++p)
        h = (h ^ (unsigned char)*p) * 1099511628211ull;
    tu_rng r = {the_seed ^ h ^ (extra * 0x9E3779B97F4A7C15ull)};
    splitmix(&r.s);
    return r;
}

uint64_t tu_next(tu_rng *r) { return splitmix(&r->s); }

double tu_uniform(tu_rng *r, double lo, double hi) {
    return lo + (hi - lo) * ((double)(tu_next(r) >> 11) * 0x1.0p-53);
}

cl_mem tu_buffer(size_t n_floats, cl_mem_flags flags) {
    cl_int err;
    cl_mem m = clCreateBuffer(clact_context_cl_context(tu_ctx()), flags,
                              (n_floats ? n_floats : 1) * sizeof(float), NULL, &err);
    ck_assert_msg(m != NULL, "clCreateBuffer failed: %d", err);
    return m;
}

void tu_write(cl_mem m, size_t offset, size_t n, const float *src) {
    if (!n)
        return;
    cl_int err =
        clEnqueueWriteBuffer(clact_context_queue(tu_ctx()), m, CL_TRUE, offset * sizeof(float),
                             n * sizeof(float), src, 0, NULL, NULL);
    ck_assert_int_eq(err, CL_SUCCESS);
}

void tu_read(cl_mem m, size_t offset, size_t n, float *dst) {
    if (!n)
        return;
    cl_int err = clEnqueueReadBuffer(clact_context_queue(tu_ctx()), m, CL_TRUE,
                                     offset * sizeof(float), n * sizeof(float), dst, 0, NULL, NULL);
    ck_assert_int_eq(err, CL_SUCCESS);
}

void tu_fill_bits(cl_mem m, size_t offset, size_t n, uint32_t bits) {
    if (!n)
        return;
    cl_int err = clEnqueueFillBuffer(clact_context_queue(tu_ctx()), m, &bits, sizeof bits,
                                     offset * sizeof(float), n * sizeof(float), 0, NULL, NULL);
    ck_assert_int_eq(err, CL_SUCCESS);
    ck_assert_int_eq(clFinish(clact_context_queue(tu_ctx())), CL_SUCCESS);
}

uint32_t tu_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

float tu_from_bits(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

double tu_ulp_error(float got, double ref) {
    if (isnan(ref) || isnan(got))
        return (isnan(ref) && isnan(got)) ? 0.0 : INFINITY;
    float reff = (float)ref;
    if (isinf(reff) || isinf(got))
        return got == reff ? 0.0 : INFINITY;
    double a = fabs(ref);
    double spacing;
    if (a < FLT_MIN) {
        spacing = 0x1.0p-149;
    } else {
        int e;
        frexp(a, &e); /* a = m * 2^e, m in [0.5, 1) */
        spacing = ldexp(1.0, e - 24);
    }
    return fabs((double)got - ref) / spacing;
}

int tu_close(float got, double ref, tu_tolerance tol) {
    if (isnan(ref))
        return isnan(got);
    if (isnan(got))
        return 0;
    float reff = (float)ref;
    if (isinf(reff) || isinf(got))
        return got == reff;
    if (reff == 0.0f && got == 0.0f)
        return 1;
    double err = fabs((double)got - ref);
    int bar = fabs(ref) > 1e-5 ? err <= tol.rel * fabs(ref) : err <= tol.rel;
    return bar && tu_ulp_error(got, ref) <= tol.max_ulp;
}
