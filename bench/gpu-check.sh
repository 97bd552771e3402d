#!/bin/bash
# SPDX-License-Identifier: MIT
# One prepared run of clact on a lent GPU machine (NVIDIA H100/H200: its OpenCL driver
# libnvidia-opencl.so.1, CMake, the CUDA toolkit, PyTorch with CUDA; no package registry, no
# internet), in about 5 minutes (9 at most): the OpenCL ICD, CLBlast and Check from carried Debian
# packages, the build, the Check suite, a probe of large-buffer fills, `clact bench` for every op
# and dtype at 16M and 64M, PyTorch CUDA on the same ops and the f16 conversions bit for bit,
# every stage under its own timeout,
# all output in one folder.
#
# Here, once: bench/gpu-fetch-debs.sh (the packages into .debs/, ignored by git). Then, with the
# device tool: run(carry=[".debs"], timeout_s=600, command="bench/gpu-check.sh").
# Without the NVIDIA driver (this machine, PoCL) the same script falls back to the default OpenCL
# device and PyTorch on the CPU, and says so; --dry-run prints the plan and runs nothing.
#
# Usage: bench/gpu-check.sh [--dry-run] [--out DIR] [--build-dir DIR] [--sizes LIST]
#                           [--suites LIST] [--ops LIST]
#   --out        where every log goes: gpu-check-out/ in the repository root, or with $OUT set (the
#                device tool, which brings back at most 8 files) a folder in $TMPDIR whose
#                contents are packed into $OUT/gpu-check.tar.gz after every stage, with
#                $OUT/summary.txt beside it, so that a run stopped at its limit keeps what it did
#   --build-dir  default build-gpu (an existing build there is reused: cmake and make are no-ops)
#   --sizes      default 16777216,67108864;  --ops: clact bench's default list (every op)
#   --suites     CLACT_TEST_SUITES for the Check suite (default: all of them)
# Stage time limits in seconds (environment): T_BUILD (100), T_CHECK (120), T_PROBE (45),
# T_BENCH (75 per size), T_VARIANTS (40, for each of two stages), T_PEER (100), T_F16 (90): 11.5
# minutes at most in all, past the device tool's 10 per call, so f16_paths (tests/f16_paths.py,
# the f16 conversions bit for bit) comes last, where a cut costs nothing else; on an H200 (2026-11-28, bench/RESULTS.md)
# the stages before it took 4, 103, -, 35 + 39, - and 81 s. PYTHON: the Python with torch and
# numpy (default python3).
# Exit status: 0 when every stage that ran passed (skipped stages are listed in summary.txt),
# 1 when a stage failed or timed out, 2 on a usage error.
set -u

root=$(cd "$(dirname "$0")/.." && pwd)
out=$root/gpu-check-out
bundle=
if [ -n "${OUT:-}" ]; then
    out=${TMPDIR:-/tmp}/clact-gpu-check
    bundle=$OUT
fi
build=$root/build-gpu
sizes=16777216,67108864
suites=
ops=
dry=0
while [ $# -gt 0 ]; do
    case $1 in
    --dry-run) dry=1 ;;
    --out) out=${2:?--out needs a folder}; shift ;;
    --build-dir) build=${2:?--build-dir needs a folder}; shift ;;
    --sizes) sizes=${2:?--sizes needs a list}; shift ;;
    --suites) suites=${2:?--suites needs a list}; shift ;;
    --ops) ops=${2:?--ops needs a list}; shift ;;
    *) echo "gpu-check: unknown argument '$1' (see the comment at the top)" >&2; exit 2 ;;
    esac
    shift
