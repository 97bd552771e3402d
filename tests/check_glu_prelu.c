/* SPDX-License-Identifier: MIT */
/* GLU (clact_glu, clact_glu_backward) and PReLU with a weight per channel (clact_prelu,
 * clact_prelu_backward) against the long-double references, in every dtype (f64 where the device
 * has cl_khr_fp64): random inputs drawn per run (the run's seed), shapes whose halves or channel
 * runs fall around every vector width (1, 3 ... 17, 33, 4099, 1 << 18), first, middle, last and
 * negative dims, ndim 0 to 4, one weight and one per channel, element offsets on every buffer,
 * outputs poisoned with the poison checked before them and canaries after, in place where the
 * header allows; special values (±0, ±inf, NaN, subnormals, ±FLT_MAX, b around the float
 * sigmoid's underflow at -88.7 and -104, and where 1 - sigmoid(b) would cancel); the weight
 * gradient's sums against exact ones (also where only a compensated sum is exact, and with
 * infinities and NaN), accumulated or not, dx or dw alone; empty tensors; a gated out-of-order
 * queue; every argument error with nothing written; the references on hand-computed values.
 *
 * Tolerances (u the compute type's unit roundoff: 2^-24 in float, 2^-53 in double):
 *  - prelu, and its dx: exact (0 ulp) in every dtype: each is one product w x (w dy) rounded once
 *    to the compute type, and for f16/bf16 exact in float (11 + 11 or 8 + 8 bits), then rounded
 *    once on store.
 *  - glu, and its da = dy sigmoid(b), in f32 and f64: 16 ulp. The kernel's own bound: exp within
 *    1.01 ulp (prelude.cl's clact_exp_neg in float) or 3 ulp (OpenCL's double exp), taken twice
 *    (h * h), three roundings of products, 1 + e, and a division (2.5 ulp allowed in float); about
 *    8 ulp in float and 10 in double in the worst case, and a few more where h is subnormal
 *    (|b| > 174.7 with |a| near FLT_MAX, the last normal results). db = dy a sigmoid(b)
 *    sigmoid(-b): a double exp (3 ulp) and 1 + e squared (about 3), the division (2.5), three
 *    products and a final scaling: 12 ulp at worst; 16 ulp is the bound for all three.
 *  - f16 and bf16 (computed in float, rounded once on store): within 1 ulp of the correctly
 *    rounded reference (the float result is within 16 float ulp, 2^-20 relative, so the store can
 *    only land on the other neighbour of a value that close to a tie).
 *  - dw: the sum S of the channel's n products p, computed in the compute type by Ogita, Rump and
 *    Oishi's Dot2 (products split exactly, compensated sums): |dw - S| <= 1 ulp of S in the dtype
 *    (the one final rounding; to 16 bits with round-to-odd first) + 8 (n u)^2 sum |p| (the
 *    compensation's bound: its error terms, about 2n of them below u sum |p| each, are summed
 *    plainly) + n 2^-149 (or 2^-1074 for f64: products whose exact split underflows)
 *    + the reference's own error (long double, 2^-63 relative; where valgrind runs long double as
 *    double, n 2^-53 sum |p| for f64) and its rounding to double (2^-53 of the sum, which adding
 *    the old dw with CLACT_PRELU_ACCUMULATE may cancel; the worst errors reported are from the
 *    runs without it). On sums that only a compensated sum gets right (2^25, 1,
 *    -2^25, 1, ...), dw must be exact.
 * The worst errors measured are printed (ulp of the dtype) by the report test at the end. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define GUARD  5
#define CANARY -1234.5

static const clact_dtype dtypes[] = {CLACT_F32, CLACT_F16, CLACT_BF16, CLACT_F64};
#define NDT (int)(sizeof dtypes / sizeof dtypes[0])

/* Worst errors seen, in ulp of the dtype: glu forward, glu backward, prelu and dx, dw. */
enum { W_GLU, W_GLU_BWD, W_PRELU, W_DW, W_COUNT };
static double worst[W_COUNT][CLACT_DTYPE_COUNT];
static const char *const worst_name[W_COUNT] = {"glu", "glu backward", "prelu and dx", "prelu dw"};

/* The spacing of dtype dt's values at |v| (the subnormal spacing below the normal range). */
static double ulp_dt(clact_dtype dt, double v) {
    static const int digits[CLACT_DTYPE_COUNT] = {24, 11, 8, 53};
    static const int emin[CLACT_DTYPE_COUNT] = {-126, -14, -126, -1022};
    int e = v == 0 || !isfinite(v) ? emin[dt] : ilogb(v);
    return ldexp(1.0, (e < emin[dt] ? emin[dt] : e) - digits[dt] + 1);
}

static double *alloc(size_t n) {
    double *a = malloc((n ? n : 1) * sizeof *a);
    ck_assert_ptr_nonnull(a);
    return a;
}

/* Whether every byte of elements [off, off + n) of m still holds the poison (0xff). */
static int untouched(clact_dtype dt, cl_mem m, size_t off, size_t n) {
    size_t es = clact_dtype_size(dt);
    unsigned char *b = malloc(n * es + 1);
    ck_assert_ptr_nonnull(b);
    if (n)
        ck_assert_int_eq(clEnqueueReadBuffer(clact_context_queue(tu_ctx()), m, CL_TRUE, off * es,
                                             n * es, b, 0, NULL, NULL),
                         CL_SUCCESS);
    int all = 1;
    for (size_t i = 0; i < n * es; ++i)
        all &= b[i] == 0xff;
    free(b);
    return all;
}

/* A buffer of off + n + GUARD elements: poison before, a (or poison when a is NULL) at off,
 * canaries after. */
static cl_mem upload(clact_dtype dt, const double *a, size_t off, size_t n) {
    cl_mem m = tu_buffer_dt(dt, off + n + GUARD, CL_MEM_READ_WRITE);
    const double canary[GUARD] = {CANARY, CANARY, CANARY, CANARY, CANARY};
    tu_poison_dt(dt, m, 0, off + n);
    if (a)
        tu_write_dt(dt, m, off, n, a);
    tu_write_dt(dt, m, off + n, GUARD, canary);
    return m;
}

/* The n elements at off: all written, nothing written before them (poison) or after (canaries).
 * Returns a new array. */
static double *download(clact_dtype dt, cl_mem m, size_t off, size_t n, const char *what,
                        const char *label) {
    double *a = alloc(n + GUARD);
    ck_assert_msg(tu_read_dt(dt, m, off, n, a), "%s: %s: an element was not written", label, what);
    ck_assert_msg(untouched(dt, m, 0, off), "%s: %s written before its offset", label, what);
    tu_read_dt(dt, m, off + n, GUARD, a + n);
    for (int i = 0; i < GUARD; ++i)
        ck_assert_msg(a[n + i] == tu_round_dt(dt, CANARY), "%s: %s written past its end", label,
                      what);
    return a;
}

/* got against the exact ref (both as doubles): NaN only matches NaN and never passes as a number;
 * a reference that rounds to ±inf in the dtype must be matched exactly, and got may be infinite
 * only then; otherwise max_ulp 0 asks for the correctly rounded reference itself, and any other
 * max_ulp for |got - ref| <= max_ulp ulp of the dtype at ref (f16 and bf16: within one ulp of the
 * correctly rounded reference). Zeros compare with ==. Returns the error in ulp. */
static double check_one(clact_dtype dt, double got, double ref, double max_ulp, const char *label,
                        const char *what, size_t i) {
    double r = tu_round_dt(dt, ref);
    if (isnan(ref) || isnan(got)) {
        ck_assert_msg(isnan(ref) && isnan(got), "%s: %s[%zu] = %.17g, reference %.17g", label, what,
                      i, got, ref);
        return 0;
    }
    if (isinf(r) || isinf(got)) {
        ck_assert_msg(got == r, "%s: %s[%zu] = %.17g, reference %.17g (%g in %s)", label, what, i,
                      got, ref, r, clact_dtype_name(dt));
        return 0;
    }
    double err = fabs(got - ref) / ulp_dt(dt, ref);
    if (max_ulp == 0) {
        ck_assert_msg(got == r, "%s: %s[%zu] = %.17g, reference %.17g (correctly rounded %.17g)",
                      label, what, i, got, ref, r);
    } else if (dt == CLACT_F16 || dt == CLACT_BF16) {
        long d = tu_order16(tu_round16(dt, got)) - tu_order16(tu_round16(dt, ref));
        ck_assert_msg(labs(d) <= 1, "%s: %s[%zu] = %.9g, reference %.17g (correctly rounded %.9g)",
                      label, what, i, got, ref, r);
    } else {
        ck_assert_msg(err <= max_ulp, "%s: %s[%zu] = %.17g, reference %.17g: %.2f ulp > %g", label,
                      what, i, got, ref, err, max_ulp);
    }
    return err;
}

