/* SPDX-License-Identifier: MIT */
/* Softmax, LogSoftmax, Softmin on the device against the double-precision reference: any axis
 * of 1-D to 8-D shapes, rows of 1 to 1e6, the three kernel shapes for rows (forced through
 * CLACT_SOFTMAX_PATH), benchdnn's logits near exp overflow (±88..90, rows of alternating sign),
 * ±1e4, masked rows with and without the safe flag, +inf and NaN rows, offsets, in-place,
 * canaries, poisoned outputs; then the backward pass; then bad arguments. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define CANARY 0xC49A522Bu
#define POISON 0xFFBADBADu
#define GUARD  9

/* Tolerances, benchdnn's form (relative where |ref| > 1e-5, absolute below) with our numbers:
 * softmax: exp(x - m) carries the rounding of x - m, |x - m| * 2^-24, and |x - m| < 23 wherever
 * the output exceeds 1e-5 (rows up to 1e6), plus exp, the reciprocal and the compensated sum:
 * 4e-6 relative. Below 1e-5, down to subnormals, the same with the rounding of x - m at its
 * size: the sum is at least 1, so |x - m| <= -ln(ref), and 2^-24 of that is added to the
 * relative bound; plus 2^-148 absolute for rounding to subnormals (twice at most). So an
 * output of 1e-30 must be right to 8e-6, not merely below 1e-10 (benchdnn's absolute floor).
 * log_softmax: (x - m) - log(sum) adds two terms of one sign, so no cancellation: 2e-6
 * relative, and 1e-6 absolute for outputs near 0 (-log(sum) with sum ~ 1). */
static int close_sm(clact_softmax_kind kind, float got, double ref) {
    if (isnan(ref))
        return isnan(got);
    if (isnan(got))
        return 0;
    if (isinf(ref) || isinf(got))
        return got == ref;
    double err = fabs(got - ref);
    if (kind == CLACT_LOG_SOFTMAX)
        return fabs(ref) > 1e-5 ? err <= 2e-6 * fabs(ref) : err <= 1e-6;
    if (fabs(ref) > 1e-5)
        return err <= 4e-6 * fabs(ref);
    double xm = ref > 0 ? -log(ref) : 0; /* a bound on |x - m| */
    return err <= (4e-6 + xm * 0x1p-24) * fabs(ref) + 0x1p-148;
}

typedef enum fill { FILL_UNIFORM, FILL_BENCHDNN, FILL_HUGE, FILL_SPECIAL, FILL_RAMP } fill;

static void fill_rows(tu_rng *r, fill f, float *x, size_t outer, size_t C, size_t inner) {
    for (size_t o = 0; o < outer; ++o) {
        for (size_t i = 0; i < inner; ++i) {
            float sign = ((o + i) & 1) ? -1.0f : 1.0f;
            size_t kind = (f == FILL_SPECIAL) ? (o * inner + i) % 9 : 99;
            for (size_t c = 0; c < C; ++c) {
                float *v = &x[(o * C + c) * inner + i];
                double u = tu_uniform(r, 0, 1);
                switch (f) {
                case FILL_UNIFORM: *v = (float)tu_uniform(r, -10, 10); break;
                case FILL_BENCHDNN:
                    /* Top-1/2/3 logits at 90/89/88 with probabilities 3/C, 7/C, 4/C*7: the
                     * naive exp overflows; rows alternate sign to catch |x| used for the max. */
                    *v = sign * (float)(u < 3.0 / C    ? 90
                                        : u < 10.0 / C ? 89
                                        : u < 38.0 / C ? 88
                                                       : tu_uniform(r, -88, 88));
                    break;
                case FILL_HUGE:
                    *v = (float)tu_uniform(r, 88, 1000) * sign + (u < 0.5 ? 1e4f : -1e4f);
                    break;
                case FILL_RAMP:
                    /* Rows whose running max moves a lot (the row sweep's epochs, kernels/
                     * softmax.cl): rising slowly (a new max in every block, more blocks than
                     * epochs kept), falling, rising in jumps of 50 (earlier exps underflow),
                     * a sawtooth, and rising after 700 masked (-inf) elements. */
                    switch ((o * inner + i) % 5) {
                    case 0: *v = (float)(c * 0.01 + u * 1e-3); break;
                    case 1: *v = (float)(-(double)c * 0.01 + u * 1e-3); break;
                    case 2: *v = (float)((double)(c / 300) * 50 + u); break;
                    case 3: *v = (float)((double)(c % 700) * 0.05 + u); break;
                    default: *v = c < 700 ? -INFINITY : (float)(c * 0.01 + u * 1e-3); break;
                    }
                    break;
                case FILL_SPECIAL:
                    switch (kind) {
                    case 0: *v = -INFINITY; break;                        /* masked */
                    case 1: *v = c == C / 2 ? INFINITY : (float)u; break; /* +inf: NaN row */
                    case 2: *v = c == 0 ? NAN : (float)u; break;          /* NaN row */
                    case 3: *v = c % 2 ? -INFINITY : (float)u * 5; break; /* partly masked */
                    case 4: *v = (float)tu_uniform(r, -1e4, 1e4); break;
                    case 5: *v = c == C - 1 ? 0.0f : -INFINITY; break; /* one survivor */
                    case 6: *v = (float)(u * 1e-30); break;            /* near-constant */
                    case 7: *v = c == C / 2 ? NAN : -INFINITY; break;  /* NaN among -inf */
                    default: *v = (float)tu_uniform(r, -100, 100); break;
                    }
                    break;
                }
            }
        }
    }
}

