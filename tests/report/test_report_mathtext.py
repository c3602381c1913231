"""Offline formula drawing: mathtext on the constructs Proxy.latex() emits, and the text fallback."""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lpzero_sr.formula import Node
from lpzero_sr.operators import OPS
from lpzero_sr.proxy import Proxy
from lpzero_sr.report.document import Formula
from lpzero_sr.report.mathtext import display_latex, mathtext_latex, render_formula
from lpzero_sr.report.pagecheck import check_page, decode_data_uri, parse_page
from lpzero_sr.rules.ruleset import RuleSet
from lpzero_sr.semantics import all_operators, sample_formula

NAMES = ("act.abs_std", "grad.sqr.mean", "weight*grad.abs.l1")
EXPRS = [
    Node.from_tokens(t, NAMES)
    for t in (
        ("mul", "mul", 0, 1, "exp", 2),
        ("div", "log", 0, "sqrt", 1),
        ("mul", "abs", 0, "square", 1),
        ("inv", "add", 0, 1),
        ("sub", "exp", "neg", 0, "mul", 2.0, 2),
        ("square", "sigmoid", "sub", 0, 1),
    )
]
CONSTRUCTS = [
    r"\mathrm{act.abs\_std}",
    r"\mathrm{a} + \mathrm{b} - \mathrm{c} \cdot \mathrm{d}",
    r"\left(\mathrm{a} + \mathrm{b}\right) \left|\mathrm{c}\right|",
    r"\log{\left(\mathrm{a} \right)}",
    r"\sqrt{\mathrm{a}}",
    r"\exp\left(\mathrm{a}\right)",
    r"\mathrm{a}^{2}",
    r"\frac{\mathrm{a}}{\mathrm{b}}",
    r"\operatorname{sign}{\left(\mathrm{a} \right)}",
    r"\mathrm{weight\ast{}grad}",
]


def svg_size(latex: str) -> tuple[int, int]:
    image = render_formula(latex)
    assert image is not None, latex
    root = ET.fromstring(image.svg)
    assert root.tag.endswith("svg") and root.get("width", "").endswith("pt")
    return image.width, image.height


@pytest.mark.parametrize("latex", CONSTRUCTS)
def test_every_construct_of_the_latex_contract_is_drawn(latex):
    width, height = svg_size(latex)
    assert width > 5 and height > 5


@pytest.mark.parametrize("expr", EXPRS, ids=str)
def test_proxy_latex_outputs_are_drawn(expr):
    width, height = svg_size(Proxy(expr).latex())
    assert width > 20 and height > 10


def test_longer_formulas_draw_wider():
    assert svg_size(r"\mathrm{a} + \mathrm{b} + \mathrm{c} + \mathrm{d}")[0] > 2 * svg_size(r"\mathrm{a}")[0]


@pytest.mark.parametrize("latex", [r"\frac{x", r"\unknowncommand{x}", "x$y", "", "   "])
def test_what_mathtext_cannot_draw_is_none(latex):
    assert render_formula(latex) is None


def test_unrenderable_formula_falls_back_to_its_text_in_a_code_block(tmp_path):
    html = Formula(r"\unknowncommand{x}", "x/2 + [weight*grad]").html()
    assert "<pre><code>x/2 + [weight*grad]</code></pre>" in html and "<img" not in html
    assert "mathtext cannot draw" in html
    assert check_page(html, tmp_path) == ["no formula image with a nonzero width and height"]
    assert check_page(html, tmp_path, formula=False) == []


def test_rendered_formula_is_an_image_that_decodes_with_the_text_below(tmp_path):
    html = Formula(Proxy(EXPRS[0]).latex(), Proxy(EXPRS[0]).text()).html()
    (img,) = parse_page(html).images
    assert ET.fromstring(decode_data_uri(img["src"])).tag.endswith("svg")
    assert int(img["width"]) > 0 and int(img["height"]) > 0
    assert f"<code>{Proxy(EXPRS[0]).text()}</code>" in html
    assert check_page(html, tmp_path) == []


def test_implicit_products_get_a_cdot():
    latex = r"\mathrm{params} \mathrm{synflow} e^{\mathrm{jacov}}"
    assert display_latex(latex) == r"\mathrm{params} \cdot \mathrm{synflow} \cdot e^{\mathrm{jacov}}"
    assert display_latex(r"2 \left|\mathrm{a}\right| \sqrt{\mathrm{b}}") == (
        r"2 \cdot \left|\mathrm{a}\right| \cdot \sqrt{\mathrm{b}}"
    )
    unchanged = r"\log{\left(\mathrm{a} \right)} + \frac{\mathrm{a}}{\mathrm{b}}"
    assert display_latex(unchanged) == unchanged


def test_names_keep_their_dots_and_stars_tight_for_mathtext_only():
    latex = r"\mathrm{act.abs\_std} \mathrm{weight\ast{}grad.abs.l1}"  # sympy's product of two names
    assert mathtext_latex(latex) == r"\mathrm{act.\!abs\_std} \cdot [\mathrm{weight{\ast}grad.\!abs.\!l1}]"
    assert (
        Formula(latex, "t").markdown()
        == r"$$\mathrm{act.abs\_std} \cdot \mathrm{weight\ast{}grad.abs.l1}$$" + "\n\n`t`"
    )


TOKENS = [r"\mathrm{a}", r"\mathrm{b}", "2", "+", " ", r"\left(", r"\right)", r"\sqrt{", "}", "e^{", r"\log"]


@given(st.lists(st.sampled_from(TOKENS), max_size=12))
def test_display_latex_only_inserts_cdots(tokens):
    latex = "".join(tokens)
    shown = display_latex(latex)
    assert shown.replace(r"\cdot", "").replace(" ", "") == latex.replace(" ", "")


ALL_OPERATORS = all_operators(RuleSet.load("default"))


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_mathtext_draws_the_latex_of_any_formula(seed):
    rules = dataclasses.replace(ALL_OPERATORS, constants=(-0.5, 2.0, 1e-8))
    tokens = sample_formula(np.random.default_rng(seed), rules, n_features=3)
    width, height = svg_size(Proxy(Node.from_tokens(tokens, NAMES)).latex())
    assert width > 5 and height > 5


@pytest.mark.parametrize("op", sorted(OPS.names()))
def test_mathtext_draws_every_operator(op):
    args = [Node(var=n) for n in NAMES[: OPS.get(op).arity]]
    assert svg_size(Proxy(Node(op=op, args=tuple(args))).latex())[0] > 20
