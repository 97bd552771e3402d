/* SPDX-License-Identifier: MIT */
/* oneDNN (Debian's libdnnl-dev, 2.x C API) as a peer for `clact bench`: the eltwise and softmax
 * primitives on the same ops and sizes, the eltwise backward primitive for `<op>_backward`, and
 * dnnl_sgemm with the eltwise primitive for the dense layer, timed like clact's (warm-up,
 * repetitions calibrated to a target time, median and min of wall time around execute + wait).
 * Threads: OMP_NUM_THREADS, else every core.
 * Op names: an activation (relu, leaky_relu, elu, gelu, gelu_tanh, silu, mish, sigmoid, tanh,
 * softplus), `softmax_<row length>`, `<activation>_backward` (dx = dy * f'(x)), and
 * `dense_<act>_<B>x<I>x<O>[_backward]` with act an activation or `linear` (none). Dense ops do not
 * depend on SIZES: each runs once per invocation.
 * Prints CSV: peer,op,elements,form,median_ms,min_ms,GB_s,Gelem_s,GFLOP_s; GFLOP_s is empty for
 * elementwise ops, GB_s and Gelem_s are empty for dense ops, whose elements are B * O.
 * Usage: peer_onednn OPS SIZES [quick]   (comma-separated lists) */
#define _POSIX_C_SOURCE 200809L
#include <oneapi/dnnl/dnnl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

/* The backward ops use these same src-based algorithms, so that oneDNN computes f'(x) from x as
 * clact's backward does; the _use_dst_for_bwd variants (relu, tanh, sigmoid) would take y instead
 * and skip the exp, which is a different and cheaper computation. soft_relu ignores alpha in
 * oneDNN 2.x (beta 1, no threshold). */
static const struct {
    const char *name;
    dnnl_alg_kind_t alg;
    float alpha;
} eltwise[] = {
    {"relu", dnnl_eltwise_relu, 0.0f},        {"leaky_relu", dnnl_eltwise_relu, 0.01f},
    {"elu", dnnl_eltwise_elu, 1.0f},          {"gelu", dnnl_eltwise_gelu_erf, 0.0f},
    {"gelu_tanh", dnnl_eltwise_gelu_tanh, 0}, {"silu", dnnl_eltwise_swish, 1.0f},
    {"mish", dnnl_eltwise_mish, 0.0f},        {"sigmoid", dnnl_eltwise_logistic, 0.0f},
    {"tanh", dnnl_eltwise_tanh, 0.0f},        {"softplus", dnnl_eltwise_soft_relu, 1.0f},
};

