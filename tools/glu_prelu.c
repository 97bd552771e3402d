/* SPDX-License-Identifier: MIT */
/* `clact apply` and `clact backward` for the two ops that are not one elementwise pass over one
 * array: glu, whose output halves a dimension (dim=D, default -1), and prelu with a weight per
 * channel read from weight=W.npy (and, for backward, --weight-grad DW.npy, the weights'
 * gradient, which a numeric weight=V can ask for too: DW.npy then has shape (1,), nn.PReLU()'s).
 * The same rules as the other ops: the files' element types must agree, bad input is exit 2 with
 * one `clact: ` line, and outputs are written only when everything succeeded. */
#include "glu_prelu.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "convert.h"

int clact_cli_glu_prelu(const clact_cli_op_args *a) {
    if (a->is_softmax)
        return 0;
    return a->act.op == CLACT_GLU ||
           (a->act.op == CLACT_PRELU && (a->weight_file || a->weight_grad));
}

/* glu's dim, checked against x: a dimension to halve, of even size. */
static int glu_dim(const clact_cli_op_args *a, const clact_npy *x, int *dim) {
    long nd = x->ndim, d = (long)a->act.param[0];
    if (nd == 0)
        return clact_cli_fail(EXIT_USAGE,
                              "%s: glu needs an array of at least one dimension (PyTorch: glu does "
                              "not support scalars)",
                              a->cmd);
    if (d < -nd || d >= nd)
        return clact_cli_fail(EXIT_USAGE,
                              "%s: dim %ld is out of range for a %ld-dimensional array (%ld..%ld)",
                              a->cmd, d, nd, -nd, nd - 1);
    *dim = (int)(d < 0 ? d + nd : d);
    if (x->shape[*dim] % 2)
        return clact_cli_fail(
            EXIT_USAGE, "%s: glu: halving dimension must be even, but dimension %d is size %zu",
            a->cmd, *dim, x->shape[*dim]);
    return EXIT_OK;
}

/* prelu's weights: W.npy (of the input's element type, 0-d or 1-d, 1 or shape[1] values) or the
 * number, as a 1-element array of shape (1,). */
static int prelu_weight(const clact_cli_op_args *a, const clact_npy *x, clact_dtype file_dtype,
                        clact_npy *w) {
    char err[1024];
    clact_dtype wdt;
    memset(w, 0, sizeof *w);
    if (!a->weight_file) {
        snprintf(w->descr, sizeof w->descr, "%s", x->descr);
        w->ndim = 1;
        w->shape[0] = w->count = 1;
        w->item_size = clact_dtype_size(file_dtype);
        if (!(w->data = malloc(w->item_size)))
            return clact_cli_fail(EXIT_RUNTIME, "out of memory");
        clact_cli_store(file_dtype, w->data, 0, a->act.param[0]);
        return EXIT_OK;
    }
    if (clact_npy_read(a->weight_file, w, err, sizeof err) != CLACT_OK)
        return clact_cli_fail(EXIT_USAGE, "%s", err);
    int code = clact_cli_check_input(w, a->weight_file, &wdt);
    size_t channels = x->ndim > 1 ? x->shape[1] : 1;
    if (code == EXIT_OK && wdt != file_dtype)
        code = clact_cli_fail(EXIT_USAGE, "%s: %s holds '%s' but %s holds '%s'", a->cmd,
                              a->weight_file, w->descr, a->file[0], x->descr);
    else if (code == EXIT_OK && w->ndim > 1)
        code = clact_cli_fail(EXIT_USAGE, "%s: %s has %d dimensions: prelu's weight is 0-d or 1-d",
                              a->cmd, a->weight_file, w->ndim);
    else if (code == EXIT_OK && w->count != 1 && x->ndim == 0)
        code = clact_cli_fail(EXIT_USAGE,
                              "%s: %s holds %zu weights but %s is 0-d: it takes one (PyTorch: Not "
                              "allow zero-dim input tensor)",
                              a->cmd, a->weight_file, w->count, a->file[0]);
    else if (code == EXIT_OK && w->count != 1 && w->count != channels)
        code = clact_cli_fail(EXIT_USAGE,
                              "%s: %s holds %zu weights: prelu needs 1, or one per channel "
                              "(%s's channel size, dimension 1, or 1 for a 1-d array: %zu)",
                              a->cmd, a->weight_file, w->count, a->file[0], channels);
    if (code != EXIT_OK)
        clact_npy_free(w);
    return code;
}

