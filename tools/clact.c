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
#include "npy.h"

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

/* PyTorch writes float defaults as 1.0, not 1: the usage text does the same. */
static void format_default(char *buf, size_t len, double v) {
    snprintf(buf, len, "%g", v);
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
        format_default(value, sizeof value, def.param[k]);
        used += (size_t)snprintf(buf + used, len - used, "%s%s=%s%s", k ? ", " : " (",
                                 clact_op_param_name(op, k), value, k + 1 == n ? ")" : "");
    }
    if (op == CLACT_GELU && used < len)
        snprintf(buf + used, len - used, " (approximate=none|tanh)");
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
            "       clact bench [--ops LIST] [--sizes LIST] [--dtype LIST] [--device SPEC]\n"
            "                   [--format table|csv|json] [--quick]\n"
            "       clact --version\n"
            "\n"
            "OP (NAME=VALUE parameters, with PyTorch's defaults; D: the dimension to normalise\n"
            "over):\n    ",
            dtypes);
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

static void print_devices_json(const clact_device_info *list, size_t count, size_t def) {
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
               "\"max_alloc_bytes\": %llu, \"fp16\": %s, \"fp64\": %s, \"default\": %s}",
               d->type, d->compute_units, d->global_mem_bytes, d->max_alloc_bytes,
               d->has_fp16 ? "true" : "false", d->has_fp64 ? "true" : "false",
               i == def ? "true" : "false");
    }
    printf("%s]}\n", count ? "\n" : "");
}

static void print_devices_table(const clact_device_info *list, size_t count, size_t def) {
    printf("  %-5s %-11s %-40s %5s %10s %5s %5s  %s\n", "spec", "type", "name", "units", "memory",
           "fp16", "fp64", "platform / driver");
    for (size_t i = 0; i < count; ++i) {
        const clact_device_info *d = &list[i];
        char spec[32];
        snprintf(spec, sizeof spec, "%u:%u", d->platform_index, d->device_index);
        printf("%c %-5s %-11s %-40.40s %5u %6.1f GiB %5s %5s  %s / %s\n", i == def ? '*' : ' ',
               spec, d->type, d->name, d->compute_units,
               (double)d->global_mem_bytes / (1024.0 * 1024.0 * 1024.0), d->has_fp16 ? "yes" : "no",
               d->has_fp64 ? "yes" : "no", d->platform_name, d->driver_version);
    }
    printf("(* = default device)\n");
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
    st = clact_device_list(list, count, &count);
    if (st != CLACT_OK) {
        free(list);
        return clact_cli_fail(EXIT_RUNTIME, "%s", clact_context_last_error(NULL));
    }
    size_t def = (size_t)-1;
    if (count && clact_device_select(NULL, &def) != CLACT_OK) {
        fprintf(stderr, "clact: no default device: %s\n", clact_context_last_error(NULL));
        def = (size_t)-1;
    }
    if (json)
        print_devices_json(list, count, def);
    else if (count == 0)
        printf("no OpenCL devices (install an OpenCL driver, e.g. Debian's pocl-opencl-icd)\n");
    else
        print_devices_table(list, count, def);
    free(list);
    return count ? EXIT_OK : EXIT_RUNTIME;
}

typedef struct apply_args {
    const char *op_name;
    const char *in, *out;
    const char *device;
    int summary;
    clact_activation act;
    int dtype_given; /* --dtype: the storage type on the device (default: the file's) */
    clact_dtype dtype;
    int is_softmax; /* softmax, log_softmax or softmin: then kind and dim, not act */
    clact_softmax_kind kind;
    long dim;
} apply_args;

static int parse_number(const char *text, double *value) {
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (end == text || *end != '\0' || errno == ERANGE)
        return 0;
    *value = v;
    return 1;
}

/* softmax, log_softmax, softmin: exactly one parameter, dim, an integer; its range is checked
 * against the array once it is read. PyTorch's implicit dim is deprecated, so it is required. */
