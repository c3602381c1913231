"""Julia for PySR: operator definitions from operators.py, infix text, and the ast reader of PySR's equations."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lpzero_sr.export.julia import julia_definition, julia_name, julia_text, parse_equation
from lpzero_sr.formula import FormulaError, Node, evaluate_numpy
from lpzero_sr.rules.ruleset import RuleSet
from lpzero_sr.semantics import all_operators, sample_formula

FEATURES = ("a", "grad.sqr.mean", "weight*grad")


def node(*tokens) -> Node:
    return Node.from_tokens(tokens, FEATURES)


def test_definitions_are_generated_from_the_operators() -> None:
    assert julia_definition("log") == "lpz_log(x) = log(max(abs(x), oftype(x, 1e-30)))"
    assert julia_definition("max") == "lpz_max(x, y) = (x + max((y + (-x)), oftype(x, 0.0)))"
    assert julia_definition("sigmoid") == "lpz_sigmoid(x) = inv((exp(min((-x), oftype(x, 80.0))) + 1.0))"
    assert julia_definition("add") == "+" and julia_name("sub") == "-" and julia_name("div") == "lpz_div"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("lpz_log(x0) + x1", node("add", "log", 0, 1)),  # a unary custom operator, infix +
        ("(x1 * -0.5) - lpz_neg(lpz_log(x0))", node("sub", "mul", 1, "neg", 0.5, "neg", "log", 0)),  # unary minus
        ("lpz_div(x2, lpz_max(x0, 2.0))", node("div", 2, "max", 0, 2.0)),  # binary custom operators, a constant
        ("x0 * 1.5e-8 + -x2", node("add", "mul", 0, 1.5e-8, "neg", 2)),  # scientific notation, precedence
        ("x0 - x1 - x2", node("sub", "sub", 0, 1, 2)),  # left-associative
        ("((x0))", node(0)),
        ("2", Node(const=2.0)),
        ("  lpz_square(x1)\n", node("square", 1)),
        ("3.0e10 * x12", Node(op="mul", args=(Node(const=3e10), Node(var="s12")))),  # x12: feature 12
    ],
)
def test_pysr_equation_shapes(text: str, expected: Node) -> None:
    features = FEATURES if "x12" not in text else tuple(f"s{i}" for i in range(13))
    assert parse_equation(text, features) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("exp(x0)", r"^PySR equation 'exp\(x0\)' uses unknown operator 'exp'$"),
        ("x0 +", r"^cannot read PySR equation 'x0 \+': invalid syntax$"),
        ("x9", r"^cannot read PySR equation 'x9' at 'x9'$"),  # no feature 9
        ("x0 @ x1", r"^cannot read PySR equation 'x0 @ x1' at 'x0 @ x1'$"),
        ("x0 / x1", r"at 'x0 / x1': lpzero-sr gives PySR no '/' \(its guarded division is lpz_div\)$"),
        ("lpz_log(x0, x1)", r"at 'lpz_log\(x0, x1\)': lpz_log takes 1 argument\(s\)$"),
        ("x0 * 1e999", r"at '1e999': not a finite number$"),
        ("NaN * x0", r"at 'NaN'$"),
        ("+x0", r"at '\+x0'$"),
        ("__import__('os')", r"uses unknown operator '__import__'$"),  # parsed, never evaluated
        ("x0 ** 2", r"at 'x0 \*\* 2'$"),
    ],
)
def test_unreadable_equations_are_one_error(text: str, message: str) -> None:
    with pytest.raises(FormulaError, match=message):
        parse_equation(text, FEATURES)


def test_deep_equations_are_one_error() -> None:
    with pytest.raises(FormulaError, match="cannot read PySR equation"):
        parse_equation("lpz_neg(" * 5000 + "x0" + ")" * 5000, FEATURES)


RULES = all_operators(RuleSet.load("default"))


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), constant=st.floats(-1e12, 1e12, allow_nan=False, allow_infinity=False))
def test_julia_text_reads_back_to_the_same_values(seed: int, constant: float) -> None:
    # a negative constant reads back as neg(|c|): the same numbers, bit for bit; everything else is the same tree
    tokens = sample_formula(np.random.default_rng(seed), RULES, n_features=3)
    tree = Node(op="add", args=(Node.from_tokens(tokens, FEATURES), Node(const=constant)))
    back = parse_equation(julia_text(tree, FEATURES), FEATURES)
    columns = {f: np.random.default_rng(seed).normal(size=5) * 10 for f in FEATURES}
    np.testing.assert_array_equal(evaluate_numpy(back, columns, 5), evaluate_numpy(tree, columns, 5))
    if math.copysign(1.0, constant) > 0 and not any(isinstance(t, float) and math.copysign(1.0, t) < 0 for t in tokens):
        assert back == tree
