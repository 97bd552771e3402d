/* SPDX-License-Identifier: MIT */
/* Fused cross-entropy against the CPU reference, in every dtype: every option
 * (int64/int32/probability targets, ignore_index, per-class weights, none/mean/sum, label
 * smoothing), shapes (C), (N, C), (N, C, d1, d2), N = 0, C = 1, logits of ±1e4 and 88..1000,
 * all-ignored batches, the gradient separately and in place; then invalid class indices (an error
 * before anything is written with CLACT_CE_VALIDATE; by default NaN there and the position from
 * clact_context_check) and bad options. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define POISON 0xFFBADBADu

typedef struct ce_case {
    int ndim;
    size_t shape[4];
    clact_target_type tt;
    clact_reduction red;
    long long ignore;
    double eps;
    int weighted;
    int big;  /* logits of ±1e4 and 88..1000 */
    int grad; /* 0 none, 1 separate, 2 in place over the logits */
    int ignore_all;
} ce_case;

/* Tolerances. f32 loss: the per-position losses are sums of C float terms of size
 * |x - m| + log(sum); 2e-5 relative plus 1e-5 absolute covers their rounding (the reference is
 * exact). Gradient: softmax-sized entries, 2e-5 relative plus 1e-6 times the reduction's scale.
 * f16 and bf16 compute in float from inputs that are exact in float, so the same bounds hold
 * before the one rounding of the result to the dtype on store: add half an ulp of the dtype
 * (relative) and half its smallest subnormal (absolute). f64 computes in double: the same
 * reasoning at 2^-53 instead of 2^-24 gives 1e-13 relative; 1e-13 absolute (loss) and
 * 1e-14 times the scale (gradient) for values that cancel. */
static int ce_close(clact_dtype dt, double got, double ref, double abs_f32, double abs_f64) {
    if (isnan(ref))
        return isnan(got);
    if (isnan(got))
        return 0;
    if (isinf(tu_round_dt(dt, ref)) || isinf(got)) /* beyond the dtype's range (f16: 65520) */
        return got == tu_round_dt(dt, ref);
    double err = fabs(got - ref);
    if (dt == CLACT_F64)
        return err <= 1e-13 * fabs(ref) + abs_f64;
    double bound = 2e-5 * fabs(ref) + abs_f32;
    if (dt == CLACT_F16)
        bound += 0x1p-11 * fabs(ref) + 0x1p-25;
    else if (dt == CLACT_BF16)
        bound += 0x1p-8 * fabs(ref) + 0x1p-134;
    return err <= bound;
}

