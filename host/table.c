/* SPDX-License-Identifier: MIT */
/* 16-bit lookup tables for the elementwise forward. f16 and bf16 have 65536 values each, so an
 * op's output for every one of them fits in a table of 128 KiB; a lookup is then two loads and a
 * store per element, where the float formulas cost 40-90 vector instructions per 16 elements on
 * a CPU (they compute in float to f32's accuracy, then round). The table is written on the device
 * by the op's own kernel, run in place over a buffer holding every bit pattern, so a lookup
 * returns bit for bit what the kernel would (the dtypes suite, tests/check_dtypes.c, compares the
 * two on all 65536 inputs of every op). A context keeps CLACT__TABLE_SLOTS tables, the least
 * recently used making room for a new one; nothing here waits for the device. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* From this many elements a call builds a missing table (the op over 65536 elements, a
 * quarter of the call's own work at most); smaller calls use a table only once one exists. */
#define CLACT__TABLE_MIN_N ((size_t)1 << 18)

/* The ops whose formula costs more than a lookup on a CPU device (bench/RESULTS.md, f16 and bf16
 * at 16M elements, each op both ways: a lookup took 3.7-4.2 ms on two AVX-512 cores, sigmoid's
 * kernel 4.7-5.5, gelu's 8.4-10.4): the transcendental ones. The comparisons and scalings (relu,
 * hardtanh, the shrinks, ...) and hardswish and softsign (a division, no exp: 3.3-4.1 ms) run at
 * or near the memory's speed and keep their kernels. */
static int table_pays(clact_op op) {
    switch (op) {
    case CLACT_ELU:
    case CLACT_GELU:
    case CLACT_GELU_TANH:
    case CLACT_SILU:
    case CLACT_MISH:
    case CLACT_SIGMOID:
    case CLACT_TANH:
    case CLACT_SOFTPLUS:
    case CLACT_SELU:
    case CLACT_CELU:
    case CLACT_LOGSIGMOID:
    case CLACT_TANHSHRINK: return 1;
    default: return 0;
    }
}

static void table_key(const double p[2], cl_uint key[2]) {
    for (int i = 0; i < 2; ++i) {
        float f = (float)p[i];
        memcpy(&key[i], &f, sizeof f);
    }
}

static clact__table *table_find(clact_context *ctx, clact_op op, clact_dtype dtype,
                                const cl_uint key[2]) {
    for (int i = 0; i < CLACT__TABLE_SLOTS; ++i) {
        clact__table *t = &ctx->tables[i];
        if (t->mem && t->op == op && t->dtype == dtype && t->p[0] == key[0] && t->p[1] == key[1])
            return t;
    }
    return NULL;
}

int clact__table_wanted(clact_context *ctx, const clact_activation *act, clact_dtype dtype,
                        size_t n) {
    if ((dtype != CLACT_F16 && dtype != CLACT_BF16) || act->training)
        return 0;
    if (ctx->env.tables >= 0)
        return ctx->env.tables;
    if (!(ctx->device_type & CL_DEVICE_TYPE_CPU) || !table_pays(act->op))
        return 0;
    if (n >= CLACT__TABLE_MIN_N)
        return 1;
    double p[2];
    cl_uint key[2];
    clact__act_kernel_params(act, p);
    table_key(p, key);
    return table_find(ctx, act->op, dtype, key) != NULL;
}

static void slot_clear(clact__table *t) {
    if (t->ready)
        clReleaseEvent(t->ready);
    /* Commands already enqueued keep the buffer alive until they finish. */
    if (t->mem)
        clReleaseMemObject(t->mem);
    memset(t, 0, sizeof *t);
}

void clact__tables_release(clact_context *ctx) {
    for (int i = 0; i < CLACT__TABLE_SLOTS; ++i)
        slot_clear(&ctx->tables[i]);
}

/* Make the table's buffer, holding every bit pattern (copied from the host at creation: the
 * host array is free to go when clCreateBuffer returns), and enqueue the op's kernel over it in
 * place; *ready is that command's event. (A kernel writing the patterns would do as well, but
 * under oclgrind 21.10 the op's reads of a table so written were reported as uninitialised from
 * element 1080 on, about the size of a buffer the test had freed just before: its record of what
 * is written looks inherited from that buffer. A buffer made from host data leaves nothing to
 * record.) */
static clact_status table_build(clact_context *ctx, clact_dtype dtype, const char *kernel,
                                const double p[2], cl_mem *table, cl_event *ready) {
    enum { N = 65536 };
    /* The kernel found (its program built) before anything is made or enqueued. */
    clact__kern op;
    CLACT__FORWARD(clact__kernel(ctx, CLACT__PROGRAM_ACTIVATION, dtype, kernel, &op));
    cl_ushort *bits = malloc(N * sizeof *bits);
    CLACT__RETURN_IF(!bits, ctx, CLACT_OUT_OF_MEMORY, "out of host memory for a 16-bit table");
    for (unsigned i = 0; i < N; ++i)
        bits[i] = (cl_ushort)i;
    cl_int err;
    cl_mem mem = clCreateBuffer(ctx->context, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR,
                                N * sizeof *bits, bits, &err);
    free(bits);
    if (!mem)
        return clact__fail_cl(ctx, err, "clCreateBuffer (16-bit lookup table)");
    clact__arg_size(&op, N);
    clact__arg_buf(&op, mem, 0);
    clact__arg_buf(&op, mem, 0);
    clact__arg_real(&op, dtype, p[0]);
    clact__arg_real(&op, dtype, p[1]);
    clact_status st = clact__launch(ctx, &op, (N + ctx->vector_width - 1) / ctx->vector_width, 256,
                                    0, NULL, ready);
    if (st != CLACT_OK) {
        clReleaseMemObject(mem);
        return st;
    }
    *table = mem;
    return CLACT_OK;
}

clact_status clact__table_get(clact_context *ctx, const clact_activation *act, clact_dtype dtype,
                              const char *kernel, const double p[2], clact__table **table,
                              int *built) {
    cl_uint key[2];
    table_key(p, key);
    *built = 0;
    clact__table *t = table_find(ctx, act->op, dtype, key);
    /* A table whose command failed on the device holds the bit patterns, not the op's results:
     * dropped and built again (the status query does not wait). */
    cl_int status = CL_COMPLETE;
    if (t &&
        clGetEventInfo(t->ready, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof status, &status, NULL) ==
            CL_SUCCESS &&
        status < 0) {
        slot_clear(t);
        t = NULL;
    }
    if (!t) {
        cl_mem mem = NULL;
        cl_event ready = NULL;
        CLACT__FORWARD(table_build(ctx, dtype, kernel, p, &mem, &ready));
        /* A free slot, else the least recently used one. */
        t = &ctx->tables[0];
        for (int i = 0; i < CLACT__TABLE_SLOTS && t->mem; ++i)
            if (!ctx->tables[i].mem || ctx->tables[i].used < t->used)
                t = &ctx->tables[i];
        slot_clear(t);
        t->mem = mem;
        t->ready = ready;
        t->op = act->op;
        t->dtype = dtype;
        t->p[0] = key[0];
        t->p[1] = key[1];
        *built = 1;
    }
    t->used = ++ctx->table_clock;
    *table = t;
    return CLACT_OK;
}
