/* SPDX-License-Identifier: MIT */
/* The largest buffer the device allows (CL_DEVICE_MAX_MEM_ALLOC_SIZE; PoCL here: 4 GiB, so
 * 2^31 f16 or 2^30 f32 elements, byte offsets up to 2^32): ops over the whole buffer and at
 * element offsets near its end, checked against the reference in windows at both ends, so
 * that index or offset arithmetic done in 32 bits anywhere on the way (host or kernel) shows.
 * Elements past 2^31 are reached where the device allows more than 4 GiB for f16 (GPUs with
 * large memories). Skipped under CLACT_TEST_QUICK (valgrind would take hours) and, saying so,
 * where the device cannot hold the buffer (global memory below 1.5 times the allocation). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

enum { WIN = 4096 };

static cl_ulong max_alloc(void) {
    cl_ulong a = 0, g = 0;
    cl_device_id d = clact_context_device(tu_ctx());
    ck_assert_int_eq(clGetDeviceInfo(d, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof a, &a, NULL),
                     CL_SUCCESS);
    ck_assert_int_eq(clGetDeviceInfo(d, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof g, &g, NULL),
                     CL_SUCCESS);
    if (g / 3 * 2 < a) {
        printf("large: skipped: the device's global memory (%llu bytes) cannot hold its largest "
               "buffer (%llu) with room to spare\n",
               (unsigned long long)g, (unsigned long long)a);
        return 0;
    }
    /* 8 GiB at most: enough for element indices past 2^31 in f16, bounded in time. */
    return a < ((cl_ulong)8 << 30) ? a : (cl_ulong)8 << 30;
}

/* Random values in [-6, 6] with a few specials, rounded to dt, written at element offset at. */
static void fill_window(clact_dtype dt, cl_mem m, size_t at, double *x, tu_rng *r) {
    for (int i = 0; i < WIN; ++i)
        x[i] = tu_round_dt(dt, tu_uniform(r, -6, 6));
    x[0] = -0.0;
    x[1] = INFINITY;
    x[2] = -INFINITY;
    x[3] = NAN;
    tu_write_dt(dt, m, at, WIN, x);
}

/* Compare the window at element offset at with the reference of op on x: within 1 ulp of the
 * correctly rounded value in 16-bit types (the dtypes suite's bound); in f32 within 8 ulp (the
 * accuracy of each op is the activation suite's business; a wrong index here is off by far
 * more). */
static void check_window(clact_dtype dt, cl_mem m, size_t at, const clact_activation *act,
                         const double *x, const char *where) {
    double got[WIN], ref[WIN];
    ck_assert_int_eq(clact_reference_forward(act, dt, WIN, x, ref), CLACT_OK);
    ck_assert_msg(tu_read_dt(dt, m, at, WIN, got), "%s: poison left", where);
    for (int i = 0; i < WIN; ++i) {
        double want = tu_round_dt(dt, ref[i]);
        if (isnan(want) || isnan(got[i])) {
            ck_assert_msg(isnan(want) && isnan(got[i]), "%s %s element %zu (x = %g): %g, want %g",
                          clact_op_name(act->op), where, at + i, x[i], got[i], want);
            continue;
        }
        int ok = dt == CLACT_F32
                     ? tu_ulp_error((float)got[i], ref[i]) <= 8
                     : labs(tu_order16(tu_round16(dt, got[i])) - tu_order16(tu_round16(dt, want))) <=
                           1;
        ck_assert_msg(ok, "%s %s element %zu (x = %g): %.9g, want %.9g", clact_op_name(act->op),
                      where, at + i, x[i], got[i], want);
    }
}

/* Loop index: dtype (f16, f32). The whole buffer through relu and gelu in place (windows at both
 * ends checked), then gelu on the last 2 WIN elements through an element offset. */
START_TEST(largest_buffer) {
    if (tu_quick())
        return;
    const clact_dtype dt = _i == 0 ? CLACT_F16 : CLACT_F32;
    cl_ulong bytes = max_alloc();
    if (!bytes)
        return;
    size_t es = clact_dtype_size(dt), n = (size_t)(bytes / es);
    cl_mem m = NULL;
    ck_assert_int_eq(clact_buffer_create(tu_ctx(), CL_MEM_READ_WRITE, n * es, NULL, &m), CLACT_OK);
    /* The middle stays as the driver gives it: relu and gelu take any bit pattern. */
    tu_rng r = tu_rng_for("large", (uint64_t)_i);
    static double head[WIN], tail[WIN];
    const size_t end = n - WIN;
    const clact_activation acts[2] = {clact_activation_default(CLACT_RELU),
                                      clact_activation_default(CLACT_GELU)};
    for (int a = 0; a < 2; ++a) {
        fill_window(dt, m, 0, head, &r);
        fill_window(dt, m, end, tail, &r);
        ck_assert_msg(clact_forward(tu_ctx(), &acts[a], dt, n, m, 0, m, 0, 0, NULL, NULL) ==
                          CLACT_OK,
                      "%s over %zu elements: %s", clact_op_name(acts[a].op), n,
                      clact_context_last_error(tu_ctx()));
        check_window(dt, m, 0, &acts[a], head, "head");
        check_window(dt, m, end, &acts[a], tail, "tail");
    }
    /* An element offset near the end (byte offset near the allocation's size): in and out of
     * place. */
    fill_window(dt, m, end, tail, &r);
    tu_poison_dt(dt, m, end - WIN, WIN);
    ck_assert_int_eq(clact_forward(tu_ctx(), &acts[1], dt, WIN, m, end, m, end - WIN, 0, NULL,
                                   NULL),
                     CLACT_OK);
    check_window(dt, m, end - WIN, &acts[1], tail, "offset");
    /* Softmax over the last row (C = WIN), through the offset. */
    fill_window(dt, m, end, tail, &r);
    for (int i = 0; i < 4; ++i) /* finite logits: the specials are the elementwise ops' */
        tail[i] = tu_round_dt(dt, (double)i);
    tu_write_dt(dt, m, end, WIN, tail);
    const size_t shape[2] = {1, WIN};
    ck_assert_int_eq(clact_softmax(tu_ctx(), CLACT_SOFTMAX, 0, dt, 2, shape, 1, m, end, m, end, 0,
                                   NULL, NULL),
                     CLACT_OK);
    double got[WIN], mx = -INFINITY, s = 0;
    ck_assert(tu_read_dt(dt, m, end, WIN, got));
    for (int i = 0; i < WIN; ++i)
        mx = fmax(mx, tail[i]);
    for (int i = 0; i < WIN; ++i)
        s += exp(tail[i] - mx);
    for (int i = 0; i < WIN; ++i) {
        double want = exp(tail[i] - mx) / s;
        /* Relative (the softmax suite holds the accuracy; a wrong index is off by far more),
         * plus f16's subnormal spacing for the smallest outputs. */
        ck_assert_msg(fabs(got[i] - want) <=
                          64 * tu_dtype_eps(dt) * want + (dt == CLACT_F16 ? 0x1p-24 : 0x1p-149),
                      "softmax at the end, element %d: %g, want %g", i, got[i], want);
    }
    ck_assert_int_eq(clFinish(clact_context_queue(tu_ctx())), CL_SUCCESS);
    clReleaseMemObject(m);
}
END_TEST

Suite *large_suite(void);
Suite *large_suite(void) {
    Suite *s = suite_create("large");
    TCase *tc = tcase_create("largest buffer");
    tcase_set_timeout(tc, 600);
    tcase_add_loop_test(tc, largest_buffer, 0, 2);
    suite_add_tcase(s, tc);
    return s;
}
