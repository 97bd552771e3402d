#!/bin/sh
# SPDX-License-Identifier: MIT
# Install the built tree into a fresh prefix, then build an outside consumer against that copy
# both ways (CMake's find_package(clact CONFIG), and pkg-config's clact.pc) and run each, and
# import the installed Python binding from the prefix alone.
# Usage: tests/packaging.sh BUILD_DIR SOURCE_DIR PYTHON PYTHON_INSTALL_DIR
#   PYTHON_INSTALL_DIR: where the binding goes, relative to the prefix (CLACT_PYTHON_INSTALL_DIR);
#   empty when the build installs none under the prefix (CLACT_INSTALL_PYTHON=OFF, or absolute).
set -eu
build=$1
src=$2
python=$3
pydir=$4
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

if [ -z "$pydir" ]; then
    echo "packaging: installed copy found by CMake and by pkg-config, both consumers ran" \
         "(this build installs no Python binding under the prefix)"
    exit 0
fi

# The installed binding, as a user imports it: nothing points at the build tree (no
# CLACT_LIBRARY, no LD_LIBRARY_PATH, the working directory outside the sources), so it must find
# the installed library by itself. It runs an op on the device, and its OPS are the installed
# library's list, read here through ctypes.
(cd "$tmp" && env -u CLACT_LIBRARY -u LD_LIBRARY_PATH PYTHONPATH="$tmp/prefix/$pydir" \
    "$python" - "$tmp/prefix" "$libdir/libclact.so.0" <<'EOF'
import ctypes
import os
import sys

import numpy as np

import clact

prefix, library = (os.path.realpath(p) for p in sys.argv[1:3])


def under_prefix(path):
    return os.path.realpath(path).startswith(prefix + os.sep)


assert under_prefix(clact.__file__), f"imported {clact.__file__}, not the installed copy"
assert under_prefix(clact._lib._name), f"loaded {clact._lib._name}, not the installed library"
x = np.array([-2.0, -0.5, 0.0, 1.5, np.inf], dtype=np.float32)
with clact.Context() as ctx:
    y = ctx.forward("relu", x)
assert y.dtype == np.float32 and y.tolist() == [0.0, 0.0, 0.0, 1.5, np.inf], y
op_name = ctypes.CDLL(library).clact_op_name
op_name.restype, op_name.argtypes = ctypes.c_char_p, [ctypes.c_int]
ops = []
while op_name(len(ops)) is not None:
    ops.append(op_name(len(ops)).decode())
assert list(clact.OPS) == ops, (clact.OPS, ops)
print(f"packaging: {clact.__file__} ran relu on the device; OPS are the library's {len(ops)}")
EOF
)
echo "packaging: installed copy found by CMake, by pkg-config and by Python; all ran"
