/* SPDX-License-Identifier: MIT */
/* The op arguments that `clact apply` and `clact backward` share: OP, its NAME=VALUE parameters,
 * --dtype, --device, the files; and the check of an input file's element type. */
#include "op_args.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
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
static int parse_softmax(clact_cli_op_args *a, const char **params, int n) {
    int have_dim = 0;
    for (int i = 0; i < n; ++i) {
        if (strncmp(params[i], "dim=", 4)) {
            const char *eq = strchr(params[i], '=');
            if (!eq)
                return clact_cli_fail(EXIT_USAGE, "%s: '%s' is not NAME=VALUE", a->cmd, params[i]);
            return clact_cli_fail(EXIT_USAGE, "%s: %s takes no parameter '%.*s' (only dim)", a->cmd,
                                  a->op_name, (int)(eq - params[i]), params[i]);
        }
        if (have_dim++)
            return clact_cli_fail(EXIT_USAGE, "%s: parameter 'dim' given twice", a->cmd);
        char *end;
        errno = 0;
        a->dim = strtol(params[i] + 4, &end, 10);
        if (end == params[i] + 4 || *end || errno == ERANGE)
            return clact_cli_fail(EXIT_USAGE, "%s: parameter 'dim': '%s' is not an integer", a->cmd,
                                  params[i] + 4);
    }
    if (!have_dim)
        return clact_cli_fail(EXIT_USAGE, "%s: %s needs dim=D (the dimension to normalise over)",
                              a->cmd, a->op_name);
    return EXIT_OK;
}

/* A seed: decimal digits only (no sign, space or base prefix), 0 to 2^64 - 1, read exactly in
 * integers (a double would round seeds above 2^53). */
static int parse_seed(const char *text, unsigned long long *seed) {
    unsigned long long v = 0;
    if (!*text)
        return 0;
    for (; *text; ++text) {
        if (*text < '0' || *text > '9')
            return 0;
        unsigned d = (unsigned)(*text - '0');
        if (v > (ULLONG_MAX - d) / 10)
            return 0;
        v = v * 10 + d;
    }
    *seed = v;
    return 1;
}

/* rrelu's training=0|1 (also true/false, as Python writes them) and seed=S: the call's mode and
 * the generator's key (clact.h, clact_activation). The rule: seed= needs training=1, and
 * training=1 needs seed=, since `clact backward` must be given the forward's seed to draw the
 * same slopes; a default seed would hide a forgotten one. Only apply and backward (allowed)
 * take them: the dense layer that `clact train` runs has no rrelu training mode. 1 when
 * params[i] was one of them (then *code is set), 0 otherwise. */
static int parse_training(clact_cli_op_args *a, const char *key, size_t klen, const char *value,
                          int allowed, int seen[2], int *code) {
    int which = klen == 8 && !strncmp(key, "training", 8) ? 0
                : klen == 4 && !strncmp(key, "seed", 4) ? 1 : -1;
    if (which < 0)
        return 0;
    const char *word = which ? "seed" : "training";
    if (a->act.op != CLACT_RRELU)
        *code = clact_cli_fail(EXIT_USAGE, "%s: %s takes no parameter '%s' (%s= is rrelu's)",
                               a->cmd, a->op_name, word, word);
    else if (!allowed)
        *code = clact_cli_fail(EXIT_USAGE,
                               "%s: rrelu's %s= is for clact apply and clact backward only (the "
                               "dense layer has no rrelu training mode)",
                               a->cmd, word);
    else if (seen[which]++)
        *code = clact_cli_fail(EXIT_USAGE, "%s: parameter '%s' given twice", a->cmd, word);
    else if (which == 1 && !parse_seed(value, &a->act.seed))
        *code = clact_cli_fail(EXIT_USAGE,
                               "%s: parameter 'seed': '%s' is not an integer from 0 to %llu",
                               a->cmd, value, ULLONG_MAX);
    else if (which == 0 && (!strcmp(value, "1") || !strcmp(value, "true") ||
                            !strcmp(value, "True")))
        a->act.training = 1;
    else if (which == 0 && (!strcmp(value, "0") || !strcmp(value, "false") ||
                            !strcmp(value, "False")))
        a->act.training = 0;
    else if (which == 0)
        *code = clact_cli_fail(EXIT_USAGE,
                               "%s: parameter 'training' must be 0 or 1 (or true, false), not '%s'",
                               a->cmd, value);
    return 1;
}

