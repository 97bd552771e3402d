/* SPDX-License-Identifier: MIT */
/* Device choice, contexts over borrowed queues, and the event contract: ops enqueue behind a
 * wait list, hand back an event, and never block. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

static size_t device_count(clact_device_info *list, size_t cap) {
    size_t n = 0;
    ck_assert_int_eq(clact_device_list(list, cap, &n), CLACT_OK);
    return n;
}

START_TEST(device_list_and_specs) {
    clact_device_info list[16];
    size_t n = device_count(list, 16);
    ck_assert_uint_ge(n, 1);
    size_t def;
    ck_assert_int_eq(clact_device_select(NULL, &def), CLACT_OK);
    ck_assert_uint_lt(def, n);
    /* The default prefers a GPU, then an accelerator, then a CPU. */
    int has_gpu = 0;
    for (size_t i = 0; i < n && i < 16; ++i)
        has_gpu |= !strcmp(list[i].type, "gpu");
    if (has_gpu)
        ck_assert_str_eq(list[def].type, "gpu");
    ck_assert_uint_ge(list[def].compute_units, 1);
    ck_assert(list[def].global_mem_bytes > 0);
    ck_assert_int_gt((int)strlen(list[def].name), 0);

    /* P:D and a case-flipped substring of the name both find the same device. */
    char spec[64], sub[8];
    snprintf(spec, sizeof spec, "%u:%u", list[def].platform_index, list[def].device_index);
    size_t idx = 99;
    ck_assert_int_eq(clact_device_select(spec, &idx), CLACT_OK);
    ck_assert_uint_eq(idx, def);
    size_t len = strlen(list[def].name);
    memcpy(sub, list[def].name + (len > 4 ? len / 2 - 2 : 0), len > 4 ? 4 : len);
    sub[len > 4 ? 4 : len] = '\0';
    for (char *p = sub; *p; ++p)
        *p = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : (*p >= 'A' && *p <= 'Z' ? *p + 32 : *p));
    ck_assert_int_eq(clact_device_select(sub, &idx), CLACT_OK);
    ck_assert_str_eq(list[def].type, list[idx].type);
    ck_assert_int_eq(clact_device_select(list[def].type, &idx), CLACT_OK);

    /* Nothing matches: NO_DEVICE, and the detail names the spec and lists what exists. */
    ck_assert_int_eq(clact_device_select("no-such-device-xyz", &idx), CLACT_NO_DEVICE);
    ck_assert_ptr_nonnull(strstr(clact_context_last_error(NULL), "no-such-device-xyz"));
    ck_assert_ptr_nonnull(strstr(clact_context_last_error(NULL), list[0].name));
    ck_assert_int_eq(clact_device_select("7:7", &idx), CLACT_NO_DEVICE);
    if (!has_gpu)
        ck_assert_int_eq(clact_device_select("gpu", &idx), CLACT_NO_DEVICE);
    ck_assert_int_eq(clact_device_select(NULL, NULL), CLACT_INVALID_ARGUMENT);
    ck_assert_int_eq(clact_device_list(NULL, 3, &n), CLACT_INVALID_ARGUMENT);
    ck_assert_int_eq(clact_device_list(NULL, 0, NULL), CLACT_INVALID_ARGUMENT);
}
END_TEST