static void check_all(clact_dtype dt, const double *got, const double *ref, size_t n,
                      double max_ulp, int which, const char *label, const char *what) {
    for (size_t i = 0; i < n; ++i) {
        double e = check_one(dt, got[i], ref[i], max_ulp, label, what, i);
        if (e > worst[which][dt])
            worst[which][dt] = e;
    }
}

static int dtype_ok(clact_dtype dt) { return dt != CLACT_F64 || tu_has_fp64(); }

/* ------------------------------------------------------------------------------------------ */
/* GLU */

typedef struct glu_case {
    int ndim;
    size_t shape[4];
    int dim;
} glu_case;

/* L (half of dim's size times the inner size) covers 1, 3 ... 17 around every vector width, 30,
 * 33, 51, 60, 4099 and 1 << 18. */
static const glu_case glu_cases[] = {
    {1, {2}, 0},        {1, {8}, -1},          {2, {3, 10}, 1},      {2, {3, 10}, -1},
    {2, {4, 7}, 0},     {3, {4, 6, 5}, 1},     {3, {4, 6, 5}, 0},    {3, {2, 34, 3}, -2},
    {2, {5, 2}, -1},    {2, {7, 32}, -1},      {2, {3, 30}, 1},      {2, {17, 34}, 1},
    {2, {2, 14}, 1},    {2, {3, 18}, 1},       {2, {5, 6}, -1},      {3, {3, 2, 33}, 1},
    {2, {1, 8198}, -1}, {4, {2, 3, 4, 10}, 3}, {4, {2, 4, 3, 5}, 1}, {2, {4, 1u << 19}, 1}};
#define N_GLU (int)(sizeof glu_cases / sizeof glu_cases[0])

static size_t count(int ndim, const size_t *shape) {
    size_t n = 1;
    for (int i = 0; i < ndim; ++i)
        n *= shape[i];
    return n;
}

/* A random value of magnitude 10^U(lo, hi) and random sign, in the dtype. */
static double log_uniform(tu_rng *r, clact_dtype dt, double lo, double hi) {
    double v = pow(10.0, tu_uniform(r, lo, hi));
    return tu_round_dt(dt, (tu_next(r) & 1) ? v : -v);
}

/* glu's inputs: the input (pairs a, b) and dy. Mostly moderate; 15 % with b in the sigmoid's
 * underflow (-110, -80) and |a| up to 1e30 (1e4 in f16), 15 % with b in (12, 40) where 1 - sigmoid
 * would cancel; f64 also b in (-780, -700) with |a| up to 1e300, where the long-double reference
 * can follow. */
static void glu_inputs(clact_dtype dt, tu_rng *r, const glu_case *c, double *x, double *dy) {
    size_t n = count(c->ndim, c->shape), d = (size_t)(c->dim < 0 ? c->dim + c->ndim : c->dim);
    size_t inner = count(c->ndim - (int)d - 1, c->shape + d + 1), L = c->shape[d] / 2 * inner;
    double amax = dt == CLACT_F16 ? 4 : 30;
    for (size_t i = 0; i < n / 2; ++i) {
        size_t ia = i / L * 2 * L + i % L;
        double a, b, pick = tu_uniform(r, 0, 1);
        if (pick < 0.7) {
            a = tu_uniform(r, -8, 8), b = tu_uniform(r, -12, 12);
        } else if (pick < 0.85) {
            a = log_uniform(r, dt, 0, amax), b = tu_uniform(r, -110, -80);
        } else if (pick < 0.95 || dt != CLACT_F64 || !tu_wide_reference()) {
            a = tu_uniform(r, -8, 8), b = tu_uniform(r, 12, 40);
        } else {
            a = log_uniform(r, dt, 250, 300), b = tu_uniform(r, -780, -700);
        }
        x[ia] = tu_round_dt(dt, a);
        x[ia + L] = tu_round_dt(dt, b);
        dy[i] = tu_uniform(r, 0, 1) < 0.9 ? tu_round_dt(dt, tu_uniform(r, -2, 2))
                                          : log_uniform(r, dt, -3, amax / 2);
    }
}

/* Forward, backward, and backward in place (dx over a copy of x), against the reference. */
static void glu_run(clact_dtype dt, const glu_case *c, const double *x, const double *dy,
                    const char *label, int in_place) {
    clact_context *ctx = tu_ctx();
    size_t n = count(c->ndim, c->shape), xo = 3, yo = 5, dyo = 2, dxo = 7;
    cl_mem xb = upload(dt, x, xo, n), yb = upload(dt, NULL, yo, n / 2);
    cl_mem dyb = upload(dt, dy, dyo, n / 2), dxb = upload(dt, NULL, dxo, n);
    double *yr = alloc(n / 2), *dxr = alloc(n);
    ck_assert_int_eq(clact_reference_glu(dt, c->ndim, c->shape, c->dim, x, yr), CLACT_OK);
    ck_assert_int_eq(clact_reference_glu_backward(dt, c->ndim, c->shape, c->dim, x, dy, dxr),
                     CLACT_OK);
    clact_status st = clact_glu(ctx, dt, c->ndim, c->shape, c->dim, xb, xo, yb, yo, 0, NULL, NULL);
    ck_assert_msg(st == CLACT_OK, "%s: glu: %s", label, clact_context_last_error(ctx));
    st = clact_glu_backward(ctx, dt, c->ndim, c->shape, c->dim, xb, xo, dyb, dyo, dxb, dxo, 0, NULL,
                            NULL);
    ck_assert_msg(st == CLACT_OK, "%s: glu_backward: %s", label, clact_context_last_error(ctx));
    double *y = download(dt, yb, yo, n / 2, "y", label);
    double *dx = download(dt, dxb, dxo, n, "dx", label);
    check_all(dt, y, yr, n / 2, 16, W_GLU, label, "y");
    check_all(dt, dx, dxr, n, 16, W_GLU_BWD, label, "dx");
    if (in_place) { /* dx over x itself: the same results */
        st = clact_glu_backward(ctx, dt, c->ndim, c->shape, c->dim, xb, xo, dyb, dyo, xb, xo, 0,
                                NULL, NULL);
        ck_assert_msg(st == CLACT_OK, "%s: in place: %s", label, clact_context_last_error(ctx));
        double *dxi = download(dt, xb, xo, n, "dx in place", label);
        for (size_t i = 0; i < n; ++i)
            ck_assert_msg(dxi[i] == dx[i] || (isnan(dxi[i]) && isnan(dx[i])),
                          "%s: dx in place [%zu] = %g, not %g", label, i, dxi[i], dx[i]);
        free(dxi);
    }
    cl_mem all[] = {xb, yb, dyb, dxb};
    for (int i = 0; i < 4; ++i)
        clReleaseMemObject(all[i]);
    free(yr);
    free(dxr);
    free(y);
    free(dx);
}

/* Loop index: case * NDT + dtype. Under CLACT_TEST_QUICK (valgrind) the largest case is skipped. */
START_TEST(glu_random) {
    clact_dtype dt = dtypes[_i % NDT];
    const glu_case *c = &glu_cases[_i / NDT];
    size_t n = count(c->ndim, c->shape);
    if (!dtype_ok(dt) || (tu_quick() && n > 100000))
        return;
    char label[128];
    snprintf(label, sizeof label, "glu %s shape %zu,%zu,%zu,%zu (ndim %d) dim %d",
             clact_dtype_name(dt), c->shape[0], c->shape[1], c->shape[2], c->shape[3], c->ndim,
             c->dim);
    tu_rng r = tu_rng_for(label, 0);
    double *x = alloc(n), *dy = alloc(n / 2);
    glu_inputs(dt, &r, c, x, dy);
    glu_run(dt, c, x, dy, label, n < 100000);
    free(x);
    free(dy);
}
END_TEST

