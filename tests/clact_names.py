# SPDX-License-Identifier: MIT
"""The library's lists, read from the shared library beside the clact command with ctypes, for
the scripted tests: so that a new op is tested without an edit to them."""
import ctypes
import os


def library_ops(cli):
    """clact_op_name(i) for i = 0, 1, ... until NULL, from the libclact.so.0 next to cli."""
    lib = ctypes.CDLL(os.path.join(os.path.dirname(os.path.abspath(cli)), "libclact.so.0"))
    lib.clact_op_name.restype = ctypes.c_char_p
    lib.clact_op_name.argtypes = [ctypes.c_int]
    names, i = [], 0
    while lib.clact_op_name(i):
        names.append(lib.clact_op_name(i).decode())
        i += 1
    return names
