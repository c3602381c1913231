"""Checks of a report page as a browser sees it: used by the tests and by ``benchmarks/report_screenshot.py``.

:func:`check_page` reads HTML text (the written file or the DOM that headless Chromium dumps) and lists what is
wrong: no drawn formula, raw ``$$`` LaTeX in the visible text, an image that is neither a data URI nor a file
next to the page, a resource fetched from the network, a missing table header. With ``rendered=True`` it reads the
DOM of :func:`measure_dom` (the page laid out by headless Chromium in the screenshot's 1200 x 2400 window, every
``<img>``'s rendered box and natural size written into ``data-`` attributes by an injected script) and also lists
every formula image a person cannot read as shown (:func:`unreadable`):

* its text is smaller than the page's: the em it was drawn at (``data-em``: 21.3 px for 16 pt mathtext) times the
  scale it is shown at (rendered / natural size, the smaller of width and height) must be at least the page body's
  computed font size (16 px), i.e. a scale of at least 0.75. (A 13,000-pixel-wide formula scaled into the
  992-pixel column is shown at 0.07: a hairline with 1.5-pixel text.)
* its box is shorter or narrower than half the page's font size (8 px): the smallest line mathtext draws, a lone
  lowercase letter, is about 0.56 em tall and wide, so a smaller box holds no readable glyph whatever its
  natural size;
* it reaches past the page's width or past the box that clips it (the formula's sideways-scrolling block): part of it
  is hidden until the reader scrolls.
"""

from __future__ import annotations

import base64
import binascii
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
_HIDDEN = {"head", "style", "script", "title"}


@dataclass
class PageContent:
    """What :class:`_Parser` collected: ``<img>`` attributes, header cells and the visible text."""

    images: list[dict[str, str]] = field(default_factory=list)
    headers: list[str] = field(default_factory=list)
    text: list[str] = field(default_factory=list)


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.page = PageContent()
        self._hidden = 0
        self._header: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN:
            self._hidden += 1
        elif tag == "img":
            self.page.images.append({k: v or "" for k, v in attrs})
        elif tag == "th":
            self._header = []

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN:
            self._hidden = max(0, self._hidden - 1)
        elif tag == "th" and self._header is not None:
            self.page.headers.append("".join(self._header).strip())
            self._header = None

    def handle_data(self, data: str) -> None:
        if self._header is not None:
            self._header.append(data)
        if not self._hidden:
            self.page.text.append(data)


def parse_page(html_text: str) -> PageContent:
    parser = _Parser()
    parser.feed(html_text)
    parser.close()
    return parser.page


def decode_data_uri(src: str) -> bytes:
    """The bytes of a base64 ``data:`` URI (empty when it is not one or does not decode)."""
    meta, _, payload = src.partition(",")
    if not meta.startswith("data:") or not meta.endswith(";base64"):
        return b""
    try:
        return base64.b64decode(payload, validate=True)
    except binascii.Error:
        return b""


def check_page(
    html_text: str, base: Path, headers: Iterable[str] = (), formula: bool = True, rendered: bool = False
) -> list[str]:
    """Problems of a report page whose relative links resolve against ``base``; empty when it is fine.
    ``rendered``: ``html_text`` is the DOM of :func:`measure_dom`; formula images must be readable as shown."""
    page = parse_page(html_text)
    problems = []
    if "$$" in "".join(page.text):
        problems.append("raw $$ LaTeX in the visible text")
    for img in page.images:
        src = img.get("src", "")
        if src.startswith("data:"):
            if not decode_data_uri(src):
                problems.append(f"image data URI does not decode: {src[:40]}...")
        elif "://" in src or src.startswith("/") or not src:
            problems.append(f"image not a data URI or a relative file: {src!r}")
        elif not (base / src).is_file():
            problems.append(f"image file missing: {src}")
    if "http://" in html_text or "https://" in html_text:
        problems.append("page references the network")
    formulas = [i for i in page.images if "formula-img" in i.get("class", "").split()]
    if formula and not any(_positive(i.get("width")) and _positive(i.get("height")) for i in formulas):
        problems.append("no formula image with a nonzero width and height")
    problems += [f"missing table header {h!r}" for h in headers if h not in page.headers]
    if rendered:
        problems += [p for k, img in enumerate(formulas, start=1) for p in unreadable(img, k)]
    return problems


# The thresholds of :func:`unreadable` (see the module docstring): text at least the page's size, a box at least half
# of it, nothing past the page's width.
MIN_TEXT_EM = 1.0
MIN_BOX_EM = 0.5
MEASURED = ("rendered-width", "rendered-height", "natural-width", "natural-height", "right", "clip-right", "page-font")


