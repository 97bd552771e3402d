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
 * clCreateProgramWithBinary, clBuildProgram or clGetProgramInfo)
 * fails with `error`, once; nth 0 disarms. CLACT_FAULT=function:nth:error in the
 * environment arms it the same way at the first interposed call (for a preloaded shim). */
void clact_fault_arm(const char *function, unsigned nth, cl_int error);
/* How many calls of the armed function were seen since it was armed. */
unsigned clact_fault_calls(void);
#endif
