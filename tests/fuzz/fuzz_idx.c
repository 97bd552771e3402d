/* SPDX-License-Identifier: MIT */
/* The IDX reader (tools/idx.c) on arbitrary bytes. The first input byte drives the read: its
 * low 7 bits are the item limit (0: all), its top bit says the rest is to be gzip-compressed
 * here before it is read, so that the IDX structure is explored through zlib too (the rest as
 * it is reaches the reader's plain and, when it starts with gzip's magic, compressed paths).
 * Whatever is read must match the bytes it came from, byte-swapped to host order; whatever is
 * refused is refused with one line and nothing left allocated. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "fuzz_util.h"
#include "idx.h"

static int in_fd = -1;
static char in_path[64];

/* data compressed as one gzip member into a malloc'd block (*len bytes). */
static unsigned char *gzip(const uint8_t *data, size_t size, size_t *len) {
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        fuzz_die("deflateInit2 failed");
    uLong cap = deflateBound(&z, (uLong)size);
    unsigned char *out = malloc(cap);
    if (!out)
        fuzz_die("out of memory for %lu bytes", (unsigned long)cap);
    z.next_in = (Bytef *)(uintptr_t)data;
    z.avail_in = (uInt)size;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    if (deflate(&z, Z_FINISH) != Z_STREAM_END)
        fuzz_die("deflate did not finish");
    *len = (size_t)z.total_out;
    deflateEnd(&z);
    return out;
}

/* What was read against the uncompressed file image (plain, n bytes). */
static void check_read(const idx_array *a, size_t limit, const uint8_t *plain, size_t n) {
    if (a->ndim < 1 || a->ndim > IDX_MAX_DIMS || a->elem_size != idx_type_size(a->type) ||
        !a->elem_size || !a->data)
        fuzz_die("read: type 0x%02x, ndim %d, element size %zu, data %p", (unsigned)a->type,
                 a->ndim, a->elem_size, (void *)a->data);
    size_t want0 = limit && limit < a->file_items ? limit : a->file_items, count = 1;
    if (a->dims[0] != want0)
        fuzz_die("read: dims[0] %zu, expected %zu (limit %zu, %zu in the file)", a->dims[0], want0,
                 limit, a->file_items);
    for (int i = 0; i < a->ndim; ++i)
        count *= a->dims[i];
    if (count != a->count)
        fuzz_die("read: count %zu, the dimensions' product %zu", a->count, count);
    if (!plain)
        return;
    size_t head = 4 + 4 * (size_t)a->ndim, bytes = a->count * a->elem_size;
    if (head + bytes > n || (want0 == a->file_items && head + bytes != n))
        fuzz_die("read: %zu bytes of data from a %zu-byte file (header %zu bytes)", bytes, n, head);
    /* Element i's byte j is the file's byte elem_size - 1 - j of that element on a
     * little-endian host (IDX is big-endian). */
    const uint16_t one = 1;
    unsigned char little;
    memcpy(&little, &one, 1);
    for (size_t i = 0; i < a->count; ++i)
        for (size_t j = 0; j < a->elem_size; ++j) {
            size_t k = little ? a->elem_size - 1 - j : j;
            if (a->data[i * a->elem_size + j] != plain[head + i * a->elem_size + k])
                fuzz_die("read: element %zu byte %zu differs from the file", i, j);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1)
        return 0;
    if (in_fd < 0)
        in_fd = fuzz_memfd("fuzz_idx", in_path, sizeof in_path);
    size_t limit = data[0] & 0x7f;
    int compress = data[0] >> 7;
    const uint8_t *rest = data + 1;
    size_t n = size - 1;
    unsigned char *packed = NULL;
    size_t packed_len = 0;
    if (compress)
        packed = gzip(rest, n, &packed_len);
    fuzz_memfd_fill(in_fd, compress ? packed : rest, compress ? packed_len : n);
    /* Where the reader sees the bytes as they are, they are the file image to compare with;
     * a gzip stream that came in as input is checked for consistency only. */
    int is_gzip = n >= 2 && rest[0] == 0x1f && rest[1] == 0x8b;
    const uint8_t *plain = compress || !is_gzip ? rest : NULL;

    idx_array a;
    char err[512] = "";
    int st = idx_read(in_path, limit, &a, err, sizeof err);
    if (st == IDX_OK) {
        check_read(&a, limit, plain, n);
        idx_free(&a);
    } else {
        if (st != IDX_ERR_FORMAT && st != IDX_ERR_IO && st != IDX_ERR_NOMEM)
            fuzz_die("idx_read returned %d: %s", st, err);
        if (a.data || a.count || a.ndim)
            fuzz_die("a failed read left the array filled");
        fuzz_check_one_line("idx_read", err);
    }
    free(packed);
    return 0;
}
