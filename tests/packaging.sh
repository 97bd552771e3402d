#!/bin/sh
# SPDX-License-Identifier: MIT
# Install the built tree into a fresh prefix, then build an outside consumer against that copy
# both ways (CMake's find_package(clact CONFIG), and pkg-config's clact.pc) and run each.
# Usage: tests/packaging.sh BUILD_DIR SOURCE_DIR
set -eu
build=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
test -x "$tmp/prefix/bin/clact"
test -f "$tmp/prefix/include/clact/clact.h"

cmake -S "$src/tests/consumer" -B "$tmp/cmake-build" -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
cmake --build "$tmp/cmake-build" >/dev/null
libdir=$(dirname "$(find "$tmp/prefix" -name 'libclact.so' | head -n 1)")
LD_LIBRARY_PATH="$libdir" "$tmp/cmake-build/consumer"

pcdir=$(dirname "$(find "$tmp/prefix" -name clact.pc | head -n 1)")
# shellcheck disable=SC2046 # word splitting of pkg-config's flags is intended
cc -o "$tmp/pc-consumer" "$src/tests/consumer/consumer.c" \
    $(PKG_CONFIG_PATH="$pcdir" pkg-config --cflags --libs clact)
LD_LIBRARY_PATH="$libdir" "$tmp/pc-consumer"
"$tmp/prefix/bin/clact" --version # its RPATH finds the library
echo "packaging: installed copy found by CMake and by pkg-config, both consumers ran"
