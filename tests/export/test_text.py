"""Readable text and LaTeX of formula trees: brackets only where needed, names escaped, q(name) terminals."""

from __future__ import annotations

import pytest

from lpzero_sr.export.text import formula_latex, formula_text, latex_number, latex_symbol
from lpzero_sr.formula import Node
from lpzero_sr.quantile import Quantile

NAMES = ["a", "b", "c"]


def node(*tokens) -> Node:
    return Node.from_tokens(tokens, NAMES)


@pytest.mark.parametrize(
    ("tokens", "text"),
    [
        (("add", "add", 0, 1, 2), "a + b + c"),  # a left operand's sum needs no brackets
        (("add", 0, "add", 1, 2), "a + (b + c)"),  # a right one keeps them: the text shows the tree
        (("sub", "sub", 0, 1, 2), "a - b - c"),
        (("sub", 0, "add", 1, 2), "a - (b + c)"),
        (("sub", 0, "sub", 1, 2), "a - (b - c)"),
        (("sub", 0, "neg", 1), "a - (-b)"),
        (("add", "mul", -0.5, 0, 1), "-0.5*a + b"),
        (("add", 0, "mul", -0.5, 1), "a - 0.5*b"),
        (("mul", "add", 0, 1, 2), "(a + b)*c"),
        (("neg", "add", 0, 1), "-(a + b)"),
        (("sub", "max", 0, 1, "min", 0, 1), "max(a, b) - min(a, b)"),
        (("add", "log", 0, "div", 1, 0), "log|a| + b/a"),
        (("mul", "sqrt", 0, "exp", "abs", 1), "sqrt|a|*exp(|b|)"),
        (("add", "inv", 0, "sigmoid", 1), "1/(a) + sigmoid(b)"),
        (("square", "square", 0), "(a**2)**2"),
    ],
)
def test_the_text_brackets_only_what_the_tree_needs(tokens: tuple, text: str) -> None:
    assert formula_text(node(*tokens)) == text


@pytest.mark.parametrize(
    ("tokens", "latex"),
    [
        (("add", "add", 0, 1, 2), r"\mathrm{a} + \mathrm{b} + \mathrm{c}"),  # no brackets around a sum
        (("add", 0, "add", 1, 2), r"\mathrm{a} + \mathrm{b} + \mathrm{c}"),  # sums are associative
        (("sub", 0, "add", 1, 2), r"\mathrm{a} - \left(\mathrm{b} + \mathrm{c}\right)"),
        (("sub", 0, "neg", 1), r"\mathrm{a} - \left(-\mathrm{b}\right)"),
        (("add", 0, "neg", 1), r"\mathrm{a} - \mathrm{b}"),
        (("add", 0, "mul", -0.5, 1), r"\mathrm{a} - 0.5 \mathrm{b}"),  # a number times a name reads as in print
        (("mul", "add", 0, 1, 2), r"\left(\mathrm{a} + \mathrm{b}\right) \cdot \mathrm{c}"),
        (("mul", 0, "mul", 1, 2), r"\mathrm{a} \cdot \mathrm{b} \cdot \mathrm{c}"),
        (("mul", 0, "neg", 1), r"\mathrm{a} \cdot \left(-\mathrm{b}\right)"),
        (("neg", "neg", 0), r"-\left(-\mathrm{a}\right)"),
        (("mul", 2.0, "log", 0), r"2 \log\left|\mathrm{a}\right|"),
        (("square", "log", 0), r"\left(\log\left|\mathrm{a}\right|\right)^{2}"),
        (("square", "neg", 0), r"\left(-\mathrm{a}\right)^{2}"),
        (("square", "abs", 0), r"\left|\mathrm{a}\right|^{2}"),
        (("square", "square", 0), r"\left(\mathrm{a}^{2}\right)^{2}"),
        (("div", "add", 0, 1, 2), r"\frac{\mathrm{a} + \mathrm{b}}{\mathrm{c}}"),
        (
            ("sub", "max", 0, 1, "min", 0, 1),
            r"\max\left(\mathrm{a}, \mathrm{b}\right) - \min\left(\mathrm{a}, \mathrm{b}\right)",
        ),
        (("mul", 1e-08, 0), r"1 \cdot 10^{-8} \cdot \mathrm{a}"),
    ],
)
def test_latex_reads_like_a_formula_in_a_paper(tokens: tuple, latex: str) -> None:
    assert formula_latex(node(*tokens)) == latex


def test_statistic_names_are_escaped_and_quantile_terminals_read_q() -> None:
    assert latex_symbol("weight*grad") == r"\mathrm{weight\ast{}grad}"
    assert latex_symbol("grad_norm") == r"\mathrm{grad\_norm}"
    assert latex_symbol("q(act.abs_std)") == r"q(\mathrm{act.abs\_std})"
    tree = Node(op="add", args=(Node(var="q(jacov)"), Node(var="weight*grad")))
    assert formula_text(tree) == "q(jacov) + [weight*grad]"
    assert formula_latex(tree) == r"q(\mathrm{jacov}) + \mathrm{weight\ast{}grad}"


def test_a_formula_quantile_shows_its_formula() -> None:
    source = Node(op="sub", args=(Node(var="q(a)"), Node(op="square", args=(Node(var="q(c)"),))))
    quantiles = {"q[f1]": Quantile("", (0.0, 1.0), (-0.5, 0.5), source)}
    tree = Node(op="mul", args=(Node(const=2.0), Node(var="q[f1]")))
    assert formula_text(tree, quantiles) == "2*q(q(a) - q(c)**2)"
    assert formula_latex(tree, quantiles) == r"2 q\left(q(\mathrm{a}) - q(\mathrm{c})^{2}\right)"


@pytest.mark.parametrize(
    ("value", "latex"),
    [(2.0, "2"), (-3.0, "-3"), (0.5, "0.5"), (1 / 3, "0.333333333333333"), (2.5e-12, r"2.5 \cdot 10^{-12}")],
)
def test_latex_numbers(value: float, latex: str) -> None:
    assert latex_number(value) == latex
