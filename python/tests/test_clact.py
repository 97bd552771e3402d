# SPDX-License-Identifier: MIT
"""The Python binding: NumPy in and out for every op and dtype against NumPy/PyTorch-free
references, the softmax family and cross-entropy, errors as clact.Error, and PyOpenCL interop
(a borrowed queue, pyopencl.Buffer in, pyopencl.Event out, a user event that gates the ops:
every call returns before it opens). Run by CTest with CLACT_LIBRARY set."""
import ctypes
import decimal
import math
import os
import subprocess
import sys
import unittest

import numpy as np
import pyopencl as cl

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import clact  # noqa: E402

# tests/philox_ref.py: rrelu's training slopes computed independently of the library.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests"))
import philox_ref  # noqa: E402

X = np.concatenate([np.linspace(-12, 12, 999), [0.0, -0.0, np.inf, -np.inf, np.nan]])


def ref(op, x):
    """Exact-enough references in float64 from the math module."""
    def one(v):
        if math.isnan(v):
            return math.nan
        sig = lambda t: 1 / (1 + math.exp(-t)) if t >= 0 else math.exp(t) / (1 + math.exp(t))
        if op == "relu":
            return max(v, 0.0)
        if op == "gelu":
            return 0.5 * v * math.erfc(-v / math.sqrt(2)) if not math.isinf(v) or v > 0 else (
                math.nan if v < 0 else v)
        if op == "silu":
            return v * sig(v) if not (math.isinf(v) and v < 0) else math.nan
        if op == "sigmoid":
            return sig(v)
        if op == "tanh":
            return math.tanh(v)
        raise ValueError(op)
    return np.array([one(float(v)) for v in x])


def close(got, want, rel):
    got = np.asarray(got, dtype=np.float64)
    same_nan = np.isnan(got) == np.isnan(want)
    fin = np.isfinite(want)
    with np.errstate(invalid="ignore"):
        ok = np.where(fin, np.abs(got - want) <= rel * np.abs(want) + rel * 1e-3,
                      (got == want) | np.isnan(want))
    return bool(np.all(same_nan & ok))


class NumpyTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.ctx = clact.Context()

    def test_ops_and_dtypes(self):
        for op in ("relu", "gelu", "silu", "sigmoid", "tanh"):
            want = ref(op, X)
            for dtype, rel in ((np.float32, 4e-6), (np.float64, 1e-13)):
                y = self.ctx.forward(op, X.astype(dtype))
                self.assertEqual(y.dtype, dtype)
                self.assertTrue(close(y, want, rel), f"{op} {dtype}")
            y16 = self.ctx.forward(op, X.astype(np.float16))
            self.assertEqual(y16.dtype, np.float16)
            self.assertTrue(close(y16, ref(op, X.astype(np.float16)), 1e-3), f"{op} f16")
            yb = self.ctx.forward(op, X.astype(np.float32), dtype="bf16")
            self.assertEqual(yb.dtype, np.float32)
            self.assertTrue(np.all((yb.view(np.uint32) & 0xFFFF) == 0), "bf16 values")
            xb = clact._bf16_round(X.astype(np.float32))
            self.assertTrue(close(yb, ref(op, xb), 8e-3), f"{op} bf16")

    def test_parameters_and_shape(self):
        x = np.linspace(-3, 3, 24, dtype=np.float32).reshape(2, 3, 4)
        y = self.ctx.forward("leaky_relu", x, negative_slope=0.2)
        self.assertEqual(y.shape, (2, 3, 4))
        self.assertTrue(np.allclose(y, np.where(x > 0, x, 0.2 * x), rtol=1e-6))
        y = self.ctx.forward("softplus", x, beta=2, threshold=1)
        want = np.where(2 * x > 1, x, np.log1p(np.exp(2 * x.astype(np.float64))) / 2)
        self.assertTrue(np.allclose(y, want, rtol=1e-6))
        t = self.ctx.forward("gelu", x, approximate="tanh")
        u = math.sqrt(2 / math.pi) * (x + 0.044715 * x.astype(np.float64) ** 3)
        self.assertTrue(np.allclose(t, 0.5 * x * (1 + np.tanh(u)), rtol=1e-5, atol=1e-7))

    def test_more_ops_with_parameters(self):
        """The ops of issue 16 through forward's keywords, in f32 and f64, against float64
        references written here (the decimal module where x - tanh x cancels); the bars: 1e-13
        relative in f64; in f32 4e-6 for the piecewise and algebraic ops, 4e-5 for the
        transcendental ones (benchdnn's), absolute below |ref| 1e-5; special values are
        tests/torch_parity.py's."""
        x = np.concatenate([np.linspace(-12, 12, 999), np.linspace(-0.6, 0.6, 97),
                            [-3, 3, -2, 2.5, 0.5, -0.5, 1, -1, 6, 0.0]])
        sel_a, sel_s = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946

        def tanhshrink(v):
            with decimal.localcontext() as c:
                c.prec = 40
                e = (2 * decimal.Decimal(v)).exp()
                return float(decimal.Decimal(v) - (e - 1) / (e + 1))

        cases = [
            ("relu6", {}, lambda v: min(max(v, 0.0), 6.0), 4e-6),
            ("hardtanh", {"min_val": -2, "max_val": 2.5}, lambda v: min(max(v, -2.0), 2.5), 4e-6),
            ("selu", {}, lambda v: sel_s * (v if v > 0 else sel_a * math.expm1(v)), 4e-5),
            ("celu", {"alpha": 0.5}, lambda v: max(v, 0) + min(0, 0.5 * math.expm1(v / 0.5)),
             4e-5),
            ("hardsigmoid", {}, lambda v: min(max(v + 3, 0.0), 6.0) / 6, 4e-6),
            ("hardswish", {}, lambda v: v * min(max(v + 3, 0.0), 6.0) / 6, 4e-6),
            ("logsigmoid", {}, lambda v: min(v, 0) - math.log1p(math.exp(-abs(v))), 4e-5),
            ("softsign", {}, lambda v: v / (1 + abs(v)), 4e-6),
            ("tanhshrink", {}, tanhshrink, 4e-5),
            ("softshrink", {"lambd": 1.0}, lambda v: v - 1 if v > 1 else v + 1 if v < -1 else 0.0,
             4e-6),
            ("hardshrink", {"lambd": 1.0}, lambda v: v if abs(v) > 1 else 0.0, 4e-6),
            ("threshold", {"threshold": 0.5, "value": -2}, lambda v: v if v > 0.5 else -2.0, 4e-6),
            ("prelu", {"weight": 0.1}, lambda v: v if v >= 0 else 0.1 * v, 4e-6),
            ("rrelu", {"lower": 0.1, "upper": 0.3}, lambda v: v if v >= 0 else 0.2 * v, 4e-6),
            ("rrelu", {"training": False}, lambda v: v if v >= 0 else (0.125 + 1 / 3) / 2 * v,
             4e-6),
        ]
        for op, params, fn, rel in cases:
            for dtype in (np.float32, np.float64):
                xd = x.astype(dtype)
                want = np.array([fn(float(v)) for v in xd])
                got = self.ctx.forward(op, xd, **params).astype(np.float64)
                bar = 1e-13 if dtype == np.float64 else rel
                err = np.abs(got - want)
                ok = np.where(np.abs(want) > 1e-5, err <= bar * np.abs(want), err <= bar * 1e-5)
                self.assertTrue(np.all(ok), f"{op} {params} {dtype.__name__}: x={xd[~ok][:4]} "
                                            f"clact={got[~ok][:4]} want={want[~ok][:4]}")
        # Gradients where the keywords move the boundaries (PyTorch's masks: hardtanh exclusive,
        # threshold's x <= threshold gives 0).
        dy = np.linspace(1, 2, x.size)
        dx = self.ctx.backward("hardtanh", x, dy, min_val=-2, max_val=2.5)
        self.assertTrue(np.array_equal(dx, np.where((x > -2) & (x < 2.5), dy, 0)))
        dx = self.ctx.backward("threshold", x, dy, threshold=0.5, value=-2)
        self.assertTrue(np.array_equal(dx, np.where(x > 0.5, dy, 0)))
        dx = self.ctx.backward("softshrink", x, dy, lambd=1.0)
        self.assertTrue(np.array_equal(dx, np.where(np.abs(x) > 1, dy, 0)))
        self.assertEqual(clact.saved("threshold", threshold=1, value=0), {"x", "y"})
        self.assertEqual(clact.saved("threshold", threshold=0, value=1), {"x"})

    def test_rrelu_training(self):
        """training=True, seed=S: the slopes bit for bit as tests/philox_ref.py computes them
        from the header's rule, in f32 and f64, forward and backward; the seed reaches the
        library whole (2**64 - 1, and 2**53 + 1 unlike 2**53)."""
        philox_ref.self_check()
        x = np.concatenate([[np.nan, -np.inf, np.inf, -0.0, 0.0], np.linspace(-5, 5, 1200)])
        dy = np.linspace(-1, 3, x.size)
        for seed in (5, 2**53, 2**53 + 1, 2**64 - 1):
            for dtype, double in ((np.float32, False), (np.float64, True)):
                xd = x.astype(dtype)
                want, r = philox_ref.forward(xd, seed, 0.05, 0.5, double)
                y = self.ctx.forward("rrelu", xd, lower=0.05, upper=0.5, training=True, seed=seed)
                self.assertTrue(np.array_equal(y.astype(np.float64), want, equal_nan=True),
                                f"seed {seed} {dtype.__name__}")
                g = dy.astype(dtype)
                dx = self.ctx.backward("rrelu", xd, g, lower=0.05, upper=0.5, training=True,
                                       seed=seed)
                self.assertTrue(np.array_equal(dx, np.where(xd <= 0, g * r.astype(dtype), g)),
                                f"backward seed {seed} {dtype.__name__}")
        a = self.ctx.forward("rrelu", x, training=True, seed=2**53)
        b = self.ctx.forward("rrelu", x, training=True, seed=2**53 + 1)
        self.assertFalse(np.array_equal(a, b, equal_nan=True))
        self.assertTrue(np.array_equal(
            a, self.ctx.forward("rrelu", x, training=np.True_, seed=np.uint64(2**53)),
            equal_nan=True))
        self.assertEqual(clact.saved("rrelu", training=True, seed=1), {"x", "y"})
        self.assertEqual(clact.saved("rrelu", lower=-0.5, upper=0.1, training=True, seed=1), {"x"})

    def test_parameter_errors(self):
        """Descriptors the library rejects raise Error with its message before anything runs."""
        def message(op, **params):
            with self.assertRaises(clact.Error) as e:
                self.ctx.forward(op, X, **params)
            self.assertEqual(e.exception.status, "INVALID_ARGUMENT")
            return str(e.exception)

        for params in ({}, {"threshold": 1.0}, {"value": 0.0}, {"threshold": 0, "value": math.nan}):
            m = message("threshold", **params)
            self.assertIn("threshold and value have no defaults", m)
        with self.assertRaises(clact.Error) as e:
            self.ctx.backward("threshold", X, X, value=1.0)
        self.assertIn("no defaults", str(e.exception))
        with self.assertRaises(clact.Error):
            clact.saved("threshold")
        self.assertIn("max_val", message("hardtanh", min_val=1, max_val=0))
        self.assertIn("alpha", message("celu", alpha=0))
        self.assertIn("lambd", message("softshrink", lambd=-1))
        self.assertIn("upper", message("rrelu", lower=0.5, upper=0.25))
        self.assertIn("seed", message("rrelu", training=True))
        self.assertIn("training", message("rrelu", seed=3))
        self.assertIn("training", message("rrelu", training=False, seed=3))
        self.assertIn("seed", message("rrelu", training=True, seed=-1))
        self.assertIn("seed", message("rrelu", training=True, seed=2**64))
        self.assertIn("seed", message("rrelu", training=True, seed=1.0))
        self.assertIn("training", message("rrelu", training="yes", seed=1))
        self.assertIn("training", message("rrelu", training=2, seed=1))
        self.assertIn("'training'", message("relu", training=True))
        self.assertIn("'seed'", message("leaky_relu", seed=1))

    def test_softmax_and_cross_entropy(self):
        rng = np.random.default_rng(7)
        x = rng.uniform(-10, 10, (5, 7, 3)).astype(np.float32)
        for dim in (0, 1, -1):
            p = self.ctx.softmax(x, dim)
            e = np.exp(x.astype(np.float64) - x.max(axis=dim, keepdims=True))
            want = e / e.sum(axis=dim, keepdims=True)
            self.assertTrue(np.allclose(p, want, rtol=4e-6, atol=1e-7), f"dim {dim}")
            lp = self.ctx.softmax(x, dim, kind="log_softmax")
            self.assertTrue(np.allclose(lp, np.log(want), atol=2e-6), f"log dim {dim}")
        logits = rng.normal(size=(6, 4))
        t = np.array([0, 3, 1, 2, 2, -100], dtype=np.int64)
        loss, g = self.ctx.cross_entropy(logits, t, grad=True)
        lp = logits - logits.max(1, keepdims=True)
        lp -= np.log(np.exp(lp).sum(1, keepdims=True))
        keep = t != -100
        want = -lp[np.arange(6)[keep], t[keep]].mean()
        self.assertAlmostEqual(float(loss), want, places=12)  # f64 logits: computed in double
        self.assertEqual(g.shape, logits.shape)
        self.assertTrue(np.allclose(g[5], 0))
        # A class index out of range raises, naming it, as PyTorch does; the context goes on.
        bad = np.array([0, 3, 4, 2, 2, -100], dtype=np.int64)
        with self.assertRaises(clact.Error) as e:
            self.ctx.cross_entropy(logits, bad)
        self.assertIn("target 4 at position 2", str(e.exception))
        self.ctx.check()
        self.assertAlmostEqual(float(self.ctx.cross_entropy(logits, t)), want, places=12)

    def test_backward(self):
        x = np.linspace(-6, 6, 101).astype(np.float32)
        dy = np.linspace(1, 2, 101).astype(np.float32)
        s = 1 / (1 + np.exp(-x.astype(np.float64)))
        dx = self.ctx.backward("sigmoid", x, dy)
        self.assertTrue(np.allclose(dx, dy * s * (1 - s), rtol=1e-5, atol=1e-9))
        self.assertTrue(np.array_equal(self.ctx.backward("relu", x, dy), np.where(x > 0, dy, 0)))
        dx = self.ctx.backward("leaky_relu", x, dy, negative_slope=0.25, dtype="f64")
        self.assertTrue(np.array_equal(dx, np.where(x > 0, dy, 0.25 * dy)))
        self.assertEqual(clact.saved("tanh"), {"x", "y"})
        self.assertEqual(clact.saved("gelu"), {"x"})
        self.assertEqual(clact.saved("elu", alpha=-1.0), {"x"})
        with self.assertRaises(clact.Error):
            self.ctx.backward("relu", x, dy[:50])

    def test_optimizers(self):
        """In place on the given arrays, with hand-computed first steps (tests/torch_optim.py
        holds the comparison with torch.optim); arrays that cannot be updated in place, and
        invalid options, raise."""
        p = np.array([1.0, -2.0, 0.5], np.float32)
        g = np.array([0.5, 0.25, -1.0], np.float32)
        buf = np.full(3, np.nan, np.float32)  # step 1 starts the buffer from the gradient
        self.ctx.sgd_step(p, g, buf, step=1, lr=0.5, momentum=0.9)
        self.assertTrue(np.array_equal(buf, g))
        self.assertTrue(np.array_equal(p, np.array([0.75, -2.125, 1.0], np.float32)))
        p64, m, v = np.array([1.0, -1.0]), np.zeros(2), np.zeros(2)
        self.ctx.adam_step(p64, np.array([2.0, -3.0]), m, v, step=1, lr=0.1, eps=0.0)
        # Step 1 with eps 0: m / (1 - beta1) = g and sqrt(v / (1 - beta2)) = |g|, so lr sign(g).
        self.assertTrue(np.allclose(p64, [0.9, -0.9], rtol=1e-15))
        self.assertTrue(np.allclose(m, [0.2, -0.3], rtol=1e-15))
        with self.assertRaises(clact.Error) as e:
            self.ctx.sgd_step(p, g, step=1, lr=-1.0)
        self.assertEqual(e.exception.status, "INVALID_ARGUMENT")
        self.assertIn("lr", str(e.exception))
        with self.assertRaises(clact.Error) as e:
            self.ctx.sgd_step(p, g, step=2, lr=0.1, momentum=0.9)  # no buffer
        self.assertIn("momentum_buffer", str(e.exception))
        with self.assertRaises(clact.Error):
            self.ctx.sgd_step(p[::2], g[::2], step=1, lr=0.1)  # not contiguous
        with self.assertRaises(clact.Error):
            self.ctx.adamw_step(p, g, m, v, step=1)  # float64 state, float32 param
        with self.assertRaises(clact.Error) as e:
            self.ctx.adam_step(p64, np.zeros(2), m, v, step=1, betas=(0.9, 1.0))
        self.assertIn("beta2", str(e.exception))

    def test_glu(self):
        """F.glu and its gradient against float64 NumPy, every dtype, several dims; odd sizes
        raise naming the dimension."""
        rng = np.random.default_rng(3)
        x = rng.uniform(-6, 6, (3, 4, 6))
        sig = lambda t: 1 / (1 + np.exp(-t))
        for dim in (1, 2, -1, -2):
            h = x.shape[dim] // 2
            a, b = np.take(x, range(h), dim), np.take(x, range(h, 2 * h), dim)
            dy = rng.uniform(-2, 2, a.shape)
            want = a * sig(b)
            want_dx = np.concatenate([dy * sig(b), dy * a * sig(b) * sig(-b)], axis=dim)
            for dtype, rel in ((np.float32, 4e-6), (np.float64, 1e-14), (np.float16, 1e-3)):
                xs, gs = x.astype(dtype), dy.astype(dtype)
                y = self.ctx.glu(xs, dim=dim)
                self.assertEqual((y.dtype, y.shape), (np.dtype(dtype), a.shape))
                dx = self.ctx.glu_backward(xs, gs, dim=dim)
                self.assertEqual((dx.dtype, dx.shape), (np.dtype(dtype), x.shape))
                if dtype != np.float16:
                    self.assertTrue(np.allclose(y, want, rtol=rel, atol=0), f"glu {dtype} {dim}")
                    self.assertTrue(np.allclose(dx, want_dx, rtol=rel, atol=1e-300), f"dx {dim}")
                else:
                    a16 = np.take(xs, range(h), dim).astype(np.float64)
                    b16 = np.take(xs, range(h, 2 * h), dim).astype(np.float64)
                    self.assertTrue(close(y, a16 * sig(b16), rel), f"glu f16 {dim}")
            yb = self.ctx.glu(x.astype(np.float32), dim=dim, dtype="bf16")
            self.assertTrue(np.all((yb.view(np.uint32) & 0xFFFF) == 0), "bf16 values")
        self.assertEqual(self.ctx.glu(x).shape, (3, 4, 3))  # dim -1 by default
        with self.assertRaises(clact.Error) as e:
            self.ctx.glu(np.zeros((3, 5), np.float32), dim=0)
        self.assertEqual(e.exception.status, "INVALID_ARGUMENT")
        self.assertIn("dimension 0 is size 3", str(e.exception))
        with self.assertRaises(clact.Error):
            self.ctx.glu_backward(x, np.zeros((3, 4, 6)))  # dy not of the output's shape

    def test_prelu(self):
        """nn.PReLU with one weight (0-d or (1,)) and one per channel: y and dx exact, dw the
        channel sums; a mismatched weight count raises."""
        rng = np.random.default_rng(4)
        x = rng.uniform(-3, 3, (5, 4, 7)).astype(np.float32)
        dy = rng.uniform(-1, 1, x.shape).astype(np.float32)
        for w in (rng.uniform(-1, 1, 4).astype(np.float32), np.float32(0.25),
                  np.array([0.25], np.float32)):
            wb = np.reshape(w, (1, -1, 1)) if np.size(w) > 1 else w
            y = self.ctx.prelu(x, w)
            self.assertTrue(np.array_equal(y, np.where(x > 0, x, wb * x)))
            dx, dw = self.ctx.prelu_backward(x, w, dy)
            self.assertTrue(np.array_equal(dx, np.where(x > 0, dy, wb * dy)))
            terms = np.where(x > 0, 0, x.astype(np.float64) * dy)
            want = terms.sum(axis=(0, 2)) if np.size(w) > 1 else terms.sum()
            self.assertEqual(dw.shape, np.shape(w))
            self.assertTrue(np.allclose(dw, want, rtol=2e-7, atol=1e-6), f"{dw} {want}")
        d64, w64 = self.ctx.prelu_backward(x.astype(np.float64), np.ones(4), dy.astype(np.float64))
        self.assertEqual((d64.dtype, w64.dtype), (np.float64, np.float64))
        ybf = self.ctx.prelu(x, np.ones(4, np.float32) * 0.1, dtype="bf16")
        self.assertTrue(np.all((ybf.view(np.uint32) & 0xFFFF) == 0), "bf16 values")
        with self.assertRaises(clact.Error) as e:
            self.ctx.prelu(x, np.ones(3, np.float32))
        self.assertIn("channel size = 4", str(e.exception))

    def test_errors(self):
        with self.assertRaises(clact.Error) as e:
            self.ctx.forward("swish", X)
        self.assertIn("swish", str(e.exception))
        with self.assertRaises(clact.Error) as e:
            self.ctx.forward("elu", X, beta=1)
        with self.assertRaises(clact.Error) as e:
            self.ctx.forward("softplus", X, beta=0)
        self.assertEqual(e.exception.status, "INVALID_ARGUMENT")
        with self.assertRaises(clact.Error) as e:
            self.ctx.softmax(np.zeros((2, 3), np.float32), 2)
        self.assertIn("dim", str(e.exception))
        with self.assertRaises(clact.Error):
            clact.Context("no-such-device-anywhere")


