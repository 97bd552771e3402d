/* SPDX-License-Identifier: MIT */
/* Bad input: every case returns its documented status, names the problem in the context's
 * detail, and leaves the output buffer exactly as it was. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

enum { N = 32 };
#define SENTINEL 0x7F7F1234u

static cl_mem x_buf, y_buf;

static void setup(void) {
    x_buf = tu_buffer(N, CL_MEM_READ_WRITE);
    y_buf = tu_buffer(N, CL_MEM_READ_WRITE);
    float x[N];
    for (int i = 0; i < N; ++i)
        x[i] = (float)i - 16.0f;
    tu_write(x_buf, 0, N, x);
    tu_fill_bits(y_buf, 0, N, SENTINEL);
}

static void teardown(void) {
    clReleaseMemObject(x_buf);
    clReleaseMemObject(y_buf);
}

static void y_untouched(void) {
    float y[N];
    ck_assert_int_eq(clFinish(clact_context_queue(tu_ctx())), CL_SUCCESS);
    tu_read(y_buf, 0, N, y);
    for (int i = 0; i < N; ++i)
        ck_assert_msg(tu_bits(y[i]) == SENTINEL, "output element %d was written", i);
}

/* Call, expect the status and a detail containing `word`, and no write to y. */
#define EXPECT(status, word, call)                                                                 \
    do {                                                                                           \
        clact_status st_ = (call);                                                                 \
        ck_assert_msg(st_ == (status), "%s returned %s (%s)", #call, clact_status_name(st_),       \
                      clact_context_last_error(tu_ctx()));                                         \
        ck_assert_msg(strstr(clact_context_last_error(tu_ctx()), (word)) != NULL,                  \
                      "detail '%s' lacks '%s'", clact_context_last_error(tu_ctx()), (word));       \
        y_untouched();                                                                             \
    } while (0)

