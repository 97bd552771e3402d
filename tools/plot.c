/* SPDX-License-Identifier: MIT */
/* clact plot OPS [NAME=VALUE ...] [--range A,B] [--grad] [--ylim A,B] [--points N] [--dtype D]
 * [--device SPEC] OUT.svg: the curves of elementwise ops, computed on the device by clact_forward
 * (and with --grad their derivatives by clact_backward with dy = 1), drawn by tools/svg.c as
 * `clact train` draws its charts. The same rules as the other commands: bad input is exit 2 with
 * one `clact: ` line, a runtime failure exit 1, and OUT.svg is written whole or not at all. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "convert.h"
#include "op_args.h"
#include "svg.h"

/* Twenty curves: past the palette's ten the colours repeat dotted, past twenty they would repeat
 * as they are. */
enum { MAX_CURVES = 20, MAX_GLOBALS = 16, MAX_KINKS = 2, MAX_POINTS = 100000 };

typedef struct plot_opts {
    const char *ops, *out, *device;
    const char *global[MAX_GLOBALS]; /* NAME=VALUE for every op that takes NAME */
    int nglobal;
    double lo, hi;   /* --range */
    double ylo, yhi; /* --ylim, when ylim is set */
    int ylim, grad;
    size_t points;
    clact_dtype dtype;
} plot_opts;

/* One op of the list: its label, descriptor, and what the device computed at its points. */
typedef struct curve {
    char label[160];
    clact_activation act;
    double *x, *y, *dy; /* n points; dy (the derivative) with --grad only */
    size_t n;
} curve;

static void plot_usage(FILE *f) {
    char dtypes[128];
    clact_cli_dtype_names(dtypes, sizeof dtypes, "|", "|");
    fprintf(f,
            "usage: clact plot OPS [NAME=VALUE ...] [--range A,B] [--grad] [--ylim A,B]\n"
            "                  [--points N] [--dtype %s] [--device SPEC] OUT.svg\n"
            "Draws the elementwise ops of the comma-separated list OPS (relu,gelu,tanh; an op\n"
            "may carry its own parameters: leaky_relu:negative_slope=0.2) as computed on the\n"
            "device, over x from A to B (default -5,5) at N evenly spaced points (default 1001)\n"
            "plus each op's corners (relu6 at 0 and 6, hardshrink at +-lambd, ...).\n"
            "NAME=VALUE sets that parameter of every op in OPS that has it (an op's own wins).\n"
            "--grad adds a panel of the derivatives (clact_backward with dy = 1).\n"
            "--ylim A,B fixes the y axis of the curves' panel (lines are clipped to it); by\n"
            "default it spans the values with a margin. NaN and infinite values break a line.\n"
            "--dtype is the element type on the device (default f32); x is rounded to it.\n",
            dtypes);
}

/* A finite number, all of text. */
static int parse_finite(const char *text, size_t len, double *v) {
    char buf[64], *end;
    if (len == 0 || len >= sizeof buf)
        return 0;
    memcpy(buf, text, len);
    buf[len] = '\0';
    errno = 0;
    *v = strtod(buf, &end);
    return end != buf && *end == '\0' && isfinite(*v);
}

/* "A,B" with finite numbers A < B, for --range and --ylim. */
static int parse_pair(const char *opt, const char *text, double *a, double *b) {
    const char *comma = strchr(text, ',');
    if (!comma)
        return clact_cli_fail(EXIT_USAGE, "plot: %s must be A,B (two numbers), not '%s'", opt,
                              text);
    if (!parse_finite(text, (size_t)(comma - text), a) ||
        !parse_finite(comma + 1, strlen(comma + 1), b))
        return clact_cli_fail(EXIT_USAGE, "plot: %s must be two finite numbers A,B, not '%s'", opt,
                              text);
    if (!(*a < *b))
        return clact_cli_fail(EXIT_USAGE, "plot: %s A,B needs A < B, not '%s'", opt, text);
    return EXIT_OK;
}

