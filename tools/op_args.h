/* SPDX-License-Identifier: MIT */
/* The op arguments that `clact apply` and `clact backward` share (op_args.c). */
#ifndef CLACT_TOOLS_OP_ARGS_H
#define CLACT_TOOLS_OP_ARGS_H
#include "clact/clact.h"
#include "npy.h"

typedef struct clact_cli_op_args {
    const char *cmd; /* "apply", "backward": names the command in messages */
    const char *op_name;
    const char *file[3]; /* the command's files, in order (IN OUT, or X DY DX) */
    const char *device;
    int summary;
    clact_activation act;
    int dtype_given; /* --dtype: the storage type on the device (default: the file's) */
    clact_dtype dtype;
    int is_softmax; /* softmax, log_softmax or softmin: then kind and dim, not act */
    clact_softmax_kind kind;
    long dim;
    const char *weight_file; /* prelu: weight=W.npy (a weight per channel) instead of a number */
    const char *weight_grad; /* backward prelu: --weight-grad DW.npy, the weight's gradient */
} clact_cli_op_args;

/* Parse `OP [NAME=VALUE ...] [--dtype D] [--device SPEC] [--summary] FILE...` with nfiles files
 * (2 for apply, 3 for backward) into a; cmd names the command in messages. EXIT_OK, or the exit
 * status after a one-line error. */
int clact_cli_parse_op(const char *cmd, int nfiles, int argc, char **argv, clact_cli_op_args *a);
/* An activation as `OP` or `OP:NAME=VALUE[:NAME=VALUE...]` (gelu:approximate=tanh,
 * leaky_relu:negative_slope=0.1): EXIT_OK with *act set, or the exit status after a one-line
 * error naming cmd. */
int clact_cli_parse_act_spec(const char *cmd, const char *spec, clact_activation *act);
/* `clact backward`'s X.npy and DY.npy (a->file[0], [1]), read and checked: floats of one element
 * type (*file_dtype); shapes are the caller's to check. EXIT_OK, or the exit status after a
 * one-line error; either way the caller frees x and dy (clact_npy_free). */
int clact_cli_read_x_dy(const clact_cli_op_args *a, clact_npy *x, clact_npy *dy,
                        clact_dtype *file_dtype);
/* The file's element type: '<f4', '<f2' or '<f8'; anything else is an input error (EXIT_USAGE,
 * after a one-line error naming path). */
int clact_cli_check_input(const clact_npy *x, const char *path, clact_dtype *dtype);
#endif
