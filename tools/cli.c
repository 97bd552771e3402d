/* SPDX-License-Identifier: MIT */
#include "cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The message as one line into out (room for 4 bytes per byte of s, and 1): a control byte
 * (from an argument, a file name, a library message) becomes an escape, \n, \t or \xNN, so
 * that what the user typed stays visible and a line break in it cannot start a second line.
 * Bytes from 0x80 up pass (UTF-8 names). Returns the length written. */
static size_t escape_line(const char *s, char *out) {
    static const char hex[] = "0123456789abcdef";
    size_t n = 0;
    for (; *s; ++s) {
        unsigned char c = (unsigned char)*s;
        if (c >= 0x20 && c != 0x7f) {
            out[n++] = (char)c;
            continue;
        }
        out[n++] = '\\';
        if (c == '\n' || c == '\t') {
            out[n++] = c == '\n' ? 'n' : 't';
        } else {
            out[n++] = 'x';
            out[n++] = hex[c >> 4];
            out[n++] = hex[c & 15];
        }
    }
    out[n] = '\0';
    return n;
}

int clact_cli_fail(int code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char small[512], *msg = small;
    va_list again;
    va_copy(again, ap);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    if (n >= (int)sizeof small && (msg = malloc((size_t)n + 1)) != NULL)
        vsnprintf(msg, (size_t)n + 1, fmt, again);
    va_end(again);
    va_end(ap);
    if (n < 0 || !msg) { /* unformattable, or no memory for it all: the start still tells */
        msg = small;
        if (n < 0)
            snprintf(small, sizeof small, "(a message that could not be formatted)");
    }
    /* The whole line goes out in one write (stderr is unbuffered), so another thread's output
     * cannot land inside it. */
    size_t len = strlen(msg);
    char line_small[4 * sizeof small + 16], *line = line_small;
    if (len >= sizeof small && !(line = malloc(4 * len + 16))) {
        line = line_small; /* no memory: the message's start fits */
        msg[sizeof small - 1] = '\0';
    }
    memcpy(line, "clact: ", 7);
    size_t used = 7 + escape_line(msg, line + 7);
    line[used++] = '\n';
    fwrite(line, 1, used, stderr);
    if (line != line_small)
        free(line);
    if (msg != small)
        free(msg);
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
