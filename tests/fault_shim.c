/* SPDX-License-Identifier: MIT */
/* Test-only OpenCL fault injection: a shared library that defines a few OpenCL entry points
 * in front of the ICD loader's (a test executable links it before OpenCL, or it is preloaded),
 * forwards every call to the real function, and makes the Nth call of one named function fail
 * with a chosen error, as a driver out of resources would. Nothing here is part of clact. */
#define _GNU_SOURCE /* RTLD_NEXT */
#include "fault_shim.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

static char armed_name[64];
static unsigned armed_nth, calls;
static cl_int armed_error;

void clact_fault_arm(const char *function, unsigned nth, cl_int error) {
    snprintf(armed_name, sizeof armed_name, "%s", function ? function : "");
    armed_nth = nth;
    armed_error = error;
    calls = 0;
}

unsigned clact_fault_calls(void) { return calls; }

/* CLACT_FAULT=function:nth:error arms the shim from the environment (for a preloaded shim in
 * a program that cannot call clact_fault_arm, e.g. the CLI), at the first interposed call. */
static void arm_from_env(void) {
    static int done;
    if (done)
        return;
    done = 1;
    const char *v = getenv("CLACT_FAULT");
    char name[64];
    unsigned nth;
    int error;
    if (v && sscanf(v, "%63[^:]:%u:%d", name, &nth, &error) == 3)
        clact_fault_arm(name, nth, error);
}

/* Whether this call of function is the one to fail (counting only the armed function's calls). */
static int fail_now(const char *function) {
    arm_from_env();
    if (!armed_nth || strcmp(function, armed_name))
        return 0;
    if (++calls != armed_nth)
        return 0;
    armed_nth = 0; /* once */
    return 1;
}

static void *real(const char *function) { return dlsym(RTLD_NEXT, function); }

static clact_fault_launch launches[2]; /* [1] the last launch */

void clact_fault_launches(clact_fault_launch out[2]) { memcpy(out, launches, sizeof launches); }

cl_int clEnqueueNDRangeKernel(cl_command_queue q, cl_kernel k, cl_uint dims, const size_t *offset,
                              const size_t *global, const size_t *local, cl_uint nw,
                              const cl_event *wl, cl_event *ev) {
    if (fail_now(__func__))
        return armed_error;
    cl_int (*f)(cl_command_queue, cl_kernel, cl_uint, const size_t *, const size_t *,
                const size_t *, cl_uint, const cl_event *, cl_event *) = real(__func__);
    cl_int err = f(q, k, dims, offset, global, local, nw, wl, ev);
    if (err == CL_SUCCESS) {
        launches[0] = launches[1];
        memset(&launches[1], 0, sizeof launches[1]);
        launches[1].num_wait = nw;
        for (cl_uint i = 0; i < nw && i < 8; ++i)
            launches[1].wait[i] = wl[i];
        launches[1].event = ev ? *ev : NULL;
    }
    return err;
}

cl_int clGetEventInfo(cl_event e, cl_event_info what, size_t size, void *value, size_t *ret) {
    cl_int (*f)(cl_event, cl_event_info, size_t, void *, size_t *) = real(__func__);
    if (what == CL_EVENT_COMMAND_EXECUTION_STATUS && size == sizeof(cl_int) && value &&
        fail_now(__func__)) {
        *(cl_int *)value = armed_error; /* the command failed on the device */
        if (ret)
            *ret = sizeof(cl_int);
        return CL_SUCCESS;
    }
    return f(e, what, size, value, ret);
}

cl_int clEnqueueReadBuffer(cl_command_queue q, cl_mem m, cl_bool blocking, size_t offset,
                           size_t size, void *ptr, cl_uint nw, const cl_event *wl, cl_event *ev) {
    if (fail_now(__func__))
        return armed_error;
    cl_int (*f)(cl_command_queue, cl_mem, cl_bool, size_t, size_t, void *, cl_uint,
                const cl_event *, cl_event *) = real(__func__);
    return f(q, m, blocking, offset, size, ptr, nw, wl, ev);
}

cl_int clSetKernelArg(cl_kernel k, cl_uint index, size_t size, const void *value) {
    if (fail_now(__func__))
        return armed_error;
    cl_int (*f)(cl_kernel, cl_uint, size_t, const void *) = real(__func__);
    return f(k, index, size, value);
}

/* A failing listing call leaves the count alone, as a driver that fails early would. */
cl_int clGetPlatformIDs(cl_uint n, cl_platform_id *platforms, cl_uint *count) {
    if (fail_now(__func__))
        return armed_error;
    cl_int (*f)(cl_uint, cl_platform_id *, cl_uint *) = real(__func__);
    return f(n, platforms, count);
}

cl_int clGetDeviceIDs(cl_platform_id platform, cl_device_type type, cl_uint n,
                      cl_device_id *devices, cl_uint *count) {
    if (fail_now(__func__))
        return armed_error;
    cl_int (*f)(cl_platform_id, cl_device_type, cl_uint, cl_device_id *, cl_uint *) =
        real(__func__);
    return f(platform, type, n, devices, count);
}

