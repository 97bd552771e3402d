/* SPDX-License-Identifier: MIT */
/* .npy reading and writing: round trips, every header form NumPy writes, and malformed files. */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "npy.h"
#include "testutil.h"

static char dir[256];

static void make_dir(void) {
    snprintf(dir, sizeof dir, "/tmp/clact_npy_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void remove_dir(void) {
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

static void write_raw(const char *name, const void *data, size_t len) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq((int)fwrite(data, 1, len, f), (int)len);
    fclose(f);
}

/* A .npy file of the given version with the given header dict and data bytes. */
/* A .npy file whose header dict is dl bytes of dict (NUL bytes allowed). */
static void write_npy_n(const char *name, int major, const char *dict, size_t dl, const void *data,
                        size_t len) {
    unsigned char buf[1024];
    size_t pre = major == 1 ? 10 : 12;
    size_t total = (pre + dl + 1 + 63) / 64 * 64, hl = total - pre;
    memcpy(buf, "\x93NUMPY", 6);
    buf[6] = (unsigned char)major;
    buf[7] = 0;
    buf[8] = (unsigned char)(hl & 0xff);
    buf[9] = (unsigned char)(hl >> 8);
    if (major > 1)
        buf[10] = buf[11] = 0;
    memcpy(buf + pre, dict, dl);
    memset(buf + pre + dl, ' ', total - pre - dl - 1);
    buf[total - 1] = '\n';
    memcpy(buf + total, data, len);
    write_raw(name, buf, total + len);
}

static void write_npy(const char *name, int major, const char *dict, const void *data, size_t len) {
    write_npy_n(name, major, dict, strlen(dict), data, len);
}

static clact_status read_named(const char *name, clact_npy *a, char *err) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return clact_npy_read(path, a, err, 256);
}

START_TEST(npy_round_trip) {
    float v[6] = {1, -2, 3.5f, 0, -0.0f, 7};
    clact_npy a = {
        .descr = "<f4", .ndim = 2, .shape = {2, 3}, .count = 6, .item_size = 4, .data = v};
    char path[512], err[256];
    snprintf(path, sizeof path, "%s/rt.npy", dir);
    ck_assert_int_eq(clact_npy_write(path, &a, err, sizeof err), CLACT_OK);
    clact_npy b;
    ck_assert_int_eq(clact_npy_read(path, &b, err, sizeof err), CLACT_OK);
    ck_assert_str_eq(b.descr, "<f4");
    ck_assert_int_eq(b.ndim, 2);
    ck_assert_int_eq((int)b.shape[0], 2);
    ck_assert_int_eq((int)b.shape[1], 3);
    ck_assert_int_eq((int)b.count, 6);
    ck_assert_int_eq(b.fortran_order, 0);
    ck_assert_mem_eq(b.data, v, sizeof v);
    clact_npy_free(&b);
    /* 0-d and empty arrays. */
    clact_npy s = {.descr = "<f4", .ndim = 0, .count = 1, .item_size = 4, .data = v};
    ck_assert_int_eq(clact_npy_write(path, &s, err, sizeof err), CLACT_OK);
    ck_assert_int_eq(clact_npy_read(path, &b, err, sizeof err), CLACT_OK);
    ck_assert_int_eq(b.ndim, 0);
    ck_assert_int_eq((int)b.count, 1);
    clact_npy_free(&b);
    clact_npy e = {.descr = "<f4", .ndim = 2, .shape = {0, 5}, .count = 0, .item_size = 4};
    ck_assert_int_eq(clact_npy_write(path, &e, err, sizeof err), CLACT_OK);
    ck_assert_int_eq(clact_npy_read(path, &b, err, sizeof err), CLACT_OK);
    ck_assert_int_eq((int)b.count, 0);
    ck_assert_int_eq((int)b.shape[1], 5);
    clact_npy_free(&b);
}
END_TEST

