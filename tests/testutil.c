/* SPDX-License-Identifier: MIT */
#define _POSIX_C_SOURCE 200809L /* setenv */
#include "testutil.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static clact_context *the_ctx;
static uint64_t the_seed;

clact_context *tu_ctx(void) { return the_ctx; }
void tu_set_ctx(clact_context *ctx) { the_ctx = ctx; }

int tu_quick(void) {
    const char *v = getenv("CLACT_TEST_QUICK");
    if (!v || !v[0] || !strcmp(v, "0"))
        return 0;
    return strcmp(v, "2") ? 1 : 2;
}

int tu_device_is_oclgrind(void) {
    static int is = -1; /* one device for the whole run */
    if (is < 0) {
        char name[64] = "";
        clGetDeviceInfo(clact_context_device(tu_ctx()), CL_DEVICE_NAME, sizeof name - 1, name,
                        NULL);
        is = !strcmp(name, "Oclgrind Simulator");
    }
    return is;
}

/* Contexts made by tu_setenv, one per combination of the variables it set, so that going back
 * to an earlier setting reuses that context and its programs (building programs again for every
 * change costs seconds under valgrind). */
enum { MAX_POOL = 32 };
static struct {
    char key[256];
    clact_context *ctx;
} pool[MAX_POOL];
static int pooled;
static const char *const tracked[] = {"CLACT_SOFTMAX_PATH", "CLACT_SOFTMAX_ROWS_PER_ITEM",
                                      "CLACT_VECTOR_WIDTH", "CLACT_TABLES"};

static void pool_key(char *key, size_t len) {
    size_t used = 0;
    key[0] = '\0';
    for (size_t i = 0; i < sizeof tracked / sizeof tracked[0] && used < len; ++i) {
        const char *v = getenv(tracked[i]);
        used += (size_t)snprintf(key + used, len - used, "%s=%s;", tracked[i], v ? v : "");
    }
}

void tu_setenv(const char *name, const char *value) {
    int known = 0;
    for (size_t i = 0; i < sizeof tracked / sizeof tracked[0]; ++i)
        known |= !strcmp(name, tracked[i]);
    ck_assert_msg(known, "tu_setenv: %s is not a variable the test pool tracks", name);
    const char *now = getenv(name);
    if ((!now && !value) || (now && value && !strcmp(now, value)))
        return;
    if (!pooled) { /* the runner's context is the pool's first entry, for its setting */
        pool_key(pool[0].key, sizeof pool[0].key);
        pool[0].ctx = the_ctx;
        pooled = 1;
    }
    if (value)
        setenv(name, value, 1);
    else
        unsetenv(name);
    char key[256];
    pool_key(key, sizeof key);
    for (int i = 0; i < pooled; ++i)
        if (!strcmp(pool[i].key, key)) {
            the_ctx = pool[i].ctx;
            return;
        }
    ck_assert_msg(pooled < MAX_POOL, "tu_setenv: more than %d settings", MAX_POOL);
    clact_context *fresh = NULL;
    ck_assert_msg(clact_context_create_from_queue(&fresh, clact_context_queue(the_ctx)) == CLACT_OK,
                  "%s=%s: %s", name, value ? value : "(unset)", clact_context_last_error(NULL));
    snprintf(pool[pooled].key, sizeof pool[pooled].key, "%s", key);
    pool[pooled++].ctx = fresh;
    the_ctx = fresh;
}

void tu_release_contexts(void) {
    if (!pooled)
        clact_context_destroy(the_ctx);
    for (int i = 0; i < pooled; ++i)
        clact_context_destroy(pool[i].ctx);
    pooled = 0;
    the_ctx = NULL;
}

uint64_t tu_seed(void) { return the_seed; }

static uint64_t splitmix(uint64_t *x) {
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void tu_seed_init(void) {
    const char *env = getenv("CLACT_TEST_SEED");
    if (env && env[0]) {
        the_seed = strtoull(env, NULL, 0);
    } else {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t x =
            (uint64_t)ts.tv_sec * 1000000007ull ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 32);
        the_seed = splitmix(&x);
    }
}

tu_rng tu_rng_for(const char *label, uint64_t extra) {
    uint64_t h = 1469598103934665603ull;
    for (const char *p = label; *p; ++p)
        h = (h ^ (unsigned char)*p) * 1099511628211ull;
    tu_rng r = {the_seed ^ h ^ (extra * 0x9E3779B97F4A7C15ull)};
    splitmix(&r.s);
    return r;
}

