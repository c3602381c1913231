"""sympy: the unevaluated expression of a tree, and sympy text that sympy.parse_expr reads back to it exactly."""

from __future__ import annotations

import dataclasses

import numpy as np
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from lpzero_sr.export.numpy import sympy_numpy_function
from lpzero_sr.export.sympy import FUNCTIONS, proxy_expr, symbol, sympy_text, to_sympy
from lpzero_sr.formula import Node, evaluate_numpy
from lpzero_sr.proxy import Proxy
from lpzero_sr.quantile import Quantile
from lpzero_sr.rules.ruleset import RuleSet
from lpzero_sr.semantics import all_operators, sample_formula

NAMES = ["grad.sqr.mean", "weight*grad.abs.l1", "q(jacov)"]


def node(*tokens) -> Node:
    return Node.from_tokens(tokens, NAMES)


def read_back(text: str) -> sympy.Expr:
    return sympy.parse_expr(text, evaluate=False)  # our own generated text, checked here


def test_statistics_are_symbols_of_their_exact_names() -> None:
    tree = node("add", "log", 0, "mul", 1, 2)
    text = sympy_text(tree)
    assert text == "logabs(Symbol('grad.sqr.mean')) + Symbol('weight*grad.abs.l1')*Symbol('q(jacov)')"
    expr = read_back(text)
    assert expr == to_sympy(tree)
    assert {s.name for s in expr.free_symbols} == set(NAMES)


def test_guarded_operators_are_functions_parse_expr_recreates_by_name() -> None:
    tree = node("sub", "div", "exp", 0, "inv", 1, "max", "sigmoid", 2, "min", "sqrt", 0, "abs", 1)
    text = sympy_text(tree)
    assert text == (
        "divide(expc(Symbol('grad.sqr.mean')), inv(Symbol('weight*grad.abs.l1'))) - max2(sigmoid(Symbol('q(jacov)')), "
        "min2(sqrtabs(Symbol('grad.sqr.mean')), Abs(Symbol('weight*grad.abs.l1'))))"
    )
    assert read_back(text) == to_sympy(tree)
    namespace: dict = {}
    exec("from sympy import *", namespace)  # parse_expr's names: a guarded function must not be one of them
    assert not set(FUNCTIONS) & set(namespace)


def test_sympy_never_rewrites_a_guard() -> None:
    x = symbol("a")
    square_of_exp = to_sympy(Node.from_tokens(("square", "exp", 0), ["a"]))
    assert square_of_exp == sympy.Pow(FUNCTIONS["expc"](x), 2, evaluate=False) and "2*" not in str(square_of_exp)
    constant = to_sympy(Node.from_tokens(("sigmoid", 0.5), ["a"]))
    assert constant.evalf() == constant  # no mpmath sigmoid: the guarded form stays as it is


def test_nested_sums_and_products_keep_the_trees_grouping() -> None:
    tree = node("sub", "add", 0, 1, "mul", "mul", 2, 0, -2.0)
    text = sympy_text(tree)
    assert text == (
        "Add(Symbol('grad.sqr.mean') + Symbol('weight*grad.abs.l1'), "
        "Mul(-1, Mul(Symbol('q(jacov)')*Symbol('grad.sqr.mean'), -2, evaluate=False), evaluate=False), evaluate=False)"
    )
    assert read_back(text) == to_sympy(tree)
    infix = "Symbol('grad.sqr.mean') + Symbol('weight*grad.abs.l1') - Symbol('q(jacov)')*Symbol('grad.sqr.mean')*(-2)"
    assert read_back(infix) != to_sympy(tree)  # parse_expr flattens infix sums and products: why Add(...) is written


def test_a_bagged_proxy_reads_back_with_its_formula_quantiles() -> None:
    source = Node(op="add", args=(Node(var="q(a)"), Node(op="mul", args=(Node(const=0.1), Node(var="b")))))
    quantiles = {
        "q(a)": Quantile("a", (0.0, 1.0), (-0.5, 0.5)),
        "q[f1]": Quantile("", (0.0, 1.0), (-0.5, 0.5), source),
    }
    proxy = Proxy(Node(op="sub", args=(Node(var="q[f1]"), Node(var="q(a)"))), quantiles=quantiles)
    assert proxy.sympy_text() == "q(Symbol('q(a)') + 0.1*Symbol('b')) - Symbol('q(a)')"
    assert read_back(proxy.sympy_text()) == proxy.expr == proxy_expr(proxy.formula, proxy.quantiles)


constants = st.one_of(
    st.floats(-1e20, 1e20, allow_nan=False, allow_infinity=False),
    st.sampled_from([0.0, -0.0, 2.0, -3.0, 0.5, -0.5, 1 / 3, 1e-8, 1e15, 123456.789, 0.1]),
)


@settings(max_examples=300, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), first=constants, second=constants)
def test_parse_expr_reads_the_text_back_to_the_same_expression(seed: int, first: float, second: float) -> None:
    rules = dataclasses.replace(all_operators(RuleSet.load("default")), constants=(first, second))
    tree = Node.from_tokens(sample_formula(np.random.default_rng(seed), rules, n_features=3), NAMES)
    expr = read_back(sympy_text(tree))
    assert expr == to_sympy(tree)
    # the same expression, so the same numbers: lambdify of it (any constant) is the tree's evaluation, bit for bit
    columns = {n: np.random.default_rng(seed).normal(size=6) * 10.0 ** (3 * i) for i, n in enumerate(NAMES)}
    with np.errstate(all="ignore"):
        got = sympy_numpy_function(tree)(*(columns[n] for n in tree.variables))
    np.testing.assert_array_equal(np.broadcast_to(np.asarray(got, dtype=float), (6,)), evaluate_numpy(tree, columns, 6))


def test_lambdify_keeps_the_association_of_the_tree() -> None:
    tree = node("mul", 0, "mul", 1, 2)
    values = [np.array([1e308]), np.array([10.0]), np.array([0.1])]
    assert sympy_numpy_function(tree)(*values)[0] == 1e308 * (10.0 * 0.1)  # not (1e308 * 10) * 0.1 = inf
