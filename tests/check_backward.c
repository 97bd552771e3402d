/* SPDX-License-Identifier: MIT */
/* Every activation's backward against the CPU reference, from x and, where the op allows, from
 * y: every row of the test table (op_table.c: bounds per dtype, the root of f' near which the
 * bound is absolute) in f32 and f64 on special values, values at the op's boundary +-4 ulp and
 * random values of every magnitude drawn from the run's seed, with random dy (and dy of 0, ±inf,
 * NaN sprinkled in); sizes around the vector width; offsets; in place (dx over dy); canaries
 * around the output and a poisoned output. f16 and bf16 on every one of the 65536 inputs. Then
 * PyTorch's gradients at the special inputs, which saved tensors each op takes, and the
 * argument errors. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "op_table.h"
#include "testutil.h"

#define GUARD    7
#define CANARY   -1234.5678
#define MAX_ROWS 128

/* The worst error seen per row, dtype (f32, f64) and form (from x, from y), in ulps of the
 * exact value outside the root windows; printed at the end of every run. */
static double worst[MAX_ROWS][2][2];
static double worst_at[MAX_ROWS][2][2];

/* The spacing of dtype's values at |v| (the subnormal spacing below the smallest normal). */
static double ulp_at(clact_dtype dt, double v) {
    int mant = dt == CLACT_F64 ? 52 : 23, emin = dt == CLACT_F64 ? -1022 : -126;
    v = fabs(v);
    int e = v > 0 && isfinite(v) ? ilogb(v) : emin;
    return ldexp(1.0, (e < emin ? emin : e) - mant);
}

/* The comparison rule (testutil.h's, for gradients): NaN only for NaN, infinities exactly, zeros
 * by ==; otherwise ulp ulps of the exact value dx, where an ulp is the larger of dx's own and
 * |dy| times that of f' = dx / dy (f' is a value of the compute type: where it is subnormal, a
 * large dy cannot bring back digits it never had); within 0.5 of the root of f', ulp ulps of 1
 * times |dy|. One exception, at the bottom of the range: an infinite dy times an f' within the
 * bound of 0 may be NaN (the kernel's f' rounded to 0, inf * 0) where the reference's f' did
 * not, or the other way round. fref is f' (the reference with dy = 1). *err gets the error in
 * ulps when it is finite. */
/* Where long double is not wider than double (tu_wide_reference: under valgrind's x87
 * emulation), the f64 reference carries its own roundings and the tails' amplifications (as in
 * check_f64.c): f64 bounds widen to 4096 ulp there, which still catches a kernel computing in
 * float (2^29 ulp). */

/* Where a storage type's rounding overflows: half an ulp above its largest finite value. */
static double overflow_at(clact_dtype dt) {
    switch (dt) {
    case CLACT_F32: return 0x1.ffffffp127;
    case CLACT_F16: return 65520.0;
    case CLACT_BF16: return 0x1.ffp127;
    default: return INFINITY;
    }
}

static int close_bwd(clact_dtype dt, double got, double ref, double fref, double x, double dy,
                     const tu_op_row *row, double *err) {
    /* The exact dx (long double, rounded to double) can lie beyond the storage type's range
     * (celu with alpha < 0 has f' = exp(x / |alpha|) up to 1e38, times a dy of 1e30): rounded to
     * the type it is inf. */
    if (fabs(ref) >= overflow_at(dt))
        ref = copysign(INFINITY, ref);
    double ulp = dt == CLACT_F64 ? (tu_wide_reference() ? row->bwd_ulp64 : 4096) : row->bwd_ulp32;
    double tiny = ulp * ulp_at(dt, 0);
    *err = 0;
    if (isinf(dy) && fabs(fref) <= tiny && (isnan(got) || isnan(ref)) &&
        (isnan(got) || isinf(got)) && (isnan(ref) || isinf(ref)))
        return 1;
    if (isnan(ref) || isnan(got))
        return isnan(ref) && isnan(got);
    if (isinf(ref) || isinf(got))
        return got == ref;
    double e = fabs(got - ref);
    if (e == 0)
        return 1;
    double unit = fmax(ulp_at(dt, ref), isfinite(dy) ? fabs(dy) * ulp_at(dt, fref) : 0);
    double bound = ulp * unit;
    *err = e / unit;
    if (!isnan(row->bwd_root) && fabs(x - row->bwd_root) < 0.5) {
        bound = fmax(bound, ulp * ulp_at(dt, 1.0) * fabs(dy));
        *err = 0; /* the absolute window is not part of the ulp figure */
    }
    return e <= bound;
}