class ABITest(unittest.TestCase):
    """The binding's ctypes structs against the C compiler's layout of the header's, as
    tests/abi_layout.c prints it (CTest names that program in CLACT_ABI_LAYOUT): sizes and every
    field's offset. A struct that is too small across clact_activation_default's return made
    the library write past it."""

    def test_struct_layouts(self):
        prog = os.environ.get("CLACT_ABI_LAYOUT")
        if not prog:
            self.skipTest("CLACT_ABI_LAYOUT (the path of tests/abi_layout, built with the "
                          "library) is not set; CTest sets it")
        mirrors = {"clact_activation": clact._Activation,
                   "clact_cross_entropy_desc": clact._CEDesc, "clact_buffer": clact._Buffer,
                   "clact_dense_desc": clact._DenseDesc, "clact_sgd_desc": clact._SGDDesc,
                   "clact_adam_desc": clact._AdamDesc}
        lines = subprocess.run([prog], capture_output=True, text=True, check=True).stdout
        seen = set()
        for line in lines.splitlines():
            name, size, *fields = line.split()
            mirror = mirrors[name]
            seen.add(name)
            self.assertEqual(ctypes.sizeof(mirror), int(size), name)
            c_fields = dict(f.split(":") for f in fields)
            self.assertEqual([f[0] for f in mirror._fields_], list(c_fields), name)
            for field, offset in c_fields.items():
                self.assertEqual(getattr(mirror, field).offset, int(offset), f"{name}.{field}")
        self.assertEqual(seen, set(mirrors))


