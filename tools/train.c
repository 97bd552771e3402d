/* SPDX-License-Identifier: MIT */
/* `clact train`: the guide's exercise on the device. One MLP, `DenseBlock(784 -> H, act)` then
 * `nn.Linear(H -> 10)` and the fused cross-entropy, trained with torch.optim's Adam (or AdamW,
 * or SGD) on an MNIST-format dataset (Fashion-MNIST by default) for each activation given, from
 * the same initial weights and the same batch order, so that only the activation differs. It
 * writes the loss of every step and per-epoch figures (test loss and accuracy, time, and why
 * the network trains or not: dead and saturated hidden units, gradient norms) as CSV, draws them
 * as an SVG chart, and prints a summary table.
 *
 * Everything per step stays on the device: the batch is a slice of the training set, which is
 * uploaded once per epoch in that epoch's shuffled order; each step's loss, gradient norms and
 * unit counts go to device buffers that are read once per epoch (and the latest loss when the
 * progress line is redrawn, a few times a second). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "idx.h"
#include "npy.h"
#include "op_args.h"
#include "svg.h"

#define MAX_ACTS 32
#define CLASSES 10

typedef enum optim_kind { OPT_ADAM, OPT_ADAMW, OPT_SGD } optim_kind;
static const char *const optim_names[] = {"adam", "adamw", "sgd"};

typedef struct train_opts {
    clact_activation act[MAX_ACTS];
    char label[MAX_ACTS][64];
    int nact;
    size_t hidden, epochs, batch, limit, eval_batch;
    optim_kind optim;
    double lr, momentum, weight_decay, loss_below;
    int lr_given, wd_given, diagnose, quiet;
    unsigned long long seed;
    const char *data, *out, *save, *save_init, *device;
} train_opts;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- options ---------------------------------------------------------------------------- */

static int parse_size(const char *opt, const char *text, size_t min, size_t *v) {
    char *end;
    errno = 0;
    unsigned long long x = strtoull(text, &end, 10);
    if (end == text || *end || errno == ERANGE || text[0] == '-' || x < min || x > SIZE_MAX / 4)
        return clact_cli_fail(EXIT_USAGE, "train: %s must be an integer >= %zu, not '%s'", opt,
                              min, text);
    *v = (size_t)x;
    return EXIT_OK;
}

static int parse_real(const char *opt, const char *text, double min, double *v) {
    char *end;
    errno = 0;
    double x = strtod(text, &end);
    if (end == text || *end || errno == ERANGE || !(x >= min) || isinf(x))
        return clact_cli_fail(EXIT_USAGE, "train: %s must be a number >= %g, not '%s'", opt, min,
                              text);
    *v = x;
    return EXIT_OK;
}

static int parse_acts(train_opts *o, const char *list) {
    o->nact = 0;
    const char *p = list;
    while (*p) {
        size_t len = strcspn(p, ",");
        if (len == 0 || len >= sizeof o->label[0])
            return clact_cli_fail(EXIT_USAGE, "train: --act: bad list '%s'", list);
        if (o->nact == MAX_ACTS)
            return clact_cli_fail(EXIT_USAGE, "train: --act: more than %d activations", MAX_ACTS);
        memcpy(o->label[o->nact], p, len);
        o->label[o->nact][len] = '\0';
        int code = clact_cli_parse_act_spec("train", o->label[o->nact], &o->act[o->nact]);
        if (code != EXIT_OK)
            return code;
        for (int i = 0; i < o->nact; ++i)
            if (!strcmp(o->label[i], o->label[o->nact]))
                return clact_cli_fail(EXIT_USAGE, "train: --act names '%s' twice", o->label[i]);
        ++o->nact;
        p += len + (p[len] == ',');
    }
    if (!o->nact)
        return clact_cli_fail(EXIT_USAGE, "train: --act needs at least one activation");
    return EXIT_OK;
}

static void train_usage(FILE *f) {
    fprintf(f,
            "usage: clact train [--act LIST] [--hidden H] [--epochs E] [--batch B]\n"
            "                   [--optimizer adam|adamw|sgd] [--lr LR] [--momentum M]\n"
            "                   [--weight-decay WD] [--seed S] [--data DIR] [--limit N]\n"
            "                   [--out DIR] [--save DIR] [--save-init DIR] [--loss-below L]\n"
            "                   [--diagnose|--no-diagnose] [--quiet] [--device SPEC]\n"
            "Trains DenseBlock(784 -> H, act) + Linear(H -> 10) with cross-entropy on an MNIST-format\n"
            "dataset for each activation of LIST (default relu,gelu,tanh; OP or\n"
            "OP:NAME=VALUE, e.g. gelu:approximate=tanh), from the same initial weights and batch\n"
            "order. Defaults: H 256, E 10, B 128, adam with lr 1e-3 (sgd: 0.1), seed 1,\n"
            "--data %s, --out clact-train, --loss-below 0.4,\n"
            "--diagnose (dead and saturated hidden units, gradient norms; computed on the device).\n"
            "Writes OUT/steps.csv, OUT/epochs.csv and OUT/train.svg; --save DIR writes each\n"
            "activation's trained weights as DIR/ACT/fc{1,2}.{weight,bias}.npy (nn.Linear layout),\n"
            "--save-init DIR the initial weights and the batch order (order.npy, epochs x N).\n",
            CLACT_DEFAULT_DATA_DIR);
}

