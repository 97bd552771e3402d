/* SPDX-License-Identifier: MIT */
/* IDX reading: synthetic files, plain and gzipped (written here through zlib's gzopen "wb"),
 * read back; every malformed form the reader names; and the installed Fashion-MNIST. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "idx.h"
#include "tools_tests.h"

/* An IDX file image built here: header then big-endian elements, written independently of the
 * reader (byte by byte, most significant first). */
typedef struct blob {
    unsigned char *p;
    size_t len;
} blob;

static void put_be(blob *b, uint64_t v, size_t size) {
    for (size_t i = 0; i < size; ++i)
        b->p[b->len++] = (unsigned char)(v >> (8 * (size - 1 - i)));
}

/* Header for type and dims, then room for the data (capacity bytes in all). */
static blob make_header(int type, int ndim, const uint32_t *dims, size_t capacity) {
    blob b = {malloc(capacity), 0};
    ck_assert_ptr_nonnull(b.p);
    put_be(&b, (uint32_t)type << 8 | (uint32_t)ndim, 4);
    for (int i = 0; i < ndim; ++i)
        put_be(&b, dims[i], 4);
    return b;
}

static void write_file(const char *name, const void *data, size_t len, int gz) {
    char path[512];
    tt_path(path, sizeof path, name);
    if (gz) {
        gzFile f = gzopen(path, "wb");
        ck_assert_ptr_nonnull(f);
        ck_assert_int_eq(gzwrite(f, data, (unsigned)len), (int)len);
        ck_assert_int_eq(gzclose(f), Z_OK);
    } else {
        FILE *f = fopen(path, "wb");
        ck_assert_ptr_nonnull(f);
        ck_assert_uint_eq(fwrite(data, 1, len, f), len);
        ck_assert_int_eq(fclose(f), 0);
    }
}

static unsigned char *read_whole(const char *name, size_t *len) {
    char path[512];
    FILE *f = fopen(tt_path(path, sizeof path, name), "rb");
    ck_assert_ptr_nonnull(f);
    unsigned char *p = malloc(1 << 20);
    ck_assert_ptr_nonnull(p);
    *len = fread(p, 1, 1 << 20, f);
    fclose(f);
    return p;
}

/* idx_read on a file in the test directory; on error, out must be zeroed. */
static int read_named(const char *name, size_t limit, idx_array *a, char *err) {
    char path[512];
    int st = idx_read(tt_path(path, sizeof path, name), limit, a, err, 512);
    if (st) {
        ck_assert_ptr_null(a->data);
        ck_assert_int_eq(a->ndim, 0);
        ck_assert_uint_eq(a->count, 0);
    }
    return st;
}