cl_int clGetPlatformInfo(cl_platform_id platform, cl_platform_info what, size_t size, void *value,
                         size_t *size_ret) {
    if (fail_now(__func__))
        return armed_error;
    cl_int (*f)(cl_platform_id, cl_platform_info, size_t, void *, size_t *) = real(__func__);
    return f(platform, what, size, value, size_ret);
}

cl_int clGetDeviceInfo(cl_device_id device, cl_device_info what, size_t size, void *value,
                       size_t *size_ret) {
    if (fail_now(__func__))
        return armed_error;
    cl_int (*f)(cl_device_id, cl_device_info, size_t, void *, size_t *) = real(__func__);
    return f(device, what, size, value, size_ret);
}

cl_int clEnqueueWriteBuffer(cl_command_queue q, cl_mem m, cl_bool blocking, size_t offset,
                            size_t size, const void *ptr, cl_uint nw, const cl_event *wl,
                            cl_event *ev) {
    if (fail_now(__func__))
        return armed_error;
    cl_int (*f)(cl_command_queue, cl_mem, cl_bool, size_t, size_t, const void *, cl_uint,
                const cl_event *, cl_event *) = real(__func__);
    return f(q, m, blocking, offset, size, ptr, nw, wl, ev);
}

/* The calls that make objects: a failure returns NULL with the error in errcode_ret, as drivers
 * out of memory do. */
cl_mem clCreateBuffer(cl_context context, cl_mem_flags flags, size_t size, void *host,
                      cl_int *errcode_ret) {
    if (fail_now(__func__)) {
        if (errcode_ret)
            *errcode_ret = armed_error;
        return NULL;
    }
    cl_mem (*f)(cl_context, cl_mem_flags, size_t, void *, cl_int *) = real(__func__);
    return f(context, flags, size, host, errcode_ret);
}

cl_kernel clCreateKernel(cl_program program, const char *name, cl_int *errcode_ret) {
    if (fail_now(__func__)) {
        if (errcode_ret)
            *errcode_ret = armed_error;
        return NULL;
    }
    cl_kernel (*f)(cl_program, const char *, cl_int *) = real(__func__);
    return f(program, name, errcode_ret);
}

cl_program clCreateProgramWithBinary(cl_context context, cl_uint n, const cl_device_id *devices,
                                     const size_t *lengths, const unsigned char **binaries,
                                     cl_int *binary_status, cl_int *errcode_ret) {
    if (fail_now(__func__)) {
        if (errcode_ret)
            *errcode_ret = armed_error;
        return NULL;
    }
    cl_program (*f)(cl_context, cl_uint, const cl_device_id *, const size_t *,
                    const unsigned char **, cl_int *, cl_int *) = real(__func__);
    return f(context, n, devices, lengths, binaries, binary_status, errcode_ret);
}

cl_int clBuildProgram(cl_program program, cl_uint n, const cl_device_id *devices,
                      const char *options, void(CL_CALLBACK *notify)(cl_program, void *),
                      void *user) {
    if (fail_now(__func__))
        return armed_error;
    cl_int (*f)(cl_program, cl_uint, const cl_device_id *, const char *,
                void(CL_CALLBACK *)(cl_program, void *), void *) = real(__func__);
    return f(program, n, devices, options, notify, user);
}

cl_int clGetProgramInfo(cl_program program, cl_program_info what, size_t size, void *value,
                        size_t *size_ret) {
    if (fail_now(__func__))
        return armed_error;
    cl_int (*f)(cl_program, cl_program_info, size_t, void *, size_t *) = real(__func__);
    return f(program, what, size, value, size_ret);
}

cl_int clEnqueueFillBuffer(cl_command_queue q, cl_mem m, const void *pattern, size_t psize,
                           size_t offset, size_t size, cl_uint nw, const cl_event *wl,
                           cl_event *ev) {
    if (fail_now(__func__))
        return armed_error;
    cl_int (*f)(cl_command_queue, cl_mem, const void *, size_t, size_t, size_t, cl_uint,
                const cl_event *, cl_event *) = real(__func__);
    return f(q, m, pattern, psize, offset, size, nw, wl, ev);
}

cl_int clEnqueueMarkerWithWaitList(cl_command_queue q, cl_uint nw, const cl_event *wl,
                                   cl_event *ev) {
    if (fail_now(__func__))
        return armed_error;
    cl_int (*f)(cl_command_queue, cl_uint, const cl_event *, cl_event *) = real(__func__);
    return f(q, nw, wl, ev);
}

cl_int clEnqueueBarrierWithWaitList(cl_command_queue q, cl_uint nw, const cl_event *wl,
                                    cl_event *ev) {
    if (fail_now(__func__))
        return armed_error;
    cl_int (*f)(cl_command_queue, cl_uint, const cl_event *, cl_event *) = real(__func__);
    return f(q, nw, wl, ev);
}

cl_int clCreateKernelsInProgram(cl_program program, cl_uint n, cl_kernel *kernels, cl_uint *n_ret) {
    if (fail_now(__func__))
        return armed_error;
    cl_int (*f)(cl_program, cl_uint, cl_kernel *, cl_uint *) = real(__func__);
    return f(program, n, kernels, n_ret);
}
