/* SPDX-License-Identifier: MIT */
/* The environment, read once when a context is created: every variable the library reads is read
 * here (CLACT_DEVICE aside, which picks the device before a context exists: device.c), into
 * ctx->env. A context keeps the settings it was made with, and an op never calls getenv. */
#define _POSIX_C_SOURCE 200809L /* strdup */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Set and not "0". */
static int flag(const char *name) {
    const char *v = getenv(name);
    return v && v[0] && strcmp(v, "0");
}

/* A copy of the variable's value, NULL when unset or empty; *ok 0 when out of memory. */
static char *copy(const char *name, int *ok) {
    const char *v = getenv(name);
    if (!v || !v[0])
        return NULL;
    char *c = strdup(v);
    *ok &= c != NULL;
    return c;
}

/* A positive integer, or 0 when unset; -1 for anything else. */
static long positive(const char *name) {
    const char *v = getenv(name);
    if (!v || !v[0])
        return 0;
    char *end = NULL;
    long n = strtol(v, &end, 10);
    return *end || n < 1 ? -1 : n;
}

/* The disk cache's folder: CLACT_CACHE_DIR, else $XDG_CACHE_HOME/clact (absolute only, as the
 * XDG spec asks), else $HOME/.cache/clact; none when CLACT_CACHE=0 or nothing names a place. */
static char *cache_dir(int *ok) {
    const char *off = getenv("CLACT_CACHE"), *v;
    if (off && !strcmp(off, "0"))
        return NULL;
    char dir[4096];
    int n;
    if ((v = getenv("CLACT_CACHE_DIR")) && v[0])
        n = snprintf(dir, sizeof dir, "%s", v);
    else if ((v = getenv("XDG_CACHE_HOME")) && v[0] == '/')
        n = snprintf(dir, sizeof dir, "%s/clact", v);
    else if ((v = getenv("HOME")) && v[0])
        n = snprintf(dir, sizeof dir, "%s/.cache/clact", v);
    else
        return NULL;
    if (n <= 0 || (size_t)n >= sizeof dir)
        return NULL; /* a path too long to use: no disk cache, as documented for unusable ones */
    char *c = strdup(dir);
    *ok &= c != NULL;
    return c;
}

static clact_status read_softmax_path(clact__env *env) {
    const char *v = getenv("CLACT_SOFTMAX_PATH");
    if (!v || !v[0])
        env->softmax_path = CLACT__PATH_AUTO;
    else if (!strcmp(v, "rows"))
        env->softmax_path = CLACT__PATH_ROWS;
    else if (!strcmp(v, "group"))
        env->softmax_path = CLACT__PATH_GROUP;
    else if (!strcmp(v, "split"))
        env->softmax_path = CLACT__PATH_SPLIT;
    else
        return clact__fail(NULL, CLACT_INVALID_ARGUMENT,
                           "CLACT_SOFTMAX_PATH=%s: not rows, group or split", v);
    return CLACT_OK;
}

clact_status clact__env_read(clact__env *env) {
    memset(env, 0, sizeof *env);
    env->verbose = flag("CLACT_VERBOSE");
    env->no_fp64 = flag("CLACT_NO_FP64");
    long w = positive("CLACT_VECTOR_WIDTH");
    if (w && w != 1 && w != 2 && w != 4 && w != 8 && w != 16)
        return clact__fail(NULL, CLACT_INVALID_ARGUMENT,
                           "CLACT_VECTOR_WIDTH=%s: not 1, 2, 4, 8 or 16",
                           getenv("CLACT_VECTOR_WIDTH"));
    env->vector_width = (unsigned)w;
    long rows = positive("CLACT_SOFTMAX_ROWS_PER_ITEM");
    if (rows < 0)
        return clact__fail(NULL, CLACT_INVALID_ARGUMENT,
                           "CLACT_SOFTMAX_ROWS_PER_ITEM=%s: not a positive integer",
                           getenv("CLACT_SOFTMAX_ROWS_PER_ITEM"));
    env->rows_per_item = (unsigned long)rows;
    CLACT__FORWARD(read_softmax_path(env));
    const char *tables = getenv("CLACT_TABLES");
    if (!tables || !tables[0])
        env->tables = -1;
    else if (!strcmp(tables, "0") || !strcmp(tables, "1"))
        env->tables = tables[0] - '0';
    else
        return clact__fail(NULL, CLACT_INVALID_ARGUMENT, "CLACT_TABLES=%s: not 0 or 1", tables);
    int ok = 1;
    env->cache_dir = cache_dir(&ok);
    env->kernel_dir = copy("CLACT_KERNEL_DIR", &ok);
    env->build_options = copy("CLACT_BUILD_OPTIONS", &ok);
    if (!ok) {
        clact__env_free(env);
        return clact__fail(NULL, CLACT_OUT_OF_MEMORY, "out of host memory reading the environment");
    }
    return CLACT_OK;
}

void clact__env_free(clact__env *env) {
    free(env->cache_dir);
    free(env->kernel_dir);
    free(env->build_options);
    env->cache_dir = env->kernel_dir = env->build_options = NULL;
}
