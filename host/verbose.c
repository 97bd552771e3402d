/* SPDX-License-Identifier: MIT */
/* CLACT_VERBOSE=1: one line per op on stderr, the one place the library prints (opt-in, as
 * oneDNN's ONEDNN_VERBOSE). The line names the op, dtype and shape, how its program was found
 * (already in the context, loaded from the disk cache, or compiled, with the time that took) and
 * the device time of its last kernel from the event's profiling counters. Printing never waits:
 * with a profiling queue the line is printed by an event callback when the kernel completes
 * (from a driver thread, one fputs per line); without profiling it is printed at once, with no
 * device time. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "internal.h"

typedef struct pending {
    cl_event event;
    char line[512];
} pending;

static void CL_CALLBACK on_complete(cl_event event, cl_int status, void *data) {
    pending *p = data;
    cl_ulong t0 = 0, t1 = 0;
    char out[640];
    if (status == CL_COMPLETE &&
        clGetEventProfilingInfo(event, CL_PROFILING_COMMAND_START, sizeof t0, &t0, NULL) ==
            CL_SUCCESS &&
        clGetEventProfilingInfo(event, CL_PROFILING_COMMAND_END, sizeof t1, &t1, NULL) ==
            CL_SUCCESS)
        snprintf(out, sizeof out, "%s, device %.3f ms\n", p->line, (double)(t1 - t0) * 1e-6);
    else
        snprintf(out, sizeof out, "%s, %s\n", p->line,
                 status < 0 ? "failed on the device" : "no device time");
    fputs(out, stderr);
    clReleaseEvent(p->event);
    free(p);
}

void clact__verbose_report(const clact__call *call, cl_event event) {
    clact_context *ctx = call->ctx;
    pending *p = malloc(sizeof *p);
    if (!p)
        return;
    char dims[256] = "";
    size_t used = 0;
    if (call->ndim > 0) {
        for (int i = 0; i < call->ndim && used < sizeof dims - 24; ++i)
            used += (size_t)snprintf(dims + used, sizeof dims - used, "%s%zu", i ? ", " : "",
                                     call->shape[i]);
    } else {
        snprintf(dims, sizeof dims, "%zu", call->n);
    }
    char origin[96];
    switch (ctx->last_origin) {
    case CLACT__ORIGIN_DISK:
        snprintf(origin, sizeof origin, "program loaded from the disk cache in %.1f ms",
                 ctx->last_origin_ms);
        break;
    case CLACT__ORIGIN_COMPILED:
        snprintf(origin, sizeof origin, "program compiled in %.1f ms (cache miss)",
                 ctx->last_origin_ms);
        break;
    case CLACT__ORIGIN_CONTEXT:
        snprintf(origin, sizeof origin, "program cached in the context");
        break;
    case CLACT__ORIGIN_NONE: snprintf(origin, sizeof origin, "no kernel (empty tensor)"); break;
    }
    snprintf(p->line, sizeof p->line, "clact: verbose: %s %s (%s), %s%s%s", call->op,
             clact_dtype_name(call->dtype), dims, origin, call->path ? ", " : "",
             call->path ? call->path : "");
    cl_command_queue_properties props = 0;
    clGetCommandQueueInfo(ctx->queue, CL_QUEUE_PROPERTIES, sizeof props, &props, NULL);
    if (event && (props & CL_QUEUE_PROFILING_ENABLE) && ctx->last_origin != CLACT__ORIGIN_NONE &&
        clRetainEvent(event) == CL_SUCCESS) {
        p->event = event;
        if (clSetEventCallback(event, CL_COMPLETE, on_complete, p) == CL_SUCCESS)
            return;
        clReleaseEvent(event);
    }
    fprintf(stderr, "%s%s\n", p->line,
            ctx->last_origin == CLACT__ORIGIN_NONE ? ""
                                                   : ", no device time (queue without profiling)");
    free(p);
}

void clact__verbose_note(const clact_context *ctx, const char *fmt, ...) {
    if (!ctx->env.verbose)
        return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "clact: verbose: %s\n", line);
}
