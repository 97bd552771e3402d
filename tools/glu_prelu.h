/* SPDX-License-Identifier: MIT */
/* `clact apply` and `clact backward` for glu and for prelu with weight=W.npy or --weight-grad
 * (glu_prelu.c). */
#ifndef CLACT_TOOLS_GLU_PRELU_H
#define CLACT_TOOLS_GLU_PRELU_H
#include "cli.h"
#include "npy.h"
#include "op_args.h"

/* 1 when a is one of these ops (glu; prelu with a weight file or a weight gradient to write). */
int clact_cli_glu_prelu(const clact_cli_op_args *a);
/* apply, before any device work: glu's dim against x; prelu's weights (W.npy, or the number as a
 * 1-element array) into *weight (freed by the caller). EXIT_OK or the exit status after a
 * one-line error. */
int clact_cli_glu_prelu_prepare(const clact_cli_op_args *a, const clact_npy *x,
                                clact_dtype file_dtype, clact_npy *weight);
/* apply: run in dtype and replace x by the output (glu: dim halved), in the file's dtype; the
 * kernel's time in *kernel_ms. */
int clact_cli_glu_prelu_apply(clact_context *ctx, const clact_cli_op_args *a, clact_npy *x,
                              const clact_npy *weight, clact_dtype file_dtype, clact_dtype dtype,
                              double *kernel_ms);
/* backward, the whole command from its parsed arguments; returns the exit status. */
int clact_cli_glu_prelu_backward(const clact_cli_op_args *a);
#endif
