/* SPDX-License-Identifier: MIT */
/* The in-memory program cache: each (program, dtype) is built once per context, on first use,
 * and all its kernels are created at that moment. Sources come from the copies embedded at
 * build time, or from CLACT_KERNEL_DIR when set (kernel development). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "device.h"
#include "disk_cache.h"
#include "internal.h"
#include "kernels.h"
#include "tuning.h"

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

/* The files of each program, concatenated in this order. */
enum { MAX_FILES = 10 }; /* per program, with the NULL that ends the list */
static const char *const program_files[CLACT__PROGRAM_COUNT][MAX_FILES] = {
    [CLACT__PROGRAM_ACTIVATION] = {"prelude.cl", "activation.cl", "activation_backward.cl",
                                   "rrelu.cl", "dense.cl", "stats.cl", "glu.cl", "prelu.cl",
                                   NULL},
    [CLACT__PROGRAM_SOFTMAX] = {"prelude.cl", "reduce.cl", "softmax.cl", NULL},
    [CLACT__PROGRAM_LOSS] = {"prelude.cl", "reduce.cl", "loss.cl", NULL},
    [CLACT__PROGRAM_OPTIM] = {"prelude.cl", "optim.cl", NULL},
};

/* The file that names a program in messages and cache keys: the one with its family's kernels
 * ("softmax.cl"), the first after the shared prelude and reduction. */
static const char *family_file(clact__program_id id) {
    const char *const *f = program_files[id];
    while (f[1] && (!strcmp(*f, "prelude.cl") || !strcmp(*f, "reduce.cl")))
        ++f;
    return *f;
}

/* -DCLACT_F32 and so on: the header's dtype list names the define. */
static const char *const dtype_define[CLACT_DTYPE_COUNT] = {
#define CLACT__DTYPE_DEFINE(name, value, text, size) [CLACT_##name] = "-DCLACT_" #name,
    CLACT_DTYPE_MAP(CLACT__DTYPE_DEFINE)
#undef CLACT__DTYPE_DEFINE
};

static clact_status read_file(clact_context *ctx, const char *dir, const char *name, char **text) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f)
        return clact__fail(ctx, CLACT_IO_ERROR, "cannot open kernel source %s (CLACT_KERNEL_DIR)",
                           path);
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 65536;
            char *grown = realloc(buf, cap);
            if (!grown) {
                free(buf);
                fclose(f);
                return clact__fail(ctx, CLACT_OUT_OF_MEMORY, "out of host memory reading %s", path);
            }
            buf = grown;
        }
        size_t got = fread(buf + len, 1, 4096, f);
        len += got;
        if (got < 4096)
            break;
    }
    int failed = ferror(f);
    fclose(f);
    if (failed) {
        free(buf);
        return clact__fail(ctx, CLACT_IO_ERROR, "error reading kernel source %s", path);
    }
    buf[len] = '\0';
    *text = buf;
    return CLACT_OK;
}

static const char *embedded(const char *name) {
    for (size_t i = 0; i < clact__kernel_file_count; ++i)
        if (!strcmp(clact__kernel_files[i].name, name))
            return clact__kernel_files[i].text;
    return NULL;
}

static clact_status build_log(clact_context *ctx, cl_program program, const char *what,
                              const char *options, cl_int err) {
    size_t size = 0;
    clGetProgramBuildInfo(program, ctx->device, CL_PROGRAM_BUILD_LOG, 0, NULL, &size);
    char *log = malloc(size + 1);
    if (log) {
        log[0] = '\0';
        if (size)
            clGetProgramBuildInfo(program, ctx->device, CL_PROGRAM_BUILD_LOG, size, log, NULL);
        log[size] = '\0';
    }
    clact__fail(ctx, CLACT_BUILD_FAILED,
                "clBuildProgram failed for %s with options '%s': %s (%d). Build log:\n%s", what,
                options, clact__cl_error_name(err), (int)err,
                log ? log : "(no memory for the log)");
    free(log);
    return CLACT_BUILD_FAILED;
}