static double random_x(tu_rng *r, clact_dtype dt, const clact_activation *a) {
    double big = dt == CLACT_F64 ? 750 : 100;
    switch (tu_next(r) % 9) {
    case 0: return tu_uniform(r, -10, 10);
    case 1: return tu_uniform(r, -0.09, 0.09);
    case 2: return tu_uniform(r, -1000, 1000);
    case 3: return (tu_next(r) & 1 ? -1 : 1) * tu_uniform(r, big - 12, big);
    case 4: { /* any finite value, every exponent equally likely */
        double d;
        do {
            uint64_t u = tu_next(r);
            if (dt == CLACT_F64)
                memcpy(&d, &u, 8);
            else
                d = tu_from_bits((uint32_t)u);
        } while (!isfinite(d));
        return d;
    }
    case 5: { /* the op's boundary, +-4 ulp */
        double t = tu_op_boundary(a, dt, (unsigned)tu_next(r));
        int steps = (int)(tu_next(r) % 9) - 4;
        for (int i = 0; i < abs(steps); ++i)
            t = dt == CLACT_F64 ? nextafter(t, steps < 0 ? -INFINITY : INFINITY)
                                : nextafterf((float)t, steps < 0 ? -INFINITY : INFINITY);
        return t;
    }
    case 6: return tu_uniform(r, -2.5, 0.5); /* the roots of gelu', silu', mish' */
    case 7: return tu_uniform(r, -110, -40);
    default: return tu_uniform(r, -20, 20);
    }
}

static double random_dy(tu_rng *r, size_t i) {
    static const double odd[] = {0.0, -0.0, INFINITY, -INFINITY, NAN, 1e-30, 3e30};
    if (i % 97 == 96)
        return odd[tu_next(r) % (sizeof odd / sizeof odd[0])];
    return (tu_next(r) & 3) ? tu_uniform(r, -2, 2) : 1.0;
}

typedef struct bwd_case {
    int row;
    clact_dtype dt;
    int from_y;
    size_t n, s_off, dy_off, dx_off;
    int inplace; /* dx is dy */
} bwd_case;

/* Host arrays of one run: the saved tensor s (x or y), x itself, dy, the reference. */
static void make_inputs(const bwd_case *c, const clact_activation *a, double *x, double *s,
                        double *dy) {
    char label[64];
    snprintf(label, sizeof label, "bwd %d %d %d %zu", c->row, (int)c->dt, c->from_y, c->n);
    tu_rng r = tu_rng_for(label, c->s_off + c->dx_off);
    for (size_t i = 0; i < c->n; ++i) {
        x[i] = tu_round_dt(c->dt, i < TU_N_SPECIAL ? tu_special_in[i] : random_x(&r, c->dt, a));
        dy[i] = tu_round_dt(c->dt, random_dy(&r, i));
    }
    if (c->n && c->n < TU_N_SPECIAL)
        x[0] = tu_special_in[tu_next(&r) % TU_N_SPECIAL];
    if (!c->from_y) {
        memcpy(s, x, c->n * sizeof *s);
        return;
    }
    ck_assert_int_eq(clact_reference_forward(a, c->dt, c->n, x, s), CLACT_OK);
    for (size_t i = 0; i < c->n; ++i)
        s[i] = tu_round_dt(c->dt, s[i]);
}

static void check_guards(clact_dtype dt, cl_mem m, size_t from, size_t len, const char *label) {
    double g[GUARD];
    tu_read_dt(dt, m, from, len, g);
    for (size_t i = 0; i < len; ++i)
        if (g[i] != tu_round_dt(dt, CANARY))
            ck_abort_msg("%s: element %zu outside the output range was written", label, from + i);
}

