/* SPDX-License-Identifier: MIT */
/* The one runner for every Check suite. Tests run in this process (CK_NOFORK): they share one
 * OpenCL context, whose programs take seconds to build on PoCL. */
#include <stdio.h>
#include <stdlib.h>

#include "testutil.h"

Suite *activation_suite(void);
Suite *cache_suite(void);
Suite *context_suite(void);
Suite *dtypes_suite(void);
Suite *errors_suite(void);
Suite *f64_suite(void);
Suite *loss_suite(void);
Suite *npy_suite(void);
Suite *reference_suite(void);
Suite *softmax_suite(void);
Suite *status_suite(void);

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

    SRunner *sr = srunner_create(status_suite());
    srunner_add_suite(sr, reference_suite());
    srunner_add_suite(sr, npy_suite());
    srunner_add_suite(sr, context_suite());
    srunner_add_suite(sr, errors_suite());
    srunner_add_suite(sr, activation_suite());
    srunner_add_suite(sr, dtypes_suite());
    srunner_add_suite(sr, f64_suite());
    srunner_add_suite(sr, softmax_suite());
    srunner_add_suite(sr, loss_suite());
    srunner_add_suite(sr, cache_suite());
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    clact_context_destroy(ctx);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
