/* SPDX-License-Identifier: MIT */
/* Activation descriptors and the elementwise launcher: what is particular to activations; the
 * frame (prologue, arguments, launch, CLACT_VERBOSE) is launch.c. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* What the header's `saved` column says the backward reads (see CLACT_ACTIVATION_MAP). */
enum { CLACT__SAVED_X_ONLY, CLACT__SAVED_X_OR_Y, CLACT__SAVED_Y_OR_X };
/* The header's `form` column. */
enum { CLACT__FORM_ELEMENTWISE, CLACT__FORM_HALVES };

typedef struct op_entry {
    const char *name;
    const char *kernel;
    int saved;
    int form;
    int n_params;
    const char *param_name[2];
    double param_default[2];
} op_entry;

static const op_entry ops[CLACT_OP_COUNT] = {
#define CLACT__OP_ENTRY(name, torch_name, saved, form, n, p0, d0, p1, d1)                          \
    [CLACT_##name] = {torch_name,           "clact_" torch_name, CLACT__SAVED_##saved,             \
                      CLACT__FORM_##form,   n,                   {p0, p1},                         \
                      {d0, d1}},
    CLACT_ACTIVATION_MAP(CLACT__OP_ENTRY)
#undef CLACT__OP_ENTRY
};

static int op_valid(clact_op op) { return (unsigned)op < CLACT_OP_COUNT; }

clact_activation clact_activation_default(clact_op op) {
    clact_activation act = {op, {0.0, 0.0}, 0, 0};
    if (op_valid(op)) {
        act.param[0] = ops[op].param_default[0];
        act.param[1] = ops[op].param_default[1];
    }
    return act;
}

const char *clact_op_name(clact_op op) { return op_valid(op) ? ops[op].name : NULL; }

clact_status clact_op_from_name(const char *name, clact_op *op) {
    if (!name || !op)
        return CLACT_INVALID_ARGUMENT;
    for (int i = 0; i < CLACT_OP_COUNT; ++i) {
        if (!strcmp(ops[i].name, name)) {
            *op = (clact_op)i;
            return CLACT_OK;
        }
    }
    return CLACT_INVALID_ARGUMENT;
}

int clact_op_elementwise(clact_op op) {
    return op_valid(op) ? ops[op].form == CLACT__FORM_ELEMENTWISE : -1;
}

int clact_op_param_count(clact_op op) { return op_valid(op) ? ops[op].n_params : -1; }

const char *clact_op_param_name(clact_op op, int index) {
    if (!op_valid(op) || index < 0 || index >= ops[op].n_params)
        return NULL;
    return ops[op].param_name[index];
}

