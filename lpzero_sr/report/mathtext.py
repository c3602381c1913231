"""Offline formula rendering: LaTeX to an SVG image with matplotlib's mathtext (no TeX, no network, no CDN).

mathtext understands a subset of LaTeX. A formula it cannot parse is reported as ``None`` so the page falls back
to the readable text form instead of showing raw ``$$...$$`` source.
"""

from __future__ import annotations

import base64
import io
import re
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")
from matplotlib import mathtext  # noqa: E402
from matplotlib.font_manager import FontProperties  # noqa: E402

# The size formulas are drawn at: 16 pt is a 21.3 px em, 4/3 of the page's 16 px text (a formula's sub- and
# superscripts are drawn smaller than its em). The page shows every image at this size, never scaled down
# (lpzero_sr.report.layout breaks long formulas into lines; lpzero_sr.report.pagecheck checks it in a browser).
FONT_SIZE = 16
PT_TO_PX = 96 / 72  # CSS pixels per point
_MEASURE = mathtext.MathTextParser("path")  # the layout only (no drawing): widths for line breaking
# A factor that ends (``}``, ``\right)``, a digit) and a factor that starts after only a space: sympy's implicit
# product. Between multi-letter names it would read as one word (``paramssynflow``), so it gets a ``\cdot``.
_PRODUCT = re.compile(r"(\}|\\right[)|\]]|[0-9])\s+(?=\\mathrm|\\left|\\log|\\exp|\\sqrt|\\frac|\\operatorname|e\^)")
_NAME = re.compile(r"\\mathrm\{((?:[^{}]|\{\})*)\}")  # a statistic name (``\\ast{}`` is its only brace pair)
_SIZE = re.compile(r'<svg[^>]*?\swidth="([0-9.]+)pt"[^>]*?\sheight="([0-9.]+)pt"', re.S)


@dataclass(frozen=True)
class RenderedFormula:
    """An SVG image of a formula, its CSS pixel size (what an ``<img>`` needs for its attributes) and the em (font
    size, CSS pixels) it is drawn at: shown at ``width`` x ``height``, its text is ``em`` pixels."""

    svg: bytes
    width: int
    height: int
    em: float = FONT_SIZE * PT_TO_PX

    def data_uri(self) -> str:
        """``data:image/svg+xml;base64,...``: the page stays one self-contained file for the formula."""
        return "data:image/svg+xml;base64," + base64.b64encode(self.svg).decode("ascii")


def display_latex(latex: str) -> str:
    """``latex`` with an explicit ``\\cdot`` for each implicit product of two factors (what a reader needs to tell
    ``\\mathrm{params} \\mathrm{synflow}`` from one name); everything else unchanged."""
    return _PRODUCT.sub(r"\1 \\cdot ", latex)


def mathtext_latex(latex: str) -> str:
    """:func:`display_latex` tuned for mathtext, which spaces punctuation and binary operators even inside
    ``\\mathrm``: a ``.`` in a name is followed by a negative thin space, so ``act.abs_std`` reads as one name; a
    name holding ``\\ast{}`` is bracketed like in the text form (``[weight*grad]``), not read as a product."""
    return _NAME.sub(_mathtext_name, display_latex(latex))


def _mathtext_name(match: re.Match[str]) -> str:
    name = match.group(1).replace(".", r".\!")
    if r"\ast{}" in name:
        return r"[\mathrm{" + name.replace(r"\ast{}", r"{\ast}") + "}]"
    return r"\mathrm{" + name + "}"


def drawn_width(latex: str, size: float = FONT_SIZE) -> int:
    """The CSS pixel width :func:`render_formula` draws ``latex`` at, from mathtext's layout without drawing (about
    30 times faster); 0 when mathtext cannot parse it."""
    if not latex.strip() or "$" in latex:
        return 0
    try:
        box = _MEASURE.parse(f"${mathtext_latex(latex)}$", dpi=72, prop=FontProperties(size=size))
    except ValueError:
        return 0
    return round(box.width * PT_TO_PX)


def render_formula(latex: str, size: float = FONT_SIZE) -> RenderedFormula | None:
    """SVG of ``$latex$`` (glyphs as paths, so no fonts are needed to view it), or ``None`` when mathtext cannot
    parse it (an unsupported command such as ``\\operatorname``) or the result is empty."""
    if not latex.strip() or "$" in latex:
        return None
    buffer = io.BytesIO()
    try:
        mathtext.math_to_image(f"${mathtext_latex(latex)}$", buffer, prop=FontProperties(size=size), format="svg")
    except ValueError:
        return None
    svg = buffer.getvalue()
    match = _SIZE.search(svg.decode("utf-8", "replace"))
    if match is None:
        return None
    width, height = (round(float(v) * PT_TO_PX) for v in match.groups())
    if width <= 0 or height <= 0:
        return None
    return RenderedFormula(svg, width, height, size * PT_TO_PX)
