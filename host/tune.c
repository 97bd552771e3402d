/* SPDX-License-Identifier: MIT */
/* clact_tune_gemm: CLBlast's GEMM parameters for the context's device, within a time budget.
 *
 * What costs time on a device CLBlast does not know (measured on PoCL 3.1's CPU device, 2 cores):
 *  - CLBlast's tuners test one kernel per configuration; a configuration costs its build (0.2 to
 *    0.6 s) and, on PoCL, the code generation of its first launch (up to 3 s for the unrolled
 *    direct kernel), then ten timed runs. A minute tests a few dozen configurations.
 *  - Any change of parameters makes CLBlast build its whole GEMM program again (every level-3
 *    kernel: 13 s on PoCL with a cold driver cache; PoCL then caches it on disk). So the GEMM
 *    routine itself can be timed only for a few parameter sets, and the method threshold
 *    (XGEMM_MIN_INDIRECT_SIZE) can be chosen only among a few values.
 * Hence the plan, for f32 (and f64 with a long budget):
 *  1. time the workload with CLBlast's own parameters (the baseline);
 *  2. time it with CLBlast's own kernels and the method threshold moved across the workload's
 *     dominant GEMM (one build; on PoCL this alone sends the 128 x 256 x 784 GEMMs from the
 *     direct kernel to the faster indirect one). Its cost is the estimate of the last step's;
 *  3. run the tuners, each on a random sample of its configurations sized to its share of what
 *     is left (a first run sized by the stage's known costs, then one that fills the share; what
 *     is left over goes to the Xgemm tuner); the direct kernel's tuner only when wide GEMMs of
 *     the workload run that kernel with the threshold chosen so far;
 *  4. time the workload with the tuned kernels and the better threshold of 1 and 2 (one build);
 *  5. keep the fastest of these, by the workload's weighted time; a changed set must beat the
 *     baseline by 2 % (less is within the noise of repeated timings).
 * A step is started only when its estimate fits what is left of the budget, but a build's real
 * time is known only afterwards. */
#define _POSIX_C_SOURCE 200809L
#include <clblast_c.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tuning.h"

/* The workload: the GEMMs of a 784-256-10 MLP as clact's dense layer calls CLBlast, weighted by
 * calls per epoch (60000 samples in batches of 128: 469 steps; the test set in one batch). The
 * first layer's dx is shown but not weighted: the MLP's input needs no gradient. */
static const clact_tune_shape workload[CLACT_TUNE_SHAPES] = {
    {"784->256 forward", 'N', 'T', 128, 256, 784, 469, {0}, {0}},
    {"784->256 backward dW", 'T', 'N', 256, 784, 128, 469, {0}, {0}},
    {"784->256 backward dx", 'N', 'N', 128, 784, 256, 0, {0}, {0}},
    {"256->10 forward", 'N', 'T', 128, 10, 256, 469, {0}, {0}},
    {"256->10 backward dW", 'T', 'N', 10, 256, 128, 469, {0}, {0}},
    {"256->10 backward dx", 'N', 'N', 128, 256, 10, 469, {0}, {0}},
    {"784->256 test set", 'N', 'T', 10000, 256, 784, 1, {0}, {0}},
    {"256->10 test set", 'N', 'T', 10000, 10, 256, 1, {0}, {0}},
};

/* The tuners, in order of what they are worth to the workload, with their share of the kernel
 * budget and the size they tune at; then, measured on PoCL's CPU device (2 cores, cold driver
 * cache), how many configurations they sample from, their fixed cost per call (building and
 * timing CLBlast's reference configuration; the Xgemm tuner searches two spaces and does that
 * twice) and their cost per configuration. These only size the first run; the second is sized
 * from the first's measured time. Xgemm tunes at m = n = 256: CLBlast 1.5.3's Xgemm tuner
 * corrupted the heap at m = 128 on PoCL (the candidate kernels run in this process). */
typedef struct kernel_stage {
    clact__tuner tuner;
    const char *name;
    size_t m, n, k;
    double share, configurations, fixed_s, each_s;
} kernel_stage;

static const kernel_stage stages[] = {
    {CLACT__TUNE_XGEMM, "Xgemm", 256, 256, 768, 0.5, 120800, 4.0, 1.5},
    {CLACT__TUNE_XGEMM_DIRECT, "XgemmDirect", 128, 256, 784, 0.3, 8420, 1.0, 2.0},
    {CLACT__TUNE_PAD, "Pad", 1024, 1024, 0, 0.1, 81, 0.6, 0.3},
    {CLACT__TUNE_PADTRANSPOSE, "Padtranspose", 1024, 1024, 0, 0.1, 40, 0.6, 1.2},
};
enum { STAGES = sizeof stages / sizeof stages[0] };

/* A tuned set must save more than this fraction of the workload's time to win. */
#define MARGIN 0.02

