#!/bin/sh
# SPDX-License-Identifier: MIT
# Fetches, here, the Debian packages bench/gpu-check.sh needs on a GPU machine that has no package
# registry: CLBlast (the dense layer's GEMM; not installed there), Check and subunit (the test
# suite), pkgconf (the tests' CMake finds Check through it), zlib's headers and the OpenCL ICD
# loader and headers (in case the CUDA toolkit's are missing). They land in .debs/ (ignored by
# git), which the device tool carries: run(carry=[".debs"], command="bench/gpu-check.sh").
# Usage: bench/gpu-fetch-debs.sh [DIR]   (default: .debs in the repository root)
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-$root/.debs}
mkdir -p "$dir"
cd "$dir"
# amd64 whatever this machine is: the GPU machines are x86-64.
apt-get -o APT::Architecture=amd64 download \
    libclblast1 libclblast-dev check libsubunit0 libsubunit-dev pkgconf-bin libpkgconf3 \
    zlib1g-dev ocl-icd-libopencl1 ocl-icd-opencl-dev opencl-c-headers opencl-clhpp-headers
ls -l "$dir"
du -sh "$dir"
