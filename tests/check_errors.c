/* SPDX-License-Identifier: MIT */
#include "testutil.h"
Suite *errors_suite(void);
Suite *errors_suite(void) { return suite_create("errors"); }
