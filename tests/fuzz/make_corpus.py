#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Write the fuzz targets' seed corpus (tests/fuzz/corpus/<target>/): small valid and invalid
inputs of each kind. The corpus is committed; this script says how it was made and remakes it
(run with Debian's python3, which has NumPy):
    tests/fuzz/make_corpus.py [CACHE_SEED]
CACHE_SEED, the cache_seed program of the fuzz build (build-fuzz/tests/fuzz/cache_seed), makes
the disk cache entries through clact__disk_write itself; without it they are left as they are."""
import gzip
import io
import os
import struct
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def put(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def npy(array, version=None, fortran=False):
    buf = io.BytesIO()
    if fortran:
        array = np.asfortranarray(array)
    np.lib.format.write_array(buf, array, version=version)
    return buf.getvalue()


def npy_corpus():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3))
    forms = {
        "f4_v1": npy(x.astype("<f4")),
        "f2_v1": npy(x.astype("<f2")),
        "f8_v1": npy(x.astype("<f8")),
        "be_f4": npy(x.astype(">f4")),
        "i1": npy(np.arange(5, dtype="i1")),
        "u8": npy(np.arange(3, dtype="<u8")),
        "bool": npy(np.array([True, False])),
        "c8": npy(np.array([1 + 2j], dtype="<c8")),
        "scalar_0d": npy(np.array(1.5, "<f4")),
        "empty_0x3": npy(np.zeros((0, 3), "<f4")),
        "fortran": npy(x.astype("<f4"), fortran=True),
        "f4_v2": npy(x.astype("<f4"), version=(2, 0)),
        "f8_v3": npy(x.astype("<f8"), version=(3, 0)),
        "nd4": npy(np.ones((1, 2, 1, 2), "<f4")),
    }
    for name, data in forms.items():
        put("fuzz_npy", name + ".npy", data)
    good = forms["f4_v1"]
    put("fuzz_npy", "bad_magic.npy", b"\x93NUMPX" + good[6:])
    put("fuzz_npy", "bad_version.npy", good[:6] + b"\x04\x00" + good[8:])
    put("fuzz_npy", "truncated_data.npy", good[:-3])
    put("fuzz_npy", "trailing.npy", good + b"\x00")
    put("fuzz_npy", "truncated_header.npy", good[:40])
    # Headers that claim far more data than follows: the reader must not allocate the claim.
    for name, shape in (("claims_huge", b"(99999999999,)"),
                        ("claims_terabytes", b"(1000000000, 1000000000)")):
        hdr = b"{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + b", }"
        hdr += b" " * ((64 - (10 + len(hdr) + 1) % 64) % 64) + b"\n"
        put("fuzz_npy", name + ".npy",
            b"\x93NUMPY\x01\x00" + struct.pack("<H", len(hdr)) + hdr + b"\0" * 8)
    put("fuzz_npy", "no_shape.npy", b"\x93NUMPY\x01\x00\x20\x00{'descr': '<f4', }" + b" " * 12 + b"\n")


def idx(type_code, dims, payload):
    return bytes([0, 0, type_code, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + payload


def idx_corpus():
    # The first byte is the target's control byte: low 7 bits the item limit, top bit gzip here.
    images = idx(0x08, [3, 2, 2], bytes(range(12)))
    labels = idx(0x08, [3], bytes([1, 7, 9]))
    floats = idx(0x0D, [2, 2], struct.pack(">4f", 1.0, -2.5, 0.0, 3.25))
    forms = {
        "images_u8": b"\x00" + images,
        "images_u8_limit2": b"\x02" + images,
        "labels_u8": b"\x00" + labels,
        "f32": b"\x00" + floats,
        "i16": b"\x00" + idx(0x0B, [3], struct.pack(">3h", -1, 2, 300)),
        "i32_limit1": b"\x01" + idx(0x0C, [2, 1], struct.pack(">2i", -7, 1 << 20)),
        "f64": b"\x00" + idx(0x0E, [1], struct.pack(">d", 0.5)),
        "i8_zero_dim": b"\x00" + idx(0x09, [0, 5], b""),
        "images_gzip_here": b"\x80" + images,
        "images_gzip_file": b"\x00" + gzip.compress(images, mtime=0),
        "labels_gzip_file_limit1": b"\x01" + gzip.compress(labels, mtime=0),
        "bad_magic": b"\x00\x01\x02\x08\x01" + images[4:],
        "bad_type": b"\x00" + idx(0x0A, [1], b"\x00"),
        "nine_dims": b"\x00" + idx(0x08, [1] * 9, b"\x00"),
        "truncated": b"\x00" + images[:-2],
        "trailing": b"\x00" + images + b"\x00",
        "claims_huge": b"\x00" + idx(0x08, [0xFFFFFFFF, 0xFFFF], b"\x00" * 16),
        # Just under the reader's 1 GiB cap, with 16 bytes present: refused as truncated, after
        # allocating no more than the first step of its growing buffer.
        "claims_gigabyte": b"\x00" + idx(0x08, [(1 << 30) - 1], b"\x00" * 16),
        "claims_gigabyte_gzip": b"\x80" + idx(0x08, [(1 << 30) - 1], b"\x00" * 16),
        "gzip_bad_crc": b"\x00" + gzip.compress(images, mtime=0)[:-8] + b"\0" * 8,
        "gzip_truncated": b"\x00" + gzip.compress(images, mtime=0)[:-5],
    }
    for name, data in forms.items():
        put("fuzz_idx", name, data)


def cli_corpus():
    lines = {
        "relu": ["relu", "in.npy", "out.npy"],
        "gelu_tanh": ["gelu", "approximate=tanh", "x.npy", "y.npy"],
        "leaky_f16": ["leaky_relu", "negative_slope=0.1", "--dtype", "f16", "a.npy", "b.npy"],
        "elu_opts": ["--device=cpu", "--summary", "elu", "alpha=2", "a.npy", "b.npy"],
        "hardtanh": ["hardtanh", "min_val=-2", "max_val=2", "--dtype=bf16", "a", "b"],
        "threshold": ["threshold", "threshold=0.1", "value=20", "a", "b"],
        "softplus": ["softplus", "beta=2", "threshold=10", "a", "b"],
        "softmax": ["softmax", "dim=-1", "a", "b"],
        "log_softmax_bad_dim": ["log_softmax", "dim=x", "a", "b"],
        "rrelu_training": ["rrelu", "training=1", "seed=18446744073709551615", "a", "b"],
        "rrelu_seed_only": ["rrelu", "seed=3", "a", "b"],
        "prelu_file": ["prelu", "weight=w.npy", "--weight-grad", "dw.npy", "a", "b"],
        "unknown_option": ["relu", "--bogus", "a", "b"],
        "unknown_op": ["nosuch", "a", "b"],
        "missing_value": ["relu", "a", "b", "--dtype"],
        "twice": ["elu", "alpha=1", "alpha=2", "a", "b"],
        "spec_leaky": ["leaky_relu:negative_slope=0.1"],
        "spec_gelu": ["gelu:approximate=tanh", "celu:alpha=0.5", "rrelu:training=1:seed=1"],
        "spec_too_many": ["elu" + ":alpha=1" * 9],
        "newline_op": ["re\nlu", "a\tb", "c"],
        # The first finding: a line break in an activation spec made a two-line error.
        "regression_newline_spec": ["\n"],
    }
    for name, args in lines.items():
        put("fuzz_cli_args", name, b"\0".join(a.encode() for a in args))


def cache_corpus(cache_seed):
    import subprocess
    d = os.path.join(HERE, "corpus", "fuzz_cache_entry")
    os.makedirs(d, exist_ok=True)
    for size in (1, 64, 3000):
        subprocess.run([cache_seed, os.path.join(d, "good_%d" % size), str(size)], check=True)
    with open(os.path.join(d, "good_64"), "rb") as f:
        good = f.read()
    # The header: "CLACTBIN", u32 format, u32 key length, u64 payload length, u64 checksum.
    put("fuzz_cache_entry", "bad_checksum", good[:24] + bytes([good[24] ^ 1]) + good[25:])
    put("fuzz_cache_entry", "bad_payload_byte", good[:-1] + bytes([good[-1] ^ 0x80]))
    put("fuzz_cache_entry", "truncated", good[:-1])
    put("fuzz_cache_entry", "trailing", good + b"\0")
    put("fuzz_cache_entry", "bad_format", good[:8] + struct.pack("<I", 2) + good[12:])
    put("fuzz_cache_entry", "claims_huge", good[:16] + struct.pack("<Q", 1 << 62) + good[24:])
    put("fuzz_cache_entry", "header_only", good[:32])


def main():
    npy_corpus()
    idx_corpus()
    cli_corpus()
    if len(sys.argv) > 1:
        cache_corpus(sys.argv[1])
    return 0


if __name__ == "__main__":
    sys.exit(main())