done
case $build in /*) ;; *) build=$root/$build ;; esac
T_BUILD=${T_BUILD:-100} T_CHECK=${T_CHECK:-120} T_PROBE=${T_PROBE:-45} T_BENCH=${T_BENCH:-75}
T_VARIANTS=${T_VARIANTS:-40} T_PEER=${T_PEER:-100} T_F16=${T_F16:-90}
[ -n "$bundle" ] && rm -rf "$out" # our own scratch folder: a reused machine starts it afresh
mkdir -p "$out" || exit 2
summary=$out/summary.txt
: >"$summary"
start=$(date +%s)
failed=0

note() { echo "gpu-check: $*" | tee -a "$summary"; }
# pack: the logs so far into the bundle folder (nothing without one).
pack() {
    [ -n "$bundle" ] && [ "$dry" = 0 ] || return 0
    tar -czf "$bundle/gpu-check.tar.gz.tmp" -C "$out" . 2>/dev/null &&
        mv "$bundle/gpu-check.tar.gz.tmp" "$bundle/gpu-check.tar.gz"
    cp "$summary" "$bundle/summary.txt" 2>/dev/null
    return 0
}
# stage NAME SECONDS COMMAND...: runs COMMAND under its limit, output to NAME.log (and here).
stage() {
    local name=$1 secs=$2 t0 rc
    shift 2
    if [ "$dry" = 1 ]; then
        note "would run $name (limit ${secs}s): $*"
        return 0
    fi
    t0=$(date +%s)
    timeout -k 10 "$secs" "$@" >"$out/$name.log" 2>&1
    rc=$?
    tail -n 12 "$out/$name.log"
    if [ $rc = 124 ] || [ $rc = 137 ]; then
        note "$name: TIMED OUT after ${secs}s (log: $name.log)"
        failed=1
    elif [ $rc != 0 ]; then
        note "$name: FAILED, exit status $rc, $(($(date +%s) - t0))s (log: $name.log)"
        failed=1
    else
        note "$name: ok, $(($(date +%s) - t0))s"
    fi
    pack
    return $rc
}

note "started $(date -u +%FT%TZ) in $root; output in $out"
{
    uname -a
    cat /etc/os-release
    nproc
    nvidia-smi 2>&1 || echo "nvidia-smi: not available"
    cmake --version | head -n 1
    cc --version | head -n 1
    echo "--- OpenCL libraries known to ldconfig"
    ldconfig -p | grep -i -e opencl -e libcuda
    echo "--- /etc/OpenCL/vendors"
    ls -l /etc/OpenCL/vendors/ && head -n 3 /etc/OpenCL/vendors/*
    echo "--- environment"
    env | grep -i -e cuda -e nvidia -e ocl -e opencl
    echo "--- NVIDIA OpenCL libraries on disk"
    find /usr/local/nvidia /usr/lib /usr/lib64 /usr/local/cuda/ -maxdepth 4 \
        \( -name 'libnvidia-opencl.so*' -o -name 'libOpenCL.so*' \) 2>/dev/null
} >"$out/machine.txt" 2>&1

# 1. The OpenCL ICD: the NVIDIA driver's library, registered in /etc/OpenCL/vendors or, when no
# file there names it, in a folder of ours given to the loader by OCL_ICD_VENDORS.
nvlib=
for d in $(ldconfig -p 2>/dev/null | awk '/libnvidia-opencl\.so\.1/ {print $NF}') \
    /usr/lib/x86_64-linux-gnu/libnvidia-opencl.so.1 /usr/lib64/libnvidia-opencl.so.1 \
    /usr/local/nvidia/lib64/libnvidia-opencl.so.1 /usr/lib/libnvidia-opencl.so.1 \
    $(find /usr/local/nvidia /usr/lib /usr/lib64 -maxdepth 4 -name 'libnvidia-opencl.so.1' 2>/dev/null); do
    [ -e "$d" ] && { nvlib=$d; break; }
done
device=
if [ -z "$nvlib" ]; then
    note "SKIPPED the NVIDIA OpenCL ICD: no libnvidia-opencl.so.1 here; using the default OpenCL device"
elif grep -qs libnvidia-opencl /etc/OpenCL/vendors/*.icd; then
    note "ICD: /etc/OpenCL/vendors already names $nvlib"
    device=gpu
else
    icd=${TMPDIR:-/tmp}/clact-gpu-icd
    mkdir -p "$icd"
    echo "$nvlib" >"$icd/nvidia.icd"
    export OCL_ICD_VENDORS=$icd
    note "ICD: wrote $icd/nvidia.icd ($nvlib); OCL_ICD_VENDORS=$OCL_ICD_VENDORS"
    device=gpu
fi
[ -n "$device" ] && export CLACT_DEVICE=$device

# 2. Carried packages (.debs/, from bench/gpu-fetch-debs.sh), unpacked into a prefix of ours;
# their pkg-config files are pointed at it.
prefix=${TMPDIR:-/tmp}/clact-gpu-prefix
if ls "$root"/.debs/*.deb >/dev/null 2>&1; then
    if [ "$dry" = 1 ]; then
        note "would unpack $(ls "$root"/.debs/*.deb | wc -l) packages from .debs into $prefix"
    else
        mkdir -p "$prefix"
        for f in "$root"/.debs/*.deb; do dpkg-deb -x "$f" "$prefix" || note "could not unpack $f"; done
        for pc in "$prefix"/usr/lib/x86_64-linux-gnu/pkgconfig/*.pc "$prefix"/usr/share/pkgconfig/*.pc; do
            [ -e "$pc" ] && sed -i "s|^prefix=/usr\$|prefix=$prefix/usr|" "$pc"
        done
        # A development link to a library of the machine's own (zlib1g-dev's libz.so ->
        # /lib/x86_64-linux-gnu/libz.so.1.2.13) dangles where that library has another version:
        # pointed at the machine's library of the same name.
        for l in "$prefix"/usr/lib/x86_64-linux-gnu/*.so; do
            [ -L "$l" ] && [ ! -e "$l" ] || continue
            base=$(basename "$l")
            sys=$(ldconfig -p | awk -v b="$base" 'index($1, b ".") == 1 && /x86-64/ {print $NF; exit}')
            [ -n "$sys" ] && ln -sf "$sys" "$l" && note "$base: the carried link dangled; now -> $sys"
        done
        note "unpacked $(ls "$root"/.debs/*.deb | wc -l) packages into $prefix"
    fi
    export CMAKE_PREFIX_PATH=$prefix/usr${CMAKE_PREFIX_PATH:+:$CMAKE_PREFIX_PATH}
    export LD_LIBRARY_PATH=$prefix/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
    export PKG_CONFIG_PATH=$prefix/usr/lib/x86_64-linux-gnu/pkgconfig:$prefix/usr/share/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
    export CPATH=$prefix/usr/include${CPATH:+:$CPATH}
    export LIBRARY_PATH=$prefix/usr/lib/x86_64-linux-gnu${LIBRARY_PATH:+:$LIBRARY_PATH}
    if ! command -v pkg-config >/dev/null && [ -x "$prefix/usr/bin/pkgconf" ]; then
        pkgconf_opt=-DPKG_CONFIG_EXECUTABLE=$prefix/usr/bin/pkgconf
    fi
else
    note "SKIPPED the carried packages: no .debs/*.deb (run bench/gpu-fetch-debs.sh here and carry .debs); using the system's"
fi

# 3. Build (Release), the library, the CLI and the tests.
jobs=$(nproc 2>/dev/null || echo 4)
stage build "$T_BUILD" bash -c "cmake -S '$root' -B '$build' -DCMAKE_BUILD_TYPE=Release ${pkgconf_opt:-} && make -C '$build' -j$jobs" ||
    { note "stopping: nothing to run without a build"; exit 1; }
[ "$dry" = 1 ] || { "$build/clact" devices >"$out/devices.txt" 2>&1; cat "$out/devices.txt"; }
pack

# 4. The Check suites on the device (CLACT_DEVICE=gpu where the NVIDIA ICD is there), each suite
# in a process of its own, as many at once as there are cores: one after another they take longer
# than the stage's limit (they check against long-double references on the host). One log per
# suite, check_SUITE.log; the suite names are test_main.c's (or --suites).
if [ "$dry" = 1 ] || [ -x "$build/tests/clact_tests" ]; then
    [ -n "$suites" ] || suites=$(grep -o '{"[a-z0-9_]*", [a-z0-9_]*_suite}' "$root/tests/test_main.c" |
        sed 's/{"\([a-z0-9_]*\)".*/\1/' | paste -sd, -)
    export GPU_CHECK_TESTS=$build/tests/clact_tests GPU_CHECK_OUT=$out
    stage check "$T_CHECK" bash -c 'tr , "\n" <<<"$0" | xargs -P "$1" -I{} sh -c \
        "CLACT_TEST_SUITES={} \"\$GPU_CHECK_TESTS\" >\"\$GPU_CHECK_OUT/check_{}.log\" 2>&1 && echo suite {}: ok || { echo suite {}: FAILED; tail -n 5 \"\$GPU_CHECK_OUT/check_{}.log\"; exit 1; }"' \
        "$suites" "$jobs"
