/* SPDX-License-Identifier: MIT */
/* .npy reading and writing. The format: magic "\x93NUMPY", major and minor version bytes, a
 * little-endian header length (2 bytes in 1.0, 4 in 2.0 and 3.0), then a Python dict literal
 * with 'descr', 'fortran_order' and 'shape', padded with spaces and ended by '\n'. */
#define _POSIX_C_SOURCE 200809L
#include "npy.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static clact_status fail(clact_status st, char *err, size_t len, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

static clact_status fail(clact_status st, char *err, size_t len, const char *fmt, ...) {
    if (err && len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, len, fmt, ap);
        va_end(ap);
    }
    return st;
}

void clact_npy_free(clact_npy *a) {
    if (!a)
        return;
    free(a->data);
    memset(a, 0, sizeof *a);
}

typedef struct parser {
    const char *p, *end;
} parser;

static void skip_ws(parser *ps) {
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
        ps->p++;
}

static int parse_string(parser *ps, char *out, size_t len) {
    if (ps->p >= ps->end || (*ps->p != '\'' && *ps->p != '"'))
        return 0;
    char quote = *ps->p++;
    size_t n = 0;
    while (ps->p < ps->end && *ps->p != quote) {
        /* Printable ASCII only, as NumPy writes: a NUL, a newline or a byte >= 0x7f is not a key
         * or a dtype (a NUL passed as the byte-order character; a newline made two-line errors). */
        if (n + 1 >= len || (unsigned char)*ps->p < 0x20 || (unsigned char)*ps->p >= 0x7f)
            return 0;
        out[n++] = *ps->p++;
    }
    if (ps->p >= ps->end)
        return 0;
    ps->p++;
    out[n] = '\0';
    return 1;
}

static int parse_word(parser *ps, const char *word) {
    size_t n = strlen(word);
    if ((size_t)(ps->end - ps->p) < n || strncmp(ps->p, word, n))
        return 0;
    ps->p += n;
    return 1;
}

static int parse_shape(parser *ps, clact_npy *a) {
    if (ps->p >= ps->end || *ps->p != '(')
        return 0;
    ps->p++;
    a->ndim = 0;
    for (;;) {
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == ')') {
            ps->p++;
            return 1;
        }
        if (ps->p >= ps->end || !isdigit((unsigned char)*ps->p) || a->ndim >= CLACT_NPY_MAX_DIMS)
            return 0;
        size_t v = 0;
        while (ps->p < ps->end && isdigit((unsigned char)*ps->p)) {
            unsigned d = (unsigned)(*ps->p++ - '0');
            if (v > (SIZE_MAX - d) / 10)
                return 0;
            v = v * 10 + d;
        }
        a->shape[a->ndim++] = v;
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == ',')
            ps->p++;
        else if (ps->p >= ps->end || *ps->p != ')')
            return 0;
    }
}

/* Read up to want bytes of f into a buffer grown as data arrives (from 64 KiB, doubling), so
 * that what is allocated is at most twice what the stream holds, whatever a header claims. On
 * success *out (the caller frees it) holds *got bytes; 0 when out of memory. */
static int read_grown(FILE *f, size_t want, unsigned char **out, size_t *got) {
    size_t cap = want < ((size_t)1 << 16) ? want : (size_t)1 << 16, n = 0;
    unsigned char *buf = malloc(cap ? cap : 1);
    if (!buf)
        return 0;
    for (;;) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap || cap == want)
            break;
        size_t grown = cap > want / 2 ? want : 2 * cap;
        unsigned char *b = realloc(buf, grown);
        if (!b) {
            free(buf);
            return 0;
        }
        buf = b;
        cap = grown;
    }
    *out = buf;
    *got = n;
    return 1;
}

