#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The test suite under valgrind (memcheck, leaks) and under ASan + UBSan (their own build), and
# the thread stress test under ThreadSanitizer (its own build).
# Usage: tests/memcheck.sh [BUILD_DIR]  (BUILD_DIR: an existing build with the tests, default
# build). Exits non-zero on any error or leak. Takes about 11 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}

echo "memcheck: valgrind on $build/tests/clact_tests (CLACT_TEST_QUICK: the longest loops trimmed)"
CLACT_TEST_QUICK=1 valgrind --quiet --leak-check=full --show-leak-kinds=definite,indirect \
    --errors-for-leak-kinds=definite,indirect --error-exitcode=1 --num-callers=30 \
    --suppressions=tests/valgrind.supp "$build/tests/clact_tests" >/dev/null
echo "memcheck: valgrind on $build/tests/tools_tests (IDX reading through zlib, SVG charts)"
CLACT_TEST_QUICK=1 valgrind --quiet --leak-check=full --show-leak-kinds=definite,indirect \
    --errors-for-leak-kinds=definite,indirect --error-exitcode=1 --num-callers=30 \
    --suppressions=tests/valgrind.supp "$build/tests/tools_tests" >/dev/null
echo "memcheck: valgrind clean"

echo "memcheck: ASan + UBSan build in build-asan"
cmake -S . -B build-asan -DCLACT_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build-asan -j2 >/dev/null
# The scripted tests read the library's lists through ctypes: from the plain build's library,
# since an uninstrumented python cannot load the ASan-built one.
CLACT_LIST_LIBRARY="$(pwd)/$build/libclact.so.0" \
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan --output-on-failure --no-tests=error \
    -E "packaging|python|torch_dense|torch_optim|peer_train|exp_neg_exhaustive|kernel_builds|^vw|^tune$"
# `clact tune` runs CLBlast's tuners, which leak one cl_event per timed launch (CLBlast 1.5.3's
# RunKernelTimed launches its warm-up and ten timed runs into one event and releases only the
# last): the tune test runs with ASan's memory checks but without its leak check.
CLACT_LIST_LIBRARY="$(pwd)/$build/libclact.so.0" \
ASAN_OPTIONS=detect_leaks=0:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan --output-on-failure --no-tests=error -R "^tune$"
echo "memcheck: ASan + UBSan clean (packaging, python, torch_dense and torch_optim excluded: an uninstrumented program cannot"
echo "          load an ASan-built library; they run in the plain build; exp_neg_exhaustive and"
echo "          kernel_builds run only kernels, through PyOpenCL, with no clact code to check;"
echo "          the vw tests rerun the check suites' host code, only the kernels' width differs;"
echo "          peer_train is PyTorch's training beside clact train's, which the train test runs)"

echo "memcheck: ThreadSanitizer build in build-tsan"
cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_FLAGS="-fsanitize=thread -fno-omit-frame-pointer" \
    -DCMAKE_EXE_LINKER_FLAGS=-fsanitize=thread -DCMAKE_SHARED_LINKER_FLAGS=-fsanitize=thread >/dev/null
cmake --build build-tsan -j2 --target thread_stress >/dev/null
# TSan exits non-zero (66) on any report. CLACT_VERBOSE adds the event callbacks' threads.
CLACT_VERBOSE=1 build-tsan/tests/thread_stress 4 300 2>/dev/null
echo "memcheck: ThreadSanitizer clean"
