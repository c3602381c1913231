"""One rule set rendered to PySR keyword arguments and to DEAP limits."""

from __future__ import annotations

import sympy

from lpzero_sr.rules.render import deap_limits, pysr_operator_kwargs
from lpzero_sr.rules.ruleset import RuleSet


def test_deap_limits_convert_depth_to_height() -> None:
    limits = deap_limits(RuleSet.load("default"))
    assert limits.max_size == 15
    assert limits.max_height == 5  # PySR depth 6 = DEAP height 5 (a leaf has height 0)


def test_pysr_kwargs_of_default_rules() -> None:
    kw = pysr_operator_kwargs(RuleSet.load("default"))
    assert kw["binary_operators"] == ["+", "-", "*"]
    assert "logabs(x) = log(max(abs(x), oftype(x, 1e-30)))" in kw["unary_operators"]
    assert "square" in kw["unary_operators"] and "neg" in kw["unary_operators"]
    assert kw["maxsize"] == 15 and kw["maxdepth"] == 6
    assert kw["constraints"] == {"expclip": 5, "sigm": 5}
    assert kw["nested_constraints"]["logabs"] == {"logabs": 0, "expclip": 0}
    assert kw["nested_constraints"]["square"] == {"square": 1, "sqrtabs": 0}
    assert kw["complexity_of_constants"] == 16  # no constants allowed: priced beyond maxsize
    x = sympy.Symbol("x")
    assert kw["extra_sympy_mappings"]["logabs"](x) == sympy.log(sympy.Abs(x))
    assert set(kw["extra_sympy_mappings"]) == {"logabs", "sqrtabs", "expclip", "sigm"}


def test_pysr_kwargs_drop_limits_on_operators_not_in_use() -> None:
    rules = RuleSet.from_dict(
        {
            "operators": {"unary": ["log", "inv"], "binary": ["add", "mul", "div"], "constants": [1.0]},
            "rules": {
                "size": {"kind": "max_size", "limit": 7},
                "nest": {"kind": "nesting", "limits": {"log": {"log": 0, "exp": 0}, "exp": {"exp": 0}}},
                "args": {"kind": "arg_size", "limits": {"mul": [-1, 3], "exp": 2}},
            },
        }
    )
    kw = pysr_operator_kwargs(rules)
    x = sympy.Symbol("x")
    assert kw["nested_constraints"] == {"logabs": {"logabs": 0}}
    assert kw["binary_operators"][2].startswith("safediv(x, y) = x / (abs(y) < 1e-30 ? copysign(")
    assert kw["unary_operators"][1].startswith("safeinv(x) = one(x) / (abs(x) < 1e-30 ? copysign(")
    assert kw["extra_sympy_mappings"]["safediv"](x, 2) == x / 2
    assert kw["extra_sympy_mappings"]["safeinv"](x) == 1 / x
    assert kw["constraints"] == {"*": (-1, 3)}
    assert "maxdepth" not in kw and "complexity_of_constants" not in kw
