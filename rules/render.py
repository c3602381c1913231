"""Render one :class:`RuleSet` for each engine: PySR keyword arguments, DEAP static limits."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lpzero_sr.export.julia import julia_definition, julia_name
from lpzero_sr.operators import OPS
from lpzero_sr.rules.ruleset import RuleSet


@dataclass(frozen=True)
class DeapLimits:
    """``gp.staticLimit`` bounds: DEAP counts height from 0 at a leaf, PySR depth from 1."""

    max_size: int
    max_height: int


def deap_limits(rules: RuleSet, fallback_depth: int = 17) -> DeapLimits:
    """Size and height limits for ``gp.staticLimit``; other rules run as checks (``rules.tree_violation``)."""
    depth = rules.maxdepth if rules.maxdepth is not None else fallback_depth
    return DeapLimits(max_size=int(rules.maxsize or 0), max_height=depth - 1)


def pysr_operator_kwargs(rules: RuleSet) -> dict[str, Any]:
    """Operators, constraints and limits for ``PySRRegressor``.

    Every operator but ``+ - *`` is passed as its Julia definition, generated from the one definition in
    :mod:`lpzero_sr.operators` (``lpz_log(x) = log(max(abs(x), oftype(x, 1.0e-30)))``). Operator names in
    ``constraints``/``nested_constraints`` are those Julia names; ``extra_sympy_mappings`` maps them to the same
    opaque sympy functions the proxy uses (imported here: rendering for PySR needs sympy, PySR does too).
    """
    from lpzero_sr.export.sympy import builder

    custom = [n for n in (*rules.unary, *rules.binary) if OPS.get(n).infix is None]
    mappings = {julia_name(n): builder(n) for n in custom}
    constraints: dict[str, int | tuple[int, int]] = {}
    for op, lim in rules.arg_limits().items():
        if op in (*rules.unary, *rules.binary):
            constraints[julia_name(op)] = tuple(lim) if isinstance(lim, list) else lim  # type: ignore[assignment]
    nested = {
        julia_name(outer): {julia_name(i): n for i, n in inner.items() if i in (*rules.unary, *rules.binary)}
        for outer, inner in rules.nesting_limits().items()
        if outer in (*rules.unary, *rules.binary)
    }
    kwargs: dict[str, Any] = {
        "binary_operators": [julia_definition(n) for n in rules.binary],
        "unary_operators": [julia_definition(n) for n in rules.unary],
        "extra_sympy_mappings": mappings,
        "maxsize": rules.maxsize,
        "constraints": constraints or None,
        "nested_constraints": {k: v for k, v in nested.items() if v} or None,
    }
    if rules.maxdepth is not None:
        kwargs["maxdepth"] = rules.maxdepth
    if not rules.constants:
        # PySR always may insert constants; pricing them beyond maxsize keeps them out of the front.
        kwargs["complexity_of_constants"] = int(rules.maxsize or 0) + 1
    return kwargs
