"""The report as a list of blocks, each written both as Markdown (report.md) and as HTML (report.html).

One block model instead of a Markdown-to-HTML converter: tables keep their column alignment, notes stay notes,
and a formula is SVG images in the HTML (:mod:`lpzero_sr.report.mathtext`), one per line of a layout that keeps
every line at its drawn size (:mod:`lpzero_sr.report.layout`), but LaTeX source in the Markdown (GitHub renders
``$$...$$`` itself).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from lpzero_sr.report.layout import NamedParts, drawn_line, wrap
from lpzero_sr.report.mathtext import display_latex, render_formula

STYLE = (
    "body{font-family:sans-serif;max-width:62em;margin:1em auto;padding:0 1em;color:#222;line-height:1.4}"
    "table{border-collapse:collapse;margin:.5em 0}td,th{padding:3px 10px;border-bottom:1px solid #ddd}"
    "th{background:#f4f4f4}td.r,th.r{text-align:right;font-variant-numeric:tabular-nums}td.l,th.l{text-align:left}"
    "tr.chosen td{background:#fff4d6;font-weight:bold}"
    "figure{margin:.8em 0}figure img{max-width:100%;height:auto}figcaption{color:#555;font-size:.9em}"
    ".note{color:#7a5b00;background:#fffbea;border-left:3px solid #e0b000;padding:.3em .6em}"
    "code{background:#f4f4f4;padding:0 .2em;overflow-wrap:break-word}pre{white-space:pre-wrap}"  # breaks at spaces
    # a formula line is shown at its drawn size, never scaled down to the column (layout.py keeps lines narrower)
    ".formula{overflow-x:auto;padding:.4em 0}.formula-img{display:block;margin:.25em 0;max-width:none}"
    ".formula-img.cont{margin-left:2em}.formula-where{margin:.4em 0 .1em}"
)


_BOLD = re.compile(r"\*\*(.+?)\*\*")


def inline_html(text: str) -> str:
    """Escape ``text``; spans between backticks become ``<code>``, ``**words**`` outside them ``<b>``."""
    parts = text.split("`")
    return "".join(
        f"<code>{html.escape(p)}</code>" if i % 2 else _BOLD.sub(r"<b>\1</b>", html.escape(p))
        for i, p in enumerate(parts)
    )


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 2

    def markdown(self) -> str:
        return "#" * self.level + " " + self.text

    def html(self) -> str:
        return f"<h{self.level}>{inline_html(self.text)}</h{self.level}>"


@dataclass(frozen=True)
class Paragraph:
    """Plain text with `code` spans."""

    text: str

    def markdown(self) -> str:
        return self.text

    def html(self) -> str:
        return f"<p>{inline_html(self.text)}</p>"


@dataclass(frozen=True)
class Note:
    """Why a section is missing or what to read with care; never hidden, never an error."""

    text: str

    def markdown(self) -> str:
        return "> **Note:** " + self.text

    def html(self) -> str:
        return f'<p class="note"><b>Note:</b> {inline_html(self.text)}</p>'


@dataclass(frozen=True)
class Table:
    """``align``: one letter per column, ``l`` for names, ``r`` for numbers; ``highlight`` marks one row (the chosen
    formula)."""

    header: list[str]
    rows: list[list[str]]
    align: str
    highlight: int | None = None

    def markdown(self) -> str:
        bar = "|" + "|".join("---:" if a == "r" else ":---" for a in self.align) + "|"
        lines = ["| " + " | ".join(self.header) + " |", bar]
        for i, row in enumerate(self.rows):
            cells = [f"**{c}**" if i == self.highlight and c else c for c in row]
            lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
        return "\n".join(lines)

    def html(self) -> str:
        head = "".join(f'<th class="{a}">{inline_html(h)}</th>' for h, a in zip(self.header, self.align, strict=True))
        body = []
        for i, row in enumerate(self.rows):
            cls = ' class="chosen"' if i == self.highlight else ""
            cells = "".join(f'<td class="{a}">{inline_html(c)}</td>' for c, a in zip(row, self.align, strict=True))
            body.append(f"<tr{cls}>{cells}</tr>")
        return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


@dataclass(frozen=True)
class Figure:
    """A plot saved next to the report; ``file`` is relative to the run directory."""

    file: str
    caption: str

    def markdown(self) -> str:
        return f"![{self.caption}]({self.file})\n\n*{self.caption}*"

    def html(self) -> str:
        alt = html.escape(self.caption, quote=True)
        return (
            f'<figure><img src="{html.escape(self.file, quote=True)}" alt="{alt}">'
            f"<figcaption>{inline_html(self.caption)}</figcaption></figure>"
        )


@dataclass(frozen=True)
class Formula:
    """A formula: in HTML drawn as math in lines of readable size when mathtext can draw it, else the ``text`` form in
    a code block; in Markdown its whole ``latex`` and ``text``. ``shown``: what the HTML draws instead of ``latex``
    (the formula reading ``q(f_{i})`` and each ``f_{i}``: :func:`lpzero_sr.report.layout.named_parts`)."""

    latex: str
    text: str
    shown: NamedParts | None = None

    def markdown(self) -> str:
        return f"$${display_latex(self.latex)}$$\n\n`{self.text}`"

    def groups(self) -> list[list[str]]:
        """The HTML's lines of LaTeX: the formula's (``shown.main``), then one group per part ``f_{i} = ...``."""
        main, parts = (self.shown.main, self.shown.parts) if self.shown else (self.latex, ())
        return [wrap(main), *(wrap(f"f_{{{i}}} = {part}") for i, part in enumerate(parts, start=1))]

    def html(self) -> str:
        groups = self.groups()
        images = [[render_formula(drawn_line(line)) for line in group] for group in groups]
        code = f"<pre><code>{html.escape(self.text)}</code></pre>"
        if not all(all(group) for group in images):
            return (
                '<p class="note"><b>Note:</b> this formula uses LaTeX that matplotlib\'s mathtext cannot draw; '
                "its text form:</p>" + code
            )
        tags = []
        for k, (group, drawn) in enumerate(zip(groups, images, strict=True)):
            if k == 1:
                tags.append('<p class="formula-where">where</p>')
            for j, (line, image) in enumerate(zip(group, drawn, strict=True)):
                tags.append(
                    f'<img class="formula-img{" cont" if j else ""}" src="{image.data_uri()}" width="{image.width}" '
                    f'height="{image.height}" data-em="{image.em:.2f}" alt="{html.escape(line, quote=True)}">'
                )
        return f'<div class="formula">{"".join(tags)}</div>{code}'


Block = Heading | Paragraph | Note | Table | Figure | Formula


def to_markdown(blocks: list[Block]) -> str:
    return "\n\n".join(b.markdown() for b in blocks) + "\n"


def to_html(blocks: list[Block], title: str) -> str:
    """One page; every image is a data URI (formulas) or a file next to the page (plots)."""
    head = f"<!doctype html>\n<html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
    return head + f"<style>{STYLE}</style></head><body>\n" + "\n".join(b.html() for b in blocks) + "\n</body></html>\n"
