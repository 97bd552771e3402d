/* SPDX-License-Identifier: MIT */
/* Probe of a driver bug and of clact at the top of an 8 GiB buffer (bench/gpu-check.sh builds and
 * runs it; bench/RESULTS.md, "first GPU run"): clEnqueueFillBuffer of 8 KiB at offsets near 4 and
 * 8 GiB with 1-, 2- and 4-byte patterns, then relu, gelu and softmax through clact over 2^32 f16
 * and 2^31 f32 elements and at element offsets near the end. Each step runs in a child process of
 * its own (a faulting command loses its context), and prints the status of each call. NVIDIA's
 * 580.159 driver faulted on the narrow fills at 4 GiB - 16 KiB and 8 GiB - 16 KiB; clact's own fills
 * use 4-byte patterns (host/launch.c). Devices that cannot allocate 8 GiB print why per step. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "clact/clact.h"

static size_t GB8 = (size_t)8 << 30;

static int fill(size_t off, size_t bytes, size_t psize, size_t total) {
    clact_context *ctx;
    if (clact_context_create(&ctx, NULL)) { printf("ctx: %s\n", clact_context_last_error(NULL)); return 1; }
    cl_mem m;
    if (clact_buffer_create(ctx, CL_MEM_READ_WRITE, total, NULL, &m)) { printf("buf: %s\n", clact_context_last_error(ctx)); return 1; }
    unsigned char pat[16];
    memset(pat, 0xff, sizeof pat);
    cl_command_queue q = clact_context_queue(ctx);
    cl_int e = clEnqueueFillBuffer(q, m, pat, psize, off, bytes, 0, NULL, NULL);
    cl_int f = clFinish(q);
    unsigned char back[16] = {0};
    cl_int r = clEnqueueReadBuffer(q, m, CL_TRUE, off, 16, back, 0, NULL, NULL);
    printf("fill total %zu off %zu bytes %zu pattern %zu: enqueue %d finish %d read %d byte0 %02x\n", total, off, bytes, psize, e, f, r, back[0]);
    return 0;
}

static int op(clact_dtype dt, int which) {
    clact_context *ctx;
    if (clact_context_create(&ctx, NULL)) { printf("ctx: %s\n", clact_context_last_error(NULL)); return 1; }
    size_t es = clact_dtype_size(dt), n = GB8 / es, W = 4096, end = n - W;
    cl_mem m;
    if (clact_buffer_create(ctx, CL_MEM_READ_WRITE, GB8, NULL, &m)) { printf("buf: %s\n", clact_context_last_error(ctx)); return 1; }
    cl_command_queue q = clact_context_queue(ctx);
    unsigned char *z = calloc(W, es);
    cl_int w = clEnqueueWriteBuffer(q, m, CL_TRUE, end * es, W * es, z, 0, NULL, NULL);
    clact_activation relu = clact_activation_default(CLACT_RELU), gelu = clact_activation_default(CLACT_GELU);
    clact_status s;
    const char *what;
    if (which == 0) { what = "relu whole"; s = clact_forward(ctx, &relu, dt, n, m, 0, m, 0, 0, NULL, NULL); }
    else if (which == 1) { what = "gelu whole"; s = clact_forward(ctx, &gelu, dt, n, m, 0, m, 0, 0, NULL, NULL); }
    else if (which == 2) { what = "gelu offset"; s = clact_forward(ctx, &gelu, dt, W, m, end, m, end - W, 0, NULL, NULL); }
    else { what = "softmax last row"; size_t shape[2] = {1, W}; s = clact_softmax(ctx, CLACT_SOFTMAX, 0, dt, 2, shape, 1, m, end, m, end, 0, NULL, NULL); }
    cl_int f = clFinish(q);
    cl_int r = clEnqueueReadBuffer(q, m, CL_TRUE, end * es, W * es, z, 0, NULL, NULL);
    printf("%s %s n %zu: write %d status %d (%s) finish %d read %d\n", clact_dtype_name(dt), what, n, w, (int)s, s ? clact_context_last_error(ctx) : "", f, r);
    return 0;
}

static void child(int kind, size_t a, size_t b, size_t c, size_t d) {
    fflush(stdout);
    pid_t p = fork();
    if (p == 0) { if (kind == 0) fill(a, b, c, d); else op((clact_dtype)a, (int)b); fflush(stdout); _exit(0); }
    int st; waitpid(p, &st, 0);
}

int main(void) {
    size_t G4 = (size_t)4 << 30;
    child(0, G4 - 16384, 8192, 1, GB8);
    child(0, GB8 - 16384, 8192, 1, GB8);
    child(0, GB8 - 16384, 8192, 2, GB8);
    child(0, GB8 - 16384, 8192, 4, GB8);
    child(0, G4 + 4096, 8192, 1, GB8);
    child(0, G4 - 4096, 8192, 1, GB8);
    child(0, 0, GB8, 1, GB8);
    for (int dt = 0; dt < 2; ++dt)
        for (int w = 0; w < 4; ++w)
            child(1, dt == 0 ? CLACT_F16 : CLACT_F32, (size_t)w, 0, 0);
    return 0;
}