static void run_case(clact_dtype dt, const ce_case *k, int index) {
    char label[220];
    snprintf(label, sizeof label,
             "%s case %d: ndim %d tt %d red %d ignore %lld eps %g w %d big %d grad %d",
             clact_dtype_name(dt), index, k->ndim, (int)k->tt, (int)k->red, k->ignore, k->eps,
             k->weighted, k->big, k->grad);
    size_t C = k->ndim == 1 ? k->shape[0] : k->shape[1], inner = 1;
    size_t N = k->ndim == 1 ? 1 : k->shape[0];
    for (int i = 2; i < k->ndim; ++i)
        inner *= k->shape[i];
    size_t P = N * inner, total = P * C;
    tu_rng r = tu_rng_for(label + strlen(clact_dtype_name(dt)), 0);
    double *xd = malloc((total + 1) * sizeof *xd), *tpd = malloc((total + 1) * sizeof *tpd);
    int64_t *t64 = malloc((P + 1) * sizeof *t64);
    int32_t *t32 = malloc((P + 1) * sizeof *t32);
    double *wd = malloc(C * sizeof *wd);
    ck_assert(xd && tpd && t64 && t32 && wd);
    /* Inputs are drawn, then rounded to the dtype: the reference sees what the device sees. */
    for (size_t i = 0; i < total; ++i)
        xd[i] = tu_round_dt(dt, k->big ? (tu_next(&r) & 1 ? 1e4 : -1e4) + tu_uniform(&r, 88, 1000)
                                       : tu_uniform(&r, -6, 6));
    for (size_t c = 0; c < C; ++c)
        wd[c] = k->weighted ? tu_round_dt(dt, tu_uniform(&r, 0.1, 3)) : 1.0;
    for (size_t p = 0; p < P; ++p) {
        long long t = (long long)(tu_next(&r) % C);
        if (k->ignore_all || tu_next(&r) % 5 == 0)
            t = k->ignore;
        t64[p] = t;
        t32[p] = (int32_t)t;
        /* Probability targets: a random distribution over the classes of each position. */
        size_t o = p / inner, i = p % inner;
        double sum = 0;
        for (size_t c = 0; c < C; ++c)
            sum += tpd[o * C * inner + c * inner + i] = tu_uniform(&r, 0, 1);
        for (size_t c = 0; c < C; ++c) {
            size_t j = o * C * inner + c * inner + i;
            tpd[j] = tu_round_dt(dt, tpd[j] / sum);
        }
    }
    clact_cross_entropy_desc d = clact_cross_entropy_default();
    d.reduction = k->red;
    d.ignore_index = k->tt == CLACT_TARGET_PROBS ? -100 : k->ignore;
    d.label_smoothing = k->eps;
    d.target_type = k->tt;
    size_t nloss = k->red == CLACT_REDUCTION_NONE ? P : 1;
    double *ref_loss = malloc((nloss + 1) * sizeof *ref_loss),
           *ref_grad = malloc((total + 1) * sizeof *ref_grad);
    const void *tref = k->tt == CLACT_TARGET_INT64   ? (const void *)t64
                       : k->tt == CLACT_TARGET_INT32 ? (const void *)t32
                                                     : (const void *)tpd;
    ck_assert_int_eq(clact_reference_cross_entropy(&d, k->ndim, k->shape, xd, tref,
                                                   k->weighted ? wd : NULL, ref_loss, ref_grad),
                     CLACT_OK);

    /* The logits at element 1 of total + 2: the poison around them (tu_buffer_dt) must not
     * matter. */
    cl_mem xb = tu_buffer_dt(dt, total + 2, CL_MEM_READ_WRITE);
    cl_mem tb;
    if (k->tt == CLACT_TARGET_PROBS) {
        tb = tu_buffer_dt(dt, total + 1, CL_MEM_READ_ONLY);
        tu_write_dt(dt, tb, 0, total, tpd);
    } else {
        size_t tbytes = k->tt == CLACT_TARGET_INT64 ? 8 : 4;
        cl_int err;
        /* One spare target past the last, written (the whole buffer in one write: see
         * testutil.c on oclgrind) as a class index out of range that must never be read: read,
         * it would make a NaN and an error. */
        t64[P] = INT64_MIN;
        t32[P] = INT32_MIN;
        tb = clCreateBuffer(clact_context_cl_context(tu_ctx()), CL_MEM_READ_ONLY, (P + 1) * tbytes,
                            NULL, &err);
        ck_assert_ptr_nonnull(tb);
        ck_assert_int_eq(clEnqueueWriteBuffer(
                             clact_context_queue(tu_ctx()), tb, CL_TRUE, 0, (P + 1) * tbytes,
                             k->tt == CLACT_TARGET_INT64 ? (const void *)t64 : (const void *)t32, 0,
                             NULL, NULL),
                         CL_SUCCESS);
    }
    cl_mem wb = tu_buffer_dt(dt, C, CL_MEM_READ_ONLY);
    tu_write_dt(dt, wb, 0, C, wd);
    cl_mem lb = tu_buffer_dt(dt, nloss + 1, CL_MEM_READ_WRITE);
    tu_poison_dt(dt, lb, 0, nloss + 1);
    cl_mem gb = k->grad == 1 ? tu_buffer_dt(dt, total + 1, CL_MEM_READ_WRITE) : NULL;
    if (gb)
        tu_poison_dt(dt, gb, 0, total + 1);
    tu_write_dt(dt, xb, 1, total, xd);
    cl_event ev;
    clact_status st = clact_cross_entropy(tu_ctx(), &d, dt, k->ndim, k->shape, xb, 1, tb, 0,
                                          k->weighted ? wb : NULL, 0, lb, 0, k->grad == 2 ? xb : gb,
                                          1, 0, NULL, &ev);
    ck_assert_msg(st == CLACT_OK, "%s: %s: %s", label, clact_status_name(st),
                  clact_context_last_error(tu_ctx()));
    ck_assert_int_eq(clWaitForEvents(1, &ev), CL_SUCCESS);
    clReleaseEvent(ev);
    double *l = malloc((nloss + 1) * sizeof *l), *g = malloc((total + 2) * sizeof *g);
    ck_assert_msg(tu_read_dt(dt, lb, 0, nloss, l), "%s: a loss was not written", label);
    ck_assert_msg(!tu_read_dt(dt, lb, nloss, 1, l + nloss), "%s: wrote past the loss", label);
    for (size_t i = 0; i < nloss; ++i)
        if (!ce_close(dt, l[i], ref_loss[i], 1e-5, 1e-13))
            ck_abort_msg("%s: loss[%zu] = %.17g, reference %.17g", label, i, l[i], ref_loss[i]);
    if (k->grad) {
        ck_assert_msg(tu_read_dt(dt, k->grad == 2 ? xb : gb, 1, total, g),
                      "%s: a gradient element was not written", label);
        double W = 0;
        for (size_t p = 0; p < P; ++p)
            W += k->tt == CLACT_TARGET_PROBS ? 1.0 : (t64[p] == k->ignore ? 0.0 : wd[t64[p]]);
        double scale = k->red == CLACT_REDUCTION_MEAN ? 1.0 / W : 1.0;
        for (size_t i = 0; i < total; ++i)
            if (!ce_close(dt, g[i], ref_grad[i], 1e-6 * scale * 3, 1e-14 * scale))
                ck_abort_msg("%s: grad[%zu] = %.17g, reference %.17g", label, i, g[i], ref_grad[i]);
    }
    clReleaseMemObject(xb);
    clReleaseMemObject(tb);
    clReleaseMemObject(wb);
    clReleaseMemObject(lb);
    if (gb)
        clReleaseMemObject(gb);
    free(xd), free(tpd), free(t64), free(t32), free(ref_loss), free(ref_grad);
    free(l), free(g), free(wd);
}