static clact_status create_kernels(clact_context *ctx, clact__program *p) {
    cl_uint n = 0;
    cl_int err = clCreateKernelsInProgram(p->program, 0, NULL, &n);
    if (err != CL_SUCCESS)
        return clact__fail_cl(ctx, err, "clCreateKernelsInProgram");
    p->kernels = calloc(n ? n : 1, sizeof *p->kernels);
    p->kernel_names = calloc(n ? n : 1, sizeof *p->kernel_names);
    p->kernel_wg = calloc(n ? n : 1, sizeof *p->kernel_wg);
    if (!p->kernels || !p->kernel_names || !p->kernel_wg)
        return clact__fail(ctx, CLACT_OUT_OF_MEMORY, "out of host memory creating kernels");
    err = clCreateKernelsInProgram(p->program, n, p->kernels, NULL);
    if (err != CL_SUCCESS) {
        memset(p->kernels, 0, n * sizeof *p->kernels);
        return clact__fail_cl(ctx, err, "clCreateKernelsInProgram");
    }
    p->kernel_count = n;
    for (cl_uint i = 0; i < n; ++i) {
        size_t size = 0;
        err = clGetKernelInfo(p->kernels[i], CL_KERNEL_FUNCTION_NAME, 0, NULL, &size);
        if (err != CL_SUCCESS)
            return clact__fail_cl(ctx, err, "clGetKernelInfo(CL_KERNEL_FUNCTION_NAME)");
        p->kernel_names[i] = malloc(size + 1);
        if (!p->kernel_names[i])
            return clact__fail(ctx, CLACT_OUT_OF_MEMORY, "out of host memory creating kernels");
        err =
            clGetKernelInfo(p->kernels[i], CL_KERNEL_FUNCTION_NAME, size, p->kernel_names[i], NULL);
        if (err != CL_SUCCESS)
            return clact__fail_cl(ctx, err, "clGetKernelInfo(CL_KERNEL_FUNCTION_NAME)");
        p->kernel_names[i][size] = '\0';
        err = clGetKernelWorkGroupInfo(p->kernels[i], ctx->device, CL_KERNEL_WORK_GROUP_SIZE,
                                       sizeof p->kernel_wg[i], &p->kernel_wg[i], NULL);
        if (err != CL_SUCCESS)
            return clact__fail_cl(ctx, err, "clGetKernelWorkGroupInfo(CL_KERNEL_WORK_GROUP_SIZE)");
        if (p->kernel_wg[i] == 0)
            p->kernel_wg[i] = 1;
    }
    return CLACT_OK;
}

static void program_release(clact__program *p) {
    for (cl_uint i = 0; p->kernels && i < p->kernel_count; ++i)
        if (p->kernels[i])
            clReleaseKernel(p->kernels[i]);
    for (cl_uint i = 0; p->kernel_names && i < p->kernel_count; ++i)
        free(p->kernel_names[i]);
    free(p->kernels);
    free(p->kernel_names);
    free(p->kernel_wg);
    if (p->program)
        clReleaseProgram(p->program);
    memset(p, 0, sizeof *p);
}

/* A program's sources: the embedded copies, or the files in CLACT_KERNEL_DIR (owned[i] then holds
 * what to free). */
typedef struct sources {
    const char *text[MAX_FILES];
    char *owned[MAX_FILES];
    cl_uint count;
} sources;

static clact_status sources_get(clact_context *ctx, clact__program_id id, sources *src) {
    memset(src, 0, sizeof *src);
    const char *dir = ctx->env.kernel_dir;
    for (const char *const *f = program_files[id]; *f; ++f, ++src->count) {
        if (dir) {
            CLACT__FORWARD(read_file(ctx, dir, *f, &src->owned[src->count]));
            src->text[src->count] = src->owned[src->count];
        } else if (!(src->text[src->count] = embedded(*f))) {
            return clact__fail(ctx, CLACT_BUILD_FAILED, "kernel source %s is not embedded", *f);
        }
    }
    return CLACT_OK;
}

static void sources_free(sources *src) {
    for (cl_uint i = 0; i < src->count; ++i)
        free(src->owned[i]);
}

