/* SPDX-License-Identifier: MIT */
/* Validation of the caller's buffers before anything is enqueued: each is a buffer of the
 * context, large enough (CL_MEM_SIZE), readable or writable as used, and outputs do not overlap
 * anything else except where the op allows in-place (the very same bytes). */
#include <stdio.h>

#include "internal.h"

/* A buffer's place in memory: its root buffer and byte offset in it (sub-buffers resolved). */
typedef struct mem_view {
    cl_mem root;
    size_t origin;
    size_t size;
    cl_mem_flags flags;
} mem_view;

static clact_status mem_view_get(clact_context *ctx, cl_mem m, const char *what, mem_view *v) {
    cl_context owner;
    cl_int err = clGetMemObjectInfo(m, CL_MEM_CONTEXT, sizeof owner, &owner, NULL);
    if (err == CL_INVALID_MEM_OBJECT)
        return clact__fail(ctx, CLACT_INVALID_ARGUMENT, "%s is not a valid cl_mem buffer", what);
    if (err != CL_SUCCESS)
        return clact__fail_cl(ctx, err, "clGetMemObjectInfo(CL_MEM_CONTEXT)");
    if (owner != ctx->context)
        return clact__fail(ctx, CLACT_INVALID_ARGUMENT,
                           "%s belongs to another cl_context than the clact context's", what);
    cl_mem_object_type type;
    cl_mem parent = NULL;
    size_t offset = 0;
    err = clGetMemObjectInfo(m, CL_MEM_TYPE, sizeof type, &type, NULL);
    if (err == CL_SUCCESS)
        err = clGetMemObjectInfo(m, CL_MEM_SIZE, sizeof v->size, &v->size, NULL);
    if (err == CL_SUCCESS)
        err = clGetMemObjectInfo(m, CL_MEM_FLAGS, sizeof v->flags, &v->flags, NULL);
    if (err == CL_SUCCESS)
        err = clGetMemObjectInfo(m, CL_MEM_ASSOCIATED_MEMOBJECT, sizeof parent, &parent, NULL);
    if (err == CL_SUCCESS && parent)
        err = clGetMemObjectInfo(m, CL_MEM_OFFSET, sizeof offset, &offset, NULL);
    if (err != CL_SUCCESS)
        return clact__fail_cl(ctx, err, "clGetMemObjectInfo");
    if (type != CL_MEM_OBJECT_BUFFER)
        return clact__fail(ctx, CLACT_INVALID_ARGUMENT, "%s is an image, not a buffer", what);
    v->root = parent ? parent : m;
    v->origin = offset;
    return CLACT_OK;
}

clact_status clact__check_buffers(clact_context *ctx, const clact__buf *b, int n) {
    mem_view v[8];
    if (n > 8)
        return clact__fail(ctx, CLACT_INVALID_ARGUMENT, "too many buffers");
    for (int i = 0; i < n; ++i) {
        if (!b[i].mem)
            return clact__fail(ctx, CLACT_INVALID_ARGUMENT, "%s is NULL", b[i].name);
        clact_status st = mem_view_get(ctx, b[i].mem, b[i].name, &v[i]);
        if (st != CLACT_OK)
            return st;
        size_t capacity = v[i].size / b[i].elem;
        if (b[i].offset > capacity || b[i].count > capacity - b[i].offset)
            return clact__fail(ctx, CLACT_INVALID_ARGUMENT,
                               "%s: %zu elements at offset %zu do not fit in the buffer's %zu "
                               "bytes (%zu elements)",
                               b[i].name, b[i].count, b[i].offset, v[i].size, capacity);
        if (b[i].output && (v[i].flags & CL_MEM_READ_ONLY))
            return clact__fail(ctx, CLACT_INVALID_ARGUMENT, "%s was created CL_MEM_READ_ONLY",
                               b[i].name);
        if (!b[i].output && (v[i].flags & CL_MEM_WRITE_ONLY))
            return clact__fail(ctx, CLACT_INVALID_ARGUMENT, "%s was created CL_MEM_WRITE_ONLY",
                               b[i].name);
    }
    for (int i = 0; i < n; ++i) {
        for (int j = i + 1; j < n; ++j) {
            if (!(b[i].output || b[j].output) || v[i].root != v[j].root || !b[i].count ||
                !b[j].count)
                continue;
            size_t bi = v[i].origin + b[i].offset * b[i].elem, li = b[i].count * b[i].elem;
            size_t bj = v[j].origin + b[j].offset * b[j].elem, lj = b[j].count * b[j].elem;
            if (!(bi < bj + lj && bj < bi + li))
                continue;
            int same = bi == bj && li == lj && (b[i].alias == j || b[j].alias == i);
            if (!same)
                return clact__fail(
                    ctx, CLACT_INVALID_ARGUMENT,
                    "%s and %s overlap (bytes %zu and %zu of one buffer, %zu and "
                    "%zu bytes)%s",
                    b[i].name, b[j].name, bi, bj, li, lj,
                    (b[i].alias == j || b[j].alias == i) ? "; in-place needs the same offset" : "");
        }
    }
    return CLACT_OK;
}

clact_status clact__check_io(clact_context *ctx, size_t n, size_t elem, cl_mem x, size_t x_offset,
                             cl_mem y, size_t y_offset) {
    const clact__buf b[2] = {{"x (input buffer)", x, x_offset, n, elem, 0, 1},
                             {"y (output buffer)", y, y_offset, n, elem, 1, 0}};
    return clact__check_buffers(ctx, b, 2);
}

clact_status clact_buffer_create(clact_context *ctx, cl_mem_flags flags, size_t bytes,
                                 void *host_ptr, cl_mem *out) {
    if (out)
        *out = NULL;
    if (!ctx)
        return clact__fail(NULL, CLACT_INVALID_ARGUMENT, "ctx is NULL");
    clact__clear_error(ctx);
    if (!out)
        return clact__fail(ctx, CLACT_INVALID_ARGUMENT, "out is NULL");
    cl_ulong max = 0;
    cl_int err = clGetDeviceInfo(ctx->device, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof max, &max, NULL);
    if (err != CL_SUCCESS)
        return clact__fail_cl(ctx, err, "clGetDeviceInfo(CL_DEVICE_MAX_MEM_ALLOC_SIZE)");
    if ((cl_ulong)bytes > max)
        return clact__fail(ctx, CLACT_OUT_OF_MEMORY,
                           "a buffer of %zu bytes exceeds the device's CL_DEVICE_MAX_MEM_ALLOC_SIZE "
                           "(%llu bytes)",
                           bytes, (unsigned long long)max);
    cl_mem m = clCreateBuffer(ctx->context, flags, bytes ? bytes : 1, host_ptr, &err);
    if (!m) {
        char call[64];
        snprintf(call, sizeof call, "clCreateBuffer of %zu bytes", bytes);
        return clact__fail_cl(ctx, err ? err : CL_OUT_OF_RESOURCES, call);
    }
    *out = m;
    return CLACT_OK;
}