START_TEST(context_create_from_spec_and_env) {
    clact_context *ctx = (clact_context *)&ctx;
    ck_assert_int_eq(clact_context_create(&ctx, "no-such-device-xyz"), CLACT_NO_DEVICE);
    ck_assert_ptr_null(ctx);
    ck_assert_ptr_nonnull(strstr(clact_context_last_error(NULL), "no-such-device-xyz"));
    ck_assert_int_eq(clact_context_create(NULL, NULL), CLACT_INVALID_ARGUMENT);

    setenv("CLACT_DEVICE", "no-such-device-env", 1);
    ck_assert_int_eq(clact_context_create(&ctx, NULL), CLACT_NO_DEVICE);
    ck_assert_ptr_nonnull(strstr(clact_context_last_error(NULL), "CLACT_DEVICE"));
    /* An explicit spec wins over the environment. */
    ck_assert_int_eq(clact_context_create(&ctx, "0:0"), CLACT_OK);
    clact_context_destroy(ctx);
    unsetenv("CLACT_DEVICE");
    ck_assert_int_eq(clact_context_create(&ctx, NULL), CLACT_OK);
    ck_assert_ptr_nonnull(clact_context_queue(ctx));
    ck_assert_ptr_nonnull(clact_context_cl_context(ctx));
    ck_assert_ptr_nonnull(clact_context_device(ctx));
    ck_assert_str_eq(clact_context_last_error(ctx), "");
    clact_context_destroy(ctx);
    clact_context_destroy(NULL);
    ck_assert_ptr_null(clact_context_queue(NULL));

    /* CLACT_VECTOR_WIDTH: a width the kernels are not written for is refused, by name. */
    const char *had = getenv("CLACT_VECTOR_WIDTH");
    char *saved = had ? strdup(had) : NULL;
    static const char *const bad[] = {"3", "32", "0", "8x", "-4"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; ++i) {
        setenv("CLACT_VECTOR_WIDTH", bad[i], 1);
        ctx = (clact_context *)&ctx;
        ck_assert_int_eq(clact_context_create(&ctx, NULL), CLACT_INVALID_ARGUMENT);
        ck_assert_ptr_null(ctx);
        ck_assert_ptr_nonnull(strstr(clact_context_last_error(NULL), "CLACT_VECTOR_WIDTH"));
    }
    setenv("CLACT_VECTOR_WIDTH", "2", 1);
    ck_assert_int_eq(clact_context_create(&ctx, NULL), CLACT_OK);
    clact_context_destroy(ctx);
    if (saved)
        setenv("CLACT_VECTOR_WIDTH", saved, 1);
    else
        unsetenv("CLACT_VECTOR_WIDTH");
    free(saved);
    /* CLACT_TABLES takes 0 or 1 only. */
    setenv("CLACT_TABLES", "yes", 1);
    ctx = (clact_context *)&ctx;
    ck_assert_int_eq(clact_context_create(&ctx, NULL), CLACT_INVALID_ARGUMENT);
    ck_assert_ptr_null(ctx);
    ck_assert_ptr_nonnull(strstr(clact_context_last_error(NULL), "CLACT_TABLES=yes"));
    unsetenv("CLACT_TABLES");
}
END_TEST

/* A context over the caller's own cl_context and queue: the op runs on that queue, and the
 * queue outlives the clact context (retained and released, never destroyed). */
static void borrowed_queue(cl_command_queue_properties props) {
    cl_device_id dev = clact_context_device(tu_ctx());
    cl_int err;
    cl_context cl = clCreateContext(NULL, 1, &dev, NULL, NULL, &err);
    ck_assert_ptr_nonnull(cl);
    cl_command_queue q = clCreateCommandQueue(cl, dev, props, &err);
    ck_assert_ptr_nonnull(q);
    clact_context *ctx = NULL;
    ck_assert_int_eq(clact_context_create_from_queue(&ctx, q), CLACT_OK);
    ck_assert_ptr_eq(clact_context_queue(ctx), q);
    ck_assert_ptr_eq(clact_context_cl_context(ctx), cl);

    float x[5] = {-2, -1, 0, 1, 2}, y[5];
    cl_mem b = clCreateBuffer(cl, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, sizeof x, x, &err);
    ck_assert_ptr_nonnull(b);
    clact_activation relu = clact_activation_default(CLACT_RELU);
    cl_event ev;
    ck_assert_int_eq(clact_forward(ctx, &relu, CLACT_F32, 5, b, 0, b, 0, 0, NULL, &ev), CLACT_OK);
    /* Buffers of another cl_context are refused. */
    ck_assert_int_eq(clact_forward(tu_ctx(), &relu, CLACT_F32, 5, b, 0, b, 0, 0, NULL, NULL),
                     CLACT_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(clact_context_last_error(tu_ctx()), "another cl_context"));
    clact_context_destroy(ctx);
    /* The queue is still the caller's and still works after the clact context is gone. */
    ck_assert_int_eq(clEnqueueReadBuffer(q, b, CL_TRUE, 0, sizeof y, y, 1, &ev, NULL), CL_SUCCESS);
    ck_assert(y[0] == 0 && y[1] == 0 && y[2] == 0 && y[3] == 1 && y[4] == 2);
    clReleaseEvent(ev);
    clReleaseMemObject(b);
    ck_assert_int_eq(clReleaseCommandQueue(q), CL_SUCCESS);
    ck_assert_int_eq(clReleaseContext(cl), CL_SUCCESS);
}

