/* SPDX-License-Identifier: MIT */
/* CLBlast's GEMM parameters per device (DESIGN.md §4). `clact tune` (tune.c) finds parameters
 * for the device and saves them in the disk cache beside the program binaries, one entry per
 * device keyed by clact's and CLBlast's versions and the device's name, vendor, driver and
 * platform versions; the first context made on that device in a process loads the entry and
 * hands the parameters to CLBlast (CLBlastOverrideParameters). Devices without an entry keep
 * CLBlast's own parameters (its database's).
 *
 * The payload is text, one line per dtype and kernel family:
 *   clact tune 1
 *   f32 Xgemm GEMMK=0 KREG=1 KWG=32 ...
 *   f32 GemmRoutine XGEMM_MIN_INDIRECT_SIZE=1
 * read strictly: a line that does not parse, a kernel clact does not tune, a dtype twice for a
 * kernel, or a set of names that is not exactly the one this CLBlast has for the kernel rejects
 * the whole file, which then changes nothing.
 *
 * CLBlast keeps parameters per device for the whole process, not per context, so this file keeps
 * a record per device: CLBlast's own parameters as they were before clact first changed them
 * (to go back to them: clact_tune_gemm measures them) and which dtypes run clact's. A process
 * applies the saved results once per device and dtype; later contexts on that device find them
 * in place, whichever way they were created (clact_context_create_from_queue too: the user's own
 * CLBlast calls on that device then run them as well). */
#define _POSIX_C_SOURCE 200809L
#include <clblast_c.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device.h"
#include "disk_cache.h"
#include "tuning.h"

#ifndef CLACT_CLBLAST_VERSION
#define CLACT_CLBLAST_VERSION "unknown"
#endif

const char *const clact__tuned_kernels[CLACT__TUNED_KERNELS] = {"Xgemm", "XgemmDirect", "Pad",
                                                                "Padtranspose", "GemmRoutine"};

static const char header[] = "clact tune 1\n";

/* ---- The per-device record ---- */

enum { DEVICES = 8, PRECISIONS = 2 };

typedef struct device_record {
    cl_device_id device;
    unsigned tuned; /* dtype bits: clact's tuned parameters are in place */
    /* CLBlast's own parameters per precision (0 f32, 1 f64) and kernel, saved before the first
     * change; have[][] says which are saved. */
    unsigned char have[PRECISIONS][CLACT__TUNED_KERNELS];
    clact__params own[PRECISIONS][CLACT__TUNED_KERNELS];
} device_record;

static device_record records[DEVICES];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/* The record of device, made on first need; NULL when the table is full. Under the lock. */
static device_record *record_of(cl_device_id device, int make) {
    for (int i = 0; i < DEVICES; ++i)
        if (records[i].device == device)
            return &records[i];
    if (!make)
        return NULL;
    for (int i = 0; i < DEVICES; ++i) {
        if (!records[i].device) {
            memset(&records[i], 0, sizeof records[i]);
            records[i].device = device;
            return &records[i];
        }
    }
    return NULL;
}

static int kernel_index(const char *name) {
    for (int i = 0; i < CLACT__TUNED_KERNELS; ++i)
        if (!strcmp(clact__tuned_kernels[i], name))
            return i;
    return -1;
}

static int precision_of(clact_dtype dtype) { return dtype == CLACT_F64 ? 1 : 0; }

static CLBlastStatusCode override(cl_device_id device, int prec, const clact__params *p) {
    const char *names[CLACT__PARAMS_MAX];
    for (unsigned i = 0; i < p->count; ++i)
        names[i] = p->name[i];
    return CLBlastOverrideParameters(device, p->kernel,
                                     prec ? CLBlastPrecisionDouble : CLBlastPrecisionSingle,
                                     p->count, names, p->value);
}

static int same_names(const clact__params *a, const clact__params *b) {
    if (a->count != b->count)
        return 0;
    for (unsigned i = 0; i < a->count; ++i)
        if (strcmp(a->name[i], b->name[i]))
            return 0;
    return 1;
}

/* Save CLBlast's own parameters of every kernel for prec (once per process). Under the lock. */
static int save_own(device_record *r, int prec) {
    for (int k = 0; k < CLACT__TUNED_KERNELS; ++k) {
        if (r->have[prec][k])
            continue;
        int s = clact__clblast_get(r->device, clact__tuned_kernels[k], prec, &r->own[prec][k]);
        if (s)
            return s;
        r->have[prec][k] = 1;
    }
    return 0;
}

/* Put CLBlast's own parameters back for prec. Under the lock. */
static void reset_locked(device_record *r, int prec) {
    for (int k = 0; k < CLACT__TUNED_KERNELS; ++k)
        if (r->have[prec][k])
            override(r->device, prec, &r->own[prec][k]);
}