/* shape seen as (outer, C, inner) around dimension dim (negative: from the end). */
static void split_shape(int ndim, const size_t *shape, int dim, size_t *outer, size_t *C,
                        size_t *inner) {
    int d = dim < 0 ? dim + ndim : dim;
    *outer = *inner = 1;
    *C = shape[d];
    for (int i = 0; i < ndim; ++i)
        if (i < d)
            *outer *= shape[i];
        else if (i > d)
            *inner *= shape[i];
}

static double worst_rel[3];

static void run_fwd(clact_softmax_kind kind, unsigned flags, int ndim, const size_t *shape, int dim,
                    fill f, size_t xoff, size_t yoff, int inplace) {
    char label[256];
    int n = snprintf(label, sizeof label, "%s%s fill %d dim %d shape (",
                     clact_softmax_kind_name(kind), flags ? " safe" : "", (int)f, dim);
    size_t total = 1;
    for (int i = 0; i < ndim; ++i) {
        n += snprintf(label + n, sizeof label - (size_t)n, "%zu%s", shape[i],
                      i + 1 < ndim ? "," : ")");
        total *= shape[i];
    }
    snprintf(label + n, sizeof label - (size_t)n, " off %zu/%zu%s", xoff, yoff,
             inplace ? " in-place" : "");
    size_t outer, C, inner;
    split_shape(ndim, shape, dim, &outer, &C, &inner);

    tu_rng r = tu_rng_for(label, 0);
    float *x = malloc((total + 1) * sizeof *x);
    double *xd = malloc((total + 1) * sizeof *xd), *ref = malloc((total + 1) * sizeof *ref);
    ck_assert(x && xd && ref);
    fill_rows(&r, f, x, outer, C, inner);
    for (size_t i = 0; i < total; ++i)
        xd[i] = x[i];
    ck_assert_int_eq(clact_reference_softmax(kind, flags, ndim, shape, dim, xd, ref), CLACT_OK);

    size_t xlen = xoff + total + GUARD, ylen = yoff + total + GUARD;
    cl_mem xb = tu_buffer(xlen, CL_MEM_READ_WRITE);
    cl_mem yb = inplace ? xb : tu_buffer(ylen, CL_MEM_READ_WRITE);
    tu_fill_bits(xb, 0, xlen, CANARY);
    if (!inplace) {
        tu_fill_bits(yb, 0, ylen, CANARY);
        tu_fill_bits(yb, yoff, total, POISON);
    }
    tu_write(xb, xoff, total, x);
    cl_event ev = NULL;
    clact_status st = clact_softmax(tu_ctx(), kind, flags, CLACT_F32, ndim, shape, dim, xb, xoff,
                                    yb, yoff, 0, NULL, &ev);
    ck_assert_msg(st == CLACT_OK, "%s: %s: %s", label, clact_status_name(st),
                  clact_context_last_error(tu_ctx()));
    ck_assert_ptr_nonnull(ev);
    ck_assert_int_eq(clWaitForEvents(1, &ev), CL_SUCCESS);
    clReleaseEvent(ev);
    float *y = malloc(ylen * sizeof *y);
    ck_assert_ptr_nonnull(y);
    tu_read(yb, 0, ylen, y);
    for (size_t i = 0; i < ylen; ++i)
        if ((i < yoff || i >= yoff + total) && tu_bits(y[i]) != CANARY)
            ck_abort_msg("%s: element %zu outside the output was written", label, i);
    for (size_t i = 0; i < total; ++i) {
        float g = y[yoff + i];
        if (tu_bits(g) == POISON)
            ck_abort_msg("%s: element %zu not written", label, i);
        if (!close_sm(kind, g, ref[i]))
            ck_abort_msg("%s: element %zu (x = %.9g): got %.9g, reference %.17g", label, i,
                         (double)x[i], (double)g, ref[i]);
        if (isfinite(ref[i]) && fabs(ref[i]) > 1e-5) {
            double rel = fabs(g - ref[i]) / fabs(ref[i]);
            if (rel > worst_rel[kind])
                worst_rel[kind] = rel;
        }
    }
    /* Softmax rows sum to 1 (where the row is a number). */
    if (kind != CLACT_LOG_SOFTMAX) {
        for (size_t o = 0; o < outer; ++o)
            for (size_t i = 0; i < inner; ++i) {
                double sum = 0;
                int finite = 1;
                for (size_t c = 0; c < C; ++c) {
                    double v = y[yoff + (o * C + c) * inner + i];
                    finite &= isfinite(v);
                    sum += v;
                }
                double rsum = 0;
                for (size_t c = 0; c < C; ++c)
                    rsum += ref[(o * C + c) * inner + i];
                if (finite && C > 0 && fabs(sum - rsum) > 1e-5)
                    ck_abort_msg("%s: row (%zu, %zu) sums to %.9g, not %.9g", label, o, i, sum,
                                 rsum);
            }
    }
    if (!inplace)
        clReleaseMemObject(yb);
    clReleaseMemObject(xb);
    free(y);
    free(x);
    free(xd);
    free(ref);
}

