#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The test suite under valgrind (memcheck, leaks) and under ASan + UBSan (their own build), and
# the thread stress test under ThreadSanitizer (its own build), then the fuzz targets
# (tests/fuzz.sh).
# Usage: tests/memcheck.sh [BUILD_DIR]  (BUILD_DIR: an existing build with the tests, default
# build). Exits non-zero on any error, leak, fuzz finding or oclgrind report. Measured on a quiet
# 2-core machine (2026-11-28): the native warm-up 126 s; valgrind 1923 s as two fixed halves
# (1234 s and 1923 s; now a queue of six groups, about 1600 s expected); ASan + UBSan's tests
# 25 + 307 s after their build; then ThreadSanitizer, the fuzz targets (4 x 45 s) and
# tests/oclgrind.sh (94-166 s) as before. About 45 minutes in all: valgrind is most of it.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
build=$(cd "$build" && pwd) # absolute: the ASan tests get a path to its library

# Under valgrind PoCL sees valgrind's CPU (no AVX-512: 'pthread-haswell' on an AVX-512 host), so
# nothing the plain test run compiled fits, and LLVM compiling a kernel under valgrind takes 15 to
# 60 s: a cold run of the suites compiles hundreds and took over an hour. So the same run goes
# first without valgrind, with PoCL told to pick the kernel library valgrind's CPU gets
# (POCL_KERNELLIB_NAME) and the same seed (the same sizes, hence the same kernels), filling
# PoCL's own cache; CLACT_CACHE=0 in both runs keeps every build a build from source, which
# PoCL's cache answers (clact's disk cache would hand back binaries, which PoCL recompiles under
# another key; the cache suite still runs clact's cache in its own directories).
vg="valgrind --quiet --leak-check=full --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect --error-exitcode=1 --num-callers=30 --suppressions=tests/valgrind.supp"
vg_device=$(valgrind --quiet "$build/clact" devices 2>/dev/null | awk '$1 == "*" {print $4; exit}' || true)
kernellib=
for lib in avx2 avx512 avx_f16c avx sse41 ssse3 sse2; do
    if [ "$(POCL_KERNELLIB_NAME=$lib "$build/clact" devices 2>/dev/null | awk '$1 == "*" {print $4; exit}' || true)" = "$vg_device" ]; then
        kernellib=$lib
        break
    fi
done
seed=${CLACT_TEST_SEED:-$(od -An -N8 -tu8 /dev/urandom | tr -d ' ')}
echo "memcheck: valgrind's device '$vg_device' (PoCL kernel library '${kernellib:-not found: a cold run}'), seed $seed"
# The interpreter level (CLACT_TEST_QUICK=2, as for oclgrind): valgrind runs the kernels at an
# interpreter's speed too; at level 1 each of the two processes took about 24 minutes on a quiet
# 2-core machine (the backward suite's 16-bit inputs alone are all 65536 there).
export CLACT_TEST_QUICK=2 CLACT_CACHE=0 CLACT_TEST_SEED=$seed
[ -n "$kernellib" ] && export POCL_KERNELLIB_NAME=$kernellib
echo "memcheck: the same run without valgrind first (PoCL's cache)"
"$build/tests/clact_tests" >/dev/null
echo "memcheck: at ${SECONDS} s"
# The suites in six groups, taken two at a time (one per core) from a queue, longest first, so
# that both cores stay busy to the end: split in two fixed halves, one half took 1234 s and the
# other 1923 s on a quiet 2-core machine (2026-11-28), with a core idle in between. Each group
# prints its time and its slowest tests (Check's XML log, tests/ck_durations.py: where to trim
# next), and a failure's output is shown.
echo "memcheck: valgrind on $build/tests/clact_tests (CLACT_TEST_QUICK=2: the longest loops trimmed)"
vg_group() {
    local g=$1 t0
    t0=$(date +%s)
    if CK_XML_LOG_FILE_NAME="$build/memcheck-${g%%,*}.xml" CLACT_TEST_SUITES=$g \
        $vg "$build/tests/clact_tests" >"$build/memcheck-${g%%,*}.log" 2>&1; then
        echo "memcheck: valgrind on $g: clean in $(($(date +%s) - t0)) s; its slowest tests:"
        python3 tests/ck_durations.py "$build/memcheck-${g%%,*}.xml" 4 || true
    else
        echo "memcheck: valgrind on $g FAILED after $(($(date +%s) - t0)) s:"
        tail -n 60 "$build/memcheck-${g%%,*}.log"
        return 1
    fi
}
export -f vg_group
export vg build
printf '%s\n' glu_prelu activation,dtypes cache,softmax,loss f64,backward \
    stats,context,errors,dense,optim status,reference,npy,large |
    xargs -P 2 -I{} bash -c 'vg_group "$1"' _ {}
unset CLACT_CACHE POCL_KERNELLIB_NAME CLACT_TEST_SEED
echo "memcheck: valgrind on $build/tests/tools_tests (IDX reading through zlib, SVG charts)"
$vg "$build/tests/tools_tests" >/dev/null
unset CLACT_TEST_QUICK
echo "memcheck: valgrind clean (at ${SECONDS} s)"

echo "memcheck: ASan + UBSan build in build-asan"
cmake -S . -B build-asan -DCLACT_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build-asan -j2 >/dev/null
# The scripted tests read the library's lists through ctypes: from the plain build's library,
# since an uninstrumented python cannot load the ASan-built one.
# At CLACT_TEST_QUICK=1: every check of every suite, with the longest loops trimmed (the plain
# run has just run them whole; here it is the host code's memory that is checked, and the loops
# repeat the same code). CI runs on 2 cores within a time budget (DEVELOPERS.md: 40 minutes).
# First the same suites at that level and seed in the plain build: PoCL compiles a kernel for each
# work-group size at its first launch and LLVM 15 leaks there (tests/valgrind.supp), so sizes the
# plain test run did not launch would be compiled, and reported, under ASan's leak check.
seed=$(od -An -N8 -tu8 /dev/urandom | tr -d ' ')
CLACT_TEST_QUICK=1 CLACT_TEST_SEED=$seed "$build/tests/clact_tests" >/dev/null
CLACT_TEST_QUICK=1 CLACT_TEST_SEED=$seed CLACT_LIST_LIBRARY="$build/libclact.so.0" \
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan --output-on-failure --no-tests=error -j2 \
    -E "packaging|python|torch_dense|torch_optim|peer_train|exp_neg_exhaustive|kernel_builds|^vw|^tune$"
# `clact tune` runs CLBlast's tuners, which leak one cl_event per timed launch (CLBlast 1.5.3's
# RunKernelTimed launches its warm-up and ten timed runs into one event and releases only the
# last): the tune test runs with ASan's memory checks but without its leak check.
CLACT_LIST_LIBRARY="$build/libclact.so.0" \
ASAN_OPTIONS=detect_leaks=0:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan --output-on-failure --no-tests=error -R "^tune$"
echo "memcheck: ASan + UBSan clean at ${SECONDS} s (packaging, python, torch_dense and torch_optim excluded: an uninstrumented program cannot"
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
echo "memcheck: ThreadSanitizer clean (at ${SECONDS} s)"

# The libFuzzer targets, 45 s each (their own build, build-fuzz, with clang).
bash tests/fuzz.sh 45

# The kernel suites on oclgrind's simulated GPU (the GPU code paths, data races, uninitialised
# values; about 3 to 5 minutes).
bash tests/oclgrind.sh "$build"
echo "memcheck: done in ${SECONDS} s"
