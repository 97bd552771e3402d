/* SPDX-License-Identifier: MIT */
/* Failure paths that only a failing driver reaches, through the fault-injection shim (linked in
 * front of OpenCL): a kernel argument that cannot be set, a finishing launch that fails after
 * the first launch of a two-launch op was enqueued, a read that fails in cross-entropy's
 * blocking validation. Each checks the status and the message, and what must hold afterwards. */
#define _POSIX_C_SOURCE 200809L /* setenv, nanosleep */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clact/clact.h"
#include "fault_shim.h"

static clact_context *ctx;

static cl_mem buffer(size_t bytes, const void *init) {
    cl_int err;
    cl_mem m = clCreateBuffer(clact_context_cl_context(ctx),
                              CL_MEM_READ_WRITE | (init ? CL_MEM_COPY_HOST_PTR : 0), bytes,
                              (void *)init, &err);
    ck_assert_ptr_nonnull(m);
    return m;
}

/* A kernel argument that cannot be set is named: the kernel, the argument's index, the CL
 * error; nothing is enqueued. */
START_TEST(kernel_argument_failure_is_named) {
    float x[8] = {-1, 2, -3, 4, -5, 6, -7, 8};
    cl_mem b = buffer(sizeof x, x);
    clact_activation relu = clact_activation_default(CLACT_RELU);
    /* Build the program first, so that the armed calls are the op's own. */
    ck_assert_int_eq(clact_forward(ctx, &relu, CLACT_F32, 8, b, 0, b, 0, 0, NULL, NULL), CLACT_OK);
    clact_fault_arm("clSetKernelArg", 3, CL_INVALID_ARG_VALUE);
    cl_event ev = (cl_event)1;
    ck_assert_int_eq(clact_forward(ctx, &relu, CLACT_F32, 8, b, 0, b, 0, 0, NULL, &ev),
                     CLACT_OPENCL_ERROR);
    ck_assert_ptr_null(ev);
    const char *msg = clact_context_last_error(ctx);
    ck_assert_msg(strstr(msg, "clSetKernelArg(clact_relu, argument 2)") &&
                      strstr(msg, "CL_INVALID_ARG_VALUE"),
                  "%s", msg);
    clReleaseMemObject(b);
}
END_TEST

/* A failing platform or device listing is named as the failure it is (the call and its CL
 * error), not reported as a machine without OpenCL: every listing call, first and second, of
 * both functions. (Before the fix, a failed clGetDeviceIDs that left the count at 0 was skipped as
 * "no devices on this platform", and context creation said no OpenCL device was found.) */
START_TEST(listing_failure_is_named) {
    const char *const fn[] = {"clGetPlatformIDs", "clGetDeviceIDs"};
    for (int f = 0; f < 2; ++f)
        for (unsigned nth = 1; nth <= 2; ++nth) {
            clact_fault_arm(fn[f], nth, CL_OUT_OF_HOST_MEMORY);
            clact_context *c = (clact_context *)1;
            clact_status st = clact_context_create(&c, NULL);
            clact_fault_arm(fn[f], 0, 0);
            ck_assert_msg(st == CLACT_OUT_OF_MEMORY, "%s #%u: %s (%s)", fn[f], nth,
                          clact_status_name(st), clact_context_last_error(NULL));
            ck_assert_ptr_null(c);
            const char *msg = clact_context_last_error(NULL);
            ck_assert_msg(strstr(msg, fn[f]) && strstr(msg, "CL_OUT_OF_HOST_MEMORY"),
                          "%s #%u: '%s'", fn[f], nth, msg);
        }
}
END_TEST

/* Every property query of the device listing, failed in turn: the listing fails naming the
 * query and its CL error, and writes nothing to the caller's array (canary-filled). Before the
 * fix, a failed query left a blank field and the listing returned CLACT_OK. */
START_TEST(device_list_query_failure_is_named) {
    size_t count = 0;
    ck_assert_int_eq(clact_device_list(NULL, 0, &count), CLACT_OK);
    ck_assert_uint_gt(count, 0);
    clact_device_info *list = malloc(count * sizeof *list);
    ck_assert_ptr_nonnull(list);
    const char *const fn[] = {"clGetPlatformInfo", "clGetDeviceInfo"};
    unsigned walked = 0;
    for (int f = 0; f < 2; ++f)
        for (unsigned nth = 1;; ++nth) {
            memset(list, 0xA5, count * sizeof *list);
            clact_fault_arm(fn[f], nth, CL_INVALID_DEVICE);
            size_t got = 0;
            clact_status st = clact_device_list(list, count, &got);
            unsigned seen = clact_fault_calls();
            clact_fault_arm(fn[f], 0, 0);
            if (st == CLACT_OK) { /* past the last call: every query answered */
                ck_assert_uint_lt(seen, nth);
                ck_assert_uint_eq(got, count);
                ck_assert_msg(list[0].name[0] && list[0].platform_name[0] && list[0].vendor[0],
                              "an empty field without a failure");
                break;
            }
            ++walked;
            const char *msg = clact_context_last_error(NULL);
            ck_assert_msg(st == CLACT_OPENCL_ERROR && strstr(msg, fn[f]) &&
                              strstr(msg, "CL_INVALID_DEVICE"),
                          "%s #%u: %s '%s'", fn[f], nth, clact_status_name(st), msg);
            for (size_t b = 0; b < count * sizeof *list; ++b)
                ck_assert_msg(((unsigned char *)list)[b] == 0xA5,
                              "%s #%u failed, yet byte %zu of the list was written", fn[f], nth, b);
        }
    fprintf(stderr, "fault_tests: device listing queries: %u failure points walked\n", walked);
    ck_assert_uint_gt(walked, 6); /* the walk reached the property queries */
    free(list);
}
END_TEST