static clact_status parse_header(const char *text, size_t len, clact_npy *a, const char *path,
                                 char *err, size_t err_len) {
    parser ps = {text, text + len};
    int have_descr = 0, have_order = 0, have_shape = 0;
    skip_ws(&ps);
    if (ps.p >= ps.end || *ps.p++ != '{')
        return fail(CLACT_FORMAT_ERROR, err, err_len, "%s: malformed .npy header (no '{')", path);
    for (;;) {
        skip_ws(&ps);
        if (ps.p < ps.end && *ps.p == '}')
            break;
        char key[32];
        if (!parse_string(&ps, key, sizeof key))
            return fail(CLACT_FORMAT_ERROR, err, err_len, "%s: malformed .npy header (bad key)",
                        path);
        skip_ws(&ps);
        if (ps.p >= ps.end || *ps.p++ != ':')
            return fail(CLACT_FORMAT_ERROR, err, err_len, "%s: malformed .npy header (no ':')",
                        path);
        skip_ws(&ps);
        if (!strcmp(key, "descr")) {
            if (!parse_string(&ps, a->descr, sizeof a->descr))
                return fail(CLACT_FORMAT_ERROR, err, err_len,
                            "%s: unsupported dtype description (structured or too long)", path);
            have_descr = 1;
        } else if (!strcmp(key, "fortran_order")) {
            if (parse_word(&ps, "True"))
                a->fortran_order = 1;
            else if (parse_word(&ps, "False"))
                a->fortran_order = 0;
            else
                return fail(CLACT_FORMAT_ERROR, err, err_len,
                            "%s: malformed .npy header (fortran_order)", path);
            have_order = 1;
        } else if (!strcmp(key, "shape")) {
            if (!parse_shape(&ps, a))
                return fail(CLACT_FORMAT_ERROR, err, err_len, "%s: malformed .npy header (shape)",
                            path);
            have_shape = 1;
        } else {
            return fail(CLACT_FORMAT_ERROR, err, err_len, "%s: unexpected key '%s' in .npy header",
                        path, key);
        }
        skip_ws(&ps);
        if (ps.p < ps.end && *ps.p == ',')
            ps.p++;
        else if (ps.p >= ps.end || *ps.p != '}')
            return fail(CLACT_FORMAT_ERROR, err, err_len, "%s: malformed .npy header", path);
    }
    if (!have_descr || !have_order || !have_shape)
        return fail(CLACT_FORMAT_ERROR, err, err_len,
                    "%s: .npy header lacks 'descr', 'fortran_order' or 'shape'", path);
    const char *d = a->descr;
    if (!strchr("<>|=", d[0]) || !isalpha((unsigned char)d[1]) || !isdigit((unsigned char)d[2]))
        return fail(CLACT_FORMAT_ERROR, err, err_len, "%s: unsupported dtype '%s'", path, d);
    char *end;
    unsigned long size = strtoul(d + 2, &end, 10);
    if (*end || size == 0 || size > 64)
        return fail(CLACT_FORMAT_ERROR, err, err_len, "%s: unsupported dtype '%s'", path, d);
    a->item_size = size;
    a->count = 1;
    for (int i = 0; i < a->ndim; ++i) {
        if (a->shape[i] && a->count > SIZE_MAX / a->shape[i])
            return fail(CLACT_FORMAT_ERROR, err, err_len, "%s: shape too large", path);
        a->count *= a->shape[i];
    }
    if (a->count && a->count > SIZE_MAX / a->item_size)
        return fail(CLACT_FORMAT_ERROR, err, err_len, "%s: shape too large", path);
    return CLACT_OK;
}

clact_status clact_npy_read(const char *path, clact_npy *out, char *err, size_t err_len) {
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f)
        return fail(CLACT_IO_ERROR, err, err_len, "cannot open %s: %s", path, strerror(errno));
    clact_npy a;
    memset(&a, 0, sizeof a);
    unsigned char pre[12];
    clact_status st = CLACT_OK;
    size_t got = fread(pre, 1, 10, f);
    size_t header_len = 0;
    char *header = NULL;
    if (got < 10 || memcmp(pre, "\x93NUMPY", 6)) {
        st = fail(CLACT_FORMAT_ERROR, err, err_len, "%s is not a .npy file (bad magic)", path);
    } else if (pre[6] == 1) {
        header_len = (size_t)pre[8] | (size_t)pre[9] << 8;
    } else if (pre[6] == 2 || pre[6] == 3) {
        if (fread(pre + 10, 1, 2, f) != 2)
            st = fail(CLACT_FORMAT_ERROR, err, err_len, "%s: truncated .npy header", path);
        else
            header_len = (size_t)pre[8] | (size_t)pre[9] << 8 | (size_t)pre[10] << 16 |
                         (size_t)pre[11] << 24;
    } else {
        st = fail(CLACT_FORMAT_ERROR, err, err_len, "%s: unsupported .npy format version %u.%u",
                  path, pre[6], pre[7]);
    }
    if (st == CLACT_OK && header_len > (1u << 24))
        st = fail(CLACT_FORMAT_ERROR, err, err_len, "%s: .npy header too long", path);
    size_t header_got = 0;
    unsigned char *hbuf = NULL;
    if (st == CLACT_OK && !read_grown(f, header_len, &hbuf, &header_got))
        st = fail(CLACT_OUT_OF_MEMORY, err, err_len, "%s: out of memory", path);
    header = (char *)hbuf;
    if (st == CLACT_OK && header_got != header_len)
        st = fail(CLACT_FORMAT_ERROR, err, err_len, "%s: truncated .npy header", path);
    if (st == CLACT_OK)
        st = parse_header(header, header_len, &a, path, err, err_len);
    free(header);
    if (st == CLACT_OK && a.count) {
        size_t bytes = a.count * a.item_size;
        /* Nothing is allocated beyond what the input can justify: a regular file must hold what
         * the header promises before that much is allocated (a 128-byte file may claim
         * terabytes); a pipe's data is read into a buffer grown as it arrives. */
        struct stat sb;
        long at = ftell(f);
        int regular = at >= 0 && fstat(fileno(f), &sb) == 0 && S_ISREG(sb.st_mode);
        size_t n = 0;
        unsigned char *dbuf = NULL;
        if (regular && (uint64_t)sb.st_size - (uint64_t)at < (uint64_t)bytes)
            st = fail(CLACT_FORMAT_ERROR, err, err_len,
                      "%s: truncated data: the header promises %zu bytes, the file has %llu", path,
                      bytes, (unsigned long long)((uint64_t)sb.st_size - (uint64_t)at));
        else if (regular ? !(a.data = malloc(bytes))
                         : !(read_grown(f, bytes, &dbuf, &n) && (a.data = dbuf)))
            st = fail(CLACT_OUT_OF_MEMORY, err, err_len, "%s: out of memory for %zu bytes", path,
                      bytes);
        else {
            if (regular)
                n = fread(a.data, 1, bytes, f);
            if (n != bytes)
                st = fail(CLACT_FORMAT_ERROR, err, err_len,
                          "%s: truncated data: the header promises %zu bytes, the file has %zu",
                          path, bytes, n);
        }
    }
    if (st == CLACT_OK && fgetc(f) != EOF)
        st = fail(CLACT_FORMAT_ERROR, err, err_len, "%s: unexpected bytes after the data", path);
    if (st == CLACT_OK && ferror(f))
        st = fail(CLACT_IO_ERROR, err, err_len, "error reading %s", path);
    fclose(f);
    if (st != CLACT_OK) {
        clact_npy_free(&a);
        return st;
    }
    *out = a;
    return CLACT_OK;
}

