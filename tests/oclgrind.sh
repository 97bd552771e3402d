#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The Check suites that launch kernels, on oclgrind's simulated GPU: a second OpenCL
# implementation, which presents itself as a GPU, so that the code paths clact takes only on GPUs
# (the work-group softmax, clact_softmax_group; the local-memory reductions of loss, stats and
# prelu; vector width 4) run in CI, under oclgrind's checks for out-of-bounds accesses and data
# races (--data-races) and for uses of uninitialised values (--uninitialized).
# Usage: tests/oclgrind.sh [BUILD_DIR]  (BUILD_DIR: an existing build with the tests, default
# build). Fails on any test failure and on any report in oclgrind's log (its exit status does not
# say). oclgrind interprets kernels about 1000 times slower than PoCL: the suites run at
# CLACT_TEST_QUICK=2 (tests/testutil.h: smaller sizes, every check kept), two at a time. About
# 3 to 5 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
tests=$build/tests/clact_tests
if ! command -v oclgrind >/dev/null; then
    echo "oclgrind: not installed (scripts/install-deps --test installs it)" >&2
    exit 1
fi
[ -x "$tests" ] || { echo "oclgrind: no $tests (build the tests first)" >&2; exit 1; }
seed=${CLACT_TEST_SEED:-$(od -An -N8 -tu8 /dev/urandom | tr -d ' ')}
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
echo "oclgrind: $(oclgrind --version | grep -m 1 .), seed $seed"

# The suites of tests/test_main.c that launch kernels (status's checks run on the device too),
# longest first so that the two lanes finish together. Every suite runs with --data-races; those
# not in no_uninitialized with --uninitialized too. oclgrind 21.10's uninitialised-value checks
# fail the others, each for a reason of oclgrind's:
#   softmax, f64: oclgrind crashes (SIGSEGV in Uninitialized::instructionExecuted);
#   glu_prelu: prelu's dx comes back with elements unwritten (the runs kernel's "dx and dw"
#     cases), which the same build writes without --uninitialized;
#   loss: cross-entropy marks a slot of clact's scratch buffer with clEnqueueFillBuffer on every
#     call (host/loss.c), and after a fill into part of a buffer oclgrind keeps no record of what
#     kernels write there (tests/testutil.c, host_fill): every later read of the scratch, all of it
#     written by clact's kernels, is reported;
#   dense: reports at clact's dense kernels' reads of what CLBlast's GEMM wrote (not traced
#     further; CLBlast's own copies and fills are likely the same fault).
suites="softmax backward f64 dense glu_prelu loss optim activation stats dtypes errors status"
no_uninitialized=" softmax f64 glu_prelu loss dense "

# One suite under oclgrind: its output and oclgrind's log in $logs, a line of its own at the end.
run_suite() {
    local s=$1 t0 rc=0 checks="--data-races --uninitialized"
    [ "${no_uninitialized/ $s /}" = "$no_uninitialized" ] || checks=--data-races
    t0=$(date +%s)
    # (In a subshell that does not exec oclgrind, whose stderr takes the shell's own line about a
    # crash: the summary below says it.)
    (CLACT_TEST_SUITES=$s CLACT_TEST_QUICK=2 CLACT_CACHE=0 CLACT_TEST_SEED=$seed \
        oclgrind $checks --log "$logs/$s.log" "$tests" >"$logs/$s.out" 2>&1
    exit $?) 2>/dev/null || rc=$?
    echo "$s $rc $(($(date +%s) - t0)) $checks" >"$logs/$s.status"
}

# Two lanes (oclgrind runs a launch's work-groups on every core, but most of a suite's time is one
# thread: building programs, small launches, the host's reference).
for s in $suites; do
    while [ "$(jobs -pr | wc -l)" -ge 2 ]; do
        wait -n
    done
    run_suite "$s" &
done
wait

# oclgrind's exit status does not say whether it reported anything: every report in its log
# starts a line with a capital letter (the details are indented).
fail=0
for s in $suites; do
    read -r name rc secs checks <"$logs/$s.status"
    reports=$(grep -c -E '^[A-Z]' "$logs/$s.log" || true)
    device=$(grep -c "device 'Oclgrind Simulator'" "$logs/$s.out" || true)
    summary=$(grep -E '^[0-9]+%: Checks' "$logs/$s.out" || echo "no summary (crashed?)")
    printf 'oclgrind: %-10s %4d s  %s  %s: %d reports\n' "$name" "$secs" "$summary" "$checks" \
        "$reports"
    # dense: at exit CLBlast's program cache (a static object) releases the programs it built
    # for clact's cl_context, which clact has released by then: legal OpenCL (a program keeps its
    # context), but oclgrind 21.10 has freed the context and aborts ("corrupted double-linked
    # list", in oclgrind::Program::~Program). Only that abort, after a clean summary, passes.
    if [ "$s" = dense ] && [ "$rc" = 134 ] && grep -q '^100%: Checks' "$logs/$s.out" &&
        [ "$(tail -n 1 "$logs/$s.out")" = "corrupted double-linked list" ]; then
        echo "oclgrind: dense: oclgrind's abort at exit (CLBlast's cached programs), known"
        rc=0
    fi
    if [ "$rc" != 0 ] || [ "$reports" != 0 ] || [ "$device" = 0 ]; then
        fail=1
        [ "$device" = 0 ] && echo "oclgrind: $s did not run on oclgrind's device"
        grep -E '^[^ ]+:[0-9]+:[EF]:' "$logs/$s.out" || tail -n 20 "$logs/$s.out"
        head -n 60 "$logs/$s.log"
    fi
done
if [ "$fail" != 0 ]; then
    echo "oclgrind: FAILED (repeat with CLACT_TEST_SEED=$seed)"
    exit 1
fi
echo "oclgrind: clean"
