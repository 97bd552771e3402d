# SPDX-License-Identifier: MIT
"""clact from Python: a thin ctypes binding over the shared library (no compiled extension).

Two ways in:
  * NumPy, for convenience: ``Context().forward("gelu", x)`` copies x to the device, runs the op
    and returns a new array (float32, float16 or float64; ``dtype="bf16"`` computes with bf16
    storage on a float32 array and returns the bf16-rounded values as float32).
  * PyOpenCL, for pipelines: ``Context.from_queue(queue)`` borrows a ``pyopencl.CommandQueue``;
    ``forward_buffers`` / ``softmax_buffers`` (and ``glu_buffers``, ``prelu_buffers`` and their
    ``*_backward_buffers``) take ``pyopencl.Buffer`` objects and a ``wait_for`` list of events
    and return a ``pyopencl.Event`` at once, without waiting.

Errors raise ``clact.Error`` with the status name and the library's message. The library is
``CLACT_LIBRARY`` (a path) when set; else the one installed with this binding (``cmake
--install`` installs it as the package ``clact`` and records where the library lies, relative
to the package); else ``libclact.so.0`` on the loader's path.
"""
import ctypes
import ctypes.util
import os

import numpy as np

__all__ = ["Context", "Error", "OPS", "saved", "version"]


def _load(name, *first):
    """Load the first of these that loads: the paths in first (None skipped), name, and what
    find_library gives for name."""
    tried = []
    for candidate in [*first, name, ctypes.util.find_library(name.split(".")[0][3:])]:
        if candidate:
            try:
                return ctypes.CDLL(candidate)
            except OSError as e:
                tried.append(str(e))
    raise OSError(f"cannot load {name}: " + "; ".join(tried))


def _installed_library():
    """The library installed with this package, from the path CMake recorded beside it; None
    from the source tree, where this file is the plain module python/clact.py."""
    try:
        from ._installed import LIBRARY
    except ImportError:
        return None
    return os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), LIBRARY))


if os.environ.get("CLACT_LIBRARY"):
    # Exactly the library named, as the tests need: a wrong path is an error, not a reason to
    # load another copy.
    _lib = ctypes.CDLL(os.environ["CLACT_LIBRARY"])
else:
    _lib = _load("libclact.so.0", _installed_library())
_cl = _load("libOpenCL.so.1")

_p, _sz, _u32, _i32 = ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint32, ctypes.c_int


class _Activation(ctypes.Structure):
    # clact_activation: ctypes lays the fields out as the C compiler does (tests/abi_layout.c
    # prints the C side for python/tests/test_clact.py to compare).
    _fields_ = [("op", _i32), ("param", ctypes.c_double * 2), ("training", _i32),
                ("seed", ctypes.c_ulonglong)]


class _CEDesc(ctypes.Structure):
    _fields_ = [("reduction", _i32), ("ignore_index", ctypes.c_longlong),
                ("label_smoothing", ctypes.c_double), ("target_type", _i32), ("flags", _u32)]


class _Buffer(ctypes.Structure):
    _fields_ = [("mem", ctypes.c_void_p), ("offset", ctypes.c_size_t)]


class _DenseDesc(ctypes.Structure):
    _fields_ = [("in_features", ctypes.c_size_t), ("out_features", ctypes.c_size_t),
                ("act", ctypes.POINTER(_Activation)), ("flags", ctypes.c_uint32)]


class _SGDDesc(ctypes.Structure):
    _fields_ = [("lr", ctypes.c_double), ("momentum", ctypes.c_double),
                ("dampening", ctypes.c_double), ("weight_decay", ctypes.c_double),
                ("nesterov", _i32), ("maximize", _i32)]


class _AdamDesc(ctypes.Structure):
    _fields_ = [("lr", ctypes.c_double), ("beta1", ctypes.c_double), ("beta2", ctypes.c_double),
                ("eps", ctypes.c_double), ("weight_decay", ctypes.c_double), ("amsgrad", _i32),
                ("decoupled", _i32), ("maximize", _i32)]


def _sig(lib, name, res, *args):
    f = getattr(lib, name)
    f.restype, f.argtypes = res, list(args)
    return f


_sig(_lib, "clact_version", ctypes.c_char_p)
_sig(_lib, "clact_status_name", ctypes.c_char_p, _i32)
_sig(_lib, "clact_context_last_error", ctypes.c_char_p, _p)
_sig(_lib, "clact_context_create", _i32, ctypes.POINTER(_p), ctypes.c_char_p)
_sig(_lib, "clact_context_create_from_queue", _i32, ctypes.POINTER(_p), _p)
_sig(_lib, "clact_context_destroy", None, _p)
_sig(_lib, "clact_context_queue", _p, _p)
_sig(_lib, "clact_context_cl_context", _p, _p)
_sig(_lib, "clact_op_from_name", _i32, ctypes.c_char_p, ctypes.POINTER(_i32))
_sig(_lib, "clact_activation_default", _Activation, _i32)
_sig(_lib, "clact_op_param_count", _i32, _i32)
_sig(_lib, "clact_op_param_name", ctypes.c_char_p, _i32, _i32)
_sig(_lib, "clact_op_name", ctypes.c_char_p, _i32)
_sig(_lib, "clact_activation_check", _i32, ctypes.POINTER(_Activation), ctypes.c_char_p, _sz)
_sig(_lib, "clact_dtype_name", ctypes.c_char_p, _i32)
_sig(_lib, "clact_softmax_kind_name", ctypes.c_char_p, _i32)
_sig(_lib, "clact_forward", _i32, _p, ctypes.POINTER(_Activation), _i32, _sz, _p, _sz, _p, _sz,
     _u32, ctypes.POINTER(_p), ctypes.POINTER(_p))
