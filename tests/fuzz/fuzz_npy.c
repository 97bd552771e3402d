/* SPDX-License-Identifier: MIT */
/* The .npy reader on arbitrary bytes (host/npy.c), as a regular file and as a pipe (where the
 * reader cannot learn the size first and grows its buffers as bytes arrive): both must agree.
 * Whatever it reads must be consistent (count is the product of the shape, the data holds
 * count * item_size bytes of the input) and must come back unchanged through the writer;
 * whatever it refuses, it refuses with one line. */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_util.h"
#include "npy.h"

static int in_fd = -1;
static char in_path[64];
static char out_path[4200];

static void check_consistent(const clact_npy *a, size_t input_size) {
    size_t count = 1;
    if (a->ndim < 0 || a->ndim > CLACT_NPY_MAX_DIMS)
        fuzz_die("read: ndim %d", a->ndim);
    for (int i = 0; i < a->ndim; ++i)
        count *= a->shape[i]; /* the reader refuses shapes whose product overflows */
    if (count != a->count)
        fuzz_die("read: count %zu, the shape's product %zu", a->count, count);
    if (a->item_size == 0 || a->item_size > 64 || strlen(a->descr) < 3)
        fuzz_die("read: item size %zu for descr '%s'", a->item_size, a->descr);
    if (a->count && !a->data)
        fuzz_die("read: %zu elements but no data", a->count);
    /* The data came from the input: it cannot be larger. */
    if (a->count && a->count * a->item_size > input_size)
        fuzz_die("read: %zu bytes of data from a %zu-byte input", a->count * a->item_size,
                 input_size);
}

/* Written and read back: the same descr, shape and bytes (the writer always writes C order,
 * as it documents, so fortran_order comes back 0). */
static void check_round_trip(const clact_npy *a) {
    char err[512] = "";
    if (clact_npy_write(out_path, a, err, sizeof err) != CLACT_OK)
        fuzz_die("write of a read array failed: %s", err);
    clact_npy b;
    if (clact_npy_read(out_path, &b, err, sizeof err) != CLACT_OK)
        fuzz_die("reading back what was written failed: %s", err);
    size_t bytes = a->count * a->item_size;
    if (strcmp(a->descr, b.descr) || b.fortran_order || a->ndim != b.ndim ||
        memcmp(a->shape, b.shape, sizeof a->shape[0] * (size_t)a->ndim) || a->count != b.count ||
        a->item_size != b.item_size || (bytes && memcmp(a->data, b.data, bytes)))
        fuzz_die("round trip changed the array: descr '%s' -> '%s', ndim %d -> %d, count %zu -> "
                 "%zu",
                 a->descr, b.descr, a->ndim, b.ndim, a->count, b.count);
    clact_npy_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The reader on the input through a pipe: an anonymous pipe's /proc/self/fd path opens without
 * waiting for a writer, and the input (libFuzzer's inputs are a few KB) fits the pipe's 64 KiB
 * buffer, so it is written whole and the write end closed before the read. 0 when the input is
 * too long for that. */
static int read_pipe(const uint8_t *data, size_t size, clact_npy *a, clact_status *st) {
    int fds[2];
    char path[64], err[512] = "";
    if (size > 65536)
        return 0;
    if (pipe(fds) != 0)
        fuzz_die("pipe failed");
    size_t done = 0;
    while (done < size) {
        ssize_t w = write(fds[1], data + done, size - done);
        if (w <= 0)
            fuzz_die("cannot write the pipe");
        done += (size_t)w;
    }
    close(fds[1]);
    snprintf(path, sizeof path, "/proc/self/fd/%d", fds[0]);
    *st = clact_npy_read(path, a, err, sizeof err);
    close(fds[0]);
    if (*st != CLACT_OK)
        fuzz_check_one_line("clact_npy_read (pipe)", err);
    return 1;
}

/* The pipe's read against the regular file's: the same verdict and the same array. */
static void check_same(clact_status st, const clact_npy *a, clact_status pst, const clact_npy *p) {
    if (st != pst)
        fuzz_die("a regular file read gives status %d, a pipe %d", (int)st, (int)pst);
    if (st != CLACT_OK)
        return;
    if (strcmp(a->descr, p->descr) || a->fortran_order != p->fortran_order || a->ndim != p->ndim ||
        memcmp(a->shape, p->shape, sizeof a->shape[0] * (size_t)a->ndim) || a->count != p->count ||
        a->item_size != p->item_size ||
        (a->count && memcmp(a->data, p->data, a->count * a->item_size)))
        fuzz_die("a regular file and a pipe read as different arrays");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (in_fd < 0) {
        in_fd = fuzz_memfd("fuzz_npy", in_path, sizeof in_path);
        snprintf(out_path, sizeof out_path, "%s/out.npy", fuzz_tmpdir());
    }
    fuzz_memfd_fill(in_fd, data, size);
    clact_npy a, p;
    char err[512] = "";
    clact_status st = clact_npy_read(in_path, &a, err, sizeof err), pst;
    if (st == CLACT_OK) {
        check_consistent(&a, size);
        check_round_trip(&a);
    } else {
        if (st != CLACT_FORMAT_ERROR && st != CLACT_IO_ERROR && st != CLACT_OUT_OF_MEMORY)
            fuzz_die("read returned status %d", (int)st);
        if (a.data || a.count || a.ndim)
            fuzz_die("a failed read left the array filled");
        fuzz_check_one_line("clact_npy_read", err);
    }
    if (read_pipe(data, size, &p, &pst)) {
        check_same(st, &a, pst, &p);
        clact_npy_free(&p);
    }
    clact_npy_free(&a);
    return 0;
}