START_TEST(context_from_queue) {
    borrowed_queue(0);
    borrowed_queue(CL_QUEUE_PROFILING_ENABLE);
    cl_command_queue_properties oo = 0;
    clGetDeviceInfo(clact_context_device(tu_ctx()), CL_DEVICE_QUEUE_PROPERTIES, sizeof oo, &oo,
                    NULL);
    if (oo & CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE)
        borrowed_queue(CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE);
    clact_context *ctx = (clact_context *)&ctx;
    ck_assert_int_eq(clact_context_create_from_queue(&ctx, NULL), CLACT_INVALID_ARGUMENT);
    ck_assert_ptr_null(ctx);
    ck_assert_ptr_nonnull(strstr(clact_context_last_error(NULL), "queue"));
}
END_TEST

/* A user event gates the queue: every op returns at once, nothing runs before the gate opens,
 * and everything is right after. Also n = 0, which enqueues a marker with the same contract. */
START_TEST(ops_never_block) {
    cl_int err;
    cl_context cl = clact_context_cl_context(tu_ctx());
    cl_event gate = clCreateUserEvent(cl, &err);
    ck_assert_ptr_nonnull(gate);
    enum { N = 4099 };
    static float x[N], y[N];
    for (int i = 0; i < N; ++i)
        x[i] = (float)(i - N / 2) / 100.0f;
    cl_mem b = tu_buffer(N, CL_MEM_READ_WRITE);
    tu_write(b, 0, N, x);
    clact_activation sig = clact_activation_default(CLACT_SIGMOID);
    clact_activation relu = clact_activation_default(CLACT_RELU);
    cl_event e1, e2, e0;
    ck_assert_int_eq(clact_forward(tu_ctx(), &relu, CLACT_F32, N, b, 0, b, 0, 1, &gate, &e1),
                     CLACT_OK);
    ck_assert_int_eq(clact_forward(tu_ctx(), &sig, CLACT_F32, N, b, 0, b, 0, 1, &e1, &e2),
                     CLACT_OK);
    ck_assert_int_eq(clact_forward(tu_ctx(), &sig, CLACT_F32, 0, b, 0, b, 0, 1, &e2, &e0),
                     CLACT_OK);
    ck_assert_ptr_nonnull(e0);
    cl_int s1, s0;
    clGetEventInfo(e1, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof s1, &s1, NULL);
    clGetEventInfo(e0, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof s0, &s0, NULL);
    ck_assert_int_gt(s1, CL_COMPLETE); /* queued or submitted, not running: the gate is shut */
    ck_assert_int_gt(s0, CL_COMPLETE);
    ck_assert_int_eq(clSetUserEventStatus(gate, CL_COMPLETE), CL_SUCCESS);
    ck_assert_int_eq(clWaitForEvents(1, &e0), CL_SUCCESS);
    tu_read(b, 0, N, y);
    for (int i = 0; i < N; ++i) {
        double r = x[i] > 0 ? x[i] : 0.0;
        double want = 1.0 / (1.0 + exp(-r));
        if (fabs(y[i] - want) > 1e-6)
            ck_abort_msg("element %d: %g, want %g", i, (double)y[i], want);
    }
    clReleaseEvent(e0);
    clReleaseEvent(e1);
    clReleaseEvent(e2);
    clReleaseEvent(gate);
    clReleaseMemObject(b);
}
END_TEST

