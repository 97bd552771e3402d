/* SPDX-License-Identifier: MIT */
/* The optimizer steps (clact_sgd_step, clact_adam_step) against the CPU reference, one step at a
 * time from the device's own state (so that each step's error is measured alone): SGD with every
 * combination of momentum (0, 0.9), dampening (0, 0.3), nesterov, weight decay and maximize; Adam
 * and AdamW with and without amsgrad, weight decay and maximize, non-default betas and eps; steps
 * 1, 2, 3 and 50; every dtype; 4099 elements at odd offsets (every vector width's tail), sizes 0
 * to 33 and 2^20 + 3; NaN and ±inf in gradients and parameters; a state buffer the options leave
 * unused, and the momentum buffer at step 1, poisoned (read: the result is the poison's NaN;
 * written: the poison is gone); canaries before and after every tensor; the gradient unchanged; a
 * gated call that returns before it runs; every validation error, with nothing written.
 *
 * Bounds: 0, exact equality (NaN matching NaN, zeros of either sign). Every operation of a step
 * is correctly rounded both here and on the device (OpenCL's +, *, fma and double's / and sqrt
 * are; float's / and sqrt are where the device reports CL_FP_CORRECTLY_ROUNDED_DIVIDE_SQRT, which
 * makes the library build the program with -cl-fp32-correctly-rounded-divide-sqrt), and both
 * evaluate PyTorch's operations in PyTorch's order, so a correct kernel gives the reference's
 * bits. On a float device without correctly rounded division and sqrt, Adam's update term
 * (-step_size m) / (sqrt(v) / c + eps) may carry OpenCL's 3 ulp of sqrt and 2.5 ulp of each
 * division, under 16 float ulps of the term in all, and the parameter then one ulp of its
 * storage type more. */
#define _POSIX_C_SOURCE 200809L /* setenv */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define GUARD  3
#define CANARY (-1234.5)

/* A device tensor of n elements at `offset`, with GUARD canaries on each side. */
typedef struct tensor {
    clact_dtype dt;
    cl_mem mem;
    size_t offset, n;
} tensor;

static clact_buffer buf_of(const tensor *t) { return (clact_buffer){t->mem, t->offset}; }

/* Holding values, or poison where values is NULL (all bytes 0xff: a NaN no kernel produces). */
static tensor make(clact_dtype dt, size_t n, size_t offset, const double *values) {
    tensor t = {dt, tu_buffer_dt(dt, offset + n + GUARD, CL_MEM_READ_WRITE), offset, n};
    size_t before = offset < GUARD ? offset : GUARD, total = before + n + GUARD;
    double *all = malloc(total * sizeof *all);
    ck_assert_ptr_nonnull(all);
    for (size_t i = 0; i < total; ++i)
        all[i] = CANARY;
    if (values) {
        memcpy(all + before, values, n * sizeof *all);
        tu_write_dt(dt, t.mem, offset - before, total, all);
    } else {
        tu_poison_dt(dt, t.mem, 0, offset + n + GUARD);
        tu_write_dt(dt, t.mem, offset - before, before, all);
        tu_write_dt(dt, t.mem, offset + n, GUARD, all);
    }
    free(all);
    return t;
}

/* The n values, every one written (no poison left), and the canaries around them intact; in one
 * read. */
static void fetch(const tensor *t, double *out, const char *label, const char *what) {
    size_t before = t->offset < GUARD ? t->offset : GUARD, total = before + t->n + GUARD;
    double *all = malloc(total * sizeof *all);
    ck_assert_ptr_nonnull(all);
    ck_assert_msg(tu_read_dt(t->dt, t->mem, t->offset - before, total, all),
                  "%s: an element of %s was not written", label, what);
    /* Check's assertions cost a message each; loops over elements test first. */
    for (size_t i = 0; i < total; ++i)
        if (i - before >= t->n && all[i] != tu_round_dt(t->dt, CANARY))
            ck_abort_msg("%s: written outside %s", label, what);
    memcpy(out, all + before, t->n * sizeof *out);
    free(all);
}

/* Every byte of the n elements still 0xff (never written), the canaries intact. */
static void expect_untouched(const tensor *t, const char *label, const char *what) {
    size_t es = clact_dtype_size(t->dt), total = (t->offset + t->n + GUARD) * es;
    unsigned char *b = malloc(total), canary[8];
    ck_assert_ptr_nonnull(b);
    tu_read_bytes(t->mem, total, b);
    if (t->dt == CLACT_F32)
        memcpy(canary, &(float){(float)CANARY}, 4);
    else if (t->dt == CLACT_F64)
        memcpy(canary, &(double){CANARY}, 8);
    else
        memcpy(canary, &(uint16_t){tu_round16(t->dt, CANARY)}, 2);
    size_t before = t->offset < GUARD ? t->offset : GUARD;
    for (size_t i = t->offset - before; i < t->offset + t->n + GUARD; ++i) {
        int inside = i >= t->offset && i < t->offset + t->n;
        for (size_t k = 0; k < es; ++k)
            if (b[i * es + k] != (inside ? 0xff : canary[k]))
                ck_abort_msg("%s: %s (element %zu of its buffer) was written", label,
                             inside ? what : "a canary", i);
    }
    free(b);
}