/* Context creation with each of its device and platform queries failed in turn (the listing's,
 * the device's own, the program cache's identity): a status naming the query, no context, and
 * (under ASan in memcheck.sh) no leak. Before, the compute-unit, extension and FP-config queries'
 * failures were ignored and the context made with guessed properties. */
START_TEST(context_query_failure_is_named) {
    const char *const fn[] = {"clGetPlatformInfo", "clGetDeviceInfo"};
    unsigned walked = 0, untuned = 0;
    for (int f = 0; f < 2; ++f)
        for (unsigned nth = 1; nth < 200; ++nth) {
            clact_fault_arm(fn[f], nth, CL_INVALID_DEVICE);
            clact_context *c = (clact_context *)1;
            clact_status st = clact_context_create(&c, NULL);
            unsigned seen = clact_fault_calls();
            clact_fault_arm(fn[f], 0, 0);
            if (seen < nth) { /* past the last call */
                ck_assert_int_eq(st, CLACT_OK);
                clact_context_destroy(c);
                break;
            }
            ++walked;
            /* The device's identity (name, vendor, driver, platform version) keys the saved GEMM
             * tuning: its failure costs only that file, and the context is made untuned. */
            if (st == CLACT_OK) {
                clact_context_destroy(c);
                ++untuned;
                continue;
            }
            const char *msg = clact_context_last_error(NULL);
            ck_assert_ptr_null(c);
            ck_assert_msg(st == CLACT_OPENCL_ERROR && strstr(msg, fn[f]) &&
                              strstr(msg, "CL_INVALID_DEVICE"),
                          "%s #%u: %s '%s'", fn[f], nth, clact_status_name(st), msg);
        }
    fprintf(stderr, "fault_tests: context creation queries: %u failure points walked\n", walked);
    ck_assert_uint_gt(walked, 8);
    ck_assert_uint_le(untuned, 5); /* the identity's four device queries and one platform query */
}
END_TEST

static int complete(cl_event e) {
    cl_int st = -1;
    clGetEventInfo(e, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof st, &st, NULL);
    return st == CL_COMPLETE;
}

/* The split softmax's finishing launch fails after its partial launch was enqueued (behind a
 * shut gate, on an out-of-order queue). The error names the launch; and the partial kernel
 * still holds the context's scratch buffer, so the next split softmax on that context must not
 * start before it: its event stays pending while the gate is shut, and its result is right once
 * the gate opens. (Before the fix, the failed call left the scratch buffer's last user unset and
 * the next call ran at once, sharing the buffer with the pending kernel.) */
