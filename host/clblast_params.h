/* SPDX-License-Identifier: MIT */
/* CLBlast's kernel parameters as clact handles them: read, tuned and overridden per device
 * (clblast_params.cpp wraps the C++-only parts of CLBlast's API; tuning.c keeps the state). */
#ifndef CLACT_HOST_CLBLAST_PARAMS_H
#define CLACT_HOST_CLBLAST_PARAMS_H
#include <stddef.h>

#include "clact/clact.h"

#ifdef __cplusplus
extern "C" {
#endif

enum { CLACT__PARAMS_MAX = 24, CLACT__PARAM_NAME = 32 };

/* One kernel family's parameters, names in ascending order (so that a set has one spelling). */
typedef struct clact__params {
    char kernel[CLACT__PARAM_NAME]; /* CLBlast's name: "Xgemm", "XgemmDirect", "GemmRoutine"... */
    unsigned count;
    char name[CLACT__PARAMS_MAX][CLACT__PARAM_NAME];
    size_t value[CLACT__PARAMS_MAX];
} clact__params;

/* The kernels CLBlast's tuning API can tune for the GEMM routine. */
typedef enum clact__tuner {
    CLACT__TUNE_XGEMM,        /* the indirect GEMM's main kernel ("Xgemm") */
    CLACT__TUNE_XGEMM_DIRECT, /* the single-kernel GEMM ("XgemmDirect") */
    CLACT__TUNE_PAD,          /* the indirect GEMM's padding copy ("Pad") */
    CLACT__TUNE_PADTRANSPOSE  /* its padding transpose ("Padtranspose") */
} clact__tuner;

/* Run CLBlast's tuner for one kernel on queue (in order, with profiling), testing a random
 * `fraction` (0 < fraction <= 1) of its configurations at size m x n x k (k unused by the copy
 * kernels), f64 or f32. Fills *out with the fastest configuration it found. Returns CLBlast's
 * status (0 on success); never throws. CLBlast's Xgemm tuner samples two spaces (GEMMK 0, then
 * 1) and keeps only the second's answer; when the second finds nothing the first's stands, and
 * that counts as success here. */
int clact__clblast_tune(cl_command_queue queue, clact__tuner tuner, int f64, size_t m, size_t n,
                        size_t k, double fraction, clact__params *out);

/* The parameters CLBlast uses now for kernel on device (its database's, or an override), f64
 * or f32. Returns CLBlast's status; never throws. */
int clact__clblast_get(cl_device_id device, const char *kernel, int f64, clact__params *out);

/* Sort p's names (and their values) in ascending order. */
void clact__params_sort(clact__params *p);

#ifdef __cplusplus
}
#endif
#endif