clact_status clact_activation_check(const clact_activation *act, char *message, size_t len) {
    char scratch[256];
    if (!message || !len) {
        message = scratch;
        len = sizeof scratch;
    }
    message[0] = '\0';
    if (!act) {
        snprintf(message, len, "activation descriptor is NULL");
        return CLACT_INVALID_ARGUMENT;
    }
    if (!op_valid(act->op)) {
        snprintf(message, len, "unknown activation op %d", (int)act->op);
        return CLACT_INVALID_ARGUMENT;
    }
    const op_entry *e = &ops[act->op];
    const double p0 = act->param[0], p1 = act->param[1];
    if (act->op == CLACT_THRESHOLD && (isnan(p0) || isnan(p1))) {
        snprintf(message, len,
                 "threshold: threshold and value have no defaults (as in PyTorch) and must not be "
                 "NaN; set both (threshold=%g value=%g)",
                 p0, p1);
        return CLACT_INVALID_ARGUMENT;
    }
    for (int i = 0; i < e->n_params; ++i) {
        if (isnan(act->param[i])) {
            snprintf(message, len, "%s: parameter %s is NaN", e->name, e->param_name[i]);
            return CLACT_INVALID_ARGUMENT;
        }
    }
    if (act->training != 0 && act->training != 1) {
        snprintf(message, len, "%s: training is %d; it must be 0 or 1", e->name, act->training);
        return CLACT_INVALID_ARGUMENT;
    }
    if (act->training && act->op != CLACT_RRELU) {
        snprintf(message, len, "%s: training applies to rrelu only", e->name);
        return CLACT_INVALID_ARGUMENT;
    }
    switch (act->op) {
    case CLACT_SOFTPLUS: /* PyTorch would divide by beta and return inf for every element. */
        if (p0 == 0.0) {
            snprintf(message, len, "softplus: beta must not be 0");
            return CLACT_INVALID_ARGUMENT;
        }
        break;
    case CLACT_CELU: /* PyTorch: "ZeroDivisionError: alpha cannot be 0 for CELU" */
        if (p0 == 0.0) {
            snprintf(message, len, "celu: alpha must not be 0");
            return CLACT_INVALID_ARGUMENT;
        }
        break;
    case CLACT_HARDTANH: /* nn.Hardtanh asserts max_val > min_val; equal limits are a constant */
        if (p1 < p0) {
            snprintf(message, len, "hardtanh: max_val (%g) must not be below min_val (%g)", p1, p0);
            return CLACT_INVALID_ARGUMENT;
        }
        break;
    case CLACT_SOFTSHRINK: /* PyTorch: "lambda must be greater or equal to 0" */
        if (p0 < 0) {
            snprintf(message, len, "softshrink: lambd must be >= 0 (got %g)", p0);
            return CLACT_INVALID_ARGUMENT;
        }
        break;
    case CLACT_RRELU: /* PyTorch: "Lower bound should be less than or equal to the upper bound" */
        if (p0 > p1 || isinf(p0) || isinf(p1)) {
            snprintf(message, len, "rrelu: lower (%g) and upper (%g) must be finite, lower <= upper",
                     p0, p1);
            return CLACT_INVALID_ARGUMENT;
        }
        break;
    case CLACT_PRELU:
        if (isinf(p0)) {
            snprintf(message, len, "prelu: weight must be finite (got %g)", p0);
            return CLACT_INVALID_ARGUMENT;
        }
        break;
    case CLACT_GLU:
        if (p0 != floor(p0) || fabs(p0) > CLACT_MAX_DIMS) {
            snprintf(message, len, "glu: dim must be an integer in [-%d, %d) (got %g)",
                     CLACT_MAX_DIMS, CLACT_MAX_DIMS, p0);
            return CLACT_INVALID_ARGUMENT;
        }
        break;
    default: break;
    }
    return CLACT_OK;
}

int clact__act_is_elementwise(const clact_activation *act, char *message, size_t len) {
    if (ops[act->op].form == CLACT__FORM_ELEMENTWISE)
        return 1;
    snprintf(message, len, "%s is not elementwise: it halves a dimension of a shape (use clact_glu)",
             ops[act->op].name);
    return 0;
}

/* The two reals the kernels take, from the descriptor: formed in double first where PyTorch forms
 * a derived constant from its Scalars (rrelu's midpoint slope, celu's 1 / alpha), then converted to
 * the compute type by clact__arg_real, as PyTorch converts them to opmath. */
void clact__act_kernel_params(const clact_activation *act, double p[2]) {
    /* A parameter the op does not have (the kernel ignores it) goes in as 0: equal ops give equal
     * kernel arguments, and share one 16-bit table (table.c keys tables by them). */
    p[0] = ops[act->op].n_params > 0 ? act->param[0] : 0.0;
    p[1] = ops[act->op].n_params > 1 ? act->param[1] : 0.0;
    if (act->op == CLACT_CELU)
        p[1] = 1.0 / act->param[0];
    else if (act->op == CLACT_RRELU && !act->training)
        p[0] = (act->param[0] + act->param[1]) / 2;
}

/* Whether act's parameters survive the conversion to dtype's compute type (float for f32, f16
 * and bf16), as the kernel sees them: a scale that is finite in double but overflows float, or a
 * softplus beta or celu alpha that is not 0 in double but is in float (clact_activation_check
 * refuses 0 itself), would make every element inf or NaN. Bounds and thresholds (hardtanh's,
 * threshold's, the shrinks' lambd, softplus's threshold) compare with x and mean the same
 * rounded: they are not checked. Writes the reason to message on 0. */