START_TEST(split_softmax_failed_finish_keeps_scratch_ordered) {
    cl_int err;
    cl_command_queue q =
        clCreateCommandQueue(clact_context_cl_context(ctx), clact_context_device(ctx),
                             CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE, &err);
    ck_assert_ptr_nonnull(q);
    setenv("CLACT_SOFTMAX_PATH", "split", 1);
    clact_context *c = NULL;
    ck_assert_int_eq(clact_context_create_from_queue(&c, q), CLACT_OK);
    unsetenv("CLACT_SOFTMAX_PATH");
    enum { R = 2, C = 20000 };
    static float x[R * C], y[R * C];
    for (int i = 0; i < R * C; ++i)
        x[i] = (float)((i * 7919) % 1001) / 100.0f;
    /* yb, the failed call's output, is canary-filled: it must come through unchanged. */
    for (int i = 0; i < R * C; ++i)
        y[i] = -1234.5f;
    cl_mem xb = buffer(sizeof x, x), yb = buffer(sizeof y, y), zb = buffer(sizeof x, NULL);
    const size_t shape[2] = {R, C};
    /* Build the program, so that the armed launches are the op's own. */
    ck_assert_int_eq(
        clact_softmax(c, CLACT_SOFTMAX, 0, CLACT_F32, 2, shape, 1, xb, 0, zb, 0, 0, NULL, NULL),
        CLACT_OK);
    ck_assert_int_eq(clFinish(q), CL_SUCCESS);
    cl_event gate = clCreateUserEvent(clact_context_cl_context(ctx), &err), done = NULL;
    clact_fault_arm("clEnqueueNDRangeKernel", 2, CL_OUT_OF_RESOURCES);
    ck_assert_int_eq(
        clact_softmax(c, CLACT_SOFTMAX, 0, CLACT_F32, 2, shape, 1, xb, 0, yb, 0, 1, &gate, NULL),
        CLACT_OUT_OF_MEMORY);
    const char *msg = clact_context_last_error(c);
    ck_assert_msg(strstr(msg, "clEnqueueNDRangeKernel(clact_softmax_finish)") &&
                      strstr(msg, "CL_OUT_OF_RESOURCES"),
                  "%s", msg);
    ck_assert_int_eq(
        clact_softmax(c, CLACT_SOFTMAX, 0, CLACT_F32, 2, shape, 1, xb, 0, zb, 0, 0, NULL, &done),
        CLACT_OK);
    clFlush(q);
    struct timespec pause = {0, 300 * 1000 * 1000};
    nanosleep(&pause, NULL);
    ck_assert_msg(!complete(done), "the next user of the scratch buffer ran before the pending "
                                   "partial kernel of the failed call");
    ck_assert_int_eq(clSetUserEventStatus(gate, CL_COMPLETE), CL_SUCCESS);
    ck_assert_int_eq(clWaitForEvents(1, &done), CL_SUCCESS);
    /* The partial kernel of the failed call has run by now (the next call waited for it). Before
     * the fix it had left its chunks' exps in yb. */
    ck_assert_int_eq(clEnqueueReadBuffer(q, yb, CL_TRUE, 0, sizeof y, y, 0, NULL, NULL),
                     CL_SUCCESS);
    for (int i = 0; i < R * C; ++i)
        ck_assert_msg(y[i] == -1234.5f, "the failed call wrote its output: element %d is %g", i,
                      (double)y[i]);
    ck_assert_int_eq(clEnqueueReadBuffer(q, zb, CL_TRUE, 0, sizeof y, y, 0, NULL, NULL),
                     CL_SUCCESS);
    for (int r = 0; r < R; ++r) {
        double m = -INFINITY, s = 0;
        for (int i = 0; i < C; ++i)
            m = fmax(m, x[r * C + i]);
        for (int i = 0; i < C; ++i)
            s += exp((double)x[r * C + i] - m);
        for (int i = 0; i < C; ++i) {
            double want = exp((double)x[r * C + i] - m) / s;
            ck_assert_msg(fabs(y[r * C + i] - want) <= 4e-6 * want, "row %d element %d: %g, %g", r,
                          i, (double)y[r * C + i], want);
        }
    }
    clReleaseEvent(done), clReleaseEvent(gate);
    clReleaseMemObject(xb), clReleaseMemObject(yb), clReleaseMemObject(zb);
    clact_context_destroy(c);
    clReleaseCommandQueue(q);
}
END_TEST

/* CLACT_CE_VALIDATE: when the read of the bad target's value fails, the call says so (before the
 * fix it reported "target 0", a value it never read); nothing is written either way. */
START_TEST(cross_entropy_validate_read_failure) {
    float x[6] = {0};
    long long t[2] = {1, 7};
    float poison[6];
    memset(poison, 0xff, sizeof poison);
    cl_mem xb = buffer(sizeof x, x), tb = buffer(sizeof t, t), lb = buffer(4, poison);
    cl_mem gb = buffer(sizeof poison, poison);
    const size_t shape[2] = {2, 3};
    clact_cross_entropy_desc d = clact_cross_entropy_default();
    d.flags = CLACT_CE_VALIDATE;
    ck_assert_int_eq(clact_cross_entropy(ctx, &d, CLACT_F32, 2, shape, xb, 0, tb, 0, NULL, 0, lb, 0,
                                         gb, 0, 0, NULL, NULL),
                     CLACT_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(clact_context_last_error(ctx), "target 7 at position 1"));
    clact_fault_arm("clEnqueueReadBuffer", 2, CL_OUT_OF_RESOURCES);
    ck_assert_int_eq(clact_cross_entropy(ctx, &d, CLACT_F32, 2, shape, xb, 0, tb, 0, NULL, 0, lb, 0,
                                         gb, 0, 0, NULL, NULL),
                     CLACT_OUT_OF_MEMORY);
    const char *msg = clact_context_last_error(ctx);
    ck_assert_msg(strstr(msg, "bad target value") && strstr(msg, "CL_OUT_OF_RESOURCES"), "%s", msg);
    float l, g[6];
    ck_assert_int_eq(
        clEnqueueReadBuffer(clact_context_queue(ctx), lb, CL_TRUE, 0, 4, &l, 0, NULL, NULL),
        CL_SUCCESS);
    ck_assert_int_eq(
        clEnqueueReadBuffer(clact_context_queue(ctx), gb, CL_TRUE, 0, sizeof g, g, 0, NULL, NULL),
        CL_SUCCESS);
    ck_assert(!memcmp(&l, poison, 4) && !memcmp(g, poison, sizeof g));
    clReleaseMemObject(xb), clReleaseMemObject(tb), clReleaseMemObject(lb), clReleaseMemObject(gb);
}
END_TEST

/* Cross-entropy with a gradient, every launch and every kernel argument failed in turn, in each
 * reduction: the call fails naming the call, and loss and grad (canary-filled) are unchanged after
 * the queue drains. Before the fix the reduction kernel wrote the loss and then the gradient's
 * setup or launch failed (18 such points in the default and async modes). */
