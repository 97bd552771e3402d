/* SPDX-License-Identifier: MIT */
/* The README's C API tour: create a context on the default device, upload, apply GELU on the
 * device (chained to the upload by an event, no blocking call in between), download, and
 * compare with the CPU reference. Build: cc api_tour.c $(pkg-config --cflags --libs clact) */
#include <math.h>
#include <stdio.h>

#include "clact/clact.h"

int main(void) {
    enum { N = 8 };
    float x[N] = {-3, -1, -0.5f, 0, 0.5f, 1, 2, 3}, y[N];

    clact_context *ctx;
    clact_status st = clact_context_create(&ctx, NULL); /* $CLACT_DEVICE, else best device */
    if (st != CLACT_OK) {
        fprintf(stderr, "clact: %s: %s\n", clact_status_name(st), clact_context_last_error(NULL));
        return 1;
    }
    cl_command_queue q = clact_context_queue(ctx);
    cl_mem buf;
    st = clact_buffer_create(ctx, CL_MEM_READ_WRITE, sizeof x, NULL, &buf);
    if (st != CLACT_OK) {
        fprintf(stderr, "clact: %s: %s\n", clact_status_name(st), clact_context_last_error(ctx));
        clact_context_destroy(ctx);
        return 1;
    }

    /* Every OpenCL call's status is checked: a failed enqueue leaves its event unset. */
    cl_event uploaded, done;
    cl_int err = clEnqueueWriteBuffer(q, buf, CL_FALSE, 0, sizeof x, x, 0, NULL, &uploaded);
    if (err != CL_SUCCESS) {
        fprintf(stderr, "clEnqueueWriteBuffer failed (%d)\n", err);
        clReleaseMemObject(buf);
        clact_context_destroy(ctx);
        return 1;
    }
    clact_activation gelu = clact_activation_default(CLACT_GELU); /* approximate='none' */
    st = clact_forward(ctx, &gelu, CLACT_F32, N, buf, 0, buf, 0, 1, &uploaded, &done);
    if (st != CLACT_OK) {
        fprintf(stderr, "clact: %s: %s\n", clact_status_name(st), clact_context_last_error(ctx));
        /* clact enqueued nothing, but our upload may still be reading x: let it finish. */
        clWaitForEvents(1, &uploaded);
        clReleaseEvent(uploaded);
        clReleaseMemObject(buf);
        clact_context_destroy(ctx);
        return 1;
    }
    err = clEnqueueReadBuffer(q, buf, CL_TRUE, 0, sizeof y, y, 1, &done, NULL);
    if (err != CL_SUCCESS) {
        fprintf(stderr, "clEnqueueReadBuffer failed (%d)\n", err);
        clWaitForEvents(1, &done); /* the kernel may still be running on buf */
        clReleaseEvent(uploaded);
        clReleaseEvent(done);
        clReleaseMemObject(buf);
        clact_context_destroy(ctx);
        return 1;
    }

    double xd[N], ref[N];
    for (int i = 0; i < N; ++i)
        xd[i] = x[i];
    clact_reference_forward(&gelu, CLACT_F32, N, xd, ref);
    int bad = 0;
    for (int i = 0; i < N; ++i) {
        printf("gelu(%5.2f) = %+.7f   reference %+.7f\n", x[i], y[i], ref[i]);
        bad += fabs(y[i] - ref[i]) > 4e-5 * fabs(ref[i]) + 1e-7;
    }
    clReleaseEvent(uploaded);
    clReleaseEvent(done);
    clReleaseMemObject(buf);
    clact_context_destroy(ctx);
    return bad ? 1 : 0;
}