START_TEST(cross_entropy_options) {
    const clact_dtype dt = (clact_dtype)_i;
    static const struct {
        int ndim;
        size_t shape[4];
    } shapes[] = {{2, {37, 10}}, {1, {5}}, {4, {4, 7, 3, 5}}, {2, {3, 1}}, {2, {0, 6}}};
    const clact_target_type tts[3] = {CLACT_TARGET_INT64, CLACT_TARGET_INT32, CLACT_TARGET_PROBS};
    int index = 0;
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; ++s)
        for (int tt = 0; tt < 3; ++tt)
            for (int red = 0; red < 3; ++red)
                for (int variant = 0; variant < 4; ++variant) {
                    ce_case k = {shapes[s].ndim,
                                 {0},
                                 tts[tt],
                                 (clact_reduction)red,
                                 variant == 3 ? 2 : -100,
                                 variant == 1   ? 0.1
                                 : variant == 2 ? 1.0
                                                : 0.0,
                                 variant >= 2,
                                 variant == 3,
                                 variant % 3,
                                 0};
                    memcpy(k.shape, shapes[s].shape, sizeof k.shape);
                    if (k.ignore == 2 && (k.ndim == 1 ? k.shape[0] : k.shape[1]) <= 2)
                        k.ignore = -1;
                    run_case(dt, &k, index++);
                }
    /* Every target ignored: the mean is 0/0 = NaN, as in PyTorch; the sum is 0. */
    ce_case all = {2, {6, 4}, CLACT_TARGET_INT64, CLACT_REDUCTION_MEAN, -100, 0.0, 1, 0, 1, 1};
    run_case(dt, &all, index++);
    all.red = CLACT_REDUCTION_SUM;
    run_case(dt, &all, index++);
    /* A wide row. */
    ce_case wide = {2, {3, 5000}, CLACT_TARGET_INT32, CLACT_REDUCTION_MEAN, -100, 0.05, 1, 0, 1, 0};
    run_case(dt, &wide, index++);
}
END_TEST

