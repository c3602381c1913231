"""The HTML page as written and as a headless browser loads it: same checks (lpzero_sr.report.pagecheck)."""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET

import pytest

from lpzero_sr.report import write_report
from lpzero_sr.report.document import STYLE
from lpzero_sr.report.mathtext import render_formula
from lpzero_sr.report.pagecheck import check_page, decode_data_uri, dump_dom, find_browser, measure_dom, parse_page

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
    browser = chromium()
    run = fit_run()
    _, page = write_report(run)
    dom = dump_dom(browser, page)
    assert "<table>" in dom and "formula-img" in dom
    assert check_page(dom, run, HEADERS) == []


def chromium() -> str:
    """Headless Chromium, or a skip (a failure where ``LPZERO_SR_REQUIRE_BROWSER`` is set, as ``.ci/run`` does)."""
    browser = find_browser()
    if browser is None:
        message = "no chromium on PATH (apt-get install -y chromium; .ci/run installs it) to lay the page out"
        if os.environ.get("LPZERO_SR_REQUIRE_BROWSER"):
            pytest.fail(message)
        pytest.skip(message)
    return browser


def measured_img(**sizes: float) -> str:
    """A formula ``<img>`` as :func:`measure_dom` leaves it: drawn at a 21.33 px em in a page with 16 px text."""
    values = {"rendered-width": 737, "rendered-height": 23, "natural-width": 737, "natural-height": 23, "right": 841}
    values |= {k.replace("_", "-"): v for k, v in sizes.items()}
    attrs = " ".join(f'data-{k}="{v}"' for k, v in {**values, "clip-right": 1096, "page-font": 16}.items())
    src = "data:image/svg+xml;base64,PHN2Zy8+"
    return f'<img class="formula-img" src="{src}" width="737" height="23" data-em="21.33" alt="f" {attrs}>'


def test_rendered_check_rejects_formulas_too_small_or_hidden(tmp_path):
    assert check_page(measured_img(), tmp_path, rendered=True) == []
    # the old page: a 13467 x 37 px ensemble formula scaled into the 992 px column
    hairline = measured_img(rendered_width=992, rendered_height=2.75, natural_width=13467, natural_height=37)
    assert check_page(hairline, tmp_path, rendered=True) == [
        "formula image 1 ('f') is shown at 992x2.8 px, 0.07 of its drawn 13467x37 px: its text is 1.6 px, smaller "
        "than the page's 16 px (readable: a scale >= 0.75)",
        "formula image 1 ('f') is shown at 992x2.8 px, under 8 px (half the text size)",
    ]
    # three quarters of the drawn size is the least that keeps the text at the page's 16 px
    assert check_page(measured_img(rendered_width=554, rendered_height=17.5), tmp_path, rendered=True) == []
    assert "smaller than the page's 16 px" in check_page(measured_img(rendered_height=17), tmp_path, rendered=True)[0]
    assert check_page(measured_img(right=1130), tmp_path, rendered=True) == [
        "formula image 1 ('f') reaches 1130 px, past 1096 px where the page or its block hides it"
    ]
    unmeasured = '<img class="formula-img" src="data:image/svg+xml;base64,PHN2Zy8+" width="9" height="9">'
    assert check_page(unmeasured, tmp_path, rendered=True) == [
        "formula image 1 has no measured size (the data-* attributes of measure_dom)"
    ]
    older = hairline.replace('data-em="21.33" ', "")  # an older page: taken as drawn at today's 16 pt (21.33 px)
    assert check_page(older, tmp_path, rendered=True) == check_page(hairline, tmp_path, rendered=True)


def test_chromium_measures_a_hairline_formula_and_the_check_rejects_it(tmp_path):
    """The old page's CSS (``max-width:100%``) scales a long formula's one image into the column: a hairline."""
    browser = chromium()
    image = render_formula(" + ".join(rf"q(\mathrm{{act.stat{i}.abs\_std}})^{{2}}" for i in range(40)))
    assert image is not None and image.width > 10 * 992
    img = (
        f'<div class="formula"><img class="formula-img" style="max-width:100%;height:auto" src="{image.data_uri()}" '
        f'width="{image.width}" height="{image.height}" data-em="{image.em:.2f}" alt="long"></div>'
    )
    page = tmp_path / "hairline.html"
    page.write_text(f"<!doctype html><html><head><style>{STYLE}</style></head><body>{img}</body></html>")
    dom = measure_dom(browser, page)
    (shown,) = parse_page(dom).images
    assert float(shown["data-rendered-width"]) == 992 and float(shown["data-natural-width"]) == image.width
    assert float(shown["data-rendered-height"]) < 3 and float(shown["data-page-font"]) == 16
    problems = check_page(dom, tmp_path, rendered=True)
    assert len(problems) == 2 and "smaller than the page's 16 px" in problems[0] and "under 8 px" in problems[1]
    assert list(tmp_path.iterdir()) == [page]  # the measured copy is removed


def real_fit(path, quick, *, ensemble: bool):
    """A tiny real fit (a few generations) over statistics with long names, written as ``fit --out`` writes it."""
    import numpy as np
    import pandas as pd

    from lpzero_sr.fit.pipeline import fit_table
    from lpzero_sr.rundir import RunDir
    from lpzero_sr.table import StatTable

    rng = np.random.default_rng(0)
    names = [f"act.block{i}.grad_norm.abs_std" for i in range(6)]
    frame = pd.DataFrame({"arch": [f"a{i}" for i in range(40)], **{n: rng.normal(size=40) for n in names}})
    frame["val_loss"] = frame[names[0]] - frame[names[1]] ** 2 + 0.1 * rng.normal(size=40)
    train, test = StatTable.from_frame(frame, "val_loss", direction="minimize").split(30, seed=0)
    extra = {"bag": 3, "additive": 0.4, "terminals": ("quantile", "raw", "both")} if ensemble else {}
    result = fit_table(train, test, quick(generations=3, population=20, **extra))
    RunDir(path).write(result.record())
    return path


@pytest.mark.parametrize("ensemble", [False, True], ids=["default", "ensemble"])
def test_a_real_fit_report_is_readable_in_headless_chromium(tmp_path, quick, ensemble):
    browser = chromium()
    run = real_fit(tmp_path / "run", quick, ensemble=ensemble)
    _, page = write_report(run)
    dom = measure_dom(browser, page)
    assert check_page(dom, run, HEADERS[:2], rendered=True) == []
    formulas = [img for img in parse_page(dom).images if "formula-img" in img.get("class", "").split()]
    for img in formulas:  # shown at the drawn size: 21.33 px text on the page's 16 px
        assert float(img["data-rendered-height"]) == float(img["data-natural-height"]) >= 8
        assert float(img["data-rendered-width"]) == float(img["data-natural-width"]) <= 900
    if ensemble:  # the ensemble, its 4 parts (3 searches and the additive formula), the first search's formula
        assert len(formulas) >= 1 + 4 + 1 and '<p class="formula-where">where</p>' in dom