START_TEST(bad_handles_and_ranges) {
    clact_context *c = tu_ctx();
    clact_activation a = clact_activation_default(CLACT_GELU);
    cl_event ev = (cl_event)&ev;
    ck_assert_int_eq(clact_forward(NULL, &a, CLACT_F32, N, x_buf, 0, y_buf, 0, 0, NULL, &ev),
                     CLACT_INVALID_ARGUMENT);
    ck_assert_ptr_null(ev); /* no event is handed out on failure */
    ck_assert_ptr_nonnull(strstr(clact_context_last_error(NULL), "ctx"));
    EXPECT(CLACT_INVALID_ARGUMENT, "NULL",
           clact_forward(c, NULL, CLACT_F32, N, x_buf, 0, y_buf, 0, 0, NULL, NULL));
    EXPECT(CLACT_INVALID_ARGUMENT, "x (input",
           clact_forward(c, &a, CLACT_F32, N, NULL, 0, y_buf, 0, 0, NULL, NULL));
    EXPECT(CLACT_INVALID_ARGUMENT, "y (output",
           clact_forward(c, &a, CLACT_F32, N, x_buf, 0, NULL, 0, 0, NULL, NULL));
    /* Counts and offsets past the end of a buffer (its CL_MEM_SIZE), overflow included. */
    EXPECT(CLACT_INVALID_ARGUMENT, "do not fit",
           clact_forward(c, &a, CLACT_F32, N + 1, x_buf, 0, y_buf, 0, 0, NULL, NULL));
    EXPECT(CLACT_INVALID_ARGUMENT, "y (output buffer): 32 elements at offset 1",
           clact_forward(c, &a, CLACT_F32, N, x_buf, 0, y_buf, 1, 0, NULL, NULL));
    EXPECT(CLACT_INVALID_ARGUMENT, "x (input buffer): 1 elements at offset 32",
           clact_forward(c, &a, CLACT_F32, 1, x_buf, N, y_buf, 0, 0, NULL, NULL));
    EXPECT(CLACT_INVALID_ARGUMENT, "do not fit",
           clact_forward(c, &a, CLACT_F32, 2, x_buf, SIZE_MAX, y_buf, 0, 0, NULL, NULL));
    EXPECT(CLACT_INVALID_ARGUMENT, "do not fit",
           clact_forward(c, &a, CLACT_F32, SIZE_MAX, x_buf, 0, y_buf, 0, 0, NULL, NULL));
    /* Not a dtype at all; ranges count elements of the dtype (2 N halves fit the 4 N bytes,
     * 2 N + 1 do not; N / 2 doubles fit, N / 2 + 1 do not). f64 without cl_khr_fp64 is
     * tested in check_f64.c. */
    EXPECT(CLACT_INVALID_ARGUMENT, "do not fit",
           clact_forward(c, &a, CLACT_F64, N / 2 + 1, x_buf, 0, y_buf, 0, 0, NULL, NULL));
    EXPECT(CLACT_INVALID_ARGUMENT, "do not fit",
           clact_forward(c, &a, CLACT_F64, 1, x_buf, N / 2, y_buf, 0, 0, NULL, NULL));
    EXPECT(CLACT_INVALID_ARGUMENT, "do not fit",
           clact_forward(c, &a, CLACT_F16, 2 * N + 1, x_buf, 0, y_buf, 0, 0, NULL, NULL));
    EXPECT(CLACT_INVALID_ARGUMENT, "do not fit",
           clact_forward(c, &a, CLACT_BF16, 2, x_buf, 2 * N - 1, y_buf, 0, 0, NULL, NULL));
    EXPECT(CLACT_INVALID_ARGUMENT, "dtype",
           clact_forward(c, &a, (clact_dtype)42, N, x_buf, 0, y_buf, 0, 0, NULL, NULL));
    /* Partial overlap in one buffer; disjoint ranges of one buffer are fine. */
    EXPECT(CLACT_INVALID_ARGUMENT, "overlap",
           clact_forward(c, &a, CLACT_F32, 8, y_buf, 0, y_buf, 4, 0, NULL, NULL));
    /* Event lists that break OpenCL's rule. */
    EXPECT(CLACT_INVALID_ARGUMENT, "wait_list",
           clact_forward(c, &a, CLACT_F32, N, x_buf, 0, y_buf, 0, 2, NULL, NULL));
    EXPECT(CLACT_INVALID_ARGUMENT, "num_wait",
           clact_forward(c, &a, CLACT_F32, N, x_buf, 0, y_buf, 0, 0, &ev, NULL));
}
END_TEST