int clact__act_params_fit(const clact_activation *act, clact_dtype dtype, char *message,
                          size_t len) {
    if (dtype == CLACT_F64)
        return 1;
    const op_entry *e = &ops[act->op];
    int scales = 0; /* bit i: kernel parameter i is a scale */
    switch (act->op) {
    case CLACT_LEAKY_RELU:
    case CLACT_ELU:
    case CLACT_SOFTPLUS:
    case CLACT_PRELU: scales = 1; break;
    case CLACT_CELU:
    case CLACT_RRELU: scales = 3; break;
    default: return 1;
    }
    double p[2];
    clact__act_kernel_params(act, p);
    for (int i = 0; i < 2; ++i) {
        if (!(scales >> i & 1))
            continue;
        /* celu's second kernel parameter is 1/alpha, alpha's own reciprocal. */
        const char *pname = act->op == CLACT_CELU && i == 1 ? "1/alpha" : e->param_name[i];
        const float f = (float)p[i];
        if (isfinite(p[i]) && !isfinite(f)) {
            snprintf(message, len, "%s: %s = %g overflows float, the kernel's compute type for %s",
                     e->name, pname, p[i], clact_dtype_name(dtype));
            return 0;
        }
        if ((act->op == CLACT_SOFTPLUS || act->op == CLACT_CELU) && p[i] != 0.0 && f == 0.0f) {
            snprintf(message, len,
                     "%s: %s = %g is 0 in float, the kernel's compute type for %s (it would "
                     "divide by 0)",
                     e->name, pname, p[i], clact_dtype_name(dtype));
            return 0;
        }
    }
    return 1;
}

/* The kernel's name for act (rrelu in training mode has its own), plus suffix. */
void clact__act_kernel_name(const clact_activation *act, const char *suffix, char *name,
                            size_t len) {
    snprintf(name, len, "%s%s%s", ops[act->op].kernel,
             act->op == CLACT_RRELU && act->training ? "_train" : "", suffix);
}

/* The forward kernel's name: the table's own string where it needs no suffix (every op but rrelu
 * in training), without formatting it anew on each call; else made in buf. */
static const char *forward_kernel_name(const clact_activation *act, char *buf, size_t len) {
    if (act->op == CLACT_RRELU && act->training) {
        clact__act_kernel_name(act, "", buf, len);
        return buf;
    }
    return ops[act->op].kernel;
}

/* The forward through the op's 16-bit lookup table (table.c), built first if missing. On an
 * out-of-order queue the lookup also waits for the command that wrote the table. */
static clact_status forward_table(clact__call *call, const clact_activation *act,
                                  const char *name, const double p[2], size_t n, cl_mem x,
                                  size_t x_offset, cl_mem y, size_t y_offset) {
    clact_context *ctx = call->ctx;
    clact__kern k;
    /* The lookup kernel first: were its program to fail, no table command is enqueued. */
    CLACT__FORWARD(
        clact__kernel(ctx, CLACT__PROGRAM_ACTIVATION, call->dtype, "clact_table_lookup", &k));
    /* CLACT_VERBOSE reports how the lookup's program was found (the build's own clact__kernel
     * finds the same program in the context). */
    clact__origin origin = ctx->last_origin;
    double origin_ms = ctx->last_origin_ms;
    clact__table *t;
    int built;
    CLACT__FORWARD(clact__table_get(ctx, act, call->dtype, name, p, &t, &built));
    ctx->last_origin = origin;
    ctx->last_origin_ms = origin_ms;
    call->path = built ? "16-bit table built" : "16-bit table";
    clact__arg_size(&k, n);
    clact__arg_buf(&k, x, x_offset);
    clact__arg_buf(&k, y, y_offset);
    CLACT__ARG(&k, t->mem);
    cl_event stack[16], *waits;
    cl_uint nw;
    CLACT__FORWARD(clact__wait_list_plus(ctx, call->num_wait, call->wait_list,
                                         ctx->out_of_order ? t->ready : NULL, stack, &waits, &nw));
    size_t items = (n + ctx->vector_width - 1) / ctx->vector_width;
    clact_status st = clact__launch(ctx, &k, items, 256, nw, nw ? waits : NULL, call->event);
    if (waits != stack)
        free(waits);
    return st;
}