/* Every kind of op behind one user event on a borrowed queue (in-order and out-of-order, with
 * and without profiling), chained only by events: relu -> sigmoid in place, softmax by rows,
 * log_softmax split over work-groups (scratch buffer), softmax backward from both, and
 * cross-entropy with its gradient (with its default flags: it never waits). Every call returns
 * while the gate is shut (a call that waited would hang here), nothing has run, and all results are
 * right once it opens. */
static void gated(cl_command_queue_properties props) {
    cl_device_id dev = clact_context_device(tu_ctx());
    cl_int err;
    cl_context cl = clCreateContext(NULL, 1, &dev, NULL, NULL, &err);
    cl_command_queue q = clCreateCommandQueue(cl, dev, props, &err);
    ck_assert(cl && q);
    clact_context *ctx = NULL;
    ck_assert_int_eq(clact_context_create_from_queue(&ctx, q), CLACT_OK);
    enum { R = 16, C = 256, N = R * C };
    static float x[N], out[4][N];
    static double xd[N], sd[N], pd[N], ld[N], dd[N], gd[N];
    int64_t t[R];
    for (int i = 0; i < N; ++i)
        x[i] = (float)((i * 7919) % 2001 - 1000) / 100.0f;
    for (int r = 0; r < R; ++r)
        t[r] = (r * 37) % C;
    cl_mem_flags rw = CL_MEM_READ_WRITE;
    cl_mem a = clCreateBuffer(cl, rw | CL_MEM_COPY_HOST_PTR, sizeof x, x, &err);
    cl_mem tb = clCreateBuffer(cl, rw | CL_MEM_COPY_HOST_PTR, sizeof t, t, &err);
    cl_mem b[4], lb = clCreateBuffer(cl, rw, 4, NULL, &err);
    for (int k = 0; k < 4; ++k)
        b[k] = clCreateBuffer(cl, rw, sizeof x, NULL, &err);
    ck_assert(a && tb && lb && b[3]);
    cl_event gate = clCreateUserEvent(cl, &err), e[7];
    clact_activation relu = clact_activation_default(CLACT_RELU);
    clact_activation sig = clact_activation_default(CLACT_SIGMOID);
    const size_t shape[2] = {R, C};
    clact_cross_entropy_desc d = clact_cross_entropy_default();
    ck_assert_int_eq(clact_forward(ctx, &relu, CLACT_F32, N, a, 0, a, 0, 1, &gate, &e[0]),
                     CLACT_OK);
    ck_assert_int_eq(clact_forward(ctx, &sig, CLACT_F32, N, a, 0, a, 0, 1, &e[0], &e[1]), CLACT_OK);
    ck_assert_int_eq(clact_softmax(ctx, CLACT_SOFTMAX, 0, CLACT_F32, 2, shape, 1, a, 0, b[0], 0, 1,
                                   &e[1], &e[2]),
                     CLACT_OK);
    /* A second context on the same queue, made with the split path forced (a context reads the
     * environment when it is created); it shares the scratch-free ops' queue and events. */
    clact_context *split = NULL;
    setenv("CLACT_SOFTMAX_PATH", "split", 1);
    ck_assert_int_eq(clact_context_create_from_queue(&split, q), CLACT_OK);
    unsetenv("CLACT_SOFTMAX_PATH");
    ck_assert_int_eq(clact_softmax(split, CLACT_LOG_SOFTMAX, 0, CLACT_F32, 2, shape, 1, a, 0, b[1],
                                   0, 1, &e[1], &e[3]),
                     CLACT_OK);
    cl_event both[2] = {e[2], e[3]};
    ck_assert_int_eq(clact_softmax_backward(ctx, CLACT_SOFTMAX, CLACT_F32, 2, shape, 1, b[0], 0,
                                            b[1], 0, b[2], 0, 2, both, &e[4]),
                     CLACT_OK);
    ck_assert_int_eq(clact_cross_entropy(ctx, &d, CLACT_F32, 2, shape, a, 0, tb, 0, NULL, 0, lb, 0,
                                         b[3], 0, 1, &e[1], &e[5]),
                     CLACT_OK);
    cl_event all[4] = {e[2], e[3], e[4], e[5]};
    ck_assert_int_eq(clEnqueueMarkerWithWaitList(q, 4, all, &e[6]), CL_SUCCESS);
    for (int k = 0; k < 7; ++k) {
        cl_int st;
        clGetEventInfo(e[k], CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof st, &st, NULL);
        ck_assert_msg(st > CL_COMPLETE, "props %lu: event %d ran before the gate opened",
                      (unsigned long)props, k);
    }
    ck_assert_int_eq(clSetUserEventStatus(gate, CL_COMPLETE), CL_SUCCESS);
    ck_assert_int_eq(clWaitForEvents(1, &e[6]), CL_SUCCESS);
    float loss;
    for (int k = 0; k < 4; ++k)
        ck_assert_int_eq(clEnqueueReadBuffer(q, b[k], CL_TRUE, 0, sizeof x, out[k], 0, NULL, NULL),
                         CL_SUCCESS);
    ck_assert_int_eq(clEnqueueReadBuffer(q, lb, CL_TRUE, 0, 4, &loss, 0, NULL, NULL), CL_SUCCESS);
    for (int i = 0; i < N; ++i)
        xd[i] = 1 / (1 + exp(-(x[i] > 0 ? (double)x[i] : 0.0)));
    ck_assert_int_eq(clact_reference_softmax(CLACT_SOFTMAX, 0, 2, shape, 1, xd, sd), CLACT_OK);
    ck_assert_int_eq(clact_reference_softmax(CLACT_LOG_SOFTMAX, 0, 2, shape, 1, xd, ld), CLACT_OK);
    for (int i = 0; i < N; ++i)
        pd[i] = out[0][i], dd[i] = out[1][i];
    ck_assert_int_eq(clact_reference_softmax_backward(CLACT_SOFTMAX, 2, shape, 1, pd, dd, gd),
                     CLACT_OK);
    double lref;
    static double grad[N];
    ck_assert_int_eq(clact_reference_cross_entropy(&d, 2, shape, xd, t, NULL, &lref, grad),
                     CLACT_OK);
    for (int i = 0; i < N; ++i) {
        double want[4] = {sd[i], ld[i], gd[i], grad[i]};
        for (int k = 0; k < 4; ++k)
            if (!(fabs(out[k][i] - want[k]) <= 1e-5 * fabs(want[k]) + 1e-7))
                ck_abort_msg("props %lu: output %d element %d: %g, want %g", (unsigned long)props,
                             k, i, (double)out[k][i], want[k]);
    }
    ck_assert_msg(fabs(loss - lref) <= 1e-5 * fabs(lref), "loss %g, want %g", (double)loss, lref);
    for (int k = 0; k < 7; ++k)
        clReleaseEvent(e[k]);
    clReleaseEvent(gate);
    for (int k = 0; k < 4; ++k)
        clReleaseMemObject(b[k]);
    clReleaseMemObject(a), clReleaseMemObject(tb), clReleaseMemObject(lb);
    clact_context_destroy(split);
    clact_context_destroy(ctx);
    clReleaseCommandQueue(q);
    clReleaseContext(cl);
}