#define ASSERT_ERR(call, code, needle)                                                             \
    do {                                                                                           \
        int st_ = (call);                                                                          \
        ck_assert_msg(st_ == (code), "%s: got %d, expected %d (%s)", #call, st_, (code), err);     \
        ck_assert_msg(strstr(err, (needle)), "message '%s' lacks '%s'", err, (needle));            \
    } while (0)

START_TEST(idx_round_trip_u8) {
    uint64_t rng = tt_seed() ^ 0x1d8;
    for (int gz = 0; gz < 2; ++gz)
        for (int rep = 0; rep < 4; ++rep) {
            uint32_t dims[3] = {1 + (uint32_t)(tt_next(&rng) % 40),
                                1 + (uint32_t)(tt_next(&rng) % 30),
                                1 + (uint32_t)(tt_next(&rng) % 30)};
            size_t count = (size_t)dims[0] * dims[1] * dims[2];
            blob b = make_header(IDX_U8, 3, dims, 16 + count);
            for (size_t i = 0; i < count; ++i)
                put_be(&b, tt_next(&rng) & 0xff, 1);
            write_file("u8.idx", b.p, b.len, gz);
            idx_array a;
            char err[512];
            ck_assert_msg(read_named("u8.idx", 0, &a, err) == IDX_OK, "%s", err);
            ck_assert_int_eq(a.type, IDX_U8);
            ck_assert_int_eq(a.ndim, 3);
            ck_assert_uint_eq(a.elem_size, 1);
            for (int i = 0; i < 3; ++i)
                ck_assert_uint_eq(a.dims[i], dims[i]);
            ck_assert_uint_eq(a.file_items, dims[0]);
            ck_assert_uint_eq(a.count, count);
            ck_assert_mem_eq(a.data, b.p + 16, count);
            idx_free(&a);
            ck_assert_ptr_null(a.data);
            free(b.p);
        }
}
END_TEST

/* Every element type, with values whose bytes differ, so that a wrong byte order or size fails. */
START_TEST(idx_round_trip_types) {
    const int8_t i8[4] = {-128, -1, 0, 127};
    const int16_t i16[4] = {-32768, -12345, 258, 32767};
    const int32_t i32[4] = {INT32_MIN, -2000000001, 16909060, INT32_MAX};
    const float f32[4] = {-1.5f, 3.14159274f, 1e-38f, -INFINITY};
    const double f64[4] = {-0.1, 3.141592653589793, 1e300, 5e-324};
    const struct {
        int type;
        size_t size;
        const void *v;
    } cases[] = {{IDX_I8, 1, i8},
                 {IDX_I16, 2, i16},
                 {IDX_I32, 4, i32},
                 {IDX_F32, 4, f32},
                 {IDX_F64, 8, f64}};
    for (int gz = 0; gz < 2; ++gz)
        for (size_t c = 0; c < sizeof cases / sizeof cases[0]; ++c) {
            uint32_t dims[2] = {2, 2};
            blob b = make_header(cases[c].type, 2, dims, 12 + 32);
            for (int i = 0; i < 4; ++i) {
                uint64_t bits = 0;
                /* The value's bits, through an integer of its size. */
                if (cases[c].size == 1)
                    bits = (uint8_t)((const int8_t *)cases[c].v)[i];
                else if (cases[c].size == 2)
                    bits = (uint16_t)((const int16_t *)cases[c].v)[i];
                else if (cases[c].type == IDX_I32)
                    bits = (uint32_t)((const int32_t *)cases[c].v)[i];
                else if (cases[c].type == IDX_F32) {
                    uint32_t u;
                    memcpy(&u, (const float *)cases[c].v + i, 4);
                    bits = u;
                } else
                    memcpy(&bits, (const double *)cases[c].v + i, 8);
                put_be(&b, bits, cases[c].size);
            }
            write_file("t.idx", b.p, b.len, gz);
            idx_array a;
            char err[512];
            ck_assert_msg(read_named("t.idx", 0, &a, err) == IDX_OK, "%s", err);
            ck_assert_int_eq(a.type, cases[c].type);
            ck_assert_uint_eq(a.elem_size, cases[c].size);
            ck_assert_uint_eq(a.count, 4);
            ck_assert_msg(!memcmp(a.data, cases[c].v, 4 * cases[c].size), "type 0x%02X, gz %d",
                          cases[c].type, gz);
            idx_free(&a);
            free(b.p);
        }
}
END_TEST

START_TEST(idx_limit) {
    uint32_t dims[2] = {10, 3};
    blob b = make_header(IDX_U8, 2, dims, 12 + 30);
    for (int i = 0; i < 30; ++i)
        put_be(&b, (uint64_t)i * 7, 1);
    char err[512];
    idx_array a;
    for (int gz = 0; gz < 2; ++gz) {
        write_file("l.idx", b.p, b.len, gz);
        const size_t limits[] = {1, 3, 9, 10, 11, 1000, 0};
        for (size_t k = 0; k < sizeof limits / sizeof limits[0]; ++k) {
            size_t want = limits[k] && limits[k] < 10 ? limits[k] : 10;
            ck_assert_msg(read_named("l.idx", limits[k], &a, err) == IDX_OK, "%s", err);
            ck_assert_uint_eq(a.dims[0], want);
            ck_assert_uint_eq(a.dims[1], 3);
            ck_assert_uint_eq(a.file_items, 10);
            ck_assert_uint_eq(a.count, want * 3);
            ck_assert_mem_eq(a.data, b.p + 12, want * 3);
            idx_free(&a);
        }
        /* With a limit, the rest of the file is not read: a truncated tail goes unnoticed. */
        write_file("cut.idx", b.p, 12 + 4 * 3 + 1, gz);
        ck_assert_msg(read_named("cut.idx", 4, &a, err) == IDX_OK, "%s", err);
        ck_assert_uint_eq(a.count, 12);
        idx_free(&a);
        ASSERT_ERR(read_named("cut.idx", 5, &a, err), IDX_ERR_FORMAT,
                   "truncated: the data ends after 13 of 15 bytes");
    }
    free(b.p);
}
END_TEST

START_TEST(idx_truncated) {
    uint32_t dims[3] = {4, 5, 6};
    blob b = make_header(IDX_U8, 3, dims, 16 + 120);
    for (int i = 0; i < 120; ++i)
        put_be(&b, (uint64_t)i, 1);
    char err[512], want[128];
    idx_array a;
    for (int gz = 0; gz < 2; ++gz) {
        write_file("empty.idx", b.p, 0, gz);
        ASSERT_ERR(read_named("empty.idx", 0, &a, err), IDX_ERR_FORMAT, "empty file");
        for (size_t len = 1; len < 16; ++len) {
            write_file("h.idx", b.p, len, gz);
            snprintf(want, sizeof want, "truncated: the header ends after %zu of %d bytes", len,
                     len < 4 ? 4 : 16);
            ASSERT_ERR(read_named("h.idx", 0, &a, err), IDX_ERR_FORMAT, want);
        }
        const size_t cuts[] = {16, 17, 60, 135};
        for (size_t k = 0; k < sizeof cuts / sizeof cuts[0]; ++k) {
            write_file("d.idx", b.p, cuts[k], gz);
            snprintf(want, sizeof want, "truncated: the data ends after %zu of 120 bytes",
                     cuts[k] - 16);
            ASSERT_ERR(read_named("d.idx", 0, &a, err), IDX_ERR_FORMAT, want);
            ASSERT_ERR(read_named("d.idx", 4, &a, err), IDX_ERR_FORMAT, want);
        }
        /* One byte too many is as wrong as one too few. */
        unsigned char *more = malloc(b.len + 1);
        memcpy(more, b.p, b.len);
        more[b.len] = 0;
        write_file("x.idx", more, b.len + 1, gz);
        ASSERT_ERR(read_named("x.idx", 0, &a, err), IDX_ERR_FORMAT, "unexpected bytes after");
        free(more);
    }
    free(b.p);
}
END_TEST

START_TEST(idx_bad_header) {
    char err[512];
    idx_array a;
    static const struct {
        unsigned char head[12];
        size_t len;
        const char *message;
    } cases[] = {
        {{'P', 'K', 3, 4, 0, 0, 0, 0}, 8, "is not an IDX file: bad magic 0x504B0304"},
        /* The magic written little-endian. */
        {{3, 8, 0, 0, 0, 0, 0, 1}, 8, "bad magic 0x03080000"},
        {{0, 1, 8, 1, 0, 0, 0, 1}, 8, "bad magic 0x00010801"},
        {{0, 0, 0x0A, 1, 0, 0, 0, 1}, 8, "unsupported IDX type 0x0A"},
        {{0, 0, 0x07, 1, 0, 0, 0, 1}, 8, "unsupported IDX type 0x07"},
        {{0, 0, 8, 0}, 4, "0 dimensions"},
        {{0, 0, 8, 9}, 4, "9 dimensions"},
    };
    for (int gz = 0; gz < 2; ++gz)
        for (size_t c = 0; c < sizeof cases / sizeof cases[0]; ++c) {
            write_file("bad.idx", cases[c].head, cases[c].len, gz);
            ASSERT_ERR(read_named("bad.idx", 0, &a, err), IDX_ERR_FORMAT, cases[c].message);
        }
}
END_TEST

/* Sizes the reader refuses before allocating anything that size (valgrind would show a large
 * allocation; the cases below would ask for terabytes to exabytes). */
START_TEST(idx_absurd_dims) {
    char err[512];
    idx_array a;
    const uint32_t big[8] = {0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu,
                             0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu};
    blob b = make_header(IDX_F64, 8, big, 64);
    write_file("ovf.idx", b.p, b.len, 0);
    ASSERT_ERR(read_named("ovf.idx", 0, &a, err), IDX_ERR_FORMAT, "overflow");
    ASSERT_ERR(read_named("ovf.idx", 1, &a, err), IDX_ERR_FORMAT, "overflow");
    free(b.p);
    /* The first dimension overflows only with the others. */
    const uint32_t wide[3] = {0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu};
    b = make_header(IDX_F64, 3, wide, 64);
    write_file("ovf0.idx", b.p, b.len, 1);
    ASSERT_ERR(read_named("ovf0.idx", 1, &a, err), IDX_ERR_FORMAT, "overflow");
    free(b.p);
    /* 10^15 bytes in all, a few in the file. */
    const uint32_t huge[3] = {100000, 100000, 100000};
    b = make_header(IDX_U8, 3, huge, 32);
    put_be(&b, 0, 4);
    write_file("cap.idx", b.p, b.len, 1);
    ASSERT_ERR(read_named("cap.idx", 0, &a, err), IDX_ERR_FORMAT, "cap of 1024 MiB");
    ASSERT_ERR(read_named("cap.idx", 200, &a, err), IDX_ERR_FORMAT, "cap of 1024 MiB");
    free(b.p);
    /* Four billion items claimed, five present: reading those five works; reading all would
     * pass the cap, and is refused before allocating. */
    const uint32_t many[2] = {4000000000u, 784};
    b = make_header(IDX_U8, 2, many, 12 + 5 * 784);
    for (int i = 0; i < 5 * 784; ++i)
        put_be(&b, (uint64_t)i % 251, 1);
    write_file("many.idx", b.p, b.len, 1);
    ck_assert_msg(read_named("many.idx", 5, &a, err) == IDX_OK, "%s", err);
    ck_assert_uint_eq(a.file_items, 4000000000u);
    ck_assert_uint_eq(a.count, 5 * 784);
    ck_assert_mem_eq(a.data, b.p + 12, 5 * 784);
    idx_free(&a);
    ASSERT_ERR(read_named("many.idx", 0, &a, err), IDX_ERR_FORMAT, "cap of 1024 MiB");
    /* Under the cap but far more than the file holds: the buffer grows with what arrives, and
     * the file ends first. */
    ASSERT_ERR(read_named("many.idx", 1000000, &a, err), IDX_ERR_FORMAT,
               "the data ends after 3920 of 784000000 bytes");
    free(b.p);
}
END_TEST

/* A gzip stream damaged anywhere but in the fields gzip readers ignore (bytes 4..9: time, extra
 * flags, OS) is an error, never a crash or a silent success. */
START_TEST(idx_corrupt_gzip) {
    uint32_t dims[2] = {20, 30};
    blob b = make_header(IDX_U8, 2, dims, 12 + 600);
    uint64_t rng = tt_seed() ^ 0x6a7;
    for (int i = 0; i < 600; ++i)
        put_be(&b, (i % 7 == 0) ? tt_next(&rng) & 0xff : (uint64_t)(i / 20), 1);
    write_file("ok.gz", b.p, b.len, 1);
    size_t len;
    unsigned char *gz = read_whole("ok.gz", &len);
    ck_assert_uint_gt(len, 30);
    char err[512];
    idx_array a;
    ck_assert_msg(read_named("ok.gz", 0, &a, err) == IDX_OK, "%s", err);
    idx_free(&a);
    for (size_t pos = 0; pos < len; ++pos) {
        if (pos >= 4 && pos < 10)
            continue;
        gz[pos] ^= 0xFF;
        write_file("bad.gz", gz, len, 0);
        gz[pos] ^= 0xFF;
        int st = read_named("bad.gz", 0, &a, err);
        ck_assert_msg(st == IDX_ERR_FORMAT, "byte %zu of %zu flipped: status %d (%s)", pos, len, st,
                      st ? err : "read without error");
    }
    /* Cut short anywhere, in the deflate data or in the 8-byte trailer (CRC, length). */
    for (size_t cut = 10; cut < len; ++cut) {
        write_file("cut.gz", gz, cut, 0);
        int st = read_named("cut.gz", 0, &a, err);
        ck_assert_msg(st == IDX_ERR_FORMAT, "cut at %zu of %zu: status %d", cut, len, st);
        ck_assert_msg(strstr(err, "truncated"), "cut at %zu: %s", cut, err);
    }
    free(gz);
    free(b.p);
}
END_TEST

START_TEST(idx_missing_and_directory) {
    char err[512], path[512];
    idx_array a;
    ASSERT_ERR(read_named("none.idx", 0, &a, err), IDX_ERR_NOT_FOUND, "none.idx");
    ck_assert_msg(strstr(err, "No such file"), "%s", err);
    ck_assert_int_eq(mkdir(tt_path(path, sizeof path, "sub"), 0700), 0);
    ASSERT_ERR(read_named("sub", 0, &a, err), IDX_ERR_IO, "Is a directory");
    ck_assert_msg(strstr(err, "/sub"), "%s", err);
    /* A path through a file. */
    write_file("plain", "x", 1, 0);
    ASSERT_ERR(read_named("plain/x.idx", 0, &a, err), IDX_ERR_IO, "Not a directory");
    /* Nothing to free after an error, and freeing twice is harmless. */
    idx_free(&a);
    idx_free(NULL);
}
END_TEST

/* An MNIST-layout pair in the test directory: n images of rows x cols and n_labels labels. */
static void write_mnist(const char *split, uint32_t n, uint32_t rows, uint32_t cols,
                        uint32_t n_labels, int gz_images, int gz_labels, uint64_t *rng,
                        unsigned char *labels_out) {
    uint32_t idims[3] = {n, rows, cols}, ldims[1] = {n_labels};
    size_t count = (size_t)n * rows * cols;
    blob im = make_header(IDX_U8, 3, idims, 16 + count),
         lb = make_header(IDX_U8, 1, ldims, 8 + n_labels);
    for (size_t i = 0; i < count; ++i)
        put_be(&im, tt_next(rng) & 0xff, 1);
    for (uint32_t i = 0; i < n_labels; ++i) {
        unsigned char v = (unsigned char)(tt_next(rng) % 10);
        put_be(&lb, v, 1);
        if (labels_out)
            labels_out[i] = v;
    }
    char name[128];
    snprintf(name, sizeof name, "%s-images-idx3-ubyte%s", split, gz_images ? ".gz" : "");
    write_file(name, im.p, im.len, gz_images);
    snprintf(name, sizeof name, "%s-labels-idx1-ubyte%s", split, gz_labels ? ".gz" : "");
    write_file(name, lb.p, lb.len, gz_labels);
    free(im.p);
    free(lb.p);
}

START_TEST(mnist_synthetic) {
    uint64_t rng = tt_seed() ^ 0x3e1;
    unsigned char labels[50];
    /* Gzipped images beside plain labels: each file is found under either name. */
    write_mnist("train", 50, 7, 5, 50, 1, 0, &rng, labels);
    char path[512], err[512];
    tt_path(path, sizeof path, "train-images-idx3-ubyte.gz");
    idx_array raw;
    ck_assert_int_eq(idx_read(path, 0, &raw, err, sizeof err), IDX_OK);
    mnist_set s;
    for (size_t limit = 0; limit <= 60; limit += 12) {
        size_t n = limit && limit < 50 ? limit : 50;
        ck_assert_msg(mnist_load(tt_dir(), "train", limit, &s, err, sizeof err) == IDX_OK, "%s",
                      err);
        ck_assert_uint_eq(s.n, n);
        ck_assert_uint_eq(s.rows, 7);
        ck_assert_uint_eq(s.cols, 5);
        size_t bad = 0;
        for (size_t i = 0; i < n * 35; ++i)
            bad += !(s.images[i] == (float)raw.data[i] / 255.0f && s.images[i] >= 0 &&
                     s.images[i] <= 1);
        ck_assert_msg(!bad, "%zu pixels differ from their byte / 255", bad);
        for (size_t i = 0; i < n; ++i)
            ck_assert_int_eq(s.labels[i], labels[i]);
        mnist_free(&s);
        ck_assert_ptr_null(s.images);
    }
    idx_free(&raw);
    mnist_free(NULL);
}
END_TEST

START_TEST(mnist_errors) {
    uint64_t rng = tt_seed() ^ 0x3e2;
    char err[512], path[512], want[1200];
    mnist_set s;
    /* Missing: every name tried is named. */
    ASSERT_ERR(mnist_load(tt_dir(), "t10k", 0, &s, err, sizeof err), IDX_ERR_NOT_FOUND, "tried ");
    snprintf(want, sizeof want, "tried %s/t10k-images-idx3-ubyte.gz and %s/t10k-images-idx3-ubyte",
             tt_dir(), tt_dir());
    ck_assert_msg(strstr(err, want), "%s", err);
    ck_assert_ptr_null(s.images);
    ASSERT_ERR(mnist_load(tt_path(path, sizeof path, "nodir"), "t10k", 0, &s, err, sizeof err),
               IDX_ERR_NOT_FOUND, "data directory");
    write_file("afile", "x", 1, 0);
    ASSERT_ERR(mnist_load(tt_path(path, sizeof path, "afile"), "t10k", 0, &s, err, sizeof err),
               IDX_ERR_IO, "Not a directory");
    /* Images present, labels missing. */
    write_mnist("a", 10, 3, 3, 10, 0, 0, &rng, NULL);
    unlink(tt_path(path, sizeof path, "a-labels-idx1-ubyte"));
    ASSERT_ERR(mnist_load(tt_dir(), "a", 0, &s, err, sizeof err), IDX_ERR_NOT_FOUND,
               "a-labels-idx1-ubyte.gz and ");
    /* Counts that disagree, with and without a limit. */
    write_mnist("b", 10, 3, 3, 9, 1, 1, &rng, NULL);
    ASSERT_ERR(mnist_load(tt_dir(), "b", 0, &s, err, sizeof err), IDX_ERR_FORMAT,
               "b-images-idx3-ubyte.gz holds 10 images but ");
    ck_assert_msg(strstr(err, "b-labels-idx1-ubyte.gz 9 labels"), "%s", err);
    ASSERT_ERR(mnist_load(tt_dir(), "b", 5, &s, err, sizeof err), IDX_ERR_FORMAT, "holds 10");
    /* A label out of range, named with its position. */
    write_mnist("c", 10, 3, 3, 10, 1, 1, &rng, NULL);
    uint32_t ld[1] = {10};
    blob lb = make_header(IDX_U8, 1, ld, 18);
    for (int i = 0; i < 10; ++i)
        put_be(&lb, i == 6 ? 11 : (uint64_t)i % 10, 1);
    write_file("c-labels-idx1-ubyte.gz", lb.p, lb.len, 1);
    ASSERT_ERR(mnist_load(tt_dir(), "c", 0, &s, err, sizeof err), IDX_ERR_FORMAT,
               "c-labels-idx1-ubyte.gz: label 11 at position 6 is outside 0..9");
    /* Beyond the limit, it is not read. */
    ck_assert_msg(mnist_load(tt_dir(), "c", 6, &s, err, sizeof err) == IDX_OK, "%s", err);
    mnist_free(&s);
    /* The labels file where the images should be, and images of zero width. */
    write_file("d-images-idx3-ubyte.gz", lb.p, lb.len, 1);
    write_file("d-labels-idx1-ubyte.gz", lb.p, lb.len, 1);
    ASSERT_ERR(mnist_load(tt_dir(), "d", 0, &s, err, sizeof err), IDX_ERR_FORMAT,
               "d-images-idx3-ubyte.gz: magic 0x00000801, expected 0x00000803");
    free(lb.p);
    write_mnist("e", 10, 3, 0, 10, 1, 1, &rng, NULL);
    ASSERT_ERR(mnist_load(tt_dir(), "e", 0, &s, err, sizeof err), IDX_ERR_FORMAT,
               "e-images-idx3-ubyte.gz: 10 images of 3x0 pixels");
    /* A truncated images file, reported as such through the loader. */
    write_mnist("f", 10, 3, 3, 10, 0, 1, &rng, NULL);
    ck_assert_int_eq(truncate(tt_path(path, sizeof path, "f-images-idx3-ubyte"), 50), 0);
    ASSERT_ERR(mnist_load(tt_dir(), "f", 0, &s, err, sizeof err), IDX_ERR_FORMAT,
               "the data ends after 34 of 90 bytes");
    ck_assert_ptr_null(s.images);
    ck_assert_ptr_null(s.labels);
}
END_TEST

/* The installed Fashion-MNIST, checked against values computed independently from the same
 * files with Python's gzip module (sum(gzip.open(f).read()[16:]) and the like): the pixel
 * totals recovered from the floats (x * 255 is within 1e-4 of the byte) and a position-weighted
 * checksum catch a wrong order, offset or scale. */
static void check_real(const char *split, size_t n, uint64_t total, uint32_t weighted,
                       uint64_t first_sum, const int first_labels[10]) {
    mnist_set s;
    char err[512];
    ck_assert_msg(mnist_load(CLACT_DEFAULT_DATA_DIR, split, 0, &s, err, sizeof err) == IDX_OK, "%s",
                  err);
    ck_assert_uint_eq(s.n, n);
    ck_assert_uint_eq(s.rows, 28);
    ck_assert_uint_eq(s.cols, 28);
    size_t hist[10] = {0};
    for (size_t i = 0; i < n; ++i)
        hist[s.labels[i]]++;
    for (int c = 0; c < 10; ++c)
        ck_assert_uint_eq(hist[c], n / 10);
    for (int i = 0; i < 10; ++i)
        ck_assert_int_eq(s.labels[i], first_labels[i]);
    uint64_t sum = 0, first = 0;
    uint32_t w = 0;
    size_t bad = 0, first_bad = 0;
    /* One check after the loop: each passing ck_assert costs a write to Check's pipe. */
    for (size_t i = 0; i < n * 784; ++i) {
        float v = s.images[i] * 255.0f;
        long b = lroundf(v);
        if (!(fabsf(v - (float)b) < 1e-4f && b >= 0 && b <= 255) && !bad++)
            first_bad = i;
        sum += (uint64_t)b;
        first += i < 784 ? (uint64_t)b : 0;
        w += (uint32_t)(i % 65521 + 1) * (uint32_t)b;
    }
    ck_assert_msg(!bad, "%zu pixels not a byte / 255, the first %zu: %g", bad, first_bad,
                  (double)s.images[first_bad]);
    ck_assert_uint_eq(first, first_sum);
    ck_assert_uint_eq(sum, total);
    ck_assert_uint_eq(w, weighted);
    mnist_free(&s);
}

START_TEST(mnist_fashion) {
    struct stat sb;
    if (stat(CLACT_DEFAULT_DATA_DIR, &sb) != 0) {
        printf("clact tools tests: %s not installed (Debian's dataset-fashion-mnist): "
               "the real-data check is skipped\n",
               CLACT_DEFAULT_DATA_DIR);
        return;
    }
    static const int t10k_labels[10] = {9, 2, 1, 1, 6, 1, 4, 6, 5, 7};
    check_real("t10k", 10000, 573469082u, 1111788007u, 33456, t10k_labels);
    /* The training set (47 MB of pixels) is left out under valgrind. */
    if (!tt_quick()) {
        static const int train_labels[10] = {9, 0, 0, 3, 0, 2, 7, 2, 5, 5};
        check_real("train", 60000, 3431114169u, 248324749u, 76247, train_labels);
    }
    /* A limited read of the real files. */
    mnist_set s;
    char err[512];
    ck_assert_msg(mnist_load(CLACT_DEFAULT_DATA_DIR, "t10k", 3, &s, err, sizeof err) == IDX_OK,
                  "%s", err);
    ck_assert_uint_eq(s.n, 3);
    ck_assert_int_eq(s.labels[2], 1);
    mnist_free(&s);
}
END_TEST

Suite *idx_suite(void) {
    Suite *s = suite_create("idx");
    TCase *tc = tcase_create("files");
    tcase_add_checked_fixture(tc, tt_make_dir, tt_remove_dir);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, idx_round_trip_u8);
    tcase_add_test(tc, idx_round_trip_types);
    tcase_add_test(tc, idx_limit);
    tcase_add_test(tc, idx_truncated);
    tcase_add_test(tc, idx_bad_header);
    tcase_add_test(tc, idx_absurd_dims);
    tcase_add_test(tc, idx_corrupt_gzip);
    tcase_add_test(tc, idx_missing_and_directory);
    tcase_add_test(tc, mnist_synthetic);
    tcase_add_test(tc, mnist_errors);
    tcase_add_test(tc, mnist_fashion);
    suite_add_tcase(s, tc);
    return s;
}