/* -w: some drivers (PoCL) print compiler warnings to stderr, and the library never prints. Only
 * the dtype and the vector width are compile-time; every per-call value (sizes, offsets,
 * parameters) is a kernel argument, so nothing is ever rebuilt per call. The elementwise
 * programs take the elementwise width, the row reductions theirs. The optimizer program asks for
 * correctly rounded float division and sqrt where the device offers them: Adam's update is a
 * quotient, which OpenCL otherwise allows 2.5 ulp (and its sqrt 3), and with them its f32 steps
 * are PyTorch's to the bit. */
static void build_options(const clact_context *ctx, clact__program_id id, clact_dtype dtype,
                          char *options, size_t len) {
    const char *extra = ctx->env.build_options;
    int elementwise = id == CLACT__PROGRAM_ACTIVATION || id == CLACT__PROGRAM_OPTIM;
    int cr = id == CLACT__PROGRAM_OPTIM && ctx->cr_divide_sqrt;
    /* Whole-vector loads and stores where aligned (kernels/prelude.cl): on every device but
     * CPUs, and on CPUs in the elementwise programs of f32 and f64. On an H200 relu in f64 went
     * from 0.62 to 0.97 of copy with them. On PoCL 3.1 (AVX-512), which splits a float16 vstore16
     * into three stores: f32 relu and hardtanh 6-7% faster and the backward kernels 2-3%
     * (interleaved runs on one core, 2026-11-28), but in the row programs log_softmax over rows
     * of 1000 1-4% slower and bf16 softmax rows of 4096 from 0.58 to 0.37 of copy, and a ushort16
     * vector store is not the single store the 16-bit path's uint8 reinterpretation gives. */
    int vector_access = !(ctx->device_type & CL_DEVICE_TYPE_CPU) ||
                        (elementwise && (dtype == CLACT_F32 || dtype == CLACT_F64));
    snprintf(options, len, "-cl-std=CL1.2 -w %s -DCLACT_VW=%u%s%s%s%s", dtype_define[dtype],
             elementwise ? ctx->vector_width : ctx->reduce_width,
             vector_access ? " -DCLACT_VECTOR_ACCESS" : "",
             cr ? " -cl-fp32-correctly-rounded-divide-sqrt" : "", extra ? " " : "",
             extra ? extra : "");
}

/* The disk cache key: everything the binary depends on; "" (no disk cache) when the cache is off
 * or the device will not name itself whole. */
static void cache_key(const clact_context *ctx, clact__program_id id, const sources *src,
                      const char *options, char *key, size_t len) {
    key[0] = '\0';
    if (!ctx->env.cache_dir)
        return;
    uint64_t h = 14695981039346656037ull;
    for (cl_uint i = 0; i < src->count; ++i)
        h = clact__fnv1a(h, src->text[i], strlen(src->text[i]) + 1);
    int n = snprintf(key, len, "clact %d.%d.%d\nprogram %s\noptions %s\nsources %016llx\n%s",
                     CLACT_VERSION_MAJOR, CLACT_VERSION_MINOR, CLACT_VERSION_PATCH, family_file(id),
                     options, (unsigned long long)h, ctx->identity);
    if (n <= 0 || (size_t)n >= len)
        key[0] = '\0';
}

/* The program from the disk cache, with its kernels; 0 when there is no usable entry. */
static int load_from_disk(clact_context *ctx, const char *key, const char *options,
                          clact__program *p) {
    clact__disk_result r = clact__disk_cache_load(ctx, key, options, &p->program);
    if (r == CLACT__DISK_HIT) {
        if (create_kernels(ctx, p) == CLACT_OK) {
            ++ctx->cache.disk_hits;
            return 1;
        }
        program_release(p); /* a binary the driver took but cannot run: rebuild */
        r = CLACT__DISK_REJECTED;
        clact__clear_error(ctx);
    }
    if (r == CLACT__DISK_REJECTED)
        ++ctx->cache.disk_rejects;
    return 0;
}