int clact__tuning_apply(clact_context *ctx, clact_dtype dtype, const clact__tuning *t) {
    int prec = precision_of(dtype), status = 0;
    pthread_mutex_lock(&lock);
    device_record *r = record_of(ctx->device, 1);
    if (!r) {
        status = CLBlastNotImplemented; /* more devices than the table holds */
    } else if (!(status = save_own(r, prec))) {
        /* Every set must name exactly the parameters this CLBlast has for its kernel: a file from
         * another CLBlast, or a damaged one, changes nothing. */
        for (unsigned i = 0; i < t->count && !status; ++i) {
            int k = kernel_index(t->set[i].kernel);
            if (k < 0 || !same_names(&t->set[i], &r->own[prec][k]))
                status = CLBlastInvalidOverrideKernel;
        }
        if (!status) {
            reset_locked(r, prec);
            for (unsigned i = 0; i < t->count && !status; ++i)
                status = override(ctx->device, prec, &t->set[i]);
            if (status)
                reset_locked(r, prec);
        }
        if (status || !t->count)
            r->tuned &= ~(1u << dtype);
        else
            r->tuned |= 1u << dtype;
    }
    pthread_mutex_unlock(&lock);
    return status;
}

void clact__tuning_reset(clact_context *ctx, clact_dtype dtype) {
    pthread_mutex_lock(&lock);
    device_record *r = record_of(ctx->device, 0);
    if (r) {
        reset_locked(r, precision_of(dtype));
        r->tuned &= ~(1u << dtype);
    }
    pthread_mutex_unlock(&lock);
}

void clact__tuning_current(clact_context *ctx, clact_dtype dtype, clact__tuning *t) {
    int prec = precision_of(dtype);
    memset(t, 0, sizeof *t);
    pthread_mutex_lock(&lock);
    device_record *r = record_of(ctx->device, 0);
    for (int k = 0; r && k < CLACT__TUNED_KERNELS; ++k) {
        clact__params now;
        if (!r->have[prec][k] ||
            clact__clblast_get(ctx->device, clact__tuned_kernels[k], prec, &now))
            continue;
        const clact__params *own = &r->own[prec][k];
        if (!same_names(&now, own) || memcmp(now.value, own->value, now.count * sizeof *now.value))
            t->set[t->count++] = now;
    }
    pthread_mutex_unlock(&lock);
}

unsigned clact__tuning_tuned(cl_device_id device) {
    pthread_mutex_lock(&lock);
    device_record *r = record_of(device, 0);
    unsigned tuned = r ? r->tuned : 0;
    pthread_mutex_unlock(&lock);
    return tuned;
}

/* ---- The file ---- */

static int key_of(const clact_context *ctx, char *key, size_t len) {
    int n = snprintf(key, len, "clact %d.%d.%d\ntuning CLBlast %s GEMM\n%s", CLACT_VERSION_MAJOR,
                     CLACT_VERSION_MINOR, CLACT_VERSION_PATCH, CLACT_CLBLAST_VERSION,
                     ctx->identity);
    return n > 0 && (size_t)n < len;
}

int clact__tuning_format(const clact__tuning *const t[CLACT_DTYPE_COUNT], char *buf, size_t len) {
    size_t used = 0;
    int n = snprintf(buf, len, "%s", header);
    for (int d = 0; d < CLACT_DTYPE_COUNT && n >= 0 && (size_t)n < len - used; ++d) {
        for (unsigned i = 0; t[d] && i < t[d]->count && n >= 0 && (size_t)n < len - used; ++i) {
            used += (size_t)n;
            const clact__params *p = &t[d]->set[i];
            n = snprintf(buf + used, len - used, "%s %s", clact_dtype_name((clact_dtype)d),
                         p->kernel);
            for (unsigned j = 0; j < p->count && n >= 0 && (size_t)n < len - used; ++j) {
                used += (size_t)n;
                n = snprintf(buf + used, len - used, " %s=%zu", p->name[j], p->value[j]);
            }
            if (n >= 0 && (size_t)n < len - used) {
                used += (size_t)n;
                n = snprintf(buf + used, len - used, "\n");
            }
        }
    }
    return n >= 0 && (size_t)n < len - used;
}

/* One "NAME=VALUE" word: an upper-case name and a decimal value below 2^31. */
static int parse_param(const char *w, size_t wlen, clact__params *p) {
    const char *eq = memchr(w, '=', wlen);
    size_t nlen = eq ? (size_t)(eq - w) : 0;
    if (!eq || nlen == 0 || nlen >= CLACT__PARAM_NAME || p->count >= CLACT__PARAMS_MAX)
        return 0;
    for (size_t i = 0; i < nlen; ++i)
        if (!((w[i] >= 'A' && w[i] <= 'Z') || (w[i] >= '0' && w[i] <= '9') || w[i] == '_'))
            return 0;
    const char *v = eq + 1, *end = w + wlen;
    if (v == end || end - v > 10)
        return 0;
    size_t value = 0;
    for (; v < end; ++v) {
        if (*v < '0' || *v > '9')
            return 0;
        value = value * 10 + (size_t)(*v - '0');
    }
    if (value >= 1u << 31)
        return 0;
    memcpy(p->name[p->count], w, nlen);
    p->name[p->count][nlen] = '\0';
    p->value[p->count++] = value;
    return 1;
}

