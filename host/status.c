/* SPDX-License-Identifier: MIT */
/* Names and sizes generated from the header's lists: status codes, dtypes, softmax kinds. */
#include <string.h>

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
#define CLACT__DTYPE_NAME(name, value, text, size)                                                 \
    case CLACT_##name: return text;
        CLACT_DTYPE_MAP(CLACT__DTYPE_NAME)
#undef CLACT__DTYPE_NAME
    }
    return NULL;
}

size_t clact_dtype_size(clact_dtype dtype) {
    switch (dtype) {
#define CLACT__DTYPE_SIZE(name, value, text, size)                                                 \
    case CLACT_##name: return size;
        CLACT_DTYPE_MAP(CLACT__DTYPE_SIZE)
#undef CLACT__DTYPE_SIZE
    }
    return 0;
}

clact_status clact_dtype_from_name(const char *name, clact_dtype *dtype) {
    if (!name || !dtype)
        return CLACT_INVALID_ARGUMENT;
#define CLACT__DTYPE_FIND(value_name, value, text, size)                                           \
    if (!strcmp(name, text)) {                                                                     \
        *dtype = CLACT_##value_name;                                                               \
        return CLACT_OK;                                                                           \
    }
    CLACT_DTYPE_MAP(CLACT__DTYPE_FIND)
#undef CLACT__DTYPE_FIND
    return CLACT_INVALID_ARGUMENT;
}

const char *clact_softmax_kind_name(clact_softmax_kind kind) {
    switch (kind) {
#define CLACT__KIND_NAME(name, value, text, formula)                                               \
    case CLACT_##name: return text;
        CLACT_SOFTMAX_KIND_MAP(CLACT__KIND_NAME)
#undef CLACT__KIND_NAME
    }
    return NULL;
}

clact_status clact_softmax_kind_from_name(const char *name, clact_softmax_kind *kind) {
    if (!name || !kind)
        return CLACT_INVALID_ARGUMENT;
#define CLACT__KIND_FIND(value_name, value, text, formula)                                         \
    if (!strcmp(name, text)) {                                                                     \
        *kind = CLACT_##value_name;                                                                \
        return CLACT_OK;                                                                           \
    }
    CLACT_SOFTMAX_KIND_MAP(CLACT__KIND_FIND)
#undef CLACT__KIND_FIND
    return CLACT_INVALID_ARGUMENT;
}