static int parse_points(const char *text, size_t *n) {
    char *end;
    errno = 0;
    unsigned long v = strtoul(text, &end, 10);
    if (end == text || *end || errno == ERANGE || text[0] == '-' || v < 2 || v > MAX_POINTS)
        return clact_cli_fail(EXIT_USAGE,
                              "plot: --points must be an integer from 2 to %d, not '%s'",
                              MAX_POINTS, text);
    *n = (size_t)v;
    return EXIT_OK;
}

static int parse_global(plot_opts *o, const char *s) {
    const char *eq = strchr(s, '=');
    if (!eq || eq == s)
        return clact_cli_fail(EXIT_USAGE, "plot: '%s' is not NAME=VALUE", s);
    if (o->nglobal == MAX_GLOBALS)
        return clact_cli_fail(EXIT_USAGE, "plot: more than %d NAME=VALUE parameters", MAX_GLOBALS);
    size_t len = (size_t)(eq - s);
    for (int i = 0; i < o->nglobal; ++i)
        if (!strncmp(o->global[i], s, len + 1))
            return clact_cli_fail(EXIT_USAGE, "plot: parameter '%.*s' given twice", (int)len, s);
    o->global[o->nglobal++] = s;
    return EXIT_OK;
}

/* An option and its value (--name V or --name=V): EXIT_OK or an exit status. */
static int parse_option(plot_opts *o, int argc, char **argv, int *i) {
    const char *s = argv[*i];
    if (!strcmp(s, "--grad")) {
        o->grad = 1;
        return EXIT_OK;
    }
    static const char *const with_value[] = {"--range", "--ylim", "--points", "--dtype",
                                             "--device"};
    size_t nlen = strcspn(s, "=");
    int k = 0;
    while (k < 5 && (strlen(with_value[k]) != nlen || strncmp(s, with_value[k], nlen)))
        ++k;
    if (k == 5)
        return clact_cli_fail(EXIT_USAGE, "plot: unknown option '%s' (try: clact plot --help)", s);
    const char *v = s[nlen] ? s + nlen + 1 : *i + 1 < argc ? argv[++*i] : NULL;
    if (!v)
        return clact_cli_fail(EXIT_USAGE, "plot: %s needs a value", s);
    switch (k) {
    case 0: return parse_pair("--range", v, &o->lo, &o->hi);
    case 1: o->ylim = 1; return parse_pair("--ylim", v, &o->ylo, &o->yhi);
    case 2: return parse_points(v, &o->points);
    case 3:
        if (clact_dtype_from_name(v, &o->dtype) != CLACT_OK) {
            char names[128];
            clact_cli_dtype_names(names, sizeof names, ", ", " or ");
            return clact_cli_fail(EXIT_USAGE, "plot: --dtype must be %s, not '%s'", names, v);
        }
        return EXIT_OK;
    default: o->device = v; return EXIT_OK;
    }
}

/* The options and `OPS [NAME=VALUE ...] OUT.svg`; EXIT_OK, -1 after --help, or an exit status. */
static int parse_opts(int argc, char **argv, plot_opts *o) {
    memset(o, 0, sizeof *o);
    o->lo = -5;
    o->hi = 5;
    o->points = 1001;
    o->dtype = CLACT_F32;
    const char *pos[2 + MAX_GLOBALS];
    int npos = 0;
    for (int i = 0; i < argc; ++i) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            plot_usage(stdout);
            return -1;
        }
        if (!strncmp(argv[i], "--", 2)) {
            int code = parse_option(o, argc, argv, &i);
            if (code != EXIT_OK)
                return code;
        } else if (npos < 2 + MAX_GLOBALS) {
            pos[npos++] = argv[i];
        } else {
            return clact_cli_fail(EXIT_USAGE, "plot: too many arguments");
        }
    }
    if (npos < 2)
        return clact_cli_fail(EXIT_USAGE, "plot: expected OPS [NAME=VALUE ...] OUT.svg");
    o->ops = pos[0];
    o->out = pos[npos - 1];
    /* A forgotten OUT.svg would make the last parameter the file name. */
    size_t olen = strlen(o->out);
    if (strchr(o->out, '=') && !strchr(o->out, '/') &&
        (olen < 4 || strcmp(o->out + olen - 4, ".svg")))
        return clact_cli_fail(EXIT_USAGE,
                              "plot: the last argument '%s' looks like a parameter; expected "
                              "OPS [NAME=VALUE ...] OUT.svg",
                              o->out);
    for (int i = 1; i < npos - 1; ++i) {
        int code = parse_global(o, pos[i]);
        if (code != EXIT_OK)
            return code;
    }
    return EXIT_OK;
}

