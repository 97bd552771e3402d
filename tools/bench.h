/* SPDX-License-Identifier: MIT */
#ifndef CLACT_TOOLS_BENCH_H
#define CLACT_TOOLS_BENCH_H
/* `clact bench ARGS...` (argv after "bench"); returns the exit status. */
int clact_bench_main(int argc, char **argv);
#endif