START_TEST(cross_entropy_failure_writes_nothing) {
    enum { P = 4, C = 5 };
    float x[P * C], canary[P * C], back[P * C];
    for (int i = 0; i < P * C; ++i)
        x[i] = (float)((i * 37) % 11) - 5.0f;
    memset(canary, 0xA5, sizeof canary);
    long long t[P] = {0, 3, 4, 1};
    cl_mem xb = buffer(sizeof x, x), tb = buffer(sizeof t, t);
    const size_t shape[2] = {P, C};
    const char *const fn[] = {"clEnqueueNDRangeKernel", "clSetKernelArg"};
    const clact_reduction reds[] = {CLACT_REDUCTION_MEAN, CLACT_REDUCTION_SUM,
                                    CLACT_REDUCTION_NONE};
    unsigned walked = 0;
    for (int r = 0; r < 3; ++r)
        for (int f = 0; f < 2; ++f)
            for (unsigned nth = 1; nth < 100; ++nth) {
                cl_mem lb = buffer(sizeof canary, canary), gb = buffer(sizeof canary, canary);
                clact_cross_entropy_desc d = clact_cross_entropy_default();
                d.reduction = reds[r];
                clact_fault_arm(fn[f], nth, CL_OUT_OF_RESOURCES);
                clact_status st = clact_cross_entropy(ctx, &d, CLACT_F32, 2, shape, xb, 0, tb, 0,
                                                      NULL, 0, lb, 0, gb, 0, 0, NULL, NULL);
                unsigned seen = clact_fault_calls();
                clact_fault_arm(fn[f], 0, 0);
                ck_assert_int_eq(clFinish(clact_context_queue(ctx)), CL_SUCCESS);
                if (seen < nth) {
                    ck_assert_int_eq(st, CLACT_OK);
                    clReleaseMemObject(lb), clReleaseMemObject(gb);
                    break;
                }
                ++walked;
                ck_assert_msg((st == CLACT_OUT_OF_MEMORY || st == CLACT_OPENCL_ERROR) &&
                                  strstr(clact_context_last_error(ctx), fn[f]) &&
                                  strstr(clact_context_last_error(ctx), "CL_OUT_OF_RESOURCES"),
                              "%s #%u: %s '%s'", fn[f], nth, clact_status_name(st),
                              clact_context_last_error(ctx));
                ck_assert_int_eq(clEnqueueReadBuffer(clact_context_queue(ctx), lb, CL_TRUE, 0,
                                                     sizeof back, back, 0, NULL, NULL),
                                 CL_SUCCESS);
                ck_assert_msg(!memcmp(back, canary, sizeof back),
                              "reduction %d, %s #%u failed, yet the loss was written", r, fn[f],
                              nth);
                ck_assert_int_eq(clEnqueueReadBuffer(clact_context_queue(ctx), gb, CL_TRUE, 0,
                                                     sizeof back, back, 0, NULL, NULL),
                                 CL_SUCCESS);
                ck_assert_msg(!memcmp(back, canary, sizeof back),
                              "reduction %d, %s #%u failed, yet the gradient was written", r,
                              fn[f], nth);
                clReleaseMemObject(lb), clReleaseMemObject(gb);
            }
    fprintf(stderr, "fault_tests: cross-entropy: %u failure points walked\n", walked);
    ck_assert_uint_gt(walked, 20);
    clReleaseMemObject(xb), clReleaseMemObject(tb);
}
END_TEST

static void read_back(cl_mem m, void *dst, size_t bytes) {
    ck_assert_int_eq(clEnqueueReadBuffer(clact_context_queue(ctx), m, CL_TRUE, 0, bytes, dst, 0,
                                         NULL, NULL),
                     CL_SUCCESS);
}

/* The calls a dense layer makes, clact's and CLBlast's (the shim stands in front of both). */
static const char *const dense_fn[] = {"clEnqueueNDRangeKernel", "clSetKernelArg",
                                       "clCreateKernel", "clEnqueueBarrierWithWaitList",
                                       "clCreateBuffer", "clEnqueueFillBuffer"};

/* A failed call's status and message: CLACT_OPENCL_ERROR or CLACT_OUT_OF_MEMORY, naming the failed
 * call (or the CLBlast routine it failed in) and the CL error's name. */
static void check_failure(clact_status st, const char *fn, unsigned nth, const char *what) {
    const char *msg = clact_context_last_error(ctx);
    ck_assert_msg((st == CLACT_OUT_OF_MEMORY || st == CLACT_OPENCL_ERROR) &&
                      (strstr(msg, fn) || strstr(msg, "CLBlast")) &&
                      strstr(msg, "CL_OUT_OF_RESOURCES"),
                  "%s, %s #%u: %s '%s'", what, fn, nth, clact_status_name(st), msg);
}

/* The dense layer with every OpenCL call of its kinds failed in turn, clact's own and CLBlast's
 * inside its GEMMs. Forward (bias, gelu, z kept): y and z (canary-filled) are unchanged whenever
 * the call fails; before the fix the GEMM wrote its product into z before the pass was set up.
 * Backward with CLACT_DENSE_ACCUMULATE: each of dx, dW, db is either as it was or holds exactly
 * the fault-free result, and they are written in the order the header states (dx, dW, db):
 * never a later one without the earlier ones, never a part of one. */
