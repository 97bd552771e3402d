/* SPDX-License-Identifier: MIT */
/* Status codes, names and messages, generated from one X-macro list; op and dtype tables. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "testutil.h"

START_TEST(status_names_and_strings) {
    static const struct {
        clact_status st;
        const char *name;
    } all[] = {{CLACT_OK, "OK"},
               {CLACT_INVALID_ARGUMENT, "INVALID_ARGUMENT"},
               {CLACT_UNSUPPORTED, "UNSUPPORTED"},
               {CLACT_NO_DEVICE, "NO_DEVICE"},
               {CLACT_BUILD_FAILED, "BUILD_FAILED"},
               {CLACT_OPENCL_ERROR, "OPENCL_ERROR"},
               {CLACT_OUT_OF_MEMORY, "OUT_OF_MEMORY"},
               {CLACT_IO_ERROR, "IO_ERROR"},
               {CLACT_FORMAT_ERROR, "FORMAT_ERROR"}};
    ck_assert_int_eq(CLACT_OK, 0);
    for (size_t i = 0; i < sizeof all / sizeof all[0]; ++i) {
        ck_assert_str_eq(clact_status_name(all[i].st), all[i].name);
        const char *msg = clact_status_string(all[i].st);
        ck_assert_ptr_nonnull(msg);
        ck_assert_int_gt((int)strlen(msg), 3);
        if (i > 0)
            ck_assert_int_lt(all[i].st, 0);
        for (size_t j = 0; j < i; ++j)
            ck_assert_str_ne(msg, clact_status_string(all[j].st));
    }
    ck_assert_str_eq(clact_status_name((clact_status)12345), "UNKNOWN_STATUS");
    ck_assert_str_eq(clact_status_string((clact_status)-999), "unknown status code");
}
END_TEST

/* The names the header's list generates: every op has one, it looks itself up, and it is the
 * enum's name in lower case (CLACT_GELU_TANH is "gelu_tanh"). */
START_TEST(op_table) {
    static const char *const enum_names[] = {
#define ENUM_NAME(name, torch_name, saved, form, n, p0, d0, p1, d1) #name,
        CLACT_ACTIVATION_MAP(ENUM_NAME)
#undef ENUM_NAME
    };
    ck_assert_int_eq(CLACT_OP_COUNT, (int)(sizeof enum_names / sizeof enum_names[0]));
    for (int i = 0; i < CLACT_OP_COUNT; ++i) {
        clact_op op;
        const char *name = clact_op_name((clact_op)i);
        ck_assert_ptr_nonnull(name);
        ck_assert_int_eq(clact_op_from_name(name, &op), CLACT_OK);
        ck_assert_int_eq(op, i);
        char lower[64];
        size_t k = 0;
        for (; enum_names[i][k] && k + 1 < sizeof lower; ++k)
            lower[k] = (char)tolower((unsigned char)enum_names[i][k]);
        lower[k] = '\0';
        ck_assert_str_eq(name, lower);
    }
    clact_op op;
    ck_assert_int_eq(clact_op_from_name("swish", &op), CLACT_INVALID_ARGUMENT);
    ck_assert_int_eq(clact_op_from_name(NULL, &op), CLACT_INVALID_ARGUMENT);
    ck_assert_ptr_null(clact_op_name(CLACT_OP_COUNT));
    ck_assert_int_eq(clact_op_param_count((clact_op)-1), -1);
    /* PyTorch's defaults and keyword names. */
    clact_activation a = clact_activation_default(CLACT_LEAKY_RELU);
    ck_assert(a.param[0] == 0.01);
    ck_assert_str_eq(clact_op_param_name(CLACT_LEAKY_RELU, 0), "negative_slope");
    a = clact_activation_default(CLACT_ELU);
    ck_assert(a.param[0] == 1.0);
    ck_assert_str_eq(clact_op_param_name(CLACT_ELU, 0), "alpha");
    a = clact_activation_default(CLACT_SOFTPLUS);
    ck_assert(a.param[0] == 1.0 && a.param[1] == 20.0);
    ck_assert_str_eq(clact_op_param_name(CLACT_SOFTPLUS, 0), "beta");
    ck_assert_str_eq(clact_op_param_name(CLACT_SOFTPLUS, 1), "threshold");
    ck_assert_ptr_null(clact_op_param_name(CLACT_SOFTPLUS, 2));
    ck_assert_ptr_null(clact_op_param_name(CLACT_RELU, 0));
    ck_assert_int_eq(clact_op_param_count(CLACT_GELU), 0);
}
END_TEST