else
    note "SKIPPED the Check suite: $build/tests/clact_tests was not built (Check not found)"
fi

# 4b. The fill probe (bench/gpu-fill-probe.c): whether the driver still faults on narrow fills
# near the top of a large buffer, and clact's ops there; a minute at most.
if [ "$dry" = 1 ] || [ -e "$build/libclact.so" ]; then
    stage fill_probe "$T_PROBE" bash -c "cc -O1 -I'$root/include' '$root/bench/gpu-fill-probe.c' \
        -o '$build/gpu-fill-probe' -L'$build' -lclact -lOpenCL -Wl,-rpath,'$build' && '$build/gpu-fill-probe'"
fi

# 5. clact bench, every op (or --ops) in every dtype, one stage per size so that a slow size
# cannot take the next one's time; CSV rows are written as they are measured, so a stage that
# runs out of time keeps what it measured. --quick: shorter calibration.
IFS=, read -r -a size_list <<<"$sizes"
for n in "${size_list[@]}"; do
    stage "bench_$n" "$T_BENCH" "$build/clact" bench --quick --dtype f32,f16,bf16,f64 --sizes "$n" \
        --format csv ${ops:+--ops "$ops"}
    [ -e "$out/bench_$n.log" ] && grep -v '^clact: ' "$out/bench_$n.log" >"$out/bench_$n.csv"
    pack