START_TEST(dense_failure_writes_in_order) {
    enum { B = 5, I = 7, O = 6 };
    float x[B * I], w[O * I], bias[O], dy[B * O], canary[B * I + O * I];
    for (int i = 0; i < B * I; ++i)
        x[i] = (float)((i * 29) % 13) / 4.0f - 1.5f;
    for (int i = 0; i < O * I; ++i)
        w[i] = (float)((i * 17) % 11) / 8.0f - 0.6f;
    for (int i = 0; i < O; ++i)
        bias[i] = 0.25f * (float)i - 0.5f;
    for (int i = 0; i < B * O; ++i)
        dy[i] = (float)((i * 7) % 5) - 2.0f;
    memset(canary, 0xA5, sizeof canary);
    cl_mem xb = buffer(sizeof x, x), wb = buffer(sizeof w, w), bb = buffer(sizeof bias, bias),
           dyb = buffer(sizeof dy, dy);
    clact_activation gelu = clact_activation_default(CLACT_GELU);
    clact_dense_desc d = {I, O, &gelu, 0};
    /* The fault-free results (which also builds every program, clact's and CLBlast's). */
    float y_ok[B * O], z_ok[B * O], back[B * I + O * I];
    cl_mem yb = buffer(sizeof y_ok, canary), zb = buffer(sizeof z_ok, canary);
    ck_assert_int_eq(clact_dense_forward(ctx, &d, CLACT_F32, B, (clact_buffer){xb, 0},
                                         (clact_buffer){wb, 0}, (clact_buffer){bb, 0},
                                         (clact_buffer){zb, 0}, (clact_buffer){yb, 0}, 0, NULL,
                                         NULL),
                     CLACT_OK);
    read_back(yb, y_ok, sizeof y_ok);
    read_back(zb, z_ok, sizeof z_ok);
    unsigned walked = 0;
    for (size_t f = 0; f < sizeof dense_fn / sizeof *dense_fn; ++f)
        for (unsigned nth = 1; nth < 100; ++nth) {
            cl_mem y2 = buffer(sizeof y_ok, canary), z2 = buffer(sizeof z_ok, canary);
            clact_fault_arm(dense_fn[f], nth, CL_OUT_OF_RESOURCES);
            clact_status st = clact_dense_forward(
                ctx, &d, CLACT_F32, B, (clact_buffer){xb, 0}, (clact_buffer){wb, 0},
                (clact_buffer){bb, 0}, (clact_buffer){z2, 0}, (clact_buffer){y2, 0}, 0, NULL, NULL);
            unsigned seen = clact_fault_calls();
            clact_fault_arm(dense_fn[f], 0, 0);
            ck_assert_int_eq(clFinish(clact_context_queue(ctx)), CL_SUCCESS);
            const float *want_y = y_ok, *want_z = z_ok;
            if (seen < nth) {
                ck_assert_int_eq(st, CLACT_OK);
            } else {
                ++walked;
                check_failure(st, dense_fn[f], nth, "dense forward");
                want_y = want_z = canary;
            }
            read_back(y2, back, sizeof y_ok);
            ck_assert_msg(!memcmp(back, want_y, sizeof y_ok), "forward, %s #%u: y", dense_fn[f],
                          nth);
            read_back(z2, back, sizeof z_ok);
            ck_assert_msg(!memcmp(back, want_z, sizeof z_ok), "forward, %s #%u: z", dense_fn[f],
                          nth);
            clReleaseMemObject(y2), clReleaseMemObject(z2);
            if (seen < nth)
                break;
        }
    fprintf(stderr, "fault_tests: dense forward: %u failure points walked\n", walked);
    ck_assert_uint_gt(walked, 6);

    /* Backward, accumulating into dW and db (their old contents 0.5), dx overwritten. */
    d.flags = CLACT_DENSE_ACCUMULATE;
    float half[O * I];
    for (int i = 0; i < O * I; ++i)
        half[i] = 0.5f;
    const size_t bytes[3] = {sizeof(float) * B * I, sizeof(float) * O * I, sizeof(float) * O};
    const void *old[3] = {canary, half, half};
    float ok[3][O * I];
    cl_mem out[3];
    for (int o = 0; o < 3; ++o)
        out[o] = buffer(bytes[o], old[o]);
    ck_assert_int_eq(clact_dense_backward(ctx, &d, CLACT_F32, B, (clact_buffer){xb, 0},
                                          (clact_buffer){wb, 0}, (clact_buffer){zb, 0},
                                          (clact_buffer){NULL, 0}, (clact_buffer){dyb, 0},
                                          (clact_buffer){out[0], 0}, (clact_buffer){out[1], 0},
                                          (clact_buffer){out[2], 0}, 0, NULL, NULL),
                     CLACT_OK);
    for (int o = 0; o < 3; ++o) {
        read_back(out[o], ok[o], bytes[o]);
        clReleaseMemObject(out[o]);
    }
    unsigned written[3] = {0, 0, 0};
    walked = 0;
    for (size_t f = 0; f < sizeof dense_fn / sizeof *dense_fn; ++f)
        for (unsigned nth = 1; nth < 100; ++nth) {
            for (int o = 0; o < 3; ++o)
                out[o] = buffer(bytes[o], old[o]);
            clact_fault_arm(dense_fn[f], nth, CL_OUT_OF_RESOURCES);
            clact_status st = clact_dense_backward(
                ctx, &d, CLACT_F32, B, (clact_buffer){xb, 0}, (clact_buffer){wb, 0},
                (clact_buffer){zb, 0}, (clact_buffer){NULL, 0}, (clact_buffer){dyb, 0},
                (clact_buffer){out[0], 0}, (clact_buffer){out[1], 0}, (clact_buffer){out[2], 0},
                0, NULL, NULL);
            unsigned seen = clact_fault_calls();
            clact_fault_arm(dense_fn[f], 0, 0);
            ck_assert_int_eq(clFinish(clact_context_queue(ctx)), CL_SUCCESS);
            int is_new[3];
            for (int o = 0; o < 3; ++o) {
                read_back(out[o], back, bytes[o]);
                is_new[o] = !memcmp(back, ok[o], bytes[o]);
                ck_assert_msg(is_new[o] || !memcmp(back, old[o], bytes[o]),
                              "backward, %s #%u: output %d is neither as it was nor the result",
                              dense_fn[f], nth, o);
                clReleaseMemObject(out[o]);
            }
            if (seen < nth) {
                ck_assert_int_eq(st, CLACT_OK);
                ck_assert(is_new[0] && is_new[1] && is_new[2]);
                break;
            }
            ++walked;
            check_failure(st, dense_fn[f], nth, "dense backward");
            ck_assert_msg(!is_new[2] && (!is_new[1] || is_new[0]),
                          "backward, %s #%u: written out of order (dx %d, dW %d, db %d)",
                          dense_fn[f], nth, is_new[0], is_new[1], is_new[2]);
            for (int o = 0; o < 3; ++o)
                written[o] += (unsigned)is_new[o];
        }
    fprintf(stderr, "fault_tests: dense backward: %u failure points walked\n", walked);
    ck_assert_uint_gt(walked, 6);
    /* The walk reached failures after dx's GEMM and after dW's, not only before everything. */
    ck_assert_uint_gt(written[0], 0);
    ck_assert_uint_gt(written[1], 0);
    clReleaseMemObject(xb), clReleaseMemObject(wb), clReleaseMemObject(bb);
    clReleaseMemObject(dyb), clReleaseMemObject(yb), clReleaseMemObject(zb);
}
END_TEST

