/* SPDX-License-Identifier: MIT */
#ifndef CLACT_TOOLS_BENCH_H
#define CLACT_TOOLS_BENCH_H
#include <stdio.h>

/* `clact bench ARGS...` (argv after "bench"); returns the exit status. */
int clact_bench_main(int argc, char **argv);
/* The lines of `clact --help` that explain bench's lists and defaults, which live in bench.c. */
void clact_bench_help(FILE *out);
#endif
