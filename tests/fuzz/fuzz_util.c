/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE /* memfd_create */
#include "fuzz_util.h"

#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int fuzz_report_fd = 2;

_Noreturn void fuzz_die(const char *fmt, ...) {
    char msg[4096];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    size_t len = n < 0 ? 0 : (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1;
    if (write(fuzz_report_fd, "fuzz finding: ", 14) < 0 || write(fuzz_report_fd, msg, len) < 0 ||
        write(fuzz_report_fd, "\n", 1) < 0) {
        /* Nothing better to do: the abort below is the finding either way. */
    }
    abort();
}

int fuzz_memfd(const char *name, char *path, size_t len) {
    int fd = memfd_create(name, MFD_CLOEXEC);
    if (fd < 0)
        fuzz_die("memfd_create failed");
    snprintf(path, len, "/proc/self/fd/%d", fd);
    return fd;
}

void fuzz_memfd_fill(int fd, const void *data, size_t n) {
    if (ftruncate(fd, 0) != 0 || lseek(fd, 0, SEEK_SET) != 0)
        fuzz_die("cannot truncate the memfd");
    const unsigned char *p = data;
    size_t done = 0;
    while (done < n) {
        ssize_t w = write(fd, p + done, n - done);
        if (w <= 0)
            fuzz_die("cannot write the memfd");
        done += (size_t)w;
    }
    if (lseek(fd, 0, SEEK_SET) != 0)
        fuzz_die("cannot rewind the memfd");
}

static char tmpdir[4096];

static void remove_tmpdir(void) {
    DIR *d = opendir(tmpdir);
    if (d) {
        struct dirent *e;
        char path[8192];
        while ((e = readdir(d)))
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
                snprintf(path, sizeof path, "%s/%s", tmpdir, e->d_name);
                unlink(path);
            }
        closedir(d);
    }
    rmdir(tmpdir);
}

const char *fuzz_tmpdir(void) {
    if (!tmpdir[0]) {
        const char *base = getenv("TMPDIR");
        snprintf(tmpdir, sizeof tmpdir, "%s/clact-fuzz-XXXXXX", base && *base ? base : "/tmp");
        if (!mkdtemp(tmpdir))
            fuzz_die("cannot make a folder in %s", base && *base ? base : "/tmp");
        atexit(remove_tmpdir);
    }
    return tmpdir;
}

void fuzz_check_one_line(const char *what, const char *text) {
    if (!text[0])
        fuzz_die("%s: an empty message", what);
    for (const char *c = text; *c; ++c)
        if ((unsigned char)*c < 0x20 || (unsigned char)*c == 0x7f)
            fuzz_die("%s: control byte 0x%02x at offset %zu of the message \"%s\"", what,
                     (unsigned char)*c, (size_t)(c - text), text);
}
