/* SPDX-License-Identifier: MIT */
/* Failure details: per context, or per thread for calls that have no context. */
#include <stdarg.h>
#include <stdio.h>

#include "internal.h"

static _Thread_local char thread_error[CLACT__ERROR_SIZE];

static char *error_buffer(const clact_context *ctx) {
    return ctx ? (char *)ctx->error : thread_error;
}

clact_status clact__fail(clact_context *ctx, clact_status status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(error_buffer(ctx), CLACT__ERROR_SIZE, fmt, ap);
    va_end(ap);
    return status;
}

void clact__clear_error(clact_context *ctx) { error_buffer(ctx)[0] = '\0'; }

const char *clact_context_last_error(const clact_context *ctx) { return error_buffer(ctx); }

const char *clact__cl_error_name(cl_int err) {
    switch (err) {
#define CLACT__CL_ERROR(code)                                                                      \
    case code: return #code;
        CLACT__CL_ERROR(CL_SUCCESS)
        CLACT__CL_ERROR(CL_DEVICE_NOT_FOUND)
        CLACT__CL_ERROR(CL_DEVICE_NOT_AVAILABLE)
        CLACT__CL_ERROR(CL_COMPILER_NOT_AVAILABLE)
        CLACT__CL_ERROR(CL_MEM_OBJECT_ALLOCATION_FAILURE)
        CLACT__CL_ERROR(CL_OUT_OF_RESOURCES)
        CLACT__CL_ERROR(CL_OUT_OF_HOST_MEMORY)
        CLACT__CL_ERROR(CL_PROFILING_INFO_NOT_AVAILABLE)
        CLACT__CL_ERROR(CL_MEM_COPY_OVERLAP)
        CLACT__CL_ERROR(CL_IMAGE_FORMAT_MISMATCH)
        CLACT__CL_ERROR(CL_IMAGE_FORMAT_NOT_SUPPORTED)
        CLACT__CL_ERROR(CL_BUILD_PROGRAM_FAILURE)
        CLACT__CL_ERROR(CL_MAP_FAILURE)
        CLACT__CL_ERROR(CL_MISALIGNED_SUB_BUFFER_OFFSET)
        CLACT__CL_ERROR(CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST)
        CLACT__CL_ERROR(CL_COMPILE_PROGRAM_FAILURE)
        CLACT__CL_ERROR(CL_LINKER_NOT_AVAILABLE)
        CLACT__CL_ERROR(CL_LINK_PROGRAM_FAILURE)
        CLACT__CL_ERROR(CL_DEVICE_PARTITION_FAILED)
        CLACT__CL_ERROR(CL_KERNEL_ARG_INFO_NOT_AVAILABLE)
        CLACT__CL_ERROR(CL_INVALID_VALUE)
        CLACT__CL_ERROR(CL_INVALID_DEVICE_TYPE)
        CLACT__CL_ERROR(CL_INVALID_PLATFORM)
        CLACT__CL_ERROR(CL_INVALID_DEVICE)
        CLACT__CL_ERROR(CL_INVALID_CONTEXT)
        CLACT__CL_ERROR(CL_INVALID_QUEUE_PROPERTIES)
        CLACT__CL_ERROR(CL_INVALID_COMMAND_QUEUE)
        CLACT__CL_ERROR(CL_INVALID_HOST_PTR)
        CLACT__CL_ERROR(CL_INVALID_MEM_OBJECT)
        CLACT__CL_ERROR(CL_INVALID_IMAGE_FORMAT_DESCRIPTOR)
        CLACT__CL_ERROR(CL_INVALID_IMAGE_SIZE)
        CLACT__CL_ERROR(CL_INVALID_SAMPLER)
        CLACT__CL_ERROR(CL_INVALID_BINARY)
        CLACT__CL_ERROR(CL_INVALID_BUILD_OPTIONS)
        CLACT__CL_ERROR(CL_INVALID_PROGRAM)
        CLACT__CL_ERROR(CL_INVALID_PROGRAM_EXECUTABLE)
        CLACT__CL_ERROR(CL_INVALID_KERNEL_NAME)
        CLACT__CL_ERROR(CL_INVALID_KERNEL_DEFINITION)
        CLACT__CL_ERROR(CL_INVALID_KERNEL)
        CLACT__CL_ERROR(CL_INVALID_ARG_INDEX)
        CLACT__CL_ERROR(CL_INVALID_ARG_VALUE)
        CLACT__CL_ERROR(CL_INVALID_ARG_SIZE)
        CLACT__CL_ERROR(CL_INVALID_KERNEL_ARGS)
        CLACT__CL_ERROR(CL_INVALID_WORK_DIMENSION)
        CLACT__CL_ERROR(CL_INVALID_WORK_GROUP_SIZE)
        CLACT__CL_ERROR(CL_INVALID_WORK_ITEM_SIZE)
        CLACT__CL_ERROR(CL_INVALID_GLOBAL_OFFSET)
        CLACT__CL_ERROR(CL_INVALID_EVENT_WAIT_LIST)
        CLACT__CL_ERROR(CL_INVALID_EVENT)
        CLACT__CL_ERROR(CL_INVALID_OPERATION)
        CLACT__CL_ERROR(CL_INVALID_GL_OBJECT)
        CLACT__CL_ERROR(CL_INVALID_BUFFER_SIZE)
        CLACT__CL_ERROR(CL_INVALID_MIP_LEVEL)
        CLACT__CL_ERROR(CL_INVALID_GLOBAL_WORK_SIZE)
        CLACT__CL_ERROR(CL_INVALID_PROPERTY)
        CLACT__CL_ERROR(CL_INVALID_IMAGE_DESCRIPTOR)
        CLACT__CL_ERROR(CL_INVALID_COMPILER_OPTIONS)
        CLACT__CL_ERROR(CL_INVALID_LINKER_OPTIONS)
        CLACT__CL_ERROR(CL_INVALID_DEVICE_PARTITION_COUNT)
        CLACT__CL_ERROR(CL_PLATFORM_NOT_FOUND_KHR)
#undef CLACT__CL_ERROR
    }
    return "unknown OpenCL error";
}

clact_status clact__fail_cl(clact_context *ctx, cl_int err, const char *call) {
    clact_status status = CLACT_OPENCL_ERROR;
    if (err == CL_OUT_OF_HOST_MEMORY || err == CL_MEM_OBJECT_ALLOCATION_FAILURE ||
        err == CL_OUT_OF_RESOURCES)
        status = CLACT_OUT_OF_MEMORY;
    return clact__fail(ctx, status, "%s failed: %s (%d)", call, clact__cl_error_name(err),
                       (int)err);
}

const char *clact_cl_error_name(cl_int err) { return clact__cl_error_name(err); }