/* The optimizers' steps (one kernel each) with their launch and every kernel argument failed in
 * turn: the parameters and the optimizer's state are unchanged when the step fails. */
START_TEST(optimizer_failure_writes_nothing) {
    enum { N = 9 };
    float p[N], g[N], st0[N], back[N];
    for (int i = 0; i < N; ++i)
        p[i] = 0.1f * (float)i - 0.3f, g[i] = 0.2f - 0.05f * (float)i, st0[i] = 0.01f * (float)i;
    cl_mem gb = buffer(sizeof g, g);
    const char *const fn[] = {"clEnqueueNDRangeKernel", "clSetKernelArg"};
    unsigned walked = 0;
    for (int opt = 0; opt < 2; ++opt)
        for (int f = 0; f < 2; ++f)
            for (unsigned nth = 1; nth < 100; ++nth) {
                cl_mem pb = buffer(sizeof p, p), s1 = buffer(sizeof st0, st0),
                       s2 = buffer(sizeof st0, st0), s3 = buffer(sizeof st0, st0);
                clact_fault_arm(fn[f], nth, CL_OUT_OF_RESOURCES);
                clact_status st;
                if (opt == 0) {
                    clact_sgd_desc sd = clact_sgd_default(0.1);
                    sd.momentum = 0.9, sd.nesterov = 1;
                    st = clact_sgd_step(ctx, &sd, CLACT_F32, N, 2, (clact_buffer){pb, 0},
                                        (clact_buffer){gb, 0}, (clact_buffer){s1, 0}, 0, NULL,
                                        NULL);
                } else {
                    clact_adam_desc ad = clact_adamw_default(0.01);
                    ad.amsgrad = 1;
                    st = clact_adam_step(ctx, &ad, CLACT_F32, N, 3, (clact_buffer){pb, 0},
                                         (clact_buffer){gb, 0}, (clact_buffer){s1, 0},
                                         (clact_buffer){s2, 0}, (clact_buffer){s3, 0}, 0, NULL,
                                         NULL);
                }
                unsigned seen = clact_fault_calls();
                clact_fault_arm(fn[f], 0, 0);
                ck_assert_int_eq(clFinish(clact_context_queue(ctx)), CL_SUCCESS);
                int done = seen < nth;
                if (done) {
                    ck_assert_int_eq(st, CLACT_OK);
                    read_back(pb, back, sizeof back);
                    ck_assert(memcmp(back, p, sizeof p)); /* the step ran */
                } else {
                    ++walked;
                    check_failure(st, fn[f], nth, opt ? "adamw" : "sgd");
                    read_back(pb, back, sizeof back);
                    ck_assert_msg(!memcmp(back, p, sizeof p), "%s #%u: param written", fn[f], nth);
                    cl_mem state[3] = {s1, s2, s3};
                    for (int k = 0; k < 3; ++k) {
                        read_back(state[k], back, sizeof back);
                        ck_assert_msg(!memcmp(back, st0, sizeof st0), "%s #%u: state %d written",
                                      fn[f], nth, k);
                    }
                }
                clReleaseMemObject(pb), clReleaseMemObject(s1), clReleaseMemObject(s2);
                clReleaseMemObject(s3);
                if (done)
                    break;
            }
    fprintf(stderr, "fault_tests: optimizers: %u failure points walked\n", walked);
    ck_assert_uint_gt(walked, 10);
    clReleaseMemObject(gb);
}
END_TEST