uint64_t tu_next(tu_rng *r) { return splitmix(&r->s); }

double tu_uniform(tu_rng *r, double lo, double hi) {
    return lo + (hi - lo) * ((double)(tu_next(r) >> 11) * 0x1.0p-53);
}

/* clEnqueueWriteBuffer of bytes bytes at byte offset off, blocking. On oclgrind, as a write of the
 * whole buffer from offset 0 (read, patched, written back): its uninitialised-value tracking
 * (--uninitialized, tests/oclgrind.sh) records any other host write wrongly, marking bytes that
 * were not written and unmarking bytes that were (oclgrind 21.10, in a 16-float buffer written
 * whole: a write of elements 8 to 15 leaves 0 and 8 to 15 "uninitialised", one of elements 0 to 3
 * leaves 4 to 15), and would then report a kernel's reads of the test's own inputs. */
static void host_write(cl_mem m, size_t off, size_t bytes, const void *src) {
    cl_command_queue q = clact_context_queue(tu_ctx());
    size_t size = 0;
    ck_assert_int_eq(clGetMemObjectInfo(m, CL_MEM_SIZE, sizeof size, &size, NULL), CL_SUCCESS);
    if (!tu_device_is_oclgrind() || (off == 0 && bytes == size)) {
        ck_assert_int_eq(clEnqueueWriteBuffer(q, m, CL_TRUE, off, bytes, src, 0, NULL, NULL),
                         CL_SUCCESS);
        return;
    }
    unsigned char *all = malloc(size);
    ck_assert(all != NULL);
    ck_assert_int_eq(clEnqueueReadBuffer(q, m, CL_TRUE, 0, size, all, 0, NULL, NULL), CL_SUCCESS);
    memcpy(all + off, src, bytes);
    ck_assert_int_eq(clEnqueueWriteBuffer(q, m, CL_TRUE, 0, size, all, 0, NULL, NULL), CL_SUCCESS);
    free(all);
}

/* clEnqueueFillBuffer of bytes bytes at byte offset off with the psize-byte pattern, finished. On
 * oclgrind, through host_write: it records a fill as it does a partial write (wrongly), and a
 * buffer filled in part keeps no record of what kernels write to it afterwards (oclgrind 21.10: a
 * kernel writes all 16 floats of a buffer after a 4-byte fill at its end, and the next kernel's
 * reads of 15 of them are "uninitialised"). */
static void host_fill(cl_mem m, size_t off, size_t bytes, const void *pattern, size_t psize) {
    cl_command_queue q = clact_context_queue(tu_ctx());
    /* Patterns of 1 and 2 bytes as the same bytes in a 4-byte pattern where offset and size
     * allow, else written (below): NVIDIA's driver (580.159, H200) faults on some narrow fills
     * into buffers over 4 GiB (host/launch.c, clact__fill_zeros). */
    unsigned char wide[4];
    if (psize < 4 && off % 4 == 0 && bytes % 4 == 0) {
        for (size_t i = 0; i < 4; i += psize)
            memcpy(wide + i, pattern, psize);
        pattern = wide;
        psize = 4;
    }
    if (!tu_device_is_oclgrind() && psize >= 4) {
        ck_assert_int_eq(clEnqueueFillBuffer(q, m, pattern, psize, off, bytes, 0, NULL, NULL),
                         CL_SUCCESS);
        ck_assert_int_eq(clFinish(q), CL_SUCCESS);
        return;
    }
    unsigned char *b = malloc(bytes);
    ck_assert(b != NULL);
    for (size_t i = 0; i < bytes; i += psize)
        memcpy(b + i, pattern, psize);
    host_write(m, off, bytes, b);
    free(b);
}

/* A new buffer of bytes bytes, every byte 0xff (tu_poison_dt's poison, NaN in every dtype),
 * written from the host in one write of the whole buffer. So no element of a harness buffer is
 * ever uninitialised: padding around a test's data (data written at an offset, canary gaps, a
 * spare element at the end) holds a NaN that must not matter and fails the test if it does.
 * (One whole write, not a fill: see host_fill.) */
static cl_mem poisoned_buffer(size_t bytes, cl_mem_flags flags) {
    cl_int err;
    cl_mem m = clCreateBuffer(clact_context_cl_context(tu_ctx()), flags, bytes, NULL, &err);
    ck_assert_msg(m != NULL, "clCreateBuffer failed: %d", err);
    unsigned char *b = malloc(bytes);
    ck_assert(b != NULL);
    memset(b, 0xff, bytes);
    err =
        clEnqueueWriteBuffer(clact_context_queue(tu_ctx()), m, CL_TRUE, 0, bytes, b, 0, NULL, NULL);
    free(b);
    ck_assert_int_eq(err, CL_SUCCESS);
    return m;
}