static int parse_softmax(apply_args *a, const char **params, int n) {
    int have_dim = 0;
    for (int i = 0; i < n; ++i) {
        if (strncmp(params[i], "dim=", 4)) {
            const char *eq = strchr(params[i], '=');
            if (!eq)
                return clact_cli_fail(EXIT_USAGE, "apply: '%s' is not NAME=VALUE", params[i]);
            return clact_cli_fail(EXIT_USAGE, "apply: %s takes no parameter '%.*s' (only dim)",
                                  a->op_name, (int)(eq - params[i]), params[i]);
        }
        if (have_dim++)
            return clact_cli_fail(EXIT_USAGE, "apply: parameter 'dim' given twice");
        char *end;
        errno = 0;
        a->dim = strtol(params[i] + 4, &end, 10);
        if (end == params[i] + 4 || *end || errno == ERANGE)
            return clact_cli_fail(EXIT_USAGE, "apply: parameter 'dim': '%s' is not an integer",
                                  params[i] + 4);
    }
    if (!have_dim)
        return clact_cli_fail(EXIT_USAGE, "apply: %s needs dim=D (the dimension to normalise over)",
                              a->op_name);
    return EXIT_OK;
}

/* NAME=VALUE parameters of an activation, by the library's parameter names, plus
 * approximate=none|tanh, this command's spelling of the choice between gelu and gelu_tanh. */
static int parse_activation(apply_args *a, const char **params, int n) {
    int seen[2] = {0, 0}, seen_approx = 0;
    for (int i = 0; i < n; ++i) {
        const char *eq = strchr(params[i], '=');
        if (!eq)
            return clact_cli_fail(EXIT_USAGE, "apply: '%s' is not NAME=VALUE", params[i]);
        size_t klen = (size_t)(eq - params[i]);
        const char *value = eq + 1;
        if (klen == 11 && !strncmp(params[i], "approximate", 11) &&
            (a->act.op == CLACT_GELU || a->act.op == CLACT_GELU_TANH)) {
            if (seen_approx++)
                return clact_cli_fail(EXIT_USAGE, "apply: approximate given twice");
            if (!strcmp(value, "none") || !strcmp(value, "'none'"))
                a->act.op = CLACT_GELU;
            else if (!strcmp(value, "tanh") || !strcmp(value, "'tanh'"))
                a->act.op = CLACT_GELU_TANH;
            else
                return clact_cli_fail(EXIT_USAGE,
                                      "apply: approximate must be none or tanh, not '%s'", value);
            continue;
        }
        int idx = -1;
        for (int k = 0; k < clact_op_param_count(a->act.op); ++k) {
            const char *name = clact_op_param_name(a->act.op, k);
            if (strlen(name) == klen && !strncmp(name, params[i], klen))
                idx = k;
        }
        if (idx < 0)
            return clact_cli_fail(EXIT_USAGE, "apply: %s takes no parameter '%.*s'", a->op_name,
                                  (int)klen, params[i]);
        if (seen[idx]++)
            return clact_cli_fail(EXIT_USAGE, "apply: parameter '%.*s' given twice", (int)klen,
                                  params[i]);
        if (!parse_number(value, &a->act.param[idx]))
            return clact_cli_fail(EXIT_USAGE, "apply: parameter '%.*s': '%s' is not a number",
                                  (int)klen, params[i], value);
    }
    char why[256];
    if (clact_activation_check(&a->act, why, sizeof why) != CLACT_OK)
        return clact_cli_fail(EXIT_USAGE, "apply: %s", why);
    return EXIT_OK;
}

static int parse_dtype(apply_args *a, const char *v) {
    if (clact_dtype_from_name(v, &a->dtype) != CLACT_OK) {
        char names[128];
        clact_cli_dtype_names(names, sizeof names, ", ", " or ");
        return clact_cli_fail(EXIT_USAGE, "apply: --dtype must be %s, not '%s'", names, v);
    }
    a->dtype_given = 1;
    return EXIT_OK;
}

