"""The HTML page as written and as a headless browser loads it: same checks (lpzero_sr.report.pagecheck)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from lpzero_sr.report import write_report
from lpzero_sr.report.pagecheck import check_page, decode_data_uri, dump_dom, find_browser, parse_page

HEADERS = ("split", "metric", "found proxy", "chosen", "complexity", "formula")


def test_written_html_is_self_contained_and_has_no_raw_latex(fit_run):
    run = fit_run()
    _, page = write_report(run)
    html = page.read_text()
    assert check_page(html, run, HEADERS) == []
    content = parse_page(html)
    sources = [img["src"] for img in content.images]
    assert sorted(s for s in sources if not s.startswith("data:")) == ["convergence.png", "front.png", "scatter.png"]
    (formula,) = [img for img in content.images if img.get("class") == "formula-img"]
    assert ET.fromstring(decode_data_uri(formula["src"])).tag.endswith("svg")
    assert "$$" not in "".join(content.text) and "$$" in (run / "report.md").read_text()


def test_page_check_finds_each_kind_of_problem(tmp_path):
    bad = (
        "<html><body><p>$$x$$</p><img src='missing.png'><img src='https://cdn.example/x.js'>"
        "<img src='data:image/png;base64,@@'><table><tr><th>metric</th></tr></table></body></html>"
    )
    assert check_page(bad, tmp_path, ["metric", "split"]) == [
        "raw $$ LaTeX in the visible text",
        "image file missing: missing.png",
        "image not a data URI or a relative file: 'https://cdn.example/x.js'",
        "image data URI does not decode: data:image/png;base64,@@...",
        "page references the network",
        "no formula image with a nonzero width and height",
        "missing table header 'split'",
    ]


def test_page_loaded_in_headless_chromium_passes_the_checks(fit_run):
    browser = find_browser()
    if browser is None:
        pytest.skip("no chromium on PATH (apt-get install -y chromium) to load the page")
    run = fit_run()
    _, page = write_report(run)
    dom = dump_dom(browser, page)
    assert "<table>" in dom and "formula-img" in dom
    assert check_page(dom, run, HEADERS) == []