/* The 16-bit lookup tables behind a shut gate (CLACT_TABLES=1 on a borrowed queue): the first
 * call builds sigmoid's table and looks it up, the second finds it; both return while the gate
 * is shut, and both give the kernel's bits once it opens. (That an out-of-order queue's lookup
 * waits for the table's command is fault_tests' to see: the command waits for nothing and is
 * done long before a gate opens.) */
static void gated_tables(cl_command_queue_properties props) {
    cl_device_id dev = clact_context_device(tu_ctx());
    cl_int err;
    cl_context cl = clCreateContext(NULL, 1, &dev, NULL, NULL, &err);
    cl_command_queue q = clCreateCommandQueue(cl, dev, props, &err);
    ck_assert(cl && q);
    clact_context *tab = NULL, *plain = NULL;
    setenv("CLACT_TABLES", "1", 1);
    ck_assert_int_eq(clact_context_create_from_queue(&tab, q), CLACT_OK);
    setenv("CLACT_TABLES", "0", 1);
    ck_assert_int_eq(clact_context_create_from_queue(&plain, q), CLACT_OK);
    unsetenv("CLACT_TABLES");
    enum { N = 5000 };
    static uint16_t x[N], want[N], got[2][N];
    for (int i = 0; i < N; ++i)
        x[i] = (uint16_t)(i * 13); /* every 13th f16 bit pattern up to 0xfdf8 */
    cl_mem_flags rw = CL_MEM_READ_WRITE;
    cl_mem xb = clCreateBuffer(cl, rw | CL_MEM_COPY_HOST_PTR, sizeof x, x, &err);
    cl_mem yb[2] = {clCreateBuffer(cl, rw, sizeof x, NULL, &err),
                    clCreateBuffer(cl, rw, sizeof x, NULL, &err)};
    cl_mem wb = clCreateBuffer(cl, rw, sizeof x, NULL, &err);
    ck_assert(xb && yb[0] && yb[1] && wb);
    clact_activation sig = clact_activation_default(CLACT_SIGMOID);
    cl_event done;
    ck_assert_int_eq(clact_forward(plain, &sig, CLACT_F16, N, xb, 0, wb, 0, 0, NULL, &done),
                     CLACT_OK);
    ck_assert_int_eq(clEnqueueReadBuffer(q, wb, CL_TRUE, 0, sizeof x, want, 1, &done, NULL),
                     CL_SUCCESS);
    clReleaseEvent(done);
    for (int k = 0; k < 2; ++k) {
        cl_event gate = clCreateUserEvent(cl, &err), e;
        ck_assert_int_eq(clact_forward(tab, &sig, CLACT_F16, N, xb, 0, yb[k], 0, 1, &gate, &e),
                         CLACT_OK);
        cl_int st;
        clGetEventInfo(e, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof st, &st, NULL);
        ck_assert_msg(st > CL_COMPLETE, "props %lu, call %d: ran before the gate opened",
                      (unsigned long)props, k);
        ck_assert_int_eq(clSetUserEventStatus(gate, CL_COMPLETE), CL_SUCCESS);
        ck_assert_int_eq(clEnqueueReadBuffer(q, yb[k], CL_TRUE, 0, sizeof x, got[k], 1, &e, NULL),
                         CL_SUCCESS);
        for (int i = 0; i < N; ++i)
            ck_assert_msg(got[k][i] == want[i], "props %lu, call %d: x 0x%04x: 0x%04x, want 0x%04x",
                          (unsigned long)props, k, x[i], got[k][i], want[i]);
        clReleaseEvent(e);
        clReleaseEvent(gate);
    }
    /* Twelve tables behind one shut gate (elu, twelve alphas): the ninth and later evict tables
     * whose lookups have not run, and the context is destroyed before the gate opens; the
     * commands keep what they use, and every result is the kernel's. */
    enum { K = 12 };
    static uint16_t wantk[K][N];
    cl_mem yk[K];
    cl_event ek[K], gate = clCreateUserEvent(cl, &err);
    clact_activation elu = clact_activation_default(CLACT_ELU);
    for (int k = 0; k < K; ++k) { /* the kernel's results first: the queue is about to stall */
        elu.param[0] = 0.25 + 0.125 * k;
        cl_event e;
        ck_assert_int_eq(clact_forward(plain, &elu, CLACT_F16, N, xb, 0, wb, 0, 0, NULL, &e),
                         CLACT_OK);
        ck_assert_int_eq(clEnqueueReadBuffer(q, wb, CL_TRUE, 0, sizeof x, wantk[k], 1, &e, NULL),
                         CL_SUCCESS);
        clReleaseEvent(e);
    }
    for (int k = 0; k < K; ++k) {
        elu.param[0] = 0.25 + 0.125 * k;
        yk[k] = clCreateBuffer(cl, rw, sizeof x, NULL, &err);
        ck_assert_ptr_nonnull(yk[k]);
        ck_assert_int_eq(clact_forward(tab, &elu, CLACT_F16, N, xb, 0, yk[k], 0, 1, &gate, &ek[k]),
                         CLACT_OK);
    }
    clact_context_destroy(tab);
    ck_assert_int_eq(clSetUserEventStatus(gate, CL_COMPLETE), CL_SUCCESS);
    for (int k = 0; k < K; ++k) {
        ck_assert_int_eq(clEnqueueReadBuffer(q, yk[k], CL_TRUE, 0, sizeof x, got[0], 1, &ek[k],
                                             NULL),
                         CL_SUCCESS);
        for (int i = 0; i < N; ++i)
            ck_assert_msg(got[0][i] == wantk[k][i],
                          "props %lu, elu table %d: x 0x%04x: 0x%04x, want 0x%04x",
                          (unsigned long)props, k, x[i], got[0][i], wantk[k][i]);
        clReleaseEvent(ek[k]);
        clReleaseMemObject(yk[k]);
    }
    clReleaseEvent(gate);
    clReleaseMemObject(xb), clReleaseMemObject(yb[0]), clReleaseMemObject(yb[1]);
    clReleaseMemObject(wb);
    clact_context_destroy(plain);
    clReleaseCommandQueue(q);
    clReleaseContext(cl);
}