static void run(const bwd_case *c) {
    const tu_op_row *row = &tu_op_rows[c->row];
    clact_activation a = tu_op_act(row);
    size_t n = c->n, m = n ? n : 1;
    char label[160];
    snprintf(label, sizeof label, "%s backward from %s, %s, n=%zu offsets %zu/%zu/%zu%s",
             row->label, c->from_y ? "y" : "x", clact_dtype_name(c->dt), n, c->s_off, c->dy_off,
             c->dx_off, c->inplace ? " in place" : "");
    double *x = malloc(m * sizeof *x), *s = malloc(m * sizeof *s), *dy = malloc(m * sizeof *dy);
    double *ref = malloc(m * sizeof *ref), *got = malloc(m * sizeof *got);
    double *fref = malloc(m * sizeof *fref);
    ck_assert(x && s && dy && ref && got && fref);
    make_inputs(c, &a, x, s, dy);
    ck_assert_int_eq(
        clact_reference_backward(&a, c->dt, n, c->from_y ? NULL : s, c->from_y ? s : NULL, dy, ref),
        CLACT_OK);
    for (size_t i = 0; i < n; ++i)
        fref[i] = 1.0;
    ck_assert_int_eq(clact_reference_backward(&a, c->dt, n, c->from_y ? NULL : s,
                                              c->from_y ? s : NULL, fref, fref),
                     CLACT_OK);

    cl_mem sb = tu_buffer_dt(c->dt, c->s_off + m, CL_MEM_READ_WRITE);
    cl_mem gb = tu_buffer_dt(c->dt, c->dy_off + m + GUARD, CL_MEM_READ_WRITE);
    cl_mem db = c->inplace ? gb : tu_buffer_dt(c->dt, c->dx_off + m + GUARD, CL_MEM_READ_WRITE);
    size_t dx_off = c->inplace ? c->dy_off : c->dx_off;
    double canary[GUARD + 32];
    for (size_t i = 0; i < sizeof canary / sizeof canary[0]; ++i)
        canary[i] = CANARY;
    tu_write_dt(c->dt, sb, c->s_off, n, s);
    tu_write_dt(c->dt, gb, c->dy_off, n, dy);
    if (!c->inplace) {
        tu_write_dt(c->dt, db, 0, dx_off, canary);
        tu_poison_dt(c->dt, db, dx_off, n);
    }
    tu_write_dt(c->dt, db, dx_off + n, GUARD, canary);

    cl_event ev = NULL;
    clact_status st =
        clact_backward(tu_ctx(), &a, c->dt, n, c->from_y ? NULL : sb, c->s_off,
                       c->from_y ? sb : NULL, c->s_off, gb, c->dy_off, db, dx_off, 0, NULL, &ev);
    ck_assert_msg(st == CLACT_OK, "%s: %s: %s", label, clact_status_name(st),
                  clact_context_last_error(tu_ctx()));
    ck_assert_msg(ev != NULL, "%s: no event", label);
    ck_assert_int_eq(clWaitForEvents(1, &ev), CL_SUCCESS);
    clReleaseEvent(ev);
    ck_assert_msg(tu_read_dt(c->dt, db, dx_off, n, got), "%s: an element was not written", label);
    if (!c->inplace)
        check_guards(c->dt, db, 0, dx_off, label);
    check_guards(c->dt, db, dx_off + n, GUARD, label);

    int di = c->dt == CLACT_F64;
    for (size_t i = 0; i < n; ++i) {
        double e;
        if (!close_bwd(c->dt, got[i], ref[i], fref[i], x[i], dy[i], row, &e))
            ck_abort_msg("%s: x = %a, s = %a, dy = %g: got %.17g, reference %.17g (%.1f ulp)",
                         label, x[i], s[i], dy[i], got[i], ref[i], e);
        if (c->row < MAX_ROWS && e > worst[c->row][di][c->from_y]) {
            worst[c->row][di][c->from_y] = e;
            worst_at[c->row][di][c->from_y] = x[i];
        }
    }
    if (!c->inplace)
        clReleaseMemObject(db);
    clReleaseMemObject(gb);
    clReleaseMemObject(sb);
    free(x), free(s), free(dy), free(ref), free(got), free(fref);
}

/* The last size is left out under CLACT_TEST_QUICK (valgrind). */
static const size_t sizes[] = {0, 1, 3, 4, 5, 7, 8, 9, 15, 16, 17, 33, 4099, 1u << 16};