/* Every pair (a, b) of special values, with dy cycling through its own, as x of shape (2, P)
 * halved along dim 0. */
START_TEST(glu_special) {
    clact_dtype dt = dtypes[_i];
    if (!dtype_ok(dt))
        return;
    const double tiny = 0x1p-149, sub = 0x1p-130, fmax = FLT_MAX;
    const double sa[] = {0,        -0.0,      1,   -2.5, 3e-30, 1e30,     -1e30, fmax, -fmax,
                         INFINITY, -INFINITY, NAN, tiny, -sub,  0x1p-126, 1e4,   -6e4};
    const double sb[] = {0,
                         -0.0,
                         1,
                         -1,
                         16.6,
                         17,
                         20,
                         36.8,
                         88.7,
                         88.73,
                         -88.7,
                         -88.72283172607422,
                         -88.72283935546875,
                         -90,
                         -100,
                         -103.9,
                         -104.1,
                         -110,
                         -150,
                         -175.5,
                         -200,
                         1e30,
                         -1e30,
                         fmax,
                         -fmax,
                         INFINITY,
                         -INFINITY,
                         NAN,
                         tiny,
                         -0x1p-140,
                         745.2,
                         -745.2,
                         -709.9,
                         -740};
    const double sg[] = {1, -3, 0.5, 1e30, -fmax, INFINITY, -INFINITY, NAN, 0, tiny, 1e-30};
    size_t na = sizeof sa / sizeof sa[0], nb = sizeof sb / sizeof sb[0], P = na * nb;
    size_t ng = sizeof sg / sizeof sg[0];
    double *x = alloc(2 * P), *dy = alloc(P);
    for (size_t i = 0; i < na; ++i)
        for (size_t j = 0; j < nb; ++j) {
            x[i * nb + j] = tu_round_dt(dt, sa[i]);
            /* |b| > 700 in f64 needs the reference's long double (not valgrind's) */
            int narrow = dt == CLACT_F64 && !tu_wide_reference() && fabs(sb[j]) > 700;
            x[P + i * nb + j] = tu_round_dt(dt, narrow ? 0.0 : sb[j]);
            dy[i * nb + j] = tu_round_dt(dt, sg[(i * nb + j) % ng]);
        }
    glu_case c = {2, {2, P, 0, 0}, 0};
    char label[64];
    snprintf(label, sizeof label, "glu specials %s", clact_dtype_name(dt));
    glu_run(dt, &c, x, dy, label, 1);
    free(x);
    free(dy);
}
END_TEST

/* PyTorch 1.13, measured: glu([inf, 1, -inf, nan]) = [nan, nan], its gradient for dy = 1
 * [0, nan, nan, nan]; and the product stays exact where sigmoid(b) underflows. */
START_TEST(glu_measured) {
    clact_dtype dt = dtypes[_i];
    if (!dtype_ok(dt))
        return;
    clact_context *ctx = tu_ctx();
    const double x[4] = {INFINITY, 1, -INFINITY, NAN}, dy[2] = {1, 1};
    size_t shape[1] = {4};
    cl_mem xb = upload(dt, x, 0, 4), yb = upload(dt, NULL, 0, 2), gb = upload(dt, dy, 0, 2);
    cl_mem db = upload(dt, NULL, 0, 4);
    ck_assert_int_eq(clact_glu(ctx, dt, 1, shape, -1, xb, 0, yb, 0, 0, NULL, NULL), CLACT_OK);
    ck_assert_int_eq(clact_glu_backward(ctx, dt, 1, shape, -1, xb, 0, gb, 0, db, 0, 0, NULL, NULL),
                     CLACT_OK);
    double *y = download(dt, yb, 0, 2, "y", "measured"), *d = download(dt, db, 0, 4, "dx", "m");
    ck_assert_msg(isnan(y[0]) && isnan(y[1]), "%s: glu = [%g, %g]", clact_dtype_name(dt), y[0],
                  y[1]);
    ck_assert_msg(d[0] == 0 && isnan(d[1]) && isnan(d[2]) && isnan(d[3]),
                  "%s: gradient [%g, %g, %g, %g]", clact_dtype_name(dt), d[0], d[1], d[2], d[3]);
    free(y);
    free(d);
    cl_mem all[] = {xb, yb, gb, db};
    for (int i = 0; i < 4; ++i)
        clReleaseMemObject(all[i]);
}
END_TEST

/* ------------------------------------------------------------------------------------------ */
/* PReLU */

typedef struct prelu_case {
    int ndim;
    size_t shape[4];
    int per_channel; /* 1: num_parameters = shape[1]; 0: one weight */
} prelu_case;

/* Channel runs (inner) of 1, 3, 7, 15, 16, 17, 4099 and 8192; ndim 0 to 4. */
static const prelu_case prelu_cases[] = {
    {0, {0}, 0},          {1, {7}, 0},          {1, {1}, 0},           {2, {5, 3}, 0},
    {2, {5, 3}, 1},       {2, {1000, 33}, 1},   {2, {3, 1}, 1},        {3, {4, 6, 7}, 1},
    {3, {2, 3, 17}, 1},   {3, {3, 5, 16}, 1},   {3, {3, 5, 15}, 1},    {4, {2, 5, 3, 3}, 1},
    {4, {2, 5, 3, 3}, 0}, {3, {2, 4, 4099}, 1}, {3, {8, 16, 8192}, 1}, {1, {1u << 20}, 0}};
#define N_PRELU (int)(sizeof prelu_cases / sizeof prelu_cases[0])

static size_t prelu_np(const prelu_case *c) { return c->per_channel ? c->shape[1] : 1; }

/* The exact sum of each channel's products and the bound on dw's error (see the top), from the
 * reference's sums (dw_ref) and, with accumulate, the old values dw0. */
static void dw_bounds(clact_dtype dt, const prelu_case *c, const double *x, const double *dy,
                      const double *dw_ref, const double *dw0, double *want, double *bound) {
    size_t n = count(c->ndim, c->shape), np = prelu_np(c);
    size_t inner = np == 1 ? n : count(c->ndim - 2, c->shape + 2);
    double u = dt == CLACT_F64 ? 0x1p-53 : 0x1p-24, tiny = dt == CLACT_F64 ? 0x1p-1074 : 0x1p-149;
    double ref_rel = tu_wide_reference() ? 0x1p-62 : dt == CLACT_F64 ? 0x1p-52 : 0x1p-62;
    double *abs_sum = alloc(np), *terms = alloc(np);
    for (size_t ch = 0; ch < np; ++ch) {
        abs_sum[ch] = dw0 ? fabs(dw0[ch]) : 0;
        terms[ch] = 1 + (dw0 != NULL);
    }
    for (size_t i = 0, ch = 0, j = 0; i < n; ++i) { /* ch = i / inner % np, stepped */
        if (!(x[i] > 0)) {
            abs_sum[ch] += fabs(x[i] * dy[i]);
            terms[ch] += 1;
        }
        if (np > 1 && ++j == inner) {
            j = 0;
            ch = ch + 1 == np ? 0 : ch + 1;
        }
    }
    for (size_t ch = 0; ch < np; ++ch) {
        /* want = dw0 + sum: the reference's sum was rounded to double (2^-53 of it, which the
         * addition of dw0 may leave much larger than want's own ulp), want once more. */
        long double s = (long double)dw_ref[ch] + (dw0 ? dw0[ch] : 0.0);
        want[ch] = (double)s;
        double m = terms[ch], nu = m * u;
        bound[ch] = ulp_dt(dt, want[ch]) + 8 * nu * nu * abs_sum[ch] + m * tiny +
                    m * ref_rel * abs_sum[ch] + 0x1p-53 * (fabs(dw_ref[ch]) + fabs(want[ch]));
    }
    free(abs_sum);
    free(terms);
}

