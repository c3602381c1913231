"""One rule set rendered to PySR keyword arguments and to DEAP limits."""

from __future__ import annotations

import sympy

from lpzero_sr.export.sympy import FUNCTIONS
from lpzero_sr.rules.render import deap_limits, pysr_operator_kwargs
from lpzero_sr.rules.ruleset import RuleSet


def test_deap_limits_convert_depth_to_height() -> None:
    limits = deap_limits(RuleSet.load("default"))
    assert limits.max_size == 15
    assert limits.max_height == 5  # PySR depth 6 = DEAP height 5 (a leaf has height 0)


def test_pysr_kwargs_of_default_rules() -> None:
    kw = pysr_operator_kwargs(RuleSet.load("default"))
    assert kw["binary_operators"] == ["+", "-", "*"]
    assert "lpz_log(x) = log(max(abs(x), oftype(x, 1e-30)))" in kw["unary_operators"]
    assert "lpz_exp(x) = exp(min(x, oftype(x, 80.0)))" in kw["unary_operators"]
    assert "lpz_square(x) = (x * x)" in kw["unary_operators"] and "lpz_neg(x) = (-x)" in kw["unary_operators"]
    assert kw["maxsize"] == 15 and kw["maxdepth"] == 6
    assert kw["constraints"] == {"lpz_exp": 5, "lpz_sigmoid": 5}
    assert kw["nested_constraints"]["lpz_log"] == {"lpz_log": 0, "lpz_exp": 0}
    assert kw["nested_constraints"]["lpz_square"] == {"lpz_square": 1, "lpz_sqrt": 0}
    assert kw["complexity_of_constants"] == 16  # no constants allowed: priced beyond maxsize
    x = sympy.Symbol("x")
    assert kw["extra_sympy_mappings"]["lpz_log"](x) == FUNCTIONS["logabs"](x)
    assert set(kw["extra_sympy_mappings"]) == {f"lpz_{n}" for n in RuleSet.load("default").unary}


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
    assert kw["nested_constraints"] == {"lpz_log": {"lpz_log": 0}}
    assert kw["binary_operators"][2] == "lpz_div(x, y) = (x * inv(copysign(max(abs(y), oftype(x, 1e-30)), y)))"
    assert kw["unary_operators"][1] == "lpz_inv(x) = inv(copysign(max(abs(x), oftype(x, 1e-30)), x))"
    assert kw["extra_sympy_mappings"]["lpz_div"](x, 2) == FUNCTIONS["divide"](x, 2)
    assert kw["constraints"] == {"*": (-1, 3)}
    assert "maxdepth" not in kw and "complexity_of_constants" not in kw
