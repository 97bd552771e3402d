#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The test suite under valgrind (memcheck, leaks) and under ASan + UBSan (their own build), and
# the thread stress test under ThreadSanitizer (its own build), then the fuzz targets
# (tests/fuzz.sh).
# Usage: tests/memcheck.sh [BUILD_DIR]  (BUILD_DIR: an existing build with the tests, default
# build). Exits non-zero on any error, leak, fuzz finding or oclgrind report. Measured on 2 cores
# (2026-11-28): before the warm-up under --tool=none (below), valgrind took 1923 s, compiling
# every kernel under memcheck; with it, from an empty PoCL cache, the warm-up 763 s (on cores
# shared with another run; less alone) and memcheck's six groups 272 s (25 + 121 + 138 + 58 + 6
# + 108 s on two cores); ASan + UBSan's tests 25 + 307 s after their build; ThreadSanitizer 25 s; the
# fuzz targets 4 x 45 s; tests/oclgrind.sh 94-166 s.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
build=$(cd "$build" && pwd) # absolute: the ASan tests get a path to its library

# Under valgrind PoCL sees valgrind's CPU (no AVX-512: 'pthread-haswell' on an AVX-512 host), and
# PoCL 3.1 puts LLVM's name for the host CPU into every kernel cache key, so nothing the plain
# test run compiled is found, and LLVM compiling a kernel under memcheck takes 15 to 120 s. A
# native run with PoCL's kernel library set to valgrind's (POCL_KERNELLIB_NAME) still leaves
# other keys (measured 2026-11-28: one program cold under memcheck 112-126 s after such a native
# run, 17 s warm; the suites' valgrind pass 1923 s cold against about 250 s warm). So the same
# run goes first under valgrind's no-op tool (--tool=none: the same CPU as memcheck's, LLVM about
# 3.5 times faster than under memcheck), with the same seed (the same sizes, the same kernels),
# filling PoCL's cache; CLACT_CACHE=0 in both keeps every build a build from source, which PoCL's
# cache answers (clact's disk cache would hand PoCL binaries; the cache suite still runs clact's
# cache in its own directories).
vg="valgrind --quiet --leak-check=full --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect --error-exitcode=1 --num-callers=30 --suppressions=tests/valgrind.supp"
seed=${CLACT_TEST_SEED:-$(od -An -N8 -tu8 /dev/urandom | tr -d ' ')}
echo "memcheck: seed $seed"
# The interpreter level (CLACT_TEST_QUICK=2, as for oclgrind): valgrind runs the kernels at an
# interpreter's speed too.
export CLACT_TEST_QUICK=2 CLACT_CACHE=0 CLACT_TEST_SEED=$seed
# The suites in six groups, taken two at a time (one per core) from a queue, longest first, so
# that both cores stay busy to the end (in two fixed halves, one took 1234 s and the other 1923 s,
# a core idle in between).
# Longest first, as measured under memcheck with PoCL's cache warm (s): 140, 137, 129, 58, 24, 6.
groups="cache,softmax,loss stats,context,errors,dense,optim glu_prelu f64,backward activation,dtypes status,reference,npy,large"
echo "memcheck: the same run under valgrind --tool=none first (PoCL's cache)"
warm_group() {
    CLACT_TEST_SUITES=$1 valgrind --tool=none --quiet "$build/tests/clact_tests" >/dev/null 2>&1 ||
        echo "memcheck: (the warm-up of $1 failed; memcheck will say why)"
}
export -f warm_group
export build
printf '%s\n' $groups | xargs -P 2 -I{} bash -c 'warm_group "$1"' _ {}
echo "memcheck: at ${SECONDS} s"
# Each group prints its time and its slowest tests (Check's XML log, tests/ck_durations.py:
# where to trim next), and a failure's output is shown.
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
printf '%s\n' $groups | xargs -P 2 -I{} bash -c 'vg_group "$1"' _ {}
unset CLACT_CACHE CLACT_TEST_SEED
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
# intercept_tls_get_addr=0: GCC 12's ASan runtime (Debian 12's libasan8) records each dynamic TLS
# block it sees through __tls_get_addr and, for a block whose address is 16 past a page boundary,
# takes the 16 bytes before it for glibc 2.19's TLS header {size, start}. glibc (2.25 on) allocates
# those blocks (here libLLVM-15's, when PoCL compiles) with malloc, so under ASan those bytes are
# ASan's own chunk header, and the leak check at exit scans 0x800001102 bytes from 0x8bf: "Tracer
# caught signal 11", exit 1 (CI, 2026-11-29: preload_faults, `clact backward log_softmax` with
# clCreateKernelsInProgram failed on the cached binary and the program compiled from source; with
# LSAN_OPTIONS=verbosity=2 the log says "glibc >=2.19 suspected; tls={0x8bf 0x800001102}").
# google/sanitizers#1322 is this bug, with this workaround. What those blocks hold is still
# scanned: this runtime takes every block allocated from ld.so, where glibc allocates dynamic TLS,
# as a root (use_ld_allocations, on by default).
asan="detect_leaks=1:abort_on_error=0:intercept_tls_get_addr=0"
# First the same suites at that level and seed in the plain build: PoCL compiles a kernel for each
# work-group size at its first launch and LLVM 15 leaks there (tests/valgrind.supp), so sizes the
# plain test run did not launch would be compiled, and reported, under ASan's leak check.
seed=$(od -An -N8 -tu8 /dev/urandom | tr -d ' ')
CLACT_TEST_QUICK=1 CLACT_TEST_SEED=$seed "$build/tests/clact_tests" >/dev/null
CLACT_TEST_QUICK=1 CLACT_TEST_SEED=$seed CLACT_LIST_LIBRARY="$build/libclact.so.0" \
ASAN_OPTIONS=$asan UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan --output-on-failure --no-tests=error -j2 \
    -E "packaging|python|torch_dense|torch_optim|peer_train|exp_neg_exhaustive|kernel_builds|f16_paths|^vw|^tune$"
# `clact tune` runs CLBlast's tuners, which leak one cl_event per timed launch (CLBlast 1.5.3's
# RunKernelTimed launches its warm-up and ten timed runs into one event and releases only the
# last): the tune test runs with ASan's memory checks but without its leak check.
CLACT_LIST_LIBRARY="$build/libclact.so.0" \
ASAN_OPTIONS=${asan/detect_leaks=1/detect_leaks=0} UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan --output-on-failure --no-tests=error -R "^tune$"
echo "memcheck: ASan + UBSan clean at ${SECONDS} s (packaging, python, torch_dense and torch_optim excluded: an uninstrumented program cannot"
echo "          load an ASan-built library; they run in the plain build; exp_neg_exhaustive and"
echo "          kernel_builds run only kernels, through PyOpenCL, with no clact code to check;"
echo "          the vw tests rerun the check suites' host code, only the kernels' width differs;"
echo "          f16_paths reruns the cli test's host paths 233 times, only the kernels' f16 loads differ;"
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
