/* SPDX-License-Identifier: MIT */
/* The one runner for every Check suite. Tests run in this process (CK_NOFORK): they share one
 * OpenCL context, whose programs take seconds to build on PoCL. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

Suite *activation_suite(void);
Suite *backward_suite(void);
Suite *cache_suite(void);
Suite *dense_suite(void);
Suite *context_suite(void);
Suite *dtypes_suite(void);
Suite *errors_suite(void);
Suite *f64_suite(void);
Suite *glu_prelu_suite(void);
Suite *large_suite(void);
Suite *loss_suite(void);
Suite *npy_suite(void);
Suite *optim_suite(void);
Suite *reference_suite(void);
Suite *softmax_suite(void);
Suite *stats_suite(void);
Suite *status_suite(void);

/* Whether the list entry p[0, len) is name. */
static int entry_is(const char *p, size_t len, const char *name) {
    return strlen(name) == len && !strncmp(p, name, len);
}

/* Whether the comma-separated list names name. */
static int list_has(const char *list, const char *name) {
    for (const char *p = list; *p;) {
        size_t len = strcspn(p, ",");
        if (entry_is(p, len, name))
            return 1;
        p += len + (p[len] == ',');
    }
    return 0;
}

int main(void) {
    tu_seed_init();
    printf("clact tests: seed %llu (set CLACT_TEST_SEED=%llu to repeat this run)\n",
           (unsigned long long)tu_seed(), (unsigned long long)tu_seed());
    clact_context *ctx = NULL;
    clact_status st = clact_context_create(&ctx, NULL);
    if (st != CLACT_OK) {
        /* No device is a failure, never a skip: CI must not pass without running kernels. */
        fprintf(stderr, "clact tests: no OpenCL device: %s: %s\n", clact_status_name(st),
                clact_context_last_error(NULL));
        return EXIT_FAILURE;
    }
    char name[256] = "";
    clGetDeviceInfo(clact_context_device(ctx), CL_DEVICE_NAME, sizeof name - 1, name, NULL);
    printf("clact tests: device '%s'\n", name);
    fflush(stdout);
    tu_set_ctx(ctx);

    /* CLACT_TEST_SUITES=a,b,... runs only those suites (CTest runs the kernel suites again with
     * the programs built at other vector widths, CLACT_VECTOR_WIDTH). */
    static const struct {
        const char *name;
        Suite *(*make)(void);
    } suites[] = {{"status", status_suite},   {"reference", reference_suite},
                  {"npy", npy_suite},         {"context", context_suite},
                  {"errors", errors_suite},   {"activation", activation_suite},
                  {"dtypes", dtypes_suite},   {"f64", f64_suite},
                  {"softmax", softmax_suite}, {"loss", loss_suite},
                  {"cache", cache_suite},     {"backward", backward_suite},
                  {"dense", dense_suite},     {"optim", optim_suite},
                  {"stats", stats_suite},     {"glu_prelu", glu_prelu_suite},
                  {"large", large_suite}};
    const char *only = getenv("CLACT_TEST_SUITES");
    /* Every name in the list must be a suite: a misspelt one would silently run fewer. */
    for (const char *p = only ? only : ""; *p;) {
        size_t len = strcspn(p, ","), i = 0;
        while (i < sizeof suites / sizeof suites[0] && !entry_is(p, len, suites[i].name))
            ++i;
        if (i == sizeof suites / sizeof suites[0]) {
            fprintf(stderr, "clact tests: CLACT_TEST_SUITES=%s: no suite named '%.*s'\n", only,
                    (int)len, p);
            clact_context_destroy(ctx);
            return EXIT_FAILURE;
        }
        p += len + (p[len] == ',');
    }
    SRunner *sr = NULL;
    for (size_t i = 0; i < sizeof suites / sizeof suites[0]; ++i) {
        if (only && !list_has(only, suites[i].name))
            continue;
        if (!sr)
            sr = srunner_create(suites[i].make());
        else
            srunner_add_suite(sr, suites[i].make());
    }
    if (!sr) {
        fprintf(stderr, "clact tests: CLACT_TEST_SUITES=%s names no suite\n", only);
        clact_context_destroy(ctx);
        return EXIT_FAILURE;
    }
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    tu_release_contexts(); /* ctx, and the contexts tu_setenv made */
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
