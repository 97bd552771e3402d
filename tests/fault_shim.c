/* SPDX-License-Identifier: MIT */
/* Test-only OpenCL fault injection: a shared library that defines a few OpenCL entry points
 * in front of the ICD loader's (a test executable links it before OpenCL, or it is preloaded),
 * forwards every call to the real function, and makes the Nth call of one named function fail
 * with a chosen error, as a driver out of resources would. Nothing here is part of clact. */
#define _GNU_SOURCE /* RTLD_NEXT */
#include "fault_shim.h"

#include <dlfcn.h>
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

/* Whether this call of function is the one to fail (counting only the armed function's calls). */
static int fail_now(const char *function) {
    if (!armed_nth || strcmp(function, armed_name))
        return 0;
    if (++calls != armed_nth)
        return 0;
    armed_nth = 0; /* once */
    return 1;
}

static void *real(const char *function) { return dlsym(RTLD_NEXT, function); }

cl_int clEnqueueNDRangeKernel(cl_command_queue q, cl_kernel k, cl_uint dims, const size_t *offset,
                              const size_t *global, const size_t *local, cl_uint nw,
                              const cl_event *wl, cl_event *ev) {
    if (fail_now(__func__))
        return armed_error;
    cl_int (*f)(cl_command_queue, cl_kernel, cl_uint, const size_t *, const size_t *,
                const size_t *, cl_uint, const cl_event *, cl_event *) = real(__func__);
    return f(q, k, dims, offset, global, local, nw, wl, ev);
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
