/* SPDX-License-Identifier: MIT */
/* IDX reading through zlib (gzread reads plain files transparently), and the MNIST-layout
 * loader on top of it. */
#define _POSIX_C_SOURCE 200809L
#include "idx.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

static int fail(int code, char *err, size_t errlen, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

static int fail(int code, char *err, size_t errlen, const char *fmt, ...) {
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return code;
}

size_t idx_type_size(int type) {
    switch (type) {
    case IDX_U8:
    case IDX_I8: return 1;
    case IDX_I16: return 2;
    case IDX_I32:
    case IDX_F32: return 4;
    case IDX_F64: return 8;
    default: return 0;
    }
}

void idx_free(idx_array *a) {
    if (!a)
        return;
    free(a->data);
    memset(a, 0, sizeof *a);
}

void mnist_free(mnist_set *s) {
    if (!s)
        return;
    free(s->images);
    free(s->labels);
    memset(s, 0, sizeof *s);
}

/* An open file and where its errors go. */
typedef struct reader {
    gzFile gz;
    const char *path;
    char *err;
    size_t errlen;
} reader;

/* The error zlib recorded on r->gz as a message (errno's text for a system error). */
static const char *gz_message(reader *r, int *errnum) {
    const char *msg = gzerror(r->gz, errnum);
    if (*errnum == Z_ERRNO)
        return strerror(errno);
    if (!msg || !*msg)
        return "unknown zlib error";
    /* zlib prefixes its message with the name it was given, "<fd:N>" for gzdopen. */
    const char *colon = strstr(msg, ": ");
    return !strncmp(msg, "<fd:", 4) && colon ? colon + 2 : msg;
}

/* Read up to len bytes into buf; *got says how many came. A short read at the end of the input
 * is not an error here (the caller says what was cut short, with truncated()), but a gzip error
 * is. */
static int read_bytes(reader *r, void *buf, size_t len, size_t *got) {
    unsigned char *p = buf;
    *got = 0;
    while (*got < len) {
        /* gzread takes an unsigned count and returns an int. */
        size_t chunk = len - *got < ((size_t)1 << 30) ? len - *got : (size_t)1 << 30;
        int n = gzread(r->gz, p + *got, (unsigned)chunk);
        if (n < 0) {
            int errnum;
            const char *msg = gz_message(r, &errnum);
            return fail(errnum == Z_ERRNO ? IDX_ERR_IO : IDX_ERR_FORMAT, r->err, r->errlen,
                        errnum == Z_DATA_ERROR ? "%s: corrupt gzip data: %s" : "%s: read error: %s",
                        r->path, msg);
        }
        if (n == 0)
            break;
        *got += (size_t)n;
    }
    return IDX_OK;
}

/* The error for input that ended after got of whole bytes of the part named what; zlib's word
 * when it was a gzip stream that ended early ("unexpected end of file"). */
static int truncated(reader *r, const char *what, size_t got, size_t whole) {
    int errnum;
    const char *msg = gz_message(r, &errnum);
    return fail(IDX_ERR_FORMAT, r->err, r->errlen,
                "%s: truncated: the %s ends after %zu of %zu bytes%s%s%s", r->path, what, got,
                whole, errnum != Z_OK ? " (gzip: " : "", errnum != Z_OK ? msg : "",
                errnum != Z_OK ? ")" : "");
}

static uint32_t be32(const unsigned char *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* Turn count big-endian elements of size bytes into host order, in place. */
static void to_host_order(unsigned char *data, size_t count, size_t size) {
    const uint16_t one = 1;
    unsigned char first;
    memcpy(&first, &one, 1);
    if (size == 1 || !first) /* big-endian host: nothing to do */
        return;
    for (size_t i = 0; i < count; ++i) {
        unsigned char *e = data + i * size;
        for (size_t j = 0; j < size / 2; ++j) {
            unsigned char t = e[j];
            e[j] = e[size - 1 - j];
            e[size - 1 - j] = t;
        }
    }
}

/* Parse and check the header: magic, then the dimensions. Fills a's type, ndim, elem_size,
 * file_items and dims (as in the file). */
static int read_header(reader *r, idx_array *a) {
    unsigned char head[4 + 4 * IDX_MAX_DIMS];
    size_t got;
    int st = read_bytes(r, head, 4, &got);
    if (st)
        return st;
    int errnum;
    gz_message(r, &errnum);
    if (got == 0 && errnum == Z_OK)
        return fail(IDX_ERR_FORMAT, r->err, r->errlen, "%s: empty file", r->path);
    if (got < 4)
        return truncated(r, "header", got, 4);
    if (head[0] || head[1])
        return fail(IDX_ERR_FORMAT, r->err, r->errlen,
                    "%s is not an IDX file: bad magic 0x%08X (expected two zero bytes, a type "
                    "byte and a dimension count)",
                    r->path, (unsigned)be32(head));
    a->type = head[2];
    a->ndim = head[3];
    a->elem_size = idx_type_size(a->type);
    if (!a->elem_size)
        return fail(IDX_ERR_FORMAT, r->err, r->errlen,
                    "%s: unsupported IDX type 0x%02X (magic 0x%08X; known: 0x08 uint8, 0x09 int8, "
                    "0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64)",
                    r->path, (unsigned)a->type, (unsigned)be32(head));
    if (a->ndim < 1 || a->ndim > IDX_MAX_DIMS)
        return fail(IDX_ERR_FORMAT, r->err, r->errlen,
                    "%s: %d dimensions (magic 0x%08X); this reader takes 1 to %d", r->path, a->ndim,
                    (unsigned)be32(head), IDX_MAX_DIMS);
    size_t dims_len = 4 * (size_t)a->ndim;
    st = read_bytes(r, head + 4, dims_len, &got);
    if (st)
        return st;
    if (got < dims_len)
        return truncated(r, "header", 4 + got, 4 + dims_len);
    for (int i = 0; i < a->ndim; ++i)
        a->dims[i] = be32(head + 4 + 4 * i);
    a->file_items = a->dims[0];
    return IDX_OK;
}

/* The bytes of one item (the product of dims[1..] and the element size), checking that the
 * whole file's size, file_items items, fits in 64 bits. */
static int item_bytes(reader *r, const idx_array *a, size_t *out) {
    uint64_t item = a->elem_size;
    for (int i = 1; i < a->ndim; ++i) {
        if (a->dims[i] && item > UINT64_MAX / a->dims[i])
            return fail(IDX_ERR_FORMAT, r->err, r->errlen,
                        "%s: the dimensions overflow 64 bits: not a valid IDX header", r->path);
        item *= a->dims[i];
    }
    if (item && a->file_items > UINT64_MAX / item)
        return fail(IDX_ERR_FORMAT, r->err, r->errlen,
                    "%s: the dimensions overflow 64 bits: not a valid IDX header", r->path);
    if (item > IDX_MAX_BYTES)
        return fail(IDX_ERR_FORMAT, r->err, r->errlen,
                    "%s: one item would take %llu bytes, more than this reader's cap of %zu MiB",
                    r->path, (unsigned long long)item, IDX_MAX_BYTES >> 20);
    *out = (size_t)item;
    return IDX_OK;
}

/* Read bytes of data into a buffer that grows as data arrives, so that a short file claiming
 * a large size costs no more memory than it holds (a .gz's size says nothing about its data). */
static int read_data(reader *r, size_t bytes, unsigned char **out) {
    size_t cap = bytes < ((size_t)1 << 20) ? bytes : (size_t)1 << 20, done = 0;
    unsigned char *buf = malloc(cap ? cap : 1);
    if (!buf)
        return fail(IDX_ERR_NOMEM, r->err, r->errlen, "%s: out of memory", r->path);
    while (done < bytes) {
        if (done == cap) {
            size_t grown = cap > bytes / 2 ? bytes : cap * 2;
            unsigned char *p = realloc(buf, grown);
            if (!p) {
                free(buf);
                return fail(IDX_ERR_NOMEM, r->err, r->errlen,
                            "%s: out of memory for %zu bytes of data", r->path, grown);
            }
            buf = p;
            cap = grown;
        }
        size_t want = cap - done, got;
        int st = read_bytes(r, buf + done, want, &got);
        done += got;
        if (!st && got < want)
            st = truncated(r, "data", done, bytes);
        if (st) {
            free(buf);
            return st;
        }
    }
    *out = buf;
    return IDX_OK;
}

/* After all the data: the input must end here, and a gzip stream must end well (its CRC and
 * length are checked only when the reader reaches its trailer). */
static int check_end(reader *r) {
    unsigned char extra;
    size_t got;
    int st = read_bytes(r, &extra, 1, &got);
    if (st)
        return st;
    if (got)
        return fail(IDX_ERR_FORMAT, r->err, r->errlen, "%s: unexpected bytes after the data",
                    r->path);
    int errnum;
    const char *msg = gz_message(r, &errnum);
    if (errnum != Z_OK) /* a gzip stream cut inside its trailer */
        return fail(IDX_ERR_FORMAT, r->err, r->errlen, "%s: truncated gzip stream: %s", r->path,
                    msg);
    return IDX_OK;
}

static int read_open(reader *r, size_t limit, idx_array *a) {
    size_t item = 0;
    int st = read_header(r, a);
    if (!st)
        st = item_bytes(r, a, &item);
    if (st)
        return st;
    size_t n = limit && limit < a->file_items ? limit : a->file_items;
    if (item && n > IDX_MAX_BYTES / item)
        return fail(IDX_ERR_FORMAT, r->err, r->errlen,
                    "%s: %zu items of %zu bytes are more than this reader's cap of %zu MiB "
                    "(read fewer)",
                    r->path, n, item, IDX_MAX_BYTES >> 20);
    a->dims[0] = n;
    a->count = 1;
    for (int i = 0; i < a->ndim; ++i)
        a->count *= a->dims[i];
    st = read_data(r, n * item, &a->data);
    if (!st && n == a->file_items)
        st = check_end(r);
    if (!st)
        to_host_order(a->data, a->count, a->elem_size);
    return st;
}

/* Open path for reading through zlib; IDX_ERR_NOT_FOUND when it does not exist. */
static int open_reader(reader *r, const char *path, char *err, size_t errlen) {
    memset(r, 0, sizeof *r);
    r->path = path;
    r->err = err;
    r->errlen = errlen;
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return fail(errno == ENOENT ? IDX_ERR_NOT_FOUND : IDX_ERR_IO, err, errlen,
                    "cannot open %s: %s", path, strerror(errno));
    struct stat sb;
    int e = fstat(fd, &sb) != 0 ? errno : S_ISDIR(sb.st_mode) ? EISDIR : 0;
    if (e) {
        close(fd);
        return fail(IDX_ERR_IO, err, errlen, "cannot read %s: %s", path, strerror(e));
    }
    r->gz = gzdopen(fd, "rb");
    if (!r->gz) {
        close(fd);
        return fail(IDX_ERR_NOMEM, err, errlen, "%s: out of memory for zlib's buffers", path);
    }
    gzbuffer(r->gz, 1 << 17);
    return IDX_OK;
}

int idx_read(const char *path, size_t limit, idx_array *out, char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    reader r;
    int st = open_reader(&r, path, err, errlen);
    if (st)
        return st;
    idx_array a;
    memset(&a, 0, sizeof a);
    st = read_open(&r, limit, &a);
    gzclose_r(r.gz);
    if (st) {
        idx_free(&a);
        return st;
    }
    *out = a;
    return IDX_OK;
}

/* Read DIR/SPLIT-KIND-ubyte.gz, or where that does not exist DIR/SPLIT-KIND-ubyte. */
static int read_named(const char *dir, const char *split, const char *kind, size_t limit,
                      idx_array *a, char *used, size_t usedlen, char *err, size_t errlen) {
    size_t len = strlen(dir) + strlen(split) + strlen(kind) + 16;
    char *gz = malloc(len), *plain = malloc(len);
    int st = IDX_ERR_NOMEM;
    if (!gz || !plain) {
        fail(st, err, errlen, "out of memory");
    } else {
        snprintf(plain, len, "%s/%s-%s-ubyte", dir, split, kind);
        snprintf(gz, len, "%s.gz", plain);
        st = idx_read(gz, limit, a, err, errlen);
        snprintf(used, usedlen, "%s", gz);
        if (st == IDX_ERR_NOT_FOUND) {
            st = idx_read(plain, limit, a, err, errlen);
            snprintf(used, usedlen, "%s", plain);
        }
        if (st == IDX_ERR_NOT_FOUND)
            fail(st, err, errlen, "no %s %s file in %s: tried %s and %s", split, kind, dir, gz,
                 plain);
    }
    free(gz);
    free(plain);
    return st;
}

/* What the images and labels files must be, on top of being IDX files; messages name the files
 * (im_path, lb_path). */
static int check_mnist(const idx_array *im, const idx_array *lb, const char *im_path,
                       const char *lb_path, char *err, size_t errlen) {
    unsigned im_magic = (unsigned)im->type << 8 | (unsigned)im->ndim;
    unsigned lb_magic = (unsigned)lb->type << 8 | (unsigned)lb->ndim;
    if (im_magic != 0x803)
        return fail(IDX_ERR_FORMAT, err, errlen,
                    "%s: magic 0x%08X, expected 0x00000803 (uint8, 3 dimensions)", im_path,
                    im_magic);
    if (lb_magic != 0x801)
        return fail(IDX_ERR_FORMAT, err, errlen,
                    "%s: magic 0x%08X, expected 0x00000801 (uint8, 1 dimension)", lb_path,
                    lb_magic);
    if (im->file_items != lb->file_items)
        return fail(IDX_ERR_FORMAT, err, errlen,
                    "%s holds %zu images but %s %zu labels", im_path, im->file_items, lb_path,
                    lb->file_items);
    if (!im->file_items || !im->dims[1] || !im->dims[2])
        return fail(IDX_ERR_FORMAT, err, errlen, "%s: %zu images of %zux%zu pixels: empty",
                    im_path, im->file_items, im->dims[1], im->dims[2]);
    for (size_t i = 0; i < lb->count; ++i)
        if (lb->data[i] > 9)
            return fail(IDX_ERR_FORMAT, err, errlen,
                        "%s: label %u at position %zu is outside 0..9", lb_path,
                        (unsigned)lb->data[i], i);
    return IDX_OK;
}

/* The set's arrays from checked images and labels. */
static int convert_mnist(const idx_array *im, const idx_array *lb, mnist_set *s, char *err,
                         size_t errlen) {
    s->n = im->dims[0];
    s->rows = im->dims[1];
    s->cols = im->dims[2];
    if (im->count > SIZE_MAX / sizeof *s->images)
        return fail(IDX_ERR_NOMEM, err, errlen, "%zu pixels do not fit this machine's memory",
                    im->count);
    s->images = malloc(im->count * sizeof *s->images);
    s->labels = malloc((s->n ? s->n : 1) * sizeof *s->labels);
    if (!s->images || !s->labels)
        return fail(IDX_ERR_NOMEM, err, errlen, "out of memory for %zu images", s->n);
    for (size_t i = 0; i < im->count; ++i)
        s->images[i] = (float)im->data[i] / 255.0f;
    for (size_t i = 0; i < s->n; ++i)
        s->labels[i] = lb->data[i];
    return IDX_OK;
}

int mnist_load(const char *dir, const char *split, size_t limit, mnist_set *out, char *err,
               size_t errlen) {
    memset(out, 0, sizeof *out);
    struct stat sb;
    if (stat(dir, &sb) != 0)
        return fail(errno == ENOENT ? IDX_ERR_NOT_FOUND : IDX_ERR_IO, err, errlen,
                    "data directory %s: %s", dir, strerror(errno));
    if (!S_ISDIR(sb.st_mode))
        return fail(IDX_ERR_IO, err, errlen, "data directory %s: %s", dir, strerror(ENOTDIR));
    idx_array im, lb;
    memset(&lb, 0, sizeof lb);
    char im_path[4096] = "", lb_path[4096] = "";
    int st = read_named(dir, split, "images-idx3", limit, &im, im_path, sizeof im_path, err, errlen);
    if (!st)
        st = read_named(dir, split, "labels-idx1", limit, &lb, lb_path, sizeof lb_path, err,
                        errlen);
    if (!st)
        st = check_mnist(&im, &lb, im_path, lb_path, err, errlen);
    mnist_set s;
    memset(&s, 0, sizeof s);
    if (!st)
        st = convert_mnist(&im, &lb, &s, err, errlen);
    idx_free(&im);
    idx_free(&lb);
    if (st) {
        mnist_free(&s);
        return st;
    }
    *out = s;
    return IDX_OK;
}