/* Compile from source, make the kernels, and store the binary under key (when there is one). */
static clact_status build_from_source(clact_context *ctx, clact__program_id id, sources *src,
                                      const char *options, const char *key, clact__program *p) {
    cl_int err;
    p->program = clCreateProgramWithSource(ctx->context, src->count, src->text, NULL, &err);
    if (!p->program)
        return clact__fail_cl(ctx, err, "clCreateProgramWithSource");
    err = clBuildProgram(p->program, 1, &ctx->device, options, NULL, NULL);
    if (err != CL_SUCCESS)
        return build_log(ctx, p->program, family_file(id), options, err);
    CLACT__FORWARD(create_kernels(ctx, p));
    ++ctx->cache.builds;
    if (key[0] && clact__disk_cache_store(ctx, key, p->program))
        ++ctx->cache.disk_stores;
    return CLACT_OK;
}

static clact_status program_build(clact_context *ctx, clact__program_id id, clact_dtype dtype,
                                  clact__program *p) {
    sources src;
    char options[1024], key[3072];
    clact_status status = sources_get(ctx, id, &src);
    build_options(ctx, id, dtype, options, sizeof options);
    if (status == CLACT_OK)
        cache_key(ctx, id, &src, options, key, sizeof key);
    double t0 = now_ms();
    int from_disk = status == CLACT_OK && key[0] && load_from_disk(ctx, key, options, p);
    if (status == CLACT_OK && !from_disk)
        status = build_from_source(ctx, id, &src, options, key, p);
    /* f16 loads by vload_half, core OpenCL 1.2, but some toolchains (clang with
     * -fdeclare-opencl-builtins) declare it only with cl_khr_fp16: on a failed f16 build, once
     * more with the integer conversions (kernels/prelude.cl), under a key of its own. */
    if (status == CLACT_BUILD_FAILED && dtype == CLACT_F16 &&
        !strstr(options, "-DCLACT_HALF_SOFTWARE") &&
        strlen(options) + sizeof " -DCLACT_HALF_SOFTWARE" <= sizeof options) {
        program_release(p);
        strcat(options, " -DCLACT_HALF_SOFTWARE");
        cache_key(ctx, id, &src, options, key, sizeof key);
        from_disk = key[0] && load_from_disk(ctx, key, options, p);
        status = from_disk ? CLACT_OK : build_from_source(ctx, id, &src, options, key, p);
    }
    sources_free(&src);
    if (status != CLACT_OK) {
        program_release(p);
        return status;
    }
    ctx->last_origin = from_disk ? CLACT__ORIGIN_DISK : CLACT__ORIGIN_COMPILED;
    ctx->last_origin_ms = now_ms() - t0;
    ctx->cache.build_ms += ctx->last_origin_ms;
    return CLACT_OK;
}

clact_status clact__kernel(clact_context *ctx, clact__program_id id, clact_dtype dtype,
                           const char *name, clact__kern *k) {
    clact__program *p = &ctx->programs[id][dtype];
    ctx->last_origin = CLACT__ORIGIN_CONTEXT;
    if (!p->program)
        CLACT__FORWARD(program_build(ctx, id, dtype, p));
    for (cl_uint i = 0; i < p->kernel_count; ++i) {
        if (!strcmp(p->kernel_names[i], name)) {
            *k =
                (clact__kern){p->kernels[i], p->kernel_names[i], p->kernel_wg[i], 0, 0, CL_SUCCESS};
            return CLACT_OK;
        }
    }
    return clact__fail(ctx, CLACT_BUILD_FAILED, "kernel %s is missing from program %s", name,
                       family_file(id));
}

void clact__programs_release(clact_context *ctx) {
    for (int i = 0; i < CLACT__PROGRAM_COUNT; ++i)
        for (int d = 0; d < CLACT_DTYPE_COUNT; ++d)
            program_release(&ctx->programs[i][d]);
}

clact_status clact_context_cache_stats(const clact_context *ctx, clact_cache_stats *stats) {
    if (!ctx || !stats)
        return clact__fail(NULL, CLACT_INVALID_ARGUMENT, "%s is NULL", ctx ? "stats" : "ctx");
    *stats = ctx->cache;
    stats->gemm_tuned = clact__tuning_tuned(ctx->device);
    return CLACT_OK;
}