/* Whether op takes the parameter named by the first len characters of name (approximate= is the
 * command's spelling of the choice between gelu and gelu_tanh, as in apply). */
static int takes(clact_op op, const char *name, size_t len) {
    if (len == 11 && !strncmp(name, "approximate", 11))
        return op == CLACT_GELU || op == CLACT_GELU_TANH;
    for (int k = 0; k < clact_op_param_count(op); ++k) {
        const char *p = clact_op_param_name(op, k);
        if (strlen(p) == len && !strncmp(p, name, len))
            return 1;
    }
    return 0;
}

/* Whether the entry "op:NAME=VALUE:..." sets the parameter NAME (len characters) itself. */
static int entry_sets(const char *entry, const char *name, size_t len) {
    for (const char *p = strchr(entry, ':'); p; p = strchr(p + 1, ':'))
        if (!strncmp(p + 1, name, len) && p[1 + len] == '=')
            return 1;
    return 0;
}

/* "leaky_relu(negative_slope=0.2)": the op and its parameters as the device gets them. */
static void curve_label(char *buf, size_t len, const clact_activation *a) {
    int n = clact_op_param_count(a->op);
    size_t used = (size_t)snprintf(buf, len, "%s", clact_op_name(a->op));
    for (int k = 0; k < n && used < len; ++k)
        used += (size_t)snprintf(buf + used, len - used, "%s%s=%g%s", k ? ", " : "(",
                                 clact_op_param_name(a->op, k), a->param[k], k + 1 == n ? ")" : "");
}

/* The op an entry of OPS names ("leaky_relu" of "leaky_relu:negative_slope=0.2"), which must be
 * elementwise. */
static int entry_op(const char *entry, clact_op *op) {
    char name[64];
    size_t nlen = strcspn(entry, ":");
    snprintf(name, sizeof name, "%.*s", (int)(nlen < sizeof name ? nlen : sizeof name - 1), entry);
    clact_softmax_kind kind;
    if (clact_softmax_kind_from_name(name, &kind) == CLACT_OK)
        return clact_cli_fail(EXIT_USAGE,
                              "plot: %s is not elementwise (it normalises over a dimension); plot "
                              "draws elementwise ops",
                              name);
    if (clact_op_from_name(name, op) != CLACT_OK)
        return clact_cli_fail(EXIT_USAGE, "plot: unknown op '%s' (try: clact --help)", name);
    if (clact_op_elementwise(*op) != 1)
        return clact_cli_fail(EXIT_USAGE,
                              "plot: %s is not elementwise (it halves a dimension); plot draws "
                              "elementwise ops",
                              name);
    return EXIT_OK;
}

/* The entry's descriptor: its own parameters, then the global ones its op takes and it does not
 * set, parsed as `clact train --act` parses an activation. */
static int parse_entry(const plot_opts *o, const char *entry, clact_op op, curve *c) {
    char spec[512];
    size_t used = (size_t)snprintf(spec, sizeof spec, "%s", entry);
    for (int g = 0; g < o->nglobal && used < sizeof spec; ++g) {
        size_t len = strcspn(o->global[g], "=");
        if (takes(op, o->global[g], len) && !entry_sets(entry, o->global[g], len))
            used += (size_t)snprintf(spec + used, sizeof spec - used, ":%s", o->global[g]);
    }
    if (used >= sizeof spec)
        return clact_cli_fail(EXIT_USAGE, "plot: '%s' with its parameters is too long", entry);
    int code = clact_cli_parse_act_spec("plot", spec, &c->act);
    if (code == EXIT_OK)
        curve_label(c->label, sizeof c->label, &c->act);
    return code;
}