/* Loop index: row, then dtype (f32, f64). */
START_TEST(backward_against_reference) {
    int row = _i / 2;
    clact_dtype dt = _i % 2 ? CLACT_F64 : CLACT_F32;
    clact_activation a = tu_op_act(&tu_op_rows[row]);
    unsigned can = clact_backward_saved(&a);
    ck_assert(can & CLACT_SAVED_X);
    for (int from_y = 0; from_y < 2; ++from_y) {
        if (from_y && !(can & CLACT_SAVED_Y))
            continue;
        for (size_t k = 0; k < sizeof sizes / sizeof sizes[0] - (tu_quick() ? 1 : 0); ++k) {
            bwd_case c = {row, dt, from_y, sizes[k], 0, 0, 0, 0};
            run(&c);
            c.s_off = 13, c.dy_off = 29, c.dx_off = 5;
            run(&c);
            c.inplace = 1;
            run(&c);
        }
    }
}
END_TEST

/* f16 and bf16: every one of the 65536 bit patterns as x (in another order under
 * CLACT_TEST_QUICK, every 61st of them only at level 2, oclgrind),
 * with dy = 1 and with random dy, against the reference rounded to the type: within 1 ulp of it
 * (the float computation is far more accurate than the 16-bit result), or the root window's
 * absolute bound. */
START_TEST(backward_16bit_exhaustive) {
    int row = _i / 2;
    clact_dtype dt = _i % 2 ? CLACT_BF16 : CLACT_F16;
    const tu_op_row *r = &tu_op_rows[row];
    clact_activation a = tu_op_act(r);
    const int N = tu_quick() >= 2 ? 65536 / 61 + 1 : 65536;
    double *x = malloc(N * sizeof *x), *dy = malloc(N * sizeof *dy);
    double *ref = malloc(N * sizeof *ref), *got = malloc(N * sizeof *got);
    ck_assert(x && dy && ref && got);
    tu_rng rng = tu_rng_for("bwd16", (uint64_t)_i);
    cl_mem xb = tu_buffer_dt(dt, N, CL_MEM_READ_WRITE), gb = tu_buffer_dt(dt, N, CL_MEM_READ_WRITE);
    for (int pass = 0; pass < 2; ++pass) {
        for (int i = 0; i < N; ++i) {
            x[i] = tu_decode16(dt, (uint16_t)(tu_quick() ? i * 61 : i));
            dy[i] = pass ? tu_round_dt(dt, tu_uniform(&rng, -2, 2)) : 1.0;
        }
        ck_assert_int_eq(clact_reference_backward(&a, dt, N, x, NULL, dy, ref), CLACT_OK);
        tu_write_dt(dt, xb, 0, N, x);
        tu_write_dt(dt, gb, 0, N, dy);
        ck_assert_int_eq(
            clact_backward(tu_ctx(), &a, dt, N, xb, 0, NULL, 0, gb, 0, gb, 0, 0, NULL, NULL),
            CLACT_OK);
        ck_assert(tu_read_dt(dt, gb, 0, N, got));
        for (int i = 0; i < N; ++i) {
            double want = tu_round_dt(dt, ref[i]);
            if (isnan(want) || isnan(got[i])) {
                if (!(isnan(want) && isnan(got[i])))
                    ck_abort_msg("%s %s backward(%g) dy %g = %g, want %g", clact_dtype_name(dt),
                                 r->label, x[i], dy[i], got[i], want);
                continue;
            }
            long d = labs(tu_order16(tu_round16(dt, got[i])) - tu_order16(tu_round16(dt, want)));
            int near_root = !isnan(r->bwd_root) && fabs(x[i] - r->bwd_root) < 0.5 &&
                            fabs(got[i] - ref[i]) <= r->bwd_ulp32 * 0x1p-23 * fabs(dy[i]);
            if (d > 1 && !near_root)
                ck_abort_msg("%s %s backward(%g) dy %g = %.9g, want %.9g (%ld ulp)",
                             clact_dtype_name(dt), r->label, x[i], dy[i], got[i], want, d);
        }
    }
    clReleaseMemObject(xb), clReleaseMemObject(gb);
    free(x), free(dy), free(ref), free(got);
}
END_TEST

