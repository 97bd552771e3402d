#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The libFuzzer targets (tests/fuzz/): builds them with clang in build-fuzz (ASan + UBSan, the
# library instrumented for coverage too), then runs each for SECONDS (default 45) from a copy of
# its committed seed corpus (tests/fuzz/corpus/TARGET, left unmodified), with allocations above
# 64 MB, an RSS above 512 MB and an input taking over 10 s counted as findings (the inputs are a
# few KB: nothing may allocate what a header merely claims).
# Usage: tests/fuzz.sh [SECONDS]. Prints per target the executions done and any finding (the
# report's tail; the input is kept in build-fuzz/findings/TARGET/); exits non-zero on any.
# Needs clang and libFuzzer (scripts/install-deps --test installs them); CC/CXX for the fuzz
# build can be set with CLACT_FUZZ_CC and CLACT_FUZZ_CXX.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-45}
case $seconds in
'' | *[!0-9]*) echo "usage: tests/fuzz.sh [SECONDS]" >&2; exit 2 ;;
esac
cc=${CLACT_FUZZ_CC:-clang}
cxx=${CLACT_FUZZ_CXX:-clang++}
if ! command -v "$cc" >/dev/null || ! command -v "$cxx" >/dev/null; then
    echo "fuzz: $cc or $cxx not found (scripts/install-deps --test installs clang)" >&2
    exit 1
fi
targets="fuzz_npy fuzz_idx fuzz_cache_entry fuzz_cli_args"
build=build-fuzz
echo "fuzz: building the targets with $cc in $build"
cmake -S . -B "$build" -DCMAKE_C_COMPILER="$cc" -DCMAKE_CXX_COMPILER="$cxx" \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCLACT_BUILD_FUZZ=ON -DCLACT_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" -j2 --target fuzz_targets >/dev/null

# The cache target writes a file per input: tmpfs keeps that from being the bottleneck. The
# targets' own folders go under this run's scratch folder, so a target that stopped on a
# finding leaves nothing behind either.
scratch=${TMPDIR:-/tmp}
[ -d /dev/shm ] && [ -w /dev/shm ] && scratch=/dev/shm
work=$(mktemp -d "${TMPDIR:-/tmp}/clact-fuzz-run.XXXXXX")
scratch=$(mktemp -d "$scratch/clact-fuzz-scratch.XXXXXX")
trap 'rm -rf "$work" "$scratch"' EXIT
findings=0
for t in $targets; do
    corpus=$work/corpus-$t
    rm -rf "$build/findings/$t" # a finding from an earlier run is not this run's
    mkdir -p "$corpus" "$build/findings/$t"
    cp tests/fuzz/corpus/$t/* "$corpus/"
    log=$work/$t.log
    rc=0
    # ASan's quarantine of freed blocks (256 MB by default) is most of a target's RSS; 64 MB
    # still holds hundreds of runs' frees and leaves the 512 MB limit for real growth.
    TMPDIR=$scratch ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:quarantine_size_mb=64} \
        UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
        "$build/tests/fuzz/$t" -max_total_time="$seconds" -malloc_limit_mb=64 -rss_limit_mb=512 \
        -timeout=10 -print_final_stats=1 -artifact_prefix="$build/findings/$t/" \
        "$corpus" >"$log" 2>&1 || rc=$?
    runs=$(awk '/^stat::number_of_executed_units:/ {print $2}' "$log")
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 || true)
    rss=$(awk '/^stat::peak_rss_mb:/ {print $2}' "$log")
    if [ "$rc" -eq 0 ]; then
        echo "fuzz: $t: ${runs:-?} executions in ${seconds} s, ${cov:-cov: ?}, peak RSS ${rss:-?} MB, no finding"
    else
        findings=$((findings + 1))
        echo "fuzz: $t: FINDING (exit $rc) after ${runs:-?} executions; the report's end:"
        grep -v '^#[0-9]' "$log" | tail -40 | sed 's/^/    /'
        echo "fuzz: $t: the input is in $build/findings/$t/; rerun it with $build/tests/fuzz/$t FILE"
    fi
done
if [ "$findings" -ne 0 ]; then
    echo "fuzz: $findings of 4 targets found something" >&2
    exit 1
fi
echo "fuzz: no findings"
