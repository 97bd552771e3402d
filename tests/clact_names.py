# SPDX-License-Identifier: MIT
"""The library's lists, read from the shared library beside the clact command with ctypes, for
the scripted tests: so that a new op is tested without an edit to them."""
import ctypes
import os


def library_path(cli):
    """The libclact.so.0 next to cli, or CLACT_LIST_LIBRARY: memcheck.sh names the plain build's
    there when cli is ASan-built, whose library an uninstrumented python cannot load."""
    return os.environ.get("CLACT_LIST_LIBRARY") or os.path.join(
        os.path.dirname(os.path.abspath(cli)), "libclact.so.0")


def library_ops(cli):
    """clact_op_name(i) for i = 0, 1, ... until NULL, from the library (library_path)."""
    lib = ctypes.CDLL(library_path(cli))
    lib.clact_op_name.restype = ctypes.c_char_p
    lib.clact_op_name.argtypes = [ctypes.c_int]
    names, i = [], 0
    while lib.clact_op_name(i):
        names.append(lib.clact_op_name(i).decode())
        i += 1
    return names


def library_softmax_kinds(cli):
    """clact_softmax_kind_name(i) for i = 0, 1, ... until NULL: softmax, log_softmax, ..."""
    lib = ctypes.CDLL(library_path(cli))
    lib.clact_softmax_kind_name.restype = ctypes.c_char_p
    lib.clact_softmax_kind_name.argtypes = [ctypes.c_int]
    names, i = [], 0
    while lib.clact_softmax_kind_name(i):
        names.append(lib.clact_softmax_kind_name(i).decode())
        i += 1
    return names
