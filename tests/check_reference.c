/* SPDX-License-Identifier: MIT */
#include "testutil.h"
Suite *reference_suite(void);
Suite *reference_suite(void) { return suite_create("reference"); }