/* Enqueue the op's kernel over n elements; the frame has checked the context, events and dtype. */
static clact_status forward(clact__call *call, const clact_activation *act, size_t n, cl_mem x,
                            size_t x_offset, cl_mem y, size_t y_offset) {
    clact_context *ctx = call->ctx;
    char why[256];
    CLACT__RETURN_IF(clact_activation_check(act, why, sizeof why) != CLACT_OK, ctx,
                     CLACT_INVALID_ARGUMENT, "%s", why);
    CLACT__RETURN_IF(!clact__act_is_elementwise(act, why, sizeof why), ctx,
                     CLACT_INVALID_ARGUMENT, "%s", why);
    CLACT__RETURN_IF(!clact__act_params_fit(act, call->dtype, why, sizeof why), ctx,
                     CLACT_INVALID_ARGUMENT, "%s", why);
    CLACT__FORWARD(
        clact__check_io(ctx, n, clact_dtype_size(call->dtype), x, x_offset, y, y_offset));
    if (n == 0)
        return clact__marker(ctx, call->num_wait, call->wait_list, call->event);
    clact__kern k;
    char buf[64];
    double p[2];
    const char *name = forward_kernel_name(act, buf, sizeof buf);
    clact__act_kernel_params(act, p);
    if (clact__table_wanted(ctx, act, call->dtype, n))
        return forward_table(call, act, name, p, n, x, x_offset, y, y_offset);
    CLACT__FORWARD(clact__kernel(ctx, CLACT__PROGRAM_ACTIVATION, call->dtype, name, &k));
    clact__arg_size(&k, n);
    clact__arg_buf(&k, x, x_offset);
    clact__arg_buf(&k, y, y_offset);
    clact__arg_real(&k, call->dtype, p[0]);
    clact__arg_real(&k, call->dtype, p[1]);
    if (act->training) {
        cl_ulong seed = act->seed;
        clact__arg(&k, sizeof seed, &seed);
    }
    size_t items = (n + ctx->vector_width - 1) / ctx->vector_width;
    return clact__launch(ctx, &k, items, 256, call->num_wait, call->wait_list, call->event);
}

clact_status clact_forward(clact_context *ctx, const clact_activation *act, clact_dtype dtype,
                           size_t n, cl_mem x, size_t x_offset, cl_mem y, size_t y_offset,
                           cl_uint num_wait, const cl_event *wait_list, cl_event *event) {
    clact__call call;
    const char *name = act && op_valid(act->op) ? ops[act->op].name : "forward";
    clact_status st = clact__begin(&call, ctx, name, dtype, num_wait, wait_list, event);
    call.n = n;
    if (st == CLACT_OK)
        st = forward(&call, act, n, x, x_offset, y, y_offset);
    return clact__end(&call, st);
}

/* Whether the output determines the gradient, for the X_OR_Y ops: y must fall on the same side
 * of the op's tests as x does. The negative branch keeps its sign only with a non-negative
 * slope, alpha or weight (PyTorch's in-place backward requires it too); relu6, hardtanh and selu
 * always; threshold's value must itself pass the test x <= threshold; rrelu's slopes must all be
 * non-negative (training: every draw, so lower; evaluation: the midpoint). */
static int y_determines(const clact_activation *act) {
    const double p0 = act->param[0], p1 = act->param[1];
    switch (act->op) {
    case CLACT_RELU6:
    case CLACT_HARDTANH:
    case CLACT_SELU: return 1;
    case CLACT_THRESHOLD: return p1 <= p0;
    case CLACT_RRELU: return act->training ? p0 >= 0 : p0 + p1 >= 0;
    default: return p0 >= 0;
    }
}

unsigned clact_backward_saved(const clact_activation *act) {
    if (clact_activation_check(act, NULL, 0) != CLACT_OK)
        return 0;
    if (ops[act->op].form != CLACT__FORM_ELEMENTWISE)
        return 0;
    switch (ops[act->op].saved) {
    case CLACT__SAVED_Y_OR_X: return CLACT_SAVED_X | CLACT_SAVED_Y;
    case CLACT__SAVED_X_OR_Y: return CLACT_SAVED_X | (y_determines(act) ? CLACT_SAVED_Y : 0u);
    default: return CLACT_SAVED_X;
    }
}

