/* SPDX-License-Identifier: MIT */
/* The persistent program cache (DESIGN.md §4): program binaries on disk, so that a fresh process
 * skips the driver's compile (about 2 s for the activation program on PoCL 3.1).
 *
 * Where: CLACT_CACHE_DIR, else $XDG_CACHE_HOME/clact, else $HOME/.cache/clact; CLACT_CACHE=0
 * turns it off (both read when the context is created: host/env.c). Directories are created
 * 0700, entries 0600.
 *
 * An entry is one file named by a 64-bit hash of its key (clact version, program, dtype, build
 * options, a hash of the sources, device name and vendor, driver version, platform version):
 *   "CLACTBIN" | u32 format | u32 key length | u64 binary length | u64 checksum | key | binary
 * with the checksum (FNV-1a 64) over key and binary. On load everything is checked: magic,
 * format, the full key (not only its hash), lengths against the file size, checksum; then the
 * driver must accept the binary and build it. Anything wrong means a miss: the caller builds
 * from source and stores a fresh entry over the bad one. Nothing here reports an error: a cache
 * that cannot be read or written only costs time.
 *
 * When to store: PoCL's CL_PROGRAM_BINARIES is the program's LLVM bitcode, the same bytes
 * right after clBuildProgram and after kernels have run (measured: 225489 bytes both times);
 * its per-kernel code generation at first launch lands in PoCL's own cache, not in the binary.
 * So the entry is written once, right after a source build, and never waits for a launch. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "disk_cache.h"

#define FORMAT 1u
static const char magic[8] = {'C', 'L', 'A', 'C', 'T', 'B', 'I', 'N'};
enum { HEADER = 8 + 4 + 4 + 8 + 8 };

uint64_t clact__fnv1a(uint64_t h, const void *data, size_t n) {
    const unsigned char *p = data;
    for (size_t i = 0; i < n; ++i)
        h = (h ^ p[i]) * 1099511628211ull;
    return h;
}
#define FNV_START 14695981039346656037ull

/* mkdir -p with mode 0700 for every directory it creates. */
static int make_dirs(char *path) {
    for (char *p = path + 1;; ++p) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            int ok = mkdir(path, 0700) == 0 || errno == EEXIST;
            *p = c;
            if (!ok)
                return 0;
            if (!c)
                break;
        }
    }
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int entry_path(const clact_context *ctx, const char *key, char *path, size_t len, char *dir,
                      size_t dir_len) {
    if (!ctx->env.cache_dir)
        return 0;
    int n = snprintf(dir, dir_len, "%s", ctx->env.cache_dir);
    if (n <= 0 || (size_t)n >= dir_len)
        return 0;
    uint64_t h = clact__fnv1a(FNV_START, key, strlen(key));
    n = snprintf(path, len, "%s/%016llx.clbin", dir, (unsigned long long)h);
    return n > 0 && (size_t)n < len;
}

static void put32(unsigned char *p, uint32_t v) {
    for (int i = 0; i < 4; ++i)
        p[i] = (unsigned char)(v >> (8 * i));
}
static void put64(unsigned char *p, uint64_t v) {
    for (int i = 0; i < 8; ++i)
        p[i] = (unsigned char)(v >> (8 * i));
}
static uint32_t get32(const unsigned char *p) {
    uint32_t v = 0;
    for (int i = 3; i >= 0; --i)
        v = (v << 8) | p[i];
    return v;
}
static uint64_t get64(const unsigned char *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; --i)
        v = (v << 8) | p[i];
    return v;
}

clact__disk_result clact__disk_cache_load(clact_context *ctx, const char *key, const char *options,
                                          cl_program *out) {
    *out = NULL;
    char dir[4096], path[4200];
    if (!entry_path(ctx, key, path, sizeof path, dir, sizeof dir))
        return CLACT__DISK_OFF;
    FILE *f = fopen(path, "rb");
    if (!f)
        return CLACT__DISK_MISS;
    clact__disk_result result = CLACT__DISK_REJECTED;
    unsigned char head[HEADER];
    unsigned char *data = NULL;
    size_t klen = strlen(key);
    if (fread(head, 1, HEADER, f) != HEADER || memcmp(head, magic, 8) ||
        get32(head + 8) != FORMAT || get32(head + 12) != klen)
        goto done;
    uint64_t blen = get64(head + 16), sum = get64(head + 24);
    struct stat st;
    if (fstat(fileno(f), &st) || blen == 0 || (uint64_t)st.st_size != HEADER + klen + blen ||
        blen > (uint64_t)SIZE_MAX - klen)
        goto done;
    data = malloc(klen + (size_t)blen);
    if (!data || fread(data, 1, klen + (size_t)blen, f) != klen + (size_t)blen ||
        memcmp(data, key, klen) || clact__fnv1a(FNV_START, data, klen + (size_t)blen) != sum)
        goto done;
    const unsigned char *bin = data + klen;
    size_t bsize = (size_t)blen;
    cl_int bin_status = CL_SUCCESS, err = CL_SUCCESS;
    cl_program p =
        clCreateProgramWithBinary(ctx->context, 1, &ctx->device, &bsize, &bin, &bin_status, &err);
    if (!p)
        goto done;
    if (bin_status != CL_SUCCESS || clBuildProgram(p, 1, &ctx->device, options, NULL, NULL)) {
        clReleaseProgram(p);
        goto done;
    }
    *out = p;
    result = CLACT__DISK_HIT;
done:
    free(data);
    fclose(f);
    return result;
}

int clact__disk_cache_store(const clact_context *ctx, const char *key, cl_program program) {
    char dir[4096], path[4200], tmp[4300];
    if (!entry_path(ctx, key, path, sizeof path, dir, sizeof dir))
        return 0;
    size_t bsize = 0;
    if (clGetProgramInfo(program, CL_PROGRAM_BINARY_SIZES, sizeof bsize, &bsize, NULL) ||
        bsize == 0)
        return 0;
    size_t klen = strlen(key);
    unsigned char *buf = malloc(HEADER + klen + bsize);
    if (!buf)
        return 0;
    unsigned char *bin = buf + HEADER + klen;
    if (clGetProgramInfo(program, CL_PROGRAM_BINARIES, sizeof bin, &bin, NULL)) {
        free(buf);
        return 0;
    }
    memcpy(buf, magic, 8);
    put32(buf + 8, FORMAT);
    put32(buf + 12, (uint32_t)klen);
    put64(buf + 16, bsize);
    memcpy(buf + HEADER, key, klen);
    put64(buf + 24, clact__fnv1a(FNV_START, buf + HEADER, klen + bsize));
    int ok = 0;
    /* Atomic: a unique temporary file in the same directory, then rename over the entry, so a
     * reader sees the old entry, the new one, or none, never half of one. */
    if (make_dirs(dir) &&
        snprintf(tmp, sizeof tmp, "%s/.tmp-%ld-%p", dir, (long)getpid(), (void *)buf) > 0) {
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0600);
        if (fd >= 0) {
            size_t total = HEADER + klen + bsize, done = 0;
            while (done < total) {
                ssize_t w = write(fd, buf + done, total - done);
                if (w <= 0)
                    break;
                done += (size_t)w;
            }
            ok = close(fd) == 0 && done == total && rename(tmp, path) == 0;
            if (!ok)
                unlink(tmp);
        }
    }
    free(buf);
    return ok;
}