START_TEST(npy_versions_and_forms) {
    float v[3] = {1, 2, 3};
    clact_npy a;
    char err[256];
    write_npy("v1.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", v, 12);
    ck_assert_int_eq(read_named("v1.npy", &a, err), CLACT_OK);
    clact_npy_free(&a);
    write_npy("v2.npy", 2, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", v, 12);
    ck_assert_int_eq(read_named("v2.npy", &a, err), CLACT_OK);
    clact_npy_free(&a);
    write_npy("v3.npy", 3, "{\"shape\": (3,), \"descr\": \"<f4\", \"fortran_order\": False}", v,
              12);
    ck_assert_int_eq(read_named("v3.npy", &a, err), CLACT_OK);
    ck_assert_int_eq((int)a.count, 3);
    clact_npy_free(&a);
    write_npy("f.npy", 1, "{'descr': '<f4', 'fortran_order': True, 'shape': (3,), }", v, 12);
    ck_assert_int_eq(read_named("f.npy", &a, err), CLACT_OK);
    ck_assert_int_eq(a.fortran_order, 1);
    clact_npy_free(&a);
    write_npy("i.npy", 1, "{'descr': '<i8', 'fortran_order': False, 'shape': (1,), }", v, 8);
    ck_assert_int_eq(read_named("i.npy", &a, err), CLACT_OK);
    ck_assert_str_eq(a.descr, "<i8");
    ck_assert_int_eq((int)a.item_size, 8);
    clact_npy_free(&a);
}
END_TEST

START_TEST(npy_malformed) {
    float v[4] = {1, 2, 3, 4};
    clact_npy a;
    char err[256];
    ck_assert_int_eq(read_named("missing.npy", &a, err), CLACT_IO_ERROR);
    ck_assert_ptr_nonnull(strstr(err, "missing.npy"));
    write_raw("magic.npy", "NOTNUMPYFILE....", 16);
    ck_assert_int_eq(read_named("magic.npy", &a, err), CLACT_FORMAT_ERROR);
    ck_assert_ptr_nonnull(strstr(err, "magic"));
    write_raw("short.npy", "\x93NUM", 4);
    ck_assert_int_eq(read_named("short.npy", &a, err), CLACT_FORMAT_ERROR);
    write_npy("trunc.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", v, 10);
    ck_assert_int_eq(read_named("trunc.npy", &a, err), CLACT_FORMAT_ERROR);
    ck_assert_ptr_nonnull(strstr(err, "truncated"));
    /* A header that promises far more than the file holds is refused before anything that size
     * is allocated (an allocation of 4e11 bytes would fail, or succeed and be wasted). */
    write_npy("huge.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (100000000000,), }",
              v, 16);
    ck_assert_int_eq(read_named("huge.npy", &a, err), CLACT_FORMAT_ERROR);
    ck_assert_msg(strstr(err, "400000000000 bytes, the file has 16"), "%s", err);
    ck_assert_ptr_null(a.data);
    write_npy("extra.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", v, 16);
    ck_assert_int_eq(read_named("extra.npy", &a, err), CLACT_FORMAT_ERROR);
    write_npy("ver.npy", 9, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", v, 4);
    ck_assert_int_eq(read_named("ver.npy", &a, err), CLACT_FORMAT_ERROR);
    ck_assert_ptr_nonnull(strstr(err, "version"));
    static const char *const bad[] = {
        "{'descr': '<f4', 'fortran_order': False}",
        "{'descr': '<f4', 'fortran_order': Maybe, 'shape': (1,), }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (1, -2), }",
        "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'extra': 1}",
        "{'descr': 'float32', 'fortran_order': False, 'shape': (1,), }",
        "['descr', '<f4']",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999999,), }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 16), }",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; ++i) {
        write_npy("bad.npy", 1, bad[i], v, 4);
        ck_assert_msg(read_named("bad.npy", &a, err) == CLACT_FORMAT_ERROR, "accepted: %s", bad[i]);
        ck_assert_ptr_null(a.data);
    }
    /* Control bytes in keys and strings: a NUL as the byte-order character was taken for a
     * dtype; a key with a newline made a two-line error. Every message stays one line. */
    static const char nul_descr[] = "{'descr': '\0f4', 'fortran_order': False, 'shape': (1,), }";
    write_npy_n("nul.npy", 1, nul_descr, sizeof nul_descr - 1, v, 4);
    ck_assert_int_eq(read_named("nul.npy", &a, err), CLACT_FORMAT_ERROR);
    ck_assert_ptr_null(a.data);
    static const char *const ctl[] = {
        "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'a\nb': 1}",
        "{'de\rscr': '<f4', 'fortran_order': False, 'shape': (1,), }",
        "{'descr': '<f4\n', 'fortran_order': False, 'shape': (1,), }",
        "{'descr': '<f\x7f', 'fortran_order': False, 'shape': (1,), }",
        "{'descr': '<f\xc3\xa9', 'fortran_order': False, 'shape': (1,), }",
    };
    for (size_t i = 0; i < sizeof ctl / sizeof ctl[0]; ++i) {
        write_npy("ctl.npy", 1, ctl[i], v, 4);
        ck_assert_msg(read_named("ctl.npy", &a, err) == CLACT_FORMAT_ERROR, "accepted: %s", ctl[i]);
        for (const char *c = err; *c; ++c)
            ck_assert_msg((unsigned char)*c >= 0x20 && (unsigned char)*c < 0x7f,
                          "control byte 0x%02x in the message for %s", (unsigned char)*c, ctl[i]);
    }
}
END_TEST