typedef struct session {
    clact_context *ctx;
    cl_command_queue queue; /* our own, in order: CLBlast's tuners need that */
    cl_mem a, b, c, temp;
    size_t temp_bytes;
    double *ha, *hb; /* host copies of a and b (values exact in float), for checking results */
    char wrong[256]; /* why the last measure() rejected a result ("" when none was) */
    double start, end; /* the budget, in now_s() time */
    clact_tune_progress progress;
    void *user;
    clact_tune_report *report;
} session;

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void stage(const session *s, clact_dtype dtype, const char *what) {
    if (!s->progress)
        return;
    double done = (now_s() - s->start) / (s->end - s->start);
    char text[128];
    snprintf(text, sizeof text, "%s: %s", clact_dtype_name(dtype), what);
    s->progress(s->user, done < 0 ? 0 : done > 1 ? 1 : done, text);
}

/* ---- Timing the workload ---- */

static size_t elements_a(const clact_tune_shape *g) { return g->m * g->k; }
static size_t elements_b(const clact_tune_shape *g) { return g->k * g->n; }
static size_t elements_c(const clact_tune_shape *g) { return g->m * g->n; }

static clact_status buffers_open(session *s, size_t elem) {
    size_t na = 0, nb = 0, nc = 0;
    for (int i = 0; i < CLACT_TUNE_SHAPES; ++i) {
        na = elements_a(&workload[i]) > na ? elements_a(&workload[i]) : na;
        nb = elements_b(&workload[i]) > nb ? elements_b(&workload[i]) : nb;
        nc = elements_c(&workload[i]) > nc ? elements_c(&workload[i]) : nc;
    }
    cl_int err;
    cl_mem *m[3] = {&s->a, &s->b, &s->c};
    size_t n[3] = {na, nb, nc};
    /* Inputs uniform in [-1, 1) with 12 significant bits (exact in float; no denormals or
     * overflow whatever the GEMM sums), different everywhere: a parameter set that indexes
     * wrongly must give a wrong product, which constant inputs would hide. C starts at 0. */
    s->ha = malloc(na * sizeof *s->ha);
    s->hb = malloc(nb * sizeof *s->hb);
    void *staging = malloc((na > nb ? na : nb) * elem);
    if (!s->ha || !s->hb || !staging) {
        free(staging);
        return clact__fail(s->ctx, CLACT_OUT_OF_MEMORY, "tune: out of host memory");
    }
    unsigned long long r = 0x9E3779B97F4A7C15ull;
    double *host[2] = {s->ha, s->hb};
    for (int i = 0; i < 2; ++i)
        for (size_t j = 0; j < n[i]; ++j) {
            r = r * 6364136223846793005ull + 1442695040888963407ull;
            host[i][j] = (double)((long)(r >> 52) - 2048) / 2048.0;
        }
    const double zero64 = 0.0;
    const float zero32 = 0.0f;
    for (int i = 0; i < 3; ++i) {
        *m[i] = clCreateBuffer(s->ctx->context, CL_MEM_READ_WRITE, n[i] * elem, NULL, &err);
        if (!*m[i])
            return err == CL_MEM_OBJECT_ALLOCATION_FAILURE || err == CL_OUT_OF_HOST_MEMORY
                       ? clact__fail(s->ctx, CLACT_OUT_OF_MEMORY,
                                     "tune: no memory for the workload's matrices (%zu bytes)",
                                     n[i] * elem)
                       : clact__fail_cl(s->ctx, err, "clCreateBuffer (tuning workload)");
        if (i < 2) {
            for (size_t j = 0; j < n[i]; ++j) {
                if (elem == 8)
                    ((double *)staging)[j] = host[i][j];
                else
                    ((float *)staging)[j] = (float)host[i][j];
            }
            err = clEnqueueWriteBuffer(s->queue, *m[i], CL_TRUE, 0, n[i] * elem, staging, 0, NULL,
                                       NULL);
        } else {
            err = clEnqueueFillBuffer(s->queue, *m[i],
                                      elem == 8 ? (const void *)&zero64 : (const void *)&zero32,
                                      elem, 0, n[i] * elem, 0, NULL, NULL);
        }
        if (err != CL_SUCCESS) {
            free(staging);
            return clact__fail_cl(s->ctx, err, "filling the tuning workload's matrices");
        }
    }
    free(staging);
    return CLACT_OK;
}

/* Check the product gemm_once left in c: 8 rows spread over m (the first and the last among
 * them, where padding goes wrong), every column, against long-double dot products of the host
 * copies. A sum of k products in the dtype is within (2k + 4) u sum|terms| of the exact one (u
 * its unit roundoff). Returns 0, or -1 with the first wrong element in s->wrong. CLBlast's tuners
 * check their kernel alone, and CLBlast 1.5.3 turns some of the sets they return into wrong
 * products inside the routine (seen here: a GEMMK=1 Xgemm set on 128 x 256 x 784). */