/* record: whether want is exact (the reference's sum itself, not old + sum), so that the error
 * is the kernel's and counts among the worst. */
static void check_dw(clact_dtype dt, const double *got, const double *want, const double *bound,
                     size_t np, int record, const char *label) {
    for (size_t ch = 0; ch < np; ++ch) {
        double r = tu_round_dt(dt, want[ch]);
        if (isnan(want[ch]) || isnan(got[ch]) || isinf(r) || isinf(got[ch])) {
            ck_assert_msg(got[ch] == r || (isnan(r) && isnan(got[ch])),
                          "%s: dw[%zu] = %.17g, exact %.17g", label, ch, got[ch], want[ch]);
            continue;
        }
        double err = fabs(got[ch] - want[ch]);
        ck_assert_msg(err <= bound[ch], "%s: dw[%zu] = %.17g, exact %.17g (error %.3g > %.3g)",
                      label, ch, got[ch], want[ch], err, bound[ch]);
        double e = err / ulp_dt(dt, want[ch]);
        if (record && e > worst[W_DW][dt])
            worst[W_DW][dt] = e;
    }
}

typedef struct prelu_data {
    double *w, *x, *dy, *dw0;
} prelu_data;

/* One backward run: dx (into a fresh buffer, or in place over x or dy: where = 0, 1, 2; -1: no
 * dx) and dw (or not), accumulating over dw0 or not; checked against the reference. */
static void prelu_backward_run(clact_dtype dt, const prelu_case *c, const prelu_data *d, int where,
                               int want_dw, int accumulate, const char *label) {
    clact_context *ctx = tu_ctx();
    size_t n = count(c->ndim, c->shape), np = prelu_np(c), wo = 1, xo = 4, dyo = 6, dxo = 2,
           dwo = 3;
    cl_mem wb = upload(dt, d->w, wo, np), xb = upload(dt, d->x, xo, n),
           gb = upload(dt, d->dy, dyo, n);
    cl_mem dxb = where == 0 ? upload(dt, NULL, dxo, n) : NULL;
    cl_mem dwb = want_dw ? upload(dt, accumulate ? d->dw0 : NULL, dwo, np) : NULL;
    cl_mem dx_mem = where == 0 ? dxb : where == 1 ? xb : where == 2 ? gb : NULL;
    size_t dx_off = where == 0 ? dxo : where == 1 ? xo : dyo;
    clact_status st = clact_prelu_backward(ctx, dt, c->ndim, c->shape, np, wb, wo, xb, xo, gb, dyo,
                                           dx_mem, dx_off, dwb, dwo,
                                           accumulate ? CLACT_PRELU_ACCUMULATE : 0u, 0, NULL, NULL);
    ck_assert_msg(st == CLACT_OK, "%s: %s", label, clact_context_last_error(ctx));
    double *dxr = alloc(n), *dwr = alloc(np);
    ck_assert_int_eq(
        clact_reference_prelu_backward(dt, c->ndim, c->shape, np, d->w, d->x, d->dy, dxr, dwr),
        CLACT_OK);
    if (dx_mem) {
        double *dx = download(dt, dx_mem, dx_off, n, "dx", label);
        check_all(dt, dx, dxr, n, 0, W_PRELU, label, "dx");
        free(dx);
    } else {
        double *xx = download(dt, xb, xo, n, "x", label),
               *gg = download(dt, gb, dyo, n, "dy", label);
        for (size_t i = 0; i < n; ++i)
            ck_assert_msg((xx[i] == d->x[i] || isnan(d->x[i])) &&
                              (gg[i] == d->dy[i] || isnan(d->dy[i])),
                          "%s: an input was written without dx", label);
        free(xx);
        free(gg);
    }
    if (dwb) {
        double *dw = download(dt, dwb, dwo, np, "dw", label), *want = alloc(np), *bd = alloc(np);
        dw_bounds(dt, c, d->x, d->dy, dwr, accumulate ? d->dw0 : NULL, want, bd);
        check_dw(dt, dw, want, bd, np, !accumulate, label);
        free(dw);
        free(want);
        free(bd);
        clReleaseMemObject(dwb);
    }
    free(dxr);
    free(dwr);
    if (dxb)
        clReleaseMemObject(dxb);
    clReleaseMemObject(wb);
    clReleaseMemObject(xb);
    clReleaseMemObject(gb);
}

/* Forward, out of place and in place, exact against the reference. */
static void prelu_forward_run(clact_dtype dt, const prelu_case *c, const prelu_data *d,
                              const char *label) {
    clact_context *ctx = tu_ctx();
    size_t n = count(c->ndim, c->shape), np = prelu_np(c), wo = 2, xo = 5, yo = 1;
    cl_mem wb = upload(dt, d->w, wo, np), xb = upload(dt, d->x, xo, n),
           yb = upload(dt, NULL, yo, n);
    double *yr = alloc(n);
    ck_assert_int_eq(clact_reference_prelu(dt, c->ndim, c->shape, np, d->w, d->x, yr), CLACT_OK);
    clact_status st =
        clact_prelu(ctx, dt, c->ndim, c->shape, np, wb, wo, xb, xo, yb, yo, 0, NULL, NULL);
    ck_assert_msg(st == CLACT_OK, "%s: prelu: %s", label, clact_context_last_error(ctx));
    double *y = download(dt, yb, yo, n, "y", label);
    check_all(dt, y, yr, n, 0, W_PRELU, label, "y");
    st = clact_prelu(ctx, dt, c->ndim, c->shape, np, wb, wo, xb, xo, xb, xo, 0, NULL, NULL);
    ck_assert_msg(st == CLACT_OK, "%s: prelu in place: %s", label, clact_context_last_error(ctx));
    double *yi = download(dt, xb, xo, n, "y in place", label);
    check_all(dt, yi, yr, n, 0, W_PRELU, label, "y in place");
    free(yr);
    free(y);
    free(yi);
    clReleaseMemObject(wb);
    clReleaseMemObject(xb);
    clReleaseMemObject(yb);
}

/* Every backward variant: dx and dw; dw alone, accumulated; then, for all but the largest
 * tensors, dx alone in place over dy; dx in place over x with dw (the first stage writes dx); dx
 * alone, out of place. */
static void prelu_all(clact_dtype dt, const prelu_case *c, const prelu_data *d, const char *label) {
    prelu_forward_run(dt, c, d, label);
    char l[200];
    snprintf(l, sizeof l, "%s: dx and dw", label);
    prelu_backward_run(dt, c, d, 0, 1, 0, l);
    snprintf(l, sizeof l, "%s: dw accumulated", label);
    prelu_backward_run(dt, c, d, -1, 1, 1, l);
    if (count(c->ndim, c->shape) > 100000) /* the other paths are the same code at any size */
        return;
    snprintf(l, sizeof l, "%s: dx in place over dy", label);
    prelu_backward_run(dt, c, d, 2, 0, 0, l);
    snprintf(l, sizeof l, "%s: dx in place over x, dw accumulated", label);
    prelu_backward_run(dt, c, d, 1, 1, 1, l);
    snprintf(l, sizeof l, "%s: dx alone", label);
    prelu_backward_run(dt, c, d, 0, 0, 0, l);
}

static void prelu_data_free(prelu_data *d) {
    free(d->w);
    free(d->x);
    free(d->dy);
    free(d->dw0);
}

/* Loop index: case * NDT + dtype. x: uniform in (-4, 4), with exact zeros (both signs) and
 * positives so that every channel mixes both branches; weights in (-1, 1) with a 0 and a -0. */