START_TEST(gated_tables_on_borrowed_queues) {
    cl_command_queue_properties oo = 0;
    clGetDeviceInfo(clact_context_device(tu_ctx()), CL_DEVICE_QUEUE_PROPERTIES, sizeof oo, &oo,
                    NULL);
    gated_tables(0);
    if (oo & CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE)
        gated_tables(CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE);
}
END_TEST

/* Tables past the context's eight slots: leaky_relu with twelve slopes, through the tables
 * (CLACT_TABLES=1), twice round so that every table has been evicted once and is built again;
 * each call the kernel's bits (CLACT_TABLES=0). The second slope is the first but for a
 * difference below float's precision (fault_tests sees that it finds the first's table). */
START_TEST(tables_evicted_and_rebuilt) {
    enum { N = 4099 };
    static uint16_t x[N], want[N], got[N];
    for (int i = 0; i < N; ++i)
        x[i] = (uint16_t)(i * 16 + 3);
    cl_mem xb = tu_buffer_dt(CLACT_BF16, N, CL_MEM_READ_WRITE),
           yb = tu_buffer_dt(CLACT_BF16, N, CL_MEM_READ_WRITE);
    cl_command_queue q = clact_context_queue(tu_ctx());
    ck_assert_int_eq(clEnqueueWriteBuffer(q, xb, CL_TRUE, 0, sizeof x, x, 0, NULL, NULL),
                     CL_SUCCESS);
    clact_activation a = clact_activation_default(CLACT_LEAKY_RELU);
    for (int round = 0; round < 2; ++round)
        for (int k = 0; k < 12; ++k) {
            a.param[0] = k == 1 ? 0.01 + 1e-12 : 0.01 + 0.03 * k;
            for (int tables = 1; tables >= 0; --tables) {
                tu_setenv("CLACT_TABLES", tables ? "1" : "0");
                ck_assert_int_eq(
                    clact_forward(tu_ctx(), &a, CLACT_BF16, N, xb, 0, yb, 0, 0, NULL, NULL),
                    CLACT_OK);
                ck_assert_int_eq(clEnqueueReadBuffer(q, yb, CL_TRUE, 0, sizeof x,
                                                     tables ? got : want, 0, NULL, NULL),
                                 CL_SUCCESS);
            }
            for (int i = 0; i < N; ++i)
                ck_assert_msg(got[i] == want[i],
                              "round %d, slope %g: x 0x%04x: 0x%04x, want 0x%04x", round,
                              a.param[0], x[i], got[i], want[i]);
        }
    tu_setenv("CLACT_TABLES", NULL);
    clReleaseMemObject(xb);
    clReleaseMemObject(yb);
}
END_TEST