static int verify(session *s, clact_dtype dt, const clact_tune_shape *g) {
    size_t elem = dt == CLACT_F64 ? 8 : 4;
    long double u = dt == CLACT_F64 ? 0x1p-53L : 0x1p-24L;
    unsigned char *row = malloc(g->n * elem);
    if (!row) {
        snprintf(s->wrong, sizeof s->wrong, "out of host memory checking the result");
        return -1;
    }
    int bad = 0;
    for (int j = 0; j < 8 && !bad; ++j) {
        size_t i = (size_t)j * (g->m - 1) / 7;
        cl_int err = clEnqueueReadBuffer(s->queue, s->c, CL_TRUE, i * g->n * elem, g->n * elem,
                                         row, 0, NULL, NULL);
        if (err != CL_SUCCESS) {
            snprintf(s->wrong, sizeof s->wrong, "reading the result: OpenCL error %d", (int)err);
            bad = 1;
        }
        for (size_t col = 0; col < g->n && !bad; ++col) {
            long double sum = 0, mag = 0;
            for (size_t p = 0; p < g->k; ++p) {
                double a = g->trans_a == 'T' ? s->ha[p * g->m + i] : s->ha[i * g->k + p];
                double b = g->trans_b == 'T' ? s->hb[col * g->k + p] : s->hb[p * g->n + col];
                sum += (long double)a * b;
                mag += fabsl((long double)a * b);
            }
            double got = elem == 8 ? ((double *)row)[col] : ((float *)row)[col];
            if (!(fabsl(got - sum) <= (2.0L * g->k + 4) * u * mag)) {
                snprintf(s->wrong, sizeof s->wrong,
                         "C[%zu][%zu] of %s (%zu x %zu x %zu) is %.9g, the exact value %.9g", i,
                         col, g->name, g->m, g->n, g->k, got, (double)sum);
                bad = 1;
            }
        }
    }
    free(row);
    return bad ? -1 : 0;
}

static CLBlastStatusCode gemm_temp_size(session *s, clact_dtype dt, const clact_tune_shape *g,
                                        size_t *bytes) {
    CLBlastTranspose ta = g->trans_a == 'T' ? CLBlastTransposeYes : CLBlastTransposeNo;
    CLBlastTranspose tb = g->trans_b == 'T' ? CLBlastTransposeYes : CLBlastTransposeNo;
    size_t lda = g->trans_a == 'T' ? g->m : g->k, ldb = g->trans_b == 'T' ? g->k : g->n;
    return (dt == CLACT_F64 ? CLBlastDGemmTempBufferSize : CLBlastSGemmTempBufferSize)(
        CLBlastLayoutRowMajor, ta, tb, g->m, g->n, g->k, 0, lda, 0, ldb, 0, g->n, &s->queue, bytes);
}

/* One GEMM of the workload on our queue, finished when this returns. */
static CLBlastStatusCode gemm_once(session *s, clact_dtype dt, const clact_tune_shape *g) {
    size_t bytes = 0;
    CLBlastStatusCode st = gemm_temp_size(s, dt, g, &bytes);
    if (st != CLBlastSuccess)
        return st;
    if (!s->temp || s->temp_bytes < bytes) {
        if (s->temp)
            clReleaseMemObject(s->temp);
        cl_int err;
        s->temp_bytes = 0;
        s->temp = clCreateBuffer(s->ctx->context, CL_MEM_READ_WRITE, bytes ? bytes : 1, NULL, &err);
        if (!s->temp)
            return CLBlastTempBufferAllocFailure;
        s->temp_bytes = bytes;
    }
    CLBlastTranspose ta = g->trans_a == 'T' ? CLBlastTransposeYes : CLBlastTransposeNo;
    CLBlastTranspose tb = g->trans_b == 'T' ? CLBlastTransposeYes : CLBlastTransposeNo;
    size_t lda = g->trans_a == 'T' ? g->m : g->k, ldb = g->trans_b == 'T' ? g->k : g->n;
    cl_event ev = NULL;
    if (dt == CLACT_F64)
        st = CLBlastDgemmWithTempBuffer(CLBlastLayoutRowMajor, ta, tb, g->m, g->n, g->k, 1.0, s->a,
                                        0, lda, s->b, 0, ldb, 0.0, s->c, 0, g->n, &s->queue, &ev,
                                        s->temp);
    else
        st = CLBlastSgemmWithTempBuffer(CLBlastLayoutRowMajor, ta, tb, g->m, g->n, g->k, 1.0f, s->a,
                                        0, lda, s->b, 0, ldb, 0.0f, s->c, 0, g->n, &s->queue, &ev,
                                        s->temp);
    if (ev)
        clReleaseEvent(ev);
    if (st == CLBlastSuccess) {
        cl_int err = clFinish(s->queue);
        if (err != CL_SUCCESS)
            st = (CLBlastStatusCode)err;
    }
    return st;
}