class ListsTest(unittest.TestCase):
    """The binding's op, dtype and softmax-kind lists are the library's, read here through
    ctypes directly rather than through the binding's own loop."""

    @classmethod
    def setUpClass(cls):
        cls.lib = ctypes.CDLL(os.environ.get("CLACT_LIBRARY") or clact._lib._name)

    def names(self, function):
        f = getattr(self.lib, function)
        f.restype, f.argtypes = ctypes.c_char_p, [ctypes.c_int]
        out = []
        while f(len(out)) is not None:
            out.append(f(len(out)).decode())
        return out

    def values(self, function, names):
        f = getattr(self.lib, function)
        f.restype, f.argtypes = ctypes.c_int, [ctypes.c_char_p, ctypes.POINTER(ctypes.c_int)]
        out = {}
        for name in names:
            value = ctypes.c_int(-1)
            self.assertEqual(f(name.encode(), ctypes.byref(value)), 0, name)
            out[name] = value.value
        return out

    def test_ops(self):
        self.assertEqual(list(clact.OPS), self.names("clact_op_name"))
        self.assertIn("softplus", clact.OPS)

    def test_dtypes(self):
        names = self.names("clact_dtype_name")
        self.assertEqual(list(clact._DTYPES), names)
        self.assertEqual(clact._DTYPES, self.values("clact_dtype_from_name", names))
        self.assertIn("bf16", names)

    def test_softmax_kinds(self):
        names = self.names("clact_softmax_kind_name")
        self.assertEqual(list(clact._KINDS), names)
        self.assertEqual(clact._KINDS, self.values("clact_softmax_kind_from_name", names))
        self.assertIn("log_softmax", names)


