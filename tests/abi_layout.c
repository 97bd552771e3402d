/* SPDX-License-Identifier: MIT */
/* The C layout of the structs that python/clact.py mirrors in ctypes, for its test
 * (python/tests/test_clact.py, ABITest): one line per struct, "NAME SIZE FIELD:OFFSET ...", as
 * the compiler that built the library lays them out. A ctypes mirror that drifts from the header
 * (a field added here and not there) passes a struct of the wrong size across the ABI; the
 * Python test compares every size and offset against these. */
#include <stddef.h>
#include <stdio.h>

#include "clact/clact.h"

#define FIELD(type, field) printf(" %s:%zu", #field, offsetof(type, field))

int main(void) {
    printf("clact_activation %zu", sizeof(clact_activation));
    FIELD(clact_activation, op);
    FIELD(clact_activation, param);
    FIELD(clact_activation, training);
    FIELD(clact_activation, seed);
    printf("\nclact_cross_entropy_desc %zu", sizeof(clact_cross_entropy_desc));
    FIELD(clact_cross_entropy_desc, reduction);
    FIELD(clact_cross_entropy_desc, ignore_index);
    FIELD(clact_cross_entropy_desc, label_smoothing);
    FIELD(clact_cross_entropy_desc, target_type);
    FIELD(clact_cross_entropy_desc, flags);
    printf("\nclact_buffer %zu", sizeof(clact_buffer));
    FIELD(clact_buffer, mem);
    FIELD(clact_buffer, offset);
    printf("\nclact_dense_desc %zu", sizeof(clact_dense_desc));
    FIELD(clact_dense_desc, in_features);
    FIELD(clact_dense_desc, out_features);
    FIELD(clact_dense_desc, act);
    FIELD(clact_dense_desc, flags);
    printf("\nclact_sgd_desc %zu", sizeof(clact_sgd_desc));
    FIELD(clact_sgd_desc, lr);
    FIELD(clact_sgd_desc, momentum);
    FIELD(clact_sgd_desc, dampening);
    FIELD(clact_sgd_desc, weight_decay);
    FIELD(clact_sgd_desc, nesterov);
    FIELD(clact_sgd_desc, maximize);
    printf("\nclact_adam_desc %zu", sizeof(clact_adam_desc));
    FIELD(clact_adam_desc, lr);
    FIELD(clact_adam_desc, beta1);
    FIELD(clact_adam_desc, beta2);
    FIELD(clact_adam_desc, eps);
    FIELD(clact_adam_desc, weight_decay);
    FIELD(clact_adam_desc, amsgrad);
    FIELD(clact_adam_desc, decoupled);
    FIELD(clact_adam_desc, maximize);
    printf("\n");
    return ferror(stdout) ? 1 : 0;
}