static const clact_softmax_kind kinds[3] = {CLACT_SOFTMAX, CLACT_LOG_SOFTMAX, CLACT_SOFTMIN};

/* The rows path twice: one row per work-item, then 4 (9 rows: items of 4, 4 and 1), where each
 * row's sweep also takes the next row's first block max (the rows differ in kind under
 * FILL_SPECIAL: masked, NaN, +inf rows next to numbers). At CLACT_TEST_QUICK=2 (oclgrind) the
 * longest rows (32768) are left out and those of 4096 and 5000 come 3 at a time (one item of 3
 * with 4 per item). */
START_TEST(softmax_rows_all_paths) {
    static const char *const paths[] = {"rows", "rows", "group", "split", NULL};
    static const size_t lens[] = {1, 3, 16, 17, 1000, 4096, 5000, 32768};
    const size_t nlens = sizeof lens / sizeof lens[0] - (tu_quick() >= 2 ? 1 : 0);
    for (int p = 0; paths[p] || p == 4; ++p) {
        if (paths[p])
            tu_setenv("CLACT_SOFTMAX_PATH", paths[p]);
        else
            tu_setenv("CLACT_SOFTMAX_PATH", NULL);
        tu_setenv("CLACT_SOFTMAX_ROWS_PER_ITEM", p == 1 ? "4" : "1");
        for (size_t l = 0; l < nlens; ++l) {
            size_t shape[2] = {lens[l] > (tu_quick() >= 2 ? 1000 : 5000) ? 3 : 9, lens[l]};
            for (int f = 0; f < 4; ++f)
                run_fwd(kinds[_i], 0, 2, shape, 1, (fill)f, 0, 0, 0);
            run_fwd(kinds[_i], CLACT_SOFTMAX_SAFE, 2, shape, -1, FILL_SPECIAL, 5, 3, 0);
            run_fwd(kinds[_i], 0, 2, shape, 1, FILL_BENCHDNN, 7, 7, 1);
        }
        if (!paths[p])
            break;
    }
    tu_setenv("CLACT_SOFTMAX_PATH", NULL);
    tu_setenv("CLACT_SOFTMAX_ROWS_PER_ITEM", NULL);
    /* Enough rows that the library's own choice puts several on a work-item (on up to 2
     * compute units). */
    static const size_t many[2] = {1100, 24};
    run_fwd(kinds[_i], 0, 2, many, 1, FILL_SPECIAL, 0, 0, 0);
    run_fwd(kinds[_i], CLACT_SOFTMAX_SAFE, 2, many, 1, FILL_SPECIAL, 1, 1, 1);
}
END_TEST

/* The row sweep's blocks (32 vectors, 256 or 512 floats at CLACT_VW 8 or 16) and epochs (16
 * kept): lengths either side of block multiples, rows with more new maxima than epochs, on
 * every path that sweeps rows (rows with 1 and 2 rows per work-item, and split's chunks), in
 * place and not. At CLACT_TEST_QUICK=2 (oclgrind: CLACT_VW 4, blocks of 128, 16 epochs 2048
 * elements) the rows end at 8193. */
START_TEST(softmax_epochs) {
    static const char *const paths[] = {"rows", "rows", "split"};
    static const size_t lens[] = {255, 256, 257, 511, 513, 8193, 20000, 40000};
    const size_t nlens = sizeof lens / sizeof lens[0] - (tu_quick() >= 2 ? 2 : 0);
    for (int p = 0; p < 3; ++p) {
        tu_setenv("CLACT_SOFTMAX_PATH", paths[p]);
        tu_setenv("CLACT_SOFTMAX_ROWS_PER_ITEM", p == 1 ? "2" : "1");
        for (size_t l = 0; l < nlens; ++l) {
            size_t shape[2] = {5, lens[l]};
            run_fwd(kinds[_i], 0, 2, shape, 1, FILL_RAMP, 0, 0, 0);
            run_fwd(kinds[_i], 0, 2, shape, 1, FILL_RAMP, 3, 5, 0);
            run_fwd(kinds[_i], 0, 2, shape, 1, FILL_RAMP, 5, 5, 1);
        }
        const size_t one[2] = {1, tu_quick() >= 2 ? 8193 : 40000};
        run_fwd(kinds[_i], 0, 2, one, 1, FILL_RAMP, 0, 0, 1);
    }
    tu_setenv("CLACT_SOFTMAX_PATH", NULL);
    tu_setenv("CLACT_SOFTMAX_ROWS_PER_ITEM", NULL);
}
END_TEST