START_TEST(bad_parameters) {
    clact_context *c = tu_ctx();
    clact_activation a = clact_activation_default(CLACT_ELU);
    a.param[0] = NAN;
    EXPECT(CLACT_INVALID_ARGUMENT, "alpha",
           clact_forward(c, &a, CLACT_F32, N, x_buf, 0, y_buf, 0, 0, NULL, NULL));
    a = clact_activation_default(CLACT_SOFTPLUS);
    a.param[0] = 0.0;
    EXPECT(CLACT_INVALID_ARGUMENT, "beta",
           clact_forward(c, &a, CLACT_F32, N, x_buf, 0, y_buf, 0, 0, NULL, NULL));
    a = clact_activation_default(CLACT_SOFTPLUS);
    a.param[1] = NAN;
    EXPECT(CLACT_INVALID_ARGUMENT, "threshold",
           clact_forward(c, &a, CLACT_F32, N, x_buf, 0, y_buf, 0, 0, NULL, NULL));
    /* Parameters as the kernel sees them (float for f32): beta 1e-300 is 0 there (before, every
     * element came out inf); celu's 1/alpha of alpha 1e-300 overflows; elu's alpha 1e300 does. In
     * f64 they are fine. Forward, backward and the dense layer alike. */
    clact_dense_desc dd = {0};
    cl_mem dy_buf = tu_buffer(N, CL_MEM_READ_WRITE);
    tu_fill_bits(dy_buf, 0, N, 0x3F800000u);
    const struct {
        clact_op op;
        int i;
        double v;
        const char *word;
    } tiny[] = {{CLACT_SOFTPLUS, 0, 1e-300, "beta = 1e-300 is 0 in float"},
                {CLACT_SOFTPLUS, 0, -1e-50, "beta = -1e-50 is 0 in float"},
                {CLACT_CELU, 0, 1e-300, "alpha = 1e-300 is 0 in float"},
                {CLACT_CELU, 0, -1e-39, "1/alpha = -1e+39 overflows float"},
                {CLACT_ELU, 0, 1e300, "alpha = 1e+300 overflows float"},
                {CLACT_LEAKY_RELU, 0, -1e40, "negative_slope = -1e+40 overflows float"}};
    for (size_t t = 0; t < sizeof tiny / sizeof tiny[0]; ++t) {
        a = clact_activation_default(tiny[t].op);
        a.param[tiny[t].i] = tiny[t].v;
        EXPECT(CLACT_INVALID_ARGUMENT, tiny[t].word,
               clact_forward(c, &a, CLACT_F32, N, x_buf, 0, y_buf, 0, 0, NULL, NULL));
        EXPECT(CLACT_INVALID_ARGUMENT, tiny[t].word,
               clact_forward(c, &a, CLACT_BF16, N, x_buf, 0, y_buf, 0, 0, NULL, NULL));
        EXPECT(CLACT_INVALID_ARGUMENT, tiny[t].word,
               clact_backward(c, &a, CLACT_F32, N, x_buf, 0, NULL, 0, dy_buf, 0, y_buf, 0, 0, NULL,
                              NULL));
        dd.in_features = 4;
        dd.out_features = 4;
        dd.act = &a;
        const clact_buffer xb = {x_buf, 0}, yb = {y_buf, 0}, none = {NULL, 0};
        EXPECT(CLACT_INVALID_ARGUMENT, tiny[t].word,
               clact_dense_forward(c, &dd, CLACT_F32, 2, xb, xb, none, none, yb, 0, NULL, NULL));
        char why[256];
        ck_assert_msg(clact_activation_check(&a, why, sizeof why) == CLACT_OK,
                      "%s: in double the parameter is fine: %s", tiny[t].word, why);
    }
    /* The same in f64 runs, and softplus with beta 1e-300 there is finite. */
    if (tu_has_fp64()) {
        a = clact_activation_default(CLACT_SOFTPLUS);
        a.param[0] = 1e-300;
        cl_mem x64 = tu_buffer(N, CL_MEM_READ_WRITE); /* N floats: N/2 doubles */
        double xd[N / 2], yd[N / 2];
        for (int i = 0; i < N / 2; ++i)
            xd[i] = i - 8.0;
        ck_assert_int_eq(clEnqueueWriteBuffer(clact_context_queue(c), x64, CL_TRUE, 0, sizeof xd,
                                              xd, 0, NULL, NULL),
                         CL_SUCCESS);
        ck_assert_int_eq(clact_forward(c, &a, CLACT_F64, N / 2, x64, 0, x64, 0, 0, NULL, NULL),
                         CLACT_OK);
        ck_assert_int_eq(clEnqueueReadBuffer(clact_context_queue(c), x64, CL_TRUE, 0, sizeof yd,
                                             yd, 0, NULL, NULL),
                         CL_SUCCESS);
        for (int i = 0; i < N / 2; ++i)
            ck_assert_msg(isfinite(yd[i]) && yd[i] > 1e299, "f64 softplus(%g), beta 1e-300: %g",
                          xd[i], yd[i]);
        clReleaseMemObject(x64);
    }
    clReleaseMemObject(dy_buf);
    a = clact_activation_default(CLACT_SOFTPLUS);
    a.op = (clact_op)CLACT_OP_COUNT;
    EXPECT(CLACT_INVALID_ARGUMENT, "unknown activation op",
           clact_forward(c, &a, CLACT_F32, N, x_buf, 0, y_buf, 0, 0, NULL, NULL));
    a.op = (clact_op)-3;
    EXPECT(CLACT_INVALID_ARGUMENT, "unknown activation op",
           clact_forward(c, &a, CLACT_F32, N, x_buf, 0, y_buf, 0, 0, NULL, NULL));
}
END_TEST

