/* SPDX-License-Identifier: MIT */
/* The persistent cache: program binaries and tuning results; see disk_cache.c. */
#ifndef CLACT_HOST_DISK_CACHE_H
#define CLACT_HOST_DISK_CACHE_H
#include <stdint.h>

#include "internal.h"

typedef enum clact__disk_result {
    CLACT__DISK_OFF,      /* CLACT_CACHE=0, or no directory to use (ctx->env.cache_dir NULL) */
    CLACT__DISK_MISS,     /* no entry */
    CLACT__DISK_REJECTED, /* an entry that failed a check, or that the driver refused */
    CLACT__DISK_HIT       /* *out is a built program */
} clact__disk_result;

/* The payload of the entry for key in dir, a file named by key's hash and suffix (".clbin" for
 * programs, ".tune" for tuning results): on a hit, *data (malloc'd, the caller frees it) and
 * *len. A file that fails any check is REJECTED; dir NULL is OFF. */
clact__disk_result clact__disk_read(const char *dir, const char *key, const char *suffix,
                                    unsigned char **data, size_t *len);
/* Write an entry atomically (creating dir 0700 and the file 0600); 1 on success. */
int clact__disk_write(const char *dir, const char *key, const char *suffix, const void *data,
                      size_t len);
/* Remove the entry; 1 when none is left. */
int clact__disk_remove(const char *dir, const char *key, const char *suffix);
/* The entry's path into path; 0 when there is no folder or the path does not fit. */
int clact__disk_path(const char *dir, const char *key, const char *suffix, char *path, size_t len);

/* A program built from the entry for key (built with options), or why there is none. */
clact__disk_result clact__disk_cache_load(clact_context *ctx, const char *key, const char *options,
                                          cl_program *out);
/* Store program's binary under key in ctx's cache folder; 1 on success. Never fails loudly. */
int clact__disk_cache_store(const clact_context *ctx, const char *key, cl_program program);
/* FNV-1a 64 of n bytes, continuing from h (start: 14695981039346656037). */
uint64_t clact__fnv1a(uint64_t h, const void *data, size_t n);

#endif