/* A pipe cannot be measured before reading: its header may claim 3 GiB while 16 bytes follow.
 * The reader must not allocate what the header claims: a child process, its data segment capped
 * at 256 MiB above what it uses, reads a FIFO fed such a file; it must get "truncated", not run
 * out of memory (before the fix it asked malloc for 3 GiB). */
START_TEST(npy_pipe_claims_bounded) {
    char path[512];
    snprintf(path, sizeof path, "%s/fifo.npy", dir);
    ck_assert_int_eq(mkfifo(path, 0600), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        long vm_kb = 0;
        char line[256];
        FILE *st = fopen("/proc/self/status", "r");
        while (st && fgets(line, sizeof line, st))
            if (sscanf(line, "VmData: %ld kB", &vm_kb) == 1)
                break;
        if (st)
            fclose(st);
        struct rlimit rl = {(rlim_t)vm_kb * 1024 + ((rlim_t)256 << 20),
                            (rlim_t)vm_kb * 1024 + ((rlim_t)256 << 20)};
        setrlimit(RLIMIT_DATA, &rl);
        clact_npy a;
        char err[256] = "";
        clact_status s = clact_npy_read(path, &a, err, sizeof err);
        _exit(s == CLACT_FORMAT_ERROR && strstr(err, "truncated") ? 0 : 10 + (int)-s);
    }
    FILE *f = fopen(path, "wb"); /* opens once the child has the read end */
    ck_assert_ptr_nonnull(f);
    static const char dict[] = "{'descr': '<f4', 'fortran_order': False, 'shape': (805306368,), }";
    unsigned char buf[256];
    size_t dl = strlen(dict), total = (10 + dl + 1 + 63) / 64 * 64;
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    buf[8] = (unsigned char)((total - 10) & 0xff);
    buf[9] = (unsigned char)((total - 10) >> 8);
    memcpy(buf + 10, dict, dl);
    memset(buf + 10 + dl, ' ', total - 10 - dl - 1);
    buf[total - 1] = '\n';
    memset(buf + total, 0, 16);
    fwrite(buf, 1, total + 16, f);
    fclose(f);
    int status = 0;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "the reader of a pipe claiming 3 GiB: exit %d (10 + -status; 10 + 6 is "
                  "CLACT_OUT_OF_MEMORY's)",
                  WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    unlink(path);
}
END_TEST

/* What the output path is decides how it is written, as cp does: a symbolic link is followed and
 * kept (before, it was replaced by a regular file), a dangling link's target is created, a FIFO
 * is written through to its reader (before, replaced by a regular file), a directory refused. */