static int same_act(const clact_activation *a, const clact_activation *b) {
    return a->op == b->op && a->param[0] == b->param[0] && a->param[1] == b->param[1];
}

/* OPS into curves. The ops are looked up first, so that a parameter no op takes is named before
 * any op's own parameters are checked. */
static int parse_ops(const plot_opts *o, curve *curves, int *ncurves) {
    char entry[MAX_CURVES][256];
    clact_op op[MAX_CURVES];
    int n = 0, used[MAX_GLOBALS] = {0};
    for (const char *p = o->ops;;) {
        size_t len = strcspn(p, ",");
        if (len == 0 || len >= sizeof entry[0])
            return clact_cli_fail(EXIT_USAGE, "plot: bad op list '%s'", o->ops);
        if (n == MAX_CURVES)
            return clact_cli_fail(EXIT_USAGE, "plot: more than %d ops", MAX_CURVES);
        memcpy(entry[n], p, len);
        entry[n][len] = '\0';
        int code = entry_op(entry[n], &op[n]);
        if (code != EXIT_OK)
            return code;
        for (int g = 0; g < o->nglobal; ++g)
            used[g] |= takes(op[n], o->global[g], strcspn(o->global[g], "="));
        ++n;
        p += len;
        if (!*p++)
            break;
    }
    for (int g = 0; g < o->nglobal; ++g)
        if (!used[g])
            return clact_cli_fail(EXIT_USAGE, "plot: no op in '%s' takes a parameter '%.*s'",
                                  o->ops, (int)strcspn(o->global[g], "="), o->global[g]);
    for (int i = 0; i < n; ++i) {
        int code = parse_entry(o, entry[i], op[i], &curves[i]);
        if (code != EXIT_OK)
            return code;
        for (int j = 0; j < i; ++j)
            if (same_act(&curves[j].act, &curves[i].act))
                return clact_cli_fail(EXIT_USAGE, "plot: the list names %s twice",
                                      curves[i].label);
    }
    *ncurves = n;
    return EXIT_OK;
}

/* ---- where the curves are computed -------------------------------------------------------- */

/* Where the op has a corner or a jump: there a line through evenly spaced points would cut the
 * corner, so those x are added, with a close neighbour each side. */
static int kinks(const clact_activation *a, double k[MAX_KINKS]) {
    switch (a->op) {
    case CLACT_RELU:
    case CLACT_LEAKY_RELU:
    case CLACT_ELU:
    case CLACT_SELU:
    case CLACT_CELU:
    case CLACT_PRELU:
    case CLACT_RRELU: k[0] = 0; return 1;
    case CLACT_RELU6: k[0] = 0, k[1] = 6; return 2;
    case CLACT_HARDTANH: k[0] = a->param[0], k[1] = a->param[1]; return 2;
    case CLACT_HARDSIGMOID:
    case CLACT_HARDSWISH: k[0] = -3, k[1] = 3; return 2;
    case CLACT_SOFTSHRINK:
    case CLACT_HARDSHRINK: k[0] = -a->param[0], k[1] = a->param[0]; return 2;
    case CLACT_THRESHOLD: k[0] = a->param[0]; return 1;
    case CLACT_SOFTPLUS: k[0] = a->param[1] / a->param[0]; return 1; /* where it turns linear */
    default: return 0;
    }
}

