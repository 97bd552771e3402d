/* SPDX-License-Identifier: MIT */
/* The activations' test table: one row per tested (op, parameters), with its error bounds per
 * dtype, where the op switches formula, and PyTorch's outputs at the special inputs. The
 * activation, f64, dtype and reference suites all read it, and a test checks that every op of
 * the header's list has a row with default parameters and special outputs: adding an op to
 * clact means adding its row here, and nothing else in tests/. */
#ifndef CLACT_TESTS_OP_TABLE_H
#define CLACT_TESTS_OP_TABLE_H
#include "clact/clact.h"

/* The special inputs of the special-value table (SEMANTICS.md), in this order. */
#define TU_N_SPECIAL 8
#define TU_MAX_BOUNDARIES 4
extern const double tu_special_in[TU_N_SPECIAL];

typedef struct tu_op_row {
    const char *label;
    clact_op op;
    double p0, p1; /* NaN: PyTorch's default */
    double rel32;  /* f32: benchdnn's relative bar (absolute below 1e-5) */
    double ulp32;  /* f32: the largest error in float ulp at the exact value */
    double ulp64;  /* f64: the largest error in double ulp */
    /* Where the op switches formula (values there +-4 ulp are tested): boundary, or the
     * points boundaries_of(act, dtype, out) stores (their count returned, at most
     * TU_MAX_BOUNDARIES) when there are several or they depend on the parameters (in the
     * compute type). */
    double boundary;
    int (*boundaries_of)(const clact_activation *act, clact_dtype dtype, double *out);
    /* PyTorch 1.13's float outputs at tu_special_in; rows with default parameters only
     * (has_special 1). */
    int has_special;
    double special[TU_N_SPECIAL];
    /* Backward: the largest error of dx = dy f'(x) in ulps of the exact value, float and double;
     * within 0.5 of bwd_root (NaN: none), where f' crosses 0 and the rounding of its terms is all
     * the error there is, the bound is that many ulps of 1 times |dy| instead. */
    double bwd_ulp32, bwd_ulp64, bwd_root;
    /* PyTorch 1.13's gradient at tu_special_in for dy = 1 (default-parameter rows). */
    double bwd_special[TU_N_SPECIAL];
    /* rrelu: 1 runs the row in training mode (seed from the run's seed). */
    int training;
} tu_op_row;

extern const tu_op_row tu_op_rows[];
extern const int tu_op_row_count;

/* The row's activation descriptor (defaults, then the row's parameters). */
clact_activation tu_op_act(const tu_op_row *row);
/* One of the points where act switches formula in dtype's compute type, per its row's rule,
 * chosen by pick (any number: e.g. a random draw); 0 without a row. */
double tu_op_boundary(const clact_activation *act, clact_dtype dtype, unsigned pick);
/* The row of op with default parameters and special outputs, or NULL (glu: not elementwise). */
const tu_op_row *tu_op_default_row(clact_op op);
/* The descriptor of op's default row (PyTorch's defaults; threshold's required parameters from
 * its row), for the tests that walk the op list. */
clact_activation tu_op_default_act(clact_op op);

#endif
