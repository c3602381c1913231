"""A formula laid out for the HTML page in lines a person reads at the size they are drawn.

An image is never scaled down to fit the page (a 13,000-pixel-wide ensemble shrunk to the column is a hairline):
the LaTeX is broken into lines each drawn no wider than :data:`LINE_WIDTH_PX`,

* at its top-level ``+`` and ``-`` (outside every bracket, brace and ``\\left...\\right`` pair), each line after
  the first starting with its operator;
* a term still too wide at its top-level ``\\cdot``;
* and a formula that reads quantiles of derived formulas (an ensemble's ``q(f)`` terms) and is too wide for one
  line is shown as ``q(f_{1}) + ... + 6 q(f_{10})`` with each ``f_{i} = ...`` on lines of its own
  (:func:`named_parts`).

A piece that no break makes narrow enough stays one line at full size (the page scrolls it sideways). Widths are
mathtext's layout of each term (:func:`lpzero_sr.report.mathtext.drawn_width`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from lpzero_sr.export.text import formula_latex, latex_symbol
from lpzero_sr.formula import Node
from lpzero_sr.report.mathtext import drawn_width

if TYPE_CHECKING:
    from lpzero_sr.quantile import Quantile

# The page column is 62em = 992 px at the browser's 16 px text (document.STYLE); a continuation line is indented
# by 2em (32 px): lines of at most 900 px fit with room to spare.
LINE_WIDTH_PX = 900
SUMS = (" + ", " - ")
PRODUCTS = (r" \cdot ",)
_OPEN, _CLOSE = "{([", "})]"
_LEADING = tuple(op.lstrip() for op in SUMS + PRODUCTS)  # a piece after a break starts with its operator


def top_level_split(latex: str, operators: tuple[str, ...]) -> list[str]:
    """``latex`` cut before each of ``operators`` that stands outside every bracket; the pieces keep their operator
    (``"a + b - c"`` -> ``["a", "+ b", "- c"]``), so they join back with spaces to the same formula."""
    pieces, start, depth, i = [], 0, 0, 0
    while i < len(latex):
        if latex.startswith((r"\left", r"\right"), i):
            depth += 1 if latex.startswith(r"\left", i) else -1
            i += len(r"\left") if latex.startswith(r"\left", i) else len(r"\right")
            continue  # its delimiter counts as well: ``\left(`` and ``\right)`` stay balanced
        char = latex[i]
        if char == "\\":  # an escaped character or a command: ``\{`` is no brace
            i += 2
            continue
        depth += (char in _OPEN) - (char in _CLOSE)
        operator = next((op for op in operators if latex.startswith(op, i)), None) if depth == 0 else None
        if operator is not None and i > start:
            pieces.append(latex[start:i].strip())
            start = i + 1
            i += len(operator)
            continue
        i += 1
    pieces.append(latex[start:].strip())
    return [p for p in pieces if p]


def wrap(latex: str, width: int = LINE_WIDTH_PX) -> list[str]:
    """``latex`` in lines drawn at most ``width`` pixels wide where breaks allow (see the module docstring)."""
    terms = top_level_split(latex, SUMS)
    if _width(terms) <= width:
        return [latex]
    lines: list[str] = []
    for line in _pack(terms, width):
        factors = top_level_split(line, PRODUCTS)
        lines += _pack(factors, width) if _width([line]) > width and len(factors) > 1 else [line]
    return lines


def drawn_line(line: str) -> str:
    """The LaTeX drawn for a line of :func:`wrap`: one that starts with its operator gets an empty operand before it
    (``{} + x``), so mathtext spaces it as the binary operator it is rather than as a sign."""
    return "{} " + line if line.startswith(_LEADING) else line


def line_width(latex: str) -> int:
    """The width ``latex`` is drawn at as one line (the sum of its top-level terms': see :func:`_width`)."""
    return _width(top_level_split(latex, SUMS))


def _width(pieces: list[str]) -> int:
    """The drawn width of ``pieces`` joined by spaces (as :func:`drawn_line` draws them): each piece's own width
    (mathtext caches each parse) plus the space an operator between two operands gets beyond a leading one's. Exact
    to a pixel per piece, and far cheaper than parsing the joined line again for every candidate break."""
    gaps = len(pieces) - 1 + (bool(pieces) and pieces[0].startswith(_LEADING))
    return sum(drawn_width(p) for p in pieces) + _operator_gap() * gaps


@cache
def _operator_gap() -> int:
    return drawn_width("x + x") - drawn_width("x") - drawn_width("+ x")


def _pack(pieces: list[str], width: int) -> list[str]:
    """Greedy: each line takes pieces while it is drawn no wider than ``width`` (a wide piece is a line alone)."""
    lines: list[list[str]] = []
    for piece in pieces:
        if lines and _width([*lines[-1], piece]) <= width:
            lines[-1].append(piece)
        else:
            lines.append([piece])
    return [" ".join(line) for line in lines]


@dataclass(frozen=True)
class NamedParts:
    """A formula as ``main`` (LaTeX reading ``q(f_{i})``) and the LaTeX of each ``f_{i}`` (``parts[i - 1]``)."""

    main: str
    parts: tuple[str, ...]


def named_parts(formula: Node, quantiles: Mapping[str, Quantile], width: int = LINE_WIDTH_PX) -> NamedParts:
    """The formula's quantiles of derived formulas named ``f_{1}, f_{2}, ...`` in reading order when the whole
    LaTeX is drawn wider than ``width``; else the whole LaTeX and no parts."""
    latex = formula_latex(formula, quantiles)
    names = [n.var for n in formula.walk() if n.var is not None and _derived(quantiles.get(n.var))]
    names = list(dict.fromkeys(names))
    if not names or line_width(latex) <= width:
        return NamedParts(latex, ())
    main = formula_latex(formula, {n: q for n, q in quantiles.items() if n not in names})  # q[f1] as a name
    for i, name in enumerate(names, start=1):
        main = main.replace(latex_symbol(name), f"q(f_{{{i}}})")
    return NamedParts(main, tuple(formula_latex(quantiles[n].source, quantiles) for n in names))  # type: ignore[arg-type]


def _derived(q: Quantile | None) -> bool:
    return q is not None and q.source is not None