/* The forward through a 16-bit lookup table (CLACT_TABLES=1), with each OpenCL call of the
 * table's building and of the lookup failed in turn, each time for a table not built yet (elu
 * with an alpha of its own: a new key, and past eight of them the least recently used table
 * makes room). A failed call names the call and writes nothing to y; the same call then succeeds
 * with the kernel's bits: a table whose building failed is not kept, and one whose commands were
 * enqueued before the lookup failed is used as it is. */
START_TEST(table_failure_writes_nothing) {
    enum { N = 100 };
    uint16_t x[N], canary[N], want[N], back[N];
    for (int i = 0; i < N; ++i)
        x[i] = (uint16_t)(0x3c00 + 97 * i - 4000), canary[i] = 0x5a5a; /* f16 near +-1 */
    setenv("CLACT_TABLES", "1", 1);
    clact_context *tc = NULL;
    ck_assert_int_eq(clact_context_create_from_queue(&tc, clact_context_queue(ctx)), CLACT_OK);
    unsetenv("CLACT_TABLES");
    cl_mem xb = buffer(sizeof x, x);
    clact_activation elu = clact_activation_default(CLACT_ELU);
    cl_mem warm = buffer(sizeof x, canary); /* builds the f16 program first */
    ck_assert_int_eq(clact_forward(tc, &elu, CLACT_F16, N, xb, 0, warm, 0, 0, NULL, NULL),
                     CLACT_OK);
    const char *const fn[] = {"clCreateBuffer", "clSetKernelArg", "clEnqueueNDRangeKernel"};
    unsigned walked = 0, key = 0;
    for (int f = 0; f < 3; ++f)
        for (unsigned nth = 1; nth < 100; ++nth) {
            elu.param[0] = 1.0 + 0.125 * ++key;
            cl_mem yb = buffer(sizeof x, canary), ref = buffer(sizeof x, canary);
            /* The kernel's own bits: ctx decides for itself (the CPU default: no table for 100
             * elements, none having been built there). */
            ck_assert_int_eq(clact_forward(ctx, &elu, CLACT_F16, N, xb, 0, ref, 0, 0, NULL, NULL),
                             CLACT_OK);
            read_back(ref, want, sizeof want);
            clact_fault_arm(fn[f], nth, CL_OUT_OF_RESOURCES);
            cl_event ev = (cl_event)1;
            clact_status st = clact_forward(tc, &elu, CLACT_F16, N, xb, 0, yb, 0, 0, NULL, &ev);
            unsigned seen = clact_fault_calls();
            clact_fault_arm(fn[f], 0, 0);
            ck_assert_int_eq(clFinish(clact_context_queue(ctx)), CL_SUCCESS);
            int done = seen < nth;
            if (done) {
                ck_assert_int_eq(st, CLACT_OK);
                clReleaseEvent(ev);
            } else {
                ++walked;
                const char *msg = clact_context_last_error(tc);
                ck_assert_msg((st == CLACT_OUT_OF_MEMORY || st == CLACT_OPENCL_ERROR) &&
                                  strstr(msg, fn[f]) && strstr(msg, "CL_OUT_OF_RESOURCES"),
                              "table forward, %s #%u: %s '%s'", fn[f], nth,
                              clact_status_name(st), msg);
                ck_assert_ptr_null(ev);
                read_back(yb, back, sizeof back);
                ck_assert_msg(!memcmp(back, canary, sizeof back), "%s #%u: y written", fn[f], nth);
                ck_assert_int_eq(clact_forward(tc, &elu, CLACT_F16, N, xb, 0, yb, 0, 0, NULL, NULL),
                                 CLACT_OK);
            }
            read_back(yb, back, sizeof back);
            ck_assert_msg(!memcmp(back, want, sizeof back), "%s #%u: y differs from the kernel's",
                          fn[f], nth);
            clReleaseMemObject(yb), clReleaseMemObject(ref);
            if (done)
                break;
        }
    fprintf(stderr, "fault_tests: 16-bit table forward: %u failure points walked\n", walked);
    /* The table's buffer; the arguments of the op (7) and the lookup (6); 2 launches. */
    ck_assert_uint_eq(walked, 1 + 7 + 6 + 2);
    clReleaseMemObject(xb), clReleaseMemObject(warm);
    clact_context_destroy(tc);
}
END_TEST

/* The lookup's wait list, as enqueued (the shim records it): on an in-order queue the caller's
 * events only; on an out-of-order queue those and the event of the command that wrote the table
 * (the build waits for nothing, so without that the lookup could run first). The key is the
 * float the kernel sees: a parameter differing below float's precision finds the same table (no
 * buffer made), another builds one. A table whose command failed on the device is built again. */