static int compare(const void *x, const void *y) {
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

/* Median seconds per call of each workload GEMM (after a first call that builds and warms). */
static CLBlastStatusCode measure(session *s, clact_dtype dt, double secs[CLACT_TUNE_SHAPES],
                                 int *failed) {
    s->wrong[0] = '\0';
    for (int i = 0; i < CLACT_TUNE_SHAPES; ++i) {
        const clact_tune_shape *g = &workload[i];
        CLBlastStatusCode st = gemm_once(s, dt, g);
        /* A set that computes a wrong product is no candidate, however fast. */
        if (st == CLBlastSuccess && verify(s, dt, g) != 0)
            st = CLBlastUnexpectedError;
        double t[25], total = 0;
        int reps = 0;
        /* At least 3 timed calls and 50 ms; at most 25 calls. */
        while (st == CLBlastSuccess && reps < 25 && (reps < 3 || total < 0.05)) {
            double t0 = now_s();
            st = gemm_once(s, dt, g);
            t[reps] = now_s() - t0;
            total += t[reps++];
        }
        if (st != CLBlastSuccess) {
            *failed = i;
            return st;
        }
        qsort(t, (size_t)reps, sizeof *t, compare);
        secs[i] = t[reps / 2];
    }
    return CLBlastSuccess;
}

static double weighted(const double secs[CLACT_TUNE_SHAPES]) {
    double sum = 0;
    for (int i = 0; i < CLACT_TUNE_SHAPES; ++i)
        sum += workload[i].calls * secs[i];
    return sum;
}

static double gflops(const clact_tune_shape *g, double secs) {
    return secs > 0 ? 2.0 * (double)g->m * (double)g->n * (double)g->k / secs * 1e-9 : 0;
}

/* ---- The tuners ---- */

/* CLACT_VERBOSE's line for a tuner run. */
static void note_run(const session *s, clact_dtype dt, const kernel_stage *k, double f, double took,
                     int status) {
    clact__verbose_note(s->ctx,
                        "tune %s %s: fraction %.3g (about %.0f configurations) in %.1f s: %s "
                        "(CLBlast status %d)",
                        clact_dtype_name(dt), k->name, f, f * k->configurations, took,
                        status ? "nothing found" : "found", status);
}

/* What a tuner has done so far: the largest fraction it ran, and how long that took. */
typedef struct tuner_state {
    double f, took;
    int found;
} tuner_state;

/* The largest fraction that should fit in `left` seconds for a tuner whose last run, of fraction
 * f, took `took`: at most f scaled by that run's time per fraction (which includes the tuner's
 * fixed cost, so it errs short), and at most f plus the new configurations at the stage's cost
 * per configuration after rerunning the first f (which the driver's cache makes no dearer than
 * it was; that cost bound is what keeps a run that found everything in the cache from promising
 * too much). */
static double fitting(const kernel_stage *k, double f, double took, double left) {
    double by_rate = took > 0 ? f * left / took : 1.0;
    double by_cost = f + (left - took - k->fixed_s) / (k->each_s * k->configurations);
    double g = by_rate < by_cost ? by_rate : by_cost;
    return g < 1.0 ? g : 1.0;
}

/* One more run of a tuner that has run before (ts), with the largest fraction that fits in
 * [now, stage_end), when that is at least half as many configurations again; it repeats the
 * earlier ones, which the driver's cache makes cheap. 1 when it ran. */
static int grow_tuner(session *s, clact_dtype dt, const kernel_stage *k, double stage_end,
                      tuner_state *ts, clact__params *out) {
    double grown = fitting(k, ts->f, ts->took, stage_end - now_s());
    if (ts->f >= 1.0 || grown < 1.5 * ts->f)
        return 0;
    clact__params more;
    double t0 = now_s();
    int st =
        clact__clblast_tune(s->queue, k->tuner, dt == CLACT_F64, k->m, k->n, k->k, grown, &more);
    ts->took = now_s() - t0;
    ts->f = grown;
    note_run(s, dt, k, grown, ts->took, st);
    if (!st) {
        *out = more;
        ts->found = 1;
    }
    return 1;
}

/* Run one tuner within [now, stage_end): a first run sized by the stage's costs to a third of
 * the time (at least two configurations; grown fourfold while it finds none and the next run
 * fits), then grow_tuner. 1 with *out filled when a configuration was found. */
static int run_tuner(session *s, clact_dtype dt, const kernel_stage *k, double stage_end,
                     tuner_state *ts, clact__params *out) {
    double n = ((stage_end - now_s()) / 3 - k->fixed_s) / k->each_s;
    double f = (n > 2 ? n : 2) / k->configurations;
    f = f < 1.0 ? f : 1.0;
    for (;;) {
        double t0 = now_s();
        int st = clact__clblast_tune(s->queue, k->tuner, dt == CLACT_F64, k->m, k->n, k->k, f, out);
        ts->found = !st;
        ts->took = now_s() - t0;
        ts->f = f;
        note_run(s, dt, k, f, ts->took, st);
        double next = f * 4 < 1.0 ? f * 4 : 1.0;
        if (ts->found || f >= 1.0 || fitting(k, f, ts->took, stage_end - now_s()) < next)
            break;
        f = next;
    }
    if (ts->found)
        grow_tuner(s, dt, k, stage_end, ts, out);
    return ts->found;
}

/* ---- Candidates ---- */

/* A parameter set and its timings: CLBlast's own (no sets), or changed ones. Each is timed once
 * right after its build and again in the rounds that compare them all (CLBlast keeps the
 * programs it built, so going back to a set costs no build): the machine's load moves between
 * timings taken far apart, and the median of a set's timings is what counts. */
enum { RUNS = 3 };

typedef struct candidate {
    clact__tuning t;
    double runs[RUNS][CLACT_TUNE_SHAPES];
    int nruns;
    double secs[CLACT_TUNE_SHAPES]; /* per GEMM, the median of the runs */
    double objective, cost;         /* weighted seconds; wall time of the first timing */
} candidate;

static void candidate_update(candidate *c) {
    for (int i = 0; i < CLACT_TUNE_SHAPES; ++i) {
        double v[RUNS] = {0};
        for (int r = 0; r < c->nruns; ++r)
            v[r] = c->runs[r][i];
        qsort(v, (size_t)c->nruns, sizeof *v, compare);
        c->secs[i] = c->nruns % 2 ? v[c->nruns / 2] : (v[c->nruns / 2 - 1] + v[c->nruns / 2]) / 2;
    }
    c->objective = weighted(c->secs);
}

/* Put c's parameters in place (CLBlast's own for a set without kernels) and time the workload
 * once more; a set CLBlast rejects, or whose GEMM fails (a kernel that does not build), stays
 * unmeasured. */
static CLBlastStatusCode time_candidate(session *s, clact_dtype dt, candidate *c, int *failed) {
    if (!c->t.count)
        clact__tuning_reset(s->ctx, dt);
    else if (clact__tuning_apply(s->ctx, dt, &c->t))
        return CLBlastInvalidOverrideKernel;
    if (c->nruns == RUNS)
        return CLBlastSuccess;
    CLBlastStatusCode st = measure(s, dt, c->runs[c->nruns], failed);
    if (st == CLBlastSuccess) {
        ++c->nruns;
        candidate_update(c);
    }
    return st;
}

static void try_candidate(session *s, clact_dtype dt, const char *what, candidate *c) {
    stage(s, dt, what);
    double t0 = now_s();
    int failed = 0;
    time_candidate(s, dt, c, &failed);
    c->cost = now_s() - t0;
    clact__verbose_note(s->ctx, "tune %s: %s: timed in %.1f s: %s %.4f s%s%s",
                        clact_dtype_name(dt), what, c->cost,
                        c->nruns ? "epoch's GEMMs" : "failed", c->nruns ? c->objective : 0,
                        s->wrong[0] ? "; rejected, a wrong result: " : "", s->wrong);
}

/* The integer cube root's floor (the threshold compares m n k with its cube). */
static size_t cube_root(double v) {
    size_t r = (size_t)cbrt(v);
    while ((double)(r + 1) * (r + 1) * (r + 1) <= v)
        ++r;
    while (r > 0 && (double)r * r * r > v)
        --r;
    return r;
}

/* CLBlast's routine parameters with its method threshold moved so that the workload's dominant
 * GEMM (the most weighted time in the baseline) changes method: CLBlast runs its direct kernel
 * where m n k is below XGEMM_MIN_INDIRECT_SIZE cubed, and the indirect kernel with its copies
 * from there on. 0 when CLBlast's routine parameters have no such threshold. */
static int moved_threshold(session *s, clact_dtype dt, const double base[CLACT_TUNE_SHAPES],
                           clact__params *routine) {
    if (clact__clblast_get(s->ctx->device, "GemmRoutine", dt == CLACT_F64, routine))
        return 0;
    int top = 0;
    for (int i = 1; i < CLACT_TUNE_SHAPES; ++i)
        if (workload[i].calls * base[i] > workload[top].calls * base[top])
            top = i;
    const clact_tune_shape *g = &workload[top];
    double mnk = (double)g->m * (double)g->n * (double)g->k;
    for (unsigned i = 0; i < routine->count; ++i) {
        if (strcmp(routine->name[i], "XGEMM_MIN_INDIRECT_SIZE"))
            continue;
        double thr = (double)routine->value[i];
        size_t root = cube_root(mnk);
        /* Direct now (m n k below the cube): the root makes it indirect; else root + 1 makes it
         * direct. */
        routine->value[i] = mnk < thr * thr * thr ? root : root + 1;
        return 1;
    }
    return 0;
}

/* ---- One dtype ---- */

static void report_shapes(clact_tune_report *r, clact_dtype dt, const double before[],
                          const double after[]) {
    for (int i = 0; i < CLACT_TUNE_SHAPES; ++i) {
        r->shapes[i].gflops_before[dt] = gflops(&workload[i], before[i]);
        r->shapes[i].gflops_after[dt] = gflops(&workload[i], after[i]);
    }
}

static clact_status baseline_failed(session *s, clact_dtype dt, CLBlastStatusCode st, int i) {
    const clact_tune_shape *g = &workload[i];
    if (s->wrong[0])
        return clact__fail(s->ctx, CLACT_OPENCL_ERROR,
                           "tune: CLBlast's GEMM with its own parameters gives a wrong result: %s",
                           s->wrong);
    return clact__fail(
        s->ctx, st == CLBlastTempBufferAllocFailure ? CLACT_OUT_OF_MEMORY : CLACT_OPENCL_ERROR,
        "tune: CLBlast %cgemm %zu x %zu x %zu (%c%c) failed with CLBlast's own "
        "parameters: CLBlast status %d",
        dt == CLACT_F64 ? 'D' : 'S', g->m, g->n, g->k, g->trans_a, g->trans_b, (int)st);
}

/* The tuners not in skip, one after the other, each with its share of [now, end); the sets
 * found go into t after what it holds. */
static void run_tuners(session *s, clact_dtype dt, double end, unsigned skip, clact__tuning *t) {
    double shares = 0;
    tuner_state ts[STAGES];
    int slot[STAGES];
    memset(ts, 0, sizeof ts);
    for (int i = 0; i < STAGES; ++i)
        shares += (skip >> i) & 1 ? 0 : stages[i].share;
    for (int i = 0; i < STAGES; ++i) {
        slot[i] = -1;
        if ((skip >> i) & 1)
            continue;
        double stage_end = now_s() + (end - now_s()) * stages[i].share / shares;
        shares -= stages[i].share;
        /* Less than a second would not fit even the first run's build. */
        if (stage_end - now_s() < 1.0)
            continue;
        char what[64];
        snprintf(what, sizeof what, "%s kernel", stages[i].name);
        stage(s, dt, what);
        if (run_tuner(s, dt, &stages[i], stage_end, &ts[i], &t->set[t->count]))
            slot[i] = (int)t->count++;
    }
    /* Time the small spaces did not need (or a cached run saved) goes to the first tuner, whose
     * space is the largest and the most worth sampling more of. */
    if (ts[0].found && end - now_s() >= 2.0) {
        stage(s, dt, "Xgemm kernel, more configurations");
        while (grow_tuner(s, dt, &stages[0], end, &ts[0], &t->set[slot[0]]))
            ;
    }
}

/* The method threshold t sets (else the one in place), or 0 when unknown. */
static size_t threshold_of(session *s, clact_dtype dt, const clact__tuning *t) {
    clact__params routine;
    const clact__params *p = NULL;
    for (unsigned i = 0; i < t->count; ++i)
        if (!strcmp(t->set[i].kernel, "GemmRoutine"))
            p = &t->set[i];
    if (!p && !clact__clblast_get(s->ctx->device, "GemmRoutine", dt == CLACT_F64, &routine))
        p = &routine;
    for (unsigned i = 0; p && i < p->count; ++i)
        if (!strcmp(p->name[i], "XGEMM_MIN_INDIRECT_SIZE"))
            return p->value[i];
    return 0;
}

/* The tuners not worth their time with threshold thr (bits of stages[]): the direct kernel when
 * only narrow GEMMs of the workload run it (a side under 64: launch costs dominate them, and
 * the tuner's sizes are the wide GEMMs'), the indirect kernel and its copies when none does. */
static unsigned tuners_to_skip(size_t thr) {
    if (!thr)
        return 0;
    int direct_wide = 0, indirect = 0;
    double cube = (double)thr * (double)thr * (double)thr;
    for (int i = 0; i < CLACT_TUNE_SHAPES; ++i) {
        const clact_tune_shape *g = &workload[i];
        if (!(g->calls > 0))
            continue;
        if ((double)g->m * (double)g->n * (double)g->k < cube)
            direct_wide |= g->m >= 64 && g->n >= 64 && g->k >= 64;
        else
            indirect = 1;
    }
    unsigned skip = 0;
    for (int i = 0; i < STAGES; ++i)
        if (stages[i].tuner == CLACT__TUNE_XGEMM_DIRECT ? !direct_wide : !indirect)
            skip |= 1u << i;
    return skip;
}

/* The candidates measured, timed again in turn (RUNS - 1 rounds, as time allows: a round costs
 * no build), then the winner: the fastest, where a changed set must beat CLBlast's own by
 * MARGIN (with CLACT_TUNE_KEEP, the tuned kernels, else the moved threshold, whenever measured). */
static const candidate *choose(session *s, clact_dtype dt, double end, unsigned flags,
                               candidate *c[3]) {
    double round = 0;
    for (int i = 0; i < 3; ++i)
        round += c[i]->nruns ? c[0]->cost / 2 : 0;
    stage(s, dt, "timing them again in turn");
    for (int r = 1; r < RUNS && (r == 1 || now_s() + round <= end); ++r)
        for (int i = 0; i < 3; ++i)
            if (c[i]->nruns) {
                int failed = 0;
                if (time_candidate(s, dt, c[i], &failed) != CLBlastSuccess)
                    c[i]->nruns = 0;
            }
    for (int i = 0; i < 3; ++i)
        clact__verbose_note(s->ctx,
                            "tune %s: candidate %d (%u sets): %d timings, median epoch's "
                            "GEMMs %.4f s",
                            clact_dtype_name(dt), i, c[i]->t.count, c[i]->nruns,
                            c[i]->nruns ? c[i]->objective : 0);
    if (!c[0]->nruns)
        return NULL;
    if (flags & CLACT_TUNE_KEEP)
        return c[2]->nruns ? c[2] : c[1]->nruns ? c[1] : c[0];
    const candidate *best = c[0];
    for (int i = 1; i < 3; ++i)
        if (c[i]->nruns && c[i]->objective < (1.0 - MARGIN) * c[0]->objective &&
            c[i]->objective < best->objective)
            best = c[i];
    return best;
}

/* Tune dt until end (see the top of the file). The winner is left applied; *won says whether it
 * is a changed set (then in *result). */
static clact_status tune_dtype(session *s, clact_dtype dt, double end, unsigned flags,
                               clact__tuning *result, int *won) {
    *won = 0;
    memset(result, 0, sizeof *result);
    double begin = now_s();
    s->report->dtypes_measured |= 1u << dt;
    candidate own, moved, tuned;
    memset(&own, 0, sizeof own);
    memset(&moved, 0, sizeof moved);
    memset(&tuned, 0, sizeof tuned);
    stage(s, dt, "timing CLBlast's own parameters");
    int failed = 0;
    CLBlastStatusCode st = time_candidate(s, dt, &own, &failed);
    if (st != CLBlastSuccess)
        return baseline_failed(s, dt, st, failed);
    own.cost = now_s() - begin;
    report_shapes(s->report, dt, own.secs, own.secs);
    clact__verbose_note(s->ctx,
                        "tune %s: CLBlast's own parameters timed in %.1f s: epoch's GEMMs "
                        "%.4f s",
                        clact_dtype_name(dt), own.cost, own.objective);
    /* A candidate builds CLBlast's GEMM program and times the workload, as the baseline did (or
     * found the program in the driver's cache: then a fifth of the budget stands for the build)
     * until one has been measured. */
    double est = own.cost > 0.2 * (end - begin) ? own.cost : 0.2 * (end - begin);
    size_t own_threshold = threshold_of(s, dt, &own.t); /* CLBlast's own are in place now */
    clact__params routine;
    if (moved_threshold(s, dt, own.secs, &routine) && now_s() + 2 * est <= end) {
        moved.t.set[moved.t.count++] = routine;
        try_candidate(s, dt, "timing CLBlast's kernels with the other GEMM method", &moved);
        est = moved.cost > est ? moved.cost : est;
    }
    /* The tuned kernels go with the better method threshold found so far. */
    int moved_better = moved.nruns && moved.objective < own.objective;
    if (moved_better)
        tuned.t = moved.t;
    size_t threshold = moved_better ? threshold_of(s, dt, &moved.t) : own_threshold;
    run_tuners(s, dt, end - est, tuners_to_skip(threshold), &tuned.t);
    if (tuned.t.count > (unsigned)moved_better)
        try_candidate(s, dt, "timing the tuned kernels", &tuned);
    else
        tuned.t.count = 0;
    /* A tuned set whose product was wrong: the kernels' sets one family fewer at a time, the
     * main kernels' first (the one seen wrong), while they add something to the threshold. */
    for (int drop = 0; !tuned.nruns && s->wrong[0] && drop < 2; ++drop) {
        const char *family = drop == 0 ? "Xgemm" : "XgemmDirect";
        clact__tuning kept = {0};
        for (unsigned i = 0; i < tuned.t.count; ++i)
            if (strcmp(tuned.t.set[i].kernel, family))
                kept.set[kept.count++] = tuned.t.set[i];
        if (kept.count == tuned.t.count || kept.count <= (unsigned)moved_better)
            continue;
        tuned.t = kept;
        char what[96];
        snprintf(what, sizeof what, "timing the tuned kernels without the %s set", family);
        try_candidate(s, dt, what, &tuned);
    }
    if (!tuned.nruns)
        tuned.t.count = 0;
    candidate *all[3] = {&own, &moved, &tuned};
    const candidate *best = choose(s, dt, end, flags, all);
    if (!best || best == &own) {
        clact__tuning_reset(s->ctx, dt);
        if (best)
            report_shapes(s->report, dt, own.secs, own.secs);
        return CLACT_OK;
    }
    if (clact__tuning_apply(s->ctx, dt, &best->t)) {
        clact__tuning_reset(s->ctx, dt);
        return CLACT_OK;
    }
    report_shapes(s->report, dt, own.secs, best->secs);
    *result = best->t;
    *won = 1;
    return CLACT_OK;
}

/* ---- The call ---- */

static clact_status session_open(session *s, size_t elem) {
    cl_int err;
    s->queue = clCreateCommandQueue(s->ctx->context, s->ctx->device, 0, &err);
    if (!s->queue)
        return clact__fail_cl(s->ctx, err, "clCreateCommandQueue (tuning)");
    return buffers_open(s, elem);
}

static void session_close(session *s) {
    free(s->ha);
    free(s->hb);
    cl_mem m[4] = {s->a, s->b, s->c, s->temp};
    for (int i = 0; i < 4; ++i)
        if (m[i])
            clReleaseMemObject(m[i]);
    if (s->queue)
        clReleaseCommandQueue(s->queue);
}

/* The tuned sets in place for dtypes this call did not tune (an earlier run's f64), so that the
 * entry written keeps them: kernels whose parameters differ from CLBlast's own. */
static void keep_earlier(clact_context *ctx, clact_dtype dt, clact__tuning *t) {
    memset(t, 0, sizeof *t);
    if (!(clact__tuning_tuned(ctx->device) & (1u << dt)))
        return;
    clact__tuning_current(ctx, dt, t);
}

clact_status clact_tune_gemm(clact_context *ctx, double seconds, unsigned flags,
                             clact_tune_progress progress, void *user, clact_tune_report *report) {
    CLACT__RETURN_IF(!ctx, NULL, CLACT_INVALID_ARGUMENT, "ctx is NULL");
    clact__clear_error(ctx);
    CLACT__RETURN_IF(!(seconds >= 1.0 && seconds <= 86400.0), ctx, CLACT_INVALID_ARGUMENT,
                     "tune: seconds is %g; it must be at least 1 and at most 86400", seconds);
    CLACT__RETURN_IF(flags & ~CLACT_TUNE_KEEP, ctx, CLACT_INVALID_ARGUMENT,
                     "tune: unknown flags 0x%x", flags & ~CLACT_TUNE_KEEP);
    /* The stages write their figures into a report: one of our own when the caller wants none. */
    clact_tune_report own_report;
    memset(&own_report, 0, sizeof own_report);
    clact_tune_report *r = report ? report : &own_report;
    memset(r, 0, sizeof *r);
    r->shape_count = CLACT_TUNE_SHAPES;
    memcpy(r->shapes, workload, sizeof workload);
    session s = {.ctx = ctx, .start = now_s(), .progress = progress, .user = user, .report = r};
    s.end = s.start + seconds;
    int f64 = ctx->has_fp64 && seconds >= 120;
    /* Everything enqueued before is finished first: the tuners time the device alone. */
    cl_int err = clFinish(ctx->queue);
    clact_status st =
        err == CL_SUCCESS ? session_open(&s, f64 ? 8 : 4) : clact__fail_cl(ctx, err, "clFinish");
    clact__tuning results[CLACT_DTYPE_COUNT];
    const clact__tuning *kept[CLACT_DTYPE_COUNT] = {NULL, NULL, NULL, NULL};
    int won = 0;
    if (st == CLACT_OK)
        st = tune_dtype(&s, CLACT_F32, f64 ? s.start + 0.7 * seconds : s.end, flags,
                        &results[CLACT_F32], &won);
    if (won) {
        kept[CLACT_F32] = &results[CLACT_F32];
        r->dtypes_tuned |= 1u << CLACT_F32;
    }
    if (st == CLACT_OK && f64) {
        st = tune_dtype(&s, CLACT_F64, s.end, flags, &results[CLACT_F64], &won);
        if (won) {
            kept[CLACT_F64] = &results[CLACT_F64];
            r->dtypes_tuned |= 1u << CLACT_F64;
        }
    } else if (st == CLACT_OK && ctx->has_fp64) {
        keep_earlier(ctx, CLACT_F64, &results[CLACT_F64]);
        kept[CLACT_F64] = results[CLACT_F64].count ? &results[CLACT_F64] : NULL;
    }
    session_close(&s);
    if (st == CLACT_OK) {
        r->saved = clact__tuning_store(ctx, kept, r->path, sizeof r->path);
        if (!clact__tuning_format(kept, r->parameters, sizeof r->parameters))
            r->parameters[0] = '\0';
    }
    r->seconds = now_s() - s.start;
    if (progress)
        progress(user, 1.0, "done");
    return st;
}