START_TEST(cross_entropy_invalid_targets) {
    size_t shape[2] = {4, 3};
    float x[12] = {0};
    int64_t t[4] = {0, 2, 3, -100}; /* 3 is out of range for C = 3 */
    cl_int err;
    cl_mem xb = tu_buffer(12, CL_MEM_READ_WRITE);
    tu_write(xb, 0, 12, x);
    cl_mem tb = clCreateBuffer(clact_context_cl_context(tu_ctx()),
                               CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, sizeof t, t, &err);
    cl_mem lb = tu_buffer(4, CL_MEM_READ_WRITE), gb = tu_buffer(12, CL_MEM_READ_WRITE);
    tu_fill_bits(lb, 0, 4, POISON);
    tu_fill_bits(gb, 0, 12, POISON);
    clact_cross_entropy_desc d = clact_cross_entropy_default();
    d.flags = CLACT_CE_VALIDATE;
    ck_assert_int_eq(clact_cross_entropy(tu_ctx(), &d, CLACT_F32, 2, shape, xb, 0, tb, 0, NULL, 0,
                                         lb, 0, gb, 0, 0, NULL, NULL),
                     CLACT_INVALID_ARGUMENT);
    const char *msg = clact_context_last_error(tu_ctx());
    ck_assert_msg(strstr(msg, "target 3 at position 2") && strstr(msg, "[0, 3)"), "%s", msg);
    ck_assert_int_eq(clFinish(clact_context_queue(tu_ctx())), CL_SUCCESS);
    float l[4], g[12];
    tu_read(lb, 0, 4, l);
    tu_read(gb, 0, 12, g);
    for (int i = 0; i < 4; ++i)
        ck_assert_msg(tu_bits(l[i]) == POISON, "loss written by a failed call");
    for (int i = 0; i < 12; ++i)
        ck_assert_msg(tu_bits(g[i]) == POISON, "grad written by a failed call");
    /* The default never blocks: no status, NaN where the target is invalid, right elsewhere,
     * and the position and value come back from the next clact_context_check, once. The 0.1.0
     * flag CLACT_CE_ASYNC is accepted and changes nothing. */
    for (int pass = 0; pass < 2; ++pass) {
        d.flags = pass ? CLACT_CE_ASYNC : 0;
        d.reduction = CLACT_REDUCTION_NONE;
        tu_fill_bits(lb, 0, 4, POISON);
        tu_fill_bits(gb, 0, 12, POISON);
        ck_assert_int_eq(clact_cross_entropy(tu_ctx(), &d, CLACT_F32, 2, shape, xb, 0, tb, 0, NULL,
                                             0, lb, 0, gb, 0, 0, NULL, NULL),
                         CLACT_OK);
        tu_read(lb, 0, 4, l);
        tu_read(gb, 0, 12, g);
        ck_assert(fabsf(l[0] - logf(3.0f)) < 1e-6f && fabsf(l[1] - logf(3.0f)) < 1e-6f);
        ck_assert(isnan(l[2]) && l[3] == 0.0f);
        ck_assert(isnan(g[6]) && isnan(g[8]) && g[9] == 0.0f &&
                  fabsf(g[0] - (1.0f / 3 - 1)) < 1e-6f);
        ck_assert_int_eq(clact_context_check(tu_ctx()), CLACT_INVALID_ARGUMENT);
        msg = clact_context_last_error(tu_ctx());
        ck_assert_msg(strstr(msg, "target 3 at position 2") && strstr(msg, "[0, 3)") &&
                          strstr(msg, "ignore_index (-100)"),
                      "%s", msg);
        ck_assert_int_eq(clact_context_check(tu_ctx()), CLACT_OK); /* reported once */
    }
    /* Negative indices other than ignore_index are out of range too; int32 as well. */
    int32_t t32[4] = {0, -1, 1, 1};
    cl_mem tb32 = clCreateBuffer(clact_context_cl_context(tu_ctx()),
                                 CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, sizeof t32, t32, &err);
    d = clact_cross_entropy_default();
    d.target_type = CLACT_TARGET_INT32;
    d.flags = CLACT_CE_VALIDATE;
    ck_assert_int_eq(clact_cross_entropy(tu_ctx(), &d, CLACT_F32, 2, shape, xb, 0, tb32, 0, NULL, 0,
                                         lb, 0, NULL, 0, 0, NULL, NULL),
                     CLACT_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(clact_context_last_error(tu_ctx()), "target -1 at position 1"));
    d.flags = 0;
    ck_assert_int_eq(clact_cross_entropy(tu_ctx(), &d, CLACT_F32, 2, shape, xb, 0, tb32, 0, NULL, 0,
                                         lb, 0, NULL, 0, 0, NULL, NULL),
                     CLACT_OK);
    ck_assert_int_eq(clact_context_check(tu_ctx()), CLACT_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(clact_context_last_error(tu_ctx()), "target -1 at position 1"));

    /* Bad options and buffers. */
    d = clact_cross_entropy_default();
    clact_cross_entropy_desc bad = d;
    bad.label_smoothing = 1.5;
    ck_assert_int_eq(clact_cross_entropy(tu_ctx(), &bad, CLACT_F32, 2, shape, xb, 0, tb, 0, NULL, 0,
                                         lb, 0, NULL, 0, 0, NULL, NULL),
                     CLACT_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(clact_context_last_error(tu_ctx()), "label_smoothing"));
    bad = d;
    bad.reduction = (clact_reduction)7;
    ck_assert_int_eq(clact_cross_entropy(tu_ctx(), &bad, CLACT_F32, 2, shape, xb, 0, tb, 0, NULL, 0,
                                         lb, 0, NULL, 0, 0, NULL, NULL),
                     CLACT_INVALID_ARGUMENT);
    bad = d;
    bad.target_type = CLACT_TARGET_PROBS;
    bad.ignore_index = 0;
    ck_assert_int_eq(clact_cross_entropy(tu_ctx(), &bad, CLACT_F32, 2, shape, xb, 0, gb, 0, NULL, 0,
                                         lb, 0, NULL, 0, 0, NULL, NULL),
                     CLACT_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(clact_context_last_error(tu_ctx()), "ignore_index"));
    size_t noclass[2] = {4, 0};
    ck_assert_int_eq(clact_cross_entropy(tu_ctx(), &d, CLACT_F32, 2, noclass, xb, 0, tb, 0, NULL, 0,
                                         lb, 0, NULL, 0, 0, NULL, NULL),
                     CLACT_INVALID_ARGUMENT);
    ck_assert_int_eq(clact_cross_entropy(tu_ctx(), &d, CLACT_F32, 2, shape, xb, 0, NULL, 0, NULL, 0,
                                         lb, 0, NULL, 0, 0, NULL, NULL),
                     CLACT_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(clact_context_last_error(tu_ctx()), "target is NULL"));
    size_t bigger[2] = {5, 3};
    ck_assert_int_eq(clact_cross_entropy(tu_ctx(), &d, CLACT_F32, 2, bigger, xb, 0, tb, 0, NULL, 0,
                                         lb, 0, NULL, 0, 0, NULL, NULL),
                     CLACT_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(clact_context_last_error(tu_ctx()), "do not fit"));
    d.reduction = CLACT_REDUCTION_NONE;
    ck_assert_int_eq(clact_cross_entropy(tu_ctx(), &d, CLACT_F32, 2, shape, xb, 0, tb, 0, NULL, 0,
                                         lb, 1, NULL, 0, 0, NULL, NULL),
                     CLACT_INVALID_ARGUMENT);
    ck_assert_int_eq(clact_cross_entropy(tu_ctx(), &d, CLACT_F32, 2, shape, xb, 0, tb, 0, NULL, 0,
                                         xb, 0, NULL, 0, 0, NULL, NULL),
                     CLACT_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(clact_context_last_error(tu_ctx()), "overlap"));
    ck_assert_int_eq(clact_cross_entropy(tu_ctx(), NULL, CLACT_F32, 2, shape, xb, 0, tb, 0, NULL, 0,
                                         lb, 0, NULL, 0, 0, NULL, NULL),
                     CLACT_INVALID_ARGUMENT);
    ck_assert_int_eq(clact_cross_entropy(tu_ctx(), &d, (clact_dtype)7, 2, shape, xb, 0, tb, 0, NULL,
                                         0, lb, 0, NULL, 0, 0, NULL, NULL),
                     CLACT_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(clact_context_last_error(tu_ctx()), "dtype"));
    clReleaseMemObject(xb);
    clReleaseMemObject(tb);
    clReleaseMemObject(tb32);
    clReleaseMemObject(lb);
    clReleaseMemObject(gb);
}
END_TEST

