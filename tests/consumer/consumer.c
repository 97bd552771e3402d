/* SPDX-License-Identifier: MIT */
/* An outside program using an installed clact: relu on four values on the default device. */
#include <stdio.h>

#include <clact/clact.h>

int main(void) {
    clact_context *ctx;
    if (clact_context_create(&ctx, NULL) != CLACT_OK) {
        fprintf(stderr, "consumer: %s\n", clact_context_last_error(NULL));
        return 1;
    }
    float x[4] = {-2.0f, -0.5f, 0.5f, 3.0f}, y[4];
    cl_int err;
    cl_mem b = clCreateBuffer(clact_context_cl_context(ctx),
                              CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, sizeof x, x, &err);
    clact_activation relu = clact_activation_default(CLACT_RELU);
    cl_event done;
    int ok = b && clact_forward(ctx, &relu, CLACT_F32, 4, b, 0, b, 0, 0, NULL, &done) == CLACT_OK &&
             clEnqueueReadBuffer(clact_context_queue(ctx), b, CL_TRUE, 0, sizeof y, y, 1, &done,
                                 NULL) == CL_SUCCESS &&
             y[0] == 0 && y[1] == 0 && y[2] == 0.5f && y[3] == 3.0f;
    printf("consumer: clact %s, relu %s\n", clact_version(), ok ? "ok" : "WRONG");
    if (b)
        clReleaseMemObject(b);
    clact_context_destroy(ctx);
    return ok ? 0 : 1;
}