/* The index of an activation in eltwise[], or -1. */
static int find_eltwise(const char *name, size_t len) {
    for (size_t i = 0; i < sizeof eltwise / sizeof eltwise[0]; ++i)
        if (strlen(eltwise[i].name) == len && !strncmp(name, eltwise[i].name, len))
            return (int)i;
    return -1;
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

/* An eltwise primitive over `md`, forward (inference) or backward. The backward primitive
 * descriptor needs a forward training one as its hint; it is only needed while creating. */
static dnnl_primitive_t eltwise_primitive(dnnl_engine_t eng, int k, const dnnl_memory_desc_t *md,
                                          int backward) {
    dnnl_eltwise_desc_t fd, bd;
    dnnl_primitive_desc_t fpd, bpd = NULL;
    CHECK(dnnl_eltwise_forward_desc_init(&fd,
                                         backward ? dnnl_forward_training : dnnl_forward_inference,
                                         eltwise[k].alg, md, eltwise[k].alpha, 0.0f));
    CHECK(dnnl_primitive_desc_create(&fpd, &fd, NULL, eng, NULL));
    if (backward) {
        CHECK(dnnl_eltwise_backward_desc_init(&bd, eltwise[k].alg, md, md, eltwise[k].alpha, 0.0f));
        CHECK(dnnl_primitive_desc_create(&bpd, &bd, NULL, eng, fpd));
    }
    dnnl_primitive_t prim;
    CHECK(dnnl_primitive_create(&prim, backward ? bpd : fpd));
    dnnl_primitive_desc_destroy(fpd);
    if (bpd)
        dnnl_primitive_desc_destroy(bpd);
    return prim;
}

/* One timed unit of work: either a single primitive (eltwise, eltwise backward, softmax) or a
 * dense layer's forward or backward pass. */
typedef struct {
    dnnl_stream_t stream;
    dnnl_primitive_t prim; /* the primitive, or the dense layer's activation (NULL: linear) */
    int nargs;
    dnnl_exec_arg_t args[3];
    int dense, backward;
    long B, I, O;
    float *x, *W, *b, *z, *y, *dy, *dz, *db, *dW, *dx;
} job_t;

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

/* Parses "dense_<act>_<B>x<I>x<O>" (without "_backward"): k is the activation's index in
 * eltwise[] or -1 for `linear`. Returns 0 when `op` is not a dense op or the activation is
 * unknown. */
static int parse_dense(const char *op, int *k, long *B, long *I, long *O) {
    if (strncmp(op, "dense_", 6))
        return 0;
    const char *act = op + 6, *last = strrchr(op, '_');
    int end = 0;
    if (last < act || sscanf(last + 1, "%ldx%ldx%ld%n", B, I, O, &end) != 3 || last[1 + end] ||
        *B < 1 || *I < 1 || *O < 1)
        return 0;
    size_t len = (size_t)(last - act);
    *k = len == 6 && !strncmp(act, "linear", 6) ? -1 : find_eltwise(act, len);
    return *k >= 0 || (len == 6 && !strncmp(act, "linear", 6));
}

/* Sets up a dense op's operands and activation primitive. Inputs of the scale a trained layer
 * sees: x in [-1, 1), W in [-0.05, 0.05), z and dy in [-1, 1), so that z has both signs and stays
 * where the activations are not saturated. */
static void setup_dense(job_t *j, dnnl_engine_t eng, dnnl_stream_t stream, int k, long B, long I,
                        long O, int backward) {
    *j = (job_t){.stream = stream, .dense = 1, .backward = backward, .B = B, .I = I, .O = O};
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
    if (k < 0)
        return;
    dnnl_memory_desc_t md;
    dnnl_dims_t dims = {B, O};
    CHECK(dnnl_memory_desc_init_by_tag(&md, 2, dims, dnnl_f32, dnnl_ab));
    j->prim = eltwise_primitive(eng, k, &md, backward);
    /* Forward: SRC z, DST y. Backward: SRC z, DIFF_DST dy, DIFF_SRC dz. */
    float *fwd_bufs[] = {j->z, j->y}, *bwd_bufs[] = {j->z, j->dy, j->dz};
    static const int fwd_args[] = {DNNL_ARG_SRC, DNNL_ARG_DST};
    static const int bwd_args[] = {DNNL_ARG_SRC, DNNL_ARG_DIFF_DST, DNNL_ARG_DIFF_SRC};
    j->nargs = backward ? 3 : 2;
    for (int i = 0; i < j->nargs; ++i) {
        CHECK(
            dnnl_memory_create(&j->args[i].memory, &md, eng, backward ? bwd_bufs[i] : fwd_bufs[i]));
        j->args[i].arg = backward ? bwd_args[i] : fwd_args[i];
    }
}

/* Sets up an elementwise, elementwise backward or softmax op on n elements (op is the full name,
 * with "_backward" if any); *m is the number of elements it covers (whole rows for softmax).
 * Returns 0, with a message, when oneDNN has no primitive for it. */
static int setup_elementwise(job_t *j, dnnl_engine_t eng, dnnl_stream_t stream, const char *op,
                             long n, long *m) {
    size_t len = strlen(op);
    int backward = len > 9 && !strcmp(op + len - 9, "_backward");
    if (backward)
        len -= 9;
    dnnl_memory_desc_t md;
    *j = (job_t){.stream = stream, .backward = backward};
    *m = n;
    if (!backward && !strncmp(op, "softmax_", 8)) {
        long r = atol(op + 8);
        if (r < 1 || r > n) {
            fprintf(stderr, "peer_onednn: '%s' needs at least one row of %ld\n", op, r);
            return 0;
        }
        *m = n / r * r;
        dnnl_dims_t dims = {*m / r, r};
        CHECK(dnnl_memory_desc_init_by_tag(&md, 2, dims, dnnl_f32, dnnl_ab));
        dnnl_softmax_v2_desc_t sd;
        dnnl_primitive_desc_t pd;
        CHECK(dnnl_softmax_v2_forward_desc_init(&sd, dnnl_forward_inference, dnnl_softmax_accurate,
                                                &md, &md, 1));
        CHECK(dnnl_primitive_desc_create(&pd, &sd, NULL, eng, NULL));
        CHECK(dnnl_primitive_create(&j->prim, pd));
        dnnl_primitive_desc_destroy(pd);
    } else {
        int k = find_eltwise(op, len);
        if (k < 0) {
            fprintf(stderr, "peer_onednn: no oneDNN primitive for '%s'\n", op);
            return 0;
        }
        dnnl_dims_t dims = {n};
        CHECK(dnnl_memory_desc_init_by_tag(&md, 1, dims, dnnl_f32, dnnl_a));
        j->prim = eltwise_primitive(eng, k, &md, backward);
    }
    /* Forward: SRC x, DST y. Backward: SRC x, DIFF_DST dy, DIFF_SRC dx. */
    static const int fwd_args[] = {DNNL_ARG_SRC, DNNL_ARG_DST};
    static const int bwd_args[] = {DNNL_ARG_SRC, DNNL_ARG_DIFF_DST, DNNL_ARG_DIFF_SRC};
    j->nargs = backward ? 3 : 2;
    for (int i = 0; i < j->nargs; ++i) {
        CHECK(dnnl_memory_create(&j->args[i].memory, &md, eng, DNNL_MEMORY_ALLOCATE));
        j->args[i].arg = backward ? bwd_args[i] : fwd_args[i];
    }
    /* x, and for backward dy too (a different pattern, so that dy is not a function of x). */
    for (int i = 0; i < (backward ? 2 : 1); ++i) {
        float *p;
        CHECK(dnnl_memory_get_data_handle(j->args[i].memory, (void **)&p));
        for (long e = 0; e < *m; ++e)
            p[e] = pattern(e, i ? 7 : 0, i ? 0.1f : 1.0f);
    }
    return 1;
}

static void teardown(job_t *j) {
    for (int i = 0; i < j->nargs; ++i)
        dnnl_memory_destroy(j->args[i].memory);
    if (j->prim)
        dnnl_primitive_destroy(j->prim);
    float *bufs[] = {j->x, j->W, j->b, j->z, j->y, j->dy, j->dz, j->db, j->dW, j->dx};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; ++i)
        free(bufs[i]);
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: peer_onednn OPS SIZES [quick]\n");
        return 2;
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
        long n = atol(sz);
        char ops[4096];
        snprintf(ops, sizeof ops, "%s", argv[1]);
        char *save = NULL;
        for (char *op = strtok_r(ops, ",", &save); op; op = strtok_r(NULL, ",", &save)) {
            char base[256];
            snprintf(base, sizeof base, "%s", op);
            size_t len = strlen(base);
            int backward = len > 9 && !strcmp(base + len - 9, "_backward");
            if (backward)
                base[len - 9] = '\0';
            int k;
            long B, I, O, m;
            job_t j;
            double med, min;
            if (!strncmp(base, "dense_", 6)) {
                /* A dense op's shape is in its name: it runs once, with the first size. */
                if (!first_size) {
                    continue;
                } else if (!parse_dense(base, &k, &B, &I, &O)) {
                    fprintf(stderr, "peer_onednn: bad dense op '%s' (dense_<act>_<B>x<I>x<O>)\n",
                            op);
                } else {
                    setup_dense(&j, eng, stream, k, B, I, O, backward);
                    measure(&j, target, &med, &min);
                    double flops = (backward ? 4.0 : 2.0) * (double)B * (double)I * (double)O;
                    printf("onednn,%s,%ld,out,%.6f,%.6f,,,%.3f\n", op, B * O, med, min,
                           flops / med * 1e-6);
                    teardown(&j);
                }
            } else if (n > 0 && setup_elementwise(&j, eng, stream, op, n, &m)) {
                measure(&j, target, &med, &min);
                double bytes = (backward ? 12.0 : 8.0) * (double)m;
                printf("onednn,%s,%ld,out,%.6f,%.6f,%.3f,%.4f,\n", op, m, med, min,
                       bytes / med * 1e-6, (double)m / med * 1e-6);
                teardown(&j);
            }
            fflush(stdout);
        }
    }
    dnnl_stream_destroy(stream);
    dnnl_engine_destroy(eng);
    return 0;
}