def unreadable(img: dict[str, str], k: int) -> list[str]:
    """Why formula image ``k`` (1-based), with the attributes :func:`measure_dom` wrote, is not readable as shown."""
    try:
        rw, rh, nw, nh, right, clip, font = (float(img[f"data-{name}"]) for name in MEASURED)
        em = float(img["data-em"]) if "data-em" in img else _drawn_em()  # an older page: today's drawing size
    except (KeyError, ValueError):
        return [f"formula image {k} has no measured size (the data-* attributes of measure_dom)"]
    if min(rw, rh, nw, nh) <= 0:
        return [f"formula image {k} is not shown (rendered {rw:g}x{rh:g} px, natural {nw:g}x{nh:g} px)"]
    name = f"formula image {k} ({img.get('alt', '')[:40]!r})"
    scale = min(rw / nw, rh / nh)
    problems = []
    if em * scale < MIN_TEXT_EM * font:
        problems.append(
            f"{name} is shown at {rw:.0f}x{rh:.1f} px, {scale:.2f} of its drawn {nw:.0f}x{nh:.0f} px: its text is "
            f"{em * scale:.1f} px, smaller than the page's {font:g} px (readable: a scale >= {font / em:.2f})"
        )
    if min(rw, rh) < MIN_BOX_EM * font:
        problems.append(f"{name} is shown at {rw:.0f}x{rh:.1f} px, under {MIN_BOX_EM * font:g} px (half the text size)")
    if right > clip + 0.5:
        problems.append(f"{name} reaches {right:.0f} px, past {clip:.0f} px where the page or its block hides it")
    return problems


def _positive(value: str | None) -> bool:
    try:
        return float(value or 0) > 0
    except ValueError:
        return False


def _drawn_em() -> float:
    """The em (CSS pixels) :mod:`lpzero_sr.report.mathtext` draws formulas at (imports matplotlib: only when asked)."""
    from lpzero_sr.report.mathtext import FONT_SIZE, PT_TO_PX

    return FONT_SIZE * PT_TO_PX


def find_browser() -> str | None:
    """A headless-capable Chromium on PATH, or ``None``."""
    return next((path for name in BROWSERS if (path := shutil.which(name))), None)


def run_browser(browser: str, page: Path, *flags: str, timeout: float = 120) -> str:
    """Run headless Chromium on ``page`` (a fresh profile, no sandbox: it may run as root) and return stdout."""
    with tempfile.TemporaryDirectory() as profile:
        done = subprocess.run(
            [
                browser,
                "--headless",
                "--disable-gpu",
                "--no-sandbox",
                f"--user-data-dir={profile}",
                "--hide-scrollbars",
                *flags,
                page.resolve().as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=True,
        )
    return done.stdout


def dump_dom(browser: str, page: Path) -> str:
    """The DOM after the browser loaded ``page`` (what a reader sees, not what was written)."""
    return run_browser(browser, page, "--dump-dom", "--virtual-time-budget=2000")


# Run after the page loaded (images decoded): every <img> gets its rendered box, its natural size, the right edge past
# which it is hidden (the page's width, or a clipping ancestor's) and the body's font size as data- attributes, which
# --dump-dom then shows.
MEASURE_SCRIPT = """<script>
window.addEventListener("load", function () {
  var font = parseFloat(getComputedStyle(document.body).fontSize), page = document.documentElement.clientWidth;
  document.querySelectorAll("img").forEach(function (img) {
    var box = img.getBoundingClientRect(), clip = page, up = img.parentElement;
    for (; up && up !== document.body; up = up.parentElement) {
      if (getComputedStyle(up).overflowX !== "visible") { clip = Math.min(clip, up.getBoundingClientRect().right); }
    }
    var set = function (k, v) { img.setAttribute("data-" + k, String(v)); };
    set("rendered-width", box.width); set("rendered-height", box.height); set("right", box.right);
    set("natural-width", img.naturalWidth); set("natural-height", img.naturalHeight);
    set("clip-right", clip); set("page-font", font);
  });
});
</script>"""
WINDOW = (1200, 2400)  # the screenshot's window: the page column is its 62em (992 px) maximum


def measure_dom(browser: str, page: Path, size: tuple[int, int] = WINDOW) -> str:
    """The DOM of ``page`` as headless Chromium lays it out in a ``size`` window, with every ``<img>``'s rendered
    and natural size in ``data-`` attributes (:data:`MEASURE_SCRIPT`, injected into a copy of the page written next
    to it, so relative images resolve; the copy is removed)."""
    html_text = page.read_text()
    at = html_text.rfind("</body>")
    measured = html_text[:at] + MEASURE_SCRIPT + html_text[at:] if at >= 0 else html_text + MEASURE_SCRIPT
    with tempfile.NamedTemporaryFile("w", suffix=".html", dir=page.parent, prefix=".measure-", delete=False) as f:
        f.write(measured)
    copy = Path(f.name)
    try:
        return run_browser(
            browser, copy, "--dump-dom", "--virtual-time-budget=2000", f"--window-size={size[0]},{size[1]}"
        )
    finally:
        copy.unlink(missing_ok=True)


def screenshot(browser: str, page: Path, out: Path, size: tuple[int, int] = WINDOW) -> Path:
    run_browser(browser, page, f"--screenshot={out.resolve()}", f"--window-size={size[0]},{size[1]}")
    return out