START_TEST(prelu_random) {
    clact_dtype dt = dtypes[_i % NDT];
    const prelu_case *c = &prelu_cases[_i / NDT];
    size_t n = count(c->ndim, c->shape), np = prelu_np(c);
    if (!dtype_ok(dt) || (tu_quick() && n > 100000))
        return;
    char label[128];
    snprintf(label, sizeof label, "prelu %s shape %zu,%zu,%zu,%zu (ndim %d) num_parameters %zu",
             clact_dtype_name(dt), c->shape[0], c->shape[1], c->shape[2], c->shape[3], c->ndim, np);
    tu_rng r = tu_rng_for(label, 0);
    prelu_data d = {alloc(np), alloc(n), alloc(n), alloc(np)};
    for (size_t i = 0; i < np; ++i) {
        d.w[i] = tu_round_dt(dt, i == 1 ? 0.0 : i == 2 ? -0.0 : tu_uniform(&r, -1, 1));
        d.dw0[i] = tu_round_dt(dt, tu_uniform(&r, -3, 3));
    }
    for (size_t i = 0; i < n; ++i) {
        uint64_t pick = tu_next(&r) % 16;
        d.x[i] = tu_round_dt(dt, pick == 0 ? 0.0 : pick == 1 ? -0.0 : tu_uniform(&r, -4, 4));
        d.dy[i] = tu_round_dt(dt, tu_uniform(&r, -2, 2));
    }
    prelu_all(dt, c, &d, label);
    prelu_data_free(&d);
}
END_TEST

/* Special values in x, dy and the weights (one per channel, NaN among them), every x with every
 * weight; the channel sums then meet inf, NaN and overflow. */
START_TEST(prelu_special) {
    clact_dtype dt = dtypes[_i];
    if (!dtype_ok(dt))
        return;
    const double fmax = FLT_MAX;
    const double sx[] = {0,     -0.0,     1,         -1,  0x1p-149, -0x1p-149, -0x1p-130, fmax,
                         -fmax, INFINITY, -INFINITY, NAN, -1e-30,   1e30,      -3e4};
    const double sw[] = {0.25, -0.0, -3, NAN, 1e30, 0x1p-140};
    const double sg[] = {1, -2, 0, 1e30, INFINITY, -INFINITY, NAN, 0x1p-149, -0.5};
    size_t nx = sizeof sx / sizeof sx[0], C = sizeof sw / sizeof sw[0],
           ng = sizeof sg / sizeof sg[0];
    prelu_case c = {2, {nx * ng, C}, 1};
    size_t n = nx * ng * C;
    prelu_data d = {alloc(C), alloc(n), alloc(n), alloc(C)};
    for (size_t ch = 0; ch < C; ++ch) {
        d.w[ch] = tu_round_dt(dt, sw[ch]);
        d.dw0[ch] = tu_round_dt(dt, ch % 2 ? -1.5 : 2.0);
    }
    for (size_t row = 0; row < nx * ng; ++row)
        for (size_t ch = 0; ch < C; ++ch) {
            d.x[row * C + ch] = tu_round_dt(dt, sx[row % nx]);
            d.dy[row * C + ch] = tu_round_dt(dt, sg[(row / nx + ch) % ng]);
        }
    char label[64];
    snprintf(label, sizeof label, "prelu specials %s", clact_dtype_name(dt));
    prelu_all(dt, &c, &d, label);
    prelu_data_free(&d);
}
END_TEST

/* Sums only a compensated sum gets right, so dw must be exact: per channel, pairs of terms
 * +B and -B (B = 2^25 in float: B + 1 is not a float; 2^54 in double) interleaved with 1s, in
 * random order, and a channel whose finite terms overflow the compute type (+inf), one with
 * +inf (x = -inf), one with +inf and -inf (NaN), one with a NaN. Terms are x dy with x <= 0;
 * f16/bf16 hold B as -2^15 * 2^10. */