/* The frame a training loop or a caller's pipeline relies on: a cross-entropy call with a bad
 * class index returns at once while a user event still holds its inputs back (a call that waited
 * would hang here), runs once the gate opens, and the deferred check names the first bad
 * position of the first such call (an earlier error is not overwritten by a later one), then
 * nothing more. clact_context_check(NULL) is an argument error. */
START_TEST(cross_entropy_deferred_check) {
    size_t shape[2] = {6, 4};
    int64_t t1[6] = {0, 1, 2, 3, -100, 4}, t2[6] = {9, 0, 0, 0, 0, 0};
    cl_int err;
    cl_context cl = clact_context_cl_context(tu_ctx());
    cl_mem xb = tu_buffer(24, CL_MEM_READ_WRITE), lb = tu_buffer(1, CL_MEM_READ_WRITE);
    cl_mem gb = tu_buffer(24, CL_MEM_READ_WRITE);
    float x[24];
    for (int i = 0; i < 24; ++i)
        x[i] = (float)(i % 5) * 0.25f;
    tu_write(xb, 0, 24, x);
    cl_mem tb1 = clCreateBuffer(cl, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, sizeof t1, t1, &err);
    cl_mem tb2 = clCreateBuffer(cl, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, sizeof t2, t2, &err);
    ck_assert(tb1 && tb2);
    cl_event gate = clCreateUserEvent(cl, &err), e1 = NULL, e2 = NULL;
    ck_assert(gate);
    clact_cross_entropy_desc d = clact_cross_entropy_default();
    ck_assert_int_eq(clact_cross_entropy(tu_ctx(), &d, CLACT_F32, 2, shape, xb, 0, tb1, 0, NULL, 0,
                                         lb, 0, gb, 0, 1, &gate, &e1),
                     CLACT_OK);
    ck_assert_int_eq(clact_cross_entropy(tu_ctx(), &d, CLACT_F32, 2, shape, xb, 0, tb2, 0, NULL, 0,
                                         lb, 0, NULL, 0, 1, &e1, &e2),
                     CLACT_OK);
    cl_int st;
    ck_assert_int_eq(clGetEventInfo(e2, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof st, &st, NULL),
                     CL_SUCCESS);
    ck_assert_msg(st > CL_COMPLETE, "cross_entropy ran before its gate opened");
    ck_assert_int_eq(clSetUserEventStatus(gate, CL_COMPLETE), CL_SUCCESS);
    ck_assert_int_eq(clact_context_check(tu_ctx()), CLACT_INVALID_ARGUMENT);
    const char *msg = clact_context_last_error(tu_ctx());
    ck_assert_msg(strstr(msg, "target 4 at position 5") && strstr(msg, "[0, 4)"), "%s", msg);
    ck_assert_int_eq(clact_context_check(tu_ctx()), CLACT_OK);
    ck_assert_str_eq(clact_context_last_error(tu_ctx()), "");
    float loss;
    tu_read(lb, 0, 1, &loss);
    ck_assert_msg(isnan(loss), "a mean over a bad index is NaN, got %g", (double)loss);
    ck_assert_int_eq(clact_context_check(NULL), CLACT_INVALID_ARGUMENT);
    clReleaseEvent(e1), clReleaseEvent(e2), clReleaseEvent(gate);
    clReleaseMemObject(xb), clReleaseMemObject(lb), clReleaseMemObject(gb);
    clReleaseMemObject(tb1), clReleaseMemObject(tb2);
}
END_TEST

Suite *loss_suite(void);
Suite *loss_suite(void) {
    Suite *s = suite_create("loss");
    TCase *tc = tcase_create("cross_entropy");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, cross_entropy_options, CLACT_F32, CLACT_F64 + 1);
    tcase_add_test(tc, cross_entropy_invalid_targets);
    tcase_add_test(tc, cross_entropy_deferred_check);
    suite_add_tcase(s, tc);
    return s;
}
