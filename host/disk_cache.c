/* SPDX-License-Identifier: MIT */
/* The persistent cache (DESIGN.md §4): program binaries on disk, so that a fresh process skips
 * the driver's compile (about 2 s for the activation program on PoCL 3.1), and beside them the
 * CLBlast parameters `clact tune` found (tuning.c), in the same kind of entry.
 *
 * Where: CLACT_CACHE_DIR, else $XDG_CACHE_HOME/clact, else $HOME/.cache/clact; CLACT_CACHE=0
 * turns it off (both read when the context is created: host/env.c). Directories are created
 * 0700, entries 0600.
 *
 * An entry is one file named by a 64-bit hash of its key and a suffix for its kind (".clbin" for
 * a program, keyed by clact version, program, dtype, build options, a hash of the sources, device
 * name and vendor, driver version, platform version; ".tune" for tuning results):
 *   "CLACTBIN" | u32 format | u32 key length | u64 payload length | u64 checksum | key | payload
 * with the checksum (FNV-1a 64) over key and payload. On load everything is checked: magic,
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

/* The entry's file: dir/<64-bit hash of key><suffix>; 0 when the path does not fit. */
int clact__disk_path(const char *dir, const char *key, const char *suffix, char *path, size_t len) {
    if (!dir)
        return 0;
    uint64_t h = clact__fnv1a(FNV_START, key, strlen(key));
    int n = snprintf(path, len, "%s/%016llx%s", dir, (unsigned long long)h, suffix);
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

clact__disk_result clact__disk_read(const char *dir, const char *key, const char *suffix,
                                    unsigned char **data, size_t *len) {
    *data = NULL;
    *len = 0;
    char path[4200];
    if (!clact__disk_path(dir, key, suffix, path, sizeof path))
        return CLACT__DISK_OFF;
    /* Nothing but a regular file is read: opened without blocking (a FIFO put in the cache would
     * otherwise block the open, and every op, forever), checked, then read as usual. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return CLACT__DISK_MISS;
    struct stat st;
    int flags = fcntl(fd, F_GETFL);
    if (fstat(fd, &st) || !S_ISREG(st.st_mode) || flags < 0 ||
        fcntl(fd, F_SETFL, flags & ~O_NONBLOCK)) {
        close(fd);
        return CLACT__DISK_REJECTED;
    }
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        close(fd);
        return CLACT__DISK_MISS;
    }
    clact__disk_result result = CLACT__DISK_REJECTED;
    unsigned char head[HEADER];
    unsigned char *buf = NULL;
    size_t klen = strlen(key);
    if (fread(head, 1, HEADER, f) != HEADER || memcmp(head, magic, 8) ||
        get32(head + 8) != FORMAT || get32(head + 12) != klen)
        goto done;
    uint64_t blen = get64(head + 16), sum = get64(head + 24);
    if (blen == 0 || (uint64_t)st.st_size != HEADER + klen + blen ||
        blen > (uint64_t)SIZE_MAX - klen)
        goto done;
    buf = malloc(klen + (size_t)blen);
    if (!buf || fread(buf, 1, klen + (size_t)blen, f) != klen + (size_t)blen ||
        memcmp(buf, key, klen) || clact__fnv1a(FNV_START, buf, klen + (size_t)blen) != sum)
        goto done;
    /* The payload moves to the front of the block, which the caller frees. */
    memmove(buf, buf + klen, (size_t)blen);
    *data = buf;
    *len = (size_t)blen;
    buf = NULL;
    result = CLACT__DISK_HIT;
done:
    free(buf);
    fclose(f);
    return result;
}

int clact__disk_write(const char *dir, const char *key, const char *suffix, const void *data,
                      size_t len) {
    char path[4200], tmp[4300], folder[4096];
    if (!clact__disk_path(dir, key, suffix, path, sizeof path) || len == 0)
        return 0;
    int n = snprintf(folder, sizeof folder, "%s", dir);
    if (n <= 0 || (size_t)n >= sizeof folder)
        return 0;
    size_t klen = strlen(key), total = HEADER + klen + len;
    unsigned char *buf = malloc(total);
    if (!buf)
        return 0;
    memcpy(buf, magic, 8);
    put32(buf + 8, FORMAT);
    put32(buf + 12, (uint32_t)klen);
    put64(buf + 16, len);
    memcpy(buf + HEADER, key, klen);
    memcpy(buf + HEADER + klen, data, len);
    put64(buf + 24, clact__fnv1a(FNV_START, buf + HEADER, klen + len));
    int ok = 0;
    /* Atomic: a unique temporary file in the same directory, then rename over the entry, so a
     * reader sees the old entry, the new one, or none, never half of one. */
    if (make_dirs(folder) &&
        snprintf(tmp, sizeof tmp, "%s/.tmp-%ld-%p", folder, (long)getpid(), (void *)buf) > 0) {
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0600);
        if (fd >= 0) {
            size_t done = 0;
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

int clact__disk_remove(const char *dir, const char *key, const char *suffix) {
    char path[4200];
    return clact__disk_path(dir, key, suffix, path, sizeof path) &&
           (unlink(path) == 0 || errno == ENOENT);
}

clact__disk_result clact__disk_cache_load(clact_context *ctx, const char *key, const char *options,
                                          cl_program *out) {
    *out = NULL;
    unsigned char *bin;
    size_t bsize;
    clact__disk_result result = clact__disk_read(ctx->env.cache_dir, key, ".clbin", &bin, &bsize);
    if (result != CLACT__DISK_HIT)
        return result;
    const unsigned char *cbin = bin;
    cl_int bin_status = CL_SUCCESS, err = CL_SUCCESS;
    cl_program p =
        clCreateProgramWithBinary(ctx->context, 1, &ctx->device, &bsize, &cbin, &bin_status, &err);
    free(bin);
    if (!p)
        return CLACT__DISK_REJECTED;
    if (bin_status != CL_SUCCESS || clBuildProgram(p, 1, &ctx->device, options, NULL, NULL)) {
        clReleaseProgram(p);
        return CLACT__DISK_REJECTED;
    }
    *out = p;
    return CLACT__DISK_HIT;
}

int clact__disk_cache_store(const clact_context *ctx, const char *key, cl_program program) {
    size_t bsize = 0;
    if (clGetProgramInfo(program, CL_PROGRAM_BINARY_SIZES, sizeof bsize, &bsize, NULL) ||
        bsize == 0)
        return 0;
    unsigned char *bin = malloc(bsize);
    if (!bin)
        return 0;
    int ok = !clGetProgramInfo(program, CL_PROGRAM_BINARIES, sizeof bin, &bin, NULL) &&
             clact__disk_write(ctx->env.cache_dir, key, ".clbin", bin, bsize);
    free(bin);
    return ok;
}