/* One line (without its newline) into t[dtype]; 0 when it is not one. */
static int parse_line(const char *s, size_t len, clact__tuning t[CLACT_DTYPE_COUNT]) {
    const char *end = s + len, *w = s;
    clact_dtype dtype = CLACT_F32;
    clact__params *p = NULL;
    for (int word = 0; w < end; ++word) {
        const char *sp = memchr(w, ' ', (size_t)(end - w));
        size_t wlen = sp ? (size_t)(sp - w) : (size_t)(end - w);
        char text[CLACT__PARAM_NAME];
        if (word < 2 && (wlen == 0 || wlen >= sizeof text))
            return 0;
        if (word < 2) {
            memcpy(text, w, wlen);
            text[wlen] = '\0';
        }
        if (word == 0) {
            if (clact_dtype_from_name(text, &dtype) != CLACT_OK ||
                (dtype != CLACT_F32 && dtype != CLACT_F64))
                return 0;
        } else if (word == 1) {
            int k = kernel_index(text);
            if (k < 0)
                return 0;
            for (unsigned i = 0; i < t[dtype].count; ++i)
                if (!strcmp(t[dtype].set[i].kernel, text))
                    return 0;
            p = &t[dtype].set[t[dtype].count++];
            memset(p, 0, sizeof *p);
            snprintf(p->kernel, sizeof p->kernel, "%s", text);
        } else if (!parse_param(w, wlen, p)) {
            return 0;
        }
        w += wlen + (sp ? 1 : 0);
        if (sp && w == end)
            return 0; /* a trailing space */
    }
    if (!p || !p->count)
        return 0;
    clact__params_sort(p);
    for (unsigned i = 1; i < p->count; ++i)
        if (!strcmp(p->name[i - 1], p->name[i]))
            return 0;
    return 1;
}

/* The payload into t (indexed by dtype); 0 when it is malformed in any way. */
static int parse(const unsigned char *data, size_t len, clact__tuning t[CLACT_DTYPE_COUNT]) {
    memset(t, 0, CLACT_DTYPE_COUNT * sizeof *t);
    const char *s = (const char *)data, *end = s + len;
    size_t hl = sizeof header - 1;
    if (len <= hl || memcmp(s, header, hl) || s[len - 1] != '\n' || memchr(s, '\0', len))
        return 0;
    for (s += hl; s < end;) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        if (!parse_line(s, (size_t)(nl - s), t))
            return 0;
        s = nl + 1;
    }
    return 1;
}

int clact__tuning_store(const clact_context *ctx, const clact__tuning *const t[CLACT_DTYPE_COUNT],
                        char *path, size_t path_len) {
    char key[1400];
    if (path && path_len)
        path[0] = '\0';
    if (!ctx->env.cache_dir || !key_of(ctx, key, sizeof key))
        return 0;
    if (path)
        clact__disk_path(ctx->env.cache_dir, key, ".tune", path, path_len);
    int any = 0;
    for (int d = 0; d < CLACT_DTYPE_COUNT; ++d)
        any |= t[d] && t[d]->count;
    if (!any)
        return clact__disk_remove(ctx->env.cache_dir, key, ".tune");
    char text[16384];
    return clact__tuning_format(t, text, sizeof text) &&
           clact__disk_write(ctx->env.cache_dir, key, ".tune", text, strlen(text));
}

void clact__tuning_load(clact_context *ctx) {
    char key[1400], path[4200];
    if (!ctx->env.cache_dir || !key_of(ctx, key, sizeof key) ||
        !clact__disk_path(ctx->env.cache_dir, key, ".tune", path, sizeof path))
        return;
    unsigned char *data;
    size_t len;
    clact__disk_result r = clact__disk_read(ctx->env.cache_dir, key, ".tune", &data, &len);
    if (r == CLACT__DISK_MISS || r == CLACT__DISK_OFF)
        return;
    clact__tuning t[CLACT_DTYPE_COUNT];
    const char *why = NULL;
    if (r != CLACT__DISK_HIT)
        why = "not a tuning entry for this device and version, or damaged (checksum)";
    else if (!parse(data, len, t))
        why = "malformed parameter lines";
    free(data);
    unsigned tuned = clact__tuning_tuned(ctx->device);
    for (int d = 0; d < CLACT_DTYPE_COUNT && !why; ++d) {
        if (!t[d].count || (tuned & (1u << d)) || (d == CLACT_F64 && !ctx->has_fp64))
            continue;
        int s = clact__tuning_apply(ctx, (clact_dtype)d, &t[d]);
        if (s) {
            why = "parameters this CLBlast does not take";
            clact__verbose_note(ctx, "CLBlast status %d for the %s parameters", s,
                                clact_dtype_name((clact_dtype)d));
        } else {
            clact__verbose_note(ctx, "CLBlast GEMM parameters (%s) from clact tune: %s",
                                clact_dtype_name((clact_dtype)d), path);
        }
    }
    if (why) {
        ++ctx->cache.tuning_rejects;
        clact__verbose_note(ctx, "ignored tuning results %s: %s; CLBlast keeps its parameters",
                            path, why);
    }
}
