/* SPDX-License-Identifier: MIT */
/* oneDNN (Debian's libdnnl-dev, 2.x C API) as a peer for `clact bench`: each activation's oneDNN
 * form (recipe_for: an eltwise primitive, its backward from src, PReLU, or an exact composition of
 * post-ops), softmax, and dnnl_sgemm with the activation for the dense layer, on the same ops and
 * sizes, timed like clact's (warm-up, repetitions calibrated to a target time, median and min of
 * wall time around execute + wait). Every result is first checked, element by element, against
 * clact's CPU reference (clact_reference_*) on the same inputs; one that differs is reported on
 * stderr and not timed, since a peer computing another function is no peer. An op oneDNN has no
 * form for is reported on stderr with the reason.
 * Threads: OMP_NUM_THREADS, else every core.
 * Op names: an activation with optional parameters, `<act>[:NAME=VALUE...]` (PyTorch's names and
 * defaults as clact's: hardtanh:min_val=-2:max_val=2, threshold:threshold=0.1:value=20, rrelu's
 * training=0|1), `<act>_backward[:NAME=VALUE...]` (dx = dy * f'(x)), `softmax_<row length>`, and
 * `dense_<act>_<B>x<I>x<O>[_backward]` with act an activation or `linear` (none). Dense ops do not
 * depend on SIZES: each runs once per invocation.
 * Prints CSV: peer,op,elements,form,median_ms,min_ms,GB_s,Gelem_s,GFLOP_s; GFLOP_s is empty for
 * elementwise ops, GB_s and Gelem_s are empty for dense ops, whose elements are B * O.
 * Usage: peer_onednn OPS SIZES [quick]   (comma-separated lists) */
#define _POSIX_C_SOURCE 200809L
#include <float.h>
#include <math.h>
#include <oneapi/dnnl/dnnl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clact/clact.h"

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