_sig(_lib, "clact_backward_saved", _u32, ctypes.POINTER(_Activation))
_sig(_lib, "clact_backward", _i32, _p, ctypes.POINTER(_Activation), _i32, _sz, _p, _sz, _p, _sz,
     _p, _sz, _p, _sz, _u32, ctypes.POINTER(_p), ctypes.POINTER(_p))
_sig(_lib, "clact_dense_forward", _i32, _p, ctypes.POINTER(_DenseDesc), _i32, _sz, _Buffer, _Buffer,
     _Buffer, _Buffer, _Buffer, _u32, ctypes.POINTER(_p), ctypes.POINTER(_p))
_sig(_lib, "clact_dense_backward", _i32, _p, ctypes.POINTER(_DenseDesc), _i32, _sz, _Buffer,
     _Buffer, _Buffer, _Buffer, _Buffer, _Buffer, _Buffer, _Buffer, _u32, ctypes.POINTER(_p),
     ctypes.POINTER(_p))
_sig(_lib, "clact_softmax", _i32, _p, _i32, _u32, _i32, _i32, ctypes.POINTER(_sz), _i32, _p, _sz,
     _p, _sz, _u32, ctypes.POINTER(_p), ctypes.POINTER(_p))
_sig(_lib, "clact_glu", _i32, _p, _i32, _i32, ctypes.POINTER(_sz), _i32, _p, _sz, _p, _sz, _u32,
     ctypes.POINTER(_p), ctypes.POINTER(_p))
_sig(_lib, "clact_glu_backward", _i32, _p, _i32, _i32, ctypes.POINTER(_sz), _i32, _p, _sz, _p, _sz,
     _p, _sz, _u32, ctypes.POINTER(_p), ctypes.POINTER(_p))
_sig(_lib, "clact_prelu", _i32, _p, _i32, _i32, ctypes.POINTER(_sz), _sz, _p, _sz, _p, _sz, _p,
     _sz, _u32, ctypes.POINTER(_p), ctypes.POINTER(_p))
_sig(_lib, "clact_prelu_backward", _i32, _p, _i32, _i32, ctypes.POINTER(_sz), _sz, _p, _sz, _p,
     _sz, _p, _sz, _p, _sz, _p, _sz, _u32, _u32, ctypes.POINTER(_p), ctypes.POINTER(_p))
_sig(_lib, "clact_context_check", _i32, _p)
_sig(_lib, "clact_cross_entropy_default", _CEDesc)
_sig(_lib, "clact_cross_entropy", _i32, _p, ctypes.POINTER(_CEDesc), _i32, _i32,
     ctypes.POINTER(_sz), _p, _sz, _p, _sz, _p, _sz, _p, _sz, _p, _sz, _u32, ctypes.POINTER(_p),
     ctypes.POINTER(_p))
_sig(_lib, "clact_sgd_default", _SGDDesc, ctypes.c_double)
_sig(_lib, "clact_adam_default", _AdamDesc, ctypes.c_double)
_sig(_lib, "clact_adamw_default", _AdamDesc, ctypes.c_double)
_sig(_lib, "clact_sgd_step", _i32, _p, ctypes.POINTER(_SGDDesc), _i32, _sz, ctypes.c_ulonglong,
     _Buffer, _Buffer, _Buffer, _u32, ctypes.POINTER(_p), ctypes.POINTER(_p))
_sig(_lib, "clact_adam_step", _i32, _p, ctypes.POINTER(_AdamDesc), _i32, _sz, ctypes.c_ulonglong,
     _Buffer, _Buffer, _Buffer, _Buffer, _Buffer, _u32, ctypes.POINTER(_p), ctypes.POINTER(_p))
_sig(_cl, "clCreateBuffer", _p, _p, ctypes.c_uint64, _sz, _p, ctypes.POINTER(_i32))
_sig(_cl, "clReleaseMemObject", _i32, _p)
_sig(_cl, "clEnqueueWriteBuffer", _i32, _p, _p, _u32, _sz, _sz, _p, _u32, ctypes.POINTER(_p),
     ctypes.POINTER(_p))
_sig(_cl, "clEnqueueReadBuffer", _i32, _p, _p, _u32, _sz, _sz, _p, _u32, ctypes.POINTER(_p), _p)
_sig(_cl, "clReleaseEvent", _i32, _p)


def _names(name_of):
    """{name: value} of one of the header's lists, read through its name function, which
    returns NULL past the last value (values run from 0 without gaps)."""
    names = {}
    while (name := name_of(len(names))) is not None:
        names[name.decode()] = len(names)
    return names