START_TEST(gated_pipeline_on_borrowed_queues) {
    cl_command_queue_properties oo = 0;
    clGetDeviceInfo(clact_context_device(tu_ctx()), CL_DEVICE_QUEUE_PROPERTIES, sizeof oo, &oo,
                    NULL);
    gated(0);
    gated(CL_QUEUE_PROFILING_ENABLE);
    if (oo & CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE) { /* PoCL has them; some GPUs do not */
        gated(CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE);
        gated(CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE | CL_QUEUE_PROFILING_ENABLE);
    }
}
END_TEST

/* In-place through two sub-buffers that alias the same memory is in-place, not an overlap. */
START_TEST(sub_buffers) {
    enum { N = 64 };
    cl_mem parent = tu_buffer(2 * N, CL_MEM_READ_WRITE);
    float x[2 * N], y[2 * N];
    for (int i = 0; i < 2 * N; ++i)
        x[i] = (float)(i - N);
    tu_write(parent, 0, 2 * N, x);
    cl_uint align = 0;
    clGetDeviceInfo(clact_context_device(tu_ctx()), CL_DEVICE_MEM_BASE_ADDR_ALIGN, sizeof align,
                    &align, NULL);
    size_t origin_bytes = align / 8 ? align / 8 : 4;
    if (origin_bytes > N * sizeof(float))
        return; /* the device cannot place a sub-buffer inside this test buffer */
    cl_buffer_region r = {origin_bytes, N * sizeof(float)};
    cl_int err;
    cl_mem a = clCreateSubBuffer(parent, CL_MEM_READ_WRITE, CL_BUFFER_CREATE_TYPE_REGION, &r, &err);
    cl_mem b = clCreateSubBuffer(parent, CL_MEM_READ_WRITE, CL_BUFFER_CREATE_TYPE_REGION, &r, &err);
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    clact_activation relu = clact_activation_default(CLACT_RELU);
    ck_assert_int_eq(clact_forward(tu_ctx(), &relu, CLACT_F32, 8, a, 0, b, 0, 0, NULL, NULL),
                     CLACT_OK);
    /* a[1..] against b[0..]: partly the same memory. */
    ck_assert_int_eq(clact_forward(tu_ctx(), &relu, CLACT_F32, 8, a, 1, b, 0, 0, NULL, NULL),
                     CLACT_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(clact_context_last_error(tu_ctx()), "overlap"));
    /* The parent against its own sub-buffer, shifted by one element: overlap too. */
    size_t first = origin_bytes / sizeof(float);
    ck_assert_int_eq(
        clact_forward(tu_ctx(), &relu, CLACT_F32, 8, parent, first + 1, a, 0, 0, NULL, NULL),
        CLACT_INVALID_ARGUMENT);
    ck_assert_int_eq(clFinish(clact_context_queue(tu_ctx())), CL_SUCCESS);
    tu_read(parent, 0, 2 * N, y);
    for (int i = 0; i < 2 * N; ++i) {
        int inside = (size_t)i >= first && (size_t)i < first + 8;
        float want = inside && x[i] < 0 ? 0.0f : x[i];
        ck_assert_msg(y[i] == want, "element %d: %g, want %g", i, (double)y[i], (double)want);
    }
    clReleaseMemObject(a);
    clReleaseMemObject(b);
    clReleaseMemObject(parent);
}
END_TEST

Suite *context_suite(void);
Suite *context_suite(void) {
    Suite *s = suite_create("context");
    TCase *tc = tcase_create("context");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, device_list_and_specs);
    tcase_add_test(tc, context_create_from_spec_and_env);
    tcase_add_test(tc, context_from_queue);
    tcase_add_test(tc, ops_never_block);
    tcase_add_test(tc, gated_pipeline_on_borrowed_queues);
    tcase_add_test(tc, gated_tables_on_borrowed_queues);
    tcase_add_test(tc, tables_evicted_and_rebuilt);
    tcase_add_test(tc, sub_buffers);
    suite_add_tcase(s, tc);
    return s;
}
