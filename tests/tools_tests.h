/* SPDX-License-Identifier: MIT */
/* What the CLI-support suites (IDX reading, SVG charts) share: their runner (tools_main.c) needs
 * no OpenCL device, so they do not use testutil's context. */
#ifndef CLACT_TOOLS_TESTS_H
#define CLACT_TOOLS_TESTS_H
#include <check.h>
#include <stddef.h>
#include <stdint.h>

Suite *idx_suite(void);
Suite *svg_suite(void);

/* CLACT_TEST_QUICK set and not 0 (memcheck.sh's valgrind run): the largest cases are left out. */
int tt_quick(void);
/* A random 64-bit value from the run's seed (CLACT_TEST_SEED, else fresh; printed by the runner)
 * and a per-test stream. */
uint64_t tt_seed(void);
uint64_t tt_next(uint64_t *state);

/* A fresh temporary directory for each test (the fixture), removed after it; tt_path writes
 * tt_dir()/name into buf. */
void tt_make_dir(void);
void tt_remove_dir(void);
const char *tt_dir(void);
const char *tt_path(char *buf, size_t len, const char *name);
/* The number of entries in directory path (. and .. not counted). */
int tt_entries(const char *path);
#endif