static void release(tensor *t) {
    if (t->mem)
        clReleaseMemObject(t->mem);
    t->mem = NULL;
}

/* The spacing of the dtype's numbers at x (its ulp). */
static double ulp_of(clact_dtype dt, double x) {
    int p = dt == CLACT_F64 ? 53 : dt == CLACT_F32 ? 24 : dt == CLACT_F16 ? 11 : 8;
    int emin = dt == CLACT_F64 ? -1022 : dt == CLACT_F16 ? -14 : -126;
    int e;
    frexp(fabs(x), &e);
    return ldexp(1.0, (e - 1 < emin ? emin : e - 1) - (p - 1));
}

static void expect(const char *label, const char *what, size_t i, double got, double ref,
                   double bound) {
    int ok = isnan(ref) ? isnan(got) : !isnan(got) && (got == ref || fabs(got - ref) <= bound);
    if (!ok)
        ck_abort_msg("%s: %s[%zu] = %.17g, reference %.17g (bound %.3g)", label, what, i, got, ref,
                     bound);
}

static int device_rounds_divide_sqrt(void) {
    cl_device_fp_config c = 0;
    clGetDeviceInfo(clact_context_device(tu_ctx()), CL_DEVICE_SINGLE_FP_CONFIG, sizeof c, &c, NULL);
    return (c & CL_FP_CORRECTLY_ROUNDED_DIVIDE_SQRT) != 0;
}

static double *alloc_doubles(size_t n) {
    double *a = calloc(n ? n : 1, sizeof *a);
    ck_assert_ptr_nonnull(a);
    return a;
}

/* Parameters in [-1, 1]; gradients of magnitudes 1e-3 to 10 with a few exact zeros; with
 * `specials`, NaN and ±inf at fixed places among them (the parameters' at step 1 only). */
static void fill(tu_rng *r, clact_dtype dt, double *a, size_t n, int grad, int specials) {
    for (size_t i = 0; i < n; ++i) {
        double v = tu_uniform(r, -1, 1);
        if (grad)
            v = tu_next(r) % 17 == 0 ? 0.0 : v * pow(10.0, tu_uniform(r, -3, 1));
        a[i] = tu_round_dt(dt, v);
    }
    static const double special[] = {NAN, INFINITY, -INFINITY};
    for (size_t k = 0; specials && k < 3; ++k)
        for (size_t i = (grad ? 5 : 11) + 7 * k; i < n; i += 97)
            a[i] = special[k];
}

typedef struct optim_case {
    int adam; /* 0: SGD, 1: Adam/AdamW */
    clact_sgd_desc sgd;
    clact_adam_desc adam_desc;
    clact_dtype dt;
    size_t n, offset;
    int specials;
    int null_unused; /* pass mem NULL (else a poisoned buffer) for the unused state */
    int nsteps;      /* how many of `steps` to run; 0: all */
} optim_case;

static const unsigned long long steps[] = {1, 2, 3, 50};

static void label_of(const optim_case *c, char *label, size_t len) {
    if (!c->adam)
        snprintf(label, len,
                 "%s sgd lr %g momentum %g dampening %g wd %g nesterov %d max %d n %zu%s",
                 clact_dtype_name(c->dt), c->sgd.lr, c->sgd.momentum, c->sgd.dampening,
                 c->sgd.weight_decay, c->sgd.nesterov, c->sgd.maximize, c->n,
                 c->specials ? " specials" : "");
    else
        snprintf(label, len, "%s %s lr %g betas %g %g eps %g wd %g amsgrad %d max %d n %zu%s",
                 clact_dtype_name(c->dt), c->adam_desc.decoupled ? "adamw" : "adam",
                 c->adam_desc.lr, c->adam_desc.beta1, c->adam_desc.beta2, c->adam_desc.eps,
                 c->adam_desc.weight_decay, c->adam_desc.amsgrad, c->adam_desc.maximize, c->n,
                 c->specials ? " specials" : "");
}

/* state[0] param, state[1..] the optimizer's state; returns how many the options use. */
static int used_states(const optim_case *c) {
    if (!c->adam)
        return c->sgd.momentum != 0 ? 2 : 1;
    return c->adam_desc.amsgrad ? 4 : 3;
}

static clact_status device_step(const optim_case *c, unsigned long long step, tensor *s,
                                const tensor *g, cl_uint nw, const cl_event *wl, cl_event *ev) {
    clact_buffer unused = {c->null_unused ? NULL : s[c->adam ? 3 : 1].mem,
                           c->null_unused ? 0 : s[c->adam ? 3 : 1].offset};
    if (!c->adam)
        return clact_sgd_step(tu_ctx(), &c->sgd, c->dt, c->n, step, buf_of(&s[0]), buf_of(g),
                              used_states(c) > 1 ? buf_of(&s[1]) : unused, nw, wl, ev);
    return clact_adam_step(tu_ctx(), &c->adam_desc, c->dt, c->n, step, buf_of(&s[0]), buf_of(g),
                           buf_of(&s[1]), buf_of(&s[2]),
                           used_states(c) > 3 ? buf_of(&s[3]) : unused, nw, wl, ev);
}

