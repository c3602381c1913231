"""Compiled evaluation of whole populations, generated from the operator definitions (numba).

Each operator of :data:`lpzero_sr.operators.OPS` is written once, as ``Op.define(p, *args)`` over IEEE primitives.
:class:`NumbaPrimitives` is one more backend of those primitives: it writes numba source that applies the
definition to a row vector, so the kernels below are generated from the same definitions as numpy, torch and
Julia. The primitives keep numpy's semantics exactly:

* ``add``, ``mul``, ``neg``, ``abs``, ``recip`` (``1.0 / x``), ``sqrt`` and ``copysign`` are correctly rounded IEEE
  operations, the same in numba as in numpy;
* ``min_const(a, c)`` / ``max_const(a, c)`` are ``np.minimum`` / ``np.maximum`` with a constant: NaN propagates,
  and equal arguments (signed zeros) give the constant, the second operand, as numpy does;
* ``log`` and ``exp`` call numpy's own float64 inner loops (:mod:`lpzero_sr.search.numpy_loops`), so they are
  bit-equal to numpy; where those loops cannot be bound, the C library's functions are used (within
  :data:`~lpzero_sr.search.numpy_loops.LIBM_ULPS` ulp of numpy) and :data:`TRANSCENDENTALS` says so.

:func:`kernel_source` writes one module: ``apply``, one branch per operator, each written from its definition, and
below it the population kernels of :mod:`lpzero_sr.search.kernel_template` (a formula is evaluated right to left,
a postfix program on a stack of row vectors; the rules and the rank loss follow). That module is committed as
``search/kernels.py`` so numba can cache its machine code on disk; :func:`kernels` uses it only while it is exactly
what :func:`kernel_source` writes from the current definitions, and otherwise compiles the fresh source in the
process (a test keeps the committed copy current: ``python -m lpzero_sr.search.compiled`` rewrites it).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Collection, Sequence
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from lpzero_sr.fsutil import atomic_write_text
from lpzero_sr.operators import OPS
from lpzero_sr.search import numpy_loops, rankcorr
from lpzero_sr.search.numpy_loops import LOOPS

log = logging.getLogger(__name__)
TRANSCENDENTALS = "numpy" if all(LOOPS.values()) else "libm"
LOOPED = ("log", "exp")  # the primitives computed by numpy's loops, passed to the kernels in this order
TEMPLATE_MARKER = "# ---- template: copied into the generated module ----\n"
GENERATED = Path(__file__).with_name("kernels.py")
TEMPLATE = Path(__file__).with_name("kernel_template.py")


# ------------------------------------------------------------------ the primitives backend
class NumbaPrimitives:
    """IEEE primitives that write numba source applying one operator to row ``r`` of its arguments.

    Values are local scalars (``v0``, ``v1``, ...) inside a loop over rows. A looped primitive (``log``, ``exp``
    with numpy's loop bound) ends the loop: its argument is stored in a scratch row ``T[k]``, numpy's loop is called
    on the whole row, and a new loop reads ``T[k + 1, r]``; a scalar needed across such a call is kept in a scratch
    row too. :meth:`block` returns the finished statements.
    """

    def __init__(self, looped: Collection[str]) -> None:
        self.looped = looped  # the primitives computed by numpy's loops (the others by the C library)
        self.segments: list[list[str]] = [[]]
        self.calls: list[tuple[str, int, int]] = []  # after segment k: (primitive, argument slot, result slot)
        self.defined: dict[str, int] = {}  # scalar -> segment that defines it
        self.spilled: dict[str, int] = {}  # scalar -> scratch slot that carries it to later segments
        self.slots = 0

    def _slot(self) -> int:
        self.slots += 1
        return self.slots - 1

    def _arg(self, x: Any) -> str:
        if not isinstance(x, str):
            return repr(float(x))
        segment = self.defined.get(x)
        if segment is not None and segment < len(self.segments) - 1:
            if x not in self.spilled:
                self.spilled[x] = self._slot()
            return f"T[{self.spilled[x]}, r]"
        return x

    def _let(self, expr: str) -> str:
        name = f"v{len(self.defined)}"
        self.segments[-1].append(f"{name} = {expr}")
        self.defined[name] = len(self.segments) - 1
        return name

    def add(self, a: Any, b: Any) -> str:
        return self._let(f"{self._arg(a)} + {self._arg(b)}")

    def mul(self, a: Any, b: Any) -> str:
        return self._let(f"{self._arg(a)} * {self._arg(b)}")

    def neg(self, a: Any) -> str:
        return self._let(f"-{self._arg(a)}")

    def abs(self, a: Any) -> str:
        return self._let(f"abs({self._arg(a)})")

    def recip(self, a: Any) -> str:
        return self._let(f"1.0 / {self._arg(a)}")

    def sqrt(self, a: Any) -> str:
        return self._let(f"math.sqrt({self._arg(a)})")

    def copysign(self, a: Any, b: Any) -> str:
        return self._let(f"math.copysign({self._arg(a)}, {self._arg(b)})")

    def min_const(self, a: Any, c: float) -> str:
        x, k = self._arg(a), repr(float(c))
        return self._let(f"{x} if ({x} < {k} or {x} != {x}) else {k}")

    def max_const(self, a: Any, c: float) -> str:
        x, k = self._arg(a), repr(float(c))
        return self._let(f"{x} if ({x} > {k} or {x} != {x}) else {k}")

    def const(self, value: float) -> str:
        return repr(float(value))

    def log(self, a: Any) -> str:
        return self._transcendental("log", a)

    def exp(self, a: Any) -> str:
        return self._transcendental("exp", a)

    def _transcendental(self, name: str, a: Any) -> str:
        if name not in self.looped:
            return self._let(f"math.{name}({self._arg(a)})")
        src, dst = self._slot(), self._slot()
        self.segments[-1].append(f"T[{src}, r] = {self._arg(a)}")
        self.calls.append((name, src, dst))
        self.segments.append([])
        return self._let(f"T[{dst}, r]")

    def block(self, result: Any) -> list[str]:
        """Statements that set ``OUT[r] = result`` for ``r < n``: loops over rows, numpy's loops between them."""
        out = self._arg(result)
        lines = []
        for k, segment in enumerate(self.segments):
            body = [*segment, *(f"T[{slot}, r] = {v}" for v, slot in self.spilled.items() if self.defined[v] == k)]
            if k == len(self.segments) - 1:
                body.append(f"OUT[r] = {out}")
            if body:
                lines += ["for r in range(n):", *(f"    {line}" for line in body)]
            if k < len(self.calls):
                prim, src, dst = self.calls[k]
                lines.append(f"call_loop(loops, {LOOPED.index(prim)}, T[{src}], T[{dst}], n, meta)")
        return lines


# ------------------------------------------------------------------ kernel generation
def operator_block(name: str, looped: Collection[str]) -> tuple[list[str], int]:
    """Statements applying operator ``name`` to ``A[r]`` (and ``B[r]``) into ``OUT[r]``, and its scratch rows."""
    p = NumbaPrimitives(looped)
    op = OPS.get(name)
    return p.block(op.define(p, *("A[r]", "B[r]")[: op.arity])), p.slots


def kernel_source(names: Sequence[str], looped: Collection[str] = LOOPED) -> str:
    """The generated module for operators ``names`` (opcode = position in ``names``), the primitives ``looped``
    computed by numpy's loops."""
    body = TEMPLATE.read_text().split(TEMPLATE_MARKER)[1]
    digest = hashlib.sha256()
    for module in (rankcorr, numpy_loops):  # compiled into the kernels, so part of their source
        digest.update(Path(module.__file__).read_bytes())
    lines = [
        '"""Generated by lpzero_sr.search.compiled from the operator definitions; do not edit.',
        "",
        f"Operators: {', '.join(names)}. Transcendentals: {'numpy loops' if looped else 'C library'}.",
        f"rankcorr.py and numpy_loops.py: {digest.hexdigest()[:16]} (a change there changes this file, so numba",
        "recompiles it).",
        '"""',
        "",
        "import math",
        "",
        "import numpy as np",
        "from numba import njit",
        "",
        "from lpzero_sr.search import rankcorr",
        "from lpzero_sr.search.numpy_loops import call_at",
        "",
        "",
        "@njit(cache=True, nogil=True)",
        "def apply(opcode, stack, sp, n, T, meta, loops):",
        '    """Operator ``opcode`` on the top of ``stack`` (rows ``:n``); returns its arity."""',
    ]
    slots = 1
    for code, name in enumerate(names):
        arity = OPS.get(name).arity
        block, used = operator_block(name, looped)
        slots = max(slots, used)
        lines += [
            f"    {'if' if code == 0 else 'elif'} opcode == {code}:  # {name}",
            "        A = stack[sp - 1]",
            *(["        B = stack[sp - 2]"] if arity == 2 else []),
            f"        OUT = stack[sp - {arity}]",
            *(f"        {line}" for line in block),
            f"        return {arity}",
        ]
    lines += ["    return 0", "", "", f"SLOTS = {slots}", "", "", ""]
    return "\n".join(lines) + body


@cache
def kernels() -> ModuleType:
    """The kernels of every registered operator: the committed :data:`GENERATED` module while it is what
    :func:`kernel_source` writes now (numba caches it on disk), else the new source compiled in this process."""
    source = kernel_source(tuple(OPS.names()), {prim for prim in LOOPED if LOOPS[prim] is not None})
    if GENERATED.is_file() and GENERATED.read_text() == source:
        from lpzero_sr.search import kernels as module

        return module
    log.warning("compiling the search kernels in this process (seconds): the operators differ from %s's, or numpy's "
                "loops are not available here", GENERATED.name)  # fmt: skip
    module = ModuleType("lpzero_sr.search.kernels_fresh")
    exec(compile(source.replace("cache=True", "cache=False"), "<generated kernels>", "exec"), module.__dict__)  # noqa: S102
    return module


def loop_arguments() -> np.ndarray:
    """The kernels' ``loops``: address and data pointer of each loop of :data:`LOOPED` (0 for a loop that is not
    bound: the source then calls the C library instead)."""
    pairs = [(LOOPS[p].address, LOOPS[p].data) if LOOPS[p] is not None else (0, 0) for p in LOOPED]
    return np.array([v for pair in pairs for v in pair], dtype=np.int64)


def write_generated() -> Path:
    """(Re)write :data:`GENERATED` from the current operator definitions."""
    return atomic_write_text(GENERATED, kernel_source(tuple(OPS.names())))


if __name__ == "__main__":
    print(write_generated())