START_TEST(softmax_any_axis) {
    static const size_t s3[3] = {4, 5, 6}, s4[4] = {2, 3, 4, 5}, s8[8] = {2, 1, 3, 2, 1, 2, 3, 2};
    for (int d = -3; d < 3; ++d)
        for (int f = 0; f < 4; ++f)
            run_fwd(kinds[_i], f == FILL_SPECIAL ? CLACT_SOFTMAX_SAFE : 0, 3, s3, d, (fill)f, 0, 0,
                    0);
    for (int d = 0; d < 4; ++d) {
        run_fwd(kinds[_i], 0, 4, s4, d, FILL_BENCHDNN, 3, 11, 0);
        run_fwd(kinds[_i], 0, 4, s4, d, FILL_SPECIAL, 2, 2, 1);
    }
    for (int d = -8; d < 8; d += 3)
        run_fwd(kinds[_i], 0, 8, s8, d, FILL_UNIFORM, 1, 0, 0);
    static const size_t s1[1] = {7}, empty[2] = {0, 10}, one[2] = {6, 1}, wide[3] = {2, 3000, 3};
    run_fwd(kinds[_i], 0, 1, s1, 0, FILL_UNIFORM, 0, 0, 0);
    run_fwd(kinds[_i], 0, 2, empty, 1, FILL_UNIFORM, 0, 0, 0);
    run_fwd(kinds[_i], 0, 2, empty, 0, FILL_UNIFORM, 4, 4, 0);
    run_fwd(kinds[_i], 0, 2, one, 1, FILL_SPECIAL, 0, 0, 0);
    run_fwd(kinds[_i], 0, 3, wide, 1, FILL_HUGE, 0, 0, 0);
}
END_TEST

START_TEST(softmax_long_row) {
    /* Under CLACT_TEST_QUICK (valgrind) the rows are 131072 and 70000 long, at level 2
     * (oclgrind) 20000 and 9000: still split (C >= 8192, chunks of at least 4096). */
    const size_t L = tu_quick() >= 2 ? 20000 : tu_quick() ? 131072 : 1000000;
    const size_t shape[2] = {1, L};
    tu_setenv("CLACT_SOFTMAX_PATH", NULL);
    run_fwd(kinds[_i], 0, 2, shape, 1, FILL_UNIFORM, 0, 0, 0);
    run_fwd(kinds[_i], 0, 2, shape, -1, FILL_BENCHDNN, 1, 1, 1);
    const size_t two[2] = {2, tu_quick() >= 2 ? 9000 : tu_quick() ? 70000 : 600000};
    run_fwd(kinds[_i], 0, 2, two, 1, FILL_HUGE, 0, 3, 0);
    /* Two long-row calls back to back share the scratch buffer: both must be right. */
    cl_mem a = tu_buffer(L, CL_MEM_READ_WRITE), b = tu_buffer(L, CL_MEM_READ_WRITE);
    float *x = malloc(L * sizeof *x), *y = malloc(L * sizeof *y);
    double *xd = malloc(L * sizeof *xd), *ref = malloc(L * sizeof *ref);
    ck_assert(x && y && xd && ref);
    tu_rng r = tu_rng_for("two calls", 0);
    for (size_t i = 0; i < L; ++i)
        xd[i] = x[i] = (float)tu_uniform(&r, -5, 5);
    tu_write(a, 0, L, x);
    for (size_t i = 0; i < L; ++i)
        x[i] = -x[i];
    tu_write(b, 0, L, x);
    ck_assert_int_eq(clact_softmax(tu_ctx(), CLACT_SOFTMAX, 0, CLACT_F32, 2, shape, 1, a, 0, a, 0,
                                   0, NULL, NULL),
                     CLACT_OK);
    ck_assert_int_eq(clact_softmax(tu_ctx(), CLACT_SOFTMAX, 0, CLACT_F32, 2, shape, 1, b, 0, b, 0,
                                   0, NULL, NULL),
                     CLACT_OK);
    tu_read(a, 0, L, y);
    clact_reference_softmax(CLACT_SOFTMAX, 0, 2, shape, 1, xd, ref);
    for (size_t i = 0; i < L; ++i)
        if (!close_sm(CLACT_SOFTMAX, y[i], ref[i]))
            ck_abort_msg("first of two calls, element %zu: %g vs %g", i, (double)y[i], ref[i]);
    tu_read(b, 0, L, y);
    clact_reference_softmax(CLACT_SOFTMIN, 0, 2, shape, 1, xd, ref);
    for (size_t i = 0; i < L; ++i)
        if (!close_sm(CLACT_SOFTMAX, y[i], ref[i]))
            ck_abort_msg("second of two calls, element %zu: %g vs %g", i, (double)y[i], ref[i]);
    clReleaseMemObject(a);
    clReleaseMemObject(b);
    free(x);
    free(y);
    free(xd);
    free(ref);
}
END_TEST