static void reference_step(const optim_case *c, unsigned long long step, double **h,
                           const double *g) {
    clact_status st =
        c->adam ? clact_reference_adam_step(&c->adam_desc, c->dt, c->n, step, h[0], g, h[1], h[2],
                                            c->adam_desc.amsgrad ? h[3] : NULL)
                : clact_reference_sgd_step(&c->sgd, c->dt, c->n, step, h[0], g,
                                           c->sgd.momentum != 0 ? h[1] : NULL);
    ck_assert_msg(st == CLACT_OK, "reference: %s", clact_context_last_error(NULL));
}

static const char *const state_names[2][4] = {{"param", "momentum_buffer", "", ""},
                                              {"param", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"}};

/* Run the case's steps on the device and compare each with the reference started from the
 * device's state before it (the state uploaded, then what the device wrote). */
static void run_case(const optim_case *c) {
    char label[256];
    label_of(c, label, sizeof label);
    tu_rng r = tu_rng_for(label, c->offset);
    size_t n = c->n;
    int used = used_states(c), total = c->adam ? 4 : 2;
    double *h[4], *state[4], *g = alloc_doubles(n), *g_back = alloc_doubles(n);
    for (int k = 0; k < 4; ++k)
        h[k] = alloc_doubles(n), state[k] = alloc_doubles(n); /* Adam's state starts at 0 */
    fill(&r, c->dt, state[0], n, 0, c->specials);
    /* SGD's buffer starts as poison: step 1 must not read it. The unused state is poison and
     * must stay so. */
    tensor s[4], gt = make(c->dt, n, c->offset + 2, NULL);
    for (int k = 0; k < total; ++k)
        s[k] = make(c->dt, n, c->offset + (size_t)k,
                    k < used && (k == 0 || c->adam) ? state[k] : NULL);
    int cr = c->dt == CLACT_F64 || device_rounds_divide_sqrt();
    int nsteps = c->nsteps ? c->nsteps : (int)(sizeof steps / sizeof steps[0]);
    for (int t = 0; t < nsteps; ++t) {
        fill(&r, c->dt, g, n, 1, c->specials);
        tu_write_dt(c->dt, gt.mem, gt.offset, n, g);
        clact_status st = device_step(c, steps[t], s, &gt, 0, NULL, NULL);
        ck_assert_msg(st == CLACT_OK, "%s: step %llu: %s", label, steps[t],
                      clact_context_last_error(tu_ctx()));
        for (int k = 0; k < used; ++k)
            memcpy(h[k], state[k], n * sizeof **h);
        reference_step(c, steps[t], h, g);
        for (int k = 0; k < used; ++k) {
            char what[64];
            snprintf(what, sizeof what, "step %llu %s", steps[t], state_names[c->adam][k]);
            double *before = k == 0 ? g_back : NULL; /* param before the step, for its bound */
            if (before)
                memcpy(before, state[0], n * sizeof *before);
            fetch(&s[k], state[k], label, what);
            for (size_t i = 0; i < n; ++i) {
                double bound = 0;
                if (k == 0 && c->adam && !cr) {
                    double term = fabs(h[0][i] - before[i]) + 0x1p-24 * fabs(before[i]);
                    bound = 16 * 0x1p-24 * term + ulp_of(c->dt, h[0][i]);
                }
                expect(label, what, i, state[k][i], h[k][i], bound);
            }
        }
    }
    fetch(&gt, g_back, label, "grad");
    for (size_t i = 0; i < n; ++i)
        if (isnan(g[i]) ? !isnan(g_back[i]) : g_back[i] != g[i])
            ck_abort_msg("%s: grad[%zu] was changed", label, i);
    for (int k = used; k < total; ++k)
        expect_untouched(&s[k], label, state_names[c->adam][k]);
    for (int k = 0; k < total; ++k)
        release(&s[k]);
    release(&gt);
    for (int k = 0; k < 4; ++k)
        free(h[k]), free(state[k]);
    free(g), free(g_back);
}

static const clact_dtype dtypes[] = {CLACT_F32, CLACT_F64, CLACT_F16, CLACT_BF16};

/* Whether dt runs here: f64 needs cl_khr_fp64. Under CLACT_TEST_QUICK (valgrind, which checks
 * the host code: f16 and bf16 take f32's path there) f32 and f64 only, since building each
 * program under valgrind costs about a minute. */
static int dtype_runs(clact_dtype dt) {
    if (tu_quick() && (dt == CLACT_F16 || dt == CLACT_BF16))
        return 0;
    char ext[4096] = "";
    clGetDeviceInfo(clact_context_device(tu_ctx()), CL_DEVICE_EXTENSIONS, sizeof ext - 1, ext,
                    NULL);
    return dt != CLACT_F64 || strstr(ext, "cl_khr_fp64");
}

/* Loop index: momentum (2) x the dampening/nesterov form (3) x weight decay (2) x maximize (2),
 * nesterov only where PyTorch allows it; every dtype. */
START_TEST(optim_sgd_against_reference) {
    int form = _i / 4 % 3, momentum = _i / 12;
    if (!momentum && form == 2)
        return;
    clact_sgd_desc d = clact_sgd_default(0.05);
    d.momentum = momentum ? 0.9 : 0.0;
    d.dampening = form == 1 ? 0.3 : 0.0;
    d.nesterov = form == 2;
    d.weight_decay = _i % 2 ? 1e-2 : 0.0;
    d.maximize = _i / 2 % 2;
    const clact_dtype dts[] = {CLACT_F32, CLACT_F64, _i % 2 ? CLACT_F16 : CLACT_BF16};
    for (size_t k = 0; k < sizeof dts / sizeof dts[0]; ++k) {
        if (!dtype_runs(dts[k]))
            continue;
        optim_case c = {0, d, clact_adam_default(1e-3), dts[k], 4099, 1 + k, 0, _i % 3 == 0, 0};
        run_case(&c);
    }
}
END_TEST

/* Loop index: decoupled (2) x amsgrad (2) x weight decay (2) x maximize (2); every dtype; the
 * odd ones with other betas, eps and lr. */
START_TEST(optim_adam_against_reference) {
    clact_adam_desc d = _i / 8 ? clact_adamw_default(1e-3) : clact_adam_default(1e-3);
    d.amsgrad = _i / 4 % 2;
    d.weight_decay = _i / 2 % 2 ? (d.decoupled ? 0.1 : 1e-2) : 0.0;
    d.maximize = _i % 2;
    if (_i % 3 == 1)
        d.lr = 0.1, d.beta1 = 0.5, d.beta2 = 0.9, d.eps = 1e-3;
    const clact_dtype dts[] = {CLACT_F32, CLACT_F64, _i % 2 ? CLACT_BF16 : CLACT_F16};
    for (size_t k = 0; k < sizeof dts / sizeof dts[0]; ++k) {
        if (!dtype_runs(dts[k]))
            continue;
        optim_case c = {1, clact_sgd_default(0.1), d, dts[k], 4099, 3 + k, 0, _i % 3 == 0, 0};
        run_case(&c);
    }
}
END_TEST

/* NaN and ±inf in gradients (every step) and parameters (step 1) propagate as in PyTorch (the
 * reference's IEEE arithmetic in PyTorch's order): SGD with momentum, nesterov and decay; Adam
 * with L2 decay and amsgrad; AdamW. */
START_TEST(optim_specials) {
    clact_sgd_desc sgd = clact_sgd_default(0.1);
    sgd.momentum = 0.9, sgd.nesterov = 1, sgd.weight_decay = 1e-3;
    clact_adam_desc adam = clact_adam_default(1e-2), adamw = clact_adamw_default(1e-2);
    adam.amsgrad = 1, adam.weight_decay = 1e-2;
    for (size_t k = 0; k < sizeof dtypes / sizeof dtypes[0]; ++k) {
        if (!dtype_runs(dtypes[k]))
            continue;
        optim_case cs[] = {{0, sgd, adam, dtypes[k], 500, 0, 1, 0, 0},
                           {1, sgd, adam, dtypes[k], 500, 1, 1, 0, 0},
                           {1, sgd, adamw, dtypes[k], 500, 2, 1, 1, 0}};
        for (size_t i = 0; i < sizeof cs / sizeof cs[0]; ++i)
            run_case(&cs[i]);
    }
}
END_TEST

/* Sizes around every vector width and a large one, offsets 0 to 3, in f32; the unused state
 * given as NULL; n = 0 enqueues a marker, writes nothing and completes after its wait list. */
START_TEST(optim_sizes) {
    clact_sgd_desc sgd = clact_sgd_default(0.1);
    sgd.momentum = 0.9, sgd.weight_decay = 1e-2;
    clact_sgd_desc plain = clact_sgd_default(0.1);
    clact_adam_desc adam = clact_adamw_default(1e-2);
    adam.amsgrad = 1;
    clact_adam_desc adam_plain = clact_adam_default(1e-2);
    size_t sizes[40];
    int count = 0;
    for (size_t n = 1; n <= 33; ++n)
        sizes[count++] = n;
    if (!tu_quick())
        sizes[count++] = ((size_t)1 << 20) + 3;
    for (int i = 0; i < count; ++i) {
        /* Two steps: the first (SGD's buffer started) and one that reads the state. */
        optim_case cs[] = {
            {0, i % 2 ? plain : sgd, adam, CLACT_F32, sizes[i], (size_t)i % 4, 0, 1, 2},
            {1, sgd, i % 2 ? adam_plain : adam, CLACT_F32, sizes[i], (size_t)(i + 1) % 4, 0, 1, 2}};
        run_case(&cs[0]);
        run_case(&cs[1]);
    }
    /* n = 0: a marker behind a closed gate, nothing written. */
    cl_int err;
    cl_event gate = clCreateUserEvent(clact_context_cl_context(tu_ctx()), &err), ev = NULL;
    ck_assert_int_eq(err, CL_SUCCESS);
    tensor p = make(CLACT_F32, 4, 0, NULL), g = make(CLACT_F32, 4, 0, NULL);
    tensor m = make(CLACT_F32, 4, 0, NULL), v = make(CLACT_F32, 4, 0, NULL);
    ck_assert_int_eq(clact_sgd_step(tu_ctx(), &sgd, CLACT_F32, 0, 1, buf_of(&p), buf_of(&g),
                                    buf_of(&m), 1, &gate, &ev),
                     CLACT_OK);
    cl_int status;
    clGetEventInfo(ev, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof status, &status, NULL);
    ck_assert_msg(status > CL_COMPLETE, "the empty step completed before its wait list");
    clSetUserEventStatus(gate, CL_COMPLETE);
    ck_assert_int_eq(clWaitForEvents(1, &ev), CL_SUCCESS);
    clReleaseEvent(ev);
    ck_assert_int_eq(clact_adam_step(tu_ctx(), &adam, CLACT_F32, 0, 7, buf_of(&p), buf_of(&g),
                                     buf_of(&m), buf_of(&v), (clact_buffer){NULL, 0}, 0, NULL,
                                     NULL),
                     CLACT_INVALID_ARGUMENT);
    adam.amsgrad = 0;
    ck_assert_int_eq(clact_adam_step(tu_ctx(), &adam, CLACT_F32, 0, 7, buf_of(&p), buf_of(&g),
                                     buf_of(&m), buf_of(&v), (clact_buffer){NULL, 0}, 0, NULL,
                                     NULL),
                     CLACT_OK);
    clFinish(clact_context_queue(tu_ctx()));
    tensor all[] = {p, g, m, v};
    for (int i = 0; i < 4; ++i) {
        expect_untouched(&all[i], "n = 0", "a buffer");
        release(&all[i]);
    }
    clReleaseEvent(gate);
}
END_TEST

/* A step behind a closed gate returns at once without running; after the gate opens its results
 * are the reference's. */
START_TEST(optim_never_blocks) {
    enum { N = 77 };
    double p[N], g[N], h[N], m0[N] = {0}, v0[N] = {0};
    tu_rng r = tu_rng_for("optim_never_blocks", 0);
    fill(&r, CLACT_F32, p, N, 0, 0);
    fill(&r, CLACT_F32, g, N, 1, 0);
    tensor P = make(CLACT_F32, N, 0, p), G = make(CLACT_F32, N, 0, g);
    tensor M = make(CLACT_F32, N, 0, m0), V = make(CLACT_F32, N, 0, v0);
    cl_int err;
    cl_event gate = clCreateUserEvent(clact_context_cl_context(tu_ctx()), &err), ev = NULL;
    clact_adam_desc d = clact_adam_default(1e-2);
    ck_assert_int_eq(clact_adam_step(tu_ctx(), &d, CLACT_F32, N, 1, buf_of(&P), buf_of(&G),
                                     buf_of(&M), buf_of(&V), (clact_buffer){NULL, 0}, 1, &gate,
                                     &ev),
                     CLACT_OK);
    cl_int status;
    clGetEventInfo(ev, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof status, &status, NULL);
    ck_assert_msg(status > CL_COMPLETE, "the step ran before its gate opened");
    clSetUserEventStatus(gate, CL_COMPLETE);
    ck_assert_int_eq(clWaitForEvents(1, &ev), CL_SUCCESS);
    ck_assert_int_eq(clact_reference_adam_step(&d, CLACT_F32, N, 1, p, g, m0, v0, NULL), CLACT_OK);
    fetch(&P, h, "gated", "param");
    for (size_t i = 0; i < N; ++i)
        expect("gated", "param", i, h[i], p[i], device_rounds_divide_sqrt() ? 0 : 1e-6);
    clReleaseEvent(ev), clReleaseEvent(gate);
    release(&P), release(&G), release(&M), release(&V);
}
END_TEST

START_TEST(optim_defaults) {
    clact_sgd_desc s = clact_sgd_default(0.25);
    ck_assert(s.lr == 0.25 && s.momentum == 0 && s.dampening == 0 && s.weight_decay == 0 &&
              !s.nesterov && !s.maximize);
    clact_adam_desc a = clact_adam_default(3e-4), w = clact_adamw_default(1e-3);
    ck_assert(a.lr == 3e-4 && a.beta1 == 0.9 && a.beta2 == 0.999 && a.eps == 1e-8 &&
              a.weight_decay == 0 && !a.amsgrad && !a.decoupled && !a.maximize);
    ck_assert(w.lr == 1e-3 && w.beta1 == 0.9 && w.beta2 == 0.999 && w.eps == 1e-8 &&
              w.weight_decay == 1e-2 && !w.amsgrad && w.decoupled && !w.maximize);
    ck_assert_int_eq(clact_sgd_check(&s, NULL, 0), CLACT_OK);
    ck_assert_int_eq(clact_adam_check(&a, NULL, 0), CLACT_OK);
    ck_assert_int_eq(clact_adam_check(&w, NULL, 0), CLACT_OK);
}
END_TEST

/* Every buffer of an error test: poisoned, and checked to stay so. */
typedef struct error_bench {
    tensor p, g, b, v, x;
} error_bench;

static void expect_nothing_written(error_bench *e, const char *what) {
    tensor *all[] = {&e->p, &e->g, &e->b, &e->v, &e->x};
    clFinish(clact_context_queue(tu_ctx()));
    for (int i = 0; i < 5; ++i)
        expect_untouched(all[i], what, "a buffer");
}

/* The call failed with `want`, its message names `needle`, and nothing was written. */
static void expect_error_in(clact_context *ctx, error_bench *e, clact_status got, clact_status want,
                            const char *needle, const char *what) {
    const char *msg = clact_context_last_error(ctx);
    ck_assert_msg(got == want, "%s: status %s, expected %s (%s)", what, clact_status_name(got),
                  clact_status_name(want), msg);
    ck_assert_msg(strstr(msg, needle), "%s: the message '%s' does not name '%s'", what, msg,
                  needle);
    expect_nothing_written(e, what);
}

static void expect_error(error_bench *e, clact_status got, clact_status want, const char *needle,
                         const char *what) {
    expect_error_in(tu_ctx(), e, got, want, needle, what);
}

static clact_status sgd_with(error_bench *e, clact_sgd_desc d, unsigned long long step) {
    return clact_sgd_step(tu_ctx(), &d, CLACT_F32, 8, step, buf_of(&e->p), buf_of(&e->g),
                          buf_of(&e->b), 0, NULL, NULL);
}

static clact_status adam_with(error_bench *e, clact_adam_desc d, unsigned long long step) {
    return clact_adam_step(tu_ctx(), &d, CLACT_F32, 8, step, buf_of(&e->p), buf_of(&e->g),
                           buf_of(&e->b), buf_of(&e->v), buf_of(&e->x), 0, NULL, NULL);
}

START_TEST(optim_errors) {
    error_bench e = {make(CLACT_F32, 8, 1, NULL), make(CLACT_F32, 8, 0, NULL),
                     make(CLACT_F32, 8, 2, NULL), make(CLACT_F32, 8, 0, NULL),
                     make(CLACT_F32, 8, 0, NULL)};
    const clact_status BAD = CLACT_INVALID_ARGUMENT;
    clact_sgd_desc s0 = clact_sgd_default(0.1), s;
    s0.momentum = 0.9;
    /* The options: each field named. */
    s = s0, s.lr = -1;
    expect_error(&e, sgd_with(&e, s, 1), BAD, "lr", "sgd lr < 0");
    s = s0, s.lr = NAN;
    expect_error(&e, sgd_with(&e, s, 1), BAD, "lr is NaN", "sgd lr NaN");
    s = s0, s.momentum = -0.5;
    expect_error(&e, sgd_with(&e, s, 1), BAD, "momentum", "sgd momentum < 0");
    s = s0, s.dampening = NAN;
    expect_error(&e, sgd_with(&e, s, 1), BAD, "dampening", "sgd dampening NaN");
    s = s0, s.weight_decay = -1e-3;
    expect_error(&e, sgd_with(&e, s, 1), BAD, "weight_decay", "sgd weight_decay < 0");
    s = s0, s.nesterov = 1, s.dampening = 0.1;
    expect_error(&e, sgd_with(&e, s, 1), BAD, "nesterov", "nesterov with dampening");
    s = s0, s.nesterov = 1, s.momentum = 0;
    expect_error(&e, sgd_with(&e, s, 1), BAD, "nesterov", "nesterov without momentum");
    s = s0, s.maximize = 2;
    expect_error(&e, sgd_with(&e, s, 1), BAD, "maximize", "sgd maximize 2");
    s = s0, s.nesterov = -1;
    expect_error(&e, sgd_with(&e, s, 1), BAD, "nesterov", "sgd nesterov -1");
    expect_error(&e, sgd_with(&e, s0, 0), BAD, "step", "sgd step 0");
    expect_error(&e,
                 clact_sgd_step(tu_ctx(), NULL, CLACT_F32, 8, 1, buf_of(&e.p), buf_of(&e.g),
                                buf_of(&e.b), 0, NULL, NULL),
                 BAD, "NULL", "sgd desc NULL");
    /* Scalars PyTorch converts with an overflow check, in float. */
    s = s0, s.lr = 1e39;
    expect_error(&e, sgd_with(&e, s, 1), BAD, "-lr", "sgd lr past float");
    s = s0, s.weight_decay = 1e300;
    expect_error(&e, sgd_with(&e, s, 1), BAD, "weight_decay", "sgd weight_decay past float");
    s = s0, s.dampening = -1e39;
    expect_error(&e, sgd_with(&e, s, 2), BAD, "1 - dampening", "sgd 1 - dampening past float");
    /* Buffers: missing, too small, aliased, read-only. */
    expect_error(&e,
                 clact_sgd_step(tu_ctx(), &s0, CLACT_F32, 8, 1, buf_of(&e.p), buf_of(&e.g),
                                (clact_buffer){NULL, 0}, 0, NULL, NULL),
                 BAD, "momentum_buffer", "sgd buffer NULL with momentum");
    expect_error(&e,
                 clact_sgd_step(tu_ctx(), &s0, CLACT_F32, 8, 1, (clact_buffer){NULL, 0},
                                buf_of(&e.g), buf_of(&e.b), 0, NULL, NULL),
                 BAD, "param", "sgd param NULL");
    expect_error(&e,
                 clact_sgd_step(tu_ctx(), &s0, CLACT_F32, 8, 1, buf_of(&e.p),
                                (clact_buffer){NULL, 0}, buf_of(&e.b), 0, NULL, NULL),
                 BAD, "grad", "sgd grad NULL");
    expect_error(&e,
                 clact_sgd_step(tu_ctx(), &s0, CLACT_F32, 8, 1, buf_of(&e.p), buf_of(&e.p),
                                buf_of(&e.b), 0, NULL, NULL),
                 BAD, "param and grad", "sgd param aliasing grad");
    expect_error(&e,
                 clact_sgd_step(tu_ctx(), &s0, CLACT_F32, 8, 1, buf_of(&e.p),
                                (clact_buffer){e.p.mem, 3}, buf_of(&e.b), 0, NULL, NULL),
                 BAD, "overlap", "sgd grad overlapping param");
    expect_error(&e,
                 clact_sgd_step(tu_ctx(), &s0, CLACT_F32, 8, 1, buf_of(&e.p), buf_of(&e.g),
                                buf_of(&e.g), 0, NULL, NULL),
                 BAD, "grad and momentum_buffer", "sgd buffer aliasing grad");
    expect_error(&e,
                 clact_sgd_step(tu_ctx(), &s0, CLACT_F32, 20, 1, buf_of(&e.p), buf_of(&e.g),
                                buf_of(&e.b), 0, NULL, NULL),
                 BAD, "do not fit", "sgd buffers too small");
    cl_int err;
    cl_mem ro =
        clCreateBuffer(clact_context_cl_context(tu_ctx()), CL_MEM_READ_ONLY, 64, NULL, &err);
    expect_error(&e,
                 clact_sgd_step(tu_ctx(), &s0, CLACT_F32, 8, 1, (clact_buffer){ro, 0}, buf_of(&e.g),
                                buf_of(&e.b), 0, NULL, NULL),
                 BAD, "READ_ONLY", "sgd param read-only");
    clReleaseMemObject(ro);
    expect_error(&e,
                 clact_sgd_step(tu_ctx(), &s0, CLACT_F32, 8, 1, buf_of(&e.p), buf_of(&e.g),
                                buf_of(&e.b), 1, NULL, NULL),
                 BAD, "wait_list", "sgd wait list");
    expect_error(&e,
                 clact_sgd_step(tu_ctx(), &s0, (clact_dtype)9, 8, 1, buf_of(&e.p), buf_of(&e.g),
                                buf_of(&e.b), 0, NULL, NULL),
                 BAD, "dtype", "sgd unknown dtype");
    ck_assert_int_eq(clact_sgd_step(NULL, &s0, CLACT_F32, 8, 1, buf_of(&e.p), buf_of(&e.g),
                                    buf_of(&e.b), 0, NULL, NULL),
                     BAD);

    clact_adam_desc a0 = clact_adam_default(1e-3), a;
    a0.amsgrad = 1;
    a = a0, a.lr = -1e-3;
    expect_error(&e, adam_with(&e, a, 1), BAD, "lr", "adam lr < 0");
    a = a0, a.eps = -1e-8;
    expect_error(&e, adam_with(&e, a, 1), BAD, "eps", "adam eps < 0");
    a = a0, a.eps = NAN;
    expect_error(&e, adam_with(&e, a, 1), BAD, "eps is NaN", "adam eps NaN");
    a = a0, a.beta1 = 1.0;
    expect_error(&e, adam_with(&e, a, 1), BAD, "beta1", "adam beta1 1");
    a = a0, a.beta1 = -0.1;
    expect_error(&e, adam_with(&e, a, 1), BAD, "beta1", "adam beta1 < 0");
    a = a0, a.beta2 = 1.0;
    expect_error(&e, adam_with(&e, a, 1), BAD, "beta2", "adam beta2 1");
    a = a0, a.beta2 = NAN;
    expect_error(&e, adam_with(&e, a, 1), BAD, "beta2", "adam beta2 NaN");
    a = a0, a.weight_decay = -1;
    expect_error(&e, adam_with(&e, a, 1), BAD, "weight_decay", "adam weight_decay < 0");
    a = a0, a.amsgrad = 3;
    expect_error(&e, adam_with(&e, a, 1), BAD, "amsgrad", "adam amsgrad 3");
    a = a0, a.decoupled = 2;
    expect_error(&e, adam_with(&e, a, 1), BAD, "decoupled", "adam decoupled 2");
    a = a0, a.maximize = -1;
    expect_error(&e, adam_with(&e, a, 1), BAD, "maximize", "adam maximize -1");
    a = clact_adamw_default(-1);
    expect_error(&e, adam_with(&e, a, 1), BAD, "adamw: invalid lr", "adamw lr < 0");
    expect_error(&e, adam_with(&e, a0, 0), BAD, "step", "adam step 0");
    a = a0, a.lr = 1e33, a.beta1 = 0.999999;
    expect_error(&e, adam_with(&e, a, 1), BAD, "-step_size", "adam step size past float");
    a = a0, a.weight_decay = 1e39;
    expect_error(&e, adam_with(&e, a, 1), BAD, "weight_decay", "adam weight_decay past float");
    expect_error(&e,
                 clact_adam_step(tu_ctx(), &a0, CLACT_F32, 8, 1, buf_of(&e.p), buf_of(&e.g),
                                 buf_of(&e.b), buf_of(&e.v), (clact_buffer){NULL, 0}, 0, NULL,
                                 NULL),
                 BAD, "max_exp_avg_sq", "adam max NULL with amsgrad");
    expect_error(&e,
                 clact_adam_step(tu_ctx(), &a0, CLACT_F32, 8, 1, buf_of(&e.p), buf_of(&e.g),
                                 (clact_buffer){NULL, 0}, buf_of(&e.v), buf_of(&e.x), 0, NULL,
                                 NULL),
                 BAD, "exp_avg", "adam exp_avg NULL");
    expect_error(&e,
                 clact_adam_step(tu_ctx(), &a0, CLACT_F32, 8, 1, buf_of(&e.p), buf_of(&e.g),
                                 buf_of(&e.b), (clact_buffer){e.b.mem, 4}, buf_of(&e.x), 0, NULL,
                                 NULL),
                 BAD, "overlap", "adam exp_avg_sq overlapping exp_avg");
    expect_error(&e,
                 clact_adam_step(tu_ctx(), &a0, CLACT_F32, 8, 1, buf_of(&e.g), buf_of(&e.g),
                                 buf_of(&e.b), buf_of(&e.v), buf_of(&e.x), 0, NULL, NULL),
                 BAD, "param and grad", "adam param aliasing grad");
    expect_error(&e,
                 clact_adam_step(tu_ctx(), &a0, CLACT_F32, 8, 1, buf_of(&e.p), buf_of(&e.g),
                                 buf_of(&e.b), buf_of(&e.b), buf_of(&e.x), 0, NULL, NULL),
                 BAD, "exp_avg and exp_avg_sq", "adam exp_avg aliasing exp_avg_sq");
    /* f64 where the device is treated as lacking cl_khr_fp64: UNSUPPORTED, naming the extension
     * (a context on the same queue, made with CLACT_NO_FP64 set). */
    setenv("CLACT_NO_FP64", "1", 1);
    clact_context *no64 = NULL;
    clact_status made = clact_context_create_from_queue(&no64, clact_context_queue(tu_ctx()));
    unsetenv("CLACT_NO_FP64");
    ck_assert_int_eq(made, CLACT_OK);
    clact_status st = clact_adam_step(no64, &a0, CLACT_F64, 4, 1, buf_of(&e.p), buf_of(&e.g),
                                      buf_of(&e.b), buf_of(&e.v), buf_of(&e.x), 0, NULL, NULL);
    expect_error_in(no64, &e, st, CLACT_UNSUPPORTED, "cl_khr_fp64", "adam f64 without fp64");
    st = clact_sgd_step(no64, &s0, CLACT_F64, 4, 1, buf_of(&e.p), buf_of(&e.g), buf_of(&e.b), 0,
                        NULL, NULL);
    expect_error_in(no64, &e, st, CLACT_UNSUPPORTED, "cl_khr_fp64", "sgd f64 without fp64");
    clact_context_destroy(no64);
    /* f64 computes in double: the float overflow checks do not apply. */
    a = a0, a.weight_decay = 1e39, a.amsgrad = 0;
    if (dtype_runs(CLACT_F64))
        ck_assert_int_eq(clact_adam_step(tu_ctx(), &a, CLACT_F64, 0, 1, buf_of(&e.p), buf_of(&e.g),
                                         buf_of(&e.b), buf_of(&e.v), (clact_buffer){NULL, 0}, 0,
                                         NULL, NULL),
                         CLACT_OK);

    /* The references validate alike. */
    double h[4] = {0};
    ck_assert_int_eq(clact_reference_sgd_step(&s0, CLACT_F32, 1, 1, h, h + 1, NULL), BAD);
    ck_assert_ptr_nonnull(strstr(clact_context_last_error(NULL), "momentum_buffer"));
    s = s0, s.nesterov = 1, s.dampening = 1;
    ck_assert_int_eq(clact_reference_sgd_step(&s, CLACT_F32, 1, 1, h, h + 1, h + 2), BAD);
    ck_assert_int_eq(clact_reference_sgd_step(&s0, CLACT_F32, 1, 0, h, h + 1, h + 2), BAD);
    s = s0, s.lr = 1e39;
    ck_assert_int_eq(clact_reference_sgd_step(&s, CLACT_F32, 1, 1, h, h + 1, h + 2), BAD);
    ck_assert_int_eq(clact_reference_sgd_step(&s, CLACT_F64, 1, 1, h, h + 1, h + 2), CLACT_OK);
    ck_assert_int_eq(clact_reference_adam_step(&a0, CLACT_F32, 1, 1, h, h + 1, h + 2, h + 3, NULL),
                     BAD);
    a = a0, a.beta2 = 1;
    ck_assert_int_eq(clact_reference_adam_step(&a, CLACT_F32, 1, 1, h, h + 1, h + 2, h + 3, h),
                     BAD);
    ck_assert_int_eq(
        clact_reference_adam_step(&a0, (clact_dtype)7, 1, 1, h, h + 1, h + 2, h + 3, h), BAD);
    tensor all[] = {e.p, e.g, e.b, e.v, e.x};
    for (int i = 0; i < 5; ++i)
        release(&all[i]);
}
END_TEST

Suite *optim_suite(void);
Suite *optim_suite(void) {
    Suite *s = suite_create("optim");
    TCase *tc = tcase_create("optim");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, optim_defaults);
    tcase_add_loop_test(tc, optim_sgd_against_reference, 0, 24);
    tcase_add_loop_test(tc, optim_adam_against_reference, 0, 16);
    tcase_add_test(tc, optim_specials);
    tcase_add_test(tc, optim_sizes);
    tcase_add_test(tc, optim_never_blocks);
    tcase_add_test(tc, optim_errors);
    suite_add_tcase(s, tc);
    return s;
}
