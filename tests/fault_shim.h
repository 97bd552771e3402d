/* SPDX-License-Identifier: MIT */
/* Test-only OpenCL fault injection (fault_shim.c). */
#ifndef CLACT_TESTS_FAULT_SHIM_H
#define CLACT_TESTS_FAULT_SHIM_H
#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 120
#endif
#include <CL/cl.h>
#include <stdio.h>

/* From now on, the nth call (1-based) of OpenCL function `function` (clEnqueueNDRangeKernel,
 * clEnqueueReadBuffer, clEnqueueWriteBuffer, clEnqueueFillBuffer, clEnqueueMarkerWithWaitList,
 * clEnqueueBarrierWithWaitList, clSetKernelArg, clGetPlatformIDs, clGetDeviceIDs,
 * clGetPlatformInfo, clGetDeviceInfo, clCreateBuffer, clCreateKernel, clCreateKernelsInProgram,
 * clCreateProgramWithBinary, clBuildProgram, clGetProgramInfo or clGetEventInfo)
 * fails with `error`, once; nth 0 disarms. CLACT_FAULT=function:nth:error in the
 * environment arms it the same way at the first interposed call (for a preloaded shim). */
void clact_fault_arm(const char *function, unsigned nth, cl_int error);
/* How many calls of the armed function were seen since it was armed (until it fired: arm a
 * large nth to count calls without failing one). */
unsigned clact_fault_calls(void);
/* clGetEventInfo is the exception: armed, its nth query of CL_EVENT_COMMAND_EXECUTION_STATUS
 * succeeds and reports `error` as the status, as for a command that failed on the device. */

/* The last two successful clEnqueueNDRangeKernel calls ([1] the last): how many events each
 * waited for, the first 8 of them, and the event it made (NULL when none was asked for). */
typedef struct clact_fault_launch {
    cl_uint num_wait;
    cl_event wait[8];
    cl_event event;
} clact_fault_launch;
void clact_fault_launches(clact_fault_launch out[2]);
#endif