/* Backward: y is a real softmax output, dy has the opposite sign to y (benchdnn's fill, so the
 * sum does not cancel). Error bound: 4e-6 of the terms' magnitude, |y| (|dy| + |S|) for softmax,
 * |dy| + exp(y) |S| for log_softmax. */
static void run_bwd(clact_softmax_kind kind, int ndim, const size_t *shape, int dim, int inplace) {
    size_t total = 1;
    for (int i = 0; i < ndim; ++i)
        total *= shape[i];
    tu_rng r =
        tu_rng_for("backward", (uint64_t)total * 7 + (uint64_t)(dim + 8) * 3 + (uint64_t)kind);
    double *xd = malloc(total * sizeof *xd), *yd = malloc(total * sizeof *yd),
           *gd = malloc(total * sizeof *gd), *ref = malloc(total * sizeof *ref);
    float *yf = malloc(total * sizeof *yf), *gf = malloc(total * sizeof *gf),
          *out = malloc(total * sizeof *out);
    ck_assert(xd && yd && gd && ref && yf && gf && out);
    for (size_t i = 0; i < total; ++i)
        xd[i] = tu_uniform(&r, -5, 5);
    clact_reference_softmax(kind, 0, ndim, shape, dim, xd, yd);
    for (size_t i = 0; i < total; ++i) {
        yf[i] = (float)yd[i];
        yd[i] = yf[i];
        double mag = tu_uniform(&r, 0.1, 2);
        gf[i] = (float)(kind == CLACT_LOG_SOFTMAX ? mag : (yd[i] > 0 ? -mag : mag));
        gd[i] = gf[i];
    }
    ck_assert_int_eq(clact_reference_softmax_backward(kind, ndim, shape, dim, yd, gd, ref),
                     CLACT_OK);
    cl_mem yb = tu_buffer(total, CL_MEM_READ_WRITE), gb = tu_buffer(total, CL_MEM_READ_WRITE);
    cl_mem db = inplace ? gb : tu_buffer(total, CL_MEM_READ_WRITE);
    tu_write(yb, 0, total, yf);
    tu_write(gb, 0, total, gf);
    if (!inplace)
        tu_fill_bits(db, 0, total, POISON);
    ck_assert_int_eq(clact_softmax_backward(tu_ctx(), kind, CLACT_F32, ndim, shape, dim, yb, 0, gb,
                                            0, db, 0, 0, NULL, NULL),
                     CLACT_OK);
    tu_read(db, 0, total, out);
    int d = dim < 0 ? dim + ndim : dim;
    size_t inner = 1, C = shape[d];
    for (int i = d + 1; i < ndim; ++i)
        inner *= shape[i];
    for (size_t j = 0; j < total; ++j) {
        /* S of j's row, recomputed for the bound. */
        size_t o = j / (C * inner), i = j % inner, base = o * C * inner + i;
        double S = 0;
        for (size_t c = 0; c < C; ++c)
            S += kind == CLACT_LOG_SOFTMAX ? gd[base + c * inner]
                                           : gd[base + c * inner] * yd[base + c * inner];
        double mag = kind == CLACT_LOG_SOFTMAX ? fabs(gd[j]) + exp(yd[j]) * fabs(S)
                                               : fabs(yd[j]) * (fabs(gd[j]) + fabs(S));
        if (!(fabs(out[j] - ref[j]) <= 4e-6 * mag + 1e-30))
            ck_abort_msg("%s backward dim %d element %zu: got %.9g, reference %.17g",
                         clact_softmax_kind_name(kind), dim, j, (double)out[j], ref[j]);
    }
    clReleaseMemObject(yb);
    clReleaseMemObject(gb);
    if (!inplace)
        clReleaseMemObject(db);
    free(xd);
    free(yd);
    free(gd);
    free(ref);
    free(yf);
    free(gf);
    free(out);
}

START_TEST(softmax_backward) {
    static const size_t s2[2] = {7, 1000}, s3[3] = {3, 50, 4};
    run_bwd(kinds[_i], 2, s2, 1, 0);
    run_bwd(kinds[_i], 2, s2, 0, 1);
    for (int d = -3; d < 3; ++d)
        run_bwd(kinds[_i], 3, s3, d, d & 1);
}
END_TEST

