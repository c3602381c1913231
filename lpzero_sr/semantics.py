"""Backend agreement: one formula, the same numbers in the search, a saved proxy, sympy and torch.

Used by the property tests (``tests/test_semantics.py``) and by ``benchmarks/semantics_agreement.py``, which
draws 20,000 random rule-allowed formulas. :func:`backend_values` evaluates one formula six ways:

* ``search``: the search's token evaluation (:class:`lpzero_sr.search.fitness.Fitness`'s path);
* ``proxy``: :meth:`lpzero_sr.proxy.Proxy.evaluate` after a JSON round trip of the proxy file;
* ``sympy``: ``sympy.lambdify`` of the proxy's sympy form (:func:`lpzero_sr.export.numpy.sympy_numpy_function`);
* ``julia``: the formula's PySR text (:func:`lpzero_sr.export.julia.julia_text`) read back by the PySR equation
  reader and evaluated in numpy (Julia itself is not needed; its operator definitions are checked in
  ``tests/export/test_julia.py``);
* ``torch``: the proxy's torch module (:meth:`lpzero_sr.proxy.Proxy.to_torch`), CPU, float64;
* ``torch source``: the standalone source of ``lpzero-sr export --format torch``, run on the same tensors.

The numpy ones run the same primitives in the same order and must agree bit for bit, and so must the torch module
and the torch source. torch's exp, log and sqrt differ from numpy's in the last bit for a few percent of inputs, so
:func:`disagreement` asks torch for the
same NaN and infinity positions and for finite values within :data:`TORCH_ULPS` units of the largest intermediate
value of the formula on that row (a rounding difference can grow no further than that), or within the square root
of that bound for a formula with ``sqrt``, which grows a difference near 0 to its square root (``sqrt(x**2 + exp(x)
- exp(-x))`` at ``x = -2.8e-14``: torch's and numpy's ``exp`` differ in the last bit, the results by 1e-3 relative).
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import numpy as np
import pandas as pd
import torch

from lpzero_sr.export.julia import julia_text, parse_equation
from lpzero_sr.export.numpy import sympy_numpy_function
from lpzero_sr.formula import Node, Token, evaluate, evaluate_numpy, evaluate_tokens
from lpzero_sr.operators import NUMPY, OPS
from lpzero_sr.proxy import Proxy
from lpzero_sr.rules.ruleset import RuleSet
from lpzero_sr.table import StatTable

TORCH_ULPS = 1e-11  # relative to the largest intermediate magnitude; float64 epsilon is 2.2e-16
EDGE_VALUES = (0.0, -0.0, 1e-30, -1e-30, 1e-40, -1e-40, 1e30, -1e30, 1.0, -1.0, 0.5, -2.0, 79.0, 81.0, -81.0)


def all_operators(rules: RuleSet) -> RuleSet:
    """``rules`` with every registered operator allowed and constants 0.5 and 2 (the widest vocabulary)."""
    unary = tuple(n for n in OPS.names() if OPS.get(n).arity == 1)
    binary = tuple(n for n in OPS.names() if OPS.get(n).arity == 2)
    return dataclasses.replace(rules, unary=unary, binary=binary, constants=(0.5, 2.0))


def sample_formula(rng: np.random.Generator, rules: RuleSet, n_features: int, tries: int = 1000) -> tuple[Token, ...]:
    """A random prefix formula over ``n_features`` columns (and the rules' constants) that no structural rule
    rejects: grown top-down with the rules' operators to a random depth, redrawn until allowed."""
    ops = [*rules.unary, *rules.binary]
    leaves: list[Token] = [*range(n_features), *(float(c) for c in rules.constants)]
    depth_limit = rules.maxdepth or 6

    def grow(level: int, depth: int, out: list[Token]) -> None:
        if level >= depth or rng.random() < 0.25:
            out.append(leaves[int(rng.integers(len(leaves)))])
            return
        name = ops[int(rng.integers(len(ops)))]
        out.append(name)
        for _ in range(OPS.get(name).arity):
            grow(level + 1, depth, out)

    for _ in range(tries):
        tokens: list[Token] = []
        grow(1, int(rng.integers(1, depth_limit + 1)), tokens)
        if rules.tree_violation(tokens) is None:
            return tuple(tokens)
    raise RuntimeError("no allowed formula found; the rule set is too strict for random growth")


def sample_columns(rng: np.random.Generator, n_features: int, n_rows: int) -> dict[str, np.ndarray]:
    """Columns mixing edge values (zeros of both signs, 1e-30-scale, 1e30-scale, values around exp's clip) with
    random magnitudes of both signs; the last column repeats the first (formulas like ``x - x``)."""
    columns = {}
    for i in range(n_features - 1):
        values = np.sign(rng.uniform(-1, 1, n_rows)) * 10.0 ** rng.uniform(-35, 35, n_rows)
        edge = rng.random(n_rows) < 0.5
        values[edge] = rng.choice(EDGE_VALUES, int(edge.sum()))
        columns[f"s{i}.x"] = values
    columns[f"s{n_features - 1}.x"] = columns["s0.x"].copy()
    return columns


def backend_values(tokens: tuple[Token, ...], columns: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The formula's per-row values in every backend (see the module docstring)."""
    names = list(columns)
    node = Node.from_tokens(tokens, names)
    frame = pd.DataFrame({"arch": [f"a{i}" for i in range(len(columns[names[0]]))], **columns})
    frame["target"] = np.arange(len(frame), dtype=float)
    table = StatTable(frame, tuple(names), "target", "maximize")  # any values: no validation, the formula reads them
    saved = Proxy.from_json(json.loads(json.dumps(Proxy(node).to_json())))
    lambdified = sympy_numpy_function(saved.formula)
    with np.errstate(all="ignore"):
        out = lambdified(*(columns[n] for n in saved.formula.variables))
        via_sympy = np.broadcast_to(np.asarray(out, dtype=float), (len(frame),))
    via_julia = evaluate_numpy(parse_equation(julia_text(node, names), names), columns, len(frame))
    tensors = {n: torch.tensor(v) for n, v in columns.items()}
    via_torch = saved.to_torch()(tensors)
    namespace: dict[str, Any] = {}
    exec(compile(saved.torch_source(), "<proxy>", "exec"), namespace)  # our own generated source, checked here
    via_source = namespace["proxy"](tensors)
    return {
        "search": evaluate_tokens(tokens, [table.column(n) for n in names]),
        "proxy": saved.evaluate(table),
        "sympy": np.array(via_sympy),
        "julia": via_julia,
        "torch": np.broadcast_to(via_torch.detach().numpy(), (len(frame),)),
        "torch source": np.broadcast_to(via_source.detach().numpy(), (len(frame),)),
    }


class _ScaleRecorder:
    """numpy primitives that also record, per row, the largest magnitude any primitive produced."""

    def __init__(self, n_rows: int) -> None:
        self.scale = np.zeros(n_rows)

    def __getattr__(self, name: str) -> Any:
        fn = getattr(NUMPY, name)

        def recorded(*args: Any) -> Any:
            out = fn(*args)
            self.scale = np.fmax(self.scale, np.where(np.isfinite(out), np.abs(out), 0.0))
            return out

        return recorded


def intermediate_scale(tokens: tuple[Token, ...], columns: dict[str, np.ndarray]) -> np.ndarray:
    """Per row, the largest finite magnitude of any leaf or intermediate value of the formula."""
    n_rows = len(next(iter(columns.values())))
    recorder = _ScaleRecorder(n_rows)
    with np.errstate(all="ignore"):
        evaluate(Node.from_tokens(tokens, list(columns)), columns, recorder)
    finite_leaves = [np.where(np.isfinite(v), np.abs(v), 0.0) for v in columns.values()]
    return np.fmax(recorder.scale, np.max(finite_leaves, axis=0))


def disagreement(
    values: dict[str, np.ndarray], tokens: tuple[Token, ...], columns: dict[str, np.ndarray]
) -> str | None:
    """``None`` when the backends agree (see the module docstring), else a one-line description."""
    for name, base in (("proxy", "search"), ("sympy", "search"), ("julia", "search"), ("torch source", "torch")):
        value, reference = values[name], values[base]
        if not np.array_equal(value, reference, equal_nan=True):
            row = int(np.argmax(~((value == reference) | (np.isnan(value) & np.isnan(reference)))))
            return f"{name} differs from {base} at row {row}: {value[row]!r} vs {reference[row]!r}"
    reference, other = values["search"], values["torch"]
    for what, mask in (("NaN", np.isnan), ("+inf", np.isposinf), ("-inf", np.isneginf)):
        if not np.array_equal(mask(other), mask(reference)):
            row = int(np.argmax(mask(other) != mask(reference)))
            return f"torch {what} positions differ at row {row}: {other[row]!r} vs {reference[row]!r}"
    finite = np.isfinite(reference)
    tolerance = TORCH_ULPS * intermediate_scale(tokens, columns)
    if "sqrt" in tokens:  # |sqrt a - sqrt b| <= sqrt|a - b|: near 0, sqrt grows a difference to its square root
        tolerance = np.fmax(tolerance, np.sqrt(tolerance))
    bad = finite & ~(np.abs(other - reference) <= tolerance)
    if bad.any():
        row = int(np.argmax(bad))
        return f"torch differs at row {row}: {other[row]!r} vs {reference[row]!r} (tolerance {tolerance[row]:.3g})"
    return None