START_TEST(activation_check) {
    char msg[128];
    clact_activation a = clact_activation_default(CLACT_SOFTPLUS);
    ck_assert_int_eq(clact_activation_check(&a, msg, sizeof msg), CLACT_OK);
    ck_assert_str_eq(msg, "");
    a.param[0] = 0.0;
    ck_assert_int_eq(clact_activation_check(&a, msg, sizeof msg), CLACT_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(msg, "beta"));
    a = clact_activation_default(CLACT_ELU);
    a.param[0] = __builtin_nan("");
    ck_assert_int_eq(clact_activation_check(&a, msg, sizeof msg), CLACT_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(msg, "alpha"));
    a.op = (clact_op)77;
    ck_assert_int_eq(clact_activation_check(&a, msg, sizeof msg), CLACT_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(msg, "unknown"));
    ck_assert_int_eq(clact_activation_check(NULL, NULL, 0), CLACT_INVALID_ARGUMENT);
    /* PyTorch accepts these, and so does clact. */
    a = clact_activation_default(CLACT_LEAKY_RELU);
    a.param[0] = -3.0;
    ck_assert_int_eq(clact_activation_check(&a, NULL, 0), CLACT_OK);
    a = clact_activation_default(CLACT_SOFTPLUS);
    a.param[1] = __builtin_inf();
    ck_assert_int_eq(clact_activation_check(&a, NULL, 0), CLACT_OK);
}
END_TEST

/* The README's op table names every op of the header's list (its C enum, CLACT_<NAME>), so the
 * manual cannot fall behind the library. */
START_TEST(readme_lists_every_op) {
    FILE *f = fopen(CLACT_SOURCE_README, "rb");
    ck_assert_msg(f, "cannot open %s", CLACT_SOURCE_README);
    static char text[1 << 17];
    size_t len = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[len] = '\0';
    /* The table: from its header row to the first blank line after it. */
    char *table = strstr(text, "| op (`clact apply OP`) |");
    ck_assert_msg(table, "README.md has no op table");
    char *end = strstr(table, "\n\n");
    if (end)
        *end = '\0';
    static const char *const enum_names[] = {
#define ENUM_NAME(name, torch_name, saved, form, n, p0, d0, p1, d1) "`CLACT_" #name "`",
        CLACT_ACTIVATION_MAP(ENUM_NAME)
#undef ENUM_NAME
    };
    for (int i = 0; i < CLACT_OP_COUNT; ++i)
        ck_assert_msg(strstr(table, enum_names[i]), "README.md's op table lacks %s (%s)",
                      enum_names[i], clact_op_name((clact_op)i));
}
END_TEST

START_TEST(dtype_table) {
    ck_assert_str_eq(clact_dtype_name(CLACT_F32), "f32");
    ck_assert_str_eq(clact_dtype_name(CLACT_BF16), "bf16");
    ck_assert_int_eq((int)clact_dtype_size(CLACT_F16), 2);
    ck_assert_int_eq((int)clact_dtype_size(CLACT_F64), 8);
    ck_assert_ptr_null(clact_dtype_name((clact_dtype)9));
    ck_assert_int_eq((int)clact_dtype_size((clact_dtype)9), 0);
    ck_assert_ptr_null(clact_dtype_name((clact_dtype)CLACT_DTYPE_COUNT));
    for (int i = 0; i < CLACT_DTYPE_COUNT; ++i) {
        clact_dtype d;
        ck_assert_int_eq(clact_dtype_from_name(clact_dtype_name((clact_dtype)i), &d), CLACT_OK);
        ck_assert_int_eq(d, i);
    }
    clact_dtype d;
    ck_assert_int_eq(clact_dtype_from_name("f8", &d), CLACT_INVALID_ARGUMENT);
    ck_assert_int_eq(clact_dtype_from_name(NULL, &d), CLACT_INVALID_ARGUMENT);
    ck_assert_int_eq(clact_dtype_from_name("f32", NULL), CLACT_INVALID_ARGUMENT);
    ck_assert_int_eq(CLACT_SOFTMAX_KIND_COUNT, 3);
    for (int i = 0; i < CLACT_SOFTMAX_KIND_COUNT; ++i) {
        clact_softmax_kind k;
        ck_assert_int_eq(
            clact_softmax_kind_from_name(clact_softmax_kind_name((clact_softmax_kind)i), &k),
            CLACT_OK);
        ck_assert_int_eq(k, i);
    }
    ck_assert_str_eq(clact_softmax_kind_name(CLACT_LOG_SOFTMAX), "log_softmax");
    ck_assert_ptr_null(clact_softmax_kind_name((clact_softmax_kind)CLACT_SOFTMAX_KIND_COUNT));
    clact_softmax_kind k;
    ck_assert_int_eq(clact_softmax_kind_from_name("softmax2", &k), CLACT_INVALID_ARGUMENT);
    ck_assert_str_eq(clact_version(), CLACT_VERSION_STRING);
}
END_TEST

Suite *status_suite(void);
Suite *status_suite(void) {
    Suite *s = suite_create("status");
    TCase *tc = tcase_create("tables");
    tcase_add_test(tc, status_names_and_strings);
    tcase_add_test(tc, op_table);
    tcase_add_test(tc, activation_check);
    tcase_add_test(tc, dtype_table);
    tcase_add_test(tc, readme_lists_every_op);
    suite_add_tcase(s, tc);
    return s;
}