START_TEST(softmax_errors) {
    clact_context *c = tu_ctx();
    cl_mem b = tu_buffer(64, CL_MEM_READ_WRITE);
    tu_fill_bits(b, 0, 64, CANARY);
    size_t shape[3] = {4, 4, 4}, big[2] = {5, 13};
    struct {
        clact_status st;
        const char *word;
        clact_status got;
    } cases[] = {
        {CLACT_INVALID_ARGUMENT, "dim 3",
         clact_softmax(c, CLACT_SOFTMAX, 0, CLACT_F32, 3, shape, 3, b, 0, b, 0, 0, NULL, NULL)},
        {CLACT_INVALID_ARGUMENT, "dim -4",
         clact_softmax(c, CLACT_SOFTMAX, 0, CLACT_F32, 3, shape, -4, b, 0, b, 0, 0, NULL, NULL)},
        {CLACT_INVALID_ARGUMENT, "ndim 0",
         clact_softmax(c, CLACT_SOFTMAX, 0, CLACT_F32, 0, shape, 0, b, 0, b, 0, 0, NULL, NULL)},
        {CLACT_INVALID_ARGUMENT, "ndim 17",
         clact_softmax(c, CLACT_SOFTMAX, 0, CLACT_F32, 17, shape, 0, b, 0, b, 0, 0, NULL, NULL)},
        {CLACT_INVALID_ARGUMENT, "shape is NULL",
         clact_softmax(c, CLACT_SOFTMAX, 0, CLACT_F32, 3, NULL, 0, b, 0, b, 0, 0, NULL, NULL)},
        {CLACT_INVALID_ARGUMENT, "flags",
         clact_softmax(c, CLACT_SOFTMAX, 6, CLACT_F32, 3, shape, 0, b, 0, b, 0, 0, NULL, NULL)},
        {CLACT_INVALID_ARGUMENT, "kind",
         clact_softmax(c, (clact_softmax_kind)9, 0, CLACT_F32, 3, shape, 0, b, 0, b, 0, 0, NULL,
                       NULL)},
        {CLACT_INVALID_ARGUMENT, "do not fit",
         clact_softmax(c, CLACT_SOFTMAX, 0, CLACT_F32, 2, big, 0, b, 0, b, 0, 0, NULL, NULL)},
        {CLACT_INVALID_ARGUMENT, "do not fit",
         clact_softmax(c, CLACT_SOFTMAX, 0, CLACT_F32, 3, shape, 0, b, 1, b, 1, 0, NULL, NULL)},
        {CLACT_INVALID_ARGUMENT, "overlap",
         clact_softmax(c, CLACT_SOFTMAX, 0, CLACT_F32, 1, big + 1, 0, b, 0, b, 5, 0, NULL, NULL)},
        {CLACT_INVALID_ARGUMENT, "dtype",
         clact_softmax(c, CLACT_SOFTMAX, 0, (clact_dtype)7, 3, shape, 0, b, 0, b, 0, 0, NULL,
                       NULL)},
        {CLACT_INVALID_ARGUMENT, "dim 5",
         clact_softmax_backward(c, CLACT_SOFTMAX, CLACT_F32, 3, shape, 5, b, 0, b, 0, b, 0, 0, NULL,
                                NULL)},
        {CLACT_INVALID_ARGUMENT, "overlap",
         clact_softmax_backward(c, CLACT_SOFTMAX, CLACT_F32, 1, big + 1, 0, b, 0, b, 0, b, 3, 0,
                                NULL, NULL)},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; ++i)
        ck_assert_msg(cases[i].got == cases[i].st, "case %zu: %s", i,
                      clact_status_name(cases[i].got));
    /* The detail of the last call, and a few more checked one at a time for their words. */
    ck_assert_int_eq(
        clact_softmax(c, CLACT_SOFTMAX, 0, CLACT_F32, 3, shape, 3, b, 0, b, 0, 0, NULL, NULL),
        CLACT_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(clact_context_last_error(c), "dim 3 is out of range"));
    size_t huge[3] = {SIZE_MAX / 2, 4, 1};
    ck_assert_int_eq(
        clact_softmax(c, CLACT_SOFTMAX, 0, CLACT_F32, 3, huge, 0, b, 0, b, 0, 0, NULL, NULL),
        CLACT_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(clact_context_last_error(c), "overflows"));
    ck_assert_int_eq(
        clact_softmax(NULL, CLACT_SOFTMAX, 0, CLACT_F32, 3, shape, 0, b, 0, b, 0, 0, NULL, NULL),
        CLACT_INVALID_ARGUMENT);
    float y[64];
    tu_read(b, 0, 64, y);
    for (int i = 0; i < 64; ++i)
        ck_assert_msg(tu_bits(y[i]) == CANARY, "element %d written by a failed call", i);
    clReleaseMemObject(b);
    double x = 1, out;
    ck_assert_int_eq(clact_reference_softmax(CLACT_SOFTMAX, 0, 1, shape, 1, &x, &out),
                     CLACT_INVALID_ARGUMENT);
}
END_TEST

/* f16 and bf16 storage: inputs drawn in the type, outputs within 1 ulp of the type of the
 * correctly rounded reference (computed in float, rounded once: benchdnn's rule), NaN where the
 * reference is NaN and infinities exact, on every kernel shape: rows through each path, a
 * strided dimension, long rows split, backward; fills as for f32 (fill_rows) rounded to the
 * type. Outputs are poisoned with a positive value no softmax or log_softmax output can take
 * (0x5BAD: 245.6 in f16, 9.7e16 in bf16), and GUARD elements past the end must keep it. */
