/* SPDX-License-Identifier: MIT */
/* CLBlast's GEMM parameters per device: the tuning results `clact tune` saves, loaded and applied
 * when a context is created; see tuning.c. */
#ifndef CLACT_HOST_TUNING_H
#define CLACT_HOST_TUNING_H
#include "clblast_params.h"
#include "internal.h"

/* The kernel families clact overrides, per dtype (f32, f64): the GEMM routine's. */
enum { CLACT__TUNED_KERNELS = 5 };
extern const char *const clact__tuned_kernels[CLACT__TUNED_KERNELS];

/* One dtype's tuning result: the kernels whose parameters differ from CLBlast's own. */
typedef struct clact__tuning {
    unsigned count;
    clact__params set[CLACT__TUNED_KERNELS];
} clact__tuning;

/* At context creation: apply the saved tuning results for ctx's device, if there are any and
 * they have not been applied in this process yet. Never fails: results that are missing, fail a
 * check or do not fit this CLBlast leave its parameters as they are (CLACT_VERBOSE says which;
 * rejected files count in ctx->cache.tuning_rejects). */
void clact__tuning_load(clact_context *ctx);

/* Make CLBlast run, on ctx's device and for dtype (f32 or f64), its own parameters except those
 * in t, for the whole process (CLBlast keeps them per device). All or nothing: on failure the
 * device keeps what it had. Returns CLBlast's status of the failing call, or 0. */
int clact__tuning_apply(clact_context *ctx, clact_dtype dtype, const clact__tuning *t);
/* Back to CLBlast's own parameters for dtype on ctx's device (as before clact changed them). */
void clact__tuning_reset(clact_context *ctx, clact_dtype dtype);
/* The kernels whose parameters for dtype on ctx's device differ now from CLBlast's own. */
void clact__tuning_current(clact_context *ctx, clact_dtype dtype, clact__tuning *t);
/* Bits 1u << dtype of the dtypes whose parameters on device are clact's tuned ones. */
unsigned clact__tuning_tuned(cl_device_id device);

/* The results as the file holds them ("clact tune 1\n", then "f32 Xgemm NAME=V ...\n" lines)
 * into buf; 0 when it does not fit. t is indexed by dtype; NULL entries are left out. */
int clact__tuning_format(const clact__tuning *const t[CLACT_DTYPE_COUNT], char *buf, size_t len);
/* Write the results for ctx's device to the disk cache (replacing any); with no dtype given,
 * remove the entry. 1 on success; 0 with the cache off or on failure. path (may be NULL)
 * receives the file's path. */
int clact__tuning_store(const clact_context *ctx, const clact__tuning *const t[CLACT_DTYPE_COUNT],
                        char *path, size_t path_len);

#endif