done

# 5b. The f16 ops again at the largest size with the integer conversions (-DCLACT_HALF_SOFTWARE)
# in place of vload_half, to compare with their rows above: the A/B of kernels/prelude.cl's
# default on this device.
stage bench_f16_software "$T_VARIANTS" env CLACT_BUILD_OPTIONS=-DCLACT_HALF_SOFTWARE \
    "$build/clact" bench --quick --dtype f16 --sizes "${size_list[${#size_list[@]}-1]}" \
    --format csv --ops relu,sigmoid,gelu,tanh,relu_backward,gelu_backward,softmax_4096
[ -e "$out/bench_f16_software.log" ] &&
    grep -v '^clact: ' "$out/bench_f16_software.log" >"$out/bench_f16_software.csv"
pack

# 5c. The 16-bit lookup tables (host/table.c), which the library uses on CPU devices only:
# forced here on the transcendental ops at the largest size, to compare with their rows above
# (whether a GPU's caches make the lookup beat its arithmetic).
stage bench_tables "$T_VARIANTS" env CLACT_TABLES=1 \
    "$build/clact" bench --quick --dtype f16,bf16 --sizes "${size_list[${#size_list[@]}-1]}" \
    --format csv --ops sigmoid,gelu,gelu_tanh,tanh,silu,softplus
[ -e "$out/bench_tables.log" ] && grep -v '^clact: ' "$out/bench_tables.log" >"$out/bench_tables.csv"
pack

# 6. PyTorch on the same ops: on CUDA where it has a device, else on the CPU (and said so).
py=${PYTHON:-$(command -v python3)}
if [ -z "$py" ] || ! "$py" -c 'import torch, numpy' 2>/dev/null; then
    note "SKIPPED the PyTorch peer: no python3 with torch and numpy"
else
    if "$py" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
        tdev=cuda
    else
        tdev=cpu
        note "SKIPPED the PyTorch CUDA peer: torch.cuda is not available; running PyTorch on the CPU instead"
    fi
    peer_ops=${ops:-}
    PYTHONUNBUFFERED=1 stage peer_torch "$T_PEER" "$py" "$root/bench/peer_torch.py" --quick --device "$tdev" \
        --sizes "$sizes" --library "$build/libclact.so.0" ${peer_ops:+--ops "$peer_ops"}
fi

# 7. f16's conversions bit for bit, NaN bits included (tests/f16_paths.py: the default vload_half /
# vstore_half path against the integer one on all 65536 halves, every op; the Check suite compares
# values, not NaN bit patterns, and NVIDIA's conversion drops a NaN's sign). Its runs go out as
# many at once as there are cores.
if [ -z "$py" ] || ! "$py" -c 'import numpy' 2>/dev/null; then
    note "SKIPPED f16_paths: no python3 with numpy"
else
    stage f16_paths "$T_F16" "$py" "$root/tests/f16_paths.py" "$build/clact"
fi
pack

note "finished in $(($(date +%s) - start))s; $([ $failed = 0 ] && echo 'every stage that ran passed' || echo 'SOME STAGE FAILED')"
pack
exit $failed
