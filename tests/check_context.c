/* SPDX-License-Identifier: MIT */
#include "testutil.h"
Suite *context_suite(void);
Suite *context_suite(void) { return suite_create("context"); }