/* PyTorch's gradients at the special inputs (op_table.c's bwd_special, dy = 1), for every op of
 * the header's list: NaN exactly where PyTorch gives NaN (gelu, gelu_tanh, silu, mish at ±inf),
 * and, at finite inputs, within 1e-5 of PyTorch (clact keeps digits PyTorch's float loses). */
START_TEST(backward_special_table) {
    cl_mem xb = tu_buffer_dt(CLACT_F32, TU_N_SPECIAL, CL_MEM_READ_WRITE);
    cl_mem gb = tu_buffer_dt(CLACT_F32, TU_N_SPECIAL, CL_MEM_READ_WRITE);
    double ones[TU_N_SPECIAL], got[TU_N_SPECIAL];
    for (int i = 0; i < TU_N_SPECIAL; ++i)
        ones[i] = 1.0;
    for (int op = 0; op < CLACT_OP_COUNT; ++op) {
        if (!clact_op_elementwise((clact_op)op))
            continue; /* glu: its own suite */
        const tu_op_row *row = tu_op_default_row((clact_op)op);
        ck_assert_msg(row, "op %s has no default row in tests/op_table.c", clact_op_name(op));
        clact_activation a = tu_op_default_act((clact_op)op);
        tu_write_dt(CLACT_F32, xb, 0, TU_N_SPECIAL, tu_special_in);
        tu_write_dt(CLACT_F32, gb, 0, TU_N_SPECIAL, ones);
        ck_assert_int_eq(clact_backward(tu_ctx(), &a, CLACT_F32, TU_N_SPECIAL, xb, 0, NULL, 0, gb,
                                        0, gb, 0, 0, NULL, NULL),
                         CLACT_OK);
        tu_read_dt(CLACT_F32, gb, 0, TU_N_SPECIAL, got);
        for (int i = 0; i < TU_N_SPECIAL; ++i) {
            double want = row->bwd_special[i], x = tu_special_in[i];
            int ok = isnan(want) ? isnan(got[i])
                     : !isfinite(x) || !isfinite(want)
                         ? got[i] == want
                         : isfinite(got[i]) && fabs(got[i] - want) <= 1e-5 + 1e-5 * fabs(want);
            ck_assert_msg(ok, "%s backward at %g = %g, PyTorch gives %g", clact_op_name(op), x,
                          got[i], want);
        }
    }
    clReleaseMemObject(xb), clReleaseMemObject(gb);
}
END_TEST

