"""A long formula laid out in lines drawn no wider than the page column (lpzero_sr.report.layout)."""

from __future__ import annotations

import dataclasses

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from lpzero_sr.export.text import formula_latex
from lpzero_sr.formula import Node
from lpzero_sr.proxy import Proxy
from lpzero_sr.quantile import Quantile
from lpzero_sr.report.document import Formula
from lpzero_sr.report.layout import (
    LINE_WIDTH_PX,
    PRODUCTS,
    SUMS,
    drawn_line,
    line_width,
    named_parts,
    top_level_split,
    wrap,
)
from lpzero_sr.report.mathtext import drawn_width, render_formula
from lpzero_sr.report.pagecheck import parse_page
from lpzero_sr.rules.ruleset import RuleSet
from lpzero_sr.semantics import all_operators, sample_formula

NAMES = tuple(f"act.stat{i}.abs_std" for i in range(8))
LONG_SUM = " + ".join(rf"0.5 q(\mathrm{{act.stat{i}.abs\_std}})^{{2}}" for i in range(8))


def test_split_only_at_top_level_operators_and_pieces_keep_their_sign():
    latex = r"a + \left(b - c\right) - \frac{d + e}{f} + q(g - h) + \left|i + j\right| - e^{k - l}"
    assert top_level_split(latex, SUMS) == [
        "a", r"+ \left(b - c\right)", r"- \frac{d + e}{f}", "+ q(g - h)", r"+ \left|i + j\right|", "- e^{k - l}"
    ]  # fmt: skip
    assert top_level_split(r"-a \cdot \left(b \cdot c\right) \cdot d", PRODUCTS) == [
        "-a", r"\cdot \left(b \cdot c\right)", r"\cdot d"
    ]  # fmt: skip
    assert top_level_split(r"-\log\left|a\right|", SUMS) == [r"-\log\left|a\right|"]  # a leading minus is no break


def test_measured_width_is_the_drawn_width():
    for latex in (r"\mathrm{a}", LONG_SUM, r"\frac{\mathrm{a}}{\mathrm{b}} + \sqrt{\left|q(\mathrm{c})\right|}"):
        assert drawn_width(latex) == render_formula(latex).width
        assert abs(line_width(latex) - drawn_width(latex)) <= len(top_level_split(latex, SUMS))  # rounding per term
    assert drawn_width(r"\unknowncommand{x}") == 0


def test_a_long_sum_wraps_into_lines_no_wider_than_the_column():
    assert drawn_width(LONG_SUM) > 2 * LINE_WIDTH_PX
    lines = wrap(LONG_SUM)
    assert len(lines) >= 3 and " ".join(lines) == LONG_SUM
    assert all(drawn_width(drawn_line(line)) <= LINE_WIDTH_PX for line in lines)
    assert not lines[0].startswith("+") and all(line.startswith("+ ") for line in lines[1:])
    assert wrap(r"\mathrm{a} + \mathrm{b}") == [r"\mathrm{a} + \mathrm{b}"]  # what fits stays one line
    # a line after a break is drawn with its operator spaced as a binary one (an empty operand before it)
    assert drawn_line(lines[1]) == "{} " + lines[1] and drawn_line(lines[0]) == lines[0]
    assert abs(drawn_width(drawn_line("+ x")) - (drawn_width("x + x") - drawn_width("x"))) <= 1


def test_a_term_too_wide_for_a_line_breaks_at_its_products():
    product = r" \cdot ".join(rf"\sqrt{{\left|\mathrm{{act.stat{i}.abs\_std}}\right|}}" for i in range(6))
    lines = wrap(rf"\mathrm{{a}} - {product}", width=600)
    assert lines[0] == r"\mathrm{a}" and lines[1].startswith(r"- \sqrt") and lines[-1].startswith(r"\cdot ")
    assert all(drawn_width(drawn_line(line)) <= 600 for line in lines)


ALL_OPERATORS = dataclasses.replace(all_operators(RuleSet.load("default")), constants=(-0.5, 2.0, 1e-8))


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), width=st.sampled_from([40, 150, 400, LINE_WIDTH_PX]))
def test_wrapping_loses_nothing_and_leaves_wide_only_what_cannot_break(seed, width):
    tokens = sample_formula(np.random.default_rng(seed), ALL_OPERATORS, n_features=3)
    latex = Proxy(Node.from_tokens(tokens, NAMES[:3])).latex()
    lines = wrap(latex, width)
    assert " ".join(lines) == latex
    for line in lines:
        pieces = top_level_split(line, SUMS + PRODUCTS)
        assert drawn_width(drawn_line(line)) <= width + len(pieces) or len(pieces) == 1, line


def ensemble(n: int) -> Proxy:
    """A rank average like ``fit --ensemble``'s: q(f1) + ... + 6 q(fn), each f a sum over long statistic names."""
    rng = np.random.default_rng(0)
    quantiles, terms = {}, []
    for i in range(1, n + 1):
        source = Node.from_tokens(("sub", "add", 0, "square", 1, "mul", 0.5, 2), NAMES[i % 5 : i % 5 + 3])
        quantiles[f"q[f{i}]"] = Quantile.fit("", rng.normal(size=20), source)
        terms.append(Node(var=f"q[f{i}]"))
    terms[-1] = Node(op="mul", args=(Node(const=6.0), terms[-1]))
    root = terms[0]
    for term in terms[1:]:
        root = Node(op="add", args=(root, term))
    return Proxy(root, quantiles=quantiles)


def test_a_long_ensemble_names_its_parts_in_reading_order():
    proxy = ensemble(10)
    shown = named_parts(proxy.formula, proxy.quantiles)
    assert shown.main == " + ".join(f"q(f_{{{i}}})" for i in range(1, 10)) + " + 6 q(f_{10})"
    assert shown.parts == tuple(
        formula_latex(proxy.quantiles[f"q[f{i}]"].source, proxy.quantiles) for i in range(1, 11)
    )
    short = ensemble(1)  # q(f1) alone is short: drawn as it is
    assert named_parts(short.formula, short.quantiles).parts == ()
    assert named_parts(short.formula, short.quantiles).main == short.latex()


def test_a_long_ensemble_is_drawn_in_lines_of_readable_size_with_its_latex_kept_in_markdown():
    proxy = ensemble(10)
    assert drawn_width(proxy.latex()) > 7 * LINE_WIDTH_PX  # one image would be scaled to a seventh: a hairline
    block = Formula(proxy.latex(), proxy.text(), named_parts(proxy.formula, proxy.quantiles))
    html = block.html()
    images = [img for img in parse_page(html).images if "formula-img" in img.get("class", "").split()]
    assert len(images) == 1 + 10 and '<p class="formula-where">where</p>' in html
    assert all(0 < int(img["width"]) <= LINE_WIDTH_PX and float(img["data-em"]) == 21.33 for img in images)
    assert [img["alt"].split(" = ")[0] for img in images[1:]] == [f"f_{{{i}}}" for i in range(1, 11)]
    assert f"<code>{proxy.text()}</code>" in html
    assert block.markdown().startswith("$$q\\left(") and proxy.text() in block.markdown()  # the whole LaTeX and text