# The header's lists, read from the library at import so that a new op, dtype or softmax kind
# needs no edit here.
_DTYPES = _names(_lib.clact_dtype_name)
_KINDS = _names(_lib.clact_softmax_kind_name)
OPS = tuple(_names(_lib.clact_op_name))

_CL_MEM_READ_WRITE = 1
_CE_VALIDATE = 2  # CLACT_CE_VALIDATE
# How the library's dtypes travel in NumPy arrays; bf16 has no NumPy type (see _prepare).
_NP = {np.dtype(np.float32): "f32", np.dtype(np.float16): "f16", np.dtype(np.float64): "f64"}
_TARGETS = {np.dtype(np.int64): 0, np.dtype(np.int32): 1}
_REDUCTIONS = {"none": 0, "mean": 1, "sum": 2}


class Error(RuntimeError):
    """A clact call failed: ``status`` is the status name, the message the library's detail."""

    def __init__(self, status, message):
        super().__init__(f"{status}: {message}")
        self.status = status


def version():
    return _lib.clact_version().decode()


def _status_name(st):
    return _lib.clact_status_name(st).decode()


def _bf16_round(a):
    """float32 values rounded to bf16 (nearest even), as float32; NaN stays NaN."""
    u = np.ascontiguousarray(a, dtype=np.float32).view(np.uint32)
    r = ((u + np.uint32(0x7FFF) + ((u >> 16) & 1)) >> 16) << 16
    r = np.where(np.isnan(a), u | np.uint32(0x400000), r).astype(np.uint32)
    return r.view(np.float32)


def _activation(op, params):
    """The descriptor for op with PyTorch's keyword parameters (the library's names), gelu's
    approximate='none'|'tanh', and rrelu's training (bool) and seed (0 to 2**64 - 1; training
    needs it, as the backward needs the forward's seed to draw the same slopes), checked by
    clact_activation_check: a bad descriptor raises Error with the library's message here, before
    any buffer is made (threshold without both threshold= and value=, hardtanh with
    max_val < min_val, ...)."""
    code = _i32()
    name = "gelu_tanh" if op == "gelu" and params.get("approximate") == "tanh" else op
    if _lib.clact_op_from_name(name.encode(), ctypes.byref(code)) != 0:
        raise Error("INVALID_ARGUMENT", f"unknown op {op!r} (one of {', '.join(OPS)})")
    act = _lib.clact_activation_default(code.value)
    names = [_lib.clact_op_param_name(code.value, i).decode()
             for i in range(_lib.clact_op_param_count(code.value))]
    for key, value in params.items():
        if key == "approximate" and op == "gelu":
            if value not in ("none", "tanh"):
                raise Error("INVALID_ARGUMENT", f"approximate must be 'none' or 'tanh', not {value!r}")
            continue
        if key in ("training", "seed") and op == "rrelu":
            continue
        if key not in names:
            raise Error("INVALID_ARGUMENT", f"{op} takes no parameter {key!r}")
        act.param[names.index(key)] = float(value)
    if op == "rrelu":
        training, seed = params.get("training", False), params.get("seed")
        if not isinstance(training, (bool, int, np.bool_, np.integer)) or training not in (0, 1):
            raise Error("INVALID_ARGUMENT", f"rrelu: training must be True or False, not {training!r}")
        if seed is not None and (not isinstance(seed, (int, np.integer))
                                 or isinstance(seed, bool) or not 0 <= int(seed) < 2**64):
            raise Error("INVALID_ARGUMENT",
                        f"rrelu: seed must be an integer from 0 to 2**64 - 1, not {seed!r}")
        if training and seed is None:
            raise Error("INVALID_ARGUMENT", "rrelu: training=True needs seed= (the backward "
                                            "needs the forward's seed to draw the same slopes)")
        if seed is not None and not training:
            raise Error("INVALID_ARGUMENT", "rrelu: seed= needs training=True (evaluation mode "
                                            "draws nothing)")
        act.training, act.seed = int(training), int(seed or 0)
    why = ctypes.create_string_buffer(256)
    st = _lib.clact_activation_check(ctypes.byref(act), why, len(why))
    if st != 0:
        raise Error(_status_name(st), why.value.decode())
    return act


def saved(op, **params):
    """Which saved tensors the backward of op can start from: a subset of {"x", "y"}."""
    bits = _lib.clact_backward_saved(ctypes.byref(_activation(op, params)))
    return {name for bit, name in ((1, "x"), (2, "y")) if bits & bit}


def _waits(wait_for):
    evs = [e.int_ptr for e in (wait_for or [])]
    return len(evs), ((_p * len(evs))(*evs) if evs else None)


