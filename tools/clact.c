/* SPDX-License-Identifier: MIT */
/* The clact command: a thin layer over the library. It parses, calls, and prints; errors are one
 * line on stderr starting "clact: ". Exit status: 0 ok, 1 runtime failure, 2 usage or input. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "clact/clact.h"
#include "cli.h"
#include "convert.h"
#include "glu_prelu.h"
#include "npy.h"
#include "op_args.h"

/* Lines of comma-separated items, each line started by indent and kept under USAGE_WIDTH. */
enum { USAGE_WIDTH = 96 };

typedef struct usage_list {
    FILE *out;
    int col, count;
} usage_list;

static void usage_item(usage_list *l, const char *item) {
    int len = (int)strlen(item);
    if (l->count && l->col + 2 + len > USAGE_WIDTH) {
        fputs(",\n    ", l->out);
        l->col = 4;
    } else if (l->count) {
        fputs(", ", l->out);
        l->col += 2;
    }
    fputs(item, l->out);
    l->col += len;
    ++l->count;
}

/* PyTorch writes float defaults as 1.0, not 1, and with the digits that read back as the same
 * double (rrelu's upper as 0.3333333333333333): the usage text does the same. A NaN default is
 * a parameter without one (threshold's), shown as "required". */
static void format_default(char *buf, size_t len, double v) {
    if (isnan(v)) {
        snprintf(buf, len, "required");
        return;
    }
    for (int digits = 6; digits <= 17; ++digits) {
        snprintf(buf, len, "%.*g", digits, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    if (!strpbrk(buf, ".einf"))
        snprintf(buf + strlen(buf), len - strlen(buf), ".0");
}

/* "leaky_relu (negative_slope=0.01)": the op's parameters and their defaults, from the
 * library's list. approximate= is this command's alias for the pair gelu and gelu_tanh. */
static void activation_item(char *buf, size_t len, clact_op op) {
    clact_activation def = clact_activation_default(op);
    size_t used = (size_t)snprintf(buf, len, "%s", clact_op_name(op));
    int n = clact_op_param_count(op);
    for (int k = 0; k < n && used < len; ++k) {
        char value[32];
        const char *name = clact_op_param_name(op, k);
        if (!strcmp(name, "dim")) /* an integer, as in PyTorch */
            snprintf(value, sizeof value, "%d", (int)def.param[k]);
        else
            format_default(value, sizeof value, def.param[k]);
        used += (size_t)snprintf(buf + used, len - used, "%s%s=%s%s", k ? ", " : " (", name,
                                 value, k + 1 == n ? ")" : "");
    }
    if (op == CLACT_GELU && used < len)
        snprintf(buf + used, len - used, " (approximate=none|tanh)");
    if (op == CLACT_RRELU && used < len)
        snprintf(buf + used, len - used, " (training=0|1, seed=S: apply, backward)");
}

/* Every op, parameter, default and dtype comes from the library's lists, so that an op added
 * there appears here without an edit. */
static void usage(FILE *out) {
    char dtypes[128];
    clact_cli_dtype_names(dtypes, sizeof dtypes, "|", "|");
    fprintf(out,
            "usage: clact devices [--json]\n"
            "       clact apply OP [NAME=VALUE ...] [--dtype %s] [--device SPEC]\n"
            "                   [--summary] IN.npy OUT.npy\n"
            "       clact backward OP [NAME=VALUE ...] [--dtype %s] [--device SPEC]\n"
            "                   X.npy DY.npy DX.npy    (the gradient, as torch.autograd)\n"
            "       clact apply|backward prelu weight=W.npy [--weight-grad DW.npy] ...\n"
            "                   (a weight per channel, nn.PReLU(C)'s: W.npy 0-d or 1-d, 1 or\n"
            "                   shape[1] values of X's dtype; backward --weight-grad also writes\n"
            "                   the weights' gradient, of W's shape, or (1,) for weight=V)\n"
            "       clact bench [--ops LIST] [--sizes LIST] [--dtype LIST] [--device SPEC]\n"
            "                   [--format table|csv|json] [--quick]\n"
            "       clact plot OPS [NAME=VALUE ...] [--range A,B] [--grad] [--ylim A,B]\n"
            "                   [--points N] [--dtype %s] [--device SPEC] OUT.svg\n"
            "                   (the curves of elementwise ops, as SVG; clact plot --help)\n"
            "       clact train [--act LIST] [--hidden H] [--epochs E] [--batch B]\n"
            "                   [--optimizer adam|adamw|sgd] [--lr LR] [--seed S] [--data DIR]\n"
            "                   [--limit N] [--out DIR] [--save DIR] [--device SPEC] ...\n"
            "                   (an MLP on Fashion-MNIST per activation; clact train --help)\n"
            "       clact tune [--device SPEC] [--seconds S] [--keep]\n"
            "                   (tune CLBlast's GEMM for the device for about S seconds, default\n"
            "                   60; a faster result, or with --keep any result, is saved in the\n"
            "                   cache folder and applied to every context made on the device)\n"
            "       clact --version\n"
            "\n"
            "OP (NAME=VALUE parameters, with PyTorch's defaults; D: the dimension to normalise\n"
            "over, or for glu to halve: OUT.npy and DY.npy are half as long there):\n    ",
            dtypes, dtypes, dtypes);
    usage_list list = {out, 4, 0};
    char item[256];
    for (int op = 0; op < CLACT_OP_COUNT; ++op) {
        activation_item(item, sizeof item, (clact_op)op);
        usage_item(&list, item);
    }
    for (int k = 0; k < CLACT_SOFTMAX_KIND_COUNT; ++k) {
        snprintf(item, sizeof item, "%s (dim=D)", clact_softmax_kind_name((clact_softmax_kind)k));
        usage_item(&list, item);
    }
    fputc('\n', out);
    clact_bench_help(out);
    fputs(
        "SPEC: gpu, cpu, accelerator, P:D, or part of a device name (default: $CLACT_DEVICE, then\n"
        "      the first GPU, accelerator, CPU)\n"
        "Exit status: 0 ok, 1 runtime failure, 2 usage or input error.\n",
        out);
}

static void json_string(const char *s) {
    putchar('"');
    for (; *s; ++s) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

/* "tuned" when a context on the device runs the f32 GEMM parameters `clact tune` saved for it,
 * "own" when CLBlast's, "?" when no context could be made there. */
/* "tuned" or "own" for d's f32 GEMM parameters ("own!" where saved tuning results were rejected:
 * damaged, or refused by CLBlast); NULL if no context could be made on d (the
 * reason in clact_context_last_error(NULL)). */
static const char *gemm_parameters(const clact_device_info *d) {
    char spec[32];
    snprintf(spec, sizeof spec, "%u:%u", d->platform_index, d->device_index);
    clact_context *ctx = NULL;
    clact_cache_stats st;
    if (clact_context_create(&ctx, spec) != CLACT_OK)
        return NULL;
    if (clact_context_cache_stats(ctx, &st) != CLACT_OK) {
        clact_context_destroy(ctx);
        return "?";
    }
    clact_context_destroy(ctx);
    return (st.gemm_tuned >> CLACT_F32) & 1 ? "tuned" : st.tuning_rejects ? "own!" : "own";
}

static void print_devices_json(const clact_device_info *list, const char *const *gemm, size_t count,
                               size_t def) {
    printf("{\"devices\": [");
    for (size_t i = 0; i < count; ++i) {
        const clact_device_info *d = &list[i];
        printf("%s\n  {\"spec\": \"%u:%u\", \"platform\": ", i ? "," : "", d->platform_index,
               d->device_index);
        json_string(d->platform_name);
        printf(", \"platform_version\": ");
        json_string(d->platform_version);
        printf(", \"name\": ");
        json_string(d->name);
        printf(", \"vendor\": ");
        json_string(d->vendor);
        printf(", \"driver_version\": ");
        json_string(d->driver_version);
        printf(", \"type\": \"%s\", \"compute_units\": %u, \"global_mem_bytes\": %llu, "
               "\"max_alloc_bytes\": %llu, \"fp16\": %s, \"fp64\": %s, \"default\": %s, "
               "\"clblast_gemm\": \"%s\"}",
               d->type, d->compute_units, d->global_mem_bytes, d->max_alloc_bytes,
               d->has_fp16 ? "true" : "false", d->has_fp64 ? "true" : "false",
               i == def ? "true" : "false", gemm[i]);
    }
    printf("%s]}\n", count ? "\n" : "");
}

static void print_devices_table(const clact_device_info *list, const char *const *gemm, size_t count,
                                size_t def) {
    printf("  %-5s %-11s %-40s %5s %10s %5s %5s %5s  %s\n", "spec", "type", "name", "units",
           "memory", "fp16", "fp64", "gemm", "platform / driver");
    for (size_t i = 0; i < count; ++i) {
        const clact_device_info *d = &list[i];
        char spec[32];
        snprintf(spec, sizeof spec, "%u:%u", d->platform_index, d->device_index);
        printf("%c %-5s %-11s %-40.40s %5u %6.1f GiB %5s %5s %5s  %s / %s\n", i == def ? '*' : ' ',
               spec, d->type, d->name, d->compute_units,
               (double)d->global_mem_bytes / (1024.0 * 1024.0 * 1024.0), d->has_fp16 ? "yes" : "no",
               d->has_fp64 ? "yes" : "no", gemm[i], d->platform_name, d->driver_version);
    }
    printf("(* = default device; gemm: CLBlast's f32 GEMM parameters, tuned by clact tune or "
           "CLBlast's own; own! = clact tune's results were rejected, CLACT_VERBOSE=1 says why)\n");
}

static int cmd_devices(int argc, char **argv) {
    int json = 0;
    for (int i = 0; i < argc; ++i) {
        if (!strcmp(argv[i], "--json"))
            json = 1;
        else
            return clact_cli_fail(EXIT_USAGE, "devices: unknown argument '%s'", argv[i]);
    }
    size_t count = 0;
    clact_status st = clact_device_list(NULL, 0, &count);
    if (st != CLACT_OK)
        return clact_cli_fail(EXIT_RUNTIME, "%s", clact_context_last_error(NULL));
    clact_device_info *list = calloc(count ? count : 1, sizeof *list);
    if (!list)
        return clact_cli_fail(EXIT_RUNTIME, "out of memory");
    size_t capacity = count, now = 0;
    st = clact_device_list(list, capacity, &now);
    if (st != CLACT_OK) {
        free(list);
        return clact_cli_fail(EXIT_RUNTIME, "%s", clact_context_last_error(NULL));
    }
    count = now < capacity ? now : capacity; /* a device that appeared since is not listed */
    size_t def = (size_t)-1;
    if (count && clact_device_select(NULL, &def) != CLACT_OK) {
        free(list);
        return clact_cli_fail(EXIT_RUNTIME, "no default device: %s",
                              clact_context_last_error(NULL));
    }
    /* Every row's GEMM column needs a context on its device: made before anything is printed,
     * so that a failure prints nothing but the error. */
    const char **gemm = calloc(count ? count : 1, sizeof *gemm);
    if (!gemm) {
        free(list);
        return clact_cli_fail(EXIT_RUNTIME, "out of memory");
    }
    for (size_t i = 0; i < count; ++i)
        if (!(gemm[i] = gemm_parameters(&list[i]))) {
            free(gemm);
            free(list);
            return clact_cli_fail(EXIT_RUNTIME, "%s", clact_context_last_error(NULL));
        }
    if (json)
        print_devices_json(list, gemm, count, def);
    else if (count)
        print_devices_table(list, gemm, count, def);
    free(gemm);
    free(list);
    if (!count) /* an error like any other: on stderr, with the exit status */
        return clact_cli_fail(EXIT_RUNTIME,
                              "no OpenCL devices (install an OpenCL driver, e.g. Debian's "
                              "pocl-opencl-icd)");
    return EXIT_OK;
}

/* Run the op in place on the device over data (n elements of dtype); fills kernel_ms. */
static int run_device(clact_context *ctx, const clact_cli_op_args *a, const clact_npy *x,
                      void *data, clact_dtype dtype, double *kernel_ms) {
    size_t n = x->count, bytes = n * clact_dtype_size(dtype);
    cl_int err;
    int code = EXIT_OK;
    cl_mem buf = clact_cli_buffer(ctx, bytes, &code);
    if (!buf)
        return code;
    cl_command_queue q = clact_context_queue(ctx);
    cl_event written = NULL, done = NULL;
    err = clEnqueueWriteBuffer(q, buf, CL_FALSE, 0, bytes, data, 0, NULL, &written);
    if (err != CL_SUCCESS) {
        code = clact_cli_fail_cl(EXIT_RUNTIME, "clEnqueueWriteBuffer", err);
    } else {
        clact_status st;
        if (a->is_softmax) {
            /* A 0-d array is one row of one element, as in PyTorch. */
            size_t one = 1;
            int ndim = x->ndim ? x->ndim : 1;
            st = clact_softmax(ctx, a->kind, 0, dtype, ndim, x->ndim ? x->shape : &one, (int)a->dim,
                               buf, 0, buf, 0, 1, &written, &done);
        } else {
            st = clact_forward(ctx, &a->act, dtype, n, buf, 0, buf, 0, 1, &written, &done);
        }
        if (st != CLACT_OK)
            code = clact_cli_fail(
                st == CLACT_INVALID_ARGUMENT || st == CLACT_UNSUPPORTED ? EXIT_USAGE : EXIT_RUNTIME,
                "%s: %s", clact_status_name(st), clact_cli_one_line(clact_context_last_error(ctx)));
    }
    if (code != EXIT_OK && written) {
        /* The upload reads data until it completes, and the caller frees data next: wait for
         * it (clact enqueued nothing when the op failed, and never waits for anything). */
        clWaitForEvents(1, &written);
    }
    if (code == EXIT_OK) {
        err = clEnqueueReadBuffer(q, buf, CL_TRUE, 0, bytes, data, 1, &done, NULL);
        if (err != CL_SUCCESS)
            code = clact_cli_fail_cl(EXIT_RUNTIME, "clEnqueueReadBuffer", err);
    }
    if (code == EXIT_OK) {
        cl_ulong t0 = 0, t1 = 0;
        if (clGetEventProfilingInfo(done, CL_PROFILING_COMMAND_START, sizeof t0, &t0, NULL) ==
                CL_SUCCESS &&
            clGetEventProfilingInfo(done, CL_PROFILING_COMMAND_END, sizeof t1, &t1, NULL) ==
                CL_SUCCESS)
            *kernel_ms = (double)(t1 - t0) * 1e-6;
    }
    if (written)
        clReleaseEvent(written);
    if (done)
        clReleaseEvent(done);
    clReleaseMemObject(buf);
    return code;
}

static void print_summary(const clact_cli_op_args *a, const clact_npy *y, clact_dtype file_dtype,
                          clact_dtype dtype, clact_context *ctx, double kernel_ms) {
    double lo = INFINITY, hi = -INFINITY, sum = 0;
    size_t nan = 0, finite = 0;
    for (size_t i = 0; i < y->count; ++i) {
        double v = clact_cli_load(file_dtype, y->data, i);
        if (isnan(v)) {
            ++nan;
            continue;
        }
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
        if (isfinite(v)) {
            sum += v;
            ++finite;
        }
    }
    char name[256] = "";
    clGetDeviceInfo(clact_context_device(ctx), CL_DEVICE_NAME, sizeof name - 1, name, NULL);
    if (a->is_softmax) {
        printf("%s(dim=%ld)", a->op_name, a->dim);
    } else if (a->weight_file) {
        printf("prelu(weight=%s)", a->weight_file);
    } else {
        printf("%s", clact_op_name(a->act.op));
        for (int k = 0; k < clact_op_param_count(a->act.op); ++k)
            printf("%s%s=%g", k ? ", " : "(", clact_op_param_name(a->act.op, k), a->act.param[k]);
        if (a->act.training)
            printf(", training=1, seed=%llu", a->act.seed);
        printf("%s", clact_op_param_count(a->act.op) ? ")" : "");
    }
    printf(" on %zu %s elements, shape (", y->count, clact_dtype_name(dtype));
    for (int i = 0; i < y->ndim; ++i)
        printf("%s%zu", i ? ", " : "", y->shape[i]);
    printf("%s), device '%s': kernel %.3f ms; output min %g, max %g, mean %g, NaN %zu -> %s\n",
           y->ndim == 1 ? "," : "", name, kernel_ms, y->count - nan ? lo : NAN,
           y->count - nan ? hi : NAN, finite ? sum / (double)finite : NAN, nan, a->file[1]);
}

/* The device works in dtype; the data, and so the output file, keep the input file's type. */
static int convert_and_run(clact_context *ctx, const clact_cli_op_args *a, clact_npy *x,
                           clact_dtype file_dtype, clact_dtype dtype, double *kernel_ms) {
    void *dev =
        dtype == file_dtype ? x->data : clact_cli_convert(x->data, file_dtype, dtype, x->count);
    if (!dev)
        return clact_cli_fail(EXIT_RUNTIME, "out of memory");
    int code = run_device(ctx, a, x, dev, dtype, kernel_ms);
    if (dev != x->data) {
        void *back = clact_cli_convert(dev, dtype, file_dtype, x->count);
        free(dev);
        if (back) {
            free(x->data);
            x->data = back;
        } else if (code == EXIT_OK) {
            code = clact_cli_fail(EXIT_RUNTIME, "out of memory");
        }
    }
    return code;
}

static int cmd_apply(int argc, char **argv) {
    clact_cli_op_args a;
    int code = clact_cli_parse_op("apply", 2, argc, argv, &a);
    if (code == EXIT_OK && a.weight_grad)
        code = clact_cli_fail(EXIT_USAGE, "apply: --weight-grad is an option of backward prelu");
    if (code != EXIT_OK)
        return code;
    char err[1024];
    clact_npy x;
    clact_status ns = clact_npy_read(a.file[0], &x, err, sizeof err);
    if (ns != CLACT_OK)
        return clact_cli_fail(EXIT_USAGE, "%s", err);
    clact_dtype file_dtype = CLACT_F32;
    if ((code = clact_cli_check_input(&x, a.file[0], &file_dtype)) != EXIT_OK) {
        clact_npy_free(&x);
        return code;
    }
    clact_dtype dtype = a.dtype_given ? a.dtype : file_dtype;
    clact_npy w; /* prelu's weights from a file (glu_prelu.c) */
    int shaped = clact_cli_glu_prelu(&a);
    if (shaped && (code = clact_cli_glu_prelu_prepare(&a, &x, file_dtype, &w)) != EXIT_OK) {
        clact_npy_free(&x);
        return code;
    }
    long nd = x.ndim ? x.ndim : 1;
    if (a.is_softmax && (a.dim < -nd || a.dim >= nd)) {
        code = clact_cli_fail(
            EXIT_USAGE, "apply: dim %ld is out of range for a %d-dimensional array (%ld..%ld)",
            a.dim, x.ndim, -nd, nd - 1);
        clact_npy_free(&x);
        return code;
    }
    clact_context *ctx = NULL;
    if ((code = clact_cli_context(&ctx, a.device)) != EXIT_OK) {
        clact_npy_free(&x);
        return code;
    }
    double kernel_ms = 0;
    if (shaped)
        code = clact_cli_glu_prelu_apply(ctx, &a, &x, &w, file_dtype, dtype, &kernel_ms);
    else if (x.count)
        code = convert_and_run(ctx, &a, &x, file_dtype, dtype, &kernel_ms);
    if (code == EXIT_OK) {
        ns = clact_npy_write(a.file[1], &x, err, sizeof err);
        if (ns != CLACT_OK)
            code = clact_cli_fail(EXIT_USAGE, "%s", err);
    }
    if (code == EXIT_OK && a.summary)
        print_summary(&a, &x, file_dtype, dtype, ctx, kernel_ms);
    clact_context_destroy(ctx);
    clact_npy_free(&x);
    if (shaped)
        clact_npy_free(&w);
    return code;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        usage(stdout);
        return EXIT_OK;
    }
    if (!strcmp(cmd, "--version")) {
        printf("clact %s\n", clact_version());
        return EXIT_OK;
    }
    if (!strcmp(cmd, "devices"))
        return cmd_devices(argc - 2, argv + 2);
    if (!strcmp(cmd, "apply"))
        return cmd_apply(argc - 2, argv + 2);
    if (!strcmp(cmd, "backward"))
        return clact_cli_backward_main(argc - 2, argv + 2);
    if (!strcmp(cmd, "bench"))
        return clact_bench_main(argc - 2, argv + 2);
    if (!strcmp(cmd, "plot"))
        return clact_cli_plot_main(argc - 2, argv + 2);
    if (!strcmp(cmd, "train"))
        return clact_cli_train_main(argc - 2, argv + 2);
    if (!strcmp(cmd, "tune"))
        return clact_cli_tune_main(argc - 2, argv + 2);
    return clact_cli_fail(EXIT_USAGE, "unknown command '%s' (try: clact --help)", cmd);
}