static size_t format_header(const clact_npy *a, char *buf, size_t len) {
    char shape[CLACT_NPY_MAX_DIMS * 24 + 8];
    size_t used = 0;
    shape[used++] = '(';
    for (int i = 0; i < a->ndim; ++i)
        used += (size_t)snprintf(shape + used, sizeof shape - used, "%s%zu", i ? ", " : "",
                                 a->shape[i]);
    if (a->ndim == 1)
        shape[used++] = ',';
    shape[used++] = ')';
    shape[used] = '\0';
    int n = snprintf(buf, len, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }", a->descr,
                     shape);
    return n < 0 ? 0 : (size_t)n;
}

/* Where a write to path goes, as cp decides: a symbolic link is followed to its final target
 * (created if missing) and the link kept; an existing FIFO, device or socket is written through
 * (*direct 1), never replaced by a regular file; a directory is refused. *target is malloc'd. */
static clact_status out_target(const char *path, char **target, int *direct, char *err,
                               size_t err_len) {
    char *cur = strdup(path);
    *target = NULL;
    *direct = 0;
    if (!cur)
        return fail(CLACT_OUT_OF_MEMORY, err, err_len, "%s: out of memory", path);
    for (int hops = 0;; ++hops) {
        struct stat sb;
        if (lstat(cur, &sb) != 0) {
            if (errno == ENOENT)
                break; /* a new file (also a dangling link's target) */
            int e = errno;
            free(cur);
            return fail(CLACT_IO_ERROR, err, err_len, "cannot write %s: %s", path, strerror(e));
        }
        if (!S_ISLNK(sb.st_mode)) {
            if (S_ISDIR(sb.st_mode)) {
                free(cur);
                return fail(CLACT_IO_ERROR, err, err_len, "cannot write %s: it is a directory",
                            path);
            }
            *direct = !S_ISREG(sb.st_mode);
            break;
        }
        char link[4096];
        ssize_t n = hops < 40 ? readlink(cur, link, sizeof link - 1) : -1;
        if (n < 0 || (size_t)n >= sizeof link - 1) {
            free(cur);
            return fail(CLACT_IO_ERROR, err, err_len, "cannot write %s: %s", path,
                        hops < 40 ? "unreadable symbolic link" : "too many symbolic links");
        }
        link[n] = '\0';
        /* A relative link is relative to the directory holding it. */
        const char *slash = strrchr(cur, '/');
        size_t dlen = link[0] == '/' || !slash ? 0 : (size_t)(slash - cur) + 1;
        char *next = malloc(dlen + (size_t)n + 1);
        if (!next) {
            free(cur);
            return fail(CLACT_OUT_OF_MEMORY, err, err_len, "%s: out of memory", path);
        }
        memcpy(next, cur, dlen);
        memcpy(next + dlen, link, (size_t)n + 1);
        free(cur);
        cur = next;
    }
    *target = cur;
    return CLACT_OK;
}

