/* SPDX-License-Identifier: MIT */
/* Reading and writing NumPy .npy files (format versions 1.0, 2.0 and 3.0), for the CLI and the
 * tests. Not part of the library's API. */
#ifndef CLACT_HOST_NPY_H
#define CLACT_HOST_NPY_H
#include <stddef.h>
#include <stdio.h>

#include "clact/clact.h"

#define CLACT_NPY_MAX_DIMS 32

typedef struct clact_npy {
    char descr[16]; /* e.g. "<f4" */
    int fortran_order;
    int ndim;
    size_t shape[CLACT_NPY_MAX_DIMS];
    size_t count;     /* product of shape (1 for a 0-d array) */
    size_t item_size; /* bytes per element, from descr */
    void *data;       /* count * item_size bytes, malloc'd; NULL when count is 0 */
} clact_npy;

/* Read the whole file. Returns CLACT_OK, CLACT_IO_ERROR (the file could not be opened, read or
 * written), CLACT_FORMAT_ERROR (not a well-formed .npy file) or CLACT_OUT_OF_MEMORY: the
 * library's status codes, one system for both. On failure, *out is left empty and err holds one
 * line naming the problem. The data is not interpreted: the caller checks descr and
 * fortran_order. */
clact_status clact_npy_read(const char *path, clact_npy *out, char *err, size_t err_len);

/* Write a C-order .npy (version 1.0, or 2.0 when the header needs it) atomically: the data
 * goes to a temporary file in the same folder, which is renamed over path only when complete.
 * On failure nothing is left behind. Same statuses as clact_npy_read. */
clact_status clact_npy_write(const char *path, const clact_npy *array, char *err,
                                 size_t err_len);

void clact_npy_free(clact_npy *array);

/* Write a file at path the way clact_npy_write does (and cp decides): a symbolic link is followed
 * to its final target (created if missing) and kept; an existing FIFO, device or socket is written
 * through, never replaced; a directory is refused; a regular file is written beside its target
 * and renamed over it only when complete, nothing left behind on failure. produce writes the
 * content to f and returns 0, or non-zero on failure. Statuses as clact_npy_write. */
clact_status clact_file_write(const char *path, int (*produce)(FILE *f, void *arg), void *arg,
                              char *err, size_t err_len);

#endif