/* Which saved tensor to read: the one PyTorch saves when both are given and allowed. */
static clact_status pick_saved(clact__call *call, const clact_activation *act, cl_mem x, cl_mem y,
                               int *from_y) {
    unsigned can = clact_backward_saved(act);
    int x_ok = x && (can & CLACT_SAVED_X), y_ok = y && (can & CLACT_SAVED_Y);
    *from_y = y_ok && (!x_ok || ops[act->op].saved == CLACT__SAVED_Y_OR_X);
    if (x_ok || y_ok)
        return CLACT_OK;
    if (!(can & CLACT_SAVED_Y))
        return clact__fail(call->ctx, CLACT_INVALID_ARGUMENT,
                           "%s backward needs x (the forward's input)%s", ops[act->op].name,
                           y && ops[act->op].saved == CLACT__SAVED_X_OR_Y
                               ? ": with a negative parameter, y does not determine the gradient"
                               : "");
    return clact__fail(call->ctx, CLACT_INVALID_ARGUMENT,
                       "%s backward needs x or y (the forward's input or output); both are NULL",
                       ops[act->op].name);
}

static clact_status backward(clact__call *call, const clact_activation *act, size_t n, cl_mem x,
                             size_t x_offset, cl_mem y, size_t y_offset, cl_mem dy,
                             size_t dy_offset, cl_mem dx, size_t dx_offset) {
    clact_context *ctx = call->ctx;
    char why[256];
    CLACT__RETURN_IF(clact_activation_check(act, why, sizeof why) != CLACT_OK, ctx,
                     CLACT_INVALID_ARGUMENT, "%s", why);
    CLACT__RETURN_IF(!clact__act_is_elementwise(act, why, sizeof why), ctx,
                     CLACT_INVALID_ARGUMENT, "%s", why);
    CLACT__RETURN_IF(!clact__act_params_fit(act, call->dtype, why, sizeof why), ctx,
                     CLACT_INVALID_ARGUMENT, "%s", why);
    int from_y;
    CLACT__FORWARD(pick_saved(call, act, x, y, &from_y));
    cl_mem s = from_y ? y : x;
    size_t s_offset = from_y ? y_offset : x_offset, es = clact_dtype_size(call->dtype);
    /* dx is the output: the saved tensor -> dx and dy -> dx must each be in place or disjoint. */
    CLACT__FORWARD(clact__check_io(ctx, n, es, s, s_offset, dx, dx_offset));
    CLACT__FORWARD(clact__check_io(ctx, n, es, dy, dy_offset, dx, dx_offset));
    if (n == 0)
        return clact__marker(ctx, call->num_wait, call->wait_list, call->event);
    char name[64];
    double p[2];
    clact__act_kernel_name(act, from_y ? "_bwd_y" : "_bwd_x", name, sizeof name);
    clact__act_kernel_params(act, p);
    clact__kern k;
    CLACT__FORWARD(clact__kernel(ctx, CLACT__PROGRAM_ACTIVATION, call->dtype, name, &k));
    clact__arg_size(&k, n);
    clact__arg_buf(&k, s, s_offset);
    clact__arg_buf(&k, dy, dy_offset);
    clact__arg_buf(&k, dx, dx_offset);
    clact__arg_real(&k, call->dtype, p[0]);
    clact__arg_real(&k, call->dtype, p[1]);
    if (act->training) {
        cl_ulong seed = act->seed;
        clact__arg(&k, sizeof seed, &seed);
    }
    size_t items = (n + ctx->vector_width - 1) / ctx->vector_width;
    return clact__launch(ctx, &k, items, 256, call->num_wait, call->wait_list, call->event);
}

clact_status clact_backward(clact_context *ctx, const clact_activation *act, clact_dtype dtype,
                            size_t n, cl_mem x, size_t x_offset, cl_mem y, size_t y_offset,
                            cl_mem dy, size_t dy_offset, cl_mem dx, size_t dx_offset,
                            cl_uint num_wait, const cl_event *wait_list, cl_event *event) {
    clact__call call;
    char name[48];
    snprintf(name, sizeof name, "%s_backward",
             act && op_valid(act->op) ? ops[act->op].name : "activation");
    clact_status st = clact__begin(&call, ctx, name, dtype, num_wait, wait_list, event);
    call.n = n;
    if (st == CLACT_OK)
        st = backward(&call, act, n, x, x_offset, y, y_offset, dy, dy_offset, dx, dx_offset);
    return clact__end(&call, st);
}
