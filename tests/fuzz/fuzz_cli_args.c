/* SPDX-License-Identifier: MIT */
/* The CLI's op argument parser (tools/op_args.c) on arbitrary argument lists: the input split
 * at NUL bytes into argv for `clact apply` (clact_cli_parse_op with two files), and each of the
 * first arguments again as an activation spec (clact_cli_parse_act_spec, as `clact train
 * --act` takes it). Whatever the arguments, each call prints nothing when it succeeds and
 * exactly one line, "clact: ..." with no control byte inside, when it fails: stderr is an
 * in-memory file during each call, read back after it. */
#define _GNU_SOURCE /* memfd_create */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* clang's (the fuzz build is clang only): __sanitizer_set_report_fd */
#include <sanitizer/common_interface_defs.h>

#include "cli.h"
#include "fuzz_util.h"
#include "op_args.h"

enum { MAX_ARGS = 300, SPECS = 4 };

static int capture_fd = -1;

/* fd 2 moves to the capture file for the calls only; the sanitizers' reports and fuzz_die go
 * to a copy of the real stderr, so a crash inside a call is still seen. */
static void setup(void) {
    capture_fd = memfd_create("fuzz_cli_stderr", MFD_CLOEXEC);
    fuzz_report_fd = dup(2);
    if (capture_fd < 0 || fuzz_report_fd < 0)
        fuzz_die("cannot set up the stderr capture");
    __sanitizer_set_report_fd((void *)(intptr_t)fuzz_report_fd);
}

static void capture_begin(void) {
    fflush(stderr);
    if (ftruncate(capture_fd, 0) != 0 || lseek(capture_fd, 0, SEEK_SET) != 0 ||
        dup2(capture_fd, 2) < 0)
        fuzz_die("cannot capture stderr");
}

/* Restore fd 2 and check what the call printed against its exit code. */
static void capture_end(const char *call, int code) {
    fflush(stderr);
    if (dup2(fuzz_report_fd, 2) < 0)
        fuzz_die("cannot restore stderr");
    char text[8192];
    off_t end = lseek(capture_fd, 0, SEEK_END);
    ssize_t n = end > 0 ? pread(capture_fd, text, sizeof text - 1, 0) : 0;
    if (n < 0)
        fuzz_die("cannot read the captured stderr");
    text[n] = '\0';
    if (end >= (off_t)sizeof text)
        fuzz_die("%s printed %lld bytes: \"%.200s...\"", call, (long long)end, text);
    if (code == EXIT_OK) {
        if (n)
            fuzz_die("%s succeeded but printed \"%s\"", call, text);
        return;
    }
    if (code != EXIT_USAGE)
        fuzz_die("%s returned %d (a usage error is %d): \"%s\"", call, code, EXIT_USAGE, text);
    if (n < 9 || strncmp(text, "clact: ", 7) || text[n - 1] != '\n' ||
        memchr(text, '\0', (size_t)n))
        fuzz_die("%s failed with \"%s\": not one \"clact: ...\" line", call, text);
    text[n - 1] = '\0';
    fuzz_check_one_line(call, text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (capture_fd < 0)
        setup();
    /* One block holds the input and a final NUL, so every argument is a string. */
    char *buf = malloc(size + 1), *argv[MAX_ARGS];
    if (!buf)
        abort(); /* ASan reports a failed allocation before it returns NULL */
    memcpy(buf, data, size);
    buf[size] = '\0';
    int argc = 0;
    for (char *p = buf; p <= buf + size && argc < MAX_ARGS; p += strlen(p) + 1)
        argv[argc++] = p;
    if (size && !buf[size - 1])
        --argc; /* a trailing NUL ends the last argument; it does not start an empty one */

    clact_cli_op_args a;
    capture_begin();
    int code = clact_cli_parse_op("apply", 2, argc, argv, &a);
    capture_end("clact_cli_parse_op", code);
    if (code == EXIT_OK && (!a.op_name || !a.file[0] || !a.file[1]))
        fuzz_die("clact_cli_parse_op succeeded without an op or both files");

    for (int i = 0; i < argc && i < SPECS; ++i) {
        clact_activation act;
        capture_begin();
        code = clact_cli_parse_act_spec("train", argv[i], &act);
        capture_end("clact_cli_parse_act_spec", code);
    }
    free(buf);
    return 0;
}
