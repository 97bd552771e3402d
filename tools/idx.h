/* SPDX-License-Identifier: MIT */
/* IDX files (the format of MNIST and Fashion-MNIST) for the clact command: a general reader and
 * an MNIST-layout dataset loader. CLI support code, not library API.
 *
 * The format: two zero bytes, a type byte (0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
 * 0x0D float32, 0x0E float64), a byte with the number of dimensions, then each dimension as a
 * big-endian uint32, then the elements in row-major order, big-endian. Files are read through
 * zlib, so a gzip-compressed file (as distributed) and a plain one read alike. */
#ifndef CLACT_TOOLS_IDX_H
#define CLACT_TOOLS_IDX_H
#include <stddef.h>
#include <stdint.h>

/* Where Debian's dataset-fashion-mnist installs the data. */
#define CLACT_DEFAULT_DATA_DIR "/usr/share/datasets/fashion-mnist"

#define IDX_MAX_DIMS 8
/* The most data bytes one read returns (1 GiB; Fashion-MNIST's training images are 47 MB). A
 * header asking for more is refused before anything is allocated. */
#define IDX_MAX_BYTES ((size_t)1 << 30)

enum {
    IDX_U8 = 0x08,
    IDX_I8 = 0x09,
    IDX_I16 = 0x0B,
    IDX_I32 = 0x0C,
    IDX_F32 = 0x0D,
    IDX_F64 = 0x0E
};

/* The readers' results: 0 on success, else what went wrong (the message says more). */
enum {
    IDX_OK = 0,
    IDX_ERR_NOT_FOUND = 1, /* no such file (mnist_load: under any name it tried) */
    IDX_ERR_IO = 2,        /* the file exists but cannot be read: permissions, a directory */
    IDX_ERR_FORMAT = 3,    /* not IDX, truncated, corrupt gzip, bad values, too large */
    IDX_ERR_NOMEM = 4
};

typedef struct idx_array {
    int type;                  /* IDX_U8 ... IDX_F64 */
    int ndim;                  /* 1 .. IDX_MAX_DIMS */
    size_t dims[IDX_MAX_DIMS]; /* the dimensions read; dims[0] is limited by the read's limit */
    size_t count;              /* elements in data: the product of dims */
    unsigned char *data;       /* count elements of the type, in host byte order (malloc'd) */
    size_t file_items;         /* dims[0] as the file's header gives it, before the limit */
    size_t elem_size;          /* bytes per element */
} idx_array;

/* Bytes per element of an IDX type code, 0 for a code that is not one. */
size_t idx_type_size(int type);

/* Read the IDX file at path (gzip-compressed or plain) into *out: its first `limit` items along
 * the first dimension, or all of them when limit is 0 or larger than the file holds. When all
 * are read, the whole file is read: bytes after the data and a gzip CRC mismatch are errors
 * (when fewer are read, the rest of the file is not looked at).
 * Returns IDX_OK, or an IDX_ERR_* code with a one-line message naming path in err (err may be
 * NULL); on error *out is zeroed and nothing is left allocated. Free *out with idx_free. */
int idx_read(const char *path, size_t limit, idx_array *out, char *err, size_t errlen);
/* Free a's data and zero it; NULL or a zeroed array is fine. */
void idx_free(idx_array *a);

/* An MNIST-layout dataset: images as floats in [0, 1] (the bytes divided by 255) and labels
 * 0..9. */
typedef struct mnist_set {
    size_t n, rows, cols;
    float *images;   /* n * rows * cols, row-major, image after image (malloc'd) */
    int32_t *labels; /* n (malloc'd) */
} mnist_set;

/* Load DIR/SPLIT-images-idx3-ubyte and DIR/SPLIT-labels-idx1-ubyte (SPLIT is "train" or "t10k"
 * in MNIST and Fashion-MNIST), each under its name with ".gz" first, then the plain name; the
 * first `limit` images (0: all). The images file must have magic 0x00000803 (uint8, 3
 * dimensions, none zero), the labels file 0x00000801 (uint8, 1 dimension); both must hold the
 * same number of items, and every label read must be in 0..9.
 * Returns IDX_OK or an IDX_ERR_* code with a one-line message in err; on error *out is zeroed
 * and nothing is left allocated. Free *out with mnist_free. */
int mnist_load(const char *dir, const char *split, size_t limit, mnist_set *out, char *err,
               size_t errlen);
/* Free s's arrays and zero it; NULL or a zeroed set is fine. */
void mnist_free(mnist_set *s);
#endif