#define POISON16 0x5BAD
static void run_dtype(clact_dtype dt, clact_softmax_kind kind, unsigned flags, int ndim,
                      const size_t *shape, int dim, const char *path, int backward, fill f,
                      int inplace) {
    size_t total = 1;
    for (int i = 0; i < ndim; ++i)
        total *= shape[i];
    size_t outer, C, inner;
    split_shape(ndim, shape, dim, &outer, &C, &inner);
    tu_rng r = tu_rng_for("dtype softmax", total * 31 + (uint64_t)dt * 7 + (uint64_t)kind +
                                               (uint64_t)backward + (uint64_t)f * 1009);
    const size_t len = total + GUARD;
    uint16_t *x = malloc(len * 2), *g = malloc(len * 2), *y = malloc(len * 2);
    float *xf = malloc(total * sizeof *xf);
    double *xd = malloc(total * sizeof *xd), *gd = malloc(total * sizeof *gd),
           *ref = malloc(total * sizeof *ref);
    ck_assert(x && g && y && xf && xd && gd && ref);
    if (backward) {
        for (size_t i = 0; i < total; ++i)
            xf[i] = (float)tu_uniform(&r, -3, 3);
    } else {
        fill_rows(&r, f, xf, outer, C, inner);
    }
    for (size_t i = 0; i < total; ++i) {
        x[i] = tu_round16(dt, xf[i]);
        /* Special fills: every other zero is -0 (the f16 vector loads drop its sign: the sign
         * of a zero must not reach an output). */
        if (f == FILL_SPECIAL && (x[i] & 0x7fff) == 0 && (i & 1))
            x[i] |= 0x8000;
        xd[i] = tu_decode16(dt, x[i]);
    }
    if (backward) {
        /* y: a softmax output rounded to the type; dy of the opposite sign. */
        clact_reference_softmax(kind, 0, ndim, shape, dim, xd, ref);
        for (size_t i = 0; i < total; ++i) {
            x[i] = tu_round16(dt, ref[i]);
            xd[i] = tu_decode16(dt, x[i]);
            g[i] = tu_round16(dt, (xd[i] > 0 ? -1 : 1) * tu_uniform(&r, 0.1, 2));
            gd[i] = tu_decode16(dt, g[i]);
        }
        ck_assert_int_eq(clact_reference_softmax_backward(kind, ndim, shape, dim, xd, gd, ref),
                         CLACT_OK);
    } else {
        ck_assert_int_eq(clact_reference_softmax(kind, flags, ndim, shape, dim, xd, ref), CLACT_OK);
    }
    for (size_t i = total; i < len; ++i)
        x[i] = g[i] = POISON16;
    for (size_t i = 0; i < len; ++i)
        y[i] = POISON16;
    cl_int err;
    cl_context cl = clact_context_cl_context(tu_ctx());
    cl_mem xb = clCreateBuffer(cl, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, len * 2, x, &err);
    ck_assert_int_eq(err, CL_SUCCESS);
    cl_mem gb = clCreateBuffer(cl, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, len * 2, g, &err);
    ck_assert_int_eq(err, CL_SUCCESS);
    cl_mem yb =
        inplace ? xb
                : clCreateBuffer(cl, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, len * 2, y, &err);
    ck_assert_int_eq(err, CL_SUCCESS);
    if (path)
        tu_setenv("CLACT_SOFTMAX_PATH", path);
    clact_status st = backward ? clact_softmax_backward(tu_ctx(), kind, dt, ndim, shape, dim, xb, 0,
                                                        gb, 0, yb, 0, 0, NULL, NULL)
                               : clact_softmax(tu_ctx(), kind, flags, dt, ndim, shape, dim, xb, 0,
                                               yb, 0, 0, NULL, NULL);
    tu_setenv("CLACT_SOFTMAX_PATH", NULL);
    ck_assert_msg(st == CLACT_OK, "%s", clact_context_last_error(tu_ctx()));
    tu_read_bytes(yb, len * 2, y);
    for (size_t i = 0; i < total; ++i) {
        uint16_t want = tu_round16(dt, ref[i]);
        double got = tu_decode16(dt, y[i]);
        /* Backward sums cancel: allow the rounding of the float result's own error too. */
        long tol = backward ? 2 : 1;
        int ok;
        if (isnan(ref[i]) || isnan(got))
            ok = isnan(ref[i]) && isnan(got);
        else if (isinf(ref[i]) || isinf(got))
            ok = got == ref[i];
        else
            ok = labs(tu_order16(y[i]) - tu_order16(want)) <= tol ||
                 (got == 0 && tu_decode16(dt, want) == 0);
        if (!ok)
            ck_abort_msg("%s %s%s%s dim %d path %s fill %d%s shape %zu x %zu: element %zu: got %a, "
                         "want %a (exact %.9g)",
                         clact_dtype_name(dt), clact_softmax_kind_name(kind), flags ? " safe" : "",
                         backward ? " backward" : "", dim, path ? path : "default", (int)f,
                         inplace ? " in place" : "", outer, C, i, got, tu_decode16(dt, want),
                         ref[i]);
    }
    for (size_t i = total; i < len; ++i)
        ck_assert_msg(y[i] == POISON16, "element %zu past the end written", i);
    clReleaseMemObject(xb);
    clReleaseMemObject(gb);
    if (!inplace)
        clReleaseMemObject(yb);
    free(x), free(g), free(y), free(xf), free(xd), free(gd), free(ref);
}