static void table_waits(cl_command_queue_properties props) {
    cl_int err;
    cl_command_queue q = clCreateCommandQueue(clact_context_cl_context(ctx),
                                              clact_context_device(ctx), props, &err);
    ck_assert_ptr_nonnull(q);
    setenv("CLACT_TABLES", "1", 1);
    clact_context *tc = NULL;
    ck_assert_int_eq(clact_context_create_from_queue(&tc, q), CLACT_OK);
    unsetenv("CLACT_TABLES");
    enum { N = 64 };
    uint16_t x[N], y[N], want[N];
    for (int i = 0; i < N; ++i)
        x[i] = (uint16_t)(0xbc00 + 31 * i); /* f16 from -1 downwards */
    cl_mem xb = buffer(sizeof x, x), yb = buffer(sizeof x, NULL), wb = buffer(sizeof x, NULL);
    clact_activation elu = clact_activation_default(CLACT_ELU);
    elu.param[0] = 0.75;
    cl_event done;
    ck_assert_int_eq(clact_forward(ctx, &elu, CLACT_F16, N, xb, 0, wb, 0, 0, NULL, &done),
                     CLACT_OK);
    ck_assert_int_eq(clEnqueueReadBuffer(clact_context_queue(ctx), wb, CL_TRUE, 0, sizeof want,
                                         want, 1, &done, NULL),
                     CL_SUCCESS);
    clReleaseEvent(done);
    const int ooo = (props & CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE) != 0;
    cl_event table = NULL;
    for (int call = 0; call < 5; ++call) {
        /* 0: builds; 1: finds it; 2: alpha + 1e-12 (the same float), and a value in the
         * parameter elu does not have: finds it; 3: the table's command reported failed: built
         * again; 4: finds the new one. */
        elu.param[0] = call == 2 ? 0.75 + 1e-12 : 0.75;
        elu.param[1] = call == 2 ? 12345.0 : 0.0;
        if (call == 3)
            clact_fault_arm("clGetEventInfo", 1, CL_OUT_OF_RESOURCES);
        else /* counts the buffers made, never fires */
            clact_fault_arm("clCreateBuffer", 1000, CL_OUT_OF_RESOURCES);
        cl_event gate = clCreateUserEvent(clact_context_cl_context(ctx), &err), ev;
        ck_assert_int_eq(clact_forward(tc, &elu, CLACT_F16, N, xb, 0, yb, 0, 1, &gate, &ev),
                         CLACT_OK);
        unsigned buffers = clact_fault_calls();
        clact_fault_arm("clCreateBuffer", 0, 0);
        clact_fault_launch l[2];
        clact_fault_launches(l);
        const int builds = call == 0 || call == 3;
        /* (Call 3 armed the status query instead, which must have been asked once.) */
        ck_assert_msg(buffers == (call == 3 ? 1u : (unsigned)builds), "call %d: %u", call, buffers);
        /* The launch before the lookup: the table's command (no wait list) or the previous
         * call's lookup (which waited for its gate). */
        ck_assert_msg((l[0].num_wait == 0) == builds, "call %d: built %d", call, !builds);
        if (builds)
            table = l[0].event;
        ck_assert_ptr_eq(l[1].event, ev);
        ck_assert_msg(l[1].num_wait == 1u + ooo && l[1].wait[0] == gate &&
                          (!ooo || l[1].wait[1] == table),
                      "props %lu, call %d: the lookup waited for %u events", (unsigned long)props,
                      call, (unsigned)l[1].num_wait);
        ck_assert_int_eq(clSetUserEventStatus(gate, CL_COMPLETE), CL_SUCCESS);
        ck_assert_int_eq(clEnqueueReadBuffer(q, yb, CL_TRUE, 0, sizeof y, y, 1, &ev, NULL),
                         CL_SUCCESS);
        ck_assert_msg(!memcmp(y, want, sizeof y), "props %lu, call %d: y differs from the kernel's",
                      (unsigned long)props, call);
        clReleaseEvent(ev);
        clReleaseEvent(gate);
    }
    clReleaseMemObject(xb), clReleaseMemObject(yb), clReleaseMemObject(wb);
    clact_context_destroy(tc);
    clReleaseCommandQueue(q);
}

START_TEST(table_lookup_waits_for_its_table) {
    cl_command_queue_properties oo = 0;
    clGetDeviceInfo(clact_context_device(ctx), CL_DEVICE_QUEUE_PROPERTIES, sizeof oo, &oo, NULL);
    table_waits(0);
    if (oo & CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE)
        table_waits(CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE);
}
END_TEST

int main(void) {
    if (clact_context_create(&ctx, NULL) != CLACT_OK) {
        fprintf(stderr, "fault_tests: no OpenCL device: %s\n", clact_context_last_error(NULL));
        return EXIT_FAILURE;
    }
    Suite *s = suite_create("faults");
    TCase *tc = tcase_create("injected");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, kernel_argument_failure_is_named);
    tcase_add_test(tc, cross_entropy_failure_writes_nothing);
    tcase_add_test(tc, dense_failure_writes_in_order);
    tcase_add_test(tc, optimizer_failure_writes_nothing);
    tcase_add_test(tc, table_failure_writes_nothing);
    tcase_add_test(tc, table_lookup_waits_for_its_table);
    tcase_add_test(tc, split_softmax_failed_finish_keeps_scratch_ordered);
    tcase_add_test(tc, cross_entropy_validate_read_failure);
    tcase_add_test(tc, listing_failure_is_named);
    tcase_add_test(tc, device_list_query_failure_is_named);
    tcase_add_test(tc, context_query_failure_is_named);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    clact_context_destroy(ctx);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