START_TEST(npy_write_targets) {
    float v[3] = {1.5f, -2, 3};
    clact_npy a = {.descr = "<f4", .ndim = 1, .shape = {3}, .count = 3, .item_size = 4, .data = v};
    char path[512], link[512], err[256], got[512];
    struct stat sb;
    clact_npy b;
    /* A link to a file in another directory (relative), through a second link. */
    snprintf(path, sizeof path, "%s/sub", dir);
    ck_assert_int_eq(mkdir(path, 0700), 0);
    snprintf(path, sizeof path, "%s/sub/real.npy", dir);
    write_raw("sub/real.npy", "old", 3);
    snprintf(link, sizeof link, "%s/l1.npy", dir);
    ck_assert_int_eq(symlink("sub/real.npy", link), 0);
    snprintf(got, sizeof got, "%s/l2.npy", dir);
    ck_assert_int_eq(symlink("l1.npy", got), 0);
    ck_assert_int_eq(clact_npy_write(got, &a, err, sizeof err), CLACT_OK);
    ck_assert_int_eq(lstat(got, &sb), 0);
    ck_assert_msg(S_ISLNK(sb.st_mode), "the link was replaced");
    ck_assert_int_eq(lstat(link, &sb), 0);
    ck_assert_msg(S_ISLNK(sb.st_mode), "the inner link was replaced");
    ck_assert_int_eq(clact_npy_read(path, &b, err, sizeof err), CLACT_OK);
    ck_assert_mem_eq(b.data, v, sizeof v);
    clact_npy_free(&b);
    /* A dangling link: its target is created. */
    snprintf(link, sizeof link, "%s/dangling.npy", dir);
    ck_assert_int_eq(symlink("sub/new.npy", link), 0);
    ck_assert_int_eq(clact_npy_write(link, &a, err, sizeof err), CLACT_OK);
    snprintf(path, sizeof path, "%s/sub/new.npy", dir);
    ck_assert_int_eq(clact_npy_read(path, &b, err, sizeof err), CLACT_OK);
    clact_npy_free(&b);
    ck_assert_int_eq(lstat(link, &sb), 0);
    ck_assert(S_ISLNK(sb.st_mode));
    /* A directory. */
    snprintf(path, sizeof path, "%s/sub", dir);
    ck_assert_int_eq(clact_npy_write(path, &a, err, sizeof err), CLACT_IO_ERROR);
    ck_assert_msg(strstr(err, "directory"), "%s", err);
    /* A FIFO: a child reads it into a file; the FIFO stays a FIFO. */
    snprintf(path, sizeof path, "%s/out.fifo", dir);
    ck_assert_int_eq(mkfifo(path, 0600), 0);
    snprintf(got, sizeof got, "%s/from_fifo.npy", dir);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        FILE *in = fopen(path, "rb"), *out = fopen(got, "wb");
        char buf[4096];
        size_t n;
        while (in && out && (n = fread(buf, 1, sizeof buf, in)) > 0)
            fwrite(buf, 1, n, out);
        _exit(in && out && fclose(out) == 0 ? 0 : 1);
    }
    clact_status ws = clact_npy_write(path, &a, err, sizeof err);
    int status = 0, fifo = lstat(path, &sb) == 0 && S_ISFIFO(sb.st_mode);
    if (!fifo) /* the reader would wait forever for a writer */
        kill(pid, SIGKILL);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(fifo, "the FIFO was replaced by a regular file");
    ck_assert_int_eq(ws, CLACT_OK);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ck_assert_int_eq(clact_npy_read(got, &b, err, sizeof err), CLACT_OK);
    ck_assert_mem_eq(b.data, v, sizeof v);
    clact_npy_free(&b);
}
END_TEST

START_TEST(npy_write_failure_leaves_nothing) {
    float v[1] = {1};
    clact_npy a = {.descr = "<f4", .ndim = 1, .shape = {1}, .count = 1, .item_size = 4, .data = v};
    char path[512], err[256];
    snprintf(path, sizeof path, "%s/no/such/dir/out.npy", dir);
    ck_assert_int_eq(clact_npy_write(path, &a, err, sizeof err), CLACT_IO_ERROR);
    ck_assert_ptr_nonnull(strstr(err, "out.npy"));
    /* A directory in the way of the rename: the temporary file must be cleaned up. */
    snprintf(path, sizeof path, "%s/adir", dir);
    ck_assert_int_eq(mkdir(path, 0700), 0);
    ck_assert_int_eq(clact_npy_write(path, &a, err, sizeof err), CLACT_IO_ERROR);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "test $(ls -A '%s' | wc -l) -eq 1", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

Suite *npy_suite(void);
Suite *npy_suite(void) {
    Suite *s = suite_create("npy");
    TCase *tc = tcase_create("files");
    tcase_add_checked_fixture(tc, make_dir, remove_dir);
    tcase_add_test(tc, npy_write_targets);
    tcase_add_test(tc, npy_pipe_claims_bounded);
    tcase_add_test(tc, npy_round_trip);
    tcase_add_test(tc, npy_versions_and_forms);
    tcase_add_test(tc, npy_malformed);
    tcase_add_test(tc, npy_write_failure_leaves_nothing);
    suite_add_tcase(s, tc);
    return s;
}
