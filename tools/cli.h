/* SPDX-License-Identifier: MIT */
/* What the clact command's parts share to talk to the user: the one-line error, the library's
 * detail on one line, and the dtype list for messages. */
#ifndef CLACT_TOOLS_CLI_H
#define CLACT_TOOLS_CLI_H
#include <stddef.h>

#include "clact/clact.h"

enum { EXIT_OK = 0, EXIT_RUNTIME = 1, EXIT_USAGE = 2 };

/* Print "clact: " and the message as one line on stderr; return code (the exit status). */
int clact_cli_fail(int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* s with line breaks turned into spaces (a build log still makes one line); a static buffer,
 * valid until the next call. */
const char *clact_cli_one_line(const char *s);
/* "CALL failed: CL_NAME (code)" as clact_cli_fail's one line; returns code's exit status. */
int clact_cli_fail_cl(int code, const char *call, cl_int err);
/* A read-write device buffer of bytes through clact_buffer_create (which names a tensor larger
 * than the device allows); on failure NULL, and the error printed and its exit status put in
 * *code unless *code already holds one (then nothing is tried). */
cl_mem clact_cli_buffer(clact_context *ctx, size_t bytes, int *code);
/* The library's dtype names joined into buf for messages and usage text: with sep ", " and last
 * " or ", "f32, f16, bf16 or f64"; with both "|", "f32|f16|bf16|f64". Truncated to len. */
void clact_cli_dtype_names(char *buf, size_t len, const char *sep, const char *last);
/* A context on the device spec (NULL: CLACT_DEVICE, then the best device): EXIT_OK, or the exit
 * status after a one-line error (EXIT_USAGE when a spec the user gave matches nothing, since
 * that is their mistake; EXIT_RUNTIME when there is no driver at all). */
int clact_cli_context(clact_context **ctx, const char *device);

/* `clact backward ARGS...` (argv after "backward", tools/backward.c); returns the exit status. */
int clact_cli_backward_main(int argc, char **argv);
/* `clact plot ARGS...` (argv after "plot", tools/plot.c); returns the exit status. */
int clact_cli_plot_main(int argc, char **argv);
/* `clact train ARGS...` (tools/train.c); returns the exit status. */
int clact_cli_train_main(int argc, char **argv);
/* `clact tune ARGS...` (argv after "tune", tools/tune.c); returns the exit status. */
int clact_cli_tune_main(int argc, char **argv);
#endif
