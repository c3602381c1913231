"""Render a run directory's report.html in headless Chromium, save a screenshot and check the page as laid out.

    python benchmarks/report_screenshot.py RUN_DIR --out shot.png [--docs docs/img/report-screenshot.png]
    python benchmarks/report_screenshot.py --smoke     # a tiny fit, rendered (and checked where chromium exists)

Writes the report first (``lpzero_sr.report.write_report``), then runs
``chromium --headless --disable-gpu --no-sandbox --screenshot=OUT --window-size=1200,2400 file://.../report.html``
and, on a copy of the page with a measuring script injected, ``--dump-dom`` in the same window
(:func:`lpzero_sr.report.pagecheck.measure_dom`: every ``<img>``'s rendered box and natural size as ``data-``
attributes). It asserts on that DOM (:func:`lpzero_sr.report.pagecheck.check_page` with ``rendered=True``): every
formula image is readable as shown (its text, the em it was drawn at times its rendered / natural scale, is at least
the page's font size, so a scale >= 0.75 for 16 pt mathtext on 16 px text; its box at least half an em, 8 px, tall
and wide; nothing of it past the page or the block that clips it), no literal ``$$`` is left in the visible text,
every ``<img>`` src is a decodable data: URI or a relative file that exists, nothing is fetched from the network,
and the tables have the expected header cells. Exit 1 on a problem. ``--docs`` also saves a cropped, downscaled copy
for the documentation (Pillow, a matplotlib dependency).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import smoke
from PIL import Image

from lpzero_sr.report import write_report
from lpzero_sr.report.pagecheck import check_page, find_browser, measure_dom, parse_page, screenshot

FIT_HEADERS = ("split", "metric", "found proxy", "chosen", "complexity", "formula")
PROTOCOL_HEADERS = ("metric", "mean", "std")


def shrink(shot: Path, out: Path, width: int = 760) -> Path:
    """Crop the empty page bottom and scale to ``width`` pixels (a small PNG for the docs)."""
    image = Image.open(shot).convert("RGB")
    box = Image.eval(image, lambda v: 255 - v).getbbox()  # the non-white area
    if box:
        image = image.crop((0, 0, image.width, min(image.height, box[3] + 20)))
    image = image.resize((width, round(image.height * width / image.width)), Image.LANCZOS)
    image.quantize(colors=256).save(out, optimize=True)
    return out


def tiny_run(folder: Path) -> Path:
    """A fit of a 12-row table with one generation (``--smoke``): a run folder to render."""
    import numpy as np
    import pandas as pd

    from lpzero_sr.cli import main as cli

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"arch": [f"a{i}" for i in range(12)], "x": rng.normal(size=12), "z": rng.normal(size=12)})
    frame.assign(acc=frame["x"] + rng.normal(size=12)).to_csv(folder / "table.csv", index=False)
    run = folder / "run"
    args = ["fit", str(folder / "table.csv"), "--target", "acc", "--maximize", "--train-size", "6"]
    cli([*args, "--generations", "1", "--population", "8", "--jobs", "1", "--out", str(run)], standalone_mode=False)
    return run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path, nargs="?", help="A fit or protocol run (--smoke: a tiny fit made here).")
    parser.add_argument("--out", type=Path, default=Path("report-screenshot.png"))
    parser.add_argument("--docs", type=Path, help="also save a cropped, downscaled copy here")
    args = smoke.parse(parser, out=lambda: smoke.scratch()() / "shot.png", docs=None)
    if args.run_dir is None:
        if not args.smoke:
            parser.error("RUN_DIR is required")
        args.run_dir = tiny_run(args.out.parent)
    browser = find_browser()
    if browser is None:
        print("no chromium on PATH (apt-get install -y chromium)", file=sys.stderr)
        if args.smoke:
            _, page = write_report(args.run_dir)
            print(f"smoke: wrote {page}; the browser check is skipped")
            return 0
        return 2
    _, page = write_report(args.run_dir)
    screenshot(browser, page, args.out)
    dom = measure_dom(browser, page)
    fit = (args.run_dir / "proxy.json").is_file()
    problems = check_page(dom, page.parent, FIT_HEADERS if fit else PROTOCOL_HEADERS, rendered=True)
    print(
        f"screenshot {args.out} ({Image.open(args.out).size[0]}x{Image.open(args.out).size[1]}), "
        f"DOM {len(dom)} characters from {browser}"
    )
    print(formula_sizes(dom))
    if args.docs:
        print(f"docs copy {shrink(args.out, args.docs)}")
    for problem in problems:
        print(f"FAIL: {problem}")
    if not problems:
        print(
            "OK: every formula image readable as shown (text >= the page's font size, box >= half of it, nothing "
            "hidden past the page), no $$ in visible text, images are data: URIs or existing relative files, no "
            "network references, expected table headers present"
        )
    return 1 if problems else 0


def formula_sizes(dom: str) -> str:
    """One line on the formula images as Chromium laid them out: how many, their smallest scale and text size."""
    images = [i for i in parse_page(dom).images if "formula-img" in i.get("class", "").split()]
    try:
        sizes = [
            [float(i[f"data-{k}"]) for k in ("rendered-width", "rendered-height", "natural-width", "natural-height")]
            + [float(i["data-em"]), float(i["data-page-font"])]
            for i in images
        ]
    except (KeyError, ValueError):
        return f"formula images: {len(images)}, not all measured"
    if not sizes:
        return "formula images: none"
    scale = min(min(rw / nw, rh / nh) for rw, rh, nw, nh, _, _ in sizes if nw and nh)
    return (
        f"formula images: {len(sizes)}, shown at >= {scale:.2f} of their drawn size: text >= "
        f"{min(em * min(rw / nw, rh / nh) for rw, rh, nw, nh, em, _ in sizes if nw and nh):.1f} px on the page's "
        f"{sizes[0][5]:g} px; heights {min(s[1] for s in sizes):.0f}-{max(s[1] for s in sizes):.0f} px, widths "
        f"{min(s[0] for s in sizes):.0f}-{max(s[0] for s in sizes):.0f} px"
    )


if __name__ == "__main__":
    sys.exit(main())
