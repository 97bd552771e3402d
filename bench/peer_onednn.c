/* SPDX-License-Identifier: MIT */
/* oneDNN (Debian's libdnnl-dev, 2.x C API) as a peer for `clact bench`: the eltwise and softmax
 * primitives on the same ops and sizes, timed like clact's (warm-up, repetitions calibrated to a
 * target time, median and min of wall time around execute + wait). Threads: OMP_NUM_THREADS,
 * else every core. Prints CSV: peer,op,elements,form,median_ms,min_ms,GB_s,Gelem_s.
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
    printf("peer,op,elements,form,median_ms,min_ms,GB_s,Gelem_s\n");
    char sizes[1024];
    snprintf(sizes, sizeof sizes, "%s", argv[2]);
    for (char *sz = strtok(sizes, ","); sz; sz = strtok(NULL, ",")) {
        long n = atol(sz);
        char ops[1024];
        snprintf(ops, sizeof ops, "%s", argv[1]);
        char *save = NULL;
        for (char *op = strtok_r(ops, ",", &save); op; op = strtok_r(NULL, ",", &save)) {
            dnnl_memory_desc_t md;
            dnnl_primitive_desc_t pd = NULL;
            long m = n;
            if (!strncmp(op, "softmax_", 8)) {
                long r = atol(op + 8);
                m = n / r * r;
                dnnl_dims_t dims = {m / r, r};
                CHECK(dnnl_memory_desc_init_by_tag(&md, 2, dims, dnnl_f32, dnnl_ab));
                dnnl_softmax_v2_desc_t sd;
                CHECK(dnnl_softmax_v2_forward_desc_init(&sd, dnnl_forward_inference,
                                                        dnnl_softmax_accurate, &md, &md, 1));
                CHECK(dnnl_primitive_desc_create(&pd, &sd, NULL, eng, NULL));
            } else {
                int k = -1;
                for (size_t i = 0; i < sizeof eltwise / sizeof eltwise[0]; ++i)
                    if (!strcmp(op, eltwise[i].name))
                        k = (int)i;
                if (k < 0) {
                    fprintf(stderr, "peer_onednn: no oneDNN primitive for '%s'\n", op);
                    continue;
                }
                dnnl_dims_t dims = {n};
                CHECK(dnnl_memory_desc_init_by_tag(&md, 1, dims, dnnl_f32, dnnl_a));
                dnnl_eltwise_desc_t ed;
                CHECK(dnnl_eltwise_forward_desc_init(&ed, dnnl_forward_inference, eltwise[k].alg,
                                                     &md, eltwise[k].alpha, 0.0f));
                CHECK(dnnl_primitive_desc_create(&pd, &ed, NULL, eng, NULL));
            }
            dnnl_primitive_t prim;
            CHECK(dnnl_primitive_create(&prim, pd));
            dnnl_memory_t src, dst;
            CHECK(dnnl_memory_create(&src, &md, eng, DNNL_MEMORY_ALLOCATE));
            CHECK(dnnl_memory_create(&dst, &md, eng, DNNL_MEMORY_ALLOCATE));
            float *x;
            CHECK(dnnl_memory_get_data_handle(src, (void **)&x));
            for (long i = 0; i < m; ++i)
                x[i] = (float)((double)((unsigned long)i * 2654435761u % 20000) / 1000.0 - 10.0);
            dnnl_exec_arg_t args[2] = {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}};
            CHECK(dnnl_primitive_execute(prim, stream, 2, args));
            CHECK(dnnl_stream_wait(stream));
            double t0 = now_s();
            CHECK(dnnl_primitive_execute(prim, stream, 2, args));
            CHECK(dnnl_stream_wait(stream));
            double one = now_s() - t0;
            int reps = one > 0 ? (int)(target / one) : 1000;
            reps = reps < 3 ? 3 : reps > 1000 ? 1000 : reps;
            double *ms = malloc((size_t)reps * sizeof *ms);
            for (int i = 0; i < reps; ++i) {
                t0 = now_s();
                CHECK(dnnl_primitive_execute(prim, stream, 2, args));
                CHECK(dnnl_stream_wait(stream));
                ms[i] = (now_s() - t0) * 1e3;
            }
            qsort(ms, (size_t)reps, sizeof *ms, cmp);
            double med = ms[reps / 2];
            printf("onednn,%s,%ld,out,%.6f,%.6f,%.3f,%.4f\n", op, m, med, ms[0],
                   8.0 * (double)m / med * 1e-6, (double)m / med * 1e-6);
            fflush(stdout);
            free(ms);
            dnnl_memory_destroy(src);
            dnnl_memory_destroy(dst);
            dnnl_primitive_destroy(prim);
            dnnl_primitive_desc_destroy(pd);
        }
    }
    dnnl_stream_destroy(stream);
    dnnl_engine_destroy(eng);
    return 0;
}