/* One array on the device: its data converted to the device's dtype, and a buffer holding it
 * (or, for an output, only the buffer). */
typedef struct dev_array {
    cl_mem mem;
    void *host; /* the data in the device's dtype (count elements) */
    int owned;  /* host was converted (malloc'd here) */
    size_t count;
} dev_array;

static int dev_put(clact_context *ctx, dev_array *d, const clact_npy *src, size_t count,
                   clact_dtype file_dtype, clact_dtype dtype) {
    size_t bytes = count * clact_dtype_size(dtype);
    cl_int err;
    int code = EXIT_OK;
    memset(d, 0, sizeof *d);
    d->count = count;
    if (!(d->mem = clact_cli_buffer(ctx, bytes, &code)))
        return code;
    if (!src || !count)
        return EXIT_OK;
    d->owned = dtype != file_dtype;
    d->host = d->owned ? clact_cli_convert(src->data, file_dtype, dtype, count) : src->data;
    if (!d->host)
        return clact_cli_fail(EXIT_RUNTIME, "out of memory");
    err = clEnqueueWriteBuffer(clact_context_queue(ctx), d->mem, CL_TRUE, 0, bytes, d->host, 0,
                               NULL, NULL);
    return err == CL_SUCCESS
               ? EXIT_OK
               : clact_cli_fail_cl(EXIT_RUNTIME, "clEnqueueWriteBuffer", err);
}

/* Read d back (after `done`) into a new array of the file's dtype in *data. */
static int dev_get(clact_context *ctx, const dev_array *d, cl_event done, clact_dtype file_dtype,
                   clact_dtype dtype, void **data) {
    size_t bytes = d->count * clact_dtype_size(dtype);
    void *buf = malloc(bytes ? bytes : 1);
    if (!buf)
        return clact_cli_fail(EXIT_RUNTIME, "out of memory");
    cl_int err = bytes ? clEnqueueReadBuffer(clact_context_queue(ctx), d->mem, CL_TRUE, 0, bytes,
                                             buf, done ? 1 : 0, done ? &done : NULL, NULL)
                       : CL_SUCCESS;
    if (err != CL_SUCCESS) {
        free(buf);
        return clact_cli_fail_cl(EXIT_RUNTIME, "clEnqueueReadBuffer", err);
    }
    if (dtype != file_dtype) {
        void *back = clact_cli_convert(buf, dtype, file_dtype, d->count);
        free(buf);
        if (!(buf = back))
            return clact_cli_fail(EXIT_RUNTIME, "out of memory");
    }
    *data = buf;
    return EXIT_OK;
}

static void dev_free(dev_array *d) {
    if (d->mem)
        clReleaseMemObject(d->mem);
    if (d->owned)
        free(d->host);
    memset(d, 0, sizeof *d);
}

/* The library's failure as the command's: its own input errors are exit 2. */
static int op_failed(clact_context *ctx, clact_status st) {
    return clact_cli_fail(
        st == CLACT_INVALID_ARGUMENT || st == CLACT_UNSUPPORTED ? EXIT_USAGE : EXIT_RUNTIME,
        "%s: %s", clact_status_name(st), clact_cli_one_line(clact_context_last_error(ctx)));
}

static double event_ms(cl_event e) {
    cl_ulong t0 = 0, t1 = 0;
    if (e &&
        clGetEventProfilingInfo(e, CL_PROFILING_COMMAND_START, sizeof t0, &t0, NULL) ==
            CL_SUCCESS &&
        clGetEventProfilingInfo(e, CL_PROFILING_COMMAND_END, sizeof t1, &t1, NULL) == CL_SUCCESS)
        return (double)(t1 - t0) * 1e-6;
    return 0;
}

