/* SPDX-License-Identifier: MIT */
/* `clact tune [--device SPEC] [--seconds S] [--keep]`: clact_tune_gemm with a progress line on
 * stderr (in place on a terminal, one line per stage otherwise), then a table of the workload's
 * GEMMs with GFLOP/s before and after, and where the result went. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

enum { DEFAULT_SECONDS = 60 };

typedef struct progress_state {
    int tty;
    int shown; /* a line is on the terminal, not yet ended */
} progress_state;

static void on_progress(void *user, double done, const char *stage) {
    progress_state *p = user;
    if (p->tty) {
        /* \r and erase-to-end: the line is rewritten in place. */
        fprintf(stderr, "\r\033[Kclact: tune: [%3.0f%%] %s", 100 * done, stage);
        p->shown = 1;
    } else {
        fprintf(stderr, "clact: tune: [%3.0f%%] %s\n", 100 * done, stage);
    }
    fflush(stderr);
}

static void end_progress(progress_state *p) {
    if (p->tty && p->shown)
        fputc('\n', stderr);
    p->shown = 0;
}

/* S: a number of seconds in [1, 86400], written in full (no trailing text). */
static int parse_seconds(const char *text, double *seconds) {
    char *end = NULL;
    double v = strtod(text, &end);
    if (!text[0] || *end || !isfinite(v) || v < 1 || v > 86400)
        return clact_cli_fail(
            EXIT_USAGE, "tune: --seconds '%s': expected a number of seconds from 1 to 86400", text);
    *seconds = v;
    return EXIT_OK;
}

static void print_dtype_table(const clact_tune_report *r, clact_dtype dt) {
    int won = (r->dtypes_tuned >> dt) & 1;
    printf("\n%s GEMMs (GFLOP/s, median of repeated calls)%s\n", clact_dtype_name(dt),
           won ? "" : ": CLBlast's own parameters kept (nothing beat them by 2 %)");
    printf("%-22s %-17s %2s %6s %9s %9s %8s\n", "GEMM", "m x n x k", "op", "calls", "before",
           "after", "speed-up");
    double before = 0, after = 0;
    for (size_t i = 0; i < r->shape_count; ++i) {
        const clact_tune_shape *g = &r->shapes[i];
        char mnk[48];
        snprintf(mnk, sizeof mnk, "%zu x %zu x %zu", g->m, g->n, g->k);
        double b = g->gflops_before[dt], a = g->gflops_after[dt];
        printf("%-22s %-17s %c%c %6.0f %9.2f %9.2f %7.2fx\n", g->name, mnk, g->trans_a, g->trans_b,
               g->calls, b, a, b > 0 ? a / b : 0);
        double flop = 2.0 * (double)g->m * (double)g->n * (double)g->k;
        before += b > 0 ? g->calls * flop / (b * 1e9) : 0;
        after += a > 0 ? g->calls * flop / (a * 1e9) : 0;
    }
    printf("one epoch's GEMMs (calls x time): %.3f s before, %.3f s after\n", before, after);
}

static void print_report(const clact_tune_report *r, const char *device) {
    printf("CLBlast GEMM tuning on %s: %.0f s\n", device, r->seconds);
    for (int d = 0; d < CLACT_DTYPE_COUNT; ++d)
        if ((r->dtypes_measured >> d) & 1)
            print_dtype_table(r, (clact_dtype)d);
    const char *lines = strchr(r->parameters, '\n');
    int any = lines && lines[1];
    if (any)
        printf("\nparameters in place (CLBlast kernel families):\n%s", lines + 1);
    if (!r->path[0])
        printf("\nnot saved: the disk cache is off (CLACT_CACHE=0)\n");
    else if (!r->saved)
        printf("\nnot saved: could not write %s\n", r->path);
    else if (any)
        printf("\nsaved to %s; contexts on this device apply it when they are created\n", r->path);
    else
        printf("\nnothing to save: contexts on this device keep CLBlast's own parameters\n");
}

int clact_cli_tune_main(int argc, char **argv) {
    const char *device = NULL;
    double seconds = DEFAULT_SECONDS;
    unsigned flags = 0;
    for (int i = 0; i < argc; ++i) {
        if (!strcmp(argv[i], "--keep")) {
            flags |= CLACT_TUNE_KEEP;
        } else if (!strcmp(argv[i], "--device") && i + 1 < argc) {
            device = argv[++i];
        } else if (!strcmp(argv[i], "--seconds") && i + 1 < argc) {
            if (parse_seconds(argv[++i], &seconds) != EXIT_OK)
                return EXIT_USAGE;
        } else {
            return clact_cli_fail(EXIT_USAGE, "tune: unknown or incomplete argument '%s'", argv[i]);
        }
    }
    clact_context *ctx = NULL;
    int code = clact_cli_context(&ctx, device);
    if (code != EXIT_OK)
        return code;
    char name[256] = "?";
    clGetDeviceInfo(clact_context_device(ctx), CL_DEVICE_NAME, sizeof name - 1, name, NULL);
    progress_state p = {isatty(fileno(stderr)), 0};
    clact_tune_report *r = malloc(sizeof *r);
    if (!r) {
        clact_context_destroy(ctx);
        return clact_cli_fail(EXIT_RUNTIME, "out of memory");
    }
    clact_status st = clact_tune_gemm(ctx, seconds, flags, on_progress, &p, r);
    end_progress(&p);
    if (st != CLACT_OK)
        code = clact_cli_fail(st == CLACT_INVALID_ARGUMENT ? EXIT_USAGE : EXIT_RUNTIME, "%s: %s",
                              clact_status_name(st),
                              clact_cli_one_line(clact_context_last_error(ctx)));
    else
        print_report(r, name);
    free(r);
    clact_context_destroy(ctx);
    return code;
}