class Context:
    """A clact context: its own device and queue (``Context(device_spec)``), or a borrowed
    PyOpenCL queue (``Context.from_queue(queue)``)."""

    def __init__(self, device=None, _handle=None, _queue=None):
        if _handle is None:
            h = _p()
            st = _lib.clact_context_create(ctypes.byref(h), device.encode() if device else None)
            if st != 0:
                raise Error(_status_name(st), _lib.clact_context_last_error(None).decode())
            _handle = h
        self._h = _handle
        self._queue = _queue  # keeps a borrowed pyopencl queue alive

    @classmethod
    def from_queue(cls, queue):
        h = _p()
        st = _lib.clact_context_create_from_queue(ctypes.byref(h), queue.int_ptr)
        if st != 0:
            raise Error(_status_name(st), _lib.clact_context_last_error(None).decode())
        return cls(_handle=h, _queue=queue)

    def check(self):
        """Wait for the context's queue and raise Error for what only the device could see since
        the last check (a cross-entropy class index out of range, with its position): the
        buffer API never blocks, so errors found on the device surface here."""
        self._check(_lib.clact_context_check(self._h))

    def close(self):
        if getattr(self, "_h", None):
            _lib.clact_context_destroy(self._h)
            self._h = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        self.close()

    def _check(self, st):
        if st != 0:
            raise Error(_status_name(st), _lib.clact_context_last_error(self._h).decode())

    # --- PyOpenCL buffers ------------------------------------------------------------------
    @staticmethod
    def _pyopencl():
        import pyopencl  # only the buffer API needs it

        return pyopencl

    def forward_buffers(self, op, n, x, y, dtype="f32", x_offset=0, y_offset=0, wait_for=None,
                        **params):
        """Enqueue ``y[y_offset + i] = op(x[x_offset + i])``, i < n, on pyopencl Buffers;
        offsets in elements. Returns a ``pyopencl.Event`` without waiting."""
        cl = self._pyopencl()
        act = _activation(op, params)
        nw, wl = _waits(wait_for)
        ev = _p()
        self._check(_lib.clact_forward(self._h, ctypes.byref(act), _DTYPES[dtype], n, x.int_ptr,
                                       x_offset, y.int_ptr, y_offset, nw, wl, ctypes.byref(ev)))
        return cl.Event.from_int_ptr(ev.value, retain=False)

    def backward_buffers(self, op, n, dy, dx, x=None, y=None, dtype="f32", x_offset=0,
                         y_offset=0, dy_offset=0, dx_offset=0, wait_for=None, **params):
        """Enqueue ``dx = dy * op'(.)`` (torch.autograd's gradient) over n elements of pyopencl
        Buffers, from the forward's input x or, where the op allows (``saved(op)``), its output
        y; dx may be dy. Returns a ``pyopencl.Event`` without waiting."""
        cl = self._pyopencl()
        act = _activation(op, params)
        nw, wl = _waits(wait_for)
        ev = _p()
        self._check(_lib.clact_backward(self._h, ctypes.byref(act), _DTYPES[dtype], n,
                                        x.int_ptr if x is not None else None, x_offset,
                                        y.int_ptr if y is not None else None, y_offset, dy.int_ptr,
                                        dy_offset, dx.int_ptr, dx_offset, nw, wl, ctypes.byref(ev)))
        return cl.Event.from_int_ptr(ev.value, retain=False)

    def softmax_buffers(self, x, y, shape, dim, kind="softmax", dtype="f32", safe=False,
                        x_offset=0, y_offset=0, wait_for=None):
        """Enqueue the softmax family over ``dim`` of a C-order tensor of ``shape`` held in
        pyopencl Buffers. Returns a ``pyopencl.Event`` without waiting."""
        cl = self._pyopencl()
        shp = (_sz * len(shape))(*shape)
        nw, wl = _waits(wait_for)
        ev = _p()
        self._check(_lib.clact_softmax(self._h, _KINDS[kind], 1 if safe else 0, _DTYPES[dtype],
                                       len(shape), shp, dim, x.int_ptr, x_offset, y.int_ptr,
                                       y_offset, nw, wl, ctypes.byref(ev)))
        return cl.Event.from_int_ptr(ev.value, retain=False)

    def glu_buffers(self, x, y, shape, dim=-1, dtype="f32", x_offset=0, y_offset=0,
                    wait_for=None):
        """Enqueue ``F.glu`` over ``dim`` of a C-order tensor of ``shape`` (its size along dim
        even) in pyopencl Buffers; y holds half as many elements. Returns a ``pyopencl.Event``."""
        cl = self._pyopencl()
        shp = (_sz * len(shape))(*shape)
        nw, wl = _waits(wait_for)
        ev = _p()
        self._check(_lib.clact_glu(self._h, _DTYPES[dtype], len(shape), shp, dim, x.int_ptr,
                                   x_offset, y.int_ptr, y_offset, nw, wl, ctypes.byref(ev)))
        return cl.Event.from_int_ptr(ev.value, retain=False)

    def glu_backward_buffers(self, x, dy, dx, shape, dim=-1, dtype="f32", x_offset=0,
                             dy_offset=0, dx_offset=0, wait_for=None):
        """Enqueue GLU's gradient dx (x's shape; may be x itself) from x and the output gradient
        dy, on pyopencl Buffers. Returns a ``pyopencl.Event``."""
        cl = self._pyopencl()
        shp = (_sz * len(shape))(*shape)
        nw, wl = _waits(wait_for)
        ev = _p()
        self._check(_lib.clact_glu_backward(self._h, _DTYPES[dtype], len(shape), shp, dim,
                                            x.int_ptr, x_offset, dy.int_ptr, dy_offset,
                                            dx.int_ptr, dx_offset, nw, wl, ctypes.byref(ev)))
        return cl.Event.from_int_ptr(ev.value, retain=False)

    def prelu_buffers(self, x, weight, y, shape, num_parameters=1, dtype="f32", x_offset=0,
                      weight_offset=0, y_offset=0, wait_for=None):
        """Enqueue ``nn.PReLU(num_parameters)`` on a tensor of ``shape`` in pyopencl Buffers:
        weight holds num_parameters values (1, or shape[1]); y may be x. Returns an Event."""
        cl = self._pyopencl()
        shp = (_sz * max(len(shape), 1))(*shape)
        nw, wl = _waits(wait_for)
        ev = _p()
        self._check(_lib.clact_prelu(self._h, _DTYPES[dtype], len(shape), shp, num_parameters,
                                     weight.int_ptr, weight_offset, x.int_ptr, x_offset, y.int_ptr,
                                     y_offset, nw, wl, ctypes.byref(ev)))
        return cl.Event.from_int_ptr(ev.value, retain=False)

    def prelu_backward_buffers(self, x, weight, dy, shape, dx=None, dw=None, num_parameters=1,
                               accumulate=False, dtype="f32", x_offset=0, weight_offset=0,
                               dy_offset=0, dx_offset=0, dw_offset=0, wait_for=None):
        """Enqueue PReLU's gradients on pyopencl Buffers: dx (x's shape; may be x or dy) and dw
        (num_parameters values; added to with accumulate), either one None. Returns an Event."""
        cl = self._pyopencl()
        shp = (_sz * max(len(shape), 1))(*shape)
        nw, wl = _waits(wait_for)
        ev = _p()
        self._check(_lib.clact_prelu_backward(
            self._h, _DTYPES[dtype], len(shape), shp, num_parameters, weight.int_ptr,
            weight_offset, x.int_ptr, x_offset, dy.int_ptr, dy_offset,
            dx.int_ptr if dx is not None else None, dx_offset,
            dw.int_ptr if dw is not None else None, dw_offset, 1 if accumulate else 0, nw, wl,
            ctypes.byref(ev)))
        return cl.Event.from_int_ptr(ev.value, retain=False)

    # --- NumPy ------------------------------------------------------------------------------
    def _run(self, arrays, outputs, launch):
        """Copy arrays to new device buffers, run launch(buffers) -> event, read outputs
        (indices into arrays, overwritten in place) after it, release everything."""
        ctxh = _lib.clact_context_cl_context(self._h)
        q = _lib.clact_context_queue(self._h)
        bufs = []
        try:
            for a in arrays:
                err = _i32()
                b = _cl.clCreateBuffer(ctxh, _CL_MEM_READ_WRITE, max(a.nbytes, 1), None,
                                       ctypes.byref(err))
                if not b:
                    raise Error("OPENCL_ERROR", f"clCreateBuffer of {a.nbytes} bytes: {err.value}")
                bufs.append(b)
                if a.nbytes and _cl.clEnqueueWriteBuffer(q, b, 1, 0, a.nbytes, a.ctypes.data, 0,
                                                         None, None):
                    raise Error("OPENCL_ERROR", "clEnqueueWriteBuffer failed")
            ev = launch(bufs)
            for i in outputs:
                a = arrays[i]
                if a.nbytes:
                    wl = (_p * 1)(ev) if ev else None
                    if _cl.clEnqueueReadBuffer(q, bufs[i], 1, 0, a.nbytes, a.ctypes.data,
                                               1 if ev else 0, wl, None):
                        raise Error("OPENCL_ERROR", "clEnqueueReadBuffer failed")
            if ev:
                _cl.clReleaseEvent(ev)
        finally:
            for b in bufs:
                _cl.clReleaseMemObject(b)

    def _prepare(self, x, dtype):
        x = np.asarray(x)
        if dtype is None:
            if x.dtype not in _NP:
                x = x.astype(np.float32)
            return np.ascontiguousarray(x), _NP[x.dtype], None
        if dtype == "bf16":
            x32 = np.ascontiguousarray(x, dtype=np.float32)
            bits = (_bf16_round(x32).view(np.uint32) >> 16).astype(np.uint16)
            return bits, "bf16", lambda b: (b.astype(np.uint32) << 16).view(np.float32)
        want = {name: np_dtype for np_dtype, name in _NP.items()}[dtype]
        return np.ascontiguousarray(x, dtype=want), dtype, None

    def forward(self, op, x, dtype=None, **params):
        """op(x) as a new NumPy array of x's shape (see the module's docstring for dtypes)."""
        act = _activation(op, params)
        a, dt, back = self._prepare(x, dtype)
        a = a.copy()

        def launch(b):
            ev = _p()
            self._check(_lib.clact_forward(self._h, ctypes.byref(act), _DTYPES[dt], a.size, b[0],
                                           0, b[0], 0, 0, None, ctypes.byref(ev)))
            return ev.value

        self._run([a], [0], launch)
        return back(a) if back else a

    def backward(self, op, x, dy, dtype=None, **params):
        """The gradient of op at x for the output gradient dy (torch.autograd's), as a new NumPy
        array; x and dy have one shape (dtypes as forward)."""
        act = _activation(op, params)
        a, dt, back = self._prepare(x, dtype)
        g, _, _ = self._prepare(dy, dt if dtype is None else dtype)
        if a.shape != g.shape:
            raise Error("INVALID_ARGUMENT", f"x {a.shape} and dy {g.shape} differ in shape")
        g = g.copy()

        def launch(b):
            ev = _p()
            self._check(_lib.clact_backward(self._h, ctypes.byref(act), _DTYPES[dt], a.size, b[0],
                                            0, None, 0, b[1], 0, b[1], 0, 0, None,
                                            ctypes.byref(ev)))
            return ev.value

        self._run([a, g], [1], launch)
        return back(g) if back else g

    def glu(self, x, dim=-1, dtype=None):
        """``F.glu(x, dim)`` as a new NumPy array: x's shape with dim halved (its size must be
        even); dtypes as forward."""
        a, dt, back = self._prepare(x, dtype)
        shape = a.shape
        out = list(shape)
        if shape and -len(shape) <= dim < len(shape):
            out[dim] //= 2
        y = np.zeros(out, a.dtype)
        shp = (_sz * max(len(shape), 1))(*shape)

        def launch(b):
            ev = _p()
            self._check(_lib.clact_glu(self._h, _DTYPES[dt], len(shape), shp, dim, b[0], 0, b[1],
                                       0, 0, None, ctypes.byref(ev)))
            return ev.value

        self._run([a, y], [1], launch)
        return back(y) if back else y

    def glu_backward(self, x, dy, dim=-1, dtype=None):
        """GLU's gradient at x for the output gradient dy (x's shape with dim halved), as
        torch.autograd gives it: a new array of x's shape."""
        a, dt, back = self._prepare(x, dtype)
        g, _, _ = self._prepare(dy, dt if dtype is None else dtype)
        shape = a.shape
        half = list(shape)
        if shape and -len(shape) <= dim < len(shape):
            half[dim] //= 2
        if list(g.shape) != half:
            raise Error("INVALID_ARGUMENT", f"dy {g.shape} is not glu's output shape for x "
                                            f"{a.shape} and dim {dim}")
        dx = np.zeros_like(a)
        shp = (_sz * max(len(shape), 1))(*shape)

        def launch(b):
            ev = _p()
            self._check(_lib.clact_glu_backward(self._h, _DTYPES[dt], len(shape), shp, dim, b[0],
                                                0, b[1], 0, b[2], 0, 0, None, ctypes.byref(ev)))
            return ev.value

        self._run([a, g, dx], [2], launch)
        return back(dx) if back else dx

    def _prelu_inputs(self, x, weight, dtype):
        a, dt, back = self._prepare(x, dtype)
        w, _, _ = self._prepare(weight, dt if dtype is None else dtype)
        if w.ndim > 1:
            raise Error("INVALID_ARGUMENT", f"weight has shape {w.shape}: it must be 0-d or 1-d")
        return a, w.reshape(-1), dt, back, (_sz * max(a.ndim, 1))(*a.shape)

    def prelu(self, x, weight, dtype=None):
        """``F.prelu(x, weight)`` as a new NumPy array: weight holds 1 value, or one per channel
        (x.shape[1]); it takes x's dtype."""
        a, w, dt, back, shp = self._prelu_inputs(x, weight, dtype)
        y = np.zeros_like(a)

        def launch(b):
            ev = _p()
            self._check(_lib.clact_prelu(self._h, _DTYPES[dt], a.ndim, shp, w.size, b[1], 0, b[0],
                                         0, b[2], 0, 0, None, ctypes.byref(ev)))
            return ev.value

        self._run([a, w, y], [2], launch)
        return back(y) if back else y

    def prelu_backward(self, x, weight, dy, dtype=None):
        """PReLU's gradients for the output gradient dy, as torch.autograd gives them: (dx, dw),
        dx of x's shape, dw of weight's."""
        a, w, dt, back, shp = self._prelu_inputs(x, weight, dtype)
        g, _, _ = self._prepare(dy, dt if dtype is None else dtype)
        if g.shape != a.shape:
            raise Error("INVALID_ARGUMENT", f"x {a.shape} and dy {g.shape} differ in shape")
        dx, dw = np.zeros_like(a), np.zeros_like(w)

        def launch(b):
            ev = _p()
            self._check(_lib.clact_prelu_backward(
                self._h, _DTYPES[dt], a.ndim, shp, w.size, b[1], 0, b[0], 0, b[2], 0, b[3], 0,
                b[4], 0, 0, 0, None, ctypes.byref(ev)))
            return ev.value

        self._run([a, w, g, dx, dw], [3, 4], launch)
        wshape = np.shape(weight)
        return (back(dx), back(dw).reshape(wshape)) if back else (dx, dw.reshape(wshape))

    def _dense_desc(self, w, act, accumulate, params):
        a = _activation(act, params) if act else None
        d = _DenseDesc(w.shape[1], w.shape[0], ctypes.pointer(a) if a is not None else None,
                       1 if accumulate else 0)
        return d, a  # a is kept alive with d

    def dense_forward(self, x, w, b=None, act=None, keep_z=False, **params):
        """``act(x @ w.T + b)`` as torch.nn.Linear(in, out) then the activation (None: none):
        x (batch, in), w (out, in), b (out) or None; float32 or float64 (float16 on devices
        with cl_khr_fp16). Returns y, or (y, z) with z the pre-activation when keep_z."""
        x, dt, _ = self._prepare(x, None)
        w, _, _ = self._prepare(w, dt)
        if x.ndim != 2 or w.ndim != 2 or x.shape[1] != w.shape[1]:
            raise Error("INVALID_ARGUMENT", f"x {x.shape} and w {w.shape} do not make a layer")
        d, keep = self._dense_desc(w, act, False, params)
        y = np.zeros((x.shape[0], w.shape[0]), x.dtype)
        z = np.zeros_like(y)
        arrays = [x, w, y, z] + ([self._prepare(b, dt)[0]] if b is not None else [])

        def launch(bf):
            ev = _p()
            bias = _Buffer(bf[4], 0) if b is not None else _Buffer(None, 0)
            self._check(_lib.clact_dense_forward(
                self._h, ctypes.byref(d), _DTYPES[dt], x.shape[0], _Buffer(bf[0], 0),
                _Buffer(bf[1], 0), bias, _Buffer(bf[3] if keep_z else None, 0),
                _Buffer(bf[2], 0), 0, None, ctypes.byref(ev)))
            return ev.value

        self._run(arrays, [2, 3] if keep_z else [2], launch)
        del keep
        return (y, z) if keep_z else y

    def dense_backward(self, x, w, dy, z=None, y=None, act=None, dw=None, db=None, **params):
        """The gradients of dense_forward for the output gradient dy, from the pre-activation z
        (or the output y where the activation allows): returns (dx, dw, db) as torch.autograd
        gives them. With dw and db given, adds to them (as PyTorch accumulates into .grad)."""
        x, dt, _ = self._prepare(x, None)
        w, _, _ = self._prepare(w, dt)
        g, _, _ = self._prepare(dy, dt)
        acc = dw is not None and db is not None
        d, keep = self._dense_desc(w, act, acc, params)
        dx = np.zeros_like(x)
        gw = np.array(dw, dtype=x.dtype, copy=True) if acc else np.zeros_like(w)
        gb = np.array(db, dtype=x.dtype, copy=True) if acc else np.zeros(w.shape[0], x.dtype)
        saved = self._prepare(z if z is not None else y if y is not None else g, dt)[0]
        arrays = [x, w, g, saved, dx, gw, gb]

        def launch(bf):
            ev = _p()
            zb = _Buffer(bf[3] if z is not None else None, 0)
            yb = _Buffer(bf[3] if z is None and y is not None else None, 0)
            self._check(_lib.clact_dense_backward(
                self._h, ctypes.byref(d), _DTYPES[dt], x.shape[0], _Buffer(bf[0], 0),
                _Buffer(bf[1], 0), zb, yb, _Buffer(bf[2], 0), _Buffer(bf[4], 0),
                _Buffer(bf[5], 0), _Buffer(bf[6], 0), 0, None, ctypes.byref(ev)))
            return ev.value

        self._run(arrays, [4, 5, 6], launch)
        del keep
        return dx, gw, gb

    def softmax(self, x, dim, kind="softmax", dtype=None, safe=False):
        """softmax / log_softmax / softmin of x over dim, as a new NumPy array."""
        a, dt, back = self._prepare(x, dtype)
        a = a.copy()
        shape = a.shape or (1,)
        shp = (_sz * len(shape))(*shape)

        def launch(b):
            ev = _p()
            self._check(_lib.clact_softmax(self._h, _KINDS[kind], 1 if safe else 0, _DTYPES[dt],
                                           len(shape), shp, dim, b[0], 0, b[0], 0, 0, None,
                                           ctypes.byref(ev)))
            return ev.value

        self._run([a], [0], launch)
        return back(a) if back else a

    def cross_entropy(self, logits, target, weight=None, reduction="mean", ignore_index=-100,
                      label_smoothing=0.0, grad=False):
        """PyTorch's cross_entropy(logits, target); with grad=True also d loss / d logits.
        Index targets are int64 or int32 arrays; a float target of the logits' shape holds
        probabilities. Returns the loss (a 0-d array for mean and sum), or (loss, grad)."""
        x, dt, _ = self._prepare(logits, None)
        t = np.ascontiguousarray(target)
        d = _lib.clact_cross_entropy_default()
        d.reduction, d.ignore_index = _REDUCTIONS[reduction], ignore_index
        d.label_smoothing = label_smoothing
        # This call waits for its results anyway, so it asks the library to validate the class
        # indices first (CLACT_CE_VALIDATE): a bad index raises Error naming it, as PyTorch raises.
        d.flags = _CE_VALIDATE
        if t.dtype in _TARGETS:
            d.target_type = _TARGETS[t.dtype]
        else:
            d.target_type, t = 2, np.ascontiguousarray(t, dtype=x.dtype)
        shape = x.shape
        positions = (shape[0] if len(shape) > 1 else 1) * int(np.prod(shape[2:], dtype=np.int64))
        loss = np.zeros(positions if reduction == "none" else 1, dtype=x.dtype)
        g = np.zeros_like(x)
        w = None if weight is None else np.ascontiguousarray(weight, dtype=x.dtype)
        shp = (_sz * len(shape))(*shape)
        arrays = [x, t, loss, g] + ([w] if w is not None else [])

        def launch(b):
            ev = _p()
            self._check(_lib.clact_cross_entropy(self._h, ctypes.byref(d), _DTYPES[dt], len(shape),
                                                 shp, b[0], 0, b[1], 0,
                                                 b[4] if w is not None else None, 0, b[2], 0,
                                                 b[3] if grad else None, 0, 0, None,
                                                 ctypes.byref(ev)))
            return ev.value

        self._run(arrays, [2, 3] if grad else [2], launch)
        out = loss if reduction == "none" else loss.reshape(())
        return (out, g) if grad else out

    # --- Optimizers (NumPy, in place) -------------------------------------------------------
    def _optimizer_step(self, param, grad, state, launch):
        """Run launch(dtype name, n, {name: device buffer}) for param, grad and the (name, array)
        pairs of state that are not None, then read param and state back into themselves: each
        must be a writeable C-contiguous float16, float32 or float64 array of param's dtype and
        shape, since the step updates it in place; grad is converted to param's dtype."""
        arrays = [("param", param)] + [(name, a) for name, a in state if a is not None]
        for name, a in arrays:
            if not isinstance(a, np.ndarray) or a.dtype not in _NP:
                raise Error("INVALID_ARGUMENT", f"{name} must be a float16, float32 or float64 "
                                                f"NumPy array (it is updated in place)")
            if a.dtype != param.dtype or a.shape != param.shape:
                raise Error("INVALID_ARGUMENT", f"{name} {a.dtype} {a.shape} differs from param "
                                                f"{param.dtype} {param.shape}")
            if not (a.flags.c_contiguous and a.flags.writeable):
                raise Error("INVALID_ARGUMENT", f"{name} must be C-contiguous and writeable")
        g = np.ascontiguousarray(grad, dtype=param.dtype)
        if g.shape != param.shape:
            raise Error("INVALID_ARGUMENT", f"grad {g.shape} and param {param.shape} differ")
        names = [name for name, _ in arrays] + ["grad"]
        given = [a for _, a in arrays] + [g]
        # The device buffers by name; every array but grad is read back into itself.
        self._run(given, list(range(len(arrays))),
                  lambda bufs: launch(_NP[param.dtype], param.size, dict(zip(names, bufs))))

    def sgd_step(self, param, grad, momentum_buffer=None, *, step, lr, momentum=0.0,
                 dampening=0.0, weight_decay=0.0, nesterov=False, maximize=False):
        """One ``torch.optim.SGD`` step (PyTorch 1.13, foreach=False) on NumPy arrays, in place:
        param, and with momentum the momentum_buffer (PyTorch's ``state['momentum_buffer']``,
        whose contents step 1 ignores: PyTorch creates it then as a copy of the gradient). step
        is this step's count from 1. See clact_sgd_step in the header for the exact formulas."""
        d = _lib.clact_sgd_default(lr)
        d.momentum, d.dampening, d.weight_decay = momentum, dampening, weight_decay
        d.nesterov, d.maximize = int(nesterov), int(maximize)

        def launch(dt, n, b):
            ev = _p()
            self._check(_lib.clact_sgd_step(
                self._h, ctypes.byref(d), _DTYPES[dt], n, step, _Buffer(b["param"], 0),
                _Buffer(b["grad"], 0), _Buffer(b.get("momentum_buffer"), 0), 0, None,
                ctypes.byref(ev)))
            return ev.value

        self._optimizer_step(param, grad, [("momentum_buffer", momentum_buffer)], launch)

    def adam_step(self, param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq=None, *, step, lr=1e-3,
                  betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False, maximize=False,
                  decoupled=False):
        """One ``torch.optim.Adam`` step (``decoupled=True``: AdamW's weight decay) on NumPy
        arrays, in place: param, exp_avg, exp_avg_sq and, with amsgrad, max_exp_avg_sq
        (PyTorch's state of those names, zeros before step 1). step is PyTorch's
        ``state['step']`` after this step's increment (1, 2, ...). See clact_adam_step in the
        header for the exact formulas."""
        d = _lib.clact_adam_default(lr)
        d.beta1, d.beta2 = betas
        d.eps, d.weight_decay = eps, weight_decay
        d.amsgrad, d.decoupled, d.maximize = int(amsgrad), int(decoupled), int(maximize)

        def launch(dt, n, b):
            ev = _p()
            self._check(_lib.clact_adam_step(
                self._h, ctypes.byref(d), _DTYPES[dt], n, step, _Buffer(b["param"], 0),
                _Buffer(b["grad"], 0), _Buffer(b["exp_avg"], 0), _Buffer(b["exp_avg_sq"], 0),
                _Buffer(b.get("max_exp_avg_sq"), 0), 0, None, ctypes.byref(ev)))
            return ev.value

        self._optimizer_step(param, grad, [("exp_avg", exp_avg), ("exp_avg_sq", exp_avg_sq),
                                           ("max_exp_avg_sq", max_exp_avg_sq)], launch)

    def adamw_step(self, param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq=None, *, step,
                   lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False,
                   maximize=False):
        """One ``torch.optim.AdamW`` step: adam_step with AdamW's defaults and decoupled weight
        decay."""
        self.adam_step(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, step=step, lr=lr,
                       betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                       maximize=maximize, decoupled=True)