cl_mem tu_buffer(size_t n_floats, cl_mem_flags flags) {
    return poisoned_buffer((n_floats ? n_floats : 1) * sizeof(float), flags);
}

void tu_write(cl_mem m, size_t offset, size_t n, const float *src) {
    if (!n)
        return;
    host_write(m, offset * sizeof(float), n * sizeof(float), src);
}

void tu_read(cl_mem m, size_t offset, size_t n, float *dst) {
    if (!n)
        return;
    cl_int err = clEnqueueReadBuffer(clact_context_queue(tu_ctx()), m, CL_TRUE,
                                     offset * sizeof(float), n * sizeof(float), dst, 0, NULL, NULL);
    ck_assert_int_eq(err, CL_SUCCESS);
}

void tu_read_bytes(cl_mem m, size_t bytes, void *dst) {
    if (!bytes)
        return;
    cl_int err = clEnqueueReadBuffer(clact_context_queue(tu_ctx()), m, CL_TRUE, 0, bytes, dst, 0,
                                     NULL, NULL);
    ck_assert_int_eq(err, CL_SUCCESS);
}

void tu_fill_bits(cl_mem m, size_t offset, size_t n, uint32_t bits) {
    if (!n)
        return;
    host_fill(m, offset * sizeof(float), n * sizeof(float), &bits, sizeof bits);
}

uint32_t tu_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

