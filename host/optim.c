/* SPDX-License-Identifier: MIT */
/* The optimizer steps, torch.optim's SGD and Adam/AdamW: their descriptors and checks, and the
 * launchers of kernels/optim.cl. What depends on the step (the bias corrections, the step size)
 * is computed here in double, as PyTorch's Python computes it, and passed as kernel arguments, so
 * a training loop never recompiles and never waits. */
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>

#include "internal.h"

clact_sgd_desc clact_sgd_default(double lr) {
    clact_sgd_desc d = {lr, 0.0, 0.0, 0.0, 0, 0};
    return d;
}

clact_adam_desc clact_adam_default(double lr) {
    clact_adam_desc d = {lr, 0.9, 0.999, 1e-8, 0.0, 0, 0, 0};
    return d;
}

clact_adam_desc clact_adamw_default(double lr) {
    clact_adam_desc d = clact_adam_default(lr);
    d.weight_decay = 1e-2;
    d.decoupled = 1;
    return d;
}

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static clact_status
reject(char *message, size_t len, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, len, fmt, ap);
    va_end(ap);
    return CLACT_INVALID_ARGUMENT;
}

/* A field and the range it must lie in; NaN is never inside one. */
typedef struct field {
    const char *name;
    double value;
    double lo;
    int below_one; /* value < 1 (betas), else no upper limit */
} field;

static clact_status check_fields(const char *op, const field *f, int n, char *message, size_t len) {
    for (int i = 0; i < n; ++i) {
        if (isnan(f[i].value))
            return reject(message, len, "%s: %s is NaN", op, f[i].name);
        if (!(f[i].value >= f[i].lo) || (f[i].below_one && !(f[i].value < 1.0)))
            return reject(message, len, "%s: invalid %s %.17g (must be %s)", op, f[i].name,
                          f[i].value, f[i].below_one ? "in [0, 1)" : ">= 0");
    }
    return CLACT_OK;
}

static clact_status check_flag(const char *op, const char *name, int flag, char *message,
                               size_t len) {
    if (flag != 0 && flag != 1)
        return reject(message, len, "%s: %s must be 0 or 1, not %d", op, name, flag);
    return CLACT_OK;
}

/* The checks PyTorch makes when it constructs the optimizer (SGD.__init__), and NaN. */
clact_status clact_sgd_check(const clact_sgd_desc *d, char *message, size_t len) {
    char scratch[256];
    if (!message || !len) {
        message = scratch;
        len = sizeof scratch;
    }
    message[0] = '\0';
    if (!d)
        return reject(message, len, "sgd: descriptor is NULL");
    const field f[] = {{"lr", d->lr, 0.0, 0},
                       {"momentum", d->momentum, 0.0, 0},
                       {"dampening", d->dampening, -INFINITY, 0},
                       {"weight_decay", d->weight_decay, 0.0, 0}};
    CLACT__FORWARD(check_fields("sgd", f, 4, message, len));
    CLACT__FORWARD(check_flag("sgd", "nesterov", d->nesterov, message, len));
    CLACT__FORWARD(check_flag("sgd", "maximize", d->maximize, message, len));
    if (d->nesterov && (d->momentum <= 0 || d->dampening != 0))
        return reject(message, len,
                      "sgd: nesterov needs momentum > 0 and dampening 0 (momentum %.17g, "
                      "dampening %.17g)",
                      d->momentum, d->dampening);
    return CLACT_OK;
}

static const char *adam_name(const clact_adam_desc *d) {
    return d && d->decoupled == 1 ? "adamw" : "adam";
}

/* The checks of Adam.__init__ and AdamW.__init__, and NaN. */
clact_status clact_adam_check(const clact_adam_desc *d, char *message, size_t len) {
    char scratch[256];
    if (!message || !len) {
        message = scratch;
        len = sizeof scratch;
    }
    message[0] = '\0';
    if (!d)
        return reject(message, len, "adam: descriptor is NULL");
    const char *op = adam_name(d);
    const field f[] = {{"lr", d->lr, 0.0, 0},
                       {"eps", d->eps, 0.0, 0},
                       {"beta1", d->beta1, 0.0, 1},
                       {"beta2", d->beta2, 0.0, 1},
                       {"weight_decay", d->weight_decay, 0.0, 0}};
    CLACT__FORWARD(check_fields(op, f, 5, message, len));
    CLACT__FORWARD(check_flag(op, "amsgrad", d->amsgrad, message, len));
    CLACT__FORWARD(check_flag(op, "decoupled", d->decoupled, message, len));
    return check_flag(op, "maximize", d->maximize, message, len);
}

