/* SPDX-License-Identifier: MIT */
#include "testutil.h"
Suite *npy_suite(void);
Suite *npy_suite(void) { return suite_create("npy"); }
