/* SPDX-License-Identifier: MIT */
/* The persistent program cache: an entry is written once per program (0600, in a directory
 * created 0700, no temporary file left), a fresh context loads it instead of compiling, and
 * every kind of bad entry (a flipped byte, a truncated file, another device's or clact
 * version's key, another format version, a binary the driver refuses) is rejected and rebuilt
 * silently, with a right result and a good entry afterwards. CLACT_CACHE=0 writes nothing; a
 * cache directory that cannot be made costs nothing but the cache. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

static char dir[256];

/* The suite sets CLACT_CACHE and CLACT_CACHE_DIR; the suites after it (and the contexts they
 * make) see them as they were before (memcheck.sh runs everything with CLACT_CACHE=0). */
static const char *const saved_names[] = {"CLACT_CACHE", "CLACT_CACHE_DIR"};
static char *saved[2];

static void env_save(void) {
    for (int i = 0; i < 2; ++i) {
        const char *v = getenv(saved_names[i]);
        saved[i] = v ? strdup(v) : NULL;
    }
}

static void env_restore(void) {
    for (int i = 0; i < 2; ++i) {
        if (saved[i])
            setenv(saved_names[i], saved[i], 1);
        else
            unsetenv(saved_names[i]);
        free(saved[i]);
        saved[i] = NULL;
    }
}

/* The one entry in dir (the tests only use the f32 activation program); "" if none. */
static int entry(const char *d, char *path, size_t len) {
    DIR *h = opendir(d);
    int n = 0;
    if (!h)
        return 0;
    for (struct dirent *e; (e = readdir(h));) {
        if (e->d_name[0] == '.') {
            ck_assert_msg(strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0,
                          "left behind: %s", e->d_name);
            continue;
        }
        ++n;
        snprintf(path, len, "%s/%s", d, e->d_name);
    }
    closedir(h);
    return n;
}

/* A fresh context runs sigmoid on 1000 values and checks them; returns its cache counters. */
static clact_cache_stats run_fresh(void) {
    clact_context *c = NULL;
    ck_assert_int_eq(clact_context_create(&c, NULL), CLACT_OK);
    enum { N = 1000 };
    float x[N], y[N];
    for (int i = 0; i < N; ++i)
        x[i] = (float)(i - 500) / 50.0f;
    cl_int err;
    cl_mem b = clCreateBuffer(clact_context_cl_context(c), CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR,
                              sizeof x, x, &err);
    ck_assert_ptr_nonnull(b);
    clact_activation a = clact_activation_default(CLACT_SIGMOID);
    ck_assert_int_eq(clact_forward(c, &a, CLACT_F32, N, b, 0, b, 0, 0, NULL, NULL), CLACT_OK);
    ck_assert_int_eq(
        clEnqueueReadBuffer(clact_context_queue(c), b, CL_TRUE, 0, sizeof y, y, 0, NULL, NULL),
        CL_SUCCESS);
    for (int i = 0; i < N; ++i)
        ck_assert_msg(fabs(y[i] - 1 / (1 + exp(-(double)x[i]))) <= 1e-6, "sigmoid(%g) = %g",
                      (double)x[i], (double)y[i]);
    clact_cache_stats s;
    ck_assert_int_eq(clact_context_cache_stats(c, &s), CLACT_OK);
    clReleaseMemObject(b);
    clact_context_destroy(c);
    return s;
}

static unsigned char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    rewind(f);
    unsigned char *b = malloc(*len);
    ck_assert(b && fread(b, 1, *len, f) == *len);
    fclose(f);
    return b;
}

static void spit(const char *path, const unsigned char *b, size_t len) {
    FILE *f = fopen(path, "wb");
    ck_assert(f && fwrite(b, 1, len, f) == len);
    fclose(f);
}

/* The entry's checksum (FNV-1a 64 over key and binary, at byte 24), recomputed after an edit,
 * so that only the check under test can catch it. */
static void reseal(unsigned char *b, size_t len) {
    uint64_t h = 14695981039346656037ull;
    for (size_t i = 32; i < len; ++i)
        h = (h ^ b[i]) * 1099511628211ull;
    for (int i = 0; i < 8; ++i)
        b[24 + i] = (unsigned char)(h >> (8 * i));
}

static void expect_rebuilt(const char *what) {
    clact_cache_stats s = run_fresh();
    ck_assert_msg(s.disk_rejects == 1 && s.builds == 1 && s.disk_hits == 0 && s.disk_stores == 1,
                  "%s: rejects %lu builds %lu hits %lu stores %lu", what, s.disk_rejects, s.builds,
                  s.disk_hits, s.disk_stores);
    s = run_fresh(); /* and the rewritten entry is good */
    ck_assert_msg(s.disk_hits == 1 && s.builds == 0, "%s: the rebuilt entry is not used", what);
}