clact_status clact__optim_fits(clact_context *ctx, clact_dtype dtype, const char *op,
                               const char *what, double v) {
    if (dtype == CLACT_F64 || !isfinite(v) || fabs(v) <= FLT_MAX)
        return CLACT_OK;
    return clact__fail(ctx, CLACT_INVALID_ARGUMENT,
                       "%s: %s = %.17g does not fit in float, the compute type of %s (PyTorch "
                       "raises: its conversion of this scalar checks for overflow)",
                       op, what, v, clact_dtype_name(dtype));
}

static clact_status sgd(clact__call *call, const clact_sgd_desc *d, size_t n,
                        unsigned long long step, clact_buffer param, clact_buffer grad,
                        clact_buffer buf) {
    clact_context *ctx = call->ctx;
    char why[256];
    CLACT__RETURN_IF(clact_sgd_check(d, why, sizeof why) != CLACT_OK, ctx, CLACT_INVALID_ARGUMENT,
                     "%s", why);
    CLACT__RETURN_IF(step == 0, ctx, CLACT_INVALID_ARGUMENT, "sgd: step is 0 (steps count from 1)");
    cl_int maximize = d->maximize, decay = d->weight_decay != 0, use_momentum = d->momentum != 0;
    cl_int first = step == 1, nesterov = d->nesterov;
    double neg_lr = -d->lr, one_minus_dampening = 1.0 - d->dampening;
    /* The scalars PyTorch passes as an alpha (checked conversions), where it uses them. */
    clact_dtype dt = call->dtype;
    CLACT__FORWARD(clact__optim_fits(ctx, dt, "sgd", "-lr", neg_lr));
    if (decay)
        CLACT__FORWARD(clact__optim_fits(ctx, dt, "sgd", "weight_decay", d->weight_decay));
    if (use_momentum && !first)
        CLACT__FORWARD(clact__optim_fits(ctx, dt, "sgd", "1 - dampening", one_minus_dampening));
    if (nesterov)
        CLACT__FORWARD(clact__optim_fits(ctx, dt, "sgd", "momentum", d->momentum));
    size_t es = clact_dtype_size(dt);
    const clact__buf bufs[3] = {{"param", param.mem, param.offset, n, es, 1, -1},
                                {"grad", grad.mem, grad.offset, n, es, 0, -1},
                                {"momentum_buffer", buf.mem, buf.offset, n, es, 1, -1}};
    CLACT__FORWARD(clact__check_buffers(ctx, bufs, use_momentum ? 3 : 2));
    if (n == 0)
        return clact__marker(ctx, call->num_wait, call->wait_list, call->event);
    clact__kern k;
    CLACT__FORWARD(clact__kernel(ctx, CLACT__PROGRAM_OPTIM, dt, "clact_sgd_step", &k));
    clact__arg_size(&k, n);
    clact__arg_buf(&k, param.mem, param.offset);
    clact__arg_buf(&k, grad.mem, grad.offset);
    clact__arg_buf(&k, use_momentum ? buf.mem : param.mem, use_momentum ? buf.offset : 0);
    clact__arg_real(&k, dt, neg_lr);
    clact__arg_real(&k, dt, d->momentum);
    clact__arg_real(&k, dt, one_minus_dampening);
    clact__arg_real(&k, dt, d->weight_decay);
    CLACT__ARG(&k, maximize);
    CLACT__ARG(&k, decay);
    CLACT__ARG(&k, use_momentum);
    CLACT__ARG(&k, first);
    CLACT__ARG(&k, nesterov);
    size_t items = (n + ctx->vector_width - 1) / ctx->vector_width;
    return clact__launch(ctx, &k, items, 256, call->num_wait, call->wait_list, call->event);
}

clact_status clact_sgd_step(clact_context *ctx, const clact_sgd_desc *desc, clact_dtype dtype,
                            size_t n, unsigned long long step, clact_buffer param,
                            clact_buffer grad, clact_buffer momentum_buffer, cl_uint num_wait,
                            const cl_event *wait_list, cl_event *event) {
    clact__call call;
    clact_status st = clact__begin(&call, ctx, "sgd_step", dtype, num_wait, wait_list, event);
    call.n = n;
    if (st == CLACT_OK)
        st = sgd(&call, desc, n, step, param, grad, momentum_buffer);
    return clact__end(&call, st);
}

/* What PyTorch's _single_tensor_adam(w) computes from the step in Python, in double. */
typedef struct adam_scalars {
    double step_size, bias_correction2_sqrt;
} adam_scalars;

