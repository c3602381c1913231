"""Checks of a report page as a browser sees it: used by the tests and by ``benchmarks/report_screenshot.py``.

:func:`check_page` reads HTML text (the written file or the DOM that headless Chromium dumps) and lists what is
wrong: no drawn formula, raw ``$$`` LaTeX in the visible text, an image that is neither a data URI nor a file
next to the page, a resource fetched from the network, a missing table header.
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


def check_page(html_text: str, base: Path, headers: Iterable[str] = (), formula: bool = True) -> list[str]:
    """Problems of a report page whose relative links resolve against ``base``; empty when it is fine."""
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
    return problems


def _positive(value: str | None) -> bool:
    try:
        return float(value or 0) > 0
    except ValueError:
        return False


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


def screenshot(browser: str, page: Path, out: Path, size: tuple[int, int] = (1200, 2400)) -> Path:
    run_browser(browser, page, f"--screenshot={out.resolve()}", f"--window-size={size[0]},{size[1]}")
    return out
