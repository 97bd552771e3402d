// SPDX-License-Identifier: MIT
// The one C++ file of the library: CLBlast's tuners (clblast::Tune*) and RetrieveParameters exist
// only in its C++ API. Everything here is a thin wrapper that turns exceptions into statuses
// (CLBlast's tuners throw std::runtime_error for sizes they cannot test) and maps into
// clact__params; the policy (what to tune, for how long, what to keep) is in tune.c.
#include "clblast_params.h"

#include <clblast.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <unordered_map>

namespace {

using Map = std::unordered_map<std::string, size_t>;

// CLBlast's status for an exception that escaped its API (kUnknownError).
const int unknown_error = static_cast<int>(clblast::StatusCode::kUnknownError);

// Copy a map into out (names sorted); 0 when it does not fit.
int to_params(const Map &map, const char *kernel, clact__params *out) {
    std::memset(out, 0, sizeof *out);
    std::snprintf(out->kernel, sizeof out->kernel, "%s", kernel);
    if (map.size() > CLACT__PARAMS_MAX)
        return 0;
    for (const auto &kv : map) {
        if (kv.first.size() >= CLACT__PARAM_NAME)
            return 0;
        std::snprintf(out->name[out->count], CLACT__PARAM_NAME, "%s", kv.first.c_str());
        out->value[out->count++] = kv.second;
    }
    clact__params_sort(out);
    return 1;
}

template <typename T>
clblast::StatusCode tune(cl_command_queue *q, clact__tuner tuner, size_t m, size_t n, size_t k,
                         double fraction, Map &map) {
    switch (tuner) {
    case CLACT__TUNE_XGEMM: return clblast::TuneXgemm<T>(q, m, n, k, fraction, map);
    case CLACT__TUNE_XGEMM_DIRECT: return clblast::TuneXgemmDirect<T>(q, m, n, k, fraction, map);
    case CLACT__TUNE_PAD: return clblast::TunePad<T>(q, m, n, fraction, map);
    case CLACT__TUNE_PADTRANSPOSE: return clblast::TunePadtranspose<T>(q, m, n, fraction, map);
    }
    return clblast::StatusCode::kNotImplemented;
}

const char *tuner_kernel(clact__tuner tuner) {
    switch (tuner) {
    case CLACT__TUNE_XGEMM: return "Xgemm";
    case CLACT__TUNE_XGEMM_DIRECT: return "XgemmDirect";
    case CLACT__TUNE_PAD: return "Pad";
    case CLACT__TUNE_PADTRANSPOSE: return "Padtranspose";
    }
    return "";
}

} // namespace

extern "C" int clact__clblast_tune(cl_command_queue queue, clact__tuner tuner, int f64, size_t m,
                                   size_t n, size_t k, double fraction, clact__params *out) {
    std::memset(out, 0, sizeof *out);
    // 0 and 1 both mean the whole space to CLBlast; anything outside (0, 1] is a caller's bug.
    if (!(fraction > 0.0 && fraction <= 1.0))
        return static_cast<int>(clblast::StatusCode::kUnexpectedError);
    try {
        Map map;
        clblast::StatusCode s = f64 ? tune<double>(&queue, tuner, m, n, k, fraction, map)
                                    : tune<float>(&queue, tuner, m, n, k, fraction, map);
        // TuneXgemm fills the map from its first search and returns the second one's failure
        // when the second tested nothing (a fraction too small for it): the first answer is a
        // complete, checked configuration, and is kept.
        if (s != clblast::StatusCode::kSuccess && !(tuner == CLACT__TUNE_XGEMM && !map.empty()))
            return static_cast<int>(s);
        return to_params(map, tuner_kernel(tuner), out)
                   ? 0
                   : static_cast<int>(clblast::StatusCode::kUnexpectedError);
    } catch (...) {
        return unknown_error;
    }
}

extern "C" int clact__clblast_get(cl_device_id device, const char *kernel, int f64,
                                  clact__params *out) {
    std::memset(out, 0, sizeof *out);
    try {
        Map map;
        clblast::StatusCode s = clblast::RetrieveParameters(
            device, kernel, f64 ? clblast::Precision::kDouble : clblast::Precision::kSingle, map);
        if (s != clblast::StatusCode::kSuccess)
            return static_cast<int>(s);
        return to_params(map, kernel, out)
                   ? 0
                   : static_cast<int>(clblast::StatusCode::kUnexpectedError);
    } catch (...) {
        return unknown_error;
    }
}

extern "C" void clact__params_sort(clact__params *p) {
    // Insertion sort: a couple of dozen names at most.
    for (unsigned i = 1; i < p->count; ++i) {
        for (unsigned j = i; j > 0 && std::strcmp(p->name[j - 1], p->name[j]) > 0; --j) {
            char tmp[CLACT__PARAM_NAME];
            std::memcpy(tmp, p->name[j], sizeof tmp);
            std::memcpy(p->name[j], p->name[j - 1], sizeof tmp);
            std::memcpy(p->name[j - 1], tmp, sizeof tmp);
            size_t v = p->value[j];
            p->value[j] = p->value[j - 1];
            p->value[j - 1] = v;
        }
    }
}
