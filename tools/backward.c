/* SPDX-License-Identifier: MIT */
/* clact backward OP [NAME=VALUE ...] [--dtype D] [--device SPEC] X.npy DY.npy DX.npy: the gradient
 * of an op with respect to its input, from the input x and the gradient dy of its output, as
 * torch.autograd gives it. The same rules as apply: the files' shapes and element types must
 * match, bad input is exit 2 with one `clact: ` line, and DX.npy is written only on success. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "convert.h"
#include "glu_prelu.h"
#include "npy.h"
#include "op_args.h"

int clact_cli_read_x_dy(const clact_cli_op_args *a, clact_npy *x, clact_npy *dy,
                        clact_dtype *file_dtype) {
    char err[1024];
    clact_dtype dt_dy = CLACT_F32;
    memset(dy, 0, sizeof *dy);
    if (clact_npy_read(a->file[0], x, err, sizeof err) != CLACT_OK)
        return clact_cli_fail(EXIT_USAGE, "%s", err);
    int code = clact_cli_check_input(x, a->file[0], file_dtype);
    if (code == EXIT_OK && clact_npy_read(a->file[1], dy, err, sizeof err) != CLACT_OK)
        code = clact_cli_fail(EXIT_USAGE, "%s", err);
    else if (code == EXIT_OK)
        code = clact_cli_check_input(dy, a->file[1], &dt_dy);
    if (code == EXIT_OK && dt_dy != *file_dtype)
        code = clact_cli_fail(EXIT_USAGE, "backward: %s holds '%s' but %s holds '%s'", a->file[0],
                              x->descr, a->file[1], dy->descr);
    return code;
}

/* x and dy, read and checked: same element type, same shape. */
static int read_inputs(const clact_cli_op_args *a, clact_npy *x, clact_npy *dy,
                       clact_dtype *file_dtype) {
    int code = clact_cli_read_x_dy(a, x, dy, file_dtype);
    int same = code == EXIT_OK && x->ndim == dy->ndim;
    for (int i = 0; same && i < x->ndim; ++i)
        same = x->shape[i] == dy->shape[i];
    if (code == EXIT_OK && !same)
        code = clact_cli_fail(EXIT_USAGE,
                              "backward: %s and %s have different shapes (%d and %d dimensions, "
                              "%zu and %zu elements); they must match",
                              a->file[0], a->file[1], x->ndim, dy->ndim, x->count, dy->count);
    long nd = x->ndim ? x->ndim : 1;
    if (code == EXIT_OK && a->is_softmax && (a->dim < -nd || a->dim >= nd))
        code = clact_cli_fail(EXIT_USAGE,
                              "backward: dim %ld is out of range for a %d-dimensional array "
                              "(%ld..%ld)",
                              a->dim, x->ndim, -nd, nd - 1);
    if (code != EXIT_OK) {
        clact_npy_free(x);
        clact_npy_free(dy);
    }
    return code;
}


/* Enqueue the gradient over the uploaded x and dy (written in place over dy), after `ready`. */
static clact_status enqueue_gradient(clact_context *ctx, const clact_cli_op_args *a,
                                     const clact_npy *x, clact_dtype dtype, cl_mem xb, cl_mem gb,
                                     cl_mem yb, cl_uint nready, const cl_event *ready,
                                     cl_event *done) {
    if (!a->is_softmax)
        return clact_backward(ctx, &a->act, dtype, x->count, xb, 0, NULL, 0, gb, 0, gb, 0, nready,
                              ready, done);
    /* The softmax family's gradient is taken from its output: y first, on the device. A 0-d
     * array is one row of one element, as in PyTorch. */
    size_t one = 1;
    int ndim = x->ndim ? x->ndim : 1;
    const size_t *shape = x->ndim ? x->shape : &one;
    cl_event fwd = NULL;
    clact_status st = clact_softmax(ctx, a->kind, 0, dtype, ndim, shape, (int)a->dim, xb, 0, yb, 0,
                                    nready, ready, &fwd);
    if (st == CLACT_OK)
        st = clact_softmax_backward(ctx, a->kind, dtype, ndim, shape, (int)a->dim, yb, 0, gb, 0, gb,
                                    0, 1, &fwd, done);
    if (fwd)
        clReleaseEvent(fwd);
    return st;
}

