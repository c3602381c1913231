"""numpy's own float64 inner loops of ``log`` and ``exp``, callable from compiled code.

numpy computes ``np.log``/``np.exp`` of float64 arrays with its own SIMD kernels (SVML or its AVX512F code where the
CPU has it), which differ from the C library's ``log``/``exp`` (what numba calls) in the last bit for a few percent
of arguments. The compiled evaluator calls numpy's loops instead, so its transcendental values are numpy's, bit for
bit, on every platform: :func:`float64_loop` reads the loop that numpy itself would pick for ``d -> d`` from the
ufunc's public C struct (``PyUFuncObject``: ``functions``, ``data``, ``types``), checks the struct by its
``nin``/``nout``/``ntypes``/``name`` fields, and checks the loop against the ufunc on edge values and on 10,000
random arguments. Where any check fails it returns ``None`` and the compiled code uses the C library's function
instead (then within 1 ulp of numpy: :data:`LIBM_ULPS`).
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass

import numpy as np
from llvmlite import ir
from numba.core import types
from numba.extending import intrinsic

LIBM_ULPS = 1  # bound on |libm - numpy| for log and exp, in units in the last place (checked by the tests)
NPY_DOUBLE = 12
# the loop's C signature, with its pointers passed as integers (same registers on every 64-bit ABI numba targets):
# void loop(char **args, npy_intp const *dimensions, npy_intp const *steps, void *data)
LOOP_PROTO = ctypes.CFUNCTYPE(None, ctypes.c_size_t, ctypes.c_size_t, ctypes.c_size_t, ctypes.c_size_t)


class _UFuncHead(ctypes.Structure):
    """The leading fields of numpy's ``PyUFuncObject`` (``numpy/ufuncobject.h``, unchanged since numpy 1.0)."""

    _fields_ = [
        ("ob_refcnt", ctypes.c_ssize_t),
        ("ob_type", ctypes.c_void_p),
        ("nin", ctypes.c_int),
        ("nout", ctypes.c_int),
        ("nargs", ctypes.c_int),
        ("identity", ctypes.c_int),
        ("functions", ctypes.POINTER(ctypes.c_void_p)),
        ("data", ctypes.POINTER(ctypes.c_void_p)),
        ("ntypes", ctypes.c_int),
        ("reserved1", ctypes.c_int),
        ("name", ctypes.c_char_p),
        ("types", ctypes.POINTER(ctypes.c_char)),
    ]


@dataclass(frozen=True)
class Loop:
    """A float64 inner loop: the callable (``LOOP_PROTO``) and its ``data`` pointer (0 for none)."""

    function: ctypes._CFuncPtr
    data: int

    @property
    def address(self) -> int:
        return ctypes.cast(self.function, ctypes.c_void_p).value or 0


@intrinsic
def call_at(typingctx, address, args, dimensions, steps, data):  # noqa: ANN001, ANN201, ARG001
    """Compiled code's call of the inner loop at ``address`` (an int64, so that the kernels take no ctypes object
    and numba can cache them): ``loop(args, dimensions, steps, data)``, every pointer as an int64."""
    signature = types.void(types.int64, types.int64, types.int64, types.int64, types.int64)

    def codegen(context, builder, sig, llargs):  # noqa: ANN001, ANN202, ARG001
        loop_type = ir.FunctionType(ir.VoidType(), [ir.IntType(64)] * 4)
        builder.call(builder.inttoptr(llargs[0], loop_type.as_pointer()), llargs[1:])
        return context.get_dummy_value()

    return signature, codegen


def float64_loop(ufunc: np.ufunc) -> Loop | None:
    """numpy's ``d -> d`` inner loop of a unary ``ufunc``, checked against the ufunc; ``None`` if unavailable."""
    try:
        head = _UFuncHead.from_address(id(ufunc))
        if (head.nin, head.nout, head.ntypes, head.name) != (1, 1, ufunc.ntypes, ufunc.__name__.encode()):
            return None
        for i in range(head.ntypes):
            if head.types[2 * i] == bytes([NPY_DOUBLE]) and head.types[2 * i + 1] == bytes([NPY_DOUBLE]):
                loop = Loop(LOOP_PROTO(head.functions[i]), head.data[i] or 0)
                return loop if _agrees(loop, ufunc) else None
    except (ValueError, TypeError, OSError):  # an unexpected layout: use the C library instead
        return None
    return None


def call(loop: Loop, x: np.ndarray) -> np.ndarray:
    """The loop applied to a contiguous float64 array (for the self-check and the tests)."""
    x = np.ascontiguousarray(x, dtype=np.float64)
    out = np.empty_like(x)
    meta = np.array([x.ctypes.data, out.ctypes.data, len(x), 8, 8], dtype=np.int64)
    base = meta.ctypes.data
    with np.errstate(all="ignore"):
        loop.function(base, base + 16, base + 24, loop.data)
    return out


def _agrees(loop: Loop, ufunc: np.ufunc) -> bool:
    edges = np.array([0.0, -0.0, 1e-300, -1e-300, 5e-324, 1.0, -1.0, 80.0, 709.0, 710.0, -745.0, np.inf, -np.inf])
    x = np.concatenate([edges, np.random.default_rng(0).uniform(-700, 700, 10_000), np.array([np.nan])])
    x = np.concatenate([x, np.abs(x) * 1e-3, np.exp(np.random.default_rng(1).uniform(-700, 700, 1000))])
    with np.errstate(all="ignore"):
        expected = ufunc(x)
    got = call(loop, x)
    return bool(np.array_equal(got.view(np.int64), expected.view(np.int64)))


LOOPS: dict[str, Loop | None] = {"log": float64_loop(np.log), "exp": float64_loop(np.exp)}