float tu_from_bits(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

double tu_ulp_error(float got, double ref) {
    if (isnan(ref) || isnan(got))
        return (isnan(ref) && isnan(got)) ? 0.0 : INFINITY;
    float reff = (float)ref;
    if (isinf(reff) || isinf(got))
        return got == reff ? 0.0 : INFINITY;
    double a = fabs(ref);
    double spacing;
    if (a < FLT_MIN) {
        spacing = 0x1.0p-149;
    } else {
        int e;
        frexp(a, &e); /* a = m * 2^e, m in [0.5, 1) */
        spacing = ldexp(1.0, e - 24);
    }
    return fabs((double)got - ref) / spacing;
}

int tu_close(float got, double ref, tu_tolerance tol) {
    if (isnan(ref))
        return isnan(got);
    if (isnan(got))
        return 0;
    float reff = (float)ref;
    if (isinf(reff) || isinf(got))
        return got == reff;
    if (reff == 0.0f && got == 0.0f)
        return 1;
    double err = fabs((double)got - ref);
    int bar = fabs(ref) > 1e-5 ? err <= tol.rel * fabs(ref) : err <= tol.rel;
    return bar && tu_ulp_error(got, ref) <= tol.max_ulp;
}

static double half_to_double(uint16_t h) {
    int s = h >> 15, e = (h >> 10) & 31, m = h & 1023;
    double v = e == 0 ? ldexp(m, -24) : e == 31 ? (m ? NAN : INFINITY) : ldexp(1024 + m, e - 25);
    return s ? -v : v;
}

static double bf16_to_double(uint16_t b) {
    uint32_t u = (uint32_t)b << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* The value of a 16-bit pattern, and the pattern's position in value order (for ulp distance). */
double tu_decode16(clact_dtype dt, uint16_t v) {
    return dt == CLACT_F16 ? half_to_double(v) : bf16_to_double(v);
}

long tu_order16(uint16_t v) { return (v & 0x8000) ? -(long)(v & 0x7fff) : (long)v; }

/* Round a double to the type, to nearest even, by search: the nearest of the two neighbours
 * found by bisection over the ordered finite patterns. Independent of any hardware conversion. */
uint16_t tu_round16(clact_dtype dt, double x) {
    if (isnan(x)) /* a quiet NaN of the type (0x7e00 is a number in bf16) */
        return dt == CLACT_F16 ? 0x7e00 : 0x7fc0;
    uint16_t maxp = dt == CLACT_F16 ? 0x7bff : 0x7f7f, inf = dt == CLACT_F16 ? 0x7c00 : 0x7f80;
    uint16_t sign = signbit(x) ? 0x8000 : 0;
    double a = fabs(x);
    if (isinf(a))
        return sign | inf;
    uint16_t lo = 0, hi = maxp;
    if (a >= tu_decode16(dt, maxp)) {
        /* Beyond the largest finite: overflow once past the half-way point to the next binade's
         * first value (what inf would be with one more exponent). */
        double next = 2 * tu_decode16(dt, maxp) - tu_decode16(dt, (uint16_t)(maxp - 1));
        return sign | (a >= (tu_decode16(dt, maxp) + next) / 2 ? inf : maxp);
    }
    while (hi - lo > 1) {
        uint16_t mid = (uint16_t)((lo + hi) / 2);
        if (tu_decode16(dt, mid) <= a)
            lo = mid;
        else
            hi = mid;
    }
    double dl = a - tu_decode16(dt, lo), dh = tu_decode16(dt, hi) - a;
    uint16_t r = dl < dh ? lo : dh < dl ? hi : ((lo & 1) ? hi : lo);
    return sign | r;
}

/* Buffers of any dtype, as doubles on the host. */
cl_mem tu_buffer_dt(clact_dtype dt, size_t n, cl_mem_flags flags) {
    return poisoned_buffer((n ? n : 1) * clact_dtype_size(dt), flags);
}

double tu_round_dt(clact_dtype dt, double x) {
    switch (dt) {
    case CLACT_F32: return (float)x;
    case CLACT_F64: return x;
    case CLACT_F16:
    case CLACT_BF16: break;
    }
    return tu_decode16(dt, tu_round16(dt, x));
}

static void encode_dt(clact_dtype dt, const double *src, size_t n, unsigned char *dst) {
    for (size_t i = 0; i < n; ++i) {
        if (dt == CLACT_F32) {
            float f = (float)src[i];
            memcpy(dst + 4 * i, &f, 4);
        } else if (dt == CLACT_F64) {
            memcpy(dst + 8 * i, &src[i], 8);
        } else {
            uint16_t h = tu_round16(dt, src[i]);
            memcpy(dst + 2 * i, &h, 2);
        }
    }
}

void tu_write_dt(clact_dtype dt, cl_mem m, size_t offset, size_t n, const double *src) {
    if (!n)
        return;
    size_t es = clact_dtype_size(dt);
    unsigned char *b = malloc(n * es);
    ck_assert(b != NULL);
    encode_dt(dt, src, n, b);
    host_write(m, offset * es, n * es, b);
    free(b);
}

int tu_read_dt(clact_dtype dt, cl_mem m, size_t offset, size_t n, double *dst) {
    if (!n)
        return 1;
    size_t es = clact_dtype_size(dt);
    unsigned char *b = malloc(n * es);
    ck_assert(b != NULL);
    cl_int err = clEnqueueReadBuffer(clact_context_queue(tu_ctx()), m, CL_TRUE, offset * es, n * es,
                                     b, 0, NULL, NULL);
    ck_assert_int_eq(err, CL_SUCCESS);
    int all_written = 1;
    for (size_t i = 0; i < n; ++i) {
        const unsigned char *p = b + i * es;
        int poisoned = 1;
        for (size_t k = 0; k < es; ++k)
            poisoned &= p[k] == 0xff;
        all_written &= !poisoned;
        if (dt == CLACT_F32) {
            float f;
            memcpy(&f, p, 4);
            dst[i] = f;
        } else if (dt == CLACT_F64) {
            memcpy(&dst[i], p, 8);
        } else {
            uint16_t h;
            memcpy(&h, p, 2);
            dst[i] = tu_decode16(dt, h);
        }
    }
    free(b);
    return all_written;
}

void tu_poison_dt(clact_dtype dt, cl_mem m, size_t offset, size_t n) {
    if (!n)
        return;
    unsigned char ff = 0xff;
    size_t es = clact_dtype_size(dt);
    host_fill(m, offset * es, n * es, &ff, 1);
}

double tu_dtype_eps(clact_dtype dt) {
    switch (dt) {
    case CLACT_F32: return 0x1p-24;
    case CLACT_F64: return 0x1p-53;
    case CLACT_F16: return 0x1p-11;
    case CLACT_BF16: break;
    }
    return 0x1p-8;
}

int tu_has_fp64(void) {
    char ext[8192] = "";
    clGetDeviceInfo(clact_context_device(tu_ctx()), CL_DEVICE_EXTENSIONS, sizeof ext - 1, ext,
                    NULL);
    return strstr(ext, "cl_khr_fp64") != NULL;
}

int tu_wide_reference(void) {
    volatile long double one = 1.0L, eps = LDBL_EPSILON;
    return LDBL_MANT_DIG > 53 && one + eps != one;
}