static int parse_apply(int argc, char **argv, apply_args *a) {
    const char *pos[64];
    int npos = 0, code = EXIT_OK;
    memset(a, 0, sizeof *a);
    for (int i = 0; i < argc && code == EXIT_OK; ++i) {
        const char *s = argv[i];
        if (!strcmp(s, "--dtype") || !strcmp(s, "--device")) {
            if (i + 1 >= argc)
                return clact_cli_fail(EXIT_USAGE, "apply: %s needs a value", s);
            if (!strcmp(s, "--device"))
                a->device = argv[++i];
            else
                code = parse_dtype(a, argv[++i]);
        } else if (!strncmp(s, "--dtype=", 8)) {
            code = parse_dtype(a, s + 8);
        } else if (!strncmp(s, "--device=", 9)) {
            a->device = s + 9;
        } else if (!strcmp(s, "--summary")) {
            a->summary = 1;
        } else if (s[0] == '-' && s[1] == '-') {
            return clact_cli_fail(EXIT_USAGE, "apply: unknown option '%s'", s);
        } else if (npos < 64) {
            pos[npos++] = s;
        } else {
            return clact_cli_fail(EXIT_USAGE, "apply: too many arguments");
        }
    }
    if (code != EXIT_OK)
        return code;
    if (npos < 3)
        return clact_cli_fail(EXIT_USAGE, "apply: expected OP [NAME=VALUE ...] IN.npy OUT.npy");
    a->op_name = pos[0];
    a->in = pos[npos - 2];
    a->out = pos[npos - 1];
    if (clact_softmax_kind_from_name(a->op_name, &a->kind) == CLACT_OK) {
        a->is_softmax = 1;
        return parse_softmax(a, pos + 1, npos - 3);
    }
    clact_op op;
    if (clact_op_from_name(a->op_name, &op) != CLACT_OK)
        return clact_cli_fail(EXIT_USAGE, "apply: unknown op '%s' (try: clact --help)", a->op_name);
    a->act = clact_activation_default(op);
    return parse_activation(a, pos + 1, npos - 3);
}

/* The file's element type: '<f4', '<f2' or '<f8'; anything else is an input error. */
static int check_input(const clact_npy *x, const char *path, clact_dtype *dtype) {
    const char *d = x->descr;
    if (x->fortran_order)
        return clact_cli_fail(
            EXIT_USAGE, "%s: Fortran-order arrays are not supported (save it C-contiguous)", path);
    if (!strcmp(d, "<f4") || !strcmp(d, "<f2") || !strcmp(d, "<f8")) {
        *dtype = d[2] == '4' ? CLACT_F32 : d[2] == '2' ? CLACT_F16 : CLACT_F64;
        return EXIT_OK;
    }
    if (d[0] == '>' && d[1] == 'f')
        return clact_cli_fail(EXIT_USAGE,
                              "%s: big-endian '%s' is not supported (need little-endian '<%s')",
                              path, d, d + 1);
    return clact_cli_fail(EXIT_USAGE, "%s: unsupported dtype '%s' (need '<f4', '<f2' or '<f8')",
                          path, d);
}