static adam_scalars adam_step_scalars(const clact_adam_desc *d, unsigned long long step) {
    double bias_correction1 = 1.0 - pow(d->beta1, (double)step);
    double bias_correction2 = 1.0 - pow(d->beta2, (double)step);
    adam_scalars s = {d->lr / bias_correction1, sqrt(bias_correction2)};
    return s;
}

static clact_status adam(clact__call *call, const clact_adam_desc *d, size_t n,
                         unsigned long long step, const clact_buffer b[5]) {
    clact_context *ctx = call->ctx;
    char why[256];
    CLACT__RETURN_IF(clact_adam_check(d, why, sizeof why) != CLACT_OK, ctx, CLACT_INVALID_ARGUMENT,
                     "%s", why);
    const char *op = adam_name(d);
    CLACT__RETURN_IF(step == 0, ctx, CLACT_INVALID_ARGUMENT, "%s: step is 0 (steps count from 1)",
                     op);
    clact_dtype dt = call->dtype;
    adam_scalars s = adam_step_scalars(d, step);
    cl_int maximize = d->maximize, decoupled = d->decoupled, amsgrad = d->amsgrad;
    cl_int l2 = !decoupled && d->weight_decay != 0;
    if (l2)
        CLACT__FORWARD(clact__optim_fits(ctx, dt, op, "weight_decay", d->weight_decay));
    CLACT__FORWARD(
        clact__optim_fits(ctx, dt, op, "-step_size (-lr / bias_correction1)", -s.step_size));
    size_t es = clact_dtype_size(dt);
    const clact__buf bufs[5] = {{"param", b[0].mem, b[0].offset, n, es, 1, -1},
                                {"grad", b[1].mem, b[1].offset, n, es, 0, -1},
                                {"exp_avg", b[2].mem, b[2].offset, n, es, 1, -1},
                                {"exp_avg_sq", b[3].mem, b[3].offset, n, es, 1, -1},
                                {"max_exp_avg_sq", b[4].mem, b[4].offset, n, es, 1, -1}};
    CLACT__FORWARD(clact__check_buffers(ctx, bufs, amsgrad ? 5 : 4));
    if (n == 0)
        return clact__marker(ctx, call->num_wait, call->wait_list, call->event);
    clact__kern k;
    CLACT__FORWARD(clact__kernel(ctx, CLACT__PROGRAM_OPTIM, dt, "clact_adam_step", &k));
    clact__arg_size(&k, n);
    for (int i = 0; i < 4; ++i)
        clact__arg_buf(&k, b[i].mem, b[i].offset);
    clact__arg_buf(&k, amsgrad ? b[4].mem : b[0].mem, amsgrad ? b[4].offset : 0);
    clact__arg_real(&k, dt, d->beta1);
    clact__arg_real(&k, dt, 1.0 - d->beta1);
    clact__arg_real(&k, dt, d->beta2);
    clact__arg_real(&k, dt, 1.0 - d->beta2);
    clact__arg_real(&k, dt, d->weight_decay);
    clact__arg_real(&k, dt, 1.0 - d->lr * d->weight_decay);
    clact__arg_real(&k, dt, s.bias_correction2_sqrt);
    clact__arg_real(&k, dt, d->eps);
    clact__arg_real(&k, dt, -s.step_size);
    CLACT__ARG(&k, maximize);
    CLACT__ARG(&k, l2);
    CLACT__ARG(&k, decoupled);
    CLACT__ARG(&k, amsgrad);
    size_t items = (n + ctx->vector_width - 1) / ctx->vector_width;
    return clact__launch(ctx, &k, items, 256, call->num_wait, call->wait_list, call->event);
}

clact_status clact_adam_step(clact_context *ctx, const clact_adam_desc *desc, clact_dtype dtype,
                             size_t n, unsigned long long step, clact_buffer param,
                             clact_buffer grad, clact_buffer exp_avg, clact_buffer exp_avg_sq,
                             clact_buffer max_exp_avg_sq, cl_uint num_wait,
                             const cl_event *wait_list, cl_event *event) {
    clact__call call;
    const char *name = desc && desc->decoupled == 1 ? "adamw_step" : "adam_step";
    clact_status st = clact__begin(&call, ctx, name, dtype, num_wait, wait_list, event);
    call.n = n;
    const clact_buffer b[5] = {param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq};
    if (st == CLACT_OK)
        st = adam(&call, desc, n, step, b);
    return clact__end(&call, st);
}