/* v rounded to dtype, as the device will hold it. */
static double in_dtype(clact_dtype dtype, double v) {
    unsigned char cell[8];
    clact_cli_store(dtype, cell, 0, v);
    return clact_cli_load(dtype, cell, 0);
}

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The x of a curve, in dtype, increasing, without repeats: n evenly spaced points from lo to hi
 * (both included) and each corner inside the range with its nearest neighbours in dtype at
 * about a millionth of the range (the corner itself is where PyTorch's one-sided choice shows,
 * e.g. relu'(0) = 0). x has room for points + 3 * MAX_KINKS values; returns how many. */
static size_t grid(const plot_opts *o, const clact_activation *a, double *x) {
    size_t n = 0;
    for (size_t i = 0; i < o->points; ++i) {
        double t = (double)i / (double)(o->points - 1);
        x[n++] = in_dtype(o->dtype, i + 1 == o->points ? o->hi : o->lo * (1 - t) + o->hi * t);
    }
    double k[MAX_KINKS], step = (o->hi - o->lo) * 1e-6;
    if (!isfinite(step))
        step = fmax(fabs(o->lo), fabs(o->hi)) * 1e-6;
    int nk = kinks(a, k);
    for (int j = 0; j < nk; ++j) {
        double c = in_dtype(o->dtype, k[j]);
        if (!(c >= o->lo && c <= o->hi))
            continue;
        x[n++] = c;
        for (int side = -1; side <= 1; side += 2) {
            double d = step, v = c;
            while (v == c && isfinite(d))
                v = in_dtype(o->dtype, c + side * d), d *= 2;
            if (v >= o->lo && v <= o->hi)
                x[n++] = v;
        }
    }
    qsort(x, n, sizeof *x, by_value);
    size_t m = 0;
    for (size_t i = 0; i < n; ++i)
        if (m == 0 || x[i] != x[m - 1])
            x[m++] = x[i];
    return m;
}


/* The library's failure as the other commands report it: the user's input (exit 2) where the
 * op or dtype is at fault, else the runtime (exit 1). */
static int op_failed(clact_context *ctx, clact_status st) {
    return clact_cli_fail(
        st == CLACT_INVALID_ARGUMENT || st == CLACT_UNSUPPORTED ? EXIT_USAGE : EXIT_RUNTIME,
        "plot: %s: %s", clact_status_name(st), clact_cli_one_line(clact_context_last_error(ctx)));
}

/* Enqueue y = act(x) and, with --grad, dx = act'(x) * 1 over dx's ones (in place). */
static int enqueue_curve(clact_context *ctx, const plot_opts *o, const curve *c, cl_mem xb,
                         cl_mem yb, cl_mem gb, cl_uint nup, const cl_event *up, cl_event *done) {
    cl_event fwd = NULL;
    clact_status st = clact_forward(ctx, &c->act, o->dtype, c->n, xb, 0, yb, 0, nup, up, &fwd);
    if (st == CLACT_OK && o->grad)
        st = clact_backward(ctx, &c->act, o->dtype, c->n, xb, 0, yb, 0, gb, 0, gb, 0, 1, &fwd,
                            done);
    else if (st == CLACT_OK)
        *done = fwd, fwd = NULL;
    if (fwd)
        clReleaseEvent(fwd);
    return st == CLACT_OK ? EXIT_OK : op_failed(ctx, st);
}

/* host holds x and (with --grad) ones, in dtype; on success y and dy are read back over it. */
static int run_curve(clact_context *ctx, const plot_opts *o, const curve *c, unsigned char *host) {
    size_t bytes = c->n * clact_dtype_size(o->dtype);
    cl_command_queue q = clact_context_queue(ctx);
    int code = EXIT_OK;
    cl_mem buf[3] = {clact_cli_buffer(ctx, bytes, &code), clact_cli_buffer(ctx, bytes, &code),
                     o->grad ? clact_cli_buffer(ctx, bytes, &code) : NULL};
    cl_event up[2] = {NULL, NULL}, done = NULL;
    cl_uint nup = o->grad ? 2 : 1;
    cl_int err;
    for (cl_uint i = 0; i < nup && code == EXIT_OK; ++i)
        if ((err = clEnqueueWriteBuffer(q, buf[2 * i], CL_FALSE, 0, bytes, host + i * bytes, 0,
                                        NULL, &up[i])))
            code = clact_cli_fail_cl(EXIT_RUNTIME, "plot: clEnqueueWriteBuffer", err);
    if (code == EXIT_OK)
        code = enqueue_curve(ctx, o, c, buf[0], buf[1], buf[2], nup, up, &done);
    for (cl_uint i = 0; i < nup && code == EXIT_OK; ++i)
        if ((err = clEnqueueReadBuffer(q, buf[1 + i], CL_TRUE, 0, bytes, host + i * bytes, 1,
                                       &done, NULL)))
            code = clact_cli_fail_cl(EXIT_RUNTIME, "plot: clEnqueueReadBuffer", err);
    /* The uploads read host until they complete, and the caller reuses it next. */
    for (int i = 0; i < 2; ++i)
        if (up[i]) {
            clWaitForEvents(1, &up[i]);
            clReleaseEvent(up[i]);
        }
    if (done)
        clReleaseEvent(done);
    for (int i = 0; i < 3; ++i)
        if (buf[i])
            clReleaseMemObject(buf[i]);
    return code;
}

/* The curve's points, then its values (and derivatives) from the device, as doubles. */
static int compute_curve(clact_context *ctx, const plot_opts *o, curve *c) {
    size_t cap = o->points + 3 * MAX_KINKS, size = clact_dtype_size(o->dtype);
    c->x = malloc(cap * sizeof(double));
    c->y = malloc(cap * sizeof(double));
    c->dy = o->grad ? malloc(cap * sizeof(double)) : NULL;
    unsigned char *host = malloc(2 * cap * size);
    if (!c->x || !c->y || (o->grad && !c->dy) || !host) {
        free(host);
        return clact_cli_fail(EXIT_RUNTIME, "plot: out of memory");
    }
    c->n = grid(o, &c->act, c->x);
    for (size_t i = 0; i < c->n; ++i) {
        clact_cli_store(o->dtype, host, i, c->x[i]);
        clact_cli_store(o->dtype, host + c->n * size, i, 1.0);
    }
    int code = run_curve(ctx, o, c, host);
    for (size_t i = 0; i < c->n && code == EXIT_OK; ++i) {
        c->y[i] = clact_cli_load(o->dtype, host, i);
        if (o->grad)
            c->dy[i] = clact_cli_load(o->dtype, host + c->n * size, i);
    }
    free(host);
    return code;
}

/* ---- what it draws ------------------------------------------------------------------------ */

/* A y range showing every finite value with a margin of 5% of their span each side, so that no
 * curve runs along the frame; 0, 0 (svg.c's own range) when there is no span to show. */
static void y_range(const curve *curves, int n, int grad, double *lo, double *hi) {
    double a = INFINITY, b = -INFINITY;
    for (int c = 0; c < n; ++c)
        for (size_t i = 0; i < curves[c].n; ++i) {
            double v = grad ? curves[c].dy[i] : curves[c].y[i];
            if (isfinite(v) && isfinite(curves[c].x[i]))
                a = fmin(a, v), b = fmax(b, v);
        }
    double margin = (b - a) * 0.05;
    *lo = *hi = 0;
    if (a < b && isfinite(a - margin) && isfinite(b + margin))
        *lo = a - margin, *hi = b + margin;
}

static int write_figure(const plot_opts *o, const curve *curves, int n) {
    svg_series series[2][MAX_CURVES];
    for (int c = 0; c < n; ++c) {
        series[0][c] = (svg_series){.name = curves[c].label, .x = curves[c].x, .y = curves[c].y,
                                    .n = curves[c].n};
        series[1][c] = series[0][c];
        series[1][c].y = curves[c].dy;
    }
    char title[2][64];
    const char *dtype = o->dtype == CLACT_F32 ? "" : clact_dtype_name(o->dtype);
    snprintf(title[0], sizeof title[0], "Activation%s%s", *dtype ? ", " : "", dtype);
    snprintf(title[1], sizeof title[1], "Derivative%s%s", *dtype ? ", " : "", dtype);
    svg_panel panels[2] = {
        {.title = title[0], .xlabel = "x", .ylabel = "f(x)", .series = series[0],
         .nseries = (size_t)n, .x_min = o->lo, .x_max = o->hi},
        {.title = title[1], .xlabel = "x", .ylabel = "f'(x)", .series = series[1],
         .nseries = (size_t)n, .x_min = o->lo, .x_max = o->hi},
    };
    /* One legend, at the right, names the curves of both panels (same order, same colours). */
    panels[0].no_legend = o->grad;
    if (o->ylim)
        panels[0].y_min = o->ylo, panels[0].y_max = o->yhi;
    else
        y_range(curves, n, 0, &panels[0].y_min, &panels[0].y_max);
    if (o->grad)
        y_range(curves, n, 1, &panels[1].y_min, &panels[1].y_max);
    char err[1024];
    if (svg_write_figure(o->out, NULL, panels, o->grad ? 2 : 1, err, sizeof err) != 0)
        return clact_cli_fail(EXIT_USAGE, "plot: %s", err);
    return EXIT_OK;
}

/* OUT.svg's folder must exist and take a new file, and OUT.svg must not be a folder: checked
 * before the device work (svg_write_figure checks again, and writes nothing on failure). */
static int check_out(const char *path) {
    const char *slash = strrchr(path, '/');
    char dir[4096];
    if (slash && (size_t)(slash - path) + 2 > sizeof dir)
        return clact_cli_fail(EXIT_USAGE, "plot: path too long: %s", path);
    if (slash)
        snprintf(dir, sizeof dir, "%.*s", slash == path ? 1 : (int)(slash - path), path);
    else
        snprintf(dir, sizeof dir, ".");
    struct stat st;
    if (stat(dir, &st) != 0)
        return clact_cli_fail(EXIT_USAGE, "plot: cannot write %s: %s: %s", path, dir,
                              strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return clact_cli_fail(EXIT_USAGE, "plot: cannot write %s: %s is not a folder", path, dir);
    if (access(dir, W_OK | X_OK) != 0)
        return clact_cli_fail(EXIT_USAGE, "plot: cannot write %s: %s", path, strerror(errno));
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return clact_cli_fail(EXIT_USAGE, "plot: cannot write %s: it is a folder", path);
    return EXIT_OK;
}

/* The range must hold more than one value of the dtype (bf16 has one between 1000 and 1002). */
static int check_range(const plot_opts *o) {
    double a = in_dtype(o->dtype, o->lo), b = in_dtype(o->dtype, o->hi);
    if (a != b)
        return EXIT_OK;
    if (isinf(a))
        return clact_cli_fail(EXIT_USAGE, "plot: --range %g,%g holds no finite %s number", o->lo,
                              o->hi, clact_dtype_name(o->dtype));
    return clact_cli_fail(EXIT_USAGE, "plot: --range %g,%g holds one %s number only (%g)", o->lo,
                          o->hi, clact_dtype_name(o->dtype), a);
}

int clact_cli_plot_main(int argc, char **argv) {
    plot_opts o;
    curve curves[MAX_CURVES];
    int n = 0;
    memset(curves, 0, sizeof curves);
    int code = parse_opts(argc, argv, &o);
    if (code < 0)
        return EXIT_OK;
    if (code == EXIT_OK)
        code = parse_ops(&o, curves, &n);
    if (code == EXIT_OK)
        code = check_range(&o);
    if (code == EXIT_OK)
        code = check_out(o.out);
    clact_context *ctx = NULL;
    if (code == EXIT_OK)
        code = clact_cli_context(&ctx, o.device);
    for (int c = 0; c < n && code == EXIT_OK; ++c)
        code = compute_curve(ctx, &o, &curves[c]);
    if (code == EXIT_OK)
        code = write_figure(&o, curves, n);
    clact_context_destroy(ctx);
    for (int c = 0; c < n; ++c) {
        free(curves[c].x);
        free(curves[c].y);
        free(curves[c].dy);
    }
    return code;
}