START_TEST(softmax_f16_bf16) {
    const clact_dtype dt = _i < 3 ? CLACT_F16 : CLACT_BF16;
    const clact_softmax_kind kind = kinds[_i % 3];
    /* At CLACT_TEST_QUICK=2 (oclgrind) the split rows are 9000 long. */
    static const size_t rows[2] = {9, 1000}, s3[3] = {4, 5, 6};
    const size_t few[2] = {2, tu_quick() >= 2 ? 9000 : 20000};
    run_dtype(dt, kind, 0, 2, rows, 1, NULL, 0, FILL_UNIFORM, 0);
    run_dtype(dt, kind, 0, 2, rows, 1, "group", 0, FILL_UNIFORM, 0);
    run_dtype(dt, kind, 0, 2, few, 1, "split", 0, FILL_UNIFORM, 0);
    run_dtype(dt, kind, 0, 3, s3, 1, NULL, 0, FILL_UNIFORM, 0);
    run_dtype(dt, kind, CLACT_SOFTMAX_SAFE, 3, s3, 2, NULL, 0, FILL_SPECIAL, 1);
    run_dtype(dt, kind, 0, 3, s3, 2, NULL, 1, FILL_UNIFORM, 0);
}
END_TEST

/* The rows kernel's 16-bit sweep, which keeps its exps in a float row of local memory per
 * work-item (kernels/softmax.cl): every fill, in place and not, with 1 and 2 rows per work-item,
 * lengths either side of the sweep's blocks and past its 16 epochs (rising ramps open one per
 * block); then rows longer than the local row can hold (half the device's local memory), which
 * take their exps again from x, and the same through the group path. */
START_TEST(softmax_f16_bf16_rows) {
    const clact_dtype dt = _i < 3 ? CLACT_F16 : CLACT_BF16;
    const clact_softmax_kind kind = kinds[_i % 3];
    static const size_t lens[] = {1, 17, 255, 513, 1000, 8193, 20000};
    const size_t nlens = sizeof lens / sizeof lens[0] - (tu_quick() >= 2 ? 1 : 0);
    for (int per = 1; per <= 2; ++per) {
        tu_setenv("CLACT_SOFTMAX_ROWS_PER_ITEM", per == 1 ? "1" : "2");
        for (size_t l = 0; l < nlens; ++l) {
            const size_t shape[2] = {5, lens[l]};
            for (int f = 0; f <= FILL_RAMP; ++f)
                run_dtype(dt, kind, 0, 2, shape, 1, "rows", 0, (fill)f, 0);
            run_dtype(dt, kind, CLACT_SOFTMAX_SAFE, 2, shape, 1, "rows", 0, FILL_SPECIAL, 1);
            run_dtype(dt, kind, 0, 2, shape, 1, "rows", 0, FILL_RAMP, 1);
        }
    }
    tu_setenv("CLACT_SOFTMAX_ROWS_PER_ITEM", NULL);
    cl_ulong local = 0;
    ck_assert_int_eq(clGetDeviceInfo(clact_context_device(tu_ctx()), CL_DEVICE_LOCAL_MEM_SIZE,
                                     sizeof local, &local, NULL),
                     CL_SUCCESS);
    const size_t longer[2] = {2, (size_t)(local / 2 / sizeof(float)) + 1};
    run_dtype(dt, kind, 0, 2, longer, 1, "rows", 0, FILL_RAMP, 0);
    run_dtype(dt, kind, 0, 2, longer, 1, "rows", 0, FILL_UNIFORM, 1);
    run_dtype(dt, kind, CLACT_SOFTMAX_SAFE, 2, longer, 1, "rows", 0, FILL_SPECIAL, 0);
}
END_TEST

static void report(void) {
    printf("softmax worst relative error (outputs > 1e-5): softmax %.2e, log_softmax %.2e, "
           "softmin %.2e\n",
           worst_rel[0], worst_rel[1], worst_rel[2]);
}

Suite *softmax_suite(void);
Suite *softmax_suite(void) {
    Suite *s = suite_create("softmax");
    TCase *tc = tcase_create("softmax");
    tcase_set_timeout(tc, 900);
    tcase_add_unchecked_fixture(tc, NULL, report);
    tcase_add_loop_test(tc, softmax_rows_all_paths, 0, 3);
    tcase_add_loop_test(tc, softmax_epochs, 0, 3);
    tcase_add_loop_test(tc, softmax_any_axis, 0, 3);
    tcase_add_loop_test(tc, softmax_long_row, 0, 3);
    tcase_add_loop_test(tc, softmax_backward, 0, 3);
    tcase_add_loop_test(tc, softmax_f16_bf16, 0, 6);
    tcase_add_loop_test(tc, softmax_f16_bf16_rows, 0, 6);
    tcase_add_test(tc, softmax_errors);
    suite_add_tcase(s, tc);
    return s;
}
