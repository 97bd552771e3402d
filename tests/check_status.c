/* SPDX-License-Identifier: MIT */
#include "testutil.h"
Suite *status_suite(void);
Suite *status_suite(void) { return suite_create("status"); }