/* Upload x and dy (already in dtype), run, and read dx back over dy. */
static int run_device(clact_context *ctx, const clact_cli_op_args *a, const clact_npy *x, void *xd,
                      void *gd, clact_dtype dtype) {
    size_t bytes = x->count * clact_dtype_size(dtype);
    cl_command_queue q = clact_context_queue(ctx);
    int code = EXIT_OK;
    cl_mem xb = clact_cli_buffer(ctx, bytes, &code), gb = clact_cli_buffer(ctx, bytes, &code);
    cl_mem yb = a->is_softmax ? clact_cli_buffer(ctx, bytes, &code) : NULL;
    cl_event up[2] = {NULL, NULL}, done = NULL;
    cl_int err = CL_SUCCESS;
    if (code == EXIT_OK &&
        ((err = clEnqueueWriteBuffer(q, xb, CL_FALSE, 0, bytes, xd, 0, NULL, &up[0])) ||
         (err = clEnqueueWriteBuffer(q, gb, CL_FALSE, 0, bytes, gd, 0, NULL, &up[1]))))
        code = clact_cli_fail_cl(EXIT_RUNTIME, "clEnqueueWriteBuffer", err);
    if (code == EXIT_OK) {
        clact_status st = enqueue_gradient(ctx, a, x, dtype, xb, gb, yb, 2, up, &done);
        if (st != CLACT_OK)
            code = clact_cli_fail(
                st == CLACT_INVALID_ARGUMENT || st == CLACT_UNSUPPORTED ? EXIT_USAGE : EXIT_RUNTIME,
                "%s: %s", clact_status_name(st), clact_cli_one_line(clact_context_last_error(ctx)));
    }
    if (code == EXIT_OK && (err = clEnqueueReadBuffer(q, gb, CL_TRUE, 0, bytes, gd, 1, &done, NULL)))
        code = clact_cli_fail_cl(EXIT_RUNTIME, "clEnqueueReadBuffer", err);
    /* The uploads read the host arrays until they complete, and the caller frees them next. */
    for (int i = 0; i < 2; ++i)
        if (up[i]) {
            clWaitForEvents(1, &up[i]);
            clReleaseEvent(up[i]);
        }
    if (done)
        clReleaseEvent(done);
    cl_mem all[3] = {xb, gb, yb};
    for (int i = 0; i < 3; ++i)
        if (all[i])
            clReleaseMemObject(all[i]);
    return code;
}

/* The device works in dtype; dx is written over dy's data, in the files' type. */
static int convert_and_run(clact_context *ctx, const clact_cli_op_args *a, const clact_npy *x,
                           clact_npy *dy, clact_dtype file_dtype, clact_dtype dtype) {
    int convert = dtype != file_dtype;
    void *xd = convert ? clact_cli_convert(x->data, file_dtype, dtype, x->count) : x->data;
    void *gd = convert ? clact_cli_convert(dy->data, file_dtype, dtype, x->count) : dy->data;
    int code = xd && gd ? run_device(ctx, a, x, xd, gd, dtype)
                        : clact_cli_fail(EXIT_RUNTIME, "out of memory");
    if (convert && code == EXIT_OK) {
        void *back = clact_cli_convert(gd, dtype, file_dtype, x->count);
        if (back) {
            free(dy->data);
            dy->data = back;
        } else {
            code = clact_cli_fail(EXIT_RUNTIME, "out of memory");
        }
    }
    if (convert) {
        free(xd);
        free(gd);
    }
    return code;
}

int clact_cli_backward_main(int argc, char **argv) {
    clact_cli_op_args a;
    int code = clact_cli_parse_op("backward", 3, argc, argv, &a);
    if (code == EXIT_OK && a.summary)
        code = clact_cli_fail(EXIT_USAGE, "backward: --summary is an option of apply");
    if (code == EXIT_OK && a.weight_grad && a.act.op != CLACT_PRELU)
        code = clact_cli_fail(EXIT_USAGE, "backward: --weight-grad is an option of prelu");
    if (code == EXIT_OK && clact_cli_glu_prelu(&a))
        return clact_cli_glu_prelu_backward(&a);
    clact_npy x, dy;
    clact_dtype file_dtype = CLACT_F32;
    if (code != EXIT_OK || (code = read_inputs(&a, &x, &dy, &file_dtype)) != EXIT_OK)
        return code;
    clact_context *ctx = NULL;
    code = clact_cli_context(&ctx, a.device);
    if (code == EXIT_OK && x.count)
        code = convert_and_run(ctx, &a, &x, &dy, file_dtype, a.dtype_given ? a.dtype : file_dtype);
    char err[1024];
    if (code == EXIT_OK && clact_npy_write(a.file[2], &dy, err, sizeof err) != CLACT_OK)
        code = clact_cli_fail(EXIT_USAGE, "%s", err);
    clact_context_destroy(ctx);
    clact_npy_free(&x);
    clact_npy_free(&dy);
    return code;
}