/* Run the op in place on the device over data (n elements of dtype); fills kernel_ms. */
static int run_device(clact_context *ctx, const apply_args *a, const clact_npy *x, void *data,
                      clact_dtype dtype, double *kernel_ms) {
    size_t n = x->count, bytes = n * clact_dtype_size(dtype);
    cl_int err;
    cl_mem buf =
        clCreateBuffer(clact_context_cl_context(ctx), CL_MEM_READ_WRITE, bytes, NULL, &err);
    if (!buf)
        return clact_cli_fail(EXIT_RUNTIME, "clCreateBuffer of %zu bytes failed (%d)", bytes, err);
    cl_command_queue q = clact_context_queue(ctx);
    cl_event written = NULL, done = NULL;
    int code = EXIT_OK;
    err = clEnqueueWriteBuffer(q, buf, CL_FALSE, 0, bytes, data, 0, NULL, &written);
    if (err != CL_SUCCESS) {
        code = clact_cli_fail(EXIT_RUNTIME, "clEnqueueWriteBuffer failed (%d)", err);
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
            code = clact_cli_fail(EXIT_RUNTIME, "clEnqueueReadBuffer failed (%d)", err);
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

static void print_summary(const apply_args *a, const clact_npy *y, clact_dtype file_dtype,
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
    } else {
        printf("%s", clact_op_name(a->act.op));
        for (int k = 0; k < clact_op_param_count(a->act.op); ++k)
            printf("%s%s=%g", k ? ", " : "(", clact_op_param_name(a->act.op, k), a->act.param[k]);
        printf("%s", clact_op_param_count(a->act.op) ? ")" : "");
    }
    printf(" on %zu %s elements, shape (", y->count, clact_dtype_name(dtype));
    for (int i = 0; i < y->ndim; ++i)
        printf("%s%zu", i ? ", " : "", y->shape[i]);
    printf("%s), device '%s': kernel %.3f ms; output min %g, max %g, mean %g, NaN %zu -> %s\n",
           y->ndim == 1 ? "," : "", name, kernel_ms, y->count - nan ? lo : NAN,
           y->count - nan ? hi : NAN, finite ? sum / (double)finite : NAN, nan, a->out);
}

/* The device works in dtype; the data, and so the output file, keep the input file's type. */
static int convert_and_run(clact_context *ctx, const apply_args *a, clact_npy *x,
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
    apply_args a;
    int code = parse_apply(argc, argv, &a);
    if (code != EXIT_OK)
        return code;
    char err[1024];
    clact_npy x;
    clact_status ns = clact_npy_read(a.in, &x, err, sizeof err);
    if (ns != CLACT_OK)
        return clact_cli_fail(EXIT_USAGE, "%s", err);
    clact_dtype file_dtype = CLACT_F32;
    if ((code = check_input(&x, a.in, &file_dtype)) != EXIT_OK) {
        clact_npy_free(&x);
        return code;
    }
    clact_dtype dtype = a.dtype_given ? a.dtype : file_dtype;
    long nd = x.ndim ? x.ndim : 1;
    if (a.is_softmax && (a.dim < -nd || a.dim >= nd)) {
        code = clact_cli_fail(
            EXIT_USAGE, "apply: dim %ld is out of range for a %d-dimensional array (%ld..%ld)",
            a.dim, x.ndim, -nd, nd - 1);
        clact_npy_free(&x);
        return code;
    }
    clact_context *ctx = NULL;
    clact_status st = clact_context_create(&ctx, a.device);
    if (st != CLACT_OK) {
        /* A spec that matches nothing is the user's mistake; no driver at all is not. */
        int user_spec = a.device || getenv("CLACT_DEVICE");
        code = clact_cli_fail(st == CLACT_NO_DEVICE && user_spec ? EXIT_USAGE : EXIT_RUNTIME, "%s",
                              clact_cli_one_line(clact_context_last_error(NULL)));
        clact_npy_free(&x);
        return code;
    }
    double kernel_ms = 0;
    if (x.count)
        code = convert_and_run(ctx, &a, &x, file_dtype, dtype, &kernel_ms);
    if (code == EXIT_OK) {
        ns = clact_npy_write(a.out, &x, err, sizeof err);
        if (ns != CLACT_OK)
            code = clact_cli_fail(EXIT_USAGE, "%s", err);
    }
    if (code == EXIT_OK && a.summary)
        print_summary(&a, &x, file_dtype, dtype, ctx, kernel_ms);
    clact_context_destroy(ctx);
    clact_npy_free(&x);
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
    if (!strcmp(cmd, "bench"))
        return clact_bench_main(argc - 2, argv + 2);
    return clact_cli_fail(EXIT_USAGE, "unknown command '%s' (try: clact --help)", cmd);
}