/* Runs produce on a stream over fd (closed here whatever happens): 1 on success, else 0 with the
 * reason in *e. */
static int produce_into(int fd, int (*produce)(FILE *f, void *arg), void *arg, int *e) {
    errno = 0;
    FILE *f = fdopen(fd, "wb");
    if (!f)
        close(fd);
    int ok = f && produce(f, arg) == 0 && !ferror(f);
    *e = errno ? errno : EIO;
    if (f && fclose(f) != 0 && ok) {
        *e = errno;
        ok = 0;
    }
    return ok;
}

clact_status clact_file_write(const char *path, int (*produce)(FILE *f, void *arg), void *arg,
                              char *err, size_t err_len) {
    char *target;
    int direct;
    clact_status st = out_target(path, &target, &direct, err, err_len);
    if (st != CLACT_OK)
        return st;
    if (direct) { /* an existing FIFO or device: written through */
        int dfd = open(target, O_WRONLY | O_CLOEXEC | O_NOCTTY), e = errno;
        int ok = dfd >= 0 && produce_into(dfd, produce, arg, &e);
        free(target);
        if (!ok)
            return fail(CLACT_IO_ERROR, err, err_len, "cannot write %s: %s", path, strerror(e));
        return CLACT_OK;
    }
    /* A regular file (or a new one): written beside its target and renamed into place. */
    size_t plen = strlen(target);
    char *tmp = malloc(plen + 16);
    if (!tmp) {
        free(target);
        return fail(CLACT_OUT_OF_MEMORY, err, err_len, "%s: out of memory", path);
    }
    memcpy(tmp, target, plen);
    memcpy(tmp + plen, ".tmp.XXXXXX", 12);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        int e = errno;
        free(tmp);
        free(target);
        return fail(CLACT_IO_ERROR, err, err_len, "cannot write %s: %s", path, strerror(e));
    }
    /* mkstemp makes the file 0600; give it the mode a plain fopen would have. */
    mode_t mask = umask(0);
    umask(mask);
    fchmod(fd, 0666 & ~mask);
    int e = 0, ok = produce_into(fd, produce, arg, &e);
    if (ok && rename(tmp, target) != 0) {
        e = errno;
        ok = 0;
    }
    if (!ok)
        unlink(tmp);
    free(tmp);
    free(target);
    if (!ok)
        return fail(CLACT_IO_ERROR, err, err_len, "cannot write %s: %s", path, strerror(e));
    return CLACT_OK;
}

/* What clact_npy_write hands clact_file_write: the header, then the data. */
typedef struct npy_blocks {
    const void *head, *data;
    size_t head_len, data_len;
} npy_blocks;

static int npy_produce(FILE *f, void *arg) {
    const npy_blocks *b = arg;
    if (fwrite(b->head, 1, b->head_len, f) != b->head_len)
        return -1;
    if (b->data_len && fwrite(b->data, 1, b->data_len, f) != b->data_len)
        return -1;
    return 0;
}

clact_status clact_npy_write(const char *path, const clact_npy *a, char *err, size_t err_len) {
    char dict[CLACT_NPY_MAX_DIMS * 24 + 128];
    size_t dict_len = format_header(a, dict, sizeof dict);
    /* Pad so that the data starts on a 64-byte boundary, as NumPy does. */
    size_t prefix = 10;
    size_t total = (prefix + dict_len + 1 + 63) / 64 * 64;
    if (total - prefix > 65535) {
        prefix = 12;
        total = (prefix + dict_len + 1 + 63) / 64 * 64;
    }
    size_t hlen = total - prefix;
    unsigned char head[4096 + 64];
    if (total > sizeof head)
        return fail(CLACT_FORMAT_ERROR, err, err_len, "%s: header too long", path);
    memcpy(head, "\x93NUMPY", 6);
    head[6] = prefix == 10 ? 1 : 2;
    head[7] = 0;
    head[8] = (unsigned char)(hlen & 0xff);
    head[9] = (unsigned char)(hlen >> 8 & 0xff);
    if (prefix == 12) {
        head[10] = (unsigned char)(hlen >> 16 & 0xff);
        head[11] = (unsigned char)(hlen >> 24 & 0xff);
    }
    memcpy(head + prefix, dict, dict_len);
    memset(head + prefix + dict_len, ' ', total - prefix - dict_len - 1);
    head[total - 1] = '\n';
    npy_blocks b = {head, a->data, total, a->count * a->item_size};
    return clact_file_write(path, npy_produce, &b, err, err_len);
}