START_TEST(prelu_dw_exact) {
    clact_dtype dt = dtypes[_i];
    if (!dtype_ok(dt))
        return;
    enum { C = 5, ROWS = 4 * 128 + 2 };
    double big = dt == CLACT_F64 ? 0x1p54 : 0x1p25;
    double xs = dt == CLACT_F16 || dt == CLACT_BF16 ? -0x1p15 : -1.0, ds = -big / xs;
    double top = dt == CLACT_F64 ? DBL_MAX : FLT_MAX;
    prelu_case c = {2, {ROWS, C}, 1};
    size_t n = (size_t)ROWS * C;
    prelu_data d = {alloc(C), alloc(n), alloc(n), NULL};
    tu_rng r = tu_rng_for("prelu dw exact", (uint64_t)dt);
    size_t order[ROWS];
    for (size_t i = 0; i < ROWS; ++i)
        order[i] = i;
    for (size_t i = ROWS - 1; i > 0; --i) { /* a random order of the rows */
        size_t j = tu_next(&r) % (i + 1), t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    for (size_t ch = 0; ch < C; ++ch)
        d.w[ch] = 0.5;
    for (size_t k = 0; k < ROWS; ++k) {
        size_t row = order[k];
        double *x = d.x + row * C, *g = d.dy + row * C;
        /* channel 0: k % 4 == 0: +B, 1: 1, 2: -B, 3: 1, then two more 1s: sum 2 * 128 + 2 */
        int kind = (int)(k % 4);
        x[0] = k >= 4 * 128 || kind % 2 ? -1.0 : xs;
        g[0] = k >= 4 * 128 || kind % 2 ? -1.0 : kind == 0 ? ds : -ds;
        /* channel 1: terms of top / 4: their sum overflows */
        x[1] = -1.0, g[1] = -top / 4;
        /* channel 2: one +inf; 3: +inf and -inf; 4: one NaN; else 0.5 each */
        x[2] = -1.0, g[2] = k == 7 ? -INFINITY : -0.5;
        x[3] = k == 3 ? -INFINITY : -1.0, g[3] = k == 3 ? -1.0 : k == 9 ? INFINITY : 0.25;
        x[4] = k == 11 ? NAN : -1.0, g[4] = 0.5;
    }
    for (size_t i = 0; i < n; ++i) {
        d.x[i] = tu_round_dt(dt, d.x[i]);
        d.dy[i] = tu_round_dt(dt, d.dy[i]);
    }
    cl_mem wb = upload(dt, d.w, 0, C), xb = upload(dt, d.x, 0, n), gb = upload(dt, d.dy, 0, n);
    cl_mem dwb = upload(dt, NULL, 0, C);
    ck_assert_int_eq(clact_prelu_backward(tu_ctx(), dt, 2, c.shape, C, wb, 0, xb, 0, gb, 0, NULL, 0,
                                          dwb, 0, 0, 0, NULL, NULL),
                     CLACT_OK);
    double *dw = download(dt, dwb, 0, C, "dw", "prelu dw exact");
    const double want[C] = {2 * 128 + 2, INFINITY, INFINITY, NAN, NAN};
    for (int ch = 0; ch < C; ++ch)
        ck_assert_msg(dw[ch] == want[ch] || (isnan(want[ch]) && isnan(dw[ch])),
                      "%s: dw[%d] = %.17g, exact %g", clact_dtype_name(dt), ch, dw[ch], want[ch]);
    free(dw);
    prelu_data_free(&d);
    cl_mem all[] = {wb, xb, gb, dwb};
    for (int i = 0; i < 4; ++i)
        clReleaseMemObject(all[i]);
}
END_TEST

/* ------------------------------------------------------------------------------------------ */
/* Empty tensors, errors, an out-of-order queue, the references by hand */

static int event_done(cl_event e) {
    cl_int s = CL_QUEUED;
    clWaitForEvents(1, &e);
    clGetEventInfo(e, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof s, &s, NULL);
    return s == CL_COMPLETE;
}

/* An empty input enqueues only a marker (the event completes), but dw is the empty sum: 0, or
 * unchanged when accumulating. */
START_TEST(empty_tensors) {
    clact_context *ctx = tu_ctx();
    const clact_dtype dt = CLACT_F32;
    size_t glu_shape[2] = {0, 4}, pr_shape[3] = {0, 3, 5};
    const double w[3] = {0.5, 0.5, 0.5}, old[3] = {1, 2, 3};
    cl_mem xb = upload(dt, NULL, 0, 4), yb = upload(dt, NULL, 0, 4), wb = upload(dt, w, 0, 3);
    cl_mem dwb = upload(dt, NULL, 0, 3), acc = upload(dt, old, 0, 3);
    cl_event e = NULL;
    ck_assert_int_eq(clact_glu(ctx, dt, 2, glu_shape, 1, xb, 0, yb, 0, 0, NULL, &e), CLACT_OK);
    ck_assert(event_done(e));
    clReleaseEvent(e);
    ck_assert_int_eq(clact_glu_backward(ctx, dt, 2, glu_shape, 1, xb, 0, yb, 0, xb, 0, 0, NULL, &e),
                     CLACT_OK);
    ck_assert(event_done(e));
    clReleaseEvent(e);
    ck_assert_int_eq(clact_prelu(ctx, dt, 3, pr_shape, 3, wb, 0, xb, 0, yb, 0, 0, NULL, &e),
                     CLACT_OK);
    ck_assert(event_done(e));
    clReleaseEvent(e);
    ck_assert(untouched(dt, yb, 0, 4));
    ck_assert_int_eq(clact_prelu_backward(ctx, dt, 3, pr_shape, 3, wb, 0, xb, 0, yb, 0, xb, 0, dwb,
                                          0, 0, 0, NULL, &e),
                     CLACT_OK);
    ck_assert(event_done(e));
    clReleaseEvent(e);
    ck_assert_int_eq(clact_prelu_backward(ctx, dt, 3, pr_shape, 3, wb, 0, xb, 0, yb, 0, NULL, 0,
                                          acc, 0, CLACT_PRELU_ACCUMULATE, 0, NULL, NULL),
                     CLACT_OK);
    double *dw = download(dt, dwb, 0, 3, "dw", "empty"), *dwa = download(dt, acc, 0, 3, "dw", "e");
    for (int i = 0; i < 3; ++i)
        ck_assert_msg(dw[i] == 0 && dwa[i] == old[i], "empty: dw[%d] = %g, accumulated %g", i,
                      dw[i], dwa[i]);
    free(dw);
    free(dwa);
    cl_mem all[] = {xb, yb, wb, dwb, acc};
    for (int i = 0; i < 5; ++i)
        clReleaseMemObject(all[i]);
}
END_TEST

/* One failing call: INVALID_ARGUMENT, a detail naming the problem, no event, nothing written. */
#define EXPECT_INVALID(call, fragment)                                                             \
    do {                                                                                           \
        clact_status st_ = (call);                                                                 \
        const char *msg_ = clact_context_last_error(ctx);                                          \
        ck_assert_msg(st_ == CLACT_INVALID_ARGUMENT, "%s: %s (%s)", #call, clact_status_name(st_), \
                      msg_);                                                                       \
        ck_assert_msg(strstr(msg_, fragment), "%s: detail '%s' lacks '%s'", #call, msg_,           \
                      fragment);                                                                   \
        ck_assert_msg(untouched(dt, out, 0, 64) && untouched(dt, out2, 0, 64) &&                   \
                          untouched(dt, gw, 0, 64),                                                \
                      "%s wrote", #call);                                                          \
    } while (0)

START_TEST(argument_errors) {
    clact_context *ctx = tu_ctx();
    const clact_dtype dt = CLACT_F32;
    double ones[64];
    for (int i = 0; i < 64; ++i)
        ones[i] = -1;
    cl_mem in = upload(dt, ones, 0, 64), w = upload(dt, ones, 0, 64);
    cl_mem out = upload(dt, NULL, 0, 64), out2 = upload(dt, NULL, 0, 64);
    cl_mem gw = upload(dt, NULL, 0, 64); /* a dw that must stay as it is */
    cl_mem small = upload(dt, ones, 0, 3);
    size_t s23[2] = {2, 3}, s34[2] = {3, 4}, s44[2] = {4, 4}, big[17], s_4[1] = {4};
    for (int i = 0; i < 17; ++i)
        big[i] = 1;
    /* GLU */
    EXPECT_INVALID(clact_glu(ctx, dt, 2, s23, 1, in, 0, out, 0, 0, NULL, NULL),
                   "dimension 1 is size 3");
    EXPECT_INVALID(clact_glu(ctx, dt, 2, s34, 0, in, 0, out, 0, 0, NULL, NULL),
                   "dimension 0 is size 3");
    EXPECT_INVALID(clact_glu(ctx, dt, 2, s34, -2, in, 0, out, 0, 0, NULL, NULL), "must be even");
    EXPECT_INVALID(clact_glu_backward(ctx, dt, 2, s23, -1, in, 0, in, 0, out, 0, 0, NULL, NULL),
                   "must be even");
    EXPECT_INVALID(clact_glu(ctx, dt, 0, s44, 0, in, 0, out, 0, 0, NULL, NULL), "0-dimensional");
    EXPECT_INVALID(clact_glu(ctx, dt, 17, big, 0, in, 0, out, 0, 0, NULL, NULL), "ndim 17");
    EXPECT_INVALID(clact_glu(ctx, dt, 2, s44, 2, in, 0, out, 0, 0, NULL, NULL), "dim 2");
    EXPECT_INVALID(clact_glu(ctx, dt, 2, s44, -3, in, 0, out, 0, 0, NULL, NULL), "dim -3");
    EXPECT_INVALID(clact_glu(ctx, dt, 2, NULL, 0, in, 0, out, 0, 0, NULL, NULL), "shape is NULL");
    EXPECT_INVALID(clact_glu(ctx, dt, 2, s44, 1, NULL, 0, out, 0, 0, NULL, NULL), "x");
    EXPECT_INVALID(clact_glu(ctx, dt, 2, s44, 1, in, 0, NULL, 0, 0, NULL, NULL), "y");
    EXPECT_INVALID(clact_glu(ctx, dt, 2, s44, 1, small, 0, out, 0, 0, NULL, NULL), "do not fit");
    EXPECT_INVALID(clact_glu(ctx, dt, 2, s44, 1, in, 0, out, 62, 0, NULL, NULL), "do not fit");
    EXPECT_INVALID(clact_glu(ctx, dt, 2, s44, 1, out, 0, out, 4, 0, NULL, NULL), "overlap");
    EXPECT_INVALID(clact_glu(ctx, dt, 2, s44, 1, out, 0, out, 0, 0, NULL, NULL), "overlap");
    EXPECT_INVALID(clact_glu_backward(ctx, dt, 2, s44, 1, in, 0, out, 0, out, 4, 0, NULL, NULL),
                   "overlap");
    EXPECT_INVALID(clact_glu_backward(ctx, dt, 2, s44, 1, out, 0, in, 0, out, 2, 0, NULL, NULL),
                   "in-place needs the same offset");
    EXPECT_INVALID(clact_glu_backward(ctx, dt, 2, s44, 1, in, 0, NULL, 0, out, 0, 0, NULL, NULL),
                   "dy");
    EXPECT_INVALID(clact_glu_backward(ctx, dt, 2, s44, 1, in, 0, small, 2, out, 0, 0, NULL, NULL),
                   "do not fit");
    EXPECT_INVALID(clact_glu(ctx, (clact_dtype)9, 2, s44, 1, in, 0, out, 0, 0, NULL, NULL),
                   "unknown dtype");
    EXPECT_INVALID(clact_glu(ctx, dt, 2, s44, 1, in, 0, out, 0, 1, NULL, NULL), "wait_list");
    /* A failed call leaves no event behind. */
    cl_event ev = (cl_event)&ev;
    EXPECT_INVALID(clact_glu(ctx, dt, 2, s23, 1, in, 0, out, 0, 0, NULL, &ev), "must be even");
    ck_assert_ptr_null(ev);
    ev = (cl_event)&ev;
    EXPECT_INVALID(clact_prelu_backward(ctx, dt, 2, s44, 4, w, 0, in, 0, in, 0, out, 0, gw, 0, 2, 0,
                                        NULL, &ev),
                   "unknown flags");
    ck_assert_ptr_null(ev);
    /* PReLU */
    size_t s31[2] = {3, 1}, s3[1] = {3}, s20[2] = {2, 0};
    EXPECT_INVALID(clact_prelu(ctx, dt, 2, s31, 3, w, 0, in, 0, out, 0, 0, NULL, NULL),
                   "num_parameters = 3 and channel size = 1");
    EXPECT_INVALID(clact_prelu(ctx, dt, 1, s3, 3, w, 0, in, 0, out, 0, 0, NULL, NULL),
                   "num_parameters = 3 and channel size = 1");
    EXPECT_INVALID(clact_prelu(ctx, dt, 0, NULL, 2, w, 0, in, 0, out, 0, 0, NULL, NULL),
                   "0-dimensional");
    EXPECT_INVALID(clact_prelu(ctx, dt, 2, s34, 0, w, 0, in, 0, out, 0, 0, NULL, NULL),
                   "num_parameters = 0");
    EXPECT_INVALID(clact_prelu(ctx, dt, 2, s20, 3, w, 0, in, 0, out, 0, 0, NULL, NULL),
                   "channel size = 0");
    EXPECT_INVALID(clact_prelu(ctx, dt, -1, s34, 1, w, 0, in, 0, out, 0, 0, NULL, NULL), "ndim -1");
    EXPECT_INVALID(clact_prelu(ctx, dt, 17, big, 1, w, 0, in, 0, out, 0, 0, NULL, NULL), "ndim 17");
    EXPECT_INVALID(clact_prelu(ctx, dt, 2, NULL, 1, w, 0, in, 0, out, 0, 0, NULL, NULL),
                   "shape is NULL");
    EXPECT_INVALID(clact_prelu(ctx, dt, 2, s34, 4, NULL, 0, in, 0, out, 0, 0, NULL, NULL),
                   "weight is NULL");
    EXPECT_INVALID(clact_prelu(ctx, dt, 2, s34, 4, w, 0, NULL, 0, out, 0, 0, NULL, NULL), "x");
    EXPECT_INVALID(clact_prelu(ctx, dt, 2, s34, 4, w, 0, in, 0, NULL, 0, 0, NULL, NULL), "y");
    EXPECT_INVALID(clact_prelu(ctx, dt, 2, s34, 4, w, 66, in, 0, out, 0, 0, NULL, NULL),
                   "weight: 4 elements at offset 66");
    EXPECT_INVALID(clact_prelu(ctx, dt, 2, s44, 4, w, 0, small, 0, out, 0, 0, NULL, NULL),
                   "do not fit");
    EXPECT_INVALID(clact_prelu(ctx, dt, 2, s44, 4, w, 0, in, 0, out, 60, 0, NULL, NULL),
                   "do not fit");
    EXPECT_INVALID(clact_prelu(ctx, dt, 2, s44, 4, w, 0, out, 0, out, 3, 0, NULL, NULL), "overlap");
    EXPECT_INVALID(clact_prelu(ctx, dt, 2, s44, 4, out, 0, in, 0, out, 2, 0, NULL, NULL),
                   "overlap");
    EXPECT_INVALID(clact_prelu_backward(ctx, dt, 2, s44, 4, w, 0, in, 0, in, 0, NULL, 0, NULL, 0, 0,
                                        0, NULL, NULL),
                   "dx and dw are both NULL");
    EXPECT_INVALID(clact_prelu_backward(ctx, dt, 2, s44, 4, w, 0, in, 0, in, 0, out, 0, gw, 0, 2, 0,
                                        NULL, NULL),
                   "unknown flags");
    EXPECT_INVALID(clact_prelu_backward(ctx, dt, 2, s31, 3, w, 0, in, 0, in, 0, out, 0, gw, 0, 0, 0,
                                        NULL, NULL),
                   "mismatch");
    EXPECT_INVALID(clact_prelu_backward(ctx, dt, 2, s44, 4, w, 0, in, 0, in, 0, out, 0, gw, 66, 0,
                                        0, NULL, NULL),
                   "dw (weight gradient): 4 elements at offset 66");
    EXPECT_INVALID(clact_prelu_backward(ctx, dt, 2, s44, 4, w, 0, in, 0, small, 0, out, 0, gw, 0, 0,
                                        0, NULL, NULL),
                   "dy (output gradient)");
    EXPECT_INVALID(clact_prelu_backward(ctx, dt, 2, s44, 4, w, 0, in, 0, in, 0, out, 0, out, 12, 0,
                                        0, NULL, NULL),
                   "overlap"); /* dw inside dx's range */
    EXPECT_INVALID(clact_prelu_backward(ctx, dt, 2, s44, 4, w, 0, in, 0, in, 16, out, 0, in, 2, 0,
                                        0, NULL, NULL),
                   "overlap"); /* dw over the input x */
    EXPECT_INVALID(clact_prelu_backward(ctx, dt, 2, s44, 4, out2, 0, in, 0, in, 16, out2, 0, gw, 0,
                                        0, 0, NULL, NULL),
                   "overlap"); /* dx over the weight */
    EXPECT_INVALID(clact_prelu_backward(ctx, dt, 2, s44, 4, w, 0, in, 0, out2, 0, out2, 3, gw, 0, 0,
                                        0, NULL, NULL),
                   "in-place needs the same offset"); /* dx partly over dy */
    EXPECT_INVALID(clact_prelu_backward(ctx, dt, 2, s44, 4, w, 0, out2, 0, in, 0, out2, 5, NULL, 0,
                                        0, 0, NULL, NULL),
                   "in-place needs the same offset"); /* dx partly over x */
    EXPECT_INVALID(clact_prelu_backward(ctx, dt, 1, s_4, 1, NULL, 0, in, 0, in, 0, out, 0, NULL, 0,
                                        0, 0, NULL, NULL),
                   "weight is NULL");
    EXPECT_INVALID(clact_prelu_backward(ctx, (clact_dtype)7, 1, s_4, 1, w, 0, in, 0, in, 0, out, 0,
                                        NULL, 0, 0, 0, NULL, NULL),
                   "unknown dtype");
    cl_mem all[] = {in, w, out, out2, gw, small};
    for (int i = 0; i < 6; ++i)
        clReleaseMemObject(all[i]);
}
END_TEST

/* On an out-of-order queue, behind a user event: prelu's two-stage backward, then glu and a
 * second prelu backward (sharing the scratch buffer), chained by events. Every call returns
 * before the gate opens (nothing blocks), nothing runs before it, and the results are right. */
START_TEST(gated_out_of_order) {
    cl_context cl = clact_context_cl_context(tu_ctx());
    cl_device_id dev = clact_context_device(tu_ctx());
    cl_int err;
    cl_command_queue q =
        clCreateCommandQueue(cl, dev, CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE, &err);
    ck_assert_ptr_nonnull(q);
    clact_context *ctx = NULL;
    ck_assert_int_eq(clact_context_create_from_queue(&ctx, q), CLACT_OK);
    const clact_dtype dt = CLACT_F32;
    enum { N = 64, C = 3, I = 40 };
    size_t shape[3] = {N, C, I}, n = (size_t)N * C * I;
    double *x = alloc(n), *dy = alloc(n), w[C] = {0.25, -0.5, 2};
    for (size_t i = 0; i < n; ++i) {
        x[i] = tu_round_dt(dt, sin((double)i * 0.37) * 3);
        dy[i] = tu_round_dt(dt, cos((double)i * 0.11));
    }
    cl_mem wb = upload(dt, w, 0, C), xb = upload(dt, x, 0, n), gb = upload(dt, dy, 0, n);
    cl_mem dxb = upload(dt, NULL, 0, n), dwb = upload(dt, NULL, 0, C), dw2 = upload(dt, NULL, 0, C);
    cl_mem yb = upload(dt, NULL, 0, n / 2);
    cl_event gate = clCreateUserEvent(cl, &err), e[3] = {NULL, NULL, NULL};
    ck_assert_int_eq(clact_prelu_backward(ctx, dt, 3, shape, C, wb, 0, xb, 0, gb, 0, dxb, 0, dwb, 0,
                                          0, 1, &gate, &e[0]),
                     CLACT_OK);
    ck_assert_int_eq(clact_glu(ctx, dt, 3, shape, 2, dxb, 0, yb, 0, 1, &e[0], &e[1]), CLACT_OK);
    ck_assert_int_eq(clact_prelu_backward(ctx, dt, 3, shape, C, wb, 0, xb, 0, gb, 0, NULL, 0, dw2,
                                          0, 0, 1, &gate, &e[2]),
                     CLACT_OK);
    for (int i = 0; i < 3; ++i) {
        cl_int s;
        clGetEventInfo(e[i], CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof s, &s, NULL);
        ck_assert_msg(s > CL_COMPLETE, "op %d ran before its gate", i);
    }
    ck_assert_int_eq(clSetUserEventStatus(gate, CL_COMPLETE), CL_SUCCESS);
    ck_assert_int_eq(clWaitForEvents(3, e), CL_SUCCESS);
    double *dxr = alloc(n), dwr[C], *yr = alloc(n / 2);
    ck_assert_int_eq(clact_reference_prelu_backward(dt, 3, shape, C, w, x, dy, dxr, dwr), CLACT_OK);
    ck_assert_int_eq(clact_reference_glu(dt, 3, shape, 2, dxr, yr), CLACT_OK);
    double *dx = download(dt, dxb, 0, n, "dx", "gated"), *y = download(dt, yb, 0, n / 2, "y", "g");
    double *dw = download(dt, dwb, 0, C, "dw", "gated"), *dwb2 = download(dt, dw2, 0, C, "dw", "g");
    check_all(dt, dx, dxr, n, 0, W_PRELU, "gated", "dx");
    check_all(dt, y, yr, n / 2, 16, W_GLU, "gated", "y");
    prelu_case pc = {3, {N, C, I}, 1};
    double want[C], bd[C];
    dw_bounds(dt, &pc, x, dy, dwr, NULL, want, bd);
    check_dw(dt, dw, want, bd, C, 1, "gated");
    check_dw(dt, dwb2, want, bd, C, 1, "gated, second");
    double *frees[] = {x, dy, dxr, yr, dx, y, dw, dwb2};
    for (int i = 0; i < 8; ++i)
        free(frees[i]);
    for (int i = 0; i < 3; ++i)
        clReleaseEvent(e[i]);
    clReleaseEvent(gate);
    cl_mem all[] = {wb, xb, gb, dxb, dwb, dw2, yb};
    for (int i = 0; i < 7; ++i)
        clReleaseMemObject(all[i]);
    clact_context_destroy(ctx);
    clReleaseCommandQueue(q);
}
END_TEST

/* The references on values worked out by hand. */
START_TEST(references_by_hand) {
    size_t s2[1] = {2}, s4[1] = {4};
    double y[2], dx[4];
    /* glu([2, ln 3]) = 2 sigmoid(ln 3) = 2 * 3/4; gradient for dy = 1: [3/4, 2 * 3/4 * 1/4] */
    const double x1[2] = {2, log(3.0)}, one = 1;
    ck_assert_int_eq(clact_reference_glu(CLACT_F64, 1, s2, 0, x1, y), CLACT_OK);
    ck_assert_double_eq_tol(y[0], 1.5, 1e-15);
    ck_assert_int_eq(clact_reference_glu_backward(CLACT_F64, 1, s2, -1, x1, &one, dx), CLACT_OK);
    ck_assert_double_eq_tol(dx[0], 0.75, 1e-15);
    ck_assert_double_eq_tol(dx[1], 0.375, 1e-15);
    /* 1e30 sigmoid(-100) = 1e30 e^-100 / (1 + e^-100) = 3.7200759760208356e-14; with a = inf:
     * sigmoid(-200) is 0 in float (NaN), 1.38e-87 in double (inf) */
    const double x2[4] = {1e30, INFINITY, -100, -200};
    ck_assert_int_eq(clact_reference_glu(CLACT_F32, 1, s4, 0, x2, y), CLACT_OK);
    ck_assert_double_eq_tol(y[0], 3.7200759760208356e-14, 1e-28);
    ck_assert(isnan(y[1]));
    ck_assert_int_eq(clact_reference_glu(CLACT_F64, 1, s4, 0, x2, y), CLACT_OK);
    ck_assert(isinf(y[1]) && y[1] > 0);
    /* d/db at b = 30: sigmoid(30) sigmoid(-30) = 9.357622968838423e-14, not 0 */
    const double x3[2] = {1, 30};
    ck_assert_int_eq(clact_reference_glu_backward(CLACT_F32, 1, s2, 0, x3, &one, dx), CLACT_OK);
    ck_assert_double_eq_tol(dx[1], 9.357622968838423e-14, 1e-27);
    ck_assert_int_eq(clact_reference_glu(CLACT_F32, 1, s4, 0, x2, NULL), CLACT_INVALID_ARGUMENT);
    size_t s3[1] = {3};
    ck_assert_int_eq(clact_reference_glu(CLACT_F32, 1, s3, 0, x2, y), CLACT_INVALID_ARGUMENT);
    /* prelu, (2, 2, 1), weights 0.1 and 0.2: x [[-1, 2], [-3, -4]] gives
     * [[-0.1, 2], [-0.3, -0.8]]; dy = 1: dx [[0.1, 1], [0.1, 0.2]], dw [-1 - 3, -4] */
    size_t s221[3] = {2, 2, 1};
    const double w[2] = {0.1, 0.2}, x4[4] = {-1, 2, -3, -4}, g4[4] = {1, 1, 1, 1};
    double y4[4], dw[2];
    ck_assert_int_eq(clact_reference_prelu(CLACT_F64, 3, s221, 2, w, x4, y4), CLACT_OK);
    const double y4w[4] = {-0.1, 2, -0.30000000000000004, -0.8};
    for (int i = 0; i < 4; ++i)
        ck_assert_double_eq(y4[i], y4w[i]);
    ck_assert_int_eq(clact_reference_prelu_backward(CLACT_F64, 3, s221, 2, w, x4, g4, dx, dw),
                     CLACT_OK);
    const double dxw[4] = {0.1, 1, 0.1, 0.2};
    for (int i = 0; i < 4; ++i)
        ck_assert_double_eq(dx[i], dxw[i]);
    ck_assert_double_eq(dw[0], -4);
    ck_assert_double_eq(dw[1], -4);
    /* one weight over a 0-d input: prelu(-2) with 0.25 is -0.5; dw = x dy = -2 * 3 */
    const double m2 = -2, three = 3, q = 0.25;
    ck_assert_int_eq(clact_reference_prelu(CLACT_F32, 0, NULL, 1, &q, &m2, y), CLACT_OK);
    ck_assert_double_eq(y[0], -0.5);
    ck_assert_int_eq(
        clact_reference_prelu_backward(CLACT_F32, 0, NULL, 1, &q, &m2, &three, NULL, dw), CLACT_OK);
    ck_assert_double_eq(dw[0], -6);
    ck_assert_int_eq(clact_reference_prelu(CLACT_F32, 1, s4, 3, w, x4, y4), CLACT_INVALID_ARGUMENT);
    ck_assert_int_eq(clact_reference_prelu_backward(CLACT_F32, 1, s4, 1, w, x4, g4, NULL, NULL),
                     CLACT_INVALID_ARGUMENT);
}
END_TEST

/* The worst errors of this run, per dtype (runs last in the case). */
START_TEST(report) {
    for (int k = 0; k < W_COUNT; ++k) {
        printf("glu_prelu: %-13s worst error:", worst_name[k]);
        for (int i = 0; i < NDT; ++i)
            printf(" %s %.3g ulp%s", clact_dtype_name(dtypes[i]), worst[k][dtypes[i]],
                   i + 1 < NDT ? "," : "\n");
    }
    fflush(stdout);
}
END_TEST

Suite *glu_prelu_suite(void);
Suite *glu_prelu_suite(void) {
    Suite *s = suite_create("glu_prelu");
    TCase *tc = tcase_create("glu_prelu");
    tcase_set_timeout(tc, 900);
    tcase_add_loop_test(tc, glu_random, 0, N_GLU * NDT);
    tcase_add_loop_test(tc, glu_special, 0, NDT);
    tcase_add_loop_test(tc, glu_measured, 0, NDT);
    tcase_add_loop_test(tc, prelu_random, 0, N_PRELU * NDT);
    tcase_add_loop_test(tc, prelu_special, 0, NDT);
    tcase_add_loop_test(tc, prelu_dw_exact, 0, NDT);
    tcase_add_test(tc, empty_tensors);
    tcase_add_test(tc, argument_errors);
    tcase_add_test(tc, gated_out_of_order);
    tcase_add_test(tc, references_by_hand);
    tcase_add_test(tc, report);
    suite_add_tcase(s, tc);
    return s;
}