START_TEST(cache_store_load_and_reject) {
    snprintf(dir, sizeof dir, "/tmp/clact-cache-test-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char sub[300], path[600];
    snprintf(sub, sizeof sub, "%s/a/b", dir); /* made by clact, parents included */
    setenv("CLACT_CACHE_DIR", sub, 1);
    unsetenv("CLACT_CACHE");

    clact_cache_stats s = run_fresh();
    ck_assert_msg(s.builds == 1 && s.disk_stores == 1 && s.disk_hits == 0 && s.disk_rejects == 0,
                  "first: builds %lu stores %lu", s.builds, s.disk_stores);
    ck_assert_int_eq(entry(sub, path, sizeof path), 1);
    struct stat st;
    ck_assert_int_eq(stat(sub, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0700);
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);

    s = run_fresh();
    ck_assert_msg(s.disk_hits == 1 && s.builds == 0 && s.disk_stores == 0, "second: hits %lu",
                  s.disk_hits);

    size_t len;
    unsigned char *good = slurp(path, &len), *b = malloc(len);
    ck_assert_ptr_nonnull(b);
    /* A flipped byte in the binary. */
    memcpy(b, good, len);
    b[len - 7] ^= 0x20;
    spit(path, b, len);
    expect_rebuilt("flipped byte");
    /* Truncated. */
    spit(path, good, len / 2);
    expect_rebuilt("truncated");
    spit(path, good, 20);
    expect_rebuilt("truncated header");
    /* Another device's entry (the key names the device), checksum intact. */
    memcpy(b, good, len);
    unsigned char *dev = (unsigned char *)strstr((char *)b + 32, "\ndevice ");
    ck_assert_ptr_nonnull(dev);
    dev[8] ^= 1;
    reseal(b, len);
    spit(path, b, len);
    expect_rebuilt("foreign device");
    /* Another clact version's entry. */
    memcpy(b, good, len);
    ck_assert(!memcmp(b + 32, "clact ", 6));
    b[38] = b[38] == '9' ? '8' : '9';
    reseal(b, len);
    spit(path, b, len);
    expect_rebuilt("other clact version");
    /* Another format version. */
    memcpy(b, good, len);
    b[8] = 99;
    spit(path, b, len);
    expect_rebuilt("format version");
    /* Sealed garbage where the binary should be: the driver refuses it. */
    memcpy(b, good, len);
    uint32_t klen =
        (uint32_t)b[12] | (uint32_t)b[13] << 8 | (uint32_t)b[14] << 16 | (uint32_t)b[15] << 24;
    for (size_t i = 32 + klen; i < len; ++i)
        b[i] = (unsigned char)(i * 7);
    reseal(b, len);
    spit(path, b, len);
    expect_rebuilt("garbage binary");

    /* A FIFO where the entry belongs: before, opening it blocked every op forever (no writer).
     * Now it is rejected as not a regular file and replaced by a good entry. The alarm turns a
     * hang into a failure (SIGALRM's default action ends the test run). */
    ck_assert_int_eq(unlink(path), 0);
    ck_assert_int_eq(mkfifo(path, 0600), 0);
    alarm(120);
    expect_rebuilt("a FIFO");
    alarm(0);
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_msg(S_ISREG(st.st_mode), "the FIFO was not replaced by a regular entry");
    free(b);
    free(good);

    /* CLACT_CACHE=0: nothing read, nothing written. */
    char off[300], p2[600];
    snprintf(off, sizeof off, "%s/off", dir);
    setenv("CLACT_CACHE_DIR", off, 1);
    setenv("CLACT_CACHE", "0", 1);
    s = run_fresh();
    ck_assert(s.builds == 1 && s.disk_stores == 0 && s.disk_hits == 0);
    ck_assert_int_eq(entry(off, p2, sizeof p2), 0);
    unsetenv("CLACT_CACHE");

    /* A cache "directory" that is a file: the op still works, nothing is stored. */
    setenv("CLACT_CACHE_DIR", path, 1);
    s = run_fresh();
    ck_assert(s.builds == 1 && s.disk_stores == 0);
    unsetenv("CLACT_CACHE_DIR");

    unlink(path);
    char a[300];
    rmdir(sub);
    snprintf(a, sizeof a, "%s/a", dir);
    rmdir(a);
    rmdir(off);
    rmdir(dir);
}
END_TEST

START_TEST(cache_stats_bad_input) {
    clact_cache_stats s;
    ck_assert_int_eq(clact_context_cache_stats(NULL, &s), CLACT_INVALID_ARGUMENT);
    ck_assert_int_eq(clact_context_cache_stats(tu_ctx(), NULL), CLACT_INVALID_ARGUMENT);
}
END_TEST

Suite *cache_suite(void);
Suite *cache_suite(void) {
    Suite *s = suite_create("cache");
    TCase *tc = tcase_create("disk");
    tcase_set_timeout(tc, 300);
    tcase_add_checked_fixture(tc, env_save, env_restore);
    tcase_add_test(tc, cache_store_load_and_reject);
    tcase_add_test(tc, cache_stats_bad_input);
    suite_add_tcase(s, tc);
    return s;
}
