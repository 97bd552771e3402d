/* SPDX-License-Identifier: MIT */
#include "cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

int clact_cli_fail(int code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("clact: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return code;
}

const char *clact_cli_one_line(const char *s) {
    static char buf[2048];
    size_t i = 0;
    for (; s[i] && i + 1 < sizeof buf; ++i)
        buf[i] = (s[i] == '\n' || s[i] == '\r') ? ' ' : s[i];
    buf[i] = '\0';
    return buf;
}

void clact_cli_dtype_names(char *buf, size_t len, const char *sep, const char *last) {
    size_t used = 0;
    if (len)
        buf[0] = '\0';
    for (int i = 0; i < CLACT_DTYPE_COUNT && used < len; ++i) {
        const char *joint = i == 0 ? "" : i + 1 == CLACT_DTYPE_COUNT ? last : sep;
        int w = snprintf(buf + used, len - used, "%s%s", joint, clact_dtype_name((clact_dtype)i));
        used += w > 0 ? (size_t)w : 0;
    }
}

int clact_cli_context(clact_context **ctx, const char *device) {
    clact_status st = clact_context_create(ctx, device);
    if (st == CLACT_OK)
        return EXIT_OK;
    int user_spec = device || getenv("CLACT_DEVICE");
    return clact_cli_fail(st == CLACT_NO_DEVICE && user_spec ? EXIT_USAGE : EXIT_RUNTIME, "%s",
                          clact_cli_one_line(clact_context_last_error(NULL)));
}

cl_mem clact_cli_buffer(clact_context *ctx, size_t bytes, int *code) {
    if (*code != EXIT_OK)
        return NULL;
    cl_mem m = NULL;
    if (clact_buffer_create(ctx, CL_MEM_READ_WRITE, bytes, NULL, &m) != CLACT_OK)
        *code = clact_cli_fail(EXIT_RUNTIME, "%s",
                               clact_cli_one_line(clact_context_last_error(ctx)));
    return m;
}

int clact_cli_fail_cl(int code, const char *call, cl_int err) {
    return clact_cli_fail(code, "%s failed: %s (%d)", call, clact_cl_error_name(err), (int)err);
}