static int parse_opts(int argc, char **argv, train_opts *o) {
    memset(o, 0, sizeof *o);
    o->hidden = 256;
    o->epochs = 10;
    o->batch = 128;
    o->eval_batch = 1000;
    o->optim = OPT_ADAM;
    o->loss_below = 0.4;
    o->diagnose = 1;
    o->seed = 1;
    o->data = CLACT_DEFAULT_DATA_DIR;
    o->out = "clact-train";
    int code = parse_acts(o, "relu,gelu,tanh");
    for (int i = 0; i < argc && code == EXIT_OK; ++i) {
        const char *s = argv[i];
        if (!strcmp(s, "--help") || !strcmp(s, "-h")) {
            train_usage(stdout);
            return -1;
        }
        if (!strcmp(s, "--no-diagnose") || !strcmp(s, "--diagnose")) {
            o->diagnose = s[2] == 'd';
            continue;
        }
        if (!strcmp(s, "--quiet")) {
            o->quiet = 1;
            continue;
        }
        if (strncmp(s, "--", 2))
            return clact_cli_fail(EXIT_USAGE, "train: unexpected argument '%s'", s);
        const char *v = NULL;
        char name[32];
        const char *eq = strchr(s, '=');
        size_t nlen = eq ? (size_t)(eq - s) : strlen(s);
        if (nlen >= sizeof name)
            return clact_cli_fail(EXIT_USAGE, "train: unknown option '%s'", s);
        memcpy(name, s, nlen);
        name[nlen] = '\0';
        if (eq)
            v = eq + 1;
        else if (i + 1 < argc)
            v = argv[++i];
        else
            return clact_cli_fail(EXIT_USAGE, "train: %s needs a value", name);
        if (!strcmp(name, "--act")) {
            code = parse_acts(o, v);
        } else if (!strcmp(name, "--hidden")) {
            code = parse_size(name, v, 1, &o->hidden);
        } else if (!strcmp(name, "--epochs")) {
            code = parse_size(name, v, 1, &o->epochs);
        } else if (!strcmp(name, "--batch")) {
            code = parse_size(name, v, 1, &o->batch);
        } else if (!strcmp(name, "--limit")) {
            code = parse_size(name, v, 1, &o->limit);
        } else if (!strcmp(name, "--optimizer")) {
            int k = 0;
            while (k < 3 && strcmp(v, optim_names[k]))
                ++k;
            if (k == 3)
                return clact_cli_fail(EXIT_USAGE,
                                      "train: --optimizer must be adam, adamw or sgd, not '%s'", v);
            o->optim = (optim_kind)k;
        } else if (!strcmp(name, "--lr")) {
            code = parse_real(name, v, 0.0, &o->lr);
            o->lr_given = 1;
        } else if (!strcmp(name, "--momentum")) {
            code = parse_real(name, v, 0.0, &o->momentum);
        } else if (!strcmp(name, "--weight-decay")) {
            code = parse_real(name, v, 0.0, &o->weight_decay);
            o->wd_given = 1;
        } else if (!strcmp(name, "--loss-below")) {
            code = parse_real(name, v, 0.0, &o->loss_below);
        } else if (!strcmp(name, "--seed")) {
            char *end;
            errno = 0;
            o->seed = strtoull(v, &end, 10);
            if (end == v || *end || errno == ERANGE || v[0] == '-')
                return clact_cli_fail(EXIT_USAGE, "train: --seed must be an integer >= 0, not '%s'",
                                      v);
        } else if (!strcmp(name, "--data")) {
            o->data = v;
        } else if (!strcmp(name, "--out")) {
            o->out = v;
        } else if (!strcmp(name, "--save")) {
            o->save = v;
        } else if (!strcmp(name, "--save-init")) {
            o->save_init = v;
        } else if (!strcmp(name, "--device")) {
            o->device = v;
        } else {
            return clact_cli_fail(EXIT_USAGE, "train: unknown option '%s' (try: clact train --help)",
                                  name);
        }
    }
    if (code != EXIT_OK)
        return code;
    if (!o->lr_given)
        o->lr = o->optim == OPT_SGD ? 0.1 : 1e-3;
    if (!o->wd_given && o->optim == OPT_ADAMW)
        o->weight_decay = 1e-2;
    if (o->momentum > 0 && o->optim != OPT_SGD)
        return clact_cli_fail(EXIT_USAGE, "train: --momentum is for --optimizer sgd");
    return EXIT_OK;
}

/* ---- files -------------------------------------------------------------------------------- */

/* mkdir -p; EXIT_OK or a one-line error. */
static int make_dirs(const char *path) {
    char buf[4096];
    if (strlen(path) >= sizeof buf)
        return clact_cli_fail(EXIT_USAGE, "train: path too long: %s", path);
    strcpy(buf, path);
    for (char *p = buf + 1;; ++p) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            if (mkdir(buf, 0777) != 0 && errno != EEXIST)
                return clact_cli_fail(EXIT_USAGE, "train: cannot create directory %s: %s", buf,
                                      strerror(errno));
            struct stat st;
            if (stat(buf, &st) != 0 || !S_ISDIR(st.st_mode))
                return clact_cli_fail(EXIT_USAGE, "train: %s is not a directory", buf);
            *p = c;
            if (!c)
                break;
        }
    }
    return EXIT_OK;
}