/* clact_buffer_create: a buffer one byte larger than the device allows is refused before the
 * driver is asked, naming both sizes (before, the CLI said "clCreateBuffer of 4294967362 bytes
 * failed (-61)"); 0 bytes gives a usable 1-byte buffer; bad arguments are named. */
START_TEST(buffer_create_limits) {
    clact_context *c = tu_ctx();
    cl_ulong max = 0;
    ck_assert_int_eq(clGetDeviceInfo(clact_context_device(c), CL_DEVICE_MAX_MEM_ALLOC_SIZE,
                                     sizeof max, &max, NULL),
                     CL_SUCCESS);
    cl_mem m = (cl_mem)1;
    if (max < SIZE_MAX) {
        ck_assert_int_eq(clact_buffer_create(c, CL_MEM_READ_WRITE, (size_t)max + 1, NULL, &m),
                         CLACT_OUT_OF_MEMORY);
        ck_assert_ptr_null(m);
        char want[128];
        snprintf(want, sizeof want, "a buffer of %llu bytes exceeds the device's "
                 "CL_DEVICE_MAX_MEM_ALLOC_SIZE (%llu bytes)",
                 (unsigned long long)max + 1, (unsigned long long)max);
        ck_assert_msg(strstr(clact_context_last_error(c), want), "'%s'",
                      clact_context_last_error(c));
    }
    ck_assert_int_eq(clact_buffer_create(c, CL_MEM_READ_WRITE, 0, NULL, &m), CLACT_OK);
    size_t size = 0;
    ck_assert_int_eq(clGetMemObjectInfo(m, CL_MEM_SIZE, sizeof size, &size, NULL), CL_SUCCESS);
    ck_assert_uint_eq(size, 1);
    clReleaseMemObject(m);
    float init[4] = {1, 2, 3, 4}, back[4];
    ck_assert_int_eq(clact_buffer_create(c, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, sizeof init,
                                         init, &m),
                     CLACT_OK);
    tu_read(m, 0, 4, back);
    ck_assert_mem_eq(back, init, sizeof init);
    clReleaseMemObject(m);
    /* The driver's own refusal is named with the call and the CL error's name. */
    ck_assert_int_eq(clact_buffer_create(c, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, 16, NULL, &m),
                     CLACT_OPENCL_ERROR);
    ck_assert_msg(strstr(clact_context_last_error(c), "clCreateBuffer of 16 bytes failed: "
                                                      "CL_INVALID_HOST_PTR"),
                  "'%s'", clact_context_last_error(c));
    ck_assert_int_eq(clact_buffer_create(NULL, CL_MEM_READ_WRITE, 16, NULL, &m),
                     CLACT_INVALID_ARGUMENT);
    ck_assert_ptr_null(m);
    ck_assert_int_eq(clact_buffer_create(c, CL_MEM_READ_WRITE, 16, NULL, NULL),
                     CLACT_INVALID_ARGUMENT);
}
END_TEST

START_TEST(bad_buffer_kinds) {
    clact_context *c = tu_ctx();
    clact_activation a = clact_activation_default(CLACT_RELU);
    cl_mem ro = tu_buffer(N, CL_MEM_READ_ONLY);
    EXPECT(CLACT_INVALID_ARGUMENT, "READ_ONLY",
           clact_forward(c, &a, CLACT_F32, N, x_buf, 0, ro, 0, 0, NULL, NULL));
    cl_mem wo = tu_buffer(N, CL_MEM_WRITE_ONLY);
    EXPECT(CLACT_INVALID_ARGUMENT, "WRITE_ONLY",
           clact_forward(c, &a, CLACT_F32, N, wo, 0, y_buf, 0, 0, NULL, NULL));
    clReleaseMemObject(ro);
    clReleaseMemObject(wo);
}
END_TEST

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

/* Kernel sources from CLACT_KERNEL_DIR: missing files are an I/O error naming the path; a
 * source that does not compile is BUILD_FAILED with the compiler's log. Each case uses a fresh
 * context, since programs are built once per context. */