class PyOpenCLTest(unittest.TestCase):
    def test_borrowed_queue_buffers_and_events(self):
        plat = [p for p in cl.get_platforms() if p.get_devices()][0]
        cctx = cl.Context([plat.get_devices()[0]])
        for props in (0, cl.command_queue_properties.OUT_OF_ORDER_EXEC_MODE_ENABLE):
            q = cl.CommandQueue(cctx, properties=props)
            ctx = clact.Context.from_queue(q)
            x = np.linspace(-5, 5, 1000).astype(np.float32)
            mf = cl.mem_flags
            xb = cl.Buffer(cctx, mf.READ_WRITE | mf.COPY_HOST_PTR, hostbuf=x)
            yb = cl.Buffer(cctx, mf.READ_WRITE, x.nbytes)
            gate = cl.UserEvent(cctx)
            e1 = ctx.forward_buffers("gelu", x.size, xb, yb, wait_for=[gate])
            e2 = ctx.forward_buffers("tanh", 500, yb, yb, x_offset=500, y_offset=500,
                                     wait_for=[e1])
            e3 = ctx.softmax_buffers(yb, yb, (10, 100), 1, y_offset=0, wait_for=[e2])
            self.assertIsInstance(e3, cl.Event)
            # Every call returned with the gate still closed: nothing has run.
            self.assertNotEqual(e1.command_execution_status, cl.command_execution_status.COMPLETE)
            gate.set_status(cl.command_execution_status.COMPLETE)
            y = np.empty_like(x)
            cl.enqueue_copy(q, y, yb, wait_for=[e3])
            g = np.array([0.5 * v * math.erfc(-v / math.sqrt(2)) for v in x.astype(np.float64)])
            g[500:] = np.tanh(g[500:])
            e = np.exp(g.reshape(10, 100) - g.reshape(10, 100).max(1, keepdims=True))
            want = (e / e.sum(1, keepdims=True)).ravel()
            self.assertTrue(np.allclose(y, want, rtol=2e-5, atol=1e-7), f"queue props {props}")
            # The gradient of tanh from its output, in place over dy, after the forward.
            t = cl.Buffer(cctx, mf.READ_WRITE | mf.COPY_HOST_PTR, hostbuf=x)
            gb = cl.Buffer(cctx, mf.READ_WRITE | mf.COPY_HOST_PTR, hostbuf=np.ones_like(x))
            e4 = ctx.forward_buffers("tanh", x.size, t, t)
            e5 = ctx.backward_buffers("tanh", x.size, gb, gb, y=t, wait_for=[e4])
            dx = np.empty_like(x)
            cl.enqueue_copy(q, dx, gb, wait_for=[e5])
            # From the float y: 1 - y^2 carries y's rounding (2 y 2^-24 absolute).
            self.assertTrue(np.allclose(dx, 1 - np.tanh(x.astype(np.float64)) ** 2, rtol=1e-5,
                                        atol=2.5e-7))
            with self.assertRaises(clact.Error) as err:
                ctx.backward_buffers("gelu", x.size, gb, gb, y=t)
            self.assertIn("needs x", str(err.exception))
            with self.assertRaises(clact.Error) as err:
                ctx.forward_buffers("relu", x.size + 1, xb, yb)
            self.assertIn("do not fit", str(err.exception))
            # glu then prelu's backward (two kernels through the scratch buffer) behind a gate.
            gate = cl.UserEvent(cctx)
            hb = cl.Buffer(cctx, mf.READ_WRITE, x.nbytes // 2)
            w = np.array([0.5, -0.25], np.float32)
            wb = cl.Buffer(cctx, mf.READ_ONLY | mf.COPY_HOST_PTR, hostbuf=w)
            db = cl.Buffer(cctx, mf.READ_WRITE, x.nbytes // 2)
            dwb = cl.Buffer(cctx, mf.READ_WRITE, w.nbytes)
            e6 = ctx.glu_buffers(xb, hb, (10, 2, 50), dim=1, wait_for=[gate])
            e7 = ctx.prelu_backward_buffers(hb, wb, hb, (10, 2, 25), dx=db, dw=dwb,
                                            num_parameters=2, wait_for=[e6])
            self.assertNotEqual(e7.command_execution_status,
                                cl.command_execution_status.COMPLETE)
            gate.set_status(cl.command_execution_status.COMPLETE)
            h, dxp = np.empty(500, np.float32), np.empty(500, np.float32)
            dwp = np.empty(2, np.float32)
            cl.enqueue_copy(q, h, hb, wait_for=[e7])
            cl.enqueue_copy(q, dxp, db, wait_for=[e7])
            cl.enqueue_copy(q, dwp, dwb, wait_for=[e7])
            x3 = x.reshape(10, 2, 50).astype(np.float64)
            want_h = (x3[:, 0] / (1 + np.exp(-x3[:, 1]))).ravel()
            self.assertTrue(np.allclose(h, want_h, rtol=2e-6, atol=1e-30))
            hh = h.reshape(10, 2, 25).astype(np.float64)
            wc = w.reshape(1, 2, 1)
            self.assertTrue(np.array_equal(
                dxp, np.where(hh > 0, hh, wc * hh).astype(np.float32).ravel()))
            self.assertTrue(np.allclose(dwp, np.where(hh > 0, 0, hh * hh).sum(axis=(0, 2)),
                                        rtol=1e-6))
            ctx.close()


if __name__ == "__main__":
    unittest.main(verbosity=1)