/* A label as a file name: letters, digits, '.', '-' and '_' kept, anything else '_'. */
static void file_safe(char *dst, size_t len, const char *label) {
    size_t i = 0;
    for (; label[i] && i + 1 < len; ++i) {
        char c = label[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '.' || c == '-' || c == '_';
        dst[i] = ok ? c : '_';
    }
    dst[i] = '\0';
}

static int write_npy(const char *dir, const char *name, const char *descr, int ndim,
                     const size_t *shape, void *data, size_t item) {
    char path[4200], err[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    clact_npy a;
    memset(&a, 0, sizeof a);
    snprintf(a.descr, sizeof a.descr, "%s", descr);
    a.ndim = ndim;
    a.count = 1;
    for (int i = 0; i < ndim; ++i)
        a.count *= (a.shape[i] = shape[i]);
    a.item_size = item;
    a.data = data;
    if (clact_npy_write(path, &a, err, sizeof err) != CLACT_OK)
        return clact_cli_fail(EXIT_USAGE, "train: %s", err);
    return EXIT_OK;
}

/* ---- random numbers: splitmix64, a stream per purpose ---------------------------------- */

static uint64_t splitmix(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* U(-bound, bound) as torch.nn.Linear's reset_parameters draws W and b (bound 1/sqrt(in)). */
static void uniform_fill(uint64_t *s, float *a, size_t n, double bound) {
    for (size_t i = 0; i < n; ++i) {
        double u = (double)(splitmix(s) >> 11) * 0x1.0p-53;
        a[i] = (float)(bound * (2.0 * u - 1.0));
    }
}

/* Epoch e's order of the n training samples (Fisher-Yates from the seed). */
static void epoch_order(unsigned long long seed, size_t e, int64_t *order, size_t n) {
    uint64_t s = seed * 0x2545F4914F6CDD1Dull + 0x5851F42D4C957F2Dull * (e + 1);
    for (size_t i = 0; i < n; ++i)
        order[i] = (int64_t)i;
    for (size_t i = n; i > 1; --i) {
        size_t j = (size_t)(splitmix(&s) % i);
        int64_t t = order[i - 1];
        order[i - 1] = order[j];
        order[j] = t;
    }
}

/* ---- the run ------------------------------------------------------------------------------ */

enum { P_W1, P_B1, P_W2, P_B2, NPARAM };
static const char *const param_file[NPARAM] = {"fc1.weight.npy", "fc1.bias.npy", "fc2.weight.npy",
                                               "fc2.bias.npy"};

typedef struct param {
    size_t n;
    float *init;                /* host: the initial values, shared by every activation */
    cl_mem value, grad, s0, s1; /* s0, s1: optimizer state (Adam's moments; SGD's momentum) */
} param;

/* One epoch's figures for one activation. */
typedef struct epoch_stats {
    double train_loss, test_loss, test_acc, train_s, eval_s;
    double dead, saturated; /* fractions of hidden units; saturated NaN where undefined */
    double gnorm_w1, gnorm_w2;
} epoch_stats;

typedef struct train_run {
    const train_opts *o;
    clact_context *ctx;
    cl_context cl;
    cl_command_queue q;
    mnist_set train, test;
    size_t in, n_train, n_test, steps_per_epoch;
    float *xs;     /* host staging of one epoch's shuffled images */
    int32_t *ys;   /* and labels */
    int64_t *order; /* epochs x n_train */
    param p[NPARAM];
    cl_mem xtr, ytr, xte, yte;
    cl_mem z1, h, logits, dlogits, dh, h_te, logits_te, loss_te;
    cl_mem losses, norms, counts;
    float *host_losses, *host_norms, *host_logits;
    cl_uint *host_counts;
    /* results, per activation: epochs x stats, steps losses */
    epoch_stats *stats; /* nact x epochs */
    double *step_loss;  /* nact x epochs x steps */
    FILE *steps_csv, *epochs_csv;
    int tty;
    double progress_at;
} train_run;

static int cl_fail(cl_int err, const char *what) {
    return clact_cli_fail(EXIT_RUNTIME, "train: %s failed: %s (%d)", what, clact_cl_error_name(err),
                          (int)err);
}

static int lib_fail(train_run *r, const char *what) {
    return clact_cli_fail(EXIT_RUNTIME, "train: %s: %s", what,
                          clact_cli_one_line(clact_context_last_error(r->ctx)));
}

static cl_mem dev_alloc(train_run *r, size_t bytes, int *code) {
    if (*code != EXIT_OK)
        return NULL;
    cl_mem m = NULL;
    if (clact_buffer_create(r->ctx, CL_MEM_READ_WRITE, bytes, NULL, &m) != CLACT_OK)
        *code = lib_fail(r, "allocating device memory");
    return m;
}

static int upload(train_run *r, cl_mem m, size_t offset, size_t bytes, const void *src) {
    cl_int err = clEnqueueWriteBuffer(r->q, m, CL_TRUE, offset, bytes, src, 0, NULL, NULL);
    return err == CL_SUCCESS ? EXIT_OK : cl_fail(err, "clEnqueueWriteBuffer");
}

static int download(train_run *r, cl_mem m, size_t offset, size_t bytes, void *dst) {
    cl_int err = clEnqueueReadBuffer(r->q, m, CL_TRUE, offset, bytes, dst, 0, NULL, NULL);
    return err == CL_SUCCESS ? EXIT_OK : cl_fail(err, "clEnqueueReadBuffer");
}

static int zero_fill(train_run *r, cl_mem m, size_t bytes) {
    cl_uint zero = 0;
    cl_int err = clEnqueueFillBuffer(r->q, m, &zero, sizeof zero, 0, bytes, 0, NULL, NULL);
    return err == CL_SUCCESS ? EXIT_OK : cl_fail(err, "clEnqueueFillBuffer");
}

/* The saturation band of an activation's output, where one is meant: tanh's |y| > 0.99, the
 * logistic's y < 0.01 or > 0.99. Other activations have no saturated band: 0. */
static int saturation_band(const clact_activation *act, double *lo, double *hi) {
    switch (act->op) {
    case CLACT_TANH:
    case CLACT_SOFTSIGN: *lo = -0.99, *hi = 0.99; return 1;
    case CLACT_SIGMOID: *lo = 0.01, *hi = 0.99; return 1;
    /* The piecewise ones pass no gradient at their limits: y there is the limit exactly. */
    case CLACT_HARDTANH: *lo = act->param[0], *hi = act->param[1]; return 1;
    case CLACT_RELU6: *lo = -INFINITY, *hi = 6.0; return 1; /* 0: counted as dead */
    case CLACT_HARDSIGMOID: *lo = 0.0, *hi = 1.0; return 1;
    default: *lo = -INFINITY, *hi = INFINITY; return 0;
    }
}

static int setup(train_run *r) {
    const train_opts *o = r->o;
    char err[1024];
    if (mnist_load(o->data, "train", o->limit, &r->train, err, sizeof err) != 0)
        return clact_cli_fail(EXIT_USAGE, "train: %s", err);
    if (o->limit && r->train.n < o->limit)
        return clact_cli_fail(EXIT_USAGE, "train: --limit %zu exceeds the %zu training images",
                              o->limit, r->train.n);
    if (mnist_load(o->data, "t10k", 0, &r->test, err, sizeof err) != 0)
        return clact_cli_fail(EXIT_USAGE, "train: %s", err);
    r->in = r->train.rows * r->train.cols;
    if (r->test.rows * r->test.cols != r->in)
        return clact_cli_fail(EXIT_USAGE, "train: test images are %zux%zu, training images %zux%zu",
                              r->test.rows, r->test.cols, r->train.rows, r->train.cols);
    r->n_train = r->train.n;
    r->n_test = r->test.n;
    r->steps_per_epoch = (r->n_train + o->batch - 1) / o->batch;
    size_t H = o->hidden, B = o->batch < r->n_train ? o->batch : r->n_train, in = r->in;
    size_t E = o->eval_batch < r->n_test ? o->eval_batch : r->n_test;

    /* Initial weights as torch.nn.Linear draws them (U(+-1/sqrt(fan_in)) for W and b), the same
     * for every activation. */
    r->p[P_W1].n = H * in;
    r->p[P_B1].n = H;
    r->p[P_W2].n = CLASSES * H;
    r->p[P_B2].n = CLASSES;
    uint64_t s = o->seed ^ 0xC1AC7u;
    for (int i = 0; i < NPARAM; ++i) {
        r->p[i].init = malloc(r->p[i].n * sizeof(float));
        if (!r->p[i].init)
            return clact_cli_fail(EXIT_RUNTIME, "train: out of host memory");
        uniform_fill(&s, r->p[i].init, r->p[i].n, 1.0 / sqrt((double)(i < P_W2 ? in : H)));
    }
    r->order = malloc(o->epochs * r->n_train * sizeof *r->order);
    r->xs = malloc(r->n_train * in * sizeof *r->xs);
    r->ys = malloc(r->n_train * sizeof *r->ys);
    r->host_losses = malloc(r->steps_per_epoch * sizeof(float));
    r->host_norms = malloc(2 * r->steps_per_epoch * sizeof(float));
    r->host_counts = malloc(2 * H * sizeof(cl_uint));
    r->host_logits = malloc(r->n_test * CLASSES * sizeof(float));
    r->stats = calloc((size_t)o->nact * o->epochs, sizeof *r->stats);
    r->step_loss = calloc((size_t)o->nact * o->epochs * r->steps_per_epoch, sizeof(double));
    if (!r->order || !r->xs || !r->ys || !r->host_losses || !r->host_norms || !r->host_counts ||
        !r->host_logits || !r->stats || !r->step_loss)
        return clact_cli_fail(EXIT_RUNTIME, "train: out of host memory");
    for (size_t e = 0; e < o->epochs; ++e)
        epoch_order(o->seed, e, r->order + e * r->n_train, r->n_train);

    if (o->save_init) {
        int code = make_dirs(o->save_init);
        size_t shapes[NPARAM][2] = {{H, in}, {H, 0}, {CLASSES, H}, {CLASSES, 0}};
        for (int i = 0; i < NPARAM && code == EXIT_OK; ++i)
            code = write_npy(o->save_init, param_file[i], "<f4", (i == P_B1 || i == P_B2) ? 1 : 2,
                             shapes[i], r->p[i].init, 4);
        size_t oshape[2] = {o->epochs, r->n_train};
        if (code == EXIT_OK)
            code = write_npy(o->save_init, "order.npy", "<i8", 2, oshape, r->order, 8);
        if (code != EXIT_OK)
            return code;
    }

    int code = clact_cli_context(&r->ctx, o->device);
    if (code != EXIT_OK)
        return code;
    r->cl = clact_context_cl_context(r->ctx);
    r->q = clact_context_queue(r->ctx);
    r->xtr = dev_alloc(r, r->n_train * in * 4, &code);
    r->ytr = dev_alloc(r, r->n_train * 4, &code);
    r->xte = dev_alloc(r, r->n_test * in * 4, &code);
    r->yte = dev_alloc(r, r->n_test * 4, &code);
    for (int i = 0; i < NPARAM; ++i) {
        r->p[i].value = dev_alloc(r, r->p[i].n * 4, &code);
        r->p[i].grad = dev_alloc(r, r->p[i].n * 4, &code);
        r->p[i].s0 = dev_alloc(r, r->p[i].n * 4, &code);
        r->p[i].s1 = dev_alloc(r, r->p[i].n * 4, &code);
    }
    r->z1 = dev_alloc(r, B * H * 4, &code);
    r->h = dev_alloc(r, B * H * 4, &code);
    r->logits = dev_alloc(r, B * CLASSES * 4, &code);
    r->dlogits = dev_alloc(r, B * CLASSES * 4, &code);
    r->dh = dev_alloc(r, B * H * 4, &code);
    r->h_te = dev_alloc(r, E * H * 4, &code);
    r->logits_te = dev_alloc(r, r->n_test * CLASSES * 4, &code);
    r->loss_te = dev_alloc(r, 4, &code);
    r->losses = dev_alloc(r, r->steps_per_epoch * 4, &code);
    r->norms = dev_alloc(r, 2 * r->steps_per_epoch * 4, &code);
    r->counts = dev_alloc(r, 2 * H * sizeof(cl_uint), &code);
    if (code == EXIT_OK)
        code = upload(r, r->xte, 0, r->n_test * in * 4, r->test.images);
    if (code == EXIT_OK)
        code = upload(r, r->yte, 0, r->n_test * 4, r->test.labels);
    return code;
}

static void teardown(train_run *r) {
    cl_mem *all[] = {&r->xtr, &r->ytr, &r->xte, &r->yte, &r->z1, &r->h, &r->logits, &r->dlogits,
                     &r->dh, &r->h_te, &r->logits_te, &r->loss_te, &r->losses, &r->norms,
                     &r->counts};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; ++i)
        if (*all[i])
            clReleaseMemObject(*all[i]);
    for (int i = 0; i < NPARAM; ++i) {
        cl_mem m[4] = {r->p[i].value, r->p[i].grad, r->p[i].s0, r->p[i].s1};
        for (int k = 0; k < 4; ++k)
            if (m[k])
                clReleaseMemObject(m[k]);
        free(r->p[i].init);
    }
    if (r->ctx)
        clact_context_destroy(r->ctx);
    mnist_free(&r->train);
    mnist_free(&r->test);
    free(r->order);
    free(r->xs);
    free(r->ys);
    free(r->host_losses);
    free(r->host_norms);
    free(r->host_counts);
    free(r->host_logits);
    free(r->stats);
    free(r->step_loss);
    if (r->steps_csv)
        fclose(r->steps_csv);
    if (r->epochs_csv)
        fclose(r->epochs_csv);
}

/* Start an activation: parameters to their initial values, optimizer state to zero. */
static int reset_params(train_run *r) {
    int code = EXIT_OK;
    for (int i = 0; i < NPARAM && code == EXIT_OK; ++i) {
        code = upload(r, r->p[i].value, 0, r->p[i].n * 4, r->p[i].init);
        if (code == EXIT_OK)
            code = zero_fill(r, r->p[i].s0, r->p[i].n * 4);
        if (code == EXIT_OK)
            code = zero_fill(r, r->p[i].s1, r->p[i].n * 4);
    }
    return code;
}

static int optimizer_step(train_run *r, unsigned long long t) {
    const train_opts *o = r->o;
    for (int i = 0; i < NPARAM; ++i) {
        param *p = &r->p[i];
        clact_buffer v = {p->value, 0}, g = {p->grad, 0}, s0 = {p->s0, 0}, s1 = {p->s1, 0};
        clact_status st;
        if (o->optim == OPT_SGD) {
            clact_sgd_desc d = clact_sgd_default(o->lr);
            d.momentum = o->momentum;
            d.weight_decay = o->weight_decay;
            st = clact_sgd_step(r->ctx, &d, CLACT_F32, p->n, t, v, g, s0, 0, NULL, NULL);
        } else {
            clact_adam_desc d =
                o->optim == OPT_ADAMW ? clact_adamw_default(o->lr) : clact_adam_default(o->lr);
            d.weight_decay = o->weight_decay;
            st = clact_adam_step(r->ctx, &d, CLACT_F32, p->n, t, v, g, s0, s1,
                                 (clact_buffer){NULL, 0}, 0, NULL, NULL);
        }
        if (st != CLACT_OK)
            return lib_fail(r, "optimizer step");
    }
    return EXIT_OK;
}

/* One training step on samples [off, off + B) of this epoch's order; its loss goes to
 * losses[k], the squared gradient norms of W1 and W2 to norms[2k], norms[2k + 1]. */
static int train_step(train_run *r, const clact_activation *act, size_t off, size_t B, size_t k,
                      unsigned long long t) {
    const train_opts *o = r->o;
    size_t H = o->hidden, in = r->in;
    clact_dense_desc d1 = {in, H, act, 0}, d2 = {H, CLASSES, NULL, 0};
    /* The pre-activation is kept only where the gradient needs it (gelu, silu, ...). */
    int keep_z = !(clact_backward_saved(act) & CLACT_SAVED_Y);
    clact_buffer none = {NULL, 0}, x = {r->xtr, off * in}, z1 = {keep_z ? r->z1 : NULL, 0},
                 h = {r->h, 0}, logits = {r->logits, 0}, dh = {r->dh, 0};
    clact_context *c = r->ctx;
    if (clact_dense_forward(c, &d1, CLACT_F32, B, x, (clact_buffer){r->p[P_W1].value, 0},
                            (clact_buffer){r->p[P_B1].value, 0}, z1, h, 0, NULL,
                            NULL) != CLACT_OK)
        return lib_fail(r, "dense forward (layer 1)");
    if (clact_dense_forward(c, &d2, CLACT_F32, B, h, (clact_buffer){r->p[P_W2].value, 0},
                            (clact_buffer){r->p[P_B2].value, 0}, none, logits, 0, NULL,
                            NULL) != CLACT_OK)
        return lib_fail(r, "dense forward (layer 2)");
    clact_cross_entropy_desc ce = clact_cross_entropy_default();
    ce.target_type = CLACT_TARGET_INT32;
    size_t shape[2] = {B, CLASSES};
    if (clact_cross_entropy(c, &ce, CLACT_F32, 2, shape, r->logits, 0, r->ytr, off, NULL, 0,
                            r->losses, k, r->dlogits, 0, 0, NULL, NULL) != CLACT_OK)
        return lib_fail(r, "cross-entropy");
    if (clact_dense_backward(c, &d2, CLACT_F32, B, h, (clact_buffer){r->p[P_W2].value, 0}, none,
                             none, (clact_buffer){r->dlogits, 0}, dh,
                             (clact_buffer){r->p[P_W2].grad, 0},
                             (clact_buffer){r->p[P_B2].grad, 0}, 0, NULL, NULL) != CLACT_OK)
        return lib_fail(r, "dense backward (layer 2)");
    if (clact_dense_backward(c, &d1, CLACT_F32, B, x, (clact_buffer){r->p[P_W1].value, 0}, z1, h,
                             dh, none, (clact_buffer){r->p[P_W1].grad, 0},
                             (clact_buffer){r->p[P_B1].grad, 0}, 0, NULL, NULL) != CLACT_OK)
        return lib_fail(r, "dense backward (layer 1)");
    if (o->diagnose) {
        double lo, hi;
        saturation_band(act, &lo, &hi);
        if (clact_unit_stats(c, CLACT_F32, B, H, h, lo, hi, (clact_buffer){r->counts, 0}, 0, NULL,
                             NULL) != CLACT_OK)
            return lib_fail(r, "unit statistics");
        if (clact_sum_squares(c, CLACT_F32, r->p[P_W1].n, (clact_buffer){r->p[P_W1].grad, 0},
                              (clact_buffer){r->norms, 2 * k}, 0, NULL, NULL) != CLACT_OK ||
            clact_sum_squares(c, CLACT_F32, r->p[P_W2].n, (clact_buffer){r->p[P_W2].grad, 0},
                              (clact_buffer){r->norms, 2 * k + 1}, 0, NULL, NULL) != CLACT_OK)
            return lib_fail(r, "gradient norm");
    }
    return optimizer_step(r, t);
}

/* Test loss and accuracy of the current weights (the whole test set, in chunks). */
static int evaluate(train_run *r, const clact_activation *act, double *loss, double *acc) {
    const train_opts *o = r->o;
    size_t H = o->hidden, in = r->in, E = o->eval_batch < r->n_test ? o->eval_batch : r->n_test;
    clact_dense_desc d1 = {in, H, act, 0}, d2 = {H, CLASSES, NULL, 0};
    clact_buffer none = {NULL, 0};
    for (size_t off = 0; off < r->n_test; off += E) {
        size_t b = r->n_test - off < E ? r->n_test - off : E;
        if (clact_dense_forward(r->ctx, &d1, CLACT_F32, b, (clact_buffer){r->xte, off * in},
                                (clact_buffer){r->p[P_W1].value, 0},
                                (clact_buffer){r->p[P_B1].value, 0}, none,
                                (clact_buffer){r->h_te, 0}, 0, NULL, NULL) != CLACT_OK ||
            clact_dense_forward(r->ctx, &d2, CLACT_F32, b, (clact_buffer){r->h_te, 0},
                                (clact_buffer){r->p[P_W2].value, 0},
                                (clact_buffer){r->p[P_B2].value, 0}, none,
                                (clact_buffer){r->logits_te, off * CLASSES}, 0, NULL,
                                NULL) != CLACT_OK)
            return lib_fail(r, "test forward");
    }
    clact_cross_entropy_desc ce = clact_cross_entropy_default();
    ce.target_type = CLACT_TARGET_INT32;
    size_t shape[2] = {r->n_test, CLASSES};
    if (clact_cross_entropy(r->ctx, &ce, CLACT_F32, 2, shape, r->logits_te, 0, r->yte, 0, NULL, 0,
                            r->loss_te, 0, NULL, 0, 0, NULL, NULL) != CLACT_OK)
        return lib_fail(r, "test cross-entropy");
    float l;
    int code = download(r, r->loss_te, 0, 4, &l);
    if (code == EXIT_OK)
        code = download(r, r->logits_te, 0, r->n_test * CLASSES * 4, r->host_logits);
    if (code != EXIT_OK)
        return code;
    size_t right = 0;
    for (size_t i = 0; i < r->n_test; ++i) {
        const float *z = r->host_logits + i * CLASSES;
        int best = 0;
        for (int c = 1; c < CLASSES; ++c)
            if (z[c] > z[best])
                best = c;
        right += best == r->test.labels[i];
    }
    *loss = l;
    *acc = (double)right / (double)r->n_test;
    return EXIT_OK;
}

static void fmt_duration(char *buf, size_t len, double s) {
    if (!(s >= 0) || s > 1e6)
        snprintf(buf, len, "--:--");
    else if (s >= 3600)
        snprintf(buf, len, "%d:%02d:%02d", (int)(s / 3600), (int)fmod(s / 60, 60), (int)fmod(s, 60));
    else
        snprintf(buf, len, "%d:%02d", (int)(s / 60), (int)fmod(s, 60));
}

/* The in-place progress line (terminals only): reads the latest step's loss. */
static int progress(train_run *r, int a, size_t e, size_t k, double t0, size_t samples) {
    double t = now_s();
    if (!r->tty || r->o->quiet || t < r->progress_at)
        return EXIT_OK;
    r->progress_at = t + 0.25;
    float l;
    int code = download(r, r->losses, k * 4, 4, &l);
    if (code != EXIT_OK)
        return code;
    double rate = samples / (t - t0 > 1e-9 ? t - t0 : 1e-9);
    double left = (double)(r->o->epochs * r->n_train - samples) / rate;
    char eta[32];
    fmt_duration(eta, sizeof eta, left);
    fprintf(stderr, "\r\033[K%-12s epoch %zu/%zu  step %zu/%zu  loss %.4f  %.0f samples/s  ETA %s",
            r->o->label[a], e + 1, r->o->epochs, k + 1, r->steps_per_epoch, l, rate, eta);
    fflush(stderr);
    return EXIT_OK;
}

static int train_one(train_run *r, int a) {
    const train_opts *o = r->o;
    const clact_activation *act = &o->act[a];
    size_t H = o->hidden, in = r->in, N = r->n_train;
    double lo, hi;
    int has_band = saturation_band(act, &lo, &hi);
    int code = reset_params(r);
    unsigned long long t = 0;
    double t_start = now_s();
    size_t samples_done = 0;
    for (size_t e = 0; e < o->epochs && code == EXIT_OK; ++e) {
        /* This epoch's order: the images and labels gathered on the host and uploaded once (the
         * epoch's time includes it). */
        double t0 = now_s();
        const int64_t *ord = r->order + e * N;
        for (size_t i = 0; i < N; ++i) {
            memcpy(r->xs + i * in, r->train.images + (size_t)ord[i] * in, in * sizeof(float));
            r->ys[i] = r->train.labels[ord[i]];
        }
        code = upload(r, r->xtr, 0, N * in * 4, r->xs);
        if (code == EXIT_OK)
            code = upload(r, r->ytr, 0, N * 4, r->ys);
        if (code == EXIT_OK && o->diagnose)
            code = zero_fill(r, r->counts, 2 * H * sizeof(cl_uint));
        for (size_t k = 0; k < r->steps_per_epoch && code == EXIT_OK; ++k) {
            size_t off = k * o->batch, B = N - off < o->batch ? N - off : o->batch;
            code = train_step(r, act, off, B, k, ++t);
            samples_done += B;
            if (code == EXIT_OK)
                code = progress(r, a, e, k, t_start, samples_done);
        }
        if (code == EXIT_OK)
            code = download(r, r->losses, 0, r->steps_per_epoch * 4, r->host_losses);
        if (code != EXIT_OK)
            break;
        double t1 = now_s();
        epoch_stats *s = &r->stats[(size_t)a * o->epochs + e];
        s->train_s = t1 - t0;
        code = evaluate(r, act, &s->test_loss, &s->test_acc);
        s->eval_s = now_s() - t1;
        if (code == EXIT_OK && o->diagnose) {
            code = download(r, r->norms, 0, 2 * r->steps_per_epoch * 4, r->host_norms);
            if (code == EXIT_OK)
                code = download(r, r->counts, 0, 2 * H * sizeof(cl_uint), r->host_counts);
        }
        if (code != EXIT_OK)
            break;
        double sum = 0, g1 = 0, g2 = 0;
        for (size_t k = 0; k < r->steps_per_epoch; ++k) {
            size_t B = N - k * o->batch < o->batch ? N - k * o->batch : o->batch;
            double l = r->host_losses[k];
            sum += l * (double)B;
            r->step_loss[((size_t)a * o->epochs + e) * r->steps_per_epoch + k] = l;
            if (r->steps_csv)
                fprintf(r->steps_csv, "%s,%zu,%zu,%.7g\n", o->label[a], e + 1,
                        e * r->steps_per_epoch + k + 1, l);
            g1 += sqrt(r->host_norms[2 * k]);
            g2 += sqrt(r->host_norms[2 * k + 1]);
        }
        s->train_loss = sum / (double)N;
        s->dead = s->saturated = s->gnorm_w1 = s->gnorm_w2 = NAN;
        if (o->diagnose) {
            size_t dead = 0, sat = 0;
            for (size_t u = 0; u < H; ++u) {
                dead += r->host_counts[u] == 0;
                sat += 2 * (size_t)r->host_counts[H + u] > N;
            }
            s->dead = (double)dead / (double)H;
            s->saturated = has_band ? (double)sat / (double)H : NAN;
            s->gnorm_w1 = g1 / (double)r->steps_per_epoch;
            s->gnorm_w2 = g2 / (double)r->steps_per_epoch;
        }
        if (r->epochs_csv) {
            fprintf(r->epochs_csv, "%s,%zu,%.7g,%.7g,%.5f,%.4f,%.4f", o->label[a], e + 1,
                    s->train_loss, s->test_loss, s->test_acc, s->train_s, s->eval_s);
            if (o->diagnose) {
                fprintf(r->epochs_csv, ",%.5f,", s->dead);
                if (has_band)
                    fprintf(r->epochs_csv, "%.5f", s->saturated);
                fprintf(r->epochs_csv, ",%.6g,%.6g", s->gnorm_w1, s->gnorm_w2);
            } else {
                fprintf(r->epochs_csv, ",,,,");
            }
            fprintf(r->epochs_csv, "\n");
            fflush(r->epochs_csv);
            fflush(r->steps_csv);
        }
        if (!o->quiet) {
            char diag[128] = "";
            if (o->diagnose) {
                int n = snprintf(diag, sizeof diag, "  dead %.1f%%", 100 * s->dead);
                if (has_band)
                    snprintf(diag + n, sizeof diag - (size_t)n, "  saturated %.1f%%",
                             100 * s->saturated);
            }
            fprintf(stderr,
                    "%s%-12s epoch %zu/%zu  train loss %.4f  test loss %.4f  test acc %.4f  "
                    "%.2f s%s\n",
                    r->tty ? "\r\033[K" : "", o->label[a], e + 1, o->epochs, s->train_loss,
                    s->test_loss, s->test_acc, s->train_s, diag);
        }
    }
    if (code == EXIT_OK && o->save) {
        char name[64], dir[4200];
        file_safe(name, sizeof name, o->label[a]);
        snprintf(dir, sizeof dir, "%s/%s", o->save, name);
        code = make_dirs(dir);
        size_t shapes[NPARAM][2] = {{H, in}, {H, 0}, {CLASSES, H}, {CLASSES, 0}};
        for (int i = 0; i < NPARAM && code == EXIT_OK; ++i) {
            float *v = malloc(r->p[i].n * sizeof(float));
            if (!v)
                return clact_cli_fail(EXIT_RUNTIME, "train: out of host memory");
            code = download(r, r->p[i].value, 0, r->p[i].n * 4, v);
            if (code == EXIT_OK)
                code = write_npy(dir, param_file[i], "<f4", (i == P_B1 || i == P_B2) ? 1 : 2,
                                 shapes[i], v, 4);
            free(v);
        }
    }
    return code;
}

/* ---- what it shows ------------------------------------------------------------------------ */

static int write_chart(train_run *r, int done) {
    const train_opts *o = r->o;
    size_t steps = o->epochs * r->steps_per_epoch;
    /* The loss panel shows means over windows of w steps (about 200 points a curve). */
    size_t w = steps / 200 ? steps / 200 : 1, np = (steps + w - 1) / w;
    size_t nseries = (size_t)done;
    double *buf = calloc((size_t)done * (2 * np + 6 * o->epochs) + 1, sizeof(double));
    svg_series *loss = calloc((size_t)done + 1, sizeof *loss);
    svg_series *acc = calloc((size_t)done + 1, sizeof *acc);
    svg_series *units = calloc(2 * (size_t)done + 1, sizeof *units);
    char(*names)[96] = calloc(2 * (size_t)done + 1, sizeof *names);
    if (!buf || !loss || !acc || !units || !names) {
        free(buf), free(loss), free(acc), free(units), free(names);
        return clact_cli_fail(EXIT_RUNTIME, "train: out of host memory");
    }
    double *p = buf;
    size_t nunits = 0;
    for (int a = 0; a < done; ++a) {
        const double *sl = r->step_loss + (size_t)a * o->epochs * r->steps_per_epoch;
        double *x = p, *y = p + np;
        p += 2 * np;
        for (size_t i = 0; i < np; ++i) {
            size_t from = i * w, to = from + w < steps ? from + w : steps;
            double s = 0;
            for (size_t k = from; k < to; ++k)
                s += sl[k];
            x[i] = (double)(from + to) / 2.0;
            y[i] = s / (double)(to - from);
        }
        loss[a] = (svg_series){.name = o->label[a], .x = x, .y = y, .n = np};
        double *ex = p, *ay = p + o->epochs, *dy = p + 2 * o->epochs, *sy = p + 3 * o->epochs;
        p += 4 * o->epochs;
        int band = 0;
        for (size_t e = 0; e < o->epochs; ++e) {
            const epoch_stats *s = &r->stats[(size_t)a * o->epochs + e];
            ex[e] = (double)(e + 1);
            ay[e] = 100 * s->test_acc;
            dy[e] = 100 * s->dead;
            sy[e] = 100 * s->saturated;
            band |= !isnan(s->saturated);
        }
        acc[a] = (svg_series){.name = o->label[a], .x = ex, .y = ay, .n = o->epochs, .markers = 1};
        if (o->diagnose) {
            snprintf(names[nunits], sizeof names[0], "%s dead", o->label[a]);
            units[nunits] = (svg_series){.name = names[nunits], .x = ex, .y = dy, .n = o->epochs, .markers = 1};
            ++nunits;
            if (band) {
                snprintf(names[nunits], sizeof names[0], "%s saturated", o->label[a]);
                units[nunits] = (svg_series){.name = names[nunits], .x = ex, .y = sy, .n = o->epochs, .markers = 1, .dashed = 1};
                ++nunits;
            }
        }
    }
    char xlabel[64];
    snprintf(xlabel, sizeof xlabel, "step (batch of %zu)", o->batch);
    char ylabel[64];
    snprintf(ylabel, sizeof ylabel, "cross-entropy (mean of %zu steps)", w);
    svg_panel panels[3] = {
        {.title = "Training loss", .xlabel = xlabel, .ylabel = ylabel, .log_y = 1, .series = loss,
         .nseries = nseries},
        {.title = "Test accuracy", .xlabel = "epoch", .ylabel = "accuracy (%)", .series = acc,
         .nseries = nseries},
        {.title = "Hidden units that stop learning", .xlabel = "epoch", .ylabel = "units (%)",
         .series = units, .nseries = nunits},
    };
    char path[4200], title[256], err[1024];
    snprintf(path, sizeof path, "%s/train.svg", o->out);
    snprintf(title, sizeof title, "MLP %zu-%zu-%d on %s, %s lr %g, batch %zu", r->in, o->hidden,
             CLASSES, o->data, optim_names[o->optim], o->lr, o->batch);
    int code = EXIT_OK;
    if (svg_write_figure(path, title, panels, o->diagnose ? 3 : 2, err, sizeof err) != 0)
        code = clact_cli_fail(EXIT_USAGE, "train: %s", err);
    free(buf), free(loss), free(acc), free(units), free(names);
    return code;
}

static void summary(train_run *r) {
    const train_opts *o = r->o;
    printf("\n%-16s %9s %10s %9s %9s %11s %7s %9s %9s\n", "activation", "test acc", "train loss",
           "test loss", "s/epoch", "loss<", "dead", "saturated", "|dW1|");
    for (int a = 0; a < o->nact; ++a) {
        const epoch_stats *last = &r->stats[(size_t)a * o->epochs + o->epochs - 1];
        double secs = 0;
        size_t below = 0;
        for (size_t e = 0; e < o->epochs; ++e) {
            const epoch_stats *s = &r->stats[(size_t)a * o->epochs + e];
            secs += s->train_s;
            if (!below && s->train_loss < o->loss_below)
                below = e + 1;
        }
        char when[32], dead[16] = "-", sat[16] = "-", gn[16] = "-";
        if (below)
            snprintf(when, sizeof when, "epoch %zu", below);
        else
            snprintf(when, sizeof when, "never");
        if (!isnan(last->dead))
            snprintf(dead, sizeof dead, "%.1f%%", 100 * last->dead);
        if (!isnan(last->saturated))
            snprintf(sat, sizeof sat, "%.1f%%", 100 * last->saturated);
        if (!isnan(last->gnorm_w1))
            snprintf(gn, sizeof gn, "%.4f", last->gnorm_w1);
        printf("%-16s %9.4f %10.4f %9.4f %9.2f %11s %7s %9s %9s\n", o->label[a], last->test_acc,
               last->train_loss, last->test_loss, secs / (double)o->epochs, when, dead, sat, gn);
    }
    printf("(loss< : the first epoch whose mean training loss fell below %g; dead: hidden units "
           "zero for every sample of the last epoch; saturated: |tanh| > 0.99 or sigmoid outside "
           "[0.01, 0.99] on most of its samples; |dW1|: mean gradient norm of W1 over its steps)\n",
           o->loss_below);
}

int clact_cli_train_main(int argc, char **argv) {
    train_opts o;
    int code = parse_opts(argc, argv, &o);
    if (code < 0)
        return EXIT_OK;
    if (code != EXIT_OK)
        return code;
    train_run r;
    memset(&r, 0, sizeof r);
    r.o = &o;
    r.tty = isatty(2);
    code = setup(&r);
    if (code == EXIT_OK)
        code = make_dirs(o.out);
    if (code == EXIT_OK) {
        char path[4200];
        snprintf(path, sizeof path, "%s/steps.csv", o.out);
        r.steps_csv = fopen(path, "w");
        snprintf(path, sizeof path, "%s/epochs.csv", o.out);
        r.epochs_csv = fopen(path, "w");
        if (!r.steps_csv || !r.epochs_csv)
            code = clact_cli_fail(EXIT_USAGE, "train: cannot write %s: %s", path, strerror(errno));
    }
    if (code == EXIT_OK) {
        fprintf(r.steps_csv, "activation,epoch,step,loss\n");
        fprintf(r.epochs_csv, "activation,epoch,train_loss,test_loss,test_accuracy,train_seconds,"
                              "eval_seconds,dead_fraction,saturated_fraction,grad_norm_w1,"
                              "grad_norm_w2\n");
        if (!o.quiet) {
            char dev[256] = "?";
            clGetDeviceInfo(clact_context_device(r.ctx), CL_DEVICE_NAME, sizeof dev - 1, dev, NULL);
            clact_cache_stats cs;
            int tuned = clact_context_cache_stats(r.ctx, &cs) == CLACT_OK &&
                        ((cs.gemm_tuned >> CLACT_F32) & 1);
            fprintf(stderr,
                    "clact train: %zu training and %zu test images from %s; MLP %zu-%zu-%d, %s lr "
                    "%g, batch %zu, %zu epochs, seed %llu, on %s (CLBlast GEMM: %s)\n",
                    r.n_train, r.n_test, o.data, r.in, o.hidden, CLASSES, optim_names[o.optim],
                    o.lr, o.batch, o.epochs, o.seed, dev,
                    tuned ? "tuned by clact tune" : "CLBlast's own parameters; clact tune may help");
        }
    }
    int done = 0;
    for (int a = 0; a < o.nact && code == EXIT_OK; ++a) {
        code = train_one(&r, a);
        if (code == EXIT_OK)
            code = write_chart(&r, ++done);
    }
    if (code == EXIT_OK) {
        summary(&r);
        if (!o.quiet)
            fprintf(stderr, "clact train: wrote %s/steps.csv, %s/epochs.csv and %s/train.svg\n",
                    o.out, o.out, o.out);
    }
    teardown(&r);
    return code;
}