START_TEST(kernel_dir_failures) {
    char dir[] = "/tmp/clact_kdir_XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    clact_activation a = clact_activation_default(CLACT_RELU);
    clact_context *c = NULL;

    setenv("CLACT_KERNEL_DIR", dir, 1);
    ck_assert_int_eq(clact_context_create(&c, NULL), CLACT_OK);
    cl_mem x = NULL, y = NULL;
    cl_int err;
    x = clCreateBuffer(clact_context_cl_context(c), CL_MEM_READ_WRITE, N * 4, NULL, &err);
    y = clCreateBuffer(clact_context_cl_context(c), CL_MEM_READ_WRITE, N * 4, NULL, &err);
    ck_assert_int_eq(clact_forward(c, &a, CLACT_F32, N, x, 0, y, 0, 0, NULL, NULL), CLACT_IO_ERROR);
    ck_assert_ptr_nonnull(strstr(clact_context_last_error(c), dir));
    ck_assert_ptr_nonnull(strstr(clact_context_last_error(c), "prelude.cl"));
    clReleaseMemObject(x);
    clReleaseMemObject(y);
    clact_context_destroy(c);

    char path[256];
    snprintf(path, sizeof path, "%s/prelude.cl", dir);
    write_file(path, "#define CLACT_OK_PRELUDE 1\n");
    snprintf(path, sizeof path, "%s/activation.cl", dir);
    write_file(path, "__kernel void clact_relu(__global float *x) { this is not C; }\n");
    /* Every other kernel file, present and empty: the build fails on the above (which files
     * make up the activation program is the library's business; all of them are here). */
    DIR *src = opendir(CLACT_SOURCE_KERNEL_DIR);
    ck_assert_ptr_nonnull(src);
    for (struct dirent *e; (e = readdir(src));) {
        size_t len = strlen(e->d_name);
        if (len < 4 || strcmp(e->d_name + len - 3, ".cl") || !strcmp(e->d_name, "prelude.cl") ||
            !strcmp(e->d_name, "activation.cl"))
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        write_file(path, "\n");
    }
    closedir(src);
    ck_assert_int_eq(clact_context_create(&c, NULL), CLACT_OK);
    x = clCreateBuffer(clact_context_cl_context(c), CL_MEM_READ_WRITE, N * 4, NULL, &err);
    ck_assert_int_eq(clact_forward(c, &a, CLACT_F32, N, x, 0, x, 0, 0, NULL, NULL),
                     CLACT_BUILD_FAILED);
    ck_assert_ptr_nonnull(strstr(clact_context_last_error(c), "Build log"));
    ck_assert_ptr_nonnull(strstr(clact_context_last_error(c), "error"));
    clReleaseMemObject(x);
    clact_context_destroy(c);
    unsetenv("CLACT_KERNEL_DIR");

    /* The real sources through CLACT_KERNEL_DIR build and run. */
    setenv("CLACT_KERNEL_DIR", CLACT_SOURCE_KERNEL_DIR, 1);
    ck_assert_int_eq(clact_context_create(&c, NULL), CLACT_OK);
    float in[3] = {-1, 0, 2}, out[3];
    x = clCreateBuffer(clact_context_cl_context(c), CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR,
                       sizeof in, in, &err);
    ck_assert_int_eq(clact_forward(c, &a, CLACT_F32, 3, x, 0, x, 0, 0, NULL, NULL), CLACT_OK);
    ck_assert_int_eq(
        clEnqueueReadBuffer(clact_context_queue(c), x, CL_TRUE, 0, sizeof out, out, 0, NULL, NULL),
        CL_SUCCESS);
    ck_assert(out[0] == 0 && out[1] == 0 && out[2] == 2);
    clReleaseMemObject(x);
    clact_context_destroy(c);
    unsetenv("CLACT_KERNEL_DIR");

    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

Suite *errors_suite(void);
Suite *errors_suite(void) {
    Suite *s = suite_create("errors");
    TCase *tc = tcase_create("errors");
    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, buffer_create_limits);
    tcase_add_test(tc, bad_handles_and_ranges);
    tcase_add_test(tc, bad_parameters);
    tcase_add_test(tc, bad_buffer_kinds);
    tcase_add_test(tc, kernel_dir_failures);
    suite_add_tcase(s, tc);
    return s;
}
