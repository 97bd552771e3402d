/* SPDX-License-Identifier: MIT */
/* Test driver for tests/torch_cross_entropy.py: runs clact_cross_entropy on .npy files.
 * Usage: ce_driver LOGITS.npy TARGET.npy WEIGHT.npy|- none|mean|sum IGNORE_INDEX SMOOTHING
 *                  LOSS.npy GRAD.npy
 * The target's dtype picks the mode: <i8 and <i4 class indices, <f4 probabilities. Prints the
 * library's error and exits 1 on failure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clact/clact.h"
#include "npy.h"

static int fail(const char *what, const char *detail) {
    fprintf(stderr, "ce_driver: %s: %s\n", what, detail);
    return 1;
}

static cl_mem upload(cl_context cl, const clact_npy *a) {
    cl_int err;
    size_t bytes = a->count * a->item_size;
    return clCreateBuffer(cl, CL_MEM_READ_WRITE | (bytes ? CL_MEM_COPY_HOST_PTR : 0),
                          bytes ? bytes : 4, bytes ? a->data : NULL, &err);
}

int main(int argc, char **argv) {
    if (argc != 9)
        return fail("usage", "LOGITS TARGET WEIGHT|- REDUCTION IGNORE SMOOTHING LOSS GRAD");
    char err[512];
    clact_npy x, t, w = {0};
    if (clact_npy_read(argv[1], &x, err, sizeof err) ||
        clact_npy_read(argv[2], &t, err, sizeof err) ||
        (strcmp(argv[3], "-") && clact_npy_read(argv[3], &w, err, sizeof err)))
        return fail("read", err);
    clact_cross_entropy_desc d = clact_cross_entropy_default();
    d.reduction = !strcmp(argv[4], "none")  ? CLACT_REDUCTION_NONE
                  : !strcmp(argv[4], "sum") ? CLACT_REDUCTION_SUM
                                            : CLACT_REDUCTION_MEAN;
    d.ignore_index = atoll(argv[5]);
    d.label_smoothing = atof(argv[6]);
    d.target_type = !strcmp(t.descr, "<i8")   ? CLACT_TARGET_INT64
                    : !strcmp(t.descr, "<i4") ? CLACT_TARGET_INT32
                                              : CLACT_TARGET_PROBS;
    clact_context *ctx;
    if (clact_context_create(&ctx, NULL) != CLACT_OK)
        return fail("context", clact_context_last_error(NULL));
    cl_context cl = clact_context_cl_context(ctx);
    cl_mem xb = upload(cl, &x), tb = upload(cl, &t), wb = w.data ? upload(cl, &w) : NULL;
    size_t positions = x.ndim == 1 ? 1 : x.count / x.shape[1];
    size_t nloss = d.reduction == CLACT_REDUCTION_NONE ? positions : 1;
    cl_int e;
    cl_mem lb = clCreateBuffer(cl, CL_MEM_READ_WRITE, (nloss ? nloss : 1) * 4, NULL, &e);
    cl_mem gb = clCreateBuffer(cl, CL_MEM_READ_WRITE, (x.count ? x.count : 1) * 4, NULL, &e);
    clact_status st = clact_cross_entropy(ctx, &d, CLACT_F32, x.ndim, x.shape, xb, 0, tb, 0, wb, 0,
                                          lb, 0, gb, 0, 0, NULL, NULL);
    /* The call never blocks; a class index out of range surfaces at the check, as PyTorch
     * raises (and as a training loop that reads its loss would see it). */
    if (st == CLACT_OK)
        st = clact_context_check(ctx);
    if (st != CLACT_OK)
        return fail(clact_status_name(st), clact_context_last_error(ctx));
    clact_npy loss = {.descr = "<f4", .item_size = 4, .count = nloss};
    if (d.reduction == CLACT_REDUCTION_NONE) {
        loss.ndim = x.ndim == 1 ? 0 : x.ndim - 1;
        for (int i = 0; i < loss.ndim; ++i)
            loss.shape[i] = x.shape[i == 0 ? 0 : i + 1];
    }
    clact_npy grad = x;
    loss.data = malloc(nloss * 4 + 4);
    grad.data = malloc(x.count * 4 + 4);
    cl_command_queue q = clact_context_queue(ctx);
    if (nloss)
        clEnqueueReadBuffer(q, lb, CL_TRUE, 0, nloss * 4, loss.data, 0, NULL, NULL);
    if (x.count)
        clEnqueueReadBuffer(q, gb, CL_TRUE, 0, x.count * 4, grad.data, 0, NULL, NULL);
    if (clact_npy_write(argv[7], &loss, err, sizeof err) ||
        clact_npy_write(argv[8], &grad, err, sizeof err))
        return fail("write", err);
    free(loss.data);
    free(grad.data);
    clReleaseMemObject(xb);
    clReleaseMemObject(tb);
    if (wb)
        clReleaseMemObject(wb);
    clReleaseMemObject(lb);
    clReleaseMemObject(gb);
    clact_context_destroy(ctx);
    clact_npy_free(&x);
    clact_npy_free(&t);
    clact_npy_free(&w);
    return 0;
}
