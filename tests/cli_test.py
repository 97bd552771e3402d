#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The clact command: success paths, and every kind of bad input giving exit 2, one stderr
line starting 'clact: ' that names the problem, and no output file left behind.
Usage: cli_test.py path/to/clact"""
import ctypes
import json
import os
import re
import struct
import subprocess
import sys
import tempfile

import numpy as np

import philox_ref  # tests/philox_ref.py: rrelu's training slopes, computed independently
from clact_names import library_path  # tests/clact_names.py, beside this script

CLACT = sys.argv[1]
passed = failed = 0


def run(*args, env=None):
    e = dict(os.environ)
    if env:
        e.update(env)
    return subprocess.run([CLACT, *args], capture_output=True, text=True, env=e, timeout=120)


def check(name, cond, detail=""):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print(f"FAIL {name}: {detail}")


def expect_error(name, args, word, code=2, out=None, env=None):
    r = run(*args, env=env)
    lines = r.stderr.strip().splitlines()
    ok = (r.returncode == code and len(lines) == 1 and lines[0].startswith("clact: ")
          and word.lower() in lines[0].lower())
    check(name, ok, f"exit {r.returncode}, stderr {r.stderr!r}, want exit {code} and '{word}'")
    if out is not None:
        base = os.path.basename(out)
        leftovers = [f for f in os.listdir(os.path.dirname(out))
                     if f == base or f.startswith(base + ".tmp")]
        check(name + " (no output file)", not leftovers, f"left behind: {leftovers}")


# The library next to the CLI, asked through ctypes for its lists, so that the CLI's help and
# messages are compared against the library rather than against a copy of its lists
# (tests/clact_names.py says where it is found).
LIB = ctypes.CDLL(library_path(CLACT))


class Activation(ctypes.Structure):
    # clact_activation (python/tests/test_clact.py checks the binding's copy against the C layout)
    _fields_ = [("op", ctypes.c_int), ("param", ctypes.c_double * 2), ("training", ctypes.c_int),
                ("seed", ctypes.c_ulonglong)]


INT = ctypes.c_int
for fn, restype, argtypes in [("clact_op_name", ctypes.c_char_p, [INT]),
                              ("clact_dtype_name", ctypes.c_char_p, [INT]),
                              ("clact_softmax_kind_name", ctypes.c_char_p, [INT]),
                              ("clact_op_param_count", INT, [INT]),
                              ("clact_op_param_name", ctypes.c_char_p, [INT, INT]),
                              ("clact_activation_default", Activation, [INT])]:
    getattr(LIB, fn).restype = restype
    getattr(LIB, fn).argtypes = argtypes


def library_names(fn):
    """fn(0), fn(1), ... until it returns NULL."""
    names = []
    while len(names) < 1000 and (name := getattr(LIB, fn)(len(names))) is not None:
        names.append(name.decode())
    return names


OPS = library_names("clact_op_name")
DTYPES = library_names("clact_dtype_name")
KINDS = library_names("clact_softmax_kind_name")


def listed(name, text):
    """name as an item of a list in text: after a space, a comma or a line start, and followed
    by one of them or by its parameters (so 'tanh' in 'approximate=none|tanh' does not count)."""
    return re.search(rf"(?:^|[\s,]){re.escape(name)}(?=[\s,(]|$)", text, re.M) is not None


def names_every_dtype(text):
    return all(re.search(rf"\b{dt}\b", text) for dt in DTYPES)


with tempfile.TemporaryDirectory() as d:
    p = lambda name: os.path.join(d, name)
    x = np.linspace(-5, 5, 60, dtype=np.float32).reshape(3, 4, 5)
    np.save(p("x.npy"), x)

    # Success: shape and dtype kept, values right, --summary prints one line.
    r = run("apply", "relu", p("x.npy"), p("y.npy"))
    check("apply relu", r.returncode == 0 and r.stdout == "" and r.stderr == "", r.stderr)
    y = np.load(p("y.npy"))
    check("relu shape", y.shape == (3, 4, 5) and y.dtype == np.float32, str(y.shape))
    check("relu values", np.array_equal(y, np.maximum(x, 0)), "")
    r = run("apply", "softplus", "beta=2", "threshold=10", "--summary", p("x.npy"), p("y.npy"))
    check("summary", r.returncode == 0 and r.stdout.count("\n") == 1 and "softplus" in r.stdout,
          r.stdout + r.stderr)
    r = run("apply", "gelu", "approximate=tanh", "--device", "cpu", p("x.npy"), p("y.npy"))
    check("gelu tanh on cpu", r.returncode == 0, r.stderr)
    # In place on the same file, a 0-d array and an empty one.
    np.save(p("s.npy"), np.float32(-2.0))
    r = run("apply", "relu", p("s.npy"), p("s.npy"))
    check("0-d in place", r.returncode == 0 and np.load(p("s.npy")).shape == ()
          and np.load(p("s.npy")) == 0, r.stderr)
    np.save(p("e.npy"), np.zeros((0, 7), np.float32))
    r = run("apply", "tanh", p("e.npy"), p("e_out.npy"))
    check("empty", r.returncode == 0 and np.load(p("e_out.npy")).shape == (0, 7), r.stderr)

    # f16 files stay f16; --dtype bf16 on an f32 file computes with bf16 storage and writes the
    # bf16 values as f32 (round to nearest even: 1.00390625 is a tie, to even 1.0; the values
    # are what torch.tensor(v).bfloat16().float() gives).
    np.save(p("h.npy"), np.array([-2, -0.5, 0, 1.5, 65504, np.inf, np.nan], np.float16))
    r = run("apply", "relu", p("h.npy"), p("ho.npy"))
    ho = np.load(p("ho.npy")) if r.returncode == 0 else None
    check("f16 relu", ho is not None and ho.dtype == np.float16 and np.array_equal(
        ho[:6], np.array([0, 0, 0, 1.5, 65504, np.inf], np.float16)) and np.isnan(ho[6]), r.stderr)
    np.save(p("b.npy"), np.array([1.00390625, 1.01171875, -3.0, 3e38], np.float32))
    r = run("apply", "relu", "--dtype", "bf16", p("b.npy"), p("bo.npy"))
    bo = np.load(p("bo.npy")) if r.returncode == 0 else None
    check("bf16 storage", bo is not None and bo.dtype == np.float32 and
          bo.tolist() == [1.0, 1.015625, 0.0, 3.00405527047391e+38], f"{bo} {r.stderr}")
    r = run("apply", "sigmoid", "--dtype=f16", p("b.npy"), p("bo.npy"))
    check("f16 storage of f32 file", r.returncode == 0 and np.load(p("bo.npy")).dtype == np.float32
          and np.load(p("bo.npy"))[3] == 1.0, r.stderr)

    out = p("out.npy")
    # The softmax family: dim is required and range-checked against the array.
    r = run("apply", "softmax", "dim=1", p("x.npy"), p("sm.npy"))
    sm = np.load(p("sm.npy")) if r.returncode == 0 else None
    check("softmax dim=1", sm is not None and sm.shape == x.shape
          and np.allclose(sm.sum(axis=1), 1, atol=1e-5), r.stderr)
    r = run("apply", "log_softmax", "dim=-1", p("s.npy"), p("ls.npy"))
    check("log_softmax 0-d", r.returncode == 0 and np.load(p("ls.npy")) == 0, r.stderr)
    expect_error("softmax no dim", ["apply", "softmax", p("x.npy"), out], "dim=", out=out)
    expect_error("softmax dim range", ["apply", "softmin", "dim=3", p("x.npy"), out], "out of range", out=out)
    expect_error("softmax dim -4", ["apply", "softmin", "dim=-4", p("x.npy"), out], "out of range", out=out)
    expect_error("softmax dim text", ["apply", "softmax", "dim=one", p("x.npy"), out], "integer", out=out)
    expect_error("softmax other param", ["apply", "softmax", "dim=0", "axis=1", p("x.npy"), out], "axis", out=out)

    # bench: a tiny run in every format (the figures themselves are not tested, only that the
    # benchmark runs and reports every op it was asked for).
    r = run("bench", "--ops", "relu,softmax_64", "--sizes", "4096", "--format", "json")
    try:
        res = json.loads(r.stdout)["results"]
        check("bench json", r.returncode == 0 and [x["op"] for x in res] == ["relu", "softmax_64"]
              and all(x["GB_s"] > 0 and x["median_ms"] > 0 for x in res), r.stdout + r.stderr)
    except (ValueError, KeyError) as e:
        check("bench json", False, f"{e}: {r.stdout!r} {r.stderr!r}")
    r = run("bench", "--ops", "gelu", "--sizes", "4K", "--format", "csv")
    check("bench csv", r.returncode == 0 and r.stdout.splitlines()[0].startswith("op,dtype")
          and r.stdout.splitlines()[1].startswith("gelu,f32,4096,"), r.stdout + r.stderr)
    expect_error("bench bad op", ["bench", "--ops", "swish"], "swish")
    expect_error("bench bad size", ["bench", "--sizes", "12x"], "12x")
    expect_error("bench bad row", ["bench", "--ops", "softmax_x"], "softmax_x")
    expect_error("bench bad format", ["bench", "--format", "xml"], "xml")
    expect_error("bench dtype", ["bench", "--dtype", "f128"], "f128")
    expect_error("bench dtype f17", ["bench", "--dtype", "f17"], "f17")
    r = run("bench", "--dtype", "f17")
    check("bench dtype f17 names the dtypes", names_every_dtype(r.stderr), r.stderr)
    expect_error("bench row 0", ["bench", "--ops", "softmax_0"], "softmax_0")
    expect_error("bench row negative", ["bench", "--ops", "softmin_-64"], "softmin_-64")
    expect_error("bench kind without row", ["bench", "--ops", "softmax"], "softmax_N")
    expect_error("bench op too long", ["bench", "--ops", "relu" * 13], "too long")
    # KIND_N for every softmax kind (softmin_N was refused), one row each.
    r = run("bench", "--ops", "softmin_64", "--sizes", "4096", "--quick", "--format", "csv")
    rows = r.stdout.splitlines()[1:]
    check("bench softmin", r.returncode == 0 and len(rows) == 1
          and rows[0].startswith("softmin_64,f32,4096,"), r.stdout + r.stderr)
    kinds_n = [k + "_64" for k in KINDS]
    r = run("bench", "--ops", ",".join(kinds_n), "--sizes", "4096", "--quick", "--format", "csv")
    check("bench every softmax kind", r.returncode == 0
          and [l.split(",")[0] for l in r.stdout.splitlines()[1:]] == kinds_n, r.stdout + r.stderr)
    # The default op list: every activation of the library, every backward, then softmax rows
    # (32768 is longer than 4096 elements, so it is skipped with a line on stderr), then the
    # MLP's dense layers.
    r = run("bench", "--sizes", "4096", "--quick", "--format", "csv")
    dense = ["dense_relu_128x784x256", "dense_relu_128x784x256_backward",
             "dense_linear_128x256x10", "dense_linear_128x256x10_backward"]
    # Every op of the library, forward then backward: threshold with SEMANTICS.md's parameters
    # (it has no defaults), rrelu also in training mode, glu over rows of the size.
    def bench_rows(suffix):
        rows = []
        for op in OPS:
            name = op + suffix
            rows.append(name + ":threshold=0.1:value=20" if op == "threshold" else name)
            if op == "rrelu":
                rows.append(name + ":training=1")
        return rows
    check("bench default ops", r.returncode == 0
          and [l.split(",")[0] for l in r.stdout.splitlines()[1:]]
          == bench_rows("") + bench_rows("_backward") + ["softmax_1000", "softmax_4096"] + dense
          and "softmax_32768 skipped" in r.stderr, r.stdout + r.stderr)
    r = run("bench", "--ops", "relu", "--sizes", "4K", "--dtype", "f64,f32", "--format", "csv",
            env={"CLACT_NO_FP64": "1"})
    check("bench without fp64 skips f64", r.returncode == 0 and "skipped" in r.stderr
          and "cl_khr_fp64" in r.stderr and r.stdout.splitlines()[1].startswith("relu,f32,"),
          r.stdout + r.stderr)
    r = run("bench", "--ops", "relu", "--sizes", "4096", "--dtype", "f16,bf16", "--format", "csv")
    check("bench dtypes", r.returncode == 0 and [l.split(",")[1] for l in r.stdout.splitlines()[1:]]
          == ["f16", "bf16"], r.stdout + r.stderr)
    r = run("bench", "--ops", "gelu,softmax_1000", "--sizes", "4096", "--dtype", "f64", "--format",
            "csv")
    check("bench f64", r.returncode == 0 and [l.split(",")[1] for l in r.stdout.splitlines()[1:]]
          == ["f64", "f64"], r.stdout + r.stderr)

    # CLACT_VERBOSE=1: one line per op; a fresh cache directory: compiled, then loaded.
    cdir = p("cache")
    lines = []
    for _ in range(2):
        r = run("apply", "gelu", p("x.npy"), p("yv.npy"),
                env={"CLACT_VERBOSE": "1", "CLACT_CACHE_DIR": cdir})
        lines.append(r.stderr)
    check("verbose miss", r.returncode == 0 and lines[0].startswith("clact: verbose: gelu f32 (60)")
          and "compiled" in lines[0] and "device" in lines[0] and lines[0].count("\n") == 1,
          lines[0])
    check("verbose hit", "loaded from the disk cache" in lines[1] and "device" in lines[1], lines[1])
    check("cache dir 0700", oct(os.stat(cdir).st_mode & 0o777) == "0o700", oct(os.stat(cdir).st_mode))

    # f16 and bf16 forward on a CPU device: the transcendental ops go through a 16-bit lookup
    # table from 2^18 elements (built on the first such call), the others and smaller calls
    # through their kernels; CLACT_TABLES=0 turns the tables off, and any other value is refused.
    devs = json.loads(run("devices", "--json").stdout)["devices"]
    cpu = any(d["default"] and d["type"] == "cpu" for d in devs)
    np.save(p("h.npy"), np.linspace(-8, 8, 1 << 18).astype(np.float16))
    np.save(p("hs.npy"), np.linspace(-8, 8, 1000).astype(np.float16))
    def verbose(*args, tables=None):
        env = {"CLACT_VERBOSE": "1"}
        if tables is not None:
            env["CLACT_TABLES"] = tables
        r = run("apply", *args, p("yt.npy"), env=env)
        return r.returncode, r.stderr
    rc, err = verbose("sigmoid", "--dtype", "f16", p("h.npy"))
    check("table built", rc == 0 and ("16-bit table built" in err) == cpu, err)
    y_table = np.load(p("yt.npy"))
    rc, err = verbose("sigmoid", "--dtype", "f16", p("h.npy"), tables="0")
    check("tables off", rc == 0 and "table" not in err
          and np.array_equal(np.load(p("yt.npy")).view(np.uint16), y_table.view(np.uint16)), err)
    rc, err = verbose("relu", "--dtype", "bf16", p("h.npy"))
    check("no table for relu", rc == 0 and "table" not in err, err)
    rc, err = verbose("gelu", "--dtype", "bf16", p("hs.npy"))
    check("no table for 1000 elements", rc == 0 and "table" not in err, err)
    rc, err = verbose("gelu", "--dtype", "bf16", p("hs.npy"), tables="1")
    check("table forced", rc == 0 and "16-bit table built" in err, err)
    expect_error("tables bad value", ["apply", "relu", p("x.npy"), out], "CLACT_TABLES", code=1,
                 out=out, env={"CLACT_TABLES": "2"})

    # devices, in both forms.
    r = run("devices")
    check("devices", r.returncode == 0 and "*" in r.stdout, r.stdout + r.stderr)
    r = run("devices", "--json")
    try:
        devs = json.loads(r.stdout)["devices"]
        check("devices --json", r.returncode == 0 and sum(d["default"] for d in devs) == 1
              and all({"spec", "name", "type", "fp64", "fp16", "compute_units"} <= d.keys()
                      for d in devs), r.stdout)
    except (ValueError, KeyError) as e:
        check("devices --json", False, f"{e}: {r.stdout!r}")
    expect_error("devices bad arg", ["devices", "--yaml"], "--yaml")

    # --help is made from the library's lists: every op with its parameters and their defaults,
    # every softmax kind with dim=, every dtype, and the bench command.
    r = run("--help")
    h = r.stdout
    check("help", r.returncode == 0 and "clact bench" in h and "--ops" in h and "dim=" in h,
          h + r.stderr)
    check("help lists every op", len(OPS) >= 10 and all(listed(op, h) for op in OPS),
          f"missing: {[op for op in OPS if not listed(op, h)]}")
    for i, op in enumerate(OPS):
        m = re.search(rf"(?:^|[\s,]){re.escape(op)} \(([^)]*)\)", h, re.M)
        given = dict(kv.split("=", 1) for kv in m.group(1).split(", ") if "=" in kv) if m else {}
        default = LIB.clact_activation_default(i)
        want = {LIB.clact_op_param_name(i, k).decode(): default.param[k]
                for k in range(LIB.clact_op_param_count(i))}
        # A NaN default is a parameter without one (threshold's): the help says "required".
        # Others are written with the digits that read back as the same double.
        check("help defaults " + op, all(
            k in given and (given[k] == "required" if v != v else float(given[k]) == v)
            for k, v in want.items()), f"want {want}, help {given}")
    check("help lists every softmax kind with dim=", len(KINDS) == 3 and all(
        re.search(rf"(?:^|[\s,]){k} \(dim=D\)", h, re.M) for k in KINDS), h)
    check("help lists every dtype", names_every_dtype(h), h)

    # Usage errors.
    out = p("out.npy")
    expect_error("no args", ["apply"], "expected", out=out)
    expect_error("unknown command", ["frobnicate"], "frobnicate")
    expect_error("unknown op", ["apply", "swish", p("x.npy"), out], "swish", out=out)
    # Control bytes in what the user typed are shown escaped: the error stays one line (found
    # by tests/fuzz/fuzz_cli_args: a line break in an argument made a two-line error).
    expect_error("op with a line break", ["apply", "re\nlu", p("x.npy"), out], "'re\\nlu'", out=out)
    expect_error("dtype with a tab", ["apply", "relu", "--dtype", "f\t3", p("x.npy"), out],
                 "'f\\t3'", out=out)
    expect_error("act spec with an escape", ["train", "--act", "gelu:approximate=x\x1b[2J"],
                 "'x\\x1b[2J'")
    expect_error("unknown param", ["apply", "elu", "beta=2", p("x.npy"), out], "beta", out=out)
    expect_error("param of another op", ["apply", "relu", "alpha=1", p("x.npy"), out], "alpha", out=out)
    expect_error("bad value", ["apply", "elu", "alpha=abc", p("x.npy"), out], "abc", out=out)
    expect_error("empty value", ["apply", "elu", "alpha=", p("x.npy"), out], "alpha", out=out)
    expect_error("nan value", ["apply", "elu", "alpha=nan", p("x.npy"), out], "nan", out=out)
    expect_error("zero beta", ["apply", "softplus", "beta=0", p("x.npy"), out], "beta", out=out)
    expect_error("twice", ["apply", "elu", "alpha=1", "alpha=2", p("x.npy"), out], "twice", out=out)
    expect_error("approximate", ["apply", "gelu", "approximate=erf", p("x.npy"), out], "erf", out=out)
    expect_error("not name=value", ["apply", "elu", "alpha", p("x.npy"), out], "alpha", out=out)
    expect_error("unknown option", ["apply", "relu", "--fast", p("x.npy"), out], "--fast", out=out)
    expect_error("dtype f64 without fp64", ["apply", "relu", "--dtype", "f64", p("x.npy"), out],
                 "cl_khr_fp64", out=out, env={"CLACT_NO_FP64": "1"})
    expect_error("dtype unknown", ["apply", "relu", "--dtype", "int8", p("x.npy"), out], "int8", out=out)
    r = run("apply", "relu", "--dtype", "int8", p("x.npy"), out)
    check("dtype unknown names the dtypes", names_every_dtype(r.stderr), r.stderr)
    expect_error("device none", ["apply", "relu", "--device", "nothing-like-this", p("x.npy"), out],
                 "nothing-like-this", out=out)
    expect_error("device env", ["apply", "relu", p("x.npy"), out], "CLACT_DEVICE", out=out,
                 env={"CLACT_DEVICE": "nothing-like-this"})

    # A kernel build that fails (here: an option the compiler rejects) after the input is on its
    # way to the device: a runtime error, and the upload finishes before the CLI frees the
    # input (the write is asynchronous; freeing under it crashed the CLI). 2M elements, so that
    # the upload is still running when the op fails.
    np.save(p("big.npy"), np.ones(1 << 21, dtype=np.float32))
    for op in (["softmax", "dim=0"], ["relu"]):
        expect_error("build failure " + op[0], ["apply", *op, p("big.npy"), out], "BUILD_FAILED",
                     code=1, out=out, env={"CLACT_BUILD_OPTIONS": "-no-such-option",
                                           "CLACT_CACHE_DIR": p("cache-bad-options")})

    # Input errors.
    expect_error("missing file", ["apply", "relu", p("nope.npy"), out], "nope.npy", out=out)
    open(p("text.npy"), "w").write("hello, not numpy\n")
    expect_error("not npy", ["apply", "relu", p("text.npy"), out], "magic", out=out)
    raw = open(p("x.npy"), "rb").read()
    open(p("trunc.npy"), "wb").write(raw[:-7])
    expect_error("truncated", ["apply", "relu", p("trunc.npy"), out], "truncated", out=out)
    open(p("trunch.npy"), "wb").write(raw[:30])
    expect_error("truncated header", ["apply", "relu", p("trunch.npy"), out], "truncated", out=out)
    # f64: '<f8' files in and out; --dtype between f32 and f64 both ways.
    x8 = np.concatenate([np.linspace(-8, 8, 59), [1e-310]]).reshape(3, 4, 5)
    np.save(p("f8.npy"), x8)
    r = run("apply", "gelu", p("f8.npy"), p("f8o.npy"))
    f8o = np.load(p("f8o.npy")) if r.returncode == 0 else None
    # GELU, 0.5 x erfc(-x / sqrt 2) in double (accurate to 1e-14 on [-8, 8]: the rounding of
    # -x / sqrt 2 costs it 2 t^2 ulp in the tail): every value within 2e-14 relative.
    from math import erfc, sqrt
    want = np.array([0.5 * v * erfc(-v / sqrt(2)) for v in x8.ravel()]).reshape(x8.shape)
    check("f64 gelu", f8o is not None and f8o.dtype == np.float64 and f8o.shape == x8.shape
          and np.all(np.abs(f8o - want) <= 2e-14 * np.abs(want)), r.stderr)
    r = run("apply", "sigmoid", "--dtype", "f64", p("x.npy"), p("x64o.npy"))
    o = np.load(p("x64o.npy")) if r.returncode == 0 else None
    check("f32 file, --dtype f64", o is not None and o.dtype == np.float32 and np.all(
        np.abs(o - 1 / (1 + np.exp(-x.astype(np.float64)))) <= 6e-8 * o), r.stderr)
    r = run("apply", "relu", "--dtype", "f32", p("f8.npy"), p("f8r.npy"))
    o = np.load(p("f8r.npy")) if r.returncode == 0 else None
    check("f64 file, --dtype f32", o is not None and o.dtype == np.float64 and np.array_equal(
        o, np.maximum(x8.astype(np.float32), 0).astype(np.float64)), r.stderr)
    r = run("apply", "relu", "--dtype", "f16", p("f8.npy"), p("f8h.npy"))
    o = np.load(p("f8h.npy")) if r.returncode == 0 else None
    check("f64 file, --dtype f16", o is not None and np.array_equal(
        o, np.maximum(x8.astype(np.float16), 0).astype(np.float64)), r.stderr)
    expect_error("f8 without fp64", ["apply", "relu", p("f8.npy"), out], "f64", out=out,
                 env={"CLACT_NO_FP64": "1"})
    np.save(p("f2.npy"), x.astype(np.float16))
    r = run("apply", "softmax", "dim=1", p("f2.npy"), p("f2o.npy"))
    f2o = np.load(p("f2o.npy")) if r.returncode == 0 else None
    check("f16 softmax", f2o is not None and f2o.dtype == np.float16
          and np.allclose(f2o.astype(np.float32).sum(axis=1), 1, atol=4e-3), r.stderr)
    np.save(p("i4.npy"), np.arange(5, dtype=np.int32))
    expect_error("int", ["apply", "relu", p("i4.npy"), out], "<i4", out=out)
    np.save(p("be.npy"), x.astype(">f4"))
    expect_error("big endian", ["apply", "relu", p("be.npy"), out], "big-endian", out=out)
    np.save(p("fo.npy"), np.asfortranarray(x))
    expect_error("fortran", ["apply", "relu", p("fo.npy"), out], "Fortran", out=out)
    np.save(p("obj.npy"), np.array([{"a": 1}], dtype=object), allow_pickle=True)
    expect_error("object", ["apply", "relu", p("obj.npy"), out], "dtype", out=out)
    expect_error("unwritable output", ["apply", "relu", p("x.npy"), p("no/such/dir/y.npy")],
                 "y.npy")
    os.mkdir(p("adir.npy"))
    expect_error("output is a dir", ["apply", "relu", p("x.npy"), p("adir.npy")], "adir.npy")
    check("dir untouched", os.listdir(d).count("adir.npy") == 1
          and not [f for f in os.listdir(d) if f.startswith("adir.npy.tmp")], str(os.listdir(d)))

# rrelu in training mode: training=1 seed=S in apply and backward. The slopes are checked bit for
# bit against tests/philox_ref.py (Philox4x32-10 and the header's rule, computed independently);
# seeds either side of 2^53 and at 2^64 - 1 show that the seed is read exactly.
with tempfile.TemporaryDirectory() as d:
    p = lambda name: os.path.join(d, name)
    philox_ref.self_check()
    x = np.concatenate([[np.nan, -np.inf, np.inf, -0.0, 0.0, -1e-45, 3e38, -3e38],
                        np.linspace(-4, 4, 1992)]).astype(np.float32)
    np.save(p("x.npy"), x)
    np.save(p("x8.npy"), x.astype(np.float64))
    outs = {}
    for seed in (0, 7, 2**53, 2**53 + 1, 2**64 - 1):
        for name, double in (("x.npy", False), ("x8.npy", True)):
            r = run("apply", "rrelu", "lower=0.1", "upper=0.6", "training=1", f"seed={seed}",
                    p(name), p("y.npy"))
            y = np.load(p("y.npy")).astype(np.float64) if r.returncode == 0 else None
            want, _ = philox_ref.forward(x, seed, 0.1, 0.6, double)
            check(f"rrelu training seed={seed} {name}", y is not None and np.array_equal(
                y, want, equal_nan=True), r.stderr if y is None else
                f"{np.flatnonzero(~((y == want) | np.isnan(want) & np.isnan(y)))[:5]}")
            outs[seed, name] = y
    check("rrelu seeds 2^53 and 2^53 + 1 differ", outs[2**53, "x.npy"] is not None and not
          np.array_equal(outs[2**53, "x.npy"], outs[2**53 + 1, "x.npy"], equal_nan=True), "")
    r = run("apply", "rrelu", "lower=0.1", "upper=0.6", "training=true", "seed=7", p("x.npy"),
            p("yt.npy"))
    check("rrelu training=true is training=1", r.returncode == 0 and np.array_equal(
        np.load(p("yt.npy")), outs[7, "x.npy"], equal_nan=True), r.stderr)
    # Evaluation mode: training=0 (or false) is the default, leaky_relu with the midpoint slope.
    ev = []
    for extra in ([], ["training=0"], ["training=False"]):
        r = run("apply", "rrelu", *extra, p("x.npy"), p("ye.npy"))
        ev.append(np.load(p("ye.npy")) if r.returncode == 0 else None)
    mid = np.float32((0.125 + 1 / 3) / 2)
    check("rrelu evaluation mode", all(e is not None and np.array_equal(
        e, np.where(x > 0, x, x * mid), equal_nan=True) for e in ev), str(ev[0]))
    # backward: dy times the same slopes (the forward's seed), dy for x > 0 and at NaN.
    dy = np.linspace(-2, 2, x.size).astype(np.float32)
    np.save(p("dy.npy"), dy)
    r = run("backward", "rrelu", "lower=0.1", "upper=0.6", "training=1", "seed=7", p("x.npy"),
            p("dy.npy"), p("dx.npy"))
    dx = np.load(p("dx.npy")) if r.returncode == 0 else None
    slopes = philox_ref.slopes(x.size, 7, 0.1, 0.6).astype(np.float32)
    check("rrelu training backward", dx is not None and np.array_equal(
        dx, np.where(x <= 0, dy * slopes, dy)), r.stderr)
    r = run("apply", "rrelu", "training=1", "seed=18446744073709551615", "--summary", p("x.npy"),
            p("y.npy"))
    check("rrelu summary names the mode", r.returncode == 0 and
          "training=1, seed=18446744073709551615" in r.stdout, r.stdout + r.stderr)
    out = p("out.npy")
    for name, params, word in [
            ("seed without training", ["seed=5"], "training=1"),
            ("seed with training=0", ["training=0", "seed=5"], "training=1"),
            ("training without seed", ["training=1"], "seed="),
            ("training=2", ["training=2", "seed=1"], "'2'"),
            ("training=yes", ["training=yes", "seed=1"], "yes"),
            ("seed negative", ["training=1", "seed=-1"], "'-1'"),
            ("seed with sign", ["training=1", "seed=+1"], "'+1'"),
            ("seed in exponent form", ["training=1", "seed=1e3"], "1e3"),
            ("seed in hex", ["training=1", "seed=0x10"], "0x10"),
            ("seed 2^64", ["training=1", "seed=18446744073709551616"], "18446744073709551616"),
            ("seed empty", ["training=1", "seed="], "seed"),
            ("seed with space", ["training=1", "seed= 1"], "seed"),
            ("training twice", ["training=1", "training=1", "seed=1"], "twice"),
            ("seed twice", ["training=1", "seed=1", "seed=2"], "twice"),
            ("training bounds", ["lower=0.5", "upper=0.1", "training=1", "seed=1"], "lower")]:
        expect_error("rrelu " + name, ["apply", "rrelu", *params, p("x.npy"), out], word, out=out)
    expect_error("training for relu", ["apply", "relu", "training=1", p("x.npy"), out], "training",
                 out=out)
    expect_error("seed for leaky_relu", ["apply", "leaky_relu", "seed=1", p("x.npy"), out], "seed",
                 out=out)
    expect_error("backward seed without training", ["backward", "rrelu", "seed=3", p("x.npy"),
                                                    p("dy.npy"), out], "training=1", out=out)
    expect_error("backward training for elu", ["backward", "elu", "training=0", p("x.npy"),
                                               p("dy.npy"), out], "training", out=out)
    expect_error("train rrelu training", ["train", "--act", "rrelu:training=1:seed=1"], "training")

# clact backward: the same rules as apply, with two inputs whose shapes and types must match.
with tempfile.TemporaryDirectory() as d:
    p = lambda name: os.path.join(d, name)
    x = np.linspace(-3, 3, 24, dtype=np.float32).reshape(2, 3, 4)
    g = np.linspace(1, 2, 24, dtype=np.float32).reshape(2, 3, 4)
    np.save(p("x.npy"), x)
    np.save(p("g.npy"), g)
    r = run("backward", "relu", p("x.npy"), p("g.npy"), p("dx.npy"))
    dx = np.load(p("dx.npy")) if r.returncode == 0 else None
    check("backward relu", dx is not None and dx.shape == (2, 3, 4) and dx.dtype == np.float32
          and np.array_equal(dx, np.where(x > 0, g, 0)) and r.stdout == "" and r.stderr == "",
          r.stderr)
    r = run("backward", "leaky_relu", "negative_slope=0.5", "--dtype", "f64", p("x.npy"),
            p("g.npy"), p("dx.npy"))
    dx = np.load(p("dx.npy")) if r.returncode == 0 else None
    check("backward leaky_relu in f64", dx is not None and dx.dtype == np.float32 and
          np.array_equal(dx, np.where(x > 0, g, 0.5 * g)), r.stderr)
    r = run("backward", "softmax", "dim=1", p("x.npy"), p("g.npy"), p("dx.npy"))
    check("backward softmax", r.returncode == 0 and np.load(p("dx.npy")).shape == (2, 3, 4),
          r.stderr)
    np.save(p("g5.npy"), np.ones((2, 3, 5), np.float32))
    np.save(p("g64.npy"), g.astype(np.float64))
    expect_error("backward shapes differ", ["backward", "relu", p("x.npy"), p("g5.npy"),
                                            p("out.npy")], "shapes", out=p("out.npy"))
    expect_error("backward types differ", ["backward", "relu", p("x.npy"), p("g64.npy"),
                                           p("out.npy")], "<f8", out=p("out.npy"))
    expect_error("backward missing dy", ["backward", "relu", p("x.npy"), p("nope.npy"),
                                         p("out.npy")], "nope.npy", out=p("out.npy"))
    expect_error("backward two files", ["backward", "relu", p("x.npy"), p("out.npy")],
                 "DY.npy", out=p("out.npy"))
    expect_error("backward unknown op", ["backward", "swish", p("x.npy"), p("g.npy"),
                                         p("out.npy")], "swish", out=p("out.npy"))
    expect_error("backward bad parameter", ["backward", "elu", "alpha=x", p("x.npy"), p("g.npy"),
                                            p("out.npy")], "alpha", out=p("out.npy"))
    expect_error("backward softmax dim", ["backward", "softmax", "dim=3", p("x.npy"),
                                          p("g.npy"), p("out.npy")], "dim", out=p("out.npy"))
    expect_error("backward --summary", ["backward", "relu", "--summary", p("x.npy"), p("g.npy"),
                                        p("out.npy")], "summary", out=p("out.npy"))
    check("help lists backward", "backward" in run("--help").stdout)
    # bench: an op's backward (three streams of bytes) and a dense layer (GFLOP/s), tiny.
    r = run("bench", "--quick", "--sizes", "4096", "--format", "csv", "--ops",
            "gelu_backward,dense_relu_8x16x4,dense_linear_8x16x4_backward")
    rows = [l.split(",") for l in r.stdout.splitlines()[1:]]
    check("bench backward and dense", r.returncode == 0 and len(rows) == 3 and
          rows[0][0] == "gelu_backward" and float(rows[0][6]) > 0 and rows[1][10] and
          float(rows[1][10]) > 0 and rows[2][0] == "dense_linear_8x16x4_backward",
          r.stdout + r.stderr)
    expect_error("bench bad dense", ["bench", "--ops", "dense_relu_8x16"], "dense_ACT_BxIxO")
    expect_error("bench bad backward", ["bench", "--ops", "swish_backward"], "swish")

# glu (its output halves dim) and prelu with a weight per channel (weight=W.npy, and its
# gradient through backward's --weight-grad), against NumPy in float64.
with tempfile.TemporaryDirectory() as d:
    p = lambda name: os.path.join(d, name)
    rng = np.random.default_rng(16)
    x = rng.uniform(-4, 4, (3, 4, 6)).astype(np.float32)
    np.save(p("x.npy"), x)
    sig = lambda t: 1 / (1 + np.exp(-t))

    def glu_ref(a, dim):
        a = a.astype(np.float64)
        h = a.shape[dim] // 2
        return np.take(a, range(h), dim) * sig(np.take(a, range(h, 2 * h), dim))

    def close(got, want, rel):
        return got is not None and got.shape == want.shape and bool(
            np.all(np.abs(got.astype(np.float64) - want) <= rel * np.abs(want) + 1e-30))

    def load(r, name):
        return np.load(p(name)) if r.returncode == 0 else None

    for dim in ("1", "2", "-1", "-2", None):
        r = run("apply", "glu", *([f"dim={dim}"] if dim else []), p("x.npy"), p("g.npy"))
        g = load(r, "g.npy")
        check(f"apply glu dim={dim}", close(g, glu_ref(x, int(dim or -1)), 1e-6)
              and g.dtype == np.float32, r.stderr)
    r = run("apply", "glu", "dim=1", "--summary", p("x.npy"), p("g.npy"))
    check("glu --summary", r.returncode == 0 and "glu(dim=1)" in r.stdout
          and "shape (3, 2, 6)" in r.stdout, r.stdout + r.stderr)
    np.save(p("xh.npy"), x.astype(np.float16))
    r = run("apply", "glu", p("xh.npy"), p("gh.npy"))
    gh = load(r, "gh.npy")
    check("glu f16 file", gh is not None and gh.dtype == np.float16 and close(
        gh, glu_ref(x.astype(np.float16), -1), 2 ** -10), r.stderr)
    r = run("apply", "glu", "--dtype", "bf16", p("x.npy"), p("gb.npy"))
    gb = load(r, "gb.npy")
    xb = x.view(np.uint32)
    xb = (((xb + 0x7FFF + ((xb >> 16) & 1)) >> 16) << 16).astype(np.uint32).view(np.float32)
    check("glu --dtype bf16", gb is not None and gb.dtype == np.float32
          and np.all((gb.view(np.uint32) & 0xFFFF) == 0) and close(gb, glu_ref(xb, -1), 2 ** -7),
          r.stderr)
    np.save(p("e.npy"), np.zeros((0, 4), np.float32))
    r = run("apply", "glu", p("e.npy"), p("ge.npy"))
    check("glu empty", r.returncode == 0 and load(r, "ge.npy").shape == (0, 2), r.stderr)
    # backward glu: dy of the output's shape, dx of the input's.
    dy = rng.uniform(-2, 2, (3, 4, 3)).astype(np.float32)
    np.save(p("dy.npy"), dy)
    r = run("backward", "glu", p("x.npy"), p("dy.npy"), p("dx.npy"))
    a64, b64 = x[..., :3].astype(np.float64), x[..., 3:].astype(np.float64)
    g64 = dy.astype(np.float64)
    want = np.concatenate([g64 * sig(b64), g64 * a64 * sig(b64) * sig(-b64)], axis=-1)
    check("backward glu", close(load(r, "dx.npy"), want, 1e-6), r.stderr)
    # prelu with a weight per channel (dimension 1, 4 channels), with one weight as W.npy of
    # shape (1,) and 0-d, and the number: products exact in float32, as NumPy's.
    w = rng.uniform(-1, 1, 4).astype(np.float32)
    np.save(p("w.npy"), w)
    np.save(p("w1.npy"), np.array([0.3], np.float32))
    np.save(p("w0.npy"), np.float32(0.3))
    r = run("apply", "prelu", "weight=" + p("w.npy"), "--summary", p("x.npy"), p("y.npy"))
    want = np.where(x > 0, x, w[None, :, None] * x)
    check("apply prelu weight=W.npy", r.returncode == 0 and np.array_equal(load(r, "y.npy"), want)
          and "prelu(weight=" in r.stdout, r.stdout + r.stderr)
    for wf in ("w1.npy", "w0.npy"):
        r = run("apply", "prelu", "weight=" + p(wf), p("x.npy"), p("y.npy"))
        check("apply prelu " + wf, r.returncode == 0 and np.array_equal(
            load(r, "y.npy"), np.where(x > 0, x, np.float32(0.3) * x)), r.stderr)
    gp = rng.uniform(-2, 2, x.shape).astype(np.float32)
    np.save(p("gp.npy"), gp)
    r = run("backward", "prelu", "weight=" + p("w.npy"), "--weight-grad", p("dw.npy"), p("x.npy"),
            p("gp.npy"), p("dxp.npy"))
    dw_want = np.where(x > 0, 0, x.astype(np.float64) * gp).sum(axis=(0, 2))
    check("backward prelu dx", r.returncode == 0 and np.array_equal(
        load(r, "dxp.npy"), np.where(x > 0, gp, w[None, :, None] * gp)), r.stderr)
    check("backward prelu dw", r.returncode == 0 and load(r, "dw.npy").shape == (4,)
          and close(load(r, "dw.npy"), dw_want, 2 ** -23), r.stderr)
    r = run("backward", "prelu", "weight=0.3", "--weight-grad=" + p("dw1.npy"), p("x.npy"),
            p("gp.npy"), p("dx1.npy"))
    check("backward prelu weight=V --weight-grad", r.returncode == 0
          and load(r, "dw1.npy").shape == (1,) and close(
              load(r, "dw1.npy"), np.array([np.where(x > 0, 0, x.astype(np.float64) * gp).sum()]),
              2 ** -23), r.stderr)
    r = run("backward", "prelu", "weight=" + p("w0.npy"), "--weight-grad", p("dw0.npy"),
            p("x.npy"), p("gp.npy"), p("dx0.npy"))
    check("backward prelu 0-d weight", r.returncode == 0 and load(r, "dw0.npy").shape == ()
          and np.array_equal(load(r, "dx0.npy"), np.where(x > 0, gp, np.float32(0.3) * gp)),
          r.stderr)
    r = run("backward", "prelu", "weight=" + p("w.npy"), "--dtype", "f64", p("x.npy"),
            p("gp.npy"), p("dxd.npy"))
    check("backward prelu dx alone, --dtype f64", r.returncode == 0 and np.array_equal(
        load(r, "dxd.npy"), np.where(x > 0, gp, w[None, :, None] * gp)), r.stderr)
    # Errors: exit 2, one line, no output (neither DX nor DW) left behind.
    out, dwo = p("out.npy"), p("dwo.npy")
    np.save(p("odd.npy"), np.zeros((3, 5), np.float32))
    np.save(p("s.npy"), np.float32(1))
    np.save(p("w3.npy"), np.ones(3, np.float32))
    np.save(p("w64.npy"), w.astype(np.float64))
    np.save(p("w2d.npy"), np.ones((2, 2), np.float32))
    expect_error("glu odd", ["apply", "glu", p("odd.npy"), out], "dimension 1 is size 5", out=out)
    expect_error("glu odd dim 0", ["apply", "glu", "dim=0", p("x.npy"), out],
                 "dimension 0 is size 3", out=out)
    expect_error("glu dim range", ["apply", "glu", "dim=3", p("x.npy"), out], "out of range",
                 out=out)
    expect_error("glu dim not integer", ["apply", "glu", "dim=1.5", p("x.npy"), out], "integer",
                 out=out)
    expect_error("glu 0-d", ["apply", "glu", p("s.npy"), out], "scalars", out=out)
    expect_error("backward glu dy shape", ["backward", "glu", p("x.npy"), p("gp.npy"), out],
                 "shape", out=out)
    expect_error("backward glu odd", ["backward", "glu", "dim=0", p("x.npy"), p("dy.npy"), out],
                 "even", out=out)
    expect_error("glu --weight-grad", ["backward", "glu", "--weight-grad", dwo, p("x.npy"),
                                       p("dy.npy"), out], "--weight-grad", out=out)
    expect_error("prelu weights", ["apply", "prelu", "weight=" + p("w3.npy"), p("x.npy"), out],
                 "3 weights", out=out)
    expect_error("prelu weight dtype", ["apply", "prelu", "weight=" + p("w64.npy"), p("x.npy"),
                                        out], "<f8", out=out)
    expect_error("prelu weight 2-d", ["apply", "prelu", "weight=" + p("w2d.npy"), p("x.npy"),
                                      out], "0-d or 1-d", out=out)
    expect_error("prelu weight missing", ["apply", "prelu", "weight=" + p("none.npy"), p("x.npy"),
                                          out], "none.npy", out=out)
    expect_error("prelu weights on 0-d", ["apply", "prelu", "weight=" + p("w.npy"), p("s.npy"),
                                          out], "4 weights", out=out)
    expect_error("prelu weight nan", ["apply", "prelu", "weight=nan", p("x.npy"), out], "nan",
                 out=out)
    expect_error("apply --weight-grad", ["apply", "prelu", "--weight-grad", dwo, p("x.npy"), out],
                 "--weight-grad", out=out)
    expect_error("--weight-grad without value", ["backward", "prelu", p("x.npy"), p("gp.npy"),
                                                 out, "--weight-grad"], "needs a value", out=out)
    expect_error("relu --weight-grad", ["backward", "relu", "--weight-grad", dwo, p("x.npy"),
                                        p("gp.npy"), out], "--weight-grad", out=out)
    expect_error("backward prelu dy shape", ["backward", "prelu", "weight=" + p("w.npy"),
                                             p("x.npy"), p("dy.npy"), out], "shape", out=out)
    expect_error("unwritable dw", ["backward", "prelu", "weight=" + p("w.npy"), "--weight-grad",
                                   p("no/dir/dw.npy"), p("x.npy"), p("gp.npy"), out], "dw.npy",
                 out=out)

print(f"cli: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