/* Which saved tensors each op takes, and the errors for the ones it does not. */
START_TEST(backward_saved_and_errors) {
    clact_activation a = clact_activation_default(CLACT_RELU);
    ck_assert_uint_eq(clact_backward_saved(&a), CLACT_SAVED_X | CLACT_SAVED_Y);
    a = clact_activation_default(CLACT_GELU);
    ck_assert_uint_eq(clact_backward_saved(&a), CLACT_SAVED_X);
    a = clact_activation_default(CLACT_LEAKY_RELU);
    ck_assert_uint_eq(clact_backward_saved(&a), CLACT_SAVED_X | CLACT_SAVED_Y);
    a.param[0] = -0.5;
    ck_assert_uint_eq(clact_backward_saved(&a), CLACT_SAVED_X);
    a = clact_activation_default(CLACT_ELU);
    a.param[0] = -2;
    ck_assert_uint_eq(clact_backward_saved(&a), CLACT_SAVED_X);
    ck_assert_uint_eq(clact_backward_saved(NULL), 0);
    a.op = (clact_op)CLACT_OP_COUNT;
    ck_assert_uint_eq(clact_backward_saved(&a), 0);

    cl_mem b = tu_buffer_dt(CLACT_F32, 64, CL_MEM_READ_WRITE);
    cl_mem c = tu_buffer_dt(CLACT_F32, 64, CL_MEM_READ_WRITE);
    tu_poison_dt(CLACT_F32, c, 0, 64);
    clact_context *ctx = tu_ctx();
    a = clact_activation_default(CLACT_GELU);
    cl_event ev = (cl_event)1;
    ck_assert_int_eq(clact_backward(ctx, &a, CLACT_F32, 8, NULL, 0, b, 0, b, 0, c, 0, 0, NULL, &ev),
                     CLACT_INVALID_ARGUMENT);
    ck_assert_ptr_null(ev);
    ck_assert_ptr_nonnull(strstr(clact_context_last_error(ctx), "gelu backward needs x"));
    a = clact_activation_default(CLACT_LEAKY_RELU);
    a.param[0] = -1.5;
    ck_assert_int_eq(
        clact_backward(ctx, &a, CLACT_F32, 8, NULL, 0, b, 0, b, 0, c, 0, 0, NULL, NULL),
        CLACT_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(clact_context_last_error(ctx), "negative parameter"));
    a = clact_activation_default(CLACT_SIGMOID);
    ck_assert_int_eq(
        clact_backward(ctx, &a, CLACT_F32, 8, NULL, 0, NULL, 0, b, 0, c, 0, 0, NULL, NULL),
        CLACT_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(clact_context_last_error(ctx), "both are NULL"));
    ck_assert_int_eq(
        clact_backward(ctx, &a, CLACT_F32, 8, b, 0, NULL, 0, NULL, 0, c, 0, 0, NULL, NULL),
        CLACT_INVALID_ARGUMENT);
    /* dx partly over dy, or past the end of its buffer. */
    ck_assert_int_eq(
        clact_backward(ctx, &a, CLACT_F32, 8, b, 0, NULL, 0, c, 0, c, 3, 0, NULL, NULL),
        CLACT_INVALID_ARGUMENT);
    ck_assert_int_eq(
        clact_backward(ctx, &a, CLACT_F32, 60, b, 0, NULL, 0, b, 0, c, 10, 0, NULL, NULL),
        CLACT_INVALID_ARGUMENT);
    a.param[0] = NAN;
    a.op = CLACT_ELU;
    ck_assert_int_eq(
        clact_backward(ctx, &a, CLACT_F32, 8, b, 0, NULL, 0, b, 0, c, 0, 0, NULL, NULL),
        CLACT_INVALID_ARGUMENT);
    ck_assert_int_eq(
        clact_backward(NULL, &a, CLACT_F32, 8, b, 0, NULL, 0, b, 0, c, 0, 0, NULL, NULL),
        CLACT_INVALID_ARGUMENT);
    double out[64];
    ck_assert_msg(!tu_read_dt(CLACT_F32, c, 0, 64, out), "a failed call wrote its output");
    /* The reference's own checks. */
    double x = 1, d = 1, r;
    a = clact_activation_default(CLACT_GELU);
    ck_assert_int_eq(clact_reference_backward(&a, CLACT_F32, 1, NULL, &x, &d, &r),
                     CLACT_INVALID_ARGUMENT);
    ck_assert_int_eq(clact_reference_backward(&a, CLACT_F64, 1, &x, NULL, &d, &r), CLACT_OK);
    ck_assert(fabs(r - (0.5 * erfc(-1 / sqrt(2.0)) +
                        exp(-0.5) / sqrt(2 * 3.14159265358979323846))) < 1e-15);
    clReleaseMemObject(b), clReleaseMemObject(c);
}
END_TEST

static void report(void) {
    printf("worst backward error in ulp per row on this device (seed %llu), outside the root "
           "windows: f32 from x / from y, f64 from x / from y:\n",
           (unsigned long long)tu_seed());
    for (int i = 0; i < tu_op_row_count && i < MAX_ROWS; ++i)
        printf("  %-18s %7.2f %7.2f   %7.2f %7.2f   (f32 from x worst at %.9g)\n",
               tu_op_rows[i].label, worst[i][0][0], worst[i][0][1], worst[i][1][0], worst[i][1][1],
               worst_at[i][0][0]);
}

Suite *backward_suite(void);
Suite *backward_suite(void) {
    Suite *s = suite_create("backward");
    TCase *tc = tcase_create("backward");
    tcase_set_timeout(tc, 900);
    tcase_add_unchecked_fixture(tc, NULL, report);
    tcase_add_loop_test(tc, backward_against_reference, 0, 2 * tu_op_row_count);
    tcase_add_loop_test(tc, backward_16bit_exhaustive, 0, 2 * tu_op_row_count);
    tcase_add_test(tc, backward_special_table);
    tcase_add_test(tc, backward_saved_and_errors);
    suite_add_tcase(s, tc);
    return s;
}
