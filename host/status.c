/* SPDX-License-Identifier: MIT */
#include "clact/clact.h"

const char *clact_version(void) { return CLACT_VERSION_STRING; }

const char *clact_status_name(clact_status status) {
    switch (status) {
#define CLACT__STATUS_NAME(name, value, message)                                                   \
    case CLACT_##name: return #name;
        CLACT_STATUS_MAP(CLACT__STATUS_NAME)
#undef CLACT__STATUS_NAME
    }
    return "UNKNOWN_STATUS";
}

const char *clact_status_string(clact_status status) {
    switch (status) {
#define CLACT__STATUS_STRING(name, value, message)                                                 \
    case CLACT_##name: return message;
        CLACT_STATUS_MAP(CLACT__STATUS_STRING)
#undef CLACT__STATUS_STRING
    }
    return "unknown status code";
}

const char *clact_dtype_name(clact_dtype dtype) {
    switch (dtype) {
    case CLACT_F32: return "f32";
    case CLACT_F16: return "f16";
    case CLACT_BF16: return "bf16";
    case CLACT_F64: return "f64";
    }
    return NULL;
}

size_t clact_dtype_size(clact_dtype dtype) {
    switch (dtype) {
    case CLACT_F32: return 4;
    case CLACT_F16: return 2;
    case CLACT_BF16: return 2;
    case CLACT_F64: return 8;
    }
    return 0;
}