/* Replace arr's data by data (count elements); the shape is the caller's. */
static void npy_take(clact_npy *arr, void *data, size_t count) {
    free(arr->data);
    arr->data = count ? data : NULL;
    if (!count)
        free(data);
    arr->count = count;
}

int clact_cli_glu_prelu_prepare(const clact_cli_op_args *a, const clact_npy *x,
                                clact_dtype file_dtype, clact_npy *weight) {
    memset(weight, 0, sizeof *weight);
    if (a->act.op == CLACT_GLU) {
        int dim;
        return glu_dim(a, x, &dim);
    }
    return prelu_weight(a, x, file_dtype, weight);
}

int clact_cli_glu_prelu_apply(clact_context *ctx, const clact_cli_op_args *a, clact_npy *x,
                              const clact_npy *weight, clact_dtype file_dtype, clact_dtype dtype,
                              double *kernel_ms) {
    int glu = a->act.op == CLACT_GLU, dim = 0;
    size_t n = x->count, out = n;
    if (glu) {
        int code = glu_dim(a, x, &dim);
        if (code != EXIT_OK)
            return code;
        out = n / 2;
        x->shape[dim] /= 2;
    }
    if (n == 0) {
        x->count = 0;
        return EXIT_OK;
    }
    dev_array dx = {0}, dy = {0}, dw = {0};
    cl_event done = NULL;
    void *result = NULL;
    int code = dev_put(ctx, &dx, x, n, file_dtype, dtype);
    if (code == EXIT_OK && glu)
        code = dev_put(ctx, &dy, NULL, out, file_dtype, dtype);
    if (code == EXIT_OK && !glu)
        code = dev_put(ctx, &dw, weight, weight->count, file_dtype, dtype);
    if (code == EXIT_OK) {
        size_t full[CLACT_NPY_MAX_DIMS];
        memcpy(full, x->shape, sizeof full);
        full[dim] *= glu ? 2 : 1; /* the input's shape */
        clact_status st =
            glu ? clact_glu(ctx, dtype, x->ndim, full, dim, dx.mem, 0, dy.mem, 0, 0, NULL, &done)
                : clact_prelu(ctx, dtype, x->ndim, full, weight->count, dw.mem, 0, dx.mem, 0,
                              dx.mem, 0, 0, NULL, &done);
        if (st != CLACT_OK)
            code = op_failed(ctx, st);
    }
    if (code == EXIT_OK)
        code = dev_get(ctx, glu ? &dy : &dx, done, file_dtype, dtype, &result);
    if (code == EXIT_OK) {
        *kernel_ms = event_ms(done);
        npy_take(x, result, out);
    }
    if (done)
        clReleaseEvent(done);
    dev_free(&dx);
    dev_free(&dy);
    dev_free(&dw);
    return code;
}

/* x and dy, read and checked: the same element type; dy of glu's output shape (x's with dim
 * halved) or, for prelu, of x's. */
static int read_pair(const clact_cli_op_args *a, clact_npy *x, clact_npy *dy,
                     clact_dtype *file_dtype) {
    int code = clact_cli_read_x_dy(a, x, dy, file_dtype), dim = -1;
    if (code == EXIT_OK && a->act.op == CLACT_GLU)
        code = glu_dim(a, x, &dim);
    int same = code == EXIT_OK && x->ndim == dy->ndim;
    for (int i = 0; same && i < x->ndim; ++i)
        same = dy->shape[i] == (i == dim ? x->shape[i] / 2 : x->shape[i]);
    if (code == EXIT_OK && !same)
        code = clact_cli_fail(EXIT_USAGE, "backward: %s does not have the shape of %s's output%s",
                              a->file[1], a->op_name,
                              dim >= 0 ? " (the input's, with dim halved)" : " (the input's)");
    if (code != EXIT_OK) {
        clact_npy_free(x);
        clact_npy_free(dy);
    }
    return code;
}