/* NAME=VALUE parameters of an activation, by the library's parameter names, plus
 * approximate=none|tanh, this command's spelling of the choice between gelu and gelu_tanh, and
 * rrelu's training= and seed= where training_allowed (parse_training). */
static int parse_activation(clact_cli_op_args *a, const char **params, int n,
                            int training_allowed) {
    int seen[2] = {0, 0}, seen_approx = 0, seen_training[2] = {0, 0};
    for (int i = 0; i < n; ++i) {
        const char *eq = strchr(params[i], '=');
        if (!eq)
            return clact_cli_fail(EXIT_USAGE, "%s: '%s' is not NAME=VALUE", a->cmd, params[i]);
        size_t klen = (size_t)(eq - params[i]);
        const char *value = eq + 1;
        int code = EXIT_OK;
        if (parse_training(a, params[i], klen, value, training_allowed, seen_training, &code)) {
            if (code != EXIT_OK)
                return code;
            continue;
        }
        if (klen == 11 && !strncmp(params[i], "approximate", 11) &&
            (a->act.op == CLACT_GELU || a->act.op == CLACT_GELU_TANH)) {
            if (seen_approx++)
                return clact_cli_fail(EXIT_USAGE, "%s: approximate given twice", a->cmd);
            if (!strcmp(value, "none") || !strcmp(value, "'none'"))
                a->act.op = CLACT_GELU;
            else if (!strcmp(value, "tanh") || !strcmp(value, "'tanh'"))
                a->act.op = CLACT_GELU_TANH;
            else
                return clact_cli_fail(EXIT_USAGE, "%s: approximate must be none or tanh, not '%s'",
                                      a->cmd, value);
            continue;
        }
        int idx = -1;
        for (int k = 0; k < clact_op_param_count(a->act.op); ++k) {
            const char *name = clact_op_param_name(a->act.op, k);
            if (strlen(name) == klen && !strncmp(name, params[i], klen))
                idx = k;
        }
        if (idx < 0)
            return clact_cli_fail(EXIT_USAGE, "%s: %s takes no parameter '%.*s'", a->cmd,
                                  a->op_name, (int)klen, params[i]);
        if (seen[idx]++)
            return clact_cli_fail(EXIT_USAGE, "%s: parameter '%.*s' given twice", a->cmd, (int)klen,
                                  params[i]);
        if (a->act.op == CLACT_PRELU && idx == 0 && !parse_number(value, &a->act.param[0]))
            a->weight_file = value; /* prelu's weight=W.npy: a weight per channel */
        else if (!parse_number(value, &a->act.param[idx]))
            return clact_cli_fail(EXIT_USAGE, "%s: parameter '%.*s': '%s' is not a number", a->cmd,
                                  (int)klen, params[i], value);
    }
    if (seen_training[1] && !a->act.training)
        return clact_cli_fail(EXIT_USAGE,
                              "%s: rrelu's seed= needs training=1 (evaluation mode draws nothing)",
                              a->cmd);
    if (a->act.training && !seen_training[1])
        return clact_cli_fail(EXIT_USAGE,
                              "%s: rrelu training=1 needs seed=S (the forward's seed, which the "
                              "backward needs to draw the same slopes)",
                              a->cmd);
    char why[256];
    if (clact_activation_check(&a->act, why, sizeof why) != CLACT_OK)
        return clact_cli_fail(EXIT_USAGE, "%s: %s", a->cmd, why);
    return EXIT_OK;
}

static int parse_dtype(clact_cli_op_args *a, const char *v) {
    if (clact_dtype_from_name(v, &a->dtype) != CLACT_OK) {
        char names[128];
        clact_cli_dtype_names(names, sizeof names, ", ", " or ");
        return clact_cli_fail(EXIT_USAGE, "%s: --dtype must be %s, not '%s'", a->cmd, names, v);
    }
    a->dtype_given = 1;
    return EXIT_OK;
}

