/* SPDX-License-Identifier: MIT */
/* The runner for the CLI-support suites (IDX reading, SVG charts), and their shared helpers. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tools_tests.h"

static uint64_t the_seed;
static char dir[256];

int tt_quick(void) {
    const char *v = getenv("CLACT_TEST_QUICK");
    return v && v[0] && strcmp(v, "0");
}

uint64_t tt_seed(void) { return the_seed; }

/* splitmix64 */
uint64_t tt_next(uint64_t *state) {
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void tt_make_dir(void) {
    snprintf(dir, sizeof dir, "/tmp/clact_tools_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

void tt_remove_dir(void) {
    char cmd[2 * sizeof dir + 64];
    snprintf(cmd, sizeof cmd, "chmod -R u+rwx '%s' && rm -rf '%s'", dir, dir);
    ck_assert_int_eq(system(cmd), 0);
}

const char *tt_dir(void) { return dir; }

const char *tt_path(char *buf, size_t len, const char *name) {
    snprintf(buf, len, "%s/%s", dir, name);
    return buf;
}

int tt_entries(const char *path) {
    DIR *d = opendir(path);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(d);
    return n;
}

int main(void) {
    const char *s = getenv("CLACT_TEST_SEED");
    the_seed =
        s && *s ? strtoull(s, NULL, 0) : (uint64_t)time(NULL) * 1000003u ^ (uint64_t)getpid() << 20;
    printf("clact tools tests: seed %llu (set CLACT_TEST_SEED=%llu to repeat this run)\n",
           (unsigned long long)the_seed, (unsigned long long)the_seed);
    fflush(stdout);
    SRunner *sr = srunner_create(idx_suite());
    srunner_add_suite(sr, svg_suite());
    srunner_run_all(sr, CK_ENV); /* CK_VERBOSITY, default normal */
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