/* The gradients on the device: dx over x's buffer (glu) or dy's (prelu), dw when wanted. */
static int run_backward(clact_context *ctx, const clact_cli_op_args *a, clact_npy *x, clact_npy *dy,
                        const clact_npy *w, clact_dtype file_dtype, clact_dtype dtype, void **dx,
                        void **dw) {
    int glu = a->act.op == CLACT_GLU, dim = 0;
    if (glu)
        glu_dim(a, x, &dim); /* checked when read */
    dev_array bx = {0}, bg = {0}, bw = {0}, bd = {0};
    cl_event done = NULL;
    int code = dev_put(ctx, &bx, x, x->count, file_dtype, dtype);
    if (code == EXIT_OK)
        code = dev_put(ctx, &bg, dy, dy->count, file_dtype, dtype);
    if (code == EXIT_OK && !glu)
        code = dev_put(ctx, &bw, w, w->count, file_dtype, dtype);
    if (code == EXIT_OK && !glu && a->weight_grad)
        code = dev_put(ctx, &bd, NULL, w->count, file_dtype, dtype);
    if (code == EXIT_OK) {
        clact_status st =
            glu ? clact_glu_backward(ctx, dtype, x->ndim, x->shape, dim, bx.mem, 0, bg.mem, 0,
                                     bx.mem, 0, 0, NULL, &done)
                : clact_prelu_backward(ctx, dtype, x->ndim, x->shape, w->count, bw.mem, 0, bx.mem,
                                       0, bg.mem, 0, bg.mem, 0, bd.mem, 0, 0, 0, NULL, &done);
        if (st != CLACT_OK)
            code = op_failed(ctx, st);
    }
    if (code == EXIT_OK)
        code = dev_get(ctx, glu ? &bx : &bg, done, file_dtype, dtype, dx);
    if (code == EXIT_OK && bd.mem)
        code = dev_get(ctx, &bd, done, file_dtype, dtype, dw);
    if (done)
        clReleaseEvent(done);
    dev_free(&bx);
    dev_free(&bg);
    dev_free(&bw);
    dev_free(&bd);
    return code;
}

/* DX.npy (x's shape) and DW.npy (the weight's shape), both or neither: a failed second write
 * removes the first. */
static int write_grads(const clact_cli_op_args *a, clact_npy *x, void *dx, clact_npy *w, void *dw) {
    char err[1024];
    npy_take(x, dx, x->count);
    if (clact_npy_write(a->file[2], x, err, sizeof err) != CLACT_OK)
        return clact_cli_fail(EXIT_USAGE, "%s", err);
    if (!a->weight_grad)
        return EXIT_OK;
    npy_take(w, dw, w->count);
    if (clact_npy_write(a->weight_grad, w, err, sizeof err) != CLACT_OK) {
        unlink(a->file[2]);
        return clact_cli_fail(EXIT_USAGE, "%s", err);
    }
    return EXIT_OK;
}

int clact_cli_glu_prelu_backward(const clact_cli_op_args *a) {
    clact_npy x, dy, w;
    clact_dtype file_dtype = CLACT_F32;
    memset(&w, 0, sizeof w);
    int code = read_pair(a, &x, &dy, &file_dtype);
    if (code != EXIT_OK)
        return code;
    if (a->act.op == CLACT_PRELU)
        code = prelu_weight(a, &x, file_dtype, &w);
    clact_context *ctx = NULL;
    if (code == EXIT_OK)
        code = clact_cli_context(&ctx, a->device);
    void *dx = NULL, *dw = NULL;
    if (code == EXIT_OK)
        code = run_backward(ctx, a, &x, &dy, &w, file_dtype, a->dtype_given ? a->dtype : file_dtype,
                            &dx, &dw);
    if (code == EXIT_OK)
        code = write_grads(a, &x, dx, &w, dw);
    else {
        free(dx);
        free(dw);
    }
    clact_context_destroy(ctx);
    clact_npy_free(&x);
    clact_npy_free(&dy);
    clact_npy_free(&w);
    return code;
}