int clact_cli_parse_op(const char *cmd, int nfiles, int argc, char **argv, clact_cli_op_args *a) {
    const char *pos[64] = {0};
    int npos = 0, code = EXIT_OK;
    memset(a, 0, sizeof *a);
    a->cmd = cmd;
    for (int i = 0; i < argc && code == EXIT_OK; ++i) {
        const char *s = argv[i];
        if (!strcmp(s, "--dtype") || !strcmp(s, "--device") || !strcmp(s, "--weight-grad")) {
            if (i + 1 >= argc)
                return clact_cli_fail(EXIT_USAGE, "%s: %s needs a value", a->cmd, s);
            if (!strcmp(s, "--device"))
                a->device = argv[++i];
            else if (!strcmp(s, "--weight-grad"))
                a->weight_grad = argv[++i];
            else
                code = parse_dtype(a, argv[++i]);
        } else if (!strncmp(s, "--weight-grad=", 14)) {
            a->weight_grad = s + 14;
        } else if (!strncmp(s, "--dtype=", 8)) {
            code = parse_dtype(a, s + 8);
        } else if (!strncmp(s, "--device=", 9)) {
            a->device = s + 9;
        } else if (!strcmp(s, "--summary")) {
            a->summary = 1;
        } else if (s[0] == '-' && s[1] == '-') {
            return clact_cli_fail(EXIT_USAGE, "%s: unknown option '%s'", a->cmd, s);
        } else if (npos < 64) {
            pos[npos++] = s;
        } else {
            return clact_cli_fail(EXIT_USAGE, "%s: too many arguments", a->cmd);
        }
    }
    if (code != EXIT_OK)
        return code;
    if (npos < 1 + nfiles)
        return clact_cli_fail(EXIT_USAGE, "%s: expected OP [NAME=VALUE ...] %s", a->cmd,
                              nfiles == 2 ? "IN.npy OUT.npy" : "X.npy DY.npy DX.npy");
    a->op_name = pos[0];
    for (int f = 0; f < nfiles; ++f)
        a->file[f] = pos[npos - nfiles + f];
    if (clact_softmax_kind_from_name(a->op_name, &a->kind) == CLACT_OK) {
        a->is_softmax = 1;
        return parse_softmax(a, pos + 1, npos - 1 - nfiles);
    }
    clact_op op;
    if (clact_op_from_name(a->op_name, &op) != CLACT_OK)
        return clact_cli_fail(EXIT_USAGE, "%s: unknown op '%s' (try: clact --help)", a->cmd,
                              a->op_name);
    a->act = clact_activation_default(op);
    return parse_activation(a, pos + 1, npos - 1 - nfiles, 1);
}

int clact_cli_parse_act_spec(const char *cmd, const char *spec, clact_activation *act) {
    char buf[256];
    if (strlen(spec) >= sizeof buf)
        return clact_cli_fail(EXIT_USAGE, "%s: activation '%.40s...' is too long", cmd, spec);
    strcpy(buf, spec);
    const char *params[8];
    int n = 0;
    char *colon = strchr(buf, ':');
    while (colon) {
        *colon = '\0';
        if (n == 8)
            return clact_cli_fail(EXIT_USAGE, "%s: too many parameters in '%s'", cmd, spec);
        params[n++] = colon + 1;
        colon = strchr(colon + 1, ':');
    }
    clact_cli_op_args a;
    memset(&a, 0, sizeof a);
    a.cmd = cmd;
    a.op_name = buf;
    clact_op op;
    if (clact_op_from_name(buf, &op) != CLACT_OK)
        return clact_cli_fail(EXIT_USAGE, "%s: unknown activation '%s' (try: clact --help)", cmd,
                              buf);
    a.act = clact_activation_default(op);
    int code = parse_activation(&a, params, n, 0);
    if (code == EXIT_OK)
        *act = a.act;
    return code;
}

/* The file's element type: '<f4', '<f2' or '<f8'; anything else is an input error. */

int clact_cli_check_input(const clact_npy *x, const char *path, clact_dtype *dtype) {
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
