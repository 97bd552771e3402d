#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""`clact bench`'s parameterised ops and the benchmark peers' checks, on small sizes (the
figures themselves are not tested, only what is measured):
 - bench --ops OP[_backward]:NAME=VALUE: rows named as asked, in order; parameters that PyTorch
   would reject, unknown names, training for an op other than rrelu, parameters on a softmax or
   dense op, threshold without its parameters: exit 2, one 'clact: ' line naming the problem;
   glu (not elementwise): halves rows (an odd size drops its last element);
 - the checker both peers' results pass through (bench/peer_torch.py's Expected): it rejects
   gelu_tanh for gelu, selu with its constants cut to 5 digits, celu's alpha 1e-4 off,
   softshrink's lambd 1e-4 off, a NaN in the last element; it passes PyTorch's own results;
 - bench/peer_torch.py on every elementwise activation of issue 16, forward and backward, with
   parameters: a row per form for each, except those PyTorch has no form of (softsign's
   backward has no out form) and hardswish's backward, which PyTorch 1.13's vectorised kernel
   computes as dy at x = 3 where the contract (and its scalar loop) says 1.5 dy: reported on
   stderr as not the same function, not timed;
 - build/bench/peer_onednn (when built) on the same ops: a row for each op oneDNN has a form of;
   a note for those it has none of (selu's backward, celu's backward at alpha != 1, threshold
   with value < threshold, rrelu's training mode, glu) and for hardswish's backward (0 at
   x = -3 where PyTorch gives -0.5 dy): not timed.
Inputs are 20011 elements: more than one period of the peers' input pattern (20000, so that the
check's reuse of one period is exercised, with a tail) and holding x = -3 and 3 exactly.
Usage: peers_test.py path/to/clact path/to/libclact.so [path/to/peer_onednn]"""
import csv
import io
import os
import subprocess
import sys

# CLACT_LIST_LIBRARY: the plain build's library where the given one is ASan-built (memcheck.sh),
# which an uninstrumented python cannot load.
CLACT, LIBRARY = sys.argv[1], os.environ.get("CLACT_LIST_LIBRARY") or sys.argv[2]
ONEDNN = sys.argv[3] if len(sys.argv) > 3 and os.path.exists(sys.argv[3]) else None
HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = os.path.join(HERE, "..", "bench")
sys.path.insert(0, BENCH)
passed = failed = 0

NEW = ["relu6", "hardtanh", "hardtanh:min_val=-2:max_val=3", "selu", "celu", "celu:alpha=2",
       "hardsigmoid", "hardswish", "logsigmoid", "softsign", "tanhshrink", "softshrink",
       "softshrink:lambd=1", "hardshrink", "hardshrink:lambd=2",
       "threshold:threshold=0.1:value=20", "threshold:threshold=1:value=-5", "prelu",
       "prelu:weight=-0.5", "rrelu", "rrelu:lower=0.1:upper=0.3", "rrelu:training=1", "glu"]
SIZE = "20011"


def check(name, cond, detail=""):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print(f"FAIL {name}: {detail}")


def run(*args):
    return subprocess.run(list(args), capture_output=True, text=True)


def backward(op):
    head, colon, params = op.partition(":")
    return f"{head}_backward{colon}{params}"


def rows(stdout):
    return list(csv.DictReader(io.StringIO(stdout)))


def bench_tests():
    ops = ["hardtanh:min_val=-2:max_val=2", "threshold_backward:threshold=0.1:value=20",
           "rrelu:training=1", "rrelu_backward:training=1:seed=7", "celu:alpha=0.5", "selu"]
    r = run(CLACT, "bench", "--ops", ",".join(ops), "--sizes", "4096", "--quick", "--format",
            "csv")
    got = rows(r.stdout)
    check("bench parameters", r.returncode == 0 and [x["op"] for x in got] == ops and
          all(float(x["Gelem_s"]) > 0 for x in got), r.stdout + r.stderr)
    for spec, word in [("threshold", "threshold"), ("threshold_backward", "threshold"),
                       ("relu:training=1", "rrelu"), ("rrelu:training=2", "training"),
                       ("rrelu:seed=x", "seed"), ("rrelu:lower=0.5:upper=0.1", "lower"),
                       ("hardtanh:min_val=2:max_val=1", "max_val"),
                       ("hardtanh:foo=1", "foo"), ("celu:alpha=0", "alpha"),
                       ("softmax_64:dim=1", "parameters"), ("dense_relu_8x8x8:x=1", "parameters"),
                       ("elu:alpha=abc", "abc"), ("hardtanh_backward:min_val", "min_val")]:
        r = run(CLACT, "bench", "--ops", spec, "--sizes", "4096", "--quick")
        lines = r.stderr.strip().splitlines()
        check(f"bench rejects {spec}", r.returncode == 2 and len(lines) == 1 and
              lines[0].startswith("clact: bench: ") and word in lines[0] and not r.stdout,
              f"{r.returncode} {r.stdout!r} {r.stderr!r}")
    r = run(CLACT, "bench", "--ops", "glu,relu6,glu_backward", "--sizes", "4096,3", "--quick",
            "--format", "csv")
    check("bench glu rows", r.returncode == 0 and [x["op"] for x in rows(r.stdout)] ==
          ["glu", "relu6", "glu_backward", "glu", "relu6", "glu_backward"]
          and [x["elements"] for x in rows(r.stdout)] == ["4096"] * 3 + ["2", "3", "2"],
          r.stdout + r.stderr)


def checker_tests():
    """The check itself: it must reject near misses and pass PyTorch's own results."""
    import torch
    import torch.nn.functional as F
    import peer_torch as P
    clact = P.Clact(LIBRARY)
    x = P.pattern(1 << 16)
    cases = [("gelu", lambda t: F.gelu(t, approximate="tanh"), False),
             ("gelu", F.gelu, True),
             ("selu", lambda t: 1.0507 * F.elu(t, 1.6733), False),
             ("selu", torch.selu, True),
             ("celu:alpha=2", lambda t: torch.celu(t, 2.0002), False),
             ("celu:alpha=2", lambda t: torch.celu(t, 2.0), True),
             ("softshrink", lambda t: F.softshrink(t, 0.5001), False),
             ("tanhshrink", F.tanhshrink, True),
             ("hardsigmoid", lambda t: torch.cat([F.hardsigmoid(t[:-1]),
                                                  torch.tensor([float("nan")])]), False)]
    for spec, fn, same in cases:
        act = clact.parse(spec)
        expected = P.reference(lambda a, d: clact.forward(act, a), x.numpy())
        bad = expected.first_bad(fn(x))
        check(f"checker {spec} {'passes' if same else 'rejects'} {fn}", (bad < 0) == same, bad)


def peer_rows(r):
    """{op: set of forms} from a peer's CSV."""
    out = {}
    for x in rows(r.stdout):
        out.setdefault(x["op"], set()).add(x["form"])
    return out


def torch_tests():
    ops = NEW + [backward(op) for op in NEW]
    r = run("/usr/bin/python3", os.path.join(BENCH, "peer_torch.py"), "--ops", ",".join(ops),
            "--sizes", SIZE, "--quick", "--threads", "2", "--library", LIBRARY)
    got = peer_rows(r)
    none = {"glu", "glu_backward", "hardswish_backward"}
    want = {op: {"out", "alloc"} for op in ops if op not in none}
    want["softsign_backward"] = {"alloc"}
    check("peer_torch rows", r.returncode == 0 and got == want,
          f"{sorted(set(want) ^ set(got))} {r.stderr}")
    check("peer_torch: hardswish_backward differs at x = 3",
          "hardswish_backward (out): element 13000 (x = 3," in r.stderr and
          "not the same function" in r.stderr, r.stderr)


def onednn_tests():
    ops = NEW + [backward(op) for op in NEW] + ["prelu", "prelu_backward"]
    r = run(ONEDNN, ",".join(ops), SIZE, "quick")
    r16 = run(ONEDNN, "prelu,prelu_backward,prelu:weight=-0.5", "20016", "quick")
    none = {"glu", "glu_backward", "selu_backward", "celu_backward:alpha=2",
            "threshold:threshold=1:value=-5", "rrelu:training=1", "rrelu_backward:training=1",
            "hardswish_backward"}
    want = {op: {"out"} for op in ops if op not in none}
    check("peer_onednn rows", r.returncode == 0 and peer_rows(r) == want,
          f"{sorted(set(want) ^ set(peer_rows(r)))} {r.stderr}")
    check("peer_onednn rows, prelu in rows of 16",
          r16.returncode == 0 and len(rows(r16.stdout)) == 3, r16.stdout + r16.stderr)
    for op in sorted(none - {"hardswish_backward"}):
        check(f"peer_onednn says why not {op}", f"peer_onednn: {op}: " in r.stderr, r.stderr)
    check("peer_onednn: hardswish_backward differs at x = -3",
          "hardswish_backward: element 7000 (x = -3," in r.stderr and
          "not the same function" in r.stderr, r.stderr)


bench_tests()
checker_tests()
torch_tests()
if ONEDNN:
    onednn_tests()
else:
    print("peers_test: peer_onednn not built (libdnnl-dev): its checks skipped")
print(f"peers: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