#define CHECK(call)                                                                                \
    do {                                                                                           \
        dnnl_status_t s_ = (call);                                                                 \
        if (s_ != dnnl_success) {                                                                  \
            fprintf(stderr, "peer_onednn: %s failed (%d)\n", #call, (int)s_);                      \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

/* An activation's oneDNN form: one eltwise primitive (forward, or backward from src) or PReLU's,
 * or, where oneDNN has no primitive for the function but a composition computes it exactly (up to
 * the rounding of its steps), a chain of post-ops on the binary primitive x * 1: eltwise post-ops
 * (with their scale) and binary post-ops whose second operand is the op's input x, the
 * backward's dy, or a scalar broadcast over every element. oneDNN 2.6 runs the binary primitive
 * with post-ops in its JIT code (jit:uni), but the eltwise primitive with post-ops only in its
 * reference code (ref:any, 20-50x slower here, and wrong on 1-D tensors), hence the binary one.
 * The binary post-ops let a chain on x end in `* dy`, which gives the backward of the piecewise
 * ops (a mask times dy) and of tanhshrink and softsign in one pass over x and dy, as clact's
 * backward is. Every result is checked against clact's reference before it is timed
 * (verify_elementwise). */
enum { POST_ELTWISE, POST_BINARY };
enum { SRC1_X, SRC1_DY, SRC1_SCALAR };
typedef struct {
    int type;
    dnnl_alg_kind_t alg;
    float scale, alpha, beta; /* eltwise */
    int src1;                 /* binary: SRC1_X, SRC1_DY or SRC1_SCALAR (value scalar) */
    float scalar;
} post_t;

typedef struct {
    int prelu;           /* the PReLU primitive, weight alpha (one weight for every element) */
    int bwd;             /* the eltwise backward primitive of alg, from src */
    dnnl_alg_kind_t alg; /* the eltwise primitive (with neither prelu nor npost) */
    float alpha, beta;
    int npost; /* > 0: a composition, the binary primitive x * 1, then the post-ops */
    post_t post[6];
} recipe_t;

static const char *direct(recipe_t *r, dnnl_alg_kind_t alg, float alpha, float beta, int bwd) {
    r->alg = alg, r->alpha = alpha, r->beta = beta, r->bwd = bwd;
    return NULL;
}

static void then(recipe_t *r, dnnl_alg_kind_t alg, float scale, float alpha, float beta) {
    r->post[r->npost++] = (post_t){POST_ELTWISE, alg, scale, alpha, beta, 0, 0.0f};
}

static void first(recipe_t *r, dnnl_alg_kind_t alg, float alpha, float beta) {
    then(r, alg, 1.0f, alpha, beta);
}

static void then_binary(recipe_t *r, dnnl_alg_kind_t alg, int src1, float scalar) {
    r->post[r->npost++] = (post_t){POST_BINARY, alg, 1.0f, 0.0f, 0.0f, src1, scalar};
}

/* The mask of |x| > t, times dy (backward) or x (forward): hardshrink, and softshrink's backward.
 */
static const char *outside(recipe_t *r, float t, int backward) {
    first(r, dnnl_eltwise_abs, 0.0f, 0.0f);
    then_binary(r, dnnl_binary_gt, SRC1_SCALAR, t);
    then_binary(r, dnnl_binary_mul, backward ? SRC1_DY : SRC1_X, 0.0f);
    return NULL;
}

/* Fills r with the oneDNN form of act (its backward when backward), or returns why there is none.
 * Parameters are converted to float as clact and PyTorch convert them for f32 (derived ones formed
 * in double first). Where oneDNN's backward primitive takes y instead of x (the _use_dst_for_bwd
 * algorithms), the src-based one is used, as clact's backward here is from x. */
static const char *recipe_for(const clact_activation *a, int backward, recipe_t *r) {
    memset(r, 0, sizeof *r);
    const float p0 = (float)a->param[0], p1 = (float)a->param[1];
    const float selu_alpha = 1.6732632423543772f, selu_scale = 1.0507009873554805f;
    switch (a->op) {
    case CLACT_RELU: return direct(r, dnnl_eltwise_relu, 0.0f, 0.0f, backward);
    case CLACT_LEAKY_RELU: return direct(r, dnnl_eltwise_relu, p0, 0.0f, backward);
    case CLACT_ELU: return direct(r, dnnl_eltwise_elu, p0, 0.0f, backward);
    case CLACT_GELU: return direct(r, dnnl_eltwise_gelu_erf, 0.0f, 0.0f, backward);
    case CLACT_GELU_TANH: return direct(r, dnnl_eltwise_gelu_tanh, 0.0f, 0.0f, backward);
    case CLACT_SILU: return direct(r, dnnl_eltwise_swish, 1.0f, 0.0f, backward);
    case CLACT_MISH: return direct(r, dnnl_eltwise_mish, 0.0f, 0.0f, backward);
    case CLACT_SIGMOID: return direct(r, dnnl_eltwise_logistic, 0.0f, 0.0f, backward);
    case CLACT_TANH: return direct(r, dnnl_eltwise_tanh, 0.0f, 0.0f, backward);
    case CLACT_SOFTPLUS:
        /* soft_relu is log(1 + e^x) (oneDNN 2.x has no beta, no threshold): PyTorch's x above
         * the threshold is what it rounds to in float from x = 16 on. */
        if (p0 != 1.0f || p1 < 16.0f)
            return "softplus with beta != 1 or threshold < 16: oneDNN 2.x's soft_relu has "
                   "neither";
        return direct(r, dnnl_eltwise_soft_relu, 0.0f, 0.0f, backward);
    case CLACT_RELU6: return direct(r, dnnl_eltwise_clip_v2, 0.0f, 6.0f, backward);
    case CLACT_HARDTANH:
        /* clip_v2, not clip: its gradient is 0 at both bounds, as PyTorch's (clip's is dy at
         * the upper one). */
        return direct(r, dnnl_eltwise_clip_v2, p0, p1, backward);
    case CLACT_SELU:
        if (backward)
            return "selu's backward, scale * (x > 0 ? 1 : alpha e^x) * dy: no oneDNN backward "
                   "primitive or forward chain computes it";
        first(r, dnnl_eltwise_elu, selu_alpha, 0.0f);
        then(r, dnnl_eltwise_linear, 1.0f, selu_scale, 0.0f);
        return NULL;
    case CLACT_CELU:
        /* celu(x) = alpha elu(x / alpha) for alpha > 0: elu itself at alpha = 1 (PyTorch's
         * default), backward included. */
        if (p0 == 1.0f)
            return direct(r, dnnl_eltwise_elu, 1.0f, 0.0f, backward);
        if (backward || !(p0 > 0.0f))
            return "celu with alpha != 1: its forward composes for alpha > 0 only, its backward "
                   "not at all";
        first(r, dnnl_eltwise_linear, (float)(1.0 / a->param[0]), 0.0f);
        then(r, dnnl_eltwise_elu, p0, 1.0f, 0.0f);
        return NULL;
    case CLACT_HARDSIGMOID:
        if (backward) { /* (|x| < 3) * dy / 6 */
            first(r, dnnl_eltwise_abs, 0.0f, 0.0f);
            then_binary(r, dnnl_binary_lt, SRC1_SCALAR, 3.0f);
            then_binary(r, dnnl_binary_mul, SRC1_DY, 0.0f);
            then(r, dnnl_eltwise_linear, 1.0f, 1.0f / 6.0f, 0.0f);
            return NULL;
        }
        first(r, dnnl_eltwise_linear, 1.0f / 6.0f, 0.5f); /* clip(x / 6 + 1/2, 0, 1) */
        then(r, dnnl_eltwise_clip_v2, 1.0f, 0.0f, 1.0f);
        return NULL;
    case CLACT_HARDSWISH: return direct(r, dnnl_eltwise_hardswish, 0.0f, 0.0f, backward);
    case CLACT_LOGSIGMOID: return direct(r, dnnl_eltwise_logsigmoid, 0.0f, 0.0f, backward);
    case CLACT_SOFTSIGN: /* x (1 + |x|)^-1, backward dy (1 + |x|)^-2 */
        first(r, dnnl_eltwise_abs, 0.0f, 0.0f);
        then(r, dnnl_eltwise_linear, 1.0f, 1.0f, 1.0f);
        if (backward)
            then(r, dnnl_eltwise_square, 1.0f, 0.0f, 0.0f);
        then(r, dnnl_eltwise_pow, 1.0f, 1.0f, -1.0f);
        then_binary(r, dnnl_binary_mul, backward ? SRC1_DY : SRC1_X, 0.0f);
        return NULL;
    case CLACT_TANHSHRINK: /* -(tanh x - x), backward tanh(x)^2 dy */
        first(r, dnnl_eltwise_tanh, 0.0f, 0.0f);
        if (backward) {
            then(r, dnnl_eltwise_square, 1.0f, 0.0f, 0.0f);
            then_binary(r, dnnl_binary_mul, SRC1_DY, 0.0f);
        } else {
            then_binary(r, dnnl_binary_sub, SRC1_X, 0.0f);
            then(r, dnnl_eltwise_linear, 1.0f, -1.0f, 0.0f);
        }
        return NULL;
    case CLACT_SOFTSHRINK: /* -(clip(x, -lambd, lambd) - x); backward (|x| > lambd) dy */
        if (backward)
            return outside(r, p0, 1);
        first(r, dnnl_eltwise_clip_v2, -p0, p0);
        then_binary(r, dnnl_binary_sub, SRC1_X, 0.0f);
        then(r, dnnl_eltwise_linear, 1.0f, -1.0f, 0.0f);
        return NULL;
    case CLACT_HARDSHRINK: return outside(r, p0, backward); /* (|x| > lambd) x, or dy */
    case CLACT_THRESHOLD:
        then_binary(r, dnnl_binary_gt, SRC1_SCALAR, p0); /* m = x > threshold */
        if (backward) {
            then_binary(r, dnnl_binary_mul, SRC1_DY, 0.0f);
            return NULL;
        }
        /* max(m ? -FLT_MAX : value, x): x where m, else value, which is >= x there when
         * value >= threshold. */
        if (!(p1 >= p0) || fabsf(p1) > 1e30f)
            return "threshold with value < threshold: no exact oneDNN composition";
        then(r, dnnl_eltwise_linear, 1.0f, -FLT_MAX, p1);
        then_binary(r, dnnl_binary_max, SRC1_X, 0.0f);
        return NULL;
    case CLACT_PRELU:
        r->prelu = 1;
        r->alpha = p0;
        return NULL;
    case CLACT_RRELU:
        if (a->training)
            return "rrelu in training mode: oneDNN draws no random slopes";
        /* evaluation mode: leaky_relu with the midpoint slope, formed in double */
        return direct(r, dnnl_eltwise_relu, (float)((a->param[0] + a->param[1]) / 2), 0.0f,
                      backward);
    default: return "no oneDNN primitive or composition";
    }
}

/* An activation `name[:NAME=VALUE...]` (PyTorch's parameter names, the library's defaults; rrelu
 * also training=0|1 and seed=N) into *a. Returns NULL or what is wrong. */
static const char *parse_act(const char *spec, clact_activation *a) {
    static char why[256];
    char buf[256];
    snprintf(buf, sizeof buf, "%s", spec);
    char *item = strchr(buf, ':');
    if (item)
        *item++ = '\0';
    clact_op op;
    if (clact_op_from_name(buf, &op) != CLACT_OK)
        return "unknown activation";
    *a = clact_activation_default(op);
    while (item) {
        char *next = strchr(item, ':'), *eq = strchr(item, '='), *end;
        if (next)
            *next++ = '\0';
        if (!eq)
            return "a parameter is not NAME=VALUE";
        *eq = '\0';
        double v = strtod(eq + 1, &end);
        if (end == eq + 1 || *end)
            return "a parameter's value is not a number";
        int k = -1;
        for (int i = 0; i < clact_op_param_count(op); ++i)
            if (!strcmp(item, clact_op_param_name(op, i)))
                k = i;
        if (k >= 0)
            a->param[k] = v;
        else if (!strcmp(item, "training"))
            a->training = (int)v;
        else if (!strcmp(item, "seed"))
            a->seed = (unsigned long long)v;
        else
            return "unknown parameter";
        item = next;
    }
    if (clact_activation_check(a, why, sizeof why) != CLACT_OK)
        return why;
    return NULL;
}

/* The same deterministic, non-constant pattern as clact bench's inputs: [-10, 10) in steps of
 * 0.001, scaled; `salt` keeps different operands from being identical. */
static float pattern(long i, long salt, float scale) {
    unsigned long k = (unsigned long)(i + salt) * 2654435761u % 20000;
    return (float)(((double)k / 1000.0 - 10.0) * scale);
}

static float *alloc_floats(long n, long salt, float scale) {
    /* 64-byte alignment, as oneDNN's own allocations, so that the dense operands are not at a
     * disadvantage to the eltwise primitive's buffers. */
    size_t bytes = ((size_t)(n > 0 ? n : 1) * sizeof(float) + 63) / 64 * 64;
    float *p = aligned_alloc(64, bytes);
    if (!p) {
        fprintf(stderr, "peer_onednn: out of memory\n");
        exit(1);
    }
    for (long i = 0; i < n; ++i)
        p[i] = pattern(i, salt, scale);
    return p;
}

/* One timed unit of work: either a single primitive (an activation's form, softmax) or a dense
 * layer's forward or backward pass. */
typedef struct {
    dnnl_stream_t stream;
    dnnl_primitive_t prim; /* the primitive, or the dense layer's activation (NULL: linear) */
    int nargs, nmems;
    dnnl_exec_arg_t args[12];
    dnnl_memory_t mems[12];      /* the memories this job made (args may name one more than once) */
    dnnl_memory_t mx, mdy, mout; /* elementwise and softmax: input, dy (backward), output */
    int dense, backward;
    long B, I, O;
    float *x, *W, *b, *z, *y, *dy, *dz, *db, *dW, *dx;
} job_t;

static dnnl_memory_t job_memory(job_t *j, dnnl_engine_t eng, const dnnl_memory_desc_t *md,
                                void *data) {
    dnnl_memory_t m;
    CHECK(dnnl_memory_create(&m, md, eng, data));
    j->mems[j->nmems++] = m;
    return m;
}

static void job_arg(job_t *j, int arg, dnnl_memory_t m) {
    j->args[j->nargs++] = (dnnl_exec_arg_t){arg, m};
}

static float *data_of(dnnl_memory_t m) {
    void *p;
    CHECK(dnnl_memory_get_data_handle(m, &p));
    return p;
}

/* The primitive of recipe r over md, with its arguments: src x, for a backward dy, the output out
 * (dst, or diff_src). A backward primitive descriptor needs a forward training one as its hint,
 * only while it is created. */
static void act_primitive(job_t *j, dnnl_engine_t eng, const recipe_t *r, int backward,
                          const dnnl_memory_desc_t *md, dnnl_memory_t x, dnnl_memory_t dy,
                          dnnl_memory_t out) {
    dnnl_primitive_desc_t fpd, bpd = NULL;
    dnnl_prop_kind_t prop = backward ? dnnl_forward_training : dnnl_forward_inference;
    int ndims = md->ndims;
    dnnl_dims_t one = {1, 1};
    dnnl_memory_desc_t smd; /* a scalar, broadcast: PReLU's weight, the binary post-ops' values */
    CHECK(dnnl_memory_desc_init_by_tag(&smd, ndims, one, dnnl_f32, ndims == 1 ? dnnl_a : dnnl_ab));
    job_arg(j, DNNL_ARG_SRC, x);
    if (r->prelu) {
        /* One weight per column, all the same: oneDNN 2.6 runs PReLU with a per-channel weight
         * in its JIT code, with a single broadcast one only in its reference code. */
        dnnl_prelu_desc_t fd, bd;
        dnnl_memory_desc_t wmd;
        dnnl_dims_t wdims = {1, ndims == 1 ? 1 : md->dims[1]};
        CHECK(dnnl_memory_desc_init_by_tag(&wmd, ndims, ndims == 1 ? one + 1 : wdims, dnnl_f32,
                                           ndims == 1 ? dnnl_a : dnnl_ab));
        CHECK(dnnl_prelu_forward_desc_init(&fd, prop, md, &wmd));
        CHECK(dnnl_primitive_desc_create(&fpd, &fd, NULL, eng, NULL));
        if (backward) {
            CHECK(dnnl_prelu_backward_desc_init(&bd, md, &wmd, md, &wmd));
            CHECK(dnnl_primitive_desc_create(&bpd, &bd, NULL, eng, fpd));
        }
        dnnl_memory_t w = job_memory(j, eng, &wmd, DNNL_MEMORY_ALLOCATE);
        for (long i = 0; i < wdims[1]; ++i)
            data_of(w)[i] = r->alpha;
        job_arg(j, DNNL_ARG_WEIGHTS, w);
        if (backward) { /* oneDNN's PReLU backward also sums the weights' gradients */
            job_arg(j, DNNL_ARG_DIFF_DST, dy);
            job_arg(j, DNNL_ARG_DIFF_SRC, out);
            job_arg(j, DNNL_ARG_DIFF_WEIGHTS, job_memory(j, eng, &wmd, DNNL_MEMORY_ALLOCATE));
        } else {
            job_arg(j, DNNL_ARG_DST, out);
        }
    } else if (r->bwd) {
        dnnl_eltwise_desc_t fd, bd;
        CHECK(dnnl_eltwise_forward_desc_init(&fd, prop, r->alg, md, r->alpha, r->beta));
        CHECK(dnnl_primitive_desc_create(&fpd, &fd, NULL, eng, NULL));
        CHECK(dnnl_eltwise_backward_desc_init(&bd, r->alg, md, md, r->alpha, r->beta));
        CHECK(dnnl_primitive_desc_create(&bpd, &bd, NULL, eng, fpd));
        job_arg(j, DNNL_ARG_DIFF_DST, dy);
        job_arg(j, DNNL_ARG_DIFF_SRC, out);
    } else if (!r->npost) {
        dnnl_eltwise_desc_t fd;
        CHECK(dnnl_eltwise_forward_desc_init(&fd, prop, r->alg, md, r->alpha, r->beta));
        CHECK(dnnl_primitive_desc_create(&fpd, &fd, NULL, eng, NULL));
        job_arg(j, DNNL_ARG_DST, out);
    } else {
        dnnl_binary_desc_t bd;
        dnnl_post_ops_t ops;
        dnnl_primitive_attr_t attr;
        CHECK(dnnl_post_ops_create(&ops));
        for (int i = 0; i < r->npost; ++i) {
            const post_t *p = &r->post[i];
            if (p->type == POST_ELTWISE) {
                CHECK(dnnl_post_ops_append_eltwise(ops, p->scale, p->alg, p->alpha, p->beta));
                continue;
            }
            dnnl_memory_t src1 = p->src1 == SRC1_X ? x : p->src1 == SRC1_DY ? dy : NULL;
            if (!src1) {
                src1 = job_memory(j, eng, &smd, DNNL_MEMORY_ALLOCATE);
                *data_of(src1) = p->scalar;
            }
            CHECK(dnnl_post_ops_append_binary(ops, p->alg, p->src1 == SRC1_SCALAR ? &smd : md));
            job_arg(j, DNNL_ARG_ATTR_MULTIPLE_POST_OP(i) | DNNL_ARG_SRC_1, src1);
        }
        CHECK(dnnl_primitive_attr_create(&attr));
        CHECK(dnnl_primitive_attr_set_post_ops(attr, ops));
        CHECK(dnnl_binary_desc_init(&bd, dnnl_binary_mul, md, &smd, md));
        CHECK(dnnl_primitive_desc_create(&fpd, &bd, attr, eng, NULL));
        dnnl_primitive_attr_destroy(attr);
        dnnl_post_ops_destroy(ops);
        dnnl_memory_t unit = job_memory(j, eng, &smd, DNNL_MEMORY_ALLOCATE);
        *data_of(unit) = 1.0f;
        j->args[0].arg = DNNL_ARG_SRC_0; /* x, the first argument */
        job_arg(j, DNNL_ARG_SRC_1, unit);
        job_arg(j, DNNL_ARG_DST, out);
    }
    CHECK(dnnl_primitive_create(&j->prim, bpd ? bpd : fpd));
    dnnl_primitive_desc_destroy(fpd);
    if (bpd)
        dnnl_primitive_desc_destroy(bpd);
}

static void run_primitive(job_t *j) {
    CHECK(dnnl_primitive_execute(j->prim, j->stream, j->nargs, j->args));
    CHECK(dnnl_stream_wait(j->stream));
}

/* y = act(x W^T + b), z = x W^T + b kept (as a training forward pass keeps it). dnnl_sgemm is
 * row-major in oneDNN 2.x, so W (O, I) row-major transposed is 'T' with ldb = I. The bias is a
 * plain single-threaded C loop: one pass over B * O elements of z while they are in cache, small
 * next to the GEMM's 2 B I O flops. A oneDNN matmul or inner-product primitive with a bias and an
 * eltwise post-op would fuse the three; this peer measures the composition GEMM, bias,
 * activation, which is what clact's dense layer runs (CLBlast's GEMM, then one pass for bias and
 * activation). */
static void dense_forward(job_t *j) {
    long B = j->B, I = j->I, O = j->O;
    CHECK(dnnl_sgemm('N', 'T', B, O, I, 1.0f, j->x, I, j->W, I, 0.0f, j->z, O));
    for (long r = 0; r < B; ++r) {
        float *zr = j->z + r * O;
        for (long c = 0; c < O; ++c)
            zr[c] += j->b[c];
    }
    if (j->prim)
        run_primitive(j); /* SRC z, DST y */
}

/* dz = dy * act'(z) (the eltwise backward primitive from z; dz is dy itself when linear),
 * db = column sums of dz (a plain C loop, row by row so that it reads dz contiguously),
 * dW = dz^T x (O, I) and dx = dz W (B, I), both row-major GEMMs. */
static void dense_backward(job_t *j) {
    long B = j->B, I = j->I, O = j->O;
    float *dz = j->dy;
    if (j->prim) {
        run_primitive(j); /* SRC z, DIFF_DST dy, DIFF_SRC dz */
        dz = j->dz;
    }
    memset(j->db, 0, (size_t)O * sizeof(float));
    for (long r = 0; r < B; ++r) {
        const float *dzr = dz + r * O;
        for (long c = 0; c < O; ++c)
            j->db[c] += dzr[c];
    }
    CHECK(dnnl_sgemm('T', 'N', O, I, B, 1.0f, dz, O, j->x, I, 0.0f, j->dW, I));
    CHECK(dnnl_sgemm('N', 'N', B, I, O, 1.0f, dz, O, j->W, I, 0.0f, j->dx, I));
}

static void run_job(job_t *j) {
    if (!j->dense)
        run_primitive(j);
    else if (j->backward)
        dense_backward(j);
    else
        dense_forward(j);
}

/* Warm-up, calibration to `target` seconds, then median and min in ms. */
static void measure(job_t *j, double target, double *med, double *min) {
    run_job(j);
    double t0 = now_s();
    run_job(j);
    double one = now_s() - t0;
    int reps = one > 0 ? (int)(target / one) : 1000;
    reps = reps < 3 ? 3 : reps > 1000 ? 1000 : reps;
    double *ms = malloc((size_t)reps * sizeof *ms);
    for (int i = 0; i < reps; ++i) {
        t0 = now_s();
        run_job(j);
        ms[i] = (now_s() - t0) * 1e3;
    }
    qsort(ms, (size_t)reps, sizeof *ms, cmp);
    *med = ms[reps / 2];
    *min = ms[0];
    free(ms);
}

/* Parses "dense_<act>_<B>x<I>x<O>" (without "_backward"): *has_act is 0 for `linear`, else act
 * is the activation (PyTorch's defaults). Returns 0 when `op` is not a dense op or the activation
 * is unknown. */
static int parse_dense(const char *op, int *has_act, clact_activation *act, long *B, long *I,
                       long *O) {
    if (strncmp(op, "dense_", 6))
        return 0;
    const char *name = op + 6, *last = strrchr(op, '_');
    int end = 0;
    if (last < name || sscanf(last + 1, "%ldx%ldx%ld%n", B, I, O, &end) != 3 || last[1 + end] ||
        *B < 1 || *I < 1 || *O < 1)
        return 0;
    char buf[64];
    snprintf(buf, sizeof buf, "%.*s", (int)(last - name), name);
    *has_act = strcmp(buf, "linear") != 0;
    return !*has_act || !parse_act(buf, act);
}

/* Whether got is the reference value want, within what separates two implementations of one
 * function in float (the peers' approximations of exp, tanh, erf, their rounding order in
 * compositions: a few ulp) but not two functions: 1e-5 relative (84 ulp) plus atol for results
 * near 0 that their formulas get by cancellation (oneDNN's soft_relu and logsigmoid form
 * log(1 + e^x) and are off by 1.1e-6 at 3.4e-4; x - tanh x). gelu against gelu_tanh (up to 5e-4
 * apart), a parameter off in its fifth digit (selu's alpha as 1.6733) fail. NaN only for NaN, an
 * infinity only for itself. */
static int close_enough(double got, double want, double atol) {
    if (isnan(want) || isinf(want))
        return isnan(want) ? isnan(got) : got == want;
    return fabs(got - want) <= 1e-5 * fabs(want) + atol;
}

/* Checks out[0..m) against clact's reference of act (backward: the gradient from x with dy) on
 * the same inputs, every element. pattern() repeats with period 20000, so the reference is
 * computed for the first 20000 and reused wherever x (and dy) are bit for bit those; any element
 * that is not gets its own. Returns 1, or 0 after a message naming the first element that
 * differs. atol 2e-6 (16 ulp of 1): the outputs here are at most 20 (x in [-10, 10), dy in
 * [-1, 1)), and the largest differences of the peers that pass are 1.3e-6 (mish at 8.55, within
 * the relative term) and 1.07e-6 (softplus, logsigmoid, above). With PEER_CHECK_VERBOSE set in
 * the environment, the largest difference of every op that passes goes to stderr. */
static int verify_elementwise(const char *op, const clact_activation *act, int backward,
                              const float *x, const float *dy, const float *out, long m) {
    enum { PERIOD = 20000 };
    long p = m < PERIOD ? m : PERIOD;
    double *xd = malloc((size_t)p * sizeof *xd), *dyd = malloc((size_t)p * sizeof *dyd),
           *ref = malloc((size_t)p * sizeof *ref);
    int ok = xd && dyd && ref;
    for (long i = 0; ok && i < p; ++i)
        xd[i] = x[i], dyd[i] = dy ? dy[i] : 0.0;
    clact_status st = !ok ? CLACT_OUT_OF_MEMORY
                      : backward
                          ? clact_reference_backward(act, CLACT_F32, (size_t)p, xd, NULL, dyd, ref)
                          : clact_reference_forward(act, CLACT_F32, (size_t)p, xd, ref);
    if (st != CLACT_OK) {
        fprintf(stderr, "peer_onednn: %s: clact's reference failed (%s): not timed\n", op,
                clact_status_name(st));
        ok = 0;
    }
    double worst = 0, worst_x = 0, worst_want = 0; /* the largest |got - want| */
    for (long i = 0; ok && i < m; ++i) {
        long k = i % PERIOD;
        double want = ref[k];
        if (memcmp(&x[i], &x[k], sizeof *x) || (dy && memcmp(&dy[i], &dy[k], sizeof *dy))) {
            double xi = x[i], di = dy ? dy[i] : 0.0;
            if (backward)
                clact_reference_backward(act, CLACT_F32, 1, &xi, NULL, &di, &want);
            else
                clact_reference_forward(act, CLACT_F32, 1, &xi, &want);
        }
        if (fabs(out[i] - want) > worst)
            worst = fabs(out[i] - want), worst_x = x[i], worst_want = want;
        if (!close_enough(out[i], want, 2e-6)) {
            fprintf(stderr,
                    "peer_onednn: %s: element %ld (x = %.9g%s%.9g) is %.9g, clact's reference "
                    "%.9g: not the same function, not timed\n",
                    op, i, (double)x[i], dy ? ", dy = " : "", dy ? (double)dy[i] : 0.0,
                    (double)out[i], want);
            ok = 0;
        }
    }
    if (ok && getenv("PEER_CHECK_VERBOSE"))
        fprintf(stderr, "peer_onednn: %s: largest difference %.3g (x = %.9g, reference %.9g)\n", op,
                worst, worst_x, worst_want);
    free(xd);
    free(dyd);
    free(ref);
    return ok;
}

/* Checks softmax rows of r elements, y against clact's reference row by row (no atol: every
 * value here is above 1e-12, a normal float). */
static int verify_softmax(const char *op, const float *x, const float *y, long m, long r) {
    double *xd = malloc((size_t)r * sizeof *xd), *ref = malloc((size_t)r * sizeof *ref);
    int ok = xd && ref;
    for (long row = 0; ok && row < m / r; ++row) {
        size_t shape = (size_t)r;
        for (long i = 0; i < r; ++i)
            xd[i] = x[row * r + i];
        if (clact_reference_softmax(CLACT_SOFTMAX, 0, 1, &shape, 0, xd, ref) != CLACT_OK) {
            fprintf(stderr, "peer_onednn: %s: clact's reference failed: not timed\n", op);
            ok = 0;
        }
        for (long i = 0; ok && i < r; ++i)
            if (!close_enough(y[row * r + i], ref[i], 0.0)) {
                fprintf(stderr,
                        "peer_onednn: %s: element %ld is %.9g, clact's reference %.9g: not timed\n",
                        op, row * r + i, (double)y[row * r + i], ref[i]);
                ok = 0;
            }
    }
    free(xd);
    free(ref);
    return ok;
}

static double *to_double(const float *p, long n) {
    double *d = malloc((size_t)(n > 0 ? n : 1) * sizeof *d);
    for (long i = 0; d && i < n; ++i)
        d[i] = p[i];
    return d;
}

/* Whether got[0..n) matches want within 1e-4 of want's largest magnitude: a float GEMM's sums
 * of I products differ from exact ones by up to I ulp of their largest terms (784 x 6e-8 = 5e-5
 * relative); a transposed or misplaced operand differs by the values themselves. */
static int close_array(const char *op, const char *what, const float *got, const double *want,
                       long n) {
    double big = 0;
    for (long i = 0; i < n; ++i)
        big = fabs(want[i]) > big ? fabs(want[i]) : big;
    for (long i = 0; i < n; ++i)
        if (!(fabs(got[i] - want[i]) <= 1e-4 * big)) {
            fprintf(stderr,
                    "peer_onednn: %s: %s[%ld] is %.9g, clact's reference %.9g (largest %.3g): not "
                    "timed\n",
                    op, what, i, (double)got[i], want[i], big);
            return 0;
        }
    return 1;
}

/* Checks a dense job's results (after one run) against clact's reference: z and y forward; dx, dW
 * and db backward. */
static int verify_dense(const char *op, const job_t *j, const clact_activation *act) {
    long B = j->B, I = j->I, O = j->O;
    clact_dense_desc desc = {(size_t)I, (size_t)O, act, 0};
    double *x = to_double(j->x, B * I), *w = to_double(j->W, O * I), *b = to_double(j->b, O),
           *z = to_double(j->z, B * O), *dy = to_double(j->dy, B * O);
    double *r1 = malloc((size_t)(B * I > O * I ? B * I : O * I) * sizeof *r1),
           *r2 = malloc((size_t)(O * I > B * O ? O * I : B * O) * sizeof *r2),
           *r3 = malloc((size_t)(B * O) * sizeof *r3);
    int ok = x && w && b && z && dy && r1 && r2 && r3;
    if (ok && !j->backward) {
        ok = clact_reference_dense_forward(&desc, CLACT_F32, (size_t)B, x, w, b, r1, r2) ==
                 CLACT_OK &&
             close_array(op, "z", j->z, r1, B * O) &&
             (!act || close_array(op, "y", j->y, r2, B * O));
    } else if (ok) {
        /* from the job's own z (the same values as the timed pass reads) */
        ok = clact_reference_dense_backward(&desc, CLACT_F32, (size_t)B, x, w, z, NULL, dy, r1, r2,
                                            r3) == CLACT_OK &&
             close_array(op, "dx", j->dx, r1, B * I) && close_array(op, "dW", j->dW, r2, O * I) &&
             close_array(op, "db", j->db, r3, O);
    }
    if (!ok && !(x && w && b && z && dy && r1 && r2 && r3))
        fprintf(stderr, "peer_onednn: %s: out of memory checking: not timed\n", op);
    free(x), free(w), free(b), free(z), free(dy), free(r1), free(r2), free(r3);
    return ok;
}

/* Sets up a dense op's operands and activation primitive. Inputs of the scale a trained layer
 * sees: x in [-1, 1), W in [-0.05, 0.05), z and dy in [-1, 1), so that z has both signs and stays
 * where the activations are not saturated. Returns 0, with a message, when oneDNN has no form of
 * the activation. */
static int setup_dense(job_t *j, dnnl_engine_t eng, dnnl_stream_t stream, const char *op,
                       const clact_activation *act, long B, long I, long O, int backward) {
    *j = (job_t){.stream = stream, .dense = 1, .backward = backward, .B = B, .I = I, .O = O};
    recipe_t r;
    const char *why = act ? recipe_for(act, backward, &r) : NULL;
    if (why) {
        fprintf(stderr, "peer_onednn: %s: %s\n", op, why);
        return 0;
    }
    j->x = alloc_floats(B * I, 0, 0.1f);
    j->W = alloc_floats(O * I, 7, 0.005f);
    j->b = alloc_floats(O, 13, 0.01f);
    j->z = alloc_floats(B * O, 17, 0.1f);
    j->y = alloc_floats(B * O, 0, 0.0f);
    j->dy = alloc_floats(B * O, 19, 0.1f);
    j->dz = alloc_floats(B * O, 0, 0.0f);
    j->db = alloc_floats(O, 0, 0.0f);
    j->dW = alloc_floats(O * I, 0, 0.0f);
    j->dx = alloc_floats(B * I, 0, 0.0f);
    if (!act)
        return 1;
    dnnl_memory_desc_t md;
    dnnl_dims_t dims = {B, O};
    CHECK(dnnl_memory_desc_init_by_tag(&md, 2, dims, dnnl_f32, dnnl_ab));
    /* Forward: x = z, out = y. Backward: x = z, dy, out = dz. */
    act_primitive(j, eng, &r, backward, &md, job_memory(j, eng, &md, j->z),
                  job_memory(j, eng, &md, j->dy), job_memory(j, eng, &md, backward ? j->dz : j->y));
    return 1;
}

/* Sets up softmax over rows of r (softmax_<r>) or an activation's form, forward or backward, on n
 * elements: x from pattern(), dy another pattern; *m is the number of elements it covers (whole
 * rows for softmax). Returns 0, with a message, when oneDNN has no form of it. */
static int setup_elementwise(job_t *j, dnnl_engine_t eng, dnnl_stream_t stream, const char *op,
                             const clact_activation *act, int backward, long n, long *m) {
    dnnl_memory_desc_t md;
    *j = (job_t){.stream = stream, .backward = backward};
    *m = n;
    recipe_t r;
    if (!act) {
        long rows = atol(op + 8);
        if (rows < 1 || rows > n) {
            fprintf(stderr, "peer_onednn: '%s' needs at least one row of %ld\n", op, rows);
            return 0;
        }
        *m = n / rows * rows;
        dnnl_dims_t dims = {*m / rows, rows};
        CHECK(dnnl_memory_desc_init_by_tag(&md, 2, dims, dnnl_f32, dnnl_ab));
        dnnl_softmax_v2_desc_t sd;
        dnnl_primitive_desc_t pd;
        CHECK(dnnl_softmax_v2_forward_desc_init(&sd, dnnl_forward_inference, dnnl_softmax_accurate,
                                                &md, &md, 1));
        CHECK(dnnl_primitive_desc_create(&pd, &sd, NULL, eng, NULL));
        CHECK(dnnl_primitive_create(&j->prim, pd));
        dnnl_primitive_desc_destroy(pd);
        j->mx = job_memory(j, eng, &md, DNNL_MEMORY_ALLOCATE);
        j->mout = job_memory(j, eng, &md, DNNL_MEMORY_ALLOCATE);
        job_arg(j, DNNL_ARG_SRC, j->mx);
        job_arg(j, DNNL_ARG_DST, j->mout);
    } else {
        const char *why = recipe_for(act, backward, &r);
        if (why) {
            fprintf(stderr, "peer_onednn: %s: %s\n", op, why);
            return 0;
        }
        /* PReLU as rows of 16 where n allows (see act_primitive); the others 1-D. */
        int rows = r.prelu && n % 16 == 0;
        dnnl_dims_t dims = {rows ? n / 16 : n, 16};
        CHECK(dnnl_memory_desc_init_by_tag(&md, rows ? 2 : 1, dims, dnnl_f32,
                                           rows ? dnnl_ab : dnnl_a));
        j->mx = job_memory(j, eng, &md, DNNL_MEMORY_ALLOCATE);
        j->mdy = backward ? job_memory(j, eng, &md, DNNL_MEMORY_ALLOCATE) : NULL;
        j->mout = job_memory(j, eng, &md, DNNL_MEMORY_ALLOCATE);
        act_primitive(j, eng, &r, backward, &md, j->mx, j->mdy, j->mout);
    }
    /* x, for a backward dy (a different pattern, so that dy is not a function of x), and the
     * output poisoned with NaN, so that an element left unwritten fails the check. */
    float *x = data_of(j->mx), *dy = j->mdy ? data_of(j->mdy) : NULL, *out = data_of(j->mout);
    for (long e = 0; e < *m; ++e) {
        x[e] = pattern(e, 0, 1.0f);
        if (dy)
            dy[e] = pattern(e, 7, 0.1f);
        out[e] = NAN;
    }
    return 1;
}

static void teardown(job_t *j) {
    for (int i = 0; i < j->nmems; ++i)
        dnnl_memory_destroy(j->mems[i]);
    if (j->prim)
        dnnl_primitive_destroy(j->prim);
    float *bufs[] = {j->x, j->W, j->b, j->z, j->y, j->dy, j->dz, j->db, j->dW, j->dx};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; ++i)
        free(bufs[i]);
}

/* The job's output, checked once before it is timed. */
static int verify(const char *op, job_t *j, const clact_activation *act, long m, long rows) {
    run_job(j);
    if (j->dense)
        return verify_dense(op, j, act);
    const float *x = data_of(j->mx), *out = data_of(j->mout);
    if (!act)
        return verify_softmax(op, x, out, m, rows);
    return verify_elementwise(op, act, j->backward, x, j->mdy ? data_of(j->mdy) : NULL, out, m);
}

/* One op at one size: set up, verify, time, print its row. */
static void run_op(const char *op, long n, int first_size, dnnl_engine_t eng, dnnl_stream_t stream,
                   double target) {
    const char *colon = strchr(op, ':');
    size_t len = colon ? (size_t)(colon - op) : strlen(op);
    int backward = len > 9 && !strncmp(op + len - 9, "_backward", 9);
    char base[256], spec[256];
    snprintf(base, sizeof base, "%.*s", (int)(backward ? len - 9 : len), op);
    snprintf(spec, sizeof spec, "%s%s", base, colon ? colon : "");
    clact_activation act;
    int has_act = 0;
    long B, I, O, m = 0;
    job_t j;
    double med, min;
    if (!strncmp(base, "dense_", 6)) {
        /* A dense op's shape is in its name: it runs once, with the first size. */
        if (!first_size)
            return;
        if (colon || !parse_dense(base, &has_act, &act, &B, &I, &O)) {
            fprintf(stderr, "peer_onednn: bad dense op '%s' (dense_<act>_<B>x<I>x<O>)\n", op);
            return;
        }
        if (!setup_dense(&j, eng, stream, op, has_act ? &act : NULL, B, I, O, backward))
            return;
        if (verify(op, &j, has_act ? &act : NULL, 0, 0)) {
            measure(&j, target, &med, &min);
            double flops = (backward ? 4.0 : 2.0) * (double)B * (double)I * (double)O;
            printf("onednn,%s,%ld,out,%.6f,%.6f,,,%.3f\n", op, B * O, med, min, flops / med * 1e-6);
        }
        teardown(&j);
        return;
    }
    int softmax = !backward && !colon && !strncmp(base, "softmax_", 8);
    if (!softmax) {
        const char *why = parse_act(spec, &act);
        if (why) {
            fprintf(stderr, "peer_onednn: '%s': %s\n", op, why);
            return;
        }
    }
    if (n > 0 && setup_elementwise(&j, eng, stream, op, softmax ? NULL : &act, backward, n, &m)) {
        if (verify(op, &j, softmax ? NULL : &act, m, softmax ? atol(base + 8) : 0)) {
            measure(&j, target, &med, &min);
            double bytes = (backward ? 12.0 : 8.0) * (double)m;
            printf("onednn,%s,%ld,out,%.6f,%.6f,%.3f,%.4f,\n", op, m, med, min, bytes / med * 1e-6,
                   (double)m / med * 1e-6);
        }
        teardown(&j);
    }
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: peer_onednn OPS SIZES [quick]\n");
        return 2;
    }
    for (const char *sz = argv[2]; *sz;) { /* every size a whole number, before any output */
        char *end;
        long n = strtol(sz, &end, 10);
        if (end == sz || (*end && *end != ',') || n < 1) {
            fprintf(stderr, "peer_onednn: bad size list '%s' (whole numbers of elements)\n", argv[2]);
            return 2;
        }
        sz = *end ? end + 1 : end;
    }
    double target = argc > 3 ? 0.15 : 0.5;
    dnnl_engine_t eng;
    dnnl_stream_t stream;
    CHECK(dnnl_engine_create(&eng, dnnl_cpu, 0));
    CHECK(dnnl_stream_create(&stream, eng, dnnl_stream_default_flags));
    printf("peer,op,elements,form,median_ms,min_ms,GB_s,Gelem_s,GFLOP_s\n");
    char sizes[1024];
    snprintf(sizes, sizeof sizes, "%s", argv[2]);
    int first_size = 1;
    for (char *sz = strtok(sizes, ","); sz; sz = strtok(NULL, ","), first_size = 0) {
        long n = strtol(sz, NULL, 10); /* checked whole above */
        char ops[4096];
        snprintf(ops, sizeof ops, "%s", argv[1]);
        char *save = NULL;
        for (char *op = strtok_r(ops, ",", &save); op; op = strtok_r(NULL, ",", &save)) {
            run_op(op, n, first_size, eng, stream, target);
            fflush(stdout);
        }
    }
    dnnl_stream_destroy(stream);
    dnnl_engine_destroy(eng);
    return 0;
}
